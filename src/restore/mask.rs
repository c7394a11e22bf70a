//! Mask files for `--mask`: an image the size of the one restored, white (luma >= 128 of 255,
//! averaged over its channels) where pixels are missing.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::data::DataError;
use crate::picture::Picture;

/// Why a mask file cannot be used: it cannot be read, or its size is not the image's.
#[derive(Debug, Error)]
pub enum MaskError {
    #[error(transparent)]
    Read(#[from] DataError),
    #[error("{path}: the mask is {found_h}x{found_w} but the image is {height}x{width}")]
    Size {
        path: PathBuf,
        found_h: usize,
        found_w: usize,
        height: usize,
        width: usize,
    },
}

/// The mask file `path` as missing flags for an image of `height` x `width`.
pub fn read_mask(path: &Path, height: usize, width: usize) -> Result<Vec<bool>, MaskError> {
    missing_flags(&Picture::read(path)?, path, height, width)
}

/// [`read_mask`] on a file already in memory; `name` is what errors call it.
pub fn mask_from_bytes(
    bytes: &[u8],
    name: &Path,
    height: usize,
    width: usize,
) -> Result<Vec<bool>, MaskError> {
    missing_flags(&Picture::from_bytes(bytes, name)?, name, height, width)
}

fn missing_flags(
    m: &Picture,
    path: &Path,
    height: usize,
    width: usize,
) -> Result<Vec<bool>, MaskError> {
    if (m.height, m.width) != (height, width) {
        return Err(MaskError::Size {
            path: path.to_path_buf(),
            found_h: m.height,
            found_w: m.width,
            height,
            width,
        });
    }
    let n = height * width;
    Ok((0..n)
        .map(|i| {
            let v: f32 =
                (0..m.channels).map(|c| m.data[c * n + i]).sum::<f32>() / m.channels as f32;
            v >= 127.5 / 255.0
        })
        .collect())
}
