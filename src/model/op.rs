//! The op list's types, shared by both backends and by the model: the tensors an op names
//! ([`Buf`], [`T`]), the ops themselves ([`Op`]), and the small types inside them (the fused
//! activation, Adam's hyper-parameters, how a decoder's output becomes a pixel mean, the
//! largest blur kernel). The CPU reference (`cpu::exec`) and the GPU recorder
//! (`gpu::recorder`) both import them from here, so neither backend imports the other.

use crate::shape::ConvGeom;

/// Index of a tensor in `model::tensors::ActSpec::tensors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActId(pub usize);

/// The largest PSF side accepted (a 31 x 31 kernel covers Gaussian sigma 5 at 3 sigma); the
/// model's shared PSF tensor holds MAX_PSF x MAX_PSF values.
pub const MAX_PSF: usize = 31;

/// Activation fused into a linear layer; the discriminant is the WGSL `act` code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Act {
    None = 0,
    Relu = 1,
    Sigmoid = 2,
}

impl Act {
    /// The activation of one pre-activation value `v`.
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Act::None => v,
            Act::Relu => v.max(0.0),
            Act::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        }
    }

    /// act'(pre-activation) written in terms of the output y = act(pre).
    pub fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            Act::None => 1.0,
            Act::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Act::Sigmoid => y * (1.0 - y),
        }
    }
}

/// Adam hyper-parameters (PyTorch's defaults apart from lr, which the caller sets).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamHyper {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Decoupled (AdamW) weight decay; 0 gives plain Adam.
    pub weight_decay: f32,
    /// 0: constant lr. T > 0: the lr of step s is lr (1 + cos(pi min(s, T) / T)) / 2, from lr
    /// at s = 0 down to 0 at T (`train --lr-schedule cosine`, T the run's total steps). The
    /// kernel forms it from the step state, so replayed steps of one submit each get theirs.
    pub cosine_steps: u32,
}

impl Default for AdamHyper {
    fn default() -> Self {
        AdamHyper {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            cosine_steps: 0,
        }
    }
}

/// How the decoder's output becomes a pixel mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeanKind {
    /// Gaussian decoder: the output is the mean.
    Identity,
    /// Bernoulli decoder: the output is a logit.
    Sigmoid,
}

impl MeanKind {
    /// The WGSL `flag` code: 0 identity, 1 sigmoid.
    pub fn flag(self) -> u32 {
        match self {
            MeanKind::Identity => 0,
            MeanKind::Sigmoid => 1,
        }
    }
}

/// The buffer a tensor lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buf {
    Act(ActId),
    /// The flat parameter buffer, laid out by `Layout`.
    Params,
    /// The flat gradient buffer, same layout.
    Grads,
}

/// `len` values of `buf` from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct T {
    pub buf: Buf,
    pub offset: usize,
    pub len: usize,
}

