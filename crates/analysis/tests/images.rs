//! PNG grids decode to the documented size, with the documented colours at known pixels.

use kadanoff_analysis::image::{
    diverging_colour, field_grid_png, reconstruction_grid_png, spin_grid_png, GridLayout, Normalization,
    GAP_COLOUR, SPIN_GAP_COLOUR,
};
use kadanoff_analysis::Error;
use ndarray::{array, Array2};

/// Decodes an 8-bit RGB PNG into (width, height, pixels).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("valid PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size fits")];
    let info = reader.next_frame(&mut buf).expect("valid PNG data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn pixel(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 3] {
    let i = 3 * (y * img.0 + x) as usize;
    [img.2[i], img.2[i + 1], img.2[i + 2]]
}

const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];
const RED: [u8; 3] = [178, 24, 43];
const BLUE: [u8; 3] = [33, 102, 172];

#[test]
fn colour_map_anchors() {
    assert_eq!(diverging_colour(-1.0), BLUE);
    assert_eq!(diverging_colour(0.0), WHITE);
    assert_eq!(diverging_colour(1.0), RED);
    assert_eq!(diverging_colour(-0.5), [146, 197, 222]);
    assert_eq!(diverging_colour(0.5), [244, 165, 130]);
    assert_eq!(diverging_colour(7.0), RED); // clamped
                                            // Half-way between white and (244, 165, 130): (249.5, 210, 192.5), rounded half away from zero.
    assert_eq!(diverging_colour(0.25), [250, 210, 193]);
}

/// Three units on a 2×2 lattice, 3 pixels per site; ⌈√3⌉ = 2 tile columns, so tile k has its top-left
/// pixel at (1 + 7·(k % 2), 1 + 7·(k / 2)).
fn fields() -> Array2<f64> {
    // Columns are units; rows are sites (row-major on the 2×2 lattice).
    array![[1.0, 2.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.0, -2.0]]
}

#[test]
fn field_grid_shared_scale() {
    let layout = GridLayout { side: 2, scale: 3, columns: None };
    let grid = field_grid_png(fields().view(), &layout, Normalization::Shared).unwrap();
    assert_eq!(grid.scales, vec![2.0]);
    let img = decode(&grid.png);
    assert_eq!((img.0, img.1), (grid.width, grid.height));
    // The grid is 15×15 pixels; the colour bar and its labels sit to its right.
    assert!(grid.width > 15 + 10 && grid.height >= 15);
    // Unit 0, site (0,0) = 1 = half the shared scale 2; site (0,1) = -1; site (1,0) = 0; site (1,1) = 0.5.
    assert_eq!(pixel(&img, 2, 2), diverging_colour(0.5));
    assert_eq!(pixel(&img, 5, 2), diverging_colour(-0.5));
    assert_eq!(pixel(&img, 2, 5), WHITE);
    assert_eq!(pixel(&img, 5, 5), diverging_colour(0.25));
    // Every pixel of a site's 3×3 square has the site's colour.
    for dx in 0..3 {
        for dy in 0..3 {
            assert_eq!(pixel(&img, 1 + dx, 1 + dy), diverging_colour(0.5));
        }
    }
    // Unit 1 (tile column 1), site (0,0) = 2: full red. Unit 2 (second tile row), site (1,1) = -2: full blue.
    assert_eq!(pixel(&img, 9, 2), RED);
    assert_eq!(pixel(&img, 5, 12), BLUE);
    // Gaps are grey; the unused fourth slot is white.
    assert_eq!(pixel(&img, 0, 0), GAP_COLOUR);
    assert_eq!(pixel(&img, 7, 3), GAP_COLOUR);
    assert_eq!(pixel(&img, 10, 10), WHITE);
    // The colour bar runs from red at the top to blue at the bottom.
    let row_has = |y: u32, pred: &dyn Fn([u8; 3]) -> bool| (16..grid.width).any(|x| pred(pixel(&img, x, y)));
    assert!(row_has(8, &|p| p[0] > 170 && p[2] < 80), "red at the top of the bar");
    assert!(row_has(grid.height - 9, &|p| p[2] > 160 && p[0] < 60), "blue at the bottom of the bar");
    // Labels: black text pixels right of the bar.
    let black = (16..grid.width).flat_map(|x| (0..grid.height).map(move |y| (x, y)));
    assert!(black.filter(|&(x, y)| pixel(&img, x, y) == BLACK).count() > 40);
    assert!(grid.scale_caption().contains("+2"), "{}", grid.scale_caption());
}

#[test]
fn field_grid_per_tile_scale() {
    let layout = GridLayout { side: 2, scale: 3, columns: Some(3) };
    let grid = field_grid_png(fields().view(), &layout, Normalization::PerTile).unwrap();
    assert_eq!(grid.scales, vec![1.0, 2.0, 2.0]);
    let img = decode(&grid.png);
    // Three tiles in one row: origins x = 1, 8, 15. Unit 0's own max is 1, so its value 1 is full red.
    assert_eq!(pixel(&img, 2, 2), RED);
    assert_eq!(pixel(&img, 5, 2), BLUE);
    assert_eq!(pixel(&img, 9, 2), RED);
    assert_eq!(pixel(&img, 15 + 4, 1 + 4), BLUE);
}

