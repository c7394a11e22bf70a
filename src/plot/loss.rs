//! The loss plot: loss per sample against epochs, with the running training loss, the epoch
//! training loss and the test loss, nice ticks, a title and a legend. Laid out once as a
//! [`Scene`], then drawn to PNG and written as SVG.

use super::font;
use super::scene::{Anchor, Color, Rect, Scene, Shape};
use super::ticks::{nice_step, nice_ticks, tick_label};

/// Which series of the loss plot a point belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurveKind {
    /// The running training loss between log points.
    Running,
    /// The training loss of a whole epoch.
    TrainEpoch,
    Test,
}

/// One point of the loss plot; `epoch` is fractional for points logged within an epoch
/// (epoch 3 spans (2, 3]).
#[derive(Clone, Copy, Debug)]
pub struct PlotPoint {
    pub epoch: f64,
    pub kind: CurveKind,
    pub loss: f64,
}

/// How a series is drawn and named.
struct Style {
    kind: CurveKind,
    name: &'static str,
    color: Color,
    width: f64,
    /// Marker radius; 0 draws the series as a line only (unless it has one point).
    marker: f64,
}

const STYLES: [Style; 3] = [
    Style {
        kind: CurveKind::Running,
        name: "train (running)",
        color: Color(158, 193, 227),
        width: 1.5,
        marker: 0.0,
    },
    Style {
        kind: CurveKind::TrainEpoch,
        name: "train (epoch)",
        color: Color(31, 119, 180),
        width: 2.0,
        marker: 4.0,
    },
    Style {
        kind: CurveKind::Test,
        name: "test",
        color: Color(255, 127, 14),
        width: 2.0,
        marker: 4.0,
    },
];

const INK: Color = Color(40, 40, 40);
const AXIS: Color = Color(90, 90, 90);
const GRID: Color = Color(232, 232, 232);
const WIDTH: u32 = 800;
const HEIGHT: u32 = 500;
/// Font pixel size of every text.
const TEXT: u32 = 2;
const TICK: f64 = 5.0;
/// Radius of a lone point of a line-only series.
const LONE_MARKER: f64 = 3.5;

/// The laid-out plot; `frame` and `legend` are kept for tests.
pub struct LossPlot {
    pub scene: Scene,
    /// The axes' box: every series is drawn inside it.
    pub frame: Rect,
    /// The legend's box, above the frame.
    pub legend: Rect,
}

/// The data range shown: x from epoch 0 to the last; y over every loss, unless the running
/// loss of the first quarter would stretch it by more than half (its early plunge would
/// flatten the rest; it leaves the frame at the top instead). Padded so markers at the ends
/// lie inside the frame.
fn ranges(points: &[PlotPoint]) -> ((f64, f64), (f64, f64)) {
    let last = points.iter().map(|p| p.epoch).fold(0.0, f64::max);
    let x_hi = if last > 0.0 { last } else { 1.0 };
    let span = |early: bool| {
        points
            .iter()
            .filter(|p| early || p.kind != CurveKind::Running || p.epoch > x_hi / 4.0)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.loss), hi.max(p.loss))
            })
    };
    let (all, later) = (span(true), span(false));
    let (lo, hi) = if later.0.is_finite() && all.1 - all.0 > 1.5 * (later.1 - later.0) {
        later
    } else {
        all
    };
    let (lo, hi) = if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi - lo < 1e-9 * hi.abs().max(1.0) {
        // one value: a band around it
        let half = (0.05 * lo.abs()).max(0.5);
        (lo - half, hi + half)
    } else {
        (lo, hi)
    };
    let (x_pad, y_pad) = (0.04 * x_hi, 0.07 * (hi - lo));
    ((-x_pad, x_hi + x_pad), (lo - y_pad, hi + y_pad))
}

