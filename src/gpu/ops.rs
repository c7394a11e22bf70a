//! One dispatch builder per kernel, mirroring `cpu::ops` call for call. A builder checks shapes,
//! writes the kernel's parameter struct into a small uniform buffer and binds the views; the
//! resulting [`Dispatch`] can be recorded into any number of passes (training replays the same
//! dispatches every step).

use bytemuck::{Pod, Zeroable};

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::kernels::{Kernel, Slot};
use crate::gpu::GpuContext;
use crate::model::op::{Act, AdamHyper};

/// A recorded kernel launch: pipeline, bindings, grid, and its work for the profiler.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub kernel: Kernel,
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub groups: [u32; 3],
    /// Floating-point operations and bytes moved, for GFLOP/s and GB/s.
    pub flops: f64,
    pub bytes: f64,
}

impl Dispatch {
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]);
    }
}

/// Records `dispatches` in order into one compute pass (wgpu orders dependent dispatches),
/// submits, and waits.
pub fn run(ctx: &GpuContext, dispatches: &[&Dispatch]) -> Result<(), GpuError> {
    let mut encoder = ctx.encoder("wgvae ops");
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("wgvae ops"),
            timestamp_writes: None,
        });
        for d in dispatches {
            d.record(&mut pass);
        }
    }
    ctx.submit_and_wait(&program_name(dispatches.iter().copied()), encoder)
}

/// A program as errors name it: "the program [forward_reg4x4, bce_forward, ... 12 more]", its
/// distinct kernels in order of first use (at most four named).
pub fn program_name<'a>(dispatches: impl IntoIterator<Item = &'a Dispatch>) -> String {
    let mut kernels: Vec<&'static str> = Vec::new();
    for d in dispatches {
        let entry = d.kernel.spec().entry;
        if !kernels.contains(&entry) {
            kernels.push(entry);
        }
    }
    const NAMED: usize = 4;
    let mut list = kernels
        .iter()
        .take(NAMED)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if kernels.len() > NAMED {
        list.push_str(&format!(", ... {} more", kernels.len() - NAMED));
    }
    format!("the program [{list}]")
}

/// Mesa 22.3's llvmpipe ends a shader invocation after this many loop iterations in all and
/// keeps whatever partial sums it has (measured: 90,000 ones summed to 65,535), so every
/// builder refuses a shape whose kernel would loop longer.
pub const MAX_LOOP_ITERATIONS: usize = 65535;

/// Fails when one invocation of `op` would loop `iterations` times, past what llvmpipe allows;
/// `remedy` tells the user what to change.
pub(crate) fn check_loops(
    op: &'static str,
    iterations: usize,
    remedy: &str,
) -> Result<(), GpuError> {
    if iterations > MAX_LOOP_ITERATIONS {
        return Err(GpuError::shape(
            op,
            format!(
                "one invocation would loop {iterations} times, past the {MAX_LOOP_ITERATIONS} \
                 some drivers (llvmpipe) allow; {remedy}"
            ),
        ));
    }
    Ok(())
}

/// Grid for `invocations` threads in workgroups of `wg`: 1-D up to 65535 groups, then 2-D (the
/// kernels rebuild the flat index from `num_workgroups`).
pub fn grid_1d(invocations: u64, wg: u64) -> [u32; 3] {
    let groups = invocations.div_ceil(wg).max(1);
    if groups <= 65535 {
        [groups as u32, 1, 1]
    } else {
        [65535, groups.div_ceil(65535) as u32, 1]
    }
}

pub(crate) fn build<P: Pod>(
    ctx: &GpuContext,
    kernel: Kernel,
    views: &[&View],
    params: &P,
    groups: [u32; 3],
    flops: f64,
    bytes: f64,
) -> Result<Dispatch, GpuError> {
    let compiled = ctx.kernel(kernel)?;
    let spec = kernel.spec();
    let mut next_view = views.iter();
    let mut bound = Vec::with_capacity(spec.bindings.len());
    for &(_, slot) in spec.bindings {
        if slot == Slot::Uniform {
            continue;
        }
        let Some(view) = next_view.next() else {
            return Err(GpuError::shape(spec.entry, "too few buffers bound"));
        };
        bound.push(*view);
    }
    if next_view.next().is_some() {
        return Err(GpuError::shape(spec.entry, "too many buffers bound"));
    }
    // A buffer smaller than its view, or one the device refused, fails here, named.
    let bind_group = ctx.scoped(
        || format!("kernel {} ({})", spec.entry, spec.file.name()),
        || {
            let uniform = buffers::uniform(ctx, spec.entry, params);
            let mut views = bound.iter();
            let entries: Vec<wgpu::BindGroupEntry> = spec
                .bindings
                .iter()
                .map(|&(binding, slot)| wgpu::BindGroupEntry {
                    binding,
                    resource: match slot {
                        Slot::Uniform => uniform.as_entire_binding(),
                        _ => views.next().expect("counted above").binding(),
                    },
                })
                .collect();
            ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(spec.entry),
                layout: &compiled.layout,
                entries: &entries,
            })
        },
    )?;
    Ok(Dispatch {
        kernel,
        pipeline: compiled.pipeline.clone(),
        bind_group,
        groups,
        flops,
        bytes,
    })
}

// ---------------------------------------------------------------- linear

/// Kernel variants of `linear.wgsl` (see its header). `Tiled` and `Reg4x4` differ in the
/// forward product only and share v2's backward kernels; `Reg8x8` has all three products and
/// falls back to v2 where a contiguous axis is not a multiple of 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinearVariant {
    Tiled,
    Reg4x4,
    Reg8x8,
    Sg16x4,
}

impl LinearVariant {
    pub const ALL: [LinearVariant; 4] = [
        LinearVariant::Tiled,
        LinearVariant::Reg4x4,
        LinearVariant::Reg8x8,
        LinearVariant::Sg16x4,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LinearVariant::Tiled => "tiled",
            LinearVariant::Reg4x4 => "reg4x4",
            LinearVariant::Reg8x8 => "reg8x8",
            LinearVariant::Sg16x4 => "sg16x4",
        }
    }

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
    fn wide(self, axes: &[usize]) -> bool {
        matches!(self, LinearVariant::Reg8x8 | LinearVariant::Sg16x4)
            && axes.iter().all(|a| a.is_multiple_of(4))
    }

    /// An error unless the device behind `ctx` can run this variant.
    fn check_device(self, op: &'static str, ctx: &GpuContext) -> Result<(), GpuError> {
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
    // v2: one pass over n (with a 4-step load loop per n where k leaves a ragged edge), 16
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
    // v2: one pass over m (with a 4-step load loop per m where k leaves a ragged edge), 16
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
    let kernel = if ctx.subgroups && cols.is_multiple_of(4) {
        Kernel::SumRowsSg
    } else {
        Kernel::SumRows
    };
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

#[cfg(test)]
mod tests {
    use super::LinearVariant;

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
}
