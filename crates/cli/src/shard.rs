//! Shards of one sampling run: `kadanoff sample … --shard I/N` runs chain subset `I` of `N`, and
//! `kadanoff merge SHARD…` puts the shards back together into exactly what the single-machine run
//! writes (the `.npy` byte for byte; the sidecar with the same estimates, error bars and
//! autocorrelation times).
//!
//! Shard `I` of `N` owns chains `⌊I·c/N⌋ .. ⌊(I+1)·c/N⌋` of the run's `c` chains; chain `j` draws
//! from the same stream as in the single run, so a shard is exactly a piece of it. Automatic
//! thermalisation and thinning are chosen from the pilot runs of every chain, which no shard sees,
//! so sharded runs need numeric `--thermalize` and `--thin`.
//!
//! A shard of `OUT.npy` writes `OUT.shard-I-of-N.npy` (its spins), `OUT.shard-I-of-N.series.npy`
//! (the per-sweep `B/N` and `|m|` of its production sweeps, float64 of shape (2, sweeps), from
//! which the merge re-estimates `τ_int` as the single run does) and `OUT.shard-I-of-N.json`: the
//! run's parameters and their hash, the shard's place, and the length and FNV-1a hash of both
//! data files. The merge refuses shards of different runs, missing or duplicated shards, and
//! truncated or corrupted files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use kadanoff_analysis::campaign::{fnv1a64_hex, OutputRecord};
use lattice_physics::dataset::{self, DatasetConfig};
use lattice_physics::sampler::Algorithm;
use lattice_physics::IsingModel;
use ndarray::{Array2, ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;
use serde::{Deserialize, Serialize};

use crate::cmd_sample::SampleRequest;
use crate::files::{self, PendingOutput};
use crate::progress::Progress;

/// Which shard of a run to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// From 0.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The chains of this shard out of `chains`.
    pub(crate) fn chains(self, chains: usize) -> std::ops::Range<usize> {
        self.index * chains / self.count..(self.index + 1) * chains / self.count
    }
}

/// The shard asked for: `--shard I/N`, else `$SLURM_ARRAY_TASK_ID` (minus `$SLURM_ARRAY_TASK_MIN`)
/// of `$SLURM_ARRAY_TASK_COUNT` when both are set, else none. `N` may not exceed `chains`.
pub fn shard_of(arg: Option<&str>, chains: usize) -> Result<Option<Shard>> {
    let shard = match arg {
        Some(s) => {
            let parsed =
                s.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
            let Some((index, count)) = parsed else {
                bail!("--shard must be I/N with whole numbers, e.g. 0/4, got `{s}`");
            };
            Shard { index, count }
        }
        None => {
            let var = |name: &str| std::env::var(name).ok();
            let (Some(id), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) else {
                return Ok(None);
            };
            let num = |name: &str, v: &str| -> Result<usize> {
                v.trim().parse().map_err(|_| anyhow!("{name} must be a whole number, got `{v}`"))
            };
            let min = match var("SLURM_ARRAY_TASK_MIN") {
                Some(m) => num("SLURM_ARRAY_TASK_MIN", &m)?,
                None => 0,
            };
            let id = num("SLURM_ARRAY_TASK_ID", &id)?;
            let index = id
                .checked_sub(min)
                .ok_or_else(|| anyhow!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"))?;
            Shard { index, count: num("SLURM_ARRAY_TASK_COUNT", &count)? }
        }
    };
    if shard.count == 0 || shard.index >= shard.count {
        bail!("shard {}/{}: the index must be below the number of shards", shard.index, shard.count);
    }
    if shard.count > chains {
        bail!("{} shards need at least as many chains (--chains is {chains})", shard.count);
    }
    Ok(Some(shard))
}

/// The parameters that identify a run (hashed into `run_hash`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunId {
    pub(crate) model: String,
    pub(crate) size: usize,
    pub(crate) coupling: f64,
    pub(crate) field: f64,
    pub(crate) algorithm: String,
    pub(crate) seed: u64,
    pub(crate) samples: usize,
    pub(crate) chains: usize,
    pub(crate) thermalize: usize,
    pub(crate) thin: usize,
}

impl RunId {
    pub(crate) fn hash(&self) -> Result<String> {
        Ok(fnv1a64_hex(&serde_json::to_vec(self)?))
    }
}

/// The place of a shard in its run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShardPlace {
    pub(crate) index: usize,
    pub(crate) count: usize,
    pub(crate) chains: [usize; 2],
    pub(crate) samples: usize,
}

/// The JSON sidecar of a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShardSidecar {
    pub(crate) kind: String,
    pub(crate) tool_version: String,
    pub(crate) run: RunId,
    pub(crate) run_hash: String,
    /// `--thermalize` and `--thin` as given (repeated in the merged sidecar).
    pub(crate) requested: [String; 2],
    pub(crate) shard: ShardPlace,
    pub(crate) data: OutputRecord,
    pub(crate) series: OutputRecord,
    pub(crate) elapsed_seconds: f64,
}

