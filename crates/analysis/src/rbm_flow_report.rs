//! The RBM-flow experiment (Iso, Shiba and Yokoo; `rg_transforms::rbm_flow`) as figures and a
//! self-contained report: one SVG per hidden size with the coupling read by the exact Kaufman
//! thermometer along every flow (±1σ), `K_c` marked, and the `|m|` cross-check.
//!
//! Units: couplings dimensionless (`K = βJ`); steps are `v → h → v′` iterations of the RBM.

use rg_transforms::rbm_flow::{abs_m_readings, Experiment, ExperimentConfig, MagnetizationCurve};

use crate::error::Result;
use crate::plot::{LegendPosition, LinePlot, Series, SeriesStyle};
use crate::report::{Figure, Report, Section};

/// The figure of hidden size `by_hidden[index]`: `K` read from the exact energy against the step,
/// one series per starting coupling, and `K_c` dashed.
pub fn flow_plot(ex: &Experiment, index: usize) -> Option<LinePlot> {
    let h = ex.by_hidden.get(index)?;
    let mut plot = LinePlot::new(
        format!("RBM flow, {} hidden units: K from the exact energy", h.hidden),
        "step v → h → v′",
        "K read by the Kaufman thermometer",
    );
    plot.legend = LegendPosition::LowerRight;
    let last = h.flows.iter().map(|f| f.steps.len()).max().unwrap_or(1).saturating_sub(1);
    for f in &h.flows {
        let points = f.steps.iter().map(|r| (r.step as f64, r.coupling.mean)).collect();
        let errors = f.steps.iter().map(|r| r.coupling.stderr).collect();
        plot.series.push(Series::with_errors(
            format!("K₀ = {:.3}", f.start_coupling),
            points,
            errors,
            SeriesStyle::Line,
        ));
    }
    plot.series.push(Series::new(
        format!("K_c = {:.4}", ex.k_critical),
        vec![(0.0, ex.k_critical), (last as f64, ex.k_critical)],
        SeriesStyle::Dashed,
    ));
    Some(plot)
}

/// One SVG per hidden size, in the experiment's order.
pub fn flow_figures(ex: &Experiment) -> Result<Vec<(usize, String)>> {
    (0..ex.by_hidden.len())
        .map(|i| Ok((ex.by_hidden[i].hidden, flow_plot(ex, i).expect("index in range").to_svg()?)))
        .collect()
}

/// What the flows did, in words and numbers: the direction, the apparent fixed point with its
/// spread against `K_c`, per hidden size, and the `|m|` read-out (through `curve`) at the end.
pub fn flow_summary(ex: &Experiment, curve: Option<&MagnetizationCurve>) -> Vec<String> {
    let mut lines = Vec::new();
    for h in &ex.by_hidden {
        let fp = &h.fixed_point;
        let towards = h
            .flows
            .iter()
            .filter(|f| {
                let (a, b) = (f.steps[0].coupling.mean, f.steps[f.steps.len() - 1].coupling.mean);
                (b - fp.coupling).abs() < (a - fp.coupling).abs()
            })
            .count();
        let mut line = format!(
            "{} hidden units: {towards} of {} flows move towards K* = {:.4} (spread {:.4} over the last {} steps of every flow, largest σ {:.4}); K* − K_c = {:+.4}.",
            h.hidden,
            h.flows.len(),
            fp.coupling,
            fp.spread,
            fp.last_steps,
            fp.max_error,
            fp.coupling - ex.k_critical
        );
        if let Some(curve) = curve {
            let ends: Vec<String> = h
                .flows
                .iter()
                .map(|f| {
                    let r = abs_m_readings(f, curve);
                    match r.last().copied().flatten() {
                        Some(k) => format!("{:.3} ± {:.3}", k.mean, k.stderr),
                        None => "outside the calibration".into(),
                    }
                })
                .collect();
            line.push_str(&format!(" K read from |m| at the last step: {}.", ends.join(", ")));
        }
        lines.push(line);
    }
    lines
}

/// The self-contained HTML report of the experiment.
pub fn flow_report(
    config: &ExperimentConfig,
    ex: &Experiment,
    curve: Option<&MagnetizationCurve>,
) -> Result<String> {
    let mut report = Report::new("RBM flow (Iso, Shiba and Yokoo) read by exact thermometers");
    let mut setup = Section::new("Setup");
    let l = config.mixture.lattice.linear_size();
    setup.paragraph(&format!(
        "One spin RBM per hidden size is trained ({} epochs of CD-1) on {} Swendsen-Wang configurations of the {l}×{l} torus at each of the couplings {:?}. \
         Flows v → h → v′ ({:?} hidden layer, v′ always sampled) start from {} fresh configurations at each of {:?} and run {} steps. \
         The coupling at every step is the K at which Kaufman's exact energy of the {l}×{l} torus equals the configurations' mean energy (binning errors, ±1σ); \
         the cross-check reads the coupling from ⟨|m|⟩ through a Monte Carlo calibration of ⟨|m|⟩(K) on the same torus.",
        config.train.epochs,
        config.mixture.samples_per_coupling,
        config.mixture.couplings,
        config.mode,
        config.start_samples,
        config.start_couplings,
        config.steps
    ));
    report.push(setup);
    let mut results = Section::new("What the flows do");
    for line in flow_summary(ex, curve) {
        results.paragraph(&line);
    }
    for (i, h) in ex.by_hidden.iter().enumerate() {
        let svg = flow_plot(ex, i).expect("index in range").to_svg()?;
        results.figure(Figure::svg(
            format!("flow-h{}", h.hidden),
            format!(
                "K along the flow for {} hidden units, one curve per starting coupling, K_c dashed.",
                h.hidden
            ),
            svg,
        ));
    }
    report.push(results);
    report.to_html()
}
