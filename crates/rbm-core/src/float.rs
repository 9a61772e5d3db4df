//! The floating-point types an RBM can be built on: `f32` (fast training) and `f64` (exact
//! computation).
//!
//! [`Float`] is sealed: it is implemented for `f32` and `f64` only. Besides scalar maths it
//! offers slice kernels used by the hot loops of training: an in-place logistic sigmoid and bulk
//! uniform random numbers. For `f64` the sigmoid is computed with the standard library's `exp`
//! (correctly rounded to a few ulp); for `f32` it uses a branch-free polynomial `exp` that the
//! compiler vectorises (relative error below `2e-7` over the whole range, inputs clamped to
//! `[-87, 88]` so that nothing overflows).

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, Neg, SubAssign};

use ndarray::{LinalgScalar, ScalarOperand};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub(crate) mod sealed {
    /// Keeps [`Float`](super::Float) to `f32` and `f64`, and carries what the crate needs of
    /// them that must not be public: the matrix product (faer's, which is generic over its own
    /// scalar traits; see [`crate::kernel`]).
    pub trait Sealed: Sized {
        /// `c ← a b` (`add = false`) or `c ← c + a b`: one sequential product.
        fn product(
            c: faer::MatMut<'_, Self>,
            add: bool,
            a: faer::MatRef<'_, Self>,
            b: faer::MatRef<'_, Self>,
        );
        /// Runs `f` on a zeroed buffer of `len` elements: this thread's reusable one (so a
        /// hot loop allocates nothing), or a new one if that is in use (re-entry).
        fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
    }
    macro_rules! sealed {
        ($t:ty) => {
            impl Sealed for $t {
                #[inline]
                fn product(
                    c: faer::MatMut<'_, $t>,
                    add: bool,
                    a: faer::MatRef<'_, $t>,
                    b: faer::MatRef<'_, $t>,
                ) {
                    let accum = if add { faer::Accum::Add } else { faer::Accum::Replace };
                    faer::linalg::matmul::matmul(c, accum, a, b, 1.0, faer::Par::Seq);
                    crate::kernel::clear_upper_vector_state();
                }
                fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
                    thread_local! {
                        static SCRATCH: std::cell::RefCell<Vec<$t>> = const { std::cell::RefCell::new(Vec::new()) };
                    }
                    SCRATCH.with(|cell| match cell.try_borrow_mut() {
                        Ok(mut buf) => {
                            buf.clear();
                            buf.resize(len, 0.0);
                            f(&mut buf)
                        }
                        Err(_) => f(&mut vec![0.0; len]),
                    })
                }
            }
        };
    }
    sealed!(f32);
    sealed!(f64);
}

