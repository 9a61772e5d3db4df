//! Pseudo-likelihood couplings against known answers (docs/science.md §7):
//! Monte Carlo data at known `K` (the fit recovers `K` and zeros within 4σ, with σ bounded),
//! the exact distribution of a 4×4 torus (recovery to 1e-8), and the exact coarse distribution of
//! a 4×4 → 2×2 blocking against the least-squares projection of its enumerated coarse Hamiltonian.

use lattice_physics::dataset::{generate, DatasetConfig, Sweeps};
use lattice_physics::model::bond_sum;
use lattice_physics::sampler::Algorithm;
use lattice_physics::{Configurations, IsingModel, Lattice};
use rg_transforms::couplings::{CouplingConfig, CouplingFit, CouplingOperator, PseudoLikelihood};
use rg_transforms::mapping::{project, OperatorBasis};

fn config(ops: &[CouplingOperator], blocks: usize) -> CouplingConfig {
    CouplingConfig {
        operators: ops.to_vec(),
        tolerance: 1e-12,
        max_iterations: 100,
        jackknife_blocks: blocks,
    }
}

/// All `2^n` configurations, spin `i` of state `k` up iff bit `i` of `k` is set.
fn all_states(n: usize) -> Vec<i8> {
    let mut data = Vec::with_capacity(n << n);
    for k in 0..1usize << n {
        data.extend((0..n).map(|i| if k >> i & 1 == 1 { 1i8 } else { -1 }));
    }
    data
}

/// Boltzmann weights `e^{w(s)}` normalised by their largest value.
fn weights(data: &[i8], n: usize, minus_h: impl Fn(&[i8]) -> f64) -> Vec<f64> {
    let log_w: Vec<f64> = data.chunks_exact(n).map(minus_h).collect();
    let top = log_w.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    log_w.iter().map(|v| (v - top).exp()).collect()
}

/// `Σ_x s_x s_{x+d}` summed over the listed displacements, written out with coordinates
/// (independently of the crate's operator tables).
fn pair_sum(l: usize, s: &[i8], displacements: &[(isize, isize)]) -> f64 {
    let at = |x: isize, y: isize| {
        s[(y.rem_euclid(l as isize) as usize) * l + x.rem_euclid(l as isize) as usize] as f64
    };
    let mut total = 0.0;
    for y in 0..l as isize {
        for x in 0..l as isize {
            for &(dx, dy) in displacements {
                total += at(x, y) * at(x + dx, y + dy);
            }
        }
    }
    total
}

fn plaquette_sum(l: usize, s: &[i8]) -> f64 {
    let at = |x: usize, y: usize| s[(y % l) * l + x % l] as f64;
    let mut total = 0.0;
    for y in 0..l {
        for x in 0..l {
            total += at(x, y) * at(x + 1, y) * at(x, y + 1) * at(x + 1, y + 1);
        }
    }
    total
}

fn value(fit: &CouplingFit, op: CouplingOperator) -> f64 {
    fit.get(op).unwrap().mean
}

#[test]
fn exact_nearest_neighbour_distribution_on_4x4_is_recovered_to_1e_8() {
    let lattice = Lattice::square(4).unwrap();
    let data = all_states(16);
    let fitter = PseudoLikelihood::new(lattice, &config(&CouplingOperator::ALL, 2)).unwrap();
    for k in [0.2, 0.44, 0.7] {
        let w = weights(&data, 16, |s| k * bond_sum(lattice, s).unwrap() as f64);
        let fit = fitter.fit_weighted(&Configurations::new(lattice, data.clone()).unwrap(), &w).unwrap();
        assert!(fit.converged && fit.iterations < 30, "{fit:?}");
        for (op, v) in fit.operators.iter().zip(&fit.values) {
            let expect = if *op == CouplingOperator::NearestNeighbour { k } else { 0.0 };
            assert!((v - expect).abs() < 1e-8, "K = {k}: {op:?} = {v}, expected {expect}");
        }
        assert!(fit.errors.iter().all(|&e| e == 0.0));
    }
}

