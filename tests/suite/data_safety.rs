//! Data is never lost, and every phase stops cleanly (issue 12), at 3 ranks
//! under a real launcher: each case asserts the exit code, one error line
//! naming the argument or cause, every rank gone within 10 s, no output or
//! temporary file left, and every input file unchanged byte for byte.

use crate::common::*;
use std::path::{Path, PathBuf};

const RANKS: usize = 3;

/// A corpus, a model fitted on it, and a JSON Lines file, in a fresh folder.
fn setup(name: &str) -> (Scratch, PathBuf, PathBuf, PathBuf) {
    let dir = scratch(name);
    let (data, model, jsonl) = (dir.join("c.h5"), dir.join("m.h5"), dir.join("x.jsonl"));
    ok(1, &["generate", "-o", s(&data), "--docs", "600", "--classes", "3", "--seed", "4", "--quiet"]);
    ok(RANKS, &["fit", "--data", s(&data), "--model", s(&model), "--max-iter", "3", "--quiet"]);
    std::fs::write(&jsonl, "{\"text\": \"a b\", \"label\": 1}\n").unwrap();
    (dir, data, model, jsonl)
}

/// Runs a case that must fail and leave everything as it was.
fn refused(dir: &Path, args: &[&str], env: &[(&str, &str)], code: i32, needle: &str, inputs: &[&Path], absent: &[&str]) -> Run {
    let before: Vec<Vec<u8>> = inputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let r = textsaga_env(RANKS, args, env);
    assert_eq!(r.code, code, "{args:?} {env:?}: exit code\n{}", r.stderr);
    let lines = r.error_lines();
    assert_eq!(lines.len(), 1, "{args:?} {env:?}: one error line\n{}", r.stderr);
    assert!(lines[0].contains(needle), "{args:?} {env:?}: wanted '{needle}' in\n{}", lines[0]);
    assert_no_rank_left(&format!("{}/", s(dir)));
    for (p, b) in inputs.iter().zip(&before) {
        assert!(std::fs::read(p).unwrap() == *b, "{args:?}: input {} changed", p.display());
    }
    for name in absent {
        assert!(!dir.join(name).exists(), "{args:?}: {name} was left behind");
    }
    let partial = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().contains("partial"));
    assert!(!partial, "{args:?}: a partial file was left");
    r
}

#[test]
fn an_output_over_an_input_is_refused_before_any_work() {
    let (dir, data, model, jsonl) = setup("same-file");
    let (link, hard) = (dir.join("link.h5"), dir.join("hard.h5"));
    std::os::unix::fs::symlink(&data, &link).unwrap();
    std::fs::hard_link(&data, &hard).unwrap();
    let new = dir.join("new.h5");
    let (d, m, new) = (s(&data), s(&model), s(&new));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["vectorize", "--data", d, "-o", d], "-o '"),
        (vec!["fit", "--data", d, "--model", s(&link)], "--model '"),
        (vec!["predict", "--model", m, "--data", d, "-o", s(&hard)], "-o '"),
        (vec!["predict", "--model", m, "--data", d, "-o", m], "same file as --model"),
        (vec!["fit", "--data", d, "--model", new, "--metrics", d], "--metrics '"),
        (vec!["fit", "--data", d, "--model", new, "--checkpoint", s(&hard)], "--checkpoint '"),
        (vec!["fit", "--data", d, "--model", m, "--warm-start", m], "same file as --warm-start"),
        (vec!["evaluate", "--model", m, "--data", d], ""),
        (vec!["prepare", s(&jsonl), "-o", s(&jsonl)], "-o '"),
        (vec!["vectorize", "--data", d, "-o", new, "--metrics", new], "give each output its own path"),
    ];
    for (args, needle) in cases {
        if needle.is_empty() {
            // evaluate writes nothing: nothing to refuse.
            assert_eq!(textsaga(RANKS, &args).code, 0);
            continue;
        }
        let r = refused(&dir, &args, &[], 1, needle, &[&data, &model, &jsonl], &["new.h5"]);
        assert!(r.error_lines()[0].contains("same file"), "{}", r.stderr);
    }
}

