//! Products with a two-valued left factor, by table look-up (the "four Russians" method).
//!
//! Every product of CD-k training has one factor whose entries take only two values: the data
//! and the sampled visible states (`v W`, and `vᵀ h` in the gradient), and the sampled hidden
//! states (`h Wᵀ`). For such a factor `A` (`m × k`, entries `lo` or `hi`) the product `A B`
//! needs no multiplications: cut the `k` rows of `B` into groups of four, tabulate for every
//! group the 16 sums `Σ_b s_b B_{4q+b}` with `s_b ∈ {lo, hi}` (15 vector additions), and every
//! row of the product is then one table entry per group, added up: `m · k/4` vector additions
//! in place of `m · k` multiply-adds, plus `15 k/4` to build the tables.
//!
//! Only `lo, hi = 0, 1` (bits) and `-1, +1` (spins) are handled, which are the two [`Units`].
//! Tables are built and read in blocks of [`GROUPS`] groups for [`TILE`] output columns at a
//! time, small enough to stay in the level-2 cache.
//!
//! # Results
//!
//! The tables and the sums use additions only (no fused multiply-adds), in an order fixed by
//! the shape: within a block of [`GROUPS`] groups, the entries of the even groups and those of
//! the odd groups are summed apart (two independent chains of additions, for speed) and then
//! added. The tile and vector widths do not enter the arithmetic of an output element.
//! So the result is the same bytes for every vector width and thread count. It differs from a
//! general matrix product only by rounding (the terms are added in another order), and is used
//! for `f32` only: the `f64` path, used for exact computations, keeps the general product.

use std::cell::RefCell;

use ndarray::{ArrayView2, ArrayViewMut2};
use pulp::{Simd, WithSimd};

use crate::{Float, Units};

/// Output columns per tile.
pub(crate) const TILE: usize = 16;
/// Groups of four rows of `B` per table block (32 groups of 16 entries of [`TILE`] `f32` are
/// 128 KiB).
pub(crate) const GROUPS: usize = 32;

/// Rows below which the tables cost more than they save (building them costs as much as about
/// four rows of look-ups).
pub(crate) const MIN_ROWS: usize = 16;

/// A matrix of two-valued entries, one bit per entry (`1` for the upper value), rows padded to
/// whole 64-bit words; and the same bits as one byte per group of four columns, the form the
/// kernel reads (made once, when packing).
#[derive(Debug, Clone, Default)]
pub(crate) struct Bits {
    rows: usize,
    cols: usize,
    words: usize,
    data: Vec<u64>,
    signed: bool,
    nibbles: Vec<u8>,
}

impl Bits {
    fn reset(&mut self, rows: usize, cols: usize, units: Units) {
        self.rows = rows;
        self.cols = cols;
        self.words = cols.div_ceil(64);
        self.signed = units == Units::Spin;
        self.data.clear();
        self.data.resize(rows * self.words, 0);
    }

    /// The rows of `x` packed, if the type has a look-up kernel, `x` has at least
    /// [`MIN_ROWS`] rows, and every entry is the lower or upper value of `units`.
    pub(crate) fn packed<F: Float>(x: ArrayView2<F>, units: Units) -> Option<Bits> {
        let mut bits = Bits::default();
        (<F as crate::float::sealed::Sealed>::HAS_LUT && x.nrows() >= MIN_ROWS && bits.pack(x, units))
            .then_some(bits)
    }

    /// The columns of `x` packed (as the rows of `xᵀ`), under the conditions of
    /// [`Bits::packed`] with `x`'s columns for its rows.
    pub(crate) fn packed_transposed<F: Float>(x: ArrayView2<F>, units: Units) -> Option<Bits> {
        let mut bits = Bits::default();
        (<F as crate::float::sealed::Sealed>::HAS_LUT
            && x.ncols() >= MIN_ROWS
            && bits.pack_transposed(x, units))
        .then_some(bits)
    }

    /// Packs the rows of `x` (entries the lower or upper value of `units`); `false` (and the
    /// contents unspecified) if some entry is neither.
    pub(crate) fn pack<F: Float>(&mut self, x: ArrayView2<F>, units: Units) -> bool {
        let ok = self.pack_words(x, units);
        if ok {
            self.fill_nibbles();
        }
        ok
    }

