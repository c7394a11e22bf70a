// linear.wgsl: fully connected layer, weights [out, in] row-major as torch.nn.Linear stores them.
//
//   forward          Y[M,N] = act(X[M,K] W[N,K]^T + b[N]),   act: 0 none, 1 relu, 2 sigmoid
//   backward_input   dX[M,K] = dY[M,N] W[N,K]   (optionally times relu'(X): mask_relu = 1)
//   backward_weight  dW[N,K] (+)= dY[M,N]^T X[M,K]
//   backward_bias    db[N]   (+)= sum over rows of dY, rows summed in order 0..M
//
// Variants, named by their entry points' suffixes (the benchmark compares them; the context
// picks one per adapter, src/gpu/variants.rs):
//   tiled   forward_tiled   16x16 output tile per workgroup, X and W tiles staged through
//                           workgroup memory with two barriers per 16-wide K step. The classic
//                           GPU kernel.
//   reg4x4  forward_reg4x4  barrier-free: each invocation owns a 4x4 block of Y and walks K four
//                           at a time with vec4 dot products. Measured on llvmpipe (where a
//                           barrier costs a thread switch) about 16x faster than tiled at 512^3;
//                           tiled wins on real GPUs.
//   reg8x8  *_reg8x8        forward, backward_input and backward_weight: 8 invocations per
//                           workgroup, each an 8x8 block whose 8 rows the workgroup shares; vec4
//                           loads along the contiguous axis of every operand (no strided loads).
//                           3-7x reg4x4 on llvmpipe (BENCHMARKS.md). Needs those axes to be
//                           multiples of 4. backward_weight_t_reg8x8 computes dW's transpose
//                           (columns k shared, rows n per invocation); the builder picks the
//                           orientation that pads less.
//   sg16x4  *_sg16x4        in linear_sg.wgsl, compiled after this file where the device has
//                           subgroups: reg8x8's shared rows handed round by subgroup broadcasts.
// backward_input and backward_weight (no suffix) are reg4x4's, used by tiled and reg4x4 and as
// reg8x8's fallback.
// Every reduction loops in a fixed order, so results repeat exactly from run to run.

struct LinearParams {
    m: u32,
    n: u32,
    k: u32,
    act: u32,
    accumulate: u32,
    mask_relu: u32,
    // reg8x8 weight gradients: 1 = also db (+)= sum over rows of dY into gdb
    bias: u32,
    _pad1: u32,
}

// forward bindings
@group(0) @binding(0) var<storage, read> fx: array<f32>;
@group(0) @binding(1) var<storage, read> fw: array<f32>;
@group(0) @binding(2) var<storage, read> fb: array<f32>;
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;
@group(0) @binding(4) var<uniform> fp: LinearParams;

fn activate(v: f32, act: u32) -> f32 {
    if (act == 1u) {
        return max(v, 0.0);
    }
    if (act == 2u) {
        return 1.0 / (1.0 + exp(-v));
    }
    return v;
}

// ---- tiled: through workgroup memory ----
const TILE: u32 = 16u;
var<workgroup> tile_x: array<array<f32, 16>, 16>;
var<workgroup> tile_w: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn forward_tiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = wid.y * TILE + lid.y;
    let col = wid.x * TILE + lid.x;
    // the W row this invocation stages: output column wid.x*TILE + lid.y
    let wrow = wid.x * TILE + lid.y;
    var acc = 0.0;
    for (var t = 0u; t < fp.k; t += TILE) {
        let kk = t + lid.x;
        var xv = 0.0;
        if (row < fp.m && kk < fp.k) {
            xv = fx[row * fp.k + kk];
        }
        var wv = 0.0;
        if (wrow < fp.n && kk < fp.k) {
            wv = fw[wrow * fp.k + kk];
        }
        tile_x[lid.y][lid.x] = xv;
        tile_w[lid.y][lid.x] = wv;
        workgroupBarrier();
        for (var j = 0u; j < TILE; j += 1u) {
            acc += tile_x[lid.y][j] * tile_w[lid.x][j];
        }
        workgroupBarrier();
    }
    if (row < fp.m && col < fp.n) {
        fy[row * fp.n + col] = activate(acc + fb[col], fp.act);
    }
}

