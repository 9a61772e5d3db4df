//! Renormalised couplings of configurations on a square torus, by maximum pseudo-likelihood
//! (docs/science.md §7).
//!
//! # Units and sign convention
//!
//! Spins are `±1`; couplings are dimensionless (temperature absorbed, `K = βJ`) and enter as
//! `−H(s) = Σ_α K_α S_α(s)`, so a ferromagnetic nearest-neighbour model at coupling `K` has
//! `K_nearest_neighbour = K` and every other coupling zero. Each operator `S_α` is a sum over
//! every site `x` of the `L×L` torus (row-major, site `(x, y)` at `y·L + x`) of products of spins
//! at fixed offsets from `x` ([`CouplingOperator::shapes`]); as for the lattice's bonds, a product
//! is counted once per site `x` and per shape, *with multiplicity* on small tori where two offsets
//! coincide (on a 2×2 torus every nearest-neighbour pair appears twice). All operators are even
//! under a global spin flip.
//!
//! # The estimator
//!
//! For a model `−H = Σ_α K_α S_α`, the conditional law of one spin given the others is
//! `p(s_i | rest) = σ(2 s_i Σ_α K_α ∂S_α/∂s_i)` with `σ(z) = 1/(1 + e^{−z})` (every `S_α` is linear
//! in each spin, which [`PseudoLikelihood::new`] checks for the lattice at hand). The fit maximises
//! the mean over samples and sites of `ln p(s_i | rest)`, a concave function of `K`, by Newton's
//! method from `K = 0` with the analytic gradient and Hessian (a dense `n×n` Cholesky solve,
//! `n` the number of operators) and a backtracking line search. The estimator is consistent:
//! when the data come from a model inside the span of the operators, it converges to that
//! model's couplings as the number of samples grows, and on the exact distribution (weighted
//! states, [`PseudoLikelihood::fit_weighted`]) it returns them exactly.
//!
//! Because the local fields take few integer values, the data are reduced once to a histogram
//! of distinct local-field vectors (per jackknife block); Newton's iterations then cost nothing
//! in the number of samples.
//!
//! # Errors
//!
//! Error bars are **jackknife** errors over `jackknife_blocks` contiguous blocks of samples
//! (each leave-one-block-out fit starts from the full fit); the reported value is the fit to all
//! samples. Configurations must be in the order the Markov chains produced them, with blocks
//! much longer than the autocorrelation time. The exact fit ([`PseudoLikelihood::fit_weighted`])
//! has no sampling error and reports errors of zero.
//!
//! Data that a coupling separates perfectly have no finite maximum: the iterations then hit the
//! cap and the fit says `converged: false`; data whose local fields span fewer directions than
//! there are operators (for instance only fully aligned configurations, or an operator set that
//! is linearly dependent on a tiny torus) give [`Error::SingularMatrix`]. Neither panics.

use std::collections::HashMap;

use lattice_physics::stats::Estimate;
use lattice_physics::{Configurations, Lattice};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::block::check_lattice;
use crate::error::{finite, Error, Result};

/// An even, translation-invariant operator `S_α = Σ_x Σ_shapes Π_{o ∈ shape} s_{x+o}` on the square
/// torus (offsets `(dx, dy)`, `dy` towards increasing row index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouplingOperator {
    /// `Σ_x s_x (s_{x+(1,0)} + s_{x+(0,1)})`: the bond sum `B` (squared distance 1).
    NearestNeighbour,
    /// `Σ_x s_x (s_{x+(1,1)} + s_{x+(1,−1)})`: diagonal pairs (squared distance 2).
    NextNearestNeighbour,
    /// `Σ_x s_x (s_{x+(2,0)} + s_{x+(0,2)})`: pairs two apart along an axis (squared distance 4).
    ThirdNeighbour,
    /// `Σ_x s_x (s_{x+(2,1)} + s_{x+(1,2)} + s_{x+(2,−1)} + s_{x+(1,−2)})`: knight's-move pairs
    /// (squared distance 5).
    KnightNeighbour,
    /// `Σ_x s_x (s_{x+(2,2)} + s_{x+(2,−2)})`: pairs two apart along a diagonal (squared distance 8).
    DiagonalTwo,
    /// `Σ_x s_{x} s_{x+(1,0)} s_{x+(0,1)} s_{x+(1,1)}`: the four spins of every plaquette.
    Plaquette,
}

