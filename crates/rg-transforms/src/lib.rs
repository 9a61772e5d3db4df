//! # rg-transforms
//!
//! Block-spin and decimation transforms, the exact 1D renormalization group, the
//! variational-RG ↔ RBM mapping and Monte Carlo RG. Depends on `lattice-physics` and `rbm-core` only.
//!
//! Conventions (science.md §2–§3): spins are `±1`, couplings dimensionless (`K = βJ`, `h = βH`),
//! `H(s) = -K Σ_<ij> s_i s_j - h Σ_i s_i`, `P(s) = e^{-H}/Z`; a coarse-graining kernel `T(v,h)`
//! defines `e^{-H^RG(h)} = Σ_v e^{T(v,h) - H(v)}`.
//!
//! Core types:
//! - [`block::Blocking`]: majority-rule or decimation blocking of configurations and data sets;
//! - [`kernel::BlockSpinKernel`]: the stochastic block-spin kernel `T_λ`, which obeys the trace condition;
//! - [`chain::ChainCouplings`] and [`chain::flow`]: the exact decimation RG of the periodic chain;
//! - [`mcrg::mcrg`]: Swendsen's Monte Carlo RG with jackknife errors;
//! - [`mapping::exact_mapping`]: the variational-RG ↔ RBM mapping evaluated exactly for a small
//!   [`mapping::SpinHamiltonian`] and any `rbm_core::Rbm<f64>`, with [`mapping::project`] for
//!   renormalised couplings;
//! - [`exact_rbms`]: RBMs that perform exact RG steps (decimation, one hidden unit per bond).
//!
//! ```
//! use rg_transforms::chain::{flow, ChainCouplings};
//! let f = flow(ChainCouplings::new(1.0, 0.0)?, 2)?;
//! assert!((f.states[1].coupling - 0.6625013737).abs() < 1e-9);
//! # Ok::<(), rg_transforms::Error>(())
//! ```

pub mod block;
pub mod chain;
pub mod error;
pub mod exact_rbms;
pub mod kernel;
pub mod mapping;
pub mod mcrg;

pub use error::{Error, Result};
