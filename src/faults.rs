//! Faults the tests inject into the real binary, never set by users: the
//! no-hang guarantee (a panic on one rank ends every rank within seconds,
//! with one line) can only be tested in a real MPI job.
//!
//! - `TEXTSAGA_TEST_PANIC_RANK=R`: rank R panics after the fit's first epoch;
//! - `TEXTSAGA_TEST_SIGNAL=PHASE:R`: rank R sends itself SIGUSR1 as phase
//!   PHASE starts (a name of `phase::Phase`: `read`, `tokenize`,
//!   `vocabulary_merge`, `transform`, `fit`, `predict`, `write`; or `epoch`,
//!   after each of the fit's epochs; or `epochE`, after epoch E only), so
//!   that a test stops a job where it chooses;
//! - `TEXTSAGA_TEST_CRASH_READ=R`: rank R gets SIGSEGV while reading the
//!   corpus, as the HDF5 library does on some damaged files (see `crash`);
//! - `TEXTSAGA_TEST_EPOCH_PAUSE_MS=N`: every rank sleeps N ms after each
//!   epoch. Slurm sends a time-limit signal only at its periodic check (every
//!   30 s or so), so a test of that signal needs a fit that is still running
//!   then; the pause makes one without the CPU of a long fit, and changes
//!   none of the fit's arithmetic.
//! - `TEXTSAGA_TEST_COMMIT_PAUSE_MS=N`: an output's owner sleeps N ms
//!   before moving its finished file into place (saying so on stderr), so
//!   that a test can run a second job on the same path, or take the partial
//!   file away, while the first one still holds it.
//! - `TEXTSAGA_TEST_AWAIT_SIGNAL=PLACE[#N]`: a rank reaching PLACE (the N-th
//!   time, default the first) says so on stderr and waits there until a stop
//!   signal arrives (at most [`AWAIT_LIMIT`]), then goes on. PLACE is a
//!   phase's name (every rank, as the phase starts) or `partial` (the rank
//!   that owns an output, once its partial file exists). A test sends the
//!   real signal from outside, to the launcher, once it has read that line:
//!   the command is then certainly still running, at a place the test
//!   chose, with a corpus of a few hundred documents instead of one big
//!   enough to outlast a guessed delay.

/// Sends SIGUSR1 to this process when the environment names this phase and rank.
pub fn signal_if_asked(phase: &str, rank: usize) {
    let Ok(v) = std::env::var("TEXTSAGA_TEST_SIGNAL") else { return };
    if v.split_once(':').is_some_and(|(p, r)| p == phase && r.parse() == Ok(rank)) {
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGUSR1);
    }
}

/// Raises SIGSEGV on the rank the environment names (inside a read).
pub fn crash_if_asked(rank: usize) {
    if std::env::var("TEXTSAGA_TEST_CRASH_READ").ok().and_then(|v| v.parse::<usize>().ok()) == Some(rank) {
        // SAFETY: raising a signal; the armed handler (crash.rs) ends the process.
        unsafe {
            libc::raise(libc::SIGSEGV);
        }
    }
}

/// Panics on the rank the environment names, after `epoch` epochs.
pub fn panic_if_asked(rank: usize, epoch: usize) {
    if std::env::var("TEXTSAGA_TEST_PANIC_RANK").ok().and_then(|v| v.parse::<usize>().ok()) == Some(rank) {
        panic!("injected fault (TEXTSAGA_TEST_PANIC_RANK) after epoch {epoch}");
    }
}

/// Sleeps the pause the environment asks for after an epoch.
pub fn pause_if_asked() {
    if let Some(ms) = std::env::var("TEXTSAGA_TEST_EPOCH_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Sleeps the pause the environment asks for before an output is committed.
pub fn pause_before_commit() {
    if let Some(ms) = std::env::var("TEXTSAGA_TEST_COMMIT_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        // What the test waits for: the file is whole, not yet in place.
        eprintln!("textsaga: test: holding the finished output for {ms} ms");
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// The longest a rank waits at `TEXTSAGA_TEST_AWAIT_SIGNAL`'s place: a test
/// that never sends its signal fails on its own bound, not a hung rank.
pub const AWAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits for a stop signal when the environment names `place` (and this is
/// the N-th time this process reaches it), after saying so on stderr.
pub fn await_signal_if_asked(place: &str, rank: usize) {
    let Ok(v) = std::env::var("TEXTSAGA_TEST_AWAIT_SIGNAL") else { return };
    let (want, nth) = v.split_once('#').map_or((v.as_str(), 1), |(p, n)| (p, n.parse().unwrap_or(1)));
    if want != place || reached(place) != nth {
        return;
    }
    // What the test waits for before it sends the signal.
    // One write, so that the line is not cut by another rank's on a shared pipe.
    let line = format!("textsaga: test: rank {rank} awaits a signal at {place}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    let start = std::time::Instant::now();
    while crate::signals::pending().is_none() && start.elapsed() < AWAIT_LIMIT {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// How many times this process has reached `place`, this time included.
fn reached(place: &str) -> usize {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static COUNTS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);
    let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    let n = counts.get_or_insert_with(HashMap::new).entry(place.to_string()).or_insert(0);
    *n += 1;
    *n
}
