//! End-to-end tests of `kadanoff rg train-kernel` and `kadanoff rg assess`.

mod common;

use std::path::Path;

use common::{assert_clean_failure, json, kadanoff};

fn data_at_kc(d: &Path, size: &str, out: &str) {
    let o = kadanoff(
        d,
        &[
            "sample",
            "--size",
            size,
            "--coupling",
            "0.44068679",
            "--samples",
            "2000",
            "--algorithm",
            "wolff",
            "--seed",
            "5",
            "--out",
            out,
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn one_line(stderr: &[u8]) {
    let s = String::from_utf8_lossy(stderr);
    assert_eq!(s.trim_end().lines().count(), 1, "one line on stderr: {s}");
}

#[test]
fn train_a_kernel_and_assess_it_and_majority_rule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    data_at_kc(d, "16", "d.npy");
    let t = json(&kadanoff(
        d,
        &[
            "rg",
            "train-kernel",
            "--data",
            "d.npy",
            "--factor",
            "2",
            "--window",
            "4",
            "--out",
            "k.json",
            "--json",
        ],
    ));
    assert_eq!(t["kind"], "kadanoff.conv_kernel");
    let filter = t["kernel"]["filter"].as_array().unwrap();
    assert_eq!(filter.len(), 16);
    // Aligned: the filter sums to a positive value, and its centre dominates its corners.
    let f: Vec<f64> = filter.iter().map(|x| x.as_f64().unwrap()).collect();
    assert!(f.iter().sum::<f64>() > 0.0 && f[5] > f[0], "{f:?}");
    assert!(d.join("k.json").is_file());

    let v = json(&kadanoff(d, &["rg", "assess", "--kernel", "k.json", "--data", "d.npy", "--json"]));
    assert_eq!(v["kernel"], "learned:w4");
    let levels = v["mcrg"]["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2, "16 → 8 → 4");
    assert!(v["mcrg"]["warnings"][0].as_str().unwrap().starts_with("level 2"));
    assert!(v["mcrg"]["errors_note"].as_str().unwrap().contains("statistical only"));
    assert_eq!(v["targets"]["lambda_t"], 2.0);

    // Majority rule with a coupling grid: λ_h at level 1 near 2^{15/8}, and a fixed point.
    let m = json(&kadanoff(
        d,
        &[
            "rg",
            "assess",
            "--kernel",
            "majority",
            "--data",
            "d.npy",
            "--grid-size",
            "16",
            "--couplings",
            "0.425,0.44,0.455",
            "--small-couplings",
            "0.39,0.41,0.43,0.45,0.47,0.49,0.51",
            "--grid-samples",
            "1500",
            "--json",
        ],
    ));
    let lh = &m["mcrg"]["levels"][0]["magnetic"]["eigenvalue"];
    let (mean, err) = (lh["mean"].as_f64().unwrap(), lh["stderr"].as_f64().unwrap());
    // Level-1 bias of majority rule on the odd sector is about +0.013 (see the MCRG tests).
    assert!(err > 0.0 && err < 0.01 && (mean - 3.668016).abs() < 0.03 + 4.0 * err, "λ_h = {mean} ± {err}");
    let fp = &m["matching"]["levels"][0]["fixed_point"];
    let (k, e) = (fp["mean"].as_f64().unwrap(), fp["stderr"].as_f64().unwrap());
    assert!(e > 0.0 && e < 0.005, "σ(K*) = {e}");
    assert!((k - 0.440687).abs() < 0.02 * 0.440687, "K* = {k} ± {e}");
    assert_eq!(m["matching"]["large_size"], 16);
    // Coarse couplings (pseudo-likelihood) and the exact thermometer at level 1: a
    // ferromagnetic nearest-neighbour coupling dominates, and K′ is near K_c.
    let c = &m["coarse"][0];
    assert_eq!(c["level"], 1);
    assert_eq!(c["couplings"]["operators"][0], "nearest_neighbour");
    let k1 = c["couplings"]["values"][0].as_f64().unwrap();
    assert!(k1 > 0.2 && k1 < 0.5, "K_nn = {k1}");
    let kt = c["thermometer"]["coupling"]["mean"].as_f64().unwrap();
    assert!((kt - 0.44).abs() < 0.05, "thermometer K' = {kt}");
    assert_eq!(m["matching"]["small_size"], 8);

    // A dense RBM layer (256 → 64) read as a kernel: placed, one MCRG level, correlations.
    let o = kadanoff(
        d,
        &[
            "train",
            "--data",
            "d.npy",
            "--layers",
            "64",
            "--epochs",
            "3",
            "--batch-size",
            "50",
            "--seed",
            "2",
            "--out",
            "m.safetensors",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dn = json(&kadanoff(d, &["rg", "assess", "--kernel", "m.safetensors", "--data", "d.npy", "--json"]));
    assert_eq!(dn["kernel"], "dense:256x64");
    assert_eq!(dn["mcrg"]["levels"].as_array().unwrap().len(), 1);
    assert_eq!(dn["placement"]["assignment"].as_array().unwrap().len(), 64);
    let occ = dn["placement"]["occupancy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&occ));
    assert_eq!(dn["correlations"]["distance"][0], 1);
    let o = kadanoff(d, &["rg", "assess", "--kernel", "m.safetensors", "--data", "d.npy", "--levels", "2"]);
    assert_clean_failure(&o, "one lattice size");

    // The human table.
    let out = kadanoff(d, &["rg", "assess", "--kernel", "block-spin:4", "--data", "d.npy"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("kernel block_spin:4")
            && text.contains("lambda_t")
            && text.contains("statistical only")
    );
}

#[test]
fn bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    data_at_kc(d, "8", "d.npy");
    let o = kadanoff(d, &["rg", "assess", "--kernel", "median", "--data", "d.npy"]);
    assert_clean_failure(&o, "unknown kernel");
    one_line(&o.stderr);
    let o = kadanoff(d, &["rg", "assess", "--kernel", "block-spin:abc", "--data", "d.npy"]);
    assert_clean_failure(&o, "block-spin:LAMBDA");
    one_line(&o.stderr);
    let o = kadanoff(d, &["rg", "assess", "--kernel", "majority"]);
    assert_clean_failure(&o, "nothing to assess");
    let o = kadanoff(d, &["rg", "assess", "--kernel", "missing.json", "--data", "d.npy"]);
    assert_clean_failure(&o, "missing.json");
    // A window that cannot be centred on its block: refused before any output exists.
    let o = kadanoff(d, &["rg", "train-kernel", "--data", "d.npy", "--window", "3", "--out", "k.json"]);
    assert_clean_failure(&o, "window");
    one_line(&o.stderr);
    assert_eq!(
        std::fs::read_dir(d).unwrap().filter(|e| e.as_ref().unwrap().file_name() == "k.json").count(),
        0
    );
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let o = kadanoff(d, &["rg", "train-kernel", "--data", "d.npy", "--out", "k.txt"]);
    assert_clean_failure(&o, ".json");
    // 1D data.
    let o = kadanoff(
        d,
        &["sample", "--model", "ising1d", "--size", "8", "--samples", "200", "--out", "r.npy", "--quiet"],
    );
    assert!(o.status.success());
    let o = kadanoff(d, &["rg", "assess", "--kernel", "majority", "--data", "r.npy"]);
    assert_clean_failure(&o, "2D");
}
