//! Step "Is it RG?": treat four coarse-grainings of the 2D Ising model as RG transformations and
//! measure them against the exact values (docs/science.md §7–§8).
//!
//! Kernels (block factor `b = 2`): majority rule, the stochastic block spin of strength `λ`, a
//! learned convolutional RBM kernel trained in this step on the data at `K_c`
//! ([`rg_transforms::coarse::learned`]), and the study's own first DBN layer read as a dense
//! kernel ([`rg_transforms::coarse::dense`]: hidden units placed at their fields' periodic
//! centroids, sign-aligned, assigned one-to-one to coarse sites by the Hungarian algorithm).
//!
//! For every kernel:
//! - **MCRG** (Swendsen): `λ_t`, `λ_h` per level with jackknife errors, on Wolff data at `K_c`
//!   on the `L×L` torus (the DBN layer exists on the study's lattice only, so it has one level,
//!   on Wolff data at `K_c` on that lattice);
//! - **two-lattice matching**: `L` against `L/2` on coupling grids around `K_c`, giving `K*` and
//!   `y_t` after `n` steps (not for the DBN layer, which exists for one lattice size only);
//! - **renormalised couplings**: the pseudo-likelihood fit of the level-1 coarse configurations
//!   of the data at `K_c` (six even operators), the three largest reported;
//! - **the exact-thermometer flow** `K → K′`: data at couplings `K`, blocked once, read by
//!   Kaufman's exact energy of the coarse torus (the figure [`IsRgOutput::FLOW_FIGURE`]).
//!
//! The answer is one sentence computed from the numbers ([`IsRgSummary::reading`]): which
//! kernels reproduce `λ_t = 2`, `λ_h = 2^{15/8}` within `max(2σ, 2%)` at their deepest level among
//! 2 and 3 whose lattice is at least 8×8 (level 1 for the DBN layer), and `K* = K_c` within
//! `max(2σ, 0.5%)` where matching exists, and which do not. Errors are statistical only.
//!
//! Units and signs: spins `±1`, `K = βJ`, `H = −K Σ_<ij> s_i s_j`, renormalised couplings in
//! `−H = Σ_α K_α S_α`. Randomness: every data set and kernel stream is a child of
//! `master → ("is-rg", 0)` ([`StudySeeds::is_rg`]).

use lattice_physics::dataset::{self, DatasetConfig, Sweeps};
use lattice_physics::rng::Seed;
use lattice_physics::sampler::Algorithm;
use lattice_physics::stats::Estimate;
use lattice_physics::{Configurations, IsingModel, Lattice, K_CRITICAL};
use rbm_core::Rbm;
use rg_transforms::assess::{coarse_readings, Targets};
use rg_transforms::coarse::dense::{
    compare_correlations, place_hidden_units, CorrelationComparison, DenseKernel,
};
use rg_transforms::coarse::learned::{train_conv_kernel, ConvEpoch, ConvTrainConfig, ConvTrainer};
use rg_transforms::coarse::{AnyKernel, BlockSpin, CoarseKernel, Majority};
use rg_transforms::couplings::{CouplingConfig, CouplingFit, CouplingOperator};
use rg_transforms::matching::{two_lattice_matching, CouplingData, MatchingConfig, MatchingResult};
use rg_transforms::mcrg::{mcrg_with_kernel, McrgConfig, McrgResult, Operator, MIN_MEANINGFUL_SIZE};
use rg_transforms::thermometer::{flow_point, FlowPoint};
use serde::{Deserialize, Serialize};

use super::{StudyConfig, StudySeeds};
use crate::error::{Error, Result};
use crate::plot::{LegendPosition, LinePlot, Series, SeriesStyle};
use crate::report::{Figure, Section};

/// Block factor of every kernel of the step.
pub const FACTOR: usize = 2;
/// Wolff sweeps before the first retained configuration of every data set.
const THERMALIZE: usize = 200;
/// Degree of the small lattice's polynomial in two-lattice matching.
const MATCH_DEGREE: usize = 3;
/// Tolerance on the eigenvalues in the reading: `max(2σ, 2%)`.
const EXPONENT_TOLERANCE: f64 = 0.02;
/// Tolerance on `K*` in the reading: `max(2σ, 0.5%)`.
const FIXED_POINT_TOLERANCE: f64 = 0.005;
/// Renormalised couplings listed per kernel.
const COUPLINGS_LISTED: usize = 3;

/// The sizes of the step (a field group of [`StudyConfig`]). Plain data; checked by
/// [`IsRgConfig::validate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsRgConfig {
    /// Linear size `L` of the torus at `K_c` (MCRG) and of the large matching lattice.
    pub size: usize,
    /// Wolff configurations at `K_c` on `L×L` (one per Wolff sweep).
    pub samples: usize,
    /// Parallel Monte Carlo chains of every data set.
    pub chains: usize,
    /// Two-lattice matching: the large lattice's couplings are `K_c + i·match_spacing`,
    /// `|i| ≤ match_half_points`.
    pub match_half_points: usize,
    /// Spacing of the large lattice's grid.
    pub match_spacing: f64,
    /// The small lattice's couplings are `K_c + i·match_small_spacing`, `|i| ≤ match_small_half_points`
    /// (they must cover the images `K′(K)` of the large grid, about twice as wide).
    pub match_small_half_points: usize,
    /// Spacing of the small lattice's grid.
    pub match_small_spacing: f64,
    /// Wolff configurations per matching coupling.
    pub match_samples: usize,
    /// Largest number of blocking steps `n` on the large lattice.
    pub match_steps: usize,
    /// Couplings of the fine data of the exact-thermometer flow (the K′(K) figure).
    pub flow_couplings: Vec<f64>,
    /// Wolff configurations per flow coupling.
    pub flow_samples: usize,
    /// Strength `λ` of the stochastic block spin.
    pub block_spin_lambda: f64,
    /// Training of the learned kernel (factor 2), on the first `learned_samples` configurations
    /// at `K_c`.
    pub learned: ConvTrainConfig,
    /// Configurations the learned kernel is trained on.
    pub learned_samples: usize,
    /// Wolff configurations at `K_c` on the study's lattice for the DBN's first layer (0: the
    /// layer is not assessed).
    pub dbn_samples: usize,
    /// Jackknife blocks of every error bar.
    pub jackknife_blocks: usize,
}

