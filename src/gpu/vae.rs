//! GpuVae: the model's parameters, gradients and Adam state on the GPU, and the recorded
//! programs that use them. A program is a list of dispatches recorded once and replayed: a
//! training step is gather -> forward -> loss -> backward -> Adam -> advance, all in one pass.
//! `cpu::vae::CpuVae` makes the same calls in the same order.

use crate::config::{Likelihood, ModelConfig};
use crate::cpu::ops::{Act, AdamHyper};
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::{self, Dispatch, LinearVariant};
use crate::gpu::GpuContext;
use crate::layout::{LayerInfo, Layout, ModelLayers};

/// Random stream ids (the third Philox counter word) per use, so uses never share noise.
pub const STREAM_TRAIN: u32 = 0;
pub const STREAM_EVAL: u32 = 1;
pub const STREAM_SAMPLE: u32 = 2;

pub struct GpuVae {
    pub cfg: ModelConfig,
    pub layout: Layout,
    pub layers: ModelLayers,
    pub variant: LinearVariant,
    pub params: View,
    pub grads: View,
    pub adam_m: View,
    pub adam_v: View,
}

/// Activations and their gradients for up to `rows` images. Every tensor has its own buffer:
/// a dispatch may not read and write the same buffer.
pub struct BatchBuffers {
    pub rows: usize,
    pub x: View,
    pub enc: Vec<View>,
    pub mu: View,
    pub logvar: View,
    pub eps: View,
    pub z: View,
    pub dec: Vec<View>,
    pub out: View,
    pub loss_elem: View,
    pub dout: View,
    pub dlogvar_x_elem: View,
    pub kl_elem: View,
    pub recon_rows: View,
    pub kl_rows: View,
    pub d_enc: Vec<View>,
    pub dmu: View,
    pub dlogvar: View,
    pub dz: View,
    pub d_dec: Vec<View>,
}

impl BatchBuffers {
    /// Fails with a shape error naming the batch when its widest tensor would exceed what the
    /// adapter can bind, instead of a wgpu validation panic.
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, rows: usize) -> Result<Self, GpuError> {
        let widest = cfg
            .hidden
            .iter()
            .copied()
            .chain([cfg.input_dim(), cfg.latent])
            .max()
            .unwrap_or(1);
        let bytes = (rows as u64)
            .saturating_mul(widest as u64)
            .saturating_mul(4);
        let limits = ctx.device.limits();
        let limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if rows == 0 || bytes > limit {
            return Err(GpuError::shape(
                "batch buffers",
                format!("a batch of {rows} needs {bytes}-byte activation buffers; this adapter allows 1 to {limit} bytes (lower --batch)"),
            ));
        }
        let t =
            |label: &str, len: usize| View::whole(&buffers::zeros(ctx, label, (rows * len) as u64));
        let d = cfg.input_dim();
        let l = cfg.latent;
        Ok(BatchBuffers {
            rows,
            x: t("x", d),
            enc: cfg.hidden.iter().map(|&h| t("enc", h)).collect(),
            mu: t("mu", l),
            logvar: t("logvar", l),
            eps: t("eps", l),
            z: t("z", l),
            dec: cfg.hidden.iter().rev().map(|&h| t("dec", h)).collect(),
            out: t("out", d),
            loss_elem: t("loss", d),
            dout: t("dout", d),
            dlogvar_x_elem: t("dlogvar_x", d),
            kl_elem: t("kl", l),
            recon_rows: t("recon rows", 1),
            kl_rows: t("kl rows", 1),
            d_enc: cfg.hidden.iter().map(|&h| t("d enc", h)).collect(),
            dmu: t("dmu", l),
            dlogvar: t("dlogvar", l),
            dz: t("dz", l),
            d_dec: cfg.hidden.iter().rev().map(|&h| t("d dec", h)).collect(),
        })
    }
}

/// The on-GPU step state (step, cursor, slot, pad), see `gather.wgsl`.
pub fn step_state(ctx: &GpuContext, step: u32) -> View {
    View::whole(&buffers::upload(ctx, "step state", &[step, 0u32, 0, 0]))
}

/// What a recorded step reads and writes besides the model: activations, the u8 dataset and
/// the order to gather it in (batches come from `perm[state.cursor..]`), the step state, and
/// the loss history the step records into.
pub struct StepIo<'a> {
    pub bufs: &'a BatchBuffers,
    pub data: &'a View,
    pub perm: &'a View,
    pub state: &'a View,
    pub history: &'a View,
}

