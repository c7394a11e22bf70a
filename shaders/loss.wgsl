// loss.wgsl: reconstruction losses from the decoder's raw outputs, per element, with gradients.
//
//   bce_forward       Bernoulli likelihood, BCE-with-logits in the stable form
//                     loss = max(l, 0) - x l + log(1 + exp(-|l|));   dl = scale (sigmoid(l) - x)
//   gaussian_forward  Gaussian likelihood with mean = the raw output (identity link) and one
//                     log-variance s shared by all pixels (read from a 1-element buffer: a fixed
//                     constant, or a trained parameter):
//                     loss = 1/2 ((x - mean)^2 exp(-s) + s + ln 2 pi)
//                     dmean = scale (mean - x) exp(-s);   ds_i = scale/2 (1 - (x - mean)^2 exp(-s))
//                     ds_i is written per element; reduce.wgsl sums it when s is learned.
//   record_loss       sums per-row reconstruction and KL totals in row order into the loss
//                     history slot named by the step state: (recon, kl, recon + beta kl, rows).
// `scale` is d(objective)/d(summed loss): 1 for the summed loss that pytorch/examples/vae
// back-propagates.

struct LossParams {
    n: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> target_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<uniform> p: LossParams;

fn stable_sigmoid(l: f32) -> f32 {
    if (l >= 0.0) {
        return 1.0 / (1.0 + exp(-l));
    }
    let e = exp(l);
    return e / (1.0 + e);
}

@compute @workgroup_size(64)
fn bce_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    let l = logits[i];
    let x = target_x[i];
    loss[i] = max(l, 0.0) - x * l + log(1.0 + exp(-abs(l)));
    grad[i] = p.scale * (stable_sigmoid(l) - x);
}

// bce_forward_vec4: the same four elements per invocation (n a multiple of 4, which the
// builder checks); a quarter of llvmpipe's per-lane load and store loops. Both sigmoid forms are
// evaluated and the stable one selected, as the branch above picks it.
@group(0) @binding(0) var<storage, read> logits4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> target_x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> loss4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> grad4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn bce_forward_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n / 4u) {
        return;
    }
    let l = logits4[i];
    let x = target_x4[i];
    loss4[i] = max(l, vec4<f32>(0.0)) - x * l + log(1.0 + exp(-abs(l)));
    let e = exp(l);
    let sig = select(e / (1.0 + e), 1.0 / (1.0 + exp(-l)), l >= vec4<f32>(0.0));
    grad4[i] = p.scale * (sig - x);
}

@group(0) @binding(0) var<storage, read> gmean: array<f32>;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read_write> gloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> gdmean: array<f32>;
@group(0) @binding(4) var<storage, read> glogvar: array<f32>;
@group(0) @binding(5) var<storage, read_write> gdlogvar: array<f32>;
@group(0) @binding(6) var<uniform> gp: LossParams;

const LN_2PI: f32 = 1.8378771;

@compute @workgroup_size(64)
fn gaussian_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= gp.n) {
        return;
    }
    let s = glogvar[0];
    let inv_var = exp(-s);
    let d = gmean[i] - gx[i];
    gloss[i] = 0.5 * (d * d * inv_var + s + LN_2PI);
    gdmean[i] = gp.scale * d * inv_var;
    gdlogvar[i] = gp.scale * 0.5 * (1.0 - d * d * inv_var);
}

struct RecordParams {
    rows: u32,
    beta: f32,
    _pad0: u32,
    _pad1: u32,
}

struct StepState {
    step: u32,
    cursor: u32,
    slot: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> recon_rows: array<f32>;
@group(0) @binding(1) var<storage, read> kl_rows: array<f32>;
@group(0) @binding(2) var<storage, read_write> history: array<f32>;
@group(0) @binding(3) var<storage, read> state: StepState;
@group(0) @binding(4) var<uniform> rec: RecordParams;

// One invocation: a batch has at most a few thousand rows and this runs once per step.
@compute @workgroup_size(1)
fn record_loss() {
    var recon = 0.0;
    var kl = 0.0;
    for (var r = 0u; r < rec.rows; r += 1u) {
        recon += recon_rows[r];
        kl += kl_rows[r];
    }
    let s = state.slot * 4u;
    history[s] = recon;
    history[s + 1u] = kl;
    history[s + 2u] = recon + rec.beta * kl;
    history[s + 3u] = f32(rec.rows);
}
