//! Image grids: prior samples in rows, and test images above their reconstructions.

use image::{DynamicImage, Rgb, RgbImage};

const BORDER: Rgb<u8> = Rgb([40, 40, 40]);
/// Images per row of a reconstruction grid, as in pytorch/examples/vae.
pub const PAIRS_PER_ROW: usize = 8;

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
    let cells: Vec<Option<&[f32]>> = images.iter().map(|i| Some(i.as_slice())).collect();
    let layout = Layout {
        rows,
        cols,
        channels,
        per_row,
        scale,
        band_rows: usize::MAX,
        band_gap: 0,
    };
    layout.draw(&cells)
}

/// The gap between the row pairs of a reconstruction grid: a quarter of an image.
pub fn pair_gap(rows: usize, scale: u32) -> u32 {
    (rows as u32 * scale / 4).max(3)
}

/// Originals in one row and their reconstructions in the row below, up to
/// [`PAIRS_PER_ROW`] per row, each such pair of rows set apart from the next by
/// [`pair_gap`]: what pytorch/examples/vae's `reconstruction_<epoch>.png` shows.
pub fn reconstruction_grid(
    originals: &[Vec<f32>],
    reconstructions: &[Vec<f32>],
    rows: usize,
    cols: usize,
    channels: usize,
    scale: u32,
) -> DynamicImage {
    let per_row = PAIRS_PER_ROW.min(originals.len()).max(1);
    let mut cells: Vec<Option<&[f32]>> = Vec::new();
    for (o, r) in originals
        .chunks(per_row)
        .zip(reconstructions.chunks(per_row))
    {
        for half in [o, r] {
            cells.extend(half.iter().map(|i| Some(i.as_slice())));
            // a short last row leaves its cells empty, so reconstructions stay under their originals
            cells.extend((half.len()..per_row).map(|_| None));
        }
    }
    let layout = Layout {
        rows,
        cols,
        channels,
        per_row,
        scale,
        band_rows: 2,
        band_gap: pair_gap(rows, scale),
    };
    layout.draw(&cells)
}

/// Cells of `rows` x `cols` images scaled `scale` times, `per_row` wide, one-pixel borders,
/// and `band_gap` more pixels after every `band_rows` rows of cells.
struct Layout {
    rows: usize,
    cols: usize,
    channels: usize,
    per_row: usize,
    scale: u32,
    band_rows: usize,
    band_gap: u32,
}

impl Layout {
    fn draw(&self, cells: &[Option<&[f32]>]) -> DynamicImage {
        let grid_rows = cells.len().div_ceil(self.per_row).max(1);
        let (cell_w, cell_h) = (
            self.cols as u32 * self.scale + 1,
            self.rows as u32 * self.scale + 1,
        );
        let bands = (grid_rows - 1) / self.band_rows;
        let mut img = RgbImage::from_pixel(
            self.per_row as u32 * cell_w + 1,
            grid_rows as u32 * cell_h + 1 + bands as u32 * self.band_gap,
            BORDER,
        );
        for (i, cell) in cells.iter().enumerate() {
            let Some(pixels) = cell else { continue };
            let row = i / self.per_row;
            let x = (i % self.per_row) as u32 * cell_w + 1;
            let y = row as u32 * cell_h + 1 + (row / self.band_rows) as u32 * self.band_gap;
            self.draw_image(&mut img, pixels, x, y);
        }
        if self.channels == 1 {
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(img).to_luma8())
        } else {
            DynamicImage::ImageRgb8(img)
        }
    }

    fn draw_image(&self, img: &mut RgbImage, pixels: &[f32], x: u32, y: u32) {
        let plane = self.rows * self.cols;
        let s = self.scale;
        for r in 0..self.rows {
            for c in 0..self.cols {
                let value = |ch: usize| {
                    let v = pixels[(ch % self.channels) * plane + r * self.cols + c];
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8
                };
                let rgb = Rgb([value(0), value(1), value(2)]);
                for d in 0..s * s {
                    img.put_pixel(x + c as u32 * s + d % s, y + r as u32 * s + d / s, rgb);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(value: f32, n: usize) -> Vec<Vec<f32>> {
        vec![vec![value; 4 * 4]; n]
    }

    #[test]
    fn reconstructions_sit_under_their_originals_with_a_gap_between_pairs() {
        // 10 images: rows of 8 and 2, each over its reconstructions
        let grid = reconstruction_grid(&flat(1.0, 10), &flat(0.5, 10), 4, 4, 1, 1).to_luma8();
        let gap = pair_gap(4, 1);
        assert_eq!(grid.dimensions(), (8 * 5 + 1, 4 * 5 + 1 + gap));
        let at = |x: u32, y: u32| grid.get_pixel(x, y).0[0];
        // first cell of each of the four rows: original, reconstruction, original, reconstruction
        let row_top = |r: u32| 1 + r * 5 + (r / 2) * gap;
        assert_eq!(
            [
                at(1, row_top(0)),
                at(1, row_top(1)),
                at(1, row_top(2)),
                at(1, row_top(3))
            ],
            [255, 128, 255, 128]
        );
        // the last pair of rows is short: its ninth-image column is empty border
        assert_eq!(at(2 * 5 + 1, row_top(2)), BORDER.0[0]);
        assert_eq!(at(2 * 5 + 1, row_top(3)), BORDER.0[0]);
        // the gap between the pairs is border only
        let gap_row = row_top(2) - 2;
        assert!((0..grid.width()).all(|x| at(x, gap_row) == BORDER.0[0]));
    }

    #[test]
    fn a_plain_grid_has_no_bands() {
        let grid = image_grid(&flat(1.0, 16), 4, 4, 1, 4, 2);
        assert_eq!((grid.width(), grid.height()), (4 * 9 + 1, 4 * 9 + 1));
    }
}
