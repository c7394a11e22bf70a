//! Where restoration's programs run: the GPU (the product) or the CPU reference (the tests).
//! The methods in `restore::methods` are written once against [`Engine`]; a test runs them on
//! both and compares, as the training step is compared.

use std::future::Future;
use std::pin::Pin;

use crate::cpu::exec::{self, CpuActs, CpuIo, CpuModel};
use crate::error::GpuError;
use crate::gpu::autotune;
use crate::gpu::buffers;
use crate::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use crate::gpu::GpuContext;
use crate::model::program::Op;
use crate::model::tensors::ActId;
use crate::model::Model;

/// What an engine hands back once the device has it: at once on the CPU and natively (where
/// reading waits for the GPU), later in a browser (where nothing may wait). The methods await
/// it either way, so they are written once for every target.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, GpuError>> + 'a>>;

/// A model with the activations of a batch of up to `rows()` images.
pub trait Engine {
    /// The model whose parameters the engine holds.
    fn model(&self) -> &Model;
    /// The batch the activations were sized for.
    fn rows(&self) -> usize;
    /// Writes `values` at the start of tensor `id`.
    fn write(&mut self, id: ActId, values: &[f32]) -> Result<(), GpuError>;
    /// The first `len` values of tensor `id`, once the work before it is done.
    fn read(&mut self, id: ActId, len: usize) -> Pending<'_, Vec<f32>>;
    /// Runs `program` `times` times in a row; the step counter starts at `start_step`.
    fn run(&mut self, program: &[Op], times: usize, start_step: u32) -> Result<(), GpuError>;
}

/// The CPU reference.
pub struct CpuEngine {
    pub model: CpuModel,
    pub acts: CpuActs,
    pub io: CpuIo,
}

impl CpuEngine {
    /// `model` with `params`, activations for `rows` images and a step state at 0.
    pub fn new(model: &Model, params: Vec<f32>, rows: usize) -> Self {
        CpuEngine {
            model: CpuModel::new(model, params),
            acts: CpuActs::new(model, rows),
            io: CpuIo::at_step(0, 1),
        }
    }
}

impl Engine for CpuEngine {
    fn model(&self) -> &Model {
        &self.model.model
    }

    fn rows(&self) -> usize {
        self.acts.rows
    }

    fn write(&mut self, id: ActId, values: &[f32]) -> Result<(), GpuError> {
        self.acts.set(id, values);
        Ok(())
    }

    fn read(&mut self, id: ActId, len: usize) -> Pending<'_, Vec<f32>> {
        Box::pin(std::future::ready(Ok(self.acts.get(id)[..len].to_vec())))
    }

    fn run(&mut self, program: &[Op], times: usize, start_step: u32) -> Result<(), GpuError> {
        self.io.state = [start_step, 0, 0, 0];
        for _ in 0..times {
            exec::run(program, &mut self.model, &mut self.acts, &mut self.io);
        }
        Ok(())
    }
}

/// Iterations recorded into one submission: long enough to keep the GPU busy, short enough
/// that no single submission runs for seconds (some drivers reset a GPU that does).
const TIMES_PER_SUBMIT: usize = 25;

/// The GPU.
pub struct GpuEngine<'a> {
    pub ctx: &'a GpuContext,
    pub model: GpuModel,
    pub acts: GpuActs,
    pub io: StepIo,
}

impl<'a> GpuEngine<'a> {
    /// `params` uploaded, activations for `rows` images and a step state at 0; the linear
    /// variant is the context's choice for `rows` (autotuned when its settings say so). Fails
    /// when the model or the batch is larger than the adapter binds.
    pub fn new(
        ctx: &'a GpuContext,
        model: &Model,
        params: &[f32],
        rows: usize,
    ) -> Result<Self, GpuError> {
        let variant = autotune::linear_variant(ctx, model, rows, None)?.variant;
        Ok(GpuEngine {
            ctx,
            model: GpuModel::new(ctx, model, params, variant)?,
            acts: GpuActs::new(ctx, model, rows)?,
            io: StepIo::at_step(ctx, 0, 1),
        })
    }
}

impl Engine for GpuEngine<'_> {
    fn model(&self) -> &Model {
        &self.model.model
    }

    fn rows(&self) -> usize {
        self.acts.rows
    }

    fn write(&mut self, id: ActId, values: &[f32]) -> Result<(), GpuError> {
        let view = self.acts.get(id).sub(0, values.len() as u64);
        buffers::write(self.ctx, &view, values);
        Ok(())
    }

    fn read(&mut self, id: ActId, len: usize) -> Pending<'_, Vec<f32>> {
        let view = self.acts.get(id).sub(0, len as u64);
        Box::pin(buffers::read_when_ready(self.ctx, view))
    }

    fn run(&mut self, program: &[Op], times: usize, start_step: u32) -> Result<(), GpuError> {
        buffers::write(self.ctx, &self.io.state, &[start_step, 0u32, 0, 0]);
        let dispatches = recorder::record(self.ctx, program, &self.model, &self.acts, &self.io)?;
        let mut left = times;
        while left > 0 {
            let now = left.min(TIMES_PER_SUBMIT);
            recorder::submit_program(self.ctx, &dispatches, now);
            left -= now;
        }
        Ok(())
    }
}
