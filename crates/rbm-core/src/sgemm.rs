//! An `f32` matrix product for AVX2/FMA machines, `C ← α A B + β C`, in safe Rust over `pulp`'s
//! x86-v3 vector types.
//!
//! It is the classic blocked design (Goto and van de Geijn; BLIS): the product is cut into
//! blocks of `k` (at most [`KC`] deep) and of rows of `A` (at most [`MC`]); each block of `B` is
//! packed into panels [`NR`] columns wide and each block of `A` into panels [`MR`] rows tall,
//! both zero-padded to whole panels, and a micro-kernel multiplies one panel of each into an
//! `MR × NR` tile of accumulators held in twelve vector registers (six rows of two vectors),
//! which is then added to `C`. A panel of `B` (at most 16 KiB) stays in the level-1 cache while
//! the panels of the block of `A` (at most 144 KiB, in the level-2 cache) pass it.
//!
//! Packing is where a general product loses most at CD-k's shapes (batches of about a hundred
//! rows against a weight matrix of 1600 × 400, each element of which is packed once per
//! product): here the usual layouts are packed by whole vectors, transposing in registers
//! (8 × 8 blocks) where the layout needs it, and other layouts fall back to element copies.
//!
//! # Reproducibility
//!
//! Every element of `C` is one lane of the micro-kernel: its sum over each block of `k` is a
//! chain of fused multiply-adds in the order of `k`, and the blocks of `k` depend on `k` alone.
//! Neither the position of the element in its tile nor how the caller cuts `C` into column or
//! row blocks changes its value, so results are the same bytes for any split and any number of
//! threads.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};

/// Rows of a micro-tile.
const MR: usize = 6;
/// Columns of a micro-tile (two AVX2 vectors).
const NR: usize = 16;
/// Largest depth of a block of `k` (a panel of `B` is at most `KC × NR` floats: 16 KiB).
const KC: usize = 256;
/// Largest number of rows of a block of `A` (a packed block is at most `MC × KC` floats).
const MC: usize = 144;

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

