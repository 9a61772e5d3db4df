//! Monte Carlo renormalization group (Swendsen 1979) on the square lattice.
//!
//! Units and signs: spins `±1`; the operators `S_α` below are dimensionless sums over the
//! whole `L_n × L_n` torus at blocking level `n` (level 0 = the data, level `n` = `n` applications
//! of a [`crate::coarse::CoarseKernel`] with factor `b`, sample `i` at level `n` drawing from
//! [`crate::block::block_rng`]`(seed, n − 1, i)`; [`mcrg`] uses majority rule, exactly as
//! [`crate::block::coarse_grain_all`] does, and [`mcrg_with_kernel`] any kernel). Couplings
//! conjugate to them enter as `−H = Σ_α K_α S_α`.
//!
//! The linearised RG matrix between levels `n − 1` and `n` is `T = G⁻¹ F` (docs/science.md §7) with
//! - `F_γβ = ⟨S_γ^(n) S_β^(n−1)⟩ − ⟨S_γ^(n)⟩⟨S_β^(n−1)⟩`,
//! - `G_γα = ⟨S_γ^(n) S_α^(n)⟩ − ⟨S_γ^(n)⟩⟨S_α^(n)⟩`,
//!
//! computed separately in the even sector (operators symmetric under a global spin flip) and
//! the odd sector. Its leading eigenvalue is `λ = b^y`: `y_t` from the even sector, `y_h` from
//! the odd one, `ν = 1/y_t`. The eigenvalue reported is the real part of the eigenvalue of
//! largest modulus. Errors are jackknife errors over contiguous blocks of configurations (so
//! configurations must be in the order the Markov chains produced them; with correlated data
//! choose blocks much longer than the autocorrelation time).
//!
//! Exact 2D Ising targets: `y_t = 1`, `y_h = 15/8`; for `b = 2`, `λ_t = 2`, `λ_h = 2^{15/8} ≈ 3.668`.
//! With a handful of operators and a finite lattice the estimates are biased (truncation and
//! finite-size effects); they approach the targets as levels increase on large lattices.
//! Every [`McrgResult`] says so ([`ERRORS_NOTE`]) and warns about levels whose lattice is below
//! [`MIN_MEANINGFUL_SIZE`].

pub use lattice_physics::stats::Estimate;
use lattice_physics::Configurations;
use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::block::{block_rng, check_lattice};
use crate::coarse::{kernel_levels, CoarseKernel, Majority};
use crate::error::{Error, Result};

/// A sum of local spin products over the torus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// `Σ_(x,y) s(x,y) [s(x+1,y) + s(x,y+1)]` (even).
    NearestNeighbour,
    /// `Σ s(x,y) [s(x+1,y+1) + s(x+1,y−1)]`, diagonal pairs (even).
    NextNearestNeighbour,
    /// `Σ s(x,y) [s(x+2,y) + s(x,y+2)]`, pairs at distance 2 along the axes (even).
    ThirdNeighbour,
    /// `Σ s(x,y) s(x+1,y) s(x,y+1) s(x+1,y+1)`, the four spins of each plaquette (even).
    Plaquette,
    /// `Σ s(x,y)`, the magnetisation (odd).
    Magnetization,
    /// Sum over plaquettes of the four products of three of its corners (odd).
    ThreeSpin,
}

impl Operator {
    /// Whether the operator is even under a global spin flip.
    pub fn is_even(&self) -> bool {
        matches!(
            self,
            Operator::NearestNeighbour
                | Operator::NextNearestNeighbour
                | Operator::ThirdNeighbour
                | Operator::Plaquette
        )
    }

