// linear_sg.wgsl: the sg16x4 variant of the three linear products (linear.wgsl has tiled,
// reg4x4 and reg8x8, and the contract):
//
//   forward          Y[M,N] = act(X[M,K] W[N,K]^T + b[N])
//   backward_input   dX[M,K] = dY[M,N] W[N,K]   (times relu'(mask) when mask_relu = 1)
//   backward_weight  dW[N,K] (+)= dY[M,N]^T X[M,K]   (and db[N] (+)= rows of dY summed)
//
// Compiled after linear.wgsl (its params, bindings and store_db), and only where the device has
// subgroups of at least 8 lanes (wgpu's SUBGROUP feature), so that linear.wgsl alone stays
// valid everywhere.
//
// Why: on llvmpipe a storage load whose address differs per lane is a scalar loop over the 8
// lanes, and the loads, not the multiply-adds, bound reg8x8 at half the FMA probe. A
// subgroup broadcast with a constant lane is one register shuffle. So the 8 invocations of a
// workgroup (one subgroup) load the operand they share one row per lane, and hand each row to
// the others with subgroupBroadcast: each invocation owns a 16x4 block (16 rows shared through
// broadcasts, one quad of 4 columns of its own). Per step of 4 along the reduction a lane loads
// 6 vec4 (reg8x8: 16, half of them the same address in every lane) for 256 multiply-adds.
//
// The lane roles follow subgroup_invocation_id, so the kernel needs the workgroup's 8
// invocations to be lanes 0-7 of one subgroup (true where the subgroup has 8 or more lanes;
// the autotuner checks every variant against the CPU before timing it). Rows and columns past
// the edge read the last valid one (clamped: no branch around a broadcast) and are dropped at
// the store. Reductions run in index order: results repeat exactly from run to run.

fn activate4(v: vec4<f32>, act: u32) -> vec4<f32> {
    switch act {
        case 1u: {
            return max(v, vec4<f32>(0.0));
        }
        case 2u: {
            return 1.0 / (1.0 + exp(-v));
        }
        default: {
            return v;
        }
    }
}

// the forward's bias and output as quads (x and w as linear.wgsl's fx4, fw4)
@group(0) @binding(2) var<storage, read> fb4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> fy4: array<vec4<f32>>;

// Y[row, quad q] = act(acc + b) as one vec4 (n is a multiple of 4); rows past m and quads past
// n dropped. With k as short as 20 (fc3) the stores are half a kernel's loads and stores, so
// they are whole quads and the bias is loaded once per block.
fn store_y_quad(row: u32, q: u32, acc: vec4<f32>, b: vec4<f32>) {
    let n4 = fp.n / 4u;
    if (row >= fp.m || q >= n4) {
        return;
    }
    fy4[row * n4 + q] = activate4(acc + b, fp.act);
}

