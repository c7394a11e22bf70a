//! Dispatch builders for `shaders/conv.wgsl`, one per op of `cpu::conv`, same names and argument
//! order. The shader works on a small side (conv output, conv-transpose input) and a large side
//! (conv input, conv-transpose output) with weights `[A, B, k, k]`, A on the small side; both
//! PyTorch layouts fit that, so one kernel serves an op of each kind:
//!
//! | op                                 | kernel             | reads (small, large)  |
//! |------------------------------------|--------------------|-----------------------|
//! | `conv2d_forward`                   | `conv_direct`      | writes y from x       |
//! | `conv_transpose2d_backward_input`  | `conv_direct`      | writes dx from dy     |
//! | `conv_transpose2d_forward`         | `conv_transposed`  | writes y from x       |
//! | `conv2d_backward_input`            | `conv_transposed`  | writes dx from dy     |
//! | `conv2d_backward_weight`           | `conv_weight_grad` | (dy, x)               |
//! | `conv_transpose2d_backward_weight` | `conv_weight_grad` | (x, dy)               |
//! | `conv_backward_bias`               | `conv_bias_grad`   | dy                    |
//!
//! Where subgroups run on a CPU adapter, the 16 x 16 blocks take their weights by broadcast
//! (`conv_sg.wgsl`) and a weight gradient of 8 or more tap blocks is two dispatches
//! (`conv_weight_grad_sg`, `conv_weight_grad_sum`), the same sums in the same order; so the
//! weight-gradient builders return the dispatches of an op, not one.

use bytemuck::{Pod, Zeroable};

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::kernels::Kernel;
use crate::gpu::ops::{self, build, grid_1d, Dispatch};
use crate::gpu::variants::{
    conv_weight_grad_two_pass, transposed_phases, ConvBlock, SG_TAP_BLOCKS,
};
use crate::gpu::GpuContext;
use crate::model::op::Act;
use crate::shape::ConvGeom;

/// Channels x taps of a conv_weight_grad block and the invocations that share it; the
/// workgroup size of the other kernels (conv.wgsl).
const WEIGHT_BLOCK: usize = 16;
const WEIGHT_LANES: usize = 16;
const WORKGROUP: usize = 64;
/// Output pixels per invocation of conv_direct and conv_transposed (both variants).
const PIXEL_BLOCK: usize = 16;
/// WebGPU's default `maxComputeWorkgroupsPerDimension`.
const MAX_GROUPS: usize = 65535;
/// A bound on the iterations the kernels spend outside their main loops (the final 16- or
/// 64-term sums of the gradient kernels, their 4-element store loops).
const EPILOGUE_ITERATIONS: usize = 64 + 64;

/// Fails when one invocation of the kernel would loop more than llvmpipe allows.
fn check_loops(op: &'static str, iterations: usize) -> Result<(), GpuError> {
    ops::check_loops(
        op,
        iterations + EPILOGUE_ITERATIONS,
        "use fewer channels or a smaller batch",
    )
}

/// Loop iterations of one invocation of conv_weight_grad / conv_bias_grad: `rows` small-side
/// rows dealt over `lanes` invocations, each row a loop of `row_len`.
fn split_rows_iterations(rows: usize, lanes: usize, row_len: usize) -> usize {
    rows.div_ceil(lanes) * (row_len + 1)
}

const FLAG_ACCUMULATE: u32 = 1;
const FLAG_MASK: u32 = 2;
const FLAG_BIAS: u32 = 4;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ConvParams {
    batch: u32,
    a_ch: u32,
    b_ch: u32,
    k: u32,
    sh: u32,
    sw: u32,
    lh: u32,
    lw: u32,
    stride: u32,
    pad: u32,
    act: u32,
    flags: u32,
    pad_: [u32; 4],
}

/// The shader's view of a layer: A channels and the small side are the conv's output (the
/// conv-transpose's input), B channels and the large side its input (output).
fn conv_params(g: &ConvGeom, act: Act, flags: u32) -> ConvParams {
    let (a_ch, b_ch, small, large) = if g.transposed {
        (g.in_ch, g.out_ch, (g.in_h, g.in_w), (g.out_h(), g.out_w()))
    } else {
        (g.out_ch, g.in_ch, (g.out_h(), g.out_w()), (g.in_h, g.in_w))
    };
    ConvParams {
        batch: g.batch as u32,
        a_ch: a_ch as u32,
        b_ch: b_ch as u32,
        k: g.kernel as u32,
        sh: small.0 as u32,
        sw: small.1 as u32,
        lh: large.0 as u32,
        lw: large.1 as u32,
        stride: g.stride as u32,
        pad: g.pad as u32,
        act: act as u32,
        flags,
        pad_: [0; 4],
    }
}

