//! The Object Lock part of the `StorageRepo` contract (migration 0021),
//! run against SQLite and Postgres: a bucket's configuration (enabled only
//! while versioning is Enabled, owner-checked), the default retention given
//! to new versions in the write's transaction, each version's lock moving
//! with it between the current and noncurrent tables, the lock rules
//! applied by `set_version_lock`, deletes of protected versions refused in
//! the delete's transaction (GOVERNANCE bypassed only when asked), and the
//! lifecycle's noncurrent expiration leaving locked versions alone.

mod common;

use common::Repos;

use miniaws_core::clock::now_utc;
use miniaws_core::identity::UserId;
use miniaws_core::storage::{
    Bucket, BucketLockSet, BucketName, DefaultRetention, ETag, LockChange, LockMode, ObjectId,
    ObjectKey, ObjectLock, ObjectLockConfig, ObjectMeta, ObjectVersion, Retention, RetentionPeriod,
    Tags, VersionId, VersionLock, Versioning,
};
use miniaws_core::{CoreError, Resource};
use time::Duration;

/// A new version of `key` written now with `lock`.
fn object(bucket: &BucketName, key: &str, lock: ObjectLock) -> ObjectMeta {
    ObjectMeta {
        etag: ETag::from_stored("0123456789abcdef0123456789abcdef".to_owned()),
        last_modified: now_utc(),
        versioned: true,
        lock,
        ..common::object_meta(bucket, key)
    }
}

fn retention(mode: LockMode, secs_from_now: i64) -> ObjectLock {
    ObjectLock {
        retention: Some(Retention {
            mode,
            retain_until: now_utc() + Duration::seconds(secs_from_now),
        }),
        legal_hold: None,
    }
}

fn held() -> ObjectLock {
    ObjectLock {
        retention: None,
        legal_hold: Some(true),
    }
}

/// A lock whose legal hold was put and then taken OFF.
fn released() -> ObjectLock {
    ObjectLock {
        retention: None,
        legal_hold: Some(false),
    }
}

/// `owner`'s bucket `name` with versioning Enabled and Object Lock enabled
/// with `config`.
async fn locked_bucket(
    r: &Repos,
    owner: UserId,
    name: &str,
    config: ObjectLockConfig,
) -> BucketName {
    let b = r.bucket(owner, name).await;
    assert!(
        r.storage
            .set_bucket_versioning(owner, &b, Versioning::Enabled)
            .await
            .unwrap()
    );
    assert_eq!(
        r.storage
            .set_bucket_object_lock(owner, &b, &config)
            .await
            .unwrap(),
        BucketLockSet::Set
    );
    b
}

/// The lock of version `version` of `key` as the repository reads it.
async fn lock_of(r: &Repos, b: &BucketName, key: &str, version: VersionId) -> ObjectLock {
    let found = r
        .storage
        .get_object_version(b, &ObjectKey::parse(key).unwrap(), version)
        .await
        .unwrap()
        .expect("the version exists");
    match found.version {
        ObjectVersion::Object(m) => m.lock,
        ObjectVersion::DeleteMarker(_) => panic!("a delete marker"),
    }
}

/// Whether `e` is the refusal of a locked version (S3's AccessDenied).
fn is_locked(e: &CoreError) -> bool {
    matches!(e, CoreError::Forbidden(m) if m.contains("object lock"))
}

