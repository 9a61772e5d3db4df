//! Table-driven hostile input for every command (issue 9): oversized sizes, counts, levels,
//! epochs and chains, NaN/inf/negative floats, zeros, missing/empty/truncated/garbage/FIFO/
//! directory inputs, lying `.npy` and safetensors headers, corrupted models, kernels, shard
//! sidecars and campaign files, bad output paths and 255-byte names.
//!
//! Each case runs in a fresh copy of the fixtures and must give exit code 2, exactly one line on
//! stderr that names the problem (progress lines would be a second line: no work was started),
//! no panic text, and no file added to or removed from its directory. A watchdog kills a case
//! that does not end within a generous limit, which fails it as a hang (not a timing assertion:
//! a refusal takes milliseconds, a hang forever).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::kadanoff;

/// Generous bound after which a case counts as hung.
const HANG: Duration = Duration::from_secs(60);

/// An `.npy` (version 1.0) with the given header dictionary and data bytes.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(header.len() as u16).to_le_bytes());
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

fn ok(out: std::process::Output) {
    assert!(out.status.success(), "fixture failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

const CAMPAIGN: &str = r#"name = "hostile"
output = "out"
model = "ising2d"
sizes = [4]
couplings = [0.3]
algorithm = "swendsen-wang"
samples = 200
chains = 1
thermalize = 50
thin = "auto"
seeds = [1]
analyses = ["stats"]

[slurm]
throttle = 1
cpus_per_task = 1
mem = "300M"
time = "00:05:00"
"#;

/// Valid inputs of every kind, and corrupted variants of each.
fn fixtures(d: &Path) {
    let q = ["--quiet"];
    ok(kadanoff(
        d,
        &[&["sample", "--size", "8", "--coupling", "0.44", "--samples", "200", "--out", "d.npy"][..], &q]
            .concat(),
    ));
    ok(kadanoff(
        d,
        &[&["sample", "--model", "ising1d", "--size", "8", "--samples", "200", "--out", "r.npy"][..], &q]
            .concat(),
    ));
    ok(kadanoff(
        d,
        &["train", "--data", "d.npy", "--layers", "16", "--epochs", "1", "--out", "m.safetensors", "--quiet"],
    ));
    ok(kadanoff(d, &["rg", "train-kernel", "--data", "d.npy", "--epochs", "1", "--out", "k.json"]));
    for i in ["0", "1"] {
        let shard = format!("{i}/2");
        ok(kadanoff(
            d,
            &[
                "sample",
                "--size",
                "8",
                "--samples",
                "400",
                "--algorithm",
                "metropolis",
                "--thermalize",
                "40",
                "--thin",
                "1",
                "--shard",
                &shard,
                "--out",
                "s.npy",
                "--quiet",
            ],
        ));
    }
    fs::write(d.join("c.toml"), CAMPAIGN).unwrap();
    fs::write(d.join("huge.toml"), CAMPAIGN.replace("sizes = [4]", "sizes = [1000000]")).unwrap();
    fs::write(d.join("nan.toml"), CAMPAIGN.replace("couplings = [0.3]", "couplings = [nan]")).unwrap();
    fs::write(d.join("big.toml"), "# ".repeat(9 << 20)).unwrap();
    let data = fs::read(d.join("d.npy")).unwrap();
    fs::write(d.join("trunc.npy"), &data[..2000]).unwrap();
    fs::write(d.join("empty.npy"), b"").unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let garbage: Vec<u8> = (0..3000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(d.join("garbage.npy"), &garbage).unwrap();
    fs::write(d.join("garbage.safetensors"), &garbage).unwrap();
    fs::write(
        d.join("lie.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (1000000000000, 8, 8), }", &[1; 900]),
    )
    .unwrap();
    fs::write(
        d.join("lie8.npy"),
        npy("{'descr': '<i8', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", &[1; 900]),
    )
    .unwrap();
    fs::write(
        d.join("fortran.npy"),
        npy("{'descr': '|i1', 'fortran_order': True, 'shape': (200, 8, 8), }", &[1; 12800]),
    )
    .unwrap();
    fs::write(
        d.join("rect.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 8, 7), }", &[1; 11200]),
    )
    .unwrap();
    fs::write(
        d.join("twos.npy"),
        npy("{'descr': '|i1', 'fortran_order': False, 'shape': (200, 8, 8), }", &[2; 12800]),
    )
    .unwrap();
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&u32::MAX.to_le_bytes());
    fs::write(d.join("v2.npy"), v2).unwrap();
    let model = fs::read(d.join("m.safetensors")).unwrap();
    fs::write(d.join("trunc.safetensors"), &model[..model.len() / 2]).unwrap();
    let mut flip = model.clone();
    flip[100] ^= 0xff;
    fs::write(d.join("flip.safetensors"), flip).unwrap();
    let mut hlie = model.clone();
    hlie[..8].copy_from_slice(&(1u64 << 62).to_le_bytes());
    fs::write(d.join("hlie.safetensors"), hlie).unwrap();
    let kernel = fs::read_to_string(d.join("k.json")).unwrap();
    fs::write(d.join("trunc.json"), &kernel[..kernel.len() / 2]).unwrap();
    fs::write(d.join("garbage.json"), "{\"kind\": [1, 2").unwrap();
    let k: serde_json::Value = serde_json::from_str(&kernel).unwrap();
    let mut lie = k.clone();
    lie["kernel"]["window"] = serde_json::json!(1_000_000_000_000u64);
    lie["kernel"]["factor"] = serde_json::json!(1_000_000_000_000u64);
    fs::write(d.join("biglie.json"), lie.to_string()).unwrap();
    let shard1 = fs::read(d.join("s.shard-1-of-2.npy")).unwrap();
    fs::write(d.join("cut.shard-1-of-2.npy"), &shard1[..shard1.len() - 10]).unwrap();
    let mut side: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("s.shard-1-of-2.json")).unwrap()).unwrap();
    side["run"]["samples"] = serde_json::json!(18446744073709551615u64);
    fs::write(d.join("edited.shard-1-of-2.json"), side.to_string()).unwrap();
    fs::create_dir(d.join("sub")).unwrap();
}

