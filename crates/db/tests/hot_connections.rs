//! Contract of the hot statements' connection cache (`HotConnections`):
//! one body, run on SQLite and on Postgres. A connection given back after
//! its statement ran to its end is the one leased next; one whose lease was
//! dropped mid-statement (a cancelled future) or after a connection-level
//! error is not; the cache keeps at most its cap; the hot statements of the
//! storage repository use it; `Database::close` does not wait for the
//! cached connections; a connection left idle in the cache, or used by
//! it, beyond the cache's limits goes back to the pool. A refused
//! versioned write leaves no transaction open on the server.

mod common;

use futures::future::BoxFuture;
use miniaws_core::storage::{BucketName, ETag, ObjectKey, ObjectMeta, ObjectWrite, WriteCondition};
use miniaws_db::{Database, HotConnections, Lease};
use std::time::Duration;
use tokio::time::timeout;

/// What the body needs to say per backend.
trait Probe: sqlx::Database {
    /// A statement that runs until it is cancelled (or for long enough).
    const SLOW: &'static str;

    /// Something that tells this connection from the pool's others.
    fn conn_id(conn: &mut Self::Connection) -> BoxFuture<'_, Result<String, sqlx::Error>>;

    /// Runs `sql`, discarding its rows.
    fn run<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>>;

    /// Kills the connection `id` from outside it, where the backend can
    /// (`false`: it cannot).
    fn kill<'a>(hot: &'a HotConnections<Self>, id: &'a str) -> BoxFuture<'a, bool>;
}

impl Probe for sqlx::Sqlite {
    const SLOW: &'static str =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";

    fn conn_id(conn: &mut Self::Connection) -> BoxFuture<'_, Result<String, sqlx::Error>> {
        Box::pin(async move {
            // A connection-local temporary table, named once per connection.
            sqlx::query(
                "CREATE TEMP TABLE IF NOT EXISTS conn_id AS SELECT lower(hex(randomblob(8))) AS id",
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query_scalar("SELECT id FROM temp.conn_id")
                .fetch_one(&mut *conn)
                .await
        })
    }

    fn run<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::query(sql).execute(conn).await.map(drop) })
    }

    fn kill<'a>(_: &'a HotConnections<Self>, _: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async { false })
    }
}

impl Probe for sqlx::Postgres {
    const SLOW: &'static str = "SELECT pg_sleep(0.5)";

    fn conn_id(conn: &mut Self::Connection) -> BoxFuture<'_, Result<String, sqlx::Error>> {
        Box::pin(async move {
            sqlx::query_scalar("SELECT pg_backend_pid()::text")
                .fetch_one(conn)
                .await
        })
    }

    fn run<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::query(sql).execute(conn).await.map(drop) })
    }

    fn kill<'a>(hot: &'a HotConnections<Self>, id: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            // From another connection than the cached one: the cache is
            // emptied around the lease and filled again after.
            let mut held = drain(hot).await;
            let mut other = hot.lease().await.expect("another connection");
            let pid: i32 = id.parse().expect("a backend pid");
            let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .fetch_one(&mut *other)
                .await
                .expect("pg_terminate_backend runs");
            drop(other);
            while let Some(lease) = held.pop() {
                lease.done(&OK);
            }
            assert!(killed, "pg_terminate_backend found backend {pid}");
            true
        })
    }
}

const OK: Result<(), sqlx::Error> = Ok(());

/// Leases every idle connection of the cache, which is then empty.
async fn drain<DB: sqlx::Database>(hot: &HotConnections<DB>) -> Vec<Lease<'_, DB>> {
    let mut held = Vec::new();
    while hot.idle() > 0 {
        held.push(hot.lease().await.expect("a cached connection"));
    }
    held
}

async fn id_of<DB: Probe>(lease: &mut Lease<'_, DB>) -> String {
    DB::conn_id(lease).await.expect("the connection answers")
}

fn meta(bucket: &BucketName, key: &str) -> ObjectMeta {
    ObjectMeta {
        size_bytes: 1,
        etag: ETag::from_stored("e"),
        last_modified: common::at(2),
        ..common::object_meta(bucket, key)
    }
}

