//! The kernel table: each `Kernel` names a WGSL file, an entry point and its explicit bind group
//! layout. Sources are embedded at build time, so the binary runs from any folder.

use std::borrow::Cow;

/// One `.wgsl` file. Files that draw random numbers are compiled as `rng.wgsl` + their text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShaderFile {
    Rng,
    Linear,
    LinearSg,
    Activation,
    Reparam,
    Kl,
    Loss,
    Reduce,
    ReduceSg,
    Adam,
    Gather,
    Conv,
    ConvSg,
    Restore,
    Enhance,
    Corrupt,
    Probe,
}

const RNG_WGSL: &str = include_str!("../../shaders/rng.wgsl");

impl ShaderFile {
    pub const ALL: [ShaderFile; 17] = [
        ShaderFile::Rng,
        ShaderFile::Linear,
        ShaderFile::LinearSg,
        ShaderFile::Activation,
        ShaderFile::Reparam,
        ShaderFile::Kl,
        ShaderFile::Loss,
        ShaderFile::Reduce,
        ShaderFile::ReduceSg,
        ShaderFile::Adam,
        ShaderFile::Gather,
        ShaderFile::Conv,
        ShaderFile::ConvSg,
        ShaderFile::Restore,
        ShaderFile::Enhance,
        ShaderFile::Corrupt,
        ShaderFile::Probe,
    ];

    /// The file name under `shaders/`.
    pub fn name(self) -> &'static str {
        match self {
            ShaderFile::Rng => "rng.wgsl",
            ShaderFile::Linear => "linear.wgsl",
            ShaderFile::LinearSg => "linear_sg.wgsl",
            ShaderFile::Activation => "activation.wgsl",
            ShaderFile::Reparam => "reparam.wgsl",
            ShaderFile::Kl => "kl.wgsl",
            ShaderFile::Loss => "loss.wgsl",
            ShaderFile::Reduce => "reduce.wgsl",
            ShaderFile::ReduceSg => "reduce_sg.wgsl",
            ShaderFile::Adam => "adam.wgsl",
            ShaderFile::Gather => "gather.wgsl",
            ShaderFile::Conv => "conv.wgsl",
            ShaderFile::ConvSg => "conv_sg.wgsl",
            ShaderFile::Restore => "restore.wgsl",
            ShaderFile::Enhance => "enhance.wgsl",
            ShaderFile::Corrupt => "corrupt.wgsl",
            ShaderFile::Probe => "probe.wgsl",
        }
    }

    fn own_text(self) -> &'static str {
        match self {
            ShaderFile::Rng => RNG_WGSL,
            ShaderFile::Linear => include_str!("../../shaders/linear.wgsl"),
            ShaderFile::LinearSg => include_str!("../../shaders/linear_sg.wgsl"),
            ShaderFile::Activation => include_str!("../../shaders/activation.wgsl"),
            ShaderFile::Reparam => include_str!("../../shaders/reparam.wgsl"),
            ShaderFile::Kl => include_str!("../../shaders/kl.wgsl"),
            ShaderFile::Loss => include_str!("../../shaders/loss.wgsl"),
            ShaderFile::Reduce => include_str!("../../shaders/reduce.wgsl"),
            ShaderFile::ReduceSg => include_str!("../../shaders/reduce_sg.wgsl"),
            ShaderFile::Adam => include_str!("../../shaders/adam.wgsl"),
            ShaderFile::Gather => include_str!("../../shaders/gather.wgsl"),
            ShaderFile::Conv => include_str!("../../shaders/conv.wgsl"),
            ShaderFile::ConvSg => include_str!("../../shaders/conv_sg.wgsl"),
            ShaderFile::Restore => include_str!("../../shaders/restore.wgsl"),
            ShaderFile::Enhance => include_str!("../../shaders/enhance.wgsl"),
            ShaderFile::Corrupt => include_str!("../../shaders/corrupt.wgsl"),
            ShaderFile::Probe => include_str!("../../shaders/probe.wgsl"),
        }
    }

    /// Whether the file uses subgroup operations: only devices with wgpu's SUBGROUP feature
    /// compile it (`GpuContext::subgroups`).
    pub fn needs_subgroups(self) -> bool {
        matches!(
            self,
            ShaderFile::LinearSg | ShaderFile::ReduceSg | ShaderFile::ConvSg
        )
    }

    /// The file compiled before this one in the same module, if any: `rng.wgsl` for the files
    /// that draw random numbers, the plain kernels' file (bindings and helpers) for a subgroup
    /// one.
    pub fn prefix(self) -> Option<ShaderFile> {
        match self {
            ShaderFile::Reparam | ShaderFile::Corrupt => Some(ShaderFile::Rng),
            ShaderFile::LinearSg => Some(ShaderFile::Linear),
            ShaderFile::ReduceSg => Some(ShaderFile::Reduce),
            ShaderFile::ConvSg => Some(ShaderFile::Conv),
            _ => None,
        }
    }

    /// The complete WGSL module as the device compiles it.
    pub fn source(self) -> Cow<'static, str> {
        match self.prefix() {
            Some(before) => Cow::Owned(format!("{}\n{}", before.own_text(), self.own_text())),
            None => Cow::Borrowed(self.own_text()),
        }
    }
}

