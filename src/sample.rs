//! `wgvae sample`: decoded prior samples, and originals beside their reconstructions, as PNG
//! grids; and the encoder and decoder on their own (the Python module's `encode` and
//! `decode`). Decoding and encoding run on the GPU through the model's programs.

use crate::config::Likelihood;
use crate::error::GpuError;
use crate::gpu::buffers;
use crate::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use crate::gpu::GpuContext;
use crate::model::op::{Act, ActId};
use crate::model::program::Op;

/// The output activation that turns the decoder's output into pixels in [0, 1].
fn pixel_act(model: &GpuModel) -> Act {
    match model.model.cfg.likelihood {
        Likelihood::Bernoulli => Act::Sigmoid,
        Likelihood::Gaussian => Act::None,
    }
}

fn images_of(flat: Vec<f32>, dim: usize) -> Vec<Vec<f32>> {
    flat.chunks_exact(dim)
        .map(|c| c.iter().map(|v| v.clamp(0.0, 1.0)).collect())
        .collect()
}

/// Runs `program` on a fresh batch of `n` (with `input` written into its activation first, if
/// given) and returns the decoder's output as images.
fn run_decoding(
    ctx: &GpuContext,
    model: &GpuModel,
    n: usize,
    input: Option<(ActId, &[f32])>,
    program: &[Op],
) -> Result<Vec<Vec<f32>>, GpuError> {
    let spec = &model.model;
    let acts = GpuActs::new(ctx, spec, n)?;
    if let Some((id, values)) = input {
        buffers::write(ctx, acts.get(id), values);
    }
    let io = StepIo::at_step(ctx, 0, 1);
    recorder::run(ctx, program, model, &acts, &io)?;
    let d = spec.cfg.input_dim();
    let out = acts.get(spec.acts.out()).sub(0, (n * d) as u64);
    Ok(images_of(buffers::read(ctx, &out)?, d))
}

/// `n` images decoded from z ~ N(0, I), the normals drawn on the GPU by Philox (seed).
pub fn prior_samples(
    ctx: &GpuContext,
    model: &GpuModel,
    n: usize,
    seed: u64,
) -> Result<Vec<Vec<f32>>, GpuError> {
    let program = model.model.prior_samples(n, seed, pixel_act(model));
    run_decoding(ctx, model, n, None, &program)
}

/// Each image (values in [0, 1], CHW) encoded to its posterior mean and decoded.
pub fn reconstructions(
    ctx: &GpuContext,
    model: &GpuModel,
    images: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>, GpuError> {
    let n = images.len();
    let flat: Vec<f32> = images.iter().flatten().copied().collect();
    let program = model.model.reconstruct(n, pixel_act(model));
    run_decoding(ctx, model, n, Some((model.model.acts.x, &flat)), &program)
}

/// Each image (values in [0, 1], CHW) encoded: the posterior's mean and log-variance, each
/// `images.len()` rows of the latent size.
pub fn encode(
    ctx: &GpuContext,
    model: &GpuModel,
    images: &[Vec<f32>],
) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
    let spec = &model.model;
    let n = images.len();
    let acts = GpuActs::new(ctx, spec, n)?;
    let flat: Vec<f32> = images.iter().flatten().copied().collect();
    buffers::write(ctx, acts.get(spec.acts.x), &flat);
    let io = StepIo::at_step(ctx, 0, 1);
    recorder::run(ctx, &spec.encode(n), model, &acts, &io)?;
    let len = (n * spec.cfg.latent) as u64;
    let mu = buffers::read(ctx, &acts.get(spec.acts.mu).sub(0, len))?;
    let logvar = buffers::read(ctx, &acts.get(spec.acts.logvar).sub(0, len))?;
    Ok((mu, logvar))
}

/// Each latent row of `z` (`n` rows of the latent size) decoded to an image in [0, 1].
pub fn decode(ctx: &GpuContext, model: &GpuModel, z: &[f32]) -> Result<Vec<Vec<f32>>, GpuError> {
    let spec = &model.model;
    let n = z.len() / spec.cfg.latent;
    let program = spec.decode(n, spec.acts.z, pixel_act(model));
    run_decoding(ctx, model, n, Some((spec.acts.z, z)), &program)
}
