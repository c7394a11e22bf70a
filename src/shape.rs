//! Shape arithmetic written once for every backend: the geometry of a convolution over a batch.

/// One conv layer applied to a batch: PyTorch's Conv2d (weights [out_ch, in_ch, k, k]) or,
/// with `transposed`, ConvTranspose2d (weights [in_ch, out_ch, k, k]); square kernels.
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

impl ConvGeom {
    fn out_side(&self, side: usize) -> usize {
        if self.transposed {
            (side - 1) * self.stride + self.kernel - 2 * self.pad
        } else {
            (side + 2 * self.pad - self.kernel) / self.stride + 1
        }
    }

    pub fn out_h(&self) -> usize {
        self.out_side(self.in_h)
    }

    pub fn out_w(&self) -> usize {
        self.out_side(self.in_w)
    }
}
