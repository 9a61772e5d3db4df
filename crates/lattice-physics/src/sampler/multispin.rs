//! Multi-spin-coded checkerboard sweep: 64 spins of one colour per `u64`, exact acceptance.
//!
//! Any single-site rule that flips a spin `s` with neighbour sum `n` with a probability given by
//! a 32-bit threshold `t(s, n)` can run here. Used by [`super::Metropolis`] and
//! [`super::HeatBath`] on even lattices (ring with even `n`, torus with even `L`), where
//! the two checkerboard colours are independent sets. Each row of the lattice is split by colour
//! into two bit arrays of `L/2` bits (bit set = spin `+1`); site `x = 2q + a` of row `y`, with
//! `a = (y + c) mod 2`, is bit `q` of colour `c`. Its four neighbours are all of the other colour:
//! bit `q` of the rows above and below, bit `q` of the same row, and bit `q - 1` (if `a = 0`) or
//! `q + 1` (if `a = 1`) of the same row, cyclically.
//!
//! Per word of 64 sites: the number `u` of anti-aligned neighbours is added up bit-sliced
//! (a 3-bit counter), which with the spin gives each site's class `(u, s)`, that is its neighbour
//! sum `n = s(z - 2u)` (`z` = 4, or 2 on the ring). Classes flipped with probability 1 flip at
//! once. For the others the sampler compares, for all 64 sites at once, a fresh uniform 32-bit
//! random number per site against the class's 32-bit threshold (the *same* integer thresholds as
//! the scalar path, e.g. [`super::Metropolis::flip_probability`]): bit planes of random numbers are
//! drawn most significant first, one `u64` per plane, and a site is decided at the first plane
//! where its random bit differs from its threshold bit. The loop stops when every site is
//! decided (about 7 planes for 64 undecided sites), or after 32 planes, when the sites still
//! undecided have a random number equal to their threshold and are rejected. So the acceptance
//! probability is exactly `t / 2^32`, as in the scalar path, at about 7 random `u64` per 64 sites
//! instead of 32.
//!
//! The spins are packed into this layout at the start of every sweep and unpacked at the end.
//! Random words come from the injected generator in blocks of 64 (the unused rest of the last
//! block of a sweep is discarded), so a fixed seed gives a fixed trajectory.

use rand::Rng;

use crate::lattice::{Lattice, LatticeKind};

/// Number of spin classes `(u, s)`: `u ∈ 0..=4` anti-aligned neighbours, spin `s = ±1`.
const CLASSES: usize = 10;

/// A set of classes, as a selector per `u`: `(mask applied to s = -1 sites, mask for s = +1
/// sites)`, each all zeros or all ones.
type Selector = [(u64, u64); 5];

/// The sites of the classes in `sel`, given the per-`u` masks and the spin word.
#[inline(always)]
fn select(sel: &Selector, by_u: &[u64; 5], spin: u64) -> u64 {
    let mut m = 0;
    for (b, (minus, plus)) in by_u.iter().zip(sel) {
        m |= b & ((!spin & minus) | (spin & plus));
    }
    m
}

/// Sites with one probabilistic threshold: the classes sharing it, and the threshold's bits as
/// all-zeros or all-ones words, indexed by bit position.
#[derive(Debug, Clone)]
struct Group {
    threshold: u32,
    classes: Selector,
    bits: [u64; 32],
}

/// `SPREAD[b]` has byte `2i` equal to `0xFE` where bit `i` of the nibble `b` is set.
const SPREAD: [u64; 16] = {
    let mut t = [0u64; 16];
    let mut b = 0;
    while b < 16 {
        let mut i = 0;
        while i < 4 {
            if (b >> i) & 1 == 1 {
                t[b] |= 0xFE << (16 * i);
            }
            i += 1;
        }
        b += 1;
    }
    t
};

/// The low bits of the four 16-bit lanes of `x` (all other bits zero) as a nibble.
#[inline(always)]
fn gather(x: u64) -> u64 {
    (x | x >> 15 | x >> 30 | x >> 45) & 0xF
}

