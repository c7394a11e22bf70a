//! The degradations `eval-restore` scores, by name: the digit benchmark (noise levels, missing
//! pixels, holes, blur plus noise, Poisson, salt-and-pepper) and the photo benchmark (noise
//! sigma 15, 25 and 50 on 0-255, half the pixels missing, a text overlay, blur 1.6 plus noise 2).

use crate::restore::blur::Psf;
use crate::restore::degrade::{Degradation, DegradationKind, Mask, Noise};

/// One scored degradation: its name in the tables, the family it is grouped under and the
/// damage itself.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub family: DegradationKind,
    pub degradation: Degradation,
}

fn case(name: &str, family: DegradationKind, blur: Option<Psf>, noise: Noise, mask: Mask) -> Case {
    Case {
        name: name.to_string(),
        family,
        degradation: Degradation { blur, noise, mask },
    }
}

/// The cases for `height` x `width` images (holes are placed relative to the size).
pub fn standard_cases(height: usize, width: usize) -> Vec<Case> {
    let gauss = |s: f32| Psf::gaussian(s, 13).expect("a valid sigma");
    let (h2, w2) = (height / 2, width / 2);
    let mut cases: Vec<Case> = [0.1f32, 0.2, 0.3, 0.5]
        .iter()
        .map(|&s| {
            case(
                &format!("noise {s}"),
                DegradationKind::Noise,
                None,
                Noise::Gaussian(s),
                Mask::None,
            )
        })
        .collect();
    for f in [0.5f32, 0.8] {
        cases.push(case(
            &format!("missing {}%", (f * 100.0).round()),
            DegradationKind::Mask,
            None,
            Noise::None,
            Mask::Random(f),
        ));
    }
    cases.push(case(
        &format!("centre hole {h2}x{w2}"),
        DegradationKind::Mask,
        None,
        Noise::None,
        Mask::Rect([width / 4, height / 4, w2, h2]),
    ));
    cases.push(case(
        "bottom half",
        DegradationKind::Mask,
        None,
        Noise::None,
        Mask::Rect([0, height - h2, width, h2]),
    ));
    for s in [1.0f32, 2.0] {
        cases.push(case(
            &format!("blur {s} + noise 0.01"),
            DegradationKind::Blur,
            Some(gauss(s)),
            Noise::Gaussian(0.01),
            Mask::None,
        ));
    }
    cases.push(case(
        "poisson peak 10",
        DegradationKind::Noise,
        None,
        Noise::Poisson(10.0),
        Mask::None,
    ));
    cases.push(case(
        "salt-pepper 10%",
        DegradationKind::Impulse,
        None,
        Noise::SaltPepper(0.1),
        Mask::None,
    ));
    cases
}

/// The photo benchmark's cases: sigmas on the 0-255 scale, as the denoising literature
/// (BM3D, DnCNN) reports them.
pub fn photo_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = [15.0f32, 25.0, 50.0]
        .iter()
        .map(|&s| {
            case(
                &format!("noise {s}"),
                DegradationKind::Noise,
                None,
                Noise::Gaussian(s / 255.0),
                Mask::None,
            )
        })
        .collect();
    cases.push(case(
        "missing 50%",
        DegradationKind::Mask,
        None,
        Noise::None,
        Mask::Random(0.5),
    ));
    cases.push(case(
        "text overlay",
        DegradationKind::Mask,
        None,
        Noise::None,
        Mask::Text(2),
    ));
    cases.push(case(
        "blur 1.6 + noise 2",
        DegradationKind::Blur,
        Some(Psf::gaussian(1.6, 13).expect("a valid sigma")),
        Noise::Gaussian(2.0 / 255.0),
        Mask::None,
    ));
    cases
}
