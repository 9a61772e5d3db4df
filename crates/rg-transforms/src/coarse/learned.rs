//! The learned kernel: a convolutional RBM with stride `b` whose hidden units sit on the
//! coarse lattice.
//!
//! Units and signs: visible spins `v_i = ±1` on an `L×L` torus, hidden spins `h_J = ±1` on the
//! `(L/b)×(L/b)` torus, ML sign convention as in `rbm_core` (`E(v, h) = −vᵀWh`), no biases
//! (the Ising data are symmetric under a global flip, and so is the kernel). Hidden unit
//! `J = (X, Y)` sees the `w×w` window of fine sites `(bX − o + dx, bY − o + dy)`, `0 ≤ dx, dy < w`,
//! `o = (w − b)/2`, through one shared filter `f[dy·w + dx]`; its field is
//! `a_J(v) = Σ_{dx,dy} f[dy·w + dx] v(bX − o + dx, bY − o + dy)` and
//!
//! `p(h | v) = Π_J e^{h_J a_J} / 2cosh a_J`,
//!
//! the kernel `T(v, h) = ln p(h | v)`. For `w = b` the windows are the blocks of majority rule;
//! a uniform filter `f = λ` is the stochastic block spin of strength `λ`.
//!
//! Training ([`ConvTrainer`]) is contrastive divergence (CD-k, or persistent CD) on the RBM's
//! visible marginal with the tied-weight gradient
//! `∂ ln p(v)/∂f_k = Σ_J v_{J,k} tanh a_J(v) − ⟨same⟩_model`, summed over the tied positions
//! `J` (`v_{J,k}` is the visible spin at position `k` of `J`'s window) and divided by their
//! number. [`ConvKernel::to_rbm`] writes the same model as a dense `rbm_core::Rbm<f64>`, for
//! `crate::mapping::exact_mapping` on lattices small enough to enumerate.

use lattice_physics::{Configurations, Lattice};
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rbm_core::{Rbm, Units};
use serde::{Deserialize, Serialize};

use super::CoarseKernel;
use crate::block::{check_lattice, coarse_lattice};
use crate::error::{finite, Error, Result};
use crate::kernel::ln_2cosh;

/// A convolutional RBM kernel with stride `b` and a `w×w` filter (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvKernel {
    fine: Lattice,
    coarse: Lattice,
    factor: usize,
    window: usize,
    filter: Vec<f64>,
}

/// The parameters of a [`ConvKernel`] without a lattice, as stored in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvFilter {
    /// Block factor (stride) `b`.
    pub factor: usize,
    /// Window side `w ≥ b`, `w − b` even.
    pub window: usize,
    /// The filter `f[dy·w + dx]`, `w²` values.
    pub filter: Vec<f64>,
}

impl ConvKernel {
    /// Validate a kernel on the square lattice `fine`: `b ≥ 2` divides `L`, `b ≤ w ≤ L`,
    /// `w − b` even, `w²` finite filter values.
    pub fn new(fine: Lattice, factor: usize, window: usize, filter: Vec<f64>) -> Result<Self> {
        if fine.dimension() != 2 {
            return Err(Error::InvalidParameter {
                name: "lattice",
                reason: "the convolutional kernel is defined on the square lattice",
            });
        }
        let coarse = coarse_lattice(fine, factor)?;
        if window < factor || (window - factor) % 2 != 0 || window > fine.linear_size() {
            return Err(Error::InvalidParameter {
                name: "window",
                reason: "must satisfy b ≤ w ≤ L with w − b even (windows centred on their blocks)",
            });
        }
        if filter.len() != window * window {
            return Err(Error::SizeMismatch { what: "filter", got: filter.len(), expected: window * window });
        }
        for &x in &filter {
            finite("filter value", x)?;
        }
        Ok(ConvKernel { fine, coarse, factor, window, filter })
    }

    /// The kernel of a stored filter on lattice `fine`.
    pub fn from_filter(fine: Lattice, f: &ConvFilter) -> Result<Self> {
        ConvKernel::new(fine, f.factor, f.window, f.filter.clone())
    }

    /// The lattice-free parameters.
    pub fn to_filter(&self) -> ConvFilter {
        ConvFilter { factor: self.factor, window: self.window, filter: self.filter.clone() }
    }