// ---- reg4x4: 4x4 register block per invocation, no barriers ----
fn load4(base: u32) -> vec4<f32> {
    return vec4<f32>(fx[base], fx[base + 1u], fx[base + 2u], fx[base + 3u]);
}
fn wload4(base: u32) -> vec4<f32> {
    return vec4<f32>(fw[base], fw[base + 1u], fw[base + 2u], fw[base + 3u]);
}

@compute @workgroup_size(8, 8)
fn forward_reg4x4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if (row0 >= fp.m || col0 >= fp.n) {
        return;
    }
    // Out-of-range rows and columns read the last valid one (always in bounds, no branch in the
    // loop) and are dropped at the store.
    let r0 = row0 * fp.k;
    let r1 = min(row0 + 1u, fp.m - 1u) * fp.k;
    let r2 = min(row0 + 2u, fp.m - 1u) * fp.k;
    let r3 = min(row0 + 3u, fp.m - 1u) * fp.k;
    let c0 = col0 * fp.k;
    let c1 = min(col0 + 1u, fp.n - 1u) * fp.k;
    let c2 = min(col0 + 2u, fp.n - 1u) * fp.k;
    let c3 = min(col0 + 3u, fp.n - 1u) * fp.k;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    let k4 = fp.k & ~3u;
    for (var k = 0u; k < k4; k += 4u) {
        let x0 = load4(r0 + k);
        let x1 = load4(r1 + k);
        let x2 = load4(r2 + k);
        let x3 = load4(r3 + k);
        let w0 = wload4(c0 + k);
        let w1 = wload4(c1 + k);
        let w2 = wload4(c2 + k);
        let w3 = wload4(c3 + k);
        a0 += vec4<f32>(dot(x0, w0), dot(x0, w1), dot(x0, w2), dot(x0, w3));
        a1 += vec4<f32>(dot(x1, w0), dot(x1, w1), dot(x1, w2), dot(x1, w3));
        a2 += vec4<f32>(dot(x2, w0), dot(x2, w1), dot(x2, w2), dot(x2, w3));
        a3 += vec4<f32>(dot(x3, w0), dot(x3, w1), dot(x3, w2), dot(x3, w3));
    }
    for (var k = k4; k < fp.k; k += 1u) {
        let w = vec4<f32>(fw[c0 + k], fw[c1 + k], fw[c2 + k], fw[c3 + k]);
        a0 += fx[r0 + k] * w;
        a1 += fx[r1 + k] * w;
        a2 += fx[r2 + k] * w;
        a3 += fx[r3 + k] * w;
    }
    store_row(row0, col0, a0);
    store_row(row0 + 1u, col0, a1);
    store_row(row0 + 2u, col0, a2);
    store_row(row0 + 3u, col0, a3);
}

fn store_row(row: u32, col0: u32, acc: vec4<f32>) {
    if (row >= fp.m) {
        return;
    }
    for (var j = 0u; j < 4u; j += 1u) {
        let col = col0 + j;
        if (col < fp.n) {
            fy[row * fp.n + col] = activate(acc[j] + fb[col], fp.act);
        }
    }
}

// backward bindings: dY, W or X, the relu mask source, the output, params
@group(0) @binding(0) var<storage, read> gdy: array<f32>;
@group(0) @binding(1) var<storage, read> gsrc: array<f32>;
@group(0) @binding(2) var<storage, read> gmask: array<f32>;
@group(0) @binding(3) var<storage, read_write> gout: array<f32>;
@group(0) @binding(4) var<uniform> gp: LinearParams;

