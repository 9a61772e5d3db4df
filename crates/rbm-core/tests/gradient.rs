//! The exact log-likelihood gradient (data term minus model term, the formulas training
//! estimates) against brute-force enumeration of joint states and against finite differences
//! of the exact log-likelihood, on tiny models with every combination of units.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{all_states, Rbm, Units};

fn random_model(nv: usize, nh: usize, vu: Units, hu: Units, rng: &mut Xoshiro256PlusPlus) -> Rbm<f64> {
    let w = Array2::from_shape_fn((nv, nh), |_| rng.random_range(-1.0..1.0));
    let a = Array1::from_shape_fn(nv, |_| rng.random_range(-1.0..1.0));
    let b = Array1::from_shape_fn(nh, |_| rng.random_range(-1.0..1.0));
    Rbm::new(w, a, b, vu, hu).unwrap()
}

fn random_data(n: usize, nv: usize, units: Units, rng: &mut Xoshiro256PlusPlus) -> Array2<f64> {
    Array2::from_shape_fn((n, nv), |_| units.from_bit(rng.random::<bool>()))
}

/// `rbm` with its parameters changed by `f` (and validated again).
fn perturbed(
    rbm: &Rbm<f64>,
    f: impl FnOnce(&mut Array2<f64>, &mut Array1<f64>, &mut Array1<f64>),
) -> Rbm<f64> {
    let mut p = rbm.clone().into_parts();
    f(&mut p.weights, &mut p.visible_bias, &mut p.hidden_bias);
    Rbm::try_from(p).unwrap()
}

/// (∂ℓ/∂W, ∂ℓ/∂a, ∂ℓ/∂b) by explicit sums over all joint states (v, h).
fn brute_gradient(rbm: &Rbm<f64>, data: &Array2<f64>) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let (nv, nh) = rbm.weights().dim();
    let vs = all_states::<f64>(nv, rbm.visible_units()).unwrap();
    let hs = all_states::<f64>(nh, rbm.hidden_units()).unwrap();
    let mut gw = Array2::zeros((nv, nh));
    let mut ga = Array1::zeros(nv);
    let mut gb = Array1::zeros(nh);
    // Data term: (1/n) Σ_n Σ_h p(h|v_n) v_n hᵀ.
    for v in data.rows() {
        let ws: Vec<f64> = hs.rows().into_iter().map(|h| (-rbm.energy(v, h).unwrap()).exp()).collect();
        let z: f64 = ws.iter().sum();
        for (h, w) in hs.rows().into_iter().zip(&ws) {
            let p = w / z / data.nrows() as f64;
            for i in 0..nv {
                for j in 0..nh {
                    gw[[i, j]] += p * v[i] * h[j];
                }
                ga[i] += p * v[i];
            }
            for j in 0..nh {
                gb[j] += p * h[j];
            }
        }
    }
    // Model term: Σ_{v,h} p(v,h) v hᵀ.
    let mut z = 0.0;
    let mut mw = Array2::<f64>::zeros((nv, nh));
    let mut ma = Array1::<f64>::zeros(nv);
    let mut mb = Array1::<f64>::zeros(nh);
    for v in vs.rows() {
        for h in hs.rows() {
            let w = (-rbm.energy(v, h).unwrap()).exp();
            z += w;
            for i in 0..nv {
                for j in 0..nh {
                    mw[[i, j]] += w * v[i] * h[j];
                }
                ma[i] += w * v[i];
            }
            for j in 0..nh {
                mb[j] += w * h[j];
            }
        }
    }
    (gw - mw / z, ga - ma / z, gb - mb / z)
}