/// Eight `±1` bytes (four site pairs) to the nibbles of their even and odd sites (bit = `+1`).
#[inline(always)]
fn pack8(v: u64) -> (u64, u64) {
    // Bit 1 of a byte is clear for +1 (0x01) and set for -1 (0xFF).
    let plus = !(v >> 1) & 0x0101_0101_0101_0101;
    let even = plus & 0x00FF_00FF_00FF_00FF;
    let odd = (plus >> 8) & 0x00FF_00FF_00FF_00FF;
    (gather(even), gather(odd))
}

/// `INTERLEAVE[e | o << 4]` is eight `±1` bytes: even bytes from the nibble `e`, odd from `o`.
static INTERLEAVE: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = !0 ^ (SPREAD[i & 0xF] | (SPREAD[i >> 4] << 8));
        i += 1;
    }
    t
};

/// Inverse of [`pack8`]: eight `±1` bytes from the even-site and odd-site nibbles.
#[inline(always)]
fn unpack8(even: u64, odd: u64) -> u64 {
    INTERLEAVE[(even | (odd << 4)) as usize & 0xFF]
}

/// Packed state and precomputed classes of the multi-spin-coded sweep.
#[derive(Debug, Clone)]
pub(crate) struct MultiSpin {
    /// Row length (`L`, or `n` on the ring) and number of rows (`L`, or 1).
    len: usize,
    rows: usize,
    /// Words per row and colour, and the mask of valid bits in the last word.
    words: usize,
    last_mask: u64,
    /// `true` on the square lattice (up and down neighbours exist).
    square: bool,
    /// Bit arrays of colour 0 and colour 1, `rows × words` each.
    colour: [Vec<u64>; 2],
    /// The shifted neighbour row, scratch.
    shifted: Vec<u64>,
    /// Classes flipped with probability 1.
    always: Selector,
    /// Probabilistic classes grouped by threshold (at most `CLASSES` groups).
    groups: Vec<Group>,
    /// The common case of a ferromagnet (or Metropolis on the ring) at zero field: sites with
    /// `u ≥ 2` anti-aligned neighbours always flip, and `u = 0`, `u = 1` are the only two
    /// probabilistic classes, whatever the spin; then the indices of their groups.
    ferro: Option<[usize; 2]>,
    /// Random words drawn in bulk.
    pool: Pool,
    /// The configuration as last unpacked: if the next sweep is handed the same spins, the
    /// packed arrays are still valid and packing is skipped.
    mirror: Vec<i8>,
}

/// Random 64-bit words drawn from the generator in blocks (so its state stays in registers
/// while it runs) and consumed in order. Before each word of 64 sites the pool is topped up so
/// that at least 64 words (the most one comparison of two words can use) are available: the unused words are
/// moved to the front and the rest refilled, so no random word is skipped within a sweep.
/// Emptied at the start of every sweep, so a sweep's result depends only on the spins and the
/// generator's state.
#[derive(Debug, Clone)]
struct Pool {
    words: Vec<u64>,
    next: usize,
}

impl Pool {
    const SIZE: usize = 192;
    const RESERVE: usize = 64;

    fn new() -> Self {
        Pool { words: vec![0; Self::SIZE], next: Self::SIZE }
    }

    fn clear(&mut self) {
        self.next = self.words.len();
    }

    /// At least [`Self::RESERVE`] unused words, in order.
    #[inline(always)]
    fn reserve<R: Rng + ?Sized>(&mut self, rng: &mut R) -> &[u64] {
        let len = self.words.len();
        if len - self.next < Self::RESERVE {
            let kept = len - self.next;
            self.words.copy_within(self.next.., 0);
            rng.fill(&mut self.words[kept..]);
            self.next = 0;
        }
        &self.words[self.next..]
    }

    /// Mark `used` words of the last [`Self::reserve`] as consumed.
    #[inline(always)]
    fn consume(&mut self, used: usize) {
        self.next += used;
    }
}

