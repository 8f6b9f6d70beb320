//! One server per database: a second `miniaws serve` on a database a
//! server is using (from another data directory, so the data directory's
//! own lock cannot see it) stops before it touches anything, naming the
//! first; so does a `migrate up` / `migrate down` under a running server.
//! A crash releases the database at once. On both backends.

use miniaws_testkit::{Backend, TestServer, miniaws_bin};
use std::time::Duration;

/// Runs `miniaws` with `args` on `database_url` from a data directory of
/// its own (not the server's): whether it succeeded, its stdout and its
/// stderr. A server it starts is killed after 30 s (the test then fails).
async fn run_on(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = tokio::process::Command::new(miniaws_bin())
        .args(["--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--database-url")
        .arg(database_url)
        .env("MINIAWS_LOG_FORMAT", "pretty")
        .env_remove("DATABASE_URL")
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("it stops at once")
        .expect("miniaws runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `miniaws args` on `server`'s database was refused because
/// `server` holds it.
async fn refused_by(server: &TestServer, args: &[&str]) {
    let (ok, _, stderr) = run_on(server.database_url(), args).await;
    let pid = server.pid().expect("the first server runs");
    assert!(!ok, "{args:?} must be refused: {stderr}");
    assert!(
        stderr.contains("is in use by another Mini AWS server")
            && stderr.contains(&format!("miniaws pid {pid}")),
        "{args:?}: the refusal names the server holding the database:\n{stderr}"
    );
}

/// The applied migrations on `url`, from `migrate status` (which runs
/// beside a server: it changes nothing).
async fn applied(url: &str) -> usize {
    let (ok, stdout, stderr) = run_on(url, &["migrate", "status"]).await;
    assert!(ok, "migrate status runs beside a server: {stderr}");
    stdout.lines().filter(|l| l.contains("applied")).count()
}

async fn a_second_server_on_the_same_database_stops_first(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    alice
        .put_object("held", "kept.txt", "mine", None)
        .await
        .expect("stored");

    refused_by(&server, &[]).await;
    refused_by(&server, &["serve"]).await;
    let before = applied(server.database_url()).await;
    refused_by(&server, &["migrate", "down", "--steps", "1"]).await;
    refused_by(&server, &["migrate", "up"]).await;
    refused_by(&server, &["--migrate-only"]).await;
    assert_eq!(
        applied(server.database_url()).await,
        before,
        "no migration was reverted under the running server"
    );
    let got = alice
        .get_object("held", "kept.txt", None, None)
        .await
        .expect("the first server serves on");
    assert_eq!(got.bytes().await.expect("body"), b"mine");

    // A crash releases the database at once: another server may take it.
    server.kill().await;
    let second =
        TestServer::start_with_database(server.database_url().to_owned(), None, &[], &[]).await;
    second
        .client()
        .health()
        .await
        .expect("the second server answers");
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_database_stops_first() {
    a_second_server_on_the_same_database_stops_first(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_second_server_on_the_same_postgres_database_stops_first() {
    a_second_server_on_the_same_database_stops_first(Backend::Postgres).await;
}
