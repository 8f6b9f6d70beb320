//! PutObjectTagging without a version id (`set_object_tags`) against a
//! versioned write in flight, on Postgres: the retag waits for the
//! bucket's write lock, which every versioned write and delete holds from
//! the moment it copies the current row into `object_versions` until it
//! commits. Without the wait, a retag committed between that copy and
//! the delete of the row was lost (the copy kept the old tags) though
//! answered 200. Noticed while writing
//! `crates/server/tests/s3_lifecycle_torture.rs`. (SQLite has one writer:
//! nothing can land in between.)

mod common;

use common::Repos;
use miniaws_core::storage::{ObjectMeta, Tags, Versioning};
use sqlx::Connection;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retag_waits_for_a_versioned_write_in_flight() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let r = std::sync::Arc::new(Repos::of(&fresh));
    let alice = r.user("alice").await;
    let b = r.bucket(alice, "retag-race").await;
    assert!(
        r.storage
            .set_bucket_versioning(alice, &b, Versioning::Enabled)
            .await
            .unwrap()
    );
    let o = ObjectMeta {
        versioned: true,
        in_versioned_bucket: true,
        ..common::object_meta(&b, "k")
    };
    r.storage.put_object(alice, &o).await.unwrap();

    // A versioned write in flight: the bucket's row lock, as it takes it.
    let mut writer = sqlx::PgConnection::connect(&fresh.url)
        .await
        .expect("postgres");
    sqlx::query("BEGIN")
        .execute(&mut writer)
        .await
        .expect("begin");
    sqlx::query("SELECT 1 FROM buckets WHERE name = $1 FOR NO KEY UPDATE")
        .bind(b.as_str())
        .execute(&mut writer)
        .await
        .expect("the bucket's lock");

    let retag = {
        let (r, b, key) = (r.clone(), b.clone(), o.key.clone());
        tokio::spawn(async move {
            let tags = Tags::new(vec![("expire".into(), "no".into())]).unwrap();
            r.storage.set_object_tags(alice, &b, &key, &tags).await
        })
    };
    let watcher = sqlx::PgPool::connect(&fresh.url).await.expect("postgres");
    let mut waited = false;
    for _ in 0..300 {
        assert!(
            !retag.is_finished(),
            "the retag went through while a versioned write held the bucket"
        );
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&watcher)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            waited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(waited, "the retag never waited for the bucket's lock");
    sqlx::query("COMMIT")
        .execute(&mut writer)
        .await
        .expect("commit");
    let tagged = tokio::time::timeout(Duration::from_secs(10), retag)
        .await
        .expect("the retag ends once the write commits")
        .expect("no panic")
        .expect("the retag succeeds");
    assert_eq!(tagged, Some((o.id, true)));
    watcher.close().await;
}
