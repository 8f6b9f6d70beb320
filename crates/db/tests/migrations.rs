//! Every migration is reversible: up, all the way down, and up again, on
//! both backends; after the downs only the bookkeeping table remains.

mod common;

use miniaws_db::{Database, MigrationState};

async fn tables(db: &Database) -> Vec<String> {
    match db {
        Database::Postgres(pool, _) => sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .expect("list tables"),
        Database::Sqlite(pool, _) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type IN ('table','index','view','trigger')
               AND name NOT LIKE 'sqlite_%' ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .expect("list tables"),
    }
}

async fn indexes(db: &Database) -> Vec<String> {
    match db {
        Database::Postgres(pool, _) => sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'
               AND tablename <> '_sqlx_migrations' ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .expect("list indexes"),
        Database::Sqlite(..) => Vec::new(), // covered by `tables`, which lists indexes too
    }
}

/// Columns of the seed tables, to check they are created exactly.
async fn columns(db: &Database, table: &str) -> Vec<String> {
    match db {
        Database::Postgres(pool, _) => sqlx::query_scalar(
            "SELECT column_name::text || ' ' || data_type::text || ' ' || is_nullable::text
               FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .expect("list columns"),
        Database::Sqlite(pool, _) => sqlx::query_scalar(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .fetch_all(pool)
        .await
        .expect("list columns"),
    }
}

async fn round_trip(db: &Database) {
    let all = db.migration_status().await.expect("status");
    assert!(all.len() >= 4, "at least the seed and identity migrations");
    assert!(all.iter().all(|m| m.state == MigrationState::Applied));
    let schema_up = tables(db).await;
    let indexes_up = indexes(db).await;
    for seed in ["instances", "api_keys", "objects", "users"] {
        assert!(
            schema_up.contains(&seed.to_string()),
            "{seed} exists: {schema_up:?}"
        );
    }

    let reverted = db.migrate_down(all.len()).await.expect("all downs run");
    assert_eq!(reverted, all.len());
    assert_eq!(
        tables(db).await,
        vec!["_sqlx_migrations".to_string()],
        "after all downs only the bookkeeping table is left"
    );
    assert!(
        db.migration_status()
            .await
            .expect("status")
            .iter()
            .all(|m| m.state == MigrationState::Pending)
    );

    let applied = db.migrate_up().await.expect("ups run again");
    assert_eq!(applied, all.len());
    assert_eq!(tables(db).await, schema_up, "ups recreate the same schema");
    assert_eq!(
        indexes(db).await,
        indexes_up,
        "ups recreate the same indexes"
    );
}

async fn steps(db: &Database) {
    let total = db.migration_status().await.expect("status").len();
    assert_eq!(db.migrate_down(1).await.expect("one down"), 1);
    let status = db.migration_status().await.expect("status");
    assert_eq!(
        status.last().map(|m| m.state),
        Some(MigrationState::Pending)
    );
    assert_eq!(
        status
            .iter()
            .filter(|m| m.state == MigrationState::Applied)
            .count(),
        total - 1
    );
    assert_eq!(db.migrate_up().await.expect("up"), 1);
    assert_eq!(db.migrate_up().await.expect("idempotent up"), 0);
    assert_eq!(db.migrate_down(0).await.expect("zero steps"), 0);
}

#[tokio::test]
async fn migrations_round_trip_on_sqlite() {
    let fresh = common::sqlite(true).await;
    round_trip(&fresh.db).await;
    steps(&fresh.db).await;
    let cols = columns(&fresh.db, "objects").await;
    assert_eq!(
        &cols[..8],
        [
            "id",
            "arn",
            "bucket",
            "key",
            "size_bytes",
            "content_type",
            "created_at",
            "deleted_at"
        ]
    );
}

#[tokio::test]
async fn migrations_round_trip_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    round_trip(&fresh.db).await;
    steps(&fresh.db).await;
    let cols = columns(&fresh.db, "instances").await;
    assert_eq!(
        &cols[..9],
        [
            "id uuid NO",
            "name character varying NO",
            "image character varying NO",
            "status character varying NO",
            "container_id character varying YES",
            "ports character varying YES",
            "created_at timestamp with time zone YES",
            "updated_at timestamp with time zone YES",
            "deleted_at timestamp with time zone YES",
        ]
    );
}

/// The width of `api_keys.secret_access_key` on Postgres.
async fn secret_width(pool: &sqlx::PgPool) -> i32 {
    sqlx::query_scalar(
        "SELECT character_maximum_length FROM information_schema.columns
          WHERE table_name = 'api_keys' AND column_name = 'secret_access_key'",
    )
    .fetch_one(pool)
    .await
    .expect("the column exists")
}

/// Reverts the applied migrations down to (and including) `version`,
/// whatever was added after it.
async fn down_through(db: &Database, version: i64) {
    let newer = db
        .migration_status()
        .await
        .expect("status")
        .iter()
        .filter(|m| m.version >= version && m.state == MigrationState::Applied)
        .count();
    assert!(newer >= 1, "{version:04} is applied");
    assert_eq!(db.migrate_down(newer).await.expect("downs run"), newer);
}

/// Reverts migrations down to (and including) 0019, the widening of the
/// secret column for sealed secrets.
async fn down_through_0019(db: &Database) {
    down_through(db, 19).await;
}

/// Migration 0019's down never cuts a sealed secret (100 characters) to
/// the old VARCHAR(64): with one stored the column stays wide and the
/// secret whole, so a later up finds it intact; with none it narrows.
#[tokio::test]
async fn the_sealed_secret_migration_goes_down_without_cutting_a_secret() {
    use miniaws_core::identity::{ApiKeyId, KeyName, NewApiKey, User, UserId};
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let Database::Postgres(pool, _) = &fresh.db else {
        unreachable!("a Postgres database")
    };
    assert_eq!(secret_width(pool).await, 128);
    let sealed = format!("sealed1:{}", "B".repeat(92));
    let user = User {
        id: UserId::new(),
        name: "sealed".into(),
        created_at: time::OffsetDateTime::now_utc(),
    };
    let key = NewApiKey {
        id: ApiKeyId::new(),
        user_id: user.id,
        name: KeyName::parse("sealed").expect("a key name"),
        key_hash: "hash".into(),
        prefix: "mk_".into(),
        access_key_id: "AKIASEALED".into(),
        stored_secret: sealed.clone(),
        created_at: user.created_at,
    };
    fresh
        .db
        .identity_repo()
        .create_user_with_key(&user, &key)
        .await
        .expect("a sealed secret fits");

    down_through_0019(&fresh.db).await;
    assert_eq!(
        secret_width(pool).await,
        128,
        "kept wide for the sealed secret"
    );
    let stored: String =
        sqlx::query_scalar("SELECT secret_access_key FROM api_keys WHERE access_key_id = $1")
            .bind("AKIASEALED")
            .fetch_one(pool)
            .await
            .expect("the row");
    assert_eq!(stored, sealed, "the sealed secret is whole");

    fresh.db.migrate_up().await.expect("up again");
    sqlx::query("DELETE FROM api_keys")
        .execute(pool)
        .await
        .expect("deleted");
    down_through_0019(&fresh.db).await;
    assert_eq!(
        secret_width(pool).await,
        64,
        "narrowed when nothing is sealed"
    );
    fresh.db.migrate_up().await.expect("up again");
    assert_eq!(secret_width(pool).await, 128);
}

/// Inserts instance `id` as a row of before the newest migrations (the
/// columns every version has), applies them, and reads its `column`.
async fn old_instance_then_up(db: &Database, id: uuid::Uuid, column: &str) -> String {
    let insert =
        "INSERT INTO instances (id, name, image, status) VALUES ($1, 'old', 'busybox', 'STOPPED')";
    let read = format!("SELECT {column} FROM instances WHERE id = $1");
    match db {
        Database::Postgres(pool, _) => {
            sqlx::query(insert)
                .bind(id)
                .execute(pool)
                .await
                .expect("an old instance");
            db.migrate_up().await.expect("the newer migrations");
            sqlx::query_scalar(&read)
                .bind(id)
                .fetch_one(pool)
                .await
                .expect("the column")
        }
        Database::Sqlite(pool, _) => {
            sqlx::query(insert)
                .bind(id.to_string())
                .execute(pool)
                .await
                .expect("an old instance");
            db.migrate_up().await.expect("the newer migrations");
            sqlx::query_scalar(&read)
                .bind(id.to_string())
                .fetch_one(pool)
                .await
                .expect("the column")
        }
    }
}

/// Migration 0020 gives the instances that exist before it their EC2 id,
/// by the rule new instances follow (`Ec2InstanceId::of`).
async fn ec2_ids_are_backfilled(db: &Database) {
    let id = uuid::Uuid::new_v4();
    let want =
        miniaws_core::compute::Ec2InstanceId::of(miniaws_core::compute::InstanceId::from_uuid(id));
    down_through(db, 20).await;
    let got = old_instance_then_up(db, id, "ec2_id").await;
    assert_eq!(got, want.as_str());
}

#[tokio::test]
async fn ec2_ids_are_backfilled_on_sqlite() {
    ec2_ids_are_backfilled(&common::sqlite(true).await.db).await;
}

#[tokio::test]
async fn ec2_ids_are_backfilled_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    ec2_ids_are_backfilled(&fresh.db).await;
}

