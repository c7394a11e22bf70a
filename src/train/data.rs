//! The datasets a run trains and tests on, and their upload to the GPU as u8: a fixed set
//! uploaded once, or (with `--patch`) a fresh set of random patches written each epoch into
//! the same buffer.

use std::path::Path;

use crate::config::ModelConfig;
use crate::data::patches::{random_patches, Image, PatchSpec};
use crate::data::{self, DataError, Dataset, Split};
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::GpuContext;

/// Test patches per evaluation (fixed crops, so epochs compare).
pub const TEST_PATCHES: usize = 2000;

/// The training images of a run.
pub enum TrainSet {
    Fixed(Dataset),
    /// Random patches of `images`, drawn anew each epoch from (seed, epoch).
    Patches {
        images: Vec<Image>,
        spec: PatchSpec,
        seed: u64,
        what: String,
    },
}

impl TrainSet {
    /// Images per epoch.
    pub fn count(&self) -> usize {
        match self {
            TrainSet::Fixed(set) => set.count,
            TrainSet::Patches { spec, .. } => spec.count,
        }
    }

    /// The images of `epoch` (1-based); the fixed set whatever the epoch.
    pub fn epoch(&self, epoch: usize) -> Result<std::borrow::Cow<'_, Dataset>, DataError> {
        Ok(match self {
            TrainSet::Fixed(set) => std::borrow::Cow::Borrowed(set),
            TrainSet::Patches {
                images,
                spec,
                seed,
                what,
            } => std::borrow::Cow::Owned(random_patches(
                images,
                *spec,
                seed ^ ((epoch as u64) << 32),
                what,
            )?),
        })
    }
}

/// The training and test sets named by `--data` (or the embedded subset), sized for `cfg`:
/// whole images fitted to its size, or with `patch` random patches of that size (the test
/// set a fixed draw of [`TEST_PATCHES`] unaugmented patches of the test images).
pub fn load_data(
    dir: Option<&Path>,
    cfg: &ModelConfig,
    patch: Option<PatchSpec>,
    seed: u64,
) -> Result<(TrainSet, Dataset), DataError> {
    let Some(spec) = patch else {
        return Ok((
            TrainSet::Fixed(data::load_split(
                dir,
                Split::Train,
                cfg.height,
                cfg.width,
                cfg.channels,
            )?),
            data::load_split(dir, Split::Test, cfg.height, cfg.width, cfg.channels)?,
        ));
    };
    Ok((
        TrainSet::Patches {
            images: data::load_full_images(dir, Split::Train, cfg.channels)?,
            spec,
            seed,
            what: source_name(dir),
        },
        test_patches(dir, cfg.channels, spec.size, seed)?,
    ))
}

fn source_name(dir: Option<&Path>) -> String {
    dir.map_or("the embedded MNIST subset".to_string(), |d| {
        d.display().to_string()
    })
}

/// The fixed test set of a patch run: [`TEST_PATCHES`] unaugmented `size` x `size` crops of
/// the test images, depending on the seed only, never on the epoch.
pub fn test_patches(
    dir: Option<&Path>,
    channels: usize,
    size: usize,
    seed: u64,
) -> Result<Dataset, DataError> {
    fixed_patches(dir, Split::Test, channels, size, !seed)
}

/// Patches of the training split for fitting restoration's variance scale at the end of
/// training: never the test split, whose photos `eval-restore --photos` scores. Seeded apart from
/// the epochs' patches.
pub fn calibration_patches(
    dir: Option<&Path>,
    channels: usize,
    size: usize,
    seed: u64,
) -> Result<Dataset, DataError> {
    fixed_patches(
        dir,
        Split::Train,
        channels,
        size,
        seed ^ 0xCA11_B4A7_E000_0000,
    )
}

/// [`TEST_PATCHES`] unaugmented `size` x `size` crops of `split`'s images, drawn from `seed`.
fn fixed_patches(
    dir: Option<&Path>,
    split: Split,
    channels: usize,
    size: usize,
    seed: u64,
) -> Result<Dataset, DataError> {
    let images = data::load_full_images(dir, split, channels)?;
    let spec = PatchSpec {
        size,
        count: TEST_PATCHES,
        augment: false,
    };
    let what = format!("{} ({})", source_name(dir), split.name());
    random_patches(&images, spec, seed, &what)
}

/// `bytes` of u8 images packed four to a u32 word (little endian, as gather.wgsl reads them).
fn packed_words(set: &Dataset) -> Vec<u32> {
    let mut padded = set.images.clone();
    padded.resize(set.images.len().div_ceil(4) * 4, 0);
    bytemuck::cast_slice(&padded).to_vec()
}

/// The dataset's u8 pixels packed four to a u32 word, uploaded once.
pub fn upload_dataset(ctx: &GpuContext, set: &Dataset) -> Result<View, GpuError> {
    let limit = ctx.device.limits().max_storage_buffer_binding_size as usize;
    if set.images.len() > limit {
        return Err(GpuError::shape(
            "upload_dataset",
            format!(
                "{} images of {} values need {} bytes; this adapter binds at most {limit}",
                set.count,
                set.dim(),
                set.images.len()
            ),
        ));
    }
    Ok(View::whole(&buffers::upload(
        ctx,
        "dataset",
        &packed_words(set),
    )))
}

/// Overwrites an uploaded dataset with `set` of the same size (a new epoch's patches).
pub fn rewrite_dataset(ctx: &GpuContext, view: &View, set: &Dataset) {
    buffers::write(ctx, view, &packed_words(set));
}
