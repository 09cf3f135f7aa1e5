//! Classification metrics as scikit-learn defines them, computed from a
//! confusion matrix and a log-loss sum that ranks add up.

use serde::Serialize;

/// Summed over ranks: `confusion[t * K + p]` counts documents of true class
/// `t` predicted as `p`; `log_loss_sum` adds `-ln(clip(p_true))`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub documents: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub log_loss: f64,
    pub classes: Vec<String>,
    /// Rows: true class; columns: predicted class.
    pub confusion_matrix: Vec<Vec<u64>>,
}

/// `-ln(p)` with sklearn's clipping of `p` to `[eps, 1 - eps]`.
pub fn log_loss_term(p_true: f64) -> f64 {
    let eps = f64::EPSILON;
    -p_true.clamp(eps, 1.0 - eps).ln()
}

/// The report from summed counts. macro-F1 averages over the classes that
/// occur as a true or a predicted label (sklearn's default `labels`), with
/// 0 for a class whose F1 is 0/0.
pub fn report(confusion: &[u64], log_loss_sum: f64, classes: Vec<String>) -> Report {
    let k = classes.len();
    let n: u64 = confusion.iter().sum();
    let cell = |t: usize, p: usize| confusion[t * k + p];
    let correct: u64 = (0..k).map(|c| cell(c, c)).sum();
    let mut f1_sum = 0.0;
    let mut present = 0;
    for c in 0..k {
        let tp = cell(c, c) as f64;
        let true_c: u64 = (0..k).map(|p| cell(c, p)).sum();
        let pred_c: u64 = (0..k).map(|t| cell(t, c)).sum();
        if true_c + pred_c == 0 {
            continue;
        }
        present += 1;
        let denom = (true_c + pred_c) as f64;
        f1_sum += if denom > 0.0 { 2.0 * tp / denom } else { 0.0 };
    }
    Report {
        documents: n,
        accuracy: if n > 0 { correct as f64 / n as f64 } else { 0.0 },
        macro_f1: if present > 0 { f1_sum / present as f64 } else { 0.0 },
        log_loss: if n > 0 { log_loss_sum / n as f64 } else { 0.0 },
        confusion_matrix: (0..k).map(|t| (0..k).map(|p| cell(t, p)).collect()).collect(),
        classes,
    }
}

impl Report {
    /// A table for people: one line per figure, then the confusion matrix.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "documents  {}\naccuracy   {:.6}\nmacro-F1   {:.6}\nlog-loss   {:.6}\nconfusion matrix (rows: true class, columns: predicted)\n",
            self.documents, self.accuracy, self.macro_f1, self.log_loss
        );
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
        assert_eq!(r.confusion_matrix[1], [0, 2, 0]);
        assert!(r.to_text().contains("accuracy   0.600000"));
        assert_eq!(log_loss_term(0.0), -f64::EPSILON.ln());
    }
}
