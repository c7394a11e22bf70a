//! Evaluation: the test loss of a model, z sampled once per image as pytorch/examples/vae does.
//!
//! The noise of image `i` is keyed by (seed, its batch, its row in the batch), so the batch
//! size is part of the figure. Train's end-of-epoch test pass and `wgvae eval` both use
//! [`EVAL_BATCH`] and the run's seed, whatever the training batch, and so print the same
//! number for the same checkpoint. The same noise every epoch also makes epochs compare on
//! the model alone.

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use crate::gpu::GpuContext;
use crate::train::history::{per_sample, read_losses, LossParts};

/// Images per batch of every test pass (train's and `wgvae eval`'s default).
pub const EVAL_BATCH: usize = 128;

/// Batches of one pass over `count` images: full batches, then the remainder.
pub fn batch_sizes(count: usize, batch: usize) -> (usize, usize) {
    (count / batch, count % batch)
}

/// Runs `count` images of `data` through the model's forward pass in dataset order, `batch` at
/// a time, and returns the loss per sample; z is sampled once per image from the eval stream of
/// `seed` (see the module docs).
pub fn evaluate(
    ctx: &GpuContext,
    model: &GpuModel,
    data: &View,
    count: usize,
    batch: usize,
    seed: u64,
) -> Result<LossParts, GpuError> {
    let batch = batch.min(count).max(1);
    let acts = GpuActs::new(ctx, &model.model, batch)?;
    let identity: Vec<u32> = (0..count as u32).collect();
    let (full, rest) = batch_sizes(count, batch);
    let io = StepIo {
        data: data.clone(),
        perm: View::whole(&buffers::upload(ctx, "eval order", &identity)),
        state: recorder::step_state(ctx, 0),
        history: View::whole(&buffers::zeros(ctx, "eval history", 4 * (full + 1) as u64)),
    };
    for (rows, times) in [(batch, full), (rest, 1)] {
        if rows > 0 && times > 0 {
            let program = model.model.eval_step(rows, seed);
            let dispatches = recorder::record(ctx, &program, model, &acts, &io)?;
            recorder::submit_program(ctx, &dispatches, times);
        }
    }
    let slots = full + usize::from(rest > 0);
    Ok(per_sample(&read_losses(ctx, &io.history, 0..slots)?))
}
