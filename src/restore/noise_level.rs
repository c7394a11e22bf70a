//! How much Gaussian noise a picture holds, estimated from the picture alone, so `restore`
//! works on a noisy photo whose sigma nobody knows (`--noise-sigma auto`).
//!
//! Immerkaer's fast estimator (J. Immerkaer, "Fast noise variance estimation", CVIU 64(2),
//! 1996): the 3x3 mask `[1 -2 1; -2 4 -2; 1 -2 1]`, the difference of two Laplacians, cancels
//! every plane and every quadratic surface, so on smooth parts of an image it sees only the
//! noise: sigma = sqrt(pi / 2) / 6 * mean |I * mask| (the mask's squares sum to 36). Texture
//! and edges leak through the mask and read as noise, so the mean runs over the flattest parts
//! only: the picture is cut into blocks of [`BLOCK`]^2 responses, and the estimate is the mean
//! response of the flattest [`FLAT_QUANTILE`] of blocks, divided by the factor by which that
//! selection under-reads pure noise ([`FLAT_BIAS`], measured). Clipping at 0 and 1 hides noise
//! in dark and bright areas, so blocks whose mean lies within two sigmas of either end are left
//! out, the others' responses are divided by how much clipping shrinks noise around their mean,
//! and the estimate is taken again (three rounds). Per channel; the picture's estimate is
//! the channels' mean (a colour photo's noise is one sigma in every channel, as `degrade`
//! draws it). Accuracy on photos: BENCHMARKS.md ("Noise level estimation").
//!
//! A CPU pass, not a kernel: one read of the picture before any GPU work, whose result (one
//! number) decides the restoration's settings.

use crate::picture::Picture;

/// Side of the blocks of responses whose means are ranked.
const BLOCK: usize = 16;

/// The fraction of blocks, flattest first, whose responses estimate the noise.
pub const FLAT_QUANTILE: f64 = 0.3;

/// The mean response of the flattest [`FLAT_QUANTILE`] of 16x16 blocks over that of all of
/// them, on pure Gaussian noise (512x512, four seeds: 0.902): the selection under-reads the
/// noise by this factor, so the estimate is divided by it.
pub const FLAT_BIAS: f64 = 0.902;

/// sqrt(pi / 2) / 6: the mean absolute response of Immerkaer's mask to unit Gaussian noise is
/// 6 sqrt(2 / pi).
const SCALE: f64 = 0.208_890_862_808_113_1;

/// Rounds of leaving out the blocks that clipping may have flattened.
const CLIP_ROUNDS: usize = 3;

/// The estimated standard deviation (on [0, 1]) of the Gaussian noise in each channel of
/// `picture`; 0 for a channel too small to hold one block.
pub fn channel_sigmas(picture: &Picture) -> Vec<f32> {
    (0..picture.channels)
        .map(|c| plane_sigma(picture.plane(c), picture.height, picture.width) as f32)
        .collect()
}

/// The picture's noise level: the mean of [`channel_sigmas`].
pub fn estimate_sigma(picture: &Picture) -> f32 {
    picture_sigma(&channel_sigmas(picture))
}

/// The picture's noise level from its [`channel_sigmas`]: their mean.
pub fn picture_sigma(channels: &[f32]) -> f32 {
    channels.iter().sum::<f32>() / channels.len().max(1) as f32
}

/// The estimate for one `h` x `w` plane.
fn plane_sigma(plane: &[f32], h: usize, w: usize) -> f64 {
    if h < BLOCK + 2 || w < BLOCK + 2 {
        return 0.0;
    }
    let response = |y: usize, x: usize| -> f64 {
        let p = |dy: usize, dx: usize| plane[(y + dy - 1) * w + x + dx - 1] as f64;
        let corners = p(0, 0) + p(0, 2) + p(2, 0) + p(2, 2);
        let edges = p(0, 1) + p(1, 0) + p(1, 2) + p(2, 1);
        (corners - 2.0 * edges + 4.0 * p(1, 1)).abs()
    };
    // (mean response, mean value) of each whole block of the (h - 2) x (w - 2) interior
    let (ih, iw) = (h - 2, w - 2);
    let mut blocks = Vec::with_capacity((ih / BLOCK) * (iw / BLOCK));
    for by in (0..=ih - BLOCK).step_by(BLOCK) {
        for bx in (0..=iw - BLOCK).step_by(BLOCK) {
            let (mut r, mut v) = (0.0, 0.0);
            for y in by + 1..by + 1 + BLOCK {
                for x in bx + 1..bx + 1 + BLOCK {
                    r += response(y, x);
                    v += plane[y * w + x] as f64;
                }
            }
            let n = (BLOCK * BLOCK) as f64;
            blocks.push((r / n, v / n));
        }
    }
    // the flattest blocks among those whose mean lies in [lo, hi], each block's response
    // divided by how much clipping at 0 and 1 shrinks noise of `sigma` around its mean
    let flattest = |lo: f64, hi: f64, sigma: Option<f64>| -> Option<f64> {
        let mut kept: Vec<(f64, f64)> = blocks
            .iter()
            .filter(|(_, v)| (lo..=hi).contains(v))
            .copied()
            .collect();
        if kept.is_empty() {
            return None;
        }
        kept.sort_by(|a, b| a.0.total_cmp(&b.0));
        let keep = ((kept.len() as f64 * FLAT_QUANTILE).ceil() as usize).max(1);
        let sum: f64 = kept[..keep]
            .iter()
            .map(|&(r, v)| r / sigma.map_or(1.0, |s| clipped_ratio(v, s)))
            .sum();
        Some(SCALE * sum / keep as f64 / FLAT_BIAS)
    };
    let mut sigma = flattest(f64::NEG_INFINITY, f64::INFINITY, None).expect("at least one block");
    for _ in 0..CLIP_ROUNDS {
        match flattest(2.0 * sigma, 1.0 - 2.0 * sigma, Some(sigma)) {
            Some(s) => sigma = s,
            None => break,
        }
    }
    sigma
}

