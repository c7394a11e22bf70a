//! `wgvae sample`: decoded prior samples, and originals beside their reconstructions, as PNG
//! grids. Decoding and encoding run on the GPU through the model's programs.

use crate::config::Likelihood;
use crate::error::GpuError;
use crate::gpu::buffers;
use crate::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use crate::gpu::GpuContext;
use crate::model::op::Act;
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

/// Runs `program` on a fresh batch of `n` (with `input` written into x first, if given) and
/// returns the decoder's output as images.
fn run_decoding(
    ctx: &GpuContext,
    model: &GpuModel,
    n: usize,
    input: Option<&[f32]>,
    program: &[Op],
) -> Result<Vec<Vec<f32>>, GpuError> {
    let spec = &model.model;
    let acts = GpuActs::new(ctx, spec, n)?;
    if let Some(x) = input {
        buffers::write(ctx, acts.get(spec.acts.x), x);
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
    run_decoding(ctx, model, n, Some(&flat), &program)
}
