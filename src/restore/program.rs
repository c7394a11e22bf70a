//! Restoration's programs, written once as lists of [`Op`]s over the model's tensors (the
//! `restore` group of the activation spec), so the CPU reference and the GPU run the same
//! calls. An observation is `obs = A x + noise`, with per-pixel precision `w` (1 / sigma^2;
//! 0 where a pixel is unknown) and `A` the identity or a blur (`psf`).
//!
//! - `encode_to_latent`: z = the encoder's mean of the image in `x` (the starting point);
//! - `map_step`: one Adam step on z for  ||z||^2 / 2 + sum_i w_i (A mean(z) - obs)_i^2 / 2;
//! - `decode_mean`: mean = the decoder's pixel mean at z;
//! - `posterior_mean`: per pixel, the mean of x given obs and the decoder's N(mean, var):
//!   a closed-form blend for the identity, conjugate gradients with A and A^T for a blur;
//! - `importance_posterior`: the posterior mean averaged over K codes drawn around the MAP
//!   code, weighted by importance (identity operator);
//! - `project` and `impute_step`: the encode-decode baselines.

use crate::config::Likelihood;
use crate::model::op::MeanKind;
use crate::model::op::{Act, AdamHyper};
use crate::model::program::{Buf, Op, STREAM_RESTORE, T};
use crate::model::Model;
use crate::restore::blur::Psf;
use crate::shape::ConvGeom;

/// The observation operator of one batch: identity or a blur of every channel plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Operator {
    /// The side of the blur kernel in the `psf` tensor, or None for the identity.
    pub psf_size: Option<usize>,
}

impl Operator {
    /// No blur: the observation is the image itself (plus noise).
    pub const IDENTITY: Operator = Operator { psf_size: None };

    /// A blur by a PSF of `psf`'s size, whose values the model's shared `psf` tensor holds.
    pub fn blur(psf: &Psf) -> Operator {
        Operator {
            psf_size: Some(psf.size),
        }
    }
}

/// How the decoder's uncertainty is turned into a pixel variance: `scale * mean (1 - mean) +
/// floor` for a Bernoulli decoder, `scale + floor` for a Gaussian one (scale = its variance).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelVariance {
    pub scale: f32,
    pub floor: f32,
}

/// The smallest variance conjugate gradients divides by: keeps the system's condition number
/// bounded where the decoder is certain (mean 0 or 1).
pub const CG_VARIANCE_FLOOR: f32 = 1e-3;

impl Model {
    /// How this model's decoder output becomes a pixel mean: a sigmoid of logits (Bernoulli)
    /// or the output itself (Gaussian).
    pub fn mean_kind(&self) -> MeanKind {
        match self.cfg.likelihood {
            Likelihood::Bernoulli => MeanKind::Sigmoid,
            Likelihood::Gaussian => MeanKind::Identity,
        }
    }

    /// The blur's conv geometry over every channel plane of `rows` images.
    fn blur_geom(&self, rows: usize, size: usize) -> ConvGeom {
        ConvGeom {
            batch: rows * self.cfg.channels,
            in_ch: 1,
            out_ch: 1,
            in_h: self.cfg.height,
            in_w: self.cfg.width,
            kernel: size,
            stride: 1,
            pad: size / 2,
            transposed: false,
        }
    }

    fn psf(&self, size: usize) -> T {
        T {
            buf: Buf::Act(self.acts.restore.psf),
            offset: 0,
            len: size * size,
        }
    }

    /// `y = A x` (a copy for the identity).
    fn apply_a(&self, op: Operator, rows: usize, y: T, x: T) -> Op {
        match op.psf_size {
            Some(size) => Op::Conv {
                y,
                x,
                w: self.psf(size),
                b: self.act(self.acts.restore.psf_bias, rows),
                g: self.blur_geom(rows, size),
                act: Act::None,
            },
            None => Op::Axpy {
                y,
                x,
                a: 1.0,
                b: 0.0,
                n: x.len,
            },
        }
    }

    /// `x = A^T y` (a copy for the identity).
    fn apply_at(&self, op: Operator, rows: usize, x: T, y: T) -> Op {
        match op.psf_size {
            Some(size) => Op::ConvBackInput {
                dx: x,
                dy: y,
                w: self.psf(size),
                mask: None,
                g: self.blur_geom(rows, size),
                accumulate: false,
            },
            None => Op::Axpy {
                y: x,
                x: y,
                a: 1.0,
                b: 0.0,
                n: y.len,
            },
        }
    }

    /// The decoder's output at `from` turned into pixel means in `restore.mean`.
    fn decode_mean_from(&self, rows: usize, from: crate::model::tensors::ActId) -> Vec<Op> {
        let r = &self.acts.restore;
        let mut ops = self.decode(rows, from, Act::None);
        ops.push(Op::DecoderMean {
            mean: self.act(r.mean, rows),
            out: self.act(self.acts.out(), rows),
            n: rows * self.cfg.input_dim(),
            kind: self.mean_kind(),
        });
        ops
    }

