//! Step 5: the self-contained HTML report and the key numbers, built from the typed summaries
//! of the four steps (a renamed summary field is a compile error here, never a NaN).

use lattice_physics::observables::Observables;
use rbm_core::LayerSummary;
use serde::{Deserialize, Serialize};

use super::{
    isrg, AnalysisFigures, AnalysisSummary, ExactReference, IsRgAnswer, IsRgOutput, IsRgSummary, Rg1dOutput,
    Rg1dSummary, SampleSummary, SourceStatistics, StudyConfig, StudySeeds, TrainSummary,
};
use crate::error::Result;
use crate::report::{Figure, Report, Section};

/// How long a step took, and whether its result was reused from an earlier run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepTiming {
    /// Step name.
    pub name: String,
    /// Wall time in seconds (of the run that computed it, if reused).
    pub seconds: f64,
    /// Reused from an earlier run.
    pub reused: bool,
}

/// The Monte Carlo part of [`StudySummary`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Observables with error bars.
    pub observables: Observables,
    /// Kaufman's exact values.
    pub exact: ExactReference,
    /// `τ_int` of the energy and `|m|`, in sweeps.
    pub autocorrelation: Autocorrelation,
    /// Sweeps between retained configurations.
    pub thin: usize,
}

/// Integrated autocorrelation times in sweeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Autocorrelation {
    /// Of the energy.
    pub energy: f64,
    /// Of `|m|`.
    pub abs_magnetization: f64,
}

/// Mean and median receptive-field radius per layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Radii {
    /// Mean per layer.
    pub mean: Vec<f64>,
    /// Median per layer.
    pub median: Vec<f64>,
}

/// The exact 1D check in one number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rg1dCheck {
    /// Largest `|H^RBM(h) − H_ring(h; K')|` over the decimation stack.
    pub max_hamiltonian_error: f64,
}

/// The key numbers of a study (what `kadanoff reproduce --json` prints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudySummary {
    /// The configuration.
    pub preset: StudyConfig,
    /// The Monte Carlo data.
    pub data: DataSummary,
    /// Final metrics per layer.
    pub layers: Vec<LayerSummary>,
    /// Receptive-field radii per layer.
    pub receptive_field_radius: Radii,
    /// Median receptive-field area per layer (participation ratio, sites).
    pub receptive_field_area_median: Vec<f64>,
    /// Observables of every kind of configurations.
    pub statistics: Vec<SourceStatistics>,
    /// The exact 1D check.
    pub rg1d: Rg1dCheck,
    /// Step timings.
    pub steps: Vec<StepTiming>,
    /// "Is it RG?": the table's rows and the sentence (set by the caller that ran the step).
    #[serde(default)]
    pub is_rg: Option<IsRgAnswer>,
}

impl StudySummary {
    /// Collect the key numbers of the four summaries.
    pub fn new(
        config: &StudyConfig,
        sample: &SampleSummary,
        train: &TrainSummary,
        analysis: &AnalysisSummary,
        rg: &Rg1dSummary,
        steps: &[StepTiming],
    ) -> Self {
        StudySummary {
            preset: config.clone(),
            data: DataSummary {
                observables: sample.observables.clone(),
                exact: sample.exact.clone(),
                autocorrelation: Autocorrelation {
                    energy: sample.tau_energy.tau,
                    abs_magnetization: sample.tau_abs_magnetization.tau,
                },
                thin: sample.thin,
            },
            layers: train.layers.clone(),
            receptive_field_radius: Radii {
                mean: analysis.fields.iter().map(|f| f.radius_mean).collect(),
                median: analysis.fields.iter().map(|f| f.radius_median).collect(),
            },
            receptive_field_area_median: analysis.fields.iter().map(|f| f.area_median).collect(),
            statistics: analysis.statistics.clone(),
            rg1d: Rg1dCheck {
                max_hamiltonian_error: rg
                    .decimation_stack
                    .checks
                    .iter()
                    .map(|c| c.hidden_max_error)
                    .fold(0.0, f64::max),
            },
            steps: steps.to_vec(),
            is_rg: None,
        }
    }
}

