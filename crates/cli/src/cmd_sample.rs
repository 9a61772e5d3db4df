//! `kadanoff sample`: equilibrium Ising configurations as an int8 `.npy` plus a JSON sidecar.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use lattice_physics::dataset::{self, DatasetConfig, Sweeps};
use lattice_physics::sampler::{Algorithm, AnySampler};
use lattice_physics::{exact, IsingModel, Lattice};
use serde_json::{json, Value};

use crate::files::{self, PendingOutput};
use crate::progress::Progress;
use crate::ModelKind;

/// Arguments of `kadanoff sample`. The defaults are the paper's data set (40×40, K = 0.408,
/// 20,000 configurations) sampled with the Wolff cluster algorithm and measured thinning.
#[derive(Args)]
pub struct SampleArgs {
    /// Model family.
    #[arg(long, value_enum, default_value = "ising2d")]
    model: ModelKind,
    /// Linear size L (the 2D lattice is L×L, the ring has L sites).
    #[arg(long, default_value_t = 40)]
    size: usize,
    /// Dimensionless coupling K = βJ.
    #[arg(long, default_value_t = 0.408, allow_negative_numbers = true)]
    coupling: f64,
    /// Dimensionless field h = βH (not allowed with cluster algorithms).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    field: f64,
    /// Number of configurations to write.
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
    /// Update algorithm: metropolis, heat-bath, wolff, swendsen-wang.
    #[arg(long, default_value = "wolff")]
    algorithm: String,
    /// Master seed; chain i uses its child stream ("chain", i) (see `lattice_physics::rng`).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Thermalisation sweeps before the first kept sample: `auto` (from the measured τ_int) or a number.
    #[arg(long, default_value = "auto")]
    thermalize: String,
    /// Sweeps between kept samples: `auto` (at least 2 τ_int of the slower of energy and |m|) or a number.
    #[arg(long, default_value = "auto")]
    thin: String,
    /// Independent chains, run in parallel. The output depends on this number and the seed,
    /// never on the number of threads.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Output file (`.npy`); metadata goes beside it with the extension `.json`.
    #[arg(long, default_value = "out/ising2d.npy")]
    out: PathBuf,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
    /// Print the metadata as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Run only chain subset I of N (`I/N`, from 0) into OUT.shard-I-of-N.*, for `kadanoff merge`;
    /// read from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT when absent and both are set.
    /// Needs numeric --thermalize and --thin.
    #[arg(long)]
    shard: Option<String>,
}

fn parse_sweeps(name: &str, s: &str) -> Result<Sweeps> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Sweeps::Auto);
    }
    match s.parse::<usize>() {
        Ok(n) => Ok(Sweeps::Fixed(n)),
        Err(_) => bail!("--{name} must be `auto` or a whole number of sweeps, got `{s}`"),
    }
}

