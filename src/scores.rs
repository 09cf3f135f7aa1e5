//! Classification metrics as scikit-learn defines them, computed from a
//! confusion matrix and a log-loss sum that ranks add up: what `evaluate`
//! reports (`classification_report` among them) and what the CV scorers
//! built on counts (`f1_macro`, `f1_weighted`, `balanced_accuracy`) return.

use serde::Serialize;

/// Summed over ranks: `confusion[t * K + p]` counts documents of true class
/// `t` predicted as `p`; `log_loss_sum` adds `-ln(clip(p_true))`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub documents: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub balanced_accuracy: f64,
    pub log_loss: f64,
    pub classes: Vec<String>,
    /// Rows: true class; columns: predicted class.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// sklearn's `classification_report`: one row a class, then the averages.
    pub per_class: Vec<ClassScores>,
    pub macro_avg: ClassScores,
    pub weighted_avg: ClassScores,
}

/// Precision, recall, F1 and support of one class (or an average of them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// `-ln(p)` with sklearn's clipping of `p` to `[eps, 1 - eps]`.
pub fn log_loss_term(p_true: f64) -> f64 {
    let eps = f64::EPSILON;
    -p_true.clamp(eps, 1.0 - eps).ln()
}

/// A K x K confusion matrix (rows: true class) and what sklearn derives
/// from it. Its cells are counts, or summed sample weights (a CV scorer
/// with `--sample-weight`, as sklearn's `confusion_matrix(sample_weight=)`).
pub struct Confusion<'a> {
    cells: &'a [f64],
    k: usize,
}

impl<'a> Confusion<'a> {
    pub fn new(cells: &'a [f64], k: usize) -> Self {
        assert_eq!(cells.len(), k * k, "a confusion matrix is K x K");
        Confusion { cells, k }
    }

    fn cell(&self, t: usize, p: usize) -> f64 {
        self.cells[t * self.k + p]
    }
    fn true_count(&self, c: usize) -> f64 {
        (0..self.k).map(|p| self.cell(c, p)).sum()
    }
    fn predicted_count(&self, c: usize) -> f64 {
        (0..self.k).map(|t| self.cell(t, c)).sum()
    }

    /// The documents (their summed weights when weighted).
    pub fn total(&self) -> f64 {
        self.cells.iter().sum()
    }

    pub fn accuracy(&self) -> f64 {
        let correct: f64 = (0..self.k).map(|c| self.cell(c, c)).sum();
        ratio(correct, self.total())
    }

    /// Per class, with sklearn's `zero_division` default: 0/0 is 0. The
    /// support is the count (rounded when weighted).
    pub fn class_scores(&self, c: usize) -> ClassScores {
        let (tp, support, predicted) = (self.cell(c, c), self.true_count(c), self.predicted_count(c));
        ClassScores {
            precision: ratio(tp, predicted),
            recall: ratio(tp, support),
            f1: ratio(2.0 * tp, support + predicted),
            support: support.round() as u64,
        }
    }

