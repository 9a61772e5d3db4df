//! The greedy step API: a run continued from its saved state (at any epoch, in any layer)
//! ends bit-identical to an uninterrupted one, and states that are inconsistent or of another
//! run are refused with errors that say what is wrong.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{Error, GreedyConfig, GreedyTrainer, TrainConfig, Units};

fn data(n: usize, nv: usize, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((n, nv), |_| Units::Spin.from_bit(rng.random::<f64>() < 0.4))
}

fn config(persistent: bool) -> GreedyConfig {
    let train = TrainConfig {
        batch_size: 10,
        holdout: 0.1,
        monitor_samples: 20,
        exact_max_units: 6,
        ..TrainConfig::recommended(Units::Spin, persistent, 3, 0)
    };
    GreedyConfig::uniform(Units::Spin, Units::Spin, &[6, 4, 3], &train, |l| 100 + 7 * l as u64)
}

#[test]
fn resumed_runs_are_bit_identical_at_every_epoch() {
    let d = data(120, 9, 1);
    for persistent in [false, true] {
        let mut straight = GreedyTrainer::new(config(persistent), d.view()).unwrap();
        let mut states = vec![straight.state()];
        while !straight.is_finished() {
            straight.step(d.view()).unwrap();
            states.push(straight.state());
        }
        assert_eq!(states.len(), 10, "3 layers of 3 epochs");
        assert!(matches!(straight.step(d.view()), Err(Error::AlreadyFinished)));
        let history = straight.history().to_vec();
        let dbn = straight.into_dbn().unwrap();
        assert_eq!(dbn.sizes(), vec![9, 6, 4, 3]);
        for (k, s) in states.into_iter().enumerate() {
            let mut resumed = GreedyTrainer::resume(&config(persistent), s, d.view()).unwrap();
            while !resumed.is_finished() {
                resumed.step(d.view()).unwrap();
            }
            assert_eq!(resumed.history(), &history[..], "resumed after step {k}");
            assert_eq!(resumed.into_dbn().unwrap(), dbn, "resumed after step {k}");
        }
    }
}

#[test]
fn inconsistent_or_foreign_states_are_refused() {
    let d = data(120, 9, 2);
    let mut run = GreedyTrainer::new(config(true), d.view()).unwrap();
    for _ in 0..4 {
        run.step(d.view()).unwrap(); // layer 1 finished, layer 2 at epoch 1
    }
    let good = run.state();
    assert_eq!(good.finished.len(), 1);
    let ok = |s| GreedyTrainer::from_state(s, d.view()).map(|_| ());
    assert_eq!(ok(good.clone()), Ok(()));

    // Another run: a different width, epoch count or seed is named in the error.
    let mut other = config(true);
    other.layers[1].n_hidden = 5;
    match GreedyTrainer::resume(&other, good.clone(), d.view()) {
        Err(Error::StateMismatch { what, expected, found }) => {
            assert_eq!((what.as_str(), expected.as_str(), found.as_str()), ("layer 2 hidden units", "5", "4"))
        }
        r => panic!("{:?}", r.map(|_| ())),
    }
    let mut other = config(true);
    other.layers[2].train.epochs = 1_000_000_000;
    assert!(matches!(
        GreedyTrainer::resume(&other, good.clone(), d.view()),
        Err(Error::StateMismatch { what, .. }) if what == "layer 3 epochs"
    ));

    // A finished layer of the wrong shape (the configuration edited to match it).
    let mut s = good.clone();
    s.finished[0] = rbm_core::Rbm::zeros(9, 5, Units::Spin, Units::Spin).unwrap();
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "finished layer", .. })));
    // A finished layer dropped, or its history.
    let mut s = good.clone();
    s.finished.clear();
    assert!(ok(s).is_err());
    let mut s = good.clone();
    s.history[0].pop();
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "history", .. })));
    // A trainer that has done more epochs than its run has, or more than its history says.
    let mut s = good.clone();
    s.current.as_mut().unwrap().epoch = 10;
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "epoch", .. })));
    let mut s = good.clone();
    s.current.as_mut().unwrap().epoch = 2;
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "history", .. })));
    // A trainer of another width, settings, or row count.
    let mut s = good.clone();
    s.current.as_mut().unwrap().config.learning_rate = 0.5;
    assert!(matches!(ok(s), Err(Error::StateMismatch { .. })));
    let mut s = good.clone();
    s.current = None;
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "current layer", .. })));
    let mut s = good.clone();
    let t = s.current.as_mut().unwrap();
    t.order.swap(0, 1);
    t.order[0] = t.order[1];
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "training order", .. })));
    let mut s = good.clone();
    s.current.as_mut().unwrap().rng = [0; 4];
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "generator state", .. })));
    let mut s = good.clone();
    s.current.as_mut().unwrap().chains.as_mut().unwrap()[[0, 0]] = 0.5;
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "persistent chains", .. })));
    let mut s = good.clone();
    s.current.as_mut().unwrap().velocity_hidden[0] = f32::NAN;
    assert!(matches!(ok(s), Err(Error::InvalidState { what: "hidden momentum", .. })));
    // Other data.
    let fewer = data(110, 9, 2);
    assert!(GreedyTrainer::from_state(good.clone(), fewer.view()).is_err());
    // A bad configuration is refused before any work.
    let mut c = config(false);
    c.layers[0].train.epochs = 0;
    assert!(matches!(GreedyTrainer::new(c, d.view()), Err(Error::InvalidParameter { name: "epochs", .. })));
    let mut c = config(false);
    c.layers[1].train.l1 = 1e300;
    assert!(matches!(GreedyTrainer::new(c, d.view()), Err(Error::InvalidParameter { name: "l1", .. })));
}

