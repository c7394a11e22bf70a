//! Blur operators: a point-spread function (PSF) and its application as a "same"-size
//! convolution with zero padding, `A x`, and the adjoint `A^T r`. The blur is a 1-to-1-channel
//! Conv2d with stride 1 and padding `size / 2`, so it runs on the project's conv kernels on both
//! backends (`cpu::conv`, `shaders/conv.wgsl`); the adjoint is that convolution's input
//! gradient. Zero padding keeps `A^T` exact; for digits the border is black anyway.

use crate::cpu::conv;
use crate::model::op::Act;
use crate::shape::ConvGeom;

pub use crate::model::op::MAX_PSF;

/// A square, odd-sized PSF, row-major, summing to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Psf {
    pub size: usize,
    pub weights: Vec<f32>,
}

impl Psf {
    fn normalised(size: usize, mut weights: Vec<f32>) -> Result<Psf, String> {
        if size.is_multiple_of(2) || size == 0 || size > MAX_PSF {
            return Err(format!(
                "a blur kernel must have an odd size from 1 to {MAX_PSF}, not {size}"
            ));
        }
        let sum: f32 = weights.iter().sum();
        if !(sum.is_finite() && sum > 0.0) {
            return Err("a blur kernel must have a positive sum".into());
        }
        weights.iter_mut().for_each(|w| *w /= sum);
        Ok(Psf { size, weights })
    }

    /// A Gaussian of `sigma` pixels on a `size` x `size` grid (size 0: the odd size covering
    /// 3 sigma each side, as scipy's default truncate of 4 would be larger than digits need).
    pub fn gaussian(sigma: f32, size: usize) -> Result<Psf, String> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(format!("the blur sigma must be positive, not {sigma}"));
        }
        let size = if size == 0 {
            2 * (3.0 * sigma).ceil() as usize + 1
        } else {
            size
        };
        let c = (size / 2) as f32;
        let w = (0..size * size)
            .map(|i| {
                let (y, x) = ((i / size) as f32 - c, (i % size) as f32 - c);
                (-(x * x + y * y) / (2.0 * sigma * sigma)).exp()
            })
            .collect();
        Psf::normalised(size, w)
    }

    /// A uniform `size` x `size` box.
    pub fn boxed(size: usize) -> Result<Psf, String> {
        Psf::normalised(size, vec![1.0; size * size])
    }

    /// A line of `length` pixels at `angle_deg` (0 = horizontal) through the centre, drawn with
    /// 8 samples per pixel of length and bilinear splatting.
    pub fn motion(length: usize, angle_deg: f32) -> Result<Psf, String> {
        if length == 0 {
            return Err("a motion blur needs a length of at least 1 pixel".into());
        }
        let size = (length | 1).max(1);
        let c = (size / 2) as f32;
        let mut w = vec![0.0f32; size * size];
        let (s, co) = angle_deg.to_radians().sin_cos();
        let samples = 8 * length;
        let half = (length as f32 - 1.0) / 2.0;
        for i in 0..=samples {
            let t = -half + (2.0 * half) * i as f32 / samples.max(1) as f32;
            let (x, y) = (c + t * co, c - t * s);
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = (x - x0, y - y0);
            for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
                for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                    let (xi, yi) = (x0 as isize + dx, y0 as isize + dy);
                    if (0..size as isize).contains(&xi) && (0..size as isize).contains(&yi) {
                        w[yi as usize * size + xi as usize] += wx * wy;
                    }
                }
            }
        }
        Psf::normalised(size, w)
    }

    /// The conv geometry of this blur over `batch` single-channel `h` x `w` planes.
    pub fn geom(&self, batch: usize, h: usize, w: usize) -> ConvGeom {
        ConvGeom {
            batch,
            in_ch: 1,
            out_ch: 1,
            in_h: h,
            in_w: w,
            kernel: self.size,
            stride: 1,
            pad: self.size / 2,
            transposed: false,
        }
    }
}

/// `A x` for `batch` planes of `h` x `w` (planar, one after the other).
pub fn blur(psf: &Psf, x: &[f32], batch: usize, h: usize, w: usize) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    conv::conv2d_forward(
        &mut y,
        x,
        &psf.weights,
        &[0.0],
        &psf.geom(batch, h, w),
        Act::None,
    );
    y
}

/// `A^T r`: the blur's adjoint (correlation with the flipped PSF, zero padded).
pub fn blur_adjoint(psf: &Psf, r: &[f32], batch: usize, h: usize, w: usize) -> Vec<f32> {
    let mut x = vec![0.0; r.len()];
    conv::conv2d_backward_input(&mut x, r, &psf.weights, None, &psf.geom(batch, h, w), false);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psfs_sum_to_one_and_gaussian_is_symmetric() {
        for p in [
            Psf::gaussian(1.0, 13).unwrap(),
            Psf::gaussian(2.0, 0).unwrap(),
            Psf::boxed(3).unwrap(),
            Psf::motion(7, 30.0).unwrap(),
        ] {
            let s: f32 = p.weights.iter().sum();
            assert!((s - 1.0).abs() < 1e-5, "{p:?}");
        }
        let g = Psf::gaussian(1.0, 13).unwrap();
        assert_eq!(g.size, 13);
        let n = g.size;
        for i in 0..n * n {
            let (y, x) = (i / n, i % n);
            assert!((g.weights[i] - g.weights[x * n + y]).abs() < 1e-9);
            assert!((g.weights[i] - g.weights[(n - 1 - y) * n + (n - 1 - x)]).abs() < 1e-9);
        }
        assert_eq!(Psf::gaussian(2.0, 0).unwrap().size, 13);
        assert!(Psf::gaussian(1.0, 4).is_err());
        assert!(Psf::gaussian(f32::NAN, 5).is_err());
        assert!(Psf::boxed(33).is_err());
    }

    #[test]
    fn adjoint_identity_holds_for_an_asymmetric_psf() {
        // <A x, r> = <x, A^T r>
        let psf = Psf::motion(5, 20.0).unwrap();
        let (b, h, w) = (2, 9, 7);
        let x: Vec<f32> = (0..b * h * w)
            .map(|i| ((i * 37) % 11) as f32 / 11.0)
            .collect();
        let r: Vec<f32> = (0..b * h * w)
            .map(|i| ((i * 13) % 7) as f32 / 7.0 - 0.5)
            .collect();
        let ax = blur(&psf, &x, b, h, w);
        let atr = blur_adjoint(&psf, &r, b, h, w);
        let lhs: f64 = ax.iter().zip(&r).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = x.iter().zip(&atr).map(|(a, b)| (a * b) as f64).sum();
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }

    #[test]
    fn blur_of_a_point_is_the_psf() {
        let psf = Psf::motion(5, 45.0).unwrap();
        let (h, w) = (11, 11);
        let mut x = vec![0.0; h * w];
        x[5 * w + 5] = 1.0;
        let y = blur(&psf, &x, 1, h, w);
        // correlation: y[5 + c - ky, 5 + c - kx] = w[ky, kx]
        let (n, c) = (psf.size, psf.size / 2);
        for ky in 0..n {
            for kx in 0..n {
                let got = y[(5 + c - ky) * w + (5 + c - kx)];
                assert!((got - psf.weights[ky * n + kx]).abs() < 1e-7);
            }
        }
    }
}
