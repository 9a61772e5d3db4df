//! Coarse-graining kernels as first-class objects: one interface, [`CoarseKernel`], for every
//! conditional distribution `p(h | v)` that turns a fine configuration `v` into a coarse one `h`.
//!
//! Conventions (docs/science.md §2–§3): spins are `±1` (`i8`), stored row-major as in
//! [`lattice_physics::Lattice`]. A kernel with block factor `b` maps an `L×L` torus (or an
//! `N`-site ring) to an `(L/b)×(L/b)` torus (or an `N/b` ring); coarse spin `(X, Y)` sits on the
//! block of fine sites `(bX + dx, bY + dy)`, `0 ≤ dx, dy < b`, as in [`crate::block`]. In the
//! variational-RG language the kernel is `T(v, h) = ln p(h | v)`, which obeys the trace
//! condition `Σ_h e^{T(v,h)} = 1` by construction, so `ΔF = 0` for every fine Hamiltonian.
//!
//! Every kernel here is translation-invariant by a multiple of `b` (the same rule for every
//! block) and, except the dense RBM layer [`dense::DenseKernel`] with nonzero biases, symmetric
//! under a global spin flip: `p(−h | −v) = p(h | v)`.
//!
//! Implementations:
//! - [`Majority`]: sign of the block sum, ties broken by a fair coin (reuses [`crate::block`]);
//! - [`Decimation`]: copy of the block's top-left spin;
//! - [`BlockSpin`]: the stochastic block spin of strength `λ` (reuses [`crate::kernel`]), which
//!   becomes majority rule as `λ → ∞`;
//! - [`learned::ConvKernel`]: a convolutional RBM with stride `b` (hidden units on the coarse
//!   lattice, one shared `w×w` filter), trained by contrastive divergence;
//! - [`dense::DenseKernel`]: a trained dense RBM layer (the paper's network) read as a kernel
//!   after placing its hidden units on the coarse lattice;
//! - [`rsmi::RsmiKernel`]: a learned RSMI filter (`crate::rsmi`), the convolutional kernel with
//!   window `w = b`;
//! - [`AnyKernel`]: one of the above chosen at run time (for the command line).

pub mod dense;
pub mod learned;
pub mod rsmi;

use lattice_physics::{Configurations, Lattice};
use rand::Rng;
use rayon::prelude::*;

use crate::block::{block_rng, check_lattice, BlockRule, Blocking};
use crate::error::{Error, Result};
use crate::kernel::BlockSpinKernel;

/// A coarse-graining kernel `p(h | v)` from a fine lattice to a coarse one.
///
/// Implementors provide the unchecked primitives; the provided methods validate lengths and
/// apply the kernel to whole data sets. `resized` returns the same rule on another fine lattice
/// (MCRG iterates a kernel over levels of decreasing size); kernels that only exist for one
/// size return an error for any other.
pub trait CoarseKernel: Sync + Sized {
    /// The fine (visible) lattice.
    fn fine(&self) -> Lattice;
    /// The coarse (hidden) lattice.
    fn coarse(&self) -> Lattice;
    /// The block factor `b`.
    fn factor(&self) -> usize;
    /// A short stable description (`"majority"`, `"block_spin:4"`, …).
    fn name(&self) -> String;
    /// The same rule on fine lattice `fine`.
    fn resized(&self, fine: Lattice) -> Result<Self>;
    /// Draw `h ~ p(· | v)`. Callers guarantee the lengths. Does not allocate.
    fn sample_unchecked<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R);
    /// `ln p(h | v)` (`−∞` for an impossible `h`). Callers guarantee the lengths.
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64;

    /// Draw `h ~ p(· | v)` after checking the lengths.
    fn sample<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) -> Result<()> {
        check_lengths(self, v, h.len())?;
        self.sample_unchecked(v, h, rng);
        Ok(())
    }

    /// `ln p(h | v)` after checking the lengths.
    fn log_prob(&self, v: &[i8], h: &[i8]) -> Result<f64> {
        check_lengths(self, v, h.len())?;
        Ok(self.log_prob_unchecked(v, h))
    }

    /// Apply the kernel to every configuration of a data set on the fine lattice in parallel;
    /// sample `i` draws from [`block_rng`]`(seed, level, i)`, so the output does not depend on
    /// the number of threads. Returns the coarse data set, on the coarse lattice.
    fn apply_dataset(&self, data: &Configurations, seed: u64, level: u64) -> Result<Configurations> {
        check_lattice(data, self.fine())?;
        let (nf, nc) = (self.fine().num_sites(), self.coarse().num_sites());
        let mut out = vec![0i8; data.samples() * nc];
        out.par_chunks_mut(nc).zip(data.as_slice().par_chunks(nf)).enumerate().for_each(|(i, (h, v))| {
            let mut rng = block_rng(seed, level, i as u64);
            self.sample_unchecked(v, h, &mut rng);
        });
        Ok(Configurations::new(self.coarse(), out)?)
    }
}

