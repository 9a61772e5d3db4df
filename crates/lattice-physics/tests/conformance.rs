//! Conformance suite: every sampler reproduces exact results.
//!
//! One set of generic checks, instantiated for every sampler by the `conformance!` macro
//! (burn's `testgen_all` pattern):
//! - `kaufman_l16`: energy and specific heat per site on the 16×16 torus at `K = 0.40`, `K_c`
//!   and `0.48` against Kaufman's exact finite-lattice values, within 4σ, with σ(e) < 0.002;
//! - `enumeration_*`: energy, specific heat, `⟨|m|⟩`, `⟨m⟩` and the Binder cumulant on
//!   enumerable lattices (4×4 torus at `K_c`, rings, odd sizes, fields, antiferromagnets where
//!   the sampler supports them) against exact enumeration, within 4σ;
//! - `ring_transfer_matrix`: a 64-site ring (with a field for the local samplers) against the
//!   exact transfer-matrix solution;
//! - `fixed_seed_fixed_trajectory`: a fixed seed gives an identical trajectory, another seed a
//!   different one, for the concrete type and through `AnySampler`;
//! - `any_sampler_dispatches_to_the_concrete_type`: `AnySampler::new` gives the trajectory of
//!   the concrete type's `new`;
//! - each local sampler runs the suite with both sweep kernels (scalar and multi-spin), and
//!   `multispin_multiword_rows` checks the multi-spin kernels on rows of several words.
//!
//! Error bars come from a jackknife over bins (the `binning` module below), with bins at least
//! 20 integrated autocorrelation times long (estimated from the binning itself and asserted).
//! Every run has a fixed seed.

use lattice_physics::exact::{self, Enumeration};
use lattice_physics::rng::chain_rng;
use lattice_physics::sampler::{
    Algorithm, AnySampler, HeatBath, Kernel, Metropolis, Sampler, SwendsenWang, Wolff,
};
use lattice_physics::{Error, IsingModel, Lattice, Result, Spins, K_CRITICAL};

/// Jackknife-over-bins error analysis for functions of several time series' means.
mod binning {
    /// `f` of the series' means, with its jackknife standard error over `bins` consecutive
    /// equal bins (a trailing remainder shorter than one bin is dropped).
    pub fn jackknife<F: Fn(&[f64]) -> f64>(series: &[Vec<f64>], bins: usize, f: F) -> (f64, f64) {
        let len = series[0].len() / bins;
        assert!(len >= 1 && bins >= 2, "need at least two non-empty bins");
        let k = series.len();
        let sums: Vec<Vec<f64>> = series
            .iter()
            .map(|s| (0..bins).map(|b| s[b * len..(b + 1) * len].iter().sum::<f64>()).collect())
            .collect();
        let totals: Vec<f64> = sums.iter().map(|s| s.iter().sum::<f64>()).collect();
        let n = (bins * len) as f64;
        let full: Vec<f64> = totals.iter().map(|t| t / n).collect();
        let mut leave_out = vec![0.0; k];
        let thetas: Vec<f64> = (0..bins)
            .map(|b| {
                for (i, slot) in leave_out.iter_mut().enumerate() {
                    *slot = (totals[i] - sums[i][b]) / (n - len as f64);
                }
                f(&leave_out)
            })
            .collect();
        let mean_theta = thetas.iter().sum::<f64>() / bins as f64;
        let var =
            thetas.iter().map(|t| (t - mean_theta).powi(2)).sum::<f64>() * (bins - 1) as f64 / bins as f64;
        (f(&full), var.sqrt())
    }

    /// Integrated autocorrelation time of a series estimated from the binning: half the ratio of
    /// the binned variance of the mean to the naive (independent-samples) one.
    pub fn tau_from_binning(x: &[f64], bins: usize) -> f64 {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let naive_var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n * (n - 1.0));
        let (_, err) = jackknife(&[x.to_vec()], bins, |m| m[0]);
        0.5 * err * err / naive_var
    }
}

