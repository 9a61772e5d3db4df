//! Wolff single-cluster algorithm (zero field, `K ≥ 0`).
//!
//! Units and signs as in [`crate::model`] (`H = -K Σ s_i s_j - h Σ s_i`, `P ∝ e^{-H}`); the
//! algorithm, its sweep and its validity are documented on [`Wolff`].

use rand::Rng;

use super::{check_cluster_model, check_lattice, neighbour_table, threshold, Pool32, Sampler};
use crate::error::Result;
use crate::model::{IsingModel, Spins};

/// Wolff single-cluster sampler.
///
/// A cluster grows from a uniformly chosen seed site: each bond to a neighbour with the seed's
/// (old) spin value is added with probability `p = 1 - e^{-2K}`, and the whole cluster is
/// flipped. Spins are flipped as they join the cluster, so "not yet in the cluster" is exactly
/// "still has the seed's old value" and no visited marks are needed. The stack is a buffer
/// held by the sampler (`N + 1` slots, reused), so growing a cluster never allocates. Only a bond
/// to a neighbour that still has the cluster's old spin draws a 32-bit random number (measured
/// 18% faster at L = 40, K_c than drawing one for every bond branch-free).
///
/// # What one sweep is, and why it is not "clusters until `N` spins flipped"
///
/// A sweep should be one sweep-equivalent (about `N` flipped spins), so that autocorrelation
/// times are comparable with a local sweep. The obvious rule, "grow clusters until at least `N`
/// spins have been flipped, then return", is **biased**: the sweep ends at a stopping time that
/// depends on the cluster sizes, hence on the state, and the configuration seen at such times is
/// size-biased towards the ordered states that produce large clusters. Measured on the 16×16
/// torus at `K = 0.40`: `e = -1.2035 ± 0.0008` against Kaufman's exact `-1.1313`.
///
/// So a sweep is a *fixed* number of clusters `n_c`, and a fixed number of `P`-preserving steps
/// preserves `P`. `n_c` is calibrated by the sampler itself: its first
/// [`Wolff::CALIBRATION_SWEEPS`] sweeps use the stopping rule above (they are thermalisation
/// anyway), the second half of them measures the mean cluster size `⟨|C|⟩`, and from then on
/// `n_c = max(1, round(N / ⟨|C|⟩))` is frozen ([`Wolff::clusters_per_sweep`]). Every sweep after
/// the calibration is exact. Callers must thermalise for at least `CALIBRATION_SWEEPS` sweeps (any
/// sensible thermalisation does), or fix `n_c` themselves with
/// [`Wolff::with_clusters_per_sweep`].
#[derive(Debug, Clone)]
pub struct Wolff {
    model: IsingModel,
    /// Neighbour table, `z` entries per site.
    neighbours: Vec<u32>,
    /// Bond-activation threshold for `p = 1 - e^{-2K}` (see [`crate::sampler`]).
    add: u64,
    /// Cluster stack, reused.
    stack: Vec<u32>,
    /// Random numbers for bond activation.
    pool: Pool32,
    /// Sweeps done so far during the calibration (saturates at `CALIBRATION_SWEEPS`).
    calibration_sweeps: usize,
    /// Clusters grown and spins flipped during the measuring half of the calibration.
    calibration_clusters: u64,
    calibration_flipped: u64,
    /// `n_c`, once calibrated.
    clusters_per_sweep: Option<usize>,
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
            stack: vec![0; lattice.num_sites() + 1],
            pool: Pool32::new(),
            calibration_sweeps: 0,
            calibration_clusters: 0,
            calibration_flipped: 0,
            clusters_per_sweep: None,
        })
    }

    /// Build the sampler with a fixed number of clusters per sweep (`clusters ≥ 1`) and no
    /// calibration: every sweep, from the first, is exact. Fails as [`Wolff::new`] does, and
    /// with [`crate::Error::InvalidParameter`] if `clusters` is 0.
    pub fn with_clusters_per_sweep(model: IsingModel, clusters: usize) -> Result<Self> {
        if clusters == 0 {
            return Err(crate::Error::InvalidParameter {
                name: "clusters per sweep",
                reason: "a Wolff sweep needs at least one cluster",
            });
        }
        let mut wolff = Wolff::new(model)?;
        wolff.calibration_sweeps = Self::CALIBRATION_SWEEPS;
        wolff.clusters_per_sweep = Some(clusters);
        Ok(wolff)
    }

    /// Number of sweeps a new sampler spends calibrating the number of clusters per sweep
    /// (see the module documentation); the last half of them measure the mean cluster size.
    pub const CALIBRATION_SWEEPS: usize = 32;

    /// The number of clusters per sweep, once calibrated (`None` during the first
    /// [`Self::CALIBRATION_SWEEPS`] sweeps).
    pub fn clusters_per_sweep(&self) -> Option<usize> {
        self.clusters_per_sweep
    }

    /// Grow and flip one cluster from `seed`; returns its size.
    #[inline]
    fn flip_cluster<const Z: usize, R: Rng + ?Sized>(
        &mut self,
        s: &mut [i8],
        seed: usize,
        rng: &mut R,
    ) -> usize {
        // The stack holds at most N sites (a site is pushed once, when it joins and flips).
        let old = s[seed];
        s[seed] = -old;
        let stack = &mut self.stack[..];
        stack[0] = seed as u32;
        let mut top = 1;
        let mut size = 1;
        while top > 0 {
            top -= 1;
            let i = stack[top] as usize;
            let nb: &[u32; Z] = self.neighbours[Z * i..Z * i + Z].try_into().expect("Z neighbours per site");
            for &j in nb {
                let j = j as usize;
                // Only aligned neighbours outside the cluster can join; the others (about
                // half the bonds at K_c, among them every bond back into the cluster) draw
                // no random number.
                if s[j] == old && u64::from(self.pool.next(rng)) < self.add {
                    s[j] = -old;
                    stack[top] = j as u32;
                    top += 1;
                    size += 1;
                }
            }
        }
        size
    }

    fn sweep_z<const Z: usize, R: Rng + ?Sized>(&mut self, s: &mut [i8], rng: &mut R) {
        let n = s.len();
        self.pool.clear();
        if let Some(clusters) = self.clusters_per_sweep {
            for _ in 0..clusters {
                let seed = rng.random_range(0..n);
                self.flip_cluster::<Z, R>(s, seed, rng);
            }
            return;
        }
        // Calibration: the (biased) stopping rule, measuring cluster sizes in the second half.
        let (mut flipped, mut clusters) = (0, 0);
        while flipped < n {
            let seed = rng.random_range(0..n);
            flipped += self.flip_cluster::<Z, R>(s, seed, rng);
            clusters += 1;
        }
        self.calibration_sweeps += 1;
        if self.calibration_sweeps > Self::CALIBRATION_SWEEPS / 2 {
            self.calibration_clusters += clusters;
            self.calibration_flipped += flipped as u64;
        }
        if self.calibration_sweeps == Self::CALIBRATION_SWEEPS {
            let mean_size = self.calibration_flipped as f64 / self.calibration_clusters as f64;
            self.clusters_per_sweep = Some(((n as f64 / mean_size).round() as usize).max(1));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::Lattice;
    use crate::rng::chain_rng;

    fn calibrated(l: usize, k: f64) -> Option<usize> {
        let lattice = Lattice::square(l).unwrap();
        let mut wolff = Wolff::new(IsingModel::new(lattice, k, 0.0).unwrap()).unwrap();
        let mut rng = chain_rng(9, 0);
        let mut spins = Spins::all_up(lattice);
        for _ in 0..Wolff::CALIBRATION_SWEEPS - 1 {
            wolff.sweep(&mut spins, &mut rng);
        }
        assert_eq!(wolff.clusters_per_sweep(), None);
        wolff.sweep(&mut spins, &mut rng);
        wolff.clusters_per_sweep()
    }

    #[test]
    fn fixed_cluster_count_skips_calibration() {
        let model = IsingModel::new(Lattice::square(4).unwrap(), 0.3, 0.0).unwrap();
        assert_eq!(Wolff::with_clusters_per_sweep(model, 3).unwrap().clusters_per_sweep(), Some(3));
        assert!(matches!(
            Wolff::with_clusters_per_sweep(model, 0),
            Err(crate::Error::InvalidParameter { .. })
        ));
        // At K = 0 every cluster is one site: one cluster per sweep flips exactly one spin.
        let zero = IsingModel::new(Lattice::square(4).unwrap(), 0.0, 0.0).unwrap();
        let mut wolff = Wolff::with_clusters_per_sweep(zero, 1).unwrap();
        let mut spins = Spins::all_up(zero.lattice());
        wolff.sweep(&mut spins, &mut chain_rng(1, 0));
        assert_eq!(spins.magnetization_sum(), 14);
    }

    #[test]
    fn calibration_gives_n_single_site_clusters_at_zero_coupling() {
        // At K = 0 no bond is ever added: every cluster is one site.
        assert_eq!(calibrated(6, 0.0), Some(36));
    }

    #[test]
    fn calibration_gives_one_cluster_at_strong_coupling() {
        // At K = 20, 1 - p = e^{-40} rounds to threshold 2^32: every aligned bond joins, and the
        // ordered state is one cluster.
        assert_eq!(calibrated(6, 20.0), Some(1));
    }
}
