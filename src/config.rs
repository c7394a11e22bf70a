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
    pub fn name(self) -> &'static str {
        match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian => "gaussian",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Image height and width; the input dimension is rows * cols (grey pixels).
    pub rows: usize,
    pub cols: usize,
    /// Encoder hidden sizes from the input side; the decoder mirrors them.
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
            rows: 28,
            cols: 28,
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
    pub fn input_dim(&self) -> usize {
        self.rows * self.cols
    }

    /// Checks the sizes a user can set; the message names the flag.
    pub fn validate(&self) -> Result<(), String> {
        if self.input_dim() == 0 {
            return Err("the input image size must be at least 1x1".into());
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
