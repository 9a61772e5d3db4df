//! The `kadanoff` command line.
//!
//! Subcommands wire the library crates together; this crate owns file formats (`.npy` data,
//! JSON metadata), progress display and exit codes. Any failure prints one line on stderr and
//! exits with code 2; usage errors from the argument parser exit with 2 as well.

/// `println!` that never panics: a closed pipe (`kadanoff … | head`) ends the program quietly,
/// any other write error exits with code 2.
macro_rules! outln {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod budget;
mod campaign_task;
mod cmd_assess;
mod cmd_campaign;
mod cmd_exact;
mod cmd_flow;
mod cmd_generate;
mod cmd_merge;
mod cmd_reproduce;
mod cmd_rg;
mod cmd_rg_mapping;
mod cmd_rsmi;
mod cmd_sample;
mod cmd_stats;
mod cmd_train;
mod cmd_train_args;
mod cmd_train_kernel;
mod files;
mod kernel_file;
mod model_file;
mod progress;
mod shard;
mod step_cache;
mod train_checkpoint;

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
    /// Run the whole Mehta & Schwab study end to end and write a self-contained report.
    Reproduce(cmd_reproduce::ReproduceArgs),
    /// Sample equilibrium Ising configurations into an int8 .npy (with a JSON sidecar).
    Sample(cmd_sample::SampleArgs),
    /// Print exact per-site values (enumeration, transfer matrix, Kaufman, Onsager).
    Exact(cmd_exact::ExactArgs),
    /// Print the observables of an existing data set with error bars.
    Stats(cmd_stats::StatsArgs),
    /// Train a deep belief network greedily, layer by layer, on a .npy data set.
    Train(cmd_train::TrainArgs),
    /// Generate configurations from a trained model (same format as `sample`).
    Generate(cmd_generate::GenerateArgs),
    /// Renormalization group: exact 1D flow, block spins, RBM realisations, the exact mapping, MCRG.
    #[command(subcommand)]
    Rg(cmd_rg::RgCommand),
    /// Merge the shards of one `sample --shard I/N` run into what the single run writes.
    Merge(cmd_merge::MergeArgs),
    /// Campaigns: a grid of runs from a TOML file, as a Slurm job array or locally, merged.
    #[command(subcommand)]
    Campaign(cmd_campaign::CampaignCommand),
    /// RBM flow (Iso, Shiba, Yokoo): one RBM trained over many couplings, iterated, read by the exact thermometer.
    Flow(cmd_flow::FlowArgs),
    /// RSMI (Koch-Janusz, Ringel): block-spin filters that maximise I(H : E), on the exact p(V | E).
    Rsmi(cmd_rsmi::RsmiArgs),
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

/// Write to stdout; see [`outln`].
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("kadanoff: error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// Print a JSON value on stdout (one object, pretty-printed).
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Let every option that takes a value accept negative-looking values (`--learning-rate -0.1`),
/// so that they reach the range checks and get a range message instead of "unexpected argument".
fn negative_numbers_everywhere(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| if a.get_action().takes_values() { a.allow_negative_numbers(true) } else { a })
        .mut_subcommands(negative_numbers_everywhere)
}

/// Join `--option -inf` (and `-infinity`, `-nan`) into `--option=-inf`: clap takes those for
/// flags even with negative numbers allowed, and they should reach the range checks too.
fn join_negative_words(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    for arg in args {
        let word = arg.to_str().map(str::to_ascii_lowercase);
        let negative_word = matches!(word.as_deref(), Some("-inf" | "-infinity" | "-nan"));
        match out.last_mut() {
            Some(prev)
                if negative_word
                    && prev.to_str().is_some_and(|p| p.starts_with("--") && !p.contains('=')) =>
            {
                prev.push("=");
                prev.push(&arg);
            }
            _ => out.push(arg),
        }
    }
    out
}

/// A usage error as one line on stderr (clap's first line, without the usage block), exit code
/// 2; help and version requests print as clap prints them.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // Clap's message and its details come before the usage block; keep them, on one line.
    let text = e.render().to_string();
    let words: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip:") && !l.starts_with("For more information"))
        .collect();
    let message = words.join(" ");
    let message = message.trim_start_matches("error: ");
    eprintln!("kadanoff: error: {message} (see kadanoff --help)");
    std::process::exit(2);
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let args = join_negative_words(std::env::args_os());
    let matches = negative_numbers_everywhere(Cli::command())
        .try_get_matches_from(args)
        .unwrap_or_else(|e| usage_error(e));
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| usage_error(e));
    files::install_signal_cleanup();
    let result = match cli.command {
        Command::Reproduce(a) => cmd_reproduce::run(a),
        Command::Sample(a) => cmd_sample::run(a),
        Command::Exact(a) => cmd_exact::run(a),
        Command::Stats(a) => cmd_stats::run(a),
        Command::Train(a) => cmd_train::run(a),
        Command::Generate(a) => cmd_generate::run(a),
        Command::Rg(c) => cmd_rg::run(c),
        Command::Campaign(c) => cmd_campaign::run(c),
        Command::Merge(a) => cmd_merge::run(a),
        Command::Flow(a) => cmd_flow::run(a),
        Command::Rsmi(a) => cmd_rsmi::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kadanoff: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
