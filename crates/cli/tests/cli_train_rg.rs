//! End-to-end tests of `kadanoff train`, `generate` and `rg …`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_clean_failure, json, kadanoff};

/// A small 1D data set: 10-site rings at K = 0.5, exact enough for the mapping checks.
fn ring_data(d: &Path) {
    let out = kadanoff(
        d,
        &[
            "sample",
            "--model",
            "ising1d",
            "--size",
            "10",
            "--coupling",
            "0.5",
            "--samples",
            "3000",
            "--algorithm",
            "metropolis",
            "--seed",
            "4",
            "--out",
            "ring.npy",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `train` on the ring data (3000 samples) with `extra` flags: the first layer's history.
fn ring_history(d: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let base = "train --data ring.npy --layers 6 --epochs 2 --batch-size 50 --seed 2 \
                --out h.safetensors --force --json --quiet";
    let mut args: Vec<&str> = base.split_whitespace().collect();
    args.extend_from_slice(extra);
    let v = json(&kadanoff(d, &args));
    v["history"][0].as_array().expect("a history per layer").clone()
}

#[test]
fn train_monitoring_is_sized_to_the_data_and_exact_per_epoch_likelihood_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ring_data(d);
    // Default: min(500, ceil(training rows / 30)); 3000 rows, 10% held out -> 2700 -> 90.
    let h = ring_history(d, &["--holdout", "0.1"]);
    assert_eq!(h.len(), 2);
    for m in &h {
        assert_eq!(m["monitor_samples"], 90, "{m}");
        assert!(m["log_likelihood"].is_null(), "no per-epoch exact likelihood by default: {m}");
    }
    // No hold-out: 3000 / 30 = 100.
    assert_eq!(ring_history(d, &[])[0]["monitor_samples"], 100);
    // An explicit count is used as given.
    assert_eq!(ring_history(d, &["--monitor-samples", "700"])[0]["monitor_samples"], 700);
    // Asked for: the exact log-likelihood of every epoch (6 hidden units).
    let h = ring_history(d, &["--exact-every-epoch"]);
    for m in &h {
        let ll = m["log_likelihood"].as_f64().unwrap_or_else(|| panic!("exact likelihood per epoch: {m}"));
        assert!(ll < 0.0 && ll > -10.0 * std::f64::consts::LN_2 - 1.0, "{m}");
    }
}

#[test]
fn train_generate_and_exact_mapping_on_a_ring() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ring_data(d);
    let v = json(&kadanoff(
        d,
        &[
            "train",
            "--data",
            "ring.npy",
            "--layers",
            "6",
            "--epochs",
            "30",
            "--batch-size",
            "50",
            "--learning-rate",
            "0.05",
            "--seed",
            "2",
            "--out",
            "m.safetensors",
            "--json",
            "--quiet",
        ],
    ));
    let layer = &v["layers"][0];
    assert_eq!(layer["log_likelihood_method"], "exact", "6 hidden units: exact likelihood");
    // The exact log-likelihood per sample cannot exceed minus the entropy of the true ring
    // distribution by more than the sampling noise; and must be far better than independent spins.
    let ll = layer["log_likelihood"].as_f64().unwrap();
    assert!(ll < 0.0 && ll > -10.0 * std::f64::consts::LN_2 + 0.3, "log-likelihood {ll}");
    // Where the time went: every part present, non-negative, and within the total.
    let secs = &v["seconds"];
    let get = |k: &str| secs[k].as_f64().unwrap_or_else(|| panic!("seconds.{k} in {secs}"));
    let total = get("total");
    for k in ["setup", "epochs", "train", "monitor", "likelihood"] {
        assert!(get(k) >= 0.0 && get(k) <= total, "seconds.{k} = {} of total {total}", get(k));
    }
    assert!(get("train") + get("monitor") <= get("epochs") + 1e-9, "{secs}");
    assert!(get("setup") + get("epochs") + get("likelihood") <= total + 1e-9, "{secs}");

    // The file is a safetensors model with the documented tensor names.
    let bytes = std::fs::read(d.join("m.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    for t in ["layers.0.weight", "layers.0.visible_bias", "layers.0.hidden_bias"] {
        assert!(header[t]["dtype"] == "F32", "{t}");
    }
    assert_eq!(header["layers.0.weight"]["shape"], serde_json::json!([10, 6]));
    assert_eq!(header["__metadata__"]["kind"], "kadanoff.dbn");

    // Generated configurations have the data's format and are read back by `stats`.
    let g = json(&kadanoff(
        d,
        &[
            "generate",
            "--model",
            "m.safetensors",
            "--samples",
            "500",
            "--gibbs-steps",
            "200",
            "--out",
            "gen.npy",
            "--json",
        ],
    ));
    assert_eq!(g["shape"], serde_json::json!([500, 10]));
    let s = json(&kadanoff(d, &["stats", "gen.npy", "--coupling", "0.5", "--json"]));
    let e = s["observables"]["energy_per_site"]["mean"].as_f64().unwrap();
    assert!(e < -0.2, "the RBM learned the ferromagnetic correlations: e = {e} (exact -tanh 0.5 = -0.46)");

    // The exact mapping of the trained RBM onto the ring Hamiltonian.
    let m = json(&kadanoff(
        d,
        &[
            "rg",
            "exact-mapping",
            "--model",
            "m.safetensors",
            "--hamiltonian",
            "ising1d",
            "--size",
            "10",
            "--coupling",
            "0.5",
            "--json",
        ],
    ));
    let kl = m["kl_divergence"].as_f64().unwrap();
    // Far closer to the ring than independent spins, whose KL is N ln 2 − S with the exact ring
    // entropy S = ln Z + K N e (ln Z = ln[(2 cosh K)^N + (2 sinh K)^N], e = −tanh K (1 + t^{N−2}) / (1 + t^N)).
    // A 6-hidden-unit RBM cannot be exact for 10 bonds; with CD-1 on 3000 samples its KL was
    // 0.20–0.41 nats over data seeds 4–7 and 30–100 epochs.
    let (n, k) = (10.0f64, 0.5f64);
    let t = k.tanh();
    let ln_z = ((2.0 * k.cosh()).powf(n) + (2.0 * k.sinh()).powf(n)).ln();
    let e = -t * (1.0 + t.powf(n - 2.0)) / (1.0 + t.powf(n));
    let kl_independent = n * std::f64::consts::LN_2 - (ln_z + k * n * e);
    assert!((kl_independent - 1.112).abs() < 1e-3, "KL of independent spins {kl_independent}");
    assert!(kl >= 0.0 && kl < 0.5 * kl_independent, "KL = {kl}");
    assert!(m["trace_violation_max"].as_f64().unwrap() >= 0.0);
    assert!(m["renormalized_couplings"].as_object().unwrap().len() > 6);
    assert!(m["fit_residual"].as_f64().unwrap().is_finite());
    // Too many spins for enumeration are refused at once.
    assert_clean_failure(
        &kadanoff(
            d,
            &[
                "rg",
                "exact-mapping",
                "--model",
                "m.safetensors",
                "--hamiltonian",
                "ising2d",
                "--size",
                "6",
                "--coupling",
                "0.4",
            ],
        ),
        "24",
    );
}

#[test]
fn training_resumes_bit_for_bit_after_an_interruption() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ring_data(d);
    let args = [
        "train",
        "--data",
        "ring.npy",
        "--layers",
        "8,4",
        "--epochs",
        "40",
        "--batch-size",
        "20",
        "--seed",
        "5",
        "--quiet",
    ];
    let reference = kadanoff(d, &[&args[..], &["--out", "a.safetensors"]].concat());
    assert!(reference.status.success());

    // Start the same run, kill it once a checkpoint exists, then resume.
    let ckpt = interrupt_after_first_checkpoint(d, &args, "b.safetensors");
    assert!(ckpt.exists(), "a checkpoint was written before the interruption");
    assert!(!d.join("b.safetensors").exists(), "the run was interrupted before it finished");
    let resumed = kadanoff(d, &[&args[..], &["--out", "b.safetensors", "--resume"]].concat());
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(
        std::fs::read(d.join("a.safetensors")).unwrap(),
        std::fs::read(d.join("b.safetensors")).unwrap()
    );
    assert!(!ckpt.exists(), "the checkpoint is removed once the model is written");
    // Resuming a finished model does not silently train it again.
    let again = kadanoff(d, &[&args[..], &["--out", "b.safetensors", "--resume"]].concat());
    assert_clean_failure(&again, "already trained");
    assert_eq!(
        std::fs::read(d.join("a.safetensors")).unwrap(),
        std::fs::read(d.join("b.safetensors")).unwrap()
    );

    // A resume with different layer sizes is refused.
    let ckpt = interrupt_after_first_checkpoint(d, &args, "c.safetensors");
    assert!(ckpt.exists());
    let bad = kadanoff(
        d,
        &[
            "train",
            "--data",
            "ring.npy",
            "--layers",
            "8,3",
            "--epochs",
            "40",
            "--batch-size",
            "20",
            "--seed",
            "5",
            "--quiet",
            "--out",
            "c.safetensors",
            "--resume",
        ],
    );
    assert_clean_failure(&bad, "different run");
}

/// Start `kadanoff <args> --out <out>` with a checkpoint after every epoch, kill it as soon as
/// the first checkpoint exists, and return the checkpoint's path.
fn interrupt_after_first_checkpoint(d: &Path, args: &[&str], out: &str) -> std::path::PathBuf {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args(args)
        .args(["--out", out])
        .current_dir(d)
        .env("KADANOFF_CHECKPOINT_SECONDS", "0")
        .spawn()
        .unwrap();
    let ckpt = d.join(format!("{out}.ckpt"));
    let t0 = std::time::Instant::now();
    while !ckpt.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    ckpt
}

#[test]
fn train_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ring_data(d);
    assert_clean_failure(
        &kadanoff(d, &["train", "--data", "ring.npy", "--batch-size", "5000", "--out", "m.safetensors"]),
        "batch",
    );
    assert_clean_failure(
        &kadanoff(d, &["train", "--data", "ring.npy", "--layers", "0", "--out", "m.safetensors"]),
        "layer",
    );
    assert_clean_failure(
        &kadanoff(d, &["train", "--data", "ring.npy", "--learning-rate=-1", "--out", "m.safetensors"]),
        "learning_rate",
    );
    assert_clean_failure(
        &kadanoff(d, &["train", "--data", "nothing.npy", "--out", "m.safetensors"]),
        "does not exist",
    );
    assert_clean_failure(&kadanoff(d, &["train", "--data", "ring.npy", "--out", "m.bin"]), "safetensors");
    // 0/1 data with spin units.
    std::fs::write(d.join("bits.npy"), npy_i8(&[2, 3], &[0, 1, 1, 1, 0, 0])).unwrap();
    assert_clean_failure(
        &kadanoff(
            d,
            &["train", "--data", "bits.npy", "--layers", "2", "--batch-size", "1", "--out", "m.safetensors"],
        ),
        "0/1",
    );
    // A model file that is not one.
    std::fs::write(d.join("bad.safetensors"), b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}").unwrap();
    assert_clean_failure(
        &kadanoff(d, &["generate", "--model", "bad.safetensors", "--out", "g.npy"]),
        "safetensors",
    );
    assert!(!d.join("m.safetensors").exists() && !d.join("g.npy").exists());
}

