//! Exact log partition function and log-likelihood by enumeration of the smaller layer.
//!
//! `ln Z = ln Σ_h e^{-hidden_free_energy(h)} = ln Σ_v e^{-free_energy(v)}`: one layer is summed
//! out in closed form, the other is enumerated (at most [`MAX_EXACT_UNITS`] units, that is
//! `2^24 ≈ 1.7·10⁷` states). Everything is computed in `f64` whatever the model's float type.
//! The states are cut into fixed chunks handled in parallel with rayon; each chunk returns its
//! own log-sum-exp and the chunks are combined in index order, so the result is bit-identical
//! whatever the number of threads.

use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use crate::rbm::states_block;
use crate::{Error, Float, Layer, Rbm, Result};

/// The largest layer [`Rbm::exact_log_partition`] enumerates.
pub const MAX_EXACT_UNITS: usize = 24;

/// The most terms (enumerated states × units of the other layer, [`Rbm::exact_terms`]) for
/// which [`Rbm::estimate_log_likelihood`] enumerates rather than running AIS. Each term is an
/// `exp` and an `ln_1p` in `f64`, about 10–18 ns on one core (2026-12-03, Xeon model 167), so
/// 2^25 terms cost about 0.3 s on two cores: 1600 visible units are enumerated exactly up to
/// 14 hidden ones, 400 up to 16, a ring of 20 spins with 20 hidden units in full. At
/// 1600 → 20 (2^20 × 1600 terms) enumeration took 16 s after 0.55 s of training.
pub const MAX_EXACT_TERMS: u64 = 1 << 25;

/// Rows per block of [`Rbm::log_likelihood_with`] (converted to `f64` one block at a time).
pub const LIKELIHOOD_BLOCK_ROWS: usize = 1024;

/// Enumerated states per parallel chunk: 2^12, fewer when the other layer is large, so that a
/// chunk's fields (states × units of the other layer, in `f64`) stay within about 2 MB, a
/// core's level-2 cache, and a layer of 12 units still gives the two cores several chunks.
const CHUNK_BITS: usize = 12;
/// Field elements per chunk aimed at (2^18 `f64` = 2 MB).
const CHUNK_FIELD_BITS: u32 = 18;
/// Fewest enumerated states per chunk.
const MIN_CHUNK_BITS: usize = 4;

/// `log2` of the states per chunk when enumerating `n` units against `other` units: a function
/// of the shape only, so the chunks, and the order their sums are combined in, do not depend
/// on the number of threads.
fn chunk_bits(n: usize, other: usize) -> usize {
    let other_bits = usize::BITS - other.max(1).saturating_sub(1).leading_zeros(); // ceil(log2)
    let bits = (CHUNK_FIELD_BITS.saturating_sub(other_bits) as usize).clamp(MIN_CHUNK_BITS, CHUNK_BITS);
    bits.min(n)
}

/// Streaming log-sum-exp accumulator: `ln Σ e^{x}` as `max + ln Σ e^{x - max}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogSumExp {
    max: f64,
    sum: f64,
}

impl LogSumExp {
    pub(crate) fn new() -> Self {
        LogSumExp { max: f64::NEG_INFINITY, sum: 0.0 }
    }

    pub(crate) fn add(&mut self, x: f64) {
        if x > self.max {
            self.sum = self.sum * (self.max - x).exp() + 1.0;
            self.max = x;
        } else {
            self.sum += (x - self.max).exp();
        }
    }

    pub(crate) fn merge(&mut self, other: LogSumExp) {
        if other.max == f64::NEG_INFINITY {
            return;
        }
        if other.max > self.max {
            self.sum = self.sum * (self.max - other.max).exp() + other.sum;
            self.max = other.max;
        } else {
            self.sum += other.sum * (other.max - self.max).exp();
        }
    }

    pub(crate) fn value(self) -> f64 {
        self.max + self.sum.ln()
    }
}

