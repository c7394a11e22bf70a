//! Known answers: each test asserts values derived from the maths (literals, or closed forms
//! evaluated in f64 by the test), never values produced by the other backend, and runs on both
//! the CPU reference and the GPU. A mistake made alike in a kernel and its CPU twin (the
//! reparameterisation's scale, the pixel scale, beta in the loss record, Adam's algebra) passes
//! the CPU-vs-GPU tests but fails here.

mod common;

use common::{all_close, gpu, out, read, state, up};
use wgvae::config::ModelConfig;
use wgvae::cpu::exec::{self, CpuActs, CpuIo, CpuModel};
use wgvae::cpu::ops::{self as cpu, AdamHyper};
use wgvae::cpu::rng;
use wgvae::data::Dataset;
use wgvae::gpu::ops::{self, LinearVariant};
use wgvae::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use wgvae::gpu::GpuContext;
use wgvae::model::init::init_params;
use wgvae::model::program::STREAM_TRAIN;
use wgvae::model::Model;
use wgvae::train::upload_dataset;

/// Vulkan lets sin and cos err by 2^-11 absolute and log by a few ulps, and the Box-Muller
/// radius stays below 5.8: a GPU's normals may differ from the CPU's Philox normals by ~3e-3
/// (the bound tests/gpu_kernels.rs uses).
const NORMAL_ATOL: f32 = 3e-3;

// ------------------------------------------------------------------ reparameterisation

/// At logvar = 2 ln 3 the standard deviation exp(logvar / 2) is exactly 3: z - mu = 3 eps, with
/// eps the Philox normals of the key, and dlogvar = dz eps 3 / 2.
#[test]
fn reparam_at_logvar_2_ln_3_scales_noise_by_3() {
    let n = 37; // not a multiple of the 4 normals of one Philox block
    let (seed, step, stream) = (0x1234_5678_9abc_def0u64, 7u32, 0u32);
    let mu: Vec<f32> = (0..n).map(|i| 0.25 * (i % 5) as f32 - 0.5).collect();
    let logvar = vec![(2.0 * 3f64.ln()) as f32; n];
    let dz: Vec<f32> = (0..n).map(|i| 1.0 - 0.05 * i as f32).collect();
    let known: Vec<f32> = (0..n)
        .map(|i| rng::normal_at(seed, step, stream, i))
        .collect();

    let (mut z, mut eps) = (vec![0.0; n], vec![0.0; n]);
    cpu::reparam_forward(&mut z, &mut eps, &mu, &logvar, step, n, seed, stream);
    let (mut dmu, mut dlv) = (vec![0.0; n], vec![0.0; n]);
    cpu::reparam_backward(&mut dmu, &mut dlv, &dz, &eps, &logvar, n);
    assert_eq!(eps, known, "cpu: eps is normal_at(seed, step, stream, i)");
    check_factor_3("cpu", &mu, &z, &eps, &dz, &dmu, &dlv);

    let Some(ctx) = gpu() else { return };
    let (muv, lvv, zv, epsv) = (up(ctx, &mu), up(ctx, &logvar), out(ctx, n), out(ctx, n));
    let (dmuv, dlvv) = (out(ctx, n), out(ctx, n));
    let st = state(ctx, step, 0, 0);
    let f = ops::reparam_forward(ctx, &zv, &epsv, &muv, &lvv, &st, n, seed, stream).unwrap();
    let b = ops::reparam_backward(ctx, &dmuv, &dlvv, &up(ctx, &dz), &epsv, &lvv, n).unwrap();
    ops::run(ctx, &[&f, &b]).unwrap();
    let eps = read(ctx, &epsv);
    all_close("gpu: eps is normal_at", &eps, &known, NORMAL_ATOL, 0.0);
    check_factor_3(
        "gpu",
        &mu,
        &read(ctx, &zv),
        &eps,
        &dz,
        &read(ctx, &dmuv),
        &read(ctx, &dlvv),
    );
}

