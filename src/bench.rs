//! `wgvae bench kernels`: the adapter's peaks first (`peak`), then every variant of the three
//! linear products on the shapes of the default model and 512^3 (or, `--sweep`, at batches 1 to
//! 4096), every conv op on the conv VAE's layers and the element-wise kernels (`elementwise`),
//! each validated against the CPU reference before it is timed (llm.c's kernel-lab habit),
//! reported in GFLOP/s, GB/s and the fraction of the peak that bounds it.

use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::fmt::Write as _;

use crate::cpu;
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::linear_trial::{LinearTrial, Product};
use crate::gpu::ops::{self, Dispatch};
use crate::gpu::GpuContext;
use crate::gpu::{conv, profiler};
use crate::model::op::Act;

pub mod elementwise;
pub mod peak;

use crate::shape::ConvGeom;
pub use elementwise::elementwise_ops;
pub use peak::Peaks;

/// (m, k, n): batch x in -> out. The first four are the default VAE's layers at batch 128
/// (fc21 and fc22 side by side as one 400 -> 40).
pub const LINEAR_SHAPES: [(usize, usize, usize); 5] = [
    (128, 784, 400),
    (128, 400, 40),
    (128, 20, 400),
    (128, 400, 784),
    (512, 512, 512),
];

/// The conv VAE's layers at batch 128: 28x28x1 -> 14x14x32 -> 7x7x64 and back, kernel 4,
/// stride 2, padding 1.
pub const CONV_SHAPES: [ConvGeom; 4] = [
    conv_layer(1, 32, 28, false),
    conv_layer(32, 64, 14, false),
    conv_layer(64, 32, 7, true),
    conv_layer(32, 1, 14, true),
];

const fn conv_layer(in_ch: usize, out_ch: usize, in_hw: usize, transposed: bool) -> ConvGeom {
    ConvGeom {
        batch: 128,
        in_ch,
        out_ch,
        in_h: in_hw,
        in_w: in_hw,
        kernel: 4,
        stride: 2,
        pad: 1,
        transposed,
    }
}

/// One line of the kernel benchmark: an op's variant on one shape, its time, its rates against
/// the roofline and its largest error against the CPU reference.
#[derive(Clone, Debug, Serialize)]
pub struct KernelRow {
    pub kernel: String,
    pub variant: String,
    /// The problem as printed: `m x k -> n` for linear layers, `batch x C x H x W kK sS pP ->
    /// O x OH x OW` for conv layers.
    pub shape: String,
    /// The equivalent matrix product: flops = 2 m k n (conv: m = batch x output pixels,
    /// k = in_ch k^2, n = out_ch; conv-transpose: m = batch x input pixels, k = in_ch,
    /// n = out_ch k^2; bias gradients: flops = m n, k = 1).
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Time per run of all its passes (median with GPU timestamps, mean by wall clock).
    pub microseconds: f64,
    pub gflops: f64,
    pub gbps: f64,
    /// Largest absolute difference from the CPU reference on the values checked.
    pub max_abs_error: f32,
    /// [`profiler::TimeSource::name`] of what measured the time.
    pub timer: &'static str,
    /// FLOP per byte of the operands (each counted once); set by [`peak::annotate`].
    pub intensity: f64,
    /// "compute" or "memory": the roof that applies at this intensity.
    pub bound: &'static str,
    /// GFLOP/s over peak FLOP/s (compute-bound) or GB/s over peak bandwidth (memory-bound).
    pub peak_percent: f64,
}

impl KernelRow {
    /// The row of the dispatches `passes` of one op (of the product `[m, k, n]`; a conv weight
    /// gradient may be two), run together at `secs` per run by `timer`, their FLOPs and bytes
    /// added; the roofline columns are left for [`peak::annotate`].
    pub fn timed(
        kernel: &str,
        variant: &str,
        shape: String,
        [m, k, n]: [usize; 3],
        passes: &[&Dispatch],
        (secs, timer): (f64, profiler::TimeSource),
        max_abs_error: f32,
    ) -> KernelRow {
        let flops: f64 = passes.iter().map(|d| d.flops).sum();
        let bytes: f64 = passes.iter().map(|d| d.bytes).sum();
        KernelRow {
            kernel: kernel.into(),
            variant: variant.into(),
            shape,
            m,
            k,
            n,
            microseconds: secs * 1e6,
            gflops: flops / secs * 1e-9,
            gbps: bytes / secs * 1e-9,
            max_abs_error,
            timer: timer.name(),
            intensity: 0.0,
            bound: "",
            peak_percent: 0.0,
        }
    }
}

