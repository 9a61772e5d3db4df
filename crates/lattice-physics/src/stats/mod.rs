//! Statistics of Monte Carlo time series: means with honest error bars.
//!
//! Three tools, each for a different question:
//! - [`integrated_autocorrelation_time`]: `τ_int` of a series by automatic windowing (Sokal;
//!   Madras and Sokal 1988), and from it the error of the mean, [`mean_autocorrelated`];
//! - [`binning()`]: the error of the mean against the bin size, with a pick of the plateau;
//! - [`jackknife()`] and [`BlockMeans::jackknife`]: errors of nonlinear estimators (ratios,
//!   variances, cumulants) from blocks that are long compared with `τ_int`.
//!
//! Conventions: `τ_int = ½ + Σ_{t≥1} ρ(t)`, so an uncorrelated series has `τ_int = ½` and the
//! variance of the mean of `n` points is `2 τ_int σ² / n`. All times are in units of the
//! spacing of the series.
//!
//! ```
//! use lattice_physics::stats;
//! // Quadratic residues modulo a prime: a deterministic, nearly uncorrelated series.
//! let series: Vec<f64> = (0..1000u64).map(|i| ((i * i * 7919) % 1009) as f64).collect();
//! let (mean, tau) = stats::mean_autocorrelated(&series)?;
//! assert!(tau.tau < 1.0 && tau.window >= 1);
//! assert!((mean.mean - 504.0).abs() < 4.0 * mean.stderr);
//! # Ok::<(), lattice_physics::Error>(())
//! ```

mod autocorrelation;
mod binning;
mod jackknife;

use serde::{Deserialize, Serialize};

pub use autocorrelation::{
    integrated_autocorrelation_time, integrated_autocorrelation_time_with, TauInt, DEFAULT_WINDOW_FACTOR,
    MAX_WINDOW_FRACTION, MIN_TAU_SAMPLES,
};
pub use binning::{binning, BinLevel, Binning, MIN_BINS};
pub use jackknife::{jackknife, BlockMeans, Subsample};

use crate::error::{Error, Result};

/// A value with its one-standard-deviation statistical error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate.
    pub mean: f64,
    /// Its standard error (one standard deviation).
    pub stderr: f64,
}

impl Estimate {
    /// Build an estimate from a value and its standard error.
    pub fn new(mean: f64, stderr: f64) -> Self {
        Estimate { mean, stderr }
    }

    /// `|self.mean - value|` in units of `stderr` (infinite if `stderr` is zero and they differ).
    pub fn deviation(&self, value: f64) -> f64 {
        let d = (self.mean - value).abs();
        if d == 0.0 {
            0.0
        } else {
            d / self.stderr
        }
    }
}

/// Check that `series` has at least `min` points and that every point is finite.
pub(crate) fn check_series(what: &'static str, series: &[f64], min: usize) -> Result<()> {
    if series.len() < min {
        return Err(Error::TooFewSamples { what, len: series.len(), min });
    }
    if let Some(index) = series.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFiniteData { what, index });
    }
    Ok(())
}

/// Arithmetic mean (the caller guarantees a non-empty slice).
pub(crate) fn mean_of(series: &[f64]) -> f64 {
    series.iter().sum::<f64>() / series.len() as f64
}

/// The mean of a correlated series with error `sqrt(2 τ_int σ² / n)`, `τ_int` from
/// [`integrated_autocorrelation_time`] and `σ²` the variance of the series (divisor `n`).
/// Returns the estimate and the `τ_int` used. A negative `τ_int` (strongly anticorrelated
/// series) gives error zero.
pub fn mean_autocorrelated(series: &[f64]) -> Result<(Estimate, TauInt)> {
    let tau = integrated_autocorrelation_time(series)?;
    let n = series.len() as f64;
    let mean = mean_of(series);
    let var = series.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let stderr = (2.0 * tau.tau.max(0.0) * var / n).sqrt();
    Ok((Estimate { mean, stderr }, tau))
}