impl IsRgConfig {
    /// A small version for the quick preset: 32×32 at `K_c`, 32 against 16 for matching.
    pub fn quick() -> Self {
        IsRgConfig {
            size: 32,
            samples: 3000,
            chains: 2,
            match_half_points: 3,
            match_spacing: 0.005,
            match_small_half_points: 6,
            match_small_spacing: 0.006,
            match_samples: 1000,
            match_steps: 2,
            flow_couplings: vec![0.36, 0.38, 0.40, 0.42, 0.44, 0.46, 0.48, 0.50, 0.52],
            flow_samples: 200,
            block_spin_lambda: 10.0,
            learned: ConvTrainConfig {
                factor: FACTOR,
                window: 4,
                epochs: 5,
                batch_size: 50,
                learning_rate: 0.05,
                cd_steps: 1,
                persistent: false,
                init_std: 0.01,
            },
            learned_samples: 1000,
            dbn_samples: 1000,
            jackknife_blocks: 20,
        }
    }

    /// The sizes of `--preset rg`, where the numbers are sharp: 128×128 at `K_c`, 128 against 64
    /// for matching on grids of spacing 0.002 and 0.003 (a coarser small grid biases `y_t`
    /// through the polynomial fit; see [`rg_transforms::matching`]), three steps.
    pub fn sharp() -> Self {
        IsRgConfig {
            size: 128,
            samples: 10_000,
            learned_samples: 2000,
            match_half_points: 3,
            match_spacing: 0.002,
            match_small_half_points: 6,
            match_small_spacing: 0.003,
            match_samples: 3000,
            match_steps: 3,
            flow_samples: 500,
            dbn_samples: 4000,
            ..IsRgConfig::quick()
        }
    }

    /// The large lattice's matching couplings.
    pub fn match_couplings(&self) -> Vec<f64> {
        grid(self.match_half_points, self.match_spacing)
    }

    /// The small lattice's matching couplings.
    pub fn match_small_couplings(&self) -> Vec<f64> {
        grid(self.match_small_half_points, self.match_small_spacing)
    }

    /// MCRG levels on `L×L`: as many halvings as leave a lattice of at least 4×4.
    pub fn levels(&self) -> usize {
        levels_of(self.size)
    }

    /// Shapes `[configurations, sites]` of every spin array the step holds at once at most (for
    /// the caller's memory budget): the data at `K_c`, the matching data, the flow data.
    pub fn data_shapes(&self, study_size: usize) -> Vec<(&'static str, [usize; 2])> {
        let (n, small) = (self.size * self.size, self.size * self.size / 4);
        vec![
            ("configurations at K_c", [self.samples, n]),
            ("large-lattice matching configurations", [self.match_couplings().len() * self.match_samples, n]),
            (
                "small-lattice matching configurations",
                [self.match_small_couplings().len() * self.match_samples, small],
            ),
            ("flow configurations", [self.flow_couplings.len() * self.flow_samples, n]),
            ("DBN configurations at K_c", [self.dbn_samples, study_size * study_size]),
        ]
    }

    /// Check every setting before any work (`study_size` is the study's lattice, where the DBN
    /// layer lives).
    pub fn validate(&self, study_size: usize) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &'static str| {
            Err(Error::Setting { name, value, reason })
        };
        if self.size < 8 || self.size % (1 << self.match_steps.max(1)) != 0 {
            return bad(
                "is_rg.size",
                self.size.to_string(),
                "must be at least 8 and divisible by 2^match_steps",
            );
        }
        if self.match_steps == 0 || self.size >> self.match_steps < 4 {
            return bad(
                "is_rg.match_steps",
                self.match_steps.to_string(),
                "must be at least 1 and leave a lattice of at least 4×4",
            );
        }
        if self.chains == 0 {
            return bad("is_rg.chains", "0".into(), "must be at least 1");
        }
        let min = self.jackknife_blocks.max(lattice_physics::observables::MIN_SAMPLES);
        for (name, n) in [
            ("is_rg.samples", self.samples),
            ("is_rg.match_samples", self.match_samples),
            ("is_rg.flow_samples", self.flow_samples),
        ] {
            if n < min || n < self.chains {
                return bad(name, n.to_string(), "must be at least 100, the jackknife blocks and the chains");
            }
        }
        if self.dbn_samples != 0 && (self.dbn_samples < min || self.dbn_samples < self.chains) {
            return bad(
                "is_rg.dbn_samples",
                self.dbn_samples.to_string(),
                "must be 0 or at least 100, the jackknife blocks and the chains",
            );
        }
        if self.jackknife_blocks < 2 {
            return bad("is_rg.jackknife_blocks", self.jackknife_blocks.to_string(), "must be at least 2");
        }
        if self.match_half_points == 0 || self.match_small_half_points < 2 {
            return bad(
                "is_rg.match_half_points",
                format!("{}/{}", self.match_half_points, self.match_small_half_points),
                "the large grid needs at least 3 couplings and the small one at least 5",
            );
        }
        for (name, x) in [
            ("is_rg.match_spacing", self.match_spacing),
            ("is_rg.match_small_spacing", self.match_small_spacing),
        ] {
            if !(x.is_finite() && x > 0.0 && x * 20.0 < K_CRITICAL) {
                return bad(name, x.to_string(), "must be positive and small against K_c");
            }
        }
        let low = K_CRITICAL - self.match_small_half_points as f64 * self.match_small_spacing;
        if low <= 0.0 {
            return bad(
                "is_rg.match_small_spacing",
                self.match_small_spacing.to_string(),
                "the small grid reaches K ≤ 0",
            );
        }
        if self.flow_couplings.is_empty() || self.flow_couplings.iter().any(|k| !(k.is_finite() && *k > 0.0))
        {
            return bad(
                "is_rg.flow_couplings",
                format!("{:?}", self.flow_couplings),
                "must list at least one positive coupling",
            );
        }
        if !(self.block_spin_lambda.is_finite() && self.block_spin_lambda > 0.0) {
            return bad("is_rg.block_spin_lambda", self.block_spin_lambda.to_string(), "must be positive");
        }
        if self.learned.factor != FACTOR {
            return bad("is_rg.learned.factor", self.learned.factor.to_string(), "must be 2");
        }
        if self.learned_samples < self.learned.batch_size || self.learned_samples > self.samples {
            return bad(
                "is_rg.learned_samples",
                self.learned_samples.to_string(),
                "must be between the batch size and the number of configurations at K_c",
            );
        }
        // The trainer validates the window and the training settings on the real lattice.
        ConvTrainer::new(Lattice::square(self.size)?, self.learned.clone(), &mut Seed::new(0).rng())?;
        if study_size % FACTOR != 0 {
            return bad("size", study_size.to_string(), "the DBN layer's lattice must be even");
        }
        Ok(())
    }
}

