//! Onsager's solution of the infinite square lattice at zero field, and Yang's spontaneous
//! magnetisation (docs/science.md §8).
//!
//! Units and signs as in the [parent module](super): `K = βJ`, `e = -⟨B⟩/N` (so `e → -2` in the
//! ground state), `c = K² ∂²(ln Z/N)/∂K²`. With `s = sinh 2K`, `C = cosh 2K`, modulus
//! `k = 2s/C²` and complement `k' = |1 - s²|/C²` (computed in this factored form so that it keeps
//! full relative accuracy near `K_c`, where `s = 1`):
//!
//! ```text
//! ln Z/N = ln(2 cosh 2K) + (1/π) ∫₀^{π/2} ln[½(1 + √(1 - k² sin²θ))] dθ
//! e      = -coth 2K [1 + (2/π)(2 tanh² 2K - 1) K₁(k)]
//! c      = (2/π)(K coth 2K)² {2K₁ - 2E₁ - 2(1 - tanh² 2K)[π/2 + (2 tanh² 2K - 1) K₁]}
//! m₀     = (1 - sinh⁻⁴ 2K)^{1/8}  for K > K_c, else 0
//! ```
//!
//! The specific heat is `-K² de/dK` differentiated by hand (using
//! `dK₁/dk = E₁/(k k'²) - K₁/k`); note the factor 2 in front of `(1 - tanh² 2K)`, which some
//! textbook transcriptions drop (the high-temperature limit `c → 2K²` checks it).
//!
//! The free-energy integral is the standard double integral reduced to one dimension. Its
//! integrand has a near-singularity at `θ = π/2` of width `k'`, so it is computed by tanh-sinh
//! (double-exponential) quadrature, whose nodes crowd double-exponentially into that endpoint;
//! it is refined until successive levels agree to `1e-15`. `K₁`, `E₁` come from the AGM
//! (see the private `elliptic` module).
//!
//! At `K = K_c` the energy is `-√2` and the specific heat diverges logarithmically: for
//! `coupling ==` [`K_CRITICAL`] the specific heat is returned as `f64::INFINITY`; within a few
//! ulps of it the formula returns large finite values (`≈ -(8/π)K_c² ln|1 - K/K_c|`).
//!
//! `K = 0` is returned in closed form. `K < 0` (antiferromagnet) is mapped onto `-K` by flipping
//! one sublattice: `ln Z` and `c` are unchanged, `e` changes sign, and the *uniform* spontaneous
//! magnetisation is 0 (the staggered one would be that of `-K`).

use std::f64::consts::{FRAC_PI_2, LN_2, PI};

use serde::Serialize;

use super::elliptic::complete_elliptic;
use crate::error::Result;
use crate::lattice::Lattice;
use crate::model::IsingModel;
use crate::K_CRITICAL;

/// Thermodynamics per site of the infinite square lattice at zero field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Onsager {
    /// `(ln Z)/N` in the limit `N → ∞` (minus the free energy per site over `k_B T`).
    pub ln_z_per_site: f64,
    /// `e = -⟨B⟩/N`.
    pub energy_per_site: f64,
    /// `c = K² Var(B)/N`; `+∞` at `K = K_c`.
    pub specific_heat_per_site: f64,
    /// Spontaneous magnetisation per site `(1 - sinh⁻⁴ 2K)^{1/8}` for `K > K_c`, 0 otherwise.
    pub spontaneous_magnetization: f64,
}

