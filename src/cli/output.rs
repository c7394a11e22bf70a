//! The overwrite policy, one for every command that writes files: an output that already exists
//! is refused unless `--force` is given (train's `--resume` continues its own files instead), and
//! missing parent folders are created. [`preflight`] runs first in `main`, before the adapter
//! starts, so a refusal costs nothing and leaves nothing half-done.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cli::args::Command;
use wgvae::train;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error("{} exists{}; {advice}", path.display(), others_text(*others))]
    Exists {
        path: PathBuf,
        /// Other outputs that exist too.
        others: usize,
        advice: String,
    },
}

fn others_text(others: usize) -> String {
    match others {
        0 => String::new(),
        1 => " (and 1 other output)".into(),
        n => format!(" (and {n} other outputs)"),
    }
}

/// What a command is about to write.
#[derive(Debug, Default)]
pub struct Outputs {
    pub files: Vec<PathBuf>,
    /// Folders that count as an existing output when they hold anything (train's grids).
    pub folders: Vec<PathBuf>,
    /// Files the command reads: an output that is one of them is left to the command's own,
    /// clearer refusal ("the output is the input").
    pub inputs: Vec<PathBuf>,
    pub force: bool,
    /// What to do about an existing output, when more than "pass --force to overwrite it"
    /// (train's files go together: the first found is named alone).
    pub advice: Option<&'static str>,
}

/// Refuses existing outputs unless `force`.
pub fn check(out: &Outputs) -> Result<(), OutputError> {
    if !out.force {
        let existing: Vec<&PathBuf> = out
            .files
            .iter()
            // a folder where a file is wanted is the command's own error to report
            .filter(|f| {
                f.exists()
                    && !f.is_dir()
                    && !out
                        .inputs
                        .iter()
                        .any(|i| wgvae::atomic_file::same_file(i, f))
            })
            .chain(out.folders.iter().filter(|d| non_empty_dir(d)))
            .collect();
        if let Some(first) = existing.first() {
            let (others, advice) = match out.advice {
                Some(advice) => (0, advice.to_string()),
                None if existing.len() > 1 => {
                    (existing.len() - 1, "pass --force to overwrite them".into())
                }
                None => (0, "pass --force to overwrite it".into()),
            };
            return Err(OutputError::Exists {
                path: first.to_path_buf(),
                others,
                advice,
            });
        }
    }
    // missing folders are created by the write itself (atomic_file::write), so a run refused
    // later, for bad input, leaves no empty folder behind
    Ok(())
}

fn non_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// The outputs of `command` under the policy; reading commands have none.
pub fn planned(command: &Command) -> Outputs {
    let plain = |files: Vec<PathBuf>, inputs: Vec<PathBuf>, force| Outputs {
        files,
        inputs,
        force,
        ..Outputs::default()
    };
    match command {
        Command::Train(a) if a.resume => Outputs::default(),
        Command::Train(a) => {
            let (files, grids) = train::run_files(&a.out);
            Outputs {
                files,
                folders: vec![grids],
                force: a.force,
                advice: Some(
                    "pass --force to start afresh over it and the files beside it, or --resume \
                     to continue training it",
                ),
                ..Outputs::default()
            }
        }
        Command::Sample(a) => plain(vec![a.output.clone()], Vec::new(), a.force),
        Command::Degrade(a) => {
            let mut files = vec![a.output.clone()];
            files.extend(a.mask_out.clone());
            plain(files, vec![a.input.clone()], a.force)
        }
        Command::Restore(a) => {
            // an unreadable input folder is the command's own error to report
            let files = crate::cli::restore::destinations(&a.input, &a.output)
                .map(|pairs| pairs.into_iter().map(|(_, o)| o).collect())
                .unwrap_or_default();
            plain(files, a.input.clone(), a.force)
        }
        Command::EvalRestore(a) => plain(
            wgvae::eval::table::OUTPUT_FILES
                .iter()
                .map(|f| a.out.join(f))
                .chain(a.keep_inputs.then(|| a.out.join("inputs")))
                .collect(),
            Vec::new(),
            a.force,
        ),
        Command::Enhance(a) => plain(vec![a.output.clone()], vec![a.input.clone()], a.force),
        Command::Serve(_)
        | Command::Info(_)
        | Command::Eval(_)
        | Command::Inspect(_)
        | Command::Bench(_)
        | Command::EstimateNoise(_)
        | Command::Compare(_)
        | Command::Completions(_) => Outputs::default(),
    }
}

/// The policy for `command`, before any work.
pub fn preflight(command: &Command) -> Result<(), OutputError> {
    check(&planned(command))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, names: &[&str], force: bool) -> Outputs {
        Outputs {
            files: names.iter().map(|n| dir.join(n)).collect(),
            force,
            ..Outputs::default()
        }
    }

    #[test]
    fn existing_files_are_refused_by_name_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), b"x").unwrap();
        std::fs::write(dir.path().join("c.png"), b"x").unwrap();
        let e = check(&files(dir.path(), &["a.png", "b.png", "c.png"], false)).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("a.png exists (and 1 other output); pass --force to overwrite them"),
            "{text}"
        );
        check(&files(dir.path(), &["a.png", "b.png"], true)).unwrap();
        check(&files(dir.path(), &["b.png"], false)).unwrap();
    }

    #[test]
    fn missing_parents_wait_for_the_write_and_a_non_empty_folder_counts() {
        let dir = tempfile::tempdir().unwrap();
        check(&files(dir.path(), &["x/y/z.png"], false)).unwrap();
        // the check creates nothing: a run refused later must leave no folder
        assert!(!dir.path().join("x").exists());
        wgvae::atomic_file::write(&dir.path().join("x/y/z.png"), b"png").unwrap();
        assert!(dir.path().join("x/y").is_dir());
        let grids = Outputs {
            folders: vec![dir.path().join("x")],
            advice: Some("pass --force or --resume"),
            ..Outputs::default()
        };
        let e = check(&grids).unwrap_err().to_string();
        assert!(e.ends_with("x exists; pass --force or --resume"), "{e}");
        // an empty folder is no output yet
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        check(&Outputs {
            folders: vec![dir.path().join("empty")],
            ..Outputs::default()
        })
        .unwrap();
    }

    #[test]
    fn an_output_that_is_an_input_is_left_to_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        std::fs::write(&a, b"x").unwrap();
        let out = Outputs {
            files: vec![a.clone()],
            inputs: vec![a],
            ..Outputs::default()
        };
        check(&out).unwrap();
    }
}
