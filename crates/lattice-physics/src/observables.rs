//! Observables of Ising configurations and their estimators with honest error bars.
//!
//! Units and signs (docs/science.md §2): spins `±1`, `N` sites, bond sum `B = Σ_<ij> s_i s_j`
//! over every bond once, magnetisation sum `M = Σ_i s_i`, `m = M/N`, coupling `K = βJ`.
//! From a time series of [`Measurement`]s, [`estimate`] gives
//!
//! - energy per site `e = -⟨B⟩/N` (that is `⟨H⟩/(NJ)` at `h = 0`);
//! - `⟨|m|⟩`, `⟨m²⟩`;
//! - specific heat per site `c = K² (⟨B²⟩ - ⟨B⟩²)/N` (the full specific heat at `h = 0`; the
//!   field term is not included when `h ≠ 0`);
//! - susceptibility per site `χ = N (⟨m²⟩ - ⟨|m|⟩²)`: the finite-lattice convention with
//!   `|m|`, which stays finite in the ordered phase (the zero-field `N⟨m²⟩` is
//!   [`Correlations::chi_zero`]);
//! - Binder cumulant `U = 1 - ⟨m⁴⟩/(3⟨m²⟩²)`.
//!
//! Errors: `e`, `⟨|m|⟩`, `⟨m²⟩` by `sqrt(2 τ_int σ²/n)` with `τ_int` from automatic windowing
//! ([`crate::stats::integrated_autocorrelation_time`]); `c`, `χ`, `U` by jackknife over
//! `n_b = min(⌊n/b⌋, 100)` consecutive blocks, `b = ⌈5 τ_max⌉`, `τ_max` the largest `τ_int` of
//! `B`, `|m|` and `m²` (at least [`MIN_BLOCKS`] blocks are required).
//!
//! Correlations ([`CorrelationMeter`], [`correlations`]), per configuration and then averaged:
//! - `G(r) = ⟨s_0 s_r⟩` along the lattice axes, averaged over all sites and (square lattice)
//!   both axes, for `r = 0 … ⌊L/2⌋`;
//! - `χ(k) = (1/N) ⟨|Σ_x s_x e^{i k·x}|²⟩`, at `k = 0` (`χ(0) = N⟨m²⟩`) and at the smallest
//!   nonzero wave vector `k_min = 2π/L` along an axis (averaged over both axes);
//! - the connected `χ_c(0) = N (⟨m²⟩ - ⟨m⟩²)` (equal to `χ(0)` at zero field by symmetry, but
//!   not in a field, where `χ(0)` grows with `N`);
//! - the second-moment correlation length `ξ = sqrt(χ_c(0)/χ(k_min) - 1) / (2 sin(π/L))`
//!   (`L` = linear size; for a ring, `L = n`), built from the connected correlator, with a
//!   jackknife error. It is reported as [`LengthStatus::Infinite`] when no configuration
//!   fluctuates at `k_min` (`χ(k_min) = 0`, as in perfectly ordered data, while `χ_c(0) > 0`),
//!   and [`LengthStatus::Undefined`] when `χ_c(0) ≤ χ(k_min)` (including `0/0`). Values of
//!   `|Σ_x s_x e^{i k_min x}|²` below [`FOURIER_ZERO`] are rounding noise and count as `0`.
//!
//! Errors of correlations use the same block rule, with `τ_max` over `G(1)`, `M²/N` and the
//! per-configuration `χ(k_min)`.

use serde::{Deserialize, Serialize};

use crate::configurations::Configurations;
use crate::error::{Error, Result};
use crate::lattice::{Lattice, LatticeKind};
use crate::model::{bond_sum, bond_sum_unchecked, Spins};
use crate::stats::{self, BlockMeans, Estimate, TauInt};

/// The smallest number of measurements the estimators accept.
pub const MIN_SAMPLES: usize = 100;

/// The smallest number of jackknife blocks (of length at least `5 τ_int`) the estimators accept.
pub const MIN_BLOCKS: usize = 4;

/// The largest number of jackknife blocks used (longer blocks are used when data abound).
pub const MAX_BLOCKS: usize = 100;

