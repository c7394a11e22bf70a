//! Writes a [`Scene`] as SVG by hand: real, selectable text in the viewer's sans-serif font,
//! sized so its capitals match the bitmap font's, and clipped groups as `<clipPath>`s.

use std::fmt::Write;

use super::font::CAP_HEIGHT;
use super::scene::{Anchor, Color, Rect, Scene, Shape};

/// Capital height of a typical sans-serif face, as a fraction of its font size.
const CAP_PER_EM: f64 = 0.72;

pub fn render(scene: &Scene) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n",
        w = scene.width,
        h = scene.height
    );
    let mut clips = 0;
    for shape in &scene.shapes {
        write_shape(&mut out, shape, &mut clips);
    }
    out.push_str("</svg>\n");
    out
}

fn hex(c: Color) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn write_shape(out: &mut String, shape: &Shape, clips: &mut usize) {
    // writing to a String cannot fail
    let _ = match shape {
        Shape::Path {
            points,
            width,
            color,
        } if points.len() == 2 => writeln!(
            out,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"{width}\"/>",
            points[0].0,
            points[0].1,
            points[1].0,
            points[1].1,
            hex(*color)
        ),
        Shape::Path {
            points,
            width,
            color,
        } => {
            let coords: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            writeln!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
                coords.join(" "),
                hex(*color)
            )
        }
        Shape::Disc {
            center,
            radius,
            color,
        } => writeln!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius}\" fill=\"{}\"/>",
            center.0,
            center.1,
            hex(*color)
        ),
        Shape::Outline { rect, color } => writeln!(
            out,
            "<rect {} fill=\"none\" stroke=\"{}\"/>",
            rect_attributes(rect),
            hex(*color)
        ),
        Shape::Text {
            x,
            y,
            text,
            scale,
            anchor,
            vertical,
            color,
        } => {
            let cap = (CAP_HEIGHT * scale) as f64;
            let anchor = match anchor {
                Anchor::Start => "start",
                Anchor::Middle => "middle",
                Anchor::End => "end",
            };
            // the baseline lies one capital height below the capitals' top (beside it when vertical)
            let place = if *vertical {
                format!("x=\"0\" y=\"0\" transform=\"translate({:.1},{y:.1}) rotate(-90) translate(0,{cap:.1})\"", x)
            } else {
                format!("x=\"{x:.1}\" y=\"{:.1}\"", y + cap)
            };
            writeln!(
                out,
                "<text {place} font-size=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"{}\">{}</text>",
                cap / CAP_PER_EM,
                hex(*color),
                escape(text)
            )
        }
        Shape::Group {
            class,
            clip,
            shapes,
        } => {
            let mut open = format!("<g class=\"{class}\"");
            if let Some(rect) = clip {
                *clips += 1;
                let _ = writeln!(
                    out,
                    "<clipPath id=\"clip{clips}\"><rect {}/></clipPath>",
                    rect_attributes(rect)
                );
                let _ = write!(open, " clip-path=\"url(#clip{clips})\"");
            }
            let _ = writeln!(out, "{open}>");
            for s in shapes {
                write_shape(out, s, clips);
            }
            writeln!(out, "</g>")
        }
    };
}

fn rect_attributes(r: &Rect) -> String {
    format!(
        "x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"",
        r.x, r.y, r.w, r.h
    )
}

/// `text` with XML's special characters escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
