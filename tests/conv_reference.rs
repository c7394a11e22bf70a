//! The CPU convolutions on their own, no GPU: answers computed by hand, every backward against
//! central finite differences, and the dualities between the two kinds (conv-transpose forward
//! is the adjoint of conv forward, and the same sums as conv backward-input).

mod common;

use common::{geom, random};
use wgvae::cpu::conv as cpu;
use wgvae::cpu::ops::Act;
use wgvae::shape::ConvGeom;

fn forward(g: &ConvGeom, x: &[f32], w: &[f32], b: &[f32], act: Act) -> Vec<f32> {
    let mut y = vec![f32::NAN; g.output_len()];
    if g.transposed {
        cpu::conv_transpose2d_forward(&mut y, x, w, b, g, act);
    } else {
        cpu::conv2d_forward(&mut y, x, w, b, g, act);
    }
    y
}

fn backward_input(g: &ConvGeom, dy: &[f32], w: &[f32], mask: Option<&[f32]>) -> Vec<f32> {
    let mut dx = vec![f32::NAN; g.input_len()];
    if g.transposed {
        cpu::conv_transpose2d_backward_input(&mut dx, dy, w, mask, g, false);
    } else {
        cpu::conv2d_backward_input(&mut dx, dy, w, mask, g, false);
    }
    dx
}

