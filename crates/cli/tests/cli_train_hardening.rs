//! `kadanoff train` under careless or hostile input (issue 9): oversized parameters refused
//! before allocation, nonsense floats and environment values refused with range messages,
//! checkpoints checked completely against the requested run, and a failing epoch that leaves
//! the checkpoint alone. Every failure: exit code 2, one clear line, no leftover file.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::{assert_clean_failure, kadanoff};
use rbm_core::format::{decode_checkpoint, encode_checkpoint};

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
            "1000",
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

/// The directory holds exactly `names` (no model, no temporary file).
fn assert_only(d: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
}

fn train(d: &Path, extra: &[&str]) -> Output {
    let base = ["train", "--data", "ring.npy", "--batch-size", "20", "--out", "m.safetensors", "--quiet"];
    kadanoff(d, &[&base[..], extra].concat())
}

#[test]
fn oversized_parameters_and_nonsense_values_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ring_data(d);
    let files = ["ring.npy", "ring.json"];
    let cases: &[(&[&str], &str)] = &[
        (&["--layers", "1000000000"], "memory budget"),
        (&["--layers", "18446744073709551615"], "memory budget"),
        (&["--layers", "4,18446744073709551615"], "memory"),
        (&["--ais-chains", "100000000000"], "memory budget"),
        (&["--final-momentum", "nan"], "--final-momentum"),
        (&["--final-momentum", "1.5"], "momentum"),
        (&["--momentum", "nan"], "momentum"),
        (&["--learning-rate", "-0.1"], "--learning-rate"),
        (&["--learning-rate", "inf"], "--learning-rate"),
        (&["--l1", "1e300"], "--l1: invalid l1 = 1e300: must be in [0, 1]"),
        (&["--l2", "1e300"], "--l2: invalid l2 = 1e300: must be in [0, 1]"),
        (&["--l1", "-1"], "--l1"),
        (&["--init-std", "1e300"], "--init-std: invalid init_std = 1e300: must be in [0, 10]"),
        (&["--holdout", "nan"], "--holdout"),
        (&["--epochs", "0"], "--epochs"),
        (&["--cd-k", "0"], "--cd-k"),
    ];
    for (args, needle) in cases {
        let out = train(d, args);
        assert_clean_failure(&out, needle);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("smaller --learning-rate"), "{args:?}: {stderr}");
        assert_only(d, &files);
    }
    for bad in ["nan", "-1", "1e300", "soon"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
            .args(["train", "--data", "ring.npy", "--batch-size", "20", "--out", "m.safetensors", "--quiet"])
            .current_dir(d)
            .env("KADANOFF_CHECKPOINT_SECONDS", bad)
            .output()
            .unwrap();
        assert_clean_failure(&out, "KADANOFF_CHECKPOINT_SECONDS");
        assert_only(d, &files);
    }
}

/// Trains `args` with a checkpoint after every epoch and stops it (killed) once the checkpoint
/// holds `finished` finished layers.
fn interrupted(d: &Path, args: &[&str], out: &str) -> std::path::PathBuf {
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
    assert!(ckpt.exists());
    ckpt
}

const ARGS: [&str; 12] = [
    "train",
    "--data",
    "ring.npy",
    "--layers",
    "6,3",
    "--epochs",
    "300",
    "--batch-size",
    "20",
    "--seed",
    "5",
    "--quiet",
];

#[test]
fn checkpoints_are_checked_against_the_requested_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ring_data(d);
    let ckpt = interrupted(d, &ARGS, "m.safetensors");
    let good = std::fs::read(&ckpt).unwrap();
    let resume =
        |extra: &[&str]| kadanoff(d, &[&ARGS[..], &["--out", "m.safetensors", "--resume"], extra].concat());
    let edit = |f: &dyn Fn(&mut rbm_core::GreedyState<f32>)| {
        let mut c = decode_checkpoint(&good).unwrap();
        f(&mut c.state);
        let meta: BTreeMap<String, String> = c.metadata.into_iter().filter(|(k, _)| k == "run").collect();
        std::fs::write(&ckpt, encode_checkpoint(&c.state, &meta).unwrap()).unwrap();
    };

    // Other settings than the checkpoint's: the message names the setting.
    let other = kadanoff(
        d,
        &[
            "train",
            "--data",
            "ring.npy",
            "--layers",
            "6,3",
            "--epochs",
            "301",
            "--batch-size",
            "20",
            "--seed",
            "5",
            "--quiet",
            "--out",
            "m.safetensors",
            "--resume",
        ],
    );
    assert_clean_failure(&other, "layer 1 epochs");
    assert_clean_failure(&other, "different run");
    // A checkpoint edited to hold 10^9 epochs, a trainer of another width, or a finished layer
    // of the wrong shape, is refused (never resumed into a model that does not match --layers).
    edit(&|s| s.config.layers.iter_mut().for_each(|l| l.train.epochs = 1_000_000_000));
    assert_clean_failure(&resume(&[]), "epochs");
    edit(&|s| {
        let t = s.current.as_mut().unwrap();
        let wide = rbm_core::Rbm::zeros(10, 7, rbm_core::Units::Spin, rbm_core::Units::Spin).unwrap();
        t.model = wide;
        t.velocity_weights = ndarray::Array2::zeros((10, 7));
        t.velocity_hidden = ndarray::Array1::zeros(7);
        s.config.layers[0].n_hidden = 7;
    });
    let out = resume(&[]);
    assert_clean_failure(&out, "different run");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("learning-rate"));
    edit(&|s| {
        s.finished =
            vec![rbm_core::Rbm::zeros(10, 32, rbm_core::Units::Spin, rbm_core::Units::Spin).unwrap()];
        s.history.insert(0, vec![]);
    });
    assert_clean_failure(&resume(&[]), "unusable");
    // Junk bytes: the message names the file.
    std::fs::write(&ckpt, b"not a checkpoint at all").unwrap();
    assert_clean_failure(&resume(&[]), "m.safetensors.ckpt");
    assert!(!d.join("m.safetensors").exists());
    // With --force a checkpoint of another run is set aside and training starts over.
    let forced = kadanoff(
        d,
        &[
            "train",
            "--data",
            "ring.npy",
            "--layers",
            "6,3",
            "--epochs",
            "3",
            "--batch-size",
            "20",
            "--seed",
            "5",
            "--quiet",
            "--out",
            "m.safetensors",
            "--resume",
            "--force",
        ],
    );
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert!(d.join("m.safetensors").exists() && !ckpt.exists());
}

#[test]
fn a_failing_epoch_leaves_the_checkpoint_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ring_data(d);
    let ckpt = interrupted(d, &ARGS, "m.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    // A run that diverges at once (learning rate 1e38) with a checkpoint after every epoch.
    let out = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args([
            "train",
            "--data",
            "ring.npy",
            "--layers",
            "6,3",
            "--batch-size",
            "20",
            "--learning-rate",
            "1e38",
        ])
        .args(["--out", "m.safetensors", "--quiet"])
        .current_dir(d)
        .env("KADANOFF_CHECKPOINT_SECONDS", "0")
        .output()
        .unwrap();
    assert_clean_failure(&out, "diverged");
    assert_clean_failure(&out, "smaller --learning-rate");
    assert_eq!(std::fs::read(&ckpt).unwrap(), before, "the checkpoint is untouched");
    assert!(!d.join("m.safetensors").exists());
    // The checkpoint still resumes.
    let resumed = kadanoff(d, &[&ARGS[..], &["--out", "m.safetensors", "--resume"]].concat());
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
}
