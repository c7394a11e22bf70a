//! What a front end asks of a training run, field for field the command's flags, turned into
//! the model's [`ModelConfig`] and the run's [`TrainConfig`] in one place, so that `wgvae
//! train` and the Python module's `train` build the same run from the same settings. Messages
//! name the command's flags, which the other front ends name their arguments after.

use std::path::PathBuf;

use crate::config::{ArchKind, Likelihood, ModelConfig};
use crate::cpu::ops::AdamHyper;
use crate::data::patches::PatchSpec;
use crate::gpu::ops::LinearVariant;
use crate::train::{LrSchedule, TrainConfig};

/// A training run as the user describes it. [`Default`] gives the command's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSettings {
    /// `--data`: an MNIST IDX folder or an image folder; None = the embedded MNIST subset.
    pub data: Option<PathBuf>,
    pub epochs: usize,
    pub batch: usize,
    pub arch: ArchKind,
    /// `--channels` (conv): None = the conv default.
    pub conv_channels: Option<Vec<usize>>,
    /// `--hidden`: None = the architecture's default.
    pub hidden: Option<Vec<usize>>,
    /// `--color`: 1 (grey) or 3 (RGB).
    pub channels: usize,
    pub patch: Option<usize>,
    pub patches: usize,
    pub augment: bool,
    pub corrupt_noise: f32,
    pub latent: usize,
    pub beta: f32,
    pub likelihood: Likelihood,
    pub learn_variance: bool,
    pub gaussian_logvar: f32,
    /// `--size`: rows and columns, for image folders.
    pub size: (usize, usize),
    pub lr: f32,
    pub lr_schedule: LrSchedule,
    pub weight_decay: f32,
    pub seed: u64,
    pub out: PathBuf,
    pub resume: bool,
    pub steps_per_submit: usize,
    pub log_every: usize,
    pub checkpoint_every: Option<u64>,
    pub variant: Option<LinearVariant>,
}

impl Default for TrainSettings {
    fn default() -> Self {
        let model = ModelConfig::default();
        let run = TrainConfig::default();
        TrainSettings {
            data: None,
            epochs: run.epochs,
            batch: run.batch,
            arch: ArchKind::Mlp,
            conv_channels: None,
            hidden: None,
            channels: 1,
            patch: None,
            patches: 10_000,
            augment: false,
            corrupt_noise: 0.0,
            latent: model.latent,
            beta: model.beta,
            likelihood: model.likelihood,
            learn_variance: false,
            gaussian_logvar: model.gaussian_logvar,
            size: (model.height, model.width),
            lr: run.adam.lr,
            lr_schedule: LrSchedule::Constant,
            weight_decay: 0.0,
            seed: run.seed,
            out: run.out,
            resume: false,
            steps_per_submit: run.steps_per_submit,
            log_every: run.log_every,
            checkpoint_every: None,
            variant: None,
        }
    }
}

impl TrainSettings {
    /// The model and the run these settings describe, every check made: an error is wrong
    /// usage, one line naming the flag.
    pub fn resolve(&self) -> Result<(ModelConfig, TrainConfig), String> {
        let defaults = match self.arch {
            ArchKind::Mlp => ModelConfig::default(),
            ArchKind::Conv => ModelConfig::conv_default(),
        };
        let (height, width) = match self.patch {
            Some(p) => (p, p),
            None => self.size,
        };
        if self.patch == Some(0) || self.patches == 0 {
            return Err("--patch and --patches must be at least 1".into());
        }
        if self.augment && self.patch.is_none() {
            return Err("--augment applies to --patch training only".into());
        }
        if self.likelihood == Likelihood::Bernoulli && self.learn_variance {
            return Err("--learn-variance applies to --likelihood gaussian only".into());
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(format!("--beta must be >= 0, got {}", self.beta));
        }
        let cfg = ModelConfig {
            arch: self.arch,
            height,
            width,
            channels: self.channels,
            conv_channels: self.conv_channels.clone().unwrap_or(defaults.conv_channels),
            hidden: self.hidden.clone().unwrap_or(defaults.hidden),
            latent: self.latent,
            likelihood: self.likelihood,
            beta: self.beta,
            learn_variance: self.learn_variance,
            gaussian_logvar: self.gaussian_logvar,
        };
        let tc = TrainConfig {
            epochs: self.epochs,
            batch: self.batch,
            adam: AdamHyper {
                lr: self.lr,
                weight_decay: self.weight_decay,
                ..AdamHyper::default()
            },
            seed: self.seed,
            data: self.data.clone(),
            out: self.out.clone(),
            resume: self.resume,
            steps_per_submit: self.steps_per_submit,
            log_every: self.log_every,
            checkpoint_every: self.checkpoint_every,
            variant: self.variant,
            patch: self.patch.map(|size| PatchSpec {
                size,
                count: self.patches,
                augment: self.augment,
            }),
            corrupt_noise: self.corrupt_noise,
            lr_schedule: self.lr_schedule,
        };
        cfg.validate()?;
        tc.validate().map_err(|e| e.to_string())?;
        Ok((cfg, tc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_commands_run() {
        let (cfg, tc) = TrainSettings::default().resolve().unwrap();
        assert_eq!(cfg, ModelConfig::default());
        assert_eq!(tc.epochs, 10);
        assert_eq!(tc.batch, 128);
        assert_eq!(tc.out, PathBuf::from("runs/vae.safetensors"));
    }

    #[test]
    fn conv_takes_its_defaults_and_a_patch_sets_the_size() {
        let s = TrainSettings {
            arch: ArchKind::Conv,
            patch: Some(16),
            size: (40, 50),
            ..TrainSettings::default()
        };
        let (cfg, tc) = s.resolve().unwrap();
        assert_eq!(cfg.conv_channels, ModelConfig::conv_default().conv_channels);
        assert_eq!((cfg.height, cfg.width), (16, 16));
        assert_eq!(tc.patch.map(|p| p.count), Some(10_000));
    }

    #[test]
    fn impossible_settings_name_the_flag() {
        let refused = |s: TrainSettings| s.resolve().unwrap_err();
        let d = TrainSettings::default;
        assert!(refused(TrainSettings {
            augment: true,
            ..d()
        })
        .contains("--augment"));
        assert!(refused(TrainSettings { epochs: 0, ..d() }).contains("--epochs"));
        assert!(refused(TrainSettings { channels: 2, ..d() }).contains("3 (RGB) channels"));
        assert!(refused(TrainSettings {
            lr: f32::NAN,
            ..d()
        })
        .contains("--lr"));
        let learn = TrainSettings {
            learn_variance: true,
            ..d()
        };
        assert!(refused(learn).contains("--learn-variance"));
    }
}
