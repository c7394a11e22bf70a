// corrupt.wgsl (compiled after rng.wgsl): the denoising VAE's input corruption (Im et al. 2017).
//   corrupt_noise  dst[r, c] = src[r, c] + sigma_r * eps[r, c], with
//                  sigma_r = max_sigma * u_r, u_r = philox_u01 of lane x of the block at
//                  counter (r, step, stream, 1), and eps[i] lane i % 4 of the normal block at
//                  counter (i / 4, step, stream, 0): the fourth counter word keeps the per-row
//                  draws apart from the per-pixel ones. Values are not clipped to [0, 1]: the
//                  noise model is additive Gaussian, as in the photos it learns to undo.
// The step comes from the on-GPU step state, so many steps can be recorded in one submit and
// a resumed run draws the same noise. The CPU twin is `cpu::corrupt::corrupt_noise`.

struct CorruptParams {
    rows: u32,
    dim: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    max_sigma: f32,
    _pad0: u32,
    _pad1: u32,
}

struct StepState {
    step: u32,
    cursor: u32,
    slot: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> state: StepState;
@group(0) @binding(3) var<uniform> cp: CorruptParams;

fn row_sigma(r: u32, step: u32, key: vec2<u32>) -> f32 {
    let b = philox4x32_10(vec4<u32>(r, step, cp.stream, 1u), key);
    return cp.max_sigma * philox_u01(b.x);
}

// One invocation per block of four elements (one Philox call for the normals).
@compute @workgroup_size(64)
fn corrupt_noise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // read before any branch: one load for all lanes on llvmpipe, not a per-lane loop (adam.wgsl)
    let step = state.step;
    let g = gid.x + gid.y * nwg.x * 64u;
    let n = cp.rows * cp.dim;
    if (g * 4u >= n) {
        return;
    }
    let key = vec2<u32>(cp.seed_lo, cp.seed_hi);
    let e = philox_normal4(vec4<u32>(g, step, cp.stream, 0u), key);
    // the four elements span at most two rows unless dim < 4: recompute only on a row change
    var row = (g * 4u) / cp.dim;
    var sigma = row_sigma(row, step, key);
    for (var j = 0u; j < 4u; j += 1u) {
        let i = g * 4u + j;
        if (i < n) {
            let r = i / cp.dim;
            if (r != row) {
                row = r;
                sigma = row_sigma(row, step, key);
            }
            dst[i] = src[i] + sigma * e[j];
        }
    }
}