/// Measured averages with their error bars.
struct Measured {
    energy: (f64, f64),
    specific_heat: (f64, f64),
    abs_m: (f64, f64),
    m: (f64, f64),
    binder: (f64, f64),
}

/// Thermalise from a random start, then record `B` and `M` after each of `sweeps` sweeps and
/// analyse them in `bins` bins.
fn measure<S: Sampler>(
    sampler: &mut S,
    seed: u64,
    thermalize: usize,
    sweeps: usize,
    bins: usize,
) -> Measured {
    let model = *sampler.model();
    let lattice = model.lattice();
    let n = lattice.num_sites() as f64;
    let mut rng = chain_rng(seed, 0);
    let mut spins = Spins::random(lattice, &mut rng);
    for _ in 0..thermalize {
        sampler.sweep(&mut spins, &mut rng);
    }
    let (mut b, mut b2, mut m, mut am, mut m2, mut m4) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..sweeps {
        sampler.sweep(&mut spins, &mut rng);
        let bond = spins.bond_sum() as f64;
        let mag = spins.magnetization_sum() as f64 / n;
        b.push(bond);
        b2.push(bond * bond);
        m.push(mag);
        am.push(mag.abs());
        m2.push(mag * mag);
        m4.push(mag.powi(4));
    }
    let tau = binning::tau_from_binning(&b, bins).max(binning::tau_from_binning(&am, bins));
    let bin_len = sweeps / bins;
    assert!(
        bin_len as f64 >= 20.0 * tau,
        "{}: bins of {bin_len} sweeps are too short for tau_int ≈ {tau:.1}",
        sampler.name()
    );
    let k = model.coupling();
    let series = vec![b, b2];
    Measured {
        energy: binning::jackknife(&series, bins, |x| -x[0] / n),
        specific_heat: binning::jackknife(&series, bins, |x| k * k * (x[1] - x[0] * x[0]) / n),
        abs_m: binning::jackknife(&[am], bins, |x| x[0]),
        m: binning::jackknife(&[m], bins, |x| x[0]),
        binder: binning::jackknife(&[m2, m4], bins, |x| 1.0 - x[1] / (3.0 * x[0] * x[0])),
    }
}

/// `|got - exact| ≤ 4σ`, with a readable message.
fn within_4_sigma(what: &str, (got, sigma): (f64, f64), exact: f64) {
    assert!(
        (got - exact).abs() <= 4.0 * sigma,
        "{what}: measured {got:.6} ± {sigma:.6}, exact {exact:.6} ({:.1}σ)",
        (got - exact).abs() / sigma
    );
}

/// Run lengths for one sampler: sweeps and bins for the long L = 16 runs, and for the short
/// runs on enumerable lattices.
#[derive(Clone, Copy)]
struct Budget {
    long: usize,
    long_bins: usize,
    short: usize,
}

/// Everything checked for one sampler. `new` builds it; `local` says whether it supports fields
/// and negative couplings (Metropolis, heat bath) or refuses them (cluster algorithms).
struct Suite<S> {
    new: fn(IsingModel) -> Result<S>,
    algorithm: Algorithm,
    budget: Budget,
}

impl<S: Sampler> Suite<S> {
    fn build(&self, lattice: Lattice, k: f64, h: f64) -> S {
        (self.new)(IsingModel::new(lattice, k, h).unwrap()).unwrap()
    }

    fn kaufman_l16(&self) {
        for (i, k) in [0.40, K_CRITICAL, 0.48].into_iter().enumerate() {
            let mut sampler = self.build(Lattice::square(16).unwrap(), k, 0.0);
            let r = measure(&mut sampler, 100 + i as u64, 2000, self.budget.long, self.budget.long_bins);
            let exact = exact::kaufman(16, k).unwrap();
            let name = self.algorithm.name();
            assert!(r.energy.1 < 0.002, "{name} K={k}: σ(e) = {} must be below 0.002", r.energy.1);
            assert!(r.specific_heat.1 < 0.1 * exact.specific_heat_per_site, "{name} K={k}: σ(c) too large");
            within_4_sigma(&format!("{name} L=16 K={k} energy"), r.energy, exact.energy_per_site);
            within_4_sigma(
                &format!("{name} L=16 K={k} specific heat"),
                r.specific_heat,
                exact.specific_heat_per_site,
            );
        }
    }

