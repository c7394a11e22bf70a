//! The CPU reference on its own: every backward function against central finite differences
//! (f64 accumulation of the probe loss), and Philox4x32-10 against Random123's known answers.

mod common;

use common::random;
use wgvae::cpu::ops::{self as cpu, Act};
use wgvae::cpu::rng;

/// Probe loss L = sum_i g_i out_i, accumulated in f64 so unchanged elements cancel exactly.
fn probe(out: &[f32], g: &[f32]) -> f64 {
    out.iter().zip(g).map(|(&o, &w)| o as f64 * w as f64).sum()
}

/// Checks `analytic` (dL/dinput) against central differences of `loss` over each element of
/// `input`. Differences are taken in f32 with step h; tolerance covers O(h^2) truncation and
/// f32 rounding of the perturbed outputs.
fn check_gradient(
    what: &str,
    input: &[f32],
    analytic: &[f32],
    h: f32,
    tol: f64,
    loss: impl Fn(&[f32]) -> f64,
) {
    let mut x = input.to_vec();
    for i in 0..x.len() {
        let orig = x[i];
        x[i] = orig + h;
        let plus = loss(&x);
        x[i] = orig - h;
        let minus = loss(&x);
        x[i] = orig;
        let numeric = (plus - minus) / (2.0 * h as f64);
        let a = analytic[i] as f64;
        let err = (numeric - a).abs();
        assert!(
            err <= tol * (1.0 + a.abs()),
            "{what}: element {i}: analytic {a} vs finite difference {numeric} (error {err})"
        );
    }
}

#[test]
fn linear_backward_matches_finite_differences() {
    let (m, k, n) = (3, 5, 4);
    let x = random(m * k, -1.0, 1.0, 1);
    let w = random(n * k, -1.0, 1.0, 2);
    let b = random(n, -1.0, 1.0, 3);
    let g = random(m * n, -1.0, 1.0, 4);
    let forward = |x: &[f32], w: &[f32], b: &[f32]| {
        let mut y = vec![0.0; m * n];
        cpu::linear_forward(&mut y, x, w, b, m, k, n, Act::None);
        probe(&y, &g)
    };
    let mut dx = vec![0.0; m * k];
    cpu::linear_backward_input(&mut dx, &g, &w, None, m, k, n, false);
    let mut dw = vec![0.0; n * k];
    cpu::linear_backward_weight(&mut dw, &g, &x, m, k, n, false);
    let mut db = vec![0.0; n];
    cpu::linear_backward_bias(&mut db, &g, m, n, false);
    check_gradient("dX", &x, &dx, 1e-2, 1e-4, |x| forward(x, &w, &b));
    check_gradient("dW", &w, &dw, 1e-2, 1e-4, |w| forward(&x, w, &b));
    check_gradient("db", &b, &db, 1e-2, 1e-4, |b| forward(&x, &w, b));

    // accumulate adds onto what is there
    let mut acc = vec![1.0; n];
    cpu::linear_backward_bias(&mut acc, &g, m, n, true);
    for o in 0..n {
        assert!((acc[o] - (1.0 + db[o])).abs() < 1e-6, "accumulate at {o}");
    }
}

#[test]
fn relu_folded_into_backward_input_matches_finite_differences() {
    // A -> relu -> linear: dA = (g W) * [relu(A) > 0], the mask being the relu output.
    let (m, k, n) = (4, 6, 3);
    // keep |A| >= 0.1 so a step of 1e-2 never crosses the kink
    let a: Vec<f32> = random(m * k, -1.0, 1.0, 5)
        .into_iter()
        .map(|v| {
            if v.abs() < 0.1 {
                v.signum() * 0.1 + v
            } else {
                v
            }
        })
        .collect();
    let w = random(n * k, -1.0, 1.0, 6);
    let b = random(n, -1.0, 1.0, 7);
    let g = random(m * n, -1.0, 1.0, 8);
    let loss = |a: &[f32]| {
        let h: Vec<f32> = a.iter().map(|&v| Act::Relu.apply(v)).collect();
        let mut y = vec![0.0; m * n];
        cpu::linear_forward(&mut y, &h, &w, &b, m, k, n, Act::None);
        probe(&y, &g)
    };
    let h: Vec<f32> = a.iter().map(|&v| Act::Relu.apply(v)).collect();
    let mut da = vec![0.0; m * k];
    cpu::linear_backward_input(&mut da, &g, &w, Some(&h), m, k, n, false);
    assert!(
        da.contains(&0.0) && da.iter().any(|&v| v != 0.0),
        "mask had an effect"
    );
    check_gradient("dA through relu", &a, &da, 1e-2, 1e-4, loss);
}

