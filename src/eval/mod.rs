//! The restoration benchmarks behind `wgvae eval-restore`: the degradation cases scored
//! (`cases`), the classical baselines tuned and run beside the VAE (`baselines`), degrading and
//! restoring whole sets (`evaluate`), the digit scoreboard (`scoreboard`) and the photo
//! benchmark (`photo_eval`), their shared tables and strip (`table`), and restoration
//! throughput (`bench`).

pub mod baselines;
pub mod bench;
pub mod cases;
pub mod evaluate;
pub mod photo_eval;
pub mod scoreboard;
pub mod table;

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::gpu::GpuContext;
use crate::restore::methods::Method;
use crate::restore::prior::ModelSource;
use crate::restore::MethodOptions;

/// What `eval-restore` scores and where it writes; [`Default`] is the command line's default.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// The prior (a built-in model or a checkpoint); None: the built-in digit model.
    pub model: Option<ModelSource>,
    /// Data folder (its test split); None: the embedded MNIST test subset.
    pub data: Option<PathBuf>,
    /// Images scored (photos: at most this many).
    pub n: usize,
    /// Score from this image of the test split on.
    pub skip: usize,
    /// Validation images for tuning (the last of the test split, never scored).
    pub val: usize,
    /// Only the cases whose name contains one of these; empty: all.
    pub cases: Vec<String>,
    /// Folder for table.txt, table.csv and strip.png.
    pub out: PathBuf,
    /// Seed of the damage.
    pub seed: u64,
    pub baselines: bool,
    /// The photo benchmark on `DIR/test`, tuned on `DIR/train`, instead of the digits.
    pub photos: Option<PathBuf>,
    /// Photos: also write the clean and damaged photos as scored into `out/inputs`.
    pub keep_inputs: bool,
    /// Photos: the method scored.
    pub method: Method,
    /// Photos: 1 (grey) or 3 (colour); None: the model's channels.
    pub channels: Option<usize>,
    pub knobs: MethodOptions,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            model: None,
            data: None,
            n: 1000,
            skip: 0,
            val: 200,
            cases: Vec::new(),
            out: PathBuf::from("runs/eval-restore"),
            seed: 1,
            baselines: true,
            photos: None,
            keep_inputs: false,
            method: Method::Posterior,
            channels: None,
            knobs: MethodOptions::default(),
        }
    }
}

/// What a benchmark reports while it runs; the command line prints the notes and draws a bar
/// per case.
pub trait EvalObserver {
    /// A line for the person running it (what was fitted, what is scored).
    fn note(&mut self, line: &str);
    /// Case `name` begins: `units` images or windows to restore.
    fn case_started(&mut self, name: &str, units: u64);
    /// `n` more units of the current case are done.
    fn advance(&mut self, n: u64);
    /// The case is scored: its line of PSNRs.
    fn case_done(&mut self, line: &str);
}

/// What a finished benchmark wrote.
#[derive(Clone, Debug)]
pub struct EvalSummary {
    /// The text table (also in `out/table.txt`).
    pub table: String,
    /// What was written where, in one line.
    pub written: String,
}

/// Scores the digits, or the photos of `options.photos`, and writes the tables into
/// `options.out`.
pub fn eval_restore(
    ctx: &GpuContext,
    options: &EvalOptions,
    observer: &mut dyn EvalObserver,
) -> Result<EvalSummary> {
    // refused before the scoring, not after it
    if options.out.exists() && !options.out.is_dir() {
        bail!(
            "--out {} is a file; name a folder for the tables",
            options.out.display()
        );
    }
    match &options.photos {
        Some(dir) => photo_eval::eval_photos(ctx, options, dir, observer),
        None => scoreboard::eval_digits(ctx, options, observer),
    }
}
