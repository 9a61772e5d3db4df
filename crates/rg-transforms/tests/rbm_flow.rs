//! RBM flows against exact results: an RBM with zero weights sends any configuration to
//! independent spins, whose exact energy per site is `−2 tanh² a` for visible biases `a`
//! (`0`, that is infinite temperature, for `a = 0`); and a small trained flow runs, reads finite
//! couplings with bounded errors, and is reproducible for a seed whatever the number of threads.
//! Tolerances: 4σ of the thermometer's own error bar, with σ itself bounded.

use lattice_physics::dataset::{generate, DatasetConfig, Sweeps};
use lattice_physics::sampler::Algorithm;
use lattice_physics::{Configurations, IsingModel, Lattice};
use ndarray::{Array1, Array2};
use rbm_core::{Rbm, TrainConfig, Units};
use rg_transforms::rbm_flow::{
    apparent_fixed_point, flow, mixture, train_on_mixture, FlowConfig, FlowMode, Mixture, MixtureConfig,
    RbmFlow,
};

fn start_data(lattice: Lattice, k: f64, samples: usize, seed: u64) -> Configurations {
    let model = IsingModel::new(lattice, k, 0.0).unwrap();
    let config = DatasetConfig { samples, chains: 2, thermalize: Sweeps::Auto, thin: Sweeps::Auto, seed };
    Configurations::new(lattice, generate(model, Algorithm::SwendsenWang, &config, &|_| {}).unwrap().spins)
        .unwrap()
}

fn zero_weight_rbm(n: usize, hidden: usize, visible_bias: f32) -> Rbm<f32> {
    Rbm::new(
        Array2::zeros((n, hidden)),
        Array1::from_elem(n, visible_bias),
        Array1::from_elem(hidden, 0.3),
        Units::Spin,
        Units::Spin,
    )
    .unwrap()
}

#[test]
fn zero_weights_send_any_configuration_to_infinite_temperature_in_one_step() {
    let lattice = Lattice::square(6).unwrap();
    // Ordered starting configurations (K = 0.7 is deep in the ordered phase of the 6×6 torus).
    let start = start_data(lattice, 0.7, 400, 11);
    let rbm = zero_weight_rbm(36, 8, 0.0);
    for mode in [FlowMode::Sampled, FlowMode::MeanField] {
        let f = flow(&rbm, 0.7, &start, &FlowConfig { steps: 1, mode, seed: 5 }).unwrap();
        assert_eq!(f.steps.len(), 2);
        assert!(f.steps[0].coupling.mean > 0.5, "start reads {:?}", f.steps[0].coupling);
        let k1 = f.steps[1].coupling;
        // Independent spins: Var(e) = 2/N per configuration, de/dK = −2 at K = 0, so
        // σ_K ≈ √(2/36/400)/2 ≈ 0.006; bound it at 0.02.
        assert!(k1.stderr > 0.0 && k1.stderr < 0.02, "{mode:?}: σ = {}", k1.stderr);
        assert!(k1.mean.abs() < 4.0 * k1.stderr, "{mode:?}: K′ = {k1:?}");
    }
}

