//! A torture of the lifecycle sweep against the real server, on SQLite and
//! Postgres: the server sweeps every second (`--lifecycle-interval-secs
//! 1`) while concurrent clients keep writing the keys its rules cover,
//! and a background task keeps making everything old enough to be due
//! (noncurrent versions and multipart uploads moved back to 2020 in the
//! database: the server's clock is real). The rules:
//! - a bucket never versioned (`lct-plain`): objects under `tmp/` tagged
//!   `expire=yes` expire (a `Date` in the past: due at once), and
//!   incomplete uploads under `mp/` are aborted after a day;
//! - a versioned bucket with Object Lock (`lct-locked`): the same
//!   expiration (a delete marker on top), `NoncurrentVersionExpiration`
//!   under `tmp/` keeping one newer noncurrent version, expired object
//!   delete markers removed, and the same abort of uploads.
//!
//! Each worker owns its keys, so it knows what the last of its writes that
//! the server acknowledged left there; the sweep is the only other actor.
//! Workers PUT (through the AWS SDK tagged due or kept, through the native
//! API untagged), retag (mostly flipping a key between due and kept, which
//! races the sweep's conditional change; four workers on each bucket do
//! nothing else to one key each), delete, read back, and put some
//! versions under a legal hold or a governance retention; multipart
//! workers complete uploads the sweep is aborting at the same time. What
//! must hold, and is decidable whatever the timing:
//! - a version the client last left kept (written untagged or `expire=no`,
//!   or retagged so) is never expired: every later read finds exactly it,
//!   and a retag of it never finds the key gone;
//! - a version left due may be expired, but in the versioned bucket only
//!   by a delete marker on top of it: it stays readable by its id (one
//!   newer noncurrent version is kept, and a marker is never a reason to
//!   remove the version behind it);
//! - a deleted key stays deleted (nothing comes back);
//! - a version under a legal hold or an unexpired retention is never
//!   removed, however old;
//! - a completed multipart upload is whole (its bytes read back) whatever
//!   the abort did;
//! - at the quiet end (the configurations deleted, so nothing more
//!   changes): ListObjectsV2, the native listing, HeadObject, GetObject
//!   (both APIs) and ListObjectVersions agree with each other and with
//!   the clients' record; no version id is listed twice, each key has one
//!   latest version; every listed version reads back as written;
//! - after a restart (its start-up sweep), the blob files under
//!   `<data-dir>/objects` are exactly the rows' (objects, versions, parts),
//!   no temporary file is left, and the listings are unchanged.
//!
//! The sweep's log lines must show it expired objects, removed versions
//! and aborted uploads, so the test cannot pass by the sweep doing
//! nothing. The seed is printed; `MINIAWS_TORTURE_SEED=<n>` replays the
//! clients' choices (the interleavings still vary with timing).

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CompletedMultipartUpload,
    CompletedPart, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator,
    LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectLockLegalHoldStatus, ObjectLockMode,
    Tag, Tagging,
};
use common::{
    blob_name, execute, files_under, objects_dir, referenced_blobs, s3_client, torture_seed,
};
use miniaws_client::ListObjectsParams;
use miniaws_testkit::{Backend, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PLAIN: &str = "lct-plain";
const LOCKED: &str = "lct-locked";
/// Workers on each bucket's `tmp/` keys.
const WORKERS: usize = 4;
const KEYS_PER_WORKER: usize = 3;
/// Workers flipping one key between due and kept, on each bucket.
const FLIPPERS: usize = 4;
/// Workers completing multipart uploads, on each bucket.
const UPLOADERS: usize = 2;
/// How long the clients write while the sweep runs.
const LOAD: Duration = Duration::from_secs(15);
/// 2020-01-01T00:00:00Z: a midnight in the past.
const PAST_MIDNIGHT: i64 = 1_577_836_800;

/// What went wrong, and how often each outcome happened.
#[derive(Default)]
struct World {
    problems: Mutex<Vec<String>>,
    stats: Mutex<BTreeMap<String, u64>>,
    next_body: AtomicU64,
}

impl World {
    fn problem(&self, msg: String) {
        eprintln!("PROBLEM: {msg}");
        self.problems.lock().expect("problems lock").push(msg);
    }

    fn count(&self, what: &str) {
        *self
            .stats
            .lock()
            .expect("stats lock")
            .entry(what.to_owned())
            .or_default() += 1;
    }

    /// A body of `key` no other write has: its key and a serial number,
    /// repeated to a random length.
    fn body(&self, key: &str, rng: &mut StdRng) -> Vec<u8> {
        let n = self.next_body.fetch_add(1, Ordering::SeqCst);
        let unit = format!("{key}#{n}|");
        let len = rng.gen_range(unit.len()..4096);
        unit.bytes().cycle().take(len).collect()
    }
}

/// An answer of the server: done, the key (or version, or upload) is not
/// there, or anything else (a problem wherever it comes).
enum Answer<T> {
    Done(T),
    Gone(String),
    Failed(String),
}

fn answer<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, HttpResponse>>,
) -> Answer<T> {
    match r {
        Ok(t) => Answer::Done(t),
        Err(e) => {
            let status = e.raw_response().map_or(0, |r| r.status().as_u16());
            let code = e.code().unwrap_or("-").to_owned();
            let gone = matches!(
                code.as_str(),
                "NoSuchKey" | "NoSuchVersion" | "NoSuchUpload" | "MethodNotAllowed" | "NotFound"
            ) || (code != "NoSuchBucket" && (status == 404 || status == 405));
            if gone {
                Answer::Gone(format!("{code} {status}"))
            } else {
                Answer::Failed(format!("{code} {status}: {e:?}"))
            }
        }
    }
}

