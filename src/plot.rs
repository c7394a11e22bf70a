//! Pictures: the loss curve and image grids, drawn with `image` alone (a 3x5 digit font for
//! the axis labels, so no font files are needed).

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// Which line of the loss plot a point belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurveKind {
    /// The running training loss between log points.
    Running,
    /// The training loss of a whole epoch.
    TrainEpoch,
    Test,
}

/// One point of the loss plot.
#[derive(Clone, Copy, Debug)]
pub struct PlotPoint {
    pub step: u64,
    pub kind: CurveKind,
    pub loss: f64,
}

const DIGITS: [[u8; 5]; 12] = [
    [0b111, 0b101, 0b101, 0b101, 0b111], // 0
    [0b010, 0b110, 0b010, 0b010, 0b111], // 1
    [0b111, 0b001, 0b111, 0b100, 0b111], // 2
    [0b111, 0b001, 0b111, 0b001, 0b111], // 3
    [0b101, 0b101, 0b111, 0b001, 0b001], // 4
    [0b111, 0b100, 0b111, 0b001, 0b111], // 5
    [0b111, 0b100, 0b111, 0b101, 0b111], // 6
    [0b111, 0b001, 0b010, 0b010, 0b010], // 7
    [0b111, 0b101, 0b111, 0b101, 0b111], // 8
    [0b111, 0b101, 0b111, 0b001, 0b111], // 9
    [0b000, 0b000, 0b000, 0b000, 0b010], // .
    [0b000, 0b000, 0b111, 0b000, 0b000], // -
];

/// The capitals the plot's labels use, 3x5 like the digits.
fn letter(ch: char) -> Option<[u8; 5]> {
    Some(match ch {
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'H' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'N' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        _ => return None,
    })
}

/// Draws `text` (digits, '.', '-', the capitals of [`letter`]) at (x, y), each font pixel a `scale` x `scale` square.
fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: i64, color: Rgb<u8>) {
    let mut cx = x;
    for ch in text.chars() {
        let glyph = match ch {
            '0'..='9' => DIGITS[ch as usize - '0' as usize],
            '.' => DIGITS[10],
            '-' => DIGITS[11],
            _ => match letter(ch) {
                Some(g) => g,
                None => {
                    cx += 4 * scale;
                    continue;
                }
            },
        };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits >> (2 - col) & 1 == 1 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            put(
                                img,
                                cx + col * scale + dx,
                                y + row as i64 * scale + dy,
                                color,
                            );
                        }
                    }
                }
            }
        }
        cx += 4 * scale;
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, color: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, color);
    }
}

fn line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), color: Rgb<u8>) {
    let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as i64).max(1);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
        for d in 0..2 {
            put(img, x.round() as i64, y.round() as i64 + d, color);
        }
    }
}

