//! Dispatch builders for `shaders/restore.wgsl`, mirroring `cpu::restore` call for call.

use bytemuck::{Pod, Zeroable};

use crate::error::GpuError;
use crate::gpu::buffers::View;
use crate::gpu::kernels::Kernel;
use crate::gpu::ops::{build, check_loops, grid_1d, Dispatch};
use crate::gpu::GpuContext;
use crate::model::op::MeanKind;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RestoreParams {
    n: u32,
    cols: u32,
    flag: u32,
    pad0: u32,
    a: f32,
    b: f32,
    pad1: f32,
    pad2: f32,
}

fn params(n: usize, cols: usize, flag: u32, a: f32, b: f32) -> RestoreParams {
    RestoreParams {
        n: n as u32,
        cols: cols as u32,
        flag,
        pad0: 0,
        a,
        b,
        pad1: 0.0,
        pad2: 0.0,
    }
}

fn require(op: &'static str, views: &[(&View, &str)], n: usize) -> Result<(), GpuError> {
    for (v, what) in views {
        v.require(op, what, n as u64)?;
    }
    Ok(())
}

/// An element-wise kernel over `n` values: `reads` values per element read, one written.
fn elementwise(
    ctx: &GpuContext,
    kernel: Kernel,
    views: &[&View],
    p: RestoreParams,
    n: usize,
    flops: f64,
) -> Result<Dispatch, GpuError> {
    let bytes = 4.0 * views.len() as f64 * n as f64;
    build(
        ctx,
        kernel,
        views,
        &p,
        grid_1d(n as u64, 64),
        flops * n as f64,
        bytes,
    )
}

/// `mean[i] = sigmoid(out[i])` (Bernoulli) or `out[i]` (Gaussian), as `kind` says.
pub fn decoder_mean(
    ctx: &GpuContext,
    mean: &View,
    out: &View,
    n: usize,
    kind: MeanKind,
) -> Result<Dispatch, GpuError> {
    require("decoder_mean", &[(mean, "mean"), (out, "out")], n)?;
    let p = params(n, 0, kind.flag(), 0.0, 0.0);
    elementwise(ctx, Kernel::DecoderMean, &[out, mean], p, n, 4.0)
}

/// `resid[i] = w[i] (pred[i] - obs[i])`: the precision-weighted misfit to the observation.
pub fn fit_residual(
    ctx: &GpuContext,
    resid: &View,
    pred: &View,
    obs: &View,
    w: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    let views = [(resid, "resid"), (pred, "pred"), (obs, "obs"), (w, "w")];
    require("fit_residual", &views, n)?;
    let p = params(n, 0, 0, 0.0, 0.0);
    elementwise(ctx, Kernel::FitResidual, &[pred, obs, w, resid], p, n, 2.0)
}

/// `dout[i] = back[i] dmean/dout`: `mean (1 - mean)` through a sigmoid, 1 otherwise.
pub fn mean_backward(
    ctx: &GpuContext,
    dout: &View,
    back: &View,
    mean: &View,
    n: usize,
    kind: MeanKind,
) -> Result<Dispatch, GpuError> {
    require(
        "mean_backward",
        &[(dout, "dout"), (back, "back"), (mean, "mean")],
        n,
    )?;
    let p = params(n, 0, kind.flag(), 0.0, 0.0);
    elementwise(ctx, Kernel::MeanBackward, &[back, mean, dout], p, n, 3.0)
}

/// `y[i] = a x[i] + b y[i]`; `b = 0` overwrites `y` whatever it held.
pub fn axpy(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    a: f32,
    b: f32,
    n: usize,
) -> Result<Dispatch, GpuError> {
    require("axpy", &[(y, "y"), (x, "x")], n)?;
    elementwise(ctx, Kernel::Axpy, &[x, y], params(n, 0, 0, a, b), n, 3.0)
}

