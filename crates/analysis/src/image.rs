//! PNG image grids: receptive fields (diverging colour map with a colour bar), ±1 configurations, and
//! originals beside reconstructions. No fonts are needed: numbers are drawn with a built-in 5×7 font.
//!
//! # Geometry
//!
//! Each tile is one `L×L` lattice image (row-major sites, `site = row·L + col`), every lattice site drawn
//! as a `scale × scale` square. Tiles are separated, and the grid framed, by a one-pixel gap
//! ([`GAP_COLOUR`] grey for fields, [`SPIN_GAP_COLOUR`] steel blue for configurations and
//! reconstructions). Tile `k` sits in grid column `k % columns` and grid row `k / columns`, so its top-left
//! pixel is `(1 + c·(L·scale + 1), 1 + r·(L·scale + 1))`. [`reconstruction_grid_png`] differs: it has
//! a header strip and a wider gap after the originals' column (its documentation gives the offsets).
//!
//! # Colours
//!
//! - Fields: [`diverging_colour`], blue (negative) – white (zero) – red (positive), symmetric about zero.
//!   The scale is either one maximum |value| shared by the figure ([`Normalization::Shared`]: a colour
//!   means the same number in every tile, and the colour bar is labelled `+max`, `0`, `-max`), or each
//!   tile's own maximum |value| ([`Normalization::PerTile`]: shapes are comparable, magnitudes are not,
//!   and the colour bar is labelled `1`, `0`, `-1` as a fraction of each tile's maximum). The numbers
//!   used are returned in [`FieldGrid::scales`] so the caller can print them in a caption.
//! - Configurations: spin `+1` white, `-1` black.
//! - Reconstructions: grey level `255·p`, where `p` is the probability that the spin is `+1`
//!   (so `p = 1` is white like a `+1` spin, `p = 0` black).
//!
//! Bytes are deterministic: the same input gives the same PNG.

use ndarray::ArrayView2;

use crate::error::{Error, Result};
use crate::raster::{format_number, text_width, Canvas, GLYPH_H, MAX_SIDE_PX};

/// Colour of the one-pixel gaps between field tiles (a grey that is not on the diverging map).
pub const GAP_COLOUR: [u8; 3] = [128, 128, 128];
/// Colour of the one-pixel gaps in configuration and reconstruction grids (steel blue, which stands out
/// against black, white and every grey level).
pub const SPIN_GAP_COLOUR: [u8; 3] = [70, 130, 180];
const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];
const GAP: usize = 1;
/// Extra separation between the originals' column and the reconstructions.
const GROUP_GAP: usize = 4;

/// Anchors of the diverging map at t = -1, -0.5, 0, 0.5, 1 (ColorBrewer RdBu ends, pure white centre).
const ANCHORS: [[f64; 3]; 5] = [
    [33.0, 102.0, 172.0],
    [146.0, 197.0, 222.0],
    [255.0, 255.0, 255.0],
    [244.0, 165.0, 130.0],
    [178.0, 24.0, 43.0],
];

/// The diverging colour of `t ∈ [-1, 1]` (values outside are clamped; NaN maps to white):
/// `-1` ↦ blue `(33, 102, 172)`, `0` ↦ white `(255, 255, 255)`, `+1` ↦ red `(178, 24, 43)`, linear in
/// between through `(146, 197, 222)` at `-0.5` and `(244, 165, 130)` at `+0.5`.
pub fn diverging_colour(t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(-1.0, 1.0) };
    let x = (t + 1.0) * 2.0; // in [0, 4]
    let i = (x.floor() as usize).min(3);
    let f = x - i as f64;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    let mix = |k: usize| (a[k] + f * (b[k] - a[k])).round() as u8;
    [mix(0), mix(1), mix(2)]
}

/// How field values are mapped to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Normalization {
    /// One scale for the whole figure: the largest |value| over all tiles maps to full colour.
    Shared,
    /// Each tile scaled by its own largest |value|.
    PerTile,
}

/// Size and arrangement of the tiles of a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLayout {
    /// Lattice side `L`: each tile shows `L×L` values.
    pub side: usize,
    /// Pixels per lattice site along each axis (1 to 64).
    pub scale: usize,
    /// Tiles per grid row; `None` chooses `⌈√n⌉` for `n` tiles.
    pub columns: Option<usize>,
}

