//! RBM flows (Iso, Shiba and Yokoo 2018; docs/science.md §7): one RBM trained on configurations
//! from several couplings, then iterated `v → h → v′ → h′ → …`, with the coupling of the flowing
//! configurations read by the exact thermometer ([`crate::thermometer`]) at every step.
//!
//! # Units and sign convention
//!
//! Couplings are dimensionless (`K = βJ`), `H = −K Σ_<ij> s_i s_j` on the `L×L` torus; energy per
//! site `e = −B/N`, magnetisation per site `m = M/N` (as in [`crate::thermometer`]). The RBM is an
//! `rbm_core::Rbm<f32>` with spin (`±1`) visible units, one visible unit per site in the
//! lattice's site order, in rbm-core's ML sign convention.
//!
//! # The pieces
//!
//! - [`mixture`]: a data set assembled from Monte Carlo runs at several couplings
//!   ([`lattice_physics::dataset::generate`]); coupling `i` of the list uses the seed
//!   `derive(seed, "rbm-flow", i)` ([`lattice_physics::rng::derive`], the workspace's one seeding scheme), so every coupling
//!   has its own stream and the data depend on the seed only. The coupling of every sample is kept.
//! - [`train_on_mixture`]: one RBM (spin units on both layers, `hidden` hidden units) trained on all
//!   of it with [`rbm_core::Trainer`], one epoch at a time.
//! - [`flow`]: from configurations at a starting coupling, `steps` steps of the flow. A step maps
//!   every configuration `v` to `h` and then to `v′ ~ p(v | h)`: in [`FlowMode::Sampled`] `h` is
//!   sampled from `p(h | v)`, in [`FlowMode::MeanField`] it is the conditional mean `⟨h | v⟩`
//!   (real-valued; `p(v | h)` is then evaluated at that mean). Either way `v′` is sampled, so that
//!   every step yields `±1` configurations whose energy the thermometer can read.
//!   Step 0 is the reading of the starting configurations themselves.
//! - [`apparent_fixed_point`]: where a set of flows stops moving: the mean of the readings of the
//!   last steps over all flows, with their spread.
//!
//! # Reproducibility
//!
//! The flow draws every random number sequentially from the one generator seeded by
//! [`FlowConfig::seed`]; rbm-core's matrix products do not depend on the number of threads, nor
//! does the Monte Carlo generation. The same seeds give the same flow whatever the thread count.
//!
//! What this module does not claim: a direction of the flow. That is what the experiment measures.

use lattice_physics::dataset::{generate, DatasetConfig, Sweeps};
use lattice_physics::rng::{derive, ChainRng};
use lattice_physics::sampler::Algorithm;
use lattice_physics::stats::Estimate;
use lattice_physics::{Configurations, IsingModel, Lattice};
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rbm_core::{Rbm, TrainConfig, Trainer, Units};
use serde::{Deserialize, Serialize};

use crate::error::{finite, Error, Result};
use crate::thermometer::{self, MagnetizationReadout};

/// What [`mixture`] generates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureConfig {
    /// The square torus every configuration lives on.
    pub lattice: Lattice,
    /// The couplings of the mixture (each finite, `K ≥ 0` for the cluster algorithms).
    pub couplings: Vec<f64>,
    /// Configurations per coupling (at least `lattice_physics::observables::MIN_SAMPLES`).
    pub samples_per_coupling: usize,
    /// The Monte Carlo algorithm.
    pub algorithm: Algorithm,
    /// Independent chains per coupling.
    pub chains: usize,
    /// Thermalisation per chain.
    pub thermalize: Sweeps,
    /// Thinning between retained configurations.
    pub thin: Sweeps,
    /// Master seed; coupling `i` uses `derive(seed, "rbm-flow", i)`.
    pub seed: u64,
}

/// A data set from several couplings.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture {
    /// The configurations on the torus: all samples of coupling 0, then of coupling 1, and so on.
    pub configurations: Configurations,
    /// The coupling of every sample.
    pub sample_couplings: Vec<f64>,
}

impl Mixture {
    /// Number of configurations.
    pub fn samples(&self) -> usize {
        self.sample_couplings.len()
    }

    /// The configurations as an `f32` matrix (`samples × N`) for rbm-core.
    pub fn to_matrix(&self) -> Array2<f32> {
        to_matrix(&self.configurations)
    }
}

