//! Classical restoration baselines that `eval-restore` sets beside the VAE methods: smoothing
//! filters and total variation for noise, harmonic and biharmonic fills for missing pixels,
//! Wiener and Richardson-Lucy deconvolution for blur. All work on one grey plane: `&[f32]` of
//! `h * w` row-major values in [0, 1]; colour images are restored plane by plane.
//!
//! The filters and TV follow scipy.ndimage / scikit-image closely enough to be checked against
//! them (tests/restore_classical.rs, fixture from tools/make-metrics-fixture.py); where a
//! function departs from its reference its doc comment says where and why. The deconvolutions
//! use the project's blur operator `A` and its adjoint (`restore::blur`), so they invert exactly
//! the degradation the VAE methods see.

use crate::restore::blur::{blur, blur_adjoint, Psf};
pub use crate::restore::degrade::DegradationKind;

/// One classical baseline with one tuning parameter (none for the fills).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Baseline {
    Gaussian,
    Median,
    Tv,
    Harmonic,
    Biharmonic,
    Wiener,
    RichardsonLucy,
}

/// TV iterations when the baseline runs from the grid (scikit-image's default `max_num_iter`).
pub const TV_ITERS: usize = 200;

impl Baseline {
    /// Every baseline, in the order the tables list them.
    pub const ALL: [Baseline; 7] = [
        Baseline::Gaussian,
        Baseline::Median,
        Baseline::Tv,
        Baseline::Harmonic,
        Baseline::Biharmonic,
        Baseline::Wiener,
        Baseline::RichardsonLucy,
    ];

    /// The name tables and CSV files use.
    pub fn name(&self) -> &'static str {
        match self {
            Baseline::Gaussian => "gaussian",
            Baseline::Median => "median",
            Baseline::Tv => "tv",
            Baseline::Harmonic => "harmonic",
            Baseline::Biharmonic => "biharmonic",
            Baseline::Wiener => "wiener",
            Baseline::RichardsonLucy => "richardson-lucy",
        }
    }

    /// The baseline called `name` (as [`Baseline::name`] spells it).
    pub fn from_name(name: &str) -> Option<Baseline> {
        Baseline::ALL.into_iter().find(|b| b.name() == name)
    }

    /// What the parameter means ("-" for the fills, which have none).
    pub fn param_name(&self) -> &'static str {
        match self {
            Baseline::Gaussian => "sigma",
            Baseline::Median => "radius",
            Baseline::Tv => "weight",
            Baseline::Harmonic | Baseline::Biharmonic => "-",
            Baseline::Wiener => "nsr",
            Baseline::RichardsonLucy => "iters",
        }
    }

    /// The parameter values to try; the caller keeps the best by mean PSNR on a validation
    /// slice, per degradation level. The fills have one dummy value (0), so every baseline is
    /// tuned the same way. The ranges cover noise sigma 0.05-0.5 and blur sigma 0.5-3 on [0, 1]
    /// images; they reach past every value a digit case chose (a choice at a grid's edge would
    /// mean an under-tuned baseline).
    pub fn params(&self) -> &'static [f32] {
        match self {
            Baseline::Gaussian => &[0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
            Baseline::Median => &[1.0, 2.0, 3.0],
            Baseline::Tv => &[0.01, 0.02, 0.03, 0.06, 0.1, 0.15, 0.25, 0.4, 0.7],
            Baseline::Harmonic | Baseline::Biharmonic => &[0.0],
            Baseline::Wiener => &[1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
            Baseline::RichardsonLucy => &[5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0],
        }
    }

    /// Whether the baseline is meant for this kind of degradation: smoothing for noise (the
    /// median also for impulses, where it is the classical answer), fills for masks,
    /// deconvolution for blur.
    pub fn applies_to(&self, kind: DegradationKind) -> bool {
        use DegradationKind as K;
        match self {
            Baseline::Gaussian | Baseline::Tv => kind == K::Noise,
            Baseline::Median => matches!(kind, K::Noise | K::Impulse),
            Baseline::Harmonic | Baseline::Biharmonic => kind == K::Mask,
            Baseline::Wiener | Baseline::RichardsonLucy => kind == K::Blur,
        }
    }

    /// Restores the `h` x `w` plane `y` with parameter `param` (one of [`Baseline::params`];
    /// the median's radius and RL's iterations are rounded). The fills need `known` (true where
    /// the pixel is known), the deconvolutions the `psf`; the others ignore both. Output: `h * w`
    /// values clipped to [0, 1], as a restored picture is shown and scored.
    pub fn run(
        &self,
        param: f32,
        y: &[f32],
        known: Option<&[bool]>,
        psf: Option<&Psf>,
        h: usize,
        w: usize,
    ) -> Result<Vec<f32>, String> {
        if y.len() != h * w {
            return Err(format!("{}: {} pixels for {h} x {w}", self.name(), y.len()));
        }
        let need_known = || match known {
            Some(k) if k.len() == h * w => Ok(k),
            Some(k) => Err(format!(
                "{}: mask of {} for {h} x {w}",
                self.name(),
                k.len()
            )),
            None => Err(format!("{} needs the mask of known pixels", self.name())),
        };
        let need_psf = || psf.ok_or_else(|| format!("{} needs the blur kernel", self.name()));
        let count = |p: f32| p.round().max(0.0) as usize;
        let mut out = match self {
            Baseline::Gaussian => gaussian_filter(y, h, w, param),
            Baseline::Median => median_filter(y, h, w, count(param)),
            Baseline::Tv => tv_denoise(y, h, w, param, TV_ITERS),
            Baseline::Harmonic => harmonic_fill(y, need_known()?, h, w),
            Baseline::Biharmonic => biharmonic_fill(y, need_known()?, h, w),
            Baseline::Wiener => wiener_deconv(y, h, w, need_psf()?, param),
            Baseline::RichardsonLucy => richardson_lucy(y, h, w, need_psf()?, count(param)),
        };
        out.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        Ok(out)
    }
}