/// Lays out the plot of `points` (non-finite losses are left out) under `title`.
pub fn loss_plot(points: &[PlotPoint], title: &str) -> LossPlot {
    let points: Vec<PlotPoint> = points
        .iter()
        .copied()
        .filter(|p| p.loss.is_finite() && p.epoch.is_finite())
        .collect();
    let ((x_lo, x_hi), (y_lo, y_hi)) = ranges(&points);
    let (y_ticks, y_step) = nice_ticks(y_lo, y_hi, 6);
    let y_labels: Vec<String> = y_ticks.iter().map(|&t| tick_label(t, y_step)).collect();
    // whole epochs, about 8 of them labelled (every epoch up to 11)
    let x_step = nice_step(x_hi / 8.0).max(1.0);
    let x_ticks: Vec<f64> = (0..=(x_hi / x_step + 1e-9) as usize)
        .map(|k| k as f64 * x_step)
        .collect();

    let cap = (font::CAP_HEIGHT * TEXT) as f64;
    let label_w = y_labels
        .iter()
        .map(|l| font::text_width(l, TEXT))
        .max()
        .unwrap_or(0) as f64;
    let left = 16.0 + cap + 14.0 + label_w + 8.0 + TICK;
    let title_y = 14.0;
    let legend_y = title_y + cap + 16.0;
    let top = legend_y + cap + 18.0;
    let bottom = TICK + 8.0 + cap + 14.0 + cap + 16.0;
    // half-pixel edges put the 1-pixel frame exactly on a pixel row
    let frame = Rect {
        x: left.round() + 0.5,
        y: top.round() + 0.5,
        w: (WIDTH as f64 - 24.0 - left).round(),
        h: (HEIGHT as f64 - bottom - top).round(),
    };
    let px = |x: f64| frame.x + frame.w * (x - x_lo) / (x_hi - x_lo);
    let py = |y: f64| frame.bottom() - frame.h * (y - y_lo) / (y_hi - y_lo);

    let mut shapes = Vec::new();
    // grid, under everything
    for &t in &y_ticks {
        let y = py(t).round() + 0.5;
        shapes.push(Shape::line((frame.x, y), (frame.right(), y), 1.0, GRID));
    }
    for &t in &x_ticks {
        let x = px(t).round() + 0.5;
        shapes.push(Shape::line((x, frame.y), (x, frame.bottom()), 1.0, GRID));
    }
    shapes.push(series(&points, px, py, frame));
    shapes.push(Shape::Outline {
        rect: frame,
        color: AXIS,
    });
    // ticks outward, labels clear of them
    for (&t, label) in y_ticks.iter().zip(&y_labels) {
        let y = py(t).round() + 0.5;
        shapes.push(Shape::line((frame.x - TICK, y), (frame.x, y), 1.0, AXIS));
        shapes.push(Shape::text(
            frame.x - TICK - 6.0,
            (y - cap / 2.0).round(),
            label,
            TEXT,
            Anchor::End,
            INK,
        ));
    }
    for &t in &x_ticks {
        let x = px(t).round() + 0.5;
        let y = frame.bottom();
        shapes.push(Shape::line((x, y), (x, y + TICK), 1.0, AXIS));
        shapes.push(Shape::text(
            x,
            y + TICK + 8.0,
            &tick_label(t, 1.0),
            TEXT,
            Anchor::Middle,
            INK,
        ));
    }
    let x_label_y = frame.bottom() + TICK + 8.0 + cap + 14.0;
    shapes.push(Shape::text(
        frame.x + frame.w / 2.0,
        x_label_y,
        "epoch",
        TEXT,
        Anchor::Middle,
        INK,
    ));
    shapes.push(Shape::Text {
        x: 16.0,
        y: frame.y + frame.h / 2.0,
        text: "loss per sample (nats)".into(),
        scale: TEXT,
        anchor: Anchor::Middle,
        vertical: true,
        color: INK,
    });
    shapes.push(Shape::text(
        frame.x + frame.w / 2.0,
        title_y,
        title,
        TEXT,
        Anchor::Middle,
        Color(0, 0, 0),
    ));
    let legend = legend(&points, frame.x + frame.w / 2.0, legend_y, &mut shapes);
    LossPlot {
        scene: Scene {
            width: WIDTH,
            height: HEIGHT,
            shapes,
        },
        frame,
        legend,
    }
}

