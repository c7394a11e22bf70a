//! The checkpoint file protocol: where the Adam state lives beside the model, atomic writes,
//! the commit order of a training run's pair, and which Adam state `--resume` takes.

use std::fs;
use std::path::{Path, PathBuf};

use super::compat::check_config;
use super::format::{
    check_len, checked_layout, gather, metadata, non_finite_tensors, parse, serialise,
};
use super::{CheckpointError, CheckpointMeta};
use crate::config::ModelConfig;

/// Where the Adam state of the model checkpoint `model` lives: its stem with
/// `.adam.safetensors` (`runs/vae.safetensors` -> `runs/vae.adam.safetensors`), as the loss
/// curve and the grids are named beside it.
pub fn optimizer_path(model: &Path) -> PathBuf {
    model.with_extension("adam.safetensors")
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
/// [`optimizer_path`]; a run killed between the two leaves it here, and [`load_optimizer_state`]
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

/// What `--resume` reads from the Adam state file.
pub struct OptimizerState {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    /// The loss records of the epoch so far, for a checkpoint written mid-epoch.
    pub epoch_losses: Vec<[f32; 4]>,
}

/// Loads the Adam state saved beside `model_path` (the pending one when a run was killed
/// between its two renames), checking that it was saved with the same config and at the same
/// step as `meta` (the loaded model checkpoint's), so Adam's bias correction is never applied
/// to stale moments. Returns the moments, laid out like the parameters, and the loss records
/// of a mid-epoch checkpoint.
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
/// ([`save_training_state`]), else [`optimizer_path`].
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
        optimizer_path(model_path)
    }
}

/// Writes through [`crate::atomic_file`], naming the checkpoint in any error.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    crate::atomic_file::write(path, bytes).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })
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
    }
}