    /// The same kernel with the sign of `h` chosen so that the filter sums to a non-negative
    /// value (the RBM is invariant under `f → −f, h → −h`; the aligned coarse spin follows the
    /// majority of the spins it sees, as block spins do).
    pub fn aligned(mut self) -> Self {
        if self.filter.iter().sum::<f64>() < 0.0 {
            self.filter.iter_mut().for_each(|x| *x = -*x);
        }
        self
    }

    /// The window side `w`.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The filter, row-major `w×w`.
    pub fn filter(&self) -> &[f64] {
        &self.filter
    }

    /// Fine site seen by hidden unit `(xc, yc)` at window position `(dx, dy)`.
    #[inline]
    fn site(&self, xc: usize, yc: usize, dx: usize, dy: usize) -> usize {
        let l = self.fine.linear_size();
        let o = (self.window - self.factor) / 2;
        let x = (self.factor * xc + dx + l - o) % l;
        let y = (self.factor * yc + dy + l - o) % l;
        y * l + x
    }

    /// Hidden fields `a_J(v)` into `out` (coarse sites). Callers guarantee the lengths.
    fn fields_into(&self, v: &[i8], out: &mut [f64]) {
        let lc = self.coarse.linear_size();
        let w = self.window;
        for yc in 0..lc {
            for xc in 0..lc {
                let mut a = 0.0;
                for dy in 0..w {
                    for dx in 0..w {
                        a += self.filter[dy * w + dx] * v[self.site(xc, yc, dx, dy)] as f64;
                    }
                }
                out[yc * lc + xc] = a;
            }
        }
    }

    /// Visible fields `Σ_J W_{iJ} h_J` into `out` (fine sites). Callers guarantee the lengths.
    fn visible_fields_into(&self, h: &[i8], out: &mut [f64]) {
        out.iter_mut().for_each(|x| *x = 0.0);
        let lc = self.coarse.linear_size();
        let w = self.window;
        for yc in 0..lc {
            for xc in 0..lc {
                let hj = h[yc * lc + xc] as f64;
                for dy in 0..w {
                    for dx in 0..w {
                        out[self.site(xc, yc, dx, dy)] += self.filter[dy * w + dx] * hj;
                    }
                }
            }
        }
    }

    /// The same model as a dense `rbm_core::Rbm<f64>` (spin units on both layers, no biases):
    /// `W[i, J]` is the sum of the filter values through which `J` sees site `i`; hidden unit
    /// `J` is coarse site `J` (row-major).
    pub fn to_rbm(&self) -> Result<Rbm<f64>> {
        let (n, m) = (self.fine.num_sites(), self.coarse.num_sites());
        let lc = self.coarse.linear_size();
        let w = self.window;
        let mut weights = Array2::zeros((n, m));
        for yc in 0..lc {
            for xc in 0..lc {
                for dy in 0..w {
                    for dx in 0..w {
                        weights[(self.site(xc, yc, dx, dy), yc * lc + xc)] += self.filter[dy * w + dx];
                    }
                }
            }
        }
        Ok(Rbm::new(weights, Array1::zeros(n), Array1::zeros(m), Units::Spin, Units::Spin)?)
    }
}

impl CoarseKernel for ConvKernel {
    fn fine(&self) -> Lattice {
        self.fine
    }
    fn coarse(&self) -> Lattice {
        self.coarse
    }
    fn factor(&self) -> usize {
        self.factor
    }
    fn name(&self) -> String {
        format!("learned:w{}", self.window)
    }
    fn resized(&self, fine: Lattice) -> Result<Self> {
        ConvKernel::new(fine, self.factor, self.window, self.filter.clone())
    }
    fn sample_unchecked<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) {
        let lc = self.coarse.linear_size();
        let w = self.window;
        for yc in 0..lc {
            for xc in 0..lc {
                let mut a = 0.0;
                for dy in 0..w {
                    for dx in 0..w {
                        a += self.filter[dy * w + dx] * v[self.site(xc, yc, dx, dy)] as f64;
                    }
                }
                let p = 1.0 / (1.0 + (-2.0 * a).exp());
                h[yc * lc + xc] = if rng.random::<f64>() < p { 1 } else { -1 };
            }
        }
    }
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64 {
        let lc = self.coarse.linear_size();
        let w = self.window;
        let mut lp = 0.0;
        for yc in 0..lc {
            for xc in 0..lc {
                let mut a = 0.0;
                for dy in 0..w {
                    for dx in 0..w {
                        a += self.filter[dy * w + dx] * v[self.site(xc, yc, dx, dy)] as f64;
                    }
                }
                lp += h[yc * lc + xc] as f64 * a - ln_2cosh(a);
            }
        }
        lp
    }
}

