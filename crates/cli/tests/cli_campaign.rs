//! End-to-end tests of `kadanoff campaign` (plan, run, run-task, merge and every refusal of
//! merge) and of sharded sampling (`sample --shard`, `merge`).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{assert_clean_failure, kadanoff};
use serde_json::Value;

fn campaign_toml(couplings: &str) -> String {
    format!(
        r#"# a tiny campaign
name = "e2e"
output = "out"
model = "ising2d"
sizes = [4, 8]
couplings = {couplings}
algorithm = "swendsen-wang"
samples = 600
chains = 2
thermalize = 100
thin = "auto"
seeds = [1, 2]
analyses = ["stats", "mcrg"]
mcrg = {{ factor = 2, levels = 1 }}

[slurm]
throttle = 3
cpus_per_task = 1
mem = "300M"
time = "00:05:00"
"#
    )
}

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "command failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn campaign_plan_run_merge_and_every_refusal_of_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("c.toml"), campaign_toml("[0.3, 0.4406868]")).unwrap();

    // plan: the task table in its stable order and the array script.
    ok(&kadanoff(d, &["campaign", "plan", "c.toml"]));
    let table = read_json(&d.join("out/tasks.json"));
    let tasks = table["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 8);
    let mut seeds = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        assert_eq!(t["index"], i);
        assert_eq!(t["size"], if i < 4 { 4 } else { 8 });
        assert_eq!(t["seed"], 1 + (i % 2) as u64);
        seeds.push(t["derived_seed"].as_u64().unwrap());
        // MCRG needs L / 2 ≥ 4: only the L = 8 points.
        assert_eq!(t["analyses"].as_array().unwrap().len(), if i < 4 { 1 } else { 2 });
    }
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 8, "every task has its own seed");
    let script = fs::read_to_string(d.join("out/campaign.sbatch")).unwrap();
    for needle in [
        "#SBATCH --array=0-7%3",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --mem=300M",
        "#SBATCH --time=00:05:00",
        "#SBATCH --output=logs/%A_%a.out",
        "campaign run-task",
        "$SLURM_ARRAY_TASK_ID",
    ] {
        assert!(script.contains(needle), "sbatch script lacks {needle}:\n{script}");
    }
    assert!(d.join("out/logs").is_dir());

    // run, then merge: every point against Kaufman's exact energy and specific heat.
    ok(&kadanoff(d, &["campaign", "run", "c.toml", "--jobs", "2"]));
    ok(&kadanoff(d, &["campaign", "merge", "c.toml"]));
    let summary = read_json(&d.join("out/summary.json"));
    let points = summary["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    for p in points {
        let (l, k) = (p["size"].as_u64().unwrap() as usize, p["coupling"].as_f64().unwrap());
        let exact = lattice_physics::exact::kaufman(l, k).unwrap();
        for (name, x) in [
            ("energy_per_site", exact.energy_per_site),
            ("specific_heat_per_site", exact.specific_heat_per_site),
        ] {
            let o = &p["observables"][name];
            let (mean, err) = (o["mean"].as_f64().unwrap(), o["stderr"].as_f64().unwrap());
            assert_eq!(o["exact"].as_f64(), Some(x));
            assert!(err > 0.0 && err < 0.1, "{name} at L={l}, K={k}: stderr {err}");
            assert!((mean - x).abs() < 4.0 * err, "{name} at L={l}, K={k}: {mean} ± {err}, exact {x}");
        }
        assert_eq!(p["observables"]["energy_per_site"]["seeds"].as_array().unwrap().len(), 2);
    }
    for f in ["energy_per_site", "specific_heat_per_site", "mcrg_y_t_level_1"] {
        let svg = fs::read_to_string(d.join(format!("out/figures/{f}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{f}.svg is not an SVG");
    }
    assert!(fs::read_to_string(d.join("out/summary.txt")).unwrap().contains("energy_per_site"));

    // The same campaign with one job gives the same bytes.
    let d1 = d.join("one-job");
    fs::create_dir(&d1).unwrap();
    fs::write(d1.join("c.toml"), campaign_toml("[0.3, 0.4406868]")).unwrap();
    ok(&kadanoff(&d1, &["campaign", "run", "c.toml", "--jobs", "1"]));
    ok(&kadanoff(&d1, &["campaign", "merge", "c.toml"]));
    assert_eq!(fs::read(d.join("out/summary.json")).unwrap(), fs::read(d1.join("out/summary.json")).unwrap());
    for t in 0..8 {
        for f in ["spins.npy", "stats.json", "spins.json"] {
            let p = format!("out/tasks/task-{t:04}/{f}");
            assert_eq!(fs::read(d.join(&p)).unwrap(), fs::read(d1.join(&p)).unwrap(), "{p}");
        }
    }

    // Rerunning skips verified tasks; a task whose output was damaged is rerun.
    let spins3 = d.join("out/tasks/task-0003/spins.npy");
    let good3 = fs::read(&spins3).unwrap();
    fs::write(&spins3, &good3[..good3.len() - 7]).unwrap();
    let out = ok(&kadanoff(d, &["campaign", "run", "c.toml"]));
    assert!(out.contains("7 already finished and verified, 1 to run"), "{out}");
    assert_eq!(fs::read(&spins3).unwrap(), good3);

    // A failed task is rerun alone, by --task or by $SLURM_ARRAY_TASK_ID.
    fs::remove_dir_all(d.join("out/tasks/task-0006")).unwrap();
    assert_clean_failure(&kadanoff(d, &["campaign", "merge", "c.toml"]), "missing");
    let status = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args(["campaign", "run-task", "c.toml"])
        .current_dir(d)
        .env("SLURM_ARRAY_TASK_ID", "6")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    ok(&status);
    assert_eq!(
        fs::read(d.join("out/tasks/task-0006/spins.npy")).unwrap(),
        fs::read(d1.join("out/tasks/task-0006/spins.npy")).unwrap()
    );
    assert_clean_failure(&kadanoff(d, &["campaign", "run-task", "c.toml", "--task", "8"]), "does not exist");

    // Every refusal of merge: one clear line, exit code 2, and no summary written.
    let refuse = |needle: &str| {
        fs::remove_file(d.join("out/summary.json")).ok();
        assert_clean_failure(&kadanoff(d, &["campaign", "merge", "c.toml"]), needle);
        assert!(!d.join("out/summary.json").exists(), "a refused merge wrote a summary ({needle})");
    };
    // missing
    fs::rename(d.join("out/tasks/task-0005"), d.join("task-0005-away")).unwrap();
    refuse("missing");
    fs::rename(d.join("task-0005-away"), d.join("out/tasks/task-0005")).unwrap();
    // duplicated
    copy_dir(&d.join("out/tasks/task-0002"), &d.join("out/tasks/task-0002-copy"));
    refuse("duplicated");
    fs::remove_dir_all(d.join("out/tasks/task-0002-copy")).unwrap();
    // a task of another campaign
    let other = d.join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("c.toml"), campaign_toml("[0.3, 0.5]")).unwrap();
    ok(&kadanoff(&other, &["campaign", "run-task", "c.toml", "--task", "0"]));
    fs::rename(d.join("out/tasks/task-0000"), d.join("task-0000-away")).unwrap();
    copy_dir(&other.join("out/tasks/task-0000"), &d.join("out/tasks/task-0000"));
    refuse("another campaign");
    fs::remove_dir_all(d.join("out/tasks/task-0000")).unwrap();
    fs::rename(d.join("task-0000-away"), d.join("out/tasks/task-0000")).unwrap();
    // truncated
    let stats = d.join("out/tasks/task-0004/stats.json");
    let good = fs::read(&stats).unwrap();
    fs::write(&stats, &good[..good.len() / 2]).unwrap();
    refuse("truncated");
    // corrupted (same length, one byte changed)
    let mut bad = good.clone();
    let i = bad.iter().position(|&b| b == b'1').unwrap();
    bad[i] = b'2';
    fs::write(&stats, &bad).unwrap();
    refuse("corrupted");
    fs::write(&stats, &good).unwrap();
    ok(&kadanoff(d, &["campaign", "merge", "c.toml"]));
    assert_eq!(fs::read(d.join("out/summary.json")).unwrap(), fs::read(d1.join("out/summary.json")).unwrap());
}

