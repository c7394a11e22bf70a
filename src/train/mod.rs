//! The training loop. The host only orchestrates: the datasets are uploaded once as u8, each
//! epoch writes a permutation and the step state, and whole steps (gather, forward, loss,
//! backward, Adam, advance) are replayed from recorded dispatches, several per submit. Losses
//! stay on the GPU in a history buffer and are read back at log points and epoch ends only.
//!
//! `data` loads and uploads the sets, `notes` says what was decided about them, `eval`
//! measures the test loss, `history` reads the loss records, `curve` writes the loss curve,
//! `grids` the sample and reconstruction grids of each epoch, `bench` measures throughput.

pub mod bench;
pub mod curve;
pub mod data;
pub mod eval;
pub mod grids;
pub mod history;
pub mod notes;
pub mod request;
mod run;
mod saving;

use std::path::PathBuf;
use web_time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use thiserror::Error;

use crate::checkpoint::{self, CheckpointError};
use crate::config::ModelConfig;
use crate::cpu::ops::AdamHyper;
use crate::data::patches::PatchSpec;
use crate::data::DataError;
use crate::error::GpuError;
use crate::gpu::autotune::{Choice, Source};
use crate::gpu::ops::LinearVariant;
use crate::gpu::GpuContext;
use crate::model::init::init_params;
use crate::model::Model;
use history::LossParts;

pub use bench::bench_train;
pub use curve::curve_paths;
pub use data::{load_data, upload_dataset};
pub use eval::{evaluate, EVAL_BATCH};
pub use grids::grids_dir;
pub use notes::Note;
pub use request::TrainSettings;

/// Why a training run stopped early: its data, checkpoint, device or settings failed, a file
/// could not be written, a signal asked it to stop, or the loss stopped being finite.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("{0}")]
    Config(String),
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// SIGINT or SIGTERM stopped the run; `note` says what was saved and how to continue.
    #[error("{note}")]
    Interrupted { signal: i32, note: String },
    #[error("training diverged at {at} ({tensor} became {value}); the last checkpoint is kept (try a lower --lr)")]
    Diverged {
        /// "epoch E", or "epoch E, step S" when a log point caught it.
        at: String,
        value: f32,
        tensor: String,
    },
}

/// How to train (the model itself is a [`ModelConfig`]): epochs, batch, optimiser, data, output
/// and how often to submit, log and checkpoint. [`Default`] is the command line's default.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub adam: AdamHyper,
    pub seed: u64,
    /// MNIST IDX folder or image folder; None = the embedded MNIST subset.
    pub data: Option<PathBuf>,
    pub out: PathBuf,
    pub resume: bool,
    /// Training steps recorded into one command buffer.
    pub steps_per_submit: usize,
    /// Steps between loss read-backs for the progress bar and the curve.
    pub log_every: usize,
    /// Also checkpoint whenever the step count reaches a multiple of this, mid-epoch included.
    pub checkpoint_every: Option<u64>,
    pub variant: Option<LinearVariant>,
    /// Train on random patches of the images (size = the model's, count per epoch, flips
    /// and rotations) instead of the whole images fitted to the model's size.
    pub patch: Option<PatchSpec>,
    /// Denoising VAE: the encoder reads each sample plus Gaussian noise whose sigma is drawn
    /// per sample uniform in [0, this] (pixels on [0, 1]); the loss and evaluation stay clean.
    /// 0 trains as before, step for step.
    pub corrupt_noise: f32,
    /// How Adam's lr moves over the run's steps.
    pub lr_schedule: LrSchedule,
}

impl Default for TrainConfig {
    /// The command line's defaults: pytorch/examples/vae's recipe (10 epochs, batch 128, Adam
    /// 1e-3, seed 1) on the embedded MNIST subset, written to `runs/vae.safetensors`.
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch: 128,
            adam: AdamHyper::default(),
            seed: 1,
            data: None,
            out: PathBuf::from("runs/vae.safetensors"),
            resume: false,
            steps_per_submit: 8,
            log_every: 50,
            checkpoint_every: None,
            variant: None,
            patch: None,
            corrupt_noise: 0.0,
            lr_schedule: LrSchedule::Constant,
        }
    }
}

/// `--lr-schedule`: Adam's learning rate over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LrSchedule {
    /// --lr at every step.
    #[default]
    Constant,
    /// From --lr down to 0 by a half cosine over all the steps of --epochs (the whole run,
    /// resumed parts included, so a resumed run follows the same curve).
    Cosine,
}

impl TrainConfig {
    /// Refuses settings no run can use ([`TrainError::Config`], its message naming the flag).
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch == 0 || self.batch > 65_536 {
            return bad(format!("--batch must be in 1..=65536, got {}", self.batch));
        }
        if !(self.adam.lr.is_finite() && self.adam.lr > 0.0) {
            return bad(format!(
                "--lr must be a positive number, got {}",
                self.adam.lr
            ));
        }
        if self.out.is_dir() {
            return bad(format!(
                "--out {} is a directory; name a checkpoint file",
                self.out.display()
            ));
        }
        if self.checkpoint_every == Some(0) {
            return bad("--checkpoint-every must be at least 1".into());
        }
        if !(self.adam.weight_decay.is_finite() && self.adam.weight_decay >= 0.0) {
            return bad(format!(
                "--weight-decay must be >= 0, got {}",
                self.adam.weight_decay
            ));
        }
        if !(0.0..=1.0).contains(&self.corrupt_noise) {
            return bad(format!(
                "--corrupt-noise must be in [0, 1], got {}",
                self.corrupt_noise
            ));
        }
        Ok(())
    }
}

