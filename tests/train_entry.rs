//! The training entry point against the CPU reference: `wgvae::train::train` on a tiny MNIST-
//! format folder (2 epochs of two full batches and a smaller last one, lr and weight decay not
//! the defaults, beta != 1) ends at the parameters that the CPU reference's train_step programs
//! reach from `init_params(&model, seed)` over the same steps, batches and epoch orders. A loop
//! that scaled the learning rate, mixed up the batches, skipped the last batch, reset the step
//! count or reordered an epoch would end elsewhere.

mod common;

use std::path::Path;

use common::gpu;
use wgvae::checkpoint;
use wgvae::config::ModelConfig;
use wgvae::cpu::exec::{self, CpuActs, CpuIo, CpuModel};
use wgvae::cpu::ops::AdamHyper;
use wgvae::model::init::init_params;
use wgvae::model::Model;
use wgvae::train::{self, epoch_order, LrSchedule, TrainConfig};

const COUNT: usize = 10;
const BATCH: usize = 4; // two batches of 4, then one of 2
const EPOCHS: usize = 2;
const SEED: u64 = 9;

fn cfg() -> ModelConfig {
    ModelConfig {
        height: 4,
        width: 5,
        hidden: vec![6],
        latent: 3,
        beta: 0.75,
        ..ModelConfig::default()
    }
}

fn hp() -> AdamHyper {
    AdamHyper {
        lr: 3e-3,
        weight_decay: 0.05,
        ..AdamHyper::default()
    }
}

/// The training images: every pixel set, none repeated between images.
fn train_images() -> Vec<u8> {
    (0..COUNT * 20)
        .map(|i| ((i * 97 + 13) % 251) as u8)
        .collect()
}

fn write_idx(dir: &Path, prefix: &str, images: &[u8], count: usize) {
    let mut b = Vec::new();
    for v in [0x0803u32, count as u32, 4, 5] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(images);
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), b).unwrap();
    let mut l = Vec::new();
    for v in [0x0801u32, count as u32] {
        l.extend_from_slice(&v.to_be_bytes());
    }
    l.extend(std::iter::repeat_n(0u8, count));
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), l).unwrap();
}

#[test]
fn epoch_order_is_a_permutation_fixed_by_seed_and_epoch() {
    let a = epoch_order(COUNT, SEED, 1);
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..COUNT as u32).collect::<Vec<_>>());
    assert_eq!(
        a,
        epoch_order(COUNT, SEED, 1),
        "a function of its arguments"
    );
    assert_ne!(
        a,
        epoch_order(COUNT, SEED, 2),
        "each epoch has its own order"
    );
    assert_ne!(
        a,
        epoch_order(COUNT, SEED + 1, 1),
        "each seed has its own order"
    );
}

/// The CPU reference's run: per epoch the loop's order, step state (step, 0, 0) and batches
/// (full ones, then the rest), each a `train_step` program. Returns the parameters and the
/// per-sample training loss of each epoch.
fn cpu_run(model: &Model) -> (Vec<f32>, Vec<f64>) {
    let hp = hp();
    let mut cm = CpuModel::new(model, init_params(model, SEED));
    let mut acts = CpuActs::new(model, BATCH);
    let (full, rest) = (COUNT / BATCH, COUNT % BATCH);
    let mut batches = vec![BATCH; full];
    batches.push(rest);
    let mut step = 0u32;
    let mut losses = Vec::new();
    for epoch in 1..=EPOCHS {
        let mut io = CpuIo {
            data: train_images(),
            perm: epoch_order(COUNT, SEED, epoch),
            state: [step, 0, 0, 0],
            history: vec![0.0; 4 * batches.len()],
        };
        for &rows in &batches {
            exec::run(
                &model.train_step(rows, &hp, SEED),
                &mut cm,
                &mut acts,
                &mut io,
            );
        }
        assert_eq!(io.state[1] as usize, COUNT, "the epoch covered every image");
        step = io.state[0];
        let records: Vec<&[f32]> = io.history.chunks_exact(4).collect();
        let rows: f64 = records.iter().map(|r| r[3] as f64).sum();
        losses.push(records.iter().map(|r| r[2] as f64).sum::<f64>() / rows);
    }
    assert_eq!(step, 6);
    (cm.params, losses)
}

#[test]
fn train_entry_point_equals_the_cpu_reference_steps() {
    let Some(ctx) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    write_idx(&data, "train", &train_images(), COUNT);
    write_idx(&data, "t10k", &train_images()[..3 * 20], 3);
    let out = dir.path().join("run/vae.safetensors");
    let tc = TrainConfig {
        epochs: EPOCHS,
        batch: BATCH,
        adam: hp(),
        seed: SEED,
        data: Some(data),
        out: out.clone(),
        resume: false,
        steps_per_submit: 2,
        log_every: 1,
        checkpoint_every: None,
        variant: None,
        patch: None,
        corrupt_noise: 0.0,
        lr_schedule: LrSchedule::Constant,
    };
    let cfg = cfg();
    let reports = train::train(ctx, &cfg, &tc, ()).unwrap();
    assert_eq!(reports.len(), EPOCHS);
    assert_eq!((reports[0].step, reports[1].step), (3, 6));

    let model = Model::new(&cfg).unwrap();
    let (want, want_losses) = cpu_run(&model);
    let (meta, got) = checkpoint::load_model(&out, Some(&cfg)).unwrap();
    assert_eq!((meta.epoch, meta.step, meta.seed), (2, 6, SEED));

    // The loss of each epoch (per sample, summed over its 3 batches): the GPU's matmuls sum in
    // another order and with FMA, a few 1e-7 relative per layer, and the second epoch starts
    // from parameters that differ by as little: 1e-5 relative is ample; a batch mix-up or a
    // different learning rate changes it by 1e-3 or more.
    for (r, want) in reports.iter().zip(&want_losses) {
        assert!(
            (r.train_loss - want).abs() <= 1e-5 * want,
            "epoch {}: training loss {} on the GPU, {want} on the CPU reference",
            r.epoch,
            r.train_loss
        );
    }

    let init = init_params(&model, SEED);
    let mut worst = (0.0f32, String::new());
    for t in &model.layout.tensors {
        for i in t.range() {
            let moved = want[i] - init[i];
            let err = (got[i] - want[i]).abs();
            // Six Adam steps move a parameter by at most 6 lr (1.8e-2) plus the decay. The two
            // backends' gradients differ by rounding (~1e-6 relative), which Adam's
            // g / sqrt(v) turns into at most ~1e-6 relative of each step, except where a
            // gradient is within rounding of zero: there the first step's lr g / (|g| + eps)
            // may differ by up to lr. The data has no zero pixel, so that takes an exact
            // cancellation; 2e-6 absolute (1e-4 of one step) leaves room for ulps of |p| < 1
            // and catches a loop that scales lr (by lr or more), drops a batch or reorders one.
            let bound = 2e-6 + 1e-4 * moved.abs();
            if err > bound && err - bound > worst.0 {
                worst = (
                    err - bound,
                    format!(
                        "{}[{}]: gpu {} cpu {} (moved {moved})",
                        t.name,
                        i - t.offset,
                        got[i],
                        want[i]
                    ),
                );
            }
        }
    }
    assert!(worst.0 == 0.0, "parameters after train(): {}", worst.1);
    // and the run moved them: a no-op loop would pass a loose comparison
    let moved = want.iter().zip(&init).filter(|(a, b)| a != b).count();
    assert!(
        moved > model.parameter_count() * 9 / 10,
        "only {moved} parameters moved"
    );
}