#[test]
fn exact_multi_coupling_distribution_on_4x4_is_recovered_to_1e_8() {
    let (l, n) = (4, 16);
    let lattice = Lattice::square(l).unwrap();
    let data = all_states(n);
    let (k1, k2, k3, k5, k8, kp) = (0.25, -0.08, 0.04, 0.03, -0.02, 0.1);
    let w = weights(&data, n, |s| {
        k1 * pair_sum(l, s, &[(1, 0), (0, 1)])
            + k2 * pair_sum(l, s, &[(1, 1), (1, -1)])
            + k3 * pair_sum(l, s, &[(2, 0), (0, 2)])
            + k5 * pair_sum(l, s, &[(2, 1), (1, 2), (2, -1), (1, -2)])
            + k8 * pair_sum(l, s, &[(2, 2), (2, -2)])
            + kp * plaquette_sum(l, s)
    });
    let fit = PseudoLikelihood::new(lattice, &config(&CouplingOperator::ALL, 2))
        .unwrap()
        .fit_weighted(&Configurations::new(lattice, data).unwrap(), &w)
        .unwrap();
    assert!(fit.converged);
    use CouplingOperator::*;
    for (op, expect) in [
        (NearestNeighbour, k1),
        (NextNearestNeighbour, k2),
        (ThirdNeighbour, k3),
        (KnightNeighbour, k5),
        (DiagonalTwo, k8),
        (Plaquette, kp),
    ] {
        assert!((value(&fit, op) - expect).abs() < 1e-8, "{op:?} = {}, expected {expect}", value(&fit, op));
    }
}

/// The exact distribution of the 2×2 coarse spins of a 4×4 torus at coupling `k`, blocked by
/// majority rule (ties: each sign with probability ½) or by decimation (top-left spin), as
/// probabilities indexed by the coarse state (bit `j` ↔ coarse spin `j` up).
fn coarse_distribution(k: f64, majority: bool) -> Vec<f64> {
    let lattice = Lattice::square(4).unwrap();
    let mut p = [0.0f64; 16];
    let mut s = [0i8; 16];
    for state in 0..1usize << 16 {
        for (i, v) in s.iter_mut().enumerate() {
            *v = if state >> i & 1 == 1 { 1 } else { -1 };
        }
        let w = (k * (bond_sum(lattice, &s).unwrap() as f64 - 32.0)).exp();
        // p(h | v) as a product over the four blocks.
        let mut probs = [[0.0f64; 2]; 4]; // [block][h = -1, +1]
        for (j, pr) in probs.iter_mut().enumerate() {
            let (bx, by) = (2 * (j % 2), 2 * (j / 2));
            if majority {
                let sum: i32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                    .iter()
                    .map(|(dx, dy)| s[(by + dy) * 4 + bx + dx] as i32)
                    .sum();
                *pr = match sum.signum() {
                    1 => [0.0, 1.0],
                    -1 => [1.0, 0.0],
                    _ => [0.5, 0.5],
                };
            } else {
                *pr = if s[by * 4 + bx] == 1 { [0.0, 1.0] } else { [1.0, 0.0] };
            }
        }
        for (h, ph) in p.iter_mut().enumerate() {
            let q: f64 = (0..4).map(|j| probs[j][h >> j & 1]).product();
            *ph += w * q;
        }
    }
    let z: f64 = p.iter().sum();
    p.iter().map(|v| v / z).collect()
}

