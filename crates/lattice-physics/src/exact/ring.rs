//! The periodic Ising chain in a field, solved by its `2×2` transfer matrix (docs/science.md §5).
//!
//! Units and signs as in the [parent module](super): `H = -K Σ_i s_i s_{i+1} - h Σ_i s_i` on a
//! ring of `N` sites and `N` bonds (for `N = 2` the two bonds join the same pair of sites),
//! `e = -⟨B⟩/N`, `c = K² Var(B)/N` (bond variance: at `h ≠ 0` the field term is held fixed),
//! `m = ⟨M⟩/N`.
//!
//! ```text
//! T = [[e^{K+h}, e^{-K}], [e^{-K}, e^{K-h}]],   Z = Tr T^N = λ₊^N + λ₋^N,
//! λ± = e^K (cosh h ± R),   R = √(sinh² h + e^{-4K}),   λ₊ λ₋ = 2 sinh 2K.
//! ```
//!
//! Everything is written through `ln λ₊` and the ratio `r = λ₋/λ₊ ∈ (-1, 1)`:
//! `ln Z = N ln λ₊ + ln(1 + r^N)`. The derivatives of `ln λ₊` and of `r` with respect to `K`
//! and `h` are analytic and rearranged so that no two large terms cancel (for example
//! `∂r/∂K = 4 e^{-4K} cosh h / (R (cosh h + R)²)`), and `1 - |r|` is computed directly, so
//! `1 + r^N` stays accurate on odd antiferromagnetic rings where `r → -1`. In that frustrated
//! regime (`K ≪ 0`, odd `N`) the specific heat is a difference of `O(N²)` terms and its
//! relative accuracy degrades; everywhere else results are accurate to a few ulps times `N`.

use serde::Serialize;

use super::Thermo;
use crate::error::Result;
use crate::lattice::Lattice;
use crate::model::IsingModel;

/// Exact thermodynamics per site of the periodic ring (transfer matrix).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RingExact {
    /// `(ln Z)/N`.
    pub ln_z_per_site: f64,
    /// `e = -⟨B⟩/N`.
    pub energy_per_site: f64,
    /// `c = K² Var(B)/N` (bond-variance definition).
    pub specific_heat_per_site: f64,
    /// `⟨m⟩ = ⟨M⟩/N = (1/N) ∂ln Z/∂h`.
    pub magnetization: f64,
}

impl RingExact {
    /// The zero-field-style summary (`ln Z`, `e`, `c`).
    pub fn thermo(&self) -> Thermo {
        Thermo {
            ln_z_per_site: self.ln_z_per_site,
            energy_per_site: self.energy_per_site,
            specific_heat_per_site: self.specific_heat_per_site,
        }
    }
}

/// `x^j` for `x ∈ (-1, 1)` given `ln|x|` (so that `|x|` close to 1 keeps its accuracy).
fn power(negative: bool, ln_abs: f64, j: u64) -> f64 {
    if j == 0 {
        return 1.0;
    }
    let magnitude = (j as f64 * ln_abs).exp();
    if negative && j % 2 == 1 {
        -magnitude
    } else {
        magnitude
    }
}

/// `1 + x^j` for `x ∈ (-1, 1)` given `ln|x|`, accurate also when `x^j → -1`.
fn one_plus_power(negative: bool, ln_abs: f64, j: u64) -> f64 {
    if j == 0 {
        return 2.0;
    }
    if negative && j % 2 == 1 {
        -(j as f64 * ln_abs).exp_m1()
    } else {
        1.0 + (j as f64 * ln_abs).exp()
    }
}

/// Exact thermodynamics of the periodic ring of `n ≥ 2` sites at coupling `coupling` and field
/// `field` (both finite with magnitude at most [`MAX_ABS_PARAMETER`](crate::model::MAX_ABS_PARAMETER)).
///
/// ```
/// use lattice_physics::exact::ring;
/// // h = 0: Z = (2 cosh K)^N + (2 sinh K)^N.
/// let (n, k) = (6, 0.7f64);
/// let z = (2.0 * k.cosh()).powi(6) + (2.0 * k.sinh()).powi(6);
/// assert!((ring(n, k, 0.0)?.ln_z_per_site - z.ln() / 6.0).abs() < 1e-14);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn ring(n: usize, coupling: f64, field: f64) -> Result<RingExact> {
    let model = IsingModel::new(Lattice::ring(n)?, coupling, field)?;
    let (k, h) = (model.coupling(), model.field());
    let nf = n as f64;
    let nu = n as u64;
    let (sh, ch) = (h.sinh(), h.cosh());
    let e2k = (-2.0 * k).exp();
    let big_r = sh.hypot(e2k); // √(sinh² h + e^{-4K})
    let rho = (e2k / big_r).powi(2); // e^{-4K}/R²
    let sigma = (sh / big_r).powi(2); // 1 - ρ = sinh² h / R²
    let sum = ch + big_r; // λ₊ = e^K (cosh h + R)
                          // ln λ₊ and its derivatives: ∂_K ln λ₊ = 1 - φ, ∂²_K ln λ₊ = φ (2σ + 2 - φ), ∂_h ln λ₊ = sinh h / R.
    let ln_lp = k + sum.ln();
    let phi = 2.0 * rho * big_r / sum;
    let two_minus_phi = 2.0 * (ch + big_r * sigma) / sum;
    let lp_k = 1.0 - phi;
    let lp_kk = phi * (2.0 * sigma + two_minus_phi);
    let lp_h = sh / big_r;
    // r = λ₋/λ₊ = (1 - e^{-4K}) / (cosh h + R)², with 1 - |r| from λ₊ ∓ λ₋ = 2e^K R or 2e^K cosh h.
    let r = -(-4.0 * k).exp_m1() / (sum * sum);
    let negative = r < 0.0;
    let one_minus_abs = if negative { 2.0 * ch / sum } else { 2.0 * big_r / sum };
    let ln_abs_r = (-one_minus_abs).ln_1p();
    let r_k = 4.0 * rho * big_r * ch / (sum * sum);
    let r_kk = r_k * 2.0 * (rho + phi - 2.0);
    let r_h = 2.0 * sh * (-4.0 * k).exp_m1() / (big_r * sum * sum);
    // g = ln(1 + r^N) and its derivatives.
    let denom = one_plus_power(negative, ln_abs_r, nu);
    let r_n1 = power(negative, ln_abs_r, nu - 1);
    let r_n2 = power(negative, ln_abs_r, nu - 2);
    let g = denom.ln();
    let g_k = nf * r_n1 * r_k / denom;
    let g_kk = (nf * (nf - 1.0) * r_n2 * r_k * r_k + nf * r_n1 * r_kk) / denom - g_k * g_k;
    let g_h = nf * r_n1 * r_h / denom;

    Ok(RingExact {
        ln_z_per_site: ln_lp + g / nf,
        energy_per_site: -(lp_k + g_k / nf),
        specific_heat_per_site: k * k * (lp_kk + g_kk / nf),
        magnetization: lp_h + g_h / nf,
    })
}