    /// Stable snake-case name.
    pub fn name(&self) -> &'static str {
        match self {
            Operator::NearestNeighbour => "nearest_neighbour",
            Operator::NextNearestNeighbour => "next_nearest_neighbour",
            Operator::ThirdNeighbour => "third_neighbour",
            Operator::Plaquette => "plaquette",
            Operator::Magnetization => "magnetization",
            Operator::ThreeSpin => "three_spin",
        }
    }

    /// The value of the operator on one `l × l` configuration `s` (row-major, `±1`).
    /// Callers guarantee `s.len() == l * l`.
    pub fn evaluate(&self, l: usize, s: &[i8]) -> f64 {
        let at = |x: usize, y: usize| s[(y % l) * l + (x % l)] as i64;
        let mut total = 0i64;
        for y in 0..l {
            for x in 0..l {
                let c = at(x, y);
                total += match self {
                    Operator::NearestNeighbour => c * (at(x + 1, y) + at(x, y + 1)),
                    Operator::NextNearestNeighbour => c * (at(x + 1, y + 1) + at(x + 1, y + l - 1)),
                    Operator::ThirdNeighbour => c * (at(x + 2, y) + at(x, y + 2)),
                    Operator::Plaquette => c * at(x + 1, y) * at(x, y + 1) * at(x + 1, y + 1),
                    Operator::Magnetization => c,
                    Operator::ThreeSpin => {
                        let (a, b, d, e) = (c, at(x + 1, y), at(x, y + 1), at(x + 1, y + 1));
                        a * b * d + a * b * e + a * d * e + b * d * e
                    }
                };
            }
        }
        total as f64
    }
}

/// What MCRG computes. No `Default`: the block factor and number of levels are choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McrgConfig {
    /// Block factor `b` (majority rule; ties broken at random for even `b`).
    pub factor: usize,
    /// Number of blocking levels `n_max ≥ 1`; eigenvalues are reported for `n = 1..=n_max`.
    pub levels: usize,
    /// Even operators, in order (the truncations use the first `k` of them).
    pub even: Vec<Operator>,
    /// Odd operators, in order.
    pub odd: Vec<Operator>,
    /// Number of jackknife blocks (at least 2, at most the number of configurations).
    pub jackknife_blocks: usize,
    /// Master seed for tie-breaking.
    pub seed: u64,
}

impl McrgConfig {
    /// The standard operator set: even = nearest-neighbour, next-nearest-neighbour, plaquette;
    /// odd = magnetisation, three-spin; 20 jackknife blocks.
    pub fn standard(factor: usize, levels: usize, seed: u64) -> Self {
        McrgConfig {
            factor,
            levels,
            even: vec![Operator::NearestNeighbour, Operator::NextNearestNeighbour, Operator::Plaquette],
            odd: vec![Operator::Magnetization, Operator::ThreeSpin],
            jackknife_blocks: 20,
            seed,
        }
    }
}

/// Operator values for every configuration and blocking level.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorTable {
    operators: Vec<Operator>,
    sizes: Vec<usize>,
    samples: usize,
    /// `samples × levels × operators`, row-major.
    values: Vec<f64>,
}

impl OperatorTable {
    /// Evaluate `operators` on every configuration of `data` (on an `L×L` torus) and on its
    /// majority-rule blockings by `factor`, levels `0..=levels`. Parallel over samples and
    /// deterministic for a given seed.
    pub fn new(
        data: &Configurations,
        factor: usize,
        levels: usize,
        operators: &[Operator],
        seed: u64,
    ) -> Result<Self> {
        OperatorTable::with_kernel(data, &Majority::new(data.lattice(), factor)?, levels, operators, seed)
    }

    /// Like [`OperatorTable::new`] with any kernel: level `n` is `kernel` (resized to level
    /// `n − 1`'s lattice) applied to level `n − 1`, sample `i` drawing from
    /// [`crate::block::block_rng`]`(seed, n − 1, i)`.
    pub fn with_kernel<K: CoarseKernel>(
        data: &Configurations,
        kernel: &K,
        levels: usize,
        operators: &[Operator],
        seed: u64,
    ) -> Result<Self> {
        let lattice = kernel.fine();
        if lattice.dimension() != 2 {
            return Err(Error::InvalidParameter {
                name: "lattice",
                reason: "MCRG is implemented for the square lattice only",
            });
        }
        if operators.is_empty() {
            return Err(Error::InvalidParameter {
                name: "operators",
                reason: "at least one operator is needed",
            });
        }
        check_lattice(data, lattice)?;
        let samples = data.samples();
        let kernels = kernel_levels(kernel, levels)?;
        let mut sizes = vec![lattice.linear_size()];
        sizes.extend(kernels.iter().map(|k| k.coarse().linear_size()));
        let n_ops = operators.len();
        let per_sample = (levels + 1) * n_ops;
        let mut values = vec![0.0; samples * per_sample];
        let n0 = lattice.num_sites();
        let n1 = kernels.first().map_or(0, |k| k.coarse().num_sites());
        values.par_chunks_mut(per_sample).zip(data.as_slice().par_chunks(n0)).enumerate().for_each_init(
            || (vec![0i8; n1], vec![0i8; n1]),
            |(buf_a, buf_b), (i, (out, s))| {
                for (k, op) in operators.iter().enumerate() {
                    out[k] = op.evaluate(sizes[0], s);
                }
                for (level, kern) in kernels.iter().enumerate() {
                    let nc = kern.coarse().num_sites();
                    let mut rng = block_rng(seed, level as u64, i as u64);
                    if level == 0 {
                        kern.sample_unchecked(s, &mut buf_a[..nc], &mut rng);
                    } else {
                        let nf = kern.fine().num_sites();
                        kern.sample_unchecked(&buf_a[..nf], &mut buf_b[..nc], &mut rng);
                        std::mem::swap(buf_a, buf_b);
                    }
                    for (k, op) in operators.iter().enumerate() {
                        out[(level + 1) * n_ops + k] = op.evaluate(sizes[level + 1], &buf_a[..nc]);
                    }
                }
            },
        );
        Ok(OperatorTable { operators: operators.to_vec(), sizes, samples, values })
    }

