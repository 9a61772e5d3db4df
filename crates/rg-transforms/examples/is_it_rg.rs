//! "Is it RG?" measurements at sizes too large for the test suite:
//! `cargo run --release -p rg-transforms --example is_it_rg -- L SAMPLES MATCH_SAMPLES STEPS SEED [KERNELS]`
//!
//! 1. Wolff data at K_c on L×L; MCRG eigenvalues per level for majority rule, the block spin at
//!    λ = 10, and learned convolutional kernels (w = 2 and w = 4) trained on the same data.
//! 2. Two-lattice matching, L against L/2, for majority rule (and the learned w = 2 kernel),
//!    on a grid of 7 couplings around K_c, `MATCH_SAMPLES` configurations per coupling.
//!
//! KERNELS is a comma-separated subset of `majority,block-spin,learned2,learned4` (all by default).
//! Two more optional arguments set the grid spacings (defaults 0.005 for the 7 large-lattice
//! couplings, 0.009 for the 11 small-lattice ones); the small lattice's observables change over
//! a coupling range ~ 1/L_small, so larger lattices need finer grids.

use lattice_physics::rng::chain_rng;
use lattice_physics::sampler::{Sampler, Wolff};
use lattice_physics::{Configurations, IsingModel, Lattice, Spins, K_CRITICAL};
use rg_transforms::coarse::learned::{train_conv_kernel, ConvTrainConfig};
use rg_transforms::coarse::{AnyKernel, BlockSpin, Majority};
use rg_transforms::matching::{two_lattice_matching, CouplingData, MatchingConfig};
use rg_transforms::mcrg::{mcrg_with_kernel, McrgConfig, Operator};

fn wolff(l: usize, k: f64, samples: usize, seed: u64) -> Configurations {
    let lattice = Lattice::square(l).unwrap();
    let mut sampler = Wolff::new(IsingModel::new(lattice, k, 0.0).unwrap()).unwrap();
    let mut rng = chain_rng(seed, 0);
    let mut s = Spins::random(lattice, &mut rng);
    for _ in 0..300 {
        sampler.sweep(&mut s, &mut rng);
    }
    let mut out = Vec::with_capacity(samples * l * l);
    for _ in 0..samples {
        sampler.sweep(&mut s, &mut rng);
        out.extend_from_slice(s.as_slice());
    }
    Configurations::new(lattice, out).unwrap()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (l, samples, match_samples, steps, seed) =
        (get(0, 64), get(1, 10_000), get(2, 4000), get(3, 2), get(4, 1) as u64);
    let which = args.get(5).cloned().unwrap_or_else(|| "majority,block-spin,learned2,learned4".into());
    let lat = Lattice::square(l)?;
    let t0 = std::time::Instant::now();
    let data = wolff(l, K_CRITICAL, samples, seed);
    eprintln!("data: {:.1}s", t0.elapsed().as_secs_f64());
    let mut kernels: Vec<AnyKernel> = Vec::new();
    for name in which.split(',') {
        match name {
            "majority" => kernels.push(AnyKernel::Majority(Majority::new(lat, 2)?)),
            "block-spin" => kernels.push(AnyKernel::BlockSpin(BlockSpin::new(lat, 2, 10.0)?)),
            w @ ("learned2" | "learned4") => {
                let window = if w == "learned2" { 2 } else { 4 };
                let config = ConvTrainConfig {
                    factor: 2,
                    window,
                    epochs: 5,
                    batch_size: 50,
                    learning_rate: 0.05,
                    cd_steps: 1,
                    persistent: false,
                    init_std: 0.01,
                };
                let train = Configurations::new(lat, data.as_slice()[..samples.min(2000) * l * l].to_vec())?;
                let (k, hist) = train_conv_kernel(&train, &config, &mut chain_rng(seed, 99))?;
                let f: Vec<String> = k.filter().iter().map(|x| format!("{x:.3}")).collect();
                println!(
                    "learned w = {window}: filter [{}], reconstruction error {:.4}, mean |a| {:.3}",
                    f.join(", "),
                    hist.last().unwrap().reconstruction_error,
                    hist.last().unwrap().mean_abs_field
                );
                kernels.push(AnyKernel::Conv(k));
            }
            other => return Err(format!("unknown kernel {other}").into()),
        }
    }
    let mut levels = 0;
    while l >> (levels + 1) >= 4 {
        levels += 1;
    }
    println!("MCRG, L = {l}, {samples} configurations at K_c (exact λ_t = 2, λ_h = 3.6680)");
    for k in &kernels {
        let r = mcrg_with_kernel(&data, k, &McrgConfig::standard(2, levels, seed))?;
        for lv in &r.levels {
            println!(
                "  {:<16} level {} (L = {:3}): λ_t = {:.4} ± {:.4}  λ_h = {:.4} ± {:.4}",
                r.kernel,
                lv.level,
                lv.lattice_size,
                lv.thermal.eigenvalue.mean,
                lv.thermal.eigenvalue.stderr,
                lv.magnetic.eigenvalue.mean,
                lv.magnetic.eigenvalue.stderr
            );
        }
    }
    if match_samples == 0 {
        return Ok(());
    }
    let step = |i: usize, d: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (dk, dk_small) = (step(6, 0.005), step(7, 0.009));
    let ks: Vec<f64> = (-3..=3).map(|i| K_CRITICAL + dk * i as f64).collect();
    let ks_small: Vec<f64> = (-5..=5).map(|i| K_CRITICAL + dk_small * i as f64).collect();
    let t1 = std::time::Instant::now();
    let large: Vec<Configurations> =
        ks.iter().enumerate().map(|(i, &k)| wolff(l, k, match_samples, 1000 + seed + i as u64)).collect();
    let small: Vec<Configurations> = ks_small
        .iter()
        .enumerate()
        .map(|(i, &k)| wolff(l / 2, k, match_samples, 2000 + seed + i as u64))
        .collect();
    eprintln!("matching data: {:.1}s", t1.elapsed().as_secs_f64());
    let large: Vec<CouplingData> =
        ks.iter().zip(&large).map(|(&k, d)| CouplingData { coupling: k, data: d }).collect();
    let small: Vec<CouplingData> =
        ks_small.iter().zip(&small).map(|(&k, d)| CouplingData { coupling: k, data: d }).collect();
    let config = MatchingConfig {
        steps,
        operators: vec![Operator::NearestNeighbour, Operator::NextNearestNeighbour, Operator::Plaquette],
        degree: 3,
        jackknife_blocks: 20,
        seed,
    };
    println!("two-lattice matching, L = {l} vs {}, {match_samples} configurations per coupling", l / 2);
    for k in &kernels {
        if matches!(k, AnyKernel::BlockSpin(_)) {
            continue;
        }
        let r = two_lattice_matching(k, &large, &small, &config)?;
        for lv in &r.levels {
            println!(
                "  {:<16} n = {} (final {:3}): K* = {:.5} ± {:.5} ({:+.2}% of K_c)  slope = {:.3} ± {:.3}  y_t = {:.3} ± {:.3}",
                r.kernel,
                lv.steps,
                lv.final_size,
                lv.fixed_point.mean,
                lv.fixed_point.stderr,
                100.0 * (lv.fixed_point.mean / K_CRITICAL - 1.0),
                lv.slope.mean,
                lv.slope.stderr,
                lv.y_t.mean,
                lv.y_t.stderr
            );
        }
        for w in &r.warnings {
            println!("    warning: {w}");
        }
    }
    Ok(())
}
