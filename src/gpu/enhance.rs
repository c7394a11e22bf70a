//! Dispatch builders for `shaders/enhance.wgsl`, one per function of `cpu::enhance`, same names
//! and argument order. Pictures are planar (`c * plane + i`), one or three channels.
//!
//! Contrast and auto-levels read their grey level and stretch from a small `stats` buffer that
//! `histogram` + `histogram_stats` fill on the GPU, so a whole chain of adjustments records into
//! one pass with no read-back in between.

use bytemuck::{Pod, Zeroable};

use crate::cpu::enhance::{HistogramMode, BINS};
use crate::error::GpuError;
use crate::gpu::buffers::View;
use crate::gpu::kernels::Kernel;
use crate::gpu::ops::{build, grid_1d, Dispatch};
use crate::gpu::GpuContext;

/// Workgroup size of the elementwise kernels.
const WORKGROUP: u64 = 64;
/// The default of enhance.wgsl's `HISTOGRAM_ITEMS` override: items per histogram invocation.
pub const HISTOGRAM_ITEMS: usize = 16;
/// Floats `histogram_stats` writes: (mean, low, high) and one spare.
pub const STATS_LEN: usize = 4;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct EnhanceParams {
    n: u32,
    plane: u32,
    channels: u32,
    mode: u32,
    factor: f32,
    low_count: u32,
    high_count: u32,
    pad: u32,
}

fn params(n: usize, plane: usize, channels: usize, factor: f32) -> EnhanceParams {
    EnhanceParams {
        n: n as u32,
        plane: plane as u32,
        channels: channels as u32,
        mode: 0,
        factor,
        low_count: 0,
        high_count: 0,
        pad: 0,
    }
}

/// Fails unless the picture has 1 or 3 channels and its samples fit the kernels' u32 indices.
fn check_picture(op: &'static str, plane: usize, channels: usize) -> Result<(), GpuError> {
    if channels != 1 && channels != 3 {
        return Err(GpuError::shape(
            op,
            format!("pictures have 1 or 3 channels, not {channels}"),
        ));
    }
    if plane * channels > u32::MAX as usize / 2 {
        return Err(GpuError::shape(
            op,
            format!("{} samples are too many for one dispatch", plane * channels),
        ));
    }
    Ok(())
}

/// The two views of an elementwise kernel over `n` samples.
fn check_pair(op: &'static str, y: &View, x: &View, n: usize) -> Result<(), GpuError> {
    x.require(op, "x", n as u64)?;
    y.require(op, "y", n as u64)
}

/// `y = clip(x * factor)` over `n` samples (Pillow's Brightness).
pub fn brightness(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    n: usize,
    factor: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "brightness";
    check_pair(OP, y, x, n)?;
    build(
        ctx,
        Kernel::Brightness,
        &[x, y],
        &params(n, n, 1, factor),
        grid_1d(n as u64, WORKGROUP),
        2.0 * n as f64,
        8.0 * n as f64,
    )
}

/// `y = clip(m + factor (x - m))`, m = stats[0] (Pillow's Contrast with the mean luma from
/// `histogram_stats`).
pub fn contrast(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    stats: &View,
    n: usize,
    factor: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "contrast";
    check_pair(OP, y, x, n)?;
    stats.require(OP, "stats", STATS_LEN as u64)?;
    build(
        ctx,
        Kernel::Contrast,
        &[x, y, stats],
        &params(n, n, 1, factor),
        grid_1d(n as u64, WORKGROUP),
        4.0 * n as f64,
        8.0 * n as f64,
    )
}

/// Per pixel: `y = clip(L + factor (x - L))`, L its luma level / 255 (Pillow's Color); one
/// channel: `y = x`.
pub fn saturation(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    plane: usize,
    channels: usize,
    factor: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "saturation";
    check_picture(OP, plane, channels)?;
    check_pair(OP, y, x, plane * channels)?;
    build(
        ctx,
        Kernel::Saturation,
        &[x, y],
        &params(plane, plane, channels, factor),
        grid_1d(plane as u64, WORKGROUP),
        12.0 * plane as f64,
        8.0 * (plane * channels) as f64,
    )
}

/// `y = clip(x)^exponent` over `n` samples; exponent = 1 / gamma.
pub fn gamma(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    n: usize,
    exponent: f32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "gamma";
    check_pair(OP, y, x, n)?;
    build(
        ctx,
        Kernel::Gamma,
        &[x, y],
        &params(n, n, 1, exponent),
        grid_1d(n as u64, WORKGROUP),
        4.0 * n as f64,
        8.0 * n as f64,
    )
}

/// `y = clip((x - stats[1]) / (stats[2] - stats[1]))` over `n` samples (the auto-levels
/// stretch).
pub fn levels(
    ctx: &GpuContext,
    y: &View,
    x: &View,
    stats: &View,
    n: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "levels";
    check_pair(OP, y, x, n)?;
    stats.require(OP, "stats", STATS_LEN as u64)?;
    build(
        ctx,
        Kernel::Levels,
        &[x, y, stats],
        &params(n, n, 1, 0.0),
        grid_1d(n as u64, WORKGROUP),
        3.0 * n as f64,
        8.0 * n as f64,
    )
}

/// `bins[level] += 1` per item of `mode` (256 u32 counts, added onto: zero them first).
pub fn histogram(
    ctx: &GpuContext,
    bins: &View,
    x: &View,
    plane: usize,
    channels: usize,
    mode: HistogramMode,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "histogram";
    check_picture(OP, plane, channels)?;
    x.require(OP, "x", (plane * channels) as u64)?;
    bins.require(OP, "bins", BINS as u64)?;
    // each invocation loops HISTOGRAM_ITEMS times, whatever the picture's size
    let items = mode.items(plane, channels);
    let p = EnhanceParams {
        mode: mode as u32,
        ..params(items, plane, channels, 0.0)
    };
    build(
        ctx,
        Kernel::Histogram,
        &[x, bins],
        &p,
        grid_1d(items as u64, (BINS * HISTOGRAM_ITEMS) as u64),
        (5 * plane * channels) as f64,
        4.0 * (plane * channels) as f64,
    )
}

/// stats = (mean level, low level, high level) / 255 from `bins` counting `total` items, one
/// invocation (see `cpu::enhance::histogram_stats`; the counts from `percentile_counts`).
pub fn histogram_stats(
    ctx: &GpuContext,
    stats: &View,
    bins: &View,
    total: usize,
    low_count: u32,
    high_count: u32,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "histogram_stats";
    bins.require(OP, "bins", BINS as u64)?;
    stats.require(OP, "stats", STATS_LEN as u64)?;
    if total > u32::MAX as usize {
        return Err(GpuError::shape(
            OP,
            format!("{total} items overflow a count"),
        ));
    }
    // one invocation loops at most 4 x 256 times (sum, mean, low and high scans)
    let p = EnhanceParams {
        low_count,
        high_count,
        ..params(total, 0, 1, 0.0)
    };
    build(
        ctx,
        Kernel::HistogramStats,
        &[bins, stats],
        &p,
        [1, 1, 1],
        (4 * BINS) as f64,
        4.0 * (BINS + STATS_LEN) as f64,
    )
}
