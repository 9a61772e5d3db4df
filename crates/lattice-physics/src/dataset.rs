//! Generation of equilibrium data sets: many configurations from several independent chains.
//!
//! Units and signs as in [`crate::model`]; times are in sweeps as defined by the sampler
//! (see [`crate::sampler`]).
//!
//! # Chains and reproducibility
//!
//! `chains` independent Markov chains run in parallel (rayon). Chain `i` draws from
//! [`chain_rng`]`(seed, i)`, owns its sampler (built by the caller's factory) and starts from
//! independent random spins drawn from that generator. Samples are split deterministically:
//! chain `i` produces `⌊S/c⌋` samples, plus one if `i < S mod c`. The output is chain-major
//! (all of chain 0, then chain 1, …), so it depends on the seed only, never on the number of
//! threads. Sample `j = 1, 2, …` of a chain is its configuration after `thermalize + j·thin`
//! sweeps.
//!
//! # Automatic thermalisation and thinning (`Sweeps::Auto`)
//!
//! If either setting is `Auto`, every chain first does a pilot run (after `t` sweeps when
//! thermalisation is `Fixed(t)`, otherwise straight from its random start). The pilot records
//! `B` and `|m|` every sweep; its length `P` starts at [`MIN_PILOT_SWEEPS`] and doubles until,
//! on its second half, automatic windowing finds `τ_int` of both `B` and `|m|` and that half
//! is at least [`PILOT_TAU_FACTOR`]` · τ_int` long for both (so the discarded first half is
//! also at least that long); past [`MAX_PILOT_SWEEPS`] generation fails with
//! [`Error::PilotRunTooLong`]. The pilot values of all chains are pooled per observable
//! (mean of `τ`, errors added in quadrature and divided by the number of chains) into an
//! upper value `τ_up = τ + 2σ`, and `τ_max` is the larger `τ_up` of `B` and `|m|`. Then:
//!
//! - thermalisation (`Auto`): `max(max_i P_i, ⌈20 τ_max⌉, MIN_THERMALIZE)` sweeps, the pilot
//!   counting towards it; with `Fixed(t)` and automatic thinning, `t + max_i P_i`
//!   (the pilot runs after the `t` sweeps, so the reported number is what was done);
//! - thinning (`Auto`): `max(1, ⌈2 τ_max⌉)` sweeps, common to all chains, that is at least
//!   `2τ_int` of the slower of energy and `|m|`, with a two-sigma margin.
//!
//! # Reported autocorrelation times
//!
//! After the run, `τ_int` (in sweeps) of `B` and `|m|` is re-estimated from the per-sweep
//! series of the equilibrium part of every chain (the pilot's second half, any extra
//! thermalisation, and the production run, at most [`MAX_TAU_SERIES`]` / chains` sweeps per
//! chain), concatenated in chain order. With fixed settings only the production sweeps are
//! used, and a run too short for automatic windowing is an error rather than a silent guess.
//! The observables ([`observables::estimate`]) are computed over all retained samples in
//! chain-major order; their `τ_int` values are in units of retained samples, and their
//! jackknife blocks are consecutive, so with many samples per chain almost every block lies
//! within one chain (independent chains only make blocks more independent).
//!
//! # Limits
//!
//! The pilot sees only `B` and `|m|`. A chain stuck in a metastable state whose `B` and `|m|`
//! barely fluctuate (for example a striped configuration of local dynamics deep in the
//! ordered phase) looks equilibrated to it; several chains with random starts, compared
//! through [`Dataset::samples_per_chain`] ranges, are the check.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::configurations::Configurations;
use crate::error::{Error, Result};
use crate::model::{IsingModel, Spins};
use crate::observables::{self, Measurement, Observables};
use crate::rng::{chain_rng, ChainRng};
use crate::sampler::{Algorithm, AnySampler, Sampler};
use crate::stats::{integrated_autocorrelation_time, TauInt};