fn tag_value(due: bool) -> &'static str {
    if due { "yes" } else { "no" }
}

fn tagging(due: bool) -> Tagging {
    Tagging::builder()
        .tag_set(
            Tag::builder()
                .key("expire")
                .value(tag_value(due))
                .build()
                .expect("a tag"),
        )
        .build()
        .expect("a tag set")
}

/// GetObject of `key` (of `version` when given): its version id and bytes.
async fn get(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Answer<(Option<String>, Vec<u8>)> {
    let out = match answer(
        s3.get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await,
    ) {
        Answer::Done(out) => out,
        Answer::Gone(e) => return Answer::Gone(e),
        Answer::Failed(e) => return Answer::Failed(e),
    };
    let version = out.version_id().map(str::to_owned);
    match out.body.collect().await {
        Ok(bytes) => Answer::Done((version, bytes.into_bytes().to_vec())),
        Err(e) => Answer::Failed(format!("reading the body: {e}")),
    }
}

/// Native GET of `key`: its bytes.
async fn native_get(native: &miniaws_client::Client, bucket: &str, key: &str) -> Answer<Vec<u8>> {
    match native.get_object(bucket, key, None, None).await {
        Ok(download) => match download.bytes().await {
            Ok(bytes) => Answer::Done(bytes),
            Err(e) => Answer::Failed(format!("reading the body: {e}")),
        },
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Answer::Gone(e.to_string()),
        Err(e) => Answer::Failed(e.to_string()),
    }
}

/// A short description of bytes (they start with their key and serial).
fn show(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(40)];
    format!(
        "{:?}… ({} bytes)",
        String::from_utf8_lossy(head),
        bytes.len()
    )
}

// ------------------------------------------------ the bucket never versioned

/// What the last acknowledged operation left at a key of [`PLAIN`].
#[derive(Debug, Clone)]
enum Plain {
    Absent,
    Present { body: Vec<u8>, due: bool },
}

struct Clients {
    s3: Client,
    native: miniaws_client::Client,
}

/// A worker of [`PLAIN`]'s `tmp/` keys; a `flipper` has one key, which it
/// keeps flipping between due and kept (as [`versioned_worker`]'s).
async fn plain_worker(
    w: Arc<World>,
    c: Arc<Clients>,
    id: usize,
    flipper: bool,
    mut rng: StdRng,
    end: Instant,
) -> BTreeMap<String, Plain> {
    let keys: Vec<String> = if flipper {
        vec![format!("tmp/f{id}")]
    } else {
        (0..KEYS_PER_WORKER)
            .map(|k| format!("tmp/p{id}-{k}"))
            .collect()
    };
    let mut state: Vec<Plain> = vec![Plain::Absent; keys.len()];
    while Instant::now() < end {
        let k = rng.gen_range(0..keys.len());
        let key = keys[k].as_str();
        let roll = match (flipper, &state[k]) {
            (false, _) => rng.gen_range(0..100),
            (true, Plain::Absent) => 40,
            (true, Plain::Present { .. }) if rng.gen_bool(0.9) => 0,
            (true, Plain::Present { .. }) => 70,
        };
        if roll < 35 {
            // Retag, flipping a present key between due and kept.
            let to = match &state[k] {
                Plain::Present { due, .. } => !due,
                Plain::Absent => rng.gen_bool(0.5),
            };
            let r = answer(
                c.s3.put_object_tagging()
                    .bucket(PLAIN)
                    .key(key)
                    .tagging(tagging(to))
                    .send()
                    .await,
            );
            match (r, &mut state[k]) {
                (Answer::Done(_), Plain::Present { due, .. }) => {
                    *due = to;
                    w.count("plain: retag done");
                }
                (Answer::Done(_), Plain::Absent) => {
                    w.problem(format!(
                        "{PLAIN}/{key}: a retag found an object after its delete"
                    ));
                }
                (Answer::Gone(_), Plain::Present { due: true, .. }) => {
                    w.count("plain: retag found the due object expired");
                    state[k] = Plain::Absent;
                }
                (Answer::Gone(e), Plain::Present { due: false, body }) => {
                    w.problem(format!(
                        "{PLAIN}/{key}: a retag found the kept object {} gone ({e})",
                        show(body)
                    ));
                    state[k] = Plain::Absent;
                }
                (Answer::Gone(_), Plain::Absent) => {}
                (Answer::Failed(e), _) => w.problem(format!("{PLAIN}/{key}: retag: {e}")),
            }
        } else if roll < 55 {
            let due = rng.gen_bool(0.6);
            let body = w.body(key, &mut rng);
            match answer(
                c.s3.put_object()
                    .bucket(PLAIN)
                    .key(key)
                    .tagging(format!("expire={}", tag_value(due)))
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await,
            ) {
                Answer::Done(_) => {
                    w.count("plain: PutObject");
                    state[k] = Plain::Present { body, due };
                }
                Answer::Gone(e) | Answer::Failed(e) => {
                    w.problem(format!("{PLAIN}/{key}: PutObject: {e}"));
                }
            }
        } else if roll < 62 {
            // Untagged through the native API: no rule selects it.
            let body = w.body(key, &mut rng);
            match c.native.put_object(PLAIN, key, body.clone(), None).await {
                Ok(_) => {
                    w.count("plain: native PUT");
                    state[k] = Plain::Present { body, due: false };
                }
                Err(e) => w.problem(format!("{PLAIN}/{key}: native PUT: {e}")),
            }
        } else if roll < 68 {
            let done = if rng.gen_bool(0.5) {
                match answer(c.s3.delete_object().bucket(PLAIN).key(key).send().await) {
                    Answer::Done(_) => Ok(()),
                    Answer::Gone(e) | Answer::Failed(e) => Err(e),
                }
            } else {
                match c.native.delete_object(PLAIN, key).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            };
            match done {
                Ok(()) => {
                    w.count("plain: delete");
                    state[k] = Plain::Absent;
                }
                Err(e) => w.problem(format!("{PLAIN}/{key}: delete: {e}")),
            }
        } else {
            let read = if rng.gen_bool(0.5) {
                match get(&c.s3, PLAIN, key, None).await {
                    Answer::Done((_, bytes)) => Answer::Done(bytes),
                    Answer::Gone(e) => Answer::Gone(e),
                    Answer::Failed(e) => Answer::Failed(e),
                }
            } else {
                native_get(&c.native, PLAIN, key).await
            };
            check_plain_read(&w, key, &mut state[k], read, "read");
        }
    }
    keys.into_iter().zip(state).collect()
}

