//! The hot-path kernels of training: matrix products split into a fixed number of blocks that
//! run as rayon tasks, and elementwise loops compiled for the CPU's vector width, chosen at run
//! time.
//!
//! # Matrix products
//!
//! Products go through `ndarray`'s `general_mat_mul`, that is `matrixmultiply`, with its
//! AVX-512 kernel enabled (it detects AVX-512F, else AVX2/FMA, else SSE2 at run time). The
//! backend was chosen by measurement at the shapes of a CD-1 step (1600 → 400, batches of 100,
//! f32): on an AVX2/FMA machine `matrixmultiply` and `faer` 0.24 ran at the same speed per core
//! (70-80 GFLOP/s each), so the dependency already in the tree was kept. Its own threading is
//! off (it bought nothing at these shapes); instead a product whose output is large enough is
//! cut into [`blocks`] column (or row) blocks, each computed by one sequential product in its
//! own rayon task.
//!
//! # Reproducibility
//!
//! The number of blocks depends on the shape only, never on the number of threads, and each
//! output element is computed by exactly one sequential product; so results are the same bytes
//! whatever the size of the thread pool. Random numbers are drawn before the parallel part, in
//! row-major order of the whole output.
//!
//! # Vector width
//!
//! [`vectorized`] runs a closure inside a function compiled for AVX-512 (x86-v4) or AVX2/FMA
//! (x86-v3) when the CPU has them (`pulp`'s dispatch), so loops the compiler vectorises use
//! the full width even in a binary built for baseline x86-64. The loops are written without
//! fused multiply-adds or reassociation, so every width gives the same results.

use std::ops::Range;

use ndarray::{ArrayViewMut1, ArrayViewMut2, Axis};

/// Runs `f` compiled for the best instruction set the CPU offers (see the [module docs](self)).
/// `f` should be small enough to be inlined (call `#[inline(always)]` helpers from it).
#[inline]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Multiply-adds below which a product is not split (a rayon task costs a few microseconds;
/// 2^20 multiply-adds take about 15 µs on one core).
const SPLIT_MIN_WORK: usize = 1 << 20;

/// Number of blocks (1 or 2) a product of `work` multiply-adds whose split dimension has `len`
/// elements is cut into. Two blocks keep both cores of a 2-core machine busy; the number is a
/// function of the shape only (see the [module docs](self)).
pub(crate) fn blocks(len: usize, work: usize) -> usize {
    if work >= SPLIT_MIN_WORK && len >= 32 {
        2
    } else {
        1
    }
}

/// Where a dimension of `len` elements is cut into two blocks: half-way, rounded up to a multiple
/// of 8 (a whole number of AVX2 registers and micro-kernel tiles).
fn midpoint(len: usize) -> usize {
    ((len / 2).div_ceil(8) * 8).min(len)
}

/// Views that can be cut in two along one dimension (the parts handed to [`for_blocks`]).
pub(crate) trait SplitAt: Sized + Send {
    /// The two parts before and after index `mid` along `axis` (one-dimensional views ignore
    /// `axis`).
    fn split_at(self, axis: Axis, mid: usize) -> (Self, Self);
}

impl<T: Send> SplitAt for ArrayViewMut2<'_, T> {
    fn split_at(self, axis: Axis, mid: usize) -> (Self, Self) {
        ArrayViewMut2::split_at(self, axis, mid)
    }
}

impl<T: Send> SplitAt for ArrayViewMut1<'_, T> {
    fn split_at(self, _axis: Axis, mid: usize) -> (Self, Self) {
        ArrayViewMut1::split_at(self, Axis(0), mid)
    }
}

impl<A: SplitAt> SplitAt for Option<A> {
    fn split_at(self, axis: Axis, mid: usize) -> (Self, Self) {
        match self {
            Some(a) => {
                let (x, y) = a.split_at(axis, mid);
                (Some(x), Some(y))
            }
            None => (None, None),
        }
    }
}

impl<A: SplitAt, B: SplitAt> SplitAt for (A, B) {
    fn split_at(self, axis: Axis, mid: usize) -> (Self, Self) {
        let (a0, a1) = self.0.split_at(axis, mid);
        let (b0, b1) = self.1.split_at(axis, mid);
        ((a0, b0), (a1, b1))
    }
}

/// Runs `f(range, parts)` on the blocks of `parts` along `axis`, whose length is `len`
/// ([`blocks`] of them, in parallel when there are two). `work` is the number of multiply-adds
/// of the whole product.
pub(crate) fn for_blocks<S: SplitAt>(
    parts: S,
    axis: Axis,
    len: usize,
    work: usize,
    f: impl Fn(Range<usize>, S) + Sync,
) {
    if blocks(len, work) == 1 {
        f(0..len, parts);
        return;
    }
    let mid = midpoint(len);
    let (a, b) = parts.split_at(axis, mid);
    rayon::join(|| f(0..mid, a), || f(mid..len, b));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn blocks_cover_the_output_once() {
        for (rows, cols, work) in [(3, 5, 10), (100, 400, 1 << 26), (7, 33, 1 << 21), (100, 31, 1 << 22)] {
            for axis in [Axis(0), Axis(1)] {
                let mut out = Array2::<u32>::zeros((rows, cols));
                let len = out.len_of(axis);
                for_blocks(out.view_mut(), axis, len, work, |range, mut block| {
                    assert_eq!(block.len_of(axis), range.len());
                    assert!(range.end <= len);
                    block.mapv_inplace(|x| x + 1);
                });
                assert!(out.iter().all(|&x| x == 1), "{rows}x{cols} {axis:?}");
            }
        }
        assert_eq!(blocks(400, 1 << 26), 2);
        assert_eq!(blocks(400, 1000), 1);
        assert_eq!(midpoint(400), 200);
        assert_eq!(midpoint(100), 56);
        assert_eq!(midpoint(1600), 800);
    }
}
