//! Exact solutions checked against each other and against the reference numbers of docs/science.md §8.

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

#[test]
fn ring_transfer_matrix_equals_enumeration() {
    use lattice_physics::exact::{ring, DensityOfStates};
    use lattice_physics::Lattice;
    for n in [2, 3, 4, 5, 8, 11, 16, 20] {
        let dos = DensityOfStates::new(Lattice::ring(n).unwrap()).unwrap();
        for (k, h) in [
            (0.5, 0.0),
            (0.5, 0.3),
            (-0.7, 0.2),
            (1.3, -0.05),
            (0.0, 0.8),
            (-2.0, 0.0),
            (2.0, -1.5),
            (0.05, 3.0),
        ] {
            let e = dos.evaluate(k, h).unwrap();
            let t = ring(n, k, h).unwrap();
            let what = format!("n={n} K={k} h={h}");
            close(&format!("{what} ln Z"), t.ln_z_per_site, e.ln_z_per_site, 1e-10);
            close(&format!("{what} e"), t.energy_per_site, e.energy_per_site, 1e-10);
            close(&format!("{what} c"), t.specific_heat_per_site, e.specific_heat_per_site, 1e-10);
            close(&format!("{what} m"), t.magnetization, e.magnetization, 1e-10);
        }
    }
}

#[test]
fn ring_zero_field_partition_function() {
    use lattice_physics::exact::ring;
    // Z_N = (2 cosh K)^N + (2 sinh K)^N.
    for n in [2, 3, 7, 10, 31] {
        for k in [-1.5f64, -0.4, 0.1, 0.9, 2.5] {
            let z = (2.0 * k.cosh()).powi(n as i32) + (2.0 * k.sinh()).powi(n as i32);
            let got = ring(n, k, 0.0).unwrap().ln_z_per_site;
            close(&format!("n={n} K={k}"), got, z.ln() / n as f64, 1e-14);
        }
    }
}

/// `⟨s_0 s_r⟩` by summing over all `2^n` configurations directly.
fn enumerated_correlation(n: usize, k: f64, r: usize) -> f64 {
    let (mut z, mut sum) = (0.0, 0.0);
    let ground = n as f64 * k.abs();
    for bits in 0u32..(1u32 << n) {
        let s = |i: usize| if bits >> (i % n) & 1 == 1 { -1.0 } else { 1.0 };
        let b: f64 = (0..n).map(|i| s(i) * s(i + 1)).sum();
        let w = (k * b - ground).exp();
        z += w;
        sum += w * s(0) * s(r);
    }
    sum / z
}

#[test]
fn ring_correlation_equals_enumeration() {
    use lattice_physics::exact::ring_correlation;
    for n in [2, 3, 6, 9, 12] {
        for k in [-1.2, -0.3, 0.0, 0.4, 1.1] {
            for r in 0..=n {
                let want = enumerated_correlation(n, k, r);
                let got = ring_correlation(n, k, r).unwrap();
                close(&format!("n={n} K={k} r={r}"), got, want, 1e-12);
            }
        }
    }
    // r is taken modulo n.
    assert_eq!(ring_correlation(5, 0.3, 7).unwrap(), ring_correlation(5, 0.3, 2).unwrap());
    assert!(ring_correlation(1, 0.3, 0).is_err());
    assert!(ring_correlation(4, f64::NAN, 0).is_err());
}

#[test]
fn long_ring_approaches_the_infinite_chain() {
    use lattice_physics::exact::ring;
    // N → ∞: ln Z/N = ln λ₊, m = sinh h / √(sinh² h + e^{-4K}); at h = 0, e = -tanh K and
    // c = K² sech² K. Corrections are O(r^N), r = λ₋/λ₊, negligible here.
    let n = 1_000_000;
    for (k, h) in [(0.8f64, 0.0f64), (-0.6, 0.0), (0.4, 0.25), (-1.0, -0.7)] {
        let t = ring(n, k, h).unwrap();
        let root = (h.sinh().powi(2) + (-4.0 * k).exp()).sqrt();
        close("ln λ₊", t.ln_z_per_site, k + (h.cosh() + root).ln(), 1e-13);
        close("m", t.magnetization, h.sinh() / root, 1e-13);
        if h == 0.0 {
            close("e", t.energy_per_site, -k.tanh(), 1e-13);
            close("c", t.specific_heat_per_site, (k / k.cosh()).powi(2), 1e-13);
        }
    }
}

