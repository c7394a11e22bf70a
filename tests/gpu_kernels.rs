//! Every WGSL kernel and variant on the GPU against its CPU reference, on shapes that do not
//! divide the workgroup sizes. One device for the whole binary (tests/common).

mod common;

use common::{all_close, gpu, out, random, read, state, up};
use wgvae::cpu::ops::{self as cpu, Act, AdamHyper};
use wgvae::cpu::rng;
use wgvae::gpu::buffers;
use wgvae::gpu::ops::{self, LinearVariant};

/// Batch 1 and 128 and sizes 1, 7, 33, 129, 400, 784 for (m, k, n); the model's layers
/// (n = 20, 40, 400, 784), and multiples of 4 that leave ragged 8x8 blocks (m = 3, 127, k = 12,
/// n = 4, 36) for reg8x8, which falls back to reg4x4's kernels where k or n is not a multiple of 4.
const LINEAR_SHAPES: [(usize, usize, usize); 16] = [
    (1, 1, 1),
    (1, 784, 400),
    (7, 33, 129),
    (33, 7, 1),
    (129, 129, 33),
    (128, 784, 400),
    (128, 400, 20),
    (128, 20, 400),
    (128, 400, 784),
    (400, 1, 7),
    (3, 784, 40),
    (127, 400, 40),
    (1, 20, 4),
    (3, 12, 36),
    (127, 36, 12),
    (9, 784, 402),
];

/// Sums of k products of values in [-1, 1], accumulated in another order (and with FMA) on
/// the GPU: the difference grows with k, about k f32 ulps of a partial sum of size ~1.
fn matmul_atol(k: usize) -> f32 {
    2e-6 * k as f32 + 1e-6
}

#[test]
fn linear_forward_variants_match_cpu() {
    let Some(ctx) = gpu() else { return };
    let acts = [Act::None, Act::Relu, Act::Sigmoid];
    for (i, &(m, k, n)) in LINEAR_SHAPES.iter().enumerate() {
        let act = acts[i % 3];
        let x = random(m * k, -1.0, 1.0, 1 + i as u64);
        let w = random(n * k, -1.0, 1.0, 100 + i as u64);
        let b = random(n, -1.0, 1.0, 200 + i as u64);
        let mut want = vec![0.0; m * n];
        cpu::linear_forward(&mut want, &x, &w, &b, m, k, n, act);
        let (xv, wv, bv) = (up(ctx, &x), up(ctx, &w), up(ctx, &b));
        for variant in LinearVariant::on(ctx.subgroups) {
            let yv = out(ctx, m * n);
            let d = ops::linear_forward(ctx, variant, &yv, &xv, &wv, &bv, m, k, n, act).unwrap();
            ops::run(ctx, &[&d]).unwrap();
            let what = format!("linear_forward {} {m}x{k}->{n} {act:?}", variant.name());
            all_close(&what, &read(ctx, &yv), &want, matmul_atol(k), 1e-5);
        }
    }
}

#[test]
fn linear_forward_reads_tensors_at_offsets() {
    // Parameters live at 256-byte-aligned offsets of one flat buffer.
    let Some(ctx) = gpu() else { return };
    let (m, k, n) = (7, 33, 9);
    let flat = random(64 + n * k + 64 * 6, -1.0, 1.0, 5);
    let x = random(m * k, -1.0, 1.0, 6);
    let (w, b) = (&flat[64..64 + n * k], &flat[64 * 6..64 * 6 + n]);
    let mut want = vec![0.0; m * n];
    cpu::linear_forward(&mut want, &x, w, b, m, k, n, Act::Relu);
    let fv = up(ctx, &flat);
    let (wv, bv) = (fv.sub(64, (n * k) as u64), fv.sub(64 * 6, n as u64));
    for variant in LinearVariant::on(ctx.subgroups) {
        let yv = out(ctx, m * n);
        let d = ops::linear_forward(
            ctx,
            variant,
            &yv,
            &up(ctx, &x),
            &wv,
            &bv,
            m,
            k,
            n,
            Act::Relu,
        )
        .unwrap();
        ops::run(ctx, &[&d]).unwrap();
        all_close(
            &format!("offset views {}", variant.name()),
            &read(ctx, &yv),
            &want,
            matmul_atol(k),
            1e-5,
        );
    }
}