fn check_plane(img: &[f32], h: usize, w: usize, op: &str) {
    assert_eq!(
        img.len(),
        h * w,
        "{op}: plane of {} for {h} x {w}",
        img.len()
    );
}

/// scipy.ndimage's 'reflect' border (d c b a | a b c d | d c b a), for any offset: a kernel
/// wider than the image reflects again, as scipy does.
fn reflect(i: isize, n: usize) -> usize {
    let period = 2 * n as isize;
    let m = i.rem_euclid(period);
    if m < n as isize {
        m as usize
    } else {
        (period - 1 - m) as usize
    }
}

/// scipy's normalised 1-D Gaussian, taps `-radius..=radius`, radius `int(truncate sigma + 0.5)`.
fn gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as isize;
    let k: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / (sigma * sigma) * (x * x) as f64).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.into_iter().map(|v| v / sum).collect()
}

/// Correlates each length-`n` line of `img` (the lines start `start(l)` apart by `stride`) with
/// the odd `kernel`, reflect border, in place; `line` and `padded` are scratch.
fn correlate_lines(
    img: &mut [f64],
    lines: usize,
    n: usize,
    start: impl Fn(usize) -> usize,
    stride: usize,
    kernel: &[f64],
) {
    let r = kernel.len() / 2;
    let mut padded = vec![0.0; n + 2 * r];
    for l in 0..lines {
        let s = start(l);
        for (j, p) in padded.iter_mut().enumerate() {
            *p = img[s + reflect(j as isize - r as isize, n) * stride];
        }
        for i in 0..n {
            img[s + i * stride] = padded[i..i + kernel.len()]
                .iter()
                .zip(kernel)
                .map(|(a, b)| a * b)
                .sum();
        }
    }
}

/// Gaussian smoothing in f64 as scipy's `gaussian_filter(img, sigma, mode='reflect',
/// truncate=truncate)`: separable, rows (axis 0) first. Output `h * w`. Shared with the SSIM
/// window (truncate 3.5 there).
pub(crate) fn gaussian_filter_f64(
    img: &[f64],
    h: usize,
    w: usize,
    sigma: f64,
    truncate: f64,
) -> Vec<f64> {
    assert_eq!(img.len(), h * w, "gaussian filter: plane size");
    let mut out = img.to_vec();
    if sigma <= 0.0 || h * w == 0 {
        return out;
    }
    let k = gaussian_kernel(sigma, truncate);
    correlate_lines(&mut out, w, h, |x| x, w, &k); // down each column
    correlate_lines(&mut out, h, w, |y| y * w, 1, &k); // along each row
    out
}

