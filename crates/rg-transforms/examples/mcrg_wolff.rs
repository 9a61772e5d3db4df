//! MCRG on Wolff data at K_c: `cargo run --release -p rg-transforms --example mcrg_wolff -- L SAMPLES LEVELS FACTOR SEED`.
//!
//! Prints the leading eigenvalues per level (exact: λ_t = b, λ_h = b^{15/8}).

use lattice_physics::rng::chain_rng;
use lattice_physics::sampler::{Sampler, Wolff};
use lattice_physics::{Configurations, IsingModel, Lattice, Spins, K_CRITICAL};
use rg_transforms::mcrg::{mcrg, McrgConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let get = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (l, samples, levels, factor, seed) =
        (get(0, 64), get(1, 10_000), get(2, 3), get(3, 2), get(4, 1) as u64);
    let lattice = Lattice::square(l)?;
    let mut sampler = Wolff::new(IsingModel::new(lattice, K_CRITICAL, 0.0)?)?;
    let mut rng = chain_rng(seed, 0);
    let mut spins = Spins::random(lattice, &mut rng);
    for _ in 0..500 {
        sampler.sweep(&mut spins, &mut rng);
    }
    let mut data = Vec::with_capacity(samples * l * l);
    for _ in 0..samples {
        sampler.sweep(&mut spins, &mut rng);
        data.extend_from_slice(spins.as_slice());
    }
    let r = mcrg(&Configurations::new(lattice, data)?, &McrgConfig::standard(factor, levels, seed))?;
    let b = factor as f64;
    println!(
        "L = {l}, b = {factor}, {samples} configurations; exact λ_t = {b}, λ_h = {:.4}",
        b.powf(15.0 / 8.0)
    );
    for lv in &r.levels {
        println!(
            "level {} (L = {:3}): λ_t = {:.4} ± {:.4}  λ_h = {:.4} ± {:.4}  y_t = {:.4} ± {:.4}  y_h = {:.4} ± {:.4}  ν = {:.4} ± {:.4}",
            lv.level,
            lv.lattice_size,
            lv.thermal.eigenvalue.mean,
            lv.thermal.eigenvalue.stderr,
            lv.magnetic.eigenvalue.mean,
            lv.magnetic.eigenvalue.stderr,
            lv.thermal.exponent.mean,
            lv.thermal.exponent.stderr,
            lv.magnetic.exponent.mean,
            lv.magnetic.exponent.stderr,
            lv.nu.mean,
            lv.nu.stderr
        );
    }
    Ok(())
}
