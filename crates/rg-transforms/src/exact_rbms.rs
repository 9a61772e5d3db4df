//! RBMs that perform exact RG steps (docs/science.md §5), built by hand and verified by enumeration.
//!
//! Sign convention: rbm-core's `E(v, h) = −vᵀWh − aᵀv − bᵀh` with spin (`±1`) units, so a
//! weight `W_ij = K` contributes `−K v_i h_j` to the energy, exactly like a ferromagnetic bond
//! `−K s s'` of the dimensionless Ising Hamiltonian `H = −K Σ s_i s_{i+1}`.
//!
//! - [`decimation_rbm`]: the chain of `N` spins split into removed spins (odd sites, visible
//!   unit `i` = site `2i+1`) and kept spins (even sites, hidden unit `j` = site `2j`); visible
//!   `i` couples to hidden `i` and `i+1 (mod N/2)` with weight `K`, no biases. Its joint
//!   distribution is the chain itself, so its hidden marginal is the ring of `N/2` spins at
//!   `K' = ½ ln cosh 2K`: `hidden_free_energy(h) = −K' Σ_j h_j h_{j+1} − (N/2) g`,
//!   `g = ln(2√cosh 2K)`. By the symmetry of the chain its visible marginal is the same ring.
//! - [`DecimationStack`]: layer `ℓ` is the decimation RBM of the ring of `N/2^ℓ` spins at
//!   `K_ℓ`; the hidden (kept) spins of layer `ℓ` are the ring that layer `ℓ+1` splits again
//!   into its visible (odd) and hidden (even) units. (So the layers do not chain as an
//!   rbm-core DBN, whose layer `ℓ+1` would see *all* hidden units of layer `ℓ`: only half of
//!   them are layer `ℓ+1`'s visible units, the other half are its hidden units.)
//! - [`bond_rbm`]: for any pairwise Hamiltonian, one hidden spin per coupling `J_b` between
//!   `v_i` and `v_k`, with weights `w` to `v_i` and `sign(J_b) w` to `v_k`, `cosh 2w = e^{2|J_b|}`,
//!   and visible biases equal to the fields. Summing out the hidden spins gives
//!   `free_energy(v) = H(v) − Σ_b (ln 2 + |J_b|)`: the visible marginal is `P(v)` exactly, so
//!   KL = 0 and the mapping's trace condition holds.

use ndarray::{Array1, Array2};
use rbm_core::{Rbm, Units};
use serde::{Deserialize, Serialize};

use crate::chain::{decimate, flow, ChainCouplings};
use crate::error::{Error, Result};
use crate::mapping::{exact_mapping, MappingOptions, SpinHamiltonian, MAX_VISIBLE};

/// The decimation RBM of a ring of `n` spins (`n` even, `n ≥ 4`) at coupling `K`.
pub fn decimation_rbm(n: usize, coupling: f64) -> Result<Rbm<f64>> {
    if n < 4 || n % 2 != 0 {
        return Err(Error::InvalidParameter {
            name: "ring size",
            reason: "the decimation RBM needs an even ring of at least 4 spins",
        });
    }
    let c = ChainCouplings::new(coupling, 0.0)?;
    let m = n / 2;
    let mut w = Array2::zeros((m, m));
    for i in 0..m {
        w[(i, i)] += c.coupling;
        w[(i, (i + 1) % m)] += c.coupling;
    }
    Ok(Rbm::new(w, Array1::zeros(m), Array1::zeros(m), Units::Spin, Units::Spin)?)
}

/// How well one decimation RBM realises one RG step (all by enumeration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecimationCheck {
    /// Ring size `N` of this layer.
    pub ring_size: usize,
    /// `K` (the weights).
    pub coupling: f64,
    /// `K'` of the exact recursion.
    pub renormalized_coupling: f64,
    /// `max_{v,h} |E(v,h) − H_ring(σ)|`, with `σ` the interleaved ring (only for `N ≤ 20`).
    pub joint_max_error: Option<f64>,
    /// `max_h |hidden_free_energy(h) − (−K' Σ h_j h_{j+1} − (N/2) g)|`.
    pub hidden_max_error: f64,
    /// The mapping with `H` = the ring of `N/2` spins at `K'` on the visible (removed) spins:
    /// largest trace-condition violation.
    pub trace_violation_max: f64,
    /// ... and `KL(P ‖ p_RBM)`, zero when the RBM's visible marginal is that ring.
    pub kl_divergence: f64,
}