#[test]
fn free_spins_at_zero_coupling() {
    use lattice_physics::exact::{enumerate, ring};
    use lattice_physics::{IsingModel, Lattice};
    // K = 0: independent spins, ln Z/N = ln 2cosh h, m = tanh h, ⟨B⟩ = N tanh² h.
    for h in [0.0f64, 0.3, -1.1] {
        for lattice in [Lattice::ring(9).unwrap(), Lattice::square(3).unwrap(), Lattice::square(4).unwrap()] {
            let r = enumerate(&IsingModel::new(lattice, 0.0, h).unwrap()).unwrap();
            let z = lattice.num_bonds() as f64 / lattice.num_sites() as f64;
            close("ln Z", r.ln_z_per_site, (2.0 * h.cosh()).ln(), 1e-14);
            close("m", r.magnetization, h.tanh(), 1e-14);
            close("e", r.energy_per_site, -z * h.tanh().powi(2), 1e-14);
            assert_eq!(r.specific_heat_per_site, 0.0);
        }
        let t = ring(9, 0.0, h).unwrap();
        close("ring ln Z", t.ln_z_per_site, (2.0 * h.cosh()).ln(), 1e-14);
        close("ring m", t.magnetization, h.tanh(), 1e-14);
        close("ring e", t.energy_per_site, -h.tanh().powi(2), 1e-14);
    }
    // At K = h = 0: ⟨m²⟩ = 1/N, ⟨m⁴⟩ = (3N² - 2N)/N⁴, so U = 2/(3N).
    let r = enumerate(&IsingModel::new(Lattice::square(4).unwrap(), 0.0, 0.0).unwrap()).unwrap();
    close("⟨m²⟩", r.magnetization_sq, 1.0 / 16.0, 1e-15);
    close("⟨m⁴⟩", r.magnetization_4th, (3.0 * 256.0 - 32.0) / 65536.0, 1e-15);
    close("U", r.binder_cumulant, 2.0 / 48.0, 1e-14);
    // ⟨|M|⟩ = 2^{-N} Σ_d C(N, d) |N - 2d| for free spins; χ = N(⟨m²⟩ - ⟨|m|⟩²).
    let mut binomial = 1.0f64;
    let mut abs_m = 0.0;
    for d in 0..=16u32 {
        abs_m += binomial * (16.0 - 2.0 * d as f64).abs();
        binomial = binomial * (16 - d) as f64 / (d + 1) as f64;
    }
    let abs_m = abs_m / 65536.0 / 16.0;
    close("⟨|m|⟩", r.abs_magnetization, abs_m, 1e-15);
    close("χ", r.susceptibility_per_site, 16.0 * (1.0 / 16.0 - abs_m * abs_m), 1e-14);
}

mod properties {
    use lattice_physics::exact::{enumerate, kaufman, onsager, ring, DensityOfStates};
    use lattice_physics::{IsingModel, Lattice};
    use proptest::prelude::*;

    fn small_lattice() -> impl Strategy<Value = Lattice> {
        prop_oneof![
            (2usize..=12).prop_map(|n| Lattice::ring(n).unwrap()),
            (2usize..=3).prop_map(|l| Lattice::square(l).unwrap()),
        ]
    }

