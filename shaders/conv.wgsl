// conv.wgsl: 2-D convolution and transposed convolution, NCHW, batched, square kernels, any
// stride s and padding p (PyTorch's Conv2d and ConvTranspose2d, without dilation or groups).
//
// The kernels are written for one pair of sides: a *small* side (sh x sw, the output of a conv,
// the input of a conv-transpose) and a *large* side (lh x lw), tied by tap (ky, kx) linking small
// pixel (y, x) to large pixel (y s - p + ky, x s - p + kx). Weights are [A, B, k, k]: A channels
// live on the small side, B channels on the large side. Both PyTorch layouts fit: Conv2d stores
// [out, in, k, k] (A = out), ConvTranspose2d [in, out, k, k] (A = in). So each kernel serves one
// op of each kind, and src/gpu/conv.rs says which:
//
//   conv_direct      small[n, a, y, x] = sum over ky, kx, b of large[n, b, y s-p+ky, x s-p+kx]
//                    w[a, b, ky, kx]                          conv2d_forward (+ bias, act),
//                                                             conv_transpose2d_backward_input
//   conv_transposed  large[n, b, Y, X] = sum over the taps with Y = y s-p+ky, X = x s-p+kx and
//                    over a of small[n, a, y, x] w[a, b, ky, kx]
//                                                             conv_transpose2d_forward (+ bias,
//                                                             act), conv2d_backward_input
//   conv_weight_grad dw[a, b, ky, kx] (+)= sum over n, y, x of small[n, a, y, x]
//                    large[n, b, y s-p+ky, x s-p+kx]          conv2d_backward_weight (small = dy,
//                                                             large = x),
//                                                             conv_transpose2d_backward_weight
//                                                             (small = x, large = dy)
//   conv_bias_grad   db[o] (+)= sum over n, y, x of dy[n, o, y, x]          both kinds
//
// conv_direct and conv_transposed share one epilogue: + bias[ch] (flag 4) and act (forwards),
// zero where relu_mask <= 0 (flag 2), add onto the output (flag 1).
//
// Variants (entry points; the dispatch builder picks one from the output channel count):
//   16x16 conv_direct_16x16, conv_transposed_16x16  16 output channels x 16 output pixels per
//      invocation: each step of the reduction loads 16 inputs and 16 weights for 256
//      multiply-adds. For layers with more than 4 output channels.
//   4x16  conv_direct_4x16, conv_transposed_4x16    4 channels x 16 pixels: 20 loads for 64
//      multiply-adds, and no work wasted on missing channels when there are at most 4 (the
//      decoder's last layer has 1).
//   phases_8  conv_transposed_phases_8   kernel 4, stride 2, one or two channels b: 8 pixels of
//      a phase row in all four phases, 46 loads for 128 multiply-adds (see the kernel).
// Measured on llvmpipe, where a barrier is a thread switch and every storage load is a per-lane
// loop costing tens of multiply-adds, so speed follows multiply-adds per load: 16x16 ran the
// conv VAE's 32->64 layer 1.6x faster than an 8x8 block (23 against 14 GFLOP/s). Blocks are
// written out (helpers taking constant indices): the same blocks kept in arrays indexed by
// loops ran 2x (8x8) to 6x (16x16) slower, as llvmpipe keeps such arrays in memory. All are barrier-free; 64 invocations along x (pixel blocks), the channel block is
// workgroup_id.y. conv_transposed computes the s x s output phases (Y mod s, X mod s) as
// separate workgroup_id.z slices, so all pixels of a workgroup use the same taps (ceil(k/s) per
// axis) and no tap is spent on the stride's holes.
//
// conv_weight_grad (16 channels a x 16 taps per invocation, workgroups of 16) and
// conv_bias_grad (one channel, workgroups of 64) run one workgroup per output block; its
// invocations split the reduction over the batch's rows and one barrier joins their partial
// sums. This also bounds each invocation's loop count: Mesa 22.3's llvmpipe
// stops a shader after 65,535 loop iterations in all (silently, leaving a partial sum), which one
// invocation summing a whole batch would pass at batch 128 x 28 x 28. The dispatch builders
// refuse shapes whose loops would still be longer.
//
// Out-of-range pixels, taps and channels of a block compute on clamped indices and are dropped
// at the store; taps in the padding load a clamped address and select 0. Every reduction runs in
// a fixed order (written beside each kernel, mirrored by src/cpu/conv.rs, except
// conv_transposed_phases_8's, which is a-major) and no kernel uses atomics: results repeat bit
// for bit from run to run.