fn src4(base: u32) -> vec4<f32> {
    return vec4<f32>(gsrc[base], gsrc[base + 1u], gsrc[base + 2u], gsrc[base + 3u]);
}

// dX[m, k..k+3] = sum_n dY[m, n] W[n, k..k+3]: 4 rows x 4 columns per invocation.
@compute @workgroup_size(8, 8)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if (row0 >= gp.m || col0 >= gp.k) {
        return;
    }
    let full = col0 + 4u <= gp.k;
    let d0 = row0 * gp.n;
    let d1 = min(row0 + 1u, gp.m - 1u) * gp.n;
    let d2 = min(row0 + 2u, gp.m - 1u) * gp.n;
    let d3 = min(row0 + 3u, gp.m - 1u) * gp.n;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var n = 0u; n < gp.n; n += 1u) {
        let base = n * gp.k + col0;
        var w: vec4<f32>;
        if (full) {
            w = src4(base);
        } else {
            w = vec4<f32>(0.0);
            for (var j = 0u; j < 4u; j += 1u) {
                if (col0 + j < gp.k) {
                    w[j] = gsrc[base + j];
                }
            }
        }
        a0 += gdy[d0 + n] * w;
        a1 += gdy[d1 + n] * w;
        a2 += gdy[d2 + n] * w;
        a3 += gdy[d3 + n] * w;
    }
    store_dx(row0, col0, a0);
    store_dx(row0 + 1u, col0, a1);
    store_dx(row0 + 2u, col0, a2);
    store_dx(row0 + 3u, col0, a3);
}

fn store_dx(row: u32, col0: u32, acc: vec4<f32>) {
    if (row >= gp.m) {
        return;
    }
    for (var j = 0u; j < 4u; j += 1u) {
        let col = col0 + j;
        if (col < gp.k) {
            let i = row * gp.k + col;
            var v = acc[j];
            if (gp.mask_relu == 1u && gmask[i] <= 0.0) {
                v = 0.0;
            }
            if (gp.accumulate == 1u) {
                v += gout[i];
            }
            gout[i] = v;
        }
    }
}

// dW[n, k..k+3] (+)= sum_m dY[m, n] X[m, k..k+3]: 4 outputs rows x 4 inputs per invocation.
@compute @workgroup_size(8, 8)
fn backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if (n0 >= gp.n || col0 >= gp.k) {
        return;
    }
    let full = col0 + 4u <= gp.k;
    let n1 = min(n0 + 1u, gp.n - 1u);
    let n2 = min(n0 + 2u, gp.n - 1u);
    let n3 = min(n0 + 3u, gp.n - 1u);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var m = 0u; m < gp.m; m += 1u) {
        let base = m * gp.k + col0;
        var x: vec4<f32>;
        if (full) {
            x = src4(base);
        } else {
            x = vec4<f32>(0.0);
            for (var j = 0u; j < 4u; j += 1u) {
                if (col0 + j < gp.k) {
                    x[j] = gsrc[base + j];
                }
            }
        }
        let d = m * gp.n;
        a0 += gdy[d + n0] * x;
        a1 += gdy[d + n1] * x;
        a2 += gdy[d + n2] * x;
        a3 += gdy[d + n3] * x;
    }
    store_dw(n0, col0, a0);
    store_dw(n0 + 1u, col0, a1);
    store_dw(n0 + 2u, col0, a2);
    store_dw(n0 + 3u, col0, a3);
}

fn store_dw(n: u32, col0: u32, acc: vec4<f32>) {
    if (n >= gp.n) {
        return;
    }
    for (var j = 0u; j < 4u; j += 1u) {
        let col = col0 + j;
        if (col < gp.k) {
            let i = n * gp.k + col;
            var v = acc[j];
            if (gp.accumulate == 1u) {
                v += gout[i];
            }
            gout[i] = v;
        }
    }
}

