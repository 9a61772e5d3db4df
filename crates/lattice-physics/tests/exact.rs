//! Exact solutions checked against each other and against the reference numbers of science.md §8.

use lattice_physics::exact::kaufman;
use lattice_physics::K_CRITICAL;

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: got {got:.15}, want {want:.15} (tolerance {tol:e})");
}

#[test]
fn kaufman_reference_values() {
    let t = kaufman(16, K_CRITICAL).unwrap();
    close("L=16 K_c total ln Z", t.ln_z_per_site * 256.0, 238.6422566351329, 1e-9);
    close("L=16 K_c e", t.energy_per_site, -1.4530648528, 1e-10);
    let t = kaufman(40, 0.408).unwrap();
    close("L=40 K=0.408 e", t.energy_per_site, -1.1518211508, 1e-10);
    close("L=40 K=0.408 c", t.specific_heat_per_site, 0.9946704747, 1e-10);
}

#[test]
fn enumeration_equals_kaufman_on_small_tori() {
    use lattice_physics::exact::DensityOfStates;
    use lattice_physics::Lattice;
    for l in [2, 3, 4] {
        let dos = DensityOfStates::new(Lattice::square(l).unwrap()).unwrap();
        for k in [0.01, 0.2, K_CRITICAL, 0.8, 3.0, -0.3] {
            if k < 0.0 && l % 2 == 1 {
                continue;
            }
            let e = dos.evaluate(k, 0.0).unwrap();
            let t = kaufman(l, k).unwrap();
            close(&format!("L={l} K={k} ln Z"), t.ln_z_per_site, e.ln_z_per_site, 1e-10);
            close(&format!("L={l} K={k} e"), t.energy_per_site, e.energy_per_site, 1e-10);
            close(&format!("L={l} K={k} c"), t.specific_heat_per_site, e.specific_heat_per_site, 1e-10);
        }
    }
}

#[test]
fn enumeration_binder_cumulant_at_critical_point() {
    use lattice_physics::exact::enumerate;
    use lattice_physics::{IsingModel, Lattice};
    let r = enumerate(&IsingModel::new(Lattice::square(4).unwrap(), K_CRITICAL, 0.0).unwrap()).unwrap();
    close("Binder L=4 K_c", r.binder_cumulant, 0.617199318, 1e-8);
}

#[test]
fn enumeration_of_25_spins_matches_kaufman() {
    use lattice_physics::exact::enumerate;
    use lattice_physics::{IsingModel, Lattice};
    let r = enumerate(&IsingModel::new(Lattice::square(5).unwrap(), 0.4, 0.0).unwrap()).unwrap();
    let t = kaufman(5, 0.4).unwrap();
    close("L=5 ln Z", r.ln_z_per_site, t.ln_z_per_site, 1e-12);
    close("L=5 e", r.energy_per_site, t.energy_per_site, 1e-12);
    close("L=5 c", r.specific_heat_per_site, t.specific_heat_per_site, 1e-12);
}
