//! Exact results for the Ising model (placeholder: filled in by the exact-solutions work).