/// Per-configuration `|Σ_x s_x e^{i k_min x}|²` below this is rounding noise of an exact zero.
pub const FOURIER_ZERO: f64 = 1e-9;

/// Block length in units of the largest `τ_int`.
pub const BLOCK_TAU_FACTOR: f64 = 5.0;

/// What is recorded of one configuration for thermodynamic observables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Measurement {
    /// Bond sum `B = Σ_<ij> s_i s_j`.
    pub bond_sum: i64,
    /// Magnetisation sum `M = Σ_i s_i`.
    pub magnetization_sum: i64,
}

impl Measurement {
    /// Measure a configuration.
    pub fn of(spins: &Spins) -> Self {
        Measurement { bond_sum: spins.bond_sum(), magnetization_sum: spins.magnetization_sum() }
    }

    /// Measure raw row-major `±1` values on `lattice` (the length must match).
    pub fn from_slice(lattice: Lattice, spins: &[i8]) -> Result<Self> {
        Ok(Measurement {
            bond_sum: bond_sum(lattice, spins)?,
            magnetization_sum: spins.iter().map(|&v| v as i64).sum(),
        })
    }
}

fn check_len(lattice: Lattice, len: usize) -> Result<()> {
    if len != lattice.num_sites() {
        return Err(Error::ConfigurationLength { len, sites: lattice.num_sites() });
    }
    Ok(())
}

/// Measure every configuration of a data set, in order.
pub fn measure_all(configurations: &Configurations) -> Vec<Measurement> {
    let lattice = configurations.lattice();
    configurations
        .iter()
        .map(|c| Measurement {
            bond_sum: bond_sum_unchecked(lattice, c),
            magnetization_sum: c.iter().map(|&v| v as i64).sum(),
        })
        .collect()
}

/// Thermodynamic estimates from a time series of measurements (see the module documentation
/// for formulas and error rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observables {
    /// Number of measurements used.
    pub samples: usize,
    /// `e = -⟨B⟩/N`.
    pub energy_per_site: Estimate,
    /// `⟨|m|⟩`.
    pub abs_magnetization: Estimate,
    /// `⟨m²⟩`.
    pub magnetization_sq: Estimate,
    /// `c = K² (⟨B²⟩ - ⟨B⟩²)/N`.
    pub specific_heat_per_site: Estimate,
    /// `χ = N (⟨m²⟩ - ⟨|m|⟩²)`.
    pub susceptibility_per_site: Estimate,
    /// `U = 1 - ⟨m⁴⟩/(3⟨m²⟩²)` (NaN if every configuration has `m = 0`).
    pub binder_cumulant: Estimate,
    /// `τ_int` of `B` in units of the measurement spacing.
    pub tau_energy: TauInt,
    /// `τ_int` of `|m|` in units of the measurement spacing.
    pub tau_abs_magnetization: TauInt,
    /// `τ_int` of `m²` in units of the measurement spacing.
    pub tau_magnetization_sq: TauInt,
    /// Number of jackknife blocks.
    pub blocks: usize,
    /// Shortest jackknife block length (blocks differ in length by at most one).
    pub block_length: usize,
}

/// Number of jackknife blocks for `n` points whose slowest `τ_int` is `tau_max`.
fn block_count(what: &'static str, n: usize, tau_max: f64) -> Result<usize> {
    let len = (BLOCK_TAU_FACTOR * tau_max).ceil().max(1.0) as usize;
    let blocks = (n / len).min(MAX_BLOCKS);
    if blocks < MIN_BLOCKS {
        return Err(Error::TooFewSamples { what, len: n, min: MIN_BLOCKS * len });
    }
    Ok(blocks)
}

fn check_coupling(coupling: f64) -> Result<()> {
    if !coupling.is_finite() {
        return Err(Error::NonFinite { name: "coupling", value: coupling });
    }
    Ok(())
}

