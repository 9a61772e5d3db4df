//! The exact-energy thermometer against known couplings (docs/science.md §8): exact expectation
//! values (enumeration, and Kaufman's tabulated energy) read back to 1e-10, and Monte Carlo data at
//! known `K` on both sides of `K_c` read back within 4σ with σ bounded.

use lattice_physics::dataset::{generate, DatasetConfig, Sweeps};
use lattice_physics::exact::{enumerate, DensityOfStates};
use lattice_physics::model::bond_sum;
use lattice_physics::sampler::Algorithm;
use lattice_physics::{Configurations, IsingModel, Lattice, K_CRITICAL};
use rg_transforms::block::{BlockRule, Blocking};
use rg_transforms::thermometer::{
    coupling_from_abs_magnetization, coupling_from_energy, flow_point, read, MagnetizationReadout,
};

#[test]
fn exact_expectation_values_read_back_exactly() {
    // Enumeration (independent of Kaufman's formula) on 4×4 and 3×3 tori.
    for l in [2usize, 3, 4] {
        let lattice = Lattice::square(l).unwrap();
        let dos = DensityOfStates::new(lattice).unwrap();
        for k in [0.0005, 0.1, 0.3, K_CRITICAL, 0.6, 1.2] {
            let exact = enumerate(&IsingModel::new(lattice, k, 0.0).unwrap()).unwrap();
            let ke = coupling_from_energy(l, exact.energy_per_site).unwrap();
            // Below |K| = 1e-3 the energy is interpolated (cubic Hermite).
            let tol = if k < 1e-3 { 1e-9 } else { 1e-10 };
            assert!((ke - k).abs() < tol, "L = {l}, K = {k}: energy reads {ke}");
            if (0.1..=0.6).contains(&k) {
                let km = coupling_from_abs_magnetization(&dos, exact.abs_magnetization).unwrap();
                assert!((km - k).abs() < 1e-10, "L = {l}, K = {k}: |m| reads {km}");
            }
        }
        // A positive energy is an antiferromagnet on an even torus and out of range on an odd one.
        let anti = enumerate(&IsingModel::new(lattice, -0.3, 0.0).unwrap()).unwrap();
        match l % 2 {
            0 => {
                assert!((coupling_from_energy(l, anti.energy_per_site).unwrap() + 0.3).abs() < 1e-10);
                let weak = enumerate(&IsingModel::new(lattice, -0.0005, 0.0).unwrap()).unwrap();
                assert!((coupling_from_energy(l, weak.energy_per_site).unwrap() + 0.0005).abs() < 1e-9);
            }
            _ => assert!(coupling_from_energy(l, anti.energy_per_site).is_err()),
        }
    }
    // Kaufman's tabulated values (docs/science.md §8, ten digits).
    assert!((coupling_from_energy(16, -1.4530648528).unwrap() - K_CRITICAL).abs() < 1e-9);
    assert!((coupling_from_energy(40, -1.1518211508).unwrap() - 0.408).abs() < 1e-9);
    // Fully ordered configurations, or energies beyond the physical range, have no coupling.
    for bad in [-2.0, -2.5, 2.5, f64::NAN] {
        assert!(coupling_from_energy(8, bad).is_err());
    }
}

fn wolff(l: usize, k: f64, samples: usize, seed: u64) -> Configurations {
    let lattice = Lattice::square(l).unwrap();
    let model = IsingModel::new(lattice, k, 0.0).unwrap();
    let cfg = DatasetConfig { samples, chains: 2, thermalize: Sweeps::Auto, thin: Sweeps::Auto, seed };
    Configurations::new(lattice, generate(model, Algorithm::Wolff, &cfg, &|_| {}).unwrap().spins).unwrap()
}

#[test]
fn monte_carlo_data_read_back_their_coupling_within_four_sigma() {
    let mut seed = 100;
    for l in [8usize, 16] {
        for k in [0.3, 0.4, K_CRITICAL, 0.48, 0.55] {
            seed += 1;
            let data = wolff(l, k, 2000, seed);
            let r = read(&data).unwrap();
            let c = r.coupling;
            // 2000 configurations: σ_K is a few 1e-3 at most (largest at weak coupling on L = 8).
            assert!(c.stderr > 0.0 && c.stderr < 0.01, "L = {l}, K = {k}: σ = {}", c.stderr);
            assert!((c.mean - k).abs() < 4.0 * c.stderr, "L = {l}, K = {k}: read {} ± {}", c.mean, c.stderr);
            assert_eq!(r.coupling_from_abs_magnetization, MagnetizationReadout::NoExactReference);
        }
    }
}

#[test]
fn abs_magnetization_reads_the_coupling_on_an_enumerable_torus() {
    let l = 4;
    for (k, seed) in [(0.3, 7u64), (K_CRITICAL, 8), (0.55, 9)] {
        let data = wolff(l, k, 4000, seed);
        let r = read(&data).unwrap();
        assert!((r.coupling.mean - k).abs() < 4.0 * r.coupling.stderr && r.coupling.stderr < 0.01);
        match r.coupling_from_abs_magnetization {
            MagnetizationReadout::Exact { coupling } => {
                assert!(coupling.stderr > 0.0 && coupling.stderr < 0.02, "K = {k}: σ = {}", coupling.stderr);
                assert!((coupling.mean - k).abs() < 4.0 * coupling.stderr, "K = {k}: {coupling:?}");
            }
            other => panic!("K = {k}: expected an exact |m| reading, got {other:?}"),
        }
    }
}

#[test]
fn flow_point_reads_the_coarse_energy() {
    // The flow point of majority-blocked data is the thermometer applied to the coarse torus:
    // compare with the coupling read from the coarse mean energy computed here directly.
    let (l, k) = (16, K_CRITICAL);
    let data = wolff(l, k, 1000, 3);
    let blocking = Blocking::new(Lattice::square(l).unwrap(), BlockRule::Majority, 2).unwrap();
    let coarse = blocking.apply_dataset(&data, 5, 0).unwrap();
    let p = flow_point(k, &coarse).unwrap();
    let lc = blocking.coarse();
    assert_eq!(coarse.lattice(), lc);
    let mean_e = coarse.iter().map(|s| -(bond_sum(lc, s).unwrap() as f64) / 64.0).sum::<f64>() / 1000.0;
    assert_eq!(p.coupling, k);
    assert!((p.renormalised.mean - coupling_from_energy(8, mean_e).unwrap()).abs() < 1e-12);
    assert!(p.renormalised.stderr > 0.0 && p.renormalised.stderr < 0.02);
    assert!(flow_point(f64::NAN, &coarse).is_err());
    let ten = Configurations::new(lc, coarse.as_slice()[..64 * 10].to_vec()).unwrap();
    assert!(read(&ten).is_err(), "ten configurations are too few for a binning error");
    let ring = Configurations::new(Lattice::ring(64).unwrap(), coarse.as_slice().to_vec()).unwrap();
    assert!(read(&ring).is_err());
}
