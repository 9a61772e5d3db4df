//! Statistical tools and estimators against exact results.
//!
//! - `τ_int` and binning on AR(1) series, whose autocorrelation is known exactly;
//! - jackknife against the delta method with exact population moments;
//! - observable estimators on configurations drawn exactly (i.i.d.) from the Boltzmann
//!   distribution of tiny lattices by enumeration, against exact enumeration done here.
//!
//! Every statistical check is `|estimate - exact| < 4σ` with `σ` the estimator's own error,
//! plus a bound on `σ` so that a test cannot pass by reporting a huge error.

use lattice_physics::observables::LengthStatus;
use lattice_physics::observables::{self, CorrelationMeter, Measurement};
use lattice_physics::stats::{self, BlockMeans, Estimate};
use lattice_physics::{exact, Configurations, Error, IsingModel, Lattice, LatticeKind};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A standard normal deviate (Box-Muller).
fn normal<R: Rng>(rng: &mut R) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// A stationary AR(1) series `x_t = ρ x_{t-1} + sqrt(1-ρ²) ε_t` with unit variance; its
/// autocorrelation is `ρ^t`, so `τ_int = (1+ρ)/(2(1-ρ))`.
fn ar1(n: usize, rho: f64, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let s = (1.0 - rho * rho).sqrt();
    let mut x = normal(&mut r);
    (0..n)
        .map(|_| {
            let out = x;
            x = rho * x + s * normal(&mut r);
            out
        })
        .collect()
}

fn assert_within(what: &str, est: Estimate, exact: f64, max_stderr: f64) {
    assert!(
        est.stderr > 0.0 && est.stderr < max_stderr,
        "{what}: stderr {} not in (0, {max_stderr})",
        est.stderr
    );
    assert!(
        est.deviation(exact) < 4.0,
        "{what}: {} ± {} vs exact {exact} ({:.2}σ)",
        est.mean,
        est.stderr,
        est.deviation(exact)
    );
}

#[test]
fn tau_int_of_ar1_direct_window() {
    let rho = 0.8;
    let exact = (1.0 + rho) / (2.0 * (1.0 - rho)); // 4.5
    let t = stats::integrated_autocorrelation_time(&ar1(200_000, rho, 1)).unwrap();
    assert!(t.window < 48, "window {} should be found by the direct lags", t.window);
    assert!(t.window as f64 >= 6.0 * t.tau);
    assert_within("tau_int AR(1) rho=0.8", Estimate::new(t.tau, t.stderr), exact, 0.05 * exact);
}

#[test]
fn tau_int_of_ar1_fft_window() {
    let rho = 0.98;
    let exact = (1.0 + rho) / (2.0 * (1.0 - rho)); // 49.5
    let t = stats::integrated_autocorrelation_time(&ar1(1_000_000, rho, 2)).unwrap();
    assert!(t.window > 48, "window {} should need the FFT path", t.window);
    assert_within("tau_int AR(1) rho=0.98", Estimate::new(t.tau, t.stderr), exact, 0.05 * exact);
}

#[test]
fn tau_int_of_white_noise_is_one_half() {
    let t = stats::integrated_autocorrelation_time(&ar1(100_000, 0.0, 3)).unwrap();
    assert_within("tau_int white noise", Estimate::new(t.tau, t.stderr), 0.5, 0.01);
}

#[test]
fn tau_int_of_short_correlated_series_is_an_error() {
    // τ = 499.5 on 2000 points: no self-consistent window below n/2.
    let r = stats::integrated_autocorrelation_time(&ar1(2000, 0.998, 4));
    assert!(matches!(r, Err(Error::NoAutocorrelationWindow { len: 2000, .. })), "{r:?}");
}

/// Exact variance of the mean of `n` points of the unit-variance AR(1) series.
fn ar1_variance_of_mean(n: usize, rho: f64) -> f64 {
    let nf = n as f64;
    ((1.0 + rho) / (1.0 - rho) - 2.0 * rho * (1.0 - rho.powi(n as i32)) / (nf * (1.0 - rho) * (1.0 - rho)))
        / nf
}

