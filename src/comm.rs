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
    /// rank. Otherwise the lowest failing rank prints its error and all ranks
    /// get [`Reported`]. The line names the rank unless every rank failed
    /// (then the cause is common to all, such as a missing file).
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        // One allreduce (MIN) of [first failing rank, -(any rank succeeded)].
        let mine = [if result.is_err() { self.rank as i64 } else { i64::MAX }, -(result.is_ok() as i64)];
        let mut out = [0i64; 2];
        self.world.all_reduce_into(&mine[..], &mut out[..], SystemOperation::min());
        let (first, all_failed) = (out[0], out[1] == 0);
        match result {
            Ok(v) if first == i64::MAX => Ok(v),
            Ok(_) => Err(Reported { code: EXIT_ERROR }.into()),
            Err(e) => {
                if first == self.rank as i64 {
                    self.print_error(&e, !all_failed);
                }
                Err(Reported { code: crate::error::exit_code(&e) }.into())
            }
        }
    }

    /// Prints an error line for this rank, naming the rank if asked to and
    /// the job has several.
    pub fn print_error(&self, e: &anyhow::Error, name_rank: bool) {
        if e.downcast_ref::<Reported>().is_some() {
            return;
        }
        if name_rank && self.size > 1 {
            crate::say!("textsaga: error: rank {}: {}", self.rank, one_line(e));
        } else {
            crate::say!("textsaga: error: {}", one_line(e));
        }
    }

    pub fn barrier(&self) {
        self.world.barrier();
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

    /// Element-wise allreduce sum of `local` into `out` (same length on
    /// every rank, small: a solver step's buffer).
    pub fn sum_f64_into(&self, local: &[f64], out: &mut [f64]) {
        self.world.all_reduce_into(local, out, SystemOperation::sum());
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

    /// Element-wise sum over ranks that is bitwise the same on every rank:
    /// reduced on rank 0 and broadcast, so no rank depends on the order in
    /// which an allreduce algorithm happened to add its parts.
    pub fn sum_f64_vec_identical(&self, local: &[f64]) -> Vec<f64> {
        let mut out = vec![0f64; local.len()];
        let root = self.world.process_at_rank(0);
        const PIECE: usize = 1 << 28;
        for (src, dst) in local.chunks(PIECE).zip(out.chunks_mut(PIECE)) {
            if self.rank == 0 {
                root.reduce_into_root(src, dst, SystemOperation::sum());
            } else {
                root.reduce_into(src, SystemOperation::sum());
            }
            root.broadcast_into(dst);
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
        let mut send = Vec::with_capacity(local.len() + 1);
        send.extend_from_slice(local);
        send.push(0);
        let mut out = Vec::new();
        self.all_gather_known(&send, &counts, &displs, &mut out);
        Ok(out)
    }

    /// Like [`Self::all_gather_bytes`] when every rank's length is already
    /// known everywhere (`lens[r]`): one collective instead of two, into a
    /// reused buffer. `local_padded` holds one spare byte past its data, and
    /// `out` gets one too: empty Vecs share a dangling address, and OpenMPI
    /// rejects a send buffer equal to the receive buffer.
    pub fn all_gather_known(&self, local_padded: &[u8], lens: &[i32], displs: &[i32], out: &mut Vec<u8>) {
        let total = (displs[displs.len() - 1] + lens[lens.len() - 1]) as usize;
        out.clear();
        out.resize(total + 1, 0);
        let mut part = PartitionMut::new(&mut out[..], lens, displs);
        self.world.all_gather_varcount_into(&local_padded[..lens[self.rank] as usize], &mut part);
        out.truncate(total);
    }

    /// Personalised exchange: `send[r]` goes to rank `r`; returns what each
    /// rank sent here, concatenated in rank order.
    pub fn all_to_all_bytes(&self, send: &[Vec<u8>]) -> Result<Vec<u8>> {
        assert_eq!(send.len(), self.size);
        let send_counts: Vec<u64> = send.iter().map(|v| v.len() as u64).collect();
        let mut recv_counts = vec![0u64; self.size];
        self.world.all_to_all_into(&send_counts[..], &mut recv_counts[..]);
        // Sizes differ per rank: agree on them, or one rank would fail here
        // while the others wait in the exchange below.
        let (sc, sd, rc, rd) = self.agree((|| {
            let (sc, sd) = counts_and_displs(&send_counts)?;
            let (rc, rd) = counts_and_displs(&recv_counts)?;
            Ok((sc, sd, rc, rd))
        })())?;
        let mut flat: Vec<u8> = send.concat();
        flat.push(0); // see all_gather_bytes: never an empty (dangling) buffer
        let total: usize = recv_counts.iter().sum::<u64>() as usize;
        let mut out = vec![0u8; total + 1];
        let part = Partition::new(&flat[..], &sc[..], &sd[..]);
        let mut rpart = PartitionMut::new(&mut out[..], &rc[..], &rd[..]);
        self.world.all_to_all_varcount_into(&part, &mut rpart);
        out.truncate(total);
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
