//! The bad-input battery: every bad image, dataset, checkpoint and flag fed
//! to every command that reads it. A refusal is exactly one line starting "error: " that names
//! the file (or the flag) and the problem, exit status 2 for wrong usage and 1 for bad data or a
//! run-time failure, no panic, and nothing in the work folder created, changed or left behind
//! (inputs byte-identical, no output, no temporary file). What is accepted instead (16-bit,
//! palette and alpha images, a batch past the data) is run and checked to work.
//!
//! Every command runs with the work folder as its current directory, so a default output path
//! (`runs/...`) would show up in the folder snapshot too.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use image::{DynamicImage, GrayImage, ImageBuffer, Luma, LumaA, Rgb, RgbImage, Rgba};

/// Wrong usage: clap's own errors and our flag-value and flag-combination checks.
const USAGE: i32 = 2;
/// Bad data or a run-time failure.
const FAILURE: i32 = 1;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file under `dir` (recursively) with its bytes; folders as empty entries.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), None);
                stack.push(p);
            } else {
                out.insert(p.clone(), Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// The work folder of one test: fixtures go in, commands run inside it.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        Work {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = common::cli::wgvae();
        cmd.current_dir(self.dir.path()).args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs `cmd` and checks a clean refusal: exit `code`, one "error: " line holding every
    /// needle, no panic, and the work folder exactly as before.
    fn refused_by(&self, mut cmd: Command, what: &str, code: i32, needles: &[&str]) -> String {
        let before = snapshot(self.dir.path());
        let (line, _) = common::cli::failed(&mut cmd, code);
        for needle in needles {
            assert!(
                line.contains(needle),
                "{what}: {line:?} does not mention {needle:?}"
            );
        }
        let after = snapshot(self.dir.path());
        if before != after {
            let changed: Vec<&PathBuf> = before
                .keys()
                .chain(after.keys())
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            panic!("{what}: a refused run changed the work folder: {changed:?}");
        }
        // the battery's outcomes, seen with --nocapture
        println!("refused, exit {code}: {what}\n    {line}");
        line
    }

    fn refused(&self, args: &[&str], code: i32, needles: &[&str]) -> String {
        self.refused_by(self.cmd(args), &format!("{args:?}"), code, needles)
    }

    fn accepted(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{args:?} should succeed:\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A 28x28 grey digit-like picture (a bright ring on black).
fn digit() -> GrayImage {
    GrayImage::from_fn(28, 28, |x, y| {
        let (dx, dy) = (x as f32 - 13.5, y as f32 - 13.5);
        let r = (dx * dx + dy * dy).sqrt();
        Luma([if (6.0..10.0).contains(&r) { 240 } else { 10 }])
    })
}

fn encode(img: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

fn png(img: DynamicImage) -> Vec<u8> {
    encode(&img, image::ImageFormat::Png)
}

/// One PNG chunk with its CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// A PNG built by hand: IHDR (width, height, bit depth, colour type), an optional PLTE, and
/// `rows` (each with its filter byte) compressed into one IDAT.
fn raw_png(width: u32, height: u32, depth: u8, colour: u8, plte: &[u8], rows: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(rows).unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    if !plte.is_empty() {
        out.extend(chunk(b"PLTE", plte));
    }
    out.extend(chunk(b"IDAT", &z.finish().unwrap()));
    out.extend(chunk(b"IEND", b""));
    out
}

/// The image files that must be refused, by name, with a word of the reason.
fn bad_images() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    // a noisy picture, so its compressed body is long and cutting it loses pixels
    let noisy = RgbImage::from_fn(64, 64, |x, y| {
        let v = (x * 7919 + y * 104_729) ^ (x * y);
        Rgb([v as u8, (v >> 3) as u8, (v >> 5) as u8])
    });
    let full = png(DynamicImage::ImageRgb8(noisy.clone()));
    let jpeg = encode(&DynamicImage::ImageRgb8(noisy), image::ImageFormat::Jpeg);
    // a JPEG whose Huffman table is garbage: the decoder cannot go on
    let mut bad_tables = jpeg.clone();
    let dht = jpeg.windows(2).position(|w| w == [0xFF, 0xC4]).unwrap();
    bad_tables[dht + 4..dht + 21].fill(0xFF);
    vec![
        ("empty.png", Vec::new(), "cannot decode"),
        (
            "truncated.png",
            full[..full.len() / 2].to_vec(),
            "cannot decode",
        ),
        (
            "text.png",
            b"this is not an image\n".to_vec(),
            "cannot decode",
        ),
        // 100000 x 100000 grey: 10 GB if decoded; image::Limits refuses it from the header
        (
            "huge.png",
            raw_png(100_000, 100_000, 8, 0, &[], &[0; 16]),
            "too large",
        ),
        ("bad-tables.jpg", bad_tables, "cannot decode"),
    ]
}

/// Images that are accepted and converted: name, bytes, whether they read as colour.
fn convertible_images() -> Vec<(&'static str, Vec<u8>, bool)> {
    let d = digit();
    let grey16: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(28, 28, |x, y| Luma([d.get_pixel(x, y).0[0] as u16 * 257]));
    let rgb16: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(28, 28, |x, y| {
        let v = d.get_pixel(x, y).0[0] as u16 * 257;
        Rgb([v, v / 2, 65535 - v])
    });
    let rgba = ImageBuffer::from_fn(28, 28, |x, y| {
        let v = d.get_pixel(x, y).0[0];
        Rgba([v, v, 255 - v, (x * 9) as u8])
    });
    let grey_alpha = ImageBuffer::from_fn(28, 28, |x, y| LumaA([d.get_pixel(x, y).0[0], 128]));
    // palette: two colours, one bit per pixel (a row of 28 pixels is 4 bytes)
    let mut rows = Vec::new();
    for y in 0..28u32 {
        rows.push(0); // filter: none
        for byte in 0..4u32 {
            let mut b = 0u8;
            for bit in 0..8u32 {
                let x = byte * 8 + bit;
                if x < 28 && d.get_pixel(x, y).0[0] > 128 {
                    b |= 0x80 >> bit;
                }
            }
            rows.push(b);
        }
    }
    let palette = raw_png(28, 28, 1, 3, &[0, 0, 40, 250, 240, 200], &rows);
    // a JPEG whose entropy-coded body is noise: decoded leniently (as viewers do), not refused
    let jpeg = encode(&DynamicImage::ImageLuma8(d), image::ImageFormat::Jpeg);
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let body = sos + 2 + u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]) as usize;
    let mut noisy_body = jpeg.clone();
    let end = noisy_body.len() - 2;
    for (i, b) in noisy_body[body..end].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] & 0x7F;
    }
    vec![
        ("grey16.png", png(DynamicImage::ImageLuma16(grey16)), false),
        ("rgb16.png", png(DynamicImage::ImageRgb16(rgb16)), true),
        ("rgba.png", png(DynamicImage::ImageRgba8(rgba)), true),
        (
            "grey-alpha.png",
            png(DynamicImage::ImageLumaA8(grey_alpha)),
            false,
        ),
        ("palette.png", palette, true),
        ("noisy-body.jpg", noisy_body, false),
    ]
}

