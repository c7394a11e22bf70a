// adam.wgsl: Adam with bias correction and optional decoupled weight decay (AdamW), in place
// over the flat parameter buffer; grads, m and v share its layout (src/layout.rs).
//   t = state.step + 1
//   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//   p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr wd p
//   lr = hp.lr, or with cosine_steps T > 0: hp.lr (1 + cos(pi min(step, T) / T)) / 2, formed
//   here from the step state so that every step replayed from one submit gets its own
// 1 - b^t is formed as -expm1(t ln b) with ln b computed on the host in f64: the plain
// 1 - pow(b, t) cancels catastrophically for b2 = 0.999 (pow's few-ulp error on the GPU became
// a 1e-4 relative error in the step size at t = 3).

struct AdamParams {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    ln_beta1: f32,
    ln_beta2: f32,
    cosine_steps: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct StepState {
    step: u32,
    cursor: u32,
    slot: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> state: StepState;
@group(0) @binding(5) var<uniform> hp: AdamParams;

fn step_lr_at(step: u32) -> f32 {
    if (hp.cosine_steps == 0u) {
        return hp.lr;
    }
    let phase = f32(min(step, hp.cosine_steps)) / f32(hp.cosine_steps);
    return hp.lr * 0.5 * (1.0 + cos(3.14159265358979 * phase));
}

// 1 - exp(x) for x <= 0 without cancellation: a Taylor series where exp(x) is near 1.
fn one_minus_exp(x: f32) -> f32 {
    if (x < -0.5) {
        return 1.0 - exp(x);
    }
    // -(x + x^2/2! + ... + x^10/10!) in Horner form
    var acc = 1.0 / 3628800.0;
    acc = acc * x + 1.0 / 362880.0;
    acc = acc * x + 1.0 / 40320.0;
    acc = acc * x + 1.0 / 5040.0;
    acc = acc * x + 1.0 / 720.0;
    acc = acc * x + 1.0 / 120.0;
    acc = acc * x + 1.0 / 24.0;
    acc = acc * x + 1.0 / 6.0;
    acc = acc * x + 0.5;
    acc = acc * x + 1.0;
    return -(acc * x);
}

@compute @workgroup_size(64)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // the step state before any branch, as adam_step_vec4 explains
    let step = state.step;
    let t = f32(step + 1u);
    let lr = step_lr_at(step);
    let c1 = one_minus_exp(t * hp.ln_beta1);
    let c2 = one_minus_exp(t * hp.ln_beta2);
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= hp.n) {
        return;
    }
    let g = grads[i];
    let mi = hp.beta1 * m[i] + (1.0 - hp.beta1) * g;
    let vi = hp.beta2 * v[i] + (1.0 - hp.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let p = params[i];
    params[i] = p - lr * ((mi / c1) / (sqrt(vi / c2) + hp.eps) + hp.weight_decay * p);
}

// vec4, adam_step_vec4: the same update four elements per invocation (n a multiple of 4, which
// the builder checks): on llvmpipe every load and store of an invocation is a per-lane loop,
// so a vec4 costs little more than one float.
@group(0) @binding(0) var<storage, read_write> params4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grads4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn adam_step_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // The step state first, before any branch: on llvmpipe a load of one address for every
    // invocation is a single load only where no control flow can have turned lanes off, and a
    // per-lane loop after the bounds check below (measured: 1.64 -> 1.46 ms at 652k elements).
    let step = state.step;
    let t = f32(step + 1u);
    let lr = step_lr_at(step);
    let c1 = one_minus_exp(t * hp.ln_beta1);
    let c2 = one_minus_exp(t * hp.ln_beta2);
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= hp.n / 4u) {
        return;
    }
    let g = grads4[i];
    let mi = hp.beta1 * m4[i] + (1.0 - hp.beta1) * g;
    let vi = hp.beta2 * v4[i] + (1.0 - hp.beta2) * g * g;
    m4[i] = mi;
    v4[i] = vi;
    let p = params4[i];
    params4[i] = p - lr * ((mi / c1) / (sqrt(vi / c2) + hp.eps) + hp.weight_decay * p);
}