impl GpuVae {
    pub fn new(
        ctx: &GpuContext,
        cfg: &ModelConfig,
        params: &[f32],
        variant: LinearVariant,
    ) -> Result<Self, GpuError> {
        let layout = Layout::new(cfg);
        if params.len() != layout.total {
            return Err(GpuError::shape(
                "GpuVae::new",
                format!(
                    "{} parameters given, the layout needs {}",
                    params.len(),
                    layout.total
                ),
            ));
        }
        let n = layout.total as u64;
        let limits = ctx.device.limits();
        let limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if 4 * n > limit {
            return Err(GpuError::shape(
                "GpuVae::new",
                format!("the model has {n} parameters ({} bytes); this adapter binds at most {limit} bytes", 4 * n),
            ));
        }
        Ok(GpuVae {
            cfg: cfg.clone(),
            layers: ModelLayers::new(cfg),
            variant,
            params: View::whole(&buffers::upload(ctx, "params", params)),
            grads: View::whole(&buffers::zeros(ctx, "grads", n)),
            adam_m: View::whole(&buffers::zeros(ctx, "adam m", n)),
            adam_v: View::whole(&buffers::zeros(ctx, "adam v", n)),
            layout,
        })
    }

    fn param(&self, name: &str) -> View {
        let t = self.layout.tensor(name);
        self.params.sub(t.offset as u64, t.len() as u64)
    }

    fn grad(&self, name: &str) -> View {
        let t = self.layout.tensor(name);
        self.grads.sub(t.offset as u64, t.len() as u64)
    }

    fn linear(
        &self,
        ctx: &GpuContext,
        layer: &LayerInfo,
        y: &View,
        x: &View,
        rows: usize,
        act: Act,
    ) -> Result<Dispatch, GpuError> {
        let w = self.param(&format!("{}.weight", layer.name));
        let b = self.param(&format!("{}.bias", layer.name));
        ops::linear_forward(
            ctx,
            self.variant,
            y,
            x,
            &w,
            &b,
            rows,
            layer.inputs,
            layer.outputs,
            act,
        )
    }

    /// x -> encoder -> (mu, logvar).
    pub fn encode(
        &self,
        ctx: &GpuContext,
        bufs: &BatchBuffers,
        rows: usize,
        out: &mut Vec<Dispatch>,
    ) -> Result<(), GpuError> {
        let mut input = &bufs.x;
        for (layer, h) in self.layers.encoder.iter().zip(&bufs.enc) {
            out.push(self.linear(ctx, layer, h, input, rows, Act::Relu)?);
            input = h;
        }
        out.push(self.linear(ctx, &self.layers.mu, &bufs.mu, input, rows, Act::None)?);
        out.push(self.linear(
            ctx,
            &self.layers.logvar,
            &bufs.logvar,
            input,
            rows,
            Act::None,
        )?);
        Ok(())
    }

    /// z -> decoder -> out, with `out_act` on the output layer (None for logits / means).
    pub fn decode(
        &self,
        ctx: &GpuContext,
        bufs: &BatchBuffers,
        rows: usize,
        out_act: Act,
        out: &mut Vec<Dispatch>,
    ) -> Result<(), GpuError> {
        let mut input = &bufs.z;
        for (layer, d) in self.layers.decoder.iter().zip(&bufs.dec) {
            out.push(self.linear(ctx, layer, d, input, rows, Act::Relu)?);
            input = d;
        }
        out.push(self.linear(ctx, &self.layers.output, &bufs.out, input, rows, out_act)?);
        Ok(())
    }

