// linear.wgsl: fully connected layer, weights [out, in] row-major as torch.nn.Linear stores them.
//
//   forward          Y[M,N] = act(X[M,K] W[N,K]^T + b[N]),   act: 0 none, 1 relu, 2 sigmoid
//   backward_input   dX[M,K] = dY[M,N] W[N,K]   (optionally times relu'(X): mask_relu = 1)
//   backward_weight  dW[N,K] (+)= dY[M,N]^T X[M,K]
//   backward_bias    db[N]   (+)= sum over rows of dY, rows summed in order 0..M
//
// Forward variants (the benchmark compares them; the context picks one per adapter):
//   v1 forward_tiled   16x16 output tile per workgroup, X and W tiles staged through workgroup
//                      memory with two barriers per 16-wide K step. The classic GPU kernel.
//   v2 forward_reg4x4  barrier-free: each invocation owns a 4x4 block of Y and walks K four at a
//                      time with vec4 dot products. Measured on llvmpipe (where a barrier costs a
//                      thread switch) about 16x faster than v1 at 512^3; v1 wins on real GPUs.
// Every reduction loops in a fixed order, so results repeat exactly from run to run.

struct LinearParams {
    m: u32,
    n: u32,
    k: u32,
    act: u32,
    accumulate: u32,
    mask_relu: u32,
    _pad0: u32,
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

// ---- v1: tiled through workgroup memory ----
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

// ---- v2: 4x4 register block per invocation, no barriers ----
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
