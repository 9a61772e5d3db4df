//! Training by contrastive divergence (CD-k) or persistent CD (PCD), with explicit,
//! serialisable state.
//!
//! The gradient of the mean log-likelihood in the ML sign convention is
//! `∂/∂W = ⟨v hᵀ⟩_data - ⟨v hᵀ⟩_model` (and `⟨v⟩`, `⟨h⟩` for the biases), where the data term
//! uses the exact conditional means `⟨h | v⟩` and the model term is estimated from the negative
//! chains after `k` block Gibbs steps (CD: chains start at the mini-batch; PCD: `batch_size`
//! persistent chains). The update with momentum `μ`, learning rate `ε` and penalties is
//!
//! ```text
//! Δ ← μ Δ + ε (∇ - l2 W - l1 sign W),    W ← W + Δ
//! ```
//!
//! (biases are not penalised). Hidden units are sampled inside the chain, the final hidden
//! statistics use means.
//!
//! # Reproducibility
//!
//! One [`Xoshiro256PlusPlus`] seeded from [`TrainConfig::seed`] drives everything, drawn
//! sequentially in a fixed order: held-out split, weight initialisation, persistent-chain
//! start, then per epoch a shuffle of the training order and, per mini-batch, for every
//! sampled layer either uniforms in bulk or, for a step cut into two blocks, one seed per
//! block (see `crate::kernel`). Matrix products are cut into a number of blocks fixed by their shape
//! (see `crate::kernel`) and run on the cores in parallel, so results do not depend on the
//! number of threads. [`Trainer`] holds all state (model, momentum buffers,
//! persistent chains, generator, epoch, order) and is `serde`-serialisable: a run interrupted
//! after any epoch and resumed from the serialised state ends bit-identical to an uninterrupted
//! one (use a float format that round-trips exactly).
//!
//! # Monitoring
//!
//! [`Trainer::monitor`] computes [`EpochMetrics`] on the first `monitor_samples` training (and
//! held-out) rows in a fixed order, the pseudo-log-likelihood on at most [`PLL_MAX_ROWS`] of
//! them; see [`crate::monitor`]. The exact log-likelihood of the
//! whole training and held-out sets is added when the smaller layer has at most
//! `exact_max_units` units.

use ndarray::{s, Array1, Array2, ArrayView2, Axis, Zip};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::monitor::{mean_free_energy, pseudo_log_likelihood, reconstruction_error};
use crate::{kernel, validate_data, Error, Float, Rbm, Result, Units, MAX_EXACT_UNITS};

/// Most rows the per-epoch pseudo-log-likelihood of [`Trainer::monitor`] uses (see
/// [`TrainConfig::monitor_samples`]).
pub const PLL_MAX_ROWS: usize = 100;

/// A change of momentum at a given epoch (Hinton: 0.5, then 0.9 from epoch 5 on).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MomentumSwitch {
    /// First epoch (0-based) that uses `value`.
    pub epoch: usize,
    /// The momentum from then on.
    pub value: f64,
}

/// How the learning rate changes over the epochs of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateSchedule {
    /// The same rate in every epoch (Hinton's recipe; what runs before schedules existed used,
    /// hence the default when a stored configuration names none).
    #[default]
    Constant,
    /// Linear decay to zero over the run: epoch `e` (0-based) of `epochs` uses
    /// `ε (1 - e / epochs)`, so the last epoch uses `ε / epochs` (epochs past the planned
    /// number, through [`Trainer::cd_step`], keep that last rate).
    ///
    /// At a constant rate the parameters do not converge: they wander around the optimum with
    /// a spread set by the rate and the mini-batch noise, and the exact KL plateaus far above
    /// the finite-sample floor. Annealing the rate removes that noise (see
    /// [`TrainConfig::recommended`] for the numbers).
    Linear,
}

/// Per-epoch monitoring rows of [`TrainConfig::default_monitor_rows`] on large data sets.
pub const DEFAULT_MONITOR_SAMPLES: usize = 500;

/// Training rows per monitoring row in [`TrainConfig::default_monitor_rows`] on small data
/// sets: the metrics of [`Trainer::monitor`] cost about 5.5 rows of a CD-1 update per
/// monitored row (reconstruction: 2 products; free energies of training and held-out rows: 1
/// each; the pseudo-log-likelihood about 1.5), against 5 per training row in an epoch, so one
/// in 30 keeps them near 4% of an epoch. Measured before this rule (1600 → 400, 500 rows): 28%
/// of an epoch on 2,000 samples, 60% on 1,000 samples of 784 → 500.
pub const TRAIN_ROWS_PER_MONITOR_ROW: usize = 30;

/// Hyper-parameters of RBM training. Plain data; [`TrainConfig::validate`] checks ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Gibbs steps per negative phase (`k` of CD-k), at least 1.
    pub cd_k: usize,
    /// Persistent chains (PCD) instead of chains restarted at the data (CD).
    pub persistent: bool,
    /// Number of epochs the caller intends to run ([`Trainer::is_finished`]).
    pub epochs: usize,
    /// Mini-batch size (and number of persistent chains).
    pub batch_size: usize,
    /// Learning rate `ε > 0` (of the first epoch; see `learning_rate_schedule`).
    pub learning_rate: f64,
    /// How the learning rate changes over the `epochs` of the run (absent in configurations
    /// stored before it existed: those read as [`RateSchedule::Constant`]).
    #[serde(default)]
    pub learning_rate_schedule: RateSchedule,
    /// Momentum `μ ∈ [0, 1)` at the start.
    pub momentum: f64,
    /// Optional later momentum.
    pub momentum_switch: Option<MomentumSwitch>,
    /// L1 penalty on the weights (the paper's sparsity term), `≥ 0`.
    pub l1: f64,
    /// L2 penalty (weight decay) on the weights, `≥ 0`.
    pub l2: f64,
    /// Standard deviation of the initial Gaussian weights, `≥ 0`.
    pub init_std: f64,
    /// Start the visible biases at the logit (binary) or atanh (spin) of the training-data mean
    /// (clamped to `[0.001, 0.999]` as a probability), so that the initial model has the data's
    /// single-unit marginals.
    pub visible_bias_from_data: bool,
    /// Fraction of samples held out (chosen at random, never trained on), in `[0, 1)`.
    pub holdout: f64,
    /// Rows used for the per-epoch reconstruction error and free energies (the first
    /// `monitor_samples` training and held-out rows). The pseudo-log-likelihood, which costs
    /// `n_visible · n_hidden` terms per row, uses at most the first [`PLL_MAX_ROWS`] of them:
    /// at 1600 → 400 units and 20,000 samples that keeps all monitoring near 3% of an epoch,
    /// while 500 rows of PLL would cost about 8%. Call
    /// [`monitor::pseudo_log_likelihood`](crate::monitor::pseudo_log_likelihood) directly for
    /// the exact all-unit PLL of any set of rows.
    pub monitor_samples: usize,
    /// Compute the exact log-likelihood each epoch when the smaller layer has at most this
    /// many units (at most 24; 0 disables it).
    pub exact_max_units: usize,
    /// Seed of the one generator of the run.
    pub seed: u64,
}