fn check_factor_3(
    backend: &str,
    mu: &[f32],
    z: &[f32],
    eps: &[f32],
    dz: &[f32],
    dmu: &[f32],
    dlv: &[f32],
) {
    let diff: Vec<f32> = z.iter().zip(mu).map(|(z, m)| z - m).collect();
    let three_eps: Vec<f32> = eps.iter().map(|e| 3.0 * e).collect();
    // exp(ln 3) is 3 within a few ulps (the GPU's exp errs by up to 3 + 2|x| ulps), times
    // |eps| < 6, plus the rounding of z = mu + s eps and of z - mu (|z| < 20): ~1e-5 at most.
    // The wrong scale exp(logvar) = 9 misses by 6 |eps|.
    all_close(
        &format!("{backend}: z - mu = 3 eps"),
        &diff,
        &three_eps,
        2e-5,
        0.0,
    );
    assert_eq!(dmu, dz, "{backend}: dmu = dz");
    let want: Vec<f32> = dz.iter().zip(eps).map(|(d, e)| 1.5 * d * e).collect();
    // the same few-ulp bound on exp(ln 3), relative
    all_close(
        &format!("{backend}: dlogvar = 3/2 dz eps"),
        dlv,
        &want,
        1e-6,
        2e-6,
    );
}

/// 100,000 draws of z at mu = 0, logvar = ln 4 have variance exp(ln 4) = 4 and mean 0. The
/// sample variance of n normals has a standard error of 4 sqrt(2 / n) = 0.018 (0.45%), so 2% is
/// over 4 standard errors (and the draws are fixed by the key, so the test cannot flake); the
/// mean's standard error is 2 / sqrt(n) = 0.0063, so 0.03 is over 4 too.
#[test]
fn reparam_variance_is_exp_logvar_over_100k_draws() {
    let n = 100_000;
    let (seed, step, stream) = (42u64, 3u32, 0u32);
    let mu = vec![0.0f32; n];
    let logvar = vec![4f64.ln() as f32; n];
    let (mut z, mut eps) = (vec![0.0; n], vec![0.0; n]);
    cpu::reparam_forward(&mut z, &mut eps, &mu, &logvar, step, n, seed, stream);
    check_moments("cpu", &z);

    let Some(ctx) = gpu() else { return };
    let (zv, epsv) = (out(ctx, n), out(ctx, n));
    let st = state(ctx, step, 0, 0);
    let f = ops::reparam_forward(
        ctx,
        &zv,
        &epsv,
        &up(ctx, &mu),
        &up(ctx, &logvar),
        &st,
        n,
        seed,
        stream,
    )
    .unwrap();
    ops::run(ctx, &[&f]).unwrap();
    check_moments("gpu", &read(ctx, &zv));
}

fn check_moments(backend: &str, z: &[f32]) {
    let n = z.len() as f64;
    let mean = z.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(
        mean.abs() < 0.03,
        "{backend}: mean of z is {mean}, expected 0"
    );
    assert!(
        (var - 4.0).abs() < 0.02 * 4.0,
        "{backend}: variance of z is {var}, expected 4 within 2%"
    );
}

// ------------------------------------------------------------------ KL

/// KL(N(mu, e^lv) || N(0, 1)) = -1/2 (1 + lv - mu^2 - e^lv): 0.5 at (1, 0), (1 - ln 2) / 2 at
/// (0, ln 2), 0 at (0, 0), 2 + (e - 2) / 2 at (2, 1); its gradient (scaled by beta = 0.5 and
/// added to what is there) dmu += 0.5 mu, dlogvar += 0.5 (e^lv - 1) / 2.
#[test]
fn kl_known_values_and_gradients() {
    let e = std::f64::consts::E;
    let ln2 = std::f64::consts::LN_2;
    let mu = [1.0f32, 0.0, 0.0, 2.0];
    let logvar = [0.0f32, ln2 as f32, 0.0, 1.0];
    let kl_want = [0.5, 0.5 * (1.0 - ln2), 0.0, 2.0 + (e - 2.0) / 2.0].map(|v| v as f32);
    let prior = [10.0f32, -10.0, 0.0, 1.0];
    let dmu_want = [10.5f32, -10.0, 0.0, 2.0];
    let dlv_want = [10.0, -10.0 + 0.25, 0.0, 1.0 + 0.25 * (e - 1.0)].map(|v| v as f32);
    let n = 4;
    let mut kl = vec![0.0; n];
    cpu::kl_forward(&mut kl, &mu, &logvar, n);
    let (mut dmu, mut dlv) = (prior.to_vec(), prior.to_vec());
    cpu::kl_backward(&mut dmu, &mut dlv, &mu, &logvar, n, 0.5);
    // a few f32 roundings of values below 10 (and the GPU's exp, a few ulps)
    let tol = 2e-6;
    all_close("cpu kl", &kl, &kl_want, tol, tol);
    all_close("cpu kl dmu", &dmu, &dmu_want, tol, tol);
    all_close("cpu kl dlogvar", &dlv, &dlv_want, tol, tol);

    let Some(ctx) = gpu() else { return };
    let (muv, lvv, klv) = (up(ctx, &mu), up(ctx, &logvar), out(ctx, n));
    let (dmuv, dlvv) = (up(ctx, &prior), up(ctx, &prior));
    let f = ops::kl_forward(ctx, &klv, &muv, &lvv, n).unwrap();
    let b = ops::kl_backward(ctx, &dmuv, &dlvv, &muv, &lvv, n, 0.5).unwrap();
    ops::run(ctx, &[&f, &b]).unwrap();
    all_close("gpu kl", &read(ctx, &klv), &kl_want, tol, tol);
    all_close("gpu kl dmu", &read(ctx, &dmuv), &dmu_want, tol, tol);
    all_close("gpu kl dlogvar", &read(ctx, &dlvv), &dlv_want, tol, tol);
}