/// How a [`ConvKernel`] is trained. No `Default`: every choice changes the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvTrainConfig {
    /// Block factor (stride) `b`.
    pub factor: usize,
    /// Window side `w` (`b ≤ w`, `w − b` even).
    pub window: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Configurations per gradient step.
    pub batch_size: usize,
    /// Learning rate (the gradient is averaged over the batch and the tied positions).
    pub learning_rate: f64,
    /// Gibbs steps `k` of the negative phase.
    pub cd_steps: usize,
    /// Persistent chains (PCD) instead of chains restarted at the data (CD-k).
    pub persistent: bool,
    /// Standard deviation of the initial filter values (mean zero).
    pub init_std: f64,
}

impl ConvTrainConfig {
    fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.batch_size == 0 || self.cd_steps == 0 {
            return Err(Error::InvalidParameter {
                name: "training configuration",
                reason: "epochs, batch size and CD steps must be at least 1",
            });
        }
        if finite("learning rate", self.learning_rate)? <= 0.0 {
            return Err(Error::OutOfRange {
                name: "learning rate",
                value: self.learning_rate,
                reason: "must be positive",
            });
        }
        if finite("init std", self.init_std)? < 0.0 {
            return Err(Error::OutOfRange {
                name: "init std", value: self.init_std, reason: "must be ≥ 0"
            });
        }
        Ok(())
    }
}

/// Per-epoch training measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConvEpoch {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Fraction of visible spins changed by one Gibbs step `v → h → v'` from the data.
    pub reconstruction_error: f64,
    /// Mean `|a_J|` on the data (how decisive the kernel is).
    pub mean_abs_field: f64,
}

/// All mutable state of [`ConvKernel`] training: the kernel, persistent chains, scratch.
#[derive(Debug, Clone)]
pub struct ConvTrainer {
    kernel: ConvKernel,
    config: ConvTrainConfig,
    epoch: usize,
    chains: Vec<i8>,
    grad: Vec<f64>,
    hfield: Vec<f64>,
    vfield: Vec<f64>,
    h: Vec<i8>,
    v: Vec<i8>,
}

