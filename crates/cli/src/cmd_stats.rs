//! `kadanoff stats`: observables of an existing data set with error bars.
//!
//! The samples of a file are treated as a time series in file order (chain-major for files
//! written by `kadanoff sample`): errors come from binning/jackknife over that order, so they
//! stay honest when the samples are correlated.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use lattice_physics::observables;
use lattice_physics::Lattice;
use serde_json::{json, Value};

use crate::files;

/// Arguments of `kadanoff stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// A `.npy` data set of ±1 values, shape (samples, L, L) or (samples, L).
    file: PathBuf,
    /// Coupling K used for the specific heat c = K² var(B)/N (default: read from the JSON sidecar if present).
    #[arg(long, allow_negative_numbers = true)]
    coupling: Option<f64>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// The lattice a data set's shape describes.
pub fn lattice_of(shape: &[usize]) -> Result<Lattice> {
    Ok(match shape {
        [_, n] => Lattice::ring(*n)?,
        [_, a, b] if a == b => Lattice::square(*a)?,
        _ => bail!("expected shape (samples, L, L) or (samples, L), got {shape:?}"),
    })
}

fn sidecar_coupling(file: &std::path::Path) -> Option<f64> {
    let text = std::fs::read_to_string(files::sidecar_path(file)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("coupling")?.as_f64()
}

pub fn run(args: StatsArgs) -> Result<()> {
    let data = files::read_spins(&args.file)?;
    let lattice = lattice_of(&data.shape).with_context(|| format!("{}", args.file.display()))?;
    let coupling = match args.coupling {
        Some(k) => Some(k),
        None => sidecar_coupling(&args.file),
    };
    if let Some(k) = coupling {
        lattice_physics::IsingModel::new(lattice, k, 0.0)?;
    }
    let measurements = observables::measure_all(lattice, &data.values)?;
    let o = observables::estimate(lattice, coupling.unwrap_or(0.0), &measurements)?;
    let corr = observables::correlations(lattice, &data.values)?;
    let est = |e: &lattice_physics::stats::Estimate| json!({"mean": e.mean, "stderr": e.stderr});
    let mut obs = json!({
        "energy_per_site": est(&o.energy_per_site),
        "abs_magnetization": est(&o.abs_magnetization),
        "magnetization_sq": est(&o.magnetization_sq),
        "susceptibility_per_site": est(&o.susceptibility_per_site),
        "binder_cumulant": est(&o.binder_cumulant),
        "second_moment_correlation_length": corr.second_moment_length.as_ref().map(est),
    });
    obs["specific_heat_per_site"] =
        if coupling.is_some() { est(&o.specific_heat_per_site) } else { Value::Null };
    let value = json!({
        "file": args.file.display().to_string(),
        "samples": data.samples(),
        "lattice": lattice,
        "coupling": coupling,
        "observables": obs,
        "correlation": {
            "r": (0..corr.g.len()).collect::<Vec<_>>(),
            "mean": corr.g.iter().map(|e| e.mean).collect::<Vec<_>>(),
            "stderr": corr.g.iter().map(|e| e.stderr).collect::<Vec<_>>(),
        },
        "autocorrelation": {
            "unit": "samples",
            "energy": o.tau_energy.tau,
            "abs_magnetization": o.tau_abs_magnetization.tau,
        },
        "tool_version": env!("CARGO_PKG_VERSION"),
    });
    if args.json {
        crate::print_json(&value)
    } else {
        println!("{}: {} samples on {:?}", args.file.display(), data.samples(), lattice);
        print_observables(&value["observables"], &Value::Null);
        println!(
            "  tau_int (in samples): energy {:.2}, |m| {:.2}",
            o.tau_energy.tau, o.tau_abs_magnetization.tau
        );
        let g: Vec<String> = corr.g.iter().map(|e| format!("{:.4}", e.mean)).collect();
        println!("  G(r), r = 0..: {}", g.join(" "));
        Ok(())
    }
}

/// Print an `observables` object (mean ± stderr), with exact values beside them when given.
pub fn print_observables(obs: &Value, exact: &Value) {
    let Some(map) = obs.as_object() else { return };
    for (k, v) in map {
        if v.is_null() {
            println!("  {k:<34} (needs --coupling)");
            continue;
        }
        let mean = v["mean"].as_f64().unwrap_or(f64::NAN);
        let err = v["stderr"].as_f64().unwrap_or(f64::NAN);
        match exact.get(k).and_then(Value::as_f64) {
            Some(x) => {
                let z = if err > 0.0 { (mean - x) / err } else { f64::NAN };
                println!("  {k:<34} {mean:>12.6} ± {err:<10.6} exact {x:>12.6} ({z:+.1}σ)")
            }
            None => println!("  {k:<34} {mean:>12.6} ± {err:.6}"),
        }
    }
}
