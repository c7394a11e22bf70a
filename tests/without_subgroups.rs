//! The kernels of devices without subgroups, on lavapipe (which has them): this binary's one
//! device is opened with subgroups off (`--no-subgroups`), so the plain conv blocks, the
//! barrier `sum_rows` and the linear variants other than sg16x4 are checked here against the
//! CPU, as tests/conv_kernels.rs and tests/gpu_kernels.rs check the subgroup ones.

mod common;

use common::{all_close, geom, gpu_without_subgroups as gpu, random, read, up};
use wgvae::cpu;
use wgvae::cpu::conv as cpu_conv;
use wgvae::cpu::ops::Act;
use wgvae::gpu::conv as gconv;
use wgvae::gpu::ops::{self, LinearVariant};
use wgvae::gpu::Kernel;

#[test]
fn no_subgroup_kernel_runs_and_sg16x4_is_refused_by_name() {
    let Some(ctx) = gpu() else { return };
    assert!(!ctx.subgroups);
    assert!(!LinearVariant::on(ctx.subgroups).contains(&LinearVariant::Sg16x4));
    assert_ne!(
        LinearVariant::preferred(&ctx.info, ctx.subgroups),
        LinearVariant::Sg16x4
    );
    let (m, k, n) = (16, 8, 8);
    let (x, w, b, y) = (
        up(ctx, &vec![0.5f32; m * k]),
        up(ctx, &vec![0.5f32; n * k]),
        up(ctx, &vec![0.0f32; n]),
        up(ctx, &vec![0.0f32; m * n]),
    );
    let e = ops::linear_forward(
        ctx,
        LinearVariant::Sg16x4,
        &y,
        &x,
        &w,
        &b,
        m,
        k,
        n,
        Act::None,
    )
    .map(|_| ())
    .expect_err("sg16x4 without subgroups is an error");
    assert!(e.to_string().contains("needs subgroup kernels"), "{e}");
}

