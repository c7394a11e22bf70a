//! The GPU backend of the model's programs: the model's buffers, the activation buffers of a
//! batch, and `record`, which turns a list of [`Op`]s into dispatches, one builder call per op,
//! mirroring `cpu::exec::run`. A recorded program is replayed as often as needed: a training
//! step is gather -> forward -> loss -> backward -> Adam -> advance, all in one pass.

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::{self, Dispatch, LinearVariant};
use crate::gpu::GpuContext;
use crate::gpu::{conv, restore};
use crate::model::program::{Buf, Op, T};
use crate::model::tensors::ActId;
use crate::model::Model;

/// The largest buffer the adapter lets a shader bind.
fn binding_limit(ctx: &GpuContext) -> u64 {
    let limits = ctx.device.limits();
    limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size)
}

/// Parameters, gradients and Adam state on the GPU, laid out by `model.layout`.
pub struct GpuModel {
    pub model: Model,
    pub variant: LinearVariant,
    pub params: View,
    pub grads: View,
    pub adam_m: View,
    pub adam_v: View,
}

impl GpuModel {
    /// `params` uploaded, gradients and Adam moments zeroed, linear layers run by `variant`.
    /// Fails with a shape error when `params` does not match the layout or the parameter buffer
    /// is larger than the adapter binds.
    pub fn new(
        ctx: &GpuContext,
        model: &Model,
        params: &[f32],
        variant: LinearVariant,
    ) -> Result<Self, GpuError> {
        let n = model.layout.total as u64;
        if params.len() as u64 != n {
            return Err(GpuError::shape(
                "GpuModel::new",
                format!("{} parameters given, the layout needs {n}", params.len()),
            ));
        }
        let limit = binding_limit(ctx);
        if 4 * n > limit {
            return Err(GpuError::shape(
                "GpuModel::new",
                format!("the model has {n} parameters ({} bytes); this adapter binds at most {limit} bytes", 4 * n),
            ));
        }
        Ok(GpuModel {
            model: model.clone(),
            variant,
            params: View::whole(&buffers::upload(ctx, "params", params)),
            grads: View::whole(&buffers::zeros(ctx, "grads", n)),
            adam_m: View::whole(&buffers::zeros(ctx, "adam m", n)),
            adam_v: View::whole(&buffers::zeros(ctx, "adam v", n)),
        })
    }

    /// Replaces parameters and Adam state (for --resume and tests).
    pub fn write_state(&self, ctx: &GpuContext, params: &[f32], m: &[f32], v: &[f32]) {
        buffers::write(ctx, &self.params, params);
        buffers::write(ctx, &self.adam_m, m);
        buffers::write(ctx, &self.adam_v, v);
    }
}

/// The activation buffers of a batch of up to `rows` samples, one per tensor of the spec.
pub struct GpuActs {
    pub rows: usize,
    pub tensors: Vec<View>,
}

impl GpuActs {
    /// Fails with a shape error naming the batch when its widest tensor would exceed what the
    /// adapter can bind, instead of a wgpu validation error (see [`GpuActs::check`]).
    pub fn new(ctx: &GpuContext, model: &Model, rows: usize) -> Result<Self, GpuError> {
        Self::check(ctx, model, rows, |_| "lower --batch".to_string())?;
        let tensors = model
            .acts
            .tensors
            .iter()
            .map(|t| View::whole(&buffers::zeros(ctx, &t.name, t.len(rows) as u64)))
            .collect();
        Ok(GpuActs { rows, tensors })
    }

    /// The buffer of tensor `id`.
    pub fn get(&self, id: ActId) -> &View {
        &self.tensors[id.0]
    }

    /// The largest batch whose activation buffers this adapter can bind.
    pub fn max_rows(ctx: &GpuContext, model: &Model) -> usize {
        let per_row = 4 * model.acts.widest().max(1) as u64;
        usize::try_from(binding_limit(ctx) / per_row).unwrap_or(usize::MAX)
    }

    /// Fails unless a batch of `rows` fits this adapter (see [`GpuActs::max_rows`]); the error
    /// says how many fit and ends with `advice(max_rows)`, which names the caller's flags.
    pub fn check(
        ctx: &GpuContext,
        model: &Model,
        rows: usize,
        advice: impl FnOnce(usize) -> String,
    ) -> Result<(), GpuError> {
        let max = Self::max_rows(ctx, model);
        if rows == 0 || rows > max {
            let bytes = (rows as u64)
                .saturating_mul(model.acts.widest() as u64)
                .saturating_mul(4);
            return Err(GpuError::shape(
                "batch buffers",
                format!(
                    "a batch of {rows} needs {bytes}-byte activation buffers; this adapter \
                     binds at most {} bytes, so 1 to {max} fit ({})",
                    binding_limit(ctx),
                    advice(max)
                ),
            ));
        }
        Ok(())
    }
}

