//! The one way wgvae writes a file it must never leave half-written (checkpoints, PNGs, the
//! loss curve): the bytes go in full to `<name>.tmp-<pid>` beside the target, are synced to
//! disk, then renamed over it (and on Unix the directory is synced). On failure the temporary
//! file is removed and any previous file at `path` is untouched.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Serialises writes within this process, so a temporary name is never used by two at once.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

/// The temporary file a write to `path` goes through first.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically (see the module docs).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ));
    }
    // a missing folder on the way is created here, when there is something to write
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = temp_path(path);
    let written = {
        // the file is closed at the end of this block, before the rename (Windows cannot
        // rename an open file)
        let mut file = File::create(&tmp)?;
        file.write_all(bytes).and_then(|()| file.sync_all())
    }
    .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path)
}

/// Makes the rename durable (Unix: fsync the directory). Elsewhere a no-op.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether `a` and `b` name the same file (the same path, or the same file once resolved).
pub fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}
