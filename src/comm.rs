//! The MPI layer: a thin, typed wrapper over rsmpi's world communicator with
//! the few collectives textsaga needs, and the rule that keeps jobs from
//! hanging.
//!
//! # Why `agree`
//! A rank that fails must not leave the others waiting in a collective. Work is
//! therefore split into phases: local, fallible work, then
//! [`Comm::agree`] (one small allreduce), then collective work that every rank
//! enters together. If any rank failed, the lowest failing rank prints its
//! error line and every rank returns an error, so errors that all ranks meet
//! print once and the job exits cleanly instead of aborting.

use crate::error::{one_line, Reported, Result, EXIT_ERROR};
use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::Count;

/// The world communicator with textsaga's collectives.
pub struct Comm {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
}

impl Comm {
    pub fn new(world: SimpleCommunicator) -> Self {
        let rank = world.rank() as usize;
        let size = world.size() as usize;
        Comm { world, rank, size }
    }

    pub fn rank(&self) -> usize {
        self.rank
    }
    pub fn size(&self) -> usize {
        self.size
    }
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Ends every rank of the job at once (after printing). For failures
    /// that happen where ranks cannot agree: panics and fatal signals.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    /// Collective: succeeds on every rank only if `result` is `Ok` on every
    /// rank. Otherwise the lowest failing rank prints its error (prefixed
    /// with its rank when there are several) and all ranks get [`Reported`].
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        let mine = if result.is_err() { self.rank as u64 } else { u64::MAX };
        let first = self.min_u64(mine);
        match result {
            Ok(v) if first == u64::MAX => Ok(v),
            Ok(_) => Err(Reported { code: EXIT_ERROR }.into()),
            Err(e) => {
                if first == self.rank as u64 {
                    self.print_error(&e);
                }
                Err(Reported { code: crate::error::exit_code(&e) }.into())
            }
        }
    }

    /// Prints an error line for this rank.
    pub fn print_error(&self, e: &anyhow::Error) {
        if e.downcast_ref::<Reported>().is_some() {
            return;
        }
        if self.size > 1 {
            eprintln!("textsaga: error: rank {}: {}", self.rank, one_line(e));
        } else {
            eprintln!("textsaga: error: {}", one_line(e));
        }
    }

    pub fn barrier(&self) {
        self.world.barrier();
    }

    pub fn min_u64(&self, x: u64) -> u64 {
        let mut out = 0u64;
        self.world.all_reduce_into(&x, &mut out, SystemOperation::min());
        out
    }

    pub fn max_f64(&self, x: f64) -> f64 {
        let mut out = 0f64;
        self.world.all_reduce_into(&x, &mut out, SystemOperation::max());
        out
    }

    pub fn sum_f64(&self, x: f64) -> f64 {
        let mut out = 0f64;
        self.world.all_reduce_into(&x, &mut out, SystemOperation::sum());
        out
    }

    /// Element-wise sum over ranks of a vector of the same length everywhere.
    pub fn sum_u64_vec(&self, local: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; local.len()];
        // MPI counts are i32: reduce in pieces so any length works.
        const PIECE: usize = 1 << 28;
        for (src, dst) in local.chunks(PIECE).zip(out.chunks_mut(PIECE)) {
            self.world.all_reduce_into(src, dst, SystemOperation::sum());
        }
        out
    }

    /// Every rank's value, in rank order.
    pub fn all_gather_u64(&self, x: u64) -> Vec<u64> {
        let mut out = vec![0u64; self.size];
        self.world.all_gather_into(&x, &mut out[..]);
        out
    }

    /// Concatenation of every rank's bytes, in rank order.
    pub fn all_gather_bytes(&self, local: &[u8]) -> Result<Vec<u8>> {
        let counts = self.all_gather_u64(local.len() as u64);
        let (counts, displs) = counts_and_displs(&counts)?;
        let total = displs.last().map_or(0, |&d| d as usize) + counts.last().map_or(0, |&c| c as usize);
        let mut out = vec![0u8; total];
        let mut part = PartitionMut::new(&mut out[..], &counts[..], &displs[..]);
        self.world.all_gather_varcount_into(local, &mut part);
        Ok(out)
    }

    /// Personalised exchange: `send[r]` goes to rank `r`; returns what each
    /// rank sent here, concatenated in rank order.
    pub fn all_to_all_bytes(&self, send: &[Vec<u8>]) -> Result<Vec<u8>> {
        assert_eq!(send.len(), self.size);
        let send_counts: Vec<u64> = send.iter().map(|v| v.len() as u64).collect();
        let mut recv_counts = vec![0u64; self.size];
        self.world.all_to_all_into(&send_counts[..], &mut recv_counts[..]);
        let (sc, sd) = counts_and_displs(&send_counts)?;
        let (rc, rd) = counts_and_displs(&recv_counts)?;
        let flat: Vec<u8> = send.concat();
        let total: usize = recv_counts.iter().sum::<u64>() as usize;
        let mut out = vec![0u8; total];
        let part = Partition::new(&flat[..], &sc[..], &sd[..]);
        let mut rpart = PartitionMut::new(&mut out[..], &rc[..], &rd[..]);
        self.world.all_to_all_varcount_into(&part, &mut rpart);
        Ok(out)
    }
}

/// MPI counts and displacements (i32) from byte counts, or a clear error
/// when a message would exceed what one MPI call can carry.
fn counts_and_displs(counts: &[u64]) -> Result<(Vec<Count>, Vec<Count>)> {
    let mut displs = Vec::with_capacity(counts.len());
    let mut at = 0u64;
    for &c in counts {
        displs.push(at);
        at += c;
    }
    if at > Count::MAX as u64 {
        anyhow::bail!(
            "a collective would move {at} bytes, more than one MPI call can (2 GiB); run on more ranks"
        );
    }
    Ok((counts.iter().map(|&c| c as Count).collect(), displs.iter().map(|&d| d as Count).collect()))
}
