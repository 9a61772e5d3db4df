//! `kadanoff generate`: configurations sampled from a trained model, in the same format as
//! `kadanoff sample`, so that `kadanoff stats` compares them with Monte Carlo data.
//!
//! Generation runs `--gibbs-steps` block Gibbs sweeps in the top RBM (from uniformly random
//! states), then a sampled down pass to the data layer; binary units are written as spins
//! `2v - 1`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::dbn::Dbn;
use serde_json::{json, Value};

use crate::files::{self, PendingOutput};
use crate::model_file;

/// Arguments of `kadanoff generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// A model written by `kadanoff train`.
    #[arg(long)]
    model: PathBuf,
    /// Number of configurations.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Block Gibbs sweeps in the top RBM before the down pass.
    #[arg(long, default_value_t = 1000)]
    gibbs_steps: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output `.npy` (int8 ±1, shape (samples, L, L) or (samples, L) as the training data).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite existing outputs.
    #[arg(long)]
    force: bool,
    /// Print the metadata as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: GenerateArgs) -> Result<()> {
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    if args.out.extension().and_then(|e| e.to_str()) != Some("npy") {
        bail!("--out must name a .npy file, got {}", args.out.display());
    }
    let model = model_file::read_model(&args.model)?;
    let shape: Vec<usize> = model
        .metadata
        .get("data")
        .and_then(|d| d.get("sample_shape"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_else(|| vec![model.layers[0].n_visible()]);
    if shape.iter().product::<usize>() != model.layers[0].n_visible() {
        bail!(
            "{}: metadata sample shape {shape:?} does not match {} visible units",
            args.model.display(),
            model.layers[0].n_visible()
        );
    }
    let npy_out = PendingOutput::claim(&args.out, args.force)?;
    let json_out = PendingOutput::claim(&files::sidecar_path(&args.out), args.force)?;
    let dbn = Dbn::new(model.layers)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let started = std::time::Instant::now();
    let v = dbn.generate(args.samples, args.gibbs_steps, None, &mut rng)?;
    let units = dbn.layers()[0].visible_units();
    let spins: Vec<i8> = v.iter().map(|&x| units.unit_to_spin(x)).collect();
    let mut full_shape = vec![args.samples];
    full_shape.extend(&shape);
    let provenance =
        model.metadata.get("data").and_then(|d| d.get("provenance")).cloned().unwrap_or(Value::Null);
    let model_name = if shape.len() == 2 { "ising2d" } else { "ising1d" };
    let meta = json!({
        "kind": "kadanoff.spins",
        "source": "generate",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "model": model_name,
        "size": shape[0],
        "shape": full_shape,
        "coupling": provenance.get("coupling").cloned().unwrap_or(Value::Null),
        "field": provenance.get("field").cloned().unwrap_or(Value::Null),
        "samples": args.samples,
        "seed": args.seed,
        "gibbs_steps": args.gibbs_steps,
        "from_model": args.model.display().to_string(),
        "elapsed_seconds": started.elapsed().as_secs_f64(),
        "output": args.out.display().to_string(),
    });
    files::write_spins(&npy_out, &full_shape, spins)?;
    files::write_json(&json_out, &meta)?;
    npy_out.commit()?;
    json_out.commit()?;
    if args.json {
        crate::print_json(&meta)
    } else {
        outln!("{} configurations of shape {shape:?} written to {}", args.samples, args.out.display());
        Ok(())
    }
}
