//! The IDX format of MNIST (and EMNIST, Fashion-MNIST, ...): parsing from bytes, reading
//! files, and pairing a split's images with its labels.
//!
//! IDX is a big-endian header (`00 00 <type> <ndims>`, then one u32 per dimension) followed
//! by the raw data. We accept only what the trainer can use: unsigned bytes (type 0x08),
//! 3 dimensions for images and 1 for labels, and a body exactly as long as the header says.
//! Gzipped files (starting `1f 8b`) are decompressed transparently, as the originals are
//! distributed that way.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DataError, Dataset, Split};

/// `00 00 08 03`: unsigned bytes, 3 dimensions (count, rows, cols).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// `00 00 08 01`: unsigned bytes, 1 dimension (count).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Upper bound on the bytes of one IDX file, raw or after gunzip. Full MNIST images are 47 MB
/// and EMNIST byclass 550 MB; the bound stops a gzip bomb or a wrong path from exhausting
/// memory.
pub const MAX_IDX_BYTES: u64 = 1 << 30;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The standard file names (without `.gz`) of a split: (images, labels).
pub fn split_files(split: Split) -> (&'static str, &'static str) {
    match split {
        Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
}

/// `dir/base` if it exists, else `dir/base.gz` if that does (raw first: no decompression).
pub fn find_idx_file(dir: &Path, base: &str) -> Option<PathBuf> {
    let raw = dir.join(base);
    if raw.is_file() {
        return Some(raw);
    }
    let gz = dir.join(format!("{base}.gz"));
    gz.is_file().then_some(gz)
}

/// True if `dir` holds any of the four standard IDX names, raw or gzipped.
pub fn is_mnist_dir(dir: &Path) -> bool {
    [Split::Train, Split::Test].iter().any(|&s| {
        let (i, l) = split_files(s);
        find_idx_file(dir, i).is_some() || find_idx_file(dir, l).is_some()
    })
}

/// Returns the bytes decompressed if they start with the gzip magic, else borrows them.
/// `name` is only for error messages.
pub fn gunzip_if_needed<'a>(bytes: &'a [u8], name: &str) -> Result<Cow<'a, [u8]>, DataError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    // take(limit + 1) so an over-long stream is detected without decoding all of it.
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_IDX_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            name: name.to_string(),
            source,
        })?;
    if out.len() as u64 > MAX_IDX_BYTES {
        return Err(DataError::TooLarge {
            name: name.to_string(),
            limit: MAX_IDX_BYTES,
        });
    }
    Ok(Cow::Owned(out))
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks magic and header length, returns the header's dimensions.
fn header<const N: usize>(
    b: &[u8],
    name: &str,
    kind: &'static str,
    magic: u32,
) -> Result<[u32; N], DataError> {
    let header_len = 4 + 4 * N;
    // Check the magic first when we have it: a wrong file type is the likelier mistake.
    if b.len() >= 4 && be_u32(b, 0) != magic {
        return Err(DataError::BadMagic {
            name: name.to_string(),
            kind,
            expected: magic,
            found: be_u32(b, 0),
        });
    }
    if b.len() < header_len {
        return Err(DataError::TruncatedHeader {
            name: name.to_string(),
            expected: header_len,
            found: b.len(),
        });
    }
    let mut dims = [0u32; N];
    for (k, d) in dims.iter_mut().enumerate() {
        *d = be_u32(b, 4 + 4 * k);
    }
    Ok(dims)
}

/// Checks the body length against the header: not shorter, not longer.
fn body<'a>(
    b: &'a [u8],
    header_len: usize,
    expected: u128,
    name: &str,
    what: String,
) -> Result<&'a [u8], DataError> {
    let found = b.len() - header_len;
    if (found as u128) < expected {
        return Err(DataError::Truncated {
            name: name.to_string(),
            what,
            expected,
            found,
        });
    }
    if (found as u128) > expected {
        return Err(DataError::TrailingBytes {
            name: name.to_string(),
            what,
            expected,
            found,
        });
    }
    Ok(&b[header_len..])
}

/// Parses an IDX image file (raw or gzipped) from bytes; `name` is for error messages.
/// The result has no labels.
pub fn parse_idx_images(bytes: &[u8], name: &str) -> Result<Dataset, DataError> {
    let b = gunzip_if_needed(bytes, name)?;
    let [count, rows, cols] = header::<3>(&b, name, "image", IMAGES_MAGIC)?;
    let (count, rows, cols) = (count as usize, rows as usize, cols as usize);
    if rows == 0 || cols == 0 {
        return Err(DataError::EmptyDims {
            name: name.to_string(),
            rows,
            cols,
        });
    }
    // u128: three u32 factors cannot overflow it, so absurd headers are reported, not wrapped.
    let expected = count as u128 * rows as u128 * cols as u128;
    let what = format!("{count} images of {rows}x{cols}");
    let pixels = body(&b, 16, expected, name, what)?;
    Ok(Dataset {
        images: pixels.to_vec(),
        labels: None,
        count,
        height: rows,
        width: cols,
        channels: 1,
    })
}

/// Parses an IDX label file (raw or gzipped) from bytes; `name` is for error messages.
pub fn parse_idx_labels(bytes: &[u8], name: &str) -> Result<Vec<u8>, DataError> {
    let b = gunzip_if_needed(bytes, name)?;
    let [count] = header::<1>(&b, name, "label", LABELS_MAGIC)?;
    let what = format!("{count} labels");
    Ok(body(&b, 8, count as u128, name, what)?.to_vec())
}

/// Attaches `labels` to `images`, checking that the counts agree.
pub fn with_labels(
    mut images: Dataset,
    labels: Vec<u8>,
    images_name: &str,
    labels_name: &str,
) -> Result<Dataset, DataError> {
    if labels.len() != images.count {
        return Err(DataError::CountMismatch {
            images_name: images_name.to_string(),
            labels_name: labels_name.to_string(),
            images: images.count,
            labels: labels.len(),
        });
    }
    images.labels = Some(labels);
    Ok(images)
}

/// Reads a whole file, refusing ones over [`MAX_IDX_BYTES`] before allocating.
fn read_bounded(path: &Path) -> Result<Vec<u8>, DataError> {
    let len = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    if len > MAX_IDX_BYTES {
        return Err(DataError::TooLarge {
            name: path.display().to_string(),
            limit: MAX_IDX_BYTES,
        });
    }
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

/// Reads an IDX image file (raw, or gzipped if it starts with `1f 8b`). Labels are `None`.
pub fn read_idx_images(path: &Path) -> Result<Dataset, DataError> {
    parse_idx_images(&read_bounded(path)?, &path.display().to_string())
}

/// Reads an IDX label file (raw, or gzipped if it starts with `1f 8b`).
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    parse_idx_labels(&read_bounded(path)?, &path.display().to_string())
}

/// Reads one split of an MNIST directory: images and labels, counts checked.
pub fn load_mnist_dir(dir: &Path, split: Split) -> Result<Dataset, DataError> {
    let (img_base, lab_base) = split_files(split);
    let find = |base: &str| {
        find_idx_file(dir, base).ok_or_else(|| DataError::MissingFile {
            dir: dir.to_path_buf(),
            name: base.to_string(),
        })
    };
    let (img_path, lab_path) = (find(img_base)?, find(lab_base)?);
    let images = read_idx_images(&img_path)?;
    let labels = read_idx_labels(&lab_path)?;
    with_labels(
        images,
        labels,
        &img_path.display().to_string(),
        &lab_path.display().to_string(),
    )
}
