//! Signals from outside the job (issue 32): SIGTERM, SIGUSR1 and SIGUSR2
//! sent to `mpirun` itself, as a user, a batch shell or a scheduler does, in
//! every command at 2 ranks. Each case checks the launcher's exit code, one
//! error line naming the signal, every rank gone, no partial file, the
//! output that was already at the destination unchanged byte for byte, and
//! the inputs unchanged.
//!
//! What Open MPI 4.1's mpirun does with them (measured here; docs/signals.md):
//! SIGUSR1 and SIGUSR2 are forwarded to every rank at once, and mpirun exits
//! with the ranks' code. SIGTERM is not forwarded: mpirun ends the job itself,
//! sending SIGCONT, then SIGTERM `odls_base_sigkill_timeout` seconds later
//! (1 by default), then SIGKILL as long again after that, and exits 1
//! whatever the ranks did. At 0 (the suite's other launches) the ranks are
//! killed without a SIGTERM at all, so the SIGTERM cases here set
//! [`TERM_GRACE`] (at 1 s a loaded machine killed a rank before it printed).
//!
//! The command must still be running when the signal comes, with no guessed
//! delay: each launch sets `TEXTSAGA_TEST_AWAIT_SIGNAL` (see `faults`), and
//! the test sends the signal once the rank says it waits; every wait is
//! bounded. Each case has a folder of its own, so a test launches its cases
//! side by side: one setup (a 300-document corpus, a 3-epoch model), then 7
//! launches of well under a second of CPU each, a few seconds of wall time
//! (SIGTERM's: mpirun's grace, [`TERM_GRACE`]).

use crate::common::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const RANKS: usize = 2;
/// What a previous run left at each destination: a stopped run must not touch it.
const PREVIOUS: &[u8] = b"the previous run's output\n";

/// A launch whose stderr the test reads line by line while it runs.
struct Signalled {
    child: Child,
    lines: Receiver<String>,
    stderr: String,
    _session: Session,
}

impl Signalled {
    fn start(ranks: usize, args: &[&str], env: &[(&str, &str)]) -> Signalled {
        let mut cmd = launcher(ranks);
        for (k, v) in env {
            cmd.env(k, v);
            if is_openmpi() && k.starts_with("TEXTSAGA_") {
                cmd.arg("-x").arg(k);
            }
        }
        cmd.arg(BIN).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let session = own_session(&mut cmd);
        let mut child = spawn(&mut cmd);
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Signalled { child, lines, stderr: String::new(), _session: session }
    }

    /// Reads stderr until a line contains `needle`; fails the test after
    /// [`HANG_LIMIT`], or when the launch ends first.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + HANG_LIMIT;
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr += &line;
                    self.stderr.push('\n');
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("no '{needle}' within {HANG_LIMIT:?}:\n{}", self.stderr);
                }
                Err(RecvTimeoutError::Disconnected) => panic!("the launch ended before '{needle}':\n{}", self.stderr),
            }
        }
    }

    /// Sends `signal` to the launcher (not to the ranks).
    fn send(&self, signal: i32) {
        // SAFETY: kill(2) on the launcher this test started and has not yet waited for.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0, "kill");
    }

    /// Waits (bounded) for the launcher and the end of its stderr.
    fn finish(mut self) -> Run {
        let start = Instant::now();
        let status = wait_bounded(&mut self.child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.stderr += &line;
            self.stderr.push('\n');
        }
        Run { code: status.code().unwrap_or(-1), stdout: String::new(), stderr: self.stderr, elapsed: start.elapsed() }
    }
}

/// mpirun's grace before its SIGTERM and before its SIGKILL, in seconds.
const TERM_GRACE: &str = "4";

/// One command to stop: where it waits for the signal, its output (alone in
/// its folder), its inputs.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// A `TEXTSAGA_TEST_AWAIT_SIGNAL` place (see `faults`).
    place: &'static str,
    output: PathBuf,
    inputs: Vec<PathBuf>,
    /// The run can resume (`fit --checkpoint`): a stop exits 75.
    resumable: bool,
}

/// The inputs every case reads: a corpus, a model fitted on it, JSON Lines.
struct Inputs {
    dir: Scratch,
    corpus: PathBuf,
    model: PathBuf,
    jsonl: PathBuf,
}

fn inputs(name: &str) -> Inputs {
    let dir = scratch(name);
    let (corpus, model, jsonl) = (dir.join("c.h5"), dir.join("m.h5"), dir.join("in.jsonl"));
    ok(1, &["generate", "-o", s(&corpus), "--docs", "300", "--classes", "3", "--seed", "5", "--quiet"]);
    ok(RANKS, &["fit", "--data", s(&corpus), "--model", s(&model), "--max-iter", "3", "--quiet"]);
    let lines: String = (0..300).map(|i| format!("{{\"text\": \"word{} other{} more\", \"label\": {}}}\n", i % 17, i % 5, i % 3)).collect();
    std::fs::write(&jsonl, lines).unwrap();
    Inputs { dir, corpus, model, jsonl }
}