/// Validates the geometry and that it is of the kind the op expects.
fn check(op: &'static str, g: &ConvGeom, transposed: bool) -> Result<(), GpuError> {
    g.validate().map_err(|e| GpuError::shape(op, e))?;
    if g.transposed != transposed {
        let want = if transposed {
            "a transposed"
        } else {
            "a plain"
        };
        return Err(GpuError::shape(
            op,
            format!("needs {want} ConvGeom, got {g:?}"),
        ));
    }
    Ok(())
}

/// [`check`], then each `(view, name, length)` long enough.
fn check_views(
    op: &'static str,
    g: &ConvGeom,
    transposed: bool,
    views: &[(&View, &str, usize)],
) -> Result<(), GpuError> {
    check(op, g, transposed)?;
    for (view, name, len) in views {
        view.require(op, name, *len as u64)?;
    }
    Ok(())
}

/// Grid for `conv_direct` / `conv_transposed`: pixel blocks along x, channel blocks along y,
/// `phases` along z.
fn block_grid(
    op: &'static str,
    block: ConvBlock,
    pixels: usize,
    channels: usize,
    phases: usize,
) -> Result<[u32; 3], GpuError> {
    checked_grid(
        op,
        [
            pixels.div_ceil(PIXEL_BLOCK).div_ceil(WORKGROUP),
            channels.div_ceil(block.channels()),
            phases,
        ],
    )
}

/// `groups` as a dispatch's grid, unless an axis is past the limit of workgroups.
fn checked_grid(op: &'static str, groups: [usize; 3]) -> Result<[u32; 3], GpuError> {
    if groups.iter().any(|&n| n > MAX_GROUPS) {
        return Err(GpuError::shape(
            op,
            format!("needs {groups:?} workgroups, more than {MAX_GROUPS} along one axis"),
        ));
    }
    Ok(groups.map(|n| n as u32))
}

/// `small[n, a] = sum large[n, b] w[a, b]` over the taps (conv_direct).
#[allow(clippy::too_many_arguments)]
fn direct(
    ctx: &GpuContext,
    op: &'static str,
    out: &View,
    large: &View,
    w: &View,
    bias: Option<&View>,
    mask: Option<&View>,
    g: &ConvGeom,
    act: Act,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    let p = conv_params(g, act, flags(bias.is_some(), mask.is_some(), accumulate));
    let pixels = g.batch * (p.sh * p.sw) as usize;
    let block = ConvBlock::for_channels(p.a_ch as usize);
    let groups = block_grid(op, block, pixels, p.a_ch as usize, 1)?;
    // ky, kx, b
    let k = g.kernel;
    check_loops(op, k * (1 + k * (1 + p.b_ch as usize)))?;
    build(
        ctx,
        block.direct_kernel(ctx),
        // Unused bias and mask slots still need read-only bindings: the source is one.
        &[large, w, bias.unwrap_or(large), mask.unwrap_or(large), out],
        &p,
        groups,
        g.flops(),
        bytes(g, out.len as usize, mask.is_some(), accumulate),
    )
}

/// `large[n, b] = sum small[n, a] w[a, b]` over the taps (conv_transposed).
#[allow(clippy::too_many_arguments)]
fn transposed(
    ctx: &GpuContext,
    op: &'static str,
    out: &View,
    small: &View,
    w: &View,
    bias: Option<&View>,
    mask: Option<&View>,
    g: &ConvGeom,
    act: Act,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    let p = conv_params(g, act, flags(bias.is_some(), mask.is_some(), accumulate));
    let s = g.stride;
    let bindings = [small, w, bias.unwrap_or(small), mask.unwrap_or(small), out];
    if transposed_phases(g.kernel, s, g.pad, p.b_ch as usize) {
        // one invocation per 8 pixels of a phase row, all four phases; channels along y
        let blocks =
            g.batch * (p.lh as usize).div_ceil(2) * (p.lw as usize).div_ceil(2).div_ceil(8);
        let groups = checked_grid(op, [blocks.div_ceil(WORKGROUP), p.b_ch as usize, 1])?;
        // a, then ty
        check_loops(op, p.a_ch as usize * 3)?;
        return build(
            ctx,
            Kernel::ConvTransposedPhases8,
            &bindings,
            &p,
            groups,
            g.flops(),
            bytes(g, out.len as usize, mask.is_some(), accumulate),
        );
    }
    let per_phase = g.batch * (p.lh as usize).div_ceil(s) * (p.lw as usize).div_ceil(s);
    let block = ConvBlock::for_channels(p.b_ch as usize);
    let groups = block_grid(op, block, per_phase, p.b_ch as usize, s * s)?;
    // the taps of one phase, then a
    let t = g.kernel.div_ceil(s);
    check_loops(op, t * (1 + t * (1 + p.a_ch as usize)))?;
    build(
        ctx,
        block.transposed_kernel(ctx),
        &bindings,
        &p,
        groups,
        g.flops(),
        bytes(g, out.len as usize, mask.is_some(), accumulate),
    )
}