impl MultiSpin {
    /// Build for an even `lattice`; `threshold(s, n)` is the probability, as a threshold in
    /// `[0, 2^32]`, that a spin `s` with neighbour sum `n` flips. Returns `None` for odd sizes.
    pub(crate) fn new(lattice: Lattice, threshold: impl Fn(i8, i8) -> u64) -> Option<Self> {
        let len = lattice.linear_size();
        if len % 2 != 0 {
            return None;
        }
        let (rows, square, z) = match lattice.kind() {
            LatticeKind::Ring { .. } => (1, false, 2i8),
            LatticeKind::Square { l } => (l, true, 4i8),
        };
        let half = len / 2;
        let words = half.div_ceil(64);
        let tail = half - 64 * (words - 1);
        let last_mask = if tail == 64 { !0 } else { (1u64 << tail) - 1 };
        let mut always: Selector = [(0, 0); 5];
        let mut groups: Vec<Group> = Vec::with_capacity(CLASSES);
        let add = |sel: &mut Selector, u: usize, side: usize| {
            if side == 1 {
                sel[u].1 = !0;
            } else {
                sel[u].0 = !0;
            }
        };
        for u in 0..=(z as usize) {
            for side in 0..2 {
                let s: i8 = if side == 1 { 1 } else { -1 };
                let n = s * (z - 2 * u as i8);
                let t = threshold(s, n);
                if t >= 1 << 32 {
                    add(&mut always, u, side);
                } else if t > 0 {
                    let t = t as u32;
                    let index = match groups.iter().position(|g| g.threshold == t) {
                        Some(i) => i,
                        None => {
                            let bits = std::array::from_fn(|b| 0u64.wrapping_sub(u64::from((t >> b) & 1)));
                            groups.push(Group { threshold: t, classes: [(0, 0); 5], bits });
                            groups.len() - 1
                        }
                    };
                    add(&mut groups[index].classes, u, side);
                }
            }
        }
        let both = |sel: &Selector, u: usize| sel[u] == (!0, !0);
        let none = |sel: &Selector, u: usize| sel[u] == (0, 0);
        let z = z as usize;
        let only =
            |sel: &Selector, u: usize| both(sel, u) && (0..=z).filter(|&v| v != u).all(|v| none(sel, v));
        let ferro = if groups.len() == 2
            && (0..=z).all(|u| if u >= 2 { both(&always, u) } else { none(&always, u) })
        {
            let find = |u: usize| groups.iter().position(|g| only(&g.classes, u));
            find(0).zip(find(1)).map(|(a, b)| [a, b])
        } else {
            None
        };
        Some(MultiSpin {
            len,
            rows,
            words,
            last_mask,
            square,
            colour: [vec![0; rows * words], vec![0; rows * words]],
            shifted: vec![0; words],
            always,
            groups,
            ferro,
            pool: Pool::new(),
            mirror: Vec::with_capacity(lattice.num_sites()),
        })
    }

    /// One full checkerboard sweep of `s` (row-major, length `rows × len`).
    pub(crate) fn sweep<R: Rng + ?Sized>(&mut self, s: &mut [i8], rng: &mut R) {
        if self.mirror.as_slice() != &*s {
            self.pack(s);
        }
        self.pool.clear();
        for c in 0..2 {
            for y in 0..self.rows {
                self.update_row(c, y, rng);
            }
        }
        self.unpack(s);
        self.mirror.clear();
        self.mirror.extend_from_slice(s);
    }