/// The final AIS log-likelihood within a work budget: its work is `(2 chains steps + rows)`
/// products of the layer's size against `epochs × training rows × (2 k + 3)` for training
/// (CD-1: 5, PCD with five Gibbs steps: 13), computed here by hand, and a budget one side or
/// the other of that fraction runs AIS or skips it and says so; exact enumeration within its
/// own budget is never skipped.
#[test]
fn the_final_ais_runs_only_within_its_share_of_the_training() {
    let d = data(120, 9, 3);
    let ais = rbm_core::AisConfig { chains: 4, steps: 10, schedule: rbm_core::BetaSchedule::Linear, seed: 9 };
    for (persistent, per_row) in [(false, 5.0), (true, 13.0)] {
        let mut run = GreedyTrainer::new(config(persistent), d.view()).unwrap();
        while !run.is_finished() {
            run.step(d.view()).unwrap();
        }
        // 120 rows, 12 held out: 108 trained on for 3 epochs.
        let expected = (2.0 * 4.0 * 10.0 + 120.0) / (3.0 * 108.0 * per_row);
        for layer in 0..3 {
            let fraction = run.ais_work_fraction(layer, 120, &ais).unwrap();
            assert!(
                (fraction - expected).abs() < 1e-12 * expected,
                "layer {layer}: {fraction} vs {expected}"
            );
            let summary = |max_exact_terms, max_ais_work_fraction| {
                let budget = rbm_core::LikelihoodBudget { max_exact_terms, max_ais_work_fraction };
                run.layer_summary_within(layer, d.view(), Some(&ais), &budget).unwrap()
            };
            let within = summary(0, expected * (1.0 + 1e-9));
            assert_eq!(within.log_likelihood_method, Some(rbm_core::LikelihoodMethod::Ais));
            assert_eq!(within.log_likelihood_skipped_ais_work_fraction, None);
            let over = summary(0, expected * (1.0 - 1e-9));
            assert_eq!(over.log_likelihood, None, "layer {layer}, persistent {persistent}");
            assert_eq!(over.log_likelihood_ais, None);
            assert_eq!(over.log_likelihood_skipped_ais_work_fraction, Some(fraction));
            let exact = summary(u64::MAX, 0.0);
            assert_eq!(exact.log_likelihood_method, Some(rbm_core::LikelihoodMethod::Exact));
            assert_eq!(exact.log_likelihood_skipped_ais_work_fraction, None);
        }
        assert_eq!(run.ais_work_fraction(3, 120, &ais), None, "no fourth layer");
    }
}
