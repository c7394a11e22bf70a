//! Training end to end on the embedded data: a few hundred GPU steps must bring the test loss
//! below what any model that ignores its input can reach, and checkpoints must resume.

mod common;

use common::gpu;
use wgvae::checkpoint;
use wgvae::config::ModelConfig;
use wgvae::cpu::ops::AdamHyper;
use wgvae::data::{embedded, Split};
use wgvae::train::{self, LrSchedule, TrainConfig};

fn config(out: &std::path::Path, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch: 128,
        adam: AdamHyper::default(),
        seed: 1,
        data: None,
        out: out.to_path_buf(),
        resume: false,
        steps_per_submit: 8,
        log_every: 25,
        checkpoint_every: None,
        variant: None,
        patch: None,
        corrupt_noise: 0.0,
        lr_schedule: LrSchedule::Constant,
    }
}

/// Test loss per sample of the best input-independent Bernoulli model: every pixel predicted
/// by its mean over the training set (no latent code can make this worse).
fn mean_image_loss() -> f64 {
    let (train, test) = (
        embedded::embedded(Split::Train),
        embedded::embedded(Split::Test),
    );
    let d = train.dim();
    let mut mean = vec![0.0f64; d];
    for i in 0..train.count {
        for (m, &p) in mean.iter_mut().zip(train.image(i)) {
            *m += p as f64 / 255.0 / train.count as f64;
        }
    }
    let mut total = 0.0;
    for i in 0..test.count {
        for (m, &p) in mean.iter().zip(test.image(i)) {
            let (x, q) = (p as f64 / 255.0, m.clamp(1e-6, 1.0 - 1e-6));
            total -= x * q.ln() + (1.0 - x) * (1.0 - q).ln();
        }
    }
    total / test.count as f64
}

#[test]
fn a_few_hundred_steps_learn_and_resume_continues() {
    let Some(ctx) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vae.safetensors");
    let cfg = ModelConfig::default();
    // 3 epochs of 79 steps (78 of 128 images and one of 16)
    let reports = train::train(ctx, &cfg, &config(&out, 3), ()).unwrap();
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[2].step, 3 * 79);
    let baseline = mean_image_loss();
    let untrained = 784.0 * std::f64::consts::LN_2; // logits 0: every pixel costs ln 2 or less
    let test = reports[2].test;
    eprintln!(
        "mean-image baseline {baseline:.1}, after 237 steps test loss {:.1}",
        test.total
    );
    assert!(baseline < untrained, "baseline {baseline}");
    assert!(
        test.total < 0.8 * baseline,
        "test loss {} not below 0.8 x mean-image loss {baseline}",
        test.total
    );
    assert!(
        reports[2].test.total < reports[0].test.total,
        "test loss did not fall over epochs"
    );
    assert!(
        test.kl > 1.0,
        "KL {} near 0: the latent code is unused",
        test.kl
    );
    assert!((test.recon + test.kl - test.total).abs() < 1e-3 * test.total);

    // checkpoint, Adam state and curve files exist; the checkpoint records the run
    let (meta, params) = checkpoint::load_model(&out, Some(&cfg)).unwrap();
    assert_eq!((meta.epoch, meta.step, meta.seed), (3, 237, 1));
    assert!(params.iter().all(|p| p.is_finite()));
    let curve = train::curve_paths(&out);
    let csv = curve.csv;
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv_text.lines().filter(|l| l.contains(",test,")).count(), 3);
    assert!(std::fs::metadata(&curve.png).unwrap().len() > 1000);
    assert!(std::fs::read_to_string(&curve.svg)
        .unwrap()
        .contains("<svg"));

    // resume to 4 epochs continues from step 237 and keeps the curve
    let mut tc = config(&out, 4);
    tc.resume = true;
    let more = train::train(ctx, &cfg, &tc, ()).unwrap();
    assert_eq!(more.len(), 1);
    assert_eq!((more[0].epoch, more[0].step), (4, 4 * 79));
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv_text.lines().filter(|l| l.contains(",test,")).count(), 4);
    assert!(
        more[0].test.total < test.total + 2.0,
        "resumed run got worse: {} vs {}",
        more[0].test.total,
        test.total
    );

    // nothing left to do is an error, not a silent success
    let err = train::train(ctx, &cfg, &tc, ()).unwrap_err().to_string();
    assert!(err.contains("already holds 4 epochs"), "{err}");
}