    /// [`Bits::pack`] without the bytes per group.
    fn pack_words<F: Float>(&mut self, x: ArrayView2<F>, units: Units) -> bool {
        let (lo, hi) = (units.lower::<F>(), units.upper::<F>());
        self.reset(x.nrows(), x.ncols(), units);
        let words = self.words.max(1);
        let mut good = true;
        for (row, out) in x.rows().into_iter().zip(self.data.chunks_exact_mut(words)) {
            good &= match row.as_slice() {
                Some(row) => crate::kernel::vectorized(
                    #[inline(always)]
                    || pack_slice(row, out, lo, hi),
                ),
                None => {
                    let row: Vec<F> = row.to_vec();
                    pack_slice(&row, out, lo, hi)
                }
            };
            if !good {
                return false;
            }
        }
        true
    }

    /// Packs the columns of `x`, that is the rows of `xᵀ` (see [`Bits::pack`]): the rows
    /// are packed, then transposed 64 × 64 bits at a time.
    pub(crate) fn pack_transposed<F: Float>(&mut self, x: ArrayView2<F>, units: Units) -> bool {
        let mut rows = Bits::default();
        if !rows.pack_words(x, units) {
            return false;
        }
        self.reset(x.ncols(), x.nrows(), units);
        let mut block = [0u64; 64];
        let (in_words, out_words) = (rows.words, self.words);
        for cb in 0..in_words {
            for rb in 0..out_words {
                for (i, b) in block.iter_mut().enumerate() {
                    let r = 64 * rb + i;
                    *b = if r < rows.rows { rows.data[r * in_words + cb] } else { 0 };
                }
                transpose64(&mut block);
                for (j, &b) in block.iter().enumerate() {
                    let c = 64 * cb + j;
                    if c < self.rows {
                        self.data[c * out_words + rb] = b;
                    }
                }
            }
        }
        self.fill_nibbles();
        true
    }

    /// The 4-bit groups of every row (columns `4q .. 4q + 4` of row `r` at `r ⌈k/4⌉ + q`,
    /// lowest column in the lowest bit).
    fn fill_nibbles(&mut self) {
        let groups = self.cols.div_ceil(4);
        self.nibbles.clear();
        self.nibbles.resize(self.rows * groups, 0);
        if groups == 0 {
            return;
        }
        for (words, dst) in self.data.chunks_exact(self.words).zip(self.nibbles.chunks_exact_mut(groups)) {
            for (&w, dst) in words.iter().zip(dst.chunks_mut(16)) {
                let bytes = w.to_le_bytes();
                let mut all = [0u8; 16];
                for (j, x) in all.iter_mut().enumerate() {
                    *x = (bytes[j / 2] >> (4 * (j % 2))) & 15;
                }
                dst.copy_from_slice(&all[..dst.len()]);
            }
        }
    }

    /// The rows `range` of the matrix.
    pub(crate) fn row_range(&self, range: std::ops::Range<usize>) -> BitsView<'_> {
        let groups = self.cols.div_ceil(4);
        BitsView {
            rows: range.len(),
            cols: self.cols,
            nibbles: &self.nibbles[range.start * groups..range.end * groups],
            signed: self.signed,
        }
    }

    /// A view of the whole matrix.
    pub(crate) fn view(&self) -> BitsView<'_> {
        self.row_range(0..self.rows)
    }
}

/// Packs `row` into `out` (bit `j` of word `j / 64` set where `row[j] == hi`); `false` if an
/// entry is neither `lo` nor `hi`.
#[inline(always)]
fn pack_slice<F: Float>(row: &[F], out: &mut [u64], lo: F, hi: F) -> bool {
    let mut bad = 0u64;
    let chunks = row.chunks_exact(64);
    let (n_chunks, tail) = (chunks.len(), chunks.remainder());
    for (chunk, out) in chunks.zip(out.iter_mut()) {
        let mut w = 0u64;
        let mut b = 0u64;
        for (j, &v) in chunk.iter().enumerate() {
            w |= u64::from(v == hi) << j;
            b |= u64::from(v == lo) << j;
        }
        bad |= !(w | b);
        *out = w;
    }
    if !tail.is_empty() {
        let mut w = 0u64;
        for (j, &v) in tail.iter().enumerate() {
            let up = v == hi;
            bad |= u64::from(!up & (v != lo));
            w |= u64::from(up) << j;
        }
        out[n_chunks] = w;
    }
    bad == 0
}

