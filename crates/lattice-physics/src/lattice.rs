//! Periodic lattices: the 1D ring and the 2D square torus.
//!
//! Sites are numbered row-major: on an `L×L` torus site `(x, y)` has index `y * L + x`.
//! Every site bonds to its `+x` neighbour (and on the square lattice to its `+y` neighbour),
//! so a ring of `N` sites has `N` bonds and an `L×L` torus `2L²` bonds, counted with
//! multiplicity (on a ring of 2 sites, or a torus with `L = 2`, the two bonds between the
//! same pair of sites both count, which is what Kaufman's and the transfer-matrix solutions
//! assume).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest number of sites any lattice may have (2^31, far beyond memory for our use).
pub const MAX_SITES: usize = 1 << 31;

/// A periodic lattice. Build it with [`Lattice::ring`] or [`Lattice::square`], which validate the
/// size; a `Lattice` always holds a valid size (deserialisation validates it as well).
/// Match on its geometry through [`Lattice::kind`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LatticeKind", into = "LatticeKind")]
pub struct Lattice(LatticeKind);

/// The geometry and size of a [`Lattice`], as plain data (to match on, or to build a lattice
/// from with `Lattice::try_from`). Serialised as `{"kind": "ring", "n": …}` or
/// `{"kind": "square", "l": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LatticeKind {
    /// A periodic chain of `n ≥ 2` sites.
    Ring {
        /// Number of sites.
        n: usize,
    },
    /// A periodic `l × l` square lattice, `l ≥ 2`.
    Square {
        /// Linear size.
        l: usize,
    },
}

impl std::fmt::Debug for Lattice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl TryFrom<LatticeKind> for Lattice {
    type Error = Error;
    fn try_from(kind: LatticeKind) -> Result<Self> {
        match kind {
            LatticeKind::Ring { n } => Lattice::ring(n),
            LatticeKind::Square { l } => Lattice::square(l),
        }
    }
}

impl From<Lattice> for LatticeKind {
    fn from(lattice: Lattice) -> Self {
        lattice.0
    }
}

impl Lattice {
    /// A periodic ring of `n ≥ 2` sites.
    pub fn ring(n: usize) -> Result<Self> {
        if n < 2 {
            return Err(Error::SizeTooSmall { size: n, min: 2 });
        }
        if n > MAX_SITES {
            return Err(Error::SizeTooLarge { size: n, max: MAX_SITES });
        }
        Ok(Lattice(LatticeKind::Ring { n }))
    }

    /// A periodic `l × l` square lattice with `l ≥ 2`.
    pub fn square(l: usize) -> Result<Self> {
        if l < 2 {
            return Err(Error::SizeTooSmall { size: l, min: 2 });
        }
        match l.checked_mul(l) {
            Some(n) if n <= MAX_SITES => Ok(Lattice(LatticeKind::Square { l })),
            _ => Err(Error::SizeTooLarge { size: l, max: MAX_SITES }),
        }
    }

    /// The lattice of one configuration of the given data shape: `[n]` is a ring, `[l, l]` a
    /// square lattice (the inverse of [`Lattice::shape`]).
    pub fn from_shape(shape: &[usize]) -> Result<Self> {
        match *shape {
            [n] => Lattice::ring(n),
            [a, b] if a == b => Lattice::square(a),
            _ => Err(Error::UnsupportedShape { shape: shape.to_vec() }),
        }
    }

    /// The geometry and size, to match on.
    #[inline]
    pub fn kind(&self) -> LatticeKind {
        self.0
    }

    /// Number of sites `N`.
    pub fn num_sites(&self) -> usize {
        match self.0 {
            LatticeKind::Ring { n } => n,
            LatticeKind::Square { l } => l * l,
        }
    }

    /// Number of bonds (with multiplicity): `N` on a ring, `2N` on the square lattice.
    pub fn num_bonds(&self) -> usize {
        match self.0 {
            LatticeKind::Ring { n } => n,
            LatticeKind::Square { l } => 2 * l * l,
        }
    }

    /// Linear size: `n` for a ring, `l` for the square lattice.
    pub fn linear_size(&self) -> usize {
        match self.0 {
            LatticeKind::Ring { n } => n,
            LatticeKind::Square { l } => l,
        }
    }

    /// Spatial dimension (1 or 2).
    pub fn dimension(&self) -> usize {
        match self.0 {
            LatticeKind::Ring { .. } => 1,
            LatticeKind::Square { .. } => 2,
        }
    }

    /// Coordination number: 2 on the ring, 4 on the square lattice.
    pub fn coordination(&self) -> usize {
        2 * self.dimension()
    }

    /// Shape of one configuration as stored in data files: `[n]` or `[l, l]`.
    pub fn shape(&self) -> Vec<usize> {
        match self.0 {
            LatticeKind::Ring { n } => vec![n],
            LatticeKind::Square { l } => vec![l, l],
        }
    }

