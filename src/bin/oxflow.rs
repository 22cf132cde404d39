//! The standalone `oxflow` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "oxflow",
    version,
    about = "The machine-learning operations loop"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare current data with reference data: per-column drift tests and dataset drift.
    Drift(oxflow::drift::cli::DriftArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Drift(args) => oxflow::drift::cli::run(&args).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }),
    }
}
