//! `wgvae enhance`: brightness, contrast, saturation, gamma and auto-levels of one picture, each a
//! kernel of `shaders/enhance.wgsl` (reference: `cpu::enhance`).
//!
//! Conventions:
//! - Order: whatever flags are given, the steps run as auto-levels, brightness, contrast,
//!   saturation, gamma (Pillow-like chained enhancers in one fixed order).
//! - Brightness, contrast and saturation are Pillow's ImageEnhance Brightness, Contrast and Color:
//!   `out = degenerate + factor (in - degenerate)` with black, the mean-luma grey (Pillow's
//!   `int(mean + 0.5)` of the 8-bit luma) and the pixel's 8-bit luma (Pillow's `convert("L")`).
//!   Factor 1 leaves the picture unchanged, 0 gives black, grey, or the luma picture.
//! - Gamma: `out = in^(1/g)`, as GIMP's levels and ImageMagick's `-gamma`: g > 1 brightens.
//! - Auto-levels: one linear stretch for all channels (hue and grey balance kept), taken from
//!   the histogram of every sample of every channel pooled: at most LOW% of the samples fall
//!   below the black level and at most (100 - HIGH)% above the white level; default 1 and 99.
//! - Values stay floats from step to step, clipped to [0, 1] after each; they are rounded to
//!   8 bits only when written. The grey levels Pillow takes from 8-bit images (the contrast
//!   mean, the luma for saturation, the histogram) are taken from the values rounded to 8 bits.
//!   Pillow truncates each step's result to 8 bits; one step agrees with it within one level.

use std::path::{Path, PathBuf};

use image::ImageFormat;
use thiserror::Error;

use crate::cpu::enhance::{self as cpu, HistogramMode, BINS};
use crate::data::DataError;
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::enhance as gpu;
use crate::gpu::{blocking, ops, GpuContext};
use crate::picture::Picture;

/// The default auto-levels percentiles.
pub const DEFAULT_LEVELS: (f64, f64) = (1.0, 99.0);

/// Why an enhancement was refused or failed: no adjustment or an out-of-range value (usage),
/// the output naming the input, a failed refinement, or the picture's I/O or the GPU.
#[derive(Debug, Error)]
pub enum EnhanceError {
    #[error(
        "no adjustment given: use --auto-levels, --brightness, --contrast, --saturation or --gamma"
    )]
    NothingToDo,
    #[error("{what} must be a finite number >= 0, got {value}")]
    Factor { what: &'static str, value: f32 },
    #[error("--gamma must be a finite number > 0, got {0}")]
    Gamma(f32),
    #[error("--auto-levels needs percentiles 0 <= LOW < HIGH <= 100, got {low},{high}")]
    Levels { low: f64, high: f64 },
    #[error("the output {} is the input; write to another file", path.display())]
    OutputIsInput { path: PathBuf },
    #[error("--vae-refine: {0}")]
    Refine(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// The adjustments asked for; [`Adjustments::steps`] puts them in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Adjustments {
    /// Percentiles (LOW, HIGH), 0 to 100.
    pub auto_levels: Option<(f64, f64)>,
    pub brightness: Option<f32>,
    pub contrast: Option<f32>,
    pub saturation: Option<f32>,
    pub gamma: Option<f32>,
}

/// One adjustment, as the kernels take it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    AutoLevels { low: f64, high: f64 },
    Brightness(f32),
    Contrast(f32),
    Saturation(f32),
    Gamma(f32),
}

impl Step {
    /// The step as the command line reports it, e.g. `gamma 2.2` or `auto-levels 1%..99%`.
    pub fn describe(&self) -> String {
        match self {
            Step::AutoLevels { low, high } => format!("auto-levels {low}%..{high}%"),
            Step::Brightness(b) => format!("brightness {b}"),
            Step::Contrast(c) => format!("contrast {c}"),
            Step::Saturation(s) => format!("saturation {s}"),
            Step::Gamma(g) => format!("gamma {g}"),
        }
    }
}

/// A blend factor: finite and not negative.
pub fn check_factor(what: &'static str, value: f32) -> Result<f32, EnhanceError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(EnhanceError::Factor { what, value })
    }
}

/// A gamma: finite and positive.
pub fn check_gamma(value: f32) -> Result<f32, EnhanceError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(EnhanceError::Gamma(value))
    }
}

