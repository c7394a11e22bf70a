//! The text-overlay mask of photo restoration's benchmark: lines of capitals and digits stamped
//! over the whole image in the plot font (strokes `scale` pixels wide), the damage a caption or
//! a watermark does. The same for every image of a size, so runs compare.

use crate::plot::font::{for_each_pixel, CAP_HEIGHT};

/// The lines, repeated down the image and shifted along each line so columns do not align.
const TEXT: &str = "WGVAE RESTORES PHOTOS 2026 - A CAPTION OVER THE PICTURE 0123456789 ";

/// Missing pixels (true) of a `height` x `width` image under the overlay, row-major.
pub fn text_mask(height: usize, width: usize, scale: u32) -> Vec<bool> {
    let mut mask = vec![false; height * width];
    let line = (CAP_HEIGHT * scale) as i64;
    // a line of text, then two lines' height of picture
    let pitch = 3 * line;
    let repeated = TEXT.repeat(1 + width / (TEXT.len() * 3).max(1));
    let mut top = line / 2;
    let mut shift = 0i64;
    while top < height as i64 {
        for_each_pixel(&repeated, scale, &mut |along, down| {
            let (x, y) = (along - shift, top + down);
            if x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height {
                mask[y as usize * width + x as usize] = true;
            }
        });
        top += pitch;
        shift += 37 * scale as i64;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_a_tenth_or_so_and_reaches_every_band() {
        let (h, w) = (200, 300);
        let m = text_mask(h, w, 2);
        let share = m.iter().filter(|&&b| b).count() as f64 / m.len() as f64;
        assert!((0.05..0.25).contains(&share), "{share}");
        // some text in the top and the bottom fifth, and pixels left whole between lines
        let band = |r: std::ops::Range<usize>| {
            r.flat_map(|y| (0..w).map(move |x| (y, x)))
                .any(|(y, x)| m[y * w + x])
        };
        assert!(band(0..40) && band(160..200));
        assert!(m[..w].iter().all(|&b| !b), "the first row is picture");
        assert_eq!(text_mask(h, w, 2), m, "the same mask every time");
    }
}
