//! `kadanoff rsmi`: mutual-information block spins (Koch-Janusz and Ringel) on the exact
//! conditional `p(V | E)` (`rg_transforms::rsmi`). Wolff data at each coupling (generated, or
//! read from `.npy` files), filters learned over blocks × buffers × strengths with jackknife
//! errors, compared with majority rule, decimation and the uniform filter; each learned filter can
//! be written as an RSMI kernel file for `rg assess`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use lattice_physics::dataset::{generate, DatasetConfig, Sweeps};
use lattice_physics::rng::derive;
use lattice_physics::sampler::Algorithm;
use lattice_physics::{Configurations, IsingModel, Lattice, K_CRITICAL};
use rg_transforms::rsmi::{study, StudyConfig, StudyPoint};
use serde_json::json;

use crate::files::{self, PendingOutput};
use crate::kernel_file::{RsmiFilter, RSMI_FORMAT, RSMI_KIND};

/// Arguments of `kadanoff rsmi`.
#[derive(Args)]
pub struct RsmiArgs {
    /// Linear size L of the L×L torus of generated data.
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Couplings K (comma-separated; default 0.35, K_c, 0.55). With --data, the coupling of each file.
    #[arg(long, value_delimiter = ',')]
    couplings: Vec<f64>,
    /// Data instead of generating it: one `.npy` of ±1, shape (samples, L, L), in Markov-chain
    /// order, per coupling (comma-separated, in the order of --couplings).
    #[arg(long, value_delimiter = ',')]
    data: Vec<PathBuf>,
    /// Wolff configurations per coupling (generated data).
    #[arg(long, default_value_t = 4000)]
    samples: usize,
    /// Block sides b (comma-separated, each 1 to 3).
    #[arg(long, value_delimiter = ',', default_values_t = [2, 3])]
    blocks: Vec<usize>,
    /// Buffer widths w (comma-separated; b + 2w < L and at most 10).
    #[arg(long, value_delimiter = ',', default_values_t = [0, 1, 2])]
    buffers: Vec<usize>,
    /// Filter strengths |λ| (comma-separated; only the direction of λ is learned).
    #[arg(long, value_delimiter = ',', default_values_t = [2.0])]
    strengths: Vec<f64>,
    /// Largest number of gradient-ascent steps per fit.
    #[arg(long, default_value_t = 500)]
    max_steps: usize,
    /// Stop when the gradient along the sphere |λ| = strength is below this.
    #[arg(long, default_value_t = 1e-7)]
    tolerance: f64,
    /// Jackknife blocks for the errors of the filter.
    #[arg(long, default_value_t = 10)]
    jackknife: usize,
    /// Write every learned filter as an RSMI kernel file `rsmi_b{b}_w{w}_K{K}_s{|λ|}.json` here.
    #[arg(long)]
    kernel_dir: Option<PathBuf>,
    /// Overwrite existing kernel files.
    #[arg(long)]
    force: bool,
    /// Master seed of the generated data (coupling i uses the derived seed ("rsmi", i)).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object (stable keys: `config`, `points`).
    #[arg(long)]
    json: bool,
    /// No progress on stderr.
    #[arg(long)]
    quiet: bool,
}

fn kernel_name(coupling: f64, block: usize, buffer: usize, strength: f64) -> String {
    format!("rsmi_b{block}_w{buffer}_K{coupling:.4}_s{strength}.json")
}

