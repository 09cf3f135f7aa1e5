//! Kill and resume: a signal mid-fit makes every rank stop at the same step,
//! write the checkpoint and exit 75; `--resume` then goes on from that step
//! (its log shows where, and it runs only the epochs left) and finishes with
//! the model an uninterrupted fit gives, bit for bit; at another rank count
//! it goes on from the same step too. Checkpoints from another fit are
//! refused clearly.

use crate::common::*;
use std::path::Path;
use std::process::Stdio;


fn coef(p: &Path) -> (Vec<f64>, Vec<f64>) {
    let f = hdf5::File::open(p).unwrap();
    (f.dataset("coef").unwrap().read_raw().unwrap(), f.dataset("intercept").unwrap().read_raw().unwrap())
}

#[test]
fn signal_checkpoint_and_resume_give_the_uninterrupted_model() {
    let dir = scratch("resume");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "60000", "--classes", "10", "--seed", "4", "--quiet"]);
    let (full, part, ck) = (dir.join("full.h5"), dir.join("part.h5"), dir.join("ck.h5"));
    let fit = ["fit", "--data", s(&data), "--max-iter", "30", "--tol", "0", "--quiet"];
    ok(2, &[&fit[..], &["--model", s(&full)]].concat());

    // Signal the launcher (which forwards SIGUSR1 to the ranks) once the
    // first epoch is reported: mid-solver however loaded the machine is. A
    // pause after each epoch (a test hook; no arithmetic changes) keeps the
    // fit from ending before the signal however fast the machine is.
    let mut cmd = launcher(2);
    cmd.env("TEXTSAGA_TEST_EPOCH_PAUSE_MS", "100");
    if is_openmpi() {
        cmd.arg("-x").arg("TEXTSAGA_TEST_EPOCH_PAUSE_MS");
    }
    cmd.arg(BIN)
        .args(&fit[..fit.len() - 1])
        .args(["--model", s(&part), "--checkpoint", s(&ck), "--checkpoint-every", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let _session = own_session(&mut cmd);
    let mut child = spawn(&mut cmd);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let mut stderr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        stderr += &line;
        stderr.push('\n');
        if line.starts_with("epoch ") {
            break;
        }
    }
    unsafe { libc_kill(child.id() as i32, 10) };
    // The rest of stderr on a thread, so that the wait for the launcher has a bound.
    let rest = std::thread::spawn(move || lines.map(|l| l.unwrap() + "\n").collect::<String>());
    let status = wait_bounded(&mut child);
    stderr += &rest.join().unwrap();
    assert_eq!(status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("stopped by a signal at epoch"), "{stderr}");
    assert_eq!(stderr.matches("stopped by a signal").count(), 1, "printed once: {stderr}");
    assert!(ck.exists() && !part.exists());
    let epoch = stopped_epoch(&stderr);
    let saved = dir.join("saved.h5");
    std::fs::copy(&ck, &saved).unwrap();

    // Not --quiet: the log says where it resumed, and shows the epochs it ran.
    let loud = &fit[..fit.len() - 1];
    let r = ok(2, &[loud, &["--model", s(&part), "--checkpoint", s(&ck), "--resume"]].concat());
    assert!(r.stderr.contains(&format!("resuming at epoch {epoch} step ")), "{}", r.stderr);
    assert_eq!(epoch_lines(&r.stderr), 30 - (epoch - 1), "ran only the epochs left: {}", r.stderr);
    assert_eq!(coef(&part), coef(&full), "resumed model differs from the uninterrupted one");

    // At another rank count (a requeued job on another allocation): from the same step.
    std::fs::copy(&saved, &ck).unwrap();
    let r = ok(3, &[loud, &["--model", s(&dir.join("at3.h5")), "--checkpoint", s(&ck), "--resume"]].concat());
    assert!(r.stderr.contains(&format!("resuming at epoch {epoch} step ")) && r.stderr.contains("(saved by 2 ranks, now 3)"), "{}", r.stderr);
    assert_eq!(epoch_lines(&r.stderr), 30 - (epoch - 1), "ran only the epochs left: {}", r.stderr);
    std::fs::copy(&saved, &ck).unwrap();

    // The checkpoint belongs to this fit: other settings, other rank counts and damaged files are refused.
    let other = dir.join("other.h5");
    let r = textsaga(2, &[&fit[..], &["--model", s(&other), "--checkpoint", s(&ck), "--resume", "-C", "2"]].concat());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.error_lines()[0].contains("belongs to another fit (solver:"), "{}", r.stderr);
    let bytes = std::fs::read(&ck).unwrap();
    std::fs::write(&ck, &bytes[..bytes.len() / 3]).unwrap();
    let r = textsaga(2, &[&fit[..], &["--model", s(&other), "--checkpoint", s(&ck), "--resume"]].concat());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.error_lines()[0].contains("cannot resume from checkpoint"), "{}", r.stderr);
    assert_no_output(&dir, "other.h5");
}

