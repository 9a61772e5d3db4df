//! An experiment, not used by the library: a CD-1 product on Intel's AMX tile units, with f32
//! accuracy, timed next to the `faer` product that `rbm-core` uses, on one core.
//!
//! Every product of a CD-1 step has one operand whose entries are ±1 or 0/1 (the data, the
//! sampled units), exact in bfloat16. The other operand (the weights, or the hidden means of
//! the weight update) is split into three bfloat16 pieces, `x = hi + mid + lo` (each piece the
//! nearest bfloat16 to what the pieces before it leave): 24 significant bits, as in an f32.
//! The tile product `TDPBF16PS` multiplies pairs of bfloat16 exactly and adds them in f32, so
//! `C = Σ_pieces A·B_piece` is as accurate as an f32 product; the example checks this against
//! an f64 product and prints both errors.
//!
//! Operands are packed tile by tile (1 KiB each, contiguous): with rows of a row-major matrix
//! as tile rows, the loads crossed many cache sets and ran at half the speed.
//!
//! Usage: `cargo run --release -p kadanoff-benches --example amx_product -- [M] [K] [N]
//! [SPLIT]`, `C (M×N) = A (M×K) · B (K×N)`, with `SPLIT` = `a` or `b` the operand in three
//! pieces (default `100 1600 400 b`: the hidden field of a mini-batch of 100 at 1600 → 400).
//! Prints one line of JSON. On a machine without AMX (or a kernel that does not grant it), it
//! prints `{"amx":false}` and exits with status 0.

