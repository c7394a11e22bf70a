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
// conv_direct and conv_transposed share one epilogue: + bias[ch] and act (flag 4, forwards),
// zero where relu_mask <= 0 (flag 2), add onto the output (flag 1).
//
// Blocks (for CPU rasterisers such as llvmpipe, where a barrier is a thread switch and every
// storage load is a per-lane loop costing tens of multiply-adds): each invocation owns 8
// channels x 8 pixels (8 taps for the weight gradient), so each step of its reduction loads
// 8 + 8 values and does 64 multiply-adds into 16 vec4 accumulators.
//   conv_direct, conv_transposed: barrier-free; 64 invocations along x (pixel blocks), the
//     channel block is workgroup_id.y. conv_transposed computes the s x s output phases
//     (Y mod s, X mod s) as separate workgroup_id.z slices, so all pixels of a workgroup use the
//     same taps (ceil(k/s) per axis) and no tap is spent on the stride's holes.
//   conv_weight_grad, conv_bias_grad: one workgroup per output block; its 64 invocations split
//     the reduction over the batch's rows and one barrier joins their partial sums. This also
//     bounds each invocation's loop count: Mesa 22.3's llvmpipe stops a shader after 65,535 loop
//     iterations in all (silently, with a partial sum), which one invocation summing a whole
//     batch would pass at batch 128 x 28 x 28. The dispatch builders refuse shapes that would.
// Out-of-range pixels, taps and channels of a block compute on clamped indices and are dropped
// at the store; taps in the padding load a clamped address and select 0.
//
// Every reduction runs in a fixed order (written beside each kernel, mirrored by src/cpu/conv.rs)
// and no kernel uses atomics: results repeat bit for bit from run to run.

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

// The shared epilogue: element i of the output, of channel ch.
fn finish(i: u32, ch: u32, acc: f32) {
    var v = acc;
    if ((cp.flags & FLAG_BIAS) != 0u) {
        v = activate(v + bias[ch], cp.act);
    }
    if ((cp.flags & FLAG_MASK) != 0u && relu_mask[i] <= 0.0) {
        v = 0.0;
    }
    if ((cp.flags & FLAG_ACCUMULATE) != 0u) {
        v += dst[i];
    }
    dst[i] = v;
}

// Four channels' worth of one output pixel: element base + (ch0 + j) * plane, j = 0..3.
fn finish4(ok: bool, base: u32, plane: u32, ch0: u32, nch: u32, acc: vec4<f32>) {
    if (!ok) {
        return;
    }
    for (var j = 0u; j < 4u; j += 1u) {
        let ch = ch0 + j;
        if (ch < nch) {
            finish(base + ch * plane, ch, acc[j]);
        }
    }
}

fn load4(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(src[i.x], src[i.y], src[i.z], src[i.w]);
}

fn wload4(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(wt[i.x], wt[i.y], wt[i.z], wt[i.w]);
}

const LANES: vec4<u32> = vec4<u32>(0u, 1u, 2u, 3u);