/// Every variant of the three linear products (forward with relu, backward-input through a
/// relu mask, backward-weight) on [`LINEAR_SHAPES`], each checked against `cpu::ops` on sampled
/// rows ([`LinearTrial`]), then timed; `reps` repetitions per measurement.
pub fn linear_ops(ctx: &GpuContext, reps: usize) -> Result<Vec<KernelRow>, GpuError> {
    linear_rows(ctx, reps, &LINEAR_SHAPES)
}

/// [`linear_ops`] on any list of (m, k, n). A shape a variant's builder refuses (a loop past
/// the driver's limit) gives no row for that variant.
pub fn linear_rows(
    ctx: &GpuContext,
    reps: usize,
    shapes: &[(usize, usize, usize)],
) -> Result<Vec<KernelRow>, GpuError> {
    let mut rows = Vec::new();
    for &(m, k, n) in shapes {
        let trial = LinearTrial::new(ctx, m, k, n, 7);
        for p in Product::ALL {
            for &variant in p.variants() {
                let d = match trial.dispatch(ctx, variant, p) {
                    Ok(d) => d,
                    Err(GpuError::Shape { .. }) => continue,
                    Err(e) => return Err(e),
                };
                ops::run(ctx, &[&d])?;
                let max_abs_error = trial.check(ctx, p, false)?;
                let timing = profiler::time_dispatches(ctx, &[&d], reps)?;
                rows.push(KernelRow::timed(
                    p.name(),
                    variant.name(),
                    format!("{m}x{k}->{n}"),
                    [m, k, n],
                    &[&d],
                    timing,
                    max_abs_error,
                ));
            }
        }
    }
    Ok(rows)
}

/// Batches of the linear sweep, and the default model's layers (k, n) it runs them through:
/// fc1, one head, fc3, fc4.
pub const SWEEP_BATCHES: [usize; 7] = [1, 8, 32, 128, 512, 1024, 4096];
/// The layers (k, n) of the linear sweep, each run at every batch of [`SWEEP_BATCHES`].
pub const SWEEP_LAYERS: [(usize, usize); 4] = [(784, 400), (400, 20), (20, 400), (400, 784)];

/// Every variant of every linear product of the default model's layers at each batch of
/// [`SWEEP_BATCHES`].
pub fn linear_sweep(ctx: &GpuContext, reps: usize) -> Result<Vec<KernelRow>, GpuError> {
    let shapes: Vec<(usize, usize, usize)> = SWEEP_BATCHES
        .iter()
        .flat_map(|&m| SWEEP_LAYERS.map(|(k, n)| (m, k, n)))
        .collect();
    linear_rows(ctx, reps, &shapes)
}

fn random(len: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Which conv op a benchmark row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConvOp {
    Forward,
    BackwardInput,
    BackwardWeight,
    BackwardBias,
}

/// Runs every conv op on [`CONV_SHAPES`]: forward (relu), backward-input (through a relu mask),
/// backward-weight and backward-bias, each checked against `cpu::conv` and then timed.
pub fn conv_ops(ctx: &GpuContext, reps: usize) -> Result<Vec<KernelRow>, GpuError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut rows = Vec::new();
    for g in &CONV_SHAPES {
        let x = random(g.input_len(), &mut rng);
        let w = random(g.weight_len(), &mut rng);
        let b = random(g.out_ch, &mut rng);
        let dy = random(g.output_len(), &mut rng);
        let mask: Vec<f32> = random(g.input_len(), &mut rng)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let up = |name: &str, data: &[f32]| View::whole(&buffers::upload(ctx, name, data));
        let (xv, wv, bv, dyv, maskv) = (
            up("x", &x),
            up("w", &w),
            up("b", &b),
            up("dy", &dy),
            up("mask", &mask),
        );
        for op in [
            ConvOp::Forward,
            ConvOp::BackwardInput,
            ConvOp::BackwardWeight,
            ConvOp::BackwardBias,
        ] {
            rows.push(conv_op(
                ctx,
                g,
                op,
                reps,
                [&x, &w, &b, &dy, &mask],
                [&xv, &wv, &bv, &dyv, &maskv],
            )?);
        }
    }
    Ok(rows)
}