/// A read of `key` against what its last acknowledged operation left.
fn check_plain_read(w: &World, key: &str, state: &mut Plain, read: Answer<Vec<u8>>, what: &str) {
    match (read, &*state) {
        (Answer::Done(bytes), Plain::Present { body, .. }) => {
            if bytes != *body {
                w.problem(format!(
                    "{PLAIN}/{key}: {what} got {}, the last write was {}",
                    show(&bytes),
                    show(body)
                ));
            }
        }
        (Answer::Done(bytes), Plain::Absent) => w.problem(format!(
            "{PLAIN}/{key}: {what} got {} after its delete or expiry",
            show(&bytes)
        )),
        (Answer::Gone(_), Plain::Present { due: true, .. }) => {
            w.count("plain: read found the due object expired");
            *state = Plain::Absent;
        }
        (Answer::Gone(e), Plain::Present { due: false, body }) => {
            w.problem(format!(
                "{PLAIN}/{key}: {what} found the kept object {} gone ({e})",
                show(body)
            ));
            *state = Plain::Absent;
        }
        (Answer::Gone(_), Plain::Absent) => {}
        (Answer::Failed(e), _) => w.problem(format!("{PLAIN}/{key}: {what}: {e}")),
    }
}

// ------------------------------------------------ the versioned bucket

/// The latest version of a key of [`LOCKED`], as its client last left it.
#[derive(Debug, Clone)]
enum Latest {
    /// A delete marker, or no version at all.
    Gone,
    Data {
        id: String,
        body: Vec<u8>,
        due: bool,
    },
}

/// What a client knows of a key of [`LOCKED`].
#[derive(Debug, Clone)]
struct Versioned {
    latest: Latest,
    /// Versions under a legal hold or a retention that outlasts the test.
    held: Vec<(String, Vec<u8>)>,
    /// Every version written, by id.
    written: BTreeMap<String, Vec<u8>>,
}

impl Versioned {
    fn new() -> Self {
        Self {
            latest: Latest::Gone,
            held: Vec::new(),
            written: BTreeMap::new(),
        }
    }
}

/// The sweep put a delete marker on the due version `id` of `key`: the
/// version stays behind it, readable by its id (the marker alone never
/// makes it removable: one newer noncurrent version is kept).
async fn check_marked(w: &World, s3: &Client, key: &str, id: &str, body: &[u8], what: &str) {
    match get(s3, LOCKED, key, Some(id)).await {
        Answer::Done((_, bytes)) if bytes == body => {}
        Answer::Done((_, bytes)) => w.problem(format!(
            "{LOCKED}/{key}: {what}: version {id} reads {}, written {}",
            show(&bytes),
            show(body)
        )),
        Answer::Gone(e) | Answer::Failed(e) => w.problem(format!(
            "{LOCKED}/{key}: {what}: the expired version {id} is not behind its marker ({e})"
        )),
    }
}

/// A `what` (a read or a retag) of `key` found no current version: the
/// sweep's marker, checked, when the latest write was due; a problem
/// when it was kept (`e` says how it was found gone); nothing after a
/// delete. The key is gone either way.
async fn found_gone(w: &World, s3: &Client, key: &str, latest: &mut Latest, e: &str, what: &str) {
    match std::mem::replace(latest, Latest::Gone) {
        Latest::Data {
            id,
            body,
            due: true,
        } => {
            w.count(&format!("versioned: {what} found the due version expired"));
            check_marked(w, s3, key, &id, &body, what).await;
        }
        Latest::Data { id, due: false, .. } => w.problem(format!(
            "{LOCKED}/{key}: a {what} found the kept version {id} expired ({e})"
        )),
        Latest::Gone => {}
    }
}

