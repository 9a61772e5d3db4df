//! "Is it RG?" for one kernel: its MCRG eigenvalues on given data and, optionally, its fixed
//! point and `y_t` by two-lattice matching, in one serde-serialisable [`Assessment`].
//!
//! Units and signs as in [`crate::mcrg`] and [`crate::matching`]: dimensionless couplings
//! `K = βJ`, spins `±1`; the exact 2D Ising targets for factor `b` are `λ_t = b`,
//! `λ_h = b^{15/8}`, `K* = K_c` and `y_t = 1` ([`Targets`]).

use lattice_physics::Configurations;
use serde::{Deserialize, Serialize};

use crate::coarse::dense::{CorrelationComparison, Placement};
use crate::coarse::{coarse_grain_levels, CoarseKernel};
use crate::couplings::{fit_couplings, CouplingConfig, CouplingFit};
use crate::error::Result;
use crate::matching::{two_lattice_matching, CouplingData, MatchingConfig, MatchingResult};
use crate::mcrg::{mcrg_with_kernel, McrgConfig, McrgResult};
use crate::thermometer::{read, Reading};

/// The exact values a kernel's numbers are compared with (2D Ising, factor `b`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// `λ_t = b^{y_t} = b`.
    pub lambda_t: f64,
    /// `λ_h = b^{15/8}`.
    pub lambda_h: f64,
    /// `K_c = ½ ln(1 + √2)`.
    pub k_c: f64,
    /// `y_t = 1`.
    pub y_t: f64,
}

impl Targets {
    /// The targets for block factor `b`.
    pub fn for_factor(b: usize) -> Self {
        let b = b as f64;
        Targets { lambda_t: b, lambda_h: b.powf(15.0 / 8.0), k_c: lattice_physics::K_CRITICAL, y_t: 1.0 }
    }
}

/// Everything measured about one kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The kernel's name.
    pub kernel: String,
    /// Block factor.
    pub factor: usize,
    /// The exact values to compare with.
    pub targets: Targets,
    /// MCRG on the data (eigenvalues per level).
    pub mcrg: Option<McrgResult>,
    /// Two-lattice matching on a coupling grid.
    pub matching: Option<MatchingResult>,
    /// Where a dense layer's hidden units were placed (dense kernels only).
    pub placement: Option<Placement>,
    /// Hidden correlations against centroid distance next to visible ones at `b` times that
    /// distance (dense kernels only).
    #[serde(default)]
    pub correlations: Option<CorrelationComparison>,
    /// Renormalised couplings and exact-thermometer readings of the coarse configurations,
    /// per level (filled by [`coarse_readings`]).
    #[serde(default)]
    pub coarse: Vec<LevelReading>,
}

/// What the coarse configurations of one level look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelReading {
    /// Level `n ≥ 1`.
    pub level: usize,
    /// Linear size of the coarse lattice.
    pub lattice_size: usize,
    /// Pseudo-likelihood couplings (`crate::couplings`), when the fit succeeds.
    pub couplings: Option<CouplingFit>,
    /// The exact-energy thermometer's `K′` (`crate::thermometer`), when it reads.
    pub thermometer: Option<Reading>,
}

/// Couplings and thermometer readings of `kernel`'s coarse configurations of `data` at levels
/// `1..=levels` (level `ℓ` draws sample `i` from `block_rng(seed, ℓ − 1, i)`, as MCRG does).
/// A fit or reading that fails on one level (for instance a lattice too small for the operator
/// set) is reported as absent, not as an error.
pub fn coarse_readings<K: CoarseKernel>(
    kernel: &K,
    data: &Configurations,
    levels: usize,
    seed: u64,
    couplings: &CouplingConfig,
) -> Result<Vec<LevelReading>> {
    let all = coarse_grain_levels(data, kernel, levels, seed)?;
    Ok(all
        .iter()
        .enumerate()
        .skip(1)
        .map(|(level, d)| LevelReading {
            level,
            lattice_size: d.lattice().linear_size(),
            couplings: fit_couplings(d, couplings).ok(),
            thermometer: read(d).ok(),
        })
        .collect())
}

/// Assess `kernel`: MCRG on `data` (when given, with `mcrg`'s configuration) and two-lattice
/// matching on `grid = (large, small, config)` (when given).
pub fn assess<K: CoarseKernel>(
    kernel: &K,
    data: Option<(&Configurations, &McrgConfig)>,
    grid: Option<(&[CouplingData<'_>], &[CouplingData<'_>], &MatchingConfig)>,
    placement: Option<Placement>,
) -> Result<Assessment> {
    let mcrg = data.map(|(d, c)| mcrg_with_kernel(d, kernel, c)).transpose()?;
    let matching = grid.map(|(l, s, c)| two_lattice_matching(kernel, l, s, c)).transpose()?;
    Ok(Assessment {
        kernel: kernel.name(),
        factor: kernel.factor(),
        targets: Targets::for_factor(kernel.factor()),
        mcrg,
        matching,
        placement,
        correlations: None,
        coarse: Vec::new(),
    })
}