/// Shortest pilot run, in sweeps.
pub const MIN_PILOT_SWEEPS: usize = 1000;
/// Longest pilot run, in sweeps, before giving up.
pub const MAX_PILOT_SWEEPS: usize = 1 << 21;
/// The pilot's second half must be at least this many `τ_int` long.
pub const PILOT_TAU_FACTOR: f64 = 500.0;
/// Smallest automatic thermalisation, in sweeps.
pub const MIN_THERMALIZE: usize = 100;
/// Automatic thermalisation is at least this many `τ_max`.
pub const THERMALIZE_TAU_FACTOR: f64 = 20.0;
/// Automatic thinning is at least this many `τ_max`.
pub const THIN_TAU_FACTOR: f64 = 2.0;
/// Largest number of per-sweep points (over all chains) kept to re-estimate `τ_int`.
pub const MAX_TAU_SERIES: usize = 1 << 19;

/// Site updates between two progress reports of one chain.
const REPORT_SITE_UPDATES: usize = 1 << 20;

/// A number of sweeps: chosen automatically (see the module documentation) or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sweeps {
    /// Chosen from a pilot estimate of `τ_int`.
    Auto,
    /// Exactly this many sweeps.
    Fixed(usize),
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetConfig {
    /// Total number of retained configurations (at least [`observables::MIN_SAMPLES`]).
    pub samples: usize,
    /// Number of independent chains (at least 1, at most `samples`).
    pub chains: usize,
    /// Sweeps before the first sampling interval.
    pub thermalize: Sweeps,
    /// Sweeps between retained configurations (`Fixed` must be at least 1).
    pub thin: Sweeps,
    /// Master seed; chain `i` uses [`chain_rng`]`(seed, i)`.
    pub seed: u64,
}

impl DatasetConfig {
    /// Check the configuration (also done by the generators).
    pub fn validate(&self) -> Result<()> {
        if self.samples == 0 {
            return Err(Error::InvalidParameter { name: "samples", reason: "must be positive" });
        }
        if self.chains == 0 {
            return Err(Error::InvalidParameter { name: "chains", reason: "must be positive" });
        }
        if self.chains > self.samples {
            return Err(Error::MoreChainsThanSamples { chains: self.chains, samples: self.samples });
        }
        if self.samples < observables::MIN_SAMPLES {
            return Err(Error::TooFewSamples {
                what: "a data set with error bars",
                len: self.samples,
                min: observables::MIN_SAMPLES,
            });
        }
        if self.thin == Sweeps::Fixed(0) {
            return Err(Error::InvalidParameter { name: "thin", reason: "must be at least 1 sweep" });
        }
        // Every sweep count of one chain must fit in a u64 (and in usize).
        let fixed = |s: Sweeps| match s {
            Sweeps::Fixed(n) => n as u64,
            Sweeps::Auto => 0,
        };
        let per_chain = self.samples.div_ceil(self.chains) as u64;
        let fits = per_chain
            .checked_mul(fixed(self.thin).max(1))
            .and_then(|x| x.checked_add(fixed(self.thermalize)))
            .and_then(|x| x.checked_add(MAX_PILOT_SWEEPS as u64))
            .and_then(|x| x.checked_mul(self.chains as u64))
            .is_some_and(|x| x <= usize::MAX as u64 / 2);
        if !fits {
            return Err(Error::InvalidParameter {
                name: "thermalize/thin",
                reason: "the total number of sweeps does not fit in 64 bits",
            });
        }
        Ok(())
    }

    /// Number of samples chain `index` produces.
    pub fn samples_of_chain(&self, index: usize) -> usize {
        self.samples / self.chains + usize::from(index < self.samples % self.chains)
    }
}

/// The stage a generation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Pilot runs estimating `τ_int` (their total grows when a pilot doubles).
    Pilot,
    /// Remaining thermalisation and sampling (total known exactly).
    Production,
}

/// A progress report, summed over all chains within the current phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Sweeps done in this phase, all chains together.
    pub sweeps_done: u64,
    /// Sweeps planned for this phase, all chains together.
    pub sweeps_total: u64,
}

