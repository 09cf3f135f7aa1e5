//! Everything the ranks do together, behind one trait.
//!
//! [`Collectives`] is the seam between textsaga's maths and MPI: the
//! vectorizer, the classes, the solver, the checkpoint and the run report
//! only ever talk to `&dyn Collectives`. Two backends implement it:
//!
//! - [`mpi::MpiComm`], rsmpi's world communicator (the program);
//! - [`local::run_ranks`], P ranks as threads of one process exchanging
//!   through memory, so `cargo test` runs every multi-rank behaviour at
//!   1-8 ranks without `mpirun`.
//!
//! Both count every call and the bytes this rank puts into it ([`Tally`]),
//! so a fit reports exactly what it communicated at any rank count, which
//! is what the cost model prices with latency and bandwidth.
//!
//! # Why `agree`
//! A rank that fails must not leave the others waiting in a collective. Work is
//! therefore split into phases: local, fallible work, then
//! [`agree`](dyn Collectives::agree) (one small allreduce), then collective work
//! that every rank enters together. If any rank failed, the lowest failing rank
//! prints its error line and every rank returns an error, so errors that all
//! ranks meet print once and the job exits cleanly instead of aborting.

pub mod local;
pub mod mpi;
mod tally;

pub use tally::{Counts, Kind, Tally};

use crate::error::{exit_code, one_line, Reported, Result};

/// The reduction an allreduce applies element-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Sum,
    Max,
    Min,
}

/// Largest message one call may carry: MPI counts are 32-bit. Both backends
/// refuse more with the same error, so a test in one process meets the limit
/// a cluster run would.
pub const MAX_MESSAGE_BYTES: u64 = i32::MAX as u64;

/// The collective operations textsaga needs. Every method is collective:
/// every rank calls it, in the same order, with compatible arguments.
pub trait Collectives {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Element-wise reduction over ranks, in place.
    fn all_reduce_f64(&self, buf: &mut [f64], op: Op);
    fn all_reduce_u64(&self, buf: &mut [u64], op: Op);
    fn all_reduce_i64(&self, buf: &mut [i64], op: Op);
    /// Element-wise sum over ranks onto rank 0 only (`buf` is unchanged elsewhere).
    fn reduce_sum_f64_to_root(&self, buf: &mut [f64]);
    /// Rank `root`'s `buf` onto every rank.
    fn broadcast_f64(&self, root: usize, buf: &mut [f64]);
    /// Every rank's `local`, concatenated in rank order; `lens[r]` is rank
    /// `r`'s length and is known to every rank.
    fn all_gather_varcount(&self, local: &[u8], lens: &[usize]) -> Vec<u8>;
    /// `send[r]` goes to rank `r` (one value each way per pair of ranks).
    fn all_to_all_u64(&self, send: &[u64]) -> Vec<u64>;
    /// Personalised exchange of `flat` (the parts for ranks 0, 1, ... in
    /// order, `send_lens[r]` bytes for rank `r`); returns what each rank sent
    /// here in rank order, `recv_lens[r]` bytes from rank `r`.
    fn all_to_all_varcount(&self, flat: &[u8], send_lens: &[usize], recv_lens: &[usize]) -> Vec<u8>;
    /// Element-wise sum over ranks of `buf` (the same length `P * block`
    /// everywhere), of which this rank receives block `rank` only: a
    /// gradient whose parts are owned by different ranks.
    fn reduce_scatter_sum_f64(&self, buf: &[f64]) -> Vec<f64>;
    /// Every rank's `local` (the same length everywhere), concatenated in
    /// rank order into `out` (`P` times as long): a buffer the caller keeps,
    /// so that a d x K vector gathered every iteration is not allocated (and
    /// page-faulted) anew each time.
    fn all_gather_f64_into(&self, local: &[f64], out: &mut [f64]);
    fn barrier(&self);
    /// Ends every rank of the job at once (after printing). For failures
    /// that happen where ranks cannot agree: panics and fatal signals.
    fn abort(&self, code: i32) -> !;
    /// Calls and bytes of every collective this rank has taken part in.
    fn tally(&self) -> &Tally;
    /// Collective: opens an existing HDF5 file for writing on every rank at
    /// once (MPI-IO, parallel HDF5), or `None` where this backend or build
    /// cannot, or one rank alone needs no such thing; then ranks write in turns.
    fn open_shared_h5(&self, _path: &std::path::Path) -> Option<Result<hdf5::File>> {
        None
    }
}

