//! The restricted Boltzmann machine [`Rbm`]: energies, free energies, conditionals, block Gibbs
//! sampling and exact conversions between unit and sign conventions.
//!
//! # Sign convention (internal, the usual ML one)
//!
//! ```text
//! E(v, h) = -vᵀ W h - aᵀ v - bᵀ h,      p(v, h) = e^{-E(v, h)} / Z
//! ```
//!
//! with `W = weights` of shape `(n_visible, n_hidden)`, `a = visible_bias`, `b = hidden_bias`.
//! Energies are dimensionless (the temperature is absorbed into the parameters).
//! The paper (Mehta and Schwab, docs/science.md §4) writes `E = Σ b_j h_j + Σ v_i w_ij h_j + Σ c_i v_i`
//! with plus signs: its parameters are the negatives of ours. Convert at the boundary with
//! [`Rbm::to_paper`] and [`Rbm::from_paper`].
//!
//! # Free energies
//!
//! - `free_energy(v) = -ln Σ_h e^{-E(v,h)} = -aᵀv - Σ_j Φ_h(b_j + (vᵀW)_j)`,
//! - `hidden_free_energy(h) = -ln Σ_v e^{-E(v,h)} = -bᵀh - Σ_i Φ_v(a_i + (W h)_i)`,
//!
//! where `Φ(x) = ln(1 + e^x)` for binary units and `ln 2cosh x` for spin units
//! ([`Units::log_partition`]). In the paper's notation `H^RBM(v) = free_energy(v)` and
//! `H^RBM(h) = hidden_free_energy(h)` (up to the common `ln Z`).
//!
//! # Conditionals
//!
//! Given `v`, the hidden units are independent with fields `x = b + Wᵀv`; `⟨h_j⟩ = σ(x_j)` for
//! binary units and `tanh x_j` for spins (and symmetrically for `v` given `h`).

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{kernel, Error, Float, Result, Units};

/// A restricted Boltzmann machine with the ML sign convention
/// `E(v, h) = -vᵀWh - aᵀv - bᵀh` (see the [module docs](self)).
///
/// An `Rbm` always holds consistent shapes (`weights` is `(n_visible, n_hidden)`, both layers
/// non-empty) and finite parameters: it is built only by validating constructors
/// ([`Rbm::new`], [`Rbm::try_from`] an [`RbmParts`], deserialisation), and the fields are
/// private. Read them with [`Rbm::weights`], [`Rbm::visible_bias`], ...; change them with
/// [`Rbm::into_parts`] and [`Rbm::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float", try_from = "RbmParts<F>")]
pub struct Rbm<F> {
    /// Couplings `W`, shape `(n_visible, n_hidden)`.
    pub(crate) weights: Array2<F>,
    /// Visible biases `a`, length `n_visible`.
    pub(crate) visible_bias: Array1<F>,
    /// Hidden biases `b`, length `n_hidden`.
    pub(crate) hidden_bias: Array1<F>,
    /// Units of the visible layer.
    pub(crate) visible_units: Units,
    /// Units of the hidden layer.
    pub(crate) hidden_units: Units,
}

/// The parameters of an [`Rbm`], unchecked (the serialised form, and the way to modify a
/// model: [`Rbm::into_parts`], change, [`Rbm::try_from`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct RbmParts<F> {
    /// Couplings `W`, shape `(n_visible, n_hidden)`.
    pub weights: Array2<F>,
    /// Visible biases `a`, length `n_visible`.
    pub visible_bias: Array1<F>,
    /// Hidden biases `b`, length `n_hidden`.
    pub hidden_bias: Array1<F>,
    /// Units of the visible layer.
    pub visible_units: Units,
    /// Units of the hidden layer.
    pub hidden_units: Units,
}

impl<F: Float> TryFrom<RbmParts<F>> for Rbm<F> {
    type Error = Error;
    fn try_from(p: RbmParts<F>) -> Result<Self> {
        Rbm::new(p.weights, p.visible_bias, p.hidden_bias, p.visible_units, p.hidden_units)
    }
}

/// An RBM's parameters in the paper's plus-sign convention (docs/science.md §4):
/// `E(v, h) = Σ_j b_j h_j + Σ_ij v_i w_ij h_j + Σ_i c_i v_i`.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperRbm<F> {
    /// `w_ij`, shape `(n_visible, n_hidden)`.
    pub weights: Array2<F>,
    /// `c_i`, length `n_visible`.
    pub visible_bias: Array1<F>,
    /// `b_j`, length `n_hidden`.
    pub hidden_bias: Array1<F>,
    /// Units of the visible layer.
    pub visible_units: Units,
    /// Units of the hidden layer.
    pub hidden_units: Units,
}

/// One of the two layers of an RBM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// The visible (data) layer.
    Visible,
    /// The hidden (feature) layer.
    Hidden,
}

fn check_finite<F: Float>(name: &'static str, values: impl Iterator<Item = F>) -> Result<()> {
    for (index, x) in values.enumerate() {
        if !x.is_finite() {
            return Err(Error::NonFiniteParameter { name, index });
        }
    }
    Ok(())
}

fn check_shape(what: &'static str, expected: (usize, usize), found: (usize, usize)) -> Result<()> {
    check_len(what, expected.0, found.0)?;
    check_len(what, expected.1, found.1)
}

fn check_len(what: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch { what, expected, found })
    }
}

