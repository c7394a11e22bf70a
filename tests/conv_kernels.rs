//! Every conv op on the GPU against its CPU reference (`cpu::conv`), both kinds, on shapes that
//! divide neither the 8x8 block nor the 64-wide workgroup: odd sizes, non-square images, stride
//! 1, 2 and 3, padding 0, 1 and 2, kernels 3, 4 and 5, 1, 2, 3 and 17 input channels, 1 and 9
//! output channels, batch 1 to 7, and the conv VAE's own layers at a smaller batch.

mod common;

use common::{all_close, geom, gpu, random, read, up};
use wgvae::cpu::conv as cpu;
use wgvae::cpu::ops::Act;
use wgvae::gpu::conv as gconv;
use wgvae::gpu::ops::{self, Dispatch};
use wgvae::gpu::Kernel;
use wgvae::shape::ConvGeom;

/// (batch, in_ch, out_ch, in_h, in_w, kernel, stride, pad)
type Shape = (usize, usize, usize, usize, usize, usize, usize, usize);

/// Each used as a conv and, with its channels swapped and the input at the conv's output size,
/// as a conv-transpose.
const SHAPES: [Shape; 11] = [
    (1, 1, 1, 5, 5, 3, 1, 0),
    (5, 3, 7, 9, 11, 3, 1, 1),
    (6, 1, 9, 13, 13, 4, 2, 1),
    (1, 3, 5, 10, 7, 4, 2, 0),
    (5, 3, 4, 7, 7, 3, 2, 1),
    (2, 2, 3, 8, 8, 5, 3, 2),
    (7, 17, 1, 6, 5, 3, 1, 1),
    (1, 3, 9, 3, 3, 3, 2, 2),
    (1, 2, 9, 4, 6, 2, 2, 0),
    // the conv VAE's layers: 28x28x1 -> 14x14x32 -> 7x7x64, batch reduced from 128 (batch 5
    // still gives the gradient kernels 70 rows, so some invocations sum two)
    (5, 1, 32, 28, 28, 4, 2, 1),
    (2, 32, 64, 14, 14, 4, 2, 1),
];

fn geometries() -> Vec<ConvGeom> {
    let mut out = Vec::new();
    for &(n, ci, co, h, w, k, s, p) in &SHAPES {
        let conv = geom(n, ci, co, h, w, k, s, p, false);
        out.push(conv);
        out.push(geom(n, co, ci, conv.out_h(), conv.out_w(), k, s, p, true));
    }
    out
}

/// Sums of `terms` products of values in [-1, 1], accumulated in the same order on both sides;
/// a GPU may fuse each multiply-add (one rounding instead of two), so the two can drift apart by
/// up to about one ulp of the running sum per term. The running sum stays below ~sqrt(terms)
/// for these random inputs, so 1e-7 per term (~ 0.8 ulp of a sum of 1) with a floor is ample; a
/// wrong tap or channel gives errors of order 1. (On lavapipe every op matches the CPU bit for
/// bit, except sigmoid, whose exp differs by an ulp.)
fn atol(terms: usize) -> f32 {
    1e-7 * terms as f32 + 1e-6
}

/// Products summed per output element of each op, for the tolerance.
struct Terms {
    /// conv forward, conv-transpose backward-input: every tap of every channel.
    direct: usize,
    /// conv backward-input, conv-transpose forward: the taps of one stride phase.
    transposed: usize,
    /// weight gradients: every pixel of the small side of the batch.
    weight: usize,
}

fn terms(g: &ConvGeom) -> Terms {
    let (a, b, small) = if g.transposed {
        (g.in_ch, g.out_ch, g.in_h * g.in_w)
    } else {
        (g.out_ch, g.in_ch, g.out_h() * g.out_w())
    };
    let phase_taps = g.kernel.div_ceil(g.stride).pow(2);
    Terms {
        direct: b * g.kernel * g.kernel,
        transposed: a * phase_taps,
        weight: g.batch * small,
    }
}

fn name(g: &ConvGeom) -> String {
    format!(
        "{} b{} {}x{}x{} -> {}x{}x{} k{} s{} p{}",
        if g.transposed { "conv_t" } else { "conv" },
        g.batch,
        g.in_ch,
        g.in_h,
        g.in_w,
        g.out_ch,
        g.out_h(),
        g.out_w(),
        g.kernel,
        g.stride,
        g.pad
    )
}