/// Migration 0021 adds Object Lock to buckets and to both version tables
/// (the columns must exist in each, as the versions move between them),
/// and its down removes exactly them.
async fn object_lock_columns(db: &Database) {
    let lock = ["lock_mode", "lock_until", "legal_hold"];
    let has = |cols: &[String], name: &str| cols.iter().any(|c| c.split(' ').next() == Some(name));
    for table in ["objects", "object_versions"] {
        let cols = columns(db, table).await;
        for c in lock {
            assert!(has(&cols, c), "{table}.{c}: {cols:?}");
        }
    }
    assert!(has(&columns(db, "buckets").await, "object_lock"));
    down_through(db, 21).await;
    for table in ["objects", "object_versions"] {
        let cols = columns(db, table).await;
        for c in lock {
            assert!(!has(&cols, c), "{table}.{c} removed: {cols:?}");
        }
    }
    assert!(!has(&columns(db, "buckets").await, "object_lock"));
    db.migrate_up().await.expect("apply 0021 again");
    assert!(has(&columns(db, "objects").await, "legal_hold"));
}

#[tokio::test]
async fn object_lock_columns_on_sqlite() {
    object_lock_columns(&common::sqlite(true).await.db).await;
}

#[tokio::test]
async fn object_lock_columns_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    object_lock_columns(&fresh.db).await;
}

