//! The Mehta–Schwab study as library code: a plain [`StudyConfig`], one pure function per step,
//! one typed, serde-serialisable summary per step, and the report built from those summaries.
//!
//! Steps (each a function from its inputs to its outputs; the caller caches, writes files and
//! shows progress):
//!
//! 1. [`sample()`]: Monte Carlo configurations of the 2D Ising model (`L×L` torus at `K`,
//!    cluster algorithm, measured thinning) → a [`Dataset`](lattice_physics::dataset::Dataset)
//!    and a [`SampleSummary`];
//! 2. [`train()`]: the DBN greedily, layer by layer, with CD-1 and an L1 penalty: a loop over
//!    `rbm_core`'s [`GreedyTrainer`](rbm_core::GreedyTrainer) ([`trainer()`] starts one or
//!    resumes a saved [`GreedyState`](rbm_core::GreedyState)), with a per-epoch callback → a
//!    [`Dbn`](rbm_core::dbn::Dbn) and a [`TrainSummary`] of
//!    [`LayerSummary`](rbm_core::LayerSummary)s;
//! 3. [`analyse()`]: receptive fields, reconstructions, generated samples, majority-rule block
//!    spins, the statistics table, `G(r)` and training curves → [`AnalysisOutput`] (figures as
//!    PNG/SVG bytes, arrays) and an [`AnalysisSummary`];
//! 4. [`rg1d()`]: the exact 1D decimation flow and its exact RBM realisation, and the exact
//!    mapping of a small trained RBM against the ring it learned → [`Rg1dOutput`] and an
//!    [`Rg1dSummary`];
//! 5. [`is_rg()`]: "Is it RG?": majority rule, the stochastic block spin, a learned
//!    convolutional kernel and the study's first DBN layer measured as RG transformations (MCRG
//!    eigenvalues, two-lattice matching, renormalised couplings, the exact-thermometer flow) on
//!    Wolff data at `K_c`, with a sentence of reading computed from the numbers →
//!    [`IsRgOutput`] (the K′(K) figure) and an [`IsRgSummary`];
//! 6. [`build_report()`]: the self-contained HTML report from the summaries and figures.
//!
//! Randomness: every stream of a study is a child of its master seed in the scheme of
//! [`lattice_physics::rng`], listed by [`StudySeeds`]; no two consumers share one.
//!
//! Units and signs: spins `±1`, `K = βJ`, `H = -K Σ s_i s_j` (no field); the DBN uses spin units
//! in every layer and the ML sign convention of `rbm-core`.
//!
//! This module does no file I/O and never prints.

mod analyse;
mod isrg;
mod report;
mod rg1d;
mod sample;
mod train;

pub use analyse::{
    analyse, AnalysisFigures, AnalysisOutput, AnalysisSummary, FieldSummary, SourceStatistics, ANALYSIS_PARTS,
};
pub use isrg::{
    is_rg, is_rg_parts, DbnLayer, IsRgAnswer, IsRgConfig, IsRgOutput, IsRgRow, IsRgSummary, KernelResult,
    LearnedKernel, NamedCoupling,
};
pub use report::{
    build_report, Autocorrelation, DataSummary, Radii, ReportInputs, Rg1dCheck, StepTiming, StudySummary,
};
pub use rg1d::{
    rg1d, strongest_pairs, DecimationSummary, MappingPoint, MappingSummary, Rg1dOutput, Rg1dSummary,
    TrainedMapping, CURVE_EPOCHS,
};
pub use sample::{sample, ExactReference, SampleSummary};
pub use train::{
    check_resume, greedy_config, layer_train_config, train, trainer, training_matrix, TrainEvent,
    TrainSummary,
};