    /// z = the encoder's mean for the images in `x`.
    pub fn encode_to_latent(&self, rows: usize) -> Vec<Op> {
        let a = &self.acts;
        let mut ops = self.encode(rows);
        ops.push(Op::Axpy {
            y: self.act(a.z, rows),
            x: self.act(a.mu, rows),
            a: 1.0,
            b: 0.0,
            n: rows * self.cfg.latent,
        });
        ops
    }

    /// The pixel means at z, in `restore.mean`.
    pub fn decode_mean(&self, rows: usize) -> Vec<Op> {
        self.decode_mean_from(rows, self.acts.z)
    }

    /// One Adam step on z (moments in `restore.z_m`, `restore.z_v`, t = state.step + 1) for
    /// the negative log posterior ||z||^2/2 + sum w (A mean(z) - obs)^2 / 2; advances the step.
    pub fn map_step(&self, rows: usize, op: Operator, hp: &AdamHyper) -> Vec<Op> {
        let a = &self.acts;
        let r = &a.restore;
        let t = |id| self.act(id, rows);
        let (d, l) = (self.cfg.input_dim(), self.cfg.latent);
        let mut ops = self.decode_mean(rows);
        ops.push(self.apply_a(op, rows, t(r.pred), t(r.mean)));
        ops.push(Op::FitResidual {
            resid: t(r.resid),
            pred: t(r.pred),
            obs: t(r.obs),
            w: t(r.w),
            n: rows * d,
        });
        ops.push(self.apply_at(op, rows, t(r.back), t(r.resid)));
        ops.push(Op::MeanBackward {
            dout: t(a.dout()),
            back: t(r.back),
            mean: t(r.mean),
            n: rows * d,
            kind: self.mean_kind(),
        });
        ops.extend(self.decoder_backward_to_z(rows));
        // the prior's gradient: dz += z
        ops.push(Op::Axpy {
            y: t(a.dz),
            x: t(a.z),
            a: 1.0,
            b: 1.0,
            n: rows * l,
        });
        ops.push(Op::AdamOn {
            p: t(a.z),
            g: t(a.dz),
            m: t(r.z_m),
            v: t(r.z_v),
            n: rows * l,
            hp: *hp,
        });
        ops.push(Op::Advance { batch: 0 });
        ops
    }

    /// The posterior mean of x given obs and the decoder's N(mean(z), var) per pixel, into
    /// `x`. Identity: x = (var w obs + mean) / (var w + 1). Blur: x = mean + u with
    /// (A^T W A + V^-1) u = A^T W (obs - A mean), solved by `cg_iters` steps of conjugate
    /// gradients from u = 0.
    pub fn posterior_mean(
        &self,
        rows: usize,
        op: Operator,
        var: PixelVariance,
        cg_iters: usize,
    ) -> Vec<Op> {
        let a = &self.acts;
        let r = &a.restore;
        let t = |id| self.act(id, rows);
        let d = self.cfg.input_dim();
        let n = rows * d;
        let mut ops = self.decode_mean(rows);
        ops.push(Op::PixelVariance {
            var: t(r.var),
            mean: t(r.mean),
            a: var.scale,
            b: var.floor,
            n,
            kind: self.mean_kind(),
        });
        if op.psf_size.is_none() {
            ops.push(Op::Blend {
                x: t(a.x),
                obs: t(r.obs),
                w: t(r.w),
                mean: t(r.mean),
                var: t(r.var),
                n,
            });
            return ops;
        }
        let copy = |y, x, a| Op::Axpy { y, x, a, b: 0.0, n };
        // r = A^T W (obs - A mean) = -A^T resid;  u = 0;  p = r
        ops.push(self.apply_a(op, rows, t(r.pred), t(r.mean)));
        ops.push(Op::FitResidual {
            resid: t(r.resid),
            pred: t(r.pred),
            obs: t(r.obs),
            w: t(r.w),
            n,
        });
        ops.push(self.apply_at(op, rows, t(r.back), t(r.resid)));
        ops.push(copy(t(r.r), t(r.back), -1.0));
        ops.push(copy(t(r.u), t(r.back), 0.0));
        ops.push(copy(t(r.p), t(r.r), 1.0));
        for _ in 0..cg_iters {
            ops.push(Op::RowDot {
                out: t(r.rr),
                a: t(r.r),
                b: t(r.r),
                rows,
                cols: d,
            });
            // q = A^T W A p + p / var
            ops.push(self.apply_a(op, rows, t(r.pred), t(r.p)));
            ops.push(Op::Mul {
                y: t(r.resid),
                x: t(r.pred),
                w: t(r.w),
                n,
            });
            ops.push(self.apply_at(op, rows, t(r.q), t(r.resid)));
            ops.push(Op::AddPrecision {
                q: t(r.q),
                p: t(r.p),
                var: t(r.var),
                floor: CG_VARIANCE_FLOOR,
                n,
            });
            ops.push(Op::RowDot {
                out: t(r.pq),
                a: t(r.p),
                b: t(r.q),
                rows,
                cols: d,
            });
            ops.push(Op::CgStep {
                u: t(r.u),
                r: t(r.r),
                p: t(r.p),
                q: t(r.q),
                rr: t(r.rr),
                pq: t(r.pq),
                rows,
                cols: d,
            });
            ops.push(Op::RowDot {
                out: t(r.rr_new),
                a: t(r.r),
                b: t(r.r),
                rows,
                cols: d,
            });
            ops.push(Op::CgDirection {
                p: t(r.p),
                r: t(r.r),
                rr_new: t(r.rr_new),
                rr: t(r.rr),
                rows,
                cols: d,
            });
        }
        ops.push(copy(t(a.x), t(r.mean), 1.0));
        ops.push(Op::Axpy {
            y: t(a.x),
            x: t(r.u),
            a: 1.0,
            b: 1.0,
            n,
        });
        ops
    }

