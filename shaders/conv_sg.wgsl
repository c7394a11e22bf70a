// conv_sg.wgsl, compiled after conv.wgsl (whose helpers and bindings it uses), where the device
// has subgroups of 8 or more lanes: conv_direct_16x16 and conv_transposed_16x16 with the
// weights handed round by subgroup broadcasts, and conv_weight_grad in two passes with the
// small side's values handed round (below). Each step of their reduction reads the same 16
// weights (one per output channel of the block) in every invocation, a per-lane loop each on
// llvmpipe inside the loops; here lane l of a subgroup loads the weights of channels 2l and
// 2l + 1 and subgroupBroadcast (a register shuffle) gives every lane all 16: 18 loads feed 256
// multiply-adds instead of 32. Same loops and the same sums in the same order as the kernels
// they replace (tests/conv_kernels.rs checks them against the CPU twin). No early return for
// pixels past the end: every lane takes part in the broadcasts (the quads clamp their reads,
// the stores drop those pixels).

struct Weights16 {
    v0: vec4<f32>,
    v1: vec4<f32>,
    v2: vec4<f32>,
    v3: vec4<f32>,
}

// Channels 0..15 of the block from lanes 0..7, each holding channels 2l (lo) and 2l + 1 (hi).
fn spread16(lo: f32, hi: f32) -> Weights16 {
    return Weights16(
        vec4<f32>(subgroupBroadcast(lo, 0u), subgroupBroadcast(hi, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(hi, 1u)),
        vec4<f32>(subgroupBroadcast(lo, 2u), subgroupBroadcast(hi, 2u), subgroupBroadcast(lo, 3u), subgroupBroadcast(hi, 3u)),
        vec4<f32>(subgroupBroadcast(lo, 4u), subgroupBroadcast(hi, 4u), subgroupBroadcast(lo, 5u), subgroupBroadcast(hi, 5u)),
        vec4<f32>(subgroupBroadcast(lo, 6u), subgroupBroadcast(hi, 6u), subgroupBroadcast(lo, 7u), subgroupBroadcast(hi, 7u)),
    );
}

// conv_direct_16x16's block and order (ky, then kx, then b innermost).
@compute @workgroup_size(64)
fn conv_direct_sg16x16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sg_lane: u32) {
    let q = gid.x * 16u;
    let c = wid.y * 16u;
    let p0 = direct_quad(q);
    let p1 = direct_quad(q + 4u);
    let p2 = direct_quad(q + 8u);
    let p3 = direct_quad(q + 12u);
    let kk = cp.k * cp.k;
    let lhw = cp.lh * cp.lw;
    // this lane's two channels (lanes past 8 of a wider subgroup repeat lanes 0..7)
    let l = sg_lane % 8u;
    let row_lo = min(c + 2u * l, cp.a_ch - 1u) * (cp.b_ch * kk);
    let row_hi = min(c + 2u * l + 1u, cp.a_ch - 1u) * (cp.b_ch * kk);
    var acc00: array<vec4<f32>, 16>;
    var acc01: array<vec4<f32>, 16>;
    var acc10: array<vec4<f32>, 16>;
    var acc11: array<vec4<f32>, 16>;
    for (var ky = 0u; ky < cp.k; ky += 1u) {
        for (var kx = 0u; kx < cp.k; kx += 1u) {
            let t0 = tap(p0, i32(ky), i32(kx), cp.lh, cp.lw);
            let t1 = tap(p1, i32(ky), i32(kx), cp.lh, cp.lw);
            let t2 = tap(p2, i32(ky), i32(kx), cp.lh, cp.lw);
            let t3 = tap(p3, i32(ky), i32(kx), cp.lh, cp.lw);
            var a0 = t0.at;
            var a1 = t1.at;
            var a2 = t2.at;
            var a3 = t3.at;
            var w_lo = row_lo + ky * cp.k + kx;
            var w_hi = row_hi + ky * cp.k + kx;
            for (var b = 0u; b < cp.b_ch; b += 1u) {
                let x0 = select(vec4<f32>(0.0), load4(a0), t0.ok);
                let x1 = select(vec4<f32>(0.0), load4(a1), t1.ok);
                let x2 = select(vec4<f32>(0.0), load4(a2), t2.ok);
                let x3 = select(vec4<f32>(0.0), load4(a3), t3.ok);
                let w = spread16(wt[w_lo], wt[w_hi]);
                fma8x8(&acc00, x0, x1, w.v0, w.v1);
                fma8x8(&acc01, x0, x1, w.v2, w.v3);
                fma8x8(&acc10, x2, x3, w.v0, w.v1);
                fma8x8(&acc11, x2, x3, w.v2, w.v3);
                a0 += vec4<u32>(lhw);
                a1 += vec4<u32>(lhw);
                a2 += vec4<u32>(lhw);
                a3 += vec4<u32>(lhw);
                w_lo += kk;
                w_hi += kk;
            }
        }
    }
    let shw = cp.sh * cp.sw;
    store8x8(&acc00, p0, p1, shw, c, cp.a_ch);
    store8x8(&acc01, p0, p1, shw, c + 8u, cp.a_ch);
    store8x8(&acc10, p2, p3, shw, c, cp.a_ch);
    store8x8(&acc11, p2, p3, shw, c + 8u, cp.a_ch);
}

