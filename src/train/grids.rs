//! Pictures after every epoch, beside the checkpoint, as pytorch/examples/vae writes
//! `results/sample_<epoch>.png` and `results/reconstruction_<epoch>.png`: for
//! `runs/vae.safetensors`, `runs/vae.samples/sample_<epoch>.png` holds 64 prior samples (the
//! same codes every epoch, so epochs compare) and `reconstruction_<epoch>.png` the first 8
//! test images over their reconstructions.

use std::path::{Path, PathBuf};

use crate::data::Dataset;
use crate::gpu::recorder::GpuModel;
use crate::gpu::GpuContext;
use crate::train::TrainError;
use crate::{plot, sample};

/// Prior samples per grid: 8 x 8, as in pytorch/examples/vae.
pub const SAMPLES: usize = 64;
/// Test images reconstructed per grid: one row.
pub const RECONSTRUCTED: usize = 8;
/// Each image pixel drawn as 2 x 2, so 28 x 28 digits are legible without zooming.
const SCALE: u32 = 2;

/// The folder of the per-epoch grids of checkpoint `out`.
pub fn grids_dir(out: &Path) -> PathBuf {
    out.with_extension("samples")
}

/// What the grids need across epochs: where they go, the test images, the sampling seed.
pub struct EpochGrids {
    dir: PathBuf,
    originals: Vec<Vec<f32>>,
    seed: u64,
}

impl EpochGrids {
    /// The grids of checkpoint `out`: the first [`RECONSTRUCTED`] images of `test`, scaled to
    /// [0, 1], and the seed of the prior samples.
    pub fn new(out: &Path, test: &Dataset, seed: u64) -> EpochGrids {
        let originals = (0..RECONSTRUCTED.min(test.count))
            .map(|i| test.image(i).iter().map(|&p| p as f32 / 255.0).collect())
            .collect();
        EpochGrids {
            dir: grids_dir(out),
            originals,
            seed,
        }
    }

    /// Removes the grids a previous run left in the folder (`sample_<n>.png`,
    /// `reconstruction_<n>.png`), so a fresh run's folder shows its own epochs only. Other
    /// files stay.
    pub fn remove_previous(&self) -> Result<(), TrainError> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let epoch = ["sample_", "reconstruction_"]
                .iter()
                .find_map(|p| name.strip_prefix(p)?.strip_suffix(".png"));
            if epoch.is_some_and(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())) {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|source| TrainError::Io { path, source })?;
            }
        }
        Ok(())
    }

    /// Draws both grids of `epoch` with `model` and writes them atomically.
    pub fn write(
        &self,
        ctx: &GpuContext,
        model: &GpuModel,
        epoch: usize,
    ) -> Result<(), TrainError> {
        let cfg = &model.model.cfg;
        let (rows, cols, channels) = (cfg.height, cfg.width, cfg.channels);
        let samples = sample::prior_samples(ctx, model, SAMPLES, self.seed)?;
        let sample_grid = plot::image_grid(&samples, rows, cols, channels, 8, SCALE);
        let recon = sample::reconstructions(ctx, model, &self.originals)?;
        let recon_grid =
            plot::reconstruction_grid(&self.originals, &recon, rows, cols, channels, SCALE);
        std::fs::create_dir_all(&self.dir).map_err(|source| TrainError::Io {
            path: self.dir.clone(),
            source,
        })?;
        for (name, grid) in [("sample", sample_grid), ("reconstruction", recon_grid)] {
            let path = self.dir.join(format!("{name}_{epoch}.png"));
            crate::atomic_file::write(&path, &plot::encode_png(&grid))
                .map_err(|source| TrainError::Io { path, source })?;
        }
        Ok(())
    }
}
