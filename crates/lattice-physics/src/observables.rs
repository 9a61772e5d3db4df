//! Observables of Ising configurations (placeholder: filled in by the observables work).
