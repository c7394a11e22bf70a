//! Degradations, seeded: blur (a known PSF), then noise (Gaussian, Poisson shot noise,
//! salt-and-pepper), then missing pixels (random, a rectangle, or a user mask). The same
//! description gives restoration its observation model: per-value precision `w` (1 / sigma^2,
//! 0 where unknown) and the blur operator.
//!
//! Missing pixels are written as mid-grey (0.5) so holes show on black digits and photos
//! alike; restoration never reads them (their precision is 0).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::picture::Picture;
use crate::restore::blur::{self, Psf};

/// The value written where a pixel is missing.
pub const MISSING_VALUE: f32 = 0.5;

/// The noise level assumed for observations that carry no stated noise: what 8-bit storage
/// and small model mismatches add. A precision of 1 / 0.01^2 keeps known pixels nearly exact.
pub const QUIET_SIGMA: f32 = 0.01;

/// The noise added after any blur, on values in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub enum Noise {
    None,
    /// Additive Gaussian noise of this standard deviation (on [0, 1]).
    Gaussian(f32),
    /// Shot noise: y = Poisson(peak x) / peak.
    Poisson(f32),
    /// Each value replaced by 0 or 1 (equally likely) with this probability.
    SaltPepper(f32),
}

/// Which pixels are missing (every channel of a missing pixel is), applied last.
#[derive(Clone, Debug, PartialEq)]
pub enum Mask {
    None,
    /// This fraction of pixels, chosen at random.
    Random(f32),
    /// A rectangle: x, y, width, height in pixels (clipped to the image).
    Rect([usize; 4]),
    /// One flag per pixel (row-major), true where missing.
    Pixels(Vec<bool>),
    /// Lines of text stamped over the image, strokes this many pixels wide
    /// ([`crate::restore::text_mask`]).
    Text(u32),
}

/// What a degradation does to an image, as far as choosing a classical baseline goes. Gaussian
/// and Poisson noise are `Noise`; salt-and-pepper is `Impulse`; missing pixels are `Mask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DegradationKind {
    Noise,
    Mask,
    Blur,
    Impulse,
}

/// A whole degradation: blur, then noise, then missing pixels; each part may be absent.
#[derive(Clone, Debug, PartialEq)]
pub struct Degradation {
    pub blur: Option<Psf>,
    pub noise: Noise,
    pub mask: Mask,
}

impl Degradation {
    /// No damage at all: the start of a `..Degradation::none()` literal.
    pub fn none() -> Self {
        Degradation {
            blur: None,
            noise: Noise::None,
            mask: Mask::None,
        }
    }

    /// Refuses impossible levels with a message naming the flag's meaning.
    pub fn validate(&self) -> Result<(), String> {
        match self.noise {
            Noise::Gaussian(s) if !(s.is_finite() && s > 0.0) => {
                return Err(format!(
                    "the noise sigma must be positive and finite, not {s}"
                ))
            }
            Noise::Poisson(p) if !(p.is_finite() && p > 0.0) => {
                return Err(format!(
                    "the Poisson peak must be positive and finite, not {p}"
                ))
            }
            Noise::SaltPepper(p) if !(0.0..=1.0).contains(&p) => {
                return Err(format!(
                    "the salt-and-pepper fraction must be in [0, 1], not {p}"
                ))
            }
            _ => {}
        }
        if let Mask::Random(f) = self.mask {
            if !(0.0..=1.0).contains(&f) {
                return Err(format!("the missing fraction must be in [0, 1], not {f}"));
            }
        }
        Ok(())
    }

    /// The missing pixels of a `height` x `width` image (true = missing), drawn from `rng`
    /// for a random mask.
    fn missing(&self, height: usize, width: usize, rng: &mut StdRng) -> Result<Vec<bool>, String> {
        let n = height * width;
        Ok(match &self.mask {
            Mask::None => vec![false; n],
            Mask::Random(f) => {
                // exactly round(f n) pixels, by a partial Fisher-Yates shuffle
                let k = (f * n as f32).round() as usize;
                let mut order: Vec<usize> = (0..n).collect();
                for i in 0..k.min(n) {
                    let j = rng.random_range(i..n);
                    order.swap(i, j);
                }
                let mut m = vec![false; n];
                order[..k.min(n)].iter().for_each(|&i| m[i] = true);
                m
            }
            Mask::Rect([x, y, w, h]) => (0..n)
                .map(|i| {
                    let (py, px) = (i / width, i % width);
                    (*x..x + w).contains(&px) && (*y..y + h).contains(&py)
                })
                .collect(),
            Mask::Pixels(m) => {
                if m.len() != n {
                    return Err(format!(
                        "the mask has {} pixels, the image {height}x{width} has {n}",
                        m.len()
                    ));
                }
                m.clone()
            }
            Mask::Text(scale) => crate::restore::text_mask::text_mask(height, width, *scale),
        })
    }

