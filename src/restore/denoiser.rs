//! Restoration with a denoising VAE (`train --corrupt-noise`): its encoder has learnt to undo
//! noise, so the code is the encoder's (no MAP steps, which would pull it back toward
//! explaining the noise) and the result is the per-pixel posterior blend of the observation and
//! the reconstruction. How far the reconstruction is off depends on how noisy its input was,
//! so the decoder's variance scale is fitted per noise level: at the end of training on
//! crops of the training images (the checkpoint's `noise_var_scales`), or by `eval-restore
//! --photos` on its tuning crops. Each fitted scale is the one whose blend has the least squared error against
//! the clean pixels.

use crate::checkpoint::CheckpointMeta;
use crate::cpu::restore::{blend, pixel_variance, MeanKind};
use crate::error::GpuError;
use crate::picture::Picture;
use crate::restore::cases::{Case, Family};
use crate::restore::classical::biharmonic_fill;
use crate::restore::degrade::{Degradation, Mask, Noise};
use crate::restore::engine::Engine;
use crate::restore::evaluate::degrade_all;
use crate::restore::methods::{restore_many, Method, Settings};
use crate::restore::tiles::Plan;

/// Noise levels (on [0, 1]) of the table fitted at the end of training: 5 to 60 on 0-255.
pub const TABLE_SIGMAS: [f32; 8] = [
    5.0 / 255.0,
    10.0 / 255.0,
    15.0 / 255.0,
    20.0 / 255.0,
    25.0 / 255.0,
    35.0 / 255.0,
    50.0 / 255.0,
    60.0 / 255.0,
];

/// The variance floor of restoration's [`crate::restore::program::PixelVariance`].
const FLOOR: f32 = 1e-6;

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

/// Squared error of the blend of `obs` (precisions `w`) and `mean` under variance scale `c`.
fn blend_error(clean: &[f32], obs: &[f32], w: &[f32], mean: &[f32], kind: MeanKind, c: f32) -> f64 {
    let n = clean.len();
    let mut var = vec![0.0; n];
    let mut x = vec![0.0; n];
    pixel_variance(&mut var, mean, c, FLOOR, n, kind);
    blend(&mut x, obs, w, mean, &var, n);
    x.iter()
        .zip(clean)
        .map(|(&a, &b)| ((a - b) as f64).powi(2))
        .sum()
}

/// The variance scale in [1e-7, 10] whose blend is closest to `clean` (golden-section search
/// on its logarithm: the error is unimodal in the blend weight, which is monotone in it).
pub fn fit_blend_scale(clean: &[f32], obs: &[f32], w: &[f32], mean: &[f32], kind: MeanKind) -> f32 {
    let err = |t: f64| blend_error(clean, obs, w, mean, kind, t.exp() as f32);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (1e-7f64.ln(), 10f64.ln());
    let (mut a, mut b) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut fa, mut fb) = (err(a), err(b));
    for _ in 0..48 {
        if fa <= fb {
            hi = b;
            (b, fb) = (a, fa);
            a = hi - g * (hi - lo);
            fa = err(a);
        } else {
            lo = a;
            (a, fa) = (b, fb);
            b = lo + g * (hi - lo);
            fb = err(b);
        }
    }
    ((lo + hi) / 2.0).exp() as f32
}

/// Noise of `sigma` as an evaluation case (its name is only for messages).
fn noise_case(sigma: f32) -> Case {
    Case {
        name: format!("noise {:.1}", sigma * 255.0),
        family: Family::Noise,
        degradation: Degradation {
            noise: Noise::Gaussian(sigma),
            mask: Mask::None,
            blur: None,
        },
    }
}

