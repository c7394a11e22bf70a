// reduce_sg.wgsl, compiled after reduce.wgsl: sum_rows without barriers where the device has
// subgroups of 8 or more lanes (reduce.wgsl's kernel waits at 7 barriers per row, each a
// thread switch on llvmpipe). The same additions in the same order as reduce.wgsl and
// src/cpu/ops.rs::sum_rows: 64 partials, partial t summing columns t, t + 64, ... in order,
// then the binary tree (t += t + h for h = 32, 16, ..., 1). One row per 8-invocation
// workgroup; lane l keeps partials 4l..4l+3 and 32 + 4l..32 + 4l + 3 as two vec4, so the
// first tree level is its own and the rest are subgroup broadcasts. Needs cols to be a
// multiple of 4 (the builder checks).

// the rows as quads (dst and p as reduce.wgsl declares them)
@group(0) @binding(0) var<storage, read> src4: array<vec4<f32>>;

@compute @workgroup_size(8)
fn sum_rows_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let row = wid.x + wid.y * nwg.x;
    let cols4 = p.cols / 4u;
    // rows past the end read the last row (no branch around the broadcasts) and store nothing
    let base = min(row, p.rows - 1u) * cols4;
    var a = vec4<f32>(0.0);
    var b = vec4<f32>(0.0);
    for (var c = 0u; c < cols4; c += 16u) {
        let qa = c + lane;
        let qb = c + 8u + lane;
        // a quad is wholly in the row or past it; past it adds nothing (+0 leaves a sum as is)
        a += select(vec4<f32>(0.0), src4[base + min(qa, cols4 - 1u)], qa < cols4);
        b += select(vec4<f32>(0.0), src4[base + min(qb, cols4 - 1u)], qb < cols4);
    }
    // h = 32: partial t += partial t + 32, within the lane
    let s = a + b;
    // h = 16: lanes l and l + 4
    let q0 = subgroupBroadcast(s, 0u) + subgroupBroadcast(s, 4u);
    let q1 = subgroupBroadcast(s, 1u) + subgroupBroadcast(s, 5u);
    let q2 = subgroupBroadcast(s, 2u) + subgroupBroadcast(s, 6u);
    let q3 = subgroupBroadcast(s, 3u) + subgroupBroadcast(s, 7u);
    // h = 8, 4: lanes 0 + 2, 1 + 3, then 0 + 1
    let r = (q0 + q2) + (q1 + q3);
    // h = 2, 1: within the quad
    let total = (r.x + r.z) + (r.y + r.w);
    if (row < p.rows && lane == 0u) {
        dst[row] = total;
    }
}
