//! How close does CD/PCD training get to the finite-sample floor of the exact KL?
//!
//! A periodic ring of `n` spins at coupling `K` is represented exactly by an RBM with `n`
//! hidden spins (the bond RBM, docs/science.md §5), so on `s` exact samples the best an RBM can
//! do is the KL of the maximum-likelihood fit, about `parameters / (2 s)` nats. This example
//! trains RBMs of that size with several settings and prints the exact `KL(P ‖ p_RBM)` (all
//! `2^n` states enumerated) against that floor, and against the KL of the exact
//! maximum-likelihood fit on the same samples (full-batch ascent with the exact gradient,
//! started from the best trained model).
//!
//! `cargo run --release -p rbm-core --example kl_floor [n K samples epochs]` prints the table of
//! settings on one ring (`KL_FLOOR_EXACT=1` adds the exact fit, `KL_FLOOR_ONLY=text` keeps the
//! settings whose name contains `text`, `KL_FLOOR_HIDDEN=m` trains `m` hidden spins);
//! `... --example kl_floor held-out` the defaults of every training mode (`KL_FLOOR_PCD_ONLY=1`:
//! PCD only) on rings of 10, 12, 14 and 16 spins at K = 0.5, 0.8 and 1.2; `... --example
//! kl_floor grid [epochs]` the KL over the floor of one mode's defaults on that grid, one factor
//! changed at a time through the environment (`G_UNITS=spin`, default 0/1 hidden units; `G_CD=1`
//! for CD instead of PCD; `G_LR`, `G_BATCH`, `G_CDK`, `G_MOM`, `G_INIT`, `G_L2`, `G_CONST=1` for
//! a constant rate, `G_NOSWITCH=1` for no momentum switch; `G_N`, `G_K`, `G_SEEDS` as
//! comma-separated lists).

use ndarray::Array2;
use rbm_core::{RateSchedule, Rbm, RbmParts, TrainConfig, Trainer, Units};

#[path = "../tests/common/rings.rs"]
mod rings;
use rings::{floor, kl, ring};

fn train(data: &Array2<f32>, n: usize, hidden_units: Units, config: &TrainConfig) -> Rbm<f32> {
    let mut trainer = Trainer::new(config.clone(), data.view(), Units::Spin, n, hidden_units).unwrap();
    while !trainer.is_finished() {
        trainer.train_epoch(data.view()).unwrap();
    }
    trainer.into_model()
}

/// Full-batch gradient ascent of the exact log-likelihood of `data`, with momentum.
fn exact_fit(model: &Rbm<f64>, data: &Array2<f64>, iterations: usize, lr: f64) -> Rbm<f64> {
    let mut m = model.clone();
    let (nv, nh) = m.weights().dim();
    let mut vw = Array2::<f64>::zeros((nv, nh));
    let mut va = ndarray::Array1::<f64>::zeros(nv);
    let mut vb = ndarray::Array1::<f64>::zeros(nh);
    for _ in 0..iterations {
        let g = m.exact_log_likelihood_gradient(data.view()).unwrap();
        vw = vw * 0.9 + &g.weights * lr;
        va = va * 0.9 + &g.visible_bias * lr;
        vb = vb * 0.9 + &g.hidden_bias * lr;
        let RbmParts { weights, visible_bias, hidden_bias, visible_units, hidden_units } = m.into_parts();
        m = Rbm::new(weights + &vw, visible_bias + &va, hidden_bias + &vb, visible_units, hidden_units)
            .unwrap();
    }
    m
}

