//! Helpers for tests that launch the real binary under a real MPI launcher.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_textsaga");

/// A launch that must finish within this bound, or the test fails as hung.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

fn mpirun() -> String {
    std::env::var("TEXTSAGA_MPIRUN").unwrap_or_else(|_| "mpirun".into())
}

/// Asked of `mpirun --version` once per test process, not once per launch.
pub fn is_openmpi() -> bool {
    static OPENMPI: OnceLock<bool> = OnceLock::new();
    *OPENMPI.get_or_init(|| {
        let mut cmd = Command::new(mpirun());
        cmd.arg("--version").stdout(Stdio::piped());
        let out = spawn(&mut cmd).wait_with_output().expect("mpirun --version");
        let s = String::from_utf8_lossy(&out.stdout);
        s.contains("Open MPI") || s.contains("OpenRTE")
    })
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The lines that report an error.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("textsaga: error")).collect()
    }
}

/// The launcher for `ranks` ranks (`$TEXTSAGA_MPIRUN`, default mpirun; Open MPI
/// oversubscribed and allowed to run as root, MPICH as it is).
pub fn launcher(ranks: usize) -> Command {
    let mut cmd = Command::new(mpirun());
    if is_openmpi() {
        cmd.arg("--oversubscribe");
        cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        // One machine: shared memory only, no probe for InfiniBand/UCX (0.2 s a launch).
        cmd.env("OMPI_MCA_btl", "self,vader").env("OMPI_MCA_pml", "ob1");
        // After a rank exits non-zero, mpirun gives the others this long to
        // die before SIGKILL (1 s by default, 1-2 s of every failing launch,
        // and most launches here fail on purpose). At 0 the tests also show
        // that no clean-up depends on that grace.
        cmd.env("OMPI_MCA_odls_base_sigkill_timeout", "0");
    }
    cmd.arg("-n").arg(ranks.to_string());
    cmd
}

/// Runs `textsaga args` on `ranks` ranks through the launcher.
pub fn textsaga(ranks: usize, args: &[&str]) -> Run {
    let mut cmd = launcher(ranks);
    cmd.arg(BIN).args(args);
    launch(cmd)
}

/// Runs `textsaga args` on `ranks` ranks with extra environment variables
/// passed to every rank.
pub fn textsaga_env(ranks: usize, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = launcher(ranks);
    for (k, v) in env {
        cmd.env(k, v);
        if is_openmpi() {
            cmd.arg("-x").arg(k);
        }
    }
    cmd.arg(BIN).args(args);
    launch(cmd)
}

/// No process of this test is left running: none has `marker` (a path
/// unique to the test) on its command line.
pub fn assert_no_rank_left(marker: &str) {
    let mut cmd = Command::new("pgrep");
    cmd.arg("-f").arg(marker).stdout(Stdio::piped());
    let out = spawn(&mut cmd).wait_with_output().expect("pgrep");
    let pids = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(pids.is_empty(), "processes still running for {marker}: {pids}");
}

/// Runs the binary directly, without a launcher (singleton MPI).
pub fn textsaga_plain(args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    launch(cmd)
}