fn flags(bias: bool, mask: bool, accumulate: bool) -> u32 {
    (if bias { FLAG_BIAS } else { 0 })
        | (if mask { FLAG_MASK } else { 0 })
        | (if accumulate { FLAG_ACCUMULATE } else { 0 })
}

/// Bytes a layer op moves at least once: both activations, the weights, a mask and the read
/// of an accumulated output.
fn bytes(g: &ConvGeom, out_len: usize, mask: bool, accumulate: bool) -> f64 {
    let extra = (mask as usize + accumulate as usize) * out_len;
    4.0 * (g.input_len() + g.output_len() + g.weight_len() + extra) as f64
}

/// `dw[a, b, ky, kx] (+)= sum over n, y, x of small[n, a, y, x] large[n, b, ..]`: one
/// workgroup per block of 16 channels x 16 taps; or, where the conv blocks take broadcasts and
/// the layer has at least 8 tap blocks, the same sums in two passes (`conv_weight_grad_sg`
/// into a partials buffer, then `conv_weight_grad_sum`).
fn weight_grad(
    ctx: &GpuContext,
    op: &'static str,
    dw: &View,
    small: &View,
    large: &View,
    g: &ConvGeom,
    accumulate: bool,
) -> Result<Vec<Dispatch>, GpuError> {
    let p = conv_params(g, Act::None, flags(false, false, accumulate));
    let taps = p.b_ch as usize * g.kernel * g.kernel;
    let tap_blocks = taps.div_ceil(WEIGHT_BLOCK);
    let channel_blocks = (p.a_ch as usize).div_ceil(WEIGHT_BLOCK);
    check_loops(
        op,
        split_rows_iterations(g.batch * p.sh as usize, WEIGHT_LANES, p.sw as usize),
    )?;
    let flops = g.flops();
    let moved = bytes(g, g.weight_len(), false, accumulate);
    if !conv_weight_grad_two_pass(ctx, tap_blocks) {
        let blocks = tap_blocks * channel_blocks;
        let one = build(
            ctx,
            Kernel::ConvWeightGrad,
            &[small, large, dw],
            &p,
            grid_1d(blocks as u64, 1),
            flops,
            moved,
        )?;
        return Ok(vec![one]);
    }
    // one slice of partial sums per row lane, each padded to whole quads
    let slice = (p.a_ch as usize * taps).div_ceil(4) * 4;
    let partials = View::whole(&buffers::zeros(
        ctx,
        "conv weight-gradient partials",
        (WEIGHT_LANES * slice) as u64,
    ));
    let groups = WEIGHT_LANES * channel_blocks * tap_blocks.div_ceil(SG_TAP_BLOCKS);
    let partial_sums = build(
        ctx,
        Kernel::ConvWeightGradSg,
        &[small, large, &partials],
        &p,
        grid_1d(groups as u64, 1),
        flops,
        moved + 4.0 * (WEIGHT_LANES * slice) as f64,
    )?;
    let sum = build(
        ctx,
        Kernel::ConvWeightGradSum,
        &[&partials, dw],
        &p,
        grid_1d((slice / 4) as u64, 64),
        (WEIGHT_LANES * slice) as f64,
        4.0 * (WEIGHT_LANES * slice + 2 * g.weight_len()) as f64,
    )?;
    Ok(vec![partial_sums, sum])
}

/// `y[n, o, oy, ox] = act(b[o] + sum over ky, kx, c of x[n, c, oy s - p + ky, ox s - p + kx]
/// w[o, c, ky, kx])`
pub fn conv2d_forward(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    w: &View,
    b: &View,
    g: &ConvGeom,
    act: Act,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "conv2d_forward";
    let (xn, wn, yn) = (g.input_len(), g.weight_len(), g.output_len());
    check_views(
        OP,
        g,
        false,
        &[(x, "x", xn), (w, "w", wn), (b, "b", g.out_ch), (y, "y", yn)],
    )?;
    direct(ctx, OP, y, x, w, Some(b), None, g, act, false)
}

/// `dx[n, c, iy, ix] (+)= sum of dy[n, o, oy, ox] w[o, c, ky, kx]` over the taps reaching
/// (iy, ix), zeroed where `relu_mask <= 0`.
pub fn conv2d_backward_input(
    ctx: &GpuContext,
    dx: &View,
    dy: &View,
    w: &View,
    relu_mask: Option<&View>,
    g: &ConvGeom,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "conv2d_backward_input";
    let (xn, wn, yn) = (g.input_len(), g.weight_len(), g.output_len());
    check_views(
        OP,
        g,
        false,
        &[(dy, "dy", yn), (w, "w", wn), (dx, "dx", xn)],
    )?;
    if let Some(m) = relu_mask {
        m.require(OP, "relu mask", xn as u64)?;
    }
    transposed(
        ctx,
        OP,
        dx,
        dy,
        w,
        None,
        relu_mask,
        g,
        Act::None,
        accumulate,
    )
}

