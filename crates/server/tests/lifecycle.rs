//! The process itself: migrate commands, graceful shutdown, restart.

use miniaws_testkit::{Backend, TestServer, miniaws_bin};
use std::process::Command;

fn miniaws(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(miniaws_bin())
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("miniaws runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn migrate_commands_apply_report_and_revert() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");

    let (ok, out, _) = miniaws(&["--data-dir", data, "migrate", "status"]);
    assert!(ok);
    assert!(
        out.lines().all(|l| l.contains("pending")),
        "fresh db: {out}"
    );
    let total = out.lines().count();
    assert!(total >= 4);

    let (ok, _, err) = miniaws(&["--data-dir", data, "--migrate-only"]);
    assert!(ok, "{err}");
    let (_, out, _) = miniaws(&["--data-dir", data, "migrate", "status"]);
    assert_eq!(
        out.lines().filter(|l| l.contains("applied")).count(),
        total,
        "{out}"
    );

    let (ok, _, err) = miniaws(&["--data-dir", data, "migrate", "down", "--steps", "2"]);
    assert!(ok, "{err}");
    let (_, out, _) = miniaws(&["--data-dir", data, "migrate", "status"]);
    assert_eq!(
        out.lines().filter(|l| l.contains("pending")).count(),
        2,
        "{out}"
    );

    let (ok, _, err) = miniaws(&["--data-dir", data, "migrate", "up"]);
    assert!(ok, "{err}");
    let (_, out, _) = miniaws(&["--data-dir", data, "migrate", "status"]);
    assert_eq!(
        out.lines().filter(|l| l.contains("applied")).count(),
        total,
        "{out}"
    );
}

#[test]
fn bad_configuration_is_named() {
    let (ok, _, err) = miniaws(&["--database-url", "mysql://x"]);
    assert!(!ok);
    assert!(err.contains("--database-url"), "{err}");

    let (ok, _, err) = miniaws(&[
        "--database-url",
        "postgres://cloud:hunter2@127.0.0.1:1/miniaws",
        "--migrate-only",
    ]);
    assert!(!ok);
    assert!(err.contains("cannot connect to postgres at"), "{err}");
    assert!(!err.contains("hunter2"), "the password is redacted: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_data_survives_a_restart() {
    let mut server = TestServer::start(Backend::Sqlite).await.expect("server");
    let (alice, key) = server.user("alice").await;
    alice.list_keys().await.expect("works");
    assert!(server.stop().await, "SIGTERM exits with success");
    assert!(server.log().contains("closing the database pool"));

    server.restart().await;
    let alice = server.client().with_api_key(key.key);
    assert_eq!(alice.list_keys().await.expect("key survives").len(), 1);
}
