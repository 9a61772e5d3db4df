//! # rg-transforms
//!
//! Block-spin and decimation transforms, the exact 1D renormalization group, the
//! variational-RG ↔ RBM mapping and Monte Carlo RG. Depends on `lattice-physics` and `rbm-core` only.
//!
//! (Being built: see ARCHITECTURE.md for what exists today.)
