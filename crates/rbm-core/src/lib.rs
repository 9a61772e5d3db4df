//! # rbm-core
//!
//! Restricted Boltzmann machines and deep belief networks. This crate knows nothing of
//! lattices: it sees matrices of unit values (`±1` or `0/1`). It opens no files and never
//! prints (the optional `format` module, feature `safetensors`, encodes models and
//! checkpoints to bytes, readers and writers the caller provides); it depends on no other
//! workspace crate.
//!
//! Core types:
//! - [`Rbm`]: an RBM over `f32` (fast training) or `f64` (exact computation), with the ML sign
//!   convention `E(v,h) = -vᵀWh - aᵀv - bᵀh` and conversions to the paper's plus-sign
//!   convention ([`Rbm::to_paper`]) and between unit types ([`Rbm::with_units`]); exact
//!   `ln Z` and likelihoods by enumeration ([`exact`]), AIS for larger models ([`ais`]);
//! - [`Units`]: spin (`±1`) or binary (`0/1`) units, chosen per layer;
//! - [`Trainer`] with [`TrainConfig`]: CD-k / PCD training over explicit, serialisable state,
//!   one [`Trainer::epoch`] at a time, with [`EpochMetrics`] ([`monitor`]);
//! - [`Dbn`]: a stack of RBMs with up and down passes and generation ([`dbn`]), trained
//!   greedily by [`GreedyTrainer`], one resumable step at a time over explicit state
//!   ([`GreedyState`]), or by the loop [`train_greedy`] ([`greedy`]).
//!
//! Reproducibility: everything random takes a seed or an `rng`; reproducible runs use
//! `Xoshiro256PlusPlus`, random numbers are drawn sequentially from one generator (AIS runs
//! two halves of its chains on two, the second the first jumped ahead, split by the number of
//! chains only; a sampling step cut into two blocks seeds one generator per block from it,
//! split by the shape only), and parallel reductions are combined in a fixed order, so a seed gives the
//! same result whatever the number of threads.
//!
//! ```
//! use ndarray::{array, Array1};
//! use rbm_core::{Rbm, Units};
//! // One hidden spin coupled to two visible spins with K = 0.5 (docs/science.md §5).
//! let rbm = Rbm::new(array![[0.5], [0.5]], Array1::zeros(2), Array1::zeros(1), Units::Spin, Units::Spin)?;
//! // Z = Σ_{v,h} e^{0.5 h (v1 + v2)} = 2 (2 cosh 1 + 2).
//! let exact = (2.0 * (2.0 * 1f64.cosh() + 2.0)).ln();
//! assert!((rbm.exact_log_partition()? - exact).abs() < 1e-12);
//! # Ok::<(), rbm_core::Error>(())
//! ```

pub mod ais;
pub mod dbn;
pub mod error;
pub mod exact;
pub mod float;
#[cfg(feature = "safetensors")]
pub mod format;
pub mod greedy;
mod kernel;
pub mod monitor;
pub mod rbm;
mod rng_state;
pub mod train;
pub mod units;

pub use ais::{
    base_rate_bias, AisConfig, AisEstimate, BetaSchedule, LikelihoodMethod, LogLikelihood,
    DEFAULT_AIS_WORK_FRACTION,
};
pub use dbn::{Dbn, Propagation};
pub use error::{Error, Result};
pub use exact::{Gradient, MAX_EXACT_TERMS, MAX_EXACT_UNITS};
pub use float::Float;
pub use greedy::{
    next_layer_data, train_greedy, GreedyConfig, GreedyLayer, GreedyState, GreedyStep, GreedyTrainer,
    LayerSummary, LikelihoodBudget,
};
pub use kernel::SPLIT_MIN_WORK;
pub use rbm::{all_states, validate_data, Layer, PaperRbm, Rbm, RbmParts};
pub use train::{
    EpochMetrics, EpochSeconds, MomentumSwitch, RateSchedule, TrainConfig, Trainer, TrainerState,
    PLL_MAX_ROWS,
};
pub use units::Units;
