//! The command line. Names and meanings are fixed by `docs/interface.md`;
//! where a flag mirrors a scikit-learn parameter it takes the same values.
//!
//! Parsing happens before MPI starts, so `--help` and usage errors need no
//! launcher, and only the first rank of a job prints them.

use crate::corpus::ReadOptions;
use crate::error::{usage, Result};
use crate::selection::{logspace_cs, scoring::Scoring, Grid};
use crate::solver::{Penalty, SolverKind, SolverOptions};
use crate::text::stopwords::read_list;
use crate::text::{AnalyzerKind, AnalyzerOptions, DecodeError, Decoder, Encoding, StripAccents};
use crate::tfidf::{DfBound, Dtype, Norm, VectorizerOptions};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "textsaga",
    version,
    about = "Distributed TF-IDF + logistic regression (synchronous SAGA) over MPI, equal to scikit-learn's",
    long_about = "textsaga trains text classifiers on corpora too big for one machine. Every rank reads its own \
slice of an HDF5 corpus; the ranks build one vocabulary and TF-IDF features identical to scikit-learn's \
TfidfVectorizer.\n\nLaunch with `mpirun -n 8 textsaga <command>`, `srun --mpi=pmix textsaga <command>`, \
or plainly for one rank.",
    after_help = "Exit codes: 0 done, 1 error (one line on stderr), 2 bad command line."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert JSON Lines, CSV/TSV or a folder of text files (one sub-folder per class) into the fast HDF5 layout.
    Prepare(PrepareArgs),
    /// Write a synthetic labelled corpus (Zipfian words, class topic words) of any size.
    Generate(GenerateArgs),
    /// Compute the global TF-IDF matrix (CSR, rows in document order) of a corpus.
    Vectorize(VectorizeArgs),
    /// Fit TF-IDF + logistic regression (synchronous distributed SAGA, or L-BFGS to scale out) and write the model.
    Fit(FitArgs),
    /// Predict labels (and probabilities) for every document, in document order, with its id (HDF5, CSV or JSON Lines).
    Predict(PredictArgs),
    /// Accuracy, macro-F1, log-loss and confusion matrix of a model on a labelled corpus.
    Evaluate(EvaluateArgs),
    /// How many ranks to ask for: each solver mode's modelled time and memory a rank at
    /// 1, 2, 4, ... ranks for this corpus, from its size and a sample of its documents.
    Plan(PlanArgs),
}

/// Where the corpus is (both layouts of docs/interface.md are read).
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// HDF5 corpus: h5py strings (`text`, `label`) or the fast layout (`text/bytes`, `text/offsets`, `label`).
    #[arg(long, value_name = "D.h5")]
    pub data: PathBuf,
    #[command(flatten)]
    pub text: TextArgs,
}

impl InputArgs {
    pub fn read_options(&self) -> ReadOptions {
        self.text.read_options(&self.data)
    }
}

/// `fit`'s and `predict`'s input: a corpus, or the matrix `vectorize` made of one.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// HDF5 corpus: h5py strings (`text`, `label`) or the fast layout (`text/bytes`, `text/offsets`, `label`).
    #[arg(long, value_name = "D.h5", required_unless_present = "features")]
    pub data: Option<PathBuf>,
    /// Read `vectorize`'s file instead of --data: rows vectorized already, no tokenizing (vectorize
    /// once, fit many). fit: its vectorizer settings, vocabulary and idf go into the model; a
    /// scipy CSR matrix written with h5py (`data`, `indices`, `indptr`, a `shape` attribute,
    /// `label`) is read too, and that model predicts on features files only. predict: the
    /// file's columns must be the model's.
    #[arg(long, value_name = "F.h5", conflicts_with = "data")]
    pub features: Option<PathBuf>,
    #[command(flatten)]
    pub text: TextArgs,
}

/// The corpus's datasets and how its bytes are decoded.
#[derive(Args, Debug, Clone)]
pub struct TextArgs {
    /// Dataset (or fast-layout group) holding the documents.
    #[arg(long, default_value = "text", value_name = "NAME")]
    pub text_dataset: String,
    /// Dataset holding the labels (integers or strings).
    #[arg(long, default_value = "label", value_name = "NAME")]
    pub label_dataset: String,
    /// What to do with bytes the encoding cannot decode (sklearn's decode_error).
    #[arg(long, value_enum, default_value_t = DecodeError::Strict)]
    pub decode_error: DecodeError,
}

impl SourceArgs {
    /// The input file and its flag, for messages and the same-file check.
    pub fn named(&self) -> (&'static str, &std::path::Path) {
        match (&self.features, &self.data) {
            (Some(f), _) => ("--features", f),
            (None, Some(d)) => ("--data", d),
            (None, None) => unreachable!("clap requires --data or --features"),
        }
    }
}

impl TextArgs {
    pub fn read_options(&self, path: &std::path::Path) -> ReadOptions {
        ReadOptions { path: path.to_path_buf(), text_dataset: self.text_dataset.clone(), label_dataset: self.label_dataset.clone() }
    }
}

/// `stop_words`: sklearn's built-in English list, or a list of one's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopWords {
    English,
    /// A UTF-8 file of one word a line.
    File(PathBuf),
}

impl std::str::FromStr for StopWords {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "english" => Ok(StopWords::English),
            "" => Err("give 'english' or a file of one stop word a line".into()),
            path => Ok(StopWords::File(path.into())),
        }
    }
}

