//! The MNIST subset compiled into the binary, so the first command trains with no download.
//!
//! The files under `data/embedded/` are the first 10000 training and first 2000 test images
//! and labels of MNIST as gzipped IDX (1.9 MB together); `tools/make-embedded.py` regenerates
//! them byte for byte from the output of `tools/fetch-mnist.sh`.

use super::mnist::{parse_idx_images, parse_idx_labels, with_labels};
use super::{DataError, Dataset, Split};

/// Images in the embedded Train split.
pub const EMBEDDED_TRAIN: usize = 10_000;
/// Images in the embedded Test split.
pub const EMBEDDED_TEST: usize = 2_000;

const TRAIN_IMAGES: &[u8] = include_bytes!("../../data/embedded/train-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] = include_bytes!("../../data/embedded/train-labels-idx1-ubyte.gz");
const TEST_IMAGES: &[u8] = include_bytes!("../../data/embedded/t10k-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] = include_bytes!("../../data/embedded/t10k-labels-idx1-ubyte.gz");

/// Parses the embedded `split`, reporting corrupt bytes as an error (used by [`embedded`]
/// and by the test that guards the committed files).
pub fn try_embedded(split: Split) -> Result<Dataset, DataError> {
    let (images, labels, expected, prefix) = match split {
        Split::Train => (TRAIN_IMAGES, TRAIN_LABELS, EMBEDDED_TRAIN, "train"),
        Split::Test => (TEST_IMAGES, TEST_LABELS, EMBEDDED_TEST, "t10k"),
    };
    let img_name = format!("embedded {prefix}-images-idx3-ubyte.gz");
    let lab_name = format!("embedded {prefix}-labels-idx1-ubyte.gz");
    let ds = with_labels(
        parse_idx_images(images, &img_name)?,
        parse_idx_labels(labels, &lab_name)?,
        &img_name,
        &lab_name,
    )?;
    if ds.count != expected {
        return Err(DataError::CountMismatch {
            images_name: img_name,
            labels_name: format!("EMBEDDED_{}", prefix.to_uppercase()),
            images: ds.count,
            labels: expected,
        });
    }
    Ok(ds)
}

/// The embedded `split` (MNIST 28x28 with labels). Panics only if the committed files are
/// corrupt, which `tests/data.rs` checks.
pub fn embedded(split: Split) -> Dataset {
    match try_embedded(split) {
        Ok(ds) => ds,
        Err(e) => {
            // The whole chain, so the gzip or I/O cause shows too.
            let mut msg = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                msg.push_str(&format!(": {c}"));
                cause = c.source();
            }
            panic!("the embedded MNIST subset is corrupt: {msg}")
        }
    }
}