/// `y[i] = w[i] x[i]`
pub fn mul(ctx: &GpuContext, y: &View, x: &View, w: &View, n: usize) -> Result<Dispatch, GpuError> {
    require("mul", &[(y, "y"), (x, "x"), (w, "w")], n)?;
    elementwise(
        ctx,
        Kernel::Mul,
        &[x, w, y],
        params(n, 0, 0, 0.0, 0.0),
        n,
        1.0,
    )
}

/// `var[i] = a mean (1 - mean) + b` (Bernoulli) or `a + b` (Gaussian: a constant variance).
pub fn pixel_variance(
    ctx: &GpuContext,
    var: &View,
    mean: &View,
    a: f32,
    b: f32,
    n: usize,
    kind: MeanKind,
) -> Result<Dispatch, GpuError> {
    require("pixel_variance", &[(var, "var"), (mean, "mean")], n)?;
    let p = params(n, 0, kind.flag(), a, b);
    elementwise(ctx, Kernel::PixelVariance, &[mean, var], p, n, 4.0)
}

/// `x[i] = (var w obs + mean) / (var w + 1)`: the posterior mean of a pixel with prior
/// N(mean, var) observed with precision `w` (`w = 0`: unknown, the prior mean).
pub fn blend(
    ctx: &GpuContext,
    x: &View,
    obs: &View,
    w: &View,
    mean: &View,
    var: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    let views = [
        (x, "x"),
        (obs, "obs"),
        (w, "w"),
        (mean, "mean"),
        (var, "var"),
    ];
    require("blend", &views, n)?;
    let p = params(n, 0, 0, 0.0, 0.0);
    elementwise(ctx, Kernel::Blend, &[obs, w, mean, var, x], p, n, 5.0)
}

/// `x[i] = obs[i]` where `w[i] > 0`, else `mean[i]`.
pub fn impute_fill(
    ctx: &GpuContext,
    x: &View,
    obs: &View,
    w: &View,
    mean: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    let views = [(x, "x"), (obs, "obs"), (w, "w"), (mean, "mean")];
    require("impute_fill", &views, n)?;
    let p = params(n, 0, 0, 0.0, 0.0);
    elementwise(ctx, Kernel::ImputeFill, &[obs, w, mean, x], p, n, 1.0)
}

/// `q[i] += p[i] / max(var[i], floor)`
pub fn add_precision(
    ctx: &GpuContext,
    q: &View,
    p: &View,
    var: &View,
    floor: f32,
    n: usize,
) -> Result<Dispatch, GpuError> {
    require("add_precision", &[(q, "q"), (p, "p"), (var, "var")], n)?;
    let u = params(n, 0, 0, floor, 0.0);
    elementwise(ctx, Kernel::AddPrecision, &[p, var, q], u, n, 3.0)
}

/// `out[r] = sum over c of a[r, c] b[r, c]` for `rows` rows of `cols`; one invocation per
/// row, so `cols` is bounded by the loop limit.
pub fn row_dot(
    ctx: &GpuContext,
    out: &View,
    a: &View,
    b: &View,
    rows: usize,
    cols: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "row_dot";
    require(OP, &[(a, "a"), (b, "b")], rows * cols)?;
    out.require(OP, "out", rows as u64)?;
    check_loops(OP, cols, "restore in smaller windows")?;
    let n = rows * cols;
    build(
        ctx,
        Kernel::RowDot,
        &[a, b, out],
        &params(rows, cols, 0, 0.0, 0.0),
        grid_1d(rows as u64, 64),
        2.0 * n as f64,
        8.0 * n as f64,
    )
}

/// One conjugate-gradient update per row: `alpha = rr / pq` (0 where `pq <= 0`),
/// `u += alpha p`, `r -= alpha q`; `rr` and `pq` hold one value per row.
#[allow(clippy::too_many_arguments)]
pub fn cg_step(
    ctx: &GpuContext,
    u: &View,
    r: &View,
    p: &View,
    q: &View,
    rr: &View,
    pq: &View,
    rows: usize,
    cols: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "cg_step";
    let n = rows * cols;
    require(OP, &[(u, "u"), (r, "r"), (p, "p"), (q, "q")], n)?;
    require(OP, &[(rr, "rr"), (pq, "pq")], rows)?;
    let par = params(n, cols, 0, 0.0, 0.0);
    elementwise(ctx, Kernel::CgStep, &[p, q, rr, pq, u, r], par, n, 5.0)
}

