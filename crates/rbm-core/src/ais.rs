//! Annealed importance sampling (AIS, Neal 2001; Salakhutdinov and Murray 2008) for `ln Z` of
//! RBMs too large to enumerate.
//!
//! The base model `A` has no hidden units' couplings: `p_A(v) ∝ e^{a_Aᵀv}` (visible biases
//! `a_A`, usually the base rates of the data, [`base_rate_bias`]), with `Z_0 = 2^{n_h}
//! Π_i Σ_{v_i} e^{a_A,i v_i}` when the target's hidden units are counted in. The intermediate
//! distributions, for `0 = β_0 < β_1 < … < β_K = 1`, are
//!
//! ```text
//! f_β(v) = e^{(1-β) a_Aᵀv + β a_Bᵀv} Π_j Σ_{h_j} e^{β h_j (b_j + (vᵀW)_j)}
//! ```
//!
//! so `f_0 ∝ p_A` and `f_1 = e^{-F_B(v)}`. Each chain starts from an exact sample of `p_A`,
//! accumulates `ln w = Σ_k [ln f_{β_k}(v_{k-1}) - ln f_{β_{k-1}}(v_{k-1})]` and moves by one
//! block Gibbs step that leaves `f_{β_k}` invariant. Then `Ẑ = Z_0 · mean(w)` is unbiased for
//! `Z`, and `ln Ẑ` is biased low by about `stderr²/2`.
//!
//! The error estimate is the delta-method standard error of `ln mean(w)`,
//! `stderr = sd(w) / (√M · mean(w))` over the `M` chains (reliable only when the effective
//! sample size `(Σw)²/Σw²` is not tiny; it is reported). From 32 chains on, the chains run as
//! two halves in parallel, each a batch with its own generator (the seed's stream and the same
//! stream jumped by 2^128); the split depends on the number of chains only, so results are
//! reproducible for a seed whatever the number of threads.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::rbm::activate;
use crate::{Error, Float, Rbm, Result, Units};

/// Chains from which AIS runs as two halves in parallel.
const PARALLEL_MIN_CHAINS: usize = 32;

/// How the inverse temperatures `β_k` are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum BetaSchedule {
    /// `β_k = k / K`.
    Linear,
    /// `β_k ∝ σ(δ (2k/K - 1))`, rescaled to run from 0 to 1: denser near both ends.
    /// `δ = 4` is a common choice.
    Sigmoid {
        /// Steepness `δ > 0`.
        steepness: f64,
    },
}

impl BetaSchedule {
    /// The `steps + 1` values `β_0 = 0, …, β_K = 1`.
    pub fn betas(self, steps: usize) -> Vec<f64> {
        let k = steps as f64;
        match self {
            BetaSchedule::Linear => (0..=steps).map(|i| i as f64 / k).collect(),
            BetaSchedule::Sigmoid { steepness } => {
                let s = |i: usize| 1.0 / (1.0 + (-steepness * (2.0 * i as f64 / k - 1.0)).exp());
                let (s0, s1) = (s(0), s(steps));
                (0..=steps).map(|i| if i == steps { 1.0 } else { (s(i) - s0) / (s1 - s0) }).collect()
            }
        }
    }
}

/// Parameters of an AIS run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisConfig {
    /// Independent annealing chains `M` (at least 2).
    pub chains: usize,
    /// Number of intermediate distributions `K` (at least 1).
    pub steps: usize,
    /// Spacing of the `β_k`.
    pub schedule: BetaSchedule,
    /// Seed of the run's generator.
    pub seed: u64,
}

impl AisConfig {
    /// Multiply-adds of an AIS log-likelihood ([`Rbm::estimate_log_likelihood`]) of an
    /// `n_visible → n_hidden` RBM on `rows` rows: every one of the `steps` transitions of every
    /// chain is a Gibbs sweep (two products of the layer's size), and the data's mean free
    /// energy one more product per row.
    pub fn log_likelihood_multiply_adds(&self, rows: usize, n_visible: usize, n_hidden: usize) -> f64 {
        let layer = n_visible as f64 * n_hidden as f64;
        (2.0 * self.chains as f64 * self.steps as f64 + rows as f64) * layer
    }
}