// Rows row0..row0+15 of Y (X rows loaded by lane i: row0 + i and row0 + 8 + i) times 4 columns
// per lane; k four at a time. Needs k and n to be multiples of 4.
@compute @workgroup_size(8)
fn forward_sg16x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let k4 = fp.k / 4u;
    let row0 = wid.y * 16u;
    let q = wid.x * 8u + lane;
    let col0 = q * 4u;
    let last_row = fp.m - 1u;
    let last_col = fp.n - 1u;
    let xa = min(row0 + lane, last_row) * k4;
    let xb = min(row0 + 8u + lane, last_row) * k4;
    let w0 = min(col0, last_col) * k4;
    let w1 = min(col0 + 1u, last_col) * k4;
    let w2 = min(col0 + 2u, last_col) * k4;
    let w3 = min(col0 + 3u, last_col) * k4;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    var c4 = vec4<f32>(0.0);
    var c5 = vec4<f32>(0.0);
    var c6 = vec4<f32>(0.0);
    var c7 = vec4<f32>(0.0);
    var c8 = vec4<f32>(0.0);
    var c9 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0);
    var c11 = vec4<f32>(0.0);
    var c12 = vec4<f32>(0.0);
    var c13 = vec4<f32>(0.0);
    var c14 = vec4<f32>(0.0);
    var c15 = vec4<f32>(0.0);
    for (var k = 0u; k < k4; k += 1u) {
        // columns of w are W rows: x * w = (dot(x, w0), ..., dot(x, w3))
        let w = mat4x4<f32>(fw4[w0 + k], fw4[w1 + k], fw4[w2 + k], fw4[w3 + k]);
        let va = fx4[xa + k];
        let vb = fx4[xb + k];
        c0 += subgroupBroadcast(va, 0u) * w;
        c1 += subgroupBroadcast(va, 1u) * w;
        c2 += subgroupBroadcast(va, 2u) * w;
        c3 += subgroupBroadcast(va, 3u) * w;
        c4 += subgroupBroadcast(va, 4u) * w;
        c5 += subgroupBroadcast(va, 5u) * w;
        c6 += subgroupBroadcast(va, 6u) * w;
        c7 += subgroupBroadcast(va, 7u) * w;
        c8 += subgroupBroadcast(vb, 0u) * w;
        c9 += subgroupBroadcast(vb, 1u) * w;
        c10 += subgroupBroadcast(vb, 2u) * w;
        c11 += subgroupBroadcast(vb, 3u) * w;
        c12 += subgroupBroadcast(vb, 4u) * w;
        c13 += subgroupBroadcast(vb, 5u) * w;
        c14 += subgroupBroadcast(vb, 6u) * w;
        c15 += subgroupBroadcast(vb, 7u) * w;
    }
    let b = fb4[min(q, fp.n / 4u - 1u)];
    store_y_quad(row0, q, c0, b);
    store_y_quad(row0 + 1u, q, c1, b);
    store_y_quad(row0 + 2u, q, c2, b);
    store_y_quad(row0 + 3u, q, c3, b);
    store_y_quad(row0 + 4u, q, c4, b);
    store_y_quad(row0 + 5u, q, c5, b);
    store_y_quad(row0 + 6u, q, c6, b);
    store_y_quad(row0 + 7u, q, c7, b);
    store_y_quad(row0 + 8u, q, c8, b);
    store_y_quad(row0 + 9u, q, c9, b);
    store_y_quad(row0 + 10u, q, c10, b);
    store_y_quad(row0 + 11u, q, c11, b);
    store_y_quad(row0 + 12u, q, c12, b);
    store_y_quad(row0 + 13u, q, c13, b);
    store_y_quad(row0 + 14u, q, c14, b);
    store_y_quad(row0 + 15u, q, c15, b);
}

// The backward products read and write linear.wgsl's gdy4, gsrc4, gmask4, gout4, gp and gdb.

// dX[row, quad q] (+)= acc through the relu mask (linear.wgsl's dx_quad); rows past m and quads
// past k dropped.
fn store_dx_quad(row: u32, q: u32, acc: vec4<f32>) {
    let k4 = gp.k / 4u;
    if (row >= gp.m || q >= k4) {
        return;
    }
    let i = row * k4 + q;
    gout4[i] = dx_quad(i, acc);
}

// dW[n, quad q] (+)= acc; rows past n and quads past k dropped.
fn store_dw_quad(n: u32, q: u32, acc: vec4<f32>) {
    let k4 = gp.k / 4u;
    if (n >= gp.n || q >= k4) {
        return;
    }
    let i = n * k4 + q;
    if (gp.accumulate == 1u) {
        gout4[i] = acc + gout4[i];
    } else {
        gout4[i] = acc;
    }
}