/// Checks that `data` is a non-empty `(samples, n_units)` matrix of finite values, each one of
/// the two values of `units`.
pub fn validate_data<F: Float>(data: ArrayView2<F>, n_units: usize, units: Units) -> Result<()> {
    if data.nrows() == 0 {
        return Err(Error::EmptyData);
    }
    check_len("data columns", n_units, data.ncols())?;
    // Fast path for contiguous data: a branch-free pass at the vector width; the element
    // loop below runs only to name the first bad value.
    if let Some(xs) = data.as_slice() {
        let (lo, hi) = (units.lower::<F>(), units.upper::<F>());
        // In parallel blocks of 2^20 values (one pass over 20,000 × 1600 f32 took 14 ms on one
        // core).
        let valid = xs.par_chunks(1 << 20).all(|block| {
            kernel::vectorized(
                #[inline(always)]
                || {
                    // A count, not a fold of flags: LLVM turns this one into mask compares and
                    // population counts (the fold ran at one element a nanosecond).
                    block.chunks(4096).all(|c| c.iter().filter(|&&x| (x != lo) & (x != hi)).count() == 0)
                },
            )
        });
        if valid {
            return Ok(());
        }
    }
    for ((row, column), &x) in data.indexed_iter() {
        if !x.is_finite() {
            return Err(Error::NonFiniteData { row, column });
        }
        if !units.is_value(x.to_f64()) {
            return Err(Error::InvalidUnitValue { row, column, value: x.to_f64(), units });
        }
    }
    Ok(())
}

/// All `2^n` configurations of `n ≤ 20` units, one per row: unit `i` of row `k` is upper exactly
/// when bit `i` of `k` is set.
pub fn all_states<F: Float>(n: usize, units: Units) -> Result<Array2<F>> {
    const MAX: usize = 20;
    if n > MAX {
        return Err(Error::TooManyUnitsForExact { units: n, max: MAX });
    }
    Ok(states_block(0, 1usize << n, n, units))
}

/// Rows `start..start+count` of the enumeration of [`all_states`].
pub(crate) fn states_block<F: Float>(start: usize, count: usize, n: usize, units: Units) -> Array2<F> {
    Array2::from_shape_fn((count, n), |(k, i)| units.from_bit(((start + k) >> i) & 1 == 1))
}

impl<F: Float> Rbm<F> {
    /// Builds an RBM after checking shapes (`weights` is `(n_visible, n_hidden)`, both layers
    /// non-empty) and that every parameter is finite.
    pub fn new(
        weights: Array2<F>,
        visible_bias: Array1<F>,
        hidden_bias: Array1<F>,
        visible_units: Units,
        hidden_units: Units,
    ) -> Result<Self> {
        // Row-major weights let every product read them in place (any layout is correct).
        let weights =
            if weights.is_standard_layout() { weights } else { weights.as_standard_layout().into_owned() };
        let rbm = Rbm { weights, visible_bias, hidden_bias, visible_units, hidden_units };
        rbm.validate()?;
        Ok(rbm)
    }

    /// An RBM with all parameters zero.
    pub fn zeros(
        n_visible: usize,
        n_hidden: usize,
        visible_units: Units,
        hidden_units: Units,
    ) -> Result<Self> {
        Rbm::new(
            Array2::zeros((n_visible, n_hidden)),
            Array1::zeros(n_visible),
            Array1::zeros(n_hidden),
            visible_units,
            hidden_units,
        )
    }

