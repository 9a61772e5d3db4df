//! Step 4: the exact 1D renormalization group. The decimation flow `tanh K' = tanh² K` from
//! several `K₀`, its exact RBM realisation checked by enumeration, and the paper's mapping
//! measured exactly on a system small enough to enumerate: an RBM with 6 hidden spins trained by
//! CD-1 (the library's recommended settings, [`TrainConfig::recommended`]: learning rate 0.01
//! decaying linearly to zero) on Monte Carlo samples of a periodic ring of 12 spins at
//! `K = 0.5`, compared through `T = -E + H` with the ring (KL, ΔF, trace-condition violation)
//! after every epoch of [`CURVE_EPOCHS`], beside the bond RBM, which realises the ring exactly.
//! Dimensionless couplings, `H = -K Σ s_i s_{i+1}`.

use lattice_physics::dataset::{self, DatasetConfig, Sweeps};
use lattice_physics::sampler::Algorithm;
use lattice_physics::{IsingModel, Lattice};
use ndarray::Array2;
use rbm_core::{TrainConfig, Trainer, Units};
use rg_transforms::chain::{flow, ChainCouplings};
use rg_transforms::exact_rbms::{bond_rbm, DecimationCheck, DecimationStack};
use rg_transforms::mapping::{
    exact_mapping, project, Coupling, MappingOptions, MappingReport, OperatorBasis, OperatorKind, Projection,
    SpinHamiltonian,
};
use serde::{Deserialize, Serialize};

use super::StudySeeds;
use crate::error::{Error, Result};
use crate::plot::rg_flow;

/// Chains of the ring data set.
pub(super) const RING_CHAINS: usize = 2;
const RING: usize = 12;
const RING_COUPLING: f64 = 0.5;
const RING_HIDDEN: usize = 6;
/// Training samples of the 12 → 6 RBM: 40,000 updates in 200 epochs of batches of 100 (with the
/// library's default momentum, 5,000 samples left it at KL 0.057 nats, 20,000 reach 0.003).
const RING_SAMPLES: usize = 20_000;
const RING_EPOCHS: usize = 200;
/// Epochs after which the trained RBM's exact mapping is measured (the training curve).
pub const CURVE_EPOCHS: [usize; 9] = [0, 1, 2, 5, 10, 20, 50, 100, 200];
const STARTS: [f64; 5] = [0.5, 1.0, 1.5, 2.0, 3.0];
/// Pair couplings listed in the report.
const STRONGEST: usize = 6;

/// The decimation RBM stack on a ring of 16 spins from `K = 1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecimationSummary {
    /// Ring size at the bottom.
    pub ring: usize,
    /// `K_0, K_1, …`.
    pub couplings: Vec<f64>,
    /// One check per layer, by enumeration.
    pub checks: Vec<DecimationCheck>,
}

/// The exact comparison of one RBM with the ring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingSummary {
    /// Visible spins.
    pub n_visible: usize,
    /// Hidden spins.
    pub n_hidden: usize,
    /// `KL(P ‖ p_RBM)` in nats.
    pub kl_divergence: f64,
    /// `ΔF`.
    pub delta_f: f64,
    /// Largest `|ln Σ_h e^T - mean|` over `v`.
    pub trace_violation_max: f64,
    /// Standard deviation of `ln Σ_h e^T` over `v`.
    pub trace_violation_std: f64,
}

impl From<&MappingReport> for MappingSummary {
    fn from(r: &MappingReport) -> Self {
        MappingSummary {
            n_visible: r.n_visible,
            n_hidden: r.n_hidden,
            kl_divergence: r.kl_divergence,
            delta_f: r.delta_f,
            trace_violation_max: r.trace_violation_max,
            trace_violation_std: r.trace_violation_std,
        }
    }
}

/// The exact mapping of the ring RBM after some epochs of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingPoint {
    /// Epochs trained (0: the initial model).
    pub epoch: usize,
    /// `KL(P ‖ p_RBM)` in nats.
    pub kl_divergence: f64,
    /// Largest `|ln Σ_h e^T - mean|` over `v`.
    pub trace_violation_max: f64,
    /// Standard deviation of `ln Σ_h e^T` over `v` (weighted by `P`).
    pub trace_violation_std: f64,
}

