//! The training loop, evaluation, and the training throughput benchmark. The host only
//! orchestrates: the datasets are uploaded once as u8, each epoch writes a permutation and the
//! step state, and whole steps (gather, forward, loss, backward, Adam, advance) are replayed
//! from recorded dispatches, several per submit. Losses stay on the GPU in a history buffer and
//! are read back at log points and epoch ends only.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use thiserror::Error;

use crate::checkpoint::{self, CheckpointError, CheckpointMeta};
use crate::config::ModelConfig;
use crate::cpu::ops::AdamHyper;
use crate::cpu::vae::init_params;
use crate::data::{self, DataError, Dataset, Split};
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::{Dispatch, LinearVariant};
use crate::gpu::profiler;
use crate::gpu::vae::{self, BatchBuffers, GpuVae, StepIo};
use crate::gpu::GpuContext;
use crate::plot;
use crate::progress;

#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("{0}")]
    Config(String),
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("training diverged at epoch {epoch} ({tensor} became {value}); the last checkpoint is kept (try a lower --lr)")]
    Diverged {
        epoch: usize,
        value: f32,
        tensor: String,
    },
}

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub adam: AdamHyper,
    pub seed: u64,
    /// MNIST IDX folder or image folder; None = the embedded MNIST subset.
    pub data: Option<PathBuf>,
    pub out: PathBuf,
    pub resume: bool,
    /// Training steps recorded into one command buffer.
    pub steps_per_submit: usize,
    /// Steps between loss read-backs for the progress bar and the curve.
    pub log_every: usize,
    pub variant: Option<LinearVariant>,
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch == 0 || self.batch > 65_536 {
            return bad(format!("--batch must be in 1..=65536, got {}", self.batch));
        }
        if !(self.adam.lr.is_finite() && self.adam.lr > 0.0) {
            return bad(format!(
                "--lr must be a positive number, got {}",
                self.adam.lr
            ));
        }
        if self.out.is_dir() {
            return bad(format!(
                "--out {} is a directory; name a checkpoint file",
                self.out.display()
            ));
        }
        if !(self.adam.weight_decay.is_finite() && self.adam.weight_decay >= 0.0) {
            return bad(format!(
                "--weight-decay must be >= 0, got {}",
                self.adam.weight_decay
            ));
        }
        Ok(())
    }
}

/// Per-sample loss parts, as pytorch/examples/vae reports them (sums divided by images).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossParts {
    pub recon: f64,
    pub kl: f64,
    pub total: f64,
}

#[derive(Clone, Debug)]
pub struct EpochReport {
    pub epoch: usize,
    pub step: u64,
    pub train_loss: f64,
    pub test: LossParts,
    pub samples_per_sec: f64,
    pub seconds: f64,
}

/// The training and test sets named by `--data` (or the embedded subset), sized for `cfg`.
pub fn load_data(dir: Option<&Path>, cfg: &ModelConfig) -> Result<(Dataset, Dataset), DataError> {
    Ok((
        data::load_split(dir, Split::Train, cfg.rows, cfg.cols)?,
        data::load_split(dir, Split::Test, cfg.rows, cfg.cols)?,
    ))
}

/// The dataset's u8 pixels packed four to a u32 word, uploaded once.
pub fn upload_dataset(ctx: &GpuContext, set: &Dataset) -> Result<View, GpuError> {
    let limit = ctx.device.limits().max_storage_buffer_binding_size as usize;
    if set.images.len() > limit {
        return Err(GpuError::shape(
            "upload_dataset",
            format!(
                "{} images of {} pixels need {} bytes; this adapter binds at most {limit}",
                set.count,
                set.dim(),
                set.images.len()
            ),
        ));
    }
    let mut padded = set.images.clone();
    padded.resize(set.images.len().div_ceil(4) * 4, 0);
    let words: &[u32] = bytemuck::cast_slice(&padded);
    Ok(View::whole(&buffers::upload(ctx, "dataset", words)))
}

/// Batches of one pass over `count` images: full batches, then the remainder.
fn batch_sizes(count: usize, batch: usize) -> (usize, usize) {
    (count / batch, count % batch)
}

