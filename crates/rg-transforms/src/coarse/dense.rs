//! A trained dense RBM layer (the paper's network, for instance its 1600 → 400 first layer) read
//! as a coarse-graining kernel.
//!
//! Units and signs: visible spins `v_i = ±1` on an `L×L` torus (converted to the RBM's visible
//! units at the boundary: `u = v` for spin units, `u = (1 + v)/2` for binary units); RBM
//! parameters in the ML sign convention of `rbm_core` (`E = −uᵀWh − aᵀu − bᵀh`).
//!
//! A dense layer's hidden units have no positions. [`place_hidden_units`] gives each one
//! - a **position**: the periodic centroid of its receptive field (column `j` of `W`, weighted by
//!   `W_ij²`), computed per axis as a circular mean; the length of the mean resultant
//!   (`localisation`, 1 for a field on one site, near 0 for a delocalised one) says how
//!   meaningful the centroid is;
//! - a **sign** `σ_j = sign(Σ_i W_ij)`, so that the aligned coarse spin `σ_j h_j` follows the
//!   spins it sees;
//! - a **coarse site**: when there are exactly `(L/b)²` hidden units, an optimal one-to-one
//!   assignment of units to coarse sites minimising the summed squared periodic distance between
//!   centroid and block centre (Hungarian algorithm, [`assignment`], written here: `O(n³)`).
//!
//! The tiling quality is reported as the fraction of coarse sites that receive exactly one unit
//! when each centroid is simply rounded to its nearest block (`occupancy`), and the mean and
//! largest centroid-to-site distance of the optimal assignment, in fine lattice spacings.
//! [`DenseKernel`] then is the kernel `p(h̃ | v)` with `h̃_J = σ_j (2 h_j − 1)` or `σ_j h_j`
//! for the unit `j` assigned to site `J`; it exists for one lattice size only, and is symmetric
//! under a global flip only when its biases vanish.

use lattice_physics::{Configurations, Lattice};
use rand::Rng;
use rbm_core::{Rbm, Units};
use serde::{Deserialize, Serialize};

use super::CoarseKernel;
use crate::block::{check_lattice, coarse_lattice};
use crate::error::{Error, Result};
use crate::kernel::ln_2cosh;

/// Where a dense layer's hidden units sit and how well they tile the coarse lattice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Fine lattice linear size `L`.
    pub size: usize,
    /// Block factor `b`.
    pub factor: usize,
    /// Centroid `(x, y)` of each hidden unit, in fine lattice coordinates (`0 ≤ x, y < L`).
    pub centroids: Vec<(f64, f64)>,
    /// Mean resultant length of each unit's field (mean of the two axes, in `[0, 1]`).
    pub localisation: Vec<f64>,
    /// Sign `σ_j` aligning each unit with the spins it sees.
    pub signs: Vec<i8>,
    /// Fraction of coarse sites holding exactly one rounded centroid.
    pub occupancy: f64,
    /// For each coarse site (row-major), the hidden unit assigned to it, when the number of
    /// hidden units equals the number of coarse sites.
    pub assignment: Option<Vec<usize>>,
    /// Mean centroid-to-site distance of the assignment (fine spacings).
    pub mean_displacement: Option<f64>,
    /// Largest centroid-to-site distance of the assignment (fine spacings).
    pub max_displacement: Option<f64>,
}

/// Signed periodic difference `a − b` in `(−L/2, L/2]`.
fn periodic_delta(a: f64, b: f64, l: f64) -> f64 {
    let d = (a - b).rem_euclid(l);
    if d > l / 2.0 {
        d - l
    } else {
        d
    }
}

