//! Threads inside a rank (`--threads`): one rank a node (or a socket) with
//! threads, instead of one rank a core, keeps one copy of the model a node
//! and one set of collective calls a node, where a rank a core repeats both
//! on every core.
//!
//! The count is one setting for the process, as OpenMP's is: kernels ask
//! [`count`] and split their work into that many contiguous spans
//! ([`spans`]). Only the thread that started MPI calls it; the others only
//! compute, so MPI's `FUNNELED` level is all they need. Kernels are written
//! so that the answer does not depend on the split: every sum over rows is
//! taken in row order, whatever thread computed its terms.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNT: AtomicUsize = AtomicUsize::new(1);
/// The most threads [`set`] gives: 1 once [`forbid`] was called.
static MOST: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Sets the threads a rank uses from now on (at least 1; 1 after [`forbid`]).
pub fn set(n: usize) {
    ASKED.store(n, Ordering::Relaxed);
    COUNT.store(n.clamp(1, MOST.load(Ordering::Relaxed)), Ordering::Relaxed);
}

/// The count last asked of [`set`].
static ASKED: AtomicUsize = AtomicUsize::new(1);

/// One thread from now on: the MPI library does not support threads
/// beside the one that calls it (it granted less than `FUNNELED`).
pub fn forbid() {
    MOST.store(1, Ordering::Relaxed);
    COUNT.store(1, Ordering::Relaxed);
}

/// The threads a rank uses.
pub fn count() -> usize {
    COUNT.load(Ordering::Relaxed)
}

/// The default when `--threads` is not given: what the batch system gave
/// each task (`SLURM_CPUS_PER_TASK`, set by `--cpus-per-task`), else
/// `OMP_NUM_THREADS` (what sites set for hybrid jobs), else 1.
pub fn from_env() -> usize {
    from_vars(|name| std::env::var(name).ok())
}

fn from_vars(var: impl Fn(&str) -> Option<String>) -> usize {
    ["SLURM_CPUS_PER_TASK", "OMP_NUM_THREADS"]
        .iter()
        .find_map(|name| var(name)?.trim().split(',').next()?.parse::<usize>().ok().filter(|&n| n > 0))
        .unwrap_or(1)
}

/// A warning when the MPI library forbade the threads asked for, or when
/// this process may run on fewer cores than its threads
/// (its CPU affinity, as the launcher bound it): the threads would take
/// turns on them. Open MPI binds each rank to one core unless told.
pub fn affinity_warning() -> Option<String> {
    let asked = ASKED.load(Ordering::Relaxed);
    if asked > count() {
        return Some(format!("{asked} threads a rank asked, but this MPI library supports no thread beside the one that calls it (less than MPI_THREAD_FUNNELED): one thread a rank"));
    }
    let (threads, cores) = (count(), std::thread::available_parallelism().map_or(usize::MAX, |n| n.get()));
    (threads > cores).then(|| {
        format!(
            "{threads} threads a rank, but this rank may run on only {cores} core(s): the threads will take turns. \
             Give each rank {threads} cores: `srun --cpus-per-task={threads}`, or `mpirun --map-by slot:PE={threads}` (or `--bind-to none`)"
        )
    })
}

/// What a run's summary line says of the threads after its rank count:
/// nothing at one thread a rank, else ` x N threads`.
pub fn summary() -> String {
    match count() {
        1 => String::new(),
        t => format!(" x {t} threads"),
    }
}

/// `parts` contiguous spans of the items `0..offsets.len() - 1`, each with
/// about the same share of the work, where item `i`'s work is
/// `offsets[i + 1] - offsets[i]` (a CSR row pointer: non-zeros a row).
/// Spans may be empty; together they cover every item once, in order.
pub fn spans(offsets: &[usize], parts: usize) -> Vec<Range<usize>> {
    let items = offsets.len().saturating_sub(1);
    let (first, total) = (offsets.first().copied().unwrap_or(0), offsets.last().copied().unwrap_or(0));
    let work = total - first;
    let mut bounds = vec![0];
    for t in 1..parts.max(1) {
        // The first item whose start reaches this span's share of the work.
        let target = first + (work as u128 * t as u128 / parts as u128) as usize;
        let at = offsets[..items].partition_point(|&o| o < target).max(*bounds.last().expect("starts at 0"));
        bounds.push(at);
    }
    bounds.push(items);
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Cuts `out` into one slice a span, `stride` values an item.
pub fn carve<'a, T>(mut out: &'a mut [T], spans: &[Range<usize>], stride: usize) -> Vec<&'a mut [T]> {
    let mut at = spans.first().map_or(0, |s| s.start);
    let mut parts = Vec::with_capacity(spans.len());
    out = &mut out[at * stride..];
    for s in spans {
        debug_assert_eq!(s.start, at, "spans are contiguous");
        let (part, rest) = std::mem::take(&mut out).split_at_mut(s.len() * stride);
        parts.push(part);
        out = rest;
        at = s.end;
    }
    parts
}

/// Runs `f` on each piece of work, each on a thread of its own (the first
/// on this one), and returns when all are done. A panic in any is raised
/// here once all have ended.
pub fn each<W: Send>(work: Vec<W>, f: impl Fn(W) + Sync) {
    if work.len() <= 1 {
        work.into_iter().for_each(f);
        return;
    }
    let f = &f;
    std::thread::scope(|s| {
        let mut work = work.into_iter();
        let mine = work.next();
        for w in work {
            s.spawn(move || f(w));
        }
        if let Some(w) = mine {
            f(w);
        }
    });
}

