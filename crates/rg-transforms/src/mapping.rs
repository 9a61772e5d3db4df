//! The exact variational-RG ↔ RBM mapping (docs/science.md §3–§4), evaluated by enumeration.
//!
//! # Conventions
//!
//! - Visible spins `v_i = ±1`, `i < N ≤ 24`, with a dimensionless Hamiltonian
//!   `H(v) = −Σ_(i,j) J_ij v_i v_j − Σ_i h_i v_i` ([`SpinHamiltonian`]) and `P(v) = e^{−H(v)}/Z_H`.
//! - The RBM is an `rbm_core::Rbm<f64>` with rbm-core's ML sign convention
//!   `E(v, h) = −uᵀWh − aᵀu − bᵀh`; the mapping only uses `E` as a function. The RBM's
//!   visible unit `i` is spin `v_i`, its upper value (`+1` or `1`) standing for `v_i = +1` and its
//!   lower value (`−1` or `0`) for `v_i = −1`; `u` denotes those unit values. Hidden
//!   configurations are numbered by bits: bit `j` of the index set ↔ hidden unit `j` upper.
//! - Kernel `T(v, h) = −E(v, h) + H(v)` (no constant). Then, exactly,
//!   `H^RG(h) = −ln Σ_v e^{T − H} = −ln Σ_v e^{−E} = H^RBM(h)` (rbm-core's
//!   `hidden_free_energy`), and `ln Σ_h e^{T(v,h)} = H(v) − H^RBM(v)` with
//!   `H^RBM(v) = free_energy(v)`; both `H^RBM` are *unnormalised* (no `ln Z` added).
//! - `ΔF = F^h − F^v` with `F^v = −ln Z_H`, `F^h = −ln Σ_h e^{−H^RG(h)} = −ln Z_RBM`;
//!   `ΔF = −ln ⟨Σ_h e^{T}⟩_P` and `KL(P‖p_RBM) = ⟨H^RBM(v) − H(v)⟩_P − ΔF ≥ 0`.
//! - The normalised kernel `T'(v, h) = ln p(h|v)` obeys the trace condition exactly; its coarse
//!   Hamiltonian is `H'^RG(h) = −ln q(h) − ln Z_H` with `q(h) = Σ_v P(v) p(h|v)`.
//! - Renormalised couplings ([`project`]) are the least-squares fit
//!   `−H^RG(h) ≈ c + Σ_α K_α S_α(s)` over all hidden configurations (uniform weights), with hidden
//!   spins `s_j = +1` for an upper unit and `−1` for a lower one, so that a nearest-neighbour
//!   coefficient is directly the coupling `K'` of `H' = −K' Σ s_j s_k − …`.
//!
//! # Limits
//!
//! At most [`MAX_VISIBLE`] visible and [`MAX_HIDDEN`] hidden spins; larger inputs are refused
//! up front. The parts that need a double sum over `(v, h)` (the normalised kernel and the
//! explicit check of `H^RG`) run only when asked for ([`MappingOptions`]) and
//! `N + M ≤` [`MAX_JOINT`], and are `None` otherwise.
//! Everything is computed in `f64`; sums over states are split into fixed chunks combined in
//! index order, so results do not depend on the number of threads.

use nalgebra::{DMatrix, DVector};
use ndarray::Array1;
use rayon::prelude::*;
use rbm_core::{Rbm, Units};
use serde::{Deserialize, Serialize};

use lattice_physics::{IsingModel, Lattice, LatticeKind};

use crate::error::{finite, Error, Result};

/// Largest number of visible spins enumerated.
pub const MAX_VISIBLE: usize = 24;
/// Largest number of hidden spins enumerated.
pub const MAX_HIDDEN: usize = 20;
/// Largest `N + M` for which the double sum over `(v, h)` is done.
pub const MAX_JOINT: usize = 28;

const CHUNK_BITS: usize = 12;

/// A pairwise spin Hamiltonian `H(v) = −Σ_(i,j) J_ij v_i v_j − Σ_i h_i v_i` over `N ≤ 24` spins.
#[derive(Debug, Clone, PartialEq)]
pub struct SpinHamiltonian {
    n: usize,
    couplings: Vec<(usize, usize, f64)>,
    fields: Vec<f64>,
    /// For every site, its partners with the coupling (with multiplicity).
    neighbours: Vec<Vec<(usize, f64)>>,
}

