//! `kadanoff exact`: exact per-site values from the best available exact method.
//!
//! - 2D, finite L, h = 0: Kaufman's finite-torus solution (plus enumeration when L² ≤ 25, which
//!   adds the magnetisation moments and the Binder cumulant);
//! - 2D, finite L, h ≠ 0: enumeration only (L² ≤ 25);
//! - 2D, `inf`: Onsager (h = 0);
//! - 1D, finite n: the transfer matrix (plus enumeration when n ≤ 25);
//! - 1D, `inf`: the transfer matrix's largest eigenvalue.

use anyhow::{bail, Result};
use clap::Args;
use lattice_physics::{exact, IsingModel};
use serde_json::{json, Map, Value};

use crate::ModelKind;

/// Arguments of `kadanoff exact`.
#[derive(Args)]
pub struct ExactArgs {
    /// Model family.
    #[arg(long, value_enum, default_value = "ising2d")]
    model: ModelKind,
    /// Linear size L (sites per side), or `inf` for the infinite lattice.
    #[arg(long)]
    size: String,
    /// Dimensionless coupling K = βJ.
    #[arg(long, allow_negative_numbers = true)]
    coupling: f64,
    /// Dimensionless field h = βH.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    field: f64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

enum Size {
    Finite(usize),
    Infinite,
}

fn parse_size(s: &str) -> Result<Size> {
    if s.eq_ignore_ascii_case("inf") || s.eq_ignore_ascii_case("infinite") {
        return Ok(Size::Infinite);
    }
    match s.parse::<usize>() {
        Ok(n) => Ok(Size::Finite(n)),
        Err(_) => bail!("--size must be a positive whole number or `inf`, got `{s}`"),
    }
}

/// Largest number of spins exact enumeration is asked to handle from the command line.
const ENUMERATION_MAX: usize = 25;

pub fn run(args: ExactArgs) -> Result<()> {
    let size = parse_size(&args.size)?;
    let mut out = Map::new();
    out.insert("model".into(), json!(args.model.name()));
    out.insert("coupling".into(), json!(args.coupling));
    out.insert("field".into(), json!(args.field));
    let mut methods: Vec<&str> = Vec::new();
    match size {
        Size::Finite(l) => {
            let lattice = args.model.lattice(l)?;
            let model = IsingModel::new(lattice, args.coupling, args.field)?;
            out.insert("size".into(), json!(l));
            out.insert("sites".into(), json!(lattice.num_sites()));
            match args.model {
                ModelKind::Ising2d => {
                    if args.field == 0.0 {
                        let t = exact::kaufman(l, args.coupling)?;
                        out.insert("ln_z_per_site".into(), json!(t.ln_z_per_site));
                        out.insert("energy_per_site".into(), json!(t.energy_per_site));
                        out.insert("specific_heat_per_site".into(), json!(t.specific_heat_per_site));
                        methods.push("kaufman");
                    } else if lattice.num_sites() > ENUMERATION_MAX {
                        bail!(
                            "no exact solution is known for the 2D model in a field; enumeration handles at most \
                             {ENUMERATION_MAX} spins and L = {l} has {}",
                            lattice.num_sites()
                        );
                    }
                }
                ModelKind::Ising1d => {
                    let r = exact::ring(l, args.coupling, args.field)?;
                    out.insert("ln_z_per_site".into(), json!(r.ln_z_per_site));
                    out.insert("energy_per_site".into(), json!(r.energy_per_site));
                    out.insert("specific_heat_per_site".into(), json!(r.specific_heat_per_site));
                    out.insert("magnetization".into(), json!(r.magnetization));
                    methods.push("transfer-matrix");
                }
            }
            if lattice.num_sites() <= ENUMERATION_MAX {
                let e = exact::enumerate(&model)?;
                // Enumeration is exact to rounding for every coupling; Kaufman's derivatives
                // lose all digits of an exponentially small c deep in the ordered phase
                // (K = 40 on L = 4 gave c < 0), so enumeration's values win where both exist.
                for (k, v) in [
                    ("ln_z_per_site", e.ln_z_per_site),
                    ("energy_per_site", e.energy_per_site),
                    ("specific_heat_per_site", e.specific_heat_per_site),
                    ("magnetization", e.magnetization),
                ] {
                    out.insert(k.into(), json!(v));
                }
                out.insert("abs_magnetization".into(), json!(e.abs_magnetization));
                out.insert("magnetization_sq".into(), json!(e.magnetization_sq));
                out.insert("magnetization_4th".into(), json!(e.magnetization_4th));
                out.insert("susceptibility_per_site".into(), json!(e.susceptibility_per_site));
                out.insert("binder_cumulant".into(), json!(e.binder_cumulant));
                methods.push("enumeration");
            }
        }
        Size::Infinite => {
            out.insert("size".into(), json!("inf"));
            match args.model {
                ModelKind::Ising2d => {
                    if args.field != 0.0 {
                        bail!("Onsager's solution of the infinite 2D lattice is for zero field only");
                    }
                    let o = exact::onsager(args.coupling)?;
                    out.insert("ln_z_per_site".into(), json!(o.ln_z_per_site));
                    out.insert("energy_per_site".into(), json!(o.energy_per_site));
                    out.insert("specific_heat_per_site".into(), finite_or_null(o.specific_heat_per_site));
                    out.insert("spontaneous_magnetization".into(), json!(o.spontaneous_magnetization));
                    methods.push("onsager");
                }
                ModelKind::Ising1d => {
                    let c = exact::chain(args.coupling, args.field)?;
                    out.insert("ln_z_per_site".into(), json!(c.ln_z_per_site));
                    out.insert("energy_per_site".into(), json!(c.energy_per_site));
                    out.insert("specific_heat_per_site".into(), json!(c.specific_heat_per_site));
                    out.insert("magnetization".into(), json!(c.magnetization));
                    out.insert("correlation_length".into(), finite_or_null(c.correlation_length));
                    out.insert("spontaneous_magnetization".into(), json!(0.0));
                    methods.push("transfer-matrix");
                }
            }
        }
    }
    out.insert("methods".into(), json!(methods));
    out.insert("tool_version".into(), json!(env!("CARGO_PKG_VERSION")));
    let value = Value::Object(out);
    if args.json {
        crate::print_json(&value)
    } else {
        print_table(&value);
        Ok(())
    }
}

fn finite_or_null(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn print_table(v: &Value) {
    outln!(
        "exact {} size={} K={} h={} ({})",
        v["model"].as_str().unwrap_or(""),
        v["size"],
        v["coupling"],
        v["field"],
        v["methods"]
            .as_array()
            .map(|m| m.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    );
    for key in [
        "ln_z_per_site",
        "energy_per_site",
        "specific_heat_per_site",
        "magnetization",
        "abs_magnetization",
        "magnetization_sq",
        "susceptibility_per_site",
        "binder_cumulant",
        "spontaneous_magnetization",
        "correlation_length",
    ] {
        if let Some(x) = v.get(key) {
            match x.as_f64() {
                Some(f) => outln!("  {key:<26} {f:.12}"),
                None => outln!("  {key:<26} {x}"),
            }
        }
    }
}
