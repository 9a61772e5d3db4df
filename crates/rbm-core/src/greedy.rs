//! Greedy layer-wise training of a deep belief network as a step API over explicit state.
//!
//! Layer `ℓ` is an RBM with `config.layers[ℓ].n_hidden` hidden units, trained with its own
//! [`TrainConfig`] (`config.layers[ℓ].train`, whose `seed` the caller chooses: this crate
//! derives no seeds) on the training data of layer `ℓ`: the data for `ℓ = 0`, else one sample
//! of `p(h | v)` of the finished layer `ℓ - 1` for every row of its own training data (the up
//! pass, [`GreedyLayer::up_pass_rng`]), drawn from the generator seeded with that layer's
//! [`GreedyLayer::up_pass_seed`] when the caller gives one, else with the layer's training seed
//! advanced by one `jump` (a stream disjoint from the one its training used;
//! [`next_layer_data`]).
//!
//! [`GreedyTrainer::step`] runs one epoch of the current layer and moves to the next layer
//! when it finishes; the caller loops, observes and checkpoints. [`GreedyTrainer::state`]
//! gives the whole run as named arrays ([`GreedyState`]: finished layers, histories, the
//! current layer's [`TrainerState`]); [`GreedyTrainer::from_state`] checks such a state
//! completely and continues it bit for bit (the training data of the upper layers are
//! recomputed from the finished layers). [`train_greedy`] is the loop without checkpoints.

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::{
    validate_data, AisConfig, AisEstimate, Dbn, EpochMetrics, EpochSeconds, Error, Float, LikelihoodMethod,
    Rbm, Result, TrainConfig, Trainer, TrainerState, Units,
};

/// One layer of a greedy run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreedyLayer {
    /// Hidden units of this layer's RBM.
    pub n_hidden: usize,
    /// How this layer is trained (including its seed).
    pub train: TrainConfig,
    /// Seed of the up pass through this layer (the next layer's training data), drawn from a
    /// generator seeded with it as it is; `None` (the default, and what checkpoints written
    /// before this field read as) draws it from `train.seed` advanced by one `jump`
    /// ([`next_layer_data`]). Left out of the serialised form when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_pass_seed: Option<u64>,
}

impl GreedyLayer {
    /// A layer of `n_hidden` units trained with `train`, its up pass seeded from `train.seed`
    /// one `jump` ahead.
    pub fn new(n_hidden: usize, train: TrainConfig) -> Self {
        GreedyLayer { n_hidden, train, up_pass_seed: None }
    }

    /// The generator of the up pass through this layer (see [`GreedyLayer::up_pass_seed`]).
    pub fn up_pass_rng(&self) -> Xoshiro256PlusPlus {
        match self.up_pass_seed {
            Some(seed) => Xoshiro256PlusPlus::seed_from_u64(seed),
            None => {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.train.seed);
                rng.jump();
                rng
            }
        }
    }
}

/// What a greedy run trains. Plain data; [`GreedyConfig::validate`] checks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreedyConfig {
    /// Units of the data layer.
    pub visible_units: Units,
    /// Units of every hidden layer.
    pub hidden_units: Units,
    /// The layers, data side first.
    pub layers: Vec<GreedyLayer>,
}

impl GreedyConfig {
    /// Every layer trained with `train`, except that layer `ℓ` gets the seed `seed(ℓ)`.
    pub fn uniform(
        visible_units: Units,
        hidden_units: Units,
        sizes: &[usize],
        train: &TrainConfig,
        seed: impl Fn(usize) -> u64,
    ) -> Self {
        let layers = sizes
            .iter()
            .enumerate()
            .map(|(l, &n_hidden)| GreedyLayer::new(n_hidden, TrainConfig { seed: seed(l), ..train.clone() }))
            .collect();
        GreedyConfig { visible_units, hidden_units, layers }
    }

