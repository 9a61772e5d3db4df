//! Throughput and integrated autocorrelation time of |m| for every sampler.
//!
//! `cargo run -p lattice-physics --release --example sampler_speed [-- L K SWEEPS]`
//! (defaults: L = 40, K = K_c, 200000 sweeps). Prints, per algorithm, the CPU time per sweep, the
//! attempted flips per nanosecond (local samplers), `τ_int(|m|)` in sweeps (Sokal's automatic
//! window, c = 6) and the resulting independent configurations per second per core,
//! `1 / (2 τ_int · time per sweep)`. Also times one Metropolis and one heat-bath sweep at L = 40, 256 and 1024 (CPU time, K_c).

use std::time::Instant;

/// A clock that counts only the time this thread spent on a CPU (Linux `schedstat`), so the
/// numbers mean something on a shared, loaded machine; wall time elsewhere.
struct CpuClock(Instant, Option<u64>);

fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

impl CpuClock {
    fn start() -> Self {
        CpuClock(Instant::now(), thread_cpu_ns())
    }

    fn seconds(&self) -> f64 {
        match (self.1, thread_cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 * 1e-9,
            _ => self.0.elapsed().as_secs_f64(),
        }
    }
}

use lattice_physics::rng::chain_rng;
use lattice_physics::sampler::{Algorithm, AnySampler, Sampler};
use lattice_physics::{IsingModel, Lattice, Spins, K_CRITICAL};

/// Sokal's windowed estimate `τ = ½ + Σ_{t=1}^{W} ρ(t)`, smallest `W ≥ c τ(W)`.
fn tau_int(x: &[f64]) -> (f64, usize) {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0 = d.iter().map(|v| v * v).sum::<f64>() / n as f64;
    let mut tau = 0.5;
    for t in 1..n / 2 {
        let ct = d[..n - t].iter().zip(&d[t..]).map(|(a, b)| a * b).sum::<f64>() / (n - t) as f64;
        tau += ct / c0;
        if t as f64 >= 6.0 * tau {
            return (tau, t);
        }
    }
    (tau, n / 2)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let l: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(40);
    let k: f64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(K_CRITICAL);
    let sweeps: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(200_000);
    let lattice = Lattice::square(l)?;
    let model = IsingModel::new(lattice, k, 0.0)?;
    let n = lattice.num_sites() as f64;
    println!("L = {l}, K = {k}, {sweeps} sweeps per algorithm");
    for algorithm in Algorithm::ALL {
        let mut sampler = AnySampler::new(algorithm, model)?;
        let mut rng = chain_rng(2024, 0);
        let mut spins = Spins::random(lattice, &mut rng);
        for _ in 0..2000 {
            sampler.sweep(&mut spins, &mut rng);
        }
        let mut series = Vec::with_capacity(sweeps);
        let start = CpuClock::start();
        for _ in 0..sweeps {
            sampler.sweep(&mut spins, &mut rng);
            series.push((spins.magnetization_sum() as f64 / n).abs());
        }
        let per_sweep = start.seconds() / sweeps as f64;
        let (tau, window) = tau_int(&series);
        let independent = 1.0 / (2.0 * tau * per_sweep);
        println!(
            "{:>14}: {:8.2} us/sweep  {:6.3} flips/ns  tau_int(|m|) = {:7.2} sweeps (window {window})  \
             {:9.0} independent configs/s/core",
            algorithm.name(),
            per_sweep * 1e6,
            n / (per_sweep * 1e9),
            tau,
            independent
        );
    }
    for algorithm in [Algorithm::Metropolis, Algorithm::HeatBath] {
        for l in [40usize, 256, 1024] {
            let lattice = Lattice::square(l)?;
            let mut sampler = AnySampler::new(algorithm, IsingModel::new(lattice, K_CRITICAL, 0.0)?)?;
            let mut rng = chain_rng(7, 0);
            let mut spins = Spins::random(lattice, &mut rng);
            let reps = (1 << 27) / lattice.num_sites();
            for _ in 0..reps / 10 {
                sampler.sweep(&mut spins, &mut rng);
            }
            let start = CpuClock::start();
            for _ in 0..reps {
                sampler.sweep(&mut spins, &mut rng);
            }
            let per_sweep = start.seconds() / reps as f64;
            println!(
                "{} L = {l}: {:.1} us/sweep, {:.3} attempted flips/ns",
                algorithm.name(),
                per_sweep * 1e6,
                lattice.num_sites() as f64 / (per_sweep * 1e9)
            );
        }
    }
    Ok(())
}