impl StopWords {
    /// The file, when the list is one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            StopWords::File(p) => Some(p),
            StopWords::English => None,
        }
    }
}

/// TfidfVectorizer's parameters.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Vectorizer (as scikit-learn's TfidfVectorizer)")]
pub struct VectorizerArgs {
    /// Lowercase before tokenizing (the default).
    #[arg(long, overrides_with = "no_lowercase")]
    pub lowercase: bool,
    /// Keep case.
    #[arg(long, overrides_with = "lowercase")]
    pub no_lowercase: bool,
    /// What the features are made of: word n-grams, character n-grams of the whole text
    /// (`char`), or character n-grams within words padded with spaces (`char_wb`).
    #[arg(long, value_enum, default_value_t = AnalyzerKind::Word)]
    pub analyzer: AnalyzerKind,
    /// The regular expression (Python re syntax) whose matches are the words, as sklearn's
    /// token_pattern (default '(?u)\b\w\w+\b'; '\b\w+\b' keeps one-letter words); one capturing
    /// group gives the token. A construct textsaga cannot run exactly as Python does is refused.
    /// The character analyzers ignore it, with scikit-learn's warning.
    #[arg(long, value_name = "REGEX")]
    pub token_pattern: Option<String>,
    /// n-grams from MIN to MAX words (characters with --analyzer char or char_wb).
    #[arg(long, value_name = "MIN,MAX", default_value = "1,1", value_parser = parse_ngram_range)]
    pub ngram_range: (usize, usize),
    /// Drop terms in fewer documents: an integer is a count, a number with a dot a fraction.
    #[arg(long, value_name = "N|F", default_value = "1")]
    pub min_df: DfBound,
    /// Drop terms in more documents: an integer is a count, a number with a dot a fraction.
    #[arg(long, value_name = "N|F", default_value = "1.0")]
    pub max_df: DfBound,
    /// Keep only the N terms with the highest total count.
    #[arg(long, value_name = "N")]
    pub max_features: Option<usize>,
    /// A fixed vocabulary (sklearn's vocabulary=): FILE holds one term a line (UTF-8), in
    /// column order; other terms are ignored, and nothing is pruned (--min-df, --max-df and
    /// --max-features are not used, with a warning, as scikit-learn ignores them).
    #[arg(long, value_name = "FILE")]
    pub vocabulary: Option<PathBuf>,
    /// Use 1 + ln(tf) instead of tf.
    #[arg(long)]
    pub sublinear_tf: bool,
    /// Do not add one to document frequencies.
    #[arg(long)]
    pub no_smooth_idf: bool,
    /// Do not weight by idf.
    #[arg(long)]
    pub no_idf: bool,
    /// Row normalisation.
    #[arg(long, value_enum, default_value_t = Norm::L2)]
    pub norm: Norm,
    /// Count presence (1) instead of occurrences.
    #[arg(long)]
    pub binary: bool,
    /// Remove stop words before building n-grams: sklearn's English list, or FILE, one word a
    /// line (UTF-8; a word is the whole line, without its line ending; empty lines are skipped).
    /// The character analyzers ignore it, with scikit-learn's warning.
    #[arg(long, value_name = "english|FILE")]
    pub stop_words: Option<StopWords>,
    /// Remove accents after lowercasing.
    #[arg(long, value_enum)]
    pub strip_accents: Option<StripAccents>,
    /// The documents' text encoding (utf-8, latin-1, cp1252 or ascii, as Python names them):
    /// applies to the fast layout's bytes and to strings not declared UTF-8 (h5py's bytes).
    #[arg(long, value_name = "NAME", default_value = "utf-8")]
    pub encoding: Encoding,
    /// The type of the stored feature values (sklearn's dtype): vectorize's file, and fit's rows
    /// in memory (float32: 8 bytes a non-zero instead of 12, and SAGA fits in float32 as
    /// sklearn's saga does on float32 features; L-BFGS fits in float64).
    #[arg(long, value_enum, default_value_t = Dtype::Float64)]
    pub dtype: Dtype,
    /// Hashing mode: N columns by signed MurmurHash3, no vocabulary (as HashingVectorizer).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub hashing: Option<u32>,
    /// In hashing mode, give each term the sign of its hash (HashingVectorizer's
    /// alternate_sign, on by default as there).
    #[arg(long, overrides_with = "no_alternate_sign")]
    pub alternate_sign: bool,
    /// In hashing mode, add every term with a plus sign (alternate_sign=False).
    #[arg(long, overrides_with = "alternate_sign")]
    pub no_alternate_sign: bool,
}

