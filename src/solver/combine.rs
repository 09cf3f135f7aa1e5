//! Summing the ranks' gradient corrections each step.
//!
//! A sample's correction is rank one: its feature row times its K gradient
//! differences. So a rank ships its batch's rows and differences (12 bytes a
//! non-zero plus 8K a sample) rather than the K-wide correction of every
//! feature (4 + 8K bytes a feature): with 20 classes that is ten times fewer
//! bytes. Two ways to combine:
//!
//! - **sparse**: an allgather of every rank's message; every rank then
//!   applies all of them in rank order. Bytes grow with the batch, not with
//!   d; the fixed order makes replicas bitwise equal whatever algorithm the
//!   MPI library picks.
//! - **dense**: the corrections summed into d x K values, reduced to rank 0
//!   and broadcast (one result, so again bitwise equal everywhere); cheaper
//!   only when d x K is small against the batch's rows.
//!
//! [`choose_dense`] picks between them from the sizes measured in the
//! previous epoch; every rank sees the same sizes, so all pick alike.

use crate::comm::Comm;
use crate::error::Result;

/// One rank's batch in a step (or, after combining, every rank's).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StepMessage {
    /// Samples in the batch.
    pub samples: u64,
    /// Samples of the batch seen for the first time.
    pub new_seen: u64,
    /// Sum of the batch's weighted losses (for progress reports).
    pub loss: f64,
    /// Ranks asked to stop (a signal): all ranks see the sum in the same step.
    pub stop: u64,
    /// Sum of the batch's gradient differences, K values (the intercept's correction).
    pub intercept: Vec<f64>,
    /// Per sample: its K gradient differences.
    pub diffs: Vec<f64>,
    /// Per sample: its number of non-zeros.
    pub nnz: Vec<u32>,
    /// The samples' rows, concatenated.
    pub cols: Vec<u32>,
    pub vals: Vec<f64>,
    /// Dense mode only: the summed corrections, d x K feature-major.
    pub dense: Vec<f64>,
}

impl StepMessage {
    pub fn clear(&mut self) {
        self.samples = 0;
        self.new_seen = 0;
        self.loss = 0.0;
        self.stop = 0;
        self.intercept.iter_mut().for_each(|v| *v = 0.0);
        self.diffs.clear();
        self.nnz.clear();
        self.cols.clear();
        self.vals.clear();
        self.dense.clear();
    }

    /// Adds one sample's row and gradient differences.
    pub fn push_sample(&mut self, cols: &[u32], vals: &[f64], diff: &[f64]) {
        self.nnz.push(cols.len() as u32);
        self.cols.extend_from_slice(cols);
        self.vals.extend_from_slice(vals);
        self.diffs.extend_from_slice(diff);
    }

    /// Sums `row x diff` of every sample into a dense d x K array.
    pub fn densify(&self, d: usize, k: usize) -> Vec<f64> {
        let mut out = vec![0.0; d * k];
        let mut at = 0;
        for (s, &n) in self.nnz.iter().enumerate() {
            let diff = &self.diffs[s * k..(s + 1) * k];
            for p in at..at + n as usize {
                let j = self.cols[p] as usize;
                for c in 0..k {
                    out[j * k + c] += self.vals[p] * diff[c];
                }
            }
            at += n as usize;
        }
        out
    }
}

/// The sum over ranks of a step's messages.
pub type Combined = StepMessage;

/// The collectives the solver needs. [`SingleRank`] runs it without MPI
/// (unit tests); [`MpiCombiner`] is the real thing.
pub trait Combiner {
    fn rank(&self) -> usize;
    fn ranks(&self) -> usize;
    /// The maximum over ranks; exactly the same value on every rank.
    fn max_f64(&mut self, x: f64) -> f64;
    fn sum_f64(&mut self, x: f64) -> f64;
    /// Element-wise sum over ranks.
    fn sum_vec(&mut self, x: &[f64]) -> Vec<f64>;
    /// Told at the start of each epoch the size of this rank's message in
    /// every step ([`encoded_len`]), so that each step needs one collective.
    fn plan_epoch(&mut self, sizes: &[u32]);
    /// Combines step `t`'s messages into `out`; false when `msg` already is
    /// the whole step (a single rank) and `out` was not touched.
    fn combine(&mut self, t: usize, msg: &StepMessage, dense: bool, d: usize, k: usize, out: &mut Combined) -> Result<bool>;
    /// True when `x` is the same on every rank (replica check).
    fn same_everywhere(&mut self, x: u64) -> bool;
    /// Bytes this rank has sent in combines so far.
    fn bytes_sent(&self) -> u64;
}