/// Migration 0022 gives instances a `tags` column, `{}` for the rows that
/// exist before it; its down removes it.
async fn instance_tags_column(db: &Database) {
    let has_tags = |cols: Vec<String>| cols.iter().any(|c| c.split(' ').next() == Some("tags"));
    assert!(has_tags(columns(db, "instances").await));
    down_through(db, 22).await;
    assert!(!has_tags(columns(db, "instances").await));
    let tags = old_instance_then_up(db, uuid::Uuid::new_v4(), "tags").await;
    assert_eq!(tags, "{}");
}

#[tokio::test]
async fn instance_tags_column_on_sqlite() {
    instance_tags_column(&common::sqlite(true).await.db).await;
}

#[tokio::test]
async fn instance_tags_column_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    instance_tags_column(&fresh.db).await;
}

/// A database's id is made once and then kept: every server on it reads
/// the same one (what its data directory records), on both backends.
async fn database_id_is_made_once(db: &Database) {
    let first = db.database_id().await.expect("made");
    assert!(uuid::Uuid::try_parse(&first).is_ok(), "{first}");
    let (a, b) = tokio::join!(db.database_id(), db.database_id());
    assert_eq!((a.expect("read"), b.expect("read")), (first.clone(), first));
}

#[tokio::test]
async fn the_database_id_is_made_once_on_sqlite() {
    let db = common::sqlite(true).await;
    database_id_is_made_once(&db.db).await;
}

