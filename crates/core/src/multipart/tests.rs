//! Multipart service tests against in-memory fakes of its ports (the
//! multipart repo, and the storage service's repo and blob store).

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use md5::{Digest, Md5};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

use super::*;
use crate::Resource;
use crate::error::{CoreError, CoreResult, PartProblem};
use crate::identity::{ApiKeyId, Caller, UserId};
use crate::storage::mem_blobs::MemBlobs;
use crate::storage::mem_repo::MemRepo;
use crate::storage::{
    BlobId, BucketName, ByteStream, GetObjectOptions, GetObjectOutput, ObjectMeta, ObjectWrite,
    StorageService, WriteCondition,
};

/// Uploads and parts in maps. A completion writes its object into
/// `objects` (the storage service's fake repository) while it holds the
/// uploads' lock, so that the write and the upload's removal are one step,
/// as in the real repositories' transaction.
struct MemMultipart {
    uploads: Mutex<BTreeMap<UploadId, MultipartUpload>>,
    parts: Mutex<BTreeMap<(UploadId, u32), Part>>,
    objects: Arc<MemRepo>,
    /// Calls held back, by the name of the method (`complete_upload`,
    /// `list_parts`): such a call reports on the sender that it arrived,
    /// then waits for a permit before it runs. A test can race a completion
    /// (with another, with an abort) at the step it chooses.
    gates: Mutex<BTreeMap<&'static str, Gate>>,
}

/// See [`MemMultipart::gates`].
type Gate = (
    tokio::sync::mpsc::UnboundedSender<()>,
    Arc<tokio::sync::Semaphore>,
);

impl MemMultipart {
    fn new(objects: Arc<MemRepo>) -> Self {
        Self {
            uploads: Mutex::default(),
            parts: Mutex::default(),
            objects,
            gates: Mutex::default(),
        }
    }

    /// Holds calls of `method` back from now on: returns the receiver of
    /// their arrivals and the semaphore that lets them go.
    fn hold(
        &self,
        method: &'static str,
    ) -> (
        tokio::sync::mpsc::UnboundedReceiver<()>,
        Arc<tokio::sync::Semaphore>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let go = Arc::new(tokio::sync::Semaphore::new(0));
        self.gates.lock().unwrap().insert(method, (tx, go.clone()));
        (rx, go)
    }

    /// Lets calls of `method` run unheld again.
    fn release(&self, method: &'static str) {
        self.gates.lock().unwrap().remove(method);
    }

    /// Reports a call of `method` and waits for its permit, when held.
    async fn pass(&self, method: &'static str) {
        let gate = self.gates.lock().unwrap().get(method).cloned();
        if let Some((arrived, go)) = gate {
            let _ = arrived.send(());
            go.acquire().await.expect("the gate stays open").forget();
        }
    }

    /// Makes an upload look as if it was started `age` ago.
    fn age(&self, id: UploadId, age: time::Duration) {
        if let Some(u) = self.uploads.lock().unwrap().get_mut(&id) {
            u.initiated_at -= age;
        }
    }
}

#[async_trait]
impl MultipartRepo for MemMultipart {
    async fn create_upload(&self, upload: &MultipartUpload, _owner: UserId) -> CoreResult<()> {
        self.uploads
            .lock()
            .unwrap()
            .insert(upload.id, upload.clone());
        Ok(())
    }
    async fn get_upload(&self, id: UploadId) -> CoreResult<Option<MultipartUpload>> {
        Ok(self.uploads.lock().unwrap().get(&id).cloned())
    }
    async fn list_uploads(
        &self,
        bucket: &BucketName,
        prefix: &str,
        after: Option<(&str, Option<UploadId>)>,
        limit: u32,
    ) -> CoreResult<Vec<MultipartUpload>> {
        let uploads = self.uploads.lock().unwrap();
        let pos = |u: &MultipartUpload| (u.key.as_str().to_owned(), u.initiated_at, u.id);
        let after_pos = after.map(|(k, id)| match id.and_then(|id| uploads.get(&id)) {
            Some(u) => (pos(u), true),
            None => (
                (k.to_owned(), OffsetDateTime::UNIX_EPOCH, UploadId::new()),
                false,
            ),
        });
        let mut v: Vec<MultipartUpload> = uploads
            .values()
            .filter(|u| &u.bucket == bucket && u.key.as_str().starts_with(prefix))
            .filter(|u| match &after_pos {
                None => true,
                Some((p, true)) => pos(u) > *p,
                Some((p, false)) => u.key.as_str() > p.0.as_str(),
            })
            .cloned()
            .collect();
        v.sort_by_key(pos);
        v.truncate(limit as usize);
        Ok(v)
    }
    async fn put_part(&self, part: &Part) -> CoreResult<Option<BlobId>> {
        // The uploads' lock is held to the end, as the real repositories
        // lock the upload: no part lands after its upload went.
        let uploads = self.uploads.lock().unwrap();
        if !uploads.contains_key(&part.upload_id) {
            return Err(CoreError::not_found(
                Resource::Upload,
                part.upload_id.to_string(),
            ));
        }
        Ok(self
            .parts
            .lock()
            .unwrap()
            .insert((part.upload_id, part.part_number), part.clone())
            .map(|old| old.blob_id))
    }
    async fn list_parts(&self, upload: UploadId, after: u32, limit: u32) -> CoreResult<Vec<Part>> {
        self.pass("list_parts").await;
        let listed: Vec<Part> = self
            .parts
            .lock()
            .unwrap()
            .range((upload, after + 1)..=(upload, u32::MAX))
            .take(limit as usize)
            .map(|(_, p)| p.clone())
            .collect();
        // Held here, the caller has its listing and has not used it yet.
        self.pass("listed_parts").await;
        Ok(listed)
    }
    async fn delete_upload(&self, id: UploadId) -> CoreResult<Option<Vec<BlobId>>> {
        let mut uploads = self.uploads.lock().unwrap();
        if uploads.remove(&id).is_none() {
            return Ok(None);
        }
        let mut parts = self.parts.lock().unwrap();
        let keys: Vec<(UploadId, u32)> = parts.keys().filter(|(u, _)| *u == id).copied().collect();
        Ok(Some(
            keys.iter()
                .filter_map(|k| parts.remove(k))
                .map(|p| p.blob_id)
                .collect(),
        ))
    }
    async fn complete_upload(
        &self,
        id: UploadId,
        write: &ObjectWrite,
    ) -> CoreResult<CompletedUpload> {
        self.pass("complete_upload").await;
        let mut uploads = self.uploads.lock().unwrap();
        match uploads.get(&id) {
            Some(u)
                if u.bucket == write.meta.bucket
                    && u.key == write.meta.key
                    && u.owner == write.owner => {}
            _ => return Err(CoreError::not_found(Resource::Upload, id.to_string())),
        }
        let replaced = self
            .objects
            .apply_write(write.owner, &write.meta, &write.condition)?;
        uploads.remove(&id);
        let mut parts = self.parts.lock().unwrap();
        let keys: Vec<(UploadId, u32)> = parts.keys().filter(|(u, _)| *u == id).copied().collect();
        let part_blobs = keys
            .iter()
            .filter_map(|k| parts.remove(k))
            .map(|p| p.blob_id)
            .collect();
        Ok(CompletedUpload {
            replaced,
            part_blobs,
        })
    }
    async fn uploads_initiated_before(
        &self,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> CoreResult<Vec<UploadId>> {
        let mut v: Vec<(OffsetDateTime, UploadId)> = self
            .uploads
            .lock()
            .unwrap()
            .values()
            .filter(|u| u.initiated_at < cutoff)
            .map(|u| (u.initiated_at, u.id))
            .collect();
        v.sort();
        Ok(v.into_iter()
            .take(limit as usize)
            .map(|(_, id)| id)
            .collect())
    }
}

const MIB: usize = 1024 * 1024;

struct Fixture {
    repo: Arc<MemMultipart>,
    /// The storage service's repository (to damage a row behind its back).
    buckets: Arc<MemRepo>,
    blobs: Arc<MemBlobs>,
    storage: Arc<StorageService>,
    svc: MultipartService,
    alice: Caller,
    bob: Caller,
}

fn caller() -> Caller {
    Caller {
        user_id: UserId::new(),
        key_id: ApiKeyId::new(),
    }
}

async fn fixture() -> Fixture {
    let blobs = Arc::new(MemBlobs::default());
    let buckets = Arc::new(MemRepo::default());
    let repo = Arc::new(MemMultipart::new(buckets.clone()));
    let storage = Arc::new(StorageService::new(
        buckets.clone(),
        blobs.clone(),
        64 * MIB as u64,
    ));
    let svc = MultipartService::new(repo.clone(), storage.clone());
    let alice = caller();
    storage
        .create_bucket(alice, "bkt")
        .await
        .expect("the bucket is created");
    Fixture {
        repo,
        buckets,
        blobs,
        storage,
        svc,
        alice,
        bob: caller(),
    }
}

fn body(data: &[u8]) -> ByteStream {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(MIB)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks).boxed()
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

impl Fixture {
    async fn start(&self, key: &str) -> String {
        self.svc
            .create(
                self.alice,
                NewUpload {
                    bucket: "bkt".into(),
                    key: key.into(),
                    ..Default::default()
                },
            )
            .await
            .expect("the upload starts")
            .0
            .id
            .to_string()
    }

