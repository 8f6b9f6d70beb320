//! The log is written by a thread of its own: a server whose stderr nobody
//! reads (a pipe whose reader stalled, a terminal paused with Ctrl-S) goes
//! on serving, and every line reaches stderr once it is read again.
//!
//! Before, each request wrote its access line to stderr on the runtime
//! thread that served it: once the pipe's 64 KiB buffer was full, those
//! threads blocked in `write(2)` and the server stopped answering.

use miniaws_testkit::miniaws_bin;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Requests enough for their access lines (about 200 bytes each) to fill a
/// pipe's buffer several times over.
const REQUESTS: usize = 2_000;

#[tokio::test]
async fn a_stalled_log_reader_does_not_stall_the_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(miniaws_bin())
        .args(["--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("PORT")
        .env("MINIAWS_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Piped and not read until the end.
        .stderr(Stdio::piped())
        .spawn()
        .expect("miniaws starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut native = None;
    let mut line = String::new();
    while stdout.read_line(&mut line).expect("read the banner") > 0 {
        if let Some(addr) = line.trim().strip_prefix("native API") {
            native = Some(addr.trim().to_owned());
        } else if line.trim().starts_with("database") {
            break;
        }
        line.clear();
    }
    let native = native.expect("the banner names the native API");
    // The banner is read; stdout is drained on a thread of its own so that
    // only stderr stays unread.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));

    let http = reqwest::Client::new();
    let served = tokio::time::timeout(Duration::from_secs(60), async {
        for i in 0..REQUESTS {
            let res = http
                .get(format!("{native}/health"))
                .header("x-request-id", format!("stall-{i:05}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("request {i}: {e}"));
            assert!(res.status().is_success(), "request {i}: {}", res.status());
        }
    })
    .await;

    // Read the log now: every access line is there, in order.
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        stderr.read_to_string(&mut log).expect("read the log");
        log
    });
    sigterm(child.id());
    let status = child.wait().expect("the server exits");
    let log = reader.join().expect("the log reader");
    assert!(
        served.is_ok(),
        "the server stopped answering while nobody read its log"
    );
    assert!(status.success(), "a clean exit on SIGTERM: {status}");
    let mut last = None;
    for i in 0..REQUESTS {
        let id = format!("stall-{i:05}");
        let at = log
            .find(&id)
            .unwrap_or_else(|| panic!("the access line of {id} was written"));
        assert!(last.is_none_or(|l| l < at), "{id} is in order");
        last = Some(at);
    }
}

/// SIGTERM to `pid` (a child of this test): the server's graceful stop,
/// which writes out the lines still queued.
fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "SIGTERM sent");
}

/// With `--log-format json` every line is one JSON object whose keys are
/// unique: a refused request's line keeps its event name in `message` and
/// the answer's text in `reason` (both were `message` once, and a JSON
/// reader kept only one), with `status` a number as on the access line.
#[tokio::test]
async fn json_log_lines_keep_their_message_and_reason_apart() {
    let Some(mut server) = miniaws_testkit::TestServer::start_with(
        miniaws_testkit::Backend::Sqlite,
        &[],
        &[("MINIAWS_LOG_FORMAT", "json")],
    )
    .await
    else {
        return;
    };
    let http = reqwest::Client::new();
    // Native: no key. S3: anonymous, naming a bucket that does not exist
    // (NoSuchBucket, as S3 tells anyone).
    let native = http
        .get(format!("{}/storage", server.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(native.status(), 401);
    let s3 = http
        .get(format!("{}/some-bucket", server.aws_url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(s3.status(), 404);
    server.stop().await;
    let log = server.log();
    let mut seen = Vec::new();
    for line in log.lines().filter(|l| l.starts_with('{')) {
        // serde_json keeps the last of two equal keys: with the answer's
        // text in a second `message`, the event name would be lost here.
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let event = value["message"].as_str().unwrap_or_default();
        if event == "request rejected" || event == "S3 request rejected" {
            assert!(value["status"].is_u64(), "{line}");
            assert!(
                value["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{line}"
            );
            seen.push(event.to_owned());
        }
    }
    assert_eq!(seen, ["request rejected", "S3 request rejected"], "{log}");
}

/// A start on a migrated Postgres database logs no sqlx migrator notice
/// ("relation _sqlx_migrations already exists, skipping": Postgres's
/// notices are at warn unless the filter names sqlx).
#[tokio::test]
async fn a_restart_on_postgres_logs_no_migrator_notice() {
    let Some(mut server) =
        miniaws_testkit::TestServer::start(miniaws_testkit::Backend::Postgres).await
    else {
        return;
    };
    server.restart().await;
    server.stop().await;
    let log = server.log();
    assert!(
        log.contains("migrations applied"),
        "the first start's line: {log}"
    );
    assert!(!log.contains("already exists, skipping"), "{log}");
}