#[tokio::test]
async fn the_database_id_is_made_once_on_postgres() {
    let Some(db) = common::postgres(true).await else {
        return;
    };
    database_id_is_made_once(&db.db).await;
}

/// Inserts user `name` created `at` as a version before migration 0026
/// could: a look-alike of another user's name is accepted.
async fn old_user(db: &Database, name: &str, at: time::OffsetDateTime) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    let insert = "INSERT INTO users (id, name, created_at) VALUES ($1, $2, $3)";
    match db {
        Database::Postgres(pool, _) => sqlx::query(insert)
            .bind(id)
            .bind(name)
            .bind(at)
            .execute(pool)
            .await
            .map(drop),
        Database::Sqlite(pool, _) => sqlx::query(insert)
            .bind(id.to_string())
            .bind(name)
            // The repository's format (fixed width, so text order is time order).
            .bind(
                at.format(time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
                ))
                .expect("a time"),
            )
            .execute(pool)
            .await
            .map(drop),
    }
    .unwrap_or_else(|e| panic!("old user {name}: {e}"));
    id
}

/// Every user's name, in creation order.
async fn user_names(db: &Database) -> Vec<String> {
    let select = "SELECT name FROM users ORDER BY created_at, id";
    match db {
        Database::Postgres(pool, _) => sqlx::query_scalar(select).fetch_all(pool).await,
        Database::Sqlite(pool, _) => sqlx::query_scalar(select).fetch_all(pool).await,
    }
    .expect("names")
}

/// Signs user `name` up through the repository, as the server does.
async fn sign_up(db: &Database, name: &str) -> miniaws_core::CoreResult<()> {
    use miniaws_core::identity::{ApiKeyId, KeyName, NewApiKey, User, UserId};
    let user = User {
        id: UserId::new(),
        name: name.into(),
        created_at: time::OffsetDateTime::now_utc(),
    };
    let key = NewApiKey {
        id: ApiKeyId::new(),
        user_id: user.id,
        name: KeyName::parse("first").expect("a key name"),
        key_hash: format!("hash-{}", user.id),
        prefix: "mk_".into(),
        access_key_id: format!("AKIA{}", &user.id.as_uuid().simple().to_string()[..16]),
        stored_secret: "s".into(),
        created_at: user.created_at,
    };
    db.identity_repo()
        .create_user_with_key(&user, &key)
        .await
        .map(drop)
}

/// Migration 0026 (user names unique regardless of case) upgrades a
/// database that already holds look-alike names without failing, renaming
/// or deleting anyone: the oldest of each group keeps the index, the later
/// ones are marked and reported; afterwards no new look-alike of any name
/// is accepted, and its down removes the rule.
async fn case_lookalikes_survive_the_upgrade(db: &Database) {
    use miniaws_core::CoreError;
    use miniaws_core::error::ConflictKind;
    let conflict = |r: miniaws_core::CoreResult<()>| {
        matches!(
            r,
            Err(CoreError::Conflict {
                kind: ConflictKind::AlreadyExists,
                ..
            })
        )
    };
    down_through(db, 26).await;
    let t =
        |s: i64| time::macros::datetime!(2026-01-01 00:00:00.5 UTC) + time::Duration::seconds(s);
    old_user(db, "ALICE", t(1)).await;
    old_user(db, "alice", t(0)).await;
    old_user(db, "bob", t(0)).await;
    let later_alice = old_user(db, "Alice", t(2)).await;
    let before = user_names(db).await;

    db.migrate_up()
        .await
        .expect("the upgrade succeeds with look-alikes");
    assert_eq!(user_names(db).await, before, "nobody renamed or deleted");
    let marked = db.case_duplicate_users().await.expect("read");
    assert_eq!(
        marked.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["ALICE", "Alice"],
        "the later look-alikes, oldest first"
    );
    assert_eq!(marked[1].id, later_alice);

    // No new look-alike of any name, old or new, marked or not.
    for taken in ["aLiCe", "alice", "ALICE", "BOB"] {
        assert!(conflict(sign_up(db, taken).await), "{taken} is refused");
    }
    sign_up(db, "carol").await.expect("a new name");
    assert!(conflict(sign_up(db, "Carol").await), "Carol is refused");
    assert_eq!(
        db.case_duplicate_users().await.expect("read").len(),
        2,
        "new users are never marked"
    );

    // The down takes the rule away; the up then marks the look-alike.
    down_through(db, 26).await;
    sign_up(db, "CAROL").await.expect("allowed before 0026");
    db.migrate_up().await.expect("up again");
    let marked = db.case_duplicate_users().await.expect("read");
    assert_eq!(
        marked.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["ALICE", "Alice", "CAROL"]
    );
}