    async fn part(&self, key: &str, id: &str, n: u32, data: &[u8]) -> Part {
        self.svc
            .upload_part(
                self.alice,
                "bkt",
                key,
                id,
                n,
                body(data),
                Some(data.len() as u64),
                None,
                false,
                true,
                || None,
            )
            .await
            .unwrap_or_else(|e| panic!("part {n} uploads: {e:?}"))
    }

    async fn read(&self, key: &str) -> Vec<u8> {
        match self
            .storage
            .get_object(self.alice, "bkt", key, &GetObjectOptions::default())
            .await
            .expect("the object reads")
        {
            GetObjectOutput::Body { body, .. } => body
                .try_fold(Vec::new(), |mut acc, c| async move {
                    acc.extend_from_slice(&c);
                    Ok(acc)
                })
                .await
                .expect("the body streams"),
            GetObjectOutput::NotModified(..) => panic!("unexpected 304"),
        }
    }
}

fn done(parts: &[&Part]) -> Vec<CompletedPart> {
    parts
        .iter()
        .map(|p| CompletedPart {
            part_number: p.part_number,
            etag: p.etag.quoted(),
            checksum: None,
        })
        .collect()
}

fn problem(err: CoreError) -> PartProblem {
    match err {
        CoreError::InvalidPart { problem, .. } => problem,
        other => panic!("expected InvalidPart, got {other:?}"),
    }
}

#[tokio::test]
async fn complete_assembles_parts_with_the_md5_of_md5s_etag() {
    let f = fixture().await;
    let id = f.start("big").await;
    let (a, b, c) = (bytes(5 * MIB, 1), bytes(5 * MIB, 2), bytes(1000, 3));
    let p1 = f.part("big", &id, 1, &a).await;
    // A part uploaded twice: the later upload counts, the earlier blob goes.
    let first_p2 = f.part("big", &id, 2, &c).await;
    let p2 = f.part("big", &id, 2, &b).await;
    assert!(
        !f.blobs.ids().contains(&first_p2.blob_id),
        "a replaced part's blob is removed"
    );
    let p3 = f.part("big", &id, 3, &c).await;
    assert_eq!(p1.etag.as_str(), hex::encode(Md5::digest(&a)));

    let meta = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "big",
            &id,
            &done(&[&p1, &p2, &p3]),
            &WriteCondition::Always,
        )
        .await
        .expect("the upload completes");
    let mut md5s = Vec::new();
    for part in [&a, &b, &c] {
        md5s.extend_from_slice(&Md5::digest(part));
    }
    assert_eq!(
        meta.etag.as_str(),
        format!("{}-3", hex::encode(Md5::digest(&md5s)))
    );
    assert_eq!(meta.size_bytes, (a.len() + b.len() + c.len()) as u64);
    assert_eq!(f.read("big").await, [a, b, c].concat());
    assert_eq!(
        f.blobs.ids(),
        HashSet::from([meta.blob_id]),
        "only the object's blob remains: the parts' blobs are removed"
    );
    assert!(matches!(
        f.svc.list_parts(f.alice, "bkt", "big", &id, 0, 100).await,
        Err(CoreError::NotFound {
            resource: Resource::Upload,
            ..
        })
    ));
    // Quotes are optional in the request; a subset of parts may complete.
    let id = f.start("subset").await;
    let q1 = f.part("subset", &id, 1, &bytes(5 * MIB, 4)).await;
    f.part("subset", &id, 2, b"unused").await;
    let q3 = f.part("subset", &id, 3, b"tail").await;
    let requested = vec![
        CompletedPart {
            part_number: 1,
            etag: q1.etag.as_str().to_owned(),
            checksum: None,
        },
        CompletedPart {
            part_number: 3,
            etag: q3.etag.quoted(),
            checksum: None,
        },
    ];
    let meta = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "subset",
            &id,
            &requested,
            &WriteCondition::Always,
        )
        .await
        .expect("a subset completes");
    assert!(meta.etag.as_str().ends_with("-2"));
    assert_eq!(
        f.read("subset").await,
        [bytes(5 * MIB, 4), b"tail".to_vec()].concat()
    );
    assert_eq!(f.blobs.ids().len(), 2, "the unused part's blob is removed");
}

#[tokio::test]
async fn complete_refuses_unknown_parts_wrong_etags_and_bad_order() {
    let f = fixture().await;
    let id = f.start("k").await;
    let p1 = f.part("k", &id, 1, &bytes(5 * MIB, 1)).await;
    let p2 = f.part("k", &id, 2, b"last").await;
    let cases: Vec<(&str, Vec<CompletedPart>, PartProblem)> = vec![
        (
            "a part number never uploaded",
            vec![CompletedPart {
                part_number: 9,
                etag: p2.etag.quoted(),
                checksum: None,
            }],
            PartProblem::Missing,
        ),
        (
            "a wrong ETag",
            vec![CompletedPart {
                part_number: 1,
                etag: "\"0123456789abcdef0123456789abcdef\"".into(),
                checksum: None,
            }],
            PartProblem::Missing,
        ),
        ("descending numbers", done(&[&p2, &p1]), PartProblem::Order),
        ("a repeated number", done(&[&p1, &p1]), PartProblem::Order),
    ];
    for (what, requested, want) in cases {
        let err = f
            .svc
            .complete(
                f.alice,
                "bkt",
                "k",
                &id,
                &requested,
                &WriteCondition::Always,
            )
            .await
            .expect_err(what);
        assert_eq!(problem(err), want, "{what}");
    }
    assert!(matches!(
        f.svc
            .complete(f.alice, "bkt", "k", &id, &[], &WriteCondition::Always)
            .await,
        Err(CoreError::InvalidInput(_))
    ));
    // Nothing was written: the upload and its parts are intact.
    let listing = f
        .svc
        .list_parts(f.alice, "bkt", "k", &id, 0, 100)
        .await
        .expect("the upload is still there");
    assert_eq!(listing.parts, vec![p1.clone(), p2.clone()]);
    assert_eq!(f.blobs.ids(), HashSet::from([p1.blob_id, p2.blob_id]));
    f.svc
        .complete(
            f.alice,
            "bkt",
            "k",
            &id,
            &done(&[&p1, &p2]),
            &WriteCondition::Always,
        )
        .await
        .expect("the right list completes afterwards");
}

#[tokio::test]
async fn every_part_but_the_last_needs_five_mib() {
    let f = fixture().await;
    let id = f.start("k").await;
    let just_under = f.part("k", &id, 1, &bytes(5 * MIB - 1, 1)).await;
    let last = f.part("k", &id, 2, b"x").await;
    let err = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "k",
            &id,
            &done(&[&just_under, &last]),
            &WriteCondition::Always,
        )
        .await
        .expect_err("a non-final part under 5 MiB");
    assert_eq!(problem(err), PartProblem::TooSmall);
    let exactly = f.part("k", &id, 1, &bytes(5 * MIB, 1)).await;
    let meta = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "k",
            &id,
            &done(&[&exactly, &last]),
            &WriteCondition::Always,
        )
        .await
        .expect("5 MiB exactly is enough, and the last part may be tiny");
    assert_eq!(meta.size_bytes, 5 * MIB as u64 + 1);
}

#[tokio::test]
async fn abort_removes_the_parts_and_the_upload() {
    let f = fixture().await;
    let id = f.start("k").await;
    f.part("k", &id, 1, b"one").await;
    f.part("k", &id, 2, b"two").await;
    assert_eq!(f.blobs.ids().len(), 2);
    // Someone else cannot abort it: the bucket is not theirs.
    assert!(matches!(
        f.svc.abort(f.bob, "bkt", "k", &id).await,
        Err(CoreError::Forbidden(_))
    ));
    // Nor can it be reached under another key.
    assert!(matches!(
        f.svc.abort(f.alice, "bkt", "other", &id).await,
        Err(CoreError::NotFound {
            resource: Resource::Upload,
            ..
        })
    ));
    f.svc
        .abort(f.alice, "bkt", "k", &id)
        .await
        .expect("abort works");
    assert!(f.blobs.ids().is_empty(), "every part's blob is removed");
    assert!(matches!(
        f.svc.abort(f.alice, "bkt", "k", &id).await,
        Err(CoreError::NotFound {
            resource: Resource::Upload,
            ..
        })
    ));
    let late = f
        .svc
        .upload_part(
            f.alice,
            "bkt",
            "k",
            &id,
            3,
            body(b"late"),
            None,
            None,
            false,
            true,
            || None,
        )
        .await;
    assert!(matches!(
        late,
        Err(CoreError::NotFound {
            resource: Resource::Upload,
            ..
        })
    ));
    assert!(
        f.blobs.ids().is_empty(),
        "a part for an aborted upload leaves no blob"
    );
}

