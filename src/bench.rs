//! `wgvae bench kernels`: every linear forward variant on the shapes of the default model and
//! 512^3, each validated against the CPU reference before it is timed (llm.c's kernel-lab
//! habit), reported in GFLOP/s and GB/s.

use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::cpu;
use crate::cpu::ops::Act;
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::{self, LinearVariant};
use crate::gpu::profiler;
use crate::gpu::GpuContext;

/// (m, k, n): batch x in -> out. The first three are the default VAE's layers at batch 128.
pub const LINEAR_SHAPES: [(usize, usize, usize); 4] = [
    (128, 784, 400),
    (128, 400, 784),
    (128, 20, 400),
    (512, 512, 512),
];

#[derive(Clone, Debug, Serialize)]
pub struct KernelRow {
    pub kernel: String,
    pub variant: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub microseconds: f64,
    pub gflops: f64,
    pub gbps: f64,
    pub max_abs_error: f32,
    pub timer: &'static str,
}

fn random(len: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Runs the linear forward benchmark; `reps` repetitions per measurement.
pub fn linear_forward(ctx: &GpuContext, reps: usize) -> Result<Vec<KernelRow>, GpuError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut rows = Vec::new();
    for &(m, k, n) in &LINEAR_SHAPES {
        let (x, w, b) = (
            random(m * k, &mut rng),
            random(n * k, &mut rng),
            random(n, &mut rng),
        );
        let mut expected = vec![0.0f32; m * n];
        cpu::ops::linear_forward(&mut expected, &x, &w, &b, m, k, n, Act::Relu);
        let xv = View::whole(&buffers::upload(ctx, "x", &x));
        let wv = View::whole(&buffers::upload(ctx, "w", &w));
        let bv = View::whole(&buffers::upload(ctx, "b", &b));
        let yv = View::whole(&buffers::zeros(ctx, "y", (m * n) as u64));
        for variant in LinearVariant::ALL {
            let d = ops::linear_forward(ctx, variant, &yv, &xv, &wv, &bv, m, k, n, Act::Relu)?;
            ops::run(ctx, &[&d])?;
            let got: Vec<f32> = buffers::read(ctx, &yv)?;
            let max_abs_error = got
                .iter()
                .zip(&expected)
                .map(|(g, e)| (g - e).abs())
                .fold(0.0f32, f32::max);
            // Sums of k products of values in [-1, 1]: rounding grows like sqrt(k) ulps.
            let bound = 1e-5 * k as f32;
            if max_abs_error.is_nan() || max_abs_error > bound {
                return Err(GpuError::Validation(format!(
                    "linear {} at {m}x{k}->{n}: max error {max_abs_error} exceeds {bound}",
                    variant.name()
                )));
            }
            let (secs, timer) = profiler::time_dispatches(ctx, &[&d], reps)?;
            rows.push(KernelRow {
                kernel: "linear_forward".into(),
                variant: variant.name().into(),
                m,
                k,
                n,
                microseconds: secs * 1e6,
                gflops: d.flops / secs * 1e-9,
                gbps: d.bytes / secs * 1e-9,
                max_abs_error,
                timer: timer.name(),
            });
        }
    }
    Ok(rows)
}

pub fn print_table(ctx: &GpuContext, rows: &[KernelRow]) {
    println!(
        "adapter: {} ({:?}, {:?}, driver {} {})",
        ctx.info.name,
        ctx.info.backend,
        ctx.info.device_type,
        ctx.info.driver,
        ctx.info.driver_info
    );
    println!(
        "{:<16} {:<8} {:>16} {:>12} {:>10} {:>8} {:>10}  timer",
        "kernel", "variant", "m x k -> n", "us", "GFLOP/s", "GB/s", "max err"
    );
    for r in rows {
        println!(
            "{:<16} {:<8} {:>16} {:>12.1} {:>10.2} {:>8.2} {:>10.2e}  {}",
            r.kernel,
            r.variant,
            format!("{}x{}->{}", r.m, r.k, r.n),
            r.microseconds,
            r.gflops,
            r.gbps,
            r.max_abs_error,
            r.timer
        );
    }
}
