//! The prior a restoration uses: a built-in model (chosen by name or by the picture) or a
//! checkpoint, and the methods' settings from [`MethodOptions`] and the checkpoint (its
//! calibrated pixel variance).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::checkpoint::{self, CheckpointError, CheckpointMeta};
use crate::model::Model;
use crate::picture::Picture;
use crate::restore::denoiser;
use crate::restore::methods::Settings;
use crate::restore::program::PixelVariance;

/// The default prior of `sample` and the digit benchmarks, built into the binary so they work
/// from any folder before anyone trains: `models/mnist-mlp.safetensors` (2.6 MB; how it was
/// trained is in BENCHMARKS.md).
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../../models/mnist-mlp.safetensors");

/// What messages call the built-in digit model.
pub const BUILTIN_MODEL_NAME: &str = "built-in models/mnist-mlp.safetensors";

/// The models built into the binary, by the names `--model` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinModel {
    /// `digits`: the MLP on 28x28 MNIST digits (`models/mnist-mlp.safetensors`).
    Digits,
    /// `photo-grey`: the grey photo model, a conv VAE on 12x12 patches
    /// (`models/photo-grey.safetensors`).
    PhotoGrey,
    /// `photo-rgb`: the colour photo model (`models/photo-rgb.safetensors`).
    PhotoRgb,
}

impl BuiltinModel {
    /// Every built-in model.
    pub const ALL: [BuiltinModel; 3] = [
        BuiltinModel::Digits,
        BuiltinModel::PhotoGrey,
        BuiltinModel::PhotoRgb,
    ];

    /// The name `--model` takes.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinModel::Digits => "digits",
            BuiltinModel::PhotoGrey => "photo-grey",
            BuiltinModel::PhotoRgb => "photo-rgb",
        }
    }

    /// The committed file it was built from.
    pub fn file(self) -> &'static str {
        match self {
            BuiltinModel::Digits => "models/mnist-mlp.safetensors",
            BuiltinModel::PhotoGrey => "models/photo-grey.safetensors",
            BuiltinModel::PhotoRgb => "models/photo-rgb.safetensors",
        }
    }

    /// The checkpoint's bytes, embedded at build time.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            BuiltinModel::Digits => BUILTIN_MODEL,
            BuiltinModel::PhotoGrey => include_bytes!("../../models/photo-grey.safetensors"),
            BuiltinModel::PhotoRgb => include_bytes!("../../models/photo-rgb.safetensors"),
        }
    }

    /// The built-in model of that name, if any.
    pub fn from_name(name: &str) -> Option<BuiltinModel> {
        BuiltinModel::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The model for `picture` when the user names none, and why: a colour photo gets the
    /// colour photo model; a grey one (or a colour file whose three channels are equal) the
    /// grey photo model, unless it is no larger than twice the digit model's 28x28, which is
    /// what a digit looks like. The digit model's windows never tile a photo.
    pub fn for_picture(picture: &Picture) -> (BuiltinModel, String) {
        let (h, w) = (picture.height, picture.width);
        let grey_in_colour = picture.channels == 3 && {
            let n = h * w;
            let d = &picture.data;
            (0..n).all(|i| d[i] == d[n + i] && d[i] == d[2 * n + i])
        };
        if picture.channels == 3 && !grey_in_colour {
            return (BuiltinModel::PhotoRgb, "a colour picture".into());
        }
        let grey = if grey_in_colour {
            "a grey picture in colour channels"
        } else {
            "a grey picture"
        };
        if h <= DIGIT_SIDE && w <= DIGIT_SIDE {
            let why = format!("{grey} of at most {DIGIT_SIDE}x{DIGIT_SIDE}, a digit's size");
            return (BuiltinModel::Digits, why);
        }
        (
            BuiltinModel::PhotoGrey,
            format!("{grey} larger than {DIGIT_SIDE}x{DIGIT_SIDE}"),
        )
    }
}

