//! The exact conditional `p(V | E)` of an RSMI block by a row transfer matrix over the region.
//!
//! # Units and sign convention
//!
//! As in [`super`]: `H = −K Σ_<ij> s_i s_j` (dimensionless `K`), so a region state `s` given the
//! environment has weight `e^{K [B_region(s) + Σ_i f_i s_i]}`, `f_i` the sum of the environment
//! spins bonded to region site `i`.
//!
//! # The algorithm
//!
//! The region is an `S × S` square (`S = b + 2w`) with open internal bonds (the region never wraps
//! around the torus, `S < L`). A row state is `S` bits (bit `x` set ↔ site `x` of the row up). The
//! weight of a row alone is `R_y(s) = e^{K [Σ_x σ_x σ_{x+1} + Σ_x f_{x,y} σ_x]}`, and the bonds
//! between two rows factorise over columns, `Π_x e^{K σ_x σ′_x}`, so the transfer between rows is
//! a product of `S` two-by-two matrices, applied bit by bit (a butterfly, `S · 2^S` operations,
//! not `4^S`).
//!
//! - The `w` free rows above the block are summed from the top into a vector over the states of
//!   the first block row (`top`); the `w` rows below, from the bottom into a vector over the states
//!   of the last block row (`bottom`); both are all ones for `w = 0`.
//! - The `b` block rows carry, per *prefix* (the block spins of the rows done so far, which are
//!   clamped), a vector over the `2w` free buffer spins of the current row. Going down one row,
//!   each prefix's vector is transferred over its buffer columns (butterfly) and multiplied, for
//!   each clamped block row `v`, by the block columns' vertical factor and the new row's weight.
//! - At the last block row, each of the `2^{b²}` prefixes (now a whole block state `V`) is summed
//!   against `bottom`, and `p(V | E)` is normalised.
//!
//! For `b = 3, w = 2` (a 7×7 region, `2^{49}` states) this is about `10⁴` operations per
//! environment. Vectors are rescaled by their largest entry after every row (a factor common to
//! every `V`, removed by the final normalisation), so nothing overflows for `|K| ≤ 4`.

/// Reusable buffers (no allocation once warm).
#[derive(Debug, Default)]
pub(super) struct Scratch {
    row_weight: Vec<f64>,
    exp: Vec<f64>,
    top: Vec<f64>,
    bottom: Vec<f64>,
    prefix: Vec<f64>,
    next: Vec<f64>,
}

/// Geometry of the transfer matrix: block side `b`, buffer width `w`, region side `S = b + 2w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape {
    pub block: usize,
    pub buffer: usize,
}

impl Shape {
    fn side(self) -> usize {
        self.block + 2 * self.buffer
    }

    /// The full row state from the row's block bits `v` and buffer bits `free` (the `w` left
    /// buffer columns in the low bits, then the `w` right ones).
    #[inline]
    fn full(self, v: usize, free: usize) -> usize {
        let (b, w) = (self.block, self.buffer);
        (free & ((1 << w) - 1)) | (v << w) | ((free >> w) << (w + b))
    }
}

/// `R_y(s)` for every row state `s` of row `y` into `out`, from the exponential table `exp`
/// (`exp[n + offset] = e^{K n}`).
fn row_weights(side: usize, fields: &[i32], exp: &[f64], offset: i32, out: &mut Vec<f64>) {
    out.clear();
    let f0: i32 = -fields.iter().sum::<i32>();
    let mask = (1usize << (side - 1)) - 1;
    for s in 0usize..1 << side {
        // Σ_x f_x σ_x, σ_x = 2 bit_x − 1.
        let mut f = f0;
        let mut bits = s;
        while bits != 0 {
            f += 2 * fields[bits.trailing_zeros() as usize];
            bits &= bits - 1;
        }
        let disagree = ((s ^ (s >> 1)) & mask).count_ones() as i32;
        let horizontal = (side as i32 - 1) - 2 * disagree;
        out.push(exp[(horizontal + f + offset) as usize]);
    }
}

/// Apply the vertical transfer over the bits `bits` (an iterator of bit positions) of `v` in
/// place: `v′[s] = e^{K} v[s] + e^{−K} v[s ^ 2^x]` per bit `x`.
fn butterfly(v: &mut [f64], bits: impl Iterator<Item = usize>, same: f64, flip: f64) {
    for x in bits {
        let m = 1usize << x;
        for s in 0..v.len() {
            if s & m == 0 {
                let (a, b) = (v[s], v[s | m]);
                v[s] = same * a + flip * b;
                v[s | m] = flip * a + same * b;
            }
        }
    }
}

fn rescale(v: &mut [f64]) {
    let max = v.iter().fold(0.0f64, |a, &b| a.max(b));
    if max > 0.0 {
        v.iter_mut().for_each(|x| *x /= max);
    }
}

