//! The module's functions that need no model: reading and writing images as the command
//! does, degrading, enhancing on the GPU, and laying out sample grids.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use wgvae::enhance::{apply_gpu, Adjustments, DEFAULT_LEVELS};
use wgvae::picture::Picture;
use wgvae::plot;
use wgvae::restore::prior::BuiltinModel;
use wgvae::restore::request::{DamageSpec, NoiseSigma, AUTO_BLUR_SIZE};

use crate::device::context_for;
use crate::errors;
use crate::model::positive;
use crate::pixels::{floats, Pixels};

/// A PNG or JPEG file as `wgvae restore` reads it: (uint8 bytes, height, width, channels),
/// grey kept grey, everything else RGB, with the command's size limits.
#[pyfunction]
pub fn read_image(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<(Bound<'_, PyBytes>, usize, usize, usize)> {
    let picture = py.detach(|| Picture::read(&path)).map_err(errors::data)?;
    let bytes = PyBytes::new(py, &picture.to_interleaved_u8());
    Ok((bytes, picture.height, picture.width, picture.channels))
}

/// Writes an image atomically in the format of `path`'s extension, 8 bits per channel.
#[pyfunction]
pub fn write_image(
    py: Python<'_>,
    path: PathBuf,
    data: &[u8],
    height: usize,
    width: usize,
    channels: usize,
    float: bool,
) -> PyResult<()> {
    let picture = Pixels {
        bytes: data,
        height,
        width,
        channels,
        float,
    }
    .picture()?;
    py.detach(|| picture.write(&path)).map_err(errors::data)
}

/// The image degraded as `wgvae degrade` degrades it (bytes of the input's dtype), and the
/// missing pixels (one byte each, 1 = missing).
#[pyfunction]
#[pyo3(signature = (
    data, height, width, channels, float, *, noise_sigma=None, poisson_peak=None,
    salt_pepper=None, mask=None, mask_rect=None, missing=None, blur_sigma=None, blur_size=AUTO_BLUR_SIZE,
    box_blur=None, motion_blur=None, seed=1
))]
#[allow(clippy::too_many_arguments)]
pub fn degrade<'py>(
    py: Python<'py>,
    data: &[u8],
    height: usize,
    width: usize,
    channels: usize,
    float: bool,
    noise_sigma: Option<f32>,
    poisson_peak: Option<f32>,
    salt_pepper: Option<f32>,
    mask: Option<&[u8]>,
    mask_rect: Option<[usize; 4]>,
    missing: Option<f32>,
    blur_sigma: Option<f32>,
    blur_size: usize,
    box_blur: Option<usize>,
    motion_blur: Option<(usize, f32)>,
    seed: u64,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let pixels = Pixels {
        bytes: data,
        height,
        width,
        channels,
        float,
    };
    let clean = pixels.picture()?;
    let spec = DamageSpec {
        noise_sigma: positive("noise_sigma", noise_sigma)?.map(NoiseSigma::Value),
        poisson_peak: positive("poisson_peak", poisson_peak)?,
        salt_pepper,
        mask: mask.map(|m| m.iter().map(|&v| v != 0).collect()),
        mask_rect,
        blur_sigma: positive("blur_sigma", blur_sigma)?.map(|s| (s, blur_size)),
        box_blur,
        motion_blur,
    };
    let damage = spec
        .degradation(height, width, None, missing)
        .map_err(errors::restore)?;
    let (degraded, lost) = py
        .detach(|| damage.apply(&clean, seed))
        .map_err(errors::value)?;
    let lost: Vec<u8> = lost.iter().map(|&m| m as u8).collect();
    Ok((pixels.same_kind(py, &degraded), PyBytes::new(py, &lost)))
}

/// The image adjusted on the GPU as `wgvae enhance` adjusts it.
#[pyfunction]
#[pyo3(signature = (
    data, height, width, channels, float, *, brightness=None, contrast=None, saturation=None,
    gamma=None, auto_levels=None, adapter=None
))]
#[allow(clippy::too_many_arguments)]
pub fn enhance<'py>(
    py: Python<'py>,
    data: &[u8],
    height: usize,
    width: usize,
    channels: usize,
    float: bool,
    brightness: Option<f32>,
    contrast: Option<f32>,
    saturation: Option<f32>,
    gamma: Option<f32>,
    auto_levels: Option<(f64, f64)>,
    adapter: Option<&str>,
) -> PyResult<Bound<'py, PyBytes>> {
    let pixels = Pixels {
        bytes: data,
        height,
        width,
        channels,
        float,
    };
    let picture = pixels.picture()?;
    let steps = Adjustments {
        auto_levels,
        brightness,
        contrast,
        saturation,
        gamma,
    }
    .steps()
    .map_err(errors::enhance)?;
    let ctx = context_for(py, adapter)?;
    let out = py
        .detach(|| apply_gpu(&ctx, &picture, &steps))
        .map_err(errors::gpu)?;
    Ok(pixels.same_kind(py, &out))
}

/// The built-in models' names, and the percentiles `auto_levels=True` means.
#[pyfunction]
pub fn builtin_models() -> (Vec<&'static str>, (f64, f64)) {
    let names = BuiltinModel::ALL.iter().map(|m| m.name()).collect();
    (names, DEFAULT_LEVELS)
}

/// `n` images (float32 bytes, NCHW) laid out as `wgvae sample` draws them: `per_row` wide, a
/// one-pixel gap, scaled `scale` times. Returns (uint8 bytes, height, width, channels).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn image_grid<'py>(
    py: Python<'py>,
    data: &[u8],
    n: usize,
    channels: usize,
    height: usize,
    width: usize,
    per_row: usize,
    scale: u32,
) -> PyResult<(Bound<'py, PyBytes>, usize, usize, usize)> {
    let dim = channels * height * width;
    let values = floats(data);
    if n == 0 || values.len() != n * dim || !(1..=64).contains(&scale) {
        return Err(errors::value(
            "image_grid takes one or more images and a scale in 1..=64",
        ));
    }
    let images: Vec<Vec<f32>> = values.chunks(dim).map(<[f32]>::to_vec).collect();
    let grid = plot::image_grid(&images, height, width, channels, per_row, scale);
    let (w, h) = (grid.width() as usize, grid.height() as usize);
    // as the command's PNG holds it: grey samples make a grey grid
    let (bytes, channels) = match grid.color().has_color() {
        true => (grid.into_rgb8().into_raw(), 3),
        false => (grid.into_luma8().into_raw(), 1),
    };
    Ok((PyBytes::new(py, &bytes), h, w, channels))
}
