//! A training run's two phases: [`prepare`] (data, notes, the starting point, the linear
//! kernels, the model and its recorded steps on the GPU) and [`Run::epoch`] (one epoch's
//! steps, kept one submission ahead of the host, its log points and mid-epoch checkpoints, the
//! test loss, the checkpoint and the grids). `super::train` strings them together.

use web_time::Instant;

use super::data::{self, load_data, upload_dataset, TrainSet};
use super::eval::{self, evaluate, EVAL_BATCH};
use super::history::{per_sample, read_losses, read_raw};
use super::saving::{interrupted, RunState, Saved};
use super::{
    curve, epoch_order, grids, notes, starting_point, steps_taken, EpochReport, Event, FirstStep,
    LrSchedule, Note, Start, TrainConfig, TrainError, TrainObserver,
};
use crate::checkpoint::{self, TrainingData};
use crate::config::ModelConfig;
use crate::cpu::ops::AdamHyper;
use crate::data::Dataset;
use crate::gpu::autotune::{self, Choice};
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::Dispatch;
use crate::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use crate::gpu::GpuContext;
use crate::model::Model;
use curve::CurvePoint;

/// Everything a run needs before its first step.
pub(super) struct Prepared {
    pub(super) train_set: TrainSet,
    pub(super) test_set: Dataset,
    test_data: View,
    data_record: TrainingData,
    pub(super) start: Start,
    batch: usize,
    choice: Choice,
    model: GpuModel,
    grids: grids::EpochGrids,
    /// Full batches per epoch (a smaller last one is `rest_step`).
    full: usize,
    pub(super) steps_per_epoch: usize,
    // the recorded steps bind these buffers
    _acts: GpuActs,
    io: StepIo,
    full_step: Vec<Dispatch>,
    rest_step: Option<Vec<Dispatch>>,
    /// Pipelines, buffers and the recorded steps (uploads of the data included).
    setup: std::time::Duration,
}

/// Loads the data (telling `observer` the notes about it), finds the starting point (fresh or
/// `--resume`), chooses the linear kernels, and builds the model, the step's buffers and the
/// recorded training steps on the GPU.
pub(super) fn prepare(
    ctx: &GpuContext,
    cfg: &ModelConfig,
    tc: &TrainConfig,
    observer: &mut impl TrainObserver,
) -> Result<Prepared, TrainError> {
    let spec = Model::new(cfg).map_err(TrainError::Config)?;
    tc.validate()?;
    let (train_set, test_set) = load_data(tc.data.as_deref(), cfg, tc.patch, tc.seed)?;
    if train_set.count() == 0 || test_set.count == 0 {
        return Err(TrainError::Config("the data holds no images".into()));
    }
    let data_record = TrainingData {
        source: tc
            .data
            .as_ref()
            .map_or(checkpoint::EMBEDDED_DATA.to_string(), |d| {
                d.display().to_string()
            }),
        train_count: train_set.count(),
        test_count: test_set.count,
        patch: tc.patch.map(|p| p.size),
        augment: tc.patch.is_some_and(|p| p.augment),
        corrupt_noise: (tc.corrupt_noise > 0.0).then_some(tc.corrupt_noise),
    };
    for note in notes::notes(tc, &train_set, cfg.height, cfg.width)? {
        observer.event(Event::Note(note));
    }
    let start = starting_point(&spec, tc)?;
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
    let batch = tc.batch.min(train_set.count());
    let choice = autotune::linear_variant(ctx, &spec, batch, tc.variant)?;
    for note in ctx.tuning.take_notes() {
        observer.event(Event::Note(Note::Tuning(note)));
    }
    let building = Instant::now();
    let model = GpuModel::new(ctx, &spec, &start.params, choice.variant)?;
    if let Some((m, v)) = &start.adam {
        model.write_state(ctx, &start.params, m, v);
    }
    let train_data = upload_dataset(ctx, &*train_set.epoch(start.epoch + 1)?)?;
    let test_data = upload_dataset(ctx, &test_set)?;
    let grids = grids::EpochGrids::new(&tc.out, &test_set, tc.seed);

    let (full, rest) = eval::batch_sizes(train_set.count(), batch);
    let steps_per_epoch = full + usize::from(rest > 0);
    let acts = GpuActs::new(ctx, &spec, batch)?;
    let io = StepIo {
        data: train_data,
        perm: View::whole(&buffers::zeros(
            ctx,
            "permutation",
            train_set.count() as u64,
        )),
        state: recorder::step_state(ctx, start.step as u32),
        history: View::whole(&buffers::zeros(
            ctx,
            "train history",
            4 * steps_per_epoch as u64,
        )),
    };
    let adam = AdamHyper {
        cosine_steps: match tc.lr_schedule {
            LrSchedule::Constant => 0,
            LrSchedule::Cosine => u32::try_from(steps_per_epoch * tc.epochs).map_err(|_| {
                TrainError::Config("--lr-schedule cosine: the run has over 2^32 steps".into())
            })?,
        },
        ..tc.adam
    };
    let record_step = |rows: usize| {
        let program = spec.train_step_corrupt(rows, &adam, tc.seed, tc.corrupt_noise);
        recorder::record(ctx, &program, &model, &acts, &io)
    };
    let full_step = record_step(batch)?;
    let rest_step = if rest > 0 {
        Some(record_step(rest)?)
    } else {
        None
    };
    let setup = building.elapsed();
    Ok(Prepared {
        train_set,
        test_set,
        test_data,
        data_record,
        start,
        batch,
        choice,
        model,
        grids,
        full,
        steps_per_epoch,
        _acts: acts,
        io,
        full_step,
        rest_step,
        setup,
    })
}

