//! Model files and checkpoints: exact round trips, equal bytes for equal content, a resumed
//! checkpoint that continues bit for bit (the `resume` example), and a fuzz test: valid files
//! mutated (truncation, bit flips, a header that lies about shapes, dtypes, offsets and its own
//! length, metadata that lies about counts and settings) for a bounded number of iterations
//! with a fixed seed give a clean error or a valid result, never a panic, and never an
//! allocation beyond a small multiple of the input (checked in a child process whose address
//! space is limited: an oversized allocation would abort it).

#[path = "../examples/resume.rs"]
mod resume;

use std::collections::BTreeMap;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::format::{
    decode_checkpoint, decode_model, encode_checkpoint, encode_model, read_limited, KIND_MODEL,
};
use rbm_core::{Dbn, Error, GreedyConfig, GreedyTrainer, Rbm, TrainConfig, Units};

fn toy() -> Dbn<f32> {
    let w1 = Array2::from_shape_fn((6, 3), |(i, j)| (i as f32 - 2.5) * 0.1 + j as f32 * 0.01);
    let w2 = Array2::from_shape_fn((3, 2), |(i, j)| i as f32 * 0.2 - j as f32 * 0.3);
    Dbn::new(vec![
        Rbm::new(w1, vec![0.1; 6].into(), vec![-0.2; 3].into(), Units::Spin, Units::Spin).unwrap(),
        Rbm::new(w2, vec![0.3; 3].into(), vec![0.0; 2].into(), Units::Spin, Units::Binary).unwrap(),
    ])
    .unwrap()
}

fn data(seed: u64) -> Array2<f32> {
    resume::toy_data(seed)
}

fn greedy(persistent: bool) -> GreedyConfig {
    let train = TrainConfig {
        batch_size: 20,
        holdout: 0.1,
        exact_max_units: 4,
        ..TrainConfig::recommended(Units::Spin, persistent, 2, 0)
    };
    GreedyConfig::uniform(Units::Spin, Units::Spin, &[8, 4], &train, |l| 50 + l as u64)
}

/// A checkpoint of a run stopped after `steps` epochs.
fn checkpoint_bytes(persistent: bool, steps: usize) -> Vec<u8> {
    let d = data(3);
    let mut run = GreedyTrainer::new(greedy(persistent), d.view()).unwrap();
    for _ in 0..steps {
        run.step(d.view()).unwrap();
    }
    encode_checkpoint(&run.state(), &BTreeMap::from([("run".to_string(), "test".to_string())])).unwrap()
}

#[test]
fn models_round_trip_bit_for_bit_with_equal_bytes() {
    let dbn = toy();
    let extra = BTreeMap::from([("seed".to_string(), "7".to_string())]);
    let bytes = encode_model(&dbn, &extra).unwrap();
    assert_eq!(bytes, encode_model(&dbn, &extra).unwrap());
    let back = decode_model(&bytes).unwrap();
    assert_eq!(back.dbn, dbn);
    assert_eq!(back.metadata["kind"], KIND_MODEL);
    assert_eq!(back.metadata["units"], r#"["spin","spin","binary"]"#);
    assert_eq!(back.metadata["seed"], "7");
    // The documented layout, readable by any safetensors reader: sorted header, f32 tensors.
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["layers.1.weight"]["shape"], serde_json::json!([3, 2]));
    assert_eq!(header["layers.0.hidden_bias"]["dtype"], "F32");
    let text = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    assert!(text.find("\"__metadata__\"").unwrap() < text.find("\"layers.0.hidden_bias\"").unwrap());
    // Readers refuse input over their limit before reading all of it.
    assert_eq!(read_limited(&bytes[..], bytes.len() as u64).unwrap(), bytes);
    assert!(matches!(read_limited(&bytes[..], 100), Err(Error::TooLarge { limit: 100 })));
}

#[test]
fn checkpoints_round_trip_and_resume_bit_for_bit() {
    let d = data(3);
    for persistent in [false, true] {
        for steps in [0, 1, 2, 3, 4] {
            let bytes = checkpoint_bytes(persistent, steps);
            let c = decode_checkpoint(&bytes).unwrap();
            let mut run = GreedyTrainer::new(greedy(persistent), d.view()).unwrap();
            for _ in 0..steps {
                run.step(d.view()).unwrap();
            }
            assert_eq!(c.state, run.state(), "persistent {persistent}, {steps} steps");
            assert_eq!(c.metadata["run"], "test");
            let mut resumed = GreedyTrainer::resume(&greedy(persistent), c.state, d.view()).unwrap();
            while !run.is_finished() {
                run.step(d.view()).unwrap();
                resumed.step(d.view()).unwrap();
            }
            assert!(resumed.is_finished());
            assert_eq!(resumed.into_dbn().unwrap(), run.into_dbn().unwrap());
        }
    }
}

