//! `wgvae enhance` end to end in a temp dir: the files it writes (colour kept, format from the
//! extension, the values the adjustments give) and its refusals, each one error line with its
//! exit code.

mod common;

use common::succeeds;

use common::cli::{refused, wgvae};

use std::path::Path;

use image::{DynamicImage, GrayImage, RgbImage};

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 4x3 RGB picture: red ramps with x, green with y, blue 200.
fn write_rgb(path: &Path) {
    let img = RgbImage::from_fn(4, 3, |x, y| image::Rgb([40 * x as u8, 60 * y as u8, 200]));
    img.save(path).unwrap();
}

#[test]
fn enhance_writes_the_adjusted_picture_in_the_outputs_format() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    write_rgb(&input);

    // brightness 0.5 halves every level (rounded): RGB stays RGB
    let output = dir.path().join("half.png");
    let out = succeeds(
        wgvae()
            .args(["enhance", "-i", arg(&input), "-o", arg(&output)])
            .args(["--brightness", "0.5"]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("RGB 4x3") && stdout.contains("brightness 0.5"),
        "{stdout}"
    );
    let got = image::open(&output).unwrap();
    assert!(
        matches!(got, DynamicImage::ImageRgb8(_)),
        "{:?}",
        got.color()
    );
    let got = got.to_rgb8();
    for (x, y, p) in got.enumerate_pixels() {
        let want = [20 * x as u8, 30 * y as u8, 100];
        assert_eq!(p.0, want, "pixel ({x}, {y})");
    }

    // a grey input stays grey; flags in any order run in the fixed order
    let grey = dir.path().join("grey.png");
    GrayImage::from_fn(5, 2, |x, y| image::Luma([(50 * x + 20 * y) as u8]))
        .save(&grey)
        .unwrap();
    let flags = ["--gamma", "2.2", "--auto-levels", "--saturation", "0"];
    let stretched = dir.path().join("stretched.png");
    let out = succeeds(
        wgvae()
            .args(["enhance", "-i", arg(&grey), "-o", arg(&stretched)])
            .args(flags),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(grey 5x2): auto-levels 1%..99%, saturation 0, gamma 2.2"),
        "{stdout}"
    );
    let got = image::open(&stretched).unwrap();
    assert!(
        matches!(got, DynamicImage::ImageLuma8(_)),
        "{:?}",
        got.color()
    );
    // 10 pixels: 1% of them is none, so levels 0 and 220 become black and white, then
    // out = in^(1 / 2.2); within one level of the maths in f64
    for (x, y, p) in got.to_luma8().enumerate_pixels() {
        let v = (50 * x + 20 * y) as f64;
        let want = 255.0 * (v / 220.0).powf(1.0 / 2.2);
        assert!(
            (p.0[0] as f64 - want).abs() <= 1.0,
            "pixel ({x}, {y}): {} for {want:.2}",
            p.0[0]
        );
    }

    // the output's extension picks the format: a JPEG, still grey
    let jpeg = dir.path().join("stretched.jpg");
    let out = wgvae()
        .args(["enhance", "-i", arg(&grey), "-o", arg(&jpeg)])
        .args(flags)
        .output()
        .unwrap();
    assert!(out.status.success());
    let bytes = std::fs::read(&jpeg).unwrap();
    assert_eq!(&bytes[..3], &[0xff, 0xd8, 0xff], "JPEG magic");
    let got = image::open(&jpeg).unwrap();
    assert!(
        matches!(got, DynamicImage::ImageLuma8(_)),
        "{:?}",
        got.color()
    );
}

#[test]
fn enhance_refuses_bad_requests() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    write_rgb(&input);
    let output = dir.path().join("out.png");
    let (i, o) = (arg(&input), arg(&output));

    // usage errors (clap, exit 2)
    refused(
        wgvae().args(["enhance", "-i", i, "-o", o]),
        2,
        "required arguments were not provided",
    );
    refused(
        wgvae().args(["enhance", "-i", i, "-o", o, "--contrast", "-1"]),
        2,
        "--contrast must be a finite number >= 0, got -1",
    );
    refused(
        wgvae().args(["enhance", "-i", i, "-o", o, "--brightness", "inf"]),
        2,
        "--brightness must be a finite number >= 0, got inf",
    );
    refused(
        wgvae().args(["enhance", "-i", i, "-o", o, "--gamma", "0"]),
        2,
        "--gamma must be a finite number > 0",
    );
    refused(
        wgvae().args(["enhance", "-i", i, "-o", o, "--auto-levels=60,40"]),
        2,
        "0 <= LOW < HIGH <= 100",
    );
    // run-time refusals (exit 1), the input untouched
    let before = std::fs::read(&input).unwrap();
    refused(
        wgvae().args(["enhance", "-i", i, "-o", i, "--gamma", "2"]),
        1,
        "is the input",
    );
    let dotted = format!("{}/./in.png", dir.path().display());
    refused(
        wgvae().args(["enhance", "-i", i, "-o", &dotted, "--gamma", "2"]),
        1,
        "is the input",
    );
    assert_eq!(std::fs::read(&input).unwrap(), before, "input unchanged");
    let missing = dir.path().join("missing.png");
    refused(
        wgvae().args(["enhance", "-i", arg(&missing), "-o", o, "--gamma", "2"]),
        1,
        "cannot read",
    );
    let odd = dir.path().join("out.xyz");
    refused(
        wgvae().args(["enhance", "-i", i, "-o", arg(&odd), "--gamma", "2"]),
        1,
        "no image format",
    );
    assert!(!output.exists() && !odd.exists(), "nothing written");
}

/// `--brightness 1` changes nothing: every one of the 256 levels, grey and colour, comes back
/// byte for byte (a reader dividing by 256 would turn 255 into 254).
#[test]
fn brightness_one_returns_its_input_byte_for_byte() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let levels: Vec<u8> = (0..=255).collect();
    let grey = DynamicImage::ImageLuma8(GrayImage::from_raw(16, 16, levels).unwrap());
    let colour = DynamicImage::ImageRgb8(RgbImage::from_fn(16, 16, |x, y| {
        let k = (16 * y + x) as u8;
        image::Rgb([k, 255 - k, k.wrapping_mul(7)])
    }));
    for (name, img) in [("grey.png", grey), ("colour.png", colour)] {
        let (input, output) = (
            dir.path().join(name),
            dir.path().join(format!("out-{name}")),
        );
        img.save(&input).unwrap();
        succeeds(
            wgvae()
                .args(["enhance", "-i", arg(&input), "-o", arg(&output)])
                .args(["--brightness", "1"]),
        );
        let got = image::open(&output).unwrap();
        assert_eq!(got.color(), img.color(), "{name}");
        assert_eq!(got.as_bytes(), img.as_bytes(), "{name}");
    }
}