/// Whether the dense reduce + broadcast would move fewer bytes than the
/// sparse allgather did (bytes of a step's messages, all ranks together).
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
    fn sum_vec(&mut self, x: &[f64]) -> Vec<f64> {
        x.to_vec()
    }
    fn plan_epoch(&mut self, _sizes: &[u32]) {}
    fn combine(&mut self, _t: usize, _m: &StepMessage, _dense: bool, _d: usize, _k: usize, _out: &mut Combined) -> Result<bool> {
        Ok(false)
    }
    fn same_everywhere(&mut self, _x: u64) -> bool {
        true
    }
    fn bytes_sent(&self) -> u64 {
        0
    }
}

/// Combining over MPI.
pub struct MpiCombiner<'a> {
    comm: &'a Comm,
    bytes_sent: u64,
    /// This epoch's message sizes, rank-major: `sizes[r * steps + t]`.
    sizes: Vec<u32>,
    steps: usize,
    send: Vec<u8>,
    recv: Vec<u8>,
}

impl<'a> MpiCombiner<'a> {
    pub fn new(comm: &'a Comm) -> Self {
        MpiCombiner {
            comm,
            bytes_sent: 0,
            sizes: Vec::new(),
            steps: 0,
            send: Vec::new(),
            recv: Vec::new(),
        }
    }

    fn sparse(&mut self, t: usize, m: &StepMessage, k: usize, out: &mut Combined) -> Result<()> {
        self.send.clear();
        encode(m, &mut self.send);
        let p = self.comm.size();
        let lens: Vec<i32> = (0..p).map(|r| self.sizes[r * self.steps + t] as i32).collect();
        if self.send.len() != lens[self.comm.rank()] as usize {
            anyhow::bail!("step {t}: message of {} bytes where {} were planned (a bug, please report it)", self.send.len(), lens[self.comm.rank()]);
        }
        self.send.push(0);
        let mut displs = Vec::with_capacity(p);
        let mut at = 0i32;
        for &l in &lens {
            displs.push(at);
            at = at.checked_add(l).ok_or_else(|| anyhow::anyhow!("a step's messages exceed 2 GiB; use a smaller --batch-size"))?;
        }
        self.comm.all_gather_known(&self.send, &lens, &displs, &mut self.recv);
        self.bytes_sent += lens[self.comm.rank()] as u64;
        out.clear();
        out.intercept.resize(k, 0.0);
        let mut at = 0;
        // Rank order: the same additions in the same order on every rank.
        while at < self.recv.len() {
            at += decode_into(&self.recv[at..], k, out);
        }
        Ok(())
    }

