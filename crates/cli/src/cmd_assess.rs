//! `kadanoff rg assess`: measure whether any kernel is an RG step (MCRG eigenvalues per level,
//! the fixed point and `y_t` by two-lattice matching); `rg train-kernel` is in
//! `cmd_train_kernel.rs`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use lattice_physics::rng::chain_rng;
use lattice_physics::sampler::{Sampler, Wolff};
use lattice_physics::{Configurations, IsingModel, Lattice, Spins};
use rg_transforms::assess::{assess, coarse_readings, Assessment};
use rg_transforms::coarse::dense::compare_correlations;
use rg_transforms::coarse::{AnyKernel, CoarseKernel};
use rg_transforms::couplings::{CouplingConfig, CouplingOperator};
use rg_transforms::matching::{CouplingData, MatchingConfig};
use rg_transforms::mcrg::{McrgConfig, Operator};

use crate::files;

use crate::cmd_train_kernel::{train_kernel, TrainKernelArgs};
use crate::kernel_file::parse_kernel;

/// Subcommands added to `kadanoff rg`.
#[derive(Subcommand)]
pub enum AssessCommand {
    /// Train a convolutional RBM kernel (stride b, shared w×w filter) on a 2D data set.
    TrainKernel(TrainKernelArgs),
    /// Is it RG? MCRG eigenvalues per level and two-lattice matching for one kernel.
    Assess(AssessArgs),
}

/// Arguments of `rg assess`.
#[derive(Args)]
pub struct AssessArgs {
    /// The kernel: `majority`, `decimation`, `block-spin:LAMBDA`, a kernel file (`.json` from
    /// `rg train-kernel` or `kadanoff rsmi`; `FILE.json@S` rescales an RSMI filter to |λ| = S)
    /// or a model (`.safetensors` from `train`; its first layer, placed on the coarse lattice).
    #[arg(long)]
    kernel: String,
    /// Block factor b (for the built-in kernels; files carry their own).
    #[arg(long, default_value_t = 2)]
    factor: usize,
    /// Data for MCRG (`.npy` of ±1, shape (samples, L, L), in Markov-chain order).
    #[arg(long)]
    data: Option<PathBuf>,
    /// MCRG levels (default: as many as leave a 4×4 lattice; 1 for a dense layer).
    #[arg(long)]
    levels: Option<usize>,
    /// Two-lattice matching: linear size L of the large lattice (L/b is the small one).
    #[arg(long)]
    grid_size: Option<usize>,
    /// Two-lattice matching: couplings of the large lattice (comma-separated).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    couplings: Vec<f64>,
    /// Two-lattice matching: couplings of the small lattice (default: the large grid's centre
    /// ± three times its half-width, 2n + 1 points for n large couplings).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    small_couplings: Vec<f64>,
    /// Two-lattice matching: Wolff configurations per coupling.
    #[arg(long, default_value_t = 2000)]
    grid_samples: usize,
    /// Two-lattice matching: largest number of steps n on the large lattice.
    #[arg(long, default_value_t = 1)]
    match_steps: usize,
    /// Seed (kernel randomness and the grid's Monte Carlo).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object (the `Assessment`, stable keys).
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: AssessCommand) -> Result<()> {
    match cmd {
        AssessCommand::TrainKernel(a) => train_kernel(a),
        AssessCommand::Assess(a) => run_assess(a),
    }
}

pub(crate) fn square_data(path: &Path) -> Result<(Configurations, Lattice)> {
    let data = files::read_configurations(path)?;
    let lattice = data.lattice();
    if lattice.dimension() != 2 {
        bail!("{} holds 1D configurations; kernels act on 2D data of shape (samples, L, L)", path.display());
    }
    Ok((data, lattice))
}

fn wolff_data(
    lattice: Lattice,
    coupling: f64,
    samples: usize,
    seed: u64,
    index: u64,
) -> Result<Configurations> {
    let mut sampler = Wolff::new(IsingModel::new(lattice, coupling, 0.0)?)?;
    let mut rng = chain_rng(seed, index);
    let mut s = Spins::random(lattice, &mut rng);
    for _ in 0..Wolff::CALIBRATION_SWEEPS.max(200) {
        sampler.sweep(&mut s, &mut rng);
    }
    let mut out = Vec::with_capacity(samples * lattice.num_sites());
    for _ in 0..samples {
        sampler.sweep(&mut s, &mut rng);
        out.extend_from_slice(s.as_slice());
    }
    Ok(Configurations::new(lattice, out)?)
}