#[test]
fn the_resume_example_matches_an_uninterrupted_run() {
    let dir = std::env::temp_dir().join(format!("rbm-core-format-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = data(1);
    let interrupted = resume::run(&dir, &d, 4).unwrap();
    let straight = resume::run(&dir, &d, 0).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(interrupted, straight);
    assert_eq!(straight.sizes(), vec![16, 8, 4]);
}

#[test]
fn damaged_and_foreign_files_are_refused() {
    let bytes = encode_model(&toy(), &BTreeMap::new()).unwrap();
    for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        assert!(decode_model(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    let mut corrupt = bytes.clone();
    corrupt[0] = 0xff;
    corrupt[7] = 0x7f;
    assert!(matches!(decode_model(&corrupt), Err(Error::Safetensors { .. })));
    // A checkpoint is not a model, and the other way round.
    let ckpt = checkpoint_bytes(false, 1);
    assert!(matches!(decode_model(&ckpt), Err(Error::FileKind { .. })));
    assert!(matches!(decode_checkpoint(&bytes), Err(Error::FileKind { .. })));
    // A checkpoint of the old layout (version 1) is refused with its version.
    let old = rewrite_header(&ckpt, |h| h["__metadata__"]["format_version"] = "1".into());
    assert!(matches!(decode_checkpoint(&old), Err(Error::FormatVersion { .. })));
    // Settings that cannot be trained are refused on reading.
    let lie = rewrite_metadata_json(&ckpt, "config", |c| c["layers"][0]["train"]["l1"] = 1e300.into());
    assert!(matches!(decode_checkpoint(&lie), Err(Error::InvalidParameter { name: "l1", .. })));
}

// ----- fuzzing ------------------------------------------------------------------------------

fn split_header(bytes: &[u8]) -> Option<(serde_json::Value, &[u8])> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header = serde_json::from_slice(bytes.get(8..8 + n)?).ok()?;
    Some((header, &bytes[8 + n..]))
}

fn join_header(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    out
}

fn rewrite_header(bytes: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let (mut h, data) = split_header(bytes).unwrap();
    f(&mut h);
    join_header(&h, data)
}

fn rewrite_metadata_json(bytes: &[u8], key: &str, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    rewrite_header(bytes, |h| {
        let mut v: serde_json::Value =
            serde_json::from_str(h["__metadata__"][key].as_str().unwrap()).unwrap();
        f(&mut v);
        h["__metadata__"][key] = v.to_string().into();
    })
}

/// A number that a hostile header might hold.
fn wild(rng: &mut Xoshiro256PlusPlus) -> u64 {
    match rng.random_range(0..6) {
        0 => 0,
        1 => rng.random_range(0..10),
        2 => 1 << rng.random_range(20..63),
        3 => u64::MAX - rng.random_range(0..3),
        4 => 1_000_000_000_000,
        _ => rng.random(),
    }
}

/// One mutation of `bytes`.
fn mutate(bytes: &[u8], rng: &mut Xoshiro256PlusPlus) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.random_range(0..9) {
        // Truncation.
        0 => out.truncate(rng.random_range(0..bytes.len())),
        // Bit flips anywhere, or in the header.
        1 | 2 => {
            let end = if rng.random() {
                out.len()
            } else {
                8 + (split_header(bytes).map_or(0, |(h, _)| h.to_string().len()))
            };
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..end.min(out.len()));
                out[i] ^= 1 << rng.random_range(0..8);
            }
        }
        // The length field lies.
        3 => out[..8].copy_from_slice(&wild(rng).to_le_bytes()),
        // Header lies about one tensor: shape, dtype or offsets.
        4..=6 => {
            let Some((mut h, data)) = split_header(bytes) else { return out };
            let Some(obj) = h.as_object() else { return out };
            let names: Vec<String> = obj.keys().filter(|k| *k != "__metadata__").cloned().collect();
            if names.is_empty() {
                return out;
            }
            let name = &names[rng.random_range(0..names.len())];
            let t = &mut h[name];
            match rng.random_range(0..4) {
                0 => {
                    let dims = t["shape"].as_array().map_or(0, Vec::len);
                    let mut shape: Vec<u64> = (0..dims.max(1)).map(|_| wild(rng)).collect();
                    if rng.random() {
                        shape.push(wild(rng));
                    }
                    t["shape"] = serde_json::json!(shape);
                }
                1 => {
                    let dtypes = ["F32", "F64", "U8", "I64", "U64", "BF16", "BOOL", "F16", "XYZ"];
                    t["dtype"] = dtypes[rng.random_range(0..dtypes.len())].into();
                }
                2 => t["data_offsets"] = serde_json::json!([wild(rng), wild(rng)]),
                _ => {
                    let other = h[&names[rng.random_range(0..names.len())]].clone();
                    h[name] = other;
                }
            }
            out = join_header(&h, data);
        }
        // Metadata lies: counts, units, settings, histories, trainer scalars.
        _ => {
            let Some((mut h, data)) = split_header(bytes) else { return out };
            let Some(meta) = h.get_mut("__metadata__").and_then(|m| m.as_object_mut()) else { return out };
            let keys: Vec<String> = meta.keys().cloned().collect();
            if keys.is_empty() {
                return out;
            }
            let key = &keys[rng.random_range(0..keys.len())];
            let text = meta[key].as_str().unwrap_or_default().to_string();
            let new = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(mut v) => {
                    lie_in_json(&mut v, rng);
                    v.to_string()
                }
                Err(_) => {
                    ["", "0", "65", "1000000000", "spin", "[]", "null"][rng.random_range(0..7)].to_string()
                }
            };
            meta.insert(key.clone(), new.into());
            out = join_header(&h, data);
        }
    }
    out
}