    /// Number of configurations.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Number of levels including level 0.
    pub fn levels(&self) -> usize {
        self.sizes.len()
    }

    /// Linear size of the lattice at each level.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The operators, in column order.
    pub fn operators(&self) -> &[Operator] {
        &self.operators
    }

    /// The value of operator `op` (column index) at `level` for configuration `sample`.
    pub fn value(&self, sample: usize, level: usize, op: usize) -> f64 {
        let n_ops = self.operators.len();
        self.values[(sample * self.sizes.len() + level) * n_ops + op]
    }

    /// The connected correlation matrices `(F, G)` between `level ≥ 1` and `level − 1` for the
    /// operator columns `ops`, over configurations `samples` (a range). Row-major `k × k`.
    pub fn correlations(
        &self,
        level: usize,
        ops: &[usize],
        samples: std::ops::Range<usize>,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        self.check_level(level, ops)?;
        if samples.end > self.samples || samples.len() < 2 {
            return Err(Error::TooFewSamples { what: "correlation matrices", len: samples.len(), min: 2 });
        }
        let mut m = Moments::new(ops.len());
        let shift = self.shifts(level, ops);
        for i in samples {
            m.add(self, i, level, ops, &shift);
        }
        let (f, g) = m.connected();
        Ok((row_major(&f), row_major(&g)))
    }

    fn check_level(&self, level: usize, ops: &[usize]) -> Result<()> {
        if level == 0 || level >= self.sizes.len() {
            return Err(Error::InvalidParameter {
                name: "level",
                reason: "must be between 1 and the number of blocking levels",
            });
        }
        if ops.is_empty() || ops.len() > 16 || ops.iter().any(|&k| k >= self.operators.len()) {
            return Err(Error::InvalidParameter {
                name: "operator columns",
                reason: "must be 1 to 16 valid columns",
            });
        }
        Ok(())
    }

    /// Means over all samples of the upper- and lower-level values (subtracted before
    /// accumulating, which changes no covariance but avoids cancellation).
    fn shifts(&self, level: usize, ops: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let n = self.samples as f64;
        let mean = |lv: usize, k: usize| (0..self.samples).map(|i| self.value(i, lv, k)).sum::<f64>() / n;
        (ops.iter().map(|&k| mean(level, k)).collect(), ops.iter().map(|&k| mean(level - 1, k)).collect())
    }
}

/// Additive sums for connected correlations between an upper (`x`, level n) and a lower
/// (`y`, level n−1) set of operator values.
#[derive(Debug, Clone)]
struct Moments {
    count: f64,
    sx: Vec<f64>,
    sy: Vec<f64>,
    sxx: DMatrix<f64>,
    sxy: DMatrix<f64>,
}

impl Moments {
    fn new(k: usize) -> Self {
        Moments {
            count: 0.0,
            sx: vec![0.0; k],
            sy: vec![0.0; k],
            sxx: DMatrix::zeros(k, k),
            sxy: DMatrix::zeros(k, k),
        }
    }