#[test]
fn fused_activation_backward_matches_finite_differences() {
    let n = 17;
    let pre: Vec<f32> = random(n, -3.0, 3.0, 9)
        .into_iter()
        .map(|v| if v.abs() < 0.1 { v + 0.2 } else { v })
        .collect();
    let g = random(n, -1.0, 1.0, 10);
    for act in [Act::None, Act::Relu, Act::Sigmoid] {
        let y: Vec<f32> = pre.iter().map(|&v| act.apply(v)).collect();
        let mut dz = vec![0.0; n];
        cpu::act_backward(&mut dz, &g, &y, n, act);
        check_gradient(&format!("act {act:?}"), &pre, &dz, 1e-2, 1e-3, |p| {
            let y: Vec<f32> = p.iter().map(|&v| act.apply(v)).collect();
            probe(&y, &g)
        });
    }
}

#[test]
fn reparam_backward_matches_finite_differences() {
    let n = 13;
    let mu = random(n, -1.0, 1.0, 11);
    let logvar = random(n, -2.0, 1.0, 12);
    let g = random(n, -1.0, 1.0, 13);
    let forward = |mu: &[f32], lv: &[f32]| {
        let (mut z, mut eps) = (vec![0.0; n], vec![0.0; n]);
        cpu::reparam_forward(&mut z, &mut eps, mu, lv, 5, n, 42, 0);
        (z, eps)
    };
    let (_, eps) = forward(&mu, &logvar);
    let (mut dmu, mut dlv) = (vec![0.0; n], vec![0.0; n]);
    cpu::reparam_backward(&mut dmu, &mut dlv, &g, &eps, &logvar, n);
    check_gradient("reparam dmu", &mu, &dmu, 1e-2, 1e-4, |mu| {
        probe(&forward(mu, &logvar).0, &g)
    });
    check_gradient("reparam dlogvar", &logvar, &dlv, 1e-2, 1e-3, |lv| {
        probe(&forward(&mu, lv).0, &g)
    });
}

#[test]
fn kl_backward_matches_finite_differences() {
    let n = 11;
    let mu = random(n, -2.0, 2.0, 14);
    let logvar = random(n, -3.0, 2.0, 15);
    let scale = 0.7;
    let ones = vec![scale; n];
    let kl = |mu: &[f32], lv: &[f32]| {
        let mut k = vec![0.0; n];
        cpu::kl_forward(&mut k, mu, lv, n);
        probe(&k, &ones)
    };
    let (mut dmu, mut dlv) = (vec![0.0; n], vec![0.0; n]);
    cpu::kl_backward(&mut dmu, &mut dlv, &mu, &logvar, n, scale);
    check_gradient("kl dmu", &mu, &dmu, 1e-2, 1e-3, |mu| kl(mu, &logvar));
    check_gradient("kl dlogvar", &logvar, &dlv, 1e-2, 1e-3, |lv| kl(&mu, lv));
    // KL of the prior itself is zero and has zero gradient.
    let mut k = vec![1.0; 3];
    cpu::kl_forward(&mut k, &[0.0; 3], &[0.0; 3], 3);
    assert_eq!(k, vec![0.0; 3]);
}

#[test]
fn bce_gradient_matches_finite_differences() {
    let n = 15;
    let logits = random(n, -6.0, 6.0, 16);
    let x = random(n, 0.0, 1.0, 17);
    let ones = vec![1.0; n];
    let loss = |l: &[f32]| {
        let (mut loss, mut grad) = (vec![0.0; n], vec![0.0; n]);
        cpu::bce_forward(&mut loss, &mut grad, l, &x, n, 1.0);
        probe(&loss, &ones)
    };
    let (mut lv, mut grad) = (vec![0.0; n], vec![0.0; n]);
    cpu::bce_forward(&mut lv, &mut grad, &logits, &x, n, 1.0);
    check_gradient("bce dlogits", &logits, &grad, 1e-2, 1e-3, loss);
    // The stable form equals the textbook one where the latter is finite.
    for i in 0..n {
        let s = 1.0 / (1.0 + (-logits[i] as f64).exp());
        let textbook = -(x[i] as f64 * s.ln() + (1.0 - x[i] as f64) * (1.0 - s).ln());
        assert!(
            (lv[i] as f64 - textbook).abs() < 1e-5,
            "bce at {i}: {} vs {textbook}",
            lv[i]
        );
    }
}

