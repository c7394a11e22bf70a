//! The CPU backend of the model's programs: runs a list of [`Op`]s with the reference kernels
//! of `cpu::ops`, one call per op, on plain vectors. The GPU records the same list
//! (`gpu::recorder`); the tests compare the two tensor by tensor.

use crate::cpu::{conv, corrupt, ops, restore};
use crate::model::init::init_params;
use crate::model::program::{Buf, Op, T};
use crate::model::tensors::ActId;
use crate::model::Model;

/// The model's parameters, gradients and Adam moments, all laid out by `model.layout`.
#[derive(Clone, Debug)]
pub struct CpuModel {
    pub model: Model,
    pub params: Vec<f32>,
    pub grads: Vec<f32>,
    pub adam_m: Vec<f32>,
    pub adam_v: Vec<f32>,
}

impl CpuModel {
    /// `params` laid out by `model.layout` (panics if the length differs), with zero gradients
    /// and Adam moments.
    pub fn new(model: &Model, params: Vec<f32>) -> Self {
        let n = model.layout.total;
        assert_eq!(
            params.len(),
            n,
            "parameter vector does not match the layout"
        );
        CpuModel {
            model: model.clone(),
            params,
            grads: vec![0.0; n],
            adam_m: vec![0.0; n],
            adam_v: vec![0.0; n],
        }
    }

    /// Freshly initialised parameters (`model::init`).
    pub fn init(model: &Model, seed: u64) -> Self {
        CpuModel::new(model, init_params(model, seed))
    }
}

/// The activations of a batch of up to `rows` samples, one vector per tensor of the spec.
#[derive(Clone, Debug)]
pub struct CpuActs {
    pub rows: usize,
    pub tensors: Vec<Vec<f32>>,
}

impl CpuActs {
    /// Zeroed tensors for `rows` samples.
    pub fn new(model: &Model, rows: usize) -> Self {
        CpuActs {
            rows,
            tensors: model
                .acts
                .tensors
                .iter()
                .map(|t| vec![0.0; t.len(rows)])
                .collect(),
        }
    }

    /// Every value of tensor `id`, sized for `rows` samples.
    pub fn get(&self, id: ActId) -> &[f32] {
        &self.tensors[id.0]
    }

    /// Writes `values` to the front of tensor `id` (fewer values than its length leave the rest).
    pub fn set(&mut self, id: ActId, values: &[f32]) {
        self.tensors[id.0][..values.len()].copy_from_slice(values);
    }
}

/// What a step reads and writes besides the model: the u8 dataset, the order to gather it in,
/// the step state (step, cursor, slot, pad) and the loss history (4 values per slot).
#[derive(Clone, Debug, Default)]
pub struct CpuIo {
    pub data: Vec<u8>,
    pub perm: Vec<u32>,
    pub state: [u32; 4],
    pub history: Vec<f32>,
}

impl CpuIo {
    /// No data; a step state at `step` and room for `slots` loss records.
    pub fn at_step(step: u32, slots: usize) -> Self {
        CpuIo {
            state: [step, 0, 0, 0],
            history: vec![0.0; 4 * slots],
            ..CpuIo::default()
        }
    }
}

/// Borrows of every float buffer an op may name.
struct Bufs<'a> {
    params: &'a mut Vec<f32>,
    grads: &'a mut Vec<f32>,
    acts: &'a mut [Vec<f32>],
}