#[tokio::test]
async fn abandoned_uploads_expire_with_their_parts() {
    let f = fixture().await;
    let old = f.start("old").await;
    f.part("old", &old, 1, b"stale").await;
    let fresh = f.start("fresh").await;
    let kept = f.part("fresh", &fresh, 1, b"recent").await;
    f.repo.age(
        old.parse().expect("an upload id"),
        time::Duration::hours(25),
    );
    let removed = f
        .svc
        .expire_abandoned(Duration::from_secs(24 * 3600), crate::NEVER_STOP)
        .await
        .expect("expiry runs");
    assert_eq!(removed, 1, "only the upload older than the age expires");
    assert_eq!(f.blobs.ids(), HashSet::from([kept.blob_id]));
    assert!(
        f.svc
            .list_parts(f.alice, "bkt", "old", &old, 0, 10)
            .await
            .is_err()
    );
    assert_eq!(
        f.svc
            .list_parts(f.alice, "bkt", "fresh", &fresh, 0, 10)
            .await
            .expect("the fresh upload stays")
            .parts,
        vec![kept]
    );
    assert_eq!(
        f.svc
            .expire_abandoned(Duration::from_secs(24 * 3600), crate::NEVER_STOP)
            .await
            .expect("expiry runs again"),
        0
    );
}

#[tokio::test]
async fn part_numbers_are_checked_before_a_byte_is_stored() {
    let f = fixture().await;
    let id = f.start("k").await;
    for n in [0, MAX_PART_NUMBER + 1] {
        let r = f
            .svc
            .upload_part(
                f.alice,
                "bkt",
                "k",
                &id,
                n,
                body(b"x"),
                None,
                None,
                false,
                true,
                || None,
            )
            .await;
        assert!(matches!(r, Err(CoreError::InvalidInput(_))), "part {n}");
    }
    assert!(f.blobs.ids().is_empty());
}

#[tokio::test]
async fn listing_uploads_rolls_keys_up_at_the_delimiter() {
    let f = fixture().await;
    let mut ids = BTreeMap::new();
    for key in ["a/1", "a/2", "b", "c/x/1", "c/y", "d"] {
        ids.insert(key, f.start(key).await);
    }
    let list = |delimiter: Option<&'static str>,
                prefix: &'static str,
                marker: Option<String>,
                id_marker: Option<String>,
                max: u32| {
        let svc = &f.svc;
        let alice = f.alice;
        async move {
            svc.list_uploads(
                alice,
                "bkt",
                prefix,
                delimiter,
                marker.as_deref(),
                id_marker.as_deref(),
                max,
            )
            .await
            .expect("listing works")
        }
    };
    let keys = |l: &UploadListing| -> Vec<String> {
        l.uploads
            .iter()
            .map(|u| u.key.as_str().to_owned())
            .collect()
    };

    let all = list(Some("/"), "", None, None, 100).await;
    assert_eq!(keys(&all), ["b", "d"]);
    assert_eq!(all.common_prefixes, ["a/", "c/"]);
    assert!(!all.is_truncated);

    let under_c = list(Some("/"), "c/", None, None, 100).await;
    assert!(under_c.uploads.iter().any(|u| u.key.as_str() == "c/y"));
    assert_eq!(under_c.common_prefixes, ["c/x/"]);

    // Pages of two: a prefix counts as one entry, and a page that ends on
    // one resumes after everything under it.
    let mut seen = Vec::new();
    let (mut marker, mut id_marker) = (None, None);
    loop {
        let page = list(Some("/"), "", marker.clone(), id_marker.clone(), 2).await;
        assert!(page.uploads.len() + page.common_prefixes.len() <= 2);
        seen.extend(page.common_prefixes.iter().cloned());
        seen.extend(keys(&page));
        let Some((k, id)) = page.next_marker else {
            assert!(!page.is_truncated);
            break;
        };
        marker = Some(k);
        id_marker = id.map(|i| i.to_string());
    }
    seen.sort();
    assert_eq!(seen, ["a/", "b", "c/", "d"]);

    // Without a delimiter, every upload is listed.
    let flat = list(None, "", None, None, 100).await;
    assert_eq!(keys(&flat), ["a/1", "a/2", "b", "c/x/1", "c/y", "d"]);
    assert!(flat.common_prefixes.is_empty());
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn a_refused_conditional_completion_keeps_the_upload() {
    let f = fixture().await;
    let id = f.start("k").await;
    let p1 = f.part("k", &id, 1, b"new").await;
    f.storage
        .put_object(
            f.alice,
            crate::storage::PutObjectInput {
                bucket: "bkt".into(),
                key: "k".into(),
                body: futures::stream::iter([Ok(Bytes::from_static(b"old"))]).boxed(),
                content_length: Some(3),
                content_type: None,
                user_metadata: BTreeMap::new(),
                headers: BTreeMap::new(),
                expected_md5: None,
                create_bucket: false,
                condition: WriteCondition::Always,
                tags: crate::storage::Tags::default(),
            },
        )
        .await
        .expect("the key exists");
    let blobs_before = f.blobs.ids();
    let err = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "k",
            &id,
            &done(&[&p1]),
            &WriteCondition::Absent,
        )
        .await
        .expect_err("the key exists");
    assert!(matches!(err, CoreError::PreconditionFailed(_)), "{err:?}");
    assert_eq!(f.read("k").await, b"old");
    assert_eq!(f.blobs.ids(), blobs_before, "nothing assembled or removed");
    let meta = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "k",
            &id,
            &done(&[&p1]),
            &WriteCondition::Exists,
        )
        .await
        .expect("the upload is still there and completes under If-Match: *");
    assert_eq!(meta.size_bytes, 3);
    assert_eq!(f.read("k").await, b"new");
}

/// Waits for a held completion to reach the repository's commit.
async fn arrival(arrived: &mut tokio::sync::mpsc::UnboundedReceiver<()>) {
    tokio::time::timeout(Duration::from_secs(10), arrived.recv())
        .await
        .expect("a completion reaches MultipartRepo::complete_upload")
        .expect("the gate stays open");
}

fn is_no_such_upload<T: std::fmt::Debug>(r: &CoreResult<T>) -> bool {
    matches!(
        r,
        Err(CoreError::NotFound {
            resource: Resource::Upload,
            ..
        })
    )
}

impl Fixture {
    /// An object `key` of `data` written by a plain PutObject.
    async fn put(&self, key: &str, data: &'static [u8]) {
        self.storage
            .put_object(
                self.alice,
                crate::storage::PutObjectInput {
                    bucket: "bkt".into(),
                    key: key.into(),
                    body: futures::stream::iter([Ok(Bytes::from_static(data))]).boxed(),
                    content_length: Some(data.len() as u64),
                    content_type: None,
                    user_metadata: BTreeMap::new(),
                    headers: BTreeMap::new(),
                    expected_md5: None,
                    create_bucket: false,
                    condition: WriteCondition::Always,
                    tags: crate::storage::Tags::default(),
                },
            )
            .await
            .expect("the object is written");
    }
}

#[tokio::test]
async fn of_racing_completes_of_one_upload_exactly_one_commits() {
    let f = fixture().await;
    let id = f.start("k").await;
    let (a, b) = (bytes(5 * MIB, 7), bytes(100, 8));
    let p1 = f.part("k", &id, 1, &a).await;
    let p2 = f.part("k", &id, 2, &b).await;
    // Both completions assemble their blob, then commit at once.
    let (mut arrived, go) = f.repo.hold("complete_upload");
    let parts = done(&[&p1, &p2]);
    let complete = || {
        f.svc
            .complete(f.alice, "bkt", "k", &id, &parts, &WriteCondition::Always)
    };
    let release = async {
        for _ in 0..3 {
            arrival(&mut arrived).await;
        }
        go.add_permits(3);
    };
    let (r1, r2, r3, ()) = tokio::join!(complete(), complete(), complete(), release);
    let results = [r1, r2, r3];
    // One commits; the others, finding the upload consumed, answer what it
    // answered (they named the same parts: S3 answers such a retry 200).
    let won: Vec<&ObjectMeta> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 3, "{results:?}");
    assert!(won.iter().all(|m| *m == won[0]), "one answer: {results:?}");
    assert_eq!(f.read("k").await, [a, b].concat());
    assert_eq!(
        f.blobs.ids(),
        HashSet::from([won[0].blob_id]),
        "the losers' assembled blobs and the parts' blobs are removed"
    );
    assert!(f.repo.uploads.lock().unwrap().is_empty());
    assert!(f.repo.parts.lock().unwrap().is_empty());
}

