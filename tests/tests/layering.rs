//! The workspace's one-way layering, read from `cargo metadata`:
//! `lattice-physics` and `rbm-core` depend on no workspace crate, `rg-transforms` on those two,
//! `kadanoff-analysis` on the three, `kadanoff` (the CLI) on all. Any other edge fails.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let leaves: [&str; 0] = [];
    let mut m = BTreeMap::new();
    m.insert("lattice-physics", leaves.iter().copied().collect());
    m.insert("rbm-core", BTreeSet::new());
    m.insert("rg-transforms", ["lattice-physics", "rbm-core"].into_iter().collect());
    m.insert("kadanoff-analysis", ["lattice-physics", "rbm-core", "rg-transforms"].into_iter().collect());
    m.insert(
        "kadanoff",
        ["lattice-physics", "rbm-core", "rg-transforms", "kadanoff-analysis"].into_iter().collect(),
    );
    // Tooling may use any library crate; no library crate may use tooling.
    let libs = ["lattice-physics", "rbm-core", "rg-transforms", "kadanoff-analysis"];
    m.insert("kadanoff-benches", libs.into_iter().collect());
    m.insert("kadanoff-tests", libs.into_iter().chain(["kadanoff"]).collect());
    m.insert("xtask", BTreeSet::new());
    m
}

#[test]
fn workspace_dependencies_respect_the_layering() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages array");
    let names: BTreeSet<String> = packages.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    let allowed = allowed();
    for name in &names {
        assert!(allowed.contains_key(name.as_str()), "workspace crate {name} is not in the layering table");
    }
    for p in packages {
        let name = p["name"].as_str().unwrap();
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            if names.contains(dep) {
                assert!(
                    allowed[name].contains(dep),
                    "layering violation: {name} depends on workspace crate {dep}"
                );
            }
        }
    }
}

#[test]
fn layering_table_forbids_upward_edges() {
    // The test above can fail: a leaf crate may not depend on anything in the workspace.
    let a = allowed();
    assert!(a["lattice-physics"].is_empty());
    assert!(a["rbm-core"].is_empty());
    assert!(!a["rg-transforms"].contains("kadanoff-analysis"));
}
