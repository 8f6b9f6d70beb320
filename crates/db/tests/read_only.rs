//! A database that answers but refuses every write: each write is
//! `Unavailable(Database)` saying the database is read-only (a 503 at the
//! edge, not a server fault), and the health probe says so, on both
//! backends.

mod common;

use miniaws_core::CoreError;
use miniaws_core::error::Dependency;
use miniaws_core::health::ProbeStatus;
use miniaws_core::storage::{Bucket, BucketName, Tags};
use miniaws_db::{Database, PoolSettings};
use miniaws_testkit::{TestDatabase, require_postgres};

/// Tries to create a bucket for `owner` through `db`, which must refuse.
async fn refused_write(db: &Database, owner: miniaws_core::identity::UserId) -> CoreError {
    let bucket = Bucket {
        name: BucketName::parse("refused").expect("bucket name"),
        owner,
        created_at: common::at(1),
    };
    db.storage_repo()
        .create_bucket(&bucket, &Tags::default(), None)
        .await
        .expect_err("a read-only database takes no bucket")
}

fn assert_read_only(err: &CoreError) {
    assert!(
        matches!(
            err,
            CoreError::Unavailable {
                dependency: Dependency::Database,
                outcome_unknown: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("read-only"), "{err}");
}

/// A SQLite connection that cannot write (here opened `mode=ro` beside
/// the writable one, as when the file's system is read-only).
#[tokio::test]
async fn a_read_only_sqlite_refuses_writes_as_unavailable() {
    let fresh = common::sqlite(true).await;
    let owner = common::Repos::of(&fresh).user("alice").await;
    let Database::Sqlite(pool, _) = &fresh.db else {
        unreachable!("a SQLite database")
    };
    let path = pool.connect_options().get_filename().to_owned();
    let read_only = Database::connect(
        &format!("sqlite://{}?mode=ro", path.display()),
        &PoolSettings::default(),
    )
    .await
    .expect("the file opens read-only");
    assert_read_only(&refused_write(&read_only, owner).await);
    // Reads still work.
    assert!(
        read_only
            .storage_repo()
            .get_bucket(&BucketName::parse("refused").expect("name"))
            .await
            .expect("a read answers")
            .is_none()
    );
}

/// A Postgres database whose sessions are read-only by default (as on a
/// standby): writes are refused as unavailable, and the probe, which ran
/// `SELECT 1` and said UP, now says READ_ONLY.
#[tokio::test]
async fn a_read_only_postgres_refuses_writes_and_the_probe_says_so() {
    use sqlx::Connection;
    let Some(admin) = require_postgres() else {
        return;
    };
    let pg = TestDatabase::create(&admin).await;
    let owner = {
        let db = Database::connect(&pg.url, &PoolSettings::default())
            .await
            .expect("postgres opens");
        db.migrate_up().await.expect("migrations apply");
        assert_eq!(db.health_probe().check().await, ProbeStatus::Up);
        let fresh_repos = common::Repos {
            storage: db.storage_repo(),
            identity: db.identity_repo(),
        };
        let owner = fresh_repos.user("alice").await;
        db.close().await;
        owner
    };
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("admin connects");
    sqlx::query(&format!(
        "ALTER DATABASE {} SET default_transaction_read_only = on",
        pg.name()
    ))
    .execute(&mut conn)
    .await
    .expect("the database made read-only");

    let db = Database::connect(&pg.url, &PoolSettings::default())
        .await
        .expect("a read-only database still opens");
    assert_read_only(&refused_write(&db, owner).await);
    match db.health_probe().check().await {
        ProbeStatus::ReadOnly(why) => assert!(why.contains("read-only"), "{why}"),
        other => panic!("the probe should say read-only: {other:?}"),
    }
    db.close().await;
}