/// Runs `count` images through `vae`'s forward pass in dataset order and returns the loss per
/// sample; z is sampled once per image, keyed by (seed, `noise_step`, eval stream).
pub fn evaluate(
    ctx: &GpuContext,
    vae: &GpuVae,
    data: &View,
    count: usize,
    batch: usize,
    seed: u64,
    noise_step: u32,
) -> Result<LossParts, GpuError> {
    let batch = batch.min(count).max(1);
    let bufs = BatchBuffers::new(ctx, &vae.cfg, batch)?;
    let identity: Vec<u32> = (0..count as u32).collect();
    let perm = View::whole(&buffers::upload(ctx, "eval order", &identity));
    let (full, rest) = batch_sizes(count, batch);
    let history = View::whole(&buffers::zeros(ctx, "eval history", 4 * (full + 1) as u64));
    let state = vae::step_state(ctx, noise_step);
    let io = StepIo {
        bufs: &bufs,
        data,
        perm: &perm,
        state: &state,
        history: &history,
    };
    if full > 0 {
        vae::submit_program(ctx, &vae.eval_step(ctx, &io, batch, seed)?, full);
    }
    if rest > 0 {
        vae::submit_program(ctx, &vae.eval_step(ctx, &io, rest, seed)?, 1);
    }
    let slots = full + usize::from(rest > 0);
    Ok(per_sample(&read_losses(ctx, &history, 0..slots)?))
}

/// One row of the loss curve CSV.
#[derive(Clone, Debug)]
pub struct CurvePoint {
    pub epoch: usize,
    pub step: u64,
    pub split: &'static str,
    pub loss: f64,
    pub recon: f64,
    pub kl: f64,
}

pub fn curve_paths(out: &Path) -> (PathBuf, PathBuf) {
    (
        out.with_extension("loss.csv"),
        out.with_extension("loss.png"),
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    crate::atomic_file::write(path, bytes).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_curve(out: &Path, points: &[CurvePoint]) -> Result<(), TrainError> {
    let (csv_path, png_path) = curve_paths(out);
    let mut csv = String::from("epoch,step,split,loss,recon,kl\n");
    for p in points {
        csv.push_str(&format!(
            "{},{},{},{:.4},{:.4},{:.4}\n",
            p.epoch, p.step, p.split, p.loss, p.recon, p.kl
        ));
    }
    write_atomic(&csv_path, csv.as_bytes())?;
    let png = plot::loss_curve_png(points);
    write_atomic(&png_path, &png)
}

fn read_curve(out: &Path) -> Vec<CurvePoint> {
    let Ok(text) = std::fs::read_to_string(curve_paths(out).0) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let split = match *f.get(2)? {
                "train" => "train",
                "train_epoch" => "train_epoch",
                "test" => "test",
                _ => return None,
            };
            Some(CurvePoint {
                epoch: f[0].parse().ok()?,
                step: f[1].parse().ok()?,
                split,
                loss: f[3].parse().ok()?,
                recon: f.get(4)?.parse().ok()?,
                kl: f.get(5)?.parse().ok()?,
            })
        })
        .collect()
}

/// Where a run starts: fresh parameters, or a checkpoint and its Adam state.
struct Start {
    params: Vec<f32>,
    adam: Option<(Vec<f32>, Vec<f32>)>,
    epoch: usize,
    step: u64,
}

fn starting_point(cfg: &ModelConfig, tc: &TrainConfig) -> Result<Start, TrainError> {
    if !tc.resume {
        return Ok(Start {
            params: init_params(cfg, tc.seed),
            adam: None,
            epoch: 0,
            step: 0,
        });
    }
    let (meta, params) = checkpoint::load_model(&tc.out, Some(cfg))?;
    let adam = checkpoint::load_optimizer(&tc.out, &meta)?;
    Ok(Start {
        params,
        adam: Some(adam),
        epoch: meta.epoch,
        step: meta.step,
    })
}

