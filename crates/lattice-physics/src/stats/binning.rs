//! Binning (blocking) analysis of the error of a mean.
//!
//! The series is cut into consecutive bins of `b = 1, 2, 4, …` points, as long as at least
//! [`MIN_BINS`] bins remain (the last `n mod b` points are left out at that level). At each
//! level the error of the mean is `σ_b = sqrt(Σ_k (B_k - B̄)² / (m(m-1)))` over the `m` bin
//! means `B_k`, with its own statistical error `σ_b / sqrt(2(m-1))`. `σ_b` rises with `b`
//! and levels off once bins are longer than a few `τ_int`; then `τ_int ≈ ½ (σ_b/σ_1)²`.
//!
//! Plateau rule: the pick is the smallest level `k` that no larger level exceeds by more than
//! two of that larger level's error bars (`σ_j - σ_k ≤ 2 δσ_j` for all `j > k`). The plateau
//! is called converged when at least two larger levels confirm it; otherwise the largest bins
//! are still too short and the error is a lower bound.

use serde::{Deserialize, Serialize};

use super::{check_series, mean_of, Estimate};
use crate::error::Result;

/// Smallest number of bins a level may have.
pub const MIN_BINS: usize = 32;

/// One level of a binning analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinLevel {
    /// Points per bin.
    pub bin_size: usize,
    /// Number of bins.
    pub bins: usize,
    /// Error of the mean estimated from the bin means.
    pub stderr: f64,
    /// Statistical error of `stderr`, `stderr / sqrt(2(bins-1))`.
    pub stderr_error: f64,
}

/// The result of [`binning`]: the levels and the plateau pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    /// Mean of the whole series.
    pub mean: f64,
    /// Levels with bin sizes 1, 2, 4, …
    pub levels: Vec<BinLevel>,
    /// Index into `levels` of the plateau pick.
    pub plateau: usize,
    /// Whether at least two larger levels confirm the plateau.
    pub converged: bool,
}

impl Binning {
    /// The mean with the error of the plateau level.
    pub fn estimate(&self) -> Estimate {
        Estimate { mean: self.mean, stderr: self.levels[self.plateau].stderr }
    }

    /// `τ_int ≈ ½ (σ_plateau / σ_1)²` (½ for a constant series).
    pub fn tau_int(&self) -> f64 {
        let s1 = self.levels[0].stderr;
        if s1 == 0.0 {
            0.5
        } else {
            0.5 * (self.levels[self.plateau].stderr / s1).powi(2)
        }
    }
}

/// Binning analysis of `series` (at least `2·MIN_BINS` finite points).
pub fn binning(series: &[f64]) -> Result<Binning> {
    check_series("binning analysis", series, 2 * MIN_BINS)?;
    let n = series.len();
    let mean = mean_of(series);
    let mut levels = Vec::new();
    let mut bin_size = 1;
    while n / bin_size >= MIN_BINS {
        let bins = n / bin_size;
        let used = bins * bin_size;
        let bin_mean_avg = mean_of(&series[..used]);
        let ss: f64 = series[..used]
            .chunks_exact(bin_size)
            .map(|c| {
                let m = c.iter().sum::<f64>() / bin_size as f64 - bin_mean_avg;
                m * m
            })
            .sum();
        let stderr = (ss / (bins * (bins - 1)) as f64).sqrt();
        levels.push(BinLevel {
            bin_size,
            bins,
            stderr,
            stderr_error: stderr / (2.0 * (bins - 1) as f64).sqrt(),
        });
        bin_size *= 2;
    }
    let plateau = (0..levels.len())
        .find(|&k| levels[k + 1..].iter().all(|l| l.stderr - levels[k].stderr <= 2.0 * l.stderr_error))
        .unwrap_or(levels.len() - 1);
    let converged = plateau + 2 < levels.len();
    Ok(Binning { mean, levels, plateau, converged })
}
