//! Model and checkpoint files in the safetensors format, readable from Python with
//! `safetensors.numpy.load_file(path)`.
//!
//! A model file (`kind = kadanoff.dbn`) holds, per layer `i` (0 = the layer on the data),
//! `layers.i.weight` (f32, shape `(n_visible, n_hidden)`), `layers.i.visible_bias` and
//! `layers.i.hidden_bias`, in the machine-learning sign convention
//! `E(v,h) = -vᵀWh - aᵀv - bᵀh` (the paper's plus-sign parameters are their negatives).
//! Its string metadata holds `kind`, `format_version`, `layers`, `units` (JSON list of the unit
//! type of every layer, data first), `sign_convention`, `training` (JSON), `data` (JSON
//! provenance), `seed` and `tool_version`.
//!
//! A checkpoint (`kind = kadanoff.checkpoint`) holds the finished layers the same way, plus the
//! complete state of the layer in training: every array of the trainer's state becomes a tensor
//! `trainer.<path>` and the rest stays JSON in the metadata key `trainer`, so that resuming
//! restores the run bit for bit.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ndarray::{Array1, Array2};
use rbm_core::{Rbm, Units};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde_json::{json, Map, Value};

use crate::files::PendingOutput;

/// Kind tag of a model file.
pub const KIND_MODEL: &str = "kadanoff.dbn";
/// Kind tag of a training checkpoint.
pub const KIND_CHECKPOINT: &str = "kadanoff.checkpoint";
/// Version of the layout described in the module documentation.
pub const FORMAT_VERSION: &str = "1";
/// The sign convention, spelled out in every file.
pub const SIGN_CONVENTION: &str = "E(v,h) = -v^T W h - a^T v - b^T h with W = weight (n_visible, n_hidden), \
a = visible_bias, b = hidden_bias; p(v,h) = exp(-E)/Z. The paper (Mehta & Schwab) writes E with plus signs: \
its parameters are the negatives of these.";
/// Files larger than this are refused before being read.
pub const MAX_FILE_BYTES: u64 = 8 << 30;

/// Owned tensor data before serialisation.
struct Tensor {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn f32_bytes(values: impl Iterator<Item = f32>) -> Vec<u8> {
    values.flat_map(f32::to_le_bytes).collect()
}

fn layer_tensors(out: &mut Vec<(String, Tensor)>, prefix: &str, layers: &[Rbm<f32>]) {
    for (i, l) in layers.iter().enumerate() {
        out.push((
            format!("{prefix}layers.{i}.weight"),
            Tensor { shape: l.weights().shape().to_vec(), bytes: f32_bytes(l.weights().iter().copied()) },
        ));
        out.push((
            format!("{prefix}layers.{i}.visible_bias"),
            Tensor {
                shape: vec![l.visible_bias().len()],
                bytes: f32_bytes(l.visible_bias().iter().copied()),
            },
        ));
        out.push((
            format!("{prefix}layers.{i}.hidden_bias"),
            Tensor { shape: vec![l.hidden_bias().len()], bytes: f32_bytes(l.hidden_bias().iter().copied()) },
        ));
    }
}

fn units_list(layers: &[Rbm<f32>]) -> Vec<&'static str> {
    let mut u: Vec<&'static str> = layers.iter().map(|l| l.visible_units().name()).collect();
    if let Some(last) = layers.last() {
        u.push(last.hidden_units().name());
    }
    u
}

fn serialize(tensors: Vec<(String, Tensor)>, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, t)| {
            TensorView::new(Dtype::F32, t.shape.clone(), &t.bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| anyhow!("cannot build tensor {name}: {e}"))
        })
        .collect::<Result<_>>()?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| anyhow!("cannot encode safetensors: {e}"))?;
    canonical_header(bytes)
}

/// Rewrite the JSON header with its keys sorted (the safetensors crate keeps metadata in a
/// `HashMap`, whose order changes from process to process), so that the same model always has
/// the same bytes. The header stays padded with spaces to a multiple of 8 bytes.
fn canonical_header(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n])?; // serde_json's Map is ordered by key
    let mut text = serde_json::to_vec(&header)?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(bytes.len() + 8);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