/// The standard deviation of `clip(m + sigma Z, 0, 1)` over `sigma`, Z standard normal: how
/// much clipping shrinks noise around a mean of `m` (1 far from 0 and 1).
fn clipped_ratio(m: f64, sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return 1.0;
    }
    let (a, b) = (-m / sigma, (1.0 - m) / sigma);
    let (pa, pb) = (normal_cdf(a), normal_cdf(b));
    let (da, db) = (normal_pdf(a), normal_pdf(b));
    let inside = pb - pa;
    let mean = (1.0 - pb) + m * inside + sigma * (da - db);
    let square = (1.0 - pb)
        + m * m * inside
        + 2.0 * m * sigma * (da - db)
        + sigma * sigma * (inside + a * da - b * db);
    let var = (square - mean * mean).max(0.0);
    (var.sqrt() / sigma).clamp(0.05, 1.0)
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal CDF through erf (Abramowitz and Stegun 7.1.26, error under 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::degrade::{Degradation, Noise};

    /// `base` under Gaussian noise of `sigma`, as `degrade` adds it (not clipped: the bases
    /// stay well inside [0, 1]).
    fn noisy(h: usize, w: usize, sigma: f32, base: impl Fn(usize, usize) -> f32) -> Picture {
        let clean = Picture::new(1, h, w, (0..h * w).map(|i| base(i / w, i % w)).collect());
        if sigma == 0.0 {
            return clean;
        }
        let d = Degradation {
            noise: Noise::Gaussian(sigma),
            ..Degradation::none()
        };
        d.apply(&clean, 7).unwrap().0
    }

    /// On pure noise the flattest blocks' correction gives the noise back, and a plane or a
    /// quadratic surface under the noise changes nothing (the mask cancels both).
    #[test]
    fn noise_over_smooth_surfaces_reads_as_its_sigma() {
        for sigma in [0.02f32, 0.05, 0.1] {
            for (what, base) in [
                (
                    "flat",
                    Box::new(|_, _| 0.5f32) as Box<dyn Fn(usize, usize) -> f32>,
                ),
                ("ramp", Box::new(|y, x| 0.3 + 0.0005 * (y + 2 * x) as f32)),
                (
                    "bowl",
                    Box::new(|y, x| 0.3 + 2e-6 * ((y * y + x * x) as f32)),
                ),
            ] {
                let got = estimate_sigma(&noisy(256, 256, sigma, base));
                assert!(
                    (got / sigma - 1.0).abs() < 0.04,
                    "{what} sigma {sigma}: estimated {got}"
                );
            }
        }
    }

    /// Noise in dark parts, clipped at 0, is left out instead of pulling the estimate down.
    #[test]
    fn clipped_areas_do_not_hide_the_noise() {
        let sigma = 0.15;
        let clean = noisy(256, 256, 0.0, |_, x| if x < 128 { 0.0 } else { 0.5 });
        let d = Degradation {
            noise: Noise::Gaussian(sigma),
            ..Degradation::none()
        };
        let y = d.apply(&clean, 3).unwrap().0.quantised();
        let got = estimate_sigma(&y);
        assert!((got / sigma - 1.0).abs() < 0.05, "estimated {got}");
    }

    /// Clipping shrinks nothing far from the ends and much at them: the ratio against the
    /// spread of sampled, clipped noise.
    #[test]
    fn clipped_ratio_matches_sampled_noise() {
        assert!((clipped_ratio(0.5, 0.05) - 1.0).abs() < 1e-6);
        for (m, s) in [(0.0, 0.1), (0.2, 0.2), (0.9, 0.15)] {
            let clean = Picture::new(1, 200, 200, vec![m as f32; 40_000]);
            let d = Degradation {
                noise: Noise::Gaussian(s as f32),
                ..Degradation::none()
            };
            let y = d.apply(&clean, 5).unwrap().0;
            let v: Vec<f64> = y.data.iter().map(|&x| x.clamp(0.0, 1.0) as f64).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            let want = sd / s;
            assert!(
                (clipped_ratio(m, s) - want).abs() < 0.01,
                "m {m} sigma {s}: {} against sampled {want}",
                clipped_ratio(m, s)
            );
        }
    }

    #[test]
    fn a_clean_smooth_picture_reads_as_noise_free_and_tiny_ones_as_zero() {
        let p = noisy(64, 64, 0.0, |y, x| 0.3 + 0.002 * (y + x) as f32);
        assert!(estimate_sigma(&p) < 1e-6);
        assert_eq!(estimate_sigma(&Picture::new(1, 2, 9, vec![0.5; 18])), 0.0);
    }

    /// Per channel: a colour picture with noise in one channel only reads that channel's
    /// level there and about none elsewhere.
    #[test]
    fn channels_are_estimated_apart() {
        let grey = noisy(128, 128, 0.1, |_, _| 0.5);
        let flat = vec![0.5; 128 * 128];
        let data = [flat.clone(), grey.data.clone(), flat].concat();
        let s = channel_sigmas(&Picture::new(3, 128, 128, data));
        assert!(s[0] < 1e-6 && s[2] < 1e-6, "{s:?}");
        assert!((s[1] / 0.1 - 1.0).abs() < 0.05, "{s:?}");
    }
}
