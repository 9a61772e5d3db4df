//! Kaufman's exact solution of the `L×L` periodic square lattice at zero field (docs/science.md §8).
//!
//! Units and signs as in the [parent module](super): `K = βJ`, `H = -K Σ_<ij> s_i s_j`,
//! `2L²` bonds, energy per site `e = -⟨B⟩/N`, specific heat per site `c = K² Var(B)/N`.
//!
//! ```text
//! Z = ½ (2 sinh 2K)^{N/2} (Y₁ + Y₂ + Y₃ + Y₄),   N = L²,
//! Y₁ = Π_{r=0}^{L-1} 2 cosh(L γ_{2r+1}/2),   Y₂ = Π_{r=0}^{L-1} 2 sinh(L γ_{2r+1}/2),
//! Y₃ = Π_{r=0}^{L-1} 2 cosh(L γ_{2r}/2),     Y₄ = Π_{r=0}^{L-1} 2 sinh(L γ_{2r}/2),
//! cosh γ_l = cosh 2K coth 2K - cos(π l / L)  (l ≥ 1, γ_l > 0),
//! γ₀ = 2K + ln tanh K                         (signed: negative for K < K_c).
//! ```
//!
//! `γ₀` keeps its sign, so `Y₄ < 0` in the disordered phase (using `|γ₀|` is a known bug of
//! public reproductions). Each `Y` is handled as a sign and a logarithm and the four are combined
//! by a log-sum-exp, so nothing overflows for `L` in the thousands or `K` up to
//! [`MAX_ABS_PARAMETER`](crate::model::MAX_ABS_PARAMETER). The first and second `K`-derivatives
//! of every `γ_l` are analytic; the factor involving `γ₀` (which vanishes at `K_c`, where
//! `Y₄ = 0` but `∂Y₄/∂K ≠ 0`) is differentiated separately so that no `0 · ∞` appears, and the
//! variance of `B` is accumulated about its mean to avoid the `N²`-sized cancellation of
//! `⟨B²⟩ - ⟨B⟩²`.
//!
//! The cost is `O(L)`. Accuracy: about `1e-13` relative in `ln Z` and `e` for `L ≤ 1000` and
//! `0.01 ≤ K ≤ 5`; `c` is accurate to about `1e-12` absolute (its relative accuracy degrades deep
//! in the ordered phase, where `c` itself is exponentially small). Couplings `0 < |K| <`
//! [`MIN_NONZERO_COUPLING`] are refused because the formula then loses roughly `log10(1/K)`
//! digits in a cancellation between the prefactor and the `Y`s.
//!
//! Couplings: `K = 0` is returned in closed form (`ln Z/N = ln 2`, `e = c = 0`). `K < 0`
//! (antiferromagnet) is mapped exactly onto `-K` when `L` is even (flip one sublattice:
//! `ln Z` and `c` are unchanged and `e` changes sign); on odd `L` the antiferromagnet is
//! frustrated and is refused.

use std::f64::consts::{LN_2, PI};

use super::Thermo;
use crate::error::{Error, Result};
use crate::lattice::Lattice;
use crate::model::IsingModel;

/// Smallest nonzero `|K|` accepted by [`kaufman`] (`K = 0` itself is accepted).
pub const MIN_NONZERO_COUPLING: f64 = 1e-3;

/// Exact zero-field thermodynamics of the periodic `l × l` square lattice (Kaufman 1949).
///
/// Returns `ln Z / N`, `e = -⟨B⟩/N` and `c = K² Var(B)/N` with `N = l²`.
///
/// Errors: `l < 2` or too large for a [`Lattice`]; `coupling` not finite or out of range;
/// `0 < |coupling| <` [`MIN_NONZERO_COUPLING`]; negative `coupling` with odd `l`.
///
/// ```
/// use lattice_physics::{exact::kaufman, K_CRITICAL};
/// let t = kaufman(16, K_CRITICAL)?;
/// assert!((t.ln_z_per_site * 256.0 - 238.6422566351329).abs() < 1e-9);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn kaufman(l: usize, coupling: f64) -> Result<Thermo> {
    let model = IsingModel::new(Lattice::square(l)?, coupling, 0.0)?;
    let k = model.coupling();
    if k == 0.0 {
        return Ok(Thermo { ln_z_per_site: LN_2, energy_per_site: 0.0, specific_heat_per_site: 0.0 });
    }
    if k.abs() < MIN_NONZERO_COUPLING {
        return Err(Error::InvalidParameter {
            name: "coupling",
            reason: "Kaufman's formula is inaccurate for 0 < |K| < 1e-3 (use K = 0 or enumeration)",
        });
    }
    if k < 0.0 {
        if l % 2 == 1 {
            return Err(Error::InvalidParameter {
                name: "coupling",
                reason: "a negative coupling is frustrated on an odd torus; Kaufman's solution needs K > 0 or even L",
            });
        }
        let t = ferromagnet(l, -k);
        return Ok(Thermo { energy_per_site: -t.energy_per_site, ..t });
    }
    Ok(ferromagnet(l, k))
}