/// Auto-levels percentiles: 0 <= low < high <= 100.
pub fn check_levels(low: f64, high: f64) -> Result<(f64, f64), EnhanceError> {
    if (0.0..=100.0).contains(&low) && (0.0..=100.0).contains(&high) && low < high {
        Ok((low, high))
    } else {
        Err(EnhanceError::Levels { low, high })
    }
}

impl Adjustments {
    /// The steps in the fixed order (auto-levels, brightness, contrast, saturation, gamma),
    /// each value checked; at least one.
    pub fn steps(&self) -> Result<Vec<Step>, EnhanceError> {
        let mut steps = Vec::new();
        if let Some((low, high)) = self.auto_levels {
            let (low, high) = check_levels(low, high)?;
            steps.push(Step::AutoLevels { low, high });
        }
        if let Some(b) = self.brightness {
            steps.push(Step::Brightness(check_factor("--brightness", b)?));
        }
        if let Some(c) = self.contrast {
            steps.push(Step::Contrast(check_factor("--contrast", c)?));
        }
        if let Some(s) = self.saturation {
            steps.push(Step::Saturation(check_factor("--saturation", s)?));
        }
        if let Some(g) = self.gamma {
            steps.push(Step::Gamma(check_gamma(g)?));
        }
        if steps.is_empty() {
            return Err(EnhanceError::NothingToDo);
        }
        Ok(steps)
    }
}

/// The histogram an auto-levels or contrast step takes its statistics from, and the percentile
/// counts it compares with.
fn stats_plan(step: &Step, plane: usize, channels: usize) -> (HistogramMode, usize, u32, u32) {
    match *step {
        Step::AutoLevels { low, high } => {
            let total = HistogramMode::Samples.items(plane, channels);
            let (lc, hc) = cpu::percentile_counts(total, low, high);
            (HistogramMode::Samples, total, lc, hc)
        }
        _ => (
            HistogramMode::Luma,
            HistogramMode::Luma.items(plane, channels),
            0,
            0,
        ),
    }
}

/// `steps` applied to `pic` by the CPU reference.
pub fn apply_cpu(pic: &Picture, steps: &[Step]) -> Picture {
    let (plane, channels) = (pic.height * pic.width, pic.channels);
    let n = plane * channels;
    let mut cur = pic.data.clone();
    let mut next = vec![0.0f32; n];
    for step in steps {
        let mut stats = [0.0f32; gpu::STATS_LEN];
        if matches!(step, Step::AutoLevels { .. } | Step::Contrast(_)) {
            let (mode, total, lc, hc) = stats_plan(step, plane, channels);
            let mut bins = vec![0u32; BINS];
            cpu::histogram(&mut bins, &cur, plane, channels, mode);
            cpu::histogram_stats(&mut stats, &bins, total, lc, hc);
        }
        match *step {
            Step::AutoLevels { .. } => cpu::levels(&mut next, &cur, &stats, n),
            Step::Brightness(b) => cpu::brightness(&mut next, &cur, n, b),
            Step::Contrast(c) => cpu::contrast(&mut next, &cur, &stats, n, c),
            Step::Saturation(s) => cpu::saturation(&mut next, &cur, plane, channels, s),
            Step::Gamma(g) => cpu::gamma(&mut next, &cur, n, 1.0 / g),
        }
        std::mem::swap(&mut cur, &mut next);
    }
    Picture::new(channels, pic.height, pic.width, cur)
}

/// `steps` applied to `pic` on the GPU: one upload, every step recorded into one pass (the
/// statistics stay on the GPU), one read-back.
///
/// ```
/// use wgvae::enhance::{apply_cpu, apply_gpu, Adjustments};
/// use wgvae::gpu::GpuContext;
/// use wgvae::picture::Picture;
///
/// let ctx = GpuContext::new(None)?;
/// let photo = Picture::read("docs/example-photo.png".as_ref())?;
/// let steps = Adjustments {
///     contrast: Some(1.2),
///     gamma: Some(1.1),
///     auto_levels: Some((1.0, 99.0)),
///     ..Adjustments::default()
/// }
/// .steps()?;
/// let out = apply_gpu(&ctx, &photo, &steps)?;
/// // the GPU and the CPU reference agree to well within one 8-bit level
/// let reference = apply_cpu(&photo, &steps);
/// let worst = out.data.iter().zip(&reference.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
/// assert!(worst < 0.5 / 255.0, "{worst}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn apply_gpu(ctx: &GpuContext, pic: &Picture, steps: &[Step]) -> Result<Picture, GpuError> {
    blocking::wait(apply_gpu_async(ctx, pic, steps))?
}