impl CouplingOperator {
    /// Every operator, in a fixed order.
    pub const ALL: [CouplingOperator; 6] = [
        CouplingOperator::NearestNeighbour,
        CouplingOperator::NextNearestNeighbour,
        CouplingOperator::ThirdNeighbour,
        CouplingOperator::KnightNeighbour,
        CouplingOperator::DiagonalTwo,
        CouplingOperator::Plaquette,
    ];

    /// Stable snake-case name (the serde name).
    pub fn name(&self) -> &'static str {
        match self {
            CouplingOperator::NearestNeighbour => "nearest_neighbour",
            CouplingOperator::NextNearestNeighbour => "next_nearest_neighbour",
            CouplingOperator::ThirdNeighbour => "third_neighbour",
            CouplingOperator::KnightNeighbour => "knight_neighbour",
            CouplingOperator::DiagonalTwo => "diagonal_two",
            CouplingOperator::Plaquette => "plaquette",
        }
    }

    /// The shapes whose products are summed over every site: offsets `(dx, dy)` from the site.
    pub fn shapes(&self) -> &'static [&'static [(isize, isize)]] {
        match self {
            CouplingOperator::NearestNeighbour => &[&[(0, 0), (1, 0)], &[(0, 0), (0, 1)]],
            CouplingOperator::NextNearestNeighbour => &[&[(0, 0), (1, 1)], &[(0, 0), (1, -1)]],
            CouplingOperator::ThirdNeighbour => &[&[(0, 0), (2, 0)], &[(0, 0), (0, 2)]],
            CouplingOperator::KnightNeighbour => {
                &[&[(0, 0), (2, 1)], &[(0, 0), (1, 2)], &[(0, 0), (2, -1)], &[(0, 0), (1, -2)]]
            }
            CouplingOperator::DiagonalTwo => &[&[(0, 0), (2, 2)], &[(0, 0), (2, -2)]],
            CouplingOperator::Plaquette => &[&[(0, 0), (1, 0), (0, 1), (1, 1)]],
        }
    }

    /// The value `S_α(s)` on one `l × l` configuration (row-major `±1`).
    ///
    /// Errors: `lattice` not a square torus, or `spins` of the wrong length.
    pub fn evaluate(&self, lattice: Lattice, spins: &[i8]) -> Result<f64> {
        let l = square_size(lattice)?;
        if spins.len() != l * l {
            return Err(Error::SizeMismatch { what: "configuration", got: spins.len(), expected: l * l });
        }
        let mut total = 0i64;
        for y in 0..l {
            for x in 0..l {
                for shape in self.shapes() {
                    total += shape.iter().map(|&o| spins[shifted(l, x + y * l, o)] as i64).product::<i64>();
                }
            }
        }
        Ok(total as f64)
    }
}

/// The site at offset `(dx, dy)` from `site` on the `l × l` torus.
fn shifted(l: usize, site: usize, (dx, dy): (isize, isize)) -> usize {
    let li = l as isize;
    let (x, y) = ((site % l) as isize, (site / l) as isize);
    let (xs, ys) = ((x + dx).rem_euclid(li), (y + dy).rem_euclid(li));
    (ys * li + xs) as usize
}

fn square_size(lattice: Lattice) -> Result<usize> {
    if lattice.dimension() != 2 {
        return Err(Error::InvalidParameter {
            name: "lattice",
            reason: "renormalised couplings and the thermometer need a square torus",
        });
    }
    Ok(lattice.linear_size())
}

/// What to fit. No `Default`: the operator set is a choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouplingConfig {
    /// The operators, distinct (at most [`CouplingOperator::ALL`]`.len()`), in the order the
    /// result reports them.
    pub operators: Vec<CouplingOperator>,
    /// Newton's iterations stop when no coupling moves by more than this (positive; `1e-10` is
    /// ample for any statistical use).
    pub tolerance: f64,
    /// Largest number of Newton iterations (at least 1; 50 is far more than a well-posed fit needs).
    pub max_iterations: usize,
    /// Number of contiguous blocks for the jackknife (at least 2, at most the number of samples).
    pub jackknife_blocks: usize,
}