// db[n] (+)= sum over rows m = 0..M of dY[m, n], in that order.
@compute @workgroup_size(64)
fn backward_bias(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.x;
    if (n >= gp.n) {
        return;
    }
    var acc = 0.0;
    for (var m = 0u; m < gp.m; m += 1u) {
        acc += gdy[m * gp.n + n];
    }
    if (gp.accumulate == 1u) {
        acc += gout[n];
    }
    gout[n] = acc;
}

// ---- reg8x8: all three products, no barriers ----
// One workgroup is 8 invocations (one llvmpipe SIMD vector). Each invocation owns an 8x8 block
// of the output: 8 rows shared by the workgroup (so their loads share one address) times 8
// columns of its own, as two vec4 quads. Every value loaded feeds 8 multiply-adds per lane
// (reg4x4: 4), which is what speed follows on llvmpipe. The vec4 views below need the
// contiguous axes to be multiples of 4 (the builders fall back to reg4x4's kernels otherwise). Rows and
// columns past the edge read the last valid one (clamped, no branch in the loop) and are
// dropped at the store. Reductions run in index order: results repeat exactly.
@group(0) @binding(0) var<storage, read> fx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> fw4: array<vec4<f32>>;

@compute @workgroup_size(8)
fn forward_reg8x8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let k4 = fp.k / 4u;
    let row0 = wid.y * 8u;
    let col0 = (wid.x * 8u + lid.x) * 8u;
    let last_row = fp.m - 1u;
    let last_col = fp.n - 1u;
    let x0 = min(row0, last_row) * k4;
    let x1 = min(row0 + 1u, last_row) * k4;
    let x2 = min(row0 + 2u, last_row) * k4;
    let x3 = min(row0 + 3u, last_row) * k4;
    let x4 = min(row0 + 4u, last_row) * k4;
    let x5 = min(row0 + 5u, last_row) * k4;
    let x6 = min(row0 + 6u, last_row) * k4;
    let x7 = min(row0 + 7u, last_row) * k4;
    let w0 = min(col0, last_col) * k4;
    let w1 = min(col0 + 1u, last_col) * k4;
    let w2 = min(col0 + 2u, last_col) * k4;
    let w3 = min(col0 + 3u, last_col) * k4;
    let w4 = min(col0 + 4u, last_col) * k4;
    let w5 = min(col0 + 5u, last_col) * k4;
    let w6 = min(col0 + 6u, last_col) * k4;
    let w7 = min(col0 + 7u, last_col) * k4;
    // a<r>: row r, columns 0-3; b<r>: columns 4-7
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var b0 = vec4<f32>(0.0);
    var b1 = vec4<f32>(0.0);
    var b2 = vec4<f32>(0.0);
    var b3 = vec4<f32>(0.0);
    var b4 = vec4<f32>(0.0);
    var b5 = vec4<f32>(0.0);
    var b6 = vec4<f32>(0.0);
    var b7 = vec4<f32>(0.0);
    for (var k = 0u; k < k4; k += 1u) {
        // columns of lo are W rows: x * lo = (dot(x, w0), ..., dot(x, w3))
        let lo = mat4x4<f32>(fw4[w0 + k], fw4[w1 + k], fw4[w2 + k], fw4[w3 + k]);
        let hi = mat4x4<f32>(fw4[w4 + k], fw4[w5 + k], fw4[w6 + k], fw4[w7 + k]);
        let v0 = fx4[x0 + k];
        a0 += v0 * lo;
        b0 += v0 * hi;
        let v1 = fx4[x1 + k];
        a1 += v1 * lo;
        b1 += v1 * hi;
        let v2 = fx4[x2 + k];
        a2 += v2 * lo;
        b2 += v2 * hi;
        let v3 = fx4[x3 + k];
        a3 += v3 * lo;
        b3 += v3 * hi;
        let v4 = fx4[x4 + k];
        a4 += v4 * lo;
        b4 += v4 * hi;
        let v5 = fx4[x5 + k];
        a5 += v5 * lo;
        b5 += v5 * hi;
        let v6 = fx4[x6 + k];
        a6 += v6 * lo;
        b6 += v6 * hi;
        let v7 = fx4[x7 + k];
        a7 += v7 * lo;
        b7 += v7 * hi;
    }
    store_row(row0, col0, a0);
    store_row(row0, col0 + 4u, b0);
    store_row(row0 + 1u, col0, a1);
    store_row(row0 + 1u, col0 + 4u, b1);
    store_row(row0 + 2u, col0, a2);
    store_row(row0 + 2u, col0 + 4u, b2);
    store_row(row0 + 3u, col0, a3);
    store_row(row0 + 3u, col0 + 4u, b3);
    store_row(row0 + 4u, col0, a4);
    store_row(row0 + 4u, col0 + 4u, b4);
    store_row(row0 + 5u, col0, a5);
    store_row(row0 + 5u, col0 + 4u, b5);
    store_row(row0 + 6u, col0, a6);
    store_row(row0 + 6u, col0 + 4u, b6);
    store_row(row0 + 7u, col0, a7);
    store_row(row0 + 7u, col0 + 4u, b7);
}

