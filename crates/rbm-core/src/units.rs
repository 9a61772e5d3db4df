//! Unit types of an RBM layer: spins (`±1`, the paper's choice) or binary (`0/1`, the usual ML
//! choice).
//!
//! For a unit `u` coupled to a field `x` (its energy is `-u x` in this crate's ML sign
//! convention, see [`crate::rbm`]), the single-unit sums used everywhere are
//! - binary: `ln Σ_u e^{u x} = ln(1 + e^x)` (softplus), `⟨u⟩ = p(u = 1) = σ(x)`;
//! - spin: `ln Σ_u e^{u x} = ln 2cosh x`, `⟨u⟩ = tanh x`, `p(u = +1) = σ(2x)`.

use std::fmt;
use std::str::FromStr;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::Float;

/// The values a layer's units take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    /// Ising spins, `u ∈ {-1, +1}`.
    Spin,
    /// Bits, `u ∈ {0, 1}`.
    Binary,
}

impl Units {
    /// `"spin"` or `"binary"`.
    pub fn name(self) -> &'static str {
        match self {
            Units::Spin => "spin",
            Units::Binary => "binary",
        }
    }

    /// The lower value (`-1` or `0`).
    pub fn lower<F: Float>(self) -> F {
        match self {
            Units::Spin => -F::one(),
            Units::Binary => F::zero(),
        }
    }

    /// The upper value (`+1` for both).
    pub fn upper<F: Float>(self) -> F {
        F::one()
    }

    /// Whether `x` is exactly one of the two unit values.
    pub fn is_value(self, x: f64) -> bool {
        match self {
            Units::Spin => x == 1.0 || x == -1.0,
            Units::Binary => x == 0.0 || x == 1.0,
        }
    }

    /// The unit value for a bit (`true` = upper).
    pub fn from_bit<F: Float>(self, bit: bool) -> F {
        if bit {
            self.upper()
        } else {
            self.lower()
        }
    }

    /// A spin `s = ±1` as a unit value: `s` itself for spin units, `(1 + s)/2` for binary
    /// units (so `+1 → 1`, `-1 → 0`). Other values are not unit values and are not checked
    /// here ([`crate::validate_data`] refuses the result).
    pub fn spin_to_unit<F: Float>(self, s: i8) -> F {
        match self {
            Units::Spin => F::from_f64(f64::from(s)),
            Units::Binary => F::from_f64(f64::from((1 + i16::from(s)) / 2)),
        }
    }

    /// A data set of `±1` spins or `0/1` bits (as integers, row-major, `n_columns` per row)
    /// as a matrix of values of these units: `±1` data is converted with
    /// [`Units::spin_to_unit`], `0/1` data is taken as bits as it is. Refuses data that mixes
    /// `0` and `-1`, bits for spin units, and any other value
    /// ([`Error::InvalidUnitValue`](crate::Error::InvalidUnitValue)).
    pub fn data_from_values<F: Float>(self, values: &[i8], n_columns: usize) -> crate::Result<Array2<F>> {
        use crate::Error;
        if n_columns == 0 {
            return Err(Error::EmptyLayer { layer: "visible" });
        }
        if values.is_empty() {
            return Err(Error::EmptyData);
        }
        if values.len() % n_columns != 0 {
            return Err(Error::ShapeMismatch {
                what: "data length (a multiple of the row length)",
                expected: values.len().div_ceil(n_columns) * n_columns,
                found: values.len(),
            });
        }
        // One counting pass at the vector width tells what the data holds; the element search
        // runs only to name the first bad value.
        // In parallel blocks of 2^20 values, counts added (in any order: they are integers).
        use rayon::prelude::*;
        let count = |block: &[i8]| {
            crate::kernel::vectorized(
                #[inline(always)]
                || {
                    block.chunks(1 << 16).fold([0usize; 3], |[m, z, b], c| {
                        [
                            m + c.iter().filter(|&&x| x == -1).count(),
                            z + c.iter().filter(|&&x| x == 0).count(),
                            b + c.iter().filter(|&&x| !(-1..=1).contains(&x)).count(),
                        ]
                    })
                },
            )
        };
        let [n_minus, n_zero, n_bad] = values
            .par_chunks(1 << 20)
            .map(count)
            .reduce(|| [0; 3], |[a, b, c], [x, y, z]| [a + x, b + y, c + z]);
        if n_bad > 0 {
            let i = values.iter().position(|&x| !(-1..=1).contains(&x)).expect("a bad value was counted");
            return Err(Error::InvalidUnitValue {
                row: i / n_columns,
                column: i % n_columns,
                value: f64::from(values[i]),
                units: self,
            });
        }
        let (has_zero, has_minus) = (n_zero > 0, n_minus > 0);
        if has_zero && has_minus {
            return Err(Error::DataValues { problem: "mixes 0, -1 and 1; expected ±1 spins or 0/1 bits" });
        }
        if has_zero && self == Units::Spin {
            return Err(Error::DataValues { problem: "holds 0/1 values but spin units need ±1 values" });
        }
        // Branch-free passes at the vector width (the units fixed in each loop), on fixed
        // chunks spread over the threads (the first write of a fresh buffer costs more than the
        // arithmetic): the values as they are (bits, or spins for spin units), or spins as bits.
        let as_is = has_zero || self == Units::Spin;
        let mut out = vec![F::zero(); values.len()];
        {
            const CHUNK: usize = 1 << 20;
            out.par_chunks_mut(CHUNK).zip(values.par_chunks(CHUNK)).for_each(|(dst, src)| {
                crate::kernel::vectorized(
                    #[inline(always)]
                    || {
                        let pairs = dst.iter_mut().zip(src);
                        if as_is {
                            pairs.for_each(|(d, &x)| *d = Units::Spin.spin_to_unit(x));
                        } else {
                            pairs.for_each(|(d, &x)| *d = Units::Binary.spin_to_unit(x));
                        }
                    },
                )
            });
        }
        Ok(Array2::from_shape_vec((values.len() / n_columns, n_columns), out).expect("length checked"))
    }

    /// A unit value (or a mean of one) as a spin: `+1` above the midpoint of the two values
    /// (`0` for spins, `0.5` for bits), `-1` otherwise.
    pub fn unit_to_spin<F: Float>(self, x: F) -> i8 {
        let mid = match self {
            Units::Spin => 0.0,
            Units::Binary => 0.5,
        };
        if x.to_f64() > mid {
            1
        } else {
            -1
        }
    }

    /// `ln Σ_u e^{u x}` over the two unit values, computed without overflow.
    pub fn log_partition<F: Float>(self, x: F) -> F {
        let ax = x.abs();
        match self {
            // ln(1 + e^x) = max(x, 0) + ln(1 + e^{-|x|})
            Units::Binary => {
                let pos = if x > F::zero() { x } else { F::zero() };
                pos + (-ax).exp().ln_1p()
            }
            // ln(e^x + e^{-x}) = |x| + ln(1 + e^{-2|x|})
            Units::Spin => ax + (-(ax + ax)).exp().ln_1p(),
        }
    }

    /// `⟨u⟩` under `p(u) ∝ e^{u x}`: `σ(x)` for binary, `tanh x` for spins.
    pub fn mean<F: Float>(self, x: F) -> F {
        match self {
            Units::Binary => sigmoid(x),
            Units::Spin => x.tanh(),
        }
    }

    /// `p(u = upper)` under `p(u) ∝ e^{u x}`: `σ(x)` for binary, `σ(2x)` for spins.
    pub fn prob_upper<F: Float>(self, x: F) -> F {
        match self {
            Units::Binary => sigmoid(x),
            Units::Spin => sigmoid(x + x),
        }
    }

    /// The factor by which the field is scaled before the sigmoid gives `p(upper)`.
    pub(crate) fn field_scale<F: Float>(self) -> F {
        match self {
            Units::Binary => F::one(),
            Units::Spin => F::one() + F::one(),
        }
    }
}

fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Units`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseUnitsError(pub String);

impl fmt::Display for ParseUnitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown units {:?}: expected \"spin\" or \"binary\"", self.0)
    }
}

impl std::error::Error for ParseUnitsError {}

impl FromStr for Units {
    type Err = ParseUnitsError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "spin" => Ok(Units::Spin),
            "binary" => Ok(Units::Binary),
            other => Err(ParseUnitsError(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_unit_sums_match_direct_evaluation() {
        for &x in &[-30.0f64, -2.5, -0.1, 0.0, 0.3, 1.7, 40.0] {
            for u in [Units::Spin, Units::Binary] {
                let (lo, hi) = (u.lower::<f64>(), u.upper::<f64>());
                let z = (lo * x).exp() + (hi * x).exp();
                assert!((u.log_partition(x) - z.ln()).abs() < 1e-12 * (1.0 + x.abs()));
                let mean = (lo * (lo * x).exp() + hi * (hi * x).exp()) / z;
                assert!((u.mean(x) - mean).abs() < 1e-14);
                assert!((u.prob_upper(x) - (hi * x).exp() / z).abs() < 1e-14);
            }
        }
        assert_eq!("spin".parse::<Units>().unwrap(), Units::Spin);
        for s in [-1i8, 1] {
            let (spin, bit): (f32, f32) = (Units::Spin.spin_to_unit(s), Units::Binary.spin_to_unit(s));
            assert_eq!(spin, f32::from(s));
            assert_eq!(bit, if s > 0 { 1.0 } else { 0.0 });
            assert_eq!(Units::Spin.unit_to_spin(spin), s);
            assert_eq!(Units::Binary.unit_to_spin(bit), s);
        }
        assert!("ising".parse::<Units>().is_err());
    }

    #[test]
    fn data_values_convert_or_are_refused_with_the_reason() {
        let spins = [1i8, -1, -1, 1];
        let a: Array2<f32> = Units::Binary.data_from_values(&spins, 2).unwrap();
        assert_eq!(a, ndarray::array![[1.0, 0.0], [0.0, 1.0]]);
        let a: Array2<f64> = Units::Spin.data_from_values(&spins, 2).unwrap();
        assert_eq!(a, ndarray::array![[1.0, -1.0], [-1.0, 1.0]]);
        // Long enough for whole vectors and a remainder, each element as `spin_to_unit` says.
        let long: Vec<i8> = (0..111).map(|i| if (i * 7) % 3 == 0 { 1 } else { -1 }).collect();
        for u in [Units::Spin, Units::Binary] {
            let a: Array2<f32> = u.data_from_values(&long, 37).unwrap();
            assert!(a.iter().zip(&long).all(|(&x, &s)| x == u.spin_to_unit::<f32>(s)), "{u}");
        }
        let bits = [1i8, 0, 0, 0];
        let a: Array2<f32> = Units::Binary.data_from_values(&bits, 4).unwrap();
        assert_eq!(a, ndarray::array![[1.0, 0.0, 0.0, 0.0]]);
        let err = |u: Units, v: &[i8], n| u.data_from_values::<f32>(v, n).unwrap_err();
        assert!(
            matches!(err(Units::Spin, &bits, 2), crate::Error::DataValues { problem } if problem.contains("spin"))
        );
        assert!(
            matches!(err(Units::Binary, &[1, 0, -1, 1], 2), crate::Error::DataValues { problem } if problem.contains("mixes"))
        );
        assert!(matches!(
            err(Units::Binary, &[1, 1, 2, 1], 2),
            crate::Error::InvalidUnitValue { row: 1, column: 0, .. }
        ));
        assert!(matches!(err(Units::Spin, &[1, 1, 1], 2), crate::Error::ShapeMismatch { .. }));
        assert!(matches!(err(Units::Spin, &[], 2), crate::Error::EmptyData));
        assert!(matches!(err(Units::Spin, &[1], 0), crate::Error::EmptyLayer { .. }));
    }
}