/// What every row needs: the region side, `e^{K n}` as `exp[n + offset]`, and the two entries
/// `e^{±K}` of the one-column vertical transfer.
struct Rows<'a> {
    side: usize,
    exp: &'a [f64],
    offset: i32,
    same: f64,
    flip: f64,
}

impl Rows<'_> {
    /// Sum the free rows `rows` (in the order given, each a row of `fields`), then transfer into
    /// the next row: the result is a vector over the full states of the row after the last of
    /// `rows`. All ones for no rows.
    fn free(&self, rows: impl Iterator<Item = usize>, fields: &[i32], out: &mut Vec<f64>, rw: &mut Vec<f64>) {
        let side = self.side;
        out.clear();
        out.resize(1 << side, 1.0);
        let mut any = false;
        for y in rows {
            if any {
                butterfly(out, 0..side, self.same, self.flip);
            }
            any = true;
            row_weights(side, &fields[y * side..(y + 1) * side], self.exp, self.offset, rw);
            out.iter_mut().zip(rw.iter()).for_each(|(o, r)| *o *= r);
            rescale(out);
        }
        if any {
            butterfly(out, 0..side, self.same, self.flip);
            rescale(out);
        }
    }
}

/// `p(V | E)` over the `2^{b²}` block states into `out`, at coupling `k` (`|k| ≤ 4`), for the
/// environment fields `fields` (`S²` values, region row-major).
pub(super) fn conditional(shape: Shape, k: f64, fields: &[i32], out: &mut [f64], sc: &mut Scratch) {
    let (b, w, side) = (shape.block, shape.buffer, shape.side());
    debug_assert_eq!(fields.len(), side * side);
    debug_assert_eq!(out.len(), 1 << (b * b));
    // e^{K n} for every integer exponent a row can reach: |n| ≤ (S − 1) + Σ_x |f_x|.
    let reach = (side as i32 - 1)
        + fields.chunks(side).map(|r| r.iter().map(|f| f.abs()).sum::<i32>()).max().unwrap_or(0);
    sc.exp.clear();
    sc.exp.extend((-reach..=reach).map(|n| (k * n as f64).exp()));
    let (same, flip) = (k.exp(), (-k).exp());
    let rows = Rows { side, exp: &sc.exp, offset: reach, same, flip };
    rows.free(0..w, fields, &mut sc.top, &mut sc.row_weight);
    rows.free((w + b..side).rev(), fields, &mut sc.bottom, &mut sc.row_weight);
    let nfree = 1usize << (2 * w);
    let nv = 1usize << b;
    // First block row: prefix = that row's block bits.
    row_weights(side, &fields[w * side..(w + 1) * side], &sc.exp, reach, &mut sc.row_weight);
    sc.prefix.clear();
    for v in 0..nv {
        for free in 0..nfree {
            let s = shape.full(v, free);
            sc.prefix.push(sc.top[s] * sc.row_weight[s]);
        }
    }
    rescale(&mut sc.prefix);
    // Vertical factor of the block columns between block rows that differ in `d` columns.
    let mut block_vertical = [0.0f64; 64];
    for (d, x) in block_vertical.iter_mut().enumerate().take(b + 1) {
        *x = (k * (b as f64 - 2.0 * d as f64)).exp();
    }
    for row in 1..b {
        let y = w + row;
        row_weights(side, &fields[y * side..(y + 1) * side], &sc.exp, reach, &mut sc.row_weight);
        let prefixes = 1usize << (b * row);
        // Transfer each prefix's vector over the free columns (the free bits of a row state
        // are not contiguous: do it in the compact free-bit index, bit j of `free`).
        for p in 0..prefixes {
            let chunk = &mut sc.prefix[p * nfree..(p + 1) * nfree];
            butterfly(chunk, 0..2 * w, same, flip);
        }
        sc.next.clear();
        sc.next.resize(prefixes * nv * nfree, 0.0);
        for v in 0..nv {
            for p in 0..prefixes {
                let last = p >> (b * (row - 1));
                let c = block_vertical[(last ^ v).count_ones() as usize];
                let src = &sc.prefix[p * nfree..(p + 1) * nfree];
                let dst = &mut sc.next[(v * prefixes + p) * nfree..(v * prefixes + p + 1) * nfree];
                for (free, (d, &x)) in dst.iter_mut().zip(src).enumerate() {
                    *d = c * x * sc.row_weight[shape.full(v, free)];
                }
            }
        }
        rescale(&mut sc.next);
        std::mem::swap(&mut sc.prefix, &mut sc.next);
    }
    let last_shift = b * (b - 1);
    for (state, o) in out.iter_mut().enumerate() {
        let last = state >> last_shift;
        let src = &sc.prefix[state * nfree..(state + 1) * nfree];
        *o = src.iter().enumerate().map(|(free, &x)| x * sc.bottom[shape.full(last, free)]).sum();
    }
    let z: f64 = out.iter().sum();
    out.iter_mut().for_each(|o| *o /= z);
}
