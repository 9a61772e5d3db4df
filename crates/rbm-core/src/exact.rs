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

/// Rows per block of [`Rbm::log_likelihood_with`] (converted to `f64` one block at a time).
pub const LIKELIHOOD_BLOCK_ROWS: usize = 1024;

const CHUNK_BITS: usize = 12;

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
        let chunk = 1usize << CHUNK_BITS.min(n);
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
    /// The free energies are computed in `f64` on blocks of [`LIKELIHOOD_BLOCK_ROWS`] rows, so
    /// the memory used beyond `data` is a few blocks, not an `f64` copy of the data set.
    pub fn log_likelihood_with(&self, data: ArrayView2<F>, log_z: f64) -> Result<f64> {
        self.validate_visible(data)?;
        if data.nrows() == 0 {
            return Err(Error::EmptyData);
        }
        let model = self.to_f64();
        let mut field = Array2::zeros((LIKELIHOOD_BLOCK_ROWS.min(data.nrows()), self.n_hidden()));
        let mut free = Array1::zeros(field.nrows());
        let mut total = 0.0;
        for block in data.axis_chunks_iter(ndarray::Axis(0), LIKELIHOOD_BLOCK_ROWS) {
            let rows = block.nrows();
            let block64 = block.mapv(|x| x.to_f64());
            let (field, mut free) =
                (field.slice_mut(ndarray::s![..rows, ..]), free.slice_mut(ndarray::s![..rows]));
            model.free_energies_into_unchecked(block64.view(), field, free.view_mut());
            total += free.sum();
        }
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
