//! The arguments of `kadanoff train` and the training settings they give, with the
//! library's unit- and mode-aware defaults filled in and every range checked with its flag's
//! name (the command itself is `cmd_train`).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use rbm_core::{
    Error as RbmError, GreedyConfig, GreedyLayer, MomentumSwitch, RateSchedule, TrainConfig, Units,
};

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
    /// Gibbs steps in the negative phase (CD-k; default
    /// `rbm_core::TrainConfig::default_gibbs_steps`: 1 with CD, 5 (spin) or 10 (binary) with PCD).
    #[arg(long)]
    pub cd_k: Option<usize>,
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
    /// units and 0.05 for binary units with CD, 0.01 and 0.03 with PCD), of the first epoch.
    #[arg(long, allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Keep the learning rate constant (Hinton's recipe) instead of the default linear decay
    /// to zero over the epochs, which is what lets training approach the optimum.
    #[arg(long)]
    pub constant_learning_rate: bool,
    /// Initial momentum, in [0, 1).
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Momentum from `--momentum-switch-epoch` on, in [0, 1); negative: no switch. Default: no
    /// switch (Hinton's 0.9 from epoch 5 ends further from the optimum, with CD and with PCD;
    /// see `rbm_core::TrainConfig::default_momentum_switch`).
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
    /// Rows used for per-epoch monitoring (reconstruction error, free energies; the
    /// pseudo-log-likelihood uses at most 100 of them). Default: 500, or one in 30 of the
    /// training rows (those not held out) when that is fewer, so that monitoring stays within
    /// about 5% of an epoch on small data sets too.
    #[arg(long)]
    pub monitor_samples: Option<usize>,
    /// Also compute the exact log-likelihood of the whole training (and held-out) set after
    /// every epoch, for layers whose smaller side has at most 20 units. Off by default: it
    /// enumerates 2^units states and evaluates every row's free energy in f64, which costs
    /// from about 1.4 epochs (12 hidden units, 20,000 samples of 1600 spins) to about 70
    /// (20 hidden units: 10.6 s per epoch on a Xeon of 2026-12-03).
    #[arg(long)]
    pub exact_every_epoch: bool,
    /// Compute the final log-likelihood by exact enumeration whenever the smaller side of a
    /// layer has at most 24 units, whatever it costs. By default it is exact only when the
    /// enumeration costs at most 2^25 terms (states × units of the other side: 1600 visible
    /// units up to 14 hidden ones, about 0.3 s on two cores) and comes from AIS otherwise; at
    /// 1600 → 20 the exact value takes about 16 s.
    #[arg(long)]
    pub exact_likelihood: bool,
    /// AIS chains for the log-likelihood of layers too large for exact summation (0: skip AIS).
    /// Default 32: the defaults spend the effort on a longer schedule rather than on more
    /// chains, since AIS underestimates ln Z by an amount that shrinks with the steps, and on
    /// trained models that bias, not the spread over chains, dominates.
    #[arg(long)]
    pub ais_chains: Option<usize>,
    /// AIS intermediate distributions (default 600).
    #[arg(long)]
    pub ais_steps: Option<usize>,
    /// Largest cost of a layer's AIS log-likelihood, as a fraction of the layer's training
    /// (multiply-adds: chains × steps Gibbs sweeps and the data's free energies, against the
    /// epochs' updates); over it the layer gets no log-likelihood, with a note. `inf`: always.
    /// Default: 0.03, which keeps the whole command within 10% of the training (at 20,000
    /// samples AIS runs from about 20 epochs on); `inf` when --ais-chains or --ais-steps is
    /// given.
    #[arg(long)]
    pub ais_budget: Option<f64>,
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

impl TrainArgs {
    /// AIS chains, steps and work budget, defaults filled in (see the flags).
    pub(crate) fn ais(&self) -> Result<(usize, usize, f64)> {
        let asked = self.ais_chains.is_some() || self.ais_steps.is_some();
        let default_budget = if asked { f64::INFINITY } else { rbm_core::DEFAULT_AIS_WORK_FRACTION };
        let budget = self.ais_budget.unwrap_or(default_budget);
        if budget.is_nan() || budget < 0.0 {
            bail!("--ais-budget {budget}: must be a fraction >= 0 (or inf)");
        }
        Ok((self.ais_chains.unwrap_or(32), self.ais_steps.unwrap_or(600), budget))
    }
}

/// Largest smaller side of a layer for `--exact-every-epoch`.
const EXACT_EVERY_EPOCH_MAX_UNITS: usize = 20;

/// Unit type from its name.
pub(crate) fn parse_units(s: &str) -> Result<Units> {
    s.parse::<Units>().map_err(|_| anyhow!("--units must be `spin` or `binary`, got `{s}`"))
}

/// The training settings of every layer (the seed is the master seed; each layer gets its own
/// child), with the library's unit- and mode-aware defaults, checked with flag names.
pub(crate) fn train_config(args: &TrainArgs, units: Units) -> Result<TrainConfig> {
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
        cd_k: args.cd_k.unwrap_or_else(|| TrainConfig::default_gibbs_steps(units, args.persistent)),
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
        monitor_samples: args.monitor_samples.unwrap_or(rbm_core::train::DEFAULT_MONITOR_SAMPLES),
        exact_max_units: if args.exact_every_epoch { EXACT_EVERY_EPOCH_MAX_UNITS } else { 0 },
        seed: args.seed,
    };
    let layer = GreedyLayer::new(1, config.clone());
    match (GreedyConfig { visible_units: units, hidden_units: units, layers: vec![layer] }).validate() {
        Err(e @ RbmError::InvalidParameter { name, .. }) => bail!("--{}: {e}", name.replace('_', "-")),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(config),
    }
}