/// A signal (SIGUSR1, raised by one rank as a phase starts) stops every
/// rank at the next agreement point: nothing written, 128 + 10 without a
/// checkpoint to resume from.
#[test]
fn a_signal_in_any_phase_stops_cleanly() {
    let (dir, data, model, _) = setup("signals");
    let out = dir.join("out.h5");
    let (d, m, out) = (s(&data), s(&model), s(&out));
    let inputs = [data.as_path(), model.as_path()];
    for phase in ["read", "tokenize", "vocabulary_merge", "transform", "write"] {
        for rank in ["0", "2"] {
            let env = [("TEXTSAGA_TEST_SIGNAL", format!("{phase}:{rank}"))];
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            refused(&dir, &["vectorize", "--data", d, "-o", out, "--quiet"], &env, 138, "stopped by SIGUSR1", &inputs, &["out.h5"]);
            refused(&dir, &["fit", "--data", d, "--model", out, "--quiet"], &env, 138, "stopped by SIGUSR1", &inputs, &["out.h5"]);
        }
    }
    for phase in ["read", "write"] {
        let env = [("TEXTSAGA_TEST_SIGNAL", format!("{phase}:1"))];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        refused(&dir, &["predict", "--model", m, "--data", d, "-o", out, "--proba"], &env, 138, "stopped by SIGUSR1", &inputs, &["out.h5"]);
    }
    let env = [("TEXTSAGA_TEST_SIGNAL", "epoch:1")];
    refused(&dir, &["fit", "--data", d, "--model", out, "--max-iter", "4"], &env, 138, "no output written", &inputs, &["out.h5"]);
}

/// With a checkpoint path a stop exits 75 in every phase, so a requeued job
/// runs again; a stop after an epoch writes the checkpoint, and resuming
/// gives the model of an uninterrupted fit, bit for bit.
#[test]
fn with_a_checkpoint_every_stop_exits_75_and_resumes() {
    let (dir, data, _, _) = setup("signals-checkpoint");
    let (out, ck) = (dir.join("out.h5"), dir.join("ck.h5"));
    let (d, out, ck) = (s(&data), s(&out), s(&ck));
    let fit = ["fit", "--data", d, "--model", out, "--max-iter", "4", "--checkpoint", ck, "--quiet"];
    for phase in ["read", "tokenize", "vocabulary_merge", "fit"] {
        let env = [("TEXTSAGA_TEST_SIGNAL", format!("{phase}:2"))];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        refused(&dir, &fit, &env, 75, "run again with --resume", &[&data], &["out.h5", "ck.h5"]);
    }
    refused(&dir, &fit, &[("TEXTSAGA_TEST_SIGNAL", "epoch:2")], 75, "checkpoint written", &[&data], &["out.h5"]);
    assert!(dir.join("ck.h5").exists(), "the checkpoint is written before stopping");
    let mut resume = fit.to_vec();
    resume.push("--resume");
    ok(RANKS, &resume);
    let whole = dir.join("whole.h5");
    ok(RANKS, &["fit", "--data", d, "--model", s(&whole), "--max-iter", "4", "--quiet"]);
    let coef = |p: &Path| hdf5::File::open(p).unwrap().dataset("coef").unwrap().read_raw::<f64>().unwrap();
    assert_eq!(coef(&dir.join("out.h5")), coef(&whole));
}