#[tokio::test]
async fn case_lookalikes_survive_the_upgrade_on_sqlite() {
    case_lookalikes_survive_the_upgrade(&common::sqlite(true).await.db).await;
}

#[tokio::test]
async fn case_lookalikes_survive_the_upgrade_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    case_lookalikes_survive_the_upgrade(&fresh.db).await;
}

/// Whether `table.legal_hold` may hold NULL.
async fn legal_hold_nullable(db: &Database, table: &str) -> bool {
    match db {
        Database::Postgres(pool, _) => sqlx::query_scalar::<_, String>(
            "SELECT is_nullable::text FROM information_schema.columns
              WHERE table_name = $1 AND column_name = 'legal_hold'",
        )
        .bind(table)
        .fetch_one(pool)
        .await
        .map(|n| n == "YES"),
        Database::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>(&format!(
            "SELECT \"notnull\" FROM pragma_table_info('{table}') WHERE name = 'legal_hold'"
        ))
        .fetch_one(pool)
        .await
        .map(|n| n == 0),
    }
    .expect("the column exists")
}

/// How many delete markers have a legal hold other than NULL.
async fn markers_with_a_hold(db: &Database) -> i64 {
    match db {
        Database::Postgres(pool, _) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM object_versions WHERE delete_marker AND legal_hold IS NOT NULL",
        )
        .fetch_one(pool)
        .await,
        Database::Sqlite(pool, _) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM object_versions WHERE delete_marker = 1 AND legal_hold IS NOT NULL",
        )
        .fetch_one(pool)
        .await,
    }
    .expect("count")
}