impl VectorizerArgs {
    /// Checks combinations and builds the settings.
    pub fn options(&self) -> Result<VectorizerOptions> {
        if self.hashing.is_some() {
            let bad = self.pruning_flags();
            if !bad.is_empty() {
                return Err(usage(format!("{} need a vocabulary; they cannot be used with --hashing", bad.join(", "))));
            }
        } else if self.alternate_sign || self.no_alternate_sign {
            let flag = if self.alternate_sign { "--alternate-sign" } else { "--no-alternate-sign" };
            return Err(usage(format!("{flag} only applies with --hashing N (TfidfVectorizer has no alternate_sign)")));
        }
        if self.max_features == Some(0) {
            return Err(usage("--max-features must be at least 1"));
        }
        // The character analyzers ignore the word flags, as sklearn does (with
        // the warnings of `Self::warnings`): they are neither read nor kept.
        let words = self.analyzer == AnalyzerKind::Word;
        let stop_words = self.stop_words.as_ref().filter(|_| words);
        let token_pattern = self.token_pattern.as_ref().filter(|_| words);
        if let Some(p) = token_pattern {
            crate::text::pattern::Tokenizer::new(Some(p)).map_err(usage)?;
        }
        let vocabulary = self.vocabulary.as_deref().map(|p| self.fixed_vocabulary(p)).transpose()?;
        // A fixed vocabulary is not pruned: sklearn ignores the pruning flags
        // then (with the warning of `Self::warnings`), neither read nor kept.
        let pruned = vocabulary.is_none();
        Ok(VectorizerOptions {
            encoding: self.encoding,
            analyzer: AnalyzerOptions {
                kind: self.analyzer,
                lowercase: !self.no_lowercase,
                strip_accents: self.strip_accents,
                ngram_range: self.ngram_range,
                stop_words_english: stop_words == Some(&StopWords::English),
                stop_words: stop_words.and_then(StopWords::file).map(|p| read_list("--stop-words", p)).transpose()?,
                token_pattern: token_pattern.filter(|p| *p != crate::text::pattern::DEFAULT).cloned(),
            },
            min_df: if pruned { self.min_df } else { DfBound::Count(1) },
            max_df: if pruned { self.max_df } else { DfBound::Fraction(1.0) },
            max_features: self.max_features.filter(|_| pruned),
            binary: self.binary,
            use_idf: !self.no_idf,
            smooth_idf: !self.no_smooth_idf,
            sublinear_tf: self.sublinear_tf,
            norm: self.norm,
            hashing: self.hashing,
            alternate_sign: self.hashing.is_some() && !self.no_alternate_sign,
            fixed_vocabulary: vocabulary.is_some(),
            dtype: self.dtype,
            vocabulary,
        })
    }

    /// What scikit-learn ignores, in its words where it warns: the word flags
    /// with a character analyzer (`_warn_for_unused_params`; its default
    /// token_pattern draws no warning); and the pruning flags with a fixed
    /// vocabulary, which scikit-learn ignores without a word (its docs say
    /// so) and textsaga says so. (Settings it warns of and uses as given:
    /// `tfidf::consistency`.)
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let pruning = self.pruning_flags();
        if self.vocabulary.is_some() && !pruning.is_empty() {
            out.push(format!(
                "{} not used with --vocabulary: a fixed vocabulary is not pruned (scikit-learn ignores min_df, max_df and max_features when vocabulary is given)",
                pruning.join(", ")
            ));
        }
        if self.analyzer == AnalyzerKind::Word {
            return out;
        }
        let pattern = self.token_pattern.as_deref().filter(|p| *p != crate::text::pattern::DEFAULT);
        let unused = [(self.stop_words.is_some(), "stop_words", "--stop-words"), (pattern.is_some(), "token_pattern", "--token-pattern")];
        out.splice(0..0, unused.iter().filter(|(given, _, _)| *given).map(|(_, param, flag)| {
            format!("the parameter '{param}' will not be used since 'analyzer' != 'word' ({flag} is ignored with --analyzer {})", self.analyzer.name())
        }));
        out
    }

    /// The pruning flags given (they need a vocabulary fitted to the corpus).
    fn pruning_flags(&self) -> Vec<&'static str> {
        [
            (self.max_features.is_some(), "--max-features"),
            (self.min_df != DfBound::Count(1), "--min-df"),
            (self.max_df != DfBound::Fraction(1.0), "--max-df"),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| *name)
        .collect()
    }

    /// The files the settings read (`--stop-words FILE`, `--vocabulary`),
    /// with their flags: inputs no output may overwrite.
    pub fn input_files(&self) -> Vec<(&'static str, &std::path::Path)> {
        let mut files: Vec<(&'static str, &std::path::Path)> = self.stop_words.as_ref().and_then(StopWords::file).map(|p| ("--stop-words", p)).into_iter().collect();
        files.extend(self.vocabulary.as_deref().map(|p| ("--vocabulary", p)));
        files
    }

    /// The terms of a `--vocabulary` file, checked as sklearn checks a
    /// vocabulary list (no repeats, not empty); pruning flags do not apply.
    fn fixed_vocabulary(&self, path: &std::path::Path) -> Result<Vec<Box<str>>> {
        if self.hashing.is_some() {
            return Err(usage("--hashing cannot be used with --vocabulary (a fixed vocabulary is not hashed; HashingVectorizer has no vocabulary)"));
        }
        let terms = read_list("--vocabulary", path)?;
        let mut seen = rustc_hash::FxHashMap::default();
        if let Some(i) = terms.iter().position(|t| t.contains('\0')) {
            anyhow::bail!("--vocabulary '{}': entry {} holds a NUL character, which HDF5 strings cannot store", path.display(), i + 1);
        }
        for (i, t) in terms.iter().enumerate() {
            if let Some(first) = seen.insert(t.as_str(), i) {
                anyhow::bail!("--vocabulary '{}': '{t}' is listed twice (entries {} and {}); a column needs one term", path.display(), first + 1, i + 1);
            }
        }
        if terms.is_empty() {
            anyhow::bail!("--vocabulary '{}' holds no terms", path.display());
        }
        Ok(terms.into_iter().map(String::into_boxed_str).collect())
    }
}

/// `--batch-size`: a number, or `None` for auto.
#[derive(Clone, Copy, Debug)]
pub struct BatchSize(pub Option<usize>);

