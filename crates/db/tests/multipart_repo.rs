//! Contract of the `MultipartRepo` port: one table of cases, run on SQLite
//! and on Postgres.

mod common;

use miniaws_core::CoreError;
use miniaws_core::Resource;
use miniaws_core::identity::{IdentityService, SecretSealer, SecretsKey, UserId};
use miniaws_core::multipart::{
    ChecksumAlgorithm, CompletedUpload, MultipartRepo, MultipartUpload, Part, PartChecksum,
    UploadId,
};
use miniaws_core::storage::{
    BlobId, BucketName, ETag, ObjectId, ObjectKey, ObjectMeta, ObjectWrite, StorageRepo, Tags,
    WriteCondition,
};
use miniaws_db::Database;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// (description, prefix, after, limit, expected ids)
type ListCase<'a> = (
    &'a str,
    &'a str,
    Option<(&'a str, Option<UploadId>)>,
    u32,
    Vec<UploadId>,
);

fn upload(owner: UserId, bucket: &str, key: &str, at: OffsetDateTime) -> MultipartUpload {
    MultipartUpload {
        id: UploadId::new(),
        bucket: BucketName::parse(bucket).expect("valid bucket"),
        key: ObjectKey::parse(key).expect("valid key"),
        owner,
        content_type: Some("text/plain".into()),
        user_metadata: BTreeMap::from([("colour".to_owned(), "blue".to_owned())]),
        headers: BTreeMap::from([("cache-control".to_owned(), "no-cache".to_owned())]),
        initiated_at: at,
        checksum_algorithm: None,
        tags: Tags::default(),
    }
}

fn part(upload: UploadId, n: u32, size: u64) -> Part {
    Part {
        upload_id: upload,
        part_number: n,
        blob_id: BlobId::new(),
        size_bytes: size,
        etag: ETag::from_stored(format!("{n:032x}")),
        last_modified: OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("valid"),
        checksum: None,
        crc64nvme: None,
    }
}

fn with_checksum(mut p: Part, algorithm: ChecksumAlgorithm, value: &str) -> Part {
    p.checksum = Some(PartChecksum {
        algorithm,
        value: value.to_owned(),
    });
    p
}

