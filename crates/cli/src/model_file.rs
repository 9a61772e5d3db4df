//! Model and checkpoint files on disk. The encoding is `rbm_core::format`'s (safetensors, see
//! its documentation for the layout); this module only opens regular files, reads them within
//! the memory budget ([`crate::budget`]), writes them atomically, and turns JSON-valued
//! metadata into JSON for the commands. `train`'s checkpoint policy (where, how often, and
//! which checkpoint may be resumed) is here too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ndarray::ArrayView2;
use rbm_core::format::{self, Checkpoint};
use rbm_core::{Dbn, Error as RbmError, GreedyConfig, GreedyState, GreedyTrainer, Rbm};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::budget;
use crate::files::PendingOutput;
use crate::progress::Progress;

/// A decoded model file.
pub struct ModelFile {
    /// The layers, data side first (they chain: `Dbn::new` accepts them).
    pub layers: Vec<Rbm<f32>>,
    /// The metadata, with JSON-valued entries (objects and lists) parsed.
    pub metadata: Map<String, Value>,
}

/// The model's `data` metadata entry, as `kadanoff train` writes it: what the model was trained
/// on. Read typed, so that a renamed field is a compile error and not a silent default.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DataRecord {
    /// Shape of one configuration (`[L, L]` or `[L]`).
    pub sample_shape: Option<Vec<usize>>,
    /// The training data's sidecar fields, if it had a valid sidecar.
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

/// The fields of a training data set's sidecar that a model keeps.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Provenance {
    /// Coupling `K` of the data, if known.
    pub coupling: Option<f64>,
    /// Field `h` of the data, if known.
    pub field: Option<f64>,
}

impl ModelFile {
    /// The `data` metadata entry: `None` if the model has none, an error if it is malformed.
    pub fn data_record(&self, path: &Path) -> Result<Option<DataRecord>> {
        match self.metadata.get("data") {
            None => Ok(None),
            Some(v) => DataRecord::deserialize(v)
                .map(Some)
                .map_err(|e| anyhow!("{}: the metadata entry `data` is malformed: {e}", path.display())),
        }
    }
}

/// The bytes of the regular file `path`, refused if it is larger than the memory budget.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    // Checked before opening too: opening a FIFO would block.
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let meta = file.metadata().with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let limit = budget::bytes()?;
    budget::check(&format!("reading {}", path.display()), Some(u128::from(meta.len())))?;
    format::read_limited(file, limit).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// JSON-looking metadata entries (objects and lists) parsed, the others kept as strings.
fn parse_metadata(meta: BTreeMap<String, String>) -> Map<String, Value> {
    meta.into_iter()
        .map(|(k, v)| {
            let parsed = serde_json::from_str::<Value>(&v).ok().filter(|p| p.is_object() || p.is_array());
            (k, parsed.unwrap_or(Value::String(v)))
        })
        .collect()
}

/// Metadata for writing: strings as they are, other JSON values as JSON text.
fn to_strings(extra: &Map<String, Value>) -> BTreeMap<String, String> {
    extra
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect()
}

/// Read and validate a model file.
pub fn read_model(path: &Path) -> Result<ModelFile> {
    let bytes = read_bounded(path)?;
    let file = format::decode_model(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(ModelFile { layers: file.dbn.into_layers(), metadata: parse_metadata(file.metadata) })
}

/// Write a model file into `out` (committed by the caller). `extra` adds metadata.
pub fn write_model(out: &PendingOutput, dbn: &Dbn<f32>, extra: &Map<String, Value>) -> Result<()> {
    let bytes = format::encode_model(dbn, &to_strings(extra))?;
    out.write_with(|w| Ok(w.write_all(&bytes)?))
}

/// Read a checkpoint (its state is checked when the run is resumed from it).
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let bytes = read_bounded(path)?;
    format::decode_checkpoint(&bytes)
        .map_err(|e| anyhow!("the checkpoint {} is unusable: {e}", path.display()))
}

/// Write a checkpoint atomically (a temporary file renamed over `path`).
pub fn write_checkpoint(path: &Path, state: &GreedyState<f32>, extra: &Map<String, Value>) -> Result<()> {
    let bytes = format::encode_checkpoint(state, &to_strings(extra))?;
    let out = PendingOutput::claim(path, true)?;
    out.write_with(|w| Ok(w.write_all(&bytes)?))?;
    out.commit()
}

/// The checkpoint of the model `out`: `OUT.ckpt`.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".ckpt");
    PathBuf::from(s)
}

