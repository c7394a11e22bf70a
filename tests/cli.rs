//! The binary end to end on small data in a temp dir: the happy path and bad input, each with
//! its message and exit code. Every GPU command here runs on the shared test adapter.

mod common;

use common::succeeds;

use common::cli::{fails_with, usage_error, wgvae};

use std::path::Path;

fn tiny_train(dir: &Path, epochs: &str, latent: &str, extra: &[&str]) -> std::process::Output {
    let out = dir.join("m.safetensors");
    let out_s = out.to_str().unwrap().to_string();
    let mut args = vec![
        "train", "--epochs", epochs, "--hidden", "32", "--latent", latent, "--batch", "500",
    ];
    args.extend_from_slice(&["--out", &out_s]);
    args.extend_from_slice(extra);
    wgvae().args(&args).output().unwrap()
}

#[test]
fn no_adapter_is_one_line_and_exit_1() {
    // with the Vulkan driver hidden there is no adapter, whatever the machine has
    let out = wgvae()
        .args(["info"])
        .env("VK_ICD_FILENAMES", "/nonexistent")
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = common::one_error_line("the run", &out);
    assert!(
        line.contains("no GPU adapter") && line.contains("mesa-vulkan-drivers"),
        "{line}"
    );
}

/// A noise level outside [0, 1] (or not a number) is refused while parsing: exit 2, one line
/// naming the flag, before any data or adapter is touched.
#[test]
fn corrupt_noise_out_of_range_is_a_usage_error() {
    for bad in ["-0.1", "NaN", "1.5", "inf", "x"] {
        usage_error(
            wgvae().args(["train", "--corrupt-noise", bad]),
            "--corrupt-noise",
        );
    }
}

/// `--corrupt-noise` trains (announced on the first line) and `inspect` shows the level.
#[test]
fn denoising_run_is_announced_and_inspect_shows_it() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_train(dir.path(), "1", "4", &["--corrupt-noise", "0.2"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("denoising (input noise sigma up to 0.2)"),
        "{said}"
    );
    let model = dir.path().join("m.safetensors");
    let shown = wgvae().arg("inspect").arg(&model).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("Gaussian noise of sigma up to 0.2 (denoising)"),
        "{text}"
    );
}

#[test]
fn info_lists_adapters_and_limits() {
    if common::gpu().is_none() {
        return;
    }
    let out = wgvae().arg("info").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "adapters:",
        "chosen:",
        "max_storage_buffer_binding_size",
        "timestamp queries",
        "linear forward variant",
    ] {
        assert!(text.contains(needle), "info lacks {needle:?}:\n{text}");
    }
    fails_with(
        wgvae().args(["info", "--adapter", "no-such-adapter-xyz"]),
        "no adapter name contains",
    );
}

