//! Deterministic coarse-graining of spin configurations: majority rule and decimation.
//!
//! Spins are `±1` (`i8`), stored row-major as in [`lattice_physics::Lattice`]: site `(x, y)` of
//! an `L×L` torus has index `y·L + x`. A block factor `b` groups
//! - on the square lattice, the `b×b` sites `(bX + dx, bY + dy)`, `0 ≤ dx, dy < b`, into the
//!   coarse site `(X, Y)` of an `(L/b)×(L/b)` torus;
//! - on the ring, the `b` consecutive sites `bJ, …, bJ + b − 1` into coarse site `J` of a ring
//!   of `N/b` sites.
//!
//! Rules ([`BlockRule`]):
//! - **majority**: the coarse spin is the sign of the block sum; a tie (possible only for an
//!   even number of sites per block) is broken by a fair coin drawn from the injected generator;
//! - **decimation**: the coarse spin is a copy of the block's first site, the *top-left* one
//!   `(bX, bY)` in 2D (smallest `x` and smallest `y`), site `bJ` in 1D.
//!
//! Whole data sets (flat `samples × sites`) are blocked in parallel with rayon. Sample `i` at
//! blocking level `ℓ` draws its tie-breaking coins from its own stream [`block_rng`]`(seed, ℓ, i)`
//! (a child stream of `seed` in the one seeding scheme of [`lattice_physics::rng`]),
//! so the output depends on the seed only, never on the number of threads.
//! A linear size that `b` does not divide, or a coarse lattice below the smallest lattice
//! (2 sites or 2×2), is an error.

use lattice_physics::rng::Seed;
use lattice_physics::{Configurations, Lattice, LatticeKind};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a block of spins becomes one coarse spin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockRule {
    /// Sign of the block sum, ties broken by a fair coin.
    Majority,
    /// Copy of the block's first (top-left) spin.
    Decimation,
}

impl BlockRule {
    /// Stable lower-case name: `"majority"` or `"decimation"`.
    pub fn name(&self) -> &'static str {
        match self {
            BlockRule::Majority => "majority",
            BlockRule::Decimation => "decimation",
        }
    }
}

impl std::str::FromStr for BlockRule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "majority" => Ok(BlockRule::Majority),
            "decimation" => Ok(BlockRule::Decimation),
            _ => Err(Error::InvalidParameter {
                name: "block rule",
                reason: "expected \"majority\" or \"decimation\"",
            }),
        }
    }
}

/// The generator used to break ties of sample `sample` at blocking level `level` under master
/// seed `seed`: the child `("block-level", level)` of `seed`, then its child
/// `("block-sample", sample)`, in the workspace's one seeding scheme ([`lattice_physics::rng`]).
pub fn block_rng(seed: u64, level: u64, sample: u64) -> Xoshiro256PlusPlus {
    Seed::new(seed).child("block-level", level).child("block-sample", sample).rng()
}

/// Check that a data set lives on `expected`, the lattice an algorithm was built for.
pub(crate) fn check_lattice(data: &Configurations, expected: Lattice) -> Result<()> {
    if data.lattice() != expected {
        return Err(Error::LatticeMismatch { got: data.lattice(), expected });
    }
    Ok(())
}

/// A validated blocking: fine lattice, rule and factor, and the coarse lattice they produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocking {
    fine: Lattice,
    coarse: Lattice,
    rule: BlockRule,
    factor: usize,
}

/// The coarse lattice obtained by blocking `lattice` with factor `factor`.
pub fn coarse_lattice(lattice: Lattice, factor: usize) -> Result<Lattice> {
    if factor < 2 {
        return Err(Error::FactorTooSmall { factor });
    }
    let size = lattice.linear_size();
    if size % factor != 0 {
        return Err(Error::FactorDoesNotDivide { factor, size });
    }
    Ok(match lattice.kind() {
        LatticeKind::Ring { n } => Lattice::ring(n / factor)?,
        LatticeKind::Square { l } => Lattice::square(l / factor)?,
    })
}

impl Blocking {
    /// Validate a blocking of `lattice` by `factor` (at least 2, dividing the linear size, and
    /// leaving a coarse lattice of at least 2 sites or 2×2).
    pub fn new(lattice: Lattice, rule: BlockRule, factor: usize) -> Result<Self> {
        let coarse = coarse_lattice(lattice, factor)?;
        Ok(Blocking { fine: lattice, coarse, rule, factor })
    }

    /// The lattice blocked.
    pub fn fine(&self) -> Lattice {
        self.fine
    }

    /// The lattice produced.
    pub fn coarse(&self) -> Lattice {
        self.coarse
    }