#[test]
fn binning_error_of_ar1_mean_matches_exact_variance() {
    let (n, rho) = (1 << 17, 0.9);
    let x = ar1(n, rho, 5);
    let exact = ar1_variance_of_mean(n, rho).sqrt();
    let b = stats::binning(&x).unwrap();
    assert!(b.converged, "binning did not converge: {b:?}");
    assert_eq!(b.levels[0].bin_size, 1);
    assert!(b.levels.last().unwrap().bins >= stats::MIN_BINS);
    let level = b.levels[b.plateau];
    assert!(level.bin_size >= 16, "plateau at bin size {} is before the error levels off", level.bin_size);
    assert_within("binning stderr", Estimate::new(level.stderr, level.stderr_error), exact, 0.1 * exact);
    // The mean itself (exactly 0) within the binning error.
    assert!(b.estimate().deviation(0.0) < 4.0);
    // The error from τ_int agrees with the exact one within the error of τ_int.
    let (m, t) = stats::mean_autocorrelated(&x).unwrap();
    let rel = t.stderr / t.tau / 2.0; // relative error of sqrt(τ)
    assert!((m.stderr / exact - 1.0).abs() < 4.0 * rel, "tau-based stderr {} vs exact {exact}", m.stderr);
}

#[test]
fn binning_rejects_short_series() {
    assert!(matches!(stats::binning(&[1.0; 10]), Err(Error::TooFewSamples { .. })));
}

#[test]
fn jackknife_of_a_ratio_matches_the_delta_method() {
    // x = 2 + g1, y = 5 + 0.5 g1 + g2 with g1, g2 standard normal:
    // μx = 2, μy = 5, σx² = 1, σy² = 1.25, cov = 0.5; f = μx/μy.
    let n = 4000;
    let mut r = rng(6);
    let mut rows = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let (g1, g2) = (normal(&mut r), normal(&mut r));
        rows.extend_from_slice(&[2.0 + g1, 5.0 + 0.5 * g1 + g2]);
    }
    let (mx, my, vx, vy, cxy) = (2.0f64, 5.0f64, 1.0, 1.25, 0.5);
    let delta_var = (vx / (my * my) + mx * mx * vy / my.powi(4) - 2.0 * mx * cxy / my.powi(3)) / n as f64;
    let delta = delta_var.sqrt();

    let bm = BlockMeans::from_rows(&rows, 2, n).unwrap();
    let est = bm.jackknife(|q| q[0] / q[1]);
    // With n blocks of one i.i.d. point the jackknife error has relative spread ~ 1/sqrt(2n).
    let rel = 1.0 / (2.0 * n as f64).sqrt();
    assert!((est.stderr / delta - 1.0).abs() < 4.0 * rel, "jackknife {} vs delta {delta}", est.stderr);
    assert!(est.deviation(mx / my) < 4.0, "{est:?}");

    // The generic jackknife over the same blocks gives the same numbers.
    let pairs: Vec<[f64; 2]> = rows.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    let generic = stats::jackknife(&pairs, |sub| {
        let (sx, sy) = sub.iter().fold((0.0, 0.0), |(a, b), p| (a + p[0], b + p[1]));
        sx / sy
    })
    .unwrap();
    assert!((generic.mean - est.mean).abs() < 1e-12 && (generic.stderr / est.stderr - 1.0).abs() < 1e-9);

    // Blocks of 40 points: fewer blocks, the same error within its spread.
    let coarse = BlockMeans::from_rows(&rows, 2, 100).unwrap().jackknife(|q| q[0] / q[1]);
    let rel = 1.0 / (2.0f64 * 99.0).sqrt();
    assert!((coarse.stderr / delta - 1.0).abs() < 4.0 * rel);
}

#[test]
fn jackknife_of_a_linear_estimator_is_the_standard_error() {
    let x: Vec<f64> = ar1(1000, 0.0, 7);
    let bm = BlockMeans::from_rows(&x, 1, x.len()).unwrap();
    let est = bm.jackknife(|q| q[0]);
    let mean = x.iter().sum::<f64>() / 1000.0;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 999.0;
    assert!((est.mean - mean).abs() < 1e-12);
    assert!((est.stderr - (var / 1000.0).sqrt()).abs() < 1e-12);
}

