//! # lattice-physics
//!
//! Ising lattices, Monte Carlo samplers, exact solutions and observables with honest error bars.
//! This crate never prints and depends on no other workspace crate. It opens no files; with
//! the cargo feature `io` its `io` module reads and writes data-set formats (`.npy` and JSON
//! sidecars) on readers, writers and byte slices the caller provides.
//!
//! Core types:
//! - [`Lattice`]: a periodic ring or square torus;
//! - [`IsingModel`]: a lattice with dimensionless coupling `K = βJ` and field `h = βH`;
//! - [`Spins`]: one `±1` configuration, [`Configurations`]: a validated data set of them;
//! - [`sampler::Sampler`]: one Markov-chain update rule (`sweep`).
//!
//! Conventions (docs/science.md §2): `H(s) = -K Σ_<ij> s_i s_j - h Σ_i s_i`, `P(s) = e^{-H}/Z`,
//! periodic boundaries, every bond counted once.
//!
//! ```
//! use lattice_physics::{IsingModel, Lattice, Spins};
//! let lattice = Lattice::square(4)?;
//! let model = IsingModel::new(lattice, 0.44, 0.0)?;
//! let up = Spins::all_up(lattice);
//! assert_eq!(up.bond_sum(), 32);
//! assert!((model.hamiltonian(&up) + 0.44 * 32.0).abs() < 1e-12);
//! # Ok::<(), lattice_physics::Error>(())
//! ```

pub mod configurations;
pub mod dataset;
pub mod error;
pub mod exact;
#[cfg(feature = "io")]
pub mod io;
pub mod lattice;
pub mod model;
pub mod observables;
pub mod rng;
pub mod sampler;
pub mod stats;

pub use configurations::Configurations;
pub use error::{Error, Result};
pub use lattice::{Lattice, LatticeKind};
pub use model::{IsingModel, Spins};

/// Critical coupling of the square-lattice Ising model, `K_c = ½ ln(1 + √2)`.
pub const K_CRITICAL: f64 = 0.440_686_793_509_771_5;
