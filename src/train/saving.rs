//! A training run's checkpoints: saving the model, its Adam state and the loss curve (after an
//! epoch, or part-way through one), and what an interrupted run says it holds.

use super::curve::{self, CurvePoint};
use super::{signal_name, TrainConfig, TrainError};
use crate::checkpoint::{self, CheckpointMeta, TrainingData};
use crate::config::ModelConfig;
use crate::gpu::buffers;
use crate::gpu::recorder::GpuModel;
use crate::gpu::GpuContext;

/// What the run's last checkpoint holds.
#[derive(Clone, Copy)]
pub(super) struct Saved {
    /// Epochs completed.
    pub(super) epoch: usize,
    pub(super) step: u64,
    /// Steps of the next epoch taken (a mid-epoch checkpoint), else 0.
    pub(super) epoch_steps: usize,
}

/// The error that ends a run stopped by `signal`, saying what `tc.out` holds and how to go on.
pub(super) fn interrupted(
    signal: i32,
    tc: &TrainConfig,
    steps_per_epoch: usize,
    saved: Option<Saved>,
) -> TrainError {
    let out = tc.out.display();
    let by = signal_name(signal);
    let note = match saved {
        Some(s) => {
            let whole = format!("epoch {} of {}", s.epoch, tc.epochs);
            let part = format!(
                "{} of epoch {}'s {steps_per_epoch} steps",
                s.epoch_steps,
                s.epoch + 1
            );
            let holds = match (s.epoch, s.epoch_steps) {
                (_, 0) => whole,
                (0, _) => part,
                _ => format!("{whole} and {part}"),
            };
            format!(
                "interrupted by {by}: {out} holds {holds} (step {}); run the same command with \
                 --resume to continue from there",
                s.step
            )
        }
        None => format!("interrupted by {by} before the first step: nothing was saved"),
    };
    TrainError::Interrupted { signal, note }
}

/// What a save needs besides the epoch and step.
pub(super) struct RunState<'a> {
    pub(super) ctx: &'a GpuContext,
    pub(super) model: &'a GpuModel,
    pub(super) cfg: &'a ModelConfig,
    pub(super) tc: &'a TrainConfig,
    pub(super) data: &'a TrainingData,
    pub(super) batch: usize,
}

impl RunState<'_> {
    /// Checkpoints the run after `epoch` whole epochs and `step` steps, with `mid` = (steps of
    /// the next epoch taken, their loss records) when saving part-way through an epoch, and
    /// writes the loss curve so far.
    pub(super) fn save(
        &self,
        epoch: usize,
        step: u64,
        mid: Option<(usize, Vec<[f32; 4]>)>,
        curve: &[CurvePoint],
    ) -> Result<(), TrainError> {
        let (ctx, tc) = (self.ctx, self.tc);
        let params: Vec<f32> = buffers::read(ctx, &self.model.params)?;
        // never replace a good checkpoint with a diverged model
        if let Some(name) =
            checkpoint::non_finite_tensors(&self.model.model.layout, &params).first()
        {
            return Err(TrainError::Diverged {
                at: match mid {
                    None => format!("epoch {epoch}"),
                    Some(_) => format!("epoch {}, step {step}", epoch + 1),
                },
                value: f32::NAN,
                tensor: name.clone(),
            });
        }
        let m: Vec<f32> = buffers::read(ctx, &self.model.adam_m)?;
        let v: Vec<f32> = buffers::read(ctx, &self.model.adam_v)?;
        let meta = CheckpointMeta {
            data: Some(self.data.clone()),
            mid_epoch: mid.map(|(steps, losses)| checkpoint::MidEpoch {
                steps: steps as u64,
                batch: self.batch,
                losses,
            }),
            ..CheckpointMeta::new(self.cfg.clone(), epoch, step, tc.seed)
        };
        checkpoint::save_training_state(&tc.out, &meta, &params, &m, &v)?;
        curve::write_curve(&self.tc.out, curve)?;
        Ok(())
    }
}