/// Transposes a 64 × 64 bit matrix in place (word `i` is row `i`, bit `j` column `j`), by
/// swapping ever smaller blocks (32, 16, ..., 1 bits).
fn transpose64(a: &mut [u64; 64]) {
    let mut width = 32;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while width != 0 {
        let mut k = 0;
        while k < 64 {
            // Rows k .. k + width pair with rows k + width .. k + 2 width.
            for i in k..k + width {
                let t = ((a[i] >> width) ^ a[i + width]) & mask;
                a[i] ^= t << width;
                a[i + width] ^= t;
            }
            k += 2 * width;
        }
        width >>= 1;
        mask ^= mask << width;
    }
}

/// Rows of a [`Bits`] matrix.
#[derive(Debug, Clone, Copy)]
pub struct BitsView<'a> {
    rows: usize,
    cols: usize,
    /// One byte per group of four columns, row-major (`rows × ⌈cols/4⌉`).
    nibbles: &'a [u8],
    signed: bool,
}

/// The right factor `B` (`k × n`) of a product: a matrix, or the transpose of one.
#[derive(Debug, Clone, Copy)]
pub enum Right<'a, F> {
    /// `B` itself.
    Plain(ArrayView2<'a, F>),
    /// `B = Mᵀ` for the given `M` (`n × k`).
    Transposed(ArrayView2<'a, F>),
}

impl<F: Float> Right<'_, F> {
    fn dim(&self) -> (usize, usize) {
        match self {
            Right::Plain(b) => b.dim(),
            Right::Transposed(m) => (m.ncols(), m.nrows()),
        }
    }

    /// The rows of the underlying view as slices (checked contiguous by [`add_product`]).
    fn source_rows(&self) -> Vec<&[F]> {
        let m = match self {
            Right::Plain(m) | Right::Transposed(m) => m,
        };
        m.rows().into_iter().map(|r| r.to_slice().expect("contiguous rows")).collect()
    }

    /// A standard-layout copy of the underlying view.
    fn to_standard(self) -> OwnedRight<F> {
        match self {
            Right::Plain(m) => OwnedRight(m.as_standard_layout().into_owned(), false),
            Right::Transposed(m) => OwnedRight(m.as_standard_layout().into_owned(), true),
        }
    }

    /// Whether the rows of the underlying view are contiguous.
    fn rows_contiguous(&self) -> bool {
        let m = match self {
            Right::Plain(m) | Right::Transposed(m) => m,
        };
        m.ncols() <= 1 || m.strides()[1] == 1
    }
}

/// An owned [`Right`] (for views whose rows are not contiguous).
struct OwnedRight<F>(ndarray::Array2<F>, bool);

impl<F> OwnedRight<F> {
    fn right(&self) -> Right<'_, F> {
        if self.1 {
            Right::Transposed(self.0.view())
        } else {
            Right::Plain(self.0.view())
        }
    }
}