    /// An RBM with weights drawn from `N(0, std²)` (row-major order from `rng`) and zero biases.
    pub fn random<R: Rng + ?Sized>(
        n_visible: usize,
        n_hidden: usize,
        visible_units: Units,
        hidden_units: Units,
        std: f64,
        rng: &mut R,
    ) -> Result<Self> {
        if !(std.is_finite() && std >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "init_std",
                value: std,
                reason: "must be finite and >= 0",
            });
        }
        let mut rbm = Rbm::zeros(n_visible, n_hidden, visible_units, hidden_units)?;
        for w in rbm.weights.iter_mut() {
            let z: f64 = StandardNormal.sample(rng);
            *w = F::from_f64(std * z);
        }
        Ok(rbm)
    }

    /// Checks the invariants [`Rbm::new`] establishes (they always hold for an `Rbm`; this is
    /// kept for callers that check a model they were handed).
    pub fn validate(&self) -> Result<()> {
        let (nv, nh) = self.weights.dim();
        if nv == 0 {
            return Err(Error::EmptyLayer { layer: "visible" });
        }
        if nh == 0 {
            return Err(Error::EmptyLayer { layer: "hidden" });
        }
        check_len("visible bias length", nv, self.visible_bias.len())?;
        check_len("hidden bias length", nh, self.hidden_bias.len())?;
        check_finite("weights", self.weights.iter().copied())?;
        check_finite("visible_bias", self.visible_bias.iter().copied())?;
        check_finite("hidden_bias", self.hidden_bias.iter().copied())?;
        Ok(())
    }

    /// Couplings `W`, shape `(n_visible, n_hidden)`.
    pub fn weights(&self) -> &Array2<F> {
        &self.weights
    }

    /// Visible biases `a`, length `n_visible`.
    pub fn visible_bias(&self) -> &Array1<F> {
        &self.visible_bias
    }

    /// Hidden biases `b`, length `n_hidden`.
    pub fn hidden_bias(&self) -> &Array1<F> {
        &self.hidden_bias
    }

    /// Units of the visible layer.
    pub fn visible_units(&self) -> Units {
        self.visible_units
    }

    /// Units of the hidden layer.
    pub fn hidden_units(&self) -> Units {
        self.hidden_units
    }

    /// The parameters, consuming the model (change them and rebuild with [`Rbm::try_from`]).
    pub fn into_parts(self) -> RbmParts<F> {
        RbmParts {
            weights: self.weights,
            visible_bias: self.visible_bias,
            hidden_bias: self.hidden_bias,
            visible_units: self.visible_units,
            hidden_units: self.hidden_units,
        }
    }

    /// Number of visible units.
    pub fn n_visible(&self) -> usize {
        self.weights.nrows()
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.weights.ncols()
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.weights.iter().chain(&self.visible_bias).chain(&self.hidden_bias).all(|x| x.is_finite())
    }

    /// Checks that `data` holds valid visible configurations for this model
    /// (see [`validate_data`]).
    pub fn validate_visible(&self, data: ArrayView2<F>) -> Result<()> {
        validate_data(data, self.n_visible(), self.visible_units)
    }

    /// Checks that `data` holds valid hidden configurations for this model.
    pub fn validate_hidden(&self, data: ArrayView2<F>) -> Result<()> {
        validate_data(data, self.n_hidden(), self.hidden_units)
    }

    // ----- energies -------------------------------------------------------------------------

    /// `E(v, h) = -vᵀWh - aᵀv - bᵀh`. Values are not checked to be unit values.
    pub fn energy(&self, v: ArrayView1<F>, h: ArrayView1<F>) -> Result<F> {
        check_len("visible vector length", self.n_visible(), v.len())?;
        check_len("hidden vector length", self.n_hidden(), h.len())?;
        Ok(-(v.dot(&self.weights.dot(&h)) + self.visible_bias.dot(&v) + self.hidden_bias.dot(&h)))
    }

    /// `-ln Σ_h e^{-E(v,h)}`, the hidden layer summed out in closed form.
    pub fn free_energy(&self, v: ArrayView1<F>) -> Result<F> {
        check_len("visible vector length", self.n_visible(), v.len())?;
        Ok(self.free_energies(v.insert_axis(Axis(0)))?[0])
    }

    /// `-ln Σ_v e^{-E(v,h)}`, the visible layer summed out in closed form.
    pub fn hidden_free_energy(&self, h: ArrayView1<F>) -> Result<F> {
        check_len("hidden vector length", self.n_hidden(), h.len())?;
        Ok(self.hidden_free_energies(h.insert_axis(Axis(0)))?[0])
    }

    /// [`Rbm::free_energy`] of every row of `v` (shape `(batch, n_visible)`).
    pub fn free_energies(&self, v: ArrayView2<F>) -> Result<Array1<F>> {
        check_len("visible columns", self.n_visible(), v.ncols())?;
        let mut field = Array2::zeros((v.nrows(), self.n_hidden()));
        let mut out = Array1::zeros(v.nrows());
        self.free_energies_into_unchecked(v, field.view_mut(), out.view_mut());
        Ok(out)
    }

    /// [`Rbm::hidden_free_energy`] of every row of `h` (shape `(batch, n_hidden)`).
    pub fn hidden_free_energies(&self, h: ArrayView2<F>) -> Result<Array1<F>> {
        check_len("hidden columns", self.n_hidden(), h.ncols())?;
        let mut field = Array2::zeros((h.nrows(), self.n_visible()));
        let mut out = Array1::zeros(h.nrows());
        self.hidden_free_energies_into_unchecked(h, field.view_mut(), out.view_mut());
        Ok(out)
    }

    /// [`Rbm::free_energies_into`] with shapes trusted.
    pub(crate) fn free_energies_into_unchecked(
        &self,
        v: ArrayView2<F>,
        mut field: ArrayViewMut2<F>,
        mut out: ArrayViewMut1<F>,
    ) {
        assert_eq!(out.len(), v.nrows(), "free_energies_into: output length");
        self.hidden_field_into_unchecked(v, field.view_mut());
        let units = self.hidden_units;
        for ((o, vr), xr) in out.iter_mut().zip(v.rows()).zip(field.rows()) {
            let s: F = xr.iter().map(|&x| units.log_partition(x)).sum();
            *o = -(vr.dot(&self.visible_bias) + s);
        }
    }

    /// [`Rbm::hidden_free_energies_into`] with shapes trusted.
    pub(crate) fn hidden_free_energies_into_unchecked(
        &self,
        h: ArrayView2<F>,
        mut field: ArrayViewMut2<F>,
        mut out: ArrayViewMut1<F>,
    ) {
        assert_eq!(out.len(), h.nrows(), "hidden_free_energies_into: output length");
        self.visible_field_into_unchecked(h, field.view_mut());
        let units = self.visible_units;
        for ((o, hr), xr) in out.iter_mut().zip(h.rows()).zip(field.rows()) {
            let s: F = xr.iter().map(|&x| units.log_partition(x)).sum();
            *o = -(hr.dot(&self.hidden_bias) + s);
        }
    }

    // ----- conditionals ---------------------------------------------------------------------

    /// [`Rbm::hidden_field_into`] with shapes trusted, in blocks computed in parallel (see
    /// [`Rbm::step`]).
    pub(crate) fn hidden_field_into_unchecked(&self, v: ArrayView2<F>, out: ArrayViewMut2<F>) {
        self.hidden_step(v, out, Act::Field);
    }

    /// [`Rbm::visible_field_into`] with shapes trusted (blocks of visible units in parallel).
    pub(crate) fn visible_field_into_unchecked(&self, h: ArrayView2<F>, out: ArrayViewMut2<F>) {
        self.visible_step(h, out, Act::Field);
    }

    /// `x = b + v W` into `out` and then what `act` asks: `out` becomes the means and, for
    /// [`Act::Sample`], its buffer the samples drawn with its uniforms (`batch · n_hidden` of
    /// them, row-major). Blocks run in parallel (see [`Rbm::step`]).
    fn hidden_step(&self, v: ArrayView2<F>, out: ArrayViewMut2<F>, act: Act<'_, '_, F>) {
        self.step(self.hidden_units, &self.hidden_bias, v, false, out, act);
    }

    /// `y = a + h Wᵀ` into `out`, then the activation (see [`Rbm::hidden_step`]).
    fn visible_step(&self, h: ArrayView2<F>, out: ArrayViewMut2<F>, act: Act<'_, '_, F>) {
        self.step(self.visible_units, &self.visible_bias, h, true, out, act);
    }

    /// `out = bias + x m` with `m = W` or, if `transposed`, `Wᵀ`, and then the activation of
    /// `units` (see [`Rbm::hidden_step`]), in blocks that run in parallel (see [`crate::kernel`]).
    ///
    /// Both steps cut W into the same two blocks of rows (visible units), as the weight update
    /// does, so each core of a two-core machine keeps working on the half of W in its own
    /// cache: the visible step cuts its output's columns, the hidden step the inner dimension
    /// (the second block's part of the field goes into a scratch buffer and is added after
    /// the product, in a fixed order).
    fn step(
        &self,
        units: Units,
        bias: &Array1<F>,
        x: ArrayView2<F>,
        transposed: bool,
        out: ArrayViewMut2<F>,
        act: Act<'_, '_, F>,
    ) {
        let (x, w) = (x.as_standard_layout(), self.weights.as_standard_layout());
        let (x, w) = (kernel::mat(&x), kernel::mat(&w));
        let m = if transposed { w.transpose() } else { w };
        let work = x.nrows() * self.n_visible() * self.n_hidden();
        let dim = out.dim();
        let (activate, samples, uniforms, seeds) = match act {
            Act::Field => (false, None, None, None),
            Act::Means => (true, None, None, None),
            Act::Sample(Sampling { samples, uniforms, seeds }) => {
                assert_eq!(samples.dim(), dim, "step: sample buffer shape");
                let u = ArrayViewMut2::from_shape(dim, &mut uniforms[..dim.0 * dim.1])
                    .expect("uniforms buffer holds the output's shape");
                (true, Some(samples), Some(u), seeds)
            }
        };
        // Block `b`'s activation: fill its uniforms if it draws them itself, then activate.
        let finish = |b: usize,
                      out: faer::MatMut<'_, F>,
                      samples: Option<ArrayViewMut2<F>>,
                      u: Option<ArrayViewMut2<F>>| {
            if !activate {
                return;
            }
            let u = u.map(|mut u| {
                if let Some(seeds) = seeds {
                    fill_block(u.view_mut(), seeds[b]);
                }
                u
            });
            activate_rows(units, out, samples, u.as_ref().map(|u| u.view()));
        };
        let depth = x.ncols();
        if !transposed && kernel::blocks(depth, work) == 2 {
            let mid = kernel::midpoint(depth);
            let (r, c) = dim;
            F::with_scratch(r * c, |part| {
                let mut part = faer::MatMut::from_row_major_slice_mut(part, r, c);
                kernel::with_mat_mut(out, |mut out| {
                    rayon::join(
                        || {
                            fill_rows(out.as_mut(), bias.view());
                            kernel::product(out.as_mut(), true, x.subcols(0, mid), m.subrows(0, mid));
                        },
                        || {
                            kernel::product(
                                part.as_mut(),
                                false,
                                x.subcols(mid, depth - mid),
                                m.subrows(mid, depth - mid),
                            )
                        },
                    );
                    let parts = (out, (part, (samples, uniforms)));
                    kernel::for_blocks(
                        parts,
                        Axis(0),
                        r,
                        work,
                        |rows, (mut out, (mut part, (samples, u)))| {
                            for i in 0..out.nrows() {
                                let p = kernel::row_mut(part.as_mut(), i);
                                kernel::row_mut(out.as_mut(), i)
                                    .iter_mut()
                                    .zip(p.iter())
                                    .for_each(|(o, &p)| *o += p);
                            }
                            finish(usize::from(rows.start > 0), out, samples, u);
                        },
                    );
                });
            });
            return;
        }
        let len = out.ncols();
        kernel::with_mat_mut(out, |out| {
            kernel::for_blocks(
                (out, (samples, uniforms)),
                Axis(1),
                len,
                work,
                |cols, (mut out, (samples, u))| {
                    fill_rows(out.as_mut(), bias.slice(s![cols.clone()]));
                    kernel::product(out.as_mut(), true, x, m.subcols(cols.start, cols.len()));
                    finish(usize::from(cols.start > 0), out, samples, u);
                },
            );
        });
    }

    /// Into how many blocks [`Rbm::step`] on `rows` rows cuts its activation (each block can
    /// then draw its own uniforms): the visible step cuts its columns; the hidden step its
    /// rows when it cuts the inner dimension, else its columns.
    fn step_blocks(&self, rows: usize, transposed: bool) -> usize {
        let work = rows * self.n_visible() * self.n_hidden();
        if transposed {
            kernel::blocks(self.n_visible(), work)
        } else if kernel::blocks(self.n_visible(), work) == 2 {
            kernel::blocks(rows, work)
        } else {
            kernel::blocks(self.n_hidden(), work)
        }
    }

    /// `⟨h | v⟩` into `means` (allocation-free, in parallel blocks; see [`Rbm::step`]).
    pub(crate) fn hidden_means_into_unchecked(&self, v: ArrayView2<F>, means: ArrayViewMut2<F>) {
        self.hidden_step(v, means, Act::Means);
    }

    /// `⟨v | h⟩` into `means` (allocation-free, parallel over blocks of visible units).
    pub(crate) fn visible_means_into_unchecked(&self, h: ArrayView2<F>, means: ArrayViewMut2<F>) {
        self.visible_step(h, means, Act::Means);
    }

    /// `f` applied to the field of every hidden unit, for every row of `v`.
    fn map_hidden_field(&self, v: ArrayView2<F>, f: impl Fn(F) -> F) -> Result<Array2<F>> {
        check_len("visible columns", self.n_visible(), v.ncols())?;
        let mut out = Array2::zeros((v.nrows(), self.n_hidden()));
        self.hidden_field_into_unchecked(v, out.view_mut());
        out.mapv_inplace(f);
        Ok(out)
    }

    /// `f` applied to the field of every visible unit, for every row of `h`.
    fn map_visible_field(&self, h: ArrayView2<F>, f: impl Fn(F) -> F) -> Result<Array2<F>> {
        check_len("hidden columns", self.n_hidden(), h.ncols())?;
        let mut out = Array2::zeros((h.nrows(), self.n_visible()));
        self.visible_field_into_unchecked(h, out.view_mut());
        out.mapv_inplace(f);
        Ok(out)
    }

    /// `⟨h | v⟩` for every row of `v`: `σ(x)` (binary) or `tanh x` (spin).
    pub fn hidden_means(&self, v: ArrayView2<F>) -> Result<Array2<F>> {
        self.map_hidden_field(v, |x| self.hidden_units.mean(x))
    }

    /// `⟨v | h⟩` for every row of `h`.
    pub fn visible_means(&self, h: ArrayView2<F>) -> Result<Array2<F>> {
        self.map_visible_field(h, |x| self.visible_units.mean(x))
    }

    /// `p(h_j = upper | v)` for every row of `v`.
    pub fn hidden_probabilities(&self, v: ArrayView2<F>) -> Result<Array2<F>> {
        self.map_hidden_field(v, |x| self.hidden_units.prob_upper(x))
    }

    /// `p(v_i = upper | h)` for every row of `h`.
    pub fn visible_probabilities(&self, h: ArrayView2<F>) -> Result<Array2<F>> {
        self.map_visible_field(h, |x| self.visible_units.prob_upper(x))
    }

    /// Samples `h ~ p(h | v)` for every row of `v`.
    pub fn sample_hidden<R: Rng + ?Sized>(&self, v: ArrayView2<F>, rng: &mut R) -> Result<Array2<F>> {
        check_len("visible columns", self.n_visible(), v.ncols())?;
        let mut means = Array2::zeros((v.nrows(), self.n_hidden()));
        let mut samples = means.clone();
        let mut uniforms = vec![F::zero(); means.len()];
        self.sample_hidden_into_unchecked(v, means.view_mut(), samples.view_mut(), &mut uniforms, rng);
        Ok(samples)
    }

    /// Samples `v ~ p(v | h)` for every row of `h`.
    pub fn sample_visible<R: Rng + ?Sized>(&self, h: ArrayView2<F>, rng: &mut R) -> Result<Array2<F>> {
        check_len("hidden columns", self.n_hidden(), h.ncols())?;
        let mut means = Array2::zeros((h.nrows(), self.n_visible()));
        let mut samples = means.clone();
        let mut uniforms = vec![F::zero(); means.len()];
        self.sample_visible_into_unchecked(h, means.view_mut(), samples.view_mut(), &mut uniforms, rng);
        Ok(samples)
    }

    /// [`Rbm::sample_hidden_into`] with shapes trusted: the field is computed, activated and
    /// sampled in parallel blocks; the uniforms are drawn in bulk, row-major, before the step
    /// when it is one block, and by each block from its own seed (drawn from `rng`) when
    /// there are two (see [`Sampling`]).
    pub(crate) fn sample_hidden_into_unchecked<R: Rng + ?Sized>(
        &self,
        v: ArrayView2<F>,
        means: ArrayViewMut2<F>,
        samples: ArrayViewMut2<F>,
        uniforms: &mut [F],
        rng: &mut R,
    ) {
        assert_eq!(samples.dim(), means.dim(), "sample_hidden: sample buffer shape");
        let sampling = Self::sampling(self.step_blocks(v.nrows(), false), samples, uniforms, rng);
        self.hidden_step(v, means, Act::Sample(sampling));
    }

    /// [`Rbm::sample_visible_into`] with shapes trusted (see
    /// [`Rbm::sample_hidden_into_unchecked`]).
    pub(crate) fn sample_visible_into_unchecked<R: Rng + ?Sized>(
        &self,
        h: ArrayView2<F>,
        means: ArrayViewMut2<F>,
        samples: ArrayViewMut2<F>,
        uniforms: &mut [F],
        rng: &mut R,
    ) {
        assert_eq!(samples.dim(), means.dim(), "sample_visible: sample buffer shape");
        let sampling = Self::sampling(self.step_blocks(h.nrows(), true), samples, uniforms, rng);
        self.visible_step(h, means, Act::Sample(sampling));
    }

    /// The [`Sampling`] of a step in `blocks` blocks: one block fills all the uniforms from
    /// `rng` now (row-major); two blocks each get a seed drawn from `rng` and fill their own.
    fn sampling<'a, 'u, R: Rng + ?Sized>(
        blocks: usize,
        samples: ArrayViewMut2<'a, F>,
        uniforms: &'u mut [F],
        rng: &mut R,
    ) -> Sampling<'a, 'u, F> {
        let len = samples.len();
        let seeds = if blocks == 2 {
            Some([rng.next_u64(), rng.next_u64()])
        } else {
            F::fill_uniform(rng, &mut uniforms[..len]);
            None
        };
        Sampling { samples, uniforms, seeds }
    }

    /// Allocation-free [`Rbm::free_energies`]: `field` is scratch of shape `(batch, n_hidden)`,
    /// `out` has length `batch`.
    pub fn free_energies_into(
        &self,
        v: ArrayView2<F>,
        field: ArrayViewMut2<F>,
        out: ArrayViewMut1<F>,
    ) -> Result<()> {
        check_len("visible columns", self.n_visible(), v.ncols())?;
        check_shape("field buffer", (v.nrows(), self.n_hidden()), field.dim())?;
        check_len("output length", v.nrows(), out.len())?;
        self.free_energies_into_unchecked(v, field, out);
        Ok(())
    }

    /// Allocation-free [`Rbm::hidden_free_energies`]: `field` is scratch of shape
    /// `(batch, n_visible)`, `out` has length `batch`.
    pub fn hidden_free_energies_into(
        &self,
        h: ArrayView2<F>,
        field: ArrayViewMut2<F>,
        out: ArrayViewMut1<F>,
    ) -> Result<()> {
        check_len("hidden columns", self.n_hidden(), h.ncols())?;
        check_shape("field buffer", (h.nrows(), self.n_visible()), field.dim())?;
        check_len("output length", h.nrows(), out.len())?;
        self.hidden_free_energies_into_unchecked(h, field, out);
        Ok(())
    }

    /// Hidden fields `x = b + vW` for a batch `v` `(batch, n_visible)` into `out`
    /// `(batch, n_hidden)`. Allocation-free.
    pub fn hidden_field_into(&self, v: ArrayView2<F>, out: ArrayViewMut2<F>) -> Result<()> {
        check_len("visible columns", self.n_visible(), v.ncols())?;
        check_shape("output buffer", (v.nrows(), self.n_hidden()), out.dim())?;
        self.hidden_field_into_unchecked(v, out);
        Ok(())
    }

    /// Visible fields `y = a + hWᵀ` for a batch `h` `(batch, n_hidden)` into `out`
    /// `(batch, n_visible)`. Allocation-free.
    pub fn visible_field_into(&self, h: ArrayView2<F>, out: ArrayViewMut2<F>) -> Result<()> {
        check_len("hidden columns", self.n_hidden(), h.ncols())?;
        check_shape("output buffer", (h.nrows(), self.n_visible()), out.dim())?;
        self.visible_field_into_unchecked(h, out);
        Ok(())
    }

    /// Allocation-free hidden step: writes `⟨h|v⟩` into `means` and a sample into `samples`
    /// (both `(batch, n_hidden)`); `uniforms` is scratch of at least `batch · n_hidden`
    /// elements. Random numbers come from `rng`: in row-major order, in bulk, or, for a step
    /// large enough to be cut into two parallel blocks, as one seed per block, each block then
    /// drawing its own uniforms (the same for any number of threads).
    pub fn sample_hidden_into<R: Rng + ?Sized>(
        &self,
        v: ArrayView2<F>,
        means: ArrayViewMut2<F>,
        samples: ArrayViewMut2<F>,
        uniforms: &mut [F],
        rng: &mut R,
    ) -> Result<()> {
        check_len("visible columns", self.n_visible(), v.ncols())?;
        let shape = (v.nrows(), self.n_hidden());
        check_shape("means buffer", shape, means.dim())?;
        check_shape("samples buffer", shape, samples.dim())?;
        if uniforms.len() < shape.0 * shape.1 {
            return Err(Error::ShapeMismatch {
                what: "uniforms buffer",
                expected: shape.0 * shape.1,
                found: uniforms.len(),
            });
        }
        self.sample_hidden_into_unchecked(v, means, samples, uniforms, rng);
        Ok(())
    }

    /// Allocation-free visible step (see [`Rbm::sample_hidden_into`]).
    pub fn sample_visible_into<R: Rng + ?Sized>(
        &self,
        h: ArrayView2<F>,
        means: ArrayViewMut2<F>,
        samples: ArrayViewMut2<F>,
        uniforms: &mut [F],
        rng: &mut R,
    ) -> Result<()> {
        check_len("hidden columns", self.n_hidden(), h.ncols())?;
        let shape = (h.nrows(), self.n_visible());
        check_shape("means buffer", shape, means.dim())?;
        check_shape("samples buffer", shape, samples.dim())?;
        if uniforms.len() < shape.0 * shape.1 {
            return Err(Error::ShapeMismatch {
                what: "uniforms buffer",
                expected: shape.0 * shape.1,
                found: uniforms.len(),
            });
        }
        self.sample_visible_into_unchecked(h, means, samples, uniforms, rng);
        Ok(())
    }

    /// `steps` sweeps of block Gibbs sampling `v → h → v` on every row of `v` (in place).
    /// Returns the hidden samples of the last sweep.
    pub fn gibbs<R: Rng + ?Sized>(&self, v: &mut Array2<F>, steps: usize, rng: &mut R) -> Result<Array2<F>> {
        check_len("visible columns", self.n_visible(), v.ncols())?;
        let b = v.nrows();
        let mut hm = Array2::zeros((b, self.n_hidden()));
        let mut hs = hm.clone();
        let mut vm = Array2::zeros((b, self.n_visible()));
        let mut uniforms = vec![F::zero(); b * self.n_visible().max(self.n_hidden())];
        for _ in 0..steps {
            self.sample_hidden_into_unchecked(v.view(), hm.view_mut(), hs.view_mut(), &mut uniforms, rng);
            self.sample_visible_into_unchecked(hs.view(), vm.view_mut(), v.view_mut(), &mut uniforms, rng);
        }
        Ok(hs)
    }

    // ----- conversions ----------------------------------------------------------------------

    /// The same model in the paper's plus-sign convention (every parameter negated).
    pub fn to_paper(&self) -> PaperRbm<F> {
        PaperRbm {
            weights: self.weights.mapv(|x| -x),
            visible_bias: self.visible_bias.mapv(|x| -x),
            hidden_bias: self.hidden_bias.mapv(|x| -x),
            visible_units: self.visible_units,
            hidden_units: self.hidden_units,
        }
    }

    /// The model given in the paper's plus-sign convention, validated.
    pub fn from_paper(p: PaperRbm<F>) -> Result<Self> {
        Rbm::new(
            p.weights.mapv(|x| -x),
            p.visible_bias.mapv(|x| -x),
            p.hidden_bias.mapv(|x| -x),
            p.visible_units,
            p.hidden_units,
        )
    }

    /// Converts to `f32` (rounding).
    pub fn to_f32(&self) -> Rbm<f32> {
        self.cast()
    }

    /// Converts to `f64` (exact from `f32`).
    pub fn to_f64(&self) -> Rbm<f64> {
        self.cast()
    }

    /// Converts to another float type.
    pub fn cast<G: Float>(&self) -> Rbm<G> {
        Rbm {
            weights: self.weights.mapv(|x| G::from_f64(x.to_f64())),
            visible_bias: self.visible_bias.mapv(|x| G::from_f64(x.to_f64())),
            hidden_bias: self.hidden_bias.mapv(|x| G::from_f64(x.to_f64())),
            visible_units: self.visible_units,
            hidden_units: self.hidden_units,
        }
    }

    /// The same distribution written with other unit types, and the energy offset.
    ///
    /// Units are mapped by the affine bijection that keeps lower ↔ lower and upper ↔ upper
    /// (`v = (1 + σ)/2`). The returned `(new, offset)` satisfy
    /// `E_self(v, h) = E_new(v', h') + offset` for corresponding states, hence
    /// `p_self(v, h) = p_new(v', h')` and `ln Z_self = ln Z_new - offset`.
    /// Spin → binary doubles the weights, binary → spin halves them; the biases pick up row or
    /// column sums of the weights (docs/science.md §4).
    pub fn with_units(&self, visible_units: Units, hidden_units: Units) -> (Rbm<F>, F) {
        let two = F::one() + F::one();
        let half = F::one() / two;
        let mut r = self.clone();
        let mut offset = F::zero();
        match (r.visible_units, visible_units) {
            (Units::Spin, Units::Binary) => {
                offset += r.visible_bias.sum();
                r.hidden_bias = &r.hidden_bias - &r.weights.sum_axis(Axis(0));
                r.weights.mapv_inplace(|w| w * two);
                r.visible_bias.mapv_inplace(|a| a * two);
            }
            (Units::Binary, Units::Spin) => {
                offset -= r.visible_bias.sum() * half;
                r.hidden_bias = &r.hidden_bias + &(r.weights.sum_axis(Axis(0)) * half);
                r.weights.mapv_inplace(|w| w * half);
                r.visible_bias.mapv_inplace(|a| a * half);
            }
            _ => {}
        }
        r.visible_units = visible_units;
        match (r.hidden_units, hidden_units) {
            (Units::Spin, Units::Binary) => {
                offset += r.hidden_bias.sum();
                r.visible_bias = &r.visible_bias - &r.weights.sum_axis(Axis(1));
                r.weights.mapv_inplace(|w| w * two);
                r.hidden_bias.mapv_inplace(|b| b * two);
            }
            (Units::Binary, Units::Spin) => {
                offset -= r.hidden_bias.sum() * half;
                r.visible_bias = &r.visible_bias + &(r.weights.sum_axis(Axis(1)) * half);
                r.weights.mapv_inplace(|w| w * half);
                r.hidden_bias.mapv_inplace(|b| b * half);
            }
            _ => {}
        }
        r.hidden_units = hidden_units;
        (r, offset)
    }

    /// The RBM with the roles of the layers exchanged (weights transposed).
    pub fn transposed(&self) -> Rbm<F> {
        Rbm {
            weights: self.weights.t().as_standard_layout().into_owned(),
            visible_bias: self.hidden_bias.clone(),
            hidden_bias: self.visible_bias.clone(),
            visible_units: self.hidden_units,
            hidden_units: self.visible_units,
        }
    }
}