pub(crate) const SHARD_KIND: &str = "kadanoff.spins.shard";

/// `OUT.npy` → `OUT.shard-I-of-N` + `suffix`.
pub(crate) fn shard_path(out: &Path, shard: Shard, suffix: &str) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!("{stem}.shard-{}-of-{}{suffix}", shard.index, shard.count))
}

/// Options of a sharded `sample`.
pub struct ShardRun<'a> {
    /// What was asked.
    pub request: SampleRequest<'a>,
    /// The model.
    pub model: IsingModel,
    /// The sampler.
    pub algorithm: Algorithm,
    /// The whole run's configuration.
    pub config: DatasetConfig,
    /// Which shard.
    pub shard: Shard,
    /// `--force`.
    pub force: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--json`.
    pub json: bool,
}

/// `kadanoff sample … --shard I/N`.
pub fn run_shard(job: ShardRun<'_>) -> Result<()> {
    let req = &job.request;
    let (Some(thermalize), Some(thin)) = (fixed(job.config.thermalize), fixed(job.config.thin)) else {
        bail!("a sharded run needs numeric --thermalize and --thin (automatic values depend on every chain's pilot run)");
    };
    let out = req.output;
    let (npy, series, json) = (
        shard_path(out, job.shard, ".npy"),
        shard_path(out, job.shard, ".series.npy"),
        shard_path(out, job.shard, ".json"),
    );
    let npy_out = PendingOutput::claim(&npy, job.force)?;
    let series_out = PendingOutput::claim(&series, job.force)?;
    let json_out = PendingOutput::claim(&json, job.force)?;

    let chains = job.shard.chains(job.config.chains);
    let progress = Progress::new(job.quiet);
    let started = Instant::now();
    progress.phase(&format!("sampling shard {}/{}", job.shard.index, job.shard.count), 0, "sweeps");
    let report = |p: dataset::Progress| {
        progress.phase(
            &format!("sampling shard {}/{}", job.shard.index, job.shard.count),
            p.sweeps_total,
            "sweeps",
        );
        progress.set(p.sweeps_done);
    };
    let block = dataset::generate_chains(job.model, job.algorithm, &job.config, chains.clone(), &report)?;
    progress.finish();
    let elapsed = started.elapsed().as_secs_f64();

    let samples = block.samples_per_chain.iter().sum::<usize>();
    let mut shape = vec![samples];
    shape.extend(job.model.lattice().shape());
    let data_bytes = npy_bytes_i8(&shape, block.spins)?;
    let n = block.series_energy.len();
    let mut both = block.series_energy;
    both.extend_from_slice(&block.series_abs_magnetization);
    let series_bytes = {
        let a = Array2::from_shape_vec((2, n), both).context("series shape")?;
        let mut v = Vec::new();
        a.write_npy(&mut v).map_err(|e| anyhow!("cannot write .npy series: {e}"))?;
        v
    };
    let run = RunId {
        model: req.model.name().into(),
        size: job.model.lattice().linear_size(),
        coupling: req.coupling,
        field: req.field,
        algorithm: job.algorithm.name().into(),
        seed: req.seed,
        samples: req.samples,
        chains: req.chains,
        thermalize,
        thin,
    };
    let name = |p: &Path| p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let sidecar = ShardSidecar {
        kind: SHARD_KIND.into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        run_hash: run.hash()?,
        run,
        requested: [req.thermalize.to_string(), req.thin.to_string()],
        shard: ShardPlace {
            index: job.shard.index,
            count: job.shard.count,
            chains: [chains.start, chains.end],
            samples,
        },
        data: OutputRecord::of(name(&npy), &data_bytes),
        series: OutputRecord::of(name(&series), &series_bytes),
        elapsed_seconds: elapsed,
    };
    use std::io::Write;
    npy_out.write_with(|w| Ok(w.write_all(&data_bytes)?))?;
    series_out.write_with(|w| Ok(w.write_all(&series_bytes)?))?;
    let value = serde_json::to_value(&sidecar)?;
    files::write_json(&json_out, &value)?;
    npy_out.commit()?;
    series_out.commit()?;
    json_out.commit()?;
    if job.json {
        crate::print_json(&value)
    } else {
        outln!(
            "{}: shard {}/{} of run {} (chains {}..{}, {samples} samples) in {elapsed:.2} s",
            npy.display(),
            job.shard.index,
            job.shard.count,
            sidecar.run_hash,
            chains.start,
            chains.end
        );
        Ok(())
    }
}

pub(crate) fn fixed(s: dataset::Sweeps) -> Option<usize> {
    match s {
        dataset::Sweeps::Fixed(n) => Some(n),
        dataset::Sweeps::Auto => None,
    }
}

pub(crate) fn npy_bytes_i8(shape: &[usize], spins: Vec<i8>) -> Result<Vec<u8>> {
    let array =
        ArrayD::from_shape_vec(IxDyn(shape), spins).context("data shape does not match its length")?;
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).map_err(|e| anyhow!("cannot write .npy data: {e}"))?;
    Ok(bytes)
}