#[test]
fn gaussian_gradients_match_finite_differences() {
    let n = 9;
    let mean = random(n, -0.5, 1.5, 18);
    let x = random(n, 0.0, 1.0, 19);
    let logvar_x = [-0.8f32];
    let ones = vec![1.0; n];
    let eval = |mean: &[f32], s: &[f32]| {
        let (mut l, mut dm, mut ds) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        cpu::gaussian_forward(&mut l, &mut dm, &mut ds, mean, &x, s, n, 1.0);
        (probe(&l, &ones), dm, ds)
    };
    let (_, dmean, ds) = eval(&mean, &logvar_x);
    check_gradient("gaussian dmean", &mean, &dmean, 1e-2, 1e-3, |m| {
        eval(m, &logvar_x).0
    });
    let dlogvar_total = [ds.iter().sum::<f32>()];
    check_gradient(
        "gaussian dlogvar_x",
        &logvar_x,
        &dlogvar_total,
        1e-2,
        1e-3,
        |s| eval(&mean, s).0,
    );
}

#[test]
fn sum_rows_follows_the_documented_order() {
    // Rows built so that the documented order (64 strided partial sums, then a halving tree)
    // gives an exact answer that a sequential sum loses to rounding: at 1e8 an f32 cannot
    // hold +1, so 1e8 + 1 + ... - 1e8 summed left to right is 0.
    let cols = 65;
    let mut src = vec![0.0f32; 2 * cols];
    // row 0: 1e8 and -1e8 share partial 0 (columns 0 and 64) and cancel; columns 1..=63 are 1
    src[0] = 1e8;
    src[64] = -1e8;
    for v in &mut src[1..64] {
        *v = 1.0;
    }
    // row 1: 1e8 in partial 0 and -1e8 in partial 32 meet in the tree's first level, before
    // partial 1's 1.0 joins them
    src[cols] = 1e8;
    src[cols + 32] = -1e8;
    src[cols + 1] = 1.0;
    let mut got = vec![0.0; 2];
    cpu::sum_rows(&mut got, &src, 2, cols);
    assert_eq!(got, [63.0, 1.0], "sum_rows order");
    let sequential: Vec<f32> = src.chunks(cols).map(|r| r.iter().sum()).collect();
    assert_ne!(sequential, got, "the rows must tell the orders apart");
}

#[test]
fn adam_first_step_moves_each_parameter_by_lr() {
    // With bias correction, step 1 moves every parameter by lr * sign(g) (|g| >> eps).
    let hp = cpu::AdamHyper::default();
    let mut p = vec![0.5f32, -0.25, 1.0];
    let g = [0.3f32, -2.0, 1e-3];
    let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
    cpu::adam_step(&mut p, &g, &mut m, &mut v, 0, 3, &hp);
    let want = [0.5 - 1e-3, -0.25 + 1e-3, 1.0 - 1e-3];
    for i in 0..3 {
        assert!(
            (p[i] - want[i]).abs() < 1e-6,
            "param {i}: {} vs {}",
            p[i],
            want[i]
        );
    }
}

#[test]
fn philox_matches_random123_known_answers() {
    let vectors = common::philox_kat();
    assert_eq!(vectors.len(), 3, "the reference file holds three vectors");
    for (counter, key, want) in vectors {
        assert_eq!(
            rng::philox4x32_10(counter, key),
            want,
            "counter {counter:08x?} key {key:08x?}"
        );
    }
}

#[test]
fn normals_look_standard() {
    let n = 40_000;
    let xs: Vec<f64> = (0..n).map(|i| rng::normal_at(1, 0, 0, i) as f64).collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(mean.abs() < 0.02, "mean {mean}");
    assert!((var - 1.0).abs() < 0.03, "variance {var}");
    assert!(xs.iter().all(|x| x.is_finite()));
}

#[test]
fn adam_bias_correction_is_accurate_where_pow_cancels() {
    for t in [1u32, 2, 3, 10, 100, 1000, 10_000, 100_000] {
        for beta in [0.9f32, 0.999] {
            let exact = 1.0 - (beta as f64).powf(t as f64);
            let got = cpu::one_minus_exp(t as f32 * (beta as f64).ln() as f32) as f64;
            assert!(
                (got - exact).abs() <= 4e-7 * exact,
                "t {t} beta {beta}: {got} vs {exact}"
            );
        }
    }
}