/// KL reached by each setting on one ring (mean over `seeds`), against the floor.
fn settings_table(n: usize, k: f64, samples: usize, epochs: usize, exact: bool) {
    let (states, p, data) = ring(n, k, samples, 3);
    let hidden = std::env::var("KL_FLOOR_HIDDEN").map_or(n, |h| h.parse().unwrap());
    let fl = floor(n, samples);
    println!("ring n = {n}, K = {k}, {samples} samples, {hidden} hidden spins, {epochs} epochs");
    println!("floor ≈ parameters / (2 samples) = {fl:.4} nats");
    let rec = |persistent: bool| TrainConfig {
        exact_max_units: 0,
        ..TrainConfig::recommended(Units::Spin, persistent, epochs, 0)
    };
    let constant = |c: TrainConfig| TrainConfig { learning_rate_schedule: RateSchedule::Constant, ..c };
    let cd = rec(false);
    let pcd = rec(true);
    let settings = [
        ("CD-1 defaults (lr 0.01, linear decay, momentum 0.5 → 0.9)", cd.clone()),
        ("CD-1 constant lr 0.01 (the old default)", constant(cd.clone())),
        ("CD-1 constant lr 0.003", TrainConfig { learning_rate: 0.003, ..constant(cd.clone()) }),
        (
            "CD-1 constant, momentum 0.5 throughout",
            TrainConfig { momentum_switch: None, ..constant(cd.clone()) },
        ),
        ("CD-1 decay, momentum 0.5 throughout", TrainConfig { momentum_switch: None, ..cd.clone() }),
        ("CD-1 decay, batch 20", TrainConfig { batch_size: 20, ..cd.clone() }),
        ("CD-1 decay, batch 500", TrainConfig { batch_size: 500, ..cd.clone() }),
        ("CD-1 decay, initial weights 0.1", TrainConfig { init_std: 0.1, ..cd.clone() }),
        ("CD-1 decay, half the epochs", TrainConfig { epochs: epochs / 2, ..cd.clone() }),
        ("CD-10 decay", TrainConfig { cd_k: 10, ..cd.clone() }),
        ("CD-10 constant", TrainConfig { cd_k: 10, ..constant(cd.clone()) }),
        ("PCD defaults (lr 0.01, linear decay, momentum 0.5, 5 Gibbs steps)", pcd.clone()),
        (
            "PCD constant lr 0.001 (the old default)",
            TrainConfig { learning_rate: 0.001, ..constant(pcd.clone()) },
        ),
        ("PCD constant lr 0.003", constant(pcd.clone())),
        ("PCD decay from 0.001", TrainConfig { learning_rate: 0.001, ..pcd.clone() }),
        ("PCD decay, k = 1", TrainConfig { cd_k: 1, ..pcd.clone() }),
        ("PCD decay, batch 500", TrainConfig { batch_size: 500, ..pcd.clone() }),
        (
            "CD-1 constant lr 0.05, batch 50 (the old rg1d step)",
            TrainConfig { learning_rate: 0.05, batch_size: 50, ..constant(cd.clone()) },
        ),
        ("CD-1 decay, batch 50", TrainConfig { batch_size: 50, ..cd.clone() }),
        ("CD-1 decay from 0.03", TrainConfig { learning_rate: 0.03, ..cd.clone() }),
        ("PCD decay, batch 50", TrainConfig { batch_size: 50, ..pcd.clone() }),
        ("PCD decay from 0.01", TrainConfig { learning_rate: 0.01, ..pcd.clone() }),
        ("PCD decay from 0.005", TrainConfig { learning_rate: 0.005, ..pcd.clone() }),
        ("PCD decay from 0.005, k = 1", TrainConfig { learning_rate: 0.005, cd_k: 1, ..pcd.clone() }),
    ];
    let only = std::env::var("KL_FLOOR_ONLY").ok();
    let mut best: Option<(f64, Rbm<f64>)> = None;
    println!("| setting | KL, seeds 1 and 2 (nats) | mean KL / floor |");
    println!("|---|---|---|");
    for (name, config) in settings {
        if only.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let kls: Vec<f64> = [1u64, 2]
            .iter()
            .map(|&seed| {
                let m = train(&data, hidden, Units::Spin, &TrainConfig { seed, ..config.clone() }).to_f64();
                let x = kl(&states, &p, &m);
                if best.as_ref().is_none_or(|(b, _)| x < *b) {
                    best = Some((x, m));
                }
                x
            })
            .collect();
        let mean = kls.iter().sum::<f64>() / kls.len() as f64;
        println!("| {name} | {:.4}, {:.4} | {:.1} |", kls[0], kls[1], mean / fl);
    }
    if exact {
        let (_, m) = best.unwrap();
        let fit = exact_fit(&m, &data.mapv(f64::from), 1000, 0.05);
        println!(
            "exact maximum-likelihood fit (1000 full-batch steps from the best model): KL = {:.4}",
            kl(&states, &p, &fit)
        );
    }
}

