//! An `f32` matrix product for AVX2/FMA machines, `C ← α A B + β C`, in safe Rust over `pulp`'s
//! x86-v3 vectors, that reads its operands where they lie instead of packing them.
//!
//! A general product (`matrixmultiply`, BLIS) copies blocks of both operands into panels before
//! multiplying them. At the shapes of CD-k (batches of about a hundred rows against a weight
//! matrix of 1600 × 400) that copy is a sixth of an epoch: the weight matrix is packed once per
//! product, three or four times per mini-batch, and is larger than a core's level-2 cache.
//! Here a micro-kernel multiplies an `MR × NR` tile (six rows, sixteen columns: twelve
//! accumulator registers) straight from the operands' memory:
//!
//! - `B` is read by rows: sixteen contiguous floats per step of `k`. A panel of `B` (at most
//!   [`KC`] rows of sixteen floats, 16 KiB) is touched once from memory and then stays in the
//!   level-1 cache while the tiles of a block of `A` pass it.
//! - `A` is read either by rows (six row streams, one float broadcast from each per step) or by
//!   columns (six contiguous floats per step), whichever its layout is.
//! - When `B` is not stored by rows, the transposed product `Cᵀ = Bᵀ Aᵀ` is computed instead if
//!   its operands suit better (tiles of `C` are then written transposed); otherwise `B` alone is
//!   copied into rows. CD-k's three products need no copy of the weight matrix at all: `v W` and
//!   the gradient `vᵀ h` read it and the batch as they lie, and `h Wᵀ` is computed as
//!   `(W hᵀ)ᵀ`, copying only the small `h`.
//!
//! Tiles at the edges (fewer than six rows or sixteen columns) are copied into zero-padded
//! scratch and run through the same micro-kernel.
//!
//! # Reproducibility
//!
//! Every element of `C` is one lane of the micro-kernel: its sum over each block of `k` is a
//! chain of fused multiply-adds in the order of `k`, and the blocks of `k` depend on `k` alone.
//! Neither the position of the element in its tile, nor the zero padding, nor whether the
//! product or its transpose is computed (`a·b` and `b·a` round alike), nor how the caller cuts
//! `C` into column or row blocks changes its value; so results are the same bytes for any split
//! and any number of threads.

use ndarray::{ArrayView2, ArrayViewMut2};

/// Rows of a micro-tile.
const MR: usize = 6;
/// Columns of a micro-tile (two AVX2 vectors).
const NR: usize = 16;
/// Largest depth of a block of `k` (a panel of `B` is at most `KC × NR` floats: 16 KiB).
const KC: usize = 256;
/// Rows of `A` per block (a multiple of [`MR`]): a block of `A` (at most `MC × KC` floats,
/// 120 KiB) is reread from the level-2 cache once per panel of `B`.
const MC: usize = 120;

/// Whether [`gemm`] runs here: an x86-64 CPU with AVX2 and FMA and without AVX-512F (where
/// `matrixmultiply`'s AVX-512 kernel is used instead).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            pulp::x86::V3::try_new().is_some() && !std::arch::is_x86_feature_detected!("avx512f")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether every row of `x` is contiguous.
fn rows_contiguous(x: &ArrayView2<f32>) -> bool {
    x.ncols() <= 1 || x.strides()[1] == 1
}

/// Whether every column of `x` is contiguous.
fn columns_contiguous(x: &ArrayView2<f32>) -> bool {
    x.nrows() <= 1 || x.strides()[0] == 1
}

/// The cost, in copied or scattered elements, of computing `C = A B` with these operands, or
/// `None` if the layouts are not supported (`A` and `C` must be contiguous along one axis).
fn cost(a: &ArrayView2<f32>, b: &ArrayView2<f32>, c_rows: bool, c_columns: bool) -> Option<usize> {
    if !(rows_contiguous(a) || columns_contiguous(a)) || !(c_rows || c_columns) {
        return None;
    }
    let copy_b = if rows_contiguous(b) { 0 } else { b.len() };
    let scatter_c = if c_rows { 0 } else { a.nrows() * b.ncols() / 4 };
    Some(copy_b + scatter_c)
}

