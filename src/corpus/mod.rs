//! The corpus on disk: the two HDF5 layouts of `docs/interface.md`, how
//! documents are split among ranks, per-rank reading (and the documents'
//! ids), and writing (streaming from one rank, or from every rank's part);
//! and the features file `vectorize` writes, which `fit --features` reads.

pub mod features;
pub mod ids;
pub mod labels;
pub mod partition;
pub mod parts;
pub mod reader;
mod text_bytes;
pub mod writer;

pub use features::{read_features, FeatureSlice};
pub use labels::Labels;
pub use reader::{read_slice, CorpusSlice, LabelNeed, ReadOptions};
pub use writer::CorpusWriter;