/// A worker of [`LOCKED`]'s `tmp/` keys; a `flipper` has one key, which
/// it keeps flipping between due and kept (a PUT when it is gone, now and
/// then a read): the retags that race the sweep's conditional marker.
async fn versioned_worker(
    w: Arc<World>,
    s3: Client,
    id: usize,
    flipper: bool,
    mut rng: StdRng,
    end: Instant,
) -> BTreeMap<String, Versioned> {
    let keys: Vec<String> = if flipper {
        vec![format!("tmp/f{id}")]
    } else {
        (0..KEYS_PER_WORKER)
            .map(|k| format!("tmp/v{id}-{k}"))
            .collect()
    };
    let mut state: Vec<Versioned> = vec![Versioned::new(); keys.len()];
    while Instant::now() < end {
        let k = rng.gen_range(0..keys.len());
        let key = keys[k].as_str();
        let st = &mut state[k];
        let roll = match (flipper, &st.latest) {
            (false, _) => rng.gen_range(0..100),
            (true, Latest::Gone) => 40,
            (true, Latest::Data { .. }) if rng.gen_bool(0.9) => 0,
            (true, Latest::Data { .. }) => 70,
        };
        if roll < 35 {
            let to = match &st.latest {
                Latest::Data { due, .. } => !due,
                Latest::Gone => rng.gen_bool(0.5),
            };
            let r = answer(
                s3.put_object_tagging()
                    .bucket(LOCKED)
                    .key(key)
                    .tagging(tagging(to))
                    .send()
                    .await,
            );
            match (r, &mut st.latest) {
                (Answer::Done(out), Latest::Data { id, due, .. }) => {
                    if out.version_id() != Some(id.as_str()) {
                        w.problem(format!(
                            "{LOCKED}/{key}: a retag tagged version {:?}, the latest written is {id}",
                            out.version_id()
                        ));
                    }
                    *due = to;
                    w.count("versioned: retag done");
                }
                (Answer::Done(out), Latest::Gone) => w.problem(format!(
                    "{LOCKED}/{key}: a retag found version {:?} after a delete marker",
                    out.version_id()
                )),
                (Answer::Gone(e), _) => found_gone(&w, &s3, key, &mut st.latest, &e, "retag").await,
                (Answer::Failed(e), _) => w.problem(format!("{LOCKED}/{key}: retag: {e}")),
            }
        } else if roll < 55 {
            let due = rng.gen_bool(0.6);
            let body = w.body(key, &mut rng);
            let lock = rng.gen_range(0..20);
            let mut req = s3
                .put_object()
                .bucket(LOCKED)
                .key(key)
                .tagging(format!("expire={}", tag_value(due)))
                .body(ByteStream::from(body.clone()));
            if lock == 0 {
                req = req.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On);
            } else if lock == 1 {
                let until = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
                req = req
                    .object_lock_mode(ObjectLockMode::Governance)
                    .object_lock_retain_until_date(DateTime::from_secs(until));
            }
            match answer(req.send().await) {
                Answer::Done(out) => {
                    w.count("versioned: PutObject");
                    let Some(id) = out.version_id().map(str::to_owned) else {
                        w.problem(format!("{LOCKED}/{key}: PutObject answered no version id"));
                        continue;
                    };
                    if lock < 2 {
                        w.count("versioned: PutObject locked");
                        st.held.push((id.clone(), body.clone()));
                    }
                    st.written.insert(id.clone(), body.clone());
                    st.latest = Latest::Data { id, body, due };
                }
                Answer::Gone(e) | Answer::Failed(e) => {
                    w.problem(format!("{LOCKED}/{key}: PutObject: {e}"));
                }
            }
        } else if roll < 62 {
            match answer(s3.delete_object().bucket(LOCKED).key(key).send().await) {
                Answer::Done(_) => {
                    w.count("versioned: delete (marker)");
                    st.latest = Latest::Gone;
                }
                Answer::Gone(e) | Answer::Failed(e) => {
                    w.problem(format!("{LOCKED}/{key}: DeleteObject: {e}"));
                }
            }
        } else if roll < 85 || st.held.is_empty() {
            let read = get(&s3, LOCKED, key, None).await;
            match (read, &st.latest) {
                (Answer::Done((v, bytes)), Latest::Data { id, body, .. }) => {
                    if v.as_deref() != Some(id.as_str()) || bytes != *body {
                        w.problem(format!(
                            "{LOCKED}/{key}: GetObject read version {v:?} {}, the latest written is {id} {}",
                            show(&bytes),
                            show(body)
                        ));
                    }
                }
                (Answer::Done((v, bytes)), Latest::Gone) => w.problem(format!(
                    "{LOCKED}/{key}: GetObject read version {v:?} {} after a delete marker",
                    show(&bytes)
                )),
                (Answer::Gone(e), _) => found_gone(&w, &s3, key, &mut st.latest, &e, "read").await,
                (Answer::Failed(e), _) => w.problem(format!("{LOCKED}/{key}: GetObject: {e}")),
            }
        } else {
            let (id, body) = st.held[rng.gen_range(0..st.held.len())].clone();
            match get(&s3, LOCKED, key, Some(&id)).await {
                Answer::Done((_, bytes)) if bytes == body => w.count("versioned: held read"),
                Answer::Done((_, bytes)) => w.problem(format!(
                    "{LOCKED}/{key}: held version {id} reads {}, written {}",
                    show(&bytes),
                    show(&body)
                )),
                Answer::Gone(e) | Answer::Failed(e) => w.problem(format!(
                    "{LOCKED}/{key}: held version {id} was removed ({e})"
                )),
            }
        }
    }
    keys.into_iter().zip(state).collect()
}

// ------------------------------------------------ multipart uploads

