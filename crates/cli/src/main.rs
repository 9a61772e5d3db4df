//! The `kadanoff` command line.
//!
//! Subcommands wire the library crates together; this crate owns file formats (`.npy` data,
//! JSON metadata), progress display and exit codes. Any failure prints one line on stderr and
//! exits with code 2; usage errors from the argument parser exit with 2 as well.

mod cmd_exact;
mod cmd_sample;
mod cmd_stats;
mod files;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Restricted Boltzmann machines and the renormalization group, measured.
#[derive(Parser)]
#[command(name = "kadanoff", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sample equilibrium Ising configurations into an int8 .npy (with a JSON sidecar).
    Sample(cmd_sample::SampleArgs),
    /// Print exact per-site values (enumeration, transfer matrix, Kaufman, Onsager).
    Exact(cmd_exact::ExactArgs),
    /// Print the observables of an existing data set with error bars.
    Stats(cmd_stats::StatsArgs),
}

/// The model family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// Nearest-neighbour Ising model on an L×L periodic square lattice.
    Ising2d,
    /// Nearest-neighbour Ising model on a periodic ring of L sites.
    Ising1d,
}

impl ModelKind {
    /// Stable name used in metadata.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Ising2d => "ising2d",
            ModelKind::Ising1d => "ising1d",
        }
    }

    /// The lattice of linear size `size`.
    pub fn lattice(self, size: usize) -> lattice_physics::Result<lattice_physics::Lattice> {
        match self {
            ModelKind::Ising2d => lattice_physics::Lattice::square(size),
            ModelKind::Ising1d => lattice_physics::Lattice::ring(size),
        }
    }
}

/// Print a JSON value on stdout (one object, pretty-printed).
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sample(a) => cmd_sample::run(a),
        Command::Exact(a) => cmd_exact::run(a),
        Command::Stats(a) => cmd_stats::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kadanoff: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