    /// Checks that there is at least one layer, every layer has hidden units and at least one
    /// epoch, and every training configuration is valid.
    pub fn validate(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::NoLayers);
        }
        for layer in &self.layers {
            if layer.n_hidden == 0 {
                return Err(Error::EmptyLayer { layer: "hidden" });
            }
            if layer.train.epochs == 0 {
                return Err(Error::InvalidParameter {
                    name: "epochs",
                    value: 0.0,
                    reason: "must be at least 1",
                });
            }
            layer.train.validate()?;
        }
        Ok(())
    }

    /// Bytes a run on `n_samples` rows of `n_visible` units allocates besides the data, for
    /// `F` of `float_bytes` bytes: per layer the model, its momentum, the snapshot kept during
    /// an epoch and the finished copy; the next layer's data; mini-batch scratch and persistent
    /// chains. `None` on overflow.
    pub fn memory_bytes(&self, n_samples: usize, n_visible: usize, float_bytes: usize) -> Option<u128> {
        let sizes = self.sizes(n_visible);
        let f = float_bytes as u128;
        let mut total: u128 = 0;
        for (w, layer) in sizes.windows(2).zip(&self.layers) {
            let (nv, nh, batch) = (w[0] as u128, w[1] as u128, layer.train.batch_size as u128);
            let model = (4 * f).checked_mul(nv)?.checked_mul(nh)?;
            let next = f.checked_mul(n_samples as u128)?.checked_mul(nh)?;
            let scratch = (4 * f).checked_mul(batch)?.checked_mul(nv + nh)?;
            total = total.checked_add(model)?.checked_add(next)?.checked_add(scratch)?;
        }
        Some(total)
    }

    /// Layer widths, data layer first (`n_visible` is the data's).
    pub fn sizes(&self, n_visible: usize) -> Vec<usize> {
        std::iter::once(n_visible).chain(self.layers.iter().map(|l| l.n_hidden)).collect()
    }

    /// Checks that a saved run (`found`) is the run `self` describes; the error names the
    /// first setting that differs.
    pub fn check_same(&self, found: &GreedyConfig) -> Result<()> {
        let mismatch = |what: String, e: &dyn std::fmt::Debug, f: &dyn std::fmt::Debug| {
            Err(Error::StateMismatch { what, expected: format!("{e:?}"), found: format!("{f:?}") })
        };
        if self.visible_units != found.visible_units {
            return mismatch("the data units".into(), &self.visible_units, &found.visible_units);
        }
        if self.hidden_units != found.hidden_units {
            return mismatch("the hidden units".into(), &self.hidden_units, &found.hidden_units);
        }
        if self.layers.len() != found.layers.len() {
            return mismatch("the number of layers".into(), &self.layers.len(), &found.layers.len());
        }
        for (l, (e, f)) in self.layers.iter().zip(&found.layers).enumerate() {
            if e.n_hidden != f.n_hidden {
                return mismatch(format!("layer {} hidden units", l + 1), &e.n_hidden, &f.n_hidden);
            }
            if e.up_pass_seed != f.up_pass_seed {
                return mismatch(format!("layer {} up-pass seed", l + 1), &e.up_pass_seed, &f.up_pass_seed);
            }
            let (a, b) = (&e.train, &f.train);
            macro_rules! same {
                ($($field:ident),*) => {$(
                    if a.$field != b.$field {
                        return mismatch(format!("layer {} {}", l + 1, stringify!($field)), &a.$field, &b.$field);
                    }
                )*};
            }
            same!(
                epochs,
                cd_k,
                persistent,
                batch_size,
                learning_rate,
                learning_rate_schedule,
                momentum,
                momentum_switch,
                l1,
                l2,
                init_std,
                visible_bias_from_data,
                holdout,
                monitor_samples,
                exact_max_units,
                seed
            );
        }
        Ok(())
    }
}

/// A greedy run as named arrays: everything [`GreedyTrainer::from_state`] needs besides the
/// data.
#[derive(Debug, Clone, PartialEq)]
pub struct GreedyState<F> {
    /// What the run trains.
    pub config: GreedyConfig,
    /// The finished layers, data side first.
    pub finished: Vec<Rbm<F>>,
    /// The metrics of every epoch of every started layer (finished layers, then the current
    /// one).
    pub history: Vec<Vec<EpochMetrics>>,
    /// The trainer of layer `finished.len()`; `None` exactly when every layer is finished.
    pub current: Option<TrainerState<F>>,
}