/// Everything [`build_report`] reads.
pub struct ReportInputs<'a> {
    /// The configuration.
    pub config: &'a StudyConfig,
    /// The seeds.
    pub seeds: &'a StudySeeds,
    /// Step 1.
    pub sample: &'a SampleSummary,
    /// Step 2.
    pub train: &'a TrainSummary,
    /// Step 3.
    pub analysis: &'a AnalysisSummary,
    /// Step 3's figures.
    pub figures: &'a AnalysisFigures,
    /// Step 4.
    pub rg: &'a Rg1dSummary,
    /// Step 4's figure.
    pub rg_figure: &'a Rg1dOutput,
    /// The "Is it RG?" step and its figure, when it ran.
    pub is_rg: Option<(&'a IsRgSummary, &'a IsRgOutput)>,
    /// Timings of this run.
    pub timings: &'a [StepTiming],
    /// Wall time of this run, in seconds.
    pub total_seconds: f64,
}

fn sci(x: f64) -> String {
    format!("{x:.3e}")
}

/// What the training of this preset follows, and which of its settings are choices.
fn training_settings(cfg: &StudyConfig) -> String {
    let common = format!(
        "Every layer: CD-1 in spin units, {} epochs, mini-batches of {}, learning rate {} decaying linearly to zero over the epochs, momentum 0.5, L1 penalty {} on the weights, initial weights N(0, 0.01²), visible biases from the data, 10% of the configurations held out to monitor overfitting.",
        cfg.epochs, cfg.batch_size, cfg.learning_rate, cfg.l1
    );
    match cfg.name {
        super::Preset::Paper => format!(
            "{common} Stated by the paper (arXiv:1410.3831): the network 1600 → 400 → 100 → 25, greedy layer-wise contrastive divergence, 200 epochs per layer, L1 penalty 2×10⁻⁴, 20,000 configurations of the 40×40 model at K = 0.408. Chosen here, because the paper does not state them: mini-batches of 100 and CD-1 as in Hinton's rbm.m, which its code descends from, but not rbm.m's momentum and rate schedule. rbm.m switches from momentum 0.5 to 0.9 at epoch 5 and keeps its rate constant; on these data that switch makes the pseudo-log-likelihood fall at once (−0.42 → −0.53 per unit) and stay there for all 200 epochs, at the rate 0.01 and at rbm.m's own rate translated to spin units (its 0.1 is for 0/1 units; the same steps on ±1 couplings are 16 times smaller, 0.00625) alike. So the momentum stays 0.5 and the rate 0.01, the library's spin-unit CD rate, decays linearly to zero, which reaches the finite-sample floor of the exact KL on rings (rbm_core::TrainConfig::recommended); the pseudo-log-likelihood then improves steadily. If the paper fed 0/1 units to rbm.m, its penalty 2×10⁻⁴ on 0/1 weights is the same objective as 8×10⁻⁴ on spin weights; this preset applies the stated number to spin weights."
        ),
        super::Preset::Sparse => format!(
            "{common} The paper's sizes with a forty times stronger L1 penalty than the paper's 2×10⁻⁴ and a fifth of its 200 epochs: it trades likelihood for sparse, localised receptive fields (the paper preset follows the paper)."
        ),
        // Quick, and presets added later: the settings speak for themselves.
        _ => common,
    }
}

/// The exact mapping of the ring RBM against its training epochs, as a text table.
fn mapping_curve(m: &super::TrainedMapping) -> String {
    let mut t = String::from(
        "How KL and the trace-condition violation fall with training (exact, by enumeration)\n\
         epoch   KL(P‖p_RBM) (nats)   trace violation std   trace violation max\n",
    );
    for p in &m.curve {
        t.push_str(&format!(
            "{:>5}   {:>18}   {:>19}   {:>19}\n",
            p.epoch,
            sci(p.kl_divergence),
            sci(p.trace_violation_std),
            sci(p.trace_violation_max)
        ));
    }
    t
}

