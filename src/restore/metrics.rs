//! Quality metrics for restored images against the clean originals: PSNR and SSIM, computed
//! as scikit-image computes them (checked against it in tests/restore_classical.rs), so the
//! numbers in `eval-restore`'s tables compare with the literature's. Images are `f32` in
//! [0, 1] (data range 1); the restored one is clipped to [0, 1] first, as a saved picture is.

use crate::restore::classical::gaussian_filter_f64;

/// SSIM's constants (Wang et al. 2004): C1 = (K1 L)^2, C2 = (K2 L)^2 with data range L = 1.
const K1: f64 = 0.01;
const K2: f64 = 0.03;
/// The Gaussian window: sigma 1.5 truncated at 3.5 sigma, i.e. 11 x 11 taps (skimage's choice
/// to match the paper's window).
const SIGMA: f64 = 1.5;
const TRUNCATE: f64 = 3.5;
const WIN: usize = 11;

fn clipped(v: &[f32]) -> impl Iterator<Item = f64> + '_ {
    v.iter().map(|&r| r.clamp(0.0, 1.0) as f64)
}

/// Peak signal-to-noise ratio in dB, `10 log10(1 / MSE)`, MSE in f64 over all values (planes
/// included), as skimage's `peak_signal_noise_ratio(clean, clip(restored), data_range=1)`.
/// Identical images give `f64::INFINITY`; callers averaging PSNR over a set should expect it.
/// Panics if the lengths differ or the images are empty.
pub fn psnr(clean: &[f32], restored: &[f32]) -> f64 {
    assert_eq!(clean.len(), restored.len(), "psnr: image sizes differ");
    assert!(!clean.is_empty(), "psnr: empty image");
    let se: f64 = clean
        .iter()
        .zip(clipped(restored))
        .map(|(&c, r)| (c as f64 - r) * (c as f64 - r))
        .sum();
    let mse = se / clean.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        -10.0 * mse.log10()
    }
}

/// Mean structural similarity (Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment:
/// from error visibility to structural similarity", IEEE TIP 2004) of one `height` x `width`
/// plane, as skimage's `structural_similarity(clean, clip(restored), gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False, data_range=1.0)`: local means, variances and
/// covariance under an 11 x 11 Gaussian window (scipy's reflect border), the SSIM map
/// `(2 mx my + C1)(2 sxy + C2) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2))`, averaged after
/// dropping a 5-pixel border, in f64. In [-1, 1]; 1 for identical images.
///
/// Small images, where skimage raises (a side under 11): the window still works (the border
/// reflects again, as scipy's filters do), and an axis shorter than 11 pixels is averaged
/// whole instead of cropped, so the answer is defined for any size of at least 1 x 1.
/// Panics if the lengths are not `height * width` or the image is empty.
pub fn ssim(clean: &[f32], restored: &[f32], height: usize, width: usize) -> f64 {
    let n = height * width;
    assert!(n > 0, "ssim: empty image");
    assert_eq!(clean.len(), n, "ssim: clean is not {height} x {width}");
    assert_eq!(
        restored.len(),
        n,
        "ssim: restored is not {height} x {width}"
    );
    let x: Vec<f64> = clean.iter().map(|&v| v as f64).collect();
    let y: Vec<f64> = clipped(restored).collect();
    let filter = |v: &[f64]| gaussian_filter_f64(v, height, width, SIGMA, TRUNCATE);
    let product = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).collect::<Vec<_>>();
    let (mx, my) = (filter(&x), filter(&y));
    let (mxx, myy, mxy) = (
        filter(&product(&x, &x)),
        filter(&product(&y, &y)),
        filter(&product(&x, &y)),
    );
    let (c1, c2) = (K1 * K1, K2 * K2);
    let s = |k: usize| {
        let (ux, uy) = (mx[k], my[k]);
        let (vx, vy, vxy) = (mxx[k] - ux * ux, myy[k] - uy * uy, mxy[k] - ux * uy);
        ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    };
    // skimage crops (WIN - 1) / 2 on each side; an axis too short for that keeps all of it.
    let crop = |side: usize| if side >= WIN { (WIN - 1) / 2 } else { 0 };
    let (cy, cx) = (crop(height), crop(width));
    let mut sum = 0.0;
    for yy in cy..height - cy {
        for xx in cx..width - cx {
            sum += s(yy * width + xx);
        }
    }
    sum / ((height - 2 * cy) * (width - 2 * cx)) as f64
}

