//! Draws a [`Scene`] into an image: lines and discs antialiased by their pixel coverage,
//! text with the bitmap font, every shape of a clipped group kept inside its rectangle.

use image::{Rgb, RgbImage};

use super::font;
use super::scene::{Anchor, Color, Rect, Scene, Shape};

pub fn render(scene: &Scene) -> RgbImage {
    let mut img = RgbImage::from_pixel(scene.width, scene.height, rgb(Color::WHITE));
    let whole = Rect {
        x: 0.0,
        y: 0.0,
        w: scene.width as f64,
        h: scene.height as f64,
    };
    for shape in &scene.shapes {
        draw(&mut img, shape, whole);
    }
    img
}

fn rgb(c: Color) -> Rgb<u8> {
    Rgb([c.0, c.1, c.2])
}

fn draw(img: &mut RgbImage, shape: &Shape, clip: Rect) {
    match shape {
        Shape::Path {
            points,
            width,
            color,
        } => {
            let half = width / 2.0;
            let area = intersect(bounding_box(points, half + 1.0), clip);
            // each pixel takes the coverage of its nearest segment, so joints are not blended twice
            let mut coverage = Coverage::new(area);
            for pair in points.windows(2) {
                let bounds = intersect(bounding_box(pair, half + 1.0), area);
                coverage.raise(bounds, |x, y| {
                    half + 0.5 - distance_to_segment((x, y), pair[0], pair[1])
                });
            }
            if points.len() == 1 {
                coverage.raise(area, |x, y| {
                    half + 0.5 - distance_to_segment((x, y), points[0], points[0])
                });
            }
            cover(img, area, clip, *color, |x, y| coverage.at(x, y));
        }
        Shape::Disc {
            center,
            radius,
            color,
        } => {
            let bounds = bounding_box(&[*center], radius + 1.0);
            cover(img, bounds, clip, *color, |x, y| {
                radius + 0.5 - ((x - center.0).powi(2) + (y - center.1).powi(2)).sqrt()
            });
        }
        Shape::Outline { rect, color } => {
            let corners = vec![
                (rect.x, rect.y),
                (rect.right(), rect.y),
                (rect.right(), rect.bottom()),
                (rect.x, rect.bottom()),
                (rect.x, rect.y),
            ];
            let path = Shape::Path {
                points: corners,
                width: 1.0,
                color: *color,
            };
            draw(img, &path, clip);
        }
        Shape::Text {
            x,
            y,
            text,
            scale,
            anchor,
            vertical,
            color,
        } => {
            let width = font::text_width(text, *scale) as f64;
            let shift = match anchor {
                Anchor::Start => 0.0,
                Anchor::Middle => width / 2.0,
                Anchor::End => width,
            };
            let (x, y) = (x.round() as i64, y.round() as i64);
            if *vertical {
                let start = y + shift.round() as i64;
                font::draw_rotated(img, x, start, text, *scale, rgb(*color));
            } else {
                font::draw(img, x - shift.round() as i64, y, text, *scale, rgb(*color));
            }
        }
        Shape::Group {
            clip: inner,
            shapes,
            ..
        } => {
            let clip = inner.map_or(clip, |r| intersect(r, clip));
            for s in shapes {
                draw(img, s, clip);
            }
        }
    }
}

/// Blends `color` into every pixel of `bounds` inside `clip` by its coverage, `coverage` of
/// the pixel's centre clamped to [0, 1].
fn cover(
    img: &mut RgbImage,
    bounds: Rect,
    clip: Rect,
    color: Color,
    coverage: impl Fn(f64, f64) -> f64,
) {
    let area = intersect(bounds, clip);
    let (x0, y0) = (
        area.x.floor().max(0.0) as i64,
        area.y.floor().max(0.0) as i64,
    );
    let x1 = (area.right().ceil() as i64).min(img.width() as i64);
    let y1 = (area.bottom().ceil() as i64).min(img.height() as i64);
    for py in y0..y1 {
        for px in x0..x1 {
            if !clip.holds_pixel(px, py) {
                continue;
            }
            let a = coverage(px as f64 + 0.5, py as f64 + 0.5).clamp(0.0, 1.0);
            if a > 0.0 {
                let old = img.get_pixel(px as u32, py as u32).0;
                let mix = |o: u8, n: u8| (o as f64 + (n as f64 - o as f64) * a).round() as u8;
                img.put_pixel(
                    px as u32,
                    py as u32,
                    Rgb([
                        mix(old[0], color.0),
                        mix(old[1], color.1),
                        mix(old[2], color.2),
                    ]),
                );
            }
        }
    }
}

/// The largest coverage seen so far by each pixel of an area.
struct Coverage {
    x0: i64,
    y0: i64,
    w: i64,
    h: i64,
    values: Vec<f64>,
}

impl Coverage {
    fn new(area: Rect) -> Coverage {
        let (x0, y0) = (area.x.floor() as i64, area.y.floor() as i64);
        let (w, h) = (
            area.right().ceil() as i64 - x0,
            area.bottom().ceil() as i64 - y0,
        );
        Coverage {
            x0,
            y0,
            w: w.max(0),
            h: h.max(0),
            values: vec![0.0; (w.max(0) * h.max(0)) as usize],
        }
    }

    fn raise(&mut self, bounds: Rect, coverage: impl Fn(f64, f64) -> f64) {
        for py in bounds.y.floor() as i64..bounds.bottom().ceil() as i64 {
            for px in bounds.x.floor() as i64..bounds.right().ceil() as i64 {
                let (cx, cy) = (px - self.x0, py - self.y0);
                if cx >= 0 && cy >= 0 && cx < self.w && cy < self.h {
                    let v = &mut self.values[(cy * self.w + cx) as usize];
                    *v = v.max(coverage(px as f64 + 0.5, py as f64 + 0.5));
                }
            }
        }
    }

    /// The coverage of the pixel whose centre is (x, y).
    fn at(&self, x: f64, y: f64) -> f64 {
        let (cx, cy) = (x.floor() as i64 - self.x0, y.floor() as i64 - self.y0);
        if cx >= 0 && cy >= 0 && cx < self.w && cy < self.h {
            self.values[(cy * self.w + cx) as usize]
        } else {
            0.0
        }
    }
}

fn intersect(a: Rect, b: Rect) -> Rect {
    let (x, y) = (a.x.max(b.x), a.y.max(b.y));
    Rect {
        x,
        y,
        w: (a.right().min(b.right()) - x).max(0.0),
        h: (a.bottom().min(b.bottom()) - y).max(0.0),
    }
}

fn bounding_box(points: &[(f64, f64)], margin: f64) -> Rect {
    let fold = |f: fn(f64, f64) -> f64, init: f64, pick: fn(&(f64, f64)) -> f64| {
        points.iter().map(pick).fold(init, f)
    };
    let x0 = fold(f64::min, f64::INFINITY, |p| p.0) - margin;
    let y0 = fold(f64::min, f64::INFINITY, |p| p.1) - margin;
    let x1 = fold(f64::max, f64::NEG_INFINITY, |p| p.0) + margin;
    let y1 = fold(f64::max, f64::NEG_INFINITY, |p| p.1) + margin;
    Rect {
        x: x0,
        y: y0,
        w: (x1 - x0).max(0.0),
        h: (y1 - y0).max(0.0),
    }
}

fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}
