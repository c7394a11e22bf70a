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
/// it is made of, the damaged image and the plain encode-decode (`--method project`; for a
/// hole, where both keep the known pixels, at least as good).
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
        // with a hole and no noise every method returns the known pixels as they were, so
        // encode-decode can tie the posterior there; under noise the posterior must win
        let beats_projection = match name {
            "hole" => blended >= projected,
            _ => blended > projected,
        };
        assert!(
            blended > damaged && beats_projection,
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
    // --noise-sigma auto estimates the noise of a picture to restore; degrade needs a level
    usage_error(
        wgvae().args([
            "degrade",
            "-i",
            s(&img),
            "-o",
            s(&out),
            "--noise-sigma",
            "auto",
        ]),
        "--noise-sigma auto",
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

/// The committed 96x96 colour crop of a photo (docs/example-photo.png).
fn photo() -> Picture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/example-photo.png");
    Picture::read(&path).unwrap()
}

/// `picture` as grey (the luma `restore` reads a grey file as).
fn grey(picture: &Picture) -> Picture {
    let rgb = picture.to_image();
    Picture::from_image(&rgb, 1)
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Without --model the picture picks the model, said on stderr: a colour photo the colour
/// photo model, a grey photo the grey one, a small grey picture the digit model; and the
/// built-in names work from any folder.
#[test]
fn the_model_follows_the_picture_and_built_in_names_work_anywhere() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("colour.png", photo(), "model photo-rgb (a colour picture"),
        (
            "grey.png",
            grey(&photo()),
            "model photo-grey (a grey picture larger",
        ),
        (
            "digit.png",
            digit(2),
            "model digits (a grey picture of at most 56x56",
        ),
    ];
    for (name, picture, said) in cases {
        let input = dir.path().join(name);
        picture.write(&input).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        let run = succeeds(wgvae().args([
            "restore",
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--noise-sigma",
            "0.05",
        ]));
        let stderr = stderr_of(&run);
        assert!(stderr.contains(said), "{name}: {stderr}");
        assert!(!stderr.contains("mnist") || name == "digit.png", "{stderr}");
    }
    // a built-in model by name, whatever the picture
    let input = dir.path().join("colour.png");
    let out = dir.path().join("named.png");
    let run = succeeds(wgvae().args([
        "restore",
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--noise-sigma",
        "0.05",
        "--model",
        "photo-grey",
    ]));
    let stderr = stderr_of(&run);
    assert!(
        stderr.contains("built-in models/photo-grey.safetensors")
            && !stderr.contains("model photo-rgb"),
        "{stderr}"
    );
    let out = dir.path().join("misspelt.png");
    fails_with(
        wgvae().args([
            "restore",
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--model",
            "photo-gray",
        ]),
        "digits, photo-grey, photo-rgb",
    );
}

/// `restore -i noisy -o out` with no damage flag: the noise level is estimated (and said), and
/// the photo comes out better than it went in.
#[test]
fn with_no_damage_flag_the_noise_is_estimated_and_the_photo_improves() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.png");
    photo().write(&clean).unwrap();
    let noisy = dir.path().join("noisy.png");
    let out = dir.path().join("out.png");
    succeeds(wgvae().args([
        "degrade",
        "-i",
        s(&clean),
        "-o",
        s(&noisy),
        "--noise-sigma",
        "0.1",
        "--seed",
        "3",
    ]));
    let run = succeeds(wgvae().args(["restore", "-i", s(&noisy), "-o", s(&out)]));
    let stderr = stderr_of(&run);
    let line = stderr
        .lines()
        .find(|l| l.contains("estimated"))
        .unwrap_or_else(|| panic!("no estimate said:\n{stderr}"));
    let sigma: f32 = line
        .split("noise sigma ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    // 96x96 holds only 25 blocks of 16x16: a rougher estimate than a whole photo's
    assert!((sigma / 0.1 - 1.0).abs() < 0.2, "estimated {sigma}");
    let (c, y, r) = (
        photo(),
        Picture::read(&noisy).unwrap(),
        Picture::read(&out).unwrap(),
    );
    let (before, after) = (psnr(&c.data, &y.data), psnr(&c.data, &r.data));
    assert!(
        after > before + 2.0,
        "noisy {before:.2} dB, restored {after:.2} dB"
    );
}