// dX[m, k] = sum_n dY[m, n] W[n, k]: rows row0..row0+15 (dY rows loaded one per lane and
// broadcast), one quad of k per lane, n four at a time.
@compute @workgroup_size(8)
fn backward_input_sg16x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let n4 = gp.n / 4u;
    let k4 = gp.k / 4u;
    let row0 = wid.y * 16u;
    let q = wid.x * 8u + lane;
    let kq = min(q, k4 - 1u);
    let last_row = gp.m - 1u;
    let ya = min(row0 + lane, last_row) * n4;
    let yb = min(row0 + 8u + lane, last_row) * n4;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    var c4 = vec4<f32>(0.0);
    var c5 = vec4<f32>(0.0);
    var c6 = vec4<f32>(0.0);
    var c7 = vec4<f32>(0.0);
    var c8 = vec4<f32>(0.0);
    var c9 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0);
    var c11 = vec4<f32>(0.0);
    var c12 = vec4<f32>(0.0);
    var c13 = vec4<f32>(0.0);
    var c14 = vec4<f32>(0.0);
    var c15 = vec4<f32>(0.0);
    for (var n = 0u; n < n4; n += 1u) {
        // columns of w: W rows 4n..4n+3 at this lane's quad of k; w * dy = sum_j dy[j] W[4n+j]
        let r = 4u * n * k4 + kq;
        let w = mat4x4<f32>(gsrc4[r], gsrc4[r + k4], gsrc4[r + 2u * k4], gsrc4[r + 3u * k4]);
        let va = gdy4[ya + n];
        let vb = gdy4[yb + n];
        c0 += w * subgroupBroadcast(va, 0u);
        c1 += w * subgroupBroadcast(va, 1u);
        c2 += w * subgroupBroadcast(va, 2u);
        c3 += w * subgroupBroadcast(va, 3u);
        c4 += w * subgroupBroadcast(va, 4u);
        c5 += w * subgroupBroadcast(va, 5u);
        c6 += w * subgroupBroadcast(va, 6u);
        c7 += w * subgroupBroadcast(va, 7u);
        c8 += w * subgroupBroadcast(vb, 0u);
        c9 += w * subgroupBroadcast(vb, 1u);
        c10 += w * subgroupBroadcast(vb, 2u);
        c11 += w * subgroupBroadcast(vb, 3u);
        c12 += w * subgroupBroadcast(vb, 4u);
        c13 += w * subgroupBroadcast(vb, 5u);
        c14 += w * subgroupBroadcast(vb, 6u);
        c15 += w * subgroupBroadcast(vb, 7u);
    }
    store_dx_quad(row0, q, c0);
    store_dx_quad(row0 + 1u, q, c1);
    store_dx_quad(row0 + 2u, q, c2);
    store_dx_quad(row0 + 3u, q, c3);
    store_dx_quad(row0 + 4u, q, c4);
    store_dx_quad(row0 + 5u, q, c5);
    store_dx_quad(row0 + 6u, q, c6);
    store_dx_quad(row0 + 7u, q, c7);
    store_dx_quad(row0 + 8u, q, c8);
    store_dx_quad(row0 + 9u, q, c9);
    store_dx_quad(row0 + 10u, q, c10);
    store_dx_quad(row0 + 11u, q, c11);
    store_dx_quad(row0 + 12u, q, c12);
    store_dx_quad(row0 + 13u, q, c13);
    store_dx_quad(row0 + 14u, q, c14);
    store_dx_quad(row0 + 15u, q, c15);
}

