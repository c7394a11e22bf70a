//! Dispatch builders for the three linear products (`linear.wgsl`, `linear_sg.wgsl`), in the
//! variant [`LinearVariant`] names; mirrors `cpu::ops`' linear functions call for call.

use bytemuck::{Pod, Zeroable};

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::dispatch::{build, check_loops, grid_1d, Dispatch};
use crate::gpu::kernels::Kernel;
use crate::gpu::variants::LinearVariant;
use crate::gpu::GpuContext;
use crate::model::op::Act;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct LinearParams {
    m: u32,
    n: u32,
    k: u32,
    act: u32,
    accumulate: u32,
    mask_relu: u32,
    bias: u32,
    pad: u32,
}

fn linear_params(
    m: usize,
    k: usize,
    n: usize,
    act: Act,
    accumulate: bool,
    mask: bool,
) -> LinearParams {
    LinearParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        act: act as u32,
        accumulate: accumulate as u32,
        mask_relu: mask as u32,
        bias: 0,
        pad: 0,
    }
}

/// `y[m, n] = act(x[m, k] w[n, k]^T + b[n])`
#[allow(clippy::too_many_arguments)]
pub fn linear_forward(
    ctx: &GpuContext,
    variant: LinearVariant,
    y: &View,
    x: &View,
    w: &View,
    b: &View,
    m: usize,
    k: usize,
    n: usize,
    act: Act,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "linear_forward";
    x.require(OP, "x", (m * k) as u64)?;
    w.require(OP, "w", (n * k) as u64)?;
    b.require(OP, "b", n as u64)?;
    y.require(OP, "y", (m * n) as u64)?;
    variant.check_device(OP, ctx)?;
    // reg4x4 walks k four at a time, then the rest and 16 stores; tiled k in 16-wide tiles;
    // reg8x8 k four at a time and 16 stores of 4; sg16x4 k four at a time and 16 of 4
    let (kernel, groups, loops) = match variant {
        LinearVariant::Sg16x4 if variant.wide(&[k, n]) => (
            Kernel::LinearForwardSg16x4,
            [n.div_ceil(32) as u32, m.div_ceil(16) as u32, 1],
            k / 4 + 64,
        ),
        LinearVariant::Tiled => (
            Kernel::LinearForwardTiled,
            [n.div_ceil(16) as u32, m.div_ceil(16) as u32, 1],
            k + k / 16 + 16,
        ),
        _ if variant.wide(&[k]) => (
            Kernel::LinearForwardReg8x8,
            [n.div_ceil(64) as u32, m.div_ceil(8) as u32, 1],
            k / 4 + 64,
        ),
        _ => (
            Kernel::LinearForwardReg4x4,
            [n.div_ceil(32) as u32, m.div_ceil(32) as u32, 1],
            k / 4 + 4 + 16,
        ),
    };
    check_loops(OP, loops, "the layer is too wide for this driver")?;
    let flops = 2.0 * (m * n * k) as f64;
    let bytes = 4.0 * (m * k + n * k + n + m * n) as f64;
    build(
        ctx,
        kernel,
        &[x, w, b, y],
        &linear_params(m, k, n, act, false, false),
        groups,
        flops,
        bytes,
    )
}

/// dx[m, k] (+)= dy[m, n] w[n, k], times relu'(mask) when `relu_mask` is given.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward_input(
    ctx: &GpuContext,
    variant: LinearVariant,
    dx: &View,
    dy: &View,
    w: &View,
    relu_mask: Option<&View>,
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "linear_backward_input";
    dy.require(OP, "dy", (m * n) as u64)?;
    w.require(OP, "w", (n * k) as u64)?;
    dx.require(OP, "dx", (m * k) as u64)?;
    if let Some(mask) = relu_mask {
        mask.require(OP, "relu mask", (m * k) as u64)?;
    }
    variant.check_device(OP, ctx)?;
    // reg4x4: one pass over n (with a 4-step load loop per n where k leaves a ragged edge), 16
    // stores; reg8x8 and sg16x4: n four at a time, 16 stores of 4
    let (kernel, groups, loops) = if variant == LinearVariant::Sg16x4 && variant.wide(&[k, n]) {
        (
            Kernel::LinearBackwardInputSg16x4,
            [k.div_ceil(32) as u32, m.div_ceil(16) as u32, 1],
            n / 4 + 16,
        )
    } else if variant.wide(&[k, n]) {
        (
            Kernel::LinearBackwardInputReg8x8,
            [k.div_ceil(64) as u32, m.div_ceil(8) as u32, 1],
            n / 4 + 64,
        )
    } else {
        let per_n = if k.is_multiple_of(4) { 1 } else { 5 };
        (
            Kernel::LinearBackwardInput,
            [k.div_ceil(32) as u32, m.div_ceil(32) as u32, 1],
            per_n * n + 16,
        )
    };
    check_loops(OP, loops, "the layer is too wide for this driver")?;
    // Without a mask the slot still needs a read-only binding: dy is one, and is never read.
    let mask_view = relu_mask.unwrap_or(dy);
    build(
        ctx,
        kernel,
        &[dy, w, mask_view, dx],
        &linear_params(m, k, n, Act::None, accumulate, relu_mask.is_some()),
        groups,
        2.0 * (m * n * k) as f64,
        4.0 * (m * n + n * k + 2 * m * k) as f64,
    )
}