/// `C ← α A B + β C` when [`available`] and the layouts are supported (each of `A` and `C`
/// contiguous along rows or columns, or the same for the transposed product); returns `false`
/// (and leaves `C` untouched) otherwise, so that the caller uses its general product. `β = 0`
/// ignores `C`'s previous contents (NaN included). Panics if the shapes do not match.
pub(crate) fn gemm(alpha: f32, a: ArrayView2<f32>, b: ArrayView2<f32>, beta: f32, c: ArrayViewMut2<f32>) -> bool {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert_eq!(b.nrows(), k, "inner dimensions of a product");
    assert_eq!(c.dim(), (m, n), "shape of a product's output");
    if !available() {
        return false;
    }
    let (c_rows, c_columns) = {
        let cv = c.view();
        (rows_contiguous(&cv), columns_contiguous(&cv))
    };
    let direct = cost(&a, &b, c_rows, c_columns);
    let transposed = cost(&b.t(), &a.t(), c_columns, c_rows);
    let transpose = match (direct, transposed) {
        (Some(d), Some(t)) => t < d,
        (Some(_), None) => false,
        (None, Some(_)) => true,
        (None, None) => return false,
    };
    if m == 0 || n == 0 {
        return true;
    }
    let (a, b, c) = if transpose { (b.reversed_axes(), a.reversed_axes(), c.reversed_axes()) } else { (a, b, c) };
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.vectorize(
            #[inline(always)]
            || imp::run(simd, alpha, a, b, beta, c),
        );
        return true;
    }
    false
}