pub fn run(args: SampleArgs) -> Result<()> {
    let lattice = args.model.lattice(args.size)?;
    let model = IsingModel::new(lattice, args.coupling, args.field)?;
    let algorithm: Algorithm = args.algorithm.parse()?;
    // Build one sampler now so that invalid combinations (a field with a cluster algorithm,
    // odd sizes where unsupported) fail before any output is claimed.
    AnySampler::new(algorithm, model)?;
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    if args.chains == 0 {
        bail!("--chains must be at least 1");
    }
    if args.chains > args.samples {
        bail!("--chains ({}) must not exceed --samples ({})", args.chains, args.samples);
    }
    crate::budget::check_array(
        &format!("{} samples of {} spins", args.samples, lattice.num_sites()),
        &[args.samples, lattice.num_sites()],
        1,
    )?;
    if let (Algorithm::Wolff, Sweeps::Fixed(t)) = (algorithm, parse_sweeps("thermalize", &args.thermalize)?) {
        let min = lattice_physics::sampler::Wolff::CALIBRATION_SWEEPS;
        if t < min {
            bail!("--thermalize must be at least {min} sweeps with wolff: its sweep length is calibrated during the first {min} sweeps");
        }
    }
    let config = DatasetConfig {
        samples: args.samples,
        chains: args.chains,
        thermalize: parse_sweeps("thermalize", &args.thermalize)?,
        thin: parse_sweeps("thin", &args.thin)?,
        seed: args.seed,
    };
    if args.out.extension().and_then(|e| e.to_str()) != Some("npy") {
        bail!("--out must name a .npy file, got {}", args.out.display());
    }
    if let Some(dir) = args.out.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() && dir == std::path::Path::new("out") {
            // The default output directory is created on demand; others must exist.
            std::fs::create_dir_all(dir)?;
        }
    }
    if let Some(shard) = crate::cmd_merge::shard_of(args.shard.as_deref(), args.chains)? {
        return crate::cmd_merge::run_shard(crate::cmd_merge::ShardRun {
            request: SampleRequest {
                model: args.model,
                size: args.size,
                coupling: args.coupling,
                field: args.field,
                seed: args.seed,
                samples: args.samples,
                chains: args.chains,
                thermalize: &args.thermalize,
                thin: &args.thin,
                output: &args.out,
            },
            model,
            algorithm,
            config,
            shard,
            force: args.force,
            quiet: args.quiet,
            json: args.json,
        });
    }
    let npy_out = PendingOutput::claim(&args.out, args.force)?;
    let json_out = PendingOutput::claim(&files::sidecar_path(&args.out), args.force)?;

    let progress = Progress::new(args.quiet);
    let started = Instant::now();
    let data = generate_with_progress(model, algorithm, &config, &progress, "sampling")?;
    let elapsed = started.elapsed().as_secs_f64();

    let request = SampleRequest {
        model: args.model,
        size: args.size,
        coupling: args.coupling,
        field: args.field,
        seed: args.seed,
        samples: args.samples,
        chains: args.chains,
        thermalize: &args.thermalize,
        thin: &args.thin,
        output: &args.out,
    };
    let meta = metadata(&request, lattice, algorithm, &data, elapsed);
    files::write_spins(&npy_out, &shape(lattice, args.samples), data.spins)?;
    files::write_json(&json_out, &meta)?;
    npy_out.commit()?;
    json_out.commit()?;

    if args.json {
        crate::print_json(&meta)
    } else {
        print_summary(&meta);
        Ok(())
    }
}

fn shape(lattice: Lattice, samples: usize) -> Vec<usize> {
    let mut s = vec![samples];
    s.extend(lattice.shape());
    s
}

fn exact_reference(model: ModelKind, lattice: Lattice, coupling: f64, field: f64) -> Value {
    match model {
        ModelKind::Ising2d if field == 0.0 => match exact::kaufman(lattice.linear_size(), coupling) {
            Ok(t) => json!({
                "method": "kaufman",
                "energy_per_site": t.energy_per_site,
                "specific_heat_per_site": t.specific_heat_per_site,
            }),
            Err(_) => Value::Null,
        },
        ModelKind::Ising1d => match exact::ring(lattice.linear_size(), coupling, field) {
            Ok(r) => json!({
                "method": "transfer-matrix",
                "energy_per_site": r.energy_per_site,
                "specific_heat_per_site": r.specific_heat_per_site,
                "magnetization": r.magnetization,
            }),
            Err(_) => Value::Null,
        },
        _ => Value::Null,
    }
}

/// What was asked of a sampling run, as recorded in its metadata.
pub struct SampleRequest<'a> {
    /// Model family.
    pub model: ModelKind,
    /// Linear size.
    pub size: usize,
    /// Coupling K.
    pub coupling: f64,
    /// Field h.
    pub field: f64,
    /// Master seed.
    pub seed: u64,
    /// Configurations.
    pub samples: usize,
    /// Chains.
    pub chains: usize,
    /// `--thermalize` as given.
    pub thermalize: &'a str,
    /// `--thin` as given.
    pub thin: &'a str,
    /// Output file.
    pub output: &'a Path,
}