    fn add(
        &mut self,
        table: &OperatorTable,
        i: usize,
        level: usize,
        ops: &[usize],
        shift: &(Vec<f64>, Vec<f64>),
    ) {
        const MAX: usize = 16;
        let k = ops.len();
        assert!(k <= MAX, "at most {MAX} operators per sector (checked by the callers)");
        let (mut x, mut y) = ([0.0; MAX], [0.0; MAX]);
        for (a, &op) in ops.iter().enumerate() {
            x[a] = table.value(i, level, op) - shift.0[a];
            y[a] = table.value(i, level - 1, op) - shift.1[a];
        }
        self.count += 1.0;
        for a in 0..k {
            self.sx[a] += x[a];
            self.sy[a] += y[a];
            for b in 0..k {
                self.sxx[(a, b)] += x[a] * x[b];
                self.sxy[(a, b)] += x[a] * y[b];
            }
        }
    }

    fn minus(&self, other: &Moments) -> Moments {
        Moments {
            count: self.count - other.count,
            sx: self.sx.iter().zip(&other.sx).map(|(a, b)| a - b).collect(),
            sy: self.sy.iter().zip(&other.sy).map(|(a, b)| a - b).collect(),
            sxx: &self.sxx - &other.sxx,
            sxy: &self.sxy - &other.sxy,
        }
    }

    fn plus_assign(&mut self, other: &Moments) {
        self.count += other.count;
        for (a, b) in self.sx.iter_mut().zip(&other.sx) {
            *a += b;
        }
        for (a, b) in self.sy.iter_mut().zip(&other.sy) {
            *a += b;
        }
        self.sxx += &other.sxx;
        self.sxy += &other.sxy;
    }

    /// `(F, G)`, both `k × k`.
    fn connected(&self) -> (DMatrix<f64>, DMatrix<f64>) {
        let k = self.sx.len();
        let n = self.count;
        let f = DMatrix::from_fn(k, k, |a, b| self.sxy[(a, b)] / n - self.sx[a] / n * self.sy[b] / n);
        let g = DMatrix::from_fn(k, k, |a, b| self.sxx[(a, b)] / n - self.sx[a] / n * self.sx[b] / n);
        (f, g)
    }

    /// The submatrices for the first `m` operators.
    fn truncated(&self, m: usize) -> Moments {
        Moments {
            count: self.count,
            sx: self.sx[..m].to_vec(),
            sy: self.sy[..m].to_vec(),
            sxx: self.sxx.view((0, 0), (m, m)).into_owned(),
            sxy: self.sxy.view((0, 0), (m, m)).into_owned(),
        }
    }
}

/// `T = G⁻¹ F` from the connected matrices, refusing a singular or badly conditioned `G`.
pub fn rg_matrix(f: &DMatrix<f64>, g: &DMatrix<f64>, level: usize) -> Result<DMatrix<f64>> {
    let k = g.nrows();
    // Scale G to unit diagonal before judging its condition.
    let d: Vec<f64> = (0..k).map(|a| g[(a, a)]).collect();
    if d.iter().any(|&x| x.is_nan() || x <= 0.0 || !x.is_finite()) {
        return Err(Error::SingularMatrix { what: "G", level });
    }
    let scaled = DMatrix::from_fn(k, k, |a, b| g[(a, b)] / (d[a] * d[b]).sqrt());
    let eig = scaled.clone().symmetric_eigen();
    let (min, max) =
        eig.eigenvalues.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    if min.is_nan() || min <= 1e-12 * max {
        return Err(Error::SingularMatrix { what: "G", level });
    }
    let lu = g.clone().lu();
    lu.solve(f).ok_or(Error::SingularMatrix { what: "G", level })
}

/// The entries of `m` row by row (nalgebra stores columns).
fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    m.transpose().iter().copied().collect()
}

/// The real part of the eigenvalue of largest modulus; an error for an empty matrix.
pub fn leading_eigenvalue(t: &DMatrix<f64>) -> Result<f64> {
    // nalgebra's Schur decomposition panics on an empty matrix: refuse it first.
    if t.is_empty() || !t.is_square() {
        return Err(Error::InvalidParameter { name: "matrix", reason: "must be square and non-empty" });
    }
    let ev = t.complex_eigenvalues();
    ev.iter()
        .max_by(|a, b| a.norm().total_cmp(&b.norm()))
        .map(|z| z.re)
        .ok_or(Error::InvalidParameter { name: "matrix", reason: "an empty matrix has no eigenvalue" })
}