// ------------------------------------------------------------------ gather

/// Pixels are u8 / 255: 255 -> 1, 51 -> 0.2, 102 -> 0.4, 204 -> 0.8, 0 -> 0; rows come from
/// `perm[cursor..]`.
#[test]
fn gather_maps_255_to_1_and_51_to_0_2() {
    let dim = 5;
    let images: [[u8; 5]; 3] = [
        [255, 51, 0, 102, 204],
        [51, 255, 204, 0, 102],
        [7, 7, 7, 7, 7],
    ];
    let data: Vec<u8> = images.concat();
    let perm = [2u32, 1, 0];
    let (cursor, rows) = (1usize, 2usize);
    // perm[1] = image 1, perm[2] = image 0
    let want = [0.2f32, 1.0, 0.8, 0.0, 0.4, 1.0, 0.2, 0.0, 0.4, 0.8];
    // b * (1/255 in f32): two roundings, at most ~1.5e-7 below 1; 1/256 would miss 255 by 4e-3
    let tol = 2e-7;
    let mut got = vec![0.0; rows * dim];
    cpu::gather_batch(&mut got, &data, &perm, cursor, rows, dim);
    all_close("cpu gather", &got, &want, tol, 0.0);

    let Some(ctx) = gpu() else { return };
    let set = Dataset {
        images: data,
        labels: None,
        count: 3,
        height: 1,
        width: dim,
        channels: 1,
    };
    let outv = out(ctx, rows * dim);
    let st = state(ctx, 0, cursor as u32, 0);
    let d = ops::gather_batch(
        ctx,
        &outv,
        &upload_dataset(ctx, &set).unwrap(),
        &up(ctx, &perm),
        &st,
        rows,
        dim,
    )
    .unwrap();
    ops::run(ctx, &[&d]).unwrap();
    all_close("gpu gather", &read(ctx, &outv), &want, tol, 0.0);
}

// ------------------------------------------------------------------ loss record

/// recon rows [1, 2], KL rows [3, 4], beta 0.5 at slot 1: (3, 7, 3 + 0.5 * 7 = 6.5, 2), exact
/// in f32; slot 0 untouched.
#[test]
fn record_loss_writes_recon_kl_recon_plus_beta_kl_rows() {
    let (recon, kl) = ([1.0f32, 2.0], [3.0f32, 4.0]);
    let want = [0.0f32, 0.0, 0.0, 0.0, 3.0, 7.0, 6.5, 2.0];
    let mut history = vec![0.0; 8];
    cpu::record_loss(&mut history, &recon, &kl, 1, 2, 0.5);
    assert_eq!(history, want, "cpu record");

    let Some(ctx) = gpu() else { return };
    let hv = out(ctx, 8);
    let d = ops::record_loss(
        ctx,
        &hv,
        &up(ctx, &recon),
        &up(ctx, &kl),
        &state(ctx, 5, 0, 1),
        2,
        0.5,
    )
    .unwrap();
    ops::run(ctx, &[&d]).unwrap();
    assert_eq!(read(ctx, &hv), want, "gpu record");
}

// ------------------------------------------------------------------ a whole step, beta != 1

fn beta_cfg(beta: f32) -> ModelConfig {
    ModelConfig {
        height: 4,
        width: 5,
        hidden: vec![6],
        latent: 3,
        beta,
        ..ModelConfig::default()
    }
}

/// What a training step left behind.
struct Step {
    x: Vec<f32>,
    mu: Vec<f32>,
    logvar: Vec<f32>,
    eps: Vec<f32>,
    z: Vec<f32>,
    logits: Vec<f32>,
    dmu: Vec<f32>,
    dlogvar: Vec<f32>,
    record: Vec<f32>,
    grads: Vec<f32>,
}

const STEP_SEED: u64 = 77;
const STEP_NUMBER: u32 = 4;
const ROWS: usize = 4;

