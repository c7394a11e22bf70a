//! Restoration's programs and methods: every method gives the same images on the GPU as on the
//! CPU reference (identity and blur operators, MLP and conv models); the MAP step's gradient
//! matches finite differences of the objective it claims to minimise; conjugate gradients
//! solves the blur posterior's linear system; the element-wise restore kernels match their twins.

mod common;

use common::{all_close, gpu, random};
use wgvae::config::{Likelihood, ModelConfig};
use wgvae::cpu::ops::AdamHyper;
use wgvae::model::init::init_params;
use wgvae::model::program::Op;
use wgvae::model::Model;
use wgvae::restore::blur::{self, Psf};
use wgvae::restore::engine::{CpuEngine, Engine, GpuEngine};
use wgvae::restore::methods::{restore_batch, Method, Observations, Settings};

/// What an engine's future gives, waited for (the CPU's and native GPU's are ready at once).
fn wait<T>(f: impl std::future::Future<Output = T>) -> T {
    wgvae::gpu::blocking::wait(f).expect("native callers may wait")
}
use wgvae::restore::program::{Operator, PixelVariance, CG_VARIANCE_FLOOR};

fn small_mlp() -> ModelConfig {
    ModelConfig {
        height: 9,
        width: 11,
        hidden: vec![32],
        latent: 5,
        ..ModelConfig::default()
    }
}

fn small_conv() -> ModelConfig {
    ModelConfig {
        height: 8,
        width: 8,
        channels: 3,
        conv_channels: vec![6, 4],
        hidden: vec![24],
        latent: 4,
        likelihood: Likelihood::Gaussian,
        gaussian_logvar: -2.0,
        ..ModelConfig::conv_default()
    }
}

/// Few steps; four codes per image for the importance-weighted posterior.
fn quick_settings() -> Settings {
    Settings {
        samples: 4,
        map_steps: 12,
        impute_steps: 3,
        cg_iters: 15,
        ..Settings::default()
    }
}

/// Observations for `rows` images: a third unknown, the rest with precision 1 / 0.1^2.
fn observations(cfg: &ModelConfig, rows: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let d = cfg.input_dim();
    let obs = random(rows * d, 0.0, 1.0, seed);
    let w = (0..rows * d)
        .map(|i| {
            if (i * 7 + seed as usize).is_multiple_of(3) {
                0.0
            } else {
                100.0
            }
        })
        .collect();
    (obs, w)
}

fn check_methods_match(cfg: ModelConfig, psf: Option<Psf>) {
    let Some(ctx) = gpu() else { return };
    let model = Model::new(&cfg).unwrap();
    let params = init_params(&model, 3);
    let rows = 5;
    let (obs, w) = observations(&cfg, rows, 4);
    let o = Observations {
        obs: &obs,
        w: &w,
        psf: psf.as_ref(),
    };
    let settings = quick_settings();
    let engine_rows = settings.rows_for(rows);
    let mut cpu = CpuEngine::new(&model, params.clone(), engine_rows);
    let want = wait(restore_batch(&mut cpu, &Method::ALL, &settings, &o)).unwrap();
    let mut gpu_engine = GpuEngine::new(ctx, &model, &params, engine_rows).unwrap();
    let got = wait(restore_batch(&mut gpu_engine, &Method::ALL, &settings, &o)).unwrap();
    for ((m, g), w) in Method::ALL.iter().zip(&got).zip(&want) {
        assert!(
            w.iter().all(|v| v.is_finite()),
            "{}: CPU not finite",
            m.name()
        );
        let spread = w.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        assert!(spread > 0.0, "{}: all zero", m.name());
        all_close(m.name(), g, w, 2e-4 * spread.max(1.0), 2e-3);
    }
}

#[test]
fn every_method_matches_the_cpu_on_an_mlp() {
    check_methods_match(small_mlp(), None);
}

#[test]
fn every_method_matches_the_cpu_under_a_blur() {
    check_methods_match(small_mlp(), Some(Psf::motion(5, 30.0).unwrap()));
}

#[test]
fn every_method_matches_the_cpu_on_a_colour_conv_model_under_a_blur() {
    check_methods_match(small_conv(), Some(Psf::gaussian(1.0, 5).unwrap()));
}

