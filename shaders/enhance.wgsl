// enhance.wgsl: picture adjustments on planar pictures (channel c, pixel i at c * plane + i; one
// or three channels; values in [0, 1]). Every output is clipped to [0, 1]. The blends follow
// Pillow's ImageEnhance: out = degenerate + factor * (x - degenerate).
//   brightness       y = x * factor                              (degenerate: black)
//   contrast         y = m + factor * (x - m), m = stats[0]      (degenerate: the mean luma grey)
//   saturation       y = L + factor * (x - L), L the pixel's luma (degenerate: the luma image;
//                    one channel: L = x, so grey pictures are unchanged)
//   gamma            y = x ^ exponent, exponent = 1 / gamma     (gamma > 1 brightens)
//   levels           y = (x - stats[1]) / (stats[2] - stats[1])  (the auto-levels stretch)
//   histogram        bins[level] += 1 per item; mode 0: one item per pixel, its luma level;
//                    mode 1: one item per sample of every channel, its level
//   histogram_stats  stats = (mean level / 255, low / 255, high / 255) from 256 bins, one
//                    invocation: the mean rounded as Pillow's Contrast (int(mean + 0.5)),
//                    low the first level whose cumulative count passes low_count, high the last
//                    level with more than high_count items at or above it; (0, 1) when high <= low
// Levels as Pillow's 8-bit images hold them: level(v) = floor(clamp(v, 0, 1) * 255 + 0.5); the
// luma level of (r, g, b) levels is Pillow's convert("L"): (19595 r + 38470 g + 7471 b + 32768)
// >> 16, i.e. 0.299 R + 0.587 G + 0.114 B rounded. src/cpu/enhance.rs has the same functions.

struct EnhanceParams {
    // items: elements (channels * plane) for the elementwise kernels, pixels for saturation,
    // pixels or samples for histogram (by mode), the items counted for histogram_stats
    n: u32,
    plane: u32,
    channels: u32,
    mode: u32,
    factor: f32,
    low_count: u32,
    high_count: u32,
    _pad: u32,
}

const WG: u32 = 64u;
const BINS: u32 = 256u;
// Items one histogram invocation counts into its workgroup's bins before they are added to the
// global ones (a workgroup covers BINS * HISTOGRAM_ITEMS items). src/gpu/enhance.rs sizes the
// grid with the same number.
override HISTOGRAM_ITEMS: u32 = 16u;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: EnhanceParams;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> bins: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> stats_out: array<f32>;

var<workgroup> local_bins: array<atomic<u32>, 256>;

fn level(v: f32) -> u32 {
    return u32(floor(clamp(v, 0.0, 1.0) * 255.0 + 0.5));
}

fn luma_level(r: u32, g: u32, b: u32) -> u32 {
    return (19595u * r + 38470u * g + 7471u * b + 32768u) >> 16u;
}

fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(64)
fn brightness(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    dst[i] = clamp(src[i] * p.factor, 0.0, 1.0);
}

@compute @workgroup_size(64)
fn contrast(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let m = stats[0];
    dst[i] = clamp(m + p.factor * (src[i] - m), 0.0, 1.0);
}

@compute @workgroup_size(64)
fn saturation(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    if (p.channels == 1u) {
        dst[i] = clamp(src[i], 0.0, 1.0);
        return;
    }
    let r = src[i];
    let g = src[p.plane + i];
    let b = src[2u * p.plane + i];
    let l = f32(luma_level(level(r), level(g), level(b))) / 255.0;
    dst[i] = clamp(l + p.factor * (r - l), 0.0, 1.0);
    dst[p.plane + i] = clamp(l + p.factor * (g - l), 0.0, 1.0);
    dst[2u * p.plane + i] = clamp(l + p.factor * (b - l), 0.0, 1.0);
}

@compute @workgroup_size(64)
fn gamma(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let x = clamp(src[i], 0.0, 1.0);
    // pow(0, e) is exp2(e * log2(0)): spelled out rather than left to the driver
    dst[i] = select(clamp(pow(x, p.factor), 0.0, 1.0), 0.0, x <= 0.0);
}

@compute @workgroup_size(64)
fn levels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let lo = stats[1];
    let hi = stats[2];
    dst[i] = clamp((src[i] - lo) / (hi - lo), 0.0, 1.0);
}

// The level of histogram item i (see the header for the modes).
fn item_level(i: u32) -> u32 {
    if (p.mode == 0u && p.channels == 3u) {
        return luma_level(level(src[i]), level(src[p.plane + i]), level(src[2u * p.plane + i]));
    }
    return level(src[i]);
}

@compute @workgroup_size(256)
fn histogram(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    atomicStore(&local_bins[t], 0u);
    workgroupBarrier();
    let group = wid.x + wid.y * nwg.x;
    let first = group * BINS * HISTOGRAM_ITEMS + t;
    for (var k = 0u; k < HISTOGRAM_ITEMS; k++) {
        let i = first + k * BINS;
        if (i < p.n) {
            atomicAdd(&local_bins[item_level(i)], 1u);
        }
    }
    workgroupBarrier();
    let count = atomicLoad(&local_bins[t]);
    if (count > 0u) {
        atomicAdd(&bins[t], count);
    }
}

// 64-bit unsigned integers as (low, high) words: the level sum reaches 255 * 2^32.

// a * b for b < 2^16
fn mul_small(a: u32, b: u32) -> vec2<u32> {
    let lo_part = (a & 0xffffu) * b;
    let hi_part = (a >> 16u) * b;
    let lo = lo_part + (hi_part << 16u);
    return vec2<u32>(lo, (hi_part >> 16u) + select(0u, 1u, lo < lo_part));
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn le64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x <= b.x);
}

@compute @workgroup_size(1)
fn histogram_stats() {
    let total = p.n;
    // sum = sum of level * count; the rounded mean is the largest m with 2 m total <= 2 sum + total
    var sum = vec2<u32>(0u, 0u);
    for (var v = 1u; v < BINS; v++) {
        sum = add64(sum, mul_small(atomicLoad(&bins[v]), v));
    }
    let twice_sum_plus = add64(add64(sum, sum), vec2<u32>(total, 0u));
    var mean = 0u;
    if (total > 0u) {
        for (var m = 1u; m < BINS; m++) {
            if (le64(mul_small(total, 2u * m), twice_sum_plus)) {
                mean = m;
            }
        }
    }
    var low = 0u;
    var below = 0u;
    for (var v = 0u; v < BINS; v++) {
        below += atomicLoad(&bins[v]);
        if (below > p.low_count) {
            low = v;
            break;
        }
    }
    var high = BINS - 1u;
    var above = 0u;
    for (var v = BINS; v > 0u; v--) {
        above += atomicLoad(&bins[v - 1u]);
        if (above > p.high_count) {
            high = v - 1u;
            break;
        }
    }
    stats_out[0] = f32(mean) / 255.0;
    if (high > low) {
        stats_out[1] = f32(low) / 255.0;
        stats_out[2] = f32(high) / 255.0;
    } else {
        stats_out[1] = 0.0;
        stats_out[2] = 1.0;
    }
}
