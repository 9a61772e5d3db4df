//! Step 2: greedy layer-wise training of the DBN (spin units, CD-1, L1 penalty), resumable.
//!
//! Layer `ℓ` is trained by [`Trainer`] with the seed [`StudySeeds::train_layer`]`(ℓ)` on one
//! sampled up pass of the data through the finished layers below, drawn from
//! [`StudySeeds::up_pass`]`(ℓ - 1)`. The caller sees a [`TrainEvent`] after every epoch and
//! at the end of every layer (to checkpoint the [`TrainState`] and show progress) and can stop
//! the run; resuming from a saved state ends with the same model, bit for bit.

use std::ops::ControlFlow;

use ndarray::{Array2, ArrayView2};
use rbm_core::ais::{AisConfig, BetaSchedule};
use rbm_core::dbn::Dbn;
use rbm_core::{EpochMetrics, MomentumSwitch, Rbm, TrainConfig, Trainer, Units};
use serde::{Deserialize, Serialize};

use super::{StudyConfig, StudySeeds};
use crate::error::{Error, Result};

/// Everything needed to continue a training run: finished layers, the per-layer metric history
/// and the trainer of the layer in progress.
#[derive(Clone, Debug, Default)]
pub struct TrainState {
    /// Finished layers, data side first.
    pub layers: Vec<Rbm<f32>>,
    /// Metrics of every epoch, per layer (finished layers and the one in progress).
    pub history: Vec<Vec<EpochMetrics>>,
    /// The trainer of the next layer, if it has started.
    pub trainer: Option<Trainer<f32>>,
}

/// What the per-epoch callback of [`train`] sees.
pub struct TrainEvent<'a> {
    /// Layer being trained (from 0).
    pub layer: usize,
    /// The epoch just finished, or `None` when the layer has just been finished.
    pub epoch: Option<&'a EpochMetrics>,
    /// The state to save to resume from this point.
    pub state: &'a TrainState,
}

/// How a log-likelihood was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LikelihoodMethod {
    /// Exact summation over the smaller layer.
    Exact,
    /// Annealed importance sampling.
    Ais,
}

/// A log-likelihood per sample of a layer's training input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLikelihood {
    /// Nats per sample.
    pub value: f64,
    /// Standard error (0 for exact values).
    pub stderr: f64,
    /// How it was computed.
    pub method: LikelihoodMethod,
}

/// Final metrics of one trained layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Layer index (from 0).
    pub index: usize,
    /// Visible units.
    pub n_visible: usize,
    /// Hidden units.
    pub n_hidden: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Reconstruction error of the last epoch.
    pub reconstruction_error: f64,
    /// Pseudo-log-likelihood per unit of the last epoch.
    pub pseudo_log_likelihood: f64,
    /// Free-energy gap (held out − training) of the last epoch.
    pub free_energy_gap: Option<f64>,
    /// Log-likelihood of the layer's training input (`None` if the layer is too large for exact
    /// summation and AIS is off).
    pub log_likelihood: Option<LogLikelihood>,
}

/// What the train step produced (besides the model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// One entry per layer.
    pub layers: Vec<LayerSummary>,
    /// Metrics of every epoch, per layer.
    pub history: Vec<Vec<EpochMetrics>>,
}

/// The training configuration of layer `layer` (Hinton's recipe with the study's learning
/// rate, epochs, batch size and L1 penalty; 10% held out; 200 monitored rows).
pub fn layer_train_config(config: &StudyConfig, seeds: &StudySeeds, layer: usize) -> TrainConfig {
    TrainConfig {
        cd_k: 1,
        persistent: false,
        epochs: config.epochs,
        batch_size: config.batch_size,
        learning_rate: config.learning_rate,
        learning_rate_schedule: rbm_core::RateSchedule::Constant,
        momentum: 0.5,
        momentum_switch: Some(MomentumSwitch { epoch: 5, value: 0.9 }),
        l1: config.l1,
        l2: 0.0,
        init_std: 0.01,
        visible_bias_from_data: true,
        holdout: 0.1,
        monitor_samples: 200,
        exact_max_units: 20,
        seed: seeds.train_layer(layer),
    }
}