/// Runs `program` on the CPU from `params`, with `x` (u8 pixels) as the dataset gathered in
/// order and the step state at step 3; returns the model and the activations.
fn run_cpu(
    model: &wgvae::model::Model,
    params: &[f32],
    x: &[u8],
    rows: usize,
    setup: impl Fn(&mut wgvae::cpu::exec::CpuActs),
    program: &[wgvae::model::program::Op],
) -> (wgvae::cpu::exec::CpuModel, wgvae::cpu::exec::CpuActs) {
    use wgvae::cpu::exec::{self, CpuActs, CpuIo, CpuModel};
    let mut m = CpuModel::new(model, params.to_vec());
    let mut acts = CpuActs::new(model, rows);
    let mut io = CpuIo {
        data: x.to_vec(),
        perm: (0..rows as u32).collect(),
        state: [3, 0, 0, 0],
        history: vec![0.0; 4],
    };
    setup(&mut acts);
    exec::run(program, &mut m, &mut acts, &mut io);
    (m, acts)
}

/// The whole reference model: the gradient the backward program assembles from the per-op
/// backwards equals the finite difference of the total loss, for every parameter of a small
/// deep model, under both likelihoods (z's noise fixed by the Philox key).
#[test]
fn whole_model_gradient_matches_finite_differences() {
    use wgvae::config::ArchKind;
    use wgvae::config::{Likelihood, ModelConfig};
    use wgvae::model::{init::init_params, Model};
    let conv = ModelConfig {
        arch: ArchKind::Conv,
        height: 8,
        width: 4,
        channels: 3,
        conv_channels: vec![3, 2],
        hidden: vec![5],
        latent: 2,
        likelihood: Likelihood::Gaussian,
        beta: 0.7,
        learn_variance: true,
        gaussian_logvar: -0.5,
    };
    let mlp = |likelihood| ModelConfig {
        height: 3,
        width: 4,
        hidden: vec![6, 5],
        latent: 3,
        likelihood,
        beta: 0.7,
        learn_variance: true,
        gaussian_logvar: -0.5,
        ..ModelConfig::default()
    };
    for cfg in [
        mlp(Likelihood::Bernoulli),
        mlp(Likelihood::Gaussian),
        conv.clone(),
        ModelConfig {
            likelihood: Likelihood::Bernoulli,
            learn_variance: false,
            ..conv
        },
    ] {
        let likelihood = cfg.likelihood;
        let model = Model::new(&cfg).unwrap();
        let rows = 4;
        let x: Vec<u8> = random(rows * cfg.input_dim(), 0.0, 255.0, 30)
            .iter()
            .map(|&v| v as u8)
            .collect();
        let params = init_params(&model, 31);
        let mut program = model.forward_loss(rows, 9, 0);
        program.extend(model.backward(rows));
        let (trained, _) = run_cpu(&model, &params, &x, rows, |_| {}, &program);
        let forward = model.forward_loss(rows, 9, 0);
        let total = |p: &[f32]| {
            let (_, a) = run_cpu(&model, p, &x, rows, |_| {}, &forward);
            // the per-element losses summed in f64, plus beta KL
            let sum = |id| a.get(id).iter().map(|&l| l as f64).sum::<f64>();
            sum(model.acts.loss_elem) + cfg.beta as f64 * sum(model.acts.kl_elem)
        };
        // small enough that no relu in these models has a pre-activation within h of its kink
        // (a dead conv channel did at 1e-2), large enough that f32 rounding of the loss stays
        // far below the tolerance
        let h = 1e-3f32;
        for t in &model.layout.tensors {
            let r = t.range();
            let mut probe = params.clone();
            for i in r {
                let orig = probe[i];
                probe[i] = orig + h;
                let plus = total(&probe);
                probe[i] = orig - h;
                let minus = total(&probe);
                probe[i] = orig;
                let numeric = (plus - minus) / (2.0 * h as f64);
                let analytic = trained.grads[i] as f64;
                assert!(
                    (numeric - analytic).abs() <= 2e-2 * (1.0 + analytic.abs()),
                    "{:?} {likelihood:?} {}[{}]: backward {analytic} vs finite difference {numeric}",
                    cfg.arch,
                    t.name,
                    i - t.offset
                );
            }
        }
    }
}