fn run_assess(a: AssessArgs) -> Result<()> {
    if a.data.is_none() && a.grid_size.is_none() {
        bail!("nothing to assess: give --data (MCRG) and/or --grid-size with --couplings (matching)");
    }
    let data = a.data.as_deref().map(square_data).transpose()?;
    // MCRG.
    let mut placement = None;
    let mut mcrg_kernel = None;
    if let Some((d, lattice)) = &data {
        let (k, p) = parse_kernel(&a.kernel, *lattice, a.factor)?;
        placement = p;
        mcrg_kernel = Some((k, d, *lattice));
    }
    // Matching grid.
    let grid_kernel = match a.grid_size {
        None => {
            if !a.couplings.is_empty() || !a.small_couplings.is_empty() {
                bail!("--couplings needs --grid-size");
            }
            None
        }
        Some(l) => {
            if a.couplings.len() < 2 {
                bail!("--grid-size needs at least two --couplings");
            }
            let lattice = Lattice::square(l)?;
            Some(parse_kernel(&a.kernel, lattice, a.factor)?.0)
        }
    };
    let mcrg_config = match &mcrg_kernel {
        Some((k, d, lattice)) => {
            let b = k.factor();
            let auto = {
                let mut n = 0;
                let mut s = lattice.linear_size();
                while s % b == 0 && s / b >= 4 {
                    s /= b;
                    n += 1;
                }
                n.max(1)
            };
            let levels = match (&k, a.levels) {
                (AnyKernel::Dense(_), None) => 1,
                (_, Some(n)) => n,
                (_, None) => auto,
            };
            let mut c = McrgConfig::standard(b, levels, a.seed);
            c.jackknife_blocks = c.jackknife_blocks.min(d.samples());
            Some(c)
        }
        None => None,
    };
    let grids = match &grid_kernel {
        Some(k) => {
            let (lo, hi) = a
                .couplings
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(x, y), &c| (x.min(c), y.max(c)));
            let small_k: Vec<f64> = if a.small_couplings.is_empty() {
                let n = a.couplings.len();
                let (mid, half) = ((lo + hi) / 2.0, (hi - lo) / 2.0);
                (0..=2 * n).map(|i| mid - 3.0 * half + 6.0 * half * i as f64 / (2 * n) as f64).collect()
            } else {
                a.small_couplings.clone()
            };
            let (big, small) = (k.fine(), k.coarse());
            let total = a.couplings.len() * big.num_sites() + small_k.len() * small.num_sites();
            crate::budget::check_array("matching data", &[total, a.grid_samples], 1)?;
            let large: Vec<(f64, Configurations)> = a
                .couplings
                .iter()
                .enumerate()
                .map(|(i, &c)| Ok((c, wolff_data(big, c, a.grid_samples, a.seed, i as u64)?)))
                .collect::<Result<_>>()?;
            let smalls: Vec<(f64, Configurations)> = small_k
                .iter()
                .enumerate()
                .map(|(i, &c)| Ok((c, wolff_data(small, c, a.grid_samples, a.seed, 1000 + i as u64)?)))
                .collect::<Result<_>>()?;
            let config = MatchingConfig {
                steps: a.match_steps,
                operators: vec![
                    Operator::NearestNeighbour,
                    Operator::NextNearestNeighbour,
                    Operator::Plaquette,
                ],
                degree: 3.min(small_k.len() - 1),
                jackknife_blocks: 20.min(a.grid_samples),
                seed: a.seed,
            };
            Some((large, smalls, config))
        }
        None => None,
    };
    let mut result: Assessment = match (&mcrg_kernel, &mcrg_config) {
        (Some((k, d, _)), Some(c)) => assess(k, Some((d, c)), None, placement.clone()).context("MCRG")?,
        _ => Assessment {
            kernel: grid_kernel.as_ref().expect("grid or data").name(),
            factor: a.factor,
            targets: rg_transforms::assess::Targets::for_factor(a.factor),
            mcrg: None,
            matching: None,
            placement: None,
            correlations: None,
            coarse: Vec::new(),
        },
    };
    if let (Some(k), Some((large, smalls, config))) = (&grid_kernel, &grids) {
        let l: Vec<CouplingData> =
            large.iter().map(|(c, d)| CouplingData { coupling: *c, data: d }).collect();
        let s: Vec<CouplingData> =
            smalls.iter().map(|(c, d)| CouplingData { coupling: *c, data: d }).collect();
        result.matching =
            assess(k, None, Some((&l, &s, config)), None).context("two-lattice matching")?.matching;
    }
    if let (Some((k, d, _)), Some(c)) = (&mcrg_kernel, &mcrg_config) {
        let config = CouplingConfig {
            operators: CouplingOperator::ALL.to_vec(),
            tolerance: 1e-10,
            max_iterations: 50,
            jackknife_blocks: 20.min(d.samples()),
        };
        result.coarse = coarse_readings(k, d, c.levels, a.seed, &config).context("coarse couplings")?;
    }
    if let (Some(p), Some((d, _))) = (&result.placement, &data) {
        let model = crate::model_file::read_model(Path::new(&a.kernel))?;
        let layer = model.layers.first().context("the model has no layers")?.to_f64();
        let max = (p.size / p.factor / 2).clamp(1, 4);
        result.correlations = Some(compare_correlations(&layer, p, d, max)?);
    }
    if a.json {
        return crate::print_json(&serde_json::to_value(&result)?);
    }
    print_table(&result);
    Ok(())
}