/// Inputs a user may have that cannot be used as they are: one line saying
/// what is wrong and where, nothing written, inputs unchanged.
#[test]
fn unusable_inputs_say_what_is_wrong() {
    let dir = scratch("inputs");
    let texts: Vec<hdf5::types::VarLenUnicode> = ["a b", "c d", "e f", "g h"].iter().map(|t| t.parse().unwrap()).collect();
    let corpus = |name: &str, labels: &dyn Fn(&hdf5::File)| -> PathBuf {
        let p = dir.join(name);
        write_h5(&p, |f| {
            f.new_dataset_builder().with_data(&texts).create("text").unwrap();
            labels(f);
        });
        p
    };
    let fraction = corpus("fraction.h5", &|f| drop(f.new_dataset_builder().with_data(&[0.0, 1.0, 1.5, 0.0]).create("label").unwrap()));
    let nan = corpus("nan.h5", &|f| drop(f.new_dataset_builder().with_data(&[0.0, 1.0, 1.0, f64::NAN]).create("label").unwrap()));
    let two_d = corpus("2d.h5", &|f| drop(f.new_dataset_builder().with_data(&ndarray::arr2(&[[0i64], [1], [1], [0]])).create("label").unwrap()));
    let none = corpus("none.h5", &|_| {});
    let out = dir.join("out.h5");
    let fit = |data: &Path| vec!["fit".to_string(), "--data".into(), s(data).into(), "--model".into(), s(&out).into()];
    let cases: Vec<(Vec<String>, &str, &Path)> = vec![
        (fit(&fraction), "the label of document 2 is 1.5, not a whole number", &fraction),
        (fit(&nan), "the label of document 3 is NaN", &nan),
        (fit(&two_d), "has shape [4, 1]; labels must be 1-D", &two_d),
        (fit(&none), "fit and evaluate need labels", &none),
    ];
    for (args, needle, input) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&dir, &args, &[], 1, needle, &[input], &["out.h5"]);
    }
    let mixed = dir.join("mixed.jsonl");
    std::fs::write(&mixed, "{\"text\": \"a\"}\n{\"text\": \"b\", \"label\": 1}\n").unwrap();
    let damaged = dir.join("damaged.parquet");
    std::fs::write(&damaged, b"PAR1 this is not a parquet file PAR1").unwrap();
    let bad_gz = dir.join("bad.jsonl.gz");
    std::fs::write(&bad_gz, b"not gzip at all").unwrap();
    for (input, needle) in [(&mixed, "line 2: has a 'label' field but the file's first record has none"), (&damaged, "is not a Parquet file"), (&bad_gz, "bad.jsonl.gz")] {
        refused(&dir, &["prepare", s(input), "-o", s(&out)], &[], 1, needle, &[input], &["out.h5"]);
    }
    // A corpus cut short (a copy that did not finish): one line naming it, at every rank.
    let whole = dir.join("whole.h5");
    ok(1, &["generate", "-o", s(&whole), "--docs", "300", "--classes", "2", "--quiet"]);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join("cut.h5");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    refused(&dir, &["vectorize", "--data", s(&cut), "-o", s(&out)], &[], 1, "cut.h5", &[&cut], &["out.h5"]);
}

/// A cross-validation path (`--Cs --cv`) stopped in its first fit writes a
/// checkpoint holding the path's position; resuming ends with the model and
/// fold scores of an uninterrupted run, bit for bit.
#[test]
fn a_stopped_cross_validation_path_resumes_bit_for_bit() {
    let dir = scratch("cv-resume");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "300", "--classes", "3", "--seed", "6", "--quiet"]);
    let (out, ck, whole) = (dir.join("out.h5"), dir.join("ck.h5"), dir.join("whole.h5"));
    let fit = |model: &Path| -> Vec<String> {
        ["fit", "--data", s(&data), "--model", s(model), "--Cs", "0.1,1,10", "--cv", "3", "--tol", "1e-5", "--quiet"].iter().map(|a| a.to_string()).collect()
    };
    let mut stopped = fit(&out);
    stopped.extend(["--checkpoint".to_string(), s(&ck).to_string()]);
    let args: Vec<&str> = stopped.iter().map(String::as_str).collect();
    refused(&dir, &args, &[("TEXTSAGA_TEST_SIGNAL", "epoch:1")], 75, "checkpoint written", &[&data], &["out.h5"]);
    let mut resume = args.clone();
    resume.push("--resume");
    ok(RANKS, &resume);
    let args = fit(&whole);
    ok(RANKS, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let read = |p: &Path, name: &str| hdf5::File::open(p).unwrap().dataset(name).unwrap().read_raw::<f64>().unwrap();
    assert_eq!(read(&out, "coef"), read(&whole, "coef"));
    assert_eq!(read(&out, "scores"), read(&whole, "scores"));
}