/// One validated and timed conv row; `host` and `dev` hold x, w, b, dy and the relu mask.
fn conv_op(
    ctx: &GpuContext,
    g: &ConvGeom,
    op: ConvOp,
    reps: usize,
    host: [&[f32]; 5],
    dev: [&View; 5],
) -> Result<KernelRow, GpuError> {
    let [x, w, b, dy, mask] = host;
    let [xv, wv, bv, dyv, maskv] = dev;
    let t = g.transposed;
    let out_len = match op {
        ConvOp::Forward => g.output_len(),
        ConvOp::BackwardInput => g.input_len(),
        ConvOp::BackwardWeight => g.weight_len(),
        ConvOp::BackwardBias => g.out_ch,
    };
    let mut expected = vec![0.0f32; out_len];
    let out = View::whole(&buffers::zeros(ctx, "out", out_len as u64));
    // Products summed per output element, for the validation bound.
    let (small_ch, large_ch, small_px) = if t {
        (g.in_ch, g.out_ch, g.in_h * g.in_w)
    } else {
        (g.out_ch, g.in_ch, g.out_h() * g.out_w())
    };
    let direct_terms = large_ch * g.kernel * g.kernel;
    let transposed_terms = small_ch * g.kernel.div_ceil(g.stride).pow(2);
    let (name, ds, terms): (&str, Vec<Dispatch>, usize) = match (op, t) {
        (ConvOp::Forward, false) => {
            cpu::conv::conv2d_forward(&mut expected, x, w, b, g, Act::Relu);
            let d = conv::conv2d_forward(ctx, &out, xv, wv, bv, g, Act::Relu)?;
            ("conv2d_forward", vec![d], direct_terms)
        }
        (ConvOp::Forward, true) => {
            cpu::conv::conv_transpose2d_forward(&mut expected, x, w, b, g, Act::Relu);
            let d = conv::conv_transpose2d_forward(ctx, &out, xv, wv, bv, g, Act::Relu)?;
            ("conv_transpose2d_forward", vec![d], transposed_terms)
        }
        (ConvOp::BackwardInput, false) => {
            cpu::conv::conv2d_backward_input(&mut expected, dy, w, Some(mask), g, false);
            let d = conv::conv2d_backward_input(ctx, &out, dyv, wv, Some(maskv), g, false)?;
            ("conv2d_backward_input", vec![d], transposed_terms)
        }
        (ConvOp::BackwardInput, true) => {
            cpu::conv::conv_transpose2d_backward_input(&mut expected, dy, w, Some(mask), g, false);
            let d =
                conv::conv_transpose2d_backward_input(ctx, &out, dyv, wv, Some(maskv), g, false)?;
            ("conv_transpose2d_backward_input", vec![d], direct_terms)
        }
        (ConvOp::BackwardWeight, false) => {
            cpu::conv::conv2d_backward_weight(&mut expected, dy, x, g, false);
            let ds = conv::conv2d_backward_weight(ctx, &out, dyv, xv, g, false)?;
            ("conv2d_backward_weight", ds, g.batch * small_px)
        }
        (ConvOp::BackwardWeight, true) => {
            cpu::conv::conv_transpose2d_backward_weight(&mut expected, dy, x, g, false);
            let ds = conv::conv_transpose2d_backward_weight(ctx, &out, dyv, xv, g, false)?;
            ("conv_transpose2d_backward_weight", ds, g.batch * small_px)
        }
        (ConvOp::BackwardBias, _) => {
            cpu::conv::conv_backward_bias(&mut expected, dy, g, false);
            let d = conv::conv_backward_bias(ctx, &out, dyv, g, false)?;
            (
                "conv_backward_bias",
                vec![d],
                g.batch * g.out_h() * g.out_w(),
            )
        }
    };
    // a weight gradient may be two passes: run, check and time them together
    let passes: Vec<&Dispatch> = ds.iter().collect();
    ops::run(ctx, &passes)?;
    let got: Vec<f32> = buffers::read(ctx, &out)?;
    let max_abs_error = got
        .iter()
        .zip(&expected)
        .map(|(g, e)| (g - e).abs())
        .fold(0.0f32, f32::max);
    // Sums of `terms` products of values in [-1, 1], as for the linear rows.
    let bound = 1e-5 * terms as f32;
    let shape = format!(
        "{}x{}x{}x{} k{}s{}p{}->{}x{}x{}",
        g.batch,
        g.in_ch,
        g.in_h,
        g.in_w,
        g.kernel,
        g.stride,
        g.pad,
        g.out_ch,
        g.out_h(),
        g.out_w()
    );
    if max_abs_error.is_nan() || max_abs_error > bound {
        return Err(GpuError::Validation(format!(
            "{name} at {shape}: max error {max_abs_error} exceeds {bound}"
        )));
    }
    let timing = profiler::time_dispatches(ctx, &passes, reps)?;
    let (m, k, n) = match (op, t) {
        (ConvOp::BackwardBias, _) => (g.batch * g.out_h() * g.out_w(), 1, g.out_ch),
        (_, false) => (
            g.batch * g.out_h() * g.out_w(),
            g.in_ch * g.kernel * g.kernel,
            g.out_ch,
        ),
        (_, true) => (
            g.batch * g.in_h * g.in_w,
            g.in_ch,
            g.out_ch * g.kernel * g.kernel,
        ),
    };
    let variant: Vec<&str> = passes.iter().map(|d| d.kernel.spec().entry).collect();
    Ok(KernelRow::timed(
        name,
        &variant.join("+"),
        shape,
        [m, k, n],
        &passes,
        timing,
        max_abs_error,
    ))
}

