//! `wgvae bench train`: training throughput measured as the loop runs it, and each kernel's
//! share of a step's GPU time.

use web_time::Instant;

use crate::config::ModelConfig;
use crate::cpu::ops::AdamHyper;
use crate::data::{self, Split};
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::{Dispatch, LinearVariant};
use crate::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use crate::gpu::GpuContext;
use crate::gpu::{autotune, profiler};
use crate::model::init::init_params;
use crate::model::Model;
use crate::train::data::upload_dataset;
use crate::train::TrainError;

/// Throughput of training steps, measured as the loop runs them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainBench {
    pub adapter: String,
    pub batch: usize,
    pub steps: usize,
    pub steps_per_submit: usize,
    pub samples_per_sec: f64,
    pub ms_per_step: f64,
    pub dispatches_per_step: usize,
    pub submits_per_step: f64,
    /// Host time spent recording and submitting, per step.
    pub host_ms_per_step: f64,
    /// From before the variant choice to the end of the first (warm-up) step: tuning or the
    /// cache look-up, pipeline creation, buffers, the dataset upload and the step itself.
    pub first_step_ms: f64,
    /// Of which choosing the linear variant, and building the model, data and program.
    pub tuning_ms: f64,
    pub pipelines_ms: f64,
    /// The linear variant and how it was chosen.
    pub variant: &'static str,
    pub variant_source: String,
    /// GPU time per kernel within one step (timestamp queries; empty without them).
    pub kernels: Vec<KernelShare>,
}

/// One kernel's part of a training step: all its dispatches together.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KernelShare {
    pub kernel: &'static str,
    pub dispatches: usize,
    pub ms_per_step: f64,
    /// Fraction of the summed GPU time of the step's dispatches.
    pub share: f64,
    pub gflops: f64,
    pub gbps: f64,
}

/// Per-kernel GPU time of `program`, largest first.
fn kernel_shares(ctx: &GpuContext, program: &[Dispatch]) -> Result<Vec<KernelShare>, GpuError> {
    let Some(times) = profiler::profile_program(ctx, program, 5)? else {
        return Ok(Vec::new());
    };
    let total: f64 = times.iter().sum();
    let mut shares: Vec<KernelShare> = Vec::new();
    for (d, secs) in program.iter().zip(&times) {
        let name = d.kernel.spec().entry;
        let (flops, bytes) = (d.flops, d.bytes);
        match shares.iter_mut().find(|s| s.kernel == name) {
            Some(s) => {
                s.dispatches += 1;
                s.ms_per_step += secs * 1e3;
                s.gflops += flops; // summed work for now, a rate below
                s.gbps += bytes;
            }
            None => shares.push(KernelShare {
                kernel: name,
                dispatches: 1,
                ms_per_step: secs * 1e3,
                share: 0.0,
                gflops: flops,
                gbps: bytes,
            }),
        }
    }
    for s in &mut shares {
        let secs = (s.ms_per_step * 1e-3).max(1e-12);
        s.share = s.ms_per_step * 1e-3 / total.max(1e-12);
        s.gflops = s.gflops / secs * 1e-9;
        s.gbps = s.gbps / secs * 1e-9;
    }
    shares.sort_by(|a, b| b.ms_per_step.total_cmp(&a.ms_per_step));
    Ok(shares)
}

/// Times `steps` training steps of the default-shaped model on the embedded data (after one
/// warm-up step, whose time including pipeline creation is reported separately).
pub fn bench_train(
    ctx: &GpuContext,
    cfg: &ModelConfig,
    batch: usize,
    steps: usize,
    steps_per_submit: usize,
    variant: Option<LinearVariant>,
) -> Result<TrainBench, TrainError> {
    let train_set = data::load_split(None, Split::Train, cfg.height, cfg.width, cfg.channels)?;
    let batch = batch.min(train_set.count);
    let spec = Model::new(cfg).map_err(TrainError::Config)?;
    let params = init_params(&spec, 1);
    // the first step's time counts the tuning (or cache look-up) and pipeline creation
    let started = Instant::now();
    let choice = autotune::linear_variant(ctx, &spec, batch, variant)?;
    let model = GpuModel::new(ctx, &spec, &params, choice.variant)?;
    let data = upload_dataset(ctx, &train_set)?;
    let acts = GpuActs::new(ctx, &spec, batch)?;
    // The cursor wraps: a permutation repeated so that any number of steps stays in range.
    let per_epoch = train_set.count / batch;
    let order: Vec<u32> = (0..(per_epoch * batch) as u32).collect();
    let io = StepIo {
        data,
        perm: View::whole(&buffers::upload(ctx, "perm", &order)),
        state: recorder::step_state(ctx, 0),
        history: View::whole(&buffers::zeros(ctx, "history", 4 * per_epoch as u64)),
    };
    let step = spec.train_step(batch, &AdamHyper::default(), 1);
    let program: Vec<Dispatch> = recorder::record(ctx, &step, &model, &acts, &io)?;
    let pipelines_ms = started.elapsed().as_secs_f64() * 1e3 - choice.seconds * 1e3;
    ctx.wait_for(recorder::submit_program(ctx, &program, 1))?;
    let first_step_ms = started.elapsed().as_secs_f64() * 1e3;

    let sps = steps_per_submit.max(1);
    let mut host = 0.0;
    let mut submits = 0usize;
    let mut done = 0usize;
    // The warm-up used the first slot; an "epoch" of per_epoch steps then rewinds the cursor.
    let mut since_reset = 1usize;
    let began = Instant::now();
    while done < steps {
        if since_reset == per_epoch {
            buffers::write(ctx, &io.state, &[done as u32 + 1, 0, 0, 0]);
            since_reset = 0;
        }
        let n = sps.min(steps - done).min(per_epoch - since_reset);
        let t = Instant::now();
        let index = recorder::submit_program(ctx, &program, n);
        host += t.elapsed().as_secs_f64();
        submits += 1;
        ctx.wait_for(index)?;
        done += n;
        since_reset += n;
    }
    let secs = began.elapsed().as_secs_f64();
    buffers::write(ctx, &io.state, &[0u32, 0, 0, 0]);
    let kernels = kernel_shares(ctx, &program)?;
    Ok(TrainBench {
        adapter: ctx.info.name.clone(),
        batch,
        steps,
        steps_per_submit: sps,
        samples_per_sec: (steps * batch) as f64 / secs,
        ms_per_step: secs * 1e3 / steps as f64,
        dispatches_per_step: program.len(),
        submits_per_step: submits as f64 / steps as f64,
        host_ms_per_step: host * 1e3 / steps as f64,
        first_step_ms,
        tuning_ms: choice.seconds * 1e3,
        pipelines_ms,
        variant: choice.variant.name(),
        variant_source: choice.describe(),
        kernels,
    })
}
