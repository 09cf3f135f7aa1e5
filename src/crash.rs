//! A damaged HDF5 file can crash the HDF5 C library itself (HDF5 1.10
//! dereferences corrupt metadata; found by tests/suite/fuzz.rs): the process gets
//! SIGSEGV or SIGBUS, which no Rust code can turn into an error. While a
//! user's file is read, [`reading`] arms a handler that writes one prepared
//! line naming the file and exits 1, so the launcher ends the other ranks:
//! the job still ends at once with one line saying which file is damaged,
//! instead of a bare "signal 11".

use std::path::Path;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Once;

/// The line to write (leaked, so the handler can read it at any moment).
static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static LENGTH: AtomicUsize = AtomicUsize::new(0);

/// Until dropped, a crash prints a line naming `path`.
pub struct Reading(());

impl Drop for Reading {
    fn drop(&mut self) {
        LENGTH.store(0, Ordering::SeqCst);
    }
}

/// Arms the handler for a read of `path`.
pub fn reading(path: &Path) -> Reading {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(install);
    let line = format!(
        "textsaga: error: the HDF5 library crashed reading '{}': the file is damaged (check it with h5dump, or write it again)\n",
        path.display()
    );
    let bytes: &'static mut [u8] = Box::leak(line.into_bytes().into_boxed_slice());
    LENGTH.store(0, Ordering::SeqCst);
    MESSAGE.store(bytes.as_mut_ptr(), Ordering::SeqCst);
    LENGTH.store(bytes.len(), Ordering::SeqCst);
    Reading(())
}

extern "C" fn on_crash(signal: libc::c_int) {
    let len = LENGTH.load(Ordering::SeqCst);
    let msg = MESSAGE.load(Ordering::SeqCst);
    if len == 0 || msg.is_null() {
        // Not in a read: the default action (a crash is a bug to report).
        // SAFETY: restoring the default disposition and re-raising are async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return;
    }
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the message is a
    // leaked, never-freed buffer of `len` bytes.
    unsafe {
        libc::write(2, msg as *const libc::c_void, len);
        libc::_exit(1);
    }
}

fn install() {
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a plain sigaction with a handler that only calls
        // async-signal-safe functions.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_crash as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}
