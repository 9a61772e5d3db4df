//! Deep belief networks on a toy data set with exact statistics: exact samples of the 4×4
//! periodic Ising model (2^16 states enumerated). A DBN 16 → 24 → 12 trained greedily (CD-5) must
//! generate configurations whose energy per site matches the exact value within a stated
//! model tolerance.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{all_states, train_greedy, Dbn, Error, GreedyConfig, Propagation, Rbm, TrainConfig, Units};

const L: usize = 4;
const N: usize = L * L;
const K: f64 = 0.3;

/// Σ over the 2N bonds (+x and +y neighbours) of s_i s_j.
fn bond_sum(s: ndarray::ArrayView1<f32>) -> f64 {
    let mut b = 0.0;
    for y in 0..L {
        for x in 0..L {
            let i = y * L + x;
            b += f64::from(s[i] * s[y * L + (x + 1) % L] + s[i] * s[((y + 1) % L) * L + x]);
        }
    }
    b
}

/// (exact samples, exact energy per site).
fn ising_4x4(n: usize, seed: u64) -> (Array2<f32>, f64) {
    let states = all_states::<f32>(N, Units::Spin).unwrap();
    let bonds: Vec<f64> = states.rows().into_iter().map(bond_sum).collect();
    let w: Vec<f64> = bonds.iter().map(|b| (K * b).exp()).collect();
    let z: f64 = w.iter().sum();
    let e_exact = -bonds.iter().zip(&w).map(|(b, w)| b * w).sum::<f64>() / z / N as f64;
    let mut cdf = Vec::with_capacity(w.len());
    let mut acc = 0.0;
    for x in &w {
        acc += x;
        cdf.push(acc);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut out = Array2::zeros((n, N));
    for mut row in out.rows_mut() {
        let u = rng.random::<f64>() * acc;
        let k = cdf.partition_point(|&c| c <= u).min(w.len() - 1);
        row.assign(&states.row(k));
    }
    (out, e_exact)
}

/// (mean energy per site, its standard error) of independent configurations.
fn energy_per_site(samples: &Array2<f32>) -> (f64, f64) {
    let e: Array1<f64> = samples.rows().into_iter().map(|s| -bond_sum(s) / N as f64).collect();
    (e.mean().unwrap(), e.std(1.0) / (e.len() as f64).sqrt())
}

#[test]
fn dbn_generates_ising_configurations_with_the_right_energy() {
    let (data, e_exact) = ising_4x4(10_000, 3);
    let config = TrainConfig {
        cd_k: 5,
        persistent: false,
        epochs: 40,
        batch_size: 50,
        learning_rate: 0.01,
        learning_rate_schedule: rbm_core::RateSchedule::Constant,
        momentum: 0.5,
        momentum_switch: None,
        l1: 0.0,
        l2: 0.0,
        init_std: 0.1,
        visible_bias_from_data: true,
        holdout: 0.0,
        monitor_samples: 50,
        exact_max_units: 16,
        seed: 21,
    };
    let mut epochs = vec![0usize; 2];
    let greedy =
        GreedyConfig::uniform(Units::Spin, Units::Spin, &[24, 12], &config, |l| config.seed + l as u64);
    let dbn = train_greedy(data.view(), &greedy, &mut |l, _| epochs[l] += 1).unwrap();
    assert_eq!(epochs, vec![40, 40]);
    assert_eq!(dbn.sizes(), vec![16, 24, 12]);

    // Stated model tolerance: 0.05 per site (6% of |e|; independent spins would give
    // e ≈ 0), on top of 4 standard errors.
    const TOL: f64 = 0.05;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(77);
    // The first RBM alone (Gibbs sampling, a one-layer DBN).
    let one = Dbn::new(vec![dbn.layers()[0].clone()]).unwrap();
    let (e1, s1) = energy_per_site(&one.generate(4000, 200, None, &mut rng).unwrap());
    eprintln!("first RBM alone: e = {e1:.4} ± {s1:.4}");
    assert!((e1 - e_exact).abs() < TOL + 4.0 * s1);
    let gen = dbn.generate(4000, 200, None, &mut rng).unwrap();
    assert!(gen.iter().all(|&x| x == 1.0 || x == -1.0));
    let (e_gen, s_gen) = energy_per_site(&gen);
    let (e_data, s_data) = energy_per_site(&data);
    eprintln!("4x4 Ising K={K}: exact e = {e_exact:.4}, data {e_data:.4} ± {s_data:.4}, DBN {e_gen:.4} ± {s_gen:.4}");
    // The data agree with the exact value (checks the test's own sampler).
    assert!((e_data - e_exact).abs() < 4.0 * s_data);
    assert!(s_gen < 0.01);
    assert!((e_gen - e_exact).abs() < TOL + 4.0 * s_gen, "DBN e = {e_gen}, exact {e_exact}");
    // Global spin-flip symmetry of the data: the magnetisation averages to zero (same
    // tolerance; the model is not constrained to be symmetric).
    let m: Array1<f64> = gen.rows().into_iter().map(|s| f64::from(s.sum()) / N as f64).collect();
    let sm = m.std(1.0) / (m.len() as f64).sqrt();
    eprintln!("DBN m = {} ± {sm}", m.mean().unwrap());
    assert!(m.mean().unwrap().abs() < TOL + 4.0 * sm, "m = {} ± {sm}", m.mean().unwrap());

    // Up and down passes have the right shapes and values.
    let up = dbn.up(data.slice(ndarray::s![..10, ..]), 2, Propagation::Samples, &mut rng).unwrap();
    assert_eq!(up[0].dim(), (10, 24));
    assert_eq!(up[1].dim(), (10, 12));
    let down = dbn.down(up[1].view(), 2, Propagation::Means, &mut rng).unwrap();
    assert_eq!(down.dim(), (10, 16));
    assert!(down.iter().all(|&x| (-1.0..=1.0).contains(&x)));
    let rf = dbn.receptive_fields(2).unwrap();
    assert_eq!(rf.dim(), (16, 12));
    let direct = dbn.layers()[0].weights().dot(dbn.layers()[1].weights());
    assert_eq!(rf, direct);
    // Generation from data-initialised chains works too.
    let g2 = dbn.generate(10, 5, Some(data.view()), &mut rng).unwrap();
    assert_eq!(g2.dim(), (10, 16));
}

#[test]
fn dbn_layers_must_chain() {
    let a = Rbm::<f32>::zeros(16, 8, Units::Spin, Units::Spin).unwrap();
    let b = Rbm::<f32>::zeros(9, 4, Units::Spin, Units::Spin).unwrap();
    assert_eq!(
        Dbn::new(vec![a.clone(), b]),
        Err(Error::LayersDoNotChain { layer: 1, expected: 8, found: 9 })
    );
    let c = Rbm::<f32>::zeros(8, 4, Units::Binary, Units::Spin).unwrap();
    assert!(matches!(Dbn::new(vec![a.clone(), c]), Err(Error::LayerUnitsDoNotChain { layer: 1, .. })));
    assert_eq!(Dbn::<f32>::new(vec![]), Err(Error::NoLayers));
    // Deserialisation checks the chaining too.
    let two = Dbn::new(vec![a.clone(), Rbm::<f32>::zeros(8, 4, Units::Spin, Units::Spin).unwrap()]).unwrap();
    let mut v = serde_json::to_value(&two).unwrap();
    assert_eq!(serde_json::from_value::<Dbn<f32>>(v.clone()).unwrap(), two);
    v["layers"][1] =
        serde_json::to_value(Rbm::<f32>::zeros(9, 4, Units::Spin, Units::Spin).unwrap()).unwrap();
    assert!(serde_json::from_value::<Dbn<f32>>(v).is_err());
    let d = Dbn::new(vec![a]).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    assert!(d.up(Array2::<f32>::zeros((2, 16)).view(), 1, Propagation::Means, &mut rng).is_err()); // 0 is not a spin
    assert!(d.receptive_fields(2).is_err());
}

#[test]
fn layer_by_layer_training_reproduces_train_greedy() {
    use rbm_core::{next_layer_data, Trainer};
    let (data, _) = ising_4x4(300, 5);
    let config = TrainConfig { epochs: 2, batch_size: 30, ..TrainConfig::hinton(2, 4) };
    let seeds = [4, 77];
    let greedy = GreedyConfig::uniform(Units::Spin, Units::Binary, &[8, 4], &config, |l| seeds[l]);
    let dbn = train_greedy(data.view(), &greedy, &mut |_, _| {}).unwrap();
    // By hand, as a command line that checkpoints between layers would do.
    let c0 = TrainConfig { seed: seeds[0], ..config.clone() };
    let mut t0 = Trainer::new(c0.clone(), data.view(), Units::Spin, 8, Units::Binary).unwrap();
    while !t0.is_finished() {
        t0.epoch(data.view()).unwrap();
    }
    let r0 = t0.into_model();
    let x1 = next_layer_data(&r0, data.view(), seeds[0]).unwrap();
    let c1 = TrainConfig { seed: seeds[1], ..config.clone() };
    let mut t1 = Trainer::new(c1, x1.view(), Units::Binary, 4, Units::Binary).unwrap();
    while !t1.is_finished() {
        t1.epoch(x1.view()).unwrap();
    }
    assert_eq!(dbn, Dbn::new(vec![r0, t1.into_model()]).unwrap());
    assert_eq!(dbn.units(), vec![Units::Spin, Units::Binary, Units::Binary]);
}
