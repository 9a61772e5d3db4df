//! Monte Carlo samplers for the Ising model.
//!
//! Units and signs as in [`crate::model`]. Every sampler is one step (`sweep`) over explicit
//! state with an injected generator; the caller loops and observes.
//!
//! What a "sweep" is, per algorithm, so that autocorrelation times are comparable:
//! checkerboard Metropolis and heat bath attempt one update of every site; Swendsen-Wang
//! builds and flips one full set of clusters; Wolff grows and flips single clusters until at
//! least `N` spins have been flipped in total (one sweep-equivalent).

use rand::Rng;

use crate::model::{IsingModel, Spins};

/// One Markov chain update rule that leaves `P(s) = e^{-H(s)}/Z` invariant.
pub trait Sampler {
    /// Short stable name, as used on the command line and in metadata (`"metropolis"`, ...).
    fn name(&self) -> &'static str;

    /// The model this sampler was built for.
    fn model(&self) -> &IsingModel;

    /// One sweep (see the module documentation) on `spins`, drawing randomness from `rng`.
    fn sweep<R: Rng + ?Sized>(&mut self, spins: &mut Spins, rng: &mut R);
}