/// A floating-point scalar an [`Rbm`](crate::Rbm) can use: `f32` or `f64`.
pub trait Float:
    LinalgScalar
    + ScalarOperand
    + Neg<Output = Self>
    + PartialOrd
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + Serialize
    + DeserializeOwned
    + sealed::Sealed
{
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// Conversion from `f64` (rounding to nearest for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Exact widening (or identity) conversion to `f64`.
    fn to_f64(self) -> f64;
    /// `e^x`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate for small `x`.
    fn ln_1p(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Neither NaN nor infinite.
    fn is_finite(self) -> bool;
    /// `+1`, `-1` (or `±0` for zeros), as the sign of the value.
    fn signum(self) -> Self;
    /// Replaces every `x` by `1 / (1 + e^{-scale · x})`.
    fn sigmoid_slice(xs: &mut [Self], scale: Self);
    /// Fields to means and samples of `units` in one pass: with `p = σ(s x)` (`s` the units'
    /// field scale), `x` becomes the mean (`p` for binary units, `2p - 1` for spins) and, if
    /// `sample = Some((out, u))`, `out` gets the upper value where `u < p` and the lower one
    /// elsewhere. The same results as [`Float::sigmoid_slice`] followed by the comparison;
    /// for `f32` branch-free at the CPU's vector width.
    fn activate_slice(units: crate::Units, xs: &mut [Self], sample: Option<(&mut [Self], &[Self])>);
    /// Fills `out` with uniform numbers in `[0, 1)`, consuming the generator in a fixed pattern
    /// (for `f32`, one `u64` per two numbers; for `f64`, one per number).
    fn fill_uniform<R: Rng + ?Sized>(rng: &mut R, out: &mut [Self]);
    /// `Σ_j [Φ(x_j + δ w_j) - φ_j]` with `Φ` = [`Units::log_partition`](crate::Units) of `units`
    /// and `φ_j = Φ(x_j)` precomputed (the free-energy change of flipping one visible unit).
    /// `f64`: exact scalar code; `f32`: vectorised approximations (absolute error per term
    /// below `1e-6 · (1 + |x|)`) at the CPU's vector width, summed in 16 fixed lanes.
    fn sum_log_partition_change(
        units: crate::Units,
        x: &[Self],
        w: &[Self],
        phi: &[Self],
        delta: Self,
    ) -> f64;
    /// `Σ_j [Φ(b₁ x_j) - Φ(b₀ x_j)]` with `Φ` = [`Units::log_partition`](crate::Units) of
    /// `units` (the change of an AIS log weight between two inverse temperatures).
    /// `f64`: exact scalar code; `f32`: `Φ(z) = α z + β |z| + ln(1 + e^{-γ|z|})` with the
    /// linear parts taken as `(b₁ - b₀)(α x + β |x|)` and the logarithms in vectorised
    /// approximations (absolute error per term about `1e-7`), summed in 16 fixed lanes.
    fn sum_log_partition_ratio(units: crate::Units, x: &[Self], b0: f64, b1: f64) -> f64;
    /// `Σ_j Φ(x_j)` with `Φ` = [`Units::log_partition`](crate::Units) of `units` (the hidden
    /// part of a free energy). `f64`: exact scalar code; `f32`: `α x + β |x|` plus the
    /// logarithm in vectorised approximations (absolute error per term about `1e-7`), summed
    /// in 16 fixed lanes.
    fn sum_log_partition(units: crate::Units, x: &[Self]) -> f64;
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn signum(self) -> Self {
        if self == 0.0 {
            0.0
        } else {
            f64::signum(self)
        }
    }
    fn sigmoid_slice(xs: &mut [Self], scale: Self) {
        for x in xs {
            *x = sigmoid(scale * *x);
        }
    }
    fn activate_slice(units: crate::Units, xs: &mut [Self], sample: Option<(&mut [Self], &[Self])>) {
        let (lo, hi, scale) = (units.lower::<f64>(), units.upper::<f64>(), units.field_scale::<f64>());
        let spin = units == crate::Units::Spin;
        let mean = |p: f64| if spin { 2.0 * p - 1.0 } else { p };
        match sample {
            Some((out, u)) => {
                for ((x, o), &u) in xs.iter_mut().zip(out.iter_mut()).zip(u) {
                    let p = sigmoid(scale * *x);
                    *o = if u < p { hi } else { lo };
                    *x = mean(p);
                }
            }
            None => xs.iter_mut().for_each(|x| *x = mean(sigmoid(scale * *x))),
        }
    }
    fn sum_log_partition_change(
        units: crate::Units,
        x: &[Self],
        w: &[Self],
        phi: &[Self],
        delta: Self,
    ) -> f64 {
        x.iter().zip(w).zip(phi).map(|((&x, &w), &p)| units.log_partition(x + delta * w) - p).sum()
    }
    fn sum_log_partition_ratio(units: crate::Units, x: &[Self], b0: f64, b1: f64) -> f64 {
        x.iter().map(|&x| units.log_partition(b1 * x) - units.log_partition(b0 * x)).sum()
    }
    fn sum_log_partition(units: crate::Units, x: &[Self]) -> f64 {
        x.iter().map(|&x| units.log_partition(x)).sum()
    }
    fn fill_uniform<R: Rng + ?Sized>(rng: &mut R, out: &mut [Self]) {
        for u in out {
            // 53 random bits, exactly representable.
            *u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        }
    }
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn exp(self) -> Self {
        f32::exp(self)
    }
    fn ln(self) -> Self {
        f32::ln(self)
    }
    fn ln_1p(self) -> Self {
        f32::ln_1p(self)
    }
    fn tanh(self) -> Self {
        f32::tanh(self)
    }
    fn abs(self) -> Self {
        f32::abs(self)
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn signum(self) -> Self {
        if self == 0.0 {
            0.0
        } else {
            f32::signum(self)
        }
    }
    fn sigmoid_slice(xs: &mut [Self], scale: Self) {
        crate::kernel::vectorized(
            #[inline(always)]
            || {
                for x in xs.iter_mut() {
                    *x = 1.0 / (1.0 + exp_f32_fast(-scale * *x));
                }
            },
        )
    }
    fn activate_slice(units: crate::Units, xs: &mut [Self], sample: Option<(&mut [Self], &[Self])>) {
        let (lo, hi, scale) = (units.lower::<f32>(), units.upper::<f32>(), units.field_scale::<f32>());
        // One loop per case, every constant a local (captured references would be reloaded
        // from memory in every iteration and keep the loop scalar).
        match (sample, units == crate::Units::Spin) {
            (Some((out, u)), true) => crate::kernel::vectorized(
                #[inline(always)]
                || activate_sample_f32::<true>(xs, out, u, scale, lo, hi),
            ),
            (Some((out, u)), false) => crate::kernel::vectorized(
                #[inline(always)]
                || activate_sample_f32::<false>(xs, out, u, scale, lo, hi),
            ),
            (None, spin) => crate::kernel::vectorized(
                #[inline(always)]
                || {
                    for x in xs.iter_mut() {
                        let p = 1.0 / (1.0 + exp_f32_fast(-scale * *x));
                        *x = if spin { 2.0 * p - 1.0 } else { p };
                    }
                },
            ),
        }
    }
    fn sum_log_partition_change(
        units: crate::Units,
        x: &[Self],
        w: &[Self],
        phi: &[Self],
        delta: Self,
    ) -> f64 {
        crate::kernel::vectorized(
            #[inline(always)]
            || sum_log_partition_change_f32(units, x, w, phi, delta),
        )
    }
    fn sum_log_partition_ratio(units: crate::Units, x: &[Self], b0: f64, b1: f64) -> f64 {
        crate::kernel::vectorized(
            #[inline(always)]
            || sum_log_partition_ratio_f32(units, x, b0, b1),
        )
    }
    fn sum_log_partition(units: crate::Units, x: &[Self]) -> f64 {
        crate::kernel::vectorized(
            #[inline(always)]
            || sum_log_partition_f32(units, x),
        )
    }
    fn fill_uniform<R: Rng + ?Sized>(rng: &mut R, out: &mut [Self]) {
        const SCALE: f32 = 1.0 / (1u32 << 24) as f32;
        let mut pairs = out.chunks_exact_mut(2);
        for pair in &mut pairs {
            let r = rng.next_u64();
            // Two 24-bit uniforms from the high and low halves of one output.
            pair[0] = (r >> 40) as f32 * SCALE;
            pair[1] = ((r >> 8) & 0x00ff_ffff) as f32 * SCALE;
        }
        for u in pairs.into_remainder() {
            *u = (rng.next_u64() >> 40) as f32 * SCALE;
        }
    }
}

/// [`Float::sum_log_partition_change`] for `f32`, to be inlined into a [`vectorized`]
/// context: 16 fixed lanes (one AVX-512 or two AVX2 registers), the same sums at every width.
///
/// [`vectorized`]: crate::kernel::vectorized
#[inline(always)]
pub(crate) fn sum_log_partition_change_f32(
    units: crate::Units,
    x: &[f32],
    w: &[f32],
    phi: &[f32],
    delta: f32,
) -> f64 {
    // Φ(z) = α z + β |z| + ln(1 + e^{-γ|z|}): (½, ½, 1) for binary, (0, 1, 2) for spins.
    let (alpha, beta, gamma) = match units {
        crate::Units::Binary => (0.5f32, 0.5f32, 1.0f32),
        crate::Units::Spin => (0.0, 1.0, 2.0),
    };
    #[inline(always)]
    fn term(x: f32, w: f32, p: f32, (delta, alpha, beta, gamma): (f32, f32, f32, f32)) -> f32 {
        let z = x + delta * w;
        let a = z.abs();
        alpha * z + beta * a + ln_1p_unit_f32(exp_f32_fast(-gamma * a)) - p
    }
    let c = (delta, alpha, beta, gamma);
    const LANES: usize = 16;
    let mut lanes = [0f32; LANES];
    let (xc, wc, pc) = (x.chunks_exact(LANES), w.chunks_exact(LANES), phi.chunks_exact(LANES));
    let (xr, wr, pr) = (xc.remainder(), wc.remainder(), pc.remainder());
    for ((xs, ws), ps) in xc.zip(wc).zip(pc) {
        for l in 0..LANES {
            lanes[l] += term(xs[l], ws[l], ps[l], c);
        }
    }
    let tail: f64 = xr.iter().zip(wr).zip(pr).map(|((&x, &w), &p)| f64::from(term(x, w, p, c))).sum();
    lanes.iter().map(|&l| f64::from(l)).sum::<f64>() + tail
}

/// [`Float::activate_slice`] for `f32` with samples, to be inlined into a `vectorized`
/// context (`SPIN`: means `2p - 1`).
#[inline(always)]
fn activate_sample_f32<const SPIN: bool>(
    xs: &mut [f32],
    out: &mut [f32],
    u: &[f32],
    scale: f32,
    lo: f32,
    hi: f32,
) {
    let n = xs.len().min(out.len()).min(u.len());
    let (xs, out, u) = (&mut xs[..n], &mut out[..n], &u[..n]);
    for i in 0..n {
        let p = 1.0 / (1.0 + exp_f32_fast(-scale * xs[i]));
        out[i] = if u[i] < p { hi } else { lo };
        xs[i] = if SPIN { 2.0 * p - 1.0 } else { p };
    }
}

/// `Σ_i term(x_i)` over 16 fixed `f32` lanes, the lanes and the tail added in `f64` (the same
/// sum at every vector width), to be inlined into a `vectorized` context.
#[inline(always)]
fn lane_sum_f32(x: &[f32], term: impl Fn(f32) -> f32) -> f64 {
    const LANES: usize = 16;
    let mut lanes = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&x| f64::from(term(x))).sum();
    for xs in chunks {
        for l in 0..LANES {
            lanes[l] += term(xs[l]);
        }
    }
    lanes.iter().map(|&l| f64::from(l)).sum::<f64>() + tail
}

/// [`Float::sum_log_partition_ratio`] for `f32`, to be inlined into a `vectorized` context.
#[inline(always)]
fn sum_log_partition_ratio_f32(units: crate::Units, x: &[f32], b0: f64, b1: f64) -> f64 {
    let (alpha, beta, gamma) = match units {
        crate::Units::Binary => (0.5f32, 0.5f32, 1.0f32),
        crate::Units::Spin => (0.0, 1.0, 2.0),
    };
    let db = (b1 - b0) as f32;
    let (g0, g1) = (-(gamma as f64 * b0) as f32, -(gamma as f64 * b1) as f32);
    #[inline(always)]
    fn term(x: f32, (alpha, beta, db, g0, g1): (f32, f32, f32, f32, f32)) -> f32 {
        let a = x.abs();
        let l1 = ln_1p_unit_f32(exp_f32_fast(g1 * a));
        let l0 = ln_1p_unit_f32(exp_f32_fast(g0 * a));
        db * (alpha * x + beta * a) + (l1 - l0)
    }
    let c = (alpha, beta, db, g0, g1);
    lane_sum_f32(x, |x| term(x, c))
}

/// [`Float::sum_log_partition`] for `f32`, to be inlined into a `vectorized` context.
#[inline(always)]
fn sum_log_partition_f32(units: crate::Units, x: &[f32]) -> f64 {
    let (alpha, beta, gamma) = match units {
        crate::Units::Binary => (0.5f32, 0.5f32, 1.0f32),
        crate::Units::Spin => (0.0, 1.0, 2.0),
    };
    #[inline(always)]
    fn term(x: f32, (alpha, beta, gamma): (f32, f32, f32)) -> f32 {
        let a = x.abs();
        alpha * x + beta * a + ln_1p_unit_f32(exp_f32_fast(-gamma * a))
    }
    let c = (alpha, beta, gamma);
    lane_sum_f32(x, |x| term(x, c))
}

/// `Σ_i x_i d_i` in `f64` over 8 fixed lanes (the same sum at every vector width).
#[inline(always)]
pub(crate) fn dot_f64_lanes<F: Float>(x: &[F], d: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut lanes = [0f64; LANES];
    let (xc, dc) = (x.chunks_exact(LANES), d.chunks_exact(LANES));
    let tail: f64 = xc.remainder().iter().zip(dc.remainder()).map(|(&x, &d)| x.to_f64() * d).sum();
    for (xs, ds) in xc.zip(dc) {
        for l in 0..LANES {
            lanes[l] += xs[l].to_f64() * ds[l];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Numerically stable logistic sigmoid in `f64`.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Branch-free `e^x` for `f32` (Cephes `expf` polynomial, round-to-nearest range reduction by
/// the 1.5·2²³ trick), written so that the compiler vectorises loops over it.
/// Inputs are clamped to `[-87, 88]`; relative error is below `2e-7` there.
#[inline(always)]
pub(crate) fn exp_f32_fast(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC;
    let n_bits = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let n = t - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n_bits + 127) as u32) << 23)
}

/// Branch-free `ln y` for positive normal `y` in `f32`: exponent times `ln 2` plus
/// [`ln_1p_unit_f32`] of the mantissa minus one. Absolute error below `1e-7 · (1 + |ln y|)`.
#[inline(always)]
pub(crate) fn ln_f32_fast(y: f32) -> f32 {
    let bits = y.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    e as f32 * std::f32::consts::LN_2 + ln_1p_unit_f32(m - 1.0)
}

/// Branch-free `ln(1 + y)` for `y ∈ [0, 1]` in `f32`: `2 atanh(s)`, `s = y / (2 + y) ≤ 1/3`,
/// by its series up to `s¹³` (truncation below `2e-8` relative). Vectorises.
#[inline(always)]
pub(crate) fn ln_1p_unit_f32(y: f32) -> f32 {
    let s = y / (2.0 + y);
    let s2 = s * s;
    let p = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
    2.0 * s * p
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn fast_exp_is_accurate_over_the_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let exact = f64::from(x).exp();
            let got = f64::from(exp_f32_fast(x));
            worst = worst.max(((got - exact) / exact).abs());
            x += 0.001_3;
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
    }

    #[test]
    fn fast_ln_1p_and_log_partition_sums_are_accurate() {
        let mut y = 0.0f32;
        while y <= 1.0 {
            let exact = f64::from(y).ln_1p();
            assert!((f64::from(ln_1p_unit_f32(y)) - exact).abs() <= 2e-7 * exact.max(1e-30), "{y}");
            y += 0.000_7;
        }
        assert_eq!(ln_1p_unit_f32(0.0), 0.0);
        for units in [crate::Units::Spin, crate::Units::Binary] {
            let x: Vec<f32> = (0..203).map(|i| (i as f32 - 100.0) * 0.21).collect();
            let w: Vec<f32> = (0..203).map(|i| ((i * 37) % 17) as f32 * 0.1 - 0.8).collect();
            let phi32: Vec<f32> = x.iter().map(|&v| units.log_partition(v)).collect();
            let (x64, w64): (Vec<f64>, Vec<f64>) =
                (x.iter().map(|&v| f64::from(v)).collect(), w.iter().map(|&v| f64::from(v)).collect());
            let phi64: Vec<f64> = x64.iter().map(|&v| units.log_partition(v)).collect();
            for delta in [-2.0f32, -1.0, 1.0, 2.0] {
                let fast = f32::sum_log_partition_change(units, &x, &w, &phi32, delta);
                let exact = f64::sum_log_partition_change(units, &x64, &w64, &phi64, f64::from(delta));
                assert!((fast - exact).abs() < 1e-3, "{units} {delta}: {fast} vs {exact}");
            }
        }
    }

    #[test]
    fn fast_log_partition_sums_match_f64() {
        for units in [crate::Units::Spin, crate::Units::Binary] {
            let x: Vec<f32> = (0..211).map(|i| (i as f32 - 105.0) * 0.17).collect();
            let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            let exact = f64::sum_log_partition(units, &x64);
            let fast = f32::sum_log_partition(units, &x);
            // 211 terms, each within about 1e-7 (1 + |x|) of the exact one.
            assert!((fast - exact).abs() < 211.0 * 2e-6, "{units}: {fast} vs {exact}");
            for (b0, b1) in [(0.0, 0.01), (0.3, 0.31), (0.99, 1.0)] {
                let exact = f64::sum_log_partition_ratio(units, &x64, b0, b1);
                let fast = f32::sum_log_partition_ratio(units, &x, b0, b1);
                assert!((fast - exact).abs() < 211.0 * 1e-6, "{units} {b0}-{b1}: {fast} vs {exact}");
            }
        }
        let (x, d): (Vec<f32>, Vec<f64>) = (0..37).map(|i| (i as f32 - 18.0, 0.1 * i as f64)).unzip();
        let exact: f64 = x.iter().zip(&d).map(|(&x, &d)| f64::from(x) * d).sum();
        assert!((dot_f64_lanes(&x, &d) - exact).abs() < 1e-12);
    }

    #[test]
    fn activate_slice_matches_sigmoid_then_compare() {
        for units in [crate::Units::Spin, crate::Units::Binary] {
            let x: Vec<f32> = (0..203).map(|i| (i as f32 - 101.0) * 0.07).collect();
            let u: Vec<f32> = (0..203).map(|i| ((i * 37) % 101) as f32 / 101.0).collect();
            let (mut means, mut out) = (x.clone(), vec![0f32; x.len()]);
            f32::activate_slice(units, &mut means, Some((&mut out, &u)));
            let mut means_only = x.clone();
            f32::activate_slice(units, &mut means_only, None);
            let mut p = x.clone();
            f32::sigmoid_slice(&mut p, units.field_scale());
            for i in 0..x.len() {
                let mean = if units == crate::Units::Spin { 2.0 * p[i] - 1.0 } else { p[i] };
                assert_eq!(means[i].to_bits(), mean.to_bits());
                assert_eq!(means_only[i].to_bits(), mean.to_bits());
                let sample = if u[i] < p[i] { units.upper::<f32>() } else { units.lower() };
                assert_eq!(out[i], sample);
                // And against the exact mean.
                assert!((f64::from(mean) - units.mean(f64::from(x[i]))).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn f32_sigmoid_matches_f64() {
        let mut xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.05).collect();
        let exact: Vec<f64> = xs.iter().map(|&x| sigmoid(f64::from(x))).collect();
        f32::sigmoid_slice(&mut xs, 1.0);
        for (g, e) in xs.iter().zip(&exact) {
            assert!((f64::from(*g) - e).abs() < 3e-7, "{g} vs {e}");
        }
        let mut big = [1e30f32, -1e30, 0.0];
        f32::sigmoid_slice(&mut big, 1.0);
        assert_eq!(big[0], 1.0);
        assert!(big[1] >= 0.0 && big[1] < 1e-37);
        assert_eq!(big[2], 0.5);
    }

    #[test]
    fn uniforms_are_in_range_with_the_right_mean() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut a = vec![0f32; 100_001];
        f32::fill_uniform(&mut rng, &mut a);
        assert!(a.iter().all(|&u| (0.0..1.0).contains(&u)));
        let mean = a.iter().map(|&u| f64::from(u)).sum::<f64>() / a.len() as f64;
        // σ of the mean is 1/√(12 n) ≈ 9.1e-4.
        assert!((mean - 0.5).abs() < 4.0 * 9.2e-4, "{mean}");
        let mut b = vec![0f64; 100_000];
        f64::fill_uniform(&mut rng, &mut b);
        assert!(b.iter().all(|&u| (0.0..1.0).contains(&u)));
        let mean = b.iter().sum::<f64>() / b.len() as f64;
        assert!((mean - 0.5).abs() < 4.0 * 9.2e-4, "{mean}");
    }
}
