//! The exact renormalization group of the periodic Ising chain by decimation (docs/science.md §5).
//!
//! Units and signs: dimensionless coupling `K` and field `h`,
//! `H(s) = -K Σ_i s_i s_{i+1} - h Σ_i s_i` on a ring of `N` sites (`N` even for a step),
//! `Z_N = Σ_s e^{-H(s)}`.
//!
//! One step sums out every other spin (the odd sites; the even ones are kept and renumbered
//! `0, 1, …, N/2 − 1`). Summing out `σ` between kept spins `s₁, s₂` gives
//! `2cosh(K(s₁+s₂) + h) = exp(g + K' s₁ s₂ + δh (s₁+s₂)/2)`, so with `c± = ln cosh(2K ± h)` and
//! `c₀ = ln cosh h`:
//!
//! - `K' = (c₊ + c₋ − 2c₀)/4`,
//! - `h' = h + δh`, `δh = (c₊ − c₋)/2` (each kept spin has two removed neighbours),
//! - `g = ln 2 + (c₊ + c₋ + 2c₀)/4` per removed spin,
//!
//! and `ln Z_N(K, h) = (N/2) g + ln Z_{N/2}(K', h')` exactly. At `h = 0`: `K' = ½ ln cosh 2K`,
//! i.e. `tanh K' = tanh² K`, and `g = ln(2√cosh 2K)`.
//!
//! Along a flow, [`FlowState::ln_z_offset_per_site`] accumulates the constants per *original*
//! site: after `n` steps `ln Z_N(K₀, h₀) = N f_n + ln Z_{N/2^n}(K_n, h_n)`.
//!
//! The correlation length (in units of the current lattice spacing) is `ξ = 1/ln(λ₊/|λ₋|)` with
//! `λ±` the transfer-matrix eigenvalues, `ξ = −1/ln tanh K` at `h = 0`; it halves at each step.
//! Fixed points at `h = 0`: `K* = 0` (stable, `dK'/dK = tanh 2K = 0` there) and `K* = ∞`
//! (unstable: in the variable `t = tanh K`, `t' = t²` and `dt'/dt = 2 > 1` at `t = 1`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernel::ln_2cosh;

/// Largest accepted `|K|` and `|h|` (as in `lattice_physics::model::MAX_ABS_PARAMETER`).
pub const MAX_ABS_PARAMETER: f64 = 50.0;

/// `ln cosh x`, accurate for every finite `x`.
#[inline]
pub fn ln_cosh(x: f64) -> f64 {
    ln_2cosh(x) - std::f64::consts::LN_2
}

/// Validated couplings of the periodic chain: `H = -K Σ s_i s_{i+1} - h Σ s_i`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChainCouplings {
    /// Nearest-neighbour coupling `K` (dimensionless).
    pub coupling: f64,
    /// Field `h` (dimensionless).
    pub field: f64,
}

impl ChainCouplings {
    /// Validate: both finite with magnitude at most [`MAX_ABS_PARAMETER`].
    pub fn new(coupling: f64, field: f64) -> Result<Self> {
        for (name, value) in [("coupling", coupling), ("field", field)] {
            if !value.is_finite() {
                return Err(Error::NonFinite { name, value });
            }
            if value.abs() > MAX_ABS_PARAMETER {
                return Err(Error::OutOfRange { name, value, reason: "magnitude must be at most 50" });
            }
        }
        Ok(ChainCouplings { coupling, field })
    }

    /// The transfer-matrix eigenvalues `(λ₊, λ₋)` of `T = [[e^{K+h}, e^{−K}], [e^{−K}, e^{K−h}]]`:
    /// `λ₊ = e^K cosh h + √(e^{2K} sinh² h + e^{−2K})`, `λ₋ = 2 sinh 2K / λ₊` (no cancellation).
    pub fn transfer_eigenvalues(&self) -> (f64, f64) {
        let (k, h) = (self.coupling, self.field);
        let plus = k.exp() * h.cosh() + ((2.0 * k).exp() * h.sinh().powi(2) + (-2.0 * k).exp()).sqrt();
        (plus, 2.0 * (2.0 * k).sinh() / plus)
    }

