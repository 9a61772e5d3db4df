//! Training diagnostics that need no partition function: reconstruction error,
//! pseudo-log-likelihood and mean free energy.
//!
//! All are computed in `f64` and deterministically (no random numbers), so monitoring never
//! changes the random stream of training.
//!
//! - Reconstruction error: mean over samples and units of `(v - ⟨v | ⟨h|v⟩⟩)²` (mean-field
//!   reconstruction). Its range is `[0, 1]` for binary units and `[0, 4]` for spins.
//! - Pseudo-log-likelihood per unit: `(1 / (n·n_v)) Σ_n Σ_i ln p(v_i | v_{-i})`, every unit of
//!   every sample, each conditional exact: `ln p(v_i | v_{-i}) = -ln(1 + e^{F(v) - F(v^{(i)})})`
//!   with `v^{(i)}` the sample with unit `i` flipped. (scikit-learn instead flips one random
//!   unit per sample and multiplies by `n_v`, a noisy estimator.) It costs `n_v · n_h`
//!   evaluations of `Φ` per sample, so callers pass a bounded subsample.

use ndarray::{Array1, ArrayView2};
use rayon::prelude::*;

use crate::{Float, Rbm, Result};

/// Mean squared mean-field reconstruction error per unit (see the [module docs](self)).
pub fn reconstruction_error<F: Float>(rbm: &Rbm<F>, data: ArrayView2<F>) -> Result<f64> {
    rbm.validate_visible(data)?;
    let model = rbm.to_f64();
    let v = data.mapv(|x| x.to_f64());
    let h = model.hidden_means(v.view())?;
    let r = model.visible_means(h.view())?;
    let sq: f64 = v.iter().zip(&r).map(|(a, b)| (a - b) * (a - b)).sum();
    Ok(sq / v.len() as f64)
}

/// Exact-conditional pseudo-log-likelihood, averaged over all units and samples (nats per
/// unit; see the [module docs](self)). Deterministic whatever the number of threads.
pub fn pseudo_log_likelihood<F: Float>(rbm: &Rbm<F>, data: ArrayView2<F>) -> Result<f64> {
    rbm.validate_visible(data)?;
    let model = rbm.to_f64();
    let v = data.mapv(|x| x.to_f64());
    let mut field = ndarray::Array2::zeros((v.nrows(), model.n_hidden()));
    model.hidden_field_into_unchecked(v.view(), field.view_mut());
    let (lo, hi) = (model.visible_units.lower::<f64>(), model.visible_units.upper::<f64>());
    let hu = model.hidden_units;
    let per_sample: Vec<f64> = (0..v.nrows())
        .into_par_iter()
        .map(|r| {
            let (vr, xr) = (v.row(r), field.row(r));
            let base: f64 = xr.iter().map(|&x| hu.log_partition(x)).sum::<f64>();
            let mut total = 0.0;
            for (i, &vi) in vr.iter().enumerate() {
                let delta = if vi == hi { lo - hi } else { hi - lo };
                let wi = model.weights.row(i);
                let flipped: f64 = xr.iter().zip(wi).map(|(&x, &w)| hu.log_partition(x + delta * w)).sum();
                // F(v) - F(v^(i)) = a_i Δ + Σ Φ(x + Δ w) - Σ Φ(x)
                let d = model.visible_bias[i] * delta + flipped - base;
                total -= crate::Units::Binary.log_partition(d);
            }
            total
        })
        .collect();
    Ok(per_sample.iter().sum::<f64>() / v.len() as f64)
}

/// Mean free energy `(1/n) Σ_n F(v_n)` (hidden layer summed out), in `f64`.
pub fn mean_free_energy<F: Float>(rbm: &Rbm<F>, data: ArrayView2<F>) -> Result<f64> {
    rbm.validate_visible(data)?;
    let model = rbm.to_f64();
    let v = data.mapv(|x| x.to_f64());
    let f: Array1<f64> = model.free_energies(v.view())?;
    Ok(f.sum() / f.len() as f64)
}
