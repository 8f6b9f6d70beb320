//! The object-version part of the `StorageRepo` contract (migration 0017),
//! run against SQLite and Postgres: versioned writes keep the version they
//! replace, delete markers, permanent deletes that promote the previous
//! version, `null` versions of suspended buckets, listings and their
//! positions, the sweep's scan of noncurrent blobs, the owner check,
//! concurrent writes of one key, and the tags of any version set by its
//! id (racing writes and deletes).

mod common;

use common::Repos;

use miniaws_core::error::ConflictKind;
use miniaws_core::identity::UserId;
use miniaws_core::storage::{
    BlobId, BucketName, DeleteMarker, ETag, KeyRange, ListedVersion, ObjectId, ObjectKey,
    ObjectMeta, ObjectVersion, ObjectWrite, Tags, VersionId, VersionTags, Versioning,
    WriteCondition,
};
use miniaws_core::{CoreError, Resource};
use std::collections::HashSet;

/// A version of `key` written `versioned` (Enabled) or not, at `at`.
fn object(bucket: &BucketName, key: &str, at: i64, versioned: bool) -> ObjectMeta {
    ObjectMeta {
        etag: ETag::from_stored(format!("{:032x}", at)),
        last_modified: common::at(at),
        versioned,
        ..common::object_meta(bucket, key)
    }
}

fn marker(bucket: &BucketName, key: &str, at: i64, versioned: bool) -> DeleteMarker {
    DeleteMarker {
        id: ObjectId::new(),
        bucket: bucket.clone(),
        key: ObjectKey::parse(key).unwrap(),
        versioned,
        last_modified: common::at(at),
    }
}

/// A tag set of one tag.
fn tag(k: &str, v: &str) -> Tags {
    Tags::new(vec![(k.into(), v.into())]).unwrap()
}

fn all() -> KeyRange {
    KeyRange {
        start: Vec::new(),
        end: None,
    }
}

/// Every version of the bucket: (key, version id, delete marker?, current?).
async fn versions(r: &Repos, b: &BucketName) -> Vec<(String, VersionId, bool, bool)> {
    r.storage
        .list_versions(b, &all(), None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|v| {
            (
                v.version.key().as_str().to_owned(),
                v.version.version_id(),
                matches!(v.version, ObjectVersion::DeleteMarker(_)),
                v.seq.is_none(),
            )
        })
        .collect()
}