impl<F: Float> PaperRbm<F> {
    /// `E(v, h) = Σ_j b_j h_j + Σ_ij v_i w_ij h_j + Σ_i c_i v_i` (the paper's convention).
    pub fn energy(&self, v: ArrayView1<F>, h: ArrayView1<F>) -> Result<F> {
        check_len("visible vector length", self.weights.nrows(), v.len())?;
        check_len("hidden vector length", self.weights.ncols(), h.len())?;
        Ok(v.dot(&self.weights.dot(&h)) + self.visible_bias.dot(&v) + self.hidden_bias.dot(&h))
    }
}

/// Copies `bias` into every row of `out` (whose rows are contiguous).
fn fill_rows<F: Float>(mut out: faer::MatMut<'_, F>, bias: ArrayView1<F>) {
    for i in 0..out.nrows() {
        kernel::row_mut(out.as_mut(), i).iter_mut().zip(&bias).for_each(|(o, &b)| *o = b);
    }
}

/// What a step does after its field: nothing ([`Act::Field`]), means ([`Act::Means`]), or
/// means and samples ([`Act::Sample`]).
pub(crate) enum Act<'a, 'u, F> {
    Field,
    Means,
    Sample(Sampling<'a, 'u, F>),
}

/// Where a step's samples go and where their uniforms come from.
pub(crate) struct Sampling<'a, 'u, F> {
    /// Sample buffer, of the output's shape.
    samples: ArrayViewMut2<'a, F>,
    /// Uniforms, one per output element (row-major), at least as long as the output.
    uniforms: &'u mut [F],
    /// `None`: `uniforms` is already filled. `Some(seeds)`: block `b` of the step fills its
    /// own part of `uniforms` (row by row) from a generator seeded with `seeds[b]`, in
    /// parallel with the other block.
    seeds: Option<[u64; 2]>,
}