fn print_table(r: &Assessment) {
    let t = r.targets;
    outln!(
        "kernel {} (b = {}); exact: λ_t = {}, λ_h = {:.4}, K* = K_c = {:.6}, y_t = 1",
        r.kernel,
        r.factor,
        t.lambda_t,
        t.lambda_h,
        t.k_c
    );
    if let Some(p) = &r.placement {
        outln!(
            "placement: occupancy {:.3}, mean displacement {}, max {}",
            p.occupancy,
            p.mean_displacement.map_or("-".into(), |x| format!("{x:.3}")),
            p.max_displacement.map_or("-".into(), |x| format!("{x:.3}"))
        );
    }
    if let Some(c) = &r.correlations {
        outln!("{:>4} {:>8} {:>14} {:>18}", "d", "pairs", "hidden G(d)", "visible G(b·d)");
        for i in 0..c.distance.len() {
            outln!("{:>4} {:>8} {:>14.4} {:>18.4}", c.distance[i], c.pairs[i], c.hidden[i], c.visible[i]);
        }
    }
    if let Some(m) = &r.mcrg {
        outln!("MCRG ({} configurations, {} jackknife blocks)", m.samples, m.jackknife_blocks);
        outln!("{:>6} {:>5} {:>20} {:>20}", "level", "L", "lambda_t", "lambda_h");
        for lv in &m.levels {
            outln!(
                "{:>6} {:>5} {:>11.4} ± {:<6.4} {:>11.4} ± {:<6.4}",
                lv.level,
                lv.lattice_size,
                lv.thermal.eigenvalue.mean,
                lv.thermal.eigenvalue.stderr,
                lv.magnetic.eigenvalue.mean,
                lv.magnetic.eigenvalue.stderr
            );
        }
        for w in &m.warnings {
            outln!("warning: {w}");
        }
        outln!("note: {}", m.errors_note);
    }
    if !r.coarse.is_empty() {
        outln!(
            "coarse configurations: exact-thermometer K' and the three largest pseudo-likelihood couplings"
        );
        for lv in &r.coarse {
            let thermo = lv
                .thermometer
                .map_or("-".to_string(), |t| format!("{:.4} ± {:.4}", t.coupling.mean, t.coupling.stderr));
            let couplings = lv.couplings.as_ref().map_or("-".to_string(), |f| {
                let mut idx: Vec<usize> = (0..f.values.len()).collect();
                idx.sort_by(|&i, &j| f.values[j].abs().total_cmp(&f.values[i].abs()));
                idx.iter()
                    .take(3)
                    .map(|&i| format!("{} {:.4} ± {:.4}", f.operators[i].name(), f.values[i], f.errors[i]))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            outln!("{:>6} {:>5}  K' = {thermo}  {couplings}", lv.level, lv.lattice_size);
        }
    }
    if let Some(m) = &r.matching {
        outln!("two-lattice matching, L = {} vs {}", m.large_size, m.small_size);
        outln!("{:>3} {:>7} {:>22} {:>18} {:>18}", "n", "final L", "K*", "dK'/dK", "y_t");
        for lv in &m.levels {
            outln!(
                "{:>3} {:>7} {:>11.5} ± {:<8.5} {:>9.3} ± {:<6.3} {:>9.3} ± {:<6.3}",
                lv.steps,
                lv.final_size,
                lv.fixed_point.mean,
                lv.fixed_point.stderr,
                lv.slope.mean,
                lv.slope.stderr,
                lv.y_t.mean,
                lv.y_t.stderr
            );
        }
        for w in &m.warnings {
            outln!("warning: {w}");
        }
        outln!("note: {}", m.errors_note);
    }
}