/// How a binding is declared in WGSL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Read,
    ReadWrite,
    Uniform,
}

pub struct KernelSpec {
    pub file: ShaderFile,
    pub entry: &'static str,
    /// (binding number, kind) in binding order; the bind group supplies exactly these.
    pub bindings: &'static [(u32, Slot)],
}

use Slot::{Read as R, ReadWrite as W, Uniform as U};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    LinearForwardTiled,
    LinearForwardReg4x4,
    LinearForwardReg8x8,
    LinearBackwardInput,
    LinearBackwardInputReg8x8,
    LinearBackwardWeight,
    LinearBackwardWeightReg8x8,
    LinearBackwardWeightTReg8x8,
    LinearForwardSg16x4,
    LinearBackwardInputSg16x4,
    LinearBackwardWeightSg16x4,
    LinearBackwardBias,
    ActBackward,
    ReparamForward,
    ReparamKlForward,
    ReparamBackward,
    ReparamKlBackward,
    PhiloxRaw,
    CorruptNoise,
    KlForward,
    KlBackward,
    BceForward,
    BceForwardVec4,
    GaussianForward,
    RecordLoss,
    SumRows,
    SumRowsSg,
    AdamStep,
    AdamStepVec4,
    GatherBatch,
    GatherBatchVec4,
    AdvanceStep,
    ConvDirect16x16,
    ConvDirect4x16,
    ConvTransposed16x16,
    ConvTransposed4x16,
    ConvDirectSg16x16,
    ConvTransposedSg16x16,
    ConvWeightGrad,
    ConvWeightGradSg,
    ConvWeightGradSum,
    ConvBiasGrad,
    DecoderMean,
    FitResidual,
    MeanBackward,
    Axpy,
    Mul,
    PixelVariance,
    Blend,
    ImputeFill,
    AddPrecision,
    RowDot,
    CgStep,
    CgDirection,
    RepeatRows,
    Neg2Loglik,
    LatentLogRatio,
    ImportanceMean,
    Brightness,
    Contrast,
    Saturation,
    Gamma,
    Levels,
    Histogram,
    HistogramStats,
    FmaPeak,
    CopyVec4,
}