thread_local! {
    /// The tables of [`add_product_f32`], kept per thread.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out ← β out + A B` with `A` two-valued (`a`, `m × k`) and `B` (`k × n`), by table
/// look-up; `out` is `m × n`, and is not read when `β = 0` (as in BLAS). Returns `false`,
/// leaving `out` untouched, for `f64` (see the [module docs](self)); never for a type that
/// [`Bits::packed`] packs for.
pub(crate) fn add_product<F: Float>(
    a: BitsView<'_>,
    b: Right<'_, F>,
    beta: F,
    out: ArrayViewMut2<F>,
) -> bool {
    <F as crate::float::sealed::Sealed>::lut_add_product(a, b, beta, out)
}

/// The `f32` kernel behind [`add_product`].
pub(crate) fn add_product_f32(a: BitsView<'_>, b: Right<'_, f32>, beta: f32, mut out: ArrayViewMut2<f32>) {
    let (k, n) = b.dim();
    assert_eq!(a.cols, k, "lut: inner dimensions");
    assert_eq!(out.dim(), (a.rows, n), "lut: output shape");
    if !b.rows_contiguous() {
        let b = b.to_standard();
        return add_product_f32(a, b.right(), beta, out);
    }
    if n > 1 && out.strides()[1] != 1 {
        let mut tmp = out.to_owned();
        add_product_f32(a, b, beta, tmp.view_mut());
        out.assign(&tmp);
        return;
    }
    SCRATCH.with(|t| {
        let tables = &mut *t.borrow_mut();
        // Tables start on a cache line, so that every entry spans whole lines.
        tables.resize(GROUPS * 16 * TILE + 16, 0.0);
        let skip = tables.as_ptr().align_offset(64).min(16);
        let tables = &mut tables[skip..skip + GROUPS * 16 * TILE];
        pulp::Arch::new().dispatch(Kernel { a, b, beta, out: out.view_mut(), tables });
    });
}

/// Rows `4q .. 4q + 4` of `B` (of `k` rows; `src` the rows of `B`, or of `Bᵀ` when
/// `transposed`) restricted to columns `c0 .. c0 + width`, zero beyond `k` and `width`.
#[inline(always)]
fn fetch(
    src: &[&[f32]],
    transposed: bool,
    k: usize,
    q: usize,
    c0: usize,
    width: usize,
    out: &mut [[f32; TILE]; 4],
) {
    let hi = (4 * q + 4).min(k);
    if width < TILE || hi - 4 * q < 4 {
        for row in out.iter_mut() {
            row.fill(0.0);
        }
    }
    if transposed {
        for (t, src) in src[c0..c0 + width].iter().enumerate() {
            if let Some(&[x0, x1, x2, x3]) = src.get(4 * q..4 * q + 4) {
                out[0][t] = x0;
                out[1][t] = x1;
                out[2][t] = x2;
                out[3][t] = x3;
            } else {
                for (b, &x) in src[4 * q..hi].iter().enumerate() {
                    out[b][t] = x;
                }
            }
        }
    } else {
        for (row, src) in out.iter_mut().zip(&src[4 * q..hi]) {
            if width == TILE {
                let src: &[f32; TILE] = src[c0..c0 + TILE].try_into().expect("one tile");
                *row = *src;
            } else {
                row[..width].copy_from_slice(&src[c0..c0 + width]);
            }
        }
    }
}

/// The look-up kernel for one instruction set (`pulp`'s dispatch).
struct Kernel<'a, 'r, 'b> {
    a: BitsView<'a>,
    b: Right<'r, f32>,
    beta: f32,
    out: ArrayViewMut2<'b, f32>,
    tables: &'b mut [f32],
}

impl WithSimd for Kernel<'_, '_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        // A tile is TILE floats whatever the vector width.
        match S::F32_LANES {
            16 => self.run::<S, { TILE / 16 }>(simd),
            8 => self.run::<S, { TILE / 8 }>(simd),
            4 => self.run::<S, { TILE / 4 }>(simd),
            _ => self.run::<S, TILE>(simd),
        }
    }
}

