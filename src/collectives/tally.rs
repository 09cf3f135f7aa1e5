//! Counts of what a rank communicated: calls and bytes per kind of
//! collective. The cost model prices them (latency a call, bandwidth a
//! byte), so a fit's communication is measured, not estimated, at any rank
//! count: the in-process backend counts exactly what MPI would be asked to
//! move.

use std::cell::Cell;

/// The kinds of collective, as the cost model tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AllReduce,
    Reduce,
    Broadcast,
    AllGather,
    AllToAll,
    Barrier,
    ReduceScatter,
}

impl Kind {
    pub const ALL: [Kind; 7] = [Kind::AllReduce, Kind::Reduce, Kind::Broadcast, Kind::AllGather, Kind::AllToAll, Kind::Barrier, Kind::ReduceScatter];

    /// The name used in `--metrics` (MPI's, in snake case).
    pub fn name(self) -> &'static str {
        match self {
            Kind::AllReduce => "allreduce",
            Kind::Reduce => "reduce",
            Kind::Broadcast => "broadcast",
            Kind::AllGather => "allgather",
            Kind::AllToAll => "alltoall",
            Kind::Barrier => "barrier",
            Kind::ReduceScatter => "reduce_scatter",
        }
    }
}

/// Calls and bytes sent by this rank, per [`Kind`]. Single-threaded: each
/// rank (process or thread) owns its own.
#[derive(Debug, Default)]
pub struct Tally {
    calls: [Cell<u64>; 7],
    bytes: [Cell<u64>; 7],
}

impl Tally {
    /// Records one call that sent `bytes` from this rank.
    pub fn add(&self, kind: Kind, bytes: usize) {
        let i = kind as usize;
        self.calls[i].set(self.calls[i].get() + 1);
        self.bytes[i].set(self.bytes[i].get() + bytes as u64);
    }

    pub fn calls(&self, kind: Kind) -> u64 {
        self.calls[kind as usize].get()
    }

    pub fn bytes(&self, kind: Kind) -> u64 {
        self.bytes[kind as usize].get()
    }

    /// A copy of the counts, to subtract later ([`Self::since`]).
    pub fn snapshot(&self) -> Counts {
        Counts { calls: Kind::ALL.map(|k| self.calls(k)), bytes: Kind::ALL.map(|k| self.bytes(k)) }
    }

    /// What was communicated since `before`.
    pub fn since(&self, before: &Counts) -> Counts {
        self.snapshot().minus(before)
    }
}

/// Frozen counts per [`Kind`], in `Kind::ALL` order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: [u64; 7],
    pub bytes: [u64; 7],
}

impl Counts {
    /// What these counts add to `other`.
    pub fn plus(&self, other: &Counts) -> Counts {
        Counts { calls: std::array::from_fn(|i| self.calls[i] + other.calls[i]), bytes: std::array::from_fn(|i| self.bytes[i] + other.bytes[i]) }
    }
    /// What these counts hold beyond `other` (counted earlier).
    pub fn minus(&self, other: &Counts) -> Counts {
        Counts { calls: std::array::from_fn(|i| self.calls[i] - other.calls[i]), bytes: std::array::from_fn(|i| self.bytes[i] - other.bytes[i]) }
    }
    pub fn total_calls(&self) -> u64 {
        self.calls.iter().sum()
    }
    pub fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }
    /// `{"allreduce": {"calls": .., "bytes": ..}, ...}`, kinds never used left out.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (i, k) in Kind::ALL.iter().enumerate() {
            if self.calls[i] > 0 {
                m.insert(k.name().into(), serde_json::json!({ "calls": self.calls[i], "bytes": self.bytes[i] }));
            }
        }
        serde_json::Value::Object(m)
    }
}