/// SSIM of planar `channels` x `height` x `width` images: the mean of the per-plane SSIMs, as
/// skimage's `structural_similarity(..., channel_axis=...)`.
pub fn ssim_multichannel(
    clean: &[f32],
    restored: &[f32],
    channels: usize,
    height: usize,
    width: usize,
) -> f64 {
    let n = height * width;
    assert_eq!(clean.len(), channels * n, "ssim_multichannel: clean size");
    assert_eq!(
        restored.len(),
        channels * n,
        "ssim_multichannel: restored size"
    );
    assert!(channels > 0, "ssim_multichannel: no channels");
    (0..channels)
        .map(|c| {
            let plane = c * n..(c + 1) * n;
            ssim(&clean[plane.clone()], &restored[plane], height, width)
        })
        .sum::<f64>()
        / channels as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(h: usize, w: usize) -> Vec<f32> {
        (0..h * w)
            .map(|k| {
                let (y, x) = ((k / w) as f32, (k % w) as f32);
                0.5 + 0.4 * (0.7 * x + 0.3 * y).sin() * (0.2 * y).cos()
            })
            .collect()
    }

    #[test]
    fn psnr_of_a_known_error_and_of_identical_images() {
        let clean = vec![0.5f32; 100];
        let off: Vec<f32> = clean.iter().map(|v| v + 0.1).collect();
        // MSE 0.01 -> 20 dB (f32 rounding of 0.6 - 0.5 leaves ~1e-6 dB)
        assert!(
            (psnr(&clean, &off) - 20.0).abs() < 1e-5,
            "{}",
            psnr(&clean, &off)
        );
        assert_eq!(psnr(&clean, &clean), f64::INFINITY);
        // clipping: 1.7 counts as 1.0, -3 as 0
        let a = vec![1.0f32, 0.0];
        assert_eq!(psnr(&a, &[1.7, -3.0]), f64::INFINITY);
    }

    #[test]
    fn ssim_is_one_for_identical_and_drops_with_noise_and_symmetric() {
        let (h, w) = (28, 28);
        let clean = pattern(h, w);
        assert!((ssim(&clean, &clean, h, w) - 1.0).abs() < 1e-12);
        let noisy: Vec<f32> = clean
            .iter()
            .enumerate()
            .map(|(k, v)| v + if (k * 7919) % 13 < 6 { 0.08 } else { -0.08 })
            .collect();
        let s = ssim(&clean, &noisy, h, w);
        assert!(s < 0.95 && s > 0.2, "{s}");
        assert!((s - ssim(&noisy, &clean, h, w)).abs() < 1e-12);
        let worse: Vec<f32> = clean.iter().map(|v| 1.0 - v).collect();
        assert!(ssim(&clean, &worse, h, w) < 0.0);
    }

    #[test]
    fn ssim_of_tiny_images_is_defined() {
        for (h, w) in [(1, 1), (3, 5), (7, 7), (10, 28)] {
            let clean = pattern(h, w);
            let s = ssim(&clean, &clean, h, w);
            assert!((s - 1.0).abs() < 1e-12, "{h}x{w}: {s}");
            let shifted: Vec<f32> = clean.iter().map(|v| v * 0.5).collect();
            let s = ssim(&clean, &shifted, h, w);
            assert!(s.is_finite() && s < 1.0, "{h}x{w}: {s}");
        }
    }

    #[test]
    fn multichannel_is_the_mean_of_planes() {
        let (h, w) = (12, 13);
        let a = pattern(h, w);
        let b: Vec<f32> = a.iter().map(|v| v * 0.9 + 0.03).collect();
        let clean = [a.clone(), a.clone()].concat();
        let restored = [a.clone(), b.clone()].concat();
        let m = ssim_multichannel(&clean, &restored, 2, h, w);
        assert!((m - (1.0 + ssim(&a, &b, h, w)) / 2.0).abs() < 1e-12);
    }
}