/// What one [`GreedyTrainer::step`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct GreedyStep {
    /// The layer (0-based) the epoch trained.
    pub layer: usize,
    /// Its metrics.
    pub metrics: EpochMetrics,
    /// Whether this epoch finished the layer.
    pub layer_finished: bool,
    /// Whether every layer is now finished.
    pub finished: bool,
    /// Seconds the epoch spent updating and monitoring (not the up pass to the next layer).
    pub seconds: EpochSeconds,
}

/// The final state of one finished layer: its shape, its last epoch's metrics and its
/// log-likelihood on its own training input ([`GreedyTrainer::layer_summary`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// The layer (0-based, data side first).
    pub index: usize,
    /// Visible units.
    pub n_visible: usize,
    /// Hidden units.
    pub n_hidden: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// The last epoch's [`EpochMetrics::reconstruction_error`].
    pub reconstruction_error: Option<f64>,
    /// The last epoch's [`EpochMetrics::pseudo_log_likelihood`].
    pub pseudo_log_likelihood: Option<f64>,
    /// The last epoch's [`EpochMetrics::free_energy_gap`].
    pub free_energy_gap: Option<f64>,
    /// Mean log-likelihood per sample of the layer's training input (nats), if computed.
    pub log_likelihood: Option<f64>,
    /// Its standard error (0 when exact).
    pub log_likelihood_stderr: Option<f64>,
    /// How it was computed.
    pub log_likelihood_method: Option<LikelihoodMethod>,
    /// The AIS run behind `log_likelihood` (AIS only): its chains, steps, schedule and seed.
    /// Its estimate of `ln Z` is biased low, so `log_likelihood` is biased high, by an amount
    /// that `log_likelihood_stderr` (the spread over chains) does not include and that shrinks
    /// as `steps` grows: compare runs with more steps to see whether it has converged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_likelihood_ais: Option<AisConfig>,
    /// The AIS estimate itself (AIS only): `ln Ẑ`, its standard error, the base model's
    /// `ln Z_0` and the effective sample size of the chains' weights (a small one, against the
    /// number of chains, means the standard error is not to be trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_likelihood_ais_estimate: Option<AisEstimate>,
    /// Set when AIS was configured but not run because its work, as a fraction of the layer's
    /// training, was over [`LikelihoodBudget::max_ais_work_fraction`]: that fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_likelihood_skipped_ais_work_fraction: Option<f64>,
}

/// What a final log-likelihood may cost ([`GreedyTrainer::layer_summary_within`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LikelihoodBudget {
    /// Exact when [`Rbm::exact_terms`] is at most this (`u64::MAX`: whenever it can be had).
    pub max_exact_terms: u64,
    /// Otherwise AIS when its work is at most this fraction of the layer's training
    /// ([`GreedyTrainer::ais_work_fraction`]; `f64::INFINITY`: whatever it costs).
    pub max_ais_work_fraction: f64,
}

impl Default for LikelihoodBudget {
    /// Exact up to [`MAX_EXACT_TERMS`](crate::MAX_EXACT_TERMS), AIS whatever it costs.
    fn default() -> Self {
        LikelihoodBudget { max_exact_terms: crate::MAX_EXACT_TERMS, max_ais_work_fraction: f64::INFINITY }
    }
}

/// A resumable greedy training run (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct GreedyTrainer<F> {
    config: GreedyConfig,
    finished: Vec<Rbm<F>>,
    history: Vec<Vec<EpochMetrics>>,
    current: Option<Trainer<F>>,
    /// `inputs[ℓ - 1]` is the training data of layer `ℓ ≥ 1`.
    inputs: Vec<Array2<F>>,
    data_shape: (usize, usize),
}

impl<F: Float> GreedyTrainer<F> {
    /// Starts a run on `data` (`(samples, n_visible)` of `config.visible_units` values): checks
    /// the configuration and the data and starts the first layer's trainer.
    pub fn new(config: GreedyConfig, data: ArrayView2<F>) -> Result<Self> {
        config.validate()?;
        if data.ncols() == 0 {
            return Err(Error::EmptyLayer { layer: "visible" });
        }
        // The data's values are checked by the first layer's trainer.
        let first = &config.layers[0];
        let trainer = Trainer::new(
            first.train.clone(),
            data,
            config.visible_units,
            first.n_hidden,
            config.hidden_units,
        )?;
        Ok(GreedyTrainer {
            config,
            finished: Vec::new(),
            history: vec![Vec::new()],
            current: Some(trainer),
            inputs: Vec::new(),
            data_shape: data.dim(),
        })
    }