#[test]
fn forward_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    let acts = [Act::None, Act::Relu, Act::Sigmoid];
    for (i, g) in geometries().iter().enumerate() {
        let act = acts[i % 3];
        let x = random(g.input_len(), -1.0, 1.0, 10 + i as u64);
        let w = random(g.weight_len(), -1.0, 1.0, 20 + i as u64);
        let b = random(g.out_ch, -1.0, 1.0, 30 + i as u64);
        let mut want = vec![0.0; g.output_len()];
        // The output starts as garbage: forward overwrites it.
        let yv = up(ctx, &random(g.output_len(), -9.0, 9.0, 40 + i as u64));
        let (xv, wv, bv) = (up(ctx, &x), up(ctx, &w), up(ctx, &b));
        let (d, tol) = if g.transposed {
            cpu::conv_transpose2d_forward(&mut want, &x, &w, &b, g, act);
            let d = gconv::conv_transpose2d_forward(ctx, &yv, &xv, &wv, &bv, g, act).unwrap();
            (d, atol(terms(g).transposed))
        } else {
            cpu::conv2d_forward(&mut want, &x, &w, &b, g, act);
            let d = gconv::conv2d_forward(ctx, &yv, &xv, &wv, &bv, g, act).unwrap();
            (d, atol(terms(g).direct))
        };
        ops::run(ctx, &[&d]).unwrap();
        all_close(
            &format!("forward {} {act:?}", name(g)),
            &read(ctx, &yv),
            &want,
            tol,
            1e-5,
        );
    }
}

#[test]
fn backward_input_matches_cpu_with_and_without_mask_and_accumulate() {
    let Some(ctx) = gpu() else { return };
    for (i, g) in geometries().iter().enumerate() {
        let dy = random(g.output_len(), -1.0, 1.0, 100 + i as u64);
        let w = random(g.weight_len(), -1.0, 1.0, 200 + i as u64);
        // A relu output as the mask: about half the entries are zero.
        let mask: Vec<f32> = random(g.input_len(), -1.0, 1.0, 300 + i as u64)
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        let prior = random(g.input_len(), -1.0, 1.0, 400 + i as u64);
        let (dyv, wv, maskv) = (up(ctx, &dy), up(ctx, &w), up(ctx, &mask));
        for (masked, accumulate) in [(false, false), (true, true), (true, false), (false, true)] {
            let relu_mask = masked.then_some(&mask[..]);
            let mut want = prior.clone();
            let dxv = up(ctx, &prior);
            let (d, tol) = if g.transposed {
                cpu::conv_transpose2d_backward_input(&mut want, &dy, &w, relu_mask, g, accumulate);
                let d = gconv::conv_transpose2d_backward_input(
                    ctx,
                    &dxv,
                    &dyv,
                    &wv,
                    masked.then_some(&maskv),
                    g,
                    accumulate,
                )
                .unwrap();
                (d, atol(terms(g).direct))
            } else {
                cpu::conv2d_backward_input(&mut want, &dy, &w, relu_mask, g, accumulate);
                let d = gconv::conv2d_backward_input(
                    ctx,
                    &dxv,
                    &dyv,
                    &wv,
                    masked.then_some(&maskv),
                    g,
                    accumulate,
                )
                .unwrap();
                (d, atol(terms(g).transposed))
            };
            ops::run(ctx, &[&d]).unwrap();
            all_close(
                &format!(
                    "backward_input {} mask={masked} accumulate={accumulate}",
                    name(g)
                ),
                &read(ctx, &dxv),
                &want,
                tol,
                1e-5,
            );
        }
    }
}

#[test]
fn backward_weight_and_bias_match_cpu() {
    let Some(ctx) = gpu() else { return };
    for (i, g) in geometries().iter().enumerate() {
        let dy = random(g.output_len(), -1.0, 1.0, 500 + i as u64);
        let x = random(g.input_len(), -1.0, 1.0, 600 + i as u64);
        let prior_dw = random(g.weight_len(), -1.0, 1.0, 700 + i as u64);
        let prior_db = random(g.out_ch, -1.0, 1.0, 800 + i as u64);
        let (dyv, xv) = (up(ctx, &dy), up(ctx, &x));
        for accumulate in [false, true] {
            let mut want_dw = prior_dw.clone();
            let mut want_db = prior_db.clone();
            let (dwv, dbv) = (up(ctx, &prior_dw), up(ctx, &prior_db));
            let dw = if g.transposed {
                cpu::conv_transpose2d_backward_weight(&mut want_dw, &dy, &x, g, accumulate);
                gconv::conv_transpose2d_backward_weight(ctx, &dwv, &dyv, &xv, g, accumulate)
            } else {
                cpu::conv2d_backward_weight(&mut want_dw, &dy, &x, g, accumulate);
                gconv::conv2d_backward_weight(ctx, &dwv, &dyv, &xv, g, accumulate)
            }
            .unwrap();
            cpu::conv_backward_bias(&mut want_db, &dy, g, accumulate);
            let db = gconv::conv_backward_bias(ctx, &dbv, &dyv, g, accumulate).unwrap();
            // a weight gradient may be two passes (conv_weight_grad_sg, then the sum)
            let mut work: Vec<&Dispatch> = dw.iter().collect();
            work.push(&db);
            ops::run(ctx, &work).unwrap();
            let tag = format!("{} accumulate={accumulate}", name(g));
            all_close(
                &format!("backward_weight {tag}"),
                &read(ctx, &dwv),
                &want_dw,
                atol(terms(g).weight),
                1e-5,
            );
            // Plain additions in the CPU's order: only the final rounding of each may differ
            // (none expected), so the bound is a few ulps.
            all_close(
                &format!("backward_bias {tag}"),
                &read(ctx, &dbv),
                &want_db,
                1e-6,
                1e-6,
            );
        }
    }
}

