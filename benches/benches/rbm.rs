//! CD-1 training throughput of `rbm-core` at the shape of the paper's first layer
//! (1600 visible spins → 400 hidden, batches of 100, f32), and AIS at that shape.
//!
//! The reference workload is one epoch over 20,000 samples; the bench uses 2,000
//! random ±1 samples (20 mini-batches) per iteration and reports throughput in samples per
//! second (criterion's "elements"), which is what scales to 20,000.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{AisConfig, BetaSchedule, Rbm, TrainConfig, Trainer, Units};

fn cd1_epoch(c: &mut Criterion) {
    let (n, nv, nh, batch) = (2_000usize, 1_600usize, 400usize, 100usize);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let data: Array2<f32> = Array2::from_shape_fn((n, nv), |_| if rng.random::<bool>() { 1.0 } else { -1.0 });
    let config = TrainConfig {
        cd_k: 1,
        persistent: false,
        epochs: usize::MAX,
        batch_size: batch,
        learning_rate: 0.01,
        learning_rate_schedule: rbm_core::RateSchedule::Constant,
        momentum: 0.5,
        momentum_switch: None,
        l1: 0.0,
        l2: 0.0,
        init_std: 0.01,
        visible_bias_from_data: true,
        holdout: 0.0,
        monitor_samples: 100,
        exact_max_units: 0,
        seed: 7,
    };
    let mut trainer = Trainer::new(config, data.view(), Units::Spin, nh, Units::Spin).expect("valid setup");
    let mut group = c.benchmark_group("cd1_epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    let id = format!("n{n}/v{nv}/h{nh}/b{batch}/f32");
    group.bench_function(BenchmarkId::from_parameter(id), |b| {
        b.iter(|| trainer.train_epoch(data.view()).expect("no divergence on random data"))
    });
    group.finish();
}

/// AIS `ln Z` of a 1600 → 400 f32 model (what `kadanoff train` runs once per large layer).
fn ais(c: &mut Criterion) {
    let (nv, nh) = (1_600usize, 400usize);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let w = Array2::from_shape_fn((nv, nh), |_| 0.02 * rng.random_range(-1.0f32..1.0));
    let rbm =
        Rbm::new(w, Array1::zeros(nv), Array1::zeros(nh), Units::Spin, Units::Spin).expect("valid model");
    let mut group = c.benchmark_group("ais");
    group.sample_size(10);
    for (chains, steps) in [(64usize, 100usize), (64, 300)] {
        let config = AisConfig { chains, steps, schedule: BetaSchedule::Sigmoid { steepness: 4.0 }, seed: 5 };
        let id = format!("v{nv}/h{nh}/c{chains}/s{steps}/f32");
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| rbm.ais_log_partition(None, &config).expect("finite weights"))
        });
    }
    group.finish();
}

criterion_group!(benches, cd1_epoch, ais);
criterion_main!(benches);