// conv_transposed_16x16's block and order (the phase's taps ky, then kx, then a innermost).
@compute @workgroup_size(64)
fn conv_transposed_sg16x16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sg_lane: u32) {
    let st = cp.stride;
    let py = wid.z / st;
    let px = wid.z % st;
    let q = gid.x * 16u;
    let c = wid.y * 16u;
    // the same for the whole workgroup, so no subgroup is split by it
    if (py >= cp.lh || px >= cp.lw) {
        return;
    }
    let p0 = transposed_quad(q, py, px);
    let p1 = transposed_quad(q + 4u, py, px);
    let p2 = transposed_quad(q + 8u, py, px);
    let p3 = transposed_quad(q + 12u, py, px);
    let kk = cp.k * cp.k;
    let shw = cp.sh * cp.sw;
    let wstep = cp.b_ch * kk;
    let l = sg_lane % 8u;
    let row_lo = min(c + 2u * l, cp.b_ch - 1u) * kk;
    let row_hi = min(c + 2u * l + 1u, cp.b_ch - 1u) * kk;
    var acc00: array<vec4<f32>, 16>;
    var acc01: array<vec4<f32>, 16>;
    var acc10: array<vec4<f32>, 16>;
    var acc11: array<vec4<f32>, 16>;
    var ty = 0;
    for (var ky = (py + cp.pad) % st; ky < cp.k; ky += st) {
        var tx = 0;
        for (var kx = (px + cp.pad) % st; kx < cp.k; kx += st) {
            let t0 = tap(p0, -ty, -tx, cp.sh, cp.sw);
            let t1 = tap(p1, -ty, -tx, cp.sh, cp.sw);
            let t2 = tap(p2, -ty, -tx, cp.sh, cp.sw);
            let t3 = tap(p3, -ty, -tx, cp.sh, cp.sw);
            var a0 = t0.at;
            var a1 = t1.at;
            var a2 = t2.at;
            var a3 = t3.at;
            var w_lo = row_lo + ky * cp.k + kx;
            var w_hi = row_hi + ky * cp.k + kx;
            for (var a = 0u; a < cp.a_ch; a += 1u) {
                let x0 = select(vec4<f32>(0.0), load4(a0), t0.ok);
                let x1 = select(vec4<f32>(0.0), load4(a1), t1.ok);
                let x2 = select(vec4<f32>(0.0), load4(a2), t2.ok);
                let x3 = select(vec4<f32>(0.0), load4(a3), t3.ok);
                let w = spread16(wt[w_lo], wt[w_hi]);
                fma8x8(&acc00, x0, x1, w.v0, w.v1);
                fma8x8(&acc01, x0, x1, w.v2, w.v3);
                fma8x8(&acc10, x2, x3, w.v0, w.v1);
                fma8x8(&acc11, x2, x3, w.v2, w.v3);
                a0 += vec4<u32>(shw);
                a1 += vec4<u32>(shw);
                a2 += vec4<u32>(shw);
                a3 += vec4<u32>(shw);
                w_lo += wstep;
                w_hi += wstep;
            }
            tx += 1;
        }
        ty += 1;
    }
    let lhw = cp.lh * cp.lw;
    store8x8(&acc00, p0, p1, lhw, c, cp.b_ch);
    store8x8(&acc01, p0, p1, lhw, c + 8u, cp.b_ch);
    store8x8(&acc10, p2, p3, lhw, c, cp.b_ch);
    store8x8(&acc11, p2, p3, lhw, c + 8u, cp.b_ch);
}

