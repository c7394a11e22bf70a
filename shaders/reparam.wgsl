// reparam.wgsl (compiled after rng.wgsl): the reparameterisation trick.
//   reparam_forward   eps ~ N(0, 1) from Philox keyed by (seed, step, element);
//                     z = mu + exp(logvar / 2) * eps; eps is kept for the backward pass.
//   reparam_backward  dmu = dz;  dlogvar = dz * eps * exp(logvar / 2) / 2   (overwrites)
//   reparam_kl_backward  both of the above and kl.wgsl's kl_backward in one pass (training:
//                     one dispatch instead of two, same sums in the same order)
//   philox_raw        raw Philox4x32-10 blocks for given counters and keys (known-answer tests)
// The step comes from the on-GPU step state, so many steps can be recorded in one submit.

struct ReparamParams {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
}

struct StepState {
    step: u32,
    cursor: u32,
    slot: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> mu: array<f32>;
@group(0) @binding(1) var<storage, read> logvar: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> eps: array<f32>;
@group(0) @binding(4) var<storage, read> state: StepState;
@group(0) @binding(5) var<uniform> rp: ReparamParams;

// One invocation per block of four elements (one Philox call).
@compute @workgroup_size(64)
fn reparam_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // read before any branch: one load for all lanes on llvmpipe, not a per-lane loop (adam.wgsl)
    let step = state.step;
    let g = gid.x + gid.y * nwg.x * 64u;
    if (g * 4u >= rp.n) {
        return;
    }
    let e = philox_normal4(vec4<u32>(g, step, rp.stream, 0u), vec2<u32>(rp.seed_lo, rp.seed_hi));
    for (var j = 0u; j < 4u; j += 1u) {
        let i = g * 4u + j;
        if (i < rp.n) {
            eps[i] = e[j];
            z[i] = mu[i] + exp(0.5 * logvar[i]) * e[j];
        }
    }
}

@group(0) @binding(6) var<storage, read_write> fkl: array<f32>;

// reparam_forward and kl_forward (kl.wgsl) in one pass: z and eps as reparam_forward forms
// them, kl[i] = -1/2 (1 + logvar - mu^2 - exp(logvar)) as kl_forward forms it.
@compute @workgroup_size(64)
fn reparam_kl_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // read before any branch: one load for all lanes on llvmpipe, not a per-lane loop (adam.wgsl)
    let step = state.step;
    let g = gid.x + gid.y * nwg.x * 64u;
    if (g * 4u >= rp.n) {
        return;
    }
    let e = philox_normal4(vec4<u32>(g, step, rp.stream, 0u), vec2<u32>(rp.seed_lo, rp.seed_hi));
    for (var j = 0u; j < 4u; j += 1u) {
        let i = g * 4u + j;
        if (i < rp.n) {
            let m = mu[i];
            let lv = logvar[i];
            eps[i] = e[j];
            z[i] = m + exp(0.5 * lv) * e[j];
            fkl[i] = -0.5 * (1.0 + lv - m * m - exp(lv));
        }
    }
}

@group(0) @binding(0) var<storage, read> bdz: array<f32>;
@group(0) @binding(1) var<storage, read> beps: array<f32>;
@group(0) @binding(2) var<storage, read> blogvar: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdmu: array<f32>;
@group(0) @binding(4) var<storage, read_write> bdlogvar: array<f32>;
@group(0) @binding(5) var<uniform> bp: ReparamParams;

@compute @workgroup_size(64)
fn reparam_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= bp.n) {
        return;
    }
    let d = bdz[i];
    bdmu[i] = d;
    bdlogvar[i] = d * beps[i] * 0.5 * exp(0.5 * blogvar[i]);
}

struct ReparamKlParams {
    n: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(5) var<uniform> kp_fused: ReparamKlParams;
@group(0) @binding(6) var<storage, read> bmu: array<f32>;

// dmu = dz, then += scale mu; dlogvar = dz eps exp(logvar/2)/2, then += scale (exp(logvar)-1)/2:
// reparam_backward followed by kl_backward, each value formed as those two kernels form it.
@compute @workgroup_size(64)
fn reparam_kl_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= kp_fused.n) {
        return;
    }
    let d = bdz[i];
    let lv = blogvar[i];
    let dl = d * beps[i] * 0.5 * exp(0.5 * lv);
    bdmu[i] = d + kp_fused.scale * bmu[i];
    bdlogvar[i] = dl + kp_fused.scale * 0.5 * (exp(lv) - 1.0);
}

// Input: 6 words per block (c0 c1 c2 c3 k0 k1); output: 4 words per block.
@group(0) @binding(0) var<storage, read> kat_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> kat_out: array<u32>;
@group(0) @binding(2) var<uniform> kp: ReparamParams;

@compute @workgroup_size(64)
fn philox_raw(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if (b >= kp.n) {
        return;
    }
    let s = b * 6u;
    let r = philox4x32_10(
        vec4<u32>(kat_in[s], kat_in[s + 1u], kat_in[s + 2u], kat_in[s + 3u]),
        vec2<u32>(kat_in[s + 4u], kat_in[s + 5u]),
    );
    kat_out[b * 4u] = r.x;
    kat_out[b * 4u + 1u] = r.y;
    kat_out[b * 4u + 2u] = r.z;
    kat_out[b * 4u + 3u] = r.w;
}
