//! Summing the ranks' gradient corrections each step.
//!
//! A step's correction is sparse: the features of the batch's documents,
//! K values each. Two ways to sum it over ranks:
//!
//! - **sparse**: an allgather of each rank's (feature, values) list, then
//!   every rank adds them up in rank order. Bytes grow with the batch's
//!   support, not with d; the rank-order sum makes the result bitwise equal
//!   everywhere, whatever algorithm the MPI library picks.
//! - **dense**: one `MPI_Allreduce` over all d x K values, cheaper when the
//!   supports together cover a good part of d (small d, large batches).
//!
//! [`choose_dense`] picks between them from the sizes measured in the
//! previous epoch; every rank sees the same sizes, so all pick alike.

use crate::comm::Comm;
use crate::error::Result;

/// One rank's contribution to a step.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StepMessage {
    /// Samples in this rank's batch.
    pub samples: u64,
    /// Samples of the batch seen for the first time.
    pub new_seen: u64,
    /// Sum of the batch's weighted losses (for progress reports).
    pub loss: f64,
    /// Intercept corrections, K values.
    pub intercept: Vec<f64>,
    /// Features with a correction, ascending.
    pub features: Vec<u32>,
    /// K values per feature.
    pub values: Vec<f64>,
}

/// The sum over ranks of a step's messages has the same shape; in dense
/// mode its `features` are all of `0..d`.
pub type Combined = StepMessage;

/// The collectives the solver needs. [`SingleRank`] runs it without MPI
/// (unit tests); [`MpiCombiner`] is the real thing.
pub trait Combiner {
    fn rank(&self) -> usize;
    fn ranks(&self) -> usize;
    fn max_f64(&mut self, x: f64) -> f64;
    fn sum_f64(&mut self, x: f64) -> f64;
    /// Sums the step's messages over ranks; `None` when `msg` already is
    /// the sum (a single rank), so the solver uses it without a copy.
    fn combine(&mut self, msg: &StepMessage, dense: bool) -> Result<Option<Combined>>;
    /// True when `x` is the same on every rank (replica check).
    fn same_everywhere(&mut self, x: u64) -> bool;
    /// Bytes this rank has sent in combines so far.
    fn bytes_sent(&self) -> u64;
    /// Mean bytes per step of the last `combine` calls in sparse mode, summed
    /// over ranks (the same number on every rank).
    fn sparse_bytes_per_step(&self) -> f64;
}

/// Whether the dense allreduce would move fewer bytes than the sparse
/// allgather did: a ring allreduce sends about 2 x d x K x 8 bytes per rank,
/// the allgather delivers every rank's list to every rank.
pub fn choose_dense(sparse_total_bytes_per_step: f64, d: usize, k: usize) -> bool {
    let dense = 2.0 * (d * k * 8) as f64;
    sparse_total_bytes_per_step > dense
}

/// A communicator of one: combining is the identity.
#[derive(Default)]
pub struct SingleRank;

impl Combiner for SingleRank {
    fn rank(&self) -> usize {
        0
    }
    fn ranks(&self) -> usize {
        1
    }
    fn max_f64(&mut self, x: f64) -> f64 {
        x
    }
    fn sum_f64(&mut self, x: f64) -> f64 {
        x
    }
    fn combine(&mut self, _m: &StepMessage, _dense: bool) -> Result<Option<Combined>> {
        Ok(None)
    }
    fn same_everywhere(&mut self, _x: u64) -> bool {
        true
    }
    fn bytes_sent(&self) -> u64 {
        0
    }
    fn sparse_bytes_per_step(&self) -> f64 {
        0.0
    }
}

/// Combining over MPI.
pub struct MpiCombiner<'a> {
    comm: &'a Comm,
    d: usize,
    k: usize,
    /// Dense accumulator (d x K) and which features it holds, reused each step.
    acc: Vec<f64>,
    touched: Vec<bool>,
    bytes_sent: u64,
    sparse_bytes: f64,
    sparse_steps: u64,
}

impl<'a> MpiCombiner<'a> {
    pub fn new(comm: &'a Comm, d: usize, k: usize) -> Self {
        MpiCombiner { comm, d, k, acc: vec![0.0; d * k], touched: vec![false; d], bytes_sent: 0, sparse_bytes: 0.0, sparse_steps: 0 }
    }