/// A completion sent again after it went through (an SDK that lost the
/// answer) gets the same answer, not NoSuchUpload; one that names other
/// parts, comes from another account or follows an abort does not.
#[tokio::test]
async fn a_completion_sent_again_gets_the_same_answer() {
    let f = fixture().await;
    let id = f.start("k").await;
    let p1 = f.part("k", &id, 1, &bytes(5 * MIB, 3)).await;
    let p2 = f.part("k", &id, 2, b"tail").await;
    let parts = done(&[&p1, &p2]);
    let first = f
        .svc
        .complete(f.alice, "bkt", "k", &id, &parts, &WriteCondition::Always)
        .await
        .expect("completes");
    let again = f
        .svc
        .complete(f.alice, "bkt", "k", &id, &parts, &WriteCondition::Always)
        .await
        .expect("the same answer");
    assert_eq!(again, first);
    let fewer = done(&[&p1]);
    assert!(is_no_such_upload(
        &f.svc
            .complete(f.alice, "bkt", "k", &id, &fewer, &WriteCondition::Always)
            .await
    ));
    assert!(is_no_such_upload(
        &f.svc
            .complete(
                f.alice,
                "bkt",
                "other",
                &id,
                &parts,
                &WriteCondition::Always
            )
            .await
    ));
    // An aborted upload has no answer to repeat.
    let id = f.start("k2").await;
    let p1 = f.part("k2", &id, 1, b"x").await;
    f.svc
        .abort(f.alice, "bkt", "k2", &id)
        .await
        .expect("aborts");
    assert!(is_no_such_upload(
        &f.svc
            .complete(
                f.alice,
                "bkt",
                "k2",
                &id,
                &done(&[&p1]),
                &WriteCondition::Always
            )
            .await
    ));
}

#[tokio::test]
async fn a_complete_that_loses_to_an_abort_commits_nothing() {
    let f = fixture().await;
    let id = f.start("k").await;
    let p1 = f.part("k", &id, 1, b"lost").await;
    let (mut arrived, go) = f.repo.hold("complete_upload");
    // The abort lands while the completion has assembled its blob and is
    // about to commit.
    let abort = async {
        arrival(&mut arrived).await;
        let aborted = f.svc.abort(f.alice, "bkt", "k", &id).await;
        go.add_permits(1);
        aborted
    };
    let parts = done(&[&p1]);
    let (completed, aborted) = tokio::join!(
        f.svc
            .complete(f.alice, "bkt", "k", &id, &parts, &WriteCondition::Always),
        abort
    );
    aborted.expect("the abort wins");
    assert!(is_no_such_upload(&completed), "{completed:?}");
    assert!(
        matches!(
            f.storage
                .get_object(f.alice, "bkt", "k", &GetObjectOptions::default())
                .await,
            Err(CoreError::NotFound {
                resource: Resource::Object,
                ..
            })
        ),
        "no object was committed"
    );
    assert!(
        f.blobs.ids().is_empty(),
        "the parts' blobs and the assembled blob are removed"
    );
    // The other way round: a completion that won makes the abort NoSuchUpload.
    let id = f.start("k2").await;
    let p1 = f.part("k2", &id, 1, b"kept").await;
    f.repo.release("complete_upload");
    f.svc
        .complete(
            f.alice,
            "bkt",
            "k2",
            &id,
            &done(&[&p1]),
            &WriteCondition::Always,
        )
        .await
        .expect("the completion wins");
    assert!(is_no_such_upload(
        &f.svc.abort(f.alice, "bkt", "k2", &id).await
    ));
    assert_eq!(f.read("k2").await, b"kept");
}

#[tokio::test]
async fn a_complete_whose_parts_an_abort_took_is_no_such_upload() {
    let f = fixture().await;
    let id = f.start("k").await;
    let p1 = f.part("k", &id, 1, b"gone").await;
    // The abort lands after the completion found the upload and before it
    // reads the parts: it finds none of those it names, because the upload
    // is gone, and says so (not InvalidPart).
    let (mut arrived, go) = f.repo.hold("list_parts");
    let abort = async {
        arrival(&mut arrived).await;
        let aborted = f.svc.abort(f.alice, "bkt", "k", &id).await;
        go.add_permits(1);
        aborted
    };
    let parts = done(&[&p1]);
    let (completed, aborted) = tokio::join!(
        f.svc
            .complete(f.alice, "bkt", "k", &id, &parts, &WriteCondition::Always),
        abort
    );
    aborted.expect("the abort wins");
    assert!(is_no_such_upload(&completed), "{completed:?}");
    assert!(f.blobs.ids().is_empty(), "nothing is left");
}

/// A part sent again with the same bytes while a completion runs (an SDK
/// retrying a part whose answer it lost) replaces the part's blob between
/// the completion's listing and its compose: the completion lists the
/// parts again and goes through, instead of failing on the removed blob.
#[tokio::test]
async fn a_part_sent_again_during_the_completion_does_not_fail_it() {
    let f = fixture().await;
    let id = f.start("k").await;
    let big = bytes(5 * MIB, 1);
    let p1 = f.part("k", &id, 1, &big).await;
    let p2 = f.part("k", &id, 2, b"tail").await;
    let (mut arrived, go) = f.repo.hold("listed_parts");
    let again = async {
        arrival(&mut arrived).await;
        // The completion's next listings are not held.
        f.repo.release("listed_parts");
        let resent = f.part("k", &id, 2, b"tail").await;
        go.add_permits(1);
        resent
    };
    let parts = done(&[&p1, &p2]);
    let (completed, resent) = tokio::join!(
        f.svc
            .complete(f.alice, "bkt", "k", &id, &parts, &WriteCondition::Always),
        again
    );
    assert_ne!(resent.blob_id, p2.blob_id, "the part was replaced");
    assert_eq!(resent.etag, p2.etag);
    completed.expect("the completion goes through");
    assert_eq!(f.read("k").await, [&big[..], b"tail"].concat());
}

#[tokio::test]
async fn a_write_landing_during_the_assembly_fails_a_conditional_completion() {
    let f = fixture().await;
    let id = f.start("k").await;
    let p1 = f.part("k", &id, 1, b"new").await;
    let (mut arrived, go) = f.repo.hold("complete_upload");
    // If-None-Match: * passes the early check (no key yet); a PUT lands
    // before the commit, which checks again in the same step.
    let put = async {
        arrival(&mut arrived).await;
        f.put("k", b"old").await;
        go.add_permits(1);
    };
    let parts = done(&[&p1]);
    let (completed, ()) = tokio::join!(
        f.svc
            .complete(f.alice, "bkt", "k", &id, &parts, &WriteCondition::Absent),
        put
    );
    assert!(
        matches!(completed, Err(CoreError::PreconditionFailed(_))),
        "{completed:?}"
    );
    assert_eq!(f.read("k").await, b"old");
    let listed = f
        .svc
        .list_parts(f.alice, "bkt", "k", &id, 0, 100)
        .await
        .expect("the upload stays");
    assert_eq!(listed.parts, vec![p1.clone()], "with its parts");
    assert_eq!(
        f.blobs.ids().len(),
        2,
        "the part's blob and the PUT's remain; the assembled blob is removed"
    );
    assert!(f.blobs.ids().contains(&p1.blob_id));
}

fn sha256(data: &[u8]) -> PartChecksum {
    let mut h = ChecksumAlgorithm::Sha256.hasher();
    h.update(data);
    PartChecksum {
        algorithm: ChecksumAlgorithm::Sha256,
        value: h.finalize(),
    }
}