#[test]
fn jackknife_rejects_bad_blocks() {
    assert!(stats::jackknife(&[1.0], |_| 0.0).is_err());
    assert!(BlockMeans::from_rows(&[1.0, 2.0, 3.0], 2, 1).is_err());
    assert!(BlockMeans::from_rows(&[1.0, 2.0, 3.0], 1, 4).is_err());
    assert!(BlockMeans::from_rows(&[1.0, f64::NAN, 3.0], 1, 2).is_err());
}

/// Exact Boltzmann distribution of a tiny lattice at zero field, by enumeration.
struct Exact {
    configs: Vec<Vec<i8>>,
    cumulative: Vec<f64>,
    e: f64,
    abs_m: f64,
    m2: f64,
    c: f64,
    chi: f64,
    binder: f64,
}

fn spins_of(code: usize, n: usize) -> Vec<i8> {
    (0..n).map(|i| if code >> i & 1 == 1 { 1 } else { -1 }).collect()
}

/// Bond sum by hand: right and down neighbours of every site (every bond once).
fn bonds(lattice: Lattice, s: &[i8]) -> f64 {
    let mut b = 0i64;
    match lattice.kind() {
        LatticeKind::Ring { n } => (0..n).for_each(|i| b += (s[i] * s[(i + 1) % n]) as i64),
        LatticeKind::Square { l } => {
            for y in 0..l {
                for x in 0..l {
                    let v = s[y * l + x];
                    b += (v * s[y * l + (x + 1) % l] + v * s[((y + 1) % l) * l + x]) as i64;
                }
            }
        }
    }
    b as f64
}

impl Exact {
    fn new(lattice: Lattice, k: f64) -> Self {
        let n = lattice.num_sites();
        let nf = n as f64;
        let mut configs = Vec::new();
        let mut weights = Vec::new();
        let (mut z, mut sb, mut sb2, mut sam, mut sm2, mut sm4) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for code in 0..1usize << n {
            let s = spins_of(code, n);
            let b = bonds(lattice, &s);
            let m = s.iter().map(|&v| v as f64).sum::<f64>() / nf;
            let w = (k * b).exp();
            z += w;
            sb += w * b;
            sb2 += w * b * b;
            sam += w * m.abs();
            sm2 += w * m * m;
            sm4 += w * m.powi(4);
            configs.push(s);
            weights.push(w);
        }
        let (b, b2, abs_m, m2, m4) = (sb / z, sb2 / z, sam / z, sm2 / z, sm4 / z);
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / z;
                acc
            })
            .collect();
        Exact {
            configs,
            cumulative,
            e: -b / nf,
            abs_m,
            m2,
            c: k * k * (b2 - b * b) / nf,
            chi: nf * (m2 - abs_m * abs_m),
            binder: 1.0 - m4 / (3.0 * m2 * m2),
        }
    }

    fn draw<R: Rng>(&self, rng: &mut R) -> &[i8] {
        let u: f64 = rng.random();
        let i = self.cumulative.partition_point(|&c| c < u).min(self.configs.len() - 1);
        &self.configs[i]
    }
}

#[test]
fn exact_enumeration_in_this_test_reproduces_the_known_binder_cumulant() {
    // docs/science.md §8: U(L = 4, K_c) = 0.617199318.
    let ex = Exact::new(Lattice::square(4).unwrap(), lattice_physics::K_CRITICAL);
    assert!((ex.binder - 0.617199318).abs() < 1e-8, "{}", ex.binder);
}