/// Exact thermodynamics per site of the infinite chain (`N → ∞` limit of [`ring`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChainExact {
    /// `(ln Z)/N = ln λ₊`.
    pub ln_z_per_site: f64,
    /// `e = -⟨s_i s_{i+1}⟩`.
    pub energy_per_site: f64,
    /// `c = K² ∂²ln λ₊/∂K²` (bond-variance definition).
    pub specific_heat_per_site: f64,
    /// `⟨s_i⟩ = sinh h / √(sinh² h + e^{-4K})`.
    pub magnetization: f64,
    /// Correlation length `ξ = -1/ln|λ₋/λ₊|` (infinite at `K = ∞` only; `tanh K` form at `h = 0`).
    pub correlation_length: f64,
}

/// The infinite chain at coupling `coupling` and field `field`: the leading-eigenvalue part of
/// the ring's solution, `ln Z/N = ln λ₊`, with the same analytic derivatives.
///
/// ```
/// use lattice_physics::exact::chain;
/// let c = chain(0.5, 0.0)?;
/// assert!((c.energy_per_site + 0.5f64.tanh()).abs() < 1e-15);
/// assert!((c.correlation_length + 1.0 / 0.5f64.tanh().ln()).abs() < 1e-12);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn chain(coupling: f64, field: f64) -> Result<ChainExact> {
    let model = IsingModel::new(Lattice::ring(2)?, coupling, field)?;
    let (k, h) = (model.coupling(), model.field());
    let (sh, ch) = (h.sinh(), h.cosh());
    let e2k = (-2.0 * k).exp();
    let big_r = sh.hypot(e2k);
    let rho = (e2k / big_r).powi(2);
    let sigma = (sh / big_r).powi(2);
    let sum = ch + big_r;
    let phi = 2.0 * rho * big_r / sum;
    let two_minus_phi = 2.0 * (ch + big_r * sigma) / sum;
    let r = -(-4.0 * k).exp_m1() / (sum * sum);
    let one_minus_abs = if r < 0.0 { 2.0 * ch / sum } else { 2.0 * big_r / sum };
    let ln_abs_r = (-one_minus_abs).ln_1p();
    Ok(ChainExact {
        ln_z_per_site: k + sum.ln(),
        energy_per_site: -(1.0 - phi),
        specific_heat_per_site: k * k * phi * (2.0 * sigma + two_minus_phi),
        magnetization: sh / big_r,
        correlation_length: if ln_abs_r == 0.0 { f64::INFINITY } else { -1.0 / ln_abs_r },
    })
}

/// The zero-field spin-spin correlation `⟨s_0 s_r⟩ = (t^r + t^{N-r}) / (1 + t^N)`, `t = tanh K`,
/// on a periodic ring of `n ≥ 2` sites. The distance `r` is taken modulo `n`.
///
/// ```
/// use lattice_physics::exact::ring_correlation;
/// let t = 0.5f64.tanh();
/// let g = ring_correlation(10, 0.5, 3)?;
/// assert!((g - (t.powi(3) + t.powi(7)) / (1.0 + t.powi(10))).abs() < 1e-15);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn ring_correlation(n: usize, coupling: f64, r: usize) -> Result<f64> {
    let model = IsingModel::new(Lattice::ring(n)?, coupling, 0.0)?;
    let k = model.coupling();
    let r = r % n;
    let j = r.min(n - r) as u64; // symmetric under r → N - r
    let nu = n as u64;
    if k == 0.0 {
        return Ok(if j == 0 { 1.0 } else { 0.0 });
    }
    // ln|t| = ln tanh|K| = ln(1 - q) - ln(1 + q), q = e^{-2|K|}.
    let q = (-2.0 * k.abs()).exp();
    let ln_abs_t = (-q).ln_1p() - q.ln_1p();
    let negative = k < 0.0;
    // (t^j + t^{N-j}) / (1 + t^N) = t^j (1 + t^{N-2j}) / (1 + t^N).
    Ok(power(negative, ln_abs_t, j) * one_plus_power(negative, ln_abs_t, nu - 2 * j)
        / one_plus_power(negative, ln_abs_t, nu))
}
