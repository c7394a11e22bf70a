//! One dispatch builder per kernel, mirroring `cpu::ops` call for call: the linear products (in
//! `linear.rs`, re-exported here), activations, reparameterisation, KL, losses, reductions,
//! Adam and the batch gather. A builder checks shapes and returns a [`Dispatch`]; the plumbing
//! lives in `dispatch.rs` and the choice among kernel variants in `variants.rs`.

use bytemuck::{Pod, Zeroable};

use crate::error::GpuError;
use crate::gpu::buffers::View;
use crate::gpu::kernels::Kernel;
use crate::gpu::variants;
use crate::gpu::GpuContext;
use crate::model::op::{Act, AdamHyper};

pub(crate) use crate::gpu::dispatch::{build, check_loops};
pub use crate::gpu::dispatch::{grid_1d, program_name, run, submit, Dispatch, MAX_LOOP_ITERATIONS};
pub use crate::gpu::linear::{
    linear_backward_bias, linear_backward_input, linear_backward_weight, linear_folds_bias,
    linear_forward,
};
pub use crate::gpu::variants::LinearVariant;

// ---------------------------------------------------------------- elementwise

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct CountParams {
    n: u32,
    value: u32,
    pad: [u32; 2],
}

fn count_params(n: usize, value: u32) -> CountParams {
    CountParams {
        n: n as u32,
        value,
        pad: [0; 2],
    }
}

