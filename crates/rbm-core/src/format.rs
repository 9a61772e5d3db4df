//! Model files and training checkpoints in the safetensors format (feature `safetensors`),
//! readable from Python with `safetensors.numpy.load_file(path)`.
//!
//! Everything works on byte slices, readers and writers; where the bytes live (and how a file
//! is replaced atomically) is the caller's business.
//!
//! # Model files (`kind = kadanoff.dbn`, `format_version = 1`)
//!
//! Per layer `i` (0 = the layer on the data): `layers.i.weight` (f32, shape
//! `(n_visible, n_hidden)`), `layers.i.visible_bias` and `layers.i.hidden_bias`, in the
//! machine-learning sign convention `E(v,h) = -vᵀWh - aᵀv - bᵀh` (the paper's plus-sign
//! parameters are their negatives; see [`crate::rbm`]). f64 tensors are accepted on reading
//! (rounded to f32). String metadata: `kind`, `format_version`, `layers` (the count), `units`
//! (JSON list of the unit type of every layer, data first), `sign_convention`,
//! `tool_version`, plus whatever the caller adds (the command line adds `training`, `data`,
//! `seed` and `history`). The JSON header is written with sorted keys, so equal models have
//! equal bytes.
//!
//! # Checkpoints (`kind = kadanoff.checkpoint`, `format_version = 2`)
//!
//! A [`GreedyState`] as named tensors: the finished layers as in a model file; the current
//! layer's trainer as `trainer.weight`, `trainer.visible_bias`, `trainer.hidden_bias`,
//! `trainer.velocity.weight`, `trainer.velocity.visible_bias`, `trainer.velocity.hidden_bias`,
//! `trainer.chains` (PCD only; all f32), `trainer.rng` (u64, the four generator words),
//! `trainer.train_indices`, `trainer.holdout_indices` and `trainer.order` (u64 row indices).
//! Metadata: `config` (JSON [`GreedyConfig`]), `history` (JSON), `trainer` (JSON
//! `{"epoch": …, "n_samples": …}` or `null` when every layer is finished), `layers`, `units`,
//! and the caller's entries. Floats in JSON round-trip exactly.
//!
//! # Hostile input
//!
//! Decoding never trusts the header: the safetensors layer checks every offset and every
//! tensor's byte length against its shape and dtype (with overflow checks) and the sum against
//! the buffer's length before any tensor is touched, so decoding allocates at most a small
//! multiple of the input's length. Readers take a byte limit and refuse longer input before
//! reading past it. Every shape, dtype, count and value is then checked against the layout
//! above; a checkpoint's state is checked completely by [`GreedyTrainer::from_state`]
//! (which resuming requires) against the data and the requested run.
//!
//! [`GreedyTrainer::from_state`]: crate::GreedyTrainer::from_state

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

use ndarray::{Array1, Array2};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde_json::Value;

use crate::{Dbn, EpochMetrics, Error, GreedyConfig, GreedyState, Rbm, Result, TrainerState, Units};

/// Kind tag of a model file.
pub const KIND_MODEL: &str = "kadanoff.dbn";
/// Kind tag of a training checkpoint.
pub const KIND_CHECKPOINT: &str = "kadanoff.checkpoint";
/// Version of the model layout described in the module documentation.
pub const MODEL_VERSION: &str = "1";
/// Version of the checkpoint layout (1 was the command line's serde-walking layout).
pub const CHECKPOINT_VERSION: &str = "2";
/// The sign convention, spelled out in every file.
pub const SIGN_CONVENTION: &str = "E(v,h) = -v^T W h - a^T v - b^T h with W = weight (n_visible, n_hidden), \
a = visible_bias, b = hidden_bias; p(v,h) = exp(-E)/Z. The paper (Mehta & Schwab) writes E with plus signs: \
its parameters are the negatives of these.";
/// The most layers a model file may declare.
pub const MAX_LAYERS: usize = 64;

/// A decoded model file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The network.
    pub dbn: Dbn<f32>,
    /// Every metadata entry, as stored (JSON values are JSON text).
    pub metadata: BTreeMap<String, String>,
}

/// A decoded checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The saved run; continue it with [`crate::GreedyTrainer::resume`].
    pub state: GreedyState<f32>,
    /// Every metadata entry, as stored (the caller's entries among them).
    pub metadata: BTreeMap<String, String>,
}

fn bad_tensor(name: &str, reason: impl Into<String>) -> Error {
    Error::Tensor { name: name.to_string(), reason: reason.into() }
}