    /// [`GreedyTrainer::from_state`] after checking that the state is of the run `config`
    /// describes ([`GreedyConfig::check_same`]).
    pub fn resume(config: &GreedyConfig, state: GreedyState<F>, data: ArrayView2<F>) -> Result<Self> {
        config.validate()?;
        config.check_same(&state.config)?;
        Self::from_state(state, data)
    }

    /// Continues a run from `state` on `data` (the data it was started on), after checking
    /// the state completely: the configuration; every finished layer's shape and units against
    /// the configuration and the data; one history per started layer with one entry per epoch
    /// done; the current trainer ([`Trainer::from_state`]) against its layer's configuration,
    /// shape, units and the data's row count. Recomputes the upper layers' training data.
    pub fn from_state(state: GreedyState<F>, data: ArrayView2<F>) -> Result<Self> {
        let GreedyState { config, finished, history, current } = state;
        config.validate()?;
        validate_data(data, data.ncols(), config.visible_units)?;
        let bad = |what: &'static str, detail: String| Err(Error::InvalidState { what, detail });
        let n_layers = config.layers.len();
        if finished.len() > n_layers {
            return bad("finished layers", format!("{} finished but the run has {n_layers}", finished.len()));
        }
        let mut n_visible = data.ncols();
        let mut units = config.visible_units;
        for (l, rbm) in finished.iter().enumerate() {
            let shape = (rbm.n_visible(), rbm.n_hidden());
            if shape != (n_visible, config.layers[l].n_hidden) {
                return bad(
                    "finished layer",
                    format!(
                        "{} is {}→{}, the run needs {}→{}",
                        l + 1,
                        shape.0,
                        shape.1,
                        n_visible,
                        config.layers[l].n_hidden
                    ),
                );
            }
            if (rbm.visible_units(), rbm.hidden_units()) != (units, config.hidden_units) {
                return bad("finished layer", format!("{} has other units than the run", l + 1));
            }
            n_visible = rbm.n_hidden();
            units = config.hidden_units;
        }
        let started = finished.len() + usize::from(finished.len() < n_layers);
        if history.len() != started {
            return bad("history", format!("has {} layers, expected {started}", history.len()));
        }
        for (l, h) in history.iter().enumerate() {
            if let Some((k, m)) = h.iter().enumerate().find(|(k, m)| m.epoch != k + 1) {
                return bad("history", format!("entry {k} of layer {} is for epoch {}", l + 1, m.epoch));
            }
            if l < finished.len() && h.len() != config.layers[l].train.epochs {
                return bad(
                    "history",
                    format!(
                        "layer {} has {} epochs, expected {}",
                        l + 1,
                        h.len(),
                        config.layers[l].train.epochs
                    ),
                );
            }
        }
        let current = match (current, finished.len() < n_layers) {
            (None, false) => None,
            (Some(_), false) => return bad("current layer", "is present but every layer is finished".into()),
            (None, true) => return bad("current layer", format!("{} is missing", finished.len() + 1)),
            (Some(ts), true) => {
                let l = finished.len();
                let layer = &config.layers[l];
                if ts.config != layer.train {
                    return Err(Error::StateMismatch {
                        what: format!("layer {} trainer settings", l + 1),
                        expected: format!("{:?}", layer.train),
                        found: format!("{:?}", ts.config),
                    });
                }
                let t = Trainer::from_state(ts)?;
                let m = t.model();
                if (m.n_visible(), m.n_hidden()) != (n_visible, layer.n_hidden) {
                    return bad(
                        "current layer",
                        format!(
                            "{} is {}→{}, the run needs {}→{}",
                            l + 1,
                            m.n_visible(),
                            m.n_hidden(),
                            n_visible,
                            layer.n_hidden
                        ),
                    );
                }
                if (m.visible_units(), m.hidden_units()) != (units, config.hidden_units) {
                    return bad("current layer", format!("{} has other units than the run", l + 1));
                }
                if t.n_samples() != data.nrows() {
                    return Err(Error::DataChanged { expected: t.n_samples(), found: data.nrows() });
                }
                if history[l].len() != t.epochs_done() {
                    return bad(
                        "history",
                        format!(
                            "layer {} has {} epochs but its trainer has done {}",
                            l + 1,
                            history[l].len(),
                            t.epochs_done()
                        ),
                    );
                }
                Some(t)
            }
        };
        let mut inputs: Vec<Array2<F>> = Vec::with_capacity(finished.len());
        for (l, rbm) in finished.iter().enumerate().take(n_layers - 1) {
            let x = if l == 0 { data } else { inputs[l - 1].view() };
            inputs.push(up_pass_data(rbm, x, &config.layers[l])?);
        }
        Ok(GreedyTrainer { config, finished, history, current, inputs, data_shape: data.dim() })
    }