    /// The "forward" neighbours of `site` (`+x`, and `+y` on the square lattice).
    /// Summing `s_i s_j` over all sites and their forward neighbours counts every bond once.
    #[inline]
    pub fn forward_neighbours(&self, site: usize) -> ([usize; 2], usize) {
        match self.0 {
            LatticeKind::Ring { n } => ([if site + 1 == n { 0 } else { site + 1 }, 0], 1),
            LatticeKind::Square { l } => {
                let (x, y) = (site % l, site / l);
                let xp = if x + 1 == l { 0 } else { x + 1 };
                let yp = if y + 1 == l { 0 } else { y + 1 };
                ([y * l + xp, yp * l + x], 2)
            }
        }
    }

    /// All neighbours of `site`, with multiplicity (on a ring of two sites, the other site twice).
    /// Returns the array and how many of its entries are used (2 or 4).
    #[inline]
    pub fn neighbours(&self, site: usize) -> ([usize; 4], usize) {
        match self.0 {
            LatticeKind::Ring { n } => {
                let right = if site + 1 == n { 0 } else { site + 1 };
                let left = if site == 0 { n - 1 } else { site - 1 };
                ([right, left, 0, 0], 2)
            }
            LatticeKind::Square { l } => {
                let (x, y) = (site % l, site / l);
                let xp = if x + 1 == l { 0 } else { x + 1 };
                let xm = if x == 0 { l - 1 } else { x - 1 };
                let yp = if y + 1 == l { 0 } else { y + 1 };
                let ym = if y == 0 { l - 1 } else { y - 1 };
                ([y * l + xp, y * l + xm, yp * l + x, ym * l + x], 4)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_validated() {
        assert_eq!(Lattice::ring(1), Err(Error::SizeTooSmall { size: 1, min: 2 }));
        assert_eq!(Lattice::square(0), Err(Error::SizeTooSmall { size: 0, min: 2 }));
        assert!(Lattice::square(usize::MAX).is_err());
        assert_eq!(Lattice::square(40).unwrap().num_sites(), 1600);
        assert_eq!(Lattice::square(40).unwrap().num_bonds(), 3200);
    }

    #[test]
    fn deserialisation_validates_and_round_trips() {
        for lat in [Lattice::ring(7).unwrap(), Lattice::square(5).unwrap()] {
            let text = serde_json::to_string(&lat).unwrap();
            assert_eq!(serde_json::from_str::<Lattice>(&text).unwrap(), lat);
            assert_eq!(Lattice::try_from(lat.kind()).unwrap(), lat);
        }
        assert_eq!(
            serde_json::to_string(&Lattice::square(5).unwrap()).unwrap(),
            r#"{"kind":"square","l":5}"#
        );
        for bad in
            [r#"{"kind":"square","l":0}"#, r#"{"kind":"ring","n":1}"#, r#"{"kind":"square","l":65536}"#]
        {
            assert!(serde_json::from_str::<Lattice>(bad).is_err(), "{bad}");
        }
        assert_eq!(Lattice::from_shape(&[3, 3]), Lattice::square(3));
        assert_eq!(Lattice::from_shape(&[6]), Lattice::ring(6));
        assert!(matches!(Lattice::from_shape(&[3, 4]), Err(Error::UnsupportedShape { .. })));
        assert!(matches!(Lattice::from_shape(&[]), Err(Error::UnsupportedShape { .. })));
    }

    #[test]
    fn forward_neighbours_count_every_bond_once() {
        for lat in [Lattice::ring(5).unwrap(), Lattice::square(3).unwrap(), Lattice::square(4).unwrap()] {
            let mut pairs = 0;
            let mut degree = vec![0usize; lat.num_sites()];
            for i in 0..lat.num_sites() {
                let (nb, k) = lat.forward_neighbours(i);
                for &j in &nb[..k] {
                    pairs += 1;
                    degree[i] += 1;
                    degree[j] += 1;
                }
            }
            assert_eq!(pairs, lat.num_bonds());
            assert!(degree.iter().all(|&d| d == lat.coordination()));
            for i in 0..lat.num_sites() {
                let (nb, k) = lat.neighbours(i);
                let mut all: Vec<usize> = nb[..k].to_vec();
                all.sort_unstable();
                let mut expect = Vec::new();
                for j in 0..lat.num_sites() {
                    let (f, kf) = lat.forward_neighbours(j);
                    for &t in &f[..kf] {
                        if t == i {
                            expect.push(j);
                        }
                        if j == i {
                            expect.push(t);
                        }
                    }
                }
                expect.sort_unstable();
                assert_eq!(all, expect, "site {i} of {lat:?}");
            }
        }
    }
}
