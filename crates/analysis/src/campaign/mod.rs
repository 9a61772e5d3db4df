//! Campaigns: a declared grid of sampling runs (sizes × couplings × seeds), planned as a table of
//! independent tasks, run anywhere (a Slurm job array or a local pool), and merged after every
//! task's record has been verified.
//!
//! Units and signs as in `lattice_physics::model`: `K = βJ`, zero field, energies per site.
//!
//! This module is pure: it parses nothing from disk and writes nothing. The command line reads the
//! campaign file (TOML), hashes the files a task wrote, and hands the records to [`verify`].
//!
//! - [`CampaignSpec`]: the declarative file, as plain data; [`Campaign::new`] validates it and
//!   expands the grid into [`Task`]s in a stable order (sizes, then couplings, then seeds, each in
//!   file order), each with its own derived seed ([`derive_seed`]).
//! - [`Campaign::hash`]: FNV-1a of the canonical JSON of everything that determines results (the
//!   grid and the analyses; not the output directory nor the Slurm resources), so a task record
//!   can be matched to its campaign whatever the file's layout or comments.
//! - [`TaskRecord`]: what a finished task leaves beside its outputs (their sizes and hashes).
//! - [`verify`]: refuses missing, duplicated, foreign, truncated or corrupted tasks.
//! - [`summary`]: combines the seeds of every point and draws each observable against `K`
//!   ([`Summary::figures`]), with Kaufman's (2D) or the transfer-matrix (1D) exact values.

mod summary;

use std::collections::BTreeMap;

use lattice_physics::dataset::{DatasetConfig, Sweeps};
use lattice_physics::sampler::{Algorithm, AnySampler};
use lattice_physics::{IsingModel, Lattice};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use summary::{
    summary, McrgLevelValue, Measured, ObservableSummary, PointSummary, SeedValue, Summary, TaskMcrg,
    TaskStats,
};

/// FNV-1a, 64 bits, over `bytes` (detects truncation and corruption; not a cryptographic hash).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// [`fnv1a64`] written as 16 lower-case hexadecimal digits.
pub fn fnv1a64_hex(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a64(bytes))
}

/// The master seed of one task, from the workspace's one seeding scheme
/// ([`lattice_physics::rng::Seed`]): the child `("campaign-size", L)` of the campaign seed, then
/// its child `("campaign-coupling", bits(K))`. Tasks at different sizes or couplings never share
/// chain streams even under the same seed, and a task's seed depends only on its own coordinates
/// (adding points to a grid changes no other task).
pub fn derive_seed(seed: u64, size: usize, coupling: f64) -> u64 {
    lattice_physics::rng::Seed::new(seed)
        .child("campaign-size", size as u64)
        .child("campaign-coupling", coupling.to_bits())
        .value()
}

/// The model family of a campaign (zero field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignModel {
    /// `L×L` periodic square lattice.
    Ising2d,
    /// Periodic ring of `L` sites.
    Ising1d,
}

impl CampaignModel {
    /// Stable name (`ising2d`, `ising1d`).
    pub fn name(self) -> &'static str {
        match self {
            CampaignModel::Ising2d => "ising2d",
            CampaignModel::Ising1d => "ising1d",
        }
    }

    /// The lattice of linear size `size`.
    pub fn lattice(self, size: usize) -> lattice_physics::Result<Lattice> {
        match self {
            CampaignModel::Ising2d => Lattice::square(size),
            CampaignModel::Ising1d => Lattice::ring(size),
        }
    }
}

/// An analysis run on every point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Analysis {
    /// Observables with error bars and `G(r)` (what `kadanoff stats` reports).
    Stats,
    /// Swendsen's MCRG (2D only, and only where `L` is divisible by `factor^levels` with at least
    /// [`MCRG_MIN_BLOCKED_SIZE`] blocks per side left).
    Mcrg,
}

/// Smallest linear size of the last blocked lattice for which MCRG is run on a point.
pub const MCRG_MIN_BLOCKED_SIZE: usize = 4;

/// MCRG parameters of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McrgSpec {
    /// Block factor `b`.
    pub factor: usize,
    /// Blocking levels.
    pub levels: usize,
}

/// A number of sweeps in a campaign file: a whole number, or `"auto"` (chosen per task from its
/// pilot runs, as `kadanoff sample --thin auto` does; deterministic for a given seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepCount {
    /// Exactly this many sweeps.
    Fixed(usize),
    /// Automatic.
    Auto,
}

