//! `cloud`: the command-line client of Mini AWS. Built in the CLI issue.

use clap::Parser;

/// The Mini AWS command-line client.
#[derive(Debug, Parser)]
#[command(name = "cloud", version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