fn base_metadata(kind: &str, layers: &[Rbm<f32>], extra: &Map<String, Value>) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert("kind".into(), kind.into());
    m.insert("format_version".into(), FORMAT_VERSION.into());
    m.insert("layers".into(), layers.len().to_string());
    m.insert("units".into(), json!(units_list(layers)).to_string());
    m.insert("sign_convention".into(), SIGN_CONVENTION.into());
    m.insert("tool_version".into(), env!("CARGO_PKG_VERSION").into());
    for (k, v) in extra {
        let s = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        m.insert(k.clone(), s);
    }
    m
}

/// Encode a DBN (or a single RBM) as a model file. `extra` adds metadata (training, data, seed).
pub fn encode_model(layers: &[Rbm<f32>], extra: &Map<String, Value>) -> Result<Vec<u8>> {
    let mut tensors = Vec::new();
    layer_tensors(&mut tensors, "", layers);
    serialize(tensors, base_metadata(KIND_MODEL, layers, extra))
}

/// A decoded model file.
pub struct ModelFile {
    /// The layers, data side first.
    pub layers: Vec<Rbm<f32>>,
    /// The metadata, with JSON-valued entries parsed.
    pub metadata: Map<String, Value>,
}

fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", path.display());
    }
    if meta.len() > MAX_FILE_BYTES {
        bail!(
            "{} is {} bytes, larger than the {} bytes a model may have",
            path.display(),
            meta.len(),
            MAX_FILE_BYTES
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn tensor_f32(st: &SafeTensors<'_>, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
    let t = st.tensor(name).map_err(|_| anyhow!("missing tensor `{name}`"))?;
    let values: Vec<f32> = match t.dtype() {
        Dtype::F32 => {
            t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
        Dtype::F64 => t
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        other => bail!("tensor `{name}` has dtype {other:?}; expected F32 or F64"),
    };
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        bail!("tensor `{name}` holds a non-finite value at index {i}");
    }
    Ok((t.shape().to_vec(), values))
}

fn decode_layers(st: &SafeTensors<'_>, prefix: &str, count: usize, units: &[Units]) -> Result<Vec<Rbm<f32>>> {
    let mut layers = Vec::with_capacity(count);
    for i in 0..count {
        let (ws, w) = tensor_f32(st, &format!("{prefix}layers.{i}.weight"))?;
        let (vs, a) = tensor_f32(st, &format!("{prefix}layers.{i}.visible_bias"))?;
        let (hs, b) = tensor_f32(st, &format!("{prefix}layers.{i}.hidden_bias"))?;
        if ws.len() != 2 || vs != [ws[0]] || hs != [ws[1]] {
            bail!("layer {i}: inconsistent shapes weight {ws:?}, visible_bias {vs:?}, hidden_bias {hs:?}");
        }
        if let Some(prev) = layers.last() {
            let prev: &Rbm<f32> = prev;
            if prev.n_hidden() != ws[0] {
                bail!(
                    "layer {i} has {} visible units but layer {} has {} hidden units",
                    ws[0],
                    i - 1,
                    prev.n_hidden()
                );
            }
        }
        let weights = Array2::from_shape_vec((ws[0], ws[1]), w).context("weight shape")?;
        let rbm = Rbm::new(weights, Array1::from(a), Array1::from(b), units[i], units[i + 1])
            .map_err(|e| anyhow!("layer {i}: {e}"))?;
        layers.push(rbm);
    }
    Ok(layers)
}

fn parse_metadata(st_meta: &Option<HashMap<String, String>>) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(m) = st_meta {
        for (k, v) in m {
            let parsed = serde_json::from_str::<Value>(v).ok().filter(|p| p.is_object() || p.is_array());
            out.insert(k.clone(), parsed.unwrap_or_else(|| Value::String(v.clone())));
        }
    }
    out
}

fn header_units(meta: &Map<String, Value>, count: usize) -> Result<Vec<Units>> {
    let list =
        meta.get("units").and_then(Value::as_array).ok_or_else(|| anyhow!("metadata `units` is missing"))?;
    if list.len() != count + 1 {
        bail!("metadata `units` lists {} layers of units, expected {}", list.len(), count + 1);
    }
    list.iter()
        .map(|u| match u.as_str() {
            Some("spin") => Ok(Units::Spin),
            Some("binary") => Ok(Units::Binary),
            _ => bail!("unknown unit type {u} in metadata"),
        })
        .collect()
}

fn header_count(meta: &Map<String, Value>) -> Result<usize> {
    let count: usize = meta
        .get("layers")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("metadata `layers` is missing or not a number"))?;
    if count == 0 || count > 64 {
        bail!("metadata says {count} layers; expected 1 to 64");
    }
    Ok(count)
}