/// Results for one sector (even or odd) at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorResult {
    /// Leading eigenvalue `λ = b^y` with all operators of the sector.
    pub eigenvalue: Estimate,
    /// `y = ln λ / ln b` (NaN where `λ ≤ 0`).
    pub exponent: Estimate,
    /// Leading eigenvalue using only the first `k` operators, `k = 1, 2, …` (convergence in
    /// the truncation); the last entry equals `eigenvalue`.
    pub by_operator_count: Vec<Estimate>,
    /// The full-data matrix `T` (row-major), for inspection.
    pub matrix: Vec<f64>,
}

/// MCRG results at one blocking level `n` (relating levels `n − 1` and `n`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McrgLevel {
    /// `n ≥ 1`.
    pub level: usize,
    /// Linear size of the lattice at level `n`.
    pub lattice_size: usize,
    /// Even sector: `λ_t = b^{y_t}`.
    pub thermal: SectorResult,
    /// Odd sector: `λ_h = b^{y_h}`.
    pub magnetic: SectorResult,
    /// `ν = 1/y_t`.
    pub nu: Estimate,
}

/// The full MCRG result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McrgResult {
    /// The kernel's name (`"majority"`, `"block_spin:8"`, …).
    #[serde(default)]
    pub kernel: String,
    /// Levels whose lattice is too small to mean much, and similar cautions.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What the error bars include ([`ERRORS_NOTE`]).
    #[serde(default)]
    pub errors_note: String,
    /// Block factor.
    pub factor: usize,
    /// Number of configurations used.
    pub samples: usize,
    /// Number of jackknife blocks.
    pub jackknife_blocks: usize,
    /// Even operator names.
    pub even_operators: Vec<String>,
    /// Odd operator names.
    pub odd_operators: Vec<String>,
    /// One entry per level `1..=levels`.
    pub levels: Vec<McrgLevel>,
}

/// Smallest coarse lattice whose MCRG eigenvalues are not flagged as meaningless.
pub const MIN_MEANINGFUL_SIZE: usize = 8;

/// What every MCRG result says about its error bars.
pub const ERRORS_NOTE: &str = "errors are statistical only (jackknife over blocks of configurations); \
the truncation of the operator set and the finite lattice are systematic errors not included, \
the truncation being largest at level 1";

/// Run MCRG on a data set of `L×L` configurations (in Markov-chain order for meaningful
/// jackknife blocks), blocking by majority rule.
pub fn mcrg(data: &Configurations, config: &McrgConfig) -> Result<McrgResult> {
    mcrg_with_kernel(data, &Majority::new(data.lattice(), config.factor)?, config)
}

