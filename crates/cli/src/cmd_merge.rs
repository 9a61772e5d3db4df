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
use clap::Args;
use kadanoff_analysis::campaign::{fnv1a64_hex, OutputRecord};
use lattice_physics::dataset::{self, ChainBlock, DatasetConfig};
use lattice_physics::sampler::Algorithm;
use lattice_physics::IsingModel;
use ndarray::{Array2, ArrayD, IxDyn};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use serde::{Deserialize, Serialize};

use crate::cmd_sample::SampleRequest;
use crate::files::{self, PendingOutput};
use crate::progress::Progress;
use crate::ModelKind;

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
    fn chains(self, chains: usize) -> std::ops::Range<usize> {
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
struct RunId {
    model: String,
    size: usize,
    coupling: f64,
    field: f64,
    algorithm: String,
    seed: u64,
    samples: usize,
    chains: usize,
    thermalize: usize,
    thin: usize,
}

impl RunId {
    fn hash(&self) -> Result<String> {
        Ok(fnv1a64_hex(&serde_json::to_vec(self)?))
    }
}

/// The place of a shard in its run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardPlace {
    index: usize,
    count: usize,
    chains: [usize; 2],
    samples: usize,
}

/// The JSON sidecar of a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardSidecar {
    kind: String,
    tool_version: String,
    run: RunId,
    run_hash: String,
    /// `--thermalize` and `--thin` as given (repeated in the merged sidecar).
    requested: [String; 2],
    shard: ShardPlace,
    data: OutputRecord,
    series: OutputRecord,
    elapsed_seconds: f64,
}

const SHARD_KIND: &str = "kadanoff.spins.shard";

/// `OUT.npy` → `OUT.shard-I-of-N` + `suffix`.
fn shard_path(out: &Path, shard: Shard, suffix: &str) -> PathBuf {
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

fn fixed(s: dataset::Sweeps) -> Option<usize> {
    match s {
        dataset::Sweeps::Fixed(n) => Some(n),
        dataset::Sweeps::Auto => None,
    }
}

fn npy_bytes_i8(shape: &[usize], spins: Vec<i8>) -> Result<Vec<u8>> {
    let array =
        ArrayD::from_shape_vec(IxDyn(shape), spins).context("data shape does not match its length")?;
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).map_err(|e| anyhow!("cannot write .npy data: {e}"))?;
    Ok(bytes)
}

/// Arguments of `kadanoff merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Shards of one run: their `.json` sidecars or `.npy` files (`OUT.shard-I-of-N.*`).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Output file (`.npy`); metadata goes beside it with the extension `.json`.
    #[arg(long)]
    out: PathBuf,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
    /// Print the metadata as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// A shard sidecar and its directory.
struct Found {
    path: PathBuf,
    dir: PathBuf,
    sidecar: ShardSidecar,
}

fn read_sidecar(path: &Path) -> Result<Found> {
    let json = if path.extension().and_then(|e| e.to_str()) == Some("json") {
        path.to_path_buf()
    } else {
        files::sidecar_path(path)
    };
    let text = files::read_limited(&json, "shard sidecar", files::MAX_SIDE_FILE_BYTES)?;
    let sidecar: ShardSidecar = serde_json::from_slice(&text).map_err(|e| {
        anyhow!("{} is not a shard sidecar of `kadanoff sample --shard`: {e}", json.display())
    })?;
    if sidecar.kind != SHARD_KIND {
        bail!("{} is not a shard sidecar (kind {:?})", json.display(), sidecar.kind);
    }
    if sidecar.run.hash()? != sidecar.run_hash {
        bail!(
            "{}: the run parameters do not match their recorded hash (edited or corrupted sidecar)",
            json.display()
        );
    }
    let dir = match json.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Found { path: json, dir, sidecar })
}

/// Read a shard's data file and check it against its record.
fn read_verified(f: &Found, rec: &OutputRecord) -> Result<Vec<u8>> {
    let path = f.dir.join(&rec.file);
    let bytes = files::read_limited(&path, "shard data", crate::budget::bytes()?)
        .with_context(|| format!("shard {}", f.sidecar.shard.index))?;
    let got = OutputRecord::of(rec.file.clone(), &bytes);
    if got.bytes < rec.bytes {
        bail!("{} is truncated ({} of {} bytes)", path.display(), got.bytes, rec.bytes);
    }
    if got != *rec {
        bail!(
            "{} is corrupted (FNV-1a {} and {} bytes; the sidecar records {} and {} bytes)",
            path.display(),
            got.fnv1a64,
            got.bytes,
            rec.fnv1a64,
            rec.bytes
        );
    }
    Ok(bytes)
}