/// What a recorded step reads and writes besides the model and its activations: the u8
/// dataset and the order to gather it in (batches come from `perm[state.cursor..]`), the step
/// state, and the loss history the step records into.
pub struct StepIo {
    pub data: View,
    pub perm: View,
    pub state: View,
    pub history: View,
}

impl StepIo {
    /// No data; the step state at `step` and room for `slots` loss records.
    pub fn at_step(ctx: &GpuContext, step: u32, slots: usize) -> Self {
        StepIo {
            data: View::whole(&buffers::zeros(ctx, "no data", 1)),
            perm: View::whole(&buffers::zeros(ctx, "no order", 1)),
            state: step_state(ctx, step),
            history: View::whole(&buffers::zeros(ctx, "history", 4 * slots.max(1) as u64)),
        }
    }
}

/// The on-GPU step state (step, cursor, slot, pad), see `gather.wgsl`.
pub fn step_state(ctx: &GpuContext, step: u32) -> View {
    View::whole(&buffers::upload(ctx, "step state", &[step, 0u32, 0, 0]))
}

/// Views of every buffer an op may name.
struct Views<'a> {
    model: &'a GpuModel,
    acts: &'a GpuActs,
}

impl Views<'_> {
    fn view(&self, t: T) -> View {
        let whole = match t.buf {
            Buf::Params => &self.model.params,
            Buf::Grads => &self.model.grads,
            Buf::Act(id) => self.acts.get(id),
        };
        whole.sub(t.offset as u64, t.len as u64)
    }
}