async fn contract(db: &Database) {
    let identity = IdentityService::new(
        db.identity_repo(),
        SecretSealer::new(&SecretsKey::generate()),
        true,
    );
    let owner = identity
        .sign_up("mpu-owner")
        .await
        .expect("sign-up")
        .user_id;
    let repo: Arc<dyn MultipartRepo> = db.multipart_repo();
    let repos = common::Repos {
        storage: db.storage_repo(),
        identity: db.identity_repo(),
    };
    for name in ["bkt", "other"] {
        repos.bucket(owner, name).await;
    }
    let t0 = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid")
        - Duration::hours(2);

    // Uploads: two on one key (ordered by initiation), others around them.
    let a1 = upload(owner, "bkt", "a", t0);
    let a2 = upload(owner, "bkt", "a", t0 + Duration::seconds(1));
    let mut b = upload(owner, "bkt", "b/x", t0 + Duration::hours(1));
    // An upload created with a checksum algorithm keeps it (migration 0009).
    b.checksum_algorithm = Some(ChecksumAlgorithm::Sha256);
    // And one created with tags keeps them, in order (migration 0010).
    b.tags = Tags::new(vec![
        ("team".to_owned(), "blü e".to_owned()),
        ("env".to_owned(), String::new()),
    ])
    .expect("valid tags");
    let pct = upload(owner, "bkt", "b%", t0 + Duration::hours(1));
    // Keys are bytes: NUL and non-ASCII survive, and sort by byte.
    let odd = upload(owner, "bkt", "z\0é", t0 + Duration::hours(1));
    let other = upload(owner, "other", "a", t0);
    for u in [&a1, &a2, &b, &pct, &odd, &other] {
        repo.create_upload(u, owner).await.expect("create upload");
    }
    // An upload into a bucket that is not there, or not the named owner's
    // (deleted, or deleted and made again by another, since the service
    // looked it up), is refused and leaves nothing.
    let orphan = upload(owner, "gone", "k", t0);
    let err = repo.create_upload(&orphan, owner).await.unwrap_err();
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
    let elsewhere = upload(owner, "bkt", "k", t0);
    let err = repo
        .create_upload(&elsewhere, UserId::new())
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    for u in [&orphan, &elsewhere] {
        assert_eq!(repo.get_upload(u.id).await.expect("get"), None);
    }
    assert_eq!(
        repo.get_upload(a1.id).await.expect("get"),
        Some(a1.clone()),
        "an upload reads back exactly"
    );
    assert_eq!(
        repo.get_upload(odd.id).await.expect("get"),
        Some(odd.clone())
    );
    assert_eq!(
        repo.get_upload(b.id).await.expect("get"),
        Some(b.clone()),
        "the checksum algorithm and the tags read back"
    );
    assert_eq!(
        repo.list_uploads(&BucketName::parse("bkt").expect("valid"), "b/", None, 10)
            .await
            .expect("list"),
        vec![b.clone()],
        "a listed upload carries its checksum algorithm and tags"
    );
    assert_eq!(repo.get_upload(UploadId::new()).await.expect("get"), None);

    let bkt = BucketName::parse("bkt").expect("valid");
    let ids = |v: Vec<MultipartUpload>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    let cases: Vec<ListCase> = vec![
        (
            "all, by key then time",
            "",
            None,
            10,
            vec![a1.id, a2.id, pct.id, b.id, odd.id],
        ),
        ("limit", "", None, 2, vec![a1.id, a2.id]),
        ("prefix is literal, not LIKE", "b%", None, 10, vec![pct.id]),
        ("prefix", "b", None, 10, vec![pct.id, b.id]),
        (
            "after a key",
            "",
            Some(("a", None)),
            10,
            vec![pct.id, b.id, odd.id],
        ),
        ("prefix with NUL", "z\0", None, 10, vec![odd.id]),
        (
            "after an upload of a key",
            "",
            Some(("a", Some(a1.id))),
            10,
            vec![a2.id, pct.id, b.id, odd.id],
        ),
    ];
    for (desc, prefix, after, limit, want) in cases {
        let got = repo
            .list_uploads(&bkt, prefix, after, limit)
            .await
            .unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(ids(got), want, "case: {desc}");
    }

    // Parts: insert, replace (returns the old blob), list in order.
    // Part checksums round-trip, and a re-upload replaces (or clears) them.
    let p1 = with_checksum(
        part(a1.id, 1, 5 << 20),
        ChecksumAlgorithm::Crc32,
        "DUoRhQ==",
    );
    // A part's CRC64NVME (migration 0015) round-trips beside its checksum.
    let p1 = Part {
        crc64nvme: Some("jSnVw/bqjr4=".into()),
        ..p1
    };
    let p2 = with_checksum(part(a1.id, 2, 10), ChecksumAlgorithm::Sha1, "c2hhMQ==");
    let p3 = Part {
        crc64nvme: Some("AAAAAAAAAAA=".into()),
        ..part(a1.id, 3, 0)
    };
    for p in [&p3, &p1, &p2] {
        assert_eq!(
            repo.put_part(p).await.expect("put part"),
            None,
            "a new part replaces nothing"
        );
    }
    let p2b = part(a1.id, 2, 11);
    // (The re-upload has no CRC64NVME: the replaced part's goes with it.)
    let p3b = with_checksum(part(a1.id, 3, 1), ChecksumAlgorithm::Crc32c, "yZRlqg==");
    assert_eq!(
        repo.put_part(&p3b).await.expect("replace part"),
        Some(p3.blob_id)
    );
    let p3 = p3b;
    assert_eq!(
        repo.put_part(&p2b).await.expect("replace part"),
        Some(p2.blob_id),
        "re-uploading a part number returns the replaced blob"
    );
    // The start-up sweep must keep part blobs: the storage repo's scan of
    // the parts' blob ids finds them.
    assert_eq!(
        common::referenced_blobs(&*db.storage_repo(), 2).await,
        std::collections::HashSet::from([p1.blob_id, p2b.blob_id, p3.blob_id]),
        "a part's blob is referenced; a replaced part's blob is not"
    );
    let listed = repo.list_parts(a1.id, 0, 100).await.expect("list parts");
    assert_eq!(
        listed,
        vec![p1.clone(), p2b.clone(), p3.clone()],
        "parts by number"
    );
    assert_eq!(
        repo.list_parts(a1.id, 1, 1).await.expect("page"),
        vec![p2b.clone()],
        "after and limit"
    );
    match repo.put_part(&part(UploadId::new(), 1, 1)).await {
        Err(CoreError::NotFound {
            resource: Resource::Upload,
            ..
        }) => {}
        other => panic!("a part of a missing upload must be NotFound(Upload), got {other:?}"),
    }

    // Expiry candidates: older than the cutoff, oldest first.
    let old = repo
        .uploads_initiated_before(t0 + Duration::minutes(30), 10)
        .await
        .expect("old uploads");
    let mut want = vec![a1.id, a2.id, other.id];
    want.sort_by_key(|id| {
        (
            [&a1, &a2, &other]
                .iter()
                .find(|u| u.id == *id)
                .map(|u| u.initiated_at),
            *id,
        )
    });
    assert_eq!(old, want, "uploads initiated before the cutoff");

    // Delete: returns the parts' blobs once, then None.
    let mut blobs = repo
        .delete_upload(a1.id)
        .await
        .expect("delete")
        .expect("the upload existed");
    blobs.sort();
    let mut want = vec![p1.blob_id, p2b.blob_id, p3.blob_id];
    want.sort();
    assert_eq!(blobs, want, "deleting returns every part's blob");
    assert_eq!(repo.delete_upload(a1.id).await.expect("delete again"), None);
    assert_eq!(repo.get_upload(a1.id).await.expect("get"), None);
    assert!(
        repo.list_parts(a1.id, 0, 100)
            .await
            .expect("list")
            .is_empty()
    );
    races(&repo, owner, t0).await;
    db.close().await;
}