/// The derived seed of coupling `index` of a mixture with master seed `seed`.
pub fn coupling_seed(seed: u64, index: usize) -> u64 {
    derive(seed, "rbm-flow", index as u64)
}

/// Generate the mixture described by `config` (see the module header for the seeds).
pub fn mixture(config: &MixtureConfig) -> Result<Mixture> {
    if config.lattice.dimension() != 2 {
        return Err(Error::InvalidParameter { name: "lattice", reason: "RBM flows need a square torus" });
    }
    if config.couplings.is_empty() {
        return Err(Error::InvalidParameter { name: "couplings", reason: "need at least one coupling" });
    }
    let n = config.lattice.num_sites();
    // Sized before anything is sampled: a count too large to hold is an error, not an abort.
    let too_large = || Error::InvalidParameter {
        name: "samples_per_coupling",
        reason: "the mixture is too large to hold in memory",
    };
    let samples = config.couplings.len().checked_mul(config.samples_per_coupling).ok_or_else(too_large)?;
    let mut spins = Vec::new();
    spins.try_reserve_exact(samples.checked_mul(n).ok_or_else(too_large)?).map_err(|_| too_large())?;
    let mut sample_couplings = Vec::new();
    sample_couplings.try_reserve_exact(samples).map_err(|_| too_large())?;
    for (i, &k) in config.couplings.iter().enumerate() {
        let k = finite("coupling", k)?;
        let model = IsingModel::new(config.lattice, k, 0.0)?;
        let dc = DatasetConfig {
            samples: config.samples_per_coupling,
            chains: config.chains,
            thermalize: config.thermalize,
            thin: config.thin,
            seed: coupling_seed(config.seed, i),
        };
        let data = generate(model, config.algorithm, &dc, &|_| {})?;
        spins.extend_from_slice(&data.spins);
        sample_couplings.extend(std::iter::repeat_n(k, data.samples));
    }
    Ok(Mixture { configurations: Configurations::new(config.lattice, spins)?, sample_couplings })
}

/// Train one RBM with `hidden` spin hidden units on all of `mixture`, for `train.epochs` epochs
/// of [`Trainer::epoch`] (visible units are spins too).
pub fn train_on_mixture(mixture: &Mixture, hidden: usize, train: TrainConfig) -> Result<Rbm<f32>> {
    let data = mixture.to_matrix();
    let epochs = train.epochs;
    let mut trainer = Trainer::new(train, data.view(), Units::Spin, hidden, Units::Spin)?;
    for _ in 0..epochs {
        trainer.epoch(data.view())?;
    }
    Ok(trainer.into_model())
}

/// How the hidden layer is set at each step of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowMode {
    /// `h ~ p(h | v)`, then `v′ ~ p(v | h)`.
    Sampled,
    /// `h = ⟨h | v⟩` (conditional means), then `v′ ~ p(v | h)`.
    MeanField,
}

/// Parameters of [`flow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowConfig {
    /// Number of steps `v → h → v′` after the starting configurations (step 0).
    pub steps: usize,
    /// How the hidden layer is set.
    pub mode: FlowMode,
    /// Seed of the one generator the flow draws from.
    pub seed: u64,
}

/// The thermometer's reading at one step of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowReading {
    /// The step (0: the starting configurations).
    pub step: usize,
    /// The coupling read from the exact energy, with its error.
    pub coupling: Estimate,
    /// The coupling read from the exact `⟨|m|⟩`, where the lattice is small enough.
    pub coupling_from_abs_m: MagnetizationReadout,
    /// Mean energy per site with its error.
    pub energy: Estimate,
    /// Mean `|m|` with its error.
    pub abs_m: Estimate,
}

/// One flow: the readings along it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RbmFlow {
    /// The coupling of the starting configurations.
    pub start_coupling: f64,
    /// Readings at steps `0..=steps`.
    pub steps: Vec<FlowReading>,
    /// How the hidden layer was set.
    pub mode: FlowMode,
    /// Number of hidden units of the RBM.
    pub hidden: usize,
}

fn to_matrix(data: &Configurations) -> Array2<f32> {
    let (rows, sites, spins) = (data.samples(), data.lattice().num_sites(), data.as_slice());
    Array2::from_shape_fn((rows, sites), |(r, c)| f32::from(spins[r * sites + c]))
}

