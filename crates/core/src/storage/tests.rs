//! Service tests against in-memory fakes of the two ports.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::*;
use crate::Resource;
use crate::error::{ConflictKind, CoreError, CoreResult};
use crate::identity::{ApiKeyId, Caller, UserId};
use crate::storage::mem_blobs::MemBlobs;
use crate::storage::mem_repo::MemRepo;

struct Fixture {
    repo: Arc<MemRepo>,
    blobs: Arc<MemBlobs>,
    svc: StorageService,
    alice: Caller,
    bob: Caller,
}

fn caller() -> Caller {
    Caller {
        user_id: UserId::new(),
        key_id: ApiKeyId::new(),
    }
}

fn fixture() -> Fixture {
    let repo = Arc::new(MemRepo::default());
    let blobs = Arc::new(MemBlobs::default());
    let svc = StorageService::new(repo.clone(), blobs.clone(), 1024 * 1024);
    Fixture {
        repo,
        blobs,
        svc,
        alice: caller(),
        bob: caller(),
    }
}

/// Every bucket in one page.
fn all_buckets() -> ListBucketsInput {
    ListBucketsInput::default()
}

fn body(data: &[u8]) -> ByteStream {
    // Several chunks, to exercise streaming.
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks).boxed()
}

fn put(bucket: &str, key: &str, data: &[u8]) -> PutObjectInput {
    PutObjectInput {
        bucket: bucket.into(),
        key: key.into(),
        body: body(data),
        content_length: Some(data.len() as u64),
        content_type: None,
        user_metadata: UserMetadata::new(),
        headers: BTreeMap::new(),
        expected_md5: None,
        create_bucket: true,
        condition: WriteCondition::Always,
        tags: Tags::default(),
    }
}

async fn read_all(svc: &StorageService, who: Caller, bucket: &str, key: &str) -> Vec<u8> {
    match svc
        .get_object(who, bucket, key, &GetObjectOptions::default())
        .await
        .unwrap()
    {
        GetObjectOutput::Body { body, .. } => body
            .try_fold(Vec::new(), |mut acc, c| async move {
                acc.extend_from_slice(&c);
                Ok(acc)
            })
            .await
            .unwrap(),
        GetObjectOutput::NotModified(..) => panic!("unexpected 304"),
    }
}

#[tokio::test]
async fn put_then_get_round_trips_with_md5_etag_and_guessed_type() {
    let f = fixture();
    let meta = f
        .svc
        .put_object(f.alice, put("photos", "a/b.png", b"hello"))
        .await
        .unwrap();
    assert_eq!(meta.size_bytes, 5);
    assert_eq!(meta.etag.quoted(), "\"5d41402abc4b2a76b9719d911017c592\"");
    assert_eq!(meta.content_type, "image/png");
    assert_eq!(
        read_all(&f.svc, f.alice, "photos", "a/b.png").await,
        b"hello"
    );
    let buckets = f
        .svc
        .list_buckets(f.alice, &all_buckets())
        .await
        .unwrap()
        .buckets;
    assert_eq!(buckets.len(), 1, "the upload created the bucket");
    assert_eq!(buckets[0].owner, f.alice.user_id);
}

/// A body of undeclared size is admitted while the reserve is intact, and
/// refused (nothing stored) once the disk's free space falls below it as
/// the body streams: the admission check alone let one chunked upload use
/// up the whole reserve.
#[tokio::test]
async fn a_body_that_eats_into_the_reserve_while_it_streams_is_refused() {
    const MIB: usize = 1024 * 1024;
    let mut f = fixture();
    f.svc = StorageService::new(f.repo.clone(), f.blobs.clone(), 64 * MIB as u64)
        .with_min_free_bytes(4 * MIB as u64);
    f.svc
        .put_object(f.alice, put("b-stream", "first", b"x"))
        .await
        .unwrap();
    *f.blobs.free.lock().unwrap() = Some(100 * MIB as u64);
    let blobs = f.blobs.clone();
    // The disk fills while the body streams (others write beside it).
    let chunks = stream::iter((0..4).map(move |i| {
        if i == 1 {
            *blobs.free.lock().unwrap() = Some(3 * MIB as u64);
        }
        Ok(Bytes::from(vec![7u8; MIB]))
    }));
    let before = f.blobs.ids();
    let mut undeclared = put("b-stream", "streamed", b"");
    undeclared.body = chunks.boxed();
    undeclared.content_length = None;
    let err = f.svc.put_object(f.alice, undeclared).await.unwrap_err();
    let CoreError::InsufficientStorage { message, .. } = &err else {
        panic!("expected InsufficientStorage, got {err:?}");
    };
    assert!(
        message.contains("during this upload") && message.contains("3.0 MiB free"),
        "{message}"
    );
    assert_eq!(f.blobs.ids(), before, "nothing stored");
}

#[tokio::test]
async fn writes_that_would_eat_the_free_space_reserve_are_refused_before_the_body() {
    let mut f = fixture();
    f.svc =
        StorageService::new(f.repo.clone(), f.blobs.clone(), 1024 * 1024).with_min_free_bytes(1000);
    f.svc
        .put_object(f.alice, put("b-room", "old", b"kept"))
        .await
        .unwrap();
    *f.blobs.free.lock().unwrap() = Some(1_500);

    // 400 bytes leave 1,100 free: admitted. 600 would leave 900: refused,
    // with the figures, and nothing written.
    f.svc
        .put_object(f.alice, put("b-room", "fits", &[1; 400]))
        .await
        .unwrap();
    let blobs_before = f.blobs.ids();
    let err = f
        .svc
        .put_object(f.alice, put("b-room", "too-big", &[2; 600]))
        .await
        .unwrap_err();
    let CoreError::InsufficientStorage {
        dependency,
        message,
    } = &err
    else {
        panic!("expected InsufficientStorage, got {err:?}");
    };
    assert_eq!(*dependency, crate::error::Dependency::Storage);
    assert!(
        message.contains("1.5 KiB free")
            && message.contains("600 B")
            && message.contains("--min-free-space"),
        "{message}"
    );
    assert_eq!(
        f.blobs.ids(),
        blobs_before,
        "a refused write stored nothing"
    );
    // Nor does a refused write make the bucket it would have created.
    async fn bucket_count(f: &Fixture) -> usize {
        f.svc
            .list_buckets(f.alice, &all_buckets())
            .await
            .unwrap()
            .buckets
            .len()
    }
    assert!(matches!(
        f.svc
            .put_object(f.alice, put("b-new-room", "too-big", &[3; 600]))
            .await,
        Err(CoreError::InsufficientStorage { .. })
    ));
    assert_eq!(bucket_count(&f).await, 1, "no b-new-room");
    f.svc
        .put_object(f.alice, put("b-new-room", "fits", &[3; 10]))
        .await
        .unwrap();
    assert_eq!(bucket_count(&f).await, 2, "made by the write that fits");

    // An undeclared size is admitted while the reserve itself is intact,
    // refused once it is not; deletes never ask.
    let mut undeclared = put("b-room", "unsized", b"abc");
    undeclared.content_length = None;
    f.svc.put_object(f.alice, undeclared).await.unwrap();
    *f.blobs.free.lock().unwrap() = Some(999);
    let mut undeclared = put("b-room", "unsized-2", b"abc");
    undeclared.content_length = None;
    assert!(matches!(
        f.svc.put_object(f.alice, undeclared).await,
        Err(CoreError::InsufficientStorage { .. })
    ));
    assert!(f.svc.delete_object(f.alice, "b-room", "old").await.unwrap());

    // No reserve, or a store that cannot tell: every write is admitted.
    *f.blobs.free.lock().unwrap() = None;
    f.svc.check_room(u64::MAX).unwrap();
    let no_reserve = StorageService::new(f.repo.clone(), f.blobs.clone(), 1024 * 1024);
    *f.blobs.free.lock().unwrap() = Some(0);
    no_reserve.check_room(10).unwrap();
}