#[test]
fn linear_forward_rejects_short_buffers() {
    let Some(ctx) = gpu() else { return };
    let small = out(ctx, 10);
    let err = ops::linear_forward(
        ctx,
        LinearVariant::Tiled,
        &small,
        &small,
        &small,
        &small,
        4,
        4,
        4,
        Act::None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("linear_forward") && err.contains("needs 16"),
        "{err}"
    );
}

#[test]
fn linear_backward_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, &(m, k, n)) in LINEAR_SHAPES.iter().enumerate() {
        let dy = random(m * n, -1.0, 1.0, 300 + i as u64);
        let w = random(n * k, -1.0, 1.0, 400 + i as u64);
        let x = random(m * k, -1.0, 1.0, 500 + i as u64);
        // A relu output as the mask: about half the entries are zero.
        let mask: Vec<f32> = random(m * k, -1.0, 1.0, 600 + i as u64)
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        let prior_dx = random(m * k, -1.0, 1.0, 700 + i as u64);
        let prior_dw = random(n * k, -1.0, 1.0, 800 + i as u64);
        let prior_db = random(n, -1.0, 1.0, 900 + i as u64);
        let accumulate = i % 2 == 1;
        let masked = i % 3 != 0;

        let mut want_dx = prior_dx.clone();
        cpu::linear_backward_input(
            &mut want_dx,
            &dy,
            &w,
            masked.then_some(&mask[..]),
            m,
            k,
            n,
            accumulate,
        );
        let mut want_dw = prior_dw.clone();
        cpu::linear_backward_weight(&mut want_dw, &dy, &x, m, k, n, accumulate);
        let mut want_db = prior_db.clone();
        cpu::linear_backward_bias(&mut want_db, &dy, m, n, accumulate);

        let (dyv, wv, xv, maskv) = (up(ctx, &dy), up(ctx, &w), up(ctx, &x), up(ctx, &mask));
        for variant in LinearVariant::on(ctx.subgroups) {
            let (dxv, dwv) = (up(ctx, &prior_dx), up(ctx, &prior_dw));
            let d1 = ops::linear_backward_input(
                ctx,
                variant,
                &dxv,
                &dyv,
                &wv,
                masked.then_some(&maskv),
                m,
                k,
                n,
                accumulate,
            )
            .unwrap();
            let d2 = ops::linear_backward_weight(
                ctx, variant, &dwv, None, &dyv, &xv, m, k, n, accumulate,
            )
            .unwrap();
            ops::run(ctx, &[&d1, &d2]).unwrap();
            let tag = format!(
                "{} {m}x{k}->{n} accumulate={accumulate} mask={masked}",
                variant.name()
            );
            all_close(
                &format!("backward_input {tag}"),
                &read(ctx, &dxv),
                &want_dx,
                matmul_atol(n),
                1e-5,
            );
            all_close(
                &format!("backward_weight {tag}"),
                &read(ctx, &dwv),
                &want_dw,
                matmul_atol(m),
                1e-5,
            );
            if ops::linear_folds_bias(variant, k, n) {
                // the weight gradient with the bias gradient folded in: the same dW, and db
                // summed in backward_bias's order
                let (dwv, dbv) = (up(ctx, &prior_dw), up(ctx, &prior_db));
                let d = ops::linear_backward_weight(
                    ctx,
                    variant,
                    &dwv,
                    Some(&dbv),
                    &dyv,
                    &xv,
                    m,
                    k,
                    n,
                    accumulate,
                )
                .unwrap();
                ops::run(ctx, &[&d]).unwrap();
                all_close(
                    &format!("backward_weight with bias {tag}"),
                    &read(ctx, &dwv),
                    &want_dw,
                    matmul_atol(m),
                    1e-5,
                );
                all_close(
                    &format!("folded backward_bias {tag}"),
                    &read(ctx, &dbv),
                    &want_db,
                    1e-6,
                    1e-6,
                );
            } else {
                let db = up(ctx, &prior_db);
                let e = ops::linear_backward_weight(
                    ctx,
                    variant,
                    &dwv,
                    Some(&db),
                    &dyv,
                    &xv,
                    m,
                    k,
                    n,
                    accumulate,
                );
                assert!(e.is_err(), "{tag}: no kernel folds the bias here");
            }
        }
        let dbv = up(ctx, &prior_db);
        let d3 = ops::linear_backward_bias(ctx, &dbv, &dyv, m, n, accumulate).unwrap();
        ops::run(ctx, &[&d3]).unwrap();
        let tag = format!("{m}x{k}->{n} accumulate={accumulate}");
        // Same order of additions as the CPU: only rounding-free differences are allowed.
        all_close(
            &format!("backward_bias {tag}"),
            &read(ctx, &dbv),
            &want_db,
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn act_backward_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 400, 784, 128 * 784].iter().enumerate() {
        for act in [Act::None, Act::Relu, Act::Sigmoid] {
            let dy = random(n, -1.0, 1.0, i as u64);
            let pre = random(n, -3.0, 3.0, 50 + i as u64);
            let y: Vec<f32> = pre.iter().map(|&v| act.apply(v)).collect();
            let mut want = vec![0.0; n];
            cpu::act_backward(&mut want, &dy, &y, n, act);
            let dz = out(ctx, n);
            let d = ops::act_backward(ctx, &dz, &up(ctx, &dy), &up(ctx, &y), n, act).unwrap();
            ops::run(ctx, &[&d]).unwrap();
            all_close(
                &format!("act_backward {act:?} n={n}"),
                &read(ctx, &dz),
                &want,
                1e-7,
                1e-6,
            );
        }
    }
}