/// Estimate the thermodynamic observables of [`Observables`] from `measurements` taken on
/// `lattice` at coupling `coupling` (used only for the specific heat), in time order.
///
/// Needs at least [`MIN_SAMPLES`] measurements and a series long enough for the automatic
/// windowing and for [`MIN_BLOCKS`] blocks of `5 τ_max`.
pub fn estimate(lattice: Lattice, coupling: f64, measurements: &[Measurement]) -> Result<Observables> {
    check_coupling(coupling)?;
    let n = measurements.len();
    if n < MIN_SAMPLES {
        return Err(Error::TooFewSamples { what: "observables::estimate", len: n, min: MIN_SAMPLES });
    }
    let sites = lattice.num_sites() as f64;
    let b: Vec<f64> = measurements.iter().map(|x| x.bond_sum as f64 / sites).collect();
    let abs_m: Vec<f64> = measurements.iter().map(|x| (x.magnetization_sum as f64 / sites).abs()).collect();
    let m2: Vec<f64> = abs_m.iter().map(|m| m * m).collect();

    let (b_mean, tau_energy) = stats::mean_autocorrelated(&b)?;
    let (abs_magnetization, tau_abs_magnetization) = stats::mean_autocorrelated(&abs_m)?;
    let (magnetization_sq, tau_magnetization_sq) = stats::mean_autocorrelated(&m2)?;
    let energy_per_site = Estimate { mean: -b_mean.mean, stderr: b_mean.stderr };

    let tau_max = tau_energy.tau.max(tau_abs_magnetization.tau).max(tau_magnetization_sq.tau);
    let blocks = block_count("observables::estimate (blocks of 5 tau_int)", n, tau_max)?;
    // Primary quantities per measurement: b, b², |m|, m², m⁴ (b = B/N, m = M/N).
    let mut rows = Vec::with_capacity(5 * n);
    for (&bi, &mi) in b.iter().zip(&abs_m) {
        rows.extend_from_slice(&[bi, bi * bi, mi, mi * mi, mi * mi * mi * mi]);
    }
    let block_means = BlockMeans::from_rows(&rows, 5, blocks)?;
    let k2n = coupling * coupling * sites;
    let specific_heat_per_site = block_means.jackknife(|q| k2n * (q[1] - q[0] * q[0]));
    let susceptibility_per_site = block_means.jackknife(|q| sites * (q[3] - q[2] * q[2]));
    let binder_cumulant = block_means.jackknife(|q| 1.0 - q[4] / (3.0 * q[3] * q[3]));

    Ok(Observables {
        samples: n,
        energy_per_site,
        abs_magnetization,
        magnetization_sq,
        specific_heat_per_site,
        susceptibility_per_site,
        binder_cumulant,
        tau_energy,
        tau_abs_magnetization,
        tau_magnetization_sq,
        blocks,
        block_length: n / blocks,
    })
}

/// Entries per configuration beyond `G(0..=R)`: `M/N`, `M²/N`, `χ(k_min)`.
const WIDTH_EXTRA: usize = 4;

/// Accumulates per-configuration correlation measurements without allocating per
/// configuration (beyond the amortised growth of its record, which
/// [`CorrelationMeter::with_capacity`] avoids).
#[derive(Debug, Clone)]
pub struct CorrelationMeter {
    lattice: Lattice,
    max_distance: usize,
    /// `G(0..=R)`, `M/N`, `M²/N`, `χ(k_min)` per configuration.
    rows: Vec<f64>,
    cos: Vec<f64>,
    sin: Vec<f64>,
    line: Vec<i64>,
}

impl CorrelationMeter {
    /// A meter for configurations on `lattice`.
    pub fn new(lattice: Lattice) -> Self {
        Self::with_capacity(lattice, 0)
    }

    /// A meter with room for `configurations` measurements.
    pub fn with_capacity(lattice: Lattice, configurations: usize) -> Self {
        let l = lattice.linear_size();
        let max_distance = l / 2;
        let k = 2.0 * std::f64::consts::PI / l as f64;
        CorrelationMeter {
            lattice,
            max_distance,
            rows: Vec::with_capacity(configurations * (max_distance + WIDTH_EXTRA)),
            cos: (0..l).map(|x| (k * x as f64).cos()).collect(),
            sin: (0..l).map(|x| (k * x as f64).sin()).collect(),
            line: vec![0; l],
        }
    }

