//! `wgvae sample`: decoded prior samples, and originals beside their reconstructions, as PNG
//! grids. Decoding and encoding run on the GPU with the training kernels.

use crate::config::Likelihood;
use crate::cpu::ops::Act;
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops;
use crate::gpu::vae::{self, BatchBuffers, GpuVae};
use crate::gpu::GpuContext;

/// The output activation that turns the decoder's output into pixels in [0, 1].
fn pixel_act(vae: &GpuVae) -> Act {
    match vae.cfg.likelihood {
        Likelihood::Bernoulli => Act::Sigmoid,
        Likelihood::Gaussian => Act::None,
    }
}

fn rows_of(flat: Vec<f32>, dim: usize) -> Vec<Vec<f32>> {
    flat.chunks_exact(dim)
        .map(|c| c.iter().map(|v| v.clamp(0.0, 1.0)).collect())
        .collect()
}

/// `n` images decoded from z ~ N(0, I), the normals drawn on the GPU by Philox (seed).
pub fn prior_samples(
    ctx: &GpuContext,
    vae: &GpuVae,
    n: usize,
    seed: u64,
) -> Result<Vec<Vec<f32>>, GpuError> {
    let l = vae.cfg.latent;
    let bufs = BatchBuffers::new(ctx, &vae.cfg, n)?;
    let zeros = View::whole(&buffers::zeros(ctx, "zeros", (n * l) as u64));
    let state = vae::step_state(ctx, 0);
    let mut program = vec![ops::reparam_forward(
        ctx,
        &bufs.z,
        &bufs.eps,
        &zeros,
        &zeros,
        &state,
        n * l,
        seed,
        vae::STREAM_SAMPLE,
    )?];
    vae.decode(ctx, &bufs, n, pixel_act(vae), &mut program)?;
    ops::run(ctx, &program.iter().collect::<Vec<_>>())?;
    Ok(rows_of(
        buffers::read(ctx, &bufs.out.sub(0, (n * vae.cfg.input_dim()) as u64))?,
        vae.cfg.input_dim(),
    ))
}

/// Each image (pixels in [0, 1]) encoded to its posterior mean and decoded.
pub fn reconstructions(
    ctx: &GpuContext,
    vae: &GpuVae,
    images: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>, GpuError> {
    let n = images.len();
    let d = vae.cfg.input_dim();
    let bufs = BatchBuffers::new(ctx, &vae.cfg, n)?;
    let flat: Vec<f32> = images.iter().flatten().copied().collect();
    buffers::write(ctx, &bufs.x, &flat);
    let mut encode = Vec::new();
    vae.encode(ctx, &bufs, n, &mut encode)?;
    let mut decode = Vec::new();
    vae.decode(ctx, &bufs, n, pixel_act(vae), &mut decode)?;
    // encode, copy mu into z on the GPU, decode: one submit
    let mut encoder = ctx.encoder("reconstruct");
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("encode"),
            timestamp_writes: None,
        });
        for d in &encode {
            d.record(&mut pass);
        }
    }
    let bytes = (n * vae.cfg.latent * 4) as u64;
    encoder.copy_buffer_to_buffer(&bufs.mu.buffer, 0, &bufs.z.buffer, 0, bytes);
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("decode"),
            timestamp_writes: None,
        });
        for d in &decode {
            d.record(&mut pass);
        }
    }
    ctx.submit_and_wait(encoder)?;
    Ok(rows_of(
        buffers::read(ctx, &bufs.out.sub(0, (n * d) as u64))?,
        d,
    ))
}