/// The next conjugate-gradient direction per row: `p = r + (rr_new / rr) p` (beta 0 where
/// `rr <= 0`).
#[allow(clippy::too_many_arguments)]
pub fn cg_direction(
    ctx: &GpuContext,
    p: &View,
    r: &View,
    rr_new: &View,
    rr: &View,
    rows: usize,
    cols: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "cg_direction";
    let n = rows * cols;
    require(OP, &[(p, "p"), (r, "r")], n)?;
    require(OP, &[(rr_new, "rr_new"), (rr, "rr")], rows)?;
    let par = params(n, cols, 0, 0.0, 0.0);
    elementwise(ctx, Kernel::CgDirection, &[r, rr_new, rr, p], par, n, 3.0)
}

/// `dst[r, c] = src[r / k, c]`: each of `rows` source rows repeated `k` times.
pub fn repeat_rows(
    ctx: &GpuContext,
    dst: &View,
    src: &View,
    rows: usize,
    cols: usize,
    k: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "repeat_rows";
    src.require(OP, "src", (rows * cols) as u64)?;
    let n = rows * k * cols;
    dst.require(OP, "dst", n as u64)?;
    let p = params(n, cols, k as u32, 0.0, 0.0);
    elementwise(ctx, Kernel::RepeatRows, &[src, dst], p, n, 0.0)
}

/// `out = (obs - mean)^2 / (var + 1/w) + ln(var + 1/w)` where `w > 0`, else 0: minus twice
/// the log-likelihood of a pixel whose value is N(mean, var) seen with noise of precision `w`.
pub fn neg2_loglik(
    ctx: &GpuContext,
    out: &View,
    obs: &View,
    mean: &View,
    var: &View,
    w: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    let views = [
        (out, "out"),
        (obs, "obs"),
        (mean, "mean"),
        (var, "var"),
        (w, "w"),
    ];
    require("neg2_loglik", &views, n)?;
    let p = params(n, 0, 0, 0.0, 0.0);
    elementwise(
        ctx,
        Kernel::Neg2Loglik,
        &[obs, mean, var, w, out],
        p,
        n,
        8.0,
    )
}

/// `out = z^2 - eps^2`: summed over a code, minus twice the log of p(z) / q(z) (prior over
/// proposal) up to a constant, the latent part of [`importance_mean`]'s weights.
pub fn latent_log_ratio(
    ctx: &GpuContext,
    out: &View,
    z: &View,
    eps: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    require(
        "latent_log_ratio",
        &[(out, "out"), (z, "z"), (eps, "eps")],
        n,
    )?;
    let p = params(n, 0, 0, 0.0, 0.0);
    elementwise(ctx, Kernel::LatentLogRatio, &[z, eps, out], p, n, 3.0)
}

/// `out[b, c] = sum over j < k of softmax_j(-(fit + lat)[b k + j] / 2) x[b k + j, c]`: the
/// importance-weighted mean of each image's `k` samples.
#[allow(clippy::too_many_arguments)]
pub fn importance_mean(
    ctx: &GpuContext,
    out: &View,
    x: &View,
    fit: &View,
    lat: &View,
    images: usize,
    cols: usize,
    k: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "importance_mean";
    x.require(OP, "x", (images * k * cols) as u64)?;
    require(OP, &[(fit, "fit"), (lat, "lat")], images * k)?;
    out.require(OP, "out", (images * cols) as u64)?;
    check_loops(OP, 2 * k, "draw fewer samples")?;
    let n = images * cols;
    let p = params(n, cols, k as u32, 0.0, 0.0);
    elementwise(
        ctx,
        Kernel::ImportanceMean,
        &[x, fit, lat, out],
        p,
        n,
        8.0 * k as f64,
    )
}