#[test]
fn zero_weights_with_visible_biases_give_the_exact_energy_of_independent_spins() {
    // v′ is independent of h: p(v_i = +1) = e^a / (2 cosh a), ⟨v_i⟩ = tanh a, and every one of the
    // 2N bonds of the L ≥ 3 torus joins two distinct sites, so ⟨e⟩ = −2 tanh² a exactly.
    let lattice = Lattice::square(6).unwrap();
    let start = start_data(lattice, 0.3, 400, 12);
    for a in [0.2f32, 0.5] {
        let rbm = zero_weight_rbm(36, 8, a);
        let f = flow(&rbm, 0.3, &start, &FlowConfig { steps: 2, mode: FlowMode::Sampled, seed: 6 }).unwrap();
        let exact = -2.0 * (a as f64).tanh().powi(2);
        for r in &f.steps[1..] {
            // Independent spins: Var(B) is of order 2N, so σ_e ≈ √(2/36/400) ≈ 0.012; bound 0.02.
            assert!(r.energy.stderr > 0.0 && r.energy.stderr < 0.02, "a = {a}: σ_e = {}", r.energy.stderr);
            assert!(
                (r.energy.mean - exact).abs() < 4.0 * r.energy.stderr,
                "a = {a}, step {}: e = {:?}, exact {exact}",
                r.step,
                r.energy
            );
            let m = (a as f64).tanh();
            // ⟨|m|⟩ ≥ |⟨m⟩| = tanh a.
            assert!(r.abs_m.mean > m - 4.0 * r.abs_m.stderr, "a = {a}: |m| = {:?}", r.abs_m);
        }
    }
}

fn small_experiment() -> (Mixture, Vec<RbmFlow>) {
    let lattice = Lattice::square(6).unwrap();
    let mix = mixture(&MixtureConfig {
        lattice,
        couplings: vec![0.2, 0.44, 0.7],
        samples_per_coupling: 200,
        algorithm: Algorithm::SwendsenWang,
        chains: 2,
        thermalize: Sweeps::Auto,
        thin: Sweeps::Auto,
        seed: 21,
    })
    .unwrap();
    let mut train = TrainConfig::hinton(3, 22);
    train.learning_rate = 0.01;
    let rbm = train_on_mixture(&mix, 16, train).unwrap();
    let flows = [0.25, 0.6]
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let start = start_data(lattice, k, 200, 30 + i as u64);
            flow(&rbm, k, &start, &FlowConfig { steps: 3, mode: FlowMode::Sampled, seed: 40 + i as u64 })
                .unwrap()
        })
        .collect();
    (mix, flows)
}

#[test]
fn a_small_trained_flow_runs_with_finite_bounded_readings_and_is_reproducible() {
    let (mix, flows) = small_experiment();
    assert_eq!(mix.samples(), 600);
    assert_eq!(mix.configurations.as_slice().len(), 600 * 36);
    for (i, k) in [0.2, 0.44, 0.7].iter().enumerate() {
        assert!(mix.sample_couplings[i * 200..(i + 1) * 200].iter().all(|c| c == k));
    }
    for f in &flows {
        assert_eq!(f.steps.len(), 4);
        assert_eq!(f.hidden, 16);
        for r in &f.steps {
            assert!(r.coupling.mean.is_finite() && r.energy.mean.is_finite() && r.abs_m.mean.is_finite());
            // 200 configurations of 36 spins give σ_K ≈ 0.005–0.015 along these flows; a reading
            // ten times worse than that is a broken error bar.
            assert!(r.coupling.stderr.is_finite() && r.coupling.stderr < 0.1, "{r:?}");
            assert!(r.energy.stderr < 0.05 && r.abs_m.stderr < 0.05, "{r:?}");
        }
    }
    let fp = apparent_fixed_point(&flows, 2).unwrap();
    assert_eq!(fp.readings, 4);
    assert!(fp.coupling.is_finite() && fp.spread.is_finite());

    // Same seeds, same flows, on one thread and on two.
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(small_experiment);
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(small_experiment);
    assert_eq!(one, (mix.clone(), flows.clone()));
    assert_eq!(two, (mix, flows));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let lattice = Lattice::square(6).unwrap();
    let start = start_data(lattice, 0.3, 100, 13);
    let config = FlowConfig { steps: 1, mode: FlowMode::Sampled, seed: 1 };
    let wrong_size = zero_weight_rbm(25, 4, 0.0);
    assert!(flow(&wrong_size, 0.3, &start, &config).is_err());
    let rbm = zero_weight_rbm(36, 4, 0.0);
    assert!(flow(&rbm, f64::NAN, &start, &config).is_err());
    // Partial configurations and non-spins cannot become a data set at all.
    assert!(Configurations::new(lattice, start.as_slice()[..35].to_vec()).is_err());
    let mut bad = start.as_slice().to_vec();
    bad[3] = 0;
    assert!(Configurations::new(lattice, bad).is_err());
    // The same spins on a ring: not a square torus.
    let ring = Configurations::new(Lattice::ring(36).unwrap(), start.as_slice().to_vec()).unwrap();
    assert!(flow(&rbm, 0.3, &ring, &config).is_err());
    let binary = Rbm::<f32>::zeros(36, 4, Units::Binary, Units::Spin).unwrap();
    assert!(flow(&binary, 0.3, &start, &config).is_err());
    assert!(apparent_fixed_point(&[], 1).is_err());
    let f = flow(&rbm, 0.3, &start, &config).unwrap();
    assert!(apparent_fixed_point(std::slice::from_ref(&f), 3).is_err());
    assert!(apparent_fixed_point(std::slice::from_ref(&f), 0).is_err());
}

