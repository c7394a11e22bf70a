//! Reference kernels. Each mirrors the WGSL kernel of the same name in `shaders/`, including
//! summation order where the kernel fixes one, so GPU and CPU differ only by rounding.

use crate::cpu::rng;
pub use crate::model::op::{Act, AdamHyper};

/// `y[m, n] = act(x[m, k] w[n, k]^T + b[n])`; k summed in order.
#[allow(clippy::too_many_arguments)]
pub fn linear_forward(
    y: &mut [f32],
    x: &[f32],
    w: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    act: Act,
) {
    for r in 0..m {
        let xr = &x[r * k..(r + 1) * k];
        for c in 0..n {
            let wc = &w[c * k..(c + 1) * k];
            let mut acc = 0.0f32;
            for j in 0..k {
                acc += xr[j] * wc[j];
            }
            y[r * n + c] = act.apply(acc + b[c]);
        }
    }
}

/// dx[m, k] (+)= dy[m, n] w[n, k], zeroed where relu_mask <= 0 (the input of a relu layer's
/// consumer is that layer's output, so this folds relu's backward into the matmul).
#[allow(clippy::too_many_arguments)]
pub fn linear_backward_input(
    dx: &mut [f32],
    dy: &[f32],
    w: &[f32],
    relu_mask: Option<&[f32]>,
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    for r in 0..m {
        for c in 0..k {
            let mut acc = 0.0f32;
            for j in 0..n {
                acc += dy[r * n + j] * w[j * k + c];
            }
            let i = r * k + c;
            if relu_mask.is_some_and(|mask| mask[i] <= 0.0) {
                acc = 0.0;
            }
            dx[i] = if accumulate { dx[i] + acc } else { acc };
        }
    }
}

/// dw[n, k] (+)= dy[m, n]^T x[m, k]; rows summed in order.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward_weight(
    dw: &mut [f32],
    dy: &[f32],
    x: &[f32],
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    for o in 0..n {
        for c in 0..k {
            let mut acc = 0.0f32;
            for r in 0..m {
                acc += dy[r * n + o] * x[r * k + c];
            }
            let i = o * k + c;
            dw[i] = if accumulate { dw[i] + acc } else { acc };
        }
    }
}

/// `db[n] (+)= sum over rows of dy[m, n]`; rows summed in order.
pub fn linear_backward_bias(db: &mut [f32], dy: &[f32], m: usize, n: usize, accumulate: bool) {
    for o in 0..n {
        let mut acc = 0.0f32;
        for r in 0..m {
            acc += dy[r * n + o];
        }
        db[o] = if accumulate { db[o] + acc } else { acc };
    }
}

/// `dz[i] = dy[i] act'(y[i])`, from the layer's output y.
pub fn act_backward(dz: &mut [f32], dy: &[f32], y: &[f32], n: usize, act: Act) {
    for i in 0..n {
        dz[i] = dy[i] * act.derivative_from_output(y[i]);
    }
}

/// `eps[i]` = normal (seed, step, stream, i); z = mu + exp(logvar / 2) eps
#[allow(clippy::too_many_arguments)]
pub fn reparam_forward(
    z: &mut [f32],
    eps: &mut [f32],
    mu: &[f32],
    logvar: &[f32],
    step: u32,
    n: usize,
    seed: u64,
    stream: u32,
) {
    let key = rng::seed_key(seed);
    for g in 0..n.div_ceil(4) {
        let e = rng::normal4([g as u32, step, stream, 0], key);
        for (j, &ej) in e.iter().enumerate() {
            let i = g * 4 + j;
            if i < n {
                eps[i] = ej;
                z[i] = mu[i] + (0.5 * logvar[i]).exp() * ej;
            }
        }
    }
}

/// dmu = dz; dlogvar = dz eps exp(logvar / 2) / 2
pub fn reparam_backward(
    dmu: &mut [f32],
    dlogvar: &mut [f32],
    dz: &[f32],
    eps: &[f32],
    logvar: &[f32],
    n: usize,
) {
    for i in 0..n {
        dmu[i] = dz[i];
        dlogvar[i] = dz[i] * eps[i] * 0.5 * (0.5 * logvar[i]).exp();
    }
}

/// `kl[i] = -1/2 (1 + logvar - mu^2 - exp(logvar))`
pub fn kl_forward(kl: &mut [f32], mu: &[f32], logvar: &[f32], n: usize) {
    for i in 0..n {
        kl[i] = -0.5 * (1.0 + logvar[i] - mu[i] * mu[i] - logvar[i].exp());
    }
}

/// dmu += scale mu; dlogvar += scale (exp(logvar) - 1) / 2
pub fn kl_backward(
    dmu: &mut [f32],
    dlogvar: &mut [f32],
    mu: &[f32],
    logvar: &[f32],
    n: usize,
    scale: f32,
) {
    for i in 0..n {
        dmu[i] += scale * mu[i];
        dlogvar[i] += scale * 0.5 * (logvar[i].exp() - 1.0);
    }
}

fn stable_sigmoid(l: f32) -> f32 {
    if l >= 0.0 {
        1.0 / (1.0 + (-l).exp())
    } else {
        let e = l.exp();
        e / (1.0 + e)
    }
}

/// loss = max(l, 0) - x l + log(1 + exp(-|l|));  grad = scale (sigmoid(l) - x)
pub fn bce_forward(
    loss: &mut [f32],
    grad: &mut [f32],
    logits: &[f32],
    x: &[f32],
    n: usize,
    scale: f32,
) {
    for i in 0..n {
        let l = logits[i];
        loss[i] = l.max(0.0) - x[i] * l + (1.0 + (-l.abs()).exp()).ln();
        grad[i] = scale * (stable_sigmoid(l) - x[i]);
    }
}

