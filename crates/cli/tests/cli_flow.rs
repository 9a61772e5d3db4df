//! End to end: `kadanoff flow` on a small torus prints a well-formed result whose numbers are
//! the library's (the same JSON for one and two threads), and refuses bad input cleanly.

mod common;

use common::{assert_clean_failure, json, kadanoff};

const SMALL: &[&str] = &[
    "flow",
    "--size",
    "6",
    "--couplings",
    "0.2,0.44,0.7",
    "--samples",
    "200",
    "--hidden",
    "8,12",
    "--epochs",
    "2",
    "--start",
    "0.3,0.6",
    "--start-samples",
    "100",
    "--steps",
    "3",
    "--last",
    "2",
    "--seed",
    "3",
    "--json",
];

#[test]
fn flow_prints_every_reading_and_the_fixed_point() {
    let d = tempfile::tempdir().unwrap();
    let v = json(&kadanoff(d.path(), SMALL));
    let r = &v["result"];
    assert!((r["k_critical"].as_f64().unwrap() - 0.5 * (1.0 + 2f64.sqrt()).ln()).abs() < 1e-15);
    let by_hidden = r["by_hidden"].as_array().unwrap();
    assert_eq!(by_hidden.len(), 2);
    for (h, expected) in by_hidden.iter().zip([8, 12]) {
        assert_eq!(h["hidden"], expected);
        let flows = h["flows"].as_array().unwrap();
        assert_eq!(flows.len(), 2);
        for (f, k0) in flows.iter().zip([0.3, 0.6]) {
            assert_eq!(f["start_coupling"].as_f64().unwrap(), k0);
            assert_eq!(f["mode"], "sampled");
            let steps = f["steps"].as_array().unwrap();
            assert_eq!(steps.len(), 4);
            for (i, s) in steps.iter().enumerate() {
                assert_eq!(s["step"], i);
                assert!(s["coupling"]["mean"].as_f64().unwrap().is_finite());
                assert!(s["coupling"]["stderr"].as_f64().unwrap() < 0.1);
            }
        }
        let fp = &h["fixed_point"];
        assert_eq!(fp["readings"], 4);
        assert_eq!(fp["per_flow"].as_array().unwrap().len(), 2);
    }
    // Reproducible whatever the number of threads.
    let one = std::process::Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args(SMALL)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert_eq!(json(&one), v);
}

#[test]
fn flow_refuses_bad_input() {
    let d = tempfile::tempdir().unwrap();
    assert_clean_failure(
        &kadanoff(d.path(), &["flow", "--size", "1", "--steps", "2", "--last", "1"]),
        "size",
    );
    assert_clean_failure(&kadanoff(d.path(), &["flow", "--hidden", "0"]), "hidden");
    assert_clean_failure(&kadanoff(d.path(), &["flow", "--steps", "3", "--last", "9"]), "last");
    assert_clean_failure(
        &kadanoff(
            d.path(),
            &["flow", "--size", "6", "--couplings", "0.2,nan", "--samples", "200", "--epochs", "1"],
        ),
        "coupling",
    );
}

#[test]
fn flow_writes_one_figure_per_hidden_size_and_a_report() {
    let d = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = SMALL.to_vec();
    args.extend(["--out", "fig", "--calibration-samples", "400"]);
    let v = json(&kadanoff(d.path(), &args));
    // The |m| read-out: one entry per hidden size, flow and step.
    let abs_m = v["coupling_from_abs_m"].as_array().unwrap();
    assert_eq!(abs_m.len(), 2);
    assert_eq!(abs_m[0].as_array().unwrap()[0].as_array().unwrap().len(), 4);
    assert_eq!(v["calibration"]["couplings"].as_array().unwrap().len(), 21);
    for h in [8, 12] {
        let svg = std::fs::read_to_string(d.path().join(format!("fig/flow_h{h}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("K_c = 0.4407"), "flow_h{h}.svg");
    }
    let html = std::fs::read_to_string(d.path().join("fig/flow_report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("K* − K_c"));
    // Existing outputs are refused before any work, without --force.
    assert_clean_failure(&kadanoff(d.path(), &args), "exists");
}