/// `ln(2 cosh x)` and its first two derivatives with respect to `x`, for `x ≥ 0`.
fn ln_2cosh(x: f64) -> (f64, f64, f64) {
    let q = (-2.0 * x).exp();
    let value = x + q.ln_1p();
    let tanh = -(-2.0 * x).exp_m1() / (1.0 + q);
    let sech2 = 4.0 * q / ((1.0 + q) * (1.0 + q));
    (value, tanh, sech2)
}

/// `ln(2 sinh x)` and its first two derivatives with respect to `x`, for `x > 0`.
fn ln_2sinh(x: f64) -> (f64, f64, f64) {
    let q = (-2.0 * x).exp();
    let one_minus_q = -(-2.0 * x).exp_m1();
    let value = x + one_minus_q.ln();
    let coth = (1.0 + q) / one_minus_q;
    let csch2 = 4.0 * q / (one_minus_q * one_minus_q);
    (value, coth, -csch2)
}

/// A function of `K` with its first two derivatives.
#[derive(Debug, Clone, Copy, Default)]
struct Jet {
    v: f64,
    d1: f64,
    d2: f64,
}

impl Jet {
    /// Add `f(x(K))` given `f, f', f''` at `x` and the jet of `x`.
    fn add_composed(&mut self, (f, fp, fpp): (f64, f64, f64), x: Jet) {
        self.v += f;
        self.d1 += fp * x.d1;
        self.d2 += fpp * x.d1 * x.d1 + fp * x.d2;
    }
}

