//! Datasets: everything between files on disk and a flat `u8` pixel array.
//!
//! `mnist` reads IDX files (raw or gzipped), `images` reads folders of PNG/JPEG images,
//! `embedded` holds the small MNIST subset compiled into the binary. [`load`] picks the
//! reader from what a directory holds. Pixels stay `u8` here; the trainer scales them by
//! 1/255 (as pytorch/examples/vae reads MNIST), so one copy of the data set serves every consumer.

pub mod embedded;
pub mod images;
pub mod mnist;
pub mod patches;

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Every way loading data can fail. Each message is one line naming the file or directory;
/// an underlying cause (I/O, gzip, image decoding) is the error's `source()`, so printing the
/// chain joined by ": " reads as one sentence.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error(
        "{name}: not an IDX {kind} file (magic 0x{expected:08x} expected, found 0x{found:08x})"
    )]
    BadMagic {
        name: String,
        kind: &'static str,
        expected: u32,
        found: u32,
    },
    #[error("{name}: truncated: {found} bytes is shorter than the {expected}-byte IDX header")]
    TruncatedHeader {
        name: String,
        expected: usize,
        found: usize,
    },
    #[error(
        "{name}: truncated: header says {what} ({expected} bytes) but the file holds {found} bytes"
    )]
    Truncated {
        name: String,
        what: String,
        expected: u128,
        found: usize,
    },
    #[error(
        "{name}: header says {what} ({expected} bytes) but the file holds {found} bytes (trailing data)"
    )]
    TrailingBytes {
        name: String,
        what: String,
        expected: u128,
        found: usize,
    },
    #[error("{name}: header gives an empty image size {rows}x{cols}")]
    EmptyDims {
        name: String,
        rows: usize,
        cols: usize,
    },
    #[error("{name}: images are {found_rows}x{found_cols} but {rows}x{cols} was asked for")]
    DimsMismatch {
        name: String,
        rows: usize,
        cols: usize,
        found_rows: usize,
        found_cols: usize,
    },
    #[error("image size {rows}x{cols} is not allowed (each side must be 1..={max})")]
    BadSize {
        rows: usize,
        cols: usize,
        max: usize,
    },
    #[error("{images_name} and {labels_name}: images ({images}) and labels ({labels}) disagree")]
    CountMismatch {
        images_name: String,
        labels_name: String,
        images: usize,
        labels: usize,
    },
    #[error("{}: no {name} or {name}.gz", dir.display())]
    MissingFile { dir: PathBuf, name: String },
    #[error("{name}: not valid gzip")]
    Gzip {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: too large (more than {limit} bytes)")]
    TooLarge { name: String, limit: u64 },
    #[error("no PNG or JPEG images in {}", dir.display())]
    NoImages { dir: PathBuf },
    #[error("{what}: no image is at least {size}x{size} for --patch {size} (the largest is {height}x{width})")]
    PatchTooLarge {
        what: String,
        size: usize,
        height: usize,
        width: usize,
    },
    #[error("{what} is grey; it cannot give {channels}-channel images (use --color grey)")]
    NotColour { what: String, channels: usize },
    #[error("{}: image too large", path.display())]
    ImageTooLarge {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("{}: the extension names no image format wgvae can write (use .png or .jpg)", path.display())]
    UnknownImageFormat { path: PathBuf },
    #[error("{}: cannot encode image", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("{}: cannot decode image", path.display())]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
}

impl DataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Images as one `u8` array: image `i` is `images[i*dim .. (i+1)*dim]`, each stored planar
/// (CHW: every channel's rows in turn, as the model's NCHW tensors), grey or RGB.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub images: Vec<u8>,
    /// One label per image, when the source has them (MNIST does, image folders do not).
    pub labels: Option<Vec<u8>>,
    pub count: usize,
    pub height: usize,
    pub width: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
}