#[test]
fn campaign_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (campaign_toml("[0.3]").replace("chains = 2", "chains = 2\ncolour = 3"), "colour"),
        (campaign_toml("[0.3, 0.3]"), "twice"),
        (campaign_toml("[0.3]").replace("\"swendsen-wang\"", "\"glauber\""), "algorithm"),
        (campaign_toml("[0.3]").replace("[\"stats\", \"mcrg\"]", "[\"mcrg\"]"), "stats"),
        (campaign_toml("[0.3]").replace("mem = \"300M\"", "mem = \"1G\\nrm -rf /\""), "mem"),
        (campaign_toml("[1e9]"), "coupling"),
        (campaign_toml("[0.3]").replace("thin = \"auto\"", "thin = \"often\""), "thin = \"often\""),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let f = format!("bad{i}.toml");
        fs::write(d.join(&f), text).unwrap();
        assert_clean_failure(&kadanoff(d, &["campaign", "plan", &f]), needle);
        assert!(!d.join("out").exists(), "a refused plan left files");
    }
    assert_clean_failure(&kadanoff(d, &["campaign", "plan", "absent.toml"]), "absent.toml does not exist");
}

const RUN: [&str; 16] = [
    "sample",
    "--size",
    "8",
    "--coupling",
    "0.44",
    "--samples",
    "1001",
    "--chains",
    "5",
    "--thermalize",
    "100",
    "--thin",
    "3",
    "--algorithm",
    "swendsen-wang",
    "--quiet",
];

fn sample(d: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&str> = RUN.to_vec();
    args.extend_from_slice(extra);
    kadanoff(d, &args)
}

