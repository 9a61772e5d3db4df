//! The variational-RG ↔ RBM mapping (docs/science.md §3–§5) against brute-force double sums that
//! share no code with the library's Gray-code enumerations: every quantity is recomputed here
//! from `kernel_log_weight` (i.e. rbm-core's `energy` and the Hamiltonian's `energy`) alone.

use lattice_physics::{IsingModel, Lattice};
use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rbm_core::{Rbm, Units};
use rg_transforms::chain::{decimate, flow, ChainCouplings};
use rg_transforms::exact_rbms::{bond_rbm, decimation_rbm, verify_decimation_rbm, DecimationStack};
use rg_transforms::mapping::{
    exact_mapping, kernel_log_weight, normalized_kernel_log_weight, project, HiddenOperator, MappingOptions,
    OperatorBasis, OperatorKind, SpinHamiltonian, MAX_HIDDEN,
};
use rg_transforms::Error;

const ALL: MappingOptions = MappingOptions { double_sums: true };

fn spins(index: usize, n: usize) -> Vec<i8> {
    (0..n).map(|i| if index >> i & 1 == 1 { 1 } else { -1 }).collect()
}

fn lse(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Everything recomputed by brute force.
struct Brute {
    coarse: Vec<f64>,
    tau: Vec<f64>,
    p: Vec<f64>,
    delta_f: f64,
    kl: f64,
    gap: f64,
    norm_coarse: Vec<f64>,
    norm_trace_max: f64,
}

fn brute(ham: &SpinHamiltonian, rbm: &Rbm<f64>) -> Brute {
    let (n, m) = (rbm.n_visible(), rbm.n_hidden());
    let t = |v: usize, h: usize| kernel_log_weight(ham, rbm, &spins(v, n), &spins(h, m)).unwrap();
    let hv = |v: usize| ham.energy(&spins(v, n)).unwrap();
    let ln_z_h = lse((0..1 << n).map(|v| -hv(v)));
    let p: Vec<f64> = (0..1 << n).map(|v| (-hv(v) - ln_z_h).exp()).collect();
    let coarse: Vec<f64> = (0..1 << m).map(|h| -lse((0..1 << n).map(|v| t(v, h) - hv(v)))).collect();
    let tau: Vec<f64> = (0..1 << n).map(|v| lse((0..1 << m).map(|h| t(v, h)))).collect();
    let delta_f = -lse((0..1 << n).map(|v| p[v].ln() + tau[v]));
    // p_RBM(v) from the joint energy by brute force.
    let ln_joint: Vec<f64> = (0..1 << n).map(|v| lse((0..1 << m).map(|h| t(v, h) - hv(v)))).collect();
    let ln_z_rbm = lse(ln_joint.iter().copied());
    let kl: f64 = (0..1 << n).map(|v| p[v] * (p[v].ln() - (ln_joint[v] - ln_z_rbm))).sum();
    let gap: f64 = (0..1 << n).map(|v| p[v] * (-ln_joint[v] - hv(v))).sum();
    let tn = |v: usize, h: usize| normalized_kernel_log_weight(rbm, &spins(v, n), &spins(h, m)).unwrap();
    let norm_trace_max = (0..1 << n).map(|v| lse((0..1 << m).map(|h| tn(v, h))).abs()).fold(0.0, f64::max);
    let norm_coarse = (0..1 << m).map(|h| -lse((0..1 << n).map(|v| tn(v, h) - hv(v)))).collect();
    Brute { coarse, tau, p, delta_f, kl, gap, norm_coarse, norm_trace_max }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

fn check_against_brute(ham: &SpinHamiltonian, rbm: &Rbm<f64>) -> std::result::Result<(), TestCaseError> {
    let r = exact_mapping(ham, rbm, &ALL).unwrap();
    let b = brute(ham, rbm);
    let n = rbm.n_visible();
    // 1. H^RG(h) = H^RBM(h), three ways.
    for (h, &c) in b.coarse.iter().enumerate() {
        prop_assert!(
            close(r.coarse_hamiltonian[h], c, 1e-10),
            "H^RG({}) {} vs {}",
            h,
            r.coarse_hamiltonian[h],
            c
        );
        let g = Array1::from_iter(spins(h, rbm.n_hidden()).iter().map(|&s| {
            if s > 0 {
                rbm.hidden_units().upper()
            } else {
                rbm.hidden_units().lower()
            }
        }));
        prop_assert!(close(rbm.hidden_free_energy(g.view()).unwrap(), c, 1e-10));
    }
    prop_assert!(r.coarse_hamiltonian_check.unwrap() < 1e-9);
    // 2. ln Σ_h e^T = H(v) − H^RBM(v).
    for (v, &tau) in b.tau.iter().enumerate() {
        let u = Array1::from_iter(spins(v, n).iter().map(|&s| {
            if s > 0 {
                rbm.visible_units().upper()
            } else {
                rbm.visible_units().lower()
            }
        }));
        let expect = ham.energy(&spins(v, n)).unwrap() - rbm.free_energy(u.view()).unwrap();
        prop_assert!(close(tau, expect, 1e-10), "trace {} vs {}", tau, expect);
    }
    // Trace-condition violation statistics.
    let mean: f64 = b.p.iter().zip(&b.tau).map(|(p, t)| p * t).sum();
    let std = b.p.iter().zip(&b.tau).map(|(p, t)| p * (t - mean).powi(2)).sum::<f64>().sqrt();
    let max = b.tau.iter().map(|t| (t - mean).abs()).fold(0.0, f64::max);
    prop_assert!(close(r.trace_log_mean, mean, 1e-10));
    prop_assert!((r.trace_violation_max - max).abs() < 1e-9 * (1.0 + max));
    prop_assert!(
        (r.trace_violation_std - std).abs() < 1e-7 * (1.0 + std),
        "std {} vs {}",
        r.trace_violation_std,
        std
    );
    // 3. ΔF = −ln⟨Σ_h e^T⟩_P, and KL = ⟨H^RBM − H⟩_P − ΔF ≥ 0.
    prop_assert!(close(r.delta_f, b.delta_f, 1e-10), "ΔF {} vs {}", r.delta_f, b.delta_f);
    prop_assert!(
        close(r.kl_divergence, b.kl, 1e-9) || (r.kl_divergence - b.kl).abs() < 1e-10,
        "KL {} vs {}",
        r.kl_divergence,
        b.kl
    );
    prop_assert!(b.kl >= -1e-12);
    prop_assert!((b.kl - (b.gap - b.delta_f)).abs() < 1e-9 * (1.0 + b.gap.abs()));
    prop_assert!(r.kl_identity_residual.abs() < 1e-9 * (1.0 + r.mean_energy_gap.abs()));
    prop_assert!(close(r.mean_energy_gap, b.gap, 1e-10));
    // 4. The normalised kernel: trace condition, ΔF' = 0, and its coarse Hamiltonian.
    let norm = r.normalized.as_ref().unwrap();
    prop_assert!(b.norm_trace_max < 1e-12 && norm.trace_violation_max < 1e-12);
    prop_assert!(norm.delta_f.abs() < 1e-12);
    for (h, &c) in b.norm_coarse.iter().enumerate() {
        prop_assert!(
            close(norm.coarse_hamiltonian[h], c, 1e-10),
            "H'^RG({}) {} vs {}",
            h,
            norm.coarse_hamiltonian[h],
            c
        );
    }
    Ok(())
}

fn units() -> impl Strategy<Value = Units> {
    prop_oneof![Just(Units::Spin), Just(Units::Binary)]
}

prop_compose! {
    fn small_rbm(n: usize)(m in 1usize..=4, seed in proptest::collection::vec(-1.2f64..1.2, 4 * 7 + 7 + 4),
                          vu in units(), hu in units()) -> Rbm<f64> {
        let w = Array2::from_shape_fn((n, m), |(i, j)| seed[i * 4 + j]);
        let a = Array1::from_iter((0..n).map(|i| 0.5 * seed[28 + i]));
        let b = Array1::from_iter((0..m).map(|j| 0.5 * seed[35 + j]));
        Rbm::new(w, a, b, vu, hu).unwrap()
    }
}

prop_compose! {
    fn small_system()(n in 2usize..=6)
        (rbm in small_rbm(n), couplings in proptest::collection::vec((0..n, 0..n, -1.0f64..1.0), 0..8),
         fields in proptest::collection::vec(-0.6f64..0.6, n)) -> (SpinHamiltonian, Rbm<f64>) {
        let couplings = couplings.into_iter().filter(|&(i, j, _)| i != j).collect();
        (SpinHamiltonian::new(fields.len(), couplings, fields).unwrap(), rbm)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every identity of the mapping, for random small RBMs and random couplings.
    #[test]
    fn mapping_identities_hold((ham, rbm) in small_system()) {
        check_against_brute(&ham, &rbm)?;
    }

    /// Changing unit conventions (same distribution, energy shifted by a constant) leaves KL and
    /// the trace violation unchanged and shifts ΔF by the energy offset.
    #[test]
    fn unit_conventions_agree((ham, rbm) in small_system(), vu in units(), hu in units()) {
        let (other, offset) = rbm.with_units(vu, hu);
        let a = exact_mapping(&ham, &rbm, &ALL).unwrap();
        let b = exact_mapping(&ham, &other, &ALL).unwrap();
        prop_assert!((a.kl_divergence - b.kl_divergence).abs() < 1e-10);
        prop_assert!((a.trace_violation_max - b.trace_violation_max).abs() < 1e-9);
        prop_assert!((a.trace_violation_std - b.trace_violation_std).abs() < 1e-7);
        prop_assert!((a.delta_f - (b.delta_f + offset)).abs() < 1e-10 * (1.0 + a.delta_f.abs()));
    }

    /// The bond RBM has KL = 0 and satisfies the trace condition, for rings and tori with
    /// couplings of either sign and a field.
    #[test]
    fn bond_rbm_is_exact(k in -1.5f64..1.5, h in -0.8f64..0.8, n in 3usize..=8, torus in any::<bool>()) {
        let model = if torus { IsingModel::new(Lattice::square(3).unwrap(), k, h) } else { IsingModel::new(Lattice::ring(n).unwrap(), k, h) }.unwrap();
        let ham = SpinHamiltonian::ising(&model).unwrap();
        let rbm = bond_rbm(&ham).unwrap();
        // The 3×3 torus has 18 bonds: skip the 2^27-term double sums there.
        let r = exact_mapping(&ham, &rbm, &MappingOptions { double_sums: !torus }).unwrap();
        prop_assert!(r.kl_divergence.abs() < 1e-12, "KL {}", r.kl_divergence);
        prop_assert!(r.trace_violation_max < 1e-11 && r.trace_violation_std < 1e-11);
        // Trace condition up to the known constant: ln Σ_h e^T = Σ_b (ln 2 + |K|).
        let bonds = model.lattice().num_bonds() as f64;
        prop_assert!((r.trace_log_mean - bonds * (2f64.ln() + k.abs())).abs() < 1e-10 * bonds);
        prop_assert!((r.delta_f + bonds * (2f64.ln() + k.abs())).abs() < 1e-10 * bonds);
        if let Some(norm) = &r.normalized {
            prop_assert!(norm.max_deviation_from_rbm_marginal < 1e-10);
        }
    }

    /// The least-squares projection recovers couplings that lie in the basis.
    #[test]
    fn projection_recovers_basis_couplings(coefs in proptest::collection::vec(-1.0f64..1.0, 12), torus in any::<bool>()) {
        let lattice = if torus { Lattice::square(3).unwrap() } else { Lattice::ring(7).unwrap() };
        let basis = OperatorBasis::standard(lattice).unwrap();
        let k = basis.operators().len();
        prop_assert!(k < 12);
        let m = basis.num_spins();
        let ham: Vec<f64> = (0..1usize << m)
            .map(|h| -(coefs[0] + (0..k).map(|a| coefs[a + 1] * basis.evaluate(a, h)).sum::<f64>()))
            .collect();
        let p = project(&ham, &basis).unwrap();
        prop_assert!((p.constant - coefs[0]).abs() < 1e-10);
        for (a, c) in p.couplings.iter().map(|c| c.value).enumerate() {
            prop_assert!((c - coefs[a + 1]).abs() < 1e-10, "{}: {} vs {}", a, c, coefs[a + 1]);
        }
        prop_assert!(p.residual_max < 1e-10);
    }
}

#[test]
fn decimation_rbm_realises_one_rg_step() {
    for n in [4usize, 6, 8, 12, 16] {
        for k in [0.1, 0.5, 1.0, 2.0, -0.7] {
            let c = verify_decimation_rbm(n, k).unwrap();
            assert!(c.joint_max_error.unwrap() < 1e-12, "n={n} K={k}: joint {:?}", c.joint_max_error);
            assert!(c.hidden_max_error < 1e-10, "n={n} K={k}: hidden {}", c.hidden_max_error);
            assert!((c.renormalized_coupling - 0.5 * (2.0 * k).cosh().ln()).abs() < 1e-15);
            // Its visible marginal is the ring of n/2 at K': KL = 0, trace condition holds.
            assert!(c.kl_divergence.abs() < 1e-12 && c.trace_violation_max < 1e-10, "n={n} K={k}: {c:?}");
        }
    }
}

#[test]
fn projection_of_the_decimation_rbm_recovers_k_prime() {
    let (n, k) = (16usize, 0.8);
    let m = n / 2;
    let step = decimate(ChainCouplings::new(k, 0.0).unwrap());
    let kp = step.couplings.coupling;
    let rbm = decimation_rbm(n, k).unwrap();
    let r = exact_mapping(&SpinHamiltonian::ring(m, kp, 0.0).unwrap(), &rbm, &ALL).unwrap();
    let basis = OperatorBasis::standard(Lattice::ring(m).unwrap()).unwrap();
    let p = project(&r.coarse_hamiltonian, &basis).unwrap();
    assert!(p.residual_max < 1e-10, "residual {}", p.residual_max);
    assert!((p.constant - m as f64 * step.constant).abs() < 1e-10);
    for rg_transforms::mapping::Coupling { name, value: c, .. } in &p.couplings {
        let expect = if name == "pair_r2_1" { kp } else { 0.0 };
        assert!((c - expect).abs() < 1e-10, "{name}: {c} vs {expect}");
    }
    // The geometry-free basis finds the same couplings on the nearest-neighbour pairs.
    let all = project(&r.coarse_hamiltonian, &OperatorBasis::all_pairs(m).unwrap()).unwrap();
    assert!(all.residual_max < 1e-10);
    for rg_transforms::mapping::Coupling { name, value: c, .. } in &all.couplings {
        let adjacent = (0..m).any(|j| *name == format!("pair_{}_{}", j.min((j + 1) % m), j.max((j + 1) % m)));
        let expect = if adjacent { kp } else { 0.0 };
        assert!((c - expect).abs() < 1e-10, "{name}: {c} vs {expect}");
    }
    // The normalised kernel sees data that are exactly the RBM's visible marginal, so its coarse
    // Hamiltonian is the same ring at K' (a different constant).
    let norm = r.normalized.unwrap();
    assert!(norm.max_deviation_from_rbm_marginal < 1e-10);
    let p2 = project(&norm.coarse_hamiltonian, &basis).unwrap();
    assert!(p2.residual_max < 1e-10);
    assert!((p2.get("pair_r2_1").unwrap() - kp).abs() < 1e-10);
}

#[test]
fn decimation_stack_follows_the_exact_flow() {
    let stack = DecimationStack::new(16, 1.0, 3).unwrap();
    let expect = [1.0, 0.6625013737, 0.3500611389, 0.1136720675];
    for (k, e) in stack.couplings.iter().zip(expect) {
        assert!((k - e).abs() < 1e-10);
    }
    assert_eq!(stack.rbms.iter().map(|r| r.n_visible()).collect::<Vec<_>>(), vec![8, 4, 2]);
    for (layer, check) in stack.verify().unwrap().iter().enumerate() {
        assert!(check.hidden_max_error < 1e-10 && check.joint_max_error.unwrap() < 1e-12, "layer {layer}");
        assert!((check.renormalized_coupling - stack.couplings[layer + 1]).abs() < 1e-15);
        // Layer weights are K_n, two per visible unit (on a ring of 4 the two neighbours of a
        // removed spin are the same pair of kept spins, so every weight is K_n).
        let w = &stack.rbms[layer].weights();
        assert!(w.iter().all(|&x| x == 0.0 || x == stack.couplings[layer]));
        assert!(w.rows().into_iter().all(|r| r.iter().filter(|&&x| x != 0.0).count() == 2.min(r.len())));
    }
    assert!(DecimationStack::new(16, 1.0, 4).is_err()); // would leave a single spin
    assert!(DecimationStack::new(12, 1.0, 3).is_err());
    let f = flow(ChainCouplings::new(1.0, 0.0).unwrap(), 3).unwrap();
    assert_eq!(f.couplings(), stack.couplings);
}

#[test]
fn oversized_inputs_are_refused() {
    let too_many = SpinHamiltonian::new(25, vec![], vec![0.0; 25]);
    assert!(matches!(too_many, Err(Error::TooManySpins { spins: 25, max: 24, .. })));
    let model = IsingModel::new(Lattice::square(5).unwrap(), 0.4, 0.0).unwrap();
    assert!(matches!(SpinHamiltonian::ising(&model), Err(Error::TooManySpins { .. })));
    let ham = SpinHamiltonian::ring(4, 0.3, 0.0).unwrap();
    let wide = Rbm::zeros(4, MAX_HIDDEN + 1, Units::Spin, Units::Spin).unwrap();
    assert!(matches!(exact_mapping(&ham, &wide, &ALL), Err(Error::TooManySpins { what: "hidden", .. })));
    let wrong = Rbm::zeros(5, 2, Units::Spin, Units::Spin).unwrap();
    assert!(matches!(exact_mapping(&ham, &wrong, &ALL), Err(Error::SizeMismatch { .. })));
    assert!(verify_decimation_rbm(26, 0.3).is_err());
    assert!(decimation_rbm(6 + 1, 0.3).is_err());
    assert!(OperatorBasis::new(3, vec![HiddenOperator::new("x", vec![vec![3]])]).is_err());
    // A kind that does not match the monomials is refused.
    let lying = HiddenOperator { name: "x".into(), kind: OperatorKind::Pair, monomials: vec![vec![0]] };
    assert!(OperatorBasis::new(3, vec![lying]).is_err());
    assert!(project(&[0.0; 7], &OperatorBasis::standard(Lattice::ring(3).unwrap()).unwrap()).is_err());
}

#[test]
fn largest_enumeration_is_fast_enough_and_consistent() {
    // 16 visible spins (4×4 torus at K_c) and 4 hidden units: a realistic CLI case.
    let model = IsingModel::new(Lattice::square(4).unwrap(), lattice_physics::K_CRITICAL, 0.0).unwrap();
    let ham = SpinHamiltonian::ising(&model).unwrap();
    let mut rng = lattice_physics::rng::chain_rng(4, 0);
    let rbm = Rbm::<f64>::random(16, 4, Units::Spin, Units::Spin, 0.3, &mut rng).unwrap();
    let r = exact_mapping(&ham, &rbm, &ALL).unwrap();
    assert!(r.kl_divergence > 0.0);
    assert!(r.kl_identity_residual.abs() < 1e-9);
    assert!(r.coarse_hamiltonian_check.unwrap() < 1e-9);
    assert!(r.normalized.as_ref().unwrap().delta_f.abs() < 1e-12);
    // ln Z_H of the 4×4 torus agrees with lattice-physics' exact Kaufman solution.
    let exact = lattice_physics::exact::kaufman(4, lattice_physics::K_CRITICAL).unwrap();
    assert!((r.ln_z_hamiltonian - 16.0 * exact.ln_z_per_site).abs() < 1e-10);
}

#[test]
fn multi_chunk_enumerations_agree_with_rbm_core() {
    // 14 visible and 13 hidden spins: both enumerations run over several chunks of 2^12 states.
    let (n, m) = (14usize, 13usize);
    let ham = SpinHamiltonian::ring(n, 0.35, 0.1).unwrap();
    let mut rng = lattice_physics::rng::chain_rng(8, 0);
    let mut parts = Rbm::<f64>::random(n, m, Units::Spin, Units::Binary, 0.4, &mut rng).unwrap().into_parts();
    parts.visible_bias.iter_mut().enumerate().for_each(|(i, a)| *a = 0.05 * i as f64 - 0.3);
    parts.hidden_bias.iter_mut().enumerate().for_each(|(j, b)| *b = 0.1 - 0.02 * j as f64);
    let rbm = Rbm::try_from(parts).unwrap();
    let r = exact_mapping(&ham, &rbm, &MappingOptions { double_sums: false }).unwrap();
    assert!(r.normalized.is_none() && r.coarse_hamiltonian_check.is_none());
    // H^RG(h) against rbm-core's hidden free energy, for every h.
    let hs = rbm_core::all_states::<f64>(m, Units::Binary).unwrap();
    let fh = rbm.hidden_free_energies(hs.view()).unwrap();
    for (k, (&a, &b)) in r.coarse_hamiltonian.iter().zip(fh.iter()).enumerate() {
        assert!((a - b).abs() < 1e-10 * (1.0 + b.abs()), "h = {k}: {a} vs {b}");
    }
    // Visible-side quantities against rbm-core's free energies and the Hamiltonian, directly.
    let vs = rbm_core::all_states::<f64>(n, Units::Spin).unwrap();
    let fv = rbm.free_energies(vs.view()).unwrap();
    let hv: Vec<f64> = (0..1usize << n).map(|v| ham.energy(&spins(v, n)).unwrap()).collect();
    let ln_z_h = lse(hv.iter().map(|h| -h));
    let tau: Vec<f64> = hv.iter().zip(fv.iter()).map(|(h, f)| h - f).collect();
    let p: Vec<f64> = hv.iter().map(|h| (-h - ln_z_h).exp()).collect();
    let mean: f64 = p.iter().zip(&tau).map(|(p, t)| p * t).sum();
    let max = tau.iter().map(|t| (t - mean).abs()).fold(0.0, f64::max);
    let delta_f = -lse(p.iter().zip(&tau).map(|(p, t)| p.ln() + t));
    let ln_z_rbm = lse(fv.iter().map(|f| -f));
    let kl: f64 = p.iter().zip(fv.iter()).map(|(p, f)| p * (p.ln() + f + ln_z_rbm)).sum();
    assert!((r.ln_z_hamiltonian - ln_z_h).abs() < 1e-10);
    assert!((r.trace_log_mean - mean).abs() < 1e-10 * (1.0 + mean.abs()));
    assert!((r.trace_violation_max - max).abs() < 1e-9 * (1.0 + max));
    assert!((r.delta_f - delta_f).abs() < 1e-10 * (1.0 + delta_f.abs()));
    assert!((r.kl_divergence - kl).abs() < 1e-10 * (1.0 + kl));
    assert!(kl > 0.0);
}

#[test]
fn operator_kinds_are_typed_and_select_pairs_only() {
    // A coarse Hamiltonian with strong fields and weak pairs on 4 spins: -H = Σ 2 s_j + 0.1 s_0 s_1.
    let m = 4;
    let ham: Vec<f64> = (0..1usize << m)
        .map(|h| {
            let s = |i: usize| if h >> i & 1 == 1 { 1.0 } else { -1.0 };
            -((0..m).map(|j| 2.0 * s(j)).sum::<f64>() + 0.1 * s(0) * s(1))
        })
        .collect();
    let basis = OperatorBasis::all_pairs(m).unwrap();
    assert_eq!(basis.operators().iter().filter(|o| o.kind == OperatorKind::Field).count(), m);
    assert_eq!(basis.operators().iter().filter(|o| o.kind == OperatorKind::Pair).count(), m * (m - 1) / 2);
    let p = project(&ham, &basis).unwrap();
    let pairs: Vec<_> = p.of_kind(OperatorKind::Pair).collect();
    assert_eq!(pairs.len(), m * (m - 1) / 2);
    assert!(pairs.iter().all(|c| c.kind == OperatorKind::Pair && c.name.starts_with("pair_")));
    let strongest_field = p.of_kind(OperatorKind::Field).map(|c| c.value.abs()).fold(0.0, f64::max);
    let strongest_pair = pairs.iter().map(|c| c.value.abs()).fold(0.0, f64::max);
    assert!((strongest_field - 2.0).abs() < 1e-10 && (strongest_pair - 0.1).abs() < 1e-10);
    // The standard basis labels its operators by kind too.
    let std = OperatorBasis::standard(Lattice::ring(6).unwrap()).unwrap();
    let kinds: Vec<_> = std.operators().iter().map(|o| o.kind).collect();
    assert_eq!(kinds[0], OperatorKind::Field);
    assert!(kinds.contains(&OperatorKind::ThreeSpin) && kinds.contains(&OperatorKind::FourSpin));
    assert_eq!(OperatorKind::of(&[vec![0], vec![0, 1]]), OperatorKind::Other);
}
