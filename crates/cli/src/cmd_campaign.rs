//! `kadanoff campaign`: a grid of sampling runs declared in a TOML file, planned as a Slurm job
//! array, run one task at a time (`run-task`, what the array script calls) or all on this machine
//! (`run --jobs N`), and merged after every task record is verified.
//!
//! Layout of the output directory (the campaign file's `output`, relative to the file):
//!
//! ```text
//! tasks.json               the task table (one row per task, stable order, derived seeds)
//! campaign.sbatch          the array script (`sbatch campaign.sbatch`)
//! logs/%A_%a.out           Slurm logs
//! tasks/task-NNNN/         spins.npy, spins.json, stats.json, [mcrg.json], record.json (last)
//! summary.json, summary.txt, figures/OBSERVABLE.svg     written by `merge`
//! ```
//!
//! A task's outputs are deterministic (no times, no absolute paths), so the bytes are the same
//! whether a task ran under Slurm or locally, with any `--jobs`. Its `record.json` (written last,
//! atomically) lists every output with its length and FNV-1a hash; a task counts as finished only
//! when its record verifies.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use kadanoff_analysis::campaign::{
    self, Analysis, Campaign, CampaignModel, CampaignSpec, FoundRecord, OutputRecord, Task, TaskMcrg,
    TaskRecord, TaskStats,
};
use lattice_physics::{observables, Configurations, IsingModel};
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;
use rg_transforms::mcrg::{mcrg, McrgConfig};

use crate::files::PendingOutput;
use crate::progress::Progress;
use crate::ModelKind;

/// `kadanoff campaign …`.
#[derive(Subcommand)]
pub enum CampaignCommand {
    /// Write the task table (`tasks.json`) and the sbatch array script (`campaign.sbatch`).
    Plan(FileArgs),
    /// Run one task (the array script calls this; `--task` defaults to $SLURM_ARRAY_TASK_ID).
    RunTask(RunTaskArgs),
    /// Run every unfinished task on this machine with a bounded pool of workers.
    Run(RunArgs),
    /// Verify every task record and write summary.json, summary.txt and figures/*.svg.
    Merge(FileArgs),
}

/// A campaign file.
#[derive(Args)]
pub struct FileArgs {
    /// The campaign file (TOML).
    file: PathBuf,
}

/// Arguments of `campaign run-task`.
#[derive(Args)]
pub struct RunTaskArgs {
    /// The campaign file (TOML).
    file: PathBuf,
    /// Task index (from 0); defaults to $SLURM_ARRAY_TASK_ID.
    #[arg(long)]
    task: Option<usize>,
}

/// Arguments of `campaign run`.
#[derive(Args)]
pub struct RunArgs {
    /// The campaign file (TOML).
    file: PathBuf,
    /// Tasks run at the same time (each also uses the rayon pool for its chains).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

pub fn run(cmd: CampaignCommand) -> Result<()> {
    match cmd {
        CampaignCommand::Plan(a) => plan(&a.file),
        CampaignCommand::RunTask(a) => {
            let loaded = Loaded::read(&a.file)?;
            let index = match a.task {
                Some(i) => i,
                None => match std::env::var("SLURM_ARRAY_TASK_ID") {
                    Ok(s) => s
                        .trim()
                        .parse()
                        .map_err(|_| anyhow!("SLURM_ARRAY_TASK_ID must be a task index, got `{s}`"))?,
                    Err(_) => bail!("give --task I (or run inside a Slurm array job)"),
                },
            };
            let Some(task) = loaded.campaign.tasks().get(index) else {
                bail!(
                    "task {index} does not exist: the campaign has {} tasks (0 to {})",
                    loaded.campaign.tasks().len(),
                    loaded.campaign.tasks().len() - 1
                );
            };
            let elapsed = run_task(&loaded, task)?;
            outln!(
                "task {index} done (L = {}, K = {}, seed {}) in {elapsed:.2} s",
                task.size,
                task.coupling,
                task.seed
            );
            Ok(())
        }
        CampaignCommand::Run(a) => run_all(&a.file, a.jobs),
        CampaignCommand::Merge(a) => merge(&a.file),
    }
}

/// A parsed, validated campaign and where its outputs go.
struct Loaded {
    campaign: Campaign,
    file: PathBuf,
    dir: PathBuf,
}

impl Loaded {
    fn read(file: &Path) -> Result<Self> {
        let text = crate::files::read_side_text(file, "campaign file")?;
        let spec: CampaignSpec = toml::from_str(&text).map_err(|e| {
            // One line: the message and where (toml's own rendering spans several lines).
            match e.span() {
                Some(r) => {
                    let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
                    let what = text.lines().nth(line - 1).unwrap_or("").trim();
                    anyhow!("{}:{line}: {} (`{what}`)", file.display(), e.message())
                }
                None => anyhow!("{}: {}", file.display(), e.message()),
            }
        })?;
        let campaign = Campaign::new(spec).with_context(|| format!("{}", file.display()))?;
        let base = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = base.join(&campaign.spec().output);
        Ok(Loaded { campaign, file: file.to_path_buf(), dir })
    }

