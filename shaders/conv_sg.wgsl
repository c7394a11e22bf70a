// conv_sg.wgsl, compiled after conv.wgsl (whose helpers and bindings it uses), where the device
// has subgroups of 8 or more lanes: conv_direct_16x16 and conv_transposed_16x16 with the
// weights handed round by subgroup broadcasts. Each step of their reduction reads the same 16
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
