// restore.wgsl: the element-wise and per-row steps of restoration with a VAE prior (the
// decoder, its backward to z, the blur and its adjoint run on linear.wgsl and conv.wgsl).
// Tensors are batches of `rows` images of `cols` values; `i` is the flat element index.
//   decoder_mean    mean = sigmoid(out) (Bernoulli decoder, flag 1) or out (Gaussian, flag 0)
//   fit_residual    resid = w (pred - obs)                 w: per-pixel precision, 0 = unknown
//   mean_backward   dout = back * dmean/dout               (mean (1 - mean) or 1)
//   axpy            y = a x + b y                           (copy, add, the prior's gradient)
//   mul             y = w x
//   pixel_variance  var = a mean (1 - mean) + b (flag 1) or a + b (flag 0)
//   blend           x = (var w obs + mean) / (var w + 1)   the per-pixel posterior mean
//   impute_fill     x = obs where w > 0, else mean
//   add_precision   q += p / max(var, a)
//   row_dot         out[r] = sum over c of a[r, c] b[r, c], c ascending
//   cg_step         alpha = rr / pq per row;  u += alpha p;  r -= alpha q
//   cg_direction    p = r + (rr_new / rr) p
// The last four are conjugate gradients on (A^T W A + V^-1) u = rhs, one system per row.

struct RestoreParams {
    n: u32,
    cols: u32,
    flag: u32,
    _pad0: u32,
    a: f32,
    b: f32,
    _pad1: f32,
    _pad2: f32,
}

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

// 1 / (1 + exp(-l)) without overflow for large |l| (the CPU twin computes the same form).
fn sigmoid(l: f32) -> f32 {
    if (l >= 0.0) {
        return 1.0 / (1.0 + exp(-l));
    }
    let e = exp(l);
    return e / (1.0 + e);
}

@group(0) @binding(0) var<storage, read> dm_out: array<f32>;
@group(0) @binding(1) var<storage, read_write> dm_mean: array<f32>;
@group(0) @binding(2) var<uniform> dm_p: RestoreParams;

@compute @workgroup_size(64)
fn decoder_mean(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= dm_p.n) {
        return;
    }
    let o = dm_out[i];
    dm_mean[i] = select(o, sigmoid(o), dm_p.flag == 1u);
}

@group(0) @binding(0) var<storage, read> fr_pred: array<f32>;
@group(0) @binding(1) var<storage, read> fr_obs: array<f32>;
@group(0) @binding(2) var<storage, read> fr_w: array<f32>;
@group(0) @binding(3) var<storage, read_write> fr_resid: array<f32>;
@group(0) @binding(4) var<uniform> fr_p: RestoreParams;

@compute @workgroup_size(64)
fn fit_residual(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= fr_p.n) {
        return;
    }
    fr_resid[i] = fr_w[i] * (fr_pred[i] - fr_obs[i]);
}

@group(0) @binding(0) var<storage, read> mb_back: array<f32>;
@group(0) @binding(1) var<storage, read> mb_mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> mb_dout: array<f32>;
@group(0) @binding(3) var<uniform> mb_p: RestoreParams;

@compute @workgroup_size(64)
fn mean_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= mb_p.n) {
        return;
    }
    let m = mb_mean[i];
    mb_dout[i] = mb_back[i] * select(1.0, m * (1.0 - m), mb_p.flag == 1u);
}

@group(0) @binding(0) var<storage, read> ax_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> ax_y: array<f32>;
@group(0) @binding(2) var<uniform> ax_p: RestoreParams;

@compute @workgroup_size(64)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= ax_p.n) {
        return;
    }
    // b = 0 must overwrite even a NaN left in y (a fresh buffer is zeros, a reused one is not)
    let keep = select(ax_p.b * ax_y[i], 0.0, ax_p.b == 0.0);
    ax_y[i] = ax_p.a * ax_x[i] + keep;
}

@group(0) @binding(0) var<storage, read> mu_x: array<f32>;
@group(0) @binding(1) var<storage, read> mu_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> mu_y: array<f32>;
@group(0) @binding(3) var<uniform> mu_p: RestoreParams;

