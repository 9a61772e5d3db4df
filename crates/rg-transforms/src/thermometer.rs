//! The exact-energy thermometer: the coupling at which the exact nearest-neighbour model on the
//! same torus has the configurations' mean energy (docs/science.md §7–§8).
//!
//! # Units and sign convention
//!
//! Couplings are dimensionless (`K = βJ`), `H = −K Σ_<ij> s_i s_j` on the `L×L` torus with its
//! `2L²` bonds counted with multiplicity (as [`lattice_physics::exact::kaufman`] does), energy per
//! site `e = −B/N` with `B` the bond sum, magnetisation per site `m = M/N`.
//!
//! # The read-outs
//!
//! - **Energy** (any `L`): `K′` solves `e_L(K′) = ē`, with `e_L` Kaufman's exact energy per site of
//!   the `L×L` torus and `ē` the sample mean. `e_L` decreases strictly in `K`
//!   (`de/dK = −Var(B)/N = −c/K²`), so the root is found by bisection to `1e-14`. Its error is
//!   propagated linearly, `σ_K = σ_ē / |de/dK|`, with `de/dK` from Kaufman's exact specific heat,
//!   and `σ_ē` from a binning analysis of the per-configuration energies
//!   ([`lattice_physics::stats::binning`]), which is right for correlated Markov-chain data too
//!   (configurations in chain order). `K′` is searched in `[−MAX_COUPLING, MAX_COUPLING]` on even
//!   tori (a mean energy above zero reads as an antiferromagnetic coupling) and in
//!   `[0, MAX_COUPLING]` on odd ones. For `|K| <` [`MIN_NONZERO_COUPLING`], where Kaufman's formula
//!   is refused, `e_L` is a cubic Hermite interpolation between `K = 0` (where `e = 0` and
//!   `de/dK = −Var(B)/N` of independent spins) and `±MIN_NONZERO_COUPLING` (Kaufman's `e` and
//!   `−c/K²`); its error, below `1e-9` in `K′`, is far below any statistical error.
//! - **|m|** (at most [`MAX_ENUMERATION_SPINS`] spins): `K′` solves `⟨|m|⟩_L(K′) = mean |m|`, with the
//!   exact `⟨|m|⟩_L` from enumeration, searched in `[0, MAX_COUPLING]`, its slope by a central
//!   difference. On larger tori there is no exact `⟨|m|⟩`: the read-out is then
//!   [`MagnetizationReadout::NoExactReference`], and a Monte Carlo calibration curve is the
//!   caller's business.

use lattice_physics::exact::{kaufman, DensityOfStates, MAX_ENUMERATION_SPINS, MIN_NONZERO_COUPLING};
use lattice_physics::observables::measure_all;
use lattice_physics::stats::{binning, Estimate};
use lattice_physics::{Configurations, Lattice};
use serde::{Deserialize, Serialize};

use crate::error::{finite, Error, Result};

/// Largest `|K′|` the thermometer reports (the energy then differs from the ground state's by
/// less than `1e-9` on any torus of at least 2×2).
pub const MAX_COUPLING: f64 = 3.0;

/// Bisection stops when the bracket is this narrow.
const BRACKET: f64 = 1e-14;

/// `de/dK` at `K = 0`: `−Var(B)/N` for independent spins, `−Σ_p m_p²/N` over distinct pairs of
/// sites `p` joined by `m_p` bonds (`−2` for `L ≥ 3`, `−4` on the 2×2 torus, whose bonds are doubled).
fn slope_at_zero(l: usize) -> Result<f64> {
    let lattice = Lattice::square(l)?;
    let mut pairs = std::collections::BTreeMap::<(usize, usize), usize>::new();
    for i in 0..lattice.num_sites() {
        let (nb, k) = lattice.forward_neighbours(i);
        for &j in &nb[..k] {
            *pairs.entry((i.min(j), i.max(j))).or_insert(0) += 1;
        }
    }
    Ok(-(pairs.values().map(|&m| (m * m) as f64).sum::<f64>()) / lattice.num_sites() as f64)
}

