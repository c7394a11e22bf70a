//! The denoising VAE's input corruption (`train --corrupt-noise`): the kernel against its CPU
//! twin, the noise's per-row level, and where the training program reads the corrupted input.

mod common;

use common::{all_close, gpu, out, random, read, state, up};
use wgvae::config::ModelConfig;
use wgvae::cpu::corrupt::{corrupt_noise, row_sigma};
use wgvae::cpu::ops::{reparam_forward, AdamHyper};
use wgvae::gpu::ops;
use wgvae::model::program::{Op, STREAM_CORRUPT, STREAM_TRAIN};
use wgvae::model::Model;

/// As in gpu_kernels.rs: Vulkan's sin, cos and log err by up to 2^-11 absolute, so a normal may
/// differ by ~3e-3; times sigma <= 1, plus the rounding of the add.
const NOISE_ATOL: f32 = 3e-3;

fn cpu(src: &[f32], step: u32, rows: usize, dim: usize, s: f32, seed: u64) -> Vec<f32> {
    let mut dst = vec![0.0; rows * dim];
    corrupt_noise(&mut dst, src, step, rows, dim, s, seed, STREAM_CORRUPT);
    dst
}

/// Odd shapes: one pixel, rows shorter than a Philox block of four, rows that do not divide it.
#[test]
fn corrupt_noise_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, &(rows, dim)) in [(1, 1), (3, 2), (7, 33), (5, 784), (129, 7)]
        .iter()
        .enumerate()
    {
        let (seed, step, s) = (0xfeed_0000_0001u64 + i as u64, 3 + 11 * i as u32, 0.235);
        let src = random(rows * dim, 0.0, 1.0, i as u64);
        let want = cpu(&src, step, rows, dim, s, seed);
        let dst = out(ctx, rows * dim);
        let st = state(ctx, step, 0, 0);
        let d = ops::corrupt_noise(
            ctx,
            &dst,
            &up(ctx, &src),
            &st,
            rows,
            dim,
            s,
            seed,
            STREAM_CORRUPT,
        )
        .unwrap();
        ops::run(ctx, &[&d]).unwrap();
        all_close(
            &format!("corrupt rows {rows} dim {dim}"),
            &read(ctx, &dst),
            &want,
            NOISE_ATOL,
            1e-5,
        );
    }
}

/// Row r of (x + noise) - x has standard deviation sigma_r = S u_r: over 4096 pixels the sample
/// std is within ~1.1% (one standard error), so 6% is over 5 standard errors; the u_r spread
/// over [0, S] with mean S/2 (256 rows: standard error 0.018 S).
#[test]
fn per_row_noise_level_is_uniform_up_to_s() {
    let (rows, dim, s, seed, step) = (256, 4096, 0.235f32, 7u64, 42u32);
    let x = vec![0.5f32; rows * dim];
    let y = cpu(&x, step, rows, dim, s, seed);
    let mut sigmas = Vec::new();
    for r in 0..rows {
        let sigma = row_sigma(r, step, s, seed, STREAM_CORRUPT);
        assert!((0.0..=s).contains(&sigma), "row {r}: sigma {sigma}");
        let d: Vec<f64> = (0..dim).map(|c| (y[r * dim + c] - 0.5) as f64).collect();
        let mean = d.iter().sum::<f64>() / dim as f64;
        let std = (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / dim as f64).sqrt();
        assert!(
            (std - sigma as f64).abs() <= 0.06 * sigma as f64 + 1e-6,
            "row {r}: sample std {std}, sigma {sigma}"
        );
        assert!(
            mean.abs() < 5.0 * sigma as f64 / (dim as f64).sqrt() + 1e-6,
            "row {r}: mean {mean}"
        );
        sigmas.push(sigma as f64 / s as f64);
    }
    let mean_u = sigmas.iter().sum::<f64>() / rows as f64;
    assert!((mean_u - 0.5).abs() < 0.08, "mean u_r {mean_u}");
    let low = sigmas.iter().filter(|&&u| u < 0.25).count();
    let high = sigmas.iter().filter(|&&u| u > 0.75).count();
    assert!(
        low > 30 && high > 30,
        "u_r not spread over [0, 1]: {low} below 1/4, {high} above 3/4"
    );
}

/// Reproducible per (seed, step), different across steps, and never z's noise: the corruption's
/// normals are not the reparameterisation's of the same key and step.
#[test]
fn corruption_noise_is_keyed_and_apart_from_z() {
    let (rows, dim) = (4, 64);
    let x = vec![0.0f32; rows * dim];
    let a = cpu(&x, 5, rows, dim, 1.0, 9);
    assert_eq!(a, cpu(&x, 5, rows, dim, 1.0, 9));
    let b = cpu(&x, 6, rows, dim, 1.0, 9);
    assert!(
        a.iter().zip(&b).all(|(p, q)| p != q),
        "step 6 repeats step 5"
    );
    let n = rows * dim;
    let (mut z, mut eps) = (vec![0.0; n], vec![0.0; n]);
    reparam_forward(
        &mut z,
        &mut eps,
        &vec![0.0; n],
        &vec![0.0; n],
        5,
        n,
        9,
        STREAM_TRAIN,
    );
    for r in 0..rows {
        let sigma = row_sigma(r, 5, 1.0, 9, STREAM_CORRUPT);
        for c in 0..dim {
            let i = r * dim + c;
            assert_ne!(a[i], sigma * eps[i], "element {i} reuses z's eps");
        }
    }
}

/// The encoder reads the corrupted x_in (forward and its first layer's weight gradient), the
/// loss the clean x; with 0 the program is exactly today's step.
#[test]
fn training_program_feeds_the_encoder_the_corrupted_input() {
    let model = Model::new(&ModelConfig::default()).unwrap();
    let hp = AdamHyper::default();
    let (rows, a) = (8, &model.acts);
    assert_eq!(
        model.train_step_corrupt(rows, &hp, 3, 0.0),
        model.train_step(rows, &hp, 3)
    );
    let p = model.train_step_corrupt(rows, &hp, 3, 0.1);
    assert_eq!(p.len(), model.train_step(rows, &hp, 3).len() + 1);
    assert!(
        matches!(p[1], Op::Corrupt { dst, src, max_sigma, stream, .. }
        if dst == model.act(a.x_in, rows) && src == model.act(a.x, rows)
            && max_sigma == 0.1 && stream == STREAM_CORRUPT)
    );
    assert!(matches!(p[2], Op::Linear { x, .. } if x == model.act(a.x_in, rows)));
    let fc1 = model.grad("fc1.weight");
    assert!(p
        .iter()
        .any(|o| matches!(o, Op::LinearBackWeightBias { dw, x, .. }
        if *dw == fc1 && *x == model.act(a.x_in, rows))));
    assert!(p
        .iter()
        .any(|o| matches!(o, Op::BceForward { x, .. } if *x == model.act(a.x, rows))));
    assert!(
        !p.iter().any(
            |o| matches!(o, Op::Linear { x, .. } | Op::LinearBackWeightBias { x, .. }
        if *x == model.act(a.x, rows))
        ),
        "a layer of the encoder reads the clean x"
    );
    // evaluation stays clean
    assert!(!model
        .eval_step(rows, 3)
        .iter()
        .any(|o| matches!(o, Op::Corrupt { .. })));
}