impl SpinHamiltonian {
    /// Validate: `1 ≤ n ≤ 24`, `fields.len() == n`, every coupling `(i, j, J)` with
    /// `i ≠ j < n` and every value finite. A pair may appear several times (the couplings add).
    pub fn new(n: usize, couplings: Vec<(usize, usize, f64)>, fields: Vec<f64>) -> Result<Self> {
        if n == 0 {
            return Err(Error::InvalidParameter { name: "spins", reason: "at least one spin is needed" });
        }
        if n > MAX_VISIBLE {
            return Err(Error::TooManySpins { what: "visible", spins: n, max: MAX_VISIBLE });
        }
        if fields.len() != n {
            return Err(Error::SizeMismatch { what: "fields", got: fields.len(), expected: n });
        }
        let mut neighbours = vec![Vec::new(); n];
        for &(i, j, value) in &couplings {
            finite("coupling", value)?;
            if i >= n || j >= n {
                return Err(Error::InvalidParameter { name: "coupling", reason: "site index out of range" });
            }
            if i == j {
                return Err(Error::InvalidParameter {
                    name: "coupling",
                    reason: "a spin cannot be coupled to itself",
                });
            }
            neighbours[i].push((j, value));
            neighbours[j].push((i, value));
        }
        for &f in &fields {
            finite("field", f)?;
        }
        Ok(SpinHamiltonian { n, couplings, fields, neighbours })
    }

    /// The nearest-neighbour Ising model on its lattice (every bond of the lattice once, with
    /// multiplicity as in `lattice_physics`), uniform field.
    pub fn ising(model: &IsingModel) -> Result<Self> {
        let lattice = model.lattice();
        let n = lattice.num_sites();
        if n > MAX_VISIBLE {
            return Err(Error::TooManySpins { what: "visible", spins: n, max: MAX_VISIBLE });
        }
        let mut couplings = Vec::with_capacity(lattice.num_bonds());
        for i in 0..n {
            let (nb, k) = lattice.forward_neighbours(i);
            for &j in &nb[..k] {
                couplings.push((i, j, model.coupling()));
            }
        }
        SpinHamiltonian::new(n, couplings, vec![model.field(); n])
    }

    /// The periodic ring of `n ≥ 2` spins with coupling `K` and field `h`.
    pub fn ring(n: usize, coupling: f64, field: f64) -> Result<Self> {
        SpinHamiltonian::ising(&IsingModel::new(Lattice::ring(n)?, coupling, field)?)
    }

    /// Number of spins `N`.
    pub fn num_spins(&self) -> usize {
        self.n
    }

    /// The couplings `(i, j, J_ij)`.
    pub fn couplings(&self) -> &[(usize, usize, f64)] {
        &self.couplings
    }

    /// The fields `h_i`.
    pub fn fields(&self) -> &[f64] {
        &self.fields
    }

    /// `H(v)` for `±1` spins `v` (length `N`).
    pub fn energy(&self, v: &[i8]) -> Result<f64> {
        if v.len() != self.n {
            return Err(Error::SizeMismatch {
                what: "visible configuration",
                got: v.len(),
                expected: self.n,
            });
        }
        Ok(self.energy_unchecked(|i| v[i] as f64))
    }

    fn energy_unchecked(&self, s: impl Fn(usize) -> f64) -> f64 {
        let pairs: f64 = self.couplings.iter().map(|&(i, j, c)| c * s(i) * s(j)).sum();
        let field: f64 = self.fields.iter().enumerate().map(|(i, &h)| h * s(i)).sum();
        -pairs - field
    }
}

/// Check that the RBM and the Hamiltonian fit together and are small enough.
fn check_sizes(ham: &SpinHamiltonian, rbm: &Rbm<f64>) -> Result<()> {
    rbm.validate()?;
    if rbm.n_visible() != ham.n {
        return Err(Error::SizeMismatch { what: "RBM visible units", got: rbm.n_visible(), expected: ham.n });
    }
    if rbm.n_hidden() > MAX_HIDDEN {
        return Err(Error::TooManySpins { what: "hidden", spins: rbm.n_hidden(), max: MAX_HIDDEN });
    }
    Ok(())
}

fn unit_value(units: Units, spin: i8) -> f64 {
    if spin > 0 {
        units.upper()
    } else {
        units.lower()
    }
}

/// `T(v, h) = −E(v, h) + H(v)` for one pair of configurations given as `±1` spins (converted
/// to the RBM's unit values: `+1` ↔ upper).
pub fn kernel_log_weight(ham: &SpinHamiltonian, rbm: &Rbm<f64>, v: &[i8], h: &[i8]) -> Result<f64> {
    check_sizes(ham, rbm)?;
    let u = Array1::from_iter(v.iter().map(|&s| unit_value(rbm.visible_units(), s)));
    let g = Array1::from_iter(h.iter().map(|&s| unit_value(rbm.hidden_units(), s)));
    Ok(-rbm.energy(u.view(), g.view())? + ham.energy(v)?)
}

/// `T'(v, h) = ln p(h | v)` for one pair of configurations (spins, `+1` ↔ upper).
pub fn normalized_kernel_log_weight(rbm: &Rbm<f64>, v: &[i8], h: &[i8]) -> Result<f64> {
    rbm.validate()?;
    let u = Array1::from_iter(v.iter().map(|&s| unit_value(rbm.visible_units(), s)));
    let g = Array1::from_iter(h.iter().map(|&s| unit_value(rbm.hidden_units(), s)));
    Ok(-rbm.energy(u.view(), g.view())? + rbm.free_energy(u.view())?)
}

