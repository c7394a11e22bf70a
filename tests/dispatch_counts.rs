//! The dispatches of one recorded training step, pinned per model: the fused kernels
//! (reparameterisation with the KL terms, the bias gradient folded into the weight gradient,
//! relu's backward inside the products) keep each step at these counts, so a change that loses
//! a fusion fails here before it shows in `bench train`. The photo models train on patches,
//! which `bench_train`'s embedded digits do not give: their step is recorded here on buffers of
//! their own shapes and counted.

mod common;

use wgvae::config::ModelConfig;
use wgvae::gpu::buffers::{self, View};
use wgvae::gpu::ops::LinearVariant;
use wgvae::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use wgvae::model::init::init_params;
use wgvae::model::op::AdamHyper;
use wgvae::restore::prior::{BuiltinModel, Prior};
use wgvae::train::bench_train;

fn dispatches(cfg: &ModelConfig, variant: LinearVariant) -> usize {
    let ctx = common::gpu().expect("a GPU adapter");
    bench_train(ctx, cfg, 128, 1, 1, Some(variant))
        .unwrap()
        .dispatches_per_step
}

#[test]
fn each_models_training_step_keeps_its_dispatch_count() {
    if common::gpu().is_none() {
        return;
    }
    let cases = [
        ("the default MLP", ModelConfig::default(), 23),
        ("the conv VAE", ModelConfig::conv_default(), 41),
    ];
    let mut wrong = Vec::new();
    for (name, cfg, want) in cases {
        // reg8x8: the plain kernels' choice at batch 128 (sg16x4's where subgroups run gives
        // the same count; reg4x4, chosen only for tiny batches, forms the bias gradient apart)
        let got = dispatches(&cfg, LinearVariant::Reg8x8);
        if got != want {
            wrong.push(format!("{name}: {got} dispatches, pinned at {want}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The dispatches of one recorded training step of `model` at `rows` rows, the data and the
/// order zeros of the right sizes (recording binds buffers, it does not run them).
fn recorded_step(model: BuiltinModel, rows: usize, variant: LinearVariant) -> usize {
    let ctx = common::gpu().expect("a GPU adapter");
    let spec = Prior::builtin_model(model).unwrap().model;
    let params = init_params(&spec, 1);
    let gpu = GpuModel::new(ctx, &spec, &params, variant).unwrap();
    let acts = GpuActs::new(ctx, &spec, rows).unwrap();
    let io = StepIo {
        data: View::whole(&buffers::zeros(
            ctx,
            "patches",
            (rows * spec.cfg.input_dim()) as u64,
        )),
        perm: View::whole(&buffers::zeros(ctx, "order", rows as u64)),
        state: recorder::step_state(ctx, 0),
        history: View::whole(&buffers::zeros(ctx, "history", 4)),
    };
    let program = spec.train_step_corrupt(rows, &AdamHyper::default(), 1, 0.1);
    recorder::record(ctx, &program, &gpu, &acts, &io)
        .unwrap()
        .len()
}

#[test]
fn the_photo_models_training_steps_keep_their_dispatch_counts() {
    if common::gpu().is_none() {
        return;
    }
    let mut wrong = Vec::new();
    // the photo models are denoising VAEs (a corruption dispatch first); the digit model, the
    // default MLP, shows this count agrees with bench_train's 23 plus that one
    let cases = [
        (BuiltinModel::Digits, 24),
        (BuiltinModel::PhotoGrey, 44),
        (BuiltinModel::PhotoRgb, 44),
    ];
    for (model, want) in cases {
        let got = recorded_step(model, 128, LinearVariant::Reg8x8);
        if got != want {
            wrong.push(format!(
                "{}: {got} dispatches, pinned at {want}",
                model.name()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
