//! The model file (`fit` writes it, `predict`/`evaluate` read it): `coef`
//! (width x d), `intercept`, `classes`, `vocabulary` (absent in hashing
//! mode), `idf`, and attributes `params` (JSON of every setting), `n_iter`,
//! `objective` — the names of sklearn's fitted attributes.

use crate::classes::Classes;
use crate::error::Result;
use crate::h5::{open_h5, to_vlen, write_1d};
use crate::output::AtomicPath;
use crate::solver::SolverOptions;
use crate::tfidf::VectorizerOptions;
use anyhow::{anyhow, bail, Context};
use ndarray::Array2;
use hdf5::types::{TypeDescriptor, VarLenUnicode};
use std::path::Path;

/// Every setting that produced a model, stored as the `params` attribute.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    pub vectorizer: VectorizerOptions,
    pub solver: SolverOptions,
    pub textsaga_version: String,
    /// Fitted on features made outside textsaga (`fit --features` with a
    /// scipy matrix): no vectorizer to apply to text, so the model predicts
    /// on features files only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external_features: bool,
}

/// How C was chosen by cross-validation (`fit --Cs`): sklearn's `C_`,
/// `l1_ratio_`, `Cs_` and `scores_` (folds x Cs, x l1_ratios when given).
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub c: f64,
    pub l1_ratio: Option<f64>,
    pub cs: Vec<f64>,
    pub l1_ratios: Option<Vec<f64>>,
    pub folds: usize,
    /// `[fold][c][mix]`.
    pub scores: Vec<f64>,
    /// Every fit of the path (for --metrics; not stored in the model).
    pub points: Vec<serde_json::Value>,
}

impl Selection {
    /// With the path's fits, for --metrics.
    pub fn with_points<T: serde::Serialize>(mut self, points: Vec<T>) -> Self {
        self.points = points.iter().filter_map(|p| serde_json::to_value(p).ok()).collect();
        self
    }

    /// For --metrics: sklearn's names.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "C_": self.c, "l1_ratio_": self.l1_ratio, "Cs_": self.cs, "l1_ratios": self.l1_ratios, "folds": self.folds, "scores": self.scores, "path": self.points })
    }

    fn write(&self, file: &hdf5::File) -> Result<()> {
        file.new_attr::<f64>().create("C_")?.write_scalar(&self.c)?;
        write_1d(file, "Cs", &self.cs)?;
        match (&self.l1_ratios, self.l1_ratio) {
            (Some(ratios), Some(r)) => {
                file.new_attr::<f64>().create("l1_ratio_")?.write_scalar(&r)?;
                write_1d(file, "l1_ratios", ratios)?;
                let s = ndarray::Array3::from_shape_vec((self.folds, self.cs.len(), ratios.len()), self.scores.clone())?;
                file.new_dataset_builder().with_data(&s).create("scores")?;
            }
            _ => {
                let s = Array2::from_shape_vec((self.folds, self.cs.len()), self.scores.clone())?;
                file.new_dataset_builder().with_data(&s).create("scores")?;
            }
        }
        Ok(())
    }

    /// The record of a model file, if it has one.
    fn read(file: &hdf5::File) -> Result<Option<Selection>> {
        let Ok(c) = file.attr("C_") else { return Ok(None) };
        let scores = file.dataset("scores")?;
        let shape = scores.shape();
        Ok(Some(Selection {
            c: c.read_scalar()?,
            l1_ratio: file.attr("l1_ratio_").ok().map(|a| a.read_scalar()).transpose()?,
            cs: file.dataset("Cs")?.read_raw()?,
            l1_ratios: file.dataset("l1_ratios").ok().map(|d| d.read_raw()).transpose()?,
            folds: shape.first().copied().unwrap_or(0),
            scores: scores.read_raw()?,
            points: Vec::new(),
        }))
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    /// (width, d); width is 1 for two classes, K otherwise.
    pub coef: Array2<f64>,
    pub intercept: Vec<f64>,
    pub classes: Classes,
    pub vocabulary: Option<Vec<Box<str>>>,
    pub idf: Option<Vec<f64>>,
    pub n_features: usize,
    pub params: Params,
    pub n_iter: usize,
    pub objective: f64,
    pub converged: bool,
    /// Present when C was chosen by cross-validation.
    pub selection: Option<Selection>,
}

impl Model {
    pub fn width(&self) -> usize {
        self.intercept.len()
    }

    /// Raw scores (sklearn's `decision_function`) of one sparse row.
    pub fn decision(&self, cols: &[u32], values: &[f64], raw: &mut [f64]) {
        for ((r, w), b) in raw.iter_mut().zip(self.coef.rows()).zip(&self.intercept) {
            *r = b + cols.iter().zip(values).map(|(&j, &v)| w[j as usize] * v).sum::<f64>();
        }
    }