/// Place the hidden units of `rbm` (visible layer = the sites of `fine`, row-major) on the
/// coarse lattice of factor `factor` (see the module docs).
pub fn place_hidden_units(rbm: &Rbm<f64>, fine: Lattice, factor: usize) -> Result<Placement> {
    if fine.dimension() != 2 {
        return Err(Error::InvalidParameter {
            name: "lattice",
            reason: "placement needs the square lattice",
        });
    }
    let coarse = coarse_lattice(fine, factor)?;
    let l = fine.linear_size();
    if rbm.n_visible() != fine.num_sites() {
        return Err(Error::SizeMismatch { what: "RBM visible units", got: rbm.n_visible(), expected: l * l });
    }
    let lf = l as f64;
    let tau = std::f64::consts::TAU;
    let m = rbm.n_hidden();
    let (mut centroids, mut localisation, mut signs) =
        (Vec::with_capacity(m), Vec::with_capacity(m), Vec::new());
    for j in 0..m {
        let (mut cx, mut sx, mut cy, mut sy, mut total, mut sum) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..l * l {
            let w = rbm.weights()[(i, j)];
            let q = w * w;
            let (x, y) = ((i % l) as f64, (i / l) as f64);
            cx += q * (tau * x / lf).cos();
            sx += q * (tau * x / lf).sin();
            cy += q * (tau * y / lf).cos();
            sy += q * (tau * y / lf).sin();
            total += q;
            sum += w;
        }
        let angle = |s: f64, c: f64| (s.atan2(c) / tau * lf).rem_euclid(lf);
        centroids.push((angle(sx, cx), angle(sy, cy)));
        localisation.push(if total > 0.0 {
            ((cx * cx + sx * sx).sqrt() + (cy * cy + sy * sy).sqrt()) / (2.0 * total)
        } else {
            0.0
        });
        signs.push(if sum < 0.0 { -1 } else { 1 });
    }
    let lc = coarse.linear_size();
    let centre = |site: usize| {
        let b = factor as f64;
        ((site % lc) as f64 * b + (b - 1.0) / 2.0, (site / lc) as f64 * b + (b - 1.0) / 2.0)
    };
    let dist2 = |c: (f64, f64), site: usize| {
        let s = centre(site);
        periodic_delta(c.0, s.0, lf).powi(2) + periodic_delta(c.1, s.1, lf).powi(2)
    };
    // Occupancy by rounding each centroid to its nearest block centre.
    let mut counts = vec![0usize; lc * lc];
    for &c in &centroids {
        let nearest = (0..lc * lc).min_by(|&a, &b| dist2(c, a).total_cmp(&dist2(c, b))).expect("lc ≥ 2");
        counts[nearest] += 1;
    }
    let occupancy = counts.iter().filter(|&&n| n == 1).count() as f64 / (lc * lc) as f64;
    let (assignment, mean_displacement, max_displacement) = if m == lc * lc {
        let cost: Vec<f64> = (0..m)
            .flat_map(|site| centroids.iter().map(move |&c| (site, c)))
            .map(|(s, c)| dist2(c, s))
            .collect();
        let a = assignment(&cost, m);
        let d: Vec<f64> = a.iter().enumerate().map(|(site, &j)| dist2(centroids[j], site).sqrt()).collect();
        let mean = d.iter().sum::<f64>() / m as f64;
        let max = d.iter().copied().fold(0.0, f64::max);
        (Some(a), Some(mean), Some(max))
    } else {
        (None, None, None)
    };
    Ok(Placement {
        size: l,
        factor,
        centroids,
        localisation,
        signs,
        occupancy,
        assignment,
        mean_displacement,
        max_displacement,
    })
}

/// An optimal assignment for the square cost matrix `cost` (row-major `n × n`, rows = sites,
/// columns = units): returns for each row the column assigned to it, minimising the total cost
/// (Hungarian algorithm with potentials, `O(n³)`).
pub fn assignment(cost: &[f64], n: usize) -> Vec<usize> {
    assert_eq!(cost.len(), n * n, "square cost matrix (checked by the callers)");
    // 1-based arrays as in the classical formulation; p[col] = row matched to col.
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0usize; n];
    for j in 1..=n {
        row_to_col[p[j] - 1] = j - 1;
    }
    row_to_col
}

/// A dense RBM layer placed on the coarse lattice: coarse spin `J` is the aligned state of the
/// hidden unit assigned to `J` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseKernel {
    fine: Lattice,
    coarse: Lattice,
    factor: usize,
    rbm: Rbm<f64>,
    units: Vec<usize>,
    signs: Vec<i8>,
}

impl DenseKernel {
    /// The kernel of `rbm` on `fine` with the one-to-one assignment of `placement`.
    pub fn new(rbm: Rbm<f64>, fine: Lattice, placement: &Placement) -> Result<Self> {
        let coarse = coarse_lattice(fine, placement.factor)?;
        rbm.validate()?;
        let Some(units) = placement.assignment.clone() else {
            return Err(Error::InvalidParameter {
                name: "placement",
                reason: "the number of hidden units differs from the number of coarse sites",
            });
        };
        if rbm.n_visible() != fine.num_sites()
            || rbm.n_hidden() != units.len()
            || placement.size != fine.linear_size()
        {
            return Err(Error::SizeMismatch {
                what: "RBM and placement",
                got: rbm.n_hidden(),
                expected: coarse.num_sites(),
            });
        }
        let signs = units.iter().map(|&j| placement.signs[j]).collect();
        Ok(DenseKernel { fine, coarse, factor: placement.factor, rbm, units, signs })
    }

