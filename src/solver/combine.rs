//! The collectives the solver needs, behind a trait so that the solver runs
//! on one rank without MPI ([`SingleRank`], the unit tests) and over MPI
//! ([`MpiCombiner`]).
//!
//! A step needs exactly one: [`Combiner::reduce_step`], an allreduce sum of
//! the step's buffer (every sample's partial scores over each rank's
//! columns, plus the sample owner's stored gradient terms and label; see
//! `saga`). Its size depends only on the batch and K, never on the number of
//! features or non-zeros, and it needs no plan: every rank knows the batch.

use crate::comm::Comm;
use crate::error::Result;

pub trait Combiner {
    fn rank(&self) -> usize;
    fn ranks(&self) -> usize;
    /// The maximum over ranks; exactly the same value on every rank.
    fn max_f64(&mut self, x: f64) -> f64;
    fn sum_f64(&mut self, x: f64) -> f64;
    /// Element-wise sum over ranks, bitwise the same on every rank.
    fn sum_vec(&mut self, x: &[f64]) -> Vec<f64>;
    /// A step's collective: `buf` becomes its element-wise sum over ranks.
    fn reduce_step(&mut self, buf: &mut [f64]);
    /// Personalised exchange: `send[r]` goes to rank `r`; returns what every
    /// rank sent here, concatenated in rank order.
    fn exchange(&mut self, send: &[Vec<u8>]) -> Result<Vec<u8>>;
    /// Bytes this rank has put into step collectives so far.
    fn bytes_sent(&self) -> u64;
}

/// A communicator of one: every collective is the identity.
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
    fn reduce_step(&mut self, _buf: &mut [f64]) {}
    fn exchange(&mut self, send: &[Vec<u8>]) -> Result<Vec<u8>> {
        Ok(send.concat())
    }
    fn bytes_sent(&self) -> u64 {
        0
    }
}

/// The collectives over MPI.
pub struct MpiCombiner<'a> {
    comm: &'a Comm,
    bytes_sent: u64,
    scratch: Vec<f64>,
}

impl<'a> MpiCombiner<'a> {
    pub fn new(comm: &'a Comm) -> Self {
        MpiCombiner { comm, bytes_sent: 0, scratch: Vec::new() }
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
    fn reduce_step(&mut self, buf: &mut [f64]) {
        if self.comm.size() == 1 {
            return;
        }
        self.scratch.resize(buf.len(), 0.0);
        self.comm.sum_f64_into(buf, &mut self.scratch);
        buf.copy_from_slice(&self.scratch);
        self.bytes_sent += 8 * buf.len() as u64;
    }
    fn exchange(&mut self, send: &[Vec<u8>]) -> Result<Vec<u8>> {
        self.comm.all_to_all_bytes(send)
    }
    fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }
}
