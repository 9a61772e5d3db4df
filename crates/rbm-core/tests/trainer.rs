//! Trainer state: checkpoint/resume gives bit-identical results, divergence keeps the last
//! good state, bad configurations and data are rejected with structured errors, and results
//! do not depend on the number of threads.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{Error, MomentumSwitch, RateSchedule, TrainConfig, Trainer, Units};

fn data(n: usize, nv: usize, units: Units, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    // Independent units, upper with probability 0.3.
    Array2::from_shape_fn((n, nv), |(_, _)| rng.random::<f64>() < 0.3).mapv(|b| units.from_bit(b))
}

fn config(persistent: bool, seed: u64) -> TrainConfig {
    TrainConfig {
        cd_k: 2,
        persistent,
        epochs: 4,
        batch_size: 16,
        learning_rate: 0.05,
        learning_rate_schedule: RateSchedule::Linear,
        momentum: 0.5,
        momentum_switch: Some(MomentumSwitch { epoch: 2, value: 0.9 }),
        l1: 1e-4,
        l2: 1e-4,
        init_std: 0.05,
        visible_bias_from_data: true,
        holdout: 0.2,
        monitor_samples: 20,
        exact_max_units: 12,
        seed,
    }
}

fn bits(t: &Trainer<f32>) -> Vec<u32> {
    let m = t.model();
    m.weights().iter().chain(m.visible_bias()).chain(m.hidden_bias()).map(|x| x.to_bits()).collect()
}

#[test]
fn resume_from_serialised_state_is_bit_identical() {
    for (persistent, units) in [(false, Units::Spin), (true, Units::Binary)] {
        let d = data(203, 12, units, 1);
        let mut straight = Trainer::new(config(persistent, 9), d.view(), units, 7, units).unwrap();
        let mut straight_metrics = Vec::new();
        for _ in 0..4 {
            straight_metrics.push(straight.epoch(d.view()).unwrap());
        }
        let mut first = Trainer::new(config(persistent, 9), d.view(), units, 7, units).unwrap();
        let mut metrics = Vec::new();
        for _ in 0..2 {
            metrics.push(first.epoch(d.view()).unwrap());
        }
        let json = serde_json::to_string(&first).unwrap();
        drop(first);
        let mut resumed: Trainer<f32> = serde_json::from_str(&json).unwrap();
        resumed.validate().unwrap();
        assert_eq!(resumed.epochs_done(), 2);
        for _ in 0..2 {
            metrics.push(resumed.epoch(d.view()).unwrap());
        }
        assert_eq!(bits(&straight), bits(&resumed), "persistent = {persistent}");
        assert_eq!(straight_metrics, metrics);
        assert!(resumed.is_finished());
        // A different seed gives a different model (the test can fail).
        let mut other = Trainer::new(config(persistent, 10), d.view(), units, 7, units).unwrap();
        for _ in 0..4 {
            other.epoch(d.view()).unwrap();
        }
        assert_ne!(bits(&other), bits(&straight));
        // Hold-out and training rows partition the data.
        let mut all: Vec<usize> =
            straight.train_indices().iter().chain(straight.holdout_indices()).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..203).collect::<Vec<_>>());
        assert_eq!(straight.holdout_indices().len(), 40);
        let last = straight_metrics.last().unwrap();
        assert!(last.free_energy_gap.is_some() && last.holdout_log_likelihood.is_some());
    }
}

#[test]
fn divergence_keeps_the_last_good_state() {
    let d = data(64, 10, Units::Spin, 2);
    let mut c = config(false, 3);
    c.holdout = 0.0;
    let mut t = Trainer::new(c, d.view(), Units::Spin, 6, Units::Spin).unwrap();
    t.epoch(d.view()).unwrap();
    let good = bits(&t);
    // Poison the learning rate through a round trip of the state (the config is part of it).
    let mut json: serde_json::Value = serde_json::to_value(&t).unwrap();
    json["config"]["learning_rate"] = serde_json::json!(1e38);
    let mut bad: Trainer<f32> = serde_json::from_value(json).unwrap();
    let err = bad.epoch(d.view()).unwrap_err();
    assert!(matches!(err, Error::Diverged { epoch: 1, .. }), "{err}");
    assert_eq!(bits(&bad), good);
    assert_eq!(bad.epochs_done(), 1);
    assert!(bad.model().is_finite());
}

