//! `miniaws-bench`: measures a real release `miniaws` and prints figures.
//!
//! Run through `./scripts/bench <suite>`, which builds the release binaries
//! first. Each suite lives in its own module; figures go to stdout and are
//! recorded by hand in BENCHMARKS.md with the machine they came from.

mod foundation;
mod stats;

use clap::{Parser, Subcommand};

/// Benchmarks of Mini AWS.
#[derive(Debug, Parser)]
#[command(name = "miniaws-bench")]
struct Cli {
    #[command(subcommand)]
    suite: Suite,
}

#[derive(Debug, Subcommand)]
enum Suite {
    /// Start-up time, idle RSS, and GET /auth/keys latency on SQLite and Postgres.
    Foundation(foundation::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { suite } = Cli::parse();
    match suite {
        Suite::Foundation(args) => foundation::run(args).await,
    }
    Ok(())
}