    /// Pack row-major `±1` spins into the two colour bit arrays, eight sites at a time.
    fn pack(&mut self, s: &[i8]) {
        let (len, words) = (self.len, self.words);
        let [c0, c1] = &mut self.colour;
        for (y, row) in s.chunks_exact(len).enumerate() {
            // Sites at even x have colour y mod 2.
            let (even, odd) = if y % 2 == 0 { (&mut *c0, &mut *c1) } else { (&mut *c1, &mut *c0) };
            let even = &mut even[y * words..(y + 1) * words];
            let odd = &mut odd[y * words..(y + 1) * words];
            for ((block, e_word), o_word) in row.chunks(128).zip(even).zip(odd) {
                let (mut e, mut o) = (0u64, 0u64);
                let chunks = block.chunks_exact(8);
                let tail = chunks.remainder();
                let base = 4 * (block.len() / 8);
                for (k, chunk) in chunks.enumerate() {
                    let (ke, ko) = pack8(u64::from_le_bytes(std::array::from_fn(|i| chunk[i] as u8)));
                    e |= ke << (4 * k);
                    o |= ko << (4 * k);
                }
                for (j, pair) in tail.chunks_exact(2).enumerate() {
                    e |= u64::from(pair[0] > 0) << (base + j);
                    o |= u64::from(pair[1] > 0) << (base + j);
                }
                *e_word = e;
                *o_word = o;
            }
        }
    }

    /// Unpack the colour bit arrays into row-major `±1` spins, eight sites at a time.
    fn unpack(&self, s: &mut [i8]) {
        let (len, words) = (self.len, self.words);
        for (y, row) in s.chunks_exact_mut(len).enumerate() {
            let (even, odd) = if y % 2 == 0 { (0, 1) } else { (1, 0) };
            let even = &self.colour[even][y * words..(y + 1) * words];
            let odd = &self.colour[odd][y * words..(y + 1) * words];
            for ((block, &e), &o) in row.chunks_mut(128).zip(even).zip(odd) {
                let base = 4 * (block.len() / 8);
                let mut chunks = block.chunks_exact_mut(8);
                for (k, chunk) in (&mut chunks).enumerate() {
                    let bytes = unpack8((e >> (4 * k)) & 0xF, (o >> (4 * k)) & 0xF).to_le_bytes();
                    for (site, byte) in chunk.iter_mut().zip(bytes) {
                        *site = byte as i8;
                    }
                }
                for (j, pair) in chunks.into_remainder().chunks_exact_mut(2).enumerate() {
                    pair[0] = ((e >> (base + j)) & 1) as i8 * 2 - 1;
                    pair[1] = ((o >> (base + j)) & 1) as i8 * 2 - 1;
                }
            }
        }
    }

    /// Update of the sites of colour `c` in row `y`.
    fn update_row<R: Rng + ?Sized>(&mut self, c: usize, y: usize, rng: &mut R) {
        let words = self.words;
        let rows = self.rows;
        let [c0, c1] = &mut self.colour;
        let (target, source) = if c == 0 { (c0, &*c1) } else { (c1, &*c0) };
        let same = &source[y * words..(y + 1) * words];
        // Fill `shifted` with the left (a = 0) or right (a = 1) neighbours' bits.
        let a = (y + c) % 2;
        let last = words - 1;
        let tail_bits = 64 - self.last_mask.leading_zeros();
        if a == 0 {
            // bit q <- bit q - 1, cyclically over the row's valid bits.
            let top = (same[last] >> (tail_bits - 1)) & 1;
            self.shifted[0] = (same[0] << 1) | top;
            for w in 1..words {
                self.shifted[w] = (same[w] << 1) | (same[w - 1] >> 63);
            }
        } else {
            // bit q <- bit q + 1, cyclically.
            for w in 0..last {
                self.shifted[w] = (same[w] >> 1) | (same[w + 1] << 63);
            }
            self.shifted[last] = (same[last] >> 1) | ((same[0] & 1) << (tail_bits - 1));
        }
        let (up, down) = if self.square {
            let yu = if y == 0 { rows - 1 } else { y - 1 };
            let yd = if y + 1 == rows { 0 } else { y + 1 };
            (Some(&source[yu * words..(yu + 1) * words]), Some(&source[yd * words..(yd + 1) * words]))
        } else {
            (None, None)
        };
        let row = &mut target[y * words..(y + 1) * words];
        let neighbours = Neighbours { same, shifted: &self.shifted, up, down, last_mask: self.last_mask };
        if let Some([zero, one]) = self.ferro {
            let bits = [&self.groups[zero].bits, &self.groups[one].bits];
            let classify =
                |u0: u64, u1: u64, u2: u64, _spin: u64| (u1 | u2, [!(u0 | u1 | u2), u0 & !u1 & !u2]);
            update_words(row, &neighbours, classify, bits, &mut self.pool, rng);
            return;
        }
        macro_rules! dispatch {
            ($($g:literal)*) => {
                match self.groups.len() {
                    $($g => update_words_general::<$g, R>(row, &neighbours, &self.always, &self.groups, &mut self.pool, rng),)*
                    _ => unreachable!("at most {CLASSES} threshold groups"),
                }
            };
        }
        dispatch!(0 1 2 3 4 5 6 7 8 9 10);
    }
}

