//! The study as library code: the `quick_study` example runs (reduced) and its numbers agree with
//! exact results; training interrupted and resumed from its state ends with the same model.

#[path = "../examples/quick_study.rs"]
mod quick_study;

use std::ops::ControlFlow;

use kadanoff_analysis::study::{self, StudySeeds};
use lattice_physics::exact;

#[test]
fn the_quick_study_example_runs_and_matches_exact_values() {
    let config = quick_study::reduced();
    let (s, html) = quick_study::run(&config, 1).unwrap();
    // Monte Carlo energy and specific heat against Kaufman on the 8×8 torus at K = 0.408.
    let thermo = exact::kaufman(8, 0.408).unwrap();
    assert!((s.data.exact.energy_per_site - thermo.energy_per_site).abs() < 1e-12);
    let e = &s.data.observables.energy_per_site;
    // Expected σ(e) ≈ √(c / (K² N)) / √samples = √(0.9 / (0.408² · 64)) / 20 ≈ 0.015.
    assert!(e.stderr > 0.0 && e.stderr < 0.02, "σ(e) = {}", e.stderr);
    assert!((e.mean - thermo.energy_per_site).abs() < 4.0 * e.stderr, "e = {} ± {}", e.mean, e.stderr);
    let c = &s.data.observables.specific_heat_per_site;
    assert!(c.stderr < 0.2, "σ(c) = {}", c.stderr);
    assert!((c.mean - thermo.specific_heat_per_site).abs() < 4.0 * c.stderr, "c = {} ± {}", c.mean, c.stderr);
    // Every layer trained; the exact 1D realisation of decimation is exact.
    assert_eq!(s.layers.len(), 2);
    assert!(s.layers.iter().all(|l| l.epochs == 3 && l.pseudo_log_likelihood.is_some_and(|p| p < 0.0)));
    // The 16 → 4 layer is small enough for an exact likelihood.
    assert!(s.layers[1].log_likelihood.is_some());
    assert!(s.rg1d.max_hamiltonian_error < 1e-10);
    assert_eq!(s.statistics.len(), 1 + 2 + 1 + 1);
    for id in [
        "training-reconstruction",
        "fields-layer1",
        "fields-layer2",
        "reconstructions",
        "generated",
        "rg-flow",
    ] {
        assert!(html.contains(&format!("id=\"fig-{id}\"")), "figure {id}");
    }
    // "Is it RG?" ran on 16×16 with the study's 64 → 16 layer tiling the 4×4 coarse lattice
    // one-to-one, so the table has four kernels and the report its section and figure.
    let answer = s.is_rg.as_ref().unwrap();
    let kernels: Vec<&str> = answer.rows.iter().map(|r| r.kernel.as_str()).collect();
    assert_eq!(kernels, ["majority", "block_spin:10", "learned:w4", "dense:64x16"], "{kernels:?}");
    assert!(answer.rows[..3].iter().all(|r| r.fixed_point.is_some() && r.matching_steps == Some(1)));
    assert!(answer.rows[3].fixed_point.is_none() && answer.rows[3].judged_level == 1);
    assert!(answer.rows.iter().all(|r| r.consistent == r.misses.is_empty()));
    for r in &answer.rows {
        assert!(answer.reading.contains(&r.label), "{} missing from {}", r.label, answer.reading);
    }
    assert!(html.contains("id=\"fig-is-rg-flow\"") && html.contains("Is it RG?"));

    // The report lists pair couplings only.
    let listed = html.split("strongest pair couplings between its hidden spins: ").nth(1).unwrap();
    let listed = listed.split(';').next().unwrap();
    assert!(listed.contains("pair_") && !listed.contains("field"), "{listed}");
}

#[test]
fn training_interrupted_and_resumed_ends_with_the_same_model() {
    let config = quick_study::reduced();
    let seeds = StudySeeds::new(9);
    let (data, _) = study::sample(&config, &seeds, &|_| {}).unwrap();
    let x = study::training_matrix(&config, &data.spins).unwrap();
    let start = || study::trainer(&config, &seeds, x.view(), None).unwrap();
    let (full, full_summary) =
        study::train(&config, &seeds, x.view(), start(), &mut |_| ControlFlow::Continue(())).unwrap();
    // Stop after layer 1's second epoch, keeping the state the callback saw.
    let mut saved = None;
    let err = study::train(&config, &seeds, x.view(), start(), &mut |e| {
        if e.layer == 1 && e.epoch.is_some_and(|m| m.epoch == 2) {
            saved = Some(e.run.state());
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })
    .unwrap_err();
    assert_eq!(err, kadanoff_analysis::Error::Stopped);
    let saved = saved.unwrap();
    assert_eq!(saved.finished.len(), 1);
    study::check_resume(&config, &seeds, &saved).unwrap();
    let run = study::trainer(&config, &seeds, x.view(), Some(saved.clone())).unwrap();
    let (resumed, resumed_summary) =
        study::train(&config, &seeds, x.view(), run, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(resumed, full);
    assert_eq!(resumed_summary, full_summary);
    // A state from another configuration is refused.
    let other = kadanoff_analysis::study::StudyConfig { layers: vec![8, 4], ..config.clone() };
    assert!(matches!(
        study::check_resume(&other, &seeds, &saved),
        Err(kadanoff_analysis::Error::ResumeMismatch { .. })
    ));
    // A state of other seeds is refused (its trainer has another seed), also when resuming.
    assert!(study::check_resume(&config, &StudySeeds::new(10), &saved).is_err());
    assert!(matches!(
        study::trainer(&config, &StudySeeds::new(10), x.view(), Some(saved.clone())),
        Err(kadanoff_analysis::Error::ResumeMismatch { .. })
    ));
    // A run started for other seeds is refused by the loop.
    let foreign = study::trainer(&config, &StudySeeds::new(10), x.view(), None).unwrap();
    assert!(study::train(&config, &seeds, x.view(), foreign, &mut |_| ControlFlow::Continue(())).is_err());
}
