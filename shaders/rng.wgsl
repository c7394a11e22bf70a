// rng.wgsl: Philox4x32-10 (Salmon et al., Random123) and Box-Muller normals.
//
// Functions only, no bindings and no entry points: files that draw random numbers are validated
// and compiled as `rng.wgsl` + their own text (plain concatenation, no templating).
//
// Keying used across wgvae: key = (seed low word, seed high word), counter = (group, step,
// stream, 0). One call yields four uniforms, so element i of a tensor takes lane i % 4 of group
// i / 4. The CPU reference (src/cpu/rng.rs) implements the same words bit for bit.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// Full 32x32 -> 64-bit product as (hi, lo); WGSL has no mulhi, so split into 16-bit halves.
fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xFFFFu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xFFFFu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    // At most 0xFFFF + 0xFFFF + 0xFFFE0001 = 0xFFFFFFFF: no carry is lost.
    let cross = (lo_lo >> 16u) + (hi_lo & 0xFFFFu) + lo_hi;
    let hi = hi_hi + (hi_lo >> 16u) + (cross >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox_round(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let p0 = philox_mulhilo(PHILOX_M0, ctr.x);
    let p1 = philox_mulhilo(PHILOX_M1, ctr.z);
    return vec4<u32>(p1.x ^ ctr.y ^ key.x, p1.y, p0.x ^ ctr.w ^ key.y, p0.y);
}

fn philox4x32_10(counter: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
    var ctr = counter;
    var key = key_in;
    ctr = philox_round(ctr, key);
    for (var r = 1u; r < 10u; r += 1u) {
        key = key + vec2<u32>(PHILOX_W0, PHILOX_W1);
        ctr = philox_round(ctr, key);
    }
    return ctr;
}

// Top 24 bits to a float strictly inside (0, 1): log() below never sees 0.
fn philox_u01(x: u32) -> f32 {
    return f32(x >> 8u) * (1.0 / 16777216.0) + (0.5 / 16777216.0);
}

// Four standard normals from one Philox block (two Box-Muller pairs).
fn philox_normal4(counter: vec4<u32>, key: vec2<u32>) -> vec4<f32> {
    let r = philox4x32_10(counter, key);
    let u = vec4<f32>(philox_u01(r.x), philox_u01(r.y), philox_u01(r.z), philox_u01(r.w));
    let rad0 = sqrt(-2.0 * log(u.x));
    let rad1 = sqrt(-2.0 * log(u.z));
    let th0 = 6.2831855 * u.y;
    let th1 = 6.2831855 * u.w;
    return vec4<f32>(rad0 * cos(th0), rad0 * sin(th0), rad1 * cos(th1), rad1 * sin(th1));
}