/// `dw[o, c, ky, kx] (+)= sum over n, oy, ox of dy[n, o, oy, ox] x[n, c, oy s - p + ky,
/// ox s - p + kx]`
pub fn conv2d_backward_weight(
    ctx: &GpuContext,
    dw: &View,
    dy: &View,
    x: &View,
    g: &ConvGeom,
    accumulate: bool,
) -> Result<Vec<Dispatch>, GpuError> {
    const OP: &str = "conv2d_backward_weight";
    let (xn, wn, yn) = (g.input_len(), g.weight_len(), g.output_len());
    check_views(
        OP,
        g,
        false,
        &[(dy, "dy", yn), (x, "x", xn), (dw, "dw", wn)],
    )?;
    weight_grad(ctx, OP, dw, dy, x, g, accumulate)
}

/// `y[n, o, oy, ox] = act(b[o] + sum of x[n, c, iy, ix] w[c, o, ky, kx])` over the input
/// pixels and taps with `iy s - p + ky = oy`, `ix s - p + kx = ox`.
pub fn conv_transpose2d_forward(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    w: &View,
    b: &View,
    g: &ConvGeom,
    act: Act,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "conv_transpose2d_forward";
    let (xn, wn, yn) = (g.input_len(), g.weight_len(), g.output_len());
    check_views(
        OP,
        g,
        true,
        &[(x, "x", xn), (w, "w", wn), (b, "b", g.out_ch), (y, "y", yn)],
    )?;
    transposed(ctx, OP, y, x, w, Some(b), None, g, act, false)
}

/// `dx[n, c, iy, ix] (+)= sum over ky, kx, o of dy[n, o, iy s - p + ky, ix s - p + kx]
/// w[c, o, ky, kx]`, zeroed where `relu_mask <= 0`.
pub fn conv_transpose2d_backward_input(
    ctx: &GpuContext,
    dx: &View,
    dy: &View,
    w: &View,
    relu_mask: Option<&View>,
    g: &ConvGeom,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "conv_transpose2d_backward_input";
    let (xn, wn, yn) = (g.input_len(), g.weight_len(), g.output_len());
    check_views(OP, g, true, &[(dy, "dy", yn), (w, "w", wn), (dx, "dx", xn)])?;
    if let Some(m) = relu_mask {
        m.require(OP, "relu mask", xn as u64)?;
    }
    direct(
        ctx,
        OP,
        dx,
        dy,
        w,
        None,
        relu_mask,
        g,
        Act::None,
        accumulate,
    )
}

/// `dw[c, o, ky, kx] (+)= sum over n, iy, ix of x[n, c, iy, ix] dy[n, o, iy s - p + ky,
/// ix s - p + kx]`
pub fn conv_transpose2d_backward_weight(
    ctx: &GpuContext,
    dw: &View,
    dy: &View,
    x: &View,
    g: &ConvGeom,
    accumulate: bool,
) -> Result<Vec<Dispatch>, GpuError> {
    const OP: &str = "conv_transpose2d_backward_weight";
    let (xn, wn, yn) = (g.input_len(), g.weight_len(), g.output_len());
    check_views(OP, g, true, &[(dy, "dy", yn), (x, "x", xn), (dw, "dw", wn)])?;
    weight_grad(ctx, OP, dw, x, dy, g, accumulate)
}

/// `db[o] (+)= sum over n, oy, ox of dy[n, o, oy, ox]`, for either kind.
pub fn conv_backward_bias(
    ctx: &GpuContext,
    db: &View,
    dy: &View,
    g: &ConvGeom,
    accumulate: bool,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "conv_backward_bias";
    g.validate().map_err(|e| GpuError::shape(OP, e))?;
    dy.require(OP, "dy", g.output_len() as u64)?;
    db.require(OP, "db", g.out_ch as u64)?;
    check_loops(
        OP,
        split_rows_iterations(g.batch * g.out_h(), WORKGROUP, g.out_w()),
    )?;
    // conv_bias_grad reads batch, a_ch (the channels) and sh x sw (the pixels of a channel);
    // one workgroup per channel.
    let p = ConvParams {
        a_ch: g.out_ch as u32,
        sh: g.out_h() as u32,
        sw: g.out_w() as u32,
        ..conv_params(g, Act::None, flags(false, false, accumulate))
    };
    build(
        ctx,
        Kernel::ConvBiasGrad,
        &[dy, db],
        &p,
        grid_1d(g.out_ch as u64, 1),
        g.output_len() as f64,
        4.0 * (g.output_len() + g.out_ch * (1 + accumulate as usize)) as f64,
    )
}
