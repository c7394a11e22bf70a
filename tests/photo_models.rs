//! The committed photo models: each loads with every check, is a denoising VAE on
//! 12x12 patches of its colour, stays under 10 MB, and restores a noisy photo crop through
//! `restore`'s defaults to well above the damage. Their quality on whole photos is measured by
//! `eval-restore --photos` (BENCHMARKS.md), not here.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use wgvae::checkpoint::load_model;
use wgvae::picture::Picture;
use wgvae::restore::degrade::{Degradation, Noise};
use wgvae::restore::denoiser::is_denoiser;
use wgvae::restore::metrics::psnr;
use wgvae::restore::prior::BuiltinModel;
use wgvae::restore::{Prior, RestoreOptions, Restorer};

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

/// A 60x60 scene in `channels`: soft gradients, a disc and a few edges.
fn scene(channels: usize) -> Picture {
    let n = 60;
    let data = (0..channels * n * n)
        .map(|i| {
            let (c, p) = (i / (n * n), i % (n * n));
            let (y, x) = ((p / n) as f32, (p % n) as f32);
            let disc = ((y - 30.0).powi(2) + (x - 25.0).powi(2) < 150.0) as u8 as f32;
            let bar = (x > 45.0 && x < 50.0) as u8 as f32;
            (0.2 + 0.3 * y / n as f32 + 0.35 * disc - 0.15 * bar + 0.1 * c as f32).clamp(0.0, 1.0)
        })
        .collect();
    Picture::new(channels, n, n, data)
}

#[test]
fn the_photo_models_are_small_denoisers_of_their_colour() {
    for (name, channels) in [("photo-grey.safetensors", 1), ("photo-rgb.safetensors", 3)] {
        let path = model(name);
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert!(bytes < 10_000_000, "{name}: {bytes} bytes");
        let (meta, params) = load_model(&path, None).unwrap();
        assert!(params.iter().all(|v| v.is_finite()), "{name}");
        assert!(is_denoiser(&meta), "{name} is not a denoising VAE");
        let c = &meta.config;
        assert_eq!(
            (c.channels, c.height, c.width),
            (channels, 12, 12),
            "{name}"
        );
        assert_eq!(meta.data.as_ref().and_then(|d| d.patch), Some(12), "{name}");
    }
}

#[test]
fn each_photo_model_restores_a_noisy_scene_far_above_the_damage() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("wgvae")
            .unwrap()
            .env("WGVAE_NO_AUTOTUNE", "1")
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
    };
    for (name, channels) in [("photo-grey.safetensors", 1), ("photo-rgb.safetensors", 3)] {
        let clean = scene(channels);
        let [c, d, r] = ["c.png", "d.png", "r.png"].map(|f| dir.path().join(f));
        let [cs, ds, rs] = [&c, &d, &r].map(|p| p.to_str().unwrap());
        let m = model(name);
        clean.write(&c).unwrap();
        run(&[
            "degrade",
            "-i",
            cs,
            "-o",
            ds,
            "--noise-sigma",
            "0.1",
            "--seed",
            "2",
            "--force",
        ]);
        run(&[
            "restore",
            "--model",
            m.to_str().unwrap(),
            "-i",
            ds,
            "-o",
            rs,
            "--noise-sigma",
            "0.1",
            "--force",
        ]);
        let damaged = psnr(&clean.data, &Picture::read(&d).unwrap().data);
        let restored = psnr(&clean.data, &Picture::read(&r).unwrap().data);
        eprintln!("{name}: restored {restored:.2} dB, damaged {damaged:.2}");
        assert!(
            restored > damaged + 6.0,
            "{name}: restored {restored:.2} dB, damaged {damaged:.2}"
        );
    }
}

/// The awaitable entry (what a browser calls) runs the same steps as the blocking one: the
/// same picture, bit for bit, from both.
#[test]
fn restore_async_gives_what_restore_gives() {
    let Some(ctx) = common::gpu() else { return };
    let picture = scene(1);
    let damage = Degradation {
        noise: Noise::Gaussian(0.05),
        ..Degradation::none()
    };
    let restorer = Restorer::new(ctx, Prior::builtin_model(BuiltinModel::PhotoGrey).unwrap());
    let options = RestoreOptions::default();
    let blocking = restorer.restore(&picture, &damage, &options).unwrap();
    let awaited = wgvae::gpu::blocking::wait(restorer.restore_async(&picture, &damage, &options))
        .unwrap()
        .unwrap();
    assert!(blocking.data == awaited.data);
    assert!(
        psnr(&picture.data, &blocking.data) < 60.0,
        "the picture was restored, not copied"
    );
}