/// The largest side a grey picture may have to be taken for a digit: twice the digit model's 28.
const DIGIT_SIDE: usize = 56;

/// A built-in model as the front ends list it (the server's `GET /api/models`, the browser
/// build's `builtinModels()`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModelInfo {
    /// The name `--model` takes.
    pub name: &'static str,
    /// "grey" or "colour".
    pub colour: &'static str,
    /// The model's window, in pixels (square).
    pub window: usize,
}

/// Every built-in model, loaded once to read its configuration.
pub fn builtin_models() -> Result<Vec<ModelInfo>, PriorError> {
    BuiltinModel::ALL
        .into_iter()
        .map(|m| {
            let cfg = Prior::builtin_model(m)?.model.cfg;
            Ok(ModelInfo {
                name: m.name(),
                colour: if cfg.channels == 3 { "colour" } else { "grey" },
                window: cfg.height,
            })
        })
        .collect()
}

/// Where a prior comes from: a built-in model by name, or a checkpoint file. Parsed from
/// `--model`: one of the built-in names (`digits`, `photo-grey`, `photo-rgb`), else a path
/// (`./digits` names a file called `digits`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// A model built into the binary.
    Builtin(BuiltinModel),
    /// A checkpoint written by `wgvae train`.
    File(PathBuf),
}

impl std::str::FromStr for ModelSource {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match BuiltinModel::from_name(s) {
            Some(m) => ModelSource::Builtin(m),
            None => ModelSource::File(PathBuf::from(s)),
        })
    }
}

impl std::fmt::Display for ModelSource {
    /// The built-in model's name, or the checkpoint's path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Builtin(m) => f.write_str(m.name()),
            ModelSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The variance scale used when neither the flag nor the checkpoint gives one: the decoder's
/// own Bernoulli variance mean (1 - mean), unscaled.
const FALLBACK_VAR_SCALE: f32 = 1.0;

/// Why a prior or the methods' settings could not be had.
#[derive(Debug, Error)]
pub enum PriorError {
    #[error(
        "{}: no such checkpoint (train one with `wgvae train`, or name a built-in model: \
         digits, photo-grey, photo-rgb)",
        .0.display()
    )]
    Missing(PathBuf),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint's config describes no model this build can make.
    #[error("{0}")]
    Model(String),
    /// An impossible option (the flag's name in the message, as the command line spells it).
    #[error("{0}")]
    Option(String),
}

/// A model to restore with: its checkpoint's metadata and parameters, and the model they
/// describe.
#[derive(Clone, Debug)]
pub struct Prior {
    /// Where it came from, as messages name it (a path, or the built-in model's name).
    pub name: PathBuf,
    pub meta: CheckpointMeta,
    pub params: Vec<f32>,
    pub model: Model,
}

impl Prior {
    /// The built-in digit model (`models/mnist-mlp.safetensors`).
    pub fn builtin() -> Result<Prior, PriorError> {
        Prior::from_bytes(Path::new(BUILTIN_MODEL_NAME), BUILTIN_MODEL)
    }

    /// A model built into the binary; messages call it "built-in <its file>".
    pub fn builtin_model(model: BuiltinModel) -> Result<Prior, PriorError> {
        let name = format!("built-in {}", model.file());
        Prior::from_bytes(Path::new(&name), model.bytes())
    }

    /// The prior `source` names.
    pub fn from_source(source: &ModelSource) -> Result<Prior, PriorError> {
        match source {
            ModelSource::Builtin(m) => Prior::builtin_model(*m),
            ModelSource::File(path) => Prior::load(path),
        }
    }

    /// A checkpoint file, with every check `wgvae restore --model` makes.
    pub fn load(path: &Path) -> Result<Prior, PriorError> {
        if !path.exists() {
            return Err(PriorError::Missing(path.to_path_buf()));
        }
        let (meta, params) = checkpoint::load_model(path, None)?;
        Prior::new(path, meta, params)
    }

