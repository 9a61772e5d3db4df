//! `kadanoff train`: greedy layer-wise training of a deep belief network on a `.npy` data set,
//! with atomic checkpoints and bit-exact resumption.
//!
//! The training is `rbm_core::GreedyTrainer`'s (layer `ℓ` is trained with seed `seed + ℓ` on
//! one sampled up pass of the data through the finished layers below); this command parses
//! and checks its arguments before any work, loads the data, loops over
//! `GreedyTrainer::step`, and writes a checkpoint (`MODEL.safetensors.ckpt`,
//! `rbm_core::format`) atomically after an epoch when at least a few seconds have passed since
//! the last one, and at the end of every layer. `--resume` continues from it, after checking it
//! completely against the requested run, and ends with a model byte-identical to an
//! uninterrupted run. A failing epoch leaves the checkpoint as it was.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use ndarray::{Array2, ArrayView2};
use rbm_core::ais::{AisConfig, BetaSchedule};
use rbm_core::{
    Error as RbmError, GreedyConfig, GreedyTrainer, MomentumSwitch, RateSchedule, Rbm, TrainConfig, Units,
};
use serde_json::{json, Map, Value};

use crate::budget;
use crate::files::{self, PendingOutput};
use crate::model_file;
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
    /// Epochs per layer (at least 1).
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Learning rate (default `rbm_core::TrainConfig::default_learning_rate`: 0.01 for spin
    /// units and 0.1 for binary units with CD, 0.005 and 0.03 with PCD), of the first epoch.
    #[arg(long, allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Keep the learning rate constant (Hinton's recipe) instead of the default linear decay
    /// to zero over the epochs, which is what lets training approach the optimum.
    #[arg(long)]
    pub constant_learning_rate: bool,
    /// Initial momentum, in [0, 1).
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Momentum from `--momentum-switch-epoch` on, in [0, 1); negative: no switch. Default:
    /// 0.9 with CD (Hinton), no switch with PCD.
    #[arg(long, allow_negative_numbers = true)]
    pub final_momentum: Option<f64>,
    /// First epoch using the final momentum.
    #[arg(long, default_value_t = 5)]
    pub momentum_switch_epoch: usize,
    /// L1 penalty on the weights (the paper's sparsity term), in [0, 1].
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub l1: f64,
    /// L2 weight decay, in [0, 1].
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub l2: f64,
    /// Standard deviation of the initial Gaussian weights, in [0, 10].
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub init_std: f64,
    /// Fraction of samples held out to monitor overfitting (free-energy gap), in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
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
    s.parse::<Units>().map_err(|_| anyhow!("--units must be `spin` or `binary`, got `{s}`"))
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
        data.values.iter().map(|&x| if has_zero { f32::from(x) } else { units.spin_to_unit(x) }).collect();
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

/// The training settings of every layer (the seed is the master seed; layer `ℓ` gets
/// `seed + ℓ`), with the library's unit- and mode-aware defaults, checked with flag names.
fn train_config(args: &TrainArgs, units: Units) -> Result<TrainConfig> {
    let momentum_switch = match args.final_momentum {
        None => TrainConfig::default_momentum_switch(args.persistent)
            .map(|m| MomentumSwitch { epoch: args.momentum_switch_epoch, ..m }),
        Some(x) if !x.is_finite() => {
            bail!("--final-momentum {x}: must be a number in [0, 1) (negative: no switch)")
        }
        Some(x) if x < 0.0 => None,
        Some(x) => Some(MomentumSwitch { epoch: args.momentum_switch_epoch, value: x }),
    };
    let config = TrainConfig {
        cd_k: args.cd_k,
        persistent: args.persistent,
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args
            .learning_rate
            .unwrap_or_else(|| TrainConfig::default_learning_rate(units, args.persistent)),
        learning_rate_schedule: if args.constant_learning_rate {
            RateSchedule::Constant
        } else {
            RateSchedule::Linear
        },
        momentum: args.momentum,
        momentum_switch,
        l1: args.l1,
        l2: args.l2,
        init_std: args.init_std,
        visible_bias_from_data: true,
        holdout: args.holdout,
        monitor_samples: args.monitor_samples,
        exact_max_units: 20,
        seed: args.seed,
    };
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    match config.validate() {
        Err(e @ RbmError::InvalidParameter { name, .. }) => bail!("--{}: {e}", name.replace('_', "-")),
        other => other?,
    }
    Ok(config)
}

/// Refuses a run whose model, training state, data copies or AIS chains would not fit in the
/// memory budget, before anything is allocated. `n` samples of `n_visible` units.
fn check_memory(args: &TrainArgs, n: usize, n_visible: usize) -> Result<()> {
    let sizes: Vec<u128> =
        std::iter::once(n_visible).chain(args.layers.iter().copied()).map(|x| x as u128).collect();
    let (n, batch) = (n as u128, args.batch_size as u128);
    let mut total = Some(n * sizes[0] * 12); // the data (f32) and its f64 copy for likelihoods
    for w in sizes.windows(2) {
        let (nv, nh) = (w[0], w[1]);
        // Model, momentum, the snapshot kept during an epoch and the finished copy; the next
        // layer's data; mini-batch scratch and persistent chains; AIS chains (f64, both layers).
        let layer = budget::product(&[4, nv, nh, 4])
            .zip(budget::product(&[n, nh, 12]))
            .zip(budget::product(&[batch, 4 * nv + 4 * nh, 4]))
            .zip(budget::product(&[args.ais_chains as u128, nv + nh, 8 * 3]))
            .map(|(((a, b), c), d)| a + b + c + d);
        total = total.zip(layer).and_then(|(t, l)| t.checked_add(l));
    }
    let shape: Vec<String> = sizes.iter().map(u128::to_string).collect();
    budget::check(&format!("training {} on {n} samples", shape.join("→")), total)
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

fn checkpoint_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".ckpt");
    PathBuf::from(s)
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

/// The run to continue from the checkpoint at `path`, if it is of this run; with `--force`
/// a checkpoint of another run (or a damaged one) is set aside and training starts over.
fn resume_from(
    path: &Path,
    config: &GreedyConfig,
    run_id: &Value,
    data: ArrayView2<f32>,
    force: bool,
    progress: &Progress,
) -> Result<Option<GreedyTrainer<f32>>> {
    let refuse = |why: String| -> Result<Option<GreedyTrainer<f32>>> {
        if force {
            progress.message(&format!("discarding {why}; starting from scratch (--force)"));
            Ok(None)
        } else {
            bail!("{why}; rerun with the same arguments, or add --force (or drop --resume) to start over")
        }
    };
    let c = match model_file::read_checkpoint(path) {
        Ok(c) => c,
        Err(e) => return refuse(format!("{e:#}")),
    };
    let found: Option<Value> = c.metadata.get("run").and_then(|s| serde_json::from_str(s).ok());
    if found.as_ref() != Some(run_id) {
        return refuse(format!(
            "the checkpoint {} was made by a different run (for other data)",
            path.display()
        ));
    }
    match GreedyTrainer::resume(config, c.state, data) {
        Ok(run) => Ok(Some(run)),
        Err(e @ RbmError::StateMismatch { .. }) => {
            refuse(format!("the checkpoint {} was made by a different run: {e}", path.display()))
        }
        Err(e) => refuse(format!("the checkpoint {} is unusable: {e}", path.display())),
    }
}

/// Train as `args` says, reporting to `progress`; writes the model and removes the checkpoint.
pub fn train(args: &TrainArgs, progress: &Progress) -> Result<TrainOutcome> {
    // Everything that can be checked before reading the data is checked first.
    let units = parse_units(&args.units)?;
    if args.layers.is_empty() || args.layers.contains(&0) {
        bail!("--layers must list at least one positive layer size, e.g. 400,100,25");
    }
    if args.layers.len() > rbm_core::format::MAX_LAYERS {
        bail!(
            "--layers lists {} layers; at most {} are supported",
            args.layers.len(),
            rbm_core::format::MAX_LAYERS
        );
    }
    if args.out.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        bail!("--out must name a .safetensors file, got {}", args.out.display());
    }
    let config = train_config(args, units)?;
    let interval = checkpoint_interval()?;
    let ckpt_path = checkpoint_path(&args.out);
    if args.resume && !args.force && args.out.exists() && !ckpt_path.exists() {
        bail!(
            "{} is already trained and has no checkpoint to resume from; use --force to train it again",
            args.out.display()
        );
    }
    let provenance = read_sidecar(&args.data);
    let (data, sample_shape) = load_training_data(&args.data, units)?;
    if args.batch_size > data.nrows() {
        bail!(
            "--batch-size {} is larger than the {} samples of {}",
            args.batch_size,
            data.nrows(),
            args.data.display()
        );
    }
    check_memory(args, data.nrows(), data.ncols())?;
    let out = PendingOutput::claim(&args.out, args.force || args.resume)?;
    // One seed per layer from the master seed.
    let greedy =
        GreedyConfig::uniform(units, units, &args.layers, &config, |l| config.seed.wrapping_add(l as u64));
    let data_hash = fnv1a(data.iter().flat_map(|x| x.to_le_bytes()));
    let run_id = json!({"data_hash": format!("{data_hash:016x}"), "data_shape": data.shape()});
    let mut ckpt_meta = Map::new();
    ckpt_meta.insert("run".into(), Value::String(run_id.to_string()));

    let resumed = if args.resume && ckpt_path.exists() {
        resume_from(&ckpt_path, &greedy, &run_id, data.view(), args.force, progress)?
    } else {
        if args.resume {
            progress.message(&format!("no checkpoint at {}; starting from scratch", ckpt_path.display()));
        }
        None
    };
    let mut run = match resumed {
        Some(run) => {
            progress.message(&format!(
                "resuming from {} ({} finished layer(s){})",
                ckpt_path.display(),
                run.finished_layers().len(),
                run.current()
                    .map(|t| format!(
                        ", layer {} at epoch {}",
                        run.finished_layers().len() + 1,
                        t.epochs_done()
                    ))
                    .unwrap_or_default()
            ));
            run
        }
        None => GreedyTrainer::new(greedy, data.view())?,
    };

    let started = Instant::now();
    let mut last_ckpt = Instant::now();
    let mut phase = None;
    while let Some(trainer) = run.current() {
        let l = run.finished_layers().len();
        if phase != Some(l) {
            let input = run.layer_input(l, data.view()).expect("the current layer has data").ncols();
            let name = format!("layer {}/{} ({}->{})", l + 1, args.layers.len(), input, args.layers[l]);
            progress.phase(&name, args.epochs as u64, "epochs");
            progress.set(trainer.epochs_done() as u64);
            phase = Some(l);
        }
        let step = run.step(data.view()).map_err(|e| match e {
            RbmError::Diverged { .. } => anyhow!(
                "training stopped at layer {}: {e}; rerun with a smaller --learning-rate (or --l1/--l2); \
                 the checkpoint {} is left as it was",
                l + 1,
                ckpt_path.display()
            ),
            e => anyhow!("training stopped at layer {}: {e}", l + 1),
        })?;
        let m = &step.metrics;
        progress.set(m.epoch as u64);
        progress.message(&format!(
            "layer {} epoch {}: reconstruction error {:.5}, pseudo-log-likelihood {:.5}/unit{}",
            l + 1,
            m.epoch,
            m.reconstruction_error,
            m.pseudo_log_likelihood,
            m.free_energy_gap.map(|g| format!(", free-energy gap {g:.4}")).unwrap_or_default()
        ));
        if step.layer_finished || last_ckpt.elapsed() >= interval {
            model_file::write_checkpoint(&ckpt_path, &run.state(), &ckpt_meta)?;
            last_ckpt = Instant::now();
        }
    }
    progress.finish();

    // Final metrics per layer, with likelihoods (exact or AIS) on each layer's training input.
    let history = run.history().to_vec();
    let layers = run.finished_layers();
    progress.phase("log-likelihood", layers.len() as u64, "layers");
    let mut per_layer = Vec::new();
    for (l, rbm) in layers.iter().enumerate() {
        let x = run.layer_input(l, data.view()).expect("every finished layer has data");
        let last = history.get(l).and_then(|h| h.last());
        let ll = log_likelihood(rbm, x, (args.ais_chains, args.ais_steps), config.seed ^ 0xa15)?;
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
            "samples": data.nrows(),
            "sample_shape": sample_shape,
            "hash_fnv1a64": format!("{data_hash:016x}"),
            "provenance": provenance,
        }),
    );
    extra.insert("seed".into(), json!(args.seed.to_string()));
    extra.insert("history".into(), serde_json::to_value(&history)?);
    let dbn = run.into_dbn()?;
    model_file::write_model(&out, &dbn, &extra)?;
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

/// Selected provenance fields of the data's JSON sidecar, if it is a regular file within the
/// sidecar size limit that parses as the sidecar schema; a missing or invalid sidecar gives no
/// provenance.
fn read_sidecar(data: &Path) -> Value {
    let Ok(Some(s)) = files::read_sidecar(data) else { return Value::Null };
    let mut v = json!({"model": s.model, "size": s.size, "coupling": s.coupling, "field": s.field,
        "seed": s.seed, "samples": s.samples, "tool_version": s.tool_version});
    if let lattice_physics::io::Source::Sample(r) = &s.source {
        v["algorithm"] = json!(r.algorithm);
    }
    v
}
