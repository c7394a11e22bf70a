//! The variant policy of every op family with more than one kernel: which kernels a device can
//! run, the fallback that runs everywhere first, and the rule that picks one. Builders ask here
//! and never decide themselves, so `wgvae info`, the autotuner and the tests see one policy.
//!
//! | family | candidates (fallback first) | rule |
//! |---|---|---|
//! | linear products | tiled, reg4x4, reg8x8, sg16x4 | [`LinearVariant::preferred`] per adapter, or the autotuner's measurement; reg8x8 and sg16x4 fall back to reg4x4's kernels where a contiguous axis is not a multiple of 4 |
//! | conv blocks | 16x16, 4x16, sg16x16 | [`ConvBlock::for_channels`]: 4x16 for at most 4 output channels; 16x16 takes its weights by subgroup broadcast where [`conv_broadcasts`] |
//! | conv weight gradient | one pass, two passes (sg) | [`conv_weight_grad_two_pass`] |
//! | row sums | sum_rows, sum_rows_sg | [`sum_rows_kernel`] |
//! | Adam, gather, BCE | scalar, vec4 | vec4 where the length is a multiple of 4 (in their builders' checks) |
//!
//! Variant names are the WGSL entry points' suffixes (`forward_reg8x8`, `conv_direct_4x16`), and
//! the `Kernel` variants spell the same names (`LinearForwardReg8x8`, `ConvDirect4x16`).

use crate::error::GpuError;
use crate::gpu::kernels::Kernel;
use crate::gpu::GpuContext;

// ---------------------------------------------------------------- linear

/// Kernel variants of the linear products (`linear.wgsl`'s header). `Tiled` and `Reg4x4` differ
/// in the forward product only and share reg4x4's backward kernels; `Reg8x8` has all three
/// products and falls back to reg4x4's where a contiguous axis is not a multiple of 4; `Sg16x4`
/// (`linear_sg.wgsl`) needs subgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinearVariant {
    Tiled,
    Reg4x4,
    Reg8x8,
    Sg16x4,
}

impl LinearVariant {
    /// Every variant, in the order the autotuner and the benchmarks try them.
    pub const ALL: [LinearVariant; 4] = [
        LinearVariant::Tiled,
        LinearVariant::Reg4x4,
        LinearVariant::Reg8x8,
        LinearVariant::Sg16x4,
    ];

    /// The variant's name in benchmark rows, notes and the autotune cache.
    pub fn name(self) -> &'static str {
        match self {
            LinearVariant::Tiled => "tiled",
            LinearVariant::Reg4x4 => "reg4x4",
            LinearVariant::Reg8x8 => "reg8x8",
            LinearVariant::Sg16x4 => "sg16x4",
        }
    }

    /// The variant [`LinearVariant::name`] gives as `name`, or None (a cache entry of another
    /// build).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The variants a device with (`subgroups`, `GpuContext::subgroups`) or without subgroups
    /// can run: sg16x4 needs them.
    pub fn on(subgroups: bool) -> Vec<LinearVariant> {
        Self::ALL
            .into_iter()
            .filter(|v| v.runs_on(subgroups))
            .collect()
    }

    /// Whether a device with (`subgroups`) or without subgroups can run this variant.
    pub fn runs_on(self, subgroups: bool) -> bool {
        self != LinearVariant::Sg16x4 || subgroups
    }

    /// The default per adapter: barriers are costly on CPU rasterisers (llvmpipe, SwiftShader,
    /// WARP), cheap on GPUs; on a CPU adapter a subgroup broadcast beats a per-lane load.
    /// `wgvae bench kernels` measures all of them (BENCHMARKS.md).
    pub fn preferred(info: &wgpu::AdapterInfo, subgroups: bool) -> Self {
        match (info.device_type == wgpu::DeviceType::Cpu, subgroups) {
            (true, true) => LinearVariant::Sg16x4,
            (true, false) => LinearVariant::Reg8x8,
            _ => LinearVariant::Tiled,
        }
    }

    /// Whether this variant runs its vec4 kernels (reg8x8, sg16x4) on a product whose
    /// contiguous axes are `axes` long (they are read as vec4).
    pub(crate) fn wide(self, axes: &[usize]) -> bool {
        matches!(self, LinearVariant::Reg8x8 | LinearVariant::Sg16x4)
            && axes.iter().all(|a| a.is_multiple_of(4))
    }

    /// An error unless the device behind `ctx` can run this variant.
    pub(crate) fn check_device(self, op: &'static str, ctx: &GpuContext) -> Result<(), GpuError> {
        if self.runs_on(ctx.subgroups) {
            return Ok(());
        }
        Err(GpuError::shape(
            op,
            format!(
                "variant {} needs subgroup kernels, which are off on {} (it has no subgroups of 8 \
                 or more lanes, or --no-subgroups was given)",
                self.name(),
                ctx.info.name
            ),
        ))
    }
}

// ---------------------------------------------------------------- conv

/// Block shape of `conv_direct` / `conv_transposed` (`conv.wgsl`'s variants, named by their
/// entry points' suffixes): output channels x output pixels per invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvBlock {
    /// 16 x 16 (`conv_direct_16x16`, or `conv_direct_sg16x16` where [`conv_broadcasts`]), for
    /// layers with more than 4 output channels.
    B16x16,
    /// 4 x 16 (`conv_direct_4x16`), for layers with 1 to 4 output channels.
    B4x16,
}

impl ConvBlock {
    /// The candidates, fallback first.
    pub const ALL: [ConvBlock; 2] = [ConvBlock::B16x16, ConvBlock::B4x16];