/// [`apply_gpu`] for callers that await, as a browser must: the same dispatches, the read-back
/// awaited.
pub async fn apply_gpu_async(
    ctx: &GpuContext,
    pic: &Picture,
    steps: &[Step],
) -> Result<Picture, GpuError> {
    let (plane, channels) = (pic.height * pic.width, pic.channels);
    let n = plane * channels;
    let limits = ctx.device.limits();
    let limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    if 4 * n as u64 > limit {
        let fit = limit / 4 / channels as u64;
        let side = (fit as f64).sqrt().floor() as u64;
        return Err(GpuError::shape(
            "enhance",
            format!(
                "a {}x{} picture with {channels} channels needs {} bytes per buffer; this \
                 adapter binds at most {limit}, so at most {fit} pixels fit (e.g. \
                 {side}x{side}): scale it down or enhance it in parts",
                pic.width,
                pic.height,
                4 * n
            ),
        ));
    }
    let mut cur = View::whole(&buffers::upload(ctx, "enhance picture", &pic.data));
    let mut next = View::whole(&buffers::zeros(ctx, "enhance picture", n as u64));
    let mut dispatches = Vec::new();
    for step in steps {
        let mut stats = None;
        if matches!(step, Step::AutoLevels { .. } | Step::Contrast(_)) {
            let (mode, total, lc, hc) = stats_plan(step, plane, channels);
            // fresh zeroed buffers for each step's statistics
            let bins = View::whole(&buffers::zeros(ctx, "enhance bins", BINS as u64));
            let s = View::whole(&buffers::zeros(ctx, "enhance stats", gpu::STATS_LEN as u64));
            dispatches.push(gpu::histogram(ctx, &bins, &cur, plane, channels, mode)?);
            dispatches.push(gpu::histogram_stats(ctx, &s, &bins, total, lc, hc)?);
            stats = Some(s);
        }
        let stats = stats.as_ref();
        dispatches.push(match *step {
            Step::AutoLevels { .. } => gpu::levels(ctx, &next, &cur, stats.expect("stats"), n)?,
            Step::Brightness(b) => gpu::brightness(ctx, &next, &cur, n, b)?,
            Step::Contrast(c) => gpu::contrast(ctx, &next, &cur, stats.expect("stats"), n, c)?,
            Step::Saturation(s) => gpu::saturation(ctx, &next, &cur, plane, channels, s)?,
            Step::Gamma(g) => gpu::gamma(ctx, &next, &cur, n, 1.0 / g)?,
        });
        std::mem::swap(&mut cur, &mut next);
    }
    ops::submit(ctx, &dispatches.iter().collect::<Vec<_>>())?;
    let data: Vec<f32> = buffers::read_when_ready(ctx, cur).await?;
    Ok(Picture::new(
        channels,
        pic.height,
        pic.width,
        data[..n].to_vec(),
    ))
}

/// A step before the adjustments: `--vae-refine`'s denoising by a model.
pub type Refine<'a> = &'a mut dyn FnMut(Picture) -> Result<Picture, String>;

/// Reads `input`, refines it if asked, applies `adjustments` on the GPU and writes `output` in
/// the format of its extension (grey stays grey, colour is RGB; a JPEG at `quality`). Returns
/// the picture written.
pub fn enhance_file(
    ctx: &GpuContext,
    input: &Path,
    output: &Path,
    adjustments: &Adjustments,
    refine: Option<Refine>,
    quality: u8,
) -> Result<Picture, EnhanceError> {
    let steps = match adjustments.steps() {
        Err(EnhanceError::NothingToDo) if refine.is_some() => Vec::new(),
        other => other?,
    };
    if crate::atomic_file::same_file(input, output) {
        return Err(EnhanceError::OutputIsInput {
            path: output.to_path_buf(),
        });
    }
    // refuse an unwritable format before any work
    if !ImageFormat::from_path(output).is_ok_and(|f| f.writing_enabled()) {
        return Err(DataError::UnknownImageFormat {
            path: output.to_path_buf(),
        }
        .into());
    }
    let mut picture = Picture::read(input)?;
    if let Some(refine) = refine {
        picture = refine(picture).map_err(EnhanceError::Refine)?;
    }
    let enhanced = match steps.is_empty() {
        true => picture,
        false => apply_gpu(ctx, &picture, &steps)?,
    };
    enhanced.write_with_quality(output, quality)?;
    Ok(enhanced)
}