    /// The posterior mean of x averaged over `k` codes per image drawn from N(z*, s^2 I) around
    /// the MAP codes z* of `images` images (in z), each weighted by p(obs | z) p(z) / q(z) with
    /// p(obs | z) = N(mean(z), var(z) + 1/w) per known pixel: into `restore.u`, one row per
    /// image. Expects `obs` and `w` repeated k times per image (row b k + j) and `logvar` set
    /// to 2 ln s on all `images k` rows; draws its normals at the state's step.
    pub fn importance_posterior(
        &self,
        images: usize,
        k: usize,
        var: PixelVariance,
        seed: u64,
    ) -> Vec<Op> {
        let a = &self.acts;
        let r = &a.restore;
        let rows = images * k;
        let t = |id| self.act(id, rows);
        let (d, l) = (self.cfg.input_dim(), self.cfg.latent);
        let mut ops = vec![
            Op::RepeatRows {
                dst: t(a.mu),
                src: self.act(a.z, images),
                rows: images,
                cols: l,
                k,
            },
            Op::ReparamForward {
                z: t(a.z),
                eps: t(a.eps),
                mu: t(a.mu),
                logvar: t(a.logvar),
                n: rows * l,
                seed,
                stream: STREAM_RESTORE,
            },
        ];
        ops.extend(self.decode_mean(rows));
        ops.push(Op::PixelVariance {
            var: t(r.var),
            mean: t(r.mean),
            a: var.scale,
            b: var.floor,
            n: rows * d,
            kind: self.mean_kind(),
        });
        ops.push(Op::Blend {
            x: t(a.x),
            obs: t(r.obs),
            w: t(r.w),
            mean: t(r.mean),
            var: t(r.var),
            n: rows * d,
        });
        ops.push(Op::Neg2Loglik {
            out: t(r.resid),
            obs: t(r.obs),
            mean: t(r.mean),
            var: t(r.var),
            w: t(r.w),
            n: rows * d,
        });
        ops.push(Op::SumRows {
            dst: t(r.rr),
            src: t(r.resid),
            rows,
            cols: d,
        });
        ops.push(Op::LatentLogRatio {
            out: t(a.kl_elem),
            z: t(a.z),
            eps: t(a.eps),
            n: rows * l,
        });
        ops.push(Op::SumRows {
            dst: t(r.pq),
            src: t(a.kl_elem),
            rows,
            cols: l,
        });
        ops.push(Op::ImportanceMean {
            out: self.act(r.u, images),
            x: t(a.x),
            fit: t(r.rr),
            lat: t(r.pq),
            images,
            cols: d,
            k,
        });
        ops
    }

    /// The encode-decode projection of the image in `x`: pixel means in `restore.mean`.
    pub fn project(&self, rows: usize) -> Vec<Op> {
        let mut ops = self.encode(rows);
        ops.extend(self.decode_mean_from(rows, self.acts.mu));
        ops
    }

    /// One step of iterative imputation (Rezende et al. 2014): x = obs where known, the last
    /// means elsewhere; then encode and decode.
    pub fn impute_step(&self, rows: usize) -> Vec<Op> {
        let mut ops = vec![self.impute_fill(rows)];
        ops.extend(self.project(rows));
        ops
    }

    /// x = obs where known (w > 0), the means in `restore.mean` elsewhere.
    pub fn impute_fill(&self, rows: usize) -> Op {
        let r = &self.acts.restore;
        let t = |id| self.act(id, rows);
        Op::ImputeFill {
            x: t(self.acts.x),
            obs: t(r.obs),
            w: t(r.w),
            mean: t(r.mean),
            n: rows * self.cfg.input_dim(),
        }
    }
}