/// Verify [`decimation_rbm`]`(n, K)` by enumeration (`n ≤ 24`; the joint check enumerates
/// `2^n` states and is done for `n ≤ 20` only).
pub fn verify_decimation_rbm(n: usize, coupling: f64) -> Result<DecimationCheck> {
    if n > MAX_VISIBLE {
        return Err(Error::TooManySpins { what: "ring", spins: n, max: MAX_VISIBLE });
    }
    let rbm = decimation_rbm(n, coupling)?;
    let m = n / 2;
    let step = decimate(ChainCouplings::new(coupling, 0.0)?);
    let kp = step.couplings.coupling;
    // Joint: E(v, h) = −K Σ_i σ_i σ_{i+1} with σ_{2j} = h_j, σ_{2i+1} = v_i.
    let mut joint = 0.0f64;
    let mut v = Array1::zeros(m);
    let mut h = Array1::zeros(m);
    let joint_states = if n <= 20 { 1u64 << n } else { 0 };
    for bits in 0u64..joint_states {
        let sigma = |s: usize| if bits >> (s % n) & 1 == 1 { 1.0 } else { -1.0 };
        for i in 0..m {
            v[i] = sigma(2 * i + 1);
            h[i] = sigma(2 * i);
        }
        let ring: f64 = -coupling * (0..n).map(|s| sigma(s) * sigma(s + 1)).sum::<f64>();
        joint = joint.max((rbm.energy(v.view(), h.view())? - ring).abs());
    }
    // Hidden marginal.
    let mut hidden = 0.0f64;
    for bits in 0u64..(1u64 << m) {
        for j in 0..m {
            h[j] = if bits >> j & 1 == 1 { 1.0 } else { -1.0 };
        }
        let bonds: f64 = (0..m).map(|j| h[j] * h[(j + 1) % m]).sum();
        let expect = -kp * bonds - m as f64 * step.constant;
        hidden = hidden.max((rbm.hidden_free_energy(h.view())? - expect).abs());
    }
    let report =
        exact_mapping(&SpinHamiltonian::ring(m, kp, 0.0)?, &rbm, &MappingOptions { double_sums: false })?;
    Ok(DecimationCheck {
        ring_size: n,
        coupling,
        renormalized_coupling: kp,
        joint_max_error: (n <= 20).then_some(joint),
        hidden_max_error: hidden,
        trace_violation_max: report.trace_violation_max,
        kl_divergence: report.kl_divergence,
    })
}

/// A stack of decimation RBMs, layer `ℓ` on the ring of `N/2^ℓ` spins with weights `K_ℓ`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecimationStack {
    /// `K_0, K_1, …, K_layers` (the last one is the coupling of the top hidden ring).
    pub couplings: Vec<f64>,
    /// One RBM per layer.
    pub rbms: Vec<Rbm<f64>>,
}

impl DecimationStack {
    /// Build `layers ≥ 1` layers from a ring of `n` spins at coupling `K`: `n` must be divisible
    /// by `2^layers` and leave at least 2 spins at the top.
    pub fn new(n: usize, coupling: f64, layers: usize) -> Result<Self> {
        if layers == 0 || layers > 20 || n % (1 << layers) != 0 || n >> layers < 2 {
            return Err(Error::InvalidParameter {
                name: "layers",
                reason:
                    "need 1 ≤ layers ≤ 20 with the ring size divisible by 2^layers and at least 2 spins left",
            });
        }
        let f = flow(ChainCouplings::new(coupling, 0.0)?, layers)?;
        let couplings = f.couplings();
        let rbms = (0..layers).map(|l| decimation_rbm(n >> l, couplings[l])).collect::<Result<Vec<_>>>()?;
        Ok(DecimationStack { couplings, rbms })
    }

    /// Verify every layer with [`verify_decimation_rbm`] (ring sizes at most 24).
    pub fn verify(&self) -> Result<Vec<DecimationCheck>> {
        self.rbms
            .iter()
            .zip(&self.couplings)
            .map(|(r, &k)| verify_decimation_rbm(2 * r.n_visible(), k))
            .collect()
    }
}

/// One hidden spin per coupling: an RBM whose visible marginal is exactly `P(v) ∝ e^{−H(v)}`
/// (see the module documentation). Fails if the Hamiltonian has no coupling.
pub fn bond_rbm(ham: &SpinHamiltonian) -> Result<Rbm<f64>> {
    let n = ham.num_spins();
    let bonds = ham.couplings();
    if bonds.is_empty() {
        return Err(Error::InvalidParameter {
            name: "hamiltonian",
            reason: "the bond RBM needs at least one coupling",
        });
    }
    let mut w = Array2::zeros((n, bonds.len()));
    for (b, &(i, k, j)) in bonds.iter().enumerate() {
        let a = j.abs();
        // w = ½ arccosh(e^{2a}) = a + ½ ln(1 + √(1 − e^{−4a})), stable for every a ≥ 0.
        let weight = a + 0.5 * (1.0 + (1.0 - (-4.0 * a).exp()).sqrt()).ln();
        w[(i, b)] += weight;
        w[(k, b)] += if j < 0.0 { -weight } else { weight };
    }
    Ok(Rbm::new(
        w,
        Array1::from(ham.fields().to_vec()),
        Array1::zeros(bonds.len()),
        Units::Spin,
        Units::Spin,
    )?)
}