#[test]
fn estimators_agree_with_exact_enumeration_on_iid_samples() {
    for (lattice, k, seed) in [
        (Lattice::square(4).unwrap(), lattice_physics::K_CRITICAL, 11),
        (Lattice::square(3).unwrap(), 0.25, 12),
        (Lattice::ring(10).unwrap(), 0.6, 13),
    ] {
        let ex = Exact::new(lattice, k);
        // The enumeration here agrees with the library's exact module.
        let reference = exact::enumerate(&IsingModel::new(lattice, k, 0.0).unwrap()).unwrap();
        for (mine, theirs) in [
            (ex.e, reference.energy_per_site),
            (ex.c, reference.specific_heat_per_site),
            (ex.abs_m, reference.abs_magnetization),
            (ex.chi, reference.susceptibility_per_site),
            (ex.binder, reference.binder_cumulant),
        ] {
            assert!((mine - theirs).abs() < 1e-9 * (1.0 + theirs.abs()), "{mine} vs {theirs}");
        }
        let mut r = rng(seed);
        let measurements: Vec<Measurement> =
            (0..20_000).map(|_| Measurement::from_slice(lattice, ex.draw(&mut r)).unwrap()).collect();
        let obs = observables::estimate(lattice, k, &measurements).unwrap();
        let tag = format!("{lattice:?} K={k}");
        assert_within(&format!("{tag} e"), obs.energy_per_site, ex.e, 0.01);
        assert_within(&format!("{tag} |m|"), obs.abs_magnetization, ex.abs_m, 0.01);
        assert_within(&format!("{tag} m2"), obs.magnetization_sq, ex.m2, 0.01);
        assert_within(&format!("{tag} c"), obs.specific_heat_per_site, ex.c, 0.02);
        assert_within(&format!("{tag} chi"), obs.susceptibility_per_site, ex.chi, 0.02 * (1.0 + ex.chi));
        assert_within(&format!("{tag} U"), obs.binder_cumulant, ex.binder, 0.02);
        // Independent draws: τ_int = ½.
        for t in [obs.tau_energy, obs.tau_abs_magnetization, obs.tau_magnetization_sq] {
            assert!((t.tau - 0.5).abs() < 4.0 * t.stderr, "{tag}: tau {t:?}");
        }
        assert_eq!(obs.samples, 20_000);
        assert_eq!(obs.blocks, observables::MAX_BLOCKS);
    }
}

#[test]
fn correlations_on_a_ring_match_the_transfer_matrix() {
    // docs/science.md §5: ⟨s_0 s_r⟩ = (t^r + t^{N-r}) / (1 + t^N), t = tanh K.
    let (n, k) = (12, 0.7);
    let lattice = Lattice::ring(n).unwrap();
    let ex = Exact::new(lattice, k);
    let t = f64::tanh(k);
    let g_exact = |r: usize| (t.powi(r as i32) + t.powi((n - r) as i32)) / (1.0 + t.powi(n as i32));
    let mut r = rng(21);
    let mut meter = CorrelationMeter::with_capacity(lattice, 20_000);
    for _ in 0..20_000 {
        meter.measure(ex.draw(&mut r)).unwrap();
    }
    let corr = meter.estimate().unwrap();
    assert_eq!(corr.g.len(), n / 2 + 1);
    assert_eq!(corr.g[0].mean, 1.0);
    for (dist, g) in corr.g.iter().enumerate().skip(1) {
        assert_within(&format!("ring G({dist})"), *g, g_exact(dist), 0.02);
    }
    // χ(k) = Σ_r G(r) e^{ikr} on a ring (translation invariance), exactly.
    let chi = |q: f64| (0..n).map(|d| g_exact(d.min(n - d)) * (q * d as f64).cos()).sum::<f64>();
    let kmin = 2.0 * std::f64::consts::PI / n as f64;
    assert_within("ring chi(0)", corr.chi_zero, chi(0.0), 0.05 * chi(0.0));
    assert_within("ring chi(kmin)", corr.chi_kmin, chi(kmin), 0.05 * chi(kmin));
    let xi_exact = (chi(0.0) / chi(kmin) - 1.0).sqrt() / (2.0 * (std::f64::consts::PI / n as f64).sin());
    let xi = corr.second_moment_length.expect("correlations are resolved at K = 0.7");
    assert_within("ring xi", xi, xi_exact, 0.05 * xi_exact);
}