async fn contract<DB: Probe>(fresh: &common::Fresh, hot: &HotConnections<DB>) {
    // The default pool has 16 connections: the cache keeps half.
    assert_eq!(hot.cap(), 8, "half the pool");
    assert_eq!(hot.idle(), 0, "nothing cached before a hot statement");

    // The repository's hot statements lease from the cache and give the
    // connection back: with the cache emptied before each, it holds one
    // after it.
    let repos = common::Repos::of(fresh);
    let alice = repos.user("alice").await;
    let bucket = repos.bucket(alice, "hot-bucket").await;
    let key = ObjectKey::parse("k").expect("key");
    {
        let held = drain(hot).await;
        repos
            .storage
            .put_object_if(alice, &meta(&bucket, "k"), &WriteCondition::Always)
            .await
            .expect("put_object_if");
        assert_eq!(hot.idle(), 1, "put_object_if gives its connection back");
        drop(held);
        let held = drain(hot).await;
        let writes = ["a", "b"].map(|k| ObjectWrite {
            owner: alice,
            meta: meta(&bucket, k),
            condition: WriteCondition::Always,
        });
        for result in repos.storage.put_objects(&writes).await {
            result.expect("put_objects");
        }
        assert_eq!(hot.idle(), 1, "put_objects gives its connection back");
        drop(held);
        let held = drain(hot).await;
        let refused = repos
            .storage
            .put_object_if(alice, &meta(&bucket, "k"), &WriteCondition::Absent)
            .await;
        assert!(refused.is_err(), "the key exists: {refused:?}");
        assert_eq!(hot.idle(), 1, "a refused write gives its connection back");
        drop(held);
        let held = drain(hot).await;
        let found = repos.storage.lookup_bucket(&bucket).await.expect("lookup");
        assert!(found.is_some());
        assert_eq!(hot.idle(), 1, "lookup_bucket gives its connection back");
        drop(held);
        let held = drain(hot).await;
        let found = repos
            .storage
            .lookup_object(&bucket, &key)
            .await
            .expect("lookup");
        assert!(matches!(found, Some((_, Some(_)))), "{found:?}");
        assert_eq!(hot.idle(), 1, "lookup_object gives its connection back");
        drop(held);
    }
    drop(drain(hot).await);
    assert_eq!(hot.idle(), 0);

    // A connection given back after success is the next one leased.
    let mut lease = hot.lease().await.expect("lease");
    let first = id_of(&mut lease).await;
    lease.done(&OK);
    assert_eq!(hot.idle(), 1);
    let mut lease = hot.lease().await.expect("lease");
    assert_eq!(hot.idle(), 0, "leased out");
    assert_eq!(id_of(&mut lease).await, first, "the same connection again");

    // So is one whose statement the database refused (a unique violation).
    DB::run(
        &mut lease,
        "CREATE TEMP TABLE IF NOT EXISTS hot_unique (k INTEGER PRIMARY KEY)",
    )
    .await
    .expect("create temp table");
    DB::run(&mut lease, "INSERT INTO hot_unique VALUES (1)")
        .await
        .expect("first insert");
    let duplicate = DB::run(&mut lease, "INSERT INTO hot_unique VALUES (1)").await;
    assert!(
        matches!(&duplicate, Err(sqlx::Error::Database(e)) if e.is_unique_violation()),
        "{duplicate:?}"
    );
    lease.done(&duplicate);
    assert_eq!(hot.idle(), 1, "a refused statement leaves it usable");
    let mut lease = hot.lease().await.expect("lease");
    assert_eq!(id_of(&mut lease).await, first, "the same connection again");

    // A lease dropped mid-statement (its future cancelled) does not give its
    // connection back to the cache: sqlx's return path drains it.
    let cancelled = timeout(Duration::from_millis(100), DB::run(&mut lease, DB::SLOW)).await;
    assert!(
        cancelled.is_err(),
        "the slow statement outlives the timeout"
    );
    drop(lease);
    assert_eq!(hot.idle(), 0, "a cancelled lease is not cached");
    let mut lease = hot.lease().await.expect("lease");
    let second = id_of(&mut lease).await;
    lease.done(&OK);

    // A connection that broke: its next statement fails, and the lease
    // does not cache it; after a second idle in the cache it is pinged
    // before it is leased, and a dead one is skipped.
    if DB::kill(hot, &second).await {
        let mut lease = hot.lease().await.expect("lease");
        let broken = DB::conn_id(&mut lease).await;
        assert!(broken.is_err(), "a killed connection fails: {broken:?}");
        lease.done(&broken);
        assert_eq!(hot.idle(), 0, "a broken connection is not cached");

        let mut lease = hot.lease().await.expect("lease");
        let third = id_of(&mut lease).await;
        lease.done(&OK);
        assert!(DB::kill(hot, &third).await, "killed");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let mut lease = hot.lease().await.expect("a live connection");
        let fourth = id_of(&mut lease).await;
        assert_ne!(fourth, third, "the dead connection was skipped");
        lease.done(&OK);
    }

    // The cache keeps at most its cap; the connections beyond it go back
    // to the pool.
    let mut leases = Vec::new();
    for _ in 0..hot.cap() + 2 {
        leases.push(hot.lease().await.expect("lease"));
    }
    for lease in leases {
        lease.done(&OK);
    }
    assert_eq!(hot.idle(), hot.cap(), "no more than the cap");

    // Closing empties the cache first (sqlx's close waits for every
    // checked-out connection, cached ones included) and returns promptly;
    // a lease given back after that goes to the pool, not into the closed
    // cache.
    let lease = hot.lease().await.expect("lease");
    let closing = tokio::spawn({
        let db: Database = fresh.db.clone();
        async move { db.close().await }
    });
    timeout(Duration::from_secs(2), async {
        while hot.idle() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("close empties the cache");
    lease.done(&OK);
    assert_eq!(hot.idle(), 0, "a closed cache takes nothing back");
    timeout(Duration::from_secs(5), closing)
        .await
        .expect("close returns promptly")
        .expect("close does not panic");
    assert!(
        matches!(hot.lease().await, Err(sqlx::Error::PoolClosed)),
        "nothing is leased after close"
    );
}

/// The time limits, shortened with `with_returns` (the defaults are 30 s
/// and 30 min): a connection idle in the cache for the idle limit goes
/// back to the pool when another lease is given back, and one the cache
/// first leased the use limit ago goes back when its own lease is.
async fn returns<DB: Probe>(pool: sqlx::Pool<DB>) {
    const IDLE: Duration = Duration::from_millis(300);
    const USED: Duration = Duration::from_millis(900);
    let hot = HotConnections::new(pool.clone(), 4, None).with_returns(IDLE, USED);

    // Idle: x given back, then y past the idle limit; x goes to the pool.
    let mut x = hot.lease().await.expect("lease x");
    let mut y = hot.lease().await.expect("lease y");
    let (x_id, y_id) = (id_of(&mut x).await, id_of(&mut y).await);
    assert_ne!(x_id, y_id, "two connections");
    x.done(&OK);
    assert_eq!(hot.idle(), 1);
    tokio::time::sleep(IDLE + Duration::from_millis(50)).await;
    y.done(&OK);
    assert_eq!(
        hot.idle(),
        1,
        "x, idle past the limit, went back to the pool"
    );
    let mut lease = hot.lease().await.expect("lease");
    assert_eq!(id_of(&mut lease).await, y_id, "the cache kept y");
    lease.done(&OK);
    // Within the limit nothing goes back.
    let a = hot.lease().await.expect("lease");
    let b = hot.lease().await.expect("lease");
    a.done(&OK);
    b.done(&OK);
    assert_eq!(hot.idle(), 2, "both kept within the idle limit");

    // Used: leased and given back again and again (never idle long), y is
    // cached until the cache first leased it the use limit ago.
    drop(drain(&hot).await);
    let mut lease = hot.lease().await.expect("lease");
    let started = std::time::Instant::now();
    let first = id_of(&mut lease).await;
    lease.done(&OK);
    while started.elapsed() < USED.saturating_sub(Duration::from_millis(200)) {
        let mut lease = hot.lease().await.expect("lease");
        assert_eq!(
            id_of(&mut lease).await,
            first,
            "kept while within the use limit"
        );
        lease.done(&OK);
        assert_eq!(hot.idle(), 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let lease = hot.lease().await.expect("lease");
    lease.done(&OK);
    assert_eq!(
        hot.idle(),
        0,
        "used past the limit, it went back to the pool"
    );
    hot.close();
}

#[tokio::test]
async fn hot_connections_return_to_the_pool_sqlite() {
    let fresh = common::sqlite(true).await;
    let Database::Sqlite(pool, _) = &fresh.db else {
        panic!("common::sqlite opens SQLite");
    };
    returns(pool.clone()).await;
}

#[tokio::test]
async fn hot_connections_return_to_the_pool_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let Database::Postgres(pool, _) = &fresh.db else {
        panic!("common::postgres opens Postgres");
    };
    returns(pool.clone()).await;
}

#[tokio::test]
async fn hot_connections_contract_sqlite() {
    let fresh = common::sqlite(true).await;
    let Database::Sqlite(_, hot) = &fresh.db else {
        panic!("common::sqlite opens SQLite");
    };
    contract(&fresh, hot).await;
}

#[tokio::test]
async fn hot_connections_contract_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let Database::Postgres(_, hot) = &fresh.db else {
        panic!("common::postgres opens Postgres");
    };
    contract(&fresh, hot).await;
}

/// A conditional write refused inside a transaction (a versioned bucket's
/// write locks the bucket's row, then checks the key) leaves no
/// transaction open on the server. sqlx only queues the ROLLBACK of a
/// transaction dropped without one; a connection given back to the cache
/// with it still queued kept the transaction, and the bucket's row lock,
/// until its next lease, stalling every other write to the bucket.
#[tokio::test]
async fn a_refused_versioned_write_leaves_no_transaction_open_postgres() {
    use miniaws_core::storage::Versioning;
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let Database::Postgres(pool, _) = &fresh.db else {
        panic!("common::postgres opens Postgres");
    };
    let repos = common::Repos::of(&fresh);
    let alice = repos.user("alice").await;
    let bucket = repos.bucket(alice, "versioned-bucket").await;
    assert!(
        repos
            .storage
            .set_bucket_versioning(alice, &bucket, Versioning::Enabled)
            .await
            .expect("versioning")
    );
    let versioned = |key: &str| ObjectMeta {
        versioned: true,
        in_versioned_bucket: true,
        ..meta(&bucket, key)
    };
    repos
        .storage
        .put_object_if(alice, &versioned("k"), &WriteCondition::Always)
        .await
        .expect("the first write");
    let refused = repos
        .storage
        .put_object_if(alice, &versioned("k"), &WriteCondition::Absent)
        .await;
    assert!(refused.is_err(), "the key exists: {refused:?}");
    // The pool gives a connection back in a task of its own: a moment.
    let mut open = 0;
    for _ in 0..20 {
        open = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(pool)
        .await
        .expect("pg_stat_activity");
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        open, 0,
        "a session is left inside the refused write's transaction"
    );
}