/// A generated data set and how it was made.
///
/// Serialising it gives the metadata only: `spins` and `measurements` are skipped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// The model sampled.
    pub model: IsingModel,
    /// Sampler name ([`Sampler::name`]).
    pub algorithm: &'static str,
    /// `samples × sites` spins, row-major, chain-major order.
    #[serde(skip)]
    pub spins: Vec<i8>,
    /// `B` and `M` of every retained configuration, same order as `spins`.
    #[serde(skip)]
    pub measurements: Vec<Measurement>,
    /// Number of retained configurations.
    pub samples: usize,
    /// Number of chains.
    pub chains: usize,
    /// Samples per chain (chain `i` owns a contiguous range of `spins`).
    pub samples_per_chain: Vec<usize>,
    /// Master seed.
    pub seed: u64,
    /// Sweeps done by every chain before its first sampling interval.
    pub thermalize: usize,
    /// Sweeps between retained configurations.
    pub thin: usize,
    /// Pilot-run sweeps of each chain (0 without a pilot), included in `thermalize`.
    pub pilot_sweeps: Vec<usize>,
    /// Pooled pilot estimate of `τ_int` of `B`, in sweeps (if a pilot ran).
    pub pilot_tau_energy: Option<TauInt>,
    /// Pooled pilot estimate of `τ_int` of `|m|`, in sweeps (if a pilot ran).
    pub pilot_tau_abs_magnetization: Option<TauInt>,
    /// Autocorrelation times and observables with errors. `None` only when thinning was fixed
    /// by the caller and the run is too short to estimate them (the configurations are still
    /// good data; see `statistics_unavailable` for why). Serialised flat, as its fields.
    #[serde(flatten)]
    pub statistics: Option<Statistics>,
    /// Why `statistics` is `None` (an [`Error::NoAutocorrelationWindow`] or
    /// [`Error::TooFewSamples`]).
    #[serde(skip)]
    pub statistics_unavailable: Option<Error>,
}

/// What a run measured about itself: autocorrelation times and observables with error bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    /// `τ_int` of `B`, in sweeps, re-estimated after the run.
    pub tau_energy: TauInt,
    /// `τ_int` of `|m|`, in sweeps, re-estimated after the run.
    pub tau_abs_magnetization: TauInt,
    /// Observables with errors over all retained samples.
    pub observables: Observables,
}

impl Dataset {
    /// The statistics, or the reason they are unavailable.
    pub fn statistics(&self) -> Result<&Statistics> {
        match (&self.statistics, &self.statistics_unavailable) {
            (Some(s), _) => Ok(s),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err(Error::InvalidParameter { name: "statistics", reason: "not measured" }),
        }
    }
}

/// Shared progress counters of one phase.
struct Reporter<'a> {
    phase: Phase,
    done: AtomicU64,
    total: AtomicU64,
    callback: &'a (dyn Fn(Progress) + Sync),
}

impl<'a> Reporter<'a> {
    fn new(phase: Phase, total: u64, callback: &'a (dyn Fn(Progress) + Sync)) -> Self {
        Reporter { phase, done: AtomicU64::new(0), total: AtomicU64::new(total), callback }
    }

    fn add(&self, sweeps: u64) {
        let done = self.done.fetch_add(sweeps, Ordering::Relaxed) + sweeps;
        let total = self.total.load(Ordering::Relaxed);
        (self.callback)(Progress { phase: self.phase, sweeps_done: done, sweeps_total: total });
    }

    fn grow(&self, sweeps: u64) {
        self.total.fetch_add(sweeps, Ordering::Relaxed);
    }
}

/// One chain's state between phases.
struct Chain<S> {
    sampler: S,
    spins: Spins,
    rng: ChainRng,
    samples: usize,
    pilot_sweeps: usize,
    pilot_tau: Option<(TauInt, TauInt)>,
    /// Per-sweep `B/N` and `|m|` of the equilibrium part, for the final `τ_int`.
    series_b: Vec<f64>,
    series_m: Vec<f64>,
    cap: usize,
}