@group(0) @binding(0) var<storage, read> gdy4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gsrc4: array<vec4<f32>>;

// dX[m, k] = sum_n dY[m, n] W[n, k]: rows m shared by the workgroup, 8 columns k per
// invocation, n four at a time.
@compute @workgroup_size(8)
fn backward_input_reg8x8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n4 = gp.n / 4u;
    let k4 = gp.k / 4u;
    let row0 = wid.y * 8u;
    let quad = (wid.x * 8u + lid.x) * 2u;
    let qa = min(quad, k4 - 1u);
    let qb = min(quad + 1u, k4 - 1u);
    let last_row = gp.m - 1u;
    let d0 = min(row0, last_row) * n4;
    let d1 = min(row0 + 1u, last_row) * n4;
    let d2 = min(row0 + 2u, last_row) * n4;
    let d3 = min(row0 + 3u, last_row) * n4;
    let d4 = min(row0 + 4u, last_row) * n4;
    let d5 = min(row0 + 5u, last_row) * n4;
    let d6 = min(row0 + 6u, last_row) * n4;
    let d7 = min(row0 + 7u, last_row) * n4;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var b0 = vec4<f32>(0.0);
    var b1 = vec4<f32>(0.0);
    var b2 = vec4<f32>(0.0);
    var b3 = vec4<f32>(0.0);
    var b4 = vec4<f32>(0.0);
    var b5 = vec4<f32>(0.0);
    var b6 = vec4<f32>(0.0);
    var b7 = vec4<f32>(0.0);
    for (var n = 0u; n < n4; n += 1u) {
        // columns of lo are W rows 4n..4n+3 at this invocation's first quad of k:
        // lo * dy = sum_j W[4n + j, k..k+3] dY[m, 4n + j]
        let w = 4u * n * k4;
        let lo = mat4x4<f32>(gsrc4[w + qa], gsrc4[w + k4 + qa], gsrc4[w + 2u * k4 + qa], gsrc4[w + 3u * k4 + qa]);
        let hi = mat4x4<f32>(gsrc4[w + qb], gsrc4[w + k4 + qb], gsrc4[w + 2u * k4 + qb], gsrc4[w + 3u * k4 + qb]);
        let v0 = gdy4[d0 + n];
        a0 += lo * v0;
        b0 += hi * v0;
        let v1 = gdy4[d1 + n];
        a1 += lo * v1;
        b1 += hi * v1;
        let v2 = gdy4[d2 + n];
        a2 += lo * v2;
        b2 += hi * v2;
        let v3 = gdy4[d3 + n];
        a3 += lo * v3;
        b3 += hi * v3;
        let v4 = gdy4[d4 + n];
        a4 += lo * v4;
        b4 += hi * v4;
        let v5 = gdy4[d5 + n];
        a5 += lo * v5;
        b5 += hi * v5;
        let v6 = gdy4[d6 + n];
        a6 += lo * v6;
        b6 += hi * v6;
        let v7 = gdy4[d7 + n];
        a7 += lo * v7;
        b7 += hi * v7;
    }
    store_dx_q(row0, quad, a0, b0);
    store_dx_q(row0 + 1u, quad, a1, b1);
    store_dx_q(row0 + 2u, quad, a2, b2);
    store_dx_q(row0 + 3u, quad, a3, b3);
    store_dx_q(row0 + 4u, quad, a4, b4);
    store_dx_q(row0 + 5u, quad, a5, b5);
    store_dx_q(row0 + 6u, quad, a6, b6);
    store_dx_q(row0 + 7u, quad, a7, b7);
}

