//! The stochastic block-spin kernel, an explicit variational-RG coupling operator.
//!
//! Conventions (docs/science.md §3): visible (fine) spins `v`, hidden (coarse) spins `h`, all `±1`.
//! A kernel `T(v, h)` defines the coarse Hamiltonian by `e^{-H^RG(h)} = Σ_v e^{T(v,h) - H(v)}`;
//! it is exact (ΔF = 0 for every `H`) when it obeys the trace condition `Σ_h e^{T(v,h)} = 1`.
//!
//! The stochastic block spin, with blocks as in [`crate::block`] (one coarse spin `h_B` per
//! block `B` of `b×b` sites, or `b` sites on a ring) and dimensionless strength `λ`:
//!
//! `T_λ(v, h) = Σ_B [ λ h_B s_B − ln 2cosh(λ s_B) ]`,  `s_B = Σ_{i∈B} v_i`.
//!
//! `e^{T}` factorises over blocks into `P(h_B | v) = e^{λ h_B s_B} / 2cosh(λ s_B)`, so the
//! trace condition holds for every `λ`; as `λ → ∞` the kernel becomes majority rule with
//! ties (`s_B = 0`) broken by a fair coin, and at `λ = 0` it is a fair coin per block.

use lattice_physics::Lattice;
use rand::Rng;

use crate::block::{coarse_lattice, for_each_block_sum};
use crate::error::{finite, Error, Result};

/// `ln(2 cosh x)`, accurate for every finite `x` (no overflow).
#[inline]
pub fn ln_2cosh(x: f64) -> f64 {
    let a = x.abs();
    a + (-2.0 * a).exp().ln_1p()
}

/// The stochastic block-spin kernel `T_λ` on a given fine lattice and block factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockSpinKernel {
    fine: Lattice,
    coarse: Lattice,
    factor: usize,
    lambda: f64,
}

impl BlockSpinKernel {
    /// Validate a kernel of strength `lambda` (finite) blocking `lattice` by `factor`.
    pub fn new(lattice: Lattice, factor: usize, lambda: f64) -> Result<Self> {
        let coarse = coarse_lattice(lattice, factor)?;
        finite("lambda", lambda)?;
        Ok(BlockSpinKernel { fine: lattice, coarse, factor, lambda })
    }

    /// The fine (visible) lattice.
    pub fn fine(&self) -> Lattice {
        self.fine
    }

    /// The coarse (hidden) lattice.
    pub fn coarse(&self) -> Lattice {
        self.coarse
    }

    /// The strength `λ`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The block factor `b`.
    pub fn factor(&self) -> usize {
        self.factor
    }

    fn check(&self, v: &[i8], h: Option<&[i8]>) -> Result<()> {
        if v.len() != self.fine.num_sites() {
            return Err(Error::SizeMismatch {
                what: "visible configuration",
                got: v.len(),
                expected: self.fine.num_sites(),
            });
        }
        if let Some(h) = h {
            if h.len() != self.coarse.num_sites() {
                return Err(Error::SizeMismatch {
                    what: "hidden configuration",
                    got: h.len(),
                    expected: self.coarse.num_sites(),
                });
            }
        }
        Ok(())
    }

    /// `T_λ(v, h)` (dimensionless). Spins are `±1`.
    pub fn log_weight(&self, v: &[i8], h: &[i8]) -> Result<f64> {
        self.check(v, Some(h))?;
        let mut t = 0.0;
        let lambda = self.lambda;
        for_each_block_sum(self.fine, self.factor, v, |j, s| {
            let x = lambda * s as f64;
            t += h[j] as f64 * x - ln_2cosh(x);
        });
        Ok(t)
    }

    /// `P(h_B = +1 | v) = e^{λ s_B} / 2cosh(λ s_B)` for every block, written into `out`
    /// (length = coarse sites). Does not allocate.
    pub fn probability_up(&self, v: &[i8], out: &mut [f64]) -> Result<()> {
        self.check(v, None)?;
        if out.len() != self.coarse.num_sites() {
            return Err(Error::SizeMismatch {
                what: "output buffer",
                got: out.len(),
                expected: self.coarse.num_sites(),
            });
        }
        let lambda = self.lambda;
        for_each_block_sum(self.fine, self.factor, v, |j, s| {
            out[j] = 1.0 / (1.0 + (-2.0 * lambda * s as f64).exp());
        });
        Ok(())
    }

    /// Draw `h ~ e^{T_λ(v, ·)}` (exactly normalised) into `h`. Does not allocate.
    pub fn sample_hidden<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) -> Result<()> {
        self.check(v, Some(h))?;
        let lambda = self.lambda;
        for_each_block_sum(self.fine, self.factor, v, |j, s| {
            let p = 1.0 / (1.0 + (-2.0 * lambda * s as f64).exp());
            h[j] = if rng.random::<f64>() < p { 1 } else { -1 };
        });
        Ok(())
    }
}