    /// Place `rbm`'s hidden units on the coarse lattice of factor `factor` and build the kernel.
    pub fn place(rbm: Rbm<f64>, fine: Lattice, factor: usize) -> Result<(Self, Placement)> {
        let placement = place_hidden_units(&rbm, fine, factor)?;
        Ok((DenseKernel::new(rbm, fine, &placement)?, placement))
    }

    /// The hidden fields `x_j(v) = c_j + Σ_i w_ij v_i` of every unit (the energy of unit `j` is
    /// `−h_j x_j`). Each `x_j` is summed over `i` in order, as a dot product with column `j`
    /// would be, so the bits are those of that sum; but the weights are read row by row, all
    /// units at once, contiguous and vectorised across `j`, where a column walk is a chain of
    /// dependent additions at a stride of the row length: the default study's "Is it RG?"
    /// step went from 5.3 to 2.3 s (2026-12-03; compiling this loop for AVX-512 through `pulp`
    /// made it no faster: the 5 MB of f64 weights are streamed once per sample either way).
    /// They go into `x` (cleared first; no allocation once it has the capacity).
    fn fields_into(&self, v: &[i8], x: &mut Vec<f64>) {
        x.clear();
        x.extend(self.rbm.hidden_bias().iter());
        let spin = self.rbm.visible_units() == Units::Spin;
        let weights = self.rbm.weights();
        #[inline(always)]
        fn add(x: &mut [f64], w: &[f64], s: i8, spin: bool) {
            if spin {
                let s = s as f64;
                x.iter_mut().zip(w).for_each(|(x, &w)| *x += w * s);
            } else if s == 1 {
                x.iter_mut().zip(w).for_each(|(x, &w)| *x += w);
            }
        }
        match weights.as_slice() {
            Some(all) => {
                for (w, &s) in all.chunks_exact(x.len()).zip(v) {
                    add(x, w, s, spin);
                }
            }
            None => {
                for (row, &s) in weights.rows().into_iter().zip(v) {
                    add(x, &row.to_vec(), s, spin);
                }
            }
        }
    }

    /// `f` of the hidden fields of `v`, computed into a per-thread buffer (so that
    /// [`CoarseKernel::sample_unchecked`] does not allocate).
    fn with_fields<T>(&self, v: &[i8], f: impl FnOnce(&[f64]) -> T) -> T {
        thread_local! {
            static FIELDS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        FIELDS.with(|cell| {
            let mut x = cell.borrow_mut();
            self.fields_into(v, &mut x);
            f(&x)
        })
    }

    /// `ln p(h_j = upper | v)` and `ln p(h_j = lower | v)` for field `x`.
    #[inline]
    fn log_probs(&self, x: f64) -> (f64, f64) {
        match self.rbm.hidden_units() {
            Units::Spin => (x - ln_2cosh(x), -x - ln_2cosh(x)),
            Units::Binary => {
                let softplus = |t: f64| if t > 0.0 { t + (-t).exp().ln_1p() } else { t.exp().ln_1p() };
                (x - softplus(x), -softplus(x))
            }
        }
    }
}

impl CoarseKernel for DenseKernel {
    fn fine(&self) -> Lattice {
        self.fine
    }
    fn coarse(&self) -> Lattice {
        self.coarse
    }
    fn factor(&self) -> usize {
        self.factor
    }
    fn name(&self) -> String {
        format!("dense:{}x{}", self.rbm.n_visible(), self.rbm.n_hidden())
    }
    fn resized(&self, fine: Lattice) -> Result<Self> {
        if fine == self.fine {
            Ok(self.clone())
        } else {
            Err(Error::InvalidParameter {
                name: "lattice",
                reason: "a dense RBM layer exists for one lattice size only (use one MCRG level)",
            })
        }
    }
    fn sample_unchecked<R: Rng + ?Sized>(&self, v: &[i8], h: &mut [i8], rng: &mut R) {
        self.with_fields(v, |x| {
            for (site, (&j, &sign)) in self.units.iter().zip(&self.signs).enumerate() {
                let (up, _) = self.log_probs(x[j]);
                let state = if rng.random::<f64>() < up.exp() { 1 } else { -1 };
                h[site] = state * sign;
            }
        })
    }
    fn log_prob_unchecked(&self, v: &[i8], h: &[i8]) -> f64 {
        self.with_fields(v, |x| {
            let mut lp = 0.0;
            for (site, (&j, &sign)) in self.units.iter().zip(&self.signs).enumerate() {
                let (up, down) = self.log_probs(x[j]);
                lp += if h[site] * sign == 1 { up } else { down };
            }
            lp
        })
    }
}

/// Connected correlations of aligned hidden units against their centroid distance, next to the
/// visible correlation at `b` times that distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationComparison {
    /// Centroid distance bins in coarse spacings (`d = 1, 2, …`; a pair falls in the bin of its
    /// distance divided by `b`, rounded).
    pub distance: Vec<usize>,
    /// Number of hidden pairs in each bin.
    pub pairs: Vec<usize>,
    /// Mean connected correlation `⟨h̃_j h̃_k⟩ − ⟨h̃_j⟩⟨h̃_k⟩` of the pairs in each bin, with
    /// `h̃_j = σ_j E[h_j | v]` in `±1` units.
    pub hidden: Vec<f64>,
    /// Visible connected correlation along the axes at distance `b·d`.
    pub visible: Vec<f64>,
}

