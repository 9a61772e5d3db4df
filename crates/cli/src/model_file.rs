//! Model and checkpoint files on disk. The encoding is `rbm_core::format`'s (safetensors, see
//! its documentation for the layout); this module only opens regular files, reads them within
//! the memory budget ([`crate::budget`]), writes them atomically, and turns JSON-valued
//! metadata into JSON for the commands.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rbm_core::format::{self, Checkpoint};
use rbm_core::{Dbn, GreedyState, Rbm};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::budget;
use crate::files::PendingOutput;

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
