//! [`SolverOptions`] as JSON (the model's `params`, the checkpoint's
//! fingerprint). Two things keep it apart from the struct:
//! - JSON has no infinity, so `c` is written `"inf"` for no penalty;
//! - `penalty` is written for readers (it follows from `c` and `l1_ratio`),
//!   and read back from models written before `l1_ratio` chose it, where
//!   `l1` came with `l1_ratio` 0 and `none` with a finite C: such a model
//!   reads as the same fit said the scikit-learn 1.8+ way.

use super::{Penalty, SolverKind, SolverOptions};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The fields in the order they have always been written (serde_json keeps it).
#[derive(Serialize, Deserialize)]
pub(super) struct Stored {
    #[serde(serialize_with = "write_c", deserialize_with = "read_c")]
    c: f64,
    /// Absent only from files no textsaga wrote.
    #[serde(default)]
    penalty: Option<Penalty>,
    l1_ratio: f64,
    fit_intercept: bool,
    class_weight_balanced: bool,
    /// Left out when `None`, so that files of fits without it read as before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    class_weights: Option<Vec<(String, f64)>>,
    /// Left out when `None`, as `class_weights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sample_weight: Option<String>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    batch_size: Option<usize>,
    /// Left out when `None`, so that files of fits without it read as before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sync_steps: Option<usize>,
    /// Models written before it existed were fitted by SAGA.
    #[serde(default = "saga")]
    solver: SolverKind,
}

fn saga() -> SolverKind {
    SolverKind::Saga
}

fn write_c<S: Serializer>(c: &f64, s: S) -> Result<S::Ok, S::Error> {
    if c.is_finite() {
        s.serialize_f64(*c)
    } else {
        s.serialize_str("inf")
    }
}

fn read_c<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum C {
        Number(f64),
        Text(String),
    }
    match C::deserialize(d)? {
        C::Number(c) => Ok(c),
        C::Text(t) if t == "inf" => Ok(f64::INFINITY),
        C::Text(t) => Err(serde::de::Error::custom(format!("C must be a number or \"inf\", got {t:?}"))),
    }
}

impl From<SolverOptions> for Stored {
    fn from(o: SolverOptions) -> Stored {
        Stored {
            c: o.c,
            penalty: Some(o.penalty()),
            l1_ratio: o.l1_ratio,
            fit_intercept: o.fit_intercept,
            class_weight_balanced: o.class_weight_balanced,
            class_weights: o.class_weights,
            sample_weight: o.sample_weight,
            max_iter: o.max_iter,
            tol: o.tol,
            seed: o.seed,
            batch_size: o.batch_size,
            sync_steps: o.sync_steps,
            solver: o.solver,
        }
    }
}

impl From<Stored> for SolverOptions {
    fn from(s: Stored) -> SolverOptions {
        let (c, l1_ratio) = match s.penalty {
            Some(Penalty::None) => (f64::INFINITY, 0.0),
            Some(Penalty::L2) => (s.c, 0.0),
            Some(Penalty::L1) => (s.c, 1.0),
            Some(Penalty::Elasticnet) | None => (s.c, s.l1_ratio),
        };
        SolverOptions {
            c,
            l1_ratio,
            fit_intercept: s.fit_intercept,
            class_weight_balanced: s.class_weight_balanced,
            class_weights: s.class_weights,
            sample_weight: s.sample_weight,
            max_iter: s.max_iter,
            tol: s.tol,
            seed: s.seed,
            batch_size: s.batch_size,
            sync_steps: s.sync_steps,
            solver: s.solver,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> SolverOptions {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn round_trip_and_inf() {
        for (c, l1_ratio) in [(1.0, 0.0), (2.5, 1.0), (0.5, 0.3), (f64::INFINITY, 0.0)] {
            let o = SolverOptions { c, l1_ratio, ..Default::default() };
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(read(&json), o, "{json}");
        }
        let json = serde_json::to_string(&SolverOptions { c: f64::INFINITY, ..Default::default() }).unwrap();
        assert!(json.starts_with(r#"{"c":"inf","penalty":"none","l1_ratio":0.0,"#), "{json}");
    }

    /// The params of models written before l1_ratio chose the penalty.
    #[test]
    fn models_written_with_penalty_read_as_the_same_fit() {
        let old = |penalty: &str, c: f64, r: f64| {
            read(&format!(
                r#"{{"c":{c:?},"penalty":"{penalty}","l1_ratio":{r:?},"fit_intercept":true,"class_weight_balanced":false,"max_iter":100,"tol":0.0001,"seed":0,"batch_size":null}}"#
            ))
        };
        let l2 = old("l2", 2.0, 0.0);
        assert_eq!((l2.penalty(), l2.c, l2.solver), (Penalty::L2, 2.0, SolverKind::Saga));
        let l1 = old("l1", 3.0, 0.0);
        assert_eq!((l1.penalty(), l1.l1_ratio, l1.alpha_beta()), (Penalty::L1, 1.0, (0.0, 1.0 / 3.0)));
        let en = old("elasticnet", 1.0, 0.4);
        assert_eq!((en.penalty(), en.l1_ratio), (Penalty::Elasticnet, 0.4));
        let none = old("none", 2.0, 0.0);
        assert_eq!((none.penalty(), none.c), (Penalty::None, f64::INFINITY));
        // A default-options model writes the same JSON as before.
        let json = serde_json::to_string(&SolverOptions { solver: SolverKind::Saga, ..Default::default() }).unwrap();
        assert_eq!(
            json,
            r#"{"c":1.0,"penalty":"l2","l1_ratio":0.0,"fit_intercept":true,"class_weight_balanced":false,"max_iter":100,"tol":0.0001,"seed":0,"batch_size":null,"solver":"saga"}"#
        );
    }
}