#[test]
fn conv_blocks_without_broadcasts_match_cpu() {
    let Some(ctx) = gpu() else { return };
    // (batch, in, out, h, w, kernel, stride, pad): the conv VAE's 32 -> 64 layer and a ragged
    // one with 7 output channels, each as a conv and as the matching conv-transpose (the
    // 16 x 16 blocks serve every layer with more than 4 output channels)
    let shapes = [(2, 32, 64, 14, 14, 4, 2, 1), (3, 3, 7, 9, 11, 3, 1, 1)];
    for (i, &(nb, ci, co, h, w, k, s, p)) in shapes.iter().enumerate() {
        let conv = geom(nb, ci, co, h, w, k, s, p, false);
        let convt = geom(nb, co, ci, conv.out_h(), conv.out_w(), k, s, p, true);
        for g in [conv, convt] {
            let seed = 10 * i as u64 + g.transposed as u64;
            let x = random(g.input_len(), -1.0, 1.0, seed);
            let wt = random(g.weight_len(), -1.0, 1.0, seed + 100);
            let bias = random(g.out_ch, -1.0, 1.0, seed + 200);
            let dy = random(g.output_len(), -1.0, 1.0, seed + 300);
            let (xv, wv, bv, dyv) = (up(ctx, &x), up(ctx, &wt), up(ctx, &bias), up(ctx, &dy));
            let (yv, dxv) = (
                up(ctx, &vec![0.0f32; g.output_len()]),
                up(ctx, &vec![0.0f32; g.input_len()]),
            );
            let dwv = up(ctx, &vec![0.0f32; g.weight_len()]);
            let mut want_y = vec![0.0; g.output_len()];
            let mut want_dx = vec![0.0; g.input_len()];
            let mut want_dw = vec![0.0; g.weight_len()];
            let (fwd, bwd, dw) = if g.transposed {
                cpu_conv::conv_transpose2d_forward(&mut want_y, &x, &wt, &bias, &g, Act::Relu);
                cpu_conv::conv_transpose2d_backward_input(&mut want_dx, &dy, &wt, None, &g, false);
                cpu_conv::conv_transpose2d_backward_weight(&mut want_dw, &dy, &x, &g, false);
                (
                    gconv::conv_transpose2d_forward(ctx, &yv, &xv, &wv, &bv, &g, Act::Relu),
                    gconv::conv_transpose2d_backward_input(ctx, &dxv, &dyv, &wv, None, &g, false),
                    gconv::conv_transpose2d_backward_weight(ctx, &dwv, &dyv, &xv, &g, false),
                )
            } else {
                cpu_conv::conv2d_forward(&mut want_y, &x, &wt, &bias, &g, Act::Relu);
                cpu_conv::conv2d_backward_input(&mut want_dx, &dy, &wt, None, &g, false);
                cpu_conv::conv2d_backward_weight(&mut want_dw, &dy, &x, &g, false);
                (
                    gconv::conv2d_forward(ctx, &yv, &xv, &wv, &bv, &g, Act::Relu),
                    gconv::conv2d_backward_input(ctx, &dxv, &dyv, &wv, None, &g, false),
                    gconv::conv2d_backward_weight(ctx, &dwv, &dyv, &xv, &g, false),
                )
            };
            let (fwd, bwd, dw) = (fwd.unwrap(), bwd.unwrap(), dw.unwrap());
            // one pass: conv_weight_grad, not the subgroup kernel and its sum
            assert_eq!(dw.len(), 1);
            assert_eq!(dw[0].kernel, Kernel::ConvWeightGrad);
            let plain = [
                Kernel::ConvDirect16x16,
                Kernel::ConvTransposed16x16,
                Kernel::ConvDirect4x16,
                Kernel::ConvTransposed4x16,
            ];
            assert!(plain.contains(&fwd.kernel), "{:?}", fwd.kernel);
            assert!(plain.contains(&bwd.kernel), "{:?}", bwd.kernel);
            ops::run(ctx, &[&fwd, &bwd, &dw[0]]).unwrap();
            // sums of up to in x k x k products in [-1, 1], in the CPU's order (see
            // tests/conv_kernels.rs for the bound)
            let terms = (g.in_ch.max(g.out_ch) * k * k) as f32;
            let tol = 1e-7 * terms + 1e-6;
            let what = if g.transposed { "conv_t" } else { "conv" };
            all_close(
                &format!("{what} {i} forward"),
                &read(ctx, &yv),
                &want_y,
                tol,
                1e-5,
            );
            all_close(
                &format!("{what} {i} backward input"),
                &read(ctx, &dxv),
                &want_dx,
                tol,
                1e-5,
            );
            // sums over the batch's small-side pixels
            let small_px = if g.transposed {
                g.in_h * g.in_w
            } else {
                g.out_h() * g.out_w()
            };
            all_close(
                &format!("{what} {i} backward weight"),
                &read(ctx, &dwv),
                &want_dw,
                1e-7 * (g.batch * small_px) as f32 + 1e-6,
                1e-5,
            );
        }
    }
}

#[test]
fn sum_rows_with_barriers_adds_in_the_cpu_twins_order() {
    let Some(ctx) = gpu() else { return };
    for &(rows, cols) in &[(128usize, 784usize), (3, 68), (129, 20)] {
        let mut src = random(rows * cols, -1.0, 1.0, (rows + cols) as u64);
        // row 0 of a long row: 1e8 and -1e8 in one partial, which only the documented order
        // cancels before the other values join (see tests/cpu_reference.rs)
        if cols > 64 {
            src[0] = 1e8;
            src[64] = -1e8;
        }
        let mut want = vec![0.0; rows];
        cpu::ops::sum_rows(&mut want, &src, rows, cols);
        let dst = up(ctx, &vec![0.0f32; rows]);
        let d = ops::sum_rows(ctx, &dst, &up(ctx, &src), rows, cols).unwrap();
        assert_eq!(d.kernel, Kernel::SumRows);
        ops::run(ctx, &[&d]).unwrap();
        assert_eq!(read(ctx, &dst), want, "sum_rows {rows}x{cols}");
    }
}
