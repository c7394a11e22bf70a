//! Initial parameters, as PyTorch initialises its modules.

use rand::{Rng, SeedableRng};

use crate::model::Model;

/// Weights and biases uniform in +-1/sqrt(fan_in), fan_in as `torch.nn.init` computes it for
/// the weight (`Linear`, `Conv2d`, `ConvTranspose2d` alike); the Gaussian log-variance at its
/// configured value. Drawn in layout order from one seeded generator.
pub fn init_params(model: &Model, seed: u64) -> Vec<f32> {
    let layout = &model.layout;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut params = vec![0.0f32; layout.total];
    for layer in model.arch.param_layers() {
        let bound = 1.0 / (layer.fan_in() as f32).sqrt();
        for suffix in ["weight", "bias"] {
            let r = layout.tensor(&format!("{}.{suffix}", layer.name)).range();
            for p in &mut params[r] {
                *p = rng.random_range(-bound..bound);
            }
        }
    }
    if let Some(t) = layout.get("logvar_x") {
        params[t.offset] = model.cfg.gaussian_logvar;
    }
    params
}
