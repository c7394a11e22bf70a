//! One linear layer's three products on seeded random operands, run by any variant and checked
//! against the CPU reference (`cpu::ops`) on a few sampled rows: what the autotuner and the
//! kernel sweep both need. Sampling keeps the check cheap at any batch (a full CPU product at
//! 4096 x 784 x 400 takes seconds) while still catching a kernel that is wrong anywhere in a
//! row, at the first, middle and last rows of the output.

use rand::{Rng, SeedableRng};

use crate::cpu;
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::{self, Dispatch, LinearVariant};
use crate::gpu::GpuContext;
use crate::model::op::Act;

/// The three products of a linear layer, as training runs them: forward with relu fused,
/// backward-input through a relu mask, backward-weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Product {
    Forward,
    BackwardInput,
    BackwardWeight,
}

impl Product {
    /// The three, in the order training runs them and [`LinearTrial`] stores their outputs.
    pub const ALL: [Product; 3] = [
        Product::Forward,
        Product::BackwardInput,
        Product::BackwardWeight,
    ];

    /// The builder's name in `gpu::ops`, as benchmark rows name the kernel.
    pub fn name(self) -> &'static str {
        match self {
            Product::Forward => "linear_forward",
            Product::BackwardInput => "linear_backward_input",
            Product::BackwardWeight => "linear_backward_weight",
        }
    }

    /// The variants with a kernel of their own for this product (`tiled`'s backward
    /// products are reg4x4's).
    pub fn variants(self) -> &'static [LinearVariant] {
        match self {
            Product::Forward => &LinearVariant::ALL,
            _ => &[
                LinearVariant::Reg4x4,
                LinearVariant::Reg8x8,
                LinearVariant::Sg16x4,
            ],
        }
    }
}

/// Operands of `x[m, k] -> y[m, n]` on the host and the device, and one output per product.
pub struct LinearTrial {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    dy: Vec<f32>,
    mask: Vec<f32>,
    dev: [View; 5],
    outs: [View; 3],
}

fn random(len: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

impl LinearTrial {
    /// Operands drawn uniformly from [-1, 1) under `seed` (the relu mask clamped at 0), uploaded,
    /// with zeroed outputs `[m, n]`, `[m, k]` and `[n, k]`.
    pub fn new(ctx: &GpuContext, m: usize, k: usize, n: usize, seed: u64) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let x = random(m * k, &mut rng);
        let w = random(n * k, &mut rng);
        let b = random(n, &mut rng);
        let dy = random(m * n, &mut rng);
        let mask: Vec<f32> = random(m * k, &mut rng)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let up = |name: &str, data: &[f32]| View::whole(&buffers::upload(ctx, name, data));
        let dev = [
            up("x", &x),
            up("w", &w),
            up("b", &b),
            up("dy", &dy),
            up("mask", &mask),
        ];
        let out = |len: usize| View::whole(&buffers::zeros(ctx, "trial out", len as u64));
        let outs = [out(m * n), out(m * k), out(n * k)];
        LinearTrial {
            m,
            k,
            n,
            x,
            w,
            b,
            dy,
            mask,
            dev,
            outs,
        }
    }

    /// Where product `p` writes: `y[m, n]`, `dx[m, k]` or `dw[n, k]`.
    pub fn output(&self, p: Product) -> &View {
        &self.outs[p as usize]
    }

    /// Multiply-adds summed into each output element (for the rounding bound).
    pub fn terms(&self, p: Product) -> usize {
        match p {
            Product::Forward => self.k,
            Product::BackwardInput => self.n,
            Product::BackwardWeight => self.m,
        }
    }

    /// The dispatch of product `p` by `variant` (not accumulating: reruns give the same output).
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        variant: LinearVariant,
        p: Product,
    ) -> Result<Dispatch, GpuError> {
        let (m, k, n) = (self.m, self.k, self.n);
        let [x, w, b, dy, mask] = &self.dev;
        let out = self.output(p);
        match p {
            Product::Forward => ops::linear_forward(ctx, variant, out, x, w, b, m, k, n, Act::Relu),
            Product::BackwardInput => {
                ops::linear_backward_input(ctx, variant, out, dy, w, Some(mask), m, k, n, false)
            }
            Product::BackwardWeight => {
                ops::linear_backward_weight(ctx, variant, out, None, dy, x, m, k, n, false)
            }
        }
    }

    /// The output rows checked: first, middle, last.
    fn sampled(rows: usize) -> Vec<usize> {
        let mut v = vec![0, rows / 2, rows.saturating_sub(1)];
        v.dedup();
        v
    }

    /// Reads product `p`'s output (after its dispatch has run) and compares the sampled rows
    /// with `cpu::ops` on the same operands: the largest absolute error, or a validation error
    /// naming the shape when it exceeds 1e-5 per summed term (values in [-1, 1]: rounding
    /// grows like sqrt(terms) ulps, so this leaves room). `corrupt` spoils the read-back first:
    /// the test hook that stands for a wrong kernel.
    pub fn check(&self, ctx: &GpuContext, p: Product, corrupt: bool) -> Result<f32, GpuError> {
        let mut got: Vec<f32> = buffers::read(ctx, self.output(p))?;
        if corrupt {
            got[0] += 1.0;
        }
        let (m, k, n) = (self.m, self.k, self.n);
        let mut worst = 0.0f32;
        let mut compare = |got_row: &[f32], want: &[f32]| {
            for (g, e) in got_row.iter().zip(want) {
                let err = (g - e).abs();
                // NaN never compares greater: keep it as the worst
                if err.is_nan() || err > worst {
                    worst = if err.is_nan() { f32::INFINITY } else { err };
                }
            }
        };
        match p {
            Product::Forward => {
                for r in Self::sampled(m) {
                    let mut y = vec![0.0f32; n];
                    let x = &self.x[r * k..(r + 1) * k];
                    cpu::ops::linear_forward(&mut y, x, &self.w, &self.b, 1, k, n, Act::Relu);
                    compare(&got[r * n..(r + 1) * n], &y);
                }
            }
            Product::BackwardInput => {
                for r in Self::sampled(m) {
                    let mut dx = vec![0.0f32; k];
                    let dy = &self.dy[r * n..(r + 1) * n];
                    let mask = &self.mask[r * k..(r + 1) * k];
                    cpu::ops::linear_backward_input(
                        &mut dx,
                        dy,
                        &self.w,
                        Some(mask),
                        1,
                        k,
                        n,
                        false,
                    );
                    compare(&got[r * k..(r + 1) * k], &dx);
                }
            }
            Product::BackwardWeight => {
                for o in Self::sampled(n) {
                    // dw's row o is dy's column o against x
                    let dy_col: Vec<f32> = (0..m).map(|r| self.dy[r * n + o]).collect();
                    let mut dw = vec![0.0f32; k];
                    cpu::ops::linear_backward_weight(&mut dw, &dy_col, &self.x, m, k, 1, false);
                    compare(&got[o * k..(o + 1) * k], &dw);
                }
            }
        }
        let bound = 1e-5 * self.terms(p) as f32;
        if worst > bound {
            return Err(GpuError::Validation(format!(
                "{} at {m}x{k}->{n}: max error {worst} exceeds {bound}",
                p.name()
            )));
        }
        Ok(worst)
    }
}
