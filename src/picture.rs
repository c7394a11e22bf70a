//! One image as the restoration and enhancement commands handle it: planar `f32` in [0, 1],
//! grey (1 channel) or RGB (3), read with the dataset loader's size limits and written back
//! atomically in the format the output's extension names (PNG, JPEG, ...), 8 bits per channel.

use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};

use crate::atomic_file;
use crate::data::images::{decode, decode_bytes, to_planar};
use crate::data::{DataError, MAX_SIDE};

/// Planar pixels: channel `c`, row `y`, column `x` at `(c * height + y) * width + x`.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Picture {
    /// A picture of `data` in the planar order above; panics unless it holds
    /// `channels * height * width` values.
    pub fn new(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Picture {
        assert_eq!(data.len(), channels * height * width, "picture size");
        Picture {
            channels,
            height,
            width,
            data,
        }
    }

    /// Reads `path`: grey images (and grey with alpha) stay grey, everything else becomes RGB;
    /// alpha is dropped, 16-bit samples are reduced to 8 bits as the user's viewer shows them.
    pub fn read(path: &Path) -> Result<Picture, DataError> {
        Ok(Picture::from_decoded(&decode(path)?))
    }

    /// [`Picture::read`] on a file already in memory; `name` is what errors call it.
    pub fn from_bytes(bytes: &[u8], name: &Path) -> Result<Picture, DataError> {
        Ok(Picture::from_decoded(&decode_bytes(bytes, name)?))
    }

    /// A decoded file: grey stays grey, everything else becomes RGB.
    fn from_decoded(img: &DynamicImage) -> Picture {
        let channels = if img.color().has_color() { 3 } else { 1 };
        Picture::from_image(img, channels)
    }

    /// `img` as planar floats with `channels` (1: luma, 3: RGB).
    pub fn from_image(img: &DynamicImage, channels: usize) -> Picture {
        let planar = to_planar(img, channels);
        Picture::new(
            channels,
            planar.height,
            planar.width,
            planar.pixels.iter().map(|&p| p as f32 / 255.0).collect(),
        )
    }

    /// One channel as its own grey picture.
    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.data[c * n..(c + 1) * n]
    }

    /// Rounded to 8 bits and clipped, as a file would hold it.
    pub fn to_image(&self) -> DynamicImage {
        let raw = self.to_interleaved_u8();
        let (w, h) = (self.width as u32, self.height as u32);
        if self.channels == 1 {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, raw).expect("grey size"))
        } else {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, raw).expect("rgb size"))
        }
    }

    /// A picture of 8-bit samples in interleaved order (row by row, a pixel's channels
    /// together, as numpy's `(H, W, C)` and a decoded file hold them), each `v / 255` as
    /// [`Picture::read`] takes a file's. Panics unless `bytes` holds `channels * height *
    /// width` samples.
    pub fn from_interleaved_u8(channels: usize, height: usize, width: usize, bytes: &[u8]) -> Self {
        Picture::from_interleaved(channels, height, width, bytes, |b| b as f32 / 255.0)
    }

    /// A canvas's pixels (`ImageData.data`: RGBA, 8 bits, row by row) as [`Picture::read`]
    /// takes a file's: grey when every pixel's red, green and blue are equal (a browser decodes
    /// a grey file so), else RGB; alpha dropped. Refuses a buffer of the wrong length or a side
    /// beyond the decoder's limit.
    pub fn from_rgba(width: usize, height: usize, rgba: &[u8]) -> Result<Picture, String> {
        if width == 0 || height == 0 {
            return Err(format!("the image is empty ({width}x{height})"));
        }
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(format!(
                "the image is {width}x{height}; at most {MAX_SIDE} pixels a side are read"
            ));
        }
        if rgba.len() != 4 * width * height {
            return Err(format!(
                "{} bytes for a {width}x{height} RGBA image, which has {}",
                rgba.len(),
                4 * width * height
            ));
        }
        let grey = rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]);
        let channels = if grey { 1 } else { 3 };
        let samples: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| p[..channels].iter().copied())
            .collect();
        Ok(Picture::from_interleaved_u8(
            channels, height, width, &samples,
        ))
    }

    /// The picture as canvas pixels (RGBA, 8 bits, rounded as a file holds them), grey spread
    /// over red, green and blue; alpha from `alpha` (one byte per pixel's 4, e.g. the input's
    /// RGBA), else opaque.
    pub fn to_rgba(&self, alpha: Option<&[u8]>) -> Vec<u8> {
        let samples = self.to_interleaved_u8();
        let mut out = Vec::with_capacity(4 * self.height * self.width);
        for (i, pixel) in samples.chunks_exact(self.channels.max(1)).enumerate() {
            match pixel {
                [v] => out.extend([*v, *v, *v]),
                _ => out.extend(&pixel[..3]),
            }
            out.push(alpha.map_or(255, |a| a[4 * i + 3]));
        }
        out
    }

    /// A picture of floats in interleaved order, taken as they are.
    pub fn from_interleaved_f32(
        channels: usize,
        height: usize,
        width: usize,
        values: &[f32],
    ) -> Self {
        Picture::from_interleaved(channels, height, width, values, |v| v)
    }

    fn from_interleaved<T: Copy>(
        channels: usize,
        height: usize,
        width: usize,
        values: &[T],
        to_f32: impl Fn(T) -> f32,
    ) -> Self {
        let n = height * width;
        assert_eq!(values.len(), channels * n, "picture size");
        let mut data = vec![0.0; channels * n];
        for (i, pixel) in values.chunks_exact(channels.max(1)).enumerate() {
            for (c, &v) in pixel.iter().enumerate() {
                data[c * n + i] = to_f32(v);
            }
        }
        Picture::new(channels, height, width, data)
    }

    /// The samples in interleaved order, rounded to 8 bits and clipped as a file holds them
    /// (the bytes [`Picture::write`] encodes).
    pub fn to_interleaved_u8(&self) -> Vec<u8> {
        self.to_interleaved(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
    }

    /// The values in interleaved order, as they are.
    pub fn to_interleaved_f32(&self) -> Vec<f32> {
        self.to_interleaved(|v| v)
    }

    fn to_interleaved<T>(&self, from_f32: impl Fn(f32) -> T) -> Vec<T> {
        let n = self.height * self.width;
        (0..n)
            .flat_map(|i| (0..self.channels).map(move |c| c * n + i))
            .map(|k| from_f32(self.data[k]))
            .collect()
    }

    /// The picture as an 8-bit file would give it back (what a user's degraded input is).
    pub fn quantised(&self) -> Picture {
        let data = self
            .data
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() / 255.0)
            .collect();
        Picture { data, ..*self }
    }

    /// Writes the picture atomically in the format of `path`'s extension (JPEG at
    /// [`JPEG_QUALITY`]).
    pub fn write(&self, path: &Path) -> Result<(), DataError> {
        write_image(&self.to_image(), path)
    }

    /// The bytes [`Picture::write`] would write to a file called `name` (its extension picks
    /// the format): for front ends that send a picture rather than write one.
    pub fn encode_as(&self, name: &Path) -> Result<Vec<u8>, DataError> {
        encode(&self.to_image(), name, JPEG_QUALITY)
    }

    /// [`Picture::write`] with a JPEG output at `quality` (1-100; other formats ignore it).
    pub fn write_with_quality(&self, path: &Path, quality: u8) -> Result<(), DataError> {
        let bytes = encode(&self.to_image(), path, quality)?;
        write_bytes(path, &bytes)
    }
}

