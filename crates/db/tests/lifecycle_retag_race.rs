//! The lifecycle's conditional changes against a retag in flight, on
//! SQLite and Postgres: while another connection holds an uncommitted
//! retag of the current version (as PutObjectTagging without a version id
//! writes it: one `UPDATE objects`, no bucket lock), the sweep asks to
//! expire that version with the tags it read; the retag then commits. The
//! sweep must find the version retagged and change nothing: the client
//! was told its retag succeeded, and its object no longer matches the rule.
//!
//! On Postgres the versioned case used to insert the marker anyway: the
//! check (`SELECT EXISTS … AND tags = …`) took no row lock, so the retag
//! committed between it and the move of the row, which copied (or lost)
//! the new tags and put a delete marker on top of a version the rule no
//! longer selected. Found by `crates/server/tests/s3_lifecycle_torture.rs`.

mod common;

use common::Repos;
use miniaws_core::identity::UserId;
use miniaws_core::storage::{BucketName, DeleteMarker, ObjectId, ObjectMeta, Tags, Versioning};
use std::time::Duration;

/// The tags of the retag, as the repositories store them.
const KEPT: &str = r#"[["expire","no"]]"#;

fn due() -> Tags {
    Tags::new(vec![("expire".into(), "yes".into())]).expect("a tag")
}

fn object(bucket: &BucketName, key: &str, versioned: bool) -> ObjectMeta {
    ObjectMeta {
        tags: due(),
        versioned,
        ..common::object_meta(bucket, key)
    }
}

/// A connection of the test's own, holding an uncommitted retag of the
/// current row of `key` to [`KEPT`].
enum Retag {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection, sqlx::PgPool),
}

impl Retag {
    async fn begin(url: &str, bucket: &BucketName, key: &str) -> Self {
        use sqlx::Connection;
        if url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .expect("begin");
            let n = sqlx::query("UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?")
                .bind(KEPT)
                .bind(bucket.as_str())
                .bind(key.as_bytes())
                .execute(&mut conn)
                .await
                .expect("retag")
                .rows_affected();
            assert_eq!(n, 1, "the retag finds the current row");
            Retag::Sqlite(conn)
        } else {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
            sqlx::query("BEGIN")
                .execute(&mut conn)
                .await
                .expect("begin");
            let n = sqlx::query("UPDATE objects SET tags = $1 WHERE bucket = $2 AND key = $3")
                .bind(KEPT)
                .bind(bucket.as_str())
                .bind(key.as_bytes())
                .execute(&mut conn)
                .await
                .expect("retag")
                .rows_affected();
            assert_eq!(n, 1, "the retag finds the current row");
            let watcher = sqlx::PgPool::connect(url).await.expect("postgres");
            Retag::Postgres(conn, watcher)
        }
    }

    /// Waits until the sweep's call is blocked by the retag's row lock
    /// (Postgres), or a while (SQLite, whose one writer makes every other
    /// writer wait at its first write).
    async fn until_blocked(&self) {
        match self {
            Retag::Sqlite(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            Retag::Postgres(_, watcher) => {
                for _ in 0..500 {
                    let waiting: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM pg_stat_activity
                         WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    )
                    .fetch_one(watcher)
                    .await
                    .expect("pg_stat_activity");
                    if waiting > 0 {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                panic!("the sweep's call never waited for the retag's row lock");
            }
        }
    }

    async fn commit(self) {
        match self {
            Retag::Sqlite(mut conn) => {
                sqlx::query("COMMIT")
                    .execute(&mut conn)
                    .await
                    .expect("commit");
            }
            Retag::Postgres(mut conn, watcher) => {
                sqlx::query("COMMIT")
                    .execute(&mut conn)
                    .await
                    .expect("commit");
                watcher.close().await;
            }
        }
    }
}

async fn configured(r: &Repos, owner: UserId, name: &str, versioned: bool) -> BucketName {
    let b = r.bucket(owner, name).await;
    if versioned {
        assert!(
            r.storage
                .set_bucket_versioning(owner, &b, Versioning::Enabled)
                .await
                .unwrap()
        );
    }
    assert!(
        r.storage
            .set_bucket_lifecycle(owner, &b, Some(&common::expire_everything()))
            .await
            .unwrap()
    );
    b
}

async fn run(fresh: common::Fresh) {
    let r = std::sync::Arc::new(Repos::of(&fresh));
    let alice = r.user("alice").await;
    for versioned in [true, false] {
        let name = if versioned {
            "race-versioned"
        } else {
            "race-plain"
        };
        let b = configured(&r, alice, name, versioned).await;
        let o = object(&b, "tmp/k", versioned);
        r.storage.put_object(alice, &o).await.unwrap();

        let retag = Retag::begin(&fresh.url, &b, "tmp/k").await;
        let sweep = {
            let (r, o) = (r.clone(), o.clone());
            tokio::spawn(async move {
                if versioned {
                    let marker = DeleteMarker {
                        id: ObjectId::new(),
                        bucket: o.bucket.clone(),
                        key: o.key.clone(),
                        versioned: true,
                        last_modified: common::at(2),
                    };
                    r.storage
                        .expire_current_version(alice, &marker, o.id, &o.tags)
                        .await
                        .unwrap()
                        .is_some()
                } else {
                    r.storage
                        .delete_object_if(alice, &o.bucket, &o.key, o.id, &o.tags)
                        .await
                        .unwrap()
                        .is_some()
                }
            })
        };
        retag.until_blocked().await;
        retag.commit().await;
        let changed = tokio::time::timeout(Duration::from_secs(10), sweep)
            .await
            .expect("the sweep's call ends once the retag commits")
            .expect("the sweep's call does not panic");
        assert!(
            !changed,
            "{name}: the sweep changed a version retagged (and committed) under it"
        );
        let current = r
            .storage
            .get_object(&b, &o.key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: the retagged version is still current"));
        assert_eq!(current.id, o.id, "{name}");
        assert_eq!(
            current.tags,
            Tags::new(vec![("expire".into(), "no".into())]).unwrap(),
            "{name}: the retag's tags are the version's"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_waits_for_a_retag_on_sqlite() {
    run(common::sqlite(true).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_waits_for_a_retag_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    run(fresh).await;
}
