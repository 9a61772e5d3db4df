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

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use kadanoff_analysis::campaign::{
    self, Analysis, Campaign, CampaignSpec, FoundRecord, OutputRecord, Task, TaskRecord, TaskStats,
};

use crate::campaign_task::run_task;
use crate::files::PendingOutput;

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
pub(crate) struct Loaded {
    pub(crate) campaign: Campaign,
    pub(crate) file: PathBuf,
    pub(crate) dir: PathBuf,
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

    pub(crate) fn task_dir(&self, task: &Task) -> PathBuf {
        self.dir.join("tasks").join(task.dir_name())
    }
}

/// Write `bytes` to `dest` atomically (replacing it).
pub(crate) fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let out = PendingOutput::claim(dest, true)?;
    out.write_with(|w| Ok(w.write_all(bytes)?))?;
    out.commit()
}

pub(crate) fn pretty<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
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
