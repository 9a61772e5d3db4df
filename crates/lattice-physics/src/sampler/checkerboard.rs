//! The checkerboard sweep shared by the single-site samplers (Metropolis, heat bath).
//!
//! Order: colour 0 (`x + y` even), then colour 1, each colour row by row, left to right. Every
//! update reads the current values of its neighbours (so odd sizes, where the colouring is not
//! bipartite across the seam, are still a valid sequence of single-site updates; see the
//! module documentation of [`crate::sampler`]).
//!
//! Randomness: one `u32` per site, drawn in bulk for each row of one colour with
//! [`Rng::fill`] (two `u32` per 64-bit output of the generator). The number of draws per sweep
//! depends only on the lattice, so a fixed seed gives a fixed trajectory.

use rand::Rng;

use crate::lattice::{Lattice, LatticeKind};

/// A single-site rule: the new value of a spin `s` whose neighbours sum to `n`, given one
/// uniform 32-bit random number `r`.
pub(crate) trait LocalRule {
    fn update(&self, s: i8, n: i8, r: u32) -> i8;
}

/// Number of sites of colour `x0` parity in a row of length `l`: `x0, x0 + 2, ... < l`.
#[inline]
fn colour_count(l: usize, x0: usize) -> usize {
    (l - x0).div_ceil(2)
}

/// One checkerboard sweep of `s` (row-major on `lattice`). `buf` is scratch space for random
/// numbers, grown once to the row length.
pub(crate) fn sweep<U: LocalRule, R: Rng + ?Sized>(
    lattice: Lattice,
    s: &mut [i8],
    rule: &U,
    buf: &mut Vec<u32>,
    rng: &mut R,
) {
    let l = lattice.linear_size();
    let half = l.div_ceil(2);
    if buf.len() < half {
        buf.resize(half, 0);
    }
    match lattice.kind() {
        LatticeKind::Ring { .. } => {
            for x0 in 0..2 {
                let rnd = &mut buf[..colour_count(l, x0)];
                rng.fill(rnd);
                ring_row(s, x0, rnd, rule);
            }
        }
        LatticeKind::Square { .. } => {
            for colour in 0..2 {
                for y in 0..l {
                    let x0 = (y + colour) & 1;
                    let rnd = &mut buf[..colour_count(l, x0)];
                    rng.fill(rnd);
                    let (before, rest) = s.split_at_mut(y * l);
                    let (cur, after) = rest.split_at_mut(l);
                    let up: &[i8] = if y == 0 { &after[after.len() - l..] } else { &before[(y - 1) * l..] };
                    let down: &[i8] = if y + 1 == l { &before[..l] } else { &after[..l] };
                    square_row(cur, &up[..l], &down[..l], x0, rnd, rule);
                }
            }
        }
    }
}

/// Update the sites `x0, x0 + 2, ...` of a periodic chain.
#[inline]
fn ring_row<U: LocalRule>(cur: &mut [i8], x0: usize, rnd: &[u32], rule: &U) {
    let l = cur.len();
    let mut j = 0;
    let mut x = x0;
    if x == 0 {
        let n = cur[l - 1] + cur[1];
        cur[0] = rule.update(cur[0], n, rnd[0]);
        j = 1;
        x = 2;
    }
    while x + 1 < l {
        let n = cur[x - 1] + cur[x + 1];
        cur[x] = rule.update(cur[x], n, rnd[j]);
        j += 1;
        x += 2;
    }
    if x + 1 == l {
        let n = cur[x - 1] + cur[0];
        cur[x] = rule.update(cur[x], n, rnd[j]);
    }
}

/// Update the sites `x0, x0 + 2, ...` of one row of the torus, given the rows above and below.
#[inline]
fn square_row<U: LocalRule>(cur: &mut [i8], up: &[i8], down: &[i8], x0: usize, rnd: &[u32], rule: &U) {
    let l = cur.len();
    let mut j = 0;
    let mut x = x0;
    if x == 0 {
        let n = cur[l - 1] + cur[1] + up[0] + down[0];
        cur[0] = rule.update(cur[0], n, rnd[0]);
        j = 1;
        x = 2;
    }
    while x + 1 < l {
        let n = cur[x - 1] + cur[x + 1] + up[x] + down[x];
        cur[x] = rule.update(cur[x], n, rnd[j]);
        j += 1;
        x += 2;
    }
    if x + 1 == l {
        let n = cur[x - 1] + cur[0] + up[x] + down[x];
        cur[x] = rule.update(cur[x], n, rnd[j]);
    }
}