    /// Gather a batch from `source`, then the forward pass and loss, ending with the loss
    /// record in `history` at the state's slot. Leaves every activation the backward pass
    /// needs in `bufs`.
    pub fn forward_loss(
        &self,
        ctx: &GpuContext,
        io: &StepIo,
        rows: usize,
        seed: u64,
        stream: u32,
        out: &mut Vec<Dispatch>,
    ) -> Result<(), GpuError> {
        let (bufs, state) = (io.bufs, io.state);
        let d = self.cfg.input_dim();
        let l = self.cfg.latent;
        if rows > bufs.rows {
            return Err(GpuError::shape(
                "forward_loss",
                format!("{rows} rows, buffers hold {}", bufs.rows),
            ));
        }
        out.push(ops::gather_batch(
            ctx, &bufs.x, io.data, io.perm, state, rows, d,
        )?);
        self.encode(ctx, bufs, rows, out)?;
        out.push(ops::reparam_forward(
            ctx,
            &bufs.z,
            &bufs.eps,
            &bufs.mu,
            &bufs.logvar,
            state,
            rows * l,
            seed,
            stream,
        )?);
        self.decode(ctx, bufs, rows, Act::None, out)?;
        let n = rows * d;
        match self.cfg.likelihood {
            Likelihood::Bernoulli => out.push(ops::bce_forward(
                ctx,
                &bufs.loss_elem,
                &bufs.dout,
                &bufs.out,
                &bufs.x,
                n,
                1.0,
            )?),
            Likelihood::Gaussian => out.push(ops::gaussian_forward(
                ctx,
                &bufs.loss_elem,
                &bufs.dout,
                &bufs.dlogvar_x_elem,
                &bufs.out,
                &bufs.x,
                &self.param("logvar_x"),
                n,
                1.0,
            )?),
        }
        out.push(ops::kl_forward(
            ctx,
            &bufs.kl_elem,
            &bufs.mu,
            &bufs.logvar,
            rows * l,
        )?);
        out.push(ops::sum_rows(
            ctx,
            &bufs.recon_rows,
            &bufs.loss_elem,
            rows,
            d,
        )?);
        out.push(ops::sum_rows(ctx, &bufs.kl_rows, &bufs.kl_elem, rows, l)?);
        out.push(ops::record_loss(
            ctx,
            io.history,
            &bufs.recon_rows,
            &bufs.kl_rows,
            state,
            rows,
            self.cfg.beta,
        )?);
        Ok(())
    }

    /// Gradients of the summed loss (recon + beta KL over the batch, as pytorch/examples/vae
    /// back-propagates it) into `grads`, every tensor overwritten.
    pub fn backward(
        &self,
        ctx: &GpuContext,
        bufs: &BatchBuffers,
        rows: usize,
        out: &mut Vec<Dispatch>,
    ) -> Result<(), GpuError> {
        let l = self.cfg.latent;
        if self.cfg.likelihood == Likelihood::Gaussian && self.cfg.learn_variance {
            out.push(ops::sum_rows(
                ctx,
                &self.grad("logvar_x"),
                &bufs.dlogvar_x_elem,
                1,
                rows * self.cfg.input_dim(),
            )?);
        }
        // output layer, then decoder layers from the top; d_dec[j] is d(pre-activation of j)
        let last = self.layers.decoder.len() - 1;
        self.layer_backward(
            ctx,
            &self.layers.output,
            &bufs.dout,
            &bufs.dec[last],
            Some(&bufs.d_dec[last]),
            true,
            false,
            rows,
            out,
        )?;
        for j in (0..=last).rev() {
            let (input, d_input, masked) = if j == 0 {
                (&bufs.z, &bufs.dz, false)
            } else {
                (&bufs.dec[j - 1], &bufs.d_dec[j - 1], true)
            };
            self.layer_backward(
                ctx,
                &self.layers.decoder[j],
                &bufs.d_dec[j],
                input,
                Some(d_input),
                masked,
                false,
                rows,
                out,
            )?;
        }
        out.push(ops::reparam_backward(
            ctx,
            &bufs.dmu,
            &bufs.dlogvar,
            &bufs.dz,
            &bufs.eps,
            &bufs.logvar,
            rows * l,
        )?);
        out.push(ops::kl_backward(
            ctx,
            &bufs.dmu,
            &bufs.dlogvar,
            &bufs.mu,
            &bufs.logvar,
            rows * l,
            self.cfg.beta,
        )?);
        // both heads feed d(top encoder layer): the second accumulates
        let top = self.layers.encoder.len() - 1;
        self.layer_backward(
            ctx,
            &self.layers.mu,
            &bufs.dmu,
            &bufs.enc[top],
            Some(&bufs.d_enc[top]),
            true,
            false,
            rows,
            out,
        )?;
        self.layer_backward(
            ctx,
            &self.layers.logvar,
            &bufs.dlogvar,
            &bufs.enc[top],
            Some(&bufs.d_enc[top]),
            true,
            true,
            rows,
            out,
        )?;
        for i in (0..=top).rev() {
            let (input, d_input) = if i == 0 {
                (&bufs.x, None)
            } else {
                (&bufs.enc[i - 1], Some(&bufs.d_enc[i - 1]))
            };
            self.layer_backward(
                ctx,
                &self.layers.encoder[i],
                &bufs.d_enc[i],
                input,
                d_input,
                true,
                false,
                rows,
                out,
            )?;
        }
        Ok(())
    }

