//! The classes of a labelled corpus, agreed on by every rank: sorted as
//! `np.unique` sorts them (numbers numerically, strings by code point), so
//! class `k` means the same as sklearn's `classes_[k]`.

use crate::collectives::Collectives;
use crate::corpus::Labels;
use crate::error::Result;
use crate::vectorizer::vocabulary::merge_vocabulary;
use anyhow::{anyhow, bail};

/// Sorted distinct labels.
#[derive(Debug, Clone, PartialEq)]
pub enum Classes {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl Classes {
    pub fn len(&self) -> usize {
        match self {
            Classes::Int(v) => v.len(),
            Classes::Str(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Class `k` as text, for messages and reports.
    pub fn name(&self, k: usize) -> String {
        match self {
            Classes::Int(v) => v[k].to_string(),
            Classes::Str(v) => v[k].clone(),
        }
    }

    /// Class index of every label; an unknown label is an error naming it.
    pub fn encode(&self, labels: &Labels) -> Result<Vec<u32>> {
        match (self, labels) {
            (Classes::Int(c), Labels::Int(l)) => l
                .iter()
                .map(|x| c.binary_search(x).map(|k| k as u32).map_err(|_| anyhow!("label {x} is not one of the model's classes")))
                .collect(),
            (Classes::Str(c), Labels::Str(l)) => l
                .iter()
                .map(|x| {
                    c.binary_search(x).map(|k| k as u32).map_err(|_| anyhow!("label '{x}' is not one of the model's classes"))
                })
                .collect(),
            _ => bail!("the labels are {} but the model's classes are {}", labels.kind(), self.kind()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Classes::Int(_) => "integers",
            Classes::Str(_) => "strings",
        }
    }

    /// Labels for class indices.
    pub fn decode(&self, idx: &[u32]) -> Labels {
        match self {
            Classes::Int(c) => Labels::Int(idx.iter().map(|&k| c[k as usize]).collect()),
            Classes::Str(c) => Labels::Str(idx.iter().map(|&k| c[k as usize].clone()).collect()),
        }
    }
}

/// Collective: the sorted union of every rank's labels.
pub fn global_classes(comm: &dyn Collectives, labels: &Labels) -> Result<Classes> {
    match labels {
        Labels::Int(v) => {
            let mut local: Vec<i64> = v.clone();
            local.sort_unstable();
            local.dedup();
            let text: Vec<String> = local.iter().map(i64::to_string).collect();
            let merged = merge_vocabulary(comm, text.iter().map(String::as_str))?;
            let mut all: Vec<i64> = merged.iter().map(|s| s.parse().expect("decimal integers")).collect();
            all.sort_unstable();
            Ok(Classes::Int(all))
        }
        Labels::Str(v) => {
            if let Some(bad) = v.iter().find(|s| s.contains('\0')) {
                bail!("label {bad:?} contains a NUL character");
            }
            let mut local: Vec<&str> = v.iter().map(String::as_str).collect();
            local.sort_unstable();
            local.dedup();
            let merged = merge_vocabulary(comm, local)?;
            Ok(Classes::Str(merged.into_iter().map(String::from).collect()))
        }
    }
}

/// sklearn's `class_weight="balanced"`: `n / (K * count_k)`, from global counts.
pub fn balanced_weights(counts: &[u64]) -> Vec<f64> {
    balanced_from_sums(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>())
}

/// The same from each class's summed sample weights (its count when every
/// weight is 1), as sklearn's `compute_class_weight` counts with weights.
pub fn balanced_from_sums(sums: &[f64]) -> Vec<f64> {
    let total: f64 = sums.iter().sum();
    let k = sums.len() as f64;
    sums.iter().map(|&s| total / (k * s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode() {
        let c = Classes::Str(vec!["ham".into(), "spam".into()]);
        let l = Labels::Str(vec!["spam".into(), "ham".into()]);
        assert_eq!(c.encode(&l).unwrap(), [1, 0]);
        assert_eq!(c.decode(&[1, 0]), l);
        assert!(c.encode(&Labels::Str(vec!["eggs".into()])).unwrap_err().to_string().contains("'eggs'"));
        assert!(c.encode(&Labels::Int(vec![1])).is_err());
    }

    #[test]
    fn balanced() {
        assert_eq!(balanced_weights(&[3, 1]), [4.0 / 6.0, 2.0]);
    }
}
