//! Stopping a training run by signal. The first SIGINT (Ctrl-C) or SIGTERM asks the run to stop
//! ([`requested`]): the training loop finishes the steps already submitted, writes a checkpoint
//! and ends saying how to resume. A second signal ends the process at once; checkpoints are only
//! ever replaced by rename (`checkpoint::save_training_state`), so the last one stays whole.
//!
//! Unix only, on `libc` (already a dependency, for SIGPIPE), rather than the `ctrlc` crate and
//! its `nix` dependency: a signal handler that records the signal and writes one byte to a pipe,
//! and a thread that waits on the pipe and prints the note a person wants to see at once.
//! Elsewhere the signals keep their default.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked the run to stop; 0 while none has.
static STOP: AtomicI32 = AtomicI32::new(0);

/// The signal (SIGINT 2, SIGTERM 15) that asked the run to stop, if one has.
pub fn requested() -> Option<i32> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Installs the handlers for SIGINT and SIGTERM; `note` is printed on a thread of its own when
/// the first arrives. Returns false where not supported.
pub fn install(note: impl FnOnce(i32) + Send + 'static) -> bool {
    #[cfg(unix)]
    {
        unix::install(note).is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = note;
        false
    }
}

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::io::{self, Read};
    use std::os::fd::FromRawFd;
    use std::sync::atomic::{AtomicI32, Ordering};

    use super::STOP;

    /// The pipe's write end, for the signal handler.
    static WAKE: AtomicI32 = AtomicI32::new(-1);

    extern "C" fn on_signal(signal: libc::c_int) {
        if STOP
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // the second signal: at once, as the default disposition would, with the status a
            // shell reports for it
            // SAFETY: _exit(2) is async-signal-safe.
            unsafe { libc::_exit(128 + signal) }
        }
        let fd = WAKE.load(Ordering::SeqCst);
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full pipe drops
        // the byte instead of blocking, and a one-byte write to a pipe with room succeeds and
        // leaves errno as it was.
        unsafe {
            libc::write(fd, b"!".as_ptr().cast(), 1);
        }
    }

    pub fn install(note: impl FnOnce(i32) + Send + 'static) -> io::Result<()> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds has room for the two descriptors pipe(2) writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fds[1] is the write end just opened.
        unsafe {
            let flags = libc::fcntl(fds[1], libc::F_GETFL);
            libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        WAKE.store(fds[1], Ordering::SeqCst);
        // SAFETY: fds[0] is the read end just opened, owned by this File from here on.
        let mut wake = unsafe { File::from_raw_fd(fds[0]) };
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut byte = [0u8];
                // read_exact retries when a signal interrupts the read
                if wake.read_exact(&mut byte).is_ok() {
                    note(STOP.load(Ordering::SeqCst));
                }
            })?;
        let handler = on_signal as extern "C" fn(libc::c_int);
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the handler only touches atomics and calls write(2) and _exit(2).
            if unsafe { libc::signal(signal, handler as libc::sighandler_t) } == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}