fn parse_batch_size(s: &str) -> std::result::Result<BatchSize, String> {
    if s == "auto" {
        return Ok(BatchSize(None));
    }
    match s.parse::<usize>() {
        Ok(0) | Err(_) => Err(format!("expected a positive whole number or 'auto', got '{s}'")),
        Ok(n) => Ok(BatchSize(Some(n))),
    }
}

fn parse_ngram_range(s: &str) -> std::result::Result<(usize, usize), String> {
    let (a, b) = s.split_once(',').ok_or_else(|| format!("expected MIN,MAX (like 1,2), got '{s}'"))?;
    let min: usize = a.trim().parse().map_err(|_| format!("'{a}' is not a whole number"))?;
    let max: usize = b.trim().parse().map_err(|_| format!("'{b}' is not a whole number"))?;
    if min < 1 || min > max {
        return Err(format!("need 1 <= MIN <= MAX, got {min},{max}"));
    }
    Ok((min, max))
}

/// Flags every command accepts.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Print nothing but errors (and warnings).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--threads` of the commands that only vectorize and score (fit's is a
/// solver setting: [`SolverArgs::threads`]).
#[derive(Args, Debug, Clone)]
pub struct ThreadArgs {
    /// Threads a rank (default: SLURM_CPUS_PER_TASK, else OMP_NUM_THREADS, else 1). Today
    /// they share tokenizing and counting the documents' terms, except the n-grams of a
    /// vocabulary being fitted (the same output at any count, bit for bit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub threads: Option<u64>,
}

impl ThreadArgs {
    /// `--threads`, else the batch system's count ([`crate::threads::from_env`]).
    pub fn threads(&self) -> usize {
        self.threads.map_or_else(crate::threads::from_env, |n| n as usize)
    }
}

/// Run metrics.
#[derive(Args, Debug, Clone)]
pub struct MetricsArgs {
    /// Write run metrics as JSON: ranks, sizes, per-phase times (max and mean over ranks),
    /// bytes communicated, peak RSS, git revision.
    #[arg(long, value_name = "PATH")]
    pub metrics: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VectorizeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output HDF5 file (X/data, X/indices, X/indptr, vocabulary, idf, label).
    #[arg(short, long, value_name = "F.h5")]
    pub output: PathBuf,
    #[command(flatten)]
    pub vectorizer: VectorizerArgs,
    #[command(flatten)]
    pub threads: ThreadArgs,
    #[command(flatten)]
    pub run: MetricsArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
#[command(after_help = "The figures are modelled, not measured: the cost model of docs/design.md (\"Scaling the fit\"), \
calibrated on measured runs, with an InfiniBand network. The features are estimated from the sample \
(Heaps' law) before --min-df and --max-df prune them, so they are an upper bound with those flags.")]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The ranks a job would run at: shown in the table wherever it falls.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub ranks: Option<u64>,
    /// The most ranks to consider (the table runs in powers of two up to it).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_ranks: u64,
    /// Memory a rank may use, in GB (default: Slurm's SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK
    /// when set, else 4).
    #[arg(long, value_name = "GB")]
    pub mem_per_rank: Option<f64>,
    /// Documents read to estimate non-zeros a document and the vocabulary's growth.
    #[arg(long, value_name = "N", default_value_t = 4000, value_parser = clap::value_parser!(u64).range(2..))]
    pub sample: u64,
    /// Print the plan as JSON (for scripts: `recommended` is the ranks to ask for).
    #[arg(long)]
    pub json: bool,
    /// The mode the fit will run: auto (its choice at each rank count), or saga (a --Cs
    /// path runs SAGA) or lbfgs, to size a fit by that mode alone.
    #[arg(long, value_enum, value_name = "NAME", default_value_t = SolverKind::Auto)]
    pub solver: SolverKind,
    #[command(flatten)]
    pub vectorizer: VectorizerArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Input formats `prepare` reads.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// Guess from the file name (.jsonl/.ndjson, .csv, .tsv/.tab, .parquet, each
    /// text format also .gz or .zst) or a folder.
    Auto,
    Jsonl,
    Csv,
    Tsv,
    /// Apache Parquet (snappy, gzip, zstd or lz4 compressed).
    Parquet,
    /// One sub-folder per class, one file per document (sklearn's load_files).
    Folder,
}

#[derive(Args, Debug)]
pub struct PrepareArgs {
    /// Input files or folders, read in order and concatenated. Under mpirun the ranks
    /// share the work (whole files, byte ranges of large uncompressed JSON Lines and
    /// CSV/TSV, Parquet row groups) and write one corpus, the same at any rank count.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output HDF5 file in the fast layout.
    #[arg(short, long, value_name = "OUT.h5")]
    pub output: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,
    /// JSON key or CSV column holding the text.
    #[arg(long, default_value = "text", value_name = "NAME")]
    pub text_field: String,
    /// JSON key, CSV or Parquet column holding the label [default: label]. Records
    /// without a `label` field make an unlabelled corpus (to predict on), and so does
    /// `none`; a field named here must be found (an error names the fields seen).
    #[arg(long, value_name = "NAME")]
    pub label_field: Option<String>,
    /// JSON key, CSV or Parquet column holding each record's id, kept in the corpus as
    /// `id` (int64 when every id is an integer, else strings) for predict to report;
    /// every record must have one. For a folder input, `path` keeps each file's path
    /// relative to the folder.
    #[arg(long, value_name = "NAME")]
    pub id_field: Option<String>,
    /// JSON key, CSV or Parquet column holding each record's sample weight, kept in the
    /// corpus as the float64 dataset `weight` for `fit --sample-weight weight`; every
    /// record must have one, a finite number of 0 or more (checked here, naming the
    /// file and line). Not for a folder input (its files have no fields).
    #[arg(long, value_name = "NAME")]
    pub weight_field: Option<String>,
    /// What to do with bytes the encoding cannot decode (sklearn's decode_error).
    #[arg(long, value_enum, default_value_t = DecodeError::Strict)]
    pub decode_error: DecodeError,
    /// The inputs' text encoding (utf-8, latin-1, cp1252 or ascii, as Python names them);
    /// the output holds UTF-8.
    #[arg(long, value_name = "NAME", default_value = "utf-8")]
    pub encoding: Encoding,
    #[command(flatten)]
    pub common: CommonArgs,
}

impl PrepareArgs {
    pub fn decoder(&self) -> Decoder {
        Decoder::new(self.encoding, self.decode_error)
    }

