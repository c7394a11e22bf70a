//! Images of any size through a model of fixed size: overlapping windows (half a window apart)
//! cut from the observation and its precisions, restored in batches, and blended back with a
//! smooth weight that falls towards each window's edge, so no seam shows. An image smaller
//! than the model is padded with unknown pixels (precision 0) and cropped back.
//!
//! Colour: a grey model restores each channel of an RGB image as its own grey image; an RGB
//! model restores a grey image as three equal channels and returns their mean.
//! A blur is applied within each window with zero padding; the blending weight makes the
//! windows' borders, where that padding is wrong, count little.

use crate::picture::Picture;

/// Where windows start along an axis of `len` for windows of `p` (len >= p): every `step`
/// (clamped to 1..=p), plus one flush with the end.
pub fn starts(len: usize, p: usize, step: usize) -> Vec<usize> {
    let step = step.clamp(1, p.max(1));
    let mut s: Vec<usize> = (0..=len - p).step_by(step).collect();
    if *s.last().expect("len >= p") != len - p {
        s.push(len - p);
    }
    s
}

/// The blending weight of position `t` in a window of `p`: sin^2 of the position, never 0.
fn weight(t: usize, p: usize) -> f32 {
    (std::f32::consts::PI * (t as f32 + 0.5) / p as f32)
        .sin()
        .powi(2)
}

/// One grey or colour plane set at the model's channel count, padded to at least the model's
/// size, with the precision of each value.
struct Canvas {
    channels: usize,
    height: usize,
    width: usize,
    obs: Vec<f32>,
    w: Vec<f32>,
}

/// How one input image was cut: its canvases (one per restoration pass) and windows.
pub struct Plan {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Model channels per canvas, and how canvases map back to the image's channels.
    model_channels: usize,
    canvases: Vec<Canvas>,
    /// (canvas, y, x) of every window, in the order of `obs` / `w`.
    windows: Vec<(usize, usize, usize)>,
    p: (usize, usize),
}

impl Plan {
    /// Cuts `y` (precisions `w`, same layout) into windows of the model's `channels` x `ph` x
    /// `pw`; fails when the colour combination is impossible.
    pub fn new(
        y: &Picture,
        w: &[f32],
        channels: usize,
        ph: usize,
        pw: usize,
    ) -> Result<Plan, String> {
        Plan::with_step(y, w, channels, ph, pw, None)
    }

    /// [`Plan::new`] with windows `step` pixels apart (None: half a window). Closer windows
    /// average more estimates of each pixel, at the cost of more windows.
    pub fn with_step(
        y: &Picture,
        w: &[f32],
        channels: usize,
        ph: usize,
        pw: usize,
        step: Option<usize>,
    ) -> Result<Plan, String> {
        let (h, wd) = (y.height, y.width);
        let n = h * wd;
        let planes: Vec<(Vec<f32>, Vec<f32>)> = match (y.channels, channels) {
            (a, b) if a == b => vec![(y.data.clone(), w.to_vec())],
            (3, 1) => (0..3)
                .map(|c| (y.plane(c).to_vec(), w[c * n..(c + 1) * n].to_vec()))
                .collect(),
            (1, 3) => vec![(y.data.repeat(3), w.repeat(3))],
            (a, b) => {
                return Err(format!(
                    "cannot restore a {a}-channel image with a {b}-channel model"
                ))
            }
        };
        let (ch, cw) = (h.max(ph), wd.max(pw));
        let canvases: Vec<Canvas> = planes
            .into_iter()
            .map(|(obs, wt)| {
                let mut c = Canvas {
                    channels,
                    height: ch,
                    width: cw,
                    obs: vec![0.5; channels * ch * cw],
                    w: vec![0.0; channels * ch * cw],
                };
                for k in 0..channels {
                    for r in 0..h {
                        let src = (k * h + r) * wd;
                        let dst = (k * ch + r) * cw;
                        c.obs[dst..dst + wd].copy_from_slice(&obs[src..src + wd]);
                        c.w[dst..dst + wd].copy_from_slice(&wt[src..src + wd]);
                    }
                }
                c
            })
            .collect();
        let mut windows = Vec::new();
        for (i, _) in canvases.iter().enumerate() {
            for &sy in &starts(ch, ph, step.unwrap_or(ph / 2)) {
                for &sx in &starts(cw, pw, step.unwrap_or(pw / 2)) {
                    windows.push((i, sy, sx));
                }
            }
        }
        Ok(Plan {
            channels: y.channels,
            height: h,
            width: wd,
            model_channels: channels,
            canvases,
            windows,
            p: (ph, pw),
        })
    }