/// The three series, clipped to the frame: lines, then markers on top.
fn series(
    points: &[PlotPoint],
    px: impl Fn(f64) -> f64,
    py: impl Fn(f64) -> f64,
    frame: Rect,
) -> Shape {
    let mut lines = Vec::new();
    let mut markers = Vec::new();
    for style in &STYLES {
        let mut pts: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.kind == style.kind)
            .map(|p| (px(p.epoch), py(p.loss)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        if pts.len() > 1 {
            lines.push(Shape::Path {
                points: pts.clone(),
                width: style.width,
                color: style.color,
            });
        }
        let radius = match (style.marker, pts.len()) {
            (r, _) if r > 0.0 => r,
            (_, 1) => LONE_MARKER,
            _ => continue,
        };
        for &center in &pts {
            push_marker(&mut markers, center, radius, style.color);
        }
    }
    lines.extend(markers);
    Shape::Group {
        class: "series",
        clip: Some(frame),
        shapes: lines,
    }
}

/// A disc with a thin white ring, so markers that touch stay apart.
fn push_marker(shapes: &mut Vec<Shape>, center: (f64, f64), radius: f64, color: Color) {
    shapes.push(Shape::Disc {
        center,
        radius: radius + 1.5,
        color: Color::WHITE,
    });
    shapes.push(Shape::Disc {
        center,
        radius,
        color,
    });
}

/// One row, centred on `center_x`, naming the series present; returns its box.
fn legend(points: &[PlotPoint], center_x: f64, y: f64, shapes: &mut Vec<Shape>) -> Rect {
    const SAMPLE: f64 = 26.0;
    const GAP: f64 = 8.0;
    const BETWEEN: f64 = 28.0;
    let cap = (font::CAP_HEIGHT * TEXT) as f64;
    let present: Vec<&Style> = STYLES
        .iter()
        .filter(|s| points.iter().any(|p| p.kind == s.kind))
        .collect();
    let entry_w = |s: &Style| SAMPLE + GAP + font::text_width(s.name, TEXT) as f64;
    let total: f64 = present.iter().map(|s| entry_w(s)).sum::<f64>()
        + BETWEEN * present.len().saturating_sub(1) as f64;
    let mut x = (center_x - total / 2.0).round();
    let mid = y + cap / 2.0;
    for s in &present {
        shapes.push(Shape::line((x, mid), (x + SAMPLE, mid), s.width, s.color));
        if s.marker > 0.0 {
            push_marker(shapes, (x + SAMPLE / 2.0, mid), s.marker, s.color);
        }
        shapes.push(Shape::text(
            x + SAMPLE + GAP,
            y,
            s.name,
            TEXT,
            Anchor::Start,
            INK,
        ));
        x += entry_w(s) + BETWEEN;
    }
    Rect {
        x: (center_x - total / 2.0).round() - 6.0,
        y: y - 6.0,
        w: total + 12.0,
        h: cap + 12.0,
    }
}

/// The plot as PNG bytes.
pub fn loss_curve_png(points: &[PlotPoint], title: &str) -> Vec<u8> {
    let img = super::raster::render(&loss_plot(points, title).scene);
    super::encode_png(&image::DynamicImage::ImageRgb8(img))
}

/// The plot as an SVG document.
pub fn loss_curve_svg(points: &[PlotPoint], title: &str) -> String {
    super::svg::render(&loss_plot(points, title).scene)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    fn point(epoch: f64, kind: CurveKind, loss: f64) -> PlotPoint {
        PlotPoint { epoch, kind, loss }
    }

    /// A 10-epoch run shaped like a real one, its first running loss far above the rest.
    fn ten_epochs() -> Vec<PlotPoint> {
        let mut points = vec![point(0.1, CurveKind::Running, 543.0)];
        for e in 1..=10 {
            let e = e as f64;
            points.push(point(e - 0.4, CurveKind::Running, 100.0 + 90.0 / e));
            points.push(point(e, CurveKind::TrainEpoch, 102.0 + 80.0 / e));
            points.push(point(e, CurveKind::Test, 101.0 + 60.0 / e));
        }
        points
    }

    fn color_of(kind: CurveKind) -> Color {
        STYLES.iter().find(|s| s.kind == kind).unwrap().color
    }

    fn count(img: &RgbImage, color: Color, within: Rect) -> usize {
        img.enumerate_pixels()
            .filter(|(x, y, p)| {
                within.holds_pixel(*x as i64, *y as i64) && p.0 == [color.0, color.1, color.2]
            })
            .count()
    }

    #[test]
    fn a_one_epoch_curve_shows_every_series_as_a_marker() {
        let points = [
            point(50.0 / 79.0, CurveKind::Running, 262.0),
            point(1.0, CurveKind::TrainEpoch, 245.0),
            point(1.0, CurveKind::Test, 189.0),
        ];
        let plot = loss_plot(&points, "one epoch");
        let img = super::super::raster::render(&plot.scene);
        // a disc of radius r covers about pi (r - 0.5)^2 pixels fully: 38 for 4, 28 for 3.5
        for kind in [CurveKind::Test, CurveKind::TrainEpoch, CurveKind::Running] {
            let n = count(&img, color_of(kind), plot.frame);
            assert!(n >= 25, "{kind:?}: {n} pixels");
        }
    }

    #[test]
    fn the_series_stay_inside_the_frame_and_markers_are_whole() {
        let plot = loss_plot(&ten_epochs(), "ten epochs");
        let img = super::super::raster::render(&plot.scene);
        // every coloured pixel (the series, the legend's samples) is in the frame or the legend
        for (x, y, p) in img.enumerate_pixels() {
            let [r, g, b] = p.0;
            let colourful = r.max(g).max(b) - r.min(g).min(b) > 24;
            let (x, y) = (x as i64, y as i64);
            assert!(
                !colourful || plot.frame.holds_pixel(x, y) || plot.legend.holds_pixel(x, y),
                "series pixel {p:?} at ({x}, {y}) outside the frame {:?}",
                plot.frame
            );
        }
        // the first running loss lies above the y range, so its line meets the top edge
        let top_row = Rect {
            y: plot.frame.y + 0.5,
            h: 1.0,
            ..plot.frame
        };
        let touches_top = img.enumerate_pixels().any(|(x, y, p)| {
            top_row.holds_pixel(x as i64, y as i64) && p.0[2] > p.0[0] && p.0 != [255; 3]
        });
        assert!(touches_top, "the running line does not reach the top edge");
        // every marker, the last epoch's included, lies wholly inside the frame
        let Shape::Group { shapes, .. } = &plot.scene.shapes[plot_series_index(&plot)] else {
            panic!("no series group")
        };
        let discs: Vec<_> = shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Disc { center, radius, .. } => Some((*center, *radius)),
                _ => None,
            })
            .collect();
        assert_eq!(
            discs.len(),
            2 * 20,
            "10 train and 10 test markers with their rings"
        );
        for ((x, y), r) in discs {
            let f = plot.frame;
            assert!(
                x - r > f.x && x + r < f.right() && y - r > f.y && y + r < f.bottom(),
                "marker at ({x}, {y}) crosses the frame"
            );
        }
    }

    fn plot_series_index(plot: &LossPlot) -> usize {
        plot.scene
            .shapes
            .iter()
            .position(|s| {
                matches!(
                    s,
                    Shape::Group {
                        class: "series",
                        ..
                    }
                )
            })
            .unwrap()
    }

    #[test]
    fn tick_labels_keep_clear_of_the_ticks() {
        let plot = loss_plot(&ten_epochs(), "ten epochs");
        let img = super::super::raster::render(&plot.scene);
        let f = plot.frame;
        // a white band between the y labels and the tick marks, and under the x tick marks
        let left_gap = Rect {
            x: (f.x - TICK - 5.0).floor(),
            y: f.y - 8.0,
            w: 4.0,
            h: f.h + 16.0,
        };
        let under_ticks = Rect {
            x: f.x - 8.0,
            y: (f.bottom() + TICK + 1.0).ceil(),
            w: f.w + 16.0,
            h: 5.0,
        };
        for gap in [left_gap, under_ticks] {
            for (x, y, p) in img.enumerate_pixels() {
                if gap.holds_pixel(x as i64, y as i64) {
                    assert_eq!(p.0, [255; 3], "ink at ({x}, {y}) in the gap {gap:?}");
                }
            }
        }
    }

    #[test]
    fn the_svg_has_the_title_a_line_per_series_and_the_axis_names() {
        let svg = loss_curve_svg(&ten_epochs(), "runs/a<b>.safetensors: loss per sample");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(">runs/a&lt;b&gt;.safetensors: loss per sample</text>"));
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        for label in [
            ">epoch<",
            ">loss per sample (nats)<",
            ">train (running)<",
            ">test<",
        ] {
            assert!(svg.contains(label), "no {label} in the SVG");
        }
        // epoch ticks 0..10 and round loss ticks
        for tick in [">0<", ">5<", ">10<", ">120<", ">140<"] {
            assert!(svg.contains(tick), "no tick {tick}");
        }
        assert_balanced(&svg);
    }

    /// Every element is closed, in order: XML enough for any SVG viewer.
    fn assert_balanced(xml: &str) {
        let mut open: Vec<&str> = Vec::new();
        for tag in xml.split('<').skip(1) {
            let tag = &tag[..tag.find('>').expect("unterminated tag")];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "</{name}> closes nothing");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap());
            }
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
    }

    #[test]
    fn no_points_or_a_single_value_still_draw_a_plot() {
        for points in [vec![], vec![point(1.0, CurveKind::Test, 7.0)]] {
            let plot = loss_plot(&points, "empty");
            let png = loss_curve_png(&points, "empty");
            assert!(png.len() > 1000 && plot.frame.w > 100.0);
        }
    }
}
