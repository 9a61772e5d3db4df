//! The quick study with the public API alone, in memory: sample, train, analyse, exact 1D RG,
//! "Is it RG?", report. This runs a reduced configuration (an 8×8 torus, a 64 → 16 → 4 DBN) so that it takes
//! seconds; `StudyConfig::quick()` is the README's study and `StudyConfig::paper()` the paper's.
//! `cargo test -p kadanoff-analysis --test quick_study` runs this file.
//!
//! `cargo run --release -p kadanoff-analysis --example quick_study -- report.html`

use std::ops::ControlFlow;

use kadanoff_analysis::study::{self, IsRgConfig, ReportInputs, StudyConfig, StudySeeds, StudySummary};

/// A configuration small enough for a test.
pub fn reduced() -> StudyConfig {
    StudyConfig {
        size: 8,
        samples: 400,
        layers: vec![16, 4],
        epochs: 3,
        analysis_samples: 200,
        generated_samples: 100,
        gibbs_steps: 20,
        fields_shown: 16,
        // "Is it RG?" on 16×16 (matching 16 against 8, one step); the DBN's 64 → 16 first layer
        // tiles the 4×4 coarse lattice of the 8×8 study one-to-one.
        is_rg: IsRgConfig {
            size: 16,
            samples: 1000,
            match_spacing: 0.015,
            match_small_spacing: 0.02,
            match_samples: 500,
            match_steps: 1,
            flow_couplings: vec![0.36, 0.44, 0.52],
            flow_samples: 200,
            learned_samples: 500,
            dbn_samples: 500,
            ..IsRgConfig::quick()
        },
        ..StudyConfig::quick()
    }
}

/// Run every step of the study with master seed `seed`; returns the key numbers and the HTML.
pub fn run(config: &StudyConfig, seed: u64) -> Result<(StudySummary, String), kadanoff_analysis::Error> {
    config.validate()?;
    let seeds = StudySeeds::new(seed);
    let (data, sample) = study::sample(config, &seeds, &|_| {})?;
    let x = study::training_matrix(config, &data.spins)?;
    let mut epochs = 0;
    let run = study::trainer(config, &seeds, x.view(), None)?;
    let (dbn, train) = study::train(config, &seeds, x.view(), run, &mut |e| {
        epochs += usize::from(e.epoch.is_some());
        ControlFlow::Continue(())
    })?;
    assert_eq!(epochs, config.epochs * config.layers.len());
    let (out, analysis) = study::analyse(config, &seeds, &data.spins, &dbn, &train.history, &mut |_| {})?;
    let (rg_figure, rg) = study::rg1d(&seeds, &mut || {})?;
    let first_layer = dbn.layers()[0].to_f64();
    let (is_rg_figure, is_rg) = study::is_rg(config, &seeds, Some(&first_layer), &mut |_| {})?;
    let report = study::build_report(&ReportInputs {
        config,
        seeds: &seeds,
        sample: &sample,
        train: &train,
        analysis: &analysis,
        figures: &out.figures,
        rg: &rg,
        rg_figure: &rg_figure,
        is_rg: Some((&is_rg, &is_rg_figure)),
        timings: &[],
        total_seconds: 0.0,
    })?;
    let mut summary = StudySummary::new(config, &sample, &train, &analysis, &rg, &[]);
    summary.is_rg = Some(is_rg.answer());
    Ok((summary, report.to_html()?))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (summary, html) = run(&reduced(), 1)?;
    let e = &summary.data.observables.energy_per_site;
    println!("e = {:.4} ± {:.4} (exact {:.4})", e.mean, e.stderr, summary.data.exact.energy_per_site);
    for l in &summary.layers {
        let pll = l.pseudo_log_likelihood.map_or_else(|| "n/a".to_string(), |p| format!("{p:.4}"));
        println!("layer {}: {} → {}, PLL {pll}/unit", l.index + 1, l.n_visible, l.n_hidden);
    }
    if let Some(path) = std::env::args().nth(1) {
        std::fs::write(&path, html)?;
        println!("report written to {path}");
    }
    Ok(())
}