// ---- conv_weight_grad_sg and conv_weight_grad_sum: conv_weight_grad's sums in two passes.
// conv_weight_grad's 16 invocations split the batch's rows (invocation i sums rows i, i + 16,
// ...), so the lanes of a subgroup share nothing they load. Here a workgroup is one subgroup of
// 8 invocations with the same rows (one row lane i of 16) and the same 16 channels a, each with
// its own block of 16 taps: a pixel's 16 small-side values are the same for all 8, so lane l
// loads channels 2l and 2l + 1 and the broadcasts hand them round (18 loads per 256
// multiply-adds instead of 32). Each invocation writes its 16 x 16 partial sums to slice i of
// a partials buffer (slices of a_ch x taps, padded to a multiple of 4); conv_weight_grad_sum
// then adds the 16 slices in order 0..15 onto zero, as conv_weight_grad adds its invocations'
// partials after its barrier: the same sums in the same order. Used for layers with 8 or more
// tap blocks (fewer would leave lanes idle).

// The floats of one slice of the partials buffer.
fn partial_slice() -> u32 {
    return ((cp.a_ch * cp.b_ch * cp.k * cp.k + 3u) / 4u) * 4u;
}

// dst (the partials) at `at`.. for taps t..t+3 below `taps`.
fn put_partial4(at: u32, t: u32, taps: u32, v: vec4<f32>) {
    if (t < taps) {
        dst[at] = v.x;
    }
    if (t + 1u < taps) {
        dst[at + 1u] = v.y;
    }
    if (t + 2u < taps) {
        dst[at + 2u] = v.z;
    }
    if (t + 3u < taps) {
        dst[at + 3u] = v.w;
    }
}

// Channel a's partials for taps t0..t0+15 (q0: t0..t0+3, ...), in slice `base`.
fn put_partial16(base: u32, a: u32, t0: u32, taps: u32, q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>) {
    if (a >= cp.a_ch) {
        return;
    }
    let at = base + a * taps + t0;
    put_partial4(at, t0, taps, q0);
    put_partial4(at + 4u, t0 + 4u, taps, q1);
    put_partial4(at + 8u, t0 + 8u, taps, q2);
    put_partial4(at + 12u, t0 + 12u, taps, q3);
}

