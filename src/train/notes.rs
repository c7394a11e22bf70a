//! What a run tells before it starts about choices it made for the user: an image folder used
//! as both splits, small images enlarged, images too small for the patch, a batch larger than
//! the data. The command prints each as a "note:" line.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::data::images::{undersized, Undersized};
use crate::data::{self, DataError, Split};
use crate::train::data::TrainSet;
use crate::train::TrainConfig;

/// One thing a run tells the user about a choice it made; [`fmt::Display`] gives the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// An image folder without `train/` and `test/` serves as both splits.
    SharedSplits { dir: PathBuf },
    /// Images of `dir` smaller than the model's input, enlarged to it.
    Upscaled {
        dir: PathBuf,
        found: Undersized,
        rows: usize,
        cols: usize,
    },
    /// Training images smaller than the patch, never cut from.
    SmallerThanPatch {
        count: usize,
        total: usize,
        size: usize,
    },
    /// `--batch` above the images of an epoch: each step takes them all.
    BatchCapped { asked: usize, count: usize },
    /// What the autotuner measured, or why it ignored its cache file.
    Tuning(String),
    /// The first step is done: `total` since the run began (data loading, tuning and `setup`,
    /// which is pipeline creation, buffers and the recorded steps, included).
    FirstStep {
        total: std::time::Duration,
        setup: std::time::Duration,
        summary: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::SharedSplits { dir } => write!(
                f,
                "{} has no train/ and test/ folders, so its images are both the training and \
                 the test set: the test loss measures fit, not generalisation",
                dir.display()
            ),
            Note::Upscaled {
                dir,
                found,
                rows,
                cols,
            } => write!(
                f,
                "{} of the {} images in {} are smaller than {rows}x{cols} and are upscaled to it \
                 (the smallest is {}x{}, rows x columns)",
                found.count,
                found.total,
                dir.display(),
                found.smallest.0,
                found.smallest.1
            ),
            Note::SmallerThanPatch { count, total, size } => write!(
                f,
                "{count} of the {total} training images are smaller than the {size}x{size} \
                 patch and are skipped"
            ),
            Note::BatchCapped { asked, count } => write!(
                f,
                "--batch {asked} is more than the {count} images of an epoch; the batch is \
                 capped to {count}"
            ),
            Note::Tuning(text) => f.write_str(text),
            Note::FirstStep {
                total,
                setup,
                summary,
            } => write!(
                f,
                "first step after {:.2} s (pipelines and buffers {:.2} s, {summary})",
                total.as_secs_f64(),
                setup.as_secs_f64()
            ),
        }
    }
}

/// The notes of a run of `tc` on `train` (loaded from `tc.data`) at `rows` x `cols`.
pub fn notes(
    tc: &TrainConfig,
    train: &TrainSet,
    rows: usize,
    cols: usize,
) -> Result<Vec<Note>, DataError> {
    let mut notes = Vec::new();
    if let Some(dir) = tc.data.as_deref().filter(|d| data::shares_splits(d)) {
        notes.push(Note::SharedSplits {
            dir: dir.to_path_buf(),
        });
    }
    match train {
        TrainSet::Fixed(_) => {
            for dir in image_folders(tc.data.as_deref()) {
                if let Some(found) = undersized(&dir, rows, cols)? {
                    notes.push(Note::Upscaled {
                        dir,
                        found,
                        rows,
                        cols,
                    });
                }
            }
        }
        TrainSet::Patches { images, spec, .. } => {
            let small = images
                .iter()
                .filter(|im| im.height < spec.size || im.width < spec.size)
                .count();
            if small > 0 {
                notes.push(Note::SmallerThanPatch {
                    count: small,
                    total: images.len(),
                    size: spec.size,
                });
            }
        }
    }
    if tc.batch > train.count() {
        notes.push(Note::BatchCapped {
            asked: tc.batch,
            count: train.count(),
        });
    }
    Ok(notes)
}

/// The folders of images whole-image training reads (none for MNIST and the embedded set).
fn image_folders(dir: Option<&Path>) -> Vec<PathBuf> {
    let Some(dir) = dir.filter(|d| d.is_dir() && !data::mnist::is_mnist_dir(d)) else {
        return Vec::new();
    };
    let mut folders = vec![
        data::split_folder(dir, Split::Train),
        data::split_folder(dir, Split::Test),
    ];
    folders.dedup();
    folders
}