    /// Writes the model atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let out = AtomicPath::new(path, true);
        let file = out.create_h5()?;
        (|| -> Result<()> {
            file.new_dataset_builder().with_data(&self.coef).create("coef")?;
            write_1d(&file, "intercept", &self.intercept)?;
            match &self.classes {
                Classes::Int(c) => write_1d(&file, "classes", c)?,
                Classes::Str(c) => write_1d(&file, "classes", &to_vlen(c)?)?,
            };
            if let Some(v) = &self.vocabulary {
                write_1d(&file, "vocabulary", &to_vlen(v)?)?;
            }
            if let Some(idf) = &self.idf {
                write_1d(&file, "idf", idf)?;
            }
            let params = serde_json::to_string(&self.params)?;
            file.new_attr::<VarLenUnicode>().create("params")?.write_scalar(&to_vlen(&[params])?[0])?;
            file.new_attr::<i64>().create("n_iter")?.write_scalar(&(self.n_iter as i64))?;
            file.new_attr::<f64>().create("objective")?.write_scalar(&self.objective)?;
            file.new_attr::<bool>().create("converged")?.write_scalar(&self.converged)?;
            if let Some(s) = &self.selection {
                s.write(&file)?;
            }
            Ok(())
        })()
        .with_context(|| format!("writing model '{}'", path.display()))?;
        file.close()?;
        out.commit()
    }

    /// Reads a model written by [`Model::write`].
    pub fn read(path: &Path) -> Result<Model> {
        let _crash = crate::crash::reading(path);
        let file = open_h5(path)?;
        let what = |name: &str| format!("'{}' is not a textsaga model (no '{name}'); make one with `textsaga fit`", path.display());
        (|| -> Result<Model> {
            let coef_ds = file.dataset("coef").map_err(|_| anyhow!(what("coef")))?;
            let shape = coef_ds.shape();
            if shape.len() != 2 {
                bail!("'{}': coef must be 2-D", path.display());
            }
            let coef: Array2<f64> = coef_ds.read_2d()?;
            let intercept: Vec<f64> = file.dataset("intercept").map_err(|_| anyhow!(what("intercept")))?.read_raw()?;
            let classes_ds = file.dataset("classes").map_err(|_| anyhow!(what("classes")))?;
            let classes = match classes_ds.dtype()?.to_descriptor()? {
                TypeDescriptor::VarLenUnicode => {
                    Classes::Str(classes_ds.read_raw::<VarLenUnicode>()?.iter().map(|s| s.as_str().to_owned()).collect())
                }
                _ => Classes::Int(classes_ds.read_raw::<i64>()?),
            };
            let vocabulary = match file.dataset("vocabulary") {
                Ok(ds) => Some(ds.read_raw::<VarLenUnicode>()?.iter().map(|s| Box::from(s.as_str())).collect()),
                Err(_) => None,
            };
            let idf = file.dataset("idf").ok().map(|ds| ds.read_raw::<f64>()).transpose()?;
            let params: VarLenUnicode = file.attr("params").map_err(|_| anyhow!(what("params")))?.read_scalar()?;
            let params: Params = serde_json::from_str(params.as_str())
                .map_err(|e| anyhow!("'{}': its params were written by another textsaga version ({e})", path.display()))?;
            let model = Model {
                n_features: shape[1],
                coef,
                intercept,
                classes,
                vocabulary,
                idf,
                params,
                n_iter: file.attr("n_iter")?.read_scalar::<i64>()? as usize,
                objective: file.attr("objective")?.read_scalar()?,
                converged: file.attr("converged").and_then(|a| a.read_scalar()).unwrap_or(true),
                selection: Selection::read(&file)?,
            };
            model.check(path)?;
            Ok(model)
        })()
        .with_context(|| format!("reading model '{}'", path.display()))
    }

    /// Shapes that must agree with each other.
    fn check(&self, path: &Path) -> Result<()> {
        let k = self.classes.len();
        let width = if k == 2 { 1 } else { k };
        let d = self.n_features;
        let bad = self.intercept.len() != width
            || self.coef.dim() != (width, d)
            || self.vocabulary.as_ref().is_some_and(|v| v.len() != d)
            || self.idf.as_ref().is_some_and(|v| v.len() != d)
            || (self.vocabulary.is_none() && !self.params.external_features && self.params.vectorizer.hashing != Some(d as u32));
        if bad {
            bail!("'{}' is inconsistent: coef, intercept, classes, vocabulary and idf disagree in size", path.display());
        }
        // The analyzer compiles the pattern again; a model edited by hand is refused here.
        crate::text::pattern::Tokenizer::new(self.params.vectorizer.analyzer.token_pattern.as_deref()).map_err(|e| anyhow!("'{}': {e}", path.display()))?;
        Ok(())
    }
}