#[test]
fn resuming_equals_an_uninterrupted_run() {
    let Some(ctx) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = ModelConfig {
        hidden: vec![32],
        latent: 4,
        ..ModelConfig::default()
    };
    let mut tc = config(&dir.path().join("unused"), 1);
    tc.batch = 500;
    check_resume(ctx, &cfg, &tc, dir.path());
}

/// A denoising run (`--corrupt-noise`): the input noise is keyed by (seed, step) too, and the
/// checkpoint records the level.
#[test]
fn resuming_a_denoising_run_equals_an_uninterrupted_one() {
    let Some(ctx) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = ModelConfig {
        hidden: vec![32],
        latent: 4,
        ..ModelConfig::default()
    };
    let mut tc = config(&dir.path().join("unused"), 1);
    tc.batch = 500;
    tc.corrupt_noise = 0.235;
    check_resume(ctx, &cfg, &tc, dir.path());
    let (meta, _) = checkpoint::load_model(&dir.path().join("split.safetensors"), None).unwrap();
    assert_eq!(meta.data.unwrap().corrupt_noise, Some(0.235));
}

/// The same for a conv model on RGB patches: the patches of an epoch are a function of (seed,
/// epoch) alone, so a resumed run draws the same ones.
#[test]
fn resuming_a_conv_patch_run_equals_an_uninterrupted_one() {
    let Some(ctx) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    for i in 0..3u32 {
        image::RgbImage::from_fn(21 + 5 * i, 19, |x, y| {
            image::Rgb([(x * 12) as u8, (y * 13 + 7 * i) as u8, ((x + y) * 6) as u8])
        })
        .save(photos.join(format!("{i}.png")))
        .unwrap();
    }
    let cfg = ModelConfig {
        arch: wgvae::config::ArchKind::Conv,
        height: 8,
        width: 8,
        channels: 3,
        conv_channels: vec![4, 6],
        hidden: vec![12],
        latent: 3,
        ..ModelConfig::default()
    };
    let mut tc = config(&dir.path().join("unused"), 1);
    tc.batch = 32;
    tc.data = Some(photos);
    tc.patch = Some(wgvae::data::patches::PatchSpec {
        size: 8,
        count: 100,
        augment: true,
    });
    check_resume(ctx, &cfg, &tc, dir.path());
}

/// Shuffles are keyed by (seed, epoch) and noise by (seed, step), and the checkpoint holds the
/// exact parameters and Adam moments: 1 + 1 epochs must give the 2-epoch run bit for bit.
fn check_resume(
    ctx: &wgvae::gpu::GpuContext,
    cfg: &ModelConfig,
    base: &TrainConfig,
    dir: &std::path::Path,
) {
    let straight = dir.join("straight.safetensors");
    let tc = TrainConfig {
        out: straight.clone(),
        epochs: 2,
        ..base.clone()
    };
    train::train(ctx, cfg, &tc, ()).unwrap();

    let split = dir.join("split.safetensors");
    let mut tc = TrainConfig {
        out: split.clone(),
        epochs: 1,
        ..base.clone()
    };
    train::train(ctx, cfg, &tc, ()).unwrap();
    tc.epochs = 2;
    tc.resume = true;
    train::train(ctx, cfg, &tc, ()).unwrap();

    let (meta_a, a) = checkpoint::load_model(&straight, None).unwrap();
    let (meta_b, b) = checkpoint::load_model(&split, None).unwrap();
    assert_eq!((meta_a.epoch, meta_a.step), (meta_b.epoch, meta_b.step));
    let differing = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} parameters differ after resuming",
        a.len()
    );
    // and training did move the parameters
    let init = wgvae::model::init::init_params(&wgvae::model::Model::new(cfg).unwrap(), 1);
    assert!(a.iter().zip(&init).filter(|(x, y)| x != y).count() > a.len() / 2);
}