    /// The rule.
    pub fn rule(&self) -> BlockRule {
        self.rule
    }

    /// The block factor `b`.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Block one configuration `fine` (`±1`, length = fine sites) into `coarse` (length =
    /// coarse sites), drawing tie-breaking coins from `rng`. Does not allocate.
    pub fn apply<R: Rng + ?Sized>(&self, fine: &[i8], coarse: &mut [i8], rng: &mut R) -> Result<()> {
        if fine.len() != self.fine.num_sites() {
            return Err(Error::SizeMismatch {
                what: "fine configuration",
                got: fine.len(),
                expected: self.fine.num_sites(),
            });
        }
        if coarse.len() != self.coarse.num_sites() {
            return Err(Error::SizeMismatch {
                what: "coarse configuration",
                got: coarse.len(),
                expected: self.coarse.num_sites(),
            });
        }
        self.apply_unchecked(fine, coarse, rng);
        Ok(())
    }

    /// [`Blocking::apply`] without the length checks (callers guarantee them).
    fn apply_unchecked<R: Rng + ?Sized>(&self, fine: &[i8], coarse: &mut [i8], rng: &mut R) {
        let b = self.factor;
        match (self.fine.kind(), self.rule) {
            (LatticeKind::Ring { .. }, BlockRule::Decimation) => {
                for (j, c) in coarse.iter_mut().enumerate() {
                    *c = fine[b * j];
                }
            }
            (_, BlockRule::Majority) => {
                for_each_block_sum(self.fine, b, fine, |j, sum| coarse[j] = majority(sum, rng));
            }
            (LatticeKind::Square { l }, BlockRule::Decimation) => {
                let lc = l / b;
                for yc in 0..lc {
                    for xc in 0..lc {
                        coarse[yc * lc + xc] = fine[(b * yc) * l + b * xc];
                    }
                }
            }
        }
    }

    /// Block every configuration of a data set on the fine lattice in parallel; sample `i` uses
    /// [`block_rng`]`(seed, level, i)`. Returns the coarse data set, on the coarse lattice. The
    /// result does not depend on the number of threads.
    pub fn apply_dataset(&self, data: &Configurations, seed: u64, level: u64) -> Result<Configurations> {
        check_lattice(data, self.fine)?;
        let (n_fine, n_coarse) = (self.fine.num_sites(), self.coarse.num_sites());
        let mut out = vec![0i8; data.samples() * n_coarse];
        out.par_chunks_mut(n_coarse).zip(data.as_slice().par_chunks(n_fine)).enumerate().for_each(
            |(i, (c, f))| {
                let mut rng = block_rng(seed, level, i as u64);
                self.apply_unchecked(f, c, &mut rng);
            },
        );
        Ok(Configurations::new(self.coarse, out)?)
    }
}

/// Call `f(j, sum_j)` for every coarse site `j` of blocking `fine` by `factor`, with `sum_j` the
/// sum of the fine spins of block `j` (geometry as in the module documentation). Callers
/// guarantee that the factor divides the size and that `v` has the fine lattice's length.
#[inline]
pub(crate) fn for_each_block_sum(fine: Lattice, factor: usize, v: &[i8], mut f: impl FnMut(usize, i32)) {
    let b = factor;
    match fine.kind() {
        LatticeKind::Ring { n } => {
            for j in 0..n / b {
                f(j, v[b * j..b * (j + 1)].iter().map(|&x| x as i32).sum());
            }
        }
        LatticeKind::Square { l } => {
            let lc = l / b;
            for yc in 0..lc {
                for xc in 0..lc {
                    let mut sum = 0i32;
                    for dy in 0..b {
                        let row = (b * yc + dy) * l + b * xc;
                        sum += v[row..row + b].iter().map(|&x| x as i32).sum::<i32>();
                    }
                    f(yc * lc + xc, sum);
                }
            }
        }
    }
}

#[inline]
fn majority<R: Rng + ?Sized>(sum: i32, rng: &mut R) -> i8 {
    match sum.signum() {
        1 => 1,
        -1 => -1,
        _ => {
            if rng.random::<bool>() {
                1
            } else {
                -1
            }
        }
    }
}

/// Block a whole data set `levels` times with the same rule and factor (level `ℓ` uses
/// [`block_rng`]`(seed, ℓ, i)` for sample `i`, `ℓ = 0, 1, …`). Returns the coarse data set, on
/// the coarse lattice. `levels = 0` returns a copy of the input.
pub fn coarse_grain(
    data: &Configurations,
    rule: BlockRule,
    factor: usize,
    levels: usize,
    seed: u64,
) -> Result<Configurations> {
    let all = coarse_grain_all(data, rule, factor, levels, seed)?;
    Ok(all.into_iter().last().expect("level 0 is always present"))
}

