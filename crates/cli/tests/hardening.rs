//! End-to-end tests of input and output hardening (issue 9) for `sample`, `stats`, `exact`,
//! `generate`, `rg block` and `rg mcrg`: every bad input gives exit code 2, one clear line on
//! stderr and no leftover file; interrupted runs leave nothing behind.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_clean_failure, json, kadanoff};

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// An `.npy` (version 1.0) with the given header dictionary and data bytes.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(header.len() as u16).to_le_bytes());
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn a_lying_npy_header_is_refused_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("lie.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (1000000000000, 8, 8), }", &[1; 900]),
    )
    .unwrap();
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(d.join("v2.npy"), v2).unwrap();
    std::fs::write(
        d.join("dtype.npy"),
        npy("{'descr': '<c16', 'fortran_order': False, 'shape': (8, 8), }", &[0; 64]),
    )
    .unwrap();
    for (file, needle) in [("lie.npy", "data bytes"), ("v2.npy", "header claims"), ("dtype.npy", "dtype")] {
        for cmd in [
            vec!["stats", file],
            vec!["rg", "block", "--data", file, "--out", "b.npy"],
            vec!["rg", "mcrg", "--data", file],
            vec!["train", "--data", file, "--out", "m.safetensors", "--layers", "4", "--epochs", "1"],
        ] {
            let out = kadanoff(d, &cmd);
            assert_clean_failure(&out, needle);
            assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{cmd:?}");
        }
    }
    assert_eq!(listing(d), vec!["dtype.npy", "lie.npy", "v2.npy"]);
}