    fn check_against(&self, what: &str, lattice: Lattice, k: f64, h: f64, seed: u64) {
        let model = IsingModel::new(lattice, k, h).unwrap();
        let exact: Enumeration = exact::enumerate(&model).unwrap();
        let mut sampler = (self.new)(model).unwrap();
        let r = measure(&mut sampler, seed, 1000, self.budget.short, 50);
        let name = format!("{} {what} (K={k}, h={h})", self.algorithm.name());
        within_4_sigma(&format!("{name} energy"), r.energy, exact.energy_per_site);
        within_4_sigma(&format!("{name} specific heat"), r.specific_heat, exact.specific_heat_per_site);
        within_4_sigma(&format!("{name} |m|"), r.abs_m, exact.abs_magnetization);
        within_4_sigma(&format!("{name} Binder"), r.binder, exact.binder_cumulant);
        if h != 0.0 {
            within_4_sigma(&format!("{name} m"), r.m, exact.magnetization);
        }
        assert!(r.energy.1 < 0.01, "{name}: σ(e) = {} should be below 0.01", r.energy.1);
    }

    fn enumeration_zero_field(&self) {
        self.check_against("4x4 torus", Lattice::square(4).unwrap(), K_CRITICAL, 0.0, 11);
        self.check_against("3x3 torus", Lattice::square(3).unwrap(), 0.3, 0.0, 12);
        self.check_against("ring of 12", Lattice::ring(12).unwrap(), 0.7, 0.0, 13);
        self.check_against("2x2 torus", Lattice::square(2).unwrap(), 0.35, 0.0, 14);
    }

    fn enumeration_field_and_antiferromagnet(&self) {
        let cases = [
            ("4x4 torus", Lattice::square(4).unwrap(), 0.35, 0.1),
            ("3x3 torus (odd)", Lattice::square(3).unwrap(), 0.3, -0.2),
            ("4x4 antiferromagnet", Lattice::square(4).unwrap(), -0.4, 0.3),
            ("3x3 antiferromagnet (frustrated)", Lattice::square(3).unwrap(), -0.5, 0.0),
            ("ring of 9 (odd)", Lattice::ring(9).unwrap(), 0.6, 0.15),
            ("ring of 2", Lattice::ring(2).unwrap(), 0.5, 0.3),
        ];
        for (seed, (what, lattice, k, h)) in cases.into_iter().enumerate() {
            let model = IsingModel::new(lattice, k, h).unwrap();
            if self.algorithm.is_cluster() {
                let err = (self.new)(model).err();
                if h != 0.0 {
                    assert!(matches!(err, Some(Error::FieldWithClusterAlgorithm { .. })), "{what}: {err:?}");
                } else {
                    assert!(
                        matches!(err, Some(Error::NegativeCouplingWithClusterAlgorithm { .. })),
                        "{what}"
                    );
                }
            } else {
                self.check_against(what, lattice, k, h, 20 + seed as u64);
            }
        }
    }

    fn fixed_seed_fixed_trajectory(&self) {
        let lattice = Lattice::square(8).unwrap();
        let run = |seed: u64, any: bool| {
            let mut rng = chain_rng(seed, 3);
            let mut spins = Spins::random(lattice, &mut rng);
            let model = IsingModel::new(lattice, 0.42, 0.0).unwrap();
            let mut trajectory = Vec::new();
            if any {
                let mut s = AnySampler::new(self.algorithm, model).unwrap();
                assert_eq!(s.name(), self.algorithm.name());
                for _ in 0..20 {
                    s.sweep(&mut spins, &mut rng);
                    trajectory.extend_from_slice(spins.as_slice());
                }
            } else {
                let mut s = (self.new)(model).unwrap();
                assert_eq!(s.name(), self.algorithm.name());
                for _ in 0..20 {
                    s.sweep(&mut spins, &mut rng);
                    trajectory.extend_from_slice(spins.as_slice());
                }
            }
            trajectory
        };
        assert_eq!(run(5, false), run(5, false));
        assert_ne!(run(5, false), run(6, false));
        assert_eq!(run(5, true), run(5, true));
    }