    /// Correlation length `ξ = 1/ln(λ₊/|λ₋|)` in lattice spacings (`−1/ln tanh K` at `h = 0`;
    /// `0` at `K = 0`, `∞` when `λ₋ = λ₊`).
    pub fn correlation_length(&self) -> f64 {
        let k = self.coupling;
        if k == 0.0 {
            return 0.0;
        }
        let ln_ratio = if self.field == 0.0 {
            // −ln|tanh K| = ln(1 + e^{−2|K|}) − ln(1 − e^{−2|K|})
            let e = (-2.0 * k.abs()).exp();
            e.ln_1p() - (-e).ln_1p()
        } else {
            let (plus, minus) = self.transfer_eigenvalues();
            plus.ln() - minus.abs().ln()
        };
        1.0 / ln_ratio
    }

    /// `ln Z_n` of a periodic ring of `n ≥ 1` sites, `ln Z_n = n ln λ₊ + ln(1 + (λ₋/λ₊)^n)`
    /// (for `n = 1` this is `ln Tr T`, the single spin bonded to itself).
    pub fn ln_z_ring(&self, n: usize) -> Result<f64> {
        if n == 0 {
            return Err(Error::InvalidParameter { name: "ring size", reason: "must be at least 1" });
        }
        let (plus, minus) = self.transfer_eigenvalues();
        let r = minus / plus;
        let rn =
            if r == 0.0 { 0.0 } else { r.signum().powi((n % 2) as i32) * (n as f64 * r.abs().ln()).exp() };
        Ok(n as f64 * plus.ln() + rn.ln_1p())
    }
}

/// The result of one decimation step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecimationStep {
    /// The renormalised couplings `K'`, `h'`.
    pub couplings: ChainCouplings,
    /// The constant `g` per removed spin: `ln Z_N = (N/2) g + ln Z_{N/2}(K', h')`.
    pub constant: f64,
}

/// One exact decimation step (see the module documentation for the formulas).
pub fn decimate(c: ChainCouplings) -> DecimationStep {
    let (k, h) = (c.coupling, c.field);
    let cp = ln_cosh(2.0 * k + h);
    let cm = ln_cosh(2.0 * k - h);
    let c0 = ln_cosh(h);
    DecimationStep {
        couplings: ChainCouplings { coupling: 0.25 * (cp + cm - 2.0 * c0), field: h + 0.5 * (cp - cm) },
        constant: std::f64::consts::LN_2 + 0.25 * (cp + cm + 2.0 * c0),
    }
}

/// `dK'/dK = tanh 2K` at `h = 0`: the linearised flow near a coupling.
pub fn flow_derivative(coupling: f64) -> f64 {
    (2.0 * coupling).tanh()
}

/// One point of an RG flow.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// `K_n`.
    pub coupling: f64,
    /// `h_n`.
    pub field: f64,
    /// The constant `g` per removed spin produced by the step into this state (0 for the input).
    pub step_constant: f64,
    /// `f_n` with `ln Z_N(K₀, h₀) = N f_n + ln Z_{N/2^n}(K_n, h_n)` (0 for the input).
    pub ln_z_offset_per_site: f64,
    /// Correlation length in units of the lattice spacing at this level.
    pub correlation_length: f64,
}

/// A flow: `states[0]` is the input, `states[n]` the couplings after `n` decimation steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The states along the flow, index 0 = input.
    pub states: Vec<FlowState>,
}

impl Flow {
    /// The couplings `K_n`.
    pub fn couplings(&self) -> Vec<f64> {
        self.states.iter().map(|s| s.coupling).collect()
    }
    /// The fields `h_n`.
    pub fn fields(&self) -> Vec<f64> {
        self.states.iter().map(|s| s.field).collect()
    }
    /// The constants per removed spin (index 0 = 0).
    pub fn constants(&self) -> Vec<f64> {
        self.states.iter().map(|s| s.step_constant).collect()
    }
    /// The correlation lengths in current lattice spacings.
    pub fn correlation_lengths(&self) -> Vec<f64> {
        self.states.iter().map(|s| s.correlation_length).collect()
    }
}

/// One flow state from couplings and offsets.
fn state(c: ChainCouplings, step_constant: f64, offset: f64) -> FlowState {
    FlowState {
        coupling: c.coupling,
        field: c.field,
        step_constant,
        ln_z_offset_per_site: offset,
        correlation_length: c.correlation_length(),
    }
}

