//! `miniaws-bench`: measures a real release `miniaws` and prints figures.
//!
//! Run through `./scripts/bench <suite>`, which builds the release binaries
//! first. Each suite lives in its own module; figures go to stdout and are
//! recorded by hand in BENCHMARKS.md with the machine they came from.

mod compute;
mod foundation;
mod lean_s3;
mod payload;
mod s3;
mod stats;
mod storage;

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
    /// The object store: 256 MiB and 4 KiB PUT/GET, listing, RSS, next to
    /// the raw disk and database limits measured in the same run.
    Storage(storage::Args),
    /// Launch-to-RUNNING vs `docker run -d`, GET /instances with 1,000 instances, RSS.
    Compute(compute::Args),
    /// The S3 path (SigV4; aws-sdk-s3, and a lean reqwest + aws-sigv4
    /// client) beside the native /storage path: large-object MiB/s and
    /// 4 KiB ops/s at concurrency 16.
    S3(s3::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { suite } = Cli::parse();
    match suite {
        Suite::Foundation(args) => foundation::run(args).await,
        Suite::Storage(args) => storage::run(args).await,
        Suite::Compute(args) => compute::run(args).await,
        Suite::S3(args) => s3::run(args).await?,
    }
    Ok(())
}
