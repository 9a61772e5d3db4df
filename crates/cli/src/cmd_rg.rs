//! `kadanoff rg …`: exact 1D RG, block-spin transforms of data sets, the decimation RBM and
//! MCRG; the exact evaluation of the RBM ↔ variational-RG mapping is in `cmd_rg_mapping.rs`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use lattice_physics::io::sidecar::BlockRecord;
use lattice_physics::io::{Sidecar, Source};
use rg_transforms::block::{coarse_grain, BlockRule};
use rg_transforms::chain::{flow, ChainCouplings};
use rg_transforms::exact_rbms::DecimationStack;
use rg_transforms::mcrg::{mcrg, McrgConfig};
use serde_json::{json, Value};

use crate::files::{self, PendingOutput};

/// `kadanoff rg` subcommands.
#[derive(Subcommand)]
pub enum RgCommand {
    /// Exact decimation flow of the 1D chain: K, h, constants and correlation lengths.
    #[command(name = "flow-1d")]
    Flow1d(Flow1dArgs),
    /// Coarse-grain a data set by majority rule or decimation on b×b (or b-site) blocks.
    Block(BlockArgs),
    /// Build the exact decimation RBM stack of a ring and verify it by enumeration.
    DecimationRbm(DecimationArgs),
    /// Evaluate the RBM ↔ variational-RG mapping exactly for a trained or given RBM.
    ExactMapping(crate::cmd_rg_mapping::MappingArgs),
    /// Monte Carlo RG (Swendsen): eigenvalues of the linearised RG matrix per level.
    Mcrg(McrgArgs),
    #[command(flatten)]
    Assess(crate::cmd_assess::AssessCommand),
}