/// A validated pseudo-likelihood fit: the lattice, the operators and the precomputed local-field
/// tables. Build it with [`PseudoLikelihood::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct PseudoLikelihood {
    lattice: Lattice,
    config: CouplingConfig,
    /// For operator `α`: its local field at site `i` is the sum over terms `t` of the product of
    /// the spins at `sites[α][(i * terms[α] + t) * width[α] ..][.. width[α]]`.
    terms: Vec<usize>,
    width: Vec<usize>,
    sites: Vec<Vec<usize>>,
}

/// The renormalised couplings fitted to a data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouplingFit {
    /// The operators, in the order of the configuration.
    pub operators: Vec<CouplingOperator>,
    /// The couplings `K_α` (`−H = Σ_α K_α S_α`).
    pub values: Vec<f64>,
    /// Their jackknife errors (zero for a fit to an exact, weighted distribution).
    pub errors: Vec<f64>,
    /// Newton iterations of the fit to all samples.
    pub iterations: usize,
    /// Whether that fit and every leave-one-block-out fit met the tolerance.
    pub converged: bool,
    /// Number of configurations fitted.
    pub samples: usize,
    /// Jackknife blocks used (0 for an exact fit).
    pub jackknife_blocks: usize,
    /// The maximised mean of `ln p(s_i | rest)` per spin.
    pub log_pseudo_likelihood_per_spin: f64,
}

impl CouplingFit {
    /// The coupling of `operator` with its error, if it was fitted.
    pub fn get(&self, operator: CouplingOperator) -> Option<Estimate> {
        let k = self.operators.iter().position(|&o| o == operator)?;
        Some(Estimate::new(self.values[k], self.errors[k]))
    }
}

/// A histogram of local-field vectors: keys are the packed `x_α = 2 s_i ∂S_α/∂s_i`, one byte each.
type Histogram = Vec<(u64, f64)>;

impl PseudoLikelihood {
    /// Validate `config` for configurations on `lattice` (a square torus). Every operator must be
    /// linear in each spin on this torus, i.e. no shape may wrap onto itself (for instance the
    /// third neighbour needs `L ≥ 3`).
    pub fn new(lattice: Lattice, config: &CouplingConfig) -> Result<Self> {
        let l = square_size(lattice)?;
        if config.operators.is_empty() {
            return Err(Error::InvalidParameter { name: "operators", reason: "need at least one operator" });
        }
        for (k, op) in config.operators.iter().enumerate() {
            if config.operators[..k].contains(op) {
                return Err(Error::InvalidParameter {
                    name: "operators",
                    reason: "operators must be distinct",
                });
            }
            for shape in op.shapes() {
                let mut seen: Vec<usize> = shape.iter().map(|&o| shifted(l, 0, o)).collect();
                seen.sort_unstable();
                if seen.windows(2).any(|w| w[0] == w[1]) {
                    return Err(Error::InvalidParameter {
                        name: "operators",
                        reason: "an operator wraps onto itself on this torus (a spin would appear twice in one product); use a larger lattice or drop it",
                    });
                }
            }
        }
        if finite("tolerance", config.tolerance)? <= 0.0 {
            return Err(Error::OutOfRange {
                name: "tolerance",
                value: config.tolerance,
                reason: "must be positive",
            });
        }
        if config.max_iterations == 0 {
            return Err(Error::InvalidParameter { name: "max_iterations", reason: "must be at least 1" });
        }
        if config.jackknife_blocks < 2 {
            return Err(Error::TooFewSamples {
                what: "jackknife blocks",
                len: config.jackknife_blocks,
                min: 2,
            });
        }
        let n = lattice.num_sites();
        let (mut terms, mut width, mut sites) = (Vec::new(), Vec::new(), Vec::new());
        for op in &config.operators {
            // ∂/∂s_i of Σ_x Π_{o∈shape} s_{x+o}: for each o, the site x = i − o contributes the
            // product of the other spins, at offsets o' − o from i.
            let shapes = op.shapes();
            let w = shapes[0].len() - 1;
            let t: usize = shapes.iter().map(|s| s.len()).sum();
            let mut table = Vec::with_capacity(n * t * w);
            for i in 0..n {
                for shape in shapes {
                    for &(ox, oy) in shape.iter() {
                        for &(px, py) in shape.iter().filter(|&&p| p != (ox, oy)) {
                            table.push(shifted(l, i, (px - ox, py - oy)));
                        }
                    }
                }
            }
            terms.push(t);
            width.push(w);
            sites.push(table);
        }
        Ok(PseudoLikelihood { lattice, config: config.clone(), terms, width, sites })
    }