/// A folder of its own for one launch's Open MPI session files, removed
/// when dropped (also when the launch's test panics). Open MPI 4 keeps every
/// job's session folder in one shared folder (`/tmp/ompi.<host>.<uid>`),
/// which a job removes when it ends and finds it empty: a job starting
/// beside it then fails with "A call to mkdir was unable to create the
/// desired directory" (open-mpi/ompi#8510). The harness runs tests side by
/// side, so every launch gets its own.
pub struct Session(PathBuf);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Gives the launch `cmd` its own [`Session`] folder; keep it until the launch ends.
pub fn own_session(cmd: &mut Command) -> Session {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("textsaga-ompi-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    cmd.env("OMPI_MCA_orte_tmpdir_base", &dir);
    Session(dir)
}

/// Held while the harness has an HDF5 file open for writing, and while it
/// starts a launch. A launch started meanwhile (by a test beside) would
/// inherit the open file and HDF5's exclusive lock (flock) on it for the
/// launch's whole life, and the binary would then fail to open the file
/// ("unable to lock file, errno = 11"). Files opened to read take a shared
/// lock, which blocks no reader, and the binary never writes over a file.
static SPAWNING_OR_WRITING: Mutex<()> = Mutex::new(());

fn spawn_guard() -> MutexGuard<'static, ()> {
    SPAWNING_OR_WRITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts `cmd` while the harness has no HDF5 file open for writing (see
/// [`SPAWNING_OR_WRITING`]). Every process the tests start goes through here.
pub fn spawn(cmd: &mut Command) -> Child {
    let _guard = spawn_guard();
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// Writes a new HDF5 file at `path` with `build`, and closes it before any
/// launch can start (see [`SPAWNING_OR_WRITING`]).
pub fn write_h5(path: &Path, build: impl FnOnce(&hdf5::File)) {
    let _guard = spawn_guard();
    let f = hdf5::File::create(path).unwrap();
    build(&f);
    f.close().unwrap();
}

fn launch(mut cmd: Command) -> Run {
    let _session = own_session(&mut cmd);
    let start = Instant::now();
    let mut child = spawn(cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()));
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{cmd:?} hung for {HANG_LIMIT:?}; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Output { status, stdout, stderr } = child.wait_with_output().expect("output");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Runs and requires success.
pub fn ok(ranks: usize, args: &[&str]) -> Run {
    let r = textsaga(ranks, args);
    assert_eq!(r.code, 0, "textsaga {args:?} on {ranks} ranks failed:\n{}", r.stderr);
    r
}

/// A fresh folder for one test, removed when the test ends (kept when it
/// fails, to look at; and with TEXTSAGA_KEEP_SCRATCH set).
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() && std::env::var_os("TEXTSAGA_KEEP_SCRATCH").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("textsaga-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Waits for `child` at most [`HANG_LIMIT`]; a child still running then is
/// killed and the test fails.
pub fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            panic!("a launch hung for {HANG_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every dataset of a vectorize output, as comparable values.
#[derive(Debug, PartialEq)]
pub struct Matrix {
    pub shape: Vec<i64>,
    pub data: Vec<f64>,
    pub indices: Vec<i64>,
    pub indptr: Vec<i64>,
    pub vocabulary: Option<Vec<String>>,
    pub idf: Option<Vec<f64>>,
    pub label: Option<Vec<i64>>,
}

pub fn read_matrix(path: &Path) -> Matrix {
    use hdf5::types::VarLenUnicode;
    let f = hdf5::File::open(path).unwrap();
    let x = f.group("X").unwrap();
    Matrix {
        shape: x.attr("shape").unwrap().read_raw().unwrap(),
        data: x.dataset("data").unwrap().read_raw().unwrap(),
        indices: x.dataset("indices").unwrap().read_raw().unwrap(),
        indptr: x.dataset("indptr").unwrap().read_raw().unwrap(),
        vocabulary: f
            .dataset("vocabulary")
            .ok()
            .map(|d| d.read_raw::<VarLenUnicode>().unwrap().iter().map(|s| s.as_str().to_owned()).collect()),
        idf: f.dataset("idf").ok().map(|d| d.read_raw().unwrap()),
        // Integer labels (string labels are compared by the tests that make them).
        label: f.dataset("label").ok().and_then(|d| d.read_raw().ok()),
    }
}

/// No output and no temporary file left in `dir` for `name`.
pub fn assert_no_output(dir: &Path, name: &str) {
    assert!(!dir.join(name).exists(), "{name} was left behind");
    let partial = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().contains("partial"));
    assert!(!partial, "a partial file was left in {}", dir.display());
}

/// Every dataset and attribute of a model file, as bytes to compare.
pub fn model_bits(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = hdf5::File::open(path).unwrap();
    let mut out = Vec::new();
    for name in f.member_names().unwrap() {
        let ds = f.dataset(&name).unwrap();
        let bytes = match ds.dtype().unwrap().to_descriptor().unwrap() {
            hdf5::types::TypeDescriptor::VarLenUnicode => ds.read_raw::<hdf5::types::VarLenUnicode>().unwrap().iter().flat_map(|s| [s.as_bytes(), b"\0"].concat()).collect(),
            _ => ds.read_raw::<f64>().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        out.push((name, bytes));
    }
    for name in f.attr_names().unwrap() {
        let a = f.attr(&name).unwrap();
        let text = match a.read_scalar::<hdf5::types::VarLenUnicode>() {
            Ok(s) => s.as_str().as_bytes().to_vec(),
            Err(_) => a.read_scalar::<f64>().map(|v| v.to_le_bytes().to_vec()).unwrap_or_default(),
        };
        out.push((format!("@{name}"), text));
    }
    out
}