// dW[n, k] (+)= sum_m dY[m, n] X[m, k]: rows n shared by the workgroup, 8 columns k per
// invocation, m four at a time, then the last m % 4 rows one by one.
@compute @workgroup_size(8)
fn backward_weight_reg8x8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n4 = gp.n / 4u;
    let k4 = gp.k / 4u;
    let n0 = wid.y * 8u;
    let pa = min(n0 / 4u, n4 - 1u);
    let pb = min(n0 / 4u + 1u, n4 - 1u);
    let quad = (wid.x * 8u + lid.x) * 2u;
    let qa = min(quad, k4 - 1u);
    let qb = min(quad + 1u, k4 - 1u);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var b0 = vec4<f32>(0.0);
    var b1 = vec4<f32>(0.0);
    var b2 = vec4<f32>(0.0);
    var b3 = vec4<f32>(0.0);
    var b4 = vec4<f32>(0.0);
    var b5 = vec4<f32>(0.0);
    var b6 = vec4<f32>(0.0);
    var b7 = vec4<f32>(0.0);
    var s_lo = vec4<f32>(0.0);
    var s_hi = vec4<f32>(0.0);
    let m4 = gp.m & ~3u;
    for (var m = 0u; m < m4; m += 4u) {
        let d = m * n4;
        let x = m * k4;
        // column i of dlo: dY[m..m+3, n0 + i]; columns of xa: X rows m..m+3 at the first quad
        let r0 = gdy4[d + pa];
        let r1 = gdy4[d + n4 + pa];
        let r2 = gdy4[d + 2u * n4 + pa];
        let r3 = gdy4[d + 3u * n4 + pa];
        let q0 = gdy4[d + pb];
        let q1 = gdy4[d + n4 + pb];
        let q2 = gdy4[d + 2u * n4 + pb];
        let q3 = gdy4[d + 3u * n4 + pb];
        // the bias gradient, rows added one at a time in order as backward_bias does
        s_lo = s_lo + r0;
        s_lo = s_lo + r1;
        s_lo = s_lo + r2;
        s_lo = s_lo + r3;
        s_hi = s_hi + q0;
        s_hi = s_hi + q1;
        s_hi = s_hi + q2;
        s_hi = s_hi + q3;
        let dlo = transpose(mat4x4<f32>(r0, r1, r2, r3));
        let dhi = transpose(mat4x4<f32>(q0, q1, q2, q3));
        let xa = mat4x4<f32>(gsrc4[x + qa], gsrc4[x + k4 + qa], gsrc4[x + 2u * k4 + qa], gsrc4[x + 3u * k4 + qa]);
        let xb = mat4x4<f32>(gsrc4[x + qb], gsrc4[x + k4 + qb], gsrc4[x + 2u * k4 + qb], gsrc4[x + 3u * k4 + qb]);
        a0 += xa * dlo[0];
        b0 += xb * dlo[0];
        a1 += xa * dlo[1];
        b1 += xb * dlo[1];
        a2 += xa * dlo[2];
        b2 += xb * dlo[2];
        a3 += xa * dlo[3];
        b3 += xb * dlo[3];
        a4 += xa * dhi[0];
        b4 += xb * dhi[0];
        a5 += xa * dhi[1];
        b5 += xb * dhi[1];
        a6 += xa * dhi[2];
        b6 += xb * dhi[2];
        a7 += xa * dhi[3];
        b7 += xb * dhi[3];
    }
    for (var m = m4; m < gp.m; m += 1u) {
        let dl = gdy4[m * n4 + pa];
        let dh = gdy4[m * n4 + pb];
        let xa = gsrc4[m * k4 + qa];
        let xb = gsrc4[m * k4 + qb];
        s_lo = s_lo + dl;
        s_hi = s_hi + dh;
        a0 += dl.x * xa;
        b0 += dl.x * xb;
        a1 += dl.y * xa;
        b1 += dl.y * xb;
        a2 += dl.z * xa;
        b2 += dl.z * xb;
        a3 += dl.w * xa;
        b3 += dl.w * xb;
        a4 += dh.x * xa;
        b4 += dh.x * xb;
        a5 += dh.y * xa;
        b5 += dh.y * xb;
        a6 += dh.z * xa;
        b6 += dh.z * xb;
        a7 += dh.w * xa;
        b7 += dh.w * xb;
    }
    store_dw_q(n0, quad, a0, b0);
    store_dw_q(n0 + 1u, quad, a1, b1);
    store_dw_q(n0 + 2u, quad, a2, b2);
    store_dw_q(n0 + 3u, quad, a3, b3);
    store_dw_q(n0 + 4u, quad, a4, b4);
    store_dw_q(n0 + 5u, quad, a5, b5);
    store_dw_q(n0 + 6u, quad, a6, b6);
    store_dw_q(n0 + 7u, quad, a7, b7);
    if (gp.bias == 1u && wid.x == 0u && lid.x == 0u) {
        store_db(n0, s_lo);
        store_db(n0 + 4u, s_hi);
    }
}