fn bad_metadata(key: &str, reason: impl Into<String>) -> Error {
    Error::Metadata { key: key.to_string(), reason: reason.into() }
}

// ----- writing ------------------------------------------------------------------------------

/// Owned tensor data before serialisation.
struct Tensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Tensor {
    fn f32<'a>(shape: &[usize], values: impl Iterator<Item = &'a f32>) -> Self {
        Tensor {
            dtype: Dtype::F32,
            shape: shape.to_vec(),
            bytes: values.flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    fn u64(values: impl ExactSizeIterator<Item = u64>) -> Self {
        let shape = vec![values.len()];
        Tensor { dtype: Dtype::U64, shape, bytes: values.flat_map(u64::to_le_bytes).collect() }
    }
}

fn rbm_tensors(out: &mut Vec<(String, Tensor)>, prefix: &str, rbm: &Rbm<f32>) {
    out.push((format!("{prefix}weight"), Tensor::f32(rbm.weights().shape(), rbm.weights().iter())));
    out.push((format!("{prefix}visible_bias"), Tensor::f32(&[rbm.n_visible()], rbm.visible_bias().iter())));
    out.push((format!("{prefix}hidden_bias"), Tensor::f32(&[rbm.n_hidden()], rbm.hidden_bias().iter())));
}

fn layer_tensors(out: &mut Vec<(String, Tensor)>, layers: &[Rbm<f32>]) {
    for (i, l) in layers.iter().enumerate() {
        rbm_tensors(out, &format!("layers.{i}."), l);
    }
}

fn units_json(units: impl Iterator<Item = Units>) -> String {
    Value::from(units.map(|u| u.name()).collect::<Vec<_>>()).to_string()
}

fn layer_units(layers: &[Rbm<f32>]) -> String {
    let first = layers.first().map(|l| l.visible_units());
    units_json(first.into_iter().chain(layers.iter().map(|l| l.hidden_units())))
}

fn base_metadata(kind: &str, version: &str, layers: &[Rbm<f32>]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("kind".into(), kind.into());
    m.insert("format_version".into(), version.into());
    m.insert("layers".into(), layers.len().to_string());
    m.insert("units".into(), layer_units(layers));
    m.insert("sign_convention".into(), SIGN_CONVENTION.into());
    m.insert("tool_version".into(), env!("CARGO_PKG_VERSION").into());
    m
}

fn serialize(tensors: Vec<(String, Tensor)>, metadata: BTreeMap<String, String>) -> Result<Vec<u8>> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, t)| {
            TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| bad_tensor(name, e.to_string()))
        })
        .collect::<Result<_>>()?;
    let metadata: HashMap<String, String> = metadata.into_iter().collect();
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Safetensors { reason: e.to_string() })?;
    canonical_header(bytes)
}

/// Rewrites the JSON header with its keys sorted (the safetensors crate keeps metadata in a
/// `HashMap`, whose order changes from process to process), so that the same content always
/// has the same bytes. The header stays padded with spaces to a multiple of 8 bytes.
fn canonical_header(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let internal = |reason: &str| Error::Safetensors { reason: format!("re-encoding the header: {reason}") };
    let n = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize);
    let n = n.filter(|&n| 8 + n <= bytes.len()).ok_or_else(|| internal("short buffer"))?;
    // serde_json's Map is ordered by key.
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).map_err(|e| internal(&e.to_string()))?;
    let mut text = serde_json::to_vec(&header).map_err(|e| internal(&e.to_string()))?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(bytes.len() + 8);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Encodes a network as a model file. `extra` adds (or overrides) metadata entries.
pub fn encode_model(dbn: &Dbn<f32>, extra: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut tensors = Vec::new();
    layer_tensors(&mut tensors, dbn.layers());
    let mut meta = base_metadata(KIND_MODEL, MODEL_VERSION, dbn.layers());
    meta.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    serialize(tensors, meta)
}

/// Writes [`encode_model`]'s bytes to `w`.
pub fn write_model<W: Write>(mut w: W, dbn: &Dbn<f32>, extra: &BTreeMap<String, String>) -> Result<()> {
    let bytes = encode_model(dbn, extra)?;
    w.write_all(&bytes).map_err(io_error)
}

