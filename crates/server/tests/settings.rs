//! Numeric settings are checked when `miniaws` starts: a value it cannot
//! use stops it with a usage error naming the flag (exit 2), rather than a
//! panic at start-up or in the middle of serving, and the largest value
//! each timeout and interval takes works (the stop grace against the real
//! Docker daemon).

mod compute_support;

use compute_support::{ContainerGuard, SLEEP, launch};
use miniaws_testkit::{Backend, TestServer, miniaws_bin, require_docker};

/// The largest value of every `…-secs` setting (i32::MAX, Docker's bound on
/// a stop timeout).
const MAX_SECS: &str = "2147483647";

/// The settings bounded by [`MAX_SECS`]; the stop grace may also be 0.
const SECS_FLAGS: &[&str] = &[
    "--multipart-expiry-secs",
    "--lifecycle-interval-secs",
    "--body-idle-timeout-secs",
    "--header-timeout-secs",
    "--stop-grace-secs",
    "--resync-interval-secs",
];

/// Runs `miniaws migrate status` (which serves nothing and, on a data
/// directory without a database, creates nothing) with `args` and `envs`,
/// and returns its exit code and stderr.
fn run(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = std::process::Command::new(miniaws_bin())
        .args(["migrate", "status", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(args)
        .env_remove("DATABASE_URL")
        .envs(envs.iter().copied())
        .output()
        .expect("miniaws runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Arguments, environment, and the flag the refusal must name.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn unusable_numbers_are_refused_naming_the_setting() {
    let too_many_secs = "2147483648";
    let mut cases: Vec<Case> = vec![
        // A pool of no connections panicked inside sqlx at start-up.
        (
            vec!["--db-max-connections", "0"],
            vec![],
            "--db-max-connections",
        ),
        (
            vec![],
            vec![("MINIAWS_DB_MAX_CONNECTIONS", "0")],
            "--db-max-connections",
        ),
        (
            vec![],
            vec![("MINIAWS_STOP_GRACE_SECS", "18446744073709551615")],
            "--stop-grace-secs",
        ),
    ];
    // Past the bound each overflowed the clock arithmetic it feeds and
    // panicked: the stop request, the resync loop, the expiry sweep.
    for flag in SECS_FLAGS {
        cases.push((vec![flag, too_many_secs], vec![], flag));
    }
    for (args, envs, flag) in cases {
        let (code, stderr) = run(&args, &envs);
        assert_eq!(code, Some(2), "{args:?} {envs:?} was not refused: {stderr}");
        assert!(
            stderr.contains(flag) && !stderr.contains("panicked"),
            "{args:?} {envs:?}: {stderr}"
        );
    }
    // The bounds themselves are accepted.
    let mut args = vec!["--db-max-connections", "1"];
    for flag in SECS_FLAGS {
        args.extend([*flag, MAX_SECS]);
    }
    for args in [&args[..], &["--stop-grace-secs", "0"]] {
        let (code, stderr) = run(args, &[]);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn the_largest_timeouts_and_intervals_work() {
    let Some(image) = require_docker() else {
        return;
    };
    let mut args = vec!["--db-max-connections", "1"];
    for flag in SECS_FLAGS {
        args.extend([*flag, MAX_SECS]);
    }
    let Some(server) = TestServer::start_with(Backend::Sqlite, &args, &[]).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "patient").await;

    client
        .put_object("patient-bucket", "a.txt", "hello", None)
        .await
        .expect("an upload");
    let body = client
        .get_object("patient-bucket", "a.txt", None, None)
        .await
        .expect("a download")
        .bytes()
        .await
        .expect("its bytes");
    assert_eq!(body, b"hello");

    // A stop waits the grace plus Docker's call timeout: that sum
    // overflowed for the largest graces and panicked the request.
    let inst = client
        .launch_instance(&launch("patient", &image, SLEEP))
        .await
        .expect("launch");
    let stopped = client.stop_instance(inst.id).await.expect("stop");
    assert_eq!(stopped.state, "STOPPED");
    client.terminate_instance(inst.id).await.expect("terminate");

    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}
