//! The in-process backend: P ranks as threads of one process, exchanging
//! through memory.
//!
//! [`run_ranks`]`(p, f)` runs `f` on P threads, each with its own
//! [`Collectives`] handle, and returns every rank's result in rank order.
//! Every collective is one [`Hub::exchange`]: each rank deposits its part,
//! waits until all have, reads every part and waits again, so a slot is
//! never overwritten while another rank still reads it. Reductions add the
//! parts in rank order, so every rank gets the same bits.
//!
//! A rank that panics poisons the hub: the ranks waiting in (or later
//! entering) a collective panic too instead of waiting forever, and
//! `run_ranks` re-raises the first rank's own panic. The in-process twin of
//! the program's rule that no rank is ever left hanging.

use super::{Collectives, Kind, Op, Tally};
use std::any::Any;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

type Part = Arc<dyn Any + Send + Sync>;

/// Runs `f` as `p` ranks (threads) and returns their results in rank order.
/// A panic on any rank ends every rank and is raised here.
pub fn run_ranks<T: Send>(p: usize, f: impl Fn(&dyn Collectives) -> T + Sync) -> Vec<T> {
    assert!(p >= 1, "at least one rank");
    let hub = Arc::new(Hub::new(p));
    let results: Vec<std::thread::Result<T>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..p)
            .map(|rank| {
                let (hub, f) = (Arc::clone(&hub), &f);
                s.spawn(move || {
                    let _guard = PoisonOnPanic(&hub);
                    f(&LocalComm { rank, hub: Arc::clone(&hub), tally: Tally::default() })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut out = Vec::with_capacity(p);
    let mut first_panic = None;
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(e) if e.is::<PeerFailed>() => {}
            Err(e) => {
                first_panic.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_panic {
        std::panic::resume_unwind(e);
    }
    assert_eq!(out.len(), p, "a rank failed without a panic of its own");
    out
}

/// The panic of a rank that was waiting when another rank panicked.
struct PeerFailed;

/// Shared state of one job: a slot per rank and a poisonable barrier.
struct Hub {
    p: usize,
    state: Mutex<HubState>,
    turn: Condvar,
}

struct HubState {
    slots: Vec<Option<Part>>,
    arrived: usize,
    generation: u64,
    poisoned: bool,
}

impl Hub {
    fn new(p: usize) -> Self {
        Hub { p, state: Mutex::new(HubState { slots: vec![None; p], arrived: 0, generation: 0, poisoned: false }), turn: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A poisoned mutex only means a rank panicked while holding it; the
        // `poisoned` flag is what the ranks act on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until every rank has arrived (or panics if a rank failed).
    fn wait<'a>(&'a self, mut st: MutexGuard<'a, HubState>) -> MutexGuard<'a, HubState> {
        if st.poisoned {
            drop(st);
            std::panic::panic_any(PeerFailed);
        }
        st.arrived += 1;
        if st.arrived == self.p {
            st.arrived = 0;
            st.generation += 1;
            self.turn.notify_all();
            return st;
        }
        let generation = st.generation;
        while st.generation == generation && !st.poisoned {
            st = self.turn.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.poisoned {
            drop(st);
            std::panic::panic_any(PeerFailed);
        }
        st
    }

    /// Every rank's part, in rank order.
    fn exchange(&self, rank: usize, mine: Part) -> Vec<Part> {
        let mut st = self.lock();
        st.slots[rank] = Some(mine);
        let st = self.wait(st);
        let parts: Vec<Part> = st.slots.iter().map(|s| Arc::clone(s.as_ref().expect("every rank deposited"))).collect();
        let mut st = self.wait(st);
        st.slots[rank] = None;
        parts
    }
}

/// Sets the poison flag when its rank's thread unwinds.
struct PoisonOnPanic<'a>(&'a Hub);

impl Drop for PoisonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut st = self.0.lock();
            st.poisoned = true;
            self.0.turn.notify_all();
        }
    }
}

/// One rank's handle.
struct LocalComm {
    rank: usize,
    hub: Arc<Hub>,
    tally: Tally,
}

/// A job of one rank in this thread: every collective returns at once.
/// For benches and tests that need no other rank.
pub fn single_rank() -> impl Collectives {
    LocalComm { rank: 0, hub: Arc::new(Hub::new(1)), tally: Tally::default() }
}

impl LocalComm {
    /// Records a call in the tally. A job of one rank communicates nothing,
    /// whichever backend runs it.
    fn count(&self, kind: Kind, bytes: usize) {
        if self.hub.p > 1 {
            self.tally.add(kind, bytes);
        }
    }

    /// Every rank's `mine`, in rank order.
    fn gather<T: Any + Send + Sync + Clone>(&self, mine: T) -> Vec<T> {
        self.hub.exchange(self.rank, Arc::new(mine)).iter().map(|p| p.downcast_ref::<T>().expect("same type on every rank").clone()).collect()
    }

    /// Element-wise reduction in rank order: the same bits on every rank.
    fn reduce<T: Any + Send + Sync + Copy>(&self, buf: &mut [T], combine: impl Fn(T, T) -> T) {
        let all = self.reduce_part(buf, 0..buf.len(), combine);
        buf.copy_from_slice(&all);
    }

    /// Element-wise reduction in rank order of the entries `part` of every
    /// rank's `buf`: a reduce-scatter adds up its own block only.
    fn reduce_part<T: Any + Send + Sync + Copy>(&self, buf: &[T], part: std::ops::Range<usize>, combine: impl Fn(T, T) -> T) -> Vec<T> {
        let parts = self.hub.exchange(self.rank, Arc::new(buf.to_vec()));
        let parts: Vec<&Vec<T>> = parts.iter().map(|p| p.downcast_ref::<Vec<T>>().expect("same type on every rank")).collect();
        part.map(|i| parts[1..].iter().fold(parts[0][i], |acc, p| combine(acc, p[i]))).collect()
    }
}

fn combine_f64(op: Op) -> impl Fn(f64, f64) -> f64 {
    move |a, b| match op {
        Op::Sum => a + b,
        Op::Max => a.max(b),
        Op::Min => a.min(b),
    }
}

fn combine_int<T: Ord + std::ops::Add<Output = T>>(op: Op) -> impl Fn(T, T) -> T {
    move |a, b| match op {
        Op::Sum => a + b,
        Op::Max => a.max(b),
        Op::Min => a.min(b),
    }
}

impl Collectives for LocalComm {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.hub.p
    }
    fn all_reduce_f64(&self, buf: &mut [f64], op: Op) {
        self.count(Kind::AllReduce, 8 * buf.len());
        self.reduce(buf, combine_f64(op));
    }
    fn all_reduce_u64(&self, buf: &mut [u64], op: Op) {
        self.count(Kind::AllReduce, 8 * buf.len());
        self.reduce(buf, combine_int(op));
    }
    fn all_reduce_i64(&self, buf: &mut [i64], op: Op) {
        self.count(Kind::AllReduce, 8 * buf.len());
        self.reduce(buf, combine_int(op));
    }
    fn reduce_sum_f64_to_root(&self, buf: &mut [f64]) {
        self.count(Kind::Reduce, 8 * buf.len());
        let sum = self.reduce_part(buf, 0..buf.len(), combine_f64(Op::Sum));
        if self.rank == 0 {
            buf.copy_from_slice(&sum);
        }
    }
    fn broadcast_f64(&self, root: usize, buf: &mut [f64]) {
        self.count(Kind::Broadcast, if self.rank == root { 8 * buf.len() } else { 0 });
        let all = self.gather(if self.rank == root { buf.to_vec() } else { Vec::new() });
        buf.copy_from_slice(&all[root]);
    }
    fn all_gather_varcount(&self, local: &[u8], lens: &[usize]) -> Vec<u8> {
        self.count(Kind::AllGather, local.len());
        assert_eq!(lens[self.rank], local.len(), "rank {}'s length as every rank knows it", self.rank);
        self.gather(local.to_vec()).concat()
    }
    fn reduce_scatter_sum_f64(&self, buf: &[f64]) -> Vec<f64> {
        let block = buf.len() / self.size();
        assert_eq!(block * self.size(), buf.len(), "reduce-scatter of equal blocks");
        self.count(Kind::ReduceScatter, 8 * buf.len());
        // Each rank adds up its own block only, as MPI's reduce-scatter does:
        // O(P x block) work a rank, not O(P x len).
        self.reduce_part(buf, self.rank * block..(self.rank + 1) * block, combine_f64(Op::Sum))
    }
    fn all_gather_f64_into(&self, local: &[f64], out: &mut [f64]) {
        assert_eq!(out.len(), local.len() * self.size(), "all-gather of equal blocks");
        self.count(Kind::AllGather, 8 * local.len());
        let parts = self.hub.exchange(self.rank, Arc::new(local.to_vec()));
        for (chunk, p) in out.chunks_exact_mut(local.len().max(1)).zip(&parts) {
            chunk.copy_from_slice(p.downcast_ref::<Vec<f64>>().expect("same type on every rank"));
        }
    }
    fn all_to_all_u64(&self, send: &[u64]) -> Vec<u64> {
        self.count(Kind::AllToAll, 8 * send.len());
        self.gather(send.to_vec()).iter().map(|row| row[self.rank]).collect()
    }
    fn all_to_all_varcount(&self, flat: &[u8], send_lens: &[usize], recv_lens: &[usize]) -> Vec<u8> {
        self.count(Kind::AllToAll, flat.len());
        let all = self.gather((flat.to_vec(), send_lens.to_vec()));
        let mut out = Vec::with_capacity(recv_lens.iter().sum());
        for (from, (data, lens)) in all.iter().enumerate() {
            let start: usize = lens[..self.rank].iter().sum();
            assert_eq!(lens[self.rank], recv_lens[from], "rank {from} sends what rank {} expects", self.rank);
            out.extend_from_slice(&data[start..start + lens[self.rank]]);
        }
        out
    }
    fn barrier(&self) {
        self.count(Kind::Barrier, 0);
        self.gather(());
    }
    fn abort(&self, code: i32) -> ! {
        panic!("rank {} aborted the job (exit code {code})", self.rank)
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_and_exchanges_at_several_rank_counts() {
        for p in 1..=5 {
            let got = run_ranks(p, |c| {
                let r = c.rank() as f64;
                let sum = c.sum_f64(r + 1.0);
                let max = c.max_f64(r);
                let gathered = c.all_gather_bytes(&vec![c.rank() as u8; c.rank()]).unwrap();
                // Rank r sends r + q bytes of value r to rank q.
                let send: Vec<Vec<u8>> = (0..c.size()).map(|q| vec![c.rank() as u8; c.rank() + q]).collect();
                let recv = c.all_to_all_bytes(&send).unwrap();
                (sum, max, gathered, recv, c.tally().calls(Kind::AllToAll))
            });
            let want_gather: Vec<u8> = (0..p).flat_map(|r| vec![r as u8; r]).collect();
            for (q, (sum, max, gathered, recv, a2a)) in got.into_iter().enumerate() {
                assert_eq!(sum, (p * (p + 1) / 2) as f64);
                assert_eq!(max, (p - 1) as f64);
                assert_eq!(gathered, want_gather);
                assert_eq!(recv, (0..p).flat_map(|r| vec![r as u8; r + q]).collect::<Vec<_>>());
                // Lengths, then data; a job of one rank communicates nothing.
                assert_eq!(a2a, if p > 1 { 2 } else { 0 });
            }
        }
    }

    /// Ranks 2 and 3 fail with different exit codes (a usage error is 2,
    /// another error 1): every rank, the healthy ones too, leaves with the
    /// lowest failing rank's code, whichever it is.
    #[test]
    fn agree_reports_the_lowest_failing_rank_to_all() {
        for (at_2, at_3) in [(2, 1), (1, 2)] {
            let got = run_ranks(4, |c| {
                let fail = |code| if code == 2 { crate::error::usage("bad flag") } else { anyhow::anyhow!("bad input on rank {}", c.rank()) };
                let mine = match c.rank() {
                    2 => Err(fail(at_2)),
                    3 => Err(fail(at_3)),
                    _ => Ok(()),
                };
                c.agree(mine).err().and_then(|e| e.downcast_ref::<crate::error::Reported>().map(|r| r.code))
            });
            assert_eq!(got, [Some(at_2); 4], "rank 2 failed with {at_2}, rank 3 with {at_3}");
        }
    }

    #[test]
    fn a_panic_on_one_rank_ends_every_rank() {
        let caught = std::panic::catch_unwind(|| {
            run_ranks(3, |c| {
                if c.rank() == 1 {
                    panic!("injected on rank 1");
                }
                // The others wait in a collective rank 1 never enters.
                c.barrier();
            })
        });
        let e = caught.expect_err("the panic is raised");
        assert_eq!(e.downcast_ref::<&str>(), Some(&"injected on rank 1"));
    }
}