/// Encodes a greedy run's state as a checkpoint. `extra` adds metadata entries (for example
/// the identity of the data).
pub fn encode_checkpoint(state: &GreedyState<f32>, extra: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let json = |what: &str, r: serde_json::Result<String>| r.map_err(|e| bad_metadata(what, e.to_string()));
    let mut tensors = Vec::new();
    layer_tensors(&mut tensors, &state.finished);
    let trainer = match &state.current {
        None => "null".to_string(),
        Some(t) => {
            rbm_tensors(&mut tensors, "trainer.", &t.model);
            tensors.push((
                "trainer.velocity.weight".into(),
                Tensor::f32(t.velocity_weights.shape(), t.velocity_weights.iter()),
            ));
            tensors.push((
                "trainer.velocity.visible_bias".into(),
                Tensor::f32(&[t.velocity_visible.len()], t.velocity_visible.iter()),
            ));
            tensors.push((
                "trainer.velocity.hidden_bias".into(),
                Tensor::f32(&[t.velocity_hidden.len()], t.velocity_hidden.iter()),
            ));
            if let Some(c) = &t.chains {
                tensors.push(("trainer.chains".into(), Tensor::f32(c.shape(), c.iter())));
            }
            tensors.push(("trainer.rng".into(), Tensor::u64(t.rng.iter().copied())));
            let idx = |v: &[usize]| Tensor::u64(v.iter().map(|&i| i as u64));
            tensors.push(("trainer.train_indices".into(), idx(&t.train_indices)));
            tensors.push(("trainer.holdout_indices".into(), idx(&t.holdout_indices)));
            tensors.push(("trainer.order".into(), idx(&t.order)));
            serde_json::json!({"epoch": t.epoch, "n_samples": t.n_samples}).to_string()
        }
    };
    let mut meta = base_metadata(KIND_CHECKPOINT, CHECKPOINT_VERSION, &state.finished);
    if state.finished.is_empty() {
        meta.insert("units".into(), "[]".into());
    }
    meta.insert("config".into(), json("config", serde_json::to_string(&state.config))?);
    meta.insert("history".into(), json("history", serde_json::to_string(&state.history))?);
    meta.insert("trainer".into(), trainer);
    meta.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    serialize(tensors, meta)
}

/// Writes [`encode_checkpoint`]'s bytes to `w`.
pub fn write_checkpoint<W: Write>(
    mut w: W,
    state: &GreedyState<f32>,
    extra: &BTreeMap<String, String>,
) -> Result<()> {
    let bytes = encode_checkpoint(state, extra)?;
    w.write_all(&bytes).map_err(io_error)
}

// ----- reading ------------------------------------------------------------------------------

fn io_error(e: std::io::Error) -> Error {
    Error::Io { message: e.to_string() }
}

/// Reads all of `r`, refusing (before reading further) input longer than `max_bytes`.
pub fn read_limited<R: Read>(r: R, max_bytes: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(max_bytes.saturating_add(1)).read_to_end(&mut buf).map_err(io_error)?;
    if buf.len() as u64 > max_bytes {
        return Err(Error::TooLarge { limit: max_bytes });
    }
    Ok(buf)
}

/// Reads a model file from `r` (at most `max_bytes`).
pub fn read_model<R: Read>(r: R, max_bytes: u64) -> Result<ModelFile> {
    decode_model(&read_limited(r, max_bytes)?)
}

/// Reads a checkpoint from `r` (at most `max_bytes`).
pub fn read_checkpoint<R: Read>(r: R, max_bytes: u64) -> Result<Checkpoint> {
    decode_checkpoint(&read_limited(r, max_bytes)?)
}

/// The parsed container and its metadata, with the kind and version checked.
fn open<'a>(
    bytes: &'a [u8],
    kind: &'static str,
    version: &'static str,
) -> Result<(SafeTensors<'a>, BTreeMap<String, String>)> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::Safetensors { reason: e.to_string() })?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Safetensors { reason: e.to_string() })?;
    let meta: BTreeMap<String, String> = header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let found = meta.get("kind").map_or("(none)", String::as_str);
    if found != kind {
        return Err(Error::FileKind { expected: kind, found: found.to_string() });
    }
    let found = meta.get("format_version").map_or("(none)", String::as_str);
    if found != version {
        return Err(Error::FormatVersion { expected: version, found: found.to_string() });
    }
    Ok((st, meta))
}

fn get<'a>(meta: &'a BTreeMap<String, String>, key: &str) -> Result<&'a str> {
    meta.get(key).map(String::as_str).ok_or_else(|| bad_metadata(key, "is missing"))
}

