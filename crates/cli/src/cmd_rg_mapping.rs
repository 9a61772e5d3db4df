//! `kadanoff rg exact-mapping`: the exact evaluation of the RBM ↔ variational-RG mapping for a
//! trained RBM on a small system (`rg_transforms::mapping`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use lattice_physics::{IsingModel, Lattice};
use rg_transforms::mapping::{exact_mapping, project, MappingOptions, OperatorBasis, SpinHamiltonian};
use serde_json::{json, Map};

use crate::{model_file, ModelKind};

/// Arguments of `rg exact-mapping`.
#[derive(Args)]
pub struct MappingArgs {
    /// Model file (`.safetensors` from `kadanoff train`); its first RBM is evaluated.
    #[arg(long)]
    model: PathBuf,
    /// The Hamiltonian on the visible spins.
    #[arg(long, value_enum, default_value = "ising1d")]
    hamiltonian: ModelKind,
    /// Linear size of the visible lattice (at most 24 spins in all).
    #[arg(long)]
    size: usize,
    /// Coupling K.
    #[arg(long, allow_negative_numbers = true)]
    coupling: f64,
    /// Field h.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    field: f64,
    /// Operator basis for the renormalised couplings: `all-pairs` (field and every pair
    /// separately; right for trained RBMs, whose hidden units have no positions), or `ring` /
    /// `square` (hidden unit j at site j: field, pairs by distance, 3- and 4-spin terms).
    #[arg(long, default_value = "all-pairs")]
    hidden_geometry: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn hidden_basis(geometry: &str, m: usize) -> Result<OperatorBasis> {
    let side = (m as f64).sqrt().round() as usize;
    Ok(match geometry {
        "all-pairs" => OperatorBasis::all_pairs(m)?,
        "ring" => OperatorBasis::standard(Lattice::ring(m)?)?,
        "square" => {
            if side * side != m {
                bail!("--hidden-geometry square needs a square number of hidden units, got {m}");
            }
            OperatorBasis::standard(Lattice::square(side)?)?
        }
        other => bail!("--hidden-geometry must be all-pairs, ring or square, got `{other}`"),
    })
}

pub fn mapping(a: MappingArgs) -> Result<()> {
    let lattice = a.hamiltonian.lattice(a.size)?;
    let model = IsingModel::new(lattice, a.coupling, a.field)?;
    let max = rg_transforms::mapping::MAX_VISIBLE;
    if lattice.num_sites() > max {
        bail!(
            "the exact mapping enumerates all 2^N visible configurations and is limited to {max} spins; \
             this lattice has {} (this would take hours and is not attempted)",
            lattice.num_sites()
        );
    }
    let file = model_file::read_model(&a.model)?;
    let rbm = file.layers[0].to_f64();
    if rbm.n_visible() != lattice.num_sites() {
        bail!(
            "the model's first layer has {} visible units but the {} lattice of size {} has {} spins",
            rbm.n_visible(),
            a.hamiltonian.name(),
            a.size,
            lattice.num_sites()
        );
    }
    let ham = SpinHamiltonian::ising(&model)?;
    let report = exact_mapping(&ham, &rbm, &MappingOptions { double_sums: false })?;
    let basis = hidden_basis(&a.hidden_geometry, rbm.n_hidden())?;
    let proj = project(&report.coarse_hamiltonian, &basis)?;
    let mut couplings = Map::new();
    for c in &proj.couplings {
        couplings.insert(c.name.clone(), json!(c.value));
    }
    let v = json!({
        "model": a.model.display().to_string(),
        "hamiltonian": a.hamiltonian.name(),
        "size": a.size,
        "coupling": a.coupling,
        "field": a.field,
        "n_visible": report.n_visible,
        "n_hidden": report.n_hidden,
        "kl_divergence": report.kl_divergence,
        "delta_f": report.delta_f,
        "kl_identity_residual": report.kl_identity_residual,
        "trace_violation_max": report.trace_violation_max,
        "trace_violation_std": report.trace_violation_std,
        "coarse_hamiltonian_check": report.coarse_hamiltonian_check,
        "normalized_kernel": report.normalized,
        "renormalized_couplings": couplings,
        "renormalized_constant": proj.constant,
        "fit_residual": proj.residual_rms,
        "fit_residual_max": proj.residual_max,
    });
    if a.json {
        return crate::print_json(&v);
    }
    outln!(
        "exact mapping of {} onto {} (N = {}, M = {})",
        a.model.display(),
        a.hamiltonian.name(),
        report.n_visible,
        report.n_hidden
    );
    outln!("  KL(P || p_RBM)            {:.6e}", report.kl_divergence);
    outln!("  Delta F                   {:.6e}", report.delta_f);
    outln!(
        "  trace violation max / std {:.6e} / {:.6e}",
        report.trace_violation_max,
        report.trace_violation_std
    );
    outln!("  renormalised couplings (fit residual rms {:.3e}):", proj.residual_rms);
    for c in &proj.couplings {
        outln!("    {:<16} {:+.8}", c.name, c.value);
    }
    Ok(())
}
