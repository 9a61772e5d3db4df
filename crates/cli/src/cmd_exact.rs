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
use serde::Serialize;

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

/// What `exact` prints: every value the chosen methods give, `None` (not printed) where no
/// method gives it; a non-finite value is printed as JSON `null`.
#[derive(Serialize, Default)]
struct ExactReport {
    model: &'static str,
    coupling: f64,
    field: f64,
    /// L, or "inf".
    size: SizeField,
    #[serde(skip_serializing_if = "Option::is_none")]
    sites: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ln_z_per_site: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    energy_per_site: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    specific_heat_per_site: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    magnetization: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abs_magnetization: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    magnetization_sq: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    magnetization_4th: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    susceptibility_per_site: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binder_cumulant: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spontaneous_magnetization: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_length: Option<f64>,
    methods: Vec<&'static str>,
    tool_version: &'static str,
}

/// The `size` key: a number, or the string "inf".
#[derive(Default)]
enum SizeField {
    Finite(usize),
    #[default]
    Infinite,
}

impl Serialize for SizeField {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            SizeField::Finite(l) => s.serialize_u64(*l as u64),
            SizeField::Infinite => s.serialize_str("inf"),
        }
    }
}

impl std::fmt::Display for SizeField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SizeField::Finite(l) => write!(f, "{l}"),
            SizeField::Infinite => write!(f, "\"inf\""),
        }
    }
}

pub fn run(args: ExactArgs) -> Result<()> {
    let size = parse_size(&args.size)?;
    let mut out = ExactReport {
        model: args.model.name(),
        coupling: args.coupling,
        field: args.field,
        tool_version: env!("CARGO_PKG_VERSION"),
        ..ExactReport::default()
    };
    match size {
        Size::Finite(l) => {
            let lattice = args.model.lattice(l)?;
            let model = IsingModel::new(lattice, args.coupling, args.field)?;
            out.size = SizeField::Finite(l);
            out.sites = Some(lattice.num_sites());
            match args.model {
                ModelKind::Ising2d => {
                    if args.field == 0.0 {
                        let t = exact::kaufman(l, args.coupling)?;
                        out.ln_z_per_site = Some(t.ln_z_per_site);
                        out.energy_per_site = Some(t.energy_per_site);
                        out.specific_heat_per_site = Some(t.specific_heat_per_site);
                        out.methods.push("kaufman");
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
                    out.ln_z_per_site = Some(r.ln_z_per_site);
                    out.energy_per_site = Some(r.energy_per_site);
                    out.specific_heat_per_site = Some(r.specific_heat_per_site);
                    out.magnetization = Some(r.magnetization);
                    out.methods.push("transfer-matrix");
                }
            }
            if lattice.num_sites() <= ENUMERATION_MAX {
                let e = exact::enumerate(&model)?;
                // Enumeration is exact to rounding for every coupling; Kaufman's derivatives
                // lose all digits of an exponentially small c deep in the ordered phase
                // (K = 40 on L = 4 gave c < 0), so enumeration's values win where both exist.
                out.ln_z_per_site = Some(e.ln_z_per_site);
                out.energy_per_site = Some(e.energy_per_site);
                out.specific_heat_per_site = Some(e.specific_heat_per_site);
                out.magnetization = Some(e.magnetization);
                out.abs_magnetization = Some(e.abs_magnetization);
                out.magnetization_sq = Some(e.magnetization_sq);
                out.magnetization_4th = Some(e.magnetization_4th);
                out.susceptibility_per_site = Some(e.susceptibility_per_site);
                out.binder_cumulant = Some(e.binder_cumulant);
                out.methods.push("enumeration");
            }
        }
        Size::Infinite => {
            out.size = SizeField::Infinite;
            match args.model {
                ModelKind::Ising2d => {
                    if args.field != 0.0 {
                        bail!("Onsager's solution of the infinite 2D lattice is for zero field only");
                    }
                    let o = exact::onsager(args.coupling)?;
                    out.ln_z_per_site = Some(o.ln_z_per_site);
                    out.energy_per_site = Some(o.energy_per_site);
                    // Infinite at K_c: printed as null.
                    out.specific_heat_per_site = Some(o.specific_heat_per_site);
                    out.spontaneous_magnetization = Some(o.spontaneous_magnetization);
                    out.methods.push("onsager");
                }
                ModelKind::Ising1d => {
                    let c = exact::chain(args.coupling, args.field)?;
                    out.ln_z_per_site = Some(c.ln_z_per_site);
                    out.energy_per_site = Some(c.energy_per_site);
                    out.specific_heat_per_site = Some(c.specific_heat_per_site);
                    out.magnetization = Some(c.magnetization);
                    // Infinite at K = ∞: printed as null.
                    out.correlation_length = Some(c.correlation_length);
                    out.spontaneous_magnetization = Some(0.0);
                    out.methods.push("transfer-matrix");
                }
            }
        }
    }
    if args.json {
        // Through a `Value`, so the keys are printed in sorted order, as before.
        crate::print_json(&serde_json::to_value(&out)?)
    } else {
        print_table(&out);
        Ok(())
    }
}

fn print_table(r: &ExactReport) {
    outln!("exact {} size={} K={} h={} ({})", r.model, r.size, r.coupling, r.field, r.methods.join(", "));
    for (key, value) in [
        ("ln_z_per_site", r.ln_z_per_site),
        ("energy_per_site", r.energy_per_site),
        ("specific_heat_per_site", r.specific_heat_per_site),
        ("magnetization", r.magnetization),
        ("abs_magnetization", r.abs_magnetization),
        ("magnetization_sq", r.magnetization_sq),
        ("susceptibility_per_site", r.susceptibility_per_site),
        ("binder_cumulant", r.binder_cumulant),
        ("spontaneous_magnetization", r.spontaneous_magnetization),
        ("correlation_length", r.correlation_length),
    ] {
        match value {
            Some(f) if f.is_finite() => outln!("  {key:<26} {f:.12}"),
            Some(_) => outln!("  {key:<26} null"),
            None => {}
        }
    }
}