/// Every command, stopped where a stop is hardest: with its output's
/// partial file already there where it has one.
fn every_command(i: &Inputs) -> Vec<Case> {
    let (d, m) = (s(&i.corpus).to_string(), s(&i.model).to_string());
    let out = |name: &str| {
        let folder = i.dir.join(name.replace('.', "-"));
        std::fs::create_dir_all(&folder).unwrap();
        folder.join(name)
    };
    let case = |name, args: &[&str], place, output: PathBuf, inputs: &[&Path], resumable| {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.extend(["-q".into()]);
        Case { name, args, place, output, inputs: inputs.iter().map(|p| p.to_path_buf()).collect(), resumable }
    };
    let (corpus, model) = (i.corpus.as_path(), i.model.as_path());
    vec![
        case("prepare", &["prepare", s(&i.jsonl), "-o", s(&out("prepared.h5"))], "partial", out("prepared.h5"), &[&i.jsonl], false),
        case("generate", &["generate", "-o", s(&out("generated.h5")), "--docs", "300"], "partial", out("generated.h5"), &[], false),
        case("vectorize", &["vectorize", "--data", &d, "-o", s(&out("features.h5"))], "partial", out("features.h5"), &[corpus], false),
        case("fit", &["fit", "--data", &d, "--model", s(&out("model.h5")), "--max-iter", "3"], "fit", out("model.h5"), &[corpus], false),
        case(
            "fit --checkpoint",
            &["fit", "--data", &d, "--model", s(&out("resumable.h5")), "--max-iter", "3", "--checkpoint", s(&out("resumable.h5").with_file_name("ck.h5"))],
            "fit",
            out("resumable.h5"),
            &[corpus],
            true,
        ),
        case("predict", &["predict", "--model", &m, "--data", &d, "-o", s(&out("pred.csv"))], "partial", out("pred.csv"), &[corpus, model], false),
        case("evaluate", &["evaluate", "--model", &m, "--data", &d, "--metrics", s(&out("eval.json"))], "transform", out("eval.json"), &[corpus, model], false),
    ]
}

/// What mpirun exits with when its job was stopped by `signal` (see the module's note).
fn launcher_code(signal: i32, resumable: bool) -> i32 {
    match (signal, resumable) {
        (libc::SIGTERM, _) if is_openmpi() => 1,
        (_, true) => 75,
        (sig, false) => 128 + sig,
    }
}

/// SIGTERM reaches the ranks only if mpirun waits before its SIGKILL.
fn launcher_env(signal: i32) -> Vec<(&'static str, &'static str)> {
    if signal == libc::SIGTERM { vec![("OMPI_MCA_odls_base_sigkill_timeout", TERM_GRACE)] } else { vec![] }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        _ => "SIGUSR2",
    }
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.contains("partial")).collect()
}

/// Runs `case`, sends `signal` to the launcher where the case waits, and checks the outcome.
fn stop(case: &Case, signal: i32) -> Run {
    let dir = case.output.parent().unwrap();
    let what = format!("{} by {}", case.name, signal_name(signal));
    std::fs::write(&case.output, PREVIOUS).unwrap();
    let before: Vec<Vec<u8>> = case.inputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut env = launcher_env(signal);
    env.push(("TEXTSAGA_TEST_AWAIT_SIGNAL", case.place));
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let mut job = Signalled::start(RANKS, &args, &env);
    job.wait_for(&format!("awaits a signal at {}", case.place));
    job.send(signal);
    let r = job.finish();
    assert_eq!(r.code, launcher_code(signal, case.resumable), "{what}: exit code\n{}", r.stderr);
    let lines = r.error_lines();
    assert_eq!(lines.len(), 1, "{what}: one error line\n{}", r.stderr);
    assert!(lines[0].contains(&format!("stopped by {}", signal_name(signal))) || lines[0].contains("stopped by a signal"), "{what}: {}", lines[0]);
    assert_no_rank_left(&format!("{}/", s(dir)));
    assert!(std::fs::read(&case.output).unwrap() == PREVIOUS, "{what}: the previous output changed");
    for (p, b) in case.inputs.iter().zip(&before) {
        assert!(std::fs::read(p).unwrap() == *b, "{what}: input {} changed", p.display());
    }
    assert_eq!(partial_files(dir), Vec::<String>::new(), "{what}: partial files left");
    r
}

fn every_command_stops_on(signal: i32, name: &str) {
    let i = inputs(name);
    let cases = every_command(&i);
    std::thread::scope(|scope| {
        let runs: Vec<_> = cases.iter().map(|case| scope.spawn(move || drop(stop(case, signal)))).collect();
        let failed: Vec<&str> = cases.iter().zip(runs).filter_map(|(c, r)| r.join().is_err().then_some(c.name)).collect();
        assert!(failed.is_empty(), "{failed:?} failed (see above)");
    });
}

#[test]
fn sigterm_to_mpirun_stops_every_command_cleanly() {
    every_command_stops_on(libc::SIGTERM, "term");
}