/// The HDF5 library can crash (SIGSEGV) on a damaged file: the rank prints
/// one line naming the file and exits 1, and the launcher ends the others.
#[test]
fn a_crash_while_reading_names_the_file() {
    let dir = scratch("crash");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "200", "--classes", "2", "--quiet"]);
    let out = dir.join("out.h5");
    let r = refused(&dir, &["vectorize", "--data", s(&data), "-o", s(&out)], &[("TEXTSAGA_TEST_CRASH_READ", "1")], 1, "the HDF5 library crashed reading", &[&data], &["out.h5"]);
    assert!(r.error_lines()[0].contains("c.h5': the file is damaged"), "{}", r.stderr);
}

/// A job started in the background, held just before it moves its output
/// into place; its stderr is read up to the line saying it is held.
struct Held {
    child: std::process::Child,
    stderr: std::io::BufReader<std::process::ChildStderr>,
    _session: Session,
}

impl Held {
    fn start(ranks: usize, args: &[&str]) -> Held {
        use std::io::BufRead;
        let mut cmd = launcher(ranks);
        cmd.env("TEXTSAGA_TEST_COMMIT_PAUSE_MS", "2000");
        if is_openmpi() {
            cmd.arg("-x").arg("TEXTSAGA_TEST_COMMIT_PAUSE_MS");
        }
        cmd.arg(BIN).args(args).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        let session = own_session(&mut cmd);
        let mut child = spawn(&mut cmd);
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "{args:?} ended before its commit:\n{seen}");
            if line.contains("holding the finished output") {
                break;
            }
            seen.push_str(&line);
        }
        Held { child, stderr, _session: session }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Its exit code and the error lines it printed.
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let status = wait_bounded(&mut self.child);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).unwrap();
        (status.code(), rest.lines().filter(|l| l.starts_with("textsaga: error")).map(String::from).collect())
    }
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| s(p).contains("textsaga-partial")).collect()
}

/// Two jobs writing one output path (issue 31): the first, at 2 ranks, is
/// held with its file written but not yet in place while the second runs
/// start to end. Both succeed, each output lands whole, the later commit's
/// last, and no partial file is left. Then a job whose partial file is taken
/// away before its commit fails with one line and leaves the previous
/// output as it was (nothing is removed before the rename).
#[test]
fn two_jobs_on_one_output_path_both_succeed() {
    let dir = scratch("one-path");
    let (data, out) = (dir.join("c.h5"), dir.join("out.h5"));
    ok(1, &["generate", "-o", s(&data), "--docs", "3000", "--classes", "3", "--seed", "2", "--quiet"]);
    let (d, o) = (s(&data), s(&out));
    let mut first = Held::start(2, &["vectorize", "--data", d, "-o", o, "--quiet"]);
    assert_eq!(partial_files(&dir).len(), 1, "the first job's partial file");
    ok(1, &["vectorize", "--data", d, "-o", o, "--max-features", "5", "--quiet"]);
    if first.running() {
        assert_eq!(read_matrix(&out).vocabulary.map(|v| v.len()), Some(5), "the second job's output is in place");
    }
    let (code, errors) = first.finish();
    assert_eq!((code, errors.len()), (Some(0), 0), "the first job: {errors:?}");
    let m = read_matrix(&out);
    assert_eq!(m.indptr.len(), 3001, "a whole matrix");
    assert!(m.vocabulary.unwrap().len() > 5, "the first job's output, committed last");
    assert_no_output(&dir, "none");

    let before = std::fs::read(&out).unwrap();
    let job = Held::start(1, &["vectorize", "--data", d, "-o", o, "--max-features", "7", "--quiet"]);
    let partial = partial_files(&dir);
    assert_eq!(partial.len(), 1);
    std::fs::remove_file(&partial[0]).unwrap();
    let (code, errors) = job.finish();
    assert_eq!(code, Some(1));
    assert!(errors.len() == 1 && errors[0].contains("cannot move the finished file to"), "{errors:?}");
    assert!(std::fs::read(&out).unwrap() == before, "the previous output changed");
    assert_no_output(&dir, "none");
}
