//! # kadanoff-analysis
//!
//! Receptive fields, sample statistics, figures and reports built from what the other crates produce.
//!
//! (Being built: see ARCHITECTURE.md for what exists today.)