/// Streaming `ln Σ e^x`.
#[derive(Debug, Clone, Copy)]
struct LogSumExp {
    max: f64,
    sum: f64,
}

impl LogSumExp {
    fn new() -> Self {
        LogSumExp { max: f64::NEG_INFINITY, sum: 0.0 }
    }
    #[inline]
    fn add(&mut self, x: f64) {
        if x > self.max {
            self.sum = self.sum * (self.max - x).exp() + 1.0;
            self.max = x;
        } else {
            self.sum += (x - self.max).exp();
        }
    }
    fn merge(&mut self, o: LogSumExp) {
        if o.max == f64::NEG_INFINITY {
            return;
        }
        if o.max > self.max {
            self.sum = self.sum * (self.max - o.max).exp() + o.sum;
            self.max = o.max;
        } else {
            self.sum += o.sum * (o.max - self.max).exp();
        }
    }
    fn value(self) -> f64 {
        self.max + self.sum.ln()
    }
}

/// Everything the enumerations need, in flat `f64` arrays.
struct Ctx<'a> {
    ham: &'a SpinHamiltonian,
    n: usize,
    m: usize,
    /// `W` row-major `(n, m)`.
    w: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    v_lo: f64,
    v_hi: f64,
    h_lo: f64,
    h_hi: f64,
    visible_units: Units,
    hidden_units: Units,
}

impl<'a> Ctx<'a> {
    fn new(ham: &'a SpinHamiltonian, rbm: &Rbm<f64>) -> Self {
        Ctx {
            ham,
            n: rbm.n_visible(),
            m: rbm.n_hidden(),
            w: rbm.weights().iter().copied().collect(),
            a: rbm.visible_bias().to_vec(),
            b: rbm.hidden_bias().to_vec(),
            v_lo: rbm.visible_units().lower(),
            v_hi: rbm.visible_units().upper(),
            h_lo: rbm.hidden_units().lower(),
            h_hi: rbm.hidden_units().upper(),
            visible_units: rbm.visible_units(),
            hidden_units: rbm.hidden_units(),
        }
    }
}

/// A visible configuration walked in Gray-code order, with `H(v)`, `aᵀu` and the hidden fields
/// `x_j = b_j + (uᵀW)_j` kept up to date in `O(M + degree)` per flip.
struct Walker {
    /// Whether the RBM side (`x`, `aᵀu`) is kept up to date (only `H(v)` otherwise).
    with_rbm: bool,
    sigma: Vec<i8>,
    x: Vec<f64>,
    energy: f64,
    au: f64,
}

impl Walker {
    fn at(ctx: &Ctx, index: usize, with_rbm: bool) -> Walker {
        let sigma: Vec<i8> = (0..ctx.n).map(|i| if index >> i & 1 == 1 { 1 } else { -1 }).collect();
        let u: Vec<f64> = sigma.iter().map(|&s| if s > 0 { ctx.v_hi } else { ctx.v_lo }).collect();
        let mut x = ctx.b.clone();
        for (i, &ui) in u.iter().enumerate() {
            for (xj, wij) in x.iter_mut().zip(&ctx.w[i * ctx.m..(i + 1) * ctx.m]) {
                *xj += ui * wij;
            }
        }
        let energy = ctx.ham.energy_unchecked(|i| sigma[i] as f64);
        let au = u.iter().zip(&ctx.a).map(|(u, a)| u * a).sum();
        Walker { with_rbm, sigma, x, energy, au }
    }

    #[inline]
    fn flip(&mut self, ctx: &Ctx, i: usize) {
        let old = self.sigma[i];
        let local: f64 = ctx.ham.fields[i]
            + ctx.ham.neighbours[i].iter().map(|&(j, c)| c * self.sigma[j] as f64).sum::<f64>();
        self.energy += 2.0 * old as f64 * local;
        self.sigma[i] = -old;
        if !self.with_rbm {
            return;
        }
        let du = if old > 0 { ctx.v_lo - ctx.v_hi } else { ctx.v_hi - ctx.v_lo };
        for (xj, wij) in self.x.iter_mut().zip(&ctx.w[i * ctx.m..(i + 1) * ctx.m]) {
            *xj += du * wij;
        }
        self.au += du * ctx.a[i];
    }

    /// `H^RBM(v) = free_energy(v) = −aᵀu − Σ_j Φ(x_j)`.
    #[inline]
    fn free_energy(&self, ctx: &Ctx) -> f64 {
        -self.au - self.x.iter().map(|&x| ctx.hidden_units.log_partition(x)).sum::<f64>()
    }
}

/// Fold over all `2^N` visible configurations in fixed chunks (parallel), returning the
/// per-chunk accumulators in chunk order. `step(acc, index, walker)`.
fn fold_visible<A, I, S>(ctx: &Ctx, with_rbm: bool, init: I, step: S) -> Vec<A>
where
    A: Send,
    I: Fn() -> A + Sync,
    S: Fn(&mut A, usize, &Walker) + Sync,
{
    let bits = ctx.n.min(CHUNK_BITS);
    let chunks = 1usize << (ctx.n - bits);
    (0..chunks)
        .into_par_iter()
        .map(|c| {
            let base = c << bits;
            let mut acc = init();
            let mut w = Walker::at(ctx, base, with_rbm);
            step(&mut acc, base, &w);
            for t in 1..(1usize << bits) {
                w.flip(ctx, t.trailing_zeros() as usize);
                step(&mut acc, base | (t ^ (t >> 1)), &w);
            }
            acc
        })
        .collect()
}

