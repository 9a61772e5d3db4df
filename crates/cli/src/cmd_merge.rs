//! `kadanoff merge SHARD…`: put the shards of one sampling run (written by `sample --shard`,
//! `shard.rs`) back together into exactly what the single-machine run writes, after checking
//! every shard: same run, none missing or duplicated, no truncated or corrupted file.
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use kadanoff_analysis::campaign::OutputRecord;
use lattice_physics::dataset::{self, ChainBlock, DatasetConfig};
use lattice_physics::sampler::Algorithm;
use lattice_physics::IsingModel;
use ndarray::{Array2, ArrayD};
use ndarray_npy::ReadNpyExt;

use crate::cmd_sample::SampleRequest;
use crate::files::{self, PendingOutput};
use crate::shard::*;
use crate::ModelKind;

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