struct ConvParams {
    batch: u32,
    a_ch: u32,
    b_ch: u32,
    k: u32,
    sh: u32,
    sw: u32,
    lh: u32,
    lw: u32,
    stride: u32,
    pad: u32,
    act: u32,
    flags: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

const FLAG_ACCUMULATE: u32 = 1u;
const FLAG_MASK: u32 = 2u;
const FLAG_BIAS: u32 = 4u;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> relu_mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<uniform> cp: ConvParams;
// conv_weight_grad reads the large-side tensor at binding 1 (where the others read weights).
@group(0) @binding(1) var<storage, read> large: array<f32>;

fn activate(v: f32, act: u32) -> f32 {
    if (act == 1u) {
        return max(v, 0.0);
    }
    if (act == 2u) {
        return 1.0 / (1.0 + exp(-v));
    }
    return v;
}

// The shared epilogue, for output element i and its sum v (bias included): act, zero where the
// relu mask is not positive, add onto what is there.
fn finish(i: u32, v: f32) {
    var r = activate(v, cp.act);
    if ((cp.flags & FLAG_MASK) != 0u && relu_mask[i] <= 0.0) {
        r = 0.0;
    }
    if ((cp.flags & FLAG_ACCUMULATE) != 0u) {
        r += dst[i];
    }
    dst[i] = r;
}

// Channels ch0..ch0+3 (those below nch) of one output pixel: elements base + ch plane.
fn finish4(ok: bool, base: u32, plane: u32, ch0: u32, nch: u32, v: vec4<f32>) {
    if (!ok) {
        return;
    }
    if (ch0 < nch) {
        finish(base + ch0 * plane, v.x);
    }
    if (ch0 + 1u < nch) {
        finish(base + (ch0 + 1u) * plane, v.y);
    }
    if (ch0 + 2u < nch) {
        finish(base + (ch0 + 2u) * plane, v.z);
    }
    if (ch0 + 3u < nch) {
        finish(base + (ch0 + 3u) * plane, v.w);
    }
}

// The biases of channels c..c+3 (clamped to the last of nch), or 0 without the bias flag:
// loaded once per block, not once per output.
fn bias4(c: u32, nch: u32) -> vec4<f32> {
    if ((cp.flags & FLAG_BIAS) == 0u) {
        return vec4<f32>(0.0);
    }
    let i = min(vec4<u32>(c) + LANES, vec4<u32>(nch - 1u));
    return vec4<f32>(bias[i.x], bias[i.y], bias[i.z], bias[i.w]);
}

fn load4(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(src[i.x], src[i.y], src[i.z], src[i.w]);
}

fn wload4(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(wt[i.x], wt[i.y], wt[i.z], wt[i.w]);
}

const LANES: vec4<u32> = vec4<u32>(0u, 1u, 2u, 3u);

// Four consecutive output pixels of a block (the block's tail clamped to the last pixel).
struct Quad {
    // source element of channel 0 of each pixel's image
    src: vec4<u32>,
    // source row and column that tap 0 reads
    y: vec4<i32>,
    x: vec4<i32>,
    // output element of channel 0
    dst: vec4<u32>,
    // the pixel exists
    live: vec4<bool>,
}

// Pixels q..q+3 of conv_direct's batch x sh x sw small side; tap (ky, kx) reads large pixel
// (y + ky, x + kx).
fn direct_quad(q: u32) -> Quad {
    let shw = cp.sh * cp.sw;
    let total = cp.batch * shw;
    let qs = vec4<u32>(q) + LANES;
    let qc = min(qs, vec4<u32>(total - 1u));
    let n = qc / vec4<u32>(shw);
    let r = qc % vec4<u32>(shw);
    let s = i32(cp.stride);
    let p = i32(cp.pad);
    return Quad(
        n * (cp.b_ch * cp.lh * cp.lw),
        vec4<i32>(r / vec4<u32>(cp.sw)) * s - p,
        vec4<i32>(r % vec4<u32>(cp.sw)) * s - p,
        n * (cp.a_ch * shw) + r,
        qs < vec4<u32>(total),
    );
}

// Pixels q..q+3 of phase (py, px) of conv_transposed's large side: pixel (j, i) of the phase is
// Y = py + s j, X = px + s i, and its t-th tap along each axis reads small pixel (y - ty, x - tx).
fn transposed_quad(q: u32, py: u32, px: u32) -> Quad {
    let st = cp.stride;
    let pw = (cp.lw + st - 1u) / st;
    let per = ((cp.lh + st - 1u) / st) * pw;
    let total = cp.batch * per;
    let qs = vec4<u32>(q) + LANES;
    let qc = min(qs, vec4<u32>(total - 1u));
    let n = qc / vec4<u32>(per);
    let j = (qc % vec4<u32>(per)) / vec4<u32>(pw);
    let i = qc % vec4<u32>(pw);
    let yy = vec4<u32>(py) + st * j;
    let xx = vec4<u32>(px) + st * i;
    return Quad(
        n * (cp.a_ch * cp.sh * cp.sw),
        vec4<i32>(j) + i32((py + cp.pad) / st),
        vec4<i32>(i) + i32((px + cp.pad) / st),
        n * (cp.b_ch * cp.lh * cp.lw) + yy * cp.lw + xx,
        (qs < vec4<u32>(total)) & (yy < vec4<u32>(cp.lh)) & (xx < vec4<u32>(cp.lw)),
    );
}

// Where a quad's tap lands in an h x w plane: the element (0 when outside) and whether inside.
struct Tap {
    at: vec4<u32>,
    ok: vec4<bool>,
}

fn tap(q: Quad, dy: i32, dx: i32, h: u32, w: u32) -> Tap {
    let iy = q.y + dy;
    let ix = q.x + dx;
    let ok = (iy >= vec4<i32>(0)) & (iy < vec4<i32>(i32(h))) & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(w)));
    return Tap(select(vec4<u32>(0u), q.src + vec4<u32>(iy * i32(w) + ix), ok), ok);
}

// Weight offsets of channels c..c+3 (clamped to the last of n), `stride` elements apart.
fn rows4(c: u32, n: u32, stride: u32) -> vec4<u32> {
    return min(vec4<u32>(c) + LANES, vec4<u32>(n - 1u)) * stride;
}