impl TrainConfig {
    /// Hinton's widely copied defaults (docs/science.md §6, marked as a guess there): CD-1,
    /// learning rate 0.1 (constant), momentum 0.5 then 0.9 from epoch 5, batches of 100, initial weights
    /// `N(0, 0.01²)`, visible biases from the data, no penalties, no hold-out, 100 monitored
    /// rows, exact likelihood up to 20 units.
    ///
    /// These defaults were made for binary units. With spin units the same distribution has
    /// weights 4× smaller and gradients up to 4× larger (see [`Rbm::with_units`]), so a
    /// learning rate near 0.01 is the comparable choice: on 2,000 samples of 40×40 Ising
    /// configurations at K = 0.408 (1600 → 400 spins, L1 2e-4), 0.1 with the switch to
    /// momentum 0.9 made the pseudo-log-likelihood fall from -0.45 to -1.2 per unit, while 0.01
    /// improved it steadily (-0.54 → -0.34 in 10 epochs).
    pub fn hinton(epochs: usize, seed: u64) -> Self {
        TrainConfig {
            cd_k: 1,
            persistent: false,
            epochs,
            batch_size: 100,
            learning_rate: 0.1,
            learning_rate_schedule: RateSchedule::Constant,
            momentum: 0.5,
            momentum_switch: Some(MomentumSwitch { epoch: 5, value: 0.9 }),
            l1: 0.0,
            l2: 0.0,
            init_std: 0.01,
            visible_bias_from_data: true,
            holdout: 0.0,
            monitor_samples: 100,
            exact_max_units: 20,
            seed,
        }
    }

    /// The default learning rate (of the first epoch, with the default
    /// [`RateSchedule::Linear`] decay) for a layer of `units` trained by CD
    /// (`persistent = false`) or PCD, with the Gibbs steps of
    /// [`TrainConfig::default_gibbs_steps`].
    ///
    /// CD: 0.05 for binary units, 0.01 for spins (see [`TrainConfig::hinton`]). Hinton's 0.1
    /// for binary units is too fast for a decaying rate to settle: with 0/1 hidden units on
    /// rings of 10 to 16 spins at K = 0.5, 0.8 and 1.2 (20,000 samples, 200 epochs), with the
    /// switch to momentum 0.9 that was then the default, CD-1 at 0.1 ended 1.5-3.2× above the
    /// finite-sample floor of the KL, at 0.05 1.2-1.8×; without the switch (today's default)
    /// 0.1 ends 0.95-1.44× and 0.05 0.86-1.46× (one seed), 0.2 up to 2.5×.
    ///
    /// PCD: 0.03 for binary hidden units and 0.01 for spins. The persistent chains (one per row
    /// of a mini-batch) must keep up with the model: with CD's one Gibbs step, the switch to
    /// momentum 0.9 and 0.01, PCD on 20,000 exact samples of a 14-spin ring at K = 0.8 (14
    /// hidden spins, 200 epochs) ends at KL ≈ 3 nats, and without the switch one step needs a
    /// rate as small as 0.005, which is too slow for strongly coupled rings (2.8× the floor on
    /// the 10-spin ring at K = 1.2, the same for two seeds: the rate, not the noise, limits it).
    /// With five steps per update the chains keep up at 0.01, which reaches 0.8-1.0× the floor
    /// at K ≤ 0.8 and 0.9-1.4× at K = 1.2. With 0/1 hidden units (ten steps) 0.03 is best:
    /// 0.02 and 0.05 are worse at K = 1.2 (up to 2.8× and 3.2×, against 2.4×).
    pub fn default_learning_rate(units: Units, persistent: bool) -> f64 {
        match (units, persistent) {
            (Units::Binary, false) => 0.05,
            (Units::Spin, false) => 0.01,
            (Units::Binary, true) => 0.03,
            (Units::Spin, true) => 0.01,
        }
    }

    /// The default change of momentum: none, for CD and PCD alike (the momentum stays at
    /// [`TrainConfig::hinton`]'s 0.5; `persistent` is kept so that a mode-dependent default
    /// can return).
    ///
    /// Hinton's switch to 0.9 from epoch 5 multiplies the step by five. With PCD it makes the
    /// persistent chains fall behind the model (see [`TrainConfig::default_learning_rate`]).
    /// With CD and a linearly decaying rate it is worse too: on rings of 10 to 16 spins at
    /// K = 0.5, 0.8 and 1.2 (20,000 samples, 200 epochs, seeds 5-7: 36 runs per setting), CD-1
    /// with spin hidden units (rate 0.01) ends at 0.73-1.42× the finite-sample floor of the KL
    /// without the switch (mean 1.00) against 0.79-1.56× (mean 1.21) with it; with 0/1 hidden
    /// units (0.05) 0.86-2.28× (mean 1.18) against 0.89-2.06× (mean 1.40); CD-10 (seed 5)
    /// 0.70-1.17× against 0.74-1.16× with spins, 0.88-1.25× against 0.83-1.45× with 0/1 units.
    /// On Ising data (20,000 configurations of 40×40 at K = 0.408, 1600 → 400, 200 epochs) the
    /// switch made the pseudo-log-likelihood fall from -0.42 to -0.53 per unit at once and stay
    /// there. Larger rates without the switch (spins 0.03-0.08, 0/1 units 0.1-0.2) were worse on
    /// the rings, so the rates stayed.
    pub fn default_momentum_switch(persistent: bool) -> Option<MomentumSwitch> {
        let _ = persistent;
        None
    }

    /// The default number of block Gibbs steps per update (`cd_k`): 1 for CD (CD-1), 5 for PCD
    /// with spins, 10 for PCD with 0/1 units.
    ///
    /// On strongly coupled data the persistent chains mix slowly (on a ring at K = 1.2 the
    /// correlation length is about 5 sites, so a 10-16-spin ring is nearly ordered and the
    /// chains' magnetisation moves slowly), and one step per update leaves them behind the
    /// model: with 0/1 hidden units and one step, PCD ends 2-18× above the finite-sample floor
    /// on rings of 10 to 16 spins at K = 1.2. Measured one factor at a time on those rings
    /// (two seeds each, 20,000 samples, 200 epochs), the worst ring's KL over the floor is 18×
    /// with one step, 5.4× with 3, 3.7× with 5 and 2.4× with 10; a smaller rate (0.01: 4.4-8.6×),
    /// no momentum (3.4-14×) or more chains (batches of 500: 8-17×) do not help, and a larger
    /// rate with 5 steps (0.05: up to 12×) makes it worse.
    pub fn default_gibbs_steps(units: Units, persistent: bool) -> usize {
        match (units, persistent) {
            (_, false) => 1,
            (Units::Binary, true) => 10,
            (Units::Spin, true) => 5,
        }
    }

