// activation.wgsl: backward of a fused activation, dZ = dY * act'(Y), from the layer's output Y.
//   act 1 relu: act'(Y) = [Y > 0];   act 2 sigmoid: act'(Y) = Y (1 - Y).
// (relu is usually folded into linear.wgsl's backward_input instead; this kernel covers the
// rest.) Flat index = x + y * (groups in x) * 64, so more than 65535 workgroups fit in 2-D.

struct ActParams {
    n: u32,
    act: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<f32>;
@group(0) @binding(3) var<uniform> p: ActParams;

@compute @workgroup_size(64)
fn act_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    var d = 1.0;
    if (p.act == 1u) {
        d = select(0.0, 1.0, y[i] > 0.0);
    } else if (p.act == 2u) {
        d = y[i] * (1.0 - y[i]);
    }
    dz[i] = dy[i] * d;
}