// acc[2 j + h] += x_j w_h: pixels j = 0..7 (xa, xb), channels 4h..4h+3 (w0, w1).
fn fma8x8(acc: ptr<function, array<vec4<f32>, 16>>, xa: vec4<f32>, xb: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>) {
    (*acc)[0] += xa.x * w0;
    (*acc)[1] += xa.x * w1;
    (*acc)[2] += xa.y * w0;
    (*acc)[3] += xa.y * w1;
    (*acc)[4] += xa.z * w0;
    (*acc)[5] += xa.z * w1;
    (*acc)[6] += xa.w * w0;
    (*acc)[7] += xa.w * w1;
    (*acc)[8] += xb.x * w0;
    (*acc)[9] += xb.x * w1;
    (*acc)[10] += xb.y * w0;
    (*acc)[11] += xb.y * w1;
    (*acc)[12] += xb.z * w0;
    (*acc)[13] += xb.z * w1;
    (*acc)[14] += xb.w * w0;
    (*acc)[15] += xb.w * w1;
}

// acc[j] += x_j w: pixels j = 0..15 (x0..x3), channels 0..3.
fn fma16x4(acc: ptr<function, array<vec4<f32>, 16>>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, w: vec4<f32>) {
    (*acc)[0] += x0.x * w;
    (*acc)[1] += x0.y * w;
    (*acc)[2] += x0.z * w;
    (*acc)[3] += x0.w * w;
    (*acc)[4] += x1.x * w;
    (*acc)[5] += x1.y * w;
    (*acc)[6] += x1.z * w;
    (*acc)[7] += x1.w * w;
    (*acc)[8] += x2.x * w;
    (*acc)[9] += x2.y * w;
    (*acc)[10] += x2.z * w;
    (*acc)[11] += x2.w * w;
    (*acc)[12] += x3.x * w;
    (*acc)[13] += x3.y * w;
    (*acc)[14] += x3.z * w;
    (*acc)[15] += x3.w * w;
}

// Stores an fma8x8 block: pixels of quads a, b; channels c..c+7 of nch, `plane` apart.
fn store8x8(acc: ptr<function, array<vec4<f32>, 16>>, a: Quad, b: Quad, plane: u32, c: u32, nch: u32) {
    let b0 = bias4(c, nch);
    let b1 = bias4(c + 4u, nch);
    finish4(a.live.x, a.dst.x, plane, c, nch, (*acc)[0] + b0);
    finish4(a.live.x, a.dst.x, plane, c + 4u, nch, (*acc)[1] + b1);
    finish4(a.live.y, a.dst.y, plane, c, nch, (*acc)[2] + b0);
    finish4(a.live.y, a.dst.y, plane, c + 4u, nch, (*acc)[3] + b1);
    finish4(a.live.z, a.dst.z, plane, c, nch, (*acc)[4] + b0);
    finish4(a.live.z, a.dst.z, plane, c + 4u, nch, (*acc)[5] + b1);
    finish4(a.live.w, a.dst.w, plane, c, nch, (*acc)[6] + b0);
    finish4(a.live.w, a.dst.w, plane, c + 4u, nch, (*acc)[7] + b1);
    finish4(b.live.x, b.dst.x, plane, c, nch, (*acc)[8] + b0);
    finish4(b.live.x, b.dst.x, plane, c + 4u, nch, (*acc)[9] + b1);
    finish4(b.live.y, b.dst.y, plane, c, nch, (*acc)[10] + b0);
    finish4(b.live.y, b.dst.y, plane, c + 4u, nch, (*acc)[11] + b1);
    finish4(b.live.z, b.dst.z, plane, c, nch, (*acc)[12] + b0);
    finish4(b.live.z, b.dst.z, plane, c + 4u, nch, (*acc)[13] + b1);
    finish4(b.live.w, b.dst.w, plane, c, nch, (*acc)[14] + b0);
    finish4(b.live.w, b.dst.w, plane, c + 4u, nch, (*acc)[15] + b1);
}

// Stores an fma16x4 block: pixels of quads q0..q3; channels c..c+3 of nch, `plane` apart.
fn store16x4(acc: ptr<function, array<vec4<f32>, 16>>, q0: Quad, q1: Quad, q2: Quad, q3: Quad, plane: u32, c: u32, nch: u32) {
    let b = bias4(c, nch);
    finish4(q0.live.x, q0.dst.x, plane, c, nch, (*acc)[0] + b);
    finish4(q0.live.y, q0.dst.y, plane, c, nch, (*acc)[1] + b);
    finish4(q0.live.z, q0.dst.z, plane, c, nch, (*acc)[2] + b);
    finish4(q0.live.w, q0.dst.w, plane, c, nch, (*acc)[3] + b);
    finish4(q1.live.x, q1.dst.x, plane, c, nch, (*acc)[4] + b);
    finish4(q1.live.y, q1.dst.y, plane, c, nch, (*acc)[5] + b);
    finish4(q1.live.z, q1.dst.z, plane, c, nch, (*acc)[6] + b);
    finish4(q1.live.w, q1.dst.w, plane, c, nch, (*acc)[7] + b);
    finish4(q2.live.x, q2.dst.x, plane, c, nch, (*acc)[8] + b);
    finish4(q2.live.y, q2.dst.y, plane, c, nch, (*acc)[9] + b);
    finish4(q2.live.z, q2.dst.z, plane, c, nch, (*acc)[10] + b);
    finish4(q2.live.w, q2.dst.w, plane, c, nch, (*acc)[11] + b);
    finish4(q3.live.x, q3.dst.x, plane, c, nch, (*acc)[12] + b);
    finish4(q3.live.y, q3.dst.y, plane, c, nch, (*acc)[13] + b);
    finish4(q3.live.z, q3.dst.z, plane, c, nch, (*acc)[14] + b);
    finish4(q3.live.w, q3.dst.w, plane, c, nch, (*acc)[15] + b);
}

