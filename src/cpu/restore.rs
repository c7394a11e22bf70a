//! CPU twins of `shaders/restore.wgsl`: the element-wise and per-row steps of restoration.
//! Tensors are batches of rows of `cols` values; see the shader's header for the formulas.

pub use crate::model::op::MeanKind;

/// The same overflow-free form as the shader's `sigmoid`.
fn sigmoid(l: f32) -> f32 {
    if l >= 0.0 {
        1.0 / (1.0 + (-l).exp())
    } else {
        let e = l.exp();
        e / (1.0 + e)
    }
}

/// mean[i] = sigmoid(out[i]) or out[i]
pub fn decoder_mean(mean: &mut [f32], out: &[f32], n: usize, kind: MeanKind) {
    for i in 0..n {
        mean[i] = match kind {
            MeanKind::Sigmoid => sigmoid(out[i]),
            MeanKind::Identity => out[i],
        };
    }
}

/// resid[i] = w[i] (pred[i] - obs[i])
pub fn fit_residual(resid: &mut [f32], pred: &[f32], obs: &[f32], w: &[f32], n: usize) {
    for i in 0..n {
        resid[i] = w[i] * (pred[i] - obs[i]);
    }
}

/// dout[i] = back[i] * dmean/dout: mean (1 - mean) for a sigmoid, 1 otherwise.
pub fn mean_backward(dout: &mut [f32], back: &[f32], mean: &[f32], n: usize, kind: MeanKind) {
    for i in 0..n {
        let m = mean[i];
        dout[i] = back[i]
            * match kind {
                MeanKind::Sigmoid => m * (1.0 - m),
                MeanKind::Identity => 1.0,
            };
    }
}

/// y[i] = a x[i] + b y[i]; b = 0 overwrites y whatever it held.
pub fn axpy(y: &mut [f32], x: &[f32], a: f32, b: f32, n: usize) {
    for i in 0..n {
        let keep = if b == 0.0 { 0.0 } else { b * y[i] };
        y[i] = a * x[i] + keep;
    }
}

/// y[i] = w[i] x[i]
pub fn mul(y: &mut [f32], x: &[f32], w: &[f32], n: usize) {
    for i in 0..n {
        y[i] = w[i] * x[i];
    }
}

/// var[i] = a mean (1 - mean) + b (Bernoulli) or a + b (Gaussian: a constant variance).
pub fn pixel_variance(var: &mut [f32], mean: &[f32], a: f32, b: f32, n: usize, kind: MeanKind) {
    for i in 0..n {
        let m = mean[i];
        let shape = match kind {
            MeanKind::Sigmoid => m * (1.0 - m),
            MeanKind::Identity => 1.0,
        };
        var[i] = a * shape + b;
    }
}

/// x[i] = (var w obs + mean) / (var w + 1): the posterior mean of a pixel with prior
/// N(mean, var) observed with precision w (w = 0: unknown, the prior mean).
pub fn blend(x: &mut [f32], obs: &[f32], w: &[f32], mean: &[f32], var: &[f32], n: usize) {
    for i in 0..n {
        let vw = var[i] * w[i];
        x[i] = (vw * obs[i] + mean[i]) / (vw + 1.0);
    }
}

/// x[i] = obs[i] where w[i] > 0, else mean[i]
pub fn impute_fill(x: &mut [f32], obs: &[f32], w: &[f32], mean: &[f32], n: usize) {
    for i in 0..n {
        x[i] = if w[i] > 0.0 { obs[i] } else { mean[i] };
    }
}

/// q[i] += p[i] / max(var[i], floor)
pub fn add_precision(q: &mut [f32], p: &[f32], var: &[f32], floor: f32, n: usize) {
    for i in 0..n {
        q[i] += p[i] / var[i].max(floor);
    }
}

/// out[r] = sum over c (ascending) of a[r, c] b[r, c]
pub fn row_dot(out: &mut [f32], a: &[f32], b: &[f32], rows: usize, cols: usize) {
    for (r, o) in out.iter_mut().enumerate().take(rows) {
        let mut acc = 0.0f32;
        for c in r * cols..(r + 1) * cols {
            acc += a[c] * b[c];
        }
        *o = acc;
    }
}

/// Per row: alpha = rr / pq (0 where pq <= 0); u += alpha p; r -= alpha q.
#[allow(clippy::too_many_arguments)]
pub fn cg_step(
    u: &mut [f32],
    r: &mut [f32],
    p: &[f32],
    q: &[f32],
    rr: &[f32],
    pq: &[f32],
    rows: usize,
    cols: usize,
) {
    for i in 0..rows * cols {
        let row = i / cols;
        let alpha = if pq[row] > 0.0 {
            rr[row] / pq[row]
        } else {
            0.0
        };
        u[i] += alpha * p[i];
        r[i] -= alpha * q[i];
    }
}

/// Per row: p = r + (rr_new / rr) p (beta 0 where rr <= 0).
pub fn cg_direction(
    p: &mut [f32],
    r: &[f32],
    rr_new: &[f32],
    rr: &[f32],
    rows: usize,
    cols: usize,
) {
    for i in 0..rows * cols {
        let row = i / cols;
        let beta = if rr[row] > 0.0 {
            rr_new[row] / rr[row]
        } else {
            0.0
        };
        p[i] = r[i] + beta * p[i];
    }
}

/// dst[r, c] = src[r / k, c] for `rows` source rows, each repeated `k` times.
pub fn repeat_rows(dst: &mut [f32], src: &[f32], rows: usize, cols: usize, k: usize) {
    for (i, d) in dst.iter_mut().enumerate().take(rows * k * cols) {
        let (r, c) = (i / cols, i % cols);
        *d = src[(r / k) * cols + c];
    }
}

/// out = (obs - mean)^2 / (var + 1/w) + ln(var + 1/w) where w > 0, else 0: minus twice the
/// log-likelihood of a pixel whose value is N(mean, var) seen with noise of precision w.
pub fn neg2_loglik(out: &mut [f32], obs: &[f32], mean: &[f32], var: &[f32], w: &[f32], n: usize) {
    for i in 0..n {
        out[i] = if w[i] <= 0.0 {
            0.0
        } else {
            let s = var[i] + 1.0 / w[i];
            let d = obs[i] - mean[i];
            d * d / s + s.ln()
        };
    }
}

/// out = z^2 - eps^2
pub fn latent_log_ratio(out: &mut [f32], z: &[f32], eps: &[f32], n: usize) {
    for i in 0..n {
        out[i] = z[i] * z[i] - eps[i] * eps[i];
    }
}

/// out[b, c] = sum over j < k of softmax_j(-(fit + lat)[b k + j] / 2) x[b k + j, c]
pub fn importance_mean(
    out: &mut [f32],
    x: &[f32],
    fit: &[f32],
    lat: &[f32],
    images: usize,
    cols: usize,
    k: usize,
) {
    for (i, o) in out.iter_mut().enumerate().take(images * cols) {
        let (b, c) = (i / cols, i % cols);
        let lw = |j: usize| -0.5 * (fit[b * k + j] + lat[b * k + j]);
        let top = (0..k).map(lw).fold(-3.0e38f32, f32::max);
        let (mut num, mut den) = (0.0f32, 0.0f32);
        for j in 0..k {
            let wt = (lw(j) - top).exp();
            num += wt * x[(b * k + j) * cols + c];
            den += wt;
        }
        *o = num / den;
    }
}
