//! Brute-force enumeration of every configuration of a small Ising model.
//!
//! Units and signs as in the [parent module](super): `H = -K B - h M`, `e = -⟨B⟩/N`,
//! `c = K² Var(B)/N` (bond variance; at `h ≠ 0` this is the bond-energy response at fixed field,
//! not `β² Var(H)/N`), `m = M/N`.
//!
//! The `2^N` configurations are walked in Gray-code order with the last spin held up (its
//! global flip gives the other half: same `B`, opposite `M`), so each step flips one spin and
//! updates the number of unsatisfied bonds and of down spins incrementally. The walk only
//! fills a histogram `g(B, M)` of integer counts, which is exact; all thermodynamics then comes
//! from `Σ_{B,M} g(B, M) e^{K B + h M}`, summed as a log-sum-exp so that any `|K|, |h|` up to
//! [`MAX_ABS_PARAMETER`](crate::model::MAX_ABS_PARAMETER) is safe, and with variances summed
//! about their means. `N = 25` (`2^24` steps) takes a fraction of a second in release builds.
//! [`DensityOfStates`] exposes the histogram so that many `(K, h)` can be evaluated from one walk.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::lattice::Lattice;
use crate::model::IsingModel;

/// Largest number of spins [`enumerate`] accepts.
pub const MAX_ENUMERATION_SPINS: usize = 25;

/// Exact averages of a small Ising model, from enumeration of all `2^N` configurations.
///
/// `m = M/N` is the magnetisation per site; averages are over `P(s) = e^{-H(s)}/Z`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Enumeration {
    /// `(ln Z)/N`.
    pub ln_z_per_site: f64,
    /// `e = -⟨B⟩/N`.
    pub energy_per_site: f64,
    /// `c = K² (⟨B²⟩ - ⟨B⟩²)/N` (bond-variance definition).
    pub specific_heat_per_site: f64,
    /// `⟨m⟩` (zero at `h = 0` by symmetry).
    pub magnetization: f64,
    /// `⟨|m|⟩`.
    pub abs_magnetization: f64,
    /// `⟨m²⟩`.
    pub magnetization_sq: f64,
    /// `⟨m⁴⟩`.
    pub magnetization_4th: f64,
    /// `χ = N (⟨m²⟩ - ⟨|m|⟩²)`: the finite-lattice convention built on `|m|` (docs/science.md §2),
    /// the one Monte Carlo estimators use at `h = 0`. It is not `∂⟨m⟩/∂h = N(⟨m²⟩ - ⟨m⟩²)`,
    /// which at `h = 0` equals `N⟨m²⟩`.
    pub susceptibility_per_site: f64,
    /// Binder cumulant `U = 1 - ⟨m⁴⟩/(3⟨m²⟩²)`.
    pub binder_cumulant: f64,
}

/// The exact density of states `g(B, M)` of a lattice: how many configurations have bond sum
/// `B` and magnetisation sum `M`. Independent of `K` and `h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DensityOfStates {
    lattice: Lattice,
    /// `counts[u * (N + 1) + d]`: configurations with `u` unsatisfied bonds and `d` down spins,
    /// that is `B = bonds - 2u`, `M = N - 2d`.
    counts: Vec<u64>,
}

impl DensityOfStates {
    /// Enumerate every configuration of `lattice` (at most [`MAX_ENUMERATION_SPINS`] spins).
    pub fn new(lattice: Lattice) -> Result<Self> {
        let n = lattice.num_sites();
        if n > MAX_ENUMERATION_SPINS {
            return Err(Error::TooManySpinsForEnumeration { sites: n, max: MAX_ENUMERATION_SPINS });
        }
        let bonds = lattice.num_bonds();
        let stride = n + 1;
        let mut half = vec![0u64; (bonds + 1) * stride];
        // Neighbour lists with multiplicity, flattened: site i uses nbr[4i .. 4i + deg].
        let deg = lattice.coordination();
        let mut nbr = [0usize; 4 * MAX_ENUMERATION_SPINS];
        for i in 0..n {
            let (list, k) = lattice.neighbours(i);
            debug_assert_eq!(k, deg);
            nbr[4 * i..4 * i + k].copy_from_slice(&list[..k]);
        }
        // Start from all spins up: no unsatisfied bond, no down spin. Spin n-1 stays up.
        let mut spins = [1i8; MAX_ENUMERATION_SPINS];
        let mut index: isize = 0; // u * stride + d
        half[0] += 1;
        let free = n - 1;
        let stride_i = stride as isize;
        for step in 1u64..(1u64 << free) {
            let i = step.trailing_zeros() as usize;
            let si = spins[i];
            // Each neighbour aligned with s_i now becomes unsatisfied and vice versa.
            let mut aligned: isize = 0;
            for &j in &nbr[4 * i..4 * i + deg] {
                aligned += (si * spins[j]) as isize;
            }
            spins[i] = -si;
            index += aligned * stride_i + si as isize;
            half[index as usize] += 1;
        }
        // The other half: the global flip keeps u and maps d to n - d.
        let mut counts = vec![0u64; half.len()];
        for u in 0..=bonds {
            for d in 0..=n {
                counts[u * stride + d] = half[u * stride + d] + half[u * stride + (n - d)];
            }
        }
        Ok(DensityOfStates { lattice, counts })
    }

    /// The lattice that was enumerated.
    pub fn lattice(&self) -> Lattice {
        self.lattice
    }