@compute @workgroup_size(64)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= mu_p.n) {
        return;
    }
    mu_y[i] = mu_w[i] * mu_x[i];
}

@group(0) @binding(0) var<storage, read> pv_mean: array<f32>;
@group(0) @binding(1) var<storage, read_write> pv_var: array<f32>;
@group(0) @binding(2) var<uniform> pv_p: RestoreParams;

@compute @workgroup_size(64)
fn pixel_variance(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= pv_p.n) {
        return;
    }
    let m = pv_mean[i];
    pv_var[i] = pv_p.a * select(1.0, m * (1.0 - m), pv_p.flag == 1u) + pv_p.b;
}

@group(0) @binding(0) var<storage, read> bl_obs: array<f32>;
@group(0) @binding(1) var<storage, read> bl_w: array<f32>;
@group(0) @binding(2) var<storage, read> bl_mean: array<f32>;
@group(0) @binding(3) var<storage, read> bl_var: array<f32>;
@group(0) @binding(4) var<storage, read_write> bl_x: array<f32>;
@group(0) @binding(5) var<uniform> bl_p: RestoreParams;

@compute @workgroup_size(64)
fn blend(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= bl_p.n) {
        return;
    }
    let vw = bl_var[i] * bl_w[i];
    bl_x[i] = (vw * bl_obs[i] + bl_mean[i]) / (vw + 1.0);
}

@group(0) @binding(0) var<storage, read> if_obs: array<f32>;
@group(0) @binding(1) var<storage, read> if_w: array<f32>;
@group(0) @binding(2) var<storage, read> if_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> if_x: array<f32>;
@group(0) @binding(4) var<uniform> if_p: RestoreParams;

@compute @workgroup_size(64)
fn impute_fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= if_p.n) {
        return;
    }
    if_x[i] = select(if_mean[i], if_obs[i], if_w[i] > 0.0);
}

@group(0) @binding(0) var<storage, read> ap_p: array<f32>;
@group(0) @binding(1) var<storage, read> ap_var: array<f32>;
@group(0) @binding(2) var<storage, read_write> ap_q: array<f32>;
@group(0) @binding(3) var<uniform> ap_u: RestoreParams;

@compute @workgroup_size(64)
fn add_precision(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= ap_u.n) {
        return;
    }
    ap_q[i] += ap_p[i] / max(ap_var[i], ap_u.a);
}

@group(0) @binding(0) var<storage, read> rd_a: array<f32>;
@group(0) @binding(1) var<storage, read> rd_b: array<f32>;
@group(0) @binding(2) var<storage, read_write> rd_out: array<f32>;
@group(0) @binding(3) var<uniform> rd_p: RestoreParams;

// n = rows here: one invocation per row, summing its `cols` products in order.
@compute @workgroup_size(64)
fn row_dot(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat(gid, nwg);
    if (r >= rd_p.n) {
        return;
    }
    var acc = 0.0;
    let base = r * rd_p.cols;
    for (var c = 0u; c < rd_p.cols; c++) {
        acc += rd_a[base + c] * rd_b[base + c];
    }
    rd_out[r] = acc;
}

@group(0) @binding(0) var<storage, read> cs_p: array<f32>;
@group(0) @binding(1) var<storage, read> cs_q: array<f32>;
@group(0) @binding(2) var<storage, read> cs_rr: array<f32>;
@group(0) @binding(3) var<storage, read> cs_pq: array<f32>;
@group(0) @binding(4) var<storage, read_write> cs_u: array<f32>;
@group(0) @binding(5) var<storage, read_write> cs_r: array<f32>;
@group(0) @binding(6) var<uniform> cs_par: RestoreParams;

@compute @workgroup_size(64)
fn cg_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= cs_par.n) {
        return;
    }
    let row = i / cs_par.cols;
    let pq = cs_pq[row];
    // a converged row (p = 0) stays where it is
    let alpha = select(0.0, cs_rr[row] / pq, pq > 0.0);
    cs_u[i] += alpha * cs_p[i];
    cs_r[i] -= alpha * cs_q[i];
}