fn check_lengths<K: CoarseKernel>(k: &K, v: &[i8], h: usize) -> Result<()> {
    let (nf, nc) = (k.fine().num_sites(), k.coarse().num_sites());
    if v.len() != nf {
        return Err(Error::SizeMismatch { what: "fine configuration", got: v.len(), expected: nf });
    }
    if h != nc {
        return Err(Error::SizeMismatch { what: "coarse configuration", got: h, expected: nc });
    }
    Ok(())
}

/// Apply `kernel` `levels` times (resizing it at each level); level `ℓ` draws sample `i` from
/// [`block_rng`]`(seed, ℓ, i)`. Returns every level `0..=levels`, each on its own lattice
/// (level 0 is the input). All sizes are validated before any work is done.
pub fn coarse_grain_levels<K: CoarseKernel>(
    data: &Configurations,
    kernel: &K,
    levels: usize,
    seed: u64,
) -> Result<Vec<Configurations>> {
    let kernels = kernel_levels(kernel, levels)?;
    check_lattice(data, kernel.fine())?;
    let mut out = vec![data.clone()];
    for (level, k) in kernels.iter().enumerate() {
        let next = k.apply_dataset(&out[level], seed, level as u64)?;
        out.push(next);
    }
    Ok(out)
}

/// The kernel for each of `levels` successive blockings starting from `kernel`'s fine lattice.
pub fn kernel_levels<K: CoarseKernel>(kernel: &K, levels: usize) -> Result<Vec<K>> {
    // No capacity sized by `levels`: a request for more levels than the lattice allows fails at
    // the first level that cannot be resized, after at most log₂ L iterations.
    let mut out = Vec::new();
    let mut lat = kernel.fine();
    for _ in 0..levels {
        let k = kernel.resized(lat)?;
        lat = k.coarse();
        out.push(k);
    }
    Ok(out)
}

/// `ln ½` per tied block.
const LN_HALF: f64 = -std::f64::consts::LN_2;

/// Majority rule: `h_B = sign(Σ_{i∈B} v_i)`, ties broken by a fair coin. Sampling draws exactly
/// the coins [`Blocking::apply`] draws, so results through this kernel equal those of
/// [`crate::block`] for the same generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Majority(Blocking);

impl Majority {
    /// Majority rule on `fine` with factor `factor`.
    pub fn new(fine: Lattice, factor: usize) -> Result<Self> {
        Ok(Majority(Blocking::new(fine, BlockRule::Majority, factor)?))
    }
}

/// The geometry methods of [`CoarseKernel`] (lattices and factor), delegated to the wrapped
/// `self.0` by [`Majority`], [`Decimation`] and [`BlockSpin`].
macro_rules! delegated_geometry {
    () => {
        fn fine(&self) -> Lattice {
            self.0.fine()
        }
        fn coarse(&self) -> Lattice {
            self.0.coarse()
        }
        fn factor(&self) -> usize {
            self.0.factor()
        }
    };
}