/// A trained RBM on the ring against the exact bond RBM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainedMapping {
    /// Ring size.
    pub ring: usize,
    /// Ring coupling.
    pub coupling: f64,
    /// Hidden spins of the trained RBM.
    pub hidden: usize,
    /// Monte Carlo samples it was trained on.
    pub training_samples: usize,
    /// Epochs.
    pub epochs: usize,
    /// Learning rate of the first epoch (it decays linearly to zero over the run).
    pub learning_rate: f64,
    /// The exact mapping after each epoch of [`CURVE_EPOCHS`].
    pub curve: Vec<MappingPoint>,
    /// The trained RBM.
    pub trained: MappingSummary,
    /// The bond RBM (exact).
    pub bond_rbm: MappingSummary,
    /// RMS residual of the all-pairs fit of the trained RBM's coarse Hamiltonian.
    pub fit_residual: f64,
    /// The strongest pair couplings between its hidden spins (pairs only, largest first).
    pub strongest_couplings: Vec<Coupling>,
}

/// What the rg1d step computed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rg1dSummary {
    /// Starting couplings of the flows.
    pub starts: Vec<f64>,
    /// `K_0 … K_6` from each start.
    pub flows: Vec<Vec<f64>>,
    /// The exact decimation RBMs.
    pub decimation_stack: DecimationSummary,
    /// The trained RBM's exact mapping.
    pub trained_mapping: TrainedMapping,
}

/// The rg1d step's figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Rg1dOutput {
    /// `K_n` against `n` (`rg_flow.svg`).
    pub rg_flow: String,
}

impl Rg1dOutput {
    /// File name of the flow figure.
    pub const RG_FLOW: &'static str = "rg_flow.svg";
}

/// The `count` strongest pair couplings of a projection, largest `|K|` first. Fields and
/// higher-order operators are never listed, whatever their size.
pub fn strongest_pairs(projection: &Projection, count: usize) -> Vec<Coupling> {
    let mut pairs: Vec<Coupling> = projection.of_kind(OperatorKind::Pair).cloned().collect();
    pairs.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    pairs.truncate(count);
    pairs
}

/// Run the step. `progress()` is called once the flows and the stack are done (the trained
/// mapping follows).
pub fn rg1d(seeds: &StudySeeds, progress: &mut dyn FnMut()) -> Result<(Rg1dOutput, Rg1dSummary)> {
    let flows: Vec<Vec<f64>> = STARTS
        .iter()
        .map(|&k| Ok(flow(ChainCouplings::new(k, 0.0)?, 6)?.couplings()))
        .collect::<Result<_>>()?;
    let rg_flow_svg = rg_flow(&flows).to_svg()?;
    let stack = DecimationStack::new(16, 1.0, 3)?;
    let checks = stack.verify()?;
    progress();
    let trained_mapping = trained_ring_mapping(seeds)?;
    let summary = Rg1dSummary {
        starts: STARTS.to_vec(),
        flows,
        decimation_stack: DecimationSummary { ring: 16, couplings: stack.couplings, checks },
        trained_mapping,
    };
    Ok((Rg1dOutput { rg_flow: rg_flow_svg }, summary))
}

