//! Opening fresh databases of both backends for repository tests.

#![allow(dead_code)] // Each test file uses a subset.

use miniaws_core::identity::{ApiKeyId, IdentityRepo, KeyName, NewApiKey, User, UserId};
use miniaws_core::storage::{BlobId, Bucket, BucketName, StorageRepo, Tags};
use miniaws_db::{Database, PoolSettings};
use miniaws_testkit::{TestDatabase, require_postgres};
use std::collections::HashSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A migrated database plus whatever keeps it alive.
pub struct Fresh {
    pub db: Database,
    /// Its URL, for a test that opens a connection of its own.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<TestDatabase>,
}

/// A fresh SQLite file in a temp dir; `migrate` runs the migrations.
pub async fn sqlite(migrate: bool) -> Fresh {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Database::connect(&url, &PoolSettings::default())
        .await
        .expect("sqlite opens");
    if migrate {
        db.migrate_up().await.expect("migrations apply on sqlite");
    }
    Fresh {
        db,
        url,
        _dir: Some(dir),
        _pg: None,
    }
}

/// A fresh UUID-named Postgres database, or `None` when Postgres is not
/// configured and not required (see `require_postgres`).
pub async fn postgres(migrate: bool) -> Option<Fresh> {
    let admin = require_postgres()?;
    let pg = TestDatabase::create(&admin).await;
    let db = Database::connect(&pg.url, &PoolSettings::default())
        .await
        .expect("postgres opens");
    if migrate {
        db.migrate_up().await.expect("migrations apply on postgres");
    }
    Some(Fresh {
        db,
        url: pg.url.clone(),
        _dir: None,
        _pg: Some(pg),
    })
}

/// A fixed instant `offset_secs` after the tests' epoch (with microseconds,
/// so that both backends must keep them).
pub fn at(offset_secs: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 00:00:00.123456 UTC) + Duration::seconds(offset_secs)
}

/// The repositories the storage contract tests use, with helpers that
/// create a user (created at `at(0)`) and a bucket (at `at(1)`).
#[derive(Clone)]
pub struct Repos {
    pub storage: Arc<dyn StorageRepo>,
    pub identity: Arc<dyn IdentityRepo>,
}

impl Repos {
    /// The repositories of `fresh`.
    pub fn of(fresh: &Fresh) -> Self {
        Self {
            storage: fresh.db.storage_repo(),
            identity: fresh.db.identity_repo(),
        }
    }

    /// Creates user `name` with one key; returns its id.
    pub async fn user(&self, name: &str) -> UserId {
        let user = User {
            id: UserId::new(),
            name: name.into(),
            created_at: at(0),
        };
        let key = NewApiKey {
            id: ApiKeyId::new(),
            user_id: user.id,
            name: KeyName::parse(name).expect("key name"),
            key_hash: format!("hash-{name}"),
            prefix: "mk_".into(),
            access_key_id: format!("AKIA{}", name.to_uppercase()),
            stored_secret: "s".into(),
            created_at: at(0),
        };
        self.identity
            .create_user_with_key(&user, &key)
            .await
            .expect("user created");
        user.id
    }

    /// Creates bucket `name` owned by `owner`.
    pub async fn bucket(&self, owner: UserId, name: &str) -> BucketName {
        let bucket = Bucket {
            name: BucketName::parse(name).expect("bucket name"),
            owner,
            created_at: at(1),
        };
        self.storage
            .create_bucket(&bucket, &Tags::default(), None)
            .await
            .expect("bucket created");
        bucket.name
    }
}

/// Every blob some row points to (objects and multipart parts), as the
/// start-up sweep reads them: both scans paged through in blob-id order,
/// pages of `page` ids. Checks that each scan ascends strictly.
pub async fn referenced_blobs(storage: &dyn StorageRepo, page: u32) -> HashSet<BlobId> {
    let mut found = HashSet::new();
    let mut after: Option<BlobId> = None;
    loop {
        let rows = storage
            .object_blobs_after(after, page)
            .await
            .expect("objects");
        assert!(rows.len() <= page as usize);
        for blob in &rows {
            assert!(
                after.is_none_or(|a| blob.as_uuid() > a.as_uuid()),
                "objects ascend"
            );
            after = Some(*blob);
            found.insert(*blob);
        }
        if rows.is_empty() {
            break;
        }
    }
    let mut after: Option<BlobId> = None;
    loop {
        let ids = storage.part_blobs_after(after, page).await.expect("parts");
        assert!(ids.len() <= page as usize);
        for blob in &ids {
            assert!(
                after.is_none_or(|a| blob.as_uuid() > a.as_uuid()),
                "part blobs ascend, each once"
            );
            after = Some(*blob);
            found.insert(*blob);
        }
        if ids.is_empty() {
            break;
        }
    }
    found
}

/// A 5-byte object `key` of `bucket` written at [`at`]`(1)`, untagged,
/// of a bucket never versioned; tests change what they need with
/// `ObjectMeta { tags, versioned, .., ..object_meta(b, k) }`.
pub fn object_meta(bucket: &BucketName, key: &str) -> miniaws_core::storage::ObjectMeta {
    use miniaws_core::storage::{ETag, ObjectId, ObjectKey, ObjectMeta};
    ObjectMeta {
        id: ObjectId::new(),
        bucket: bucket.clone(),
        key: ObjectKey::parse(key).expect("a key"),
        blob_id: BlobId::new(),
        size_bytes: 5,
        etag: ETag::from_stored(format!("{:032x}", 1)),
        content_type: "text/plain".into(),
        user_metadata: std::collections::BTreeMap::new(),
        headers: std::collections::BTreeMap::new(),
        last_modified: at(1),
        parts: Vec::new(),
        tags: Tags::default(),
        versioned: false,
        in_versioned_bucket: false,
        lock: Default::default(),
    }
}

/// A lifecycle configuration that expires every object after a day (what
/// the lifecycle's conditional calls need a bucket to have; what it says
/// is the caller's business).
pub fn expire_everything() -> miniaws_core::storage::LifecycleConfiguration {
    use miniaws_core::storage::{
        ExpirationInput, FilterInput, LifecycleConfiguration, LifecycleRuleInput,
        TransitionMinimumSize,
    };
    LifecycleConfiguration::new(
        vec![LifecycleRuleInput {
            id: Some("expire".into()),
            status: "Enabled".into(),
            filter: Some(FilterInput::default()),
            expiration: Some(ExpirationInput {
                days: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        }],
        TransitionMinimumSize::default(),
    )
    .expect("valid configuration")
}