/// A run in progress: what it has prepared, and what it has done so far.
pub(super) struct Run<'a> {
    ctx: &'a GpuContext,
    tc: &'a TrainConfig,
    p: &'a Prepared,
    state: RunState<'a>,
    run_started: Instant,
    /// Reported once the run's first step is done; None after.
    first_step: Option<FirstStep<'a>>,
    curve: Vec<CurvePoint>,
    /// Steps of the first epoch a mid-epoch checkpoint had taken.
    pub(super) resumed_steps: usize,
    /// The step count when the current epoch began.
    step: u64,
    /// What the run's last checkpoint holds (for the message of an interrupted run).
    saved: Option<Saved>,
}

impl<'a> Run<'a> {
    /// A run of `p` from its starting point; `run_started` is when the command began.
    pub(super) fn new(
        ctx: &'a GpuContext,
        cfg: &'a ModelConfig,
        tc: &'a TrainConfig,
        p: &'a Prepared,
        run_started: Instant,
    ) -> Result<Self, TrainError> {
        let curve = if tc.resume {
            curve::read_curve(&tc.out)
        } else {
            Vec::new()
        };
        let resumed_steps = steps_taken(&p.start, tc, p.batch, p.steps_per_epoch)?;
        Ok(Run {
            ctx,
            tc,
            p,
            state: RunState {
                ctx,
                model: &p.model,
                cfg,
                tc,
                data: &p.data_record,
                batch: p.batch,
            },
            run_started,
            first_step: Some(FirstStep {
                choice: &p.choice,
                setup: p.setup,
            }),
            curve,
            resumed_steps,
            step: p.start.step - resumed_steps as u64,
            saved: tc.resume.then_some(Saved {
                epoch: p.start.epoch,
                step: p.start.step,
                epoch_steps: resumed_steps,
            }),
        })
    }

    /// The error that ends the run, stopped by `signal`, after telling `observer` it is over.
    fn stop(&self, signal: i32, observer: &mut impl TrainObserver) -> TrainError {
        observer.event(Event::Finished);
        interrupted(signal, self.tc, self.p.steps_per_epoch, self.saved)
    }