fn grid(half: usize, spacing: f64) -> Vec<f64> {
    (-(half as i64)..=half as i64).map(|i| K_CRITICAL + spacing * i as f64).collect()
}

fn levels_of(size: usize) -> usize {
    let (mut n, mut s) = (0, size);
    while s % FACTOR == 0 && s / FACTOR >= 4 {
        s /= FACTOR;
        n += 1;
    }
    n.max(1)
}

/// A coupling with its name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedCoupling {
    /// Operator name ([`CouplingOperator::name`]).
    pub operator: String,
    /// `K_α` with its jackknife error.
    pub value: Estimate,
}

/// One row of the table: the key numbers of one kernel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsRgRow {
    /// What the kernel is, in words.
    pub label: String,
    /// The kernel's stable name.
    pub kernel: String,
    /// Linear size of the lattice its MCRG data live on.
    pub lattice_size: usize,
    /// `λ_t` at level 2 (absent if the kernel has fewer levels).
    pub lambda_t_level2: Option<Estimate>,
    /// `λ_h` at level 2.
    pub lambda_h_level2: Option<Estimate>,
    /// `λ_t` at level 3.
    pub lambda_t_level3: Option<Estimate>,
    /// `λ_h` at level 3.
    pub lambda_h_level3: Option<Estimate>,
    /// The level the reading judges, and its `λ_t`, `λ_h`.
    pub judged_level: usize,
    /// `λ_t` at the judged level.
    pub lambda_t: Estimate,
    /// `λ_h` at the judged level.
    pub lambda_h: Estimate,
    /// `K*` from two-lattice matching after the largest number of steps.
    pub fixed_point: Option<Estimate>,
    /// `y_t` from the slope there.
    pub y_t: Option<Estimate>,
    /// Steps `n` of that matching.
    pub matching_steps: Option<usize>,
    /// The largest renormalised couplings at `K_c` (level 1), largest `|K|` first.
    pub couplings: Vec<NamedCoupling>,
    /// Whether the numbers judged agree with the exact ones (see the module docs).
    pub consistent: bool,
    /// What misses, in words (empty when consistent).
    pub misses: Vec<String>,
}

/// The learned kernel: what it learned and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnedKernel {
    /// Its `w×w` filter, row-major, aligned (positive sum).
    pub filter: Vec<f64>,
    /// The training configuration.
    pub training: ConvTrainConfig,
    /// Configurations trained on.
    pub training_samples: usize,
    /// Per-epoch measurements.
    pub history: Vec<ConvEpoch>,
}

/// The DBN layer: how its hidden units tile the coarse lattice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbnLayer {
    /// Visible units.
    pub n_visible: usize,
    /// Hidden units.
    pub n_hidden: usize,
    /// Coarse sites `(L/2)²`.
    pub coarse_sites: usize,
    /// Fraction of coarse sites holding exactly one rounded centroid.
    pub occupancy: f64,
    /// Mean of the units' localisation (mean resultant length, 1 for a one-site field).
    pub mean_localisation: f64,
    /// Mean centroid-to-site distance of the one-to-one assignment (fine spacings).
    pub mean_displacement: Option<f64>,
    /// Largest centroid-to-site distance of the assignment.
    pub max_displacement: Option<f64>,
    /// Hidden correlations against centroid distance next to visible ones at twice the distance.
    pub correlations: Option<CorrelationComparison>,
}

/// Everything measured about one kernel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KernelResult {
    /// The table row.
    pub row: IsRgRow,
    /// MCRG, every level.
    pub mcrg: McrgResult,
    /// Two-lattice matching, every step (absent for the DBN layer).
    pub matching: Option<MatchingResult>,
    /// The level-1 pseudo-likelihood fit at `K_c`, when it succeeded.
    pub couplings: Option<CouplingFit>,
    /// The exact-thermometer flow `K → K′`, one point per flow coupling that reads.
    pub flow: Vec<FlowPoint>,
    /// The learned kernel's filter and training.
    pub learned: Option<LearnedKernel>,
    /// The DBN layer's placement.
    pub dbn: Option<DbnLayer>,
}

/// What the step computed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsRgSummary {
    /// Linear size `L` of the data at `K_c`.
    pub size: usize,
    /// The DBN layer's lattice.
    pub dbn_size: usize,
    /// The exact values.
    pub targets: Targets,
    /// One entry per kernel, in the table's order.
    pub kernels: Vec<KernelResult>,
    /// Why the DBN layer is missing or only partly assessed, if it is.
    pub dbn_note: Option<String>,
    /// The answer in one sentence, computed from the numbers.
    pub reading: String,
    /// What the error bars include.
    pub errors_note: String,
}

/// The key numbers (what `reproduce --json` prints under `is_rg`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsRgAnswer {
    /// Linear size of the data at `K_c`.
    pub size: usize,
    /// One row per kernel.
    pub rows: Vec<IsRgRow>,
    /// The sentence.
    pub reading: String,
}

impl IsRgSummary {
    /// The key numbers.
    pub fn answer(&self) -> IsRgAnswer {
        IsRgAnswer {
            size: self.size,
            rows: self.kernels.iter().map(|k| k.row.clone()).collect(),
            reading: self.reading.clone(),
        }
    }

