//! What a front end asks of a restoration before it meets a picture: the damage as a user
//! describes it (a noise level or `auto`, a blur, a mask), and the model or none (then the
//! picture's own). [`DamageSpec::degradation`] and [`model_for`] turn that into a
//! [`Degradation`] and a model for each picture in one place, so that the command line, the
//! server and the Python module restore a picture alike from the same settings. Messages name
//! the command's flags, which the other front ends name their fields after.

use crate::picture::Picture;
use crate::restore::blur::Psf;
use crate::restore::degrade::{Degradation, Mask, Noise};
use crate::restore::noise_level;
use crate::restore::prior::{BuiltinModel, ModelSource};
use crate::restore::RestoreError;

/// A Gaussian noise level as given: a standard deviation on [0, 1], or estimated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoiseSigma {
    /// Estimated from the picture ([`auto_sigma`]).
    Auto,
    /// This standard deviation, on [0, 1].
    Value(f32),
}

impl std::str::FromStr for NoiseSigma {
    type Err = String;

    /// `auto`, or a positive finite number.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(NoiseSigma::Auto);
        }
        match s.trim().parse::<f32>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(NoiseSigma::Value(v)),
            _ => Err("must be positive and finite (or auto)".to_string()),
        }
    }
}

/// `--blur-size`'s default: the Gaussian PSF's side chosen from its sigma ([`Psf::gaussian`]).
pub const AUTO_BLUR_SIZE: usize = 0;

/// The damage as the user describes it, each field one of the command's flags. At most one
/// noise, one mask and one blur may be given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DamageSpec {
    /// `--noise-sigma`.
    pub noise_sigma: Option<NoiseSigma>,
    /// `--poisson-peak`.
    pub poisson_peak: Option<f32>,
    /// `--salt-pepper`.
    pub salt_pepper: Option<f32>,
    /// `--mask`: the missing pixels, row by row (true = missing), already checked against the
    /// picture's size ([`crate::restore::mask`]).
    pub mask: Option<Vec<bool>>,
    /// `--mask-rect`: x, y, width, height.
    pub mask_rect: Option<[usize; 4]>,
    /// `--blur-sigma`, with `--blur-size` (the PSF's side; [`AUTO_BLUR_SIZE`] sizes it from
    /// sigma).
    pub blur_sigma: Option<(f32, usize)>,
    /// `--box-blur`: the box's side.
    pub box_blur: Option<usize>,
    /// `--motion-blur`: length and angle in degrees.
    pub motion_blur: Option<(usize, f32)>,
}

impl DamageSpec {
    /// Whether any damage is described at all.
    pub fn told(&self) -> bool {
        self.noise_sigma.is_some()
            || self.poisson_peak.is_some()
            || self.salt_pepper.is_some()
            || self.mask.is_some()
            || self.mask_rect.is_some()
            || self.blur_sigma.is_some()
            || self.box_blur.is_some()
            || self.motion_blur.is_some()
    }

    /// This damage, or, when none is described, Gaussian noise of an estimated level: what
    /// `restore` assumes of a photo nobody describes (the common case: a noisy photo).
    pub fn or_estimated_noise(mut self) -> Self {
        if !self.told() {
            self.noise_sigma = Some(NoiseSigma::Auto);
        }
        self
    }

    /// The degradation `restore` assumes of `picture`: this damage, or Gaussian noise of the
    /// level [`auto_sigma`] estimates when none is described ([`Self::or_estimated_noise`]),
    /// with that estimate when one was made.
    pub fn restoring(self, picture: &Picture) -> Result<(Degradation, Option<f32>), RestoreError> {
        let spec = self.or_estimated_noise();
        let estimate = spec.estimates_noise().then(|| auto_sigma(picture));
        let deg = spec.degradation(picture.height, picture.width, estimate, None)?;
        Ok((deg, estimate))
    }

    /// Whether the noise level is to be estimated from the picture.
    pub fn estimates_noise(&self) -> bool {
        self.noise_sigma == Some(NoiseSigma::Auto)
    }