#[test]
fn train_eval_sample_happy_path() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_train(dir.path(), "2", "4", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("epoch   1: train loss"), "{text}");
    let model = dir.path().join("m.safetensors");
    for f in [
        "m.safetensors",
        "m.adam.safetensors",
        "m.loss.csv",
        "m.loss.png",
        "m.loss.svg",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    // after each epoch, as pytorch/examples/vae: 8 x 8 prior samples, and 8 test images over
    // their reconstructions (28 x 28 digits at scale 2 with one-pixel borders)
    for epoch in [1, 2] {
        let grids = dir.path().join("m.samples");
        let size = |name: String| {
            image::image_dimensions(grids.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        assert_eq!(
            size(format!("sample_{epoch}.png")),
            (8 * 57 + 1, 8 * 57 + 1)
        );
        assert_eq!(
            size(format!("reconstruction_{epoch}.png")),
            (8 * 57 + 1, 2 * 57 + 1)
        );
    }

    let out = succeeds(wgvae().args(["eval", "--model", model.to_str().unwrap()]));
    let text = String::from_utf8_lossy(&out.stdout);
    let loss: f64 = text
        .split("test loss per sample: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(loss > 50.0 && loss < 543.0, "eval loss {loss}");

    for (name, extra) in [("prior.png", vec![]), ("recon.png", vec!["--reconstruct"])] {
        let png = dir.path().join(name);
        let mut args = vec![
            "sample",
            "--model",
            model.to_str().unwrap(),
            "-n",
            "16",
            "-o",
            png.to_str().unwrap(),
            "--scale",
            "1",
        ];
        args.extend(extra.iter());
        let out = wgvae().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let img = image::open(&png).unwrap().to_luma8();
        let bright = img.pixels().filter(|p| p.0[0] > 128).count();
        assert!(bright > 100, "{name} is nearly empty");
        if name == "prior.png" {
            // 4 x 4 cells of 28 + 1 border pixels
            assert_eq!(img.dimensions(), (4 * 29 + 1, 4 * 29 + 1));
            continue;
        }
        // two pairs of rows (8 originals over their 8 reconstructions), 7 pixels apart
        let gap = 7;
        assert_eq!(img.dimensions(), (8 * 29 + 1, 4 * 29 + 1 + gap));
        let gap_row = 2 * 29 + 1 + gap / 2;
        assert!(
            (0..img.width()).all(|x| img.get_pixel(x, gap_row) == img.get_pixel(0, 0)),
            "the gap between the pairs of rows holds ink"
        );
        // originals (crisp, many pixels at full white) in rows 0 and 2, the blurrier
        // reconstructions under them in rows 1 and 3
        let white = |row: u32| {
            let y0 = 1 + row * 29 + (row / 2) * gap;
            (y0..y0 + 28)
                .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0[0] > 250)
                .count()
        };
        let rows: Vec<usize> = (0..4).map(white).collect();
        assert!(
            rows[0] > 2 * rows[1] && rows[2] > 2 * rows[3],
            "full-white pixels per row {rows:?}: originals are not over reconstructions"
        );
    }
}

#[test]
fn bad_flags_and_files_fail_cleanly() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // (impossible flag values: tests/bad_input.rs)
    fails_with(
        wgvae().args(["train", "--batch", "65536", "--hidden", "4096"]),
        "lower --batch",
    );
    usage_error(
        wgvae().args(["train", "--out", d.to_str().unwrap()]),
        "is a directory",
    );
    // 16384^2 + 2 x 784 x 16384 weights and more: 2.25 GB, past lavapipe's (and most adapters')
    // binding cap; adapters that bind that much are spared the attempt
    let limits = common::gpu().unwrap().device.limits();
    if limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size)
        < 2_254_442_240
    {
        fails_with(
            wgvae().args(["train", "--hidden", "16384", "16384"]),
            "this adapter binds at most",
        );
    }
    fails_with(
        wgvae().args(["train", "--data", "/nonexistent/mnist"]),
        "/nonexistent/mnist",
    );
    fails_with(
        wgvae().args([
            "eval",
            "--model",
            d.join("missing.safetensors").to_str().unwrap(),
        ]),
        "missing.safetensors",
    );

    // a real checkpoint, then: truncated copy, mismatched resume, bad sample output
    let out = tiny_train(d, "1", "4", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let model = d.join("m.safetensors");
    let original = std::fs::read(&model).unwrap();
    let cut = d.join("cut.safetensors");
    std::fs::write(&cut, &original[..original.len() / 2]).unwrap();
    fails_with(
        wgvae().args(["eval", "--model", cut.to_str().unwrap()]),
        "cut.safetensors",
    );

    let out = tiny_train(d, "2", "5", &["--resume"]);
    assert!(!out.status.success());
    let line = common::one_error_line("the run", &out);
    assert!(line.contains("latent"), "{line}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        original,
        "a refused resume must not touch the checkpoint"
    );

    // a run that diverges stops with the previous checkpoint intact
    let out = tiny_train(d, "2", "4", &["--resume", "--lr", "1e4"]);
    assert!(!out.status.success());
    let line = common::one_error_line("the run", &out);
    assert!(
        line.contains("diverged") && line.contains("checkpoint is kept"),
        "{line}"
    );
    assert_eq!(
        std::fs::read(&model).unwrap(),
        original,
        "divergence replaced the checkpoint"
    );
    // with a log point every step it is caught within the epoch, naming the step
    let out = tiny_train(
        d,
        "2",
        "4",
        &["--resume", "--lr", "1e4", "--log-every", "1"],
    );
    let line = common::one_error_line("the run", &out);
    assert!(
        line.contains("diverged at epoch 2, step ") && line.contains("checkpoint is kept"),
        "{line}"
    );
    assert_eq!(std::fs::read(&model).unwrap(), original);

    let jpg = d.join("grid.jpg");
    fails_with(
        wgvae().args([
            "sample",
            "--model",
            model.to_str().unwrap(),
            "-o",
            jpg.to_str().unwrap(),
        ]),
        "must be a .png",
    );
    let png = d.join("grid.png");
    usage_error(
        wgvae().args([
            "sample",
            "--model",
            model.to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
            "-n",
            "0",
        ]),
        "--count",
    );
    // a missing folder is created, as train creates its own
    let deep = d.join("no/such/dir/g.png");
    succeeds(
        wgvae()
            .args(["sample", "--model", model.to_str().unwrap(), "-o"])
            .arg(&deep),
    );
    assert!(deep.is_file());
    assert!(
        !jpg.exists() && !png.exists(),
        "a failed sample left an output file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Colour photos of other sizes through random patches: train, eval on test patches, and an
/// RGB sample grid; the checkpoint records the channels and the patch size as its image size.
#[test]
fn colour_patch_training_end_to_end() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    for (split, n) in [("train", 3u32), ("test", 1)] {
        let d = photos.join(split);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..n {
            // smooth colour gradients of different sizes
            image::RgbImage::from_fn(20 + 7 * i, 17 + 3 * i, |x, y| {
                image::Rgb([(x * 9) as u8, (y * 11) as u8, (90 + 40 * i) as u8])
            })
            .save(d.join(format!("p{i}.png")))
            .unwrap();
        }
    }
    let model = dir.path().join("rgb.safetensors");
    let (photos_s, model_s) = (photos.to_str().unwrap(), model.to_str().unwrap());
    let out = wgvae()
        .args([
            "train", "--data", photos_s, "--color", "rgb", "--patch", "8",
        ])
        .args([
            "--patches",
            "96",
            "--augment",
            "--hidden",
            "16",
            "--latent",
            "3",
        ])
        .args(["--batch", "32", "--epochs", "2", "--out", model_s])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("mlp 3x8x8") && stdout.contains("96 random 8x8 patches"),
        "{stdout}"
    );
    let (meta, params) = wgvae::checkpoint::load_model(&model, None).unwrap();
    assert_eq!(
        (meta.config.channels, meta.config.height, meta.config.width),
        (3, 8, 8)
    );
    assert_eq!(
        params.len(),
        wgvae::model::layout::Layout::new(&meta.config).total
    );

    let out = wgvae()
        .args(["eval", "--model", model_s, "--data", photos_s, "--patch"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("on 2000 images"), "{stdout}");

    let grid = dir.path().join("grid.png");
    succeeds(
        wgvae()
            .args(["sample", "--model", model_s, "-n", "4", "-o"])
            .arg(&grid),
    );
    let img = image::open(&grid).unwrap();
    assert_eq!(
        img.color(),
        image::ColorType::Rgb8,
        "an RGB model draws RGB"
    );

    // the same photos through a conv model: train, eval, sample
    let conv = dir.path().join("conv.safetensors");
    let out = wgvae()
        .args([
            "train", "--data", photos_s, "--color", "rgb", "--patch", "8",
        ])
        .args(["--patches", "64", "--arch", "conv", "--channels", "4", "6"])
        .args([
            "--hidden", "12", "--latent", "3", "--batch", "16", "--epochs", "1", "--out",
        ])
        .arg(&conv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("conv 3x8x8 -> conv [4, 6] -> [12] -> 3"),
        "{stdout}"
    );
    let (meta, _) = wgvae::checkpoint::load_model(&conv, None).unwrap();
    assert_eq!(meta.config.conv_channels, [4, 6]);
    succeeds(
        wgvae()
            .args(["sample", "--model"])
            .arg(&conv)
            .args(["--reconstruct", "--data", photos_s, "-n", "2", "-o"])
            .arg(dir.path().join("conv.png")),
    );

    // impossible conv shapes and flags are refused before anything runs
    usage_error(
        wgvae().args([
            "train", "--arch", "conv", "--size", "30x30", "--epochs", "1",
        ]),
        "divisible by 4",
    );
    // (--channels without --arch conv, --augment without --patch: tests/bad_input.rs)

    // grey sources cannot feed a colour model
    fails_with(
        wgvae()
            .args(["train", "--color", "rgb", "--epochs", "1", "--out"])
            .arg(dir.path().join("x.safetensors")),
        "grey",
    );
}
