//! Philox4x32-10 (Random123), bit for bit the words of `shaders/rng.wgsl`, and the same
//! uniform and Box-Muller conversions in f32.

/// Philox4x32 round multiplier for counter word 0.
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Philox4x32 round multiplier for counter word 2.
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Weyl increment added to key word 0 between rounds (the golden ratio).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Weyl increment added to key word 1 between rounds (sqrt(3) - 1).
pub const PHILOX_W1: u32 = 0xBB67_AE85;

fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

fn round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(PHILOX_M0, ctr[0]);
    let (hi1, lo1) = mulhilo(PHILOX_M1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Ten rounds of Philox4x32 on `counter` under `key`.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut ctr = round(counter, key);
    let mut key = key;
    for _ in 1..10 {
        key = [
            key[0].wrapping_add(PHILOX_W0),
            key[1].wrapping_add(PHILOX_W1),
        ];
        ctr = round(ctr, key);
    }
    ctr
}

/// Top 24 bits to a float strictly inside (0, 1).
pub fn u01(x: u32) -> f32 {
    (x >> 8) as f32 * (1.0 / 16_777_216.0) + 0.5 / 16_777_216.0
}

/// Four standard normals from one Philox block: Box-Muller on (u0, u1) and (u2, u3).
pub fn normal4(counter: [u32; 4], key: [u32; 2]) -> [f32; 4] {
    let r = philox4x32_10(counter, key);
    let u = r.map(u01);
    let rad0 = (-2.0 * u[0].ln()).sqrt();
    let rad1 = (-2.0 * u[2].ln()).sqrt();
    let th0 = 6.283_185_5 * u[1];
    let th1 = 6.283_185_5 * u[3];
    [
        rad0 * th0.cos(),
        rad0 * th0.sin(),
        rad1 * th1.cos(),
        rad1 * th1.sin(),
    ]
}

/// The key wgvae uses for a 64-bit seed.
pub fn seed_key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Element `i` of the normal stream (seed, step, stream): lane i % 4 of block i / 4.
pub fn normal_at(seed: u64, step: u32, stream: u32, i: usize) -> f32 {
    normal4([(i / 4) as u32, step, stream, 0], seed_key(seed))[i % 4]
}