    /// The label field to look for: `label` unless `--label-field` names
    /// another; none with `--label-field none` (a corpus to predict on,
    /// whatever fields the records have).
    pub fn label_field(&self) -> Option<&str> {
        match self.label_field.as_deref() {
            Some("none") => None,
            Some(f) => Some(f),
            None => Some("label"),
        }
    }

    /// The label field when `--label-field` named one (not `none`): then
    /// some record must have it.
    pub fn explicit_label_field(&self) -> Option<&str> {
        self.label_field.as_deref().filter(|f| *f != "none")
    }
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Output HDF5 file in the fast layout.
    #[arg(short, long, value_name = "OUT.h5")]
    pub output: PathBuf,
    /// Number of documents.
    #[arg(long, value_name = "N")]
    pub docs: u64,
    /// Number of classes.
    #[arg(long, value_name = "K", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub classes: u32,
    /// Distinct words in the language.
    #[arg(long, value_name = "V", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(2..))]
    pub vocab_size: u32,
    /// Mean words per document (lengths vary geometrically around it).
    #[arg(long, value_name = "W", default_value_t = 100.0)]
    pub mean_length: f64,
    /// Exponent of the Zipf law of word frequencies.
    #[arg(long, value_name = "S", default_value_t = 1.1)]
    pub zipf_exponent: f64,
    /// Topic words per class.
    #[arg(long, value_name = "T", default_value_t = 40)]
    pub topic_words: u32,
    /// Share of a document's words drawn from its class's topic words.
    #[arg(long, value_name = "F", default_value_t = 0.08)]
    pub topic_share: f64,
    /// Random seed of the documents: the same seed gives the same corpus, another
    /// seed a held-out set of the same language.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Random seed of the language: which words are each class's topic words.
    #[arg(long, default_value_t = 0)]
    pub topic_seed: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// LogisticRegression's parameters.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Solver (as scikit-learn's LogisticRegression(solver='saga'))")]
pub struct SolverArgs {
    /// Inverse regularisation strength (default 1); inf: no penalty (sklearn's C=np.inf).
    #[arg(short = 'C', long = "c", value_name = "C", allow_negative_numbers = true)]
    pub c: Option<f64>,
    /// The penalty, as scikit-learn 1.8+ chooses it (default 0): 0 is L2, 1 is L1, and
    /// between the elastic net (1 - R)/2 ||W||^2 + R ||W||_1.
    #[arg(long, value_name = "R")]
    pub l1_ratio: Option<f64>,
    /// An alias kept from scikit-learn before 1.8 (which deprecated `penalty`): l2 is
    /// --l1-ratio 0, l1 is --l1-ratio 1, elasticnet needs --l1-ratio R, none is -C inf.
    /// Given with a -C or --l1-ratio that says otherwise, it is refused.
    #[arg(long, value_enum)]
    pub penalty: Option<Penalty>,
    /// Fit no intercept.
    #[arg(long)]
    pub no_intercept: bool,
    /// sklearn's class_weight: `balanced` (inversely to each class's frequency) or
    /// `LABEL:W,...` (each listed class's weight, 1 for the others; labels as in the corpus).
    #[arg(long, value_name = "balanced|LABEL:W,...", value_parser = parse_class_weight)]
    pub class_weight: Option<ClassWeight>,
    /// Epochs at most.
    #[arg(long, value_name = "EPOCHS", default_value_t = 100)]
    pub max_iter: usize,
    /// Stop when max |change of W| / max |W| over an epoch falls below this.
    #[arg(long, value_name = "TOL", default_value_t = 1e-4)]
    pub tol: f64,
    /// Random seed for the sample order: the same seed and rank count give the same model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Samples per rank per step; auto: 1 on one rank (sklearn's SAGA), otherwise
    /// enough to keep the collective's latency small against the step's compute.
    #[arg(long, value_name = "N|auto", default_value = "auto", value_parser = parse_batch_size)]
    pub batch_size: BatchSize,
    /// Experimental: SAGA steps of one sample per allreduce (communication-avoiding:
    /// the steps of one allreduce each, to rounding; l2 or no penalty, --batch-size
    /// auto). Fewer, larger collectives; on one node slower per epoch today (docs/design.md,
    /// "Communication-avoiding SAGA")
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub sync_steps: u64,
    /// The optimiser: saga (synchronous SAGA, one allreduce a step), lbfgs (rows
    /// stay on their rank; L-BFGS/OWL-QN on the full gradient, one
    /// reduce-scatter an iteration; --max-iter counts its iterations), or auto:
    /// the faster for this size and rank count by the cost model (docs/design.md).
    #[arg(long, value_enum, value_name = "NAME", default_value_t = SolverKind::Auto)]
    pub solver: SolverKind,
    /// Start from this model's coefficients (same vocabulary and classes).
    #[arg(long, value_name = "MODEL.h5")]
    pub warm_start: Option<PathBuf>,
    /// sklearn's fit(sample_weight=...): a float dataset of the input file (--data or
    /// --features; `prepare --weight-field` stores one as `weight`), one weight (0 or
    /// more) a document; it multiplies the class weights. With --Cs, as
    /// LogisticRegressionCV: each fold's fits weighted by its training documents'
    /// weights, its score by its held-out documents' own weights (class weights left
    /// out; --validation-data's documents weigh 1 each), the refit by all.
    #[arg(long, value_name = "NAME")]
    pub sample_weight: Option<String>,
    /// Threads a rank (default: SLURM_CPUS_PER_TASK, else OMP_NUM_THREADS, else 1). Today
    /// they share tokenizing and lbfgs's iterations and start (its local fits in pieces of
    /// at most 50,000 documents); a solver gives the same model at any count, bit for bit
    /// (auto counts them to choose one). N-gram counting and saga run on one. Run one rank a
    /// node or a socket with threads instead of one a core: one copy of the model a rank.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub threads: Option<u64>,
}

/// LogisticRegressionCV's parameters: choosing C by cross-validation.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Model selection (as scikit-learn's LogisticRegressionCV)")]
pub struct SelectionArgs {
    /// Cs to try: a list (0.01,0.1,1) in path order, or N for N values of
    /// np.logspace(-4, 4, N), as sklearn's Cs. Turns on cross-validation; the
    /// best C is refit on all the data.
    #[arg(long = "Cs", value_name = "LIST|N")]
    pub cs: Option<String>,
    /// Folds of StratifiedKFold (no shuffling), as sklearn's cv.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// How each fit is scored on its held-out documents.
    #[arg(long, value_enum, value_name = "SCORING")]
    pub scoring: Option<Scoring>,
    /// The mixes to try (a list of --l1-ratio values, each choosing its penalty), as
    /// sklearn's l1_ratios.
    #[arg(long, value_name = "LIST")]
    pub l1_ratios: Option<String>,
    /// Score each C on this held-out file instead of folds (one path, no folds).
    #[arg(long, value_name = "V.h5", conflicts_with = "cv")]
    pub validation_data: Option<PathBuf>,
    /// Shuffle each class's folds as StratifiedKFold(shuffle=True, random_state=--seed)
    /// does (numpy's generator reproduced: the same folds as scikit-learn's).
    #[arg(long, conflicts_with = "validation_data")]
    pub cv_shuffle: bool,
    /// Given folds (sklearn's PredefinedSplit): an integer dataset of the input file, one
    /// fold number a document; -1 keeps a document in every training set.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["cv", "validation_data", "cv_shuffle"])]
    pub cv_folds: Option<String>,
}

impl SelectionArgs {
    /// The grid and fold count, or `None` without `--Cs`; `solver`: the flags
    /// the grid replaces (`-C`, `--l1-ratio`) must not say otherwise.
    pub fn grid(&self, solver: &SolverArgs) -> Result<Option<(Grid, usize)>> {
        let Some(cs) = &self.cs else {
            let stray = [
                ("--cv", self.cv.is_some()),
                ("--scoring", self.scoring.is_some()),
                ("--l1-ratios", self.l1_ratios.is_some()),
                ("--validation-data", self.validation_data.is_some()),
                ("--cv-shuffle", self.cv_shuffle),
                ("--cv-folds", self.cv_folds.is_some()),
            ];
            return match stray.iter().find(|(_, given)| *given) {
                Some((flag, _)) => Err(usage(format!("{flag} needs --Cs (the Cs to choose from)"))),
                None => Ok(None),
            };
        };
        let cs = match cs.parse::<usize>() {
            Ok(n) if n >= 1 => logspace_cs(n),
            _ => parse_list("--Cs", cs)?,
        };
        if let Some(c) = cs.iter().find(|c| !(**c > 0.0 && c.is_finite())) {
            return Err(usage(format!("--Cs: C must be positive, got {c}")));
        }
        let l1_ratios = self.l1_ratios.as_deref().map(|l| parse_list("--l1-ratios", l)).transpose()?;
        if let Some(r) = l1_ratios.iter().flatten().find(|r| !(0.0..=1.0).contains(*r)) {
            return Err(usage(format!("--l1-ratios must be between 0 and 1, got {r}")));
        }
        if solver.c == Some(f64::INFINITY) || solver.penalty == Some(Penalty::None) {
            return Err(usage("--Cs chooses C, and no penalty (-C inf, --penalty none) has none to choose: drop one of them"));
        }
        if l1_ratios.is_some() {
            if let Some(p) = solver.penalty.filter(|p| *p != Penalty::Elasticnet) {
                return Err(usage(format!("--l1-ratios chooses the penalty's mix; --penalty {} fixes it: drop one of them", p.name())));
            }
            if solver.l1_ratio.is_some() {
                return Err(usage("--l1-ratios chooses the mix; --l1-ratio fixes it: drop one of them"));
            }
        }
        let k = self.cv.unwrap_or(5);
        if k < 2 {
            return Err(usage(format!("--cv must be at least 2, got {k}")));
        }
        Ok(Some((Grid { cs, l1_ratios, scoring: self.scoring.unwrap_or(Scoring::Accuracy) }, k)))
    }
}

fn parse_list(flag: &str, s: &str) -> Result<Vec<f64>> {
    s.split(',').map(|v| v.trim().parse::<f64>().map_err(|_| usage(format!("{flag}: '{v}' is not a number (give a list such as 0.1,1,10)")))).collect()
}

/// `class_weight`: sklearn's "balanced" mode, or a weight a class.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeight {
    Balanced,
    Given(Vec<(String, f64)>),
}

/// `balanced`, or `LABEL:W,...`: the label is everything before a
/// field's last colon, so labels may hold colons; weights are positive.
fn parse_class_weight(s: &str) -> std::result::Result<ClassWeight, String> {
    if s == "balanced" {
        return Ok(ClassWeight::Balanced);
    }
    let mut given: Vec<(String, f64)> = Vec::new();
    for field in s.split(',') {
        let (label, w) = field.rsplit_once(':').ok_or_else(|| format!("'{field}' is not LABEL:WEIGHT (or give 'balanced')"))?;
        let w: f64 = w.trim().parse().map_err(|_| format!("'{field}': the weight '{w}' is not a number"))?;
        if !(w.is_finite() && w >= 0.0) {
            return Err(format!("'{field}': a class weight must be a finite number of 0 or more"));
        }
        if given.iter().any(|(l, _)| l == label) {
            return Err(format!("class '{label}' is given twice"));
        }
        given.push((label.to_string(), w));
    }
    Ok(ClassWeight::Given(given))
}

impl SolverArgs {
    /// `--threads`, else the batch system's count ([`crate::threads::from_env`]).
    pub fn threads(&self) -> usize {
        self.threads.map_or_else(crate::threads::from_env, |n| n as usize)
    }