/// Generate a data set, reporting its phases (`label` names the step) to `progress`.
pub fn generate_with_progress(
    model: IsingModel,
    algorithm: Algorithm,
    config: &DatasetConfig,
    progress: &Progress,
    label: &str,
) -> Result<dataset::Dataset> {
    let pilot = format!("{label}: pilot (tau_int)");
    let report = |p: dataset::Progress| {
        let phase = match p.phase {
            dataset::Phase::Pilot => pilot.as_str(),
            dataset::Phase::Production => label,
        };
        progress.phase(phase, p.sweeps_total, "sweeps");
        progress.set(p.sweeps_done);
    };
    let data = dataset::generate(model, algorithm, config, &report)?;
    progress.finish();
    Ok(data)
}

/// The observables of a data set as `{name: {mean, stderr}}` with the keys of the JSON contract.
pub fn observables_json(o: &lattice_physics::observables::Observables) -> Value {
    let est = |e: &lattice_physics::stats::Estimate| json!({"mean": e.mean, "stderr": e.stderr});
    json!({
        "energy_per_site": est(&o.energy_per_site),
        "abs_magnetization": est(&o.abs_magnetization),
        "magnetization_sq": est(&o.magnetization_sq),
        "specific_heat_per_site": est(&o.specific_heat_per_site),
        "susceptibility_per_site": est(&o.susceptibility_per_site),
        "binder_cumulant": est(&o.binder_cumulant),
    })
}

/// The JSON sidecar of a sampled data set: everything needed to reproduce and judge it.
pub fn metadata(
    req: &SampleRequest<'_>,
    lattice: Lattice,
    algorithm: Algorithm,
    data: &dataset::Dataset,
    elapsed: f64,
) -> Value {
    json!({
        "kind": "kadanoff.spins",
        "format": "int8 .npy of ±1 values, shape (samples, L, L) for ising2d or (samples, L) for ising1d, row-major sites",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "model": req.model.name(),
        "size": req.size,
        "shape": shape(lattice, req.samples),
        "coupling": req.coupling,
        "field": req.field,
        "algorithm": algorithm.name(),
        "seed": req.seed,
        "samples": req.samples,
        "chains": req.chains,
        "thermalize": {"requested": req.thermalize, "sweeps": data.thermalize},
        "thin": {"requested": req.thin, "sweeps": data.thin},
        "autocorrelation": {
            "unit": "sweeps",
            "energy": data.tau_energy.tau,
            "energy_stderr": data.tau_energy.stderr,
            "abs_magnetization": data.tau_abs_magnetization.tau,
            "abs_magnetization_stderr": data.tau_abs_magnetization.stderr,
        },
        "observables": observables_json(&data.observables),
        "susceptibility_convention": "chi = N (<m^2> - <|m|>^2)",
        "exact": exact_reference(req.model, lattice, req.coupling, req.field),
        "elapsed_seconds": elapsed,
        "output": req.output.display().to_string(),
    })
}

pub(crate) fn print_summary(meta: &Value) {
    outln!(
        "{} {} L={} K={} h={} samples={} algorithm={}",
        meta["output"].as_str().unwrap_or(""),
        meta["model"].as_str().unwrap_or(""),
        meta["size"],
        meta["coupling"],
        meta["field"],
        meta["samples"],
        meta["algorithm"].as_str().unwrap_or(""),
    );
    outln!(
        "  thermalize {} sweeps, thin {} sweeps, tau_int(E) = {:.2}, tau_int(|m|) = {:.2} sweeps",
        meta["thermalize"]["sweeps"],
        meta["thin"]["sweeps"],
        meta["autocorrelation"]["energy"].as_f64().unwrap_or(f64::NAN),
        meta["autocorrelation"]["abs_magnetization"].as_f64().unwrap_or(f64::NAN),
    );
    crate::cmd_stats::print_observables(&meta["observables"], &meta["exact"]);
    if let Some(t) = meta["elapsed_seconds"].as_f64() {
        outln!("  {:.2} s", t);
    }
}