fn backward_weight(g: &ConvGeom, dy: &[f32], x: &[f32]) -> Vec<f32> {
    let mut dw = vec![f32::NAN; g.weight_len()];
    if g.transposed {
        cpu::conv_transpose2d_backward_weight(&mut dw, dy, x, g, false);
    } else {
        cpu::conv2d_backward_weight(&mut dw, dy, x, g, false);
    }
    dw
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

// ---------------------------------------------------------------- answers by hand

/// The 3x3 image 1..9 (row-major) and the 2x2 kernel [[1, 2], [3, 4]], one channel each.
const IMAGE: [f32; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
const KERNEL: [f32; 4] = [1.0, 2.0, 3.0, 4.0];

#[test]
fn conv_of_a_3x3_image_by_hand() {
    // stride 1: y[r, c] = x[r, c] + 2 x[r, c+1] + 3 x[r+1, c] + 4 x[r+1, c+1], plus the bias
    //   1 + 4 + 12 + 20 = 37,  2 + 6 + 15 + 24 = 47,  4 + 10 + 21 + 32 = 67,  5 + 12 + 24 + 36 = 77
    let g = geom(1, 1, 1, 3, 3, 2, 1, 0, false);
    assert_eq!(
        forward(&g, &IMAGE, &KERNEL, &[0.5], Act::None),
        [37.5, 47.5, 67.5, 77.5]
    );
    // relu after a bias of -50: only 67 and 77 stay positive
    assert_eq!(
        forward(&g, &IMAGE, &KERNEL, &[-50.0], Act::Relu),
        [0.0, 0.0, 17.0, 27.0]
    );
    // stride 2, no padding: one output, the top-left window
    let g = geom(1, 1, 1, 3, 3, 2, 2, 0, false);
    assert_eq!(forward(&g, &IMAGE, &KERNEL, &[0.0], Act::None), [37.0]);
    // stride 2, padding 1: windows start at rows/columns -1 and 1
    //   (0,0) sees only x[0,0] under w[1,1]:        1 * 4 = 4
    //   (0,1) sees x[0,1], x[0,2] under w[1,0..2]:  2 * 3 + 3 * 4 = 18
    //   (1,0) sees x[1,0], x[2,0] under w[0..2,1]:  4 * 2 + 7 * 4 = 36
    //   (1,1) sees x[1..3, 1..3]:                   5 + 12 + 24 + 36 = 77
    let g = geom(1, 1, 1, 3, 3, 2, 2, 1, false);
    assert_eq!(
        forward(&g, &IMAGE, &KERNEL, &[0.0], Act::None),
        [4.0, 18.0, 36.0, 77.0]
    );
}

#[test]
fn conv_sums_input_channels_and_keeps_output_channels_apart() {
    // Two input channels (the image, and all ones) and two output channels: output 0 is the
    // hand-computed conv above plus 1 per ones-tap (4 taps of weight 1 -> +4); output 1 uses
    // only the ones channel, weight 0.5 per tap -> 2 everywhere, plus its bias 10.
    let g = geom(1, 2, 2, 3, 3, 2, 1, 0, false);
    let mut x = IMAGE.to_vec();
    x.extend([1.0; 9]);
    #[rustfmt::skip]
    let w = [
        1.0, 2.0, 3.0, 4.0,   1.0, 1.0, 1.0, 1.0, // w[0, 0], w[0, 1]
        0.0, 0.0, 0.0, 0.0,   0.5, 0.5, 0.5, 0.5, // w[1, 0], w[1, 1]
    ];
    assert_eq!(
        forward(&g, &x, &w, &[0.0, 10.0], Act::None),
        [41.0, 51.0, 71.0, 81.0, 12.0, 12.0, 12.0, 12.0]
    );
}

/// A 2x2 input and the kernel [[1, 10], [100, 1000]]: each digit of an output names the input
/// pixels that reached it through which tap.
const SMALL: [f32; 4] = [1.0, 2.0, 3.0, 4.0];
const DIGITS: [f32; 4] = [1.0, 10.0, 100.0, 1000.0];

#[test]
fn conv_transpose_by_hand() {
    // stride 2: every input pixel stamps x * w into its own 2x2 block
    let g = geom(1, 1, 1, 2, 2, 2, 2, 0, true);
    #[rustfmt::skip]
    let want = [
        1.0,   10.0,   2.0,   20.0,
        100.0, 1000.0, 200.0, 2000.0,
        3.0,   30.0,   4.0,   40.0,
        300.0, 3000.0, 400.0, 4000.0,
    ];
    assert_eq!(forward(&g, &SMALL, &DIGITS, &[0.0], Act::None), want);
    // stride 1: the stamps overlap, y[Y, X] = sum x[iy, ix] w[Y - iy, X - ix]
    //   centre: 1 * 1000 + 2 * 100 + 3 * 10 + 4 * 1 = 1234
    let g = geom(1, 1, 1, 2, 2, 2, 1, 0, true);
    #[rustfmt::skip]
    let want = [
        1.0,   12.0,   20.0,
        103.0, 1234.0, 2040.0,
        300.0, 3400.0, 4000.0,
    ];
    assert_eq!(forward(&g, &SMALL, &DIGITS, &[0.0], Act::None), want);
    // stride 2, padding 1: the 4x4 stamp picture above with a border of 1 cropped away, plus
    // the bias
    let g = geom(1, 1, 1, 2, 2, 2, 2, 1, true);
    assert_eq!(
        forward(&g, &SMALL, &DIGITS, &[0.5], Act::None),
        [1000.5, 200.5, 30.5, 4.5]
    );
}

#[test]
fn bias_gradient_by_hand() {
    // db[o] sums dy over the batch and the pixels of channel o.
    let g = geom(2, 3, 2, 3, 3, 2, 1, 0, false); // output 2 x 2 x 2 x 2
    let dy: Vec<f32> = (0..16).map(|i| i as f32).collect();
    // image 0: channel 0 = 0..4 (6), channel 1 = 4..8 (22); image 1: 8..12 (38), 12..16 (54)
    let mut db = vec![100.0, 200.0];
    cpu::conv_backward_bias(&mut db, &dy, &g, false);
    assert_eq!(db, [44.0, 76.0]);
    cpu::conv_backward_bias(&mut db, &dy, &g, true);
    assert_eq!(db, [88.0, 152.0]);
}

// ---------------------------------------------------------------- finite differences

/// Checks `analytic` (dL/dinput) against central differences of `loss`, element by element.
/// Every loss here is linear in the perturbed tensor (the conv is linear in x, w and b, and the
/// relu test keeps its inputs away from the kink), so central differences have no truncation
/// error: a large step makes f32 rounding of the outputs negligible.
fn check_gradient(what: &str, input: &[f32], analytic: &[f32], loss: impl Fn(&[f32]) -> f64) {
    const H: f32 = 0.25;
    let mut x = input.to_vec();
    for i in 0..x.len() {
        let orig = x[i];
        x[i] = orig + H;
        let plus = loss(&x);
        x[i] = orig - H;
        let minus = loss(&x);
        x[i] = orig;
        let numeric = (plus - minus) / (2.0 * H as f64);
        let a = analytic[i] as f64;
        let err = (numeric - a).abs();
        assert!(
            err <= 1e-4 * (1.0 + a.abs()),
            "{what}: element {i}: analytic {a} vs finite difference {numeric} (error {err})"
        );
    }
}

/// Conv and conv-transpose geometries with stride 1, 2 and 3, padding 0 to 2, odd sizes.
fn fd_geometries() -> Vec<ConvGeom> {
    vec![
        geom(2, 3, 4, 5, 6, 3, 1, 1, false),
        geom(2, 2, 3, 7, 6, 4, 2, 1, false),
        geom(1, 2, 2, 8, 7, 3, 3, 2, false),
        geom(2, 3, 4, 3, 4, 3, 1, 1, true),
        geom(2, 2, 3, 3, 4, 4, 2, 1, true),
        geom(1, 2, 2, 3, 2, 3, 3, 2, true),
    ]
}

#[test]
fn backward_matches_finite_differences() {
    for (i, g) in fd_geometries().iter().enumerate() {
        let s = 10 * i as u64;
        let x = random(g.input_len(), -1.0, 1.0, s + 1);
        let w = random(g.weight_len(), -1.0, 1.0, s + 2);
        let b = random(g.out_ch, -1.0, 1.0, s + 3);
        // the probe loss L = <p, y>, so dL/dy = p
        let p = random(g.output_len(), -1.0, 1.0, s + 4);
        let loss = |x: &[f32], w: &[f32], b: &[f32]| dot(&forward(g, x, w, b, Act::None), &p);
        let kind = if g.transposed { "conv_t" } else { "conv" };
        check_gradient(
            &format!("{kind} dx {g:?}"),
            &x,
            &backward_input(g, &p, &w, None),
            |x| loss(x, &w, &b),
        );
        check_gradient(
            &format!("{kind} dw {g:?}"),
            &w,
            &backward_weight(g, &p, &x),
            |w| loss(&x, w, &b),
        );
        let mut db = vec![f32::NAN; g.out_ch];
        cpu::conv_backward_bias(&mut db, &p, g, false);
        check_gradient(&format!("{kind} db {g:?}"), &b, &db, |b| loss(&x, &w, b));
    }
}

#[test]
fn relu_folded_into_backward_input_matches_finite_differences() {
    // A -> relu -> conv: dA = backward_input(p) * [relu(A) > 0], the mask being the relu output.
    for (i, g) in fd_geometries().iter().enumerate() {
        // |A| >= 0.3, so a step of 0.25 never crosses the kink
        let a: Vec<f32> = random(g.input_len(), -1.0, 1.0, 100 + i as u64)
            .into_iter()
            .map(|v| v.signum() * (0.3 + 0.7 * v.abs()))
            .collect();
        let w = random(g.weight_len(), -1.0, 1.0, 200 + i as u64);
        let b = random(g.out_ch, -1.0, 1.0, 300 + i as u64);
        let p = random(g.output_len(), -1.0, 1.0, 400 + i as u64);
        let relu = |a: &[f32]| a.iter().map(|&v| Act::Relu.apply(v)).collect::<Vec<f32>>();
        let h = relu(&a);
        let da = backward_input(g, &p, &w, Some(&h));
        assert!(
            da.contains(&0.0) && da.iter().any(|&v| v != 0.0),
            "the mask had an effect"
        );
        check_gradient(&format!("dA through relu {g:?}"), &a, &da, |a| {
            dot(&forward(g, &relu(a), &w, &b, Act::None), &p)
        });
    }
}

// ---------------------------------------------------------------- dualities

#[test]
fn backward_input_is_the_adjoint_of_forward() {
    // <A x, y> = <x, A^T y> for the linear part of every geometry (bias 0), to f64 rounding of
    // f32 sums.
    let mut geometries = fd_geometries();
    geometries.push(geom(3, 1, 32, 28, 28, 4, 2, 1, false));
    geometries.push(geom(2, 64, 32, 7, 7, 4, 2, 1, true));
    for (i, g) in geometries.iter().enumerate() {
        let x = random(g.input_len(), -1.0, 1.0, 500 + i as u64);
        let y = random(g.output_len(), -1.0, 1.0, 600 + i as u64);
        let w = random(g.weight_len(), -1.0, 1.0, 700 + i as u64);
        let lhs = dot(&forward(g, &x, &w, &vec![0.0; g.out_ch], Act::None), &y);
        let rhs = dot(&x, &backward_input(g, &y, &w, None));
        assert!(
            (lhs - rhs).abs() <= 1e-5 * (1.0 + lhs.abs()),
            "{g:?}: <A x, y> = {lhs} but <x, A^T y> = {rhs}"
        );
    }
}

/// A conv and the conv-transpose that maps its output size back to its input size (which needs
/// `(in + 2 pad - k)` divisible by the stride), sharing one weight tensor: PyTorch's Conv2d
/// `[out, in, k, k]` is ConvTranspose2d's `[in', out', k, k]` with in' = out and out' = in.
fn conv_and_transpose(
    batch: usize,
    c: usize,
    o: usize,
    hw: (usize, usize),
    k: usize,
    s: usize,
    p: usize,
) -> (ConvGeom, ConvGeom) {
    let conv = geom(batch, c, o, hw.0, hw.1, k, s, p, false);
    let t = geom(batch, o, c, conv.out_h(), conv.out_w(), k, s, p, true);
    assert_eq!(
        (t.out_h(), t.out_w()),
        hw,
        "{conv:?} does not invert exactly"
    );
    assert_eq!(conv.weight_shape(), t.weight_shape());
    (conv, t)
}

#[test]
fn conv_transpose_is_the_adjoint_of_conv() {
    for (i, &(batch, c, o, hw, k, s, p)) in [
        (2, 3, 4, (5, 6), 3, 1, 1),
        (1, 1, 32, (28, 28), 4, 2, 1),
        (2, 32, 64, (14, 14), 4, 2, 1),
        (3, 2, 3, (7, 9), 3, 2, 1),
        (1, 2, 5, (10, 7), 5, 3, 2),
    ]
    .iter()
    .enumerate()
    {
        let (conv, t) = conv_and_transpose(batch, c, o, hw, k, s, p);
        let x = random(conv.input_len(), -1.0, 1.0, 800 + i as u64);
        let y = random(conv.output_len(), -1.0, 1.0, 900 + i as u64);
        let w = random(conv.weight_len(), -1.0, 1.0, 1000 + i as u64);
        let (zc, zo) = (vec![0.0; c], vec![0.0; o]);
        // <conv(x), y> = <x, conv_t(y)>
        let lhs = dot(&forward(&conv, &x, &w, &zo, Act::None), &y);
        let rhs = dot(&x, &forward(&t, &y, &w, &zc, Act::None));
        assert!(
            (lhs - rhs).abs() <= 1e-5 * (1.0 + lhs.abs()),
            "{conv:?}: <conv x, y> = {lhs} but <x, conv_t y> = {rhs}"
        );
        // The same sums in the same order, so equal to the last bit:
        // conv_t forward = conv backward-input, conv_t backward-input = conv forward,
        // conv_t backward-weight(dy = x', x = dy') = conv backward-weight(dy', x').
        assert_eq!(
            forward(&t, &y, &w, &zc, Act::None),
            backward_input(&conv, &y, &w, None),
            "{conv:?}: conv_t forward vs conv backward-input"
        );
        assert_eq!(
            backward_input(&t, &x, &w, None),
            forward(&conv, &x, &w, &zo, Act::None),
            "{conv:?}: conv_t backward-input vs conv forward"
        );
        assert_eq!(
            backward_weight(&t, &x, &y),
            backward_weight(&conv, &y, &x),
            "{conv:?}: weight gradients of the two kinds"
        );
    }
}

#[test]
fn accumulate_adds_onto_what_is_there() {
    for g in [
        geom(2, 3, 4, 7, 6, 4, 2, 1, false),
        geom(2, 3, 4, 4, 3, 4, 2, 1, true),
    ] {
        let x = random(g.input_len(), -1.0, 1.0, 1);
        let dy = random(g.output_len(), -1.0, 1.0, 2);
        let w = random(g.weight_len(), -1.0, 1.0, 3);
        let mask: Vec<f32> = random(g.input_len(), -1.0, 1.0, 4)
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        let fresh_dx = backward_input(&g, &dy, &w, Some(&mask));
        let fresh_dw = backward_weight(&g, &dy, &x);
        let mut db_fresh = vec![0.0; g.out_ch];
        cpu::conv_backward_bias(&mut db_fresh, &dy, &g, false);
        let (mut dx, mut dw, mut db) = (
            vec![1.5; g.input_len()],
            vec![-2.5; g.weight_len()],
            vec![0.25; g.out_ch],
        );
        if g.transposed {
            cpu::conv_transpose2d_backward_input(&mut dx, &dy, &w, Some(&mask), &g, true);
            cpu::conv_transpose2d_backward_weight(&mut dw, &dy, &x, &g, true);
        } else {
            cpu::conv2d_backward_input(&mut dx, &dy, &w, Some(&mask), &g, true);
            cpu::conv2d_backward_weight(&mut dw, &dy, &x, &g, true);
        }
        cpu::conv_backward_bias(&mut db, &dy, &g, true);
        // the mask zeroes the new contribution only; the prior value is kept
        for (i, (&got, &f)) in dx.iter().zip(&fresh_dx).enumerate() {
            assert_eq!(got, 1.5 + f, "dx {i}");
            if mask[i] <= 0.0 {
                assert_eq!(got, 1.5, "masked dx {i} keeps the prior value");
            }
        }
        for (i, (&got, &f)) in dw.iter().zip(&fresh_dw).enumerate() {
            assert_eq!(got, -2.5 + f, "dw {i}");
        }
        for (i, (&got, &f)) in db.iter().zip(&db_fresh).enumerate() {
            assert_eq!(got, 0.25 + f, "db {i}");
        }
    }
}

#[test]
#[should_panic(expected = "conv2d_forward called with")]
fn conv_function_refuses_a_transposed_geometry() {
    let g = geom(1, 1, 1, 3, 3, 2, 1, 0, true);
    let mut y = vec![0.0; g.output_len()];
    cpu::conv2d_forward(&mut y, &[0.0; 9], &[0.0; 4], &[0.0], &g, Act::None);
}
