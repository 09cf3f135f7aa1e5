//! The MPI backend: rsmpi's world communicator.

use super::{Collectives, Kind, Op, Tally};
use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::Count;
use std::cell::RefCell;

/// The world communicator.
pub struct MpiComm {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    tally: Tally,
    /// Receive buffer of the in-place allreduces (rsmpi has no MPI_IN_PLACE).
    scratch: RefCell<Vec<f64>>,
}

impl MpiComm {
    /// Records a call in the tally. A job of one rank communicates nothing,
    /// whichever backend runs it.
    fn count(&self, kind: Kind, bytes: usize) {
        if self.size > 1 {
            self.tally.add(kind, bytes);
        }
    }

    pub fn new(world: SimpleCommunicator) -> Self {
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        MpiComm { world, rank, size, tally: Tally::default(), scratch: RefCell::new(Vec::new()) }
    }

    /// Allreduce of `buf` in place through the scratch buffer.
    fn all_reduce<T: Equivalence + Copy + Default>(&self, buf: &mut [T], op: Op) {
        self.count(Kind::AllReduce, std::mem::size_of_val(buf));
        let op = system_op(op);
        let mut out = vec![T::default(); buf.len()];
        // MPI counts are i32: reduce in pieces so any length works.
        const PIECE: usize = 1 << 28;
        for (src, dst) in buf.chunks(PIECE).zip(out.chunks_mut(PIECE)) {
            self.world.all_reduce_into(src, dst, op);
        }
        buf.copy_from_slice(&out);
    }
}

fn system_op(op: Op) -> SystemOperation {
    match op {
        Op::Sum => SystemOperation::sum(),
        Op::Max => SystemOperation::max(),
        Op::Min => SystemOperation::min(),
    }
}

/// MPI counts and displacements (i32) from lengths already checked against
/// [`super::MAX_MESSAGE_BYTES`].
fn counts_and_displs(lens: &[usize]) -> (Vec<Count>, Vec<Count>) {
    let mut displs = Vec::with_capacity(lens.len());
    let mut at = 0;
    for &l in lens {
        displs.push(at as Count);
        at += l;
    }
    (lens.iter().map(|&l| l as Count).collect(), displs)
}

impl Collectives for MpiComm {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_f64(&self, buf: &mut [f64], op: Op) {
        if self.size == 1 {
            return;
        }
        // The solver's step: one receive buffer for the whole fit.
        self.count(Kind::AllReduce, 8 * buf.len());
        let mut out = self.scratch.borrow_mut();
        out.resize(buf.len(), 0.0);
        self.world.all_reduce_into(&*buf, &mut out[..], system_op(op));
        buf.copy_from_slice(&out);
    }
    fn all_reduce_u64(&self, buf: &mut [u64], op: Op) {
        self.all_reduce(buf, op)
    }
    fn all_reduce_i64(&self, buf: &mut [i64], op: Op) {
        self.all_reduce(buf, op)
    }
    fn reduce_sum_f64_to_root(&self, buf: &mut [f64]) {
        self.count(Kind::Reduce, 8 * buf.len());
        let root = self.world.process_at_rank(0);
        const PIECE: usize = 1 << 28;
        if self.rank == 0 {
            let mut out = vec![0.0; buf.len()];
            for (src, dst) in buf.chunks(PIECE).zip(out.chunks_mut(PIECE)) {
                root.reduce_into_root(src, dst, SystemOperation::sum());
            }
            buf.copy_from_slice(&out);
        } else {
            for src in buf.chunks(PIECE) {
                root.reduce_into(src, SystemOperation::sum());
            }
        }
    }
    fn broadcast_f64(&self, root: usize, buf: &mut [f64]) {
        self.count(Kind::Broadcast, if self.rank == root { 8 * buf.len() } else { 0 });
        let root = self.world.process_at_rank(root as i32);
        for piece in buf.chunks_mut(1 << 28) {
            root.broadcast_into(piece);
        }
    }
    fn all_gather_varcount(&self, local: &[u8], lens: &[usize]) -> Vec<u8> {
        self.count(Kind::AllGather, local.len());
        let (counts, displs) = counts_and_displs(lens);
        let total: usize = lens.iter().sum();
        // One spare byte past the data on both sides: empty Vecs share a
        // dangling address, and OpenMPI rejects a send buffer equal to the
        // receive buffer.
        let mut send = Vec::with_capacity(local.len() + 1);
        send.extend_from_slice(local);
        send.push(0);
        let mut out = vec![0u8; total + 1];
        let mut part = PartitionMut::new(&mut out[..], &counts[..], &displs[..]);
        self.world.all_gather_varcount_into(&send[..local.len()], &mut part);
        out.truncate(total);
        out
    }
    fn reduce_scatter_sum_f64(&self, buf: &[f64]) -> Vec<f64> {
        let block = buf.len() / self.size;
        assert_eq!(block * self.size, buf.len(), "reduce-scatter of equal blocks");
        if self.size == 1 {
            return buf.to_vec();
        }
        self.count(Kind::ReduceScatter, 8 * buf.len());
        let mut out = vec![0.0; block];
        self.world.reduce_scatter_block_into(buf, &mut out[..], SystemOperation::sum());
        out
    }
    fn all_gather_f64_into(&self, local: &[f64], out: &mut [f64]) {
        assert_eq!(out.len(), local.len() * self.size, "all-gather of equal blocks");
        if self.size == 1 {
            return out.copy_from_slice(local);
        }
        self.count(Kind::AllGather, 8 * local.len());
        self.world.all_gather_into(local, out);
    }
    fn all_to_all_u64(&self, send: &[u64]) -> Vec<u64> {
        self.count(Kind::AllToAll, 8 * send.len());
        let mut out = vec![0u64; self.size];
        self.world.all_to_all_into(send, &mut out[..]);
        out
    }
    fn all_to_all_varcount(&self, flat: &[u8], send_lens: &[usize], recv_lens: &[usize]) -> Vec<u8> {
        self.count(Kind::AllToAll, flat.len());
        let (sc, sd) = counts_and_displs(send_lens);
        let (rc, rd) = counts_and_displs(recv_lens);
        let mut send = Vec::with_capacity(flat.len() + 1);
        send.extend_from_slice(flat);
        send.push(0); // see all_gather_varcount: never an empty (dangling) buffer
        let total: usize = recv_lens.iter().sum();
        let mut out = vec![0u8; total + 1];
        let part = Partition::new(&send[..], &sc[..], &sd[..]);
        let mut rpart = PartitionMut::new(&mut out[..], &rc[..], &rd[..]);
        self.world.all_to_all_varcount_into(&part, &mut rpart);
        out.truncate(total);
        out
    }
    fn barrier(&self) {
        self.count(Kind::Barrier, 0);
        self.world.barrier();
    }
    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
    #[cfg(feature = "parallel-hdf5")]
    fn open_shared_h5(&self, path: &std::path::Path) -> Option<crate::error::Result<hdf5::File>> {
        if self.size == 1 || std::env::var("TEXTSAGA_PARALLEL_HDF5").is_ok_and(|v| v == "0") {
            return None;
        }
        use mpi::raw::AsRaw;
        self.count(Kind::Barrier, 0);
        let opened = hdf5::File::with_options().with_fapl(|p| p.mpio(self.world.as_raw(), None)).open_rw(path);
        Some(opened.map_err(anyhow::Error::from))
    }
}