/// Inpainting with every model and method returns each pixel it was not asked to fill bit for
/// bit, in the output file, for a digit and a colour photo.
#[test]
fn known_pixels_come_back_bit_for_bit() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let crop = {
        let p = photo();
        let (h, w) = (32, 32);
        let data = (0..3)
            .flat_map(|c| {
                let p = &p;
                (0..h)
                    .flat_map(move |y| (0..w).map(move |x| p.data[(c * 96 + y + 20) * 96 + x + 30]))
            })
            .collect();
        Picture::new(3, h, w, data)
    };
    let pictures = [("digit.png", digit(4)), ("photo.png", crop)];
    for (name, picture) in &pictures {
        let input = dir.path().join(name);
        picture.write(&input).unwrap();
        let before = image::open(&input).unwrap().to_rgb8();
        for model in ["digits", "photo-grey", "photo-rgb"] {
            for method in ["project", "impute", "map", "posterior"] {
                let out = dir.path().join(format!("{model}-{method}-{name}"));
                succeeds(wgvae().args([
                    "restore",
                    "-i",
                    s(&input),
                    "-o",
                    s(&out),
                    "--mask-rect",
                    "8,10,12,9",
                    "--model",
                    model,
                    "--method",
                    method,
                    "--steps",
                    "10",
                ]));
                let after = image::open(&out).unwrap().to_rgb8();
                let mut filled = 0;
                for (x, y, px) in after.enumerate_pixels() {
                    let inside = (8..20).contains(&x) && (10..19).contains(&y);
                    if inside {
                        filled += (px != before.get_pixel(x, y)) as usize;
                    } else {
                        assert_eq!(
                            px,
                            before.get_pixel(x, y),
                            "{model} {method} {name}: known pixel ({x}, {y}) changed"
                        );
                    }
                }
                assert!(
                    filled > 0,
                    "{model} {method} {name}: the hole was not filled"
                );
            }
        }
    }
}

/// A JPEG output at the quality asked for (a lower quality is a smaller file), and
/// estimate-noise and compare as the tools the README names.
#[test]
fn jpeg_quality_estimate_noise_and_compare() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    photo().write(&input).unwrap();
    let size = |q: &str| {
        let out = dir.path().join(format!("q{q}.jpg"));
        succeeds(wgvae().args([
            "restore",
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--noise-sigma",
            "0.02",
            "--quality",
            q,
        ]));
        std::fs::metadata(&out).unwrap().len()
    };
    let (low, high) = (size("30"), size("95"));
    assert!(low < high, "quality 30 gave {low} bytes, 95 gave {high}");
    usage_error(
        wgvae().args(["restore", "-i", s(&input), "-o", "x.jpg", "--quality", "0"]),
        "--quality",
    );

    let noisy = dir.path().join("noisy.png");
    succeeds(wgvae().args([
        "degrade",
        "-i",
        s(&input),
        "-o",
        s(&noisy),
        "--noise-sigma",
        "0.05",
    ]));
    let out = succeeds(wgvae().args(["estimate-noise", s(&noisy), s(&input)]));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("noisy.png: sigma 0.0"), "{text}");
    let out = succeeds(wgvae().args(["compare", s(&input), s(&noisy), "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = psnr(&photo().data, &Picture::read(&noisy).unwrap().data);
    assert!((v["psnr"].as_f64().unwrap() - want).abs() < 1e-9, "{v}");
    fails_with(
        wgvae().args([
            "compare",
            s(&input),
            s(&dir.path().join("q30.jpg"))
                .replace("q30", "none")
                .as_str(),
        ]),
        "none.jpg",
    );
}
