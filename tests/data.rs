//! The data module: IDX parsing and its errors, the embedded subset, image folders.
//! Plain CPU tests: `cargo test --release --test data`.

use std::error::Error as _;
use std::io::Write;
use std::path::Path;

use image::{GrayImage, Luma, Rgb, RgbImage};
use wgvae::data::embedded::{embedded, try_embedded, EMBEDDED_TEST, EMBEDDED_TRAIN};
use wgvae::data::images::load_image_folder;
use wgvae::data::mnist::{
    load_mnist_dir, parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels,
};
use wgvae::data::{load, DataError, Dataset, Split};

// ---- helpers -------------------------------------------------------------------------

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x0803, count, rows, cols] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0801u32.to_be_bytes());
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Three 2x3 images with distinct pixels, and their labels.
fn sample() -> (Vec<u8>, Vec<u8>) {
    ((0..18u8).map(|i| i * 13).collect(), vec![7, 0, 9])
}

/// The error's message with its causes, as main.rs prints it.
fn chain(e: &DataError) -> String {
    let mut s = e.to_string();
    let mut c = e.source();
    while let Some(x) = c {
        s.push_str(": ");
        s.push_str(&x.to_string());
        c = x.source();
    }
    s
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

// ---- IDX -----------------------------------------------------------------------------

#[test]
fn idx_round_trip_raw_and_gzip() {
    let (px, labels) = sample();
    let raw = idx_images(3, 2, 3, &px);
    for bytes in [raw.clone(), gzip(&raw)] {
        let ds = parse_idx_images(&bytes, "t").unwrap();
        assert_eq!((ds.count, ds.height, ds.width, ds.dim()), (3, 2, 3, 6));
        assert_eq!(ds.images, px);
        assert_eq!(ds.image(1), &px[6..12]);
        assert!(ds.labels.is_none());
    }
    let lraw = idx_labels(&labels);
    assert_eq!(parse_idx_labels(&lraw, "l").unwrap(), labels);
    assert_eq!(parse_idx_labels(&gzip(&lraw), "l").unwrap(), labels);
}

#[test]
fn idx_files_raw_and_gz_and_mnist_dir() {
    let (px, labels) = sample();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Train raw, test gzipped: both spellings are found.
    write(
        &d.join("train-images-idx3-ubyte"),
        &idx_images(3, 2, 3, &px),
    );
    write(&d.join("train-labels-idx1-ubyte"), &idx_labels(&labels));
    write(
        &d.join("t10k-images-idx3-ubyte.gz"),
        &gzip(&idx_images(2, 2, 3, &px[..12])),
    );
    write(
        &d.join("t10k-labels-idx1-ubyte.gz"),
        &gzip(&idx_labels(&labels[..2])),
    );

    let ds = read_idx_images(&d.join("t10k-images-idx3-ubyte.gz")).unwrap();
    assert_eq!(ds.images, &px[..12]);
    assert_eq!(
        read_idx_labels(&d.join("train-labels-idx1-ubyte")).unwrap(),
        labels
    );

    let train = load_mnist_dir(d, Split::Train).unwrap();
    assert_eq!(train.count, 3);
    assert_eq!(train.labels.as_deref(), Some(&labels[..]));
    let test = load(d, Split::Test, 2, 3, 1).unwrap();
    assert_eq!((test.count, test.height, test.width), (2, 2, 3));
    assert_eq!(test.images, &px[..12]);
    assert_eq!(test.labels.as_deref(), Some(&labels[..2]));

    let t1 = train.take(1);
    assert_eq!((t1.count, t1.images.len()), (1, 6));
    assert_eq!(t1.labels, Some(vec![7]));
    assert_eq!(train.take(99).count, 3);
}

#[test]
fn bad_magic_names_file_and_both_magics() {
    // A label file read as images: the classic mix-up.
    let e = parse_idx_images(&idx_labels(&[1, 2, 3]), "data/x").unwrap_err();
    assert!(matches!(e, DataError::BadMagic { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "data/x: not an IDX image file (magic 0x00000803 expected, found 0x00000801)"
    );
    let e = parse_idx_labels(&[0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0], "lab").unwrap_err();
    assert_eq!(
        e.to_string(),
        "lab: not an IDX label file (magic 0x00000801 expected, found 0x12345678)"
    );
}

#[test]
fn truncated_body_and_header() {
    let e = parse_idx_images(&idx_images(60000, 28, 28, &[0; 984]), "f").unwrap_err();
    assert!(matches!(e, DataError::Truncated { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "f: truncated: header says 60000 images of 28x28 (47040000 bytes) but the file holds 984 bytes"
    );
    let e = parse_idx_labels(&idx_labels(&[1, 2, 3])[..10], "l").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("l: truncated: header says 3 labels"),
        "{e}"
    );
    let e = parse_idx_images(&idx_images(1, 1, 1, &[])[..9], "h").unwrap_err();
    assert!(matches!(e, DataError::TruncatedHeader { .. }), "{e:?}");
    assert!(e.to_string().contains("16-byte IDX header"), "{e}");
    // Absurd header sizes are reported, not overflowed.
    let e = parse_idx_images(&idx_images(u32::MAX, u32::MAX, u32::MAX, &[]), "big").unwrap_err();
    assert!(matches!(e, DataError::Truncated { .. }), "{e:?}");
}

#[test]
fn trailing_bytes_are_an_error() {
    let e = parse_idx_images(&idx_images(1, 2, 2, &[0; 5]), "f").unwrap_err();
    assert!(matches!(e, DataError::TrailingBytes { .. }), "{e:?}");
    assert!(e.to_string().contains("trailing"), "{e}");
}

#[test]
fn wrong_dims() {
    let e = parse_idx_images(&idx_images(3, 0, 28, &[]), "z").unwrap_err();
    assert!(matches!(e, DataError::EmptyDims { .. }), "{e:?}");
    assert!(e.to_string().contains("0x28"), "{e}");

    // An MNIST folder of 2x3 images loaded for a 28x28 model.
    let (px, labels) = sample();
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("train-images-idx3-ubyte"),
        &idx_images(3, 2, 3, &px),
    );
    write(
        &dir.path().join("train-labels-idx1-ubyte"),
        &idx_labels(&labels),
    );
    let e = load(dir.path(), Split::Train, 28, 28, 1).unwrap_err();
    assert!(matches!(e, DataError::DimsMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("2x3 but 28x28"), "{e}");

    let e = load(dir.path(), Split::Train, 0, 28, 1).unwrap_err();
    assert!(matches!(e, DataError::BadSize { .. }), "{e:?}");
}

#[test]
fn images_labels_count_mismatch() {
    let (px, labels) = sample();
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("train-images-idx3-ubyte"),
        &idx_images(3, 2, 3, &px),
    );
    write(
        &dir.path().join("train-labels-idx1-ubyte.gz"),
        &gzip(&idx_labels(&labels[..2])),
    );
    let e = load_mnist_dir(dir.path(), Split::Train).unwrap_err();
    assert!(matches!(e, DataError::CountMismatch { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("images (3) and labels (2) disagree"), "{msg}");
    assert!(msg.contains("train-labels-idx1-ubyte.gz"), "{msg}");
}

#[test]
fn missing_and_corrupt_files() {
    let (px, _) = sample();
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("train-images-idx3-ubyte"),
        &idx_images(3, 2, 3, &px),
    );
    // An MNIST folder without labels says which file is missing.
    let e = load(dir.path(), Split::Train, 2, 3, 1).unwrap_err();
    assert!(matches!(e, DataError::MissingFile { .. }), "{e:?}");
    assert!(e
        .to_string()
        .contains("no train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz"));
    // ... and the test split of it too, rather than "no images".
    let e = load(dir.path(), Split::Test, 2, 3, 1).unwrap_err();
    assert!(e.to_string().contains("t10k-images-idx3-ubyte"), "{e}");

    // A gzip stream cut short.
    let gz = gzip(&idx_images(3, 2, 3, &px));
    let e = parse_idx_images(&gz[..gz.len() / 2], "cut.gz").unwrap_err();
    assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
    assert!(e.to_string().starts_with("cut.gz: "), "{e}");

    // A file that does not exist: an I/O error with the path.
    let e = read_idx_images(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }), "{e:?}");
    assert!(chain(&e).contains("nope"), "{}", chain(&e));

    let e = load(
        &dir.path().join("train-images-idx3-ubyte"),
        Split::Train,
        2,
        3,
        1,
    )
    .unwrap_err();
    assert!(matches!(e, DataError::NotADirectory { .. }), "{e:?}");
}

// ---- embedded subset -----------------------------------------------------------------

fn check_embedded(ds: &Dataset, count: usize, first_labels: &[u8]) {
    assert_eq!((ds.count, ds.height, ds.width), (count, 28, 28));
    assert_eq!(ds.images.len(), count * 784);
    let labels = ds.labels.as_ref().expect("embedded data has labels");
    assert_eq!(labels.len(), count);
    assert!(labels.iter().all(|&l| l <= 9));
    for digit in 0..10u8 {
        assert!(labels.contains(&digit), "digit {digit} missing");
    }
    assert_eq!(&labels[..first_labels.len()], first_labels);
    // Real MNIST: mostly black, about 19% ink; corners always black.
    let mean = ds.images.iter().map(|&p| p as f64).sum::<f64>() / ds.images.len() as f64;
    assert!((25.0..40.0).contains(&mean), "mean pixel {mean}");
    assert!(ds.images.contains(&255));
    assert_eq!(ds.image(0)[0], 0);
}

#[test]
fn embedded_subset_is_mnist() {
    // The well-known first labels of MNIST's train and test sets.
    check_embedded(
        &embedded(Split::Train),
        EMBEDDED_TRAIN,
        &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
    );
    check_embedded(
        &try_embedded(Split::Test).unwrap(),
        EMBEDDED_TEST,
        &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
    );
    assert_eq!((EMBEDDED_TRAIN, EMBEDDED_TEST), (10_000, 2_000));
}

// ---- image folders -------------------------------------------------------------------

/// Writes three images of different sizes and kinds, plus files that must be skipped.
fn image_folder(d: &Path) {
    // Wide RGB: black 10-column bands either side of a white 20x20 centre. A centre crop
    // keeps only white; a stretch would not.
    let mut a = RgbImage::from_pixel(40, 20, Rgb([0, 0, 0]));
    for y in 0..20 {
        for x in 10..30 {
            a.put_pixel(x, y, Rgb([255, 255, 255]));
        }
    }
    a.save(d.join("a.png")).unwrap();
    // Large grey, uniform.
    GrayImage::from_pixel(56, 56, Luma([200]))
        .save(d.join("b.png"))
        .unwrap();
    // Pure red RGB, already 28x28: grey value is red's luma.
    RgbImage::from_pixel(28, 28, Rgb([255, 0, 0]))
        .save(d.join("c.png"))
        .unwrap();
    // Tall grey JPEG (upper-case extension): uniform, so JPEG loss stays small.
    GrayImage::from_pixel(30, 90, Luma([100]))
        .save_with_format(d.join("d.JPG"), image::ImageFormat::Jpeg)
        .unwrap();
    write(&d.join("notes.txt"), b"not an image");
    write(&d.join(".hidden.png"), b"garbage");
    std::fs::create_dir(d.join("sub.png")).unwrap();
}

#[test]
fn image_folder_loads_sorted_grey_resized() {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    let ds = load_image_folder(dir.path(), 28, 28, 1).unwrap();
    assert_eq!((ds.count, ds.height, ds.width), (4, 28, 28));
    assert_eq!(ds.images.len(), 4 * 784);
    assert!(ds.labels.is_none());
    assert!(
        ds.image(0).iter().all(|&p| p == 255),
        "a.png: centre crop is white"
    );
    assert!(ds.image(1).iter().all(|&p| p == 200), "b.png");
    let red = ds.image(2)[0];
    assert!((50..=60).contains(&red), "red luma {red}");
    assert!(ds.image(2).iter().all(|&p| p == red));
    assert!(ds.image(3).iter().all(|&p| p.abs_diff(100) <= 3), "d.JPG");

    // Non-square target: rows x cols respected.
    let ds = load_image_folder(dir.path(), 8, 16, 1).unwrap();
    assert_eq!((ds.height, ds.width, ds.images.len()), (8, 16, 4 * 128));

    // load() on a plain folder: both splits are all the images.
    let tr = load(dir.path(), Split::Train, 28, 28, 1).unwrap();
    let te = load(dir.path(), Split::Test, 28, 28, 1).unwrap();
    assert_eq!((tr.count, te.count), (4, 4));
    assert_eq!(tr.images, te.images);
}

#[test]
fn colour_images_load_planar_and_grey_sources_refuse_colour() {
    let dir = tempfile::tempdir().unwrap();
    // a 2x3 RGB image whose channels differ: R = 10 x + 1, G = 100, B = 200 - y
    let img = RgbImage::from_fn(3, 2, |x, y| Rgb([10 * x as u8 + 1, 100, 200 - y as u8]));
    img.save(dir.path().join("c.png")).unwrap();
    let ds = load_image_folder(dir.path(), 2, 3, 3).unwrap();
    assert_eq!((ds.channels, ds.height, ds.width, ds.dim()), (3, 2, 3, 18));
    assert_eq!(
        ds.image(0),
        [1, 11, 21, 1, 11, 21, 100, 100, 100, 100, 100, 100, 200, 200, 200, 199, 199, 199],
        "planar CHW: all red, then all green, then all blue"
    );
    let e = wgvae::data::load_split(None, Split::Train, 28, 28, 3).unwrap_err();
    assert!(matches!(e, DataError::NotColour { .. }), "{e:?}");
    assert!(e.to_string().contains("--color grey"), "{e}");
}

#[test]
fn patches_are_seeded_cover_every_position_and_augment_by_symmetries() {
    use wgvae::data::patches::{random_patches, Image, PatchSpec};
    // one 2-channel-free grey 4x5 image whose pixel value is its index, and one too small
    let big = Image {
        channels: 1,
        height: 4,
        width: 5,
        pixels: (0..20).collect(),
    };
    let small = Image {
        channels: 1,
        height: 1,
        width: 9,
        pixels: vec![255; 9],
    };
    let images = [small.clone(), big];
    let spec = PatchSpec {
        size: 2,
        count: 400,
        augment: false,
    };
    let a = random_patches(&images, spec, 7, "t").unwrap();
    assert_eq!((a.count, a.height, a.width, a.channels), (400, 2, 2, 1));
    assert_eq!(
        a.images,
        random_patches(&images, spec, 7, "t").unwrap().images
    );
    assert_ne!(
        a.images,
        random_patches(&images, spec, 8, "t").unwrap().images
    );
    let mut seen = std::collections::HashSet::new();
    for i in 0..a.count {
        let p = a.image(i);
        // an unaugmented patch is a window: p[0] = 5 y + x, p = [p0, p0 + 1, p0 + 5, p0 + 6]
        assert_eq!(p, [p[0], p[0] + 1, p[0] + 5, p[0] + 6], "patch {i}");
        assert!(p[0] % 5 < 4 && p[0] / 5 < 3, "patch {i} starts at {}", p[0]);
        seen.insert(p[0]);
    }
    assert_eq!(seen.len(), 12, "all 3 x 4 positions drawn in 400 tries");

    let aug = random_patches(
        &images,
        PatchSpec {
            augment: true,
            ..spec
        },
        7,
        "t",
    )
    .unwrap();
    let mut shapes = std::collections::HashSet::new();
    for i in 0..aug.count {
        let p = aug.image(i);
        let mut sorted = p.to_vec();
        sorted.sort();
        let m = sorted[0];
        assert_eq!(
            sorted,
            [m, m + 1, m + 5, m + 6],
            "an augmented patch keeps its pixels"
        );
        // where the top-left pixel of the window went
        shapes.insert((
            p.iter().position(|&v| v == m),
            p.iter().position(|&v| v == m + 1),
        ));
    }
    assert_eq!(shapes.len(), 8, "the 8 symmetries of the square all occur");

    let e = random_patches(&[small], spec, 1, "tiny").unwrap_err();
    assert!(
        matches!(e, DataError::PatchTooLarge { size: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("tiny"), "{e}");
}

#[test]
fn image_folder_with_train_and_test_subfolders() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train"), dir.path().join("test"));
    std::fs::create_dir(&train).unwrap();
    std::fs::create_dir(&test).unwrap();
    image_folder(&train);
    GrayImage::from_pixel(10, 10, Luma([42]))
        .save(test.join("only.png"))
        .unwrap();
    let tr = load(dir.path(), Split::Train, 28, 28, 1).unwrap();
    let te = load(dir.path(), Split::Test, 28, 28, 1).unwrap();
    assert_eq!((tr.count, te.count), (4, 1));
    assert!(te.images.iter().all(|&p| p == 42));
}

#[test]
fn corrupt_png_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    write(
        &dir.path().join("broken.png"),
        b"\x89PNG\r\n\x1a\nthis is not a png",
    );
    let e = load_image_folder(dir.path(), 28, 28, 1).unwrap_err();
    assert!(matches!(e, DataError::Image { .. }), "{e:?}");
    assert!(e.to_string().contains("broken.png"), "{e}");
}

#[test]
fn huge_png_header_is_refused_not_allocated() {
    // A valid PNG header claiming 20000x20000 pixels, and no data.
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20000u32.to_be_bytes());
    ihdr.extend_from_slice(&20000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IEND", &[]);
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("huge.png"), &png);
    let e = load_image_folder(dir.path(), 28, 28, 1).unwrap_err();
    assert!(matches!(e, DataError::ImageTooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("huge.png: image too large"), "{e}");
}

#[test]
fn empty_folder_has_no_images() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("readme.txt"), b"hello");
    let e = load(dir.path(), Split::Train, 28, 28, 1).unwrap_err();
    assert!(matches!(e, DataError::NoImages { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("no PNG or JPEG images in {}", dir.path().display())
    );
}