impl Kernel {
    pub const ALL: [Kernel; 67] = [
        Kernel::LinearForwardTiled,
        Kernel::LinearForwardReg4x4,
        Kernel::LinearForwardReg8x8,
        Kernel::LinearBackwardInput,
        Kernel::LinearBackwardInputReg8x8,
        Kernel::LinearBackwardWeight,
        Kernel::LinearBackwardWeightReg8x8,
        Kernel::LinearBackwardWeightTReg8x8,
        Kernel::LinearForwardSg16x4,
        Kernel::LinearBackwardInputSg16x4,
        Kernel::LinearBackwardWeightSg16x4,
        Kernel::LinearBackwardBias,
        Kernel::ActBackward,
        Kernel::ReparamForward,
        Kernel::ReparamKlForward,
        Kernel::ReparamBackward,
        Kernel::ReparamKlBackward,
        Kernel::PhiloxRaw,
        Kernel::CorruptNoise,
        Kernel::KlForward,
        Kernel::KlBackward,
        Kernel::BceForward,
        Kernel::BceForwardVec4,
        Kernel::GaussianForward,
        Kernel::RecordLoss,
        Kernel::SumRows,
        Kernel::SumRowsSg,
        Kernel::AdamStep,
        Kernel::AdamStepVec4,
        Kernel::GatherBatch,
        Kernel::GatherBatchVec4,
        Kernel::AdvanceStep,
        Kernel::ConvDirect16x16,
        Kernel::ConvDirect4x16,
        Kernel::ConvTransposed16x16,
        Kernel::ConvTransposed4x16,
        Kernel::ConvDirectSg16x16,
        Kernel::ConvTransposedSg16x16,
        Kernel::ConvWeightGrad,
        Kernel::ConvWeightGradSg,
        Kernel::ConvWeightGradSum,
        Kernel::ConvBiasGrad,
        Kernel::DecoderMean,
        Kernel::FitResidual,
        Kernel::MeanBackward,
        Kernel::Axpy,
        Kernel::Mul,
        Kernel::PixelVariance,
        Kernel::Blend,
        Kernel::ImputeFill,
        Kernel::AddPrecision,
        Kernel::RowDot,
        Kernel::CgStep,
        Kernel::CgDirection,
        Kernel::RepeatRows,
        Kernel::Neg2Loglik,
        Kernel::LatentLogRatio,
        Kernel::ImportanceMean,
        Kernel::Brightness,
        Kernel::Contrast,
        Kernel::Saturation,
        Kernel::Gamma,
        Kernel::Levels,
        Kernel::Histogram,
        Kernel::HistogramStats,
        Kernel::FmaPeak,
        Kernel::CopyVec4,
    ];