/// The largest cost of a final AIS log-likelihood, as a fraction of the layer's training
/// ([`crate::GreedyTrainer::ais_work_fraction`]), that `kadanoff train` spends by default;
/// over it the run reports no log-likelihood unless asked for one. Measured at 1600 → 400 on
/// 20,000 samples (2026-12-03, Xeon model 167): an AIS run costs about 1.45 times its share of
/// the multiply-adds in time (its products have 16 chains per core, fewer rows than the
/// training's mini-batches), monitoring 3.5% of an epoch and the setup about 0.1 s, so with 3%
/// the whole command stays near 10% of the training or below at every number of epochs: AIS
/// from 20 epochs on, where it adds 4.2% and the command is 1.09 times the training; without
/// it 1.10 at 3 epochs, against 1.37 when AIS ran whatever its cost.
pub const DEFAULT_AIS_WORK_FRACTION: f64 = 0.03;

/// The result of AIS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisEstimate {
    /// `ln Ẑ = ln Z_0 + ln mean(w)`.
    pub log_z: f64,
    /// Delta-method standard error of `log_z` (see the [module docs](self)).
    pub stderr: f64,
    /// `ln Z_0` of the base model (with the target's hidden units counted in).
    pub log_z_base: f64,
    /// `(Σw)² / Σw²`, between 1 and the number of chains.
    pub effective_sample_size: f64,
}

impl AisEstimate {
    /// Whether [`AisEstimate::stderr`] can be trusted for a run of `chains` chains: the
    /// delta-method error is computed from the weights themselves, so it means little when a
    /// few chains carry them all, and this asks for an effective sample size of at least a
    /// tenth of the chains (and at least 4). Even then it does not include the low bias of
    /// `log_z` for short schedules.
    pub fn stderr_is_reliable(&self, chains: usize) -> bool {
        self.effective_sample_size >= (chains as f64 / 10.0).max(4.0)
    }
}

/// Visible biases of the base-rate model: the logit (binary) or atanh (spin) of the data mean
/// per unit, the mean clamped to `[0.001, 0.999]` as a probability.
pub fn base_rate_bias<F: Float>(data: ArrayView2<F>, units: Units) -> Result<Array1<f64>> {
    crate::validate_data(data, data.ncols(), units)?;
    let n = data.nrows() as f64;
    // Row by row (the data are row-major): one pass in memory order.
    let mut sum = vec![0.0f64; data.ncols()];
    for row in data.rows() {
        for (s, &x) in sum.iter_mut().zip(row.iter()) {
            *s += x.to_f64();
        }
    }
    Ok(sum.iter().map(|&s| bias_for_mean(s / n, units)).collect())
}

/// The bias giving a lone unit the mean `mean`.
pub(crate) fn bias_for_mean(mean: f64, units: Units) -> f64 {
    let p = match units {
        Units::Binary => mean,
        Units::Spin => 0.5 * (1.0 + mean),
    };
    let p = p.clamp(0.001, 0.999);
    let logit = (p / (1.0 - p)).ln();
    match units {
        Units::Binary => logit,
        Units::Spin => 0.5 * logit, // atanh(mean)
    }
}