fn open<'a>(bytes: &'a [u8], path: &Path, kind: &str) -> Result<(SafeTensors<'a>, Map<String, Value>)> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| anyhow!("{} is not a valid safetensors file: {e}", path.display()))?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow!("{} is not a valid safetensors file: {e}", path.display()))?;
    let meta = parse_metadata(header.metadata());
    let found = meta.get("kind").and_then(Value::as_str).unwrap_or("(none)");
    if found != kind {
        bail!("{} is a `{found}` file, not a `{kind}` file", path.display());
    }
    let version = meta.get("format_version").and_then(Value::as_str).unwrap_or("(none)");
    if version != FORMAT_VERSION {
        bail!(
            "{} has format version {version}; this kadanoff reads version {FORMAT_VERSION}",
            path.display()
        );
    }
    Ok((st, meta))
}

/// Decode a model file held in memory.
pub fn decode_model(bytes: &[u8], path: &Path) -> Result<ModelFile> {
    let (st, metadata) = open(bytes, path, KIND_MODEL)?;
    let count = header_count(&metadata)?;
    let units = header_units(&metadata, count)?;
    let layers = decode_layers(&st, "", count, &units).with_context(|| format!("{}", path.display()))?;
    if st.len() != 3 * count {
        bail!("{} holds {} tensors; a {count}-layer model has {}", path.display(), st.len(), 3 * count);
    }
    Ok(ModelFile { layers, metadata })
}

/// Read and validate a model file.
pub fn read_model(path: &Path) -> Result<ModelFile> {
    let bytes = read_bounded(path)?;
    decode_model(&bytes, path)
}