/// Without a penalty (`-C inf`, which JSON cannot hold as a number) the
/// checkpoint's fingerprint still matches its own fit: a fit of 3 epochs
/// resumed to 6 is the fit of 6 epochs, bit for bit.
#[test]
fn a_fit_without_penalty_resumes_from_its_checkpoint() {
    let dir = scratch("resume_none");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "400", "--classes", "3", "--vocab-size", "500", "--quiet"]);
    let (full, part, ck) = (dir.join("full.h5"), dir.join("part.h5"), dir.join("ck.h5"));
    let fit = ["fit", "--data", s(&data), "-C", "inf", "--tol", "0", "--checkpoint", s(&ck), "--checkpoint-every", "1"];
    ok(2, &[&fit[..], &["--model", s(&full), "--max-iter", "6", "--quiet"]].concat());
    std::fs::remove_file(&ck).unwrap();
    ok(2, &[&fit[..], &["--model", s(&part), "--max-iter", "3", "--quiet"]].concat());
    let r = ok(2, &[&fit[..], &["--model", s(&part), "--max-iter", "6", "--resume"]].concat());
    assert!(r.stderr.contains("resuming at epoch 4"), "{}", r.stderr);
    assert_eq!(epoch_lines(&r.stderr), 3, "ran only epochs 4-6: {}", r.stderr);
    assert_eq!(coef(&part), coef(&full), "resumed model differs from the uninterrupted one");
}

/// `--checkpoint-every` a time: a short fit under the default (10m) saves
/// nothing; `0s` saves after every epoch, as `1` does.
#[test]
fn checkpoints_follow_a_time_cadence() {
    let dir = scratch("cadence");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "300", "--classes", "3", "--vocab-size", "400", "--quiet"]);
    let (ck, model) = (dir.join("ck.h5"), dir.join("m.h5"));
    let fit = ["fit", "--data", s(&data), "--max-iter", "4", "--tol", "0", "--quiet", "--model", s(&model), "--checkpoint", s(&ck)];
    ok(2, &fit);
    assert!(!ck.exists(), "a fit shorter than the default cadence saved a checkpoint");
    ok(2, &[&fit[..], &["--checkpoint-every", "0s"]].concat());
    let f = hdf5::File::open(&ck).unwrap();
    assert_eq!(f.attr("solver").unwrap().read_scalar::<hdf5::types::VarLenUnicode>().unwrap().as_str(), "saga");
    let r = textsaga(1, &[&fit[..], &["--checkpoint-every", "5x"]].concat());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("neither a number of epochs"), "{}", r.stderr);
}

/// The epoch (1-based) a "stopped by a signal at epoch E step S" line names.
fn stopped_epoch(stderr: &str) -> usize {
    let at = stderr.find("stopped by a signal at epoch ").expect("the stop line") + "stopped by a signal at epoch ".len();
    stderr[at..].split_whitespace().next().unwrap().parse().unwrap()
}

