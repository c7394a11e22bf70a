//! A whole training step on the GPU equals the CPU reference step: the loss, every named
//! gradient and every parameter tensor after Adam, from the same parameters, batch and Philox key.

mod common;

use common::{all_close, gpu, random};
use wgvae::config::{Likelihood, ModelConfig};
use wgvae::cpu::ops::{self as cpu_ops, AdamHyper};
use wgvae::cpu::vae::{init_params, CpuVae};
use wgvae::data::{embedded, Split};
use wgvae::gpu::buffers::{self, View};
use wgvae::gpu::ops::{self, LinearVariant};
use wgvae::gpu::vae::{self, BatchBuffers, GpuVae, StepIo};
use wgvae::train::upload_dataset;

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

fn check_step(cfg: &ModelConfig, rows: usize, variant: LinearVariant) {
    let Some(ctx) = gpu() else { return };
    let set = embedded::embedded(Split::Train).take(200);
    let mut set = set;
    if cfg.input_dim() != 784 {
        // a smaller image: the first input_dim pixels of each digit's centre rows
        let d = cfg.input_dim();
        let images: Vec<u8> = (0..set.count)
            .flat_map(|i| set.image(i)[300..300 + d].to_vec())
            .collect();
        set.images = images;
        set.rows = cfg.rows;
        set.cols = cfg.cols;
    }
    let (seed, step) = (0xDEAD_BEEF_u64, 5u32);
    let hp = AdamHyper::default();
    let params = init_params(cfg, 3);
    let n = params.len();
    // Adam moments from "earlier steps", so the update is smooth in the gradient rather than
    // its sign (at m = v = 0 a gradient near zero could flip a whole lr step).
    let m0: Vec<f32> = random(n, -1e-2, 1e-2, 4);
    let v0: Vec<f32> = random(n, 1e-5, 1e-3, 5);
    let perm: Vec<u32> = (0..set.count as u32)
        .map(|i| (i * 7 + 3) % set.count as u32)
        .collect();
    let cursor = 11usize;

    // CPU
    let mut x = vec![0.0; rows * cfg.input_dim()];
    cpu_ops::gather_batch(&mut x, &set.images, &perm, cursor, rows, cfg.input_dim());
    let mut cpu = CpuVae::new(cfg, params.clone());
    cpu.adam_m = m0.clone();
    cpu.adam_v = v0.clone();
    let act = cpu.train_step(&x, rows, step, seed, &hp);

    // GPU
    let model = GpuVae::new(ctx, cfg, &params, variant).unwrap();
    model.write_state(ctx, &params, &m0, &v0);
    let data = upload_dataset(ctx, &set).unwrap();
    let perm_view = View::whole(&buffers::upload(ctx, "perm", &perm));
    let bufs = BatchBuffers::new(ctx, cfg, rows).unwrap();
    let history = View::whole(&buffers::zeros(ctx, "history", 4));
    let state = View::whole(&buffers::upload(ctx, "state", &[step, cursor as u32, 0, 0]));
    let io = StepIo {
        bufs: &bufs,
        data: &data,
        perm: &perm_view,
        state: &state,
        history: &history,
    };
    let program = model.train_step(ctx, &io, rows, &hp, seed).unwrap();
    ops::run(ctx, &program.iter().collect::<Vec<_>>()).unwrap();

    let tag = format!(
        "{:?} hidden {:?} rows {rows} {}",
        cfg.likelihood,
        cfg.hidden,
        variant.name()
    );
    let record: Vec<f32> = buffers::read(ctx, &history).unwrap();
    // (recon, kl, total, rows): sums over the batch, so relative tolerance
    all_close(
        &format!("loss record {tag}"),
        &record,
        &act.record,
        0.0,
        2e-5,
    );
    let got_x: Vec<f32> = buffers::read(ctx, &bufs.x.sub(0, x.len() as u64)).unwrap();
    all_close(&format!("gathered batch {tag}"), &got_x, &x, 0.0, 0.0);

    let grads: Vec<f32> = buffers::read(ctx, &model.grads).unwrap();
    let after: Vec<f32> = buffers::read(ctx, &model.params).unwrap();
    for t in &model.layout.tensors {
        let r = t.range();
        let want = &cpu.grads[r.clone()];
        // Sums over the batch and the layer width, accumulated in different orders (and with
        // FMA) on the GPU, of terms that partly cancel: relative to the tensor's scale.
        let scale = max_abs(want).max(1e-6);
        all_close(
            &format!("grad {} {tag}", t.name),
            &grads[r.clone()],
            want,
            2e-4 * scale,
            1e-3,
        );
        all_close(
            &format!("param {} after Adam {tag}", t.name),
            &after[r.clone()],
            &cpu.params[r],
            1e-6,
            1e-5,
        );
    }
    let state_after: Vec<u32> = buffers::read(ctx, &state).unwrap();
    assert_eq!(
        state_after[..3],
        [step + 1, (cursor + rows) as u32, 1],
        "advance_step"
    );
    let _ = vae::STREAM_TRAIN;
}

#[test]
fn default_model_step_matches_cpu_reg4x4() {
    check_step(&ModelConfig::default(), 33, LinearVariant::Reg4x4);
}

#[test]
fn default_model_step_matches_cpu_tiled_batch_1() {
    check_step(&ModelConfig::default(), 1, LinearVariant::Tiled);
}

#[test]
fn deep_gaussian_model_with_learned_variance_matches_cpu() {
    let cfg = ModelConfig {
        rows: 7,
        cols: 19,
        hidden: vec![64, 33],
        latent: 5,
        likelihood: Likelihood::Gaussian,
        beta: 0.5,
        learn_variance: true,
        gaussian_logvar: -1.0,
    };
    check_step(&cfg, 17, LinearVariant::Reg4x4);
}

#[test]
fn fixed_gaussian_variance_is_not_trained() {
    let Some(ctx) = gpu() else { return };
    let cfg = ModelConfig {
        likelihood: Likelihood::Gaussian,
        hidden: vec![16],
        latent: 3,
        ..ModelConfig::default()
    };
    let params = init_params(&cfg, 1);
    let model = GpuVae::new(ctx, &cfg, &params, LinearVariant::Reg4x4).unwrap();
    assert_eq!(
        model.trainable_len(),
        model.layout.tensor("logvar_x").offset
    );
}
