//! Times whole CD-1 epochs of `rbm-core` (what `kadanoff train` runs per epoch, without
//! monitoring) and prints one line of JSON; `benches/python/cd1_side_by_side.py` runs it next
//! to scikit-learn and PyTorch.
//!
//! Usage: `cargo run --release -p kadanoff-benches --example cd1_epoch -- [N] [REPEATS] [V] [H]
//! [B] [M]` (defaults 20000 5 1600 400 100 500; `M` is `monitor_samples`, as in `kadanoff
//! train`). Data: `N` random ±1 samples (f32), spin units on both layers, learning rate 0.01,
//! momentum 0.5, initial weights `N(0, 0.01²)`, seed 7. Each repeat is one epoch, then
//! [`Trainer::monitor`] (timed apart); the best of each is reported, with the process CPU time
//! of the best epoch.

use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{TrainConfig, Trainer, Units};

/// User + system CPU time of the whole process in seconds (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let arg = |i: usize, default: usize| -> usize {
        std::env::args().nth(i).map(|s| s.parse().expect("arguments are integers")).unwrap_or(default)
    };
    let (n, repeats, nv, nh, batch) = (arg(1, 20_000), arg(2, 5), arg(3, 1600), arg(4, 400), arg(5, 100));
    let monitor_samples = arg(6, 500);
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
        monitor_samples,
        exact_max_units: 0,
        seed: 7,
    };
    let mut trainer = Trainer::new(config, data.view(), Units::Spin, nh, Units::Spin).expect("valid setup");
    let (mut best, mut best_cpu) = (f64::INFINITY, 0.0);
    let mut monitor_best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let (t, c) = (Instant::now(), cpu_seconds());
        trainer.train_epoch(data.view()).expect("no divergence on random data");
        let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        if wall < best {
            (best, best_cpu) = (wall, cpu);
        }
        let t = Instant::now();
        trainer.monitor(data.view()).expect("finite metrics");
        monitor_best = monitor_best.min(t.elapsed().as_secs_f64());
    }
    let flop = 2.0 * 5.0 * (nv * nh) as f64 * n as f64;
    println!(
        "{{\"program\": \"rbm-core\", \"samples\": {n}, \"seconds\": {best:.4}, \"cpu_seconds\": {best_cpu:.2}, \
         \"samples_per_second\": {:.0}, \"gflops\": {:.1}, \"monitor_seconds\": {monitor_best:.4}, \"threads\": {}}}",
        n as f64 / best,
        flop / best / 1e9,
        rayon::current_num_threads()
    );
}