/// Writes several pictures, each atomically, after encoding all of them: an output whose
/// extension names no format fails before any file is written.
pub fn write_all(pictures: &[(&Picture, &Path)]) -> Result<(), DataError> {
    let encoded = pictures
        .iter()
        .map(|(p, path)| encode(&p.to_image(), path, JPEG_QUALITY))
        .collect::<Result<Vec<_>, _>>()?;
    // and every folder is made (or found impossible) before the first file is written
    for (_, path) in pictures {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DataError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    for ((_, path), bytes) in pictures.iter().zip(encoded) {
        atomic_file::write(path, &bytes).map_err(|source| DataError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// The JPEG quality outputs get unless told otherwise: what photo tools write by default
/// (ImageMagick and Pillow's `quality=92` range), well above `image`'s own 75, whose blocks
/// show on a restored photo.
pub const JPEG_QUALITY: u8 = 92;

/// `img` in the format of `path`'s extension, a JPEG at `quality`.
fn encode(img: &DynamicImage, path: &Path, quality: u8) -> Result<Vec<u8>, DataError> {
    let format = ImageFormat::from_path(path).map_err(|_| DataError::UnknownImageFormat {
        path: path.to_path_buf(),
    })?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    let encode_err = |source| DataError::Encode {
        path: path.to_path_buf(),
        source,
    };
    // JPEG has no alpha and no 16-bit; our pictures are 8-bit grey or RGB, which every
    // format `image` writes accepts.
    if format == ImageFormat::Jpeg {
        let encoder = JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100));
        img.write_with_encoder(encoder).map_err(encode_err)?;
    } else {
        img.write_to(&mut bytes, format).map_err(encode_err)?;
    }
    Ok(bytes.into_inner())
}

/// Encodes `img` in the format of `path`'s extension and writes it atomically (no half-written
/// file, an existing file untouched on failure).
pub fn write_image(img: &DynamicImage, path: &Path) -> Result<(), DataError> {
    let bytes = encode(img, path, JPEG_QUALITY)?;
    write_bytes(path, &bytes)
}

/// `bytes` written to `path` atomically.
fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    atomic_file::write(path, bytes).map_err(|source| DataError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};

    use super::Picture;

    fn png(img: &DynamicImage) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        img.write_to(&mut bytes, ImageFormat::Png).unwrap();
        bytes.into_inner()
    }

    /// Every 8-bit level k reads as exactly k / 255 (not k / 256, which would turn 255 into
    /// 254 on the way back out), and goes back out as k.
    #[test]
    fn every_8_bit_level_reads_as_k_over_255_and_writes_back_as_k() {
        let levels: Vec<u8> = (0..=255).collect();
        let grey = DynamicImage::ImageLuma8(GrayImage::from_raw(16, 16, levels.clone()).unwrap());
        let p = Picture::from_bytes(&png(&grey), Path::new("levels.png")).unwrap();
        assert_eq!(p.channels, 1);
        for (k, &v) in p.data.iter().enumerate() {
            assert_eq!(v, k as f32 / 255.0, "level {k}");
        }
        assert_eq!(p.to_image().into_luma8().into_raw(), levels);

        // colour: the three channels of each pixel, levels running in every channel
        let raw: Vec<u8> = (0..256u32)
            .flat_map(|k| [k as u8, (255 - k) as u8, (k * 7 % 256) as u8])
            .collect();
        let rgb = DynamicImage::ImageRgb8(RgbImage::from_raw(16, 16, raw.clone()).unwrap());
        let p = Picture::from_bytes(&png(&rgb), Path::new("levels.png")).unwrap();
        assert_eq!(p.channels, 3);
        assert_eq!(p.plane(0)[255], 1.0);
        assert_eq!(p.plane(1)[0], 1.0);
        assert_eq!(p.to_image().into_rgb8().into_raw(), raw);
    }

    /// numpy's (H, W, C) order: a decoded file's bytes make the same picture through
    /// `from_interleaved_u8` as through the file, and go back out as they came in.
    #[test]
    fn interleaved_samples_are_a_files_pixels() {
        let raw: Vec<u8> = (0..5 * 3 * 3).map(|k| (k * 37 % 256) as u8).collect();
        let rgb = DynamicImage::ImageRgb8(RgbImage::from_raw(5, 3, raw.clone()).unwrap());
        let read = Picture::from_bytes(&png(&rgb), Path::new("rgb.png")).unwrap();
        let p = Picture::from_interleaved_u8(3, 3, 5, &raw);
        assert_eq!(p, read);
        assert_eq!(p.to_interleaved_u8(), raw);
        let floats = p.to_interleaved_f32();
        assert_eq!(floats[1], raw[1] as f32 / 255.0, "pixel 0's green");
        assert_eq!(Picture::from_interleaved_f32(3, 3, 5, &floats), p);
        // grey is its one plane, and out-of-range values clip on the way to bytes
        let g = Picture::from_interleaved_f32(1, 1, 3, &[-0.5, 0.5, 1.5]);
        assert_eq!(g.data, [-0.5, 0.5, 1.5]);
        assert_eq!(g.to_interleaved_u8(), [0, 128, 255]);
    }

    /// A canvas's RGBA reads as the file it came from (colour as RGB, equal channels as grey,
    /// alpha dropped) and goes back out with the given alpha; bad sizes are refused.
    #[test]
    fn canvas_rgba_reads_as_a_file_and_keeps_its_alpha() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|k| (k * 53 % 256) as u8).collect();
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .enumerate()
            .flat_map(|(i, p)| [p[0], p[1], p[2], (i * 20) as u8])
            .collect();
        let p = Picture::from_rgba(4, 3, &rgba).unwrap();
        assert_eq!(p, Picture::from_interleaved_u8(3, 3, 4, &rgb));
        assert_eq!(p.to_rgba(Some(&rgba)), rgba);
        assert_eq!(p.to_rgba(None)[3], 255);

        let grey: Vec<u8> = (0..12u8).flat_map(|v| [v * 9, v * 9, v * 9, 255]).collect();
        let g = Picture::from_rgba(4, 3, &grey).unwrap();
        assert_eq!(g.channels, 1);
        assert_eq!(g.data[5], 45.0 / 255.0);
        assert_eq!(g.to_rgba(None), grey);

        for (w, h, len) in [(4, 3, 47), (0, 3, 0), (20_000, 1, 80_000)] {
            let e = Picture::from_rgba(w, h, &vec![0; len]).unwrap_err();
            assert!(!e.contains('\n') && e.contains(&format!("{w}x{h}")), "{e}");
        }
    }

    /// A phone photo stored sideways (EXIF orientation 6: turn 90 degrees clockwise) reads
    /// upright, as viewers show it: 16x8 with its left half dark becomes 8x16 dark on top.
    #[test]
    fn exif_orientation_is_applied_on_reading() {
        let raw: Vec<u8> = (0..16 * 8)
            .map(|i| if i % 16 < 8 { 20 } else { 230 })
            .collect();
        let img = DynamicImage::ImageLuma8(GrayImage::from_raw(16, 8, raw).unwrap());
        let mut jpeg = Cursor::new(Vec::new());
        img.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        let jpeg = jpeg.into_inner();
        // APP1 "Exif": a big-endian TIFF header and one IFD entry, Orientation (0x0112) = 6
        let tiff: Vec<u8> = [
            &b"MM\0\x2a\0\0\0\x08"[..],
            &[0, 1],
            &[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0],
            &[0, 0, 0, 0],
        ]
        .concat();
        let body = [&b"Exif\0\0"[..], &tiff].concat();
        let len = (body.len() + 2) as u16;
        let app1 = [&[0xff, 0xe1][..], &len.to_be_bytes(), &body].concat();
        let file = [&jpeg[..2], &app1, &jpeg[2..]].concat();
        let p = Picture::from_bytes(&file, Path::new("sideways.jpg")).unwrap();
        assert_eq!((p.width, p.height), (8, 16), "not turned upright");
        let at = |y: usize, x: usize| p.data[y * p.width + x];
        assert!(at(2, 4) < 0.3 && at(13, 4) > 0.7, "turned the wrong way");
    }
}
