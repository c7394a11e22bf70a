//! `degrade` and `restore` end to end with the committed default model: restoration makes a
//! damaged digit measurably better (noise, a hole, blur), folders keep names and formats,
//! images of other sizes and colours come back in their own, and bad input is one error line.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{fails_with, usage_error, wgvae};
use common::succeeds;
use wgvae::data::{load_split, Split};
use wgvae::picture::Picture;
use wgvae::restore::metrics::psnr;

/// Test digit `i` of the embedded subset as a picture.
fn digit(i: usize) -> Picture {
    let ds = load_split(None, Split::Test, 28, 28, 1).unwrap();
    Picture::new(
        1,
        28,
        28,
        ds.image(i).iter().map(|&v| v as f32 / 255.0).collect(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Degrades `clean` with `damage`, restores it with the same flags, and returns the PSNR of
/// the degraded and the restored image.
fn degrade_restore(dir: &Path, name: &str, clean: &Picture, damage: &[&str]) -> (f64, f64) {
    let c = dir.join(format!("{name}-clean.png"));
    let d = dir.join(format!("{name}-damaged.png"));
    let r = dir.join(format!("{name}-restored.png"));
    clean.write(&c).unwrap();
    let mut args = vec!["degrade", "-i", s(&c), "-o", s(&d), "--seed", "3"];
    args.extend_from_slice(damage);
    succeeds(wgvae().args(&args));
    let mut args = vec!["restore", "-i", s(&d), "-o", s(&r)];
    args.extend_from_slice(damage);
    succeeds(wgvae().args(&args));
    let damaged = Picture::read(&d).unwrap();
    let restored = Picture::read(&r).unwrap();
    assert_eq!(
        (restored.height, restored.width),
        (clean.height, clean.width)
    );
    (
        psnr(&clean.data, &damaged.data),
        psnr(&clean.data, &restored.data),
    )
}

#[test]
fn restoring_a_digit_beats_its_damage() {
    let dir = tempfile::tempdir().unwrap();
    for (name, damage, gain) in [
        ("noise", &["--noise-sigma", "0.2"][..], 4.0),
        ("hole", &["--mask-rect", "7,7,14,14"][..], 1.0),
        (
            "blur",
            &["--blur-sigma", "1.5", "--noise-sigma", "0.01"][..],
            3.0,
        ),
    ] {
        // the mean over three digits, so one odd digit cannot decide
        let (mut before, mut after) = (0.0, 0.0);
        for i in 0..3 {
            let (b, a) = degrade_restore(dir.path(), &format!("{name}{i}"), &digit(i), damage);
            before += b / 3.0;
            after += a / 3.0;
        }
        assert!(
            after > before + gain,
            "{name}: restored {after:.2} dB vs damaged {before:.2} dB"
        );
    }
}

/// A denoising VAE (`train --corrupt-noise`) restores with its own defaults (no MAP steps, a
/// hole prefilled for the encoder, the stitched reconstruction blended with the observation under
/// a locally measured variance): for noise and for a hole the result is better than both things
/// it is made of, the damaged image and the plain encode-decode (`--method project`).
#[test]
fn a_denoising_model_restores_better_than_its_input_and_its_reconstruction() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("dn.safetensors");
    succeeds(wgvae().args([
        "train",
        "--epochs",
        "5",
        "--hidden",
        "200",
        "--latent",
        "16",
        "--batch",
        "100",
        "--corrupt-noise",
        "0.3",
        "--out",
        s(&model),
    ]));
    for (name, damage) in [
        ("noise", &["--noise-sigma", "0.25"][..]),
        ("hole", &["--mask-rect", "9,9,10,10"][..]),
    ] {
        let path = |what: &str| dir.path().join(format!("{name}-{what}.png"));
        let (clean_png, damaged_png) = (path("clean"), path("damaged"));
        let (mut damaged, mut blended, mut projected) = (0.0, 0.0, 0.0);
        for i in 0..3 {
            let clean = digit(i);
            clean.write(&clean_png).unwrap();
            let mut args = vec!["degrade", "-i", s(&clean_png), "-o", s(&damaged_png)];
            args.extend_from_slice(&["--seed", "3", "--force"]);
            args.extend_from_slice(damage);
            succeeds(wgvae().args(&args));
            for method in ["posterior", "project"] {
                let out = path(method);
                let mut args = vec!["restore", "--model", s(&model), "--method", method];
                args.extend_from_slice(&["-i", s(&damaged_png), "--force", "-o", s(&out)]);
                args.extend_from_slice(damage);
                succeeds(wgvae().args(&args));
            }
            let score = |what: &str| psnr(&clean.data, &Picture::read(&path(what)).unwrap().data);
            damaged += score("damaged") / 3.0;
            blended += score("posterior") / 3.0;
            projected += score("project") / 3.0;
        }
        assert!(
            blended > damaged && blended > projected,
            "{name}: restored {blended:.2} dB, damaged {damaged:.2}, encode-decode {projected:.2}"
        );
    }
}

#[test]
fn folders_keep_names_and_other_sizes_and_colours_come_back_in_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    // a grey digit, a wider colour image, one smaller than the model
    let wide = {
        let (h, w) = (30, 45);
        let data = (0..3 * h * w)
            .map(|i| (((i % w) as f32 / w as f32) + (i / (h * w)) as f32 * 0.2).fract())
            .collect();
        Picture::new(3, h, w, data)
    };
    digit(0).write(&inputs.join("a.png")).unwrap();
    wide.write(&inputs.join("b.jpg")).unwrap();
    Picture::new(1, 10, 12, vec![0.3; 120])
        .write(&inputs.join("c.png"))
        .unwrap();
    let out = dir.path().join("out");
    succeeds(wgvae().args([
        "restore",
        "-i",
        s(&inputs),
        "-o",
        s(&out),
        "--noise-sigma",
        "0.1",
    ]));
    let a = Picture::read(&out.join("a.png")).unwrap();
    let b = Picture::read(&out.join("b.jpg")).unwrap();
    let c = Picture::read(&out.join("c.png")).unwrap();
    assert_eq!((a.channels, a.height, a.width), (1, 28, 28));
    assert_eq!((b.channels, b.height, b.width), (3, 30, 45));
    assert_eq!((c.channels, c.height, c.width), (1, 10, 12));
    assert_eq!(
        image::ImageFormat::from_path(out.join("b.jpg")).unwrap(),
        image::guess_format(&std::fs::read(out.join("b.jpg")).unwrap()).unwrap()
    );
}

#[test]
fn bad_restore_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let img: PathBuf = dir.path().join("d.png");
    digit(1).write(&img).unwrap();
    let small_mask = dir.path().join("m.png");
    Picture::new(1, 5, 5, vec![1.0; 25])
        .write(&small_mask)
        .unwrap();
    let out = dir.path().join("o.png");
    let not_image = dir.path().join("x.png");
    std::fs::write(&not_image, b"not an image").unwrap();
    fails_with(
        wgvae().args([
            "restore",
            "-i",
            s(&img),
            "-o",
            s(&out),
            "--mask",
            s(&small_mask),
        ]),
        "the mask is 5x5 but the image is 28x28",
    );
    fails_with(
        wgvae().args([
            "restore",
            "-i",
            s(&img),
            "-o",
            s(&img),
            "--noise-sigma",
            "0.1",
        ]),
        "the output is the input",
    );
    usage_error(
        wgvae().args(["restore", "-i", s(&img), "-o", s(&out)]),
        "what damage",
    );
    usage_error(
        wgvae().args([
            "restore",
            "-i",
            s(&img),
            "-o",
            s(&out),
            "--noise-sigma",
            "0.1",
            "--salt-pepper",
            "0.1",
        ]),
        "at most one of",
    );
    fails_with(
        wgvae().args([
            "restore",
            "-i",
            s(&not_image),
            "-o",
            s(&out),
            "--noise-sigma",
            "0.1",
        ]),
        "x.png",
    );
    fails_with(
        wgvae().args([
            "restore",
            "--model",
            "nope.safetensors",
            "-i",
            s(&img),
            "-o",
            s(&out),
            "--noise-sigma",
            "0.1",
        ]),
        "no such checkpoint",
    );
    usage_error(
        wgvae().args(["degrade", "-i", s(&img), "-o", s(&out), "--noise-sigma=0"]),
        "must be positive",
    );
    assert!(!out.exists(), "a failed run left an output");
}