/// Trains `cfg` as `tc` says, checkpointing after every epoch. `--epochs` counts in total, so
/// `--resume` continues up to it.
pub fn train(
    ctx: &GpuContext,
    cfg: &ModelConfig,
    tc: &TrainConfig,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<Vec<EpochReport>, TrainError> {
    cfg.validate().map_err(TrainError::Config)?;
    tc.validate()?;
    let (train_set, test_set) = load_data(tc.data.as_deref(), cfg)?;
    if train_set.count == 0 || test_set.count == 0 {
        return Err(TrainError::Config("the data holds no images".into()));
    }
    let start = starting_point(cfg, tc)?;
    if start.epoch >= tc.epochs {
        return Err(TrainError::Config(format!(
            "{} already holds {} epochs; ask for more with --epochs",
            tc.out.display(),
            start.epoch
        )));
    }
    if let Some(dir) = tc.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let variant = tc
        .variant
        .unwrap_or_else(|| LinearVariant::preferred(&ctx.info));
    let model = GpuVae::new(ctx, cfg, &start.params, variant)?;
    if let Some((m, v)) = &start.adam {
        model.write_state(ctx, &start.params, m, v);
    }
    let train_data = upload_dataset(ctx, &train_set)?;
    let test_data = upload_dataset(ctx, &test_set)?;

    let batch = tc.batch.min(train_set.count);
    let (full, rest) = batch_sizes(train_set.count, batch);
    let steps_per_epoch = full + usize::from(rest > 0);
    let bufs = BatchBuffers::new(ctx, cfg, batch)?;
    let perm_view = View::whole(&buffers::zeros(ctx, "permutation", train_set.count as u64));
    let history = View::whole(&buffers::zeros(
        ctx,
        "train history",
        4 * steps_per_epoch as u64,
    ));
    let state = vae::step_state(ctx, start.step as u32);
    let io = StepIo {
        bufs: &bufs,
        data: &train_data,
        perm: &perm_view,
        state: &state,
        history: &history,
    };
    let full_step = model.train_step(ctx, &io, batch, &tc.adam, tc.seed)?;
    let rest_step = if rest > 0 {
        Some(model.train_step(ctx, &io, rest, &tc.adam, tc.seed)?)
    } else {
        None
    };

    let mut curve = if tc.resume {
        read_curve(&tc.out)
    } else {
        Vec::new()
    };
    let mut reports = Vec::new();
    let mut step = start.step;
    let mut order: Vec<u32> = (0..train_set.count as u32).collect();
    for epoch in start.epoch + 1..=tc.epochs {
        let began = Instant::now();
        // A shuffle of the identity per epoch, a function of (seed, epoch) alone, so a resumed
        // run sees the same order as an uninterrupted one.
        let mut rng = rand::rngs::StdRng::seed_from_u64(tc.seed ^ ((epoch as u64) << 32));
        order
            .iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o = i as u32);
        order.shuffle(&mut rng);
        buffers::write(ctx, &perm_view, &order);
        buffers::write(ctx, &state, &[step as u32, 0, 0, 0]);

        let bar = progress::bar(
            steps_per_epoch as u64,
            &format!("epoch {epoch}/{}", tc.epochs),
        );
        let mut done = 0usize;
        let mut in_flight: Option<wgpu::SubmissionIndex> = None;
        let mut logged = 0usize;
        while done < full {
            let n = tc.steps_per_submit.max(1).min(full - done);
            let index = vae::submit_program(ctx, &full_step, n);
            // Keep one submission in flight: the GPU never idles while the host records.
            if let Some(previous) = in_flight.replace(index) {
                ctx.wait_for(previous)?;
            }
            done += n;
            bar.set_position(done as u64);
            if done - logged >= tc.log_every.max(1) && done < full {
                // the mean over the steps since the last log point: a local, not cumulative, loss
                let window = per_sample(&read_losses(ctx, &history, logged..done)?);
                logged = done;
                bar.set_message(format!(
                    "loss {:.2}, {:.0} samples/s",
                    window.total,
                    (done * batch) as f64 / began.elapsed().as_secs_f64()
                ));
                curve.push(CurvePoint {
                    epoch,
                    step: step + done as u64,
                    split: "train",
                    loss: window.total,
                    recon: window.recon,
                    kl: window.kl,
                });
            }
        }
        if let Some(program) = &rest_step {
            vae::submit_program(ctx, program, 1);
        }
        let epoch_loss = per_sample(&read_losses(ctx, &history, 0..steps_per_epoch)?);
        let seconds = began.elapsed().as_secs_f64();
        bar.finish_and_clear();
        step += steps_per_epoch as u64;
        let train_loss = epoch_loss.total;
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                value: train_loss as f32,
                tensor: "the training loss".into(),
            });
        }
        let test = evaluate(
            ctx,
            &model,
            &test_data,
            test_set.count,
            batch,
            tc.seed,
            epoch as u32,
        )?;
        let report = EpochReport {
            epoch,
            step,
            train_loss,
            test,
            samples_per_sec: train_set.count as f64 / seconds,
            seconds,
        };
        curve.push(CurvePoint {
            epoch,
            step,
            split: "train_epoch",
            loss: train_loss,
            recon: epoch_loss.recon,
            kl: epoch_loss.kl,
        });
        curve.push(CurvePoint {
            epoch,
            step,
            split: "test",
            loss: test.total,
            recon: test.recon,
            kl: test.kl,
        });
        save(ctx, &model, cfg, tc, epoch, step)?;
        write_curve(&tc.out, &curve)?;
        on_epoch(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// One loss record as `record_loss` writes it: sums over a batch.
#[derive(Clone, Copy, Debug)]
struct Record {
    recon: f64,
    kl: f64,
    total: f64,
    rows: f64,
}

/// The records of history slots `slots`.
fn read_losses(
    ctx: &GpuContext,
    history: &View,
    slots: std::ops::Range<usize>,
) -> Result<Vec<Record>, GpuError> {
    let view = history.sub(4 * slots.start as u64, 4 * slots.len() as u64);
    let raw: Vec<f32> = buffers::read(ctx, &view)?;
    Ok(raw
        .chunks_exact(4)
        .map(|r| Record {
            recon: r[0] as f64,
            kl: r[1] as f64,
            total: r[2] as f64,
            rows: r[3] as f64,
        })
        .collect())
}

/// Sums of records divided by the images they cover.
fn per_sample(records: &[Record]) -> LossParts {
    let rows: f64 = records.iter().map(|r| r.rows).sum();
    LossParts {
        recon: records.iter().map(|r| r.recon).sum::<f64>() / rows,
        kl: records.iter().map(|r| r.kl).sum::<f64>() / rows,
        total: records.iter().map(|r| r.total).sum::<f64>() / rows,
    }
}

fn save(
    ctx: &GpuContext,
    model: &GpuVae,
    cfg: &ModelConfig,
    tc: &TrainConfig,
    epoch: usize,
    step: u64,
) -> Result<(), TrainError> {
    let params: Vec<f32> = buffers::read(ctx, &model.params)?;
    // never replace a good checkpoint with a diverged model
    if let Some(name) = checkpoint::non_finite_tensors(&model.layout, &params).first() {
        return Err(TrainError::Diverged {
            epoch,
            value: f32::NAN,
            tensor: name.clone(),
        });
    }
    let m: Vec<f32> = buffers::read(ctx, &model.adam_m)?;
    let v: Vec<f32> = buffers::read(ctx, &model.adam_v)?;
    let meta = CheckpointMeta::new(cfg.clone(), epoch, step, tc.seed);
    checkpoint::save_model(&tc.out, &meta, &params)?;
    checkpoint::save_optimizer(&tc.out, &meta, &m, &v)?;
    Ok(())
}

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
    pub first_step_ms: f64,
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
) -> Result<TrainBench, TrainError> {
    let (train_set, _) = load_data(None, cfg)?;
    let batch = batch.min(train_set.count);
    let params = init_params(cfg, 1);
    let started = Instant::now();
    let model = GpuVae::new(ctx, cfg, &params, LinearVariant::preferred(&ctx.info))?;
    let data = upload_dataset(ctx, &train_set)?;
    let bufs = BatchBuffers::new(ctx, cfg, batch)?;
    // The cursor wraps: a permutation repeated so that any number of steps stays in range.
    let per_epoch = train_set.count / batch;
    let order: Vec<u32> = (0..(per_epoch * batch) as u32).collect();
    let perm = View::whole(&buffers::upload(ctx, "perm", &order));
    let history = View::whole(&buffers::zeros(ctx, "history", 4 * per_epoch as u64));
    let state = vae::step_state(ctx, 0);
    let io = StepIo {
        bufs: &bufs,
        data: &data,
        perm: &perm,
        state: &state,
        history: &history,
    };
    let program: Vec<Dispatch> = model.train_step(ctx, &io, batch, &AdamHyper::default(), 1)?;
    ctx.wait_for(vae::submit_program(ctx, &program, 1))?;
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
            buffers::write(ctx, &state, &[done as u32 + 1, 0, 0, 0]);
            since_reset = 0;
        }
        let n = sps.min(steps - done).min(per_epoch - since_reset);
        let t = Instant::now();
        let index = vae::submit_program(ctx, &program, n);
        host += t.elapsed().as_secs_f64();
        submits += 1;
        ctx.wait_for(index)?;
        done += n;
        since_reset += n;
    }
    let secs = began.elapsed().as_secs_f64();
    buffers::write(ctx, &state, &[0u32, 0, 0, 0]);
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
        kernels,
    })
}
