//! AIS estimates of ln Z against the exact value on models small enough to enumerate: the
//! estimate must lie within 4 of its own standard errors, and the standard error must be
//! below a stated bound (so the check has teeth).

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{base_rate_bias, AisConfig, BetaSchedule, Rbm, Units};

fn model(nv: usize, nh: usize, vu: Units, hu: Units, scale: f64, seed: u64) -> Rbm<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let w = Array2::from_shape_fn((nv, nh), |_| scale * rng.random_range(-1.0..1.0));
    let a = Array1::from_shape_fn(nv, |_| 0.5 * rng.random_range(-1.0..1.0));
    let b = Array1::from_shape_fn(nh, |_| 0.5 * rng.random_range(-1.0..1.0));
    Rbm::new(w, a, b, vu, hu).unwrap()
}

#[test]
fn ais_agrees_with_exact_log_partition() {
    let cases = [
        (Units::Spin, Units::Spin, BetaSchedule::Linear, 1),
        (Units::Binary, Units::Binary, BetaSchedule::Sigmoid { steepness: 4.0 }, 2),
        (Units::Spin, Units::Binary, BetaSchedule::Sigmoid { steepness: 4.0 }, 3),
        (Units::Binary, Units::Spin, BetaSchedule::Linear, 4),
    ];
    for (vu, hu, schedule, seed) in cases {
        // 30 visible units (2^30 states: AIS has real work to do), 12 hidden (exact by
        // enumerating the hidden layer).
        let rbm = model(30, 12, vu, hu, 0.6, seed);
        let exact = rbm.exact_log_partition().unwrap();
        let config = AisConfig { chains: 200, steps: 1000, schedule, seed: 100 + seed };
        let est = rbm.ais_log_partition(None, &config).unwrap();
        eprintln!(
            "{vu}/{hu} {schedule:?}: exact {exact:.5}, AIS {:.5} ± {:.5} (ESS {:.0})",
            est.log_z, est.stderr, est.effective_sample_size
        );
        assert!(est.stderr < 0.05, "stderr {}", est.stderr);
        assert!(
            (est.log_z - exact).abs() < 4.0 * est.stderr,
            "AIS {} ± {}, exact {exact}",
            est.log_z,
            est.stderr
        );
    }
}

#[test]
fn ais_with_a_data_base_rate_model_and_f32() {
    // Base rates from samples of the model itself (a good base model), run on the f32 model.
    let rbm = model(24, 10, Units::Spin, Units::Spin, 0.4, 9);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let mut v = Array2::from_shape_fn((500, 24), |_| if rng.random::<bool>() { 1.0 } else { -1.0 });
    rbm.gibbs(&mut v, 50, &mut rng).unwrap();
    let base = base_rate_bias(v.view(), Units::Spin).unwrap();
    let exact = rbm.exact_log_partition().unwrap();
    let config =
        AisConfig { chains: 100, steps: 500, schedule: BetaSchedule::Sigmoid { steepness: 4.0 }, seed: 5 };
    let est = rbm.to_f32().ais_log_partition(Some(base.view()), &config).unwrap();
    eprintln!("f32, base rates: exact {exact:.5}, AIS {:.5} ± {:.5}", est.log_z, est.stderr);
    assert!(est.stderr < 0.05);
    // f32 rounding of the parameters changes ln Z by far less than the error bar.
    assert!((est.log_z - exact).abs() < 4.0 * est.stderr);
    // Bad input.
    assert!(rbm.ais_log_partition(Some(base.slice(ndarray::s![..3])), &config).is_err());
    assert!(rbm.ais_log_partition(None, &AisConfig { chains: 1, ..config.clone() }).is_err());
}

#[test]
fn schedules_run_from_zero_to_one() {
    for s in [BetaSchedule::Linear, BetaSchedule::Sigmoid { steepness: 4.0 }] {
        let b = s.betas(100);
        assert_eq!(b.len(), 101);
        assert_eq!(b[0], 0.0);
        assert_eq!(b[100], 1.0);
        assert!(b.windows(2).all(|w| w[1] > w[0]));
    }
}

/// The chains run as two halves in parallel; the estimate is the same bytes on 1 and 2 threads
/// (f32, large enough for the products to be split and done by table look-up).
#[test]
fn ais_does_not_depend_on_the_number_of_threads() {
    let rbm = model(256, 64, Units::Spin, Units::Binary, 0.1, 11).to_f32();
    let config = AisConfig { chains: 64, steps: 50, schedule: BetaSchedule::Linear, seed: 3 };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| rbm.ais_log_partition(None, &config).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.log_z.to_bits(), b.log_z.to_bits());
    assert_eq!(a.stderr.to_bits(), b.stderr.to_bits());
}