/// Gaussian smoothing with standard deviation `sigma` pixels (sigma <= 0: a copy), as
/// scipy.ndimage.gaussian_filter with mode 'reflect' and truncate 4: a separable kernel of
/// radius `int(4 sigma + 0.5)`, computed in f64. Output `h * w`.
pub fn gaussian_filter(img: &[f32], h: usize, w: usize, sigma: f32) -> Vec<f32> {
    check_plane(img, h, w, "gaussian_filter");
    let x: Vec<f64> = img.iter().map(|&v| v as f64).collect();
    gaussian_filter_f64(&x, h, w, sigma as f64, 4.0)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// The median of each `(2 radius + 1)^2` window, reflect border, as scipy.ndimage.median_filter
/// with `size = 2 radius + 1, mode='reflect'` (radius 0: a copy). Output `h * w`. O(h w r^2)
/// with a selection per pixel, fine for the radii of [`Baseline::params`].
pub fn median_filter(img: &[f32], h: usize, w: usize, radius: usize) -> Vec<f32> {
    check_plane(img, h, w, "median_filter");
    let r = radius as isize;
    let side = 2 * radius + 1;
    let mut window = Vec::with_capacity(side * side);
    let mut out = vec![0.0; h * w];
    for y in 0..h {
        for x in 0..w {
            window.clear();
            for dy in -r..=r {
                let row = reflect(y as isize + dy, h) * w;
                for dx in -r..=r {
                    window.push(img[row + reflect(x as isize + dx, w)]);
                }
            }
            let mid = window.len() / 2;
            let (_, m, _) = window.select_nth_unstable_by(mid, f32::total_cmp);
            out[y * w + x] = *m;
        }
    }
    out
}

/// Total-variation denoising by Chambolle's projection algorithm (A. Chambolle, "An algorithm
/// for total variation minimization and applications", JMIV 2004), step by step as
/// scikit-image's `denoise_tv_chambolle(img, weight, eps=2e-4, max_num_iter=iters)`: the dual
/// field p is updated with step 1/4, and the iteration stops once the energy changes by less
/// than 2e-4 of its first value, or after `iters` (0: a copy). Larger `weight` smooths more.
/// Fields in f32, energies summed in f64. Output `h * w` (not clipped).
pub fn tv_denoise(img: &[f32], h: usize, w: usize, weight: f32, iters: usize) -> Vec<f32> {
    check_plane(img, h, w, "tv_denoise");
    const EPS: f64 = 2e-4;
    const TAU: f32 = 0.25; // 1 / (2 ndim)
    let n = h * w;
    let mut out = img.to_vec();
    if weight <= 0.0 || n == 0 {
        return out;
    }
    // p0: the dual field along rows (axis 0), p1 along columns; p0 on the last row and p1 on
    // the last column stay 0, as the forward differences there are 0.
    let (mut p0, mut p1) = (vec![0.0f32; n], vec![0.0f32; n]);
    let (mut e_init, mut e_prev) = (0.0f64, 0.0f64);
    for i in 0..iters {
        // out = img + div p, the backward-difference divergence (skimage's d); 0 at i = 0.
        let mut e = 0.0f64;
        if i > 0 {
            for y in 0..h {
                for x in 0..w {
                    let k = y * w + x;
                    let mut d = -p0[k] - p1[k];
                    if y > 0 {
                        d += p0[k - w];
                    }
                    if x > 0 {
                        d += p1[k - 1];
                    }
                    out[k] = img[k] + d;
                    e += (d as f64) * (d as f64);
                }
            }
        }
        let mut tv = 0.0f64;
        for y in 0..h {
            for x in 0..w {
                let k = y * w + x;
                let g0 = if y + 1 < h { out[k + w] - out[k] } else { 0.0 };
                let g1 = if x + 1 < w { out[k + 1] - out[k] } else { 0.0 };
                let norm = (g0 * g0 + g1 * g1).sqrt();
                tv += norm as f64;
                let scale = 1.0 + norm * (TAU / weight);
                p0[k] = (p0[k] - TAU * g0) / scale;
                p1[k] = (p1[k] - TAU * g1) / scale;
            }
        }
        e = (e + weight as f64 * tv) / n as f64;
        if i == 0 {
            (e_init, e_prev) = (e, e);
        } else if (e_prev - e).abs() < EPS * e_init {
            break;
        } else {
            e_prev = e;
        }
    }
    out
}

/// Preconditioned conjugate gradients on the symmetric positive definite `apply` (out = M v):
/// improves `x` towards M x = b until ||r|| <= tol ||b|| or `max_iter` steps; `inv_diag`
/// (Jacobi) scales the residual. Returns the steps taken.
fn conjugate_gradients(
    mut apply: impl FnMut(&[f64], &mut [f64]),
    inv_diag: Option<&[f64]>,
    b: &[f64],
    x: &mut [f64],
    tol: f64,
    max_iter: usize,
) -> usize {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let precondition = |r: &[f64], z: &mut Vec<f64>| {
        z.clear();
        match inv_diag {
            Some(d) => z.extend(r.iter().zip(d).map(|(a, b)| a * b)),
            None => z.extend_from_slice(r),
        }
    };
    let n = b.len();
    let mut q = vec![0.0; n];
    apply(x, &mut q);
    let mut r: Vec<f64> = b.iter().zip(&q).map(|(b, q)| b - q).collect();
    let goal = tol * dot(b, b).sqrt();
    let mut z = Vec::with_capacity(n);
    precondition(&r, &mut z);
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    for it in 0..max_iter {
        if dot(&r, &r).sqrt() <= goal {
            return it;
        }
        apply(&p, &mut q);
        let pq = dot(&p, &q);
        if pq <= 0.0 || !pq.is_finite() {
            return it; // converged to rounding, or M is not positive definite on p
        }
        let alpha = rz / pq;
        x.iter_mut().zip(&p).for_each(|(x, p)| *x += alpha * p);
        r.iter_mut().zip(&q).for_each(|(r, q)| *r -= alpha * q);
        precondition(&r, &mut z);
        let rz_next = dot(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        p.iter_mut().zip(&z).for_each(|(p, z)| *p = z + beta * *p);
    }
    max_iter
}

/// The grid's graph Laplacian at pixel k, `sum over the 4-neighbours n inside the image of
/// (v[n] - v[k])`: symmetric, and with no flux through the image border (Neumann).
fn laplacian_at(v: &[f64], k: usize, h: usize, w: usize) -> f64 {
    let (y, x) = (k / w, k % w);
    let mut s = 0.0;
    if y > 0 {
        s += v[k - w] - v[k];
    }
    if y + 1 < h {
        s += v[k + w] - v[k];
    }
    if x > 0 {
        s += v[k - 1] - v[k];
    }
    if x + 1 < w {
        s += v[k + 1] - v[k];
    }
    s
}

fn degree(k: usize, h: usize, w: usize) -> f64 {
    let (y, x) = (k / w, k % w);
    [y > 0, y + 1 < h, x > 0, x + 1 < w]
        .iter()
        .filter(|&&b| b)
        .count() as f64
}

/// The unknown pixels of a fill problem and the pixels within one step of them (where the
/// biharmonic operator needs the Laplacian).
struct Holes {
    unknown: Vec<usize>,
    ring: Vec<usize>,
}

impl Holes {
    fn new(known: &[bool], h: usize, w: usize) -> Holes {
        let unknown: Vec<usize> = (0..h * w).filter(|&k| !known[k]).collect();
        let ring = (0..h * w)
            .filter(|&k| {
                let (y, x) = (k / w, k % w);
                !known[k]
                    || (y > 0 && !known[k - w])
                    || (y + 1 < h && !known[k + w])
                    || (x > 0 && !known[k - 1])
                    || (x + 1 < w && !known[k + 1])
            })
            .collect();
        Holes { unknown, ring }
    }
}

/// Shared set-up of the fills: the plane in f64 with the unknown pixels zeroed, and the mean
/// of the known pixels (None when there are none).
fn fill_start(
    img: &[f32],
    known: &[bool],
    h: usize,
    w: usize,
    op: &str,
) -> (Vec<f64>, Option<f64>) {
    check_plane(img, h, w, op);
    assert_eq!(known.len(), h * w, "{op}: mask size");
    let fixed: Vec<f64> = img
        .iter()
        .zip(known)
        .map(|(&v, &k)| if k { v as f64 } else { 0.0 })
        .collect();
    let count = known.iter().filter(|&&k| k).count();
    let mean = (count > 0).then(|| fixed.iter().sum::<f64>() / count as f64);
    (fixed, mean)
}

/// Relative residual at which the fills stop; far below 8-bit resolution.
const FILL_TOL: f64 = 1e-7;

/// Harmonic inpainting: the pixels where `known` is false are replaced by the solution of
/// Laplace's equation (5-point stencil, no flux through the image border) with the known pixels
/// as boundary values, i.e. each missing pixel is the mean of its neighbours in the image.
/// Solved by Jacobi-preconditioned conjugate gradients on the missing pixels only, started from
/// the known pixels' mean, to a relative residual of 1e-7. Known pixels are returned unchanged.
/// On the 4-connected grid every hole touches a known pixel unless none is known; then there
/// is no mean to fall back on and the result is flat 0.5 (mid grey). Output `h * w`. Cost:
/// O(missing pixels) per step, about (width of the largest hole) steps.
pub fn harmonic_fill(img: &[f32], known: &[bool], h: usize, w: usize) -> Vec<f32> {
    let (fixed, mean) = fill_start(img, known, h, w, "harmonic_fill");
    let Some(mean) = mean else {
        return vec![0.5; h * w];
    };
    let holes = Holes::new(known, h, w);
    let u = solve_harmonic(&fixed, &holes, mean, h, w);
    scatter(img, &holes.unknown, &u)
}

/// The harmonic values at `holes.unknown`: -L_UU u = L_UK y_K, from `start` everywhere.
fn solve_harmonic(fixed: &[f64], holes: &Holes, start: f64, h: usize, w: usize) -> Vec<f64> {
    let unk = &holes.unknown;
    // b = (L y_bar)_U with y_bar zero on the holes; M u = -(L u_tilde)_U, u_tilde zero outside.
    let b: Vec<f64> = unk.iter().map(|&k| laplacian_at(fixed, k, h, w)).collect();
    let inv_diag: Vec<f64> = unk.iter().map(|&k| 1.0 / degree(k, h, w)).collect();
    let mut full = vec![0.0; h * w];
    let apply = |v: &[f64], out: &mut [f64]| {
        unk.iter().zip(v).for_each(|(&k, &v)| full[k] = v);
        for (o, &k) in out.iter_mut().zip(unk) {
            *o = -laplacian_at(&full, k, h, w);
        }
    };
    let mut u = vec![start; unk.len()];
    let max_iter = 2 * unk.len() + 50;
    conjugate_gradients(apply, Some(&inv_diag), &b, &mut u, FILL_TOL, max_iter);
    u
}

/// `img` with the pixels `at` replaced by `values`.
fn scatter(img: &[f32], at: &[usize], values: &[f64]) -> Vec<f32> {
    let mut out = img.to_vec();
    at.iter().zip(values).for_each(|(&k, &v)| out[k] = v as f32);
    out
}

/// Biharmonic inpainting: the missing pixels solve the biharmonic equation L^2 u = 0 (the
/// 13-point stencil of the 5-point Laplacian L applied twice) with the known pixels as boundary
/// values, which continues gradients into the holes where the harmonic fill flattens them. The
/// reference point is scikit-image's `inpaint_biharmonic` (Damelin & Hoang 2018), which this
/// equals for holes 2 or more pixels clear of the image border; next to the border L here has
/// no flux through it (so L^2 restricted to the holes is symmetric positive definite), where
/// skimage truncates the stencil. Solved by Jacobi-preconditioned conjugate gradients started
/// from the harmonic fill, to a relative residual of 1e-7 (or 4 x missing pixels + 200 steps);
/// the filled values are clipped to the range of the known pixels, as skimage does. With no
/// known pixel the result is flat 0.5. Output `h * w`. Cost: O(missing pixels) per step, about
/// (width of the largest hole)^2 steps: a 28 x 28 hole takes milliseconds, a 100 x 100 one on a
/// photo seconds.
pub fn biharmonic_fill(img: &[f32], known: &[bool], h: usize, w: usize) -> Vec<f32> {
    let (fixed, mean) = fill_start(img, known, h, w, "biharmonic_fill");
    let Some(mean) = mean else {
        return vec![0.5; h * w];
    };
    let holes = Holes::new(known, h, w);
    let unk = &holes.unknown;
    let mut u = solve_harmonic(&fixed, &holes, mean, h, w);
    // (L^2 u_tilde)_U = -(L^2 y_bar)_U; L^2 at a hole reads L on the ring around it.
    let mut lap = vec![0.0; h * w];
    for &k in &holes.ring {
        lap[k] = laplacian_at(&fixed, k, h, w);
    }
    let b: Vec<f64> = unk.iter().map(|&k| -laplacian_at(&lap, k, h, w)).collect();
    let inv_diag: Vec<f64> = unk
        .iter()
        .map(|&k| {
            let d = degree(k, h, w);
            1.0 / (d * d + d)
        })
        .collect();
    let mut full = vec![0.0; h * w];
    let ring = &holes.ring;
    let apply = |v: &[f64], out: &mut [f64]| {
        unk.iter().zip(v).for_each(|(&k, &v)| full[k] = v);
        for &k in ring {
            lap[k] = laplacian_at(&full, k, h, w);
        }
        for (o, &k) in out.iter_mut().zip(unk) {
            *o = laplacian_at(&lap, k, h, w);
        }
    };
    let max_iter = 4 * unk.len() + 200;
    conjugate_gradients(apply, Some(&inv_diag), &b, &mut u, FILL_TOL, max_iter);
    let known_values = || img.iter().zip(known).filter(|(_, &k)| k).map(|(&v, _)| v);
    let lo = known_values().fold(f32::INFINITY, f32::min) as f64;
    let hi = known_values().fold(f32::NEG_INFINITY, f32::max) as f64;
    u.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
    scatter(img, unk, &u)
}

/// Wiener deconvolution as regularised least squares: x minimising ||A x - y||^2 + nsr ||x||^2,
/// i.e. (A^T A + nsr I) x = A^T y, with A the zero-padded 'same' blur by `psf`
/// (`restore::blur`). For a circular blur this is exactly the classical Wiener filter with a
/// constant noise-to-signal power ratio, X = conj(H) Y / (|H|^2 + nsr); here it differs only
/// near the border, where A's zero padding replaces the wrap-around. Solved by conjugate
/// gradients from x = y to a relative residual of 1e-3 nsr (within [1e-7, 1e-5]; at most 1000
/// steps). The condition number is at most (1 + nsr) / nsr, so small nsr costs more steps:
/// about 300 at 1e-4, 90 at 1e-3, 30 at 1e-2, each two blurs. Output `h * w`, not clipped.
pub fn wiener_deconv(y: &[f32], h: usize, w: usize, psf: &Psf, nsr: f32) -> Vec<f32> {
    check_plane(y, h, w, "wiener_deconv");
    let nsr = nsr.max(0.0) as f64;
    let to32 = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let atb = blur_adjoint(psf, y, 1, h, w);
    let b: Vec<f64> = atb.iter().map(|&v| v as f64).collect();
    let apply = |v: &[f64], out: &mut [f64]| {
        let ata = blur_adjoint(psf, &blur(psf, &to32(v), 1, h, w), 1, h, w);
        for ((o, a), v) in out.iter_mut().zip(ata).zip(v) {
            *o = a as f64 + nsr * v;
        }
    };
    let mut x: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    // ||x - x*|| <= ||r|| / nsr: the tolerance shrinks with nsr, which keeps the pixels
    // within ~1e-3 of the exact solution (below 8-bit resolution) over the grid's range.
    let tol = (1e-3 * nsr).clamp(1e-7, 1e-5);
    conjugate_gradients(apply, None, &b, &mut x, tol, 1000);
    to32(&x)
}

/// Below this, a blurred estimate counts as zero in Richardson-Lucy (skimage's
/// `filter_epsilon`): the ratio there is set to 0 instead of dividing by almost nothing.
const RL_FILTER_EPS: f32 = 1e-6;

/// Richardson-Lucy deconvolution (W. H. Richardson 1972, L. B. Lucy 1974), the EM iteration
/// for Poisson data y = A x with A the zero-padded 'same' blur by `psf`:
/// `x <- x * A^T(y / (A x)) / A^T 1`, from a flat 0.5 image, `iters` times. As scikit-image's
/// `richardson_lucy(y, psf, iters, clip=False, filter_epsilon=1e-6)`, with one change: the
/// division by A^T 1, which is 1 inside the image and less within a PSF radius of the border;
/// without it (skimage) border pixels lose that fraction of their value every step and darken.
/// Negative y (noise) is taken as 0, as RL needs non-negative data. Output `h * w`,
/// non-negative, not clipped above.
pub fn richardson_lucy(y: &[f32], h: usize, w: usize, psf: &Psf, iters: usize) -> Vec<f32> {
    check_plane(y, h, w, "richardson_lucy");
    let y: Vec<f32> = y.iter().map(|&v| v.max(0.0)).collect();
    let norm = blur_adjoint(psf, &vec![1.0; h * w], 1, h, w);
    let mut x = vec![0.5f32; h * w];
    for _ in 0..iters {
        let ax = blur(psf, &x, 1, h, w);
        let ratio: Vec<f32> = ax
            .iter()
            .zip(&y)
            .map(|(&c, &y)| {
                let c = c + 1e-12;
                if c < RL_FILTER_EPS {
                    0.0
                } else {
                    y / c
                }
            })
            .collect();
        let correction = blur_adjoint(psf, &ratio, 1, h, w);
        for ((x, c), n) in x.iter_mut().zip(correction).zip(&norm) {
            if *n > 0.0 {
                *x *= c / n;
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::rng::normal_at;
    use crate::restore::metrics::psnr;

    /// A smooth test picture in [0.1, 0.9] with edges: a bright square on stripes.
    fn pattern(h: usize, w: usize) -> Vec<f32> {
        (0..h * w)
            .map(|k| {
                let (y, x) = (k / w, k % w);
                let inside = (h / 4..3 * h / 4).contains(&y) && (w / 3..2 * w / 3).contains(&x);
                let stripes = 0.3 + 0.2 * (0.5 * x as f32 + 0.2 * y as f32).sin();
                if inside {
                    0.9
                } else {
                    stripes
                }
            })
            .collect()
    }

    fn noisy(img: &[f32], sigma: f32, seed: u64) -> Vec<f32> {
        img.iter()
            .enumerate()
            .map(|(i, v)| v + sigma * normal_at(seed, 0, 0, i))
            .collect()
    }

    fn mse(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            / a.len() as f64
    }

    fn total_variation(img: &[f32], h: usize, w: usize) -> f64 {
        let mut tv = 0.0;
        for y in 0..h {
            for x in 0..w {
                let k = y * w + x;
                let g0 = if y + 1 < h { img[k + w] - img[k] } else { 0.0 };
                let g1 = if x + 1 < w { img[k + 1] - img[k] } else { 0.0 };
                tv += ((g0 * g0 + g1 * g1) as f64).sqrt();
            }
        }
        tv
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn reflect_mirrors_about_the_edges_and_again_beyond() {
        let got: Vec<usize> = (-5..9).map(|i| reflect(i, 3)).collect();
        // ... | 2 1 0 | 0 1 2 | 2 1 0 | 0 1 2 ...
        assert_eq!(got, [1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2]);
        assert!((-4..4).all(|i| reflect(i, 1) == 0));
    }

    #[test]
    fn gaussian_kernel_matches_scipy_radius_and_sums_to_one() {
        assert_eq!(gaussian_kernel(1.5, 3.5).len(), 11); // the SSIM window
        assert_eq!(gaussian_kernel(1.0, 4.0).len(), 9);
        let k = gaussian_kernel(0.8, 4.0);
        assert_eq!(k.len(), 7);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((k[0] - k[6]).abs() < 1e-15 && k[3] > k[2]);
    }

    #[test]
    fn filters_leave_a_constant_image_unchanged() {
        let (h, w) = (9, 14);
        let c = vec![0.37f32; h * w];
        assert!(max_diff(&gaussian_filter(&c, h, w, 2.5), &c) < 1e-6);
        assert_eq!(median_filter(&c, h, w, 2), c);
        assert_eq!(tv_denoise(&c, h, w, 0.2, 50), c);
        let known: Vec<bool> = (0..h * w).map(|k| k % 3 == 0).collect();
        assert!(max_diff(&harmonic_fill(&c, &known, h, w), &c) < 1e-6);
        assert!(max_diff(&biharmonic_fill(&c, &known, h, w), &c) < 1e-6);
        assert_eq!(gaussian_filter(&c, h, w, 0.0), c);
        assert_eq!(median_filter(&c, h, w, 0), c);
    }

    #[test]
    fn gaussian_smooths_a_point_into_a_symmetric_bump() {
        let (h, w) = (15, 15);
        let mut img = vec![0.0f32; h * w];
        img[7 * w + 7] = 1.0;
        let out = gaussian_filter(&img, h, w, 1.0);
        assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-5); // far from the border
        let g = |y: usize, x: usize| out[y * w + x];
        assert!((g(7, 7) - 1.0 / (2.0 * std::f32::consts::PI)).abs() < 2e-3);
        assert!((g(7, 5) - g(5, 7)).abs() < 1e-7 && (g(7, 5) - g(9, 7)).abs() < 1e-7);
        assert!(g(7, 7) > g(7, 8) && g(7, 8) > g(7, 9));
    }

    #[test]
    fn median_removes_isolated_impulses() {
        let (h, w) = (12, 10);
        let clean = vec![0.5f32; h * w];
        let mut y = clean.clone();
        for (i, k) in [0, 13, 37, 55, 81, 119].into_iter().enumerate() {
            y[k] = if i % 2 == 0 { 1.0 } else { 0.0 };
        }
        assert_eq!(median_filter(&y, h, w, 1), clean);
        // and keeps a straight edge
        let edge: Vec<f32> = (0..h * w)
            .map(|k| if k % w < 4 { 0.1 } else { 0.8 })
            .collect();
        assert_eq!(median_filter(&edge, h, w, 1), edge);
    }

    #[test]
    fn tv_reduces_total_variation_and_noise() {
        let (h, w) = (32, 32);
        let clean: Vec<f32> = (0..h * w)
            .map(|k| if k % w < w / 2 { 0.2 } else { 0.8 })
            .collect();
        let y = noisy(&clean, 0.1, 11);
        let out = tv_denoise(&y, h, w, 0.1, 200);
        assert!(total_variation(&out, h, w) < 0.5 * total_variation(&y, h, w));
        assert!(
            mse(&out, &clean) < 0.25 * mse(&y, &clean),
            "{}",
            mse(&out, &clean)
        );
        // more weight, less variation
        let smoother = tv_denoise(&y, h, w, 0.3, 200);
        assert!(total_variation(&smoother, h, w) < total_variation(&out, h, w));
        assert_eq!(tv_denoise(&y, h, w, 0.1, 0), y);
    }

    /// Interior holes (2 or more pixels from the border) and a few scattered pixels.
    fn interior_mask(h: usize, w: usize) -> Vec<bool> {
        (0..h * w)
            .map(|k| {
                let (y, x) = (k / w, k % w);
                let hole = (4..12).contains(&y) && (3..9).contains(&x);
                let dots = y >= 2 && y + 2 < h && x >= 2 && x + 2 < w && (k * 31) % 7 == 0;
                !(hole || dots)
            })
            .collect()
    }

    #[test]
    fn fills_keep_a_linear_ramp_and_only_biharmonic_keeps_a_quadratic() {
        let (h, w) = (18, 15);
        let known = interior_mask(h, w);
        let ramp: Vec<f32> = (0..h * w)
            .map(|k| 0.1 + 0.03 * (k / w) as f32 + 0.02 * (k % w) as f32)
            .collect();
        let holed: Vec<f32> = ramp
            .iter()
            .zip(&known)
            .map(|(&v, &k)| if k { v } else { 0.0 })
            .collect();
        assert!(max_diff(&harmonic_fill(&holed, &known, h, w), &ramp) < 1e-5);
        assert!(max_diff(&biharmonic_fill(&holed, &known, h, w), &ramp) < 1e-5);
        let bowl: Vec<f32> = (0..h * w)
            .map(|k| {
                // centred off the image: the clip to the known range must not bite
                let (y, x) = ((k / w) as f32 + 3.0, (k % w) as f32 + 2.0);
                0.05 + 0.0013 * (x * x + y * y)
            })
            .collect();
        let holed: Vec<f32> = bowl
            .iter()
            .zip(&known)
            .map(|(&v, &k)| if k { v } else { 0.0 })
            .collect();
        assert!(max_diff(&biharmonic_fill(&holed, &known, h, w), &bowl) < 1e-5);
        assert!(max_diff(&harmonic_fill(&holed, &known, h, w), &bowl) > 0.02);
    }

    #[test]
    fn harmonic_fill_solves_the_mean_value_equation_next_to_the_border_too() {
        let (h, w) = (20, 23);
        let img = pattern(h, w);
        // random 60% missing, including border pixels and corners
        let known: Vec<bool> = (0..h * w).map(|i| normal_at(5, 0, 0, i) > 0.25).collect();
        let out = harmonic_fill(&img, &known, h, w);
        for k in 0..h * w {
            if known[k] {
                assert_eq!(out[k], img[k]);
            } else {
                let v: Vec<f64> = out.iter().map(|&v| v as f64).collect();
                assert!(laplacian_at(&v, k, h, w).abs() < 1e-5, "pixel {k}");
            }
        }
        assert_eq!(
            harmonic_fill(&img, &vec![false; h * w], h, w),
            vec![0.5; h * w]
        );
        assert_eq!(
            biharmonic_fill(&img, &vec![false; h * w], h, w),
            vec![0.5; h * w]
        );
        assert_eq!(harmonic_fill(&img, &vec![true; h * w], h, w), img);
    }

    #[test]
    fn biharmonic_stays_within_the_known_range() {
        let (h, w) = (16, 16);
        let img = pattern(h, w);
        let known: Vec<bool> = (0..h * w)
            .map(|k| (k / w) % 5 != 2 && (k % w) % 4 != 1)
            .collect();
        let out = biharmonic_fill(&img, &known, h, w);
        let (lo, hi) = (0.1f32, 0.9f32);
        assert!(out.iter().all(|&v| (lo..=hi).contains(&v)));
        assert!(mse(&out, &img) < mse(&vec![0.5; h * w], &img));
    }

    #[test]
    fn deconvolution_improves_on_the_blurred_input() {
        let (h, w) = (40, 36);
        let clean = pattern(h, w);
        for psf in [
            Psf::gaussian(1.5, 0).unwrap(),
            Psf::motion(7, 30.0).unwrap(),
        ] {
            let y = blur(&psf, &clean, 1, h, w);
            let base = psnr(&clean, &y);
            let wiener = wiener_deconv(&y, h, w, &psf, 1e-3);
            let rl = richardson_lucy(&y, h, w, &psf, 40);
            assert!(
                psnr(&clean, &wiener) > base + 3.0,
                "{} vs {base}",
                psnr(&clean, &wiener)
            );
            assert!(
                psnr(&clean, &rl) > base + 2.0,
                "{} vs {base}",
                psnr(&clean, &rl)
            );
            // with noise the tuned versions still help
            let yn = noisy(&y, 0.02, 3);
            let base = psnr(&clean, &yn);
            assert!(psnr(&clean, &wiener_deconv(&yn, h, w, &psf, 1e-2)) > base + 1.0);
            assert!(psnr(&clean, &richardson_lucy(&yn, h, w, &psf, 10)) > base + 1.0);
        }
    }

    #[test]
    fn wiener_solves_its_normal_equations() {
        let (h, w) = (17, 19);
        let psf = Psf::gaussian(1.0, 0).unwrap();
        let y = blur(&psf, &pattern(h, w), 1, h, w);
        let nsr = 0.01;
        let x = wiener_deconv(&y, h, w, &psf, nsr);
        let lhs = blur_adjoint(&psf, &blur(&psf, &x, 1, h, w), 1, h, w);
        let rhs = blur_adjoint(&psf, &y, 1, h, w);
        let r: Vec<f32> = lhs.iter().zip(&x).map(|(l, x)| l + nsr * x).collect();
        assert!(max_diff(&r, &rhs) < 1e-4, "{}", max_diff(&r, &rhs));
    }

    #[test]
    fn richardson_lucy_conserves_flux_and_stays_non_negative() {
        // the EM step keeps sum((A^T 1) x) = sum(y) (nothing filtered: y > 0 everywhere)
        let (h, w) = (21, 18);
        let psf = Psf::motion(5, 60.0).unwrap();
        let y = blur(&psf, &pattern(h, w), 1, h, w);
        let x = richardson_lucy(&y, h, w, &psf, 15);
        let norm = blur_adjoint(&psf, &vec![1.0; h * w], 1, h, w);
        let flux: f64 = x.iter().zip(&norm).map(|(x, n)| (x * n) as f64).sum();
        let total: f64 = y.iter().map(|&v| v as f64).sum();
        assert!((flux - total).abs() < 1e-4 * total, "{flux} vs {total}");
        assert!(x.iter().all(|&v| v >= 0.0));
        // negative data is read as 0
        let neg: Vec<f32> = y.iter().map(|v| v - 0.05).collect();
        assert!(richardson_lucy(&neg, h, w, &psf, 5)
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0));
    }

    #[test]
    fn baselines_have_names_grids_kinds_and_run_checks() {
        let (h, w) = (12, 12);
        let y = noisy(&pattern(h, w), 0.1, 2);
        let known: Vec<bool> = (0..h * w).map(|k| k % 4 != 0).collect();
        let psf = Psf::gaussian(1.0, 0).unwrap();
        for b in Baseline::ALL {
            assert_eq!(Baseline::from_name(b.name()), Some(b));
            assert!(!b.params().is_empty());
            for &p in b.params() {
                let out = b.run(p, &y, Some(&known), Some(&psf), h, w).unwrap();
                assert_eq!(out.len(), h * w);
                assert!(out.iter().all(|v| (0.0..=1.0).contains(v)), "{}", b.name());
            }
        }
        use DegradationKind as K;
        for kind in [K::Noise, K::Mask, K::Blur, K::Impulse] {
            assert!(Baseline::ALL.iter().any(|b| b.applies_to(kind)), "{kind:?}");
        }
        assert!(Baseline::Median.applies_to(K::Impulse) && !Baseline::Tv.applies_to(K::Mask));
        assert!(Baseline::Harmonic.run(0.0, &y, None, None, h, w).is_err());
        assert!(Baseline::Wiener
            .run(0.01, &y, Some(&known), None, h, w)
            .is_err());
        assert!(Baseline::Biharmonic
            .run(0.0, &y, Some(&known[1..]), None, h, w)
            .is_err());
        assert!(Baseline::Gaussian
            .run(1.0, &y, None, None, h, w + 1)
            .is_err());
        assert_eq!(Baseline::from_name("bilateral"), None);
    }
}
