//! `kadanoff flow`: the RBM flow of Iso, Shiba and Yokoo (`rg_transforms::rbm_flow`). One spin
//! RBM per hidden size is trained on Monte Carlo configurations from several couplings, then
//! iterated `v → h → v′` from fresh configurations at several starting couplings; the exact
//! Kaufman thermometer reads the coupling at every step. Defaults are the published-like preset
//! (`ExperimentConfig::published`: 10×10, K = 0.20…0.70, hidden 64/100/144).

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use kadanoff_analysis::rbm_flow_report::{flow_figures, flow_report, flow_summary};
use rg_transforms::rbm_flow::{abs_m_readings, experiment, magnetization_curve, ExperimentConfig, FlowMode};

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
    /// Write one SVG per hidden size (`flow_h{H}.svg`) and a self-contained `flow_report.html` here.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Overwrite existing figures and report.
    #[arg(long)]
    force: bool,
    /// Swendsen-Wang configurations per coupling of the ⟨|m|⟩(K) calibration (21 couplings over
    /// the mixture's range) for the |m| cross-check; 0 skips it.
    #[arg(long, default_value_t = 2000)]
    calibration_samples: usize,
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
    if a.epochs == 0 {
        bail!("--epochs must be at least 1 (the flow needs a trained RBM)");
    }
    // Memory and work from the settings alone, before anything is allocated.
    let sites = (a.size as u128).saturating_mul(a.size as u128);
    let mixture = crate::budget::product(&[config.mixture.couplings.len() as u128, a.samples as u128, sites]);
    let starts =
        crate::budget::product(&[config.start_couplings.len() as u128, a.start_samples as u128, sites]);
    crate::budget::check(
        "the RBM-flow training mixture (f32 and i8)",
        mixture.and_then(|n| n.checked_mul(5)),
    )?;
    crate::budget::check("the flowing configurations (f32)", starts.and_then(|n| n.checked_mul(8)))?;
    let widest = config.hidden.iter().copied().max().unwrap_or(0) as u128;
    crate::budget::check(
        &format!("an RBM of {sites} visible and {widest} hidden units"),
        crate::budget::product(&[sites, widest, 16]),
    )?;
    let hidden_total = config.hidden.iter().fold(0u128, |t, &h| t.saturating_add(h as u128));
    crate::budget::check_work(
        &format!("{} epochs over the mixture", a.epochs),
        mixture.and_then(|m| crate::budget::product(&[m, hidden_total, a.epochs as u128, 6])),
    )?;
    crate::budget::check_work(
        &format!("{} flow steps", a.steps),
        starts.and_then(|m| crate::budget::product(&[m, hidden_total, a.steps as u128 + 1, 4])),
    )?;
    crate::budget::check_work(
        &format!("{} calibration samples at 21 couplings", a.calibration_samples),
        crate::budget::product(&[21, a.calibration_samples as u128, sites, 100]),
    )?;
    // Claim the outputs before any work.
    let mut outputs = Vec::new();
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for &h in &config.hidden {
            outputs.push(crate::files::PendingOutput::claim(&dir.join(format!("flow_h{h}.svg")), a.force)?);
        }
        outputs.push(crate::files::PendingOutput::claim(&dir.join("flow_report.html"), a.force)?);
    }
    let json = a.json;
    let ex = experiment(&config, &|h| {
        if !json {
            eprintln!("training {h} hidden units");
        }
    })
    .context("RBM flow")?;
    let curve = if a.calibration_samples > 0 {
        let (lo, hi) = config
            .mixture
            .couplings
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(x, y), &k| (x.min(k), y.max(k)));
        let grid: Vec<f64> = (0..21).map(|i| lo + (hi - lo) * i as f64 / 20.0).collect();
        if !json {
            eprintln!("calibrating <|m|>(K) at 21 couplings");
        }
        Some(
            magnetization_curve(config.mixture.lattice, &grid, a.calibration_samples, config.seed)
                .context("|m| calibration")?,
        )
    } else {
        None
    };
    let abs_m: Vec<Vec<Vec<Option<lattice_physics::stats::Estimate>>>> = ex
        .by_hidden
        .iter()
        .map(|h| {
            h.flows.iter().map(|f| curve.as_ref().map_or_else(Vec::new, |c| abs_m_readings(f, c))).collect()
        })
        .collect();
    if !outputs.is_empty() {
        let figures = flow_figures(&ex)?;
        let report = flow_report(&config, &ex, curve.as_ref())?;
        let mut outs = outputs.into_iter();
        for ((_, svg), out) in figures.iter().zip(outs.by_ref()) {
            out.write_with(|w| Ok(std::io::Write::write_all(w, svg.as_bytes())?))?;
            out.commit()?;
        }
        let out = outs.next().expect("the report's output");
        out.write_with(|w| Ok(std::io::Write::write_all(w, report.as_bytes())?))?;
        out.commit()?;
    }
    if json {
        return crate::print_json(
            &serde_json::json!({ "config": config, "result": ex, "calibration": curve, "coupling_from_abs_m": abs_m }),
        );
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
    for line in flow_summary(&ex, curve.as_ref()) {
        outln!("{line}");
    }
    Ok(())
}