#[test]
fn bad_configurations_and_data_are_rejected() {
    let d = data(50, 8, Units::Binary, 3);
    let mk = |c: TrainConfig| Trainer::<f32>::new(c, d.view(), Units::Binary, 4, Units::Binary).map(|_| ());
    let mut c = config(false, 1);
    c.batch_size = 100;
    c.holdout = 0.0;
    assert_eq!(mk(c.clone()), Err(Error::BatchLargerThanData { batch_size: 100, samples: 50 }));
    c.batch_size = 45;
    c.holdout = 0.2; // 40 training rows
    assert_eq!(mk(c.clone()), Err(Error::BatchLargerThanData { batch_size: 45, samples: 40 }));
    for (field, c) in [
        ("cd_k", TrainConfig { cd_k: 0, ..config(false, 1) }),
        ("learning_rate", TrainConfig { learning_rate: f64::NAN, ..config(false, 1) }),
        ("momentum", TrainConfig { momentum: 1.0, ..config(false, 1) }),
        ("l1", TrainConfig { l1: -1.0, ..config(false, 1) }),
        ("holdout", TrainConfig { holdout: 1.0, ..config(false, 1) }),
        ("exact_max_units", TrainConfig { exact_max_units: 30, ..config(false, 1) }),
    ] {
        match mk(c) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // Spin data given as binary, NaN, empty.
    let spins = data(50, 8, Units::Spin, 3);
    let e = Trainer::<f32>::new(config(false, 1), spins.view(), Units::Binary, 4, Units::Binary);
    assert!(matches!(e.map(|_| ()), Err(Error::InvalidUnitValue { value, .. }) if value == -1.0));
    let mut nan = d.clone();
    nan[[3, 2]] = f32::NAN;
    let e = Trainer::<f32>::new(config(false, 1), nan.view(), Units::Binary, 4, Units::Binary);
    assert_eq!(e.map(|_| ()), Err(Error::NonFiniteData { row: 3, column: 2 }));
    let empty = Array2::<f32>::zeros((0, 8));
    let e = Trainer::<f32>::new(config(false, 1), empty.view(), Units::Binary, 4, Units::Binary);
    assert_eq!(e.map(|_| ()), Err(Error::EmptyData));
    // Data of another size given to an existing trainer.
    let mut t = Trainer::<f32>::new(config(false, 1), d.view(), Units::Binary, 4, Units::Binary).unwrap();
    let other = data(49, 8, Units::Binary, 3);
    assert_eq!(t.epoch(other.view()).map(|_| ()), Err(Error::DataChanged { expected: 50, found: 49 }));
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let d = data(300, 16, Units::Spin, 4);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let c = TrainConfig { exact_max_units: 16, ..config(true, 5) };
            let mut t = Trainer::new(c, d.view(), Units::Spin, 20, Units::Spin).unwrap();
            let m: Vec<_> = (0..3).map(|_| t.epoch(d.view()).unwrap()).collect();
            (bits(&t), m)
        })
    };
    let (b1, m1) = run(1);
    let (b2, m2) = run(2);
    assert_eq!(b1, b2);
    assert_eq!(m1, m2);
    // exact ln Z over 2^16 states (16 chunks) is combined in a fixed order
    assert!(m1[2].log_likelihood.is_some());
}

/// Products large enough to be cut into blocks that run as parallel tasks (64 × 512 × 256
/// multiply-adds and more) give the same bytes on 1 and 2 threads, for CD and PCD.
#[test]
fn split_products_do_not_depend_on_the_number_of_threads() {
    const _: () = assert!(64 * 512 * 256 >= rbm_core::SPLIT_MIN_WORK);
    for (persistent, units) in [(false, Units::Spin), (true, Units::Binary)] {
        let d = data(192, 512, units, 6);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let c =
                    TrainConfig { batch_size: 64, holdout: 0.0, exact_max_units: 0, ..config(persistent, 3) };
                let mut t = Trainer::new(c, d.view(), units, 256, units).unwrap();
                let m: Vec<_> = (0..2).map(|_| t.epoch(d.view()).unwrap()).collect();
                (bits(&t), m)
            })
        };
        let (b1, m1) = run(1);
        let (b2, m2) = run(2);
        assert_eq!(b1, b2, "persistent = {persistent}");
        assert_eq!(m1, m2, "persistent = {persistent}");
    }
}

#[test]
fn cd_step_rejects_bad_batches() {
    let d = data(40, 6, Units::Binary, 6);
    let mut c = config(false, 1);
    c.holdout = 0.0;
    let mut t = Trainer::<f32>::new(c, d.view(), Units::Binary, 3, Units::Binary).unwrap();
    assert!(t.cd_step(d.view(), &[], 0.5).is_err());
    assert!(t.cd_step(d.view(), &(0..17).collect::<Vec<_>>(), 0.5).is_err()); // batch_size is 16
    assert!(t.cd_step(d.view(), &[0, 40], 0.5).is_err());
    assert!(t.cd_step(d.view(), &[0, 1], 1.5).is_err());
    let before = bits(&t);
    t.cd_step(d.view(), &[0, 1, 2], 0.5).unwrap();
    assert_ne!(bits(&t), before);
}