    fn ring_transfer_matrix(&self) {
        let h = if self.algorithm.is_cluster() { 0.0 } else { 0.2 };
        let (n, k) = (64, 0.5);
        let model = IsingModel::new(Lattice::ring(n).unwrap(), k, h).unwrap();
        let exact = exact::ring(n, k, h).unwrap();
        let mut sampler = (self.new)(model).unwrap();
        let r = measure(&mut sampler, 40, 1000, self.budget.short, 50);
        let name = format!("{} ring of {n} (K={k}, h={h})", self.algorithm.name());
        within_4_sigma(&format!("{name} energy"), r.energy, exact.energy_per_site);
        within_4_sigma(&format!("{name} specific heat"), r.specific_heat, exact.specific_heat_per_site);
        within_4_sigma(&format!("{name} m"), r.m, exact.magnetization);
    }
}

/// Instantiate every check of [`Suite`] for each listed sampler, one `#[test]` per check.
macro_rules! conformance {
    ($($module:ident: $ty:ty, $new:expr, $algorithm:expr, $budget:expr;)*) => {$(
        mod $module {
            use super::*;

            fn suite() -> Suite<$ty> {
                Suite { new: $new, algorithm: $algorithm, budget: $budget }
            }

            #[test]
            fn kaufman_l16() {
                suite().kaufman_l16();
            }

            #[test]
            fn enumeration_zero_field() {
                suite().enumeration_zero_field();
            }

            #[test]
            fn enumeration_field_and_antiferromagnet() {
                suite().enumeration_field_and_antiferromagnet();
            }

            #[test]
            fn fixed_seed_fixed_trajectory() {
                suite().fixed_seed_fixed_trajectory();
            }

            #[test]
            fn ring_transfer_matrix() {
                suite().ring_transfer_matrix();
            }

        }
    )*};
}

const LOCAL: Budget = Budget { long: 400_000, long_bins: 100, short: 100_000 };

// Each local sampler runs the suite with both sweep kernels (the default `new` picks the scalar
// one on every lattice of the suite, which are all smaller than the multi-spin crossover).
conformance! {
    metropolis: Metropolis, Metropolis::new, Algorithm::Metropolis, LOCAL;
    metropolis_multispin: Metropolis, |m| Metropolis::with_kernel(m, Kernel::MultiSpin), Algorithm::Metropolis, LOCAL;
    heat_bath: HeatBath, HeatBath::new, Algorithm::HeatBath, LOCAL;
    heat_bath_multispin: HeatBath, |m| HeatBath::with_kernel(m, Kernel::MultiSpin), Algorithm::HeatBath, LOCAL;
    wolff: Wolff, Wolff::new, Algorithm::Wolff, Budget { long: 60_000, long_bins: 100, short: 50_000 };
    swendsen_wang: SwendsenWang, SwendsenWang::new, Algorithm::SwendsenWang,
        Budget { long: 100_000, long_bins: 100, short: 50_000 };
}

