//! Monte Carlo samplers for the Ising model.
//!
//! Units and signs as in [`crate::model`]: `H(s) = -K Σ_<ij> s_i s_j - h Σ_i s_i`,
//! `P(s) = e^{-H(s)}/Z`. Every sampler is one step (`sweep`) over explicit state with an
//! injected generator; the caller loops and observes.
//!
//! What a "sweep" is, per algorithm, so that autocorrelation times are comparable:
//! checkerboard Metropolis and heat bath attempt one update of every site; Swendsen-Wang
//! builds and flips one full set of clusters; Wolff grows and flips a fixed number `n_c` of single
//! clusters, calibrated so that about `N` spins are flipped (one sweep-equivalent). (Stopping
//! "when at least `N` spins have been flipped" would be biased; see [`Wolff`].)
//!
//! | sampler | field `h` | coupling `K < 0` | odd sizes |
//! |---|---|---|---|
//! | [`Metropolis`] | yes | yes | yes (sequential order, see below) |
//! | [`HeatBath`] | yes | yes | yes (sequential order) |
//! | [`Wolff`] | `h = 0` only | refused | yes |
//! | [`SwendsenWang`] | `h = 0` only | refused | yes |
//!
//! **Odd sizes.** The local samplers visit the sites of one checkerboard colour, row by row,
//! then the other colour; every single-site update reads the *current* values of its
//! neighbours. On an even torus or ring the two colours are independent sets, so this is the
//! usual checkerboard sweep. On an odd size the colouring is not bipartite across the periodic
//! seam, but the sweep is still a fixed-order sequence of single-site updates, each of which
//! satisfies detailed balance with respect to `P`, so their composition leaves `P` invariant:
//! odd sizes are handled correctly (and tested against exact enumeration), they are simply not
//! parallelisable by colour.
//!
//! **Antiferromagnets.** Metropolis and heat bath work for any sign of `K`. The cluster
//! algorithms refuse `K < 0` ([`Error::NegativeCouplingWithClusterAlgorithm`]); on a bipartite
//! lattice the gauge transformation `s_i → (-1)^{x+y} s_i` maps the antiferromagnet onto the
//! ferromagnet, which they do sample.
//!
//! **Speed.** On large even lattices Metropolis and heat bath are multi-spin coded: 64 spins of
//! one colour per `u64`, with an exact bit-sliced comparison of one 32-bit random number per
//! site against the same integer thresholds as the scalar path; small and odd lattices use the
//! scalar path (see [`Kernel`]).
//!
//! **Acceptance probabilities** are precomputed at construction as 32-bit thresholds: a
//! probability `p` becomes the integer `t = round(p · 2^32)` and an update is accepted when a
//! uniform 32-bit random integer is below `t`, so every probability is realised exactly as
//! `t / 2^32` (within `2^-33` of `p`; `p = 1` is exactly certain, `p = 0` exactly impossible).

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lattice::Lattice;
use crate::model::{IsingModel, Spins};

mod checkerboard;
mod heat_bath;
mod metropolis;
mod multispin;
mod swendsen_wang;
mod wolff;

pub use heat_bath::HeatBath;
pub use metropolis::Metropolis;
pub use swendsen_wang::SwendsenWang;
pub use wolff::Wolff;

/// One Markov chain update rule that leaves `P(s) = e^{-H(s)}/Z` invariant.
pub trait Sampler {
    /// Short stable name, as used on the command line and in metadata (`"metropolis"`, ...).
    fn name(&self) -> &'static str;

    /// The model this sampler was built for.
    fn model(&self) -> &IsingModel;

    /// One sweep (see the module documentation) on `spins`, drawing randomness from `rng`.
    ///
    /// # Panics
    ///
    /// If `spins` is not on the lattice of [`Sampler::model`] (a caller bug).
    fn sweep<R: Rng + ?Sized>(&mut self, spins: &mut Spins, rng: &mut R);
}

/// The sampling algorithms, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// Checkerboard Metropolis ([`Metropolis`]).
    Metropolis,
    /// Checkerboard heat bath ([`HeatBath`]).
    HeatBath,
    /// Wolff single-cluster ([`Wolff`]), `h = 0`, `K ≥ 0`.
    Wolff,
    /// Swendsen-Wang multi-cluster ([`SwendsenWang`]), `h = 0`, `K ≥ 0`.
    SwendsenWang,
}