    /// Trains epoch `epoch` (1-based), then evaluates, checkpoints and writes its grids.
    pub(super) fn epoch(
        &mut self,
        epoch: usize,
        observer: &mut impl TrainObserver,
    ) -> Result<EpochReport, TrainError> {
        let (ctx, tc, p) = (self.ctx, self.tc, self.p);
        if let Some(signal) = observer.stop_requested() {
            return Err(self.stop(signal, observer));
        }
        let began = Instant::now();
        let order = epoch_order(p.train_set.count(), tc.seed, epoch);
        if epoch > p.start.epoch + 1 && matches!(p.train_set, data::TrainSet::Patches { .. }) {
            data::rewrite_dataset(ctx, &p.io.data, &*p.train_set.epoch(epoch)?);
        }
        // a mid-epoch checkpoint continues its epoch at the next batch, its losses restored
        let first = if epoch == p.start.epoch + 1 {
            self.resumed_steps
        } else {
            0
        };
        buffers::write(ctx, &p.io.perm, &order);
        let at = (self.step + first as u64) as u32;
        buffers::write(
            ctx,
            &p.io.state,
            &[at, (first * p.batch) as u32, first as u32, 0],
        );
        if let Some(mid) = p.start.mid_epoch.as_ref().filter(|_| first > 0) {
            buffers::write(ctx, &p.io.history, mid.losses.as_flattened());
        }

        observer.event(Event::EpochStarted {
            epoch,
            epochs: tc.epochs,
            steps: p.steps_per_epoch as u64,
            first: first as u64,
        });
        self.full_batches(epoch, first, began, observer)?;
        if let Some(program) = &p.rest_step {
            recorder::submit_program(ctx, program, 1);
            observer.event(Event::Steps {
                done: p.steps_per_epoch as u64,
                advanced: 1,
            });
        }
        let epoch_loss = per_sample(&read_losses(ctx, &p.io.history, 0..p.steps_per_epoch)?);
        let seconds = began.elapsed().as_secs_f64();
        observer.event(Event::EpochTrained);
        self.step += p.steps_per_epoch as u64;
        let step = self.step;
        let train_loss = epoch_loss.total;
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged {
                at: format!("epoch {epoch}"),
                value: train_loss as f32,
                tensor: "the training loss".into(),
            });
        }
        let test = evaluate(
            ctx,
            &p.model,
            &p.test_data,
            p.test_set.count,
            EVAL_BATCH,
            tc.seed,
        )?;
        let report = EpochReport {
            epoch,
            step,
            train_loss,
            test,
            samples_per_sec: (p.train_set.count() - first * p.batch) as f64 / seconds,
            seconds,
        };
        self.curve.push(CurvePoint {
            epoch,
            step,
            split: "train_epoch",
            loss: train_loss,
            recon: epoch_loss.recon,
            kl: epoch_loss.kl,
        });
        self.curve.push(CurvePoint {
            epoch,
            step,
            split: "test",
            loss: test.total,
            recon: test.recon,
            kl: test.kl,
        });
        self.state.save(epoch, step, None, &self.curve)?;
        self.saved = Some(Saved {
            epoch,
            step,
            epoch_steps: 0,
        });
        if epoch == p.start.epoch + 1 && !tc.resume {
            p.grids.remove_previous()?;
        }
        p.grids.write(ctx, &p.model, epoch)?;
        observer.event(Event::Epoch(&report));
        Ok(report)
    }

    /// The epoch's full batches from step `first` on, `--steps-per-submit` to a submission
    /// with one kept in flight; the mean loss at each log point, and a checkpoint when one is
    /// due or a stop is asked for.
    fn full_batches(
        &mut self,
        epoch: usize,
        first: usize,
        began: Instant,
        observer: &mut impl TrainObserver,
    ) -> Result<(), TrainError> {
        let (ctx, tc, p) = (self.ctx, self.tc, self.p);
        let step = self.step;
        let mut done = first;
        let mut in_flight: Option<wgpu::SubmissionIndex> = None;
        let mut logged = first;
        while done < p.full {
            let mut n = tc.steps_per_submit.max(1).min(p.full - done);
            if let Some(every) = tc.checkpoint_every {
                // land exactly on the next multiple
                n = n.min((every - (step + done as u64) % every) as usize);
            }
            if self.first_step.is_some() {
                // the run's first step alone, waited for: the time a person waits to see
                // training start
                n = 1;
            }
            let index = recorder::submit_program(ctx, &p.full_step, n);
            if let Some(first) = self.first_step.take() {
                ctx.wait_for(index.clone())?;
                observer.event(Event::Note(first.note(self.run_started.elapsed())));
            }
            // Keep one submission in flight: the GPU never idles while the host records.
            if let Some(previous) = in_flight.replace(index) {
                ctx.wait_for(previous)?;
            }
            done += n;
            observer.event(Event::Steps {
                done: done as u64,
                advanced: n as u64,
            });
            if done - logged >= tc.log_every.max(1) && done < p.full {
                // the mean over the steps since the last log point: a local, not cumulative, loss
                let window = per_sample(&read_losses(ctx, &p.io.history, logged..done)?);
                // caught within one log interval, not at the epoch's end
                if !window.total.is_finite() {
                    return Err(TrainError::Diverged {
                        at: format!("epoch {epoch}, step {}", step + done as u64),
                        value: window.total as f32,
                        tensor: "the training loss".into(),
                    });
                }
                logged = done;
                observer.event(Event::Loss {
                    loss: window.total,
                    samples_per_sec: ((done - first) * p.batch) as f64
                        / began.elapsed().as_secs_f64(),
                });
                self.curve.push(CurvePoint {
                    epoch,
                    step: step + done as u64,
                    split: "train",
                    loss: window.total,
                    recon: window.recon,
                    kl: window.kl,
                });
            }
            let now = step + done as u64;
            let stop = observer.stop_requested();
            let due = tc
                .checkpoint_every
                .is_some_and(|every| now.is_multiple_of(every));
            // the epoch's last step saves at the epoch's end instead
            if (stop.is_some() || due) && done < p.steps_per_epoch {
                // the read-backs in the save wait for every submitted step
                in_flight = None;
                let mid = (done, read_raw(ctx, &p.io.history, 0..done)?);
                self.state.save(epoch - 1, now, Some(mid), &self.curve)?;
                self.saved = Some(Saved {
                    epoch: epoch - 1,
                    step: now,
                    epoch_steps: done,
                });
                if let Some(signal) = stop {
                    return Err(self.stop(signal, observer));
                }
            }
        }
        Ok(())
    }
}
