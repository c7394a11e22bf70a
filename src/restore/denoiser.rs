//! Restoration with a denoising VAE (`train --corrupt-noise`). Its encoder has learnt to undo
//! noise, so the code is the encoder's (no MAP steps, which would pull it back toward explaining
//! the noise): the windows are encoded and decoded on the GPU and stitched into the whole
//! image's reconstruction mu. How far mu is off varies across the image (flat sky: little;
//! texture and edges it smooths: much), so the last step is a per-pixel posterior mean with a
//! locally estimated prior variance: v = max(0, box mean of (y - mu)^2 - noise variance) over a
//! [`LOCAL_SIDE`]-pixel box, x = mu + v / (v + 1/w) (y - mu), an empirical-Bayes (local Wiener)
//! step on the residual, the same blend as `posterior`'s with the decoder's constant variance
//! replaced by the measured one. On the photo benchmark it is worth about 1.5 dB at sigma 15,
//! 0.6 at 25 and 0.1 at 50 over that constant (BENCHMARKS.md). Missing pixels are first filled
//! by the biharmonic fill for the encoder, and take mu. Like the stitch, these whole-image steps
//! run on the host.

use crate::checkpoint::CheckpointMeta;
use crate::model::op::MeanKind;
use crate::picture::Picture;
use crate::restore::classical::biharmonic_fill;
use crate::restore::degrade::QUIET_SIGMA;
use crate::restore::methods::Method;

/// Side of the box the reconstruction's local error is measured over: chosen on centre crops
/// of the 14 training photos (192x192, noise 15, 25 and 50; sides 5 to 15 tried, 13 best or
/// within 0.01 dB of the best at every level), never on the photos the benchmark scores.
pub const LOCAL_SIDE: usize = 13;

/// Whether the checkpoint is a denoising VAE's.
pub fn is_denoiser(meta: &CheckpointMeta) -> bool {
    meta.data
        .as_ref()
        .is_some_and(|d| d.corrupt_noise.is_some_and(|s| s > 0.0))
}

/// Adam steps on the code by default: none for a denoising VAE, else `otherwise`.
pub fn default_map_steps(meta: &CheckpointMeta, otherwise: usize) -> usize {
    if is_denoiser(meta) {
        0
    } else {
        otherwise
    }
}

/// Pixels between overlapping windows by default: a quarter of a window for a denoising VAE
/// (on the photo benchmark at sigma 25, 12x12 windows 3 apart score as well as 2 apart and 0.1
/// dB above 6 apart), else None (half a window).
pub fn default_window_step(meta: &CheckpointMeta) -> Option<usize> {
    let c = &meta.config;
    is_denoiser(meta).then(|| (c.height.min(c.width) / 4).max(1))
}

/// What runs on the windows for `method`, and whether [`local_blend`] follows the stitch: a
/// denoising VAE's `posterior` without a blur is its encode-decode, then the blend; everything
/// else is the method itself.
pub fn window_method(meta: &CheckpointMeta, method: Method, blur: bool) -> (Method, bool) {
    if is_denoiser(meta) && method == Method::Posterior && !blur {
        (Method::Project, true)
    } else {
        (method, false)
    }
}

