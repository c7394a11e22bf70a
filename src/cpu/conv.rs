//! Reference convolutions, NCHW, batched: PyTorch's Conv2d and ConvTranspose2d and their
//! gradients, plain loops. Each function sums in the order `shaders/conv.wgsl` does (written out
//! in its comment), so GPU and CPU differ only by rounding (fused multiply-adds).
//!
//! Shapes (see [`ConvGeom`]): x `[batch, in_ch, in_h, in_w]`, y `[batch, out_ch, out_h, out_w]`,
//! b `[out_ch]`; w `[out_ch, in_ch, k, k]` for conv, `[in_ch, out_ch, k, k]` for transposed.
//! In a conv, output pixel `(oy, ox)` reads input pixel `(oy s - p + ky, ox s - p + kx)`; a
//! transposed conv sends input pixel `(iy, ix)` to output pixel `(iy s - p + ky, ix s - p + kx)`.
//! Taps that fall outside the image (the padding) contribute nothing.
//!
//! The two kinds are adjoint: conv-transpose forward is conv backward-input with the roles of
//! the two sides swapped, and conv-transpose backward-input is a conv forward. Each op keeps its
//! own function here, written from its own definition; tests/conv_reference.rs checks the
//! dualities.

use crate::cpu::ops::Act;
use crate::shape::ConvGeom;

/// `pos s - p + tap` when it lands inside `0..len`.
fn tap(pos: usize, tap: usize, g: &ConvGeom, len: usize) -> Option<usize> {
    let v = (pos * g.stride + tap) as isize - g.pad as isize;
    (v >= 0 && (v as usize) < len).then_some(v as usize)
}

/// The position `q` with `q s - p + tap = pos`, when there is one inside `0..len`.
fn source(pos: usize, tap: usize, g: &ConvGeom, len: usize) -> Option<usize> {
    let v = (pos + g.pad) as isize - tap as isize;
    let s = g.stride as isize;
    (v >= 0 && v % s == 0 && ((v / s) as usize) < len).then_some((v / s) as usize)
}

/// Zeroes `v` where the relu mask is not positive, then adds onto `out` or replaces it.
fn finish(out: &mut f32, v: f32, mask: Option<f32>, accumulate: bool) {
    let v = if mask.is_some_and(|m| m <= 0.0) {
        0.0
    } else {
        v
    };
    *out = if accumulate { *out + v } else { v };
}

/// Invocations sharing one reduction in conv.wgsl's conv_weight_grad and conv_bias_grad.
const WEIGHT_LANES: usize = 16;
const BIAS_LANES: usize = 64;

/// The order in which the weight and bias gradients sum (conv.wgsl's workgroups of `lanes`
/// invocations): the `rows` rows (n, y) of the small side are dealt round-robin into `lanes`
/// partial sums, row r going to partial r mod lanes and each partial taking its rows in
/// ascending order; `add_row(r, acc)` adds row r's terms onto acc in its own order. The total
/// adds the partials in order.
fn sum_rows_by_lane(lanes: usize, rows: usize, mut add_row: impl FnMut(usize, &mut f32)) -> f32 {
    let mut total = 0.0f32;
    for lane in 0..lanes {
        let mut partial = 0.0f32;
        for r in (lane..rows).step_by(lanes) {
            add_row(r, &mut partial);
        }
        total += partial;
    }
    total
}

fn check(g: &ConvGeom, transposed: bool, op: &str) {
    assert_eq!(g.transposed, transposed, "{op} called with {g:?}");
    if let Err(e) = g.validate() {
        panic!("{op}: {e}");
    }
}

/// `y[n, o, oy, ox] = act(b[o] + sum over ky, kx, c of x[n, c, oy s - p + ky, ox s - p + kx]
/// w[o, c, ky, kx])`; summed over ky, then kx, then c innermost, and b added last.
pub fn conv2d_forward(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], g: &ConvGeom, act: Act) {
    check(g, false, "conv2d_forward");
    let (ci, co, ih, iw, k) = (g.in_ch, g.out_ch, g.in_h, g.in_w, g.kernel);
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(x.len(), g.input_len(), "x");
    assert_eq!(w.len(), g.weight_len(), "w");
    assert_eq!(b.len(), co, "b");
    assert_eq!(y.len(), g.output_len(), "y");
    for n in 0..g.batch {
        for o in 0..co {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0f32;
                    for ky in 0..k {
                        let Some(iy) = tap(oy, ky, g, ih) else {
                            continue;
                        };
                        for kx in 0..k {
                            let Some(ix) = tap(ox, kx, g, iw) else {
                                continue;
                            };
                            for c in 0..ci {
                                acc += x[((n * ci + c) * ih + iy) * iw + ix]
                                    * w[((o * ci + c) * k + ky) * k + kx];
                            }
                        }
                    }
                    y[((n * co + o) * oh + oy) * ow + ox] = act.apply(acc + b[o]);
                }
            }
        }
    }
}