/// `H^RBM(h) = hidden_free_energy(h)` for every hidden configuration (index bits), in closed
/// form over the visible layer.
fn hidden_free_energies(ctx: &Ctx) -> Vec<f64> {
    let m = ctx.m;
    let bits = m.min(CHUNK_BITS);
    let chunks = 1usize << (m - bits);
    let per_chunk: Vec<Vec<f64>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let base = c << bits;
            let mut out = vec![0.0; 1 << bits];
            let mut g: Vec<f64> =
                (0..m).map(|j| if base >> j & 1 == 1 { ctx.h_hi } else { ctx.h_lo }).collect();
            let mut bh: f64 = g.iter().zip(&ctx.b).map(|(g, b)| g * b).sum();
            let mut y: Vec<f64> =
                (0..ctx.n).map(|i| ctx.a[i] + (0..m).map(|j| ctx.w[i * m + j] * g[j]).sum::<f64>()).collect();
            let value =
                |y: &[f64], bh: f64| -bh - y.iter().map(|&y| ctx.visible_units.log_partition(y)).sum::<f64>();
            out[0] = value(&y, bh);
            for t in 1..(1usize << bits) {
                let j = t.trailing_zeros() as usize;
                let dg = if g[j] == ctx.h_hi { ctx.h_lo - ctx.h_hi } else { ctx.h_hi - ctx.h_lo };
                g[j] += dg;
                bh += dg * ctx.b[j];
                for (i, yi) in y.iter_mut().enumerate() {
                    *yi += dg * ctx.w[i * m + j];
                }
                out[t ^ (t >> 1)] = value(&y, bh);
            }
            out
        })
        .collect();
    per_chunk.concat()
}

/// What [`exact_mapping`] reports about the normalised kernel `T' = ln p(h|v)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalizedKernelReport {
    /// `max_v |ln Σ_h e^{T'(v,h)}|` (zero up to rounding: `T'` is normalised by construction).
    pub trace_violation_max: f64,
    /// `ΔF' = −ln Σ_h q(h)` (zero up to rounding).
    pub delta_f: f64,
    /// `H'^RG(h) = −ln q(h) − ln Z_H` for every hidden configuration (index bits).
    pub coarse_hamiltonian: Vec<f64>,
    /// `max_h |ln q(h) − ln p_RBM(h)|`: how far the data pushed through the RBM differ from the
    /// RBM's own hidden marginal (zero when KL = 0).
    pub max_deviation_from_rbm_marginal: f64,
}

/// The mapping evaluated exactly (see the module documentation for every definition).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingReport {
    /// `N`.
    pub n_visible: usize,
    /// `M`.
    pub n_hidden: usize,
    /// `ln Z_H = ln Σ_v e^{−H(v)} = −F^v`.
    pub ln_z_hamiltonian: f64,
    /// `ln Z` of the RBM (computed by rbm-core).
    pub ln_z_rbm: f64,
    /// `ΔF = F^h − F^v`, with `F^h` summed over the coarse Hamiltonian.
    pub delta_f: f64,
    /// `KL(P ‖ p_RBM)` summed directly over `v`.
    pub kl_divergence: f64,
    /// `⟨H^RBM(v) − H(v)⟩_P` (unnormalised `H^RBM(v)` = free energy).
    pub mean_energy_gap: f64,
    /// `KL − (⟨H^RBM − H⟩_P − ΔF)`: zero up to rounding (two independent code paths).
    pub kl_identity_residual: f64,
    /// `⟨ln Σ_h e^{T(v,h)}⟩_P`.
    pub trace_log_mean: f64,
    /// `max_v |ln Σ_h e^{T(v,h)} − ⟨ln Σ_h e^{T}⟩_P|`.
    pub trace_violation_max: f64,
    /// P-weighted standard deviation of `ln Σ_h e^{T(v,h)}`.
    pub trace_violation_std: f64,
    /// `H^RG(h) = H^RBM(h)` for every hidden configuration (index bits), closed form.
    pub coarse_hamiltonian: Vec<f64>,
    /// `max_h |H^RG(h) − H^RBM(h)|` with `H^RG` from the explicit double sum
    /// `−ln Σ_v e^{T(v,h) − H(v)}` (when asked for and `N + M ≤ MAX_JOINT`).
    pub coarse_hamiltonian_check: Option<f64>,
    /// The normalised kernel (when asked for and `N + M ≤ MAX_JOINT`).
    pub normalized: Option<NormalizedKernelReport>,
}