use lattice_physics::dataset::{DatasetConfig, Sweeps};
use lattice_physics::rng::Seed;
use lattice_physics::sampler::{Algorithm, AnySampler};
use lattice_physics::{IsingModel, Lattice};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which size of the study a configuration started from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The same study at smaller sizes (the README's main job).
    Quick,
    /// The paper as the paper did it: 40×40 at K = 0.408, 20,000 configurations,
    /// 1600 → 400 → 100 → 25, 200 epochs per layer, L1 2×10⁻⁴.
    Paper,
    /// The paper's sizes with a strong L1 penalty (8×10⁻³) and 40 epochs per layer: sparse,
    /// localised receptive fields (what `paper` meant before it followed the paper).
    Sparse,
    /// The quick study with "Is it RG?" at sizes where its numbers are sharp
    /// ([`IsRgConfig::sharp`]: 128×128 at `K_c`, matching 128 against 64).
    Rg,
}

/// Every parameter of a study (written into the report). Plain data: change any field, then
/// [`StudyConfig::validate`] (every step also validates).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// The preset this configuration started from.
    pub name: Preset,
    /// Linear lattice size L (even: the majority rule uses 2×2 blocks).
    pub size: usize,
    /// Coupling K.
    pub coupling: f64,
    /// Monte Carlo configurations.
    pub samples: usize,
    /// Sampling algorithm.
    pub algorithm: Algorithm,
    /// Parallel chains.
    pub chains: usize,
    /// Hidden layer sizes, data side first.
    pub layers: Vec<usize>,
    /// Epochs per layer.
    pub epochs: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// L1 penalty.
    pub l1: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Configurations used for reconstructions and their statistics.
    pub analysis_samples: usize,
    /// Configurations generated from the DBN.
    pub generated_samples: usize,
    /// Gibbs sweeps in the top RBM before generating.
    pub gibbs_steps: usize,
    /// AIS chains for log-likelihoods of large layers (0: skip).
    pub ais_chains: usize,
    /// AIS intermediate distributions.
    pub ais_steps: usize,
    /// Receptive fields drawn per layer (at most).
    pub fields_shown: usize,
    /// The "Is it RG?" step.
    pub is_rg: IsRgConfig,
}

impl StudyConfig {
    /// The quick study: the paper's lattice and network at fewer samples and epochs.
    pub fn quick() -> Self {
        StudyConfig {
            name: Preset::Quick,
            size: 40,
            coupling: 0.408,
            samples: 4000,
            algorithm: Algorithm::Wolff,
            chains: 4,
            layers: vec![400, 100, 25],
            epochs: 20,
            learning_rate: 0.01,
            l1: 8e-3,
            batch_size: 100,
            analysis_samples: 1000,
            generated_samples: 1000,
            gibbs_steps: 200,
            ais_chains: 0,
            ais_steps: 0,
            fields_shown: 64,
            is_rg: IsRgConfig::quick(),
        }
    }

    /// The paper (arXiv:1410.3831) as it states its run: 20,000 configurations of the 40×40
    /// torus at K = 0.408, the DBN 1600 → 400 → 100 → 25 trained greedily by CD-1 for
    /// **200 epochs per layer** with an **L1 penalty of 2×10⁻⁴** (docs/science.md §6).
    ///
    /// What the paper does not state is chosen (and listed in the report): mini-batches of 100
    /// and CD-1 as in Hinton's `rbm.m`, which its code descends from; the learning rate 0.01
    /// (the library's spin-unit CD rate) decaying linearly to zero, and momentum 0.5 throughout.
    /// `rbm.m`'s switch to momentum 0.9 at epoch 5 with a constant rate is not used: on these
    /// data it makes the pseudo-log-likelihood fall at once and stay low for the whole run (see
    /// [`layer_train_config`]).
    pub fn paper() -> Self {
        StudyConfig { name: Preset::Paper, epochs: 200, l1: 2e-4, ..StudyConfig::sparse() }
    }

    /// The paper's sizes with a forty times stronger L1 penalty (8×10⁻³) and 40 epochs per
    /// layer: sparse, localised receptive fields at a fifth of the paper's training time.
    pub fn sparse() -> Self {
        StudyConfig {
            name: Preset::Sparse,
            samples: 20_000,
            epochs: 40,
            analysis_samples: 4000,
            generated_samples: 4000,
            gibbs_steps: 1000,
            ais_chains: 64,
            ais_steps: 500,
            fields_shown: 100,
            ..StudyConfig::quick()
        }
    }