    /// The whole run as named arrays.
    pub fn state(&self) -> GreedyState<F> {
        GreedyState {
            config: self.config.clone(),
            finished: self.finished.clone(),
            history: self.history.clone(),
            current: self.current.as_ref().map(Trainer::state),
        }
    }

    /// One epoch of the current layer on `data` (the data the run was started on); when the
    /// layer finishes, its model joins the finished layers and the next layer's trainer
    /// starts. On an error (for example [`Error::Diverged`]) the state is that of before the
    /// epoch.
    pub fn step(&mut self, data: ArrayView2<F>) -> Result<GreedyStep> {
        if data.nrows() != self.data_shape.0 {
            return Err(Error::DataChanged { expected: self.data_shape.0, found: data.nrows() });
        }
        if data.ncols() != self.data_shape.1 {
            return Err(Error::ShapeMismatch {
                what: "data columns",
                expected: self.data_shape.1,
                found: data.ncols(),
            });
        }
        let l = self.finished.len();
        let Some(trainer) = self.current.as_mut() else {
            return Err(Error::AlreadyFinished);
        };
        let input = if l == 0 { data } else { self.inputs[l - 1].view() };
        let (metrics, seconds) = trainer.epoch_timed(input)?;
        self.history[l].push(metrics.clone());
        let layer_finished = trainer.is_finished();
        if layer_finished {
            self.finish_layer(data)?;
        }
        Ok(GreedyStep { layer: l, metrics, layer_finished, finished: self.is_finished(), seconds })
    }

    /// Moves the finished current layer to the finished layers and starts the next one; leaves
    /// the state unchanged on error.
    fn finish_layer(&mut self, data: ArrayView2<F>) -> Result<()> {
        let l = self.finished.len();
        let trainer = self.current.as_ref().expect("a current layer");
        let rbm = trainer.model().clone();
        let next = if l + 1 < self.config.layers.len() {
            let input = if l == 0 { data } else { self.inputs[l - 1].view() };
            let x = up_pass_data(&rbm, input, &self.config.layers[l])?;
            let layer = &self.config.layers[l + 1];
            let t = Trainer::new(
                layer.train.clone(),
                x.view(),
                self.config.hidden_units,
                layer.n_hidden,
                self.config.hidden_units,
            )?;
            Some((x, t))
        } else {
            None
        };
        self.finished.push(rbm);
        self.current = match next {
            Some((x, t)) => {
                self.inputs.push(x);
                self.history.push(Vec::new());
                Some(t)
            }
            None => None,
        };
        Ok(())
    }

    /// Whether every layer is finished.
    pub fn is_finished(&self) -> bool {
        self.current.is_none()
    }

    /// The configuration of the run.
    pub fn config(&self) -> &GreedyConfig {
        &self.config
    }

    /// The finished layers, data side first.
    pub fn finished_layers(&self) -> &[Rbm<F>] {
        &self.finished
    }

    /// The metrics of every epoch of every started layer.
    pub fn history(&self) -> &[Vec<EpochMetrics>] {
        &self.history
    }