/// The uploads an uploader completed, in order: the version id (in
/// [`LOCKED`]) and the bytes of each.
type Completed = Vec<(Option<String>, Vec<u8>)>;

/// Completes uploads that the sweep aborts at the same time (the ager
/// makes every upload old within a quarter of a second): a completion
/// either wins, and the object is whole, or finds the upload gone.
async fn uploader(
    w: Arc<World>,
    s3: Client,
    bucket: &'static str,
    id: usize,
    mut rng: StdRng,
    end: Instant,
) -> (String, Completed) {
    let key = format!("mp/m{id}");
    let mut done: Completed = Vec::new();
    while Instant::now() < end {
        let upload = match answer(
            s3.create_multipart_upload()
                .bucket(bucket)
                .key(&key)
                .send()
                .await,
        ) {
            Answer::Done(out) => out.upload_id().unwrap_or_default().to_owned(),
            Answer::Gone(e) | Answer::Failed(e) => {
                w.problem(format!("{bucket}/{key}: CreateMultipartUpload: {e}"));
                continue;
            }
        };
        let body = w.body(&key, &mut rng);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..600))).await;
        let etag = match answer(
            s3.upload_part()
                .bucket(bucket)
                .key(&key)
                .upload_id(&upload)
                .part_number(1)
                .body(ByteStream::from(body.clone()))
                .send()
                .await,
        ) {
            Answer::Done(out) => out.e_tag().unwrap_or_default().to_owned(),
            Answer::Gone(_) => {
                w.count("multipart: aborted before its part");
                continue;
            }
            Answer::Failed(e) => {
                w.problem(format!("{bucket}/{key}: UploadPart: {e}"));
                continue;
            }
        };
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..900))).await;
        let parts = CompletedMultipartUpload::builder()
            .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
            .build();
        match answer(
            s3.complete_multipart_upload()
                .bucket(bucket)
                .key(&key)
                .upload_id(&upload)
                .multipart_upload(parts)
                .send()
                .await,
        ) {
            Answer::Done(out) => {
                w.count("multipart: completed");
                let version = out.version_id().map(str::to_owned);
                if bucket == LOCKED && version.is_none() {
                    w.problem(format!(
                        "{bucket}/{key}: CompleteMultipartUpload answered no version id"
                    ));
                }
                done.push((version, body));
            }
            Answer::Gone(_) => w.count("multipart: aborted before completion"),
            Answer::Failed(e) => {
                w.problem(format!("{bucket}/{key}: CompleteMultipartUpload: {e}"));
                continue;
            }
        }
        // Whatever the abort did, the key holds the last completed upload.
        let read = get(&s3, bucket, &key, None).await;
        match (&read, done.last()) {
            (Answer::Done((v, bytes)), Some((id, body))) => {
                if bytes != body || (bucket == LOCKED && v != id) {
                    w.problem(format!(
                        "{bucket}/{key}: GetObject read {v:?} {}, the last completed upload was {id:?} {}",
                        show(bytes),
                        show(body)
                    ));
                }
            }
            (Answer::Gone(_), None) => {}
            (Answer::Done((v, bytes)), None) => w.problem(format!(
                "{bucket}/{key}: GetObject read {v:?} {} and no upload completed",
                show(bytes)
            )),
            (Answer::Gone(e) | Answer::Failed(e), _) => {
                w.problem(format!("{bucket}/{key}: GetObject: {e}"));
            }
        }
    }
    (key, done)
}

// ------------------------------------------------ set-up and the quiet end

fn enabled(
    id: &str,
    filter: LifecycleRuleFilter,
) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(filter)
}

fn prefix(p: &str) -> LifecycleRuleFilter {
    LifecycleRuleFilter::builder().prefix(p).build()
}

/// The rules of either bucket: `tmp/` objects tagged `expire=yes` expire
/// (a past `Date`: at once), uploads under `mp/` are aborted a day after
/// they began; in the versioned bucket also noncurrent versions under
/// `tmp/` a day after they became noncurrent (one newer kept), and expired
/// object delete markers.
fn rules(versioned: bool) -> BucketLifecycleConfiguration {
    let due = LifecycleRuleFilter::builder()
        .and(
            LifecycleRuleAndOperator::builder()
                .prefix("tmp/")
                .tags(
                    Tag::builder()
                        .key("expire")
                        .value("yes")
                        .build()
                        .expect("a tag"),
                )
                .build(),
        )
        .build();
    let mut rules = vec![
        enabled("expire-due", due)
            .expiration(
                LifecycleExpiration::builder()
                    .date(DateTime::from_secs(PAST_MIDNIGHT))
                    .build(),
            )
            .build()
            .expect("a rule"),
        enabled("abort-uploads", prefix("mp/"))
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(1)
                    .build(),
            )
            .build()
            .expect("a rule"),
    ];
    if versioned {
        rules.push(
            enabled("noncurrent", prefix("tmp/"))
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(1)
                        .newer_noncurrent_versions(1)
                        .build(),
                )
                .build()
                .expect("a rule"),
        );
        rules.push(
            enabled("markers", prefix("tmp/"))
                .expiration(
                    LifecycleExpiration::builder()
                        .expired_object_delete_marker(true)
                        .build(),
                )
                .build()
                .expect("a rule"),
        );
    }
    BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .expect("a configuration")
}

/// One listed version: its id, whether it is a delete marker, whether the
/// latest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    id: String,
    marker: bool,
    latest: bool,
}