    /// dW, db of `layer` from dy and its input; d(input) when asked, masked by relu'(input).
    #[allow(clippy::too_many_arguments)]
    fn layer_backward(
        &self,
        ctx: &GpuContext,
        layer: &LayerInfo,
        dy: &View,
        input: &View,
        d_input: Option<&View>,
        mask_by_input: bool,
        accumulate_input: bool,
        rows: usize,
        out: &mut Vec<Dispatch>,
    ) -> Result<(), GpuError> {
        let (k, n) = (layer.inputs, layer.outputs);
        let dw = self.grad(&format!("{}.weight", layer.name));
        let db = self.grad(&format!("{}.bias", layer.name));
        out.push(ops::linear_backward_weight(
            ctx, &dw, dy, input, rows, k, n, false,
        )?);
        out.push(ops::linear_backward_bias(ctx, &db, dy, rows, n, false)?);
        if let Some(dx) = d_input {
            let w = self.param(&format!("{}.weight", layer.name));
            let mask = mask_by_input.then_some(input);
            out.push(ops::linear_backward_input(
                ctx,
                dx,
                dy,
                &w,
                mask,
                rows,
                k,
                n,
                accumulate_input,
            )?);
        }
        Ok(())
    }

    /// Number of parameters Adam updates: all but a fixed Gaussian variance (the last tensor).
    pub fn trainable_len(&self) -> usize {
        match self.layout.get("logvar_x") {
            Some(t) if !self.cfg.learn_variance => t.offset,
            _ => self.layout.total,
        }
    }

    /// Adam over the trainable parameters; t = state.step + 1.
    pub fn adam(
        &self,
        ctx: &GpuContext,
        state: &View,
        hp: &AdamHyper,
        out: &mut Vec<Dispatch>,
    ) -> Result<(), GpuError> {
        let n = self.trainable_len();
        out.push(ops::adam_step(
            ctx,
            &self.params,
            &self.grads,
            &self.adam_m,
            &self.adam_v,
            state,
            n,
            hp,
        )?);
        Ok(())
    }

    /// One whole training step on `rows` images gathered at the state's cursor.
    pub fn train_step(
        &self,
        ctx: &GpuContext,
        io: &StepIo,
        rows: usize,
        hp: &AdamHyper,
        seed: u64,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let mut out = Vec::new();
        self.forward_loss(ctx, io, rows, seed, STREAM_TRAIN, &mut out)?;
        self.backward(ctx, io.bufs, rows, &mut out)?;
        self.adam(ctx, io.state, hp, &mut out)?;
        out.push(ops::advance_step(ctx, io.state, rows)?);
        Ok(out)
    }

    /// One evaluation batch: the same forward pass and loss record, no backward, no update.
    pub fn eval_step(
        &self,
        ctx: &GpuContext,
        io: &StepIo,
        rows: usize,
        seed: u64,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let mut out = Vec::new();
        self.forward_loss(ctx, io, rows, seed, STREAM_EVAL, &mut out)?;
        out.push(ops::advance_step(ctx, io.state, rows)?);
        Ok(out)
    }

    /// Replaces parameters and Adam state (for --resume and tests).
    pub fn write_state(&self, ctx: &GpuContext, params: &[f32], m: &[f32], v: &[f32]) {
        buffers::write(ctx, &self.params, params);
        buffers::write(ctx, &self.adam_m, m);
        buffers::write(ctx, &self.adam_v, v);
    }
}

/// Records `program` `times` times into one compute pass of a new encoder and submits it;
/// returns the submission so the caller can wait only when it needs to.
pub fn submit_program(
    ctx: &GpuContext,
    program: &[Dispatch],
    times: usize,
) -> wgpu::SubmissionIndex {
    let mut encoder = ctx.encoder("steps");
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("steps"),
            timestamp_writes: None,
        });
        for _ in 0..times {
            for d in program {
                d.record(&mut pass);
            }
        }
    }
    ctx.queue.submit(Some(encoder.finish()))
}