    /// The degradation of a `height` x `width` picture: `estimate` is its noise level when
    /// [`Self::estimates_noise`] ([`auto_sigma`]), `missing` a random fraction to add
    /// (`degrade --missing`). Usage errors for contradictory damage, picture errors for damage
    /// that does not fit this picture.
    pub fn degradation(
        &self,
        height: usize,
        width: usize,
        estimate: Option<f32>,
        missing: Option<f32>,
    ) -> Result<Degradation, RestoreError> {
        let usage = |m: &str| RestoreError::Usage(m.to_string());
        let gaussian = match self.noise_sigma {
            None => None,
            Some(NoiseSigma::Value(s)) => Some(s),
            Some(NoiseSigma::Auto) => Some(estimate.ok_or_else(|| {
                usage(
                    "--noise-sigma auto estimates the noise of a picture to restore; give a \
                     level",
                )
            })?),
        };
        let noises: Vec<Noise> = [
            gaussian.map(Noise::Gaussian),
            self.poisson_peak.map(Noise::Poisson),
            self.salt_pepper.map(Noise::SaltPepper),
        ]
        .into_iter()
        .flatten()
        .collect();
        if noises.len() > 1 {
            return Err(usage(
                "give at most one of --noise-sigma, --poisson-peak and --salt-pepper",
            ));
        }
        let mut masks = Vec::new();
        if let Some(m) = &self.mask {
            if m.len() != height * width {
                return Err(RestoreError::Picture {
                    index: 0,
                    message: format!(
                        "the mask has {} pixels, the {width}x{height} picture {}",
                        m.len(),
                        height * width
                    ),
                });
            }
            masks.push(Mask::Pixels(m.clone()));
        }
        if let Some(r) = self.mask_rect {
            if r[0] >= width || r[1] >= height {
                return Err(RestoreError::Picture {
                    index: 0,
                    message: format!(
                        "--mask-rect {},{},{},{} starts outside the {height}x{width} image",
                        r[0], r[1], r[2], r[3]
                    ),
                });
            }
            masks.push(Mask::Rect(r));
        }
        if let Some(f) = missing {
            masks.push(Mask::Random(f));
        }
        if masks.len() > 1 {
            return Err(usage(
                "give at most one of --mask, --mask-rect and --missing",
            ));
        }
        let blurs: Vec<Psf> = [
            self.blur_sigma.map(|(s, size)| Psf::gaussian(s, size)),
            self.box_blur.map(Psf::boxed),
            self.motion_blur.map(|(l, a)| Psf::motion(l, a)),
        ]
        .into_iter()
        .flatten()
        .collect::<Result<_, String>>()
        .map_err(RestoreError::Usage)?;
        if blurs.len() > 1 {
            return Err(usage(
                "give at most one of --blur-sigma, --box-blur and --motion-blur",
            ));
        }
        let deg = Degradation {
            blur: blurs.into_iter().next(),
            noise: noises.into_iter().next().unwrap_or(Noise::None),
            mask: masks.into_iter().next().unwrap_or(Mask::None),
        };
        deg.validate().map_err(RestoreError::Usage)?;
        Ok(deg)
    }
}

/// The noise level `--noise-sigma auto` restores from: the picture's estimate
/// ([`noise_level::estimate_sigma`]), kept above half a grey level (a clean 8-bit picture
/// still has its rounding, and the level must be positive).
pub fn auto_sigma(picture: &Picture) -> f32 {
    noise_level::estimate_sigma(picture).max(0.5 / 255.0)
}

/// The model to restore `picture` with: `chosen`, or else the built-in one that suits it
/// ([`BuiltinModel::for_picture`]) with the reason, for a front end to show.
pub fn model_for(chosen: Option<&ModelSource>, picture: &Picture) -> (ModelSource, Option<String>) {
    match chosen {
        Some(source) => (source.clone(), None),
        None => {
            let (model, why) = BuiltinModel::for_picture(picture);
            (ModelSource::Builtin(model), Some(why.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_sigma_reads_auto_and_positive_numbers_only() {
        assert_eq!("auto".parse(), Ok(NoiseSigma::Auto));
        assert_eq!(" AUTO ".parse(), Ok(NoiseSigma::Auto));
        assert_eq!("0.1".parse(), Ok(NoiseSigma::Value(0.1)));
        for bad in ["0", "-0.1", "nan", "inf", "x", ""] {
            assert!(bad.parse::<NoiseSigma>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nothing_described_means_estimated_noise() {
        let spec = DamageSpec::default().or_estimated_noise();
        assert!(spec.estimates_noise());
        let deg = spec.degradation(8, 8, Some(0.05), None).unwrap();
        assert_eq!(deg.noise, Noise::Gaussian(0.05));
        // a described damage is kept as it is
        let blur = DamageSpec {
            blur_sigma: Some((1.5, 13)),
            ..DamageSpec::default()
        }
        .or_estimated_noise();
        assert!(blur.noise_sigma.is_none());
        // auto without an estimate is the caller's mistake
        let err = spec.degradation(8, 8, None, None).unwrap_err();
        assert!(matches!(err, RestoreError::Usage(_)), "{err}");
    }

    #[test]
    fn contradictions_and_misfits_are_refused() {
        let two_noises = DamageSpec {
            noise_sigma: Some(NoiseSigma::Value(0.1)),
            salt_pepper: Some(0.1),
            ..DamageSpec::default()
        };
        assert!(matches!(
            two_noises.degradation(8, 8, None, None),
            Err(RestoreError::Usage(m)) if m.contains("at most one of --noise-sigma")
        ));
        let small_mask = DamageSpec {
            mask: Some(vec![false; 10]),
            ..DamageSpec::default()
        };
        assert!(matches!(
            small_mask.degradation(8, 8, None, None),
            Err(RestoreError::Picture { .. })
        ));
        let outside = DamageSpec {
            mask_rect: Some([8, 0, 2, 2]),
            ..DamageSpec::default()
        };
        assert!(matches!(
            outside.degradation(8, 8, None, None),
            Err(RestoreError::Picture { message, .. }) if message.contains("starts outside")
        ));
    }
}