impl GridLayout {
    fn validate(&self, what: &'static str, values_per_tile: usize) -> Result<()> {
        if self.side == 0 {
            return Err(Error::BadParameter { name: "side", value: 0, reason: "must be positive" });
        }
        if self.scale == 0 || self.scale > 64 {
            return Err(Error::BadParameter { name: "scale", value: self.scale, reason: "must be 1 to 64" });
        }
        if self.columns == Some(0) {
            return Err(Error::BadParameter { name: "columns", value: 0, reason: "must be positive" });
        }
        if self.side.saturating_mul(self.scale) > MAX_SIDE_PX {
            return Err(Error::BadParameter {
                name: "side",
                value: self.side,
                reason: "tile larger than 16384 pixels",
            });
        }
        if values_per_tile != self.side * self.side {
            return Err(Error::Shape {
                what,
                got: vec![values_per_tile],
                expected: format!("{} values per tile (side {} squared)", self.side * self.side, self.side),
            });
        }
        Ok(())
    }

    fn tile_px(&self) -> usize {
        self.side * self.scale
    }

    /// (columns, rows) of a grid of `n ≥ 1` tiles.
    fn shape(&self, n: usize) -> (usize, usize) {
        let cols = self.columns.unwrap_or_else(|| (n as f64).sqrt().ceil() as usize).clamp(1, n);
        (cols, n.div_ceil(cols))
    }

    fn grid_px(&self, n: usize) -> (usize, usize) {
        let (cols, rows) = self.shape(n);
        (cols * self.tile_px() + (cols + 1) * GAP, rows * self.tile_px() + (rows + 1) * GAP)
    }

    fn tile_origin(&self, k: usize, n: usize) -> (usize, usize) {
        let (cols, _) = self.shape(n);
        let step = self.tile_px() + GAP;
        (GAP + (k % cols) * step, GAP + (k / cols) * step)
    }
}

/// Draws one `side×side` tile whose site `s` has colour `colour(s)`.
fn draw_tile(
    canvas: &mut Canvas,
    x0: usize,
    y0: usize,
    side: usize,
    scale: usize,
    colour: impl Fn(usize) -> [u8; 3],
) {
    for row in 0..side {
        for col in 0..side {
            canvas.fill(x0 + col * scale, y0 + row * scale, scale, scale, colour(row * side + col));
        }
    }
}

/// A rendered receptive-field grid and the scale its colours stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldGrid {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// The normalisation used.
    pub normalization: Normalization,
    /// The |value| mapped to full colour: one number for [`Normalization::Shared`], one per tile (unit)
    /// for [`Normalization::PerTile`]. A scale of 0 (all-zero tile) draws the tile white.
    pub scales: Vec<f64>,
}

impl FieldGrid {
    /// A one-line statement of the colour scale, for a figure caption.
    pub fn scale_caption(&self) -> String {
        match self.normalization {
            Normalization::Shared => format!(
                "Colour scale shared by all tiles: red = +{}, white = 0, blue = -{}.",
                format_number(self.scales[0]),
                format_number(self.scales[0])
            ),
            Normalization::PerTile => {
                let lo = self.scales.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = self.scales.iter().copied().fold(0.0, f64::max);
                format!(
                    "Each tile scaled by its own max |value| (colour bar in units of it; maxima range from {} to {}).",
                    format_number(lo),
                    format_number(hi)
                )
            }
        }
    }
}

