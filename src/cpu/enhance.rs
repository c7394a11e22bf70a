//! Reference picture adjustments: one function per kernel of `shaders/enhance.wgsl`, same
//! names, same arguments in the same order (outputs first), plain loops.
//!
//! Pictures are planar: channel `c`, pixel `i` at `c * plane + i`, one or three channels, values
//! in [0, 1]; every output is clipped to [0, 1]. The blends are Pillow's ImageEnhance,
//! `out = degenerate + factor * (x - degenerate)`, in floats.

/// Histogram bins: one per 8-bit level.
pub const BINS: usize = 256;

/// What one histogram item is; the discriminant is the WGSL `mode` code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum HistogramMode {
    /// One item per pixel: its luma level (Pillow's `convert("L")`), or its level when grey.
    Luma = 0,
    /// One item per sample: every channel of every pixel, pooled.
    Samples = 1,
}

impl HistogramMode {
    /// Items the histogram counts for a picture of `plane` pixels and `channels` channels.
    pub fn items(self, plane: usize, channels: usize) -> usize {
        match self {
            HistogramMode::Luma => plane,
            HistogramMode::Samples => plane * channels,
        }
    }
}

/// The 8-bit level a file would hold: `floor(clamp(v, 0, 1) * 255 + 0.5)`.
pub fn level(v: f32) -> u32 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5).floor() as u32
}

/// Pillow's `convert("L")` of 8-bit levels: ITU-R 601-2 luma (0.299, 0.587, 0.114) in 16-bit
/// fixed point, rounded half up.
pub fn luma_level(r: u32, g: u32, b: u32) -> u32 {
    (19595 * r + 38470 * g + 7471 * b + 32768) >> 16
}

/// The counts `histogram_stats` compares with for percentiles `low_pct` and `high_pct` (0 to
/// 100) of `total` items: at most `low_count` items lie below the low level and at most
/// `high_count` above the high level.
pub fn percentile_counts(total: usize, low_pct: f64, high_pct: f64) -> (u32, u32) {
    let count = |pct: f64| {
        (pct * total as f64 / 100.0)
            .floor()
            .clamp(0.0, u32::MAX as f64) as u32
    };
    (count(low_pct), count(100.0 - high_pct))
}

/// `y[i] = clip(x[i] * factor)` for `i < n`
pub fn brightness(y: &mut [f32], x: &[f32], n: usize, factor: f32) {
    for i in 0..n {
        y[i] = (x[i] * factor).clamp(0.0, 1.0);
    }
}

/// `y[i] = clip(m + factor (x[i] - m))`, m = stats[0] (the mean luma from `histogram_stats`)
pub fn contrast(y: &mut [f32], x: &[f32], stats: &[f32], n: usize, factor: f32) {
    let m = stats[0];
    for i in 0..n {
        y[i] = (m + factor * (x[i] - m)).clamp(0.0, 1.0);
    }
}

/// Per pixel `i < plane`: `y = clip(L + factor (x - L))` on each channel, L the pixel's luma
/// level / 255; one channel: `y = x`.
pub fn saturation(y: &mut [f32], x: &[f32], plane: usize, channels: usize, factor: f32) {
    if channels == 1 {
        for i in 0..plane {
            y[i] = x[i].clamp(0.0, 1.0);
        }
        return;
    }
    for i in 0..plane {
        let (r, g, b) = (x[i], x[plane + i], x[2 * plane + i]);
        let l = luma_level(level(r), level(g), level(b)) as f32 / 255.0;
        for (c, v) in [r, g, b].into_iter().enumerate() {
            y[c * plane + i] = (l + factor * (v - l)).clamp(0.0, 1.0);
        }
    }
}

/// `y[i] = clip(x[i])^exponent` (exponent = 1 / gamma; 0 stays 0)
pub fn gamma(y: &mut [f32], x: &[f32], n: usize, exponent: f32) {
    for i in 0..n {
        let v = x[i].clamp(0.0, 1.0);
        y[i] = if v <= 0.0 {
            0.0
        } else {
            v.powf(exponent).clamp(0.0, 1.0)
        };
    }
}

/// `y[i] = clip((x[i] - lo) / (hi - lo))`, (lo, hi) = (stats[1], stats[2])
pub fn levels(y: &mut [f32], x: &[f32], stats: &[f32], n: usize) {
    let (lo, hi) = (stats[1], stats[2]);
    for i in 0..n {
        y[i] = ((x[i] - lo) / (hi - lo)).clamp(0.0, 1.0);
    }
}

/// `bins[level] += 1` for each item of `mode` (bins: 256 counts, added onto).
pub fn histogram(bins: &mut [u32], x: &[f32], plane: usize, channels: usize, mode: HistogramMode) {
    for i in 0..mode.items(plane, channels) {
        let v = if mode == HistogramMode::Luma && channels == 3 {
            luma_level(level(x[i]), level(x[plane + i]), level(x[2 * plane + i]))
        } else {
            level(x[i])
        };
        bins[v as usize] += 1;
    }
}

/// From 256 bins counting `total` items: stats[0] = the mean level rounded as Pillow's
/// Contrast does (`int(mean + 0.5)`) / 255; stats[1], stats[2] = the low and high levels / 255,
/// low the first level whose cumulative count passes `low_count`, high the last one with more
/// than `high_count` items at or above it; (0, 1) when high <= low (nothing to stretch).
pub fn histogram_stats(
    stats: &mut [f32],
    bins: &[u32],
    total: usize,
    low_count: u32,
    high_count: u32,
) {
    let sum: u64 = (0..BINS).map(|v| v as u64 * bins[v] as u64).sum();
    let total = total as u64;
    // int(sum / total + 0.5) exactly: the largest m with 2 m total <= 2 sum + total
    let mean = if total == 0 {
        0
    } else {
        (2 * sum + total) / (2 * total)
    };
    let mut below = 0u32;
    let low = (0..BINS)
        .find(|&v| {
            below += bins[v];
            below > low_count
        })
        .unwrap_or(0);
    let mut above = 0u32;
    let high = (0..BINS)
        .rev()
        .find(|&v| {
            above += bins[v];
            above > high_count
        })
        .unwrap_or(BINS - 1);
    stats[0] = mean as f32 / 255.0;
    if high > low {
        stats[1] = low as f32 / 255.0;
        stats[2] = high as f32 / 255.0;
    } else {
        stats[1] = 0.0;
        stats[2] = 1.0;
    }
}
