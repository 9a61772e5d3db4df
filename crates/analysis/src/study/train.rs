//! Step 2: greedy layer-wise training of the DBN (spin units, CD-1, L1 penalty), resumable.
//!
//! The training is `rbm_core`'s [`GreedyTrainer`] with the study's [`greedy_config`]: layer `ℓ`
//! is trained with the seed [`StudySeeds::train_layer`]`(ℓ)` on one sampled up pass of the data
//! through the finished layers below, the up pass through layer `ℓ` drawn from
//! [`StudySeeds::up_pass`]`(ℓ)` (the layer's [`GreedyLayer::up_pass_seed`]). [`trainer`] starts
//! a run or resumes one from a saved [`GreedyState`] (what `rbm_core::format` checkpoints
//! store); [`train`] loops over [`GreedyTrainer::step`], shows the caller a [`TrainEvent`] after
//! every epoch and at the end of every layer (to checkpoint [`GreedyTrainer::state`] and show
//! progress) and lets it stop the run; resuming from a saved state ends with the same model,
//! bit for bit. The per-layer summaries are [`GreedyTrainer::layer_summary`]'s.

use std::ops::ControlFlow;

use ndarray::{Array2, ArrayView2};
use rbm_core::ais::{AisConfig, BetaSchedule};
use rbm_core::dbn::Dbn;
use rbm_core::{
    EpochMetrics, GreedyConfig, GreedyLayer, GreedyState, GreedyTrainer, LayerSummary, TrainConfig, Units,
};
use serde::{Deserialize, Serialize};

use super::{StudyConfig, StudySeeds};
use crate::error::{Error, Result};

/// What the per-epoch callback of [`train`] sees.
pub struct TrainEvent<'a> {
    /// Layer being trained (from 0).
    pub layer: usize,
    /// The epoch just finished, or `None` when the layer has just been finished.
    pub epoch: Option<&'a EpochMetrics>,
    /// The run after that epoch; [`GreedyTrainer::state`] is the state to save to resume from
    /// this point.
    pub run: &'a GreedyTrainer<f32>,
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
        // Decaying linearly to zero, at momentum 0.5 throughout: on the study's data (20,000
        // configurations of 40×40 at K = 0.408, 1600 → 400) rbm.m's switch to momentum 0.9 at
        // epoch 5 makes the pseudo-log-likelihood fall at once (−0.42 → −0.53 per unit with
        // L1 2×10⁻⁴, −0.42 → −0.48 with 8×10⁻³) and stay there for the rest of a constant-rate
        // run (200 epochs), at rate 0.01 and at rbm.m's own 0.00625 alike; without the switch
        // it improves steadily (−0.410 after 20 epochs), and more with the decay (−0.396).
        learning_rate_schedule: rbm_core::RateSchedule::Linear,
        momentum: 0.5,
        momentum_switch: None,
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

/// The study's training as a greedy run: spin units in every layer, layer `ℓ` with
/// [`layer_train_config`] and the up-pass seed [`StudySeeds::up_pass`]`(ℓ)`.
pub fn greedy_config(config: &StudyConfig, seeds: &StudySeeds) -> GreedyConfig {
    let layers = config
        .layers
        .iter()
        .enumerate()
        .map(|(l, &n_hidden)| GreedyLayer {
            up_pass_seed: Some(seeds.up_pass(l).value()),
            ..GreedyLayer::new(n_hidden, layer_train_config(config, seeds, l))
        })
        .collect();
    GreedyConfig { visible_units: Units::Spin, hidden_units: Units::Spin, layers }
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

/// Check that `state` is a run of this study: its greedy configuration (layer widths, units,
/// every layer's training settings and seeds, up-pass seeds) is [`greedy_config`]'s. The rest
/// (shapes, histories, the trainer in progress) is checked against the data by [`trainer`].
pub fn check_resume(config: &StudyConfig, seeds: &StudySeeds, state: &GreedyState<f32>) -> Result<()> {
    greedy_config(config, seeds)
        .check_same(&state.config)
        .map_err(|e| Error::ResumeMismatch { reason: e.to_string() })
}

/// The study's training run on `data` (`samples × L²`, `±1` values, e.g. from
/// [`training_matrix`]): a new one, or `resume` continued after checking it completely
/// ([`check_resume`], then [`GreedyTrainer::resume`] against the data; any failure of that
/// check is [`Error::ResumeMismatch`]).
pub fn trainer(
    config: &StudyConfig,
    seeds: &StudySeeds,
    data: ArrayView2<f32>,
    resume: Option<GreedyState<f32>>,
) -> Result<GreedyTrainer<f32>> {
    config.validate()?;
    rbm_core::validate_data(data, config.size * config.size, Units::Spin)?;
    let greedy = greedy_config(config, seeds);
    match resume {
        None => Ok(GreedyTrainer::new(greedy, data)?),
        Some(state) => {
            check_resume(config, seeds, &state)?;
            GreedyTrainer::resume(&greedy, state, data)
                .map_err(|e| Error::ResumeMismatch { reason: e.to_string() })
        }
    }
}

/// Train the study's DBN: [`GreedyTrainer::step`] on `data` until `run` (from [`trainer`]) is
/// finished, then each layer's [`GreedyTrainer::layer_summary`] (log-likelihood exact for small
/// layers, else AIS with the study's settings seeded by [`StudySeeds::ais`], or none).
/// `on_event` is called after every epoch and after every finished layer; returning
/// `ControlFlow::Break` stops the run with [`Error::Stopped`]. A failing epoch returns its
/// error; the last state the callback saw is intact.
pub fn train(
    config: &StudyConfig,
    seeds: &StudySeeds,
    data: ArrayView2<f32>,
    mut run: GreedyTrainer<f32>,
    on_event: &mut dyn FnMut(&TrainEvent<'_>) -> ControlFlow<()>,
) -> Result<(Dbn<f32>, TrainSummary)> {
    greedy_config(config, seeds)
        .check_same(run.config())
        .map_err(|e| Error::ResumeMismatch { reason: e.to_string() })?;
    while !run.is_finished() {
        let step = run.step(data)?;
        let event = TrainEvent { layer: step.layer, epoch: Some(&step.metrics), run: &run };
        if on_event(&event).is_break() {
            return Err(Error::Stopped);
        }
        if step.layer_finished
            && on_event(&TrainEvent { layer: step.layer, epoch: None, run: &run }).is_break()
        {
            return Err(Error::Stopped);
        }
    }
    let layers = (0..config.layers.len())
        .map(|l| {
            let ais = (config.ais_chains >= 2 && config.ais_steps > 0).then(|| AisConfig {
                chains: config.ais_chains,
                steps: config.ais_steps,
                schedule: BetaSchedule::Sigmoid { steepness: 4.0 },
                seed: seeds.ais(l),
            });
            run.layer_summary(l, data, ais.as_ref())
        })
        .collect::<rbm_core::Result<Vec<_>>>()?;
    let history = run.history().to_vec();
    Ok((run.into_dbn()?, TrainSummary { layers, history }))
}
