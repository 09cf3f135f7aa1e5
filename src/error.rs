//! Errors and exit codes.
//!
//! Every failure ends as one line on stderr and a non-zero exit (see
//! `docs/interface.md`): 1 for an error, 2 for a bad command line, 75 after a
//! signal-triggered checkpoint. Errors carry context ("reading 'x.h5': ...")
//! through `anyhow`; the line is printed by exactly one rank (see
//! `agree` in [`crate::collectives`]).

use std::fmt;

pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for any error that is not about the command line.
pub const EXIT_ERROR: i32 = 1;
/// Exit code for a bad command line (clap's own code too).
pub const EXIT_USAGE: i32 = 2;
/// Exit code after a signal stopped a fit and its checkpoint was written
/// (EX_TEMPFAIL: run again with --resume).
pub const EXIT_INTERRUPTED: i32 = 75;

/// The command line is wrong in a way clap cannot see (for example two flags
/// that exclude each other only in some modes). Exits 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// An error some rank has already printed; the other ranks exit quietly.
#[derive(Debug)]
pub struct Reported {
    pub code: i32,
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error reported by another rank")
    }
}
impl std::error::Error for Reported {}

/// The exit code an error stands for.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if let Some(r) = err.downcast_ref::<Reported>() {
        r.code
    } else if err.downcast_ref::<UsageError>().is_some() {
        EXIT_USAGE
    } else if err.downcast_ref::<Interrupted>().is_some() {
        EXIT_INTERRUPTED
    } else if let Some(s) = err.downcast_ref::<Stopped>() {
        s.exit_code()
    } else {
        EXIT_ERROR
    }
}

/// A run stopped at a signal after writing its checkpoint (exit 75): the
/// solver's position, for the message that tells the user to resume.
#[derive(Debug)]
pub struct Interrupted {
    pub epoch: usize,
    pub step: usize,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopped by a signal at epoch {} step {}; checkpoint written, continue with --resume", self.epoch + 1, self.step)
    }
}
impl std::error::Error for Interrupted {}

/// A run stopped by a signal at an agreement point, before the solver (or
/// with no checkpoint to save): nothing was written. Exits 75 when the run
/// can resume from a checkpoint, otherwise 128 + the signal.
#[derive(Debug)]
pub struct Stopped {
    pub signal: i32,
    pub name: &'static str,
    pub resumable: bool,
}

impl Stopped {
    pub fn exit_code(&self) -> i32 {
        if self.resumable {
            EXIT_INTERRUPTED
        } else {
            128 + self.signal
        }
    }
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resumable {
            write!(f, "stopped by {}; no output written; run again with --resume to continue from the last checkpoint, if any", self.name)
        } else {
            write!(f, "stopped by {}; no output written; run the command again", self.name)
        }
    }
}
impl std::error::Error for Stopped {}

/// One line: the error and its causes joined by ": ", newlines folded.
pub fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}

/// Shorthand for a usage error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}
