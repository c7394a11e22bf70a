//! Dispatch plumbing shared by every builder: a recorded kernel launch ([`Dispatch`]), running a
//! list of them, the grid and loop limits, and [`build`], which writes a kernel's parameter
//! struct into a small uniform buffer and binds the views. A [`Dispatch`] can be recorded into
//! any number of passes (training replays the same dispatches every step).

use bytemuck::Pod;

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::kernels::{Kernel, Slot};
use crate::gpu::GpuContext;

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
    /// Sets the pipeline and bind group on `pass` and dispatches the grid.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]);
    }
}

/// Records `dispatches` in order into one compute pass (wgpu orders dependent dispatches),
/// submits, and waits.
pub fn run(ctx: &GpuContext, dispatches: &[&Dispatch]) -> Result<(), GpuError> {
    let index = submit(ctx, dispatches)?;
    ctx.wait(&program_name(dispatches.iter().copied()), index)
}

/// [`run`] without the wait: a read-back submitted after it sees the results (what a browser,
/// which cannot wait, does).
pub fn submit(
    ctx: &GpuContext,
    dispatches: &[&Dispatch],
) -> Result<wgpu::SubmissionIndex, GpuError> {
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
    ctx.submit(|| program_name(dispatches.iter().copied()), encoder)
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

/// A dispatch of `kernel` over `groups` with `views` bound in the order of its spec's storage
/// bindings and `params` as its uniform; `flops` and `bytes` are its work, for the profiler.
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
