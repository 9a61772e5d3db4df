//! CD-1 training throughput of `rbm-core` at the shape of the paper's first layer
//! (1600 visible spins → 400 hidden, batches of 100, f32).
//!
//! The reference workload is one epoch over 20,000 samples; the bench uses 2,000
//! random ±1 samples (20 mini-batches) per iteration and reports throughput in samples per
//! second (criterion's "elements"), which is what scales to 20,000.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{TrainConfig, Trainer, Units};

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

criterion_group!(benches, cd1_epoch);
criterion_main!(benches);