/// Whether [`linear_backward_weight`] can also give the bias gradient (`db`) at this shape:
/// the reg8x8 kernels sum dY's rows as they load them.
pub fn linear_folds_bias(variant: LinearVariant, k: usize, n: usize) -> bool {
    variant.wide(&[k, n])
}

/// dw[n, k] (+)= dy[m, n]^T x[m, k], and db[n] (+)= sum over rows of dy[m, n] in row order when
/// `db` is given (only where [`linear_folds_bias`] says so).
#[allow(clippy::too_many_arguments)]
pub fn linear_backward_weight(
    ctx: &GpuContext,
    variant: LinearVariant,
    dw: &View,
    db: Option<&View>,
    dy: &View,
    x: &View,
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "linear_backward_weight";
    dy.require(OP, "dy", (m * n) as u64)?;
    x.require(OP, "x", (m * k) as u64)?;
    dw.require(OP, "dw", (n * k) as u64)?;
    if let Some(db) = db {
        db.require(OP, "db", n as u64)?;
        if !linear_folds_bias(variant, k, n) {
            return Err(GpuError::shape(
                OP,
                format!(
                    "variant {} cannot fold the bias gradient at k = {k}, n = {n}",
                    variant.name()
                ),
            ));
        }
    }
    variant.check_device(OP, ctx)?;
    // reg4x4: one pass over m (with a 4-step load loop per m where k leaves a ragged edge), 16
    // stores; reg8x8: m four at a time, the last m % 4 one by one, 16 stores of 4
    // reg8x8 tiles dW with 8 x 64 blocks, rows n and columns k or (transposed) the other way
    // round: whichever pads the product less (fc3's 400 x 20 wastes 69% untransposed)
    let padded = |rows: usize, cols: usize| rows.div_ceil(8) * 8 * cols.div_ceil(64) * 64;
    let transposed = padded(k, n) < padded(n, k);
    // sg16x4: m four at a time, the last m % 4 one by one, 16 stores of 4
    let (kernel, groups, loops) = if variant == LinearVariant::Sg16x4 && variant.wide(&[k, n]) {
        (
            Kernel::LinearBackwardWeightSg16x4,
            [k.div_ceil(32) as u32, n.div_ceil(16) as u32, 1],
            m / 4 + 3 + 16,
        )
    } else if variant.wide(&[k, n]) && transposed {
        (
            Kernel::LinearBackwardWeightTReg8x8,
            [n.div_ceil(64) as u32, k.div_ceil(8) as u32, 1],
            m + 64,
        )
    } else if variant.wide(&[k, n]) {
        (
            Kernel::LinearBackwardWeightReg8x8,
            [k.div_ceil(64) as u32, n.div_ceil(8) as u32, 1],
            m / 4 + 3 + 64,
        )
    } else {
        let per_m = if k.is_multiple_of(4) { 1 } else { 5 };
        (
            Kernel::LinearBackwardWeight,
            [k.div_ceil(32) as u32, n.div_ceil(32) as u32, 1],
            per_m * m + 16,
        )
    };
    check_loops(OP, loops, "use a smaller batch")?;
    let mut params = linear_params(m, k, n, Act::None, accumulate, false);
    params.bias = db.is_some() as u32;
    // Without db the reg8x8 kernels still need a writable binding there; they never touch it.
    let spare;
    let db_view = match db {
        Some(db) => db,
        None => {
            spare = View::whole(&buffers::zeros(ctx, "no db", 4));
            &spare
        }
    };
    let views: &[&View] = match kernel {
        Kernel::LinearBackwardWeight => &[dy, x, dw],
        _ => &[dy, x, dw, db_view],
    };
    let bias_flops = if db.is_some() { m * n } else { 0 };
    build(
        ctx,
        kernel,
        views,
        &params,
        groups,
        2.0 * (m * n * k) as f64 + bias_flops as f64,
        4.0 * (m * n + m * k + n * k) as f64,
    )
}

/// `db[n] (+)= sum over rows of dy[m, n]`
pub fn linear_backward_bias(
    ctx: &GpuContext,
    db: &View,
    dy: &View,
    m: usize,
    n: usize,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "linear_backward_bias";
    dy.require(OP, "dy", (m * n) as u64)?;
    db.require(OP, "db", n as u64)?;
    check_loops(OP, m, "use a smaller batch")?;
    build(
        ctx,
        Kernel::LinearBackwardBias,
        &[dy, db],
        &linear_params(m, 0, n, Act::None, accumulate, false),
        grid_1d(n as u64, 64),
        (m * n) as f64,
        4.0 * (m * n + n) as f64,
    )
}
