//! The corpus on disk: the two HDF5 layouts of `docs/interface.md`, how
//! documents are split among ranks, per-rank reading, and writing (streaming
//! from one rank, or from every rank's part).

pub mod labels;
pub mod partition;
pub mod parts;
pub mod reader;
pub mod writer;

pub use labels::Labels;
pub use reader::{read_slice, CorpusSlice, LabelNeed, ReadOptions};
pub use writer::CorpusWriter;