/// Run MCRG with any coarse-graining kernel, iterated over the levels (`config.factor` must be
/// the kernel's factor and `data` must live on the kernel's fine lattice; `config.seed` seeds
/// the kernel's randomness).
pub fn mcrg_with_kernel<K: CoarseKernel>(
    data: &Configurations,
    kernel: &K,
    config: &McrgConfig,
) -> Result<McrgResult> {
    if config.factor != kernel.factor() {
        return Err(Error::InvalidParameter {
            name: "factor",
            reason: "the MCRG block factor must be the kernel's",
        });
    }
    if config.levels == 0 {
        return Err(Error::InvalidParameter {
            name: "levels",
            reason: "at least one blocking level is needed",
        });
    }
    if config.even.is_empty() || config.odd.is_empty() {
        return Err(Error::InvalidParameter {
            name: "operators",
            reason: "both sectors need at least one operator",
        });
    }
    if config.even.iter().any(|o| !o.is_even()) || config.odd.iter().any(|o| o.is_even()) {
        return Err(Error::InvalidParameter {
            name: "operators",
            reason: "an operator was put in the wrong sector",
        });
    }
    let mut ops = config.even.clone();
    ops.extend(config.odd.iter().copied());
    let table = OperatorTable::with_kernel(data, kernel, config.levels, &ops, config.seed)?;
    let blocks = config.jackknife_blocks;
    if blocks < 2 || blocks > table.samples() {
        return Err(Error::TooFewSamples {
            what: "MCRG jackknife (configurations per block)",
            len: table.samples(),
            min: blocks.max(2),
        });
    }
    let even_cols: Vec<usize> = (0..config.even.len()).collect();
    let odd_cols: Vec<usize> = (config.even.len()..ops.len()).collect();
    let ln_b = (config.factor as f64).ln();
    let mut levels = Vec::with_capacity(config.levels);
    for level in 1..=config.levels {
        let thermal = sector(&table, level, &even_cols, blocks, ln_b)?;
        let magnetic = sector(&table, level, &odd_cols, blocks, ln_b)?;
        let nu = jackknife_map(&thermal.1, &thermal.2, |l| ln_b / l.ln());
        levels.push(McrgLevel {
            level,
            lattice_size: table.sizes()[level],
            thermal: thermal.0,
            magnetic: magnetic.0,
            nu,
        });
    }
    let mut warnings = Vec::new();
    for lv in &levels {
        if lv.lattice_size < MIN_MEANINGFUL_SIZE {
            warnings.push(format!(
                "level {}: the {}x{} lattice is below {}x{}; its eigenvalues are dominated by finite-size effects",
                lv.level, lv.lattice_size, lv.lattice_size, MIN_MEANINGFUL_SIZE, MIN_MEANINGFUL_SIZE
            ));
        }
    }
    Ok(McrgResult {
        kernel: kernel.name(),
        warnings,
        errors_note: ERRORS_NOTE.to_string(),
        factor: config.factor,
        samples: table.samples(),
        jackknife_blocks: blocks,
        even_operators: config.even.iter().map(|o| o.name().to_string()).collect(),
        odd_operators: config.odd.iter().map(|o| o.name().to_string()).collect(),
        levels,
    })
}

/// Jackknife estimate of `g(λ)` from the full-data value and the leave-one-block-out values.
fn jackknife_map(full: &f64, replicas: &[f64], g: impl Fn(f64) -> f64) -> Estimate {
    let vals: Vec<f64> = replicas.iter().map(|&x| g(x)).collect();
    Estimate { mean: g(*full), stderr: jackknife_error(&vals) }
}

fn jackknife_error(replicas: &[f64]) -> f64 {
    let b = replicas.len() as f64;
    let mean = replicas.iter().sum::<f64>() / b;
    ((b - 1.0) / b * replicas.iter().map(|x| (x - mean).powi(2)).sum::<f64>()).sqrt()
}