/// The column-major copy of the row-major matrix `a` with `cols` columns.
fn transposed<T: Copy>(a: &[T], cols: usize) -> Vec<T> {
    let rows = a.len() / cols;
    (0..cols).flat_map(|j| (0..rows).map(move |i| a[i * cols + j])).collect()
}

/// Compare hidden and visible correlations on `data` (on the placement's `L×L` torus).
pub fn compare_correlations(
    rbm: &Rbm<f64>,
    placement: &Placement,
    data: &Configurations,
    max_distance: usize,
) -> Result<CorrelationComparison> {
    let l = placement.size;
    let n = l * l;
    let fine = Lattice::square(l)?;
    check_lattice(data, fine)?;
    let samples = data.samples();
    let data = data.as_slice();
    if rbm.n_visible() != n || rbm.n_hidden() != placement.centroids.len() {
        return Err(Error::SizeMismatch { what: "RBM visible units", got: rbm.n_visible(), expected: n });
    }
    if samples < 2 {
        return Err(Error::TooFewSamples { what: "hidden correlations", len: samples, min: 2 });
    }
    let b = placement.factor;
    let m = rbm.n_hidden();
    // Aligned hidden means per sample.
    let probe = DenseKernel {
        fine,
        coarse: coarse_lattice(fine, b)?,
        factor: b,
        rbm: rbm.clone(),
        units: (0..m).collect(),
        signs: placement.signs.clone(),
    };
    let mut means = vec![0.0; samples * m];
    let mut x = Vec::with_capacity(m);
    for (s, row) in means.chunks_mut(m).enumerate() {
        probe.fields_into(&data[s * n..(s + 1) * n], &mut x);
        for (j, out) in row.iter_mut().enumerate() {
            let (up, _) = probe.log_probs(x[j]);
            *out = placement.signs[j] as f64 * (2.0 * up.exp() - 1.0);
        }
    }
    // Unit-major copies, so that the sums over samples below (each in sample order, as before)
    // read contiguous memory instead of one value per row.
    let by_unit = transposed(&means, m);
    let unit = |j: usize| &by_unit[j * samples..(j + 1) * samples];
    let avg: Vec<f64> = (0..m).map(|j| unit(j).iter().sum::<f64>() / samples as f64).collect();
    let (mut sum, mut pairs) = (vec![0.0; max_distance], vec![0usize; max_distance]);
    let lf = l as f64;
    for j in 0..m {
        for k in j + 1..m {
            let (a, c) = (placement.centroids[j], placement.centroids[k]);
            let d = (periodic_delta(a.0, c.0, lf).powi(2) + periodic_delta(a.1, c.1, lf).powi(2)).sqrt();
            let bin = (d / b as f64).round() as usize;
            if bin == 0 || bin > max_distance {
                continue;
            }
            let cov = unit(j).iter().zip(unit(k)).map(|(a, c)| a * c).sum::<f64>() / samples as f64
                - avg[j] * avg[k];
            sum[bin - 1] += cov;
            pairs[bin - 1] += 1;
        }
    }
    let by_site = transposed(data, n);
    let site = |i: usize| &by_site[i * samples..(i + 1) * samples];
    // Sums of ±1 values and products: exact integers, whatever the order.
    let vmean: Vec<f64> =
        (0..n).map(|i| site(i).iter().map(|&x| x as i64).sum::<i64>() as f64 / samples as f64).collect();
    let visible = (1..=max_distance)
        .map(|d| {
            let r = b * d;
            let mut t = 0.0;
            for y in 0..l {
                for x in 0..l {
                    let i = y * l + x;
                    for other in [y * l + (x + r) % l, ((y + r) % l) * l + x] {
                        let sum: i64 = site(i).iter().zip(site(other)).map(|(&a, &c)| (a * c) as i64).sum();
                        let c = sum as f64 / samples as f64;
                        t += c - vmean[i] * vmean[other];
                    }
                }
            }
            t / (2 * n) as f64
        })
        .collect();
    Ok(CorrelationComparison {
        distance: (1..=max_distance).collect(),
        hidden: sum.iter().zip(&pairs).map(|(s, &p)| if p > 0 { s / p as f64 } else { f64::NAN }).collect(),
        pairs,
        visible,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coarse::{learned::ConvKernel, BlockSpin};
    use lattice_physics::rng::chain_rng;

    #[test]
    fn hungarian_finds_the_optimum_of_small_problems() {
        // Brute force over all permutations of 5.
        let mut rng = chain_rng(1, 0);
        for _ in 0..20 {
            let n = 5;
            let cost: Vec<f64> = (0..n * n).map(|_| rng.random::<f64>()).collect();
            let a = assignment(&cost, n);
            let total = |p: &[usize]| p.iter().enumerate().map(|(i, &j)| cost[i * n + j]).sum::<f64>();
            let mut best = f64::INFINITY;
            let mut perm: Vec<usize> = (0..n).collect();
            fn permute(k: usize, p: &mut Vec<usize>, f: &mut dyn FnMut(&[usize])) {
                if k == p.len() {
                    f(p);
                    return;
                }
                for i in k..p.len() {
                    p.swap(k, i);
                    permute(k + 1, p, f);
                    p.swap(k, i);
                }
            }
            permute(0, &mut perm, &mut |p| best = best.min(total(p)));
            let mut sorted = a.clone();
            sorted.sort();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            assert!((total(&a) - best).abs() < 1e-12);
        }
    }

    #[test]
    fn a_shuffled_block_spin_rbm_is_placed_back_exactly() {
        // The dense RBM of a uniform 2×2 filter on 8×8, hidden units shuffled and some signs
        // flipped: placement recovers each unit's block and sign, and the kernel equals the
        // block spin.
        let lat = Lattice::square(8).unwrap();
        let dense = ConvKernel::new(lat, 2, 2, vec![0.9; 4]).unwrap().to_rbm().unwrap();
        let m = 16;
        let mut rng = chain_rng(2, 0);
        let mut perm: Vec<usize> = (0..m).collect();
        for i in (1..m).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        let flip: Vec<f64> = (0..m).map(|j| if j % 3 == 0 { -1.0 } else { 1.0 }).collect();
        let mut parts = dense.clone().into_parts();
        for (new, &old) in perm.iter().enumerate() {
            for i in 0..64 {
                parts.weights[(i, new)] = flip[new] * dense.weights()[(i, old)];
            }
        }
        let shuffled = Rbm::try_from(parts).unwrap();
        let (kernel, placement) = DenseKernel::place(shuffled.clone(), lat, 2).unwrap();
        assert_eq!(placement.occupancy, 1.0);
        assert!(placement.max_displacement.unwrap() < 1e-9);
        assert!(placement.localisation.iter().all(|&r| r > 0.9));
        let bs = BlockSpin::new(lat, 2, 0.9).unwrap();
        for _ in 0..20 {
            let v: Vec<i8> = (0..64).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
            let h: Vec<i8> = (0..16).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
            assert!((kernel.log_prob(&v, &h).unwrap() - bs.log_prob(&v, &h).unwrap()).abs() < 1e-12);
        }
        assert!(kernel.resized(Lattice::square(16).unwrap()).is_err());
        // Binary units describe the same kernel after the unit conversion.
        let (binary, _) = shuffled.with_units(Units::Binary, Units::Binary);
        let (kb, _) = DenseKernel::place(binary, lat, 2).unwrap();
        let v: Vec<i8> = (0..64).map(|i| if i % 5 == 0 { 1 } else { -1 }).collect();
        let h: Vec<i8> = (0..16).map(|i| if i % 2 == 0 { 1 } else { -1 }).collect();
        assert!((kb.log_prob(&v, &h).unwrap() - bs.log_prob(&v, &h).unwrap()).abs() < 1e-9);
        // Correlations: a hidden unit at coarse distance 1 correlates like spins at distance ~2.
        let data: Vec<i8> = (0..64 * 40).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
        let data = Configurations::new(lat, data).unwrap();
        let c = compare_correlations(&shuffled, &placement, &data, 2).unwrap();
        assert_eq!(c.pairs[0], 64); // 32 axis pairs at 2 spacings and 32 diagonal ones at 2√2
        assert!(c.hidden[0].abs() < 0.2 && c.visible[0].abs() < 0.2);
    }
}
