//! Step 3: what the trained DBN learned: receptive fields, reconstructions, generated samples,
//! majority-rule block spins, the statistics table against Kaufman's exact values, `G(r)` and
//! the training curves. Observables per site, `K = βJ` (see [`lattice_physics::observables`]).

use lattice_physics::observables::{self, Correlations, Observables};
use lattice_physics::{exact, Configurations, Lattice};
use ndarray::{s, Array2, ArrayView2};
use rbm_core::dbn::{Dbn, Propagation};
use rbm_core::EpochMetrics;
use rg_transforms::block::{coarse_grain, BlockRule};
use serde::{Deserialize, Serialize};

use super::train::check_spins;
use super::{StudyConfig, StudySeeds};
use crate::error::{Error, Result};
use crate::fields::{field_radii, participation_ratios, receptive_fields};
use crate::image::{field_grid_png, reconstruction_grid_png, spin_grid_png, GridLayout, Normalization};
use crate::plot::{correlation_function, training_curves, CorrelationCurve};
use crate::table::{observable_columns, observables_row, ComparisonTable, DataSource, Value as Cell};

/// Parts of the analysis, for progress reports.
pub const ANALYSIS_PARTS: usize = 6;

/// The size of one layer's receptive fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldSummary {
    /// Fields drawn.
    pub shown: usize,
    /// Mean RMS radius, in lattice spacings.
    pub radius_mean: f64,
    /// Median RMS radius.
    pub radius_median: f64,
    /// Median participation ratio (effective area in sites).
    pub area_median: f64,
    /// The colour-scale caption of the figure.
    pub caption: String,
}

/// The observables of one kind of configurations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceStatistics {
    /// Where the configurations come from.
    pub source: String,
    /// Their observables.
    pub observables: Observables,
}

/// What the analysis step measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSummary {
    /// One entry per layer.
    pub fields: Vec<FieldSummary>,
    /// Monte Carlo data, reconstructions per depth, DBN samples, majority-rule blocks.
    pub statistics: Vec<SourceStatistics>,
    /// The comparison table as HTML.
    pub table_html: String,
    /// The comparison table as text.
    pub table_text: String,
    /// Configurations reconstructed.
    pub analysis_samples: usize,
}

/// The analysis figures (PNG bytes and SVG text), with the file names the study uses for them.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisFigures {
    /// Receptive fields per layer (`fields_layer<ℓ>.png`).
    pub fields: Vec<Vec<u8>>,
    /// Originals and reconstructions (`reconstructions.png`).
    pub reconstructions: Vec<u8>,
    /// DBN samples (`generated.png`).
    pub generated: Vec<u8>,
    /// `G(r)` (`correlations.svg`).
    pub correlations: String,
    /// Reconstruction error per epoch (`training_reconstruction.svg`).
    pub training_reconstruction: String,
    /// Pseudo-log-likelihood per epoch (`training_pll.svg`).
    pub training_pll: String,
}

const RECONSTRUCTIONS: &str = "reconstructions.png";
const GENERATED: &str = "generated.png";
const CORRELATIONS: &str = "correlations.svg";
const TRAINING_RECONSTRUCTION: &str = "training_reconstruction.svg";
const TRAINING_PLL: &str = "training_pll.svg";

fn fields_name(layer: usize) -> String {
    format!("fields_layer{}.png", layer + 1)
}

impl AnalysisFigures {
    /// The figures as `(file name, bytes)`, in a fixed order.
    pub fn files(&self) -> Vec<(String, &[u8])> {
        let mut v: Vec<(String, &[u8])> =
            self.fields.iter().enumerate().map(|(l, f)| (fields_name(l), f.as_slice())).collect();
        v.push((RECONSTRUCTIONS.into(), &self.reconstructions));
        v.push((GENERATED.into(), &self.generated));
        v.push((CORRELATIONS.into(), self.correlations.as_bytes()));
        v.push((TRAINING_RECONSTRUCTION.into(), self.training_reconstruction.as_bytes()));
        v.push((TRAINING_PLL.into(), self.training_pll.as_bytes()));
        v
    }

    /// The file names of [`AnalysisFigures::files`] for a DBN of `depth` layers.
    pub fn file_names(depth: usize) -> Vec<String> {
        let mut v: Vec<String> = (0..depth).map(fields_name).collect();
        v.extend(
            [RECONSTRUCTIONS, GENERATED, CORRELATIONS, TRAINING_RECONSTRUCTION, TRAINING_PLL]
                .map(String::from),
        );
        v
    }