/// [`update_words`] for any set of classes, with exactly `G` threshold groups.
#[inline(always)]
fn update_words_general<const G: usize, R: Rng + ?Sized>(
    row: &mut [u64],
    nb: &Neighbours<'_>,
    always: &Selector,
    groups: &[Group],
    pool: &mut Pool,
    rng: &mut R,
) {
    let selectors: [Selector; G] = std::array::from_fn(|g| groups[g].classes);
    let threshold_bits: [&[u64; 32]; G] = std::array::from_fn(|g| &groups[g].bits);
    // At zero field the classes do not depend on the spin, only on u.
    let spin_blind = std::iter::once(always)
        .chain(selectors.iter())
        .all(|sel| sel.iter().all(|(minus, plus)| minus == plus));
    let classify = |u0: u64, u1: u64, u2: u64, spin: u64| {
        let by_u = [!(u0 | u1 | u2), u0 & !u1 & !u2, !u0 & u1, u0 & u1, u2];
        let pick =
            |sel: &Selector| if spin_blind { select_blind(sel, &by_u) } else { select(sel, &by_u, spin) };
        let mut masks = [0u64; G];
        for (m, sel) in masks.iter_mut().zip(&selectors) {
            *m = pick(sel);
        }
        (pick(always), masks)
    };
    update_words(row, nb, classify, threshold_bits, pool, rng);
}

/// The neighbour bit arrays of one row of one colour.
struct Neighbours<'a> {
    same: &'a [u64],
    shifted: &'a [u64],
    up: Option<&'a [u64]>,
    down: Option<&'a [u64]>,
    last_mask: u64,
}