/// Concurrent writers: every blob a part ever pointed to is handed back
/// exactly once — as a replaced part, as a deleted upload's part, or as the
/// refused write of a part that came too late — so none is left orphaned.
async fn races(repo: &Arc<dyn MultipartRepo>, owner: UserId, t0: OffsetDateTime) {
    // Sixteen uploads of the same part number at once.
    let u = upload(owner, "bkt", "race", t0);
    repo.create_upload(&u, owner).await.expect("create upload");
    let parts: Vec<Part> = (0..16).map(|_| part(u.id, 7, 100)).collect();
    let results = futures::future::join_all(parts.iter().map(|p| repo.put_part(p))).await;
    let mut handed_back: Vec<BlobId> = results
        .into_iter()
        .filter_map(|r| r.expect("every concurrent put_part succeeds"))
        .collect();
    let stored = repo.list_parts(u.id, 0, 100).await.expect("list parts");
    assert_eq!(stored.len(), 1, "one part 7 remains");
    handed_back.push(stored[0].blob_id);
    handed_back.sort();
    let mut all: Vec<BlobId> = parts.iter().map(|p| p.blob_id).collect();
    all.sort();
    assert_eq!(
        handed_back, all,
        "same-part uploads: each blob is either stored or returned as replaced, once"
    );

    // Parts racing an abort of their upload.
    let parts: Vec<Part> = (1..=16).map(|n| part(u.id, n, 100)).collect();
    let puts = futures::future::join_all(parts.iter().map(|p| repo.put_part(p)));
    let (results, deleted) = tokio::join!(puts, repo.delete_upload(u.id));
    let mut handed_back = deleted.expect("delete").expect("the upload existed");
    for (p, r) in parts.iter().zip(results) {
        match r {
            Ok(replaced) => handed_back.extend(replaced),
            Err(CoreError::NotFound {
                resource: Resource::Upload,
                ..
            }) => handed_back.push(p.blob_id),
            Err(e) => panic!("put_part racing delete_upload: {e:?}"),
        }
    }
    handed_back.sort();
    let mut all: Vec<BlobId> = parts.iter().map(|p| p.blob_id).collect();
    all.extend(stored.iter().map(|p| p.blob_id));
    all.sort();
    assert_eq!(
        handed_back, all,
        "parts racing an abort: each blob is returned by the delete or refused, once"
    );
}