/// Property tests: identities every sampler must satisfy exactly.
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn tiny_lattices() -> [Lattice; 5] {
        [
            Lattice::ring(2).unwrap(),
            Lattice::ring(3).unwrap(),
            Lattice::ring(4).unwrap(),
            Lattice::square(2).unwrap(),
            Lattice::square(3).unwrap(),
        ]
    }

    fn spins_of(lattice: Lattice, bits: usize) -> Spins {
        let s = (0..lattice.num_sites()).map(|i| if bits >> i & 1 == 1 { 1 } else { -1 }).collect();
        Spins::from_vec(lattice, s).unwrap()
    }

    /// For every configuration `s` and site `i` of a tiny lattice, with `s'` = `s` with spin `i`
    /// flipped: `π(s) T(s→s') = π(s') T(s'→s)`, where `T` is the single-site transition
    /// probability given by `transition(model, spin_before, spin_after, neighbour_sum)` and
    /// `π ∝ e^{-H}` comes from the model's Hamiltonian.
    fn check_detailed_balance(model: IsingModel, transition: impl Fn(i8, i8, i32) -> f64) {
        let lattice = model.lattice();
        let n = lattice.num_sites();
        let states: Vec<Spins> = (0..1usize << n).map(|b| spins_of(lattice, b)).collect();
        let ln_w: Vec<f64> = states.iter().map(|s| -model.hamiltonian(s)).collect();
        let top = ln_w.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = ln_w.iter().map(|x| (x - top).exp()).collect();
        for (b, s) in states.iter().enumerate() {
            for i in 0..n {
                let b2 = b ^ (1 << i);
                let (nb, k) = lattice.neighbours(i);
                let sum: i32 = nb[..k].iter().map(|&j| i32::from(s.as_slice()[j])).sum();
                let (si, sf) = (s.as_slice()[i], -s.as_slice()[i]);
                let forward = w[b] * transition(si, sf, sum);
                let backward = w[b2] * transition(sf, si, sum);
                let tol = 2f64.powi(-31) * w[b].max(w[b2]);
                assert!(
                    (forward - backward).abs() <= tol,
                    "detailed balance broken on {lattice:?}, state {b}, site {i}: {forward} vs {backward}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn metropolis_single_site_rule_satisfies_detailed_balance(
            k in -1.5f64..1.5, h in -1.0f64..1.0, which in 0usize..5
        ) {
            let model = IsingModel::new(tiny_lattices()[which], k, h).unwrap();
            let m = Metropolis::new(model).unwrap();
            check_detailed_balance(model, |before, _after, sum| m.flip_probability(before, sum).unwrap());
        }

        #[test]
        fn heat_bath_single_site_rule_satisfies_detailed_balance(
            k in -1.5f64..1.5, h in -1.0f64..1.0, which in 0usize..5
        ) {
            let model = IsingModel::new(tiny_lattices()[which], k, h).unwrap();
            let hb = HeatBath::new(model).unwrap();
            check_detailed_balance(model, |_before, after, sum| {
                let up = hb.up_probability(sum).unwrap();
                if after == 1 { up } else { 1.0 - up }
            });
        }

        /// Heat bath's table is exactly symmetric under (s, h) → (-s, -h).
        #[test]
        fn heat_bath_table_is_flip_symmetric(k in -1.5f64..1.5, h in -1.0f64..1.0) {
            let lattice = Lattice::square(4).unwrap();
            let plus = HeatBath::new(IsingModel::new(lattice, k, h).unwrap()).unwrap();
            let minus = HeatBath::new(IsingModel::new(lattice, k, -h).unwrap()).unwrap();
            for n in [-4, -2, 0, 2, 4] {
                prop_assert_eq!(plus.up_probability(n).unwrap(), 1.0 - minus.up_probability(-n).unwrap());
            }
        }

        /// With the same random numbers, sweeping `-s` at field `-h` gives exactly `-(sweep of s at h)`
        /// (Metropolis, and heat bath on even sizes, whose multi-spin path draws flip decisions),
        /// and likewise at `h = 0` for the cluster algorithms, over 40 sweeps (past Wolff's
        /// calibration).
        #[test]
        fn global_spin_flip_symmetry(
            seed in any::<u64>(), k in -1.0f64..1.0, h in -0.5f64..0.5, which in 0usize..4, algo in 0usize..4
        ) {
            let lattice = [
                Lattice::square(4).unwrap(),
                Lattice::square(5).unwrap(),
                Lattice::ring(6).unwrap(),
                Lattice::ring(7).unwrap(),
            ][which];
            let algorithm = [Algorithm::Metropolis, Algorithm::HeatBath, Algorithm::Wolff, Algorithm::SwendsenWang][algo];
            let h = if algorithm.is_cluster() { 0.0 } else { h };
            let k = if algorithm.is_cluster() { k.abs() } else { k };
            // The scalar heat bath draws new values, not flips: symmetric only in distribution.
            let lattice = if algorithm == Algorithm::HeatBath && lattice.linear_size() % 2 == 1 {
                Lattice::square(6).unwrap()
            } else {
                lattice
            };
            let build = |h: f64| {
                let model = IsingModel::new(lattice, k, h).unwrap();
                match algorithm {
                    Algorithm::HeatBath => AnySampler::HeatBath(HeatBath::with_kernel(model, Kernel::MultiSpin).unwrap()),
                    _ => AnySampler::new(algorithm, model).unwrap(),
                }
            };
            let (mut a, mut b) = (build(h), build(-h));
            let mut spins = Spins::random(lattice, &mut chain_rng(seed, 1));
            let mut flipped =
                Spins::from_vec(lattice, spins.as_slice().iter().map(|&v| -v).collect()).unwrap();
            let (mut ra, mut rb) = (chain_rng(seed, 2), chain_rng(seed, 2));
            for _ in 0..40 {
                a.sweep(&mut spins, &mut ra);
                b.sweep(&mut flipped, &mut rb);
                prop_assert!(spins.as_slice().iter().zip(flipped.as_slice()).all(|(x, y)| *x == -*y));
            }
        }
    }
}

#[test]
fn any_sampler_dispatches_to_the_concrete_type() {
    fn trajectory<S: Sampler>(mut sampler: S, lattice: Lattice) -> Vec<i8> {
        let mut rng = chain_rng(8, 0);
        let mut spins = Spins::random(lattice, &mut rng);
        let mut out = Vec::new();
        for _ in 0..40 {
            sampler.sweep(&mut spins, &mut rng);
            out.extend_from_slice(spins.as_slice());
        }
        out
    }
    for lattice in [Lattice::square(6).unwrap(), Lattice::square(128).unwrap(), Lattice::ring(9).unwrap()] {
        let model = IsingModel::new(lattice, 0.43, 0.0).unwrap();
        for algorithm in Algorithm::ALL {
            let any = trajectory(AnySampler::new(algorithm, model).unwrap(), lattice);
            let concrete = match algorithm {
                Algorithm::Metropolis => trajectory(Metropolis::new(model).unwrap(), lattice),
                Algorithm::HeatBath => trajectory(HeatBath::new(model).unwrap(), lattice),
                Algorithm::Wolff => trajectory(Wolff::new(model).unwrap(), lattice),
                Algorithm::SwendsenWang => trajectory(SwendsenWang::new(model).unwrap(), lattice),
            };
            assert!(any == concrete, "{algorithm} on {lattice:?}");
        }
    }
}

/// The multi-spin kernels on tori whose rows span several 64-bit words of one colour
/// (`L/2 > 64`), full (`L = 128`) and with a partial last word (`L = 130`), and on a 34×34 torus
/// (17 sites per word), against Kaufman, at couplings where short runs suffice.
#[test]
fn multispin_multiword_rows() {
    for (l, k, sweeps) in [(128, 0.3, 2000), (130, 0.3, 2000), (34, 0.40, 20_000)] {
        let model = IsingModel::new(Lattice::square(l).unwrap(), k, 0.0).unwrap();
        let exact = exact::kaufman(l, k).unwrap();
        let runs = [
            (
                "metropolis",
                measure(
                    &mut Metropolis::with_kernel(model, Kernel::MultiSpin).unwrap(),
                    77,
                    1000,
                    sweeps,
                    20,
                ),
            ),
            (
                "heat-bath",
                measure(
                    &mut HeatBath::with_kernel(model, Kernel::MultiSpin).unwrap(),
                    78,
                    1000,
                    2 * sweeps,
                    20,
                ),
            ),
        ];
        for (name, r) in runs {
            assert!(r.energy.1 < 0.002, "{name} L={l}: σ(e) = {}", r.energy.1);
            within_4_sigma(&format!("{name} L={l} K={k} energy"), r.energy, exact.energy_per_site);
            within_4_sigma(
                &format!("{name} L={l} K={k} specific heat"),
                r.specific_heat,
                exact.specific_heat_per_site,
            );
        }
    }
}