/// Draws every column of `fields` (shape `side² × units`, e.g. one matrix from
/// [`crate::fields::receptive_fields`]) as an `L×L` tile, with a labelled colour bar on the right.
///
/// # Errors
/// Bad layout parameters, a row count other than `side²`, no units, or a non-finite value.
pub fn field_grid_png(
    fields: ArrayView2<'_, f64>,
    layout: &GridLayout,
    normalization: Normalization,
) -> Result<FieldGrid> {
    layout.validate("field matrix", fields.nrows())?;
    let n = fields.ncols();
    if n == 0 {
        return Err(Error::Empty { what: "field matrix (no units)" });
    }
    if let Some(index) = fields.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite { what: "field matrix", index });
    }
    let max_abs = |col: usize| fields.column(col).iter().fold(0.0_f64, |m, &x| m.max(x.abs()));
    let scales: Vec<f64> = match normalization {
        Normalization::Shared => vec![(0..n).map(max_abs).fold(0.0, f64::max)],
        Normalization::PerTile => (0..n).map(max_abs).collect(),
    };
    let labels: [String; 3] = match normalization {
        Normalization::Shared => [format_number(scales[0]), "0".to_string(), format_number(-scales[0])],
        Normalization::PerTile => ["1".to_string(), "0".to_string(), "-1".to_string()],
    };

    let (grid_w, grid_h) = layout.grid_px(n);
    let mag = (1 + grid_h / 300).min(4);
    let label_w = labels.iter().map(|l| text_width(l, mag)).max().unwrap_or(0);
    let bar_x = grid_w + 8 * mag;
    let bar_w = 10 * mag;
    let tick_w = 3 * mag;
    let label_x = bar_x + bar_w + tick_w + 2 * mag;
    let width = label_x + label_w + 4 * mag;
    let height = grid_h.max(64 * mag);
    let mut canvas = Canvas::new(width, height, WHITE)?;

    canvas.fill(0, 0, grid_w, grid_h, GAP_COLOUR);
    let (cols, rows) = layout.shape(n);
    for k in n..cols * rows {
        let (x0, y0) = layout.tile_origin(k, n);
        canvas.fill(x0, y0, layout.tile_px(), layout.tile_px(), WHITE);
    }
    for unit in 0..n {
        let (x0, y0) = layout.tile_origin(unit, n);
        let scale = match normalization {
            Normalization::Shared => scales[0],
            Normalization::PerTile => scales[unit],
        };
        let column = fields.column(unit);
        draw_tile(&mut canvas, x0, y0, layout.side, layout.scale, |s| {
            if scale > 0.0 {
                diverging_colour(column[s] / scale)
            } else {
                WHITE
            }
        });
    }

    // Colour bar: +1 at the top, -1 at the bottom, labels centred on the ends and the middle.
    let pad = GLYPH_H * mag / 2 + 2;
    let bar_top = pad;
    let bar_h = height - 2 * pad;
    for y in 0..bar_h {
        let t = 1.0 - 2.0 * y as f64 / (bar_h - 1) as f64;
        canvas.fill(bar_x, bar_top + y, bar_w, 1, diverging_colour(t));
    }
    canvas.outline(bar_x, bar_top, bar_w, bar_h, BLACK);
    for (label, y) in labels.iter().zip([bar_top, bar_top + (bar_h - 1) / 2, bar_top + bar_h - 1]) {
        canvas.fill(bar_x + bar_w, y, tick_w, 1, BLACK);
        canvas.text(label_x, y - (GLYPH_H * mag) / 2, label, mag, BLACK);
    }
    Ok(FieldGrid {
        png: canvas.into_png()?,
        width: width as u32,
        height: height as u32,
        normalization,
        scales,
    })
}

/// Draws each row of `configurations` (shape `samples × side²`, spins ±1) as a black-and-white tile:
/// `+1` white, `-1` black.
///
/// # Errors
/// Bad layout parameters, no configurations, a row length other than `side²`, or a value other than ±1.
pub fn spin_grid_png(configurations: ArrayView2<'_, i8>, layout: &GridLayout) -> Result<Vec<u8>> {
    layout.validate("configuration matrix", configurations.ncols())?;
    let n = configurations.nrows();
    if n == 0 {
        return Err(Error::Empty { what: "configuration matrix" });
    }
    check_spins(configurations)?;
    let (grid_w, grid_h) = layout.grid_px(n);
    let mut canvas = Canvas::new(grid_w, grid_h, SPIN_GAP_COLOUR)?;
    for k in n..layout.shape(n).0 * layout.shape(n).1 {
        let (x0, y0) = layout.tile_origin(k, n);
        canvas.fill(x0, y0, layout.tile_px(), layout.tile_px(), WHITE);
    }
    for (k, config) in configurations.rows().into_iter().enumerate() {
        let (x0, y0) = layout.tile_origin(k, n);
        draw_tile(&mut canvas, x0, y0, layout.side, layout.scale, |s| spin_colour(config[s]));
    }
    canvas.into_png()
}