/// Minimum wall time between two checkpoints written inside a layer: 5 seconds, or the
/// environment variable `KADANOFF_CHECKPOINT_SECONDS` (0 checkpoints after every epoch).
fn checkpoint_interval() -> Result<Duration> {
    const VAR: &str = "KADANOFF_CHECKPOINT_SECONDS";
    const MAX: f64 = 1e6;
    match std::env::var(VAR) {
        Err(std::env::VarError::NotPresent) => Ok(Duration::from_secs(5)),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{VAR} is not valid UTF-8"),
        Ok(s) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=MAX).contains(&x) => Ok(Duration::from_secs_f64(x)),
            _ => bail!("{VAR}={s:?}: must be a number of seconds between 0 and {MAX}"),
        },
    }
}

/// The checkpoint of one `train` run: where it is, how often it is written, and the metadata
/// entry `run` that identifies the run's data (the XXH3-64 hash of the values as read and the
/// shape), so that only a checkpoint of the same data is resumed.
pub struct Checkpointer {
    path: PathBuf,
    interval: Duration,
    last: Instant,
    data_hash: String,
    run_key: String,
}

impl Checkpointer {
    /// The checkpoint beside the model `out` of a run on `values` (`shape`: samples, units).
    pub fn new(out: &Path, values: &[i8], shape: [usize; 2]) -> Result<Self> {
        // XXH3 (64 bits): 30 ms less than the FNV-1a it replaced on 32 MB, which went a byte at a
        // time at the latency of a multiplication.
        let hash = xxhash_rust::xxh3::xxh3_64(bytemuck::cast_slice::<i8, u8>(values));
        let data_hash = format!("{hash:016x}");
        let run_key = serde_json::json!({"data_hash": data_hash, "data_shape": shape}).to_string();
        let (path, interval, last) = (checkpoint_path(out), checkpoint_interval()?, Instant::now());
        Ok(Checkpointer { path, interval, last, data_hash, run_key })
    }

    /// The XXH3-64 hash of the data values (as `i8` bytes), in hexadecimal.
    pub fn data_hash(&self) -> &str {
        &self.data_hash
    }

    /// Where the checkpoint is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the state of `run` atomically if `now` or if the interval has passed since the
    /// last write.
    pub fn save(&mut self, run: &GreedyTrainer<f32>, now: bool) -> Result<()> {
        if now || self.last.elapsed() >= self.interval {
            let meta: Map<String, Value> =
                [("run".to_string(), Value::String(self.run_key.clone()))].into_iter().collect();
            write_checkpoint(&self.path, &run.state(), &meta)?;
            self.last = Instant::now();
        }
        Ok(())
    }

    /// The run to continue (with `resume`) from the checkpoint, if there is one and it is of
    /// this run: its entry `run` is this run's and its state is of `config` and fits `data`.
    /// With `force` a checkpoint of another run (or a damaged one) is set aside with a message
    /// and `None` returned (training starts over); without it, it is an error.
    pub fn resume(
        &self,
        resume: bool,
        config: &GreedyConfig,
        data: ArrayView2<f32>,
        force: bool,
        progress: &Progress,
    ) -> Result<Option<GreedyTrainer<f32>>> {
        let path = &self.path;
        if !resume {
            return Ok(None);
        }
        if !path.exists() {
            progress.message(&format!("no checkpoint at {}; starting from scratch", path.display()));
            return Ok(None);
        }
        let refuse = |why: String| -> Result<Option<GreedyTrainer<f32>>> {
            if force {
                progress.message(&format!("discarding {why}; starting from scratch (--force)"));
                Ok(None)
            } else {
                bail!("{why}; rerun with the same arguments, or add --force (or drop --resume) to start over")
            }
        };
        let c = match read_checkpoint(path) {
            Ok(c) => c,
            Err(e) => return refuse(format!("{e:#}")),
        };
        if c.metadata.get("run") != Some(&self.run_key) {
            return refuse(format!(
                "the checkpoint {} was made by a different run (for other data)",
                path.display()
            ));
        }
        let run = match GreedyTrainer::resume(config, c.state, data) {
            Ok(run) => run,
            Err(e @ RbmError::StateMismatch { .. }) => {
                return refuse(format!("the checkpoint {} was made by a different run: {e}", path.display()))
            }
            Err(e) => return refuse(format!("the checkpoint {} is unusable: {e}", path.display())),
        };
        let done = run.finished_layers().len();
        let at = run.current().map(|t| format!(", layer {} at epoch {}", done + 1, t.epochs_done()));
        let at = at.unwrap_or_default();
        progress.message(&format!("resuming from {} ({done} finished layer(s){at})", path.display()));
        Ok(Some(run))
    }
}
