//! `kadanoff train`: greedy layer-wise training of a deep belief network on a `.npy` data set,
//! with atomic checkpoints and bit-exact resumption.
//!
//! Recipe (identical to `rbm_core::dbn::train_greedy`): layer `ℓ` is trained with seed
//! `seed + ℓ` on one sampled up pass of the data through the finished layers below, drawn
//! from that seed's stream advanced by one jump. A checkpoint (`MODEL.safetensors.ckpt`) is
//! written atomically after an epoch when at least a few seconds have passed since the last one,
//! and at the end of every layer; `--resume` restarts from it and ends with a model
//! byte-identical to an uninterrupted run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use ndarray::{Array2, ArrayView2};
use rbm_core::ais::{AisConfig, BetaSchedule};
use rbm_core::dbn::{layer_config, next_layer_data};
use rbm_core::{EpochMetrics, MomentumSwitch, Rbm, TrainConfig, Trainer, Units};
use serde_json::{json, Map, Value};

use crate::files::{self, PendingOutput};
use crate::model_file::{self, Checkpoint};
use crate::progress::Progress;

/// Arguments of `kadanoff train`.
#[derive(Args, Clone)]
pub struct TrainArgs {
    /// Training data: a `.npy` of ±1 (or 0/1) values, shape (samples, ...); each sample is flattened.
    #[arg(long)]
    pub data: PathBuf,
    /// Hidden layer sizes, data side first, e.g. `400,100,25`.
    #[arg(long, value_delimiter = ',', default_value = "400,100,25")]
    pub layers: Vec<usize>,
    /// Unit type of every layer: `spin` (±1, as in the paper) or `binary` (0/1).
    #[arg(long, default_value = "spin")]
    pub units: String,
    /// Gibbs steps in the negative phase (CD-k).
    #[arg(long, default_value_t = 1)]
    pub cd_k: usize,
    /// Persistent contrastive divergence (PCD) instead of CD.
    #[arg(long)]
    pub persistent: bool,
    /// Epochs per layer.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Learning rate (default 0.01 for spin units, 0.1 for binary units: the same distribution
    /// has 4× smaller weights and up to 4× larger gradients with spins).
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Initial momentum.
    #[arg(long, default_value_t = 0.5)]
    pub momentum: f64,
    /// Momentum after `--momentum-switch-epoch` (Hinton: 0.9 after 5 epochs). Negative: no switch.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub final_momentum: f64,
    /// First epoch using the final momentum.
    #[arg(long, default_value_t = 5)]
    pub momentum_switch_epoch: usize,
    /// L1 penalty on the weights (the paper's sparsity term).
    #[arg(long, default_value_t = 0.0)]
    pub l1: f64,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub l2: f64,
    /// Standard deviation of the initial Gaussian weights.
    #[arg(long, default_value_t = 0.01)]
    pub init_std: f64,
    /// Fraction of samples held out to monitor overfitting (free-energy gap).
    #[arg(long, default_value_t = 0.0)]
    pub holdout: f64,
    /// Rows used for per-epoch monitoring (reconstruction error, pseudo-log-likelihood).
    #[arg(long, default_value_t = 500)]
    pub monitor_samples: usize,
    /// AIS chains for the log-likelihood of layers too large for exact summation (0: skip AIS).
    #[arg(long, default_value_t = 64)]
    pub ais_chains: usize,
    /// AIS intermediate distributions.
    #[arg(long, default_value_t = 300)]
    pub ais_steps: usize,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output model (`.safetensors`).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from the checkpoint beside `--out` (if any) instead of starting over.
    #[arg(long)]
    pub resume: bool,
    /// Overwrite an existing model.
    #[arg(long)]
    pub force: bool,
    /// Print the final per-layer metrics as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Unit type from its name.
pub fn parse_units(s: &str) -> Result<Units> {
    match s {
        "spin" => Ok(Units::Spin),
        "binary" => Ok(Units::Binary),
        _ => bail!("--units must be `spin` or `binary`, got `{s}`"),
    }
}

/// A spin `±1` as a unit value: itself for spin units, `(1 + s)/2` for binary units.
pub fn spin_to_unit(s: i8, units: Units) -> f32 {
    match units {
        Units::Spin => s as f32,
        Units::Binary => ((1 + s) / 2) as f32,
    }
}

/// A unit value (or a sample of one) as a spin: `+1` for the upper value, `-1` for the lower.
pub fn unit_to_spin(x: f32, units: Units) -> i8 {
    let upper = match units {
        Units::Spin => x > 0.0,
        Units::Binary => x > 0.5,
    };
    if upper {
        1
    } else {
        -1
    }
}

/// Read a data set as an `(samples, units)` f32 matrix in the given unit convention: ±1 data
/// is mapped to 0/1 for binary units (`(1 + s)/2`); 0/1 data is refused for spin units.
pub fn load_training_data(path: &Path, units: Units) -> Result<(Array2<f32>, Vec<usize>)> {
    let data = files::read_values(path, &[-1, 0, 1])?;
    let has_zero = data.values.contains(&0);
    let has_minus = data.values.contains(&-1);
    if has_zero && has_minus {
        bail!("{}: mixes 0, -1 and 1; expected ±1 spins or 0/1 bits", path.display());
    }
    if has_zero && units == Units::Spin {
        bail!("{}: holds 0/1 values but --units spin needs ±1 values", path.display());
    }
    let (n, d) = (data.samples(), data.shape[1..].iter().product::<usize>());
    // 0/1 data is already in binary units; ±1 data is converted.
    let values: Vec<f32> =
        data.values.iter().map(|&x| if has_zero { x as f32 } else { spin_to_unit(x, units) }).collect();
    Ok((Array2::from_shape_vec((n, d), values)?, data.shape[1..].to_vec()))
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn train_config(args: &TrainArgs, units: Units) -> TrainConfig {
    TrainConfig {
        cd_k: args.cd_k,
        persistent: args.persistent,
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate.unwrap_or(match units {
            Units::Spin => 0.01,
            Units::Binary => 0.1,
        }),
        momentum: args.momentum,
        momentum_switch: (args.final_momentum >= 0.0)
            .then_some(MomentumSwitch { epoch: args.momentum_switch_epoch, value: args.final_momentum }),
        l1: args.l1,
        l2: args.l2,
        init_std: args.init_std,
        visible_bias_from_data: true,
        holdout: args.holdout,
        monitor_samples: args.monitor_samples,
        exact_max_units: 20,
        seed: args.seed,
    }
}

/// The next layer's training data: one sampled up pass through `rbm` (the recipe of
/// `rbm_core::dbn::train_greedy`, so the CLI's layer-by-layer training gives the same model).
fn next_input(rbm: &Rbm<f32>, x: ArrayView2<f32>, config: &TrainConfig, layer: usize) -> Result<Array2<f32>> {
    Ok(next_layer_data(rbm, x, &layer_config(config, layer))?)
}

/// Log-likelihood per sample of `data` under `rbm`: exact when a layer has ≤ 24 units, else AIS.
pub fn log_likelihood(
    rbm: &Rbm<f32>,
    data: ArrayView2<f32>,
    args_ais: (usize, usize),
    seed: u64,
) -> Result<Value> {
    let r64 = rbm.to_f64();
    let d64 = data.mapv(f64::from);
    if rbm.n_visible().min(rbm.n_hidden()) <= rbm_core::MAX_EXACT_UNITS {
        let ll = r64.exact_log_likelihood(d64.view())?;
        return Ok(json!({"value": ll, "stderr": 0.0, "method": "exact"}));
    }
    let (chains, steps) = args_ais;
    if chains < 2 || steps == 0 {
        return Ok(Value::Null);
    }
    let base = rbm_core::ais::base_rate_bias(d64.view(), rbm.visible_units())?;
    let cfg = AisConfig { chains, steps, schedule: BetaSchedule::Sigmoid { steepness: 4.0 }, seed };
    let est = r64.ais_log_partition(Some(base.view()), &cfg)?;
    let ll = r64.log_likelihood_with(d64.view(), est.log_z)?;
    Ok(json!({"value": ll, "stderr": est.stderr, "method": "ais", "ais_chains": chains, "ais_steps": steps,
              "effective_sample_size": est.effective_sample_size}))
}

fn checkpoint_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".ckpt");
    PathBuf::from(s)
}