// ---- conv_direct: small[n, a] from large[n, b]. Sum order per output: ky, then kx, then b
// innermost (taps in the padding add 0). Pixel blocks along x, channel blocks along y.

// 16x16: 16 channels a x 16 pixels per invocation: 32 loads feed 256 multiply-adds per b.
@compute @workgroup_size(64)
fn conv_direct_16x16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let q = gid.x * 16u;
    let c = wid.y * 16u;
    if (q >= cp.batch * cp.sh * cp.sw) {
        return;
    }
    let p0 = direct_quad(q);
    let p1 = direct_quad(q + 4u);
    let p2 = direct_quad(q + 8u);
    let p3 = direct_quad(q + 12u);
    let kk = cp.k * cp.k;
    let lhw = cp.lh * cp.lw;
    let r0 = rows4(c, cp.a_ch, cp.b_ch * kk);
    let r1 = rows4(c + 4u, cp.a_ch, cp.b_ch * kk);
    let r2 = rows4(c + 8u, cp.a_ch, cp.b_ch * kk);
    let r3 = rows4(c + 12u, cp.a_ch, cp.b_ch * kk);
    // (pixels 0-7 | 8-15) x (channels 0-7 | 8-15)
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
            let off = vec4<u32>(ky * cp.k + kx);
            var w0 = r0 + off;
            var w1 = r1 + off;
            var w2 = r2 + off;
            var w3 = r3 + off;
            for (var b = 0u; b < cp.b_ch; b += 1u) {
                let x0 = select(vec4<f32>(0.0), load4(a0), t0.ok);
                let x1 = select(vec4<f32>(0.0), load4(a1), t1.ok);
                let x2 = select(vec4<f32>(0.0), load4(a2), t2.ok);
                let x3 = select(vec4<f32>(0.0), load4(a3), t3.ok);
                let v0 = wload4(w0);
                let v1 = wload4(w1);
                let v2 = wload4(w2);
                let v3 = wload4(w3);
                fma8x8(&acc00, x0, x1, v0, v1);
                fma8x8(&acc01, x0, x1, v2, v3);
                fma8x8(&acc10, x2, x3, v0, v1);
                fma8x8(&acc11, x2, x3, v2, v3);
                a0 += vec4<u32>(lhw);
                a1 += vec4<u32>(lhw);
                a2 += vec4<u32>(lhw);
                a3 += vec4<u32>(lhw);
                w0 += vec4<u32>(kk);
                w1 += vec4<u32>(kk);
                w2 += vec4<u32>(kk);
                w3 += vec4<u32>(kk);
            }
        }
    }
    let shw = cp.sh * cp.sw;
    store8x8(&acc00, p0, p1, shw, c, cp.a_ch);
    store8x8(&acc01, p0, p1, shw, c + 8u, cp.a_ch);
    store8x8(&acc10, p2, p3, shw, c, cp.a_ch);
    store8x8(&acc11, p2, p3, shw, c + 8u, cp.a_ch);
}

// 4x16: 4 channels a x 16 pixels, for layers with at most 4 channels a (20 loads feed 64
// multiply-adds, against 32 feeding 64 useful ones in 16x16 when a_ch = 1).
@compute @workgroup_size(64)
fn conv_direct_4x16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let q = gid.x * 16u;
    let c = wid.y * 4u;
    if (q >= cp.batch * cp.sh * cp.sw) {
        return;
    }
    let p0 = direct_quad(q);
    let p1 = direct_quad(q + 4u);
    let p2 = direct_quad(q + 8u);
    let p3 = direct_quad(q + 12u);
    let kk = cp.k * cp.k;
    let lhw = cp.lh * cp.lw;
    let r = rows4(c, cp.a_ch, cp.b_ch * kk);
    var acc: array<vec4<f32>, 16>;
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
            var w = r + vec4<u32>(ky * cp.k + kx);
            for (var b = 0u; b < cp.b_ch; b += 1u) {
                let x0 = select(vec4<f32>(0.0), load4(a0), t0.ok);
                let x1 = select(vec4<f32>(0.0), load4(a1), t1.ok);
                let x2 = select(vec4<f32>(0.0), load4(a2), t2.ok);
                let x3 = select(vec4<f32>(0.0), load4(a3), t3.ok);
                fma16x4(&acc, x0, x1, x2, x3, wload4(w));
                a0 += vec4<u32>(lhw);
                a1 += vec4<u32>(lhw);
                a2 += vec4<u32>(lhw);
                a3 += vec4<u32>(lhw);
                w += vec4<u32>(kk);
            }
        }
    }
    store16x4(&acc, p0, p1, p2, p3, cp.sh * cp.sw, c, cp.a_ch);
}

// ---- conv_transposed: large[n, b] from small[n, a]. Phase (py, px) = workgroup_id.z as
// py s + px holds the pixels Y = py + s j, X = px + s i; they take the taps
// ky = (py + p) mod s + s ty, ty = 0, 1, ... (ascending), reading small row
// y = (py + p) / s + j - ty (and likewise along x). Sum order per output: ky, then kx, then a
// innermost. Pixel blocks (within the phase) along x, channel blocks along y.