    /// [`TrainConfig::hinton`] with the unit- and mode-aware defaults: the learning rate of
    /// [`TrainConfig::default_learning_rate`] decaying linearly to zero over the run
    /// ([`RateSchedule::Linear`]), momentum 0.5 throughout
    /// ([`TrainConfig::default_momentum_switch`]) and the Gibbs steps of
    /// [`TrainConfig::default_gibbs_steps`].
    ///
    /// A ring of `n` spins is represented exactly by an RBM with `n` hidden spins, so on `s`
    /// exact samples the best such an RBM can reach is the finite-sample floor of the exact
    /// KL, about `(n² + 2n) / (2s)` nats. On 20,000 samples of the 14-spin ring at K = 0.8
    /// (floor 0.0056; an exact full-batch maximum-likelihood fit reaches 0.0045), 200 epochs:
    ///
    /// | setting | KL (nats, two seeds) |
    /// |---|---|
    /// | CD-1, constant rate 0.01 (Hinton's recipe) | 0.085, 0.136 |
    /// | CD-1, constant rate 0.003 | 0.032, 0.024 |
    /// | CD-10, constant rate 0.01 | 0.049, 0.055 |
    /// | CD-1, rate 0.01 decaying linearly, switch to momentum 0.9 | 0.0077, 0.0071 |
    /// | CD-10, rate 0.01 decaying linearly, switch to momentum 0.9 | 0.0049, 0.0042 |
    /// | CD-1, rate 0.01 decaying linearly, no switch (these defaults; seed 5) | 0.0056 |
    /// | CD-10, rate 0.01 decaying linearly, no switch (seed 5) | 0.0050 |
    /// | PCD, constant rate 0.001 | 0.019, 0.017 |
    /// | PCD, rate 0.003 decaying linearly | 0.0073, 0.0070 |
    /// | PCD, rate 0.005 decaying linearly | 0.0052, 0.0056 |
    ///
    /// The plateau of a constant rate is mini-batch noise, not CD's bias (CD-10 barely helps)
    /// nor initialisation (initial weights 0.1 instead of 0.01: 0.080) nor too few epochs;
    /// smaller mini-batches make it worse (batches of 20: 0.2-0.4). On rings of 10, 12, 14 and
    /// 16 spins at K = 0.5, 0.8 and 1.2 (`examples/kl_floor.rs held-out`) the defaults reach,
    /// as multiples of the floor (seed 5, 2026-12-02, with no momentum switch): CD-1 0.8-1.4×,
    /// CD-10 0.7-1.2×; PCD (0.01, five steps) 0.8-1.0× at K ≤ 0.8 and 0.9-1.2× at K = 1.2;
    /// with 0/1 hidden units CD-1 (0.05) 0.9-1.5×, CD-10 0.9-1.2×, PCD (0.03, ten steps)
    /// 0.8-1.1× at K ≤ 0.8 and 1.5-2.4× at K = 1.2. With the switch to momentum 0.9 that CD
    /// used before, CD-1 and CD-10 reached 0.7-1.3× with spins and 1.2-1.8× and 0.8-1.5× with
    /// 0/1 hidden units (see [`TrainConfig::default_momentum_switch`]). Before
    /// PCD took more than one Gibbs step, PCD with 0/1 hidden units reached 2-18× at K = 1.2
    /// (see [`TrainConfig::default_gibbs_steps`]); `tests/learning.rs` checks every mode on
    /// rings of other sizes.
    pub fn recommended(units: Units, persistent: bool, epochs: usize, seed: u64) -> Self {
        TrainConfig {
            cd_k: Self::default_gibbs_steps(units, persistent),
            persistent,
            learning_rate: Self::default_learning_rate(units, persistent),
            learning_rate_schedule: RateSchedule::Linear,
            momentum_switch: Self::default_momentum_switch(persistent),
            ..Self::hinton(epochs, seed)
        }
    }

    /// Monitoring rows for a run on `n` samples when none are asked for (what `kadanoff train`
    /// uses): [`DEFAULT_MONITOR_SAMPLES`], or one in [`TRAIN_ROWS_PER_MONITOR_ROW`] of the
    /// training rows (those [`TrainConfig::holdout_rows`] leaves) when that is fewer, and at
    /// least one.
    pub fn default_monitor_rows(&self, n: usize) -> usize {
        let n_train = n.saturating_sub(self.holdout_rows(n));
        DEFAULT_MONITOR_SAMPLES.min(n_train.div_ceil(TRAIN_ROWS_PER_MONITOR_ROW)).max(1)
    }

    /// Multiply-adds of the whole run this configuration asks for on a data set of `n`
    /// samples (those [`TrainConfig::holdout_rows`] leaves are trained on) of an
    /// `n_visible → n_hidden` layer: every epoch updates on each training row once, at
    /// `2 cd_k + 3` products of the layer's size per row (the hidden fields of the data, `cd_k`
    /// Gibbs steps down and up, the two halves of the gradient), with CD and with PCD. The
    /// measure [`crate::AisConfig::log_likelihood_multiply_adds`] is compared with.
    pub fn training_multiply_adds(&self, n: usize, n_visible: usize, n_hidden: usize) -> f64 {
        let rows = n.saturating_sub(self.holdout_rows(n)) as f64;
        let per_row = (2 * self.cd_k + 3) as f64 * n_visible as f64 * n_hidden as f64;
        self.epochs as f64 * rows * per_row
    }

    /// Rows of a data set of `n` samples that [`Trainer`] holds out: `floor(holdout · n)`.
    pub fn holdout_rows(&self, n: usize) -> usize {
        (self.holdout * n as f64).floor() as usize
    }

    /// Checks every range; returns the first violation.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: f64, reason| Err(Error::InvalidParameter { name, value, reason });
        if self.cd_k == 0 {
            return bad("cd_k", 0.0, "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", 0.0, "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", self.learning_rate, "must be finite and > 0");
        }
        let momenta = std::iter::once(self.momentum).chain(self.momentum_switch.map(|m| m.value));
        for m in momenta {
            if !(0.0..1.0).contains(&m) {
                return bad("momentum", m, "must be in [0, 1)");
            }
        }
        // The log-likelihood gradient of one weight is at most 2 in size (spins; 1 for bits):
        // a penalty above 1 only drives every weight to zero. Initial weights above 10 saturate
        // every unit (and overflow f32 long before 1e300).
        for (name, x, max, reason) in [
            ("l1", self.l1, 1.0, "must be in [0, 1]: a larger penalty outweighs every gradient"),
            ("l2", self.l2, 1.0, "must be in [0, 1]: a larger penalty outweighs every gradient"),
            (
                "init_std",
                self.init_std,
                10.0,
                "must be in [0, 10]: larger initial weights saturate every unit",
            ),
        ] {
            if !(x.is_finite() && (0.0..=max).contains(&x)) {
                return bad(name, x, reason);
            }
        }
        if !(0.0..1.0).contains(&self.holdout) {
            return bad("holdout", self.holdout, "must be in [0, 1)");
        }
        if self.exact_max_units > MAX_EXACT_UNITS {
            return bad("exact_max_units", self.exact_max_units as f64, "must be at most 24");
        }
        Ok(())
    }

    /// The learning rate used in epoch `epoch` (0-based; see [`RateSchedule`]).
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        match self.learning_rate_schedule {
            RateSchedule::Constant => self.learning_rate,
            RateSchedule::Linear => {
                let epochs = self.epochs.max(1);
                let remaining = epochs - epoch.min(epochs - 1);
                self.learning_rate * remaining as f64 / epochs as f64
            }
        }
    }

    /// The momentum used in epoch `epoch` (0-based).
    pub fn momentum_at(&self, epoch: usize) -> f64 {
        match self.momentum_switch {
            Some(s) if epoch >= s.epoch => s.value,
            _ => self.momentum,
        }
    }
}