/// One finished epoch (counted from 1): the step count after it, the training loss per sample
/// averaged over its steps, the test loss, and its training rate and seconds (evaluation and
/// checkpoint excluded).
#[derive(Clone, Debug)]
pub struct EpochReport {
    pub epoch: usize,
    pub step: u64,
    pub train_loss: f64,
    pub test: LossParts,
    /// Training samples per second over the steps this run took in the epoch.
    pub samples_per_sec: f64,
    pub seconds: f64,
}

/// What a run reports as it goes, in this order: notes before the first step, `Run`, then per
/// epoch `EpochStarted`, `Steps` (and `Loss` at log points) as the steps are submitted,
/// `EpochTrained`, `Epoch` once it is evaluated and saved; `Finished` at the end. The command
/// line draws progress bars from them; the library never draws or prints.
#[derive(Debug)]
pub enum Event<'a> {
    /// Something decided about the data, the kernels or the first step.
    Note(Note),
    /// The run is about to train `steps` steps in all (resumed steps not counted).
    Run { steps: u64 },
    /// Epoch `epoch` of `epochs` begins: `steps` in it, `first` of them already taken by a
    /// mid-epoch checkpoint.
    EpochStarted {
        epoch: usize,
        epochs: usize,
        steps: u64,
        first: u64,
    },
    /// `done` steps of the epoch are submitted, `advanced` of them since the last event.
    Steps { done: u64, advanced: u64 },
    /// The training loss per sample over the steps since the last log point, and the epoch's
    /// rate so far.
    Loss { loss: f64, samples_per_sec: f64 },
    /// The epoch's steps are done; its evaluation and checkpoint follow.
    EpochTrained,
    /// The epoch is evaluated and checkpointed.
    Epoch(&'a EpochReport),
    /// The run ends (all epochs done, or stopped on request after a checkpoint).
    Finished,
}

/// The caller of [`train`]: receives its events and may ask it to stop. `()` ignores them;
/// [`on_events`] makes one of a closure.
pub trait TrainObserver {
    /// Hears one event, on the thread that runs [`train`].
    fn event(&mut self, event: Event<'_>);

    /// The signal (2 for SIGINT, 15 for SIGTERM) that asks the run to stop, if one has: it
    /// finishes the steps already submitted, checkpoints and returns
    /// [`TrainError::Interrupted`]. Asked between submissions.
    fn stop_requested(&mut self) -> Option<i32> {
        None
    }
}

/// The observer that ignores every event and never asks to stop.
impl TrainObserver for () {
    fn event(&mut self, _: Event<'_>) {}
}

/// An observer lent to a run, so that its caller reads what it gathered afterwards.
impl<T: TrainObserver + ?Sized> TrainObserver for &mut T {
    fn event(&mut self, event: Event<'_>) {
        (**self).event(event)
    }

    fn stop_requested(&mut self) -> Option<i32> {
        (**self).stop_requested()
    }
}

/// Every file a run at checkpoint `out` writes (the checkpoint, its Adam state, the loss
/// curve's three files), and the folder of its per-epoch grids: what a fresh run replaces.
pub fn run_files(out: &std::path::Path) -> (Vec<PathBuf>, PathBuf) {
    let curve = curve_paths(out);
    let files = vec![
        out.to_path_buf(),
        checkpoint::optimizer_path(out),
        curve.csv,
        curve.png,
        curve.svg,
    ];
    (files, grids_dir(out))
}

/// The first of [`run_files`] that exists (a file, or the grid folder holding anything): what
/// a fresh run at `out` would replace.
pub fn existing_run_file(out: &std::path::Path) -> Option<PathBuf> {
    let (files, grids) = run_files(out);
    let grids_used = std::fs::read_dir(&grids).is_ok_and(|mut d| d.next().is_some());
    files
        .into_iter()
        .find(|f| f.exists() && !f.is_dir())
        .or(grids_used.then_some(grids))
}

/// After a run: the decoder's variance scale that restoration uses, fitted on the run's data
/// as `wgvae train` fits it and stored in the checkpoint (see
/// [`crate::eval::evaluate::calibrate_checkpoint`]); None when the run saved no checkpoint.
pub fn calibrate(ctx: &GpuContext, tc: &TrainConfig) -> anyhow::Result<Option<f32>> {
    if !tc.out.exists() {
        return Ok(None);
    }
    crate::eval::evaluate::calibrate_checkpoint(
        ctx,
        &tc.out,
        tc.data.as_deref(),
        tc.patch.is_some(),
        tc.seed,
    )
    .map(Some)
}

/// An observer that hands every event to a closure and never asks to stop.
pub struct OnEvents<F>(F);

/// `f` as an observer: `train(ctx, &cfg, &tc, on_events(|e| println!("{e:?}")))`.
pub fn on_events<F: FnMut(Event<'_>)>(f: F) -> OnEvents<F> {
    OnEvents(f)
}

impl<F: FnMut(Event<'_>)> TrainObserver for OnEvents<F> {
    fn event(&mut self, event: Event<'_>) {
        (self.0)(event)
    }
}

/// The name a person knows a stop signal by.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// What the run's first step waited for, reported as a note once it is done.
struct FirstStep<'a> {
    choice: &'a Choice,
    setup: std::time::Duration,
}

impl FirstStep<'_> {
    fn note(&self, total: std::time::Duration) -> Note {
        let tuning = match self.choice.source {
            Source::Measured(_) => format!("tuned in {:.2} s", self.choice.seconds),
            Source::Cached => "tuning cached".into(),
            Source::Forced => "forced by --variant".into(),
            Source::Preferred => "autotuning off".into(),
        };
        Note::FirstStep {
            total,
            setup: self.setup,
            summary: format!("linear kernels {}, {tuning}", self.choice.variant.name()),
        }
    }
}

