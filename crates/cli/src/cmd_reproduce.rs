//! `kadanoff reproduce`: the whole Mehta–Schwab study ([`kadanoff_analysis::study`]) in one
//! command. This file parses arguments, caches steps on disk, writes files atomically and shows
//! progress; the study itself is library code.
//!
//! Each step is cached in `DIR/steps/<name>.json` with a key made of its parameters and the keys
//! of the steps it reads, and the FNV-1a hash of every output file. A rerun reuses a step whose
//! key is unchanged and whose outputs exist with the recorded hashes, and resumes an
//! interrupted training from its checkpoint (a checkpoint of other settings, or any checkpoint
//! with `--force`, is discarded). Every setting is checked before any work.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use kadanoff_analysis::study::{self, *};
use lattice_physics::dataset;
use rbm_core::dbn::Dbn;
use serde::Serialize;

use crate::cmd_sample::{metadata, SampleRequest};
use crate::files::{self, PendingOutput};
use crate::model_file;
use crate::progress::Progress;
use crate::step_cache::{Steps, StudyKeys};
use crate::train_checkpoint;

/// Which size of the study to run.
#[derive(Clone, Copy, ValueEnum)]
enum PresetArg {
    /// The same study at smaller sizes: minutes → seconds (the README's main job).
    Quick,
    /// The paper as it did it: 40×40 at K = 0.408, 20,000 configurations,
    /// 1600 → 400 → 100 → 25, 200 epochs per layer, L1 2e-4.
    Paper,
    /// The paper's sizes with a strong L1 penalty (8e-3) and 40 epochs: sparse fields.
    Sparse,
    /// The quick study with "Is it RG?" at sharp sizes (128×128 at K_c, matching 128 vs 64).
    Rg,
}

/// Arguments of `kadanoff reproduce`.
#[derive(Args)]
pub struct ReproduceArgs {
    /// Study: quick (default, about a minute), paper (the paper's own settings), sparse
    /// (the paper's sizes, strong L1 penalty, 40 epochs) or rg (quick, with "Is it RG?" at
    /// sharp sizes).
    #[arg(long, value_enum, default_value = "quick")]
    preset: PresetArg,
    /// Output directory (created if missing).
    #[arg(long, default_value = "out/reproduce")]
    out: PathBuf,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Override the preset's number of Monte Carlo configurations.
    #[arg(long)]
    samples: Option<usize>,
    /// Override the preset's hidden layer sizes (e.g. 400,100,25).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<usize>>,
    /// Override the preset's epochs per layer.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the preset's learning rate.
    #[arg(long, allow_negative_numbers = true)]
    learning_rate: Option<f64>,
    /// Override the preset's L1 penalty.
    #[arg(long, allow_negative_numbers = true)]
    l1: Option<f64>,
    /// Redo every step even if a finished one could be reused (and discard any checkpoint).
    #[arg(long)]
    force: bool,
    /// Print the key numbers as one JSON object.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

/// What `--json` prints: the key numbers and where they are.
#[derive(Serialize)]
struct ReproduceJson<'a> {
    #[serde(flatten)]
    summary: &'a StudySummary,
    out: String,
    report: String,
    elapsed_seconds: f64,
    tool_version: &'static str,
}

/// The study's data, read back and checked against the configuration.
pub(crate) fn read_data(dir: &Path, cfg: &StudyConfig) -> Result<Vec<i8>> {
    let data = files::read_configurations(&dir.join("data.npy"))?;
    let shape = data.shape();
    anyhow::ensure!(shape == [cfg.samples, cfg.size, cfg.size], "data.npy has shape {shape:?}");
    Ok(data.into_vec())
}

