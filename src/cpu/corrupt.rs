//! The denoising VAE's input corruption, the CPU twin of `shaders/corrupt.wgsl`.

use crate::cpu::rng;

/// sigma_r = max_sigma * u_r, u_r uniform on (0, 1) from the block at counter
/// (r, step, stream, 1) (its first lane): one draw per row, apart from the per-pixel normals.
pub fn row_sigma(r: usize, step: u32, max_sigma: f32, seed: u64, stream: u32) -> f32 {
    let b = rng::philox4x32_10([r as u32, step, stream, 1], rng::seed_key(seed));
    max_sigma * rng::u01(b[0])
}

/// dst[r, c] = src[r, c] + sigma_r eps[r, c], eps element i of the normal stream
/// (seed, step, stream) as `reparam_forward` draws it; not clipped.
#[allow(clippy::too_many_arguments)]
pub fn corrupt_noise(
    dst: &mut [f32],
    src: &[f32],
    step: u32,
    rows: usize,
    dim: usize,
    max_sigma: f32,
    seed: u64,
    stream: u32,
) {
    let key = rng::seed_key(seed);
    let n = rows * dim;
    let sigmas: Vec<f32> = (0..rows)
        .map(|r| row_sigma(r, step, max_sigma, seed, stream))
        .collect();
    for g in 0..n.div_ceil(4) {
        let e = rng::normal4([g as u32, step, stream, 0], key);
        for (j, &ej) in e.iter().enumerate() {
            let i = g * 4 + j;
            if i < n {
                dst[i] = src[i] + sigmas[i / dim] * ej;
            }
        }
    }
}