#[test]
fn gradients_over_more_than_65535_terms_are_complete() {
    // Mesa 22.3's llvmpipe stops a shader invocation after 65,535 loop iterations: a kernel
    // that summed a whole 300x300 image in one invocation returned 65535 for 90000 ones.
    let Some(ctx) = gpu() else { return };
    for g in [
        geom(1, 1, 2, 300, 300, 3, 1, 1, false),
        geom(2, 2, 1, 100, 160, 4, 2, 1, true),
    ] {
        let dy = random(g.output_len(), 0.0, 1.0, 1);
        let x = random(g.input_len(), 0.0, 1.0, 2);
        let (mut dw, mut db) = (vec![0.0; g.weight_len()], vec![0.0; g.out_ch]);
        if g.transposed {
            cpu::conv_transpose2d_backward_weight(&mut dw, &dy, &x, &g, false);
        } else {
            cpu::conv2d_backward_weight(&mut dw, &dy, &x, &g, false);
        }
        cpu::conv_backward_bias(&mut db, &dy, &g, false);
        let (dyv, xv) = (up(ctx, &dy), up(ctx, &x));
        let (dwv, dbv) = (up(ctx, &dw), up(ctx, &db));
        let d1 = if g.transposed {
            gconv::conv_transpose2d_backward_weight(ctx, &dwv, &dyv, &xv, &g, false)
        } else {
            gconv::conv2d_backward_weight(ctx, &dwv, &dyv, &xv, &g, false)
        }
        .unwrap();
        let d2 = gconv::conv_backward_bias(ctx, &dbv, &dyv, &g, false).unwrap();
        let mut work: Vec<&Dispatch> = d1.iter().collect();
        work.push(&d2);
        ops::run(ctx, &work).unwrap();
        // sums of ~1e5 positive terms of mean 1/4 (or 1/2): values ~ 2e4, same order both sides
        let terms = terms(&g).weight;
        all_close(
            &format!("long dw {}", name(&g)),
            &read(ctx, &dwv),
            &dw,
            atol(terms),
            1e-5,
        );
        all_close(
            &format!("long db {}", name(&g)),
            &read(ctx, &dbv),
            &db,
            atol(terms),
            1e-5,
        );
    }
}

#[test]
fn conv_ops_repeat_bit_for_bit() {
    // Fixed-order reductions and no atomics: the same inputs give the same bits every run.
    let Some(ctx) = gpu() else { return };
    for g in [
        geom(5, 3, 9, 13, 11, 4, 2, 1, false),
        geom(5, 9, 3, 7, 6, 4, 2, 1, true),
    ] {
        let dy = up(ctx, &random(g.output_len(), -1.0, 1.0, 1));
        let x = up(ctx, &random(g.input_len(), -1.0, 1.0, 2));
        let w = up(ctx, &random(g.weight_len(), -1.0, 1.0, 3));
        let run_once = || {
            let dw = up(ctx, &vec![0.0f32; g.weight_len()]);
            let dx = up(ctx, &vec![0.0f32; g.input_len()]);
            let db = up(ctx, &vec![0.0f32; g.out_ch]);
            let (a, b) = if g.transposed {
                (
                    gconv::conv_transpose2d_backward_weight(ctx, &dw, &dy, &x, &g, false),
                    gconv::conv_transpose2d_backward_input(ctx, &dx, &dy, &w, None, &g, false),
                )
            } else {
                (
                    gconv::conv2d_backward_weight(ctx, &dw, &dy, &x, &g, false),
                    gconv::conv2d_backward_input(ctx, &dx, &dy, &w, None, &g, false),
                )
            };
            let c = gconv::conv_backward_bias(ctx, &db, &dy, &g, false).unwrap();
            let (a, b) = (a.unwrap(), b.unwrap());
            let mut work: Vec<&Dispatch> = a.iter().collect();
            work.extend([&b, &c]);
            ops::run(ctx, &work).unwrap();
            (read(ctx, &dw), read(ctx, &dx), read(ctx, &db))
        };
        let first = run_once();
        for _ in 0..3 {
            let again = run_once();
            assert!(
                first
                    .0
                    .iter()
                    .zip(&again.0)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
                    && first
                        .1
                        .iter()
                        .zip(&again.1)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                    && first
                        .2
                        .iter()
                        .zip(&again.2)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{}: a rerun changed some bits",
                name(&g)
            );
        }
    }
}