// ---- conv_direct: 8 small-side channels (a) x 8 small-side pixels per invocation ----
// Sum order per output: ky, then kx, then b innermost (taps in the padding add 0).
@compute @workgroup_size(64)
fn conv_direct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let shw = cp.sh * cp.sw;
    let lhw = cp.lh * cp.lw;
    let total = cp.batch * shw;
    let q0 = gid.x * 8u;
    let a0 = wid.y * 8u;
    if (q0 >= total) {
        return;
    }
    let s = i32(cp.stride);
    let p = i32(cp.pad);
    let lh = i32(cp.lh);
    let lw = i32(cp.lw);
    // pixels q0..q0+3 (quad a) and q0+4..q0+7 (quad b), clamped to the last one
    let qa = min(vec4<u32>(q0) + LANES, vec4<u32>(total - 1u));
    let qb = min(vec4<u32>(q0 + 4u) + LANES, vec4<u32>(total - 1u));
    let ra = qa % vec4<u32>(shw);
    let rb = qb % vec4<u32>(shw);
    let basea = (qa / vec4<u32>(shw)) * (cp.b_ch * lhw);
    let baseb = (qb / vec4<u32>(shw)) * (cp.b_ch * lhw);
    let y0a = vec4<i32>(ra / vec4<u32>(cp.sw)) * s - p;
    let y0b = vec4<i32>(rb / vec4<u32>(cp.sw)) * s - p;
    let x0a = vec4<i32>(ra % vec4<u32>(cp.sw)) * s - p;
    let x0b = vec4<i32>(rb % vec4<u32>(cp.sw)) * s - p;
    // weight rows w[a, 0, 0, 0] of the 8 channels, clamped to the last channel
    let kk = cp.k * cp.k;
    let wra = min(vec4<u32>(a0) + LANES, vec4<u32>(cp.a_ch - 1u)) * (cp.b_ch * kk);
    let wrb = min(vec4<u32>(a0 + 4u) + LANES, vec4<u32>(cp.a_ch - 1u)) * (cp.b_ch * kk);
    // acc_jh: pixel j, channels a0 + 4h .. a0 + 4h + 3
    var acc00 = vec4<f32>(0.0);
    var acc01 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc20 = vec4<f32>(0.0);
    var acc21 = vec4<f32>(0.0);
    var acc30 = vec4<f32>(0.0);
    var acc31 = vec4<f32>(0.0);
    var acc40 = vec4<f32>(0.0);
    var acc41 = vec4<f32>(0.0);
    var acc50 = vec4<f32>(0.0);
    var acc51 = vec4<f32>(0.0);
    var acc60 = vec4<f32>(0.0);
    var acc61 = vec4<f32>(0.0);
    var acc70 = vec4<f32>(0.0);
    var acc71 = vec4<f32>(0.0);
    for (var ky = 0u; ky < cp.k; ky += 1u) {
        let iya = y0a + i32(ky);
        let iyb = y0b + i32(ky);
        let rowa = (iya >= vec4<i32>(0)) & (iya < vec4<i32>(lh));
        let rowb = (iyb >= vec4<i32>(0)) & (iyb < vec4<i32>(lh));
        for (var kx = 0u; kx < cp.k; kx += 1u) {
            let ixa = x0a + i32(kx);
            let ixb = x0b + i32(kx);
            let va = rowa & (ixa >= vec4<i32>(0)) & (ixa < vec4<i32>(lw));
            let vb = rowb & (ixb >= vec4<i32>(0)) & (ixb < vec4<i32>(lw));
            var pa = select(vec4<u32>(0u), basea + vec4<u32>(iya * lw + ixa), va);
            var pb = select(vec4<u32>(0u), baseb + vec4<u32>(iyb * lw + ixb), vb);
            var wa = wra + vec4<u32>(ky * cp.k + kx);
            var wb = wrb + vec4<u32>(ky * cp.k + kx);
            for (var b = 0u; b < cp.b_ch; b += 1u) {
                let xa = select(vec4<f32>(0.0), load4(pa), va);
                let xb = select(vec4<f32>(0.0), load4(pb), vb);
                let w0 = wload4(wa);
                let w1 = wload4(wb);
                acc00 += xa.x * w0;
                acc01 += xa.x * w1;
                acc10 += xa.y * w0;
                acc11 += xa.y * w1;
                acc20 += xa.z * w0;
                acc21 += xa.z * w1;
                acc30 += xa.w * w0;
                acc31 += xa.w * w1;
                acc40 += xb.x * w0;
                acc41 += xb.x * w1;
                acc50 += xb.y * w0;
                acc51 += xb.y * w1;
                acc60 += xb.z * w0;
                acc61 += xb.z * w1;
                acc70 += xb.w * w0;
                acc71 += xb.w * w1;
                pa += vec4<u32>(lhw);
                pb += vec4<u32>(lhw);
                wa += vec4<u32>(kk);
                wb += vec4<u32>(kk);
            }
        }
    }
    // output [n, a, y, x]: element n a_ch shw + a shw + r
    let oa = (qa / vec4<u32>(shw)) * (cp.a_ch * shw) + ra;
    let ob = (qb / vec4<u32>(shw)) * (cp.a_ch * shw) + rb;
    finish4(q0 < total, oa.x, shw, a0, cp.a_ch, acc00);
    finish4(q0 < total, oa.x, shw, a0 + 4u, cp.a_ch, acc01);
    finish4(q0 + 1u < total, oa.y, shw, a0, cp.a_ch, acc10);
    finish4(q0 + 1u < total, oa.y, shw, a0 + 4u, cp.a_ch, acc11);
    finish4(q0 + 2u < total, oa.z, shw, a0, cp.a_ch, acc20);
    finish4(q0 + 2u < total, oa.z, shw, a0 + 4u, cp.a_ch, acc21);
    finish4(q0 + 3u < total, oa.w, shw, a0, cp.a_ch, acc30);
    finish4(q0 + 3u < total, oa.w, shw, a0 + 4u, cp.a_ch, acc31);
    finish4(q0 + 4u < total, ob.x, shw, a0, cp.a_ch, acc40);
    finish4(q0 + 4u < total, ob.x, shw, a0 + 4u, cp.a_ch, acc41);
    finish4(q0 + 5u < total, ob.y, shw, a0, cp.a_ch, acc50);
    finish4(q0 + 5u < total, ob.y, shw, a0 + 4u, cp.a_ch, acc51);
    finish4(q0 + 6u < total, ob.z, shw, a0, cp.a_ch, acc60);
    finish4(q0 + 6u < total, ob.z, shw, a0 + 4u, cp.a_ch, acc61);
    finish4(q0 + 7u < total, ob.w, shw, a0, cp.a_ch, acc70);
    finish4(q0 + 7u < total, ob.w, shw, a0 + 4u, cp.a_ch, acc71);
}