/// Loss against step: running training loss (blue), per-epoch training loss (dark blue dots),
/// test loss (red line with dots). The y axis spans the epoch losses and the running loss
/// after its first quarter, so the early plunge does not flatten the rest.
pub fn loss_curve_png(points: &[PlotPoint]) -> Vec<u8> {
    let (w, h) = (720u32, 420u32);
    let (left, right, top, bottom) = (70.0, 20.0, 20.0, 40.0);
    let mut img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let max_step = points.iter().map(|p| p.step).max().unwrap_or(1).max(1) as f64;
    let in_range: Vec<f64> = points
        .iter()
        .filter(|p| p.kind != CurveKind::Running || p.step as f64 > max_step / 4.0)
        .map(|p| p.loss)
        .filter(|l| l.is_finite())
        .collect();
    let lo = in_range.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = in_range.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let px = |step: f64| left + (w as f64 - left - right) * step / max_step;
    let py = |loss: f64| {
        let t = ((loss - lo) / (hi - lo)).clamp(-0.02, 1.02);
        h as f64 - bottom - (h as f64 - top - bottom) * t
    };
    let axis = Rgb([60, 60, 60]);
    line(&mut img, (left, top), (left, h as f64 - bottom), axis);
    line(
        &mut img,
        (left, h as f64 - bottom),
        (w as f64 - right, h as f64 - bottom),
        axis,
    );
    for i in 0..=4 {
        let v = lo + (hi - lo) * i as f64 / 4.0;
        let y = py(v);
        line(&mut img, (left - 5.0, y), (left, y), axis);
        draw_text(&mut img, 4, y as i64 - 5, &format!("{v:.1}"), 2, axis);
    }
    draw_text(
        &mut img,
        (w as f64 - right) as i64 - 60,
        (h as f64 - bottom) as i64 + 10,
        &format!("{}", max_step as u64),
        2,
        axis,
    );
    draw_text(
        &mut img,
        left as i64,
        (h as f64 - bottom) as i64 + 10,
        "0",
        2,
        axis,
    );
    let series = |kind: CurveKind| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(|p| p.kind == kind && p.loss.is_finite())
            .map(|p| (px(p.step as f64), py(p.loss)))
            .collect()
    };
    let running = series(CurveKind::Running);
    for pair in running.windows(2) {
        line(&mut img, pair[0], pair[1], Rgb([120, 160, 230]));
    }
    let test = series(CurveKind::Test);
    for pair in test.windows(2) {
        line(&mut img, pair[0], pair[1], Rgb([220, 50, 40]));
    }
    for (pts, color) in [
        (series(CurveKind::TrainEpoch), Rgb([20, 40, 140])),
        (test, Rgb([220, 50, 40])),
    ] {
        for (x, y) in pts {
            for dy in -3..=3 {
                for dx in -3..=3 {
                    put(&mut img, x as i64 + dx, y as i64 + dy, color);
                }
            }
        }
    }
    // legend, top right, and the axis names
    let legend = [
        ("TRAIN", Rgb([120, 160, 230])),
        ("TRAIN EPOCH", Rgb([20, 40, 140])),
        ("TEST", Rgb([220, 50, 40])),
    ];
    for (i, (name, color)) in legend.iter().enumerate() {
        let y = top as i64 + 4 + 16 * i as i64;
        let x = w as i64 - 150;
        for dy in 0..8 {
            for dx in 0..14 {
                put(&mut img, x + dx, y + dy, *color);
            }
        }
        draw_text(&mut img, x + 22, y - 1, name, 2, axis);
    }
    draw_text(
        &mut img,
        (w / 2) as i64 - 16,
        h as i64 - 22,
        "STEP",
        2,
        axis,
    );
    draw_text(&mut img, 4, 2, "LOSS", 2, axis);
    encode_png(&image::DynamicImage::ImageRgb8(img))
}

pub fn encode_png(img: &image::DynamicImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, ImageFormat::Png)
        .expect("PNG encoding into memory cannot fail");
    bytes.into_inner()
}

/// Lays out images (`channels` x `rows` x `cols`, planar, values in [0, 1]; grey or RGB) in
/// a grid `per_row` wide with a one-pixel gap, scaled up `scale` times.
pub fn image_grid(
    images: &[Vec<f32>],
    rows: usize,
    cols: usize,
    channels: usize,
    per_row: usize,
    scale: u32,
) -> DynamicImage {
    let per_row = per_row.max(1);
    let grid_rows = images.len().div_ceil(per_row).max(1);
    let (cell_w, cell_h) = (cols as u32 * scale + 1, rows as u32 * scale + 1);
    let mut img = RgbImage::from_pixel(
        per_row as u32 * cell_w + 1,
        grid_rows as u32 * cell_h + 1,
        Rgb([40, 40, 40]),
    );
    let plane = rows * cols;
    for (i, pixels) in images.iter().enumerate() {
        let (gx, gy) = (
            (i % per_row) as u32 * cell_w + 1,
            (i / per_row) as u32 * cell_h + 1,
        );
        for r in 0..rows {
            for c in 0..cols {
                let value = |ch: usize| {
                    let v = pixels[(ch % channels) * plane + r * cols + c];
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8
                };
                let rgb = Rgb([value(0), value(1), value(2)]);
                for dy in 0..scale {
                    for dx in 0..scale {
                        img.put_pixel(gx + c as u32 * scale + dx, gy + r as u32 * scale + dy, rgb);
                    }
                }
            }
        }
    }
    if channels == 1 {
        DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(img).to_luma8())
    } else {
        DynamicImage::ImageRgb8(img)
    }
}
