//! Step 1: Monte Carlo configurations of the 2D Ising model, with their measured autocorrelation
//! times, observables and Kaufman's exact values (energy and specific heat per site, `K = βJ`).

use lattice_physics::dataset::{self, Dataset};
use lattice_physics::exact;
use lattice_physics::observables::Observables;
use lattice_physics::stats::TauInt;
use serde::{Deserialize, Serialize};

use super::{StudyConfig, StudySeeds};
use crate::error::Result;

/// Kaufman's exact values on the finite torus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExactReference {
    /// `e = -⟨B⟩/N`.
    pub energy_per_site: f64,
    /// `c = K² var(B)/N`.
    pub specific_heat_per_site: f64,
}

/// What the sample step produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleSummary {
    /// Configurations.
    pub samples: usize,
    /// Sampler name.
    pub algorithm: String,
    /// Chains.
    pub chains: usize,
    /// Seed of the data set (its chains are its `"chain"` children).
    pub seed: u64,
    /// Thermalisation sweeps of every chain.
    pub thermalize: usize,
    /// Sweeps between retained configurations.
    pub thin: usize,
    /// `τ_int` of the energy, in sweeps.
    pub tau_energy: TauInt,
    /// `τ_int` of `|m|`, in sweeps.
    pub tau_abs_magnetization: TauInt,
    /// Observables with error bars.
    pub observables: Observables,
    /// Kaufman's exact values.
    pub exact: ExactReference,
}

/// Sample `config.samples` configurations (chains in parallel; the result depends on the seed,
/// never on the number of threads). `progress` sees every progress report of the generator.
pub fn sample(
    config: &StudyConfig,
    seeds: &StudySeeds,
    progress: &(dyn Fn(dataset::Progress) + Sync),
) -> Result<(Dataset, SampleSummary)> {
    config.validate()?;
    let model = config.model()?;
    let data = dataset::generate(model, config.algorithm, &config.dataset_config(seeds), progress)?;
    let thermo = exact::kaufman(config.size, config.coupling)?;
    // The study thins automatically, so its data always has statistics.
    let stats = data.statistics()?.clone();
    let summary = SampleSummary {
        samples: data.samples,
        algorithm: data.algorithm.to_string(),
        chains: data.chains,
        seed: data.seed,
        thermalize: data.thermalize,
        thin: data.thin,
        tau_energy: stats.tau_energy,
        tau_abs_magnetization: stats.tau_abs_magnetization,
        observables: stats.observables,
        exact: ExactReference {
            energy_per_site: thermo.energy_per_site,
            specific_heat_per_site: thermo.specific_heat_per_site,
        },
    };
    Ok((data, summary))
}