@compute @workgroup_size(8)
fn conv_weight_grad_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sg_lane: u32) {
    let taps = cp.b_ch * cp.k * cp.k;
    let tblocks = (taps + 15u) / 16u;
    let tgroups = (tblocks + 7u) / 8u;
    let ablocks = (cp.a_ch + 15u) / 16u;
    // the flat workgroup index is (row lane, channel block, group of 8 tap blocks); uniform
    // per workgroup, so returning here splits no subgroup
    let g = wid.x + wid.y * nwg.x;
    if (g >= DW_LANES * ablocks * tgroups) {
        return;
    }
    let lane_rows = g / (ablocks * tgroups);
    let rest = g % (ablocks * tgroups);
    let a0 = (rest / tgroups) * 16u;
    let l = sg_lane % 8u;
    let tb = (rest % tgroups) * 8u + l;
    // lanes past the last tap block repeat it and store nothing
    let t0 = min(tb, tblocks - 1u) * 16u;
    let tq0 = tap_quad(t0, taps);
    let tq1 = tap_quad(t0 + 4u, taps);
    let tq2 = tap_quad(t0 + 8u, taps);
    let tq3 = tap_quad(t0 + 12u, taps);
    let shw = cp.sh * cp.sw;
    let plane_lo = min(a0 + 2u * l, cp.a_ch - 1u) * shw;
    let plane_hi = min(a0 + 2u * l + 1u, cp.a_ch - 1u) * shw;
    // (channels 0-7 | 8-15) x (taps 0-7 | 8-15), as conv_weight_grad
    var acc00: array<vec4<f32>, 16>;
    var acc01: array<vec4<f32>, 16>;
    var acc10: array<vec4<f32>, 16>;
    var acc11: array<vec4<f32>, 16>;
    for (var row = lane_rows; row < cp.batch * cp.sh; row += DW_LANES) {
        let n = row / cp.sh;
        let y = row % cp.sh;
        var sp = n * cp.a_ch * shw + y * cp.sw;
        for (var x = 0u; x < cp.sw; x += 1u) {
            let v0 = large_taps(tq0, n, y, x);
            let v1 = large_taps(tq1, n, y, x);
            let v2 = large_taps(tq2, n, y, x);
            let v3 = large_taps(tq3, n, y, x);
            let d = spread16(src[plane_lo + sp], src[plane_hi + sp]);
            fma8x8(&acc00, d.v0, d.v1, v0, v1);
            fma8x8(&acc01, d.v0, d.v1, v2, v3);
            fma8x8(&acc10, d.v2, d.v3, v0, v1);
            fma8x8(&acc11, d.v2, d.v3, v2, v3);
            sp += 1u;
        }
    }
    if (tb >= tblocks) {
        return;
    }
    // channel j's taps t0 + 4h.. sit in acc00[2j + h] (h = 0, 1) and acc01[2j + h] (8 + 4h..);
    // channel 8 + j's in acc10 and acc11
    let base = lane_rows * partial_slice();
    put_partial16(base, a0, t0, taps, acc00[0], acc00[1], acc01[0], acc01[1]);
    put_partial16(base, a0 + 1u, t0, taps, acc00[2], acc00[3], acc01[2], acc01[3]);
    put_partial16(base, a0 + 2u, t0, taps, acc00[4], acc00[5], acc01[4], acc01[5]);
    put_partial16(base, a0 + 3u, t0, taps, acc00[6], acc00[7], acc01[6], acc01[7]);
    put_partial16(base, a0 + 4u, t0, taps, acc00[8], acc00[9], acc01[8], acc01[9]);
    put_partial16(base, a0 + 5u, t0, taps, acc00[10], acc00[11], acc01[10], acc01[11]);
    put_partial16(base, a0 + 6u, t0, taps, acc00[12], acc00[13], acc01[12], acc01[13]);
    put_partial16(base, a0 + 7u, t0, taps, acc00[14], acc00[15], acc01[14], acc01[15]);
    put_partial16(base, a0 + 8u, t0, taps, acc10[0], acc10[1], acc11[0], acc11[1]);
    put_partial16(base, a0 + 9u, t0, taps, acc10[2], acc10[3], acc11[2], acc11[3]);
    put_partial16(base, a0 + 10u, t0, taps, acc10[4], acc10[5], acc11[4], acc11[5]);
    put_partial16(base, a0 + 11u, t0, taps, acc10[6], acc10[7], acc11[6], acc11[7]);
    put_partial16(base, a0 + 12u, t0, taps, acc10[8], acc10[9], acc11[8], acc11[9]);
    put_partial16(base, a0 + 13u, t0, taps, acc10[10], acc10[11], acc11[10], acc11[11]);
    put_partial16(base, a0 + 14u, t0, taps, acc10[12], acc10[13], acc11[12], acc11[13]);
    put_partial16(base, a0 + 15u, t0, taps, acc10[14], acc10[15], acc11[14], acc11[15]);
}

@group(0) @binding(0) var<storage, read> partials4: array<vec4<f32>>;

// dw (+)= the 16 slices of the partials, added in order 0..15 onto zero; four elements per
// invocation.
@compute @workgroup_size(64)
fn conv_weight_grad_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let total = cp.a_ch * cp.b_ch * cp.k * cp.k;
    let slice4 = partial_slice() / 4u;
    let q = gid.x + gid.y * nwg.x * 64u;
    if (q >= slice4) {
        return;
    }
    var s = vec4<f32>(0.0);
    for (var v = 0u; v < DW_LANES; v += 1u) {
        s += partials4[v * slice4 + q];
    }
    for (var j = 0u; j < 4u; j += 1u) {
        let i = 4u * q + j;
        if (i < total) {
            var r = s[j];
            if ((cp.flags & FLAG_ACCUMULATE) != 0u) {
                r += dst[i];
            }
            dst[i] = r;
        }
    }
}