#[test]
fn inputs_must_be_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.npy")).unwrap();
    assert_clean_failure(&kadanoff(d, &["stats", "zero.npy"]), "not a regular file");
    std::fs::create_dir(d.join("dir.npy")).unwrap();
    assert_clean_failure(&kadanoff(d, &["stats", "dir.npy"]), "not a regular file");
    // A valid data set whose sidecar is a FIFO (would block) or /dev/zero (endless).
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let spins: Vec<u8> = (0..200 * 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x & 1 == 0 {
                1
            } else {
                255
            }
        })
        .collect();
    std::fs::write(
        d.join("d.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 4, 4), }", &spins),
    )
    .unwrap();
    let fifo = Command::new("mkfifo").arg(d.join("d.json")).status().unwrap();
    assert!(fifo.success());
    let started = Instant::now();
    let out = kadanoff(d, &["stats", "d.npy"]);
    assert!(started.elapsed() < Duration::from_secs(60), "stats blocked on the FIFO");
    assert_clean_failure(&out, "not a regular file");
    std::fs::remove_file(d.join("d.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("d.json")).unwrap();
    assert_clean_failure(&kadanoff(d, &["stats", "d.npy"]), "not a regular file");
    // With --coupling the sidecar is not needed and not read.
    let ok = kadanoff(d, &["stats", "d.npy", "--coupling", "0.3", "--json"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

#[test]
fn output_names_are_checked_before_work_and_long_names_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A trailing slash names a directory: refused at once (the sampling would take minutes).
    let out =
        kadanoff(d, &["sample", "--size", "256", "--samples", "100000", "--out", "late.npy/", "--quiet"]);
    assert_clean_failure(&out, "directory");
    assert!(listing(d).is_empty(), "{:?}", listing(d));
    // Legal names up to 255 bytes (the sidecar's name has the same length).
    let name = format!("{}.npy", "n".repeat(246));
    assert_eq!(name.len(), 250);
    let out = kadanoff(
        d,
        &[
            "sample",
            "--size",
            "4",
            "--samples",
            "200",
            "--chains",
            "1",
            "--algorithm",
            "metropolis",
            "--thin",
            "2",
            "--thermalize",
            "100",
            "--out",
            &name,
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(listing(d), vec![format!("{}.json", "n".repeat(246)), name]);
}

#[test]
fn oversized_sampler_requests_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    for algorithm in ["wolff", "swendsen-wang", "metropolis"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
            .args([
                "sample",
                "--size",
                "46340",
                "--samples",
                "100",
                "--algorithm",
                algorithm,
                "--out",
                "x.npy",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_clean_failure(&out, "memory budget");
        let out = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
            .args(["sample", "--size", "8000", "--samples", "1", "--chains", "1", "--algorithm", algorithm])
            .env("KADANOFF_MEMORY_BUDGET", "1G")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_clean_failure(&out, "memory budget");
    }
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn negative_looking_values_reach_the_range_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, needle) in [
        (vec!["sample", "--thin", "-3"], "--thin must be"),
        (vec!["sample", "--samples", "-5"], "invalid value"),
        (vec!["rg", "block", "--data", "x.npy", "--out", "y.npy", "--factor", "-2"], "invalid value"),
        (vec!["rg", "mcrg", "--data", "x.npy", "--levels", "-1"], "invalid value"),
        (vec!["exact", "--size", "-4", "--coupling", "0.4"], "size"),
        (vec!["generate", "--model", "m.safetensors", "--out", "g.npy", "--samples", "-1"], "invalid value"),
    ] {
        let out = kadanoff(d, &args);
        assert_clean_failure(&out, needle);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("unexpected argument"), "{args:?}");
    }
}

#[test]
fn exact_never_prints_a_negative_specific_heat() {
    let dir = tempfile::tempdir().unwrap();
    // True value at K = 40, L = 4: about 1.1e-134 (enumeration); Kaufman's derivative gave -8.9e-13.
    let v = json(&kadanoff(dir.path(), &["exact", "--size", "4", "--coupling", "40", "--json"]));
    let c = v["specific_heat_per_site"].as_f64().unwrap();
    assert!((0.0..1e-120).contains(&c), "c = {c}");
    for k in ["5", "10", "20", "49"] {
        let v = json(&kadanoff(dir.path(), &["exact", "--size", "4", "--coupling", k, "--json"]));
        assert!(v["specific_heat_per_site"].as_f64().unwrap() >= 0.0, "K = {k}");
    }
}

#[test]
fn stats_on_perfectly_ordered_data_reports_no_finite_length() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("up.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 4, 4), }", &[1; 3200]),
    )
    .unwrap();
    let v = json(&kadanoff(d, &["stats", "up.npy", "--json"]));
    assert!(v["observables"]["second_moment_correlation_length"].is_null(), "{v}");
    assert_eq!(v["second_moment_correlation_length_status"], "undefined");
    let both: Vec<u8> = (0..200 * 16).map(|i| if (i / 16 / 50) % 2 == 0 { 1 } else { 255 }).collect();
    std::fs::write(
        d.join("both.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 4, 4), }", &both),
    )
    .unwrap();
    let v = json(&kadanoff(d, &["stats", "both.npy", "--json"]));
    assert!(v["observables"]["second_moment_correlation_length"].is_null(), "{v}");
    assert_eq!(v["second_moment_correlation_length_status"], "infinite");
}

/// Start a long `sample`, wait for its temporary file, send `signal`, and check that nothing is
/// left in the directory.
fn interrupt_sample(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args([
            "sample",
            "--size",
            "64",
            "--samples",
            "200000",
            "--chains",
            "1",
            "--algorithm",
            "metropolis",
            "--thin",
            "1000",
            "--thermalize",
            "100",
            "--out",
            "d.npy",
            "--quiet",
        ])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while listing(d).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "no temporary files appeared");
        assert!(child.try_wait().unwrap().is_none(), "sample ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(listing(d).is_empty(), "{signal} left {:?}", listing(d));
}

#[test]
fn sigterm_and_sigint_leave_no_temporary_file() {
    interrupt_sample("-TERM");
    interrupt_sample("-INT");
}

#[test]
fn temporaries_of_killed_runs_are_swept_on_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args([
            "sample",
            "--size",
            "64",
            "--samples",
            "200000",
            "--chains",
            "1",
            "--algorithm",
            "metropolis",
            "--thin",
            "1000",
            "--thermalize",
            "100",
            "--out",
            "d.npy",
            "--quiet",
        ])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while listing(d).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "no temporary files appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    assert_eq!(listing(d).len(), 2, "SIGKILL leaves the temporaries");
    let out = kadanoff(
        d,
        &[
            "sample",
            "--size",
            "4",
            "--samples",
            "200",
            "--chains",
            "1",
            "--algorithm",
            "metropolis",
            "--thin",
            "2",
            "--thermalize",
            "100",
            "--out",
            "d.npy",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(listing(d), vec!["d.json", "d.npy"]);
}

#[test]
fn an_explicit_thin_with_a_short_series_still_writes_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Metropolis at K_c on 32×32, 150 samples one sweep apart: far too short for tau_int.
    let out = kadanoff(
        d,
        &[
            "sample",
            "--size",
            "32",
            "--coupling",
            "0.4406868",
            "--algorithm",
            "metropolis",
            "--samples",
            "150",
            "--chains",
            "1",
            "--thin",
            "1",
            "--thermalize",
            "0",
            "--out",
            "d.npy",
            "--json",
            "--quiet",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning: error bars unavailable"), "{stderr}");
    let meta = json(&out);
    assert!(meta["observables"].is_null() && meta["autocorrelation"].is_null(), "{meta}");
    assert!(meta["error_bars_unavailable"].as_str().unwrap().contains("too short"), "{meta}");
    assert_eq!(listing(d), vec!["d.json", "d.npy"]);
    assert_eq!(std::fs::metadata(d.join("d.npy")).unwrap().len(), 128 + 150 * 1024);
}

#[test]
fn mcrg_levels_are_checked_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("d.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 8, 8), }", &[1; 12800]),
    )
    .unwrap();
    for levels in ["18446744073709551615", "3", "0"] {
        assert_clean_failure(&kadanoff(d, &["rg", "mcrg", "--data", "d.npy", "--levels", levels]), "level");
    }
}

#[test]
fn generate_checks_its_model_shape_and_memory_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A one-unit data set and a model trained on it (sample shape [1]).
    let one: Vec<u8> = (0..200).map(|i| if i % 3 == 0 { 1 } else { 255 }).collect();
    std::fs::write(
        d.join("one.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 1), }", &one),
    )
    .unwrap();
    let out = kadanoff(
        d,
        &[
            "train",
            "--data",
            "one.npy",
            "--layers",
            "2",
            "--epochs",
            "1",
            "--out",
            "one.safetensors",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_clean_failure(
        &kadanoff(d, &["generate", "--model", "one.safetensors", "--out", "g.npy"]),
        "shape",
    );
    // The same model claiming `sample_shape: []` (the product of no sizes is 1 = n_visible).
    let mut bytes = std::fs::read(d.join("one.safetensors")).unwrap();
    let needle = b"sample_shape";
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("sample_shape in the header");
    let open = at + bytes[at..].iter().position(|&c| c == b'[').unwrap();
    assert_eq!(&bytes[open..open + 3], b"[1]");
    bytes[open..open + 3].copy_from_slice(b"[ ]");
    std::fs::write(d.join("empty.safetensors"), bytes).unwrap();
    assert_clean_failure(
        &kadanoff(d, &["generate", "--model", "empty.safetensors", "--out", "g.npy"]),
        "shape",
    );
    // An absurd sample count is refused by the budget, not by an abort.
    let ring: Vec<u8> = (0..200 * 8).map(|i| if (i * 5 + i / 8) % 3 == 0 { 1 } else { 255 }).collect();
    std::fs::write(
        d.join("ring.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 8), }", &ring),
    )
    .unwrap();
    let out = kadanoff(
        d,
        &[
            "train",
            "--data",
            "ring.npy",
            "--layers",
            "4",
            "--epochs",
            "1",
            "--out",
            "r.safetensors",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_clean_failure(
        &kadanoff(
            d,
            &["generate", "--model", "r.safetensors", "--out", "g.npy", "--samples", "1000000000000"],
        ),
        "memory budget",
    );
    let listed = listing(d);
    assert!(!listed.iter().any(|n| n.starts_with("g.") || n.starts_with(".g")), "{listed:?}");
}