fn parse_json<T: serde::de::DeserializeOwned>(meta: &BTreeMap<String, String>, key: &str) -> Result<T> {
    serde_json::from_str(get(meta, key)?).map_err(|e| bad_metadata(key, e.to_string()))
}

fn layer_count(meta: &BTreeMap<String, String>, min: usize) -> Result<usize> {
    let s = get(meta, "layers")?;
    let count: usize = s.parse().map_err(|_| bad_metadata("layers", format!("{s:?} is not a count")))?;
    if !(min..=MAX_LAYERS).contains(&count) {
        return Err(bad_metadata("layers", format!("says {count}; expected {min} to {MAX_LAYERS}")));
    }
    Ok(count)
}

fn units_list(meta: &BTreeMap<String, String>, count: usize) -> Result<Vec<Units>> {
    let names: Vec<String> = parse_json(meta, "units")?;
    if names.len() != count {
        return Err(bad_metadata("units", format!("lists {} unit types, expected {count}", names.len())));
    }
    names.iter().map(|u| u.parse::<Units>().map_err(|e| bad_metadata("units", e.to_string()))).collect()
}

/// A tensor's shape and values as f32 (from F32, or F64 when `allow_f64`), all finite.
fn tensor_f32(st: &SafeTensors<'_>, name: &str, shape: &[usize], allow_f64: bool) -> Result<Vec<f32>> {
    let t = st.tensor(name).map_err(|_| bad_tensor(name, "is missing"))?;
    if t.shape() != shape {
        return Err(bad_tensor(name, format!("has shape {:?}, expected {shape:?}", t.shape())));
    }
    let values: Vec<f32> = match t.dtype() {
        Dtype::F32 => {
            t.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
        }
        Dtype::F64 if allow_f64 => t
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        other => return Err(bad_tensor(name, format!("has dtype {other:?}, expected F32"))),
    };
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        return Err(bad_tensor(name, format!("holds a non-finite value at index {i}")));
    }
    Ok(values)
}

fn tensor_shape(st: &SafeTensors<'_>, name: &str) -> Result<Vec<usize>> {
    Ok(st.tensor(name).map_err(|_| bad_tensor(name, "is missing"))?.shape().to_vec())
}

