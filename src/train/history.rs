//! The loss history: one record per batch that `record_loss` writes on the GPU, read back at
//! log points, and the per-sample losses made from them.

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::GpuContext;

/// Per-sample loss parts, as pytorch/examples/vae reports them (sums divided by images).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossParts {
    pub recon: f64,
    pub kl: f64,
    pub total: f64,
}

/// One loss record as `record_loss` writes it: sums over a batch.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    recon: f64,
    kl: f64,
    total: f64,
    rows: f64,
}

/// The records of history slots `slots`.
pub fn read_losses(
    ctx: &GpuContext,
    history: &View,
    slots: std::ops::Range<usize>,
) -> Result<Vec<Record>, GpuError> {
    Ok(read_raw(ctx, history, slots)?
        .iter()
        .map(|r| Record {
            recon: r[0] as f64,
            kl: r[1] as f64,
            total: r[2] as f64,
            rows: r[3] as f64,
        })
        .collect())
}

/// The records of history slots `slots` as stored, for a mid-epoch checkpoint to keep.
pub fn read_raw(
    ctx: &GpuContext,
    history: &View,
    slots: std::ops::Range<usize>,
) -> Result<Vec<[f32; 4]>, GpuError> {
    let view = history.sub(4 * slots.start as u64, 4 * slots.len() as u64);
    let raw: Vec<f32> = buffers::read(ctx, &view)?;
    Ok(raw
        .chunks_exact(4)
        .map(|r| [r[0], r[1], r[2], r[3]])
        .collect())
}

/// Sums of records divided by the images they cover.
pub fn per_sample(records: &[Record]) -> LossParts {
    let rows: f64 = records.iter().map(|r| r.rows).sum();
    LossParts {
        recon: records.iter().map(|r| r.recon).sum::<f64>() / rows,
        kl: records.iter().map(|r| r.kl).sum::<f64>() / rows,
        total: records.iter().map(|r| r.total).sum::<f64>() / rows,
    }
}