impl<F: Float> Rbm<F> {
    /// AIS estimate of `ln Z` from the base model with visible biases `base_bias` (see the
    /// [module docs](crate::ais)); `None` means the uniform base model (zero biases).
    pub fn ais_log_partition(
        &self,
        base_bias: Option<ArrayView1<f64>>,
        config: &AisConfig,
    ) -> Result<AisEstimate> {
        if config.chains < 2 {
            return Err(Error::InvalidParameter {
                name: "chains",
                value: config.chains as f64,
                reason: "must be at least 2",
            });
        }
        if config.steps == 0 {
            return Err(Error::InvalidParameter { name: "steps", value: 0.0, reason: "must be at least 1" });
        }
        if let BetaSchedule::Sigmoid { steepness } = config.schedule {
            if !(steepness.is_finite() && steepness > 0.0) {
                return Err(Error::InvalidParameter {
                    name: "steepness",
                    value: steepness,
                    reason: "must be finite and > 0",
                });
            }
        }
        let (nv, nh) = self.weights.dim();
        let base: Array1<f64> = match base_bias {
            Some(b) => {
                if b.len() != nv {
                    return Err(Error::ShapeMismatch {
                        what: "base bias length",
                        expected: nv,
                        found: b.len(),
                    });
                }
                if let Some(index) = b.iter().position(|x| !x.is_finite()) {
                    return Err(Error::NonFiniteParameter { name: "base_bias", index });
                }
                b.to_owned()
            }
            None => Array1::zeros(nv),
        };
        let vu = self.visible_units;
        let log_z_base = base.iter().map(|&a| vu.log_partition(a)).sum::<f64>() + nh as f64 * 2f64.ln();

        let m = config.chains;
        let betas = config.schedule.betas(config.steps);
        let base_f: Array1<F> = base.mapv(F::from_f64);
        let bias_diff: Array1<f64> = &self.visible_bias.mapv(|x| x.to_f64()) - &base;
        let bias_diff = bias_diff.as_slice().expect("standard layout");
        // Two halves of the chains, each with its own generator (the second one the first's
        // stream jumped by 2^128), run in parallel; the split depends on `chains` only.
        let rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        let log_w = if m >= PARALLEL_MIN_CHAINS {
            let mut rng1 = rng.clone();
            rng1.jump();
            let half = m / 2;
            let (mut a, b) = rayon::join(
                || self.ais_chains(half, &base_f, bias_diff, &betas, rng),
                || self.ais_chains(m - half, &base_f, bias_diff, &betas, rng1),
            );
            a.extend(b);
            a
        } else {
            self.ais_chains(m, &base_f, bias_diff, &betas, rng)
        };

        let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            return Err(Error::InvalidParameter {
                name: "log weights",
                value: max,
                reason: "AIS weights are not finite",
            });
        }
        let w: Vec<f64> = log_w.iter().map(|&l| (l - max).exp()).collect();
        let mf = m as f64;
        let mean = w.iter().sum::<f64>() / mf;
        let var = w.iter().map(|&x| (x - mean) * (x - mean)).sum::<f64>() / (mf - 1.0);
        let sum_sq: f64 = w.iter().map(|&x| x * x).sum();
        Ok(AisEstimate {
            log_z: log_z_base + max + mean.ln(),
            stderr: (var / mf).sqrt() / mean,
            log_z_base,
            effective_sample_size: (mean * mf) * (mean * mf) / sum_sq,
        })
    }

    /// `m` AIS chains through the inverse temperatures `betas` with generator `rng`: their
    /// log weights.
    fn ais_chains(
        &self,
        m: usize,
        base_f: &Array1<F>,
        bias_diff: &[f64],
        betas: &[f64],
        mut rng: Xoshiro256PlusPlus,
    ) -> Vec<f64> {
        let (nv, nh) = self.weights.dim();
        let (vu, hu) = (self.visible_units, self.hidden_units);
        let steps = betas.len() - 1;
        // Exact samples of the base model.
        let mut v = Array2::<F>::zeros((m, nv));
        let mut vfield = Array2::<F>::zeros((m, nv));
        for mut row in vfield.rows_mut() {
            row.assign(base_f);
        }
        let mut uniforms = vec![F::zero(); m * nv.max(nh)];
        activate(vu, vfield.view_mut(), Some(v.view_mut()), &mut uniforms, &mut rng);

        let mut x = Array2::<F>::zeros((m, nh)); // b + vW
        let mut hfield = Array2::<F>::zeros((m, nh));
        let mut h = Array2::<F>::zeros((m, nh));
        let mut log_w = vec![0.0f64; m];
        for k in 1..=steps {
            let (b0, b1) = (betas[k - 1], betas[k]);
            // Weight update at the current state: ln f_{β_k}(v) - ln f_{β_{k-1}}(v).
            self.hidden_field_into_unchecked(v.view(), x.view_mut());
            for ((lw, vr), xr) in log_w.iter_mut().zip(v.rows()).zip(x.rows()) {
                let (vr, xr) =
                    (vr.as_slice().expect("standard layout"), xr.as_slice().expect("standard layout"));
                let lin = crate::kernel::vectorized(
                    #[inline(always)]
                    || crate::float::dot_f64_lanes(vr, bias_diff),
                );
                *lw += (b1 - b0) * lin + F::sum_log_partition_ratio(hu, xr, b0, b1);
            }
            if k == steps {
                break;
            }
            // One Gibbs step leaving f_{β_k} invariant, the model at β_k with visible bias
            // (1-β) a_A + β a_B: hidden fields β x (x is already at hand), visible fields
            // (1-β) a_A + β (a_B + h Wᵀ). No scaled copy of the model.
            let bf = F::from_f64(b1);
            let one_minus = F::from_f64(1.0 - b1);
            ndarray::Zip::from(&mut hfield).and(&x).for_each(|f, &x| *f = bf * x);
            activate(hu, hfield.view_mut(), Some(h.view_mut()), &mut uniforms, &mut rng);
            self.visible_field_into_unchecked(h.view(), vfield.view_mut());
            for mut row in vfield.rows_mut() {
                ndarray::Zip::from(&mut row).and(base_f).for_each(|f, &a0| *f = one_minus * a0 + bf * *f);
            }
            activate(vu, vfield.view_mut(), Some(v.view_mut()), &mut uniforms, &mut rng);
        }
        log_w
    }
}