/// Wall-clock seconds of one epoch ([`Trainer::epoch_timed`]): the updates, and the metrics
/// after them. Kept apart from [`EpochMetrics`], which is part of a model's history and must
/// not depend on the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochSeconds {
    /// [`Trainer::train_epoch`].
    pub train: f64,
    /// [`Trainer::monitor`].
    pub monitor: f64,
}

/// Diagnostics after one epoch (see [`crate::monitor`]). Free energies and log-likelihoods are
/// means per sample, in nats; the pseudo-log-likelihood is per sample and unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epochs completed, counting this one.
    pub epoch: usize,
    /// Momentum used in this epoch.
    pub momentum: f64,
    /// Rows of the training set used for the sampled metrics.
    pub monitor_samples: usize,
    /// Mean squared mean-field reconstruction error per unit.
    pub reconstruction_error: f64,
    /// Exact-conditional pseudo-log-likelihood per unit (nats), over the first
    /// `min(monitor_samples, PLL_MAX_ROWS)` monitored rows.
    pub pseudo_log_likelihood: f64,
    /// Mean free energy of the monitored training rows.
    pub free_energy_train: f64,
    /// Mean free energy of the monitored held-out rows (if any are held out).
    pub free_energy_holdout: Option<f64>,
    /// `free_energy_holdout - free_energy_train`: grows when the model overfits.
    pub free_energy_gap: Option<f64>,
    /// Exact mean log-likelihood of the whole training set (small models only).
    pub log_likelihood: Option<f64>,
    /// Exact mean log-likelihood of the held-out set (small models with a hold-out only).
    pub holdout_log_likelihood: Option<f64>,
}

/// Preallocated per-mini-batch buffers (not serialised; rebuilt on demand).
///
/// `vv` and `hh` stack the positive and the negative statistics so that the weight gradient is
/// one product `vvᵀ hh` with inner dimension `m + n_neg`: rows `[0, m)` hold the mini-batch
/// `v₀` and its hidden means (scaled by `ε/m` before the product), rows `[m, m + n_neg)` the
/// negative visible states and their hidden means (scaled by `-ε/n_neg`).
#[derive(Debug, Clone)]
struct Scratch<F> {
    vv: Array2<F>,
    hh: Array2<F>,
    h_sample: Array2<F>,
    v_mean: Array2<F>,
    uniforms: Vec<F>,
}

impl<F: Float> Scratch<F> {
    fn new(batch: usize, nv: usize, nh: usize) -> Self {
        Scratch {
            vv: Array2::zeros((2 * batch, nv)),
            hh: Array2::zeros((2 * batch, nh)),
            h_sample: Array2::zeros((batch, nh)),
            v_mean: Array2::zeros((batch, nv)),
            uniforms: vec![F::zero(); batch * nv.max(nh)],
        }
    }
}

/// Everything that changes during training, copied before an epoch so that a divergence can
/// restore it.
#[derive(Debug, Clone)]
struct Snapshot<F> {
    model: Rbm<F>,
    velocity_weights: Array2<F>,
    velocity_visible: Array1<F>,
    velocity_hidden: Array1<F>,
    chains: Option<Array2<F>>,
    rng: Xoshiro256PlusPlus,
    order: Vec<usize>,
    epoch: usize,
}

/// The complete state of an RBM training run (see the [module docs](self)).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct Trainer<F> {
    config: TrainConfig,
    model: Rbm<F>,
    velocity_weights: Array2<F>,
    velocity_visible: Array1<F>,
    velocity_hidden: Array1<F>,
    chains: Option<Array2<F>>,
    rng: Xoshiro256PlusPlus,
    epoch: usize,
    n_samples: usize,
    train_indices: Vec<usize>,
    holdout_indices: Vec<usize>,
    order: Vec<usize>,
    #[serde(skip)]
    scratch: Option<Scratch<F>>,
}

/// The complete state of a [`Trainer`] as named arrays and scalars (for checkpoints in any
/// format). [`Trainer::state`] gives it; [`Trainer::from_state`] validates it completely.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerState<F> {
    /// The configuration of the run.
    pub config: TrainConfig,
    /// The model being trained.
    pub model: Rbm<F>,
    /// Momentum buffer of the weights, shape `(n_visible, n_hidden)`.
    pub velocity_weights: Array2<F>,
    /// Momentum buffer of the visible biases.
    pub velocity_visible: Array1<F>,
    /// Momentum buffer of the hidden biases.
    pub velocity_hidden: Array1<F>,
    /// Persistent chains `(batch_size, n_visible)` (PCD only).
    pub chains: Option<Array2<F>>,
    /// The four state words of the run's `Xoshiro256PlusPlus` (never all zero).
    pub rng: [u64; 4],
    /// Epochs completed.
    pub epoch: usize,
    /// Rows of the data the trainer was created for.
    pub n_samples: usize,
    /// Rows trained on (sorted).
    pub train_indices: Vec<usize>,
    /// Rows held out (sorted).
    pub holdout_indices: Vec<usize>,
    /// The training order of the last epoch (a permutation of `train_indices`).
    pub order: Vec<usize>,
}

fn invalid_state(what: &'static str, detail: String) -> Error {
    Error::InvalidState { what, detail }
}

impl<F: Float> Trainer<F> {
    /// Starts a run on `data` (`(samples, n_visible)` of unit values): validates the config
    /// and the data, splits off the held-out rows, draws the initial weights
    /// (`N(0, init_std²)`), sets the visible biases from the data if asked, and starts the
    /// persistent chains (at randomly chosen training rows).
    pub fn new(
        config: TrainConfig,
        data: ArrayView2<F>,
        visible_units: Units,
        n_hidden: usize,
        hidden_units: Units,
    ) -> Result<Self> {
        config.validate()?;
        if data.ncols() == 0 {
            return Err(Error::EmptyLayer { layer: "visible" });
        }
        if n_hidden == 0 {
            return Err(Error::EmptyLayer { layer: "hidden" });
        }
        validate_data(data, data.ncols(), visible_units)?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        let (train_indices, holdout_indices) = split(&config, data.nrows(), &mut rng)?;
        let mut model =
            Rbm::random(data.ncols(), n_hidden, visible_units, hidden_units, config.init_std, &mut rng)?;
        if config.visible_bias_from_data {
            model.visible_bias = visible_bias_from_mean(data, &train_indices, visible_units);
        }
        Self::assemble(config, model, data, train_indices, holdout_indices, rng)
    }

