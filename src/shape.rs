//! Shape arithmetic written once for every backend (candle's habit): the CPU reference, the GPU
//! dispatch builders, the benchmark and the tests all ask [`ConvGeom`] for output sizes, tensor
//! lengths and work, never recompute them.

/// One conv layer applied to a batch: PyTorch's Conv2d (weights `[out_ch, in_ch, k, k]`) or,
/// with `transposed`, ConvTranspose2d (weights `[in_ch, out_ch, k, k]`); square kernels, the same
/// stride and padding on both axes, no dilation, groups or output padding. Tensors are NCHW:
/// input `[batch, in_ch, in_h, in_w]`, output `[batch, out_ch, out_h, out_w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub batch: usize,
    pub in_ch: usize,
    pub out_ch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    pub transposed: bool,
}

/// Tensors are indexed with 32-bit integers (signed where coordinates can fall in the padding),
/// so every length and coordinate must stay below 2^31.
const MAX_INDEX: i128 = i32::MAX as i128;

impl ConvGeom {
    /// Output size along one axis of input size `len`, exact and signed (may be < 1 when the
    /// geometry is invalid).
    fn out_len_exact(&self, len: usize) -> i128 {
        let (len, k, s, p) = (
            len as i128,
            self.kernel as i128,
            self.stride.max(1) as i128,
            self.pad as i128,
        );
        if self.transposed {
            (len - 1) * s - 2 * p + k
        } else {
            // floor division, also for a negative numerator
            (len + 2 * p - k).div_euclid(s) + 1
        }
    }

    fn out_len(&self, len: usize) -> usize {
        self.out_len_exact(len).max(0) as usize
    }

    /// conv: `(in_h + 2 pad - k) / stride + 1`; transposed: `(in_h - 1) stride - 2 pad + k`.
    pub fn out_h(&self) -> usize {
        self.out_len(self.in_h)
    }

    /// conv: `(in_w + 2 pad - k) / stride + 1`; transposed: `(in_w - 1) stride - 2 pad + k`.
    pub fn out_w(&self) -> usize {
        self.out_len(self.in_w)
    }

    /// The weight tensor as PyTorch stores it: `[out_ch, in_ch, k, k]` for Conv2d,
    /// `[in_ch, out_ch, k, k]` for ConvTranspose2d.
    pub fn weight_shape(&self) -> [usize; 4] {
        let k = self.kernel;
        if self.transposed {
            [self.in_ch, self.out_ch, k, k]
        } else {
            [self.out_ch, self.in_ch, k, k]
        }
    }