/// Options of [`exact_mapping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingOptions {
    /// Do the double sums over `(v, h)` (the explicit check of `H^RG` and the normalised
    /// kernel) when `N + M ≤ MAX_JOINT`; they cost `2^{N+M}` exponentials.
    pub double_sums: bool,
}

/// Evaluate the mapping `T = −E + H` exactly for `ham` (visible spins) and `rbm`.
pub fn exact_mapping(
    ham: &SpinHamiltonian,
    rbm: &Rbm<f64>,
    options: &MappingOptions,
) -> Result<MappingReport> {
    check_sizes(ham, rbm)?;
    let ctx = Ctx::new(ham, rbm);
    let (n, m) = (ctx.n, ctx.m);

    // Pass 1: ln Z_H, and the reference value of τ(v) = H(v) − H^RBM(v) at v = 0.
    let double = options.double_sums && n + m <= MAX_JOINT;
    let ln_z_h = fold_visible(&ctx, false, LogSumExp::new, |acc, _, w| acc.add(-w.energy))
        .into_iter()
        .fold(LogSumExp::new(), |mut a, b| {
            a.merge(b);
            a
        })
        .value();
    let w0 = Walker::at(&ctx, 0, true);
    let tau_ref = w0.energy - w0.free_energy(&ctx);
    let ln_z_rbm = rbm.exact_log_partition()?;

    // Pass 2: moments of τ under P, KL, energy gap.
    #[derive(Clone, Copy)]
    struct Acc {
        s1: f64,
        s2: f64,
        min: f64,
        max: f64,
        kl: f64,
        gap: f64,
        trace_norm_max: f64,
    }
    let parts = fold_visible(
        &ctx,
        true,
        || Acc {
            s1: 0.0,
            s2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            kl: 0.0,
            gap: 0.0,
            trace_norm_max: 0.0,
        },
        |acc, _, w| {
            let fv = w.free_energy(&ctx);
            let ln_p = -w.energy - ln_z_h;
            let p = ln_p.exp();
            let tau = w.energy - fv - tau_ref;
            acc.s1 += p * tau;
            acc.s2 += p * tau * tau;
            acc.min = acc.min.min(tau);
            acc.max = acc.max.max(tau);
            let ln_q = -fv - ln_z_rbm;
            if p > 0.0 {
                acc.kl += p * (ln_p - ln_q);
            }
            acc.gap += p * (fv - w.energy);
            if !double {
                return;
            }
            // ln Σ_h p(h|v) = Σ_j ln(p(upper|x_j) + p(lower|x_j)), computed from the unit values.
            let mut s = 0.0;
            for &x in &w.x {
                let phi = ctx.hidden_units.log_partition(x);
                s += ((ctx.h_hi * x - phi).exp() + (ctx.h_lo * x - phi).exp()).ln();
            }
            acc.trace_norm_max = acc.trace_norm_max.max(s.abs());
        },
    );
    let mut t = Acc {
        s1: 0.0,
        s2: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        kl: 0.0,
        gap: 0.0,
        trace_norm_max: 0.0,
    };
    for p in parts {
        t.s1 += p.s1;
        t.s2 += p.s2;
        t.min = t.min.min(p.min);
        t.max = t.max.max(p.max);
        t.kl += p.kl;
        t.gap += p.gap;
        t.trace_norm_max = t.trace_norm_max.max(p.trace_norm_max);
    }
    let mean_shifted = t.s1;
    let var = (t.s2 - mean_shifted * mean_shifted).max(0.0);
    let trace_violation_max = (t.max - mean_shifted).max(mean_shifted - t.min);

    // Coarse Hamiltonian over all h, and F^h.
    let coarse = hidden_free_energies(&ctx);
    let mut lse = LogSumExp::new();
    for &hrg in &coarse {
        lse.add(-hrg);
    }
    let delta_f = -lse.value() + ln_z_h;

    let (check, normalized) = if double {
        let (check, norm) = double_sums(&ctx, ln_z_h, ln_z_rbm, &coarse);
        (Some(check), Some(NormalizedKernelReport { trace_violation_max: t.trace_norm_max, ..norm }))
    } else {
        (None, None)
    };

    Ok(MappingReport {
        n_visible: n,
        n_hidden: m,
        ln_z_hamiltonian: ln_z_h,
        ln_z_rbm,
        delta_f,
        kl_divergence: t.kl,
        mean_energy_gap: t.gap,
        kl_identity_residual: t.kl - (t.gap - delta_f),
        trace_log_mean: mean_shifted + tau_ref,
        trace_violation_max,
        trace_violation_std: var.sqrt(),
        coarse_hamiltonian: coarse,
        coarse_hamiltonian_check: check,
        normalized,
    })
}