    /// Every nonzero `(B, M, g(B, M))`.
    pub fn entries(&self) -> impl Iterator<Item = (i64, i64, u64)> + '_ {
        let n = self.lattice.num_sites();
        let bonds = self.lattice.num_bonds() as i64;
        self.counts.iter().enumerate().filter(|(_, &g)| g > 0).map(move |(idx, &g)| {
            let (u, d) = ((idx / (n + 1)) as i64, (idx % (n + 1)) as i64);
            (bonds - 2 * u, n as i64 - 2 * d, g)
        })
    }

    /// Exact averages at coupling `coupling` and field `field` (validated as for [`IsingModel`]).
    pub fn evaluate(&self, coupling: f64, field: f64) -> Result<Enumeration> {
        let model = IsingModel::new(self.lattice, coupling, field)?;
        let (k, h) = (model.coupling(), model.field());
        let n = self.lattice.num_sites() as f64;
        let log_w = |b: i64, m: i64, g: u64| (g as f64).ln() + k * b as f64 + h * m as f64;
        let top = self.entries().map(|(b, m, g)| log_w(b, m, g)).fold(f64::NEG_INFINITY, f64::max);
        let mut z = 0.0;
        let (mut sb, mut sm, mut sabs, mut sm2, mut sm4) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (b, m, g) in self.entries() {
            let w = (log_w(b, m, g) - top).exp();
            let mf = m as f64 / n;
            z += w;
            sb += w * b as f64;
            sm += w * mf;
            sabs += w * mf.abs();
            sm2 += w * mf * mf;
            sm4 += w * mf * mf * mf * mf;
        }
        let (mean_b, mean_abs) = (sb / z, sabs / z);
        let (mut var_b, mut var_abs) = (0.0, 0.0);
        for (b, m, g) in self.entries() {
            let w = (log_w(b, m, g) - top).exp();
            let db = b as f64 - mean_b;
            let da = (m as f64 / n).abs() - mean_abs;
            var_b += w * db * db;
            var_abs += w * da * da;
        }
        let (var_b, var_abs) = (var_b / z, var_abs / z);
        let (m2, m4) = (sm2 / z, sm4 / z);
        Ok(Enumeration {
            ln_z_per_site: (top + z.ln()) / n,
            energy_per_site: -mean_b / n,
            specific_heat_per_site: k * k * var_b / n,
            magnetization: sm / z,
            abs_magnetization: mean_abs,
            magnetization_sq: m2,
            magnetization_4th: m4,
            susceptibility_per_site: n * var_abs,
            binder_cumulant: 1.0 - m4 / (3.0 * m2 * m2),
        })
    }
}

/// Exact averages of `model` by enumerating all `2^N` configurations (`N ≤` [`MAX_ENUMERATION_SPINS`]).
///
/// ```
/// use lattice_physics::{exact::enumerate, IsingModel, Lattice};
/// // Two sites on a ring share two bonds: Z = 2 e^{2K} + 2 e^{-2K}.
/// let k = 0.3;
/// let r = enumerate(&IsingModel::new(Lattice::ring(2)?, k, 0.0)?)?;
/// let z = 2.0 * (2.0 * k).exp() + 2.0 * (-2.0 * k).exp();
/// assert!((r.ln_z_per_site - z.ln() / 2.0).abs() < 1e-14);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn enumerate(model: &IsingModel) -> Result<Enumeration> {
    DensityOfStates::new(model.lattice())?.evaluate(model.coupling(), model.field())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_match_a_direct_count() {
        for lattice in [Lattice::ring(2).unwrap(), Lattice::ring(7).unwrap(), Lattice::square(3).unwrap()] {
            let dos = DensityOfStates::new(lattice).unwrap();
            let n = lattice.num_sites();
            let total: u64 = dos.entries().map(|(_, _, g)| g).sum();
            assert_eq!(total, 1u64 << n);
            // Direct count without the Gray code.
            let mut direct = std::collections::HashMap::new();
            for bits in 0u64..(1u64 << n) {
                let s: Vec<i8> = (0..n).map(|i| if bits >> i & 1 == 1 { -1 } else { 1 }).collect();
                let b = crate::model::bond_sum_unchecked(lattice, &s);
                let m: i64 = s.iter().map(|&v| v as i64).sum();
                *direct.entry((b, m)).or_insert(0u64) += 1;
            }
            let mine: std::collections::HashMap<(i64, i64), u64> =
                dos.entries().map(|(b, m, g)| ((b, m), g)).collect();
            assert_eq!(mine, direct, "{lattice:?}");
        }
    }

    #[test]
    fn too_many_spins_is_refused() {
        let model = IsingModel::new(Lattice::square(6).unwrap(), 0.4, 0.0).unwrap();
        assert_eq!(enumerate(&model), Err(Error::TooManySpinsForEnumeration { sites: 36, max: 25 }));
    }

    #[test]
    fn extreme_couplings_stay_finite() {
        for (k, h) in [(50.0, 0.0), (-50.0, 0.0), (50.0, -50.0), (-50.0, 50.0), (0.0, 50.0)] {
            let model = IsingModel::new(Lattice::square(3).unwrap(), k, h).unwrap();
            let r = enumerate(&model).unwrap();
            for x in [r.ln_z_per_site, r.energy_per_site, r.specific_heat_per_site, r.binder_cumulant] {
                assert!(x.is_finite(), "K={k} h={h}: {r:?}");
            }
        }
        // K = 50: only the two ground states count (the next states are e^{-8K} ~ 1e-174 away).
        let model = IsingModel::new(Lattice::square(3).unwrap(), 50.0, 0.0).unwrap();
        let r = enumerate(&model).unwrap();
        assert!((r.ln_z_per_site - (100.0 + std::f64::consts::LN_2 / 9.0)).abs() < 1e-13);
        assert!((r.energy_per_site + 2.0).abs() < 1e-15);
        assert!((r.abs_magnetization - 1.0).abs() < 1e-15);
        assert!((r.binder_cumulant - 2.0 / 3.0).abs() < 1e-15);
    }
}