#[test]
fn correlations_on_a_square_lattice_match_enumeration() {
    let (l, k) = (4, 0.35);
    let lattice = Lattice::square(l).unwrap();
    let ex = Exact::new(lattice, k);
    let n = l * l;
    // Exact G(r) and χ(k) by summing over every configuration with its probability.
    let (mut g, mut chi0, mut chik) = (vec![0.0; l / 2 + 1], 0.0, 0.0);
    let kmin = 2.0 * std::f64::consts::PI / l as f64;
    let mut prev = 0.0;
    for (s, &cum) in ex.configs.iter().zip(&ex.cumulative) {
        let p = cum - prev;
        prev = cum;
        for (r, gr) in g.iter_mut().enumerate() {
            let mut acc = 0.0;
            for y in 0..l {
                for x in 0..l {
                    let v = s[y * l + x] as f64;
                    acc += v * (s[y * l + (x + r) % l] as f64 + s[((y + r) % l) * l + x] as f64);
                }
            }
            *gr += p * acc / (2 * n) as f64;
        }
        let m: f64 = s.iter().map(|&v| v as f64).sum();
        chi0 += p * m * m / n as f64;
        let (mut rx, mut ix, mut ry, mut iy) = (0.0, 0.0, 0.0, 0.0);
        for y in 0..l {
            for x in 0..l {
                let v = s[y * l + x] as f64;
                rx += v * (kmin * x as f64).cos();
                ix += v * (kmin * x as f64).sin();
                ry += v * (kmin * y as f64).cos();
                iy += v * (kmin * y as f64).sin();
            }
        }
        chik += p * (rx * rx + ix * ix + ry * ry + iy * iy) / (2 * n) as f64;
    }
    let mut r = rng(22);
    let mut flat = Vec::with_capacity(20_000 * n);
    for _ in 0..20_000 {
        flat.extend_from_slice(ex.draw(&mut r));
    }
    let corr = observables::correlations(&Configurations::new(lattice, flat).unwrap()).unwrap();
    for (dist, (est, exact)) in corr.g.iter().zip(&g).enumerate().skip(1) {
        assert_within(&format!("square G({dist})"), *est, *exact, 0.02);
    }
    assert_within("square chi(0)", corr.chi_zero, chi0, 0.05 * chi0);
    assert_within("square chi(kmin)", corr.chi_kmin, chik, 0.05 * chik);
    let xi_exact = (chi0 / chik - 1.0).sqrt() / (2.0 * (std::f64::consts::PI / l as f64).sin());
    assert_within("square xi", corr.second_moment_length.unwrap(), xi_exact, 0.05 * xi_exact);
    // Cross-check of the estimator pipeline: χ(0) = N⟨m²⟩.
    assert!((chi0 - n as f64 * ex.m2).abs() < 1e-9);
}

#[test]
fn estimators_reject_bad_input() {
    let lattice = Lattice::square(4).unwrap();
    let few = vec![Measurement { bond_sum: 0, magnetization_sum: 0 }; 10];
    assert!(matches!(observables::estimate(lattice, 0.4, &few), Err(Error::TooFewSamples { .. })));
    let many = vec![Measurement { bond_sum: 0, magnetization_sum: 0 }; 100];
    assert!(matches!(observables::estimate(lattice, f64::NAN, &many), Err(Error::NonFinite { .. })));
    assert!(matches!(Measurement::from_slice(lattice, &[1; 15]), Err(Error::ConfigurationLength { .. })));
    assert!(Configurations::new(lattice, vec![1; 17]).is_err());
    assert!(CorrelationMeter::new(lattice).measure(&[1; 9]).is_err());
    // A perfectly slow series (a ramp) has no autocorrelation window: an error, not a guess.
    let ramp: Vec<Measurement> =
        (0..200).map(|i| Measurement { bond_sum: i, magnetization_sum: 4 }).collect();
    assert!(observables::estimate(lattice, 0.4, &ramp).is_err());
}