impl Serialize for SweepCount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            SweepCount::Fixed(n) => s.serialize_u64(*n as u64),
            SweepCount::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for SweepCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SweepCount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number of sweeps or \"auto\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<SweepCount, E> {
                usize::try_from(v).map(SweepCount::Fixed).map_err(|_| E::custom("too many sweeps"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<SweepCount, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("a number of sweeps cannot be negative"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<SweepCount, E> {
                if v == "auto" {
                    Ok(SweepCount::Auto)
                } else {
                    Err(E::custom(format!("expected a whole number of sweeps or \"auto\", got {v:?}")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl SweepCount {
    /// As the data set's setting.
    pub fn sweeps(self) -> Sweeps {
        match self {
            SweepCount::Fixed(n) => Sweeps::Fixed(n),
            SweepCount::Auto => Sweeps::Auto,
        }
    }
}

impl std::fmt::Display for SweepCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepCount::Fixed(n) => write!(f, "{n}"),
            SweepCount::Auto => f.write_str("auto"),
        }
    }
}

/// Resources of every array task, and the array's throttle (`--array=0-(n-1)%throttle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSpec {
    /// At most this many tasks run at once.
    pub throttle: usize,
    /// `--cpus-per-task`.
    pub cpus_per_task: usize,
    /// `--mem` (e.g. `"2G"`).
    pub mem: String,
    /// `--time` (e.g. `"00:30:00"`).
    pub time: String,
    /// `--partition`, if the cluster needs one.
    #[serde(default)]
    pub partition: Option<String>,
}

/// A campaign file, as plain data (the command line reads it from TOML).
///
/// ```toml
/// name = "scan"
/// output = "scan-out"
/// model = "ising2d"
/// sizes = [8, 16]
/// couplings = [0.40, 0.44, 0.48]
/// algorithm = "swendsen-wang"
/// samples = 2000
/// chains = 2
/// thermalize = 200
/// thin = "auto"
/// seeds = [1, 2]
/// analyses = ["stats", "mcrg"]
/// mcrg = { factor = 2, levels = 1 }
/// [slurm]
/// throttle = 8
/// cpus_per_task = 2
/// mem = "1G"
/// time = "00:20:00"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Name (ASCII letters, digits, `-`, `_`), used for the Slurm job name.
    pub name: String,
    /// Output directory, relative to the campaign file's directory (or absolute).
    pub output: String,
    /// Model family.
    pub model: CampaignModel,
    /// Linear sizes.
    pub sizes: Vec<usize>,
    /// Couplings `K`.
    pub couplings: Vec<f64>,
    /// Sampler name (`metropolis`, `heat-bath`, `wolff`, `swendsen-wang`).
    pub algorithm: String,
    /// Configurations per task.
    pub samples: usize,
    /// Chains per task.
    pub chains: usize,
    /// Thermalisation sweeps of every chain, or `"auto"`.
    pub thermalize: SweepCount,
    /// Sweeps between kept configurations, or `"auto"` (at least `2 τ_int`).
    pub thin: SweepCount,
    /// Master seeds: every point is run once per seed.
    pub seeds: Vec<u64>,
    /// Analyses on every point (`stats` is required).
    pub analyses: Vec<Analysis>,
    /// MCRG parameters (required when `analyses` holds `mcrg`).
    #[serde(default)]
    pub mcrg: Option<McrgSpec>,
    /// Slurm resources.
    pub slurm: SlurmSpec,
}

/// One element of the task table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Position in the table (`SLURM_ARRAY_TASK_ID`).
    pub index: usize,
    /// Linear size.
    pub size: usize,
    /// Coupling `K`.
    pub coupling: f64,
    /// The campaign seed this task replicates.
    pub seed: u64,
    /// The data set's master seed, [`derive_seed`]`(seed, size, coupling)`.
    pub derived_seed: u64,
    /// Analyses run on this task (MCRG only where the size allows).
    pub analyses: Vec<Analysis>,
}

impl Task {
    /// The task's directory name inside `tasks/` (`task-0007`).
    pub fn dir_name(&self) -> String {
        format!("task-{:04}", self.index)
    }
}

/// A validated campaign and its task table.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    spec: CampaignSpec,
    algorithm: Algorithm,
    tasks: Vec<Task>,
    hash: String,
}