    /// Windows of the model's size cut from the picture (overlapping where it is larger).
    pub fn window_count(&self) -> usize {
        self.windows.len()
    }

    /// The windows' observations and precisions, flattened in window order.
    pub fn cut(&self) -> (Vec<f32>, Vec<f32>) {
        self.cut_range(0..self.windows.len())
    }

    /// [`Plan::cut`] for the windows in `range` only: a large picture is restored a range at
    /// a time, so memory follows the picture, not its (overlapping) windows.
    pub fn cut_range(&self, range: std::ops::Range<usize>) -> (Vec<f32>, Vec<f32>) {
        let (ph, pw) = self.p;
        let mut obs = Vec::with_capacity(range.len() * self.model_channels * ph * pw);
        let mut w = Vec::with_capacity(obs.capacity());
        for &(i, sy, sx) in &self.windows[range] {
            let c = &self.canvases[i];
            for k in 0..c.channels {
                for r in sy..sy + ph {
                    let start = (k * c.height + r) * c.width + sx;
                    obs.extend_from_slice(&c.obs[start..start + pw]);
                    w.extend_from_slice(&c.w[start..start + pw]);
                }
            }
        }
        (obs, w)
    }

    /// Blends restored windows (in `cut`'s order) back into a picture of the input's size and
    /// channels.
    pub fn stitch(&self, restored: &[f32]) -> Picture {
        let per = self.model_channels * self.p.0 * self.p.1;
        assert_eq!(restored.len(), self.windows.len() * per, "restored windows");
        let mut stitcher = self.stitcher();
        stitcher.add(0, restored);
        stitcher.finish()
    }

    /// An empty blend of this plan's windows, to which restored ranges are added as they come.
    pub fn stitcher(&self) -> Stitcher<'_> {
        let sums = self
            .canvases
            .iter()
            .map(|c| {
                let n = c.channels * c.height * c.width;
                (vec![0.0; n], vec![0.0; n])
            })
            .collect();
        Stitcher { plan: self, sums }
    }
}