/// Fills `u` (a block of the uniforms matrix) row by row from a generator seeded with `seed`.
fn fill_block<F: Float>(mut u: ArrayViewMut2<F>, seed: u64) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for mut row in u.rows_mut() {
        match row.as_slice_mut() {
            Some(r) => F::fill_uniform(&mut rng, r),
            None => {
                let mut tmp = vec![F::zero(); row.len()];
                F::fill_uniform(&mut rng, &mut tmp);
                row.assign(&ndarray::ArrayView1::from(&tmp[..]));
            }
        }
    }
}

/// Turns the fields in `buf` into means in place, and writes samples (if asked) using uniforms
/// drawn in row-major order. Sequential; the training steps use the same per-block kernel in
/// parallel.
pub(crate) fn activate<F: Float, R: Rng + ?Sized>(
    units: Units,
    buf: ArrayViewMut2<F>,
    samples: Option<ArrayViewMut2<F>>,
    uniforms: &mut [F],
    rng: &mut R,
) {
    match samples {
        Some(samples) => {
            assert_eq!(samples.dim(), buf.dim(), "activate: sample buffer shape");
            let u = &mut uniforms[..buf.len()];
            F::fill_uniform(rng, u);
            let u = ArrayView2::from_shape(buf.dim(), &*u).expect("uniforms buffer holds the output's shape");
            activate_block(units, buf, Some(samples), Some(u));
        }
        None => activate_block(units, buf, None, None),
    }
}