fn npy_i8(shape: &[usize], values: &[i8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    let mut header = format!("{{'descr': '|i1', 'fortran_order': False, 'shape': ({},), }}", dims.join(", "));
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(values.iter().map(|&v| v as u8));
    out
}

#[test]
fn rg_commands_print_exact_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = json(&kadanoff(d, &["rg", "flow-1d", "--coupling", "1", "--steps", "5", "--json"]));
    let expected = [1.0, 0.6625013737, 0.3500611389, 0.1136720675, 0.0128115420, 0.0001641177];
    for (k, e) in f["couplings"].as_array().unwrap().iter().zip(expected) {
        assert!((k.as_f64().unwrap() - e).abs() < 1e-9);
    }
    assert_eq!(f["fields"].as_array().unwrap().len(), 6);
    assert_eq!(f["constants"].as_array().unwrap().len(), 6);
    let xi = f["correlation_lengths"].as_array().unwrap();
    assert!((xi[0].as_f64().unwrap() + 1.0 / 1f64.tanh().ln()).abs() < 1e-12);

    let r = json(&kadanoff(
        d,
        &["rg", "decimation-rbm", "--size", "16", "--coupling", "1", "--layers", "2", "--json"],
    ));
    assert!(r["max_hamiltonian_error"].as_f64().unwrap() < 1e-10);
    assert!(r["trace_violation_max"].as_f64().unwrap() < 1e-10);
    assert!((r["couplings"][1].as_f64().unwrap() - 0.6625013737).abs() < 1e-9);
    assert_clean_failure(&kadanoff(d, &["rg", "decimation-rbm", "--size", "30", "--coupling", "1"]), "24");

    // Block spins of a sampled 2D data set, and MCRG on it.
    let s = kadanoff(
        d,
        &[
            "sample",
            "--size",
            "16",
            "--coupling",
            "0.4406868",
            "--samples",
            "400",
            "--out",
            "d.npy",
            "--quiet",
        ],
    );
    assert!(s.status.success());
    let b = json(&kadanoff(
        d,
        &[
            "rg", "block", "--data", "d.npy", "--rule", "majority", "--factor", "2", "--levels", "2",
            "--out", "b.npy", "--json",
        ],
    ));
    assert_eq!(b["shape"], serde_json::json!([400, 4, 4]));
    assert_clean_failure(
        &kadanoff(d, &["rg", "block", "--data", "d.npy", "--factor", "3", "--out", "c.npy"]),
        "3",
    );
    let m =
        json(&kadanoff(d, &["rg", "mcrg", "--data", "d.npy", "--factor", "2", "--levels", "2", "--json"]));
    let lt = m["levels"][0]["thermal_eigenvalue"]["mean"].as_f64().unwrap();
    assert!(lt > 1.0 && lt < 3.0, "lambda_t at level 1 = {lt}");
    assert!((m["exact"]["magnetic_eigenvalue"].as_f64().unwrap() - 3.668016).abs() < 1e-5);
    // A last level below 4×4 is analysed, with a warning (12 → 6 → 3); 4×4 is not warned about.
    let small = kadanoff(
        d,
        &["sample", "--size", "12", "--samples", "400", "--seed", "3", "--out", "s12.npy", "--quiet"],
    );
    assert!(small.status.success());
    let small = kadanoff(d, &["rg", "mcrg", "--data", "s12.npy", "--factor", "2", "--levels", "2", "--json"]);
    assert!(small.status.success(), "{}", String::from_utf8_lossy(&small.stderr));
    let stderr = String::from_utf8_lossy(&small.stderr);
    assert!(stderr.contains("warning: the last level is a 3×3 lattice"), "{stderr}");
    assert_eq!(json(&small)["levels"].as_array().map(Vec::len), Some(2));
    let fine = kadanoff(d, &["rg", "mcrg", "--data", "d.npy", "--factor", "2", "--levels", "2", "--json"]);
    assert!(!String::from_utf8_lossy(&fine.stderr).contains("warning"));
}