/// The double sums over `(v, h)`: the explicit `H^RG(h) = −ln Σ_v e^{T − H}` (compared with the
/// closed form) and `q(h) = Σ_v P(v) p(h|v)`.
fn double_sums(ctx: &Ctx, ln_z_h: f64, ln_z_rbm: f64, closed_form: &[f64]) -> (f64, NormalizedKernelReport) {
    let (n, m) = (ctx.n, ctx.m);
    // c(v) = ln P(v) + H^RBM(v) + aᵀu, so that ln P(v) + ln p(h|v) = c(v) + uᵀWh + bᵀh.
    let bits = n.min(CHUNK_BITS);
    let table: Vec<f64> = fold_visible(
        ctx,
        true,
        || vec![0.0; 1 << bits],
        |acc, index, w| acc[index & ((1 << bits) - 1)] = -w.energy - ln_z_h + w.free_energy(ctx) + w.au,
    )
    .concat();
    let du = ctx.v_hi - ctx.v_lo;
    let results: Vec<(f64, f64)> = (0..1usize << m)
        .into_par_iter()
        .map(|hidx| {
            let g: Vec<f64> = (0..m).map(|j| if hidx >> j & 1 == 1 { ctx.h_hi } else { ctx.h_lo }).collect();
            let bh: f64 = g.iter().zip(&ctx.b).map(|(g, b)| g * b).sum();
            let y: Vec<f64> = (0..n).map(|i| (0..m).map(|j| ctx.w[i * m + j] * g[j]).sum()).collect();
            let fresh = |vidx: usize| {
                let mut dot = 0.0;
                let mut au = 0.0;
                for (i, (yi, ai)) in y.iter().zip(&ctx.a).enumerate() {
                    let u = if vidx >> i & 1 == 1 { ctx.v_hi } else { ctx.v_lo };
                    dot += u * yi;
                    au += u * ai;
                }
                (dot, au)
            };
            let (mut dot, mut au) = fresh(0);
            let (mut lq, mut le) = (LogSumExp::new(), LogSumExp::new());
            lq.add(table[0] + dot);
            le.add(au + dot);
            let mut vidx = 0usize;
            for t in 1..(1usize << n) {
                let i = t.trailing_zeros() as usize;
                vidx ^= 1 << i;
                if t & 4095 == 0 {
                    (dot, au) = fresh(vidx);
                } else {
                    let d = if vidx >> i & 1 == 1 { du } else { -du };
                    dot += d * y[i];
                    au += d * ctx.a[i];
                }
                lq.add(table[vidx] + dot);
                le.add(au + dot);
            }
            (bh + lq.value(), -(bh + le.value()))
        })
        .collect();
    let mut check = 0.0f64;
    let mut sum_q = LogSumExp::new();
    let mut max_dev = 0.0f64;
    let mut coarse = Vec::with_capacity(results.len());
    for (k, &(ln_q, explicit)) in results.iter().enumerate() {
        check = check.max((explicit - closed_form[k]).abs());
        sum_q.add(ln_q);
        max_dev = max_dev.max((ln_q - (-closed_form[k] - ln_z_rbm)).abs());
        coarse.push(-ln_q - ln_z_h);
    }
    (
        check,
        NormalizedKernelReport {
            trace_violation_max: f64::NAN,
            delta_f: -sum_q.value(),
            coarse_hamiltonian: coarse,
            max_deviation_from_rbm_marginal: max_dev,
        },
    )
}

/// What an operator is, by the number of spins in each of its products (typed, so that callers
/// select operators by kind instead of parsing names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorKind {
    /// Every product is one spin (a field, uniform or on one site).
    Field,
    /// Every product is two spins (a pair coupling).
    Pair,
    /// Every product is three spins.
    ThreeSpin,
    /// Every product is four spins.
    FourSpin,
    /// Products of another or of mixed orders.
    Other,
}

impl OperatorKind {
    /// The kind of a sum of `monomials`: by their common number of spins (`Other` if they differ,
    /// are empty, or have more than four spins).
    pub fn of(monomials: &[Vec<usize>]) -> Self {
        let order = monomials.first().map(Vec::len);
        if order.is_none() || monomials.iter().any(|m| Some(m.len()) != order) {
            return OperatorKind::Other;
        }
        match order {
            Some(1) => OperatorKind::Field,
            Some(2) => OperatorKind::Pair,
            Some(3) => OperatorKind::ThreeSpin,
            Some(4) => OperatorKind::FourSpin,
            _ => OperatorKind::Other,
        }
    }
}

/// One operator on the hidden spins: a sum of products of spins (`monomials`, each a list of
/// distinct hidden indices), with its [`OperatorKind`] (checked against the monomials by
/// [`OperatorBasis::new`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HiddenOperator {
    /// Stable name (`"field"`, `"pair_r2_1"`, `"three_spin"`, `"four_spin"`, …), for display.
    pub name: String,
    /// What the operator is; select operators by this, never by name.
    pub kind: OperatorKind,
    /// The products summed.
    pub monomials: Vec<Vec<usize>>,
}

impl HiddenOperator {
    /// An operator whose kind is read off its monomials ([`OperatorKind::of`]).
    pub fn new(name: impl Into<String>, monomials: Vec<Vec<usize>>) -> Self {
        HiddenOperator { name: name.into(), kind: OperatorKind::of(&monomials), monomials }
    }
}