    /// The trainer of the layer in training (`None` when finished); its index is
    /// `finished_layers().len()`.
    pub fn current(&self) -> Option<&Trainer<F>> {
        self.current.as_ref()
    }

    /// The training data of layer `layer` (`data` itself for layer 0), for the finished
    /// layers and the current one.
    pub fn layer_input<'a>(&'a self, layer: usize, data: ArrayView2<'a, F>) -> Option<ArrayView2<'a, F>> {
        match layer {
            0 => Some(data),
            l => self.inputs.get(l - 1).map(|x| x.view()),
        }
    }

    /// The work of an AIS log-likelihood of finished layer `layer` on its `n` input rows (all
    /// of them, held-out ones included, as [`GreedyTrainer::layer_summary`] uses) with `ais`,
    /// as a fraction of the layer's planned training on them
    /// ([`AisConfig::log_likelihood_multiply_adds`] over
    /// [`TrainConfig::training_multiply_adds`]); a function of the configuration and the shape
    /// only, the same for a resumed run. `None` if `layer` is not finished.
    pub fn ais_work_fraction(&self, layer: usize, n: usize, ais: &AisConfig) -> Option<f64> {
        let rbm = self.finished.get(layer)?;
        let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
        let training = self.config.layers[layer].train.training_multiply_adds(n, nv, nh);
        Some(ais.log_likelihood_multiply_adds(n, nv, nh) / training)
    }

    /// The summary of finished layer `layer`: shape, last metrics, and the log-likelihood of
    /// its training input by [`Rbm::estimate_log_likelihood`] (exact when enumeration is cheap, else
    /// AIS with `ais`, or none). `data` is the data the run was started on.
    pub fn layer_summary(
        &self,
        layer: usize,
        data: ArrayView2<F>,
        ais: Option<&AisConfig>,
    ) -> Result<LayerSummary> {
        self.layer_summary_within(layer, data, ais, &LikelihoodBudget::default())
    }

    /// [`GreedyTrainer::layer_summary`] within `budget`: the log-likelihood exact up to
    /// [`LikelihoodBudget::max_exact_terms`] terms of enumeration (see
    /// [`Rbm::estimate_log_likelihood_within`]), else AIS with `ais` if its work is within
    /// [`LikelihoodBudget::max_ais_work_fraction`] of the layer's training (else none, and
    /// [`LayerSummary::log_likelihood_skipped_ais_work_fraction`] says why).
    pub fn layer_summary_within(
        &self,
        layer: usize,
        data: ArrayView2<F>,
        ais: Option<&AisConfig>,
        budget: &LikelihoodBudget,
    ) -> Result<LayerSummary> {
        let (Some(rbm), Some(x)) = (self.finished.get(layer), self.layer_input(layer, data)) else {
            return Err(Error::InvalidParameter {
                name: "layer",
                value: layer as f64,
                reason: "is not a finished layer of the run",
            });
        };
        let last = self.history[layer].last();
        let exact = rbm.exact_terms().is_some_and(|t| t <= budget.max_exact_terms);
        let fraction = ais.filter(|_| !exact).and_then(|a| self.ais_work_fraction(layer, x.nrows(), a));
        let skipped = fraction.filter(|&f| f.is_nan() || f > budget.max_ais_work_fraction);
        let ais = ais.filter(|_| skipped.is_none());
        // Nothing to compute: no pass over the data (checking it alone costs 8 ms on 20,000
        // × 1600 values).
        let ll = if exact || ais.is_some() {
            rbm.estimate_log_likelihood_within(x, ais, budget.max_exact_terms)?
        } else {
            None
        };
        let ais_estimate = ll.as_ref().and_then(|l| l.ais.clone());
        Ok(LayerSummary {
            index: layer,
            n_visible: rbm.n_visible(),
            n_hidden: rbm.n_hidden(),
            epochs: self.history[layer].len(),
            reconstruction_error: last.map(|m| m.reconstruction_error),
            pseudo_log_likelihood: last.map(|m| m.pseudo_log_likelihood),
            free_energy_gap: last.and_then(|m| m.free_energy_gap),
            log_likelihood: ll.as_ref().map(|l| l.value),
            log_likelihood_stderr: ll.as_ref().map(|l| l.stderr),
            log_likelihood_method: ll.as_ref().map(|l| l.method),
            log_likelihood_ais: ais_estimate.as_ref().and(ais).cloned(),
            log_likelihood_ais_estimate: ais_estimate,
            log_likelihood_skipped_ais_work_fraction: skipped,
        })
    }

