//! The prior a restoration uses: the built-in digit model or a checkpoint, and the methods'
//! settings from the flags and the checkpoint (its calibrated pixel variance).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::checkpoint;
use crate::cli::MethodArgs;
use crate::model::Model;
use crate::restore::denoiser;
use crate::restore::methods::Settings;
use crate::restore::program::PixelVariance;

/// The default prior, built into the binary so `restore`, `sample` and `enhance --vae-refine`
/// work from any folder before anyone trains: `models/mnist-mlp.safetensors` (2.6 MB; how it
/// was trained is in BENCHMARKS.md).
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../../models/mnist-mlp.safetensors");

/// What messages call the built-in model.
pub const BUILTIN_MODEL_NAME: &str = "built-in models/mnist-mlp.safetensors";

/// The variance scale used when neither the flag nor the checkpoint gives one: the decoder's
/// own Bernoulli variance mean (1 - mean), unscaled.
const FALLBACK_VAR_SCALE: f32 = 1.0;

/// The model and its parameters from `--model`, or the built-in default.
pub fn load_prior(path: Option<&Path>) -> Result<(PathBuf, checkpoint::CheckpointMeta, Vec<f32>)> {
    let Some(path) = path else {
        let name = PathBuf::from(BUILTIN_MODEL_NAME);
        let (meta, params) = checkpoint::load_model_bytes(&name, BUILTIN_MODEL, None)?;
        return Ok((name, meta, params));
    };
    if !path.exists() {
        bail!(
            "{}: no such checkpoint (train one with `wgvae train`, or leave out --model for the built-in digit model)",
            path.display()
        );
    }
    let (meta, params) = checkpoint::load_model(path, None)?;
    Ok((path.to_path_buf(), meta, params))
}

/// The decoder's pixel variance `scale * shape(mean)` (shape mean (1 - mean) for a Bernoulli
/// decoder, 1 for a Gaussian one): the scale given, else the checkpoint's calibrated one, else
/// the model's own (1 for Bernoulli, exp(logvar_x) for Gaussian).
pub fn pixel_variance(
    meta: &checkpoint::CheckpointMeta,
    params: &[f32],
    model: &Model,
    scale: Option<f32>,
) -> PixelVariance {
    let own = match model.layout.get("logvar_x") {
        Some(t) => params[t.offset].exp(),
        None => FALLBACK_VAR_SCALE,
    };
    PixelVariance {
        scale: scale.or(meta.pixel_var_scale).unwrap_or(own),
        floor: 1e-6,
    }
}

/// The methods' settings from the flags, the variance scale from the checkpoint when the flag
/// leaves it out.
pub fn settings(
    k: &MethodArgs,
    meta: &checkpoint::CheckpointMeta,
    params: &[f32],
    model: &Model,
) -> Result<Settings> {
    if k.batch == 0 || k.samples == 0 {
        bail!("--samples and --batch must be at least 1");
    }
    if !(k.sample_scale.is_finite() && k.sample_scale > 0.0) {
        bail!(
            "--sample-scale must be a positive number, not {}",
            k.sample_scale
        );
    }
    let sigma = k.model_sigma.unwrap_or(f32::MIN_POSITIVE);
    for (v, name) in [(k.step_lr, "--step-lr"), (sigma, "--model-sigma")] {
        if !(v.is_finite() && v > 0.0) {
            bail!("{name} must be a positive number, not {v}");
        }
    }
    if let Some(s) = k.var_scale.filter(|s| !(s.is_finite() && *s > 0.0)) {
        bail!("--var-scale must be positive, not {s}");
    }
    Ok(Settings {
        map_steps: k
            .steps
            .unwrap_or_else(|| denoiser::default_map_steps(meta, Settings::default().map_steps)),
        map_lr: k.step_lr,
        model_sigma: k.model_sigma.unwrap_or(Settings::default().model_sigma),
        var: pixel_variance(meta, params, model, k.var_scale),
        samples: k.samples,
        sample_scale: k.sample_scale,
        ..Settings::default()
    })
}