    /// The settings; `mixes`: `--l1-ratios` gives the elastic-net mix instead of `--l1-ratio`.
    pub fn options(&self, mixes: bool) -> Result<SolverOptions> {
        let (c, l1_ratio) = self.regularization(mixes)?;
        let o = SolverOptions {
            c,
            l1_ratio,
            fit_intercept: !self.no_intercept,
            class_weight_balanced: self.class_weight == Some(ClassWeight::Balanced),
            class_weights: match &self.class_weight {
                Some(ClassWeight::Given(w)) => Some(w.clone()),
                _ => None,
            },
            sample_weight: self.sample_weight.clone(),
            max_iter: self.max_iter,
            tol: self.tol,
            seed: self.seed,
            batch_size: self.batch_size.0,
            sync_steps: (self.sync_steps > 1).then_some(self.sync_steps as usize),
            solver: self.solver,
        };
        o.validate().map_err(usage)?;
        Ok(o)
    }

    /// `-C` and `--l1-ratio`, with the `--penalty` alias resolved onto them
    /// (the penalty itself follows from the two: `Penalty::of`). A mix
    /// without a penalty (C = inf) is stored as 0: see [`Self::warnings`].
    fn regularization(&self, mixes: bool) -> Result<(f64, f64)> {
        let (c, r) = (self.c.unwrap_or(1.0), self.l1_ratio.unwrap_or(0.0));
        let Some(alias) = self.penalty else {
            return Ok(if c == f64::INFINITY { (c, 0.0) } else { (c, r) });
        };
        let contradicts = |what: String| {
            usage(format!(
                "--penalty {} contradicts {what}: --penalty is an alias (l2: --l1-ratio 0, l1: --l1-ratio 1, elasticnet: --l1-ratio R, none: -C inf); drop one of them",
                alias.name()
            ))
        };
        let stated = |want: f64| match self.l1_ratio {
            Some(r) if r != want => Err(contradicts(format!("--l1-ratio {r}"))),
            _ => Ok(want),
        };
        match alias {
            Penalty::None => match self.c {
                Some(c) if c != f64::INFINITY => Err(contradicts(format!("-C {c}"))),
                _ => Ok((f64::INFINITY, stated(0.0)?)),
            },
            _ if c == f64::INFINITY => Err(contradicts("-C inf (no penalty)".into())),
            Penalty::L2 => Ok((c, stated(0.0)?)),
            Penalty::L1 => Ok((c, stated(1.0)?)),
            Penalty::Elasticnet if self.l1_ratio.is_none() && !mixes => {
                Err(usage("--penalty elasticnet needs --l1-ratio R (the share of L1, 0 to 1; --l1-ratio R alone says the same)"))
            }
            Penalty::Elasticnet => Ok((c, r)),
        }
    }