/// Iterate [`decimate`] `steps` times from `start` (at most 64 steps: beyond that the chain
/// would need more than 2^64 sites).
pub fn flow(start: ChainCouplings, steps: usize) -> Result<Flow> {
    if steps > 64 {
        return Err(Error::OutOfRange {
            name: "steps",
            value: steps as f64,
            reason: "at most 64 decimation steps",
        });
    }
    let mut states = Vec::with_capacity(steps + 1);
    states.push(state(start, 0.0, 0.0));
    let mut c = start;
    let mut offset = 0.0;
    let mut weight = 0.5; // removed spins per original site at this step
    for _ in 0..steps {
        let step = decimate(c);
        offset += weight * step.constant;
        weight *= 0.5;
        c = step.couplings;
        states.push(state(c, step.constant, offset));
    }
    Ok(Flow { states })
}

/// A fixed point of the zero-field flow `K' = ½ ln cosh 2K`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FixedPoint {
    /// `K*` (`f64::INFINITY` for the zero-temperature fixed point).
    pub coupling: f64,
    /// Whether nearby couplings flow into it.
    pub stable: bool,
}

/// The two fixed points of the zero-field chain: `K* = 0` (stable, infinite temperature) and
/// `K* = ∞` (unstable, zero temperature).
pub fn fixed_points() -> [FixedPoint; 2] {
    [FixedPoint { coupling: 0.0, stable: true }, FixedPoint { coupling: f64::INFINITY, stable: false }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `ln Z` of the ring by brute-force enumeration (independent of the transfer matrix).
    fn ln_z_enumerate(n: usize, k: f64, h: f64) -> f64 {
        let mut z = 0.0;
        for bits in 0u32..(1 << n) {
            let s = |i: usize| if bits >> (i % n) & 1 == 1 { 1.0 } else { -1.0 };
            let mut e = 0.0;
            for i in 0..n {
                e += k * s(i) * s(i + 1) + h * s(i);
            }
            z += f64::exp(e);
        }
        z.ln()
    }

    #[test]
    fn flow_from_one_matches_science_md() {
        let f = flow(ChainCouplings::new(1.0, 0.0).unwrap(), 5).unwrap();
        let expect = [1.0, 0.6625013737, 0.3500611389, 0.1136720675, 0.0128115420, 0.0001641177];
        for (s, e) in f.states.iter().zip(expect) {
            assert!((s.coupling - e).abs() < 1e-10, "{} vs {e}", s.coupling);
            assert_eq!(s.field, 0.0);
        }
        // tanh K' = tanh² K, and ξ halves at every step.
        for w in f.states.windows(2) {
            assert!((w[1].coupling.tanh() - w[0].coupling.tanh().powi(2)).abs() < 1e-15);
            assert!(
                (w[1].correlation_length - 0.5 * w[0].correlation_length).abs()
                    < 1e-12 * w[0].correlation_length
            );
            assert!((w[1].step_constant - (2.0 * (2.0 * w[0].coupling).cosh().sqrt()).ln()).abs() < 1e-15);
        }
        assert!((f.states[0].correlation_length + 1.0 / 1f64.tanh().ln()).abs() < 1e-15);
    }

    #[test]
    fn ring_partition_function_is_exact() {
        for (n, k, h) in
            [(2, 0.3, 0.0), (5, -0.7, 0.0), (8, 1.1, 0.0), (7, 0.4, 0.3), (10, -0.5, -0.8), (12, 2.0, 0.05)]
        {
            let c = ChainCouplings::new(k, h).unwrap();
            let lz = c.ln_z_ring(n).unwrap();
            assert!((lz - ln_z_enumerate(n, k, h)).abs() < 1e-12, "n={n} K={k} h={h}");
            if h == 0.0 {
                let closed = ((2.0 * k.cosh()).powi(n as i32) + (2.0 * k.sinh()).powi(n as i32)).ln();
                assert!((lz - closed).abs() < 1e-12);
            }
        }
        // And against lattice-physics' independent transfer-matrix solution.
        for (n, k, h) in [(2usize, 0.3, 0.1), (9, -1.2, 0.4), (64, 0.9, -0.2), (1000, 2.5, 0.0)] {
            let ours = ChainCouplings::new(k, h).unwrap().ln_z_ring(n).unwrap();
            let theirs = n as f64 * lattice_physics::exact::ring(n, k, h).unwrap().ln_z_per_site;
            assert!((ours - theirs).abs() < 1e-12 * ours.abs().max(1.0), "n={n}: {ours} vs {theirs}");
        }
        // Large rings and couplings: no overflow, and ln Z → N ln λ₊.
        let c = ChainCouplings::new(50.0, -50.0).unwrap();
        assert!(c.ln_z_ring(1 << 40).unwrap().is_finite());
        assert!(ChainCouplings::new(0.3, 0.0).unwrap().ln_z_ring(0).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// ln Z_N(K, h) = (N/2) g + ln Z_{N/2}(K', h') to 1e-12 (relative to ln Z), and the
        /// iterated version with the accumulated offsets.
        #[test]
        fn decimation_preserves_the_partition_function(
            k in -3.0f64..3.0, h in -2.0f64..2.0, half in 2usize..40, steps in 1usize..4
        ) {
            let c = ChainCouplings::new(k, h).unwrap();
            let n = 2 * half;
            let step = decimate(c);
            let lhs = c.ln_z_ring(n).unwrap();
            let rhs = half as f64 * step.constant + step.couplings.ln_z_ring(half).unwrap();
            prop_assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{} vs {}", lhs, rhs);
            // Iterated on N = 2^steps · m sites.
            let big = (1usize << steps) * half;
            let f = flow(c, steps).unwrap();
            let last = f.states[steps];
            let end = ChainCouplings { coupling: last.coupling, field: last.field };
            let lhs = c.ln_z_ring(big).unwrap();
            let rhs = big as f64 * last.ln_z_offset_per_site + end.ln_z_ring(half).unwrap();
            prop_assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{} vs {}", lhs, rhs);
            // ξ halves with a field as well.
            let (x0, x1) = (c.correlation_length(), step.couplings.correlation_length());
            if x0.is_finite() && x0 > 1e-3 {
                prop_assert!((x1 - 0.5 * x0).abs() < 1e-9 * x0);
            }
        }
    }

    #[test]
    fn decimation_matches_enumeration_with_a_field() {
        // Independent of the transfer matrix: sum out the odd spins of an 8-ring by brute force
        // and compare the kept spins' weights with exp(N/2 g − H'(s)).
        let (k, h, n) = (0.8, 0.35, 8usize);
        let step = decimate(ChainCouplings::new(k, h).unwrap());
        let (kp, hp) = (step.couplings.coupling, step.couplings.field);
        for kept in 0u32..(1 << (n / 2)) {
            let mut w = 0.0;
            for removed in 0u32..(1 << (n / 2)) {
                let s = |i: usize| {
                    let i = i % n;
                    let bits = if i % 2 == 0 { kept >> (i / 2) } else { removed >> (i / 2) };
                    if bits & 1 == 1 {
                        1.0
                    } else {
                        -1.0
                    }
                };
                let e: f64 = (0..n).map(|i| k * s(i) * s(i + 1) + h * s(i)).sum();
                w += e.exp();
            }
            let t = |j: usize| if kept >> (j % (n / 2)) & 1 == 1 { 1.0 } else { -1.0 };
            let ep: f64 = (0..n / 2).map(|j| kp * t(j) * t(j + 1) + hp * t(j)).sum();
            let predicted = (n / 2) as f64 * step.constant + ep;
            assert!((w.ln() - predicted).abs() < 1e-12, "kept {kept:b}");
        }
    }

    #[test]
    fn fixed_points_and_their_stability() {
        let [zero, inf] = fixed_points();
        assert!(zero.stable && !inf.stable);
        assert_eq!(decimate(ChainCouplings::new(0.0, 0.0).unwrap()).couplings.coupling, 0.0);
        assert_eq!(flow_derivative(zero.coupling), 0.0);
        // Near K = ∞, K − K' → ½ ln 2 (K stays infinite) while 1 − tanh K' ≈ 2 (1 − tanh K).
        let big = decimate(ChainCouplings::new(40.0, 0.0).unwrap()).couplings.coupling;
        assert!((40.0 - big - 0.5 * std::f64::consts::LN_2).abs() < 1e-12);
        let k = 8.0;
        let kp = decimate(ChainCouplings::new(k, 0.0).unwrap()).couplings.coupling;
        let (u, up) = ((-2.0 * k).exp(), (-2.0 * kp).exp()); // 1 − tanh K ≈ 2e^{−2K}
        assert!((up / u - 2.0).abs() < 1e-5);
        // Every finite coupling flows to the stable fixed point.
        let f = flow(ChainCouplings::new(3.0, 0.0).unwrap(), 12).unwrap();
        assert!(f.states[12].coupling < 1e-6);
        assert!(ChainCouplings::new(f64::NAN, 0.0).is_err());
        assert!(ChainCouplings::new(0.1, 51.0).is_err());
        assert!(flow(ChainCouplings::new(0.1, 0.0).unwrap(), 65).is_err());
    }
}