#[tokio::test]
async fn checksummed_uploads_keep_part_checksums_and_get_a_composite() {
    let f = fixture().await;
    let id = f
        .svc
        .create(
            f.alice,
            NewUpload {
                bucket: "bkt".into(),
                key: "sums".into(),
                checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
                ..Default::default()
            },
        )
        .await
        .expect("the upload starts")
        .0
        .id
        .to_string();
    let upload = |n: u32, data: Vec<u8>, sum: Option<PartChecksum>| {
        let id = id.clone();
        let svc = &f.svc;
        async move {
            svc.upload_part(
                f.alice,
                "bkt",
                "sums",
                &id,
                n,
                body(&data),
                None,
                None,
                false,
                true,
                || sum,
            )
            .await
        }
    };
    let (a, b) = (bytes(5 * MIB, 7), b"tail".to_vec());
    // A part without a checksum, or with another algorithm's, is refused
    // and leaves no blob behind.
    let before = f.blobs.ids();
    for (what, sum) in [
        ("no checksum", None),
        (
            "another algorithm",
            Some(PartChecksum {
                algorithm: ChecksumAlgorithm::Crc32,
                value: "DUoRhQ==".into(),
            }),
        ),
    ] {
        let err = upload(1, a.clone(), sum).await.expect_err(what);
        assert!(
            matches!(err, CoreError::InvalidRequest(_)),
            "{what}: {err:?}"
        );
    }
    assert_eq!(f.blobs.ids(), before, "refused parts leave no blob");
    let p1 = upload(1, a.clone(), Some(sha256(&a)))
        .await
        .expect("part 1");
    let p2 = upload(2, b.clone(), Some(sha256(&b)))
        .await
        .expect("part 2");
    assert_eq!(p1.checksum, Some(sha256(&a)));
    let listed = f
        .svc
        .list_parts(f.alice, "bkt", "sums", &id, 0, 10)
        .await
        .expect("list");
    assert_eq!(
        listed
            .parts
            .iter()
            .map(|p| p.checksum.clone())
            .collect::<Vec<_>>(),
        vec![Some(sha256(&a)), Some(sha256(&b))],
        "parts keep their checksums"
    );
    let named = |p: &Part, sum: Option<PartChecksum>| CompletedPart {
        part_number: p.part_number,
        etag: p.etag.quoted(),
        checksum: sum,
    };
    // Completing: every part must name its checksum, and the right one.
    let err = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "sums",
            &id,
            &[named(&p1, Some(sha256(&a))), named(&p2, None)],
            &WriteCondition::Always,
        )
        .await
        .expect_err("a part without its checksum");
    assert!(matches!(err, CoreError::InvalidRequest(_)), "{err:?}");
    let err = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "sums",
            &id,
            &[
                named(&p1, Some(sha256(&a))),
                named(&p2, Some(sha256(b"other"))),
            ],
            &WriteCondition::Always,
        )
        .await
        .expect_err("a wrong part checksum");
    assert_eq!(problem(err), PartProblem::Missing);
    let meta = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "sums",
            &id,
            &[named(&p1, Some(sha256(&a))), named(&p2, Some(sha256(&b)))],
            &WriteCondition::Always,
        )
        .await
        .expect("completes");
    let want = composite_checksum(
        ChecksumAlgorithm::Sha256,
        &[&sha256(&a).value, &sha256(&b).value],
    )
    .expect("composite");
    assert!(want.ends_with("-2"));
    assert_eq!(
        meta.headers.get("x-amz-checksum-sha256"),
        Some(&want),
        "the object carries the composite checksum"
    );
    assert_eq!(
        meta.headers.get(CHECKSUM_TYPE_HEADER).map(String::as_str),
        Some("COMPOSITE")
    );
    assert_eq!(
        meta.parts,
        vec![
            crate::storage::ObjectPart {
                size_bytes: a.len() as u64,
                checksum: Some(sha256(&a).value),
            },
            crate::storage::ObjectPart {
                size_bytes: b.len() as u64,
                checksum: Some(sha256(&b).value),
            },
        ],
        "the object keeps its part layout"
    );
    assert_eq!(
        meta.part_range(2).expect("part 2"),
        Some(crate::storage::ByteRange {
            start: a.len() as u64,
            end: (a.len() + b.len()) as u64 - 1
        })
    );
}

#[tokio::test]
async fn copied_parts_of_a_checksummed_upload_get_their_checksum_computed() {
    let f = fixture().await;
    let src = bytes(5 * MIB, 9);
    let id = f.start("src").await;
    let p = f.part("src", &id, 1, &src).await;
    f.svc
        .complete(
            f.alice,
            "bkt",
            "src",
            &id,
            &done(&[&p]),
            &WriteCondition::Always,
        )
        .await
        .expect("the source completes");
    let id = f
        .svc
        .create(
            f.alice,
            NewUpload {
                bucket: "bkt".into(),
                key: "copy".into(),
                checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
                ..Default::default()
            },
        )
        .await
        .expect("the upload starts")
        .0
        .id
        .to_string();
    let part = f
        .svc
        .upload_part_copy(
            f.alice,
            "bkt",
            "copy",
            &id,
            1,
            "bkt",
            "src",
            &GetObjectOptions::default(),
        )
        .await
        .expect("the copy uploads")
        .0;
    assert_eq!(part.checksum, Some(sha256(&src)));
    // CRC64NVME has no composite form: refused at creation.
    let err = f
        .svc
        .create(
            f.alice,
            NewUpload {
                bucket: "bkt".into(),
                key: "nvme".into(),
                checksum_algorithm: Some(ChecksumAlgorithm::Crc64Nvme),
                ..Default::default()
            },
        )
        .await
        .expect_err("CRC64NVME is full-object only");
    assert!(matches!(err, CoreError::InvalidRequest(_)), "{err:?}");
}

fn crc64nvme(data: &[u8]) -> PartChecksum {
    let mut h = DEFAULT_CHECKSUM.hasher();
    h.update(data);
    PartChecksum {
        algorithm: ChecksumAlgorithm::Crc64Nvme,
        value: h.finalize(),
    }
}

#[tokio::test]
async fn parts_of_an_upload_without_an_algorithm_get_the_default_crc64nvme() {
    let f = fixture().await;
    let (a, b) = (bytes(5 * MIB, 3), b"the last part".to_vec());
    // Parts sent without a checksum get S3's default, computed as they
    // stream; a part sent with the client's own checksum keeps it alone.
    let id = f.start("plain").await;
    let p1 = f.part("plain", &id, 1, &a).await;
    assert_eq!(p1.checksum, Some(crc64nvme(&a)));
    let own = sha256(&b);
    let p2 = f
        .svc
        .upload_part(
            f.alice,
            "bkt",
            "plain",
            &id,
            2,
            body(&b),
            None,
            None,
            true,
            true,
            || Some(own.clone()),
        )
        .await
        .expect("a part with its own checksum");
    assert_eq!(p2.checksum, Some(sha256(&b)));
    let p2 = f.part("plain", &id, 2, &b).await;
    assert_eq!(p2.checksum, Some(crc64nvme(&b)), "replaced without one");
    let listed = f
        .svc
        .list_parts(f.alice, "bkt", "plain", &id, 0, 1000)
        .await
        .expect("ListParts");
    let listed: Vec<_> = listed.parts.iter().map(|p| p.checksum.clone()).collect();
    assert_eq!(listed, [Some(crc64nvme(&a)), Some(crc64nvme(&b))]);
    // Complete names the parts' CRC64NVMEs (or not: below); a wrong one is
    // InvalidPart.
    let mut named = done(&[&p1, &p2]);
    named[1].checksum = Some(crc64nvme(b"other bytes"));
    let err = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "plain",
            &id,
            &named,
            &WriteCondition::Always,
        )
        .await
        .expect_err("a wrong part checksum");
    assert_eq!(problem(err), PartProblem::Missing);
    named[0].checksum = Some(crc64nvme(&a));
    named[1].checksum = Some(crc64nvme(&b));
    // The object's default CRC64NVME may be named too: a wrong one is
    // BadDigest (the upload stays), another algorithm is refused.
    let whole = [a.clone(), b.clone()].concat();
    for (wrong, bad_digest) in [
        (crc64nvme(b"not the object"), true),
        (sha256(&whole), false),
    ] {
        let what = format!("{wrong:?}");
        let err = f
            .svc
            .complete_with_checksum(
                f.alice,
                "bkt",
                "plain",
                &id,
                &named,
                &WriteCondition::Always,
                Some(&wrong),
            )
            .await
            .expect_err(&what);
        if bad_digest {
            assert!(matches!(err, CoreError::BadDigest(_)), "{what}: {err:?}");
        } else {
            assert!(
                matches!(err, CoreError::InvalidRequest(_)),
                "{what}: {err:?}"
            );
        }
    }
    let meta = f
        .svc
        .complete_with_checksum(
            f.alice,
            "bkt",
            "plain",
            &id,
            &named,
            &WriteCondition::Always,
            Some(&crc64nvme(&whole)),
        )
        .await
        .expect("completes with the parts' and the object's checksums named")
        .0;
    assert_eq!(
        meta.headers.get("x-amz-checksum-crc64nvme"),
        Some(&crc64nvme(&whole).value)
    );
    assert_eq!(
        meta.headers.get(CHECKSUM_TYPE_HEADER).map(String::as_str),
        Some("FULL_OBJECT")
    );
    let part_sums: Vec<_> = meta.parts.iter().map(|p| p.checksum.clone()).collect();
    assert_eq!(
        part_sums,
        [Some(crc64nvme(&a).value), Some(crc64nvme(&b).value)],
        "the object keeps its parts' CRC64NVMEs"
    );
    assert_eq!(f.read("plain").await, whole);

    // A copied part gets it too; a part stored before parts got it (no
    // checksum) still completes, without naming one, and the object then
    // keeps no part checksums.
    let id = f.start("mixed").await;
    let copied = f
        .svc
        .upload_part_copy(
            f.alice,
            "bkt",
            "mixed",
            &id,
            1,
            "bkt",
            "plain",
            &GetObjectOptions::default(),
        )
        .await
        .expect("the copy uploads")
        .0;
    assert_eq!(copied.checksum, Some(crc64nvme(&whole)));
    let old = f.part("mixed", &id, 2, &b).await;
    let upload_id: UploadId = id.parse().expect("an upload id");
    f.repo
        .parts
        .lock()
        .unwrap()
        .get_mut(&(upload_id, 2))
        .expect("part 2")
        .checksum = None;
    let meta = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "mixed",
            &id,
            &done(&[&copied, &old]),
            &WriteCondition::Always,
        )
        .await
        .expect("an old part completes");
    let both = [whole.clone(), b.clone()].concat();
    assert_eq!(
        meta.headers.get("x-amz-checksum-crc64nvme"),
        Some(&crc64nvme(&both).value)
    );
    assert!(meta.parts.iter().all(|p| p.checksum.is_none()));
    assert_eq!(f.read("mixed").await, both);
}