    fn dense(&mut self, m: &StepMessage, d: usize, k: usize) -> Combined {
        let head = 4 + k;
        let mut buf = Vec::with_capacity(head + d * k);
        buf.extend_from_slice(&[m.samples as f64, m.new_seen as f64, m.loss, m.stop as f64]);
        buf.extend_from_slice(&m.intercept);
        buf.extend(m.densify(d, k));
        self.bytes_sent += (buf.len() * 8) as u64;
        let sum = self.comm.sum_f64_vec_identical(&buf);
        StepMessage {
            samples: sum[0] as u64,
            new_seen: sum[1] as u64,
            loss: sum[2],
            stop: sum[3] as u64,
            intercept: sum[4..head].to_vec(),
            dense: sum[head..].to_vec(),
            ..Default::default()
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
    fn sum_vec(&mut self, x: &[f64]) -> Vec<f64> {
        self.comm.sum_f64_vec_identical(x)
    }
    fn plan_epoch(&mut self, sizes: &[u32]) {
        if self.comm.size() > 1 {
            self.steps = sizes.len();
            self.sizes = self.comm.all_gather_u32s(sizes);
        }
    }
    fn combine(&mut self, t: usize, m: &StepMessage, dense: bool, d: usize, k: usize, out: &mut Combined) -> Result<bool> {
        if self.comm.size() == 1 {
            return Ok(false);
        }
        if dense {
            *out = self.dense(m, d, k);
        } else {
            self.sparse(t, m, k, out)?;
        }
        Ok(true)
    }
    fn same_everywhere(&mut self, x: u64) -> bool {
        let all = self.comm.all_gather_u64(x);
        all.iter().all(|&y| y == x)
    }
    fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }
}

/// The length [`encode`] gives a message of `samples` rows holding `nnz`
/// non-zeros in all, with `k` gradient values per sample.
pub fn encoded_len(samples: usize, nnz: usize, k: usize) -> usize {
    HEADER + 8 * k + samples * (8 * k + 4) + nnz * 12
}

const HEADER: usize = 48;

/// Wire format, little endian: samples, new_seen (u64), loss (f64), stop
/// (u64), number of samples' rows s and of non-zeros z (u64), intercept
/// (K f64), diffs (s x K f64), nnz (s u32), cols (z u32), vals (z f64).
pub fn encode(m: &StepMessage, b: &mut Vec<u8>) {
    b.reserve(HEADER + 8 * (m.intercept.len() + m.diffs.len() + m.vals.len()) + 4 * (m.nnz.len() + m.cols.len()));
    b.extend_from_slice(&m.samples.to_le_bytes());
    b.extend_from_slice(&m.new_seen.to_le_bytes());
    b.extend_from_slice(&m.loss.to_le_bytes());
    b.extend_from_slice(&m.stop.to_le_bytes());
    b.extend_from_slice(&(m.nnz.len() as u64).to_le_bytes());
    b.extend_from_slice(&(m.cols.len() as u64).to_le_bytes());
    m.intercept.iter().for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    m.diffs.iter().for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    m.nnz.iter().for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    m.cols.iter().for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    m.vals.iter().for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
}

/// Appends one encoded message to `out` (summing the scalars); returns the bytes it took.
pub fn decode_into(b: &[u8], k: usize, out: &mut StepMessage) -> usize {
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let f64_at = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    out.samples += u64_at(0);
    out.new_seen += u64_at(8);
    out.loss += f64_at(16);
    out.stop += u64_at(24);
    let (s, z) = (u64_at(32) as usize, u64_at(40) as usize);
    let mut at = HEADER;
    for c in 0..k {
        out.intercept[c] += f64_at(at + 8 * c);
    }
    at += 8 * k;
    out.diffs.extend((0..s * k).map(|i| f64_at(at + 8 * i)));
    at += 8 * s * k;
    out.nnz.extend((0..s).map(|i| u32_at(at + 4 * i)));
    at += 4 * s;
    out.cols.extend((0..z).map(|i| u32_at(at + 4 * i)));
    at += 4 * z;
    out.vals.extend((0..z).map(|i| f64_at(at + 8 * i)));
    at + 8 * z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_roundtrip_sums_scalars_and_appends_rows() {
        let mut m = StepMessage { samples: 1, new_seen: 1, loss: 1.5, intercept: vec![0.25, -1.0], ..Default::default() };
        m.push_sample(&[1, 7], &[0.5, 0.25], &[1.0, 2.0]);
        let mut bytes = Vec::new();
        encode(&m, &mut bytes);
        assert_eq!(bytes.len(), encoded_len(1, 2, 2));
        encode(&m, &mut bytes);
        let mut out = StepMessage { intercept: vec![0.0, 0.0], ..Default::default() };
        let used = decode_into(&bytes, 2, &mut out);
        assert_eq!(out, m);
        decode_into(&bytes[used..], 2, &mut out);
        assert_eq!((out.samples, out.loss, out.intercept.clone()), (2, 3.0, vec![0.5, -2.0]));
        assert_eq!(out.cols, [1, 7, 1, 7]);
        assert_eq!(out.densify(8, 2)[14..16], [0.5, 1.0]);
    }

    #[test]
    fn dense_only_when_it_moves_fewer_bytes() {
        assert!(!choose_dense(10_000.0, 50_000, 20));
        assert!(choose_dense(10_000.0, 100, 2));
    }
}
