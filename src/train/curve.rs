//! The loss curve beside a checkpoint: CSV rows (appended across `--resume`) and the plot drawn
//! from them, as PNG and as SVG.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plot::{self, CurveKind, PlotPoint};
use crate::train::TrainError;

/// One row of the loss curve CSV.
#[derive(Clone, Debug)]
pub struct CurvePoint {
    pub epoch: usize,
    pub step: u64,
    pub split: &'static str,
    pub loss: f64,
    pub recon: f64,
    pub kl: f64,
}

/// The files of the loss curve of checkpoint `out` (`runs/vae.safetensors` ->
/// `runs/vae.loss.csv`, `.loss.png`, `.loss.svg`).
pub struct CurveFiles {
    pub csv: PathBuf,
    pub png: PathBuf,
    pub svg: PathBuf,
}

/// The loss curve's three files beside checkpoint `out`.
pub fn curve_paths(out: &Path) -> CurveFiles {
    CurveFiles {
        csv: out.with_extension("loss.csv"),
        png: out.with_extension("loss.png"),
        svg: out.with_extension("loss.svg"),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    crate::atomic_file::write(path, bytes).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `points` (a resumed run's earlier ones included) as the CSV beside `out`, then the
/// plot drawn from them as PNG and SVG, each file atomically.
pub fn write_curve(out: &Path, points: &[CurvePoint]) -> Result<(), TrainError> {
    let files = curve_paths(out);
    let mut csv = String::from("epoch,step,split,loss,recon,kl\n");
    for p in points {
        csv.push_str(&format!(
            "{},{},{},{:.4},{:.4},{:.4}\n",
            p.epoch, p.step, p.split, p.loss, p.recon, p.kl
        ));
    }
    write_atomic(&files.csv, csv.as_bytes())?;
    let plotted: Vec<PlotPoint> = points
        .iter()
        .zip(epoch_positions(points))
        .map(|(p, epoch)| PlotPoint {
            epoch,
            kind: match p.split {
                "train" => CurveKind::Running,
                "train_epoch" => CurveKind::TrainEpoch,
                _ => CurveKind::Test,
            },
            loss: p.loss,
        })
        .collect();
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let title = format!("{name}: loss per sample");
    write_atomic(&files.png, &plot::loss_curve_png(&plotted, &title))?;
    write_atomic(
        &files.svg,
        plot::loss_curve_svg(&plotted, &title).as_bytes(),
    )
}

/// Where each point lies on an axis of epochs: epoch e spans (e - 1, e], its end is the step
/// of its epoch-end rows, and a point logged within it sits at its share of the epoch's steps
/// (each epoch measured alone, so a resumed run with another --batch still lines up).
fn epoch_positions(points: &[CurvePoint]) -> Vec<f64> {
    let ends: BTreeMap<usize, u64> = points
        .iter()
        .filter(|p| p.split != "train")
        .map(|p| (p.epoch, p.step))
        .collect();
    // for an epoch whose neighbour is missing from the CSV: the run's mean epoch length
    let typical = ends.iter().next_back().map(|(&e, &s)| s as f64 / e as f64);
    points
        .iter()
        .map(|p| {
            let e = p.epoch as f64;
            if p.split != "train" {
                return e;
            }
            let end = ends.get(&p.epoch).map(|&s| s as f64);
            let start = match p.epoch {
                1 => Some(0.0),
                _ => ends.get(&(p.epoch - 1)).map(|&s| s as f64),
            };
            let (start, end) = match (start, end, typical) {
                (Some(a), Some(b), _) => (a, b),
                (Some(a), None, Some(t)) => (a, a + t),
                (None, Some(b), Some(t)) => (b - t, b),
                _ => return e - 0.5,
            };
            if end > start {
                e - 1.0 + ((p.step as f64 - start) / (end - start)).clamp(0.0, 1.0)
            } else {
                e
            }
        })
        .collect()
}

/// The points already in the CSV beside `out`, for `--resume` to append to; a missing file
/// gives none and rows that do not parse are skipped.
pub fn read_curve(out: &Path) -> Vec<CurvePoint> {
    let Ok(text) = std::fs::read_to_string(curve_paths(out).csv) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let split = match *f.get(2)? {
                "train" => "train",
                "train_epoch" => "train_epoch",
                "test" => "test",
                _ => return None,
            };
            Some(CurvePoint {
                epoch: f[0].parse().ok()?,
                step: f[1].parse().ok()?,
                split,
                loss: f[3].parse().ok()?,
                recon: f.get(4)?.parse().ok()?,
                kl: f.get(5)?.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: usize, step: u64, split: &'static str) -> CurvePoint {
        CurvePoint {
            epoch,
            step,
            split,
            loss: 1.0,
            recon: 1.0,
            kl: 0.0,
        }
    }

    #[test]
    fn points_within_an_epoch_sit_at_their_share_of_its_steps() {
        // 79 steps per epoch, logged at step 50 of each
        let points = [
            point(1, 50, "train"),
            point(1, 79, "train_epoch"),
            point(1, 79, "test"),
            point(2, 129, "train"),
            point(2, 158, "train_epoch"),
            point(2, 158, "test"),
            // a resumed epoch with another batch size: 40 steps
            point(3, 178, "train"),
            point(3, 198, "train_epoch"),
        ];
        let x = epoch_positions(&points);
        let want = [50.0 / 79.0, 1.0, 1.0, 1.0 + 50.0 / 79.0, 2.0, 2.0, 2.5, 3.0];
        for (got, want) in x.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
    }

    #[test]
    fn an_unfinished_epoch_uses_the_mean_epoch_length() {
        let x = epoch_positions(&[point(1, 79, "test"), point(2, 119, "train")]);
        assert!((x[1] - (1.0 + 40.0 / 79.0)).abs() < 1e-12, "{x:?}");
    }
}