    /// The table as fixed-width text.
    pub fn table_text(&self) -> String {
        let e = |x: Option<Estimate>, d: usize| {
            x.map_or("—".to_string(), |x| format!("{:.d$} ± {:.d$}", x.mean, x.stderr, d = d))
        };
        let mut s = format!(
            "{:<34} {:>4} {:>17} {:>17} {:>17} {:>17} {:>19} {:>15}  largest couplings at K_c (level 1)\n",
            "kernel", "L", "λ_t level 2", "λ_h level 2", "λ_t level 3", "λ_h level 3", "K* (matching)", "y_t"
        );
        for r in self.kernels.iter().map(|k| &k.row) {
            let couplings: Vec<String> = r
                .couplings
                .iter()
                .map(|c| format!("{} {:+.4} ± {:.4}", c.operator, c.value.mean, c.value.stderr))
                .collect();
            s.push_str(&format!(
                "{:<34} {:>4} {:>17} {:>17} {:>17} {:>17} {:>19} {:>15}  {}\n",
                r.label,
                r.lattice_size,
                e(r.lambda_t_level2, 4),
                e(r.lambda_h_level2, 4),
                e(r.lambda_t_level3, 4),
                e(r.lambda_h_level3, 4),
                e(r.fixed_point, 5),
                e(r.y_t, 3),
                couplings.join(", ")
            ));
        }
        for r in self.kernels.iter().map(|k| &k.row).filter(|r| r.judged_level < 2) {
            s.push_str(&format!(
                "{}: only level {} exists (L = {} → {}): λ_t = {:.4} ± {:.4}, λ_h = {:.4} ± {:.4}\n",
                r.label,
                r.judged_level,
                r.lattice_size,
                r.lattice_size / FACTOR,
                r.lambda_t.mean,
                r.lambda_t.stderr,
                r.lambda_h.mean,
                r.lambda_h.stderr
            ));
        }
        let t = self.targets;
        s.push_str(&format!(
            "exact: λ_t = {}, λ_h = {:.4}, K* = K_c = {:.6}, y_t = {}\n",
            t.lambda_t, t.lambda_h, t.k_c, t.y_t
        ));
        s
    }
}

/// The step's figure.
#[derive(Clone, Debug, PartialEq)]
pub struct IsRgOutput {
    /// `K′` against `K` (SVG).
    pub flow_figure: String,
}

impl IsRgOutput {
    /// File name of the K′(K) figure.
    pub const FLOW_FIGURE: &'static str = "is_rg_flow.svg";
}

/// Number of progress parts [`is_rg`] reports.
pub fn is_rg_parts(config: &StudyConfig) -> usize {
    // Data at K_c, learned training, MCRG of three kernels, matching data, matching of three
    // kernels, flow data and flows, the DBN layer.
    10 + usize::from(config.is_rg.dbn_samples > 0)
}

fn wolff(l: usize, k: f64, samples: usize, chains: usize, seed: u64) -> Result<Configurations> {
    let lattice = Lattice::square(l)?;
    let model = IsingModel::new(lattice, k, 0.0)?;
    let config = DatasetConfig {
        samples,
        chains,
        thermalize: Sweeps::Fixed(THERMALIZE),
        thin: Sweeps::Fixed(1),
        seed,
    };
    Ok(Configurations::new(lattice, dataset::generate(model, Algorithm::Wolff, &config, &|_| {})?.spins)?)
}

fn coupling_config(blocks: usize) -> CouplingConfig {
    CouplingConfig {
        operators: CouplingOperator::ALL.to_vec(),
        tolerance: 1e-10,
        max_iterations: 50,
        jackknife_blocks: blocks,
    }
}