/// Sums are taken over chunks of this many items, each chunk's sum in
/// order and the chunks' sums in order: the same bits whatever thread took
/// which chunk. Each thread of a vector kernel gets at least `PER_THREAD`
/// items: a thread's start (~20 us) against a sweep of 32 K doubles (a
/// few tens of us). Smaller in unit tests, so that small vectors go
/// through the threads' offsets too.
#[cfg(not(test))]
const CHUNK: usize = 1 << 13;
#[cfg(not(test))]
const PER_THREAD: usize = 1 << 15;
#[cfg(test)]
const CHUNK: usize = 1 << 4;
#[cfg(test)]
const PER_THREAD: usize = 1 << 6;

/// Threads for a vector kernel over `n` items.
fn threads_for(n: usize) -> usize {
    count().min(n / PER_THREAD).max(1)
}

/// Unit tests that set the process's count hold this, so that one test's
/// count is not another's.
#[cfg(test)]
pub static TEST_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `sum_i term(i)` over `0..n`, given `part(range)`, the sum of a range's
/// terms in order: on the rank's threads, the same bits at any count.
pub fn sum(n: usize, part: impl Fn(Range<usize>) -> f64 + Sync) -> f64 {
    let chunks = n.div_ceil(CHUNK);
    let mut partial = vec![0.0; chunks];
    let t = threads_for(n);
    let offsets: Vec<usize> = (0..=chunks).collect();
    let spans = spans(&offsets, t);
    let work: Vec<_> = spans.iter().cloned().zip(carve(&mut partial, &spans, 1)).collect();
    each(work, |(span, out)| {
        for (o, c) in out.iter_mut().zip(span) {
            *o = part(c * CHUNK..((c + 1) * CHUNK).min(n));
        }
    });
    partial.iter().fold(0.0, |s, p| s + p)
}

/// The dot product of `a` and `b` ([`sum`]'s order).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    sum(a.len(), |r| a[r.clone()].iter().zip(&b[r]).fold(0.0, |s, (x, y)| s + x * y))
}

/// Runs `f(start, part)` on contiguous parts of `out` on the rank's
/// threads, `start` being the part's first index: for elementwise updates,
/// whose result does not depend on the split.
pub fn update<T: Send>(out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    let n = out.len();
    let offsets: Vec<usize> = (0..=n.div_ceil(CHUNK)).map(|c| (c * CHUNK).min(n)).collect();
    let chunk_spans = spans(&offsets, threads_for(n));
    let item_spans: Vec<Range<usize>> = chunk_spans.iter().map(|s| offsets[s.start]..offsets[s.end]).collect();
    let work: Vec<_> = item_spans.iter().map(|s| s.start).zip(carve(out, &item_spans, 1)).collect();
    each(work, |(start, part)| f(start, part));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_every_item_once_with_even_work() {
        // Rows of 10, 0, 30, 5, 5, 50 non-zeros.
        let offsets = [0, 10, 10, 40, 45, 50, 100];
        for parts in 1..=8 {
            let s = spans(&offsets, parts);
            assert_eq!(s.len(), parts);
            assert_eq!(s.first().unwrap().start, 0);
            assert_eq!(s.last().unwrap().end, 6);
            assert!(s.windows(2).all(|w| w[0].end == w[1].start), "{s:?}");
        }
        assert_eq!(spans(&offsets, 2), vec![0..5, 5..6], "50 non-zeros each side");
        assert_eq!(spans(&[0], 3), vec![0..0, 0..0, 0..0], "no items");
    }

    #[test]
    fn carve_gives_disjoint_slices_a_span() {
        let mut v: Vec<usize> = (0..12).collect();
        let parts = carve(&mut v, &[0..1, 1..1, 1..4], 3);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![3, 0, 9]);
        assert_eq!(parts[2][0], 3);
    }

    #[test]
    fn each_runs_every_piece() {
        let mut out = vec![0usize; 5];
        let pieces: Vec<(usize, &mut usize)> = out.iter_mut().enumerate().collect();
        each(pieces, |(i, o)| *o = i * i);
        assert_eq!(out, vec![0, 1, 4, 9, 16]);
    }

    /// Sums and updates give the same bits at any thread count.
    #[test]
    fn vector_kernels_do_not_depend_on_the_thread_count() {
        let _one = TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let n = 3 * PER_THREAD * 8 + 17;
        let a: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 997.0 - 0.4).collect();
        let b: Vec<f64> = (0..n).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let at = |t: usize| {
            set(t);
            let mut c = a.clone();
            update(&mut c, |start, part| part.iter_mut().enumerate().for_each(|(i, v)| *v += 2.0 * b[start + i]));
            (dot(&a, &b).to_bits(), c)
        };
        let one = at(1);
        for t in [2, 3, 7] {
            assert_eq!(at(t), one, "{t} threads");
        }
        set(1);
        let exact: f64 = (0..n).map(|i| a[i] * b[i]).sum();
        assert!((f64::from_bits(one.0) - exact).abs() < 1e-12 * exact.abs().max(1.0));
        assert_eq!(one.1[5], a[5] + 2.0 * b[5]);
    }

    #[test]
    fn the_default_follows_slurm_then_openmp() {
        let env = |pairs: &'static [(&'static str, &'static str)]| move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string());
        assert_eq!(from_vars(env(&[])), 1);
        assert_eq!(from_vars(env(&[("OMP_NUM_THREADS", "8")])), 8);
        assert_eq!(from_vars(env(&[("OMP_NUM_THREADS", "4,2")])), 4, "nested OpenMP: the outer level");
        assert_eq!(from_vars(env(&[("SLURM_CPUS_PER_TASK", "16"), ("OMP_NUM_THREADS", "8")])), 16);
        assert_eq!(from_vars(env(&[("SLURM_CPUS_PER_TASK", "0"), ("OMP_NUM_THREADS", "x")])), 1);
    }
}