impl Bufs<'_> {
    fn slot(&mut self, buf: Buf) -> &mut Vec<f32> {
        match buf {
            Buf::Params => self.params,
            Buf::Grads => self.grads,
            Buf::Act(id) => &mut self.acts[id.0],
        }
    }

    fn read(&self, t: T) -> &[f32] {
        let whole = match t.buf {
            Buf::Params => &self.params[..],
            Buf::Grads => &self.grads[..],
            Buf::Act(id) => &self.acts[id.0][..],
        };
        &whole[t.range()]
    }

    /// Runs `f` on `out`'s values with the other buffers readable (the op's inputs never
    /// share a buffer with its output, as on the GPU).
    fn write(&mut self, out: T, f: impl FnOnce(&mut [f32], &Self)) {
        let mut v = std::mem::take(self.slot(out.buf));
        f(&mut v[out.range()], self);
        *self.slot(out.buf) = v;
    }

    /// Three outputs in three buffers.
    fn write3(
        &mut self,
        (a, b, c): (T, T, T),
        f: impl FnOnce(&mut [f32], &mut [f32], &mut [f32], &Self),
    ) {
        assert!(
            a.buf != b.buf && b.buf != c.buf && a.buf != c.buf,
            "outputs share a buffer"
        );
        let mut va = std::mem::take(self.slot(a.buf));
        let mut vb = std::mem::take(self.slot(b.buf));
        let mut vc = std::mem::take(self.slot(c.buf));
        f(
            &mut va[a.range()],
            &mut vb[b.range()],
            &mut vc[c.range()],
            self,
        );
        *self.slot(a.buf) = va;
        *self.slot(b.buf) = vb;
        *self.slot(c.buf) = vc;
    }

    /// Two outputs in two buffers.
    fn write2(&mut self, a: T, b: T, f: impl FnOnce(&mut [f32], &mut [f32], &Self)) {
        assert_ne!(a.buf, b.buf, "two outputs in one buffer");
        let mut va = std::mem::take(self.slot(a.buf));
        let mut vb = std::mem::take(self.slot(b.buf));
        f(&mut va[a.range()], &mut vb[b.range()], self);
        *self.slot(a.buf) = va;
        *self.slot(b.buf) = vb;
    }
}