#[test]
fn philox_gpu_matches_known_answers_and_cpu() {
    let Some(ctx) = gpu() else { return };
    let mut input: Vec<u32> = Vec::new();
    let mut want: Vec<u32> = Vec::new();
    for (counter, key, expected) in common::philox_kat() {
        input.extend_from_slice(&counter);
        input.extend_from_slice(&key);
        want.extend_from_slice(&expected);
    }
    assert_eq!(want.len(), 12, "three known-answer vectors");
    // Plus 997 pseudo-random counters and keys checked against the CPU implementation.
    let mut x = 0x1234_5678u32;
    for _ in 0..997 {
        let mut block = [0u32; 6];
        for w in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *w = x;
        }
        input.extend_from_slice(&block);
        want.extend_from_slice(&rng::philox4x32_10(
            [block[0], block[1], block[2], block[3]],
            [block[4], block[5]],
        ));
    }
    let blocks = input.len() / 6;
    let outv = out(ctx, blocks * 4);
    let d = ops::philox_raw(ctx, &outv, &up(ctx, &input), blocks).unwrap();
    ops::run(ctx, &[&d]).unwrap();
    let got: Vec<u32> = buffers::read(ctx, &outv).unwrap();
    for b in 0..blocks {
        assert_eq!(
            got[4 * b..4 * b + 4],
            want[4 * b..4 * b + 4],
            "Philox block {b}, input {:08x?}",
            &input[6 * b..6 * b + 6]
        );
    }
}

/// Vulkan lets sin and cos err by 2^-11 absolute and log by a few ulps; the Box-Muller radius
/// is below 5.8 for 24-bit uniforms, so normals may differ by up to ~3e-3 on a conforming GPU.
const NORMAL_ATOL: f32 = 3e-3;