// 16x16: 16 channels b x 16 pixels per invocation.
@compute @workgroup_size(64)
fn conv_transposed_16x16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let st = cp.stride;
    let py = wid.z / st;
    let px = wid.z % st;
    let q = gid.x * 16u;
    let c = wid.y * 16u;
    let per = ((cp.lh + st - 1u) / st) * ((cp.lw + st - 1u) / st);
    if (q >= cp.batch * per || py >= cp.lh || px >= cp.lw) {
        return;
    }
    let p0 = transposed_quad(q, py, px);
    let p1 = transposed_quad(q + 4u, py, px);
    let p2 = transposed_quad(q + 8u, py, px);
    let p3 = transposed_quad(q + 12u, py, px);
    let kk = cp.k * cp.k;
    let shw = cp.sh * cp.sw;
    let wstep = cp.b_ch * kk;
    let r0 = rows4(c, cp.b_ch, kk);
    let r1 = rows4(c + 4u, cp.b_ch, kk);
    let r2 = rows4(c + 8u, cp.b_ch, kk);
    let r3 = rows4(c + 12u, cp.b_ch, kk);
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
            let off = vec4<u32>(ky * cp.k + kx);
            var w0 = r0 + off;
            var w1 = r1 + off;
            var w2 = r2 + off;
            var w3 = r3 + off;
            for (var a = 0u; a < cp.a_ch; a += 1u) {
                let x0 = select(vec4<f32>(0.0), load4(a0), t0.ok);
                let x1 = select(vec4<f32>(0.0), load4(a1), t1.ok);
                let x2 = select(vec4<f32>(0.0), load4(a2), t2.ok);
                let x3 = select(vec4<f32>(0.0), load4(a3), t3.ok);
                let v0 = wload4(w0);
                let v1 = wload4(w1);
                let v2 = wload4(w2);
                let v3 = wload4(w3);
                fma8x8(&acc00, x0, x1, v0, v1);
                fma8x8(&acc01, x0, x1, v2, v3);
                fma8x8(&acc10, x2, x3, v0, v1);
                fma8x8(&acc11, x2, x3, v2, v3);
                a0 += vec4<u32>(shw);
                a1 += vec4<u32>(shw);
                a2 += vec4<u32>(shw);
                a3 += vec4<u32>(shw);
                w0 += vec4<u32>(wstep);
                w1 += vec4<u32>(wstep);
                w2 += vec4<u32>(wstep);
                w3 += vec4<u32>(wstep);
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

// 4x16: 4 channels b x 16 pixels, for layers with at most 4 channels b (the decoder's last
// layer has 1).
@compute @workgroup_size(64)
fn conv_transposed_4x16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let st = cp.stride;
    let py = wid.z / st;
    let px = wid.z % st;
    let q = gid.x * 16u;
    let c = wid.y * 4u;
    let per = ((cp.lh + st - 1u) / st) * ((cp.lw + st - 1u) / st);
    if (q >= cp.batch * per || py >= cp.lh || px >= cp.lw) {
        return;
    }
    let p0 = transposed_quad(q, py, px);
    let p1 = transposed_quad(q + 4u, py, px);
    let p2 = transposed_quad(q + 8u, py, px);
    let p3 = transposed_quad(q + 12u, py, px);
    let kk = cp.k * cp.k;
    let shw = cp.sh * cp.sw;
    let wstep = cp.b_ch * kk;
    let r = rows4(c, cp.b_ch, kk);
    var acc: array<vec4<f32>, 16>;
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
            var w = r + vec4<u32>(ky * cp.k + kx);
            for (var a = 0u; a < cp.a_ch; a += 1u) {
                let x0 = select(vec4<f32>(0.0), load4(a0), t0.ok);
                let x1 = select(vec4<f32>(0.0), load4(a1), t1.ok);
                let x2 = select(vec4<f32>(0.0), load4(a2), t2.ok);
                let x3 = select(vec4<f32>(0.0), load4(a3), t3.ok);
                fma16x4(&acc, x0, x1, x2, x3, wload4(w));
                a0 += vec4<u32>(shw);
                a1 += vec4<u32>(shw);
                a2 += vec4<u32>(shw);
                a3 += vec4<u32>(shw);
                w += vec4<u32>(wstep);
            }
            tx += 1;
        }
        ty += 1;
    }
    store16x4(&acc, p0, p1, p2, p3, cp.lh * cp.lw, c, cp.b_ch);
}

// ---- conv_transposed_phases_8: the transposed conv of kernel 4 and stride 2 into one or two
// channels b (the decoder's last layer, conv1's input gradient), where the blocks above waste
// their channel lanes. One invocation makes 8 consecutive pixels of a phase row j in all four
// phases (2 output rows x 16 output columns) of one channel b = workgroup_id.y: per a it loads
// the three small rows j-1..j+1 over the 10 columns its taps reach and the 16 weights of (a, b),
// then makes 128 multiply-adds (46 loads; the 4x16 block makes 16 useful ones from 20). Sum
// order per output: a, then the taps ty, tx ascending (not the other kernels' tap-major order:
// within the tests' tolerance of the CPU twin, and still the same sums from run to run).

// Small row `row` of image n, channel a: the 10 columns c0..c0+9 (0 outside the image).
struct Seg {
    lo: vec4<f32>,
    mid: vec4<f32>,
    hi: vec2<f32>,
}

