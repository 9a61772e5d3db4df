//! `kadanoff rg train-kernel`: learn a convolutional coarse-graining kernel (stride b, a shared
//! w×w filter; `rg_transforms::coarse::learned`) from a 2D data set and write it as a kernel file.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use lattice_physics::rng::chain_rng;
use rg_transforms::coarse::learned::{train_conv_kernel, ConvTrainConfig};
use serde_json::json;

use crate::cmd_assess::square_data;
use crate::files::{self, PendingOutput};
use crate::kernel_file::{CONV_FORMAT as KERNEL_FORMAT, CONV_KIND as KERNEL_KIND};

/// Arguments of `rg train-kernel`.
#[derive(Args)]
pub struct TrainKernelArgs {
    /// Training data (`.npy` of ±1, shape (samples, L, L)).
    #[arg(long)]
    data: PathBuf,
    /// Block factor (stride) b.
    #[arg(long, default_value_t = 2)]
    factor: usize,
    /// Window side w (b ≤ w, w − b even).
    #[arg(long, default_value_t = 2)]
    window: usize,
    /// Passes over the data.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Configurations per gradient step.
    #[arg(long, default_value_t = 50)]
    batch_size: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    learning_rate: f64,
    /// Gibbs steps k of CD-k.
    #[arg(long, default_value_t = 1)]
    cd_steps: usize,
    /// Persistent contrastive divergence instead of CD-k.
    #[arg(long)]
    persistent: bool,
    /// Standard deviation of the initial filter.
    #[arg(long, default_value_t = 0.01)]
    init_std: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output kernel file (`.json`).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite an existing output.
    #[arg(long)]
    force: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn train_kernel(a: TrainKernelArgs) -> Result<()> {
    if a.out.extension().and_then(|e| e.to_str()) != Some("json") {
        bail!("--out must name a .json file, got {}", a.out.display());
    }
    let (data, lattice) = square_data(&a.data)?;
    let config = ConvTrainConfig {
        factor: a.factor,
        window: a.window,
        epochs: a.epochs,
        batch_size: a.batch_size,
        learning_rate: a.learning_rate,
        cd_steps: a.cd_steps,
        persistent: a.persistent,
        init_std: a.init_std,
    };
    if a.batch_size > data.samples() {
        bail!("--batch-size {} is larger than the data set ({} samples)", a.batch_size, data.samples());
    }
    // Validate everything (sizes, window, configuration) before claiming the output.
    rg_transforms::coarse::learned::ConvTrainer::new(lattice, config.clone(), &mut chain_rng(a.seed, 0))?;
    let sites = lattice.num_sites() as u128;
    crate::budget::check_work(
        &format!("{} epochs of CD-{}", a.epochs, a.cd_steps),
        crate::budget::product(&[
            a.epochs as u128,
            data.samples() as u128,
            sites,
            (a.window as u128).saturating_mul(a.window as u128),
            (a.cd_steps as u128).saturating_add(1),
            4,
        ]),
    )?;
    let out = PendingOutput::claim(&a.out, a.force)?;
    let (kernel, history) = train_conv_kernel(&data, &config, &mut chain_rng(a.seed, 0))?;
    let v = json!({
        "kind": KERNEL_KIND,
        "format_version": KERNEL_FORMAT,
        "kernel": kernel.to_filter(),
        "trained_on": { "data": a.data.display().to_string(), "lattice_size": lattice.linear_size(), "samples": data.samples() },
        "training": config,
        "seed": a.seed,
        "history": history,
    });
    files::write_json(&out, &v)?;
    out.commit()?;
    if a.json {
        return crate::print_json(&v);
    }
    let last = history.last().expect("epochs ≥ 1");
    outln!("learned kernel: b = {}, w = {}, written to {}", a.factor, a.window, a.out.display());
    for row in kernel.filter().chunks(a.window) {
        outln!("  {}", row.iter().map(|x| format!("{x:8.4}")).collect::<Vec<_>>().join(" "));
    }
    outln!("reconstruction error {:.4}, mean |field| {:.3}", last.reconstruction_error, last.mean_abs_field);
    Ok(())
}