/// 6 images of 20 pixels, gathered in the order `perm` from cursor 1.
fn step_data() -> (Vec<u8>, Vec<u32>) {
    let data = (0..6 * 20).map(|i| (i * 53 % 256) as u8).collect();
    (data, vec![5, 3, 1, 0, 2, 4])
}

/// Initial parameters with the heads' biases raised so the KL is large (mu ~ 0.8, logvar ~ 0.6)
/// and a mistake in its weight shows in the total.
fn step_params(model: &Model) -> Vec<f32> {
    let mut p = init_params(model, 5);
    for (name, value) in [("fc21.bias", 0.8f32), ("fc22.bias", 0.6)] {
        p[model.layout.tensor(name).range()].fill(value);
    }
    p
}

fn cpu_train_step(beta: f32) -> Step {
    let model = Model::new(&beta_cfg(beta)).unwrap();
    let (data, perm) = step_data();
    let program = model.train_step(ROWS, &AdamHyper::default(), STEP_SEED);
    let mut cm = CpuModel::new(&model, step_params(&model));
    let mut acts = CpuActs::new(&model, ROWS);
    let mut io = CpuIo {
        data,
        perm,
        state: [STEP_NUMBER, 1, 0, 0],
        history: vec![0.0; 4],
    };
    exec::run(&program, &mut cm, &mut acts, &mut io);
    let a = &model.acts;
    let get = |id| acts.get(id).to_vec();
    Step {
        x: get(a.x),
        mu: get(a.mu),
        logvar: get(a.logvar),
        eps: get(a.eps),
        z: get(a.z),
        logits: get(a.out()),
        dmu: get(a.dmu),
        dlogvar: get(a.dlogvar),
        record: io.history,
        grads: cm.grads,
    }
}

fn gpu_train_step(ctx: &GpuContext, beta: f32) -> Step {
    let model = Model::new(&beta_cfg(beta)).unwrap();
    let (data, perm) = step_data();
    let set = Dataset {
        images: data,
        labels: None,
        count: 6,
        height: 4,
        width: 5,
        channels: 1,
    };
    let program = model.train_step(ROWS, &AdamHyper::default(), STEP_SEED);
    let gm = GpuModel::new(ctx, &model, &step_params(&model), LinearVariant::Reg4x4).unwrap();
    let acts = GpuActs::new(ctx, &model, ROWS).unwrap();
    let io = StepIo {
        data: upload_dataset(ctx, &set).unwrap(),
        perm: up(ctx, &perm),
        state: state(ctx, STEP_NUMBER, 1, 0),
        history: out(ctx, 4),
    };
    recorder::run(ctx, &program, &gm, &acts, &io).unwrap();
    let a = &model.acts;
    let get = |id| read(ctx, acts.get(id));
    Step {
        x: get(a.x),
        mu: get(a.mu),
        logvar: get(a.logvar),
        eps: get(a.eps),
        z: get(a.z),
        logits: get(a.out()),
        dmu: get(a.dmu),
        dlogvar: get(a.dlogvar),
        record: read(ctx, &io.history),
        grads: read(ctx, &gm.grads),
    }
}

/// One step's own activations against the formulas: x = bytes / 255 in perm order, eps the
/// Philox normals of (seed, step, training stream), z = mu + exp(logvar / 2) eps, and the loss
/// record = (BCE summed, KL summed, recon + beta KL, rows), the sums formed here in f64.
fn check_step_formulas(backend: &str, s: &Step, beta: f32, eps_atol: f32) {
    let (data, perm) = step_data();
    let x_want: Vec<f32> = perm[1..1 + ROWS]
        .iter()
        .flat_map(|&img| {
            data[img as usize * 20..][..20]
                .iter()
                .map(|&b| b as f32 / 255.0)
        })
        .collect();
    all_close(&format!("{backend} x"), &s.x, &x_want, 2e-7, 0.0);
    let eps_want: Vec<f32> = (0..ROWS * 3)
        .map(|i| rng::normal_at(STEP_SEED, STEP_NUMBER, STREAM_TRAIN, i))
        .collect();
    all_close(&format!("{backend} eps"), &s.eps, &eps_want, eps_atol, 0.0);
    let z_want: Vec<f32> = (0..ROWS * 3)
        .map(|i| (s.mu[i] as f64 + (s.logvar[i] as f64 / 2.0).exp() * s.eps[i] as f64) as f32)
        .collect();
    // a few f32 roundings (the GPU's exp, a few ulps) of values below 10
    all_close(&format!("{backend} z"), &s.z, &z_want, 1e-5, 1e-5);

    let recon: f64 = s
        .logits
        .iter()
        .zip(&s.x)
        .map(|(&l, &x)| {
            let (l, x) = (l as f64, x as f64);
            l.max(0.0) - x * l + (-l.abs()).exp().ln_1p()
        })
        .sum();
    let kl: f64 =
        s.mu.iter()
            .zip(&s.logvar)
            .map(|(&m, &lv)| {
                let (m, lv) = (m as f64, lv as f64);
                -0.5 * (1.0 + lv - m * m - lv.exp())
            })
            .sum();
    let total = recon + beta as f64 * kl;
    assert!(
        kl > 1.0 && kl < 0.5 * recon,
        "{backend}: KL {kl} too small to tell beta"
    );
    let want = [recon as f32, kl as f32, total as f32, ROWS as f32];
    // sums of 80 (recon) and 12 (KL) f32 terms in another order than f64's: ~1e-6 relative
    all_close(
        &format!("{backend} loss record"),
        &s.record,
        &want,
        1e-5,
        1e-5,
    );
}

