//! # rbm-core
//!
//! Restricted Boltzmann machines and deep belief networks. This crate knows nothing of
//! lattices: it sees matrices of unit values (`±1` or `0/1`). It does no file I/O and never prints.
//!
//! (Being built: see ARCHITECTURE.md for what exists today.)