type Case = (
    &'static str,
    fn(Repos) -> futures::future::BoxFuture<'static, ()>,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "a bucket created locked is versioned and locked by its insert alone",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bucket = Bucket {
                        name: BucketName::parse("born-locked").unwrap(),
                        owner: alice,
                        created_at: now_utc(),
                    };
                    r.storage
                        .create_bucket(
                            &bucket,
                            &Tags::default(),
                            Some(&ObjectLockConfig::default()),
                        )
                        .await
                        .unwrap();
                    let lookup = r
                        .storage
                        .lookup_bucket(&bucket.name)
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(lookup.versioning, Versioning::Enabled);
                    assert_eq!(lookup.object_lock, Some(ObjectLockConfig::default()));
                    // And never suspended.
                    assert!(
                        !r.storage
                            .set_bucket_versioning(alice, &bucket.name, Versioning::Suspended)
                            .await
                            .unwrap()
                    );
                })
            },
        ),
        (
            "a bucket's configuration: only while Enabled, only by its owner",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bob = r.user("bob").await;
                    let b = r.bucket(alice, "cfg").await;
                    let config = ObjectLockConfig::default();
                    let set = |owner| {
                        let (r, b) = (r.clone(), b.clone());
                        async move {
                            r.storage
                                .set_bucket_object_lock(owner, &b, &config)
                                .await
                                .unwrap()
                        }
                    };
                    assert_eq!(
                        set(alice).await,
                        BucketLockSet::NotVersioned,
                        "never versioned"
                    );
                    r.storage
                        .set_bucket_versioning(alice, &b, Versioning::Suspended)
                        .await
                        .unwrap();
                    assert_eq!(set(alice).await, BucketLockSet::NotVersioned, "suspended");
                    r.storage
                        .set_bucket_versioning(alice, &b, Versioning::Enabled)
                        .await
                        .unwrap();
                    assert_eq!(set(bob).await, BucketLockSet::Missing, "not bob's");
                    let lookup = r.storage.lookup_bucket(&b).await.unwrap().unwrap();
                    assert_eq!(lookup.object_lock, None, "nothing written for bob");
                    assert_eq!(set(alice).await, BucketLockSet::Set);
                    let lookup = r.storage.lookup_bucket(&b).await.unwrap().unwrap();
                    assert_eq!(lookup.object_lock, Some(ObjectLockConfig::default()));
                    let with_default = ObjectLockConfig {
                        default_retention: Some(
                            DefaultRetention::new(LockMode::Compliance, RetentionPeriod::Years(2))
                                .unwrap(),
                        ),
                    };
                    assert_eq!(
                        r.storage
                            .set_bucket_object_lock(alice, &b, &with_default)
                            .await
                            .unwrap(),
                        BucketLockSet::Set
                    );
                    let (lookup, _) = r
                        .storage
                        .lookup_object(&b, &ObjectKey::parse("k").unwrap())
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(
                        lookup.object_lock,
                        Some(with_default),
                        "the joined lookup too"
                    );
                    let plain = r.bucket(alice, "plain").await;
                    let lookup = r.storage.lookup_bucket(&plain).await.unwrap().unwrap();
                    assert_eq!(lookup.object_lock, None);
                    // Never suspended again: refused in the statement.
                    assert!(
                        !r.storage
                            .set_bucket_versioning(alice, &b, Versioning::Suspended)
                            .await
                            .unwrap(),
                        "a bucket with Object Lock is not suspended"
                    );
                    let lookup = r.storage.lookup_bucket(&b).await.unwrap().unwrap();
                    assert_eq!(lookup.versioning, Versioning::Enabled);
                    assert!(
                        r.storage
                            .set_bucket_versioning(alice, &b, Versioning::Enabled)
                            .await
                            .unwrap(),
                        "Enabled again is fine"
                    );
                })
            },
        ),
        (
            "the default retention is given in the write; a lock moves with its version",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let config = ObjectLockConfig {
                        default_retention: Some(
                            DefaultRetention::new(LockMode::Governance, RetentionPeriod::Days(1))
                                .unwrap(),
                        ),
                    };
                    let b = locked_bucket(&r, alice, "dflt", config).await;
                    let plain = object(&b, "k", ObjectLock::default());
                    r.storage.put_object(alice, &plain).await.unwrap();
                    let got = r
                        .storage
                        .get_object(&b, &plain.key)
                        .await
                        .unwrap()
                        .expect("current");
                    let want = Retention {
                        mode: LockMode::Governance,
                        retain_until: plain.last_modified + Duration::days(1),
                    };
                    assert_eq!(got.lock.retention, Some(want), "the default's");
                    assert_eq!(got.lock.legal_hold, None, "no hold was ever put");
                    // Its own retention wins; a legal hold comes with it.
                    let own = ObjectLock {
                        legal_hold: Some(true),
                        ..retention(LockMode::Compliance, 3600)
                    };
                    let second = object(&b, "k", own);
                    r.storage.put_object(alice, &second).await.unwrap();
                    assert_eq!(lock_of(&r, &b, "k", second.version_id()).await, own);
                    // The first is noncurrent now, its lock with it.
                    let moved = lock_of(&r, &b, "k", plain.version_id()).await;
                    assert_eq!(moved.retention, Some(want), "noncurrent keeps its lock");
                    // A permanent delete of the current (bypass: GOVERNANCE
                    // only) is refused: COMPLIANCE and a hold.
                    let err = r
                        .storage
                        .delete_object_version(alice, &b, &second.key, second.version_id(), true)
                        .await
                        .unwrap_err();
                    assert!(is_locked(&err), "{err:?}");
                    // Without a default, a version gets nothing.
                    let bare = locked_bucket(&r, alice, "bare", ObjectLockConfig::default()).await;
                    let o = object(&bare, "k", ObjectLock::default());
                    r.storage.put_object(alice, &o).await.unwrap();
                    assert_eq!(
                        lock_of(&r, &bare, "k", o.version_id()).await,
                        ObjectLock::default()
                    );
                })
            },
        ),
        (
            "deletes of protected versions are refused; GOVERNANCE yields to the bypass",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = locked_bucket(&r, alice, "del", ObjectLockConfig::default()).await;
                    let gov = object(&b, "gov", retention(LockMode::Governance, 3600));
                    let comp = object(&b, "comp", retention(LockMode::Compliance, 3600));
                    let hold = object(&b, "hold", held());
                    let past = object(&b, "past", retention(LockMode::Compliance, -1));
                    let free = object(&b, "free", ObjectLock::default());
                    for o in [&gov, &comp, &hold, &past, &free] {
                        r.storage.put_object(alice, o).await.unwrap();
                    }
                    let delete = |o: &ObjectMeta, bypass: bool| {
                        let (r, b, key, version) =
                            (r.clone(), b.clone(), o.key.clone(), o.version_id());
                        async move {
                            r.storage
                                .delete_object_version(alice, &b, &key, version, bypass)
                                .await
                        }
                    };
                    // (what, version, bypass, removed?)
                    let table: [(&str, &ObjectMeta, bool, bool); 8] = [
                        ("GOVERNANCE", &gov, false, false),
                        ("COMPLIANCE", &comp, false, false),
                        ("COMPLIANCE, bypass", &comp, true, false),
                        ("legal hold", &hold, false, false),
                        ("legal hold, bypass", &hold, true, false),
                        ("GOVERNANCE, bypass", &gov, true, true),
                        ("expired COMPLIANCE", &past, false, true),
                        ("no lock", &free, false, true),
                    ];
                    for (what, o, bypass, removed) in table {
                        let got = delete(o, bypass).await;
                        if removed {
                            assert!(
                                matches!(got, Ok(Some(ObjectVersion::Object(_)))),
                                "{what}: {got:?}"
                            );
                        } else {
                            assert!(got.as_ref().is_err_and(is_locked), "{what}: {got:?}");
                            let still = r.storage.get_object(&b, &o.key).await.unwrap();
                            assert_eq!(still.map(|m| m.id), Some(o.id), "{what}: still current");
                        }
                    }
                    // A marker over a locked version is allowed; the version
                    // stays (noncurrent) and stays protected.
                    let marker = miniaws_core::storage::DeleteMarker {
                        id: ObjectId::new(),
                        bucket: b.clone(),
                        key: comp.key.clone(),
                        versioned: true,
                        last_modified: now_utc(),
                    };
                    r.storage.put_delete_marker(alice, &marker).await.unwrap();
                    let got = delete(&comp, true).await;
                    assert!(got.as_ref().is_err_and(is_locked), "noncurrent: {got:?}");
                    // The hold released, the version goes.
                    let released = r
                        .storage
                        .set_version_lock(
                            alice,
                            &b,
                            &hold.key,
                            hold.version_id(),
                            &LockChange::LegalHold(false),
                            now_utc(),
                        )
                        .await
                        .unwrap();
                    assert_eq!(released, VersionLock::Locked(self::released()));
                    assert!(matches!(delete(&hold, false).await, Ok(Some(_))));
                })
            },
        ),
        (
            "set_version_lock applies the rules to the version named, current or not",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bob = r.user("bob").await;
                    let b = locked_bucket(&r, alice, "rules", ObjectLockConfig::default()).await;
                    let comp = object(&b, "k", retention(LockMode::Compliance, 3600));
                    r.storage.put_object(alice, &comp).await.unwrap();
                    let newer = object(&b, "k", ObjectLock::default());
                    r.storage.put_object(alice, &newer).await.unwrap();
                    let set = |owner, version, change: LockChange| {
                        let (r, b) = (r.clone(), b.clone());
                        async move {
                            r.storage
                                .set_version_lock(
                                    owner,
                                    &b,
                                    &ObjectKey::parse("k").unwrap(),
                                    version,
                                    &change,
                                    now_utc(),
                                )
                                .await
                        }
                    };
                    let before = lock_of(&r, &b, "k", comp.version_id()).await;
                    let shorter = LockChange::Retention {
                        retention: retention(LockMode::Compliance, 60).retention,
                        bypass: true,
                    };
                    let err = set(alice, comp.version_id(), shorter).await.unwrap_err();
                    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
                    assert_eq!(
                        lock_of(&r, &b, "k", comp.version_id()).await,
                        before,
                        "unchanged"
                    );
                    let longer = retention(LockMode::Compliance, 7200);
                    let got = set(
                        alice,
                        comp.version_id(),
                        LockChange::Retention {
                            retention: longer.retention,
                            bypass: false,
                        },
                    )
                    .await
                    .unwrap();
                    assert_eq!(got, VersionLock::Locked(longer), "extended (noncurrent)");
                    assert_eq!(lock_of(&r, &b, "k", comp.version_id()).await, longer);
                    assert_eq!(
                        lock_of(&r, &b, "k", newer.version_id()).await,
                        ObjectLock::default(),
                        "the other version untouched"
                    );
                    // The current version, a hold.
                    let got = set(alice, newer.version_id(), LockChange::LegalHold(true))
                        .await
                        .unwrap();
                    assert_eq!(got, VersionLock::Locked(held()));
                    assert_eq!(
                        r.storage
                            .get_object(&b, &newer.key)
                            .await
                            .unwrap()
                            .unwrap()
                            .lock,
                        held()
                    );
                    let missing = VersionId::Id(ObjectId::new());
                    assert_eq!(
                        set(alice, missing, LockChange::LegalHold(true))
                            .await
                            .unwrap(),
                        VersionLock::Missing
                    );
                    let marker = miniaws_core::storage::DeleteMarker {
                        id: ObjectId::new(),
                        bucket: b.clone(),
                        key: newer.key.clone(),
                        versioned: true,
                        // Whole microseconds, which both databases keep.
                        last_modified: {
                            let now = now_utc();
                            now.replace_microsecond(now.microsecond())
                                .expect("a microsecond")
                        },
                    };
                    r.storage.put_delete_marker(alice, &marker).await.unwrap();
                    assert_eq!(
                        set(alice, marker.version_id(), LockChange::LegalHold(true))
                            .await
                            .unwrap(),
                        VersionLock::DeleteMarker {
                            last_modified: marker.last_modified
                        },
                        "a marker names when the delete happened"
                    );
                    let err = set(bob, newer.version_id(), LockChange::LegalHold(false))
                        .await
                        .unwrap_err();
                    assert!(
                        matches!(
                            err,
                            CoreError::NotFound {
                                resource: Resource::Bucket,
                                ..
                            }
                        ),
                        "{err:?}"
                    );
                    assert_eq!(lock_of(&r, &b, "k", newer.version_id()).await, held());
                })
            },
        ),
        (
            "a legal hold is never set until one is put; OFF stays apart from never set",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = locked_bucket(&r, alice, "holds", ObjectLockConfig::default()).await;
                    let key = ObjectKey::parse("k").unwrap();
                    let set = |version, on| {
                        let (r, b, key) = (r.clone(), b.clone(), key.clone());
                        async move {
                            r.storage
                                .set_version_lock(
                                    alice,
                                    &b,
                                    &key,
                                    version,
                                    &LockChange::LegalHold(on),
                                    now_utc(),
                                )
                                .await
                                .unwrap()
                        }
                    };
                    let first = object(&b, "k", ObjectLock::default());
                    r.storage.put_object(alice, &first).await.unwrap();
                    let v = first.version_id();
                    assert_eq!(lock_of(&r, &b, "k", v).await.legal_hold, None, "written");
                    assert_eq!(set(v, true).await, VersionLock::Locked(held()));
                    assert_eq!(lock_of(&r, &b, "k", v).await, held(), "put ON");
                    assert_eq!(set(v, false).await, VersionLock::Locked(released()));
                    assert_eq!(lock_of(&r, &b, "k", v).await, released(), "put OFF");
                    // Written OFF (`x-amz-object-lock-legal-hold: OFF`): set.
                    let off = object(&b, "k", released());
                    r.storage.put_object(alice, &off).await.unwrap();
                    assert_eq!(lock_of(&r, &b, "k", off.version_id()).await, released());
                    // Each moves to the noncurrent table as it is.
                    let last = object(&b, "k", ObjectLock::default());
                    r.storage.put_object(alice, &last).await.unwrap();
                    for (what, version, want) in [
                        ("put OFF, noncurrent", v, Some(false)),
                        ("written OFF, noncurrent", off.version_id(), Some(false)),
                        ("never set, current", last.version_id(), None),
                    ] {
                        assert_eq!(
                            lock_of(&r, &b, "k", version).await.legal_hold,
                            want,
                            "{what}"
                        );
                    }
                    // A never-set noncurrent version stays never set.
                    r.storage
                        .put_object(alice, &object(&b, "k", ObjectLock::default()))
                        .await
                        .unwrap();
                    assert_eq!(
                        lock_of(&r, &b, "k", last.version_id()).await.legal_hold,
                        None,
                        "never set, noncurrent"
                    );
                })
            },
        ),
        (
            "noncurrent expiration leaves a locked version for a later sweep",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = locked_bucket(&r, alice, "sweep", ObjectLockConfig::default()).await;
                    let lifecycle = common::expire_everything();
                    assert!(
                        r.storage
                            .set_bucket_lifecycle(alice, &b, Some(&lifecycle))
                            .await
                            .unwrap()
                    );
                    let old = object(&b, "k", held());
                    let gov = object(&b, "k", retention(LockMode::Governance, 3600));
                    r.storage.put_object(alice, &old).await.unwrap();
                    r.storage.put_object(alice, &gov).await.unwrap();
                    r.storage
                        .put_object(alice, &object(&b, "k", ObjectLock::default()))
                        .await
                        .unwrap();
                    let key = ObjectKey::parse("k").unwrap();
                    let seq = |v: VersionId| {
                        let (r, b, key) = (r.clone(), b.clone(), key.clone());
                        async move {
                            r.storage
                                .get_object_version(&b, &key, v)
                                .await
                                .unwrap()
                                .and_then(|l| l.seq)
                                .expect("noncurrent")
                        }
                    };
                    let (s_old, s_gov) = (seq(old.version_id()).await, seq(gov.version_id()).await);
                    let untagged = Tags::default();
                    let expire = |s: i64| {
                        let (r, b, key, untagged) =
                            (r.clone(), b.clone(), key.clone(), untagged.clone());
                        async move {
                            r.storage
                                .expire_noncurrent_version(alice, &b, &key, s, 0, &untagged)
                                .await
                                .unwrap()
                        }
                    };
                    assert_eq!(expire(s_old).await, None, "a legal hold: kept");
                    assert_eq!(expire(s_gov).await, None, "a retention: kept");
                    r.storage
                        .set_version_lock(
                            alice,
                            &b,
                            &key,
                            old.version_id(),
                            &LockChange::LegalHold(false),
                            now_utc(),
                        )
                        .await
                        .unwrap();
                    assert_eq!(
                        expire(s_old).await,
                        Some(Some(old.blob_id)),
                        "released: removed"
                    );
                    assert_eq!(expire(s_gov).await, None, "still retained");
                    // A version that never had a hold (NULL) holds nothing.
                    let never = object(&b, "k", ObjectLock::default());
                    r.storage.put_object(alice, &never).await.unwrap();
                    r.storage
                        .put_object(alice, &object(&b, "k", ObjectLock::default()))
                        .await
                        .unwrap();
                    assert_eq!(
                        expire(seq(never.version_id()).await).await,
                        Some(Some(never.blob_id)),
                        "never held: removed"
                    );
                })
            },
        ),
        (
            "a legal hold racing a permanent delete: one of them wins, never both",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = locked_bucket(&r, alice, "race", ObjectLockConfig::default()).await;
                    let key = ObjectKey::parse("k").unwrap();
                    let (mut held_wins, mut delete_wins) = (0, 0);
                    for round in 0..20 {
                        let o = object(&b, "k", ObjectLock::default());
                        r.storage.put_object(alice, &o).await.unwrap();
                        let version = o.version_id();
                        let hold = {
                            let (r, b, key) = (r.clone(), b.clone(), key.clone());
                            tokio::spawn(async move {
                                r.storage
                                    .set_version_lock(
                                        alice,
                                        &b,
                                        &key,
                                        version,
                                        &LockChange::LegalHold(true),
                                        now_utc(),
                                    )
                                    .await
                                    .unwrap()
                            })
                        };
                        let delete = {
                            let (r, b, key) = (r.clone(), b.clone(), key.clone());
                            tokio::spawn(async move {
                                r.storage
                                    .delete_object_version(alice, &b, &key, version, true)
                                    .await
                            })
                        };
                        let (hold, delete) = (hold.await.unwrap(), delete.await.unwrap());
                        let exists = r
                            .storage
                            .get_object_version(&b, &key, version)
                            .await
                            .unwrap()
                            .is_some();
                        match (hold, delete) {
                            (VersionLock::Locked(l), Err(e)) => {
                                assert!(l.held() && is_locked(&e), "round {round}: {e:?}");
                                assert!(exists, "round {round}: held, so kept");
                                held_wins += 1;
                                r.storage
                                    .set_version_lock(
                                        alice,
                                        &b,
                                        &key,
                                        version,
                                        &LockChange::LegalHold(false),
                                        now_utc(),
                                    )
                                    .await
                                    .unwrap();
                                r.storage
                                    .delete_object_version(alice, &b, &key, version, false)
                                    .await
                                    .unwrap();
                            }
                            (VersionLock::Missing, Ok(Some(_))) => {
                                assert!(!exists, "round {round}: deleted, so gone");
                                delete_wins += 1;
                            }
                            other => panic!("round {round}: both or neither won: {other:?}"),
                        }
                    }
                    eprintln!("hold first {held_wins} times, delete first {delete_wins} times");
                })
            },
        ),
    ]
}

async fn run_all(make: impl AsyncFn() -> Option<common::Fresh>) {
    for (description, case) in cases() {
        eprintln!("case: {description}");
        let Some(fresh) = make().await else {
            return;
        };
        case(Repos::of(&fresh)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn object_lock_contract_on_sqlite() {
    run_all(async || Some(common::sqlite(true).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn object_lock_contract_on_postgres() {
    run_all(async || common::postgres(true).await).await;
}
