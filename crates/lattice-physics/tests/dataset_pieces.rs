//! A run split into pieces of chains (`generate_chains`) and put back together (`assemble`) is the
//! single run (`generate`), spins, observables and autocorrelation times alike.

use lattice_physics::dataset::{assemble, generate, generate_chains, DatasetConfig, Sweeps};
use lattice_physics::sampler::Algorithm;
use lattice_physics::{IsingModel, Lattice};

fn config(seed: u64) -> DatasetConfig {
    DatasetConfig { samples: 501, chains: 5, thermalize: Sweeps::Fixed(40), thin: Sweeps::Fixed(3), seed }
}

#[test]
fn pieces_of_every_algorithm_assemble_to_the_single_run() {
    let model = IsingModel::new(Lattice::square(6).unwrap(), 0.42, 0.0).unwrap();
    for algorithm in [Algorithm::Metropolis, Algorithm::HeatBath, Algorithm::Wolff, Algorithm::SwendsenWang] {
        let c = config(11);
        let whole = generate(model, algorithm, &c, &|_| {}).unwrap();
        let blocks: Vec<_> = [0..2, 2..3, 3..5]
            .into_iter()
            .map(|r| generate_chains(model, algorithm, &c, r, &|_| {}).unwrap())
            .collect();
        let merged = assemble(model, algorithm, &c, blocks).unwrap();
        assert_eq!(merged, whole, "{algorithm:?}");
        let (m, w) = (merged.statistics().unwrap(), whole.statistics().unwrap());
        assert_eq!(m.observables, w.observables);
        assert_eq!(m.tau_energy, w.tau_energy);
    }
}

#[test]
fn assemble_refuses_missing_duplicated_or_reordered_pieces() {
    let model = IsingModel::new(Lattice::square(4).unwrap(), 0.3, 0.0).unwrap();
    let c = config(3);
    let piece = |r| generate_chains(model, Algorithm::Metropolis, &c, r, &|_| {}).unwrap();
    for blocks in [
        vec![piece(0..2), piece(3..5)],
        vec![piece(0..2), piece(0..2), piece(2..5)],
        vec![piece(2..5), piece(0..2)],
        vec![piece(0..2), piece(2..4)],
    ] {
        assert!(assemble(model, Algorithm::Metropolis, &c, blocks).is_err());
    }
    // (A piece of another seed has the right lengths; the command line tells runs apart by a
    // run hash in every shard's sidecar.) Automatic settings and out-of-range chains are refused.
    let auto = DatasetConfig { thin: Sweeps::Auto, ..c };
    assert!(generate_chains(model, Algorithm::Metropolis, &auto, 0..1, &|_| {}).is_err());
    assert!(generate_chains(model, Algorithm::Metropolis, &c, 4..6, &|_| {}).is_err());
}