    /// The missing pixels a restoration is told about: a rectangle or a mask image (a random
    /// mask exists only where it was drawn; `restore` reads it back as a mask image).
    pub fn known_missing(&self, height: usize, width: usize) -> Result<Vec<bool>, String> {
        if let Mask::Random(_) = self.mask {
            return Err("random missing pixels must be given as a mask image".into());
        }
        self.missing(height, width, &mut StdRng::seed_from_u64(0))
    }

    /// The degraded picture and its missing pixels (per pixel position, row-major).
    pub fn apply(&self, clean: &Picture, seed: u64) -> Result<(Picture, Vec<bool>), String> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let (c, h, w) = (clean.channels, clean.height, clean.width);
        let mut data = match &self.blur {
            Some(psf) => blur::blur(psf, &clean.data, c, h, w),
            None => clean.data.clone(),
        };
        match self.noise {
            Noise::None => {}
            Noise::Gaussian(s) => data.iter_mut().for_each(|v| *v += s * normal(&mut rng)),
            Noise::Poisson(peak) => data
                .iter_mut()
                .for_each(|v| *v = poisson(&mut rng, peak * v.max(0.0)) / peak),
            Noise::SaltPepper(p) => data.iter_mut().for_each(|v| {
                if rng.random::<f32>() < p {
                    *v = if rng.random::<bool>() { 1.0 } else { 0.0 };
                }
            }),
        }
        let missing = self.missing(h, w, &mut rng)?;
        for ch in 0..c {
            for (i, &m) in missing.iter().enumerate() {
                if m {
                    data[ch * h * w + i] = MISSING_VALUE;
                }
            }
        }
        Ok((Picture::new(c, h, w, data), missing))
    }

    /// Restoration's per-value precision for an observation `y` degraded this way, with
    /// `missing` pixels: 0 where unknown (missing, or a detected impulse), else 1 / sigma^2
    /// with sigma the stated noise (Poisson: the shot noise's sigma at the 3 x 3 mean of y).
    pub fn precision(&self, y: &Picture, missing: &[bool]) -> Vec<f32> {
        let (h, w) = (y.height, y.width);
        let quiet = 1.0 / (QUIET_SIGMA * QUIET_SIGMA);
        let mut prec: Vec<f32> = match self.noise {
            Noise::None => vec![quiet; y.data.len()],
            Noise::Gaussian(s) => vec![1.0 / (s * s).max(QUIET_SIGMA * QUIET_SIGMA); y.data.len()],
            Noise::Poisson(peak) => (0..y.channels)
                .flat_map(|c| local_mean(y.plane(c), h, w))
                .map(|v| peak / (v.max(0.0) + 1.0 / peak))
                .collect(),
            Noise::SaltPepper(_) => {
                let mut p = vec![quiet; y.data.len()];
                for ch in 0..y.channels {
                    let plane = y.plane(ch);
                    for (i, imp) in impulses(plane, h, w).into_iter().enumerate() {
                        if imp {
                            p[ch * h * w + i] = 0.0;
                        }
                    }
                }
                p
            }
        };
        for ch in 0..y.channels {
            for (i, &m) in missing.iter().enumerate() {
                if m {
                    prec[ch * h * w + i] = 0.0;
                }
            }
        }
        prec
    }
}

/// The 3 x 3 mean around each value (over the neighbours inside the image): a steadier
/// estimate of the clean value than the noisy one, for the shot noise's variance.
fn local_mean(plane: &[f32], h: usize, w: usize) -> Vec<f32> {
    (0..h * w)
        .map(|i| {
            let (y, x) = (i / w, i % w);
            let (mut sum, mut n) = (0.0, 0.0);
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    sum += plane[yy * w + xx];
                    n += 1.0;
                }
            }
            sum / n
        })
        .collect()
}

/// Values that look like impulses: exactly 0 or 1 (as 8-bit files store salt and pepper) and
/// more than 0.25 away from the median of their 3 x 3 neighbourhood. A pepper value on a black
/// background is not flagged, and need not be: it is already right.
pub fn impulses(plane: &[f32], h: usize, w: usize) -> Vec<bool> {
    (0..h * w)
        .map(|i| {
            let v = plane[i];
            if v > 0.002 && v < 0.998 {
                return false;
            }
            let (y, x) = ((i / w) as isize, (i % w) as isize);
            let mut nb = Vec::with_capacity(9);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (yy, xx) = (y + dy, x + dx);
                    if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
                        nb.push(plane[yy as usize * w + xx as usize]);
                    }
                }
            }
            nb.sort_by(f32::total_cmp);
            (v - nb[nb.len() / 2]).abs() > 0.25
        })
        .collect()
}

