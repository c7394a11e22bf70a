//! Pictures across the boundary: the Python half sends an array's bytes (C order, `(H, W)` or
//! `(H, W, C)`, uint8 or float32) with its shape, and gets bytes of the same shape and dtype
//! back. uint8 samples read as a file's do (v / 255) and come back rounded and clipped as a
//! file holds them, so a uint8 array restores to the bytes the command line writes.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use wgvae::picture::Picture;

use crate::errors;

/// An image as the Python half sends it.
#[derive(Clone, Copy, Debug)]
pub struct Pixels<'a> {
    pub bytes: &'a [u8],
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// float32 samples (else uint8).
    pub float: bool,
}

impl Pixels<'_> {
    /// The picture, refusing sizes that do not add up and float values that are not finite.
    pub fn picture(&self) -> PyResult<Picture> {
        let (h, w, c) = (self.height, self.width, self.channels);
        if c != 1 && c != 3 {
            return Err(errors::value(format!(
                "an image has 1 (grey) or 3 (RGB) channels, not {c}"
            )));
        }
        if h == 0 || w == 0 {
            return Err(errors::value(format!("the image is empty ({h}x{w})")));
        }
        let samples = h * w * c;
        let size = if self.float { 4 } else { 1 };
        if self.bytes.len() != samples * size {
            return Err(errors::value(format!(
                "{} bytes for a {h}x{w}x{c} image of {}",
                self.bytes.len(),
                if self.float { "float32" } else { "uint8" }
            )));
        }
        if !self.float {
            return Ok(Picture::from_interleaved_u8(c, h, w, self.bytes));
        }
        let values = floats(self.bytes);
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(errors::value(format!(
                "the image holds {} at pixel ({}, {}); values must be finite",
                values[i],
                i / c / w,
                i / c % w
            )));
        }
        Ok(Picture::from_interleaved_f32(c, h, w, &values))
    }

    /// `picture` as bytes of this image's dtype.
    pub fn same_kind<'py>(&self, py: Python<'py>, picture: &Picture) -> Bound<'py, PyBytes> {
        if self.float {
            PyBytes::new(py, &float_bytes(&picture.to_interleaved_f32()))
        } else {
            PyBytes::new(py, &picture.to_interleaved_u8())
        }
    }
}

/// Little-endian (native on every platform wgpu runs on) float32 bytes as values.
pub fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Values as float32 bytes.
pub fn float_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}