fn seg_load(base: u32, row: i32, c0: i32) -> Seg {
    let rok = row >= 0 && row < i32(cp.sh);
    let r = u32(clamp(row, 0, i32(cp.sh) - 1));
    let c = vec4<i32>(c0) + vec4<i32>(LANES);
    let w = i32(cp.sw);
    let lo_c = c;
    let mid_c = c + vec4<i32>(4);
    let hi_c = vec2<i32>(c0 + 8, c0 + 9);
    let at = base + r * cp.sw;
    let lo_ok = (lo_c >= vec4<i32>(0)) & (lo_c < vec4<i32>(w)) & vec4<bool>(rok);
    let mid_ok = (mid_c >= vec4<i32>(0)) & (mid_c < vec4<i32>(w)) & vec4<bool>(rok);
    let hi_ok = (hi_c >= vec2<i32>(0)) & (hi_c < vec2<i32>(w)) & vec2<bool>(rok);
    let lo_i = vec4<u32>(clamp(lo_c, vec4<i32>(0), vec4<i32>(w - 1))) + vec4<u32>(at);
    let mid_i = vec4<u32>(clamp(mid_c, vec4<i32>(0), vec4<i32>(w - 1))) + vec4<u32>(at);
    let hi_i = vec2<u32>(clamp(hi_c, vec2<i32>(0), vec2<i32>(w - 1))) + vec2<u32>(at);
    return Seg(
        select(vec4<f32>(0.0), load4(lo_i), lo_ok),
        select(vec4<f32>(0.0), load4(mid_i), mid_ok),
        select(vec2<f32>(0.0), vec2<f32>(src[hi_i.x], src[hi_i.y]), hi_ok),
    );
}

// Columns off..off+7 of a segment (off = 0, 1 or 2, the same for the whole invocation).
struct Eight {
    a: vec4<f32>,
    b: vec4<f32>,
}

fn seg_window(s: Seg, off: u32) -> Eight {
    let a1 = vec4<f32>(s.lo.yzw, s.mid.x);
    let b1 = vec4<f32>(s.mid.yzw, s.hi.x);
    let a2 = vec4<f32>(s.lo.zw, s.mid.xy);
    let b2 = vec4<f32>(s.mid.zw, s.hi);
    return Eight(
        select(select(s.lo, a1, off == 1u), a2, off == 2u),
        select(select(s.mid, b1, off == 1u), b2, off == 2u),
    );
}

// acc += window(row segment, off) * w for the 8 pixels of one phase.
fn fma_eight(acc: ptr<function, Eight>, s: Seg, off: u32, w: f32) {
    let e = seg_window(s, off);
    (*acc).a += e.a * w;
    (*acc).b += e.b * w;
}

// Segment for tap row ty of phase row py: small row (py + p) / 2 + j - ty, one of j-1, j, j+1.
fn seg_pick(m1: Seg, z0: Seg, p1: Seg, py: u32, ty: u32) -> Seg {
    let d = i32((py + cp.pad) / 2u) - i32(ty);
    if (d < 0) {
        return m1;
    }
    if (d == 0) {
        return z0;
    }
    return p1;
}

// Output pixels of one phase (py, px): Y = py + 2 j, X = px + 2 (i0 + t), t = 0..7.
fn store_eight(acc: Eight, n: u32, b: u32, j: u32, i0: u32, py: u32, px: u32, bias_b: f32) {
    let y = py + 2u * j;
    if (y >= cp.lh) {
        return;
    }
    let row = (n * cp.b_ch + b) * cp.lh * cp.lw + y * cp.lw;
    let v = array<f32, 8>(acc.a.x, acc.a.y, acc.a.z, acc.a.w, acc.b.x, acc.b.y, acc.b.z, acc.b.w);
    for (var t = 0u; t < 8u; t += 1u) {
        let x = px + 2u * (i0 + t);
        if (x < cp.lw) {
            finish(row + x, v[t] + bias_b);
        }
    }
}

@compute @workgroup_size(64)
fn conv_transposed_phases_8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let ph = (cp.lh + 1u) / 2u;
    let pw = (cp.lw + 1u) / 2u;
    let blocks = (pw + 7u) / 8u;
    let b = wid.y;
    if (gid.x >= cp.batch * ph * blocks || b >= cp.b_ch) {
        return;
    }
    let n = gid.x / (ph * blocks);
    let j = (gid.x / blocks) % ph;
    let i0 = (gid.x % blocks) * 8u;
    let p = cp.pad;
    // the segments start at column i0 + p/2 - 1; phase column px, tap tx reads from offset
    // (px + p)/2 - p/2 + 1 - tx in it
    let c0 = i32(i0) + i32(p / 2u) - 1;
    let off00 = (p / 2u) - (p / 2u) + 1u;
    let off01 = off00 - 1u;
    let off10 = ((1u + p) / 2u) - (p / 2u) + 1u;
    let off11 = off10 - 1u;
    // taps: ky = (py + p) mod 2 + 2 ty
    let ky0 = p % 2u;
    let ky1 = (1u + p) % 2u;
    let kk = 16u;
    var a00: Eight;
    var a01: Eight;
    var a10: Eight;
    var a11: Eight;
    let shw = cp.sh * cp.sw;
    for (var a = 0u; a < cp.a_ch; a += 1u) {
        let base = (n * cp.a_ch + a) * shw;
        let m1 = seg_load(base, i32(j) - 1, c0);
        let z0 = seg_load(base, i32(j), c0);
        let p1 = seg_load(base, i32(j) + 1, c0);
        let wb = (a * cp.b_ch + b) * kk;
        for (var ty = 0u; ty < 2u; ty += 1u) {
            let r0 = seg_pick(m1, z0, p1, 0u, ty);
            let r1 = seg_pick(m1, z0, p1, 1u, ty);
            let kr0 = (ky0 + 2u * ty) * 4u;
            let kr1 = (ky1 + 2u * ty) * 4u;
            // tx = 0, then 1; kx = (px + p) mod 2 + 2 tx
            fma_eight(&a00, r0, off00, wt[wb + kr0 + ky0]);
            fma_eight(&a00, r0, off01, wt[wb + kr0 + ky0 + 2u]);
            fma_eight(&a01, r0, off10, wt[wb + kr0 + ky1]);
            fma_eight(&a01, r0, off11, wt[wb + kr0 + ky1 + 2u]);
            fma_eight(&a10, r1, off00, wt[wb + kr1 + ky0]);
            fma_eight(&a10, r1, off01, wt[wb + kr1 + ky0 + 2u]);
            fma_eight(&a11, r1, off10, wt[wb + kr1 + ky1]);
            fma_eight(&a11, r1, off11, wt[wb + kr1 + ky1 + 2u]);
        }
    }
    var bias_b = 0.0;
    if ((cp.flags & FLAG_BIAS) != 0u) {
        bias_b = bias[b];
    }
    store_eight(a00, n, b, j, i0, 0u, 0u, bias_b);
    store_eight(a01, n, b, j, i0, 0u, 1u, bias_b);
    store_eight(a10, n, b, j, i0, 1u, 0u, bias_b);
    store_eight(a11, n, b, j, i0, 1u, 1u, bias_b);
}