fn analysis_step(
    dir: &Path,
    cfg: &StudyConfig,
    seeds: &StudySeeds,
    train: &TrainSummary,
    progress: &Progress,
) -> Result<AnalysisSummary> {
    let dbn = Dbn::new(model_file::read_model(&dir.join("model.safetensors"))?.layers)?;
    let spins = read_data(dir, cfg)?;
    progress.phase("3/4 analysis", ANALYSIS_PARTS as u64, "parts");
    let (out, summary) = analyse(cfg, seeds, &spins, &dbn, &train.history, &mut |d| progress.set(d as u64))?;
    progress.finish();
    for (name, bytes) in out.figures.files() {
        files::write_bytes(&dir.join(name), bytes)?;
    }
    for (l, f) in out.fields.iter().enumerate() {
        files::write_npy(
            &dir.join(format!("fields_layer{}.npy", l + 1)),
            f.shape(),
            f.iter().map(|&x| x as f32).collect(),
        )?;
    }
    let (l, half) = (cfg.size, cfg.size / 2);
    files::write_npy(&dir.join("generated.npy"), &[cfg.generated_samples, l, l], out.generated)?;
    files::write_npy(&dir.join("blocks.npy"), &[cfg.samples, half, half], out.blocks)?;
    Ok(summary)
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let started = Instant::now();
    let mut cfg = StudyConfig::preset(match args.preset {
        PresetArg::Quick => Preset::Quick,
        PresetArg::Paper => Preset::Paper,
        PresetArg::Sparse => Preset::Sparse,
        PresetArg::Rg => Preset::Rg,
    });
    cfg.samples = args.samples.unwrap_or(cfg.samples);
    cfg.layers = args.layers.clone().unwrap_or(cfg.layers);
    cfg.epochs = args.epochs.unwrap_or(cfg.epochs);
    cfg.learning_rate = args.learning_rate.unwrap_or(cfg.learning_rate);
    cfg.l1 = args.l1.unwrap_or(cfg.l1);
    // Everything is checked before any work or any file.
    cfg.validate()?;
    let sites = cfg.size * cfg.size;
    for (what, n) in [("samples", cfg.samples), ("generated samples", cfg.generated_samples)] {
        crate::budget::check_array(&format!("{n} {what} of {sites} spins"), &[n, sites], 4)?;
    }
    let is_rg_total = cfg
        .is_rg
        .data_shapes(cfg.size)
        .iter()
        .fold(0usize, |a, (_, [n, s])| a.saturating_add(n.saturating_mul(*s)));
    crate::budget::check_array("the \"Is it RG?\" configurations", &[is_rg_total], 1)?;
    // The trainer's matrices (weights, momentum, gradient, f32) and one pass over the data per
    // epoch, from the settings alone.
    let widths: Vec<u128> =
        std::iter::once(sites).chain(cfg.layers.iter().copied()).map(|w| w as u128).collect();
    let weights = widths.windows(2).try_fold(0u128, |acc, w| acc.checked_add(w[0].checked_mul(w[1])?));
    crate::budget::check(&format!("layers {:?}", cfg.layers), weights.and_then(|w| w.checked_mul(3 * 4)))?;
    crate::budget::check_work(
        &format!("{} epochs over {} samples", cfg.epochs, cfg.samples),
        weights.and_then(|w| crate::budget::product(&[w, cfg.epochs as u128, cfg.samples as u128, 4])),
    )?;
    let seeds = StudySeeds::new(args.seed);
    let dir = args.out.clone();
    std::fs::create_dir_all(dir.join("steps")).with_context(|| format!("cannot create {}", dir.display()))?;
    let progress = Progress::new(args.quiet);
    let mut steps = Steps::new(&dir, args.force);
    let depth = cfg.layers.len();

    let keys = StudyKeys::new(&cfg, args.seed);
    let sample_outputs = ["data.npy", "data.json"].map(String::from);
    let sample = steps.run("sample", &keys.sample, &sample_outputs, || {
        let t = Instant::now();
        let pilot = "1/4 sample: pilot (tau_int)";
        let report = |p: dataset::Progress| {
            progress.phase(
                if p.phase == dataset::Phase::Pilot { pilot } else { "1/4 sample" },
                p.sweeps_total,
                "sweeps",
            );
            progress.set(p.sweeps_done);
        };
        let (data, summary) = study::sample(&cfg, &seeds, &report)?;
        progress.finish();
        let data_path = dir.join("data.npy");
        let request = SampleRequest {
            model: crate::ModelKind::Ising2d,
            coupling: cfg.coupling,
            field: 0.0,
            seed: seeds.sample(),
            samples: cfg.samples,
            chains: cfg.chains,
            thermalize: "auto",
            thin: "auto",
            output: &data_path,
        };
        let meta = metadata(&request, cfg.lattice()?, cfg.algorithm, &data, t.elapsed().as_secs_f64());
        let (npy, side) =
            (PendingOutput::claim(&data_path, true)?, PendingOutput::claim(&dir.join("data.json"), true)?);
        files::write_spins(&npy, &[cfg.samples, cfg.size, cfg.size], data.spins)?;
        files::write_sidecar(&side, &meta)?;
        npy.commit()?;
        side.commit()?;
        Ok(summary)
    })?;

    let train = steps.run("train", &keys.train, &["model.safetensors".into()], || {
        let data = training_matrix(&cfg, &read_data(&dir, &cfg)?)?;
        let summary = train_checkpoint::train(
            &dir.join("model.safetensors"),
            &cfg,
            &seeds,
            data.view(),
            &keys.train,
            args.force,
            &progress,
        )?;
        Ok(summary)
    })?;

    let mut analysis_outputs = AnalysisFigures::file_names(depth);
    analysis_outputs.extend((1..=depth).map(|l| format!("fields_layer{l}.npy")));
    analysis_outputs.extend(["generated.npy", "blocks.npy"].map(String::from));
    let analysis = steps.run("analysis", &keys.analysis, &analysis_outputs, || {
        analysis_step(&dir, &cfg, &seeds, &train, &progress)
    })?;

    let rg = steps.run("rg1d", &keys.rg1d, &[Rg1dOutput::RG_FLOW.into()], || {
        progress.phase("4/4 exact 1D RG", 1, "parts");
        let (out, summary) = rg1d(&seeds, &mut || progress.set(1))?;
        progress.finish();
        files::write_bytes(&dir.join(Rg1dOutput::RG_FLOW), out.rg_flow.as_bytes())?;
        Ok(summary)
    })?;

    let is_rg_summary = steps.run("is_rg", &keys.is_rg, &[IsRgOutput::FLOW_FIGURE.into()], || {
        let model = model_file::read_model(&dir.join("model.safetensors"))?;
        let first = model.layers.first().map(|l| l.to_f64());
        progress.phase("is it RG?", is_rg_parts(&cfg) as u64, "parts");
        let (out, summary) = is_rg(&cfg, &seeds, first.as_ref(), &mut |d| progress.set(d as u64))?;
        progress.finish();
        files::write_bytes(&dir.join(IsRgOutput::FLOW_FIGURE), out.flow_figure.as_bytes())?;
        Ok(summary)
    })?;

    // The report, rebuilt every run from the typed summaries and the figures on disk.
    let figures = AnalysisFigures::from_files(depth, &mut |name| std::fs::read(dir.join(name)).ok())
        .context("cannot read the analysis figures back")?;
    let rg_figure = Rg1dOutput { rg_flow: std::fs::read_to_string(dir.join(Rg1dOutput::RG_FLOW))? };
    let is_rg_figure =
        IsRgOutput { flow_figure: std::fs::read_to_string(dir.join(IsRgOutput::FLOW_FIGURE))? };
    let total_seconds = started.elapsed().as_secs_f64();
    let inputs = ReportInputs {
        config: &cfg,
        seeds: &seeds,
        sample: &sample,
        train: &train,
        analysis: &analysis,
        figures: &figures,
        rg: &rg,
        rg_figure: &rg_figure,
        is_rg: Some((&is_rg_summary, &is_rg_figure)),
        timings: &steps.timings,
        total_seconds,
    };
    let report_path = dir.join("report.html");
    files::write_bytes(&report_path, build_report(&inputs)?.to_html()?.as_bytes())?;

    let mut summary = StudySummary::new(&cfg, &sample, &train, &analysis, &rg, &steps.timings);
    summary.is_rg = Some(is_rg_summary.answer());
    if args.json {
        let out = ReproduceJson {
            summary: &summary,
            out: dir.display().to_string(),
            report: report_path.display().to_string(),
            elapsed_seconds: started.elapsed().as_secs_f64(),
            tool_version: env!("CARGO_PKG_VERSION"),
        };
        return crate::print_json(&serde_json::to_value(&out)?);
    }
    outln!("report: {}", report_path.display());
    let e = &sample.observables.energy_per_site;
    outln!("  data: e = {:.5} ± {:.5} (exact {:.5})", e.mean, e.stderr, sample.exact.energy_per_site);
    let areas: Vec<String> = summary.receptive_field_area_median.iter().map(|x| format!("{x:.1}")).collect();
    outln!("  median receptive-field area per layer (sites, participation ratio): {}", areas.join(", "));
    outln!("  is it RG? {}", is_rg_summary.reading);
    for t in &steps.timings {
        outln!("  step {:<9} {:>8.1} s{}", t.name, t.seconds, if t.reused { " (reused)" } else { "" });
    }
    outln!("  total {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