    /// The figures of a DBN of `depth` layers read back by name with `read` (`None`: missing or
    /// not readable; SVGs must be UTF-8).
    pub fn from_files(depth: usize, read: &mut dyn FnMut(&str) -> Option<Vec<u8>>) -> Option<Self> {
        let mut text = |name: &str| read(name).and_then(|b| String::from_utf8(b).ok());
        let correlations = text(CORRELATIONS)?;
        let training_reconstruction = text(TRAINING_RECONSTRUCTION)?;
        let training_pll = text(TRAINING_PLL)?;
        Some(AnalysisFigures {
            fields: (0..depth).map(|l| read(&fields_name(l))).collect::<Option<_>>()?,
            reconstructions: read(RECONSTRUCTIONS)?,
            generated: read(GENERATED)?,
            correlations,
            training_reconstruction,
            training_pll,
        })
    }
}

/// Everything the analysis step makes besides its summary.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisOutput {
    /// The figures.
    pub figures: AnalysisFigures,
    /// Receptive fields per layer, `L² × n_ℓ`.
    pub fields: Vec<Array2<f64>>,
    /// DBN samples, `generated_samples × L²` spins.
    pub generated: Vec<i8>,
    /// Majority-rule block spins of the data, `samples × (L/2)²`.
    pub blocks: Vec<i8>,
}

fn measure(lattice: Lattice, coupling: f64, spins: &[i8]) -> Result<(Observables, Correlations)> {
    let data = Configurations::new(lattice, spins.to_vec())?;
    let m = observables::measure_all(&data);
    Ok((observables::estimate(lattice, coupling, &m)?, observables::correlations(&data)?))
}