/// The defaults of every training mode on the rings the defaults are tuned on (the tests use
/// other sizes).
fn held_out_table(samples: usize, epochs: usize) {
    println!("defaults on rings ({samples} samples, n hidden units, {epochs} epochs, seed 5)");
    println!(
        "| ring | floor | CD-1 | CD-10 | PCD | CD-1, 0/1 hidden | CD-10, 0/1 hidden | PCD, 0/1 hidden |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let pcd_only = std::env::var("KL_FLOOR_PCD_ONLY").is_ok();
    for n in [10usize, 12, 14, 16] {
        for k in [0.5, 0.8, 1.2] {
            let (states, p, data) = ring(n, k, samples, 11 + n as u64);
            let fl = floor(n, samples);
            let run = |persistent: bool, cd_k: Option<usize>, hidden: Units| {
                if pcd_only && !persistent {
                    return "-".to_string();
                }
                let c = TrainConfig::recommended(hidden, persistent, epochs, 5);
                let c = TrainConfig { cd_k: cd_k.unwrap_or(c.cd_k), exact_max_units: 0, ..c };
                let x = kl(&states, &p, &train(&data, n, hidden, &c).to_f64());
                format!("{x:.4} ({:.1}×)", x / fl)
            };
            println!(
                "| n = {n}, K = {k} | {fl:.4} | {} | {} | {} | {} | {} | {} |",
                run(false, None, Units::Spin),
                run(false, Some(10), Units::Spin),
                run(true, None, Units::Spin),
                run(false, None, Units::Binary),
                run(false, Some(10), Units::Binary),
                run(true, None, Units::Binary),
            );
        }
    }
}

/// One mode's defaults, with overrides from the environment, on a grid of rings.
fn grid_table(samples: usize, epochs: usize) {
    let env = |name: &str| std::env::var(name).ok();
    let units = match env("G_UNITS").as_deref() {
        Some("spin") => Units::Spin,
        _ => Units::Binary,
    };
    let persistent = env("G_CD").is_none();
    let ns: Vec<usize> = env_list("G_N", vec![10, 12, 14, 16]);
    let ks: Vec<f64> = env_list("G_K", vec![0.5, 0.8, 1.2]);
    let seeds: Vec<u64> = env_list("G_SEEDS", vec![5]);
    let mut base =
        TrainConfig { exact_max_units: 0, ..TrainConfig::recommended(units, persistent, epochs, 0) };
    env_set("G_LR", &mut base.learning_rate);
    env_set("G_BATCH", &mut base.batch_size);
    env_set("G_CDK", &mut base.cd_k);
    env_set("G_MOM", &mut base.momentum);
    env_set("G_INIT", &mut base.init_std);
    env_set("G_L2", &mut base.l2);
    if env("G_CONST").is_some() {
        base.learning_rate_schedule = RateSchedule::Constant;
    }
    if env("G_NOSWITCH").is_some() {
        base.momentum_switch = None;
    }
    println!("{base:?}");
    for &n in &ns {
        for &k in &ks {
            let (states, p, data) = ring(n, k, samples, 11 + n as u64);
            let fl = floor(n, samples);
            let r: Vec<String> = seeds
                .iter()
                .map(|&seed| {
                    let x = kl(
                        &states,
                        &p,
                        &train(&data, n, units, &TrainConfig { seed, ..base.clone() }).to_f64(),
                    );
                    format!("{:.2}", x / fl)
                })
                .collect();
            println!("n = {n}, K = {k}: {}", r.join(" "));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: f64| args.get(i).map(|s| s.parse().unwrap()).unwrap_or(d);
    if args.first().map(String::as_str) == Some("grid") {
        grid_table(20_000, arg(1, 200.0) as usize);
        return;
    }
    if args.first().map(String::as_str) == Some("held-out") {
        held_out_table(20_000, 200);
        return;
    }
    let (n, k) = (arg(0, 14.0) as usize, arg(1, 0.8));
    settings_table(
        n,
        k,
        arg(2, 20_000.0) as usize,
        arg(3, 200.0) as usize,
        std::env::var("KL_FLOOR_EXACT").is_ok(),
    );
}

/// The comma-separated list in environment variable `name`, or `default`.
fn env_list<T: std::str::FromStr>(name: &str, default: Vec<T>) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    std::env::var(name).map_or(default, |s| s.split(',').map(|x| x.parse().unwrap()).collect())
}

/// Sets `field` to the value of environment variable `name`, if it is set.
fn env_set<T: std::str::FromStr>(name: &str, field: &mut T)
where
    T::Err: std::fmt::Debug,
{
    if let Ok(x) = std::env::var(name) {
        *field = x.parse().unwrap();
    }
}
