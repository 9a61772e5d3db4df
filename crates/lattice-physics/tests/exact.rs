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

#[test]
fn onsager_reference_values() {
    use lattice_physics::exact::onsager;
    close("Onsager K=0.408 e", onsager(0.408).unwrap().energy_per_site, -1.1508548910, 1e-10);
    let o = onsager(K_CRITICAL).unwrap();
    close("Onsager e(K_c)", o.energy_per_site, -std::f64::consts::SQRT_2, 1e-14);
    assert_eq!(o.specific_heat_per_site, f64::INFINITY);
    assert_eq!(o.spontaneous_magnetization, 0.0);
    // Yang: m = (1 - sinh⁻⁴ 2K)^{1/8}; at sinh 2K = 2, m = (15/16)^{1/8}.
    let k = 0.5 * 2f64.asinh();
    close("Yang m", onsager(k).unwrap().spontaneous_magnetization, (15.0f64 / 16.0).powf(0.125), 1e-14);
    assert_eq!(onsager(0.4).unwrap().spontaneous_magnetization, 0.0);
}

#[test]
fn kaufman_at_large_size_equals_onsager() {
    use lattice_physics::exact::onsager;
    for k in [0.3, 0.408, 0.5, 0.6] {
        let t = kaufman(1000, k).unwrap();
        let o = onsager(k).unwrap();
        close(&format!("K={k} ln Z"), t.ln_z_per_site, o.ln_z_per_site, 1e-6);
        close(&format!("K={k} e"), t.energy_per_site, o.energy_per_site, 1e-6);
        close(&format!("K={k} c"), t.specific_heat_per_site, o.specific_heat_per_site, 1e-6);
        // Away from K_c the finite-size corrections are exponentially small, except the
        // two-fold degeneracy of the ordered phase, which adds ln 2 / N to ln Z/N.
        let degeneracy = if k > K_CRITICAL { std::f64::consts::LN_2 / 1e6 } else { 0.0 };
        close(&format!("K={k} ln Z (tight)"), t.ln_z_per_site - degeneracy, o.ln_z_per_site, 1e-12);
        close(&format!("K={k} e (tight)"), t.energy_per_site, o.energy_per_site, 1e-12);
        close(&format!("K={k} c (tight)"), t.specific_heat_per_site, o.specific_heat_per_site, 1e-12);
    }
}