fn write_checkpoint(path: &Path, c: &Checkpoint) -> Result<()> {
    let bytes = model_file::encode_checkpoint(c)?;
    let out = PendingOutput::claim(path, true)?;
    out.write_with(|w| {
        use std::io::Write;
        w.write_all(&bytes)?;
        Ok(())
    })?;
    out.commit()
}

/// Minimum wall time between two checkpoints written inside a layer (the environment variable
/// `KADANOFF_CHECKPOINT_SECONDS` overrides it; 0 checkpoints after every epoch).
fn checkpoint_interval() -> Duration {
    let secs =
        std::env::var("KADANOFF_CHECKPOINT_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(5.0);
    Duration::from_secs_f64(secs.clamp(0.0, 1e6))
}

/// The outcome of a training run, for reports.
pub struct TrainOutcome {
    /// The JSON summary printed with `--json`.
    pub summary: Value,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let outcome = train(&args, &Progress::new(args.quiet))?;
    if args.json {
        crate::print_json(&outcome.summary)
    } else {
        for l in outcome.summary["layers"].as_array().into_iter().flatten() {
            outln!(
                "layer {} ({} -> {}): reconstruction error {:.5}, pseudo-log-likelihood {:.5}/unit, log-likelihood {}",
                l["index"],
                l["n_visible"],
                l["n_hidden"],
                l["reconstruction_error"].as_f64().unwrap_or(f64::NAN),
                l["pseudo_log_likelihood"].as_f64().unwrap_or(f64::NAN),
                match l["log_likelihood"].as_f64() {
                    Some(x) => format!("{x:.4} ({})", l["log_likelihood_method"].as_str().unwrap_or("")),
                    None => "n/a".into(),
                }
            );
        }
        outln!("model written to {}", args.out.display());
        Ok(())
    }
}

/// Train as `args` says, reporting to `progress`; writes the model and removes the checkpoint.
pub fn train(args: &TrainArgs, progress: &Progress) -> Result<TrainOutcome> {
    let units = parse_units(&args.units)?;
    if args.layers.is_empty() || args.layers.contains(&0) {
        bail!("--layers must list at least one positive layer size, e.g. 400,100,25");
    }
    if args.out.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        bail!("--out must name a .safetensors file, got {}", args.out.display());
    }
    let config = train_config(args, units);
    config.validate()?;
    let (data, sample_shape) = load_training_data(&args.data, units)?;
    if args.batch_size > data.nrows() {
        bail!(
            "--batch-size {} is larger than the {} samples of {}",
            args.batch_size,
            data.nrows(),
            args.data.display()
        );
    }
    let data_hash = fnv1a(data.iter().flat_map(|x| x.to_le_bytes()));
    let run_id = json!({
        "data_hash": format!("{data_hash:016x}"),
        "data_shape": data.shape(),
        "layers": args.layers,
        "units": units.name(),
        "config": config,
    });
    let ckpt_path = checkpoint_path(&args.out);
    if args.resume && !args.force && args.out.exists() && !ckpt_path.exists() {
        bail!(
            "{} is already trained and has no checkpoint to resume from; use --force to train it again",
            args.out.display()
        );
    }
    let out = PendingOutput::claim(&args.out, args.force || args.resume)?;

    // State: finished layers, their histories, and possibly a trainer in progress.
    let mut layers: Vec<Rbm<f32>> = Vec::new();
    let mut history: Vec<Vec<EpochMetrics>> = Vec::new();
    let mut resumed_trainer: Option<Trainer<f32>> = None;
    if args.resume && ckpt_path.exists() {
        let c = model_file::read_checkpoint(&ckpt_path)?;
        if c.run != run_id {
            let old_layers = c.run.get("layers").cloned().unwrap_or(Value::Null);
            bail!(
                "the checkpoint {} was made by a different run (layers {old_layers}, or other data/settings); \
                 rerun with the same arguments, or without --resume to start over",
                ckpt_path.display()
            );
        }
        layers = c.layers;
        history = serde_json::from_value(c.history).context("checkpoint history")?;
        if let Some(t) = c.trainer {
            let t: Trainer<f32> = serde_json::from_value(t).context("checkpoint trainer state")?;
            t.validate().context("checkpoint trainer state")?;
            resumed_trainer = Some(t);
        }
        progress.message(&format!(
            "resuming from {} ({} finished layer(s){})",
            ckpt_path.display(),
            layers.len(),
            resumed_trainer
                .as_ref()
                .map(|t| format!(", layer {} at epoch {}", layers.len(), t.epochs_done()))
                .unwrap_or_default()
        ));
    } else if args.resume {
        progress.message(&format!("no checkpoint at {}; starting from scratch", ckpt_path.display()));
    }

    // inputs[l] is the training data of layer l: the data, then one sampled up pass per
    // finished layer (recomputed deterministically on resume).
    let n_samples = data.nrows();
    let mut inputs: Vec<Array2<f32>> = vec![data];
    for (l, rbm) in layers.iter().enumerate() {
        let next = next_input(rbm, inputs[l].view(), &config, l)?;
        inputs.push(next);
    }
    let started = Instant::now();
    for l in layers.len()..args.layers.len() {
        let this_config = layer_config(&config, l);
        let input = &inputs[l];
        let mut trainer = match resumed_trainer.take() {
            Some(t) => t,
            None => Trainer::new(this_config, input.view(), units, args.layers[l], units)?,
        };
        if history.len() <= l {
            history.push(Vec::new());
        }
        let phase = format!("layer {}/{} ({}->{})", l + 1, args.layers.len(), input.ncols(), args.layers[l]);
        progress.phase(&phase, args.epochs as u64, "epochs");
        progress.set(trainer.epochs_done() as u64);
        let mut last_ckpt = Instant::now();
        while !trainer.is_finished() {
            let m = match trainer.epoch(input.view()) {
                Ok(m) => m,
                Err(e) => {
                    let c = Checkpoint {
                        layers: layers.clone(),
                        run: run_id.clone(),
                        history: serde_json::to_value(&history)?,
                        trainer: Some(serde_json::to_value(&trainer)?),
                    };
                    write_checkpoint(&ckpt_path, &c)?;
                    bail!(
                        "training stopped at layer {} epoch {}: {e}; the last good state is kept in {} \
                         (try a smaller --learning-rate)",
                        l + 1,
                        trainer.epochs_done() + 1,
                        ckpt_path.display()
                    );
                }
            };
            progress.set(m.epoch as u64);
            progress.message(&format!(
                "layer {} epoch {}: reconstruction error {:.5}, pseudo-log-likelihood {:.5}/unit{}",
                l + 1,
                m.epoch,
                m.reconstruction_error,
                m.pseudo_log_likelihood,
                m.free_energy_gap.map(|g| format!(", free-energy gap {g:.4}")).unwrap_or_default()
            ));
            history[l].push(m);
            if last_ckpt.elapsed() >= checkpoint_interval() && !trainer.is_finished() {
                let c = Checkpoint {
                    layers: layers.clone(),
                    run: run_id.clone(),
                    history: serde_json::to_value(&history)?,
                    trainer: Some(serde_json::to_value(&trainer)?),
                };
                write_checkpoint(&ckpt_path, &c)?;
                last_ckpt = Instant::now();
            }
        }
        let rbm = trainer.into_model();
        if l + 1 < args.layers.len() {
            let next = next_input(&rbm, input.view(), &config, l)?;
            inputs.push(next);
        }
        layers.push(rbm);
        let c = Checkpoint {
            layers: layers.clone(),
            run: run_id.clone(),
            history: serde_json::to_value(&history)?,
            trainer: None,
        };
        write_checkpoint(&ckpt_path, &c)?;
    }
    progress.finish();

    // Final metrics per layer, with likelihoods (exact or AIS) on each layer's training input.
    progress.phase("log-likelihood", layers.len() as u64, "layers");
    let mut per_layer = Vec::new();
    for (l, (rbm, x)) in layers.iter().zip(&inputs).enumerate() {
        let last = history.get(l).and_then(|h| h.last());
        let ll = log_likelihood(rbm, x.view(), (args.ais_chains, args.ais_steps), config.seed ^ 0xa15)?;
        per_layer.push(json!({
            "index": l,
            "n_visible": rbm.n_visible(),
            "n_hidden": rbm.n_hidden(),
            "epochs": history.get(l).map_or(0, Vec::len),
            "reconstruction_error": last.map(|m| m.reconstruction_error),
            "pseudo_log_likelihood": last.map(|m| m.pseudo_log_likelihood),
            "free_energy_gap": last.and_then(|m| m.free_energy_gap),
            "log_likelihood": ll.get("value").cloned().unwrap_or(Value::Null),
            "log_likelihood_stderr": ll.get("stderr").cloned().unwrap_or(Value::Null),
            "log_likelihood_method": ll.get("method").cloned().unwrap_or(Value::Null),
        }));
        progress.set(l as u64 + 1);
    }
    progress.finish();

    let mut extra = Map::new();
    extra.insert("training".into(), serde_json::to_value(&config)?);
    extra.insert(
        "data".into(),
        json!({
            "path": args.data.display().to_string(),
            "samples": n_samples,
            "sample_shape": sample_shape,
            "hash_fnv1a64": format!("{data_hash:016x}"),
            "provenance": read_sidecar(&args.data),
        }),
    );
    extra.insert("seed".into(), json!(args.seed.to_string()));
    extra.insert("history".into(), serde_json::to_value(&history)?);
    model_file::write_model(&out, &layers, &extra)?;
    out.commit()?;
    let _ = std::fs::remove_file(&ckpt_path);

    let summary = json!({
        "model": args.out.display().to_string(),
        "layers": per_layer,
        "history": history,
        "elapsed_seconds": started.elapsed().as_secs_f64(),
        "tool_version": env!("CARGO_PKG_VERSION"),
    });
    Ok(TrainOutcome { summary })
}

fn read_sidecar(data: &Path) -> Value {
    std::fs::read_to_string(files::sidecar_path(data))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .map(|v| {
            let mut m = Map::new();
            for k in ["model", "size", "coupling", "field", "algorithm", "seed", "samples", "tool_version"] {
                if let Some(x) = v.get(k) {
                    m.insert(k.into(), x.clone());
                }
            }
            Value::Object(m)
        })
        .unwrap_or(Value::Null)
}