fn trained_ring_mapping(seeds: &StudySeeds) -> Result<TrainedMapping> {
    let model = IsingModel::new(Lattice::ring(RING)?, RING_COUPLING, 0.0)?;
    let config = DatasetConfig {
        samples: RING_SAMPLES,
        chains: RING_CHAINS,
        thermalize: Sweeps::Auto,
        thin: Sweeps::Auto,
        seed: seeds.ring_sample(),
    };
    let data = dataset::generate(model, Algorithm::Wolff, &config, &|_| {})?;
    let x = Array2::from_shape_vec((RING_SAMPLES, RING), data.spins.iter().map(|&s| f32::from(s)).collect())
        .map_err(|_| Error::Empty { what: "ring data" })?;
    let mut tc = TrainConfig::recommended(Units::Spin, false, RING_EPOCHS, seeds.ring_train());
    tc.exact_max_units = 0;
    let learning_rate = tc.learning_rate;
    let ham = SpinHamiltonian::ring(RING, RING_COUPLING, 0.0)?;
    let options = MappingOptions { double_sums: false };
    let mut trainer = Trainer::new(tc, x.view(), Units::Spin, RING_HIDDEN, Units::Spin)?;
    let mut curve = Vec::with_capacity(CURVE_EPOCHS.len());
    loop {
        if CURVE_EPOCHS.contains(&trainer.epochs_done()) {
            let r = exact_mapping(&ham, &trainer.model().to_f64(), &options)?;
            curve.push(MappingPoint {
                epoch: trainer.epochs_done(),
                kl_divergence: r.kl_divergence,
                trace_violation_max: r.trace_violation_max,
                trace_violation_std: r.trace_violation_std,
            });
        }
        if trainer.is_finished() {
            break;
        }
        trainer.train_epoch(x.view())?;
    }
    let rbm = trainer.into_model().to_f64();
    let trained = exact_mapping(&ham, &rbm, &options)?;
    let fit = project(&trained.coarse_hamiltonian, &OperatorBasis::all_pairs(RING_HIDDEN)?)?;
    let reference = exact_mapping(&ham, &bond_rbm(&ham)?, &options)?;
    Ok(TrainedMapping {
        ring: RING,
        coupling: RING_COUPLING,
        hidden: RING_HIDDEN,
        training_samples: RING_SAMPLES,
        epochs: RING_EPOCHS,
        learning_rate,
        curve,
        trained: MappingSummary::from(&trained),
        bond_rbm: MappingSummary::from(&reference),
        fit_residual: fit.residual_rms,
        strongest_couplings: strongest_pairs(&fit, STRONGEST),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_rbm_is_trained_well_and_its_mapping_improves_with_training() {
        // Issue 10: at the old learning rate 0.05 the 12 → 6 RBM ended at KL 0.24-0.46 nats,
        // at a constant 0.01 at 0.047. The bound is half of the latter: what a constant rate
        // leaves (mini-batch noise) must be gone. With the decaying rate it reached ≈ 0.008 on
        // 5,000 samples with the switch to momentum 0.9 then the default; without the switch,
        // 5,000 samples (10,000 updates) left it at 0.057, so the step now trains on 20,000
        // (40,000 updates), which reaches ≈ 0.003.
        let m = trained_ring_mapping(&StudySeeds::new(1)).unwrap();
        for p in &m.curve {
            eprintln!(
                "epoch {:>3}: KL {:.5}, trace violation std {:.5}, max {:.5}",
                p.epoch, p.kl_divergence, p.trace_violation_std, p.trace_violation_max
            );
        }
        let epochs: Vec<usize> = m.curve.iter().map(|p| p.epoch).collect();
        assert_eq!(epochs, CURVE_EPOCHS);
        let (first, last) = (&m.curve[0], m.curve.last().unwrap());
        assert_eq!(last.kl_divergence, m.trained.kl_divergence);
        assert!(m.trained.kl_divergence >= 0.0 && m.trained.kl_divergence < 0.024, "{:?}", m.trained);
        assert!(first.kl_divergence > 50.0 * last.kl_divergence, "{:?}", m.curve);
        assert!(first.trace_violation_std > 5.0 * last.trace_violation_std, "{:?}", m.curve);
        // p(v) = P(v) e^{g(v)} / ⟨e^g⟩_P with g = ln Σ_h e^T, so KL = ln⟨e^g⟩_P - ⟨g⟩_P, which is
        // Var_P(g)/2 to second order: a near-exact step has KL ≈ (trace violation std)² / 2.
        let s = last.trace_violation_std;
        assert!((last.kl_divergence - s * s / 2.0).abs() < 0.2 * last.kl_divergence, "{last:?}");
    }

    #[test]
    fn the_strongest_couplings_are_pairs_only() {
        // -H = Σ_j 3 s_j + Σ_{i<j} 0.01 (i + j) s_i s_j on 5 spins: every field is larger than
        // every pair coupling.
        let m = 5;
        let ham: Vec<f64> = (0..1usize << m)
            .map(|h| {
                let s = |i: usize| if h >> i & 1 == 1 { 1.0 } else { -1.0 };
                let mut e = (0..m).map(|j| 3.0 * s(j)).sum::<f64>();
                for i in 0..m {
                    for j in i + 1..m {
                        e += 0.01 * (i + j) as f64 * s(i) * s(j);
                    }
                }
                -e
            })
            .collect();
        let fit = project(&ham, &OperatorBasis::all_pairs(m).unwrap()).unwrap();
        assert!(
            fit.of_kind(OperatorKind::Field).all(|c| (c.value - 3.0).abs() < 1e-10),
            "fields are in the basis"
        );
        let listed = strongest_pairs(&fit, 6);
        assert_eq!(listed.len(), 6);
        assert!(listed.iter().all(|c| c.kind == OperatorKind::Pair), "{listed:?}");
        // Largest first: (3, 4) with 0.07, then (2, 4) with 0.06, then 0.05 twice.
        assert_eq!(listed[0].name, "pair_3_4");
        assert!((listed[0].value - 0.07).abs() < 1e-10 && (listed[1].value - 0.06).abs() < 1e-10);
        assert!(listed.windows(2).all(|w| w[0].value.abs() >= w[1].value.abs()));
    }
}
