//! The periodic Ising ring as a learning fixture, shared by `tests/learning.rs` and
//! `examples/kl_floor.rs`: its exact distribution, exact samples from it, the exact KL of a
//! model against it, and the finite-sample floor of that KL.

#![allow(dead_code)] // each user takes what it needs

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{all_states, Rbm, Units};

/// The ring of `n` spins at coupling `k`: every state (rows, in `all_states` order), its exact
/// Boltzmann probability, and `samples` exact samples drawn by inversion of the cumulative
/// distribution with a generator seeded by `seed`. Checks the enumeration against
/// `Z_n = (2 cosh K)^n + (2 sinh K)^n` (docs/science.md §5).
pub fn ring(n: usize, k: f64, samples: usize, seed: u64) -> (Array2<f64>, Vec<f64>, Array2<f32>) {
    let states = all_states::<f64>(n, Units::Spin).unwrap();
    let w: Vec<f64> = states
        .rows()
        .into_iter()
        .map(|s| (k * (0..n).map(|i| s[i] * s[(i + 1) % n]).sum::<f64>()).exp())
        .collect();
    let z: f64 = w.iter().sum();
    let z_exact = (2.0 * k.cosh()).powi(n as i32) + (2.0 * k.sinh()).powi(n as i32);
    assert!((z / z_exact - 1.0).abs() < 1e-12, "enumeration of the ring");
    let p: Vec<f64> = w.iter().map(|x| x / z).collect();
    let mut cdf = Vec::with_capacity(p.len());
    let mut acc = 0.0;
    for &x in &p {
        acc += x;
        cdf.push(acc);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut data = Array2::zeros((samples, n));
    for mut row in data.rows_mut() {
        let u: f64 = rng.random::<f64>() * acc;
        let i = cdf.partition_point(|&c| c <= u).min(p.len() - 1);
        row.assign(&states.row(i).mapv(|x| x as f32));
    }
    (states, p, data)
}

/// Exact `KL(P ‖ p_model)` in nats, `P` given by `states` and their probabilities `p`.
pub fn kl(states: &Array2<f64>, p: &[f64], model: &Rbm<f64>) -> f64 {
    let log_z = model.exact_log_partition().unwrap();
    let f = model.free_energies(states.view()).unwrap();
    p.iter().zip(&f).map(|(&pi, &fi)| pi * (pi.ln() + fi + log_z)).sum()
}

/// The finite-sample floor of the exact KL for an RBM with `n` visible and `n` hidden units on
/// `samples` exact samples: a maximum-likelihood fit of `d` parameters misses the truth by about
/// `d / (2 samples)` nats (the ring is inside the model family: the bond RBM, docs/science.md §5).
pub fn floor(n: usize, samples: usize) -> f64 {
    (n * n + 2 * n) as f64 / (2.0 * samples as f64)
}
