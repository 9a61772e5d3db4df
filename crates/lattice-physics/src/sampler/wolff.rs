//! Wolff single-cluster algorithm (zero field, `K ≥ 0`).
//!
//! A cluster grows from a uniformly chosen seed site: each bond to a neighbour with the seed's
//! (old) spin value is added with probability `p = 1 - e^{-2K}`, and the whole cluster is
//! flipped. Spins are flipped as they join the cluster, so "not yet in the cluster" is exactly
//! "still has the seed's old value" and no visited marks are needed. The stack is a buffer
//! held by the sampler (capacity `N`, reused), so growing a cluster never allocates.
//!
//! One [`Sampler::sweep`] grows clusters until at least `N` spins have been flipped in total
//! (one sweep-equivalent), so autocorrelation times are in units comparable to a local sweep.

use rand::Rng;

use super::{check_cluster_model, check_lattice, neighbour_table, threshold, HalfWords, Sampler};
use crate::error::Result;
use crate::model::{IsingModel, Spins};

/// Wolff single-cluster sampler.
#[derive(Debug, Clone)]
pub struct Wolff {
    model: IsingModel,
    /// Neighbour table, `z` entries per site.
    neighbours: Vec<u32>,
    /// Bond-activation threshold for `p = 1 - e^{-2K}` (see [`crate::sampler`]).
    add: u64,
    /// Cluster stack, reused.
    stack: Vec<u32>,
}

impl Wolff {
    /// Build the sampler. Fails with [`crate::Error::FieldWithClusterAlgorithm`] if `h ≠ 0` and
    /// [`crate::Error::NegativeCouplingWithClusterAlgorithm`] if `K < 0`.
    pub fn new(model: IsingModel) -> Result<Self> {
        check_cluster_model("wolff", &model)?;
        let lattice = model.lattice();
        Ok(Wolff {
            model,
            neighbours: neighbour_table(lattice),
            add: threshold(-(-2.0 * model.coupling()).exp_m1()),
            stack: Vec::with_capacity(lattice.num_sites()),
        })
    }

    /// Grow and flip one cluster from `seed`; returns its size.
    #[inline]
    fn flip_cluster<const Z: usize, R: Rng + ?Sized>(
        &mut self,
        s: &mut [i8],
        seed: usize,
        bits: &mut HalfWords,
        rng: &mut R,
    ) -> usize {
        let old = s[seed];
        s[seed] = -old;
        self.stack.clear();
        self.stack.push(seed as u32);
        let mut size = 1;
        while let Some(i) = self.stack.pop() {
            let i = i as usize;
            let nb: &[u32; Z] = self.neighbours[Z * i..Z * i + Z].try_into().expect("Z neighbours per site");
            for &j in nb {
                let j = j as usize;
                if s[j] == old && u64::from(bits.next(rng)) < self.add {
                    s[j] = -old;
                    self.stack.push(j as u32);
                    size += 1;
                }
            }
        }
        size
    }

    fn sweep_z<const Z: usize, R: Rng + ?Sized>(&mut self, s: &mut [i8], rng: &mut R) {
        let n = s.len();
        let mut bits = HalfWords::new();
        let mut flipped = 0;
        while flipped < n {
            let seed = rng.random_range(0..n);
            flipped += self.flip_cluster::<Z, R>(s, seed, &mut bits, rng);
        }
    }
}

impl Sampler for Wolff {
    fn name(&self) -> &'static str {
        "wolff"
    }

    fn model(&self) -> &IsingModel {
        &self.model
    }

    fn sweep<R: Rng + ?Sized>(&mut self, spins: &mut Spins, rng: &mut R) {
        check_lattice(&self.model, spins);
        let s = spins.as_mut_slice();
        match self.model.lattice().coordination() {
            2 => self.sweep_z::<2, R>(s, rng),
            _ => self.sweep_z::<4, R>(s, rng),
        }
    }
}