/// Special inputs that cannot be copied: FIFOs and a device link.
fn specials(d: &Path) {
    for f in ["fifo.npy", "fifo.json", "fifo.toml", "fifo.safetensors"] {
        let st = Command::new("mkfifo").arg(d.join(f)).status().unwrap();
        assert!(st.success());
    }
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.npy")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.toml")).unwrap();
}

fn copy_fixtures(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    fs::create_dir(to.join("sub")).unwrap();
    specials(to);
}

const MAX: &str = "18446744073709551615";

/// `(command line, word the one stderr line must contain)`. `NAME255` is replaced by a legal
/// 255-byte file name, `NAME256` by an illegal 256-byte one, `MAX` by `u64::MAX`.
const CASES: &[(&str, &str)] = &[
    // sample
    ("sample --size MAX --samples 10 --out o.npy", "too large"),
    ("sample --size 1000000000000 --samples 10 --algorithm wolff --out o.npy", "too large"),
    ("sample --size 46340 --samples 100 --algorithm wolff --out o.npy", "memory budget"),
    ("sample --size 46340 --samples 100 --algorithm swendsen-wang --out o.npy", "memory budget"),
    ("sample --size 8 --samples MAX --out o.npy", "memory budget"),
    ("sample --size 40000 --samples 1000000000000 --out o.npy", "memory budget"),
    ("sample --size 8 --samples 0 --out o.npy", "--samples"),
    ("sample --size 0 --samples 10 --out o.npy", "too small"),
    ("sample --size -3 --samples 10 --out o.npy", "-3"),
    ("sample --size 8 --samples 10 --chains MAX --out o.npy", "--chains"),
    ("sample --size 8 --samples 10 --chains 0 --out o.npy", "--chains"),
    ("sample --size 8 --samples 1000 --algorithm metropolis --thermalize 10 --thin MAX --out o.npy", "thin"),
    ("sample --size 8 --samples 1000 --algorithm metropolis --thermalize MAX --thin 1 --out o.npy", "thermalize"),
    ("sample --size 8 --samples 1000 --algorithm metropolis --thermalize 1000000000000000 --thin 1000000000000000 --out o.npy", "operations"),
    ("sample --size 8 --samples 10 --coupling nan --out o.npy", "finite"),
    ("sample --size 8 --samples 10 --coupling inf --out o.npy", "finite"),
    ("sample --size 8 --samples 10 --field -inf --out o.npy", "finite"),
    ("sample --size 8 --samples 100 --coupling -0.5 --out o.npy", "K >= 0"),
    ("sample --size 8 --samples 100 --seed -1 --out o.npy", "--seed"),
    ("sample --size 8 --samples 10 --out nodir/o.npy", "does not exist"),
    ("sample --size 8 --samples 10 --out sub/", "sub/"),
    ("sample --size 8 --samples 10 --out d.npy", "already exists"),
    ("sample --size 8 --samples 10 --out NAME256", "255 bytes"),
    ("sample --size 8 --samples 400 --algorithm metropolis --thermalize 40 --thin 1 --shard 2/2 --out o.npy", "shard"),
    ("sample --size 8 --samples 400 --algorithm metropolis --thermalize 40 --thin 1 --shard 0/0 --out o.npy", "shard"),
    ("sample --size 8 --samples 400 --algorithm metropolis --thermalize 40 --thin 1 --shard 0/MAX --out o.npy", "shards"),
    ("sample --size 8 --samples 10 --shard x --out o.npy", "--shard"),
    ("sample --size 8 --samples 10 --shard 0/2 --out o.npy", "--thermalize"),
    // exact
    ("exact --size MAX --coupling 0.4", "too large"),
    ("exact --model ising1d --size MAX --coupling 0.4", "too large"),
    ("exact --size 8 --coupling nan", "finite"),
    ("exact --size 0 --coupling 0.4", "too small"),
    // stats: every kind of bad data file
    ("stats missing.npy", "does not exist"),
    ("stats empty.npy", "not a valid .npy"),
    ("stats garbage.npy", "magic"),
    ("stats trunc.npy", "data bytes"),
    ("stats lie.npy", "data bytes"),
    ("stats lie8.npy", "data bytes"),
    ("stats v2.npy", "header claims"),
    ("stats fortran.npy", "fortran"),
    ("stats rect.npy", "shape"),
    ("stats twos.npy", "value 2"),
    ("stats fifo.npy", "not a regular file"),
    ("stats zero.npy", "not a regular file"),
    ("stats sub", "not a regular file"),
    ("stats d.npy --coupling nan", "finite"),
    // train
    ("train --data d.npy --layers MAX --out o.safetensors", "memory budget"),
    ("train --data d.npy --layers 0 --out o.safetensors", "--layers"),
    ("train --data d.npy --layers 16 --epochs 0 --out o.safetensors", "--epochs"),
    ("train --data d.npy --layers 16 --batch-size 0 --out o.safetensors", "batch"),
    ("train --data d.npy --layers 16 --batch-size MAX --out o.safetensors", "batch"),
    ("train --data d.npy --layers 16 --epochs MAX --out o.safetensors", "operations"),
    ("train --data d.npy --layers 16 --cd-k MAX --out o.safetensors", "operations"),
    ("train --data d.npy --layers 16 --ais-chains 10 --ais-steps MAX --out o.safetensors", "operations"),
    ("train --data d.npy --layers 16 --monitor-samples MAX --out o.safetensors", "operations"),
    ("train --data d.npy --layers 16 --ais-chains 100000000000 --out o.safetensors", "memory budget"),
    ("train --data d.npy --layers 16 --holdout nan --out o.safetensors", "holdout"),
    ("train --data d.npy --layers 16 --momentum inf --out o.safetensors", "momentum"),
    ("train --data d.npy --layers 16 --final-momentum nan --out o.safetensors", "final-momentum"),
    ("train --data d.npy --layers 16 --learning-rate -0.1 --out o.safetensors", "learning"),
    ("train --data d.npy --layers 16 --l2 1e300 --out o.safetensors", "l2"),
    ("train --data d.npy --layers 16 --init-std 1e300 --out o.safetensors", "init_std"),
    ("train --data d.npy --layers 16 --out sub", ".safetensors"),
    ("train --data d.npy --layers 16 --out nodir/o.safetensors", "does not exist"),
    ("train --data trunc.npy --layers 16 --out o.safetensors", "data bytes"),
    ("train --data lie.npy --layers 16 --out o.safetensors", "data bytes"),
    ("train --data v2.npy --layers 16 --out o.safetensors", "header claims"),
    ("train --data fifo.npy --layers 16 --out o.safetensors", "not a regular file"),
    // generate: corrupted models
    ("generate --model garbage.safetensors --out o.npy", "safetensors"),
    ("generate --model trunc.safetensors --out o.npy", "safetensors"),
    ("generate --model flip.safetensors --out o.npy", "safetensors"),
    ("generate --model hlie.safetensors --out o.npy", "header too large"),
    ("generate --model empty.npy --out o.npy", "safetensors"),
    ("generate --model fifo.safetensors --out o.npy", "not a regular file"),
    ("generate --model sub --out o.npy", "not a regular file"),
    ("generate --model m.safetensors --samples MAX --out o.npy", "memory budget"),
    ("generate --model m.safetensors --gibbs-steps MAX --out o.npy", "operations"),
    ("generate --model m.safetensors --samples 0 --out o.npy", "--samples"),
    ("generate --model m.safetensors --out nodir/o.npy", "does not exist"),
    ("generate --model m.safetensors --out sub/", "sub/"),
    ("generate --model m.safetensors --out NAME256", "255 bytes"),
    // rg
    ("rg flow-1d --coupling nan", "finite"),
    ("rg flow-1d --coupling 0.5 --steps MAX", "steps"),
    ("rg decimation-rbm --size MAX --coupling 0.5", "layers"),
    ("rg decimation-rbm --size 8 --coupling 0.5 --layers MAX", "layers"),
    ("rg decimation-rbm --size 8 --coupling inf", "finite"),
    ("rg block --data d.npy --factor 0 --out o.npy", "factor"),
    ("rg block --data d.npy --factor MAX --out o.npy", "factor"),
    ("rg block --data d.npy --levels MAX --out o.npy", "too small"),
    ("rg block --data d.npy --levels 0 --out o.npy", "--levels"),
    ("rg block --data garbage.npy --out o.npy", "magic"),
    ("rg block --data lie8.npy --out o.npy", "data bytes"),
    ("rg block --data d.npy --out sub", ".npy"),
    ("rg block --data d.npy --out nodir/o.npy", "does not exist"),
    ("rg block --data d.npy --out NAME256", "255 bytes"),
    ("rg exact-mapping --model garbage.safetensors --size 4 --coupling 0.4", "safetensors"),
    ("rg exact-mapping --model hlie.safetensors --size 8 --coupling 0.4", "header too large"),
    ("rg exact-mapping --model m.safetensors --size MAX --coupling 0.4", "too large"),
    ("rg exact-mapping --model m.safetensors --size 8 --coupling nan", "finite"),
    ("rg exact-mapping --model m.safetensors --size 8 --coupling 0.4", "visible units"),
    ("rg mcrg --data d.npy --factor 0", "factor"),
    ("rg mcrg --data d.npy --factor MAX", "factor"),
    ("rg mcrg --data d.npy --levels MAX", "too small"),
    ("rg mcrg --data d.npy --levels 3", "too small"),
    ("rg mcrg --data fifo.npy", "not a regular file"),
    ("rg mcrg --data lie.npy", "data bytes"),
    ("rg mcrg --data r.npy", "2D"),
    ("rg train-kernel --data d.npy --epochs 0 --out o.json", "epochs"),
    ("rg train-kernel --data d.npy --factor MAX --out o.json", "factor"),
    ("rg train-kernel --data d.npy --window MAX --out o.json", "window"),
    ("rg train-kernel --data d.npy --batch-size 0 --out o.json", "batch"),
    ("rg train-kernel --data d.npy --batch-size MAX --out o.json", "batch"),
    ("rg train-kernel --data d.npy --epochs MAX --out o.json", "operations"),
    ("rg train-kernel --data d.npy --cd-steps MAX --out o.json", "operations"),
    ("rg assess --kernel fifo.json --data d.npy", "not a regular file"),
    ("rg train-kernel --data d.npy --learning-rate nan --out o.json", "finite"),
    ("rg train-kernel --data d.npy --init-std -1 --out o.json", "init std"),
    ("rg train-kernel --data d.npy --out sub", ".json"),
    ("rg train-kernel --data d.npy --out nodir/o.json", "does not exist"),
    ("rg train-kernel --data lie.npy --out o.json", "data bytes"),
    ("rg assess --kernel garbage.json --data d.npy", "garbage.json"),
    ("rg assess --kernel trunc.json --data d.npy", "trunc.json"),
    ("rg assess --kernel biglie.json --data d.npy", "factor"),
    ("rg assess --kernel hlie.safetensors --data d.npy", "header too large"),
    ("rg assess --kernel k.json --data lie.npy", "data bytes"),
    ("rg assess --kernel majority --data d.npy --levels MAX", "too small"),
    ("rg assess --kernel majority --data d.npy --factor 0", "factor"),
    ("rg assess --kernel m.safetensors --data d.npy --levels 5", "one MCRG level"),
    ("rg assess --kernel majority --grid-size 8 --couplings nan", "couplings"),
    ("rg assess --kernel block-spin:nan --data d.npy", "finite"),
    ("rg assess --kernel block-spin:inf --data d.npy", "finite"),
    // flow
    ("flow --size MAX", "too large"),
    ("flow --size 0", "too small"),
    ("flow --hidden 0", "--hidden"),
    ("flow --samples 0", "samples"),
    ("flow --start nan", "finite"),
    ("flow --couplings nan", "finite"),
    ("flow --steps MAX", "--steps"),
    ("flow --samples MAX", "memory budget"),
    ("flow --samples 1000000000000", "memory budget"),
    ("flow --hidden MAX", "memory budget"),
    ("flow --epochs MAX", "operations"),
    ("flow --epochs 0", "--epochs"),
    ("flow --start-samples MAX", "memory budget"),
    ("flow --calibration-samples MAX", "operations"),
    // reproduce
    ("reproduce --out o --samples MAX", "64 bits"),
    ("reproduce --out o --samples 1000000000000", "memory budget"),
    ("reproduce --out o --samples 0", "samples"),
    ("reproduce --out o --layers MAX", "memory budget"),
    ("reproduce --out o --layers 0", "layers"),
    ("reproduce --out o --epochs MAX", "operations"),
    ("reproduce --out o --epochs 0", "epochs"),
    ("reproduce --out o --learning-rate nan", "learning_rate"),
    ("reproduce --out o --l1 -1", "l1"),
    ("reproduce --out d.npy", "d.npy"),
    // merge: missing, foreign, corrupted shards and bad outputs
    ("merge --out o.npy", "SHARDS"),
    ("merge missing.json --out o.npy", "does not exist"),
    ("merge garbage.json --out o.npy", "not a shard sidecar"),
    ("merge fifo.json --out o.npy", "not a regular file"),
    ("merge d.json --out o.npy", "not a shard sidecar"),
    ("merge d.npy --out o.npy", "not a shard sidecar"),
    ("merge s.shard-0-of-2.json --out o.npy", "missing"),
    ("merge s.shard-0-of-2.json s.shard-0-of-2.json --out o.npy", "duplicated"),
    ("merge s.shard-0-of-2.json edited.shard-1-of-2.json --out o.npy", "edited"),
    ("merge s.shard-0-of-2.json s.shard-1-of-2.json --out nodir/o.npy", "does not exist"),
    ("merge s.shard-0-of-2.json s.shard-1-of-2.json --out d.npy", "already exists"),
    ("merge s.shard-0-of-2.json s.shard-1-of-2.json --out sub/", "sub/"),
    ("merge s.shard-0-of-2.json s.shard-1-of-2.json --out NAME256", "255 bytes"),
    // campaign
    ("campaign plan missing.toml", "does not exist"),
    ("campaign plan fifo.toml", "not a regular file"),
    ("campaign plan zero.toml", "not a regular file"),
    ("campaign plan sub", "not a regular file"),
    ("campaign plan big.toml", "16.0 MiB"),
    ("campaign plan d.npy", "UTF-8"),
    ("campaign plan k.json", "k.json:1"),
    ("campaign plan huge.toml", "too large"),
    ("campaign plan nan.toml", "finite"),
    ("campaign run-task huge.toml --task 0", "too large"),
    ("campaign run-task c.toml --task MAX", "does not exist"),
    ("campaign run-task c.toml", "--task"),
    ("campaign run c.toml --jobs 0", "--jobs"),
    ("campaign merge c.toml", "missing"),
];