// ---- conv_transposed: 8 large-side channels (b) x 8 large-side pixels of one phase ----
// Phase (py, px) = workgroup_id.z as py s + px holds the pixels Y = py + s j, X = px + s i; they
// take taps ky = (py + p) mod s + s t, t = 0, 1, ... (ascending), from small row
// y = (py + p) / s + j - t. Sum order per output: ky, then kx (ascending), then a innermost.
@compute @workgroup_size(64)
fn conv_transposed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let st = cp.stride;
    let py = wid.z / st;
    let px = wid.z % st;
    // rows and columns per phase (the largest phase; others have one fewer, masked)
    let ph = (cp.lh + st - 1u) / st;
    let pw = (cp.lw + st - 1u) / st;
    let per = ph * pw;
    let total = cp.batch * per;
    let q0 = gid.x * 8u;
    let b0 = wid.y * 8u;
    if (q0 >= total || py >= cp.lh || px >= cp.lw) {
        return;
    }
    let shw = cp.sh * cp.sw;
    let lhw = cp.lh * cp.lw;
    let sh = i32(cp.sh);
    let sw = i32(cp.sw);
    let qa = min(vec4<u32>(q0) + LANES, vec4<u32>(total - 1u));
    let qb = min(vec4<u32>(q0 + 4u) + LANES, vec4<u32>(total - 1u));
    let na = qa / vec4<u32>(per);
    let nb = qb / vec4<u32>(per);
    let ja = (qa % vec4<u32>(per)) / vec4<u32>(pw);
    let jb = (qb % vec4<u32>(per)) / vec4<u32>(pw);
    let ia = qa % vec4<u32>(pw);
    let ib = qb % vec4<u32>(pw);
    let ky0 = (py + cp.pad) % st;
    let kx0 = (px + cp.pad) % st;
    // small-side row and column of the first tap
    let y0a = vec4<i32>(ja) + i32((py + cp.pad) / st);
    let y0b = vec4<i32>(jb) + i32((py + cp.pad) / st);
    let x0a = vec4<i32>(ia) + i32((px + cp.pad) / st);
    let x0b = vec4<i32>(ib) + i32((px + cp.pad) / st);
    let basea = na * (cp.a_ch * shw);
    let baseb = nb * (cp.a_ch * shw);
    let kk = cp.k * cp.k;
    let wstep = cp.b_ch * kk;
    let wra = min(vec4<u32>(b0) + LANES, vec4<u32>(cp.b_ch - 1u)) * kk;
    let wrb = min(vec4<u32>(b0 + 4u) + LANES, vec4<u32>(cp.b_ch - 1u)) * kk;
    var acc00 = vec4<f32>(0.0);
    var acc01 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc20 = vec4<f32>(0.0);
    var acc21 = vec4<f32>(0.0);
    var acc30 = vec4<f32>(0.0);
    var acc31 = vec4<f32>(0.0);
    var acc40 = vec4<f32>(0.0);
    var acc41 = vec4<f32>(0.0);
    var acc50 = vec4<f32>(0.0);
    var acc51 = vec4<f32>(0.0);
    var acc60 = vec4<f32>(0.0);
    var acc61 = vec4<f32>(0.0);
    var acc70 = vec4<f32>(0.0);
    var acc71 = vec4<f32>(0.0);
    var ty = 0;
    for (var ky = ky0; ky < cp.k; ky += st) {
        let ya = y0a - ty;
        let yb = y0b - ty;
        let rowa = (ya >= vec4<i32>(0)) & (ya < vec4<i32>(sh));
        let rowb = (yb >= vec4<i32>(0)) & (yb < vec4<i32>(sh));
        var tx = 0;
        for (var kx = kx0; kx < cp.k; kx += st) {
            let xa = x0a - tx;
            let xb = x0b - tx;
            let va = rowa & (xa >= vec4<i32>(0)) & (xa < vec4<i32>(sw));
            let vb = rowb & (xb >= vec4<i32>(0)) & (xb < vec4<i32>(sw));
            var pa = select(vec4<u32>(0u), basea + vec4<u32>(ya * sw + xa), va);
            var pb = select(vec4<u32>(0u), baseb + vec4<u32>(yb * sw + xb), vb);
            var wa = wra + vec4<u32>(ky * cp.k + kx);
            var wb = wrb + vec4<u32>(ky * cp.k + kx);
            for (var a = 0u; a < cp.a_ch; a += 1u) {
                let sa = select(vec4<f32>(0.0), load4(pa), va);
                let sb = select(vec4<f32>(0.0), load4(pb), vb);
                let w0 = wload4(wa);
                let w1 = wload4(wb);
                acc00 += sa.x * w0;
                acc01 += sa.x * w1;
                acc10 += sa.y * w0;
                acc11 += sa.y * w1;
                acc20 += sa.z * w0;
                acc21 += sa.z * w1;
                acc30 += sa.w * w0;
                acc31 += sa.w * w1;
                acc40 += sb.x * w0;
                acc41 += sb.x * w1;
                acc50 += sb.y * w0;
                acc51 += sb.y * w1;
                acc60 += sb.z * w0;
                acc61 += sb.z * w1;
                acc70 += sb.w * w0;
                acc71 += sb.w * w1;
                pa += vec4<u32>(shw);
                pb += vec4<u32>(shw);
                wa += vec4<u32>(wstep);
                wb += vec4<u32>(wstep);
            }
            tx += 1;
        }
        ty += 1;
    }
    // output [n, b, Y, X]: element n b_ch lhw + b lhw + Y lw + X, for Y < lh and X < lw
    let yya = vec4<u32>(py) + st * ja;
    let yyb = vec4<u32>(py) + st * jb;
    let xxa = vec4<u32>(px) + st * ia;
    let xxb = vec4<u32>(px) + st * ib;
    let oka = (vec4<u32>(q0) + LANES < vec4<u32>(total)) & (yya < vec4<u32>(cp.lh)) & (xxa < vec4<u32>(cp.lw));
    let okb = (vec4<u32>(q0 + 4u) + LANES < vec4<u32>(total)) & (yyb < vec4<u32>(cp.lh)) & (xxb < vec4<u32>(cp.lw));
    let oa = na * (cp.b_ch * lhw) + yya * cp.lw + xxa;
    let ob = nb * (cp.b_ch * lhw) + yyb * cp.lw + xxb;
    finish4(oka.x, oa.x, lhw, b0, cp.b_ch, acc00);
    finish4(oka.x, oa.x, lhw, b0 + 4u, cp.b_ch, acc01);
    finish4(oka.y, oa.y, lhw, b0, cp.b_ch, acc10);
    finish4(oka.y, oa.y, lhw, b0 + 4u, cp.b_ch, acc11);
    finish4(oka.z, oa.z, lhw, b0, cp.b_ch, acc20);
    finish4(oka.z, oa.z, lhw, b0 + 4u, cp.b_ch, acc21);
    finish4(oka.w, oa.w, lhw, b0, cp.b_ch, acc30);
    finish4(oka.w, oa.w, lhw, b0 + 4u, cp.b_ch, acc31);
    finish4(okb.x, ob.x, lhw, b0, cp.b_ch, acc40);
    finish4(okb.x, ob.x, lhw, b0 + 4u, cp.b_ch, acc41);
    finish4(okb.y, ob.y, lhw, b0, cp.b_ch, acc50);
    finish4(okb.y, ob.y, lhw, b0 + 4u, cp.b_ch, acc51);
    finish4(okb.z, ob.z, lhw, b0, cp.b_ch, acc60);
    finish4(okb.z, ob.z, lhw, b0 + 4u, cp.b_ch, acc61);
    finish4(okb.w, ob.w, lhw, b0, cp.b_ch, acc70);
    finish4(okb.w, ob.w, lhw, b0 + 4u, cp.b_ch, acc71);
}