impl ConvTrainer {
    /// A trainer on lattice `fine` with a random initial filter drawn from `rng`.
    pub fn new<R: Rng + ?Sized>(fine: Lattice, config: ConvTrainConfig, rng: &mut R) -> Result<Self> {
        config.validate()?;
        let w = config.window;
        let filter = (0..w * w)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                config.init_std * z
            })
            .collect();
        let kernel = ConvKernel::new(fine, config.factor, w, filter)?;
        let (n, m) = (fine.num_sites(), kernel.coarse.num_sites());
        Ok(ConvTrainer {
            kernel,
            config,
            epoch: 0,
            chains: Vec::new(),
            grad: vec![0.0; w * w],
            hfield: vec![0.0; m],
            vfield: vec![0.0; n],
            h: vec![0; m],
            v: vec![0; n],
        })
    }

    /// The kernel as trained so far.
    pub fn kernel(&self) -> &ConvKernel {
        &self.kernel
    }

    /// Add `sign · Σ_J v_{J,k} tanh a_J(v)` to the gradient.
    fn accumulate(&mut self, v_is_chain: Option<usize>, data: &[i8], sign: f64) {
        let (n, w) = (self.kernel.fine.num_sites(), self.kernel.window);
        let v: &[i8] = match v_is_chain {
            Some(c) => &self.chains[c * n..(c + 1) * n],
            None => data,
        };
        self.kernel.fields_into(v, &mut self.hfield);
        let lc = self.kernel.coarse.linear_size();
        for yc in 0..lc {
            for xc in 0..lc {
                let t = sign * self.hfield[yc * lc + xc].tanh();
                for dy in 0..w {
                    for dx in 0..w {
                        self.grad[dy * w + dx] += t * v[self.kernel.site(xc, yc, dx, dy)] as f64;
                    }
                }
            }
        }
    }

    /// One Gibbs step `v → h → v` in place on `self.v`.
    fn gibbs_in_place<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.kernel.sample_unchecked(&self.v, &mut self.h, rng);
        self.kernel.visible_fields_into(&self.h, &mut self.vfield);
        for (x, &f) in self.v.iter_mut().zip(&self.vfield) {
            let p = 1.0 / (1.0 + (-2.0 * f).exp());
            *x = if rng.random::<f64>() < p { 1 } else { -1 };
        }
    }

    /// One pass over `data` (on the kernel's fine lattice) in a random order drawn from `rng`.
    pub fn epoch<R: Rng + ?Sized>(&mut self, data: &Configurations, rng: &mut R) -> Result<ConvEpoch> {
        check_lattice(data, self.kernel.fine)?;
        let (n, samples) = (self.kernel.fine.num_sites(), data.samples());
        let data = data.as_slice();
        let mut order: Vec<usize> = (0..samples).collect();
        for i in (1..samples).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let bs = self.config.batch_size.min(samples);
        if self.config.persistent && self.chains.len() != bs * n {
            self.chains =
                order[..bs].iter().flat_map(|&i| data[i * n..(i + 1) * n].iter().copied()).collect();
        }
        let positions = self.kernel.coarse.num_sites() as f64;
        let (mut changed, mut field_sum, mut seen) = (0usize, 0.0, 0usize);
        for batch in order.chunks(bs) {
            self.grad.iter_mut().for_each(|g| *g = 0.0);
            for (c, &i) in batch.iter().enumerate() {
                let x = &data[i * n..(i + 1) * n];
                self.accumulate(None, x, 1.0);
                field_sum += self.hfield.iter().map(|a| a.abs()).sum::<f64>() / positions;
                // Reconstruction error from the data, then the negative phase.
                self.v.copy_from_slice(x);
                self.gibbs_in_place(rng);
                changed += self.v.iter().zip(x).filter(|(a, b)| a != b).count();
                seen += 1;
                if self.config.persistent {
                    let chain = c % (self.chains.len() / n);
                    self.v.copy_from_slice(&self.chains[chain * n..(chain + 1) * n]);
                    for _ in 0..self.config.cd_steps {
                        self.gibbs_in_place(rng);
                    }
                    self.chains[chain * n..(chain + 1) * n].copy_from_slice(&self.v);
                } else {
                    for _ in 1..self.config.cd_steps {
                        self.gibbs_in_place(rng);
                    }
                }
                let neg = std::mem::take(&mut self.v);
                self.accumulate(None, &neg, -1.0);
                self.v = neg;
            }
            let scale = self.config.learning_rate / (batch.len() as f64 * positions);
            for (f, g) in self.kernel.filter.iter_mut().zip(&self.grad) {
                *f += scale * g;
            }
        }
        if self.kernel.filter.iter().any(|x| !x.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "learning rate",
                reason: "training diverged (non-finite filter); lower the learning rate",
            });
        }
        self.epoch += 1;
        Ok(ConvEpoch {
            epoch: self.epoch,
            reconstruction_error: changed as f64 / (seen * n) as f64,
            mean_abs_field: field_sum / seen as f64,
        })
    }
}