/// The completed object of an upload of `bucket`/`key`, as the service
/// builds it (a new blob, a multipart ETag).
fn completed(
    owner: UserId,
    bucket: &BucketName,
    key: &str,
    condition: WriteCondition,
) -> ObjectWrite {
    ObjectWrite {
        owner,
        meta: ObjectMeta {
            id: ObjectId::new(),
            bucket: bucket.clone(),
            key: ObjectKey::parse(key).expect("valid key"),
            blob_id: BlobId::new(),
            size_bytes: 5 << 20,
            etag: ETag::from_stored(format!("{:032x}-2", rand_u128())),
            content_type: "text/plain".into(),
            user_metadata: BTreeMap::new(),
            headers: BTreeMap::new(),
            last_modified: common::at(10),
            parts: Vec::new(),
            tags: Tags::default(),
            versioned: false,
            in_versioned_bucket: false,
            lock: Default::default(),
        },
        condition,
    }
}

fn rand_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// What a case of the completion contract expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Committed, and the upload consumed.
    Completed,
    /// `NotFound(Upload)`.
    NoSuchUpload,
    /// `NotFound(Bucket)`.
    NoSuchBucket,
    /// `PreconditionFailed`.
    PreconditionFailed,
    /// `NotFound(Object)` (If-Match on a missing key).
    NoSuchKey,
}

fn outcome_of(r: &Result<CompletedUpload, CoreError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Completed,
        Err(CoreError::NotFound {
            resource: Resource::Upload,
            ..
        }) => Outcome::NoSuchUpload,
        Err(CoreError::NotFound {
            resource: Resource::Bucket,
            ..
        }) => Outcome::NoSuchBucket,
        Err(CoreError::NotFound {
            resource: Resource::Object,
            ..
        }) => Outcome::NoSuchKey,
        Err(CoreError::PreconditionFailed(_)) => Outcome::PreconditionFailed,
        Err(e) => panic!("an unexpected error: {e:?}"),
    }
}

