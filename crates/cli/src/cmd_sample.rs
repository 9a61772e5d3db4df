//! `kadanoff sample`: equilibrium Ising configurations as an int8 `.npy` plus a JSON sidecar.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use lattice_physics::dataset::{self, DatasetConfig, Sweeps};
use lattice_physics::io::sidecar::{
    Autocorrelation, ExactReference, ObservableEstimates, SampleRecord, SweepsRecord,
};
use lattice_physics::io::{Sidecar, Source};
use lattice_physics::sampler::{Algorithm, AnySampler};
use lattice_physics::{exact, IsingModel, Lattice};

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

/// Upper bound of the memory one sampler needs per site (spins, neighbour tables, stacks).
const SAMPLER_BYTES_PER_SITE: u128 = 64;

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
    // Every chain owns its spins and its sampler's tables (neighbour lists and cluster stacks of
    // Wolff and Swendsen-Wang: at most 64 bytes per site), checked before any is built.
    crate::budget::check(
        &format!(
            "{} chains of the {} sampler on {} sites",
            args.chains,
            algorithm.name(),
            lattice.num_sites()
        ),
        crate::budget::product(&[args.chains as u128, lattice.num_sites() as u128, SAMPLER_BYTES_PER_SITE])
            .and_then(|b| b.checked_add(args.samples as u128 * lattice.num_sites() as u128)),
    )?;
    // Build one sampler now so that invalid combinations (a field with a cluster algorithm,
    // odd sizes where unsupported) fail before any output is claimed.
    AnySampler::new(algorithm, model)?;
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
    // Fixed sweep counts that allocate nothing can still never finish: bounded like any work.
    let fixed = |s: Sweeps| match s {
        Sweeps::Fixed(n) => n as u128,
        Sweeps::Auto => 1,
    };
    let per_chain = (args.samples as u128).div_ceil(args.chains.max(1) as u128);
    crate::budget::check_work(
        &format!("--thermalize {} and --thin {} for {} samples", args.thermalize, args.thin, args.samples),
        per_chain
            .checked_mul(fixed(config.thin))
            .and_then(|s| s.checked_add(fixed(config.thermalize)))
            .and_then(|s| crate::budget::product(&[s, args.chains as u128, lattice.num_sites() as u128])),
    )?;
    if let Some(dir) = args.out.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() && dir == std::path::Path::new("out") {
            // The default output directory is created on demand; others must exist.
            std::fs::create_dir_all(dir)?;
        }
    }
    if let Some(shard) = crate::shard::shard_of(args.shard.as_deref(), args.chains)? {
        return crate::shard::run_shard(crate::shard::ShardRun {
            request: SampleRequest {
                model: args.model,
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
    if let Some(e) = &data.statistics_unavailable {
        eprintln!("kadanoff: warning: error bars unavailable ({e}); the configurations are written");
    }
    let elapsed = started.elapsed().as_secs_f64();

    let request = SampleRequest {
        model: args.model,
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
    files::write_sidecar(&json_out, &meta)?;
    npy_out.commit()?;
    json_out.commit()?;

    if args.json {
        crate::print_json(&serde_json::to_value(&meta)?)
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

fn exact_reference(model: ModelKind, lattice: Lattice, coupling: f64, field: f64) -> Option<ExactReference> {
    match model {
        ModelKind::Ising2d if field == 0.0 => {
            exact::kaufman(lattice.linear_size(), coupling).ok().map(|t| ExactReference {
                method: "kaufman".into(),
                energy_per_site: t.energy_per_site,
                specific_heat_per_site: t.specific_heat_per_site,
                magnetization: None,
            })
        }
        ModelKind::Ising1d => {
            exact::ring(lattice.linear_size(), coupling, field).ok().map(|r| ExactReference {
                method: "transfer-matrix".into(),
                energy_per_site: r.energy_per_site,
                specific_heat_per_site: r.specific_heat_per_site,
                magnetization: Some(r.magnetization),
            })
        }
        _ => None,
    }
}

/// What was asked of a sampling run, as recorded in its metadata.
pub struct SampleRequest<'a> {
    /// Model family.
    pub model: ModelKind,
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

/// The sidecar of a sampled data set: everything needed to reproduce and judge it.
pub fn metadata(
    req: &SampleRequest<'_>,
    lattice: Lattice,
    algorithm: Algorithm,
    data: &dataset::Dataset,
    elapsed: f64,
) -> Sidecar {
    let record = SampleRecord {
        algorithm: algorithm.name().to_string(),
        chains: req.chains,
        thermalize: SweepsRecord { requested: req.thermalize.to_string(), sweeps: data.thermalize },
        thin: SweepsRecord { requested: req.thin.to_string(), sweeps: data.thin },
        autocorrelation: data
            .statistics
            .as_ref()
            .map(|st| Autocorrelation::new(st.tau_energy, st.tau_abs_magnetization)),
        observables: data.statistics.as_ref().map(|st| ObservableEstimates::from(&st.observables)),
        error_bars_unavailable: data.statistics_unavailable.as_ref().map(|e| e.to_string()),
        susceptibility_convention: "chi = N (<m^2> - <|m|>^2)".into(),
        exact: exact_reference(req.model, lattice, req.coupling, req.field),
    };
    let mut s = Sidecar::new(lattice, req.samples, req.seed, Source::Sample(record));
    s.tool_version = env!("CARGO_PKG_VERSION").into();
    s.coupling = Some(req.coupling);
    s.field = Some(req.field);
    s.elapsed_seconds = Some(elapsed);
    s.output = req.output.display().to_string();
    s
}

pub(crate) fn print_summary(meta: &Sidecar) {
    let Source::Sample(rec) = &meta.source else { return };
    outln!(
        "{} {} L={} K={} h={} samples={} algorithm={}",
        meta.output,
        meta.model,
        meta.size,
        meta.coupling.map_or("unavailable".to_string(), |k| k.to_string()),
        meta.field.map_or("unavailable".to_string(), |h| h.to_string()),
        meta.samples,
        rec.algorithm,
    );
    let tau = |t: Option<f64>| t.map_or_else(|| "unavailable".to_string(), |t| format!("{t:.2}"));
    match &rec.autocorrelation {
        Some(a) => outln!(
            "  thermalize {} sweeps, thin {} sweeps, tau_int(E) = {}, tau_int(|m|) = {} sweeps",
            rec.thermalize.sweeps,
            rec.thin.sweeps,
            tau(a.energy),
            tau(a.abs_magnetization),
        ),
        None => outln!("  thermalize {} sweeps, thin {} sweeps", rec.thermalize.sweeps, rec.thin.sweeps),
    }
    match &rec.observables {
        Some(o) => crate::cmd_stats::print_observables(
            &crate::cmd_stats::rows(o, rec.exact.as_ref()),
            "not measured",
        ),
        None => outln!(
            "  error bars unavailable: {}",
            rec.error_bars_unavailable.as_deref().unwrap_or("the run is too short")
        ),
    }
    if let Some(t) = meta.elapsed_seconds {
        outln!("  {t:.2} s");
    }
}