/// The length of the blocks a dimension of `len` elements is cut into, each at most `max`: as
/// few blocks as possible, of equal length (the last one shorter), so that the cut depends on
/// `len` alone.
fn block_len(len: usize, max: usize) -> usize {
    let count = len.div_ceil(max).max(1);
    len.div_ceil(count)
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use ndarray::{ArrayView2, ArrayViewMut2, Axis};
    use pulp::x86::V3;
    use pulp::{cast, f32x8, Simd};

    use super::{block_len, rows_contiguous, KC, MC, MR, NR};

    /// How the micro-kernel reads `A`.
    enum Source<'a> {
        /// `rows[i][p] = A[i, p]`.
        Rows(Vec<&'a [f32]>),
        /// `columns[p][i] = A[i, p]`.
        Columns(Vec<&'a [f32]>),
    }

    /// Where tiles of `C` go.
    enum Target<'c> {
        /// `rows[i][j] = C[i, j]`.
        Rows(Vec<&'c mut [f32]>),
        /// `columns[j][i] = C[i, j]`.
        Columns(Vec<&'c mut [f32]>),
    }

    /// How a tile is combined with `C`: `C ← β C + α acc` for the first block of `k`, `C ← C + α
    /// acc` after it (`β = 0` writes without reading).
    #[derive(Clone, Copy)]
    struct Write {
        alpha: f32,
        beta: f32,
        first: bool,
    }

    impl Write {
        #[inline(always)]
        fn scalar(self, old: f32, acc: f32) -> f32 {
            let x = if self.alpha == 1.0 { acc } else { self.alpha * acc };
            match (self.first, self.beta) {
                (true, 0.0) => x,
                (true, beta) => beta.mul_add(old, x),
                (false, _) => old + x,
            }
        }

        #[inline(always)]
        fn vector(self, simd: V3, old: f32x8, acc: f32x8) -> f32x8 {
            let x = if self.alpha == 1.0 { acc } else { simd.mul_f32s(simd.splat_f32s(self.alpha), acc) };
            match (self.first, self.beta) {
                (true, 0.0) => x,
                (true, beta) => simd.mul_add_e_f32s(simd.splat_f32s(beta), old, x),
                (false, _) => simd.add_f32s(old, x),
            }
        }
    }

    /// The whole product (inside a function compiled for AVX2/FMA).
    #[inline(always)]
    pub(super) fn run(simd: V3, alpha: f32, a: ArrayView2<f32>, b: ArrayView2<f32>, beta: f32, mut c: ArrayViewMut2<f32>) {
        let (m, k) = a.dim();
        let n = b.ncols();
        let c_rows = rows_contiguous(&c.view());
        let mut target = if c_rows {
            Target::Rows(c.axis_iter_mut(Axis(0)).filter_map(|r| r.into_slice()).collect())
        } else {
            Target::Columns(c.axis_iter_mut(Axis(1)).filter_map(|r| r.into_slice()).collect())
        };
        if k == 0 {
            let write = Write { alpha, beta, first: true };
            match &mut target {
                Target::Rows(t) | Target::Columns(t) => {
                    t.iter_mut().flat_map(|r| r.iter_mut()).for_each(|x| *x = write.scalar(*x, 0.0))
                }
            }
            return;
        }
        let source = if rows_contiguous(&a) {
            Source::Rows(a.axis_iter(Axis(0)).filter_map(|r| r.to_slice()).collect())
        } else {
            Source::Columns(a.axis_iter(Axis(1)).filter_map(|r| r.to_slice()).collect())
        };
        // `B` by rows: as it lies, or copied.
        let copied: Vec<f32>;
        let b_rows: Vec<&[f32]> = if rows_contiguous(&b) {
            b.axis_iter(Axis(0)).filter_map(|r| r.to_slice()).collect()
        } else {
            let mut buf = vec![0.0f32; k * n];
            for (j, col) in b.axis_iter(Axis(1)).enumerate() {
                for (p, &x) in col.iter().enumerate() {
                    buf[p * n + j] = x;
                }
            }
            copied = buf;
            copied.chunks_exact(n).collect()
        };
        debug_assert_eq!(b_rows.len(), k);
        let kc_max = block_len(k, KC);
        let mut pad_b = vec![0.0f32; kc_max * NR];
        let mut pad_a = vec![0.0f32; MR * kc_max];
        for (block, pc) in (0..k).step_by(kc_max).enumerate() {
            let kc = kc_max.min(k - pc);
            let panel_rows = &b_rows[pc..pc + kc];
            let write = Write { alpha, beta, first: block == 0 };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                for j0 in (0..n).step_by(NR) {
                    let cols = NR.min(n - j0);
                    // A whole panel is read in place; one at the right edge is padded.
                    let padded: Vec<&[f32]>;
                    let (panel, pj): (&[&[f32]], usize) = if cols == NR {
                        (panel_rows, j0)
                    } else {
                        for (dst, src) in pad_b.chunks_exact_mut(NR).zip(panel_rows) {
                            dst[..cols].copy_from_slice(&src[j0..j0 + cols]);
                            dst[cols..].fill(0.0);
                        }
                        padded = pad_b[..kc * NR].chunks_exact(NR).collect();
                        (&padded, 0)
                    };
                    for i0 in (ic..ic + mc).step_by(MR) {
                        let rows = MR.min(ic + mc - i0);
                        // The first tile of a panel fetches the next panel of `B` ahead.
                        let first_tile = i0 == ic && cols == NR;
                        let acc = match (&source, rows == MR) {
                            (Source::Rows(r), true) => {
                                let tile: [&[f32]; MR] = std::array::from_fn(|t| &r[i0 + t][pc..pc + kc]);
                                kernel_rows(simd, tile, panel, pj, first_tile)
                            }
                            (Source::Columns(col), true) => {
                                kernel_columns(simd, &col[pc..pc + kc], i0, panel, pj, first_tile)
                            }
                            (source, false) => {
                                for (t, dst) in pad_a.chunks_exact_mut(kc_max).enumerate() {
                                    let dst = &mut dst[..kc];
                                    match source {
                                        _ if t >= rows => dst.fill(0.0),
                                        Source::Rows(r) => dst.copy_from_slice(&r[i0 + t][pc..pc + kc]),
                                        Source::Columns(col) => {
                                            for (d, column) in dst.iter_mut().zip(&col[pc..pc + kc]) {
                                                *d = column[i0 + t];
                                            }
                                        }
                                    }
                                }
                                let tile: [&[f32]; MR] = std::array::from_fn(|t| &pad_a[t * kc_max..t * kc_max + kc]);
                                kernel_rows(simd, tile, panel, pj, first_tile)
                            }
                        };
                        store(simd, &mut target, i0, j0, rows, cols, &acc, write);
                    }
                }
            }
        }
    }

    /// Asks the caches for the sixteen floats of `row` after those at `pj` (the next panel of
    /// `B`; the pointer is only computed, never dereferenced).
    #[inline(always)]
    fn prefetch_next(simd: V3, row: &[f32], pj: usize) {
        use std::arch::x86_64::_MM_HINT_T0;
        if pj + 2 * NR <= row.len() {
            let next = row.as_ptr().wrapping_add(pj + NR);
            simd.sse._mm_prefetch::<_MM_HINT_T0>(next.cast());
            simd.sse._mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(NR - 1).cast());
        }
    }

    /// Sixteen floats of a row of `B` as two vectors.
    #[inline(always)]
    fn load_b(row: &[f32], j0: usize) -> [f32x8; 2] {
        match row.get(j0..j0 + NR).and_then(|x| <&[f32; NR]>::try_from(x).ok()) {
            Some(x) => cast(*x),
            None => cast([0.0f32; NR]),
        }
    }

    /// The tile `Σ_p A[i0 + r, p] B[p, pj..pj + 16]` with the rows of `A` given as `a[r][p]`
    /// and the rows of `B` as `b[p]`.
    #[inline(always)]
    fn kernel_rows(simd: V3, a: [&[f32]; MR], b: &[&[f32]], pj: usize, prefetch: bool) -> [[f32x8; 2]; MR] {
        let kc = b.len();
        // Six separate slices of length exactly `kc`: indexing them by `p < kc` needs no check.
        let [a0, a1, a2, a3, a4, a5] = a;
        let (a0, a1, a2, a3, a4, a5) = (&a0[..kc], &a1[..kc], &a2[..kc], &a3[..kc], &a4[..kc], &a5[..kc]);
        let zero = simd.splat_f32s(0.0);
        let mut acc = [[zero; 2]; MR];
        for p in 0..kc {
            if prefetch {
                prefetch_next(simd, b[p], pj);
            }
            let bv = load_b(b[p], pj);
            let x = [a0[p], a1[p], a2[p], a3[p], a4[p], a5[p]];
            for r in 0..MR {
                let x = simd.splat_f32s(x[r]);
                acc[r][0] = simd.mul_add_e_f32s(x, bv[0], acc[r][0]);
                acc[r][1] = simd.mul_add_e_f32s(x, bv[1], acc[r][1]);
            }
        }
        acc
    }

    /// [`kernel_rows`] with the columns of `A` given as `a[p][i]`, rows `i0..i0 + 6`.
    #[inline(always)]
    fn kernel_columns(simd: V3, a: &[&[f32]], i0: usize, b: &[&[f32]], pj: usize, prefetch: bool) -> [[f32x8; 2]; MR] {
        let zero = simd.splat_f32s(0.0);
        let mut acc = [[zero; 2]; MR];
        for (column, row) in a.iter().zip(b) {
            let Ok(ap) = <&[f32; MR]>::try_from(&column[i0..i0 + MR]) else {
                continue;
            };
            if prefetch {
                prefetch_next(simd, row, pj);
            }
            let bv = load_b(row, pj);
            for r in 0..MR {
                let x = simd.splat_f32s(ap[r]);
                acc[r][0] = simd.mul_add_e_f32s(x, bv[0], acc[r][0]);
                acc[r][1] = simd.mul_add_e_f32s(x, bv[1], acc[r][1]);
            }
        }
        acc
    }

    /// Combines the `rows × cols` corner of the tile `acc` with `C` at `(i0, j0)`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn store(
        simd: V3,
        target: &mut Target,
        i0: usize,
        j0: usize,
        rows: usize,
        cols: usize,
        acc: &[[f32x8; 2]; MR],
        write: Write,
    ) {
        match target {
            Target::Rows(c) if cols == NR => {
                for (row, acc) in c[i0..i0 + rows].iter_mut().zip(acc) {
                    if let Ok(seg) = <&mut [f32; NR]>::try_from(&mut row[j0..j0 + NR]) {
                        let old: [f32x8; 2] = cast(*seg);
                        let new = [write.vector(simd, old[0], acc[0]), write.vector(simd, old[1], acc[1])];
                        *seg = cast(new);
                    }
                }
            }
            Target::Rows(c) => {
                for (row, acc) in c[i0..i0 + rows].iter_mut().zip(acc) {
                    let acc: [f32; NR] = cast(*acc);
                    for (x, &s) in row[j0..j0 + cols].iter_mut().zip(&acc) {
                        *x = write.scalar(*x, s);
                    }
                }
            }
            Target::Columns(c) => {
                let acc: [[f32; NR]; MR] = acc.map(cast);
                for (q, column) in c[j0..j0 + cols].iter_mut().enumerate() {
                    for (r, x) in column[i0..i0 + rows].iter_mut().enumerate() {
                        *x = write.scalar(*x, acc[r][q]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2, Axis};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// `α A B + β C` in f64, and the scale `|α| |A| |B| + |β| |C|` of each element's rounding
    /// error.
    fn reference(
        alpha: f32,
        a: ArrayView2<f32>,
        b: ArrayView2<f32>,
        beta: f32,
        c: &Array2<f32>,
    ) -> (Array2<f64>, Array2<f64>) {
        let (m, k) = a.dim();
        let n = b.ncols();
        let mut exact = Array2::zeros((m, n));
        let mut scale = Array2::zeros((m, n));
        for i in 0..m {
            for j in 0..n {
                let (mut s, mut t) = (0.0f64, 0.0f64);
                for p in 0..k {
                    s += a[[i, p]] as f64 * b[[p, j]] as f64;
                    t += (a[[i, p]] as f64 * b[[p, j]] as f64).abs();
                }
                let old = if beta == 0.0 { 0.0 } else { c[[i, j]] as f64 };
                exact[[i, j]] = alpha as f64 * s + beta as f64 * old;
                scale[[i, j]] = (alpha as f64).abs() * t + (beta as f64 * old).abs();
            }
        }
        (exact, scale)
    }

    fn random(rng: &mut Xoshiro256PlusPlus, rows: usize, cols: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0))
    }

    /// Layout `kind` of a `rows × cols` operand: 0 row-major, 1 column-major, 2 strided both
    /// ways, 3 a sub-block of a wider row-major matrix (handled by `slice` in `check`).
    fn layout(rng: &mut Xoshiro256PlusPlus, rows: usize, cols: usize, kind: usize) -> Array2<f32> {
        match kind {
            1 => random(rng, cols, rows).reversed_axes(),
            _ => random(rng, rows, cols),
        }
    }

    /// Checks one product against the f64 reference, and that cutting `C` into row or column
    /// blocks gives the same bytes. `c_kind` 1 stores `C` column-major.
    fn check(m: usize, k: usize, n: usize, kinds: (usize, usize, usize), alpha: f32, beta: f32, seed: u64) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let a_store = layout(&mut rng, m, k, kinds.0);
        let b_store = layout(&mut rng, k, n, kinds.1);
        let wide_a = random(&mut rng, 2 * m + 1, 2 * k + 3);
        let wide_b = random(&mut rng, 2 * k + 1, 2 * n + 5);
        let a = match kinds.0 {
            2 => wide_a.slice(s![..2 * m;2, 1..2 * k + 1;2]),
            3 => wide_a.slice(s![1..m + 1, 3..k + 3]),
            _ => a_store.view(),
        };
        let b = match kinds.1 {
            2 => wide_b.slice(s![..2 * k;2, ..2 * n;2]),
            3 => wide_b.slice(s![1..k + 1, 5..n + 5]),
            _ => b_store.view(),
        };
        let fresh = |rng: &mut Xoshiro256PlusPlus| {
            let mut c = layout(rng, m, n, kinds.2);
            if beta == 0.0 && m * n > 0 {
                c[[0, 0]] = f32::NAN;
            }
            c
        };
        let c = fresh(&mut rng);
        let (exact, scale) = reference(alpha, a, b, beta, &c);
        let mut out = c.clone();
        if !gemm(alpha, a, b, beta, out.view_mut()) {
            // Only unsupported layouts (A strided both ways and B too) may be refused.
            assert!(!available() || (kinds.0 == 2 && kinds.1 == 2), "gemm refused {kinds:?}");
            return;
        }
        // Each element is a chain of k fused multiply-adds and at most two more roundings.
        let eps = f32::EPSILON as f64;
        for ((&got, &want), &bound) in out.iter().zip(&exact).zip(&scale) {
            let tol = (k as f64 + 3.0) * eps * bound + f32::MIN_POSITIVE as f64;
            assert!(
                (got as f64 - want).abs() <= tol,
                "{m}x{k}x{n} {kinds:?} alpha {alpha} beta {beta}: {got} vs {want} (tolerance {tol:e})"
            );
        }
        // Cutting C into column or row blocks gives the same bytes.
        for axis in [Axis(0), Axis(1)] {
            let len = out.len_of(axis);
            if len < 2 {
                continue;
            }
            let mid = 1 + (len - 1) * 3 / 7;
            let mut parts = c.clone();
            let (p0, p1) = parts.view_mut().split_at(axis, mid);
            let (a0, a1, b0, b1) = if axis == Axis(0) {
                (a.slice(s![..mid, ..]), a.slice(s![mid.., ..]), b.view(), b.view())
            } else {
                (a.view(), a.view(), b.slice(s![.., ..mid]), b.slice(s![.., mid..]))
            };
            assert!(gemm(alpha, a0, b0, beta, p0));
            assert!(gemm(alpha, a1, b1, beta, p1));
            let same = parts.iter().zip(out.iter()).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{m}x{k}x{n} {kinds:?}: blocks along {axis:?} differ from the whole product");
        }
    }

    #[test]
    fn products_match_an_f64_reference_in_every_layout() {
        let shapes = [(1, 1, 1), (5, 3, 7), (6, 8, 16), (7, 9, 17), (13, 31, 33), (2, 520, 3), (31, 70, 45)];
        let mut seed = 0;
        for &(m, k, n) in &shapes {
            for ka in 0..4 {
                for kb in 0..4 {
                    for kc in 0..2 {
                        for &(alpha, beta) in &[(1.0, 0.0), (1.0, 1.0), (0.5, 0.25), (-1.0, 0.9), (2.0, 0.0)] {
                            seed += 1;
                            check(m, k, n, (ka, kb, kc), alpha, beta, seed);
                        }
                    }
                }
            }
        }
        // Several blocks of k and of rows of A, in the layouts CD-k uses: v W, h Wᵀ and vᵀ h.
        for &(m, k, n) in &[(100, 1600, 40), (151, 257, 23), (300, 20, 50), (40, 300, 200), (250, 130, 100)] {
            for kinds in [(0, 0, 0), (0, 1, 0), (1, 0, 0), (3, 3, 0)] {
                seed += 1;
                check(m, k, n, kinds, 1.0, 1.0, seed);
            }
        }
    }

    #[test]
    fn the_transposed_product_is_chosen_when_it_copies_less() {
        // h Wᵀ: B = Wᵀ is stored by columns, so (W hᵀ)ᵀ is computed, copying only h.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let (h, w) = (random(&mut rng, 10, 40), random(&mut rng, 300, 40));
        let c = Array2::<f32>::zeros((10, 300));
        let (hv, wt) = (h.view(), w.t());
        let direct = cost(&hv, &wt, true, false);
        let transposed = cost(&wt.t(), &hv.t(), false, true);
        assert_eq!(direct, Some(40 * 300));
        assert_eq!(transposed, Some(400 + 10 * 300 / 4));
        let mut out = c.clone();
        if gemm(1.0, hv, wt, 0.0, out.view_mut()) {
            let want = h.dot(&w.t());
            for (x, y) in out.iter().zip(&want) {
                assert!((x - y).abs() <= 1e-5, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn empty_products_scale_or_leave_c() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 4));
        let mut c = Array2::from_elem((3, 4), 2.0f32);
        if gemm(1.0, a.view(), b.view(), 0.5, c.view_mut()) {
            assert!(c.iter().all(|&x| x == 1.0));
        }
        let mut c = Array2::from_elem((3, 4), f32::NAN);
        if gemm(1.0, a.view(), b.view(), 0.0, c.view_mut()) {
            assert!(c.iter().all(|&x| x == 0.0));
        }
        let mut none = Array2::<f32>::zeros((0, 4));
        assert!(
            gemm(1.0, Array2::<f32>::zeros((0, 2)).view(), Array2::zeros((2, 4)).view(), 1.0, none.view_mut())
                || !available()
        );
    }

    #[test]
    fn runs_where_avx2_is_present() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && !std::arch::is_x86_feature_detected!("avx512f")
        {
            assert!(available());
        }
    }
}

#[cfg(test)]
mod timing_scratch {
    use super::*;
    use ndarray::{s, Array2};
    use std::time::Instant;

    fn t(label: &str, mut f: impl FnMut(), flops: f64) {
        f();
        let reps = 50;
        let start = Instant::now();
        for _ in 0..reps {
            f();
        }
        let dt = start.elapsed().as_secs_f64() / reps as f64;
        eprintln!("{label}: {:.3} ms, {:.1} GFLOP/s", dt * 1e3, flops / dt / 1e9);
    }

    #[test]
    #[ignore]
    fn shapes() {
        let w = Array2::<f32>::from_shape_fn((1600, 400), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.01);
        let v = Array2::<f32>::from_shape_fn((200, 1600), |(i, j)| if (i + j) % 3 == 0 { 1.0 } else { -1.0 });
        let h = Array2::<f32>::from_shape_fn((200, 400), |(i, j)| ((i + j) % 5) as f32 * 0.1);
        let mut out_h = Array2::<f32>::zeros((100, 200));
        let mut out_v = Array2::<f32>::zeros((100, 800));
        let mut d = Array2::<f32>::zeros((800, 400));
        let (vb, hb) = (v.slice(s![..100, ..]), h.slice(s![..100, ..]));
        let f1 = 2.0 * 100.0 * 1600.0 * 200.0;
        t("vW new", || assert!(gemm(1.0, vb, w.slice(s![.., ..200]), 1.0, out_h.view_mut())), f1);
        t("vW mm", || ndarray::linalg::general_mat_mul(1.0, &vb, &w.slice(s![.., ..200]), 1.0, &mut out_h), f1);
        let f2 = 2.0 * 100.0 * 400.0 * 800.0;
        t("hWt new", || assert!(gemm(1.0, hb, w.slice(s![..800, ..]).t(), 1.0, out_v.view_mut())), f2);
        t("hWt mm", || ndarray::linalg::general_mat_mul(1.0, &hb, &w.slice(s![..800, ..]).t(), 1.0, &mut out_v), f2);
        let small_a = Array2::<f32>::from_shape_fn((6, 256), |(i, j)| (i + j) as f32);
        let small_b = Array2::<f32>::from_shape_fn((256, 16), |(i, j)| (i + j) as f32);
        let mut small_c = Array2::<f32>::zeros((6, 16));
        t("L1 rows", || { for _ in 0..100 { assert!(gemm(1.0, small_a.view(), small_b.view(), 1.0, small_c.view_mut())) } }, 100.0 * 2.0 * 6.0 * 256.0 * 16.0);
        let small_at = small_a.t().to_owned();
        t("L1 cols", || { for _ in 0..100 { assert!(gemm(1.0, small_at.t(), small_b.view(), 1.0, small_c.view_mut())) } }, 100.0 * 2.0 * 6.0 * 256.0 * 16.0);
        let mid_a = Array2::<f32>::from_shape_fn((120, 256), |(i, j)| (i + j) as f32);
        let mid_b = Array2::<f32>::from_shape_fn((256, 64), |(i, j)| (i + j) as f32);
        let mut mid_c = Array2::<f32>::zeros((120, 64));
        t("L2 rows", || { for _ in 0..10 { assert!(gemm(1.0, mid_a.view(), mid_b.view(), 1.0, mid_c.view_mut())) } }, 10.0 * 2.0 * 120.0 * 256.0 * 64.0);
        t("L2 mm", || { for _ in 0..10 { ndarray::linalg::general_mat_mul(1.0, &mid_a, &mid_b, 1.0, &mut mid_c) } }, 10.0 * 2.0 * 120.0 * 256.0 * 64.0);
        let f3 = 2.0 * 800.0 * 200.0 * 400.0;
        t("vtH new", || assert!(gemm(1.0, v.slice(s![.., ..800]).t(), h.view(), 0.9, d.view_mut())), f3);
        t("vtH mm", || ndarray::linalg::general_mat_mul(1.0, &v.slice(s![.., ..800]).t(), &h, 0.9, &mut d), f3);
    }
}