    fn sparse(&mut self, m: &StepMessage) -> Result<Combined> {
        let k = self.k;
        let bytes = encode(m);
        self.bytes_sent += bytes.len() as u64;
        let all = self.comm.all_gather_bytes(&bytes)?;
        self.sparse_bytes += all.len() as f64;
        self.sparse_steps += 1;
        let mut out = Combined { intercept: vec![0.0; k], ..Default::default() };
        let mut at = 0;
        // Rank order: the same additions in the same order on every rank.
        while at < all.len() {
            let (msg, used) = decode(&all[at..], k);
            at += used;
            out.samples += msg.samples;
            out.new_seen += msg.new_seen;
            out.loss += msg.loss;
            for (a, b) in out.intercept.iter_mut().zip(&msg.intercept) {
                *a += b;
            }
            for (i, &f) in msg.features.iter().enumerate() {
                let f = f as usize;
                if !self.touched[f] {
                    self.touched[f] = true;
                    out.features.push(f as u32);
                }
                for c in 0..k {
                    self.acc[f * k + c] += msg.values[i * k + c];
                }
            }
        }
        out.features.sort_unstable();
        out.values.reserve(out.features.len() * k);
        for &f in &out.features {
            let f = f as usize;
            out.values.extend_from_slice(&self.acc[f * k..(f + 1) * k]);
            self.acc[f * k..(f + 1) * k].iter_mut().for_each(|v| *v = 0.0);
            self.touched[f] = false;
        }
        Ok(out)
    }

    fn dense(&mut self, m: &StepMessage) -> Combined {
        let k = self.k;
        let head = 3 + k;
        let mut buf = vec![0.0; head + self.d * k];
        buf[0] = m.samples as f64;
        buf[1] = m.new_seen as f64;
        buf[2] = m.loss;
        buf[3..head].copy_from_slice(&m.intercept);
        for (i, &f) in m.features.iter().enumerate() {
            let f = f as usize;
            buf[head + f * k..head + (f + 1) * k].copy_from_slice(&m.values[i * k..(i + 1) * k]);
        }
        self.bytes_sent += (buf.len() * 8) as u64;
        let sum = self.comm.sum_f64_vec(&buf);
        Combined {
            samples: sum[0] as u64,
            new_seen: sum[1] as u64,
            loss: sum[2],
            intercept: sum[3..head].to_vec(),
            features: (0..self.d as u32).collect(),
            values: sum[head..].to_vec(),
        }
    }
}

impl Combiner for MpiCombiner<'_> {
    fn rank(&self) -> usize {
        self.comm.rank()
    }
    fn ranks(&self) -> usize {
        self.comm.size()
    }
    fn max_f64(&mut self, x: f64) -> f64 {
        self.comm.max_f64(x)
    }
    fn sum_f64(&mut self, x: f64) -> f64 {
        self.comm.sum_f64(x)
    }
    fn combine(&mut self, m: &StepMessage, dense: bool) -> Result<Option<Combined>> {
        if self.comm.size() == 1 {
            Ok(None)
        } else if dense {
            Ok(Some(self.dense(m)))
        } else {
            self.sparse(m).map(Some)
        }
    }
    fn same_everywhere(&mut self, x: u64) -> bool {
        let all = self.comm.all_gather_u64(x);
        all.iter().all(|&y| y == x)
    }
    fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }
    fn sparse_bytes_per_step(&self) -> f64 {
        if self.sparse_steps == 0 {
            0.0
        } else {
            self.sparse_bytes / self.sparse_steps as f64
        }
    }
}

/// Wire format: samples, new_seen (u64), loss (f64), n features (u64),
/// intercept (K x f64), features (n x u32), values (n x K x f64); little endian.
pub fn encode(m: &StepMessage) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + 8 * m.intercept.len() + 4 * m.features.len() + 8 * m.values.len());
    b.extend_from_slice(&m.samples.to_le_bytes());
    b.extend_from_slice(&m.new_seen.to_le_bytes());
    b.extend_from_slice(&m.loss.to_le_bytes());
    b.extend_from_slice(&(m.features.len() as u64).to_le_bytes());
    for v in &m.intercept {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for f in &m.features {
        b.extend_from_slice(&f.to_le_bytes());
    }
    for v in &m.values {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

/// Reads one message; returns it and the bytes it took.
pub fn decode(b: &[u8], k: usize) -> (StepMessage, usize) {
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let f64_at = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let n = u64_at(24) as usize;
    let mut at = 32;
    let intercept = (0..k).map(|c| f64_at(at + 8 * c)).collect();
    at += 8 * k;
    let features = (0..n).map(|i| u32::from_le_bytes(b[at + 4 * i..at + 4 * i + 4].try_into().unwrap())).collect();
    at += 4 * n;
    let values = (0..n * k).map(|i| f64_at(at + 8 * i)).collect();
    at += 8 * n * k;
    (StepMessage { samples: u64_at(0), new_seen: u64_at(8), loss: f64_at(16), intercept, features, values }, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_roundtrip() {
        let m = StepMessage {
            samples: 3,
            new_seen: 2,
            loss: 1.5,
            intercept: vec![0.25, -1.0],
            features: vec![1, 7],
            values: vec![1.0, 2.0, 3.0, 4.0],
        };
        let mut two = encode(&m);
        two.extend(encode(&StepMessage { intercept: vec![0.0, 0.0], ..Default::default() }));
        let (back, used) = decode(&two, 2);
        assert_eq!(back, m);
        assert_eq!(decode(&two[used..], 2).1, two.len() - used);
    }

    #[test]
    fn dense_only_when_it_moves_fewer_bytes() {
        assert!(!choose_dense(10_000.0, 50_000, 20));
        assert!(choose_dense(10_000.0, 100, 2));
    }
}