#[test]
fn binning_flags_bins_that_are_too_short() {
    // τ = 999.5 on 2^14 points: the largest bins (512 points) are far shorter than 2τ.
    let x = ar1(1 << 14, 0.999, 8);
    let b = stats::binning(&x).unwrap();
    let exact = ar1_variance_of_mean(1 << 14, 0.999).sqrt();
    assert!(!b.converged, "{b:?}");
    assert!(b.estimate().stderr < exact, "an unconverged binning error is a lower bound");
}

mod identities {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// τ_int is invariant under x → a x + b (a ≠ 0): ρ(t) is.
        #[test]
        fn tau_int_is_affine_invariant(seed in 0u64..1000, rho in 0.0f64..0.9, a in 0.1f64..10.0, b in -100.0f64..100.0) {
            let x = ar1(2000, rho, seed);
            let y: Vec<f64> = x.iter().map(|v| a * v + b).collect();
            let (tx, ty) = (stats::integrated_autocorrelation_time(&x), stats::integrated_autocorrelation_time(&y));
            match (tx, ty) {
                (Ok(tx), Ok(ty)) => {
                    prop_assert_eq!(tx.window, ty.window);
                    prop_assert!((tx.tau - ty.tau).abs() < 1e-9 * tx.tau.abs().max(1.0));
                }
                (tx, ty) => prop_assert_eq!(tx.is_err(), ty.is_err()),
            }
        }

        /// The jackknife of a block mean is the standard error of the block means, and the
        /// generic and the block-mean jackknife agree for any nonlinear function.
        #[test]
        fn jackknife_forms_agree(values in proptest::collection::vec(0.5f64..2.0, 10..60), blocks in 2usize..10) {
            prop_assume!(blocks <= values.len());
            let bm = BlockMeans::from_rows(&values, 1, blocks).unwrap();
            let n = values.len();
            let chunks: Vec<&[f64]> = (0..blocks).map(|k| &values[k * n / blocks..(k + 1) * n / blocks]).collect();
            let f = |sum: f64, count: f64| (sum / count).ln();
            let fast = bm.jackknife(|q| q[0].ln());
            let generic = stats::jackknife(&chunks, |sub| {
                let (s, c) = sub.iter().fold((0.0, 0.0), |(s, c), b| (s + b.iter().sum::<f64>(), c + b.len() as f64));
                f(s, c)
            }).unwrap();
            prop_assert!((fast.mean - generic.mean).abs() < 1e-12);
            prop_assert!((fast.stderr - generic.stderr).abs() < 1e-12);
            let mean = values.iter().sum::<f64>() / n as f64;
            prop_assert!((bm.means()[0] - mean).abs() < 1e-12);
        }
    }
}

/// Exact independent samples of a periodic ring in a field, drawn site by site from the
/// transfer matrix `T(s, s') = exp(K s s' + h (s + s')/2)`:
/// `P(s_0) ∝ (T^N)_{s_0 s_0}`, `P(s_i | s_{i-1}, s_0) ∝ T(s_{i-1}, s_i) (T^{N-i})_{s_i s_0}`.
struct RingSampler {
    n: usize,
    t: [[f64; 2]; 2],
    /// `T^p` normalised (only ratios matter), `p = 0 … n`.
    powers: Vec<[[f64; 2]; 2]>,
}

impl RingSampler {
    fn new(n: usize, k: f64, h: f64) -> Self {
        let spin = |a: usize| if a == 0 { 1.0 } else { -1.0 };
        let mut t = [[0.0; 2]; 2];
        for (a, row) in t.iter_mut().enumerate() {
            for (b, x) in row.iter_mut().enumerate() {
                *x = (k * spin(a) * spin(b) + h * (spin(a) + spin(b)) / 2.0).exp();
            }
        }
        let mut powers = vec![[[1.0, 0.0], [0.0, 1.0]]];
        for p in 1..=n {
            let q = powers[p - 1];
            let mut m = [[0.0; 2]; 2];
            for a in 0..2 {
                for b in 0..2 {
                    m[a][b] = q[a][0] * t[0][b] + q[a][1] * t[1][b];
                }
            }
            let norm = m.iter().flatten().fold(0.0f64, |x, &y| x.max(y));
            m.iter_mut().flatten().for_each(|x| *x /= norm);
            powers.push(m);
        }
        RingSampler { n, t, powers }
    }