/// Run `kadanoff rsmi`.
pub fn run(a: RsmiArgs) -> Result<()> {
    let couplings = if a.couplings.is_empty() {
        if !a.data.is_empty() {
            bail!("--data needs --couplings, the coupling of each file");
        }
        vec![0.35, K_CRITICAL, 0.55]
    } else {
        a.couplings.clone()
    };
    if !a.data.is_empty() && a.data.len() != couplings.len() {
        bail!(
            "--data has {} files but --couplings {} values; give one coupling per file",
            a.data.len(),
            couplings.len()
        );
    }
    for &k in &couplings {
        if !k.is_finite() || k.abs() > rg_transforms::rsmi::MAX_ABS_COUPLING {
            bail!("--couplings: {k} is not a coupling with |K| ≤ 4");
        }
    }
    if a.blocks.is_empty() || a.buffers.is_empty() || a.strengths.is_empty() {
        bail!("--blocks, --buffers and --strengths need at least one value each");
    }
    if let Some(s) = a.strengths.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        bail!("--strengths: {s} is not a positive, finite strength |λ|");
    }
    let config = StudyConfig {
        blocks: a.blocks.clone(),
        buffers: a.buffers.clone(),
        strengths: a.strengths.clone(),
        max_steps: a.max_steps,
        tolerance: a.tolerance,
        jackknife_blocks: a.jackknife,
    };
    // Data: read, or generated with Wolff (after checking the budget and the geometry).
    let (lattice, sets) = if a.data.is_empty() {
        let lattice = Lattice::square(a.size).context("--size")?;
        check_grid(lattice, &config, a.samples)?;
        let progress = crate::progress::Progress::new(a.quiet || a.json);
        progress.phase("Wolff data", couplings.len() as u64, "couplings");
        let mut sets = Vec::with_capacity(couplings.len());
        for (i, &k) in couplings.iter().enumerate() {
            progress.set(i as u64);
            let dc = DatasetConfig {
                samples: a.samples,
                chains: 2.min(a.samples.max(1)),
                thermalize: Sweeps::Auto,
                thin: Sweeps::Auto,
                seed: derive(a.seed, "rsmi", i as u64),
            };
            let model = IsingModel::new(lattice, k, 0.0)?;
            let spins = generate(model, Algorithm::Wolff, &dc, &|_| {})
                .with_context(|| format!("Wolff data at K = {k}"))?
                .spins;
            sets.push(Configurations::new(lattice, spins)?);
        }
        progress.finish();
        (lattice, sets)
    } else {
        let mut lattice = None;
        let mut sets = Vec::with_capacity(a.data.len());
        for path in &a.data {
            let d = files::read_configurations(path)?;
            let lat = d.lattice();
            if lat.dimension() != 2 || lattice.is_some_and(|l| l != lat) {
                bail!("{}: every data file must hold configurations of one L×L torus", path.display());
            }
            check_grid(lat, &config, d.samples())?;
            lattice = Some(lat);
            sets.push(d);
        }
        (lattice.expect("at least one file"), sets)
    };
    // Claim every kernel file (in the order of the study's points) before the work.
    let mut outputs = Vec::new();
    if let Some(dir) = &a.kernel_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for &k in &couplings {
            for &b in &config.blocks {
                for &w in &config.buffers {
                    for &s in &config.strengths {
                        outputs.push(PendingOutput::claim(&dir.join(kernel_name(k, b, w, s)), a.force)?);
                    }
                }
            }
        }
    }
    let data: Vec<(f64, &Configurations)> = couplings.iter().copied().zip(&sets).collect();
    let progress = crate::progress::Progress::new(a.quiet || a.json);
    let total = (data.len() * config.blocks.len() * config.buffers.len() * config.strengths.len()) as u64;
    progress.phase("RSMI fits", total, "filters");
    let points = study(lattice, &data, &config, &|i, _| progress.set(i as u64)).context("RSMI")?;
    progress.finish();
    let written = !outputs.is_empty();
    for (p, out) in points.iter().zip(outputs) {
        let v = json!({
            "kind": RSMI_KIND,
            "format_version": RSMI_FORMAT,
            "kernel": RsmiFilter { block: p.block, filter: p.comparison.fit.filter.clone(), errors: p.comparison.fit.errors.clone() },
            "learned": { "coupling": p.coupling, "block": p.block, "buffer": p.buffer, "strength": p.strength, "lattice_size": lattice.linear_size(), "information": p.comparison.fit.information },
        });
        files::write_json(&out, &v)?;
        out.commit()?;
    }
    if a.json {
        return crate::print_json(
            &json!({ "config": config, "lattice_size": lattice.linear_size(), "points": points }),
        );
    }
    print_table(lattice, &points, written);
    Ok(())
}

/// Validate every geometry and check the memory of the conditionals before any work.
fn check_grid(lattice: Lattice, config: &StudyConfig, samples: usize) -> Result<()> {
    let mut largest = 0;
    for &b in &config.blocks {
        for &w in &config.buffers {
            rg_transforms::rsmi::RsmiGeometry::new(lattice, b, w)
                .with_context(|| format!("block {b}, buffer {w}"))?;
            largest = largest.max(b * b);
        }
    }
    crate::budget::check_array("RSMI data", &[samples, lattice.num_sites()], 1)?;
    crate::budget::check_array("RSMI conditionals p(V | E)", &[samples, 1 << largest], 8)
}

fn print_table(lattice: Lattice, points: &[StudyPoint], written: bool) {
    outln!("RSMI on the {0}×{0} torus: filters λ (row-major in the block, ± jackknife), I(H : E) in nats (± binning)", lattice.linear_size());
    outln!(
        "{:>8} {:>2} {:>2} {:>6}  {:<24} {:<24} {:<24} {:<24} {:<10}",
        "K",
        "b",
        "w",
        "|λ|",
        "I learned",
        "I majority",
        "I decimation",
        "learned − majority",
        "converged"
    );
    let pm = |e: &lattice_physics::stats::Estimate| format!("{:.5} ± {:.5}", e.mean, e.stderr);
    for p in points {
        let c = &p.comparison;
        outln!(
            "{:>8.5} {:>2} {:>2} {:>6.3}  {:<24} {:<24} {:<24} {:<24} {:<10}",
            p.coupling,
            p.block,
            p.buffer,
            p.strength,
            pm(&c.fit.information),
            pm(&c.majority),
            pm(&c.decimation),
            pm(&c.learned_minus_majority),
            c.fit.converged
        );
        for row in 0..p.block {
            let cells: Vec<String> = (0..p.block)
                .map(|x| {
                    let i = row * p.block + x;
                    format!("{:7.4} ± {:.4}", c.fit.filter[i], c.fit.errors[i])
                })
                .collect();
            outln!("{:>24}{}", "", cells.join("  "));
        }
        outln!("{:>24}learned − uniform of the same |λ|: {}", "", pm(&c.learned_minus_uniform));
    }
    if written {
        outln!("kernel files: rsmi_b{{b}}_w{{w}}_K{{K}}_s{{|λ|}}.json (rg assess --kernel FILE.json, or FILE.json@S to rescale |λ|)");
    }
}