/// Migration 0028 tells a legal hold never put on a version (NULL) apart
/// from one put OFF. Versions written before it, current and noncurrent,
/// survive its up and its down with their holds: ON stays ON both ways;
/// its down reads "never set" as OFF (NOT NULL DEFAULT FALSE again, as
/// 0021 made it); its up makes the FALSE of a bucket without Object Lock
/// (where no hold can ever have been put) and of a delete marker "never
/// set", and keeps the FALSE of a bucket with Object Lock OFF (it may be a
/// hold put OFF).
async fn legal_holds_survive_0028(db: &Database) {
    use miniaws_core::clock::now_utc;
    use miniaws_core::storage::{
        BlobId, BucketLockSet, BucketName, DeleteMarker, ETag, ObjectId, ObjectKey, ObjectLock,
        ObjectLockConfig, ObjectMeta, ObjectVersion, Tags, VersionId, Versioning,
    };
    let repos = common::Repos {
        storage: db.storage_repo(),
        identity: db.identity_repo(),
    };
    let storage = &repos.storage;
    let lock = |legal_hold| ObjectLock {
        retention: None,
        legal_hold,
    };
    let object = |bucket: &BucketName, key: &str, lock: ObjectLock| ObjectMeta {
        id: ObjectId::new(),
        bucket: bucket.clone(),
        key: ObjectKey::parse(key).expect("a key"),
        blob_id: BlobId::new(),
        size_bytes: 1,
        etag: ETag::from_stored("0123456789abcdef0123456789abcdef".to_owned()),
        content_type: "text/plain".into(),
        user_metadata: Default::default(),
        headers: Default::default(),
        last_modified: now_utc(),
        parts: Vec::new(),
        tags: Tags::default(),
        versioned: true,
        in_versioned_bucket: false,
        lock,
    };
    let hold_of = |bucket: BucketName, key: &'static str, version: VersionId| {
        let storage = storage.clone();
        async move {
            let found = storage
                .get_object_version(&bucket, &ObjectKey::parse(key).expect("a key"), version)
                .await
                .expect("read")
                .unwrap_or_else(|| panic!("{key} {version} exists"));
            match found.version {
                ObjectVersion::Object(m) => m.lock.legal_hold,
                ObjectVersion::DeleteMarker(_) => panic!("{key}: a delete marker"),
            }
        }
    };

    let alice = repos.user("alice").await;
    let plain = repos.bucket(alice, "plain").await;
    let locked = repos.bucket(alice, "locked").await;
    assert!(
        storage
            .set_bucket_versioning(alice, &locked, Versioning::Enabled)
            .await
            .expect("versioning")
    );
    assert_eq!(
        storage
            .set_bucket_object_lock(alice, &locked, &ObjectLockConfig::default())
            .await
            .expect("Object Lock"),
        BucketLockSet::Set
    );
    let mut p = object(&plain, "k", ObjectLock::default());
    p.versioned = false;
    storage.put_object(alice, &p).await.expect("plain write");
    // (key, version, hold written; after 0028's down; after its up again)
    let mut rows = vec![("k", p.version_id(), None, Some(false), None)];
    let mut write = |key: &'static str, hold: Option<bool>, down, up| {
        let o = object(&locked, key, lock(hold));
        rows.push((key, o.version_id(), hold, down, up));
        o
    };
    let writes = [
        write("never", None, Some(false), Some(false)),
        write("on", Some(true), Some(true), Some(true)),
        write("off", Some(false), Some(false), Some(false)),
        // Made noncurrent by the next write of their key.
        write("old", Some(true), Some(true), Some(true)),
        write("old", None, Some(false), Some(false)),
    ];
    for o in &writes {
        storage.put_object(alice, o).await.expect("a locked write");
    }
    let marker = DeleteMarker {
        id: ObjectId::new(),
        bucket: locked.clone(),
        key: ObjectKey::parse("never").expect("a key"),
        versioned: true,
        last_modified: now_utc(),
    };
    storage
        .put_delete_marker(alice, &marker)
        .await
        .expect("a marker");
    let bucket_of = |key: &str| if key == "k" { &plain } else { &locked };
    for (key, version, written, _, _) in &rows {
        assert_eq!(
            hold_of(bucket_of(key).clone(), key, *version).await,
            *written,
            "{key} {version}: as written"
        );
    }
    assert_eq!(markers_with_a_hold(db).await, 0, "a marker has no hold");

    down_through(db, 28).await;
    for table in ["objects", "object_versions"] {
        assert!(!legal_hold_nullable(db, table).await, "{table}: NOT NULL");
    }
    for (key, version, _, down, _) in &rows {
        assert_eq!(
            hold_of(bucket_of(key).clone(), key, *version).await,
            *down,
            "{key} {version}: after the down"
        );
    }

    db.migrate_up().await.expect("0028 again");
    for table in ["objects", "object_versions"] {
        assert!(
            legal_hold_nullable(db, table).await,
            "{table}: NULL allowed"
        );
    }
    for (key, version, _, _, up) in &rows {
        assert_eq!(
            hold_of(bucket_of(key).clone(), key, *version).await,
            *up,
            "{key} {version}: after the up"
        );
    }
    assert_eq!(markers_with_a_hold(db).await, 0, "markers: never set");
    let fresh = object(&locked, "fresh", ObjectLock::default());
    storage
        .put_object(alice, &fresh)
        .await
        .expect("a new write");
    assert_eq!(
        hold_of(locked.clone(), "fresh", fresh.version_id()).await,
        None,
        "a new version: never set"
    );
}

#[tokio::test]
async fn legal_holds_survive_0028_on_sqlite() {
    legal_holds_survive_0028(&common::sqlite(true).await.db).await;
}

#[tokio::test]
async fn legal_holds_survive_0028_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    legal_holds_survive_0028(&fresh.db).await;
}