impl<S: Sampler> Chain<S> {
    /// `sweeps` sweeps, recording per-sweep values into the `τ` series if `record` (up to the cap).
    fn run(&mut self, sweeps: usize, record: bool, reporter: &Reporter<'_>) {
        let sites = self.spins.lattice().num_sites();
        let every = (REPORT_SITE_UPDATES / sites).max(1);
        let mut pending = 0;
        for _ in 0..sweeps {
            self.sampler.sweep(&mut self.spins, &mut self.rng);
            if record && self.series_b.len() < self.cap {
                self.series_b.push(self.spins.bond_sum() as f64 / sites as f64);
                self.series_m.push((self.spins.magnetization_sum() as f64 / sites as f64).abs());
            }
            pending += 1;
            if pending == every {
                reporter.add(pending as u64);
                pending = 0;
            }
        }
        if pending > 0 {
            reporter.add(pending as u64);
        }
    }

    /// Pilot run after `t0` sweeps (see the module documentation).
    fn pilot(&mut self, t0: usize, reporter: &Reporter<'_>) -> Result<()> {
        self.run(t0, false, reporter);
        let sites = self.spins.lattice().num_sites() as f64;
        let mut b = Vec::with_capacity(MIN_PILOT_SWEEPS);
        let mut m = Vec::with_capacity(MIN_PILOT_SWEEPS);
        let mut target = MIN_PILOT_SWEEPS;
        loop {
            // The pilot's own series is uncapped; run in chunks to report progress.
            let mut pending = 0;
            let every = (REPORT_SITE_UPDATES / sites as usize).max(1);
            while b.len() < target {
                self.sampler.sweep(&mut self.spins, &mut self.rng);
                b.push(self.spins.bond_sum() as f64 / sites);
                m.push((self.spins.magnetization_sum() as f64 / sites).abs());
                pending += 1;
                if pending == every {
                    reporter.add(pending as u64);
                    pending = 0;
                }
            }
            if pending > 0 {
                reporter.add(pending as u64);
            }
            let half = target / 2;
            let len = (target - half) as f64;
            if let (Ok(te), Ok(tm)) =
                (integrated_autocorrelation_time(&b[half..]), integrated_autocorrelation_time(&m[half..]))
            {
                if len >= PILOT_TAU_FACTOR * te.tau.max(tm.tau) {
                    self.pilot_sweeps = t0 + target;
                    self.pilot_tau = Some((te, tm));
                    let keep = (target - half).min(self.cap);
                    self.series_b = b[half..half + keep].to_vec();
                    self.series_m = m[half..half + keep].to_vec();
                    return Ok(());
                }
            }
            if target >= MAX_PILOT_SWEEPS {
                return Err(Error::PilotRunTooLong { sweeps: target });
            }
            reporter.grow(target as u64);
            target *= 2;
        }
    }

    /// `extra` more thermalisation sweeps, then this chain's samples every `thin` sweeps.
    fn produce(&mut self, extra: usize, thin: usize, recording: bool, reporter: &Reporter<'_>) -> Vec<i8> {
        self.run(extra, recording, reporter);
        let sites = self.spins.lattice().num_sites();
        let mut out = Vec::with_capacity(self.samples * sites);
        for _ in 0..self.samples {
            self.run(thin, true, reporter);
            out.extend_from_slice(self.spins.as_slice());
        }
        out
    }
}

/// Pool per-chain `τ_int` values: mean of `τ`, errors in quadrature over the number of chains,
/// largest window.
fn pool(taus: &[TauInt]) -> TauInt {
    let c = taus.len() as f64;
    TauInt {
        tau: taus.iter().map(|t| t.tau).sum::<f64>() / c,
        stderr: taus.iter().map(|t| t.stderr * t.stderr).sum::<f64>().sqrt() / c,
        window: taus.iter().map(|t| t.window).max().unwrap_or(0),
    }
}