    /// What scikit-learn warns of and ignores: a mix without a penalty.
    pub fn warnings(&self) -> Vec<String> {
        match (self.c, self.l1_ratio) {
            (Some(c), Some(r)) if c == f64::INFINITY && r > 0.0 && r < 1.0 => vec![format!(
                "--l1-ratio {r} is not used without a penalty (-C inf), as scikit-learn's \"l1_ratio parameter is only used when penalty is 'elasticnet'\""
            )],
            _ => Vec::new(),
        }
    }
}

/// Checkpoints and signals.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Operations")]
pub struct OpsArgs {
    /// Save the whole solver state here every --checkpoint-every, and when
    /// SIGTERM, SIGUSR1 or SIGUSR2 arrives (then exit 75). Each rank writes its own
    /// share; a fit's saves after its first write only what changed.
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
    /// How often to save: a number of epochs (L-BFGS: iterations), or a time
    /// (`10m`, `600s`, `1h`), checked at each epoch's end. A short fit under the
    /// default saves nothing until a signal.
    #[arg(long, value_name = "EPOCHS|DURATION", default_value = "10m", value_parser = parse_cadence)]
    pub checkpoint_every: Cadence,
    /// Continue from --checkpoint when it exists (start afresh when it does not), at
    /// any rank count: at the same rank count the model is the one an uninterrupted fit
    /// gives, bit for bit; at another, the same optimum.
    #[arg(long, requires = "checkpoint")]
    pub resume: bool,
}

/// How often a fit saves its checkpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cadence {
    Epochs(u64),
    Seconds(f64),
}