fn spin_colour(s: i8) -> [u8; 3] {
    if s > 0 {
        WHITE
    } else {
        BLACK
    }
}

fn check_spins(configurations: ArrayView2<'_, i8>) -> Result<()> {
    match configurations.iter().position(|&s| s != 1 && s != -1) {
        Some(index) => Err(Error::OutOfRange {
            what: "configuration matrix",
            index,
            value: f64::from(configurations.iter().nth(index).copied().unwrap_or(0)),
            allowed: "{-1, +1}",
        }),
        None => Ok(()),
    }
}

/// Originals beside their reconstructions: one grid row per sample; grid column 0 is the original
/// (black/white), column `d` (`d = 1, 2, …`) is `reconstructions[d-1]` drawn in grey levels, `255·p` for the
/// probability `p ∈ [0, 1]` that the spin is `+1`. Typically `reconstructions[d-1]` is the data passed up
/// `d` layers and back down. A header strip numbers the columns `0, 1, 2, …` (0 = data), and a wider gap
/// separates the originals from the reconstructions.
///
/// Values in `[-1, 1]` (mean spins `m`) must be converted by the caller with `p = (1 + m)/2`.
///
/// Geometry, with `t = side·scale`: the header strip is `7·g + 4` pixels high (`g = 2` when `t ≥ 40`,
/// else 1); sample `k`'s tiles start at `y = header + 1 + k·(t + 1)`; column 0 starts at `x = 1`, column
/// `d ≥ 1` at `x = t + 6 + (d - 1)·(t + 1)` (four white pixels separate the originals).
///
/// # Errors
/// Bad `side`/`scale`, no samples, reconstructions whose shape differs from `originals`, spins other
/// than ±1, or probabilities outside `[0, 1]` (including NaN).
pub fn reconstruction_grid_png<F: Copy + Into<f64>>(
    originals: ArrayView2<'_, i8>,
    reconstructions: &[ArrayView2<'_, F>],
    side: usize,
    scale: usize,
) -> Result<Vec<u8>> {
    let layout = GridLayout { side, scale, columns: None };
    layout.validate("original configurations", originals.ncols())?;
    let samples = originals.nrows();
    if samples == 0 {
        return Err(Error::Empty { what: "original configurations" });
    }
    check_spins(originals)?;
    for r in reconstructions {
        if r.dim() != originals.dim() {
            return Err(Error::Shape {
                what: "reconstruction",
                got: r.shape().to_vec(),
                expected: format!("the originals' shape {:?}", originals.shape()),
            });
        }
        if let Some(index) = r.iter().position(|&p| !(0.0..=1.0).contains(&p.into())) {
            let value = r.iter().nth(index).map_or(f64::NAN, |&p| p.into());
            return Err(Error::OutOfRange { what: "reconstruction", index, value, allowed: "[0, 1]" });
        }
    }
    let tile = layout.tile_px();
    let columns = 1 + reconstructions.len();
    let column_x = |c: usize| if c == 0 { GAP } else { 2 * GAP + tile + GROUP_GAP + (c - 1) * (tile + GAP) };
    let mag = if tile >= 40 { 2 } else { 1 };
    let header = GLYPH_H * mag + 4;
    let width = column_x(columns - 1) + tile + GAP;
    let height = header + GAP + samples * (tile + GAP);
    let mut canvas = Canvas::new(width, height, WHITE)?;
    for c in 0..columns {
        let label = c.to_string();
        let x = column_x(c) + (tile.saturating_sub(text_width(&label, mag))) / 2;
        canvas.text(x, 2, &label, mag, BLACK);
    }
    for c in 0..columns {
        canvas.fill(column_x(c) - GAP, header, tile + 2 * GAP, height - header, SPIN_GAP_COLOUR);
    }
    for k in 0..samples {
        let y0 = header + GAP + k * (tile + GAP);
        let original = originals.row(k);
        draw_tile(&mut canvas, column_x(0), y0, side, scale, |s| spin_colour(original[s]));
        for (d, r) in reconstructions.iter().enumerate() {
            let row = r.row(k);
            draw_tile(&mut canvas, column_x(d + 1), y0, side, scale, |s| {
                let g = (255.0 * row[s].into()).round() as u8;
                [g, g, g]
            });
        }
    }
    canvas.into_png()
}