/// Generate a data set for `model` with the sampler `algorithm` (one [`AnySampler`] per chain).
/// See the module documentation for the rules; `progress` is called from worker threads and
/// must be cheap.
///
/// ```
/// use lattice_physics::dataset::{generate, DatasetConfig, Sweeps};
/// use lattice_physics::sampler::Algorithm;
/// use lattice_physics::{IsingModel, Lattice};
/// let model = IsingModel::new(Lattice::square(4)?, 0.3, 0.0)?;
/// let config = DatasetConfig { samples: 200, chains: 2, thermalize: Sweeps::Auto, thin: Sweeps::Auto, seed: 1 };
/// let data = generate(model, Algorithm::SwendsenWang, &config, &|_| {})?;
/// assert_eq!(data.spins.len(), 200 * 16);
/// assert!(data.thin as f64 >= 2.0 * data.statistics()?.tau_energy.tau);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn generate(
    model: IsingModel,
    algorithm: Algorithm,
    config: &DatasetConfig,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Dataset> {
    if let (Algorithm::Wolff, Sweeps::Fixed(t)) = (algorithm, config.thermalize) {
        if t < crate::sampler::Wolff::CALIBRATION_SWEEPS {
            // Wolff's first sweeps calibrate its sweep length with a biased stopping rule.
            return Err(Error::InvalidParameter {
                name: "thermalize",
                reason: "Wolff needs at least Wolff::CALIBRATION_SWEEPS (32) thermalisation sweeps",
            });
        }
    }
    generate_with(|| AnySampler::new(algorithm, model), config, progress)
}

