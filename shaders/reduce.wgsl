// reduce.wgsl: sum_rows, out[r] = sum of in[r, 0..cols], one workgroup per row.
// Fixed order, so a run repeats bit for bit: invocation t first sums columns t, t + 64, t + 128,
// ... in order, then a binary tree halves 64 partials (pairs t and t + h for h = 32, 16, ..., 1).
// src/cpu/ops.rs::sum_rows performs the same additions in the same order.

struct ReduceParams {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: ReduceParams;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn sum_rows(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    let t = lid.x;
    // Uniform control flow around the barriers: rows past the end still take part, then skip.
    let live = row < p.rows;
    var acc = 0.0;
    if (live) {
        let base = row * p.cols;
        for (var c = t; c < p.cols; c += WG) {
            acc += src[base + c];
        }
    }
    partial[t] = acc;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h = h / 2u) {
        if (t < h) {
            partial[t] = partial[t] + partial[t + h];
        }
        workgroupBarrier();
    }
    if (live && t == 0u) {
        dst[row] = partial[0];
    }
}
