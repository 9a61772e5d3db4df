//! Exact results for the nearest-neighbour Ising model, used as the ground truth of every test.
//!
//! - [`kaufman`]: Kaufman's (1949) partition function of the finite `L×L` torus at zero field,
//!   with its first two coupling derivatives taken analytically;
//! - [`onsager`]: Onsager's infinite square lattice (free energy, energy, specific heat) and
//!   Yang's spontaneous magnetisation;
//! - [`enumerate`]: brute-force enumeration of every configuration of any [`IsingModel`](crate::IsingModel)
//!   (ring or torus, any `K` and `h`) with at most [`MAX_ENUMERATION_SPINS`] spins;
//! - [`ring`] and [`ring_correlation`]: the periodic chain in a field by its `2×2` transfer matrix.
//!
//! # Units and sign conventions (docs/science.md §2)
//!
//! Everything is dimensionless: `K = βJ`, `h = βH`, `k_B = 1`, and
//! `H(s) = -K B(s) - h M(s)` with the bond sum `B = Σ_<ij> s_i s_j` (every bond of the
//! [`Lattice`](crate::Lattice) once, with multiplicity, so `2N` bonds on a torus and `N` on a
//! ring) and `M = Σ_i s_i`; `P(s) = e^{-H(s)}/Z`. Per-site quantities divide by the number of
//! sites `N`:
//!
//! - `ln_z_per_site = (ln Z)/N`; the free energy per site is `f = -ln Z / N` (in units of `k_B T`);
//! - `energy_per_site = e = -⟨B⟩/N` (that is `⟨H⟩/(NJ)` at `h = 0`; `e = -2` in the ferromagnetic
//!   ground state of the torus);
//! - `specific_heat_per_site = c = K² (⟨B²⟩ - ⟨B⟩²)/N = (K²/N) ∂²ln Z/∂K²`, the bond-variance
//!   definition of docs/science.md. At `h = 0` it is the heat capacity per site `β² Var(H)/N`. At
//!   `h ≠ 0` it is *not* `β² Var(H)/N = Var(K B + h M)/N`: it leaves out the field terms
//!   `2Kh Cov(B, M) + h² Var(M)`, i.e. it is the response of the bond energy to `K` at fixed `h`;
//! - susceptibility per site (enumeration only) `χ = N(⟨m²⟩ - ⟨|m|⟩²)`, the finite-lattice
//!   convention that Monte Carlo estimators use at `h = 0`, and the Binder cumulant
//!   `U = 1 - ⟨m⁴⟩/(3⟨m²⟩²)`;
//! - magnetisation per site `m = M/N`.
//!
//! Couplings of either sign are accepted where the physics allows (see each function);
//! `K = 0` always gives the free-spin values.
//!
//! All functions work in `f64`, take and return plain numbers, validate their input and
//! return [`Error`](crate::Error) instead of panicking.

use serde::Serialize;

mod elliptic;
mod enumeration;
mod kaufman;
mod onsager;
mod ring;

pub use enumeration::{enumerate, DensityOfStates, Enumeration, MAX_ENUMERATION_SPINS};
pub use kaufman::{kaufman, MIN_NONZERO_COUPLING};
pub use onsager::{onsager, Onsager};
pub use ring::{chain, ring, ring_correlation, ChainExact, RingExact};

/// Zero-field thermodynamics per site of a finite lattice (see the module header for the
/// definitions and signs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thermo {
    /// `(ln Z)/N`.
    pub ln_z_per_site: f64,
    /// `e = -⟨B⟩/N`.
    pub energy_per_site: f64,
    /// `c = K² Var(B)/N`.
    pub specific_heat_per_site: f64,
}
