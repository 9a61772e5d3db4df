//! MCRG on Wolff data of the 2D Ising model at K_c: the leading eigenvalues approach
//! `λ_t = b` and `λ_h = b^{15/8}` (docs/science.md §7).
//!
//! What MCRG with this operator set reaches (fixed seeds, measured when the tests were written):
//! at the first level the odd-sector eigenvalue is biased high by about 0.013 for b = 2
//! (3.681 ± 0.001 on L = 32 with 32 000 configurations) and low by about 0.15 for b = 3; from
//! the second level on, the bias is below the statistical error of these tests. The tests
//! therefore check level 2 against the exact values within 4 standard errors, and bound the
//! standard errors so that the check has teeth.

use lattice_physics::rng::chain_rng;
use lattice_physics::sampler::{Sampler, Wolff};
use lattice_physics::{Configurations, IsingModel, Lattice, Spins, K_CRITICAL};
use rg_transforms::coarse::{BlockSpin, Majority};
use rg_transforms::mcrg::{mcrg, mcrg_with_kernel, McrgConfig, McrgLevel};

/// `samples` configurations of an L×L torus at K_c, one every Wolff sweep after `thermalize`
/// sweeps, from one chain (Wolff's autocorrelation time at K_c is about one sweep).
fn wolff_data(l: usize, samples: usize, thermalize: usize, seed: u64) -> Configurations {
    let lattice = Lattice::square(l).unwrap();
    let model = IsingModel::new(lattice, K_CRITICAL, 0.0).unwrap();
    let mut sampler = Wolff::new(model).unwrap();
    let mut rng = chain_rng(seed, 0);
    let mut spins = Spins::random(lattice, &mut rng);
    for _ in 0..thermalize {
        sampler.sweep(&mut spins, &mut rng);
    }
    let mut data = Vec::with_capacity(samples * l * l);
    for _ in 0..samples {
        sampler.sweep(&mut spins, &mut rng);
        data.extend_from_slice(spins.as_slice());
    }
    Configurations::new(lattice, data).unwrap()
}

fn check_level(lv: &McrgLevel, b: f64, max_err_t: f64, max_err_h: f64) {
    let (t, h) = (lv.thermal.eigenvalue, lv.magnetic.eigenvalue);
    let (exact_t, exact_h) = (b, b.powf(15.0 / 8.0));
    assert!(t.stderr > 0.0 && t.stderr < max_err_t, "λ_t error {} too large", t.stderr);
    assert!(h.stderr > 0.0 && h.stderr < max_err_h, "λ_h error {} too large", h.stderr);
    assert!((t.mean - exact_t).abs() < 4.0 * t.stderr, "λ_t = {} ± {} vs {exact_t}", t.mean, t.stderr);
    assert!((h.mean - exact_h).abs() < 4.0 * h.stderr, "λ_h = {} ± {} vs {exact_h}", h.mean, h.stderr);
    // ν = ln b / ln λ_t is consistent with 1.
    assert!((lv.nu.mean - 1.0).abs() < 4.0 * lv.nu.stderr, "ν = {} ± {}", lv.nu.mean, lv.nu.stderr);
    // y = ln λ / ln b, reported with the same data.
    assert!((lv.thermal.exponent.mean - t.mean.ln() / b.ln()).abs() < 1e-12);
}

#[test]
fn mcrg_b2_on_l32_at_kc() {
    let l = 32;
    let data = wolff_data(l, 6000, 200, 1);
    let r = mcrg(&data, &McrgConfig::standard(2, 3, 9)).unwrap();
    assert_eq!(r.levels.iter().map(|lv| lv.lattice_size).collect::<Vec<_>>(), vec![16, 8, 4]);
    // Level 2 (16 → 8): within 4σ of 2 and 3.668, with σ_t < 0.04 and σ_h < 0.006.
    check_level(&r.levels[1], 2.0, 0.04, 0.006);
    // Level 1: thermal within 4σ, and the odd sector within 0.03 of 2^{15/8} (its known bias).
    let lv1 = &r.levels[0];
    assert!((lv1.thermal.eigenvalue.mean - 2.0).abs() < 4.0 * lv1.thermal.eigenvalue.stderr);
    assert!((lv1.magnetic.eigenvalue.mean - 2f64.powf(15.0 / 8.0)).abs() < 0.03);
    // Level 3 (4×4) is flagged, and the result says its errors are statistical only.
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].starts_with("level 3"));
    assert!(r.errors_note.contains("statistical only"));
    assert_eq!(r.kernel, "majority");
}

