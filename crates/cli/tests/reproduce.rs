//! `kadanoff reproduce --preset quick` end to end: the key numbers against exact values, a
//! well-formed self-contained report, and reuse of finished steps on a rerun.

mod common;

use common::{assert_clean_failure, json, kadanoff};

#[test]
fn quick_reproduction_matches_exact_values_and_is_reusable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = json(&kadanoff(d, &["reproduce", "--out", "study", "--json", "--quiet"]));

    // The Monte Carlo data agree with Kaufman's exact energy on the 40×40 torus at K = 0.408.
    let e = &v["data"]["observables"]["energy_per_site"];
    let (mean, err) = (e["mean"].as_f64().unwrap(), e["stderr"].as_f64().unwrap());
    let exact = v["data"]["exact"]["energy_per_site"].as_f64().unwrap();
    assert!((exact - (-1.1518211508)).abs() < 1e-9, "exact reference is Kaufman's value");
    assert!(err > 0.0 && err < 0.003, "stderr {err}");
    assert!((mean - exact).abs() < 4.0 * err, "e = {mean} ± {err}, exact {exact}");
    let c = &v["data"]["observables"]["specific_heat_per_site"];
    let (cm, ce) = (c["mean"].as_f64().unwrap(), c["stderr"].as_f64().unwrap());
    assert!((cm - 0.9946704747).abs() < 4.0 * ce, "c = {cm} ± {ce}");

    // Every layer was trained and reports its metrics.
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for l in layers {
        assert!(l["reconstruction_error"].as_f64().unwrap().is_finite());
        assert!(l["pseudo_log_likelihood"].as_f64().unwrap() < 0.0);
    }
    // The exact 1D RBM realisation of decimation is exact.
    assert!(v["rg1d"]["max_hamiltonian_error"].as_f64().unwrap() < 1e-10);

    // The rg step's exact mapping: the bond RBM is an exact RG step, the trained RBM is not.
    let steps_rg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("study/steps/rg1d.json")).unwrap()).unwrap();
    let m = &steps_rg["result"]["trained_mapping"];
    assert!(m["bond_rbm"]["kl_divergence"].as_f64().unwrap().abs() < 1e-10);
    assert!(m["bond_rbm"]["trace_violation_max"].as_f64().unwrap() < 1e-10);
    let kl = m["trained"]["kl_divergence"].as_f64().unwrap();
    assert!(kl >= -1e-12 && kl.is_finite(), "KL = {kl}");

    // "Is it RG?": four kernels, the DBN's 1600 → 400 layer tiling the 20×20 coarse lattice;
    // majority rule's level-2 λ_h (16 → 8) within 4σ of 2^{15/8}, with σ < 0.01.
    let rows = v["is_rg"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["kernel"], "majority");
    let lh = &rows[0]["lambda_h_level2"];
    let (m, s) = (lh["mean"].as_f64().unwrap(), lh["stderr"].as_f64().unwrap());
    assert!(s > 0.0 && s < 0.01 && (m - 2f64.powf(15.0 / 8.0)).abs() < 4.0 * s, "λ_h = {m} ± {s}");
    assert!(rows[3]["fixed_point"].is_null(), "no matching for the dense layer");
    assert!(v["is_rg"]["reading"].as_str().unwrap().contains("majority rule"));

    // The report is self-contained and embeds every figure it names.
    let html = std::fs::read_to_string(d.join("study/report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(!html.contains("http://") && !html.contains("https://"), "no network references");
    for id in [
        "training-reconstruction",
        "fields-layer1",
        "fields-layer2",
        "fields-layer3",
        "reconstructions",
        "generated",
        "correlations",
        "rg-flow",
        "is-rg-flow",
    ] {
        assert!(html.contains(&format!("id=\"fig-{id}\"")), "figure {id} is in the report");
    }
    assert_eq!(html.matches("<img").count(), html.matches("src=\"data:image/png;base64,").count());
    for f in
        ["data.npy", "data.json", "model.safetensors", "fields_layer1.npy", "generated.npy", "blocks.npy"]
    {
        assert!(d.join("study").join(f).exists(), "{f} is kept");
    }

    // A rerun reuses every finished step.
    let again = json(&kadanoff(d, &["reproduce", "--out", "study", "--json", "--quiet"]));
    for s in again["steps"].as_array().unwrap() {
        assert_eq!(s["reused"], true, "step {} reused", s["name"]);
    }
    assert_eq!(again["data"], v["data"]);
}

#[test]
fn bad_settings_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, needle) in [
        (&["--epochs", "0"][..], "epochs"),
        (&["--layers", "400,0"][..], "layers"),
        (&["--learning-rate", "-0.1"][..], "learning"),
        (&["--learning-rate", "nan"][..], "learning"),
        (&["--l1", "-1"][..], "l1"),
        (&["--samples", "10"][..], "samples"),
        (&["--samples", "100000000000"][..], "memory budget"),
    ] {
        let mut all = vec!["reproduce", "--out", "study", "--quiet"];
        all.extend(args);
        assert_clean_failure(&kadanoff(d, &all), needle);
        assert!(!d.join("study").exists(), "{args:?}: refused before creating anything");
    }
}

