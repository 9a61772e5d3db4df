//! End to end: `kadanoff rsmi` learns filters on a small grid, prints stable JSON (the same for
//! one and two threads), writes RSMI kernel files that `rg assess` reads (also rescaled with
//! `FILE.json@S`), and refuses bad input cleanly without leaving files.

mod common;

use common::{assert_clean_failure, json, kadanoff};

const GRID: &[&str] = &[
    "rsmi",
    "--size",
    "8",
    "--couplings",
    "0.44068679,0.55",
    "--samples",
    "600",
    "--blocks",
    "2",
    "--buffers",
    "0,1",
    "--strengths",
    "2",
    "--jackknife",
    "5",
    "--seed",
    "3",
    "--json",
];

#[test]
fn rsmi_learns_a_grid_writes_kernels_and_assess_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut args = GRID.to_vec();
    args.extend(["--kernel-dir", "k"]);
    let v = json(&kadanoff(d, &args));
    assert_eq!(v["lattice_size"], 8);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    for p in points {
        let c = &p["comparison"];
        let filter = c["fit"]["filter"].as_array().unwrap();
        assert_eq!(filter.len(), 4);
        let norm: f64 = filter.iter().map(|x| x.as_f64().unwrap().powi(2)).sum::<f64>().sqrt();
        assert!((norm - 2.0).abs() < 1e-9, "|λ| = {norm}");
        for key in ["majority", "decimation", "uniform", "learned_minus_majority", "learned_minus_uniform"] {
            assert!(c[key]["mean"].as_f64().unwrap().is_finite(), "{key}");
            assert!(c[key]["stderr"].as_f64().unwrap() >= 0.0, "{key}");
        }
        // Majority rule carries more information than decimation at these couplings.
        assert!(c["majority"]["mean"].as_f64().unwrap() > c["decimation"]["mean"].as_f64().unwrap());
    }
    // Same JSON with one thread.
    let one = std::process::Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args(GRID)
        .current_dir(d)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert_eq!(json(&one), v);
    // A kernel file per point, read by rg assess as an RSMI kernel.
    let file = "k/rsmi_b2_w1_K0.4407_s2.json";
    assert!(d.join(file).is_file());
    assert_eq!(std::fs::read_dir(d.join("k")).unwrap().count(), 4);
    let o = kadanoff(
        d,
        &[
            "sample",
            "--size",
            "8",
            "--coupling",
            "0.44068679",
            "--samples",
            "400",
            "--algorithm",
            "wolff",
            "--out",
            "d.npy",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a =
        json(&kadanoff(d, &["rg", "assess", "--kernel", file, "--data", "d.npy", "--levels", "1", "--json"]));
    assert_eq!(a["kernel"], "rsmi:2.000");
    assert_eq!(a["factor"], 2);
    assert!(a["mcrg"]["levels"][0]["thermal"]["eigenvalue"]["mean"].as_f64().unwrap().is_finite());
    let spec = format!("{file}@20");
    let a = json(&kadanoff(
        d,
        &["rg", "assess", "--kernel", &spec, "--data", "d.npy", "--levels", "1", "--json"],
    ));
    assert_eq!(a["kernel"], "rsmi:20.000");
    // A strength on a file that is not an RSMI filter, or a nonsense strength, is refused.
    assert_clean_failure(
        &kadanoff(d, &["rg", "assess", "--kernel", &format!("{file}@-1"), "--data", "d.npy"]),
        "strength",
    );
    assert_clean_failure(
        &kadanoff(d, &["rg", "assess", "--kernel", &format!("{file}@abc"), "--data", "d.npy"]),
        "strength",
    );
    // Existing kernel files are not overwritten without --force, before any work.
    assert_clean_failure(&kadanoff(d, &args), "exists");
}

#[test]
fn rsmi_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = ["rsmi", "--size", "8", "--samples", "200", "--kernel-dir", "out"];
    let with = |extra: &[&str]| -> Vec<String> { base.iter().chain(extra).map(|s| s.to_string()).collect() };
    for (extra, needle) in [
        (&["--blocks", "4"][..], "block"),
        (&["--buffers", "3"][..], "buffer"),
        (&["--strengths", "0"][..], "strength"),
        (&["--couplings", "nan"][..], "coupling"),
        (&["--data", "missing.npy"][..], "couplings"),
    ] {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let o = kadanoff(d, &args);
        assert_clean_failure(&o, needle);
        let left = d.join("out");
        assert!(!left.exists() || std::fs::read_dir(&left).unwrap().count() == 0, "{extra:?} left files");
    }
}