    /// The quick study (the DBN 1600 → 400 → 100 → 25 of the quick preset, whose first layer
    /// has the paper's shape) with "Is it RG?" at sharp sizes.
    pub fn rg() -> Self {
        StudyConfig { name: Preset::Rg, is_rg: IsRgConfig::sharp(), ..StudyConfig::quick() }
    }

    /// The configuration of a preset.
    pub fn preset(name: Preset) -> Self {
        match name {
            Preset::Quick => StudyConfig::quick(),
            Preset::Paper => StudyConfig::paper(),
            Preset::Sparse => StudyConfig::sparse(),
            Preset::Rg => StudyConfig::rg(),
        }
    }

    /// The `L×L` torus.
    pub fn lattice(&self) -> Result<Lattice> {
        Ok(Lattice::square(self.size)?)
    }

    /// The Ising model sampled.
    pub fn model(&self) -> Result<IsingModel> {
        Ok(IsingModel::new(self.lattice()?, self.coupling, 0.0)?)
    }

    /// The data-set configuration of the sample step (automatic thermalisation and thinning).
    pub fn dataset_config(&self, seeds: &StudySeeds) -> DatasetConfig {
        DatasetConfig {
            samples: self.samples,
            chains: self.chains,
            thermalize: Sweeps::Auto,
            thin: Sweeps::Auto,
            seed: seeds.sample(),
        }
    }

    /// Check every setting before any work: the model and sampler, the data set, every layer's
    /// training configuration, and the analysis sizes.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &'static str| {
            Err(Error::Setting { name, value, reason })
        };
        if self.size < 4 || self.size % 2 != 0 {
            return bad(
                "size",
                self.size.to_string(),
                "must be even and at least 4 (2×2 majority-rule blocks)",
            );
        }
        AnySampler::new(self.algorithm, self.model()?)?;
        self.dataset_config(&StudySeeds::new(0)).validate()?;
        if self.layers.is_empty() || self.layers.contains(&0) {
            return bad("layers", format!("{:?}", self.layers), "must list at least one positive layer size");
        }
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be at least 1");
        }
        if self.batch_size == 0 || self.batch_size > self.samples {
            return bad(
                "batch_size",
                self.batch_size.to_string(),
                "must be between 1 and the number of samples",
            );
        }
        let seeds = StudySeeds::new(0);
        for l in 0..self.layers.len() {
            layer_train_config(self, &seeds, l).validate()?;
        }
        if self.analysis_samples == 0 {
            return bad("analysis_samples", "0".into(), "must be at least 1");
        }
        if self.generated_samples == 0 {
            return bad("generated_samples", "0".into(), "must be at least 1");
        }
        if self.fields_shown == 0 {
            return bad("fields_shown", "0".into(), "must be at least 1");
        }
        if self.ais_chains == 1 || (self.ais_chains > 1 && self.ais_steps == 0) {
            return bad(
                "ais_chains",
                self.ais_chains.to_string(),
                "AIS needs at least 2 chains and 1 step (0 chains skips it)",
            );
        }
        self.is_rg.validate(self.size)?;
        Ok(())
    }
}

/// Every random stream of a study, derived from its master seed by [`Seed::child`].
///
/// | consumer | seed |
/// |---|---|
/// | Monte Carlo chain `i` | `master → ("sample", 0) → ("chain", i)` |
/// | training of layer `ℓ` | `master → ("train-layer", ℓ)` |
/// | up pass through layer `ℓ` (feeding layer `ℓ + 1`; its `GreedyLayer::up_pass_seed`) | `master → ("up-pass", ℓ)` |
/// | AIS of layer `ℓ` | `master → ("ais", ℓ)` |
/// | reconstructions and generated samples | `master → ("analysis", 0)` |
/// | majority-rule ties of sample `i` | `master → ("blocks", 0) → ("block-level", 0) → ("block-sample", i)` |
/// | ring data of the exact mapping (chain `i`) | `master → ("ring-sample", 0) → ("chain", i)` |
/// | training of the ring RBM | `master → ("ring-train", 0)` |
/// | "Is it RG?" data set or kernel stream `(what, i)` | `master → ("is-rg", 0) → (what, i)` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudySeeds {
    master: Seed,
}