fn large4(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(large[i.x], large[i.y], large[i.z], large[i.w]);
}

// The 16 vec4 partial sums of each of the 64 invocations of a conv_weight_grad workgroup
// (16 KiB, WebGPU's default limit), or the 64 partial sums of conv_bias_grad.
var<workgroup> partial_dw: array<vec4<f32>, 1024>;
var<workgroup> partial_db: array<f32, 64>;

// ---- conv_weight_grad: one workgroup per block of 8 channels a x 8 taps (b, ky, kx) ----
// Taps are numbered t = (b k + ky) k + kx, as dw[a, ..] stores them; the flat workgroup index
// (x + y num_workgroups.x) picks the (a block, tap block). The batch x sh small-side rows
// (n, y) are dealt round-robin: invocation i sums rows i, i + 64, i + 128, ... (ascending, each
// row's x ascending) into its own 8 x 8 partial block; after one barrier, invocation e adds
// element e of the 64 partial blocks in invocation order 0..63. So no invocation loops more
// than batch sh / 64 rows (llvmpipe cuts every shader off after 65,535 loop iterations in all).
@compute @workgroup_size(64)
fn conv_weight_grad(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let kk = cp.k * cp.k;
    let taps = cp.b_ch * kk;
    let tblocks = (taps + 7u) / 8u;
    let block = wid.x + wid.y * nwg.x;
    // uniform per workgroup, so the barrier below stays in uniform control flow
    if (block >= tblocks * ((cp.a_ch + 7u) / 8u)) {
        return;
    }
    let t0 = (block % tblocks) * 8u;
    let a0 = (block / tblocks) * 8u;
    let shw = cp.sh * cp.sw;
    let lhw = cp.lh * cp.lw;
    let s = i32(cp.stride);
    let p = i32(cp.pad);
    let lh = i32(cp.lh);
    let lw = i32(cp.lw);
    // taps t0..t0+3 (quad a), t0+4..t0+7 (quad b), clamped to the last tap
    let ta = min(vec4<u32>(t0) + LANES, vec4<u32>(taps - 1u));
    let tb = min(vec4<u32>(t0 + 4u) + LANES, vec4<u32>(taps - 1u));
    let offa = (ta / vec4<u32>(kk)) * lhw;
    let offb = (tb / vec4<u32>(kk)) * lhw;
    let kya = vec4<i32>((ta % vec4<u32>(kk)) / vec4<u32>(cp.k)) - p;
    let kyb = vec4<i32>((tb % vec4<u32>(kk)) / vec4<u32>(cp.k)) - p;
    let kxa = vec4<i32>(ta % vec4<u32>(cp.k)) - p;
    let kxb = vec4<i32>(tb % vec4<u32>(cp.k)) - p;
    // small-side planes of the 8 channels, clamped to the last channel
    let ra = min(vec4<u32>(a0) + LANES, vec4<u32>(cp.a_ch - 1u)) * shw;
    let rb = min(vec4<u32>(a0 + 4u) + LANES, vec4<u32>(cp.a_ch - 1u)) * shw;
    // acc_ih: channel a0 + i, taps t0 + 4h .. t0 + 4h + 3
    var acc00 = vec4<f32>(0.0);
    var acc01 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc20 = vec4<f32>(0.0);
    var acc21 = vec4<f32>(0.0);
    var acc30 = vec4<f32>(0.0);
    var acc31 = vec4<f32>(0.0);
    var acc40 = vec4<f32>(0.0);
    var acc41 = vec4<f32>(0.0);
    var acc50 = vec4<f32>(0.0);
    var acc51 = vec4<f32>(0.0);
    var acc60 = vec4<f32>(0.0);
    var acc61 = vec4<f32>(0.0);
    var acc70 = vec4<f32>(0.0);
    var acc71 = vec4<f32>(0.0);
    let rows = cp.batch * cp.sh;
    for (var r = lane; r < rows; r += 64u) {
        let n = r / cp.sh;
        let y = r % cp.sh;
        let iya = kya + i32(y) * s;
        let iyb = kyb + i32(y) * s;
        let rowa = (iya >= vec4<i32>(0)) & (iya < vec4<i32>(lh));
        let rowb = (iyb >= vec4<i32>(0)) & (iyb < vec4<i32>(lh));
        let la = vec4<i32>(n * cp.b_ch * lhw + offa) + iya * lw;
        let lb = vec4<i32>(n * cp.b_ch * lhw + offb) + iyb * lw;
        var sp = n * cp.a_ch * shw + y * cp.sw;
        for (var x = 0u; x < cp.sw; x += 1u) {
            let ixa = kxa + i32(x) * s;
            let ixb = kxb + i32(x) * s;
            let va = rowa & (ixa >= vec4<i32>(0)) & (ixa < vec4<i32>(lw));
            let vb = rowb & (ixb >= vec4<i32>(0)) & (ixb < vec4<i32>(lw));
            let xa = select(vec4<f32>(0.0), large4(select(vec4<u32>(0u), vec4<u32>(la + ixa), va)), va);
            let xb = select(vec4<f32>(0.0), large4(select(vec4<u32>(0u), vec4<u32>(lb + ixb), vb)), vb);
            let da = load4(ra + vec4<u32>(sp));
            let db = load4(rb + vec4<u32>(sp));
            acc00 += da.x * xa;
            acc01 += da.x * xb;
            acc10 += da.y * xa;
            acc11 += da.y * xb;
            acc20 += da.z * xa;
            acc21 += da.z * xb;
            acc30 += da.w * xa;
            acc31 += da.w * xb;
            acc40 += db.x * xa;
            acc41 += db.x * xb;
            acc50 += db.y * xa;
            acc51 += db.y * xb;
            acc60 += db.z * xa;
            acc61 += db.z * xb;
            acc70 += db.w * xa;
            acc71 += db.w * xb;
            sp += 1u;
        }
    }
    let mine = lane * 16u;
    partial_dw[mine] = acc00;
    partial_dw[mine + 1u] = acc01;
    partial_dw[mine + 2u] = acc10;
    partial_dw[mine + 3u] = acc11;
    partial_dw[mine + 4u] = acc20;
    partial_dw[mine + 5u] = acc21;
    partial_dw[mine + 6u] = acc30;
    partial_dw[mine + 7u] = acc31;
    partial_dw[mine + 8u] = acc40;
    partial_dw[mine + 9u] = acc41;
    partial_dw[mine + 10u] = acc50;
    partial_dw[mine + 11u] = acc51;
    partial_dw[mine + 12u] = acc60;
    partial_dw[mine + 13u] = acc61;
    partial_dw[mine + 14u] = acc70;
    partial_dw[mine + 15u] = acc71;
    workgroupBarrier();
    // element e = lane of the block: channel a0 + e / 8, tap t0 + e % 8, which invocations
    // hold in vec4 slot (e / 8) * 2 + (e % 8) / 4, component e % 4
    let a = a0 + lane / 8u;
    let t = t0 + lane % 8u;
    let slot = lane / 4u;
    let comp = lane % 4u;
    var sum = 0.0;
    for (var v = 0u; v < 64u; v += 1u) {
        sum += partial_dw[v * 16u + slot][comp];
    }
    if (a < cp.a_ch && t < taps) {
        let i = a * taps + t;
        if ((cp.flags & FLAG_ACCUMULATE) != 0u) {
            sum += dst[i];
        }
        dst[i] = sum;
    }
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