/// `dx[n, c, iy, ix] (+)= sum of dy[n, o, oy, ox] w[o, c, ky, kx] over the (ky, kx, o) with
/// oy s - p + ky = iy and ox s - p + kx = ix`, zeroed where `relu_mask <= 0`; summed over ky,
/// then kx (both ascending), then o innermost.
pub fn conv2d_backward_input(
    dx: &mut [f32],
    dy: &[f32],
    w: &[f32],
    relu_mask: Option<&[f32]>,
    g: &ConvGeom,
    accumulate: bool,
) {
    check(g, false, "conv2d_backward_input");
    let (ci, co, ih, iw, k) = (g.in_ch, g.out_ch, g.in_h, g.in_w, g.kernel);
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(dy.len(), g.output_len(), "dy");
    assert_eq!(w.len(), g.weight_len(), "w");
    assert_eq!(dx.len(), g.input_len(), "dx");
    if let Some(m) = relu_mask {
        assert_eq!(m.len(), g.input_len(), "relu mask");
    }
    for n in 0..g.batch {
        for c in 0..ci {
            for iy in 0..ih {
                for ix in 0..iw {
                    let mut acc = 0.0f32;
                    for ky in 0..k {
                        let Some(oy) = source(iy, ky, g, oh) else {
                            continue;
                        };
                        for kx in 0..k {
                            let Some(ox) = source(ix, kx, g, ow) else {
                                continue;
                            };
                            for o in 0..co {
                                acc += dy[((n * co + o) * oh + oy) * ow + ox]
                                    * w[((o * ci + c) * k + ky) * k + kx];
                            }
                        }
                    }
                    let i = ((n * ci + c) * ih + iy) * iw + ix;
                    finish(&mut dx[i], acc, relu_mask.map(|m| m[i]), accumulate);
                }
            }
        }
    }
}

/// `dw[o, c, ky, kx] (+)= sum over n, oy, ox of dy[n, o, oy, ox] x[n, c, oy s - p + ky,
/// ox s - p + kx]`; the rows (n, oy) summed in the order of [`sum_rows_by_lane`], ox ascending
/// within a row.
pub fn conv2d_backward_weight(
    dw: &mut [f32],
    dy: &[f32],
    x: &[f32],
    g: &ConvGeom,
    accumulate: bool,
) {
    check(g, false, "conv2d_backward_weight");
    let (ci, co, ih, iw, k) = (g.in_ch, g.out_ch, g.in_h, g.in_w, g.kernel);
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(dy.len(), g.output_len(), "dy");
    assert_eq!(x.len(), g.input_len(), "x");
    assert_eq!(dw.len(), g.weight_len(), "dw");
    for o in 0..co {
        for c in 0..ci {
            for ky in 0..k {
                for kx in 0..k {
                    let sum = sum_rows_by_lane(WEIGHT_LANES, g.batch * oh, |r, acc| {
                        let (n, oy) = (r / oh, r % oh);
                        let Some(iy) = tap(oy, ky, g, ih) else {
                            return;
                        };
                        for ox in 0..ow {
                            let Some(ix) = tap(ox, kx, g, iw) else {
                                continue;
                            };
                            *acc += dy[((n * co + o) * oh + oy) * ow + ox]
                                * x[((n * ci + c) * ih + iy) * iw + ix];
                        }
                    });
                    let i = ((o * ci + c) * k + ky) * k + kx;
                    finish(&mut dw[i], sum, None, accumulate);
                }
            }
        }
    }
}

/// `y[n, o, oy, ox] = act(b[o] + sum of x[n, c, iy, ix] w[c, o, ky, kx] over the (ky, kx, c)
/// with iy s - p + ky = oy and ix s - p + kx = ox)`; summed over ky, then kx (both ascending),
/// then c innermost, and b added last.
pub fn conv_transpose2d_forward(
    y: &mut [f32],
    x: &[f32],
    w: &[f32],
    b: &[f32],
    g: &ConvGeom,
    act: Act,
) {
    check(g, true, "conv_transpose2d_forward");
    let (ci, co, ih, iw, k) = (g.in_ch, g.out_ch, g.in_h, g.in_w, g.kernel);
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(x.len(), g.input_len(), "x");
    assert_eq!(w.len(), g.weight_len(), "w");
    assert_eq!(b.len(), co, "b");
    assert_eq!(y.len(), g.output_len(), "y");
    for n in 0..g.batch {
        for o in 0..co {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0f32;
                    for ky in 0..k {
                        let Some(iy) = source(oy, ky, g, ih) else {
                            continue;
                        };
                        for kx in 0..k {
                            let Some(ix) = source(ox, kx, g, iw) else {
                                continue;
                            };
                            for c in 0..ci {
                                acc += x[((n * ci + c) * ih + iy) * iw + ix]
                                    * w[((c * co + o) * k + ky) * k + kx];
                            }
                        }
                    }
                    y[((n * co + o) * oh + oy) * ow + ox] = act.apply(acc + b[o]);
                }
            }
        }
    }
}

