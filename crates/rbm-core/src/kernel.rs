//! The hot-path kernels of training: matrix products split into a fixed number of blocks that
//! run as rayon tasks, and elementwise loops compiled for the CPU's vector width, chosen at run
//! time.
//!
//! # Matrix products
//!
//! The products of training (`v W`, `h Wᵀ` and the weight gradient `vᵀ h`) go through `faer`'s
//! matrix product, called sequentially on each block ([`product`]); `faer` dispatches at run
//! time to AVX-512, AVX2/FMA or baseline kernels, so a plain `cargo build --release` gets the
//! CPU's best. The backend was chosen by measurement at the shapes of a CD-1 step (1600 → 400,
//! batches of 100, f32) on an AVX-512 machine whose cores retire one 512-bit or two 256-bit
//! FMAs per cycle (116 GFLOP/s per core either way): isolated products ran at 102–109 GFLOP/s
//! per core with `faer` 0.24, 73–108 with `matrixmultiply` 0.3 (its AVX-512 kernel) and 94–107
//! with `gemm` 0.18, and whole one-thread epochs were 23% faster with `faer` (paired,
//! order-alternating runs). Operands are handed over as views of row-major buffers
//! ([`mat`], [`with_mat_mut`]), so no `unsafe` code is needed; a view of another
//! layout is copied first. No threading inside the product: a product large enough is cut
//! into [`blocks`], each computed by one sequential product in its own rayon task. The cuts
//! are chosen so that every product of a training step reads the same two blocks of rows of
//! W (visible units): the visible field `h Wᵀ` and the weight update cut their outputs, the
//! hidden field `v W` its inner dimension (the second part is added to the first after the
//! product). So each core of a two-core machine keeps to its own half of W in its own cache
//! (8% faster CD-1 epochs at 1600 → 400 than cutting the hidden field's columns, on a machine
//! whose cores run AVX-512 at full rate: paired, order-alternating runs). Every field of an [`Rbm`](crate::Rbm) (sampling, AIS, free
//! energies, monitoring) is computed this way; only the exact-gradient and receptive-field
//! products use `ndarray`'s, that is `matrixmultiply`.
//!
//! # Reproducibility
//!
//! The number of blocks and where they are cut depend on the shape only, never on the number
//! of threads, and each output element is computed by the same sequential products added in
//! the same order; so results are the same bytes whatever the size of the thread pool. The
//! uniforms of a sampling step are drawn from the caller's generator before the parallel part,
//! row-major over the whole output, when the step is one block; a step cut in two takes two
//! seeds from the caller's generator and each block fills its own uniforms, row by row, from
//! a generator seeded with its seed (the fill had been the longest sequential part of an
//! epoch: CD-1 epochs at 1600 → 400 became 4% faster, paired runs). Either way the stream
//! depends on the shape and the seed only.
//!
//! # Vector width
//!
//! [`vectorized`] runs a closure inside a function compiled for AVX-512 (x86-v4) or AVX2/FMA
//! (x86-v3) when the CPU has them (`pulp`'s dispatch), so loops the compiler vectorises use
//! the full width even in a binary built for baseline x86-64. The loops are written without
//! fused multiply-adds or reassociation, so every width gives the same results.

use std::ops::Range;

use faer::{MatMut, MatRef};
use ndarray::{ArrayViewMut1, ArrayViewMut2, Axis, CowArray, Ix2};

use crate::Float;

/// Runs `f` compiled for the best instruction set the CPU offers (see the [module docs](self)).
/// `f` should be small enough to be inlined (call `#[inline(always)]` helpers from it).
#[inline]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Marks the upper halves of the vector registers clean (`vzeroupper`), where the CPU has AVX.
///
/// `faer`'s AVX-512 kernels return with them dirty, and on Intel cores every later
/// instruction of the older SSE encoding (baseline x86-64 code, and glibc's `exp` wrapper)
/// then waits on them: measured on a Xeon (model 167), `exp` and `ln_1p` in f64 cost about
/// 300 ns per call after a product instead of 18 (the exact log partition function of a
/// 1600 → 13 RBM took 3.9 s on one core instead of 0.24 s, the same bits either way).
#[inline]
pub(crate) fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx) = pulp::core_arch::x86::Avx::try_new() {
        avx._mm256_zeroupper();
    }
}