/// Train a [`ConvKernel`] on `data` (on its fine lattice) for `config.epochs` epochs; returns
/// the kernel, [`ConvKernel::aligned`], and the per-epoch measurements.
pub fn train_conv_kernel<R: Rng + ?Sized>(
    data: &Configurations,
    config: &ConvTrainConfig,
    rng: &mut R,
) -> Result<(ConvKernel, Vec<ConvEpoch>)> {
    let mut trainer = ConvTrainer::new(data.lattice(), config.clone(), rng)?;
    let mut history = Vec::new();
    for _ in 0..config.epochs {
        history.push(trainer.epoch(data, rng)?);
    }
    Ok((trainer.kernel.aligned(), history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coarse::BlockSpin;
    use crate::mapping::{exact_mapping, MappingOptions, SpinHamiltonian};
    use lattice_physics::rng::chain_rng;
    use lattice_physics::IsingModel;

    fn configs(n: usize) -> impl Iterator<Item = Vec<i8>> {
        (0..1u32 << n).map(move |bits| (0..n).map(|i| if bits >> i & 1 == 1 { 1 } else { -1 }).collect())
    }

    fn log_sum_exp(xs: &[f64]) -> f64 {
        let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    }

    #[test]
    fn uniform_filter_is_the_block_spin() {
        let lat = Lattice::square(6).unwrap();
        let conv = ConvKernel::new(lat, 2, 2, vec![0.7; 4]).unwrap();
        let bs = BlockSpin::new(lat, 2, 0.7).unwrap();
        let mut rng = chain_rng(1, 0);
        for _ in 0..50 {
            let v: Vec<i8> = (0..36).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
            let h: Vec<i8> = (0..9).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
            let (a, b) = (conv.log_prob(&v, &h).unwrap(), bs.log_prob(&v, &h).unwrap());
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn window_geometry_is_centred_on_the_block() {
        // w = 4, b = 2 on 8×8: hidden (1, 0) sees x = 1..=4, y = 7, 0, 1, 2 (periodic).
        let lat = Lattice::square(8).unwrap();
        let mut filter = vec![0.0; 16];
        filter[0] = 1.0; // top-left of the window
        let k = ConvKernel::new(lat, 2, 4, filter).unwrap();
        let rbm = k.to_rbm().unwrap();
        let col: Vec<usize> = (0..64).filter(|&i| rbm.weights()[(i, 1)] != 0.0).collect();
        assert_eq!(col, vec![7 * 8 + 1]);
        assert!(ConvKernel::new(lat, 2, 3, vec![0.0; 9]).is_err());
        assert!(ConvKernel::new(lat, 2, 10, vec![0.0; 100]).is_err());
        assert!(ConvKernel::new(lat, 2, 4, vec![0.0; 15]).is_err());
        assert!(ConvKernel::new(lat, 2, 2, vec![f64::NAN; 4]).is_err());
        assert!(ConvKernel::new(Lattice::ring(8).unwrap(), 2, 2, vec![0.0; 4]).is_err());
    }

    /// 4×4 → 2×2 with overlapping 4×4 windows: the exact mapping of the dense RBM, checked
    /// against brute-force sums over all (v, h) written here independently.
    #[test]
    fn exact_mapping_of_the_learned_kernel_matches_brute_force() {
        let lat = Lattice::square(4).unwrap();
        let mut rng = chain_rng(4, 0);
        let filter: Vec<f64> = (0..16).map(|_| 0.3 * rng.random::<f64>() - 0.05).collect();
        let k = ConvKernel::new(lat, 2, 4, filter).unwrap();
        let rbm = k.to_rbm().unwrap();
        let kc = 0.4;
        let ham = SpinHamiltonian::ising(&IsingModel::new(lat, kc, 0.0).unwrap()).unwrap();
        let report = exact_mapping(&ham, &rbm, &MappingOptions { double_sums: true }).unwrap();
        // Brute force: H(v) by hand, -E(v,h) = Σ_J h_J a_J(v) from the kernel's own fields.
        let vs: Vec<Vec<i8>> = configs(16).collect();
        let hs: Vec<Vec<i8>> = configs(4).collect();
        let h_of = |v: &[i8]| {
            let mut b = 0.0;
            for y in 0..4 {
                for x in 0..4 {
                    let s = v[y * 4 + x] as f64;
                    b += s * (v[y * 4 + (x + 1) % 4] as f64 + v[((y + 1) % 4) * 4 + x] as f64);
                }
            }
            -kc * b
        };
        let minus_e: Vec<Vec<f64>> = vs
            .iter()
            .map(|v| {
                let mut a = vec![0.0; 4];
                k.fields_into(v, &mut a);
                hs.iter().map(|h| h.iter().zip(&a).map(|(&x, y)| x as f64 * y).sum()).collect()
            })
            .collect();
        let ln_z_rbm = log_sum_exp(&minus_e.iter().flatten().copied().collect::<Vec<_>>());
        let ln_z_h = log_sum_exp(&vs.iter().map(|v| -h_of(v)).collect::<Vec<_>>());
        let mut kl = 0.0;
        let mut trace_logs = Vec::new();
        for (v, row) in vs.iter().zip(&minus_e) {
            let ln_p_data = -h_of(v) - ln_z_h;
            let ln_p_rbm = log_sum_exp(row) - ln_z_rbm;
            kl += ln_p_data.exp() * (ln_p_data - ln_p_rbm);
            // T = −E + H: ln Σ_h e^{T} = ln Σ_h e^{−E} + H(v).
            trace_logs.push(log_sum_exp(row) + h_of(v));
        }
        let mean: f64 = vs.iter().zip(&trace_logs).map(|(v, t)| (-h_of(v) - ln_z_h).exp() * t).sum();
        let max_dev = trace_logs.iter().map(|t| (t - mean).abs()).fold(0.0, f64::max);
        assert!((report.ln_z_rbm - ln_z_rbm).abs() < 1e-9, "{} vs {ln_z_rbm}", report.ln_z_rbm);
        assert!((report.kl_divergence - kl).abs() < 1e-9, "KL {} vs {kl}", report.kl_divergence);
        assert!(kl > 1e-3, "a random filter is not an exact RG step");
        assert!((report.trace_log_mean - mean).abs() < 1e-9);
        assert!((report.trace_violation_max - max_dev).abs() < 1e-9);
        // The normalised kernel T' = ln p(h|v) of the mapping is the kernel's own log_prob.
        let norm = report.normalized.as_ref().unwrap();
        assert!(norm.trace_violation_max < 1e-12);
        let v = &vs[12345];
        for h in &hs {
            let lp = crate::mapping::normalized_kernel_log_weight(&rbm, v, h).unwrap();
            assert!((lp - k.log_prob(v, h).unwrap()).abs() < 1e-12);
        }
    }

    #[test]
    fn training_on_ordered_data_learns_a_ferromagnetic_block_filter() {
        // Data from the Ising model at K = 0.6 (ordered, ξ small): the learned filter should
        // couple each hidden unit positively to its own block, and CD must lower the
        // reconstruction error from the random start.
        let l = 8;
        let lat = Lattice::square(l).unwrap();
        let model = IsingModel::new(lat, 0.6, 0.0).unwrap();
        use lattice_physics::sampler::{Sampler, Wolff};
        let mut sampler = Wolff::new(model).unwrap();
        let mut rng = chain_rng(8, 0);
        let mut spins = lattice_physics::Spins::random(lat, &mut rng);
        let mut data = Vec::new();
        for i in 0..1500 {
            sampler.sweep(&mut spins, &mut rng);
            if i >= 100 {
                data.extend_from_slice(spins.as_slice());
            }
        }
        let config = ConvTrainConfig {
            factor: 2,
            window: 2,
            epochs: 10,
            batch_size: 20,
            learning_rate: 0.05,
            cd_steps: 1,
            persistent: false,
            init_std: 0.01,
        };
        let data = Configurations::new(lat, data).unwrap();
        let (k, history) = train_conv_kernel(&data, &config, &mut rng).unwrap();
        let first = history[0].reconstruction_error;
        let last = history.last().unwrap().reconstruction_error;
        assert!(last < first, "reconstruction error {first} → {last}");
        assert!(k.filter().iter().all(|&x| x > 0.05), "filter {:?} (aligned)", k.filter());
        // Persistent chains learn the same kind of filter.
        let pcd = ConvTrainConfig { persistent: true, epochs: 5, ..config.clone() };
        let (kp, _) = train_conv_kernel(&data, &pcd, &mut rng).unwrap();
        assert!(kp.filter().iter().all(|&x| x > 0.05), "PCD filter {:?}", kp.filter());
        let bad = ConvTrainConfig { learning_rate: -1.0, ..config };
        assert!(ConvTrainer::new(lat, bad, &mut rng).is_err());
    }
}
