//! The loss curve beside a checkpoint: CSV rows (appended across `--resume`) and the PNG drawn
//! from them.

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

pub fn curve_paths(out: &Path) -> (PathBuf, PathBuf) {
    (
        out.with_extension("loss.csv"),
        out.with_extension("loss.png"),
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    crate::atomic_file::write(path, bytes).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub fn write_curve(out: &Path, points: &[CurvePoint]) -> Result<(), TrainError> {
    let (csv_path, png_path) = curve_paths(out);
    let mut csv = String::from("epoch,step,split,loss,recon,kl\n");
    for p in points {
        csv.push_str(&format!(
            "{},{},{},{:.4},{:.4},{:.4}\n",
            p.epoch, p.step, p.split, p.loss, p.recon, p.kl
        ));
    }
    write_atomic(&csv_path, csv.as_bytes())?;
    let plotted: Vec<PlotPoint> = points
        .iter()
        .map(|p| PlotPoint {
            step: p.step,
            kind: match p.split {
                "train" => CurveKind::Running,
                "train_epoch" => CurveKind::TrainEpoch,
                _ => CurveKind::Test,
            },
            loss: p.loss,
        })
        .collect();
    let png = plot::loss_curve_png(&plotted);
    write_atomic(&png_path, &png)
}

pub fn read_curve(out: &Path) -> Vec<CurvePoint> {
    let Ok(text) = std::fs::read_to_string(curve_paths(out).0) else {
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