    /// The lattice.
    pub fn lattice(&self) -> Lattice {
        self.lattice
    }

    /// The configuration.
    pub fn config(&self) -> &CouplingConfig {
        &self.config
    }

    /// Fit the couplings to a data set on the fitter's lattice (in Markov-chain order), with
    /// jackknife errors over contiguous blocks.
    pub fn fit(&self, data: &Configurations) -> Result<CouplingFit> {
        check_lattice(data, self.lattice)?;
        let (n, samples) = (self.lattice.num_sites(), data.samples());
        let data = data.as_slice();
        let nb = self.config.jackknife_blocks;
        if samples < nb {
            return Err(Error::TooFewSamples { what: "pseudo-likelihood jackknife", len: samples, min: nb });
        }
        let blocks: Vec<Histogram> = (0..nb)
            .into_par_iter()
            .map(|k| {
                let (start, end) = (k * samples / nb, (k + 1) * samples / nb);
                self.histogram(&data[start * n..end * n], None)
            })
            .collect();
        // One sorted list of keys; every block as (key index, weight).
        let mut keys: Vec<u64> = blocks.iter().flatten().map(|&(key, _)| key).collect();
        keys.sort_unstable();
        keys.dedup();
        let index: HashMap<u64, usize> = keys.iter().enumerate().map(|(i, &k)| (k, i)).collect();
        let mut total = vec![0.0; keys.len()];
        let indexed: Vec<Vec<(usize, f64)>> =
            blocks.iter().map(|b| b.iter().map(|&(key, w)| (index[&key], w)).collect()).collect();
        for block in &indexed {
            for &(i, w) in block {
                total[i] += w;
            }
        }
        let vectors = self.unpack(&keys);
        let p = self.config.operators.len();
        let start = vec![0.0; p];
        let full = self.newton(&vectors, &total, &start)?;
        let mut converged = full.converged;
        let mut leave_out = Vec::with_capacity(nb);
        let mut weights = vec![0.0; keys.len()];
        for block in &indexed {
            weights.copy_from_slice(&total);
            for &(i, w) in block {
                weights[i] -= w;
            }
            let fit = self.newton(&vectors, &weights, &full.values)?;
            converged &= fit.converged;
            leave_out.push(fit.values);
        }
        let nbf = nb as f64;
        let errors = (0..p)
            .map(|a| {
                let avg = leave_out.iter().map(|v| v[a]).sum::<f64>() / nbf;
                ((nbf - 1.0) / nbf * leave_out.iter().map(|v| (v[a] - avg).powi(2)).sum::<f64>()).sqrt()
            })
            .collect();
        Ok(CouplingFit {
            operators: self.config.operators.clone(),
            values: full.values,
            errors,
            iterations: full.iterations,
            converged,
            samples,
            jackknife_blocks: nb,
            log_pseudo_likelihood_per_spin: full.objective,
        })
    }

    /// Fit the couplings to an exact distribution: configuration `k` of `data` (on the fitter's
    /// lattice) carries probability weight `weights[k]` (non-negative, finite, not all zero; they
    /// need not be normalised). No sampling error: the errors are zero and `jackknife_blocks` is
    /// unused.
    pub fn fit_weighted(&self, data: &Configurations, weights: &[f64]) -> Result<CouplingFit> {
        check_lattice(data, self.lattice)?;
        let samples = data.samples();
        if weights.len() != samples {
            return Err(Error::SizeMismatch { what: "weights", got: weights.len(), expected: samples });
        }
        for &w in weights {
            if finite("weight", w)? < 0.0 {
                return Err(Error::OutOfRange { name: "weight", value: w, reason: "must be non-negative" });
            }
        }
        if !weights.iter().any(|&w| w > 0.0) {
            return Err(Error::InvalidParameter {
                name: "weights",
                reason: "at least one weight must be positive",
            });
        }
        let hist = self.histogram(data.as_slice(), Some(weights));
        let keys: Vec<u64> = hist.iter().map(|&(k, _)| k).collect();
        let w: Vec<f64> = hist.iter().map(|&(_, w)| w).collect();
        let vectors = self.unpack(&keys);
        let p = self.config.operators.len();
        let fit = self.newton(&vectors, &w, &vec![0.0; p])?;
        Ok(CouplingFit {
            operators: self.config.operators.clone(),
            values: fit.values,
            errors: vec![0.0; p],
            iterations: fit.iterations,
            converged: fit.converged,
            samples,
            jackknife_blocks: 0,
            log_pseudo_likelihood_per_spin: fit.objective,
        })
    }