/// Run the step. `dbn_layer` is the study's first DBN layer (visible units = the study's
/// `size × size` lattice); `progress(done)` is called after each of [`is_rg_parts`] parts.
pub fn is_rg(
    config: &StudyConfig,
    seeds: &StudySeeds,
    dbn_layer: Option<&Rbm<f64>>,
    progress: &mut dyn FnMut(usize),
) -> Result<(IsRgOutput, IsRgSummary)> {
    let c = &config.is_rg;
    c.validate(config.size)?;
    let mut done = 0;
    let mut tick = || {
        done += 1;
        progress(done);
    };
    let l = c.size;
    let lattice = Lattice::square(l)?;
    let blocks = c.jackknife_blocks;
    let data = wolff(l, K_CRITICAL, c.samples, c.chains, seeds.is_rg("kc-data", 0))?;
    tick();

    let (conv, history) = train_conv_kernel(
        &Configurations::new(lattice, data.as_slice()[..c.learned_samples * l * l].to_vec())?,
        &c.learned,
        &mut Seed::new(seeds.is_rg("learned-train", 0)).rng(),
    )?;
    let learned = LearnedKernel {
        filter: conv.filter().to_vec(),
        training: c.learned.clone(),
        training_samples: c.learned_samples,
        history,
    };
    let kernels: Vec<(String, AnyKernel)> = vec![
        ("majority rule".into(), AnyKernel::Majority(Majority::new(lattice, FACTOR)?)),
        (
            format!("stochastic block spin (λ = {})", c.block_spin_lambda),
            AnyKernel::BlockSpin(BlockSpin::new(lattice, FACTOR, c.block_spin_lambda)?),
        ),
        (
            format!("learned conv RBM (w = {}, {} epochs)", c.learned.window, c.learned.epochs),
            AnyKernel::Conv(conv),
        ),
    ];
    tick();

    // MCRG and level-1 couplings at K_c.
    let mut partial = Vec::new();
    for (i, (label, kernel)) in kernels.iter().enumerate() {
        let seed = seeds.is_rg("kernel", i as u64);
        let mut mc = McrgConfig::standard(FACTOR, c.levels(), seed);
        mc.jackknife_blocks = blocks;
        let mcrg = mcrg_with_kernel(&data, kernel, &mc)?;
        let couplings = level1_couplings(kernel, &data, seed, blocks)?;
        partial.push((label.clone(), mcrg, couplings));
        tick();
    }
    drop(data);

    // Two-lattice matching (its data are dropped at the end of the block).
    let matchings = {
        let (large_k, small_k) = (c.match_couplings(), c.match_small_couplings());
        let large: Vec<Configurations> = large_k
            .iter()
            .enumerate()
            .map(|(i, &k)| wolff(l, k, c.match_samples, c.chains, seeds.is_rg("match-large", i as u64)))
            .collect::<Result<_>>()?;
        let small: Vec<Configurations> = small_k
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                wolff(l / FACTOR, k, c.match_samples, c.chains, seeds.is_rg("match-small", i as u64))
            })
            .collect::<Result<_>>()?;
        tick();
        let large_sets: Vec<CouplingData> =
            large_k.iter().zip(&large).map(|(&k, d)| CouplingData { coupling: k, data: d }).collect();
        let small_sets: Vec<CouplingData> =
            small_k.iter().zip(&small).map(|(&k, d)| CouplingData { coupling: k, data: d }).collect();
        let mut matchings = Vec::new();
        for (i, (_, kernel)) in kernels.iter().enumerate() {
            let mc = MatchingConfig {
                steps: c.match_steps,
                operators: vec![
                    Operator::NearestNeighbour,
                    Operator::NextNearestNeighbour,
                    Operator::Plaquette,
                ],
                degree: MATCH_DEGREE,
                jackknife_blocks: blocks,
                seed: seeds.is_rg("kernel", i as u64),
            };
            matchings.push(two_lattice_matching(kernel, &large_sets, &small_sets, &mc)?);
            tick();
        }
        matchings
    };

    // The exact-thermometer flow.
    let flow_data: Vec<Configurations> = c
        .flow_couplings
        .iter()
        .enumerate()
        .map(|(i, &k)| wolff(l, k, c.flow_samples, c.chains, seeds.is_rg("flow", i as u64)))
        .collect::<Result<_>>()?;
    let mut results = Vec::new();
    for (i, ((label, kernel), ((_, mcrg, couplings), matching))) in
        kernels.iter().zip(partial.into_iter().zip(matchings)).enumerate()
    {
        let flow = flow_points(kernel, &c.flow_couplings, &flow_data, seeds.is_rg("kernel", i as u64))?;
        let row = make_row(label, kernel.name(), l, &mcrg, Some(&matching), couplings.as_ref());
        results.push(KernelResult {
            row,
            mcrg,
            matching: Some(matching),
            couplings,
            flow,
            learned: matches!(kernel, AnyKernel::Conv(_)).then(|| learned.clone()),
            dbn: None,
        });
    }
    drop(flow_data);
    tick();

    // The study's first DBN layer.
    let dbn_note = if c.dbn_samples == 0 {
        Some("the DBN layer was not assessed (is_rg.dbn_samples = 0)".to_string())
    } else {
        let note = match dbn_layer {
            None => Some("no DBN layer was given".to_string()),
            Some(layer) => {
                let (result, note) = assess_dbn(config, seeds, layer)?;
                results.extend(result);
                note
            }
        };
        tick();
        note
    };

    let targets = Targets::for_factor(FACTOR);
    let reading = reading(l, config.size, &results, dbn_note.as_deref());
    let summary = IsRgSummary {
        size: l,
        dbn_size: config.size,
        targets,
        kernels: results,
        dbn_note,
        reading,
        errors_note: "errors are statistical only (jackknife over blocks of configurations); the truncation \
            of the operator sets, the finite lattices and the finite number of steps are systematic"
            .to_string(),
    };
    let flow_figure = flow_plot(&summary).to_svg()?;
    Ok((IsRgOutput { flow_figure }, summary))
}

fn level1_couplings<K: CoarseKernel>(
    kernel: &K,
    data: &Configurations,
    seed: u64,
    blocks: usize,
) -> Result<Option<CouplingFit>> {
    let readings = coarse_readings(kernel, data, 1, seed, &coupling_config(blocks))?;
    Ok(readings.into_iter().next().and_then(|r| r.couplings))
}

/// One flow point per coupling whose coarse configurations the thermometer reads.
fn flow_points<K: CoarseKernel>(
    kernel: &K,
    couplings: &[f64],
    data: &[Configurations],
    seed: u64,
) -> Result<Vec<FlowPoint>> {
    let mut out = Vec::new();
    for (&k, d) in couplings.iter().zip(data) {
        let coarse = kernel.apply_dataset(d, seed, 0)?;
        // A reading outside the thermometer's range (for instance an almost frozen coarse
        // lattice) is left out of the figure, not an error.
        if let Ok(p) = flow_point(k, &coarse) {
            out.push(p);
        }
    }
    Ok(out)
}

