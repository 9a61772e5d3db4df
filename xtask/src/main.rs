//! Project automation. `cargo xtask ci` runs exactly what CI runs (`.ci/run` calls it).

use std::process::Command;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => run("cargo", &["bench", "--package", "kadanoff-benches"]),
        Some("test") => test(),
        _ => {
            eprintln!("usage: cargo xtask <ci|test|bench>");
            std::process::exit(2);
        }
    }
}

/// The README's test command: the whole suite in release mode (statistical tests are fast there).
fn test() -> Result<()> {
    run("cargo", &["test", "--workspace", "--release", "--locked"])
}

fn ci() -> Result<()> {
    run("cargo", &["fmt", "--all", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    test()?;
    std::env::set_var("RUSTDOCFLAGS", "-D warnings");
    run("cargo", &["doc", "--workspace", "--no-deps", "--locked"])?;
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