/// `kadanoff merge`.
pub fn run(args: MergeArgs) -> Result<()> {
    if args.out.extension().and_then(|e| e.to_str()) != Some("npy") {
        bail!("--out must name a .npy file, got {}", args.out.display());
    }
    let mut found = Vec::with_capacity(args.shards.len());
    for p in &args.shards {
        found.push(read_sidecar(p)?);
    }
    let first = &found[0];
    let (run, count) = (first.sidecar.run.clone(), first.sidecar.shard.count);
    for f in &found[1..] {
        if f.sidecar.run_hash != first.sidecar.run_hash {
            bail!(
                "shards of different runs: {} is run {} and {} is run {}",
                first.path.display(),
                first.sidecar.run_hash,
                f.path.display(),
                f.sidecar.run_hash
            );
        }
        if f.sidecar.shard.count != count {
            bail!(
                "shards of different splits: {} is one of {count}, {} one of {}",
                first.path.display(),
                f.path.display(),
                f.sidecar.shard.count
            );
        }
    }
    let mut slots: Vec<Option<&Found>> = vec![None; count];
    for f in &found {
        let i = f.sidecar.shard.index;
        match slots.get(i) {
            None => bail!("{}: shard index {i} is not below the shard count {count}", f.path.display()),
            Some(Some(other)) => {
                bail!("shard {i} is duplicated: {} and {}", other.path.display(), f.path.display())
            }
            Some(None) => slots[i] = Some(f),
        }
    }
    let missing: Vec<String> = (0..count).filter(|&i| slots[i].is_none()).map(|i| i.to_string()).collect();
    if !missing.is_empty() {
        bail!("shard(s) {} of {count} missing: merge needs every shard of the run", missing.join(", "));
    }

    let kind = match run.model.as_str() {
        "ising2d" => ModelKind::Ising2d,
        "ising1d" => ModelKind::Ising1d,
        other => bail!("unknown model {other:?} in the shard sidecars"),
    };
    let lattice = kind.lattice(run.size)?;
    let model = IsingModel::new(lattice, run.coupling, run.field)?;
    let algorithm: Algorithm = run.algorithm.parse()?;
    let config = DatasetConfig {
        samples: run.samples,
        chains: run.chains,
        thermalize: dataset::Sweeps::Fixed(run.thermalize),
        thin: dataset::Sweeps::Fixed(run.thin),
        seed: run.seed,
    };
    let mut blocks = Vec::with_capacity(count);
    let mut elapsed = 0.0;
    for (i, f) in slots.iter().enumerate() {
        let f = f.ok_or_else(|| anyhow!("shard {i} missing"))?;
        let s = &f.sidecar;
        let chains = Shard { index: i, count }.chains(run.chains);
        if s.shard.chains != [chains.start, chains.end] {
            bail!(
                "{}: chains {:?} are not those of shard {i}/{count} ({chains:?})",
                f.path.display(),
                s.shard.chains
            );
        }
        let data = read_verified(f, &s.data)?;
        let series = read_verified(f, &s.series)?;
        let spins: ArrayD<i8> = ArrayD::read_npy(&data[..]).map_err(|e| anyhow!("{}: {e}", s.data.file))?;
        let series: Array2<f64> =
            Array2::read_npy(&series[..]).map_err(|e| anyhow!("{}: {e}", s.series.file))?;
        let samples_per_chain: Vec<usize> = chains.clone().map(|c| config.samples_of_chain(c)).collect();
        blocks.push(ChainBlock {
            chains,
            spins: spins.iter().copied().collect(),
            samples_per_chain,
            series_energy: series.row(0).to_vec(),
            series_abs_magnetization: series.row(1).to_vec(),
        });
        elapsed += s.elapsed_seconds;
    }
    let data = dataset::assemble(model, algorithm, &config, blocks).context("merging shards")?;

    let npy_out = PendingOutput::claim(&args.out, args.force)?;
    let json_out = PendingOutput::claim(&files::sidecar_path(&args.out), args.force)?;
    let request = SampleRequest {
        model: kind,
        coupling: run.coupling,
        field: run.field,
        seed: run.seed,
        samples: run.samples,
        chains: run.chains,
        thermalize: &first.sidecar.requested[0],
        thin: &first.sidecar.requested[1],
        output: &args.out,
    };
    let meta = crate::cmd_sample::metadata(&request, lattice, algorithm, &data, elapsed);
    let mut shape = vec![run.samples];
    shape.extend(lattice.shape());
    files::write_spins(&npy_out, &shape, data.spins)?;
    files::write_sidecar(&json_out, &meta)?;
    npy_out.commit()?;
    json_out.commit()?;
    if args.json {
        crate::print_json(&serde_json::to_value(&meta)?)
    } else {
        outln!("merged {count} shards of run {}", first.sidecar.run_hash);
        crate::cmd_sample::print_summary(&meta);
        Ok(())
    }
}