impl Algorithm {
    /// Every algorithm, in a fixed order.
    pub const ALL: [Algorithm; 4] =
        [Algorithm::Metropolis, Algorithm::HeatBath, Algorithm::Wolff, Algorithm::SwendsenWang];

    /// The stable name: `"metropolis"`, `"heat-bath"`, `"wolff"` or `"swendsen-wang"`.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Metropolis => "metropolis",
            Algorithm::HeatBath => "heat-bath",
            Algorithm::Wolff => "wolff",
            Algorithm::SwendsenWang => "swendsen-wang",
        }
    }

    /// Whether this is a cluster algorithm (zero field and `K ≥ 0` only).
    pub fn is_cluster(&self) -> bool {
        matches!(self, Algorithm::Wolff | Algorithm::SwendsenWang)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| Error::UnknownAlgorithm { name: s.to_owned() })
    }
}

/// Which implementation of the checkerboard sweep a local sampler ([`Metropolis`],
/// [`HeatBath`]) uses. Both realise exactly the same transition probabilities (the same integer
/// thresholds); they differ in speed and in how random numbers are consumed, so trajectories for
/// a given seed differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Multi-spin coding where it is faster: even sizes with rows of at least 64 sites for
    /// Metropolis, 128 for heat bath (measured crossovers); scalar otherwise.
    Auto,
    /// Always the scalar, one-`i8`-spin-at-a-time sweep.
    Scalar,
    /// Multi-spin coding on every even size; odd sizes (no bipartite colouring) still use the
    /// scalar sweep.
    MultiSpin,
}

impl Kernel {
    /// Whether to use multi-spin coding on `lattice`, given the row length from which `Auto`
    /// uses it.
    fn multispin(self, lattice: Lattice, auto_min_len: usize) -> bool {
        let len = lattice.linear_size();
        match self {
            Kernel::Auto => len % 2 == 0 && len >= auto_min_len,
            Kernel::Scalar => false,
            Kernel::MultiSpin => len % 2 == 0,
        }
    }
}

/// Any of the samplers, chosen at run time; implements [`Sampler`] by dispatch.
// The Metropolis variant carries its threshold table inline (a few hundred bytes); samplers
// exist one per chain, never in bulk, so boxing it would buy nothing but an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum AnySampler {
    /// Checkerboard Metropolis.
    Metropolis(Metropolis),
    /// Checkerboard heat bath.
    HeatBath(HeatBath),
    /// Wolff single-cluster.
    Wolff(Wolff),
    /// Swendsen-Wang.
    SwendsenWang(SwendsenWang),
}

impl AnySampler {
    /// Build the sampler for `algorithm`; fails as that sampler's constructor does.
    pub fn new(algorithm: Algorithm, model: IsingModel) -> Result<Self> {
        Ok(match algorithm {
            Algorithm::Metropolis => AnySampler::Metropolis(Metropolis::new(model)?),
            Algorithm::HeatBath => AnySampler::HeatBath(HeatBath::new(model)?),
            Algorithm::Wolff => AnySampler::Wolff(Wolff::new(model)?),
            Algorithm::SwendsenWang => AnySampler::SwendsenWang(SwendsenWang::new(model)?),
        })
    }

    /// Which algorithm this is.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            AnySampler::Metropolis(_) => Algorithm::Metropolis,
            AnySampler::HeatBath(_) => Algorithm::HeatBath,
            AnySampler::Wolff(_) => Algorithm::Wolff,
            AnySampler::SwendsenWang(_) => Algorithm::SwendsenWang,
        }
    }
}

