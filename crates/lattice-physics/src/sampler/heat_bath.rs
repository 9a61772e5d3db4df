//! Checkerboard heat bath with precomputed integer thresholds.
//!
//! Units and signs as in [`crate::model`] (`H = -K Σ s_i s_j - h Σ s_i`, `P ∝ e^{-H}`); the
//! algorithm, its sweep and its validity are documented on [`HeatBath`].

use rand::Rng;

use super::checkerboard::{self, LocalRule};
use super::multispin::MultiSpin;
use super::{check_lattice, threshold, threshold_probability, Kernel, Sampler};
use crate::error::Result;
use crate::model::{IsingModel, Spins};

/// Checkerboard heat-bath sampler. One [`Sampler::sweep`] resamples every site once.
///
/// A spin whose neighbours sum to `n` is set to `+1` with probability
/// `p₊(n) = e^{x} / (e^{x} + e^{-x}) = 1 / (1 + e^{-2x})`, `x = K n + h`, independently of its
/// old value. The five probabilities (`n ∈ {-4, -2, 0, 2, 4}`) become 32-bit thresholds at
/// construction. The smaller of `p₊`, `1 - p₊` is always the one computed, and the other is its
/// exact complement, so at `h = 0` the table satisfies `p₊(-n) = 1 - p₊(n)` exactly.
/// Valid for any sign of `K` and any field `h`, on even and odd sizes (see [`crate::sampler`]).
///
/// With the multi-spin kernel (large even lattices, see [`Kernel`]) resampling a spin `s` is the
/// same as flipping it with probability `1 - p₊(n)` if `s = +1` and `p₊(n)` if
/// `s = -1`, which become flip thresholds `2^32 - t₊(n)` and `t₊(n)` of the same integer table,
/// so both paths realise exactly the same transition probabilities.
#[derive(Debug, Clone)]
pub struct HeatBath {
    model: IsingModel,
    rule: HeatBathRule,
    /// Random numbers for one row of one colour, reused (scalar kernel).
    buf: Vec<u32>,
    /// The multi-spin kernel, if chosen (see [`Kernel`]).
    fast: Option<MultiSpin>,
}

/// Thresholds for `s = +1` indexed by `(n + 4) / 2`.
#[derive(Debug, Clone)]
struct HeatBathRule {
    up: [u64; 8],
}

#[inline(always)]
fn index(n: i8) -> usize {
    (((n + 4) as u8) >> 1) as usize & 7
}

impl LocalRule for HeatBathRule {
    #[inline(always)]
    fn update(&self, _s: i8, n: i8, r: u32) -> i8 {
        if u64::from(r) < self.up[index(n)] {
            1
        } else {
            -1
        }
    }
}

impl HeatBath {
    /// Build the sampler with [`Kernel::Auto`]: computes the thresholds for `model`'s `K` and
    /// `h`. Never fails for a valid model; the `Result` keeps every sampler constructor alike.
    pub fn new(model: IsingModel) -> Result<Self> {
        Self::with_kernel(model, Kernel::Auto)
    }

    /// Build the sampler with an explicit choice of sweep implementation (same chain either way,
    /// up to which random numbers are used for what).
    pub fn with_kernel(model: IsingModel, kernel: Kernel) -> Result<Self> {
        let (k, h) = (model.coupling(), model.field());
        let mut up = [0u64; 8];
        for n in (-4i8..=4).step_by(2) {
            let x = k * f64::from(n) + h;
            // 1 / (1 + e^{2|x|}) is the smaller of the two probabilities.
            let small = threshold(1.0 / (1.0 + (2.0 * x.abs()).exp()));
            up[index(n)] = if x <= 0.0 { small } else { (1u64 << 32) - small };
        }
        let half = model.lattice().linear_size().div_ceil(2);
        // Flip thresholds: a +1 spin flips when it would be resampled to -1, and vice versa.
        let flip = |s: i8, n: i8| if s > 0 { (1u64 << 32) - up[index(n)] } else { up[index(n)] };
        let fast =
            kernel.multispin(model.lattice(), 128).then(|| MultiSpin::new(model.lattice(), flip)).flatten();
        Ok(HeatBath { model, rule: HeatBathRule { up }, buf: vec![0; half], fast })
    }

    /// The probability with which this sampler sets a spin whose neighbours sum to
    /// `neighbour_sum` to `+1`, exactly as realised by its integer threshold (within `2^-33`
    /// of `1 / (1 + e^{-2(K n + h)})`). `None` unless `neighbour_sum` is even and in `[-4, 4]`.
    pub fn up_probability(&self, neighbour_sum: i32) -> Option<f64> {
        if neighbour_sum.abs() > 4 || neighbour_sum % 2 != 0 {
            return None;
        }
        Some(threshold_probability(self.rule.up[index(neighbour_sum as i8)]))
    }
}

impl Sampler for HeatBath {
    fn name(&self) -> &'static str {
        "heat-bath"
    }

    fn model(&self) -> &IsingModel {
        &self.model
    }

    fn sweep<R: Rng + ?Sized>(&mut self, spins: &mut Spins, rng: &mut R) {
        check_lattice(&self.model, spins);
        match &mut self.fast {
            Some(fast) => fast.sweep(spins.as_mut_slice(), rng),
            None => checkerboard::sweep(
                self.model.lattice(),
                spins.as_mut_slice(),
                &self.rule,
                &mut self.buf,
                rng,
            ),
        }
    }
}
