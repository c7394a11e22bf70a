//! The kernel table: each `Kernel` names a WGSL file, an entry point and its explicit bind group
//! layout. Sources are embedded at build time, so the binary runs from any folder.

use std::borrow::Cow;

/// Writes the shader file table: the `ShaderFile` enum, `ShaderFile::ALL`, each file's name and
/// its text embedded at build time (so the binary runs from any folder), from one list.
macro_rules! shader_files {
    ($($name:ident: $file:literal;)*) => {
        /// One `.wgsl` file. Files that draw random numbers are compiled as `rng.wgsl` + their
        /// text; a subgroup file after its plain twin ([`ShaderFile::prefix`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ShaderFile {
            $(
                #[doc = concat!("`shaders/", $file, "`")]
                $name,
            )*
        }

        impl ShaderFile {
            /// Every shader file.
            pub const ALL: [ShaderFile; [$($file),*].len()] = [$(ShaderFile::$name),*];

            /// The file name under `shaders/`.
            pub fn name(self) -> &'static str {
                match self {
                    $(ShaderFile::$name => $file,)*
                }
            }

            fn own_text(self) -> &'static str {
                match self {
                    $(ShaderFile::$name => include_str!(concat!("../../shaders/", $file)),)*
                }
            }
        }
    };
}

shader_files! {
    Rng: "rng.wgsl";
    Linear: "linear.wgsl";
    LinearSg: "linear_sg.wgsl";
    Activation: "activation.wgsl";
    Reparam: "reparam.wgsl";
    Kl: "kl.wgsl";
    Loss: "loss.wgsl";
    Reduce: "reduce.wgsl";
    ReduceSg: "reduce_sg.wgsl";
    Adam: "adam.wgsl";
    Gather: "gather.wgsl";
    Conv: "conv.wgsl";
    ConvSg: "conv_sg.wgsl";
    Restore: "restore.wgsl";
    Enhance: "enhance.wgsl";
    Corrupt: "corrupt.wgsl";
    Probe: "probe.wgsl";
}

impl ShaderFile {
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

/// Where a kernel lives and what it binds.
pub struct KernelSpec {
    /// The shader file holding it.
    pub file: ShaderFile,
    /// Its entry point there.
    pub entry: &'static str,
    /// (binding number, kind) in binding order; the bind group supplies exactly these.
    pub bindings: &'static [(u32, Slot)],
}

use Slot::{Read as R, ReadWrite as W, Uniform as U};

/// Writes the kernel registry from one table: the `Kernel` enum, `Kernel::ALL` in table order,
/// and each kernel's spec, CPU twin and GPU-vs-CPU test. A kernel is one row, so none can be
/// left out of `ALL`, of the entry-point check (tests/shaders.rs) or of the index that names
/// its twin and its test (tests/shaders.rs checks both exist, and README's kernel index row).
macro_rules! kernel_table {
    ($($name:ident: $file:ident $entry:literal [$(($binding:literal, $slot:ident)),* $(,)?]
        cpu $cpu:literal test $test:literal;)*) => {
        /// Every compute kernel: one WGSL entry point with its bindings. The variant's name is
        /// the entry point in CamelCase, after its file's family where the entry does not
        /// already say it (`forward_reg8x8` in linear.wgsl is `LinearForwardReg8x8`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel {
            $(
                #[doc = concat!("`", $entry, "` in the ", stringify!($file), " shader; CPU twin `",
                    $cpu, "`, tested by `", $test, "`.")]
                $name,
            )*
        }

        impl Kernel {
            /// Every kernel, in table order.
            pub const ALL: [Kernel; [$(stringify!($name)),*].len()] = [$(Kernel::$name),*];

            /// Its shader file, entry point and bindings.
            pub fn spec(self) -> KernelSpec {
                match self {
                    $(Kernel::$name => KernelSpec {
                        file: ShaderFile::$file,
                        entry: $entry,
                        bindings: &[$(($binding, $slot)),*],
                    },)*
                }
            }

            /// The Rust name of the variant (`LinearForwardReg8x8`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Kernel::$name => stringify!($name),)*
                }
            }

            /// The CPU function this kernel mirrors, as a path under the crate
            /// (`cpu::ops::linear_forward`).
            pub fn cpu_twin(self) -> &'static str {
                match self {
                    $(Kernel::$name => $cpu,)*
                }
            }

            /// The test that compares this kernel with its CPU twin, as `file::function` under
            /// `tests/` (`gpu_kernels::linear_forward_variants_match_cpu`).
            pub fn test(self) -> &'static str {
                match self {
                    $(Kernel::$name => $test,)*
                }
            }
        }
    };
}

