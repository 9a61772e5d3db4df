//! Checkpointed training of the study's DBN for `kadanoff reproduce`: the model file and its
//! checkpoint `MODEL.safetensors.ckpt` (written atomically after an epoch when a few seconds have
//! passed since the last one, and after every layer). A checkpoint of another run (other data or
//! settings), an unreadable one, or any checkpoint when `--force` is given is discarded with a
//! message, never an error; a failing epoch leaves the last checkpoint untouched.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use kadanoff_analysis::study::{self, check_resume, layer_train_config, StudyConfig, StudySeeds};
use kadanoff_analysis::study::{TrainEvent, TrainState, TrainSummary};
use ndarray::ArrayView2;
use rbm_core::{GreedyConfig, GreedyLayer, GreedyState, Trainer, Units};
use serde_json::{json, Map, Value};

use crate::files::PendingOutput;
use crate::model_file;
use crate::progress::Progress;

/// The study's training as a [`GreedyConfig`] (its per-layer settings and seeds), so its state
/// can be saved as an `rbm_core::format` checkpoint.
fn greedy_config(cfg: &StudyConfig, seeds: &StudySeeds) -> GreedyConfig {
    GreedyConfig {
        visible_units: Units::Spin,
        hidden_units: Units::Spin,
        layers: (0..cfg.layers.len())
            .map(|l| GreedyLayer { n_hidden: cfg.layers[l], train: layer_train_config(cfg, seeds, l) })
            .collect(),
    }
}

/// The study's training state as a [`GreedyState`] of `config`.
fn to_greedy(config: &GreedyConfig, state: &TrainState) -> GreedyState<f32> {
    GreedyState {
        config: config.clone(),
        finished: state.layers.clone(),
        history: state.history.clone(),
        current: state.trainer.as_ref().map(Trainer::state),
    }
}

/// Minimum wall time between two checkpoints inside a layer (`KADANOFF_CHECKPOINT_SECONDS`).
fn checkpoint_interval() -> Duration {
    let secs = std::env::var("KADANOFF_CHECKPOINT_SECONDS").ok().and_then(|s| s.parse::<f64>().ok());
    Duration::from_secs_f64(secs.filter(|s| s.is_finite()).unwrap_or(5.0).clamp(0.0, 1e6))
}

/// The checkpoint to resume from, if there is one of this run; any other is discarded.
fn resume_state(
    path: &Path,
    run: &Value,
    force: bool,
    cfg: &StudyConfig,
    seeds: &StudySeeds,
    progress: &Progress,
) -> TrainState {
    if !path.exists() {
        return TrainState::default();
    }
    let state = (|| -> Result<TrainState> {
        anyhow::ensure!(!force, "--force was given");
        let c = model_file::read_checkpoint(path)?;
        let saved_run = c.metadata.get("run").and_then(|r| serde_json::from_str::<Value>(r).ok());
        anyhow::ensure!(saved_run.as_ref() == Some(run), "it was made with other settings");
        greedy_config(cfg, seeds).check_same(&c.state.config)?;
        let trainer = c.state.current.map(Trainer::from_state).transpose()?;
        let state = TrainState { layers: c.state.finished, history: c.state.history, trainer };
        check_resume(cfg, seeds, &state)?;
        Ok(state)
    })();
    match state {
        Ok(s) => {
            progress.message(&format!(
                "resuming from {} ({} finished layer(s))",
                path.display(),
                s.layers.len()
            ));
            s
        }
        Err(e) => {
            progress.message(&format!("discarding the checkpoint {}: {e:#}", path.display()));
            let _ = std::fs::remove_file(path);
            TrainState::default()
        }
    }
}

/// Train the study's DBN on `data` into the model file `model`, resuming from (and saving to) the
/// checkpoint `MODEL.ckpt` of the run described by `run`; returns the summary.
pub fn train(
    model: &Path,
    cfg: &StudyConfig,
    seeds: &StudySeeds,
    data: ArrayView2<f32>,
    run: &Value,
    force: bool,
    progress: &Progress,
) -> Result<TrainSummary> {
    let mut ckpt = model.as_os_str().to_owned();
    ckpt.push(".ckpt");
    let ckpt = PathBuf::from(ckpt);
    let out = PendingOutput::claim(model, true)?;
    let state = resume_state(&ckpt, run, force, cfg, seeds, progress);
    let (interval, mut last, mut failure) = (checkpoint_interval(), Instant::now(), None);
    let greedy = greedy_config(cfg, seeds);
    let mut run_meta = Map::new();
    run_meta.insert("run".into(), run.clone());
    let mut on_event = |e: &TrainEvent<'_>| {
        let n = cfg.layers.len();
        progress.phase(&format!("2/4 train layer {}/{n}", e.layer + 1), cfg.epochs as u64, "epochs");
        if let Some(m) = e.epoch {
            progress.set(m.epoch as u64);
            progress.message(&format!(
                "layer {} epoch {}: reconstruction error {:.5}, pseudo-log-likelihood {:.5}/unit",
                e.layer + 1,
                m.epoch,
                m.reconstruction_error,
                m.pseudo_log_likelihood
            ));
        }
        if e.epoch.is_some() && last.elapsed() < interval {
            return ControlFlow::Continue(());
        }
        let write = || model_file::write_checkpoint(&ckpt, &to_greedy(&greedy, e.state), &run_meta);
        match write() {
            Ok(()) => {
                last = Instant::now();
                ControlFlow::Continue(())
            }
            Err(err) => {
                failure = Some(err);
                ControlFlow::Break(())
            }
        }
    };
    let result = study::train(cfg, seeds, data, state, &mut on_event);
    if let Some(err) = failure {
        return Err(err.context("cannot write the training checkpoint"));
    }
    let (dbn, summary) = result?;
    progress.finish();
    let mut extra = serde_json::Map::new();
    extra.insert("training".into(), serde_json::to_value(layer_train_config(cfg, seeds, 0))?);
    extra.insert("seed".into(), json!(seeds.master().to_string()));
    extra.insert("history".into(), serde_json::to_value(&summary.history)?);
    model_file::write_model(&out, &dbn, &extra)?;
    out.commit()?;
    let _ = std::fs::remove_file(&ckpt);
    Ok(summary)
}
