//! The combine step under real MPI: the one allreduce a SAGA step makes, at
//! the sizes a fit uses (a total batch of b samples, each with K scores, K
//! stored gradient terms, label, weight and first-visit flag: (2K + 3) b + 1
//! doubles). Prints microseconds per step, the latency (alpha) of docs/design.md's
//! cost model. Run on several ranks with `scripts/bench_combine.sh`; plain
//! `cargo bench --bench combine` runs it on one rank (MPI's singleton mode).

use mpi::collective::SystemOperation;
use mpi::traits::*;
use std::time::Instant;

fn main() {
    let universe = mpi::initialize().expect("MPI initialises");
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    if rank == 0 {
        println!("combine step: allreduce of (2K+3)b+1 doubles on {size} ranks");
        println!("{:>4} {:>6} {:>8} {:>12} {:>12}", "K", "b", "bytes", "us/step", "MB/s/rank");
    }
    for k in [1usize, 20] {
        for b in [1usize, 2, 4, 8, 16, 64, 256] {
            let len = (2 * k + 3) * b + 1;
            let send: Vec<f64> = (0..len).map(|i| (i + rank as usize) as f64).collect();
            let mut recv = vec![0.0; len];
            // Enough repetitions for ~0.2 s, agreed on rank 0's estimate.
            for _ in 0..200 {
                world.all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            }
            let t = Instant::now();
            for _ in 0..200 {
                world.all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            }
            let mut reps = ((0.2 / (t.elapsed().as_secs_f64() / 200.0)) as u64).clamp(100, 1_000_000);
            world.process_at_rank(0).broadcast_into(&mut reps);
            world.barrier();
            let t = Instant::now();
            for _ in 0..reps {
                world.all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            }
            let per = t.elapsed().as_secs_f64() / reps as f64;
            let mut worst = 0.0;
            world.all_reduce_into(&per, &mut worst, SystemOperation::max());
            assert_eq!(recv[len - 1], (0..size).map(|r| (len - 1 + r as usize) as f64).sum::<f64>(), "allreduce result");
            if rank == 0 {
                println!("{:>4} {:>6} {:>8} {:>12.2} {:>12.1}", k, b, 8 * len, worst * 1e6, 8.0 * len as f64 / worst / 1e6);
            }
        }
    }
}
