//! The process itself: migrate commands, graceful shutdown (with the
//! background sweeps running), restart.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;
use miniaws_testkit::{Backend, TestServer, miniaws_bin};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};
use uuid::Uuid;

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
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("utf-8 path");

    let (ok, out, _) = miniaws(&["--data-dir", data, "migrate", "status"]);
    assert!(ok);
    assert!(
        out.lines().all(|l| l.contains("pending")),
        "fresh db: {out}"
    );
    let total = out.lines().count();
    assert!(total >= 4);
    assert!(
        !data_dir.exists(),
        "a status creates neither the data directory nor the database"
    );

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

    // A server start that cannot reach its database makes no secrets key
    // (the next start, on the right database, makes the one it uses).
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let (ok, _, err) = miniaws(&[
        "--data-dir",
        data,
        "--database-url",
        "postgres://cloud:hunter2@127.0.0.1:1/miniaws",
    ]);
    assert!(!ok);
    assert!(err.contains("cannot connect to postgres at"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the data directory")
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(
        !left.iter().any(|name| name.contains("key")),
        "no secrets key after a failed start: {left:?}"
    );
}

/// Buckets of the SIGTERM test, in the order the sweep visits them.
const DAMAGED: &str = "sweep-damaged";
const MANY: &str = "sweep-many";
const SMALL: &str = "sweep-small";
/// Objects in `MANY`: enough that a pass over them (one conditional
/// DELETE and one unlink each, every commit fsynced) is still running
/// when SIGTERM arrives just after its first delete.
const MANY_OBJECTS: usize = 400;

/// Expires every object of `bucket` (a `Date` in the past).
async fn expire_all(s3: &aws_sdk_s3::Client, bucket: &str) {
    use aws_sdk_s3::primitives::DateTime;
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter,
    };
    let rule = LifecycleRule::builder()
        .id("all")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(
            LifecycleExpiration::builder()
                // 2020-01-01T00:00:00Z
                .date(DateTime::from_secs(1_577_836_800))
                .build(),
        )
        .build()
        .expect("a rule");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .expect("a configuration"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketLifecycleConfiguration {bucket}: {e:?}"));
}

async fn count_keys(s3: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let mut n = 0;
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        n += page.expect("ListObjectsV2").contents().len();
    }
    n
}

/// Waits (up to 20 s) until `bucket` holds no object.
async fn wait_until_empty(s3: &aws_sdk_s3::Client, bucket: &str) {
    for _ in 0..200 {
        if count_keys(s3, bucket).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{bucket} was never emptied by the lifecycle sweep");
}

/// The blob ids every object and part row names, and the blob files in
/// the object store, of a stopped server's SQLite database.
async fn rows_and_blobs(server: &TestServer) -> (BTreeSet<Uuid>, BTreeSet<Uuid>) {
    let pool = sqlx::SqlitePool::connect(server.database_url())
        .await
        .expect("sqlite");
    let mut rows = BTreeSet::new();
    for sql in [
        "SELECT blob_id FROM objects WHERE blob_id IS NOT NULL",
        "SELECT blob_id FROM multipart_parts",
    ] {
        let ids: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(&pool)
            .await
            .expect("blob ids");
        rows.extend(ids.iter().map(|id| Uuid::parse_str(id).expect("a uuid")));
    }
    pool.close().await;
    // Temporaries (`<uuid>.<nonce>.tmp`) are not blobs.
    let files = common::files_under(&common::objects_dir(server))
        .iter()
        .filter_map(|p| Uuid::parse_str(p.file_name()?.to_str()?).ok())
        .collect();
    (rows, files)
}

/// SIGTERM with the lifecycle sweep (every second) in the middle of a
/// long pass and the multipart expiry scheduled: the process exits 0
/// promptly; the pass stopped between two deletes, so every object row
/// left has its blob file and no blob file lost its row; the next server
/// finishes the pass. On the way, a bucket whose stored configuration is
/// damaged is skipped with a warning naming it (not the stored text) and
/// the buckets after it are swept.
#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_data_survives_a_restart() {
    let mut server = TestServer::start_with(
        Backend::Sqlite,
        &[
            "--lifecycle-interval-secs",
            "1",
            "--multipart-expiry-secs",
            "1",
        ],
        &[],
    )
    .await
    .expect("server");
    let (alice, key) = server.user("alice").await;
    alice.list_keys().await.expect("works");
    let s3 = common::s3_client(&server, &key);
    for bucket in [DAMAGED, MANY, SMALL] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    let put = |bucket: &'static str, key: String| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"));
        }
    };
    put(DAMAGED, "kept".into()).await;
    put(SMALL, "gone".into()).await;

    // A damaged configuration, written straight into the table (a row
    // edited by hand); the bucket after it is still swept.
    let pool = sqlx::SqlitePool::connect(server.database_url())
        .await
        .expect("sqlite");
    let damaged = sqlx::query("UPDATE buckets SET lifecycle = 'secret-ish {' WHERE name = ?")
        .bind(DAMAGED)
        .execute(&pool)
        .await
        .expect("written")
        .rows_affected();
    assert_eq!(damaged, 1);
    pool.close().await;
    expire_all(&s3, SMALL).await;
    wait_until_empty(&s3, SMALL).await;
    assert_eq!(
        count_keys(&s3, DAMAGED).await,
        1,
        "the damaged bucket keeps its object"
    );
    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("does not decode") && l.contains(DAMAGED)),
        "a warning names the bucket:\n{log}"
    );
    assert!(!log.contains("secret-ish"), "not what is stored");

    // Many objects, then a rule that expires them all; SIGTERM just after
    // the sweep's first delete among them.
    futures::stream::iter((0..MANY_OBJECTS).map(|i| put(MANY, format!("k{i:04}"))))
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let expired = |log: &str| log.matches("object expired by lifecycle").count();
    let before = expired(&server.log());
    expire_all(&s3, MANY).await;
    let mut waited = 0;
    while expired(&server.log()) == before {
        assert!(waited < 2_000, "the sweep never started on {MANY}");
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 1;
    }
    let signalled = Instant::now();
    assert!(server.stop().await, "SIGTERM exits with success");
    let took = signalled.elapsed();
    // serve waits up to 5 s for the background tasks; a step is a few ms.
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after SIGTERM"
    );
    let log = server.log();
    assert!(
        log.contains("lifecycle sweep stopped early"),
        "the pass was cut between two deletes:\n{log}"
    );
    assert!(!log.contains("did not stop within"), "{log}");
    assert!(log.contains("closing the database pool"));
    let (rows, files) = rows_and_blobs(&server).await;
    assert_eq!(
        files, rows,
        "every row left has its blob file, and every blob file its row"
    );
    let left = rows.len() - 1; // the damaged bucket's object
    assert!(
        0 < left && left < MANY_OBJECTS,
        "stopped in the middle: {left} of {MANY_OBJECTS} left"
    );

    server.restart().await;
    let alice = server.client().with_api_key(key.key.clone());
    assert_eq!(alice.list_keys().await.expect("key survives").len(), 1);
    // The next server's sweeps finish the work.
    let s3 = common::s3_client(&server, &key);
    wait_until_empty(&s3, MANY).await;
    assert!(server.stop().await);
}