/// A basis of operators on `M` hidden spins (the constant is always included by [`project`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorBasis {
    n: usize,
    operators: Vec<HiddenOperator>,
}

impl OperatorBasis {
    /// A custom basis on `n ≤ MAX_HIDDEN` spins; every index must be below `n`.
    pub fn new(n: usize, operators: Vec<HiddenOperator>) -> Result<Self> {
        if n > MAX_HIDDEN {
            return Err(Error::TooManySpins { what: "hidden", spins: n, max: MAX_HIDDEN });
        }
        if operators.iter().any(|o| o.monomials.is_empty() || o.monomials.iter().flatten().any(|&i| i >= n)) {
            return Err(Error::InvalidParameter {
                name: "operator basis",
                reason: "every operator needs monomials with indices below the number of spins",
            });
        }
        if operators.iter().any(|o| o.kind != OperatorKind::of(&o.monomials)) {
            return Err(Error::InvalidParameter {
                name: "operator basis",
                reason: "an operator's kind must match the number of spins in its monomials",
            });
        }
        Ok(OperatorBasis { n, operators })
    }

    /// The standard basis on a ring or square torus of hidden spins (hidden unit `j` sits at
    /// site `j` of `lattice`, row-major; that is true of the RBMs of [`crate::exact_rbms`] but
    /// not of a trained RBM, whose hidden units may be in any order — see
    /// [`OperatorBasis::all_pairs`]): the field `Σ s_j`; every
    /// pair class by squared minimum-image distance `r²` (`"pair_r2_{r²}"`, each unordered pair
    /// once); `"three_spin"` (ring: consecutive triples; torus: the four triples of every
    /// plaquette) and `"four_spin"` (ring: consecutive quadruples; torus: plaquettes), when
    /// the lattice is large enough for them.
    pub fn standard(lattice: Lattice) -> Result<Self> {
        let n = lattice.num_sites();
        if n > MAX_HIDDEN {
            return Err(Error::TooManySpins { what: "hidden", spins: n, max: MAX_HIDDEN });
        }
        let mut ops = vec![HiddenOperator::new("field", (0..n).map(|i| vec![i]).collect())];
        let dist2 = |i: usize, j: usize| -> usize {
            match lattice.kind() {
                LatticeKind::Ring { n } => {
                    let d = i.abs_diff(j);
                    let d = d.min(n - d);
                    d * d
                }
                LatticeKind::Square { l } => {
                    let (dx, dy) = ((i % l).abs_diff(j % l), (i / l).abs_diff(j / l));
                    let (dx, dy) = (dx.min(l - dx), dy.min(l - dy));
                    dx * dx + dy * dy
                }
            }
        };
        let mut classes: std::collections::BTreeMap<usize, Vec<Vec<usize>>> = Default::default();
        for i in 0..n {
            for j in i + 1..n {
                classes.entry(dist2(i, j)).or_default().push(vec![i, j]);
            }
        }
        for (r2, monomials) in classes {
            ops.push(HiddenOperator::new(format!("pair_r2_{r2}"), monomials));
        }
        match lattice.kind() {
            LatticeKind::Ring { n } => {
                if n >= 3 {
                    ops.push(HiddenOperator::new(
                        "three_spin",
                        (0..n).map(|j| vec![j, (j + 1) % n, (j + 2) % n]).collect(),
                    ));
                }
                if n >= 4 {
                    ops.push(HiddenOperator::new(
                        "four_spin",
                        (0..n).map(|j| vec![j, (j + 1) % n, (j + 2) % n, (j + 3) % n]).collect(),
                    ));
                }
            }
            LatticeKind::Square { l } => {
                if l >= 2 {
                    let mut three = Vec::new();
                    let mut four = Vec::new();
                    for y in 0..l {
                        for x in 0..l {
                            let c = [
                                y * l + x,
                                y * l + (x + 1) % l,
                                ((y + 1) % l) * l + x,
                                ((y + 1) % l) * l + (x + 1) % l,
                            ];
                            for skip in 0..4 {
                                three.push((0..4).filter(|&k| k != skip).map(|k| c[k]).collect());
                            }
                            four.push(c.to_vec());
                        }
                    }
                    ops.push(HiddenOperator::new("three_spin", three));
                    ops.push(HiddenOperator::new("four_spin", four));
                }
            }
        }
        Ok(OperatorBasis { n, operators: ops })
    }

    /// A geometry-free basis on `n ≤ MAX_HIDDEN` spins: every single-spin field
    /// (`"field_{j}"`) and every pair (`"pair_{i}_{j}"`, `i < j`) as its own operator. Exact for
    /// any coarse Hamiltonian with at most two-spin terms; use it for trained RBMs, whose hidden
    /// units carry no lattice positions (their order is arbitrary).
    pub fn all_pairs(n: usize) -> Result<Self> {
        if n > MAX_HIDDEN {
            return Err(Error::TooManySpins { what: "hidden", spins: n, max: MAX_HIDDEN });
        }
        let mut ops: Vec<HiddenOperator> =
            (0..n).map(|j| HiddenOperator::new(format!("field_{j}"), vec![vec![j]])).collect();
        for i in 0..n {
            for j in i + 1..n {
                ops.push(HiddenOperator::new(format!("pair_{i}_{j}"), vec![vec![i, j]]));
            }
        }
        Ok(OperatorBasis { n, operators: ops })
    }