impl StudySeeds {
    /// The streams of the study with master seed `master`.
    pub fn new(master: u64) -> Self {
        StudySeeds { master: Seed::new(master) }
    }

    /// The master seed.
    pub fn master(&self) -> u64 {
        self.master.value()
    }

    /// Seed of the Monte Carlo data set (its chains are its `"chain"` children).
    pub fn sample(&self) -> u64 {
        self.master.child("sample", 0).value()
    }

    /// Seed of the training of layer `layer`.
    pub fn train_layer(&self, layer: usize) -> u64 {
        self.master.child("train-layer", layer as u64).value()
    }

    /// Seed of the sampled up pass through layer `layer` (the next layer's training data).
    pub fn up_pass(&self, layer: usize) -> Seed {
        self.master.child("up-pass", layer as u64)
    }

    /// Seed of the AIS estimate of layer `layer`'s partition function.
    pub fn ais(&self, layer: usize) -> u64 {
        self.master.child("ais", layer as u64).value()
    }

    /// Seed of the reconstructions and generated samples.
    pub fn analysis(&self) -> Seed {
        self.master.child("analysis", 0)
    }

    /// Seed of the majority-rule tie-breaking (passed to `coarse_grain`).
    pub fn blocks(&self) -> u64 {
        self.master.child("blocks", 0).value()
    }

    /// Seed of the ring data set of the exact-mapping check.
    pub fn ring_sample(&self) -> u64 {
        self.master.child("ring-sample", 0).value()
    }

    /// Seed of the training of the ring RBM.
    pub fn ring_train(&self) -> u64 {
        self.master.child("ring-train", 0).value()
    }

    /// Seed of the "Is it RG?" stream `what`, index `index`: the data sets `"kc-data"`,
    /// `"match-large"`, `"match-small"`, `"flow"`, `"dbn-kc"`, `"dbn-flow"` (their chains are
    /// their `"chain"` children), the learned kernel's training `"learned-train"`, and the
    /// randomness of kernel `i` (`"kernel"`).
    pub fn is_rg(&self, what: &str, index: u64) -> u64 {
        self.master.child("is-rg", 0).child(what, index).value()
    }

