//! The element-wise kernels of a training step at the default model's sizes: Adam over every
//! parameter, the BCE loss over a batch of 128 images, relu's backward over a hidden layer.
//! Each where its builder picks a vec4 kernel (a length divisible by 4) and, one element
//! shorter, the scalar one. Checked against `cpu::ops`, then timed: these are memory-bound, so
//! GB/s is the figure to read.

use rand::{Rng, SeedableRng};

use crate::cpu;
use crate::cpu::ops::{Act, AdamHyper};
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::{self, Dispatch};
use crate::gpu::{profiler, recorder, GpuContext};

use super::KernelRow;

/// The default model's parameter count (784-400-20), the pixels of a batch of 128, and the
/// first hidden layer's activations at that batch.
const PARAMS: usize = 652_824;
const PIXELS: usize = 128 * 784;
const HIDDEN: usize = 128 * 400;

fn random(len: usize, lo: f32, hi: f32, rng: &mut impl Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

fn up(ctx: &GpuContext, data: &[f32]) -> View {
    View::whole(&buffers::upload(ctx, "bench", data))
}

/// Worst |got - want| past `atol + rtol |want|`, as an error naming the kernel.
fn check(kernel: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> Result<f32, GpuError> {
    let mut worst = 0.0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        if err.is_nan() || err > atol + rtol * w.abs() {
            return Err(GpuError::Validation(format!(
                "{kernel}: element {i} is {g}, the CPU reference gives {w}"
            )));
        }
        worst = worst.max(err);
    }
    Ok(worst)
}

fn row(
    ctx: &GpuContext,
    d: &Dispatch,
    n: usize,
    max_abs_error: f32,
    reps: usize,
) -> Result<KernelRow, GpuError> {
    let timing = profiler::time_dispatches(ctx, &[d], reps)?;
    let entry = d.kernel.spec().entry;
    Ok(KernelRow::timed(
        entry.trim_end_matches("_vec4"),
        entry,
        format!("n={n}"),
        [n, 0, 0],
        &[d],
        timing,
        max_abs_error,
    ))
}

/// Adam, the BCE loss and relu's backward, each vec4 and scalar (see the module docs).
pub fn elementwise_ops(ctx: &GpuContext, reps: usize) -> Result<Vec<KernelRow>, GpuError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut rows = Vec::new();
    for n in [PARAMS, PARAMS - 1] {
        rows.push(adam(ctx, n, reps, &mut rng)?);
    }
    for n in [PIXELS, PIXELS - 1] {
        let logits = random(n, -4.0, 4.0, &mut rng);
        let x = random(n, 0.0, 1.0, &mut rng);
        let (mut want_loss, mut want_grad) = (vec![0.0f32; n], vec![0.0f32; n]);
        let scale = 1.0 / 128.0;
        cpu::ops::bce_forward(&mut want_loss, &mut want_grad, &logits, &x, n, scale);
        let zeros = || View::whole(&buffers::zeros(ctx, "bce out", n as u64));
        let (lv, gv) = (zeros(), zeros());
        let d = ops::bce_forward(ctx, &lv, &gv, &up(ctx, &logits), &up(ctx, &x), n, scale)?;
        ops::run(ctx, &[&d])?;
        let e1 = check(
            "bce_forward",
            &buffers::read(ctx, &lv)?,
            &want_loss,
            1e-5,
            1e-5,
        )?;
        let e2 = check(
            "bce_forward",
            &buffers::read(ctx, &gv)?,
            &want_grad,
            1e-7,
            1e-5,
        )?;
        rows.push(row(ctx, &d, n, e1.max(e2), reps)?);
    }
    let dy = random(HIDDEN, -1.0, 1.0, &mut rng);
    let y: Vec<f32> = random(HIDDEN, -1.0, 1.0, &mut rng)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    let mut want = vec![0.0f32; HIDDEN];
    cpu::ops::act_backward(&mut want, &dy, &y, HIDDEN, Act::Relu);
    let dz = View::whole(&buffers::zeros(ctx, "dz", HIDDEN as u64));
    let d = ops::act_backward(ctx, &dz, &up(ctx, &dy), &up(ctx, &y), HIDDEN, Act::Relu)?;
    ops::run(ctx, &[&d])?;
    let e = check("act_backward", &buffers::read(ctx, &dz)?, &want, 0.0, 0.0)?;
    rows.push(row(ctx, &d, HIDDEN, e, reps)?);
    Ok(rows)
}

/// One Adam step at t = 1 from zero moments, checked, then timed (the timed runs go on
/// stepping the same buffers, which costs the same).
fn adam(
    ctx: &GpuContext,
    n: usize,
    reps: usize,
    rng: &mut impl Rng,
) -> Result<KernelRow, GpuError> {
    let hp = AdamHyper::default();
    let mut params = random(n, -1.0, 1.0, rng);
    let grads = random(n, -1.0, 1.0, rng);
    let (pv, gv) = (up(ctx, &params), up(ctx, &grads));
    let (mv, vv) = (up(ctx, &vec![0.0; n]), up(ctx, &vec![0.0; n]));
    let state = recorder::step_state(ctx, 0);
    let d = ops::adam_step(ctx, &pv, &gv, &mv, &vv, &state, n, &hp)?;
    ops::run(ctx, &[&d])?;
    let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
    cpu::ops::adam_step(&mut params, &grads, &mut m, &mut v, 0, n, &hp);
    // steps of lr = 1e-3 on values near 1: a few ulps of the step
    let e = check("adam_step", &buffers::read(ctx, &pv)?, &params, 1e-6, 1e-6)?;
    row(ctx, &d, n, e, reps)
}