/// Generate a data set with samplers built by `make_sampler` (called once per chain; every
/// sampler must be for the same model). See the module documentation for the rules.
/// `progress` is called from worker threads; it must be cheap.
pub fn generate_with<S, F>(
    make_sampler: F,
    config: &DatasetConfig,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Dataset>
where
    S: Sampler + Send,
    F: Fn() -> Result<S> + Sync,
{
    config.validate()?;
    let first = make_sampler()?;
    let model = *first.model();
    let algorithm = first.name();
    let lattice = model.lattice();
    let sites = lattice.num_sites();
    if config.samples.checked_mul(sites).is_none_or(|n| n > isize::MAX as usize) {
        return Err(Error::InvalidParameter {
            name: "samples",
            reason: "samples × sites does not fit in memory",
        });
    }
    let c = config.chains;
    let cap = (MAX_TAU_SERIES / c).max(1);
    let mut first = Some(first);
    let mut chains = Vec::with_capacity(c);
    for i in 0..c {
        let sampler = match first.take() {
            Some(s) => s,
            None => make_sampler()?,
        };
        if *sampler.model() != model {
            return Err(Error::InvalidParameter {
                name: "make_sampler",
                reason: "every sampler must be built for the same model",
            });
        }
        let mut rng = chain_rng(config.seed, i as u64);
        let spins = Spins::random(lattice, &mut rng);
        chains.push(Chain {
            sampler,
            spins,
            rng,
            samples: config.samples_of_chain(i),
            pilot_sweeps: 0,
            pilot_tau: None,
            series_b: Vec::new(),
            series_m: Vec::new(),
            cap,
        });
    }

    let needs_pilot = config.thermalize == Sweeps::Auto || config.thin == Sweeps::Auto;
    let t0 = match config.thermalize {
        Sweeps::Fixed(t) => t,
        Sweeps::Auto => 0,
    };
    let (mut pilot_tau_energy, mut pilot_tau_abs_magnetization) = (None, None);
    let (thermalize, thin) = if needs_pilot {
        let reporter = Reporter::new(Phase::Pilot, (c * (t0 + MIN_PILOT_SWEEPS)) as u64, progress);
        chains.par_iter_mut().map(|ch| ch.pilot(t0, &reporter)).collect::<Result<Vec<()>>>()?;
        let pe: Vec<TauInt> = chains.iter().filter_map(|ch| ch.pilot_tau.map(|t| t.0)).collect();
        let pm: Vec<TauInt> = chains.iter().filter_map(|ch| ch.pilot_tau.map(|t| t.1)).collect();
        let (te, tm) = (pool(&pe), pool(&pm));
        pilot_tau_energy = Some(te);
        pilot_tau_abs_magnetization = Some(tm);
        let tau_max = (te.tau + 2.0 * te.stderr).max(tm.tau + 2.0 * tm.stderr);
        let max_pilot = chains.iter().map(|ch| ch.pilot_sweeps).max().unwrap_or(0);
        let thermalize = match config.thermalize {
            Sweeps::Fixed(_) => max_pilot,
            Sweeps::Auto => {
                max_pilot.max((THERMALIZE_TAU_FACTOR * tau_max).ceil() as usize).max(MIN_THERMALIZE)
            }
        };
        let thin = match config.thin {
            Sweeps::Fixed(k) => k,
            Sweeps::Auto => ((THIN_TAU_FACTOR * tau_max).ceil() as usize).max(1),
        };
        (thermalize, thin)
    } else {
        let thin = match config.thin {
            Sweeps::Fixed(k) => k,
            Sweeps::Auto => unreachable!("a pilot runs when thinning is automatic"),
        };
        (t0, thin)
    };

    let total: u64 = chains.iter().map(|ch| (thermalize - ch.pilot_sweeps + ch.samples * thin) as u64).sum();
    let reporter = Reporter::new(Phase::Production, total, progress);
    let outputs: Vec<Vec<i8>> = chains
        .par_iter_mut()
        .map(|ch| {
            let extra = thermalize - ch.pilot_sweeps;
            // Without a pilot, the thermalisation sweeps are not equilibrium data.
            ch.produce(extra, thin, needs_pilot, &reporter)
        })
        .collect();

    let mut spins = Vec::with_capacity(config.samples * sites);
    for out in &outputs {
        spins.extend_from_slice(out);
    }
    drop(outputs);
    let configurations = Configurations::new(lattice, spins)?;
    let measurements = observables::measure_all(&configurations);
    let spins = configurations.into_vec();
    let series_b: Vec<f64> = chains.iter().flat_map(|ch| ch.series_b.iter().copied()).collect();
    let series_m: Vec<f64> = chains.iter().flat_map(|ch| ch.series_m.iter().copied()).collect();
    let (statistics, statistics_unavailable) =
        statistics_of(model, config, &series_b, &series_m, &measurements)?;

    Ok(Dataset {
        model,
        algorithm,
        spins,
        measurements,
        samples: config.samples,
        chains: c,
        samples_per_chain: chains.iter().map(|ch| ch.samples).collect(),
        seed: config.seed,
        thermalize,
        thin,
        pilot_sweeps: chains.iter().map(|ch| ch.pilot_sweeps).collect(),
        pilot_tau_energy,
        pilot_tau_abs_magnetization,
        statistics,
        statistics_unavailable,
    })
}

/// The statistics of a finished run from its per-sweep series and measurements, or why they
/// are unavailable. With thinning fixed by the caller, a run too short for error bars is still
/// data: the caller keeps it and says why the statistics are missing. With automatic thinning
/// this cannot be, and any failure is an error.
fn statistics_of(
    model: IsingModel,
    config: &DatasetConfig,
    series_b: &[f64],
    series_m: &[f64],
    measurements: &[Measurement],
) -> Result<(Option<Statistics>, Option<Error>)> {
    let measured = (|| {
        Ok(Statistics {
            tau_energy: integrated_autocorrelation_time(series_b)?,
            tau_abs_magnetization: integrated_autocorrelation_time(series_m)?,
            observables: observables::estimate(model.lattice(), model.coupling(), measurements)?,
        })
    })();
    match measured {
        Ok(s) => Ok((Some(s), None)),
        Err(e @ (Error::NoAutocorrelationWindow { .. } | Error::TooFewSamples { .. }))
            if matches!(config.thin, Sweeps::Fixed(_)) =>
        {
            Ok((None, Some(e)))
        }
        Err(e) => Err(e),
    }
}

/// The chains `chains` of a run with fixed thermalisation and thinning: exactly their part of what
/// [`generate`] produces for the same model, algorithm and configuration (chain `i` still draws
/// from [`chain_rng`]`(seed, i)`), so pieces computed on different machines can be put back
/// together by [`assemble`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChainBlock {
    /// The chain indices of this piece.
    pub chains: std::ops::Range<usize>,
    /// Their samples, chain-major, `Σ samples × sites` spins.
    pub spins: Vec<i8>,
    /// Samples of each chain of the piece.
    pub samples_per_chain: Vec<usize>,
    /// Per-sweep `B/N` of the production run of each chain (at most `MAX_TAU_SERIES / chains`
    /// sweeps per chain, as in [`generate`]), chain after chain.
    pub series_energy: Vec<f64>,
    /// Per-sweep `|m|`, same layout.
    pub series_abs_magnetization: Vec<f64>,
}

