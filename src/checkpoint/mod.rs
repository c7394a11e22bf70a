//! Checkpoints: the model's parameters as a safetensors file, Adam's state beside it, both written
//! atomically.
//!
//! # Model file (`M`, e.g. `runs/vae.safetensors`)
//!
//! One f32 (`F32`, little endian, row-major) tensor per entry of [`Layout::new`], named and shaped
//! exactly as `model::layout` names them, which are the names of pytorch/examples/vae's `VAE`
//! module: `fc1.weight` `[hidden, input]`, `fc1.bias` `[hidden]`, `fc21.*` (mu head), `fc22.*`
//! (logvar head), `fc3.*`, `fc4.weight` `[input, hidden]`, `fc4.bias` `[input]`; deeper models add
//! `fc1_2.*`, ..., `fc3_2.*`, ...; the Gaussian likelihood adds `logvar_x` `[1]`. Nothing else is
//! stored: the padding the flat buffer keeps between tensors is not written and reads back as
//! zero. For the default config the file loads into PyTorch with
//! `model.load_state_dict(safetensors.torch.load_file(M), strict=True)` (`tools/pytorch_eval.py`).
//!
//! Metadata (the safetensors header's `__metadata__`, string to string):
//!
//! - `"wgvae"`: the JSON of [`CheckpointMeta`]: `config` ([`ModelConfig`]), `epoch`, `step`,
//!   `seed`, `format_version` ([`FORMAT_VERSION`]) and `normalisation` ([`NORMALISATION`]: pixels
//!   are `u8 / 255`). This key is the one the loader reads.
//!   Optional fields: `pixel_var_scale` (see restore) and `data` ([`TrainingData`]: the source,
//!   image counts, patch settings and input corruption `train` used); files without them still
//!   load.
//! - `"format": "pt"`, which Hugging Face's loaders check (the tensors are PyTorch's); older
//!   files without it load as well.
//! - `"config"` (the config's JSON), `"epoch"`, `"step"`, `"seed"`: copies for human readers and
//!   other tools; the loader ignores them.
//!
//! # Optimizer file (`vae.adam.safetensors` beside `vae.safetensors`, see [`optimizer_path`])
//!
//! Adam's first and second moments for `--resume`: tensors `m.<name>` and `v.<name>` for every
//! layout tensor `<name>`, same shapes, F32; the same metadata as the model file plus
//! `"optimizer": "adam"`. [`load_optimizer_state`] checks that the config and the step match the model
//! checkpoint it belongs to, so Adam's bias correction is never applied to stale moments.
//!
//! # Atomic writes
//!
//! Through [`crate::atomic_file`]: each file is written in full to `<file name>.tmp-<pid>` in
//! the same directory, flushed to disk (`fsync`), then renamed over the target (and on Unix the
//! directory is synced too). A crash or a failed write leaves the previous checkpoint untouched,
//! never a half-written one; on failure the temporary file is removed. Writes within one process
//! are serialised by a lock, so the temporary name cannot be shared by two at once. A training
//! run writes the Adam state first, to a pending file, then the model, then renames the pending
//! state into place ([`save_training_state`]): the model file is the commit point, and a crash
//! between two steps leaves a pair that `--resume` continues from.
//!
//! # Loading
//!
//! Everything read from a file is checked before use: the safetensors structure (a truncated or
//! corrupt file is an error, never a panic), the metadata, the stored config (valid, and equal
//! to the one the run asks for, if it asks), then every tensor's presence, dtype and shape, with
//! no unexpected tensors. Each error is one line that names the file and lists every problem.
//!
//! # Files of this module
//!
//! - `format.rs`: the safetensors encoding (metadata, tensors named by the layout, the checks on
//!   reading).
//! - `files.rs`: the file protocol (where the Adam state lives, atomic writes, the commit order
//!   of a training run's pair, which state `--resume` takes).
//! - `compat.rs`: config compatibility (a stored config against the one a run asks for, each
//!   differing field named).

mod compat;
mod files;
mod format;

use std::io;
use std::path::PathBuf;

use safetensors::SafeTensorError;
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;

pub use compat::FIELD_ORDER;
pub use files::{
    load_model, load_model_bytes, load_optimizer_state, optimizer_path, pending_optimizer_path,
    save_model, save_training_state, OptimizerState,
};
pub use format::non_finite_tensors;

/// Version of the checkpoint format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// How pixels were turned into model inputs (recorded in every checkpoint).
pub const NORMALISATION: &str = "u8/255";

/// Metadata key holding the JSON of [`CheckpointMeta`].
pub const META_KEY: &str = "wgvae";