/// The product kernel's view of a matrix in standard (row-major, contiguous) layout, as
/// `as_standard_layout` gives it (borrowed when the array already is, else a copy).
pub(crate) fn mat<'a, F: Float>(a: &'a CowArray<'_, F, Ix2>) -> MatRef<'a, F> {
    let s = a.as_slice().expect("a standard-layout array is one contiguous slice");
    MatRef::from_row_major_slice(s, a.nrows(), a.ncols())
}

/// Runs `f` on `out` as the product kernel's mutable view: directly when `out` is in standard
/// layout (every buffer of the training loop is), else on a standard copy written back after.
pub(crate) fn with_mat_mut<F: Float, R>(mut out: ArrayViewMut2<F>, f: impl FnOnce(MatMut<'_, F>) -> R) -> R {
    let (r, c) = out.dim();
    if let Some(s) = out.as_slice_mut() {
        return f(MatMut::from_row_major_slice_mut(s, r, c));
    }
    // `to_owned` keeps a column-major view column-major; a new array is row-major.
    let mut tmp = ndarray::Array2::zeros((r, c));
    tmp.assign(&out);
    let s = tmp.as_slice_mut().expect("a new array is in standard layout");
    let result = f(MatMut::from_row_major_slice_mut(s, r, c));
    out.assign(&tmp);
    result
}

/// `c ← a b` (`add = false`) or `c ← c + a b`, as one sequential product (faer's kernels,
/// dispatched at run time to the CPU's instruction set).
#[inline]
pub(crate) fn product<F: Float>(c: MatMut<'_, F>, add: bool, a: MatRef<'_, F>, b: MatRef<'_, F>) {
    F::product(c, add, a, b);
}

/// Inner-dimension rows per call of [`product_in_depth_chunks`].
const DEPTH_CHUNK: usize = 128;

/// `c ← a b` (or `c ← c + a b` if `add`) as a sum of products over chunks of
/// [`DEPTH_CHUNK`] of the inner dimension, added in order. For the weight update, whose inner
/// dimension is the stacked mini-batch and whose left factor is a transposed row-major
/// buffer: measured one-thread per block (2026-12-02, Xeon model 167), the whole product ran
/// at 63–75 GFLOP/s at 1024 → 256 with batches of 256 (depth 512) and at 120 at 1600 → 400
/// with batches of 100, in chunks of 128 at 131 for both (64: the same; 256: 118).
pub(crate) fn product_in_depth_chunks<F: Float>(
    mut c: MatMut<'_, F>,
    add: bool,
    a: MatRef<'_, F>,
    b: MatRef<'_, F>,
) {
    let depth = a.ncols();
    let mut k0 = 0;
    loop {
        let len = DEPTH_CHUNK.min(depth - k0);
        product(c.as_mut(), add || k0 > 0, a.subcols(k0, len), b.subrows(k0, len));
        k0 += len;
        if k0 >= depth {
            break;
        }
    }
}

/// Row `i` of a matrix whose rows are contiguous (every output of [`with_mat_mut`] and its
/// blocks), as a slice.
pub(crate) fn row_mut<F>(m: MatMut<'_, F>, i: usize) -> &mut [F] {
    m.row_mut(i).try_as_row_major_mut().expect("rows of a row-major matrix are contiguous").as_slice_mut()
}

/// Multiply-adds from which a product (and the elementwise work after it) is cut into two
/// blocks that run as parallel tasks; smaller ones run in one block on the calling thread.
/// Chosen by measurement of whole CD-1 epochs on two cores (2026-12-02, a Xeon with AVX-512 at
/// full rate): at 2^22 multiply-adds per product (400 → 100, batches of 100) two blocks made
/// the epoch 16–18% slower than one, at 2^23–2^24 (400 → 100 with batches of 256, 500 → 200,
/// 784 → 500 with batches of 32) they were as fast or up to 30% faster, so the cut starts at
/// 2^23 (it had been 2^20).
pub const SPLIT_MIN_WORK: usize = 1 << 23;

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
pub(crate) fn midpoint(len: usize) -> usize {
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

impl<T: Send> SplitAt for MatMut<'_, T> {
    fn split_at(self, axis: Axis, mid: usize) -> (Self, Self) {
        if axis == Axis(0) {
            let (a, b) = self.split_at_row_mut(mid);
            (a.as_dyn_rows_mut(), b.as_dyn_rows_mut())
        } else {
            let (a, b) = self.split_at_col_mut(mid);
            (a.as_dyn_cols_mut(), b.as_dyn_cols_mut())
        }
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
