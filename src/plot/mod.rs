//! Pictures: the loss plot (PNG and SVG from one layout) and image grids, drawn with `image`
//! alone. Text comes from a built-in bitmap font, so no font files are needed.
//!
//! `scene` holds shapes in pixel coordinates, `raster` draws them, `svg` writes them, `font`
//! is the bitmap font, `ticks` picks axis values, `loss` lays out the loss plot, `grid` the
//! image grids.

pub(crate) mod font;
pub mod grid;
pub mod loss;
mod raster;
pub mod scene;
mod svg;
pub mod ticks;

use image::{DynamicImage, ImageFormat};

pub use grid::{image_grid, reconstruction_grid};
pub use loss::{loss_curve_png, loss_curve_svg, loss_plot, CurveKind, PlotPoint};

/// `img` as the bytes of a PNG file, encoded in memory.
pub fn encode_png(img: &DynamicImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, ImageFormat::Png)
        .expect("PNG encoding into memory cannot fail");
    bytes.into_inner()
}