fn tensor_u64(st: &SafeTensors<'_>, name: &str) -> Result<Vec<u64>> {
    let t = st.tensor(name).map_err(|_| bad_tensor(name, "is missing"))?;
    if t.dtype() != Dtype::U64 || t.shape().len() != 1 {
        return Err(bad_tensor(
            name,
            format!("is {:?} of shape {:?}, expected a U64 vector", t.dtype(), t.shape()),
        ));
    }
    Ok(t.data().chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

fn tensor_indices(st: &SafeTensors<'_>, name: &str) -> Result<Vec<usize>> {
    tensor_u64(st, name)?
        .into_iter()
        .map(|i| usize::try_from(i).map_err(|_| bad_tensor(name, format!("holds index {i}"))))
        .collect()
}

/// The RBM stored under `prefix`, whose weight shape is read from the file (2-D, non-empty).
fn read_rbm(st: &SafeTensors<'_>, prefix: &str, units: (Units, Units), allow_f64: bool) -> Result<Rbm<f32>> {
    let wname = format!("{prefix}weight");
    let ws = tensor_shape(st, &wname)?;
    if ws.len() != 2 {
        return Err(bad_tensor(&wname, format!("has shape {ws:?}, expected (n_visible, n_hidden)")));
    }
    let (nv, nh) = (ws[0], ws[1]);
    let w = tensor_f32(st, &wname, &ws, allow_f64)?;
    let a = tensor_f32(st, &format!("{prefix}visible_bias"), &[nv], allow_f64)?;
    let b = tensor_f32(st, &format!("{prefix}hidden_bias"), &[nh], allow_f64)?;
    let weights = Array2::from_shape_vec((nv, nh), w).map_err(|e| bad_tensor(&wname, e.to_string()))?;
    Rbm::new(weights, Array1::from(a), Array1::from(b), units.0, units.1)
}

fn read_layers(st: &SafeTensors<'_>, units: &[Units], allow_f64: bool) -> Result<Vec<Rbm<f32>>> {
    let mut layers: Vec<Rbm<f32>> = Vec::with_capacity(units.len().saturating_sub(1));
    for i in 0..units.len().saturating_sub(1) {
        let rbm = read_rbm(st, &format!("layers.{i}."), (units[i], units[i + 1]), allow_f64)?;
        if let Some(prev) = layers.last() {
            if prev.n_hidden() != rbm.n_visible() {
                return Err(Error::LayersDoNotChain {
                    layer: i,
                    expected: prev.n_hidden(),
                    found: rbm.n_visible(),
                });
            }
        }
        layers.push(rbm);
    }
    Ok(layers)
}

/// Decodes a model file held in memory.
pub fn decode_model(bytes: &[u8]) -> Result<ModelFile> {
    let (st, metadata) = open(bytes, KIND_MODEL, MODEL_VERSION)?;
    let count = layer_count(&metadata, 1)?;
    let units = units_list(&metadata, count + 1)?;
    let layers = read_layers(&st, &units, true)?;
    if st.len() != 3 * count {
        return Err(Error::Safetensors {
            reason: format!("holds {} tensors; a {count}-layer model has {}", st.len(), 3 * count),
        });
    }
    Ok(ModelFile { dbn: Dbn::new(layers)?, metadata })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainerScalars {
    epoch: usize,
    n_samples: usize,
}

/// Decodes a checkpoint held in memory. The structure is checked here; the state itself is
/// checked completely when a run is continued from it ([`crate::GreedyTrainer::from_state`]).
pub fn decode_checkpoint(bytes: &[u8]) -> Result<Checkpoint> {
    let (st, metadata) = open(bytes, KIND_CHECKPOINT, CHECKPOINT_VERSION)?;
    let config: GreedyConfig = parse_json(&metadata, "config")?;
    config.validate()?;
    let count = layer_count(&metadata, 0)?;
    if count > config.layers.len() {
        return Err(bad_metadata(
            "layers",
            format!("says {count} finished layers of {}", config.layers.len()),
        ));
    }
    let units = if count == 0 { Vec::new() } else { units_list(&metadata, count + 1)? };
    let finished = read_layers(&st, &units, false)?;
    let history: Vec<Vec<EpochMetrics>> = parse_json(&metadata, "history")?;
    let scalars: Option<TrainerScalars> = parse_json(&metadata, "trainer")?;
    let mut expected_tensors = 3 * count;
    let current = match scalars {
        None => None,
        Some(TrainerScalars { epoch, n_samples }) => {
            let l = count;
            let layer = config
                .layers
                .get(l)
                .ok_or_else(|| bad_metadata("trainer", "is present but every layer is finished"))?;
            let vu = if l == 0 { config.visible_units } else { config.hidden_units };
            let model = read_rbm(&st, "trainer.", (vu, config.hidden_units), false)?;
            let (nv, nh) = (model.n_visible(), model.n_hidden());
            let vw = tensor_f32(&st, "trainer.velocity.weight", &[nv, nh], false)?;
            let velocity_weights = Array2::from_shape_vec((nv, nh), vw)
                .map_err(|e| bad_tensor("trainer.velocity.weight", e.to_string()))?;
            let velocity_visible =
                Array1::from(tensor_f32(&st, "trainer.velocity.visible_bias", &[nv], false)?);
            let velocity_hidden =
                Array1::from(tensor_f32(&st, "trainer.velocity.hidden_bias", &[nh], false)?);
            let chains = if layer.train.persistent {
                let shape = [layer.train.batch_size, nv];
                let c = tensor_f32(&st, "trainer.chains", &shape, false)?;
                expected_tensors += 1;
                Some(
                    Array2::from_shape_vec((shape[0], shape[1]), c)
                        .map_err(|e| bad_tensor("trainer.chains", e.to_string()))?,
                )
            } else {
                None
            };
            let rng: [u64; 4] = tensor_u64(&st, "trainer.rng")?
                .try_into()
                .map_err(|_| bad_tensor("trainer.rng", "does not hold four words"))?;
            expected_tensors += 10;
            Some(TrainerState {
                config: layer.train.clone(),
                model,
                velocity_weights,
                velocity_visible,
                velocity_hidden,
                chains,
                rng,
                epoch,
                n_samples,
                train_indices: tensor_indices(&st, "trainer.train_indices")?,
                holdout_indices: tensor_indices(&st, "trainer.holdout_indices")?,
                order: tensor_indices(&st, "trainer.order")?,
            })
        }
    };
    if st.len() != expected_tensors {
        return Err(Error::Safetensors {
            reason: format!("holds {} tensors; this checkpoint should have {expected_tensors}", st.len()),
        });
    }
    Ok(Checkpoint { state: GreedyState { config, finished, history, current }, metadata })
}