    /// The largest distance measured, `⌊L/2⌋`.
    pub fn max_distance(&self) -> usize {
        self.max_distance
    }

    /// Number of configurations measured so far.
    pub fn len(&self) -> usize {
        self.rows.len() / (self.max_distance + WIDTH_EXTRA)
    }

    /// Whether nothing was measured yet.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `|Σ_x line_x e^{i k_min x}|²`.
    fn fourier_sq(&self) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for ((&v, c), s) in self.line.iter().zip(&self.cos).zip(&self.sin) {
            re += v as f64 * c;
            im += v as f64 * s;
        }
        let f = re * re + im * im;
        if f < FOURIER_ZERO {
            0.0
        } else {
            f
        }
    }

    /// Measure one configuration (row-major `±1` values; the length must match the lattice).
    pub fn measure(&mut self, spins: &[i8]) -> Result<()> {
        check_len(self.lattice, spins.len())?;
        let n = spins.len();
        let nf = n as f64;
        let r_max = self.max_distance;
        match self.lattice.kind() {
            LatticeKind::Ring { .. } => {
                for r in 0..=r_max {
                    let mut acc = 0i64;
                    for i in 0..n {
                        let j = if i + r >= n { i + r - n } else { i + r };
                        acc += (spins[i] * spins[j]) as i64;
                    }
                    self.rows.push(acc as f64 / nf);
                }
                let m: i64 = spins.iter().map(|&v| v as i64).sum();
                self.rows.push(m as f64 / nf);
                self.rows.push((m * m) as f64 / nf);
                for (l, &v) in self.line.iter_mut().zip(spins) {
                    *l = v as i64;
                }
                let chi_k = self.fourier_sq() / nf;
                self.rows.push(chi_k);
            }
            LatticeKind::Square { l } => {
                for r in 0..=r_max {
                    let mut acc = 0i64;
                    for y in 0..l {
                        let row = &spins[y * l..(y + 1) * l];
                        let yr = (y + r) % l;
                        let other = &spins[yr * l..(yr + 1) * l];
                        // s(x, y) [s(x + r, y) + s(x, y + r)], the x + r wrap split off.
                        let mut a = 0i32;
                        for ((&v, &right), &down) in row.iter().zip(&row[r..]).zip(other) {
                            a += (v * (right + down)) as i32;
                        }
                        for ((&v, &right), &down) in row[l - r..].iter().zip(row).zip(&other[l - r..]) {
                            a += (v * (right + down)) as i32;
                        }
                        acc += a as i64;
                    }
                    self.rows.push(acc as f64 / (2.0 * nf));
                }
                let m: i64 = spins.iter().map(|&v| v as i64).sum();
                self.rows.push(m as f64 / nf);
                self.rows.push((m * m) as f64 / nf);
                // Column sums (k along x), then row sums (k along y).
                self.line.iter_mut().for_each(|c| *c = 0);
                for row in spins.chunks_exact(l) {
                    for (c, &v) in self.line.iter_mut().zip(row) {
                        *c += v as i64;
                    }
                }
                let fx = self.fourier_sq();
                for (c, row) in self.line.iter_mut().zip(spins.chunks_exact(l)) {
                    *c = row.iter().map(|&v| v as i64).sum();
                }
                let fy = self.fourier_sq();
                self.rows.push((fx + fy) / (2.0 * nf));
            }
        }
        Ok(())
    }

    /// Estimates with errors from everything measured so far, in time order.
    pub fn estimate(&self) -> Result<Correlations> {
        let width = self.max_distance + WIDTH_EXTRA;
        let n = self.len();
        if n < MIN_SAMPLES {
            return Err(Error::TooFewSamples { what: "observables::correlations", len: n, min: MIN_SAMPLES });
        }
        let column = |j: usize| -> Vec<f64> { self.rows.chunks_exact(width).map(|r| r[j]).collect() };
        let tau_chi_zero = stats::integrated_autocorrelation_time(&column(width - 2))?;
        let tau_chi_kmin = stats::integrated_autocorrelation_time(&column(width - 1))?;
        let tau_g1 = stats::integrated_autocorrelation_time(&column(1))?;
        let tau_max = tau_chi_zero.tau.max(tau_chi_kmin.tau).max(tau_g1.tau);
        let blocks = block_count("observables::correlations (blocks of 5 tau_int)", n, tau_max)?;
        let bm = BlockMeans::from_rows(&self.rows, width, blocks)?;
        let g = (0..=self.max_distance).map(|r| bm.jackknife(|q| q[r])).collect();
        let chi_zero = bm.jackknife(|q| q[width - 2]);
        let chi_kmin = bm.jackknife(|q| q[width - 1]);
        let sites = self.lattice.num_sites() as f64;
        let connected = |q: &[f64]| q[width - 2] - sites * q[width - 3] * q[width - 3];
        let chi_zero_connected = bm.jackknife(connected);
        let two_sin = 2.0 * (std::f64::consts::PI / self.lattice.linear_size() as f64).sin();
        let xi = bm.jackknife(|q| {
            let ratio = connected(q) / q[width - 1];
            if ratio > 1.0 {
                (ratio - 1.0).sqrt() / two_sin
            } else {
                f64::NAN
            }
        });
        let no_kmin_fluctuations = self.rows.chunks_exact(width).all(|r| r[width - 1] == 0.0);
        let (second_moment_length, second_moment_status) = if no_kmin_fluctuations {
            if chi_zero_connected.mean > 0.0 {
                (None, LengthStatus::Infinite)
            } else {
                (None, LengthStatus::Undefined)
            }
        } else if xi.mean.is_finite() && xi.stderr.is_finite() {
            (Some(xi), LengthStatus::Finite)
        } else {
            (None, LengthStatus::Undefined)
        };
        Ok(Correlations {
            samples: n,
            g,
            chi_zero,
            chi_zero_connected,
            chi_kmin,
            second_moment_length,
            second_moment_status,
            tau_chi_zero,
            blocks,
            block_length: n / blocks,
        })
    }
}