    fn task_dir(&self, task: &Task) -> PathBuf {
        self.dir.join("tasks").join(task.dir_name())
    }
}

/// Write `bytes` to `dest` atomically (replacing it).
fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let out = PendingOutput::claim(dest, true)?;
    out.write_with(|w| Ok(w.write_all(bytes)?))?;
    out.commit()
}

fn pretty<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(value)?;
    v.push(b'\n');
    Ok(v)
}

fn plan(file: &Path) -> Result<()> {
    let loaded = Loaded::read(file)?;
    for d in [loaded.dir.clone(), loaded.dir.join("logs"), loaded.dir.join("tasks")] {
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let abs = |p: &Path| std::fs::canonicalize(p).with_context(|| format!("cannot resolve {}", p.display()));
    let binary = std::env::current_exe().context("cannot locate the kadanoff executable")?;
    let script = loaded.campaign.sbatch_script(
        &binary.display().to_string(),
        &abs(&loaded.file)?.display().to_string(),
        &abs(&loaded.dir)?.display().to_string(),
    )?;
    write_atomic(&loaded.dir.join("tasks.json"), &pretty(&loaded.campaign.task_table())?)?;
    write_atomic(&loaded.dir.join("campaign.sbatch"), script.as_bytes())?;
    let n = loaded.campaign.tasks().len();
    outln!("campaign {}: {n} tasks (hash {})", loaded.campaign.spec().name, loaded.campaign.hash());
    outln!("  task table  {}", loaded.dir.join("tasks.json").display());
    outln!("  submit with sbatch {}", loaded.dir.join("campaign.sbatch").display());
    Ok(())
}

/// The `.npy` bytes of a data set, exactly as `kadanoff sample` writes them.
fn npy_bytes(shape: &[usize], spins: Vec<i8>) -> Result<Vec<u8>> {
    let array =
        ArrayD::from_shape_vec(IxDyn(shape), spins).context("data shape does not match its length")?;
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).map_err(|e| anyhow!("cannot write .npy data: {e}"))?;
    Ok(bytes)
}

fn est(e: &lattice_physics::stats::Estimate) -> campaign::Measured {
    campaign::Measured { mean: e.mean, stderr: e.stderr }
}