    /// Continues training an existing model (no re-initialisation: `init_std` and
    /// `visible_bias_from_data` are ignored) with fresh momentum and generator state.
    pub fn from_model(config: TrainConfig, model: Rbm<F>, data: ArrayView2<F>) -> Result<Self> {
        config.validate()?;
        model.validate()?;
        model.validate_visible(data)?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        let (train_indices, holdout_indices) = split(&config, data.nrows(), &mut rng)?;
        Self::assemble(config, model, data, train_indices, holdout_indices, rng)
    }

    fn assemble(
        config: TrainConfig,
        model: Rbm<F>,
        data: ArrayView2<F>,
        train_indices: Vec<usize>,
        holdout_indices: Vec<usize>,
        mut rng: Xoshiro256PlusPlus,
    ) -> Result<Self> {
        let (nv, nh) = model.weights.dim();
        let chains = if config.persistent {
            let mut c = Array2::zeros((config.batch_size, nv));
            for mut row in c.rows_mut() {
                let k = train_indices[rng.random_range(0..train_indices.len())];
                row.assign(&data.row(k));
            }
            Some(c)
        } else {
            None
        };
        Ok(Trainer {
            velocity_weights: Array2::zeros((nv, nh)),
            velocity_visible: Array1::zeros(nv),
            velocity_hidden: Array1::zeros(nh),
            chains,
            rng,
            epoch: 0,
            n_samples: data.nrows(),
            order: train_indices.clone(),
            train_indices,
            holdout_indices,
            model,
            config,
            scratch: None,
        })
    }

    /// The complete state as named arrays (see [`TrainerState`]).
    pub fn state(&self) -> TrainerState<F> {
        TrainerState {
            config: self.config.clone(),
            model: self.model.clone(),
            velocity_weights: self.velocity_weights.clone(),
            velocity_visible: self.velocity_visible.clone(),
            velocity_hidden: self.velocity_hidden.clone(),
            chains: self.chains.clone(),
            rng: crate::rng_state::words(&self.rng),
            epoch: self.epoch,
            n_samples: self.n_samples,
            train_indices: self.train_indices.clone(),
            holdout_indices: self.holdout_indices.clone(),
            order: self.order.clone(),
        }
    }

    /// A trainer continuing from `state`, after checking it completely: the configuration's
    /// ranges, every shape, finite momenta, persistent chains of unit values, row indices that
    /// partition `0..n_samples` (training rows and held-out rows, the order a permutation of
    /// the training rows), `epoch <= config.epochs` and a non-zero generator state. Training
    /// from it continues bit for bit where [`Trainer::state`] was taken.
    pub fn from_state(state: TrainerState<F>) -> Result<Self> {
        let TrainerState {
            config,
            model,
            velocity_weights,
            velocity_visible,
            velocity_hidden,
            chains,
            rng,
            epoch,
            n_samples,
            train_indices,
            holdout_indices,
            order,
        } = state;
        let rng = crate::rng_state::from_words(rng)
            .ok_or_else(|| invalid_state("generator state", "is all zero".into()))?;
        let t = Trainer {
            config,
            model,
            velocity_weights,
            velocity_visible,
            velocity_hidden,
            chains,
            rng,
            epoch,
            n_samples,
            train_indices,
            holdout_indices,
            order,
            scratch: None,
        };
        t.validate()?;
        check_finite_state("weight momentum", t.velocity_weights.iter())?;
        check_finite_state("visible momentum", t.velocity_visible.iter())?;
        check_finite_state("hidden momentum", t.velocity_hidden.iter())?;
        if let Some(c) = &t.chains {
            validate_data(c.view(), t.model.n_visible(), t.model.visible_units)
                .map_err(|e| invalid_state("persistent chains", e.to_string()))?;
        }
        if t.epoch > t.config.epochs {
            return Err(invalid_state(
                "epoch",
                format!("{} epochs done but the run has {}", t.epoch, t.config.epochs),
            ));
        }
        let rows = t.train_indices.len() + t.holdout_indices.len();
        if rows != t.n_samples {
            return Err(invalid_state(
                "row indices",
                format!("{rows} training and held-out rows for {} rows of data", t.n_samples),
            ));
        }
        let mut seen = vec![false; t.n_samples];
        for &i in t.train_indices.iter().chain(&t.holdout_indices) {
            if std::mem::replace(&mut seen[i], true) {
                return Err(invalid_state("row indices", format!("row {i} appears twice")));
            }
        }
        if seen.iter().any(|&s| !s) {
            return Err(invalid_state(
                "row indices",
                "training and held-out rows do not cover the data".into(),
            ));
        }
        let sorted = |v: &[usize]| v.windows(2).all(|w| w[0] < w[1]);
        if !sorted(&t.train_indices) || !sorted(&t.holdout_indices) {
            return Err(invalid_state("row indices", "are not sorted".into()));
        }
        let mut o = t.order.clone();
        o.sort_unstable();
        if o != t.train_indices {
            return Err(invalid_state("training order", "is not a permutation of the training rows".into()));
        }
        Ok(t)
    }

    /// The current model.
    pub fn model(&self) -> &Rbm<F> {
        &self.model
    }

    /// The trained model, consuming the trainer.
    pub fn into_model(self) -> Rbm<F> {
        self.model
    }

    /// The configuration of the run.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Rows of the data the trainer was created for.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Epochs completed so far.
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// Whether `config.epochs` epochs are done.
    pub fn is_finished(&self) -> bool {
        self.epoch >= self.config.epochs
    }

    /// Rows of the data trained on (sorted).
    pub fn train_indices(&self) -> &[usize] {
        &self.train_indices
    }

    /// Rows held out (sorted).
    pub fn holdout_indices(&self) -> &[usize] {
        &self.holdout_indices
    }

    /// The generator's current state (for provenance).
    pub fn rng(&self) -> &Xoshiro256PlusPlus {
        &self.rng
    }

    fn check_data(&self, data: ArrayView2<F>) -> Result<()> {
        if data.nrows() != self.n_samples {
            return Err(Error::DataChanged { expected: self.n_samples, found: data.nrows() });
        }
        if data.ncols() != self.model.n_visible() {
            return Err(Error::ShapeMismatch {
                what: "data columns",
                expected: self.model.n_visible(),
                found: data.ncols(),
            });
        }
        self.check_shapes()
    }