#[tokio::test]
async fn a_conditional_delete_deletes_only_what_it_names() {
    let f = fixture();
    let written = f
        .svc
        .put_object(f.alice, put("cond-del", "k", b"one"))
        .await
        .unwrap();
    let svc = &f.svc;
    let delete = |condition: WriteCondition, version: Option<VersionId>| async move {
        let target = DeleteTarget {
            key: "k".into(),
            version,
            condition,
        };
        svc.delete_object_at(f.alice, "cond-del", &target, false)
            .await
    };
    let stale = WriteCondition::ETagIs(ETag::from_stored("00000000000000000000000000000000"));
    let err = delete(stale, None).await.unwrap_err();
    assert!(matches!(err, CoreError::PreconditionFailed(_)), "{err:?}");
    let current = WriteCondition::ETagIs(written.etag.clone());
    let err = delete(current.clone(), Some(VersionId::Null))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::InvalidRequest(_)), "{err:?}");
    assert_eq!(
        read_all(&f.svc, f.alice, "cond-del", "k").await,
        b"one",
        "kept"
    );
    assert!(delete(current.clone(), None).await.unwrap().existed);
    assert!(f.blobs.blobs.lock().unwrap().is_empty(), "its blob went");
    for condition in [current, WriteCondition::Exists] {
        let err = delete(condition, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                CoreError::NotFound {
                    resource: Resource::Object,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn overwrite_and_delete_remove_the_old_blobs() {
    let f = fixture();
    f.svc
        .put_object(f.alice, put("b12", "k", b"one"))
        .await
        .unwrap();
    f.svc
        .put_object(f.alice, put("b12", "k", b"two"))
        .await
        .unwrap();
    assert_eq!(f.blobs.blobs.lock().unwrap().len(), 1);
    assert_eq!(read_all(&f.svc, f.alice, "b12", "k").await, b"two");
    assert!(f.svc.delete_object(f.alice, "b12", "k").await.unwrap());
    assert!(!f.svc.delete_object(f.alice, "b12", "k").await.unwrap());
    assert!(f.blobs.blobs.lock().unwrap().is_empty());
    let err = f
        .svc
        .get_object(f.alice, "b12", "k", &GetObjectOptions::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(
        err,
        CoreError::NotFound {
            resource: Resource::Object,
            ..
        }
    ));
    // A deleted key is writable again at once.
    f.svc
        .put_object(f.alice, put("b12", "k", b"three"))
        .await
        .unwrap();
    assert_eq!(read_all(&f.svc, f.alice, "b12", "k").await, b"three");
}

#[tokio::test]
async fn failed_writes_leave_the_previous_version_and_no_blob() {
    let f = fixture();
    f.svc
        .put_object(f.alice, put("b12", "k", b"old"))
        .await
        .unwrap();
    type Case = (&'static str, PutObjectInput, fn(&CoreError) -> bool);
    let cases: Vec<Case> = vec![
        (
            "bad Content-MD5",
            PutObjectInput {
                expected_md5: Some([0; 16]),
                ..put("b12", "k", b"new")
            },
            |e| matches!(e, CoreError::BadDigest(_)),
        ),
        (
            "interrupted body",
            PutObjectInput {
                body: stream::iter([
                    Ok(Bytes::from_static(b"par")),
                    Err(std::io::Error::other("connection reset")),
                ])
                .boxed(),
                content_length: None,
                ..put("b12", "k", b"")
            },
            |e| matches!(e, CoreError::InvalidInput(_)),
        ),
        (
            "body error carrying a domain error",
            PutObjectInput {
                body: stream::iter([Err(body_error(CoreError::BadDigest("crc32".into())))]).boxed(),
                ..put("b12", "k", b"")
            },
            |e| matches!(e, CoreError::BadDigest(m) if m == "crc32"),
        ),
        (
            "declared too large",
            PutObjectInput {
                content_length: Some(2 * 1024 * 1024),
                ..put("b12", "k", b"")
            },
            |e| matches!(e, CoreError::TooLarge(_)),
        ),
        (
            "streamed too large",
            PutObjectInput {
                content_length: None,
                ..put("b12", "k", &vec![7u8; 1024 * 1024 + 1])
            },
            |e| matches!(e, CoreError::TooLarge(_)),
        ),
        (
            "short body",
            PutObjectInput {
                content_length: Some(10),
                ..put("b12", "k", b"short")
            },
            |e| matches!(e, CoreError::InvalidInput(_)),
        ),
        ("bad key", put("b12", &"k".repeat(1025), b"x"), |e| {
            matches!(e, CoreError::InvalidInput(_))
        }),
        ("bad bucket", put("B!", "k", b"x"), |e| {
            matches!(e, CoreError::InvalidInput(_))
        }),
    ];
    for (desc, input, expected) in cases {
        let err = f.svc.put_object(f.alice, input).await.err();
        assert!(
            err.as_ref().is_some_and(expected),
            "case {desc}: got {err:?}"
        );
        assert_eq!(
            read_all(&f.svc, f.alice, "b12", "k").await,
            b"old",
            "case {desc}"
        );
        assert_eq!(f.blobs.blobs.lock().unwrap().len(), 1, "case {desc}");
    }
}

#[tokio::test]
async fn other_owners_are_forbidden_everywhere() {
    let f = fixture();
    f.svc
        .put_object(f.alice, put("alices", "secret", b"x"))
        .await
        .unwrap();
    let bob = f.bob;
    let forbidden = |r: CoreResult<()>| matches!(r, Err(CoreError::Forbidden(_)));
    let blobs_before = f.blobs.blobs.lock().unwrap().len();
    assert!(forbidden(
        f.svc
            .put_object(bob, put("alices", "k", b"y"))
            .await
            .map(drop)
    ));
    // Without a declared length the bucket is checked before the body.
    let unsized_put = PutObjectInput {
        content_length: None,
        ..put("alices", "k", b"y")
    };
    assert!(forbidden(
        f.svc.put_object(bob, unsized_put).await.map(drop)
    ));
    assert_eq!(
        f.blobs.blobs.lock().unwrap().len(),
        blobs_before,
        "a refused small write, whose blob was written beside the bucket lookup, leaves no blob"
    );
    assert!(forbidden(
        f.svc
            .get_object(bob, "alices", "secret", &GetObjectOptions::default())
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc
            .head_object(bob, "alices", "secret", &Conditions::default())
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc
            .list_objects(
                bob,
                "alices",
                &ListObjectsInput {
                    max_keys: 10,
                    ..Default::default()
                }
            )
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc.delete_object(bob, "alices", "secret").await.map(drop)
    ));
    assert!(forbidden(f.svc.delete_bucket(bob, "alices").await));
    assert!(
        f.svc
            .list_buckets(bob, &all_buckets())
            .await
            .unwrap()
            .buckets
            .is_empty()
    );
    let err = f.svc.create_bucket(bob, "alices").await.unwrap_err();
    assert!(matches!(
        err,
        CoreError::Conflict {
            kind: ConflictKind::AlreadyExists,
            ..
        }
    ));
    let err = f.svc.create_bucket(f.alice, "alices").await.unwrap_err();
    assert!(matches!(
        err,
        CoreError::Conflict {
            kind: ConflictKind::AlreadyOwnedByYou,
            ..
        }
    ));
    // Alice's object is untouched.
    assert_eq!(read_all(&f.svc, f.alice, "alices", "secret").await, b"x");
}

#[tokio::test]
async fn bucket_pages_walk_the_callers_names_once_in_order() {
    let f = fixture();
    let bob = f.bob;
    let mut mine = Vec::new();
    for i in 0..23 {
        let name = format!("b{i:02}-mine");
        f.svc.create_bucket(f.alice, &name).await.unwrap();
        mine.push(name);
        f.svc
            .create_bucket(bob, &format!("b{i:02}-bobs"))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let input = ListBucketsInput {
            after: after.clone(),
            limit: Some(7),
            ..ListBucketsInput::default()
        };
        let page = f.svc.list_buckets(f.alice, &input).await.unwrap();
        assert!(page.buckets.len() <= 7);
        seen.extend(page.buckets.iter().map(|b| b.name.as_str().to_owned()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, mine, "every bucket once, in order, none of bob's");
    let prefixed = ListBucketsInput {
        prefix: "b1".into(),
        limit: Some(4),
        ..ListBucketsInput::default()
    };
    let page = f.svc.list_buckets(f.alice, &prefixed).await.unwrap();
    assert_eq!(page.next_after.as_deref(), Some("b13-mine"));
    let zero = ListBucketsInput {
        limit: Some(0),
        ..ListBucketsInput::default()
    };
    assert!(f.svc.list_buckets(f.alice, &zero).await.is_err());
}

#[tokio::test]
async fn buckets_are_deleted_only_when_empty() {
    let f = fixture();
    f.svc.create_bucket(f.alice, "full").await.unwrap();
    let missing = f.svc.delete_bucket(f.alice, "nope").await.unwrap_err();
    assert!(matches!(
        missing,
        CoreError::NotFound {
            resource: Resource::Bucket,
            ..
        }
    ));
    f.svc
        .put_object(f.alice, put("full", "k", b"x"))
        .await
        .unwrap();
    let err = f.svc.delete_bucket(f.alice, "full").await.unwrap_err();
    assert!(matches!(
        err,
        CoreError::Conflict {
            kind: ConflictKind::BucketNotEmpty,
            ..
        }
    ));
    f.svc.delete_object(f.alice, "full", "k").await.unwrap();
    f.svc.delete_bucket(f.alice, "full").await.unwrap();
    assert!(
        f.svc
            .list_buckets(f.alice, &all_buckets())
            .await
            .unwrap()
            .buckets
            .is_empty()
    );
    // Without auto-create, a missing bucket is NotFound.
    let err = f
        .svc
        .put_object(
            f.alice,
            PutObjectInput {
                create_bucket: false,
                ..put("full", "k", b"x")
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CoreError::NotFound {
            resource: Resource::Bucket,
            ..
        }
    ));
}

#[tokio::test]
async fn conditions_and_ranges() {
    let f = fixture();
    let meta = f
        .svc
        .put_object(f.alice, put("b12", "k", b"0123456789"))
        .await
        .unwrap();
    let get = |options: GetObjectOptions| {
        let svc = &f.svc;
        let who = f.alice;
        async move { svc.get_object(who, "b12", "k", &options).await }
    };
    let etag = meta.etag.quoted();
    let out = get(GetObjectOptions {
        if_range: None,
        conditions: Conditions {
            if_none_match: Some(etag.clone()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(matches!(out, GetObjectOutput::NotModified(..)));
    let err = get(GetObjectOptions {
        if_range: None,
        conditions: Conditions {
            if_match: Some("\"other\"".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .err()
    .unwrap();
    assert!(matches!(err, CoreError::PreconditionFailed(_)));
    let out = get(GetObjectOptions {
        if_range: None,
        range: RangeSpec::parse("bytes=2-4"),
        conditions: Conditions {
            if_match: Some(etag),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    match out {
        GetObjectOutput::Body { range, body, .. } => {
            assert_eq!(range, Some(ByteRange { start: 2, end: 4 }));
            let bytes: Vec<Bytes> = body.try_collect().await.unwrap();
            assert_eq!(bytes.concat(), b"234");
        }
        GetObjectOutput::NotModified(..) => panic!("expected a body"),
    }
    let err = get(GetObjectOptions {
        if_range: None,
        range: RangeSpec::parse("bytes=10-"),
        ..Default::default()
    })
    .await
    .err()
    .unwrap();
    assert!(matches!(
        err,
        CoreError::RangeNotSatisfiable { size_bytes: 10 }
    ));
}

/// A reference listing computed the obvious way, to compare pages against.
fn reference_listing(keys: &[String], prefix: &str, delimiter: Option<&str>) -> Vec<String> {
    let mut sorted: Vec<&String> = keys.iter().filter(|k| k.starts_with(prefix)).collect();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut out: Vec<String> = Vec::new();
    for k in sorted {
        let entry = match delimiter.and_then(|d| k[prefix.len()..].find(d).map(|i| (i, d))) {
            Some((i, d)) => format!("P:{}", &k[..prefix.len() + i + d.len()]),
            None => format!("K:{k}"),
        };
        if out.last() != Some(&entry) {
            out.push(entry);
        }
    }
    out
}

#[tokio::test]
async fn listing_pages_match_a_reference_model() {
    let f = fixture();
    let mut keys = Vec::new();
    for dir in ["a", "a/b", "b", "ü", "z"] {
        for i in 0..7 {
            keys.push(format!("{dir}/{i}"));
            keys.push(format!("{dir}/{i}/deep/{i}"));
        }
    }
    keys.extend(["a", "a/", "a0", "a\0b", "aa", "\u{10ffff}"].map(String::from));
    for k in &keys {
        f.svc
            .put_object(f.alice, put("list", k, b""))
            .await
            .unwrap();
    }
    for prefix in ["", "a", "a/", "a/b/", "ü/", "q"] {
        for delimiter in [None, Some("/"), Some("/deep/")] {
            for page_size in [1u32, 3, 1000] {
                let mut got = Vec::new();
                let mut start_after = None;
                let mut pages = 0;
                loop {
                    let page = f
                        .svc
                        .list_objects(
                            f.alice,
                            "list",
                            &ListObjectsInput {
                                prefix: prefix.into(),
                                delimiter: delimiter.map(String::from),
                                start_after: start_after.clone(),
                                max_keys: page_size,
                            },
                        )
                        .await
                        .unwrap();
                    let entries = page.objects.len() + page.common_prefixes.len();
                    assert!(entries <= page_size as usize);
                    // Merge objects and prefixes back into byte order.
                    let mut merged: Vec<String> = page
                        .objects
                        .iter()
                        .map(|o| format!("K:{}", o.key))
                        .chain(page.common_prefixes.iter().map(|p| format!("P:{p}")))
                        .collect();
                    merged.sort_by(|a, b| a.as_bytes()[2..].cmp(&b.as_bytes()[2..]));
                    got.extend(merged);
                    pages += 1;
                    assert!(pages < 1000, "listing does not terminate");
                    if !page.is_truncated {
                        assert!(page.next_start_after.is_none());
                        break;
                    }
                    start_after = page.next_start_after;
                    assert!(start_after.is_some());
                }
                let expected = reference_listing(&keys, prefix, delimiter);
                assert_eq!(
                    got, expected,
                    "prefix {prefix:?} delimiter {delimiter:?} page size {page_size}"
                );
            }
        }
    }
}

#[tokio::test]
async fn sweep_removes_orphans_and_keeps_referenced_blobs() {
    let f = fixture();
    f.svc
        .put_object(f.alice, put("b12", "k", b"kept"))
        .await
        .unwrap();
    let orphan = BlobId::new();
    f.blobs
        .blobs
        .lock()
        .unwrap()
        .insert(orphan, b"lost".to_vec());
    *f.blobs.temporaries.lock().unwrap() = 2;
    let report = f.svc.sweep().await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            temporaries: 2,
            orphans: 1,
            missing: 0,
            missing_versions: 0,
        }
    );
    assert!(!f.blobs.blobs.lock().unwrap().contains_key(&orphan));
    assert_eq!(read_all(&f.svc, f.alice, "b12", "k").await, b"kept");
}

#[tokio::test]
async fn sweep_counts_objects_whose_bytes_are_missing_and_keeps_them() {
    let f = fixture();
    // More than a page of the check (1,000), a few of them without bytes.
    for i in 0..1203 {
        f.svc
            .put_object(f.alice, put("many", &format!("k{i}"), b"x"))
            .await
            .unwrap();
    }
    let blob_of = |key: &str| {
        f.repo.objects.lock().unwrap()[&("many".to_owned(), key.as_bytes().to_vec())].blob_id
    };
    for key in ["k0", "k600", "k1202"] {
        let blob = blob_of(key);
        f.blobs.blobs.lock().unwrap().remove(&blob);
    }
    let report = f.svc.sweep().await.unwrap();
    assert_eq!((report.orphans, report.missing), (0, 3));
    // The rows stay: still listed, and the others read back.
    assert_eq!(f.repo.objects.lock().unwrap().len(), 1203);
    assert_eq!(read_all(&f.svc, f.alice, "many", "k1").await, b"x");
}

#[tokio::test]
async fn sweep_merges_files_with_object_and_part_rows_over_many_pages() {
    let f = fixture();
    // Over a page (1,000) of each kind, their ids interleaved at random:
    // objects with and without their file, parts' blobs (one held twice,
    // some without a file: not reported, as before), orphans.
    for i in 0..1203 {
        f.svc
            .put_object(f.alice, put("many", &format!("k{i}"), b"x"))
            .await
            .unwrap();
    }
    let objects: Vec<BlobId> = f
        .repo
        .objects
        .lock()
        .unwrap()
        .values()
        .map(|m| m.blob_id)
        .collect();
    let lost: HashSet<BlobId> = objects.iter().step_by(97).copied().collect();
    for blob in &lost {
        f.blobs.blobs.lock().unwrap().remove(blob);
    }
    let parts: Vec<BlobId> = (0..1501).map(|_| BlobId::new()).collect();
    let orphans: Vec<BlobId> = (0..2333).map(|_| BlobId::new()).collect();
    {
        let mut stored = f.blobs.blobs.lock().unwrap();
        for id in parts.iter().skip(10).chain(&orphans) {
            stored.insert(*id, b"p".to_vec());
        }
        let mut part_rows = f.repo.part_blobs.lock().unwrap();
        part_rows.extend(&parts);
        part_rows.push(parts[500]);
    }
    let report = f.svc.sweep().await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            temporaries: 0,
            orphans: orphans.len(),
            missing: lost.len(),
            missing_versions: 0,
        }
    );
    let expected: HashSet<BlobId> = objects
        .iter()
        .filter(|b| !lost.contains(b))
        .chain(parts.iter().skip(10))
        .copied()
        .collect();
    assert_eq!(f.blobs.ids(), expected);
    assert_eq!(f.repo.objects.lock().unwrap().len(), 1203);
    // A second sweep finds the same missing objects and nothing to remove.
    let again = f.svc.sweep().await.unwrap();
    assert_eq!((again.orphans, again.missing), (0, lost.len()));
}

#[tokio::test]
async fn sweep_removes_nothing_when_the_ids_come_out_of_order() {
    let f = fixture();
    for key in ["a", "b", "c"] {
        f.svc
            .put_object(f.alice, put("order", key, b"x"))
            .await
            .unwrap();
    }
    let part = BlobId::new();
    f.blobs.blobs.lock().unwrap().insert(part, b"p".to_vec());
    f.repo
        .part_blobs
        .lock()
        .unwrap()
        .extend([part, BlobId::new()]);
    f.blobs
        .blobs
        .lock()
        .unwrap()
        .insert(BlobId::new(), b"orphan".to_vec());
    let before = f.blobs.ids();
    *f.repo.descending_scans.lock().unwrap() = true;
    let err = f.svc.sweep().await.unwrap_err();
    assert!(
        matches!(&err, CoreError::Internal { message, .. } if message.contains("out of order")),
        "{err:?}"
    );
    assert_eq!(f.blobs.ids(), before, "nothing removed");
    // In order again, the orphan goes and the rest stays.
    *f.repo.descending_scans.lock().unwrap() = false;
    let report = f.svc.sweep().await.unwrap();
    assert_eq!((report.orphans, report.missing), (1, 0));
    assert_eq!(f.blobs.ids().len(), before.len() - 1);
}

#[tokio::test]
async fn copy_keeps_or_replaces_metadata() {
    let f = fixture();
    let mut meta = UserMetadata::new();
    meta.insert("color".into(), "blue".into());
    let src = f
        .svc
        .put_object(
            f.alice,
            PutObjectInput {
                content_type: Some("text/x-src".into()),
                user_metadata: meta.clone(),
                ..put("src", "s.txt", b"payload")
            },
        )
        .await
        .unwrap();
    f.svc.create_bucket(f.alice, "dst").await.unwrap();
    let copied = f
        .svc
        .copy_object(
            f.alice,
            "src",
            "s.txt",
            &Conditions::default(),
            "dst",
            "d",
            MetadataDirective::Copy,
            TaggingDirective::Copy,
        )
        .await
        .unwrap()
        .0;
    assert_eq!(copied.etag, src.etag);
    assert_eq!(copied.content_type, "text/x-src");
    assert_eq!(copied.user_metadata, meta);
    assert_eq!(read_all(&f.svc, f.alice, "dst", "d").await, b"payload");
    let replaced = f
        .svc
        .copy_object(
            f.alice,
            "src",
            "s.txt",
            &Conditions::default(),
            "dst",
            "d.json",
            MetadataDirective::Replace {
                content_type: None,
                user_metadata: UserMetadata::new(),
                headers: BTreeMap::new(),
            },
            TaggingDirective::Copy,
        )
        .await
        .unwrap()
        .0;
    assert_eq!(replaced.content_type, "application/json");
    assert!(replaced.user_metadata.is_empty());
    // Copying with changed headers keeps the rest; `None` removes one.
    let mut headers = BTreeMap::new();
    headers.insert("cache-control".to_owned(), "no-cache".to_owned());
    headers.insert("x-amz-storage-class".to_owned(), "STANDARD_IA".to_owned());
    f.svc
        .put_object(
            f.alice,
            PutObjectInput {
                content_type: Some("text/x-src".into()),
                user_metadata: meta.clone(),
                headers,
                ..put("src", "h.txt", b"headers")
            },
        )
        .await
        .unwrap();
    let changes = [
        ("x-amz-storage-class".to_owned(), None),
        ("content-language".to_owned(), Some("fr".to_owned())),
    ];
    let changed = f
        .svc
        .copy_object(
            f.alice,
            "src",
            "h.txt",
            &Conditions::default(),
            "dst",
            "h",
            MetadataDirective::CopyChanging(changes.into_iter().collect()),
            TaggingDirective::Copy,
        )
        .await
        .unwrap()
        .0;
    assert_eq!(changed.content_type, "text/x-src");
    assert_eq!(changed.user_metadata, meta);
    let want: BTreeMap<String, String> = [
        ("cache-control".to_owned(), "no-cache".to_owned()),
        ("content-language".to_owned(), "fr".to_owned()),
    ]
    .into_iter()
    .collect();
    // The source's checksum (S3's default CRC64NVME, as it was put without
    // one) goes with the bytes.
    let mut headers = changed.headers.clone();
    let checksum = headers.remove("x-amz-checksum-crc64nvme");
    assert_eq!(headers, want);
    let source = f
        .svc
        .head_object(f.alice, "src", "h.txt", &Conditions::default())
        .await
        .unwrap();
    let HeadObjectOutput::Found { meta: source, .. } = source else {
        panic!("the source is there");
    };
    assert!(checksum.is_some(), "a default checksum");
    assert_eq!(
        source.headers.get("x-amz-checksum-crc64nvme"),
        checksum.as_ref()
    );
    // Bob can neither copy out of Alice's bucket nor into it.
    f.svc.create_bucket(f.bob, "bobs").await.unwrap();
    let err = f
        .svc
        .copy_object(
            f.bob,
            "src",
            "s.txt",
            &Conditions::default(),
            "bobs",
            "x",
            MetadataDirective::Copy,
            TaggingDirective::Copy,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)));
    assert_eq!(f.repo.objects.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn delete_many_reports_each_key() {
    let f = fixture();
    f.svc
        .put_object(f.alice, put("b12", "x", b"1"))
        .await
        .unwrap();
    let results = f
        .svc
        .delete_objects(
            f.alice,
            "b12",
            &["x".into(), "missing".into(), String::new()],
        )
        .await
        .unwrap();
    assert!(matches!(results[0], Ok(true)));
    assert!(matches!(results[1], Ok(false)));
    assert!(matches!(results[2], Err(CoreError::InvalidInput(_))));
}

/// Polls `cond` every few milliseconds for up to two seconds.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_during_a_commit_share_the_next_one() {
    let f = fixture();
    tokio::spawn(f.svc.commit_driver().expect("a commit driver"));
    assert!(
        f.svc.commit_driver().is_none(),
        "the driver is handed out once"
    );
    let (repo, blobs, alice) = (f.repo.clone(), f.blobs.clone(), f.alice);
    let svc = Arc::new(f.svc);
    svc.create_bucket(alice, "group").await.unwrap();
    svc.create_bucket(alice, "gone").await.unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *repo.gate.lock().unwrap() = Some(gate.clone());
    let spawn_put = |bucket: &'static str, key: &'static str, data: &'static [u8]| {
        let svc = svc.clone();
        tokio::spawn(async move { svc.put_object(alice, put(bucket, key, data)).await })
    };

    // The first write's commit is held at the gate...
    let first = spawn_put("group", "a", b"first");
    eventually("the first commit", || *repo.batches.lock().unwrap() == [1]).await;
    // ...while four more queue behind it: two to one key, and one whose
    // bucket is deleted before its commit.
    let queued = [
        spawn_put("group", "b", b"bee"),
        spawn_put("group", "c", b"c-one"),
        spawn_put("group", "c", b"c-two"),
        spawn_put("gone", "x", b"too late"),
    ];
    // Each queued write has its blob (5 in all) before it waits to commit.
    eventually("the queued blobs", || {
        blobs.blobs.lock().unwrap().len() == 5
    })
    .await;
    svc.delete_bucket(alice, "gone").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    gate.add_permits(100);

    assert_eq!(first.await.unwrap().unwrap().key.as_str(), "a");
    let mut results = Vec::new();
    for task in queued {
        results.push(task.await.unwrap());
    }
    assert_eq!(
        *repo.batches.lock().unwrap(),
        [1, 4],
        "the four queued writes shared one commit"
    );
    assert!(results[0].is_ok() && results[1].is_ok() && results[2].is_ok());
    let err = results[3].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::NotFound {
                resource: Resource::Bucket,
                ..
            }
        ),
        "the failed write fails alone: {err:?}"
    );
    // Last wins: the key holds one of the two bodies, and only its blob
    // remains (with those of a and b); the failed write's blob is gone.
    let c = read_all(&svc, alice, "group", "c").await;
    assert!(c == b"c-one" || c == b"c-two", "{c:?}");
    let live: HashSet<BlobId> = repo
        .objects
        .lock()
        .unwrap()
        .values()
        .map(|m| m.blob_id)
        .collect();
    let stored: HashSet<BlobId> = blobs.blobs.lock().unwrap().keys().copied().collect();
    assert_eq!(live.len(), 3);
    assert_eq!(stored, live, "no blob is left without a row");
}

#[tokio::test]
async fn without_a_running_driver_writes_commit_on_their_own() {
    let f = fixture();
    // Taken and dropped: never runs.
    drop(f.svc.commit_driver());
    f.svc
        .put_object(f.alice, put("solo", "k", b"one"))
        .await
        .unwrap();
    f.svc
        .put_object(f.alice, put("solo", "k", b"two"))
        .await
        .unwrap();
    assert_eq!(read_all(&f.svc, f.alice, "solo", "k").await, b"two");
    assert_eq!(f.blobs.blobs.lock().unwrap().len(), 1);
    assert!(f.repo.batches.lock().unwrap().is_empty(), "no group commit");
}

fn put_if(bucket: &str, key: &str, data: &[u8], condition: WriteCondition) -> PutObjectInput {
    PutObjectInput {
        condition,
        ..put(bucket, key, data)
    }
}

#[tokio::test]
async fn a_refused_conditional_write_reads_no_body_and_creates_no_bucket() {
    let f = fixture();
    let v1 = f
        .svc
        .put_object(f.alice, put("cond", "k", b"one"))
        .await
        .unwrap();
    let polled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watched = {
        let polled = polled.clone();
        stream::poll_fn(move |_| {
            polled.store(true, std::sync::atomic::Ordering::SeqCst);
            std::task::Poll::Ready(Some(Ok(Bytes::from_static(b"two"))))
        })
        .boxed()
    };
    let input = PutObjectInput {
        body: watched,
        content_length: None,
        ..put_if("cond", "k", b"", WriteCondition::Absent)
    };
    let err = f.svc.put_object(f.alice, input).await.unwrap_err();
    assert!(matches!(err, CoreError::PreconditionFailed(_)), "{err:?}");
    assert!(
        !polled.load(std::sync::atomic::Ordering::SeqCst),
        "the body was not read"
    );

    // A stale If-Match, If-Match: * on a missing key, and If-Match on a
    // bucket that does not exist (which it does not create).
    let refusals = [
        (
            "k",
            "cond",
            WriteCondition::ETagIs(ETag::from_stored("0123")),
            "412",
        ),
        ("nokey", "cond", WriteCondition::Exists, "object"),
        ("k", "nobucket", WriteCondition::Exists, "bucket"),
    ];
    for (key, bucket, condition, want) in refusals {
        let err = f
            .svc
            .put_object(f.alice, put_if(bucket, key, b"two", condition))
            .await
            .unwrap_err();
        let got = match &err {
            CoreError::PreconditionFailed(_) => "412",
            CoreError::NotFound { resource, .. } => resource.as_str(),
            other => panic!("{other:?}"),
        };
        assert_eq!(got, want, "{bucket}/{key}: {err:?}");
    }
    assert!(f.repo.buckets.lock().unwrap().get("nobucket").is_none());
    // If-None-Match: * may create both.
    f.svc
        .put_object(
            f.alice,
            put_if("newbucket", "k", b"x", WriteCondition::Absent),
        )
        .await
        .unwrap();

    let v2 = f
        .svc
        .put_object(
            f.alice,
            put_if("cond", "k", b"two", WriteCondition::ETagIs(v1.etag.clone())),
        )
        .await
        .unwrap();
    assert_eq!(read_all(&f.svc, f.alice, "cond", "k").await, b"two");
    assert_ne!(v1.blob_id, v2.blob_id);
    assert_eq!(
        f.blobs.blobs.lock().unwrap().len(),
        2,
        "no refused blob kept"
    );
}

#[tokio::test]
async fn a_bad_bucket_name_is_refused_before_the_body_is_read() {
    let f = fixture();
    for bucket in ["ab", "Upper", "192.168.0.1", "a..b"] {
        let polled = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watched = {
            let polled = polled.clone();
            stream::poll_fn(move |_| {
                polled.store(true, std::sync::atomic::Ordering::SeqCst);
                std::task::Poll::Ready(Some(Ok(Bytes::from_static(b"data"))))
            })
            .boxed()
        };
        // A small declared body: the case whose bucket check otherwise
        // overlaps the blob write.
        let input = PutObjectInput {
            body: watched,
            content_length: Some(4),
            ..put(bucket, "k", b"")
        };
        let err = f.svc.put_object(f.alice, input).await.unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidInput(_)),
            "{bucket}: {err:?}"
        );
        assert!(
            !polled.load(std::sync::atomic::Ordering::SeqCst),
            "{bucket}: the body was not read"
        );
    }
    assert!(f.blobs.blobs.lock().unwrap().is_empty(), "no blob written");
}

/// A hyphen next to a dot is refused for a bucket being made (by
/// CreateBucket or by an upload that makes it), while a bucket made
/// before that rule stays readable, writable and deletable.
#[tokio::test]
async fn a_name_rule_for_new_buckets_leaves_older_buckets_reachable() {
    let f = fixture();
    for name in ["dash-.dot", "dot.-dash"] {
        let err = f.svc.create_bucket(f.alice, name).await.unwrap_err();
        assert!(matches!(err, CoreError::InvalidInput(_)), "{name}: {err:?}");
        let err = f
            .svc
            .put_object(f.alice, put(name, "k", b"data"))
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::InvalidInput(_)), "{name}: {err:?}");
    }
    assert!(f.blobs.blobs.lock().unwrap().is_empty(), "no blob kept");
    // Made before the rule: in the repository as an older server left it.
    let legacy = Bucket {
        name: BucketName::parse("old-.name").unwrap(),
        owner: f.alice.user_id,
        created_at: crate::clock::now_utc(),
    };
    f.repo
        .create_bucket(&legacy, &Tags::default(), None)
        .await
        .unwrap();
    f.svc
        .put_object(f.alice, put("old-.name", "k", b"data"))
        .await
        .expect("a write into the older bucket");
    let listed = f.svc.list_buckets(f.alice, &all_buckets()).await.unwrap();
    assert_eq!(listed.buckets.len(), 1, "{listed:?}");
    f.svc
        .delete_object(f.alice, "old-.name", "k")
        .await
        .expect("a delete in the older bucket");
    f.svc
        .delete_bucket(f.alice, "old-.name")
        .await
        .expect("the older bucket deleted");
}

#[tokio::test]
async fn an_object_put_without_a_checksum_gets_the_default_crc64nvme() {
    use base64::Engine;
    let f = fixture();
    // CRC-64/NVME's check value (the CRC of "123456789").
    let check =
        base64::engine::general_purpose::STANDARD.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes());
    let meta = f
        .svc
        .put_object(f.alice, put("sums", "plain", b"123456789"))
        .await
        .unwrap();
    assert_eq!(
        meta.headers.get("x-amz-checksum-crc64nvme"),
        Some(&check),
        "S3's default checksum, computed as the body streamed"
    );
    // A checksum of its own (a form's field) is the object's alone.
    let mut headers = BTreeMap::new();
    headers.insert("x-amz-checksum-crc32".to_owned(), "y/Q5Jg==".to_owned());
    let own = f
        .svc
        .put_object(
            f.alice,
            PutObjectInput {
                headers,
                ..put("sums", "own", b"123456789")
            },
        )
        .await
        .unwrap();
    assert_eq!(own.headers.get("x-amz-checksum-crc64nvme"), None);
    assert_eq!(
        own.headers.get("x-amz-checksum-crc32").map(String::as_str),
        Some("y/Q5Jg==")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_conditional_writes_are_checked_at_their_commit() {
    let f = fixture();
    tokio::spawn(f.svc.commit_driver().expect("a commit driver"));
    let (repo, blobs, alice) = (f.repo.clone(), f.blobs.clone(), f.alice);
    let svc = Arc::new(f.svc);
    svc.create_bucket(alice, "cond").await.unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *repo.gate.lock().unwrap() = Some(gate.clone());
    let spawn_put = |key: &'static str, data: &'static [u8], condition: WriteCondition| {
        let svc = svc.clone();
        tokio::spawn(async move {
            svc.put_object(alice, put_if("cond", key, data, condition))
                .await
        })
    };
    // Held at the gate, so every later write passes its early check...
    let first = spawn_put("other", b"first", WriteCondition::Always);
    eventually("the first commit", || *repo.batches.lock().unwrap() == [1]).await;
    // ...and only the commit can tell the two creators of `k` apart.
    let racers = [
        spawn_put("k", b"one", WriteCondition::Absent),
        spawn_put("k", b"two", WriteCondition::Absent),
    ];
    eventually("the queued blobs", || {
        blobs.blobs.lock().unwrap().len() == 3
    })
    .await;
    gate.add_permits(100);
    first.await.unwrap().unwrap();
    let mut won = Vec::new();
    for task in racers {
        match task.await.unwrap() {
            Ok(meta) => won.push(meta),
            Err(e) => assert!(matches!(e, CoreError::PreconditionFailed(_)), "{e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one creator wins");
    assert_eq!(*repo.batches.lock().unwrap(), [1, 2]);
    let stored: HashSet<BlobId> = blobs.blobs.lock().unwrap().keys().copied().collect();
    assert_eq!(stored.len(), 2, "the loser's blob is removed: {stored:?}");
    assert!(stored.contains(&won[0].blob_id));
}

fn tag_set(pairs: &[(&str, &str)]) -> Tags {
    Tags::new(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
    .expect("valid tags")
}

#[tokio::test]
async fn tags_are_written_read_replaced_and_copied() {
    let f = fixture();
    let t = tag_set(&[("b", "2"), ("a", "1")]);
    let written = f
        .svc
        .put_object(
            f.alice,
            PutObjectInput {
                tags: t.clone(),
                ..put("tagb", "k", b"body")
            },
        )
        .await
        .unwrap();
    assert_eq!(written.tags, t);
    assert_eq!(
        f.svc.get_object_tags(f.alice, "tagb", "k").await.unwrap(),
        t
    );

    // Replacing the tags changes nothing else of the object.
    let t2 = tag_set(&[("only", "one")]);
    f.svc
        .put_object_tags(f.alice, "tagb", "k", &t2)
        .await
        .unwrap();
    let HeadObjectOutput::Found { meta: after, .. } = f
        .svc
        .head_object(f.alice, "tagb", "k", &Conditions::default())
        .await
        .unwrap()
    else {
        panic!("no conditions, no 304");
    };
    assert_eq!(
        after,
        ObjectMeta {
            tags: t2.clone(),
            versioned: false,
            in_versioned_bucket: false,
            lock: Default::default(),
            ..written.clone()
        },
        "same id, blob, ETag and last-modified time"
    );
    assert_eq!(read_all(&f.svc, f.alice, "tagb", "k").await, b"body");

    // A copy keeps the source's tags, or takes the ones given.
    let copied = f
        .svc
        .copy_object(
            f.alice,
            "tagb",
            "k",
            &Conditions::default(),
            "tagb",
            "copy",
            MetadataDirective::Copy,
            TaggingDirective::Copy,
        )
        .await
        .unwrap()
        .0;
    assert_eq!(copied.tags, t2);
    let replaced = f
        .svc
        .copy_object(
            f.alice,
            "tagb",
            "k",
            &Conditions::default(),
            "tagb",
            "copy2",
            MetadataDirective::Copy,
            TaggingDirective::Replace(Tags::default()),
        )
        .await
        .unwrap()
        .0;
    assert!(replaced.tags.is_empty());

    // An empty set removes them; a rewrite without tags has none.
    f.svc
        .put_object_tags(f.alice, "tagb", "copy", &Tags::default())
        .await
        .unwrap();
    assert!(
        f.svc
            .get_object_tags(f.alice, "tagb", "copy")
            .await
            .unwrap()
            .is_empty()
    );
    f.svc
        .put_object(f.alice, put("tagb", "k", b"again"))
        .await
        .unwrap();
    assert!(
        f.svc
            .get_object_tags(f.alice, "tagb", "k")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn tagging_is_owner_checked_and_needs_the_object() {
    let f = fixture();
    f.svc
        .put_object(f.alice, put("owned", "k", b"x"))
        .await
        .unwrap();
    let t = tag_set(&[("a", "b")]);
    let refusals: Vec<(&str, CoreResult<()>, &str)> = vec![
        (
            "another owner's object",
            f.svc
                .put_object_tags(f.bob, "owned", "k", &t)
                .await
                .map(drop),
            "Forbidden",
        ),
        (
            "another owner's read",
            f.svc.get_object_tags(f.bob, "owned", "k").await.map(drop),
            "Forbidden",
        ),
        (
            "a missing key",
            f.svc
                .put_object_tags(f.alice, "owned", "nope", &t)
                .await
                .map(drop),
            "NotFound(Object)",
        ),
        (
            "a missing key's tags",
            f.svc
                .get_object_tags(f.alice, "owned", "nope")
                .await
                .map(drop),
            "NotFound(Object)",
        ),
        (
            "a missing bucket",
            f.svc
                .put_object_tags(f.alice, "nobucket", "k", &t)
                .await
                .map(drop),
            "NotFound(Bucket)",
        ),
    ];
    for (what, got, want) in refusals {
        let kind = match got {
            Err(CoreError::Forbidden(_)) => "Forbidden".to_owned(),
            Err(CoreError::NotFound { resource, .. }) => format!("NotFound({resource:?})"),
            other => format!("{other:?}"),
        };
        assert_eq!(kind, want, "{what}");
    }
    assert!(
        f.svc
            .get_object_tags(f.alice, "owned", "k")
            .await
            .unwrap()
            .is_empty(),
        "refused updates change nothing"
    );
    assert_eq!(f.repo.objects.lock().unwrap().len(), 1, "nothing created");
}

#[tokio::test]
async fn bucket_cors_is_the_owners_and_readable_by_anyone() {
    let f = fixture();
    f.svc.create_bucket(f.alice, "site").await.unwrap();
    let cors = CorsConfiguration::new(vec![CorsRule {
        allowed_origins: vec!["http://localhost:3000".into()],
        allowed_methods: vec!["PUT".into()],
        ..CorsRule::default()
    }])
    .unwrap();
    assert_eq!(f.svc.get_bucket_cors(f.alice, "site").await.unwrap(), None);
    assert_eq!(
        f.svc.bucket_cors("site").await.unwrap(),
        BucketCors::NotConfigured
    );
    f.svc
        .set_bucket_cors(f.alice, "site", Some(&cors))
        .await
        .unwrap();
    assert_eq!(
        f.svc.get_bucket_cors(f.alice, "site").await.unwrap(),
        Some(cors.clone())
    );
    // Anyone's request reads it (CORS is decided before authentication).
    assert_eq!(
        f.svc.bucket_cors("site").await.unwrap(),
        BucketCors::Configured(cors.clone())
    );
    // Another owner can neither read nor change it.
    assert!(matches!(
        f.svc.get_bucket_cors(f.bob, "site").await,
        Err(CoreError::Forbidden(_))
    ));
    assert!(matches!(
        f.svc.set_bucket_cors(f.bob, "site", None).await,
        Err(CoreError::Forbidden(_))
    ));
    assert_eq!(
        f.svc.bucket_cors("site").await.unwrap(),
        BucketCors::Configured(cors)
    );
    // Missing buckets, and names that are no bucket names.
    assert!(matches!(
        f.svc.set_bucket_cors(f.alice, "nope", None).await,
        Err(CoreError::NotFound {
            resource: Resource::Bucket,
            ..
        })
    ));
    assert_eq!(
        f.svc.bucket_cors("nope").await.unwrap(),
        BucketCors::NoBucket
    );
    assert_eq!(
        f.svc.bucket_cors("UP/per").await.unwrap(),
        BucketCors::NoBucket
    );
    // Removing it.
    f.svc.set_bucket_cors(f.alice, "site", None).await.unwrap();
    assert_eq!(f.svc.get_bucket_cors(f.alice, "site").await.unwrap(), None);
}

#[tokio::test]
async fn bucket_tags_are_the_owners_and_go_with_the_bucket() {
    let f = fixture();
    f.svc.create_bucket(f.alice, "tagged").await.unwrap();
    let tags = Tags::for_bucket(vec![
        ("team".into(), "blue".into()),
        ("env".into(), "dev".into()),
    ])
    .unwrap();
    assert!(
        f.svc
            .get_bucket_tags(f.alice, "tagged")
            .await
            .unwrap()
            .is_empty()
    );
    f.svc
        .set_bucket_tags(f.alice, "tagged", &tags)
        .await
        .unwrap();
    assert_eq!(
        f.svc.get_bucket_tags(f.alice, "tagged").await.unwrap(),
        tags,
        "read back in the order put"
    );
    // Another owner can neither read nor change them.
    assert!(matches!(
        f.svc.get_bucket_tags(f.bob, "tagged").await,
        Err(CoreError::Forbidden(_))
    ));
    assert!(matches!(
        f.svc
            .set_bucket_tags(f.bob, "tagged", &Tags::default())
            .await,
        Err(CoreError::Forbidden(_))
    ));
    assert_eq!(
        f.svc.get_bucket_tags(f.alice, "tagged").await.unwrap(),
        tags
    );
    assert!(matches!(
        f.svc.get_bucket_tags(f.alice, "nope").await,
        Err(CoreError::NotFound {
            resource: Resource::Bucket,
            ..
        })
    ));
    // An empty set removes them.
    f.svc
        .set_bucket_tags(f.alice, "tagged", &Tags::default())
        .await
        .unwrap();
    assert!(
        f.svc
            .get_bucket_tags(f.alice, "tagged")
            .await
            .unwrap()
            .is_empty()
    );
    // Deleting the bucket drops them.
    f.svc
        .set_bucket_tags(f.alice, "tagged", &tags)
        .await
        .unwrap();
    f.svc.delete_bucket(f.alice, "tagged").await.unwrap();
    f.svc.create_bucket(f.alice, "tagged").await.unwrap();
    assert!(
        f.svc
            .get_bucket_tags(f.alice, "tagged")
            .await
            .unwrap()
            .is_empty(),
        "a recreated bucket has no tags"
    );
}

#[tokio::test]
async fn public_reads_need_a_lifted_block_and_a_matching_policy() {
    let f = fixture();
    let forbidden = |r: CoreResult<()>| matches!(r, Err(CoreError::Forbidden(_)));
    f.svc
        .put_object(f.alice, put("site", "pub/a.txt", b"hello"))
        .await
        .unwrap();
    f.svc
        .put_object(f.alice, put("site", "private/b.txt", b"secret"))
        .await
        .unwrap();
    let get = PublicAction::GetObject;
    let grant = |key: &'static str| {
        let svc = &f.svc;
        async move {
            svc.public_grant(None, "site", get, Some(key))
                .await
                .unwrap()
        }
    };
    let doc = r#"{"Statement":[
        {"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::site/*","arn:aws:s3:::site"]},
        {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/private/*"}]}"#;
    let policy = BucketPolicy::parse("site", doc).unwrap();
    // No policy: nothing.
    assert_eq!(grant("pub/a.txt").await, None);
    // A public policy is refused while BlockPublicPolicy is on (default).
    let err = f
        .svc
        .set_bucket_policy(f.alice, "site", Some(&policy))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Forbidden(m) if m.contains("BlockPublicPolicy")),
        "{err:?}"
    );
    // Bob may neither lift the block nor put a policy.
    assert!(forbidden(
        f.svc.set_public_access_block(f.bob, "site", None).await
    ));
    assert!(forbidden(
        f.svc.set_bucket_policy(f.bob, "site", Some(&policy)).await
    ));
    f.svc
        .set_public_access_block(f.alice, "site", None)
        .await
        .unwrap();
    f.svc
        .set_bucket_policy(f.alice, "site", Some(&policy))
        .await
        .unwrap();
    assert_eq!(
        f.svc.get_bucket_policy(f.alice, "site").await.unwrap(),
        Some(doc.to_owned())
    );
    let g = grant("pub/a.txt").await.expect("public read granted");
    assert_eq!(g.owner(), f.alice.user_id);
    match f
        .svc
        .get_object(
            Reader::Public(g.clone()),
            "site",
            "pub/a.txt",
            &GetObjectOptions::default(),
        )
        .await
        .unwrap()
    {
        GetObjectOutput::Body { meta, .. } => assert_eq!(meta.size_bytes, 5),
        GetObjectOutput::NotModified(..) => panic!("not modified"),
    }
    // The grant reads only its own key.
    assert!(forbidden(
        f.svc
            .get_object(
                Reader::Public(g.clone()),
                "site",
                "private/b.txt",
                &GetObjectOptions::default()
            )
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc
            .list_objects(Reader::Public(g), "site", &ListObjectsInput::default())
            .await
            .map(drop)
    ));
    assert_eq!(grant("private/b.txt").await, None, "Deny wins");
    let list = f
        .svc
        .public_grant(None, "site", PublicAction::ListBucket, None)
        .await
        .unwrap()
        .expect("list granted");
    let page = f
        .svc
        .list_objects(
            Reader::Public(list),
            "site",
            &ListObjectsInput {
                max_keys: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 2);
    // RestrictPublicBuckets back on: nothing, policy or not.
    f.svc
        .set_public_access_block(
            f.alice,
            "site",
            Some(&PublicAccessBlock {
                block_public_policy: false,
                ..PublicAccessBlock::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(grant("pub/a.txt").await, None);
    f.svc
        .set_public_access_block(f.alice, "site", None)
        .await
        .unwrap();
    assert!(grant("pub/a.txt").await.is_some());
    f.svc
        .set_bucket_policy(f.alice, "site", None)
        .await
        .unwrap();
    assert_eq!(grant("pub/a.txt").await, None);
    assert_eq!(
        f.svc.get_bucket_policy(f.alice, "site").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn signed_callers_of_other_accounts_get_what_the_policy_grants_everyone() {
    let f = fixture();
    let forbidden = |r: CoreResult<()>| matches!(r, Err(CoreError::Forbidden(_)));
    let mut tagged = put("site", "pub/a.txt", b"hello");
    tagged.tags = tag_set(&[("team", "web")]);
    f.svc.put_object(f.alice, tagged).await.unwrap();
    f.svc
        .put_object(f.alice, put("site", "private/b.txt", b"secret"))
        .await
        .unwrap();
    f.svc
        .put_object(f.bob, put("mine", "x", b"x"))
        .await
        .unwrap();
    let read = |reader: Reader, key: &'static str| {
        let svc = &f.svc;
        async move {
            svc.get_object(reader, "site", key, &GetObjectOptions::default())
                .await
                .map(|out| match out {
                    GetObjectOutput::Body { meta, .. } => meta.size_bytes,
                    GetObjectOutput::NotModified(..) => panic!("not modified"),
                })
        }
    };
    let bob = Reader::Signed(f.bob);
    // No policy: Bob is refused.
    assert!(forbidden(read(bob.clone(), "pub/a.txt").await.map(drop)));
    let doc = r#"{"Statement":[
        {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"},
        {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/private/*"}]}"#;
    f.svc
        .set_public_access_block(f.alice, "site", None)
        .await
        .unwrap();
    f.svc
        .set_bucket_policy(
            f.alice,
            "site",
            Some(&BucketPolicy::parse("site", doc).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(read(bob.clone(), "pub/a.txt").await.unwrap(), 5);
    // As owner (the native API's rule) Bob still reads nothing of Alice's.
    assert!(forbidden(
        read(Reader::Owner(f.bob), "pub/a.txt").await.map(drop)
    ));
    // Without s3:ListBucket a missing key is Forbidden, not NotFound.
    assert!(forbidden(read(bob.clone(), "pub/none").await.map(drop)));
    // The Deny applies to Bob, and to Alice too: it names everyone.
    assert!(forbidden(
        read(bob.clone(), "private/b.txt").await.map(drop)
    ));
    assert!(forbidden(
        read(Reader::Signed(f.alice), "private/b.txt")
            .await
            .map(drop)
    ));
    assert!(matches!(
        read(Reader::Signed(f.alice), "pub/none").await,
        Err(CoreError::NotFound {
            resource: Resource::Object,
            ..
        })
    ));
    // No listing for Bob; Alice's listing names her as the owner.
    assert!(forbidden(
        f.svc
            .list_objects(bob.clone(), "site", &ListObjectsInput::default())
            .await
            .map(drop)
    ));
    let page = f
        .svc
        .list_objects(
            Reader::Signed(f.alice),
            "site",
            &ListObjectsInput {
                max_keys: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((page.objects.len(), page.owner), (2, f.alice.user_id));
    // Copies: a public source into Bob's own bucket, not its tags (the
    // policy does not grant s3:GetObjectTagging), never into Alice's.
    let copy = |dst: &'static str, key: &'static str, tagging: TaggingDirective| {
        let svc = &f.svc;
        let bob = f.bob;
        async move {
            svc.copy_object(
                bob,
                "site",
                key,
                &Conditions::default(),
                dst,
                "copied",
                MetadataDirective::Copy,
                tagging,
            )
            .await
            .map(|(copied, _)| copied)
        }
    };
    let err = copy("mine", "pub/a.txt", TaggingDirective::Copy)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Forbidden(m) if m.contains("s3:GetObjectTagging")),
        "{err:?}"
    );
    let copied = copy(
        "mine",
        "pub/a.txt",
        TaggingDirective::Replace(Tags::default()),
    )
    .await
    .unwrap();
    assert_eq!((copied.size_bytes, copied.tags.len()), (5, 0));
    assert!(forbidden(
        copy(
            "mine",
            "private/b.txt",
            TaggingDirective::Replace(Tags::default())
        )
        .await
        .map(drop)
    ));
    assert!(forbidden(
        copy(
            "site",
            "pub/a.txt",
            TaggingDirective::Replace(Tags::default())
        )
        .await
        .map(drop)
    ));
    // With s3:GetObjectTagging granted too, the tags come along.
    let doc = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectTagging"],"Resource":"arn:aws:s3:::site/pub/*"}}"#;
    f.svc
        .set_bucket_policy(
            f.alice,
            "site",
            Some(&BucketPolicy::parse("site", doc).unwrap()),
        )
        .await
        .unwrap();
    let copied = copy("mine", "pub/a.txt", TaggingDirective::Copy)
        .await
        .unwrap();
    assert_eq!(copied.tags, tag_set(&[("team", "web")]));
    // RestrictPublicBuckets on: nothing for Bob; Alice unaffected.
    f.svc
        .set_public_access_block(
            f.alice,
            "site",
            Some(&PublicAccessBlock {
                block_public_policy: false,
                ..PublicAccessBlock::default()
            }),
        )
        .await
        .unwrap();
    assert!(forbidden(read(bob, "pub/a.txt").await.map(drop)));
    assert_eq!(read(Reader::Signed(f.alice), "pub/a.txt").await.unwrap(), 5);
}

#[tokio::test]
async fn an_allow_naming_a_user_grants_that_user_alone_even_behind_block_public_access() {
    let f = fixture();
    let carol = caller();
    let forbidden = |r: CoreResult<()>| matches!(r, Err(CoreError::Forbidden(_)));
    f.svc
        .put_object(f.alice, put("site", "shared/a.txt", b"hello"))
        .await
        .unwrap();
    f.svc
        .put_object(f.alice, put("site", "shared/secret.txt", b"secret"))
        .await
        .unwrap();
    let read = |reader: Reader, key: &'static str| {
        let svc = &f.svc;
        async move {
            svc.get_object(reader, "site", key, &GetObjectOptions::default())
                .await
                .map(|out| match out {
                    GetObjectOutput::Body { meta, .. } => meta.size_bytes,
                    GetObjectOutput::NotModified(..) => panic!("not modified"),
                })
        }
    };
    let set = |doc: String| {
        let svc = &f.svc;
        let alice = f.alice;
        async move {
            let policy = BucketPolicy::parse("site", &doc).unwrap();
            svc.set_bucket_policy(alice, "site", Some(&policy)).await
        }
    };
    let bob_id = f.bob.user_id;
    let to_bob = format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{bob_id}:root"}},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::site","arn:aws:s3:::site/shared/*"]}}"#
    );
    let deny_bob = format!(
        r#"{{"Effect":"Deny","Principal":{{"CanonicalUser":"{bob_id}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/shared/secret.txt"}}"#
    );
    // Not public: accepted with all four Block Public Access settings on.
    assert_eq!(
        f.svc
            .get_bucket_policy_status(f.alice, "site")
            .await
            .unwrap(),
        None
    );
    set(format!(r#"{{"Statement":[{to_bob},{deny_bob}]}}"#))
        .await
        .unwrap();
    assert_eq!(
        f.svc
            .get_bucket_policy_status(f.alice, "site")
            .await
            .unwrap(),
        Some(false)
    );
    assert!(forbidden(
        f.svc
            .get_bucket_policy_status(f.bob, "site")
            .await
            .map(drop)
    ));
    let bob = Reader::Signed(f.bob);
    assert_eq!(read(bob.clone(), "shared/a.txt").await.unwrap(), 5);
    let page = f
        .svc
        .list_objects(
            bob.clone(),
            "site",
            &ListObjectsInput {
                max_keys: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((page.objects.len(), page.owner), (2, f.alice.user_id));
    // With s3:ListBucket a missing key is NotFound for Bob.
    assert!(matches!(
        read(bob.clone(), "shared/none").await,
        Err(CoreError::NotFound {
            resource: Resource::Object,
            ..
        })
    ));
    // The Deny naming Bob wins; Carol and anonymous callers get nothing;
    // the owner is unaffected; a write is never granted.
    assert!(forbidden(
        read(bob.clone(), "shared/secret.txt").await.map(drop)
    ));
    assert!(forbidden(
        read(Reader::Signed(carol), "shared/a.txt").await.map(drop)
    ));
    assert_eq!(
        f.svc
            .public_grant(None, "site", PublicAction::GetObject, Some("shared/a.txt"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        read(Reader::Signed(f.alice), "shared/secret.txt")
            .await
            .unwrap(),
        6
    );
    assert!(forbidden(
        f.svc
            .put_object(f.bob, put("site", "shared/b.txt", b"x"))
            .await
            .map(drop)
    ));
    // Everyone and Bob in one policy is public: refused by
    // BlockPublicPolicy, the stored policy unchanged.
    let everyone = r#"{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/pub/*"}"#;
    let mixed = format!(r#"{{"Statement":[{to_bob},{everyone}]}}"#);
    let err = set(mixed.clone()).await.unwrap_err();
    assert!(
        matches!(&err, CoreError::Forbidden(m) if m.contains("BlockPublicPolicy")),
        "{err:?}"
    );
    assert_eq!(read(bob.clone(), "shared/a.txt").await.unwrap(), 5);
    // Accepted once BlockPublicPolicy is off; then RestrictPublicBuckets
    // (still on) blocks every grant of the public policy, Bob's too.
    f.svc
        .set_public_access_block(
            f.alice,
            "site",
            Some(&PublicAccessBlock {
                block_public_policy: false,
                ..PublicAccessBlock::default()
            }),
        )
        .await
        .unwrap();
    set(mixed).await.unwrap();
    assert_eq!(
        f.svc
            .get_bucket_policy_status(f.alice, "site")
            .await
            .unwrap(),
        Some(true)
    );
    assert!(forbidden(read(bob.clone(), "shared/a.txt").await.map(drop)));
    f.svc
        .set_public_access_block(f.alice, "site", None)
        .await
        .unwrap();
    assert_eq!(read(bob, "shared/a.txt").await.unwrap(), 5);
    assert!(forbidden(
        read(Reader::Signed(carol), "shared/a.txt").await.map(drop)
    ));
}

#[tokio::test]
async fn an_explicit_deny_applies_to_the_owner_but_never_to_managing_the_policy() {
    let f = fixture();
    let forbidden = |r: CoreResult<()>| matches!(r, Err(CoreError::Forbidden(_)));
    for key in ["locked/a.txt", "open/b.txt"] {
        f.svc
            .put_object(f.alice, put("site", key, b"bytes"))
            .await
            .unwrap();
    }
    let deny_all = r#"{"Statement":[
        {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/locked/*"},
        {"Effect":"Deny","Principal":{"AWS":"*"},"Action":["s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::site/locked/*"},
        {"Effect":"Deny","Principal":"*","Action":["s3:*"],"Resource":"arn:aws:s3:::site"}]}"#;
    f.svc
        .set_bucket_policy(
            f.alice,
            "site",
            Some(&BucketPolicy::parse("site", deny_all).unwrap()),
        )
        .await
        .unwrap();
    let alice = f.alice;
    let get = |key: &'static str| {
        let svc = &f.svc;
        async move {
            svc.get_object(alice, "site", key, &GetObjectOptions::default())
                .await
                .map(drop)
        }
    };
    // Denied: reads, metadata, writes and deletes under the prefix, and
    // every bucket-level action (`s3:*` on the bucket).
    let err = get("locked/a.txt").await.unwrap_err();
    assert!(
        matches!(&err, CoreError::Forbidden(m) if m.contains("s3:GetObject") && m.contains("explicit deny")),
        "{err:?}"
    );
    assert!(forbidden(
        f.svc
            .head_object(alice, "site", "locked/a.txt", &Conditions::default())
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc
            .get_object_attributes(alice, "site", "locked/a.txt")
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc
            .put_object(alice, put("site", "locked/new.txt", b"x"))
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc
            .delete_object(alice, "site", "locked/a.txt")
            .await
            .map(drop)
    ));
    let results = f
        .svc
        .delete_objects(alice, "site", &["locked/a.txt".into(), "open/b.txt".into()])
        .await
        .unwrap();
    assert!(
        matches!(results[0], Err(CoreError::Forbidden(_))),
        "{results:?}"
    );
    assert!(matches!(results[1], Ok(true)), "{results:?}");
    assert!(forbidden(
        f.svc
            .list_objects(alice, "site", &ListObjectsInput::default())
            .await
            .map(drop)
    ));
    assert!(forbidden(
        f.svc.get_bucket_tags(alice, "site").await.map(drop)
    ));
    assert!(forbidden(f.svc.delete_bucket(alice, "site").await));
    // Not denied: other keys, other actions on the prefix.
    f.svc
        .put_object(alice, put("site", "open/c.txt", b"c"))
        .await
        .unwrap();
    get("open/c.txt").await.unwrap();
    assert!(
        f.svc
            .get_object_tags(alice, "site", "locked/a.txt")
            .await
            .unwrap()
            .is_empty()
    );
    // The policy itself: always the owner's to read, replace and delete.
    assert!(
        f.svc
            .get_bucket_policy(alice, "site")
            .await
            .unwrap()
            .is_some()
    );
    f.svc.set_bucket_policy(alice, "site", None).await.unwrap();
    get("locked/a.txt").await.unwrap();
    f.svc
        .delete_object(alice, "site", "locked/a.txt")
        .await
        .unwrap();
    // Another account is still refused as before, policy or not.
    assert!(forbidden(
        f.svc
            .get_object(f.bob, "site", "open/c.txt", &GetObjectOptions::default())
            .await
            .map(drop)
    ));
}

/// A commit whose answer is lost (the connection broke) may have happened:
/// its blob is kept, so a committed row never loses its bytes; when it did
/// not happen the blob is an orphan, which the start-up sweep removes.
#[tokio::test]
async fn a_commit_whose_answer_is_lost_keeps_its_blob() {
    let f = fixture();
    f.svc
        .put_object(f.alice, put("lost", "k", b"first"))
        .await
        .unwrap();
    // Committed, answer lost: the error reaches the client, and the row's
    // bytes are still there.
    *f.repo.lose_answers.lock().unwrap() = Some(true);
    let err = f
        .svc
        .put_object(f.alice, put("lost", "k", b"second"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    *f.repo.lose_answers.lock().unwrap() = None;
    assert_eq!(read_all(&f.svc, f.alice, "lost", "k").await, b"second");

    // Not committed, answer lost: the previous version stays, the new blob
    // is an orphan until the sweep.
    *f.repo.lose_answers.lock().unwrap() = Some(false);
    let before = f.blobs.ids().len();
    f.svc
        .put_object(f.alice, put("lost", "k", b"third"))
        .await
        .unwrap_err();
    *f.repo.lose_answers.lock().unwrap() = None;
    assert_eq!(read_all(&f.svc, f.alice, "lost", "k").await, b"second");
    assert_eq!(f.blobs.ids().len(), before + 1);
    let report = f.svc.sweep().await.unwrap();
    assert!(report.orphans >= 1, "{report:?}");
    assert_eq!(read_all(&f.svc, f.alice, "lost", "k").await, b"second");
}