/// Run one task; returns its wall-clock time in seconds.
fn run_task(loaded: &Loaded, task: &Task) -> Result<f64> {
    let started = Instant::now();
    let c = &loaded.campaign;
    let spec = c.spec();
    let dir = loaded.task_dir(task);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Unfinished until the new record is written.
    let record_path = dir.join("record.json");
    if record_path.exists() {
        std::fs::remove_file(&record_path)
            .with_context(|| format!("cannot remove {}", record_path.display()))?;
    }
    let model_kind = match spec.model {
        CampaignModel::Ising2d => ModelKind::Ising2d,
        CampaignModel::Ising1d => ModelKind::Ising1d,
    };
    let lattice = model_kind.lattice(task.size)?;
    let model = IsingModel::new(lattice, task.coupling, 0.0)?;
    crate::budget::check_array(
        &format!("{} samples of {} spins", spec.samples, lattice.num_sites()),
        &[spec.samples, lattice.num_sites()],
        1,
    )?;
    let config = c.dataset_config(task);
    let data = crate::cmd_sample::generate_with_progress(
        model,
        c.algorithm(),
        &config,
        &Progress::new(true),
        "sampling",
    )?;
    // A task's summary needs error bars: a series too short for them (possible only with a
    // fixed --thin) fails the task, as it did before the data could be kept.
    let statistics = data.statistics().context("the task's statistics")?.clone();

    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let shape = {
        let mut s = vec![spec.samples];
        s.extend(lattice.shape());
        s
    };
    let thermalize = spec.thermalize.to_string();
    let thin = spec.thin.to_string();
    let request = crate::cmd_sample::SampleRequest {
        model: model_kind,
        coupling: task.coupling,
        field: 0.0,
        seed: task.derived_seed,
        samples: spec.samples,
        chains: spec.chains,
        thermalize: &thermalize,
        thin: &thin,
        output: Path::new("spins.npy"),
    };
    let mut meta = crate::cmd_sample::metadata(&request, lattice, c.algorithm(), &data, 0.0);
    // Times differ from run to run; the task record keeps the wall-clock time instead.
    meta.elapsed_seconds = None;

    let o = &statistics.observables;
    let mut obs = std::collections::BTreeMap::new();
    obs.insert("energy_per_site".to_string(), est(&o.energy_per_site));
    obs.insert("abs_magnetization".to_string(), est(&o.abs_magnetization));
    obs.insert("magnetization_sq".to_string(), est(&o.magnetization_sq));
    obs.insert("specific_heat_per_site".to_string(), est(&o.specific_heat_per_site));
    obs.insert("susceptibility_per_site".to_string(), est(&o.susceptibility_per_site));
    obs.insert("binder_cumulant".to_string(), est(&o.binder_cumulant));
    let corr = observables::correlations(&Configurations::new(lattice, data.spins.clone())?)?;
    if let Some(xi) = &corr.second_moment_length {
        obs.insert("second_moment_correlation_length".to_string(), est(xi));
    }
    let stats = TaskStats {
        observables: obs,
        tau_energy_sweeps: statistics.tau_energy.tau,
        tau_abs_magnetization_sweeps: statistics.tau_abs_magnetization.tau,
    };
    let mcrg_out = if task.analyses.contains(&Analysis::Mcrg) {
        let m = spec.mcrg.ok_or_else(|| anyhow!("mcrg parameters missing"))?;
        let e = |x: &rg_transforms::mcrg::Estimate| campaign::Measured { mean: x.mean, stderr: x.stderr };
        Some(match mcrg(&data.spins, lattice, &McrgConfig::standard(m.factor, m.levels, task.derived_seed)) {
            Ok(r) => TaskMcrg {
                factor: m.factor,
                levels: r
                    .levels
                    .iter()
                    .map(|l| campaign::McrgLevelValue {
                        level: l.level,
                        lattice_size: l.lattice_size,
                        y_t: e(&l.thermal.exponent),
                        y_h: e(&l.magnetic.exponent),
                    })
                    .collect(),
                error: None,
            },
            // Data-dependent (e.g. a singular G matrix in the ordered phase): recorded, not fatal.
            Err(err) => TaskMcrg { factor: m.factor, levels: Vec::new(), error: Some(err.to_string()) },
        })
    } else {
        None
    };

    outputs.push(("spins.npy".into(), npy_bytes(&shape, data.spins)?));
    outputs.push(("spins.json".into(), pretty(&meta)?));
    outputs.push(("stats.json".into(), pretty(&stats)?));
    if let Some(m) = &mcrg_out {
        outputs.push(("mcrg.json".into(), pretty(m)?));
    }
    let mut records = Vec::new();
    for (name, bytes) in &outputs {
        write_atomic(&dir.join(name), bytes)?;
        records.push(OutputRecord::of(name.clone(), bytes));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let record = TaskRecord {
        kind: "kadanoff.campaign.task".into(),
        campaign: spec.name.clone(),
        campaign_hash: c.hash().to_string(),
        task: task.clone(),
        outputs: records,
        elapsed_seconds: elapsed,
    };
    write_atomic(&record_path, &pretty(&record)?)?;
    Ok(elapsed)
}

/// Read the record in `dir` and hash the outputs it lists.
fn find_record(dir: &Path, location: String) -> Result<FoundRecord> {
    let path = dir.join("record.json");
    let text = crate::files::read_limited(&path, "task record", crate::files::MAX_SIDE_FILE_BYTES)?;
    let record: TaskRecord = serde_json::from_slice(&text)
        .map_err(|e| anyhow!("{location}: record.json is not a task record: {e}"))?;
    let found = record
        .outputs
        .iter()
        .map(|o| {
            crate::files::read_output_back(&dir.join(&o.file))
                .map(|bytes| OutputRecord::of(o.file.clone(), &bytes))
        })
        .collect();
    Ok(FoundRecord { location, record, found })
}

/// Whether `task` has a record that verifies.
fn finished(loaded: &Loaded, task: &Task) -> bool {
    let dir = loaded.task_dir(task);
    match find_record(&dir, task.dir_name()) {
        Ok(r) => r.record.task == *task && campaign::check_record(&loaded.campaign, &r).is_ok(),
        Err(_) => false,
    }
}

fn run_all(file: &Path, jobs: usize) -> Result<()> {
    if jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let loaded = Loaded::read(file)?;
    std::fs::create_dir_all(loaded.dir.join("tasks"))
        .with_context(|| format!("cannot create {}", loaded.dir.display()))?;
    let all = loaded.campaign.tasks();
    let todo: Vec<&Task> = all.iter().filter(|t| !finished(&loaded, t)).collect();
    outln!(
        "campaign {}: {} tasks, {} already finished and verified, {} to run with {} jobs",
        loaded.campaign.spec().name,
        all.len(),
        all.len() - todo.len(),
        todo.len(),
        jobs
    );
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(todo.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(task) = todo.get(i) else { break };
                match run_task(&loaded, task) {
                    Ok(t) => outln!(
                        "  task {} done (L = {}, K = {}, seed {}) in {t:.2} s",
                        task.index,
                        task.size,
                        task.coupling,
                        task.seed
                    ),
                    Err(e) => failures
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((task.index, format!("{e:#}"))),
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    failures.sort();
    if let Some((i, e)) = failures.first() {
        bail!(
            "{} of {} tasks failed (first: task {i}: {e}); rerun one with `kadanoff campaign run-task {} --task {i}`",
            failures.len(),
            todo.len(),
            file.display()
        );
    }
    outln!("all {} tasks finished; merge with `kadanoff campaign merge {}`", all.len(), file.display());
    Ok(())
}

fn merge(file: &Path) -> Result<()> {
    let loaded = Loaded::read(file)?;
    let tasks_dir = loaded.dir.join("tasks");
    let mut found = Vec::new();
    if tasks_dir.is_dir() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&tasks_dir)
            .with_context(|| format!("cannot read {}", tasks_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.join("record.json").exists())
            .collect();
        dirs.sort();
        for d in dirs {
            let location = format!(
                "tasks/{}",
                d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            );
            found.push(find_record(&d, location)?);
        }
    }
    let verified = campaign::verify(&loaded.campaign, found)?;
    let mut results = Vec::with_capacity(verified.len());
    for r in &verified {
        let dir = tasks_dir.join(r.location.trim_start_matches("tasks/"));
        let read = |name: &str| {
            crate::files::read_limited(&dir.join(name), "task output", crate::files::MAX_SIDE_FILE_BYTES)
                .with_context(|| format!("task {}", r.location))
        };
        let stats: TaskStats = serde_json::from_slice(&read("stats.json")?)
            .map_err(|e| anyhow!("{}/stats.json: {e}", r.location))?;
        let mcrg = if r.record.task.analyses.contains(&Analysis::Mcrg) {
            Some(
                serde_json::from_slice(&read("mcrg.json")?)
                    .map_err(|e| anyhow!("{}/mcrg.json: {e}", r.location))?,
            )
        } else {
            None
        };
        results.push((r.record.task.clone(), stats, mcrg));
    }
    let summary = campaign::summary(&loaded.campaign, &results)?;
    let figures = summary.figures(loaded.campaign.spec().model)?;
    let fig_dir = loaded.dir.join("figures");
    std::fs::create_dir_all(&fig_dir).with_context(|| format!("cannot create {}", fig_dir.display()))?;
    for (name, svg) in &figures {
        write_atomic(&fig_dir.join(format!("{name}.svg")), svg.as_bytes())?;
    }
    let table = summary.table();
    write_atomic(&loaded.dir.join("summary.json"), &pretty(&summary)?)?;
    write_atomic(&loaded.dir.join("summary.txt"), table.as_bytes())?;
    outln!("{}", table.trim_end());
    outln!(
        "merged {} verified tasks into {} ({} figures in {})",
        verified.len(),
        loaded.dir.join("summary.json").display(),
        figures.len(),
        fig_dir.display()
    );
    Ok(())
}