impl T {
    /// The tensor's elements in its buffer.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// One kernel call. Field names and meanings are those of the kernel's CPU function in
/// `cpu::ops` / `cpu::conv` (outputs first); shapes are per batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// x[r, :] = data[perm[cursor + r], :] / 255
    Gather {
        out: T,
        rows: usize,
        dim: usize,
    },
    /// dst[r, :] = src[r, :] + max_sigma u_r eps[r, :], u_r ~ U(0, 1) per row, eps ~ N(0, 1)
    /// per element, keyed by (seed, state.step, stream); not clipped (`shaders/corrupt.wgsl`)
    Corrupt {
        dst: T,
        src: T,
        rows: usize,
        dim: usize,
        max_sigma: f32,
        seed: u64,
        stream: u32,
    },
    /// y[m, n] = act(x[m, k] w[n, k]^T + b[n])
    Linear {
        y: T,
        x: T,
        w: T,
        b: T,
        m: usize,
        k: usize,
        n: usize,
        act: Act,
    },
    /// dx[m, k] (+)= dy[m, n] w[n, k], zeroed where the mask (a relu output) is <= 0
    LinearBackInput {
        dx: T,
        dy: T,
        w: T,
        mask: Option<T>,
        m: usize,
        k: usize,
        n: usize,
        accumulate: bool,
    },
    /// dw[n, k] = dy[m, n]^T x[m, k]
    LinearBackWeight {
        dw: T,
        dy: T,
        x: T,
        m: usize,
        k: usize,
        n: usize,
    },
    /// db[n] = sum over rows of dy[m, n]
    LinearBackBias {
        db: T,
        dy: T,
        m: usize,
        n: usize,
    },
    /// A layer's parameter gradients from one `dy`: [`Op::LinearBackWeight`] then
    /// [`Op::LinearBackBias`]. One dispatch where the linear variant gives the bias gradient with
    /// the weight gradient (the same sums in the same order), two elsewhere.
    LinearBackWeightBias {
        dw: T,
        db: T,
        dy: T,
        x: T,
        m: usize,
        k: usize,
        n: usize,
    },
    /// Conv2d or, with `g.transposed`, ConvTranspose2d: y = act(conv(x, w) + b)
    Conv {
        y: T,
        x: T,
        w: T,
        b: T,
        g: ConvGeom,
        act: Act,
    },
    ConvBackInput {
        dx: T,
        dy: T,
        w: T,
        mask: Option<T>,
        g: ConvGeom,
        accumulate: bool,
    },
    ConvBackWeight {
        dw: T,
        dy: T,
        x: T,
        g: ConvGeom,
    },
    /// db[o] = sum over batch and pixels of dy[:, o, :, :]
    ConvBackBias {
        db: T,
        dy: T,
        g: ConvGeom,
    },
    /// eps = Philox normals keyed by (seed, state.step, stream); z = mu + exp(logvar/2) eps
    ReparamForward {
        z: T,
        eps: T,
        mu: T,
        logvar: T,
        n: usize,
        seed: u64,
        stream: u32,
    },
    ReparamBackward {
        dmu: T,
        dlogvar: T,
        dz: T,
        eps: T,
        logvar: T,
        n: usize,
    },
    KlForward {
        kl: T,
        mu: T,
        logvar: T,
        n: usize,
    },
    /// dmu += scale mu; dlogvar += scale (exp(logvar) - 1) / 2
    KlBackward {
        dmu: T,
        dlogvar: T,
        mu: T,
        logvar: T,
        n: usize,
        scale: f32,
    },
    /// [`Op::ReparamForward`] then [`Op::KlForward`] on the same mu and logvar, as one pass
    /// (`reparam_kl_forward`): the training step's sampling.
    ReparamKlForward {
        z: T,
        eps: T,
        kl: T,
        mu: T,
        logvar: T,
        n: usize,
        seed: u64,
        stream: u32,
    },
    /// [`Op::ReparamBackward`] then [`Op::KlBackward`] (scaled by `scale`, the KL weight) onto
    /// the same dmu and dlogvar, as one pass (`reparam_kl_backward`).
    ReparamKlBackward {
        dmu: T,
        dlogvar: T,
        dz: T,
        eps: T,
        mu: T,
        logvar: T,
        n: usize,
        scale: f32,
    },
    BceForward {
        loss: T,
        grad: T,
        logits: T,
        x: T,
        n: usize,
        scale: f32,
    },
    GaussianForward {
        loss: T,
        dmean: T,
        dlogvar_elem: T,
        mean: T,
        x: T,
        logvar_x: T,
        n: usize,
        scale: f32,
    },
    SumRows {
        dst: T,
        src: T,
        rows: usize,
        cols: usize,
    },
    /// history[state.slot] = (sum recon_rows, sum kl_rows, recon + beta kl, rows)
    RecordLoss {
        recon_rows: T,
        kl_rows: T,
        rows: usize,
        beta: f32,
    },
    /// Adam over the first `n` values of the parameter buffer; t = state.step + 1.
    Adam {
        n: usize,
        hp: AdamHyper,
    },
    /// Adam on any tensors (restoration's latent codes); t = state.step + 1.
    AdamOn {
        p: T,
        g: T,
        m: T,
        v: T,
        n: usize,
        hp: AdamHyper,
    },
    /// The steps of restoration, see `shaders/restore.wgsl` and `cpu::restore`.
    DecoderMean {
        mean: T,
        out: T,
        n: usize,
        kind: MeanKind,
    },
    FitResidual {
        resid: T,
        pred: T,
        obs: T,
        w: T,
        n: usize,
    },
    MeanBackward {
        dout: T,
        back: T,
        mean: T,
        n: usize,
        kind: MeanKind,
    },
    Axpy {
        y: T,
        x: T,
        a: f32,
        b: f32,
        n: usize,
    },
    Mul {
        y: T,
        x: T,
        w: T,
        n: usize,
    },
    PixelVariance {
        var: T,
        mean: T,
        a: f32,
        b: f32,
        n: usize,
        kind: MeanKind,
    },
    Blend {
        x: T,
        obs: T,
        w: T,
        mean: T,
        var: T,
        n: usize,
    },
    ImputeFill {
        x: T,
        obs: T,
        w: T,
        mean: T,
        n: usize,
    },
    AddPrecision {
        q: T,
        p: T,
        var: T,
        floor: f32,
        n: usize,
    },
    RowDot {
        out: T,
        a: T,
        b: T,
        rows: usize,
        cols: usize,
    },
    CgStep {
        u: T,
        r: T,
        p: T,
        q: T,
        rr: T,
        pq: T,
        rows: usize,
        cols: usize,
    },
    CgDirection {
        p: T,
        r: T,
        rr_new: T,
        rr: T,
        rows: usize,
        cols: usize,
    },
    RepeatRows {
        dst: T,
        src: T,
        rows: usize,
        cols: usize,
        k: usize,
    },
    Neg2Loglik {
        out: T,
        obs: T,
        mean: T,
        var: T,
        w: T,
        n: usize,
    },
    LatentLogRatio {
        out: T,
        z: T,
        eps: T,
        n: usize,
    },
    ImportanceMean {
        out: T,
        x: T,
        fit: T,
        lat: T,
        images: usize,
        cols: usize,
        k: usize,
    },
    /// state.step += 1, state.cursor += batch, state.slot += 1
    Advance {
        batch: usize,
    },
}