fn fixed_settings(config: &DatasetConfig) -> Result<(usize, usize)> {
    match (config.thermalize, config.thin) {
        (Sweeps::Fixed(t), Sweeps::Fixed(k)) => Ok((t, k)),
        _ => Err(Error::InvalidParameter {
            name: "thermalize/thin",
            reason: "a piece of a run needs fixed thermalisation and thinning (automatic ones depend on all chains)",
        }),
    }
}

/// Run the chains `chains` (a non-empty subrange of `0..config.chains`) of the run [`generate`]
/// would do with these arguments. Thermalisation and thinning must be fixed: automatic ones are
/// chosen from the pilot runs of every chain, which a piece does not see.
///
/// ```
/// use lattice_physics::dataset::{assemble, generate, generate_chains, DatasetConfig, Sweeps};
/// use lattice_physics::sampler::Algorithm;
/// use lattice_physics::{IsingModel, Lattice};
/// let model = IsingModel::new(Lattice::square(4)?, 0.3, 0.0)?;
/// let config = DatasetConfig { samples: 300, chains: 3, thermalize: Sweeps::Fixed(50), thin: Sweeps::Fixed(2), seed: 5 };
/// let a = generate_chains(model, Algorithm::Metropolis, &config, 0..1, &|_| {})?;
/// let b = generate_chains(model, Algorithm::Metropolis, &config, 1..3, &|_| {})?;
/// let whole = assemble(model, Algorithm::Metropolis, &config, vec![a, b])?;
/// assert_eq!(whole, generate(model, Algorithm::Metropolis, &config, &|_| {})?);
/// # Ok::<(), lattice_physics::Error>(())
/// ```
pub fn generate_chains(
    model: IsingModel,
    algorithm: Algorithm,
    config: &DatasetConfig,
    chains: std::ops::Range<usize>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ChainBlock> {
    config.validate()?;
    let (t0, thin) = fixed_settings(config)?;
    if algorithm == Algorithm::Wolff && t0 < crate::sampler::Wolff::CALIBRATION_SWEEPS {
        return Err(Error::InvalidParameter {
            name: "thermalize",
            reason: "Wolff needs at least Wolff::CALIBRATION_SWEEPS (32) thermalisation sweeps",
        });
    }
    if chains.is_empty() || chains.end > config.chains {
        return Err(Error::InvalidParameter {
            name: "chains",
            reason: "must be a non-empty subrange of 0..chains",
        });
    }
    let lattice = model.lattice();
    let sites = lattice.num_sites();
    let samples: usize = chains.clone().map(|i| config.samples_of_chain(i)).sum();
    if samples.checked_mul(sites).is_none_or(|n| n > isize::MAX as usize) {
        return Err(Error::InvalidParameter {
            name: "samples",
            reason: "samples × sites does not fit in memory",
        });
    }
    // The same per-chain state as `generate_with` builds, with the cap of the whole run.
    let cap = (MAX_TAU_SERIES / config.chains).max(1);
    let mut state = Vec::with_capacity(chains.len());
    for i in chains.clone() {
        let mut rng = chain_rng(config.seed, i as u64);
        let spins = Spins::random(lattice, &mut rng);
        state.push(Chain {
            sampler: AnySampler::new(algorithm, model)?,
            spins,
            rng,
            samples: config.samples_of_chain(i),
            pilot_sweeps: 0,
            pilot_tau: None,
            series_b: Vec::new(),
            series_m: Vec::new(),
            cap,
        });
    }
    let total: u64 = state.iter().map(|ch| (t0 + ch.samples * thin) as u64).sum();
    let reporter = Reporter::new(Phase::Production, total, progress);
    let outputs: Vec<Vec<i8>> =
        state.par_iter_mut().map(|ch| ch.produce(t0, thin, false, &reporter)).collect();
    Ok(ChainBlock {
        chains,
        spins: outputs.concat(),
        samples_per_chain: state.iter().map(|ch| ch.samples).collect(),
        series_energy: state.iter().flat_map(|ch| ch.series_b.iter().copied()).collect(),
        series_abs_magnetization: state.iter().flat_map(|ch| ch.series_m.iter().copied()).collect(),
    })
}

/// Put the pieces of a run ([`generate_chains`]) back together: the result equals what
/// [`generate`] returns for the same arguments. `blocks` must cover `0..config.chains` in order,
/// each with the sample counts and lengths the configuration implies.
pub fn assemble(
    model: IsingModel,
    algorithm: Algorithm,
    config: &DatasetConfig,
    blocks: Vec<ChainBlock>,
) -> Result<Dataset> {
    config.validate()?;
    let (thermalize, thin) = fixed_settings(config)?;
    let lattice = model.lattice();
    let sites = lattice.num_sites();
    let cap = (MAX_TAU_SERIES / config.chains).max(1);
    let mut next = 0;
    let mut spins = Vec::with_capacity(config.samples * sites);
    let (mut series_b, mut series_m) = (Vec::new(), Vec::new());
    let mut samples_per_chain = Vec::with_capacity(config.chains);
    for b in blocks {
        let expected: Vec<usize> = b.chains.clone().map(|i| config.samples_of_chain(i)).collect();
        let series_len: usize = expected.iter().map(|&s| (s * thin).min(cap)).sum();
        if b.chains.start != next
            || b.chains.is_empty()
            || b.chains.end > config.chains
            || b.samples_per_chain != expected
            || b.spins.len() != expected.iter().sum::<usize>() * sites
            || b.series_energy.len() != series_len
            || b.series_abs_magnetization.len() != series_len
        {
            return Err(Error::InvalidParameter {
                name: "blocks",
                reason: "the pieces must cover every chain once, in order, with the lengths the configuration implies",
            });
        }
        next = b.chains.end;
        spins.extend_from_slice(&b.spins);
        series_b.extend_from_slice(&b.series_energy);
        series_m.extend_from_slice(&b.series_abs_magnetization);
        samples_per_chain.extend_from_slice(&b.samples_per_chain);
    }
    if next != config.chains {
        return Err(Error::InvalidParameter {
            name: "blocks",
            reason: "the pieces do not cover every chain",
        });
    }
    let configurations = Configurations::new(lattice, spins)?;
    let measurements = observables::measure_all(&configurations);
    let spins = configurations.into_vec();
    let (statistics, statistics_unavailable) =
        statistics_of(model, config, &series_b, &series_m, &measurements)?;
    Ok(Dataset {
        model,
        algorithm: AnySampler::new(algorithm, model)?.name(),
        spins,
        measurements,
        samples: config.samples,
        chains: config.chains,
        samples_per_chain,
        seed: config.seed,
        thermalize,
        thin,
        pilot_sweeps: vec![0; config.chains],
        pilot_tau_energy: None,
        pilot_tau_abs_magnetization: None,
        statistics,
        statistics_unavailable,
    })
}