/// Kaufman for `K ≥ MIN_NONZERO_COUPLING`.
fn ferromagnet(l: usize, k: f64) -> Thermo {
    let lf = l as f64;
    let n = lf * lf;
    let half_l = 0.5 * lf;
    let s = (2.0 * k).sinh();
    let c = (2.0 * k).cosh();
    // A(K) = cosh 2K coth 2K = c²/s and its derivatives.
    let a1 = 2.0 * c * (s - 1.0) * (s + 1.0) / (s * s);
    let a2 = 4.0 * s - 4.0 / s + 8.0 * c * c / (s * s * s);
    let one_minus_s_sq = (1.0 - s) * (1.0 - s);

    // x_l = L γ_l / 2 as a jet, for l ≥ 1.
    let mode = |index: usize| -> Jet {
        let half_theta = 0.5 * PI * index as f64 / lf;
        let sin_half = half_theta.sin();
        // v = s (cosh γ - 1) = (1 - s)² + 2 s sin²(θ/2), free of cancellation.
        let v = one_minus_s_sq + 2.0 * s * sin_half * sin_half;
        let u = v / s;
        let s_sinh = v.sqrt() * (v + 2.0 * s).sqrt(); // s · sinh γ
        let sinh_g = s_sinh / s;
        let gamma = (u + sinh_g).ln_1p();
        let g1 = a1 * s / s_sinh;
        let g2 = (a2 - (1.0 + u) * g1 * g1) / sinh_g;
        Jet { v: half_l * gamma, d1: half_l * g1, d2: half_l * g2 }
    };

    // Y₁ (cosh) and Y₂ (sinh) over odd l; Q₃ (cosh) and Q₄ (sinh) over even l ≥ 2.
    let (mut y1, mut y2, mut q3, mut q4) = (Jet::default(), Jet::default(), Jet::default(), Jet::default());
    for r in 0..l {
        let odd = mode(2 * r + 1);
        y1.add_composed(ln_2cosh(odd.v), odd);
        y2.add_composed(ln_2sinh(odd.v), odd);
        if r > 0 {
            let even = mode(2 * r);
            q3.add_composed(ln_2cosh(even.v), even);
            q4.add_composed(ln_2sinh(even.v), even);
        }
    }
    // x₀ = L γ₀ / 2, γ₀ = 2K + ln tanh K, signed.
    let e2k = (-2.0 * k).exp();
    let ln_tanh = (-(-2.0 * k).exp_m1()).ln() - e2k.ln_1p();
    let x0 = Jet {
        v: half_l * (2.0 * k + ln_tanh),
        d1: half_l * (2.0 + 2.0 / s),
        d2: half_l * (-4.0 * c / (s * s)),
    };
    let ax0 = x0.v.abs();
    let big_c = 1.0 + (-2.0 * ax0).exp(); // 2 cosh x₀ = e^{|x₀|} C
    let big_s = x0.v.signum() * -(-2.0 * ax0).exp_m1(); // 2 sinh x₀ = e^{|x₀|} S

    // Each Y = e^{scale} · value, with Y' = e^{scale} · slope.
    let scales = [y1.v, y2.v, q3.v + ax0, q4.v + ax0];
    let values = [1.0, 1.0, big_c, big_s];
    let slopes = [y1.d1, y2.d1, big_s * x0.d1 + big_c * q3.d1, big_c * x0.d1 + big_s * q4.d1];
    let top = scales.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w = scales.map(|sc| (sc - top).exp());
    let sum: f64 = (0..4).map(|i| w[i] * values[i]).sum();
    debug_assert!(sum > 0.0, "Y₁ + Y₂ + Y₃ + Y₄ must be positive");
    let mean = (0..4).map(|i| w[i] * slopes[i]).sum::<f64>() / sum;
    // Σ (Y'' - 2 a Y' + a² Y) / Σ Y with a = (ln ΣY)' is (ln ΣY)''.
    let centred = |j: Jet| j.d2 + (j.d1 - mean) * (j.d1 - mean);
    let curv = [
        centred(y1),
        centred(y2),
        big_c * (x0.d1 * x0.d1 + centred(q3)) + big_s * (x0.d2 + 2.0 * x0.d1 * (q3.d1 - mean)),
        big_s * (x0.d1 * x0.d1 + centred(q4)) + big_c * (x0.d2 + 2.0 * x0.d1 * (q4.d1 - mean)),
    ];
    let second = (0..4).map(|i| w[i] * curv[i]).sum::<f64>() / sum;

    // ln Z = -ln 2 + (N/2) ln(2 sinh 2K) + ln Σ Y.
    let ln_2sinh_2k = 2.0 * k + (-(-4.0 * k).exp_m1()).ln();
    let ln_z = -LN_2 + 0.5 * n * ln_2sinh_2k + top + sum.ln();
    let d1 = n * c / s + mean;
    let d2 = -2.0 * n / (s * s) + second;
    Thermo { ln_z_per_site: ln_z / n, energy_per_site: -d1 / n, specific_heat_per_site: k * k * d2 / n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input() {
        assert!(kaufman(1, 0.4).is_err());
        assert!(kaufman(4, f64::NAN).is_err());
        assert!(kaufman(4, 1e-5).is_err());
        assert!(kaufman(3, -0.4).is_err());
        assert!(kaufman(4, -0.4).is_ok());
    }

    #[test]
    fn zero_coupling_is_free_spins() {
        let t = kaufman(5, 0.0).unwrap();
        assert_eq!(t.ln_z_per_site, LN_2);
        assert_eq!(t.energy_per_site, 0.0);
        assert_eq!(t.specific_heat_per_site, 0.0);
    }

    #[test]
    fn ground_state_at_strong_coupling() {
        // Deep in the ordered phase Z → 2 e^{2NK}: ln Z/N → 2K + ln 2/N, e → -2.
        let t = kaufman(8, 5.0).unwrap();
        assert!((t.ln_z_per_site - (10.0 + LN_2 / 64.0)).abs() < 1e-12);
        assert!((t.energy_per_site + 2.0).abs() < 1e-12);
        assert!(t.specific_heat_per_site.abs() < 1e-12);
    }
}