/// The blobs of noncurrent versions, as the sweep reads them.
async fn version_blobs(r: &Repos) -> HashSet<BlobId> {
    let mut found = HashSet::new();
    let mut after = None;
    loop {
        let page = r.storage.version_blobs_after(after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        assert!(
            after.is_none_or(|a: BlobId| page[0].as_uuid() > a.as_uuid()),
            "ascending"
        );
        after = Some(*last);
        found.extend(page);
    }
    found
}

async fn versioned_bucket(r: &Repos, owner: UserId, name: &str, state: Versioning) -> BucketName {
    let b = r.bucket(owner, name).await;
    assert!(
        r.storage
            .set_bucket_versioning(owner, &b, state)
            .await
            .unwrap()
    );
    b
}

fn v(meta: &ObjectMeta) -> VersionId {
    meta.version_id()
}

/// `name`, versioned `state`, with a lifecycle configuration.
async fn configured_bucket(r: &Repos, owner: UserId, name: &str, state: Versioning) -> BucketName {
    let b = versioned_bucket(r, owner, name, state).await;
    assert!(
        r.storage
            .set_bucket_lifecycle(owner, &b, Some(&common::expire_everything()))
            .await
            .unwrap()
    );
    b
}

/// The `seq` of version `version` of `key` (noncurrent, or a marker).
async fn seq_of(r: &Repos, b: &BucketName, key: &str, version: VersionId) -> i64 {
    let key = ObjectKey::parse(key).unwrap();
    let found = r
        .storage
        .get_object_version(b, &key, version)
        .await
        .unwrap()
        .expect("the version exists");
    assert!(
        found.noncurrent_at.is_some(),
        "a noncurrent row has its time"
    );
    found.seq.expect("not the current version")
}

/// The version id of `key`'s latest delete marker.
async fn latest_marker(r: &Repos, b: &BucketName, key: &str) -> VersionId {
    let all = versions(r, b).await;
    let (_, id, marker, _) = all
        .into_iter()
        .find(|(k, ..)| k == key)
        .expect("the key has versions");
    assert!(marker, "{key}'s latest is a delete marker");
    id
}

type Case = (
    &'static str,
    fn(Repos) -> futures::future::BoxFuture<'static, ()>,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "a bucket never versioned: one null version per key, replaced in place",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "plain").await;
                    let lookup = r.storage.lookup_bucket(&b).await.unwrap().unwrap();
                    assert_eq!(lookup.versioning, Versioning::Unversioned);
                    let one = object(&b, "k", 1, false);
                    let two = object(&b, "k", 2, false);
                    r.storage.put_object(alice, &one).await.unwrap();
                    let replaced = r.storage.put_object(alice, &two).await.unwrap();
                    assert_eq!(replaced, Some(one.blob_id), "the old blob is freed");
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![("k".into(), VersionId::Null, false, true)]
                    );
                    assert!(version_blobs(&r).await.is_empty());
                })
            },
        ),
        (
            "enabled: a write keeps the version it replaces, readable by id",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "kept").await;
                    // The version written before versioning stays as `null`.
                    let zero = object(&b, "k", 0, false);
                    r.storage.put_object(alice, &zero).await.unwrap();
                    assert!(
                        r.storage
                            .set_bucket_versioning(alice, &b, Versioning::Enabled)
                            .await
                            .unwrap()
                    );
                    let lookup = r.storage.lookup_bucket(&b).await.unwrap().unwrap();
                    assert_eq!(lookup.versioning, Versioning::Enabled);
                    let one = object(&b, "k", 1, true);
                    let two = object(&b, "k", 2, true);
                    assert_eq!(r.storage.put_object(alice, &one).await.unwrap(), None);
                    assert_eq!(
                        r.storage.put_object(alice, &two).await.unwrap(),
                        None,
                        "no blob is freed: the old version keeps it"
                    );
                    let current = r.storage.get_object(&b, &two.key).await.unwrap().unwrap();
                    assert_eq!(current, two, "the new version is current, versioned");
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), v(&two), false, true),
                            ("k".into(), v(&one), false, false),
                            ("k".into(), VersionId::Null, false, false),
                        ]
                    );
                    let found = r
                        .storage
                        .get_object_version(&b, &one.key, v(&one))
                        .await
                        .unwrap()
                        .expect("v1 is kept");
                    assert_eq!(found.version, ObjectVersion::Object(one.clone()));
                    assert!(found.seq.is_some(), "noncurrent");
                    let null = r
                        .storage
                        .get_object_version(&b, &one.key, VersionId::Null)
                        .await
                        .unwrap()
                        .expect("null is kept");
                    assert_eq!(null.version, ObjectVersion::Object(zero.clone()));
                    assert_eq!(
                        r.storage
                            .get_object_version(&b, &one.key, VersionId::Id(ObjectId::new()))
                            .await
                            .unwrap(),
                        None
                    );
                    assert_eq!(
                        version_blobs(&r).await,
                        HashSet::from([zero.blob_id, one.blob_id]),
                        "the sweep sees the noncurrent blobs"
                    );
                    // Not empty while versions are left.
                    let e = r.storage.delete_bucket(alice, &b).await.unwrap_err();
                    assert!(matches!(
                        e,
                        CoreError::Conflict {
                            kind: ConflictKind::BucketNotEmpty,
                            ..
                        }
                    ));
                })
            },
        ),
        (
            "a delete marker hides the key; removing versions promotes the newest",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = versioned_bucket(&r, alice, "markers", Versioning::Enabled).await;
                    let one = object(&b, "k", 1, true);
                    let two = object(&b, "k", 2, true);
                    r.storage.put_object(alice, &one).await.unwrap();
                    r.storage.put_object(alice, &two).await.unwrap();
                    let m = marker(&b, "k", 3, true);
                    assert_eq!(r.storage.put_delete_marker(alice, &m).await.unwrap(), None);
                    assert_eq!(r.storage.get_object(&b, &one.key).await.unwrap(), None);
                    let (found, current) = r
                        .storage
                        .lookup_object(&b, &one.key)
                        .await
                        .unwrap()
                        .expect("bucket");
                    assert_eq!(current, None);
                    assert_eq!(found.versioning, Versioning::Enabled);
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), m.version_id(), true, false),
                            ("k".into(), v(&two), false, false),
                            ("k".into(), v(&one), false, false),
                        ],
                        "the marker is the newest"
                    );
                    let got = r
                        .storage
                        .get_object_version(&b, &one.key, m.version_id())
                        .await
                        .unwrap()
                        .expect("the marker");
                    assert_eq!(got.version, ObjectVersion::DeleteMarker(m.clone()));
                    // Removing the marker makes v2 current again.
                    let removed = r
                        .storage
                        .delete_object_version(alice, &b, &one.key, m.version_id(), false)
                        .await
                        .unwrap();
                    assert_eq!(removed, Some(ObjectVersion::DeleteMarker(m.clone())));
                    assert_eq!(
                        r.storage.get_object(&b, &one.key).await.unwrap(),
                        Some(two.clone())
                    );
                    // Removing the current version promotes v1.
                    let removed = r
                        .storage
                        .delete_object_version(alice, &b, &one.key, v(&two), false)
                        .await
                        .unwrap();
                    assert_eq!(removed, Some(ObjectVersion::Object(two.clone())));
                    assert_eq!(
                        r.storage.get_object(&b, &one.key).await.unwrap(),
                        Some(one.clone())
                    );
                    assert!(version_blobs(&r).await.is_empty(), "v1 is current now");
                    // A version that is not there removes nothing.
                    assert_eq!(
                        r.storage
                            .delete_object_version(alice, &b, &one.key, v(&two), false)
                            .await
                            .unwrap(),
                        None
                    );
                    // Under a marker, removing a noncurrent version leaves
                    // the marker latest.
                    let three = object(&b, "k", 4, true);
                    r.storage.put_object(alice, &three).await.unwrap();
                    let m2 = marker(&b, "k", 5, true);
                    r.storage.put_delete_marker(alice, &m2).await.unwrap();
                    r.storage
                        .delete_object_version(alice, &b, &one.key, v(&one), false)
                        .await
                        .unwrap();
                    assert_eq!(r.storage.get_object(&b, &one.key).await.unwrap(), None);
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), m2.version_id(), true, false),
                            ("k".into(), v(&three), false, false),
                        ]
                    );
                    // Removing everything leaves nothing, and the bucket can go.
                    for id in [m2.version_id(), v(&three)] {
                        r.storage
                            .delete_object_version(alice, &b, &one.key, id, false)
                            .await
                            .unwrap()
                            .expect("removed");
                    }
                    assert!(versions(&r, &b).await.is_empty());
                    r.storage.delete_bucket(alice, &b).await.unwrap();
                })
            },
        ),
        (
            "a write that raced the enabling of versioning keeps the null version",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "raced").await;
                    let zero = object(&b, "k", 0, false);
                    r.storage.put_object(alice, &zero).await.unwrap();
                    r.storage
                        .set_bucket_versioning(alice, &b, Versioning::Enabled)
                        .await
                        .unwrap();
                    // Looked the bucket up before: it comes as a null write.
                    let late = object(&b, "k", 1, false);
                    assert_eq!(r.storage.put_object(alice, &late).await.unwrap(), None);
                    let listed = versions(&r, &b).await;
                    assert_eq!(
                        listed,
                        vec![
                            ("k".into(), VersionId::Id(late.id), false, true),
                            ("k".into(), VersionId::Null, false, false),
                        ],
                        "kept as a version of its own"
                    );
                })
            },
        ),
        (
            "suspended: null writes and null markers replace the null version",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = versioned_bucket(&r, alice, "suspended", Versioning::Enabled).await;
                    let kept = object(&b, "k", 1, true);
                    r.storage.put_object(alice, &kept).await.unwrap();
                    r.storage
                        .set_bucket_versioning(alice, &b, Versioning::Suspended)
                        .await
                        .unwrap();
                    let null1 = object(&b, "k", 2, false);
                    let null2 = object(&b, "k", 3, false);
                    assert_eq!(
                        r.storage.put_object(alice, &null1).await.unwrap(),
                        None,
                        "the versioned one is kept"
                    );
                    assert_eq!(
                        r.storage.put_object(alice, &null2).await.unwrap(),
                        Some(null1.blob_id),
                        "the null version is replaced"
                    );
                    let m = marker(&b, "k", 4, false);
                    assert_eq!(
                        r.storage.put_delete_marker(alice, &m).await.unwrap(),
                        Some(null2.blob_id),
                        "the null marker replaces the null version"
                    );
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), VersionId::Null, true, false),
                            ("k".into(), v(&kept), false, false),
                        ]
                    );
                    // A null write after a null marker replaces the marker.
                    let null3 = object(&b, "k", 5, false);
                    assert_eq!(r.storage.put_object(alice, &null3).await.unwrap(), None);
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), VersionId::Null, false, true),
                            ("k".into(), v(&kept), false, false),
                        ]
                    );
                })
            },
        ),
        (
            "conditions hold on versioned writes, checked against the current version",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = versioned_bucket(&r, alice, "conds", Versioning::Enabled).await;
                    let one = object(&b, "k", 1, true);
                    r.storage
                        .put_object_if(alice, &one, &WriteCondition::Absent)
                        .await
                        .expect("absent");
                    let refused = r
                        .storage
                        .put_object_if(alice, &object(&b, "k", 2, true), &WriteCondition::Absent)
                        .await;
                    assert!(matches!(refused, Err(CoreError::PreconditionFailed(_))));
                    let refused = r
                        .storage
                        .put_object_if(
                            alice,
                            &object(&b, "k", 3, true),
                            &WriteCondition::ETagIs(ETag::from_stored("nope")),
                        )
                        .await;
                    assert!(matches!(refused, Err(CoreError::PreconditionFailed(_))));
                    let two = object(&b, "k", 4, true);
                    r.storage
                        .put_object_if(alice, &two, &WriteCondition::ETagIs(one.etag.clone()))
                        .await
                        .expect("matches");
                    assert_eq!(versions(&r, &b).await.len(), 2, "refusals wrote nothing");
                })
            },
        ),
        ("another owner writes, marks and removes nothing", |r| {
            Box::pin(async move {
                let alice = r.user("alice").await;
                let bob = r.user("bob").await;
                let b = versioned_bucket(&r, alice, "owned", Versioning::Enabled).await;
                let one = object(&b, "k", 1, true);
                r.storage.put_object(alice, &one).await.unwrap();
                let is_no_bucket = |e: CoreError| {
                    matches!(
                        e,
                        CoreError::NotFound {
                            resource: Resource::Bucket,
                            ..
                        }
                    )
                };
                assert!(is_no_bucket(
                    r.storage
                        .put_object(bob, &object(&b, "k", 2, true))
                        .await
                        .unwrap_err()
                ));
                assert!(is_no_bucket(
                    r.storage
                        .put_delete_marker(bob, &marker(&b, "k", 3, true))
                        .await
                        .unwrap_err()
                ));
                assert!(is_no_bucket(
                    r.storage
                        .delete_object_version(bob, &b, &one.key, v(&one), false)
                        .await
                        .unwrap_err()
                ));
                assert!(
                    !r.storage
                        .set_bucket_versioning(bob, &b, Versioning::Suspended)
                        .await
                        .unwrap()
                );
                assert_eq!(
                    versions(&r, &b).await,
                    vec![("k".into(), v(&one), false, true)]
                );
            })
        }),
        (
            "concurrent versioned writes and deletes of one key keep every version",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = versioned_bucket(&r, alice, "race", Versioning::Enabled).await;
                    let writes: Vec<ObjectMeta> =
                        (0..16).map(|i| object(&b, "k", i, true)).collect();
                    let mut tasks = Vec::new();
                    for (i, o) in writes.iter().cloned().enumerate() {
                        let storage = r.storage.clone();
                        tasks.push(tokio::spawn(async move {
                            storage.put_object(alice, &o).await.expect("commits")
                        }));
                        if i % 4 == 0 {
                            let storage = r.storage.clone();
                            let m = marker(&b, "k", 100 + i as i64, true);
                            tasks.push(tokio::spawn(async move {
                                storage.put_delete_marker(alice, &m).await.expect("marks")
                            }));
                        }
                    }
                    for t in tasks {
                        assert_eq!(t.await.unwrap(), None, "no version's blob is freed");
                    }
                    let listed = versions(&r, &b).await;
                    assert_eq!(listed.len(), 20, "16 versions and 4 markers");
                    assert!(listed.iter().filter(|e| e.3).count() <= 1, "one current");
                    let ids: HashSet<VersionId> = listed.iter().map(|e| e.1).collect();
                    for w in &writes {
                        assert!(ids.contains(&v(w)), "every write is a version");
                    }
                    // The group commit's batch keeps them too.
                    let batch: Vec<ObjectWrite> = (0..3)
                        .map(|i| ObjectWrite {
                            owner: alice,
                            meta: object(&b, "k", 200 + i, true),
                            condition: WriteCondition::Always,
                        })
                        .collect();
                    for result in r.storage.put_objects(&batch).await {
                        assert_eq!(result.expect("commits"), None);
                    }
                    assert_eq!(versions(&r, &b).await.len(), 23);
                })
            },
        ),
        (
            "list_versions: by key, newest first, resumable after any version",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = versioned_bucket(&r, alice, "listing", Versioning::Enabled).await;
                    for (i, key) in ["a", "b", "a", "c", "b", "a"].iter().enumerate() {
                        r.storage
                            .put_object(alice, &object(&b, key, i as i64, true))
                            .await
                            .unwrap();
                    }
                    let full: Vec<ListedVersion> = r
                        .storage
                        .list_versions(&b, &all(), None, 1000)
                        .await
                        .unwrap();
                    let keys: Vec<&str> = full.iter().map(|v| v.version.key().as_str()).collect();
                    assert_eq!(keys, ["a", "a", "a", "b", "b", "c"]);
                    // Resumed after each entry in turn, two at a time.
                    for (i, entry) in full.iter().enumerate() {
                        let after = (entry.version.key(), entry.seq);
                        let rest = r
                            .storage
                            .list_versions(&b, &all(), Some(after), 2)
                            .await
                            .unwrap();
                        let want: Vec<_> = full.iter().skip(i + 1).take(2).cloned().collect();
                        assert_eq!(rest, want, "after entry {i}");
                    }
                    // A range holds its keys alone.
                    let only_b = KeyRange {
                        start: b"b".to_vec(),
                        end: Some(b"c".to_vec()),
                    };
                    let listed = r
                        .storage
                        .list_versions(&b, &only_b, None, 1000)
                        .await
                        .unwrap();
                    assert_eq!(listed.len(), 2);
                })
            },
        ),
        (
            "the lifecycle's conditional delete leaves a versioned bucket alone",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = versioned_bucket(&r, alice, "lifecycle", Versioning::Enabled).await;
                    let config = common::expire_everything();
                    assert!(
                        r.storage
                            .set_bucket_lifecycle(alice, &b, Some(&config))
                            .await
                            .unwrap()
                    );
                    let one = object(&b, "k", 1, true);
                    r.storage.put_object(alice, &one).await.unwrap();
                    assert_eq!(
                        r.storage
                            .delete_object_if(alice, &b, &one.key, one.id, &one.tags)
                            .await
                            .unwrap(),
                        None
                    );
                    assert!(r.storage.get_object(&b, &one.key).await.unwrap().is_some());
                })
            },
        ),
        (
            "lifecycle: a current version expires into a marker only while it is the one read",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bob = r.user("bob").await;
                    let b = configured_bucket(&r, alice, "lc-current", Versioning::Enabled).await;
                    let one = object(&b, "k", 1, true);
                    let mut two = object(&b, "k", 2, true);
                    two.tags = Tags::new(vec![("t".into(), "1".into())]).unwrap();
                    r.storage.put_object(alice, &one).await.unwrap();
                    r.storage.put_object(alice, &two).await.unwrap();
                    let m = marker(&b, "k", 3, true);
                    let expire = |owner, id, tags: Tags| {
                        let (r, m) = (&r, &m);
                        async move {
                            r.storage
                                .expire_current_version(owner, m, id, &tags)
                                .await
                                .unwrap()
                        }
                    };
                    assert_eq!(
                        expire(alice, one.id, one.tags.clone()).await,
                        None,
                        "stale id"
                    );
                    assert_eq!(
                        expire(alice, two.id, Tags::default()).await,
                        None,
                        "retagged"
                    );
                    assert_eq!(
                        expire(bob, two.id, two.tags.clone()).await,
                        None,
                        "not bob's"
                    );
                    assert_eq!(
                        expire(alice, two.id, two.tags.clone()).await,
                        Some(None),
                        "a marker, and no blob freed: the version is kept"
                    );
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), VersionId::Id(m.id), true, false),
                            ("k".into(), v(&two), false, false),
                            ("k".into(), v(&one), false, false),
                        ]
                    );
                    assert!(r.storage.get_object(&b, &two.key).await.unwrap().is_none());
                    let again = marker(&b, "k", 4, true);
                    assert_eq!(
                        r.storage
                            .expire_current_version(alice, &again, two.id, &two.tags)
                            .await
                            .unwrap(),
                        None,
                        "the latest is a marker already"
                    );
                    // Without a configuration, or never versioned: nothing.
                    let bare = versioned_bucket(&r, alice, "lc-bare", Versioning::Enabled).await;
                    let plain = r.bucket(alice, "lc-plain").await;
                    assert!(
                        r.storage
                            .set_bucket_lifecycle(alice, &plain, Some(&common::expire_everything()))
                            .await
                            .unwrap()
                    );
                    for (bucket, versioned) in [(&bare, true), (&plain, false)] {
                        let o = object(bucket, "k", 1, versioned);
                        r.storage.put_object(alice, &o).await.unwrap();
                        let m = marker(bucket, "k", 2, true);
                        assert_eq!(
                            r.storage
                                .expire_current_version(alice, &m, o.id, &o.tags)
                                .await
                                .unwrap(),
                            None,
                            "{bucket:?}"
                        );
                        assert!(
                            r.storage
                                .get_object(bucket, &o.key)
                                .await
                                .unwrap()
                                .is_some()
                        );
                    }
                })
            },
        ),
        (
            "lifecycle: in a suspended bucket the null version gives way to a null marker",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = configured_bucket(&r, alice, "lc-susp", Versioning::Enabled).await;
                    let one = object(&b, "k", 1, true);
                    r.storage.put_object(alice, &one).await.unwrap();
                    assert!(
                        r.storage
                            .set_bucket_versioning(alice, &b, Versioning::Suspended)
                            .await
                            .unwrap()
                    );
                    let null = object(&b, "k", 2, false);
                    r.storage.put_object(alice, &null).await.unwrap();
                    let m = marker(&b, "k", 3, true);
                    assert_eq!(
                        r.storage
                            .expire_current_version(alice, &m, null.id, &null.tags)
                            .await
                            .unwrap(),
                        Some(Some(null.blob_id)),
                        "the null version's blob is freed"
                    );
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), VersionId::Null, true, false),
                            ("k".into(), v(&one), false, false),
                        ],
                        "a null marker, whatever the marker said"
                    );
                })
            },
        ),
        (
            "lifecycle: a noncurrent version goes while enough newer ones stay",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bob = r.user("bob").await;
                    let b = configured_bucket(&r, alice, "lc-nc", Versioning::Enabled).await;
                    let vs: Vec<_> = (1..=4).map(|i| object(&b, "k", i, true)).collect();
                    for o in &vs {
                        r.storage.put_object(alice, o).await.unwrap();
                    }
                    let key = vs[0].key.clone();
                    let seq = |i: usize| seq_of(&r, &b, "k", v(&vs[i]));
                    let (s1, s2, s3) = (seq(0).await, seq(1).await, seq(2).await);
                    let untagged = Tags::default();
                    let expire = |owner, seq, newer| {
                        let (r, b, key, untagged) = (&r, &b, &key, &untagged);
                        async move {
                            r.storage
                                .expire_noncurrent_version(owner, b, key, seq, newer, untagged)
                                .await
                                .unwrap()
                        }
                    };
                    assert_eq!(expire(alice, s3, 1).await, None, "no newer noncurrent one");
                    assert_eq!(expire(alice, s2, 2).await, None, "only one newer");
                    assert_eq!(expire(bob, s2, 1).await, None, "not bob's");
                    assert_eq!(expire(alice, s2, 1).await, Some(Some(vs[1].blob_id)));
                    assert_eq!(expire(alice, s1, 1).await, Some(Some(vs[0].blob_id)));
                    assert_eq!(expire(alice, s1, 0).await, None, "gone already");
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), v(&vs[3]), false, true),
                            ("k".into(), v(&vs[2]), false, false),
                        ]
                    );
                    // Behind a delete marker: the marker is the latest, not
                    // a noncurrent version, and is never removed this way.
                    let m = marker(&b, "k", 5, true);
                    r.storage.put_delete_marker(alice, &m).await.unwrap();
                    let sm = seq_of(&r, &b, "k", VersionId::Id(m.id)).await;
                    let s4 = seq(3).await;
                    assert_eq!(expire(alice, sm, 0).await, None, "the latest stays");
                    assert_eq!(expire(alice, s4, 1).await, None, "no newer noncurrent one");
                    assert_eq!(expire(alice, s4, 0).await, Some(Some(vs[3].blob_id)));
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), VersionId::Id(m.id), true, false),
                            ("k".into(), v(&vs[2]), false, false),
                        ]
                    );
                    // A noncurrent delete marker goes the same way.
                    let five = object(&b, "k", 6, true);
                    r.storage.put_object(alice, &five).await.unwrap();
                    assert_eq!(
                        expire(alice, sm, 0).await,
                        Some(None),
                        "a marker has no blob"
                    );
                    // Without the configuration, nothing goes.
                    assert!(
                        r.storage
                            .set_bucket_lifecycle(alice, &b, None)
                            .await
                            .unwrap()
                    );
                    let s3 = seq(2).await;
                    assert_eq!(expire(alice, s3, 0).await, None, "no configuration");
                    assert_eq!(versions(&r, &b).await.len(), 2);
                })
            },
        ),
        (
            "lifecycle: a noncurrent version retagged since the sweep read it stays",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = configured_bucket(&r, alice, "lc-retag", Versioning::Enabled).await;
                    let vs: Vec<_> = (1..=3).map(|i| object(&b, "k", i, true)).collect();
                    for o in &vs {
                        r.storage.put_object(alice, o).await.unwrap();
                    }
                    let key = vs[0].key.clone();
                    let s1 = seq_of(&r, &b, "k", v(&vs[0])).await;
                    // The sweep read the version untagged; it is tagged since.
                    let kept = tag("keep", "yes");
                    r.storage
                        .set_version_tags(alice, &b, &key, v(&vs[0]), &kept)
                        .await
                        .unwrap();
                    let untagged = Tags::default();
                    assert_eq!(
                        r.storage
                            .expire_noncurrent_version(alice, &b, &key, s1, 1, &untagged)
                            .await
                            .unwrap(),
                        None,
                        "retagged in between: kept"
                    );
                    assert_eq!(versions(&r, &b).await.len(), 3);
                    assert_eq!(
                        r.storage
                            .expire_noncurrent_version(alice, &b, &key, s1, 1, &kept)
                            .await
                            .unwrap(),
                        Some(Some(vs[0].blob_id)),
                        "the tags it has now: removed"
                    );
                    assert_eq!(versions(&r, &b).await.len(), 2);
                })
            },
        ),
        (
            "lifecycle: an expired delete marker goes only while it is alone",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bob = r.user("bob").await;
                    let b = configured_bucket(&r, alice, "lc-dm", Versioning::Enabled).await;
                    r.storage
                        .put_delete_marker(alice, &marker(&b, "lone", 1, true))
                        .await
                        .unwrap();
                    let one = object(&b, "behind", 1, true);
                    r.storage.put_object(alice, &one).await.unwrap();
                    r.storage
                        .put_delete_marker(alice, &marker(&b, "behind", 2, true))
                        .await
                        .unwrap();
                    r.storage
                        .put_delete_marker(alice, &marker(&b, "rewritten", 1, true))
                        .await
                        .unwrap();
                    let lone = latest_marker(&r, &b, "lone").await;
                    let behind = latest_marker(&r, &b, "behind").await;
                    let rewritten = latest_marker(&r, &b, "rewritten").await;
                    let (lone, behind, rewritten) = (
                        seq_of(&r, &b, "lone", lone).await,
                        seq_of(&r, &b, "behind", behind).await,
                        seq_of(&r, &b, "rewritten", rewritten).await,
                    );
                    // A PUT supersedes the marker before the sweep acts.
                    r.storage
                        .put_object(alice, &object(&b, "rewritten", 2, true))
                        .await
                        .unwrap();
                    let remove = |owner, key: &str, seq| {
                        let (r, b, key) = (&r, &b, ObjectKey::parse(key).unwrap());
                        async move {
                            r.storage
                                .remove_expired_delete_marker(owner, b, &key, seq)
                                .await
                                .unwrap()
                        }
                    };
                    assert!(
                        !remove(alice, "behind", behind).await,
                        "a version behind it"
                    );
                    assert!(!remove(alice, "rewritten", rewritten).await, "superseded");
                    assert!(!remove(bob, "lone", lone).await, "not bob's");
                    assert!(remove(alice, "lone", lone).await);
                    assert!(!remove(alice, "lone", lone).await, "gone already");
                    let keys: Vec<_> = versions(&r, &b).await.into_iter().map(|e| e.0).collect();
                    assert_eq!(keys, ["behind", "behind", "rewritten", "rewritten"]);
                })
            },
        ),
        (
            "set_version_tags: tags the version named, current or noncurrent, alone",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bob = r.user("bob").await;
                    let b = r.bucket(alice, "vtags").await;
                    let null = object(&b, "k", 1, false);
                    r.storage.put_object(alice, &null).await.unwrap();
                    assert!(
                        r.storage
                            .set_bucket_versioning(alice, &b, Versioning::Enabled)
                            .await
                            .unwrap()
                    );
                    let v1 = object(&b, "k", 2, true);
                    let v2 = object(&b, "k", 3, true);
                    r.storage.put_object(alice, &v1).await.unwrap();
                    r.storage.put_object(alice, &v2).await.unwrap();
                    let key = ObjectKey::parse("k").unwrap();
                    let set = |version: VersionId, t: Tags| {
                        let (s, b, key) = (r.storage.clone(), b.clone(), key.clone());
                        async move { s.set_version_tags(alice, &b, &key, version, &t).await }
                    };
                    let tags_of = |version: VersionId| {
                        let (s, b, key) = (r.storage.clone(), b.clone(), key.clone());
                        async move {
                            match s.get_object_version(&b, &key, version).await.unwrap() {
                                Some(ListedVersion {
                                    version: ObjectVersion::Object(m),
                                    ..
                                }) => m.tags,
                                other => panic!("{version}: {other:?}"),
                            }
                        }
                    };
                    let (t1, t2, t3) = (tag("a", "1"), tag("b", "2"), tag("c", "3"));
                    let cases = [
                        ("a noncurrent version by id", v(&v1), &t1),
                        ("the noncurrent null version", VersionId::Null, &t2),
                        ("the current version by id", v(&v2), &t3),
                    ];
                    for (what, version, t) in cases {
                        assert_eq!(
                            set(version, t.clone()).await.unwrap(),
                            VersionTags::Tagged,
                            "{what}"
                        );
                    }
                    for (what, version, t) in cases {
                        assert_eq!(&tags_of(version).await, t, "{what}: read back");
                    }
                    let current = r.storage.get_object(&b, &key).await.unwrap().unwrap();
                    assert_eq!((current.id, current.tags), (v2.id, t3.clone()));
                    // Only the tags changed: the listing is as it was.
                    assert_eq!(
                        versions(&r, &b).await,
                        vec![
                            ("k".into(), v(&v2), false, true),
                            ("k".into(), v(&v1), false, false),
                            ("k".into(), VersionId::Null, false, false),
                        ]
                    );
                    // A marker, a version that does not exist, another key:
                    // nothing to tag.
                    let m = marker(&b, "k", 4, true);
                    r.storage.put_delete_marker(alice, &m).await.unwrap();
                    assert_eq!(
                        set(m.version_id(), t1.clone()).await.unwrap(),
                        VersionTags::DeleteMarker {
                            last_modified: m.last_modified
                        },
                        "a marker names when the delete happened"
                    );
                    let unknown = VersionId::Id(ObjectId::new());
                    assert_eq!(
                        set(unknown, t1.clone()).await.unwrap(),
                        VersionTags::Missing
                    );
                    let other = ObjectKey::parse("other").unwrap();
                    assert_eq!(
                        r.storage
                            .set_version_tags(alice, &b, &other, v(&v1), &t3)
                            .await
                            .unwrap(),
                        VersionTags::Missing,
                        "a version of another key"
                    );
                    // Another owner, a missing bucket: refused, nothing
                    // changed.
                    let nobucket = BucketName::parse("no-such-bucket").unwrap();
                    for (what, owner, bucket) in [("bob", bob, &b), ("no bucket", alice, &nobucket)]
                    {
                        let err = r
                            .storage
                            .set_version_tags(owner, bucket, &key, v(&v1), &t3)
                            .await
                            .expect_err(what);
                        assert!(
                            matches!(
                                err,
                                CoreError::NotFound {
                                    resource: Resource::Bucket,
                                    ..
                                }
                            ),
                            "{what}: {err:?}"
                        );
                    }
                    assert_eq!(tags_of(v(&v1)).await, t1, "refused: unchanged");
                    // The version keeps its tags as it becomes current again,
                    // and can be tagged there.
                    for gone in [m.version_id(), v(&v2)] {
                        r.storage
                            .delete_object_version(alice, &b, &key, gone, false)
                            .await
                            .unwrap()
                            .expect("removed");
                    }
                    let current = r.storage.get_object(&b, &key).await.unwrap().unwrap();
                    assert_eq!((current.id, current.tags), (v1.id, t1.clone()));
                    assert_eq!(set(v(&v1), t2.clone()).await.unwrap(), VersionTags::Tagged);
                    assert_eq!(
                        r.storage.get_object(&b, &key).await.unwrap().unwrap().tags,
                        t2
                    );
                })
            },
        ),
        (
            "set_version_tags racing writes and deletes tags the version named or nothing",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = versioned_bucket(&r, alice, "vtagrace", Versioning::Enabled).await;
                    let key = ObjectKey::parse("k").unwrap();
                    let mut previous = object(&b, "k", 1, true);
                    r.storage.put_object(alice, &previous).await.unwrap();
                    for round in 0..20i64 {
                        // The version tagged becomes noncurrent meanwhile
                        // (even rounds) or is removed for good (odd ones).
                        let next = object(&b, "k", 10 + round, true);
                        let t = tag("round", &round.to_string());
                        let (s1, s2) = (r.storage.clone(), r.storage.clone());
                        let (b1, k1, n1) = (b.clone(), key.clone(), next.clone());
                        let gone = v(&previous);
                        let change = tokio::spawn(async move {
                            if round % 2 == 0 {
                                s1.put_object(alice, &n1).await.map(|_| ())
                            } else {
                                s1.delete_object_version(alice, &b1, &k1, gone, false)
                                    .await
                                    .map(|_| ())
                            }
                        });
                        let (b2, k2, t2) = (b.clone(), key.clone(), t.clone());
                        let tagging = tokio::spawn(async move {
                            s2.set_version_tags(alice, &b2, &k2, gone, &t2).await
                        });
                        change.await.unwrap().expect("the change commits");
                        let outcome = tagging.await.unwrap().expect("the tagging runs");
                        let found = r.storage.get_object_version(&b, &key, gone).await.unwrap();
                        if round % 2 == 0 {
                            assert_eq!(outcome, VersionTags::Tagged, "round {round}");
                            let Some(ListedVersion {
                                version: ObjectVersion::Object(m),
                                seq,
                                ..
                            }) = found
                            else {
                                panic!("round {round}: the version is kept")
                            };
                            assert!(seq.is_some(), "round {round}: noncurrent now");
                            assert_eq!(m.tags, t, "round {round}: its tags are not lost");
                            previous = next;
                        } else {
                            assert!(found.is_none(), "round {round}: removed");
                            assert!(
                                matches!(outcome, VersionTags::Tagged | VersionTags::Missing),
                                "round {round}: {outcome:?}"
                            );
                            r.storage.put_object(alice, &next).await.unwrap();
                            previous = next;
                        }
                        // No other version carries the round's tags.
                        let listed = r.storage.list_versions(&b, &all(), None, 1000).await;
                        for other in listed.unwrap() {
                            if other.version.version_id() != gone
                                && let ObjectVersion::Object(m) = other.version
                            {
                                assert_ne!(m.tags, t, "round {round}: the wrong row was tagged");
                            }
                        }
                    }
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
async fn object_versions_contract_on_sqlite() {
    run_all(async || Some(common::sqlite(true).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn object_versions_contract_on_postgres() {
    run_all(async || common::postgres(true).await).await;
}