impl Sampler for AnySampler {
    fn name(&self) -> &'static str {
        self.algorithm().name()
    }

    fn model(&self) -> &IsingModel {
        match self {
            AnySampler::Metropolis(s) => s.model(),
            AnySampler::HeatBath(s) => s.model(),
            AnySampler::Wolff(s) => s.model(),
            AnySampler::SwendsenWang(s) => s.model(),
        }
    }

    fn sweep<R: Rng + ?Sized>(&mut self, spins: &mut Spins, rng: &mut R) {
        match self {
            AnySampler::Metropolis(s) => s.sweep(spins, rng),
            AnySampler::HeatBath(s) => s.sweep(spins, rng),
            AnySampler::Wolff(s) => s.sweep(spins, rng),
            AnySampler::SwendsenWang(s) => s.sweep(spins, rng),
        }
    }
}

/// `2^32` as a float: the scale of the 32-bit acceptance thresholds.
const TWO_POW_32: f64 = 4_294_967_296.0;

/// The threshold `t = round(p · 2^32)` for probability `p` (clamped to `[0, 1]`): a uniform
/// `u32` random `r` satisfies `(r as u64) < t` with probability exactly `t / 2^32`.
pub(crate) fn threshold(p: f64) -> u64 {
    (p.clamp(0.0, 1.0) * TWO_POW_32).round() as u64
}

/// The probability realised by threshold `t`.
pub(crate) fn threshold_probability(t: u64) -> f64 {
    t as f64 / TWO_POW_32
}

/// Check that `spins` belongs to the sampler's lattice: a mismatch is a caller bug that would
/// otherwise index out of bounds, so it is an internal invariant.
#[inline]
pub(crate) fn check_lattice(model: &IsingModel, spins: &Spins) {
    assert_eq!(spins.lattice(), model.lattice(), "spins and sampler must be on the same lattice");
}

/// Neighbour table, `z` entries per site, in [`Lattice::neighbours`] order
/// (`+x, -x` on the ring; `+x, -x, +y, -y` on the square lattice).
pub(crate) fn neighbour_table(lattice: Lattice) -> Vec<u32> {
    let z = lattice.coordination();
    let mut table = Vec::with_capacity(z * lattice.num_sites());
    for i in 0..lattice.num_sites() {
        let (nb, k) = lattice.neighbours(i);
        debug_assert_eq!(k, z);
        table.extend(nb[..k].iter().map(|&j| j as u32));
    }
    table
}

/// Reject fields and negative couplings for the cluster algorithms.
pub(crate) fn check_cluster_model(algorithm: &'static str, model: &IsingModel) -> Result<()> {
    if model.field() != 0.0 {
        return Err(Error::FieldWithClusterAlgorithm { algorithm, field: model.field() });
    }
    if model.coupling() < 0.0 {
        return Err(Error::NegativeCouplingWithClusterAlgorithm { algorithm, coupling: model.coupling() });
    }
    Ok(())
}

/// Uniform 32-bit random numbers drawn from the generator in blocks (two per 64-bit output,
/// with the generator's state in registers while the block is filled), handed out one by one.
/// Samplers [`clear`](Self::clear) it at the start of every sweep, discarding the unused rest of
/// the last block, so a sweep's result depends only on the spins and the generator's state.
#[derive(Debug, Clone)]
pub(crate) struct Pool32 {
    values: Vec<u32>,
    next: usize,
}

impl Pool32 {
    /// Block size.
    const SIZE: usize = 128;

    pub(crate) fn new() -> Self {
        Pool32 { values: vec![0; Self::SIZE], next: Self::SIZE }
    }

    pub(crate) fn clear(&mut self) {
        self.next = self.values.len();
    }

    #[inline(always)]
    pub(crate) fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> u32 {
        if self.next == self.values.len() {
            rng.fill(&mut self.values[..]);
            self.next = 0;
        }
        let r = self.values[self.next];
        self.next += 1;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>(), Ok(a));
            assert_eq!(a.to_string(), a.name());
        }
        assert!(matches!("gibbs".parse::<Algorithm>(), Err(Error::UnknownAlgorithm { .. })));
    }

    #[test]
    fn thresholds_are_exact_at_the_ends() {
        assert_eq!(threshold(1.0), 1 << 32);
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(0.5), 1 << 31);
        assert!((threshold_probability(threshold(0.3)) - 0.3).abs() <= 0.5 / TWO_POW_32);
    }

    #[test]
    fn any_sampler_is_send() {
        fn is_send<T: Send>() {}
        is_send::<AnySampler>();
    }
}
