//! Model and training configuration. `ModelConfig` is stored in every checkpoint's metadata and
//! must match on load.

use serde::{Deserialize, Serialize};

/// The decoder's output distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Pixels in [0, 1] as Bernoulli means; loss is BCE-with-logits (pytorch/examples/vae).
    Bernoulli,
    /// Pixels as Gaussian with the decoder output as mean and one shared log-variance, the
    /// tensor `logvar_x` (fixed at its initial value unless `learn_variance`).
    Gaussian,
}

impl Likelihood {
    /// The lowercase name, as serialised and as printed in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian => "gaussian",
        }
    }
}

/// The family of the model; `model::arch` turns a config into its list of layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchKind {
    /// Fully connected: pytorch/examples/vae's model and its deeper variants.
    #[default]
    Mlp,
    /// Convolutional: stride-2 convolutions down, dense layers, transposed convolutions up.
    Conv,
}

impl ArchKind {
    /// The lowercase name, as serialised and as printed in summaries.
    pub fn name(self) -> &'static str {
        match self {
            ArchKind::Mlp => "mlp",
            ArchKind::Conv => "conv",
        }
    }
}

fn one() -> usize {
    1
}

/// Checkpoints before the conv model stored `rows` and `cols` for the image size; they load
/// through the serde aliases, and an absent `arch` or `channels` means the MLP on grey images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    #[serde(default)]
    pub arch: ArchKind,
    /// Image height and width in pixels.
    #[serde(alias = "rows")]
    pub height: usize,
    #[serde(alias = "cols")]
    pub width: usize,
    /// Image channels: 1 grey, 3 RGB (stored planar, NCHW).
    #[serde(default = "one")]
    pub channels: usize,
    /// Conv only: output channels of the encoder's convolutions from the input side (each
    /// k4 s2 p1, halving the image); the decoder's transposed convolutions mirror them.
    #[serde(default)]
    pub conv_channels: Vec<usize>,
    /// Dense hidden sizes from the input side (after the convolutions for conv); the decoder
    /// mirrors them.
    pub hidden: Vec<usize>,
    pub latent: usize,
    pub likelihood: Likelihood,
    /// Weight of the KL term (1 is the plain ELBO).
    pub beta: f32,
    /// Gaussian only: train `logvar_x` (else it stays at `gaussian_logvar`).
    pub learn_variance: bool,
    /// Gaussian only: initial (or fixed) log-variance of every pixel.
    pub gaussian_logvar: f32,
}

impl Default for ModelConfig {
    /// The model of pytorch/examples/vae: 784-400-20, Bernoulli.
    fn default() -> Self {
        ModelConfig {
            arch: ArchKind::Mlp,
            height: 28,
            width: 28,
            channels: 1,
            conv_channels: Vec::new(),
            hidden: vec![400],
            latent: 20,
            likelihood: Likelihood::Bernoulli,
            beta: 1.0,
            learn_variance: false,
            gaussian_logvar: 0.0,
        }
    }
}

impl ModelConfig {
    /// The comparison conv VAE (model issue): 28x28 grey, conv 32, 64, dense 256, latent 20.
    pub fn conv_default() -> Self {
        ModelConfig {
            arch: ArchKind::Conv,
            conv_channels: vec![32, 64],
            hidden: vec![256],
            ..ModelConfig::default()
        }
    }

    /// Values per image: channels x height x width.
    pub fn input_dim(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Checks the sizes a user can set; the message names the flag.
    pub fn validate(&self) -> Result<(), String> {
        if self.height == 0 || self.width == 0 || self.height > 4096 || self.width > 4096 {
            return Err(format!(
                "the image size must be between 1x1 and 4096x4096, got {}x{}",
                self.height, self.width
            ));
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(format!(
                "images must have 1 (grey) or 3 (RGB) channels, got {}",
                self.channels
            ));
        }
        match self.arch {
            ArchKind::Mlp if !self.conv_channels.is_empty() => {
                return Err("--channels applies to --arch conv only".into());
            }
            ArchKind::Conv => {
                if self.conv_channels.is_empty()
                    || self.conv_channels.len() > 6
                    || self.conv_channels.iter().any(|&c| c == 0 || c > 1024)
                {
                    return Err(format!(
                        "--channels must list 1 to 6 sizes in 1..=1024, got {:?}",
                        self.conv_channels
                    ));
                }
                let f = 1usize << self.conv_channels.len();
                if !self.height.is_multiple_of(f) || !self.width.is_multiple_of(f) {
                    return Err(format!(
                        "a conv model with {} stride-2 layers needs an image size divisible by {f}, got {}x{}",
                        self.conv_channels.len(),
                        self.height,
                        self.width
                    ));
                }
            }
            ArchKind::Mlp => {}
        }
        if self.latent == 0 || self.latent > 4096 {
            return Err(format!("--latent must be in 1..=4096, got {}", self.latent));
        }
        if self.hidden.is_empty() || self.hidden.iter().any(|&h| h == 0 || h > 16384) {
            return Err(format!(
                "--hidden sizes must be in 1..=16384, got {:?}",
                self.hidden
            ));
        }
        if !self.beta.is_finite() || self.beta < 0.0 {
            return Err(format!(
                "--beta must be a finite number >= 0, got {}",
                self.beta
            ));
        }
        if !self.gaussian_logvar.is_finite() {
            return Err("the Gaussian log-variance must be finite".into());
        }
        Ok(())
    }
}