/// Completes upload `id` of `key` with `parts` (by ETag alone).
async fn complete_all(f: &Fixture, key: &str, id: &str, parts: &[&Part]) -> ObjectMeta {
    f.svc
        .complete(
            f.alice,
            "bkt",
            key,
            id,
            &done(parts),
            &WriteCondition::Always,
        )
        .await
        .unwrap_or_else(|e| panic!("{key} completes: {e:?}"))
}

#[tokio::test]
async fn completion_composes_the_parts_and_combines_their_crcs() {
    let f = fixture().await;
    let (a, b) = (bytes(5 * MIB, 7), b"the last part".to_vec());
    let whole = crc64nvme(&[a.clone(), b.clone()].concat());
    // Every part of an upload without an algorithm gets its CRC64NVME as
    // it streams, also one sent with a checksum of the client's own.
    let id = f.start("combined").await;
    let own = sha256(&a);
    let p1 = f
        .svc
        .upload_part(
            f.alice,
            "bkt",
            "combined",
            &id,
            1,
            body(&a),
            None,
            None,
            true,
            true,
            || Some(own.clone()),
        )
        .await
        .expect("a part with its own checksum");
    assert_eq!(
        p1.checksum,
        Some(sha256(&a)),
        "the client's checksum is kept"
    );
    assert_eq!(p1.crc64nvme, Some(crc64nvme(&a).value));
    let p2 = f.part("combined", &id, 2, &b).await;
    assert_eq!(p2.crc64nvme, Some(crc64nvme(&b).value));
    let composed = *f.blobs.composed.lock().unwrap();
    let meta = complete_all(&f, "combined", &id, &[&p1, &p2]).await;
    assert_eq!(
        *f.blobs.composed.lock().unwrap(),
        composed + 1,
        "the object's blob is a composite of the parts'"
    );
    assert_eq!(
        meta.headers.get("x-amz-checksum-crc64nvme"),
        Some(&whole.value)
    );
    assert_eq!(f.read("combined").await, [a.clone(), b.clone()].concat());

    // The CRC comes from the parts' stored CRCs, not from their bytes: a
    // stored CRC of other bytes shows in the object's checksum.
    let id = f.start("stored").await;
    let q1 = f.part("stored", &id, 1, &a).await;
    let q2 = f.part("stored", &id, 2, &b).await;
    let other = bytes(5 * MIB, 8);
    f.repo
        .parts
        .lock()
        .unwrap()
        .get_mut(&(q1.upload_id, 1))
        .expect("part 1")
        .crc64nvme = Some(crc64nvme(&other).value);
    // (Part 1's own checksum is its default CRC64NVME, which counts first:
    // make it another algorithm's, as a client's own would be.)
    f.repo
        .parts
        .lock()
        .unwrap()
        .get_mut(&(q1.upload_id, 1))
        .expect("part 1")
        .checksum = Some(sha256(&a));
    let meta = complete_all(&f, "stored", &id, &[&q1, &q2]).await;
    assert_eq!(
        meta.headers.get("x-amz-checksum-crc64nvme"),
        Some(&crc64nvme(&[other, b.clone()].concat()).value),
        "combined from the stored CRCs"
    );

    // A part stored before parts kept their CRC64NVME (migration 0015)
    // with a checksum of another algorithm: completion reads its bytes.
    let id = f.start("old-parts").await;
    let r1 = f.part("old-parts", &id, 1, &a).await;
    let r2 = f.part("old-parts", &id, 2, &b).await;
    for n in [1, 2] {
        let mut parts = f.repo.parts.lock().unwrap();
        let p = parts.get_mut(&(r1.upload_id, n)).expect("part");
        p.crc64nvme = None;
        p.checksum = (n == 1).then(|| sha256(&a));
    }
    let meta = complete_all(&f, "old-parts", &id, &[&r1, &r2]).await;
    assert_eq!(
        meta.headers.get("x-amz-checksum-crc64nvme"),
        Some(&whole.value),
        "the CRC of parts without one stored is read from their bytes"
    );
    assert_eq!(
        meta.headers.get(CHECKSUM_TYPE_HEADER).map(String::as_str),
        Some("FULL_OBJECT")
    );
    assert_eq!(f.read("old-parts").await, [a, b].concat());
    assert_eq!(
        f.blobs.ids().len(),
        3,
        "the three objects' composites alone remain, the parts' own blobs removed"
    );
}

#[tokio::test]
async fn full_object_checksums_are_a_crc_of_all_the_bytes() {
    let f = fixture().await;
    let new = |key: &str, algorithm, full| NewUpload {
        bucket: "bkt".into(),
        key: key.into(),
        checksum_algorithm: algorithm,
        full_object_checksum: full,
        ..Default::default()
    };
    for (what, refused) in [
        (
            "SHA256 has no full-object form",
            new("x", Some(ChecksumAlgorithm::Sha256), true),
        ),
        ("a type needs an algorithm", new("x", None, true)),
    ] {
        let err = f.svc.create(f.alice, refused).await.expect_err(what);
        assert!(
            matches!(err, CoreError::InvalidRequest(_)),
            "{what}: {err:?}"
        );
    }
    let upload = f
        .svc
        .create(f.alice, new("full", Some(ChecksumAlgorithm::Crc32), true))
        .await
        .expect("the upload starts")
        .0;
    assert!(upload.full_object_checksum());
    let id = upload.id.to_string();
    let crc = |data: &[u8]| {
        let mut h = ChecksumAlgorithm::Crc32.hasher();
        h.update(data);
        PartChecksum {
            algorithm: ChecksumAlgorithm::Crc32,
            value: h.finalize(),
        }
    };
    let (a, b) = (bytes(5 * MIB, 5), b"the end".to_vec());
    let mut parts = Vec::new();
    for (n, data) in [(1, &a), (2, &b)] {
        let sum = crc(data);
        parts.push(
            f.svc
                .upload_part(
                    f.alice,
                    "bkt",
                    "full",
                    &id,
                    n,
                    body(data),
                    None,
                    None,
                    false,
                    true,
                    || Some(sum),
                )
                .await
                .expect("part"),
        );
    }
    let whole = crc(&[a.clone(), b.clone()].concat());
    // Part checksums are optional in the request here; a wrong object
    // checksum is BadDigest and keeps the upload.
    let requested = done(&[&parts[0], &parts[1]]);
    let wrong = crc(b"not the object");
    let err = f
        .svc
        .complete_with_checksum(
            f.alice,
            "bkt",
            "full",
            &id,
            &requested,
            &WriteCondition::Always,
            Some(&wrong),
        )
        .await
        .expect_err("a wrong object checksum");
    assert!(matches!(err, CoreError::BadDigest(_)), "{err:?}");
    let meta = f
        .svc
        .complete_with_checksum(
            f.alice,
            "bkt",
            "full",
            &id,
            &requested,
            &WriteCondition::Always,
            Some(&whole),
        )
        .await
        .expect("completes with the right object checksum")
        .0;
    assert_eq!(meta.headers.get("x-amz-checksum-crc32"), Some(&whole.value));
    assert_eq!(
        meta.headers.get(CHECKSUM_TYPE_HEADER).map(String::as_str),
        Some("FULL_OBJECT")
    );
    assert_eq!(f.read("full").await, [a, b].concat());
}

#[tokio::test]
async fn an_upload_is_refused_at_creation_for_what_its_object_could_not_store() {
    let f = fixture().await;
    let too_much = std::iter::once(("a".to_owned(), "b".repeat(3000))).collect();
    let bad_name = std::iter::once(("bad name".to_owned(), "v".to_owned())).collect();
    let cases = [
        NewUpload {
            user_metadata: too_much,
            ..Default::default()
        },
        NewUpload {
            user_metadata: bad_name,
            ..Default::default()
        },
        NewUpload {
            content_type: Some("text/plain\u{7f}".into()),
            ..Default::default()
        },
        NewUpload {
            headers: std::iter::once(("cache-control".to_owned(), "x".repeat(2000))).collect(),
            ..Default::default()
        },
    ];
    for (i, new) in cases.into_iter().enumerate() {
        let err = f
            .svc
            .create(
                f.alice,
                NewUpload {
                    bucket: "bkt".into(),
                    key: format!("k{i}"),
                    ..new
                },
            )
            .await
            .expect_err("refused at creation");
        let expected = if i == 0 {
            matches!(err, CoreError::MetadataTooLarge(_))
        } else {
            matches!(err, CoreError::InvalidInput(_))
        };
        assert!(expected, "case {i}: {err:?}");
    }
    assert!(f.repo.uploads.lock().unwrap().is_empty(), "no upload kept");
}

