//! The tables and the strip of `eval-restore`, shared by the digit scoreboard and the photo
//! benchmark: one [`Score`] per case and method, the baselines scored beside the VAE, and the
//! files written into the output folder.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::atomic_file;
use crate::eval::baselines;
use crate::eval::cases::Case;
use crate::eval::evaluate::{degrade_all, Degraded};
use crate::picture::{write_image, Picture};
use crate::plot::image_grid;
use crate::restore::metrics::{psnr, ssim};

/// The files written into `--out` (refused when they exist, without --force).
pub const OUTPUT_FILES: [&str; 3] = ["table.txt", "table.csv", "strip.png"];

/// Validation images are degraded with seeds this far from the scored ones.
const VAL_SEED_OFFSET: u64 = 1_000_000;

/// One cell of the table: the mean scores of one method on one case.
#[derive(Clone, Debug)]
pub struct Score {
    pub case: String,
    pub method: String,
    pub psnr: f64,
    pub ssim: f64,
    /// The tuned parameter, for baselines.
    pub param: Option<f32>,
}

impl Score {
    /// The mean PSNR and SSIM of `restored` against `clean`, as `method`'s cell of `case`.
    pub(crate) fn of(
        case: &Case,
        method: impl Into<String>,
        clean: &[Picture],
        restored: &[Picture],
        param: Option<f32>,
    ) -> Score {
        let (psnr, ssim) = mean_scores(clean, restored);
        Score {
            case: case.name.clone(),
            method: method.into(),
            psnr,
            ssim,
            param,
        }
    }
}

fn mean_scores(clean: &[Picture], restored: &[Picture]) -> (f64, f64) {
    let n = clean.len() as f64;
    let (mut p, mut s) = (0.0, 0.0);
    for (c, r) in clean.iter().zip(restored) {
        p += psnr(&c.data, &r.data);
        s += (0..c.channels)
            .map(|k| ssim(c.plane(k), r.plane(k), c.height, c.width))
            .sum::<f64>()
            / c.channels as f64;
    }
    (p / n, s / n)
}

/// Every classical baseline that applies to `case`, its parameter tuned on `val` (damaged with
/// seeds apart from the scored ones), run on `set` and scored against `scored` into `scores`.
/// Returns each baseline's restoration of the first picture, for the strip.
pub(crate) fn score_baselines(
    case: &Case,
    val: &[Picture],
    scored: &[Picture],
    set: &Degraded,
    seed: u64,
    scores: &mut Vec<Score>,
) -> Result<Vec<Picture>> {
    let val_set =
        degrade_all(case, val, seed.wrapping_add(VAL_SEED_OFFSET)).map_err(anyhow::Error::msg)?;
    let runs = baselines::run(case, val, &val_set, set).map_err(anyhow::Error::msg)?;
    let mut firsts = Vec::new();
    for (name, param, mut images) in runs {
        scores.push(Score::of(case, name, scored, &images, Some(param)));
        firsts.push(images.swap_remove(0));
    }
    Ok(firsts)
}

/// Writes table.txt, table.csv and strip.png into `out`; returns the text table.
pub(crate) fn write_tables(
    out: &Path,
    scores: &[Score],
    strip: &[Vec<Option<Picture>>],
) -> Result<String> {
    let table = format_table(scores);
    let [txt, csv, png] = OUTPUT_FILES.map(|f| out.join(f));
    for (path, text) in [(&txt, table.clone()), (&csv, format_csv(scores))] {
        atomic_file::write(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    write_strip(strip, &png)?;
    Ok(table)
}

pub(crate) fn case_line(scores: &[Score], case: &str) -> String {
    let mut line = format!("{case}:");
    for s in scores.iter().filter(|s| s.case == case) {
        let _ = write!(line, "  {} {:.2}", s.method, s.psnr);
    }
    line
}

/// Rows: cases; columns: methods, each "PSNR / SSIM".
fn format_table(scores: &[Score]) -> String {
    let mut methods: Vec<&str> = Vec::new();
    let mut cases: Vec<&str> = Vec::new();
    for s in scores {
        if !methods.contains(&s.method.as_str()) {
            methods.push(&s.method);
        }
        if !cases.contains(&s.case.as_str()) {
            cases.push(&s.case);
        }
    }
    let mut out = format!("{:<22}", "PSNR dB / SSIM");
    for m in &methods {
        let _ = write!(out, " {m:>16}");
    }
    out.push('\n');
    for c in &cases {
        let _ = write!(out, "{c:<22}");
        for m in &methods {
            match scores.iter().find(|s| s.case == *c && s.method == *m) {
                Some(s) => {
                    let _ = write!(out, " {:>9.2} / {:.3}", s.psnr, s.ssim);
                }
                None => {
                    let _ = write!(out, " {:>16}", "-");
                }
            }
        }
        out.push('\n');
    }
    out
}

fn format_csv(scores: &[Score]) -> String {
    let mut out = String::from("case,method,psnr_db,ssim,tuned_param\n");
    for s in scores {
        let param = s.param.map(|p| p.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{:.4},{:.5},{param}",
            s.case, s.method, s.psnr, s.ssim
        );
    }
    out
}

/// One row per case, each row padded to the longest; a cell that does not apply is mid-grey.
fn write_strip(rows: &[Vec<Option<Picture>>], path: &Path) -> Result<()> {
    let per_row = rows.iter().map(Vec::len).max().unwrap_or(1);
    let first = rows[0][0].as_ref().expect("the clean image");
    let blank = vec![0.35; first.data.len()];
    let mut images = Vec::new();
    for row in rows {
        for i in 0..per_row {
            images.push(
                row.get(i)
                    .and_then(|p| p.as_ref())
                    .map(|p| p.data.clone())
                    .unwrap_or_else(|| blank.clone()),
            );
        }
    }
    let grid = image_grid(
        &images,
        first.height,
        first.width,
        first.channels,
        per_row,
        3,
    );
    write_image(&grid, path)?;
    Ok(())
}