#[test]
fn exact_coarse_distribution_matches_the_projection_of_the_coarse_hamiltonian() {
    // On a 2×2 torus the translation-, reflection- and flip-invariant functions are spanned by
    // the constant, the nearest-neighbour pairs, the two diagonal pairs and the product of all
    // four spins, so the projection is exact and the pseudo-likelihood must agree with it.
    // Multiplicities: the crate's nearest-neighbour operator counts each of the 4 pairs twice,
    // its next-nearest operator each of the 2 diagonal pairs four times, and its plaquette the
    // 4-spin product 4 times, as OperatorBasis's `four_spin` does; hence
    // pair_r2_1 = 2 K_nn, pair_r2_2 = 4 K_nnn, four_spin = K_plaquette.
    let coarse = Lattice::square(2).unwrap();
    let ops = [
        CouplingOperator::NearestNeighbour,
        CouplingOperator::NextNearestNeighbour,
        CouplingOperator::Plaquette,
    ];
    let fitter = PseudoLikelihood::new(coarse, &config(&ops, 2)).unwrap();
    let basis = OperatorBasis::standard(coarse).unwrap();
    let states = all_states(4);
    for majority in [true, false] {
        for k in [0.3, 0.4406868, 0.6] {
            let p = coarse_distribution(k, majority);
            let h: Vec<f64> = p.iter().map(|v| -v.ln()).collect();
            let proj = project(&h, &basis).unwrap();
            assert!(proj.residual_max < 1e-10, "projection not exact: {proj:?}");
            let c = |name: &str| proj.get(name).unwrap();
            assert!(c("field").abs() < 1e-10 && c("three_spin").abs() < 1e-10);
            let fit = fitter.fit_weighted(&Configurations::new(coarse, states.clone()).unwrap(), &p).unwrap();
            assert!(fit.converged);
            let (knn, knnn, kp) = (fit.values[0], fit.values[1], fit.values[2]);
            let what = if majority { "majority" } else { "decimation" };
            assert!((2.0 * knn - c("pair_r2_1")).abs() < 1e-8, "{what} K={k}: {knn} vs {proj:?}");
            assert!((4.0 * knnn - c("pair_r2_2")).abs() < 1e-8, "{what} K={k}: {knnn} vs {proj:?}");
            assert!((kp - c("four_spin")).abs() < 1e-8, "{what} K={k}: {kp} vs {proj:?}");
            // The same statement without multiplicities: both fits give the same −H up to a constant.
            let diffs: Vec<f64> = states
                .chunks_exact(4)
                .zip(&h)
                .map(|(s, &hs)| {
                    let pl: f64 =
                        ops.iter().zip(&fit.values).map(|(o, v)| v * o.evaluate(coarse, s).unwrap()).sum();
                    pl + hs
                })
                .collect();
            assert!(diffs.iter().all(|d| (d - diffs[0]).abs() < 1e-8), "{what} K={k}: {diffs:?}");
            // Decimation of a 4×4 torus is not the nearest-neighbour model at some K' either:
            // the coarse spins are correlated through two paths, so K_nnn and K_plaquette are nonzero.
            assert!(knnn.abs() > 1e-4 || kp.abs() > 1e-4);
        }
    }
}

#[test]
fn monte_carlo_data_at_known_coupling_recover_it_within_four_sigma() {
    let lattice = Lattice::square(16).unwrap();
    let mut cfg = config(&CouplingOperator::ALL, 20);
    cfg.tolerance = 1e-10;
    let fitter = PseudoLikelihood::new(lattice, &cfg).unwrap();
    for (k, seed) in [(0.3, 11u64), (0.4, 12)] {
        let model = IsingModel::new(lattice, k, 0.0).unwrap();
        let cfg =
            DatasetConfig { samples: 3000, chains: 2, thermalize: Sweeps::Auto, thin: Sweeps::Auto, seed };
        let data = generate(model, Algorithm::Wolff, &cfg, &|_| {}).unwrap();
        let fit = fitter.fit(&Configurations::new(lattice, data.spins).unwrap()).unwrap();
        assert!(fit.converged, "{fit:?}");
        for (op, (v, e)) in fit.operators.iter().zip(fit.values.iter().zip(&fit.errors)) {
            let expect = if *op == CouplingOperator::NearestNeighbour { k } else { 0.0 };
            // 3000 × 256 conditionals: every error is a few 1e-3; bound it at 0.01.
            assert!(*e > 0.0 && *e < 0.01, "K = {k}: {op:?} error {e}");
            assert!((v - expect).abs() < 4.0 * e, "K = {k}: {op:?} = {v} ± {e}, expected {expect}");
        }
    }
}
