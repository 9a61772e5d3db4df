//! Effective receptive fields of a deep belief network (docs/science.md §6).
//!
//! # Orientation
//!
//! A DBN with layer sizes `n0 → n1 → … → nK` is given by its weight matrices `W1, …, WK`,
//! where `Wℓ` has shape `(n_{ℓ-1}, n_ℓ)`: **rows are the units of the layer below, columns the units
//! of the layer above** (the orientation of `rbm_core::Rbm::weights`, `(n_visible, n_hidden)`).
//! The effective receptive field of layer `ℓ` is the product `W1 W2 … Wℓ`, an `n0 × n_ℓ` matrix;
//! its column `j` is the field of unit `j` of layer `ℓ` over the data layer.
//! When the data layer is an `L×L` lattice with row-major sites (`site = row·L + col`,
//! the convention of `lattice_physics::Lattice`), that column reshaped row-major to `L×L` is the image
//! of the field ([`unit_field`]).
//!
//! The product is linear algebra on the raw weights; it ignores biases and the nonlinearity of the
//! conditional distributions, exactly as the paper's figure does. Weights in either unit convention
//! (spin ±1 or binary 0/1) can be multiplied, but the two conventions' weights differ by a factor 4 per
//! layer (docs/science.md §4), so compare fields only within one convention.

use ndarray::{Array2, ArrayView2, Axis};

use crate::error::{Error, Result};

/// The effective receptive fields of every layer: element `ℓ-1` is `W1 W2 … Wℓ` (shape `n0 × n_ℓ`).
///
/// `weights[0]` is `W1` (data layer to first hidden layer), `weights[1]` is `W2`, and so on; see the
/// module documentation for the orientation. Products are accumulated in `f64` whatever the input type.
///
/// # Errors
/// [`Error::Empty`] for an empty stack or a matrix with a zero dimension, [`Error::LayerMismatch`] when
/// `weights[ℓ].nrows() != weights[ℓ-1].ncols()`, [`Error::NonFinite`] for NaN or infinite weights.
pub fn receptive_fields<F: Copy + Into<f64>>(weights: &[ArrayView2<'_, F>]) -> Result<Vec<Array2<f64>>> {
    if weights.is_empty() {
        return Err(Error::Empty { what: "weight matrices" });
    }
    for (layer, w) in weights.iter().enumerate() {
        if w.is_empty() {
            return Err(Error::Empty { what: "weight matrix" });
        }
        if layer > 0 && w.nrows() != weights[layer - 1].ncols() {
            return Err(Error::LayerMismatch {
                layer,
                rows: w.nrows(),
                expected: weights[layer - 1].ncols(),
            });
        }
        if let Some(index) = w.iter().position(|&x| !x.into().is_finite()) {
            return Err(Error::NonFinite { what: "weight matrix", index });
        }
    }
    let mut fields: Vec<Array2<f64>> = Vec::with_capacity(weights.len());
    for w in weights {
        let w = w.mapv(Into::into);
        let next = match fields.last() {
            None => w,
            Some(below) => below.dot(&w),
        };
        fields.push(next);
    }
    Ok(fields)
}

/// Column `unit` of a field matrix (`n0 × n_ℓ`, as returned by [`receptive_fields`]) reshaped row-major
/// into a `side × side` image (`image[[row, col]] = field[[row·side + col, unit]]`).
///
/// # Errors
/// [`Error::Shape`] if `n0 != side²`, [`Error::BadParameter`] if `unit` is out of range or `side` is 0.
pub fn unit_field(fields: ArrayView2<'_, f64>, unit: usize, side: usize) -> Result<Array2<f64>> {
    if side == 0 {
        return Err(Error::BadParameter { name: "side", value: side, reason: "must be positive" });
    }
    if fields.nrows() != side * side {
        return Err(Error::Shape {
            what: "field matrix",
            got: fields.shape().to_vec(),
            expected: format!("{} rows (side² for side {side})", side * side),
        });
    }
    if unit >= fields.ncols() {
        return Err(Error::BadParameter { name: "unit", value: unit, reason: "exceeds the number of units" });
    }
    let column = fields.index_axis(Axis(1), unit);
    Ok(Array2::from_shape_fn((side, side), |(r, c)| column[r * side + c]))
}

/// The size of each unit's field on a periodic `side × side` lattice: the root-mean-square distance of the
/// field's intensity `f_s²` from its centre, `r = √(Σ_s f_s² |x_s - c|² / Σ_s f_s²)`, in lattice
/// spacings, where distances use the nearest periodic image and the centre `c` is the circular mean
/// of each coordinate (`c_x = L/(2π) · arg Σ_s f_s² e^{2πi x_s/L}`), so a field straddling the
/// boundary is measured as one blob. One number per column of `fields` (`side² × units`).
///
/// A field on one site has radius 0; a field spread evenly over a 2×2 block has radius `1/√2`.
/// Growth of the mean radius with depth is the quantitative form of "receptive fields get larger".
/// An all-zero column has radius 0.
///
/// # Errors
/// [`Error::Shape`] if `fields` does not have `side²` rows, [`Error::BadParameter`] for `side = 0`,
/// [`Error::NonFinite`] for NaN or infinite entries.
pub fn field_radii(fields: ArrayView2<'_, f64>, side: usize) -> Result<Vec<f64>> {
    if side == 0 {
        return Err(Error::BadParameter { name: "side", value: side, reason: "must be positive" });
    }
    if fields.nrows() != side * side {
        return Err(Error::Shape {
            what: "field matrix",
            got: fields.shape().to_vec(),
            expected: format!("{} rows (side² for side {side})", side * side),
        });
    }
    if let Some(index) = fields.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite { what: "field matrix", index });
    }
    let l = side as f64;
    let angle = |x: usize| std::f64::consts::TAU * x as f64 / l;
    // Circular mean of one coordinate, in [0, L).
    let centre =
        |sum_sin: f64, sum_cos: f64| (sum_sin.atan2(sum_cos) / std::f64::consts::TAU * l).rem_euclid(l);
    // Nearest-image distance along one axis.
    let dist = |x: usize, c: f64| {
        let d = (x as f64 - c).rem_euclid(l);
        d.min(l - d)
    };
    let radii = fields
        .columns()
        .into_iter()
        .map(|f| {
            let (mut total, mut sr, mut cr, mut sc, mut cc) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (s, &v) in f.iter().enumerate() {
                let w = v * v;
                let (row, col) = (s / side, s % side);
                total += w;
                sr += w * angle(row).sin();
                cr += w * angle(row).cos();
                sc += w * angle(col).sin();
                cc += w * angle(col).cos();
            }
            if total == 0.0 {
                return 0.0;
            }
            let (c_row, c_col) = (centre(sr, cr), centre(sc, cc));
            let second_moment: f64 = f
                .iter()
                .enumerate()
                .map(|(s, &v)| v * v * (dist(s / side, c_row).powi(2) + dist(s % side, c_col).powi(2)))
                .sum();
            (second_moment / total).sqrt()
        })
        .collect();
    Ok(radii)
}