/// Runs `program` op by op.
pub fn run(program: &[Op], model: &mut CpuModel, acts: &mut CpuActs, io: &mut CpuIo) {
    let mut b = Bufs {
        params: &mut model.params,
        grads: &mut model.grads,
        acts: &mut acts.tensors,
    };
    for op in program.iter().flat_map(Op::unfused) {
        match op {
            Op::Gather { out, rows, dim } => b.write(out, |o, _| {
                ops::gather_batch(o, &io.data, &io.perm, io.state[1] as usize, rows, dim)
            }),
            Op::Corrupt {
                dst,
                src,
                rows,
                dim,
                max_sigma,
                seed,
                stream,
            } => b.write(dst, |o, r| {
                corrupt::corrupt_noise(
                    o,
                    r.read(src),
                    io.state[0],
                    rows,
                    dim,
                    max_sigma,
                    seed,
                    stream,
                )
            }),
            Op::Linear {
                y,
                x,
                w,
                b: bias,
                m,
                k,
                n,
                act,
            } => b.write(y, |o, r| {
                ops::linear_forward(o, r.read(x), r.read(w), r.read(bias), m, k, n, act)
            }),
            Op::LinearBackInput {
                dx,
                dy,
                w,
                mask,
                m,
                k,
                n,
                accumulate,
            } => b.write(dx, |o, r| {
                let mask = mask.map(|t| r.read(t));
                ops::linear_backward_input(o, r.read(dy), r.read(w), mask, m, k, n, accumulate)
            }),
            Op::LinearBackWeight { dw, dy, x, m, k, n } => b.write(dw, |o, r| {
                ops::linear_backward_weight(o, r.read(dy), r.read(x), m, k, n, false)
            }),
            Op::LinearBackBias { db, dy, m, n } => b.write(db, |o, r| {
                ops::linear_backward_bias(o, r.read(dy), m, n, false)
            }),
            Op::Conv {
                y,
                x,
                w,
                b: bias,
                g,
                act,
            } => b.write(y, |o, r| {
                let forward = match g.transposed {
                    false => conv::conv2d_forward,
                    true => conv::conv_transpose2d_forward,
                };
                forward(o, r.read(x), r.read(w), r.read(bias), &g, act)
            }),
            Op::ConvBackInput {
                dx,
                dy,
                w,
                mask,
                g,
                accumulate,
            } => b.write(dx, |o, r| {
                let backward = match g.transposed {
                    false => conv::conv2d_backward_input,
                    true => conv::conv_transpose2d_backward_input,
                };
                backward(
                    o,
                    r.read(dy),
                    r.read(w),
                    mask.map(|t| r.read(t)),
                    &g,
                    accumulate,
                )
            }),
            Op::ConvBackWeight { dw, dy, x, g } => b.write(dw, |o, r| {
                let backward = match g.transposed {
                    false => conv::conv2d_backward_weight,
                    true => conv::conv_transpose2d_backward_weight,
                };
                backward(o, r.read(dy), r.read(x), &g, false)
            }),
            Op::ConvBackBias { db, dy, g } => b.write(db, |o, r| {
                conv::conv_backward_bias(o, r.read(dy), &g, false)
            }),
            Op::ReparamForward {
                z,
                eps,
                mu,
                logvar,
                n,
                seed,
                stream,
            } => b.write2(z, eps, |z, e, r| {
                ops::reparam_forward(
                    z,
                    e,
                    r.read(mu),
                    r.read(logvar),
                    io.state[0],
                    n,
                    seed,
                    stream,
                )
            }),
            Op::ReparamBackward {
                dmu,
                dlogvar,
                dz,
                eps,
                logvar,
                n,
            } => b.write2(dmu, dlogvar, |dm, dl, r| {
                ops::reparam_backward(dm, dl, r.read(dz), r.read(eps), r.read(logvar), n)
            }),
            Op::KlForward { kl, mu, logvar, n } => {
                b.write(kl, |o, r| ops::kl_forward(o, r.read(mu), r.read(logvar), n))
            }
            Op::KlBackward {
                dmu,
                dlogvar,
                mu,
                logvar,
                n,
                scale,
            } => b.write2(dmu, dlogvar, |dm, dl, r| {
                ops::kl_backward(dm, dl, r.read(mu), r.read(logvar), n, scale)
            }),
            Op::BceForward {
                loss,
                grad,
                logits,
                x,
                n,
                scale,
            } => b.write2(loss, grad, |l, g, r| {
                ops::bce_forward(l, g, r.read(logits), r.read(x), n, scale)
            }),
            Op::GaussianForward {
                loss,
                dmean,
                dlogvar_elem,
                mean,
                x,
                logvar_x,
                n,
                scale,
            } => {
                // three outputs: the third is taken out by hand
                let mut dl = std::mem::take(b.slot(dlogvar_elem.buf));
                b.write2(loss, dmean, |l, dm, r| {
                    ops::gaussian_forward(
                        l,
                        dm,
                        &mut dl[dlogvar_elem.range()],
                        r.read(mean),
                        r.read(x),
                        r.read(logvar_x),
                        n,
                        scale,
                    )
                });
                *b.slot(dlogvar_elem.buf) = dl;
            }
            Op::SumRows {
                dst,
                src,
                rows,
                cols,
            } => b.write(dst, |o, r| ops::sum_rows(o, r.read(src), rows, cols)),
            Op::RecordLoss {
                recon_rows,
                kl_rows,
                rows,
                beta,
            } => ops::record_loss(
                &mut io.history,
                b.read(recon_rows),
                b.read(kl_rows),
                io.state[2] as usize,
                rows,
                beta,
            ),
            Op::Adam { n, hp } => ops::adam_step(
                b.params,
                b.grads,
                &mut model.adam_m,
                &mut model.adam_v,
                io.state[0],
                n,
                &hp,
            ),
            Op::AdamOn { p, g, m, v, n, hp } => b.write3((p, m, v), |p, m, v, r| {
                ops::adam_step(p, r.read(g), m, v, io.state[0], n, &hp)
            }),
            Op::DecoderMean { mean, out, n, kind } => {
                b.write(mean, |o, r| restore::decoder_mean(o, r.read(out), n, kind))
            }
            Op::FitResidual {
                resid,
                pred,
                obs,
                w,
                n,
            } => b.write(resid, |o, r| {
                restore::fit_residual(o, r.read(pred), r.read(obs), r.read(w), n)
            }),
            Op::MeanBackward {
                dout,
                back,
                mean,
                n,
                kind,
            } => b.write(dout, |o, r| {
                restore::mean_backward(o, r.read(back), r.read(mean), n, kind)
            }),
            Op::Axpy {
                y,
                x,
                a,
                b: keep,
                n,
            } => b.write(y, |o, r| restore::axpy(o, r.read(x), a, keep, n)),
            Op::Mul { y, x, w, n } => b.write(y, |o, r| restore::mul(o, r.read(x), r.read(w), n)),
            Op::PixelVariance {
                var,
                mean,
                a,
                b: plus,
                n,
                kind,
            } => b.write(var, |o, r| {
                restore::pixel_variance(o, r.read(mean), a, plus, n, kind)
            }),
            Op::Blend {
                x,
                obs,
                w,
                mean,
                var,
                n,
            } => b.write(x, |o, r| {
                restore::blend(o, r.read(obs), r.read(w), r.read(mean), r.read(var), n)
            }),
            Op::ImputeFill { x, obs, w, mean, n } => b.write(x, |o, r| {
                restore::impute_fill(o, r.read(obs), r.read(w), r.read(mean), n)
            }),
            Op::AddPrecision {
                q,
                p,
                var,
                floor,
                n,
            } => b.write(q, |o, r| {
                restore::add_precision(o, r.read(p), r.read(var), floor, n)
            }),
            Op::RowDot {
                out,
                a,
                b: bt,
                rows,
                cols,
            } => b.write(out, |o, r| {
                restore::row_dot(o, r.read(a), r.read(bt), rows, cols)
            }),
            Op::CgStep {
                u,
                r,
                p,
                q,
                rr,
                pq,
                rows,
                cols,
            } => b.write2(u, r, |u, res, rd| {
                restore::cg_step(
                    u,
                    res,
                    rd.read(p),
                    rd.read(q),
                    rd.read(rr),
                    rd.read(pq),
                    rows,
                    cols,
                )
            }),
            Op::CgDirection {
                p,
                r,
                rr_new,
                rr,
                rows,
                cols,
            } => b.write(p, |o, rd| {
                restore::cg_direction(o, rd.read(r), rd.read(rr_new), rd.read(rr), rows, cols)
            }),
            Op::RepeatRows {
                dst,
                src,
                rows,
                cols,
                k,
            } => b.write(dst, |o, r| {
                restore::repeat_rows(o, r.read(src), rows, cols, k)
            }),
            Op::Neg2Loglik {
                out,
                obs,
                mean,
                var,
                w,
                n,
            } => b.write(out, |o, r| {
                restore::neg2_loglik(o, r.read(obs), r.read(mean), r.read(var), r.read(w), n)
            }),
            Op::LatentLogRatio { out, z, eps, n } => b.write(out, |o, r| {
                restore::latent_log_ratio(o, r.read(z), r.read(eps), n)
            }),
            Op::ImportanceMean {
                out,
                x,
                fit,
                lat,
                images,
                cols,
                k,
            } => b.write(out, |o, r| {
                restore::importance_mean(o, r.read(x), r.read(fit), r.read(lat), images, cols, k)
            }),
            Op::Advance { batch } => ops::advance_step(&mut io.state, batch),
            Op::LinearBackWeightBias { .. }
            | Op::ReparamKlForward { .. }
            | Op::ReparamKlBackward { .. } => unreachable!("fused ops run as Op::unfused's parts"),
        }
    }
}