// The tile instructions have no stable intrinsics: they are written as inline assembly, the
// only `unsafe` code of the workspace, confined to this example.
#![allow(unsafe_code)]

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod amx {
    use std::arch::asm;

    /// Whether the CPU has AMX-BF16 and AMX-TILE, the OS enables their state, and the kernel
    /// grants this process the tile data (Linux's `ARCH_REQ_XCOMP_PERM`).
    pub fn request() -> bool {
        // CPUID leaf 7, sub-leaf 0: EDX bit 22 is AMX-BF16, bit 24 AMX-TILE.
        #[allow(unused_unsafe)]
        let leaf7 = unsafe { std::arch::x86_64::__cpuid_count(7, 0) };
        let has = |bit: u32| leaf7.edx >> bit & 1 == 1;
        #[allow(unused_unsafe)]
        let leaf1 = unsafe { std::arch::x86_64::__cpuid(1) };
        if !(has(22) && has(24)) || leaf1.ecx >> 27 & 1 == 0 {
            return false;
        }
        let (lo, hi): (u32, u32);
        // SAFETY: OSXSAVE (CPUID.1:ECX bit 27) is set, so XGETBV is available.
        unsafe { asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
        let xcr0 = u64::from(hi) << 32 | u64::from(lo);
        if xcr0 >> 17 & 3 != 3 {
            return false;
        }
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: a system call with integer arguments only.
        unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
    }

    /// Palette 1, all eight tiles 16 rows of 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    /// Loads the tile configuration on this thread. Call only after [`request`] returned true.
    pub fn configure() {
        let mut c = TileConfig([0; 64]);
        c.0[0] = 1;
        for t in 0..8 {
            c.0[16 + 2 * t] = 64;
            c.0[48 + t] = 16;
        }
        // SAFETY: AMX is granted (caller's contract); the 64-byte configuration is valid.
        unsafe { asm!("ldtilecfg [{}]", in(reg) c.0.as_ptr(), options(nostack)) };
    }

    /// Releases the tile state of this thread.
    pub fn release() {
        // SAFETY: AMX is granted (caller's contract of `configure`).
        unsafe { asm!("tilerelease", options(nostack)) };
    }

    /// Elements (u16) of one tile.
    pub const TILE: usize = 512;

    /// Operands packed for [`product`]: `a` holds `mt × ks × pa` tiles (tile `(i, k, q)`: rows
    /// `16i..16i+16`, depth `32k..32k+32`, piece `q`, row-major), `b` holds `nt × ks × pb`
    /// (tile `(j, k, q)`: depth pairs `16k..16k+16` as rows, columns `16j..16j+16`, each a pair
    /// of depths), with `mt` and `nt` even and one of `pa`, `pb` equal to 1.
    pub struct Packed {
        pub a: Vec<u16>,
        pub b: Vec<u16>,
        pub pa: usize,
        pub pb: usize,
        pub mt: usize,
        pub nt: usize,
        pub ks: usize,
    }

    /// `c (16 mt × 16 nt, row stride ldc) = Σ_q A_q B_q` (see [`Packed`]), in blocks of 2 × 2
    /// output tiles, the depth innermost.
    pub fn product(p: &Packed, c: &mut [f32], ldc: usize) {
        let (mt, nt, ks, pa, pb) = (p.mt, p.nt, p.ks, p.pa, p.pb);
        assert!(mt % 2 == 0 && nt % 2 == 0 && (pa == 1 || pb == 1));
        assert!(p.a.len() >= mt * ks * pa * TILE && p.b.len() >= nt * ks * pb * TILE);
        assert!(ldc >= 16 * nt && c.len() >= (16 * mt - 1) * ldc + 16 * nt);
        let pieces = pa.max(pb);
        let stride = 64usize;
        let ldc_bytes = ldc * 4;
        for j in (0..nt).step_by(2) {
            for i in (0..mt).step_by(2) {
                // SAFETY: every tile address below is inside `p.a`, `p.b` or `c` (asserted
                // above); the tiles are configured as 16 rows of 64 bytes.
                unsafe {
                    asm!(
                        "tilezero tmm0",
                        "tilezero tmm1",
                        "tilezero tmm2",
                        "tilezero tmm3",
                        options(nostack)
                    );
                    for k in 0..ks {
                        for q in 0..pieces {
                            if q == 0 || pa > 1 {
                                let a0 = p.a.as_ptr().add(((i * ks + k) * pa + q) * TILE);
                                let a1 = p.a.as_ptr().add((((i + 1) * ks + k) * pa + q) * TILE);
                                asm!("tileloadd tmm4, [{a0} + {s}*1]", "tileloadd tmm5, [{a1} + {s}*1]",
                                    a0 = in(reg) a0, a1 = in(reg) a1, s = in(reg) stride, options(nostack, readonly));
                            }
                            if q == 0 || pb > 1 {
                                let b0 = p.b.as_ptr().add(((j * ks + k) * pb + q) * TILE);
                                let b1 = p.b.as_ptr().add((((j + 1) * ks + k) * pb + q) * TILE);
                                asm!("tileloadd tmm6, [{b0} + {s}*1]", "tileloadd tmm7, [{b1} + {s}*1]",
                                    b0 = in(reg) b0, b1 = in(reg) b1, s = in(reg) stride, options(nostack, readonly));
                            }
                            asm!(
                                "tdpbf16ps tmm0, tmm4, tmm6",
                                "tdpbf16ps tmm1, tmm4, tmm7",
                                "tdpbf16ps tmm2, tmm5, tmm6",
                                "tdpbf16ps tmm3, tmm5, tmm7",
                                options(nostack, nomem)
                            );
                        }
                    }
                    let c0 = c.as_mut_ptr().add(16 * i * ldc + 16 * j);
                    asm!("tilestored [{c0} + {s}*1], tmm0", "tilestored [{c1} + {s}*1], tmm1",
                        "tilestored [{c2} + {s}*1], tmm2", "tilestored [{c3} + {s}*1], tmm3",
                        c0 = in(reg) c0, c1 = in(reg) c0.add(16), c2 = in(reg) c0.add(16 * ldc),
                        c3 = in(reg) c0.add(16 * ldc + 16), s = in(reg) ldc_bytes, options(nostack));
                }
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn main() {
    use rand::{Rng, SeedableRng};
    use std::time::Instant;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (m, k, n) = (arg(0, 100), arg(1, 1600), arg(2, 400));
    let split_a = args.get(3).is_some_and(|s| s == "a");
    if !amx::request() {
        println!("{{\"amx\":false}}");
        return;
    }
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let real = |rng: &mut rand_xoshiro::Xoshiro256PlusPlus| (rng.random::<f32>() - 0.5) * 0.2;
    let a: Vec<f32> = (0..m * k)
        .map(|_| {
            if split_a {
                real(&mut rng)
            } else if rng.random::<bool>() {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    let b: Vec<f32> = (0..k * n)
        .map(|_| if split_a { f32::from(u8::from(rng.random::<bool>())) } else { real(&mut rng) })
        .collect();

    // Best of 7 rounds of 20 calls, seconds per call.
    let best = |f: &mut dyn FnMut()| {
        (0..7)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..20 {
                    f();
                }
                t.elapsed().as_secs_f64() / 20.0
            })
            .fold(f64::INFINITY, f64::min)
    };
    let t_pack = Instant::now();
    let packed = pack(&a, &b, (m, k, n), split_a);
    let pack_seconds = t_pack.elapsed().as_secs_f64();
    // The weights' packing as training would need it once per mini-batch (right factor in
    // three pieces): a loop written to vectorise, checked against the scalar packing.
    let pack_weights_seconds = if split_a {
        None
    } else {
        let mut out = vec![0u16; packed.b.len()];
        pack_right_in_pieces(&b, (k, n), packed.ks, &mut out);
        assert!(out == packed.b, "the fast packing differs from the scalar one");
        Some(best(&mut || pack_right_in_pieces(&b, (k, n), packed.ks, &mut out)))
    };
    let ldc = packed.nt * 16;
    let mut c = vec![0f32; packed.mt * 16 * ldc];
    amx::configure();
    amx::product(&packed, &mut c, ldc);

    // Errors against an f64 product, next to the errors of faer's f32 product.
    let fa = faer::MatRef::from_row_major_slice(&a, m, k);
    let fb = faer::MatRef::from_row_major_slice(&b, k, n);
    let mut f = faer::Mat::<f32>::zeros(m, n);
    faer::linalg::matmul::matmul(f.as_mut(), faer::Accum::Replace, fa, fb, 1.0, faer::Par::Seq);
    let (mut err_amx, mut err_faer) = (0f64, 0f64);
    for i in 0..m {
        for j in 0..n {
            let exact: f64 = (0..k).map(|l| f64::from(a[i * k + l]) * f64::from(b[l * n + j])).sum();
            err_amx = err_amx.max((exact - f64::from(c[i * ldc + j])).abs());
            err_faer = err_faer.max((exact - f64::from(f[(i, j)])).abs());
        }
    }

    let amx_seconds = best(&mut || amx::product(&packed, &mut c, ldc));
    amx::release();
    let faer_seconds = best(&mut || {
        faer::linalg::matmul::matmul(f.as_mut(), faer::Accum::Replace, fa, fb, 1.0, faer::Par::Seq)
    });
    let gflops = |s: f64| 2.0 * (m * k * n) as f64 / s / 1e9;
    println!(
        "{{\"amx\":true,\"m\":{m},\"k\":{k},\"n\":{n},\"split\":\"{}\",\"amx_seconds\":{amx_seconds:.3e},\
         \"amx_gflops\":{:.1},\"faer_seconds\":{faer_seconds:.3e},\"faer_gflops\":{:.1},\
         \"pack_seconds\":{pack_seconds:.3e},\"pack_weights_seconds\":{},\"max_error_amx\":{err_amx:.3e},\"max_error_faer\":{err_faer:.3e}}}",
        if split_a { "a" } else { "b" },
        gflops(amx_seconds),
        gflops(faer_seconds),
        pack_weights_seconds.map_or("null".to_string(), |t| format!("{t:.3e}")),
    );
}

/// The nearest bfloat16 (ties to even) of a finite `x`, as its bits.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    (bits.wrapping_add(0x7fff + (bits >> 16 & 1)) >> 16) as u16
}

/// The f32 of bfloat16 bits (exact).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn from_bf16(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// Packs row-major `a (m × k)` and `b (k × n)` into tiles, zero-padded, the operand named by
/// `split_a` (else `b`) in three bfloat16 pieces. A plain scalar loop: the example times the
/// product, not the packing.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn pack(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), split_a: bool) -> amx::Packed {
    let (pa, pb) = if split_a { (3, 1) } else { (1, 3) };
    let (mt, nt, ks) = (m.div_ceil(32) * 2, n.div_ceil(32) * 2, k.div_ceil(32));
    let mut pa_buf = vec![0u16; mt * ks * pa * amx::TILE];
    let mut pb_buf = vec![0u16; nt * ks * pb * amx::TILE];
    for i in 0..m {
        for l in 0..k {
            let tile = ((i / 16) * ks + l / 32) * pa;
            let at = (i % 16) * 32 + l % 32;
            let mut x = a[i * k + l];
            for q in 0..pa {
                pa_buf[(tile + q) * amx::TILE + at] = bf16(x);
                x -= from_bf16(bf16(x));
            }
        }
    }
    for l in 0..k {
        for j in 0..n {
            let tile = ((j / 16) * ks + l / 32) * pb;
            let at = (l % 32 / 2) * 32 + (j % 16) * 2 + l % 2;
            let mut x = b[l * n + j];
            for q in 0..pb {
                pb_buf[(tile + q) * amx::TILE + at] = bf16(x);
                x -= from_bf16(bf16(x));
            }
        }
    }
    amx::Packed { a: pa_buf, b: pb_buf, pa, pb, mt, nt, ks }
}

/// Packs row-major `b (k × n)` as [`pack`] does with `split_a = false` into `out` (zeroed
/// padding included), a pair of rows and 16 columns at a time.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn pack_right_in_pieces(b: &[f32], (k, n): (usize, usize), ks: usize, out: &mut [u16]) {
    let zeros = [0f32; 16];
    for l2 in 0..ks * 16 {
        for jt in 0..out.len() / (ks * 3 * amx::TILE) {
            let row = |l: usize| -> [f32; 16] {
                let mut r = zeros;
                if l < k && 16 * jt < n {
                    let len = 16.min(n - 16 * jt);
                    r[..len].copy_from_slice(&b[l * n + 16 * jt..][..len]);
                }
                r
            };
            let (mut x0, mut x1) = (row(2 * l2), row(2 * l2 + 1));
            let tile = (jt * ks + l2 / 16) * 3;
            for q in 0..3 {
                let dst = &mut out[(tile + q) * amx::TILE + (l2 % 16) * 32..][..32];
                for c in 0..16 {
                    let (h0, h1) = (bf16(x0[c]), bf16(x1[c]));
                    dst[2 * c] = h0;
                    dst[2 * c + 1] = h1;
                    x0[c] -= from_bf16(h0);
                    x1[c] -= from_bf16(h1);
                }
            }
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn main() {
    println!("{{\"amx\":false}}");
}