#[tokio::test]
async fn an_upload_created_with_tags_gives_them_to_its_object() {
    let f = fixture().await;
    let tags = crate::storage::Tags::new(vec![
        ("project".to_owned(), "x".to_owned()),
        ("a".to_owned(), String::new()),
    ])
    .expect("valid tags");
    let upload = f
        .svc
        .create(
            f.alice,
            NewUpload {
                bucket: "bkt".into(),
                key: "tagged".into(),
                tags: tags.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("the upload starts")
        .0;
    assert_eq!(upload.tags, tags);
    let id = upload.id.to_string();
    let p1 = f.part("tagged", &id, 1, b"abc").await;
    let meta = f
        .svc
        .complete(
            f.alice,
            "bkt",
            "tagged",
            &id,
            &done(&[&p1]),
            &WriteCondition::Always,
        )
        .await
        .expect("the upload completes");
    assert_eq!(meta.tags, tags);
    assert_eq!(
        f.storage
            .get_object_tags(f.alice, "bkt", "tagged")
            .await
            .expect("tags read"),
        tags
    );
}

/// A clock the test moves by hand (the lifecycle sweep reads the time
/// through the `Clock` port).
struct FakeClock(Mutex<OffsetDateTime>);

impl crate::clock::Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl FakeClock {
    fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap() = t;
    }
}

impl Fixture {
    async fn put_tagged(
        &self,
        key: &str,
        data: &[u8],
        tags: &[(&str, &str)],
    ) -> crate::storage::ObjectMeta {
        self.put_as(self.alice, key, data, tags).await
    }

    async fn put_as(
        &self,
        caller: Caller,
        key: &str,
        data: &[u8],
        tags: &[(&str, &str)],
    ) -> crate::storage::ObjectMeta {
        self.put_into(caller, "bkt", key, data, tags).await
    }

    async fn put_into(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        data: &[u8],
        tags: &[(&str, &str)],
    ) -> crate::storage::ObjectMeta {
        self.storage
            .put_object(
                caller,
                crate::storage::PutObjectInput {
                    bucket: bucket.into(),
                    key: key.into(),
                    body: futures::stream::iter([Ok(Bytes::copy_from_slice(data))]).boxed(),
                    content_length: Some(data.len() as u64),
                    content_type: None,
                    user_metadata: BTreeMap::new(),
                    headers: BTreeMap::new(),
                    expected_md5: None,
                    create_bucket: false,
                    condition: WriteCondition::Always,
                    tags: crate::storage::Tags::new(
                        tags.iter()
                            .map(|(k, v)| ((*k).into(), (*v).into()))
                            .collect(),
                    )
                    .expect("tags"),
                },
            )
            .await
            .expect("the object is written")
    }

    async fn keys(&self) -> Vec<String> {
        self.keys_of(self.alice).await
    }

    async fn keys_of(&self, caller: Caller) -> Vec<String> {
        self.keys_in(caller, "bkt").await
    }

    async fn keys_in(&self, caller: Caller, bucket: &str) -> Vec<String> {
        self.storage
            .list_objects(
                caller,
                bucket,
                &crate::storage::ListObjectsInput {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await
            .expect("listed")
            .objects
            .into_iter()
            .map(|m| m.key.as_str().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn the_lifecycle_sweep_expires_objects_and_aborts_uploads_when_due() {
    use crate::lifecycle::LifecycleSweeper;
    use crate::storage::{
        ExpirationInput, FilterInput, LifecycleConfiguration, LifecycleRuleInput,
        TransitionMinimumSize,
    };
    let f = fixture().await;
    let filtered = |id: &str, filter: FilterInput, days: i32| LifecycleRuleInput {
        id: Some(id.into()),
        status: "Enabled".into(),
        filter: Some(filter),
        expiration: Some(ExpirationInput {
            days: Some(days),
            ..Default::default()
        }),
        ..Default::default()
    };
    let prefix = |p: &str| FilterInput {
        prefix: Some(p.into()),
        ..Default::default()
    };
    let config = LifecycleConfiguration::new(
        vec![
            filtered("logs", prefix("logs/"), 1),
            filtered(
                "tmp",
                FilterInput {
                    tag: Some(("tmp".into(), "yes".into())),
                    ..Default::default()
                },
                1,
            ),
            filtered(
                "huge",
                FilterInput {
                    object_size_greater_than: Some(4),
                    ..Default::default()
                },
                3,
            ),
            LifecycleRuleInput {
                status: "Disabled".into(),
                ..filtered("off", prefix("keep/"), 1)
            },
            LifecycleRuleInput {
                expiration: None,
                abort_incomplete_multipart_upload: Some(Some(2)),
                ..filtered("uploads", prefix("up/"), 1)
            },
        ],
        TransitionMinimumSize::default(),
    )
    .expect("valid");
    f.storage
        .set_bucket_lifecycle(f.alice, "bkt", Some(&config))
        .await
        .expect("set");
    let log = f.put_tagged("logs/a", b"log", &[]).await;
    f.put_tagged("data/t", b"tmp", &[("tmp", "yes")]).await;
    f.put_tagged("data/u", b"tmp", &[("tmp", "no")]).await;
    f.put_tagged("data/big", b"12345", &[]).await;
    f.put_tagged("keep/a", b"kept", &[]).await;
    let upload = f.start("up/file").await;
    f.part("up/file", &upload, 1, b"part").await;
    let other_upload = f.start("data/file").await;
    let blobs_at_start = f.blobs.ids().len();

    let clock = Arc::new(FakeClock(Mutex::new(log.last_modified)));
    let sweeper = LifecycleSweeper::new(
        f.storage.clone(),
        Arc::new(MultipartService::new(f.repo.clone(), f.storage.clone())),
        clock.clone(),
    );
    let one_day = crate::storage::days_after(log.last_modified, 1).expect("a time");
    let two_days = crate::storage::days_after(log.last_modified, 2).expect("a time");
    let three_days = crate::storage::days_after(log.last_modified, 3).expect("a time");

    // Just before the first midnight that makes them a day old: nothing.
    clock.set(one_day - time::Duration::SECOND);
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("sweep");
    assert_eq!((report.expired_objects, report.aborted_uploads), (0, 0));
    assert_eq!(f.keys().await.len(), 5);

    // At that midnight: the log and the object tagged tmp=yes.
    clock.set(one_day);
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("sweep");
    assert_eq!(report.buckets, 1);
    assert_eq!(report.expired_objects, 2);
    assert_eq!(f.keys().await, ["data/big", "data/u", "keep/a"]);
    assert_eq!(
        f.blobs.ids().len(),
        blobs_at_start - 2,
        "their blobs are gone"
    );

    // Two days: the upload under up/ (and its part), not the other one.
    clock.set(two_days);
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("sweep");
    assert_eq!((report.expired_objects, report.aborted_uploads), (0, 1));
    assert!(
        f.repo
            .get_upload(upload.parse().expect("id"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        f.repo
            .get_upload(other_upload.parse().expect("id"))
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(
        f.blobs.ids().len(),
        blobs_at_start - 3,
        "the part's blob is gone"
    );

    // Three days: the object larger than 4 bytes; the disabled rule's and
    // the small untagged one stay, whatever the time.
    clock.set(three_days + time::Duration::days(400));
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("sweep");
    assert_eq!(report.expired_objects, 1);
    assert_eq!(f.keys().await, ["data/u", "keep/a"]);

    // Without a configuration the sweep does nothing.
    f.storage
        .set_bucket_lifecycle(f.alice, "bkt", None)
        .await
        .expect("removed");
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("sweep");
    assert_eq!(report, crate::lifecycle::LifecycleReport::default());
}

/// A configuration that expires every object after a day and aborts every
/// upload after a day.
fn expire_everything() -> crate::storage::LifecycleConfiguration {
    use crate::storage::{
        ExpirationInput, FilterInput, LifecycleConfiguration, LifecycleRuleInput,
        TransitionMinimumSize,
    };
    LifecycleConfiguration::new(
        vec![LifecycleRuleInput {
            id: Some("all".into()),
            status: "Enabled".into(),
            filter: Some(FilterInput::default()),
            expiration: Some(ExpirationInput {
                days: Some(1),
                ..Default::default()
            }),
            abort_incomplete_multipart_upload: Some(Some(1)),
            ..Default::default()
        }],
        TransitionMinimumSize::default(),
    )
    .expect("valid")
}

#[tokio::test]
async fn a_sweep_never_acts_on_a_bucket_created_again_by_another_owner() {
    let f = fixture().await;
    let config = expire_everything();
    f.storage
        .set_bucket_lifecycle(f.alice, "bkt", Some(&config))
        .await
        .expect("set");
    // What the sweep listed: alice's bucket with her configuration.
    let listed = f.storage.lifecycle_buckets(None, 10).await.expect("listed");
    let [(stale, _)] = listed.as_slice() else {
        panic!("one bucket listed: {listed:?}");
    };
    assert_eq!(stale.owner, f.alice.user_id);

    // Meanwhile alice deletes it and bob creates a bucket of that name,
    // with objects, an upload and a configuration of his own.
    f.storage
        .delete_bucket(f.alice, "bkt")
        .await
        .expect("deleted");
    f.storage
        .create_bucket(f.bob, "bkt")
        .await
        .expect("created");
    f.storage
        .set_bucket_lifecycle(f.bob, "bkt", Some(&config))
        .await
        .expect("set");
    let object = f.put_as(f.bob, "data/x", b"bob's", &[]).await;
    let upload = f
        .svc
        .create(
            f.bob,
            NewUpload {
                bucket: "bkt".into(),
                key: "up/x".into(),
                ..Default::default()
            },
        )
        .await
        .expect("the upload starts")
        .0;

    // The rest of the sweep, with what it listed, long after both are due.
    let later = object.last_modified + time::Duration::days(30);
    let expired = f
        .storage
        .expire_objects(stale, &config, later, crate::NEVER_STOP)
        .await
        .expect("swept")
        .objects;
    let aborted = f
        .svc
        .abort_expired_uploads(stale, &config, later, crate::NEVER_STOP)
        .await
        .expect("swept");
    assert_eq!((expired, aborted), (0, 0), "bob's bucket is not alice's");
    assert_eq!(f.keys_of(f.bob).await, ["data/x"], "bob's object stays");
    assert!(
        f.repo.get_upload(upload.id).await.expect("read").is_some(),
        "bob's upload stays"
    );

    // Listed again, the bucket is bob's, and his own configuration applies.
    let listed = f.storage.lifecycle_buckets(None, 10).await.expect("listed");
    let [(fresh, _)] = listed.as_slice() else {
        panic!("one bucket listed: {listed:?}");
    };
    assert_eq!(fresh.owner, f.bob.user_id);
    assert_eq!(
        f.storage
            .expire_objects(fresh, &config, later, crate::NEVER_STOP)
            .await
            .expect("swept")
            .objects,
        1
    );
    assert_eq!(
        f.svc
            .abort_expired_uploads(fresh, &config, later, crate::NEVER_STOP)
            .await
            .expect("swept"),
        1
    );
}

#[tokio::test]
async fn a_configuration_that_does_not_decode_skips_its_bucket_alone() {
    use crate::lifecycle::{LifecycleReport, LifecycleSweeper};
    let f = fixture().await;
    let config = expire_everything();
    // Three configured buckets in name order, the damaged one between the
    // others (and, with bob's, across owners).
    for (caller, bucket) in [(f.alice, "aaa"), (f.bob, "ccc")] {
        f.storage
            .create_bucket(caller, bucket)
            .await
            .expect("created");
    }
    for (caller, bucket) in [(f.alice, "aaa"), (f.alice, "bkt"), (f.bob, "ccc")] {
        f.storage
            .set_bucket_lifecycle(caller, bucket, Some(&config))
            .await
            .expect("set");
    }
    let a = f.put_into(f.alice, "aaa", "x", b"a", &[]).await;
    f.put_into(f.alice, "bkt", "x", b"b", &[]).await;
    f.put_into(f.bob, "ccc", "x", b"c", &[]).await;
    let upload = f.start("up/x").await;
    // The row of "bkt" is damaged behind the server's back.
    f.buckets
        .undecodable_lifecycle
        .lock()
        .unwrap()
        .insert("bkt".into());

    let clock = Arc::new(FakeClock(Mutex::new(
        a.last_modified + time::Duration::days(30),
    )));
    let sweeper = LifecycleSweeper::new(
        f.storage.clone(),
        Arc::new(MultipartService::new(f.repo.clone(), f.storage.clone())),
        clock,
    );
    let report = sweeper
        .sweep(crate::NEVER_STOP)
        .await
        .expect("the sweep goes on");
    assert_eq!(
        report,
        LifecycleReport {
            buckets: 3,
            expired_objects: 2,
            expired_versions: 0,
            aborted_uploads: 0,
            undecodable: 1,
            stopped: false,
        }
    );
    assert!(
        f.keys_in(f.alice, "aaa").await.is_empty(),
        "swept before it"
    );
    assert!(f.keys_in(f.bob, "ccc").await.is_empty(), "swept after it");
    assert_eq!(f.keys().await, ["x"], "the damaged bucket keeps its object");
    assert!(
        f.repo
            .get_upload(upload.parse().expect("id"))
            .await
            .expect("read")
            .is_some(),
        "and its upload"
    );

    // Its owner puts a configuration again: the next sweep acts on it.
    f.storage
        .set_bucket_lifecycle(f.alice, "bkt", Some(&config))
        .await
        .expect("repaired");
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("swept");
    assert_eq!(
        (
            report.undecodable,
            report.expired_objects,
            report.aborted_uploads
        ),
        (0, 1, 1)
    );
    assert!(f.keys().await.is_empty());
}

#[tokio::test]
async fn a_sweep_asked_to_stop_finishes_the_step_in_hand_and_returns() {
    use crate::lifecycle::LifecycleSweeper;
    let f = fixture().await;
    f.storage
        .set_bucket_lifecycle(f.alice, "bkt", Some(&expire_everything()))
        .await
        .expect("set");
    let mut first = None;
    for i in 0..5 {
        let meta = f.put_tagged(&format!("k{i}"), b"x", &[]).await;
        first.get_or_insert(meta);
    }
    let upload = f.start("up/x").await;
    f.part("up/x", &upload, 1, b"part").await;
    let blobs_at_start = f.blobs.ids().len();
    assert_eq!(blobs_at_start, 6);
    let later = first.expect("written").last_modified + time::Duration::days(30);
    let sweeper = LifecycleSweeper::new(
        f.storage.clone(),
        Arc::new(MultipartService::new(f.repo.clone(), f.storage.clone())),
        Arc::new(FakeClock(Mutex::new(later))),
    );

    // Asked to stop as soon as two objects are gone (the signal arriving
    // while the second delete runs): no third delete starts, and every
    // delete that ran took its row and its blob.
    let stop = || f.blobs.ids().len() <= blobs_at_start - 2;
    let report = sweeper.sweep(&stop).await.expect("the sweep stops");
    assert!(report.stopped);
    assert_eq!((report.expired_objects, report.aborted_uploads), (2, 0));
    let keys = f.keys().await;
    assert_eq!(keys, ["k2", "k3", "k4"]);
    assert_eq!(
        f.blobs.ids().len(),
        keys.len() + 1,
        "a blob for every row left (and the part's), none without one"
    );

    // The next sweep goes on where this one stopped.
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("swept");
    assert!(!report.stopped);
    assert_eq!((report.expired_objects, report.aborted_uploads), (3, 1));
    assert!(f.blobs.ids().is_empty());
}

#[tokio::test]
async fn the_expiry_of_abandoned_uploads_stops_between_uploads() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for key in ["a", "b", "c"] {
        let id = f.start(key).await;
        f.part(key, &id, 1, b"stale").await;
        f.repo
            .age(id.parse().expect("an upload id"), time::Duration::hours(25));
        ids.push(id);
    }
    let day = Duration::from_secs(24 * 3600);
    // Asked to stop once the first upload (and its part) is gone.
    let stop = || f.blobs.ids().len() < 3;
    let removed = f.svc.expire_abandoned(day, &stop).await.expect("stops");
    assert_eq!(removed, 1);
    assert_eq!(f.blobs.ids().len(), 2, "the others keep their parts");
    let removed = f
        .svc
        .expire_abandoned(day, crate::NEVER_STOP)
        .await
        .expect("runs");
    assert_eq!(removed, 2);
    assert!(f.blobs.ids().is_empty());
}

#[tokio::test]
async fn a_sweep_asked_to_stop_between_two_aborts_keeps_the_second_whole() {
    use crate::lifecycle::LifecycleSweeper;
    let f = fixture().await;
    f.storage
        .set_bucket_lifecycle(f.alice, "bkt", Some(&expire_everything()))
        .await
        .expect("set");
    let mut started = None;
    for key in ["up/a", "up/b"] {
        let id = f.start(key).await;
        f.part(key, &id, 1, b"p1").await;
        f.part(key, &id, 2, b"p2").await;
        started.get_or_insert(id);
    }
    let initiated = f
        .repo
        .get_upload(started.expect("started").parse().expect("id"))
        .await
        .expect("read")
        .expect("there")
        .initiated_at;
    let sweeper = LifecycleSweeper::new(
        f.storage.clone(),
        Arc::new(MultipartService::new(f.repo.clone(), f.storage.clone())),
        Arc::new(FakeClock(Mutex::new(initiated + time::Duration::days(30)))),
    );
    // Asked to stop once the first upload's two parts are gone.
    let stop = || f.blobs.ids().len() <= 2;
    let report = sweeper.sweep(&stop).await.expect("the sweep stops");
    assert!(report.stopped);
    assert_eq!(report.aborted_uploads, 1);
    assert_eq!(
        f.blobs.ids().len(),
        2,
        "the other upload keeps both its parts"
    );
    let report = sweeper.sweep(crate::NEVER_STOP).await.expect("swept");
    assert_eq!(report.aborted_uploads, 1);
    assert!(f.blobs.ids().is_empty());
}
