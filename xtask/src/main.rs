//! Project automation. `cargo xtask ci` runs exactly what CI runs (`.ci/run` calls it).
//!
//! - `ci`: `cargo fmt --check`, clippy with warnings denied, the README's test command
//!   (`cargo test --workspace --release`, with `KADANOFF_SLOW_TESTS=1`), the Slurm campaign test (`tests/slurm/run.sh`, a
//!   one-node cluster on loopback), and `cargo doc` with warnings denied;
//! - `test`: the README's test command only;
//! - `bench`: the criterion benches;
//! - `figures [--check]`: regenerate the figures shown in README.md (`docs/figures/`) from a
//!   fixed-seed `kadanoff reproduce --preset quick` and, for the "Is it RG?" flow figure, a
//!   fixed-seed `--preset rg` (a few minutes); with `--check`, fail if they would change.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Figures copied into `docs/figures/`, with the preset of the fixed-seed reproduction that
/// draws each.
const FIGURES: [(&str, &str); 6] = [
    ("quick", "fields_layer1.png"),
    ("quick", "fields_layer2.png"),
    ("quick", "fields_layer3.png"),
    ("quick", "reconstructions.png"),
    ("quick", "rg_flow.svg"),
    ("rg", "is_rg_flow.svg"),
];

/// The presets [`FIGURES`] draws from, in the order they are run.
const FIGURE_PRESETS: [&str; 2] = ["quick", "rg"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("test") => test(),
        Some("bench") => run("cargo", &["bench", "--package", "kadanoff-benches"]),
        Some("figures") => figures(args.iter().any(|a| a == "--check")),
        _ => {
            eprintln!("usage: cargo xtask <ci|test|bench|figures [--check]>");
            std::process::exit(2);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// The README's test command: the whole suite in release mode (statistical tests are fast there).
fn test() -> Result<()> {
    run("cargo", &["test", "--workspace", "--release"])
}

fn ci() -> Result<()> {
    run("cargo", &["fmt", "--all", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--release", "--", "-D", "warnings"])?;
    // CI also runs the slow demonstrations (the paper's data set, MCRG at L = 64).
    std::env::set_var("KADANOFF_SLOW_TESTS", "1");
    test()?;
    // A real one-node Slurm cluster on loopback runs a tiny campaign as an sbatch array and
    // checks the merged bytes against a local run (installs slurm-wlm and munge when missing).
    let kadanoff = root().join("target").join("release").join("kadanoff");
    let status = Command::new("bash")
        .arg(root().join("tests").join("slurm").join("run.sh"))
        .env("KADANOFF", &kadanoff)
        .status()
        .context("cannot run tests/slurm/run.sh")?;
    if !status.success() {
        bail!("tests/slurm/run.sh failed ({status})");
    }
    std::env::set_var("RUSTDOCFLAGS", "-D warnings");
    run("cargo", &["doc", "--workspace", "--no-deps", "--release"])?;
    Ok(())
}

fn figures(check: bool) -> Result<()> {
    let root = root();
    let dest = root.join("docs").join("figures");
    std::fs::create_dir_all(&dest)?;
    let mut changed = Vec::new();
    for preset in FIGURE_PRESETS {
        let work = root.join("target").join("xtask-figures").join(preset);
        let _ = std::fs::remove_dir_all(&work);
        let work_s = work.to_string_lossy().to_string();
        run(
            "cargo",
            &[
                "run",
                "--release",
                "--quiet",
                "-p",
                "kadanoff",
                "--",
                "reproduce",
                "--preset",
                preset,
                "--seed",
                "1",
                "--quiet",
                "--out",
                &work_s,
            ],
        )?;
        for (_, f) in FIGURES.iter().filter(|(p, _)| *p == preset) {
            let new = std::fs::read(work.join(f))
                .with_context(|| format!("the {preset} reproduction did not write {f}"))?;
            let old = std::fs::read(dest.join(f)).ok();
            if old.as_deref() != Some(new.as_slice()) {
                changed.push(*f);
                if !check {
                    std::fs::write(dest.join(f), &new)?;
                }
            }
        }
    }
    if check && !changed.is_empty() {
        bail!("figures out of date: {} (run `cargo xtask figures`)", changed.join(", "));
    }
    eprintln!("figures {}: {} changed", if check { "checked" } else { "written" }, changed.len());
    Ok(())
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status =
        Command::new(program).args(args).status().with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("{program} {} failed with {status}", args.join(" "));
    }
    Ok(())
}