// Taps t..t+3 of a conv_weight_grad block (clamped to the last of `taps`): the plane of their
// channel b in a large-side image, and their (ky - p, kx - p).
struct TapQuad {
    off: vec4<u32>,
    ky: vec4<i32>,
    kx: vec4<i32>,
}

fn tap_quad(t: u32, taps: u32) -> TapQuad {
    let kk = cp.k * cp.k;
    let tc = min(vec4<u32>(t) + LANES, vec4<u32>(taps - 1u));
    let p = i32(cp.pad);
    return TapQuad(
        (tc / vec4<u32>(kk)) * (cp.lh * cp.lw),
        vec4<i32>((tc % vec4<u32>(kk)) / vec4<u32>(cp.k)) - p,
        vec4<i32>(tc % vec4<u32>(cp.k)) - p,
    );
}

// A tap quad's large-side values for small pixel (y, x) of image n (0 in the padding).
fn large_taps(tq: TapQuad, n: u32, y: u32, x: u32) -> vec4<f32> {
    let s = i32(cp.stride);
    let iy = tq.ky + i32(y) * s;
    let ix = tq.kx + i32(x) * s;
    let ok = (iy >= vec4<i32>(0)) & (iy < vec4<i32>(i32(cp.lh))) & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(cp.lw)));
    let at = vec4<i32>(n * cp.b_ch * cp.lh * cp.lw + tq.off) + iy * i32(cp.lw) + ix;
    let i = select(vec4<u32>(0u), vec4<u32>(at), ok);
    return select(vec4<f32>(0.0), vec4<f32>(large[i.x], large[i.y], large[i.z], large[i.w]), ok);
}

// dw elements row + t + j, j = 0..3 (taps t..t+3 of one channel a's row), for t + j < taps.
fn store_dw4(ok: bool, row: u32, t: u32, taps: u32, acc: vec4<f32>) {
    if (!ok) {
        return;
    }
    for (var j = 0u; j < 4u; j += 1u) {
        if (t + j < taps) {
            let i = row + t + j;
            var v = acc[j];
            if ((cp.flags & FLAG_ACCUMULATE) != 0u) {
                v += dst[i];
            }
            dst[i] = v;
        }
    }
}

const DW_LANES: u32 = 16u;

// The 64 vec4 partial sums of each of the 16 invocations of a conv_weight_grad workgroup
// (16 KiB, WebGPU's default limit), and the 64 partial sums of conv_bias_grad.
var<workgroup> partial_dw: array<vec4<f32>, 1024>;
var<workgroup> partial_db: array<f32, 64>;

// Copies a block into partial_dw[at..at + 16], element by element (constant indices keep the
// block in registers; a loop over it would put it in memory).
fn share16(at: u32, acc: ptr<function, array<vec4<f32>, 16>>) {
    partial_dw[at] = (*acc)[0];
    partial_dw[at + 1u] = (*acc)[1];
    partial_dw[at + 2u] = (*acc)[2];
    partial_dw[at + 3u] = (*acc)[3];
    partial_dw[at + 4u] = (*acc)[4];
    partial_dw[at + 5u] = (*acc)[5];
    partial_dw[at + 6u] = (*acc)[6];
    partial_dw[at + 7u] = (*acc)[7];
    partial_dw[at + 8u] = (*acc)[8];
    partial_dw[at + 9u] = (*acc)[9];
    partial_dw[at + 10u] = (*acc)[10];
    partial_dw[at + 11u] = (*acc)[11];
    partial_dw[at + 12u] = (*acc)[12];
    partial_dw[at + 13u] = (*acc)[13];
    partial_dw[at + 14u] = (*acc)[14];
    partial_dw[at + 15u] = (*acc)[15];
}