impl Op {
    /// The ops a fused op stands for, in the order their effects apply; any other op alone.
    /// The CPU executor runs these; the GPU recorder dispatches a fused op as its one kernel
    /// (or, where the device's variant cannot fuse, as these).
    pub fn unfused(&self) -> Vec<Op> {
        match *self {
            Op::LinearBackWeightBias {
                dw,
                db,
                dy,
                x,
                m,
                k,
                n,
            } => vec![
                Op::LinearBackWeight { dw, dy, x, m, k, n },
                Op::LinearBackBias { db, dy, m, n },
            ],
            Op::ReparamKlForward {
                z,
                eps,
                kl,
                mu,
                logvar,
                n,
                seed,
                stream,
            } => vec![
                Op::ReparamForward {
                    z,
                    eps,
                    mu,
                    logvar,
                    n,
                    seed,
                    stream,
                },
                Op::KlForward { kl, mu, logvar, n },
            ],
            Op::ReparamKlBackward {
                dmu,
                dlogvar,
                dz,
                eps,
                mu,
                logvar,
                n,
                scale,
            } => vec![
                Op::ReparamBackward {
                    dmu,
                    dlogvar,
                    dz,
                    eps,
                    logvar,
                    n,
                },
                Op::KlBackward {
                    dmu,
                    dlogvar,
                    mu,
                    logvar,
                    n,
                    scale,
                },
            ],
            ref op => vec![op.clone()],
        }
    }
}