impl Dataset {
    /// Values per image (`channels * height * width`).
    pub fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i`. Panics if `i >= count` (a caller bug, like slice indexing).
    pub fn image(&self, i: usize) -> &[u8] {
        let d = self.dim();
        &self.images[i * d..(i + 1) * d]
    }

    /// The first `n` images (and labels); all of them if `n >= count`.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.count);
        Dataset {
            images: self.images[..n * self.dim()].to_vec(),
            labels: self.labels.as_ref().map(|l| l[..n].to_vec()),
            count: n,
            height: self.height,
            width: self.width,
            channels: self.channels,
        }
    }
}

/// Which part of a dataset to load: the training images or the held-out test images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// "train" or "test", as messages name the split (and as its folder is named).
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// Largest image side accepted for a target size or a decoded image.
pub const MAX_SIDE: usize = 16384;

/// Loads `split` from `dir`, which holds either
///
/// - MNIST IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
///   `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or with `.gz`): read with
///   labels; their image size must equal `rows x cols` (they are not resized), or
/// - PNG/JPEG images, grey or RGB, converted to grey and resized to `rows x cols` as
///   [`images::load_image_folder`] describes. If `dir` has both `train/` and `test/`
///   subfolders, each split reads its own; otherwise the images directly in `dir` serve as
///   **both** the Train and the Test split (so evaluation on such a folder measures fit, not
///   generalisation).
///
/// A directory with any of the IDX names counts as MNIST, so a missing file is reported as
/// such rather than as "no images".
pub fn load(
    dir: &Path,
    split: Split,
    rows: usize,
    cols: usize,
    channels: usize,
) -> Result<Dataset, DataError> {
    check_size(rows, cols)?;
    let meta = std::fs::metadata(dir).map_err(|e| DataError::io(dir, e))?;
    if !meta.is_dir() {
        return Err(DataError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    if mnist::is_mnist_dir(dir) {
        if channels != 1 {
            return Err(DataError::NotColour {
                what: format!("MNIST in {}", dir.display()),
                channels,
            });
        }
        let ds = mnist::load_mnist_dir(dir, split)?;
        if ds.height != rows || ds.width != cols {
            return Err(DataError::DimsMismatch {
                name: dir.display().to_string(),
                rows,
                cols,
                found_rows: ds.height,
                found_cols: ds.width,
            });
        }
        return Ok(ds);
    }
    images::load_image_folder(&split_folder(dir, split), rows, cols, channels)
}

/// Whether `dir` is a folder of images without both `train/` and `test/`, so that its images
/// are both splits (evaluation then measures fit, not generalisation).
pub fn shares_splits(dir: &Path) -> bool {
    dir.is_dir() && !mnist::is_mnist_dir(dir) && split_folder(dir, Split::Train) == dir
}

/// `dir/train` or `dir/test` when `dir` has both, else `dir` itself for either split.
pub fn split_folder(dir: &Path, split: Split) -> PathBuf {
    let (train, test) = (dir.join("train"), dir.join("test"));
    if train.is_dir() && test.is_dir() {
        match split {
            Split::Train => train,
            Split::Test => test,
        }
    } else {
        dir.to_path_buf()
    }
}

/// The images of `split` at their own sizes, planar with `channels`, for patch training: an
/// image folder's files (as [`load`] chooses the folder), or MNIST's (or the embedded
/// subset's, without a folder) digits.
pub fn load_full_images(
    dir: Option<&Path>,
    split: Split,
    channels: usize,
) -> Result<Vec<patches::Image>, DataError> {
    let set = match dir {
        Some(d) if !mnist::is_mnist_dir(d) && d.is_dir() => {
            return images::load_full_images(&split_folder(d, split), channels);
        }
        // MNIST and the embedded subset, with their checks (28x28, grey)
        _ => load_split(dir, split, 28, 28, channels)?,
    };
    Ok((0..set.count)
        .map(|i| patches::Image {
            channels: set.channels,
            height: set.height,
            width: set.width,
            pixels: set.image(i).to_vec(),
        })
        .collect())
}

/// Target sizes must be non-empty and bounded, so a typo cannot ask for a terabyte.
pub(crate) fn check_size(rows: usize, cols: usize) -> Result<(), DataError> {
    if rows == 0 || cols == 0 || rows > MAX_SIDE || cols > MAX_SIDE {
        return Err(DataError::BadSize {
            rows,
            cols,
            max: MAX_SIDE,
        });
    }
    Ok(())
}

/// `load(dir, ...)` when a folder is named, else the embedded MNIST subset (28x28 only).
pub fn load_split(
    dir: Option<&Path>,
    split: Split,
    rows: usize,
    cols: usize,
    channels: usize,
) -> Result<Dataset, DataError> {
    match dir {
        Some(d) => load(d, split, rows, cols, channels),
        None if channels != 1 => Err(DataError::NotColour {
            what: "the embedded MNIST subset".into(),
            channels,
        }),
        None => {
            let ds = embedded::try_embedded(split)?;
            if ds.height != rows || ds.width != cols {
                return Err(DataError::DimsMismatch {
                    name: "the embedded MNIST subset".into(),
                    rows,
                    cols,
                    found_rows: ds.height,
                    found_cols: ds.width,
                });
            }
            Ok(ds)
        }
    }
}