/// Replaces one number, string or value somewhere inside `v` by a lie.
fn lie_in_json(v: &mut serde_json::Value, rng: &mut Xoshiro256PlusPlus) {
    use serde_json::Value;
    match v {
        Value::Array(a) if !a.is_empty() && rng.random_range(0..4) > 0 => {
            let i = rng.random_range(0..a.len());
            lie_in_json(&mut a[i], rng)
        }
        Value::Object(m) if !m.is_empty() && rng.random_range(0..4) > 0 => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = &keys[rng.random_range(0..keys.len())];
            lie_in_json(m.get_mut(k).unwrap(), rng)
        }
        _ => {
            *v = match rng.random_range(0..6) {
                0 => Value::from(wild(rng)),
                1 => Value::from(-1.0),
                2 => Value::from(1e300),
                3 => Value::from("binary"),
                4 => Value::Null,
                _ => Value::from(vec![Value::from(wild(rng))]),
            }
        }
    }
}

/// Mutates every seed file `iterations` times; every outcome must be a clean error or a
/// valid result no larger than its input, and a checkpoint that decodes must either continue
/// or be refused by `GreedyTrainer::from_state`.
fn fuzz(iterations: usize) {
    let d = data(3);
    let models = [encode_model(&toy(), &BTreeMap::new()).unwrap()];
    let checkpoints = [checkpoint_bytes(false, 1), checkpoint_bytes(true, 3), checkpoint_bytes(true, 4)];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261201);
    let (mut decoded, mut refused) = (0usize, 0usize);
    for it in 0..iterations {
        let seed = &if it % 2 == 0 { &models[..] } else { &checkpoints[..] };
        let base = &seed[rng.random_range(0..seed.len())];
        let mut bytes = mutate(base, &mut rng);
        if rng.random_range(0..3) == 0 {
            bytes = mutate(&bytes, &mut rng);
        }
        if it % 2 == 0 {
            match decode_model(&bytes) {
                Ok(m) => {
                    decoded += 1;
                    let params: usize =
                        m.dbn.layers().iter().map(|r| (r.n_visible() + 1) * (r.n_hidden() + 1)).sum();
                    assert!(
                        params * 4 <= bytes.len() + 64,
                        "iteration {it}: {params} parameters from {} bytes",
                        bytes.len()
                    );
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        } else {
            match decode_checkpoint(&bytes) {
                Ok(c) => {
                    decoded += 1;
                    // Continuing must be refused or work; the state is checked against the data.
                    if let Ok(mut run) = GreedyTrainer::from_state(c.state, d.view()) {
                        if !run.is_finished() {
                            let _ = run.step(d.view());
                        }
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    eprintln!("fuzz: {iterations} mutations, {decoded} decoded, {refused} refused");
    assert!(refused > iterations / 2, "most mutations must be refused: {refused}");
    assert!(decoded > 0, "some mutations (bit flips in values, harmless metadata) still decode");
}

/// The fuzz loop runs in a child process whose address space is limited to 2 GiB (`ulimit -v`):
/// an allocation driven by a lying header would abort it instead of passing unnoticed.
#[test]
fn fuzzed_models_and_checkpoints_fail_cleanly_within_a_memory_limit() {
    const CHILD: &str = "RBM_CORE_FUZZ_CHILD";
    if std::env::var(CHILD).is_ok() {
        fuzz(10_000);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" --exact fuzzed_models_and_checkpoints_fail_cleanly_within_a_memory_limit --nocapture --test-threads 1")
        .arg(&exe)
        .env(CHILD, "1")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fuzz child failed ({:?}): {stderr}", out.status);
    assert!(stderr.contains("fuzz: 10000 mutations"), "the child ran the fuzz loop: {stderr}");
}