/// `C ← α A B + β C` when [`available`] and each row of `C` is contiguous; returns `false` (and
/// leaves `C` untouched) otherwise, so that the caller uses its general product. `β = 0`
/// ignores `C`'s previous contents (NaN included). Panics if the shapes do not match.
pub(crate) fn gemm(
    alpha: f32,
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    beta: f32,
    mut c: ArrayViewMut2<f32>,
) -> bool {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert_eq!(b.nrows(), k, "inner dimensions of a product");
    assert_eq!(c.dim(), (m, n), "shape of a product's output");
    if !available() {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    let mut rows: Vec<&mut [f32]> = Vec::with_capacity(m);
    for row in c.axis_iter_mut(Axis(0)) {
        match row.into_slice() {
            Some(r) => rows.push(r),
            None => return false,
        }
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        imp::PACKED.with(|packed| {
            let (pa, pb) = &mut *packed.borrow_mut();
            let product = imp::Product { alpha, beta, a, b, c: &mut rows, pa, pb };
            simd.vectorize(
                #[inline(always)]
                || product.run(simd),
            )
        });
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
    use std::arch::x86_64::__m256;
    use std::cell::RefCell;

    use ndarray::ArrayView2;
    use pulp::x86::V3;
    use pulp::{cast, f32x8, Simd};

    use super::{block_len, KC, MC, MR, NR};

    /// Vectors per row of a micro-tile.
    const NV: usize = NR / 8;

    thread_local! {
        /// The packed blocks of `A` and `B`, reused from one product to the next on each thread.
        pub(super) static PACKED: RefCell<(Vec<f32>, Vec<f32>)> =
            const { RefCell::new((Vec::new(), Vec::new())) };
    }

    /// One call of [`gemm`](super::gemm), run inside a function compiled for AVX2/FMA.
    pub(super) struct Product<'a, 'b, 's, 'r> {
        pub(super) alpha: f32,
        pub(super) beta: f32,
        pub(super) a: ArrayView2<'a, f32>,
        pub(super) b: ArrayView2<'b, f32>,
        pub(super) c: &'s mut [&'r mut [f32]],
        /// This thread's buffers for the packed blocks of `A` and `B`.
        pub(super) pa: &'s mut Vec<f32>,
        pub(super) pb: &'s mut Vec<f32>,
    }

    impl Product<'_, '_, '_, '_> {
        #[inline(always)]
        pub(super) fn run(self, simd: V3) {
            let Product { alpha, beta, a, b, c, pa, pb } = self;
            let (m, k) = a.dim();
            let n = b.ncols();
            if k == 0 {
                for row in c.iter_mut() {
                    scale_row(row, beta);
                }
                return;
            }
            let kc_max = block_len(k, KC);
            let mc_max = block_len(m, MC).div_ceil(MR) * MR;
            let n_panels = n.div_ceil(NR);
            let pb = aligned(pb, n_panels * NR * kc_max);
            let pa = aligned(pa, mc_max * kc_max);
            for (block, pc) in (0..k).step_by(kc_max).enumerate() {
                let kc = kc_max.min(k - pc);
                pack_b(simd, b, pc, kc, pb);
                let write = Write::new(alpha, beta, block == 0);
                for ic in (0..m).step_by(mc_max) {
                    let mc = mc_max.min(m - ic);
                    pack_a(simd, a, ic, mc, pc, kc, pa);
                    for jp in 0..n_panels {
                        let j0 = jp * NR;
                        let cols = NR.min(n - j0);
                        let (bp, _) = V3::as_simd_f32s(&pb[jp * kc * NR..(jp + 1) * kc * NR]);
                        for ip in 0..mc.div_ceil(MR) {
                            let i0 = ic + ip * MR;
                            let ap = &pa[ip * kc * MR..(ip + 1) * kc * MR];
                            prefetch_tile(simd, c, i0, j0, cols);
                            let acc = micro_kernel(simd, ap, bp);
                            store_tile(simd, c, i0, j0, cols, &acc, write);
                        }
                    }
                }
            }
        }
    }

    /// `len` floats of `buf` starting on a 64-byte boundary, followed by at least 8 more (room
    /// for the whole-vector stores of [`pack_a`]); the buffer grows as needed.
    fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
        const ALIGN: usize = 64 / std::mem::size_of::<f32>();
        if buf.len() < len + 2 * ALIGN {
            buf.resize(len + 2 * ALIGN, 0.0);
        }
        let misaligned = (buf.as_ptr() as usize / std::mem::size_of::<f32>()) % ALIGN;
        let start = (ALIGN - misaligned) % ALIGN;
        &mut buf[start..]
    }

    /// Asks the caches for the rows of the tile of `C` at `(i0, j0)`, so that they have
    /// arrived when the micro-kernel is done with it: `C` is read and written once per block of
    /// `k`, and may be far larger than the level-2 cache (the momentum of a weight matrix is).
    #[inline(always)]
    fn prefetch_tile(simd: V3, c: &[&mut [f32]], i0: usize, j0: usize, cols: usize) {
        use std::arch::x86_64::_MM_HINT_T0;
        for row in c.iter().skip(i0).take(MR) {
            let row = &row[j0..j0 + cols];
            simd.sse._mm_prefetch::<_MM_HINT_T0>(row.as_ptr().cast());
            simd.sse._mm_prefetch::<_MM_HINT_T0>(row[cols - 1..].as_ptr().cast());
        }
    }

    /// `row ← β row`, with `β = 0` writing zeros whatever `row` held.
    fn scale_row(row: &mut [f32], beta: f32) {
        if beta == 0.0 {
            row.fill(0.0);
        } else if beta != 1.0 {
            row.iter_mut().for_each(|x| *x *= beta);
        }
    }

    /// The `MR × NR` tile `Σ_p a[p] b[p]` of one packed panel of `A` (`kc` groups of `MR`) and
    /// one of `B` (`kc` groups of `NV` vectors).
    #[inline(always)]
    fn micro_kernel(simd: V3, a: &[f32], b: &[f32x8]) -> [[f32x8; NV]; MR] {
        let zero = simd.splat_f32s(0.0);
        let mut acc = [[zero; NV]; MR];
        for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NV)) {
            let (Ok(ap), Ok(bp)) = (<&[f32; MR]>::try_from(ap), <&[f32x8; NV]>::try_from(bp)) else {
                continue;
            };
            for r in 0..MR {
                let x = simd.splat_f32s(ap[r]);
                for v in 0..NV {
                    acc[r][v] = simd.mul_add_e_f32s(x, bp[v], acc[r][v]);
                }
            }
        }
        acc
    }

    /// How a tile is added to `C`.
    #[derive(Clone, Copy)]
    enum Write {
        /// `c ← acc` (the first block of `k` with `α = 1`, `β = 0`).
        Set,
        /// `c ← c + acc` (`α = 1`, and `β = 1` or a later block of `k`).
        Add,
        /// `c ← β c + α acc` (first block) or `c ← c + α acc` (`β = 1`, later blocks).
        Scale { alpha: f32, beta: f32 },
    }

    impl Write {
        /// The write for a block of `k`: the first one applies `β`, the others add.
        fn new(alpha: f32, beta: f32, first: bool) -> Write {
            let beta = if first { beta } else { 1.0 };
            match (alpha == 1.0, beta) {
                (true, 0.0) => Write::Set,
                (true, 1.0) => Write::Add,
                _ => Write::Scale { alpha, beta },
            }
        }

        #[inline(always)]
        fn apply(self, simd: V3, old: f32x8, acc: f32x8) -> f32x8 {
            match self {
                Write::Set => acc,
                Write::Add => simd.add_f32s(old, acc),
                Write::Scale { alpha, beta } => {
                    let x = simd.mul_f32s(simd.splat_f32s(alpha), acc);
                    if beta == 0.0 {
                        x
                    } else {
                        simd.mul_add_e_f32s(simd.splat_f32s(beta), old, x)
                    }
                }
            }
        }
    }

    /// [`store_tile`] for a whole tile.
    #[inline(always)]
    fn store_full_tile(
        simd: V3,
        c: &mut [&mut [f32]],
        i0: usize,
        j0: usize,
        acc: &[[f32x8; NV]; MR],
        write: Write,
    ) {
        for (row, acc) in c[i0..i0 + MR].iter_mut().zip(acc) {
            let (v, _) = V3::as_mut_simd_f32s(&mut row[j0..j0 + NR]);
            for (v, acc) in v.iter_mut().zip(acc) {
                *v = write.apply(simd, *v, *acc);
            }
        }
    }

    /// Adds the tile `acc` to rows `i0..` and columns `j0..j0 + cols` of `C` (a tile at the
    /// bottom or right edge has fewer rows or columns).
    #[inline(always)]
    fn store_tile(
        simd: V3,
        c: &mut [&mut [f32]],
        i0: usize,
        j0: usize,
        cols: usize,
        acc: &[[f32x8; NV]; MR],
        write: Write,
    ) {
        let rows = MR.min(c.len() - i0);
        if rows == MR && cols == NR {
            // One straight-line copy per kind of write (the match is outside the rows).
            match write {
                Write::Set => store_full_tile(simd, c, i0, j0, acc, Write::Set),
                Write::Add => store_full_tile(simd, c, i0, j0, acc, Write::Add),
                w => store_full_tile(simd, c, i0, j0, acc, w),
            }
            return;
        }
        for (r, acc) in acc.iter().enumerate().take(rows) {
            let row = &mut c[i0 + r][j0..j0 + cols];
            for (v, acc) in acc.iter().enumerate() {
                let lo = v * 8;
                if lo >= cols {
                    break;
                }
                let seg = &mut row[lo..(lo + 8).min(cols)];
                let x = write.apply(simd, simd.partial_load_f32s(seg), *acc);
                simd.partial_store_f32s(seg, x);
            }
        }
    }

    /// Eight contiguous floats as a vector.
    #[inline(always)]
    fn load8(x: &[f32]) -> __m256 {
        match <&[f32; 8]>::try_from(&x[..8]) {
            Ok(x) => cast(*x),
            Err(_) => cast([0.0f32; 8]),
        }
    }

    /// A vector into eight contiguous floats.
    #[inline(always)]
    fn store8(out: &mut [f32], x: __m256) {
        if let Ok(out) = <&mut [f32; 8]>::try_from(&mut out[..8]) {
            *out = cast(x);
        }
    }

    /// The transpose of the 8 × 8 block whose rows are `r`: element `t` of row `j` of the
    /// result is element `j` of `r[t]`.
    #[inline(always)]
    fn transpose8(simd: V3, r: [__m256; 8]) -> [__m256; 8] {
        let x = simd.avx;
        let t0 = x._mm256_unpacklo_ps(r[0], r[1]);
        let t1 = x._mm256_unpackhi_ps(r[0], r[1]);
        let t2 = x._mm256_unpacklo_ps(r[2], r[3]);
        let t3 = x._mm256_unpackhi_ps(r[2], r[3]);
        let t4 = x._mm256_unpacklo_ps(r[4], r[5]);
        let t5 = x._mm256_unpackhi_ps(r[4], r[5]);
        let t6 = x._mm256_unpacklo_ps(r[6], r[7]);
        let t7 = x._mm256_unpackhi_ps(r[6], r[7]);
        let u0 = x._mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = x._mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = x._mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = x._mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = x._mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = x._mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = x._mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = x._mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            x._mm256_permute2f128_ps::<0x20>(u0, u4),
            x._mm256_permute2f128_ps::<0x20>(u1, u5),
            x._mm256_permute2f128_ps::<0x20>(u2, u6),
            x._mm256_permute2f128_ps::<0x20>(u3, u7),
            x._mm256_permute2f128_ps::<0x31>(u0, u4),
            x._mm256_permute2f128_ps::<0x31>(u1, u5),
            x._mm256_permute2f128_ps::<0x31>(u2, u6),
            x._mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }

    /// Packs rows `ic..ic + mc` and columns `pc..pc + kc` of `A` into panels of [`MR`] rows:
    /// panel `q` holds, for each `p`, the `MR` values `A[ic + q MR + r, pc + p]` (zeros past
    /// `mc`). `out` has room for 8 floats past the last panel.
    #[inline(always)]
    fn pack_a(simd: V3, a: ArrayView2<f32>, ic: usize, mc: usize, pc: usize, kc: usize, out: &mut [f32]) {
        let panels = mc.div_ceil(MR);
        let rows_contiguous = a.strides()[1] == 1 || a.ncols() == 1;
        let columns_contiguous = a.strides()[0] == 1 || a.nrows() == 1;
        for q in 0..panels {
            let r0 = ic + q * MR;
            let rows = MR.min(ic + mc - r0);
            let base = q * kc * MR;
            let rows_of_a: [Option<&[f32]>; MR] = std::array::from_fn(|r| {
                if rows_contiguous && r < rows {
                    a.row(r0 + r).to_slice()
                } else {
                    None
                }
            });
            if let (MR, [Some(x0), Some(x1), Some(x2), Some(x3), Some(x4), Some(x5)]) = (rows, rows_of_a) {
                let rows_of_a = [x0, x1, x2, x3, x4, x5];
                // Transpose 8 × 8 blocks whose last two rows repeat the sixth; each column of
                // eight is stored whole and the next store overwrites its last two.
                let chunks = kc / 8;
                for t in 0..chunks {
                    let p = pc + t * 8;
                    let r: [__m256; 8] = std::array::from_fn(|j| load8(&rows_of_a[j.min(MR - 1)][p..p + 8]));
                    let cols = transpose8(simd, r);
                    for (s, col) in cols.iter().enumerate() {
                        let at = base + (t * 8 + s) * MR;
                        store8(&mut out[at..at + 8], *col);
                    }
                }
                for p in chunks * 8..kc {
                    for (r, row) in rows_of_a.iter().enumerate() {
                        out[base + p * MR + r] = row[pc + p];
                    }
                }
                continue;
            }
            let panel = &mut out[base..base + kc * MR];
            if rows < MR {
                panel.fill(0.0);
            }
            if columns_contiguous {
                for p in 0..kc {
                    let col = a.column(pc + p);
                    let dst = &mut panel[p * MR..p * MR + rows];
                    match col.to_slice() {
                        Some(col) if rows == MR => match (
                            <&mut [f32; MR]>::try_from(&mut *dst),
                            <&[f32; MR]>::try_from(&col[r0..r0 + MR]),
                        ) {
                            (Ok(dst), Ok(src)) => *dst = *src,
                            _ => dst.copy_from_slice(&col[r0..r0 + rows]),
                        },
                        Some(col) => dst.copy_from_slice(&col[r0..r0 + rows]),
                        None => dst.iter_mut().enumerate().for_each(|(r, d)| *d = col[r0 + r]),
                    }
                }
            } else {
                for r in 0..rows {
                    for p in 0..kc {
                        panel[p * MR + r] = a[[r0 + r, pc + p]];
                    }
                }
            }
        }
    }

    /// Packs rows `pc..pc + kc` of `B` (all its columns) into panels of [`NR`] columns: panel
    /// `q` holds, for each `p`, the `NR` values `B[pc + p, q NR + j]` (zeros past the last
    /// column).
    #[inline(always)]
    fn pack_b(simd: V3, b: ArrayView2<f32>, pc: usize, kc: usize, out: &mut [f32]) {
        let n = b.ncols();
        let panels = n.div_ceil(NR);
        let out = &mut out[..panels * kc * NR];
        if n % NR != 0 {
            out[(panels - 1) * kc * NR..].fill(0.0);
        }
        if b.strides()[1] == 1 || n == 1 {
            for p in 0..kc {
                let row = b.row(pc + p);
                let Some(row) = row.to_slice() else {
                    for j in 0..n {
                        out[(j / NR * kc + p) * NR + j % NR] = b[[pc + p, j]];
                    }
                    continue;
                };
                for q in 0..panels {
                    let (j0, cols) = (q * NR, NR.min(n - q * NR));
                    let at = (q * kc + p) * NR;
                    let dst = &mut out[at..at + cols];
                    match (<&mut [f32; NR]>::try_from(&mut *dst), <&[f32; NR]>::try_from(&row[j0..j0 + cols]))
                    {
                        (Ok(dst), Ok(src)) => *dst = *src,
                        _ => dst.copy_from_slice(&row[j0..j0 + cols]),
                    }
                }
            }
            return;
        }
        // Columns of `B` contiguous (the transpose of a row-major matrix): transpose 8 × 8
        // blocks in registers.
        let columns: Vec<&[f32]> = (0..n).filter_map(|j| b.column(j).to_slice()).collect();
        if columns.len() != n {
            for j in 0..n {
                for p in 0..kc {
                    out[(j / NR * kc + p) * NR + j % NR] = b[[pc + p, j]];
                }
            }
            return;
        }
        let chunks = kc / 8;
        for q in 0..panels {
            let panel = &mut out[q * kc * NR..(q + 1) * kc * NR];
            let (j0, cols) = (q * NR, NR.min(n - q * NR));
            for half in 0..NR / 8 {
                let h0 = j0 + half * 8;
                if cols < (half + 1) * 8 {
                    for j in h0..j0 + cols {
                        for p in 0..kc {
                            panel[p * NR + j - j0] = columns[j][pc + p];
                        }
                    }
                    continue;
                }
                for t in 0..chunks {
                    let p = pc + t * 8;
                    let r: [__m256; 8] = std::array::from_fn(|j| load8(&columns[h0 + j][p..p + 8]));
                    for (s, v) in transpose8(simd, r).iter().enumerate() {
                        let at = (t * 8 + s) * NR + half * 8;
                        store8(&mut panel[at..at + 8], *v);
                    }
                }
                for j in h0..h0 + 8 {
                    for p in chunks * 8..kc {
                        panel[p * NR + j - j0] = columns[j][pc + p];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// `α A B + β C` in f64, and for each element the bound `Σ_p |a b| + |β c|` that scales its
    /// rounding error.
    fn reference(
        alpha: f32,
        a: ArrayView2<f32>,
        b: ArrayView2<f32>,
        beta: f32,
        c: &Array2<f32>,
    ) -> (Array2<f64>, Array2<f64>) {
        let (m, n) = c.dim();
        let mut exact = Array2::zeros((m, n));
        let mut scale = Array2::zeros((m, n));
        for i in 0..m {
            for j in 0..n {
                let (mut sum, mut abs) = (0.0f64, 0.0f64);
                for p in 0..a.ncols() {
                    let t = a[[i, p]] as f64 * b[[p, j]] as f64;
                    sum += t;
                    abs += t.abs();
                }
                let old = if beta == 0.0 { 0.0 } else { beta as f64 * c[[i, j]] as f64 };
                exact[[i, j]] = alpha as f64 * sum + old;
                scale[[i, j]] = (alpha as f64).abs() * abs + old.abs();
            }
        }
        (exact, scale)
    }

    fn random(rng: &mut Xoshiro256PlusPlus, rows: usize, cols: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0))
    }

    /// `A` (m × k) in one of four layouts: row-major, the transpose of a row-major k × m
    /// matrix, a strided slice (no contiguous dimension), a column slice of a wider matrix.
    fn layout(rng: &mut Xoshiro256PlusPlus, rows: usize, cols: usize, kind: usize) -> Array2<f32> {
        match kind {
            0 => random(rng, rows, cols),
            1 => random(rng, cols, rows).reversed_axes(),
            _ => random(rng, rows, cols),
        }
    }

    fn check(m: usize, k: usize, n: usize, kinds: (usize, usize), alpha: f32, beta: f32, seed: u64) {
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
        let mut c = random(&mut rng, m, n);
        if beta == 0.0 && m * n > 0 {
            c[[0, 0]] = f32::NAN;
        }
        let (exact, scale) = reference(alpha, a, b, beta, &c);
        let mut out = c.clone();
        if !gemm(alpha, a, b, beta, out.view_mut()) {
            assert!(!available(), "gemm refused a product it should run");
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
                    for &(alpha, beta) in &[(1.0, 0.0), (1.0, 1.0), (0.5, 0.25), (-1.0, 0.9), (2.0, 0.0)] {
                        seed += 1;
                        check(m, k, n, (ka, kb), alpha, beta, seed);
                    }
                }
            }
        }
        // Several blocks of k and of rows of A, in the layouts CD-k uses.
        for &(m, k, n) in &[(100, 1600, 40), (151, 257, 23), (300, 20, 50), (40, 300, 200)] {
            for kinds in [(0, 0), (1, 0), (0, 1)] {
                seed += 1;
                check(m, k, n, kinds, 1.0, 1.0, seed);
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
            gemm(
                1.0,
                Array2::<f32>::zeros((0, 2)).view(),
                Array2::zeros((2, 4)).view(),
                1.0,
                none.view_mut()
            ) || !available()
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
