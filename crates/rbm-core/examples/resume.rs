//! Greedy training with a checkpoint, an interruption and a resumption, then loading the
//! model, with `rbm-core`'s public API alone (feature `safetensors`).
//!
//! ```text
//! cargo run --release -p rbm-core --features safetensors --example resume
//! ```
//!
//! The test `tests/format.rs` runs [`run`] too.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::format::{read_checkpoint, read_model, write_checkpoint, write_model};
use rbm_core::{Dbn, GreedyConfig, GreedyTrainer, TrainConfig, Units};

/// Files larger than this are refused on reading.
const MAX_BYTES: u64 = 64 << 20;

/// Trains a 16 → 8 → 4 network on `data` for 3 epochs per layer, stopping after `stop_after`
/// epochs with a checkpoint written to `dir`; then resumes from the file, finishes, writes the
/// model and reads it back. Returns the network read back.
pub fn run(
    dir: &Path,
    data: &Array2<f32>,
    stop_after: usize,
) -> Result<Dbn<f32>, Box<dyn std::error::Error>> {
    let train = TrainConfig { batch_size: 20, ..TrainConfig::recommended(Units::Spin, false, 3, 0) };
    // One seed per layer; a real caller derives them from its own master seed.
    let config = GreedyConfig::uniform(Units::Spin, Units::Spin, &[8, 4], &train, |l| 1000 + l as u64);

    // The first session: a few epochs, then a checkpoint, then "the machine goes down".
    let mut run = GreedyTrainer::new(config.clone(), data.view())?;
    for _ in 0..stop_after {
        let step = run.step(data.view())?;
        println!(
            "layer {} epoch {}: PLL {:.4}/unit",
            step.layer + 1,
            step.metrics.epoch,
            step.metrics.pseudo_log_likelihood
        );
    }
    let mut extra = BTreeMap::new();
    extra.insert("note".to_string(), "example checkpoint".to_string());
    let ckpt = dir.join("example.ckpt.safetensors");
    write_checkpoint(std::fs::File::create(&ckpt)?, &run.state(), &extra)?;
    drop(run);

    // The second session: read the checkpoint, check it is this run, continue.
    let saved = read_checkpoint(std::fs::File::open(&ckpt)?, MAX_BYTES)?;
    let mut run = GreedyTrainer::resume(&config, saved.state, data.view())?;
    println!("resumed with {} finished layer(s)", run.finished_layers().len());
    while !run.is_finished() {
        run.step(data.view())?;
    }
    let dbn = run.into_dbn()?;
    let model = dir.join("example.safetensors");
    write_model(std::fs::File::create(&model)?, &dbn, &BTreeMap::new())?;

    // Anyone can load it.
    let file = read_model(std::fs::File::open(&model)?, MAX_BYTES)?;
    println!("model {:?}, units {}", file.dbn.sizes(), file.metadata["units"]);
    Ok(file.dbn)
}

/// Independent spins, up with probability 0.3.
pub fn toy_data(seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((200, 16), |_| Units::Spin.from_bit(rng.random::<f64>() < 0.3))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("rbm-core-resume-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let dbn = run(&dir, &toy_data(1), 4)?;
    std::fs::remove_dir_all(&dir)?;
    println!("done: {:?}", dbn.sizes());
    Ok(())
}
