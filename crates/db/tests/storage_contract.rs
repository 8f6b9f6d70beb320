//! The `StorageRepo` contract, run against SQLite and Postgres, plus a check
//! that a prefix listing is an index range scan on both.

mod common;

use common::Repos;

use miniaws_core::error::ConflictKind;
use miniaws_core::identity::UserId;
use miniaws_core::storage::{
    BlobId, Bucket, BucketName, ETag, KeyRange, NameRange, ObjectKey, ObjectMeta, ObjectPart,
    ObjectSummary, ObjectWrite, Tags, WriteCondition, bucket_range, key_successor,
};
use miniaws_core::{CoreError, Resource};
use miniaws_db::Database;
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;

fn t(offset_secs: i64) -> OffsetDateTime {
    common::at(offset_secs)
}

fn object(bucket: &BucketName, key: &str, at: i64) -> ObjectMeta {
    let mut user_metadata = BTreeMap::new();
    user_metadata.insert("color".into(), "blü".into());
    let mut headers = BTreeMap::new();
    headers.insert("cache-control".into(), "no-cache".into());
    ObjectMeta {
        size_bytes: 5_000_000_000,
        etag: ETag::from_stored("0123456789abcdef0123456789abcdef-3"),
        content_type: "text/plain; charset=utf-8".into(),
        user_metadata,
        headers,
        last_modified: t(at),
        ..common::object_meta(bucket, key)
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    Tags::new(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
    .expect("valid tags")
}

/// [`object`] with its own ETag.
fn tagged(bucket: &BucketName, key: &str, at: i64, etag: &str) -> ObjectMeta {
    ObjectMeta {
        etag: ETag::from_stored(etag),
        versioned: false,
        in_versioned_bucket: false,
        lock: Default::default(),
        ..object(bucket, key, at)
    }
}

/// An unconditional write by `owner`.
fn write(owner: UserId, meta: ObjectMeta) -> ObjectWrite {
    ObjectWrite {
        owner,
        meta,
        condition: WriteCondition::Always,
    }
}

fn is_precondition_failed<T: std::fmt::Debug>(r: &Result<T, CoreError>) -> bool {
    matches!(r, Err(CoreError::PreconditionFailed(_)))
}

fn is_not_found<T: std::fmt::Debug>(r: &Result<T, CoreError>, what: Resource) -> bool {
    matches!(r, Err(CoreError::NotFound { resource, .. }) if *resource == what)
}

/// Every bucket name.
fn everything() -> NameRange {
    bucket_range("", None).expect("a range")
}

/// Bucket names of `owner` under `prefix`, read `limit` at a time, each page
/// starting after the last name of the one before.
async fn walk_buckets(r: &Repos, owner: UserId, prefix: &str, limit: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    loop {
        let Some(range) = bucket_range(prefix, out.last().map(String::as_str)) else {
            return out;
        };
        let page = r.storage.list_buckets(owner, &range, limit).await.unwrap();
        assert!(
            page.len() <= limit as usize,
            "a page holds at most the limit"
        );
        assert!(page.iter().all(|b| b.owner == owner), "owner-scoped");
        let done = page.len() < limit as usize;
        out.extend(page.into_iter().map(|b| b.name.to_string()));
        if done {
            return out;
        }
    }
}

fn range(start: &[u8], end: Option<&[u8]>) -> KeyRange {
    KeyRange {
        start: start.to_vec(),
        end: end.map(<[u8]>::to_vec),
    }
}

type Case = (
    &'static str,
    fn(Repos) -> futures::future::BoxFuture<'static, ()>,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "lookup_object: the bucket's lookup and the key's current version in one",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "joined").await;
                    let other = r.bucket(alice, "joined-other").await;
                    let o = object(&b, "k", 3);
                    r.storage.put_object(alice, &o).await.unwrap();
                    // The same key in another bucket is not this one's.
                    r.storage
                        .put_object(alice, &object(&other, "only-there", 4))
                        .await
                        .unwrap();
                    let lookup = r.storage.lookup_bucket(&b).await.unwrap().unwrap();
                    for (key, expected) in [
                        ("k", Some(o.clone())),
                        ("missing", None),
                        ("only-there", None),
                    ] {
                        let key = ObjectKey::parse(key).unwrap();
                        let (found, meta) =
                            r.storage.lookup_object(&b, &key).await.unwrap().unwrap();
                        assert_eq!(
                            found, lookup,
                            "{key:?}: the bucket as lookup_bucket reads it"
                        );
                        assert_eq!(meta, expected, "{key:?}: as get_object reads it");
                        assert_eq!(meta, r.storage.get_object(&b, &key).await.unwrap());
                    }
                    // Deleted: gone from the join too.
                    r.storage.delete_object(&b, &o.key).await.unwrap();
                    let (_, meta) = r.storage.lookup_object(&b, &o.key).await.unwrap().unwrap();
                    assert_eq!(meta, None, "a deleted key is not joined");
                    let missing = BucketName::parse("joined-missing").unwrap();
                    assert!(
                        r.storage
                            .lookup_object(&missing, &o.key)
                            .await
                            .unwrap()
                            .is_none(),
                        "no bucket, no lookup"
                    );
                })
            },
        ),
        (
            "tags: stored in order with the object, listed, replaced by a rewrite",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "tags").await;
                    let mut o = object(&b, "k", 3);
                    o.tags = tags(&[("z", "last ü"), ("a", ""), ("m", "x=y/z@w")]);
                    r.storage.put_object(alice, &o).await.unwrap();
                    let got = r.storage.get_object(&b, &o.key).await.unwrap().unwrap();
                    assert_eq!(got, o, "the object reads back with its tags, in order");
                    let listed = r
                        .storage
                        .list_objects(&b, &range(b"", None), 10)
                        .await
                        .unwrap();
                    assert_eq!(
                        listed,
                        vec![ObjectSummary::from(o.clone())],
                        "a listing carries the tags"
                    );
                    // A conditional rewrite and an unconditional one carry their own.
                    let mut o2 = tagged(&b, "k", 4, "e2");
                    o2.tags = tags(&[("v", "2")]);
                    r.storage
                        .put_object_if(alice, &o2, &WriteCondition::ETagIs(o.etag.clone()))
                        .await
                        .unwrap();
                    let got = r.storage.get_object(&b, &o.key).await.unwrap().unwrap();
                    assert_eq!(got.tags, o2.tags);
                    let o3 = object(&b, "k", 5);
                    r.storage.put_object(alice, &o3).await.unwrap();
                    let got = r.storage.get_object(&b, &o.key).await.unwrap().unwrap();
                    assert!(got.tags.is_empty(), "a write without tags has none");
                })
            },
        ),
        (
            "tags: set_object_tags changes only the tags of the current version",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let bob = r.user("bob").await;
                    let b = r.bucket(alice, "tagset").await;
                    let o = object(&b, "k\0ü", 3);
                    r.storage.put_object(alice, &o).await.unwrap();
                    let t = tags(&[("b", "2"), ("a", "1")]);
                    let id = r
                        .storage
                        .set_object_tags(alice, &b, &o.key, &t)
                        .await
                        .unwrap();
                    assert_eq!(
                        id,
                        Some((o.id, false)),
                        "the current version is the one tagged"
                    );
                    let got = r.storage.get_object(&b, &o.key).await.unwrap().unwrap();
                    assert_eq!(
                        got,
                        ObjectMeta {
                            tags: t.clone(),
                            versioned: false,
                            in_versioned_bucket: false,
                            lock: Default::default(),
                            ..o.clone()
                        },
                        "id, blob, ETag and last-modified time are unchanged"
                    );
                    // Another owner, a missing key, a missing bucket: nothing.
                    let other = tags(&[("x", "y")]);
                    let missing = ObjectKey::parse("nope").unwrap();
                    let nobucket = BucketName::parse("no-such-bucket").unwrap();
                    for (what, owner, bucket, key) in [
                        ("another owner", bob, &b, &o.key),
                        ("a missing key", alice, &b, &missing),
                        ("a missing bucket", alice, &nobucket, &o.key),
                    ] {
                        assert_eq!(
                            r.storage
                                .set_object_tags(owner, bucket, key, &other)
                                .await
                                .unwrap(),
                            None,
                            "{what}"
                        );
                    }
                    let got = r.storage.get_object(&b, &o.key).await.unwrap().unwrap();
                    assert_eq!(got.tags, t, "refused updates change nothing");
                    assert!(
                        r.storage.get_object(&b, &missing).await.unwrap().is_none(),
                        "tagging a missing key creates nothing"
                    );
                    // An empty set removes the tags.
                    r.storage
                        .set_object_tags(alice, &b, &o.key, &Tags::default())
                        .await
                        .unwrap();
                    let got = r.storage.get_object(&b, &o.key).await.unwrap().unwrap();
                    assert!(got.tags.is_empty());
                })
            },
        ),
        (
            "tags: a tagging update racing a write of the key tags the version it found",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "tagrace").await;
                    let first = object(&b, "k", 3);
                    r.storage.put_object(alice, &first).await.unwrap();
                    let set = tags(&[("set", "by-tagging")]);
                    for round in 0..20 {
                        let mut write = tagged(&b, "k", 10 + round, &format!("e{round}"));
                        write.tags = tags(&[("set", "by-write")]);
                        let (s1, s2) = (r.storage.clone(), r.storage.clone());
                        let (w, key, bucket, set2) =
                            (write.clone(), write.key.clone(), b.clone(), set.clone());
                        let put = tokio::spawn(async move { s1.put_object(alice, &w).await });
                        let tag = tokio::spawn(async move {
                            s2.set_object_tags(alice, &bucket, &key, &set2).await
                        });
                        put.await.unwrap().expect("the write commits");
                        let tagged_id = tag.await.unwrap().expect("the update runs");
                        let now = r.storage.get_object(&b, &write.key).await.unwrap().unwrap();
                        assert_eq!(now.id, write.id, "round {round}: the write is current");
                        if tagged_id.map(|(id, _)| id) == Some(write.id) {
                            assert_eq!(now.tags, set, "round {round}: tagged after the write");
                        } else {
                            assert_eq!(
                                now.tags, write.tags,
                                "round {round}: the write came after the tagging, with its own tags"
                            );
                        }
                    }
                })
            },
        ),
        (
            "listing: what a listing shows, the storage class from the stored headers",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "summaries").await;
                    // No class; a class among other headers; headers that
                    // only mention the class's name; metadata and tags.
                    let plain = object(&b, "a", 3);
                    let mut classed = object(&b, "b", 4);
                    classed
                        .headers
                        .insert("x-amz-storage-class".into(), "STANDARD_IA".into());
                    let mut mention = object(&b, "c", 5);
                    mention
                        .headers
                        .insert("content-disposition".into(), "x-amz-storage-class".into());
                    let mut rich = tagged(&b, "d", 6, "\"legacy\"");
                    rich.user_metadata
                        .insert("quote".into(), "a\"b\\c\u{1}".into());
                    rich.tags = tags(&[("t", "v")]);
                    rich.content_type = "multipart/mixed; boundary=\"x\"".into();
                    let all = [plain, classed, mention, rich];
                    for o in &all {
                        r.storage.put_object(alice, o).await.unwrap();
                    }
                    let listed = r
                        .storage
                        .list_objects(&b, &range(b"", None), 10)
                        .await
                        .unwrap();
                    let want: Vec<ObjectSummary> =
                        all.iter().cloned().map(ObjectSummary::from).collect();
                    assert_eq!(listed, want);
                    assert_eq!(listed[1].storage_class.as_deref(), Some("STANDARD_IA"));
                    assert_eq!(listed[2].storage_class, None, "a mention is no class");
                    assert_eq!(listed[3].etag.as_str(), "legacy");
                })
            },
        ),
        (
            "objects: a multipart object's parts round-trip, a rewrite replaces them",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "parts").await;
                    let mut o = object(&b, "mp", 3);
                    o.parts = vec![
                        ObjectPart {
                            size_bytes: 5 << 20,
                            checksum: Some("DUoRhQ==".into()),
                        },
                        ObjectPart {
                            size_bytes: 7,
                            checksum: None,
                        },
                    ];
                    r.storage.put_object(alice, &o).await.unwrap();
                    let got = r.storage.get_object(&b, &o.key).await.unwrap();
                    assert_eq!(got.as_ref(), Some(&o), "parts read back");
                    let listed = r
                        .storage
                        .list_objects(&b, &range(b"", None), 10)
                        .await
                        .unwrap();
                    assert_eq!(
                        listed,
                        vec![ObjectSummary::from(o.clone())],
                        "a multipart object is listed (without its parts)"
                    );
                    // Replaced by an object written in one piece: no parts.
                    let one = object(&b, "mp", 4);
                    assert_eq!(
                        r.storage.put_object(alice, &one).await.unwrap(),
                        Some(o.blob_id)
                    );
                    let got = r.storage.get_object(&b, &o.key).await.unwrap();
                    assert_eq!(got.map(|m| m.parts), Some(Vec::new()));
                    // And back: a batch commit keeps them as well.
                    let mut again = object(&b, "mp", 5);
                    again.parts = o.parts.clone();
                    let results = r.storage.put_objects(&[write(alice, again.clone())]).await;
                    assert_eq!(results.len(), 1);
                    assert_eq!(
                        r.storage.get_object(&b, &o.key).await.unwrap(),
                        Some(again.clone())
                    );
                    // A conditional write (the update-if-match statement)
                    // replaces them too, and one creating a key sets them.
                    let mut swapped = object(&b, "mp", 6);
                    swapped.parts = vec![ObjectPart {
                        size_bytes: 1,
                        checksum: None,
                    }];
                    r.storage
                        .put_object_if(alice, &swapped, &WriteCondition::Exists)
                        .await
                        .unwrap();
                    assert_eq!(
                        r.storage.get_object(&b, &o.key).await.unwrap(),
                        Some(swapped.clone())
                    );
                    let mut fresh = object(&b, "mp-new", 6);
                    fresh.parts = swapped.parts.clone();
                    r.storage
                        .put_object_if(alice, &fresh, &WriteCondition::Absent)
                        .await
                        .unwrap();
                    assert_eq!(
                        r.storage.get_object(&b, &fresh.key).await.unwrap(),
                        Some(fresh)
                    );
                })
            },
        ),
        (
            "buckets page in byte order of names from a position, under a prefix, owner-scoped",
            |r| {
                Box::pin(async move {
                    let (alice, bob) = (r.user("alice").await, r.user("bob").await);
                    // '-' < '.' < digits < letters in bytes; a locale's
                    // collation would order these otherwise.
                    let mut mine = Vec::new();
                    for stem in ["a-b", "a.b", "a0b", "ab", "b-1", "b.1", "b1", "ba", "z"] {
                        for n in 0..3 {
                            let name = format!("{stem}{n}x");
                            r.bucket(alice, &name).await;
                            r.bucket(bob, &format!("{stem}{n}y")).await;
                            mine.push(name);
                        }
                    }
                    mine.sort();
                    for limit in [1, 4, 7, 27, 28] {
                        assert_eq!(
                            walk_buckets(&r, alice, "", limit).await,
                            mine,
                            "limit {limit}"
                        );
                    }
                    let under_b: Vec<String> = mine
                        .iter()
                        .filter(|n| n.starts_with('b'))
                        .cloned()
                        .collect();
                    assert_eq!(walk_buckets(&r, alice, "b", 2).await, under_b);
                    assert_eq!(
                        walk_buckets(&r, alice, "a.", 100).await,
                        ["a.b0x", "a.b1x", "a.b2x"]
                    );
                    assert!(walk_buckets(&r, alice, "q", 5).await.is_empty());
                    // Bob's name as the position: alice's buckets after it.
                    let after_bobs = bucket_range("", Some("b.11y")).unwrap();
                    let got: Vec<String> = r
                        .storage
                        .list_buckets(alice, &after_bobs, 100)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|b| b.name.to_string())
                        .collect();
                    let want: Vec<String> = mine
                        .iter()
                        .filter(|n| n.as_str() > "b.11y")
                        .cloned()
                        .collect();
                    assert_eq!(got, want);
                    assert!(
                        r.storage
                            .list_buckets(UserId::new(), &everything(), 100)
                            .await
                            .unwrap()
                            .is_empty()
                    );
                })
            },
        ),
        (
            "buckets: create, get, list by owner in name order, names are global",
            |r| {
                Box::pin(async move {
                    let (alice, bob) = (r.user("alice").await, r.user("bob").await);
                    let zeta = r.bucket(alice, "zeta").await;
                    r.bucket(alice, "alpha").await;
                    r.bucket(bob, "bobs").await;
                    let got = r.storage.get_bucket(&zeta).await.unwrap().expect("found");
                    assert_eq!((got.owner, got.created_at), (alice, t(1)));
                    let names: Vec<String> = r
                        .storage
                        .list_buckets(alice, &everything(), 100)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|b| b.name.to_string())
                        .collect();
                    assert_eq!(names, ["alpha", "zeta"]);
                    let dup = Bucket {
                        name: zeta.clone(),
                        owner: bob,
                        created_at: t(2),
                    };
                    let err = r
                        .storage
                        .create_bucket(&dup, &Tags::default(), None)
                        .await
                        .unwrap_err();
                    assert!(
                        matches!(
                            err,
                            CoreError::Conflict {
                                kind: ConflictKind::AlreadyExists,
                                ..
                            }
                        ),
                        "{err:?}"
                    );
                    let missing = BucketName::parse("missing").unwrap();
                    assert!(r.storage.get_bucket(&missing).await.unwrap().is_none());
                })
            },
        ),
        ("buckets: delete only the owner's, only when empty", |r| {
            Box::pin(async move {
                let (alice, bob) = (r.user("alice").await, r.user("bob").await);
                let b = r.bucket(alice, "full").await;
                let err = r.storage.delete_bucket(bob, &b).await.unwrap_err();
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
                let o = object(&b, "k", 2);
                r.storage.put_object(alice, &o).await.unwrap();
                let err = r.storage.delete_bucket(alice, &b).await.unwrap_err();
                assert!(
                    matches!(
                        err,
                        CoreError::Conflict {
                            kind: ConflictKind::BucketNotEmpty,
                            ..
                        }
                    ),
                    "{err:?}"
                );
                r.storage.delete_object(&b, &o.key).await.unwrap();
                r.storage.delete_bucket(alice, &b).await.expect("deleted");
                assert!(r.storage.get_bucket(&b).await.unwrap().is_none());
                let err = r.storage.delete_bucket(alice, &b).await.unwrap_err();
                assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
            })
        }),
        (
            "objects: every field round-trips, hostile keys included",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "data").await;
                    let long = "k".repeat(1024);
                    let long_unicode = "é".repeat(512);
                    for key in [
                        "../../etc/passwd",
                        "a/../../b",
                        "nul\0byte",
                        "日本/😀",
                        "%00%2F",
                        long.as_str(),
                        long_unicode.as_str(),
                    ] {
                        let o = object(&b, key, 3);
                        assert_eq!(
                            r.storage.put_object(alice, &o).await.unwrap(),
                            None,
                            "key {key:?}"
                        );
                        let got = r.storage.get_object(&b, &o.key).await.unwrap();
                        assert_eq!(got.as_ref(), Some(&o), "key {key:?}");
                    }
                    let absent = ObjectKey::parse("nul").unwrap();
                    assert!(
                        r.storage.get_object(&b, &absent).await.unwrap().is_none(),
                        "NUL is not a terminator"
                    );
                })
            },
        ),
        (
            "objects: a put replaces and returns the old blob; delete returns the blob",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "data").await;
                    let first = object(&b, "k", 2);
                    let second = object(&b, "k", 3);
                    assert_eq!(r.storage.put_object(alice, &first).await.unwrap(), None);
                    assert_eq!(
                        r.storage.put_object(alice, &second).await.unwrap(),
                        Some(first.blob_id)
                    );
                    assert_eq!(
                        r.storage.get_object(&b, &first.key).await.unwrap(),
                        Some(second.clone())
                    );
                    assert_eq!(
                        r.storage.delete_object(&b, &first.key).await.unwrap(),
                        Some(second.blob_id)
                    );
                    assert_eq!(r.storage.delete_object(&b, &first.key).await.unwrap(), None);
                    assert!(
                        r.storage
                            .get_object(&b, &first.key)
                            .await
                            .unwrap()
                            .is_none()
                    );
                    // Writable again at once.
                    let third = object(&b, "k", 4);
                    assert_eq!(r.storage.put_object(alice, &third).await.unwrap(), None);
                })
            },
        ),
        (
            "objects: a put into someone else's (or no) bucket writes nothing",
            |r| {
                Box::pin(async move {
                    let (alice, bob) = (r.user("alice").await, r.user("bob").await);
                    let b = r.bucket(alice, "alices").await;
                    let o = object(&b, "k", 2);
                    let err = r.storage.put_object(bob, &o).await.unwrap_err();
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
                    let nowhere = object(&BucketName::parse("nowhere").unwrap(), "k", 2);
                    let err = r.storage.put_object(alice, &nowhere).await.unwrap_err();
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
                    assert!(r.storage.get_object(&b, &o.key).await.unwrap().is_none());
                    let referenced = common::referenced_blobs(&*r.storage, 1000).await;
                    assert!(
                        !referenced.contains(&o.blob_id) && !referenced.contains(&nowhere.blob_id)
                    );
                })
            },
        ),
        (
            "listing: byte order within a range, with a limit, per bucket",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "list").await;
                    let other = r.bucket(alice, "other").await;
                    let keys = [
                        "a", "a\0", "a/1", "a/2", "aZ", "a\u{7f}", "aé", "a😀", "b", "Z",
                    ];
                    for k in keys {
                        r.storage
                            .put_object(alice, &object(&b, k, 2))
                            .await
                            .unwrap();
                    }
                    r.storage
                        .put_object(alice, &object(&other, "a/0", 2))
                        .await
                        .unwrap();
                    let list = |range: KeyRange, limit: u32| {
                        let r = r.clone();
                        let b = b.clone();
                        async move {
                            r.storage
                                .list_objects(&b, &range, limit)
                                .await
                                .unwrap()
                                .into_iter()
                                .map(|o| o.key.to_string())
                                .collect::<Vec<_>>()
                        }
                    };
                    let mut sorted: Vec<&str> = keys.to_vec();
                    sorted.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
                    assert_eq!(list(range(b"", None), 100).await, sorted);
                    assert_eq!(list(range(b"", None), 3).await, sorted[..3]);
                    let prefix_end = key_successor(b"a").unwrap();
                    assert_eq!(
                        list(range(b"a", Some(&prefix_end)), 100).await,
                        ["a", "a\0", "a/1", "a/2", "aZ", "a\u{7f}", "aé", "a😀"]
                    );
                    // A bound that is not UTF-8 (the successor of "a\u{7f}" is "a\x80").
                    let succ = key_successor("a\u{7f}".as_bytes()).unwrap();
                    assert_eq!(
                        list(range(&succ, Some(&prefix_end)), 100).await,
                        ["aé", "a😀"]
                    );
                    assert_eq!(
                        list(range(b"a/", key_successor(b"a/").as_deref()), 1).await,
                        ["a/1"]
                    );
                    assert!(list(range(b"c", None), 10).await.is_empty());
                })
            },
        ),
        (
            "group commit: items apply in order, fail alone, and hand back replaced blobs",
            |r| {
                Box::pin(async move {
                    let (alice, bob) = (r.user("alice").await, r.user("bob").await);
                    let grp = r.bucket(alice, "grp").await;
                    let bobs = r.bucket(bob, "bobs").await;
                    let missing = BucketName::parse("missing").unwrap();
                    let before = object(&grp, "k0", 1);
                    r.storage.put_object(alice, &before).await.unwrap();
                    let items = vec![
                        write(alice, object(&grp, "k0", 2)),
                        write(alice, object(&grp, "k1", 3)),
                        write(alice, object(&grp, "k1", 4)),
                        write(alice, object(&bobs, "theirs", 5)),
                        write(alice, object(&missing, "nowhere", 6)),
                        write(bob, object(&bobs, "mine", 7)),
                    ];
                    let results = r.storage.put_objects(&items).await;
                    assert_eq!(results.len(), items.len());
                    assert_eq!(results[0].as_ref().unwrap(), &Some(before.blob_id));
                    assert_eq!(results[1].as_ref().unwrap(), &None);
                    assert_eq!(
                        results[2].as_ref().unwrap(),
                        &Some(items[1].meta.blob_id),
                        "the later write to k1 wins and gets the earlier's blob"
                    );
                    for i in [3, 4] {
                        assert!(
                            matches!(
                                results[i],
                                Err(CoreError::NotFound {
                                    resource: Resource::Bucket,
                                    ..
                                })
                            ),
                            "item {i}: {:?}",
                            results[i]
                        );
                    }
                    assert_eq!(results[5].as_ref().unwrap(), &None);
                    let get = |b: BucketName, k: &'static str| {
                        let storage = r.storage.clone();
                        async move {
                            storage
                                .get_object(&b, &ObjectKey::parse(k).unwrap())
                                .await
                                .unwrap()
                                .map(|o| o.blob_id)
                        }
                    };
                    assert_eq!(get(grp.clone(), "k0").await, Some(items[0].meta.blob_id));
                    assert_eq!(get(grp.clone(), "k1").await, Some(items[2].meta.blob_id));
                    assert_eq!(get(bobs.clone(), "theirs").await, None);
                    assert_eq!(get(bobs.clone(), "mine").await, Some(items[5].meta.blob_id));
                    assert!(r.storage.put_objects(&[]).await.is_empty());
                })
            },
        ),
        (
            "conditional writes: checked with the write, nothing written when refused",
            |r| {
                Box::pin(async move {
                    let (alice, bob) = (r.user("alice").await, r.user("bob").await);
                    let b = r.bucket(alice, "cond").await;
                    let bobs = r.bucket(bob, "bobs").await;
                    let key = ObjectKey::parse("k").unwrap();
                    let current = || {
                        let (storage, b, key) = (r.storage.clone(), b.clone(), key.clone());
                        async move { storage.get_object(&b, &key).await.unwrap() }
                    };
                    let etag = |v: &str| WriteCondition::ETagIs(ETag::from_stored(v));

                    let missing = r
                        .storage
                        .put_object_if(alice, &tagged(&b, "k", 1, "e1"), &WriteCondition::Exists)
                        .await;
                    assert!(is_not_found(&missing, Resource::Object), "{missing:?}");
                    let stale = r
                        .storage
                        .put_object_if(alice, &tagged(&b, "k", 1, "e1"), &etag("e0"))
                        .await;
                    assert!(is_not_found(&stale, Resource::Object), "{stale:?}");
                    assert_eq!(current().await, None, "a refused write writes nothing");

                    let first = tagged(&b, "k", 1, "e1");
                    let created = r
                        .storage
                        .put_object_if(alice, &first, &WriteCondition::Absent)
                        .await;
                    assert_eq!(created.unwrap(), None);
                    let again = r
                        .storage
                        .put_object_if(alice, &tagged(&b, "k", 2, "e2"), &WriteCondition::Absent)
                        .await;
                    assert!(is_precondition_failed(&again), "{again:?}");
                    let wrong = r
                        .storage
                        .put_object_if(alice, &tagged(&b, "k", 2, "e2"), &etag("nope"))
                        .await;
                    assert!(is_precondition_failed(&wrong), "{wrong:?}");
                    assert_eq!(current().await.unwrap().blob_id, first.blob_id);

                    let second = tagged(&b, "k", 2, "e2");
                    let swapped = r.storage.put_object_if(alice, &second, &etag("e1")).await;
                    assert_eq!(swapped.unwrap(), Some(first.blob_id));
                    let third = tagged(&b, "k", 3, "e3");
                    let any = r
                        .storage
                        .put_object_if(alice, &third, &WriteCondition::Exists)
                        .await;
                    assert_eq!(any.unwrap(), Some(second.blob_id));
                    let got = current().await.unwrap();
                    assert_eq!((got.blob_id, got.etag.as_str()), (third.blob_id, "e3"));

                    // Someone else's bucket: the bucket, whatever the condition.
                    for condition in [WriteCondition::Absent, WriteCondition::Exists, etag("e3")] {
                        let theirs = r
                            .storage
                            .put_object_if(alice, &tagged(&bobs, "k", 4, "x"), &condition)
                            .await;
                        assert!(is_not_found(&theirs, Resource::Bucket), "{theirs:?}");
                    }

                    // In a group commit, each condition sees the items before it.
                    let n1 = tagged(&b, "n", 5, "n1");
                    let n2 = tagged(&b, "n", 6, "n2");
                    let items = vec![
                        ObjectWrite {
                            owner: alice,
                            meta: n1.clone(),
                            condition: WriteCondition::Absent,
                        },
                        ObjectWrite {
                            owner: alice,
                            meta: tagged(&b, "n", 7, "x"),
                            condition: WriteCondition::Absent,
                        },
                        ObjectWrite {
                            owner: alice,
                            meta: n2.clone(),
                            condition: etag("n1"),
                        },
                        ObjectWrite {
                            owner: alice,
                            meta: tagged(&b, "n", 8, "y"),
                            condition: etag("n1"),
                        },
                        write(alice, tagged(&b, "m", 9, "m1")),
                    ];
                    let results = r.storage.put_objects(&items).await;
                    assert_eq!(results.len(), 5);
                    assert_eq!(results[0].as_ref().unwrap(), &None);
                    assert!(is_precondition_failed(&results[1]), "{:?}", results[1]);
                    assert_eq!(results[2].as_ref().unwrap(), &Some(n1.blob_id));
                    assert!(is_precondition_failed(&results[3]), "{:?}", results[3]);
                    assert_eq!(results[4].as_ref().unwrap(), &None);
                    let n = r
                        .storage
                        .get_object(&b, &ObjectKey::parse("n").unwrap())
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(n.blob_id, n2.blob_id);
                })
            },
        ),
        (
            "racing conditional writers: one create and one compare-and-swap win",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "racecond").await;
                    let base = tagged(&b, "cas", 0, "base");
                    r.storage.put_object(alice, &base).await.unwrap();
                    let mut tasks = Vec::new();
                    for i in 0..16 {
                        let storage = r.storage.clone();
                        let create = tagged(&b, "new", i, &format!("c{i}"));
                        let swap = tagged(&b, "cas", i, &format!("s{i}"));
                        tasks.push(tokio::spawn(async move {
                            let created = storage
                                .put_object_if(alice, &create, &WriteCondition::Absent)
                                .await;
                            let swapped = storage
                                .put_object_if(
                                    alice,
                                    &swap,
                                    &WriteCondition::ETagIs(ETag::from_stored("base")),
                                )
                                .await;
                            (created, swapped)
                        }));
                    }
                    let (mut created, mut swapped) = (0, Vec::new());
                    for t in tasks {
                        let (c, s) = t.await.unwrap();
                        match c {
                            Ok(None) => created += 1,
                            other => assert!(is_precondition_failed(&other), "{other:?}"),
                        }
                        match s {
                            Ok(replaced) => swapped.push(replaced),
                            other => assert!(is_precondition_failed(&other), "{other:?}"),
                        }
                    }
                    assert_eq!(
                        created, 1,
                        "exactly one If-None-Match: * writer creates the key"
                    );
                    assert_eq!(
                        swapped,
                        [Some(base.blob_id)],
                        "exactly one If-Match writer replaces the version it saw"
                    );
                })
            },
        ),
        (
            "concurrent group commits and single puts: each replaced blob is returned once",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "race").await;
                    // Four batches of five and ten single writes, all to one
                    // key except one other key per batch, at once.
                    let batches: Vec<Vec<ObjectWrite>> = (0..4)
                        .map(|t| {
                            (0..5)
                                .map(|i| {
                                    let key = if i == 2 {
                                        format!("other{t}")
                                    } else {
                                        "k".into()
                                    };
                                    write(alice, object(&b, &key, t * 10 + i))
                                })
                                .collect()
                        })
                        .collect();
                    let singles: Vec<ObjectMeta> =
                        (0..10).map(|i| object(&b, "k", 100 + i)).collect();
                    let mut tasks = Vec::new();
                    for batch in batches.clone() {
                        let storage = r.storage.clone();
                        tasks.push(tokio::spawn(async move {
                            storage
                                .put_objects(&batch)
                                .await
                                .into_iter()
                                .map(|r| r.expect("every write commits"))
                                .collect::<Vec<_>>()
                        }));
                    }
                    for o in singles.clone() {
                        let storage = r.storage.clone();
                        tasks.push(tokio::spawn(async move {
                            vec![
                                storage
                                    .put_object(alice, &o)
                                    .await
                                    .expect("every write commits"),
                            ]
                        }));
                    }
                    let mut replaced = Vec::new();
                    for t in tasks {
                        replaced.extend(t.await.unwrap().into_iter().flatten());
                    }
                    let key = ObjectKey::parse("k").unwrap();
                    let last = r
                        .storage
                        .get_object(&b, &key)
                        .await
                        .unwrap()
                        .expect("a winner");
                    let mut expected: HashSet<BlobId> = batches
                        .iter()
                        .flatten()
                        .map(|w| &w.meta)
                        .chain(&singles)
                        .filter(|o| o.key == key)
                        .map(|o| o.blob_id)
                        .collect();
                    assert!(expected.remove(&last.blob_id));
                    let replaced_set: HashSet<BlobId> = replaced.iter().copied().collect();
                    assert_eq!(replaced.len(), replaced_set.len(), "no blob returned twice");
                    assert_eq!(replaced_set, expected, "every loser's blob returned");
                })
            },
        ),
        (
            "concurrent puts to one key: each replaced blob is returned exactly once",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "race").await;
                    let writes: Vec<ObjectMeta> = (0..20).map(|i| object(&b, "k", i)).collect();
                    let tasks: Vec<_> = writes
                        .iter()
                        .cloned()
                        .map(|o| {
                            let storage = r.storage.clone();
                            tokio::spawn(async move { storage.put_object(alice, &o).await })
                        })
                        .collect();
                    let mut replaced = Vec::new();
                    for t in tasks {
                        if let Some(old) = t.await.unwrap().expect("every put commits") {
                            replaced.push(old);
                        }
                    }
                    let last = r
                        .storage
                        .get_object(&b, &writes[0].key)
                        .await
                        .unwrap()
                        .expect("a winner");
                    let all: HashSet<BlobId> = writes.iter().map(|o| o.blob_id).collect();
                    let mut expected: HashSet<BlobId> = all.clone();
                    expected.remove(&last.blob_id);
                    let replaced_set: HashSet<BlobId> = replaced.iter().copied().collect();
                    assert_eq!(replaced.len(), 19, "no blob returned twice");
                    assert_eq!(replaced_set, expected);
                })
            },
        ),
        (
            "object_blobs_after pages every object in blob-id order",
            |r| {
                Box::pin(async move {
                    let alice = r.user("alice").await;
                    let b = r.bucket(alice, "pages").await;
                    let mut written = Vec::new();
                    for (i, key) in ["a", "b/ü", "c", "d", "e"].iter().enumerate() {
                        let o = object(&b, key, i as i64);
                        r.storage.put_object(alice, &o).await.unwrap();
                        written.push((o.blob_id, key.to_string()));
                    }
                    written.sort_by_key(|(blob, _)| blob.as_uuid());
                    let mut seen = Vec::new();
                    let mut after = None;
                    loop {
                        let page = r.storage.object_blobs_after(after, 2).await.unwrap();
                        assert!(page.len() <= 2);
                        let Some(last) = page.last() else { break };
                        after = Some(*last);
                        seen.extend(page);
                    }
                    assert_eq!(
                        seen,
                        written.iter().map(|(blob, _)| *blob).collect::<Vec<_>>()
                    );
                    // The names of a few of them, for the sweep's warning.
                    let mut named = r
                        .storage
                        .objects_of_blobs(&[written[1].0, BlobId::new(), written[3].0])
                        .await
                        .unwrap();
                    named.sort_by_key(|(blob, _, _)| blob.as_uuid());
                    assert_eq!(
                        named,
                        [&written[1], &written[3]].map(|(blob, key)| (
                            *blob,
                            "pages".to_owned(),
                            key.clone()
                        ))
                    );
                    assert!(r.storage.objects_of_blobs(&[]).await.unwrap().is_empty());
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
async fn storage_contract_on_sqlite() {
    run_all(async || Some(common::sqlite(true).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_contract_on_postgres() {
    run_all(async || common::postgres(true).await).await;
}

/// The plan of the prefix-listing query, with enough rows that a planner
/// would rather scan the table if no index served the query.
async fn listing_plan(db: &Database) -> String {
    match db {
        Database::Postgres(pool, _) => {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            let rows: Vec<String> = sqlx::query_scalar(
                "EXPLAIN SELECT id FROM objects WHERE bucket = $1 AND key >= $2 AND key < $3
                 AND blob_id IS NOT NULL ORDER BY key LIMIT 1000",
            )
            .bind("b")
            .bind(b"a/".as_slice())
            .bind(b"a0".as_slice())
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            rows.join("\n")
        }
        Database::Sqlite(pool, _) => {
            let rows = sqlx::query(
                "EXPLAIN QUERY PLAN SELECT id FROM objects WHERE bucket = ? AND key >= ? AND key < ?
                 AND blob_id IS NOT NULL ORDER BY key LIMIT 1000",
            )
            .bind("b")
            .bind(b"a/".as_slice())
            .bind(b"a0".as_slice())
            .fetch_all(pool)
            .await
            .unwrap();
            rows.iter()
                .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

#[tokio::test]
async fn prefix_listing_is_an_index_range_scan_on_sqlite() {
    let fresh = common::sqlite(true).await;
    let plan = listing_plan(&fresh.db).await;
    assert!(
        plan.contains("USING INDEX")
            && plan.contains("key>? AND key<?")
            && !plan.contains("TEMP B-TREE"),
        "plan: {plan}"
    );
}

#[tokio::test]
async fn prefix_listing_is_an_index_range_scan_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let plan = listing_plan(&fresh.db).await;
    assert!(
        plan.contains("Index Scan using objects_bucket_key_key")
            && plan.contains("key >=")
            && !plan.contains("Sort"),
        "plan: {plan}"
    );
}

/// The plans of the bucket and key page queries (as the adapters send
/// them), with the planner told to avoid sequential scans so that only an
/// index that serves the query gives a plan without a scan and a sort.
async fn page_plans(db: &Database) -> (String, String) {
    let owner = UserId::new();
    match db {
        Database::Postgres(pool, _) => {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            let buckets: Vec<String> = sqlx::query_scalar(
                "EXPLAIN SELECT name, owner_id, created_at FROM buckets
                 WHERE owner_id = $1 AND name COLLATE \"C\" >= $2 AND name COLLATE \"C\" < $4
                 ORDER BY name COLLATE \"C\" LIMIT $3",
            )
            .bind(owner.as_uuid())
            .bind("abc\u{1}")
            .bind(8_i64)
            .bind("b")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            let keys: Vec<String> = sqlx::query_scalar(
                "EXPLAIN SELECT id FROM api_keys
                 WHERE user_id = $1 AND (created_at, id) > ($2, $3)
                 ORDER BY created_at, id LIMIT $4",
            )
            .bind(owner.as_uuid())
            .bind(t(0))
            .bind(uuid::Uuid::nil())
            .bind(8_i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            (buckets.join("\n"), keys.join("\n"))
        }
        Database::Sqlite(pool, _) => {
            let detail = |rows: Vec<sqlx::sqlite::SqliteRow>| {
                rows.iter()
                    .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let buckets = sqlx::query(
                "EXPLAIN QUERY PLAN SELECT name, owner_id, created_at FROM buckets
                 WHERE owner_id = ?1 AND name >= ?2 AND name < ?4 ORDER BY name LIMIT ?3",
            )
            .bind(owner.to_string())
            .bind("abc\u{1}")
            .bind(8_i64)
            .bind("b")
            .fetch_all(pool)
            .await
            .unwrap();
            let keys = sqlx::query(
                "EXPLAIN QUERY PLAN SELECT id FROM api_keys
                 WHERE user_id = ?1 AND (created_at, id) > (?2, ?3)
                 ORDER BY created_at, id LIMIT ?4",
            )
            .bind(owner.to_string())
            .bind("2026-01-01T00:00:00.000000Z")
            .bind(uuid::Uuid::nil().to_string())
            .bind(8_i64)
            .fetch_all(pool)
            .await
            .unwrap();
            (detail(buckets), detail(keys))
        }
    }
}

#[tokio::test]
async fn bucket_and_key_pages_are_index_range_scans_on_sqlite() {
    let fresh = common::sqlite(true).await;
    let (buckets, keys) = page_plans(&fresh.db).await;
    assert!(
        buckets.contains("USING INDEX buckets_owner_name_idx (owner_id=? AND name>? AND name<?)")
            && !buckets.contains("TEMP B-TREE"),
        "plan: {buckets}"
    );
    assert!(
        keys.contains("INDEX api_keys_user_created_idx (user_id=? AND (created_at,id)>(?,?))")
            && !keys.contains("TEMP B-TREE"),
        "plan: {keys}"
    );
}

#[tokio::test]
async fn bucket_and_key_pages_are_index_range_scans_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let (buckets, keys) = page_plans(&fresh.db).await;
    assert!(
        buckets.contains("Index Scan using buckets_owner_name_c_idx")
            && buckets.contains("Index Cond: ((owner_id = ")
            && buckets.contains("(name)::text >= ")
            && buckets.contains("(name)::text < ")
            && !buckets.contains("Sort"),
        "plan: {buckets}"
    );
    assert!(
        keys.contains("Scan using api_keys_user_created_idx")
            && keys.contains("Index Cond: ((user_id = ")
            && keys.contains("ROW(created_at, id) > ROW(")
            && !keys.contains("Sort"),
        "plan: {keys}"
    );
}
