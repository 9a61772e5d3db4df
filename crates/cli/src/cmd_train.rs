//! `kadanoff train`: greedy layer-wise training of a deep belief network on a `.npy` data set,
//! with atomic checkpoints and bit-exact resumption.
//!
//! The training is `rbm_core::GreedyTrainer`'s, layer `ℓ` seeded by the child
//! `("train-layer", ℓ)` of the master seed (`lattice_physics::rng::Seed`). This command checks
//! its arguments and the memory budget before any work, loads the data, loops over
//! `GreedyTrainer::step` with progress, and checkpoints (`model_file::Checkpointer`:
//! `MODEL.safetensors.ckpt` in `rbm_core::format`, written atomically every few seconds and at
//! the end of every layer). `--resume` continues a checkpoint of the same run bit for bit; a
//! failing epoch leaves the checkpoint as it was. The final log-likelihoods are
//! `GreedyTrainer::layer_summary_within`'s (exact when enumeration is cheap, else AIS seeded by
//! the child `("ais", ℓ)` when its work is within `--ais-budget` of the layer's training).

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use lattice_physics::rng::Seed;
use rbm_core::ais::{AisConfig, BetaSchedule};
use rbm_core::{
    EpochMetrics, Error as RbmError, GreedyConfig, GreedyTrainer, LayerSummary, LikelihoodBudget, TrainConfig,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::budget;
pub use crate::cmd_train_args::TrainArgs;
use crate::cmd_train_args::{parse_units, train_config};
use crate::files::{self, PendingOutput};
use crate::model_file;
use crate::progress::Progress;

/// What `--json` prints.
#[derive(Serialize)]
struct TrainSummary {
    model: String,
    layers: Vec<LayerSummary>,
    history: Vec<Vec<EpochMetrics>>,
    elapsed_seconds: f64,
    seconds: Seconds,
    tool_version: &'static str,
}

/// Where the command's wall-clock time went (`total` from the start of the work, after the
/// arguments; the other keys are parts of it).
#[derive(Serialize, Default)]
struct Seconds {
    /// Reading, checking, hashing and converting the data; the first layer's initial model.
    setup: f64,
    /// The training loop: the epochs, the up passes between layers and the checkpoints.
    epochs: f64,
    /// Of `epochs`, the updates themselves (what a CD-k epoch costs).
    train: f64,
    /// Of `epochs`, the per-epoch metrics.
    monitor: f64,
    /// The final log-likelihoods (exact or AIS) on every layer's training input.
    likelihood: f64,
    /// Everything, writing the model included.
    total: f64,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let summary = train(&args, &Progress::new(args.quiet))?;
    for l in &summary.layers {
        if let Some(f) = l.log_likelihood_skipped_ais_work_fraction {
            eprintln!(
                "kadanoff: note: layer {}: no log-likelihood: its AIS would cost {:.1}% of the layer's training, over --ais-budget {}; --ais-budget inf computes it",
                l.index, 100.0 * f, args.ais()?.2
            );
        }
        if let (Some(c), Some(e)) = (&l.log_likelihood_ais, &l.log_likelihood_ais_estimate) {
            if !e.stderr_is_reliable(c.chains) {
                eprintln!(
                    "kadanoff: warning: layer {}: the AIS weights' effective sample size is {:.1} of {} chains, so the log-likelihood's standard error is not reliable; more --ais-steps make it so",
                    l.index, e.effective_sample_size, c.chains
                );
            }
        }
    }
    if args.json {
        return crate::print_json(&serde_json::to_value(&summary)?);
    }
    let show = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.5}"));
    for l in &summary.layers {
        let ll = match (l.log_likelihood, l.log_likelihood_method, &l.log_likelihood_ais, &l.log_likelihood_ais_estimate) {
            (Some(x), _, Some(c), Some(e)) => format!(
                "{x:.4} ± {:.4} (ais: {} chains x {} steps, effective sample size {:.0}; biased high by an amount the error does not include, smaller with more steps)",
                e.stderr, c.chains, c.steps, e.effective_sample_size
            ),
            (Some(x), Some(m), _, _) => format!("{x:.4} ({})", m.name()),
            _ if l.log_likelihood_skipped_ais_work_fraction.is_some() => "n/a (AIS over --ais-budget)".into(),
            _ => "n/a".into(),
        };
        let (r, p) = (show(l.reconstruction_error), show(l.pseudo_log_likelihood));
        let shape = format!("{} -> {}", l.n_visible, l.n_hidden);
        outln!("layer {} ({shape}): reconstruction error {r}, pseudo-log-likelihood {p}/unit, log-likelihood {ll}", l.index);
    }
    outln!("model written to {}", args.out.display());
    Ok(())
}