/// Onsager's exact infinite-lattice results at coupling `coupling` (finite, `|K| ≤`
/// [`MAX_ABS_PARAMETER`](crate::model::MAX_ABS_PARAMETER)).
///
/// ```
/// use lattice_physics::{exact::onsager, K_CRITICAL};
/// let o = onsager(K_CRITICAL)?;
/// assert!((o.energy_per_site + 2f64.sqrt()).abs() < 1e-14);
/// assert_eq!(o.specific_heat_per_site, f64::INFINITY);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn onsager(coupling: f64) -> Result<Onsager> {
    // Validate exactly as a model would (any lattice will do).
    let k = IsingModel::new(Lattice::ring(2)?, coupling, 0.0)?.coupling();
    if k == 0.0 {
        return Ok(Onsager {
            ln_z_per_site: LN_2,
            energy_per_site: 0.0,
            specific_heat_per_site: 0.0,
            spontaneous_magnetization: 0.0,
        });
    }
    if k < 0.0 {
        let o = ferromagnet(-k);
        return Ok(Onsager { energy_per_site: -o.energy_per_site, spontaneous_magnetization: 0.0, ..o });
    }
    Ok(ferromagnet(k))
}

fn ferromagnet(k: f64) -> Onsager {
    let s = (2.0 * k).sinh();
    let c = (2.0 * k).cosh();
    let coth = c / s;
    let modulus = 2.0 * s / (c * c);
    let s2_minus_1 = (s - 1.0) * (s + 1.0);
    let k_prime = s2_minus_1.abs() / (c * c);
    let (k1, e1) = complete_elliptic(modulus.min(1.0), k_prime);
    let at_critical = k == K_CRITICAL || k_prime == 0.0;
    // 2 tanh² 2K - 1 = (s² - 1)/C²; its product with K₁ tends to 0 at K_c.
    let kappa2 = s2_minus_1 / (c * c);
    let kappa2_k1 = if at_critical { 0.0 } else { kappa2 * k1 };
    let energy = -coth * (1.0 + 2.0 / PI * kappa2_k1);
    let specific_heat = if at_critical {
        f64::INFINITY
    } else {
        let kc = k * coth;
        2.0 / PI * kc * kc * (2.0 * k1 - 2.0 * e1 - 2.0 * (FRAC_PI_2 + kappa2_k1) / (c * c))
    };
    let spontaneous = if k > K_CRITICAL {
        let inv_s2 = 1.0 / (s * s);
        (1.0 - inv_s2 * inv_s2).powf(0.125)
    } else {
        0.0
    };
    // ln(2 cosh 2K) = 2K + ln(1 + e^{-4K}).
    let ln_2cosh = 2.0 * k + (-4.0 * k).exp().ln_1p();
    Onsager {
        ln_z_per_site: ln_2cosh + free_energy_integral(modulus.min(1.0), k_prime) / PI,
        energy_per_site: energy,
        specific_heat_per_site: specific_heat,
        spontaneous_magnetization: spontaneous,
    }
}

/// `∫₀^{π/2} ln[½(1 + √(1 - k² sin²θ))] dθ` by tanh-sinh quadrature in `φ = π/2 - θ`, where
/// `1 - k² sin²θ = k'² + k² sin²φ` is evaluated without cancellation.
fn free_energy_integral(k: f64, k_prime: f64) -> f64 {
    let f = |phi: f64| {
        let sp = k * phi.sin();
        let root = (k_prime * k_prime + sp * sp).sqrt();
        // ln[(1 + root)/2] = ln_1p((root - 1)/2), with root - 1 = (root² - 1)/(root + 1).
        let root_minus_1 = (k_prime * k_prime + sp * sp - 1.0) / (root + 1.0);
        (0.5 * root_minus_1).ln_1p()
    };
    tanh_sinh(f, FRAC_PI_2)
}