/// `dx[n, c, iy, ix] (+)= sum over ky, kx, o of dy[n, o, iy s - p + ky, ix s - p + kx]
/// w[c, o, ky, kx]` (taps inside the output only), zeroed where `relu_mask <= 0`; summed over
/// ky, then kx, then o innermost.
pub fn conv_transpose2d_backward_input(
    dx: &mut [f32],
    dy: &[f32],
    w: &[f32],
    relu_mask: Option<&[f32]>,
    g: &ConvGeom,
    accumulate: bool,
) {
    check(g, true, "conv_transpose2d_backward_input");
    let (ci, co, ih, iw, k) = (g.in_ch, g.out_ch, g.in_h, g.in_w, g.kernel);
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(dy.len(), g.output_len(), "dy");
    assert_eq!(w.len(), g.weight_len(), "w");
    assert_eq!(dx.len(), g.input_len(), "dx");
    if let Some(m) = relu_mask {
        assert_eq!(m.len(), g.input_len(), "relu mask");
    }
    for n in 0..g.batch {
        for c in 0..ci {
            for iy in 0..ih {
                for ix in 0..iw {
                    let mut acc = 0.0f32;
                    for ky in 0..k {
                        let Some(oy) = tap(iy, ky, g, oh) else {
                            continue;
                        };
                        for kx in 0..k {
                            let Some(ox) = tap(ix, kx, g, ow) else {
                                continue;
                            };
                            for o in 0..co {
                                acc += dy[((n * co + o) * oh + oy) * ow + ox]
                                    * w[((c * co + o) * k + ky) * k + kx];
                            }
                        }
                    }
                    let i = ((n * ci + c) * ih + iy) * iw + ix;
                    finish(&mut dx[i], acc, relu_mask.map(|m| m[i]), accumulate);
                }
            }
        }
    }
}

/// `dw[c, o, ky, kx] (+)= sum over n, iy, ix of x[n, c, iy, ix] dy[n, o, iy s - p + ky,
/// ix s - p + kx]` (taps inside the output only); the rows (n, iy) summed in the order of
/// [`sum_rows_by_lane`], ix ascending within a row.
pub fn conv_transpose2d_backward_weight(
    dw: &mut [f32],
    dy: &[f32],
    x: &[f32],
    g: &ConvGeom,
    accumulate: bool,
) {
    check(g, true, "conv_transpose2d_backward_weight");
    let (ci, co, ih, iw, k) = (g.in_ch, g.out_ch, g.in_h, g.in_w, g.kernel);
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(dy.len(), g.output_len(), "dy");
    assert_eq!(x.len(), g.input_len(), "x");
    assert_eq!(dw.len(), g.weight_len(), "dw");
    for c in 0..ci {
        for o in 0..co {
            for ky in 0..k {
                for kx in 0..k {
                    let sum = sum_rows_by_lane(WEIGHT_LANES, g.batch * ih, |r, acc| {
                        let (n, iy) = (r / ih, r % ih);
                        let Some(oy) = tap(iy, ky, g, oh) else {
                            return;
                        };
                        for ix in 0..iw {
                            let Some(ox) = tap(ix, kx, g, ow) else {
                                continue;
                            };
                            *acc += x[((n * ci + c) * ih + iy) * iw + ix]
                                * dy[((n * co + o) * oh + oy) * ow + ox];
                        }
                    });
                    let i = ((c * co + o) * k + ky) * k + kx;
                    finish(&mut dw[i], sum, None, accumulate);
                }
            }
        }
    }
}

/// `db[o] (+)= sum over n, oy, ox of dy[n, o, oy, ox]`, for either kind; the rows (n, oy)
/// summed in the order of [`sum_rows_by_lane`], ox ascending within a row.
pub fn conv_backward_bias(db: &mut [f32], dy: &[f32], g: &ConvGeom, accumulate: bool) {
    if let Err(e) = g.validate() {
        panic!("conv_backward_bias: {e}");
    }
    let co = g.out_ch;
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(dy.len(), g.output_len(), "dy");
    assert_eq!(db.len(), co, "db");
    for o in 0..co {
        let sum = sum_rows_by_lane(BIAS_LANES, g.batch * oh, |r, acc| {
            let (n, oy) = (r / oh, r % oh);
            for ox in 0..ow {
                *acc += dy[((n * co + o) * oh + oy) * ow + ox];
            }
        });
        finish(&mut db[o], sum, None, accumulate);
    }
}