/// Restored windows blended into the canvases as they arrive: the weighted sums and the
/// weights of every canvas pixel.
pub struct Stitcher<'a> {
    plan: &'a Plan,
    sums: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Stitcher<'_> {
    /// Adds the restored windows `first`, `first + 1`, ... (flattened as `cut` gives them).
    pub fn add(&mut self, first: usize, restored: &[f32]) {
        let plan = self.plan;
        let (ph, pw) = plan.p;
        let mc = plan.model_channels;
        let per = mc * ph * pw;
        assert_eq!(restored.len() % per, 0, "whole windows");
        let windows = &plan.windows[first..first + restored.len() / per];
        for (win, &(i, sy, sx)) in restored.chunks(per).zip(windows) {
            let c = &plan.canvases[i];
            let (acc, wsum) = &mut self.sums[i];
            for k in 0..mc {
                for r in 0..ph {
                    for q in 0..pw {
                        let wt = weight(r, ph) * weight(q, pw);
                        let dst = (k * c.height + sy + r) * c.width + sx + q;
                        acc[dst] += wt * win[(k * ph + r) * pw + q];
                        wsum[dst] += wt;
                    }
                }
            }
        }
    }

    /// The blended picture, at the input's size and channels.
    pub fn finish(self) -> Picture {
        let plan = self.plan;
        let mc = plan.model_channels;
        let (h, w) = (plan.height, plan.width);
        let blended: Vec<Vec<f32>> = self
            .sums
            .iter()
            .zip(&plan.canvases)
            .map(|((acc, ws), c)| {
                let mut out = Vec::with_capacity(c.channels * h * w);
                for k in 0..c.channels {
                    for r in 0..h {
                        for q in 0..w {
                            let i = (k * c.height + r) * c.width + q;
                            out.push(acc[i] / ws[i]);
                        }
                    }
                }
                out
            })
            .collect();
        let data = match (plan.channels, mc) {
            (a, b) if a == b => blended.into_iter().next().expect("one canvas"),
            (3, 1) => blended.concat(),
            _ => {
                // an RGB model on a grey image: the mean of its three channels
                let n = h * w;
                let rgb = &blended[0];
                (0..n)
                    .map(|i| (rgb[i] + rgb[n + i] + rgb[2 * n + i]) / 3.0)
                    .collect()
            }
        };
        Picture::new(plan.channels, h, w, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_pixel() {
        assert_eq!(starts(28, 28, 28 / 2), vec![0]);
        assert_eq!(starts(60, 28, 28 / 2), vec![0, 14, 28, 32]);
        assert_eq!(starts(29, 28, 28 / 2), vec![0, 1]);
    }

    /// Cutting and stitching without restoring gives the image back, for every colour
    /// combination and for images smaller than a window.
    #[test]
    fn cut_then_stitch_is_the_identity() {
        for (c, h, w, mc, p) in [
            (1, 50, 37, 1, 16),
            (3, 20, 45, 1, 16),
            (3, 33, 33, 3, 8),
            (1, 9, 5, 3, 16),
            (1, 16, 16, 1, 16),
        ] {
            let n = c * h * w;
            let y = Picture::new(
                c,
                h,
                w,
                (0..n).map(|i| ((i * 31) % 97) as f32 / 97.0).collect(),
            );
            let plan = Plan::new(&y, &vec![1.0; n], mc, p, p).unwrap();
            let (obs, _) = plan.cut();
            let back = plan.stitch(&obs);
            for (a, b) in back.data.iter().zip(&y.data) {
                assert!((a - b).abs() < 1e-5, "{c}x{h}x{w} with {mc}-channel {p}");
            }
        }
    }

    /// Windows that disagree: a pixel near one window's centre and at the other's edge takes
    /// the first window's value (the sin^2 weight), not their average (a flat weight would);
    /// pixels only one window covers take its value exactly.
    #[test]
    fn a_pixel_follows_the_window_it_is_central_in() {
        let (h, w, p) = (16, 24, 16);
        let y = Picture::new(1, h, w, vec![0.5; h * w]);
        let plan = Plan::with_step(&y, &vec![1.0; h * w], 1, p, p, Some(8)).unwrap();
        assert_eq!(plan.window_count(), 2, "windows at x = 0 and x = 8");
        // the window at x = 0 restored to 0, the one at x = 8 to 1
        let restored: Vec<f32> = [0.0, 1.0]
            .iter()
            .flat_map(|&v| std::iter::repeat_n(v, p * p))
            .collect();
        let out = plan.stitch(&restored);
        for r in 0..h {
            let row = &out.data[r * w..(r + 1) * w];
            assert!(row[..8].iter().all(|&v| v == 0.0), "row {r}: {row:?}");
            assert!(row[16..].iter().all(|&v| v == 1.0), "row {r}: {row:?}");
            // x = 8: the first window's centre, the second's first column
            assert!(row[8] < 0.05, "row {r}: x = 8 gives {}", row[8]);
            assert!(row[15] > 0.95, "row {r}: x = 15 gives {}", row[15]);
            // rising across the overlap, through one half in its middle
            assert!(
                row[8..16].windows(2).all(|p| p[0] < p[1]),
                "row {r}: {row:?}"
            );
            assert!((row[11] + row[12] - 1.0).abs() < 1e-5, "row {r}: {row:?}");
        }
    }

    #[test]
    fn padding_is_unknown() {
        let y = Picture::new(1, 4, 4, vec![0.2; 16]);
        let plan = Plan::new(&y, &[9.0; 16], 1, 8, 8).unwrap();
        let (_, w) = plan.cut();
        assert_eq!(w.iter().filter(|&&v| v == 9.0).count(), 16);
        assert_eq!(w.iter().filter(|&&v| v == 0.0).count(), 64 - 16);
    }
}