impl BlockSpinKernel {
    /// The coarse Hamiltonian `H^RG(h) = −ln Σ_v e^{T_λ(v,h) − H(v)}` of a small Hamiltonian on
    /// the kernel's fine lattice, by enumeration, for every coarse configuration (index bits:
    /// bit `B` set ↔ `h_B = +1`). Requires `N + M ≤` [`crate::mapping::MAX_JOINT`]. Because
    /// `T_λ` obeys the trace condition, `Σ_h e^{−H^RG(h)} = Z_H` (ΔF = 0).
    pub fn coarse_hamiltonian(&self, ham: &crate::mapping::SpinHamiltonian) -> Result<Vec<f64>> {
        use rayon::prelude::*;
        let (n, m) = (self.fine.num_sites(), self.coarse.num_sites());
        if ham.num_spins() != n {
            return Err(Error::SizeMismatch { what: "Hamiltonian spins", got: ham.num_spins(), expected: n });
        }
        if n + m > crate::mapping::MAX_JOINT {
            return Err(Error::TooManySpins {
                what: "visible + hidden",
                spins: n + m,
                max: crate::mapping::MAX_JOINT,
            });
        }
        // Per visible configuration: the block sums and c(v) = −H(v) − Σ_B ln 2cosh(λ s_B).
        let mut sums = vec![0i32; (1usize << n) * m];
        let mut c = vec![0.0; 1usize << n];
        let mut v = vec![0i8; n];
        for (index, (cv, sv)) in c.iter_mut().zip(sums.chunks_mut(m)).enumerate() {
            for (i, x) in v.iter_mut().enumerate() {
                *x = if index >> i & 1 == 1 { 1 } else { -1 };
            }
            let mut t = -ham.energy(&v)?;
            for_each_block_sum(self.fine, self.factor, &v, |j, s| {
                sv[j] = s;
                t -= ln_2cosh(self.lambda * s as f64);
            });
            *cv = t;
        }
        let lambda = self.lambda;
        Ok((0..1usize << m)
            .into_par_iter()
            .map(|h| {
                let terms = c.iter().zip(sums.chunks(m)).map(|(cv, sv)| {
                    cv + lambda
                        * sv.iter()
                            .enumerate()
                            .map(|(j, &s)| if h >> j & 1 == 1 { s as f64 } else { -(s as f64) })
                            .sum::<f64>()
                });
                let max = terms.clone().fold(f64::NEG_INFINITY, f64::max);
                -(max + terms.map(|x| (x - max).exp()).sum::<f64>().ln())
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockRule, Blocking};
    use lattice_physics::rng::chain_rng;
    use proptest::prelude::*;
    use rand::Rng;

    /// All `±1` configurations of `n` spins, as bit patterns (bit i set → +1).
    fn config(bits: u32, n: usize, out: &mut [i8]) {
        for (i, o) in out.iter_mut().enumerate().take(n) {
            *o = if bits >> i & 1 == 1 { 1 } else { -1 };
        }
    }

    fn lattices() -> impl Strategy<Value = (Lattice, usize)> {
        prop_oneof![
            (2usize..=4, 2usize..=4).prop_map(|(m, b)| (Lattice::ring(m * b).unwrap(), b)),
            Just((Lattice::square(4).unwrap(), 2)),
            Just((Lattice::square(6).unwrap(), 3)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Σ_h e^{T_λ(v,h)} = 1 for every v, by explicit enumeration of h.
        #[test]
        fn trace_condition_holds((lat, b) in lattices(), lambda in -6.0f64..6.0, seed in 0u64..1000) {
            let k = BlockSpinKernel::new(lat, b, lambda).unwrap();
            let m = k.coarse().num_sites();
            prop_assert!(m <= 16);
            let mut rng = chain_rng(seed, 0);
            let mut h = vec![0i8; m];
            for _ in 0..4 {
                let v: Vec<i8> = (0..lat.num_sites()).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
                let mut total = 0.0;
                for bits in 0..(1u32 << m) {
                    config(bits, m, &mut h);
                    total += k.log_weight(&v, &h).unwrap().exp();
                }
                prop_assert!((total - 1.0).abs() < 1e-12, "sum {}", total);
            }
        }
    }

    #[test]
    fn large_lambda_is_majority_rule() {
        let lat = Lattice::square(6).unwrap();
        let k = BlockSpinKernel::new(lat, 3, 40.0).unwrap();
        let maj = Blocking::new(lat, BlockRule::Majority, 3).unwrap();
        let mut rng = chain_rng(1, 0);
        let (mut h1, mut h2) = (vec![0i8; 4], vec![0i8; 4]);
        for _ in 0..200 {
            let v: Vec<i8> = (0..36).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
            k.sample_hidden(&v, &mut h1, &mut rng).unwrap();
            maj.apply(&v, &mut h2, &mut rng).unwrap();
            assert_eq!(h1, h2);
            // ln P(majority | v) → 0 as λ → ∞ (odd blocks: |s_B| ≥ 1, so error ≤ 4 e^{-80}).
            assert!(k.log_weight(&v, &h2).unwrap().abs() < 1e-30);
        }
    }

    #[test]
    fn sampling_frequency_matches_the_kernel() {
        // One block of a ring of 6 with b = 3 has s = +1: P(+1) = e^λ / 2cosh λ.
        let lat = Lattice::ring(6).unwrap();
        let lambda = 0.7;
        let k = BlockSpinKernel::new(lat, 3, lambda).unwrap();
        let v = [1i8, 1, -1, -1, -1, -1]; // s = +1 and s = -3
        let mut rng = chain_rng(2, 0);
        let mut h = [0i8; 2];
        let n = 40_000;
        let (mut up0, mut up1) = (0usize, 0usize);
        for _ in 0..n {
            k.sample_hidden(&v, &mut h, &mut rng).unwrap();
            up0 += (h[0] == 1) as usize;
            up1 += (h[1] == 1) as usize;
        }
        for (count, s) in [(up0, 1.0f64), (up1, -3.0)] {
            let p = (lambda * s).exp() / (2.0 * (lambda * s).cosh());
            let sigma = (p * (1.0 - p) / n as f64).sqrt();
            let f = count as f64 / n as f64;
            assert!((f - p).abs() < 4.0 * sigma, "s = {s}: {f} vs {p}");
        }
        let mut p = [0.0; 2];
        k.probability_up(&v, &mut p).unwrap();
        assert!((p[0] - 0.7f64.exp() / (2.0 * 0.7f64.cosh())).abs() < 1e-15);
        assert!((k.log_weight(&v, &[1, -1]).unwrap() - (p[0] * (1.0 - p[1])).ln()).abs() < 1e-13);
    }

    #[test]
    fn coarse_hamiltonian_preserves_the_free_energy() {
        use crate::mapping::{project, OperatorBasis, SpinHamiltonian};
        for (lat, b, k, h, lambda) in [
            (Lattice::ring(8).unwrap(), 2, 0.7, 0.2, 1.3),
            (Lattice::ring(12).unwrap(), 3, -0.4, 0.0, 0.5),
            (Lattice::square(4).unwrap(), 2, 0.44, 0.1, 2.0),
        ] {
            let model = lattice_physics::IsingModel::new(lat, k, h).unwrap();
            let ham = SpinHamiltonian::ising(&model).unwrap();
            let kernel = BlockSpinKernel::new(lat, b, lambda).unwrap();
            let coarse = kernel.coarse_hamiltonian(&ham).unwrap();
            let ln_z = |xs: &mut dyn Iterator<Item = f64>| {
                let v: Vec<f64> = xs.collect();
                let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
            };
            let n = lat.num_sites();
            let mut spins = vec![0i8; n];
            let ln_z_h = ln_z(&mut (0..1u32 << n).map(|bits| {
                config(bits, n, &mut spins);
                -ham.energy(&spins).unwrap()
            }));
            let ln_z_rg = ln_z(&mut coarse.iter().map(|&x| -x));
            assert!((ln_z_h - ln_z_rg).abs() < 1e-12 * ln_z_h.abs(), "{lat:?}: ΔF = {}", ln_z_h - ln_z_rg);
            // A zero field stays zero (global spin-flip symmetry of T_λ and H).
            let p = project(&coarse, &OperatorBasis::standard(kernel.coarse()).unwrap()).unwrap();
            let field = p.get("field").unwrap();
            if h == 0.0 {
                assert!(field.abs() < 1e-12);
            } else {
                assert!(field * h > 0.0);
            }
        }
        let big = BlockSpinKernel::new(Lattice::square(6).unwrap(), 2, 1.0).unwrap();
        let ham = SpinHamiltonian::ising(
            &lattice_physics::IsingModel::new(Lattice::square(4).unwrap(), 0.4, 0.0).unwrap(),
        )
        .unwrap();
        assert!(big.coarse_hamiltonian(&ham).is_err());
    }

    #[test]
    fn inputs_are_validated() {
        let lat = Lattice::ring(6).unwrap();
        assert!(BlockSpinKernel::new(lat, 4, 1.0).is_err());
        assert!(BlockSpinKernel::new(lat, 3, f64::NAN).is_err());
        let k = BlockSpinKernel::new(lat, 3, 1.0).unwrap();
        assert!(k.log_weight(&[1; 5], &[1; 2]).is_err());
        assert!(k.log_weight(&[1; 6], &[1; 3]).is_err());
        assert!((ln_2cosh(800.0) - 800.0).abs() < 1e-12);
        assert!((ln_2cosh(0.0) - 2f64.ln()).abs() < 1e-15);
    }
}