#[test]
fn conv_reads_parameters_at_offsets() {
    // Weights and biases live at 256-byte-aligned offsets of one flat parameter buffer.
    let Some(ctx) = gpu() else { return };
    let g = geom(3, 3, 5, 9, 8, 3, 2, 1, false);
    let (wl, bl) = (g.weight_len(), g.out_ch);
    let (w_at, b_at) = (64, 64 * (2 + wl.div_ceil(64)));
    let flat = random(b_at + 64, -1.0, 1.0, 9);
    let x = random(g.input_len(), -1.0, 1.0, 10);
    let mut want = vec![0.0; g.output_len()];
    cpu::conv2d_forward(
        &mut want,
        &x,
        &flat[w_at..w_at + wl],
        &flat[b_at..b_at + bl],
        &g,
        Act::Relu,
    );
    let fv = up(ctx, &flat);
    let yv = up(ctx, &vec![0.0f32; g.output_len()]);
    let d = gconv::conv2d_forward(
        ctx,
        &yv,
        &up(ctx, &x),
        &fv.sub(w_at as u64, wl as u64),
        &fv.sub(b_at as u64, bl as u64),
        &g,
        Act::Relu,
    )
    .unwrap();
    ops::run(ctx, &[&d]).unwrap();
    all_close("conv at offsets", &read(ctx, &yv), &want, atol(27), 1e-5);
}

#[test]
fn conv_builders_reject_wrong_kind_and_short_buffers() {
    let Some(ctx) = gpu() else { return };
    let g = geom(2, 3, 4, 8, 8, 3, 1, 1, false);
    let big = up(ctx, &vec![0.0f32; 4096]);
    let small = up(ctx, &[0.0f32; 10]);
    let err = gconv::conv2d_forward(ctx, &small, &big, &big, &big, &g, Act::None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("conv2d_forward") && err.contains("y holds 10 elements, needs 512"),
        "{err}"
    );
    let err = gconv::conv_transpose2d_forward(ctx, &big, &big, &big, &big, &g, Act::None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("conv_transpose2d_forward") && err.contains("transposed"),
        "{err}"
    );
    let bad = ConvGeom { kernel: 11, ..g };
    let err = gconv::conv2d_backward_weight(ctx, &big, &big, &big, &bad, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("output"), "{err}");
    // 5000 input channels x 16 taps is one loop of 80,000 iterations per output: refused, as
    // llvmpipe would cut it short.
    let wide = geom(1, 5000, 1, 4, 4, 4, 1, 0, false);
    let huge = up(ctx, &vec![0.0f32; 80_000]);
    let err = gconv::conv2d_forward(ctx, &huge, &huge, &huge, &huge, &wide, Act::None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("conv2d_forward") && err.contains("loop"),
        "{err}"
    );
}

#[test]
fn the_conv_vae_layers_take_the_subgroup_kernels_where_they_run() {
    // where they run (subgroups on a CPU adapter such as lavapipe), the tests above check the
    // subgroup kernels at these shapes; tests/without_subgroups.rs checks the plain ones
    let Some(ctx) = gpu() else { return };
    let broadcasts = ctx.subgroups && ctx.info.device_type == wgpu::DeviceType::Cpu;
    let g = geom(2, 32, 64, 14, 14, 4, 2, 1, false);
    let (x, w, b) = (
        up(ctx, &vec![0.0f32; g.input_len()]),
        up(ctx, &vec![0.0f32; g.weight_len()]),
        up(ctx, &vec![0.0f32; g.out_ch]),
    );
    let y = up(ctx, &vec![0.0f32; g.output_len()]);
    let fwd = gconv::conv2d_forward(ctx, &y, &x, &w, &b, &g, Act::Relu).unwrap();
    let dw = gconv::conv2d_backward_weight(ctx, &w, &y, &x, &g, false).unwrap();
    let kernels: Vec<Kernel> = dw.iter().map(|d| d.kernel).collect();
    if broadcasts {
        assert_eq!(fwd.kernel, Kernel::ConvDirectSg16x16);
        assert_eq!(
            kernels,
            [Kernel::ConvWeightGradSg, Kernel::ConvWeightGradSum]
        );
    } else {
        assert_eq!(fwd.kernel, Kernel::ConvDirect16x16);
        assert_eq!(kernels, [Kernel::ConvWeightGrad]);
    }
}

