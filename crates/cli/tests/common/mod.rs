//! Helpers for end-to-end tests of the `kadanoff` binary.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Run the binary with `args` in `dir`.
pub fn kadanoff(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("the kadanoff binary runs")
}

/// Assert a clean failure: exit code 2, one clear line on stderr, no panic.
pub fn assert_clean_failure(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "expected exit code 2, stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "stderr should mention `{needle}`: {stderr}"
    );
}

/// Parse stdout as one JSON object.
pub fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "command failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}