/// The part of a spec that determines results (hashed).
#[derive(Serialize)]
struct Canonical<'a> {
    kind: &'static str,
    name: &'a str,
    model: CampaignModel,
    sizes: &'a [usize],
    couplings: &'a [f64],
    algorithm: &'a str,
    samples: usize,
    chains: usize,
    thermalize: SweepCount,
    thin: SweepCount,
    seeds: &'a [u64],
    analyses: &'a [Analysis],
    mcrg: Option<McrgSpec>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidCampaign { field, reason: reason.into() }
}

fn safe_text(field: &'static str, s: &str) -> Result<()> {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c == '\'' || c == '"' || c == '\\' || c == '$') {
        return Err(invalid(
            field,
            format!("{s:?} must be non-empty, one line, without quotes, `\\` or `$`"),
        ));
    }
    Ok(())
}

fn distinct<T: PartialEq + std::fmt::Debug>(field: &'static str, xs: &[T]) -> Result<()> {
    if xs.is_empty() {
        return Err(invalid(field, "must list at least one value"));
    }
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(invalid(field, format!("{x:?} is listed twice")));
        }
    }
    Ok(())
}

impl Campaign {
    /// Validate `spec` and expand its grid. Every point is checked as `kadanoff sample` would
    /// check it (lattice, coupling, algorithm, sample and chain counts), so no task can fail on
    /// its parameters after submission.
    pub fn new(spec: CampaignSpec) -> Result<Self> {
        if spec.name.is_empty()
            || !spec.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid("name", "must be non-empty ASCII letters, digits, `-` or `_`"));
        }
        safe_text("output", &spec.output)?;
        distinct("sizes", &spec.sizes)?;
        distinct("couplings", &spec.couplings)?;
        distinct("seeds", &spec.seeds)?;
        distinct("analyses", &spec.analyses)?;
        if !spec.analyses.contains(&Analysis::Stats) {
            return Err(invalid("analyses", "must include \"stats\""));
        }
        let algorithm: Algorithm = spec
            .algorithm
            .parse()
            .map_err(|e: lattice_physics::Error| invalid("algorithm", e.to_string()))?;
        let config = DatasetConfig {
            samples: spec.samples,
            chains: spec.chains,
            thermalize: spec.thermalize.sweeps(),
            thin: spec.thin.sweeps(),
            seed: 0,
        };
        config.validate().map_err(|e| invalid("samples/chains/thermalize/thin", e.to_string()))?;
        if algorithm == Algorithm::Wolff
            && matches!(spec.thermalize, SweepCount::Fixed(t) if t < lattice_physics::sampler::Wolff::CALIBRATION_SWEEPS)
        {
            return Err(invalid(
                "thermalize",
                "wolff needs at least 32 thermalisation sweeps (its calibration)",
            ));
        }
        let mcrg = match (spec.analyses.contains(&Analysis::Mcrg), spec.mcrg) {
            (true, None) => {
                return Err(invalid("mcrg", "`analyses` holds \"mcrg\": give mcrg = { factor, levels }"))
            }
            (true, Some(m)) => {
                if spec.model != CampaignModel::Ising2d {
                    return Err(invalid("analyses", "mcrg needs model = \"ising2d\""));
                }
                if m.factor < 2 || m.levels == 0 || m.levels > 8 {
                    return Err(invalid("mcrg", "factor must be at least 2 and levels 1 to 8"));
                }
                Some(m)
            }
            (false, _) => None,
        };
        for &size in &spec.sizes {
            let lattice = spec.model.lattice(size).map_err(|e| invalid("sizes", e.to_string()))?;
            for &k in &spec.couplings {
                let model =
                    IsingModel::new(lattice, k, 0.0).map_err(|e| invalid("couplings", e.to_string()))?;
                AnySampler::new(algorithm, model).map_err(|e| invalid("algorithm", e.to_string()))?;
            }
        }
        let s = &spec.slurm;
        if s.throttle == 0 || s.cpus_per_task == 0 {
            return Err(invalid("slurm", "throttle and cpus_per_task must be at least 1"));
        }
        safe_text("slurm.mem", &s.mem)?;
        safe_text("slurm.time", &s.time)?;
        if let Some(p) = &s.partition {
            safe_text("slurm.partition", p)?;
        }

        let mut tasks = Vec::new();
        for &size in &spec.sizes {
            let mcrg_ok = mcrg.is_some_and(|m| {
                m.factor
                    .checked_pow(m.levels as u32)
                    .is_some_and(|b| size % b == 0 && size / b >= MCRG_MIN_BLOCKED_SIZE)
            });
            for &coupling in &spec.couplings {
                for &seed in &spec.seeds {
                    let mut analyses = vec![Analysis::Stats];
                    if mcrg_ok {
                        analyses.push(Analysis::Mcrg);
                    }
                    tasks.push(Task {
                        index: tasks.len(),
                        size,
                        coupling,
                        seed,
                        derived_seed: derive_seed(seed, size, coupling),
                        analyses,
                    });
                }
            }
        }
        let canonical = Canonical {
            kind: "kadanoff.campaign",
            name: &spec.name,
            model: spec.model,
            sizes: &spec.sizes,
            couplings: &spec.couplings,
            algorithm: &spec.algorithm,
            samples: spec.samples,
            chains: spec.chains,
            thermalize: spec.thermalize,
            thin: spec.thin,
            seeds: &spec.seeds,
            analyses: &spec.analyses,
            mcrg: spec.mcrg,
        };
        let bytes = serde_json::to_vec(&canonical).map_err(|e| invalid("spec", e.to_string()))?;
        Ok(Campaign { hash: fnv1a64_hex(&bytes), spec, algorithm, tasks })
    }

    /// The validated spec.
    pub fn spec(&self) -> &CampaignSpec {
        &self.spec
    }

    /// The sampler.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The task table, in its stable order.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// FNV-1a (hex) of the canonical content that determines results.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The data-set configuration of `task`.
    pub fn dataset_config(&self, task: &Task) -> DatasetConfig {
        DatasetConfig {
            samples: self.spec.samples,
            chains: self.spec.chains,
            thermalize: self.spec.thermalize.sweeps(),
            thin: self.spec.thin.sweeps(),
            seed: task.derived_seed,
        }
    }

    /// The task table as written by `campaign plan` (`tasks.json`).
    pub fn task_table(&self) -> TaskTable {
        TaskTable {
            kind: "kadanoff.campaign.tasks".into(),
            campaign: self.spec.name.clone(),
            campaign_hash: self.hash.clone(),
            tasks: self.tasks.clone(),
        }
    }

    /// An `sbatch` array script running every task as `KADANOFF campaign run-task FILE`.
    ///
    /// `binary` is the `kadanoff` executable (overridable at run time by `$KADANOFF`), `file` the
    /// campaign file and `dir` the output directory, both absolute; logs go to
    /// `dir/logs/%A_%a.out` (`%A` the array job, `%a` the task).
    pub fn sbatch_script(&self, binary: &str, file: &str, dir: &str) -> Result<String> {
        for (field, s) in [("binary path", binary), ("campaign path", file), ("output path", dir)] {
            safe_text(field, s)?;
        }
        let s = &self.spec.slurm;
        let n = self.tasks.len();
        let mut out = String::new();
        out.push_str("#!/bin/bash\n");
        out.push_str(&format!("#SBATCH --job-name=kadanoff-{}\n", self.spec.name));
        out.push_str(&format!("#SBATCH --array=0-{}%{}\n", n - 1, s.throttle));
        out.push_str(&format!("#SBATCH --cpus-per-task={}\n", s.cpus_per_task));
        out.push_str(&format!("#SBATCH --mem={}\n", s.mem));
        out.push_str(&format!("#SBATCH --time={}\n", s.time));
        if let Some(p) = &s.partition {
            out.push_str(&format!("#SBATCH --partition={p}\n"));
        }
        out.push_str(&format!("#SBATCH --chdir={dir}\n"));
        out.push_str("#SBATCH --output=logs/%A_%a.out\n");
        out.push_str("#SBATCH --error=logs/%A_%a.out\n");
        out.push_str(&format!(
            "# campaign {} ({} tasks, hash {}); written by `kadanoff campaign plan`\n",
            self.spec.name, n, self.hash
        ));
        out.push_str("set -euo pipefail\n");
        out.push_str("export RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n");
        out.push_str(&format!(
            "exec \"${{KADANOFF:-{binary}}}\" campaign run-task \"{file}\" --task \"$SLURM_ARRAY_TASK_ID\"\n"
        ));
        Ok(out)
    }
}