/// The dispatches of `program`, in order.
pub fn record(
    ctx: &GpuContext,
    program: &[Op],
    model: &GpuModel,
    acts: &GpuActs,
    io: &StepIo,
) -> Result<Vec<Dispatch>, GpuError> {
    let v = Views { model, acts };
    let t = |t: T| v.view(t);
    // an op's dispatches: one, but two for a conv weight gradient taken in two passes
    let one = |op: &Op| -> Result<Vec<Dispatch>, GpuError> {
        let single = match *op {
            Op::Gather { out, rows, dim } => {
                ops::gather_batch(ctx, &t(out), &io.data, &io.perm, &io.state, rows, dim)
            }
            Op::Corrupt {
                dst,
                src,
                rows,
                dim,
                max_sigma,
                seed,
                stream,
            } => ops::corrupt_noise(
                ctx,
                &t(dst),
                &t(src),
                &io.state,
                rows,
                dim,
                max_sigma,
                seed,
                stream,
            ),
            Op::Linear {
                y,
                x,
                w,
                b,
                m,
                k,
                n,
                act,
            } => ops::linear_forward(ctx, model.variant, &t(y), &t(x), &t(w), &t(b), m, k, n, act),
            Op::LinearBackInput {
                dx,
                dy,
                w,
                mask,
                m,
                k,
                n,
                accumulate,
            } => ops::linear_backward_input(
                ctx,
                model.variant,
                &t(dx),
                &t(dy),
                &t(w),
                mask.map(t).as_ref(),
                m,
                k,
                n,
                accumulate,
            ),
            Op::LinearBackWeight { dw, dy, x, m, k, n } => ops::linear_backward_weight(
                ctx,
                model.variant,
                &t(dw),
                None,
                &t(dy),
                &t(x),
                m,
                k,
                n,
                false,
            ),
            Op::LinearBackBias { db, dy, m, n } => {
                ops::linear_backward_bias(ctx, &t(db), &t(dy), m, n, false)
            }
            Op::LinearBackWeightBias {
                dw,
                db,
                dy,
                x,
                m,
                k,
                n,
            } => {
                // reg8x8 and sg16x4 give the bias gradient with the weight gradient: one
                // dispatch, the same sums in the same order as backward_bias
                let folds = ops::linear_folds_bias(model.variant, k, n);
                let weight = ops::linear_backward_weight(
                    ctx,
                    model.variant,
                    &t(dw),
                    folds.then(|| t(db)).as_ref(),
                    &t(dy),
                    &t(x),
                    m,
                    k,
                    n,
                    false,
                )?;
                if folds {
                    return Ok(vec![weight]);
                }
                let bias = ops::linear_backward_bias(ctx, &t(db), &t(dy), m, n, false)?;
                return Ok(vec![weight, bias]);
            }
            Op::Conv { y, x, w, b, g, act } => {
                let forward = match g.transposed {
                    false => conv::conv2d_forward,
                    true => conv::conv_transpose2d_forward,
                };
                forward(ctx, &t(y), &t(x), &t(w), &t(b), &g, act)
            }
            Op::ConvBackInput {
                dx,
                dy,
                w,
                mask,
                g,
                accumulate,
            } => {
                let backward = match g.transposed {
                    false => conv::conv2d_backward_input,
                    true => conv::conv_transpose2d_backward_input,
                };
                backward(
                    ctx,
                    &t(dx),
                    &t(dy),
                    &t(w),
                    mask.map(t).as_ref(),
                    &g,
                    accumulate,
                )
            }
            Op::ConvBackWeight { dw, dy, x, g } => {
                let backward = match g.transposed {
                    false => conv::conv2d_backward_weight,
                    true => conv::conv_transpose2d_backward_weight,
                };
                return backward(ctx, &t(dw), &t(dy), &t(x), &g, false);
            }
            Op::ConvBackBias { db, dy, g } => {
                conv::conv_backward_bias(ctx, &t(db), &t(dy), &g, false)
            }
            Op::ReparamForward {
                z,
                eps,
                mu,
                logvar,
                n,
                seed,
                stream,
            } => ops::reparam_forward(
                ctx,
                &t(z),
                &t(eps),
                &t(mu),
                &t(logvar),
                &io.state,
                n,
                seed,
                stream,
            ),
            Op::ReparamBackward {
                dmu,
                dlogvar,
                dz,
                eps,
                logvar,
                n,
            } => ops::reparam_backward(ctx, &t(dmu), &t(dlogvar), &t(dz), &t(eps), &t(logvar), n),
            Op::KlForward { kl, mu, logvar, n } => {
                ops::kl_forward(ctx, &t(kl), &t(mu), &t(logvar), n)
            }
            Op::KlBackward {
                dmu,
                dlogvar,
                mu,
                logvar,
                n,
                scale,
            } => ops::kl_backward(ctx, &t(dmu), &t(dlogvar), &t(mu), &t(logvar), n, scale),
            Op::ReparamKlForward {
                z,
                eps,
                kl,
                mu,
                logvar,
                n,
                seed,
                stream,
            } => ops::reparam_kl_forward(
                ctx,
                &t(z),
                &t(eps),
                &t(kl),
                &t(mu),
                &t(logvar),
                &io.state,
                n,
                seed,
                stream,
            ),
            Op::ReparamKlBackward {
                dmu,
                dlogvar,
                dz,
                eps,
                mu,
                logvar,
                n,
                scale,
            } => ops::reparam_kl_backward(
                ctx,
                &t(dmu),
                &t(dlogvar),
                &t(dz),
                &t(eps),
                &t(mu),
                &t(logvar),
                n,
                scale,
            ),
            Op::BceForward {
                loss,
                grad,
                logits,
                x,
                n,
                scale,
            } => ops::bce_forward(ctx, &t(loss), &t(grad), &t(logits), &t(x), n, scale),
            Op::GaussianForward {
                loss,
                dmean,
                dlogvar_elem,
                mean,
                x,
                logvar_x,
                n,
                scale,
            } => ops::gaussian_forward(
                ctx,
                &t(loss),
                &t(dmean),
                &t(dlogvar_elem),
                &t(mean),
                &t(x),
                &t(logvar_x),
                n,
                scale,
            ),
            Op::SumRows {
                dst,
                src,
                rows,
                cols,
            } => ops::sum_rows(ctx, &t(dst), &t(src), rows, cols),
            Op::RecordLoss {
                recon_rows,
                kl_rows,
                rows,
                beta,
            } => ops::record_loss(
                ctx,
                &io.history,
                &t(recon_rows),
                &t(kl_rows),
                &io.state,
                rows,
                beta,
            ),
            Op::Adam { n, hp } => ops::adam_step(
                ctx,
                &model.params,
                &model.grads,
                &model.adam_m,
                &model.adam_v,
                &io.state,
                n,
                &hp,
            ),
            Op::AdamOn { p, g, m, v, n, hp } => {
                ops::adam_step(ctx, &t(p), &t(g), &t(m), &t(v), &io.state, n, &hp)
            }
            Op::DecoderMean { mean, out, n, kind } => {
                restore::decoder_mean(ctx, &t(mean), &t(out), n, kind)
            }
            Op::FitResidual {
                resid,
                pred,
                obs,
                w,
                n,
            } => restore::fit_residual(ctx, &t(resid), &t(pred), &t(obs), &t(w), n),
            Op::MeanBackward {
                dout,
                back,
                mean,
                n,
                kind,
            } => restore::mean_backward(ctx, &t(dout), &t(back), &t(mean), n, kind),
            Op::Axpy { y, x, a, b, n } => restore::axpy(ctx, &t(y), &t(x), a, b, n),
            Op::Mul { y, x, w, n } => restore::mul(ctx, &t(y), &t(x), &t(w), n),
            Op::PixelVariance {
                var,
                mean,
                a,
                b,
                n,
                kind,
            } => restore::pixel_variance(ctx, &t(var), &t(mean), a, b, n, kind),
            Op::Blend {
                x,
                obs,
                w,
                mean,
                var,
                n,
            } => restore::blend(ctx, &t(x), &t(obs), &t(w), &t(mean), &t(var), n),
            Op::ImputeFill { x, obs, w, mean, n } => {
                restore::impute_fill(ctx, &t(x), &t(obs), &t(w), &t(mean), n)
            }
            Op::AddPrecision {
                q,
                p,
                var,
                floor,
                n,
            } => restore::add_precision(ctx, &t(q), &t(p), &t(var), floor, n),
            Op::RowDot {
                out,
                a,
                b,
                rows,
                cols,
            } => restore::row_dot(ctx, &t(out), &t(a), &t(b), rows, cols),
            Op::CgStep {
                u,
                r,
                p,
                q,
                rr,
                pq,
                rows,
                cols,
            } => restore::cg_step(ctx, &t(u), &t(r), &t(p), &t(q), &t(rr), &t(pq), rows, cols),
            Op::CgDirection {
                p,
                r,
                rr_new,
                rr,
                rows,
                cols,
            } => restore::cg_direction(ctx, &t(p), &t(r), &t(rr_new), &t(rr), rows, cols),
            Op::RepeatRows {
                dst,
                src,
                rows,
                cols,
                k,
            } => restore::repeat_rows(ctx, &t(dst), &t(src), rows, cols, k),
            Op::Neg2Loglik {
                out,
                obs,
                mean,
                var,
                w,
                n,
            } => restore::neg2_loglik(ctx, &t(out), &t(obs), &t(mean), &t(var), &t(w), n),
            Op::LatentLogRatio { out, z, eps, n } => {
                restore::latent_log_ratio(ctx, &t(out), &t(z), &t(eps), n)
            }
            Op::ImportanceMean {
                out,
                x,
                fit,
                lat,
                images,
                cols,
                k,
            } => restore::importance_mean(ctx, &t(out), &t(x), &t(fit), &t(lat), images, cols, k),
            Op::Advance { batch } => ops::advance_step(ctx, &io.state, batch),
        };
        single.map(|d| vec![d])
    };
    let mut dispatches = Vec::with_capacity(program.len());
    for op in program {
        dispatches.extend(one(op)?);
    }
    Ok(dispatches)
}

/// Records `program` and runs it once, waiting for the GPU (sampling and tests; training
/// replays a recorded program instead).
pub fn run(
    ctx: &GpuContext,
    program: &[Op],
    model: &GpuModel,
    acts: &GpuActs,
    io: &StepIo,
) -> Result<(), GpuError> {
    let dispatches = record(ctx, program, model, acts, io)?;
    ops::run(ctx, &dispatches.iter().collect::<Vec<_>>())
}

/// Records `program` `times` times into one compute pass of a new encoder and submits it;
/// returns the submission so the caller can wait only when it needs to. A submission the
/// device rejects is recorded (naming the program) and returned by the next wait.
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
    let what = || format!("{} x{times}", ops::program_name(program));
    match ctx.submit(what, encoder) {
        Ok(index) => index,
        Err(e) => {
            ctx.faults.record(e);
            // Nothing new was submitted: an empty submission gives an index to wait on.
            ctx.queue.submit(None)
        }
    }
}