    /// Number of spins.
    pub fn num_spins(&self) -> usize {
        self.n
    }

    /// The operators (without the constant).
    pub fn operators(&self) -> &[HiddenOperator] {
        &self.operators
    }

    /// `S_α(s)` for the hidden configuration with index `index` (bit set ↔ `s = +1`).
    pub fn evaluate(&self, alpha: usize, index: usize) -> f64 {
        self.operators[alpha]
            .monomials
            .iter()
            .map(|mono| mono.iter().map(|&i| if index >> i & 1 == 1 { 1.0 } else { -1.0 }).product::<f64>())
            .sum()
    }
}

/// One fitted coupling `K_α` with the operator it multiplies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coupling {
    /// The operator's name (for display).
    pub name: String,
    /// The operator's kind.
    pub kind: OperatorKind,
    /// `K_α`.
    pub value: f64,
}

/// Renormalised couplings from a least-squares projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// The constant `c` of `−H ≈ c + Σ_α K_α S_α`.
    pub constant: f64,
    /// `K_α` in basis order.
    pub couplings: Vec<Coupling>,
    /// Root-mean-square residual over all hidden configurations.
    pub residual_rms: f64,
    /// Largest absolute residual.
    pub residual_max: f64,
}

impl Projection {
    /// The couplings of operators of one kind, in basis order.
    pub fn of_kind(&self, kind: OperatorKind) -> impl Iterator<Item = &Coupling> {
        self.couplings.iter().filter(move |c| c.kind == kind)
    }

    /// The coupling of the operator called `name`, if the basis has one.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.couplings.iter().find(|c| c.name == name).map(|c| c.value)
    }
}

/// Fit `−hamiltonian(h) ≈ c + Σ_α K_α S_α(h)` over all `2^M` hidden configurations (uniform
/// weights). `hamiltonian` has one entry per configuration (index bits). Linearly dependent
/// operators are handled by a pseudo-inverse (the minimum-norm solution).
pub fn project(hamiltonian: &[f64], basis: &OperatorBasis) -> Result<Projection> {
    let m = basis.n;
    if hamiltonian.len() != 1usize << m {
        return Err(Error::SizeMismatch {
            what: "coarse Hamiltonian",
            got: hamiltonian.len(),
            expected: 1 << m,
        });
    }
    if let Some(&bad) = hamiltonian.iter().find(|x| !x.is_finite()) {
        return Err(Error::NonFinite { name: "coarse Hamiltonian", value: bad });
    }
    let k = basis.operators.len() + 1;
    let row = |index: usize, out: &mut [f64]| {
        out[0] = 1.0;
        for a in 0..k - 1 {
            out[a + 1] = basis.evaluate(a, index);
        }
    };
    let states = 1usize << m;
    let chunk = 1usize << m.min(CHUNK_BITS);
    let parts: Vec<(DMatrix<f64>, DVector<f64>)> = (0..states / chunk)
        .into_par_iter()
        .map(|c| {
            let mut g = DMatrix::zeros(k, k);
            let mut r = DVector::zeros(k);
            let mut x = vec![0.0; k];
            for (offset, &h) in hamiltonian[c * chunk..(c + 1) * chunk].iter().enumerate() {
                row(c * chunk + offset, &mut x);
                let y = -h;
                for a in 0..k {
                    r[a] += x[a] * y;
                    for b in 0..k {
                        g[(a, b)] += x[a] * x[b];
                    }
                }
            }
            (g, r)
        })
        .collect();
    let mut g = DMatrix::zeros(k, k);
    let mut r = DVector::zeros(k);
    for (pg, pr) in parts {
        g += pg;
        r += pr;
    }
    let svd = g.svd(true, true);
    let eps = 1e-12 * svd.singular_values.max();
    let coef =
        svd.solve(&r, eps).map_err(|_| Error::SingularMatrix { what: "projection normal", level: 0 })?;
    let (mut ss, mut max) = (0.0f64, 0.0f64);
    let mut x = vec![0.0; k];
    for (index, &h) in hamiltonian.iter().enumerate() {
        row(index, &mut x);
        let fit: f64 = x.iter().zip(coef.iter()).map(|(a, b)| a * b).sum();
        let res = -h - fit;
        ss += res * res;
        max = max.max(res.abs());
    }
    Ok(Projection {
        constant: coef[0],
        couplings: basis
            .operators
            .iter()
            .zip(coef.iter().skip(1))
            .map(|(o, &c)| Coupling { name: o.name.clone(), kind: o.kind, value: c })
            .collect(),
        residual_rms: (ss / states as f64).sqrt(),
        residual_max: max,
    })
}
