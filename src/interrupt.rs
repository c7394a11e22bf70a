//! Ctrl-C during training. A run's files change only inside [`saving`], and the binary's
//! handler ([`install`]) waits for that to finish before it ends the process, so an interrupt
//! never leaves a checkpoint and its Adam state at different steps, nor a temporary file. What
//! the last save holds ([`last_save`]) lets the handler say where to `--resume` from.
//!
//! Unix only, on `libc` (already a dependency, for SIGPIPE), rather than the `ctrlc` crate and
//! its `nix` dependency: a signal handler that writes one byte to a pipe, and a thread that
//! waits on the pipe and runs the handler as ordinary code. Elsewhere Ctrl-C keeps its default.

use std::sync::Mutex;

/// Held while a run's files are written.
static SAVES: Mutex<()> = Mutex::new(());
/// (epoch, step) of the last checkpoint this process saved.
static LAST_SAVE: Mutex<Option<(usize, u64)>> = Mutex::new(None);

/// Runs `f`, which writes the checkpoint of `epoch` at `step` and the files beside it, so that
/// an interrupt waits for it; records the save once `f` succeeds.
pub fn saving<T, E>(epoch: usize, step: u64, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let _held = SAVES.lock().unwrap_or_else(|e| e.into_inner());
    let out = f()?;
    *LAST_SAVE.lock().unwrap_or_else(|e| e.into_inner()) = Some((epoch, step));
    Ok(out)
}

/// (epoch, step) of the last checkpoint this process saved, if any.
pub fn last_save() -> Option<(usize, u64)> {
    *LAST_SAVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Calls `on_first` on a thread of its own at the first SIGINT, once any save in progress has
/// finished and with saves held off from then on, so `on_first` may end the process. A second
/// SIGINT ends the process at once, as without a handler. Returns false where not supported.
pub fn install(on_first: impl FnOnce() + Send + 'static) -> bool {
    #[cfg(unix)]
    {
        unix::install(move || {
            let _held = SAVES.lock().unwrap_or_else(|e| e.into_inner());
            on_first();
        })
        .is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = on_first;
        false
    }
}

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::io::{self, Read};
    use std::os::fd::FromRawFd;
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The pipe's write end, for the signal handler.
    static WAKE: AtomicI32 = AtomicI32::new(-1);

    extern "C" fn on_sigint(_: libc::c_int) {
        let fd = WAKE.load(Ordering::Relaxed);
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full pipe drops
        // the byte instead of blocking, and a one-byte write to a pipe with room succeeds and
        // leaves errno as it was.
        unsafe {
            libc::write(fd, b"!".as_ptr().cast(), 1);
        }
    }

    pub fn install(on_first: impl FnOnce() + Send + 'static) -> io::Result<()> {
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
        WAKE.store(fds[1], Ordering::Relaxed);
        // SAFETY: fds[0] is the read end just opened, owned by this File from here on.
        let mut wake = unsafe { File::from_raw_fd(fds[0]) };
        std::thread::Builder::new()
            .name("sigint".into())
            .spawn(move || {
                let mut byte = [0u8];
                // read_exact retries when a signal interrupts the read
                if wake.read_exact(&mut byte).is_ok() {
                    // SAFETY: SIG_DFL is a valid disposition: a second Ctrl-C ends the process
                    unsafe {
                        libc::signal(libc::SIGINT, libc::SIG_DFL);
                    }
                    on_first();
                }
            })?;
        let handler = on_sigint as extern "C" fn(libc::c_int);
        // SAFETY: the handler only calls write(2) on a descriptor that stays open.
        if unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
