//! Data-set generation (placeholder: filled in by the observables work).