    /// The block for a kernel writing `channels` output channels.
    pub fn for_channels(channels: usize) -> Self {
        if channels <= 4 {
            ConvBlock::B4x16
        } else {
            ConvBlock::B16x16
        }
    }

    /// Output channels per invocation.
    pub fn channels(self) -> usize {
        match self {
            ConvBlock::B16x16 => 16,
            ConvBlock::B4x16 => 4,
        }
    }

    /// The `conv_direct` kernel of this block on `ctx`.
    pub fn direct_kernel(self, ctx: &GpuContext) -> Kernel {
        match self {
            ConvBlock::B16x16 if conv_broadcasts(ctx) => Kernel::ConvDirectSg16x16,
            ConvBlock::B16x16 => Kernel::ConvDirect16x16,
            ConvBlock::B4x16 => Kernel::ConvDirect4x16,
        }
    }

    /// The `conv_transposed` kernel of this block on `ctx`.
    pub fn transposed_kernel(self, ctx: &GpuContext) -> Kernel {
        match self {
            ConvBlock::B16x16 if conv_broadcasts(ctx) => Kernel::ConvTransposedSg16x16,
            ConvBlock::B16x16 => Kernel::ConvTransposed16x16,
            ConvBlock::B4x16 => Kernel::ConvTransposed4x16,
        }
    }
}

/// Whether a transposed conv into `channels` channels (on the large side) runs
/// `conv_transposed_phases_8`: kernel 4, stride 2, padding 0 to 2 (the conv VAEs' layers) and
/// one or two channels, where the channel blocks would waste most of their lanes (the 4x16
/// block makes 16 useful multiply-adds per 20 loads for one channel, the phases kernel 128 per
/// 46).
pub fn transposed_phases(kernel: usize, stride: usize, pad: usize, channels: usize) -> bool {
    kernel == 4 && stride == 2 && pad <= 2 && channels <= 2
}

/// Whether the 16 x 16 conv blocks take their weights by subgroup broadcast (`conv_sg.wgsl`, the
/// same sums in the same order): where subgroups run on a CPU adapter, where it was measured
/// (1.3-1.4x on lavapipe, BENCHMARKS.md). A GPU serves a load every lane shares from its
/// caches, so there the plain kernels stay until a GPU measurement says otherwise.
pub fn conv_broadcasts(ctx: &GpuContext) -> bool {
    ctx.subgroups && ctx.info.device_type == wgpu::DeviceType::Cpu
}

/// Tap blocks per workgroup of `conv_weight_grad_sg` (one per lane of an 8-lane subgroup), and
/// the fewest for which a conv weight gradient is worth two passes.
pub const SG_TAP_BLOCKS: usize = 8;

/// Whether a conv weight gradient of `tap_blocks` blocks of 16 taps runs as two passes
/// (`conv_weight_grad_sg` into partial sums, then `conv_weight_grad_sum`) rather than one
/// (`conv_weight_grad`): where the conv blocks take broadcasts and there are at least
/// [`SG_TAP_BLOCKS`] tap blocks to share the lanes.
pub fn conv_weight_grad_two_pass(ctx: &GpuContext, tap_blocks: usize) -> bool {
    conv_broadcasts(ctx) && tap_blocks >= SG_TAP_BLOCKS
}

// ---------------------------------------------------------------- reductions

/// The row-sum kernel for rows of `cols` values: `sum_rows_sg` (8 invocations a row, 64
/// columns a step, no barriers) where the device has subgroups and the rows are whole quads,
/// else `sum_rows` (64 invocations a row, then a tree through workgroup memory), the fallback.
pub fn sum_rows_kernel(ctx: &GpuContext, cols: usize) -> Kernel {
    if ctx.subgroups && cols.is_multiple_of(4) {
        Kernel::SumRowsSg
    } else {
        Kernel::SumRows
    }
}

#[cfg(test)]
mod tests {
    use super::{ConvBlock, LinearVariant};

    fn adapter(device_type: wgpu::DeviceType) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo::new(device_type, wgpu::Backend::Vulkan)
    }

    #[test]
    fn sg16x4_runs_only_with_subgroups_and_leads_on_cpu_adapters_that_have_them() {
        assert!(LinearVariant::on(true).contains(&LinearVariant::Sg16x4));
        assert!(!LinearVariant::on(false).contains(&LinearVariant::Sg16x4));
        assert_eq!(LinearVariant::on(false).len(), LinearVariant::ALL.len() - 1);
        let cpu = adapter(wgpu::DeviceType::Cpu);
        assert_eq!(LinearVariant::preferred(&cpu, true), LinearVariant::Sg16x4);
        assert_eq!(LinearVariant::preferred(&cpu, false), LinearVariant::Reg8x8);
        let gpu = adapter(wgpu::DeviceType::DiscreteGpu);
        assert_eq!(LinearVariant::preferred(&gpu, true), LinearVariant::Tiled);
        assert_eq!(
            LinearVariant::from_name("sg16x4"),
            Some(LinearVariant::Sg16x4)
        );
    }

    #[test]
    fn conv_blocks_follow_the_output_channels() {
        assert_eq!(ConvBlock::for_channels(1), ConvBlock::B4x16);
        assert_eq!(ConvBlock::for_channels(4), ConvBlock::B4x16);
        assert_eq!(ConvBlock::for_channels(5), ConvBlock::B16x16);
        assert_eq!(ConvBlock::ALL[0], ConvBlock::B16x16);
    }
}