/// The methods of [`CoarseKernel`] that [`Majority`] and [`Decimation`] both delegate to their
/// [`Blocking`]: lattices, factor, a stable name, resizing through `new`, and sampling, which
/// draws exactly the coins [`Blocking::apply`] draws.
macro_rules! blocking_kernel_methods {
    ($name:literal) => {
        delegated_geometry!();
        fn name(&self) -> String {
            $name.into()
        }
        fn resized(&self, fine: Lattice) -> Result<Self> {
            Self::new(fine, self.factor())
        }
        fn sample_unchecked<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) {
            self.0.apply(v, h, rng).expect("lengths checked by the caller");
        }
    };
}

impl CoarseKernel for Majority {
    blocking_kernel_methods!("majority");
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64 {
        let mut lp = 0.0;
        crate::block::for_each_block_sum(self.fine(), self.factor(), v, |j, s| {
            lp += match s.signum() {
                0 => LN_HALF,
                x if x == h[j] as i32 => 0.0,
                _ => f64::NEG_INFINITY,
            };
        });
        lp
    }
}

/// Decimation: `h_B` is a copy of the block's top-left (first) spin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimation(Blocking);

impl Decimation {
    /// Decimation on `fine` with factor `factor`.
    pub fn new(fine: Lattice, factor: usize) -> Result<Self> {
        Ok(Decimation(Blocking::new(fine, BlockRule::Decimation, factor)?))
    }
}

impl CoarseKernel for Decimation {
    blocking_kernel_methods!("decimation");
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64 {
        let mut kept = vec![0i8; h.len()];
        let mut rng = block_rng(0, 0, 0); // decimation draws nothing
        self.0.apply(v, &mut kept, &mut rng).expect("lengths checked by the caller");
        if kept == h {
            0.0
        } else {
            f64::NEG_INFINITY
        }
    }
}

/// The stochastic block spin `p(h_B | v) = e^{λ h_B s_B} / 2cosh(λ s_B)`, `s_B = Σ_{i∈B} v_i`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockSpin(BlockSpinKernel);

impl BlockSpin {
    /// The block spin of strength `lambda` (finite) on `fine` with factor `factor`.
    pub fn new(fine: Lattice, factor: usize, lambda: f64) -> Result<Self> {
        Ok(BlockSpin(BlockSpinKernel::new(fine, factor, lambda)?))
    }

    /// The strength `λ`.
    pub fn lambda(&self) -> f64 {
        self.0.lambda()
    }
}

impl CoarseKernel for BlockSpin {
    delegated_geometry!();
    fn name(&self) -> String {
        format!("block_spin:{}", self.lambda())
    }
    fn resized(&self, fine: Lattice) -> Result<Self> {
        BlockSpin::new(fine, self.factor(), self.lambda())
    }
    fn sample_unchecked<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) {
        self.0.sample_hidden(v, h, rng).expect("lengths checked by the caller");
    }
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64 {
        self.0.log_weight(v, h).expect("lengths checked by the caller")
    }
}

/// One of the kernels of this module, chosen at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyKernel {
    /// Majority rule.
    Majority(Majority),
    /// Decimation.
    Decimation(Decimation),
    /// Stochastic block spin.
    BlockSpin(BlockSpin),
    /// A learned convolutional kernel.
    Conv(learned::ConvKernel),
    /// A dense RBM layer placed on the coarse lattice.
    Dense(dense::DenseKernel),
    /// A learned RSMI filter.
    Rsmi(rsmi::RsmiKernel),
}

macro_rules! dispatch {
    ($self:expr, $k:ident => $e:expr) => {
        match $self {
            AnyKernel::Majority($k) => $e,
            AnyKernel::Decimation($k) => $e,
            AnyKernel::BlockSpin($k) => $e,
            AnyKernel::Conv($k) => $e,
            AnyKernel::Dense($k) => $e,
            AnyKernel::Rsmi($k) => $e,
        }
    };
}

