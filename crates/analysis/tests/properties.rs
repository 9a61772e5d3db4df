//! Property tests: receptive fields equal the naive matrix product, escaping round-trips, base64
//! round-trips, and every spin of a random configuration lands on its documented pixel.

use kadanoff_analysis::base64;
use kadanoff_analysis::fields::receptive_fields;
use kadanoff_analysis::image::{spin_grid_png, GridLayout};
use kadanoff_analysis::report::escape;
use ndarray::Array2;
use proptest::prelude::*;

/// A small integer matrix (entries -3..=3, exactly representable, so products are exact).
fn int_matrix(rows: usize, cols: usize) -> impl Strategy<Value = Array2<f64>> {
    proptest::collection::vec(-3i32..=3, rows * cols).prop_map(move |v| {
        Array2::from_shape_vec((rows, cols), v.into_iter().map(f64::from).collect()).unwrap()
    })
}

fn naive_product(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    for i in 0..a.nrows() {
        for j in 0..b.ncols() {
            for k in 0..a.ncols() {
                c[[i, j]] += a[[i, k]] * b[[k, j]];
            }
        }
    }
    c
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64 character {c}"),
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk
            .iter()
            .take(4 - pad)
            .enumerate()
            .fold(0u32, |n, (k, &c)| n | u32::from(value(c)) << (18 - 6 * k));
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fields_are_the_naive_products(
        (w1, w2, w3) in (1usize..6, 1usize..5, 1usize..4, 1usize..3).prop_flat_map(|(n0, n1, n2, n3)| {
            (int_matrix(n0, n1), int_matrix(n1, n2), int_matrix(n2, n3))
        })
    ) {
        let fields = receptive_fields(&[w1.view(), w2.view(), w3.view()]).unwrap();
        let p2 = naive_product(&w1, &w2);
        let p3 = naive_product(&p2, &w3);
        prop_assert_eq!(&fields[0], &w1);
        prop_assert_eq!(&fields[1], &p2);
        prop_assert_eq!(&fields[2], &p3);
    }

    #[test]
    fn escape_round_trips(s in ".{0,40}") {
        let e = escape(&s);
        prop_assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        prop_assert_eq!(unescape(&e), s);
    }

    #[test]
    fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let e = base64::encode(&bytes);
        prop_assert_eq!(e.len(), bytes.len().div_ceil(3) * 4);
        prop_assert_eq!(base64_decode(&e), bytes);
    }

    #[test]
    fn spins_land_on_their_pixels(
        (side, n, spins) in (1usize..5, 1usize..6).prop_flat_map(|(side, n)| {
            (Just(side), Just(n), proptest::collection::vec(prop_oneof![Just(1i8), Just(-1i8)], side * side * n))
        }),
        scale in 1usize..4,
        columns in 1usize..4,
    ) {
        let configs = Array2::from_shape_vec((n, side * side), spins).unwrap();
        let layout = GridLayout { side, scale, columns: Some(columns) };
        let bytes = spin_grid_png(configs.view(), &layout).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let cols = columns.min(n);
        let rows = n.div_ceil(cols);
        let t = side * scale;
        prop_assert_eq!(info.width as usize, cols * t + cols + 1);
        prop_assert_eq!(info.height as usize, rows * t + rows + 1);
        for k in 0..n {
            let (x0, y0) = (1 + (k % cols) * (t + 1), 1 + (k / cols) * (t + 1));
            for s in 0..side * side {
                // Bottom-right pixel of the site's square.
                let (x, y) = (x0 + (s % side) * scale + scale - 1, y0 + (s / side) * scale + scale - 1);
                let v = buf[3 * (y * info.width as usize + x)];
                prop_assert_eq!(v, if configs[[k, s]] > 0 { 255 } else { 0 });
            }
        }
    }
}