@group(0) @binding(5) var<storage, read_write> gdb: array<f32>;

// db[n0..n0+3] (+)= sums, rows past n dropped.
fn store_db(n0: u32, sums: vec4<f32>) {
    for (var j = 0u; j < 4u; j += 1u) {
        let n = n0 + j;
        if (n < gp.n) {
            var v = sums[j];
            if (gp.accumulate == 1u) {
                v += gdb[n];
            }
            gdb[n] = v;
        }
    }
}

// dW[n, k] (+)= sum_m dY[m, n] X[m, k], as its transpose: 8 columns k shared by the
// workgroup (X loads share an address), 8 rows n per invocation as two quads of dY, m in order.
@compute @workgroup_size(8)
fn backward_weight_t_reg8x8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n4 = gp.n / 4u;
    let k4 = gp.k / 4u;
    let k0 = wid.y * 8u;
    let ka = min(k0 / 4u, k4 - 1u);
    let kb = min(k0 / 4u + 1u, k4 - 1u);
    let quad = (wid.x * 8u + lid.x) * 2u;
    let qa = min(quad, n4 - 1u);
    let qb = min(quad + 1u, n4 - 1u);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var b0 = vec4<f32>(0.0);
    var b1 = vec4<f32>(0.0);
    var b2 = vec4<f32>(0.0);
    var b3 = vec4<f32>(0.0);
    var b4 = vec4<f32>(0.0);
    var b5 = vec4<f32>(0.0);
    var b6 = vec4<f32>(0.0);
    var b7 = vec4<f32>(0.0);
    var sa = vec4<f32>(0.0);
    var sb = vec4<f32>(0.0);
    for (var m = 0u; m < gp.m; m += 1u) {
        let xl = gsrc4[m * k4 + ka];
        let xh = gsrc4[m * k4 + kb];
        let da = gdy4[m * n4 + qa];
        let db = gdy4[m * n4 + qb];
        sa = sa + da;
        sb = sb + db;
        a0 += xl.x * da;
        b0 += xl.x * db;
        a1 += xl.y * da;
        b1 += xl.y * db;
        a2 += xl.z * da;
        b2 += xl.z * db;
        a3 += xl.w * da;
        b3 += xl.w * db;
        a4 += xh.x * da;
        b4 += xh.x * db;
        a5 += xh.y * da;
        b5 += xh.y * db;
        a6 += xh.z * da;
        b6 += xh.z * db;
        a7 += xh.w * da;
        b7 += xh.w * db;
    }
    let n0 = quad * 4u;
    // a<i>[j] is dW[n0 + j, k0 + i]: regroup (free in registers) into quads along k
    let lo = transpose(mat4x4<f32>(a0, a1, a2, a3));
    let hi = transpose(mat4x4<f32>(a4, a5, a6, a7));
    let lo2 = transpose(mat4x4<f32>(b0, b1, b2, b3));
    let hi2 = transpose(mat4x4<f32>(b4, b5, b6, b7));
    let kq = k0 / 4u;
    store_dw_q(n0, kq, lo[0], hi[0]);
    store_dw_q(n0 + 1u, kq, lo[1], hi[1]);
    store_dw_q(n0 + 2u, kq, lo[2], hi[2]);
    store_dw_q(n0 + 3u, kq, lo[3], hi[3]);
    store_dw_q(n0 + 4u, kq, lo2[0], hi2[0]);
    store_dw_q(n0 + 5u, kq, lo2[1], hi2[1]);
    store_dw_q(n0 + 6u, kq, lo2[2], hi2[2]);
    store_dw_q(n0 + 7u, kq, lo2[3], hi2[3]);
    if (gp.bias == 1u && wid.y == 0u) {
        store_db(n0, sa);
        store_db(n0 + 4u, sb);
    }
}

