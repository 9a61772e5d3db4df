//! Swendsen-Wang multi-cluster algorithm (zero field, `K ≥ 0`).
//!
//! Units and signs as in [`crate::model`] (`H = -K Σ s_i s_j - h Σ s_i`, `P ∝ e^{-H}`); the
//! algorithm, its sweep and its validity are documented on [`SwendsenWang`].

use rand::Rng;

use super::{check_cluster_model, check_lattice, neighbour_table, threshold, Pool32, Sampler};
use crate::error::Result;
use crate::model::{IsingModel, Spins};

/// Flip decision not yet drawn for this root.
const UNDECIDED: u8 = 0;
/// Keep the cluster.
const KEEP: u8 = 1;
/// Flip the cluster.
const FLIP: u8 = 2;

/// Swendsen-Wang sampler. One [`Sampler::sweep`] builds and flips one full set of clusters.
///
/// Every bond between equal spins is activated with probability `p = 1 - e^{-2K}`; the
/// clusters of activated bonds are found with union-find (path halving, union by size), and
/// every cluster is flipped with probability ½. All buffers (parents, sizes, flip decisions)
/// belong to the sampler and are reused, so a sweep never allocates.
///
/// Randomness per sweep, in order: one `u32` per bond between equal spins (bonds visited site
/// by site, `+x` then `+y`), then one bit per cluster, clusters taken in order of their
/// lowest site index (64 bits per 64-bit draw).
#[derive(Debug, Clone)]
pub struct SwendsenWang {
    model: IsingModel,
    /// Forward neighbours (`+x`, and `+y` on the square lattice), `z/2` per site.
    forward: Vec<u32>,
    /// Bond-activation threshold for `p = 1 - e^{-2K}` (see [`crate::sampler`]).
    add: u64,
    parent: Vec<u32>,
    size: Vec<u32>,
    decision: Vec<u8>,
    /// Random numbers for bond activation.
    pool: Pool32,
}

impl SwendsenWang {
    /// Build the sampler. Fails with [`crate::Error::FieldWithClusterAlgorithm`] if `h ≠ 0` and
    /// [`crate::Error::NegativeCouplingWithClusterAlgorithm`] if `K < 0`.
    pub fn new(model: IsingModel) -> Result<Self> {
        check_cluster_model("swendsen-wang", &model)?;
        let lattice = model.lattice();
        let n = lattice.num_sites();
        let z = lattice.coordination();
        // Lattice::neighbours order is +x, -x (, +y, -y): the forward ones are 0 (and 2).
        let forward =
            neighbour_table(lattice).chunks_exact(z).flat_map(|nb| nb.iter().step_by(2).copied()).collect();
        Ok(SwendsenWang {
            model,
            forward,
            add: threshold(-(-2.0 * model.coupling()).exp_m1()),
            parent: vec![0; n],
            size: vec![1; n],
            decision: vec![UNDECIDED; n],
            pool: Pool32::new(),
        })
    }
}

/// Root of `i`, halving the path on the way.
#[inline]
fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let grand = parent[parent[i as usize] as usize];
        parent[i as usize] = grand;
        i = grand;
    }
    i
}

impl Sampler for SwendsenWang {
    fn name(&self) -> &'static str {
        "swendsen-wang"
    }

    fn model(&self) -> &IsingModel {
        &self.model
    }

    fn sweep<R: Rng + ?Sized>(&mut self, spins: &mut Spins, rng: &mut R) {
        check_lattice(&self.model, spins);
        let s = spins.as_mut_slice();
        let n = s.len();
        let per_site = self.forward.len() / n;
        for (i, p) in self.parent.iter_mut().enumerate() {
            *p = i as u32;
        }
        self.size.fill(1);
        self.decision.fill(UNDECIDED);

        self.pool.clear();
        for i in 0..n {
            for &j in &self.forward[per_site * i..per_site * (i + 1)] {
                if s[i] == s[j as usize] && u64::from(self.pool.next(rng)) < self.add {
                    let a = find(&mut self.parent, i as u32);
                    let b = find(&mut self.parent, j);
                    if a != b {
                        let (big, small) =
                            if self.size[a as usize] >= self.size[b as usize] { (a, b) } else { (b, a) };
                        self.parent[small as usize] = big;
                        self.size[big as usize] += self.size[small as usize];
                    }
                }
            }
        }

        let mut word = 0u64;
        let mut left = 0u32;
        for (i, spin) in s.iter_mut().enumerate() {
            let root = find(&mut self.parent, i as u32) as usize;
            if self.decision[root] == UNDECIDED {
                if left == 0 {
                    word = rng.next_u64();
                    left = 64;
                }
                self.decision[root] = if word & 1 == 1 { FLIP } else { KEEP };
                word >>= 1;
                left -= 1;
            }
            if self.decision[root] == FLIP {
                *spin = -*spin;
            }
        }
    }
}
