//! End-to-end tests of `kadanoff sample`, `exact` and `stats`.

mod common;

use common::{assert_clean_failure, json, kadanoff};

#[test]
fn exact_prints_kaufman_and_onsager_values() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&kadanoff(dir.path(), &["exact", "--size", "40", "--coupling", "0.408", "--json"]));
    assert!((v["energy_per_site"].as_f64().unwrap() - (-1.1518211508)).abs() < 1e-9);
    assert!((v["specific_heat_per_site"].as_f64().unwrap() - 0.9946704747).abs() < 1e-9);
    let v = json(&kadanoff(dir.path(), &["exact", "--size", "inf", "--coupling", "0.408", "--json"]));
    assert!((v["energy_per_site"].as_f64().unwrap() - (-1.1508548910)).abs() < 1e-9);
    assert_eq!(v["spontaneous_magnetization"].as_f64(), Some(0.0));
    let v =
        json(&kadanoff(dir.path(), &["exact", "--size", "4", "--coupling", "0.4406867935097715", "--json"]));
    assert!((v["binder_cumulant"].as_f64().unwrap() - 0.617199318).abs() < 1e-8);
    let v = json(&kadanoff(
        dir.path(),
        &["exact", "--model", "ising1d", "--size", "10", "--coupling", "0.5", "--field", "0.1", "--json"],
    ));
    assert!(v["magnetization"].as_f64().unwrap() > 0.0);
}

#[test]
fn exact_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    assert_clean_failure(&kadanoff(dir.path(), &["exact", "--size", "1", "--coupling", "0.4"]), "size");
    assert_clean_failure(&kadanoff(dir.path(), &["exact", "--size", "ten", "--coupling", "0.4"]), "size");
    assert_clean_failure(&kadanoff(dir.path(), &["exact", "--size", "8", "--coupling", "NaN"]), "finite");
    assert_clean_failure(&kadanoff(dir.path(), &["exact", "--size", "8", "--coupling", "1e9"]), "range");
    assert_clean_failure(
        &kadanoff(dir.path(), &["exact", "--size", "8", "--coupling", "0.4", "--field", "0.1"]),
        "field",
    );
}

#[test]
fn sample_writes_npy_and_sidecar_and_stats_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = kadanoff(
        dir.path(),
        &[
            "sample",
            "--size",
            "8",
            "--coupling",
            "0.3",
            "--samples",
            "400",
            "--algorithm",
            "metropolis",
            "--seed",
            "3",
            "--out",
            "d.npy",
            "--json",
            "--quiet",
        ],
    );
    let meta = json(&out);
    for key in [
        "energy_per_site",
        "abs_magnetization",
        "specific_heat_per_site",
        "susceptibility_per_site",
        "binder_cumulant",
    ] {
        assert!(meta["observables"][key]["mean"].is_number(), "{key}");
        assert!(meta["observables"][key]["stderr"].is_number(), "{key}");
    }
    assert!(meta["autocorrelation"]["energy"].is_number());
    assert!(meta["autocorrelation"]["abs_magnetization"].is_number());
    let bytes = std::fs::read(dir.path().join("d.npy")).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header = String::from_utf8_lossy(&bytes[..128]);
    assert!(header.contains("'descr': '|i1'"), "{header}");
    assert!(header.contains("(400, 8, 8)"), "{header}");
    assert!(bytes[bytes.len() - 400 * 64..].iter().all(|&b| b == 1 || b == 0xff));
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("d.json")).unwrap()).unwrap();
    assert_eq!(side["seed"], 3);
    assert_eq!(side["algorithm"], "metropolis");

    // Same energy through `stats` (same data, same estimator).
    let stats = json(&kadanoff(dir.path(), &["stats", "d.npy", "--json"]));
    let a = stats["observables"]["energy_per_site"]["mean"].as_f64().unwrap();
    let b = meta["observables"]["energy_per_site"]["mean"].as_f64().unwrap();
    assert!((a - b).abs() < 1e-12);
    assert!(stats["observables"]["specific_heat_per_site"]["mean"].is_number(), "coupling read from sidecar");

    // Existing output without --force is refused and left untouched.
    let again =
        kadanoff(dir.path(), &["sample", "--size", "8", "--samples", "10", "--out", "d.npy", "--quiet"]);
    assert_clean_failure(&again, "already exists");
    assert_eq!(std::fs::read(dir.path().join("d.npy")).unwrap(), bytes);
}

#[test]
fn sample_is_reproducible_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let name = format!("t{threads}.npy");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kadanoff"))
            .args(["sample", "--size", "12", "--coupling", "0.44", "--samples", "300", "--chains", "3"])
            .args(["--algorithm", "wolff", "--seed", "9", "--quiet", "--out", &name])
            .current_dir(dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        outputs.push(std::fs::read(dir.path().join(&name)).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn sample_refuses_bad_input_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&[&str], &str)] = &[
        (&["sample", "--size", "1", "--samples", "10", "--out", "a.npy"], "size"),
        (&["sample", "--size", "8", "--samples", "0", "--out", "a.npy"], "samples"),
        (&["sample", "--size", "8", "--coupling", "inf", "--samples", "10", "--out", "a.npy"], "finite"),
        (&["sample", "--size", "8", "--coupling", "1e6", "--samples", "10", "--out", "a.npy"], "range"),
        (
            &[
                "sample",
                "--size",
                "8",
                "--field",
                "0.2",
                "--algorithm",
                "wolff",
                "--samples",
                "10",
                "--out",
                "a.npy",
            ],
            "field",
        ),
        (
            &["sample", "--size", "8", "--algorithm", "gibbs", "--samples", "10", "--out", "a.npy"],
            "algorithm",
        ),
        (&["sample", "--size", "8", "--samples", "10", "--out", "no/such/dir/a.npy"], "directory"),
        (&["sample", "--size", "8", "--samples", "10", "--thin", "often", "--out", "a.npy"], "thin"),
    ];
    for (args, needle) in cases {
        let out = kadanoff(d, args);
        assert_clean_failure(&out, needle);
    }
    let leftovers: Vec<_> = std::fs::read_dir(d).unwrap().collect();
    assert!(leftovers.is_empty(), "no partial output may remain: {leftovers:?}");
}

#[test]
fn stats_refuses_invalid_data_sets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("garbage.npy"), b"not a numpy file at all").unwrap();
    assert_clean_failure(&kadanoff(d, &["stats", "garbage.npy"]), "npy");
    assert_clean_failure(&kadanoff(d, &["stats", "missing.npy"]), "does not exist");
    // A valid .npy of int8 with a value that is not ±1.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 2, 2), }".to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend_from_slice(&[1, 1, 1, 0xff, 1, 3, 1, 1]);
    std::fs::write(d.join("bad.npy"), &npy).unwrap();
    assert_clean_failure(&kadanoff(d, &["stats", "bad.npy"]), "not one of");
    // Truncated data.
    std::fs::write(d.join("short.npy"), &npy[..npy.len() - 3]).unwrap();
    assert_clean_failure(&kadanoff(d, &["stats", "short.npy"]), "npy");
}
