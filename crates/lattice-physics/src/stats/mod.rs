//! Statistics of Monte Carlo time series (placeholder: filled in by the observables work).