/// The objective map_step descends, computed on the host from the CPU decoder's means.
fn objective(
    cpu: &mut CpuEngine,
    z: &[f32],
    obs: &[f32],
    w: &[f32],
    psf: Option<&Psf>,
    rows: usize,
) -> f64 {
    let model = cpu.model().clone();
    let cfg = &model.cfg;
    cpu.write(model.acts.z, z).unwrap();
    cpu.run(&model.decode_mean(rows), 1, 0).unwrap();
    let mean = wait(cpu.read(model.acts.restore.mean, obs.len())).unwrap();
    let pred = match psf {
        Some(p) => blur::blur(p, &mean, rows * cfg.channels, cfg.height, cfg.width),
        None => mean,
    };
    let prior: f64 = z.iter().map(|&v| 0.5 * (v as f64).powi(2)).sum();
    let fit: f64 = pred
        .iter()
        .zip(obs)
        .zip(w)
        .map(|((&p, &o), &w)| 0.5 * w as f64 * ((p - o) as f64).powi(2))
        .sum();
    prior + fit
}

#[test]
fn the_map_step_follows_the_gradient_of_its_objective() {
    for (cfg, psf) in [
        (small_mlp(), None),
        (small_mlp(), Some(Psf::motion(3, 60.0).unwrap())),
        (small_conv(), Some(Psf::gaussian(1.0, 3).unwrap())),
    ] {
        let model = Model::new(&cfg).unwrap();
        let rows = 2;
        let mut cpu = CpuEngine::new(&model, init_params(&model, 5), rows);
        let (obs, w) = observations(&cfg, rows, 6);
        let w: Vec<f32> = w.iter().map(|v| v / 100.0).collect();
        let r = &model.acts.restore;
        cpu.write(r.obs, &obs).unwrap();
        cpu.write(r.w, &w).unwrap();
        let op = match &psf {
            Some(p) => {
                cpu.write(r.psf, &p.weights).unwrap();
                Operator::blur(p)
            }
            None => Operator::IDENTITY,
        };
        let z = random(rows * cfg.latent, -1.0, 1.0, 7);
        cpu.write(model.acts.z, &z).unwrap();
        // the step up to (not including) Adam and the advance: leaves the gradient in dz
        let program = model.map_step(rows, op, &AdamHyper::default());
        let grad_only: Vec<Op> = program[..program.len() - 2].to_vec();
        assert!(matches!(program[program.len() - 2], Op::AdamOn { .. }));
        cpu.run(&grad_only, 1, 0).unwrap();
        let dz = wait(cpu.read(model.acts.dz, z.len())).unwrap();
        let h = 1e-2f32;
        for k in 0..z.len() {
            let mut zp = z.clone();
            zp[k] += h;
            let mut zm = z.clone();
            zm[k] -= h;
            let fd = (objective(&mut cpu, &zp, &obs, &w, psf.as_ref(), rows)
                - objective(&mut cpu, &zm, &obs, &w, psf.as_ref(), rows))
                / (2.0 * h as f64);
            let tol = 2e-3 * (1.0 + fd.abs());
            assert!(
                (dz[k] as f64 - fd).abs() < tol,
                "{:?} z[{k}]: analytic {} vs finite difference {fd}",
                cfg.arch,
                dz[k]
            );
        }
    }
}

#[test]
fn conjugate_gradients_solve_the_blur_posterior_system() {
    let cfg = small_mlp();
    let model = Model::new(&cfg).unwrap();
    let rows = 3;
    let d = cfg.input_dim();
    let mut cpu = CpuEngine::new(&model, init_params(&model, 8), rows);
    let (obs, w) = observations(&cfg, rows, 9);
    let psf = Psf::gaussian(1.2, 5).unwrap();
    let r = &model.acts.restore;
    cpu.write(r.obs, &obs).unwrap();
    cpu.write(r.w, &w).unwrap();
    cpu.write(r.psf, &psf.weights).unwrap();
    cpu.write(model.acts.z, &random(rows * cfg.latent, -1.0, 1.0, 10))
        .unwrap();
    let var = PixelVariance {
        scale: 0.5,
        floor: 1e-6,
    };
    cpu.run(
        &model.posterior_mean(rows, Operator::blur(&psf), var, 60),
        1,
        0,
    )
    .unwrap();
    let x = wait(cpu.read(model.acts.x, rows * d)).unwrap();
    let mean = wait(cpu.read(r.mean, rows * d)).unwrap();
    let v = wait(cpu.read(r.var, rows * d)).unwrap();
    // (A^T W A + V^-1) u = A^T W (obs - A mean), u = x - mean
    let (c, h, wd) = (rows * cfg.channels, cfg.height, cfg.width);
    let u: Vec<f32> = x.iter().zip(&mean).map(|(a, b)| a - b).collect();
    let au = blur::blur(&psf, &u, c, h, wd);
    let wau: Vec<f32> = au.iter().zip(&w).map(|(a, w)| a * w).collect();
    let mut lhs = blur::blur_adjoint(&psf, &wau, c, h, wd);
    for i in 0..lhs.len() {
        lhs[i] += u[i] / v[i].max(CG_VARIANCE_FLOOR);
    }
    let am = blur::blur(&psf, &mean, c, h, wd);
    let wres: Vec<f32> = (0..am.len()).map(|i| w[i] * (obs[i] - am[i])).collect();
    let rhs = blur::blur_adjoint(&psf, &wres, c, h, wd);
    let scale = rhs.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
    assert!(scale > 1.0, "a trivial system");
    all_close("(A^T W A + V^-1) u", &lhs, &rhs, 1e-3 * scale, 0.0);
}

