//! A picture as a list of shapes in pixel coordinates. `raster` draws it to an image and `svg`
//! writes it as SVG, so the PNG and the SVG of a plot always show the same thing.

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    /// White, the background of every scene.
    pub const WHITE: Color = Color(255, 255, 255);
}

/// An axis-aligned rectangle; (x, y) is its top-left corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    /// The x of the right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    /// The y of the bottom edge (y grows downward).
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// Whether the whole pixel (px, py) lies inside.
    pub fn holds_pixel(&self, px: i64, py: i64) -> bool {
        px as f64 >= self.x
            && (px + 1) as f64 <= self.right()
            && py as f64 >= self.y
            && (py + 1) as f64 <= self.bottom()
    }
}

/// Where a text's anchor point lies along it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// One thing drawn, in pixel coordinates, colours as sRGB.
#[derive(Clone, Debug)]
pub enum Shape {
    /// Straight segments through `points`, `width` pixels wide (a line when there are two).
    Path {
        points: Vec<(f64, f64)>,
        width: f64,
        color: Color,
    },
    Disc {
        center: (f64, f64),
        radius: f64,
        color: Color,
    },
    /// A one-pixel outline of `rect` (on a pixel row when its edges are at half pixels).
    Outline { rect: Rect, color: Color },
    /// `text` with the top of its capitals at `y`, anchored at `x`; `scale` is the size of one
    /// font pixel. A `vertical` text reads upward: its capitals face `x` and it is anchored
    /// at `y` along its length.
    Text {
        x: f64,
        y: f64,
        text: String,
        scale: u32,
        anchor: Anchor,
        vertical: bool,
        color: Color,
    },
    /// Shapes drawn only inside `clip`, named `class` in the SVG.
    Group {
        class: &'static str,
        clip: Option<Rect>,
        shapes: Vec<Shape>,
    },
}

impl Shape {
    /// A straight segment from `from` to `to`, `width` pixels wide.
    pub fn line(from: (f64, f64), to: (f64, f64), width: f64, color: Color) -> Shape {
        Shape::Path {
            points: vec![from, to],
            width,
            color,
        }
    }

    /// A horizontal text (see [`Shape::Text`]).
    pub fn text(x: f64, y: f64, text: &str, scale: u32, anchor: Anchor, color: Color) -> Shape {
        Shape::Text {
            x,
            y,
            text: text.to_string(),
            scale,
            anchor,
            vertical: false,
            color,
        }
    }
}

/// A picture `width` x `height` pixels on a white background.
#[derive(Clone, Debug)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    pub shapes: Vec<Shape>,
}
