//! The classical baselines of `eval-restore`: every baseline that applies to a case, its
//! parameter chosen by mean PSNR on the validation images, then run on the scored ones.
//! Images are restored plane by plane, on both cores.

use crate::eval::cases::Case;
use crate::eval::evaluate::Degraded;
use crate::picture::Picture;
use crate::restore::classical::Baseline;
use crate::restore::metrics::psnr;

/// `b` with `param` on every picture of `set`.
fn run_one(b: Baseline, param: f32, case: &Case, set: &Degraded) -> Result<Vec<Picture>, String> {
    let psf = case.degradation.blur.as_ref();
    let restore = |(y, w): (&Picture, &[f32])| -> Result<Picture, String> {
        let n = y.height * y.width;
        let mut data = Vec::with_capacity(y.data.len());
        for c in 0..y.channels {
            let known: Vec<bool> = w[c * n..(c + 1) * n].iter().map(|&v| v > 0.0).collect();
            data.extend(b.run(param, y.plane(c), Some(&known), psf, y.height, y.width)?);
        }
        Ok(Picture::new(y.channels, y.height, y.width, data))
    };
    let pics: Vec<(&Picture, &[f32])> = set.with_precisions().collect();
    let half = pics.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = pics
            .chunks(half)
            .map(|part| s.spawn(move || part.iter().map(|&p| restore(p)).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("a baseline thread panicked"))
            .collect()
    })
}

fn mean_psnr(clean: &[Picture], restored: &[Picture]) -> f64 {
    clean
        .iter()
        .zip(restored)
        .map(|(c, r)| psnr(&c.data, &r.data))
        .sum::<f64>()
        / clean.len() as f64
}

/// Per applicable baseline: its name, the parameter chosen on `val`, and its restorations of
/// `scored`.
pub fn run(
    case: &Case,
    val_clean: &[Picture],
    val: &Degraded,
    scored: &Degraded,
) -> Result<Vec<(String, f32, Vec<Picture>)>, String> {
    let mut out = Vec::new();
    for b in Baseline::ALL {
        if !b.applies_to(case.family) {
            continue;
        }
        let mut best = (f64::NEG_INFINITY, b.params()[0]);
        if b.params().len() > 1 {
            for &p in b.params() {
                let score = mean_psnr(val_clean, &run_one(b, p, case, val)?);
                if score > best.0 {
                    best = (score, p);
                }
            }
        }
        out.push((
            b.name().to_string(),
            best.1,
            run_one(b, best.1, case, scored)?,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::cases::photo_cases;
    use crate::eval::evaluate::degrade_all;

    fn picture(h: usize, w: usize, salt: usize) -> Picture {
        let data = (0..h * w)
            .map(|i| ((i * 7 + salt) % 13) as f32 / 13.0)
            .collect();
        Picture::new(1, h, w, data)
    }

    /// Photos differ in size: each picture's precisions are found by where the previous ones
    /// end, not by index times size (which read past the buffer for the second, larger photo).
    #[test]
    fn pictures_of_different_sizes_keep_their_own_precisions() {
        let case = photo_cases().remove(3); // missing 50%: the precisions matter
        let clean = vec![picture(12, 10, 0), picture(20, 17, 1), picture(9, 9, 2)];
        let set = degrade_all(&case, &clean, 5).unwrap();
        let val = vec![picture(16, 16, 3)];
        let val_set = degrade_all(&case, &val, 9).unwrap();
        let runs = run(&case, &val, &val_set, &set).unwrap();
        assert!(!runs.is_empty());
        for (name, _, images) in runs {
            for (got, want) in images.iter().zip(&clean) {
                assert_eq!((got.height, got.width), (want.height, want.width), "{name}");
            }
            // a fill keeps every known pixel of its own picture
            for (k, (got, y)) in images.iter().zip(&set.pictures).enumerate() {
                let start: usize = set.pictures[..k].iter().map(|p| p.data.len()).sum();
                let w = &set.w[start..start + y.data.len()];
                for ((g, o), wt) in got.data.iter().zip(&y.data).zip(w) {
                    if *wt > 0.0 {
                        assert!((g - o).abs() < 1e-5, "{name} moved a known pixel");
                    }
                }
            }
        }
    }
}
