//! Sampler throughput: one sweep per iteration, fixed seeds, parameters in the ids.
//!
//! `metropolis/L{40,256,1024}/K0.4407` report throughput in elements = `N` (attempted flips per
//! sweep); `wolff/L40/K0.4407` (one sweep-equivalent after calibration) and
//! `swendsen-wang/L40/K0.4407` time one sweep at the critical coupling after thermalisation.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lattice_physics::rng::chain_rng;
use lattice_physics::sampler::{Algorithm, AnySampler, Sampler};
use lattice_physics::{IsingModel, Lattice, Spins, K_CRITICAL};

/// A thermalised sampler, configuration and generator for `algorithm` on the `l × l` torus at `K_c`.
fn prepared(algorithm: Algorithm, l: usize) -> (AnySampler, Spins, lattice_physics::rng::ChainRng) {
    let lattice = Lattice::square(l).expect("valid size");
    let model = IsingModel::new(lattice, K_CRITICAL, 0.0).expect("valid model");
    let mut sampler = AnySampler::new(algorithm, model).expect("valid sampler");
    let mut rng = chain_rng(20_240_611, 0);
    let mut spins = Spins::random(lattice, &mut rng);
    let thermalize = (1 << 22) / lattice.num_sites() + 64;
    for _ in 0..thermalize {
        sampler.sweep(&mut spins, &mut rng);
    }
    (sampler, spins, rng)
}

fn bench_samplers(c: &mut Criterion) {
    let mut group = c.benchmark_group("metropolis");
    for l in [40usize, 256, 1024] {
        let (mut sampler, mut spins, mut rng) = prepared(Algorithm::Metropolis, l);
        group.throughput(Throughput::Elements((l * l) as u64));
        group.bench_function(format!("L{l}/K0.4407"), |b| {
            b.iter(|| {
                sampler.sweep(&mut spins, &mut rng);
                black_box(spins.as_slice()[0])
            })
        });
    }
    group.finish();

    for algorithm in [Algorithm::Wolff, Algorithm::SwendsenWang] {
        let mut group = c.benchmark_group(algorithm.name());
        let l = 40;
        let (mut sampler, mut spins, mut rng) = prepared(algorithm, l);
        group.throughput(Throughput::Elements((l * l) as u64));
        group.bench_function(format!("L{l}/K0.4407"), |b| {
            b.iter(|| {
                sampler.sweep(&mut spins, &mut rng);
                black_box(spins.as_slice()[0])
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_samplers);
criterion_main!(benches);
