// kl.wgsl: KL(q(z|x) || N(0, I)) per element and its gradient.
//   kl_forward   kl[i] = -1/2 (1 + logvar - mu^2 - exp(logvar))   (summed by reduce.wgsl)
//   kl_backward  dmu += scale * mu;  dlogvar += scale * (exp(logvar) - 1) / 2
// scale = beta times the loss's gradient scale; backward accumulates onto the reparam gradient.

struct KlParams {
    n: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> mu: array<f32>;
@group(0) @binding(1) var<storage, read> logvar: array<f32>;
@group(0) @binding(2) var<storage, read_write> kl: array<f32>;
@group(0) @binding(3) var<uniform> p: KlParams;

@compute @workgroup_size(64)
fn kl_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    let m = mu[i];
    let lv = logvar[i];
    kl[i] = -0.5 * (1.0 + lv - m * m - exp(lv));
}

@group(0) @binding(0) var<storage, read> gmu: array<f32>;
@group(0) @binding(1) var<storage, read> glogvar: array<f32>;
@group(0) @binding(2) var<storage, read_write> dmu: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogvar: array<f32>;
@group(0) @binding(4) var<uniform> gp: KlParams;

@compute @workgroup_size(64)
fn kl_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= gp.n) {
        return;
    }
    dmu[i] += gp.scale * gmu[i];
    dlogvar[i] += gp.scale * 0.5 * (exp(glogvar[i]) - 1.0);
}