/// The report of a study.
pub fn build_report(r: &ReportInputs<'_>) -> Result<Report> {
    let (cfg, sample, train, analysis, rg) = (r.config, r.sample, r.train, r.analysis, r.rg);
    let l = cfg.size;
    let mut report =
        Report::new(format!("kadanoff: RBMs and the renormalization group — {:?} preset", cfg.name));

    let mut s = Section::new("What this is");
    s.paragraph(&format!(
        "A reproduction of Mehta & Schwab (arXiv:1410.3831): Monte Carlo configurations of the 2D Ising model on a {l}×{l} torus at K = {}, a deep belief network {} trained greedily with CD-1 and an L1 penalty, its effective receptive fields, reconstructions and samples, compared with exact results and with majority-rule block spins; plus the exact 1D decimation RG and its exact RBM realisation.",
        cfg.coupling,
        std::iter::once(l * l).chain(cfg.layers.iter().copied()).map(|x| x.to_string()).collect::<Vec<_>>().join(" → ")
    ));
    s.paragraph("What the figures do not prove: receptive fields that look like blocks show that the network learned local features, not that it performs an RG step. The exact-mapping tools (kadanoff rg exact-mapping) measure how far a network is from an exact RG step on small systems.");
    report.push(s);

    let mut s = Section::new("Monte Carlo data");
    let (obs, ex) = (&sample.observables, &sample.exact);
    s.key_values(
        "Data set",
        vec![
            ("configurations".into(), sample.samples.to_string()),
            ("algorithm".into(), sample.algorithm.clone()),
            ("thermalisation (sweeps)".into(), sample.thermalize.to_string()),
            ("thinning (sweeps)".into(), sample.thin.to_string()),
            ("τ_int energy (sweeps)".into(), format!("{:.3}", sample.tau_energy.tau)),
            ("τ_int |m| (sweeps)".into(), format!("{:.3}", sample.tau_abs_magnetization.tau)),
            (
                "energy per site".into(),
                format!(
                    "{:.6} ± {:.6} (exact, Kaufman: {:.10})",
                    obs.energy_per_site.mean, obs.energy_per_site.stderr, ex.energy_per_site
                ),
            ),
            (
                "specific heat per site".into(),
                format!(
                    "{:.5} ± {:.5} (exact, Kaufman: {:.10})",
                    obs.specific_heat_per_site.mean,
                    obs.specific_heat_per_site.stderr,
                    ex.specific_heat_per_site
                ),
            ),
        ],
    );
    report.push(s);

    let mut s = Section::new("Training");
    s.paragraph(&training_settings(cfg));
    let rows = train
        .layers
        .iter()
        .map(|layer| {
            let ll = match (layer.log_likelihood, layer.log_likelihood_stderr, layer.log_likelihood_method) {
                (Some(value), Some(stderr), Some(method)) => match (&layer.log_likelihood_ais, &layer.log_likelihood_ais_estimate) {
                    (Some(c), Some(e)) => format!(
                        "{value:.3} ± {stderr:.3} nats/sample (AIS, {} chains × {} steps, effective sample size {:.1}; \
                         AIS over-estimates the log-likelihood by an amount the error does not include, and the error \
                         itself is unreliable when the effective sample size is small)",
                        c.chains, c.steps, e.effective_sample_size
                    ),
                    _ => format!("{value:.3} ± {stderr:.3} nats/sample ({method:?})"),
                },
                _ => "not estimated in this preset".into(),
            };
            let metric = |x: Option<f64>| x.map_or_else(|| "not recorded".to_string(), |x| format!("{x:.5}"));
            (
                format!("layer {} ({} → {})", layer.index + 1, layer.n_visible, layer.n_hidden),
                format!(
                    "reconstruction error {}; pseudo-log-likelihood {} nats/unit; log-likelihood {ll}",
                    metric(layer.reconstruction_error),
                    metric(layer.pseudo_log_likelihood)
                ),
            )
        })
        .collect();
    s.key_values("Final metrics per layer", rows);
    s.figure(Figure::svg(
        "training-reconstruction",
        "Reconstruction error per epoch, per layer.",
        r.figures.training_reconstruction.clone(),
    ));
    s.figure(Figure::svg(
        "training-pll",
        "Pseudo-log-likelihood per unit (exact conditionals, averaged over all units) per epoch.",
        r.figures.training_pll.clone(),
    ));
    report.push(s);

    let mut s = Section::new("Receptive fields");
    s.paragraph("The effective receptive field of unit j of layer ℓ is column j of W₁W₂…W_ℓ (weights oriented visible × hidden, so the product is 1600 × n_ℓ), drawn on the lattice. Red is positive, blue negative; each tile uses its own scale.");
    for (i, (f, png)) in analysis.fields.iter().zip(&r.figures.fields).enumerate() {
        s.figure(Figure::png(
            format!("fields-layer{}", i + 1),
            format!(
                "Layer {}: first {} units. Median effective area {:.1} sites (participation ratio (Σf²)²/Σf⁴ of the field; 1 for one site, {} for a uniform field). RMS radius of f² about its centre: median {:.2}, mean {:.2} lattice spacings (about {:.1} for a field spread over the whole torus; a weak diffuse background inflates it). {}",
                i + 1,
                f.shown,
                f.area_median,
                l * l,
                f.radius_median,
                f.radius_mean,
                (l as f64) / 6f64.sqrt(),
                f.caption
            ),
            png.clone(),
        ));
    }
    report.push(s);

    let mut s = Section::new("Reconstructions and samples");
    s.figure(Figure::png("reconstructions", "Left: Monte Carlo configurations (white = +1). Then mean-field reconstructions through depth 1, 2, … (grey level = P(s = +1)).", r.figures.reconstructions.clone()));
    s.figure(Figure::png(
        "generated",
        format!(
            "Configurations generated by the DBN ({} Gibbs sweeps in the top RBM, then a sampled down pass).",
            cfg.gibbs_steps
        ),
        r.figures.generated.clone(),
    ));
    report.push(s);

    let mut s = Section::new("Statistics compared");
    s.preformatted(&analysis.table_text);
    s.figure(Figure::svg("correlations", "G(r) along the axes with standard errors: data, reconstructions, DBN samples, and majority-rule block spins (distances in fine-lattice units).", r.figures.correlations.clone()));
    report.push(s);

    let mut s = Section::new("Exact 1D renormalization group");
    s.paragraph("Decimating every other spin of the periodic chain gives tanh K' = tanh² K: every coupling flows to the stable fixed point K* = 0. One step is realised exactly by an RBM whose visible units are the removed spins and whose hidden units are the kept ones; its hidden marginal equals the chain at K' (checked by enumeration below).");
    s.figure(Figure::svg(
        "rg-flow",
        "K_n against n from several K_0 (log scale).",
        r.rg_figure.rg_flow.clone(),
    ));
    let rows = rg
        .decimation_stack
        .checks
        .iter()
        .map(|c| {
            (
                format!("ring {} → {}", c.ring_size, c.ring_size / 2),
                format!(
                    "K = {:.10} → K' = {:.10}; max |H^RBM(h) − H_ring(h; K')| = {:.2e}; trace violation {:.2e}; KL {:.2e}",
                    c.coupling, c.renormalized_coupling, c.hidden_max_error, c.trace_violation_max, c.kl_divergence
                ),
            )
        })
        .collect();
    s.key_values("Decimation RBM stack, checked by enumeration", rows);
    let m = &rg.trained_mapping;
    s.paragraph(&format!(
        "How close is a trained RBM to an exact RG step? An RBM with {} hidden spins, trained by CD-1 for {} epochs (learning rate {} decaying linearly to zero, the library's recommended settings) on {} Monte Carlo samples of the ring of {} spins at K = {}, is compared exactly (by enumeration) with the ring through T(v,h) = −E(v,h) + H(v). An exact variational RG step needs ln Σ_h e^T independent of v (trace condition) and KL(P‖p_RBM) = 0; the bond RBM (one hidden spin per bond) achieves both.",
        m.hidden, m.epochs, m.learning_rate, m.training_samples, m.ring, m.coupling
    ));
    s.preformatted(&mapping_curve(m));
    let mapping = |x: &super::MappingSummary| {
        format!(
            "KL = {} nats, ΔF = {}, trace violation max {} / std {}",
            sci(x.kl_divergence),
            sci(x.delta_f),
            sci(x.trace_violation_max),
            sci(x.trace_violation_std)
        )
    };
    let pairs: Vec<String> =
        m.strongest_couplings.iter().map(|c| format!("{} = {:+.4}", c.name, c.value)).collect();
    s.key_values(
        "Exact mapping of a trained RBM (kadanoff rg exact-mapping measures this for any model)",
        vec![
            (format!("trained RBM ({} → {})", m.trained.n_visible, m.trained.n_hidden), mapping(&m.trained)),
            (
                format!("bond RBM ({} → {}), exact", m.bond_rbm.n_visible, m.bond_rbm.n_hidden),
                mapping(&m.bond_rbm),
            ),
            (
                "coarse Hamiltonian of the trained RBM".into(),
                format!(
                    "strongest pair couplings between its hidden spins: {}; least-squares residual {}",
                    pairs.join(", "),
                    sci(m.fit_residual)
                ),
            ),
        ],
    );
    report.push(s);

    if let Some((summary, output)) = r.is_rg {
        report.push(isrg::section(summary, output));
    }

    let mut s = Section::new("Parameters, seeds and timings");
    let list = |v: &[usize]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let mut rows: Vec<(String, String)> = vec![
        ("preset".into(), format!("{:?}", cfg.name).to_lowercase()),
        ("size".into(), cfg.size.to_string()),
        ("coupling".into(), cfg.coupling.to_string()),
        ("samples".into(), cfg.samples.to_string()),
        ("algorithm".into(), cfg.algorithm.name().to_string()),
        ("chains".into(), cfg.chains.to_string()),
        ("layers".into(), list(&cfg.layers)),
        ("epochs".into(), cfg.epochs.to_string()),
        ("learning_rate".into(), cfg.learning_rate.to_string()),
        ("l1".into(), cfg.l1.to_string()),
        ("batch_size".into(), cfg.batch_size.to_string()),
        ("analysis_samples".into(), cfg.analysis_samples.to_string()),
        ("generated_samples".into(), cfg.generated_samples.to_string()),
        ("gibbs_steps".into(), cfg.gibbs_steps.to_string()),
        ("ais_chains".into(), cfg.ais_chains.to_string()),
        ("ais_steps".into(), cfg.ais_steps.to_string()),
        ("fields_shown".into(), cfg.fields_shown.to_string()),
        ("seed".into(), r.seeds.master().to_string()),
        ("tool version".into(), env!("CARGO_PKG_VERSION").into()),
    ];
    for t in r.timings {
        rows.push((
            format!("step {}", t.name),
            format!("{:.1} s{}", t.seconds, if t.reused { " (reused from an earlier run)" } else { "" }),
        ));
    }
    rows.push(("total wall time of this run".into(), format!("{:.1} s", r.total_seconds)));
    s.key_values("Everything needed to rerun this study", rows);
    s.paragraph("Files in this directory: data.npy/.json (Monte Carlo data), model.safetensors (the DBN; safetensors.numpy.load_file reads it), fields_layer*.npy (receptive fields, 1600 × n_ℓ), generated.npy, blocks.npy, the figures, and steps/*.json (the cache of finished steps).");
    report.push(s);
    Ok(report)
}