impl CoarseKernel for AnyKernel {
    fn fine(&self) -> Lattice {
        dispatch!(self, k => k.fine())
    }
    fn coarse(&self) -> Lattice {
        dispatch!(self, k => k.coarse())
    }
    fn factor(&self) -> usize {
        dispatch!(self, k => k.factor())
    }
    fn name(&self) -> String {
        dispatch!(self, k => k.name())
    }
    fn resized(&self, fine: Lattice) -> Result<Self> {
        Ok(match self {
            AnyKernel::Majority(k) => AnyKernel::Majority(k.resized(fine)?),
            AnyKernel::Decimation(k) => AnyKernel::Decimation(k.resized(fine)?),
            AnyKernel::BlockSpin(k) => AnyKernel::BlockSpin(k.resized(fine)?),
            AnyKernel::Conv(k) => AnyKernel::Conv(k.resized(fine)?),
            AnyKernel::Dense(k) => AnyKernel::Dense(k.resized(fine)?),
            AnyKernel::Rsmi(k) => AnyKernel::Rsmi(k.resized(fine)?),
        })
    }
    fn sample_unchecked<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) {
        dispatch!(self, k => k.sample_unchecked(v, h, rng))
    }
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64 {
        dispatch!(self, k => k.log_prob_unchecked(v, h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_physics::rng::chain_rng;
    use proptest::prelude::*;
    use rand::Rng;

    fn random_spins<R: Rng>(n: usize, rng: &mut R) -> Vec<i8> {
        (0..n).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect()
    }

    fn all_configs(n: usize) -> impl Iterator<Item = Vec<i8>> {
        (0..1u32 << n).map(move |bits| (0..n).map(|i| if bits >> i & 1 == 1 { 1 } else { -1 }).collect())
    }

    /// Every kernel of the module on a small lattice (the learned kernel with a random filter).
    fn kernels(lat: Lattice, b: usize, seed: u64) -> Vec<AnyKernel> {
        let mut rng = chain_rng(seed, 7);
        let mut v = vec![
            AnyKernel::Majority(Majority::new(lat, b).unwrap()),
            AnyKernel::Decimation(Decimation::new(lat, b).unwrap()),
            AnyKernel::BlockSpin(BlockSpin::new(lat, b, 0.8).unwrap()),
        ];
        if lat.dimension() == 2 {
            for w in [b, b + 2] {
                if w <= lat.linear_size() {
                    let filter: Vec<f64> = (0..w * w).map(|_| rng.random::<f64>() - 0.3).collect();
                    v.push(AnyKernel::Conv(learned::ConvKernel::new(lat, b, w, filter).unwrap()));
                }
            }
            let lambda: Vec<f64> = (0..b * b).map(|_| rng.random::<f64>() - 0.3).collect();
            v.push(AnyKernel::Rsmi(rsmi::RsmiKernel::new(lat, &lambda).unwrap()));
        }
        v
    }

    fn lattices() -> impl Strategy<Value = (Lattice, usize)> {
        prop_oneof![
            (2usize..=4, 2usize..=3).prop_map(|(m, b)| (Lattice::ring(m * b).unwrap(), b)),
            Just((Lattice::square(4).unwrap(), 2)),
            Just((Lattice::square(6).unwrap(), 3)),
            Just((Lattice::square(6).unwrap(), 2)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// p(−h | −v) = p(h | v) for every kernel, and p(· | v) sums to one (trace condition).
        #[test]
        fn up_down_symmetry_and_normalisation((lat, b) in lattices(), seed in 0u64..1000) {
            let mut rng = chain_rng(seed, 0);
            for k in kernels(lat, b, seed) {
                let m = k.coarse().num_sites();
                let v = random_spins(lat.num_sites(), &mut rng);
                let flipped: Vec<i8> = v.iter().map(|&x| -x).collect();
                let mut total = 0.0;
                for h in all_configs(m) {
                    let lp = k.log_prob(&v, &h).unwrap();
                    let minus: Vec<i8> = h.iter().map(|&x| -x).collect();
                    let lq = k.log_prob(&flipped, &minus).unwrap();
                    prop_assert!(lp == lq || (lp - lq).abs() < 1e-12, "{}: {} vs {}", k.name(), lp, lq);
                    total += lp.exp();
                }
                prop_assert!((total - 1.0).abs() < 1e-12, "{}: Σ_h p = {}", k.name(), total);
                // A sample is always a possible configuration.
                let mut h = vec![0i8; m];
                k.sample(&v, &mut h, &mut rng).unwrap();
                prop_assert!(k.log_prob(&v, &h).unwrap() > f64::NEG_INFINITY);
            }
        }
    }

    #[test]
    fn sampling_frequencies_match_log_prob() {
        // 4×4 → 2×2: estimate p(h | v) for one v with ties by counting, for every kernel.
        let lat = Lattice::square(4).unwrap();
        let v: Vec<i8> = vec![1, -1, 1, 1, 1, -1, -1, 1, 1, 1, -1, -1, -1, 1, 1, -1];
        let n = 20_000;
        for k in kernels(lat, 2, 3) {
            let mut rng = chain_rng(11, 0);
            let mut counts = [0usize; 16];
            let mut h = vec![0i8; 4];
            for _ in 0..n {
                k.sample(&v, &mut h, &mut rng).unwrap();
                let idx: usize = h.iter().enumerate().map(|(i, &x)| ((x == 1) as usize) << i).sum();
                counts[idx] += 1;
            }
            for (idx, h) in all_configs(4).enumerate() {
                let p = k.log_prob(&v, &h).unwrap().exp();
                let f = counts[idx] as f64 / n as f64;
                let sigma = (p * (1.0 - p) / n as f64).sqrt();
                assert!((f - p).abs() <= 4.0 * sigma + 1e-12, "{} h = {h:?}: {f} vs {p}", k.name());
            }
        }
    }

    #[test]
    fn large_lambda_block_spin_is_majority_rule_ties_included() {
        // Same distribution p(h | v) for every (v, h): ties give ½ per tied block in both.
        let lat = Lattice::square(4).unwrap();
        let maj = Majority::new(lat, 2).unwrap();
        let bs = BlockSpin::new(lat, 2, 30.0).unwrap();
        let mut rng = chain_rng(5, 0);
        let mut ties_seen = 0;
        for _ in 0..300 {
            let v = random_spins(16, &mut rng);
            for h in all_configs(4) {
                let (a, b) = (maj.log_prob(&v, &h).unwrap().exp(), bs.log_prob(&v, &h).unwrap().exp());
                // |s_B| ≥ 2 off ties: the difference is at most 4 e^{-120}.
                assert!((a - b).abs() < 1e-40, "v = {v:?}, h = {h:?}: {a} vs {b}");
                ties_seen += (a == 0.25 || a == 0.5 || a == 0.125 || a == 0.0625) as usize;
            }
        }
        assert!(ties_seen > 100, "the test must exercise ties");
    }

    #[test]
    fn majority_through_the_trait_reproduces_block() {
        let lat = Lattice::square(8).unwrap();
        let mut rng = chain_rng(2, 0);
        let data = Configurations::new(lat, random_spins(64 * 30, &mut rng)).unwrap();
        let maj = Majority::new(lat, 2).unwrap();
        let a = coarse_grain_levels(&data, &maj, 2, 9).unwrap();
        let b = crate::block::coarse_grain_all(&data, BlockRule::Majority, 2, 2, 9).unwrap();
        assert_eq!(a, b);
        assert!(coarse_grain_levels(&data, &maj, 3, 9).is_err());
    }

    #[test]
    fn decimation_keeps_the_top_left_spin() {
        let lat = Lattice::square(4).unwrap();
        let k = Decimation::new(lat, 2).unwrap();
        let v: Vec<i8> = (0..16).map(|i| if i % 3 == 0 { 1 } else { -1 }).collect();
        let mut h = vec![0; 4];
        k.sample(&v, &mut h, &mut chain_rng(0, 0)).unwrap();
        assert_eq!(h, vec![v[0], v[2], v[8], v[10]]);
        assert!(k.sample(&v[..15], &mut h, &mut chain_rng(0, 0)).is_err());
        assert!(k.log_prob(&v, &h[..3]).is_err());
    }
}