/// What the data say about the second-moment correlation length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthStatus {
    /// A finite estimate with an error bar.
    Finite,
    /// No configuration fluctuates at `k_min` while `χ_c(0) > 0`: correlations extend beyond
    /// the lattice (for example perfectly ordered data of both signs).
    Infinite,
    /// `χ_c(0) ≤ χ(k_min)`: no correlations resolved, or no fluctuations at all (`0/0`).
    Undefined,
}

/// Correlation functions with errors (see the module documentation for definitions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlations {
    /// Number of configurations used.
    pub samples: usize,
    /// `G(r) = ⟨s_0 s_r⟩` for `r = 0 … ⌊L/2⌋` (index = distance).
    pub g: Vec<Estimate>,
    /// `χ(0) = N⟨m²⟩`.
    pub chi_zero: Estimate,
    /// `χ_c(0) = N(⟨m²⟩ - ⟨m⟩²)`, the connected susceptibility.
    pub chi_zero_connected: Estimate,
    /// `χ(k_min)`, `k_min = 2π/L` along an axis.
    pub chi_kmin: Estimate,
    /// Second-moment correlation length from the connected correlator; `None` unless
    /// `second_moment_status` is [`LengthStatus::Finite`].
    pub second_moment_length: Option<Estimate>,
    /// Whether the second-moment length is finite, infinite (no fluctuations at `k_min`) or
    /// undefined (`χ_c(0) ≤ χ(k_min)` in the data or a jackknife subsample).
    pub second_moment_status: LengthStatus,
    /// `τ_int` of `M²/N`, in units of the measurement spacing.
    pub tau_chi_zero: TauInt,
    /// Number of jackknife blocks.
    pub blocks: usize,
    /// Shortest jackknife block length.
    pub block_length: usize,
}

/// Correlations of every configuration of a data set (in time order).
pub fn correlations(configurations: &Configurations) -> Result<Correlations> {
    let mut meter = CorrelationMeter::with_capacity(configurations.lattice(), configurations.samples());
    for config in configurations.iter() {
        meter.measure(config)?;
    }
    meter.estimate()
}
