//! An RSMI filter as a kernel: `p(h_B | v) ∝ e^{h_B λ·v_B}` on every `b×b` block `B` is the
//! convolutional kernel of [`super::learned`] with window `w = b`, no bias and filter `λ`
//! (docs/science.md §7, Koch-Janusz and Ringel).
//!
//! Units and signs: spins `±1`; `λ_i` is dimensionless, indexed row-major within the block
//! (`λ[dy·b + dx]` weighs fine site `(bX + dx, bY + dy)`), the bit order of
//! [`crate::rsmi::RsmiGeometry::block_sites`]; `p(h_B = +1 | v) = σ(2 λ·v_B)`, as in
//! [`crate::rsmi::filter_probabilities`]. A uniform filter of value `λ` is the stochastic block
//! spin of that strength, and majority rule in the limit `λ → ∞`.
//!
//! RSMI learns only the direction of `λ` (the information grows with `|λ|`); the strength
//! `|λ|` is the kernel's free parameter, carried in its name (`rsmi:|λ|`).

use lattice_physics::Lattice;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::learned::ConvKernel;
use super::CoarseKernel;
use crate::error::{Error, Result};

/// A learned RSMI filter acting as a stride-`b` kernel (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RsmiKernel {
    conv: ConvKernel,
}

impl RsmiKernel {
    /// The kernel of filter `lambda` (`b²` finite values, `b ≥ 2` dividing `L`, not all zero) on
    /// the square torus `fine`.
    pub fn new(fine: Lattice, lambda: &[f64]) -> Result<Self> {
        let b = (1..=lambda.len()).find(|b| b * b >= lambda.len()).unwrap_or(0);
        if b < 2 || b * b != lambda.len() {
            return Err(Error::InvalidParameter {
                name: "filter",
                reason: "an RSMI filter needs b² values for a block factor b ≥ 2",
            });
        }
        if lambda.iter().all(|&x| x == 0.0) {
            return Err(Error::InvalidParameter { name: "filter", reason: "must not be all zero" });
        }
        Ok(RsmiKernel { conv: ConvKernel::new(fine, b, b, lambda.to_vec())? })
    }

    /// The same direction rescaled to strength `strength` (finite, positive).
    pub fn with_strength(&self, strength: f64) -> Result<Self> {
        let s = crate::error::finite("strength", strength)?;
        if s <= 0.0 {
            return Err(Error::OutOfRange { name: "strength", value: s, reason: "must be positive" });
        }
        let scale = s / self.strength();
        let lambda: Vec<f64> = self.filter().iter().map(|x| x * scale).collect();
        RsmiKernel::new(self.fine(), &lambda)
    }

    /// The filter `λ`, row-major in the block.
    pub fn filter(&self) -> &[f64] {
        self.conv.filter()
    }

    /// `|λ|` (Euclidean norm).
    pub fn strength(&self) -> f64 {
        self.filter().iter().map(|x| x * x).sum::<f64>().sqrt()
    }

    /// The same kernel as the convolutional RBM it is.
    pub fn as_conv(&self) -> &ConvKernel {
        &self.conv
    }
}

impl CoarseKernel for RsmiKernel {
    fn fine(&self) -> Lattice {
        self.conv.fine()
    }
    fn coarse(&self) -> Lattice {
        self.conv.coarse()
    }
    fn factor(&self) -> usize {
        self.conv.factor()
    }
    fn name(&self) -> String {
        format!("rsmi:{:.3}", self.strength())
    }
    fn resized(&self, fine: Lattice) -> Result<Self> {
        Ok(RsmiKernel { conv: self.conv.resized(fine)? })
    }
    fn sample_unchecked<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) {
        self.conv.sample_unchecked(v, h, rng)
    }
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64 {
        self.conv.log_prob_unchecked(v, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coarse::{BlockSpin, Majority};
    use crate::rsmi::filter_probabilities;
    use lattice_physics::rng::chain_rng;

    fn spins(n: usize, seed: u64) -> Vec<i8> {
        let mut rng = chain_rng(seed, 0);
        (0..n).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect()
    }

    #[test]
    fn each_block_follows_the_rsmi_filter_law() {
        // p(h | v) factorises over blocks, each factor σ(2 h λ·v_B) as RSMI defines it.
        let lat = Lattice::square(6).unwrap();
        let lambda = [0.9, -0.2, 0.4, 0.1, 0.3, 0.7, -0.5, 0.2, 0.6];
        let k = RsmiKernel::new(lat, &lambda).unwrap();
        assert_eq!(k.factor(), 3);
        let p_up = filter_probabilities(&lambda);
        for seed in 0..20 {
            let v = spins(36, seed);
            let h = spins(4, seed + 100);
            let mut expected = 0.0;
            for (j, &hj) in h.iter().enumerate() {
                let (xc, yc) = (j % 2, j / 2);
                let state: usize =
                    (0..9).map(|i| usize::from(v[(3 * yc + i / 3) * 6 + 3 * xc + i % 3] == 1) << i).sum();
                expected += if hj == 1 { p_up[state] } else { 1.0 - p_up[state] }.ln();
            }
            let got = k.log_prob(&v, &h).unwrap();
            assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
        }
    }

    #[test]
    fn uniform_filters_are_the_block_spin_and_strong_ones_majority_rule() {
        let lat = Lattice::square(4).unwrap();
        let weak = RsmiKernel::new(lat, &[0.7; 4]).unwrap();
        let bs = BlockSpin::new(lat, 2, 0.7).unwrap();
        let strong = weak.with_strength(60.0).unwrap();
        assert!((strong.strength() - 60.0).abs() < 1e-12 && strong.name() == "rsmi:60.000");
        let maj = Majority::new(lat, 2).unwrap();
        for seed in 0..50 {
            let v = spins(16, seed);
            let h = spins(4, seed + 1000);
            let (a, b) = (weak.log_prob(&v, &h).unwrap(), bs.log_prob(&v, &h).unwrap());
            assert!((a - b).abs() < 1e-12);
            // λ = 30 per spin: off ties the factors differ from 0 or 1 by e^{−120}.
            let (c, d) = (strong.log_prob(&v, &h).unwrap().exp(), maj.log_prob(&v, &h).unwrap().exp());
            assert!((c - d).abs() < 1e-40, "{c} vs {d}");
        }
        assert!(RsmiKernel::new(lat, &[1.0; 5]).is_err());
        assert!(RsmiKernel::new(lat, &[0.0; 4]).is_err());
        assert!(RsmiKernel::new(lat, &[f64::NAN; 4]).is_err());
        assert!(RsmiKernel::new(Lattice::square(5).unwrap(), &[1.0; 4]).is_err());
        assert!(weak.with_strength(0.0).is_err() && weak.with_strength(f64::INFINITY).is_err());
    }
}