/// Every version of `bucket` by key (newest first), page by page.
async fn all_versions(s3: &Client, bucket: &str) -> BTreeMap<String, Vec<Listed>> {
    let mut by_key: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListObjectVersions {bucket}: {e:?}"));
        // Versions and markers come in two lists; each key's entries are
        // newest first in the listing's one order, which the two lists
        // interleave: merge them back by the listing's position.
        let mut entries: Vec<(String, Listed)> = Vec::new();
        for v in page.versions() {
            entries.push((
                v.key().unwrap_or_default().to_owned(),
                Listed {
                    id: v.version_id().unwrap_or_default().to_owned(),
                    marker: false,
                    latest: v.is_latest().unwrap_or(false),
                },
            ));
        }
        for m in page.delete_markers() {
            entries.push((
                m.key().unwrap_or_default().to_owned(),
                Listed {
                    id: m.version_id().unwrap_or_default().to_owned(),
                    marker: true,
                    latest: m.is_latest().unwrap_or(false),
                },
            ));
        }
        for (key, listed) in entries {
            by_key.entry(key).or_default().push(listed);
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    by_key
}

/// The keys ListObjectsV2 lists, with their sizes.
async fn all_keys(s3: &Client, bucket: &str) -> BTreeMap<String, i64> {
    let mut keys = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListObjectsV2 {bucket}: {e:?}"));
        for o in page.contents() {
            keys.insert(
                o.key().unwrap_or_default().to_owned(),
                o.size().unwrap_or(-1),
            );
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    keys
}

/// The keys the native API lists, with their sizes.
async fn native_keys(native: &miniaws_client::Client, bucket: &str) -> BTreeMap<String, i64> {
    let mut keys = BTreeMap::new();
    let mut params = ListObjectsParams::default();
    loop {
        let page = native
            .list_objects(bucket, &params)
            .await
            .unwrap_or_else(|e| panic!("native listing of {bucket}: {e}"));
        for o in page.objects {
            keys.insert(o.key, i64::try_from(o.size_bytes).expect("a small size"));
        }
        match page.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => break,
        }
    }
    keys
}

/// With nothing changing any more: the listings, reads and versions
/// agree with each other and with what the clients last did. Returns a
/// snapshot (both listings and every key's versions) to compare across
/// the restart.
async fn check_quiet(
    w: &World,
    c: &Clients,
    plain: &BTreeMap<String, Plain>,
    versioned: &BTreeMap<String, Versioned>,
    label: &str,
) -> String {
    // The bucket never versioned.
    let listed = all_keys(&c.s3, PLAIN).await;
    let native_listed = native_keys(&c.native, PLAIN).await;
    if listed != native_listed {
        w.problem(format!(
            "{label}: {PLAIN}: ListObjectsV2 lists {listed:?}, the native API {native_listed:?}"
        ));
    }
    for key in listed.keys() {
        if !plain.contains_key(key) {
            w.problem(format!(
                "{label}: {PLAIN} lists {key}, which no client wrote"
            ));
        }
    }
    for (key, state) in plain {
        let mut state = state.clone();
        let s3_read = match get(&c.s3, PLAIN, key, None).await {
            Answer::Done((_, bytes)) => Answer::Done(bytes),
            Answer::Gone(e) => Answer::Gone(e),
            Answer::Failed(e) => Answer::Failed(e),
        };
        let present = matches!(s3_read, Answer::Done(_));
        check_plain_read(w, key, &mut state, s3_read, &format!("{label}: GetObject"));
        let native_read = native_get(&c.native, PLAIN, key).await;
        if matches!(native_read, Answer::Done(_)) != present {
            w.problem(format!(
                "{label}: {PLAIN}/{key}: GetObject and the native GET disagree on its presence"
            ));
        }
        check_plain_read(
            w,
            key,
            &mut state,
            native_read,
            &format!("{label}: native GET"),
        );
        let head = answer(c.s3.head_object().bucket(PLAIN).key(key).send().await);
        let head_size = match &head {
            Answer::Done(h) => Some(h.content_length().unwrap_or(-1)),
            Answer::Gone(_) => None,
            Answer::Failed(e) => {
                w.problem(format!("{label}: {PLAIN}/{key}: HeadObject: {e}"));
                continue;
            }
        };
        if head_size != listed.get(key).copied() || present != listed.contains_key(key) {
            w.problem(format!(
                "{label}: {PLAIN}/{key}: HEAD says {head_size:?}, the listing {:?}, GetObject found it: {present}",
                listed.get(key)
            ));
        }
    }

    // The versioned bucket.
    let versions = all_versions(&c.s3, LOCKED).await;
    let listed = all_keys(&c.s3, LOCKED).await;
    let native_listed = native_keys(&c.native, LOCKED).await;
    if listed != native_listed {
        w.problem(format!(
            "{label}: {LOCKED}: ListObjectsV2 lists {listed:?}, the native API {native_listed:?}"
        ));
    }
    for key in versions.keys() {
        if !versioned.contains_key(key) {
            w.problem(format!(
                "{label}: {LOCKED} lists {key}, which no client wrote"
            ));
        }
    }
    let mut ids = BTreeSet::new();
    for (key, st) in versioned {
        let list = versions.get(key).cloned().unwrap_or_default();
        for v in &list {
            if !ids.insert(v.id.clone()) {
                w.problem(format!(
                    "{label}: {LOCKED}/{key}: version {} listed twice",
                    v.id
                ));
            }
        }
        let latest: Vec<&Listed> = list.iter().filter(|v| v.latest).collect();
        if list.is_empty() != latest.is_empty() || latest.len() > 1 {
            w.problem(format!(
                "{label}: {LOCKED}/{key}: {} latest versions among {list:?}",
                latest.len()
            ));
            continue;
        }
        let latest_data = latest.first().filter(|v| !v.marker).map(|v| v.id.clone());
        if latest_data.is_some() != listed.contains_key(key) {
            w.problem(format!(
                "{label}: {LOCKED}/{key}: ListObjectsV2 lists it: {}, its latest version is {:?}",
                listed.contains_key(key),
                latest.first()
            ));
        }
        match (get(&c.s3, LOCKED, key, None).await, &latest_data) {
            (Answer::Done((v, _)), Some(id)) if v.as_deref() == Some(id.as_str()) => {}
            (Answer::Gone(_), None) => {}
            (Answer::Done((v, _)), want) => w.problem(format!(
                "{label}: {LOCKED}/{key}: GetObject read {v:?}, ListObjectVersions says the latest is {want:?}"
            )),
            (Answer::Gone(e) | Answer::Failed(e), want) => w.problem(format!(
                "{label}: {LOCKED}/{key}: GetObject: {e}; ListObjectVersions says the latest is {want:?}"
            )),
        }
        match &st.latest {
            Latest::Data { id, due: false, .. } => {
                if latest_data.as_ref() != Some(id) {
                    w.problem(format!(
                        "{label}: {LOCKED}/{key}: the kept version {id} is not the latest: {list:?}"
                    ));
                }
            }
            Latest::Data { id, due: true, .. } => {
                let behind_marker =
                    latest.first().is_some_and(|v| v.marker) && list.iter().any(|v| v.id == *id);
                if latest_data.as_ref() != Some(id) && !behind_marker {
                    w.problem(format!(
                        "{label}: {LOCKED}/{key}: the due version {id} is neither the latest nor behind a marker: {list:?}"
                    ));
                }
            }
            Latest::Gone => {
                if latest_data.is_some() {
                    w.problem(format!(
                        "{label}: {LOCKED}/{key}: deleted, yet its latest version is {latest_data:?}"
                    ));
                }
            }
        }
        for (id, _) in &st.held {
            if !list.iter().any(|v| v.id == *id) {
                w.problem(format!(
                    "{label}: {LOCKED}/{key}: the held version {id} was removed"
                ));
            }
        }
        for v in list.iter().filter(|v| !v.marker) {
            let Some(body) = st.written.get(&v.id) else {
                w.problem(format!(
                    "{label}: {LOCKED}/{key}: lists version {}, which no PutObject answered",
                    v.id
                ));
                continue;
            };
            match get(&c.s3, LOCKED, key, Some(&v.id)).await {
                Answer::Done((_, bytes)) if bytes == *body => {}
                Answer::Done((_, bytes)) => w.problem(format!(
                    "{label}: {LOCKED}/{key}: version {} reads {}, written {}",
                    v.id,
                    show(&bytes),
                    show(body)
                )),
                Answer::Gone(e) | Answer::Failed(e) => w.problem(format!(
                    "{label}: {LOCKED}/{key}: listed version {} does not read: {e}",
                    v.id
                )),
            }
        }
    }
    format!(
        "{:?}\n{:?}\n{:?}",
        all_keys(&c.s3, PLAIN).await,
        all_keys(&c.s3, LOCKED).await,
        versions
    )
}

/// The blob files under the object store are exactly the rows', and no
/// temporary file is left.
async fn check_files(w: &World, server: &TestServer, backend: Backend) {
    let tmp = objects_dir(server).join("tmp");
    let temporaries = files_under(&tmp);
    if !temporaries.is_empty() {
        w.problem(format!("temporaries remain: {temporaries:?}"));
    }
    let files: BTreeSet<String> = files_under(&objects_dir(server))
        .into_iter()
        .filter(|p| !p.starts_with(&tmp))
        .filter_map(|p| blob_name(&p))
        .collect();
    let (objects, versions, parts) = referenced_blobs(server, backend).await;
    let rows: BTreeSet<String> = objects.into_iter().chain(versions).chain(parts).collect();
    let orphans: Vec<_> = files.difference(&rows).collect();
    let missing: Vec<_> = rows.difference(&files).collect();
    if !orphans.is_empty() {
        w.problem(format!("blob files no row points to: {orphans:?}"));
    }
    if !missing.is_empty() {
        w.problem(format!("rows whose blob file is missing: {missing:?}"));
    }
}

/// The totals of the sweep's log lines: objects expired, versions
/// removed, uploads aborted.
fn sweep_totals(log: &str) -> [u64; 3] {
    let mut totals = [0; 3];
    for line in log.lines().filter(|l| l.contains("lifecycle sweep done")) {
        for (i, field) in ["expired_objects=", "expired_versions=", "aborted_uploads="]
            .iter()
            .enumerate()
        {
            if let Some(rest) = line.split(field).nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                totals[i] += digits.parse::<u64>().unwrap_or(0);
            }
        }
    }
    totals
}