impl<F: Float> Rbm<F> {
    /// The cost of [`Rbm::exact_log_partition`] in terms (`exp` and `ln_1p` pairs): the
    /// states of the smaller layer times the units of the other, or `None` when the smaller
    /// layer has more than [`MAX_EXACT_UNITS`] units.
    pub fn exact_terms(&self) -> Option<u64> {
        let (small, large) = (self.n_visible().min(self.n_hidden()), self.n_visible().max(self.n_hidden()));
        (small <= MAX_EXACT_UNITS).then(|| (1u64 << small).saturating_mul(large as u64))
    }

    /// Exact `ln Z`, enumerating the smaller layer (ties: the hidden layer).
    /// Fails when the smaller layer has more than [`MAX_EXACT_UNITS`] units.
    pub fn exact_log_partition(&self) -> Result<f64> {
        let layer = if self.n_hidden() <= self.n_visible() { Layer::Hidden } else { Layer::Visible };
        self.exact_log_partition_over(layer)
    }

    /// Exact `ln Z` enumerating the given layer (the other one is summed in closed form).
    pub fn exact_log_partition_over(&self, layer: Layer) -> Result<f64> {
        let model = self.to_f64();
        let model = match layer {
            Layer::Hidden => model.transposed(),
            Layer::Visible => model,
        };
        // Now enumerate the visible layer of `model` and use its free energy.
        let n = model.n_visible();
        if n > MAX_EXACT_UNITS {
            return Err(Error::TooManyUnitsForExact { units: n, max: MAX_EXACT_UNITS });
        }
        let chunk = 1usize << chunk_bits(n, model.n_hidden());
        let n_chunks = (1usize << n) / chunk;
        let parts: Vec<LogSumExp> = (0..n_chunks)
            .into_par_iter()
            .map(|c| {
                let states: Array2<f64> = states_block(c * chunk, chunk, n, model.visible_units);
                let mut field = Array2::zeros((chunk, model.n_hidden()));
                let mut f = Array1::zeros(chunk);
                model.free_energies_into_unchecked(states.view(), field.view_mut(), f.view_mut());
                let mut acc = LogSumExp::new();
                for &x in &f {
                    acc.add(-x);
                }
                acc
            })
            .collect();
        let mut total = LogSumExp::new();
        for p in parts {
            total.merge(p);
        }
        Ok(total.value())
    }

    /// Mean log-likelihood per sample, `(1/n) Σ_n ln p(v_n)`, in nats, given `ln Z`
    /// (from [`Rbm::exact_log_partition`] or an AIS estimate). Validates `data`.
    ///
    /// The free energies are computed in `f64` on blocks of [`LIKELIHOOD_BLOCK_ROWS`] rows, in
    /// parallel, so the memory used beyond `data` is a few blocks, not an `f64` copy of the
    /// data set; the blocks' sums are added in order, so the result does not depend on the
    /// number of threads.
    pub fn log_likelihood_with(&self, data: ArrayView2<F>, log_z: f64) -> Result<f64> {
        self.validate_visible(data)?;
        if data.nrows() == 0 {
            return Err(Error::EmptyData);
        }
        let model = self.to_f64();
        // Blocks in parallel, their sums added in block order (the same bits as one thread).
        let blocks = data.nrows().div_ceil(LIKELIHOOD_BLOCK_ROWS);
        let sums: Vec<f64> = (0..blocks)
            .into_par_iter()
            .map(|b| {
                let start = b * LIKELIHOOD_BLOCK_ROWS;
                let block =
                    data.slice(ndarray::s![start..(start + LIKELIHOOD_BLOCK_ROWS).min(data.nrows()), ..]);
                let block64 = block.mapv(|x| x.to_f64());
                let mut field = Array2::zeros((block.nrows(), self.n_hidden()));
                let mut free = Array1::zeros(block.nrows());
                model.free_energies_into_unchecked(block64.view(), field.view_mut(), free.view_mut());
                free.sum()
            })
            .collect();
        let total: f64 = sums.iter().fold(0.0, |t, s| t + s);
        Ok(-total / data.nrows() as f64 - log_z)
    }