/// Like [`coarse_grain`], but returns every level `0..=levels` (level 0 is the input itself),
/// each on its own lattice. All blockings are validated before any work is done.
pub fn coarse_grain_all(
    data: &Configurations,
    rule: BlockRule,
    factor: usize,
    levels: usize,
    seed: u64,
) -> Result<Vec<Configurations>> {
    // No capacity from `levels`: an absurd count fails at the first impossible level instead.
    let mut blockings = Vec::new();
    let mut lat = data.lattice();
    for _ in 0..levels {
        let blocking = Blocking::new(lat, rule, factor)?;
        lat = blocking.coarse();
        blockings.push(blocking);
    }
    let mut out = vec![data.clone()];
    for (level, blocking) in blockings.iter().enumerate() {
        let next = blocking.apply_dataset(&out[level], seed, level as u64)?;
        out.push(next);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_physics::rng::chain_rng;

    /// [`coarse_grain`] on raw values, returning raw values and the coarse lattice.
    fn cg(
        data: &[i8],
        lattice: Lattice,
        rule: BlockRule,
        factor: usize,
        levels: usize,
        seed: u64,
    ) -> Result<(Vec<i8>, Lattice)> {
        let c = coarse_grain(&Configurations::new(lattice, data.to_vec())?, rule, factor, levels, seed)?;
        Ok((c.as_slice().to_vec(), c.lattice()))
    }

    fn random_data(lattice: Lattice, samples: usize, seed: u64) -> Vec<i8> {
        let mut rng = chain_rng(seed, 0);
        (0..samples * lattice.num_sites()).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect()
    }

    #[test]
    fn sizes_are_validated() {
        let sq = Lattice::square(6).unwrap();
        assert_eq!(
            Blocking::new(sq, BlockRule::Majority, 4),
            Err(Error::FactorDoesNotDivide { factor: 4, size: 6 })
        );
        assert_eq!(Blocking::new(sq, BlockRule::Majority, 1), Err(Error::FactorTooSmall { factor: 1 }));
        assert!(matches!(Blocking::new(sq, BlockRule::Majority, 6), Err(Error::Lattice(_))));
        assert_eq!(Blocking::new(sq, BlockRule::Majority, 3).unwrap().coarse(), Lattice::square(2).unwrap());
        let ring = Lattice::ring(10).unwrap();
        assert_eq!(
            Blocking::new(ring, BlockRule::Decimation, 5).unwrap().coarse(),
            Lattice::ring(2).unwrap()
        );
        assert!(Blocking::new(ring, BlockRule::Decimation, 3).is_err());
        // Raw data is refused when the data set is built, before any blocking.
        let ring4 = Lattice::ring(4).unwrap();
        assert_eq!(
            cg(&[1, 1, 1], ring4, BlockRule::Majority, 2, 1, 0).map(|_| ()),
            Err(Error::Lattice(lattice_physics::Error::ConfigurationLength { len: 3, sites: 4 }))
        );
        assert_eq!(
            cg(&[1, 1, 0, 1], ring4, BlockRule::Majority, 2, 1, 0).map(|_| ()),
            Err(Error::Lattice(lattice_physics::Error::NotASpin { index: 2, value: 0 }))
        );
        // A data set on another lattice than the blocking's is refused.
        let on_ring = Configurations::new(ring4, vec![1; 4]).unwrap();
        assert_eq!(
            Blocking::new(Lattice::ring(6).unwrap(), BlockRule::Majority, 2)
                .unwrap()
                .apply_dataset(&on_ring, 0, 0),
            Err(Error::LatticeMismatch { got: ring4, expected: Lattice::ring(6).unwrap() })
        );
        // Two levels of b = 2 on a 4×4 lattice would leave a 1×1 lattice: refused up front.
        let d = vec![1i8; 16];
        assert!(cg(&d, Lattice::square(4).unwrap(), BlockRule::Majority, 2, 2, 0).is_err());
    }

    #[test]
    fn decimation_keeps_the_top_left_spin() {
        // 4×4 lattice with distinct markers: value +1 only at sites (0,0) and (2,2) and (3,1).
        let lat = Lattice::square(4).unwrap();
        let mut s = vec![-1i8; 16];
        s[0] = 1; // (0,0) top-left of block (0,0)
        s[2 * 4 + 2] = 1; // (2,2) top-left of block (1,1)
        s[4 + 3] = 1; // (3,1) not a top-left site
        let (c, cl) = cg(&s, lat, BlockRule::Decimation, 2, 1, 0).unwrap();
        assert_eq!(cl, Lattice::square(2).unwrap());
        assert_eq!(c, vec![1, -1, -1, 1]);
        let ring = Lattice::ring(6).unwrap();
        let (c, _) = cg(&[1, -1, -1, 1, 1, -1], ring, BlockRule::Decimation, 3, 1, 0).unwrap();
        assert_eq!(c, vec![1, 1]);
    }

    #[test]
    fn majority_matches_a_direct_count() {
        for (lat, b) in [
            (Lattice::square(6).unwrap(), 3),
            (Lattice::square(8).unwrap(), 2),
            (Lattice::square(9).unwrap(), 3),
            (Lattice::ring(12).unwrap(), 3),
            (Lattice::ring(12).unwrap(), 4),
        ] {
            let data = random_data(lat, 50, 3);
            let (c, cl) = cg(&data, lat, BlockRule::Majority, b, 1, 11).unwrap();
            let n = lat.num_sites();
            let nc = cl.num_sites();
            let mut ties = 0;
            for (k, (f, cc)) in data.chunks(n).zip(c.chunks(nc)).enumerate() {
                for (j, &coarse_spin) in cc.iter().enumerate() {
                    // sum over the block by coordinates
                    let sum: i32 = match lat.kind() {
                        LatticeKind::Square { l } => {
                            let lc = l / b;
                            let (xc, yc) = (j % lc, j / lc);
                            let mut s = 0;
                            for y in b * yc..b * yc + b {
                                for x in b * xc..b * xc + b {
                                    s += f[y * l + x] as i32;
                                }
                            }
                            s
                        }
                        LatticeKind::Ring { .. } => (b * j..b * j + b).map(|i| f[i] as i32).sum(),
                    };
                    if sum == 0 {
                        ties += 1;
                        assert!(coarse_spin == 1 || coarse_spin == -1, "sample {k}");
                    } else {
                        assert_eq!(coarse_spin as i32, sum.signum(), "sample {k} block {j}");
                    }
                }
            }
            if b % 2 == 1 {
                assert_eq!(ties, 0);
            }
        }
    }

    #[test]
    fn ties_are_fair_and_reproducible() {
        // Every block of a checkerboard is a tie for b = 2.
        let lat = Lattice::square(8).unwrap();
        let one: Vec<i8> = (0..64).map(|i| if (i % 8 + i / 8) % 2 == 0 { 1 } else { -1 }).collect();
        let data: Vec<i8> = one.iter().cycle().take(64 * 500).copied().collect();
        let (a, _) = cg(&data, lat, BlockRule::Majority, 2, 1, 5).unwrap();
        let (b, _) = cg(&data, lat, BlockRule::Majority, 2, 1, 5).unwrap();
        assert_eq!(a, b);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let (c, _) = pool.install(|| cg(&data, lat, BlockRule::Majority, 2, 1, 5).unwrap());
        assert_eq!(a, c);
        let (d, _) = cg(&data, lat, BlockRule::Majority, 2, 1, 6).unwrap();
        assert_ne!(a, d);
        // 8000 fair coins: mean 0, standard deviation 1/sqrt(8000) ≈ 0.011.
        let mean = a.iter().map(|&v| v as f64).sum::<f64>() / a.len() as f64;
        assert!(mean.abs() < 4.0 / (a.len() as f64).sqrt(), "mean {mean}");
    }

    #[test]
    fn iterated_blocking_equals_repeated_single_levels() {
        let lat = Lattice::square(12).unwrap();
        let data = random_data(lat, 20, 9);
        // Majority with odd b has no ties, so b = 3 then b = 2... use b = 3 once, compare with
        // decimation by 2 twice = decimation by 4 once.
        let lat16 = Lattice::square(16).unwrap();
        let d16 = random_data(lat16, 10, 2);
        let (twice, l1) = cg(&d16, lat16, BlockRule::Decimation, 2, 2, 0).unwrap();
        let (once, l2) = cg(&d16, lat16, BlockRule::Decimation, 4, 1, 0).unwrap();
        assert_eq!((twice, l1), (once, l2));
        let all =
            coarse_grain_all(&Configurations::new(lat, data.clone()).unwrap(), BlockRule::Majority, 2, 2, 4)
                .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].as_slice(), &data[..]);
        assert_eq!(all[2].lattice(), Lattice::square(3).unwrap());
        let again = Blocking::new(all[1].lattice(), BlockRule::Majority, 2)
            .unwrap()
            .apply_dataset(&all[1], 4, 1)
            .unwrap();
        assert_eq!(again, all[2]);
    }
}