/// ln(2 pi), the constant term of the Gaussian log-likelihood (`shaders/loss.wgsl` has the same).
pub const LN_2PI: f32 = 1.837_877_1;

/// loss = 1/2 ((x - mean)^2 e^-s + s + ln 2 pi) with `s = logvar_x[0]`;
/// dmean = scale (mean - x) e^-s;  dlogvar_elem = scale/2 (1 - (x - mean)^2 e^-s)
#[allow(clippy::too_many_arguments)]
pub fn gaussian_forward(
    loss: &mut [f32],
    dmean: &mut [f32],
    dlogvar_elem: &mut [f32],
    mean: &[f32],
    x: &[f32],
    logvar_x: &[f32],
    n: usize,
    scale: f32,
) {
    let s = logvar_x[0];
    let inv_var = (-s).exp();
    for i in 0..n {
        let d = mean[i] - x[i];
        loss[i] = 0.5 * (d * d * inv_var + s + LN_2PI);
        dmean[i] = scale * d * inv_var;
        dlogvar_elem[i] = scale * 0.5 * (1.0 - d * d * inv_var);
    }
}

/// history[4 slot..4 slot + 4] = (recon, kl, recon + beta kl, rows), rows summed in order.
pub fn record_loss(
    history: &mut [f32],
    recon_rows: &[f32],
    kl_rows: &[f32],
    slot: usize,
    rows: usize,
    beta: f32,
) {
    let mut recon = 0.0f32;
    let mut kl = 0.0f32;
    for r in 0..rows {
        recon += recon_rows[r];
        kl += kl_rows[r];
    }
    history[4 * slot..4 * slot + 4].copy_from_slice(&[recon, kl, recon + beta * kl, rows as f32]);
}

/// Width of the reduction tree in `reduce.wgsl`.
pub const REDUCE_WG: usize = 64;

/// `dst[r] = sum of src[r, ..cols]`, in reduce.wgsl's order: 64 strided partial sums, then a
/// halving tree.
pub fn sum_rows(dst: &mut [f32], src: &[f32], rows: usize, cols: usize) {
    for r in 0..rows {
        let row = &src[r * cols..(r + 1) * cols];
        let mut partial = [0.0f32; REDUCE_WG];
        for (t, p) in partial.iter_mut().enumerate() {
            let mut c = t;
            while c < cols {
                *p += row[c];
                c += REDUCE_WG;
            }
        }
        let mut h = REDUCE_WG / 2;
        while h > 0 {
            for t in 0..h {
                partial[t] += partial[t + h];
            }
            h /= 2;
        }
        dst[r] = partial[0];
    }
}

/// 1 - exp(x) for x <= 0, as `adam.wgsl` forms it (Taylor series near 0, no cancellation).
pub fn one_minus_exp(x: f32) -> f32 {
    if x < -0.5 {
        return 1.0 - x.exp();
    }
    let inv_factorials = [
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
    ];
    let mut acc = inv_factorials[0];
    for c in &inv_factorials[1..] {
        acc = acc * x + c;
    }
    -(acc * x)
}

impl AdamHyper {
    /// ln(beta1), ln(beta2) in f64, rounded once: the kernel forms 1 - beta^t from them.
    pub fn ln_betas(&self) -> (f32, f32) {
        (
            (self.beta1 as f64).ln() as f32,
            (self.beta2 as f64).ln() as f32,
        )
    }

    /// The learning rate of the update at `step` (t = step + 1), as `adam.wgsl` forms it.
    pub fn lr_at(&self, step: u32) -> f32 {
        if self.cosine_steps == 0 {
            return self.lr;
        }
        let phase = step.min(self.cosine_steps) as f32 / self.cosine_steps as f32;
        self.lr * 0.5 * (1.0 + (std::f32::consts::PI * phase).cos())
    }
}

/// Adam with bias correction at step t = step + 1, decoupled weight decay, in place.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    step: u32,
    n: usize,
    hp: &AdamHyper,
) {
    let t = (step + 1) as f32;
    let (ln_b1, ln_b2) = hp.ln_betas();
    let c1 = one_minus_exp(t * ln_b1);
    let c2 = one_minus_exp(t * ln_b2);
    let lr = hp.lr_at(step);
    for i in 0..n {
        let g = grads[i];
        m[i] = hp.beta1 * m[i] + (1.0 - hp.beta1) * g;
        v[i] = hp.beta2 * v[i] + (1.0 - hp.beta2) * g * g;
        let m_hat = m[i] / c1;
        let v_hat = v[i] / c2;
        let p = params[i];
        params[i] = p - lr * (m_hat / (v_hat.sqrt() + hp.eps) + hp.weight_decay * p);
    }
}

/// out[r, c] = data[perm[cursor + r] * dim + c] / 255
pub fn gather_batch(
    out: &mut [f32],
    data: &[u8],
    perm: &[u32],
    cursor: usize,
    rows: usize,
    dim: usize,
) {
    for r in 0..rows {
        let img = perm[cursor + r] as usize;
        for c in 0..dim {
            out[r * dim + c] = data[img * dim + c] as f32 * (1.0 / 255.0);
        }
    }
}

/// `advance_step`: after a step, the step counter (state[0]), the data cursor (state[1]) and
/// the slot of the step's loss record (state[2]) move on, the cursor by one batch.
pub fn advance_step(state: &mut [u32], batch: usize) {
    state[0] += 1;
    state[1] += batch as u32;
    state[2] += 1;
}