    /// O(1) consistency of the state (it may come from a deserialised checkpoint).
    fn check_shapes(&self) -> Result<()> {
        let (nv, nh) = self.model.weights.dim();
        let pairs = [
            ("checkpoint visible bias", nv, self.model.visible_bias.len()),
            ("checkpoint hidden bias", nh, self.model.hidden_bias.len()),
            ("checkpoint weight momentum rows", nv, self.velocity_weights.nrows()),
            ("checkpoint weight momentum columns", nh, self.velocity_weights.ncols()),
            ("checkpoint visible momentum", nv, self.velocity_visible.len()),
            ("checkpoint hidden momentum", nh, self.velocity_hidden.len()),
            ("checkpoint order length", self.train_indices.len(), self.order.len()),
        ];
        for (what, expected, found) in pairs {
            if expected != found {
                return Err(Error::ShapeMismatch { what, expected, found });
            }
        }
        if let Some(c) = &self.chains {
            if c.dim() != (self.config.batch_size, nv) {
                return Err(Error::ShapeMismatch {
                    what: "checkpoint persistent chains",
                    expected: self.config.batch_size,
                    found: c.nrows(),
                });
            }
        }
        if self.config.persistent != self.chains.is_some() {
            return Err(Error::InvalidParameter {
                name: "persistent",
                value: f64::from(u8::from(self.config.persistent)),
                reason: "does not match the checkpoint's persistent chains",
            });
        }
        Ok(())
    }

    /// Full validation of a state restored from a checkpoint: shapes, configuration ranges,
    /// finite parameters and indices inside the data. Call it once after deserialising;
    /// [`Trainer::epoch`] and [`Trainer::cd_step`] check shapes (cheaply) on every call.
    pub fn validate(&self) -> Result<()> {
        self.config.validate()?;
        self.model.validate()?;
        self.check_shapes()?;
        let outside = self
            .train_indices
            .iter()
            .chain(&self.holdout_indices)
            .chain(&self.order)
            .find(|&&i| i >= self.n_samples);
        if let Some(&i) = outside {
            return Err(Error::InvalidParameter {
                name: "checkpoint index",
                value: i as f64,
                reason: "is outside the data",
            });
        }
        if self.train_indices.len() < self.config.batch_size {
            return Err(Error::BatchLargerThanData {
                batch_size: self.config.batch_size,
                samples: self.train_indices.len(),
            });
        }
        Ok(())
    }

    /// O(samples): every stored row index is inside the data.
    fn check_indices(&self) -> Result<()> {
        let outside = self
            .train_indices
            .iter()
            .chain(&self.holdout_indices)
            .chain(&self.order)
            .find(|&&i| i >= self.n_samples);
        match outside {
            Some(&i) => Err(Error::InvalidParameter {
                name: "checkpoint index",
                value: i as f64,
                reason: "is outside the data",
            }),
            None => Ok(()),
        }
    }

    fn snapshot(&self) -> Snapshot<F> {
        Snapshot {
            model: self.model.clone(),
            velocity_weights: self.velocity_weights.clone(),
            velocity_visible: self.velocity_visible.clone(),
            velocity_hidden: self.velocity_hidden.clone(),
            chains: self.chains.clone(),
            rng: self.rng.clone(),
            order: self.order.clone(),
            epoch: self.epoch,
        }
    }

    fn restore(&mut self, s: Snapshot<F>) {
        self.model = s.model;
        self.velocity_weights = s.velocity_weights;
        self.velocity_visible = s.velocity_visible;
        self.velocity_hidden = s.velocity_hidden;
        self.chains = s.chains;
        self.rng = s.rng;
        self.order = s.order;
        self.epoch = s.epoch;
    }

    /// One epoch of training and its metrics. On divergence (non-finite parameters or
    /// metrics) the state of before the epoch is restored and [`Error::Diverged`] returned.
    ///
    /// `data` must be the matrix the trainer was created with (its values were validated
    /// then; only its shape is checked here).
    pub fn epoch(&mut self, data: ArrayView2<F>) -> Result<EpochMetrics> {
        self.epoch_timed(data).map(|(m, _)| m)
    }

    /// [`Trainer::epoch`], with the wall-clock seconds it spent updating and monitoring (the
    /// clock is read only; nothing it computes depends on it).
    pub fn epoch_timed(&mut self, data: ArrayView2<F>) -> Result<(EpochMetrics, EpochSeconds)> {
        self.check_data(data)?;
        let before = self.snapshot();
        let started = std::time::Instant::now();
        self.train_epoch(data)?;
        let train = started.elapsed().as_secs_f64();
        match self.monitor(data) {
            Ok(m) => Ok((m, EpochSeconds { train, monitor: started.elapsed().as_secs_f64() - train })),
            Err(e) => {
                self.restore(before);
                Err(e)
            }
        }
    }

    /// One epoch of CD-k/PCD updates without metrics (what the benchmark times). Shuffles
    /// the training order, then runs [`Trainer::cd_step`] on consecutive mini-batches (the
    /// last one may be smaller). Restores the previous state on divergence.
    pub fn train_epoch(&mut self, data: ArrayView2<F>) -> Result<()> {
        self.check_data(data)?;
        self.check_indices()?;
        let before = self.snapshot();
        let mut order = std::mem::take(&mut self.order);
        order.shuffle(&mut self.rng);
        let momentum = self.config.momentum_at(self.epoch);
        let bs = self.config.batch_size;
        // The whole epoch runs on a worker of the thread pool, so that each product's second
        // block is handed to the other worker directly rather than through the pool's queue
        // for outside callers, and each worker keeps to the same half of W (see `kernel`).
        rayon::scope(|_| {
            for batch in order.chunks(bs) {
                self.update(data, batch, momentum);
            }
        });
        self.order = order;
        if !self.model.is_finite() {
            let epoch = self.epoch;
            self.restore(before);
            return Err(Error::Diverged { epoch, what: "model parameters" });
        }
        self.epoch += 1;
        Ok(())
    }

    /// One parameter update on the mini-batch made of rows `batch` of `data` with momentum
    /// `momentum` (the building block of [`Trainer::train_epoch`], for callers that schedule
    /// batches themselves). Allocates nothing after the first call. Does not check for
    /// divergence and does not advance the epoch counter.
    pub fn cd_step(&mut self, data: ArrayView2<F>, batch: &[usize], momentum: f64) -> Result<()> {
        self.check_data(data)?;
        if batch.is_empty() || batch.len() > self.config.batch_size {
            return Err(Error::InvalidParameter {
                name: "batch length",
                value: batch.len() as f64,
                reason: "must be between 1 and batch_size",
            });
        }
        if let Some(&i) = batch.iter().find(|&&i| i >= self.n_samples) {
            return Err(Error::InvalidParameter {
                name: "batch index",
                value: i as f64,
                reason: "is outside the data",
            });
        }
        if !(0.0..1.0).contains(&momentum) {
            return Err(Error::InvalidParameter {
                name: "momentum",
                value: momentum,
                reason: "must be in [0, 1)",
            });
        }
        self.update(data, batch, momentum);
        Ok(())
    }