// dW[n, k] (+)= sum_m dY[m, n] X[m, k]: rows n0..n0+15, one quad of k per lane, m four at a
// time. The 4 x 16 block of dY a step needs is 16 quads: lane i loads the quad i % 4 of rows
// m + i / 4 and m + 2 + i / 4, and the broadcasts regroup them per row n.
@compute @workgroup_size(8)
fn backward_weight_sg16x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let n4 = gp.n / 4u;
    let k4 = gp.k / 4u;
    let n0 = wid.y * 16u;
    let q = wid.x * 8u + lane;
    let kq = min(q, k4 - 1u);
    let nq = min(n0 / 4u + lane % 4u, n4 - 1u);
    let half = lane / 4u;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    var c4 = vec4<f32>(0.0);
    var c5 = vec4<f32>(0.0);
    var c6 = vec4<f32>(0.0);
    var c7 = vec4<f32>(0.0);
    var c8 = vec4<f32>(0.0);
    var c9 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0);
    var c11 = vec4<f32>(0.0);
    var c12 = vec4<f32>(0.0);
    var c13 = vec4<f32>(0.0);
    var c14 = vec4<f32>(0.0);
    var c15 = vec4<f32>(0.0);
    // the bias gradient of the quads of n, rows added one at a time in order as backward_bias
    // does (every lane holds every row after the broadcasts; lane 0 stores them)
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    let m4 = gp.m & ~3u;
    for (var m = 0u; m < m4; m += 4u) {
        let d01 = gdy4[(m + half) * n4 + nq];
        let d23 = gdy4[(m + 2u + half) * n4 + nq];
        // columns of x: X rows m..m+3 at this lane's quad; x * v = sum_i v[i] X[m + i]
        let x = mat4x4<f32>(gsrc4[m * k4 + kq], gsrc4[(m + 1u) * k4 + kq], gsrc4[(m + 2u) * k4 + kq], gsrc4[(m + 3u) * k4 + kq]);
        // row m + i of dY at the quad j of n: from lane j + 4 (i % 2), load i / 2
        let a0 = subgroupBroadcast(d01, 0u);
        let a1 = subgroupBroadcast(d01, 1u);
        let a2 = subgroupBroadcast(d01, 2u);
        let a3 = subgroupBroadcast(d01, 3u);
        let b0 = subgroupBroadcast(d01, 4u);
        let b1 = subgroupBroadcast(d01, 5u);
        let b2 = subgroupBroadcast(d01, 6u);
        let b3 = subgroupBroadcast(d01, 7u);
        let e0 = subgroupBroadcast(d23, 0u);
        let e1 = subgroupBroadcast(d23, 1u);
        let e2 = subgroupBroadcast(d23, 2u);
        let e3 = subgroupBroadcast(d23, 3u);
        let f0 = subgroupBroadcast(d23, 4u);
        let f1 = subgroupBroadcast(d23, 5u);
        let f2 = subgroupBroadcast(d23, 6u);
        let f3 = subgroupBroadcast(d23, 7u);
        s0 = s0 + a0;
        s0 = s0 + b0;
        s0 = s0 + e0;
        s0 = s0 + f0;
        s1 = s1 + a1;
        s1 = s1 + b1;
        s1 = s1 + e1;
        s1 = s1 + f1;
        s2 = s2 + a2;
        s2 = s2 + b2;
        s2 = s2 + e2;
        s2 = s2 + f2;
        s3 = s3 + a3;
        s3 = s3 + b3;
        s3 = s3 + e3;
        s3 = s3 + f3;
        c0 += x * vec4<f32>(a0.x, b0.x, e0.x, f0.x);
        c1 += x * vec4<f32>(a0.y, b0.y, e0.y, f0.y);
        c2 += x * vec4<f32>(a0.z, b0.z, e0.z, f0.z);
        c3 += x * vec4<f32>(a0.w, b0.w, e0.w, f0.w);
        c4 += x * vec4<f32>(a1.x, b1.x, e1.x, f1.x);
        c5 += x * vec4<f32>(a1.y, b1.y, e1.y, f1.y);
        c6 += x * vec4<f32>(a1.z, b1.z, e1.z, f1.z);
        c7 += x * vec4<f32>(a1.w, b1.w, e1.w, f1.w);
        c8 += x * vec4<f32>(a2.x, b2.x, e2.x, f2.x);
        c9 += x * vec4<f32>(a2.y, b2.y, e2.y, f2.y);
        c10 += x * vec4<f32>(a2.z, b2.z, e2.z, f2.z);
        c11 += x * vec4<f32>(a2.w, b2.w, e2.w, f2.w);
        c12 += x * vec4<f32>(a3.x, b3.x, e3.x, f3.x);
        c13 += x * vec4<f32>(a3.y, b3.y, e3.y, f3.y);
        c14 += x * vec4<f32>(a3.z, b3.z, e3.z, f3.z);
        c15 += x * vec4<f32>(a3.w, b3.w, e3.w, f3.w);
    }
    // the last m % 4 rows one at a time: every lane loads its quad of n of row m
    for (var m = m4; m < gp.m; m += 1u) {
        let d = gdy4[m * n4 + nq];
        let x = gsrc4[m * k4 + kq];
        let a0 = subgroupBroadcast(d, 0u);
        let a1 = subgroupBroadcast(d, 1u);
        let a2 = subgroupBroadcast(d, 2u);
        let a3 = subgroupBroadcast(d, 3u);
        s0 = s0 + a0;
        s1 = s1 + a1;
        s2 = s2 + a2;
        s3 = s3 + a3;
        c0 += a0.x * x;
        c1 += a0.y * x;
        c2 += a0.z * x;
        c3 += a0.w * x;
        c4 += a1.x * x;
        c5 += a1.y * x;
        c6 += a1.z * x;
        c7 += a1.w * x;
        c8 += a2.x * x;
        c9 += a2.y * x;
        c10 += a2.z * x;
        c11 += a2.w * x;
        c12 += a3.x * x;
        c13 += a3.y * x;
        c14 += a3.z * x;
        c15 += a3.w * x;
    }
    store_dw_quad(n0, q, c0);
    store_dw_quad(n0 + 1u, q, c1);
    store_dw_quad(n0 + 2u, q, c2);
    store_dw_quad(n0 + 3u, q, c3);
    store_dw_quad(n0 + 4u, q, c4);
    store_dw_quad(n0 + 5u, q, c5);
    store_dw_quad(n0 + 6u, q, c6);
    store_dw_quad(n0 + 7u, q, c7);
    store_dw_quad(n0 + 8u, q, c8);
    store_dw_quad(n0 + 9u, q, c9);
    store_dw_quad(n0 + 10u, q, c10);
    store_dw_quad(n0 + 11u, q, c11);
    store_dw_quad(n0 + 12u, q, c12);
    store_dw_quad(n0 + 13u, q, c13);
    store_dw_quad(n0 + 14u, q, c14);
    store_dw_quad(n0 + 15u, q, c15);
    if (gp.bias == 1u && wid.x == 0u && lane == 0u) {
        store_db(n0, s0);
        store_db(n0 + 4u, s1);
        store_db(n0 + 8u, s2);
        store_db(n0 + 12u, s3);
    }
}