    fn draw<R: Rng>(&self, rng: &mut R, out: &mut Vec<i8>) {
        let pick = |w0: f64, w1: f64, rng: &mut R| usize::from(rng.random::<f64>() * (w0 + w1) >= w0);
        let tn = &self.powers[self.n];
        let s0 = pick(tn[0][0], tn[1][1], rng);
        let mut prev = s0;
        out.push(if s0 == 0 { 1 } else { -1 });
        for i in 1..self.n {
            let rest = &self.powers[self.n - i];
            let w = |a: usize| self.t[prev][a] * rest[a][s0];
            let si = pick(w(0), w(1), rng);
            out.push(if si == 0 { 1 } else { -1 });
            prev = si;
        }
    }
}

#[test]
fn second_moment_length_in_a_field_uses_the_connected_correlator() {
    // Ring at K = 0.8, h = 0.1. The connected correlator of the infinite chain is A t^r with
    // t = λ₋/λ₊, for which sqrt(χ_c(0)/χ(k) - 1)/(2 sin(k/2)) = sqrt(t)/(1 - t) at every k;
    // on rings of N ≥ 20 the periodic corrections (t^N < 1e-5) are far below the error bars.
    // The full χ(0) = N⟨m²⟩ grows like N⟨m⟩², so a length built from it grows with N.
    let (k, h) = (0.8f64, 0.1f64);
    let root = ((k.exp() * h.sinh()).powi(2) + (-2.0 * k).exp()).sqrt();
    let (lp, lm) = (k.exp() * h.cosh() + root, k.exp() * h.cosh() - root);
    let t = lm / lp;
    let xi_exact = t.sqrt() / (1.0 - t);
    let xi_exponential = -1.0 / t.ln();
    assert!((1.5..2.5).contains(&xi_exponential), "{xi_exponential}");
    // The error grows like 1/(k_min ξ)², so the longer rings get more samples.
    for (n, samples, seed) in [(20, 8_000, 31), (40, 16_000, 32), (80, 40_000, 33)] {
        let lattice = Lattice::ring(n).unwrap();
        let sampler = RingSampler::new(n, k, h);
        let mut r = rng(seed);
        let mut flat = Vec::with_capacity(samples * n);
        for _ in 0..samples {
            sampler.draw(&mut r, &mut flat);
        }
        let corr = observables::correlations(&Configurations::new(lattice, flat).unwrap()).unwrap();
        assert_eq!(corr.second_moment_status, LengthStatus::Finite);
        let xi = corr.second_moment_length.unwrap();
        assert_within(&format!("xi_2 on N = {n}"), xi, xi_exact, 0.25 * xi_exact);
        assert!(corr.chi_zero.mean > 1.5 * corr.chi_zero_connected.mean, "a field makes χ(0) ≠ χ_c(0)");
    }
}

#[test]
fn perfectly_ordered_data_has_an_infinite_or_undefined_length() {
    let lattice = Lattice::square(8).unwrap();
    // Both ordered states, alternating in blocks: χ_c(0) > 0, no fluctuation at k_min.
    let mut both = Vec::new();
    for i in 0..400 {
        both.extend(std::iter::repeat_n(if (i / 50) % 2 == 0 { 1i8 } else { -1 }, 64));
    }
    let corr = observables::correlations(&Configurations::new(lattice, both).unwrap()).unwrap();
    assert_eq!(corr.second_moment_status, LengthStatus::Infinite);
    assert_eq!(corr.second_moment_length, None);
    // All up: χ_c(0) = χ(k_min) = 0, the ratio is 0/0.
    let up = Configurations::new(lattice, vec![1; 400 * 64]).unwrap();
    let corr = observables::correlations(&up).unwrap();
    assert_eq!(corr.second_moment_status, LengthStatus::Undefined);
    assert_eq!(corr.second_moment_length, None);
}