/// A standard normal by Box-Muller.
pub fn normal(rng: &mut StdRng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// A Poisson draw of mean `lambda`: Knuth's product of uniforms below 30, a rounded normal
/// (mean lambda, variance lambda) above, where the two differ by less than 8-bit storage does.
pub fn poisson(rng: &mut StdRng, lambda: f32) -> f32 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda < 30.0 {
        let limit = (-lambda as f64).exp();
        let mut k = 0u32;
        let mut p = rng.random::<f64>();
        while p > limit {
            k += 1;
            p *= rng.random::<f64>();
        }
        k as f32
    } else {
        (lambda + lambda.sqrt() * normal(rng)).round().max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(c: usize, h: usize, w: usize) -> Picture {
        let n = c * h * w;
        Picture::new(c, h, w, (0..n).map(|i| (i % 17) as f32 / 16.0).collect())
    }

    #[test]
    fn noise_has_the_stated_spread_and_is_seeded() {
        let clean = ramp(1, 64, 64);
        let d = Degradation {
            noise: Noise::Gaussian(0.2),
            ..Degradation::none()
        };
        let (a, _) = d.apply(&clean, 7).unwrap();
        let (b, _) = d.apply(&clean, 7).unwrap();
        let (c, _) = d.apply(&clean, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let n = clean.data.len() as f32;
        let var: f32 = a
            .data
            .iter()
            .zip(&clean.data)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            / n;
        assert!((var.sqrt() - 0.2).abs() < 0.01, "sigma {}", var.sqrt());
    }

    #[test]
    fn poisson_has_mean_and_variance_lambda() {
        let mut rng = StdRng::seed_from_u64(1);
        for lambda in [0.5f32, 4.0, 60.0] {
            let draws: Vec<f32> = (0..20000).map(|_| poisson(&mut rng, lambda)).collect();
            let mean = draws.iter().sum::<f32>() / draws.len() as f32;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f32>() / draws.len() as f32;
            assert!(
                (mean - lambda).abs() < 0.05 * lambda.max(1.0),
                "{lambda}: mean {mean}"
            );
            assert!(
                (var - lambda).abs() < 0.1 * lambda.max(1.0),
                "{lambda}: var {var}"
            );
        }
    }

    #[test]
    fn masks_remove_what_they_say_and_get_zero_precision() {
        let clean = ramp(3, 10, 12);
        let d = Degradation {
            mask: Mask::Rect([2, 3, 4, 5]),
            ..Degradation::none()
        };
        let (y, missing) = d.apply(&clean, 1).unwrap();
        assert_eq!(missing.iter().filter(|&&m| m).count(), 20);
        let w = d.precision(&y, &missing);
        for ch in 0..3 {
            for i in 0..120 {
                let (py, px) = (i / 12, i % 12);
                let inside = (2..6).contains(&px) && (3..8).contains(&py);
                assert_eq!(missing[i], inside);
                assert_eq!(w[ch * 120 + i] == 0.0, inside);
                if inside {
                    assert_eq!(y.data[ch * 120 + i], MISSING_VALUE);
                }
            }
        }
        let random = Degradation {
            mask: Mask::Random(0.8),
            ..Degradation::none()
        };
        let (_, m) = random.apply(&clean, 3).unwrap();
        assert_eq!(m.iter().filter(|&&m| m).count(), 96);
        let wrong = Degradation {
            mask: Mask::Pixels(vec![true; 7]),
            ..Degradation::none()
        };
        assert!(wrong.apply(&clean, 1).unwrap_err().contains("7 pixels"));
    }

    #[test]
    fn impulses_are_found_and_smooth_values_are_not() {
        let (h, w) = (9, 9);
        let mut plane = vec![0.6f32; h * w];
        plane[40] = 1.0;
        plane[10] = 0.0;
        let found = impulses(&plane, h, w);
        assert!(found[40] && found[10]);
        assert_eq!(found.iter().filter(|&&f| f).count(), 2);
    }

    #[test]
    fn bad_levels_are_refused() {
        for noise in [
            Noise::Gaussian(0.0),
            Noise::Gaussian(f32::NAN),
            Noise::Poisson(-1.0),
            Noise::SaltPepper(1.5),
        ] {
            let d = Degradation {
                noise,
                ..Degradation::none()
            };
            assert!(d.validate().is_err(), "{d:?}");
        }
    }
}
