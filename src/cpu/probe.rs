//! CPU twins of probe.wgsl, trivial on purpose: they only show that a probe ran in full.

/// What invocation `i` of `fma_peak` stores: 4 vec4 chains of `iters` rounds a = a m + c from
/// the kernel's starting values, summed in the kernel's order.
pub fn fma_peak(i: u32, iters: u32, m: f32, c: f32) -> [f32; 4] {
    let s = (i % 1024) as f32 * 0.000_976_562_5;
    let mut out = [0.0f32; 4];
    for (lane, o) in out.iter_mut().enumerate() {
        let start = s + 0.125 * lane as f32;
        let mut sum = 0.0f32;
        for chain in 0..4 {
            let mut a = start + 0.5 * chain as f32;
            for _ in 0..iters {
                a = a * m + c;
            }
            sum = if chain == 0 { a } else { sum + a };
        }
        *o = sum;
    }
    out
}

/// `copy_vec4`: dst = src.
pub fn copy_vec4(dst: &mut [f32], src: &[f32]) {
    dst.copy_from_slice(src);
}