/// Write a model file atomically.
pub fn write_model(out: &PendingOutput, layers: &[Rbm<f32>], extra: &Map<String, Value>) -> Result<()> {
    let bytes = encode_model(layers, extra)?;
    out.write_with(|w| {
        use std::io::Write;
        w.write_all(&bytes)?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: finished layers + serde state of the trainer with its arrays as tensors.

fn is_ndarray(v: &Map<String, Value>) -> bool {
    v.len() == 3 && v.contains_key("v") && v.contains_key("dim") && v.get("data").is_some_and(Value::is_array)
}

/// Replace every ndarray (serde form `{v, dim, data}`) inside `value` by `{"$tensor": name}`,
/// moving its data into `tensors` as f32.
fn tensorize(value: Value, path: &str, tensors: &mut Vec<(String, Tensor)>) -> Result<Value> {
    Ok(match value {
        Value::Object(map) if is_ndarray(&map) => {
            let shape: Vec<usize> = serde_json::from_value(map["dim"].clone())?;
            let data = map["data"].as_array().expect("checked");
            let mut bytes = Vec::with_capacity(data.len() * 4);
            for x in data {
                let f = x.as_f64().ok_or_else(|| anyhow!("non-numeric array entry at {path}"))? as f32;
                bytes.extend_from_slice(&f.to_le_bytes());
            }
            let name = format!("trainer.{path}");
            tensors.push((name.clone(), Tensor { shape, bytes }));
            json!({ "$tensor": name, "v": map["v"].clone() })
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                out.insert(k, tensorize(v, &p, tensors)?);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            // Arrays of arrays (e.g. Option<Array2> inside a Vec) are walked too.
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.into_iter().enumerate() {
                out.push(if v.is_object() { tensorize(v, &format!("{path}.{i}"), tensors)? } else { v });
            }
            Value::Array(out)
        }
        other => other,
    })
}

fn detensorize(value: Value, st: &SafeTensors<'_>) -> Result<Value> {
    Ok(match value {
        Value::Object(map) if map.contains_key("$tensor") => {
            let name = map["$tensor"].as_str().ok_or_else(|| anyhow!("bad tensor reference"))?;
            let t = st.tensor(name).map_err(|_| anyhow!("checkpoint is missing tensor `{name}`"))?;
            if t.dtype() != Dtype::F32 {
                bail!("checkpoint tensor `{name}` is not F32");
            }
            let data: Vec<Value> = t
                .data()
                .chunks_exact(4)
                .map(|c| json!(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            json!({ "v": map.get("v").cloned().unwrap_or(json!(1)), "dim": t.shape(), "data": data })
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k, detensorize(v, st)?);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| detensorize(v, st)).collect::<Result<_>>()?)
        }
        other => other,
    })
}

/// A training checkpoint: finished layers, the run description, and the in-progress trainer state.
pub struct Checkpoint {
    /// Layers already trained, data side first.
    pub layers: Vec<Rbm<f32>>,
    /// Description of the run (data identity, layer sizes, configuration), compared on resume.
    pub run: Value,
    /// Per-layer metric history so far.
    pub history: Value,
    /// Serde state of the trainer of the next layer, if it has started.
    pub trainer: Option<Value>,
}

/// Encode a checkpoint.
pub fn encode_checkpoint(c: &Checkpoint) -> Result<Vec<u8>> {
    let mut tensors = Vec::new();
    layer_tensors(&mut tensors, "", &c.layers);
    let trainer = match &c.trainer {
        Some(t) => tensorize(t.clone(), "", &mut tensors)?,
        None => Value::Null,
    };
    let mut extra = Map::new();
    extra.insert("run".into(), Value::String(c.run.to_string()));
    extra.insert("history".into(), Value::String(c.history.to_string()));
    extra.insert("trainer".into(), Value::String(trainer.to_string()));
    let mut meta = base_metadata(KIND_CHECKPOINT, &c.layers, &extra);
    if c.layers.is_empty() {
        meta.insert("units".into(), "[]".into());
    }
    serialize(tensors, meta)
}

/// Read a checkpoint.
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let bytes = read_bounded(path)?;
    let (st, meta) = open(&bytes, path, KIND_CHECKPOINT)?;
    let count: usize = meta.get("layers").and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(0);
    let layers = if count == 0 {
        Vec::new()
    } else {
        let units = header_units(&meta, count)?;
        decode_layers(&st, "", count, &units)?
    };
    let parse = |key: &str| -> Result<Value> {
        match meta.get(key) {
            Some(Value::String(s)) => Ok(serde_json::from_str(s)?),
            Some(v) => Ok(v.clone()),
            None => bail!("checkpoint metadata `{key}` is missing"),
        }
    };
    let run = parse("run")?;
    let history = parse("history")?;
    let trainer = match parse("trainer")? {
        Value::Null => None,
        t => Some(detensorize(t, &st)?),
    };
    Ok(Checkpoint { layers, run, history, trainer })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<Rbm<f32>> {
        let w1 = Array2::from_shape_fn((6, 3), |(i, j)| (i as f32 - 2.5) * 0.1 + j as f32 * 0.01);
        let w2 = Array2::from_shape_fn((3, 2), |(i, j)| i as f32 * 0.2 - j as f32 * 0.3);
        vec![
            Rbm::new(w1, Array1::from(vec![0.1; 6]), Array1::from(vec![-0.2; 3]), Units::Spin, Units::Spin)
                .unwrap(),
            Rbm::new(w2, Array1::from(vec![0.3; 3]), Array1::from(vec![0.0; 2]), Units::Spin, Units::Binary)
                .unwrap(),
        ]
    }

    #[test]
    fn model_round_trips_bit_for_bit() {
        let layers = toy();
        let mut extra = Map::new();
        extra.insert("seed".into(), json!(7));
        let bytes = encode_model(&layers, &extra).unwrap();
        let back = decode_model(&bytes, Path::new("m.safetensors")).unwrap();
        assert_eq!(back.layers, layers);
        assert_eq!(back.metadata["kind"], KIND_MODEL);
        assert_eq!(back.metadata["units"], json!(["spin", "spin", "binary"]));
    }

    #[test]
    fn damaged_files_are_refused() {
        let bytes = encode_model(&toy(), &Map::new()).unwrap();
        let p = Path::new("m.safetensors");
        for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_model(&bytes[..cut], p).is_err(), "truncated at {cut}");
        }
        let mut corrupt = bytes.clone();
        corrupt[0] = 0xff;
        corrupt[7] = 0x7f;
        assert!(decode_model(&corrupt, p).is_err());
        // Another kind of safetensors file.
        let other = safetensors::serialize(
            vec![("x".to_string(), TensorView::new(Dtype::F32, vec![1], &[0, 0, 0, 0]).unwrap())],
            None,
        )
        .unwrap();
        let err = decode_model(&other, p).err().unwrap().to_string();
        assert!(err.contains("not a `kadanoff.dbn`"), "{err}");
    }
}