/// The training data of the study: `samples × sites` spins as `f32` `±1` values.
pub fn training_matrix(config: &StudyConfig, spins: &[i8]) -> Result<Array2<f32>> {
    let sites = config.size * config.size;
    check_spins(spins, sites)?;
    Array2::from_shape_vec((spins.len() / sites, sites), spins.iter().map(|&s| f32::from(s)).collect())
        .map_err(|_| Error::Shape {
            what: "spins",
            got: vec![spins.len()],
            expected: format!("a multiple of {sites}"),
        })
}

pub(super) fn check_spins(spins: &[i8], sites: usize) -> Result<()> {
    if spins.is_empty() || spins.len() % sites != 0 {
        return Err(Error::Shape {
            what: "spins",
            got: vec![spins.len()],
            expected: format!("a positive multiple of {sites} (samples × sites)"),
        });
    }
    if let Some((index, &s)) = spins.iter().enumerate().find(|(_, &s)| s != 1 && s != -1) {
        return Err(Error::OutOfRange { what: "spins", index, value: f64::from(s), allowed: "±1" });
    }
    Ok(())
}

/// Check that `state` belongs to this study: every finished layer has the shape and units the
/// configuration asks for, the history has one entry per started layer, and the trainer in
/// progress has this layer's configuration and shape.
pub fn check_resume(config: &StudyConfig, seeds: &StudySeeds, state: &TrainState) -> Result<()> {
    let mismatch = |reason: String| Err(Error::ResumeMismatch { reason });
    let widths: Vec<usize> =
        std::iter::once(config.size * config.size).chain(config.layers.iter().copied()).collect();
    let started = state.layers.len() + usize::from(state.trainer.is_some());
    if started > config.layers.len() {
        return mismatch(format!("{started} layers started, the study has {}", config.layers.len()));
    }
    for (l, rbm) in state.layers.iter().enumerate() {
        rbm.validate()?;
        if (rbm.n_visible(), rbm.n_hidden()) != (widths[l], widths[l + 1]) {
            return mismatch(format!(
                "layer {} is {} → {}, the study asks for {} → {}",
                l + 1,
                rbm.n_visible(),
                rbm.n_hidden(),
                widths[l],
                widths[l + 1]
            ));
        }
        if rbm.visible_units() != Units::Spin || rbm.hidden_units() != Units::Spin {
            return mismatch(format!("layer {} does not use spin units", l + 1));
        }
    }
    if state.history.len() != started
        || state.history.iter().take(state.layers.len()).any(|h| h.len() != config.epochs)
    {
        return mismatch("the metric history does not match the finished layers".into());
    }
    if let Some(t) = &state.trainer {
        t.validate()?;
        let l = state.layers.len();
        if t.config() != &layer_train_config(config, seeds, l) {
            return mismatch(format!("the trainer of layer {} has other settings", l + 1));
        }
        let m = t.model();
        if (m.n_visible(), m.n_hidden()) != (widths[l], widths[l + 1]) {
            return mismatch(format!("the trainer of layer {} has another shape", l + 1));
        }
        if state.history[l].len() != t.epochs_done() {
            return mismatch(format!("the history of layer {} does not match its trainer", l + 1));
        }
    }
    Ok(())
}