/// The exact log-likelihood (many enumeration chunks against a large other layer, data in
/// several parallel blocks) is the same bytes on one thread and on two.
#[test]
fn the_exact_log_likelihood_does_not_depend_on_the_number_of_threads() {
    let rbm = model(300, 11, Units::Spin, Units::Spin, 0.1, 12);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(13);
    let data = Array2::from_shape_fn((3000, 300), |_| if rng.random_bool(0.5) { 1.0 } else { -1.0 });
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| (rbm.exact_log_partition().unwrap(), rbm.exact_log_likelihood(data.view()).unwrap()))
    };
    let (a, b) = (run(1), run(2));
    assert_eq!((a.0.to_bits(), a.1.to_bits()), (b.0.to_bits(), b.1.to_bits()));
    // And the chunked enumeration is the brute-force sum over all 2^11 hidden states.
    let brute = {
        let mut terms = Vec::new();
        for s in 0..(1usize << 11) {
            let h = Array1::from_shape_fn(11, |k| if s >> k & 1 == 1 { 1.0 } else { -1.0 });
            terms.push(-rbm.hidden_free_energy(h.view()).unwrap());
        }
        let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
    };
    assert!((a.0 - brute).abs() < 1e-9 * brute.abs(), "{} against {brute}", a.0);
}

#[test]
fn the_standard_error_is_trusted_only_with_enough_effective_samples() {
    let est = |ess: f64| rbm_core::AisEstimate {
        log_z: 0.0,
        stderr: 0.1,
        log_z_base: 0.0,
        effective_sample_size: ess,
    };
    // A tenth of the chains, and at least 4.
    assert!(est(6.4).stderr_is_reliable(64) && !est(6.3).stderr_is_reliable(64));
    assert!(est(4.0).stderr_is_reliable(8) && !est(3.9).stderr_is_reliable(8));
}

#[test]
fn the_log_likelihood_is_exact_only_within_its_enumeration_budget() {
    use rbm_core::{LikelihoodMethod, MAX_EXACT_TERMS};
    // The cost of enumeration: states of the smaller layer times units of the other.
    let terms = |nv, nh| model(nv, nh, Units::Spin, Units::Spin, 0.1, 1).exact_terms();
    assert_eq!(terms(30, 12), Some((1 << 12) * 30));
    assert_eq!(terms(12, 30), Some((1 << 12) * 30));
    assert_eq!(terms(30, 25), None, "25 units on either side: not enumerable");
    // The default budget: 1600 visible units exact up to 14 hidden ones, not 15.
    assert!(terms(1600, 14).unwrap() <= MAX_EXACT_TERMS && terms(1600, 15).unwrap() > MAX_EXACT_TERMS);

    let rbm = model(30, 12, Units::Spin, Units::Binary, 0.6, 7);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
    let data = Array2::from_shape_fn((200, 30), |_| if rng.random_bool(0.5) { 1.0 } else { -1.0 });
    let exact = rbm.exact_log_likelihood(data.view()).unwrap();
    let cost = rbm.exact_terms().unwrap();
    // Within the budget: the exact value, whether or not AIS is configured.
    let config = AisConfig { chains: 50, steps: 300, schedule: BetaSchedule::Linear, seed: 9 };
    for ais in [None, Some(&config)] {
        let ll = rbm.estimate_log_likelihood_within(data.view(), ais, cost).unwrap().unwrap();
        assert_eq!((ll.method, ll.value, ll.stderr), (LikelihoodMethod::Exact, exact, 0.0));
        assert!(ll.ais.is_none());
    }
    // One term over it: AIS when configured, else nothing (never a silent enumeration).
    assert!(rbm.estimate_log_likelihood_within(data.view(), None, cost - 1).unwrap().is_none());
    let ll = rbm.estimate_log_likelihood_within(data.view(), Some(&config), cost - 1).unwrap().unwrap();
    assert_eq!(ll.method, LikelihoodMethod::Ais);
    assert!(ll.stderr > 0.0 && ll.ais.is_some());
    // The AIS value is an estimate of the same number: within 4 of its standard errors plus
    // the schedule's bias, bounded here by 0.2 nats at 300 steps on this small model.
    assert!(
        (ll.value - exact).abs() < 4.0 * ll.stderr + 0.2,
        "AIS {} ± {}, exact {exact}",
        ll.value,
        ll.stderr
    );
    // The default budget covers this model (2^12 × 30 terms).
    let ll = rbm.estimate_log_likelihood(data.view(), None).unwrap().unwrap();
    assert_eq!((ll.method, ll.value), (LikelihoodMethod::Exact, exact));
}