// ---- conv_weight_grad: one workgroup of 16 invocations per block of 16 channels a x 16 taps
// (b, ky, kx). Taps are numbered t = (b k + ky) k + kx, as dw[a, ..] stores them; the flat
// workgroup index (x + y num_workgroups.x) picks the (a block, tap block). The batch x sh
// small-side rows (n, y) are dealt round-robin: invocation i sums rows i, i + 16, i + 32, ...
// (ascending, each row's x ascending) into its own 16 x 16 partial block, 32 loads feeding 256
// multiply-adds per pixel; after one barrier, invocation i adds channel a0 + i's partials in
// invocation order 0..15. So no invocation loops more than batch sh / 16 rows (llvmpipe cuts
// every shader off after 65,535 loop iterations in all).
@compute @workgroup_size(16)
fn conv_weight_grad(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let taps = cp.b_ch * cp.k * cp.k;
    let tblocks = (taps + 15u) / 16u;
    let block = wid.x + wid.y * nwg.x;
    // uniform per workgroup, so the barrier below stays in uniform control flow
    if (block >= tblocks * ((cp.a_ch + 15u) / 16u)) {
        return;
    }
    let t0 = (block % tblocks) * 16u;
    let a0 = (block / tblocks) * 16u;
    let tq0 = tap_quad(t0, taps);
    let tq1 = tap_quad(t0 + 4u, taps);
    let tq2 = tap_quad(t0 + 8u, taps);
    let tq3 = tap_quad(t0 + 12u, taps);
    // small-side planes of the 16 channels, clamped to the last channel
    let shw = cp.sh * cp.sw;
    let r0 = rows4(a0, cp.a_ch, shw);
    let r1 = rows4(a0 + 4u, cp.a_ch, shw);
    let r2 = rows4(a0 + 8u, cp.a_ch, shw);
    let r3 = rows4(a0 + 12u, cp.a_ch, shw);
    // (channels 0-7 | 8-15) x (taps 0-7 | 8-15)
    var acc00: array<vec4<f32>, 16>;
    var acc01: array<vec4<f32>, 16>;
    var acc10: array<vec4<f32>, 16>;
    var acc11: array<vec4<f32>, 16>;
    for (var row = lane; row < cp.batch * cp.sh; row += DW_LANES) {
        let n = row / cp.sh;
        let y = row % cp.sh;
        var sp = n * cp.a_ch * shw + y * cp.sw;
        for (var x = 0u; x < cp.sw; x += 1u) {
            let v0 = large_taps(tq0, n, y, x);
            let v1 = large_taps(tq1, n, y, x);
            let v2 = large_taps(tq2, n, y, x);
            let v3 = large_taps(tq3, n, y, x);
            let d0 = load4(r0 + vec4<u32>(sp));
            let d1 = load4(r1 + vec4<u32>(sp));
            let d2 = load4(r2 + vec4<u32>(sp));
            let d3 = load4(r3 + vec4<u32>(sp));
            fma8x8(&acc00, d0, d1, v0, v1);
            fma8x8(&acc01, d0, d1, v2, v3);
            fma8x8(&acc10, d2, d3, v0, v1);
            fma8x8(&acc11, d2, d3, v2, v3);
            sp += 1u;
        }
    }
    let mine = lane * 64u;
    share16(mine, &acc00);
    share16(mine + 16u, &acc01);
    share16(mine + 32u, &acc10);
    share16(mine + 48u, &acc11);
    workgroupBarrier();
    // channel a0 + lane = 8 ab + j: its taps 8 tb + 4 h + (0..3) sit in block 2 ab + tb,
    // vec4 slot 2 j + h of every invocation's partials
    let ab = lane / 8u;
    let j = lane % 8u;
    var s00 = vec4<f32>(0.0);
    var s01 = vec4<f32>(0.0);
    var s10 = vec4<f32>(0.0);
    var s11 = vec4<f32>(0.0);
    for (var v = 0u; v < DW_LANES; v += 1u) {
        let at = v * 64u + ab * 32u + 2u * j;
        s00 += partial_dw[at];
        s01 += partial_dw[at + 1u];
        s10 += partial_dw[at + 16u];
        s11 += partial_dw[at + 17u];
    }
    let a = a0 + lane;
    store_dw4(a < cp.a_ch, a * taps, t0, taps, s00);
    store_dw4(a < cp.a_ch, a * taps, t0 + 4u, taps, s01);
    store_dw4(a < cp.a_ch, a * taps, t0 + 8u, taps, s10);
    store_dw4(a < cp.a_ch, a * taps, t0 + 12u, taps, s11);
}

// ---- conv_bias_grad: one workgroup per channel o of a_ch; db[o] (+)= the sum of dy[n, o, y, x]
// over the batch x sh rows (n, y), dealt round-robin as in conv_weight_grad: invocation i sums
// rows i, i + 64, ... (each row's x ascending), then invocation 0 adds the 64 partials in order.
@compute @workgroup_size(64)
fn conv_bias_grad(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = wid.x + wid.y * nwg.x;
    if (o >= cp.a_ch) {
        return;
    }
    let hw = cp.sh * cp.sw;
    var acc = 0.0;
    for (var r = lane; r < cp.batch * cp.sh; r += 64u) {
        let base = ((r / cp.sh) * cp.a_ch + o) * hw + (r % cp.sh) * cp.sw;
        for (var x = 0u; x < cp.sw; x += 1u) {
            acc += src[base + x];
        }
    }
    partial_db[lane] = acc;
    workgroupBarrier();
    if (lane == 0u) {
        var sum = 0.0;
        for (var v = 0u; v < 64u; v += 1u) {
            sum += partial_db[v];
        }
        if ((cp.flags & FLAG_ACCUMULATE) != 0u) {
            sum += dst[o];
        }
        dst[o] = sum;
    }
}