/// Where a run starts: fresh parameters, or a checkpoint and its Adam state.
struct Start {
    params: Vec<f32>,
    adam: Option<(Vec<f32>, Vec<f32>)>,
    /// Epochs completed.
    epoch: usize,
    step: u64,
    /// A checkpoint written mid-epoch: where in epoch `epoch + 1` it stands.
    mid_epoch: Option<checkpoint::MidEpoch>,
}

fn starting_point(model: &Model, tc: &TrainConfig) -> Result<Start, TrainError> {
    let cfg = &model.cfg;
    if !tc.resume {
        return Ok(Start {
            params: init_params(model, tc.seed),
            adam: None,
            epoch: 0,
            step: 0,
            mid_epoch: None,
        });
    }
    let (meta, params) = checkpoint::load_model(&tc.out, Some(cfg))?;
    let adam = checkpoint::load_optimizer_state(&tc.out, &meta)?;
    let mid_epoch = meta.mid_epoch.map(|mid| checkpoint::MidEpoch {
        losses: adam.epoch_losses,
        ..mid
    });
    Ok(Start {
        params,
        adam: Some((adam.m, adam.v)),
        epoch: meta.epoch,
        step: meta.step,
        mid_epoch,
    })
}

/// Steps of epoch `start.epoch + 1` a mid-epoch checkpoint has taken, once it is checked to
/// continue this run's epoch: the same batch size, and not past the epoch's end.
fn steps_taken(
    start: &Start,
    tc: &TrainConfig,
    batch: usize,
    steps_per_epoch: usize,
) -> Result<usize, TrainError> {
    let Some(mid) = &start.mid_epoch else {
        return Ok(0);
    };
    if mid.batch != batch {
        return Err(TrainError::Config(format!(
            "{} was saved part-way through epoch {} at batch {}; resume with --batch {} (this \
             run's batch would visit other images)",
            tc.out.display(),
            start.epoch + 1,
            mid.batch,
            mid.batch
        )));
    }
    let steps = mid.steps as usize;
    if steps >= steps_per_epoch || mid.losses.len() != steps {
        return Err(TrainError::Config(format!(
            "{} was saved at step {} of an epoch of {steps_per_epoch} steps with {} loss \
             records; it is not from this data (check --data and --patches)",
            tc.out.display(),
            steps,
            mid.losses.len()
        )));
    }
    Ok(steps)
}

/// The order in which epoch `epoch` (1-based) visits the `count` training images: a shuffle of
/// the identity that is a function of (seed, epoch) alone, so a resumed run sees the same order
/// as an uninterrupted one. Batch `b` of the epoch is `order[b * batch..]`, the last one smaller
/// when `batch` does not divide `count`.
pub fn epoch_order(count: usize, seed: u64, epoch: usize) -> Vec<u32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ ((epoch as u64) << 32));
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.shuffle(&mut rng);
    order
}

/// Trains `cfg` as `tc` says, checkpointing after every epoch. `--epochs` counts in total, so
/// `--resume` continues up to it. A fresh run (not `--resume`) replaces the files of one
/// before it at `tc.out` when its first epoch ends.
pub fn train(
    ctx: &GpuContext,
    cfg: &ModelConfig,
    tc: &TrainConfig,
    mut observer: impl TrainObserver,
) -> Result<Vec<EpochReport>, TrainError> {
    let run_started = Instant::now();
    let prepared = run::prepare(ctx, cfg, tc, &mut observer)?;
    let mut run = run::Run::new(ctx, cfg, tc, &prepared, run_started)?;
    let start = prepared.start.epoch;
    observer.event(Event::Run {
        steps: (prepared.steps_per_epoch * (tc.epochs - start) - run.resumed_steps) as u64,
    });
    let mut reports = Vec::with_capacity(tc.epochs - start);
    for epoch in start + 1..=tc.epochs {
        reports.push(run.epoch(epoch, &mut observer)?);
    }
    observer.event(Event::Finished);
    Ok(reports)
}
