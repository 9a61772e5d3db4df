//! Workspace-level tests live in `tests/tests/`; this library holds helpers they share.
//!
//! [`fuzz`]: deterministic mutations of valid files for the loader fuzz tests (stable Rust,
//! no fuzzing engine): truncations, bit flips, byte overwrites, insertions and deletions, and
//! edits of the decimal numbers and identifiers inside a text header (shape, dtype, lengths).
//! Any loader (`.npy`, sidecars, models, checkpoints) can be driven with [`fuzz::Mutator`].

/// Deterministic mutations of valid inputs for the loader fuzz tests.
pub mod fuzz {
    /// SplitMix64: a tiny, fixed, seedable generator, so the mutations never depend on a crate.
    #[derive(Debug, Clone)]
    pub struct SplitMix(u64);

    impl SplitMix {
        /// A generator from `seed`.
        pub fn new(seed: u64) -> Self {
            SplitMix(seed)
        }

        /// The next 64 random bits.
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in `0..n` (`n > 0`).
        pub fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Numbers worth lying with: zero, one, powers of two and their neighbours, and the limits
    /// of the integer types a header may be parsed into.
    pub const INTERESTING: &[u64] = &[
        0,
        1,
        2,
        7,
        255,
        256,
        65_535,
        65_536,
        1 << 31,
        u32::MAX as u64,
        1 << 32,
        1_000_000_000_000,
        i64::MAX as u64,
        u64::MAX,
    ];

    /// Produces mutants of one valid input.
    #[derive(Debug, Clone)]
    pub struct Mutator {
        rng: SplitMix,
        /// Identifiers to swap into text (e.g. dtype names such as `<f8`, `|b1`, `<c16`).
        pub words: Vec<Vec<u8>>,
    }

    impl Mutator {
        /// A mutator with a fixed seed and words to substitute into text.
        pub fn new(seed: u64, words: &[&str]) -> Self {
            Mutator { rng: SplitMix::new(seed), words: words.iter().map(|w| w.as_bytes().to_vec()).collect() }
        }

        /// The generator, for callers that add their own mutations.
        pub fn rng(&mut self) -> &mut SplitMix {
            &mut self.rng
        }

        /// One mutant of `valid`, built by one to three random mutations.
        pub fn mutate(&mut self, valid: &[u8]) -> Vec<u8> {
            let mut v = valid.to_vec();
            let rounds = 1 + self.rng.below(3);
            for _ in 0..rounds {
                self.once(&mut v);
            }
            v
        }

        fn once(&mut self, v: &mut Vec<u8>) {
            let r = &mut self.rng;
            match r.below(8) {
                0 => {
                    let keep = r.below(v.len() + 1);
                    v.truncate(keep);
                }
                1 if !v.is_empty() => {
                    let i = r.below(v.len());
                    v[i] ^= 1 << r.below(8);
                }
                2 if !v.is_empty() => {
                    let i = r.below(v.len());
                    v[i] = r.next_u64() as u8;
                }
                3 => {
                    let i = r.below(v.len() + 1);
                    let n = 1 + r.below(16);
                    let bytes: Vec<u8> = (0..n).map(|_| r.next_u64() as u8).collect();
                    v.splice(i..i, bytes);
                }
                4 if !v.is_empty() => {
                    let i = r.below(v.len());
                    let j = (i + 1 + r.below(16)).min(v.len());
                    v.drain(i..j);
                }
                5 | 6 => replace_number(v, r),
                7 if !self.words.is_empty() => {
                    let w = self.words[r.below(self.words.len())].clone();
                    replace_word(v, &w, r);
                }
                _ => {
                    // Overwrite a little-endian length field near the start (offsets 6..12).
                    if v.len() >= 12 {
                        let at = 6 + r.below(5);
                        let x = INTERESTING[r.below(INTERESTING.len())].to_le_bytes();
                        let n = (v.len() - at).min(1 + r.below(4));
                        v[at..at + n].copy_from_slice(&x[..n]);
                    }
                }
            }
        }
    }

    /// Replace one run of ASCII digits by an interesting number (or a random one).
    fn replace_number(v: &mut Vec<u8>, r: &mut SplitMix) {
        let runs: Vec<(usize, usize)> = digit_runs(v);
        if runs.is_empty() {
            return;
        }
        let (a, b) = runs[r.below(runs.len())];
        let x = if r.below(2) == 0 {
            INTERESTING[r.below(INTERESTING.len())]
        } else {
            r.next_u64() >> r.below(64)
        };
        let text = if r.below(8) == 0 { format!("-{x}") } else { x.to_string() };
        v.splice(a..b, text.into_bytes());
    }

    fn digit_runs(v: &[u8]) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < v.len() {
            if v[i].is_ascii_digit() {
                let start = i;
                while i < v.len() && v[i].is_ascii_digit() {
                    i += 1;
                }
                runs.push((start, i));
            } else {
                i += 1;
            }
        }
        runs
    }

    /// Replace the contents of one quoted string (`'…'` or `"…"`) by `word`.
    fn replace_word(v: &mut Vec<u8>, word: &[u8], r: &mut SplitMix) {
        let quotes: Vec<usize> =
            v.iter().enumerate().filter(|(_, &c)| c == b'\'' || c == b'"').map(|(i, _)| i).collect();
        if quotes.len() < 2 {
            return;
        }
        let k = r.below(quotes.len() - 1);
        let (a, b) = (quotes[k] + 1, quotes[k + 1]);
        v.splice(a..b, word.iter().copied());
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn mutations_are_deterministic_and_vary() {
            let valid = b"{'descr': '|i1', 'shape': (10, 4, 4), }".to_vec();
            let mut a = Mutator::new(7, &["<f8"]);
            let mut b = Mutator::new(7, &["<f8"]);
            let ma: Vec<Vec<u8>> = (0..50).map(|_| a.mutate(&valid)).collect();
            let mb: Vec<Vec<u8>> = (0..50).map(|_| b.mutate(&valid)).collect();
            assert_eq!(ma, mb);
            assert!(ma.iter().filter(|m| **m != valid).count() > 40);
        }
    }
}