/// Train the study's DBN on `data` (`samples × L²`, `±1` values, e.g. from [`training_matrix`]),
/// continuing from `state` (use `TrainState::default()` to start). `on_event` is called after
/// every epoch and after every finished layer; returning `ControlFlow::Break` stops the run with
/// [`Error::Stopped`]. A failing epoch returns its error; the last state the callback saw is
/// intact.
pub fn train(
    config: &StudyConfig,
    seeds: &StudySeeds,
    data: ArrayView2<f32>,
    mut state: TrainState,
    on_event: &mut dyn FnMut(&TrainEvent<'_>) -> ControlFlow<()>,
) -> Result<(Dbn<f32>, TrainSummary)> {
    config.validate()?;
    check_resume(config, seeds, &state)?;
    rbm_core::validate_data(data, config.size * config.size, Units::Spin)?;
    // inputs[ℓ] is the training data of layer ℓ (recomputed deterministically on resume).
    let mut inputs: Vec<Array2<f32>> = vec![data.to_owned()];
    for (l, rbm) in state.layers.iter().enumerate() {
        let next = rbm.sample_hidden(inputs[l].view(), &mut seeds.up_pass(l).rng())?;
        inputs.push(next);
    }
    for l in state.layers.len()..config.layers.len() {
        let input = inputs[l].view();
        if state.trainer.is_none() {
            let tc = layer_train_config(config, seeds, l);
            state.trainer = Some(Trainer::new(tc, input, Units::Spin, config.layers[l], Units::Spin)?);
            state.history.push(Vec::new());
        }
        while let Some(trainer) = state.trainer.as_mut().filter(|t| !t.is_finished()) {
            let m = trainer.epoch(input)?;
            state.history[l].push(m);
            let event = TrainEvent { layer: l, epoch: state.history[l].last(), state: &state };
            if on_event(&event).is_break() {
                return Err(Error::Stopped);
            }
        }
        let Some(trainer) = state.trainer.take() else { continue };
        let rbm = trainer.into_model();
        if l + 1 < config.layers.len() {
            let next = rbm.sample_hidden(input, &mut seeds.up_pass(l).rng())?;
            inputs.push(next);
        }
        state.layers.push(rbm);
        if on_event(&TrainEvent { layer: l, epoch: None, state: &state }).is_break() {
            return Err(Error::Stopped);
        }
    }
    let mut layers = Vec::with_capacity(state.layers.len());
    for (l, (rbm, x)) in state.layers.iter().zip(&inputs).enumerate() {
        let last = state.history[l].last().ok_or(Error::Empty { what: "training history" })?;
        layers.push(LayerSummary {
            index: l,
            n_visible: rbm.n_visible(),
            n_hidden: rbm.n_hidden(),
            epochs: state.history[l].len(),
            reconstruction_error: last.reconstruction_error,
            pseudo_log_likelihood: last.pseudo_log_likelihood,
            free_energy_gap: last.free_energy_gap,
            log_likelihood: log_likelihood(rbm, x.view(), config, seeds.ais(l))?,
        });
    }
    let dbn = Dbn::new(state.layers)?;
    Ok((dbn, TrainSummary { layers, history: state.history }))
}

/// Log-likelihood per sample of `data` under `rbm`: exact when the smaller layer has at most
/// [`rbm_core::MAX_EXACT_UNITS`] units, else AIS if the study asks for it.
fn log_likelihood(
    rbm: &Rbm<f32>,
    data: ArrayView2<f32>,
    config: &StudyConfig,
    seed: u64,
) -> Result<Option<LogLikelihood>> {
    let r64 = rbm.to_f64();
    let d64 = data.mapv(f64::from);
    if rbm.n_visible().min(rbm.n_hidden()) <= rbm_core::MAX_EXACT_UNITS {
        let value = r64.exact_log_likelihood(d64.view())?;
        return Ok(Some(LogLikelihood { value, stderr: 0.0, method: LikelihoodMethod::Exact }));
    }
    if config.ais_chains < 2 || config.ais_steps == 0 {
        return Ok(None);
    }
    let base = rbm_core::ais::base_rate_bias(d64.view(), rbm.visible_units())?;
    let ais = AisConfig {
        chains: config.ais_chains,
        steps: config.ais_steps,
        schedule: BetaSchedule::Sigmoid { steepness: 4.0 },
        seed,
    };
    let est = r64.ais_log_partition(Some(base.view()), &ais)?;
    let value = r64.log_likelihood_with(d64.view(), est.log_z)?;
    Ok(Some(LogLikelihood { value, stderr: est.stderr, method: LikelihoodMethod::Ais }))
}
