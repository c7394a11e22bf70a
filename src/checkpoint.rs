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
//! `"optimizer": "adam"`. [`load_optimizer`] checks that the config and the step match the model
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

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, Metadata, TensorView};
use safetensors::{SafeTensorError, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::model::arch::Arch;
use crate::model::layout::{Layout, ALIGN_FLOATS};

/// Version of the checkpoint format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// How pixels were turned into model inputs (recorded in every checkpoint).
pub const NORMALISATION: &str = "u8/255";

/// Metadata key holding the JSON of [`CheckpointMeta`].
pub const META_KEY: &str = "wgvae";

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

/// Names of the layout tensors of `values` that hold a NaN or an infinity.
pub fn non_finite_tensors(layout: &Layout, values: &[f32]) -> Vec<String> {
    layout
        .tensors
        .iter()
        .filter(|t| values[t.range()].iter().any(|v| !v.is_finite()))
        .map(|t| t.name.clone())
        .collect()
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

/// Where the Adam state of the model checkpoint `model` lives: its stem with
/// `.adam.safetensors` (`runs/vae.safetensors` -> `runs/vae.adam.safetensors`), as the loss
/// curve and the grids are named beside it.
pub fn optimizer_path(model: &Path) -> PathBuf {
    model.with_extension("adam.safetensors")
}

/// The name the Adam state had before [`optimizer_path`]: `<model>.adam.safetensors`
/// (`runs/vae.safetensors.adam.safetensors`). Still read when the new name is absent.
pub fn legacy_optimizer_path(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_os_string();
    name.push(".adam.safetensors");
    PathBuf::from(name)
}

/// Saves `params` (the flat parameter buffer laid out by `Layout::new(&meta.config)`) as
/// safetensors F32 tensors named as the layout names them, with `meta` as metadata. Written
/// atomically (see the module docs).
pub fn save_model(
    path: &Path,
    meta: &CheckpointMeta,
    params: &[f32],
) -> Result<(), CheckpointError> {
    let layout = checked_layout(path, &meta.config)?;
    check_len(path, "the parameter buffer", params, &layout, &meta.config)?;
    let bytes = serialise(path, &layout, &[("", params)], metadata(meta, false))?;
    write_atomic(path, &bytes)
}

/// Loads a model checkpoint written by [`save_model`]. With `expected`, any difference between
/// it and the stored config is an error naming each differing field. Returns the metadata and
/// the flat parameter buffer (length `Layout::new(&meta.config).total`, padding zero).
pub fn load_model(
    path: &Path,
    expected: Option<&ModelConfig>,
) -> Result<(CheckpointMeta, Vec<f32>), CheckpointError> {
    load_model_bytes(path, &read(path)?, expected)
}

/// [`load_model`] on a checkpoint already in memory (the built-in model); `path` is the name
/// errors give it.
pub fn load_model_bytes(
    path: &Path,
    bytes: &[u8],
    expected: Option<&ModelConfig>,
) -> Result<(CheckpointMeta, Vec<f32>), CheckpointError> {
    let (file, meta) = parse(path, bytes)?;
    if let Some(expected) = expected {
        check_config(path, &meta.config, expected)?;
    }
    let layout = checked_layout(path, &meta.config)?;
    let params = gather(path, &file, &layout, &meta.config, &[""])?.remove(0);
    let bad = non_finite_tensors(&layout, &params);
    if !bad.is_empty() {
        return Err(CheckpointError::NonFinite {
            path: path.to_path_buf(),
            tensors: bad,
        });
    }
    Ok((meta, params))
}

/// Where [`save_training_state`] writes the new Adam state before the model checkpoint is
/// replaced: `<stem>.adam.next.safetensors`. Once the model is in place it is renamed to
/// [`optimizer_path`]; a run killed between the two leaves it here, and [`load_optimizer`]
/// takes it when its step is the model's.
pub fn pending_optimizer_path(model: &Path) -> PathBuf {
    model.with_extension("adam.next.safetensors")
}

/// Saves a training run's state: the model checkpoint at `path` and Adam's moments beside it,
/// so that a process killed at any instant leaves a pair `--resume` can continue from. The
/// model file is the commit point: the Adam state goes first to [`pending_optimizer_path`],
/// then the model replaces the old one, then the pending state is renamed into place. Before
/// the model's rename the old pair is intact; after it, the pending file matches the new model.
pub fn save_training_state(
    path: &Path,
    meta: &CheckpointMeta,
    params: &[f32],
    m: &[f32],
    v: &[f32],
) -> Result<(), CheckpointError> {
    let pending = pending_optimizer_path(path);
    write_optimizer(&pending, meta, m, v)?;
    save_model(path, meta, params)?;
    let state = optimizer_path(path);
    fs::rename(&pending, &state)
        .and_then(|()| crate::atomic_file::sync_dir(&state))
        .map_err(|source| CheckpointError::Write {
            path: state.clone(),
            source,
        })?;
    remove_legacy_optimizer(path);
    Ok(())
}

/// The Adam state file `--resume` reads for `model`: [`optimizer_path`], or the
/// [`legacy_optimizer_path`] when only that one exists.
pub fn saved_optimizer_path(model: &Path) -> PathBuf {
    let path = optimizer_path(model);
    let legacy = legacy_optimizer_path(model);
    if !path.exists() && legacy.is_file() {
        return legacy;
    }
    path
}

/// Saves Adam's moments `m` and `v` (same layout as the parameters) to
/// [`optimizer_path`]`(model_path)`, atomically, with `meta` (the model checkpoint's) as metadata.
/// A state file under the [`legacy_optimizer_path`], now stale, is then removed.
pub fn save_optimizer(
    model_path: &Path,
    meta: &CheckpointMeta,
    m: &[f32],
    v: &[f32],
) -> Result<(), CheckpointError> {
    write_optimizer(&optimizer_path(model_path), meta, m, v)?;
    remove_legacy_optimizer(model_path);
    Ok(())
}

/// Writes Adam's moments to `path` atomically, with `meta` as metadata.
fn write_optimizer(
    path: &Path,
    meta: &CheckpointMeta,
    m: &[f32],
    v: &[f32],
) -> Result<(), CheckpointError> {
    let layout = checked_layout(path, &meta.config)?;
    check_len(path, "Adam's m", m, &layout, &meta.config)?;
    check_len(path, "Adam's v", v, &layout, &meta.config)?;
    let bytes = serialise(path, &layout, &[("m.", m), ("v.", v)], metadata(meta, true))?;
    write_atomic(path, &bytes)
}

/// The state has moved to [`optimizer_path`]; a file under the legacy name holds an earlier step.
fn remove_legacy_optimizer(model_path: &Path) {
    let legacy = legacy_optimizer_path(model_path);
    if legacy != optimizer_path(model_path) && legacy.is_file() {
        let _ = fs::remove_file(legacy);
    }
}

/// Loads the Adam state saved beside `model_path` ([`optimizer_path`], else the
/// [`legacy_optimizer_path`] of older runs), checking that it was saved with the same config and
/// at the same step as `meta` (the loaded model checkpoint's). Returns `(m, v)`, each laid out
/// like the parameters.
pub fn load_optimizer(
    model_path: &Path,
    meta: &CheckpointMeta,
) -> Result<(Vec<f32>, Vec<f32>), CheckpointError> {
    load_optimizer_state(model_path, meta).map(|s| (s.m, s.v))
}

/// What `--resume` reads from the Adam state file.
pub struct OptimizerState {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    /// The loss records of the epoch so far, for a checkpoint written mid-epoch.
    pub epoch_losses: Vec<[f32; 4]>,
}

/// [`load_optimizer`] with the loss records a mid-epoch checkpoint keeps beside the moments.
pub fn load_optimizer_state(
    model_path: &Path,
    meta: &CheckpointMeta,
) -> Result<OptimizerState, CheckpointError> {
    let path = optimizer_to_resume(model_path, meta);
    let bytes = read(&path)?;
    let (file, stored) = parse(&path, &bytes)?;
    check_config(&path, &stored.config, &meta.config)?;
    if stored.step != meta.step {
        return Err(CheckpointError::StepMismatch {
            path,
            found: stored.step,
            expected: meta.step,
        });
    }
    let layout = checked_layout(&path, &meta.config)?;
    let mut out = gather(&path, &file, &layout, &meta.config, &["m.", "v."])?;
    let v = out.pop().expect("two buffers");
    let m = out.pop().expect("two buffers");
    let epoch_losses = stored.mid_epoch.map(|mid| mid.losses).unwrap_or_default();
    Ok(OptimizerState { m, v, epoch_losses })
}

/// The Adam state file that goes with the model checkpoint `meta`: the pending one when a run
/// was killed after replacing the model and before renaming its state into place
/// ([`save_training_state`]), else [`saved_optimizer_path`].
fn optimizer_to_resume(model_path: &Path, meta: &CheckpointMeta) -> PathBuf {
    let pending = pending_optimizer_path(model_path);
    let pending_matches = fs::read(&pending)
        .ok()
        .and_then(|bytes| {
            parse(&pending, &bytes)
                .ok()
                .map(|(_, m)| m.step == meta.step)
        })
        .unwrap_or(false);
    if pending_matches {
        pending
    } else {
        saved_optimizer_path(model_path)
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

fn metadata(meta: &CheckpointMeta, optimizer: bool) -> HashMap<String, String> {
    let mut map = HashMap::new();
    // Hugging Face's loaders (transformers, diffusers) check this key: the tensors are laid out
    // as PyTorch's own state dict
    map.insert("format".to_string(), "pt".to_string());
    if optimizer {
        map.insert(META_KEY.to_string(), to_json(meta));
    } else {
        // the loss records of a mid-epoch checkpoint are resume state: the Adam file's alone
        let mut model_meta = meta.clone();
        if let Some(mid) = &mut model_meta.mid_epoch {
            mid.losses.clear();
        }
        map.insert(META_KEY.to_string(), to_json(&model_meta));
    }
    map.insert("config".to_string(), to_json(&meta.config));
    map.insert("epoch".to_string(), meta.epoch.to_string());
    map.insert("step".to_string(), meta.step.to_string());
    map.insert("seed".to_string(), meta.seed.to_string());
    if optimizer {
        map.insert("optimizer".to_string(), "adam".to_string());
    }
    map
}

/// JSON of a plain struct (string keys only), which cannot fail.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain structs serialise to JSON")
}

fn check_len(
    path: &Path,
    what: &'static str,
    values: &[f32],
    layout: &Layout,
    config: &ModelConfig,
) -> Result<(), CheckpointError> {
    if values.len() == layout.total {
        return Ok(());
    }
    Err(CheckpointError::Length {
        path: path.to_path_buf(),
        what,
        got: values.len(),
        expected: layout.total,
        model: summary(config),
    })
}

/// The file's bytes: for each `(prefix, buffer)`, one tensor `<prefix><name>` per layout tensor.
fn serialise(
    path: &Path,
    layout: &Layout,
    buffers: &[(&str, &[f32])],
    meta: HashMap<String, String>,
) -> Result<Vec<u8>, CheckpointError> {
    let serialise_err = |source| CheckpointError::Serialise {
        path: path.to_path_buf(),
        source,
    };
    // Little-endian bytes of every buffer first; the views borrow them.
    let bytes: Vec<Vec<u8>> = buffers
        .iter()
        .map(|(_, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(buffers.len() * layout.tensors.len());
    for ((prefix, _), bytes) in buffers.iter().zip(&bytes) {
        for t in &layout.tensors {
            let data = &bytes[t.offset * 4..(t.offset + t.len()) * 4];
            let view = TensorView::new(Dtype::F32, t.shape.clone(), data).map_err(serialise_err)?;
            views.push((format!("{prefix}{}", t.name), view));
        }
    }
    safetensors::serialize(views, Some(meta)).map_err(serialise_err)
}

/// Writes through [`crate::atomic_file`], naming the checkpoint in any error.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    crate::atomic_file::write(path, bytes).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading

fn read(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A parsed safetensors file: its header and the bytes after it.
struct Parsed<'a> {
    header: Metadata,
    data: &'a [u8],
}

/// Checks the safetensors structure and reads the `"wgvae"` metadata.
fn parse<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<(Parsed<'a>, CheckpointMeta), CheckpointError> {
    let (n, header) =
        SafeTensors::read_metadata(bytes).map_err(|source| CheckpointError::Format {
            path: path.to_path_buf(),
            source,
        })?;
    // read_metadata checked that 8 + n + the tensors' bytes is exactly the file's length.
    let data = &bytes[8 + n..];
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| CheckpointError::NoMetadata {
            path: path.to_path_buf(),
        })?;
    let meta: CheckpointMeta =
        serde_json::from_str(json).map_err(|source| CheckpointError::BadMetadata {
            path: path.to_path_buf(),
            source,
        })?;
    if meta.format_version != FORMAT_VERSION {
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found: meta.format_version,
        });
    }
    Ok((Parsed { header, data }, meta))
}

/// `Layout::new(config)` once the config is known to be valid and its sizes to fit in `usize`
/// (a corrupt config must give an error, not an overflow or a panic).
fn checked_layout(path: &Path, config: &ModelConfig) -> Result<Layout, CheckpointError> {
    let invalid = |reason: String| CheckpointError::InvalidConfig {
        path: path.to_path_buf(),
        reason,
    };
    config.validate().map_err(invalid)?;
    // validate() bounds every size, so the arithmetic below cannot overflow; the model may
    // still be too large to address in bytes
    let floats: u128 = Arch::new(config)
        .param_layers()
        .map(|l| {
            let w: usize = l.weight_shape().iter().product();
            (w.div_ceil(ALIGN_FLOATS) + l.bias_len().div_ceil(ALIGN_FLOATS)) as u128
        })
        .sum::<u128>()
        * ALIGN_FLOATS as u128
        + ALIGN_FLOATS as u128;
    let fits = || Some(()).filter(|_| floats * 4 <= isize::MAX as u128);
    if fits().is_none() {
        return Err(invalid(format!(
            "the model ({}) is too large to address",
            summary(config)
        )));
    }
    Ok(Layout::new(config))
}

/// Checks that `file` holds exactly the tensors `<prefix><name>` of `layout` for each prefix,
/// F32 and with the layout's shapes, and copies each prefix's tensors into a flat buffer.
fn gather(
    path: &Path,
    file: &Parsed,
    layout: &Layout,
    config: &ModelConfig,
    prefixes: &[&str],
) -> Result<Vec<Vec<f32>>, CheckpointError> {
    let stored = file.header.tensors();
    let mut problems = Vec::new();
    let mut wanted = BTreeSet::new();
    for prefix in prefixes {
        for t in &layout.tensors {
            let name = format!("{prefix}{}", t.name);
            match stored.get(&name) {
                None => problems.push(format!("missing tensor {name}")),
                Some(info) => {
                    if info.dtype != Dtype::F32 {
                        problems.push(format!("{name} has dtype {}, expected F32", info.dtype));
                    }
                    if info.shape != t.shape {
                        problems.push(format!(
                            "{name} has shape {:?}, expected {:?}",
                            info.shape, t.shape
                        ));
                    }
                }
            }
            wanted.insert(name);
        }
    }
    let mut unexpected: Vec<&String> = stored.keys().filter(|k| !wanted.contains(*k)).collect();
    unexpected.sort();
    problems.extend(
        unexpected
            .into_iter()
            .map(|k| format!("unexpected tensor {k}")),
    );
    if !problems.is_empty() {
        return Err(CheckpointError::Tensors {
            path: path.to_path_buf(),
            model: summary(config),
            problems,
        });
    }
    let mut out = Vec::with_capacity(prefixes.len());
    for prefix in prefixes {
        let mut flat = vec![0.0f32; layout.total];
        for t in &layout.tensors {
            let info = stored[&format!("{prefix}{}", t.name)];
            // Shape and dtype match, and read_metadata checked the offsets against the file.
            let bytes = &file.data[info.data_offsets.0..info.data_offsets.1];
            for (dst, src) in flat[t.range()].iter_mut().zip(bytes.chunks_exact(4)) {
                *dst = f32::from_le_bytes([src[0], src[1], src[2], src[3]]);
            }
        }
        out.push(flat);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Config comparison and messages

/// Fields of `ModelConfig` in declaration order (fields added later are compared too and listed
/// after these, alphabetically).
pub const FIELD_ORDER: [&str; 11] = [
    "arch",
    "height",
    "width",
    "channels",
    "conv_channels",
    "hidden",
    "latent",
    "likelihood",
    "beta",
    "learn_variance",
    "gaussian_logvar",
];

fn check_config(
    path: &Path,
    stored: &ModelConfig,
    expected: &ModelConfig,
) -> Result<(), CheckpointError> {
    if stored == expected {
        return Ok(());
    }
    let diffs = config_diff(stored, expected);
    let (fields, stored_s, expected_s) = if diffs.is_empty() {
        // Only NaN-like differences JSON cannot show; give both whole.
        (
            vec!["config".to_string()],
            format!("{stored:?}"),
            format!("{expected:?}"),
        )
    } else {
        let side = |pick: fn(&(String, String, String)) -> &String| {
            diffs
                .iter()
                .map(|d| format!("{} {}", d.0, pick(d)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        (
            diffs.iter().map(|d| d.0.clone()).collect(),
            side(|d| &d.1),
            side(|d| &d.2),
        )
    };
    Err(CheckpointError::ConfigMismatch {
        path: path.to_path_buf(),
        fields,
        stored: stored_s,
        expected: expected_s,
    })
}

/// `(field, stored value, expected value)` for every field that differs, values as short text.
fn config_diff(stored: &ModelConfig, expected: &ModelConfig) -> Vec<(String, String, String)> {
    use serde_json::{Map, Value};
    // Through a string so f32 fields print as written ("0.1", not "0.10000000149011612").
    let object = |c: &ModelConfig| -> Map<String, Value> {
        serde_json::to_string(c)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    };
    let (a, b) = (object(stored), object(expected));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort_by_key(|k| {
        let rank = FIELD_ORDER
            .iter()
            .position(|f| f == k)
            .unwrap_or(FIELD_ORDER.len());
        (rank, k.as_str())
    });
    keys.dedup();
    let null = Value::Null;
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null));
            (x != y).then(|| (k.clone(), show(x), show(y)))
        })
        .collect()
}

fn show(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// A short description of a model for messages: "mlp 1x28x28, hidden [400], latent 20,
/// bernoulli" (conv models add their channels).
fn summary(c: &ModelConfig) -> String {
    let conv = if c.conv_channels.is_empty() {
        String::new()
    } else {
        format!(", channels {:?}", c.conv_channels)
    };
    format!(
        "{} {}x{}x{}{conv}, hidden {:?}, latent {}, {}",
        c.arch.name(),
        c.channels,
        c.height,
        c.width,
        c.hidden,
        c.latent,
        c.likelihood.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimizer_path_replaces_the_extension() {
        assert_eq!(
            optimizer_path(Path::new("runs/vae.safetensors")),
            PathBuf::from("runs/vae.adam.safetensors")
        );
        assert_eq!(
            optimizer_path(Path::new("runs/vae")),
            PathBuf::from("runs/vae.adam.safetensors")
        );
        assert_eq!(
            legacy_optimizer_path(Path::new("runs/vae.safetensors")),
            PathBuf::from("runs/vae.safetensors.adam.safetensors")
        );
    }

    #[test]
    fn diff_lists_only_differing_fields_in_order() {
        let a = ModelConfig::default();
        let b = ModelConfig {
            hidden: vec![512],
            beta: 0.1,
            ..ModelConfig::default()
        };
        let d = config_diff(&a, &b);
        assert_eq!(
            d,
            vec![
                ("hidden".into(), "[400]".into(), "[512]".into()),
                ("beta".into(), "1.0".into(), "0.1".into()),
            ]
        );
    }

    #[test]
    fn huge_config_is_an_error_not_a_panic() {
        let c = ModelConfig {
            height: usize::MAX / 2,
            width: 3,
            ..ModelConfig::default()
        };
        let e = checked_layout(Path::new("x"), &c).unwrap_err();
        assert!(e.to_string().contains("image size"), "{e}");
    }
}