/// A big-endian IDX file: magic, dimensions, body.
fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// An MNIST folder with `n` 28x28 digits in each split.
fn mnist_dir(work: &Work, name: &str, n: u32) -> PathBuf {
    let d = digit().into_raw();
    let images: Vec<u8> = (0..n).flat_map(|_| d.iter().copied()).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    for split in ["train", "t10k"] {
        work.write(
            &format!("{name}/{split}-images-idx3-ubyte"),
            &idx(0x803, &[n, 28, 28], &images),
        );
        work.write(
            &format!("{name}/{split}-labels-idx1-ubyte"),
            &idx(0x801, &[n], &labels),
        );
    }
    work.path(name)
}

/// A small valid checkpoint: an MLP (or a conv model) on 28x28 grey images.
fn checkpoint(conv: bool) -> Vec<u8> {
    use wgvae::checkpoint::{save_model, CheckpointMeta};
    use wgvae::config::ModelConfig;
    use wgvae::model::{init::init_params, Model};
    let cfg = if conv {
        ModelConfig {
            conv_channels: vec![2, 3],
            hidden: vec![8],
            latent: 2,
            ..ModelConfig::conv_default()
        }
    } else {
        ModelConfig {
            hidden: vec![8],
            latent: 2,
            ..ModelConfig::default()
        }
    };
    let params = init_params(&Model::new(&cfg).unwrap(), 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    save_model(&path, &CheckpointMeta::new(cfg, 1, 10, 1), &params).unwrap();
    std::fs::read(path).unwrap()
}

/// `good` rewritten by safetensors with `edit` applied to its tensors (metadata kept).
fn retensored(
    good: &[u8],
    edit: impl FnOnce(&mut Vec<(String, safetensors::tensor::TensorView<'_>)>),
) -> Vec<u8> {
    let st = safetensors::SafeTensors::deserialize(good).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(good).unwrap();
    let meta: HashMap<String, String> = header.metadata().clone().unwrap();
    let mut views = st.tensors();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    edit(&mut views);
    safetensors::serialize(views, Some(meta)).unwrap()
}

/// Checkpoints that must be refused: name, bytes, words of the reason.
fn bad_checkpoints() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    use safetensors::tensor::{Dtype, TensorView};
    let good = checkpoint(false);
    let mut header_flip = good.clone();
    header_flip[8] ^= 0xFF; // the header's opening brace
    let mut huge_header = good.clone();
    huge_header[..8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let mut nan_data = good.clone();
    let end = nan_data.len();
    nan_data[end - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    let wrong_shape = retensored(&good, |views| {
        let i = views.iter().position(|(n, _)| n == "fc1.weight").unwrap();
        let data = views[i].1.data();
        views[i].1 = TensorView::new(Dtype::F32, vec![784, 8], data).unwrap();
    });
    let missing = retensored(&good, |views| views.retain(|(n, _)| n != "fc4.bias"));
    vec![
        (
            "empty.safetensors",
            Vec::new(),
            "not a valid safetensors file",
        ),
        (
            "truncated.safetensors",
            good[..good.len() / 2].to_vec(),
            "not a valid safetensors file",
        ),
        (
            "header-flip.safetensors",
            header_flip,
            "not a valid safetensors file",
        ),
        (
            "huge-header.safetensors",
            huge_header,
            "not a valid safetensors file",
        ),
        ("nan-data.safetensors", nan_data, "NaN or infinite"),
        (
            "wrong-shape.safetensors",
            wrong_shape,
            "fc1.weight has shape [784, 8], expected [8, 784]",
        ),
        ("missing.safetensors", missing, "missing tensor fc4.bias"),
        (
            "text.safetensors",
            b"I am a text file, not a checkpoint\n".to_vec(),
            "not a valid safetensors file",
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Images

#[test]
fn bad_images_are_refused_by_every_command_that_reads_one() {
    let work = Work::new();
    let good = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    let out = work.path("out.png");
    for (name, bytes, reason) in bad_images() {
        let bad = work.write(name, &bytes);
        let needles = [name, reason];
        work.refused(
            &[
                "degrade",
                "-i",
                s(&bad),
                "-o",
                s(&out),
                "--noise-sigma",
                "0.1",
            ],
            FAILURE,
            &needles,
        );
        // the mask for degrade's --mask and restore's --mask
        work.refused(
            &["degrade", "-i", s(&good), "-o", s(&out), "--mask", s(&bad)],
            FAILURE,
            &needles,
        );
        if common::gpu().is_none() {
            continue;
        }
        work.refused(
            &[
                "restore",
                "-i",
                s(&bad),
                "-o",
                s(&out),
                "--noise-sigma",
                "0.1",
            ],
            FAILURE,
            &needles,
        );
        work.refused(
            &["restore", "-i", s(&good), "-o", s(&out), "--mask", s(&bad)],
            FAILURE,
            &needles,
        );
        work.refused(
            &["enhance", "-i", s(&bad), "-o", s(&out), "--gamma", "1.2"],
            FAILURE,
            &needles,
        );
        work.refused(
            &["enhance", "-i", s(&bad), "-o", s(&out), "--vae-refine", "1"],
            FAILURE,
            &needles,
        );
        std::fs::remove_file(&bad).unwrap();
    }
}

#[test]
fn a_bad_image_in_a_folder_is_refused_naming_it() {
    if common::gpu().is_none() {
        return;
    }
    let work = Work::new();
    let model = work.write("m.safetensors", &checkpoint(false));
    let out = work.path("o.png");
    let restored = work.path("restored");
    for (name, bytes, reason) in bad_images() {
        let folder = format!("set-{name}");
        work.write(
            &format!("{folder}/a.png"),
            &png(DynamicImage::ImageLuma8(digit())),
        );
        work.write(&format!("{folder}/{name}"), &bytes);
        let f = work.path(&folder);
        let needles = [name, reason];
        work.refused(
            &[
                "train",
                "--data",
                s(&f),
                "--epochs",
                "1",
                "--hidden",
                "8",
                "--latent",
                "2",
            ],
            FAILURE,
            &needles,
        );
        work.refused(
            &["eval", "--model", s(&model), "--data", s(&f)],
            FAILURE,
            &needles,
        );
        work.refused(
            &[
                "sample",
                "--model",
                s(&model),
                "--reconstruct",
                "--data",
                s(&f),
                "-o",
                s(&out),
            ],
            FAILURE,
            &needles,
        );
        work.refused(
            &[
                "restore",
                "-i",
                s(&f),
                "-o",
                s(&restored),
                "--noise-sigma",
                "0.1",
            ],
            FAILURE,
            &needles,
        );
    }
}

#[test]
fn sixteen_bit_palette_and_alpha_images_are_converted() {
    let work = Work::new();
    for (name, bytes, colour) in convertible_images() {
        let input = work.write(name, &bytes);
        let degraded = work.path(&format!("degraded-{name}.png"));
        work.accepted(&[
            "degrade",
            "-i",
            s(&input),
            "-o",
            s(&degraded),
            "--noise-sigma",
            "0.05",
        ]);
        let d = image::open(&degraded).unwrap();
        assert_eq!((d.width(), d.height()), (28, 28), "{name}");
        assert_eq!(d.color().has_color(), colour, "{name}: {:?}", d.color());
        assert!(!d.color().has_alpha(), "{name}: alpha is dropped");
        if common::gpu().is_none() {
            continue;
        }
        let restored = work.path(&format!("restored-{name}.png"));
        work.accepted(&[
            "restore",
            "-i",
            s(&input),
            "-o",
            s(&restored),
            "--noise-sigma",
            "0.05",
        ]);
        let r = image::open(&restored).unwrap();
        assert_eq!(
            (r.width(), r.height(), r.color().has_color()),
            (28, 28, colour),
            "{name}"
        );
        let enhanced = work.path(&format!("enhanced-{name}.png"));
        work.accepted(&[
            "enhance",
            "-i",
            s(&input),
            "-o",
            s(&enhanced),
            "--contrast",
            "1.3",
        ]);
        let e = image::open(&enhanced).unwrap();
        assert_eq!(
            (e.width(), e.height(), e.color().has_color()),
            (28, 28, colour),
            "{name}"
        );
    }
}

#[test]
fn a_mask_of_another_size_is_refused() {
    let work = Work::new();
    let good = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    let mask = work.write(
        "mask.png",
        &png(DynamicImage::ImageLuma8(GrayImage::new(5, 7))),
    );
    let out = work.path("out.png");
    let needles = ["mask.png", "the mask is 7x5 but the image is 28x28"];
    work.refused(
        &["degrade", "-i", s(&good), "-o", s(&out), "--mask", s(&mask)],
        FAILURE,
        &needles,
    );
    if common::gpu().is_some() {
        work.refused(
            &["restore", "-i", s(&good), "-o", s(&out), "--mask", s(&mask)],
            FAILURE,
            &needles,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Datasets

#[test]
fn bad_datasets_are_refused_naming_the_file() {
    if common::gpu().is_none() {
        return;
    }
    let work = Work::new();
    let model = work.write("m.safetensors", &checkpoint(false));
    let grid = work.path("grid.png");
    let scores = work.path("scores");
    let images = "t10k-images-idx3-ubyte";
    let labels = "t10k-labels-idx1-ubyte";
    let digits: Vec<u8> = digit().into_raw().repeat(5);

    let magic = mnist_dir(&work, "magic", 5);
    std::fs::write(magic.join(images), idx(0x804, &[5, 28, 28], &digits)).unwrap();
    let truncated = mnist_dir(&work, "truncated", 5);
    std::fs::write(
        truncated.join(images),
        &idx(0x803, &[5, 28, 28], &digits)[..1000],
    )
    .unwrap();
    let counts = mnist_dir(&work, "counts", 5);
    std::fs::write(counts.join(labels), idx(0x801, &[4], &[1, 2, 3, 4])).unwrap();
    std::fs::create_dir(work.path("empty")).unwrap();
    let empty = work.path("empty");

    let cases: [(&Path, &[&str]); 4] = [
        (&magic, &[images, "not an IDX image file", "0x00000804"]),
        (&truncated, &[images, "truncated", "5 images of 28x28"]),
        (
            &counts,
            &[images, labels, "images (5) and labels (4) disagree"],
        ),
        (&empty, &["empty", "no PNG or JPEG images"]),
    ];
    for (dir, needles) in cases {
        let d = s(dir);
        work.refused(
            &[
                "train", "--data", d, "--epochs", "1", "--hidden", "8", "--latent", "2",
            ],
            FAILURE,
            needles,
        );
        work.refused(
            &["eval", "--model", s(&model), "--data", d],
            FAILURE,
            needles,
        );
        work.refused(
            &[
                "sample",
                "--model",
                s(&model),
                "--reconstruct",
                "--data",
                d,
                "-o",
                s(&grid),
            ],
            FAILURE,
            needles,
        );
        work.refused(
            &[
                "eval-restore",
                "--model",
                s(&model),
                "--data",
                d,
                "--n",
                "2",
                "--val",
                "1",
            ]
            .into_iter()
            .chain(["--out", s(&scores), "--cases", "noise", "--steps", "2"])
            .collect::<Vec<_>>(),
            FAILURE,
            needles,
        );
    }
}

#[test]
fn fewer_images_than_one_batch_train_in_one_smaller_batch() {
    if common::gpu().is_none() {
        return;
    }
    let work = Work::new();
    for i in 0..3 {
        work.write(
            &format!("few/d{i}.png"),
            &png(DynamicImage::ImageLuma8(digit())),
        );
    }
    let out = work.path("few.safetensors");
    let args = [
        "train",
        "--data",
        "few",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--latent",
        "2",
        "--batch",
        "128",
        "--out",
        "few.safetensors",
    ];
    // README: "Fewer images than one batch train in one smaller batch", and a note says so
    let run = work.accepted(&args);
    assert!(out.exists(), "a successful run wrote no checkpoint");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("note: ") && l.contains("--batch")),
        "no note about the capped batch:\n{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

#[test]
fn bad_checkpoints_are_refused_by_every_command_that_reads_one() {
    let work = Work::new();
    let digit_png = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    let out = work.path("out.png");
    let gpu = common::gpu().is_some();
    for (name, bytes, reason) in bad_checkpoints() {
        let bad = work.write(name, &bytes);
        let b = s(&bad);
        let needles = [name, reason];
        work.refused(&["inspect", b], FAILURE, &needles);
        if !gpu {
            continue;
        }
        work.refused(&["eval", "--model", b], FAILURE, &needles);
        work.refused(&["sample", "--model", b, "-o", s(&out)], FAILURE, &needles);
        work.refused(
            &["sample", "--model", b, "--reconstruct", "-o", s(&out)],
            FAILURE,
            &needles,
        );
        work.refused(
            &[
                "restore",
                "--model",
                b,
                "-i",
                s(&digit_png),
                "-o",
                s(&out),
                "--noise-sigma",
                "0.1",
            ],
            FAILURE,
            &needles,
        );
        work.refused(
            &[
                "enhance",
                "--model",
                b,
                "--vae-refine",
                "1",
                "-i",
                s(&digit_png),
                "-o",
                s(&out),
            ],
            FAILURE,
            &needles,
        );
        work.refused(
            &[
                "eval-restore",
                "--model",
                b,
                "--n",
                "2",
                "--val",
                "1",
                "--out",
                "scores",
            ],
            FAILURE,
            &needles,
        );
        // --resume reads --out: refused, and the file is left as it was
        work.refused(
            &[
                "train", "--resume", "--out", b, "--epochs", "2", "--hidden", "8", "--latent", "2",
            ],
            FAILURE,
            &needles,
        );
        std::fs::remove_file(&bad).unwrap();
    }
}

#[test]
fn a_flipped_bit_that_keeps_values_finite_is_not_detected() {
    // safetensors has no checksum: a changed value that stays finite loads (documented)
    let work = Work::new();
    let mut bytes = checkpoint(false);
    let end = bytes.len();
    bytes[end - 4] ^= 0x01;
    let m = work.write("flipped.safetensors", &bytes);
    work.accepted(&["inspect", s(&m)]);
    // the flip landed in a parameter (so this is not vacuous): exactly one value changed
    let load = |b: &[u8]| wgvae::checkpoint::load_model_bytes(&m, b, None).unwrap().1;
    let (flipped, original) = (load(&bytes), load(&checkpoint(false)));
    let changed = flipped
        .iter()
        .zip(&original)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(changed, 1, "the flipped bit changed {changed} values");
}

#[test]
fn another_architectures_checkpoint_is_refused_on_resume() {
    if common::gpu().is_none() {
        return;
    }
    let work = Work::new();
    let conv = work.write("conv.safetensors", &checkpoint(true));
    let mlp = work.write("mlp.safetensors", &checkpoint(false));
    // every command takes any architecture: a conv checkpoint evaluates
    work.accepted(&["inspect", s(&conv)]);
    work.refused(
        &[
            "train",
            "--resume",
            "--out",
            s(&conv),
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--latent",
            "2",
        ],
        FAILURE,
        &[
            "conv.safetensors",
            "was trained with arch conv",
            "asks for arch mlp",
        ],
    );
    work.refused(
        &[
            "train",
            "--resume",
            "--out",
            s(&mlp),
            "--epochs",
            "2",
            "--arch",
            "conv",
        ]
        .into_iter()
        .chain(["--channels", "2", "3", "--hidden", "8", "--latent", "2"])
        .collect::<Vec<_>>(),
        FAILURE,
        &[
            "mlp.safetensors",
            "was trained with arch mlp",
            "asks for arch conv",
        ],
    );
    // the same architecture with another size of latent code
    work.refused(
        &[
            "train",
            "--resume",
            "--out",
            s(&mlp),
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--latent",
            "3",
        ],
        FAILURE,
        &["mlp.safetensors", "latent 2", "latent 3"],
    );
}

// ---------------------------------------------------------------------------------------------
// Flags

#[test]
fn impossible_flag_values_are_usage_errors() {
    let work = Work::new();
    let img = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    let (i, o) = (s(&img), "out.png");
    let model = work.write("m.safetensors", &checkpoint(false));
    let m = s(&model);
    let train = |flags: &[&str], needles: &[&str]| {
        let mut args = vec!["train", "--out", "t.safetensors"];
        args.extend_from_slice(flags);
        work.refused(&args, USAGE, needles);
    };
    train(&["--batch", "0"], &["--batch", "1..=65536"]);
    train(&["--batch", "4000000000"], &["--batch", "1..=65536"]);
    train(&["--epochs", "0"], &["--epochs", "at least 1"]);
    train(&["--latent", "0"], &["--latent", "1..=4096"]);
    train(&["--hidden", "0"], &["--hidden", "1..=16384"]);
    train(&["--hidden", "400", "0"], &["--hidden", "1..=16384"]);
    train(&["--size", "0x5"], &["--size", "between 1x1 and 1024x1024"]);
    train(&["--size=-3x5"], &["--size", "bad row count"]);
    train(&["--patch", "0"], &["--patch", "at least 1"]);
    train(&["--patches", "0"], &["--patches", "at least 1"]);
    train(&["--batch=-1"], &["--batch"]);
    for lr in ["nan", "inf", "-1", "0"] {
        train(&[&format!("--lr={lr}")], &["--lr", "positive and finite"]);
    }
    train(
        &["--weight-decay=nan"],
        &["--weight-decay", "finite number >= 0"],
    );
    train(&["--beta=-1"], &["--beta", "finite number >= 0"]);
    // flags that cannot go together
    train(&["--augment"], &["--augment", "--patch"]);
    train(&["--learn-variance"], &["--likelihood gaussian only"]);
    train(&["--channels", "8"], &["--arch conv only"]);
    train(&["--arch", "conv", "--size", "30x30"], &["divisible by 4"]);
    // a variant the device cannot run: refused before any training, naming why
    work.refused(
        &[
            "train",
            "--out",
            "t.safetensors",
            "--no-subgroups",
            "--variant",
            "sg16x4",
        ],
        FAILURE,
        &["sg16x4", "subgroup", "--no-subgroups"],
    );
    work.refused(
        &["eval", "--model", m, "--batch", "0"],
        USAGE,
        &["--batch", "at least 1"],
    );
    work.refused(
        &["sample", "-n", "0", "-o", o],
        USAGE,
        &["--count", "1..=4096"],
    );
    work.refused(
        &["sample", "-n", "5000", "-o", o],
        USAGE,
        &["--count", "1..=4096"],
    );
    let restore = |flags: &[&str], needles: &[&str]| {
        let mut args = vec!["restore", "-i", i, "-o", o];
        args.extend_from_slice(flags);
        work.refused(&args, USAGE, needles);
    };
    restore(
        &["--noise-sigma", "0.1", "--batch", "0"],
        &["--batch", "at least 1"],
    );
    // (--steps 0 is allowed: the encoder's code, a denoising VAE's default)
    restore(&["--noise-sigma", "0.1", "--steps", "many"], &["--steps"]);
    restore(
        &["--noise-sigma", "0.1", "--samples", "0"],
        &["--samples", "at least 1"],
    );
    restore(
        &["--noise-sigma", "0.1", "--step-lr", "nan"],
        &["--step-lr", "positive"],
    );
    restore(&["--noise-sigma=0"], &["--noise-sigma", "positive"]);
    restore(&["--noise-sigma", "nan"], &["--noise-sigma", "positive"]);
    restore(&["--noise-sigma", "often"], &["--noise-sigma", "(or auto)"]);
    restore(
        &["--noise-sigma", "0.1", "--salt-pepper", "0.1"],
        &["at most one of"],
    );
    work.refused(
        &["degrade", "-i", i, "-o", o, "--noise-sigma=-0.1"],
        USAGE,
        &["--noise-sigma", "positive"],
    );
    work.refused(
        &["degrade", "-i", i, "-o", o, "--missing", "1.5"],
        USAGE,
        &["--missing", "[0, 1]"],
    );
    work.refused(
        &[
            "enhance",
            "-i",
            i,
            "-o",
            o,
            "--vae-refine",
            "1",
            "--refine-sigma",
            "0",
        ],
        USAGE,
        &["--refine-sigma", "positive"],
    );
    work.refused(
        &["enhance", "-i", i, "-o", o, "--gamma", "1", "--model", m],
        USAGE,
        &["--vae-refine only"],
    );
    work.refused(
        &["eval-restore", "--n", "0", "--out", "scores"],
        USAGE,
        &["--n", "at least 1"],
    );
}

/// More samples at once than the adapter's largest storage buffer holds is refused before any
/// GPU work, with how many fit; so is a picture too large for one buffer.
#[test]
fn work_past_the_adapters_buffers_is_refused_with_what_fits() {
    let Some(ctx) = common::gpu() else { return };
    let limits = ctx.device.limits();
    let limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let work = Work::new();
    let img = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    // one 28x28 window, each sample a row of (at least) 784 values
    let samples = (limit / (4 * 784) + 1).to_string();
    let line = work.refused(
        &[
            "restore",
            "-i",
            s(&img),
            "-o",
            "r.png",
            "--noise-sigma",
            "0.1",
            "--method",
            "posterior",
            "--samples",
            &samples,
        ],
        FAILURE,
        &["binds at most", "fit", "--samples"],
    );
    assert!(line.contains(&format!("a batch of {samples} ")), "{line}");
    // an RGB picture one row taller than the largest square that fits
    let side = ((limit / 12) as f64).sqrt() as u32 + 1;
    if (side as usize) <= 16384 {
        let big = work.write(
            "big.png",
            &png(DynamicImage::ImageRgb8(RgbImage::new(side, side))),
        );
        work.refused(
            &["enhance", "-i", s(&big), "-o", "e.png", "--gamma", "1.2"],
            FAILURE,
            &["binds at most", "pixels fit"],
        );
    }
}

#[test]
fn a_batch_past_the_data_is_capped() {
    if common::gpu().is_none() {
        return;
    }
    let work = Work::new();
    let model = work.write("m.safetensors", &checkpoint(false));
    work.accepted(&["eval", "--model", s(&model), "--batch", "4000000000"]);
    let img = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    work.accepted(&[
        "restore",
        "-i",
        s(&img),
        "-o",
        "r.png",
        "--noise-sigma",
        "0.1",
        "--batch",
        "4000000000",
    ]);
}

/// README: "A missing folder on the way to an output is created, by every command."
#[test]
fn an_output_in_a_missing_folder_is_created() {
    let work = Work::new();
    let img = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    let i = s(&img);
    let o = work.path("no/such/folder/out.png");
    work.accepted(&["degrade", "-i", i, "-o", s(&o), "--noise-sigma", "0.1"]);
    assert!(
        o.is_file(),
        "degrade -o into a missing folder wrote nothing"
    );
    // degrade's two outputs, each in a missing folder of its own
    let (o2, m2) = (work.path("a/out.png"), work.path("b/c/mask.png"));
    work.accepted(&[
        "degrade",
        "-i",
        i,
        "-o",
        s(&o2),
        "--missing",
        "0.3",
        "--mask-out",
        s(&m2),
    ]);
    assert!(
        o2.is_file() && m2.is_file(),
        "degrade wrote {o2:?} or {m2:?} not"
    );
    // an unknown format is refused before anything is written, the mask included
    work.refused(
        &[
            "degrade",
            "-i",
            i,
            "-o",
            "d.xyz",
            "--missing",
            "0.3",
            "--mask-out",
            "m3.png",
        ],
        FAILURE,
        &["d.xyz", "no image format"],
    );
    if common::gpu().is_none() {
        return;
    }
    let cases: Vec<(Vec<&str>, PathBuf)> = vec![
        (
            vec!["restore", "-i", i, "--noise-sigma", "0.1", "-o"],
            work.path("d/e/r.png"),
        ),
        (
            vec!["enhance", "-i", i, "--gamma", "1.2", "-o"],
            work.path("f/g/e.png"),
        ),
        (vec!["sample", "-n", "4", "-o"], work.path("h/i/s.png")),
    ];
    for (mut args, out) in cases {
        args.push(s(&out));
        work.accepted(&args);
        assert!(out.is_file(), "{args:?}: success without the output");
    }
}

#[test]
fn an_output_folder_that_is_a_file_is_refused() {
    if common::gpu().is_none() {
        return;
    }
    let work = Work::new();
    work.write("scores", b"a file where a folder is wanted");
    work.refused(
        &["eval-restore", "--n", "2", "--val", "1", "--out", "scores"],
        FAILURE,
        &["scores", "is a file"],
    );
    let img = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    work.refused(
        &[
            "restore",
            "-i",
            s(&img),
            s(&img),
            "-o",
            "scores",
            "--noise-sigma",
            "0.1",
        ],
        FAILURE,
        &["scores", "not a folder"],
    );
}

#[test]
fn the_same_file_as_input_and_output_is_refused() {
    let work = Work::new();
    let img = work.write("digit.png", &png(DynamicImage::ImageLuma8(digit())));
    let i = s(&img);
    let dotted = format!("{}/./digit.png", work.dir.path().display());
    for o in [i, &dotted, "digit.png"] {
        work.refused(
            &["degrade", "-i", i, "-o", o, "--noise-sigma", "0.1"],
            FAILURE,
            &["digit.png", "the output is the input"],
        );
        if common::gpu().is_none() {
            continue;
        }
        work.refused(
            &["restore", "-i", i, "-o", o, "--noise-sigma", "0.1"],
            FAILURE,
            &["digit.png", "the output is the input"],
        );
        work.refused(
            &["enhance", "-i", i, "-o", o, "--gamma", "1.2"],
            FAILURE,
            &["digit.png", "is the input"],
        );
    }
    // degrade's mask written over its own input
    work.refused(
        &[
            "degrade",
            "-i",
            i,
            "-o",
            "d.png",
            "--missing",
            "0.3",
            "--mask-out",
            i,
        ],
        FAILURE,
        &["digit.png", "the output is the input"],
    );
}