/// The KL's share of the gradient scales with beta: between beta = 2 and beta = 0.5 the
/// reconstruction's share is the same (the forward pass does not read beta), so
/// dmu differs by 1.5 mu, dlogvar by 1.5 (e^logvar - 1) / 2, and the mu head's bias gradient
/// (the batch sum of dmu) by 1.5 times the sum of mu over the batch.
fn check_beta_scaling(backend: &str, lo: &Step, hi: &Step, model: &Model) {
    let db = 1.5f64;
    let diff = |a: &[f32], b: &[f32]| -> Vec<f32> { a.iter().zip(b).map(|(a, b)| a - b).collect() };
    let dmu_want: Vec<f32> = lo.mu.iter().map(|&m| (db * m as f64) as f32).collect();
    let dlv_want: Vec<f32> = lo
        .logvar
        .iter()
        .map(|&lv| (db * 0.5 * ((lv as f64).exp() - 1.0)) as f32)
        .collect();
    // each side is (recon part ~ 1) + beta (KL part ~ 1), rounded once: a few 1e-7
    all_close(
        &format!("{backend} dmu(2) - dmu(0.5)"),
        &diff(&hi.dmu, &lo.dmu),
        &dmu_want,
        2e-6,
        1e-5,
    );
    all_close(
        &format!("{backend} dlogvar(2) - dlogvar(0.5)"),
        &diff(&hi.dlogvar, &lo.dlogvar),
        &dlv_want,
        2e-6,
        1e-5,
    );
    let r = model.layout.tensor("fc21.bias").range();
    let mu_sum: Vec<f32> = (0..3)
        .map(|j| (db * (0..ROWS).map(|row| lo.mu[row * 3 + j] as f64).sum::<f64>()) as f32)
        .collect();
    all_close(
        &format!("{backend} grad fc21.bias(2) - (0.5)"),
        &diff(&hi.grads[r.clone()], &lo.grads[r]),
        &mu_sum,
        1e-5,
        1e-5,
    );
}

#[test]
fn train_step_with_beta_records_recon_plus_beta_kl_and_scales_the_kl_gradient() {
    let model = Model::new(&beta_cfg(0.5)).unwrap();
    let (lo, hi) = (cpu_train_step(0.5), cpu_train_step(2.0));
    // the CPU draws the noise itself: exactly normal_at
    check_step_formulas("cpu beta 0.5", &lo, 0.5, 0.0);
    check_step_formulas("cpu beta 2", &hi, 2.0, 0.0);
    check_beta_scaling("cpu", &lo, &hi, &model);

    let Some(ctx) = gpu() else { return };
    let (lo, hi) = (gpu_train_step(ctx, 0.5), gpu_train_step(ctx, 2.0));
    check_step_formulas("gpu beta 0.5", &lo, 0.5, NORMAL_ATOL);
    check_step_formulas("gpu beta 2", &hi, 2.0, NORMAL_ATOL);
    check_beta_scaling("gpu", &lo, &hi, &model);
}

// ------------------------------------------------------------------ Adam's closed form