    /// The histogram of packed local-field vectors of `data` (whole configurations), sorted by key.
    fn histogram(&self, data: &[i8], weights: Option<&[f64]>) -> Histogram {
        let n = self.lattice.num_sites();
        let mut counts: HashMap<u64, f64> = HashMap::new();
        for (k, s) in data.chunks_exact(n).enumerate() {
            let w = weights.map_or(1.0, |w| w[k]);
            if w == 0.0 {
                continue;
            }
            for i in 0..n {
                let mut key = 0u64;
                for a in 0..self.terms.len() {
                    let (t, width) = (self.terms[a], self.width[a]);
                    let table = &self.sites[a][i * t * width..(i + 1) * t * width];
                    let field: i32 = table
                        .chunks_exact(width)
                        .map(|c| c.iter().map(|&j| s[j] as i32).product::<i32>())
                        .sum();
                    let x = (2 * s[i] as i32 * field) as i8;
                    key |= (x as u8 as u64) << (8 * a);
                }
                *counts.entry(key).or_insert(0.0) += w;
            }
        }
        let mut hist: Histogram = counts.into_iter().collect();
        hist.sort_unstable_by_key(|&(k, _)| k);
        hist
    }

    /// The local-field vectors `x` of packed keys, flat (`keys × operators`).
    fn unpack(&self, keys: &[u64]) -> Vec<f64> {
        let p = self.terms.len();
        let mut out = Vec::with_capacity(keys.len() * p);
        for &key in keys {
            for a in 0..p {
                out.push((key >> (8 * a)) as u8 as i8 as f64);
            }
        }
        out
    }

    /// Maximise `ℓ(K) = Σ_k w_k ln σ(K·x_k) / Σ_k w_k` by Newton's method from `start`.
    fn newton(&self, vectors: &[f64], weights: &[f64], start: &[f64]) -> Result<NewtonResult> {
        let p = start.len();
        let total: f64 = weights.iter().sum();
        let objective = |k: &[f64]| -> f64 {
            vectors
                .chunks_exact(p)
                .zip(weights)
                .map(|(x, &w)| if w == 0.0 { 0.0 } else { w * log_sigmoid(dot(k, x)) })
                .sum::<f64>()
                / total
        };
        let mut k = start.to_vec();
        let mut value = objective(&k);
        let mut trial = vec![0.0; p];
        for iteration in 1..=self.config.max_iterations {
            let mut grad = DVector::<f64>::zeros(p);
            let mut neg_hess = DMatrix::<f64>::zeros(p, p);
            for (x, &w) in vectors.chunks_exact(p).zip(weights) {
                if w == 0.0 {
                    continue;
                }
                let z = dot(&k, x);
                let s = sigmoid(z);
                let (g, h) = (w * (1.0 - s), w * s * (1.0 - s));
                for a in 0..p {
                    grad[a] += g * x[a];
                    for b in 0..=a {
                        neg_hess[(a, b)] += h * x[a] * x[b];
                    }
                }
            }
            for a in 0..p {
                for b in 0..a {
                    neg_hess[(b, a)] = neg_hess[(a, b)];
                }
            }
            grad /= total;
            neg_hess /= total;
            let step =
                neg_hess.cholesky().map(|c| c.solve(&grad)).filter(|s| s.iter().all(|v| v.is_finite()));
            let Some(step) = step else {
                // Singular at K = 0: the local fields span too few directions. Singular after
                // moving away: the curvature vanished on the way to an infinite maximum.
                if iteration == 1 && start.iter().all(|&v| v == 0.0) {
                    return Err(Error::SingularMatrix { what: "pseudo-likelihood Hessian", level: 0 });
                }
                return Ok(NewtonResult {
                    values: k,
                    iterations: iteration,
                    converged: false,
                    objective: value,
                });
            };
            // Backtracking: the full Newton step, halved until the objective does not decrease
            // (beyond the rounding of its sum, so that steps near the maximum are not refused).
            let slack = 1e-14 * value.abs().max(1.0);
            let mut scale = 1.0;
            let mut accepted = false;
            for _ in 0..40 {
                for a in 0..p {
                    trial[a] = k[a] + scale * step[a];
                }
                let v = objective(&trial);
                if v >= value - slack {
                    value = v;
                    k.copy_from_slice(&trial);
                    accepted = true;
                    break;
                }
                scale *= 0.5;
            }
            // The Newton step estimates the distance to the maximum: below the tolerance we are
            // there (a rejected step that small is rounding noise in the objective).
            if step.amax() < self.config.tolerance {
                return Ok(NewtonResult {
                    values: k,
                    iterations: iteration,
                    converged: true,
                    objective: value,
                });
            }
            if !accepted {
                return Ok(NewtonResult {
                    values: k,
                    iterations: iteration,
                    converged: false,
                    objective: value,
                });
            }
        }
        Ok(NewtonResult {
            values: k,
            iterations: self.config.max_iterations,
            converged: false,
            objective: value,
        })
    }
}