/// The matrix products' own threads (matrixmultiply reads `MATMUL_NUM_THREADS` once per
/// process when its threading feature is on; rbm-core itself leaves it off) must not change
/// results either: the test reruns itself in two child processes with 1 and 2 GEMM threads
/// and compares the trained weights bit for bit.
#[test]
fn gemm_thread_count_does_not_change_results() {
    const CHILD: &str = "RBM_CORE_GEMM_THREADS_CHILD";
    if std::env::var(CHILD).is_ok() {
        // Large enough for the products to be split across threads.
        let d = data(256, 256, Units::Spin, 8);
        let c = TrainConfig { batch_size: 64, holdout: 0.0, exact_max_units: 0, ..config(true, 12) };
        let mut t = Trainer::new(c, d.view(), Units::Spin, 128, Units::Spin).unwrap();
        for _ in 0..2 {
            t.epoch(d.view()).unwrap();
        }
        let h = bits(&t)
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        println!("WEIGHTS-HASH {h:016x}");
        return;
    }
    let run = |threads: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "gemm_thread_count_does_not_change_results",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD, "1")
            .env("MATMUL_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let at = stdout.find("WEIGHTS-HASH ").expect("child printed a hash");
        stdout[at..].split_whitespace().nth(1).expect("hash value").to_string()
    };
    let one = run("1");
    let two = run("2");
    assert_eq!(one, two);
}

#[test]
fn inconsistent_checkpoints_are_rejected() {
    let d = data(64, 10, Units::Spin, 2);
    let t = Trainer::new(config(true, 3), d.view(), Units::Spin, 6, Units::Spin).unwrap();
    let good = serde_json::to_value(&t).unwrap();
    // Momentum of the wrong shape.
    let mut v = good.clone();
    v["velocity_hidden"] = serde_json::to_value(ndarray::Array1::<f32>::zeros(5)).unwrap();
    let mut bad: Trainer<f32> = serde_json::from_value(v).unwrap();
    assert!(matches!(bad.validate(), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(bad.epoch(d.view()), Err(Error::ShapeMismatch { .. })));
    // Persistent flag without chains.
    let mut v = good.clone();
    v["chains"] = serde_json::Value::Null;
    let bad: Trainer<f32> = serde_json::from_value(v).unwrap();
    assert!(matches!(bad.validate(), Err(Error::InvalidParameter { name: "persistent", .. })));
    // An index outside the data.
    let mut v = good;
    v["order"][0] = serde_json::json!(1000);
    let bad: Trainer<f32> = serde_json::from_value(v).unwrap();
    assert!(matches!(bad.validate(), Err(Error::InvalidParameter { name: "checkpoint index", .. })));
}

#[test]
fn the_linear_schedule_decays_to_zero_and_old_configurations_read_as_constant() {
    let c = TrainConfig { epochs: 4, learning_rate: 0.08, ..config(false, 1) };
    assert_eq!(c.learning_rate_schedule, RateSchedule::Linear);
    let rates: Vec<f64> = (0..6).map(|e| c.learning_rate_at(e)).collect();
    // ε (1 - e/4) for e < 4, then the last epoch's rate.
    assert_eq!(rates, [0.08, 0.06, 0.04, 0.02, 0.02, 0.02]);
    let constant = TrainConfig { learning_rate_schedule: RateSchedule::Constant, ..c.clone() };
    assert!((0..6).all(|e| constant.learning_rate_at(e) == 0.08));
    // A configuration stored before schedules existed trained at a constant rate.
    let mut json = serde_json::to_value(&c).unwrap();
    json.as_object_mut().unwrap().remove("learning_rate_schedule");
    let old: TrainConfig = serde_json::from_value(json).unwrap();
    assert_eq!(old.learning_rate_schedule, RateSchedule::Constant);
    // The schedule changes training: the same seed with a constant rate gives another model.
    let d = data(64, 6, Units::Spin, 2);
    let run = |c: TrainConfig| {
        let mut t = Trainer::new(c, d.view(), Units::Spin, 4, Units::Spin).unwrap();
        while !t.is_finished() {
            t.train_epoch(d.view()).unwrap();
        }
        t.into_model()
    };
    let c = TrainConfig { holdout: 0.0, ..c };
    assert_ne!(run(c.clone()), run(TrainConfig { learning_rate_schedule: RateSchedule::Constant, ..c }));
}