fn reading(step: usize, data: &Configurations) -> Result<FlowReading> {
    let r = thermometer::read(data)?;
    Ok(FlowReading {
        step,
        coupling: r.coupling,
        coupling_from_abs_m: r.coupling_from_abs_magnetization,
        energy: r.energy_per_site,
        abs_m: r.abs_magnetization,
    })
}

/// Run the flow of `rbm` from `start` (configurations on a square torus of `N` sites at coupling
/// `start_coupling`, in Markov-chain order, at least `2·MIN_BINS` configurations).
///
/// Errors: a lattice that is not a square torus; an RBM whose visible layer is not `N` spin units;
/// a non-finite coupling.
pub fn flow(
    rbm: &Rbm<f32>,
    start_coupling: f64,
    start: &Configurations,
    config: &FlowConfig,
) -> Result<RbmFlow> {
    let start_coupling = finite("start coupling", start_coupling)?;
    let lattice = start.lattice();
    let n = lattice.num_sites();
    if rbm.n_visible() != n {
        return Err(Error::SizeMismatch {
            what: "visible units of the RBM",
            got: rbm.n_visible(),
            expected: n,
        });
    }
    if rbm.visible_units() != Units::Spin {
        return Err(Error::InvalidParameter {
            name: "rbm",
            reason: "the flow needs spin (±1) visible units",
        });
    }
    let mut rng = ChainRng::seed_from_u64(config.seed);
    let mut readings = Vec::with_capacity(config.steps.saturating_add(1).min(1 << 16));
    readings.push(reading(0, start)?);
    let mut v = to_matrix(start);
    for step in 1..=config.steps {
        let h = match config.mode {
            FlowMode::Sampled => rbm.sample_hidden(v.view(), &mut rng)?,
            FlowMode::MeanField => rbm.hidden_means(v.view())?,
        };
        v = rbm.sample_visible(h.view(), &mut rng)?;
        readings.push(reading(step, &Configurations::new(lattice, to_spins(v.view()))?)?);
    }
    Ok(RbmFlow { start_coupling, steps: readings, mode: config.mode, hidden: rbm.n_hidden() })
}

fn to_spins(v: ArrayView2<f32>) -> Vec<i8> {
    v.iter().map(|&x| if x > 0.0 { 1 } else { -1 }).collect()
}

/// Where a set of flows stops moving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedPoint {
    /// Per flow, in order: the mean of its last `last_steps` readings, with their standard
    /// deviation as the error (a flow that still drifts shows a large one).
    pub per_flow: Vec<Estimate>,
    /// Mean of the energy read-out `K` over the last `last_steps` steps of every flow.
    pub coupling: f64,
    /// Standard deviation of those readings (over flows and steps): how far apart the flows
    /// still are, not a statistical error of the mean.
    pub spread: f64,
    /// The largest statistical error of any reading used.
    pub max_error: f64,
    /// Number of steps used per flow.
    pub last_steps: usize,
    /// Number of readings used.
    pub readings: usize,
}

/// The apparent fixed point of `flows`: mean and spread of the last `last_steps` readings of each
/// (at least 1, at most the length of the shortest flow).
pub fn apparent_fixed_point(flows: &[RbmFlow], last_steps: usize) -> Result<FixedPoint> {
    let shortest = flows.iter().map(|f| f.steps.len()).min().unwrap_or(0);
    if flows.is_empty() || last_steps == 0 || last_steps > shortest {
        return Err(Error::InvalidParameter {
            name: "last_steps",
            reason: "need at least one flow and 1 ≤ last_steps ≤ the number of readings of every flow",
        });
    }
    let ks: Vec<&Estimate> = flows
        .iter()
        .flat_map(|f| f.steps[f.steps.len() - last_steps..].iter().map(|r| &r.coupling))
        .collect();
    let m = ks.len() as f64;
    let mean = ks.iter().map(|k| k.mean).sum::<f64>() / m;
    let var = ks.iter().map(|k| (k.mean - mean).powi(2)).sum::<f64>() / m;
    let max_error = ks.iter().map(|k| k.stderr).fold(0.0, f64::max);
    let per_flow = flows
        .iter()
        .map(|f| {
            let tail = &f.steps[f.steps.len() - last_steps..];
            let m = tail.iter().map(|r| r.coupling.mean).sum::<f64>() / last_steps as f64;
            let v = tail.iter().map(|r| (r.coupling.mean - m).powi(2)).sum::<f64>() / last_steps as f64;
            Estimate::new(m, v.sqrt())
        })
        .collect();
    Ok(FixedPoint { per_flow, coupling: mean, spread: var.sqrt(), max_error, last_steps, readings: ks.len() })
}