#[test]
fn png_bytes_are_deterministic() {
    let layout = GridLayout { side: 2, scale: 3, columns: None };
    let a = field_grid_png(fields().view(), &layout, Normalization::Shared).unwrap();
    let b = field_grid_png(fields().view(), &layout, Normalization::Shared).unwrap();
    assert_eq!(a.png, b.png);
}

#[test]
fn spin_grid_pixels() {
    let spins: Array2<i8> = array![[1, -1, -1, 1], [-1, -1, 1, 1]];
    let layout = GridLayout { side: 2, scale: 1, columns: None };
    let img = decode(&spin_grid_png(spins.view(), &layout).unwrap());
    // Two tiles of 2×2 pixels side by side with one-pixel gaps: 2·2 + 3 = 7 wide, 2 + 2 = 4 high.
    assert_eq!((img.0, img.1), (7, 4));
    assert_eq!(
        [pixel(&img, 1, 1), pixel(&img, 2, 1), pixel(&img, 1, 2), pixel(&img, 2, 2)],
        [WHITE, BLACK, BLACK, WHITE]
    );
    assert_eq!(
        [pixel(&img, 4, 1), pixel(&img, 5, 1), pixel(&img, 4, 2), pixel(&img, 5, 2)],
        [BLACK, BLACK, WHITE, WHITE]
    );
    assert_eq!(pixel(&img, 3, 1), SPIN_GAP_COLOUR);
    assert_eq!(pixel(&img, 0, 0), SPIN_GAP_COLOUR);
}

#[test]
fn reconstruction_grid_pixels() {
    let originals: Array2<i8> = array![[1, -1, -1, 1]];
    let rec1 = array![[0.0_f32, 0.5, 1.0, 0.25]];
    let rec2 = array![[1.0_f32, 1.0, 0.0, 0.0]];
    let bytes = reconstruction_grid_png(originals.view(), &[rec1.view(), rec2.view()], 2, 2).unwrap();
    let img = decode(&bytes);
    // Header strip 7 + 4 = 11 rows, then a gap row, one 4-pixel tile row and a closing gap: 17 rows.
    // Columns start at x = 1 (original), 1 + 4 + 1 + 4 = 10 (depth 1) and 15 (depth 2): 20 wide.
    assert_eq!((img.0, img.1), (20, 17));
    let y = 12;
    assert_eq!(pixel(&img, 1, y), WHITE);
    assert_eq!(pixel(&img, 3, y), BLACK);
    assert_eq!(pixel(&img, 10, y), BLACK); // p = 0
    assert_eq!(pixel(&img, 12, y), [128, 128, 128]); // p = 0.5 → 127.5 rounds to 128
    assert_eq!(pixel(&img, 10, y + 2), WHITE); // p = 1
    assert_eq!(pixel(&img, 12, y + 2), [64, 64, 64]); // p = 0.25 → 63.75
    assert_eq!(pixel(&img, 15, y), WHITE);
    assert_eq!(pixel(&img, 17, y + 2), BLACK);
    // Gaps: steel blue around tiles, white between the originals and the reconstructions.
    assert_eq!(pixel(&img, 0, y), SPIN_GAP_COLOUR);
    assert_eq!(pixel(&img, 14, y), SPIN_GAP_COLOUR);
    assert_eq!(pixel(&img, 7, y), WHITE);
    // The header holds the column numbers in black.
    assert!((0..20).any(|x| (0..11).any(|yy| pixel(&img, x, yy) == BLACK)));
}

#[test]
fn bad_inputs_are_errors() {
    let layout = GridLayout { side: 2, scale: 1, columns: None };
    let bad_spin: Array2<i8> = array![[1, 0, 1, 1]];
    assert!(matches!(spin_grid_png(bad_spin.view(), &layout), Err(Error::OutOfRange { index: 1, .. })));
    let wrong_len: Array2<i8> = array![[1, 1, 1]];
    assert!(matches!(spin_grid_png(wrong_len.view(), &layout), Err(Error::Shape { .. })));
    let ok: Array2<i8> = array![[1, 1, 1, 1]];
    let p = array![[0.5_f64, 1.5, 0.0, 0.0]];
    assert!(matches!(
        reconstruction_grid_png(ok.view(), &[p.view()], 2, 1),
        Err(Error::OutOfRange { index: 1, .. })
    ));
    let p_shape = array![[0.5_f64, 0.5]];
    assert!(reconstruction_grid_png(ok.view(), &[p_shape.view()], 2, 1).is_err());
    let zero_scale = GridLayout { side: 2, scale: 0, columns: None };
    assert!(spin_grid_png(ok.view(), &zero_scale).is_err());
    let nan = array![[f64::NAN], [0.0], [0.0], [0.0]];
    assert!(field_grid_png(nan.view(), &layout, Normalization::Shared).is_err());
}