#[test]
fn the_identity_posterior_is_the_per_pixel_blend_and_keeps_known_pixels_when_noise_is_small() {
    let cfg = small_mlp();
    let model = Model::new(&cfg).unwrap();
    let rows = 2;
    let d = cfg.input_dim();
    let mut cpu = CpuEngine::new(&model, init_params(&model, 1), rows);
    let (obs, w) = observations(&cfg, rows, 2);
    let w: Vec<f32> = w.iter().map(|&v| if v > 0.0 { 1e8 } else { 0.0 }).collect();
    let r = &model.acts.restore;
    cpu.write(r.obs, &obs).unwrap();
    cpu.write(r.w, &w).unwrap();
    cpu.write(model.acts.z, &random(rows * cfg.latent, -1.0, 1.0, 3))
        .unwrap();
    let var = PixelVariance {
        scale: 1.0,
        floor: 1e-4,
    };
    cpu.run(
        &model.posterior_mean(rows, Operator::IDENTITY, var, 0),
        1,
        0,
    )
    .unwrap();
    let x = wait(cpu.read(model.acts.x, rows * d)).unwrap();
    let mean = wait(cpu.read(r.mean, rows * d)).unwrap();
    for i in 0..rows * d {
        let want = if w[i] > 0.0 { obs[i] } else { mean[i] };
        assert!((x[i] - want).abs() < 1e-3, "pixel {i}: {} vs {want}", x[i]);
    }
}

/// A denoising VAE's restoration (`restore::denoiser`): with no MAP steps the posterior is the
/// per-pixel blend of the observation and the encode-decode of it, and a prefilled observation
/// is what the encoder reads (a flat fill of the unknown pixels otherwise).
#[test]
fn with_no_map_steps_the_posterior_blends_the_observation_with_its_reconstruction() {
    let cfg = small_conv();
    let model = Model::new(&cfg).unwrap();
    let rows = 3;
    let d = cfg.input_dim();
    let mut cpu = CpuEngine::new(&model, init_params(&model, 5), rows);
    let (obs, w) = observations(&cfg, rows, 6);
    let o = Observations {
        obs: &obs,
        w: &w,
        psf: None,
    };
    let scale = 0.02;
    let base = Settings {
        map_steps: 0,
        var: PixelVariance { scale, floor: 1e-6 },
        ..Settings::default()
    };
    let methods = [Method::Posterior, Method::Project];
    for prefilled in [false, true] {
        let s = Settings {
            prefilled,
            ..base.clone()
        };
        let out = wait(restore_batch(&mut cpu, &methods, &s, &o)).unwrap();
        let (post, mean) = (&out[0], &out[1]);
        for i in 0..rows * d {
            let vw = scale * w[i];
            let want = (vw * obs[i] + mean[i]) / (vw + 1.0);
            assert!(
                (post[i] - want).abs() < 1e-4,
                "pixel {i}: {} vs {want}",
                post[i]
            );
        }
    }
    // the encoder's input differs between the two starts, so their reconstructions do too
    let flat = wait(restore_batch(&mut cpu, &[Method::Project], &base, &o)).unwrap();
    let filled = Settings {
        prefilled: true,
        ..base.clone()
    };
    let kept = wait(restore_batch(&mut cpu, &[Method::Project], &filled, &o)).unwrap();
    let differ = flat[0]
        .iter()
        .zip(&kept[0])
        .filter(|(a, b)| (*a - *b).abs() > 1e-5);
    assert!(differ.count() > d, "prefilled start ignored");
}
