//! Jackknife errors for nonlinear estimators, over blocks of a time series.
//!
//! With `n_b` blocks, let `f` be the estimator on all blocks and `f_(k)` the estimator with
//! block `k` left out. The jackknife error is
//! `σ_f = sqrt((n_b - 1)/n_b · Σ_k (f_(k) - f̄_(·))²)`, `f̄_(·)` the mean of the `f_(k)`.
//! The reported value is `f` on all blocks (not bias-corrected: the `O(1/n)` bias is far
//! below the error for the block counts used here). Blocks must be longer than a few
//! `τ_int` so that they are nearly independent.
//!
//! Two entry points: [`jackknife`] is fully generic (the estimator sees the blocks it may use
//! through a [`Subsample`]; cost `O(n_b²)` block visits), and [`BlockMeans::jackknife`] is the
//! common, fast case of a function of means of primary quantities (cost `O(n_b · width)`).

use super::Estimate;
use crate::error::{Error, Result};

/// The smallest number of blocks a jackknife accepts.
pub const MIN_JACKKNIFE_BLOCKS: usize = 2;

/// The blocks an estimator may use in one jackknife evaluation: all, or all but one.
#[derive(Debug)]
pub struct Subsample<'a, T> {
    blocks: &'a [T],
    omitted: Option<usize>,
}

impl<T> Clone for Subsample<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Subsample<'_, T> {}

impl<'a, T> Subsample<'a, T> {
    /// The blocks in this subsample, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a T> + 'a {
        let (blocks, omitted) = (self.blocks, self.omitted);
        blocks.iter().enumerate().filter(move |(k, _)| Some(*k) != omitted).map(|(_, b)| b)
    }

    /// Number of blocks in this subsample.
    pub fn len(&self) -> usize {
        self.blocks.len() - usize::from(self.omitted.is_some())
    }

    /// Whether the subsample has no blocks (never true inside [`jackknife`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The left-out block, if any.
    pub fn omitted(&self) -> Option<usize> {
        self.omitted
    }
}

fn jackknife_error(values: &[f64]) -> f64 {
    let nb = values.len() as f64;
    let avg = values.iter().sum::<f64>() / nb;
    ((nb - 1.0) / nb * values.iter().map(|v| (v - avg) * (v - avg)).sum::<f64>()).sqrt()
}

/// Jackknife estimate of `estimator` over `blocks` (at least two). The estimator is called
/// once with every block and once with each block left out.
pub fn jackknife<T, F>(blocks: &[T], mut estimator: F) -> Result<Estimate>
where
    F: FnMut(Subsample<'_, T>) -> f64,
{
    if blocks.len() < MIN_JACKKNIFE_BLOCKS {
        return Err(Error::TooFewSamples { what: "jackknife", len: blocks.len(), min: MIN_JACKKNIFE_BLOCKS });
    }
    let mean = estimator(Subsample { blocks, omitted: None });
    let values: Vec<f64> =
        (0..blocks.len()).map(|k| estimator(Subsample { blocks, omitted: Some(k) })).collect();
    Ok(Estimate { mean, stderr: jackknife_error(&values) })
}

/// Per-block sums of `width` primary quantities over consecutive blocks of a series of rows.
///
/// Blocks have lengths that differ by at most one; leaving block `k` out gives the means
/// `(Σ_all - Σ_k) / (n - n_k)`, which the estimator receives as a slice of `width` values.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockMeans {
    width: usize,
    total: usize,
    counts: Vec<usize>,
    sums: Vec<f64>,
}

impl BlockMeans {
    /// Cut `rows` (row-major, `width` values per row, one row per time step) into `blocks`
    /// consecutive blocks of near-equal length and sum each. Needs `width ≥ 1`, a whole number
    /// of rows, finite values and `2 ≤ blocks ≤ rows`.
    pub fn from_rows(rows: &[f64], width: usize, blocks: usize) -> Result<Self> {
        if width == 0 || rows.len() % width != 0 {
            return Err(Error::InvalidParameter {
                name: "width",
                reason: "must be positive and divide the number of values",
            });
        }
        let n = rows.len() / width;
        if blocks < MIN_JACKKNIFE_BLOCKS {
            return Err(Error::TooFewSamples {
                what: "jackknife blocks",
                len: blocks,
                min: MIN_JACKKNIFE_BLOCKS,
            });
        }
        if n < blocks {
            return Err(Error::TooFewSamples { what: "jackknife over blocks", len: n, min: blocks });
        }
        if let Some(index) = rows.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFiniteData { what: "jackknife over blocks", index });
        }
        let mut sums = vec![0.0; blocks * width];
        let mut counts = Vec::with_capacity(blocks);
        for (k, acc) in sums.chunks_exact_mut(width).enumerate() {
            let (start, end) = (k * n / blocks, (k + 1) * n / blocks);
            for row in rows[start * width..end * width].chunks_exact(width) {
                for (a, x) in acc.iter_mut().zip(row) {
                    *a += x;
                }
            }
            counts.push(end - start);
        }
        Ok(BlockMeans { width, total: n, counts, sums })
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        self.counts.len()
    }

    /// Number of primary quantities per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Means of the primary quantities over all rows.
    pub fn means(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.width];
        for block in self.sums.chunks_exact(self.width) {
            for (a, s) in m.iter_mut().zip(block) {
                *a += s;
            }
        }
        m.iter_mut().for_each(|a| *a /= self.total as f64);
        m
    }

    /// Jackknife estimate of `estimator`, a function of the means of the primary quantities.
    /// A non-finite estimator value is returned as is (the caller decides what it means).
    pub fn jackknife<F: FnMut(&[f64]) -> f64>(&self, mut estimator: F) -> Estimate {
        let all = self.means();
        let totals: Vec<f64> = all.iter().map(|m| m * self.total as f64).collect();
        let mean = estimator(&all);
        let mut scratch = vec![0.0; self.width];
        let values: Vec<f64> = self
            .sums
            .chunks_exact(self.width)
            .zip(&self.counts)
            .map(|(block, &count)| {
                let rest = (self.total - count) as f64;
                for ((s, t), b) in scratch.iter_mut().zip(&totals).zip(block) {
                    *s = (t - b) / rest;
                }
                estimator(&scratch)
            })
            .collect();
        Estimate { mean, stderr: jackknife_error(&values) }
    }
}