/// The whole experiment: one mixture, one RBM per hidden size, flows from several starting
/// couplings through each RBM, and the apparent fixed point per hidden size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// The training data.
    pub mixture: MixtureConfig,
    /// Training of every RBM (the same seed for every hidden size).
    pub train: TrainConfig,
    /// Hidden sizes to compare.
    pub hidden: Vec<usize>,
    /// Couplings the flows start from.
    pub start_couplings: Vec<f64>,
    /// Configurations per starting coupling (fresh Monte Carlo data, not the training data).
    pub start_samples: usize,
    /// Steps of every flow.
    pub steps: usize,
    /// How the hidden layer is set.
    pub mode: FlowMode,
    /// Steps at the end of every flow that define the apparent fixed point.
    pub last_steps: usize,
    /// Seed of the starting data and of the flows: starting coupling `j` draws its data with
    /// `coupling_seed(seed, 2j)` and its flow with `coupling_seed(seed, 2j + 1)`, the same for
    /// every hidden size.
    pub seed: u64,
}

impl ExperimentConfig {
    /// The published-like setting (Iso, Shiba and Yokoo used 10×10 tori): a 10×10 torus,
    /// eleven couplings `0.20, 0.25, …, 0.70` with 1,000 Swendsen-Wang configurations each,
    /// spin RBMs with 64, 100 and 144 hidden units trained for `epochs` epochs of CD-1 (Hinton's
    /// settings with learning rate 0.01, the comparable rate for spin units), and sampled flows
    /// of 200 steps from `K = 0.20, 0.30, 0.44, 0.55, 0.70`, the last 50 steps defining the fixed point.
    pub fn published(epochs: usize, seed: u64) -> Result<Self> {
        let lattice = Lattice::square(10)?;
        let mut train = TrainConfig::hinton(epochs, coupling_seed(seed, 1));
        train.learning_rate = 0.01;
        Ok(ExperimentConfig {
            mixture: MixtureConfig {
                lattice,
                couplings: (0..11).map(|i| 0.2 + 0.05 * i as f64).collect(),
                samples_per_coupling: 1000,
                algorithm: Algorithm::SwendsenWang,
                chains: 2,
                thermalize: Sweeps::Auto,
                thin: Sweeps::Auto,
                seed: coupling_seed(seed, 0),
            },
            train,
            hidden: vec![64, 100, 144],
            start_couplings: vec![0.2, 0.3, 0.44, 0.55, 0.7],
            start_samples: 1000,
            steps: 200,
            mode: FlowMode::Sampled,
            last_steps: 50,
            seed: coupling_seed(seed, 2),
        })
    }
}

/// The flows and fixed point of one hidden size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HiddenSizeFlows {
    /// Number of hidden units.
    pub hidden: usize,
    /// One flow per starting coupling.
    pub flows: Vec<RbmFlow>,
    /// Their apparent fixed point.
    pub fixed_point: FixedPoint,
}

/// What [`experiment`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// The exact critical coupling of the square lattice, for comparison.
    pub k_critical: f64,
    /// One entry per hidden size, in the order asked for.
    pub by_hidden: Vec<HiddenSizeFlows>,
}