/// The exact energy per site `e_L(K)` and its derivative `de/dK` (see the module header).
fn energy_and_slope(l: usize, k: f64) -> Result<(f64, f64)> {
    if k.abs() < MIN_NONZERO_COUPLING {
        // Cubic Hermite interpolation between K = 0 (e = 0, slope from independent spins) and
        // K = ±K_m (Kaufman's e and −c/K²); e is odd in K on even tori, which alone reach K < 0.
        let km = MIN_NONZERO_COUPLING;
        let edge = kaufman(l, km)?;
        let (s0, e1, s1) =
            (slope_at_zero(l)?, edge.energy_per_site, -edge.specific_heat_per_site / (km * km));
        let t = k.abs() / km;
        let (t2, t3) = (t * t, t * t * t);
        let e = (t3 - 2.0 * t2 + t) * km * s0 + (-2.0 * t3 + 3.0 * t2) * e1 + (t3 - t2) * km * s1;
        let slope =
            (3.0 * t2 - 4.0 * t + 1.0) * s0 + (-6.0 * t2 + 6.0 * t) * e1 / km + (3.0 * t2 - 2.0 * t) * s1;
        return Ok((if k < 0.0 { -e } else { e }, slope));
    }
    let t = kaufman(l, k)?;
    Ok((t.energy_per_site, -t.specific_heat_per_site / (k * k)))
}

/// The coupling `K′` at which Kaufman's exact energy per site of the `l × l` torus is
/// `energy_per_site` (see the module header for the range searched).
///
/// Errors: `l < 2`; a non-finite energy; an energy outside `e_L` over the range searched (for
/// instance `−2`, only fully ordered configurations, which no finite coupling produces).
///
/// ```
/// use lattice_physics::K_CRITICAL;
/// use rg_transforms::thermometer::coupling_from_energy;
/// // docs/science.md §8: e = −1.4530648528 on the 16×16 torus at K_c (ten digits).
/// let k = coupling_from_energy(16, -1.4530648528)?;
/// assert!((k - K_CRITICAL).abs() < 1e-9);
/// # Ok::<(), rg_transforms::Error>(())
/// ```
pub fn coupling_from_energy(l: usize, energy_per_site: f64) -> Result<f64> {
    Lattice::square(l)?;
    let e = finite("energy per site", energy_per_site)?;
    let lo = if l % 2 == 0 { -MAX_COUPLING } else { 0.0 };
    let (e_lo, e_hi) = (energy_and_slope(l, lo)?.0, energy_and_slope(l, MAX_COUPLING)?.0);
    if !(e_hi < e && e <= e_lo) {
        return Err(Error::OutOfRange {
            name: "energy per site",
            value: e,
            reason: "outside the exact energies of this torus over the couplings the thermometer reads (|K| ≤ 3; K ≥ 0 on odd tori)",
        });
    }
    // e_L is decreasing: keep e(a) ≥ e > e(b).
    let (mut a, mut b) = (lo, MAX_COUPLING);
    while b - a > BRACKET {
        let mid = 0.5 * (a + b);
        if mid <= a || mid >= b {
            break;
        }
        if energy_and_slope(l, mid)?.0 >= e {
            a = mid;
        } else {
            b = mid;
        }
    }
    Ok(0.5 * (a + b))
}

/// The coupling `K′ ≥ 0` at which the exact `⟨|m|⟩` of the enumerated lattice `dos` is `abs_m`.
///
/// Errors: a non-finite value, or one outside `[⟨|m|⟩(0), ⟨|m|⟩(MAX_COUPLING)]`.
pub fn coupling_from_abs_magnetization(dos: &DensityOfStates, abs_m: f64) -> Result<f64> {
    let m = finite("mean |m|", abs_m)?;
    let at = |k: f64| -> Result<f64> { Ok(dos.evaluate(k, 0.0)?.abs_magnetization) };
    if !(at(0.0)? <= m && m < at(MAX_COUPLING)?) {
        return Err(Error::OutOfRange {
            name: "mean |m|",
            value: m,
            reason: "outside the exact ⟨|m|⟩ of this lattice for 0 ≤ K ≤ 3",
        });
    }
    let (mut a, mut b) = (0.0, MAX_COUPLING);
    while b - a > BRACKET {
        let mid = 0.5 * (a + b);
        if mid <= a || mid >= b {
            break;
        }
        if at(mid)? <= m {
            a = mid;
        } else {
            b = mid;
        }
    }
    Ok(0.5 * (a + b))
}