/// Everything `wgvae bench kernels` measures: the peaks, then the linear products (the model's
/// shapes, or the batch sweep), the conv ops and the element-wise kernels, each row placed on
/// the roofline.
pub fn kernel_report(
    ctx: &GpuContext,
    reps: usize,
    sweep: bool,
) -> Result<(Peaks, Vec<KernelRow>), GpuError> {
    let peaks = peak::measure(ctx, reps)?;
    let mut rows = if sweep {
        linear_sweep(ctx, reps)?
    } else {
        linear_ops(ctx, reps)?
    };
    rows.extend(conv_ops(ctx, reps)?);
    rows.extend(elementwise_ops(ctx, reps)?);
    peak::annotate(&mut rows, &peaks);
    Ok((peaks, rows))
}

/// The rows as a table, after the adapter and its peaks.
pub fn table(ctx: &GpuContext, peaks: &Peaks, rows: &[KernelRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "adapter: {} ({:?}, {:?}, driver {} {})",
        ctx.info.name,
        ctx.info.backend,
        ctx.info.device_type,
        ctx.info.driver,
        ctx.info.driver_info
    );
    let _ = writeln!(out, "{}", ctx.pinning.note());
    let _ = writeln!(
        out,
        "peaks ({}): {:.2} GFLOP/s (fma_peak, {} invocations x {} rounds of 4 vec4 FMAs), \
         {:.2} GB/s (copy_vec4 of {} MiB, read + write; {}); ridge {:.2} FLOP/byte",
        peaks.timer,
        peaks.gflops,
        peaks.fma_invocations,
        peaks.fma_rounds,
        peaks.gbps,
        peaks.copy_bytes >> 20,
        peaks
            .copy_rates
            .iter()
            .map(|(b, r)| format!("{} MiB {r:.2}", b >> 20))
            .collect::<Vec<_>>()
            .join(", "),
        peaks.ridge()
    );
    let kw = rows
        .iter()
        .map(|r| r.kernel.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let vw = rows
        .iter()
        .map(|r| r.variant.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let sw = rows
        .iter()
        .map(|r| r.shape.len())
        .max()
        .unwrap_or(0)
        .max(10);
    let _ = writeln!(
        out,
        "{:<kw$} {:<vw$} {:>sw$} {:>12} {:>10} {:>8} {:>8} {:>14} {:>10}  timer",
        "kernel", "variant", "shape", "us", "GFLOP/s", "GB/s", "FLOP/B", "% of peak", "max err"
    );
    for r in rows {
        let _ = writeln!(out,
            "{:<kw$} {:<vw$} {:>sw$} {:>12.1} {:>10.2} {:>8.2} {:>8.2} {:>5.1}% {:<7} {:>10.2e}  {}",
            r.kernel,
            r.variant,
            r.shape,
            r.microseconds,
            r.gflops,
            r.gbps,
            r.intensity,
            r.peak_percent,
            r.bound,
            r.max_abs_error,
            r.timer
        );
    }
    out
}