impl Kernel<'_, '_, '_> {
    /// The kernel with `V` vectors of `S` per tile (`V · S::F32_LANES = TILE`).
    #[inline(always)]
    fn run<S: Simd, const V: usize>(self, simd: S) {
        let Kernel { a, b, beta, mut out, tables } = self;
        let nibbles = a.nibbles;
        let _ = &mut out;
        let lanes = S::F32_LANES;
        assert_eq!(V * lanes, TILE, "lut: tile of whole vectors");
        let (k, n) = b.dim();
        let groups = k.div_ceil(4);
        let mut rows = [[0.0f32; TILE]; 4];
        let src = b.source_rows();
        let transposed = matches!(b, Right::Transposed(_));
        let mut out_rows: Vec<&mut [f32]> =
            out.rows_mut().into_iter().map(|r| r.into_slice().expect("contiguous rows")).collect();
        for c0 in (0..n).step_by(TILE) {
            let width = (n - c0).min(TILE);
            for g0 in (0..groups).step_by(GROUPS) {
                let gn = (groups - g0).min(GROUPS);
                for gi in 0..gn {
                    fetch(&src, transposed, k, g0 + gi, c0, width, &mut rows);
                    let (table, _) = S::as_mut_simd_f32s(&mut tables[gi * 16 * TILE..(gi + 1) * 16 * TILE]);
                    build::<S, V>(simd, table, &rows, a.signed);
                }
                let (tables, _) = S::as_simd_f32s(&tables[..gn * 16 * TILE]);
                for (r, row) in out_rows.iter_mut().enumerate() {
                    let seg = &mut row[c0..c0 + width];
                    let nib = &nibbles[r * groups + g0..r * groups + g0 + gn];
                    let mut acc = [simd.splat_f32s(0.0); V];
                    if g0 > 0 || beta != 0.0 {
                        if width == TILE {
                            let (s, _) = S::as_simd_f32s(seg);
                            acc.copy_from_slice(&s[..V]);
                        } else {
                            for (v, acc) in acc.iter_mut().enumerate() {
                                let lo = (v * lanes).min(width);
                                let hi = (lo + lanes).min(width);
                                *acc = simd.partial_load_f32s(&seg[lo..hi]);
                            }
                        }
                        if g0 == 0 && beta != 1.0 {
                            let beta = simd.splat_f32s(beta);
                            for acc in acc.iter_mut() {
                                *acc = simd.mul_f32s(beta, *acc);
                            }
                        }
                    }
                    // Even groups into `acc`, odd ones into `odd` (two independent chains of
                    // additions), then `acc + odd`.
                    let mut odd = [simd.splat_f32s(0.0); V];
                    let mut pairs = tables.chunks_exact(32 * V).zip(nib.chunks_exact(2));
                    for (table, e) in pairs.by_ref() {
                        let (e0, e1) = (e[0] as usize, e[1] as usize + 16);
                        let t0: &[S::f32s; V] = table[e0 * V..(e0 + 1) * V].try_into().expect("one tile");
                        let t1: &[S::f32s; V] = table[e1 * V..(e1 + 1) * V].try_into().expect("one tile");
                        for v in 0..V {
                            acc[v] = simd.add_f32s(acc[v], t0[v]);
                            odd[v] = simd.add_f32s(odd[v], t1[v]);
                        }
                    }
                    if gn % 2 == 1 {
                        let e = nib[gn - 1] as usize + 16 * (gn - 1);
                        let t: &[S::f32s; V] = tables[e * V..(e + 1) * V].try_into().expect("one tile");
                        for v in 0..V {
                            acc[v] = simd.add_f32s(acc[v], t[v]);
                        }
                    }
                    for v in 0..V {
                        acc[v] = simd.add_f32s(acc[v], odd[v]);
                    }
                    if width == TILE {
                        let (s, _) = S::as_mut_simd_f32s(seg);
                        s[..V].copy_from_slice(&acc);
                    } else {
                        for (v, acc) in acc.iter().enumerate() {
                            let lo = (v * lanes).min(width);
                            let hi = (lo + lanes).min(width);
                            simd.partial_store_f32s(&mut seg[lo..hi], *acc);
                        }
                    }
                }
            }
        }
    }
}