@group(0) @binding(0) var<storage, read> cd_r: array<f32>;
@group(0) @binding(1) var<storage, read> cd_rr_new: array<f32>;
@group(0) @binding(2) var<storage, read> cd_rr: array<f32>;
@group(0) @binding(3) var<storage, read_write> cd_p: array<f32>;
@group(0) @binding(4) var<uniform> cd_par: RestoreParams;

@compute @workgroup_size(64)
fn cg_direction(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= cd_par.n) {
        return;
    }
    let row = i / cd_par.cols;
    let rr = cd_rr[row];
    let beta = select(0.0, cd_rr_new[row] / rr, rr > 0.0);
    cd_p[i] = cd_r[i] + beta * cd_p[i];
}

// Importance-weighted posterior mean over K codes per image around the MAP code (rows b K + k):
//   repeat_rows       dst[r, c] = src[r / k, c]                    (flag = k)
//   neg2_loglik       out = (obs - mean)^2 / (var + 1/w) + ln(var + 1/w) where w > 0, else 0
//   latent_log_ratio  out = z^2 - eps^2        (-2 ln p(z) + 2 ln q(z), up to a constant)
//   importance_mean   out[b, c] = sum over k of softmax_k(-(fit + lat) / 2) x[b K + k, c]

@group(0) @binding(0) var<storage, read> rp_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> rp_dst: array<f32>;
@group(0) @binding(2) var<uniform> rp_p: RestoreParams;

@compute @workgroup_size(64)
fn repeat_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= rp_p.n) {
        return;
    }
    let r = i / rp_p.cols;
    let c = i % rp_p.cols;
    rp_dst[i] = rp_src[(r / rp_p.flag) * rp_p.cols + c];
}

@group(0) @binding(0) var<storage, read> nl_obs: array<f32>;
@group(0) @binding(1) var<storage, read> nl_mean: array<f32>;
@group(0) @binding(2) var<storage, read> nl_var: array<f32>;
@group(0) @binding(3) var<storage, read> nl_w: array<f32>;
@group(0) @binding(4) var<storage, read_write> nl_out: array<f32>;
@group(0) @binding(5) var<uniform> nl_p: RestoreParams;

@compute @workgroup_size(64)
fn neg2_loglik(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= nl_p.n) {
        return;
    }
    let w = nl_w[i];
    if (w <= 0.0) {
        nl_out[i] = 0.0;
        return;
    }
    let s = nl_var[i] + 1.0 / w;
    let d = nl_obs[i] - nl_mean[i];
    nl_out[i] = d * d / s + log(s);
}

@group(0) @binding(0) var<storage, read> lr_z: array<f32>;
@group(0) @binding(1) var<storage, read> lr_eps: array<f32>;
@group(0) @binding(2) var<storage, read_write> lr_out: array<f32>;
@group(0) @binding(3) var<uniform> lr_p: RestoreParams;

@compute @workgroup_size(64)
fn latent_log_ratio(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= lr_p.n) {
        return;
    }
    let z = lr_z[i];
    let e = lr_eps[i];
    lr_out[i] = z * z - e * e;
}

@group(0) @binding(0) var<storage, read> im_x: array<f32>;
@group(0) @binding(1) var<storage, read> im_fit: array<f32>;
@group(0) @binding(2) var<storage, read> im_lat: array<f32>;
@group(0) @binding(3) var<storage, read_write> im_out: array<f32>;
@group(0) @binding(4) var<uniform> im_p: RestoreParams;

// n = images * cols; flag = k samples per image.
@compute @workgroup_size(64)
fn importance_mean(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i >= im_p.n) {
        return;
    }
    let b = i / im_p.cols;
    let c = i % im_p.cols;
    let k = im_p.flag;
    var top = -3.0e38;
    for (var j = 0u; j < k; j++) {
        top = max(top, -0.5 * (im_fit[b * k + j] + im_lat[b * k + j]));
    }
    var num = 0.0;
    var den = 0.0;
    for (var j = 0u; j < k; j++) {
        let wt = exp(-0.5 * (im_fit[b * k + j] + im_lat[b * k + j]) - top);
        num += wt * im_x[(b * k + j) * im_p.cols + c];
        den += wt;
    }
    im_out[i] = num / den;
}
