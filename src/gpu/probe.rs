//! Builders of probe.wgsl's two kernels: the adapter's peak FLOP/s and peak bandwidth, which
//! `wgvae bench kernels` measures before its rows and divides them by.

use bytemuck::{Pod, Zeroable};

use crate::error::GpuError;
use crate::gpu::buffers::View;
use crate::gpu::kernels::Kernel;
use crate::gpu::ops::{build, check_loops, grid_1d, Dispatch};
use crate::gpu::GpuContext;

/// The chains' multiplier and addend: a = a/2 + 1/4 stays near 1/2, so rounding never grows.
pub const FMA_M: f32 = 0.5;
/// The chains' addend (see [`FMA_M`]).
pub const FMA_C: f32 = 0.25;
/// Scalar multiply-adds per round of `fma_peak` (4 chains of one vec4 each).
const FMAS_PER_ROUND: f64 = 4.0 * 4.0;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ProbeParams {
    n: u32,
    iters: u32,
    m: f32,
    c: f32,
}

/// `invocations` invocations of `iters` rounds each; `out` takes one vec4 per invocation.
pub fn fma_peak(
    ctx: &GpuContext,
    out: &View,
    invocations: usize,
    iters: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "fma_peak";
    out.require(OP, "out", 4 * invocations as u64)?;
    check_loops(OP, iters, "use fewer rounds")?;
    build(
        ctx,
        Kernel::FmaPeak,
        &[out],
        &ProbeParams {
            n: invocations as u32,
            iters: iters as u32,
            m: FMA_M,
            c: FMA_C,
        },
        grid_1d(invocations as u64, 64),
        2.0 * FMAS_PER_ROUND * (invocations * iters) as f64,
        16.0 * invocations as f64,
    )
}

/// dst = src over `vec4s` vec4s: 16 bytes read and 16 written per invocation.
pub fn copy_vec4(
    ctx: &GpuContext,
    dst: &View,
    src: &View,
    vec4s: usize,
) -> Result<Dispatch, GpuError> {
    const OP: &str = "copy_vec4";
    src.require(OP, "src", 4 * vec4s as u64)?;
    dst.require(OP, "dst", 4 * vec4s as u64)?;
    build(
        ctx,
        Kernel::CopyVec4,
        &[src, dst],
        &ProbeParams {
            n: vec4s as u32,
            iters: 0,
            m: 0.0,
            c: 0.0,
        },
        grid_1d(vec4s as u64, 64),
        0.0,
        32.0 * vec4s as f64,
    )
}
