//! `kadanoff stats`: observables of an existing data set with error bars.
//!
//! The samples of a file are treated as a time series in file order (chain-major for files
//! written by `kadanoff sample`): errors come from binning/jackknife over that order, so they
//! stay honest when the samples are correlated.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use lattice_physics::observables::{self, LengthStatus};
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

pub fn run(args: StatsArgs) -> Result<()> {
    let data = files::read_configurations(&args.file)?;
    let lattice = data.lattice();
    let coupling = match args.coupling {
        Some(k) => Some(k),
        // Only consulted when --coupling is not given; a broken sidecar is an error, not a guess.
        None => files::read_sidecar(&args.file)
            .map_err(|e| anyhow::anyhow!("{e:#} (pass --coupling to do without the sidecar)"))?
            .and_then(|s| s.coupling),
    };
    if let Some(k) = coupling {
        lattice_physics::IsingModel::new(lattice, k, 0.0)?;
    }
    // Beyond the data: per-sample measurements (16 bytes) and correlation rows (⌊L/2⌋ + 5 f64).
    let row = lattice.linear_size() / 2 + 5;
    crate::budget::check(
        &format!("measuring {} samples", data.samples()),
        crate::budget::product(&[data.samples() as u128, (row * 8 + 16) as u128])
            .and_then(|b| b.checked_add(data.as_slice().len() as u128)),
    )?;
    let measurements = observables::measure_all(&data);
    let o = observables::estimate(lattice, coupling.unwrap_or(0.0), &measurements)?;
    let corr = observables::correlations(&data)?;
    let est = |e: &lattice_physics::stats::Estimate| json!({"mean": e.mean, "stderr": e.stderr});
    let mut obs = json!({
        "energy_per_site": est(&o.energy_per_site),
        "abs_magnetization": est(&o.abs_magnetization),
        "magnetization_sq": est(&o.magnetization_sq),
        "susceptibility_per_site": est(&o.susceptibility_per_site),
        "binder_cumulant": est(&o.binder_cumulant),
        "second_moment_correlation_length": corr.second_moment_length.as_ref().map(est),
    });
    let xi_status = corr.second_moment_status;
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
        "second_moment_correlation_length_status": xi_status,
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
        outln!("{}: {} samples on {:?}", args.file.display(), data.samples(), lattice);
        print_observables(&value["observables"], &Value::Null);
        match xi_status {
            LengthStatus::Finite => {}
            LengthStatus::Infinite => outln!(
                "  second-moment correlation length is infinite: no configuration fluctuates at k_min (ordered data)"
            ),
            LengthStatus::Undefined => {
                outln!("  second-moment correlation length is undefined: chi_c(0) <= chi(k_min) in the data")
            }
        }
        outln!(
            "  tau_int (in samples): energy {:.2}, |m| {:.2}",
            o.tau_energy.tau,
            o.tau_abs_magnetization.tau
        );
        let g: Vec<String> = corr.g.iter().map(|e| format!("{:.4}", e.mean)).collect();
        outln!("  G(r), r = 0..: {}", g.join(" "));
        Ok(())
    }
}

/// Print an `observables` object (mean ± stderr), with exact values beside them when given.
pub fn print_observables(obs: &Value, exact: &Value) {
    let Some(map) = obs.as_object() else { return };
    for (k, v) in map {
        if v.is_null() {
            if k == "specific_heat_per_site" {
                outln!("  {k:<34} (needs --coupling)");
            }
            continue;
        }
        let mean = v["mean"].as_f64().unwrap_or(f64::NAN);
        let err = v["stderr"].as_f64().unwrap_or(f64::NAN);
        match exact.get(k).and_then(Value::as_f64) {
            Some(x) => {
                let z = if err > 0.0 { (mean - x) / err } else { f64::NAN };
                outln!("  {k:<34} {mean:>12.6} ± {err:<10.6} exact {x:>12.6} ({z:+.1}σ)")
            }
            None => outln!("  {k:<34} {mean:>12.6} ± {err:.6}"),
        }
    }
}