/// Runs Adam from `p0` (moments zero, first step t = 1) with `grads[s]` at step s, on the CPU
/// and, when there is one, the GPU; returns the parameters of each backend.
fn adam_both(p0: &[f32], grads: &[Vec<f32>], hp: &AdamHyper) -> Vec<(&'static str, Vec<f32>)> {
    let n = p0.len();
    let mut p = p0.to_vec();
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    for (step, g) in grads.iter().enumerate() {
        cpu::adam_step(&mut p, g, &mut m, &mut v, step as u32, n, hp);
    }
    let mut results = vec![("cpu", p)];
    if let Some(ctx) = gpu() {
        let (pv, mv, vv) = (up(ctx, p0), out(ctx, n), out(ctx, n));
        let st = state(ctx, 0, 0, 0);
        let adv = ops::advance_step(ctx, &st, 0).unwrap();
        for g in grads {
            let d = ops::adam_step(ctx, &pv, &up(ctx, g), &mv, &vv, &st, n, hp).unwrap();
            ops::run(ctx, &[&d, &adv]).unwrap();
        }
        results.push(("gpu", read(ctx, &pv)));
    }
    results
}

/// A constant gradient g: m_t = (1 - b1^t) g and v_t = (1 - b2^t) g^2, so after bias correction
/// m-hat = g and v-hat = g^2 exactly, and every step moves p by lr g / (|g| + eps) whatever the
/// betas: after 5 steps p = p0 - 5 lr g / (|g| + eps).
#[test]
fn adam_constant_gradient_moves_lr_g_over_abs_g_plus_eps_per_step() {
    let hp = AdamHyper {
        lr: 1e-2,
        ..AdamHyper::default()
    };
    let p0 = [0.5f32, -0.25, 1.0, 0.0, -1.0, 2.0, 0.125, -0.75];
    let g = vec![1.0f32, -1.0, 0.5, -3.0, 1e-3, -250.0, 2e-2, 7.0];
    let steps = 5;
    let want: Vec<f32> = p0
        .iter()
        .zip(&g)
        .map(|(&p, &g)| {
            let (p, g) = (p as f64, g as f64);
            (p - steps as f64 * 1e-2 * g / (g.abs() + 1e-8)) as f32
        })
        .collect();
    for (backend, got) in adam_both(&p0, &vec![g.clone(); steps], &hp) {
        // 5 roundings of p (|p| <= 2: 1.2e-7 each) and the ratio m-hat / sqrt(v-hat) within a
        // few ulps (bias corrections, sqrt, division) times lr: 1e-6 in all; a wrong bias
        // correction or a doubled step misses by lr = 1e-2
        all_close(
            &format!("{backend} adam constant gradient"),
            &got,
            &want,
            1e-6,
            0.0,
        );
    }
}

/// A gradient of 1e-5 at step 1: m-hat = 1e-5, sqrt(v-hat) = 1e-5, so the move is
/// lr 1e-5 / (1e-5 + 1e-8) = 0.999000999 lr, where epsilon shows in the fourth digit.
#[test]
fn adam_tiny_first_gradient_shows_epsilon() {
    let hp = AdamHyper {
        lr: 1e-2,
        ..AdamHyper::default()
    };
    let p0 = [0.0f32, 0.0, 0.3, -0.3];
    let g = vec![1e-5f32, -1e-5, 1e-5, -1e-5];
    let factor = 1e-5 / (1e-5 + 1e-8);
    let want: Vec<f32> = p0
        .iter()
        .zip(&g)
        .map(|(&p, &g)| (p as f64 - 1e-2 * factor * (g as f64).signum()) as f32)
        .collect();
    for (backend, got) in adam_both(&p0, std::slice::from_ref(&g), &hp) {
        // the ratio within a few ulps of f32 (1e-6 lr) and p's rounding (3e-8): epsilon's part
        // is 1e-3 lr = 1e-5, 100 times the 1e-7 allowed
        all_close(
            &format!("{backend} adam tiny gradient"),
            &got,
            &want,
            1e-7,
            0.0,
        );
    }
}

/// Decoupled (AdamW) weight decay subtracts lr wd p besides the Adam step, from the parameter
/// before the step: with a constant gradient p_{t+1} = p_t - lr (g / (|g| + eps) + wd p_t).
#[test]
fn adam_decoupled_weight_decay_subtracts_lr_wd_p() {
    let (lr, wd) = (1e-2f64, 0.5f64);
    let hp = AdamHyper {
        lr: lr as f32,
        weight_decay: wd as f32,
        ..AdamHyper::default()
    };
    let p0 = [2.0f32, -1.0, 0.5, 0.0, 4.0];
    let g = vec![1.0f32, 1.0, -1.0, 0.5, -0.02];
    let steps = 3;
    let want: Vec<f32> = p0
        .iter()
        .zip(&g)
        .map(|(&p, &g)| {
            let (mut p, g) = (p as f64, g as f64);
            for _ in 0..steps {
                p -= lr * (g / (g.abs() + 1e-8) + wd * p);
            }
            p as f32
        })
        .collect();
    // the 4.0 parameter alone (g < 0): p -> 0.995 p + 0.01 each step
    assert!(
        (want[4] - (4.0 * 0.995f32.powi(3) + 0.01 * (1.0 + 0.995 + 0.995 * 0.995))).abs() < 1e-6
    );
    for (backend, got) in adam_both(&p0, &vec![g.clone(); steps], &hp) {
        // 3 roundings of |p| <= 4 (2.4e-7 each) and the ratio within a few ulps times lr
        all_close(
            &format!("{backend} adam weight decay"),
            &got,
            &want,
            1e-6,
            0.0,
        );
    }
}