/// The DBN layer on the study's lattice: placement, and, where the assignment is one-to-one,
/// MCRG (one level), couplings, flow and correlations.
fn assess_dbn(
    config: &StudyConfig,
    seeds: &StudySeeds,
    layer: &Rbm<f64>,
) -> Result<(Option<KernelResult>, Option<String>)> {
    let c = &config.is_rg;
    let l = config.size;
    let lattice = Lattice::square(l)?;
    if layer.n_visible() != lattice.num_sites() {
        return Ok((
            None,
            Some(format!(
                "the DBN's first layer has {} visible units, not the {} sites of the study's lattice",
                layer.n_visible(),
                lattice.num_sites()
            )),
        ));
    }
    let placement = place_hidden_units(layer, lattice, FACTOR)?;
    let coarse_sites = (l / FACTOR) * (l / FACTOR);
    let mean_localisation =
        placement.localisation.iter().sum::<f64>() / placement.localisation.len().max(1) as f64;
    if placement.assignment.is_none() {
        return Ok((
            None,
            Some(format!(
                "the DBN's first layer has {} hidden units for {coarse_sites} coarse sites: no one-to-one assignment, so it is no kernel (occupancy of the coarse lattice {:.2})",
                layer.n_hidden(),
                placement.occupancy
            )),
        ));
    }
    let kernel = DenseKernel::new(layer.clone(), lattice, &placement)?;
    let seed = seeds.is_rg("kernel", 3);
    let data = wolff(l, K_CRITICAL, c.dbn_samples, c.chains, seeds.is_rg("dbn-kc", 0))?;
    let mut mc = McrgConfig::standard(FACTOR, 1, seed);
    mc.jackknife_blocks = c.jackknife_blocks;
    let mcrg = mcrg_with_kernel(&data, &kernel, &mc)?;
    let couplings = level1_couplings(&kernel, &data, seed, c.jackknife_blocks)?;
    let max_distance = (l / FACTOR / 2).clamp(1, 4);
    let correlations = Some(compare_correlations(layer, &placement, &data, max_distance)?);
    drop(data);
    let flow_data: Vec<Configurations> = c
        .flow_couplings
        .iter()
        .enumerate()
        .map(|(i, &k)| wolff(l, k, c.flow_samples, c.chains, seeds.is_rg("dbn-flow", i as u64)))
        .collect::<Result<_>>()?;
    let flow = flow_points(&kernel, &c.flow_couplings, &flow_data, seed)?;
    let label = format!("study's DBN layer 1 ({} → {})", layer.n_visible(), layer.n_hidden());
    let row = make_row(&label, kernel.name(), l, &mcrg, None, couplings.as_ref());
    let dbn = DbnLayer {
        n_visible: layer.n_visible(),
        n_hidden: layer.n_hidden(),
        coarse_sites,
        occupancy: placement.occupancy,
        mean_localisation,
        mean_displacement: placement.mean_displacement,
        max_displacement: placement.max_displacement,
        correlations,
    };
    let note = format!(
        "the DBN layer exists on the {l}×{l} lattice only: one MCRG level, on Wolff data at K_c there (it was trained at K = {}), and no two-lattice matching",
        config.coupling
    );
    Ok((
        Some(KernelResult { row, mcrg, matching: None, couplings, flow, learned: None, dbn: Some(dbn) }),
        Some(note),
    ))
}

fn make_row(
    label: &str,
    kernel: String,
    size: usize,
    mcrg: &McrgResult,
    matching: Option<&MatchingResult>,
    couplings: Option<&CouplingFit>,
) -> IsRgRow {
    let targets = Targets::for_factor(FACTOR);
    let level = |n: usize| mcrg.levels.iter().find(|lv| lv.level == n);
    let judged = [3, 2]
        .into_iter()
        .filter_map(level)
        .find(|lv| lv.lattice_size >= MIN_MEANINGFUL_SIZE)
        .or_else(|| mcrg.levels.first())
        .expect("MCRG has at least one level");
    let (lt, lh) = (judged.thermal.eigenvalue, judged.magnetic.eigenvalue);
    let within =
        |x: Estimate, exact: f64, rel: f64| (x.mean - exact).abs() <= (2.0 * x.stderr).max(rel * exact);
    let mut misses = Vec::new();
    if !within(lt, targets.lambda_t, EXPONENT_TOLERANCE) {
        misses.push(format!(
            "λ_t = {:.3} ± {:.3} against {} at level {}",
            lt.mean, lt.stderr, targets.lambda_t, judged.level
        ));
    }
    if !within(lh, targets.lambda_h, EXPONENT_TOLERANCE) {
        misses.push(format!(
            "λ_h = {:.3} ± {:.3} against {:.3} at level {}",
            lh.mean, lh.stderr, targets.lambda_h, judged.level
        ));
    }
    let last = matching.and_then(|m| m.levels.last());
    if let Some(m) = last {
        if !within(m.fixed_point, targets.k_c, FIXED_POINT_TOLERANCE) {
            misses.push(format!(
                "K* = {:.5} ± {:.5} against K_c = {:.5} (n = {})",
                m.fixed_point.mean, m.fixed_point.stderr, targets.k_c, m.steps
            ));
        }
    }
    let mut listed: Vec<NamedCoupling> = couplings
        .map(|f| {
            f.operators
                .iter()
                .zip(f.values.iter().zip(&f.errors))
                .map(|(o, (&v, &e))| NamedCoupling {
                    operator: o.name().to_string(),
                    value: Estimate::new(v, e),
                })
                .collect()
        })
        .unwrap_or_default();
    listed.sort_by(|a, b| b.value.mean.abs().total_cmp(&a.value.mean.abs()));
    listed.truncate(COUPLINGS_LISTED);
    let ev = |n: usize, thermal: bool| {
        level(n).map(|lv| if thermal { lv.thermal.eigenvalue } else { lv.magnetic.eigenvalue })
    };
    IsRgRow {
        label: label.to_string(),
        kernel,
        lattice_size: size,
        lambda_t_level2: ev(2, true),
        lambda_h_level2: ev(2, false),
        lambda_t_level3: ev(3, true),
        lambda_h_level3: ev(3, false),
        judged_level: judged.level,
        lambda_t: lt,
        lambda_h: lh,
        fixed_point: last.map(|m| m.fixed_point),
        y_t: last.map(|m| m.y_t),
        matching_steps: last.map(|m| m.steps),
        couplings: listed,
        consistent: misses.is_empty(),
        misses,
    }
}

fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [a] => a.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The sentence of the answer, from the rows.
fn reading(size: usize, dbn_size: usize, kernels: &[KernelResult], dbn_note: Option<&str>) -> String {
    let rows: Vec<&IsRgRow> = kernels.iter().map(|k| &k.row).collect();
    let good: Vec<&str> = rows.iter().filter(|r| r.consistent).map(|r| r.label.as_str()).collect();
    let mut s = format!("On Wolff data at K_c ({size}×{size}; {dbn_size}×{dbn_size} for the DBN layer), with statistical errors only: ");
    if !good.is_empty() {
        s.push_str(&format!(
            "{} {} the exact eigenvalues λ_t = 2 and λ_h = 3.668 within 2σ or 2% at {} deepest level of 2 and 3, and, where two-lattice matching applies, the fixed point K_c within 2σ or 0.5%: {} as an RG step",
            join_names(&good),
            if good.len() == 1 { "reproduces" } else { "reproduce" },
            if good.len() == 1 { "its" } else { "their" },
            if good.len() == 1 { "it acts" } else { "they act" },
        ));
    }
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.consistent)
        .map(|r| format!("{} does not ({})", r.label, r.misses.join("; ")))
        .collect();
    if !bad.is_empty() {
        if !good.is_empty() {
            s.push_str("; ");
        }
        s.push_str(&bad.join("; "));
    }
    s.push('.');
    if let Some(n) = dbn_note {
        if !kernels.iter().any(|k| k.dbn.is_some()) {
            s.push_str(&format!(" The DBN layer is not in the table: {n}."));
        }
    }
    s
}