    /// Exact mean log-likelihood per sample of `data` (nats), when the smaller layer has at
    /// most [`MAX_EXACT_UNITS`] units.
    pub fn exact_log_likelihood(&self, data: ArrayView2<F>) -> Result<f64> {
        self.validate_visible(data)?;
        let log_z = self.exact_log_partition()?;
        self.log_likelihood_with(data, log_z)
    }
}

/// Gradient of the mean log-likelihood with respect to the parameters (ML sign convention).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient<F> {
    /// `∂ℓ/∂W`, shape `(n_visible, n_hidden)`.
    pub weights: Array2<F>,
    /// `∂ℓ/∂a`.
    pub visible_bias: Array1<F>,
    /// `∂ℓ/∂b`.
    pub hidden_bias: Array1<F>,
}

/// The largest layer [`Rbm::exact_log_likelihood_gradient`] enumerates.
pub const MAX_GRADIENT_UNITS: usize = 20;

impl<F: Float> Rbm<F> {
    /// Exact gradient of the mean log-likelihood of `data`, as data term minus model term:
    /// `∂ℓ/∂W = (1/n) Σ_n v_n ⟨h|v_n⟩ᵀ - Σ_v p(v) v ⟨h|v⟩ᵀ` (equivalently
    /// `Σ_h p(h) ⟨v|h⟩ hᵀ`), and likewise for the biases. The model term enumerates the
    /// smaller layer (at most [`MAX_GRADIENT_UNITS`] units). Computed in `f64`.
    pub fn exact_log_likelihood_gradient(&self, data: ArrayView2<F>) -> Result<Gradient<f64>> {
        self.validate_visible(data)?;
        let model = self.to_f64();
        let v = data.mapv(|x| x.to_f64());
        let n = v.nrows() as f64;
        let hm = model.hidden_means(v.view())?;
        let mut weights = v.t().dot(&hm) / n;
        let mut visible_bias = v.sum_axis(ndarray::Axis(0)) / n;
        let mut hidden_bias = hm.sum_axis(ndarray::Axis(0)) / n;

        let small = model.n_visible().min(model.n_hidden());
        if small > MAX_GRADIENT_UNITS {
            return Err(Error::TooManyUnitsForExact { units: small, max: MAX_GRADIENT_UNITS });
        }
        let log_z = model.exact_log_partition()?;
        // Enumerate the smaller layer: rows of `v` and `h` are matching (state, conditional
        // mean) pairs and `p` their probabilities, so that the model term is
        // ⟨v hᵀ⟩ = Σ_k p_k v_k h_kᵀ, ⟨v⟩ = Σ_k p_k v_k, ⟨h⟩ = Σ_k p_k h_k.
        let (v, h, p) = if model.n_hidden() <= model.n_visible() {
            let hs: Array2<f64> = crate::all_states(model.n_hidden(), model.hidden_units)?;
            let p = model.hidden_free_energies(hs.view())?.mapv(|f| (-f - log_z).exp());
            (model.visible_means(hs.view())?, hs, p)
        } else {
            let vs: Array2<f64> = crate::all_states(model.n_visible(), model.visible_units)?;
            let p = model.free_energies(vs.view())?.mapv(|f| (-f - log_z).exp());
            let hm = model.hidden_means(vs.view())?;
            (vs, hm, p)
        };
        let pv = v * p.view().insert_axis(ndarray::Axis(1));
        weights -= &pv.t().dot(&h);
        visible_bias -= &pv.sum_axis(ndarray::Axis(0));
        hidden_bias -= &h.t().dot(&p);
        Ok(Gradient { weights, visible_bias, hidden_bias })
    }
}