/// The 16 entries of one group (`V` vectors each): entry `e` is `Σ_b s_b row_b` with `s_b`
/// the value of bit `b` of `e` (`0`/`1`, or `-1`/`+1` when `signed`), each built from a
/// previous entry by one addition.
#[inline(always)]
fn build<S: Simd, const V: usize>(simd: S, table: &mut [S::f32s], rows: &[[f32; TILE]; 4], signed: bool) {
    let row = |b: usize| -> [S::f32s; V] {
        let (r, _) = S::as_simd_f32s(&rows[b]);
        r.try_into().expect("one tile")
    };
    let r = [row(0), row(1), row(2), row(3)];
    let mut d = r;
    if signed {
        for v in 0..V {
            table[v] = simd
                .neg_f32s(simd.add_f32s(simd.add_f32s(simd.add_f32s(r[0][v], r[1][v]), r[2][v]), r[3][v]));
            for d in d.iter_mut() {
                d[v] = simd.add_f32s(d[v], d[v]);
            }
        }
    } else {
        table[..V].fill(simd.splat_f32s(0.0));
    }
    for e in 1..16usize {
        let prev = e & (e - 1);
        let bit = e.trailing_zeros() as usize;
        for v in 0..V {
            table[e * V + v] = simd.add_f32s(table[prev * V + v], d[bit][v]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn random_two_valued(
        rows: usize,
        cols: usize,
        units: Units,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Array2<f32> {
        Array2::from_shape_fn(
            (rows, cols),
            |_| if rng.random::<bool>() { units.upper() } else { units.lower() },
        )
    }

    /// The look-up product against the plain triple loop in `f64`, for shapes that cut tiles,
    /// table blocks, groups and words everywhere.
    #[test]
    fn look_up_products_equal_plain_sums() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for &(m, k, n) in &[(1, 1, 1), (5, 3, 7), (17, 130, 65), (40, 257, 129), (3, 64, 64)] {
            for units in [Units::Spin, Units::Binary] {
                let a = random_two_valued(m, k, units, &mut rng);
                let b = Array2::from_shape_fn((k, n), |_| rng.random::<f32>() - 0.5);
                let start = Array2::from_shape_fn((m, n), |_| rng.random::<f32>());
                let mut bits = Bits::default();
                assert!(bits.pack(a.view(), units));
                let bt = b.t().as_standard_layout().into_owned();
                for (right, beta) in [
                    (Right::Plain(b.view()), 1.0),
                    (Right::Transposed(bt.view()), 1.0),
                    (Right::Plain(b.view()), 0.5),
                    (Right::Transposed(bt.view()), 0.0),
                ] {
                    // β = 0: the output is not read (NaN in it does not propagate).
                    let mut out = if beta == 0.0 { start.mapv(|_| f32::NAN) } else { start.clone() };
                    assert!(add_product(bits.view(), right, beta, out.view_mut()));
                    for r in 0..m {
                        for c in 0..n {
                            let exact: f64 = f64::from(beta) * f64::from(start[[r, c]])
                                + (0..k).map(|i| f64::from(a[[r, i]]) * f64::from(b[[i, c]])).sum::<f64>();
                            let tol = 1e-6 * (1.0 + k as f64);
                            assert!(
                                (f64::from(out[[r, c]]) - exact).abs() < tol,
                                "{m}x{k}x{n} {units:?} β={beta}"
                            );
                        }
                    }
                }
                // Packing the transpose gives the same bits.
                let at = a.t().as_standard_layout().into_owned();
                let mut bits_t = Bits::default();
                assert!(bits_t.pack_transposed(at.view(), units));
                assert_eq!(bits_t.data, bits.data);
            }
        }
    }

    #[test]
    fn values_other_than_the_two_are_refused() {
        let mut bits = Bits::default();
        let x = ndarray::array![[1.0f32, -1.0], [1.0, 0.5]];
        assert!(!bits.pack(x.view(), Units::Spin));
        assert!(!bits.pack_transposed(x.view(), Units::Spin));
        let y = ndarray::array![[1.0f32, 0.0], [0.0, -1.0]];
        assert!(!bits.pack(y.view(), Units::Binary));
        assert!(bits.pack(y.slice(ndarray::s![..1, ..]), Units::Binary));
        let mut out = Array2::<f64>::zeros((1, 1));
        let b = Array2::<f64>::ones((2, 1));
        assert!(!add_product(bits.view(), Right::Plain(b.view()), 1.0, out.view_mut()));
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use ndarray::linalg::general_mat_mul;
    use ndarray::Array2;
    use std::time::Instant;

    fn best(reps: usize, mut f: impl FnMut()) -> f64 {
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    #[ignore]
    fn time_shapes() {
        for &(m, k, n) in &[(100usize, 1600usize, 400usize), (1600, 200, 400), (100, 400, 1600)] {
            let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
            let a = Array2::from_shape_fn((m, k), |_| {
                if rand::Rng::random::<bool>(&mut rng) {
                    1.0f32
                } else {
                    -1.0
                }
            });
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 31 + j * 17) % 11) as f32 * 0.01);
            let mut out = Array2::<f32>::zeros((m, n));
            let mut bits = Bits::default();
            let reps = 200;
            let g = best(reps, || general_mat_mul(1.0, &a, &b, 1.0, &mut out));
            let p = best(reps, || {
                bits.pack(a.view(), Units::Spin);
            });
            let l = best(reps, || {
                add_product(bits.view(), Right::Plain(b.view()), 1.0, out.view_mut());
            });
            let bt = b.t().as_standard_layout().into_owned();
            let lt = best(reps, || {
                add_product(bits.view(), Right::Transposed(bt.view()), 1.0, out.view_mut());
            });
            let gf = 2.0 * (m * k * n) as f64;
            println!(
                "{m}x{k}x{n}: gemm {:.3} ms ({:.0} GF/s)  pack {:.3} ms  lut {:.3} ms ({:.0} GF/s eq)  lut^T {:.3} ms",
                g * 1e3,
                gf / g * 1e-9,
                p * 1e3,
                l * 1e3,
                gf / l * 1e-9,
                lt * 1e3
            );
        }
    }
}
