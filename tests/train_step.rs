//! One program, two backends: a whole training step run by the CPU reference and recorded on
//! the GPU gives the same loss, every named activation, every named gradient and every
//! parameter after Adam; the restoration programs (decoder backward to z, encoder backward to
//! x) give the same input gradients and leave the parameter gradients alone.

mod common;

use common::{all_close, gpu, random};
use wgvae::config::{Likelihood, ModelConfig};
use wgvae::cpu::exec::{self, CpuActs, CpuIo, CpuModel};
use wgvae::cpu::ops::{Act, AdamHyper};
use wgvae::data::{embedded, Dataset, Split};
use wgvae::gpu::buffers::{self, View};
use wgvae::gpu::ops::LinearVariant;
use wgvae::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use wgvae::model::init::init_params;
use wgvae::model::Model;
use wgvae::train::upload_dataset;

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

/// 200 embedded digits cut down to the model's input size when it is smaller.
fn digits(cfg: &ModelConfig) -> Dataset {
    let mut set = embedded::embedded(Split::Train).take(200);
    let d = cfg.input_dim();
    if d != 784 {
        // a smaller image: the first d pixels of each digit's centre rows
        let images: Vec<u8> = (0..set.count)
            .flat_map(|i| set.image(i)[300..300 + d].to_vec())
            .collect();
        set.images = images;
        set.height = cfg.height;
        set.width = cfg.width;
    }
    set
}

fn check_step(cfg: &ModelConfig, rows: usize, variant: LinearVariant) {
    check_step_corrupt(cfg, rows, variant, 0.0);
}

/// `check_step` of a denoising step (`train --corrupt-noise`) when `corrupt_noise` > 0.
fn check_step_corrupt(cfg: &ModelConfig, rows: usize, variant: LinearVariant, corrupt_noise: f32) {
    let Some(ctx) = gpu() else { return };
    let model = Model::new(cfg).unwrap();
    let set = digits(cfg);
    let (seed, step) = (0xDEAD_BEEF_u64, 5u32);
    let hp = AdamHyper::default();
    let params = init_params(&model, 3);
    let n = params.len();
    // Adam moments from "earlier steps", so the update is smooth in the gradient rather than
    // its sign (at m = v = 0 a gradient near zero could flip a whole lr step).
    let m0: Vec<f32> = random(n, -1e-2, 1e-2, 4);
    let v0: Vec<f32> = random(n, 1e-5, 1e-3, 5);
    let perm: Vec<u32> = (0..set.count as u32)
        .map(|i| (i * 7 + 3) % set.count as u32)
        .collect();
    let cursor = 11u32;
    let program = model.train_step_corrupt(rows, &hp, seed, corrupt_noise);

    let mut cpu = CpuModel::new(&model, params.clone());
    cpu.adam_m = m0.clone();
    cpu.adam_v = v0.clone();
    let mut cpu_acts = CpuActs::new(&model, rows);
    let mut cpu_io = CpuIo {
        data: set.images.clone(),
        perm: perm.clone(),
        state: [step, cursor, 0, 0],
        history: vec![0.0; 4],
    };
    exec::run(&program, &mut cpu, &mut cpu_acts, &mut cpu_io);

    let gpu_model = GpuModel::new(ctx, &model, &params, variant).unwrap();
    gpu_model.write_state(ctx, &params, &m0, &v0);
    let gpu_acts = GpuActs::new(ctx, &model, rows).unwrap();
    let io = StepIo {
        data: upload_dataset(ctx, &set).unwrap(),
        perm: View::whole(&buffers::upload(ctx, "perm", &perm)),
        state: View::whole(&buffers::upload(ctx, "state", &[step, cursor, 0, 0])),
        history: View::whole(&buffers::zeros(ctx, "history", 4)),
    };
    recorder::run(ctx, &program, &gpu_model, &gpu_acts, &io).unwrap();

    let tag = format!(
        "{:?} {:?} hidden {:?} rows {rows} {} corrupt {corrupt_noise}",
        cfg.arch,
        cfg.likelihood,
        cfg.hidden,
        variant.name()
    );
    let record: Vec<f32> = buffers::read(ctx, &io.history).unwrap();
    // (recon, kl, total, rows): sums over the batch, so relative tolerance; the KL of an
    // untrained model is a small sum of terms each ~1 that cancel, so each of its rows x
    // latent terms may carry the 1e-6 by which mu and logvar differ
    all_close(
        &format!("loss record {tag}"),
        &record,
        &cpu_io.history,
        1e-6 * (rows * cfg.latent) as f32,
        2e-5,
    );
    for (i, info) in model.acts.tensors.iter().enumerate() {
        let want = &cpu_acts.tensors[i];
        let got: Vec<f32> = buffers::read(ctx, &gpu_acts.tensors[i]).unwrap();
        // products over up to 784 terms summed in another order (and with FMA) on the GPU,
        // then passed through more layers: relative to the tensor's scale
        let scale = max_abs(want).max(1e-6);
        all_close(
            &format!("activation {} {tag}", info.name),
            &got,
            want,
            1e-4 * scale,
            1e-3,
        );
    }
    let grads: Vec<f32> = buffers::read(ctx, &gpu_model.grads).unwrap();
    let after: Vec<f32> = buffers::read(ctx, &gpu_model.params).unwrap();
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
    let state_after: Vec<u32> = buffers::read(ctx, &io.state).unwrap();
    assert_eq!(
        state_after[..3],
        [step + 1, cursor + rows as u32, 1],
        "advance"
    );
    assert_eq!(cpu_io.state[..3], state_after[..3], "the CPU's step state");
}