impl dyn Collectives + '_ {
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Collective: succeeds on every rank only if `result` is `Ok` on every
    /// rank. Otherwise the lowest failing rank prints its error and all ranks
    /// get [`Reported`]. The line names the rank unless every rank failed
    /// (then the cause is common to all, such as a missing file).
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        self.agree_with(result, crate::signals::pending())
    }

    /// [`Self::agree`] after an output was committed: a stop signal is left
    /// for the next agreement point, so the run never reports a stop (and
    /// "no output written") after its output is whole.
    pub fn agree_final<T>(&self, result: Result<T>) -> Result<T> {
        self.agree_with(result, None)
    }

    fn agree_with<T>(&self, result: Result<T>, signal: Option<i32>) -> Result<T> {
        // One allreduce (MIN) of [first failing rank and its exit code, -(any
        // rank succeeded), -(a pending stop signal)]: every rank leaves with
        // the same outcome and the same exit code.
        let failed = |e: &anyhow::Error| (self.rank() as i64) * 256 + exit_code(e) as i64;
        let signal = signal.unwrap_or(0) as i64;
        let mut flags = [result.as_ref().err().map_or(i64::MAX, failed), -(result.is_ok() as i64), -signal];
        self.all_reduce_i64(&mut flags, Op::Min);
        let (first, all_failed, signal) = (flags[0], flags[1] == 0, -flags[2] as i32);
        let code = (first % 256) as i32;
        match result {
            Ok(v) if first == i64::MAX && signal == 0 => Ok(v),
            // Every rank succeeded, and some rank was asked to stop.
            Ok(_) if first == i64::MAX => {
                let stop = anyhow::Error::new(crate::signals::stopped(signal));
                if self.is_root() {
                    self.print_error(&stop, false);
                }
                Err(Reported { code: exit_code(&stop) }.into())
            }
            Ok(_) => Err(Reported { code }.into()),
            Err(e) => {
                if first / 256 == self.rank() as i64 {
                    self.print_error(&e, !all_failed);
                }
                Err(Reported { code }.into())
            }
        }
    }

    /// Collective: `work` on rank 0 only (a serial writer that commits its
    /// own output), agreed by every rank as [`Self::agree_final`].
    pub fn on_root(&self, work: impl FnOnce() -> Result<()>) -> Result<()> {
        let result = if self.is_root() { work() } else { Ok(()) };
        self.agree_final(result)
    }

    /// Prints an error line for this rank, naming the rank if asked to and
    /// the job has several.
    pub fn print_error(&self, e: &anyhow::Error, name_rank: bool) {
        if e.downcast_ref::<Reported>().is_some() {
            return;
        }
        if name_rank && self.size() > 1 {
            crate::say!("textsaga: error: rank {}: {}", self.rank(), one_line(e));
        } else {
            crate::say!("textsaga: error: {}", one_line(e));
        }
    }

    pub fn max_f64(&self, x: f64) -> f64 {
        let mut v = [x];
        self.all_reduce_f64(&mut v, Op::Max);
        v[0]
    }

    pub fn sum_f64(&self, x: f64) -> f64 {
        let mut v = [x];
        self.all_reduce_f64(&mut v, Op::Sum);
        v[0]
    }

    /// Element-wise sum over ranks of a vector of the same length everywhere.
    pub fn sum_u64_vec(&self, local: &[u64]) -> Vec<u64> {
        let mut out = local.to_vec();
        self.all_reduce_u64(&mut out, Op::Sum);
        out
    }

    /// Element-wise sum over ranks that is bitwise the same on every rank:
    /// reduced on rank 0 and broadcast, so no rank depends on the order in
    /// which an allreduce algorithm happened to add its parts.
    pub fn sum_f64_vec_identical(&self, local: &[f64]) -> Vec<f64> {
        let mut out = local.to_vec();
        self.sum_f64_identical_in_place(&mut out);
        out
    }

    /// [`Self::sum_f64_vec_identical`] in place: no copy, and on one rank
    /// nothing at all (the model gathered at the end of a fit is d x K values).
    pub fn sum_f64_identical_in_place(&self, values: &mut [f64]) {
        if self.size() == 1 {
            return;
        }
        self.reduce_sum_f64_to_root(values);
        self.broadcast_f64(0, values);
    }

    /// Every rank's value, in rank order.
    pub fn all_gather_u64(&self, x: u64) -> Vec<u64> {
        let lens = vec![8; self.size()];
        let all = self.all_gather_varcount(&x.to_le_bytes(), &lens);
        all.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).collect()
    }

    /// [`Collectives::all_gather_f64_into`] into a new vector.
    pub fn all_gather_f64(&self, local: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; local.len() * self.size()];
        self.all_gather_f64_into(local, &mut out);
        out
    }

    /// Offset of this rank's part in a concatenation of every rank's
    /// `count`, and the total.
    pub fn offset_of(&self, count: usize) -> (usize, usize) {
        let all = self.all_gather_u64(count as u64);
        let before: u64 = all[..self.rank()].iter().sum();
        (before as usize, all.iter().sum::<u64>() as usize)
    }

    /// Concatenation of every rank's bytes, in rank order.
    pub fn all_gather_bytes(&self, local: &[u8]) -> Result<Vec<u8>> {
        let lens = self.all_gather_u64(local.len() as u64);
        check_message(lens.iter().sum())?;
        Ok(self.all_gather_varcount(local, &lens.iter().map(|&l| l as usize).collect::<Vec<_>>()))
    }

    /// Personalised exchange: `send[r]` goes to rank `r`; returns what each
    /// rank sent here, concatenated in rank order.
    pub fn all_to_all_bytes(&self, send: &[Vec<u8>]) -> Result<Vec<u8>> {
        Ok(self.all_to_all_parts(send)?.0)
    }

    /// [`Self::all_to_all_bytes`], with the length of each rank's part.
    pub fn all_to_all_parts(&self, send: &[Vec<u8>]) -> Result<(Vec<u8>, Vec<usize>)> {
        assert_eq!(send.len(), self.size());
        let lens: Vec<usize> = send.iter().map(Vec::len).collect();
        self.all_to_all_packed(&send.concat(), &lens)
    }

    /// [`Self::all_to_all_parts`] from one buffer holding every rank's part
    /// in rank order (`send_lens[r]` bytes for rank `r`): no copy to join
    /// the parts, for exchanges of a share of the corpus.
    pub fn all_to_all_packed(&self, send: &[u8], send_lens: &[usize]) -> Result<(Vec<u8>, Vec<usize>)> {
        assert_eq!(send_lens.len(), self.size());
        assert_eq!(send_lens.iter().sum::<usize>(), send.len());
        let recv_lens = self.all_to_all_u64(&send_lens.iter().map(|&l| l as u64).collect::<Vec<_>>());
        // Sizes differ per rank: agree on them, or one rank would fail here
        // while the others wait in the exchange below.
        self.agree(check_message(send.len() as u64).and(check_message(recv_lens.iter().sum())))?;
        let recv_lens: Vec<usize> = recv_lens.iter().map(|&l| l as usize).collect();
        Ok((self.all_to_all_varcount(send, send_lens, &recv_lens), recv_lens))
    }
}

/// An error when one call would move more than MPI can carry.
fn check_message(total: u64) -> Result<()> {
    if total > MAX_MESSAGE_BYTES {
        anyhow::bail!("a collective would move {total} bytes, more than one MPI call can (2 GiB); run on more ranks");
    }
    Ok(())
}
