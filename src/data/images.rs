//! Folders of PNG/JPEG images as a [`Dataset`]: decoding with size limits, conversion to grey
//! or RGB, centre crop and resize to the model's input size (or, for patch training, the
//! images at their own sizes: [`load_full_images`]).
//!
//! Only the files directly in the folder are read (no recursion), sorted by file name so the
//! order, and with it any seeded shuffle or train/eval subset, is the same on every machine.
//! Files whose extension is not png/jpg/jpeg (any case) and hidden files (leading `.`, e.g.
//! macOS `._x.png` forks) are skipped; a file that claims to be an image but does not decode
//! is an error naming it, since silently dropping data hides mistakes.

use std::io::{BufRead, Cursor, Seek};
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageError, ImageReader, Limits};

use super::patches::Image;
use super::{check_size, DataError, Dataset, MAX_SIDE};

/// The decoder's allocation bound: a crafted or corrupt header cannot make us allocate more.
pub const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// The image files of `dir` (see the module docs), sorted by file name.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let ext = Path::new(&*name)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if !matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg")) {
            continue;
        }
        let path = entry.path();
        // metadata() follows symlinks, so a link to an image counts and a directory named
        // x.png does not.
        if std::fs::metadata(&path)
            .map(|m| m.is_file())
            .unwrap_or(false)
        {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Decodes one image to 8-bit grey. Colour goes through `image`'s luma conversion (Rec. 709
/// weights); alpha is dropped, not composited.
pub fn decode_grey(path: &Path) -> Result<GrayImage, DataError> {
    Ok(decode(path)?.to_luma8())
}

/// Decodes one image with [`Limits`] (16384x16384, 512 MiB), so huge or corrupt files give an
/// error instead of a panic or an out-of-memory abort, and turns it upright as its EXIF
/// orientation says (JPEG). The format is guessed from the content, falling back to the
/// extension.
pub fn decode(path: &Path) -> Result<DynamicImage, DataError> {
    let reader = ImageReader::open(path)
        .map_err(|e| DataError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?;
    decode_with_limits(reader, path)
}

/// [`decode`] on a file already in memory; `name` is what errors call it. The format is
/// guessed from the content alone.
pub fn decode_bytes(bytes: &[u8], name: &Path) -> Result<DynamicImage, DataError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DataError::io(name, e))?;
    decode_with_limits(reader, name)
}

/// Decodes from `reader` with the size and allocation limits; errors name `path`.
fn decode_with_limits<R: BufRead + Seek>(
    mut reader: ImageReader<R>,
    path: &Path,
) -> Result<DynamicImage, DataError> {
    let img_err = |source: ImageError| match source {
        ImageError::Limits(_) => DataError::ImageTooLarge {
            path: path.to_path_buf(),
            source,
        },
        source => DataError::Image {
            path: path.to_path_buf(),
            source,
        },
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE as u32);
    limits.max_image_height = Some(MAX_SIDE as u32);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    // a phone stores a photo as the sensor saw it and says in EXIF how to turn it upright;
    // every viewer applies that, so the pixels are turned here too
    let mut decoder = reader.into_decoder().map_err(img_err)?;
    let orientation = decoder.orientation().map_err(img_err)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(img_err)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// One decoded image as planar `u8` with `channels` (1: luma, 3: RGB; alpha dropped).
pub fn to_planar(img: &DynamicImage, channels: usize) -> Image {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let pixels = if channels == 3 {
        let rgb = img.to_rgb8();
        let raw = rgb.as_raw();
        (0..3)
            .flat_map(|c| raw.iter().skip(c).step_by(3).copied())
            .collect()
    } else {
        img.to_luma8().into_raw()
    };
    Image {
        channels,
        height,
        width,
        pixels,
    }
}

/// Every image of `dir` at its own size, planar with `channels` (for patch training).
pub fn load_full_images(dir: &Path, channels: usize) -> Result<Vec<Image>, DataError> {
    let files = image_files(dir)?;
    if files.is_empty() {
        return Err(DataError::NoImages {
            dir: dir.to_path_buf(),
        });
    }
    files
        .iter()
        .map(|path| Ok(to_planar(&decode(path)?, channels)))
        .collect()
}

/// Centre-crops `img` to the aspect ratio `cols:rows`, then resizes it to `cols x rows` with
/// a triangle (bilinear) filter. Cropping rather than stretching keeps digits and faces in
/// proportion; an image already of the target size is returned unchanged.
pub fn fit(img: &DynamicImage, rows: usize, cols: usize) -> DynamicImage {
    let (w, h) = (img.width() as u64, img.height() as u64);
    let (cw, ch) = crop_size(w, h, rows, cols);
    let (c, r) = (cols as u64, rows as u64);
    let (x, y) = ((w - cw) / 2, (h - ch) / 2);
    let cropped = if (cw, ch) == (w, h) {
        img.clone()
    } else {
        img.crop_imm(x as u32, y as u32, cw as u32, ch as u32)
    };
    if (cw, ch) == (c, r) {
        return cropped;
    }
    cropped.resize_exact(cols as u32, rows as u32, FilterType::Triangle)
}

/// The centre crop [`fit`] takes of a `w` x `h` image: the largest of aspect `cols:rows`.
fn crop_size(w: u64, h: u64, rows: usize, cols: usize) -> (u64, u64) {
    let (r, c) = (rows as u64, cols as u64);
    // Compare w/h with c/r in integers: w*r > h*c means too wide.
    if w * r > h * c {
        (((h * c + r / 2) / r).clamp(1, w), h)
    } else {
        (w, ((w * r + c / 2) / c).clamp(1, h))
    }
}

/// The images of a folder that [`fit`] enlarges: their count, the folder's image count, and the
/// smallest of them (rows, cols).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Undersized {
    pub count: usize,
    pub total: usize,
    pub smallest: (usize, usize),
}

/// How many images of `dir` are smaller than `rows` x `cols` after [`fit`]'s centre crop (so
/// they are upscaled), from their headers alone; `None` when none is.
pub fn undersized(dir: &Path, rows: usize, cols: usize) -> Result<Option<Undersized>, DataError> {
    let files = image_files(dir)?;
    let mut small: Vec<(usize, usize)> = Vec::new();
    for path in &files {
        let (w, h) = ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| DataError::io(path, e))?
            .into_dimensions()
            .map_err(|source| DataError::Image {
                path: path.clone(),
                source,
            })?;
        let (cw, ch) = crop_size(w as u64, h as u64, rows, cols);
        if cw < cols as u64 || ch < rows as u64 {
            small.push((h as usize, w as usize));
        }
    }
    Ok(small
        .iter()
        .min_by_key(|(h, w)| h * w)
        .map(|&smallest| Undersized {
            count: small.len(),
            total: files.len(),
            smallest,
        }))
}

/// Loads every image in `dir` (see the module docs) as `channels` x `rows` x `cols`, sorted by
/// file name. Labels are `None`. An empty folder is an error.
pub fn load_image_folder(
    dir: &Path,
    rows: usize,
    cols: usize,
    channels: usize,
) -> Result<Dataset, DataError> {
    check_size(rows, cols)?;
    let files = image_files(dir)?;
    if files.is_empty() {
        return Err(DataError::NoImages {
            dir: dir.to_path_buf(),
        });
    }
    let mut images = Vec::with_capacity(files.len() * channels * rows * cols);
    for path in &files {
        let fitted = fit(&decode(path)?, rows, cols);
        images.extend_from_slice(&to_planar(&fitted, channels).pixels);
    }
    Ok(Dataset {
        images,
        labels: None,
        count: files.len(),
        height: rows,
        width: cols,
        channels,
    })
}