    pub fn spec(self) -> KernelSpec {
        let (file, entry, bindings): (ShaderFile, &'static str, &'static [(u32, Slot)]) = match self
        {
            Kernel::LinearForwardTiled => (
                ShaderFile::Linear,
                "forward_tiled",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::LinearForwardReg4x4 => (
                ShaderFile::Linear,
                "forward_reg4x4",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::LinearForwardReg8x8 => (
                ShaderFile::Linear,
                "forward_reg8x8",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::LinearBackwardInputReg8x8 => (
                ShaderFile::Linear,
                "backward_input_reg8x8",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::LinearBackwardWeightReg8x8 => (
                ShaderFile::Linear,
                "backward_weight_reg8x8",
                &[(0, R), (1, R), (3, W), (4, U), (5, W)],
            ),
            Kernel::LinearBackwardWeightTReg8x8 => (
                ShaderFile::Linear,
                "backward_weight_t_reg8x8",
                &[(0, R), (1, R), (3, W), (4, U), (5, W)],
            ),
            Kernel::LinearForwardSg16x4 => (
                ShaderFile::LinearSg,
                "forward_sg16x4",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::LinearBackwardInputSg16x4 => (
                ShaderFile::LinearSg,
                "backward_input_sg16x4",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::LinearBackwardWeightSg16x4 => (
                ShaderFile::LinearSg,
                "backward_weight_sg16x4",
                &[(0, R), (1, R), (3, W), (4, U), (5, W)],
            ),
            Kernel::LinearBackwardInput => (
                ShaderFile::Linear,
                "backward_input",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::LinearBackwardWeight => (
                ShaderFile::Linear,
                "backward_weight",
                &[(0, R), (1, R), (3, W), (4, U)],
            ),
            Kernel::LinearBackwardBias => (
                ShaderFile::Linear,
                "backward_bias",
                &[(0, R), (3, W), (4, U)],
            ),
            Kernel::ActBackward => (
                ShaderFile::Activation,
                "act_backward",
                &[(0, R), (1, R), (2, W), (3, U)],
            ),
            Kernel::ReparamForward => (
                ShaderFile::Reparam,
                "reparam_forward",
                &[(0, R), (1, R), (2, W), (3, W), (4, R), (5, U)],
            ),
            Kernel::ReparamKlForward => (
                ShaderFile::Reparam,
                "reparam_kl_forward",
                &[(0, R), (1, R), (2, W), (3, W), (4, R), (5, U), (6, W)],
            ),
            Kernel::ReparamBackward => (
                ShaderFile::Reparam,
                "reparam_backward",
                &[(0, R), (1, R), (2, R), (3, W), (4, W), (5, U)],
            ),
            Kernel::ReparamKlBackward => (
                ShaderFile::Reparam,
                "reparam_kl_backward",
                &[(0, R), (1, R), (2, R), (3, W), (4, W), (5, U), (6, R)],
            ),
            Kernel::PhiloxRaw => (ShaderFile::Reparam, "philox_raw", &[(0, R), (1, W), (2, U)]),
            Kernel::CorruptNoise => (
                ShaderFile::Corrupt,
                "corrupt_noise",
                &[(0, R), (1, W), (2, R), (3, U)],
            ),
            Kernel::KlForward => (
                ShaderFile::Kl,
                "kl_forward",
                &[(0, R), (1, R), (2, W), (3, U)],
            ),
            Kernel::KlBackward => (
                ShaderFile::Kl,
                "kl_backward",
                &[(0, R), (1, R), (2, W), (3, W), (4, U)],
            ),
            Kernel::BceForward => (
                ShaderFile::Loss,
                "bce_forward",
                &[(0, R), (1, R), (2, W), (3, W), (4, U)],
            ),
            Kernel::GaussianForward => (
                ShaderFile::Loss,
                "gaussian_forward",
                &[(0, R), (1, R), (2, W), (3, W), (4, R), (5, W), (6, U)],
            ),
            Kernel::RecordLoss => (
                ShaderFile::Loss,
                "record_loss",
                &[(0, R), (1, R), (2, W), (3, R), (4, U)],
            ),
            Kernel::SumRows => (ShaderFile::Reduce, "sum_rows", &[(0, R), (1, W), (2, U)]),
            Kernel::SumRowsSg => (
                ShaderFile::ReduceSg,
                "sum_rows_sg",
                &[(0, R), (1, W), (2, U)],
            ),
            Kernel::AdamStep => (
                ShaderFile::Adam,
                "adam_step",
                &[(0, W), (1, R), (2, W), (3, W), (4, R), (5, U)],
            ),
            Kernel::AdamStepVec4 => (
                ShaderFile::Adam,
                "adam_step_vec4",
                &[(0, W), (1, R), (2, W), (3, W), (4, R), (5, U)],
            ),
            Kernel::GatherBatchVec4 => (
                ShaderFile::Gather,
                "gather_batch_vec4",
                &[(0, R), (1, R), (2, W), (3, R), (4, U)],
            ),
            Kernel::BceForwardVec4 => (
                ShaderFile::Loss,
                "bce_forward_vec4",
                &[(0, R), (1, R), (2, W), (3, W), (4, U)],
            ),
            Kernel::GatherBatch => (
                ShaderFile::Gather,
                "gather_batch",
                &[(0, R), (1, R), (2, W), (3, R), (4, U)],
            ),
            Kernel::AdvanceStep => (ShaderFile::Gather, "advance_step", &[(0, W), (1, U)]),
            Kernel::ConvDirect16x16 => (
                ShaderFile::Conv,
                "conv_direct_16x16",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::ConvDirect4x16 => (
                ShaderFile::Conv,
                "conv_direct_4x16",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::ConvTransposed16x16 => (
                ShaderFile::Conv,
                "conv_transposed_16x16",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::ConvTransposed4x16 => (
                ShaderFile::Conv,
                "conv_transposed_4x16",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::ConvDirectSg16x16 => (
                ShaderFile::ConvSg,
                "conv_direct_sg16x16",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::ConvTransposedSg16x16 => (
                ShaderFile::ConvSg,
                "conv_transposed_sg16x16",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::ConvWeightGrad => (
                ShaderFile::Conv,
                "conv_weight_grad",
                &[(0, R), (1, R), (4, W), (5, U)],
            ),
            Kernel::ConvWeightGradSg => (
                ShaderFile::ConvSg,
                "conv_weight_grad_sg",
                &[(0, R), (1, R), (4, W), (5, U)],
            ),
            Kernel::ConvWeightGradSum => (
                ShaderFile::ConvSg,
                "conv_weight_grad_sum",
                &[(0, R), (4, W), (5, U)],
            ),
            Kernel::DecoderMean => (
                ShaderFile::Restore,
                "decoder_mean",
                &[(0, R), (1, W), (2, U)],
            ),
            Kernel::FitResidual => (
                ShaderFile::Restore,
                "fit_residual",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::MeanBackward => (
                ShaderFile::Restore,
                "mean_backward",
                &[(0, R), (1, R), (2, W), (3, U)],
            ),
            Kernel::Axpy => (ShaderFile::Restore, "axpy", &[(0, R), (1, W), (2, U)]),
            Kernel::Mul => (
                ShaderFile::Restore,
                "mul",
                &[(0, R), (1, R), (2, W), (3, U)],
            ),
            Kernel::PixelVariance => (
                ShaderFile::Restore,
                "pixel_variance",
                &[(0, R), (1, W), (2, U)],
            ),
            Kernel::Blend => (
                ShaderFile::Restore,
                "blend",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::ImputeFill => (
                ShaderFile::Restore,
                "impute_fill",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::AddPrecision => (
                ShaderFile::Restore,
                "add_precision",
                &[(0, R), (1, R), (2, W), (3, U)],
            ),
            Kernel::RowDot => (
                ShaderFile::Restore,
                "row_dot",
                &[(0, R), (1, R), (2, W), (3, U)],
            ),
            Kernel::CgStep => (
                ShaderFile::Restore,
                "cg_step",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, W), (6, U)],
            ),
            Kernel::CgDirection => (
                ShaderFile::Restore,
                "cg_direction",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::RepeatRows => (
                ShaderFile::Restore,
                "repeat_rows",
                &[(0, R), (1, W), (2, U)],
            ),
            Kernel::Neg2Loglik => (
                ShaderFile::Restore,
                "neg2_loglik",
                &[(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)],
            ),
            Kernel::LatentLogRatio => (
                ShaderFile::Restore,
                "latent_log_ratio",
                &[(0, R), (1, R), (2, W), (3, U)],
            ),
            Kernel::ImportanceMean => (
                ShaderFile::Restore,
                "importance_mean",
                &[(0, R), (1, R), (2, R), (3, W), (4, U)],
            ),
            Kernel::ConvBiasGrad => (
                ShaderFile::Conv,
                "conv_bias_grad",
                &[(0, R), (4, W), (5, U)],
            ),
            Kernel::Brightness => (ShaderFile::Enhance, "brightness", &[(0, R), (1, W), (2, U)]),
            Kernel::Contrast => (
                ShaderFile::Enhance,
                "contrast",
                &[(0, R), (1, W), (2, U), (3, R)],
            ),
            Kernel::Saturation => (ShaderFile::Enhance, "saturation", &[(0, R), (1, W), (2, U)]),
            Kernel::Gamma => (ShaderFile::Enhance, "gamma", &[(0, R), (1, W), (2, U)]),
            Kernel::Levels => (
                ShaderFile::Enhance,
                "levels",
                &[(0, R), (1, W), (2, U), (3, R)],
            ),
            Kernel::Histogram => (ShaderFile::Enhance, "histogram", &[(0, R), (2, U), (4, W)]),
            Kernel::HistogramStats => (
                ShaderFile::Enhance,
                "histogram_stats",
                &[(2, U), (4, W), (5, W)],
            ),
            Kernel::FmaPeak => (ShaderFile::Probe, "fma_peak", &[(1, W), (2, U)]),
            Kernel::CopyVec4 => (ShaderFile::Probe, "copy_vec4", &[(0, R), (1, W), (2, U)]),
        };
        KernelSpec {
            file,
            entry,
            bindings,
        }
    }
}

/// A pipeline with its explicit bind group layout.
pub struct CompiledKernel {
    pub kernel: Kernel,
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

impl CompiledKernel {
    pub fn new(device: &wgpu::Device, module: &wgpu::ShaderModule, kernel: Kernel) -> Self {
        let spec = kernel.spec();
        let entries: Vec<wgpu::BindGroupLayoutEntry> = spec
            .bindings
            .iter()
            .map(|&(binding, slot)| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match slot {
                        Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Slot::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                        Slot::Uniform => wgpu::BufferBindingType::Uniform,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(spec.entry),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(spec.entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(spec.entry),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(spec.entry),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            cache: None,
        });
        CompiledKernel {
            kernel,
            pipeline,
            layout,
        }
    }
}