    /// The seed of every generator a study with `config` creates, with its consumer's name:
    /// each Monte Carlo chain, each layer's trainer, up pass and AIS, the analysis stream, the
    /// tie-breaking stream of every blocked sample, each ring chain and the ring trainer.
    pub fn all_streams(&self, config: &StudyConfig) -> Vec<(String, u64)> {
        let mut v = Vec::new();
        for i in 0..config.chains {
            v.push((
                format!("monte carlo chain {i}"),
                Seed::new(self.sample()).child("chain", i as u64).value(),
            ));
        }
        for l in 0..config.layers.len() {
            v.push((format!("training of layer {l}"), self.train_layer(l)));
            v.push((format!("up pass of layer {l}"), self.up_pass(l).value()));
            v.push((format!("AIS of layer {l}"), self.ais(l)));
        }
        v.push(("reconstructions and generated samples".into(), self.analysis().value()));
        let level0 = Seed::new(self.blocks()).child("block-level", 0);
        for i in 0..config.samples {
            v.push((format!("block ties of sample {i}"), level0.child("block-sample", i as u64).value()));
        }
        for i in 0..rg1d::RING_CHAINS {
            v.push((
                format!("ring chain {i}"),
                Seed::new(self.ring_sample()).child("chain", i as u64).value(),
            ));
        }
        v.push(("training of the ring RBM".into(), self.ring_train()));
        let c = &config.is_rg;
        let sets = [
            ("kc-data", 1),
            ("match-large", c.match_couplings().len()),
            ("match-small", c.match_small_couplings().len()),
            ("flow", c.flow_couplings.len()),
            ("dbn-kc", 1),
            ("dbn-flow", c.flow_couplings.len()),
        ];
        for (what, count) in sets {
            for i in 0..count as u64 {
                for chain in 0..c.chains as u64 {
                    let seed = Seed::new(self.is_rg(what, i)).child("chain", chain).value();
                    v.push((format!("is-rg {what} {i} chain {chain}"), seed));
                }
            }
        }
        v.push(("is-rg learned-kernel training".into(), self.is_rg("learned-train", 0)));
        for k in 0..4 {
            v.push((format!("is-rg kernel {k}"), self.is_rg("kernel", k)));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for preset in [Preset::Quick, Preset::Paper, Preset::Sparse, Preset::Rg] {
            let c = StudyConfig::preset(preset);
            assert_eq!(c.name, preset);
            c.validate().unwrap();
        }
    }

    #[test]
    fn the_paper_preset_has_the_papers_stated_settings() {
        // arXiv:1410.3831 (docs/science.md §6): 20,000 configurations of 40×40 at K = 0.408,
        // 1600 → 400 → 100 → 25, 200 epochs per layer, L1 2×10⁻⁴, CD-1.
        let c = StudyConfig::paper();
        assert_eq!((c.size, c.coupling, c.samples), (40, 0.408, 20_000));
        assert_eq!(c.layers, [400, 100, 25]);
        assert_eq!((c.epochs, c.l1), (200, 2e-4));
        let t = layer_train_config(&c, &StudySeeds::new(1), 0);
        assert_eq!((t.cd_k, t.persistent, t.l1, t.epochs), (1, false, 2e-4, 200));
        // The sparse preset keeps the strong penalty at the paper's sizes.
        let s = StudyConfig::sparse();
        assert_eq!((s.samples, s.layers.clone(), s.l1, s.epochs), (20_000, c.layers, 8e-3, 40));
    }

    #[test]
    fn bad_settings_are_refused_before_any_work() {
        let base = StudyConfig::quick();
        let cases: Vec<(&str, StudyConfig)> = vec![
            ("epochs", StudyConfig { epochs: 0, ..base.clone() }),
            ("layers", StudyConfig { layers: vec![], ..base.clone() }),
            ("layers", StudyConfig { layers: vec![400, 0], ..base.clone() }),
            ("size", StudyConfig { size: 7, ..base.clone() }),
            ("learning_rate", StudyConfig { learning_rate: f64::NAN, ..base.clone() }),
            ("learning_rate", StudyConfig { learning_rate: -0.1, ..base.clone() }),
            ("l1", StudyConfig { l1: -1.0, ..base.clone() }),
            ("samples", StudyConfig { samples: 10, ..base.clone() }),
            ("batch_size", StudyConfig { batch_size: 0, ..base.clone() }),
            ("analysis_samples", StudyConfig { analysis_samples: 0, ..base.clone() }),
            ("ais_chains", StudyConfig { ais_chains: 1, ..base.clone() }),
        ];
        for (what, cfg) in cases {
            assert!(cfg.validate().is_err(), "{what} should be refused");
        }
    }

    #[test]
    fn no_two_consumers_share_a_stream() {
        let cfg = StudyConfig::quick();
        for master in [0u64, 1, 2, u64::MAX] {
            let seeds = StudySeeds::new(master);
            let streams = seeds.all_streams(&cfg);
            let c = &cfg.is_rg;
            let is_rg_sets =
                2 + c.match_couplings().len() + c.match_small_couplings().len() + 2 * c.flow_couplings.len();
            assert_eq!(
                streams.len(),
                cfg.chains
                    + 3 * cfg.layers.len()
                    + 1
                    + cfg.samples
                    + rg1d::RING_CHAINS
                    + 1
                    + is_rg_sets * c.chains
                    + 1
                    + 4
            );
            let mut seen = std::collections::HashMap::new();
            for (name, seed) in &streams {
                if let Some(other) = seen.insert(*seed, name) {
                    panic!("master {master}: {name} and {other} share the seed {seed}");
                }
            }
            // The old scheme seeded Monte Carlo chain 0 and layer-0 training from the same value.
            let chain0 = lattice_physics::rng::chain_rng(seeds.sample(), 0);
            let layer0 = lattice_physics::rng::Seed::new(seeds.train_layer(0)).rng();
            assert_ne!(chain0, layer0);
            assert_ne!(seeds.train_layer(0), master);
        }
    }
}