/// Run the experiment of `config`. `progress` is told which hidden size is being trained.
pub fn experiment(config: &ExperimentConfig, progress: &dyn Fn(usize)) -> Result<Experiment> {
    let mix = mixture(&config.mixture)?;
    let lattice = config.mixture.lattice;
    let starts = config
        .start_couplings
        .iter()
        .enumerate()
        .map(|(j, &k)| {
            let model = IsingModel::new(lattice, finite("start coupling", k)?, 0.0)?;
            let dc = DatasetConfig {
                samples: config.start_samples,
                chains: config.mixture.chains,
                thermalize: config.mixture.thermalize,
                thin: config.mixture.thin,
                seed: coupling_seed(config.seed, 2 * j),
            };
            Ok(Configurations::new(lattice, generate(model, config.mixture.algorithm, &dc, &|_| {})?.spins)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut by_hidden = Vec::with_capacity(config.hidden.len());
    for &hidden in &config.hidden {
        progress(hidden);
        let rbm = train_on_mixture(&mix, hidden, config.train.clone())?;
        let flows = config
            .start_couplings
            .iter()
            .zip(&starts)
            .enumerate()
            .map(|(j, (&k, start))| {
                let fc = FlowConfig {
                    steps: config.steps,
                    mode: config.mode,
                    seed: coupling_seed(config.seed, 2 * j + 1),
                };
                flow(&rbm, k, start, &fc)
            })
            .collect::<Result<Vec<_>>>()?;
        let fixed_point = apparent_fixed_point(&flows, config.last_steps)?;
        by_hidden.push(HiddenSizeFlows { hidden, flows, fixed_point });
    }
    Ok(Experiment { k_critical: lattice_physics::K_CRITICAL, by_hidden })
}

/// A Monte Carlo calibration of `⟨|m|⟩(K)` on one torus, for the second read-out of a flow on
/// tori too large for the exact `⟨|m|⟩` (the 10×10 torus of the published experiment):
/// configurations at a grid of couplings, `⟨|m|⟩` with its binning error at each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MagnetizationCurve {
    /// The couplings, increasing.
    pub couplings: Vec<f64>,
    /// `⟨|m|⟩` at each, with its error.
    pub abs_m: Vec<Estimate>,
}

/// Calibrate `⟨|m|⟩(K)` on `lattice` at `couplings` (at least two, increasing, `K ≥ 0`) with
/// `samples` Swendsen-Wang configurations each (2 chains; coupling `i` seeded by
/// `coupling_seed(seed, i)`).
pub fn magnetization_curve(
    lattice: Lattice,
    couplings: &[f64],
    samples: usize,
    seed: u64,
) -> Result<MagnetizationCurve> {
    if couplings.len() < 2 || couplings.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::InvalidParameter {
            name: "calibration couplings",
            reason: "need at least two, strictly increasing",
        });
    }
    let n = lattice.num_sites();
    let mut abs_m = Vec::with_capacity(couplings.len());
    for (i, &k) in couplings.iter().enumerate() {
        let model = IsingModel::new(lattice, finite("coupling", k)?, 0.0)?;
        let dc = DatasetConfig {
            samples,
            chains: 2,
            thermalize: Sweeps::Auto,
            thin: Sweeps::Auto,
            seed: coupling_seed(seed, i),
        };
        let data = generate(model, Algorithm::SwendsenWang, &dc, &|_| {})?;
        let series: Vec<f64> = data
            .spins
            .chunks_exact(n)
            .map(|c| (c.iter().map(|&s| s as i64).sum::<i64>() as f64 / n as f64).abs())
            .collect();
        abs_m.push(lattice_physics::stats::binning(&series)?.estimate());
    }
    Ok(MagnetizationCurve { couplings: couplings.to_vec(), abs_m })
}

impl MagnetizationCurve {
    /// The coupling at which the calibration's `⟨|m|⟩` equals `abs_m` (linear interpolation
    /// between neighbouring couplings; the curve must increase there), with the error of `abs_m`
    /// and of the two calibration points propagated through the local slope. `None` outside the
    /// calibrated range or where the curve does not increase.
    pub fn read(&self, abs_m: Estimate) -> Option<Estimate> {
        let m = &self.abs_m;
        let i = (0..m.len() - 1).find(|&i| m[i].mean <= abs_m.mean && abs_m.mean <= m[i + 1].mean)?;
        let (k0, k1) = (self.couplings[i], self.couplings[i + 1]);
        let dm = m[i + 1].mean - m[i].mean;
        if dm <= 0.0 {
            return None;
        }
        let t = (abs_m.mean - m[i].mean) / dm;
        let slope = dm / (k1 - k0);
        // K = k0 + (x − m0)/slope: ∂K/∂x = 1/slope, ∂K/∂m0 = (t − 1)/slope, ∂K/∂m1 = −t/slope.
        let var = (abs_m.stderr.powi(2) + ((1.0 - t) * m[i].stderr).powi(2) + (t * m[i + 1].stderr).powi(2))
            / (slope * slope);
        Some(Estimate::new(k0 + t * (k1 - k0), var.sqrt()))
    }
}

/// The second read-out of a flow: per step, the coupling read from `⟨|m|⟩` through `curve`.
pub fn abs_m_readings(flow: &RbmFlow, curve: &MagnetizationCurve) -> Vec<Option<Estimate>> {
    flow.steps.iter().map(|r| curve.read(r.abs_m)).collect()
}
