//! Integrated autocorrelation time by automatic windowing (Sokal; Madras and Sokal 1988).
//!
//! For a series `x_1 … x_n` with mean `x̄`, the autocovariance at lag `t` is estimated as
//! `C(t) = (1/(n-t)) Σ_{i=1}^{n-t} (x_i - x̄)(x_{i+t} - x̄)`, the autocorrelation as
//! `ρ(t) = C(t)/C(0)` with `C(0) = (1/n) Σ (x_i - x̄)²`, and the windowed estimator as
//! `τ(W) = ½ + Σ_{t=1}^{W} ρ(t)`. The window is the smallest `W ≥ 1` with `W ≥ c·τ(W)`
//! (`c` = [`DEFAULT_WINDOW_FACTOR`] = 6 unless given), searched up to `W = ⌊n/10⌋`
//! ([`MAX_WINDOW_FRACTION`]). The error is Madras and Sokal's `σ(τ) ≈ τ sqrt(2(2W+1)/n)`.
//!
//! The bound on `W` matters: on a series only a few `τ_int` long, subtracting the sample mean
//! drives the estimated `ρ(t)` negative at large lags, so some window far beyond `n/10` would
//! always "close" and give a meaningless value (relative error above 60%). Beyond the bound
//! the series is declared too short ([`Error::NoAutocorrelationWindow`]).
//!
//! Cost: the first [`DIRECT_LAGS`] lags are computed directly (`O(n)` each); if no window is
//! found among them, all lags are computed at once by FFT in `O(n log n)`, so series of
//! `10^6` points take well under a second whatever `τ_int` is.

use serde::{Deserialize, Serialize};

use super::{check_series, mean_of};
use crate::error::{Error, Result};

/// Sokal's windowing factor `c`: the window is the smallest `W` with `W ≥ c·τ_int(W)`.
pub const DEFAULT_WINDOW_FACTOR: f64 = 6.0;

/// The shortest series accepted.
pub const MIN_TAU_SAMPLES: usize = 50;

/// The window may be at most `n / MAX_WINDOW_FRACTION`.
pub const MAX_WINDOW_FRACTION: usize = 10;

/// Lags computed directly before switching to the FFT.
const DIRECT_LAGS: usize = 48;

/// An integrated autocorrelation time, in units of the spacing of the series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TauInt {
    /// `τ_int(W) = ½ + Σ_{t=1}^{W} ρ(t)` (½ for an uncorrelated series).
    pub tau: f64,
    /// Madras-Sokal error `τ sqrt(2(2W+1)/n)`.
    pub stderr: f64,
    /// The self-consistent window `W` (0 for a constant series, whose `τ_int` is set to ½).
    pub window: usize,
}

/// `τ_int` of `series` with the default windowing factor `c = 6`.
///
/// A constant series has no defined autocorrelation; it gets `τ = ½`, error 0 and window 0,
/// which makes the error of its mean zero, as it should be.
///
/// Errors: fewer than [`MIN_TAU_SAMPLES`] points, a non-finite value, or no self-consistent
/// window up to `n/10` ([`Error::NoAutocorrelationWindow`]: the series is too short).
pub fn integrated_autocorrelation_time(series: &[f64]) -> Result<TauInt> {
    integrated_autocorrelation_time_with(series, DEFAULT_WINDOW_FACTOR)
}

/// `τ_int` of `series` with windowing factor `factor` (`c`, finite and positive; 4 to 10 are
/// usual choices: smaller is less noisy but more biased for slowly decaying correlations).
pub fn integrated_autocorrelation_time_with(series: &[f64], factor: f64) -> Result<TauInt> {
    if !(factor.is_finite() && factor > 0.0) {
        return Err(Error::InvalidParameter { name: "window factor", reason: "must be finite and positive" });
    }
    check_series("integrated autocorrelation time", series, MIN_TAU_SAMPLES)?;
    let n = series.len();
    if series.iter().all(|&x| x == series[0]) {
        return Ok(TauInt { tau: 0.5, stderr: 0.0, window: 0 });
    }
    let mean = mean_of(series);
    let d: Vec<f64> = series.iter().map(|x| x - mean).collect();
    let c0 = d.iter().map(|x| x * x).sum::<f64>() / n as f64;
    let max_window = n / MAX_WINDOW_FRACTION;
    let done = |tau: f64, w: usize| TauInt {
        tau,
        stderr: tau * (2.0 * (2 * w + 1) as f64 / n as f64).sqrt(),
        window: w,
    };

    let mut tau = 0.5;
    let direct = DIRECT_LAGS.min(max_window);
    for w in 1..=direct {
        let s: f64 = d[..n - w].iter().zip(&d[w..]).map(|(a, b)| a * b).sum();
        tau += s / (n - w) as f64 / c0;
        if w as f64 >= factor * tau {
            return Ok(done(tau, w));
        }
    }
    if direct < max_window {
        let sums = lag_sums_fft(&d, max_window);
        for (w, s) in sums.iter().enumerate().take(max_window + 1).skip(direct + 1) {
            tau += s / (n - w) as f64 / c0;
            if w as f64 >= factor * tau {
                return Ok(done(tau, w));
            }
        }
    }
    Err(Error::NoAutocorrelationWindow { len: n, max_window, factor })
}

