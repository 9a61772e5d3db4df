//! Fuzz test of the data-set loaders of `lattice_physics::io` (`.npy` and sidecars) on stable
//! Rust: a fixed-seed, bounded stream of mutants of valid files (truncations, bit flips, header
//! lies about shape, dtype, lengths and offsets). Every mutant must give `Ok` or a clean `Err`,
//! never a panic, and no loader call may allocate more than [`HEADROOM`] bytes: the global
//! allocator of this test binary is capped around each call, so an oversized allocation aborts
//! the binary and fails the test. One test function, so no other test thread allocates meanwhile.

use std::alloc::System;
use std::panic::{catch_unwind, AssertUnwindSafe};

use cap::Cap;
use kadanoff_tests::fuzz::Mutator;
use lattice_physics::io::sidecar::{
    self, Autocorrelation, BlockRecord, ExactReference, ObservableEstimates, SampleRecord, SweepsRecord,
};
use lattice_physics::io::{self, npy, Sidecar, Source};
use lattice_physics::{Configurations, Lattice};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// The byte limit given to the `.npy` reader (the memory budget's role).
const LIMIT: u64 = 1 << 20;

/// What one loader call may allocate beyond what is live before it: the data (at most
/// `LIMIT`), the header (at most `npy::MAX_HEADER_LEN`), a decoding buffer and small change.
const HEADROOM: usize = LIMIT as usize + npy::MAX_HEADER_LEN + (1 << 18) + (1 << 16);

const ITERATIONS: usize = 4000;

/// Run `f` with the allocator capped at `HEADROOM` bytes above what is allocated now, and
/// return whether it panicked.
fn capped<T>(f: impl FnOnce() -> T) -> Result<T, ()> {
    let base = ALLOCATOR.allocated();
    ALLOCATOR.set_limit(base + HEADROOM).expect("limit above the current allocation");
    let r = catch_unwind(AssertUnwindSafe(f));
    ALLOCATOR.set_limit(usize::MAX).expect("limit lifted");
    r.map_err(|_| ())
}

fn valid_npys() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    let square =
        Configurations::new(Lattice::square(4).unwrap(), (0..3 * 16).map(|i| [1, -1][i % 3 % 2]).collect())
            .unwrap();
    let mut b = Vec::new();
    io::write_configurations(&mut b, &square).unwrap();
    files.push(b);
    let ring = Configurations::new(
        Lattice::ring(6).unwrap(),
        vec![1, -1, 1, 1, -1, -1, 1, 1].into_iter().cycle().take(12).collect(),
    )
    .unwrap();
    let mut b = Vec::new();
    io::write_configurations(&mut b, &ring).unwrap();
    files.push(b);
    // A multi-byte dtype, written by hand: <f8 values of ±1, shape (2, 2, 2), version 2.0.
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }";
    let mut header = dict.to_string();
    while (12 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = b"\x93NUMPY\x02\x00".to_vec();
    f.extend_from_slice(&(header.len() as u32).to_le_bytes());
    f.extend_from_slice(header.as_bytes());
    for i in 0..8 {
        f.extend_from_slice(&(if i % 3 == 0 { 1.0f64 } else { -1.0 }).to_le_bytes());
    }
    files.push(f);
    files
}

fn valid_sidecars() -> Vec<Vec<u8>> {
    let lat = Lattice::square(4).unwrap();
    let est = sidecar::EstimateRecord { mean: Some(-1.2), stderr: Some(0.01) };
    let mut s = Sidecar::new(
        lat,
        100,
        9,
        Source::Sample(SampleRecord {
            algorithm: "wolff".into(),
            chains: 4,
            thermalize: SweepsRecord { requested: "auto".into(), sweeps: 200 },
            thin: SweepsRecord { requested: "auto".into(), sweeps: 3 },
            autocorrelation: Some(Autocorrelation {
                unit: "sweeps".into(),
                energy: Some(1.4),
                energy_stderr: Some(0.1),
                abs_magnetization: Some(2.0),
                abs_magnetization_stderr: None,
            }),
            observables: Some(ObservableEstimates {
                energy_per_site: est,
                abs_magnetization: est,
                magnetization_sq: est,
                specific_heat_per_site: est,
                susceptibility_per_site: est,
                binder_cumulant: sidecar::EstimateRecord { mean: None, stderr: None },
            }),
            error_bars_unavailable: None,
            susceptibility_convention: "chi = N (<m^2> - <|m|>^2)".into(),
            exact: Some(ExactReference {
                method: "kaufman".into(),
                energy_per_site: -1.5,
                specific_heat_per_site: 1.0,
                magnetization: None,
            }),
        }),
    );
    s.coupling = Some(0.4);
    s.field = Some(0.0);
    let block = Sidecar::new(
        Lattice::square(2).unwrap(),
        100,
        1,
        Source::Block(BlockRecord {
            rule: "majority".into(),
            factor: 2,
            levels: 1,
            from_data: "d.npy".into(),
            from_metadata: Some(Box::new(s.clone())),
        }),
    );
    [s, block]
        .iter()
        .map(|x| {
            let mut b = Vec::new();
            io::write_sidecar(&mut b, x).unwrap();
            b
        })
        .collect()
}

#[test]
fn mutated_data_files_fail_cleanly_within_the_memory_limit() {
    let npys = valid_npys();
    for f in &npys {
        assert!(capped(|| io::configurations_from_bytes(f, LIMIT)).unwrap().is_ok(), "a valid file loads");
    }
    let words = ["|i1", "<f8", ">i4", "<c16", "|b1", "<U8", "O", "True", "", "descr", "shape"];
    let mut m = Mutator::new(0x6b61_6461_6e6f_6666, &words);
    let (mut ok, mut err) = (0usize, 0usize);
    for i in 0..ITERATIONS {
        let mutant = m.mutate(&npys[i % npys.len()]);
        let r = capped(|| {
            (
                io::configurations_from_bytes(&mutant, LIMIT).is_ok(),
                npy::units_from_bytes(&mutant, LIMIT).is_ok(),
            )
        });
        match r {
            Ok((a, _)) if a => ok += 1,
            Ok(_) => err += 1,
            Err(()) => panic!("the .npy loader panicked on mutant {i}: {mutant:?}"),
        }
        // The same bytes through a reader that claims the wrong total length.
        let claimed = (mutant.len() as u64).wrapping_add(m.rng().below(3) as u64).wrapping_sub(1);
        assert!(capped(|| io::read_configurations(&mutant[..], claimed, LIMIT).is_ok()).is_ok(), "panic {i}");
    }
    assert!(err > ITERATIONS / 2, "most mutants are refused ({ok} accepted)");

    let sidecars = valid_sidecars();
    for f in &sidecars {
        assert!(io::read_sidecar(&f[..], sidecar::MAX_SIDECAR_BYTES).is_ok());
    }
    let words = ["sample", "rg block", "generate", "kadanoff.spins", "square", "ring", "", "NaN"];
    let mut m = Mutator::new(0x51de_ca75_u64, &words);
    for i in 0..ITERATIONS {
        let mutant = m.mutate(&sidecars[i % sidecars.len()]);
        let r = capped(|| io::read_sidecar(&mutant[..], 1 << 16).map(|s| s.validate().is_ok()));
        match r {
            Ok(Ok(valid)) => assert!(valid, "read_sidecar returns only valid sidecars"),
            Ok(Err(_)) => {}
            Err(()) => {
                panic!("the sidecar loader panicked on mutant {i}: {}", String::from_utf8_lossy(&mutant))
            }
        }
    }
}