/// `∫₀^b f(x) dx` by tanh-sinh quadrature, nodes computed as distances from 0 so that the
/// `x → 0` end is resolved down to `x ~ 1e-300`.
fn tanh_sinh(f: impl Fn(f64) -> f64, b: f64) -> f64 {
    // Node t ↦ x = b / (1 + e^{-2u}), u = (π/2) sinh t; dx/dt = b (π/2) cosh t / (2 cosh² u).
    let term = |t: f64| -> f64 {
        let u = FRAC_PI_2 * t.sinh();
        let q = (-2.0 * u.abs()).exp();
        let x = if u >= 0.0 { b / (1.0 + q) } else { b * q / (1.0 + q) };
        let sech2 = 4.0 * q / ((1.0 + q) * (1.0 + q));
        let w = 0.5 * b * FRAC_PI_2 * t.cosh() * sech2;
        if w == 0.0 || x <= 0.0 || x >= b {
            0.0
        } else {
            w * f(x)
        }
    };
    const T_MAX: f64 = 6.5; // weights below 1e-300 beyond this
    let mut h = 0.5;
    let mut sum = term(0.0);
    let mut t = h;
    while t <= T_MAX {
        sum += term(t) + term(-t);
        t += h;
    }
    let mut estimate = h * sum;
    for _ in 0..12 {
        h *= 0.5;
        let mut t = h;
        while t <= T_MAX {
            sum += term(t) + term(-t);
            t += 2.0 * h;
        }
        let next = h * sum;
        let converged = (next - estimate).abs() <= 1e-15 * next.abs().max(1e-3);
        estimate = next;
        if converged {
            break;
        }
    }
    estimate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_sinh_integrates_known_functions() {
        let i = tanh_sinh(|x| x.sqrt(), 1.0);
        assert!((i - 2.0 / 3.0).abs() < 1e-15);
        let i = tanh_sinh(|x| x.ln(), 1.0);
        assert!((i + 1.0).abs() < 1e-14);
        let i = tanh_sinh(|x| x.cos(), FRAC_PI_2);
        assert!((i - 1.0).abs() < 1e-15);
    }

    #[test]
    fn free_energy_at_critical_point() {
        // ln Z/N at K_c = ½ ln 2 + 2G/π, G Catalan's constant.
        const CATALAN: f64 = 0.915_965_594_177_219;
        let o = onsager(K_CRITICAL).unwrap();
        assert!((o.ln_z_per_site - (0.5 * LN_2 + 2.0 * CATALAN / PI)).abs() < 1e-14, "{o:?}");
    }

    #[test]
    fn free_energy_integrates_the_energy_across_the_critical_point() {
        // ln Z(K) - ln Z(K_c) = -∫_{K_c}^{K} e dK'; e is continuous with a log-singular slope at
        // K_c, which tanh-sinh handles at the endpoint. This checks the free-energy quadrature,
        // including its near-singular regime, against the independent closed form of e.
        let base = onsager(K_CRITICAL).unwrap().ln_z_per_site;
        for k in [0.3, 0.43, 0.44, 0.4406, 0.440_686_8, 0.4407, 0.441, 0.45, 0.6] {
            let d = k - K_CRITICAL;
            let energy = |x: f64| onsager(K_CRITICAL + d.signum() * x).unwrap().energy_per_site;
            let integral = d.signum() * tanh_sinh(energy, d.abs());
            let got = onsager(k).unwrap().ln_z_per_site - base;
            assert!((got + integral).abs() < 1e-13, "K = {k}: {got} vs {}", -integral);
        }
    }

    #[test]
    fn high_temperature_limit() {
        // Z = 2^N cosh^{2N}K (1 + N t⁴ + 2N t⁶ + …), t = tanh K, so
        // ln Z/N = ln 2 + 2 ln cosh K + t⁴ + O(t⁶), e = -2t - 4t³ + O(t⁵), c = 2K² + 10K⁴ + O(K⁶).
        let k = 1e-3;
        let o = onsager(k).unwrap();
        let t = k.tanh();
        assert!((o.ln_z_per_site - (LN_2 + 2.0 * k.cosh().ln() + t.powi(4))).abs() < 1e-15);
        assert!((o.energy_per_site + 2.0 * t + 4.0 * t.powi(3)).abs() < 1e-13);
        assert!((o.specific_heat_per_site - (2.0 * k * k + 10.0 * k.powi(4))).abs() < 1e-15);
    }
}
