//! Deep belief networks: a stack of RBMs where the hidden layer of RBM `ℓ` is the visible layer
//! of RBM `ℓ + 1` (the paper's 1600 → 400 → 100 → 25).
//!
//! - Up pass ([`Dbn::up`]): data → layer 1 → … → top, by conditional means (mean field) or by
//!   samples. In the RG reading of the paper (docs/science.md §4) layer `ℓ` holds block spins after
//!   `ℓ` coarse-graining steps.
//! - Down pass ([`Dbn::down`]): top → … → data, by `p(v | h)` of each RBM.
//! - Generation ([`Dbn::generate`]): block Gibbs sampling in the top RBM, then a down pass.
//! - Greedy training lives in [`crate::greedy`]: RBM `ℓ` is trained on one sample of the up
//!   pass of the data through the layers below (samples, not means, so that the next layer's
//!   data are valid unit values), each layer with the seed its caller chose.
//! - Receptive fields ([`Dbn::receptive_fields`]): `W₁ W₂ … W_ℓ`, a `(n_visible, n_ℓ)` matrix
//!   whose column `j` is the effective field of unit `j` of layer `ℓ` (docs/science.md §6).

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Float, Rbm, Result, Units};

/// How a pass moves between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    /// Conditional means (deterministic; values inside `[lower, upper]`).
    Means,
    /// Samples from the conditionals (unit values).
    Samples,
}

/// A stack of RBMs whose layer sizes and units chain (checked on construction and on
/// deserialisation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float", try_from = "DbnLayers<F>")]
pub struct Dbn<F> {
    layers: Vec<Rbm<F>>,
}

/// The unchecked serialised form of a [`Dbn`].
#[derive(Deserialize)]
#[serde(bound = "F: Float")]
struct DbnLayers<F> {
    layers: Vec<Rbm<F>>,
}

impl<F: Float> TryFrom<DbnLayers<F>> for Dbn<F> {
    type Error = Error;
    fn try_from(l: DbnLayers<F>) -> Result<Self> {
        Dbn::new(l.layers)
    }
}

impl<F: Float> Dbn<F> {
    /// Checks that every RBM is valid and that RBM `ℓ`'s visible layer matches RBM `ℓ-1`'s
    /// hidden layer in size and units.
    pub fn new(layers: Vec<Rbm<F>>) -> Result<Self> {
        if layers.is_empty() {
            return Err(Error::NoLayers);
        }
        for (l, rbm) in layers.iter().enumerate() {
            rbm.validate()?;
            if l > 0 {
                let below = &layers[l - 1];
                if below.n_hidden() != rbm.n_visible() {
                    return Err(Error::LayersDoNotChain {
                        layer: l,
                        expected: below.n_hidden(),
                        found: rbm.n_visible(),
                    });
                }
                if below.hidden_units != rbm.visible_units {
                    return Err(Error::LayerUnitsDoNotChain {
                        layer: l,
                        expected: below.hidden_units,
                        found: rbm.visible_units,
                    });
                }
            }
        }
        Ok(Dbn { layers })
    }

    /// The RBMs, bottom first.
    pub fn layers(&self) -> &[Rbm<F>] {
        &self.layers
    }

    /// The RBMs, consuming the network.
    pub fn into_layers(self) -> Vec<Rbm<F>> {
        self.layers
    }