    fn near(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Global spin flip: h → -h leaves every even quantity unchanged and flips ⟨m⟩.
        #[test]
        fn spin_flip_symmetry(lattice in small_lattice(), k in -3.0f64..3.0, h in -3.0f64..3.0) {
            let a = enumerate(&IsingModel::new(lattice, k, h).unwrap()).unwrap();
            let b = enumerate(&IsingModel::new(lattice, k, -h).unwrap()).unwrap();
            prop_assert!(near(a.ln_z_per_site, b.ln_z_per_site, 1e-13));
            prop_assert!(near(a.energy_per_site, b.energy_per_site, 1e-12));
            prop_assert!(near(a.specific_heat_per_site, b.specific_heat_per_site, 1e-11));
            prop_assert!(near(a.magnetization, -b.magnetization, 1e-12));
            prop_assert!(near(a.abs_magnetization, b.abs_magnetization, 1e-12));
            prop_assert!(near(a.binder_cumulant, b.binder_cumulant, 1e-11));
            if let lattice_physics::LatticeKind::Ring { n } = lattice.kind() {
                let (c, d) = (ring(n, k, h).unwrap(), ring(n, k, -h).unwrap());
                prop_assert!(near(c.ln_z_per_site, d.ln_z_per_site, 1e-13));
                prop_assert!(near(c.magnetization, -d.magnetization, 1e-12));
            }
        }

        /// On a bipartite lattice (even ring, even torus) flipping one sublattice maps K → -K at
        /// h = 0: ln Z and c are unchanged, e changes sign.
        #[test]
        fn sublattice_flip_symmetry(half in 1usize..=6, square in any::<bool>(), k in 0.0f64..3.0) {
            let lattice = if square { Lattice::square(2 * half.min(2)).unwrap() } else { Lattice::ring(2 * half).unwrap() };
            let a = enumerate(&IsingModel::new(lattice, k, 0.0).unwrap()).unwrap();
            let b = enumerate(&IsingModel::new(lattice, -k, 0.0).unwrap()).unwrap();
            prop_assert!(near(a.ln_z_per_site, b.ln_z_per_site, 1e-13));
            prop_assert!(near(a.energy_per_site, -b.energy_per_site, 1e-12));
            prop_assert!(near(a.specific_heat_per_site, b.specific_heat_per_site, 1e-11));
        }

        /// The transfer matrix agrees with enumeration for any ring, coupling and field.
        #[test]
        fn ring_equals_enumeration(n in 2usize..=12, k in -3.0f64..3.0, h in -3.0f64..3.0) {
            let e = enumerate(&IsingModel::new(Lattice::ring(n).unwrap(), k, h).unwrap()).unwrap();
            let t = ring(n, k, h).unwrap();
            prop_assert!((t.ln_z_per_site - e.ln_z_per_site).abs() < 1e-10);
            prop_assert!((t.energy_per_site - e.energy_per_site).abs() < 1e-10);
            prop_assert!((t.specific_heat_per_site - e.specific_heat_per_site).abs() < 1e-10);
            prop_assert!((t.magnetization - e.magnetization).abs() < 1e-10);
        }

        /// Kaufman agrees with enumeration on the 2×2, 3×3 and 4×4 tori for any K > 0.
        #[test]
        fn kaufman_equals_enumeration(l in 2usize..=4, k in 0.001f64..4.0) {
            let e = DensityOfStates::new(Lattice::square(l).unwrap()).unwrap().evaluate(k, 0.0).unwrap();
            let t = kaufman(l, k).unwrap();
            prop_assert!((t.ln_z_per_site - e.ln_z_per_site).abs() < 1e-10);
            prop_assert!((t.energy_per_site - e.energy_per_site).abs() < 1e-10);
            prop_assert!((t.specific_heat_per_site - e.specific_heat_per_site).abs() < 1e-10);
        }

        /// Kramers-Wannier duality, sinh 2K sinh 2K* = 1, on the infinite lattice:
        /// ln Z(K)/N - ln Z(K*)/N = ln sinh 2K and e(K) = -(e(K*) + 2 cosh 2K) / sinh 2K.
        #[test]
        fn onsager_duality(k in 0.05f64..2.0) {
            let s = (2.0 * k).sinh();
            let dual = 0.5 * (1.0 / s).asinh();
            let (a, b) = (onsager(k).unwrap(), onsager(dual).unwrap());
            prop_assert!((a.ln_z_per_site - b.ln_z_per_site - s.ln()).abs() < 1e-12);
            let want = -(b.energy_per_site + 2.0 * (2.0 * k).cosh()) / s;
            prop_assert!((a.energy_per_site - want).abs() < 1e-11 * (1.0 + want.abs()));
            prop_assert!(a.specific_heat_per_site > 0.0);
            prop_assert!((0.0..=1.0).contains(&a.spontaneous_magnetization));
        }

        /// Every result is finite over the whole accepted parameter range (log-space arithmetic),
        /// and the ordered-phase and frustration limits stay physical.
        #[test]
        fn finite_over_the_whole_range(
            l in 2usize..=1000, n in 2usize..=1_000_000, k in -50.0f64..50.0, h in -50.0f64..50.0,
        ) {
            let t = ring(n, k, h).unwrap();
            for x in [t.ln_z_per_site, t.energy_per_site, t.specific_heat_per_site, t.magnetization] {
                prop_assert!(x.is_finite(), "ring n={} K={} h={}: {:?}", n, k, h, t);
            }
            prop_assert!(t.magnetization.abs() <= 1.0 + 1e-12 && t.energy_per_site.abs() <= 1.0 + 1e-12);
            if k.abs() >= 1e-3 && (k > 0.0 || l % 2 == 0) {
                let t = kaufman(l, k).unwrap();
                for x in [t.ln_z_per_site, t.energy_per_site, t.specific_heat_per_site] {
                    prop_assert!(x.is_finite(), "kaufman L={} K={}: {:?}", l, k, t);
                }
                prop_assert!(t.energy_per_site.abs() <= 2.0 + 1e-12 && t.specific_heat_per_site >= -1e-9);
            }
            let o = onsager(k).unwrap();
            prop_assert!(o.ln_z_per_site.is_finite() && o.energy_per_site.is_finite());
        }
    }
}

#[test]
fn infinite_chain_is_the_long_ring_limit() {
    use lattice_physics::exact::{chain, ring};
    for &(k, h) in &[(0.5, 0.0), (1.2, 0.3), (0.2, -0.7), (-0.8, 0.1), (2.0, 0.0)] {
        let c = chain(k, h).unwrap();
        let r = ring(1_000_000, k, h).unwrap();
        assert!((c.ln_z_per_site - r.ln_z_per_site).abs() < 1e-12, "lnZ at {k},{h}");
        assert!((c.energy_per_site - r.energy_per_site).abs() < 1e-10, "e at {k},{h}");
        assert!((c.specific_heat_per_site - r.specific_heat_per_site).abs() < 1e-9, "c at {k},{h}");
        assert!((c.magnetization - r.magnetization).abs() < 1e-10, "m at {k},{h}");
    }
    // Zero field: m = 0, e = -tanh K, xi = -1/ln tanh K.
    let c = chain(0.7, 0.0).unwrap();
    assert_eq!(c.magnetization, 0.0);
    assert!((c.energy_per_site + 0.7f64.tanh()).abs() < 1e-15);
    assert!((c.correlation_length + 1.0 / 0.7f64.tanh().ln()).abs() < 1e-12);
}