/// [`activate_rows`] on an ndarray buffer.
fn activate_block<F: Float>(
    units: Units,
    buf: ArrayViewMut2<F>,
    samples: Option<ArrayViewMut2<F>>,
    u: Option<ArrayView2<F>>,
) {
    kernel::with_mat_mut(buf, |buf| activate_rows(units, buf, samples, u));
}

/// Fields → means in place (`σ(x)` for binary units, `tanh x = 2σ(2x) - 1` for spins) and, if
/// `samples` is given, samples `upper` where `u < p(upper)` (`u` has the block's shape).
/// Rows go through [`Float::activate_slice`] (one fused pass at the CPU's vector width); sample
/// and uniform rows that are not contiguous are copied first, with the same results.
fn activate_rows<F: Float>(
    units: Units,
    mut buf: faer::MatMut<'_, F>,
    samples: Option<ArrayViewMut2<F>>,
    u: Option<ArrayView2<F>>,
) {
    match (samples, u) {
        (Some(mut samples), Some(u)) => {
            let dim = (buf.nrows(), buf.ncols());
            assert_eq!(samples.dim(), dim, "activate: sample buffer shape");
            assert_eq!(u.dim(), dim, "activate: uniforms shape");
            for (i, (mut o, u)) in samples.rows_mut().into_iter().zip(u.rows()).enumerate() {
                let p = kernel::row_mut(buf.as_mut(), i);
                let u = u.as_standard_layout();
                let u = u.as_slice().expect("a standard-layout row is contiguous");
                match o.as_slice_mut() {
                    Some(o) => F::activate_slice(units, p, Some((o, u))),
                    None => {
                        let mut tmp = o.to_vec();
                        F::activate_slice(units, p, Some((&mut tmp, u)));
                        o.assign(&ndarray::ArrayView1::from(&tmp[..]));
                    }
                }
            }
        }
        _ => {
            for i in 0..buf.nrows() {
                F::activate_slice(units, kernel::row_mut(buf.as_mut(), i), None);
            }
        }
    }
}