#[test]
fn reparam_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 400, 784, 128 * 20].iter().enumerate() {
        let (seed, step, stream) = (0x0123_4567_89ab_cdefu64 + i as u64, 17 + i as u32, 3u32);
        let mu = random(n, -2.0, 2.0, i as u64);
        let logvar = random(n, -3.0, 1.0, 10 + i as u64);
        let dz = random(n, -1.0, 1.0, 20 + i as u64);
        let (mut z, mut eps) = (vec![0.0; n], vec![0.0; n]);
        cpu::reparam_forward(&mut z, &mut eps, &mu, &logvar, step, n, seed, stream);
        let (mut dmu, mut dlv) = (vec![0.0; n], vec![0.0; n]);
        cpu::reparam_backward(&mut dmu, &mut dlv, &dz, &eps, &logvar, n);

        let (muv, lvv, zv, epsv) = (up(ctx, &mu), up(ctx, &logvar), out(ctx, n), out(ctx, n));
        let (dmuv, dlvv) = (out(ctx, n), out(ctx, n));
        let st = state(ctx, step, 0, 0);
        let f = ops::reparam_forward(ctx, &zv, &epsv, &muv, &lvv, &st, n, seed, stream).unwrap();
        let b = ops::reparam_backward(ctx, &dmuv, &dlvv, &up(ctx, &dz), &epsv, &lvv, n).unwrap();
        ops::run(ctx, &[&f, &b]).unwrap();
        all_close(
            &format!("eps n={n}"),
            &read(ctx, &epsv),
            &eps,
            NORMAL_ATOL,
            1e-5,
        );
        all_close(
            &format!("z n={n}"),
            &read(ctx, &zv),
            &z,
            NORMAL_ATOL * 1.7,
            1e-5,
        );
        all_close(&format!("dmu n={n}"), &read(ctx, &dmuv), &dmu, 0.0, 0.0);
        all_close(
            &format!("dlogvar n={n}"),
            &read(ctx, &dlvv),
            &dlv,
            NORMAL_ATOL,
            1e-5,
        );
    }
}

#[test]
fn reparam_noise_depends_on_seed_step_and_stream() {
    let Some(ctx) = gpu() else { return };
    let n = 64;
    let zeros = up(ctx, &vec![0.0f32; n]);
    let draw = |seed: u64, step: u32, stream: u32| {
        let (zv, epsv) = (out(ctx, n), out(ctx, n));
        let st = state(ctx, step, 0, 0);
        let d =
            ops::reparam_forward(ctx, &zv, &epsv, &zeros, &zeros, &st, n, seed, stream).unwrap();
        ops::run(ctx, &[&d]).unwrap();
        read(ctx, &epsv)
    };
    let base = draw(1, 0, 0);
    assert_eq!(base, draw(1, 0, 0), "same key, same numbers");
    for other in [draw(2, 0, 0), draw(1, 1, 0), draw(1, 0, 1)] {
        let same = base.iter().zip(&other).filter(|(a, b)| a == b).count();
        assert!(
            same == 0,
            "{same} of {n} normals repeat under a different key"
        );
    }
    let mean = base.iter().sum::<f32>() / n as f32;
    assert!(mean.abs() < 0.5, "mean of 64 standard normals is {mean}");
}

/// The fused forward the training recorder uses gives exactly what reparam_forward and
/// kl_forward give on the GPU (the same expressions), at every element.
#[test]
fn reparam_kl_forward_equals_the_two_kernels() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 128 * 20].iter().enumerate() {
        let (seed, step, stream) = (5 + i as u64, 3, 1);
        let (muv, lvv) = (
            up(ctx, &random(n, -2.0, 2.0, i as u64)),
            up(ctx, &random(n, -4.0, 2.0, 10 + i as u64)),
        );
        let st = state(ctx, step, 0, 0);
        let (z1, e1, k1) = (out(ctx, n), out(ctx, n), out(ctx, n));
        let f = ops::reparam_forward(ctx, &z1, &e1, &muv, &lvv, &st, n, seed, stream).unwrap();
        let k = ops::kl_forward(ctx, &k1, &muv, &lvv, n).unwrap();
        let (z2, e2, k2) = (out(ctx, n), out(ctx, n), out(ctx, n));
        let fused =
            ops::reparam_kl_forward(ctx, &z2, &e2, &k2, &muv, &lvv, &st, n, seed, stream).unwrap();
        ops::run(ctx, &[&f, &k, &fused]).unwrap();
        assert_eq!(read(ctx, &z1), read(ctx, &z2), "z n={n}");
        assert_eq!(read(ctx, &e1), read(ctx, &e2), "eps n={n}");
        assert_eq!(read(ctx, &k1), read(ctx, &k2), "kl n={n}");
    }
}