/// Train as `args` says, reporting to `progress`; writes the model and removes the checkpoint.
fn train(args: &TrainArgs, progress: &Progress) -> Result<TrainSummary> {
    // Everything that can be checked before reading the data is checked first.
    let units = parse_units(&args.units)?;
    if args.layers.is_empty() || args.layers.contains(&0) {
        bail!("--layers must list at least one positive layer size, e.g. 400,100,25");
    }
    let max_layers = rbm_core::format::MAX_LAYERS;
    if args.layers.len() > max_layers {
        bail!("--layers lists {} layers; at most {max_layers} are supported", args.layers.len());
    }
    if args.out.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        bail!("--out must name a .safetensors file, got {}", args.out.display());
    }
    let config = train_config(args, units)?;
    let (ais_chains, ais_steps, ais_budget) = args.ais()?;
    let ckpt_path = model_file::checkpoint_path(&args.out);
    if args.resume && !args.force && args.out.exists() && !ckpt_path.exists() {
        bail!(
            "{} is already trained and has no checkpoint to resume from; use --force to train it again",
            args.out.display()
        );
    }
    let begun = Instant::now();
    let provenance = files::read_provenance(&args.data);
    let raw = files::read_values(&args.data, &[-1, 0, 1])?;
    let (n, sample_shape) = (raw.samples(), raw.shape[1..].to_vec());
    let width = sample_shape.iter().product::<usize>();
    if args.batch_size > n {
        bail!("--batch-size {} is larger than the {n} samples of {}", args.batch_size, args.data.display());
    }
    let monitor_samples = args.monitor_samples.unwrap_or_else(|| config.default_monitor_rows(n));
    let config = TrainConfig { monitor_samples, ..config };
    let master = Seed::new(args.seed);
    let greedy = GreedyConfig::uniform(units, units, &args.layers, &config, |l| {
        master.child("train-layer", l as u64).value()
    });
    budget::check_training(&greedy, n, width, ais_chains)?;
    budget::check_training_work(
        &greedy.sizes(width),
        n,
        [args.epochs, config.cd_k, config.monitor_samples, ais_chains, ais_steps],
    )?;
    // The data's hash (one sequential pass) beside its conversion (spread over the threads).
    let (ckpt, data) = rayon::join(
        || model_file::Checkpointer::new(&args.out, &raw.values, [n, width]),
        || units.data_from_values::<f32>(&raw.values, width),
    );
    let mut ckpt = ckpt?;
    let data = data.map_err(|e| anyhow!("{}: {e}", args.data.display()))?;
    drop(raw);
    let out = PendingOutput::claim(&args.out, args.force || args.resume)?;
    let mut run = match ckpt.resume(args.resume, &greedy, data.view(), args.force, progress)? {
        Some(run) => run,
        None => GreedyTrainer::new(greedy, data.view())?,
    };

    let started = Instant::now();
    let mut seconds = Seconds { setup: begun.elapsed().as_secs_f64(), ..Seconds::default() };
    let mut phase = None;
    while let Some(trainer) = run.current() {
        let l = run.finished_layers().len();
        if phase != Some(l) {
            let input = run.layer_input(l, data.view()).map_or(0, |x| x.ncols());
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
                ckpt.path().display()
            ),
            e => anyhow!("training stopped at layer {}: {e}", l + 1),
        })?;
        let m = &step.metrics;
        seconds.train += step.seconds.train;
        seconds.monitor += step.seconds.monitor;
        progress.set(m.epoch as u64);
        let gap = m.free_energy_gap.map(|g| format!(", free-energy gap {g:.4}")).unwrap_or_default();
        let (r, p) = (m.reconstruction_error, m.pseudo_log_likelihood);
        let line = format!("reconstruction error {r:.5}, pseudo-log-likelihood {p:.5}/unit{gap}");
        progress.message(&format!("layer {} epoch {}: {line}", l + 1, m.epoch));
        ckpt.save(&run, step.layer_finished)?;
    }
    progress.finish();

    seconds.epochs = started.elapsed().as_secs_f64();
    // Final metrics per layer, with likelihoods (exact or AIS) on each layer's training input.
    let likelihood_started = Instant::now();
    progress.phase("log-likelihood", args.layers.len() as u64, "layers");
    let mut per_layer = Vec::new();
    let max_exact_terms = if args.exact_likelihood { u64::MAX } else { rbm_core::MAX_EXACT_TERMS };
    let budget = LikelihoodBudget { max_exact_terms, max_ais_work_fraction: ais_budget };
    for l in 0..args.layers.len() {
        let ais = (ais_chains >= 2 && ais_steps > 0).then(|| AisConfig {
            chains: ais_chains,
            steps: ais_steps,
            schedule: BetaSchedule::Sigmoid { steepness: 4.0 },
            seed: master.child("ais", l as u64).value(),
        });
        per_layer.push(run.layer_summary_within(l, data.view(), ais.as_ref(), &budget)?);
        progress.set(l as u64 + 1);
    }
    progress.finish();
    seconds.likelihood = likelihood_started.elapsed().as_secs_f64();
    let history = run.history().to_vec();
    let data_meta = json!({"path": args.data.display().to_string(), "samples": n, "sample_shape": sample_shape,
                           "hash_xxh3_64": ckpt.data_hash(), "provenance": provenance});
    let extra: Map<String, Value> = [
        ("training", serde_json::to_value(&config)?),
        ("data", data_meta),
        ("seed", json!(args.seed.to_string())),
        ("history", serde_json::to_value(&history)?),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let dbn = run.into_dbn()?;
    model_file::write_model(&out, &dbn, &extra)?;
    out.commit()?;
    let _ = std::fs::remove_file(ckpt.path());
    seconds.total = begun.elapsed().as_secs_f64();
    Ok(TrainSummary {
        model: args.out.display().to_string(),
        layers: per_layer,
        history,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        seconds,
        tool_version: env!("CARGO_PKG_VERSION"),
    })
}