    /// A checkpoint already in memory (a browser's upload, a Python `bytes`); `name` is what
    /// messages call it.
    pub fn from_bytes(name: &Path, bytes: &[u8]) -> Result<Prior, PriorError> {
        let (meta, params) = checkpoint::load_model_bytes(name, bytes, None)?;
        Prior::new(name, meta, params)
    }

    fn new(name: &Path, meta: CheckpointMeta, params: Vec<f32>) -> Result<Prior, PriorError> {
        let model = Model::new(&meta.config).map_err(PriorError::Model)?;
        Ok(Prior {
            name: name.to_path_buf(),
            meta,
            params,
            model,
        })
    }
}

/// The prior `source` names, or the built-in digit model when None.
pub fn load_prior(source: Option<&ModelSource>) -> Result<Prior, PriorError> {
    match source {
        Some(source) => Prior::from_source(source),
        None => Prior::builtin(),
    }
}

/// The knobs of the VAE methods; [`Default`] gives the documented defaults, the command
/// line's.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodOptions {
    /// Adam steps on the latent code (map, posterior); None: 150, or 0 for a denoising VAE.
    pub steps: Option<usize>,
    /// Adam's learning rate on the latent code.
    pub step_lr: f32,
    /// The model's own error as a noise level; None: chosen from the degradation
    /// ([`crate::restore::methods::model_sigma_for`]).
    pub model_sigma: Option<f32>,
    /// Scale of the decoder's pixel variance; None: the checkpoint's calibrated value.
    pub var_scale: Option<f32>,
    /// Codes drawn around the MAP code and importance-weighted for the posterior mean.
    pub samples: usize,
    /// Spread (standard deviation) of those codes around the MAP code.
    pub sample_scale: f32,
    /// Pixels between overlapping windows; None: half a window, a quarter for a denoising VAE.
    pub window_step: Option<usize>,
    /// Images (or windows) restored per GPU batch (times `samples` rows on the GPU).
    pub batch: usize,
}

/// Windows restored per GPU batch unless told otherwise: on lavapipe a 512x512 photo restores
/// 11% faster at 1,024 than at 256 and no faster at 4,096 (BENCHMARKS.md), for 50 MB more; the
/// results are the same at any batch.
pub const DEFAULT_BATCH: usize = 1024;

impl Default for MethodOptions {
    fn default() -> Self {
        MethodOptions {
            steps: None,
            step_lr: 0.05,
            model_sigma: None,
            var_scale: None,
            samples: 1,
            sample_scale: 0.15,
            window_step: None,
            batch: DEFAULT_BATCH,
        }
    }
}

/// The decoder's pixel variance `scale * shape(mean)` (shape mean (1 - mean) for a Bernoulli
/// decoder, 1 for a Gaussian one): the scale given, else the checkpoint's calibrated one, else
/// the model's own (1 for Bernoulli, exp(logvar_x) for Gaussian).
pub fn pixel_variance(
    meta: &CheckpointMeta,
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
pub fn settings(k: &MethodOptions, prior: &Prior) -> Result<Settings, PriorError> {
    let (meta, params, model) = (&prior.meta, &prior.params[..], &prior.model);
    let bail = |m: String| Err(PriorError::Option(m));
    if k.batch == 0 || k.samples == 0 {
        return bail("--samples and --batch must be at least 1".into());
    }
    if !(k.sample_scale.is_finite() && k.sample_scale > 0.0) {
        return bail(format!(
            "--sample-scale must be a positive number, not {}",
            k.sample_scale
        ));
    }
    let sigma = k.model_sigma.unwrap_or(f32::MIN_POSITIVE);
    for (v, name) in [(k.step_lr, "--step-lr"), (sigma, "--model-sigma")] {
        if !(v.is_finite() && v > 0.0) {
            return bail(format!("{name} must be a positive number, not {v}"));
        }
    }
    if let Some(s) = k.var_scale.filter(|s| !(s.is_finite() && *s > 0.0)) {
        return bail(format!("--var-scale must be positive, not {s}"));
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