/// `conv_transposed_phases_8` (kernel 4, stride 2, into one or two channels): padding 0, 1 and
/// 2, odd and even sizes, 1, 2 and 17 small-side channels, through both ops that use it (the
/// transposed conv's forward with bias and each activation, the conv's input gradient with a
/// relu mask and accumulation). Its sums run in another order than the CPU twin's (a, then
/// the taps), so the tolerance is that of a sum in any order.
#[test]
fn one_channel_transposed_convs_match_cpu() {
    let Some(ctx) = gpu() else { return };
    let acts = [Act::None, Act::Relu, Act::Sigmoid];
    // (batch, small channels, large channels, large h, large w, pad)
    let cases = [
        (3, 5, 1, 13, 11, 1),
        (2, 17, 2, 10, 9, 0),
        (1, 3, 1, 7, 16, 2),
        (4, 32, 1, 28, 28, 1),
    ];
    for (i, &(n, a, b, lh, lw, p)) in cases.iter().enumerate() {
        // the conv from the large side to the small side, and its transpose
        let conv = geom(n, b, a, lh, lw, 4, 2, p, false);
        let (sh, sw) = (conv.out_h(), conv.out_w());
        let up_conv = geom(n, a, b, sh, sw, 4, 2, p, true);
        // (the transpose's large side is lh x lw rounded down to even: the conv's input
        // gradient covers the odd sides)
        let terms = (a * 4) as f32;
        let tol = 3e-7 * terms + 1e-6;
        let act = acts[i % 3];
        let x = random(up_conv.input_len(), -1.0, 1.0, 900 + i as u64);
        let w = random(up_conv.weight_len(), -1.0, 1.0, 910 + i as u64);
        let bias = random(b, -1.0, 1.0, 920 + i as u64);
        let mut want = vec![0.0; up_conv.output_len()];
        cpu::conv_transpose2d_forward(&mut want, &x, &w, &bias, &up_conv, act);
        let yv = up(
            ctx,
            &random(up_conv.output_len(), -9.0, 9.0, 930 + i as u64),
        );
        let d = gconv::conv_transpose2d_forward(
            ctx,
            &yv,
            &up(ctx, &x),
            &up(ctx, &w),
            &up(ctx, &bias),
            &up_conv,
            act,
        )
        .unwrap();
        assert_eq!(d.kernel, Kernel::ConvTransposedPhases8, "case {i}");
        ops::run(ctx, &[&d]).unwrap();
        all_close(
            &format!("forward case {i}"),
            &read(ctx, &yv),
            &want,
            tol,
            1e-5,
        );
        // the conv's input gradient: dy on the small side, w as the conv's [a, b, 4, 4]
        let mask: Vec<f32> = random(conv.input_len(), -1.0, 1.0, 940 + i as u64)
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        let prior = random(conv.input_len(), -1.0, 1.0, 950 + i as u64);
        for (masked, accumulate) in [(false, false), (true, true)] {
            let mut want = prior.clone();
            let relu_mask = masked.then_some(&mask[..]);
            cpu::conv2d_backward_input(&mut want, &x, &w, relu_mask, &conv, accumulate);
            let dxv = up(ctx, &prior);
            let maskv = up(ctx, &mask);
            let d = gconv::conv2d_backward_input(
                ctx,
                &dxv,
                &up(ctx, &x),
                &up(ctx, &w),
                masked.then_some(&maskv),
                &conv,
                accumulate,
            )
            .unwrap();
            assert_eq!(d.kernel, Kernel::ConvTransposedPhases8, "case {i}");
            ops::run(ctx, &[&d]).unwrap();
            all_close(
                &format!("backward_input case {i} mask={masked} accumulate={accumulate}"),
                &read(ctx, &dxv),
                &want,
                tol,
                1e-5,
            );
        }
    }
}