fn max_diff<'a>(a: impl IntoIterator<Item = &'a f64>, b: impl IntoIterator<Item = &'a f64>) -> f64 {
    a.into_iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn gradient_matches_enumeration_and_finite_differences() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2024);
    // 4×3 enumerates the hidden layer, 3×4 the visible one.
    for (nv, nh) in [(4, 3), (3, 4)] {
        for vu in [Units::Spin, Units::Binary] {
            for hu in [Units::Spin, Units::Binary] {
                let rbm = random_model(nv, nh, vu, hu, &mut rng);
                let data = random_data(9, nv, vu, &mut rng);
                let g = rbm.exact_log_likelihood_gradient(data.view()).unwrap();
                let (bw, ba, bb) = brute_gradient(&rbm, &data);
                let d = max_diff(&g.weights, &bw)
                    .max(max_diff(&g.visible_bias, &ba))
                    .max(max_diff(&g.hidden_bias, &bb));
                assert!(d < 1e-10, "{nv}x{nh} {vu}/{hu}: enumeration differs by {d}");

                // Central finite differences of the exact log-likelihood: error O(ε²) ≈ 1e-10
                // plus rounding ≈ 1e-16/ε ≈ 1e-11.
                let eps = 1e-5;
                let ll = |m: &Rbm<f64>| m.exact_log_likelihood(data.view()).unwrap();
                let mut worst: f64 = 0.0;
                for i in 0..nv {
                    for j in 0..nh {
                        let p = perturbed(&rbm, |w, _, _| w[[i, j]] += eps);
                        let m = perturbed(&rbm, |w, _, _| w[[i, j]] -= eps);
                        worst = worst.max(((ll(&p) - ll(&m)) / (2.0 * eps) - g.weights[[i, j]]).abs());
                    }
                    let p = perturbed(&rbm, |_, a, _| a[i] += eps);
                    let m = perturbed(&rbm, |_, a, _| a[i] -= eps);
                    worst = worst.max(((ll(&p) - ll(&m)) / (2.0 * eps) - g.visible_bias[i]).abs());
                }
                for j in 0..nh {
                    let p = perturbed(&rbm, |_, _, b| b[j] += eps);
                    let m = perturbed(&rbm, |_, _, b| b[j] -= eps);
                    worst = worst.max(((ll(&p) - ll(&m)) / (2.0 * eps) - g.hidden_bias[j]).abs());
                }
                assert!(worst < 1e-8, "{nv}x{nh} {vu}/{hu}: finite differences differ by {worst}");
            }
        }
    }
}

/// The trainer's PCD update, with momentum and penalties off and a learning rate so small that
/// the model does not move, is `ε ×` an unbiased estimate of the exact gradient: the mean of
/// many updates must agree with `exact_log_likelihood_gradient` within 4 standard errors
/// (standard errors from means of blocks of 200 steps, which absorb the chains'
/// autocorrelation). This checks the update formulas of `cd_step` for every unit type.
#[test]
fn pcd_updates_average_to_the_exact_gradient() {
    use rbm_core::{TrainConfig, Trainer};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
    for (vu, hu) in [(Units::Spin, Units::Spin), (Units::Binary, Units::Binary), (Units::Spin, Units::Binary)]
    {
        let rbm = random_model(4, 3, vu, hu, &mut rng);
        let data = random_data(40, 4, vu, &mut rng);
        let exact = rbm.exact_log_likelihood_gradient(data.view()).unwrap();
        let lr = 1e-7;
        let config = TrainConfig {
            cd_k: 2,
            persistent: true,
            epochs: 1,
            batch_size: 40,
            learning_rate: lr,
            learning_rate_schedule: rbm_core::RateSchedule::Constant,
            momentum: 0.0,
            momentum_switch: None,
            l1: 0.0,
            l2: 0.0,
            init_std: 0.0,
            visible_bias_from_data: false,
            holdout: 0.0,
            monitor_samples: 10,
            exact_max_units: 0,
            seed: 3,
        };
        let mut t = Trainer::from_model(config, rbm.clone(), data.view()).unwrap();
        let all: Vec<usize> = (0..40).collect();
        let flat = |m: &Rbm<f64>| -> Vec<f64> {
            m.weights().iter().chain(m.visible_bias()).chain(m.hidden_bias()).copied().collect()
        };
        let target: Vec<f64> =
            exact.weights.iter().chain(&exact.visible_bias).chain(&exact.hidden_bias).copied().collect();
        for _ in 0..200 {
            t.cd_step(data.view(), &all, 0.0).unwrap(); // burn-in of the persistent chains
        }
        let (blocks, block_len) = (25, 200);
        let mut block_means = vec![vec![0.0; target.len()]; blocks];
        for block in block_means.iter_mut() {
            for _ in 0..block_len {
                let before = flat(t.model());
                t.cd_step(data.view(), &all, 0.0).unwrap();
                for ((b, x), y) in block.iter_mut().zip(flat(t.model())).zip(before) {
                    *b += (x - y) / lr / block_len as f64;
                }
            }
        }
        for (p, &g) in target.iter().enumerate() {
            let means: Vec<f64> = block_means.iter().map(|b| b[p]).collect();
            let mean = means.iter().sum::<f64>() / blocks as f64;
            let var = means.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / (blocks - 1) as f64;
            let se = (var / blocks as f64).sqrt();
            assert!(se < 0.01, "{vu}/{hu} parameter {p}: standard error {se}");
            assert!((mean - g).abs() < 4.0 * se, "{vu}/{hu} parameter {p}: PCD {mean} ± {se}, exact {g}");
        }
    }
}