/// `K′` against `K`: the exact-thermometer flow of every kernel (lines), the two-lattice matching
/// points after the largest number of steps (markers), the diagonal and `K_c`.
fn flow_plot(summary: &IsRgSummary) -> LinePlot {
    let mut plot = LinePlot::new(
        "Is it RG? K′(K) of each kernel (b = 2)",
        "coupling K of the fine data (βJ)",
        "renormalised nearest-neighbour coupling K′",
    );
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut ylo, mut yhi) = (f64::INFINITY, f64::NEG_INFINITY);
    for k in &summary.kernels {
        if !k.flow.is_empty() {
            let points: Vec<(f64, f64)> = k.flow.iter().map(|p| (p.coupling, p.renormalised.mean)).collect();
            let errors = k.flow.iter().map(|p| p.renormalised.stderr).collect();
            for &(x, y) in &points {
                (lo, hi) = (lo.min(x), hi.max(x));
                (ylo, yhi) = (ylo.min(y), yhi.max(y));
            }
            plot.series.push(Series::with_errors(
                format!(
                    "{}: thermometer, {} → {}",
                    k.row.kernel,
                    k.row.lattice_size,
                    k.row.lattice_size / FACTOR
                ),
                points,
                errors,
                SeriesStyle::LineAndMarkers,
            ));
        }
    }
    for k in &summary.kernels {
        if let Some(lv) = k.matching.as_ref().and_then(|m| m.levels.last()) {
            let pts: Vec<_> = lv.flow.iter().filter(|m| m.matched.mean.is_finite()).collect();
            if !pts.is_empty() {
                plot.series.push(Series::with_errors(
                    format!("{}: matching, n = {}", k.row.kernel, lv.steps),
                    pts.iter().map(|m| (m.coupling, m.matched.mean)).collect(),
                    pts.iter()
                        .map(|m| if m.matched.stderr.is_finite() { m.matched.stderr } else { 0.0 })
                        .collect(),
                    SeriesStyle::Markers,
                ));
            }
        }
    }
    if lo.is_finite() {
        plot.series.push(Series::new("K′ = K", vec![(lo, lo), (hi, hi)], SeriesStyle::Dashed));
        plot.series.push(Series::new(
            format!("K_c = {K_CRITICAL:.4}"),
            vec![(K_CRITICAL, ylo.min(lo)), (K_CRITICAL, yhi.max(hi))],
            SeriesStyle::Dashed,
        ));
    }
    plot.legend = LegendPosition::UpperLeft;
    plot.width = 900;
    plot.height = 600;
    plot
}

