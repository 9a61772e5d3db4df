//! The nearest-neighbour Ising model and its configurations.
//!
//! Units and signs (docs/science.md §2): spins are `±1`, temperature is absorbed into the
//! dimensionless coupling `K = βJ` and field `h = βH`, and
//! `H(s) = -K Σ_<ij> s_i s_j - h Σ_i s_i`, `P(s) = e^{-H(s)} / Z`.
//! The bond sum `B = Σ_<ij> s_i s_j` runs over every bond of the [`Lattice`] once.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lattice::{Lattice, LatticeKind};

/// Largest accepted `|K|` and `|h|`: beyond this every Boltzmann factor over- or underflows
/// on any lattice we can store, so the input is certainly a mistake.
pub const MAX_ABS_PARAMETER: f64 = 50.0;

/// A validated Ising model: lattice, coupling `K` and field `h` (dimensionless).
/// Deserialisation validates exactly as [`IsingModel::new`] does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "IsingModelFields")]
pub struct IsingModel {
    lattice: Lattice,
    coupling: f64,
    field: f64,
}

/// The serialised form of an [`IsingModel`], validated on the way in.
#[derive(Deserialize)]
struct IsingModelFields {
    lattice: Lattice,
    coupling: f64,
    field: f64,
}

impl TryFrom<IsingModelFields> for IsingModel {
    type Error = Error;
    fn try_from(f: IsingModelFields) -> Result<Self> {
        IsingModel::new(f.lattice, f.coupling, f.field)
    }
}

fn check(name: &'static str, value: f64) -> Result<()> {
    if !value.is_finite() {
        return Err(Error::NonFinite { name, value });
    }
    if value.abs() > MAX_ABS_PARAMETER {
        return Err(Error::OutOfRange { name, value, max: MAX_ABS_PARAMETER });
    }
    Ok(())
}

impl IsingModel {
    /// Validate and build a model. `coupling` and `field` must be finite with magnitude at most
    /// [`MAX_ABS_PARAMETER`].
    pub fn new(lattice: Lattice, coupling: f64, field: f64) -> Result<Self> {
        check("coupling", coupling)?;
        check("field", field)?;
        Ok(IsingModel { lattice, coupling, field })
    }

    /// The lattice.
    pub fn lattice(&self) -> Lattice {
        self.lattice
    }

    /// The dimensionless coupling `K = βJ`.
    pub fn coupling(&self) -> f64 {
        self.coupling
    }

    /// The dimensionless field `h = βH`.
    pub fn field(&self) -> f64 {
        self.field
    }

    /// `H(s) = -K B - h M` for a configuration with bond sum `B` and magnetisation sum `M`.
    pub fn hamiltonian(&self, spins: &Spins) -> f64 {
        -self.coupling * spins.bond_sum() as f64 - self.field * spins.magnetization_sum() as f64
    }
}

/// One spin configuration on a lattice: `±1` values stored row-major as `i8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spins {
    lattice: Lattice,
    s: Vec<i8>,
}

impl Spins {
    /// All spins up.
    pub fn all_up(lattice: Lattice) -> Self {
        Spins { lattice, s: vec![1; lattice.num_sites()] }
    }

    /// Independent random spins (infinite temperature).
    pub fn random<R: Rng + ?Sized>(lattice: Lattice, rng: &mut R) -> Self {
        let s = (0..lattice.num_sites()).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
        Spins { lattice, s }
    }

    /// Wrap existing values, checking length and that every value is `±1`.
    pub fn from_vec(lattice: Lattice, s: Vec<i8>) -> Result<Self> {
        if s.len() != lattice.num_sites() {
            return Err(Error::ConfigurationLength { len: s.len(), sites: lattice.num_sites() });
        }
        if let Some((index, &value)) = s.iter().enumerate().find(|(_, &v)| v != 1 && v != -1) {
            return Err(Error::NotASpin { index, value });
        }
        Ok(Spins { lattice, s })
    }

    /// The lattice.
    pub fn lattice(&self) -> Lattice {
        self.lattice
    }

    /// The spins, row-major.
    pub fn as_slice(&self) -> &[i8] {
        &self.s
    }

    /// Mutable access for samplers. Callers must keep every value `±1`.
    pub fn as_mut_slice(&mut self) -> &mut [i8] {
        &mut self.s
    }