#[test]
fn the_magnetization_calibration_reads_monte_carlo_data_at_known_couplings() {
    // Calibrate ⟨|m|⟩(K) on the 4×4 torus with Monte Carlo, then read |m| means of fresh Monte
    // Carlo data at known couplings: the coupling comes back within 4σ (σ bounded), and the curve
    // itself agrees with the exact ⟨|m|⟩ by enumeration within 4σ.
    use lattice_physics::exact::DensityOfStates;
    use lattice_physics::stats::{binning, Estimate};
    use rg_transforms::rbm_flow::magnetization_curve;
    let lattice = Lattice::square(4).unwrap();
    let grid: Vec<f64> = (0..9).map(|i| 0.2 + 0.05 * i as f64).collect();
    let curve = magnetization_curve(lattice, &grid, 4000, 8).unwrap();
    let dos = DensityOfStates::new(lattice).unwrap();
    for (k, m) in grid.iter().zip(&curve.abs_m) {
        let exact = dos.evaluate(*k, 0.0).unwrap().abs_magnetization;
        assert!(
            m.stderr > 0.0 && m.stderr < 0.01 && (m.mean - exact).abs() < 4.0 * m.stderr,
            "K = {k}: {m:?} vs {exact}"
        );
    }
    for (k, seed) in [(0.3, 31u64), (0.42, 32)] {
        let data = start_data(lattice, k, 4000, seed);
        let series: Vec<f64> =
            data.iter().map(|c| (c.iter().map(|&s| s as f64).sum::<f64>() / 16.0).abs()).collect();
        let m: Estimate = binning(&series).unwrap().estimate();
        let read = curve.read(m).unwrap();
        assert!(read.stderr > 0.0 && read.stderr < 0.03, "{read:?}");
        assert!((read.mean - k).abs() < 4.0 * read.stderr, "K = {k}: read {read:?}");
    }
    assert!(curve.read(Estimate::new(0.0, 0.01)).is_none());
    assert!(magnetization_curve(lattice, &[0.3], 100, 1).is_err());
    assert!(magnetization_curve(lattice, &[0.3, 0.2], 100, 1).is_err());
}

#[test]
fn a_mixture_too_large_to_hold_is_an_error_not_an_abort() {
    for samples in [usize::MAX, usize::MAX / 3, 1 << 60] {
        let result = mixture(&MixtureConfig {
            lattice: Lattice::square(6).unwrap(),
            couplings: vec![0.2, 0.44, 0.7],
            samples_per_coupling: samples,
            algorithm: Algorithm::SwendsenWang,
            chains: 2,
            thermalize: Sweeps::Auto,
            thin: Sweeps::Auto,
            seed: 1,
        });
        let message = result.expect_err("a mixture of that size cannot be held").to_string();
        assert!(message.contains("too large"), "{message}");
    }
}