#[test]
fn default_model_step_matches_cpu_reg4x4() {
    check_step(&ModelConfig::default(), 33, LinearVariant::Reg4x4);
}

#[test]
fn default_model_step_matches_cpu_reg8x8() {
    check_step(&ModelConfig::default(), 33, LinearVariant::Reg8x8);
}

/// Hidden widths 64 and 36 (multiples of 4: the 8x8 kernels) and a 7x19 image (133 pixels:
/// the fallback), batch 3.
#[test]
fn mixed_widths_step_matches_cpu_reg8x8() {
    let cfg = ModelConfig {
        hidden: vec![64, 36],
        latent: 4,
        ..deep_gaussian(true)
    };
    check_step(&cfg, 3, LinearVariant::Reg8x8);
}

/// A denoising step: the encoder reads x plus per-row noise, the loss the clean x.
#[test]
fn denoising_step_matches_cpu_reg8x8() {
    check_step_corrupt(&ModelConfig::default(), 33, LinearVariant::Reg8x8, 0.235);
}

#[test]
fn denoising_conv_step_matches_cpu() {
    check_step_corrupt(&ModelConfig::conv_default(), 5, LinearVariant::Reg4x4, 1.0);
}

#[test]
fn default_model_step_matches_cpu_tiled_batch_1() {
    check_step(&ModelConfig::default(), 1, LinearVariant::Tiled);
}

fn deep_gaussian(learn_variance: bool) -> ModelConfig {
    ModelConfig {
        height: 7,
        width: 19,
        hidden: vec![64, 33],
        latent: 5,
        likelihood: Likelihood::Gaussian,
        beta: 0.5,
        learn_variance,
        gaussian_logvar: -1.0,
        ..ModelConfig::default()
    }
}

#[test]
fn deep_gaussian_model_with_learned_variance_matches_cpu() {
    check_step(&deep_gaussian(true), 17, LinearVariant::Reg4x4);
}

#[test]
fn conv_model_step_matches_cpu() {
    check_step(&ModelConfig::conv_default(), 5, LinearVariant::Reg8x8);
}

/// RGB, three stride-2 levels, two dense layers, a learned Gaussian variance, beta != 1.
#[test]
fn deep_rgb_conv_gaussian_step_matches_cpu() {
    let cfg = ModelConfig {
        arch: wgvae::config::ArchKind::Conv,
        height: 16,
        width: 8,
        channels: 3,
        conv_channels: vec![5, 9, 6],
        hidden: vec![20, 11],
        latent: 4,
        likelihood: Likelihood::Gaussian,
        beta: 0.7,
        learn_variance: true,
        gaussian_logvar: -2.0,
    };
    check_step(&cfg, 3, LinearVariant::Reg4x4);
}

/// A fixed variance stays put through a GPU training step while everything else moves; a
/// learned one moves.
#[test]
fn fixed_gaussian_variance_is_not_trained() {
    let Some(ctx) = gpu() else { return };
    for learn in [false, true] {
        let cfg = deep_gaussian(learn);
        let model = Model::new(&cfg).unwrap();
        let set = digits(&cfg);
        let params = init_params(&model, 1);
        let gpu_model = GpuModel::new(ctx, &model, &params, LinearVariant::Reg4x4).unwrap();
        let acts = GpuActs::new(ctx, &model, 8).unwrap();
        let order: Vec<u32> = (0..set.count as u32).collect();
        let io = StepIo {
            data: upload_dataset(ctx, &set).unwrap(),
            perm: View::whole(&buffers::upload(ctx, "perm", &order)),
            ..StepIo::at_step(ctx, 0, 1)
        };
        let program = model.train_step(8, &AdamHyper::default(), 1);
        recorder::run(ctx, &program, &gpu_model, &acts, &io).unwrap();
        let after: Vec<f32> = buffers::read(ctx, &gpu_model.params).unwrap();
        let lv = model.layout.tensor("logvar_x").offset;
        let moved = after[..lv]
            .iter()
            .zip(&params)
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            moved > lv / 2,
            "learn {learn}: only {moved} parameters moved"
        );
        assert_eq!(
            after[lv] != params[lv],
            learn,
            "learn {learn}: logvar_x {} -> {}",
            params[lv],
            after[lv]
        );
    }
}