fn to_spins(x: ArrayView2<f32>) -> Vec<i8> {
    x.iter().map(|&v| if v > 0.0 { 1 } else { -1 }).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Analyse the trained `dbn` (spin units, `L²` visible units) on the study's data `spins`
/// (`samples × L²`, `±1`). `progress(done)` is called after each of the [`ANALYSIS_PARTS`]
/// parts.
pub fn analyse(
    config: &StudyConfig,
    seeds: &StudySeeds,
    spins: &[i8],
    dbn: &Dbn<f32>,
    history: &[Vec<EpochMetrics>],
    progress: &mut dyn FnMut(usize),
) -> Result<(AnalysisOutput, AnalysisSummary)> {
    config.validate()?;
    let (l, k) = (config.size, config.coupling);
    let lattice = config.lattice()?;
    let sites = l * l;
    check_spins(spins, sites)?;
    let n_total = spins.len() / sites;
    if dbn.layers()[0].n_visible() != sites {
        return Err(Error::Shape {
            what: "DBN",
            got: vec![dbn.layers()[0].n_visible()],
            expected: format!("{sites} visible units"),
        });
    }
    let depth = dbn.layers().len();

    // Receptive fields.
    let weights: Vec<ArrayView2<f32>> = dbn.layers().iter().map(|r| r.weights().view()).collect();
    let fields = receptive_fields(&weights)?;
    let mut field_summaries = Vec::new();
    let mut field_pngs = Vec::new();
    for f in &fields {
        let shown = f.ncols().min(config.fields_shown);
        let radii = field_radii(f.view(), l)?;
        let radius_mean = radii.iter().sum::<f64>() / radii.len() as f64;
        let grid = field_grid_png(
            f.slice(s![.., ..shown]),
            &GridLayout { side: l, scale: 2, columns: Some(10.min(shown)) },
            Normalization::PerTile,
        )?;
        field_summaries.push(FieldSummary {
            shown,
            radius_mean,
            radius_median: median(radii),
            area_median: median(participation_ratios(f.view())?),
            caption: grid.scale_caption(),
        });
        field_pngs.push(grid.png);
    }
    progress(1);

    // Reconstructions of the first configurations at every depth (mean-field up and down), and
    // sampled reconstructions (a stochastic up and down pass) for the statistics.
    let n_an = config.analysis_samples.min(n_total);
    let v =
        Array2::from_shape_vec((n_an, sites), spins[..n_an * sites].iter().map(|&x| f32::from(x)).collect())
            .map_err(|_| Error::Empty { what: "analysis samples" })?;
    let mut rng = seeds.analysis().rng();
    let shown = 8.min(n_an);
    let originals = ArrayView2::from_shape((shown, sites), &spins[..shown * sites])
        .map_err(|_| Error::Empty { what: "analysis samples" })?;
    let mut recon_probs = Vec::new();
    let mut recon_spins = Vec::new();
    for d in 1..=depth {
        let up = dbn.up(v.view(), d, Propagation::Means, &mut rng)?;
        let top = up.last().ok_or(Error::Empty { what: "up pass" })?;
        let means = dbn.down(top.view(), d, Propagation::Means, &mut rng)?;
        recon_probs.push(means.slice(s![..shown, ..]).mapv(|m| (0.5 * (1.0 + f64::from(m))).clamp(0.0, 1.0)));
        let up_s = dbn.up(v.view(), d, Propagation::Samples, &mut rng)?;
        let top_s = up_s.last().ok_or(Error::Empty { what: "up pass" })?;
        recon_spins.push(to_spins(dbn.down(top_s.view(), d, Propagation::Samples, &mut rng)?.view()));
    }
    let views: Vec<_> = recon_probs.iter().map(|p| p.view()).collect();
    let reconstructions = reconstruction_grid_png(originals, &views, l, 2)?;
    progress(2);

    // Generated samples.
    let generated =
        to_spins(dbn.generate(config.generated_samples, config.gibbs_steps, None, &mut rng)?.view());
    let gen_shown = 16.min(config.generated_samples);
    let generated_png = spin_grid_png(
        ArrayView2::from_shape((gen_shown, sites), &generated[..gen_shown * sites])
            .map_err(|_| Error::Empty { what: "generated samples" })?,
        &GridLayout { side: l, scale: 2, columns: Some(8) },
    )?;
    progress(3);

    // Majority-rule block spins of the Monte Carlo data.
    let blocked = coarse_grain(
        &Configurations::new(lattice, spins.to_vec())?,
        BlockRule::Majority,
        2,
        1,
        seeds.blocks(),
    )?;
    let coarse = blocked.lattice();
    let blocks = blocked.into_vec();
    progress(4);

    // Statistics table and G(r).
    let (mc, mc_corr) = measure(lattice, k, spins)?;
    let mut table = ComparisonTable::new(
        format!("Observables per site on the {l}×{l} torus at K = {k} (c and χ use the same K for every row; block spins live on the coarse lattice)"),
        observable_columns(),
    );
    let exact = exact::kaufman(l, k)?;
    table.push_row(
        DataSource::Exact,
        vec![
            Some(Cell::exact(exact.energy_per_site)),
            None,
            None,
            Some(Cell::exact(exact.specific_heat_per_site)),
            None,
            None,
        ],
    )?;
    table.reference = Some(0);
    table.push_row(DataSource::MonteCarlo, observables_row(&mc))?;
    let mut statistics = vec![SourceStatistics { source: "monte_carlo".into(), observables: mc }];
    let mut curves = vec![CorrelationCurve::measured("Monte Carlo data", &mc_corr)];
    for (d, s) in recon_spins.iter().enumerate() {
        let (o, c) = measure(lattice, k, s)?;
        table.push_row(DataSource::Reconstructions { depth: d + 1 }, observables_row(&o))?;
        statistics
            .push(SourceStatistics { source: format!("reconstruction_depth_{}", d + 1), observables: o });
        curves.push(CorrelationCurve::measured(format!("reconstructions, depth {}", d + 1), &c));
    }
    let (g, g_corr) = measure(lattice, k, &generated)?;
    table.push_row(DataSource::DbnSamples, observables_row(&g))?;
    statistics.push(SourceStatistics { source: "dbn_samples".into(), observables: g });
    curves.push(CorrelationCurve::measured("DBN samples", &g_corr));
    let (b, b_corr) = measure(coarse, k, &blocks)?;
    table.push_row(DataSource::MajorityRule { levels: 1 }, observables_row(&b))?;
    statistics.push(SourceStatistics { source: "majority_rule_level_1".into(), observables: b });
    let mut block_curve = CorrelationCurve::measured("majority-rule blocks (r in block units × 2)", &b_corr);
    for p in &mut block_curve.points {
        p.0 *= 2.0;
    }
    curves.push(block_curve);
    let correlations =
        correlation_function("Spin-spin correlation G(r) along the axes", &curves, false).to_svg()?;
    progress(5);

    // Training curves.
    let curve = |metric: fn(&EpochMetrics) -> f64| -> Vec<(String, Vec<f64>)> {
        history
            .iter()
            .enumerate()
            .map(|(i, h)| (format!("layer {}", i + 1), h.iter().map(metric).collect()))
            .collect()
    };
    let training_reconstruction = training_curves(
        "Reconstruction error per layer",
        "mean squared error per unit",
        &curve(|m| m.reconstruction_error),
    )
    .to_svg()?;
    let training_pll = training_curves(
        "Pseudo-log-likelihood per layer",
        "nats per unit",
        &curve(|m| m.pseudo_log_likelihood),
    )
    .to_svg()?;
    progress(6);

    let summary = AnalysisSummary {
        fields: field_summaries,
        statistics,
        table_html: table.to_html()?,
        table_text: table.to_text()?,
        analysis_samples: n_an,
    };
    let figures = AnalysisFigures {
        fields: field_pngs,
        reconstructions,
        generated: generated_png,
        correlations,
        training_reconstruction,
        training_pll,
    };
    Ok((AnalysisOutput { figures, fields, generated, blocks }, summary))
}