/// How a [`LogLikelihood`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LikelihoodMethod {
    /// `ln Z` by enumeration of the smaller layer (no statistical error).
    Exact,
    /// `ln Z` by annealed importance sampling.
    Ais,
}

impl LikelihoodMethod {
    /// `"exact"` or `"ais"` (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            LikelihoodMethod::Exact => "exact",
            LikelihoodMethod::Ais => "ais",
        }
    }
}

/// A mean log-likelihood per sample (nats) and how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLikelihood {
    /// `(1/n) Σ_n ln p(v_n)`.
    pub value: f64,
    /// Standard error of `value` (that of the AIS `ln Z`; 0 when exact).
    pub stderr: f64,
    /// Exact or AIS.
    pub method: LikelihoodMethod,
    /// The AIS estimate of `ln Z` (AIS only).
    pub ais: Option<AisEstimate>,
}

impl<F: Float> Rbm<F> {
    /// The mean log-likelihood of `data` under this model: exact (in `f64`) when enumerating
    /// the smaller layer costs at most [`MAX_EXACT_TERMS`](crate::MAX_EXACT_TERMS) terms
    /// ([`Rbm::exact_terms`]), else by AIS from the data's base-rate model ([`base_rate_bias`])
    /// with `ais`, or `None` when `ais` is `None`; [`Rbm::estimate_log_likelihood_within`]
    /// takes another budget.
    /// AIS and the free energies run in the model's float type (fields in `F`, sums and log
    /// weights in `f64`, as [`monitor::mean_free_energy`](crate::monitor::mean_free_energy)):
    /// for `f32` the rounding is far below AIS's statistical error and the cost a fraction of
    /// an `f64` run. Uses memory of the order of the model, not of a copy of `data`.
    pub fn estimate_log_likelihood(
        &self,
        data: ArrayView2<F>,
        ais: Option<&AisConfig>,
    ) -> Result<Option<LogLikelihood>> {
        self.estimate_log_likelihood_within(data, ais, crate::MAX_EXACT_TERMS)
    }

    /// [`Rbm::estimate_log_likelihood`], exact when [`Rbm::exact_terms`] is at most
    /// `max_exact_terms` (and the smaller layer has at most
    /// [`MAX_EXACT_UNITS`](crate::MAX_EXACT_UNITS) units): `u64::MAX` asks for the exact value
    /// whenever it can be had, 0 never.
    pub fn estimate_log_likelihood_within(
        &self,
        data: ArrayView2<F>,
        ais: Option<&AisConfig>,
        max_exact_terms: u64,
    ) -> Result<Option<LogLikelihood>> {
        self.validate_visible(data)?;
        if self.exact_terms().is_some_and(|t| t <= max_exact_terms) {
            let log_z = self.to_f64().exact_log_partition()?;
            let value = self.log_likelihood_with(data, log_z)?;
            return Ok(Some(LogLikelihood {
                value,
                stderr: 0.0,
                method: LikelihoodMethod::Exact,
                ais: None,
            }));
        }
        let Some(config) = ais else { return Ok(None) };
        let base = base_rate_bias(data, self.visible_units)?;
        let est = self.ais_log_partition(Some(base.view()), config)?;
        let value = -crate::monitor::mean_free_energy(self, data)? - est.log_z;
        Ok(Some(LogLikelihood { value, stderr: est.stderr, method: LikelihoodMethod::Ais, ais: Some(est) }))
    }
}