    /// [`Trainer::cd_step`] without the checks (shapes and indices are trusted).
    ///
    /// Every product is split into blocks that run in parallel (see [`crate::kernel`]); the
    /// random numbers are drawn from `rng` in a fixed order (per block where a step is cut in
    /// two), the same for any number of threads.
    fn update(&mut self, data: ArrayView2<F>, batch: &[usize], momentum: f64) {
        let (nv, nh) = self.model.weights.dim();
        let bs = self.config.batch_size;
        assert!(batch.len() <= bs, "update: batch larger than batch_size");
        let scratch = self.scratch.get_or_insert_with(|| Scratch::new(bs, nv, nh));
        let m = batch.len();
        let model = &mut self.model;
        let rng = &mut self.rng;
        let k = self.config.cd_k;
        let persistent = self.chains.is_some();
        let n_neg = if persistent { bs } else { m };
        let rows = m + n_neg;

        // Positive phase: v₀ into rows [0, m) of vv, ⟨h|v₀⟩ into rows [0, m) of hh.
        let (mut v_pos, mut v_neg) = scratch.vv.view_mut().split_at(Axis(0), m);
        for (mut row, &idx) in v_pos.rows_mut().into_iter().zip(batch) {
            row.assign(&data.row(idx));
        }
        let (mut h_pos, mut h_neg) = scratch.hh.view_mut().split_at(Axis(0), m);
        let mut h_sample = scratch.h_sample.slice_mut(s![..n_neg, ..]);
        model.sample_hidden_into_unchecked(
            v_pos.view(),
            h_pos.view_mut(),
            h_sample.slice_mut(s![..m, ..]),
            &mut scratch.uniforms,
            rng,
        );

        // Negative phase: k Gibbs steps from the mini-batch (CD) or the persistent chains.
        let mut h_neg = h_neg.slice_mut(s![..n_neg, ..]);
        let mut v_mean = scratch.v_mean.slice_mut(s![..n_neg, ..]);
        let mut vk = match self.chains.as_mut() {
            Some(c) => c.view_mut(),
            None => v_neg.slice_mut(s![..m, ..]),
        };
        if persistent {
            model.sample_hidden_into_unchecked(
                vk.view(),
                h_neg.view_mut(),
                h_sample.view_mut(),
                &mut scratch.uniforms,
                rng,
            );
        }
        for step in 0..k {
            model.sample_visible_into_unchecked(
                h_sample.view(),
                v_mean.view_mut(),
                vk.view_mut(),
                &mut scratch.uniforms,
                rng,
            );
            if step + 1 < k {
                model.sample_hidden_into_unchecked(
                    vk.view(),
                    h_neg.view_mut(),
                    h_sample.view_mut(),
                    &mut scratch.uniforms,
                    rng,
                );
            } else {
                model.hidden_means_into_unchecked(vk.view(), h_neg.view_mut());
            }
        }
        if let Some(c) = &self.chains {
            v_neg.slice_mut(s![..n_neg, ..]).assign(c);
        }

        // Update: Δ ← μΔ + ε(⟨vh⟩₀ - ⟨vh⟩ₖ - l2 W - l1 sign W), W ← W + Δ, with the two
        // averages as one product vvᵀ hh over the stacked, pre-scaled statistics.
        let mu = F::from_f64(momentum);
        let lr = self.config.learning_rate_at(self.epoch);
        let pos = F::from_f64(lr / m as f64);
        let neg = F::from_f64(-lr / n_neg as f64);
        h_pos.mapv_inplace(|x| x * pos);
        h_neg.mapv_inplace(|x| x * neg);
        let vv = scratch.vv.slice(s![..rows, ..]);
        let hh = scratch.hh.slice(s![..rows, ..]);
        let (l1, l2) = (F::from_f64(lr * self.config.l1), F::from_f64(lr * self.config.l2));
        let penalised = self.config.l1 > 0.0 || self.config.l2 > 0.0;
        let parts = (
            (model.weights.view_mut(), self.velocity_weights.view_mut()),
            (model.visible_bias.view_mut(), self.velocity_visible.view_mut()),
        );
        let work = rows * nv * nh;
        let (vv_s, hh_s) = (vv.as_standard_layout(), hh.as_standard_layout());
        let (vv_m, hh_m) = (kernel::mat(&vv_s), kernel::mat(&hh_s));
        kernel::for_blocks(parts, Axis(0), nv, work, |range, ((mut w, mut d), (a, da))| {
            // d ← μ d + vvᵀ hh (the product adds to μ d; with μ = 0 it overwrites d)
            let add = mu != F::zero();
            if add && mu != F::one() {
                scale(d.view_mut(), mu);
            }
            let vv_t = vv_m.subcols(range.start, range.len()).transpose();
            kernel::with_mat_mut(d.view_mut(), |d| kernel::product_in_depth_chunks(d, add, vv_t, hh_m));
            let vv = vv.slice(s![.., range]);
            // Row blocks of W and its momentum are contiguous: one pass at the vector width.
            match (w.as_slice_mut(), d.as_slice_mut()) {
                (Some(w), Some(d)) => kernel::vectorized(
                    #[inline(always)]
                    || apply_step(w, d, penalised.then_some((l1, l2))),
                ),
                _ => Zip::from(&mut w).and(&mut d).for_each(|w, d| {
                    if penalised {
                        *d -= l2 * *w + l1 * w.signum();
                    }
                    *w += *d;
                }),
            }
            let rows = vv.rows().into_iter().enumerate().map(|(r, row)| (if r < m { pos } else { neg }, row));
            bias_step(a, da, mu, rows);
        });
        let rows = hh.rows().into_iter().map(|row| (F::one(), row));
        bias_step(model.hidden_bias.view_mut(), self.velocity_hidden.view_mut(), mu, rows);
    }

