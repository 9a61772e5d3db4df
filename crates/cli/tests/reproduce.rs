//! `kadanoff reproduce --preset quick` end to end: the key numbers against exact values, a
//! well-formed self-contained report, and reuse of finished steps on a rerun.

mod common;

use common::{json, kadanoff};

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