/// The report's section "Is it RG?".
pub(super) fn section(summary: &IsRgSummary, output: &IsRgOutput) -> Section {
    let mut s = Section::new("Is it RG?");
    s.paragraph("Each coarse-graining (block factor b = 2) is treated as an RG transformation of the 2D Ising model and measured: Swendsen's MCRG eigenvalues λ_t and λ_h per level on Wolff data at K_c (exact: 2 and 2^{15/8} = 3.668), the fixed point K* and y_t by two-lattice matching (the L lattice after n steps against the L/2 lattice after n − 1, exact: K_c and 1), and the renormalised couplings of the level-1 coarse configurations by pseudo-likelihood (−H = Σ K_α S_α).");
    s.paragraph(&format!("The answer: {}", summary.reading));
    s.preformatted(&summary.table_text());
    let mut rows = Vec::new();
    for k in &summary.kernels {
        if let Some(l) = &k.learned {
            let w = l.training.window;
            let filter: Vec<String> = l
                .filter
                .chunks(w)
                .map(|r| r.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" "))
                .collect();
            let last = l.history.last();
            rows.push((
                k.row.label.clone(),
                format!(
                    "{w}×{w} filter [{}]; trained by {}{} for {} epochs (batch {}, learning rate {}) on {} configurations at K_c; final reconstruction error {}",
                    filter.join(" / "),
                    if l.training.persistent { "PCD-" } else { "CD-" },
                    l.training.cd_steps,
                    l.training.epochs,
                    l.training.batch_size,
                    l.training.learning_rate,
                    l.training_samples,
                    last.map_or("—".into(), |e| format!("{:.4}", e.reconstruction_error))
                ),
            ));
        }
        if let Some(d) = &k.dbn {
            let corr = d.correlations.as_ref().map_or(String::new(), |c| {
                let pts: Vec<String> = (0..c.distance.len())
                    .map(|i| format!("d = {}: {:.3} vs {:.3}", c.distance[i], c.hidden[i], c.visible[i]))
                    .collect();
                format!("; hidden correlations against centroid distance vs visible ones at twice the distance: {}", pts.join(", "))
            });
            rows.push((
                k.row.label.clone(),
                format!(
                    "{} hidden units for {} coarse sites; occupancy of the coarse lattice by rounded centroids {:.2}; mean localisation {:.2}; one-to-one (Hungarian) assignment, mean displacement {} and largest {} fine spacings{corr}",
                    d.n_hidden,
                    d.coarse_sites,
                    d.occupancy,
                    d.mean_localisation,
                    d.mean_displacement.map_or("—".into(), |x| format!("{x:.2}")),
                    d.max_displacement.map_or("—".into(), |x| format!("{x:.2}")),
                ),
            ));
        }
    }
    if let Some(n) = &summary.dbn_note {
        rows.push(("DBN layer".into(), n.clone()));
    }
    rows.push(("errors".into(), summary.errors_note.clone()));
    s.key_values("The kernels", rows);
    s.figure(Figure::svg(
        "is-rg-flow",
        "K′ against K (kernels by their stable names: majority, block_spin:λ, learned:wW, dense:V×H): for each kernel, the coupling at which Kaufman's exact energy of the coarse torus equals the coarse configurations' energy (lines, data blocked once), and two-lattice matching after the largest number of steps (markers, on the grid around K_c); the diagonal and K_c dashed. The thermometer reads only the nearest-neighbour part of the coarse Hamiltonian on a finite torus, so its crossing of the diagonal is a rough fixed point; two-lattice matching cancels both effects.",
        output.flow_figure.clone(),
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rg_transforms::mcrg::{McrgLevel, SectorResult};

    fn sector(x: Estimate) -> SectorResult {
        SectorResult { eigenvalue: x, exponent: x, by_operator_count: vec![x], matrix: vec![x.mean] }
    }

    /// MCRG results with the given `(λ_t, λ_h)` per level, on an `l×l` lattice.
    fn mcrg(l: usize, levels: &[(Estimate, Estimate)]) -> McrgResult {
        McrgResult {
            kernel: "test".into(),
            warnings: vec![],
            errors_note: String::new(),
            factor: 2,
            samples: 100,
            jackknife_blocks: 10,
            even_operators: vec![],
            odd_operators: vec![],
            levels: levels
                .iter()
                .enumerate()
                .map(|(i, &(t, h))| McrgLevel {
                    level: i + 1,
                    lattice_size: l >> (i + 1),
                    thermal: sector(t),
                    magnetic: sector(h),
                    nu: t,
                })
                .collect(),
        }
    }

    fn result(row: IsRgRow, m: McrgResult) -> KernelResult {
        KernelResult { row, mcrg: m, matching: None, couplings: None, flow: vec![], learned: None, dbn: None }
    }

    /// The reading is computed from the numbers: within max(2σ, 2%) of the exact eigenvalues at
    /// the deepest meaningful level of 2 and 3 passes, anything else is named with its miss.
    #[test]
    fn the_reading_follows_the_numbers() {
        let e = Estimate::new;
        let lh = 2f64.powf(15.0 / 8.0);
        // Level 3 (8×8 on 64) is judged; level 2 is off but not judged.
        let good = mcrg(
            64,
            &[(e(1.8, 0.01), e(lh, 0.01)), (e(1.9, 0.01), e(lh, 0.01)), (e(2.03, 0.01), e(lh * 1.01, 0.001))],
        );
        // 5% off with σ = 1%: a miss.
        let off = mcrg(
            64,
            &[(e(2.0, 0.01), e(lh, 0.01)), (e(2.0, 0.01), e(lh, 0.01)), (e(2.1, 0.01), e(lh, 0.01))],
        );
        // 5% off with σ = 3%: within 2σ.
        let noisy = mcrg(
            64,
            &[(e(2.0, 0.01), e(lh, 0.01)), (e(2.0, 0.01), e(lh, 0.01)), (e(2.1, 0.06), e(lh, 0.01))],
        );
        // One level only (a dense layer), λ_h far off.
        let dense = mcrg(40, &[(e(2.0, 0.01), e(4.0, 0.01))]);
        let rows: Vec<KernelResult> = [("A", good), ("B", off), ("C", noisy), ("D", dense)]
            .into_iter()
            .map(|(name, m)| result(make_row(name, name.into(), 64, &m, None, None), m))
            .collect();
        assert_eq!(rows[0].row.judged_level, 3);
        assert!(rows[0].row.consistent, "{:?}", rows[0].row.misses);
        assert_eq!(rows[0].row.lambda_t_level2, Some(e(1.9, 0.01)));
        assert!(
            !rows[1].row.consistent
                && rows[1].row.misses.len() == 1
                && rows[1].row.misses[0].starts_with("λ_t")
        );
        assert!(rows[2].row.consistent);
        assert_eq!(rows[3].row.judged_level, 1);
        assert!(!rows[3].row.consistent && rows[3].row.misses[0].starts_with("λ_h"));
        assert_eq!(rows[3].row.lambda_t_level2, None);
        let s = reading(64, 40, &rows, None);
        assert!(s.contains("A and C reproduce"), "{s}");
        assert!(s.contains("B does not (λ_t = 2.100 ± 0.010 against 2 at level 3)"), "{s}");
        assert!(s.contains("D does not (λ_h = 4.000 ± 0.010 against 3.668 at level 1)"), "{s}");
        let only_bad = reading(64, 40, &rows[1..2], Some("no DBN layer was given"));
        assert!(only_bad.starts_with("On Wolff data") && !only_bad.contains("reproduce"), "{only_bad}");
        assert!(only_bad.contains("The DBN layer is not in the table: no DBN layer was given."));
    }

    #[test]
    fn bad_settings_are_refused() {
        let base = IsRgConfig::quick();
        IsRgConfig::sharp().validate(40).unwrap();
        base.validate(40).unwrap();
        let cases = [
            IsRgConfig { size: 30, ..base.clone() },
            IsRgConfig { match_steps: 4, ..base.clone() },
            IsRgConfig { samples: 50, ..base.clone() },
            IsRgConfig { match_spacing: f64::NAN, ..base.clone() },
            IsRgConfig { match_small_spacing: 0.1, ..base.clone() },
            IsRgConfig { flow_couplings: vec![], ..base.clone() },
            IsRgConfig { block_spin_lambda: 0.0, ..base.clone() },
            IsRgConfig { learned_samples: 10_000, ..base.clone() },
            IsRgConfig { learned: ConvTrainConfig { window: 3, ..base.learned.clone() }, ..base.clone() },
            IsRgConfig { dbn_samples: 5, ..base.clone() },
        ];
        for (i, c) in cases.iter().enumerate() {
            assert!(c.validate(40).is_err(), "case {i} should be refused");
        }
        assert!(base.validate(41).is_err());
        // Grids are symmetric about K_c.
        let g = base.match_couplings();
        assert_eq!(g.len(), 7);
        assert!((g[3] - K_CRITICAL).abs() < 1e-15 && (g[0] + g[6] - 2.0 * K_CRITICAL).abs() < 1e-12);
    }
}