/// Run one case with a watchdog; `None` if it hung.
fn run_case(dir: &Path, args: &[String]) -> Option<std::process::Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_command_refuses_hostile_input_cleanly() {
    let root = tempfile::tempdir().unwrap();
    let fix = root.path().join("fixtures");
    fs::create_dir(&fix).unwrap();
    fixtures(&fix);
    let name255 = format!("{}.npy", "a".repeat(250));
    let name256 = format!("{}.npy", "a".repeat(252));
    let mut failures = Vec::new();
    for (n, (line, needle)) in CASES.iter().enumerate() {
        let dir = root.path().join(format!("case{n}"));
        fs::create_dir(&dir).unwrap();
        copy_fixtures(&fix, &dir);
        let before = listing(&dir);
        let args: Vec<String> = line
            .split_whitespace()
            .map(|w| match w {
                "MAX" => MAX.to_string(),
                "NAME255" => name255.clone(),
                "NAME256" => name256.clone(),
                w => w.replace("/MAX", &format!("/{MAX}")),
            })
            .collect();
        let Some(out) = run_case(&dir, &args) else {
            failures.push(format!("{line}: still running after {HANG:?}"));
            continue;
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut problems = Vec::new();
        if out.status.code() != Some(2) {
            problems.push(format!("exit {:?}", out.status.code()));
        }
        if stderr.lines().count() != 1 {
            problems.push(format!("{} lines on stderr", stderr.lines().count()));
        }
        if stderr.contains("panicked") || stderr.contains("memory allocation") {
            problems.push("panic or abort".into());
        }
        if !stderr.to_lowercase().contains(&needle.to_lowercase()) {
            problems.push(format!("message does not name `{needle}`"));
        }
        let after = listing(&dir);
        if after != before {
            let added: Vec<_> = after.iter().filter(|f| !before.contains(f)).collect();
            let removed: Vec<_> = before.iter().filter(|f| !after.contains(f)).collect();
            problems.push(format!("files added {added:?}, removed {removed:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!("{line}: {}: {}", problems.join(", "), stderr.trim()));
        }
        fs::remove_dir_all(&dir).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    // A legal 255-byte output name works (its temporary name stays within the limit).
    let dir = root.path().join("long");
    fs::create_dir(&dir).unwrap();
    ok(kadanoff(&dir, &["sample", "--size", "4", "--samples", "100", "--out", &name255, "--quiet"]));
    assert!(dir.join(&name255).is_file());
}