/// The contract of `MultipartRepo::complete_upload`: the object's commit
/// and the upload's removal are one transaction, which happens once.
async fn completion_contract(fresh: &common::Fresh) {
    let repos = common::Repos::of(fresh);
    let repo: Arc<dyn MultipartRepo> = fresh.db.multipart_repo();
    let storage: Arc<dyn StorageRepo> = repos.storage.clone();
    let alice = repos.user("alice").await;
    let bob = repos.user("bob").await;
    let bkt = repos.bucket(alice, "bkt").await;
    let bobs = repos.bucket(bob, "bobs").await;
    let t0 = common::at(2);

    // The key "old" exists, "k" does not.
    let old = completed(alice, &bkt, "old", WriteCondition::Always);
    storage
        .put_object(alice, &old.meta)
        .await
        .expect("the existing version is written");

    let on_k = upload(alice, "bkt", "k", t0);
    let on_old = upload(alice, "bkt", "old", t0);
    let in_bobs = upload(alice, "bobs", "k", t0);
    let mut parts = Vec::new();
    for (u, bucket_owner) in [(&on_k, alice), (&on_old, alice), (&in_bobs, bob)] {
        repo.create_upload(u, bucket_owner)
            .await
            .expect("create upload");
        for n in 1..=3 {
            let p = part(u.id, n, 5 << 20);
            repo.put_part(&p).await.expect("put part");
            parts.push(p);
        }
    }
    let blobs_of = |id: UploadId| -> Vec<BlobId> {
        let mut v: Vec<BlobId> = parts
            .iter()
            .filter(|p| p.upload_id == id)
            .map(|p| p.blob_id)
            .collect();
        v.sort();
        v
    };
    let etag_of_old = old.meta.etag.clone();

    // (description, upload, write, expected outcome). In order: a refused
    // case writes nothing and leaves the upload whole for the next.
    let cases: Vec<(&str, UploadId, ObjectWrite, Outcome)> = vec![
        (
            "an unknown upload",
            UploadId::new(),
            completed(alice, &bkt, "k", WriteCondition::Always),
            Outcome::NoSuchUpload,
        ),
        (
            "an upload of another key",
            on_k.id,
            completed(alice, &bkt, "other", WriteCondition::Always),
            Outcome::NoSuchUpload,
        ),
        (
            "an upload of another owner",
            on_k.id,
            completed(bob, &bkt, "k", WriteCondition::Always),
            Outcome::NoSuchUpload,
        ),
        (
            "a bucket that is not the writer's",
            in_bobs.id,
            completed(alice, &bobs, "k", WriteCondition::Always),
            Outcome::NoSuchBucket,
        ),
        (
            "If-None-Match: * on a key that exists",
            on_old.id,
            completed(alice, &bkt, "old", WriteCondition::Absent),
            Outcome::PreconditionFailed,
        ),
        (
            "If-Match with another ETag",
            on_old.id,
            completed(
                alice,
                &bkt,
                "old",
                WriteCondition::ETagIs(ETag::from_stored("0".repeat(32))),
            ),
            Outcome::PreconditionFailed,
        ),
        (
            "If-Match: * on a key that does not exist",
            on_k.id,
            completed(alice, &bkt, "k", WriteCondition::Exists),
            Outcome::NoSuchKey,
        ),
        (
            "If-Match with the current ETag completes",
            on_old.id,
            completed(alice, &bkt, "old", WriteCondition::ETagIs(etag_of_old)),
            Outcome::Completed,
        ),
        (
            "a second completion of the same upload",
            on_old.id,
            completed(alice, &bkt, "old", WriteCondition::Always),
            Outcome::NoSuchUpload,
        ),
        (
            "If-None-Match: * on a new key completes",
            on_k.id,
            completed(alice, &bkt, "k", WriteCondition::Absent),
            Outcome::Completed,
        ),
        (
            "a completion after the upload completed",
            on_k.id,
            completed(alice, &bkt, "k", WriteCondition::Absent),
            Outcome::NoSuchUpload,
        ),
    ];
    for (desc, id, write, want) in cases {
        let key = &write.meta.key;
        let bucket = &write.meta.bucket;
        let before = storage.get_object(bucket, key).await.expect("read");
        let upload_before = repo.get_upload(id).await.expect("get upload");
        let parts_before = repo.list_parts(id, 0, 100).await.expect("list parts");
        let result = repo.complete_upload(id, &write).await;
        assert_eq!(outcome_of(&result), want, "case: {desc}: {result:?}");
        let after = storage.get_object(bucket, key).await.expect("read");
        match result {
            Ok(done) => {
                assert_eq!(
                    after.as_ref(),
                    Some(&write.meta),
                    "case: {desc}: the object is committed"
                );
                assert_eq!(
                    done.replaced,
                    before.map(|m| m.blob_id),
                    "case: {desc}: the replaced version's blob is handed back"
                );
                let mut handed = done.part_blobs.clone();
                handed.sort();
                assert_eq!(
                    handed,
                    blobs_of(id),
                    "case: {desc}: every part's blob is handed back"
                );
                assert_eq!(
                    repo.get_upload(id).await.expect("get"),
                    None,
                    "case: {desc}: the upload is gone"
                );
                assert!(
                    repo.list_parts(id, 0, 100).await.expect("list").is_empty(),
                    "case: {desc}: its parts are gone"
                );
                assert!(
                    common::referenced_blobs(&*storage, 1000)
                        .await
                        .is_disjoint(&done.part_blobs.iter().copied().collect()),
                    "case: {desc}: no row points to the parts' blobs any more (the sweep may remove them)"
                );
            }
            Err(_) => {
                assert_eq!(after, before, "case: {desc}: nothing is committed");
                assert_eq!(
                    repo.get_upload(id).await.expect("get"),
                    upload_before,
                    "case: {desc}: the upload is as it was"
                );
                assert_eq!(
                    repo.list_parts(id, 0, 100).await.expect("list"),
                    parts_before,
                    "case: {desc}: its parts are as they were"
                );
            }
        }
    }
    assert!(
        repo.list_uploads(&bkt, "", None, 10)
            .await
            .expect("list")
            .is_empty(),
        "both uploads of bkt are consumed"
    );
    assert_eq!(
        repo.list_uploads(&bobs, "", None, 10).await.expect("list"),
        vec![in_bobs.clone()],
        "the refused one stays"
    );

    // Racing completions of one upload: exactly one commits.
    let racing = upload(alice, "bkt", "race", t0);
    repo.create_upload(&racing, alice)
        .await
        .expect("create upload");
    let racing_parts: Vec<Part> = (1..=3).map(|n| part(racing.id, n, 5 << 20)).collect();
    for p in &racing_parts {
        repo.put_part(p).await.expect("put part");
    }
    let writes: Vec<ObjectWrite> = (0..8)
        .map(|_| completed(alice, &bkt, "race", WriteCondition::Always))
        .collect();
    let results =
        futures::future::join_all(writes.iter().map(|w| repo.complete_upload(racing.id, w))).await;
    let outcomes: Vec<Outcome> = results.iter().map(outcome_of).collect();
    let winners: Vec<usize> = (0..8)
        .filter(|&i| outcomes[i] == Outcome::Completed)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of racing completions commits: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Completed | Outcome::NoSuchUpload)),
        "the others are NoSuchUpload: {outcomes:?}"
    );
    let race_key = ObjectKey::parse("race").expect("valid");
    assert_eq!(
        storage.get_object(&bkt, &race_key).await.expect("read"),
        Some(writes[winners[0]].meta.clone()),
        "the winner's version is the object"
    );
    let done = results[winners[0]].as_ref().expect("the winner");
    let mut handed = done.part_blobs.clone();
    handed.sort();
    let mut want: Vec<BlobId> = racing_parts.iter().map(|p| p.blob_id).collect();
    want.sort();
    assert_eq!(handed, want, "the winner hands back every part's blob");

    // A completion racing an abort: exactly one of them consumes the
    // upload, and the parts' blobs are handed back once.
    for round in 0..4 {
        let u = upload(alice, "bkt", "vs-abort", t0);
        repo.create_upload(&u, alice).await.expect("create upload");
        let ps: Vec<Part> = (1..=2).map(|n| part(u.id, n, 5 << 20)).collect();
        for p in &ps {
            repo.put_part(p).await.expect("put part");
        }
        let w = completed(alice, &bkt, "vs-abort", WriteCondition::Always);
        let key = w.meta.key.clone();
        let before = storage.get_object(&bkt, &key).await.expect("read");
        let (completion, aborted) =
            tokio::join!(repo.complete_upload(u.id, &w), repo.delete_upload(u.id));
        let mut handed = match (&completion, aborted.expect("delete")) {
            (Ok(done), None) => {
                assert_eq!(
                    storage.get_object(&bkt, &key).await.expect("read"),
                    Some(w.meta.clone()),
                    "round {round}: the completion won and its object is committed"
                );
                done.part_blobs.clone()
            }
            (
                Err(CoreError::NotFound {
                    resource: Resource::Upload,
                    ..
                }),
                Some(blobs),
            ) => {
                assert_eq!(
                    storage.get_object(&bkt, &key).await.expect("read"),
                    before,
                    "round {round}: the abort won and nothing is committed"
                );
                blobs
            }
            (c, a) => panic!("round {round}: exactly one must win: complete {c:?}, abort {a:?}"),
        };
        handed.sort();
        let mut want: Vec<BlobId> = ps.iter().map(|p| p.blob_id).collect();
        want.sort();
        assert_eq!(
            handed, want,
            "round {round}: the parts' blobs are handed back once"
        );
        assert_eq!(repo.get_upload(u.id).await.expect("get"), None);
        assert!(
            repo.list_parts(u.id, 0, 100)
                .await
                .expect("list")
                .is_empty()
        );
    }
}

#[tokio::test]
async fn multipart_completion_contract_sqlite() {
    let fresh = common::sqlite(true).await;
    completion_contract(&fresh).await;
    fresh.db.close().await;
}

#[tokio::test]
async fn multipart_completion_contract_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    completion_contract(&fresh).await;
    fresh.db.close().await;
}

#[tokio::test]
async fn multipart_repo_contract_sqlite() {
    let fresh = common::sqlite(true).await;
    contract(&fresh.db).await;
}

#[tokio::test]
async fn multipart_repo_contract_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    contract(&fresh.db).await;
}
