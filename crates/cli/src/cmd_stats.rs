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
        let e = |x: &lattice_physics::stats::Estimate| Some((x.mean, x.stderr));
        let mut rows = vec![
            Row { name: "abs_magnetization", estimate: e(&o.abs_magnetization), exact: None },
            Row { name: "binder_cumulant", estimate: e(&o.binder_cumulant), exact: None },
            Row { name: "energy_per_site", estimate: e(&o.energy_per_site), exact: None },
            Row { name: "magnetization_sq", estimate: e(&o.magnetization_sq), exact: None },
        ];
        if let Some(xi) = &corr.second_moment_length {
            rows.push(Row { name: "second_moment_correlation_length", estimate: e(xi), exact: None });
        }
        rows.push(Row {
            name: "specific_heat_per_site",
            estimate: if coupling.is_some() { e(&o.specific_heat_per_site) } else { None },
            exact: None,
        });
        rows.push(Row {
            name: "susceptibility_per_site",
            estimate: e(&o.susceptibility_per_site),
            exact: None,
        });
        print_observables(&rows, "needs --coupling");
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

/// One printed observable: its name, its estimate `(mean, stderr)` if there is one, and the exact
/// value beside it if known.
pub struct Row<'a> {
    pub name: &'a str,
    pub estimate: Option<(f64, f64)>,
    pub exact: Option<f64>,
}

/// The rows of a sidecar's typed estimates (alphabetical, as `--json` lists them), with exact
/// values beside energy and specific heat when given.
pub fn rows(
    o: &lattice_physics::io::sidecar::ObservableEstimates,
    exact: Option<&lattice_physics::io::sidecar::ExactReference>,
) -> Vec<Row<'static>> {
    let e = |r: &lattice_physics::io::sidecar::EstimateRecord| r.both();
    vec![
        Row { name: "abs_magnetization", estimate: e(&o.abs_magnetization), exact: None },
        Row { name: "binder_cumulant", estimate: e(&o.binder_cumulant), exact: None },
        Row {
            name: "energy_per_site",
            estimate: e(&o.energy_per_site),
            exact: exact.map(|x| x.energy_per_site),
        },
        Row { name: "magnetization_sq", estimate: e(&o.magnetization_sq), exact: None },
        Row {
            name: "specific_heat_per_site",
            estimate: e(&o.specific_heat_per_site),
            exact: exact.map(|x| x.specific_heat_per_site),
        },
        Row { name: "susceptibility_per_site", estimate: e(&o.susceptibility_per_site), exact: None },
    ]
}

/// Print observables (mean ± stderr), with exact values and the deviation in σ beside them when
/// known. A missing estimate is printed as unavailable with its reason, never as NaN.
pub fn print_observables(rows: &[Row<'_>], missing_reason: &str) {
    for r in rows {
        let k = r.name;
        let Some((mean, err)) = r.estimate else {
            outln!("  {k:<34} unavailable ({missing_reason})");
            continue;
        };
        match (r.exact, err > 0.0) {
            (Some(x), true) => {
                let z = (mean - x) / err;
                outln!("  {k:<34} {mean:>12.6} ± {err:<10.6} exact {x:>12.6} ({z:+.1}σ)")
            }
            (Some(x), false) => outln!("  {k:<34} {mean:>12.6} ± {err:<10.6} exact {x:>12.6}"),
            (None, _) => outln!("  {k:<34} {mean:>12.6} ± {err:.6}"),
        }
    }
}