struct NewtonResult {
    values: Vec<f64>,
    iterations: usize,
    converged: bool,
    objective: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln σ(z)`, stable for large `|z|`.
fn log_sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        -(-z).exp().ln_1p()
    } else {
        z - z.exp().ln_1p()
    }
}

/// Fit `config`'s couplings to `data` on its lattice ([`PseudoLikelihood::new`] then
/// [`PseudoLikelihood::fit`]).
///
/// ```
/// use lattice_physics::{Configurations, Lattice};
/// use rg_transforms::couplings::{fit_couplings, CouplingConfig, CouplingOperator};
/// // Independent spins: every coupling vanishes within its error.
/// let lattice = Lattice::square(8)?;
/// let mut state = 12345u64;
/// let spins: Vec<i8> = (0..200 * 64)
///     .map(|_| {
///         state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
///         if state >> 63 == 1 { 1 } else { -1 }
///     })
///     .collect();
/// let data = Configurations::new(lattice, spins)?;
/// let config = CouplingConfig {
///     operators: vec![CouplingOperator::NearestNeighbour, CouplingOperator::Plaquette],
///     tolerance: 1e-10,
///     max_iterations: 50,
///     jackknife_blocks: 10,
/// };
/// let fit = fit_couplings(&data, &config)?;
/// assert!(fit.converged);
/// for (k, e) in fit.values.iter().zip(&fit.errors) {
///     assert!(k.abs() < 5.0 * e && *e < 0.02);
/// }
/// # Ok::<(), rg_transforms::Error>(())
/// ```
pub fn fit_couplings(data: &Configurations, config: &CouplingConfig) -> Result<CouplingFit> {
    PseudoLikelihood::new(data.lattice(), config)?.fit(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ops: &[CouplingOperator]) -> CouplingConfig {
        CouplingConfig { operators: ops.to_vec(), tolerance: 1e-12, max_iterations: 100, jackknife_blocks: 4 }
    }

    #[test]
    fn validation() {
        let sq = |l| Lattice::square(l).unwrap();
        assert!(PseudoLikelihood::new(
            Lattice::ring(8).unwrap(),
            &config(&[CouplingOperator::NearestNeighbour])
        )
        .is_err());
        assert!(PseudoLikelihood::new(sq(4), &config(&[])).is_err());
        let twice = [CouplingOperator::Plaquette, CouplingOperator::Plaquette];
        assert!(PseudoLikelihood::new(sq(4), &config(&twice)).is_err());
        // (2, 0) wraps onto the site itself on a 2×2 torus; (2, 2) too.
        assert!(PseudoLikelihood::new(sq(2), &config(&[CouplingOperator::ThirdNeighbour])).is_err());
        assert!(PseudoLikelihood::new(sq(2), &config(&[CouplingOperator::DiagonalTwo])).is_err());
        assert!(PseudoLikelihood::new(sq(3), &config(&CouplingOperator::ALL)).is_ok());
        let mut c = config(&[CouplingOperator::NearestNeighbour]);
        c.tolerance = 0.0;
        assert!(PseudoLikelihood::new(sq(4), &c).is_err());
        c.tolerance = f64::NAN;
        assert!(PseudoLikelihood::new(sq(4), &c).is_err());
        let fitter = PseudoLikelihood::new(sq(4), &config(&[CouplingOperator::NearestNeighbour])).unwrap();
        let confs = |v: Vec<i8>| Configurations::new(sq(4), v);
        // Partial configurations and non-spins cannot become a data set at all.
        assert!(matches!(confs(vec![1; 17]), Err(lattice_physics::Error::ConfigurationLength { .. })));
        assert!(matches!(confs(vec![0; 16 * 4]), Err(lattice_physics::Error::NotASpin { .. })));
        assert!(matches!(fitter.fit(&confs(vec![1; 16 * 3]).unwrap()), Err(Error::TooFewSamples { .. })));
        let on_ring = Configurations::new(Lattice::ring(16).unwrap(), vec![1; 16 * 4]).unwrap();
        assert!(matches!(fitter.fit(&on_ring), Err(Error::LatticeMismatch { .. })));
        assert!(matches!(fitter.fit_weighted(&on_ring, &[1.0; 4]), Err(Error::LatticeMismatch { .. })));
        let two = confs(vec![1; 32]).unwrap();
        assert!(fitter.fit_weighted(&two, &[1.0]).is_err());
        assert!(fitter.fit_weighted(&two, &[1.0, -1.0]).is_err());
        assert!(fitter.fit_weighted(&two, &[0.0, 0.0]).is_err());
    }

    #[test]
    fn degenerate_data_are_reported_not_panicked_on() {
        let lattice = Lattice::square(4).unwrap();
        let all = PseudoLikelihood::new(lattice, &config(&CouplingOperator::ALL)).unwrap();
        // Only fully aligned configurations: every local-field vector is the same.
        let up: Vec<i8> = [1i8, -1].iter().flat_map(|&v| std::iter::repeat_n(v, 16 * 4)).collect();
        let up = Configurations::new(lattice, up).unwrap();
        assert!(matches!(all.fit(&up), Err(Error::SingularMatrix { .. })));
        // One operator and aligned data: the likelihood grows without bound as K → ∞.
        let nn = PseudoLikelihood::new(lattice, &config(&[CouplingOperator::NearestNeighbour])).unwrap();
        let fit = nn.fit(&up).unwrap();
        assert!(!fit.converged && fit.values[0] > 1.0, "{fit:?}");
    }

    #[test]
    fn local_fields_are_the_flip_differences() {
        // ΔS_α on flipping s_i equals −2 s_i ∂S_α/∂s_i, for every operator, on tori small enough
        // to alias offsets (L = 3, 4) and on a larger one.
        for l in [3usize, 4, 6] {
            let lattice = Lattice::square(l).unwrap();
            let fitter = PseudoLikelihood::new(lattice, &config(&CouplingOperator::ALL)).unwrap();
            let mut state = 99u64 + l as u64;
            let mut s: Vec<i8> = (0..l * l)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    if state >> 62 & 1 == 1 {
                        1
                    } else {
                        -1
                    }
                })
                .collect();
            let hist = fitter.histogram(&s, None);
            assert_eq!(hist.iter().map(|h| h.1).sum::<f64>(), (l * l) as f64);
            for i in 0..l * l {
                for (a, op) in CouplingOperator::ALL.iter().enumerate() {
                    let before = op.evaluate(lattice, &s).unwrap();
                    s[i] = -s[i];
                    let after = op.evaluate(lattice, &s).unwrap();
                    s[i] = -s[i];
                    let (t, w) = (fitter.terms[a], fitter.width[a]);
                    let table = &fitter.sites[a][i * t * w..(i + 1) * t * w];
                    let field: i32 =
                        table.chunks_exact(w).map(|c| c.iter().map(|&j| s[j] as i32).product::<i32>()).sum();
                    assert_eq!(before - after, 2.0 * s[i] as f64 * field as f64, "{op:?} L={l} site {i}");
                }
            }
        }
    }
}