/// The restored picture: `y` (precisions `w`, 0 = unknown, same layout) blended pixel by pixel
/// with the stitched reconstruction `mu` under the locally measured prior variance (see the
/// module docs): the decoder's variance shape ([`shape_of`]) times a scale measured over the
/// box, so that for a Gaussian decoder v is the box's excess squared residual itself. Boxes
/// are clipped at the border, and count only known pixels. A pixel whose precision is that of
/// no noise at all ([`QUIET_SIGMA`], which the damage gives known pixels of a mask) is kept, as
/// the `impute` fill keeps it.
pub fn local_blend(y: &Picture, w: &[f32], mu: &Picture, kind: MeanKind) -> Picture {
    let (h, wd) = (y.height, y.width);
    let n = h * wd;
    assert!(w.len() == y.data.len() && mu.data.len() == y.data.len());
    let exact = 1.0 / (QUIET_SIGMA * QUIET_SIGMA);
    let mut out = Vec::with_capacity(y.data.len());
    for c in 0..y.channels {
        let (yc, mc, wc) = (y.plane(c), mu.plane(c), &w[c * n..(c + 1) * n]);
        let known: Vec<f64> = wc.iter().map(|&p| (p > 0.0) as u8 as f64).collect();
        let r2: Vec<f64> = (0..n)
            .map(|i| known[i] * ((yc[i] - mc[i]) as f64).powi(2))
            .collect();
        let noise: Vec<f64> = (0..n)
            .map(|i| if wc[i] > 0.0 { 1.0 / wc[i] as f64 } else { 0.0 })
            .collect();
        let shape: Vec<f64> = (0..n).map(|i| known[i] * shape_of(mc[i], kind)).collect();
        let (ss, sr, sn) = (
            BoxSums::new(&shape, h, wd),
            BoxSums::new(&r2, h, wd),
            BoxSums::new(&noise, h, wd),
        );
        for i in 0..n {
            if wc[i] <= 0.0 {
                out.push(mc[i]);
                continue;
            }
            if wc[i] >= exact {
                // observed without noise (only 8-bit rounding): kept as it is
                out.push(yc[i]);
                continue;
            }
            let (row, col) = (i / wd, i % wd);
            let scale = (sr.around(row, col) - sn.around(row, col)).max(0.0)
                / ss.around(row, col).max(1e-12);
            let v = scale * shape_of(mc[i], kind);
            let gain = v / (v + noise[i]);
            out.push(mc[i] + (gain * (yc[i] - mc[i]) as f64) as f32);
        }
    }
    Picture::new(y.channels, h, wd, out)
}

/// How the decoder's variance varies with its mean, as `posterior` models it: mean (1 - mean)
/// for a Bernoulli decoder (sure of black and white, unsure between), 1 for a Gaussian one.
fn shape_of(mean: f32, kind: MeanKind) -> f64 {
    match kind {
        MeanKind::Sigmoid => (mean * (1.0 - mean)).max(0.0) as f64,
        MeanKind::Identity => 1.0,
    }
}

/// Sums over [`LOCAL_SIDE`]-pixel boxes of one plane in O(1) each (a summed-area table).
struct BoxSums {
    table: Vec<f64>,
    h: usize,
    w: usize,
}

impl BoxSums {
    fn new(plane: &[f64], h: usize, w: usize) -> Self {
        let mut table = vec![0.0; (h + 1) * (w + 1)];
        for r in 0..h {
            let mut row = 0.0;
            for c in 0..w {
                row += plane[r * w + c];
                table[(r + 1) * (w + 1) + c + 1] = table[r * (w + 1) + c + 1] + row;
            }
        }
        BoxSums { table, h, w }
    }

    /// The sum over the box centred on (r, c), clipped to the plane.
    fn around(&self, r: usize, c: usize) -> f64 {
        let half = LOCAL_SIDE / 2;
        let (r0, r1) = (r.saturating_sub(half), (r + half + 1).min(self.h));
        let (c0, c1) = (c.saturating_sub(half), (c + half + 1).min(self.w));
        let at = |r: usize, c: usize| self.table[r * (self.w + 1) + c];
        at(r1, c1) - at(r0, c1) - at(r1, c0) + at(r0, c0)
    }
}

