//! `kadanoff generate`: configurations sampled from a trained model, in the same format as
//! `kadanoff sample`, so that `kadanoff stats` compares them with Monte Carlo data.
//!
//! Generation runs `--gibbs-steps` block Gibbs sweeps in the top RBM (from uniformly random
//! states), then a sampled down pass to the data layer; binary units are written as spins
//! `2v - 1`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use lattice_physics::io::sidecar::GenerateRecord;
use lattice_physics::io::{Sidecar, Source};
use lattice_physics::{Configurations, Lattice};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::dbn::Dbn;

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
    let record = model.data_record(&args.model)?.unwrap_or_default();
    let shape: Vec<usize> = record.sample_shape.clone().unwrap_or_else(|| vec![model.layers[0].n_visible()]);
    if shape.iter().product::<usize>() != model.layers[0].n_visible() {
        bail!(
            "{}: metadata sample shape {shape:?} does not match {} visible units",
            args.model.display(),
            model.layers[0].n_visible()
        );
    }
    // The output's lattice, the memory of the generation and the outputs are all checked
    // before any work.
    let lattice = Lattice::from_shape(&shape)
        .map_err(|e| anyhow::anyhow!("{}: the model's data shape {shape:?}: {e}", args.model.display()))?;
    let widest = model.layers.iter().map(|l| l.n_visible().max(l.n_hidden())).max().unwrap_or(0);
    crate::budget::check(
        &format!("generating {} samples", args.samples),
        crate::budget::product(&[args.samples as u128, widest as u128, 4 * 4])
            .and_then(|b| b.checked_add(args.samples as u128 * lattice.num_sites() as u128)),
    )?;
    let top = &model.layers[model.layers.len() - 1];
    crate::budget::check_work(
        &format!("{} Gibbs sweeps of {} samples", args.gibbs_steps, args.samples),
        crate::budget::product(&[
            args.gibbs_steps as u128 + 1,
            args.samples as u128,
            top.n_visible() as u128,
            top.n_hidden() as u128,
        ]),
    )?;
    let npy_out = PendingOutput::claim(&args.out, args.force)?;
    let json_out = PendingOutput::claim(&files::sidecar_path(&args.out), args.force)?;
    let dbn = Dbn::new(model.layers)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let started = std::time::Instant::now();
    let v = dbn.generate(args.samples, args.gibbs_steps, None, &mut rng)?;
    let units = dbn.layers()[0].visible_units();
    let spins: Vec<i8> = v.iter().map(|&x| units.unit_to_spin(x)).collect();
    let provenance = record.provenance.unwrap_or_default();
    let data = Configurations::new(lattice, spins)?;
    let mut meta = Sidecar::new(
        lattice,
        args.samples,
        args.seed,
        Source::Generate(GenerateRecord {
            gibbs_steps: args.gibbs_steps,
            from_model: args.model.display().to_string(),
        }),
    );
    meta.tool_version = env!("CARGO_PKG_VERSION").into();
    meta.coupling = provenance.coupling;
    meta.field = provenance.field;
    if meta.ising_model().is_none() {
        meta.coupling = None;
        meta.field = None;
    }
    meta.elapsed_seconds = Some(started.elapsed().as_secs_f64());
    meta.output = args.out.display().to_string();
    files::write_configurations(&npy_out, &data)?;
    files::write_sidecar(&json_out, &meta)?;
    npy_out.commit()?;
    json_out.commit()?;
    if args.json {
        crate::print_json(&serde_json::to_value(&meta)?)
    } else {
        outln!("{} configurations of shape {shape:?} written to {}", args.samples, args.out.display());
        Ok(())
    }
}