fn parse_cadence(s: &str) -> std::result::Result<Cadence, String> {
    let bad = || format!("'{s}' is neither a number of epochs (5) nor a time (10m, 600s, 1h)");
    if let Ok(n) = s.parse::<u64>() {
        return if n == 0 { Err("give at least 1 epoch".into()) } else { Ok(Cadence::Epochs(n)) };
    }
    let (number, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?);
    let scale = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Cadence::Seconds(v * scale)),
        _ => Err(bad()),
    }
}

#[derive(Args, Debug)]
pub struct FitArgs {
    #[command(flatten)]
    pub input: SourceArgs,
    /// Where to write the model (HDF5).
    #[arg(long, value_name = "M.h5")]
    pub model: PathBuf,
    #[command(flatten)]
    pub vectorizer: VectorizerArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    #[command(flatten)]
    pub run: MetricsArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model written by `textsaga fit`.
    #[arg(long, value_name = "M.h5")]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: SourceArgs,
    /// Output file, one row a document in document order, with the document's id (the corpus's `id`
    /// dataset, else its row number from 0): HDF5 (`predicted`, `proba`, `id`), CSV or JSON Lines.
    #[arg(short, long, value_name = "P.h5")]
    pub output: PathBuf,
    /// Output format: h5; csv (`id,label`, then `proba_<class>` columns); jsonl (one object a line:
    /// `{"id", "label", "proba": {class: p}}`). Default: from the output's extension (`.csv`, `.jsonl`), else h5.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<PredictFormat>,
    /// Also write class probabilities, (n, K) (sklearn's predict_proba).
    #[arg(long)]
    pub proba: bool,
    /// Also write log probabilities, (n, K) (sklearn's predict_log_proba: the log of predict_proba).
    #[arg(long)]
    pub log_proba: bool,
    /// Also write the raw scores (sklearn's decision_function): (n,) for two classes, (n, K) otherwise.
    #[arg(long)]
    pub decision_function: bool,
    #[command(flatten)]
    pub threads: ThreadArgs,
    #[command(flatten)]
    pub run: MetricsArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What `predict` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredictFormat {
    H5,
    Csv,
    Jsonl,
}

impl PredictFormat {
    pub fn name(self) -> &'static str {
        match self {
            PredictFormat::H5 => "h5",
            PredictFormat::Csv => "csv",
            PredictFormat::Jsonl => "jsonl",
        }
    }
}

impl PredictArgs {
    /// `--format`, else the output's extension (`.csv`, `.jsonl`), else HDF5.
    pub fn format(&self) -> PredictFormat {
        let ext = self.output.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
        self.format.unwrap_or(match ext.as_deref() {
            Some("csv") => PredictFormat::Csv,
            Some("jsonl") => PredictFormat::Jsonl,
            _ => PredictFormat::H5,
        })
    }
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A model written by `textsaga fit`.
    #[arg(long, value_name = "M.h5")]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: SourceArgs,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as JSON here: accuracy, macro-F1, balanced accuracy, log-loss,
    /// the confusion matrix and sklearn's classification_report (per class and averaged).
    #[arg(long, value_name = "J")]
    pub metrics: Option<PathBuf>,
    #[command(flatten)]
    pub threads: ThreadArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_cadence_is_epochs_or_a_time() {
        assert_eq!(parse_cadence("3"), Ok(Cadence::Epochs(3)));
        assert_eq!(parse_cadence("10m"), Ok(Cadence::Seconds(600.0)));
        assert_eq!(parse_cadence("600s"), Ok(Cadence::Seconds(600.0)));
        assert_eq!(parse_cadence("1.5h"), Ok(Cadence::Seconds(5400.0)));
        for bad in ["0", "10x", "m", "-1s", "", "ten"] {
            assert!(parse_cadence(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn predict_format_is_the_flag_else_the_extension() {
        let format = |output: &str, flag: &[&str]| -> PredictFormat {
            let args = ["textsaga", "predict", "--model", "m.h5", "--data", "d.h5", "-o", output].into_iter().chain(flag.iter().copied());
            match Cli::try_parse_from(args).unwrap().command {
                Command::Predict(a) => a.format(),
                _ => unreachable!(),
            }
        };
        assert_eq!(format("p.h5", &[]), PredictFormat::H5);
        assert_eq!(format("p.CSV", &[]), PredictFormat::Csv);
        assert_eq!(format("out/p.jsonl", &[]), PredictFormat::Jsonl);
        assert_eq!(format("predictions", &[]), PredictFormat::H5);
        assert_eq!(format("p.csv", &["--format", "jsonl"]), PredictFormat::Jsonl);
        assert_eq!(format("p.txt", &["--format", "csv"]), PredictFormat::Csv);
    }
}