/// `y` with its unknown pixels (precision 0 in `w`, same layout) filled by each channel's
/// biharmonic fill: the start a denoising VAE's encoder reads instead of a flat fill, which it
/// never saw in training, so that inpainting becomes denoising a plausible image. None when
/// every pixel is known.
pub fn prefill(y: &Picture, w: &[f32]) -> Option<Picture> {
    if !w.contains(&0.0) {
        return None;
    }
    let (h, wd) = (y.height, y.width);
    let data = (0..y.channels)
        .flat_map(|c| {
            let known: Vec<bool> = w[c * h * wd..(c + 1) * h * wd]
                .iter()
                .map(|&p| p > 0.0)
                .collect();
            biharmonic_fill(y.plane(c), &known, h, wd)
        })
        .collect();
    Some(Picture::new(y.channels, h, wd, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A noisy flat half and a noisy ramp half; mu is exact on the flat half and off by a
    /// ripple on the other: the blend keeps mu where it is right and trusts y where it is not,
    /// and leaves unknown pixels at mu.
    #[test]
    fn the_blend_trusts_the_reconstruction_where_it_fits_and_the_observation_where_it_does_not() {
        let (h, w) = (40, 80);
        let sigma = 0.1f32;
        let clean: Vec<f32> = (0..h * w)
            .map(|i| {
                if i % w < w / 2 {
                    0.5
                } else {
                    ((i % w) as f32 * 0.9).sin() * 0.3 + 0.5
                }
            })
            .collect();
        let noise: Vec<f32> = (0..h * w)
            .map(|i| sigma * crate::cpu::rng::normal_at(3, 0, 0, i))
            .collect();
        let y: Vec<f32> = clean.iter().zip(&noise).map(|(c, n)| c + n).collect();
        let mu: Vec<f32> = (0..h * w)
            .map(|i| {
                if i % w < w / 2 {
                    0.5
                } else {
                    0.5 + 0.3 * ((i % 7) as f32 - 3.0) / 3.0
                }
            })
            .collect();
        let mut prec = vec![1.0 / (sigma * sigma); h * w];
        prec[5 * w + 3] = 0.0;
        prec[6 * w + 60] = 1.0 / (QUIET_SIGMA * QUIET_SIGMA);
        let x = local_blend(
            &Picture::new(1, h, w, y.clone()),
            &prec,
            &Picture::new(1, h, w, mu.clone()),
            MeanKind::Identity,
        );
        assert_eq!(x.data[5 * w + 3], mu[5 * w + 3]);
        assert_eq!(x.data[6 * w + 60], y[6 * w + 60]);
        let err = |a: &[f32], left: bool| -> f64 {
            (0..h * w)
                .filter(|i| (i % w < w / 2) == left && i % w > 8 && i % w < w - 8)
                .map(|i| ((a[i] - clean[i]) as f64).powi(2))
                .sum()
        };
        // the flat half: much closer to mu (exact) than the noisy observation
        assert!(err(&x.data, true) < 0.2 * err(&y, true));
        // the ramp half: better than either mu (badly off) or y (noisy)
        assert!(err(&x.data, false) < err(&y, false));
        assert!(err(&x.data, false) < 0.5 * err(&mu, false));
    }

    #[test]
    fn box_sums_are_the_sums_over_the_clipped_box() {
        let (h, w) = (17, 23);
        let plane: Vec<f64> = (0..h * w).map(|i| ((i * 13) % 7) as f64).collect();
        let s = BoxSums::new(&plane, h, w);
        let half = LOCAL_SIDE as isize / 2;
        for (r, c) in [(0, 0), (8, 11), (16, 22), (3, 20)] {
            let mut want = 0.0;
            for rr in r as isize - half..=r as isize + half {
                for cc in c as isize - half..=c as isize + half {
                    if rr >= 0 && cc >= 0 && (rr as usize) < h && (cc as usize) < w {
                        want += plane[rr as usize * w + cc as usize];
                    }
                }
            }
            assert_eq!(s.around(r, c), want, "at ({r}, {c})");
        }
    }

    #[test]
    fn prefill_fills_only_unknown_pixels_per_channel() {
        let (h, w) = (6, 7);
        let data: Vec<f32> = (0..2 * h * w)
            .map(|i| ((i * 37) % 11) as f32 / 10.0)
            .collect();
        let y = Picture::new(2, h, w, data.clone());
        let all = vec![1.0; data.len()];
        assert!(prefill(&y, &all).is_none());
        // channel 0 misses every third pixel, channel 1 none
        let prec: Vec<f32> = (0..data.len())
            .map(|i| if i < h * w && i % 3 == 0 { 0.0 } else { 1.0 })
            .collect();
        let f = prefill(&y, &prec).unwrap();
        let known: Vec<bool> = prec[..h * w].iter().map(|&p| p > 0.0).collect();
        assert_eq!(
            &f.data[..h * w],
            &biharmonic_fill(y.plane(0), &known, h, w)[..]
        );
        assert_eq!(&f.data[h * w..], y.plane(1));
        assert!((0..h * w).any(|i| !known[i] && f.data[i] != data[i]));
    }

    #[test]
    fn only_a_denoising_model_skips_the_map_steps() {
        use crate::checkpoint::TrainingData;
        let mut meta = CheckpointMeta::new(crate::config::ModelConfig::default(), 1, 1, 1);
        assert_eq!(default_map_steps(&meta, 150), 150);
        assert_eq!(default_window_step(&meta), None);
        meta.data = Some(TrainingData {
            source: "x".into(),
            train_count: 1,
            test_count: 1,
            patch: None,
            augment: false,
            corrupt_noise: Some(0.2),
        });
        assert_eq!(default_map_steps(&meta, 150), 0);
        assert_eq!(default_window_step(&meta), Some(7));
        meta.data.as_mut().unwrap().corrupt_noise = None;
        assert_eq!(default_map_steps(&meta, 150), 150);
    }
}