/// The fitted scale for each of `sigmas`: `crops` (any size from the model's up, in the model's
/// channels) are damaged (seeded, 8-bit), restored by encode-decode through windows `step`
/// apart and stitched as `restore` does, and the blend's scale fitted on the stitched result.
/// Fitting after the stitch matters: averaging overlapping windows makes the reconstruction
/// better than any one window's, so a scale fitted window by window trusts it too little (on the
/// photo benchmark at sigma 15, 0.0020 window by window against 0.0011: 0.25 dB). For a Gaussian
/// decoder the per-window blend and the stitch commute, so this is exactly what restoring
/// computes; for a Bernoulli one, close to it.
pub fn fit_noise_table(
    engine: &mut dyn Engine,
    crops: &[Picture],
    sigmas: &[f32],
    step: Option<usize>,
    seed: u64,
) -> Result<Vec<[f32; 2]>, GpuError> {
    let cfg = engine.model().cfg.clone();
    let kind = engine.model().mean_kind();
    let truth: Vec<f32> = crops.iter().flat_map(|p| p.data.iter().copied()).collect();
    let settings = Settings::default();
    let mut table = Vec::with_capacity(sigmas.len());
    for &s in sigmas {
        let set = degrade_all(&noise_case(s), crops, seed).expect("noise applies to any image");
        let (mut obs, mut w, mut plans) = (Vec::new(), Vec::new(), Vec::new());
        let mut at = 0;
        for y in &set.pictures {
            let prec = &set.w[at..at + y.data.len()];
            at += y.data.len();
            let plan = Plan::with_step(y, prec, cfg.channels, cfg.height, cfg.width, step)
                .expect("crops in the model's channels");
            let (o, p) = plan.cut();
            obs.extend(o);
            w.extend(p);
            plans.push(plan);
        }
        let windows = restore_many(engine, &[Method::Project], &settings, &obs, &w, None, |_| {})?
            .remove(0);
        let per = cfg.input_dim();
        let mut mean = Vec::with_capacity(truth.len());
        let mut from = 0;
        for plan in &plans {
            let n = plan.window_count() * per;
            mean.extend(plan.stitch(&windows[from..from + n]).data);
            from += n;
        }
        table.push([s, fit_blend_scale(&truth, &set.obs, &set.w, &mean, kind)]);
    }
    Ok(table)
}

/// The table's scale at noise `sigma`: linear between its entries, the end's beyond them.
pub fn scale_at(table: &[[f32; 2]], sigma: f32) -> Option<f32> {
    let first = table.first()?;
    let last = table.last()?;
    if sigma <= first[0] {
        return Some(first[1]);
    }
    if sigma >= last[0] {
        return Some(last[1]);
    }
    table.windows(2).find_map(|p| {
        let ([s0, c0], [s1, c1]) = (p[0], p[1]);
        (sigma >= s0 && sigma <= s1).then(|| {
            let t = if s1 > s0 {
                (sigma - s0) / (s1 - s0)
            } else {
                0.0
            };
            c0 + t * (c1 - c0)
        })
    })
}

/// A table in one line: `15: 0.00120, 25: 0.00210` (sigma on 0-255: scale).
pub fn describe(table: &[[f32; 2]]) -> String {
    let cells: Vec<String> = table
        .iter()
        .map(|[s, c]| format!("{:.0}: {c:.5}", s * 255.0))
        .collect();
    cells.join(", ")
}

/// The checkpoint's fitted scale for a degradation's noise, when it has a table: Gaussian
/// noise at its sigma; otherwise (only 8-bit rounding, or another noise) the lowest level's.
pub fn scale_for(meta: &CheckpointMeta, d: &Degradation) -> Option<f32> {
    let table = meta.noise_var_scales.as_deref()?;
    let sigma = match d.noise {
        Noise::Gaussian(s) => s,
        _ => 0.0,
    };
    scale_at(table, sigma)
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

    #[test]
    fn the_fitted_scale_is_the_one_whose_blend_is_closest() {
        // a Gaussian decoder whose mean is off by e (variance 0.01) and an observation with
        // noise of variance 0.04: the best blend weight on the observation is 0.01 / 0.05, so
        // the best scale is the mean's own error variance, 0.01
        let n = 20_000;
        let clean: Vec<f32> = (0..n).map(|i| (i % 97) as f32 / 97.0).collect();
        let normals: Vec<f32> = (0..2 * n)
            .map(|i| crate::cpu::rng::normal_at(7, 0, 0, i))
            .collect();
        let mean: Vec<f32> = (0..n).map(|i| clean[i] + 0.1 * normals[i]).collect();
        let obs: Vec<f32> = (0..n).map(|i| clean[i] + 0.2 * normals[n + i]).collect();
        let w = vec![1.0 / 0.04; n];
        let c = fit_blend_scale(&clean, &obs, &w, &mean, MeanKind::Identity);
        assert!((c - 0.01).abs() < 0.001, "fitted {c}");
        let best = blend_error(&clean, &obs, &w, &mean, MeanKind::Identity, c);
        for other in [c * 0.7, c * 1.4] {
            assert!(blend_error(&clean, &obs, &w, &mean, MeanKind::Identity, other) > best);
        }
    }

    #[test]
    fn the_table_is_read_linearly_between_entries_and_flat_beyond() {
        let t = [[0.1, 1.0], [0.2, 3.0], [0.4, 4.0]];
        assert_eq!(scale_at(&t, 0.05), Some(1.0));
        assert!((scale_at(&t, 0.15).unwrap() - 2.0).abs() < 1e-6);
        assert!((scale_at(&t, 0.3).unwrap() - 3.5).abs() < 1e-6);
        assert_eq!(scale_at(&t, 0.9), Some(4.0));
        assert_eq!(scale_at(&[], 0.1), None);
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