#[test]
fn shards_merge_into_the_single_run_and_bad_shards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&sample(d, &["--seed", "7", "--out", "single.npy"]));
    for i in 0..3 {
        ok(&sample(d, &["--seed", "7", "--out", "run.npy", "--shard", &format!("{i}/3")]));
    }
    let shard = |i: usize| format!("run.shard-{i}-of-3.json");
    ok(&kadanoff(d, &["merge", &shard(0), &shard(1), &shard(2), "--out", "merged.npy"]));
    assert_eq!(fs::read(d.join("single.npy")).unwrap(), fs::read(d.join("merged.npy")).unwrap());
    let (a, b) = (read_json(&d.join("single.json")), read_json(&d.join("merged.json")));
    for key in ["observables", "autocorrelation", "thermalize", "thin", "shape", "seed", "exact"] {
        assert_eq!(a[key], b[key], "{key}");
    }

    // The shard Slurm names from its environment is the same shard.
    fs::create_dir(d.join("env")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kadanoff"))
        .args(RUN)
        .args(["--seed", "7", "--out", "env/run.npy"])
        .current_dir(d)
        .env("SLURM_ARRAY_TASK_ID", "11")
        .env("SLURM_ARRAY_TASK_MIN", "10")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(
        fs::read(d.join("env/run.shard-1-of-3.npy")).unwrap(),
        fs::read(d.join("run.shard-1-of-3.npy")).unwrap()
    );

    // Refusals: one clear line, exit code 2, nothing written.
    let refuse = |args: &[&str], needle: &str| {
        let mut all = vec!["merge"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", "refused.npy"]);
        assert_clean_failure(&kadanoff(d, &all), needle);
        assert!(!d.join("refused.npy").exists() && !d.join("refused.json").exists());
    };
    refuse(&[&shard(0), &shard(2)], "missing");
    refuse(&[&shard(0), &shard(1), &shard(1), &shard(2)], "duplicated");
    ok(&sample(d, &["--seed", "8", "--out", "other.npy", "--shard", "1/3"]));
    refuse(&[&shard(0), "other.shard-1-of-3.json", &shard(2)], "different runs");
    let data = d.join("run.shard-2-of-3.npy");
    let good = fs::read(&data).unwrap();
    fs::write(&data, &good[..good.len() - 10]).unwrap();
    refuse(&[&shard(0), &shard(1), &shard(2)], "truncated");
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] = -(bad[last] as i8) as u8;
    fs::write(&data, &bad).unwrap();
    refuse(&[&shard(0), &shard(1), &shard(2)], "corrupted");
    fs::write(&data, &good).unwrap();
    let series = d.join("run.shard-0-of-3.series.npy");
    let good_series = fs::read(&series).unwrap();
    let mut bad = good_series.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    fs::write(&series, &bad).unwrap();
    refuse(&[&shard(0), &shard(1), &shard(2)], "corrupted");
    fs::write(&series, &good_series).unwrap();

    // Sharding needs fixed settings, and no more shards than chains.
    let mut auto: Vec<&str> = RUN.to_vec();
    auto[12] = "auto";
    auto.extend_from_slice(&["--out", "a.npy", "--shard", "0/2"]);
    assert_clean_failure(&kadanoff(d, &auto), "--thin");
    assert_clean_failure(&sample(d, &["--out", "b.npy", "--shard", "0/6"]), "chains");
    assert_clean_failure(&sample(d, &["--out", "b.npy", "--shard", "3/3"]), "below");
    assert_clean_failure(&sample(d, &["--out", "b.npy", "--shard", "x"]), "I/N");
}

#[test]
fn the_readme_example_campaign_plans() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/campaign-example.toml");
    fs::copy(example, dir.path().join("scan.toml")).unwrap();
    ok(&kadanoff(dir.path(), &["campaign", "plan", "scan.toml"]));
    let table = read_json(&dir.path().join("scan-out/tasks.json"));
    assert_eq!(table["tasks"].as_array().unwrap().len(), 12);
    let script = fs::read_to_string(dir.path().join("scan-out/campaign.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-11%8"));
}

#[test]
fn a_ring_campaign_is_compared_with_the_transfer_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = campaign_toml("[0.5]")
        .replace("\"ising2d\"", "\"ising1d\"")
        .replace("sizes = [4, 8]", "sizes = [12]")
        .replace("[\"stats\", \"mcrg\"]", "[\"stats\"]")
        .replace("mcrg = { factor = 2, levels = 1 }", "")
        .replace("\"swendsen-wang\"", "\"wolff\"");
    fs::write(d.join("ring.toml"), text).unwrap();
    ok(&kadanoff(d, &["campaign", "run", "ring.toml"]));
    ok(&kadanoff(d, &["campaign", "merge", "ring.toml"]));
    let summary = read_json(&d.join("out/summary.json"));
    let exact = lattice_physics::exact::ring(12, 0.5, 0.0).unwrap();
    let o = &summary["points"][0]["observables"]["energy_per_site"];
    let (mean, err) = (o["mean"].as_f64().unwrap(), o["stderr"].as_f64().unwrap());
    assert_eq!(o["exact"].as_f64(), Some(exact.energy_per_site));
    assert!(err > 0.0 && err < 0.05 && (mean - exact.energy_per_site).abs() < 4.0 * err, "{mean} ± {err}");
}