kernel_table! {
    LinearForwardTiled: Linear "forward_tiled" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::ops::linear_forward" test "gpu_kernels::linear_forward_variants_match_cpu";
    LinearForwardReg4x4: Linear "forward_reg4x4" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::ops::linear_forward" test "gpu_kernels::linear_forward_variants_match_cpu";
    LinearForwardReg8x8: Linear "forward_reg8x8" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::ops::linear_forward" test "gpu_kernels::linear_forward_variants_match_cpu";
    LinearBackwardInput: Linear "backward_input" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::ops::linear_backward_input" test "gpu_kernels::linear_backward_matches_cpu";
    LinearBackwardInputReg8x8: Linear "backward_input_reg8x8" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::ops::linear_backward_input" test "gpu_kernels::linear_backward_matches_cpu";
    LinearBackwardWeight: Linear "backward_weight" [(0, R), (1, R), (3, W), (4, U)] cpu "cpu::ops::linear_backward_weight" test "gpu_kernels::linear_backward_matches_cpu";
    LinearBackwardWeightReg8x8: Linear "backward_weight_reg8x8" [(0, R), (1, R), (3, W), (4, U), (5, W)] cpu "cpu::ops::linear_backward_weight" test "gpu_kernels::linear_backward_matches_cpu";
    LinearBackwardWeightTReg8x8: Linear "backward_weight_t_reg8x8" [(0, R), (1, R), (3, W), (4, U), (5, W)] cpu "cpu::ops::linear_backward_weight" test "gpu_kernels::linear_backward_matches_cpu";
    LinearForwardSg16x4: LinearSg "forward_sg16x4" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::ops::linear_forward" test "gpu_kernels::linear_forward_variants_match_cpu";
    LinearBackwardInputSg16x4: LinearSg "backward_input_sg16x4" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::ops::linear_backward_input" test "gpu_kernels::linear_backward_matches_cpu";
    LinearBackwardWeightSg16x4: LinearSg "backward_weight_sg16x4" [(0, R), (1, R), (3, W), (4, U), (5, W)] cpu "cpu::ops::linear_backward_weight" test "gpu_kernels::linear_backward_matches_cpu";
    LinearBackwardBias: Linear "backward_bias" [(0, R), (3, W), (4, U)] cpu "cpu::ops::linear_backward_bias" test "gpu_kernels::linear_backward_matches_cpu";
    ActBackward: Activation "act_backward" [(0, R), (1, R), (2, W), (3, U)] cpu "cpu::ops::act_backward" test "gpu_kernels::act_backward_matches_cpu";
    ReparamForward: Reparam "reparam_forward" [(0, R), (1, R), (2, W), (3, W), (4, R), (5, U)] cpu "cpu::ops::reparam_forward" test "gpu_kernels::reparam_matches_cpu";
    ReparamKlForward: Reparam "reparam_kl_forward" [(0, R), (1, R), (2, W), (3, W), (4, R), (5, U), (6, W)] cpu "cpu::ops::reparam_forward" test "gpu_kernels::reparam_kl_forward_equals_the_two_kernels";
    ReparamBackward: Reparam "reparam_backward" [(0, R), (1, R), (2, R), (3, W), (4, W), (5, U)] cpu "cpu::ops::reparam_backward" test "gpu_kernels::reparam_matches_cpu";
    ReparamKlBackward: Reparam "reparam_kl_backward" [(0, R), (1, R), (2, R), (3, W), (4, W), (5, U), (6, R)] cpu "cpu::ops::reparam_backward" test "gpu_kernels::reparam_kl_backward_matches_cpu";
    PhiloxRaw: Reparam "philox_raw" [(0, R), (1, W), (2, U)] cpu "cpu::rng::philox4x32_10" test "gpu_kernels::philox_gpu_matches_known_answers_and_cpu";
    CorruptNoise: Corrupt "corrupt_noise" [(0, R), (1, W), (2, R), (3, U)] cpu "cpu::corrupt::corrupt_noise" test "corrupt::corrupt_noise_matches_cpu";
    KlForward: Kl "kl_forward" [(0, R), (1, R), (2, W), (3, U)] cpu "cpu::ops::kl_forward" test "gpu_kernels::kl_matches_cpu";
    KlBackward: Kl "kl_backward" [(0, R), (1, R), (2, W), (3, W), (4, U)] cpu "cpu::ops::kl_backward" test "gpu_kernels::kl_matches_cpu";
    BceForward: Loss "bce_forward" [(0, R), (1, R), (2, W), (3, W), (4, U)] cpu "cpu::ops::bce_forward" test "gpu_kernels::bce_matches_cpu_including_extreme_logits";
    BceForwardVec4: Loss "bce_forward_vec4" [(0, R), (1, R), (2, W), (3, W), (4, U)] cpu "cpu::ops::bce_forward" test "gpu_kernels::bce_matches_cpu_including_extreme_logits";
    GaussianForward: Loss "gaussian_forward" [(0, R), (1, R), (2, W), (3, W), (4, R), (5, W), (6, U)] cpu "cpu::ops::gaussian_forward" test "gpu_kernels::gaussian_matches_cpu";
    RecordLoss: Loss "record_loss" [(0, R), (1, R), (2, W), (3, R), (4, U)] cpu "cpu::ops::record_loss" test "gpu_kernels::record_loss_matches_cpu";
    SumRows: Reduce "sum_rows" [(0, R), (1, W), (2, U)] cpu "cpu::ops::sum_rows" test "without_subgroups::sum_rows_with_barriers_adds_in_the_cpu_twins_order";
    SumRowsSg: ReduceSg "sum_rows_sg" [(0, R), (1, W), (2, U)] cpu "cpu::ops::sum_rows" test "gpu_kernels::sum_rows_matches_cpu_and_repeats_exactly";
    AdamStep: Adam "adam_step" [(0, W), (1, R), (2, W), (3, W), (4, R), (5, U)] cpu "cpu::ops::adam_step" test "gpu_kernels::adam_matches_cpu_over_several_steps";
    AdamStepVec4: Adam "adam_step_vec4" [(0, W), (1, R), (2, W), (3, W), (4, R), (5, U)] cpu "cpu::ops::adam_step" test "gpu_kernels::adam_matches_cpu_over_several_steps";
    GatherBatch: Gather "gather_batch" [(0, R), (1, R), (2, W), (3, R), (4, U)] cpu "cpu::ops::gather_batch" test "gpu_kernels::gather_matches_cpu";
    GatherBatchVec4: Gather "gather_batch_vec4" [(0, R), (1, R), (2, W), (3, R), (4, U)] cpu "cpu::ops::gather_batch" test "gpu_kernels::gather_matches_cpu";
    AdvanceStep: Gather "advance_step" [(0, W), (1, U)] cpu "cpu::ops::advance_step" test "gpu_kernels::adam_matches_cpu_over_several_steps";
    ConvDirect16x16: Conv "conv_direct_16x16" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::conv::conv2d_forward" test "without_subgroups::conv_blocks_without_broadcasts_match_cpu";
    ConvDirect4x16: Conv "conv_direct_4x16" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::conv::conv2d_forward" test "conv_kernels::forward_matches_cpu";
    ConvTransposed16x16: Conv "conv_transposed_16x16" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::conv::conv_transpose2d_forward" test "without_subgroups::conv_blocks_without_broadcasts_match_cpu";
    ConvTransposed4x16: Conv "conv_transposed_4x16" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::conv::conv_transpose2d_forward" test "conv_kernels::forward_matches_cpu";
    ConvTransposedPhases8: Conv "conv_transposed_phases_8" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::conv::conv_transpose2d_forward" test "conv_kernels::one_channel_transposed_convs_match_cpu";
    ConvDirectSg16x16: ConvSg "conv_direct_sg16x16" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::conv::conv2d_forward" test "conv_kernels::forward_matches_cpu";
    ConvTransposedSg16x16: ConvSg "conv_transposed_sg16x16" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::conv::conv_transpose2d_forward" test "conv_kernels::forward_matches_cpu";
    ConvWeightGrad: Conv "conv_weight_grad" [(0, R), (1, R), (4, W), (5, U)] cpu "cpu::conv::conv2d_backward_weight" test "conv_kernels::backward_weight_and_bias_match_cpu";
    ConvWeightGradSg: ConvSg "conv_weight_grad_sg" [(0, R), (1, R), (4, W), (5, U)] cpu "cpu::conv::conv2d_backward_weight" test "conv_kernels::backward_weight_and_bias_match_cpu";
    ConvWeightGradSum: ConvSg "conv_weight_grad_sum" [(0, R), (4, W), (5, U)] cpu "cpu::conv::conv2d_backward_weight" test "conv_kernels::backward_weight_and_bias_match_cpu";
    ConvBiasGrad: Conv "conv_bias_grad" [(0, R), (4, W), (5, U)] cpu "cpu::conv::conv_backward_bias" test "conv_kernels::backward_weight_and_bias_match_cpu";
    DecoderMean: Restore "decoder_mean" [(0, R), (1, W), (2, U)] cpu "cpu::restore::decoder_mean" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    FitResidual: Restore "fit_residual" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::restore::fit_residual" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    MeanBackward: Restore "mean_backward" [(0, R), (1, R), (2, W), (3, U)] cpu "cpu::restore::mean_backward" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    Axpy: Restore "axpy" [(0, R), (1, W), (2, U)] cpu "cpu::restore::axpy" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    Mul: Restore "mul" [(0, R), (1, R), (2, W), (3, U)] cpu "cpu::restore::mul" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    PixelVariance: Restore "pixel_variance" [(0, R), (1, W), (2, U)] cpu "cpu::restore::pixel_variance" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    Blend: Restore "blend" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::restore::blend" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    ImputeFill: Restore "impute_fill" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::restore::impute_fill" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    AddPrecision: Restore "add_precision" [(0, R), (1, R), (2, W), (3, U)] cpu "cpu::restore::add_precision" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    RowDot: Restore "row_dot" [(0, R), (1, R), (2, W), (3, U)] cpu "cpu::restore::row_dot" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    CgStep: Restore "cg_step" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, W), (6, U)] cpu "cpu::restore::cg_step" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    CgDirection: Restore "cg_direction" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::restore::cg_direction" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    RepeatRows: Restore "repeat_rows" [(0, R), (1, W), (2, U)] cpu "cpu::restore::repeat_rows" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    Neg2Loglik: Restore "neg2_loglik" [(0, R), (1, R), (2, R), (3, R), (4, W), (5, U)] cpu "cpu::restore::neg2_loglik" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    LatentLogRatio: Restore "latent_log_ratio" [(0, R), (1, R), (2, W), (3, U)] cpu "cpu::restore::latent_log_ratio" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    ImportanceMean: Restore "importance_mean" [(0, R), (1, R), (2, R), (3, W), (4, U)] cpu "cpu::restore::importance_mean" test "restore_methods::every_method_matches_the_cpu_under_a_blur";
    Brightness: Enhance "brightness" [(0, R), (1, W), (2, U)] cpu "cpu::enhance::brightness" test "enhance::elementwise_kernels_match_cpu_on_odd_sizes";
    Contrast: Enhance "contrast" [(0, R), (1, W), (2, U), (3, R)] cpu "cpu::enhance::contrast" test "enhance::elementwise_kernels_match_cpu_on_odd_sizes";
    Saturation: Enhance "saturation" [(0, R), (1, W), (2, U)] cpu "cpu::enhance::saturation" test "enhance::elementwise_kernels_match_cpu_on_odd_sizes";
    Gamma: Enhance "gamma" [(0, R), (1, W), (2, U)] cpu "cpu::enhance::gamma" test "enhance::elementwise_kernels_match_cpu_on_odd_sizes";
    Levels: Enhance "levels" [(0, R), (1, W), (2, U), (3, R)] cpu "cpu::enhance::levels" test "enhance::elementwise_kernels_match_cpu_on_odd_sizes";
    Histogram: Enhance "histogram" [(0, R), (2, U), (4, W)] cpu "cpu::enhance::histogram" test "enhance::histogram_matches_cpu_exactly";
    HistogramStats: Enhance "histogram_stats" [(2, U), (4, W), (5, W)] cpu "cpu::enhance::histogram_stats" test "enhance::histogram_stats_known_answers_on_cpu_and_gpu";
    FmaPeak: Probe "fma_peak" [(1, W), (2, U)] cpu "cpu::probe::fma_peak" test "gpu_kernels::probe_kernels_match_cpu";
    CopyVec4: Probe "copy_vec4" [(0, R), (1, W), (2, U)] cpu "cpu::probe::copy_vec4" test "gpu_kernels::probe_kernels_match_cpu";
}

/// A pipeline with its explicit bind group layout.
pub struct CompiledKernel {
    pub kernel: Kernel,
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

impl CompiledKernel {
    /// Builds `kernel`'s bind group layout from its binding table and its pipeline from the
    /// entry point in `module`. Errors surface through the caller's error scope.
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
