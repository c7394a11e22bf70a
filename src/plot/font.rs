//! A 5x7 bitmap font (digits, letters, the punctuation of labels and file names) so pictures
//! carry text without font files. Each glyph is 9 rows of 5 bits: capitals and digits fill
//! rows 0-6, descenders (g, j, p, q, y, comma) reach rows 7-8. Glyphs are spaced by their
//! inked width, as proportional text reads better than fixed cells.

use image::{Rgb, RgbImage};

/// Rows of one glyph, the top row first, bit 4 the leftmost column.
type Glyph = [u8; 9];

/// Height of the capitals in font pixels; the baseline lies below row 6.
pub const CAP_HEIGHT: u32 = 7;
/// Width of a space, in font pixels.
const SPACE: u32 = 3;

#[rustfmt::skip]
const GLYPHS: &[(char, Glyph)] = &[
    ('0', [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110, 0, 0]),
    ('1', [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0]),
    ('2', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111, 0, 0]),
    ('3', [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110, 0, 0]),
    ('4', [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010, 0, 0]),
    ('5', [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110, 0, 0]),
    ('6', [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110, 0, 0]),
    ('7', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0, 0]),
    ('8', [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110, 0, 0]),
    ('9', [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100, 0, 0]),
    ('A', [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0, 0]),
    ('B', [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110, 0, 0]),
    ('C', [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110, 0, 0]),
    ('D', [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100, 0, 0]),
    ('E', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111, 0, 0]),
    ('F', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000, 0, 0]),
    ('G', [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111, 0, 0]),
    ('H', [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0, 0]),
    ('I', [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0]),
    ('J', [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100, 0, 0]),
    ('K', [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001, 0, 0]),
    ('L', [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111, 0, 0]),
    ('M', [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001, 0, 0]),
    ('N', [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001, 0, 0]),
    ('O', [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0, 0]),
    ('P', [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000, 0, 0]),
    ('Q', [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101, 0, 0]),
    ('R', [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001, 0, 0]),
    ('S', [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110, 0, 0]),
    ('T', [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0, 0]),
    ('U', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0, 0]),
    ('V', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0, 0]),
    ('W', [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010, 0, 0]),
    ('X', [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001, 0, 0]),
    ('Y', [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0, 0]),
    ('Z', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111, 0, 0]),
    ('a', [0, 0, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111, 0, 0]),
    ('b', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0, 0]),
    ('c', [0, 0, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110, 0, 0]),
    ('d', [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0, 0]),
    ('e', [0, 0, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110, 0, 0]),
    ('f', [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000, 0, 0]),
    ('g', [0, 0, 0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('h', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0, 0]),
    ('i', [0b00100, 0, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0]),
    ('j', [0b00010, 0, 0b00110, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100]),
    ('k', [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0, 0]),
    ('l', [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0]),
    ('m', [0, 0, 0b11010, 0b10101, 0b10101, 0b10001, 0b10001, 0, 0]),
    ('n', [0, 0, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0, 0]),
    ('o', [0, 0, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110, 0, 0]),
    ('p', [0, 0, 0b11110, 0b10001, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000]),
    ('q', [0, 0, 0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001]),
    ('r', [0, 0, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000, 0, 0]),
    ('s', [0, 0, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110, 0, 0]),
    ('t', [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110, 0, 0]),
    ('u', [0, 0, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0, 0]),
    ('v', [0, 0, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0, 0]),
    ('w', [0, 0, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010, 0, 0]),
    ('x', [0, 0, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0, 0]),
    ('y', [0, 0, 0b10001, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('z', [0, 0, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111, 0, 0]),
    ('.', [0, 0, 0, 0, 0, 0b01100, 0b01100, 0, 0]),
    (',', [0, 0, 0, 0, 0, 0b01100, 0b01100, 0b00100, 0b01000]),
    (':', [0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0, 0, 0]),
    ('-', [0, 0, 0, 0b01110, 0, 0, 0, 0, 0]),
    ('+', [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0, 0, 0]),
    ('=', [0, 0, 0b11111, 0, 0b11111, 0, 0, 0, 0]),
    ('_', [0, 0, 0, 0, 0, 0, 0, 0b11111, 0]),
    ('/', [0, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0, 0, 0]),
    ('(', [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010, 0, 0]),
    (')', [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000, 0, 0]),
    ('%', [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011, 0, 0]),
    ('?', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0, 0b00100, 0, 0]),
];

/// The glyph of `ch` (a space is empty; a character the font lacks shows as '?').
fn glyph(ch: char) -> Glyph {
    if ch == ' ' {
        return [0; 9];
    }
    let find = |want: char| GLYPHS.iter().find(|(c, _)| *c == want).map(|(_, g)| *g);
    find(ch).or_else(|| find('?')).unwrap_or([0; 9])
}

/// The inked columns of a glyph as (first, count); a space is `SPACE` wide.
fn columns(g: &Glyph) -> (u32, u32) {
    let ink = g.iter().fold(0u8, |acc, row| acc | row);
    if ink == 0 {
        return (0, SPACE);
    }
    let first = ink.leading_zeros() - 3; // bits 4..0 are columns 0..4
    let last = 7 - ink.trailing_zeros() - 3;
    (first, last - first + 1)
}

/// Width of `text` in image pixels at `scale` (one font pixel = scale x scale).
pub fn text_width(text: &str, scale: u32) -> u32 {
    let font_px: u32 = text.chars().map(|c| columns(&glyph(c)).1 + 1).sum();
    font_px.saturating_sub(1) * scale
}

/// Where one text pixel lands: along the text and down from the top of its capitals.
pub(crate) type Place<'a> = &'a mut dyn FnMut(i64, i64);

pub(crate) fn for_each_pixel(text: &str, scale: u32, place: Place) {
    let s = scale as i64;
    let mut pen = 0i64;
    for ch in text.chars() {
        let g = glyph(ch);
        let (first, width) = columns(&g);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..width {
                if bits >> (4 - first - col) & 1 == 1 {
                    for d in 0..s * s {
                        place(pen + col as i64 * s + d % s, row as i64 * s + d / s);
                    }
                }
            }
        }
        pen += (width as i64 + 1) * s;
    }
}

/// Draws `text` with the top-left of its capitals at (x, y).
pub fn draw(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: Rgb<u8>) {
    for_each_pixel(text, scale, &mut |along, down| {
        put(img, x + along, y + down, color)
    });
}

/// Draws `text` turned a quarter left (reading upward), starting at (x, y): the text runs up
/// from y, and the tops of its capitals face x.
pub fn draw_rotated(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: Rgb<u8>) {
    for_each_pixel(text, scale, &mut |along, down| {
        put(img, x + down, y - 1 - along, color)
    });
}

fn put(img: &mut RgbImage, x: i64, y: i64, color: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, color);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_ink() {
        assert_eq!(columns(&glyph('0')), (0, 5));
        assert_eq!(columns(&glyph('.')), (1, 2));
        assert_eq!(columns(&glyph('1')), (1, 3));
        // "1.0": 3 + 1 + 2 + 1 + 5 font pixels
        assert_eq!(text_width("1.0", 2), 24);
        assert_eq!(text_width("", 2), 0);
    }

    #[test]
    fn unknown_characters_show_as_a_question_mark() {
        assert_eq!(glyph('#'), glyph('?'));
        assert_eq!(glyph(' '), [0; 9]);
    }

    #[test]
    fn every_glyph_is_five_columns_at_most() {
        for (c, g) in GLYPHS {
            assert!(g.iter().all(|row| *row < 32), "{c}");
        }
    }
}