/// `S(t) = Σ_{i} d_i d_{i+t}` for `t = 0..=max_lag`, by zero-padded FFT (Wiener-Khinchin):
/// `S = DFT⁻¹ |DFT d|²`. The power spectrum is real and even, so its inverse transform equals
/// its forward transform divided by the length, and one forward routine serves both.
fn lag_sums_fft(d: &[f64], max_lag: usize) -> Vec<f64> {
    // Padding to at least n + max_lag avoids wrap-around for the lags we need.
    let p = (d.len() + max_lag + 1).next_power_of_two().max(2);
    let mut data = vec![[0.0f64; 2]; p];
    for (z, &x) in data.iter_mut().zip(d) {
        z[0] = x;
    }
    let twiddles = twiddles(p);
    fft(&mut data, &twiddles);
    for z in &mut data {
        *z = [z[0] * z[0] + z[1] * z[1], 0.0];
    }
    fft(&mut data, &twiddles);
    let scale = 1.0 / p as f64;
    data[..=max_lag].iter().map(|z| z[0] * scale).collect()
}

/// Stage-contiguous twiddle factors for [`fft`] of length `p`: entry `h + k` (for `h` a power
/// of two below `p` and `k < h`) is `e^{-iπk/h}`. The last stage is computed directly, the
/// others are its subsamples (no recurrence error).
fn twiddles(p: usize) -> Vec<[f64; 2]> {
    let half = p / 2;
    let mut tw = vec![[0.0; 2]; p];
    for k in 0..half {
        let a = -std::f64::consts::PI * k as f64 / half as f64;
        tw[half + k] = [a.cos(), a.sin()];
    }
    let mut h = half / 2;
    while h >= 1 {
        let step = half / h;
        for k in 0..h {
            tw[h + k] = tw[half + k * step];
        }
        h /= 2;
    }
    tw
}

/// In-place iterative radix-2 forward FFT (`e^{-2πi jk/p}`, unnormalised) of interleaved
/// complex values; the length is a power of two.
fn fft(data: &mut [[f64; 2]], tw: &[[f64; 2]]) {
    let p = data.len();
    debug_assert!(p.is_power_of_two() && tw.len() == p);
    let bits = p.trailing_zeros();
    if bits == 0 {
        return;
    }
    for i in 0..p {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            data.swap(i, j);
        }
    }
    let mut h = 1;
    while h < p {
        let w = &tw[h..2 * h];
        for chunk in data.chunks_exact_mut(2 * h) {
            let (a, b) = chunk.split_at_mut(h);
            for ((x, y), w) in a.iter_mut().zip(b.iter_mut()).zip(w) {
                let t = [y[0] * w[0] - y[1] * w[1], y[0] * w[1] + y[1] * w[0]];
                *y = [x[0] - t[0], x[1] - t[1]];
                *x = [x[0] + t[0], x[1] + t[1]];
            }
        }
        h *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_lag_sums_match_direct_sums() {
        let d: Vec<f64> = (0..37).map(|i| ((i * 17 + 3) % 11) as f64 - 5.0 + 0.1 * i as f64).collect();
        let sums = lag_sums_fft(&d, 36);
        for (t, s) in sums.iter().enumerate() {
            let direct: f64 = d[..d.len() - t].iter().zip(&d[t..]).map(|(a, b)| a * b).sum();
            assert!((s - direct).abs() < 1e-9 * (1.0 + direct.abs()), "lag {t}: {s} vs {direct}");
        }
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(matches!(integrated_autocorrelation_time(&[1.0; 3]), Err(Error::TooFewSamples { .. })));
        let mut x: Vec<f64> = (0..60).map(|i| ((i * i * 37) % 101) as f64).collect();
        x[4] = f64::NAN;
        assert_eq!(
            integrated_autocorrelation_time(&x),
            Err(Error::NonFiniteData { what: "integrated autocorrelation time", index: 4 })
        );
        assert!(integrated_autocorrelation_time_with(&[0.0; 60], 0.0).is_err());
        let constant = integrated_autocorrelation_time(&[2.0; 60]).unwrap();
        assert_eq!(constant, TauInt { tau: 0.5, stderr: 0.0, window: 0 });
        // A linear ramp is "infinitely" correlated: no window exists.
        let ramp: Vec<f64> = (0..100).map(|i| i as f64).collect();
        assert!(matches!(integrated_autocorrelation_time(&ramp), Err(Error::NoAutocorrelationWindow { .. })));
    }
}