/// Why a checkpoint could not be read, written or used: I/O, a malformed safetensors file,
/// missing or unreadable metadata, another format version, or a config that does not fit.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read checkpoint {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write checkpoint {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a valid safetensors file (truncated or corrupt?)", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: SafeTensorError,
    },
    #[error("cannot serialise checkpoint {}", path.display())]
    Serialise {
        path: PathBuf,
        #[source]
        source: SafeTensorError,
    },
    #[error("{} has no \"{META_KEY}\" metadata: it was not written by wgvae", path.display())]
    NoMetadata { path: PathBuf },
    #[error("the \"{META_KEY}\" metadata of {} cannot be read", path.display())]
    BadMetadata {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{} has checkpoint format version {found}; this build of wgvae reads version \
         {FORMAT_VERSION}",
        path.display()
    )]
    Version { path: PathBuf, found: u32 },
    #[error("{} records an unusable model config: {reason}", path.display())]
    InvalidConfig { path: PathBuf, reason: String },
    /// `fields` names every config field that differs; `stored` and `expected` give their values.
    #[error(
        "checkpoint {} was trained with {stored}, this run asks for {expected}",
        path.display()
    )]
    ConfigMismatch {
        path: PathBuf,
        fields: Vec<String>,
        stored: String,
        expected: String,
    },
    /// Every missing, misshapen, mistyped or unexpected tensor, in layout order.
    #[error(
        "{} does not hold the tensors of its model ({model}): {}",
        path.display(),
        problems.join("; ")
    )]
    Tensors {
        path: PathBuf,
        model: String,
        problems: Vec<String>,
    },
    #[error(
        "optimizer state {} is from step {found}, but the model checkpoint is from step \
         {expected}; the two were not saved together (start without --resume to reset Adam)",
        path.display()
    )]
    StepMismatch {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error(
        "cannot save {}: {what} has {got} values, but the layout of the model ({model}) has \
         {expected}",
        path.display()
    )]
    Length {
        path: PathBuf,
        what: &'static str,
        got: usize,
        expected: usize,
        model: String,
    },
    #[error("{} holds NaN or infinite values in {}", path.display(), tensors.join(", "))]
    NonFinite { path: PathBuf, tensors: Vec<String> },
}

/// What a checkpoint records besides the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub config: ModelConfig,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken (Adam's `t`).
    pub step: u64,
    /// The run's seed.
    pub seed: u64,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// [`NORMALISATION`].
    pub normalisation: String,
    /// The decoder's pixel variance scale fitted on clean reconstructions at the end of
    /// training (restoration's default `--var-scale`); absent in older checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_var_scale: Option<f32>,
    /// The data the model was trained on, as `train` recorded it; absent in older checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<TrainingData>,
    /// Where in epoch `epoch + 1` a checkpoint written mid-epoch (`--checkpoint-every`, or an
    /// interrupted run) stands; absent at an epoch's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_epoch: Option<MidEpoch>,
}

/// A checkpoint written part-way through an epoch: `--resume` continues that epoch at its next
/// batch, so an interrupted run ends where an uninterrupted one does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MidEpoch {
    /// Steps of the epoch already taken.
    pub steps: u64,
    /// The batch size the epoch was cut into; resuming with another would visit other images.
    pub batch: usize,
    /// The loss records of those steps (sum of reconstruction, sum of KL, loss, rows), so the
    /// epoch's training loss covers the whole epoch. Kept in the Adam state file only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub losses: Vec<[f32; 4]>,
}

/// The data a run trained on (the last run, for a resumed checkpoint).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingData {
    /// `--data` as given, or [`EMBEDDED_DATA`].
    pub source: String,
    /// Training images per epoch (patches per epoch with `patch`).
    pub train_count: usize,
    /// Test images (fixed test patches with `patch`).
    pub test_count: usize,
    /// `--patch`: the side of the random patches trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<usize>,
    /// `--augment`: the patches were flipped and rotated at random.
    #[serde(default)]
    pub augment: bool,
    /// `--corrupt-noise`: a denoising VAE, its encoder trained on inputs with Gaussian noise of
    /// a per-sample level uniform in [0, this] (absent: clean inputs, and older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrupt_noise: Option<f32>,
}

/// [`TrainingData::source`] of the MNIST subset embedded in the binary.
pub const EMBEDDED_DATA: &str = "embedded MNIST subset";

impl CheckpointMeta {
    /// Metadata in the current format with the current normalisation.
    pub fn new(config: ModelConfig, epoch: usize, step: u64, seed: u64) -> Self {
        CheckpointMeta {
            config,
            epoch,
            step,
            seed,
            format_version: FORMAT_VERSION,
            normalisation: NORMALISATION.to_string(),
            pixel_var_scale: None,
            data: None,
            mid_epoch: None,
        }
    }
}
