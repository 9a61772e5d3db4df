//! # rg-transforms
//!
//! Block-spin and decimation transforms, the exact 1D renormalization group, the
//! variational-RG ↔ RBM mapping and Monte Carlo RG. Depends on `lattice-physics` and `rbm-core` only.
//!
//! Conventions (docs/science.md §2–§3): spins are `±1`, couplings dimensionless (`K = βJ`, `h = βH`),
//! `H(s) = -K Σ_<ij> s_i s_j - h Σ_i s_i`, `P(s) = e^{-H}/Z`; a coarse-graining kernel `T(v,h)`
//! defines `e^{-H^RG(h)} = Σ_v e^{T(v,h) - H(v)}`.
//!
//! Core types:
//! - [`block::Blocking`]: majority-rule or decimation blocking of configurations and data sets;
//! - [`kernel::BlockSpinKernel`]: the stochastic block-spin kernel `T_λ`, which obeys the trace condition;
//! - [`chain::ChainCouplings`] and [`chain::flow`]: the exact decimation RG of the periodic chain;
//! - [`coarse::CoarseKernel`]: one interface for every coarse-graining `p(h|v)` (majority rule,
//!   decimation, the stochastic block spin, a learned convolutional RBM, a dense RBM layer);
//! - [`mcrg::mcrg_with_kernel`]: Swendsen's Monte Carlo RG over any kernel, with jackknife errors;
//! - [`matching::two_lattice_matching`]: the fixed point `K*` and `y_t` of a kernel;
//! - [`mapping::exact_mapping`]: the variational-RG ↔ RBM mapping evaluated exactly for a small
//!   [`mapping::SpinHamiltonian`] and any `rbm_core::Rbm<f64>`, with [`mapping::project`] for
//!   renormalised couplings;
//! - [`exact_rbms`]: RBMs that perform exact RG steps (decimation, one hidden unit per bond).
//!
//! ```
//! use lattice_physics::Lattice;
//! use rg_transforms::chain::{flow, ChainCouplings};
//! use rg_transforms::exact_rbms::decimation_rbm;
//! use rg_transforms::mapping::{exact_mapping, project, MappingOptions, OperatorBasis, SpinHamiltonian};
//!
//! // The exact decimation flow of the chain from K = 1.
//! let f = flow(ChainCouplings::new(1.0, 0.0)?, 2)?;
//! let k1 = f.states[1].coupling;
//! assert!((k1 - 0.6625013737).abs() < 1e-9);
//!
//! // One decimation step as an RBM: the 6 removed spins of a 12-ring are visible, the 6 kept
//! // spins hidden. Its visible marginal is the 6-ring at K', so KL = 0 and the trace condition
//! // holds; its coarse Hamiltonian, projected on operators of the hidden ring, is the ring at K'.
//! let rbm = decimation_rbm(12, 1.0)?;
//! let report = exact_mapping(&SpinHamiltonian::ring(6, k1, 0.0)?, &rbm, &MappingOptions { double_sums: true })?;
//! assert!(report.kl_divergence.abs() < 1e-12 && report.trace_violation_max < 1e-10);
//! let fit = project(&report.coarse_hamiltonian, &OperatorBasis::standard(Lattice::ring(6)?)?)?;
//! let nearest = fit.get("pair_r2_1").unwrap();
//! assert!((nearest - k1).abs() < 1e-10 && fit.residual_max < 1e-10);
//! # Ok::<(), rg_transforms::Error>(())
//! ```

pub mod assess;
pub mod block;
pub mod chain;
pub mod coarse;
pub mod couplings;
pub mod error;
pub mod exact_rbms;
pub mod kernel;
pub mod mapping;
pub mod matching;
pub mod mcrg;
pub mod rbm_flow;
pub mod rsmi;
pub mod thermometer;

pub use error::{Error, Result};