/// The epochs a fit's log reports (one line each).
fn epoch_lines(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.starts_with("epoch ")).count()
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// An L-BFGS fit stopped at 3 ranks resumes at 2 (a requeued job on a
/// smaller allocation) after the iteration it stopped at, and reaches the
/// optimum the uninterrupted fit reaches.
#[test]
fn lbfgs_resumes_at_another_rank_count() {
    let dir = scratch("resume-lbfgs");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "2000", "--classes", "4", "--seed", "9", "--quiet"]);
    let (full, part, ck) = (dir.join("full.h5"), dir.join("part.h5"), dir.join("ck.h5"));
    let fit = ["fit", "--data", s(&data), "--solver", "lbfgs", "--tol", "1e-9", "--max-iter", "300", "--quiet"];
    let objective = |m: &Path| -> f64 { hdf5::File::open(m).unwrap().attr("objective").unwrap().read_scalar().unwrap() };
    ok(3, &[&fit[..], &["--model", s(&full)]].concat());

    // A signal after iteration 20: every rank stops at the next, checkpointed. (Stopped
    // half-way, the resumed fit's iterations are far fewer than a whole fit's, whatever the
    // rounding of another rank count does to the last few.)
    let loud = &fit[..fit.len() - 1];
    let r = textsaga_env(3, &[loud, &["--model", s(&part), "--checkpoint", s(&ck)]].concat(), &[("TEXTSAGA_TEST_SIGNAL", "epoch20:1")]);
    assert_eq!(r.code, 75, "{}", r.stderr);
    assert!(ck.exists() && !part.exists());
    let at = stopped_epoch(&r.stderr);
    assert!(at > 20, "stopped after iteration 20: {}", r.stderr);
    let r = ok(2, &[loud, &["--model", s(&part), "--checkpoint", s(&ck), "--resume"]].concat());
    assert!(r.stderr.contains(&format!("resuming at epoch {at} step 0 (saved by 3 ranks, now 2)")), "{}", r.stderr);
    let full_iters: usize = hdf5::File::open(&full).unwrap().attr("n_iter").unwrap().read_scalar::<i64>().unwrap() as usize;
    assert!(epoch_lines(&r.stderr) + 10 < full_iters, "ran {} iterations of {full_iters}: {}", epoch_lines(&r.stderr), r.stderr);
    let (a, b) = (objective(&part), objective(&full));
    assert!((a - b).abs() <= 1e-9 * b, "resumed at 2 ranks: objective {a} vs {b} uninterrupted at 3");

    // A SAGA fit's checkpoint is not L-BFGS's.
    let r = textsaga(2, &[&["fit", "--data", s(&data), "--solver", "saga", "--quiet"][..], &["--model", s(&dir.join("o.h5")), "--checkpoint", s(&ck), "--resume"]].concat());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.error_lines()[0].contains("belongs to another fit"), "{}", r.stderr);
}

/// A cross-validation path saved after every epoch: each fold has its own
/// samples and split of the features, each C starts again at epoch 0, and
/// the refit is over all the data, so their saves cannot update one file in
/// place; the path ends with the model of a path without checkpoints, and
/// its last checkpoint (the refit's) resumes to the same bits.
#[test]
fn a_path_checkpointed_every_epoch_ends_with_the_same_model() {
    let dir = scratch("cv-every");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "300", "--classes", "3", "--seed", "6", "--quiet"]);
    let (plain, saved, again, ck) = (dir.join("plain.h5"), dir.join("saved.h5"), dir.join("again.h5"), dir.join("ck.h5"));
    let fit = ["fit", "--data", s(&data), "--Cs", "0.1,1", "--cv", "2", "--tol", "1e-5", "--max-iter", "30", "--quiet"];
    ok(2, &[&fit[..], &["--model", s(&plain)]].concat());
    ok(2, &[&fit[..], &["--model", s(&saved), "--checkpoint", s(&ck), "--checkpoint-every", "1"]].concat());
    let read = |p: &Path, name: &str| hdf5::File::open(p).unwrap().dataset(name).unwrap().read_raw::<f64>().unwrap();
    assert_eq!(read(&saved, "coef"), read(&plain, "coef"));
    assert_eq!(read(&saved, "scores"), read(&plain, "scores"));
    ok(2, &[&fit[..], &["--model", s(&again), "--checkpoint", s(&ck), "--resume"]].concat());
    assert_eq!(read(&again, "coef"), read(&plain, "coef"));
}