/// `dz[i] = dy[i] act'(y[i])`
pub fn act_backward(
    ctx: &GpuContext,
    dz: &View,
    dy: &View,
    y: &View,
    n: usize,
    act: Act,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "act_backward";
    for (v, what) in [(dz, "dz"), (dy, "dy"), (y, "y")] {
        v.require(OP, what, n as u64)?;
    }
    build(
        ctx,
        Kernel::ActBackward,
        &[dy, y, dz],
        &count_params(n, act as u32),
        grid_1d(n as u64, 64),
        2.0 * n as f64,
        12.0 * n as f64,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ReparamParams {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
}

fn reparam_params(n: usize, seed: u64, stream: u32) -> ReparamParams {
    ReparamParams {
        n: n as u32,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        stream,
    }
}

/// eps = Philox normals keyed by (seed, state.step, stream, element); z = mu + exp(logvar/2) eps
#[allow(clippy::too_many_arguments)]
pub fn reparam_forward(
    ctx: &GpuContext,
    z: &View,
    eps: &View,
    mu: &View,
    logvar: &View,
    state: &View,
    n: usize,
    seed: u64,
    stream: u32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "reparam_forward";
    for (v, what) in [(z, "z"), (eps, "eps"), (mu, "mu"), (logvar, "logvar")] {
        v.require(OP, what, n as u64)?;
    }
    state.require(OP, "step state", 4)?;
    build(
        ctx,
        Kernel::ReparamForward,
        &[mu, logvar, z, eps, state],
        &reparam_params(n, seed, stream),
        grid_1d(n.div_ceil(4) as u64, 64),
        4.0 * n as f64,
        16.0 * n as f64,
    )
}

/// [`reparam_forward`] and [`kl_forward`] in one dispatch: the same z, eps and kl.
#[allow(clippy::too_many_arguments)]
pub fn reparam_kl_forward(
    ctx: &GpuContext,
    z: &View,
    eps: &View,
    kl: &View,
    mu: &View,
    logvar: &View,
    state: &View,
    n: usize,
    seed: u64,
    stream: u32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "reparam_kl_forward";
    for (v, what) in [
        (z, "z"),
        (eps, "eps"),
        (kl, "kl"),
        (mu, "mu"),
        (logvar, "logvar"),
    ] {
        v.require(OP, what, n as u64)?;
    }
    state.require(OP, "step state", 4)?;
    build(
        ctx,
        Kernel::ReparamKlForward,
        &[mu, logvar, z, eps, state, kl],
        &reparam_params(n, seed, stream),
        grid_1d(n.div_ceil(4) as u64, 64),
        10.0 * n as f64,
        20.0 * n as f64,
    )
}

/// dmu = dz; dlogvar = dz eps exp(logvar/2) / 2
pub fn reparam_backward(
    ctx: &GpuContext,
    dmu: &View,
    dlogvar: &View,
    dz: &View,
    eps: &View,
    logvar: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "reparam_backward";
    for (v, what) in [
        (dmu, "dmu"),
        (dlogvar, "dlogvar"),
        (dz, "dz"),
        (eps, "eps"),
        (logvar, "logvar"),
    ] {
        v.require(OP, what, n as u64)?;
    }
    build(
        ctx,
        Kernel::ReparamBackward,
        &[dz, eps, logvar, dmu, dlogvar],
        &reparam_params(n, 0, 0),
        grid_1d(n as u64, 64),
        5.0 * n as f64,
        20.0 * n as f64,
    )
}

/// `reparam_backward` then `kl_backward` in one dispatch (the recorder folds the pair):
/// dmu = dz + scale mu; dlogvar = dz eps exp(logvar/2) / 2 + scale (exp(logvar) - 1) / 2
#[allow(clippy::too_many_arguments)]
pub fn reparam_kl_backward(
    ctx: &GpuContext,
    dmu: &View,
    dlogvar: &View,
    dz: &View,
    eps: &View,
    mu: &View,
    logvar: &View,
    n: usize,
    scale: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "reparam_kl_backward";
    for (v, what) in [
        (dmu, "dmu"),
        (dlogvar, "dlogvar"),
        (dz, "dz"),
        (eps, "eps"),
        (mu, "mu"),
        (logvar, "logvar"),
    ] {
        v.require(OP, what, n as u64)?;
    }
    build(
        ctx,
        Kernel::ReparamKlBackward,
        &[dz, eps, logvar, dmu, dlogvar, mu],
        &scale_params(n, scale),
        grid_1d(n as u64, 64),
        11.0 * n as f64,
        24.0 * n as f64,
    )
}

/// Raw Philox blocks: `input` holds (c0 c1 c2 c3 k0 k1) per block, `out` four words per block.
pub fn philox_raw(
    ctx: &GpuContext,
    out: &View,
    input: &View,
    blocks: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "philox_raw";
    input.require(OP, "input", 6 * blocks as u64)?;
    out.require(OP, "out", 4 * blocks as u64)?;
    build(
        ctx,
        Kernel::PhiloxRaw,
        &[input, out],
        &reparam_params(blocks, 0, 0),
        grid_1d(blocks as u64, 64),
        0.0,
        40.0 * blocks as f64,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct CorruptParams {
    rows: u32,
    dim: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    max_sigma: f32,
    pad: [u32; 2],
}

/// dst[r, c] = src[r, c] + max_sigma u_r eps[r, c], u_r ~ U(0, 1) per row and eps ~ N(0, 1)
/// per element, keyed by (seed, state.step, stream); see `shaders/corrupt.wgsl`.
#[allow(clippy::too_many_arguments)]
pub fn corrupt_noise(
    ctx: &GpuContext,
    dst: &View,
    src: &View,
    state: &View,
    rows: usize,
    dim: usize,
    max_sigma: f32,
    seed: u64,
    stream: u32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "corrupt_noise";
    let n = rows * dim;
    dst.require(OP, "dst", n as u64)?;
    src.require(OP, "src", n as u64)?;
    state.require(OP, "step state", 4)?;
    build(
        ctx,
        Kernel::CorruptNoise,
        &[src, dst, state],
        &CorruptParams {
            rows: rows as u32,
            dim: dim as u32,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            stream,
            max_sigma,
            pad: [0; 2],
        },
        grid_1d(n.div_ceil(4) as u64, 64),
        3.0 * n as f64,
        8.0 * n as f64,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ScaleParams {
    n: u32,
    scale: f32,
    pad: [u32; 2],
}

fn scale_params(n: usize, scale: f32) -> ScaleParams {
    ScaleParams {
        n: n as u32,
        scale,
        pad: [0; 2],
    }
}

/// `kl[i] = -1/2 (1 + logvar - mu^2 - exp(logvar))`
pub fn kl_forward(
    ctx: &GpuContext,
    kl: &View,
    mu: &View,
    logvar: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "kl_forward";
    for (v, what) in [(kl, "kl"), (mu, "mu"), (logvar, "logvar")] {
        v.require(OP, what, n as u64)?;
    }
    build(
        ctx,
        Kernel::KlForward,
        &[mu, logvar, kl],
        &scale_params(n, 0.0),
        grid_1d(n as u64, 64),
        6.0 * n as f64,
        12.0 * n as f64,
    )
}

/// dmu += scale mu; dlogvar += scale (exp(logvar) - 1) / 2
#[allow(clippy::too_many_arguments)]
pub fn kl_backward(
    ctx: &GpuContext,
    dmu: &View,
    dlogvar: &View,
    mu: &View,
    logvar: &View,
    n: usize,
    scale: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "kl_backward";
    for (v, what) in [
        (dmu, "dmu"),
        (dlogvar, "dlogvar"),
        (mu, "mu"),
        (logvar, "logvar"),
    ] {
        v.require(OP, what, n as u64)?;
    }
    build(
        ctx,
        Kernel::KlBackward,
        &[mu, logvar, dmu, dlogvar],
        &scale_params(n, scale),
        grid_1d(n as u64, 64),
        6.0 * n as f64,
        24.0 * n as f64,
    )
}

/// Per-element BCE-with-logits and its gradient, scaled by `scale`.
pub fn bce_forward(
    ctx: &GpuContext,
    loss: &View,
    grad: &View,
    logits: &View,
    x: &View,
    n: usize,
    scale: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "bce_forward";
    for (v, what) in [(loss, "loss"), (grad, "grad"), (logits, "logits"), (x, "x")] {
        v.require(OP, what, n as u64)?;
    }
    // four elements per invocation where n allows (a decoder output of even width always does)
    let (kernel, per_invocation) = if n.is_multiple_of(4) {
        (Kernel::BceForwardVec4, 4)
    } else {
        (Kernel::BceForward, 1)
    };
    build(
        ctx,
        kernel,
        &[logits, x, loss, grad],
        &scale_params(n, scale),
        grid_1d(n.div_ceil(per_invocation) as u64, 64),
        12.0 * n as f64,
        16.0 * n as f64,
    )
}

/// Per-element Gaussian negative log-likelihood with shared log-variance `logvar_x[0]`, the
/// gradient for the mean and the per-element gradient for the log-variance.
#[allow(clippy::too_many_arguments)]
pub fn gaussian_forward(
    ctx: &GpuContext,
    loss: &View,
    dmean: &View,
    dlogvar_elem: &View,
    mean: &View,
    x: &View,
    logvar_x: &View,
    n: usize,
    scale: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "gaussian_forward";
    for (v, what) in [
        (loss, "loss"),
        (dmean, "dmean"),
        (dlogvar_elem, "dlogvar"),
        (mean, "mean"),
        (x, "x"),
    ] {
        v.require(OP, what, n as u64)?;
    }
    logvar_x.require(OP, "logvar_x", 1)?;
    build(
        ctx,
        Kernel::GaussianForward,
        &[mean, x, loss, dmean, logvar_x, dlogvar_elem],
        &scale_params(n, scale),
        grid_1d(n as u64, 64),
        10.0 * n as f64,
        20.0 * n as f64,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RecordParams {
    rows: u32,
    beta: f32,
    pad: [u32; 2],
}

/// history[4 slot..] = (sum recon_rows, sum kl_rows, recon + beta kl, rows), sums in row order.
pub fn record_loss(
    ctx: &GpuContext,
    history: &View,
    recon_rows: &View,
    kl_rows: &View,
    state: &View,
    rows: usize,
    beta: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "record_loss";
    recon_rows.require(OP, "recon rows", rows as u64)?;
    kl_rows.require(OP, "kl rows", rows as u64)?;
    history.require(OP, "history", 4)?;
    state.require(OP, "step state", 4)?;
    check_loops(OP, rows, "use a smaller batch")?;
    build(
        ctx,
        Kernel::RecordLoss,
        &[recon_rows, kl_rows, history, state],
        &RecordParams {
            rows: rows as u32,
            beta,
            pad: [0; 2],
        },
        [1, 1, 1],
        2.0 * rows as f64,
        8.0 * rows as f64,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ReduceParams {
    rows: u32,
    cols: u32,
    pad: [u32; 2],
}

/// `dst[r] = sum of src[r, ..cols]` in the fixed order of reduce.wgsl.
pub fn sum_rows(
    ctx: &GpuContext,
    dst: &View,
    src: &View,
    rows: usize,
    cols: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "sum_rows";
    src.require(OP, "src", (rows * cols) as u64)?;
    dst.require(OP, "dst", rows as u64)?;
    // 64 invocations share a row, then a 6-level tree; or (sum_rows_sg, the same additions
    // without barriers) 8 invocations a row, 64 columns a step
    check_loops(
        OP,
        cols.div_ceil(64) + 6,
        "the rows are too long for this driver",
    )?;
    let kernel = variants::sum_rows_kernel(ctx, cols);
    let mut groups = grid_1d(rows as u64, 1);
    groups[2] = 1;
    build(
        ctx,
        kernel,
        &[src, dst],
        &ReduceParams {
            rows: rows as u32,
            cols: cols as u32,
            pad: [0; 2],
        },
        groups,
        (rows * cols) as f64,
        4.0 * (rows * cols + rows) as f64,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AdamParams {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    ln_beta1: f32,
    ln_beta2: f32,
    cosine_steps: u32,
    pad: [u32; 3],
}

/// One Adam update over `n` elements; t = state.step + 1.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    ctx: &GpuContext,
    params: &View,
    grads: &View,
    m: &View,
    v: &View,
    state: &View,
    n: usize,
    hp: &AdamHyper,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "adam_step";
    for (x, what) in [(params, "params"), (grads, "grads"), (m, "m"), (v, "v")] {
        x.require(OP, what, n as u64)?;
    }
    state.require(OP, "step state", 4)?;
    // four elements per invocation where n allows (the flat parameter buffer always does)
    let (kernel, per_invocation) = if n.is_multiple_of(4) {
        (Kernel::AdamStepVec4, 4)
    } else {
        (Kernel::AdamStep, 1)
    };
    build(
        ctx,
        kernel,
        &[params, grads, m, v, state],
        &AdamParams {
            n: n as u32,
            lr: hp.lr,
            beta1: hp.beta1,
            beta2: hp.beta2,
            eps: hp.eps,
            weight_decay: hp.weight_decay,
            ln_beta1: hp.ln_betas().0,
            ln_beta2: hp.ln_betas().1,
            cosine_steps: hp.cosine_steps,
            pad: [0; 3],
        },
        grid_1d(n.div_ceil(per_invocation) as u64, 64),
        16.0 * n as f64,
        28.0 * n as f64,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct GatherParams {
    rows: u32,
    dim: u32,
    scale: f32,
    pad: u32,
}

/// out[r, c] = data[perm[state.cursor + r] * dim + c] / 255, data being u8 packed in u32 words.
#[allow(clippy::too_many_arguments)]
pub fn gather_batch(
    ctx: &GpuContext,
    out: &View,
    data: &View,
    perm: &View,
    state: &View,
    rows: usize,
    dim: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "gather_batch";
    out.require(OP, "out", (rows * dim) as u64)?;
    perm.require(OP, "perm", rows as u64)?;
    state.require(OP, "step state", 4)?;
    // four pixels (one data word) per invocation where every row starts on a word
    let (kernel, per_invocation) = if dim.is_multiple_of(4) {
        (Kernel::GatherBatchVec4, 4)
    } else {
        (Kernel::GatherBatch, 1)
    };
    build(
        ctx,
        kernel,
        &[data, perm, out, state],
        &GatherParams {
            rows: rows as u32,
            dim: dim as u32,
            scale: 1.0 / 255.0,
            pad: 0,
        },
        grid_1d((rows * dim / per_invocation) as u64, 64),
        (rows * dim) as f64,
        5.0 * (rows * dim) as f64,
    )
}

/// state.step += 1; state.cursor += batch; state.slot += 1
pub fn advance_step(ctx: &GpuContext, state: &View, batch: usize) -> Result<Dispatch, GpuError> {
    state.require("advance_step", "step state", 4)?;
    build(
        ctx,
        Kernel::AdvanceStep,
        &[state],
        &count_params(batch, 0),
        [1, 1, 1],
        0.0,
        32.0,
    )
}