    /// `[batch, in_ch, in_h, in_w]`
    pub fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.in_ch, self.in_h, self.in_w]
    }

    /// `[batch, out_ch, out_h, out_w]`
    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.out_ch, self.out_h(), self.out_w()]
    }

    /// Values in the input tensor.
    pub fn input_len(&self) -> usize {
        self.input_shape().iter().product()
    }

    /// Values in the output tensor.
    pub fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Values in the weight tensor.
    pub fn weight_len(&self) -> usize {
        self.weight_shape().iter().product()
    }

    /// Multiply-adds of the forward, every kernel tap counted (also those that fall in the
    /// padding): conv `batch out_ch out_h out_w in_ch k^2`, transposed `batch in_ch in_h in_w
    /// out_ch k^2`. Each backward (input or weight) does the same number.
    pub fn macs(&self) -> f64 {
        let taps = (self.in_ch * self.out_ch * self.kernel * self.kernel) as f64;
        let pixels = if self.transposed {
            self.in_h * self.in_w
        } else {
            self.out_h() * self.out_w()
        };
        self.batch as f64 * pixels as f64 * taps
    }

    /// Floating-point operations of the forward: 2 per multiply-add.
    pub fn flops(&self) -> f64 {
        2.0 * self.macs()
    }

    /// Positive sizes, an output of at least one pixel, and every tensor length and padded
    /// coordinate below 2^31 (the kernels index with 32-bit integers).
    pub fn validate(&self) -> Result<(), String> {
        let kind = if self.transposed {
            "conv_transpose2d"
        } else {
            "conv2d"
        };
        for (name, v) in [
            ("batch", self.batch),
            ("in_ch", self.in_ch),
            ("out_ch", self.out_ch),
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("kernel", self.kernel),
            ("stride", self.stride),
        ] {
            if v == 0 {
                return Err(format!("{kind}: {name} must be at least 1"));
            }
        }
        // Sizes beyond i32 are rejected before any product can overflow i128.
        for (name, v) in [
            ("batch", self.batch),
            ("in_ch", self.in_ch),
            ("out_ch", self.out_ch),
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("kernel", self.kernel),
            ("stride", self.stride),
            ("pad", self.pad),
        ] {
            if v as u128 > MAX_INDEX as u128 {
                return Err(format!("{kind}: {name} = {v} exceeds 2^31 - 1"));
            }
        }
        let (oh, ow) = (self.out_len_exact(self.in_h), self.out_len_exact(self.in_w));
        if oh < 1 || ow < 1 {
            return Err(format!(
                "{kind}: {}x{} input, kernel {}, stride {}, padding {} gives a {oh}x{ow} output",
                self.in_h, self.in_w, self.kernel, self.stride, self.pad
            ));
        }
        let (b, ci, co, ih, iw, k, s, p) = (
            self.batch as i128,
            self.in_ch as i128,
            self.out_ch as i128,
            self.in_h as i128,
            self.in_w as i128,
            self.kernel as i128,
            self.stride as i128,
            self.pad as i128,
        );
        // The largest (spatial size x stride + padding + kernel) any kernel computes.
        let span = (ih.max(iw).max(oh).max(ow) + 1) * s + 2 * p + k;
        for (what, v) in [
            ("input", b * ci * ih * iw),
            ("output", b * co * oh * ow),
            ("weight", ci * co * k * k),
            ("padded coordinate", span),
        ] {
            if v > MAX_INDEX {
                return Err(format!(
                    "{kind}: {what} size {v} exceeds 2^31 - 1 (32-bit indexing)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(in_hw: usize, k: usize, s: usize, p: usize, transposed: bool) -> ConvGeom {
        ConvGeom {
            batch: 2,
            in_ch: 3,
            out_ch: 5,
            in_h: in_hw,
            in_w: in_hw,
            kernel: k,
            stride: s,
            pad: p,
            transposed,
        }
    }

    #[test]
    fn output_sizes_follow_pytorch() {
        // The conv VAE: 28 -> 14 -> 7 and back.
        assert_eq!(geom(28, 4, 2, 1, false).out_h(), 14);
        assert_eq!(geom(14, 4, 2, 1, false).out_h(), 7);
        assert_eq!(geom(7, 4, 2, 1, true).out_h(), 14);
        assert_eq!(geom(14, 4, 2, 1, true).out_h(), 28);
        // floor division: 7 + 2 - 4 = 5, 5 / 2 + 1 = 3
        assert_eq!(geom(7, 4, 2, 1, false).out_h(), 3);
        assert_eq!(geom(5, 3, 1, 0, false).out_w(), 3);
        assert_eq!(geom(3, 3, 1, 0, true).out_w(), 5);
        let g = geom(28, 4, 2, 1, false);
        assert_eq!(g.weight_shape(), [5, 3, 4, 4]);
        assert_eq!(geom(7, 4, 2, 1, true).weight_shape(), [3, 5, 4, 4]);
        assert_eq!(g.input_len(), 2 * 3 * 28 * 28);
        assert_eq!(g.output_len(), 2 * 5 * 14 * 14);
        assert_eq!(g.flops(), 2.0 * (2 * 5 * 14 * 14 * 3 * 16) as f64);
    }

    #[test]
    fn validate_rejects_empty_and_oversized_geometries() {
        assert!(geom(28, 4, 2, 1, false).validate().is_ok());
        assert!(
            geom(2, 3, 1, 0, false).validate().is_err(),
            "kernel larger than input"
        );
        assert!(
            geom(2, 3, 1, 1, false).validate().is_ok(),
            "padding makes it fit"
        );
        assert!(
            geom(1, 1, 1, 1, true).validate().is_err(),
            "transposed crops to nothing"
        );
        let mut g = geom(28, 4, 2, 1, false);
        g.stride = 0;
        assert!(g.validate().unwrap_err().contains("stride"));
        g.stride = 1;
        g.batch = 1 << 30;
        assert!(g.validate().unwrap_err().contains("2^31"));
    }
}
