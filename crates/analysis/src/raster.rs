//! A tiny RGB raster with a built-in 5×7 bitmap font, encoded to PNG; no system fonts are used.
//!
//! The font covers exactly the characters needed to print numbers on colour bars and column headers:
//! the digits `0`–`9`, `.`, `-`, `+`, `e` and the space. Any other character is drawn as a hollow box,
//! so a missing glyph is visible rather than silently dropped.

use crate::error::{Error, Result};

/// Width of one glyph in font pixels.
pub(crate) const GLYPH_W: usize = 5;
/// Height of one glyph in font pixels.
pub(crate) const GLYPH_H: usize = 7;
/// Horizontal advance from one glyph to the next, in font pixels (glyph plus one pixel of spacing).
pub(crate) const ADVANCE: usize = GLYPH_W + 1;

/// Rows of a glyph, most significant of the low five bits on the left.
fn glyph(c: char) -> [u8; GLYPH_H] {
    match c {
        '0' => [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        '1' => [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        '2' => [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        '3' => [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        '4' => [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        '5' => [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        '6' => [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        '7' => [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        '8' => [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        '9' => [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        '.' => [0, 0, 0, 0, 0, 0b01100, 0b01100],
        '-' => [0, 0, 0, 0b11111, 0, 0, 0],
        '+' => [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0],
        'e' => [0, 0, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110],
        ' ' => [0; GLYPH_H],
        _ => [0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111],
    }
}

/// Width in pixels of `text` drawn at integer magnification `mag` (no trailing spacing).
pub(crate) fn text_width(text: &str, mag: usize) -> usize {
    let n = text.chars().count();
    if n == 0 {
        0
    } else {
        (n * ADVANCE - 1) * mag
    }
}

/// Largest image side accepted, in pixels (keeps allocations bounded for absurd inputs).
pub(crate) const MAX_SIDE_PX: usize = 16_384;

/// An RGB image, row-major, three bytes per pixel.
pub(crate) struct Canvas {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `background`.
    pub(crate) fn new(width: usize, height: usize, background: [u8; 3]) -> Result<Self> {
        for (name, value) in [("image width", width), ("image height", height)] {
            if value == 0 || value > MAX_SIDE_PX {
                return Err(Error::BadParameter {
                    name,
                    value,
                    reason: "must be between 1 and 16384 pixels",
                });
            }
        }
        let mut data = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            data.extend_from_slice(&background);
        }
        Ok(Canvas { width, height, data })
    }

    /// Sets one pixel; pixels outside the canvas are ignored.
    pub(crate) fn set(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = 3 * (y * self.width + x);
            self.data[i..i + 3].copy_from_slice(&rgb);
        }
    }

    /// Fills the rectangle `[x, x+w) × [y, y+h)` (clipped to the canvas).
    pub(crate) fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, rgb: [u8; 3]) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.set(xx, yy, rgb);
            }
        }
    }

    /// Draws a one-pixel rectangle outline around `[x, x+w) × [y, y+h)`.
    pub(crate) fn outline(&mut self, x: usize, y: usize, w: usize, h: usize, rgb: [u8; 3]) {
        if w == 0 || h == 0 {
            return;
        }
        self.fill(x, y, w, 1, rgb);
        self.fill(x, y + h - 1, w, 1, rgb);
        self.fill(x, y, 1, h, rgb);
        self.fill(x + w - 1, y, 1, h, rgb);
    }

    /// Draws `text` with its top-left corner at `(x, y)`, each font pixel a `mag × mag` square.
    pub(crate) fn text(&mut self, x: usize, y: usize, text: &str, mag: usize, rgb: [u8; 3]) {
        for (k, c) in text.chars().enumerate() {
            let rows = glyph(c);
            let x0 = x + k * ADVANCE * mag;
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..GLYPH_W {
                    if bits & (1 << (GLYPH_W - 1 - col)) != 0 {
                        self.fill(x0 + col * mag, y + r * mag, mag, mag, rgb);
                    }
                }
            }
        }
    }

    /// Encodes the canvas as an 8-bit RGB PNG. The bytes depend only on the pixels.
    pub(crate) fn into_png(self) -> Result<Vec<u8>> {
        let backend = |e: png::EncodingError| Error::Backend { message: e.to_string() };
        let mut out = Vec::new();
        // Both sides are at most MAX_SIDE_PX, so the casts cannot truncate.
        let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Balanced);
        let mut writer = encoder.write_header().map_err(backend)?;
        writer.write_image_data(&self.data).map_err(backend)?;
        writer.finish().map_err(backend)?;
        Ok(out)
    }
}

/// Formats a number with three significant digits using only the font's characters:
/// fixed notation for `1e-2 ≤ |x| < 1e4` (`0.0123`, `1.23`, `123`), otherwise `1.23e-5`; `0` for zero.
pub fn format_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return "nan".to_string();
    }
    let a = x.abs();
    if (1e-2..1e4).contains(&a) {
        let exponent = a.log10().floor() as i32;
        let decimals = (2 - exponent).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(1.234_56), "1.23");
        assert_eq!(format_number(-0.012_345), "-0.0123");
        assert_eq!(format_number(123.4), "123");
        assert_eq!(format_number(0.000_123_4), "1.23e-4");
        assert_eq!(format_number(-45_678.0), "-4.57e4");
        // Every character produced is in the font.
        for s in ["1.23e-4", "-4.57e4", "0.0123"] {
            assert!(s.chars().all(|c| "0123456789.-+e ".contains(c)));
        }
    }

    #[test]
    fn text_pixels() {
        let mut c = Canvas::new(20, 10, [255, 255, 255]).unwrap();
        c.text(1, 1, "1", 1, [0, 0, 0]);
        // Glyph '1' row 0 is 00100: only column 2 is set.
        assert_eq!(&c.data[3 * (20 + 3)..3 * (20 + 3) + 3], &[0, 0, 0]);
        assert_eq!(&c.data[3 * (20 + 2)..3 * (20 + 2) + 3], &[255, 255, 255]);
        assert_eq!(text_width("12", 1), 11);
        assert_eq!(text_width("12", 2), 22);
    }
}