/// `tasks.json`: the task table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskTable {
    /// `kadanoff.campaign.tasks`.
    pub kind: String,
    /// Campaign name.
    pub campaign: String,
    /// [`Campaign::hash`].
    pub campaign_hash: String,
    /// One row per task.
    pub tasks: Vec<Task>,
}

/// One output of a task: its file name (inside the task's directory), length and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputRecord {
    /// File name inside the task's directory.
    pub file: String,
    /// Length in bytes.
    pub bytes: u64,
    /// [`fnv1a64_hex`] of the content.
    pub fnv1a64: String,
}

impl OutputRecord {
    /// The record of `content` stored as `file`.
    pub fn of(file: impl Into<String>, content: &[u8]) -> Self {
        OutputRecord { file: file.into(), bytes: content.len() as u64, fnv1a64: fnv1a64_hex(content) }
    }
}

/// `record.json`, written last by a task: which campaign and task it belongs to, and its outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRecord {
    /// `kadanoff.campaign.task`.
    pub kind: String,
    /// Campaign name.
    pub campaign: String,
    /// [`Campaign::hash`] of the campaign that ran it.
    pub campaign_hash: String,
    /// The task as planned.
    pub task: Task,
    /// Every output, in the order written.
    pub outputs: Vec<OutputRecord>,
    /// Wall-clock seconds (informative; not part of any compared output).
    pub elapsed_seconds: f64,
}