async fn torture(backend: Backend) {
    let seed = torture_seed();
    eprintln!(
        "lifecycle torture on {backend:?}: seed {seed} (rerun with MINIAWS_TORTURE_SEED={seed})"
    );
    let started = Instant::now();
    let Some(mut server) =
        TestServer::start_with(backend, &["--lifecycle-interval-secs", "1"], &[]).await
    else {
        return;
    };
    let (native, key) = server.user("lifecycle-tortured").await;
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket(PLAIN)
        .send()
        .await
        .expect("CreateBucket");
    s3.create_bucket()
        .bucket(LOCKED)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("CreateBucket with Object Lock (versioned)");
    for (bucket, versioned) in [(PLAIN, false), (LOCKED, true)] {
        s3.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(rules(versioned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutBucketLifecycleConfiguration {bucket}: {e:?}"));
    }

    let w = Arc::new(World::default());
    let c = Arc::new(Clients {
        s3: s3.clone(),
        native,
    });
    let end = Instant::now() + LOAD;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seeds = || StdRng::seed_from_u64(rng.gen_range(0..u64::MAX));
    let plain_workers: Vec<_> = (0..WORKERS)
        .map(|i| (i, false))
        .chain((0..FLIPPERS).map(|i| (i, true)))
        .map(|(i, flipper)| {
            let task = plain_worker(w.clone(), c.clone(), i, flipper, seeds(), end);
            tokio::spawn(task)
        })
        .collect();
    let versioned_workers: Vec<_> = (0..WORKERS)
        .map(|i| (i, false))
        .chain((0..FLIPPERS).map(|i| (i, true)))
        .map(|(i, flipper)| {
            let task = versioned_worker(w.clone(), s3.clone(), i, flipper, seeds(), end);
            tokio::spawn(task)
        })
        .collect();
    let mut uploaders = Vec::new();
    for bucket in [PLAIN, LOCKED] {
        for i in 0..UPLOADERS {
            let task = uploader(w.clone(), s3.clone(), bucket, i, seeds(), end);
            uploaders.push((bucket, tokio::spawn(task)));
        }
    }

    // Meanwhile, everything becomes old enough to be due.
    let past = match backend {
        Backend::Sqlite => "'2020-01-01T00:00:00.000000Z'",
        Backend::Postgres => "'2020-01-01T00:00:00Z'",
    };
    let aging = [
        format!("UPDATE object_versions SET noncurrent_at = {past} WHERE noncurrent_at > {past}"),
        format!("UPDATE multipart_uploads SET initiated_at = {past} WHERE initiated_at > {past}"),
    ];
    while Instant::now() < end {
        for sql in &aging {
            execute(&server, backend, sql).await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let mut plain: BTreeMap<String, Plain> = BTreeMap::new();
    for task in plain_workers {
        plain.extend(task.await.expect("a worker of the plain bucket"));
    }
    let mut versioned: BTreeMap<String, Versioned> = BTreeMap::new();
    for task in versioned_workers {
        versioned.extend(task.await.expect("a worker of the versioned bucket"));
    }
    for (bucket, task) in uploaders {
        let (key, done) = task.await.expect("an uploader");
        if bucket == PLAIN {
            let state = match done.last() {
                Some((_, body)) => Plain::Present {
                    body: body.clone(),
                    due: false,
                },
                None => Plain::Absent,
            };
            plain.insert(key, state);
        } else {
            let mut state = Versioned::new();
            for (id, body) in &done {
                state
                    .written
                    .insert(id.clone().unwrap_or_default(), body.clone());
            }
            if let Some((Some(id), body)) = done.last() {
                state.latest = Latest::Data {
                    id: id.clone(),
                    body: body.clone(),
                    due: false,
                };
            }
            versioned.insert(key, state);
        }
    }
    let load_done = started.elapsed();

    // Freeze: without a configuration the sweep changes nothing more
    // (each of its changes requires one, in the same statement or
    // transaction).
    for bucket in [PLAIN, LOCKED] {
        s3.delete_bucket_lifecycle()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteBucketLifecycle {bucket}: {e:?}"));
    }
    let before = check_quiet(&w, &c, &plain, &versioned, "before the restart").await;

    // A restart's start-up sweep removes what no row points to; then the
    // files must be exactly the rows', and the listings unchanged.
    server.restart().await;
    let c = Clients {
        s3: s3_client(&server, &key),
        native: server.client().with_api_key(key.key.clone()),
    };
    check_files(&w, &server, backend).await;
    let after = check_quiet(&w, &c, &plain, &versioned, "after the restart").await;
    if before != after {
        w.problem(format!(
            "the restart changed the listings:\nbefore {before}\nafter {after}"
        ));
    }

    let log = server.log();
    let [objects, versions, aborts] = sweep_totals(&log);
    let stats = w.stats.lock().expect("stats lock").clone();
    eprintln!(
        "lifecycle torture on {backend:?}: load {load_done:?}, all {:?}; the sweep expired {objects} objects, removed {versions} versions, aborted {aborts} uploads; the clients: {stats:#?}",
        started.elapsed()
    );
    let problems = w.problems.lock().expect("problems lock").clone();
    if !problems.is_empty() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "lifecycle torture on {backend:?} with seed {seed} (rerun with MINIAWS_TORTURE_SEED={seed}) found {} problem(s):\n{}\n\nserver log, last lines:\n{}",
            problems.len(),
            problems.join("\n"),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert!(
        objects > 0 && versions > 0 && aborts > 0,
        "the sweep must have expired objects ({objects}), removed versions ({versions}) and aborted uploads ({aborts}) under the load"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifecycle_torture_sqlite() {
    torture(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifecycle_torture_postgres() {
    torture(Backend::Postgres).await;
}