/// The fused backward the training recorder uses equals the CPU's reparam_backward followed by
/// kl_backward (the ops it replaces), with kl_backward's tolerances.
#[test]
fn reparam_kl_backward_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 400, 784, 128 * 20].iter().enumerate() {
        let mu = random(n, -2.0, 2.0, i as u64);
        let logvar = random(n, -4.0, 2.0, 10 + i as u64);
        let dz = random(n, -1.0, 1.0, 20 + i as u64);
        let eps = random(n, -3.0, 3.0, 30 + i as u64);
        let scale = 0.75;
        let (mut dmu, mut dlv) = (vec![0.0; n], vec![0.0; n]);
        cpu::reparam_backward(&mut dmu, &mut dlv, &dz, &eps, &logvar, n);
        cpu::kl_backward(&mut dmu, &mut dlv, &mu, &logvar, n, scale);
        let (dmuv, dlvv) = (out(ctx, n), out(ctx, n));
        let (muv, lvv) = (up(ctx, &mu), up(ctx, &logvar));
        let b = ops::reparam_kl_backward(
            ctx,
            &dmuv,
            &dlvv,
            &up(ctx, &dz),
            &up(ctx, &eps),
            &muv,
            &lvv,
            n,
            scale,
        )
        .unwrap();
        ops::run(ctx, &[&b]).unwrap();
        all_close(&format!("dmu n={n}"), &read(ctx, &dmuv), &dmu, 1e-6, 1e-5);
        all_close(
            &format!("dlogvar n={n}"),
            &read(ctx, &dlvv),
            &dlv,
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn kl_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 400, 784, 128 * 20].iter().enumerate() {
        let mu = random(n, -2.0, 2.0, i as u64);
        let logvar = random(n, -4.0, 2.0, 10 + i as u64);
        let prior_dmu = random(n, -1.0, 1.0, 20 + i as u64);
        let prior_dlv = random(n, -1.0, 1.0, 30 + i as u64);
        let scale = 0.75;
        let mut kl = vec![0.0; n];
        cpu::kl_forward(&mut kl, &mu, &logvar, n);
        let (mut dmu, mut dlv) = (prior_dmu.clone(), prior_dlv.clone());
        cpu::kl_backward(&mut dmu, &mut dlv, &mu, &logvar, n, scale);
        let (muv, lvv, klv) = (up(ctx, &mu), up(ctx, &logvar), out(ctx, n));
        let (dmuv, dlvv) = (up(ctx, &prior_dmu), up(ctx, &prior_dlv));
        let f = ops::kl_forward(ctx, &klv, &muv, &lvv, n).unwrap();
        let b = ops::kl_backward(ctx, &dmuv, &dlvv, &muv, &lvv, n, scale).unwrap();
        ops::run(ctx, &[&f, &b]).unwrap();
        all_close(&format!("kl n={n}"), &read(ctx, &klv), &kl, 1e-6, 1e-5);
        all_close(
            &format!("kl dmu n={n}"),
            &read(ctx, &dmuv),
            &dmu,
            1e-6,
            1e-5,
        );
        all_close(
            &format!("kl dlogvar n={n}"),
            &read(ctx, &dlvv),
            &dlv,
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn kl_handles_more_than_65535_workgroups() {
    // 4.2M elements need a 2-D grid: the flat index must cover every element exactly once.
    let Some(ctx) = gpu() else { return };
    let n = 65535 * 64 + 4099;
    let mu: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 1e-3).collect();
    let logvar = vec![0.0f32; n];
    let mut want = vec![0.0; n];
    cpu::kl_forward(&mut want, &mu, &logvar, n);
    let klv = out(ctx, n);
    let d = ops::kl_forward(ctx, &klv, &up(ctx, &mu), &up(ctx, &logvar), n).unwrap();
    assert!(d.groups[1] > 1, "expected a 2-D grid, got {:?}", d.groups);
    ops::run(ctx, &[&d]).unwrap();
    all_close("kl 2-D grid", &read(ctx, &klv), &want, 1e-6, 1e-5);
}

#[test]
fn bce_matches_cpu_including_extreme_logits() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 400, 784, 128 * 784].iter().enumerate() {
        let mut logits = random(n, -10.0, 10.0, i as u64);
        if n > 4 {
            logits[0] = 80.0;
            logits[1] = -80.0;
            logits[2] = 0.0;
        }
        let x = random(n, 0.0, 1.0, 10 + i as u64);
        let (mut loss, mut grad) = (vec![0.0; n], vec![0.0; n]);
        cpu::bce_forward(&mut loss, &mut grad, &logits, &x, n, 1.0);
        assert!(loss.iter().all(|l| l.is_finite()), "CPU BCE overflowed");
        let (lv, gv) = (out(ctx, n), out(ctx, n));
        let d = ops::bce_forward(ctx, &lv, &gv, &up(ctx, &logits), &up(ctx, &x), n, 1.0).unwrap();
        ops::run(ctx, &[&d]).unwrap();
        all_close(
            &format!("bce loss n={n}"),
            &read(ctx, &lv),
            &loss,
            1e-5,
            1e-5,
        );
        all_close(
            &format!("bce grad n={n}"),
            &read(ctx, &gv),
            &grad,
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn gaussian_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 400, 784, 128 * 784].iter().enumerate() {
        let mean = random(n, -0.5, 1.5, i as u64);
        let x = random(n, 0.0, 1.0, 10 + i as u64);
        let logvar_x = [-1.3f32];
        let (mut loss, mut dmean, mut dlv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        cpu::gaussian_forward(
            &mut loss, &mut dmean, &mut dlv, &mean, &x, &logvar_x, n, 0.5,
        );
        let (lv, dmv, dlvv) = (out(ctx, n), out(ctx, n), out(ctx, n));
        let d = ops::gaussian_forward(
            ctx,
            &lv,
            &dmv,
            &dlvv,
            &up(ctx, &mean),
            &up(ctx, &x),
            &up(ctx, &logvar_x),
            n,
            0.5,
        )
        .unwrap();
        ops::run(ctx, &[&d]).unwrap();
        all_close(
            &format!("gaussian loss n={n}"),
            &read(ctx, &lv),
            &loss,
            1e-5,
            1e-5,
        );
        all_close(
            &format!("gaussian dmean n={n}"),
            &read(ctx, &dmv),
            &dmean,
            1e-6,
            1e-5,
        );
        all_close(
            &format!("gaussian dlogvar n={n}"),
            &read(ctx, &dlvv),
            &dlv,
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn sum_rows_matches_cpu_and_repeats_exactly() {
    let Some(ctx) = gpu() else { return };
    for &(rows, cols) in &[
        (1usize, 1usize),
        (7, 33),
        (128, 784),
        (1, 128 * 784),
        (129, 20),
        (400, 7),
    ] {
        let src = random(rows * cols, -1.0, 1.0, (rows * 31 + cols) as u64);
        let mut want = vec![0.0; rows];
        cpu::sum_rows(&mut want, &src, rows, cols);
        let srcv = up(ctx, &src);
        let runs: Vec<Vec<f32>> = (0..2)
            .map(|_| {
                let dst = out(ctx, rows);
                let d = ops::sum_rows(ctx, &dst, &srcv, rows, cols).unwrap();
                ops::run(ctx, &[&d]).unwrap();
                read(ctx, &dst)
            })
            .collect();
        assert_eq!(
            runs[0], runs[1],
            "sum_rows {rows}x{cols} differs between runs"
        );
        // The CPU performs the same additions in the same order; adds are correctly rounded.
        all_close(
            &format!("sum_rows {rows}x{cols}"),
            &runs[0],
            &want,
            1e-6,
            1e-6,
        );
    }
    // rows whose sum only the documented order gets right (see cpu_reference.rs)
    let mut src = vec![0.0f32; 130];
    src[0] = 1e8;
    src[64] = -1e8;
    src[1..64].iter_mut().for_each(|v| *v = 1.0);
    src[65] = 1e8;
    src[65 + 32] = -1e8;
    src[66] = 1.0;
    let dst = out(ctx, 2);
    let d = ops::sum_rows(ctx, &dst, &up(ctx, &src), 2, 65).unwrap();
    ops::run(ctx, &[&d]).unwrap();
    assert_eq!(read(ctx, &dst), [63.0, 1.0], "sum_rows order on the GPU");
    // the same rows padded to 68 columns, a multiple of 4 (sum_rows_sg where subgroups run),
    // and partial 4's 1e8 meeting partial 20's -1e8 at the tree's second level, across lanes
    let cols = 68;
    let mut src = vec![0.0f32; 3 * cols];
    src[0] = 1e8;
    src[64] = -1e8;
    src[1..64].iter_mut().for_each(|v| *v = 1.0);
    src[cols] = 1e8;
    src[cols + 32] = -1e8;
    src[cols + 1] = 1.0;
    src[2 * cols + 4] = 1e8;
    src[2 * cols + 20] = -1e8;
    src[2 * cols + 3] = 1.0;
    let mut want = vec![0.0; 3];
    cpu::sum_rows(&mut want, &src, 3, cols);
    assert_eq!(want, [63.0, 1.0, 1.0], "the CPU twin's order");
    let dst = out(ctx, 3);
    let d = ops::sum_rows(ctx, &dst, &up(ctx, &src), 3, cols).unwrap();
    ops::run(ctx, &[&d]).unwrap();
    assert_eq!(
        read(ctx, &dst),
        want,
        "sum_rows order on the GPU, 68 columns"
    );
}

#[test]
fn record_loss_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    let rows = 129;
    let recon = random(rows, 50.0, 150.0, 1);
    let kl = random(rows, 5.0, 30.0, 2);
    let mut want = vec![0.0; 12];
    cpu::record_loss(&mut want, &recon, &kl, 2, rows, 0.5);
    let hv = out(ctx, 12);
    let d = ops::record_loss(
        ctx,
        &hv,
        &up(ctx, &recon),
        &up(ctx, &kl),
        &state(ctx, 9, 0, 2),
        rows,
        0.5,
    )
    .unwrap();
    ops::run(ctx, &[&d]).unwrap();
    all_close("record_loss", &read(ctx, &hv), &want, 0.0, 0.0);
}

#[test]
fn adam_matches_cpu_over_several_steps() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 7, 33, 129, 400, 784, 100_000].iter().enumerate() {
        let hp = AdamHyper {
            lr: 1e-2,
            weight_decay: if i % 2 == 0 { 0.0 } else { 0.01 },
            ..AdamHyper::default()
        };
        let mut p = random(n, -1.0, 1.0, i as u64);
        let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
        let (pv, mv, vv) = (up(ctx, &p), out(ctx, n), out(ctx, n));
        let st = state(ctx, 0, 0, 0);
        let adv = ops::advance_step(ctx, &st, 0).unwrap();
        for step in 0..3u32 {
            let g = random(n, -1.0, 1.0, 100 * (step as u64 + 1) + i as u64);
            cpu::adam_step(&mut p, &g, &mut m, &mut v, step, n, &hp);
            let d = ops::adam_step(ctx, &pv, &up(ctx, &g), &mv, &vv, &st, n, &hp).unwrap();
            ops::run(ctx, &[&d, &adv]).unwrap();
        }
        let tag = format!("n={n} wd={}", hp.weight_decay);
        all_close(
            &format!("adam params {tag}"),
            &read(ctx, &pv),
            &p,
            1e-6,
            1e-5,
        );
        all_close(&format!("adam m {tag}"), &read(ctx, &mv), &m, 1e-7, 1e-5);
        all_close(&format!("adam v {tag}"), &read(ctx, &vv), &v, 1e-8, 1e-5);
        let steps: Vec<u32> = buffers::read(ctx, &st).unwrap();
        assert_eq!(steps[0], 3, "advance_step counted the steps");
    }
}

#[test]
fn gather_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for &(count, dim, rows, cursor) in &[
        (10usize, 7usize, 3usize, 2usize),
        (300, 784, 128, 33),
        (5, 1, 1, 4),
        (50, 33, 7, 0),
        (9, 12, 5, 3),
    ] {
        let data: Vec<u8> = (0..count * dim).map(|i| (i * 37 % 251) as u8).collect();
        let perm: Vec<u32> = (0..count as u32).rev().collect();
        let mut want = vec![0.0; rows * dim];
        cpu::gather_batch(&mut want, &data, &perm, cursor, rows, dim);
        let mut padded = data.clone();
        padded.resize(data.len().div_ceil(4) * 4, 0);
        let words: Vec<u32> = bytemuck::cast_slice(&padded).to_vec();
        let outv = out(ctx, rows * dim);
        let st = state(ctx, 0, cursor as u32, 0);
        let d = ops::gather_batch(
            ctx,
            &outv,
            &up(ctx, &words),
            &up(ctx, &perm),
            &st,
            rows,
            dim,
        )
        .unwrap();
        ops::run(ctx, &[&d]).unwrap();
        all_close(
            &format!("gather {count}x{dim} rows {rows} at {cursor}"),
            &read(ctx, &outv),
            &want,
            0.0,
            0.0,
        );
    }
}

/// llvmpipe silently stops a shader after 65,535 loop iterations: builders whose kernel would
/// loop longer refuse with an error saying so, and shapes just inside the limit still build.
#[test]
fn builders_refuse_loops_past_the_driver_limit() {
    let Some(ctx) = gpu() else { return };
    let cols = 64 * 65_535;
    let long = out(ctx, cols);
    let dst = out(ctx, 1);
    let e = ops::sum_rows(ctx, &dst, &long, 1, cols).unwrap_err();
    assert!(e.to_string().contains("65535"), "{e}");
    // just inside the limit the kernel still sums every term (ones: exact in f32)
    let cols = 64 * 65_000;
    let ones = up(ctx, &vec![1.0f32; cols]);
    let d = ops::sum_rows(ctx, &dst, &ones, 1, cols).unwrap();
    ops::run(ctx, &[&d]).unwrap();
    assert_eq!(read(ctx, &dst), [cols as f32], "a long row summed in full");

    let m = 70_000;
    let (dy, x, dw) = (out(ctx, m), out(ctx, 4 * m), out(ctx, 4));
    let v = LinearVariant::Reg4x4;
    let e = ops::linear_backward_weight(ctx, v, &dw, None, &dy, &x, m, 4, 1, false).unwrap_err();
    assert!(e.to_string().contains("smaller batch"), "{e}");
    let db = out(ctx, 1);
    let e = ops::linear_backward_bias(ctx, &db, &dy, m, 1, false).unwrap_err();
    assert!(e.to_string().contains("smaller batch"), "{e}");
    assert!(ops::linear_backward_weight(ctx, v, &dw, None, &dy, &x, 60_000, 4, 1, false).is_ok());
}

/// probe.wgsl's two kernels (the peaks `bench kernels` divides by) against their CPU twins:
/// every chain of `fma_peak` ran all its rounds, and `copy_vec4` moved every value, on a grid
/// past one row of workgroups.
#[test]
fn probe_kernels_match_cpu() {
    use wgvae::gpu::probe;
    let Some(ctx) = gpu() else { return };
    let (invocations, rounds) = (4099, 37);
    let fma_out = out(ctx, 4 * invocations);
    let d = probe::fma_peak(ctx, &fma_out, invocations, rounds).unwrap();
    ops::run(ctx, &[&d]).unwrap();
    let got = read(ctx, &fma_out);
    let want: Vec<f32> = (0..invocations)
        .flat_map(|i| {
            wgvae::cpu::probe::fma_peak(i as u32, rounds as u32, probe::FMA_M, probe::FMA_C)
        })
        .collect();
    // the same multiply-adds in the same order; a fused multiply-add rounds once, not twice
    all_close("fma_peak", &got, &want, 1e-6, 1e-6);

    let vec4s = 65535 * 64 / 4 + 3;
    let src = random(4 * vec4s, -1.0, 1.0, 7);
    let dst = out(ctx, 4 * vec4s);
    let d = probe::copy_vec4(ctx, &dst, &up(ctx, &src), vec4s).unwrap();
    ops::run(ctx, &[&d]).unwrap();
    let mut want = vec![0.0; 4 * vec4s];
    wgvae::cpu::probe::copy_vec4(&mut want, &src);
    assert_eq!(read(ctx, &dst), want, "copy_vec4 lost values");
}