/// What the command line found for one record: where it was, what it says, and the actual
/// length and hash of each output it lists (`None` when the file is missing).
#[derive(Debug, Clone, PartialEq)]
pub struct FoundRecord {
    /// Where the record was found (for messages), e.g. `tasks/task-0003`.
    pub location: String,
    /// The record.
    pub record: TaskRecord,
    /// For each of `record.outputs`, the output as found.
    pub found: Vec<Option<OutputRecord>>,
}

/// Check one record against the campaign: same campaign, a planned task, identical task row,
/// every output present, complete and intact.
pub fn check_record(campaign: &Campaign, r: &FoundRecord) -> Result<()> {
    if r.record.campaign_hash != campaign.hash {
        return Err(Error::ForeignTask {
            location: r.location.clone(),
            campaign: r.record.campaign.clone(),
            hash: r.record.campaign_hash.clone(),
            expected: campaign.hash.clone(),
        });
    }
    let index = r.record.task.index;
    match campaign.tasks.get(index) {
        Some(t) if *t == r.record.task => {}
        _ => return Err(Error::UnknownTask { location: r.location.clone(), task: index }),
    }
    if r.found.len() != r.record.outputs.len() || r.record.outputs.is_empty() {
        return Err(Error::BadOutput {
            location: r.location.clone(),
            file: String::new(),
            problem: "no outputs listed".into(),
        });
    }
    for (want, got) in r.record.outputs.iter().zip(&r.found) {
        let problem = match got {
            None => Some("missing".to_string()),
            Some(g) if g.bytes < want.bytes => {
                Some(format!("truncated ({} of {} bytes)", g.bytes, want.bytes))
            }
            Some(g) if g.bytes > want.bytes => {
                Some(format!("too long ({} bytes, recorded {})", g.bytes, want.bytes))
            }
            Some(g) if g.fnv1a64 != want.fnv1a64 => {
                Some(format!("corrupted (FNV-1a {} where {} was recorded)", g.fnv1a64, want.fnv1a64))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(Error::BadOutput { location: r.location.clone(), file: want.file.clone(), problem });
        }
    }
    Ok(())
}

/// Verify a whole campaign: every record belongs to it and is intact ([`check_record`]), no task
/// appears twice, and none is missing. Returns the records in task order.
pub fn verify(campaign: &Campaign, found: Vec<FoundRecord>) -> Result<Vec<FoundRecord>> {
    let mut by_task: BTreeMap<usize, FoundRecord> = BTreeMap::new();
    for r in found {
        check_record(campaign, &r)?;
        let index = r.record.task.index;
        if let Some(first) = by_task.get(&index) {
            return Err(Error::DuplicateTask {
                task: index,
                first: first.location.clone(),
                second: r.location,
            });
        }
        by_task.insert(index, r);
    }
    let missing: Vec<usize> = (0..campaign.tasks.len()).filter(|i| !by_task.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(Error::MissingTasks {
            count: missing.len(),
            total: campaign.tasks.len(),
            first: missing[0],
        });
    }
    Ok(by_task.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }
}