/// Restoration's programs on both backends: the forward pass (encode, sample, decode), then
/// "decoder backward to z" from a given output gradient and "encoder backward to x" from given
/// dmu and dlogvar. The input gradients agree, and the parameter gradients stay zero.
#[test]
fn restoration_programs_match_cpu_and_leave_parameter_gradients_alone() {
    check_restoration_programs(ModelConfig {
        hidden: vec![48, 24],
        latent: 6,
        ..ModelConfig::default()
    });
    check_restoration_programs(ModelConfig {
        channels: 3,
        latent: 6,
        hidden: vec![40],
        conv_channels: vec![8, 5],
        ..ModelConfig::conv_default()
    });
}

fn check_restoration_programs(cfg: ModelConfig) {
    let Some(ctx) = gpu() else { return };
    let model = Model::new(&cfg).unwrap();
    let a = &model.acts;
    let rows = 9;
    let params = init_params(&model, 7);
    let x = random(rows * cfg.input_dim(), 0.0, 1.0, 8);
    let dout = random(rows * cfg.input_dim(), -1.0, 1.0, 9);
    let dmu = random(rows * cfg.latent, -1.0, 1.0, 10);
    let dlogvar = random(rows * cfg.latent, -1.0, 1.0, 11);

    let mut cpu = CpuModel::new(&model, params.clone());
    let mut cpu_acts = CpuActs::new(&model, rows);
    let mut cpu_io = CpuIo::at_step(0, 1);
    cpu_acts.set(a.x, &x);
    // the decoder's input is z: copy mu there, as restoration sets z
    exec::run(&model.encode(rows), &mut cpu, &mut cpu_acts, &mut cpu_io);
    let mu = cpu_acts.get(a.mu).to_vec();
    cpu_acts.set(a.z, &mu);
    let decode_z = model.decode(rows, a.z, Act::None);
    exec::run(&decode_z, &mut cpu, &mut cpu_acts, &mut cpu_io);
    cpu_acts.set(a.dout(), &dout);
    cpu_acts.set(a.dmu, &dmu);
    cpu_acts.set(a.dlogvar, &dlogvar);
    let mut backward = model.decoder_backward_to_z(rows);
    backward.extend(model.encoder_backward_to_x(rows));
    exec::run(&backward, &mut cpu, &mut cpu_acts, &mut cpu_io);

    let gpu_model = GpuModel::new(ctx, &model, &params, LinearVariant::Reg4x4).unwrap();
    let acts = GpuActs::new(ctx, &model, rows).unwrap();
    let io = StepIo::at_step(ctx, 0, 1);
    buffers::write(ctx, acts.get(a.x), &x);
    recorder::run(ctx, &model.encode(rows), &gpu_model, &acts, &io).unwrap();
    buffers::write(ctx, acts.get(a.z), &mu);
    recorder::run(ctx, &decode_z, &gpu_model, &acts, &io).unwrap();
    buffers::write(ctx, acts.get(a.dout()), &dout);
    buffers::write(ctx, acts.get(a.dmu), &dmu);
    buffers::write(ctx, acts.get(a.dlogvar), &dlogvar);
    recorder::run(ctx, &backward, &gpu_model, &acts, &io).unwrap();

    for (id, what) in [(a.dz, "dz"), (a.dx, "dx")] {
        let want = cpu_acts.get(id);
        let got: Vec<f32> = buffers::read(ctx, acts.get(id)).unwrap();
        assert!(
            max_abs(want) > 0.0,
            "{what} is all zero: nothing propagated"
        );
        all_close(what, &got, want, 1e-4 * max_abs(want), 1e-3);
    }
    let grads: Vec<f32> = buffers::read(ctx, &gpu_model.grads).unwrap();
    assert!(
        grads.iter().all(|&g| g == 0.0),
        "a parameter gradient was written"
    );
    assert!(
        cpu.grads.iter().all(|&g| g == 0.0),
        "a CPU parameter gradient was written"
    );
}
