//! The autotuner's memory on disk: one JSON file of choices keyed by adapter, driver, backend,
//! wgvae version and shape class. It is only ever a hint: a missing file is empty, and an
//! unreadable or corrupt one is ignored with a note (then replaced by the next write), never an
//! error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable naming the folder of `autotune.json` (else `$XDG_CACHE_HOME/wgvae`,
/// else `~/.cache/wgvae`).
pub const CACHE_DIR_VAR: &str = "WGVAE_CACHE_DIR";
/// The cache's file name inside that folder.
pub const CACHE_FILE: &str = "autotune.json";
/// Bumped when an entry's meaning changes, so an old file is ignored rather than misread.
const FORMAT: u32 = 1;

/// Where the cache lives by default; None where no folder is known (nothing is cached then).
pub fn default_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = if let Some(dir) = var(CACHE_DIR_VAR) {
        PathBuf::from(dir)
    } else if let Some(xdg) = var("XDG_CACHE_HOME") {
        PathBuf::from(xdg).join("wgvae")
    } else {
        PathBuf::from(var("HOME")?).join(".cache").join("wgvae")
    };
    Some(dir.join(CACHE_FILE))
}

/// One measured choice, with what it was chosen over (for a person reading the file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub variant: String,
    /// Microseconds of the shape class's products per candidate that was timed throughout.
    pub totals_us: BTreeMap<String, f64>,
    /// Candidates dropped early as clearly slower, and those that failed validation.
    #[serde(default)]
    pub pruned: Vec<String>,
    #[serde(default)]
    pub failed: Vec<String>,
    /// Wall time of the measurement, pipeline creation included.
    pub tuning_ms: f64,
}

/// The whole file: its format version and every entry by [`super::cache_key`].
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CacheFile {
    pub format: u32,
    pub entries: BTreeMap<String, Entry>,
}

/// The file at `path`, or an empty one and, where the file exists but cannot be used, a note
/// saying why it is ignored.
pub fn load(path: &Path) -> (CacheFile, Option<String>) {
    let empty = CacheFile {
        format: FORMAT,
        entries: BTreeMap::new(),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (empty, None),
        Err(e) => {
            let note = format!(
                "cannot read the autotune cache {} ({e}); measuring instead",
                path.display()
            );
            return (empty, Some(note));
        }
    };
    match serde_json::from_str::<CacheFile>(&text) {
        Ok(file) if file.format == FORMAT => (file, None),
        Ok(file) => {
            let note = format!(
                "ignoring the autotune cache {} (format {}, this wgvae writes {FORMAT}); it \
                 will be replaced",
                path.display(),
                file.format
            );
            (empty, Some(note))
        }
        Err(e) => {
            let note = format!(
                "ignoring the corrupt autotune cache {} ({e}); it will be replaced",
                path.display()
            );
            (empty, Some(note))
        }
    }
}

/// Adds `entry` under `key` to the file at `path` (read afresh, so that other processes' entries
/// survive), written atomically; a note where it could not be written.
pub fn store(path: &Path, key: &str, entry: Entry) -> Option<String> {
    let (mut file, _) = load(path);
    file.entries.insert(key.to_string(), entry);
    let text = match serde_json::to_string_pretty(&file) {
        Ok(t) => t,
        Err(e) => return Some(format!("cannot encode the autotune cache: {e}")),
    };
    crate::atomic_file::write(path, text.as_bytes())
        .err()
        .map(|e| {
            format!(
                "cannot write the autotune cache {} ({e}); the choice is not remembered",
                path.display()
            )
        })
}