    /// The trained network (every layer must be finished).
    pub fn into_dbn(self) -> Result<Dbn<F>> {
        if !self.is_finished() {
            return Err(Error::InvalidState {
                what: "run",
                detail: format!(
                    "is not finished ({} of {} layers)",
                    self.finished.len(),
                    self.config.layers.len()
                ),
            });
        }
        Dbn::new(self.finished)
    }
}

/// Greedy layer-wise training without checkpoints: [`GreedyTrainer::step`] until finished.
/// `on_epoch(ℓ, metrics)` is called after every epoch. Stops at the first error (for example
/// divergence).
pub fn train_greedy<F: Float>(
    data: ArrayView2<F>,
    config: &GreedyConfig,
    on_epoch: &mut dyn FnMut(usize, &EpochMetrics),
) -> Result<Dbn<F>> {
    let mut run = GreedyTrainer::new(config.clone(), data)?;
    while !run.is_finished() {
        let step = run.step(data)?;
        on_epoch(step.layer, &step.metrics);
    }
    run.into_dbn()
}

/// The training data the layer above `rbm` gets: one sample of `p(h | v)` for every row of
/// `data`, drawn from the generator seeded with `seed` (the seed `rbm` was trained with)
/// advanced by one `jump` (the up pass of a layer without [`GreedyLayer::up_pass_seed`]).
pub fn next_layer_data<F: Float>(rbm: &Rbm<F>, data: ArrayView2<F>, seed: u64) -> Result<Array2<F>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    rng.jump();
    rbm.sample_hidden(data, &mut rng)
}

/// The up pass through `rbm`, the trained model of `layer`: one sample of `p(h | v)` for every
/// row of `data`, drawn from [`GreedyLayer::up_pass_rng`].
fn up_pass_data<F: Float>(rbm: &Rbm<F>, data: ArrayView2<F>, layer: &GreedyLayer) -> Result<Array2<F>> {
    rbm.sample_hidden(data, &mut layer.up_pass_rng())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(up_pass_seed: Option<u64>) -> GreedyLayer {
        GreedyLayer { up_pass_seed, ..GreedyLayer::new(3, TrainConfig::hinton(2, 7)) }
    }

    #[test]
    fn a_layer_without_an_up_pass_seed_keeps_its_serialised_form() {
        // Checkpoints written before the field existed read as `None`, and `None` writes the
        // same JSON as before, so their bytes and `kadanoff train`'s are unchanged.
        let old = serde_json::json!({"n_hidden": 3, "train": TrainConfig::hinton(2, 7)});
        let read: GreedyLayer = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(read, layer(None));
        assert_eq!(serde_json::to_value(layer(None)).unwrap(), old);
        let with = serde_json::to_value(layer(Some(5))).unwrap();
        assert_eq!(with["up_pass_seed"], 5);
        assert_eq!(serde_json::from_value::<GreedyLayer>(with).unwrap(), layer(Some(5)));
    }

    #[test]
    fn the_up_pass_stream_is_the_given_seed_or_the_training_seed_one_jump_ahead() {
        use rand::RngCore;
        let mut jumped = Xoshiro256PlusPlus::seed_from_u64(7);
        jumped.jump();
        assert_eq!(layer(None).up_pass_rng().next_u64(), jumped.next_u64());
        let mut given = Xoshiro256PlusPlus::seed_from_u64(5);
        assert_eq!(layer(Some(5)).up_pass_rng().next_u64(), given.next_u64());
        // A saved run with another up-pass seed is another run.
        let config = |s| GreedyConfig {
            visible_units: Units::Spin,
            hidden_units: Units::Spin,
            layers: vec![layer(s)],
        };
        assert!(config(Some(5)).check_same(&config(Some(5))).is_ok());
        assert!(matches!(config(Some(5)).check_same(&config(None)), Err(Error::StateMismatch { .. })));
    }
}