/// Two steps of opposite gradients of the same size c: step 1 moves lr s c / (c + eps); at step
/// 2, m-hat = (b1 g1 + g2) / (1 + b1) = -g1 (1 - b1) / (1 + b1) = -g1 / 19 and v-hat = c^2, so
/// the two steps move p by lr s (1 - 1/19) = 18/19 lr s. Here the betas matter: with them
/// swapped, m-hat would be -g1 / 1999.
#[test]
fn adam_two_opposite_gradients_move_18_19_lr() {
    let hp = AdamHyper {
        lr: 1e-2,
        ..AdamHyper::default()
    };
    let p0 = [0.0f32, 0.5, -0.5, 1.0, 0.25];
    let g1 = vec![1.0f32, -1.0, 100.0, -0.01, 3.0];
    let g2: Vec<f32> = g1.iter().map(|g| -g).collect();
    let want: Vec<f32> = p0
        .iter()
        .zip(&g1)
        .map(|(&p, &g)| {
            let c = (g as f64).abs();
            let s = (g as f64).signum();
            (p as f64 - 1e-2 * s * c / (c + 1e-8) * (18.0 / 19.0)) as f32
        })
        .collect();
    for (backend, got) in adam_both(&p0, &[g1.clone(), g2], &hp) {
        // 2 roundings of |p| <= 1 and the ratios within a few ulps (the bias corrections
        // 1 - b^2 = 0.19 and 0.001999 included) times lr: 1e-6; swapped betas miss by 5e-3
        all_close(
            &format!("{backend} adam opposite gradients"),
            &got,
            &want,
            1e-6,
            0.0,
        );
    }
}

// ------------------------------------------------------------------ initial parameters

/// PyTorch's default initialisation: every weight and bias uniform in +-1/sqrt(fan_in), fan_in
/// the weight's dimension 1 times the kernel area: 784 for fc1 (bound 1/28), 400 for fc4 (1/20),
/// 1 x 4 x 4 for conv1 (1/4), and 32 x 4 x 4 for deconv1, whose ConvTranspose2d weight is
/// [64, 32, 4, 4] (1/sqrt(512)). The largest |w| of n uniform draws falls short of the bound by
/// about bound / n (by more than 10 bound / n with probability e^-10); the mean of w^2 is
/// bound^2 / 3 with a relative standard error of 0.89 / sqrt(n), allowed 5 of them.
#[test]
fn init_params_are_uniform_within_one_over_sqrt_fan_in() {
    for (cfg, tensors) in [
        (
            ModelConfig::default(),
            vec![("fc1.weight", 1.0 / 28.0), ("fc4.weight", 1.0 / 20.0)],
        ),
        (
            ModelConfig::conv_default(),
            vec![
                ("conv1.weight", 0.25),
                ("deconv1.weight", 1.0 / 512f64.sqrt()),
            ],
        ),
    ] {
        let model = Model::new(&cfg).unwrap();
        let p = init_params(&model, 1);
        for (name, bound) in tensors {
            let v: Vec<f64> = p[model.layout.tensor(name).range()]
                .iter()
                .map(|&x| x as f64)
                .collect();
            let n = v.len() as f64;
            let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(
                max < bound && max > bound * (1.0 - 10.0 / n),
                "{name}: max |w| {max}, bound {bound}"
            );
            let var = v.iter().map(|x| x * x).sum::<f64>() / n;
            let want = bound * bound / 3.0;
            assert!(
                (var - want).abs() < want * 5.0 * 0.89 / n.sqrt(),
                "{name}: mean of w^2 {var}, expected {want}"
            );
        }
    }
}

// ------------------------------------------------------------------ Gaussian likelihood

