//! The dispatches of one recorded training step, pinned per model: the fused kernels
//! (reparameterisation with the KL terms, the bias gradient folded into the weight gradient,
//! relu's backward inside the products) keep each step at these counts, so a change that loses
//! a fusion fails here before it shows in `bench train`. (The photo models train on patches,
//! which `bench_train`'s embedded digits do not give; their count is `bench train`'s to report.)

mod common;

use wgvae::config::ModelConfig;
use wgvae::gpu::ops::LinearVariant;
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