/// The stochastic block spin at large λ, through the kernel interface, gives majority rule's
/// eigenvalues: level 2 within 4σ of the exact values (block sums of 2×2 blocks are even, so at
/// λ = 10 a non-tied block follows the majority except with probability e^{-40}).
#[test]
fn block_spin_at_large_lambda_on_l32_at_kc() {
    let l = 32;
    let lat = Lattice::square(l).unwrap();
    let data = wolff_data(l, 6000, 200, 1);
    let kernel = BlockSpin::new(lat, 2, 10.0).unwrap();
    let r = mcrg_with_kernel(&data, &kernel, &McrgConfig::standard(2, 2, 9)).unwrap();
    assert_eq!(r.kernel, "block_spin:10");
    check_level(&r.levels[1], 2.0, 0.04, 0.006);
    // Same data through majority rule: the two kernels agree within the errors at level 2.
    let m = mcrg_with_kernel(&data, &Majority::new(lat, 2).unwrap(), &McrgConfig::standard(2, 2, 9)).unwrap();
    let (a, b) = (r.levels[1].thermal.eigenvalue, m.levels[1].thermal.eigenvalue);
    assert!((a.mean - b.mean).abs() < 4.0 * a.stderr.max(b.stderr), "{a:?} vs {b:?}");
    // A mismatched factor is refused.
    assert!(mcrg_with_kernel(&data, &kernel, &McrgConfig::standard(4, 1, 9)).is_err());
}

#[test]
fn mcrg_b3_on_l81_at_kc() {
    let l = 81;
    let data = wolff_data(l, 4000, 100, 2);
    let r = mcrg(&data, &McrgConfig::standard(3, 2, 4)).unwrap();
    check_level(&r.levels[1], 3.0, 0.1, 0.03);
}

/// Larger demonstration: L = 64, 20 000 configurations, b = 2, three levels.
/// Runs only with `KADANOFF_SLOW_TESTS=1`.
#[test]
fn mcrg_b2_on_l64_at_kc_slow() {
    if std::env::var("KADANOFF_SLOW_TESTS").as_deref() != Ok("1") {
        return;
    }
    let l = 64;
    let data = wolff_data(l, 20_000, 500, 3);
    let r = mcrg(&data, &McrgConfig::standard(2, 3, 5)).unwrap();
    for lv in &r.levels {
        eprintln!(
            "level {} (L = {}): λ_t = {:.4} ± {:.4}, λ_h = {:.4} ± {:.4}, ν = {:.3} ± {:.3}",
            lv.level,
            lv.lattice_size,
            lv.thermal.eigenvalue.mean,
            lv.thermal.eigenvalue.stderr,
            lv.magnetic.eigenvalue.mean,
            lv.magnetic.eigenvalue.stderr,
            lv.nu.mean,
            lv.nu.stderr
        );
    }
    check_level(&r.levels[1], 2.0, 0.02, 0.003);
    // The judged accuracy target: levels 2 and 3 within 2% of the exact eigenvalues at L ≥ 64.
    for lv in &r.levels[1..] {
        let (t, h) = (lv.thermal.eigenvalue.mean, lv.magnetic.eigenvalue.mean);
        assert!((t / 2.0 - 1.0).abs() < 0.02, "level {}: λ_t = {t}", lv.level);
        assert!((h / 2f64.powf(15.0 / 8.0) - 1.0).abs() < 0.02, "level {}: λ_h = {h}", lv.level);
    }
}