/// Participation ratio of every field: `(Σ_s f_s²)² / Σ_s f_s⁴`, the effective number of sites a
/// field occupies (1 for a single site, `k` for a field spread evenly over `k` sites, whatever the
/// signs). Unlike [`field_radii`] it is insensitive to a weak diffuse background, so its square root
/// is a robust linear size of a localised blob. An all-zero column gives 0.
///
/// # Errors
/// [`Error::NonFinite`] for NaN or infinite entries.
pub fn participation_ratios(fields: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
    if let Some(index) = fields.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite { what: "receptive field", index });
    }
    Ok(fields
        .axis_iter(Axis(1))
        .map(|col| {
            let s2: f64 = col.iter().map(|x| x * x).sum();
            let s4: f64 = col.iter().map(|x| x.powi(4)).sum();
            if s4 > 0.0 {
                s2 * s2 / s4
            } else {
                0.0
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A 4 → 2 → 1 stack with integer weights; products worked out by hand:
    /// W1 W2 = [[1·2 + 0·(-1)], [2·2 + 1·(-1)], [0·2 + 3·(-1)], [(-1)·2 + 1·(-1)]] = [[2], [3], [-3], [-3]].
    #[test]
    fn hand_set_products() {
        let w1 = array![[1.0_f32, 0.0], [2.0, 1.0], [0.0, 3.0], [-1.0, 1.0]];
        let w2 = array![[2.0_f32], [-1.0]];
        let fields = receptive_fields(&[w1.view(), w2.view()]).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0], array![[1.0, 0.0], [2.0, 1.0], [0.0, 3.0], [-1.0, 1.0]]);
        assert_eq!(fields[1], array![[2.0], [3.0], [-3.0], [-3.0]]);
    }

    /// Three layers 4 → 3 → 2 → 2, checking orientation with a non-square chain.
    /// W1 W2 = [[1,1],[1,2],[1,0],[2,1]] worked by hand, then (W1 W2) W3 with W3 = [[1,-1],[1,2]]
    /// maps a row [a,b] to [a+b, 2b-a]: rows [2,1], [3,3], [1,-1], [3,0].
    #[test]
    fn three_layers_hand_computed() {
        let w1 = array![[1.0_f64, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]];
        let w2 = array![[1.0_f64, 0.0], [1.0, 1.0], [0.0, 1.0]];
        let w3 = array![[1.0_f64, -1.0], [1.0, 2.0]];
        let fields = receptive_fields(&[w1.view(), w2.view(), w3.view()]).unwrap();
        assert_eq!(fields[1], array![[1.0, 1.0], [1.0, 2.0], [1.0, 0.0], [2.0, 1.0]]);
        assert_eq!(fields[2], array![[2.0, 1.0], [3.0, 3.0], [1.0, -1.0], [3.0, 0.0]]);
    }

    #[test]
    fn mismatched_stack_is_an_error() {
        let w1 = Array2::<f64>::zeros((4, 2));
        let w2 = Array2::<f64>::zeros((3, 1));
        assert_eq!(
            receptive_fields(&[w1.view(), w2.view()]),
            Err(Error::LayerMismatch { layer: 1, rows: 3, expected: 2 })
        );
        assert_eq!(receptive_fields::<f64>(&[]), Err(Error::Empty { what: "weight matrices" }));
        let bad = array![[f64::NAN]];
        assert!(matches!(receptive_fields(&[bad.view()]), Err(Error::NonFinite { index: 0, .. })));
    }

    /// Hand values: one site → 0; an even 2×2 block → every site at (½, ½) from the centre, r = 1/√2;
    /// the same block across the periodic boundary → the same; a ±1 pair on two sites of a row → ½.
    #[test]
    fn radii_by_hand() {
        let side = 6;
        let mut f = Array2::<f64>::zeros((36, 5));
        f[[2 * side + 3, 0]] = 0.7;
        for (r, c) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            f[[r * side + c, 1]] = 1.0;
        }
        for (r, c) in [(5, 5), (5, 0), (0, 5), (0, 0)] {
            f[[r * side + c, 2]] = -2.0;
        }
        f[[3 * side + 4, 3]] = 1.0;
        f[[3 * side + 5, 3]] = -1.0;
        let radii = field_radii(f.view(), side).unwrap();
        let expected = [0.0, 0.5_f64.sqrt(), 0.5_f64.sqrt(), 0.5, 0.0];
        for (got, want) in radii.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{radii:?}");
        }
        assert!(field_radii(f.view(), 5).is_err());
    }

    #[test]
    fn unit_field_is_row_major() {
        // 9 sites (3×3), 2 units; unit 1 holds the site index.
        let f = Array2::from_shape_fn((9, 2), |(s, u)| if u == 1 { s as f64 } else { 0.0 });
        let img = unit_field(f.view(), 1, 3).unwrap();
        assert_eq!(img, array![[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]);
        assert!(unit_field(f.view(), 2, 3).is_err());
        assert!(unit_field(f.view(), 0, 2).is_err());
    }

    #[test]
    fn participation_ratio_counts_occupied_sites() {
        let mut f = Array2::<f64>::zeros((16, 4));
        f[[5, 0]] = -3.0; // one site
        for i in [0, 1, 4, 5] {
            f[[i, 1]] = 0.5; // four sites, equal weight
        }
        f[[2, 2]] = 1.0; // four sites, mixed signs
        f[[3, 2]] = -1.0;
        f[[8, 2]] = 1.0;
        f[[9, 2]] = -1.0;
        let pr = participation_ratios(f.view()).unwrap();
        assert_eq!(pr, vec![1.0, 4.0, 4.0, 0.0]);
        let uniform = Array2::<f64>::from_elem((16, 1), 0.1);
        assert!((participation_ratios(uniform.view()).unwrap()[0] - 16.0).abs() < 1e-12);
        let mut bad = Array2::<f64>::zeros((4, 1));
        bad[[0, 0]] = f64::NAN;
        assert!(participation_ratios(bad.view()).is_err());
    }
}