/// A small study: 200 configurations, a 1600 → 16 → 4 DBN, 2 epochs.
const SMALL: [&str; 10] =
    ["reproduce", "--out", "small", "--samples", "200", "--layers", "16,4", "--epochs", "2", "--json"];

fn steps_reused(v: &serde_json::Value) -> Vec<(String, bool)> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().into(), s["reused"] == true))
        .collect()
}

#[test]
fn stale_checkpoints_are_discarded_and_changed_outputs_are_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An interrupted training of other settings leaves a checkpoint behind.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args([
            "reproduce",
            "--out",
            "small",
            "--samples",
            "200",
            "--layers",
            "32",
            "--epochs",
            "200",
            "--quiet",
        ])
        .current_dir(d)
        .env("KADANOFF_CHECKPOINT_SECONDS", "0")
        .spawn()
        .unwrap();
    let ckpt = d.join("small/model.safetensors.ckpt");
    let t0 = std::time::Instant::now();
    while !ckpt.exists() && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ckpt.exists(), "a checkpoint was written before the interruption");

    // A run with other settings discards it instead of failing, and says so.
    let out = kadanoff(d, &SMALL);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let first = json(&out);
    assert!(stderr.contains("discarding the checkpoint"), "{stderr}");
    assert!(!stderr.contains("--resume"), "no advice about options reproduce lacks: {stderr}");
    assert!(!ckpt.exists());
    assert_eq!(first["layers"].as_array().unwrap().len(), 2);

    // Truncate the model and overwrite the data: both steps are recomputed, the rest reused.
    let model = d.join("small/model.safetensors");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(d.join("small/generated.npy"), d.join("small/data.npy")).unwrap();
    let again = json(&kadanoff(d, &SMALL));
    let reused = steps_reused(&again);
    assert_eq!(
        reused,
        [
            ("sample".into(), false),
            ("train".into(), false),
            ("analysis".into(), true),
            ("rg1d".into(), true),
            ("is_rg".into(), true)
        ]
    );
    assert_eq!(again["data"], first["data"], "the recomputed data are the same");
    assert_eq!(std::fs::read(&model).unwrap(), bytes, "the recomputed model is the same, byte for byte");

    // With --force, even an unreadable checkpoint is discarded and every step is redone.
    std::fs::write(&ckpt, b"not a checkpoint").unwrap();
    let mut forced = SMALL.to_vec();
    forced.push("--force");
    let forced = json(&kadanoff(d, &forced));
    assert!(steps_reused(&forced).iter().all(|(_, r)| !r));
    assert!(!ckpt.exists());
}
