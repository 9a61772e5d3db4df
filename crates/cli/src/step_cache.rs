//! An on-disk cache of finished steps for `kadanoff reproduce`.
//!
//! Step `name` is recorded in `DIR/steps/<name>.json`: its key (the parameters it depends on and
//! the keys of the steps it reads), its typed result, its wall time, and the FNV-1a (64-bit)
//! hash of each of its output files. A step is reused only if the record deserialises with the
//! step's key type and result type, the key is equal field by field, and every output exists
//! with the recorded hash; otherwise it is recomputed. Records are written atomically, after the
//! outputs. The keys are typed ([`SampleKey`], [`TrainKey`], …): a renamed or retyped field makes
//! every old record fail to deserialise (so its step is recomputed), never compare as equal.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use kadanoff_analysis::study::{IsRgConfig, StepTiming, StudyConfig};
use lattice_physics::sampler::Algorithm;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::files::{self, PendingOutput};

/// FNV-1a (64-bit) of a byte string: the cache's content hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// An output file and its content hash.
#[derive(Serialize, Deserialize, PartialEq)]
struct OutputHash {
    name: String,
    fnv1a64: String,
}

/// A cached step's record: key `K`, result `T`.
#[derive(Serialize, Deserialize)]
struct StepRecord<K, T> {
    key: K,
    outputs: Vec<OutputHash>,
    result: T,
    seconds: f64,
}

/// The key of the `sample` step: what the Monte Carlo data depend on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleKey {
    /// Always `sample`.
    pub step: String,
    /// Version of the step's outputs.
    pub v: u32,
    /// Linear lattice size.
    pub size: usize,
    /// Coupling K.
    pub coupling: f64,
    /// Configurations.
    pub samples: usize,
    /// Sampling algorithm.
    pub algorithm: Algorithm,
    /// Parallel chains.
    pub chains: usize,
    /// Master seed.
    pub seed: u64,
}

/// The key of the `train` step: the data's key and the training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainKey {
    /// Always `train`.
    pub step: String,
    /// Version of the step's outputs (3: the summary is `rbm_core::LayerSummary`s).
    pub v: u32,
    /// The data it reads.
    pub sample: SampleKey,
    /// Hidden layer sizes.
    pub layers: Vec<usize>,
    /// Epochs per layer.
    pub epochs: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// L1 penalty.
    pub l1: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// AIS chains and steps.
    pub ais: [usize; 2],
    /// Master seed.
    pub seed: u64,
}

/// The key of the `analysis` step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisKey {
    /// Always `analysis`.
    pub step: String,
    /// Version of the step's outputs.
    pub v: u32,
    /// The model (and data) it reads.
    pub train: TrainKey,
    /// Configurations reconstructed.
    pub analysis_samples: usize,
    /// Configurations generated.
    pub generated_samples: usize,
    /// Gibbs sweeps before generating.
    pub gibbs_steps: usize,
    /// Receptive fields drawn per layer.
    pub fields_shown: usize,
}

/// The key of the `rg1d` step (it depends on the seed alone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rg1dKey {
    /// Always `rg1d`.
    pub step: String,
    /// Version of the step's outputs.
    pub v: u32,
    /// Master seed.
    pub seed: u64,
}

/// The key of the `is_rg` step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsRgKey {
    /// Always `is_rg`.
    pub step: String,
    /// Version of the step's outputs.
    pub v: u32,
    /// The model whose first layer it measures.
    pub train: TrainKey,
    /// Its sizes.
    pub is_rg: IsRgConfig,
    /// Master seed.
    pub seed: u64,
}

/// The keys of every step of a study with `cfg` and master seed `seed`.
pub struct StudyKeys {
    /// `sample`.
    pub sample: SampleKey,
    /// `train`.
    pub train: TrainKey,
    /// `analysis`.
    pub analysis: AnalysisKey,
    /// `rg1d`.
    pub rg1d: Rg1dKey,
    /// `is_rg`.
    pub is_rg: IsRgKey,
}