    /// Consume into the raw values.
    pub fn into_vec(self) -> Vec<i8> {
        self.s
    }

    /// `B = Σ_<ij> s_i s_j` over every bond once.
    pub fn bond_sum(&self) -> i64 {
        bond_sum_unchecked(self.lattice, &self.s)
    }

    /// `M = Σ_i s_i`.
    pub fn magnetization_sum(&self) -> i64 {
        self.s.iter().map(|&v| v as i64).sum()
    }
}

/// `B = Σ_<ij> s_i s_j` for raw `±1` values on `lattice` (row-major).
///
/// Errors: [`Error::ConfigurationLength`] if the length does not match the lattice.
pub fn bond_sum(lattice: Lattice, s: &[i8]) -> Result<i64> {
    if s.len() != lattice.num_sites() {
        return Err(Error::ConfigurationLength { len: s.len(), sites: lattice.num_sites() });
    }
    Ok(bond_sum_unchecked(lattice, s))
}

/// [`bond_sum`] for a slice whose length is known to match (`Spins`, `Configurations`).
pub(crate) fn bond_sum_unchecked(lattice: Lattice, s: &[i8]) -> i64 {
    debug_assert_eq!(s.len(), lattice.num_sites());
    match lattice.kind() {
        LatticeKind::Ring { n } => (0..n).map(|i| (s[i] * s[(i + 1) % n]) as i64).sum(),
        LatticeKind::Square { l } => {
            let mut b = 0i64;
            for y in 0..l {
                let row = &s[y * l..(y + 1) * l];
                let below = &s[((y + 1) % l) * l..((y + 1) % l + 1) * l];
                for x in 0..l {
                    let xp = if x + 1 == l { 0 } else { x + 1 };
                    b += (row[x] * row[xp] + row[x] * below[x]) as i64;
                }
            }
            b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_validated() {
        let lat = Lattice::square(4).unwrap();
        assert!(matches!(IsingModel::new(lat, f64::NAN, 0.0), Err(Error::NonFinite { .. })));
        assert!(matches!(IsingModel::new(lat, 0.4, f64::INFINITY), Err(Error::NonFinite { .. })));
        assert!(matches!(IsingModel::new(lat, 1e6, 0.0), Err(Error::OutOfRange { .. })));
        assert!(IsingModel::new(lat, -0.3, 0.1).is_ok());
    }

    #[test]
    fn deserialisation_validates() {
        let good = r#"{"lattice":{"kind":"square","l":4},"coupling":0.4,"field":0.0}"#;
        let m: IsingModel = serde_json::from_str(good).unwrap();
        assert_eq!(m, IsingModel::new(Lattice::square(4).unwrap(), 0.4, 0.0).unwrap());
        assert_eq!(serde_json::from_str::<IsingModel>(&serde_json::to_string(&m).unwrap()).unwrap(), m);
        for bad in [
            r#"{"lattice":{"kind":"square","l":0},"coupling":0.4,"field":0.0}"#,
            r#"{"lattice":{"kind":"ring","n":1},"coupling":0.4,"field":0.0}"#,
            r#"{"lattice":{"kind":"square","l":4},"coupling":1e6,"field":0.0}"#,
            r#"{"lattice":{"kind":"square","l":4294967296},"coupling":0.4,"field":0.0}"#,
        ] {
            assert!(serde_json::from_str::<IsingModel>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bond_sum_refuses_a_wrong_length() {
        let lat = Lattice::square(3).unwrap();
        assert_eq!(bond_sum(lat, &[1; 9]), Ok(18));
        assert_eq!(bond_sum(lat, &[1; 8]), Err(Error::ConfigurationLength { len: 8, sites: 9 }));
    }

    #[test]
    fn ground_state_energy() {
        let lat = Lattice::square(5).unwrap();
        let up = Spins::all_up(lat);
        assert_eq!(up.bond_sum(), 50);
        assert_eq!(up.magnetization_sum(), 25);
        let m = IsingModel::new(lat, 0.5, 0.1).unwrap();
        assert!((m.hamiltonian(&up) - (-25.0 - 2.5)).abs() < 1e-12);
        assert!(Spins::from_vec(lat, vec![0; 25]).is_err());
        assert!(Spins::from_vec(lat, vec![1; 24]).is_err());
    }
}
