//! The datasets a run trains and tests on, and their one upload to the GPU as u8.

use std::path::Path;

use crate::config::ModelConfig;
use crate::data::{self, DataError, Dataset, Split};
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::GpuContext;

/// The training and test sets named by `--data` (or the embedded subset), sized for `cfg`.
pub fn load_data(dir: Option<&Path>, cfg: &ModelConfig) -> Result<(Dataset, Dataset), DataError> {
    Ok((
        data::load_split(dir, Split::Train, cfg.height, cfg.width)?,
        data::load_split(dir, Split::Test, cfg.height, cfg.width)?,
    ))
}

/// The dataset's u8 pixels packed four to a u32 word, uploaded once.
pub fn upload_dataset(ctx: &GpuContext, set: &Dataset) -> Result<View, GpuError> {
    let limit = ctx.device.limits().max_storage_buffer_binding_size as usize;
    if set.images.len() > limit {
        return Err(GpuError::shape(
            "upload_dataset",
            format!(
                "{} images of {} pixels need {} bytes; this adapter binds at most {limit}",
                set.count,
                set.dim(),
                set.images.len()
            ),
        ));
    }
    let mut padded = set.images.clone();
    padded.resize(set.images.len().div_ceil(4) * 4, 0);
    let words: &[u32] = bytemuck::cast_slice(&padded);
    Ok(View::whole(&buffers::upload(ctx, "dataset", words)))
}