    /// The classes sklearn averages over by default (`unique_labels(y_true,
    /// y_pred)`): those that occur as a true or a predicted label.
    fn present(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.k).filter(|&c| self.true_count(c) + self.predicted_count(c) > 0.0)
    }

    /// Unweighted mean over the present classes (`average="macro"`).
    pub fn macro_avg(&self) -> ClassScores {
        let present: Vec<ClassScores> = self.present().map(|c| self.class_scores(c)).collect();
        let n = present.len() as f64;
        let mean = |f: fn(&ClassScores) -> f64| ratio(present.iter().map(f).sum(), n);
        ClassScores { precision: mean(|s| s.precision), recall: mean(|s| s.recall), f1: mean(|s| s.f1), support: self.total().round() as u64 }
    }

    /// Mean weighted by support (`average="weighted"`; by summed weights
    /// when weighted, as sklearn's `true_sum`).
    pub fn weighted_avg(&self) -> ClassScores {
        let n = self.total();
        let mean = |f: fn(&ClassScores) -> f64| ratio(self.present().map(|c| f(&self.class_scores(c)) * self.true_count(c)).sum(), n);
        ClassScores { precision: mean(|s| s.precision), recall: mean(|s| s.recall), f1: mean(|s| s.f1), support: n.round() as u64 }
    }

    /// sklearn's `balanced_accuracy_score`: the mean recall over the classes
    /// that occur as true labels.
    pub fn balanced_accuracy(&self) -> f64 {
        let recalls: Vec<f64> = (0..self.k).filter(|&c| self.true_count(c) > 0.0).map(|c| self.class_scores(c).recall).collect();
        ratio(recalls.iter().sum(), recalls.len() as f64)
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// The report from summed counts.
pub fn report(confusion: &[u64], log_loss_sum: f64, classes: Vec<String>) -> Report {
    let k = classes.len();
    // Counts up to 2^53 are exact in f64.
    let cells: Vec<f64> = confusion.iter().map(|&n| n as f64).collect();
    let c = Confusion::new(&cells, k);
    Report {
        documents: confusion.iter().sum(),
        accuracy: c.accuracy(),
        macro_f1: c.macro_avg().f1,
        balanced_accuracy: c.balanced_accuracy(),
        log_loss: ratio(log_loss_sum, c.total()),
        confusion_matrix: confusion.chunks(k.max(1)).map(<[u64]>::to_vec).collect(),
        per_class: (0..k).map(|i| c.class_scores(i)).collect(),
        macro_avg: c.macro_avg(),
        weighted_avg: c.weighted_avg(),
        classes,
    }
}

impl Report {
    /// A table for people: the figures, sklearn's classification report,
    /// then the confusion matrix.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "documents  {}\naccuracy   {:.6}\nmacro-F1   {:.6}\nbalanced accuracy {:.6}\nlog-loss   {:.6}\n\n",
            self.documents, self.accuracy, self.macro_f1, self.balanced_accuracy, self.log_loss
        );
        s += &self.classification_report();
        s += "\nconfusion matrix (rows: true class, columns: predicted)\n";
        let width = self.classes.iter().map(String::len).max().unwrap_or(1).max(
            self.confusion_matrix.iter().flatten().map(|c| c.to_string().len()).max().unwrap_or(1),
        );
        s += &format!("{:>width$}", "");
        for c in &self.classes {
            s += &format!(" {c:>width$}");
        }
        s.push('\n');
        for (c, row) in self.classes.iter().zip(&self.confusion_matrix) {
            s += &format!("{c:>width$}");
            for v in row {
                s += &format!(" {v:>width$}");
            }
            s.push('\n');
        }
        s
    }

    /// sklearn's `classification_report` layout (4 digits).
    fn classification_report(&self) -> String {
        let width = self.classes.iter().map(String::len).max().unwrap_or(0).max("weighted avg".len());
        let line = |name: &str, r: &ClassScores| format!("{name:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}\n", r.precision, r.recall, r.f1, r.support);
        let mut s = format!("{:>width$} {:>9} {:>9} {:>9} {:>9}\n\n", "", "precision", "recall", "f1-score", "support");
        for (name, r) in self.classes.iter().zip(&self.per_class) {
            s += &line(name, r);
        }
        s += &format!("\n{:>width$} {:>9} {:>9} {:>9.4} {:>9}\n", "accuracy", "", "", self.accuracy, self.documents);
        s += &line("macro avg", &self.macro_avg);
        s += &line("weighted avg", &self.weighted_avg);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sklearn_definitions() {
        // y_true = [0,0,1,1,2], y_pred = [0,1,1,1,0]
        let conf = [1, 1, 0, 0, 2, 0, 1, 0, 0];
        let r = report(&conf, 0.0, vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(r.accuracy, 0.6);
        // F1: a = 2*1/(2+2) = 0.5, b = 2*2/(2+3) = 0.8, c = 0 -> mean 0.4333...
        assert!((r.macro_f1 - (0.5 + 0.8 + 0.0) / 3.0).abs() < 1e-15);
        // Recalls 1/2, 2/2, 0/1; weighted F1 (0.5*2 + 0.8*2 + 0*1) / 5.
        assert!((r.balanced_accuracy - 0.5).abs() < 1e-15);
        assert!((r.weighted_avg.f1 - 2.6 / 5.0).abs() < 1e-15);
        assert_eq!(r.per_class[1], ClassScores { precision: 2.0 / 3.0, recall: 1.0, f1: 0.8, support: 2 });
        assert_eq!(r.confusion_matrix[1], [0, 2, 0]);
        assert!(r.to_text().contains("accuracy   0.600000"));
        assert!(r.to_text().contains("weighted avg"));
        assert_eq!(log_loss_term(0.0), -f64::EPSILON.ln());
    }

    #[test]
    fn a_weighted_matrix_scores_as_its_documents_repeated() {
        // The matrix above with each cell's documents weighing 0.5, 2 and 3 by
        // true class: the scores of the documents copied that many times (x2).
        let counts = [1u64, 1, 0, 0, 2, 0, 1, 0, 0];
        let w = [0.5, 2.0, 3.0];
        let weighted: Vec<f64> = counts.iter().enumerate().map(|(i, &n)| n as f64 * w[i / 3]).collect();
        let copies: Vec<u64> = counts.iter().enumerate().map(|(i, &n)| n * (2.0 * w[i / 3]) as u64).collect();
        let (a, b) = (Confusion::new(&weighted, 3), report(&copies, 0.0, vec!["a".into(), "b".into(), "c".into()]));
        assert!((a.accuracy() - b.accuracy).abs() < 1e-15);
        assert!((a.macro_avg().f1 - b.macro_f1).abs() < 1e-15);
        assert!((a.weighted_avg().f1 - b.weighted_avg.f1).abs() < 1e-15);
        assert!((a.balanced_accuracy() - b.balanced_accuracy).abs() < 1e-15);
        assert!(a.accuracy() != Confusion::new(&counts.map(|n| n as f64), 3).accuracy(), "the weights change the score");
    }

    #[test]
    fn absent_classes_are_left_out_of_the_averages() {
        // Class c never occurs, as truth or prediction.
        let conf = [2.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let c = Confusion::new(&conf, 3);
        assert!((c.macro_avg().f1 - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-15);
        assert!((c.balanced_accuracy() - 0.75).abs() < 1e-15);
    }
}