@group(0) @binding(3) var<storage, read_write> gout4: array<vec4<f32>>;

// dW[n, 4q..4q+7] (+)= (lo, hi): whole quads (k is a multiple of 4), so one vec4 store each
// instead of four checked scalar ones (8% faster dW on llvmpipe); rows past n, quads past k
// dropped.
fn store_dw_q(n: u32, q: u32, lo: vec4<f32>, hi: vec4<f32>) {
    let k4 = gp.k / 4u;
    if (n >= gp.n) {
        return;
    }
    let i = n * k4 + q;
    if (q < k4) {
        var v = lo;
        if (gp.accumulate == 1u) {
            v += gout4[i];
        }
        gout4[i] = v;
    }
    if (q + 1u < k4) {
        var v = hi;
        if (gp.accumulate == 1u) {
            v += gout4[i + 1u];
        }
        gout4[i + 1u] = v;
    }
}

@group(0) @binding(2) var<storage, read> gmask4: array<vec4<f32>>;

// dX[row, 4q..4q+7] (+)= (lo, hi), masked by relu'(mask): whole quads as store_dw_q.
fn store_dx_q(row: u32, q: u32, lo: vec4<f32>, hi: vec4<f32>) {
    let k4 = gp.k / 4u;
    if (row >= gp.m) {
        return;
    }
    let i = row * k4 + q;
    if (q < k4) {
        gout4[i] = dx_quad(i, lo);
    }
    if (q + 1u < k4) {
        gout4[i + 1u] = dx_quad(i + 1u, hi);
    }
}

fn dx_quad(i: u32, acc: vec4<f32>) -> vec4<f32> {
    var v = acc;
    if (gp.mask_relu == 1u) {
        v = select(v, vec4<f32>(0.0), gmask4[i] <= vec4<f32>(0.0));
    }
    if (gp.accumulate == 1u) {
        v += gout4[i];
    }
    return v;
}
