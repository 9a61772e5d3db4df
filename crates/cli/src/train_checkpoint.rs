//! Checkpointed training of the study's DBN for `kadanoff reproduce`: the model file and its
//! checkpoint `MODEL.safetensors.ckpt`, the study's `rbm_core::GreedyState` in
//! `rbm_core::format` (as `kadanoff train` writes it), written atomically after an epoch when a
//! few seconds have passed since the last one, and after every layer. The checkpoint's metadata
//! entry `run` is the step's [`TrainKey`] as JSON, read back typed. A checkpoint of another run
//! (other data or settings), an unreadable one, or any checkpoint when `--force` is given is
//! discarded with a message, never an error; a failing epoch leaves the last checkpoint
//! untouched.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use kadanoff_analysis::study::{self, layer_train_config, StudyConfig, StudySeeds, TrainEvent, TrainSummary};
use ndarray::ArrayView2;
use rbm_core::{GreedyState, GreedyTrainer};
use serde_json::{json, Map, Value};

use crate::files::PendingOutput;
use crate::model_file;
use crate::progress::Progress;
use crate::step_cache::TrainKey;

/// Minimum wall time between two checkpoints inside a layer (`KADANOFF_CHECKPOINT_SECONDS`).
fn checkpoint_interval() -> Duration {
    let secs = std::env::var("KADANOFF_CHECKPOINT_SECONDS").ok().and_then(|s| s.parse::<f64>().ok());
    Duration::from_secs_f64(secs.filter(|s| s.is_finite()).unwrap_or(5.0).clamp(0.0, 1e6))
}

/// The saved state of the checkpoint at `path` if it is of the run `run`.
fn saved_state(path: &Path, run: &TrainKey, force: bool) -> Result<GreedyState<f32>> {
    anyhow::ensure!(!force, "--force was given");
    let c = model_file::read_checkpoint(path)?;
    let saved = c.metadata.get("run").map(|r| serde_json::from_str::<TrainKey>(r));
    anyhow::ensure!(matches!(&saved, Some(Ok(k)) if k == run), "it was made with other settings");
    Ok(c.state)
}

/// The run to continue: the checkpoint's if there is one of this run and it resumes on `data`;
/// any other checkpoint is discarded with a message and a new run started.
fn start(
    path: &Path,
    run: &TrainKey,
    force: bool,
    (cfg, seeds, data): (&StudyConfig, &StudySeeds, ArrayView2<f32>),
    progress: &Progress,
) -> Result<GreedyTrainer<f32>> {
    if path.exists() {
        let resumed = saved_state(path, run, force)
            .and_then(|state| Ok(study::trainer(cfg, seeds, data, Some(state))?));
        match resumed {
            Ok(r) => {
                let done = r.finished_layers().len();
                progress.message(&format!("resuming from {} ({done} finished layer(s))", path.display()));
                return Ok(r);
            }
            Err(e) => {
                progress.message(&format!("discarding the checkpoint {}: {e:#}", path.display()));
                let _ = std::fs::remove_file(path);
            }
        }
    }
    Ok(study::trainer(cfg, seeds, data, None)?)
}

/// Train the study's DBN on `data` into the model file `model`, resuming from (and saving to) the
/// checkpoint `MODEL.ckpt` of the run described by `run`; returns the summary.
pub fn train(
    model: &Path,
    cfg: &StudyConfig,
    seeds: &StudySeeds,
    data: ArrayView2<f32>,
    run: &TrainKey,
    force: bool,
    progress: &Progress,
) -> Result<TrainSummary> {
    let ckpt = model_file::checkpoint_path(model);
    let out = PendingOutput::claim(model, true)?;
    let trainer = start(&ckpt, run, force, (cfg, seeds, data), progress)?;
    let (interval, mut last, mut failure) = (checkpoint_interval(), Instant::now(), None);
    let run_meta: Map<String, Value> =
        [("run".to_string(), Value::String(serde_json::to_string(run)?))].into_iter().collect();
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
        match model_file::write_checkpoint(&ckpt, &e.run.state(), &run_meta) {
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
    let result = study::train(cfg, seeds, data, trainer, &mut on_event);
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
