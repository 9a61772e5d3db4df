//! `kadanoff flow`: the RBM flow of Iso, Shiba and Yokoo (`rg_transforms::rbm_flow`). One spin
//! RBM per hidden size is trained on Monte Carlo configurations from several couplings, then
//! iterated `v → h → v′` from fresh configurations at several starting couplings; the exact
//! Kaufman thermometer reads the coupling at every step. Defaults are the published-like preset
//! (`ExperimentConfig::published`: 10×10, K = 0.20…0.70, hidden 64/100/144).

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use rg_transforms::rbm_flow::{experiment, ExperimentConfig, FlowMode};

/// How the hidden layer is set at each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// `h ~ p(h | v)`, then `v′ ~ p(v | h)`.
    Sampled,
    /// `h = ⟨h | v⟩`, then `v′ ~ p(v | h)`.
    MeanField,
}

/// Arguments of `kadanoff flow`.
#[derive(Args)]
pub struct FlowArgs {
    /// Linear size L of the L×L torus.
    #[arg(long, default_value_t = 10)]
    size: usize,
    /// Couplings K of the training mixture (comma-separated; default 0.20, 0.25, …, 0.70).
    #[arg(long, value_delimiter = ',')]
    couplings: Vec<f64>,
    /// Monte Carlo configurations per coupling of the mixture.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Hidden sizes to compare (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [64, 100, 144])]
    hidden: Vec<usize>,
    /// Training epochs (CD-1, learning rate 0.01).
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Starting couplings of the flows (comma-separated; default 0.2, 0.3, 0.44, 0.55, 0.7).
    #[arg(long, value_delimiter = ',')]
    start: Vec<f64>,
    /// Configurations per starting coupling.
    #[arg(long, default_value_t = 1000)]
    start_samples: usize,
    /// Steps of every flow.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Last steps of every flow that define the apparent fixed point.
    #[arg(long, default_value_t = 50)]
    last: usize,
    /// How the hidden layer is set.
    #[arg(long, value_enum, default_value_t = Mode::Sampled)]
    mode: Mode,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the whole result as JSON.
    #[arg(long)]
    json: bool,
}

/// Run `kadanoff flow`.
pub fn run(a: FlowArgs) -> Result<()> {
    let mut config = ExperimentConfig::published(a.epochs, a.seed).context("flow preset")?;
    config.mixture.lattice = lattice_physics::Lattice::square(a.size).context("--size")?;
    if !a.couplings.is_empty() {
        config.mixture.couplings = a.couplings;
    }
    if !a.start.is_empty() {
        config.start_couplings = a.start;
    }
    if a.hidden.is_empty() || a.hidden.contains(&0) {
        bail!("--hidden needs at least one positive size");
    }
    if a.last == 0 || a.last > a.steps + 1 {
        bail!("--last must be between 1 and --steps + 1 (the flow has steps + 1 readings)");
    }
    config.mixture.samples_per_coupling = a.samples;
    config.hidden = a.hidden;
    config.start_samples = a.start_samples;
    config.steps = a.steps;
    config.last_steps = a.last;
    config.mode = match a.mode {
        Mode::Sampled => FlowMode::Sampled,
        Mode::MeanField => FlowMode::MeanField,
    };
    let json = a.json;
    let ex = experiment(&config, &|h| {
        if !json {
            eprintln!("training {h} hidden units");
        }
    })
    .context("RBM flow")?;
    if json {
        return crate::print_json(&serde_json::json!({ "config": config, "result": ex }));
    }
    outln!(
        "RBM flow on the {0}×{0} torus: mixture of {1} couplings × {2} samples, {3} epochs, {4:?} steps; K_c = {5:.6}",
        a.size,
        config.mixture.couplings.len(),
        config.mixture.samples_per_coupling,
        a.epochs,
        config.mode,
        ex.k_critical
    );
    outln!("K read from the exact energy (±1σ) at steps 0, 1, 2, …, {}:", config.steps);
    let shown = |s: usize| s <= 3 || s == config.steps || s % (config.steps / 8).max(1) == 0;
    for h in &ex.by_hidden {
        outln!("hidden {}:", h.hidden);
        for f in &h.flows {
            let ks: Vec<String> = f
                .steps
                .iter()
                .filter(|r| shown(r.step))
                .map(|r| format!("{}:{:.3}±{:.3}", r.step, r.coupling.mean, r.coupling.stderr))
                .collect();
            outln!("  K0 = {:.3}: {}", f.start_coupling, ks.join(" "));
        }
        let fp = &h.fixed_point;
        let per: Vec<String> = fp.per_flow.iter().map(|e| format!("{:.3}±{:.3}", e.mean, e.stderr)).collect();
        outln!("  mean of the last {} steps per flow: {}", fp.last_steps, per.join(" "));
        outln!(
            "  apparent fixed point K* = {:.4} (spread {:.4} over flows and steps), K* − K_c = {:+.4}",
            fp.coupling,
            fp.spread,
            fp.coupling - ex.k_critical
        );
    }
    Ok(())
}