/// Update of one row of one colour (`row`). `classify(u0, u1, u2, spin)` turns the bit-sliced
/// count `u` of anti-aligned neighbours and the spins into the sites that always flip and the
/// sites of each of the `G` threshold groups, whose threshold bits are `threshold_bits`.
#[inline(always)]
fn update_words<const G: usize, R, C>(
    row: &mut [u64],
    nb: &Neighbours<'_>,
    classify: C,
    threshold_bits: [&[u64; 32]; G],
    pool: &mut Pool,
    rng: &mut R,
) where
    R: Rng + ?Sized,
    C: Fn(u64, u64, u64, u64) -> (u64, [u64; G]),
{
    let last = row.len() - 1;
    // The sites of word `w` that always flip, and those of each threshold group.
    let classes = |w: usize, spin: u64| {
        let valid = if w == last { nb.last_mask } else { !0 };
        let x1 = nb.up.map_or(0, |r| spin ^ r[w]);
        let x2 = nb.down.map_or(0, |r| spin ^ r[w]);
        let x3 = spin ^ nb.same[w];
        let x4 = spin ^ nb.shifted[w];
        // u = x1 + x2 + x3 + x4, bit-sliced (u0 + 2 u1 + 4 u2).
        let (p, c1) = (x1 ^ x2, x1 & x2);
        let (q, c2) = (x3 ^ x4, x3 & x4);
        let u0 = p ^ q;
        let c3 = p & q;
        let u1 = c1 ^ c2 ^ c3;
        let u2 = c1 & c2;
        let (always, mut masks) = classify(u0, u1, u2, spin);
        let mut undecided = 0u64;
        for m in masks.iter_mut() {
            *m &= valid;
            undecided |= *m;
        }
        (always & valid, masks, undecided)
    };
    let threshold = |masks: &[u64; G], bit: usize| {
        let mut t = 0u64;
        for (m, bits) in masks.iter().zip(&threshold_bits) {
            t |= m & bits[bit];
        }
        t
    };
    // Words two at a time, so that the two bit-plane comparisons run interleaved (independent
    // dependency chains, one loop exit per pair); random words alternate between the two.
    let mut pairs = row.chunks_exact_mut(2);
    for (k, pair) in (&mut pairs).enumerate() {
        let (s0, s1) = (pair[0], pair[1]);
        let (a0, m0, mut und0) = classes(2 * k, s0);
        let (a1, m1, mut und1) = classes(2 * k + 1, s1);
        let (mut less0, mut less1) = (0u64, 0u64);
        let mut bit = 32;
        let random = pool.reserve(rng);
        let random = &random[..Pool::RESERVE];
        let mut used = 0;
        while (und0 | und1) != 0 && bit > 0 {
            bit -= 1;
            let (r0, r1) = (random[used], random[used + 1]);
            used += 2;
            let (t0, t1) = (threshold(&m0, bit), threshold(&m1, bit));
            less0 |= und0 & !r0 & t0;
            und0 &= !(r0 ^ t0);
            less1 |= und1 & !r1 & t1;
            und1 &= !(r1 ^ t1);
        }
        pool.consume(used);
        pair[0] = s0 ^ (a0 | less0);
        pair[1] = s1 ^ (a1 | less1);
    }
    if let [word] = pairs.into_remainder() {
        let spin = *word;
        let (always, masks, mut undecided) = classes(last, spin);
        let mut less = 0u64;
        let mut bit = 32;
        let random = pool.reserve(rng);
        let random = &random[..Pool::RESERVE];
        let mut used = 0;
        while undecided != 0 && bit > 0 {
            bit -= 1;
            let r = random[used];
            used += 1;
            let t = threshold(&masks, bit);
            less |= undecided & !r & t;
            undecided &= !(r ^ t);
        }
        pool.consume(used);
        *word = spin ^ (always | less);
    }
}

/// [`select`] for selectors that do not depend on the spin.
#[inline(always)]
fn select_blind(sel: &Selector, by_u: &[u64; 5]) -> u64 {
    let mut m = 0;
    for (b, (minus, _)) in by_u.iter().zip(sel) {
        m |= b & minus;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack8_and_unpack8_are_inverse() {
        for bits in 0..256u64 {
            let bytes: Vec<i8> = (0..8).map(|i| if bits >> i & 1 == 1 { 1 } else { -1 }).collect();
            let v = u64::from_le_bytes(std::array::from_fn(|i| bytes[i] as u8));
            let (e, o) = pack8(v);
            let want_e = (0..4).map(|i| (bits >> (2 * i) & 1) << i).sum::<u64>();
            let want_o = (0..4).map(|i| (bits >> (2 * i + 1) & 1) << i).sum::<u64>();
            assert_eq!((e, o), (want_e, want_o), "bits {bits:08b}");
            assert_eq!(unpack8(e, o), v);
        }
    }

    #[test]
    fn pack_then_unpack_is_identity_on_every_size() {
        use rand::SeedableRng;
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        for lattice in [
            Lattice::ring(2).unwrap(),
            Lattice::ring(130).unwrap(),
            Lattice::square(2).unwrap(),
            Lattice::square(22).unwrap(),
            Lattice::square(130).unwrap(),
            Lattice::square(256).unwrap(),
        ] {
            let mut ms = MultiSpin::new(lattice, |_, _| 1 << 31).unwrap();
            let s: Vec<i8> =
                (0..lattice.num_sites()).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
            ms.pack(&s);
            let mut back = vec![0i8; s.len()];
            ms.unpack(&mut back);
            assert_eq!(back, s, "{lattice:?}");
        }
    }
}