#[test]
fn sigusr1_to_mpirun_stops_every_command_cleanly() {
    every_command_stops_on(libc::SIGUSR1, "usr1");
}

#[test]
fn sigusr2_to_mpirun_stops_every_command_cleanly() {
    every_command_stops_on(libc::SIGUSR2, "usr2");
}

/// The fit of the periodic-checkpoint cases: a checkpoint after every epoch.
fn periodic_fit(i: &Inputs, model: &Path, ck: &Path) -> Vec<String> {
    let args = ["fit", "--data", s(&i.corpus), "--model", s(model), "--max-iter", "12", "--tol", "0", "--checkpoint", s(ck), "--checkpoint-every", "1"];
    args.iter().map(|a| a.to_string()).collect()
}

/// Resumes a stopped periodic fit: it says where it resumed (after the
/// first epoch: not a restart) and ends with the uninterrupted fit's model.
fn resume_to(i: &Inputs, model: &Path, ck: &Path, reference: &Path, what: &str) {
    let mut args = periodic_fit(i, model, ck);
    args.push("--resume".into());
    let r = ok(RANKS, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let at: Option<usize> = r.stderr.lines().find_map(|l| l.split("resuming at epoch ").nth(1)?.split_whitespace().next()?.parse().ok());
    assert!(at.is_some_and(|e| e >= 2), "{what}: the resume did not start from the checkpoint:\n{}", r.stderr);
    let coef = |p: &Path| hdf5::File::open(p).unwrap().dataset("coef").unwrap().read_raw::<f64>().unwrap();
    assert!(coef(model) == coef(reference), "{what}: the resumed model differs from the uninterrupted one");
}

/// Stops a periodic fit (`--checkpoint-every 1`) by `signal` sent to mpirun
/// once `needle` is on stderr; `place`, if any, holds the ranks there first.
/// The model's destination keeps the previous output; the checkpoint is the
/// previous one or a new one, whole; the fit resumes from it.
fn stop_periodic(i: &Inputs, signal: i32, place: Option<&str>, needle: &str, reference: &Path) {
    let what = format!("a periodic fit stopped by {} at '{needle}'", signal_name(signal));
    let folder = i.dir.join(format!("periodic-{signal}"));
    std::fs::create_dir_all(&folder).unwrap();
    let (model, ck) = (folder.join("model.h5"), folder.join("ck.h5"));
    std::fs::write(&model, PREVIOUS).unwrap();
    let mut env = launcher_env(signal);
    if let Some(place) = place {
        env.push(("TEXTSAGA_TEST_AWAIT_SIGNAL", place));
    }
    let args = periodic_fit(i, &model, &ck);
    let mut job = Signalled::start(RANKS, &args.iter().map(String::as_str).collect::<Vec<_>>(), &env);
    job.wait_for(needle);
    let previous = std::fs::read(&ck).ok();
    job.send(signal);
    let r = job.finish();
    assert_eq!(r.code, launcher_code(signal, true), "{what}: exit code\n{}", r.stderr);
    assert_eq!(r.error_lines().len(), 1, "{what}: one error line\n{}", r.stderr);
    assert!(std::fs::read(&model).unwrap() == PREVIOUS, "{what}: the previous model changed");
    assert_eq!(partial_files(&folder), Vec::<String>::new(), "{what}: partial files left");
    assert_no_rank_left(&format!("{}/", s(&folder)));
    if place.is_some() {
        assert!(previous.is_some(), "{what}: the first checkpoint was not in place");
    }
    resume_to(i, &model, &ck, reference, &what);
}

/// The periodic-checkpoint phase: SIGUSR1 and SIGTERM while the second
/// checkpoint's partial file is being written (the first one in place),
/// SIGUSR2 at whatever the fit is doing after its second epoch, checkpoint
/// writes included (with a checkpoint every epoch, most of its time; 10
/// epochs are left). Three stops and three resumes of a 12-epoch fit, side
/// by side: about 8 s (SIGTERM's grace included).
#[test]
fn a_signal_in_the_periodic_checkpoint_phase_leaves_a_whole_checkpoint() {
    let i = inputs("periodic");
    let reference = i.dir.join("reference.h5");
    let args = ["fit", "--data", s(&i.corpus), "--model", s(&reference), "--max-iter", "12", "--tol", "0", "--quiet"];
    ok(RANKS, &args);
    let held = "awaits a signal at partial";
    let cases = [(libc::SIGUSR1, Some("partial#2"), held), (libc::SIGTERM, Some("partial#2"), held), (libc::SIGUSR2, None, "epoch    2 ")];
    std::thread::scope(|scope| {
        let (i, reference) = (&i, &reference);
        let runs: Vec<_> = cases.iter().map(|&(sig, place, needle)| scope.spawn(move || stop_periodic(i, sig, place, needle, reference))).collect();
        assert!(runs.into_iter().all(|r| r.join().is_ok()), "a periodic case failed (see above)");
    });
}