    /// Metrics of the current model (see [`EpochMetrics`]); deterministic, draws no random
    /// numbers. Returns [`Error::Diverged`] if a metric is not finite.
    pub fn monitor(&self, data: ArrayView2<F>) -> Result<EpochMetrics> {
        self.check_data(data)?;
        let n_mon = self.config.monitor_samples.min(self.train_indices.len()).max(1);
        let train_sub = data.select(ndarray::Axis(0), &self.train_indices[..n_mon]);
        let reconstruction_error = reconstruction_error(&self.model, train_sub.view())?;
        let n_pll = n_mon.min(PLL_MAX_ROWS);
        let pseudo_log_likelihood = pseudo_log_likelihood(&self.model, train_sub.slice(s![..n_pll, ..]))?;
        let free_energy_train = mean_free_energy(&self.model, train_sub.view())?;
        let (free_energy_holdout, free_energy_gap) = if self.holdout_indices.is_empty() {
            (None, None)
        } else {
            let n_h = self.config.monitor_samples.min(self.holdout_indices.len()).max(1);
            let sub = data.select(ndarray::Axis(0), &self.holdout_indices[..n_h]);
            let f = mean_free_energy(&self.model, sub.view())?;
            (Some(f), Some(f - free_energy_train))
        };
        let small = self.model.n_visible().min(self.model.n_hidden()) <= self.config.exact_max_units;
        let (log_likelihood, holdout_log_likelihood) = if small {
            let log_z = self.model.exact_log_partition()?;
            let train = data.select(ndarray::Axis(0), &self.train_indices);
            let ll = self.model.log_likelihood_with(train.view(), log_z)?;
            let hl = if self.holdout_indices.is_empty() {
                None
            } else {
                let hold = data.select(ndarray::Axis(0), &self.holdout_indices);
                Some(self.model.log_likelihood_with(hold.view(), log_z)?)
            };
            (Some(ll), hl)
        } else {
            (None, None)
        };
        let m = EpochMetrics {
            epoch: self.epoch,
            momentum: self.config.momentum_at(self.epoch.saturating_sub(1)),
            monitor_samples: n_mon,
            reconstruction_error,
            pseudo_log_likelihood,
            free_energy_train,
            free_energy_holdout,
            free_energy_gap,
            log_likelihood,
            holdout_log_likelihood,
        };
        let all = [reconstruction_error, pseudo_log_likelihood, free_energy_train]
            .into_iter()
            .chain(free_energy_holdout)
            .chain(log_likelihood)
            .chain(holdout_log_likelihood);
        for x in all {
            if !x.is_finite() {
                return Err(Error::Diverged {
                    epoch: self.epoch.saturating_sub(1),
                    what: "training metrics",
                });
            }
        }
        Ok(m)
    }
}

/// `x ← c x` element by element, at the vector width when `x` is contiguous.
fn scale<F: Float>(mut x: ndarray::ArrayViewMut2<F>, c: F) {
    match x.as_slice_mut() {
        Some(xs) => kernel::vectorized(
            #[inline(always)]
            || xs.iter_mut().for_each(|x| *x *= c),
        ),
        None => x.mapv_inplace(|x| x * c),
    }
}

/// `d -= l2 w + l1 sign w` (if penalised), then `w += d`, element by element (inlined into a
/// [`kernel::vectorized`] context).
#[inline(always)]
fn apply_step<F: Float>(w: &mut [F], d: &mut [F], penalty: Option<(F, F)>) {
    match penalty {
        Some((l1, l2)) => {
            for (w, d) in w.iter_mut().zip(d.iter_mut()) {
                *d -= l2 * *w + l1 * w.signum();
                *w += *d;
            }
        }
        None => {
            for (w, &d) in w.iter_mut().zip(d.iter()) {
                *w += d;
            }
        }
    }
}

/// `d ← μ d + Σ_r c_r x_r` (rows in order), then `b += d`: the bias update of
/// [`Trainer::cd_step`], at the vector width when the views are contiguous.
fn bias_step<'a, F: Float + 'a>(
    mut b: ndarray::ArrayViewMut1<F>,
    mut d: ndarray::ArrayViewMut1<F>,
    mu: F,
    rows: impl Iterator<Item = (F, ndarray::ArrayView1<'a, F>)>,
) {
    let Some(ds) = d.as_slice_mut() else {
        d.mapv_inplace(|x| x * mu);
        for (c, row) in rows {
            d.scaled_add(c, &row);
        }
        b += &d;
        return;
    };
    kernel::vectorized(
        #[inline(always)]
        || ds.iter_mut().for_each(|x| *x *= mu),
    );
    for (c, row) in rows {
        match row.as_slice() {
            Some(xs) => kernel::vectorized(
                #[inline(always)]
                || ds.iter_mut().zip(xs).for_each(|(d, &x)| *d += c * x),
            ),
            None => ds.iter_mut().zip(row.iter()).for_each(|(d, &x)| *d += c * x),
        }
    }
    let dv = &*ds;
    match b.as_slice_mut() {
        Some(bs) => kernel::vectorized(
            #[inline(always)]
            || bs.iter_mut().zip(dv).for_each(|(b, &d)| *b += d),
        ),
        None => b.iter_mut().zip(dv).for_each(|(b, &d)| *b += d),
    }
}

fn split<R: Rng + ?Sized>(config: &TrainConfig, n: usize, rng: &mut R) -> Result<(Vec<usize>, Vec<usize>)> {
    if n == 0 {
        return Err(Error::EmptyData);
    }
    let n_hold = config.holdout_rows(n);
    let mut perm: Vec<usize> = (0..n).collect();
    if n_hold > 0 {
        perm.shuffle(rng);
    }
    let mut hold = perm[..n_hold].to_vec();
    let mut train = perm[n_hold..].to_vec();
    hold.sort_unstable();
    train.sort_unstable();
    if train.is_empty() {
        return Err(Error::InvalidParameter {
            name: "holdout",
            value: config.holdout,
            reason: "leaves no training data",
        });
    }
    if config.batch_size > train.len() {
        return Err(Error::BatchLargerThanData { batch_size: config.batch_size, samples: train.len() });
    }
    Ok((train, hold))
}

fn check_finite_state<'a, F: Float + 'a>(
    what: &'static str,
    values: impl Iterator<Item = &'a F>,
) -> Result<()> {
    match values.enumerate().find(|(_, x)| !x.is_finite()) {
        Some((i, _)) => Err(invalid_state(what, format!("value {i} is not finite"))),
        None => Ok(()),
    }
}

/// Rows per parallel block of [`visible_bias_from_mean`].
const BIAS_BLOCK_ROWS: usize = 1024;

/// Biases giving the data's single-unit marginals to a model without couplings.
fn visible_bias_from_mean<F: Float>(data: ArrayView2<F>, rows: &[usize], units: Units) -> Array1<F> {
    let nv = data.ncols();
    // Unit values are 0 or ±1 (the data was validated), so these sums are exact integers,
    // whatever the order: `rows` (the sorted training rows, `split`) are added in parallel
    // blocks, at the vector width when contiguous.
    let block_sum = |rows: &[usize]| {
        let mut sum = vec![0.0f64; nv];
        for &r in rows {
            let row = data.row(r);
            match row.as_slice() {
                Some(xs) => kernel::vectorized(
                    #[inline(always)]
                    || sum.iter_mut().zip(xs).for_each(|(s, x)| *s += x.to_f64()),
                ),
                None => sum.iter_mut().zip(row).for_each(|(s, x)| *s += x.to_f64()),
            }
        }
        sum
    };
    let sum = rows.par_chunks(BIAS_BLOCK_ROWS).map(block_sum).reduce(
        || vec![0.0f64; nv],
        |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        },
    );
    let n = rows.len() as f64;
    sum.iter().map(|&s| F::from_f64(crate::ais::bias_for_mean(s / n, units))).collect()
}