#[test]
fn enhance_with_vae_refine_denoises_before_adjusting() {
    let dir = tempfile::tempdir().unwrap();
    let clean = digit(4);
    let c = dir.path().join("c.png");
    let noisy = dir.path().join("n.png");
    let plain = dir.path().join("plain.png");
    let refined = dir.path().join("refined.png");
    clean.write(&c).unwrap();
    succeeds(wgvae().args([
        "degrade",
        "-i",
        s(&c),
        "-o",
        s(&noisy),
        "--noise-sigma",
        "0.1",
    ]));
    succeeds(wgvae().args(["enhance", "-i", s(&noisy), "-o", s(&plain), "--gamma", "1"]));
    succeeds(wgvae().args([
        "enhance",
        "-i",
        s(&noisy),
        "-o",
        s(&refined),
        "--vae-refine",
        "4",
        "--refine-sigma",
        "0.1",
        "--gamma",
        "1",
    ]));
    let p = psnr(&clean.data, &Picture::read(&plain).unwrap().data);
    let r = psnr(&clean.data, &Picture::read(&refined).unwrap().data);
    assert!(r > p + 3.0, "refined {r:.2} dB vs plain {p:.2} dB");
    // a fresh output: an existing one would be refused first
    let unused = dir.path().join("unused.png");
    usage_error(
        wgvae().args([
            "enhance",
            "-i",
            s(&noisy),
            "-o",
            s(&unused),
            "--gamma",
            "1",
            "--model",
            "m.safetensors",
        ]),
        "--vae-refine only",
    );
}

#[test]
fn sample_without_a_model_draws_from_the_built_in_one_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.png");
    succeeds(wgvae().args(["sample", "-n", "16", "--scale", "1", "-o", s(&out)]));
    let grid = Picture::read(&out).unwrap();
    // 4 x 4 digits of 28 pixels with one-pixel gaps
    assert!(
        grid.width >= 4 * 28 && grid.height >= 4 * 28,
        "{}x{}",
        grid.width,
        grid.height
    );
    let mean = grid.data.iter().sum::<f32>() / grid.data.len() as f32;
    assert!(
        mean > 0.05 && mean < 0.5,
        "a grid of digits on black, mean {mean}"
    );
}