/// A directory holding `x.npy`: 400 configurations of the 6×6 model (36 visible units).
fn six_by_six_data() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = kadanoff(
        d,
        &["sample", "--size", "6", "--samples", "400", "--seed", "3", "--out", "x.npy", "--quiet"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[test]
fn train_reports_the_ais_run_behind_a_log_likelihood() {
    let dir = six_by_six_data();
    let d = dir.path();
    // 36 visible and 30 hidden units: too many to enumerate, so AIS.
    let train = |chains: &str| {
        let args = [
            "train",
            "--data",
            "x.npy",
            "--layers",
            "30",
            "--epochs",
            "2",
            "--ais-chains",
            chains,
            "--ais-steps",
            "20",
            "--seed",
            "5",
            "--out",
            "m.safetensors",
            "--force",
            "--json",
            "--quiet",
        ];
        json(&kadanoff(d, &args))
    };
    let v = train("8");
    let layer = &v["layers"][0];
    assert_eq!(layer["log_likelihood_method"], "ais");
    assert_eq!(layer["log_likelihood_ais"]["chains"], 8);
    assert_eq!(layer["log_likelihood_ais"]["steps"], 20);
    let est = &layer["log_likelihood_ais_estimate"];
    let ess = est["effective_sample_size"].as_f64().unwrap();
    assert!((1.0..=8.0 + 1e-9).contains(&ess), "effective sample size {ess}");
    assert_eq!(est["stderr"], layer["log_likelihood_stderr"]);
    // log-likelihood = -(mean free energy) - ln Ẑ: ln Ẑ is reported, and finite.
    assert!(est["log_z"].as_f64().unwrap().is_finite());

    let v = train("0");
    let layer = &v["layers"][0];
    assert!(layer["log_likelihood"].is_null());
    assert!(layer.get("log_likelihood_ais").is_none() && layer.get("log_likelihood_ais_estimate").is_none());
}

/// The default AIS run (32 chains × 600 steps) is skipped, with a note, when it would cost more
/// than 3% of the layer's training: on 400 samples and 2 epochs it is (2 · 32 · 600 + 400) /
/// (2 · 400 · 5) = 9.7 times the training. Naming --ais-chains or --ais-steps, or a budget
/// above that, runs it; a budget that is not a fraction >= 0 is refused.
#[test]
fn the_default_final_ais_runs_only_within_its_share_of_the_training() {
    let dir = six_by_six_data();
    let d = dir.path();
    let run = |extra: &str| {
        let args = format!("train --data x.npy --layers 30 --epochs 2 --seed 5 --out m.safetensors --force --json --quiet {extra}");
        kadanoff(d, &args.split_whitespace().collect::<Vec<_>>())
    };
    let out = run("");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no log-likelihood") && stderr.contains("--ais-budget inf"), "{stderr}");
    let layer = json(&out)["layers"][0].clone();
    assert!(layer["log_likelihood"].is_null(), "{layer}");
    let f = layer["log_likelihood_skipped_ais_work_fraction"].as_f64().unwrap();
    assert!((f - 38_800.0 / 4_000.0).abs() < 1e-9, "work fraction {f}");
    for extra in ["--ais-budget inf", "--ais-budget 9.8", "--ais-steps 600", "--ais-chains 32"] {
        let layer = json(&run(extra))["layers"][0].clone();
        assert_eq!(layer["log_likelihood_method"], "ais", "{extra}: {layer}");
        assert_eq!(layer["log_likelihood_ais"]["steps"], 600, "{extra}");
        assert!(layer.get("log_likelihood_skipped_ais_work_fraction").is_none(), "{extra}");
    }
    let layer = json(&run("--ais-steps 600 --ais-budget 9.6"))["layers"][0].clone();
    assert!(layer["log_likelihood"].is_null(), "an explicit budget holds: {layer}");
    for bad in ["-1", "NaN"] {
        let args = format!("train --data x.npy --layers 30 --out m.safetensors --force --ais-budget {bad}");
        assert_clean_failure(&kadanoff(d, &args.split_whitespace().collect::<Vec<_>>()), "--ais-budget");
    }
}

/// The final log-likelihood is exact only when enumeration is cheap: a ring of 21 spins with
/// 21 hidden units is 2^21 × 21 terms, over the default budget of 2^25, so it comes from AIS
/// (or not at all without AIS), and `--exact-likelihood` asks for the enumeration anyway.
#[test]
fn the_final_likelihood_is_exact_within_its_budget_or_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = "sample --model ising1d --size 21 --coupling 0.5 --samples 400 --algorithm metropolis --seed 4 --out ring21.npy --quiet";
    let out = kadanoff(d, &args.split_whitespace().collect::<Vec<_>>());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let train = |extra: &str| {
        let args = format!("train --data ring21.npy --layers 21 --epochs 2 --seed 2 --out m.safetensors --force --json --quiet {extra}");
        json(&kadanoff(d, &args.split_whitespace().collect::<Vec<_>>()))["layers"][0].clone()
    };
    let ais = train("--ais-chains 8 --ais-steps 50");
    assert_eq!(ais["log_likelihood_method"], "ais", "{ais}");
    let none = train("--ais-chains 0");
    assert!(none["log_likelihood"].is_null(), "over the budget and no AIS: no likelihood, {none}");
    let exact = train("--ais-chains 0 --exact-likelihood");
    assert_eq!(exact["log_likelihood_method"], "exact", "{exact}");
    let (e, a) = (exact["log_likelihood"].as_f64().unwrap(), ais["log_likelihood"].as_f64().unwrap());
    // Both are per-sample log-likelihoods of 21 spins: above -21 ln 2 - 1 and below 0.
    assert!(e < 0.0 && e > -21.0 * std::f64::consts::LN_2 - 1.0, "exact {e}");
    assert!(a < 0.0 && a > -21.0 * std::f64::consts::LN_2 - 1.0, "ais {a}");
}