/// The `|m|` read-out of a [`Reading`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MagnetizationReadout {
    /// `K′` from the exact `⟨|m|⟩` (enumeration), with its propagated error.
    Exact {
        /// The coupling read off.
        coupling: Estimate,
    },
    /// The mean `|m|` lies outside the exact curve for `0 ≤ K ≤ MAX_COUPLING` (for instance
    /// below its `K = 0` value, as statistical noise can put it at very weak coupling).
    OutOfRange,
    /// The lattice has more than [`MAX_ENUMERATION_SPINS`] spins: no exact `⟨|m|⟩` exists here,
    /// only Monte Carlo ones.
    NoExactReference,
}

/// What the thermometer reads from a data set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Linear size of the torus.
    pub size: usize,
    /// Number of configurations.
    pub samples: usize,
    /// Mean energy per site with its binning error.
    pub energy_per_site: Estimate,
    /// Whether the binning analysis of the energy found a confirmed plateau (otherwise its
    /// error is a lower bound).
    pub energy_error_converged: bool,
    /// `K′` from the exact energy, error propagated from `energy_per_site`.
    pub coupling: Estimate,
    /// Mean `|m|` with its binning error.
    pub abs_magnetization: Estimate,
    /// `K′` from the exact `⟨|m|⟩`, where it exists.
    pub coupling_from_abs_magnetization: MagnetizationReadout,
}

/// Read the coupling of a data set on a square torus (at least
/// `2·`[`lattice_physics::stats::MIN_BINS`] configurations, in Markov-chain order).
pub fn read(data: &Configurations) -> Result<Reading> {
    let lattice = data.lattice();
    if lattice.dimension() != 2 {
        return Err(Error::InvalidParameter {
            name: "lattice",
            reason: "the exact thermometer needs a square torus",
        });
    }
    let (l, n) = (lattice.linear_size(), lattice.num_sites());
    let samples = data.samples();
    let measurements = measure_all(data);
    let nf = n as f64;
    let energies: Vec<f64> = measurements.iter().map(|m| -(m.bond_sum as f64) / nf).collect();
    let abs_m: Vec<f64> = measurements.iter().map(|m| (m.magnetization_sum as f64 / nf).abs()).collect();
    let e_bin = binning(&energies)?;
    let energy = e_bin.estimate();
    let k = coupling_from_energy(l, energy.mean)?;
    let slope = energy_and_slope(l, k)?.1;
    let coupling = Estimate::new(k, energy.stderr / slope.abs());
    let m = binning(&abs_m)?.estimate();
    let readout = if n > MAX_ENUMERATION_SPINS {
        MagnetizationReadout::NoExactReference
    } else {
        let dos = DensityOfStates::new(lattice)?;
        match coupling_from_abs_magnetization(&dos, m.mean) {
            Ok(km) => {
                // d⟨|m|⟩/dK by a central difference (one-sided at K = 0).
                let h = 1e-5;
                let at = |k: f64| dos.evaluate(k, 0.0).map(|r| r.abs_magnetization);
                let (a, b) = ((km - h).max(0.0), km + h);
                let slope = (at(b)? - at(a)?) / (b - a);
                MagnetizationReadout::Exact { coupling: Estimate::new(km, m.stderr / slope) }
            }
            Err(Error::OutOfRange { .. }) => MagnetizationReadout::OutOfRange,
            Err(e) => return Err(e),
        }
    };
    Ok(Reading {
        size: l,
        samples,
        energy_per_site: energy,
        energy_error_converged: e_bin.converged,
        coupling,
        abs_magnetization: m,
        coupling_from_abs_magnetization: readout,
    })
}

/// One point of the exact-thermometer flow `K → K′`: configurations produced by a coarse-graining
/// kernel from data at coupling `coupling`, read on their (coarse) torus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowPoint {
    /// The coupling of the fine data.
    pub coupling: f64,
    /// The coupling read from the coarse configurations' energy.
    pub renormalised: Estimate,
    /// Everything the thermometer read.
    pub reading: Reading,
}

/// The flow point `(K, K′ ± σ)` of kernel-output configurations `coarse_data` (on their coarse
/// torus) obtained from fine data at coupling `coupling` (finite).
pub fn flow_point(coupling: f64, coarse_data: &Configurations) -> Result<FlowPoint> {
    let coupling = finite("coupling", coupling)?;
    let reading = read(coarse_data)?;
    Ok(FlowPoint { coupling, renormalised: reading.coupling, reading })
}
