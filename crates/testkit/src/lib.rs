//! Test support shared by the integration tests of every crate.
//!
//! [`TestServer`] starts the real `miniaws` binary on random ports with a
//! temporary data directory and a fresh database — a SQLite file, or a
//! UUID-named Postgres database created on the server named by
//! `MINIAWS_TEST_DATABASE_URL` and dropped afterwards.
//!
//! [`require_postgres`] and [`require_docker`] implement the rule that a test
//! never passes silently because a service is missing: when
//! `MINIAWS_REQUIRE_SERVICES=1` (set by `./scripts/test`) or `CI=true`, a
//! missing service fails the test; otherwise the test says loudly that it is
//! skipped.
//!
//! [`AwsClients`] runs the real AWS clients (the aws CLI, boto3 …) with one
//! key against a test server, isolated from the developer's own AWS setup.

mod aws_clients;
mod postgres;
mod server;

pub use aws_clients::{AWS_REGION, AwsClients, isolated_command, script_ok};
pub use postgres::{TestDatabase, require_postgres};
pub use server::{Backend, TestServer, miniaws_bin};

/// Whether missing services must fail tests rather than skip them.
pub fn services_required() -> bool {
    std::env::var("MINIAWS_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The client program the environment variable `var` names (the aws CLI,
/// Python with boto3, rclone … that `scripts/provision` installs and writes
/// to `target/test-env`), if it exists. Panics when services are required
/// but it is missing; otherwise says the test is skipped.
pub fn require_tool(var: &str) -> Option<std::path::PathBuf> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() && std::path::Path::new(&p).exists() => Some(p.into()),
        _ if services_required() => panic!(
            "{var} is not set or does not exist, but services are required: run ./scripts/test"
        ),
        _ => {
            eprintln!("SKIPPED: {var} not set (run ./scripts/test to provision the S3 clients)");
            None
        }
    }
}

/// The Docker test image (built by `scripts/provision`), if Docker tests are
/// enabled. Panics when services are required but Docker is not set up.
pub fn require_docker() -> Option<String> {
    match std::env::var("MINIAWS_TEST_IMAGE") {
        Ok(image) if std::env::var("MINIAWS_TEST_DOCKER").is_ok_and(|v| v == "1") => Some(image),
        _ if services_required() => panic!(
            "Docker tests are required (MINIAWS_REQUIRE_SERVICES=1 or CI) but \
             MINIAWS_TEST_DOCKER/MINIAWS_TEST_IMAGE are not set: run ./scripts/test"
        ),
        _ => {
            eprintln!("SKIPPED: Docker not configured (run ./scripts/test to provision it)");
            None
        }
    }
}