/// Restoration's programs against finite differences: "decoder backward to z" gives
/// d<g, decoder(z)>/dz and "encoder backward to x" gives d(<a, mu(x)> + <b, logvar(x)>)/dx.
#[test]
fn restoration_programs_match_finite_differences() {
    use wgvae::config::{ArchKind, ModelConfig};
    check_restoration_programs(ModelConfig {
        height: 3,
        width: 5,
        hidden: vec![7, 6],
        latent: 4,
        ..ModelConfig::default()
    });
    check_restoration_programs(ModelConfig {
        arch: ArchKind::Conv,
        height: 4,
        width: 8,
        channels: 3,
        conv_channels: vec![4, 3],
        hidden: vec![6],
        latent: 3,
        ..ModelConfig::default()
    });
}

fn check_restoration_programs(cfg: wgvae::config::ModelConfig) {
    use wgvae::cpu::ops::Act;
    use wgvae::model::{init::init_params, Model};
    let model = Model::new(&cfg).unwrap();
    let a = model.acts.clone();
    let rows = 3;
    let params = init_params(&model, 40);
    let d = cfg.input_dim();
    let z = random(rows * cfg.latent, -1.5, 1.5, 41);
    let g = random(rows * d, -1.0, 1.0, 42);
    let decode = model.decode(rows, a.z, Act::None);
    let dot = |u: &[f32], v: &[f32]| {
        u.iter()
            .zip(v)
            .map(|(&p, &q)| p as f64 * q as f64)
            .sum::<f64>()
    };
    let decoded = |z: &[f32]| {
        let (_, acts) = run_cpu(&model, &params, &[], rows, |s| s.set(a.z, z), &decode);
        dot(acts.get(a.out()), &g)
    };
    // the gradient at dout is set after the forward, then the backward runs on its activations
    let (_, mut acts) = run_cpu(&model, &params, &[], rows, |s| s.set(a.z, &z), &decode);
    acts.set(a.dout(), &g);
    let mut m = wgvae::cpu::exec::CpuModel::new(&model, params.clone());
    let mut io = wgvae::cpu::exec::CpuIo::at_step(0, 1);
    wgvae::cpu::exec::run(
        &model.decoder_backward_to_z(rows),
        &mut m,
        &mut acts,
        &mut io,
    );
    let dz = acts.get(a.dz).to_vec();
    for i in 0..z.len() {
        let mut p = z.clone();
        p[i] += 1e-2;
        let plus = decoded(&p);
        p[i] -= 2e-2;
        let minus = decoded(&p);
        let numeric = (plus - minus) / 2e-2;
        assert!(
            (numeric - dz[i] as f64).abs() <= 1e-2 * (1.0 + numeric.abs()),
            "{:?} dz[{i}]: backward {} vs finite difference {numeric}",
            cfg.arch,
            dz[i]
        );
    }

    let x = random(rows * d, 0.0, 1.0, 43);
    let (ga, gb) = (
        random(rows * cfg.latent, -1.0, 1.0, 44),
        random(rows * cfg.latent, -1.0, 1.0, 45),
    );
    let encode = model.encode(rows);
    let encoded = |x: &[f32]| {
        let (_, acts) = run_cpu(&model, &params, &[], rows, |s| s.set(a.x, x), &encode);
        dot(acts.get(a.mu), &ga) + dot(acts.get(a.logvar), &gb)
    };
    let (_, mut acts) = run_cpu(&model, &params, &[], rows, |s| s.set(a.x, &x), &encode);
    acts.set(a.dmu, &ga);
    acts.set(a.dlogvar, &gb);
    wgvae::cpu::exec::run(
        &model.encoder_backward_to_x(rows),
        &mut m,
        &mut acts,
        &mut io,
    );
    let dx = acts.get(a.dx).to_vec();
    for i in 0..x.len() {
        let mut p = x.clone();
        p[i] += 1e-2;
        let plus = encoded(&p);
        p[i] -= 2e-2;
        let minus = encoded(&p);
        let numeric = (plus - minus) / 2e-2;
        assert!(
            (numeric - dx[i] as f64).abs() <= 1e-2 * (1.0 + numeric.abs()),
            "{:?} dx[{i}]: backward {} vs finite difference {numeric}",
            cfg.arch,
            dx[i]
        );
    }
}