/// Arguments of `rg flow-1d`.
#[derive(Args)]
pub struct Flow1dArgs {
    /// Initial coupling K_0.
    #[arg(long, allow_negative_numbers = true)]
    coupling: f64,
    /// Initial field h_0.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    field: f64,
    /// Number of decimation steps (each halves the chain).
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `rg block`.
#[derive(Args)]
pub struct BlockArgs {
    /// Input data set (`.npy` of ±1, shape (samples, L, L) or (samples, L)).
    #[arg(long)]
    data: PathBuf,
    /// Block rule: majority (ties broken at random) or decimation (top-left spin of each block).
    #[arg(long, default_value = "majority")]
    rule: String,
    /// Block factor b.
    #[arg(long, default_value_t = 2)]
    factor: usize,
    /// How many times to apply the transform.
    #[arg(long, default_value_t = 1)]
    levels: usize,
    /// Seed for tie-breaking.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output `.npy`.
    #[arg(long)]
    out: PathBuf,
    /// Overwrite existing outputs.
    #[arg(long)]
    force: bool,
    /// Print the metadata as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `rg decimation-rbm`.
#[derive(Args)]
pub struct DecimationArgs {
    /// Ring size N (at most 24 for the enumeration check).
    #[arg(long)]
    size: usize,
    /// Coupling K of the ring.
    #[arg(long, allow_negative_numbers = true)]
    coupling: f64,
    /// Number of stacked layers (each halves the ring).
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `rg mcrg`.
#[derive(Args)]
pub struct McrgArgs {
    /// Input data set of 2D configurations (`.npy`, shape (samples, L, L)).
    #[arg(long)]
    data: PathBuf,
    /// Block factor b.
    #[arg(long, default_value_t = 2)]
    factor: usize,
    /// Number of blocking levels.
    #[arg(long, default_value_t = 2)]
    levels: usize,
    /// Seed for tie-breaking.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: RgCommand) -> Result<()> {
    match cmd {
        RgCommand::Flow1d(a) => flow_1d(a),
        RgCommand::Block(a) => block(a),
        RgCommand::DecimationRbm(a) => decimation(a),
        RgCommand::ExactMapping(a) => crate::cmd_rg_mapping::mapping(a),
        RgCommand::Mcrg(a) => run_mcrg(a),
        RgCommand::Assess(c) => crate::cmd_assess::run(c),
    }
}

fn finite(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn flow_1d(a: Flow1dArgs) -> Result<()> {
    let f = flow(ChainCouplings::new(a.coupling, a.field)?, a.steps)?;
    let v = json!({
        "steps": a.steps,
        "couplings": f.couplings(),
        "fields": f.fields(),
        "constants": f.constants(),
        "correlation_lengths": f.correlation_lengths().into_iter().map(finite).collect::<Vec<_>>(),
        "note": "index 0 is the input; constants[n] is the free-energy constant per removed spin of step n (0 at index 0); correlation lengths in units of the current lattice spacing",
    });
    if a.json {
        return crate::print_json(&v);
    }
    outln!("{:>4} {:>16} {:>16} {:>16} {:>14}", "n", "K_n", "h_n", "constant", "xi_n");
    for (n, s) in f.states.iter().enumerate() {
        outln!(
            "{n:>4} {:>16.10} {:>16.10} {:>16.10} {:>14.6}",
            s.coupling,
            s.field,
            s.step_constant,
            s.correlation_length
        );
    }
    Ok(())
}

fn block(a: BlockArgs) -> Result<()> {
    let rule: BlockRule = a.rule.parse()?;
    if a.out.extension().and_then(|e| e.to_str()) != Some("npy") {
        bail!("--out must name a .npy file, got {}", a.out.display());
    }
    if a.levels == 0 {
        bail!("--levels must be at least 1");
    }
    let data = files::read_configurations(&a.data)?;
    let lattice = data.lattice();
    // Validate the factor for every level before claiming outputs.
    let mut lat = lattice;
    for _ in 0..a.levels {
        lat = rg_transforms::block::coarse_lattice(lat, a.factor)?;
    }
    // A broken input sidecar is not copied, but does not stop the blocking either.
    let inherited = match files::read_sidecar(&a.data) {
        Ok(s) => s.map(Box::new),
        Err(e) => {
            eprintln!("kadanoff: warning: {e:#}; its metadata is not carried over");
            None
        }
    };
    let npy_out = PendingOutput::claim(&a.out, a.force)?;
    let json_out = PendingOutput::claim(&files::sidecar_path(&a.out), a.force)?;
    let coarse = coarse_grain(&data, rule, a.factor, a.levels, a.seed)?;
    let coarse_lattice = coarse.lattice();
    let shape = coarse.shape();
    let record = BlockRecord {
        rule: rule.name().to_string(),
        factor: a.factor,
        levels: a.levels,
        from_data: a.data.display().to_string(),
        from_metadata: inherited,
    };
    let mut meta = Sidecar::new(coarse_lattice, data.samples(), a.seed, Source::Block(record));
    meta.tool_version = env!("CARGO_PKG_VERSION").into();
    // The coarse data's couplings are not those of the fine lattice: they stay unknown.
    meta.output = a.out.display().to_string();
    files::write_configurations(&npy_out, &coarse)?;
    files::write_sidecar(&json_out, &meta)?;
    npy_out.commit()?;
    json_out.commit()?;
    if a.json {
        crate::print_json(&serde_json::to_value(&meta)?)
    } else {
        outln!(
            "{} samples blocked {}× by {} (b = {}) → shape {:?} in {}",
            data.samples(),
            a.levels,
            rule.name(),
            a.factor,
            &shape[1..],
            a.out.display()
        );
        Ok(())
    }
}

fn decimation(a: DecimationArgs) -> Result<()> {
    let stack = DecimationStack::new(a.size, a.coupling, a.layers)?;
    let checks = stack.verify()?;
    let max_h = checks.iter().map(|c| c.hidden_max_error).fold(0.0, f64::max);
    let max_t = checks.iter().map(|c| c.trace_violation_max).fold(0.0, f64::max);
    let v = json!({
        "size": a.size,
        "layers": a.layers,
        "couplings": stack.couplings,
        "max_hamiltonian_error": max_h,
        "trace_violation_max": max_t,
        "per_layer": checks,
    });
    if a.json {
        return crate::print_json(&v);
    }
    outln!("decimation RBM stack on a ring of {} spins, K_0 = {}", a.size, a.coupling);
    for (l, c) in checks.iter().enumerate() {
        outln!(
            "  layer {l}: ring {} → {}, K = {:.10} → K' = {:.10}; max |H^RBM(h) - H_ring(h; K')| = {:.2e}, trace violation {:.2e}, KL {:.2e}",
            c.ring_size,
            c.ring_size / 2,
            c.coupling,
            c.renormalized_coupling,
            c.hidden_max_error,
            c.trace_violation_max,
            c.kl_divergence
        );
    }
    Ok(())
}

fn run_mcrg(a: McrgArgs) -> Result<()> {
    let data = files::read_configurations(&a.data)?;
    let lattice = data.lattice();
    if lattice.dimension() != 2 {
        bail!("MCRG needs 2D configurations of shape (samples, L, L)");
    }
    // Every level must leave a lattice: checked before any work (and before any allocation
    // sized by --levels).
    if a.levels == 0 {
        bail!("--levels must be at least 1");
    }
    let mut last = lattice;
    for level in 1..=a.levels {
        last = rg_transforms::block::coarse_lattice(last, a.factor)
            .with_context(|| format!("--levels {}: blocking level {level}", a.levels))?;
    }
    if last.linear_size() < 4 {
        eprintln!(
            "kadanoff: warning: the last level is a {0}×{0} lattice; its operators are dominated by finite-size effects",
            last.linear_size()
        );
    }
    let config = McrgConfig::standard(a.factor, a.levels, a.seed);
    // Every blocked level is kept (at most 1/(b²-1) of the data again) and every operator is
    // tabulated per sample and level as f64.
    let operators = (config.even.len() + config.odd.len()) as u128;
    crate::budget::check(
        &format!("MCRG on {} samples over {} levels", data.samples(), a.levels),
        crate::budget::product(&[data.samples() as u128, (a.levels + 1) as u128, operators, 8])
            .and_then(|b| b.checked_add(data.as_slice().len() as u128 / 3 + 1)),
    )?;
    let r = mcrg(&data, &config).context("MCRG")?;
    let est = |e: &rg_transforms::mcrg::Estimate| json!({"mean": e.mean, "stderr": e.stderr});
    let levels: Vec<Value> = r
        .levels
        .iter()
        .map(|l| {
            json!({
                "level": l.level,
                "lattice_size": l.lattice_size,
                "thermal_eigenvalue": est(&l.thermal.eigenvalue),
                "magnetic_eigenvalue": est(&l.magnetic.eigenvalue),
                "y_t": est(&l.thermal.exponent),
                "y_h": est(&l.magnetic.exponent),
                "nu": est(&l.nu),
            })
        })
        .collect();
    let b = a.factor as f64;
    let v = json!({
        "data": a.data.display().to_string(),
        "samples": r.samples,
        "factor": a.factor,
        "jackknife_blocks": r.jackknife_blocks,
        "even_operators": r.even_operators,
        "odd_operators": r.odd_operators,
        "levels": levels,
        "note": "the linearised RG matrix is truncated to the operators listed; level-1 eigenvalues carry a truncation bias beyond their error bars, which shrinks with deeper levels and more operators",
        "exact": {"thermal_eigenvalue": b, "magnetic_eigenvalue": b.powf(15.0 / 8.0), "y_t": 1.0, "y_h": 1.875, "nu": 1.0},
    });
    if a.json {
        return crate::print_json(&v);
    }
    outln!(
        "MCRG, b = {}, {} configurations ({} even, {} odd operators)",
        a.factor,
        r.samples,
        r.even_operators.len(),
        r.odd_operators.len()
    );
    outln!("  (eigenvalues of the RG matrix truncated to these operators: level 1 carries a truncation bias beyond its error bars)");
    for l in &r.levels {
        outln!(
            "  level {} (L = {}): lambda_t = {:.4} ± {:.4} (exact {:.4}), lambda_h = {:.4} ± {:.4} (exact {:.4}), y_t = {:.4}, y_h = {:.4}, nu = {:.4} ± {:.4}",
            l.level, l.lattice_size, l.thermal.eigenvalue.mean, l.thermal.eigenvalue.stderr, b,
            l.magnetic.eigenvalue.mean, l.magnetic.eigenvalue.stderr, b.powf(15.0 / 8.0),
            l.thermal.exponent.mean, l.magnetic.exponent.mean, l.nu.mean, l.nu.stderr
        );
    }
    Ok(())
}