/// The Gaussian negative log-likelihood 1/2 ((x - mean)^2 e^-s + s + ln 2 pi): 1/2 ln 2 pi =
/// 0.9189385 at mean = x, s = 0; 1/2 (1/4 + ln 4 + ln 2 pi) at |x - mean| = 1, s = ln 4; and its
/// gradients dmean = (mean - x) e^-s, ds = (1 - (x - mean)^2 e^-s) / 2 (scale 1).
#[test]
fn gaussian_nll_known_values() {
    let ln_2pi = (2.0 * std::f64::consts::PI).ln();
    let ln4 = 4f64.ln();
    for (s, mean, x, loss, dmean, ds) in [
        (
            0.0,
            [0.5f32, 0.0],
            [0.5f32, 0.0],
            [0.5 * ln_2pi; 2],
            [0.0; 2],
            [0.5; 2],
        ),
        (
            ln4,
            [1.5, -1.0],
            [0.5, 0.0],
            [0.5 * (0.25 + ln4 + ln_2pi); 2],
            [0.25, -0.25],
            [0.375; 2],
        ),
    ] {
        let n = 2;
        let logvar_x = [s as f32];
        let f = |v: [f64; 2]| v.map(|x| x as f32);
        let (want_l, want_dm, want_ds) = (f(loss), f(dmean), f(ds));
        let (mut l, mut dm, mut dl) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        cpu::gaussian_forward(&mut l, &mut dm, &mut dl, &mean, &x, &logvar_x, n, 1.0);
        // a few f32 roundings (and the GPU's exp) of values below 2
        let tol = 1e-6;
        all_close("cpu gaussian loss", &l, &want_l, tol, tol);
        all_close("cpu gaussian dmean", &dm, &want_dm, tol, tol);
        all_close("cpu gaussian dlogvar", &dl, &want_ds, tol, tol);
        let Some(ctx) = gpu() else { continue };
        let (lv, dmv, dlv) = (out(ctx, n), out(ctx, n), out(ctx, n));
        let d = ops::gaussian_forward(
            ctx,
            &lv,
            &dmv,
            &dlv,
            &up(ctx, &mean),
            &up(ctx, &x),
            &up(ctx, &logvar_x),
            n,
            1.0,
        )
        .unwrap();
        ops::run(ctx, &[&d]).unwrap();
        all_close("gpu gaussian loss", &read(ctx, &lv), &want_l, tol, tol);
        all_close("gpu gaussian dmean", &read(ctx, &dmv), &want_dm, tol, tol);
        all_close("gpu gaussian dlogvar", &read(ctx, &dlv), &want_ds, tol, tol);
    }
}

/// A fixed Gaussian variance is no parameter: a training step with weight decay (which would
/// shrink anything Adam touches, even at zero gradient) leaves logvar_x at exactly -1.5, on both
/// backends.
#[test]
fn fixed_variance_stays_put_under_weight_decay() {
    let cfg = ModelConfig {
        likelihood: wgvae::config::Likelihood::Gaussian,
        gaussian_logvar: -1.5,
        learn_variance: false,
        ..beta_cfg(1.0)
    };
    let model = Model::new(&cfg).unwrap();
    let hp = AdamHyper {
        weight_decay: 0.5,
        ..AdamHyper::default()
    };
    let program = model.train_step(ROWS, &hp, STEP_SEED);
    let lv = model.layout.tensor("logvar_x").offset;
    let (data, perm) = step_data();
    let params = init_params(&model, 3);
    assert_eq!(params[lv], -1.5);
    let mut cm = CpuModel::new(&model, params.clone());
    let mut io = CpuIo {
        data: data.clone(),
        perm: perm.clone(),
        state: [0, 0, 0, 0],
        history: vec![0.0; 4],
    };
    exec::run(&program, &mut cm, &mut CpuActs::new(&model, ROWS), &mut io);
    assert_eq!(cm.params[lv], -1.5, "cpu: the fixed variance moved");
    assert_ne!(cm.params[0], params[0], "cpu: the step moved nothing");

    let Some(ctx) = gpu() else { return };
    let set = Dataset {
        images: data,
        labels: None,
        count: 6,
        height: 4,
        width: 5,
        channels: 1,
    };
    let gm = GpuModel::new(ctx, &model, &params, LinearVariant::Reg4x4).unwrap();
    let acts = GpuActs::new(ctx, &model, ROWS).unwrap();
    let io = StepIo {
        data: upload_dataset(ctx, &set).unwrap(),
        perm: up(ctx, &perm),
        state: state(ctx, 0, 0, 0),
        history: out(ctx, 4),
    };
    recorder::run(ctx, &program, &gm, &acts, &io).unwrap();
    let after = read(ctx, &gm.params);
    assert_eq!(after[lv], -1.5, "gpu: the fixed variance moved");
    assert_ne!(after[0], params[0], "gpu: the step moved nothing");
}