impl StudyKeys {
    /// The keys of the study `cfg` with master seed `seed`.
    pub fn new(cfg: &StudyConfig, seed: u64) -> Self {
        let sample = SampleKey {
            step: "sample".into(),
            v: 3,
            size: cfg.size,
            coupling: cfg.coupling,
            samples: cfg.samples,
            algorithm: cfg.algorithm,
            chains: cfg.chains,
            seed,
        };
        let train = TrainKey {
            step: "train".into(),
            v: 3,
            sample: sample.clone(),
            layers: cfg.layers.clone(),
            epochs: cfg.epochs,
            learning_rate: cfg.learning_rate,
            l1: cfg.l1,
            batch_size: cfg.batch_size,
            ais: [cfg.ais_chains, cfg.ais_steps],
            seed,
        };
        let analysis = AnalysisKey {
            step: "analysis".into(),
            v: 2,
            train: train.clone(),
            analysis_samples: cfg.analysis_samples,
            generated_samples: cfg.generated_samples,
            gibbs_steps: cfg.gibbs_steps,
            fields_shown: cfg.fields_shown,
        };
        let rg1d = Rg1dKey { step: "rg1d".into(), v: 4, seed };
        let is_rg =
            IsRgKey { step: "is_rg".into(), v: 1, train: train.clone(), is_rg: cfg.is_rg.clone(), seed };
        StudyKeys { sample, train, analysis, rg1d, is_rg }
    }
}

/// The steps of one run: where they are cached, whether reuse is allowed, and their timings.
pub struct Steps<'a> {
    dir: &'a Path,
    force: bool,
    /// Timings of the steps run so far, in order.
    pub timings: Vec<StepTiming>,
}

impl<'a> Steps<'a> {
    /// Steps cached under `dir/steps`; `force` recomputes every step.
    pub fn new(dir: &'a Path, force: bool) -> Self {
        Steps { dir, force, timings: Vec::new() }
    }

    fn hashes(&self, outputs: &[String]) -> Option<Vec<OutputHash>> {
        let hash = |o: &String| {
            crate::files::read_output_back(&self.dir.join(o)).map(|b| format!("{:016x}", fnv1a(&b)))
        };
        outputs.iter().map(|o| Some(OutputHash { name: o.clone(), fnv1a64: hash(o)? })).collect()
    }

    /// Run `work` unless a record with the same key exists and every output matches its hash.
    pub fn run<K, T>(
        &mut self,
        name: &str,
        key: &K,
        outputs: &[String],
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T>
    where
        K: Serialize + DeserializeOwned + PartialEq,
        T: Serialize + DeserializeOwned,
    {
        let record_path = self.dir.join("steps").join(format!("{name}.json"));
        let cached = crate::files::read_side_text(&record_path, "step record")
            .ok()
            .and_then(|s| serde_json::from_str::<StepRecord<K, T>>(&s).ok());
        if let Some(rec) = cached.filter(|r| !self.force && &r.key == key) {
            if self.hashes(outputs).is_some_and(|hashes| hashes == rec.outputs) {
                self.timings.push(StepTiming { name: name.into(), seconds: rec.seconds, reused: true });
                return Ok(rec.result);
            }
        }
        let _ = std::fs::remove_file(&record_path);
        let t = Instant::now();
        let result = work().with_context(|| format!("step `{name}`"))?;
        let seconds = t.elapsed().as_secs_f64();
        let outputs =
            self.hashes(outputs).with_context(|| format!("step `{name}` did not write its outputs"))?;
        let rec = StepRecord { key, outputs, result: &result, seconds };
        let out = PendingOutput::claim(&record_path, true)?;
        files::write_json(&out, &serde_json::to_value(&rec)?)?;
        out.commit()?;
        self.timings.push(StepTiming { name: name.into(), seconds, reused: false });
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv1a_matches_the_reference_values() {
        // Test vectors of the FNV-1a 64-bit specification (Fowler, Noll, Vo).
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