/// One sector at one level: the result, the full-data leading eigenvalue and its replicas.
fn sector(
    table: &OperatorTable,
    level: usize,
    cols: &[usize],
    blocks: usize,
    ln_b: f64,
) -> Result<(SectorResult, f64, Vec<f64>)> {
    let n = table.samples();
    let shift = table.shifts(level, cols);
    let k = cols.len();
    let mut block_moments = Vec::with_capacity(blocks);
    for j in 0..blocks {
        let mut m = Moments::new(k);
        for i in j * n / blocks..(j + 1) * n / blocks {
            m.add(table, i, level, cols, &shift);
        }
        block_moments.push(m);
    }
    let mut total = Moments::new(k);
    for m in &block_moments {
        total.plus_assign(m);
    }
    let eig = |m: &Moments| -> Result<(f64, DMatrix<f64>)> {
        let (f, g) = m.connected();
        let t = rg_matrix(&f, &g, level)?;
        Ok((leading_eigenvalue(&t)?, t))
    };
    let mut by_operator_count = Vec::with_capacity(k);
    let mut full = None;
    for m in 1..=k {
        let tot = total.truncated(m);
        let (lambda, t) = eig(&tot)?;
        let mut replicas = Vec::with_capacity(blocks);
        for bm in &block_moments {
            replicas.push(eig(&tot.minus(&bm.truncated(m)))?.0);
        }
        by_operator_count.push(Estimate { mean: lambda, stderr: jackknife_error(&replicas) });
        if m == k {
            full = Some((lambda, replicas, row_major(&t)));
        }
    }
    let (full_lambda, full_replicas, full_matrix) = full.expect("k ≥ 1 operators");
    let eigenvalue = *by_operator_count.last().expect("k ≥ 1");
    let exponent = jackknife_map(&full_lambda, &full_replicas, |l| l.ln() / ln_b);
    Ok((
        SectorResult { eigenvalue, exponent, by_operator_count, matrix: full_matrix },
        full_lambda,
        full_replicas,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{coarse_grain_all, BlockRule};
    use lattice_physics::rng::chain_rng;
    use lattice_physics::Lattice;
    use rand::Rng;

    /// Operators written independently through `Lattice::neighbours`-style coordinates.
    fn naive(op: Operator, l: usize, s: &[i8]) -> f64 {
        let idx = |x: i64, y: i64| (y.rem_euclid(l as i64) as usize) * l + x.rem_euclid(l as i64) as usize;
        let sp = |x: i64, y: i64| s[idx(x, y)] as f64;
        let mut t = 0.0;
        for y in 0..l as i64 {
            for x in 0..l as i64 {
                t += match op {
                    Operator::NearestNeighbour => sp(x, y) * sp(x + 1, y) + sp(x, y) * sp(x, y + 1),
                    Operator::NextNearestNeighbour => {
                        sp(x, y) * sp(x + 1, y + 1) + sp(x, y) * sp(x + 1, y - 1)
                    }
                    Operator::ThirdNeighbour => sp(x, y) * sp(x + 2, y) + sp(x, y) * sp(x, y + 2),
                    Operator::Plaquette => sp(x, y) * sp(x + 1, y) * sp(x, y + 1) * sp(x + 1, y + 1),
                    Operator::Magnetization => sp(x, y),
                    Operator::ThreeSpin => {
                        let c = [sp(x, y), sp(x + 1, y), sp(x, y + 1), sp(x + 1, y + 1)];
                        (0..4).map(|skip| (0..4).filter(|&i| i != skip).map(|i| c[i]).product::<f64>()).sum()
                    }
                };
            }
        }
        t
    }

    #[test]
    fn operators_on_simple_states() {
        let l = 4;
        let up = vec![1i8; 16];
        let cb: Vec<i8> = (0..16).map(|i| if (i % 4 + i / 4) % 2 == 0 { 1 } else { -1 }).collect();
        assert_eq!(Operator::NearestNeighbour.evaluate(l, &up), 32.0);
        assert_eq!(Operator::NearestNeighbour.evaluate(l, &cb), -32.0);
        assert_eq!(Operator::NextNearestNeighbour.evaluate(l, &cb), 32.0);
        assert_eq!(Operator::ThirdNeighbour.evaluate(l, &cb), 32.0);
        assert_eq!(Operator::Plaquette.evaluate(l, &cb), 16.0);
        assert_eq!(Operator::Magnetization.evaluate(l, &cb), 0.0);
        assert_eq!(Operator::ThreeSpin.evaluate(l, &up), 64.0);
        let mut rng = chain_rng(3, 0);
        for l in [3usize, 4, 6] {
            let s: Vec<i8> = (0..l * l).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
            let flipped: Vec<i8> = s.iter().map(|&v| -v).collect();
            for op in [
                Operator::NearestNeighbour,
                Operator::NextNearestNeighbour,
                Operator::ThirdNeighbour,
                Operator::Plaquette,
                Operator::Magnetization,
                Operator::ThreeSpin,
            ] {
                assert_eq!(op.evaluate(l, &s), naive(op, l, &s), "{op:?} l={l}");
                let sign = if op.is_even() { 1.0 } else { -1.0 };
                assert_eq!(op.evaluate(l, &flipped), sign * op.evaluate(l, &s));
            }
        }
    }

    #[test]
    fn correlation_matrices_match_a_naive_computation() {
        let lat = Lattice::square(8).unwrap();
        let samples = 60;
        let mut rng = chain_rng(5, 0);
        // Biased random data so that means are nonzero.
        let data: Vec<i8> =
            (0..samples * 64).map(|_| if rng.random::<f64>() < 0.7 { 1 } else { -1 }).collect();
        let ops =
            [Operator::NearestNeighbour, Operator::Plaquette, Operator::Magnetization, Operator::ThreeSpin];
        let data = Configurations::new(lat, data).unwrap();
        let table = OperatorTable::new(&data, 2, 2, &ops, 77).unwrap();
        assert_eq!(table.sizes(), &[8, 4, 2]);
        let levels = coarse_grain_all(&data, BlockRule::Majority, 2, 2, 77).unwrap();
        for level in 1..=2usize {
            let cols = [0usize, 2, 3];
            let (f, g) = table.correlations(level, &cols, 0..samples).unwrap();
            let (up, lup) = (levels[level].as_slice(), levels[level].lattice().linear_size());
            let (lo, llo) = (levels[level - 1].as_slice(), levels[level - 1].lattice().linear_size());
            let val =
                |d: &[i8], l: usize, i: usize, c: usize| naive(ops[c], l, &d[i * l * l..(i + 1) * l * l]);
            let n = samples as f64;
            for (a, &ca) in cols.iter().enumerate() {
                for (b, &cb) in cols.iter().enumerate() {
                    let mut sxy = 0.0;
                    let mut sxx = 0.0;
                    let (mut mx, mut my, mut mx2) = (0.0, 0.0, 0.0);
                    for i in 0..samples {
                        let xa = val(up, lup, i, ca);
                        sxy += xa * val(lo, llo, i, cb);
                        sxx += xa * val(up, lup, i, cb);
                        mx += xa;
                        my += val(lo, llo, i, cb);
                        mx2 += val(up, lup, i, cb);
                    }
                    let fn_ = sxy / n - mx / n * my / n;
                    let gn = sxx / n - mx / n * mx2 / n;
                    assert!(
                        (f[a * 3 + b] - fn_).abs() < 1e-9 * (1.0 + fn_.abs()),
                        "F level {level} ({a},{b}) {} vs {fn_}",
                        f[a * 3 + b]
                    );
                    assert!((g[a * 3 + b] - gn).abs() < 1e-9 * (1.0 + gn.abs()), "G level {level} ({a},{b})");
                }
            }
        }
    }

    #[test]
    fn rg_matrix_and_eigenvalue_on_known_matrices() {
        // G = diag(2, 4), F = [[4, 2], [0, 12]] → T = [[2, 1], [0, 3]], eigenvalues 2 and 3.
        let g = DMatrix::from_row_slice(2, 2, &[2.0, 0.0, 0.0, 4.0]);
        let f = DMatrix::from_row_slice(2, 2, &[4.0, 2.0, 0.0, 12.0]);
        let t = rg_matrix(&f, &g, 1).unwrap();
        assert!((t[(0, 1)] - 1.0).abs() < 1e-14 && (t[(1, 1)] - 3.0).abs() < 1e-14);
        assert!((leading_eigenvalue(&t).unwrap() - 3.0).abs() < 1e-12);
        assert!(leading_eigenvalue(&DMatrix::<f64>::zeros(0, 0)).is_err());
        let singular = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        assert_eq!(rg_matrix(&f, &singular, 3), Err(Error::SingularMatrix { what: "G", level: 3 }));
    }

    #[test]
    fn inputs_are_validated() {
        let lat = Lattice::square(8).unwrap();
        let data = Configurations::new(lat, vec![1i8; 64 * 4]).unwrap();
        let mut cfg = McrgConfig::standard(2, 1, 0);
        cfg.jackknife_blocks = 10;
        assert!(matches!(mcrg(&data, &cfg), Err(Error::TooFewSamples { .. })));
        cfg.jackknife_blocks = 2;
        // All-up data: no fluctuations, G is zero.
        assert!(matches!(mcrg(&data, &cfg), Err(Error::SingularMatrix { .. })));
        cfg.levels = 3; // 8 → 4 → 2 → 1: refused
        assert!(matches!(mcrg(&data, &cfg), Err(Error::Lattice(_))));
        let mut bad = McrgConfig::standard(2, 1, 0);
        bad.odd.push(Operator::Plaquette);
        assert!(mcrg(&data, &bad).is_err());
        // A partial configuration cannot even become a data set.
        assert!(Configurations::new(lat, vec![1; 10]).is_err());
        let ring = Configurations::new(Lattice::ring(64).unwrap(), vec![1; 64 * 4]).unwrap();
        assert!(mcrg(&ring, &McrgConfig::standard(2, 1, 0)).is_err());
        // A kernel built for another lattice than the data's is refused.
        let other = Majority::new(Lattice::square(16).unwrap(), 2).unwrap();
        assert!(matches!(
            mcrg_with_kernel(&data, &other, &McrgConfig::standard(2, 1, 0)),
            Err(Error::LatticeMismatch { .. })
        ));
    }
}