    /// Layer widths, data layer first (`[1600, 400, 100, 25]`).
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.layers[0].n_visible()).chain(self.layers.iter().map(|r| r.n_hidden())).collect()
    }

    /// Units of every layer, data layer first.
    pub fn units(&self) -> Vec<Units> {
        std::iter::once(self.layers[0].visible_units)
            .chain(self.layers.iter().map(|r| r.hidden_units))
            .collect()
    }

    /// Up pass: the representations of `data` at layers `1..=depth` (`depth` at most the
    /// number of RBMs; element `ℓ-1` is layer `ℓ`). Validates `data`.
    pub fn up<R: Rng + ?Sized>(
        &self,
        data: ArrayView2<F>,
        depth: usize,
        propagation: Propagation,
        rng: &mut R,
    ) -> Result<Vec<Array2<F>>> {
        self.check_depth(depth)?;
        self.layers[0].validate_visible(data)?;
        let mut out: Vec<Array2<F>> = Vec::with_capacity(depth);
        for (l, rbm) in self.layers[..depth].iter().enumerate() {
            let input = if l == 0 { data } else { out[l - 1].view() };
            let next = match propagation {
                Propagation::Means => rbm.hidden_means(input)?,
                Propagation::Samples => rbm.sample_hidden(input, rng)?,
            };
            out.push(next);
        }
        Ok(out)
    }

    /// Down pass from layer `depth` (a batch of its states) to the data layer; returns the
    /// data-layer states (means or samples). With [`Propagation::Means`] the inputs of the
    /// lower layers are means too (mean field).
    pub fn down<R: Rng + ?Sized>(
        &self,
        top: ArrayView2<F>,
        depth: usize,
        propagation: Propagation,
        rng: &mut R,
    ) -> Result<Array2<F>> {
        self.check_depth(depth)?;
        if depth == 0 {
            return Ok(top.to_owned());
        }
        let mut state = top.to_owned();
        for rbm in self.layers[..depth].iter().rev() {
            state = match propagation {
                Propagation::Means => rbm.visible_means(state.view())?,
                Propagation::Samples => rbm.sample_visible(state.view(), rng)?,
            };
        }
        Ok(state)
    }

    /// Generates `samples` data-layer configurations: `gibbs_steps` block Gibbs sweeps in the
    /// top RBM started from uniformly random states of its visible layer (or from one up-pass
    /// sample of `init` rows, cycled, if given), then a sampled down pass. Returns unit values.
    pub fn generate<R: Rng + ?Sized>(
        &self,
        samples: usize,
        gibbs_steps: usize,
        init: Option<ArrayView2<F>>,
        rng: &mut R,
    ) -> Result<Array2<F>> {
        if samples == 0 {
            return Err(Error::InvalidParameter {
                name: "samples",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        let top = self.layers.last().expect("a Dbn has at least one layer");
        let depth = self.layers.len();
        let mut v = match init {
            Some(data) => {
                let rows = data.nrows();
                if rows == 0 {
                    return Err(Error::EmptyData);
                }
                let picked =
                    data.select(ndarray::Axis(0), &(0..samples).map(|i| i % rows).collect::<Vec<_>>());
                if depth == 1 {
                    top.validate_visible(picked.view())?;
                    picked
                } else {
                    self.up(picked.view(), depth - 1, Propagation::Samples, rng)?
                        .pop()
                        .expect("depth - 1 >= 1 layers")
                }
            }
            None => {
                let u = top.visible_units;
                Array2::from_shape_fn((samples, top.n_visible()), |_| u.from_bit(rng.random::<bool>()))
            }
        };
        top.gibbs(&mut v, gibbs_steps, rng)?;
        self.down(v.view(), depth - 1, Propagation::Samples, rng)
    }

    /// Effective receptive fields of layer `depth`: the product `W₁ W₂ … W_depth` of shape
    /// `(n_visible, n_depth)` (docs/science.md §6). Column `j` is drawn as an image of the data.
    pub fn receptive_fields(&self, depth: usize) -> Result<Array2<F>> {
        self.check_depth(depth)?;
        if depth == 0 {
            return Err(Error::InvalidParameter { name: "depth", value: 0.0, reason: "must be at least 1" });
        }
        let mut m = self.layers[0].weights.clone();
        for rbm in &self.layers[1..depth] {
            m = m.dot(&rbm.weights);
        }
        Ok(m)
    }

    fn check_depth(&self, depth: usize) -> Result<()> {
        if depth > self.layers.len() {
            return Err(Error::InvalidParameter {
                name: "depth",
                value: depth as f64,
                reason: "is larger than the number of layers",
            });
        }
        Ok(())
    }
}
