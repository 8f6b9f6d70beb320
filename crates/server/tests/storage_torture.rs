//! A seeded, randomized torture of object storage against the real server,
//! on SQLite and Postgres: several clients (the native API and the AWS SDK)
//! write, copy, delete and read a small set of colliding keys, and complete
//! or abort multipart uploads, while the server is SIGKILLed at random
//! moments and restarted on the same data directory and database. Some
//! requests are dropped by their client after a few milliseconds, as a
//! client that hangs up.
//!
//! Every body carries its identity (a header naming its id and length,
//! then bytes derived from the id), so any read can be checked byte for
//! byte against what was written. The test keeps the history of every
//! operation (when it started, when it was acknowledged, or that its
//! outcome is unknown because the server died under it) and checks, while
//! it runs and after every restart:
//! - every read is one complete body that was written to that key (or to
//!   the source of a copy into it), with matching size and ETag (the MD5,
//!   or the multipart ETag), and not older than a write (or delete) that
//!   was acknowledged before the read began, unless a later write could
//!   explain it;
//! - after a restart, and at the quiet end once the server is idle (before
//!   and after a last restart): the listing, HEAD and GET agree; a key holds what the
//!   last acknowledged operation left (or what an operation in flight at the
//!   crash did); no temporary file remains; every blob file under
//!   `<data-dir>/objects` is referenced by an object row or a live multipart
//!   part, and every row's file exists; acknowledged parts of unfinished
//!   multipart uploads survive.
//!
//! The seed is printed; `MINIAWS_TORTURE_SEED=<n>` replays its choices (the
//! interleavings still vary with timing).

mod common;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, MetadataDirective, ObjectIdentifier,
};
use common::{blob_name, files_under, objects_dir, referenced_blobs, s3_client, torture_seed};
use futures::StreamExt;
use md5::{Digest, Md5};
use miniaws_client::{Client, ClientError, CreatedKey, ListObjectsParams};
use miniaws_testkit::{Backend, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUCKETS: [&str; 2] = ["torture-a", "torture-b"];
const KEYS: [&str; 3] = ["k0", "dir/k1", "k2"];
/// Concurrent clients: even ones speak the native API, odd ones S3 (both
/// read through either).
const WORKERS: usize = 6;
/// Epochs ended by a SIGKILL; one more ends quietly.
const CRASHES: usize = 4;
const MIB: u64 = 1024 * 1024;
/// `TORTURE:<id, 16 hex>:<len, 16 hex>\n`.
const HEADER: usize = 8 + 16 + 1 + 16 + 1;
/// No single request may take this long (then it counts as a defect).
const OP_TIMEOUT: Duration = Duration::from_secs(30);

fn key_of(slot: usize) -> (&'static str, &'static str) {
    (BUCKETS[slot / KEYS.len()], KEYS[slot % KEYS.len()])
}

const SLOTS: usize = BUCKETS.len() * KEYS.len();

// ---------------------------------------------------------------- bodies

/// The bytes of body `id`: a header naming it, then bytes derived from it.
fn body_bytes(id: u64, len: u64) -> Vec<u8> {
    let len = usize::try_from(len).expect("small bodies");
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(format!("TORTURE:{id:016x}:{len:016x}\n").as_bytes());
    let mut state = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = state.to_le_bytes();
        let n = (len - out.len()).min(8);
        out.extend_from_slice(&word[..n]);
    }
    out.truncate(len);
    out
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// S3's ETag of a multipart object with parts of `sizes` over `bytes`.
fn multipart_etag(bytes: &[u8], sizes: &[u64]) -> String {
    let mut all = Md5::new();
    let mut at = 0usize;
    for &s in sizes {
        let s = s as usize;
        all.update(Md5::digest(&bytes[at..at + s]));
        at += s;
    }
    format!("{}-{}", hex::encode(all.finalize()), sizes.len())
}

/// Checks a read: a whole body of ours, its length as declared, its ETag
/// right. Returns the body's id.
fn verify_body(
    parts_of: &HashMap<u64, Vec<u64>>,
    bytes: &[u8],
    etag: &str,
    declared_len: Option<u64>,
) -> Result<u64, String> {
    let head = bytes
        .get(..HEADER)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| format!("a body of {} bytes without our header", bytes.len()))?;
    let parse = |s: Option<&str>| s.and_then(|s| u64::from_str_radix(s, 16).ok());
    let mut fields = head.trim_end().split(':');
    let (Some("TORTURE"), Some(id), Some(len)) =
        (fields.next(), parse(fields.next()), parse(fields.next()))
    else {
        return Err(format!("a body with a foreign header {head:?}"));
    };
    if len != bytes.len() as u64 {
        return Err(format!(
            "body {id} should have {len} bytes, read {} (torn or mixed)",
            bytes.len()
        ));
    }
    if let Some(d) = declared_len
        && d != len
    {
        return Err(format!("body {id}: Content-Length {d}, body {len} bytes"));
    }
    if bytes != body_bytes(id, len).as_slice() {
        return Err(format!(
            "body {id} ({len} bytes) differs from what was written (a mix?)"
        ));
    }
    let etag = etag.trim_matches('"');
    let want = match etag.split_once('-') {
        Some(_) => match parts_of.get(&id) {
            Some(sizes) => multipart_etag(bytes, sizes),
            None => {
                return Err(format!(
                    "body {id} has a multipart ETag {etag} but was never a multipart body"
                ));
            }
        },
        None => md5_hex(bytes),
    };
    if etag != want {
        return Err(format!("body {id}: ETag {etag}, expected {want}"));
    }
    Ok(id)
}

// --------------------------------------------------------------- history

#[derive(Clone, Copy, Debug)]
enum Effect {
    /// Writes body `id`.
    Body(u64),
    /// Copies whatever the source slot held.
    CopyOf(usize),
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Pending,
    Acked(u64),
    /// Definitely not applied (a 4xx, or never reached a live server).
    Failed,
    /// May or may not have been applied (the server died, or answered 5xx).
    Unknown,
}

#[derive(Debug)]
struct Op {
    slot: usize,
    effect: Effect,
    start: u64,
    epoch: usize,
    outcome: Outcome,
    what: &'static str,
    /// The client dropped it early.
    cancelled: bool,
}

#[derive(Default)]
struct History {
    ops: Vec<Op>,
    /// Bodies ever sent to each slot.
    ever: Vec<HashSet<u64>>,
    /// Slots ever copied into each slot.
    copied_from: Vec<HashSet<usize>>,
    /// The sequence number taken once epoch `i`'s server was dead.
    kills: Vec<u64>,
}

impl History {
    /// Everything `slot` may ever have held: its own bodies and, through
    /// copies, those of their sources.
    fn allowed(&self, slot: usize) -> HashSet<u64> {
        let mut seen = HashSet::from([slot]);
        let mut todo = vec![slot];
        let mut out = HashSet::new();
        while let Some(s) = todo.pop() {
            out.extend(self.ever[s].iter().copied());
            for &src in &self.copied_from[s] {
                if seen.insert(src) {
                    todo.push(src);
                }
            }
        }
        out
    }

    fn end_of(&self, op: &Op) -> u64 {
        match op.outcome {
            Outcome::Acked(end) => end,
            Outcome::Unknown => self.kills.get(op.epoch).copied().unwrap_or(u64::MAX),
            Outcome::Pending | Outcome::Failed => u64::MAX,
        }
    }

    /// Whether a read of `slot` that ran within `[rs, re]` may see
    /// `observed` (`None`: absent): some operation that began before the
    /// read ended produced it, and no operation acknowledged before the
    /// read began started after that one ended.
    fn explains(&self, slot: usize, observed: Option<u64>, rs: u64, re: u64) -> bool {
        let acked: Vec<(u64, u64)> = self
            .ops
            .iter()
            .filter(|o| o.slot == slot)
            .filter_map(|o| match o.outcome {
                Outcome::Acked(end) => Some((o.start, end)),
                _ => None,
            })
            .collect();
        let superseded = |end: u64| acked.iter().any(|&(s, e)| s > end && e < rs);
        if observed.is_none() && !superseded(0) {
            return true;
        }
        let mut allowed_cache: HashMap<usize, HashSet<u64>> = HashMap::new();
        self.ops
            .iter()
            .filter(|o| o.slot == slot && o.start < re && o.outcome != Outcome::Failed)
            .filter(|o| !superseded(self.end_of(o)))
            .any(|o| match (o.effect, observed) {
                (Effect::Delete, None) => true,
                (Effect::Body(b), Some(x)) => b == x,
                (Effect::CopyOf(src), Some(x)) => allowed_cache
                    .entry(src)
                    .or_insert_with(|| self.allowed(src))
                    .contains(&x),
                _ => false,
            })
    }

    /// The operations on `slot`, for a failure message.
    fn describe(&self, slot: usize) -> String {
        self.describe_since(slot, 0)
    }

    /// The operations on `slot` since epoch `epoch`.
    fn describe_since(&self, slot: usize, epoch: usize) -> String {
        self.ops
            .iter()
            .filter(|o| o.slot == slot && o.epoch >= epoch)
            .map(|o| {
                format!(
                    "\n    {} {:?} start {} {:?} (epoch {}){}",
                    o.what,
                    o.effect,
                    o.start,
                    o.outcome,
                    o.epoch,
                    if o.cancelled { " cancelled" } else { "" }
                )
            })
            .collect()
    }
}

/// A multipart upload whose creation was acknowledged and which is not
/// known to be finished.
#[derive(Debug, Clone)]
struct Upload {
    slot: usize,
    id: String,
    body: u64,
    len: u64,
    sizes: Vec<u64>,
    /// Acknowledged parts: number → ETag.
    acked: BTreeMap<i32, String>,
    /// Parts whose (re)upload's outcome is unknown.
    doubtful: BTreeSet<i32>,
    /// A complete or abort of it had an unknown outcome: it may be gone.
    maybe_gone: bool,
    /// A stray part's upload had an unknown outcome. Writes outlive their
    /// request (`detached`): one whose body arrived whole commits even
    /// when its client went away, so that stray part may land after the
    /// right one was acknowledged, and a completion then meets its ETag
    /// (`InvalidPart`), as on S3.
    stray_in_flight: bool,
    /// When its first completion whose outcome is unknown began: that one
    /// may have committed, and a retry the server answers from its memory
    /// of recent completions (the same 200) writes nothing new, so an
    /// acknowledged retry's write may date from then.
    completion_began: Option<u64>,
}

/// What the workers and the checks share.
struct World {
    seed: u64,
    seq: AtomicU64,
    next_body: AtomicU64,
    history: Mutex<History>,
    /// Part sizes of the multipart bodies.
    parts_of: Mutex<HashMap<u64, Vec<u64>>>,
    /// The body (id, length) each ETag names: what a HEAD or a range read
    /// saw.
    etags: Mutex<HashMap<String, (u64, u64)>>,
    /// Unfinished uploads not being worked on.
    uploads: Mutex<Vec<Upload>>,
    problems: Mutex<Vec<String>>,
    /// Set just before the server is killed: errors from then on are
    /// expected.
    killing: AtomicBool,
    stop: AtomicBool,
    epoch: AtomicU64,
    stats: Mutex<BTreeMap<&'static str, [u32; 3]>>,
}

impl World {
    fn tick(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    fn problem(&self, msg: String) {
        eprintln!("PROBLEM: {msg}");
        self.problems.lock().unwrap().push(msg);
    }

    fn begin(&self, slot: usize, effect: Effect, what: &'static str) -> usize {
        let mut h = self.history.lock().unwrap();
        if h.ever.is_empty() {
            h.ever = vec![HashSet::new(); SLOTS];
            h.copied_from = vec![HashSet::new(); SLOTS];
        }
        match effect {
            Effect::Body(b) => {
                h.ever[slot].insert(b);
            }
            Effect::CopyOf(src) => {
                h.copied_from[slot].insert(src);
            }
            Effect::Delete => {}
        }
        let start = self.tick();
        let epoch = self.epoch.load(Ordering::SeqCst) as usize;
        h.ops.push(Op {
            slot,
            effect,
            start,
            epoch,
            outcome: Outcome::Pending,
            what,
            cancelled: false,
        });
        h.ops.len() - 1
    }

    /// Moves op `op`'s start back to `start` (a retry whose effect may
    /// date from an earlier attempt).
    fn backdate(&self, op: usize, start: u64) {
        let mut h = self.history.lock().unwrap();
        h.ops[op].start = h.ops[op].start.min(start);
    }

    /// When op `op` began.
    fn start_of(&self, op: usize) -> u64 {
        self.history.lock().unwrap().ops[op].start
    }

    fn finish(&self, op: usize, result: Result<(), Fail>) {
        let end = self.tick();
        let mut h = self.history.lock().unwrap();
        let what = h.ops[op].what;
        let outcome = match result {
            Ok(()) => Outcome::Acked(end),
            Err(Fail::Definite(_)) => Outcome::Failed,
            Err(Fail::Unknown(msg)) => {
                drop(h);
                self.unexpected(what, &msg);
                h = self.history.lock().unwrap();
                Outcome::Unknown
            }
            Err(Fail::Cancelled(_)) => {
                h.ops[op].cancelled = true;
                Outcome::Unknown
            }
        };
        h.ops[op].outcome = outcome;
        drop(h);
        self.count(what, outcome);
    }

    fn count(&self, what: &'static str, outcome: Outcome) {
        let mut stats = self.stats.lock().unwrap();
        let entry = stats.entry(what).or_default();
        match outcome {
            Outcome::Acked(_) => entry[0] += 1,
            Outcome::Failed => entry[1] += 1,
            _ => entry[2] += 1,
        }
    }

    /// An error without a crash to explain it is a defect.
    fn unexpected(&self, what: &str, msg: &str) {
        if !self.killing.load(Ordering::SeqCst) {
            self.problem(format!("{what} failed while the server was up: {msg}"));
        }
    }

    /// Remembers that `etag` names body `id` of `len` bytes.
    fn register(&self, etag: String, id: u64, len: u64) {
        self.etags.lock().unwrap().insert(etag, (id, len));
    }

    /// The body an ETag (quoted or not) names.
    fn body_of(&self, etag: &str) -> Option<(u64, u64)> {
        self.etags
            .lock()
            .unwrap()
            .get(etag.trim_matches('"'))
            .copied()
    }

    /// Checks that `slot` may hold body `observed` for a read within
    /// `[rs, re]` (see [`History::explains`]).
    fn check_seen(&self, what: &str, slot: usize, observed: Option<u64>, rs: u64, re: u64) {
        let h = self.history.lock().unwrap();
        if !h.explains(slot, observed, rs, re) {
            let history = h.describe(slot);
            drop(h);
            let (bucket, key) = key_of(slot);
            self.problem(format!(
                "{what} {bucket}/{key} within [{rs}, {re}] saw {}, which no write explains; its history:{history}",
                observed.map_or("nothing".to_owned(), |id| format!("body {id}"))
            ));
        }
    }

    fn new_body(&self, rng: &mut StdRng) -> (u64, u64) {
        let id = self.next_body.fetch_add(1, Ordering::SeqCst);
        let r: f64 = rng.r#gen();
        let len = if r < 0.75 {
            rng.gen_range(HEADER as u64..4096)
        } else if r < 0.95 {
            rng.gen_range(4096..256 * 1024)
        } else {
            // Above the blob store's 1 MiB batch: the pipelined path.
            rng.gen_range(MIB + 1..2 * MIB)
        };
        (id, len)
    }

    /// Checks a read of `slot` within `[rs, re]` that saw `bytes` (or
    /// nothing).
    fn check_read(
        &self,
        what: &str,
        slot: usize,
        read: Option<(&[u8], &str, Option<u64>)>,
        rs: u64,
        re: u64,
    ) -> Option<u64> {
        let (bucket, key) = key_of(slot);
        let observed = match read {
            None => None,
            Some((bytes, etag, len)) => {
                let parts = self.parts_of.lock().unwrap();
                match verify_body(&parts, bytes, etag, len) {
                    Ok(id) => Some(id),
                    Err(e) => {
                        drop(parts);
                        self.problem(format!("{what} {bucket}/{key}: {e}"));
                        return None;
                    }
                }
            }
        };
        let h = self.history.lock().unwrap();
        if !h.explains(slot, observed, rs, re) {
            let mut history = h.describe(slot);
            if let Some(id) = observed {
                let sent: Vec<_> = (0..SLOTS)
                    .filter(|&s| h.ever[s].contains(&id))
                    .map(key_of)
                    .collect();
                history.push_str(&format!("\n  body {id} was sent to {sent:?}"));
            }
            drop(h);
            self.problem(format!(
                "{what} {bucket}/{key} within [{rs}, {re}] saw {}, which no write explains; its history:{history}",
                observed.map_or("nothing".to_owned(), |id| format!("body {id}"))
            ));
        }
        observed
    }
}

enum Fail {
    /// The server refused it: nothing was applied.
    Definite(String),
    /// Transport failure or 5xx: it may have been applied.
    Unknown(String),
    /// The client gave up early (dropped the request, as a client that
    /// disconnects): it may have been applied, and that is no defect.
    Cancelled(String),
}

fn native_fail(e: ClientError) -> Fail {
    match &e {
        ClientError::Api { status, kind, .. } if status.as_u16() < 500 => {
            Fail::Definite(kind.clone())
        }
        _ => Fail::Unknown(e.to_string()),
    }
}

fn s3_fail<E: ProvideErrorMetadata + std::fmt::Debug>(e: SdkError<E, HttpResponse>) -> Fail {
    match e.raw_response().map(|r| r.status().as_u16()) {
        Some(status) if status < 500 => Fail::Definite(e.code().unwrap_or("-").to_owned()),
        _ => Fail::Unknown(format!("{e:?}")),
    }
}

async fn timed<T>(fut: impl std::future::Future<Output = Result<T, Fail>>) -> Result<T, Fail> {
    attempt(None, fut).await
}

/// Sometimes a client gives up on a write early: it drops the request
/// after a few milliseconds, in the middle of its body or its commit.
fn cancel_after(rng: &mut StdRng) -> Option<Duration> {
    rng.gen_bool(0.1)
        .then(|| Duration::from_micros(rng.gen_range(0..20_000)))
}

/// Runs a request, dropping it after `cancel` (when given).
async fn attempt<T>(
    cancel: Option<Duration>,
    fut: impl std::future::Future<Output = Result<T, Fail>>,
) -> Result<T, Fail> {
    match tokio::time::timeout(cancel.unwrap_or(OP_TIMEOUT), fut).await {
        Ok(r) => r,
        Err(_) if cancel.is_some() => Err(Fail::Cancelled(format!("dropped after {cancel:?}"))),
        Err(_) => Err(Fail::Unknown(format!("no answer in {OP_TIMEOUT:?}"))),
    }
}

// --------------------------------------------------------------- workers

struct Clients {
    native: Client,
    s3: aws_sdk_s3::Client,
}

impl Clients {
    fn new(server: &TestServer, key: &CreatedKey) -> Self {
        Self {
            native: server.client().with_api_key(key.key.clone()),
            s3: s3_client(server, key),
        }
    }
}

async fn put_native(w: &World, c: &Clients, rng: &mut StdRng, slot: usize) {
    let (bucket, key) = key_of(slot);
    let (id, len) = w.new_body(rng);
    let body = body_bytes(id, len);
    w.register(md5_hex(&body), id, len);
    let cancel = cancel_after(rng);
    // In memory (with its length), or streamed without a length in small
    // chunks with pauses (a slow client: a crash then often strikes
    // mid-body), sometimes only if the key is absent.
    let mode = rng.gen_range(0..10);
    let what = match mode {
        0..5 => "native PUT",
        5..9 => "native streamed PUT",
        _ => "native PUT if absent",
    };
    let op = w.begin(slot, Effect::Body(id), what);
    let result = attempt(cancel, async {
        let info = if mode < 5 {
            c.native.put_object(bucket, key, body.clone(), None).await
        } else {
            let chunks: Vec<bytes::Bytes> = body
                .chunks(32 * 1024)
                .map(bytes::Bytes::copy_from_slice)
                .collect();
            let stream = futures::stream::iter(chunks).then(|chunk| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, std::io::Error>(chunk)
            });
            if mode < 9 {
                c.native
                    .put_object_stream(bucket, key, stream, None, None)
                    .await
            } else {
                match c
                    .native
                    .put_object_stream_if_absent(bucket, key, stream, None, None)
                    .await
                {
                    Ok(Some(info)) => Ok(info),
                    Ok(None) => return Err(Fail::Definite("the key exists".into())),
                    Err(e) => Err(e),
                }
            }
        }
        .map_err(native_fail)?;
        if info.etag.trim_matches('"') != md5_hex(&body) || info.size_bytes != len {
            w.problem(format!("{what} {bucket}/{key}: answered {info:?}"));
        }
        Ok(())
    })
    .await;
    w.finish(op, result);
}

async fn put_s3(w: &World, c: &Clients, rng: &mut StdRng, slot: usize) {
    let (bucket, key) = key_of(slot);
    let (id, len) = w.new_body(rng);
    let body = body_bytes(id, len);
    w.register(md5_hex(&body), id, len);
    let cancel = cancel_after(rng);
    // Sometimes only if the key is absent (S3's If-None-Match: *).
    let if_absent = rng.gen_bool(0.1);
    let op = w.begin(slot, Effect::Body(id), "PutObject");
    let result = attempt(cancel, async {
        let mut req =
            c.s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body.clone()));
        if if_absent {
            req = req.if_none_match("*");
        }
        let out = req.send().await.map_err(s3_fail)?;
        if out.e_tag().map(|e| e.trim_matches('"').to_owned()) != Some(md5_hex(&body)) {
            w.problem(format!("PutObject {bucket}/{key}: ETag {:?}", out.e_tag()));
        }
        Ok(())
    })
    .await;
    w.finish(op, result);
}

async fn delete_native(w: &World, c: &Clients, rng: &mut StdRng, slot: usize) {
    let (bucket, key) = key_of(slot);
    let cancel = cancel_after(rng);
    let op = w.begin(slot, Effect::Delete, "native DELETE");
    let result = attempt(cancel, async {
        match c.native.delete_object(bucket, key).await {
            Ok(()) => Ok(()),
            // Absent already: the key is absent all the same.
            Err(ClientError::Api { status, kind, .. })
                if status.as_u16() == 404 && kind == "OBJECT_NOT_FOUND" =>
            {
                Ok(())
            }
            Err(e) => Err(native_fail(e)),
        }
    })
    .await;
    w.finish(op, result);
}

async fn delete_objects(w: &World, c: &Clients, rng: &mut StdRng) {
    let b = rng.gen_range(0..BUCKETS.len());
    let mut slots: Vec<usize> = (0..KEYS.len())
        .filter(|_| rng.gen_bool(0.5))
        .map(|k| b * KEYS.len() + k)
        .collect();
    if slots.is_empty() {
        slots.push(b * KEYS.len() + rng.gen_range(0..KEYS.len()));
    }
    let ops: Vec<usize> = slots
        .iter()
        .map(|&s| w.begin(s, Effect::Delete, "DeleteObjects"))
        .collect();
    let objects = slots
        .iter()
        .map(|&s| {
            ObjectIdentifier::builder()
                .key(key_of(s).1)
                .build()
                .expect("an identifier")
        })
        .collect();
    let cancel = cancel_after(rng);
    let result = attempt(cancel, async {
        c.s3.delete_objects()
            .bucket(BUCKETS[b])
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .build()
                    .expect("a delete"),
            )
            .send()
            .await
            .map_err(s3_fail)
    })
    .await;
    match result {
        Ok(out) => {
            for (&slot, &op) in slots.iter().zip(&ops) {
                let key = key_of(slot).1;
                if let Some(err) = out.errors().iter().find(|e| e.key() == Some(key)) {
                    w.finish(
                        op,
                        Err(Fail::Unknown(format!("DeleteObjects entry error {err:?}"))),
                    );
                } else if out.deleted().iter().any(|d| d.key() == Some(key)) {
                    w.finish(op, Ok(()));
                } else {
                    w.problem(format!("DeleteObjects did not answer for {key}"));
                    w.finish(op, Err(Fail::Unknown("no answer".into())));
                }
            }
        }
        Err(Fail::Definite(code)) => {
            for op in ops {
                w.finish(op, Err(Fail::Definite(code.clone())));
            }
        }
        Err(Fail::Unknown(msg)) => {
            for op in ops {
                w.finish(op, Err(Fail::Unknown(msg.clone())));
            }
        }
        Err(Fail::Cancelled(msg)) => {
            for op in ops {
                w.finish(op, Err(Fail::Cancelled(msg.clone())));
            }
        }
    }
}

async fn copy_object(w: &World, c: &Clients, rng: &mut StdRng) {
    let src = rng.gen_range(0..SLOTS);
    let dst = rng.gen_range(0..SLOTS);
    let ((sb, sk), (db, dk)) = (key_of(src), key_of(dst));
    let cancel = cancel_after(rng);
    let op = w.begin(dst, Effect::CopyOf(src), "CopyObject");
    let result = attempt(cancel, async {
        let mut req = c.s3.copy_object().copy_source(format!("{sb}/{sk}"));
        if src == dst {
            // S3 refuses a copy onto itself that changes nothing.
            req = req.metadata_directive(MetadataDirective::Replace);
        }
        req.bucket(db).key(dk).send().await.map_err(s3_fail)?;
        Ok(())
    })
    .await;
    // The source missing is an honest refusal.
    let result = match result {
        Err(Fail::Definite(code)) if code != "NoSuchKey" => {
            w.problem(format!("CopyObject {sb}/{sk} → {db}/{dk}: {code}"));
            Err(Fail::Definite(code))
        }
        other => other,
    };
    w.finish(op, result);
}

/// GET (native or S3) of a random key, checked against the history.
async fn read(w: &World, c: &Clients, rng: &mut StdRng) {
    let slot = rng.gen_range(0..SLOTS);
    let native = rng.gen_bool(0.5);
    let rs = w.tick();
    let got = timed(get(c, slot, native)).await;
    let re = w.tick();
    let what = if native { "native GET" } else { "GetObject" };
    match got {
        Ok(found) => {
            w.check_read(
                what,
                slot,
                found
                    .as_ref()
                    .map(|(b, e, l)| (b.as_slice(), e.as_str(), *l)),
                rs,
                re,
            );
            w.count(what, Outcome::Acked(0));
        }
        Err(Fail::Definite(code)) => {
            w.problem(format!("{what} {:?}: refused with {code}", key_of(slot)));
        }
        Err(Fail::Unknown(msg) | Fail::Cancelled(msg)) => {
            w.unexpected(what, &msg);
            w.count(what, Outcome::Unknown);
        }
    }
}

/// HEAD (S3) of a random key: its ETag must name a body the key may hold
/// now, of the length HEAD gives.
async fn head(w: &World, c: &Clients, rng: &mut StdRng) {
    let slot = rng.gen_range(0..SLOTS);
    let (bucket, key) = key_of(slot);
    let rs = w.tick();
    let got = timed(async {
        match c.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Ok(Some((
                out.e_tag().unwrap_or_default().to_owned(),
                out.content_length(),
            ))),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(s3_fail(e)),
        }
    })
    .await;
    let re = w.tick();
    match got {
        Ok(Some((etag, len))) => {
            match w.body_of(&etag) {
                Some((id, want)) if len == Some(want as i64) => {
                    w.check_seen("HeadObject", slot, Some(id), rs, re)
                }
                found => w.problem(format!(
                    "HeadObject {bucket}/{key}: ETag {etag} and length {len:?} name no body written ({found:?})"
                )),
            }
            w.count("HeadObject", Outcome::Acked(0));
        }
        Ok(None) => {
            w.check_seen("HeadObject", slot, None, rs, re);
            w.count("HeadObject", Outcome::Acked(0));
        }
        Err(Fail::Definite(code)) => w.problem(format!("HeadObject {bucket}/{key}: {code}")),
        Err(Fail::Unknown(msg) | Fail::Cancelled(msg)) => {
            w.unexpected("HeadObject", &msg);
            w.count("HeadObject", Outcome::Unknown);
        }
    }
}

/// A range read (native or S3) of a random key: the bytes must be that
/// range of the body its ETag names, whose length Content-Range gives.
async fn read_range(w: &World, c: &Clients, rng: &mut StdRng) {
    let slot = rng.gen_range(0..SLOTS);
    let (bucket, key) = key_of(slot);
    let native = rng.gen_bool(0.5);
    let what = if native {
        "native range GET"
    } else {
        "GetObject range"
    };
    let first = rng.gen_range(0..4096u64);
    let last = first + rng.gen_range(0..8192u64);
    let range = format!("bytes={first}-{last}");
    let rs = w.tick();
    // The bytes, the ETag and Content-Range; `None` when absent or when
    // the range starts past the end (416: no version to check).
    let got = timed(async {
        if native {
            match c.native.get_object(bucket, key, Some(&range), None).await {
                Ok(dl) => {
                    let etag = dl.header("etag").unwrap_or_default().to_owned();
                    let content_range = dl.header("content-range").unwrap_or_default().to_owned();
                    let bytes = dl.bytes().await.map_err(native_fail)?;
                    Ok(Some(Some((bytes, etag, content_range))))
                }
                Err(ClientError::Api { status, kind, .. })
                    if status.as_u16() == 404 && kind == "OBJECT_NOT_FOUND" =>
                {
                    Ok(Some(None))
                }
                Err(ClientError::Api { status, .. }) if status.as_u16() == 416 => Ok(None),
                Err(e) => Err(native_fail(e)),
            }
        } else {
            match c
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .range(&range)
                .send()
                .await
            {
                Ok(out) => {
                    let etag = out.e_tag().unwrap_or_default().to_owned();
                    let content_range = out.content_range().unwrap_or_default().to_owned();
                    let bytes = out
                        .body
                        .collect()
                        .await
                        .map_err(|e| Fail::Unknown(format!("reading a body: {e}")))?
                        .into_bytes()
                        .to_vec();
                    Ok(Some(Some((bytes, etag, content_range))))
                }
                Err(e) if e.code() == Some("NoSuchKey") => Ok(Some(None)),
                Err(e) if e.code() == Some("InvalidRange") => Ok(None),
                Err(e) => Err(s3_fail(e)),
            }
        }
    })
    .await;
    let re = w.tick();
    match got {
        Ok(Some(Some((bytes, etag, content_range)))) => {
            match w.body_of(&etag) {
                Some((id, len)) => {
                    let end = last.min(len - 1);
                    let want_range = format!("bytes {first}-{end}/{len}");
                    let whole = body_bytes(id, len);
                    if content_range != want_range
                        || bytes.as_slice() != &whole[first as usize..=end as usize]
                    {
                        w.problem(format!(
                            "{what} {bucket}/{key} {range}: {} bytes, Content-Range {content_range}, ETag {etag}: not {want_range} of body {id}",
                            bytes.len()
                        ));
                    } else {
                        w.check_seen(what, slot, Some(id), rs, re);
                    }
                }
                None => w.problem(format!(
                    "{what} {bucket}/{key}: ETag {etag} names no body written"
                )),
            }
            w.count(what, Outcome::Acked(0));
        }
        Ok(Some(None)) => {
            w.check_seen(what, slot, None, rs, re);
            w.count(what, Outcome::Acked(0));
        }
        Ok(None) => w.count(what, Outcome::Failed),
        Err(Fail::Definite(code)) => w.problem(format!("{what} {bucket}/{key}: {code}")),
        Err(Fail::Unknown(msg) | Fail::Cancelled(msg)) => {
            w.unexpected(what, &msg);
            w.count(what, Outcome::Unknown);
        }
    }
}

/// The object's bytes, ETag and declared length, or `None` when absent.
async fn get(
    c: &Clients,
    slot: usize,
    native: bool,
) -> Result<Option<(Vec<u8>, String, Option<u64>)>, Fail> {
    let (bucket, key) = key_of(slot);
    if native {
        match c.native.get_object(bucket, key, None, None).await {
            Ok(dl) => {
                let etag = dl.header("etag").unwrap_or_default().to_owned();
                let len = dl.header("content-length").and_then(|l| l.parse().ok());
                let bytes = dl.bytes().await.map_err(native_fail)?;
                Ok(Some((bytes, etag, len)))
            }
            Err(ClientError::Api { status, kind, .. })
                if status.as_u16() == 404 && kind == "OBJECT_NOT_FOUND" =>
            {
                Ok(None)
            }
            Err(e) => Err(native_fail(e)),
        }
    } else {
        match c.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_owned();
                let len = out.content_length().map(|l| l as u64);
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| Fail::Unknown(format!("reading a body: {e}")))?
                    .into_bytes()
                    .to_vec();
                Ok(Some((bytes, etag, len)))
            }
            Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(s3_fail(e)),
        }
    }
}

/// A multipart upload, new or left unfinished by a crash, taken to its
/// completion (or its abort).
async fn multipart(w: &World, c: &Clients, rng: &mut StdRng, abort: bool) {
    let resumed = if rng.gen_bool(0.6) {
        let mut pool = w.uploads.lock().unwrap();
        (!pool.is_empty()).then(|| {
            let i = rng.gen_range(0..pool.len());
            pool.swap_remove(i)
        })
    } else {
        None
    };
    let mut up = match resumed {
        Some(up) => up,
        None => {
            let slot = rng.gen_range(0..SLOTS);
            let (bucket, key) = key_of(slot);
            let body = w.next_body.fetch_add(1, Ordering::SeqCst);
            let last = rng.gen_range(HEADER as u64..64 * 1024);
            // Parts under 5 MiB only as the last one: most uploads have one
            // part, some a 5 MiB one before it.
            let sizes = if rng.gen_bool(0.25) {
                vec![5 * MIB, last]
            } else {
                vec![last]
            };
            let len = sizes.iter().sum();
            w.parts_of.lock().unwrap().insert(body, sizes.clone());
            let created = timed(async {
                c.s3.create_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(s3_fail)
            })
            .await;
            let id = match created {
                Ok(out) => out.upload_id().unwrap_or_default().to_owned(),
                Err(Fail::Definite(code)) => {
                    w.problem(format!("CreateMultipartUpload {bucket}/{key}: {code}"));
                    return;
                }
                Err(Fail::Unknown(msg) | Fail::Cancelled(msg)) => {
                    w.unexpected("CreateMultipartUpload", &msg);
                    return;
                }
            };
            w.count("CreateMultipartUpload", Outcome::Acked(0));
            Upload {
                slot,
                id,
                body,
                len,
                sizes,
                acked: BTreeMap::new(),
                doubtful: BTreeSet::new(),
                maybe_gone: false,
                completion_began: None,
                stray_in_flight: false,
            }
        }
    };
    let (bucket, key) = key_of(up.slot);
    let bytes = body_bytes(up.body, up.len);
    // Completed, it has the multipart ETag; copied, the MD5 of its bytes.
    w.register(multipart_etag(&bytes, &up.sizes), up.body, up.len);
    w.register(md5_hex(&bytes), up.body, up.len);

    if abort {
        let result = timed(async {
            c.s3.abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&up.id)
                .send()
                .await
                .map_err(s3_fail)
        })
        .await;
        match result {
            Ok(_) => w.count("AbortMultipartUpload", Outcome::Acked(0)),
            Err(Fail::Definite(code)) if code == "NoSuchUpload" && up.maybe_gone => {}
            Err(Fail::Definite(code)) => {
                w.problem(format!(
                    "AbortMultipartUpload {bucket}/{key} {}: {code}",
                    up.id
                ));
            }
            Err(Fail::Unknown(msg) | Fail::Cancelled(msg)) => {
                w.unexpected("AbortMultipartUpload", &msg);
                up.maybe_gone = true;
                w.uploads.lock().unwrap().push(up);
            }
        }
        return;
    }

    // Upload the parts not acknowledged yet; sometimes a stray version of
    // a part first, which the right one then replaces.
    let mut at = 0u64;
    for (i, &size) in up.sizes.clone().iter().enumerate() {
        let number = i as i32 + 1;
        let range = at as usize..(at + size) as usize;
        at += size;
        if up.acked.contains_key(&number) && !up.doubtful.contains(&number) && rng.gen_bool(0.8) {
            continue;
        }
        let stray = rng.gen_bool(0.2);
        let sends: Vec<Vec<u8>> = if stray {
            let other = w.next_body.fetch_add(1, Ordering::SeqCst);
            vec![
                body_bytes(other, size.min(4096)),
                bytes[range.clone()].to_vec(),
            ]
        } else {
            vec![bytes[range.clone()].to_vec()]
        };
        for (n, part) in sends.into_iter().enumerate() {
            let right = n == 0 && !stray || n == 1;
            up.doubtful.insert(number);
            let cancel = cancel_after(rng);
            let result = attempt(cancel, async {
                c.s3.upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&up.id)
                    .part_number(number)
                    .body(ByteStream::from(part.clone()))
                    .send()
                    .await
                    .map_err(s3_fail)
            })
            .await;
            match result {
                Ok(out) => {
                    w.count("UploadPart", Outcome::Acked(0));
                    let etag = out.e_tag().unwrap_or_default().trim_matches('"').to_owned();
                    if etag != md5_hex(&part) {
                        w.problem(format!(
                            "UploadPart {number} of {bucket}/{key}: ETag {etag}"
                        ));
                    }
                    if right {
                        up.acked.insert(number, etag);
                        up.doubtful.remove(&number);
                    } else {
                        up.acked.remove(&number);
                    }
                }
                Err(Fail::Definite(code)) if code == "NoSuchUpload" && up.maybe_gone => return,
                Err(Fail::Definite(code)) => {
                    w.problem(format!(
                        "UploadPart {number} of {bucket}/{key} {}: {code}",
                        up.id
                    ));
                    return;
                }
                Err(fail @ (Fail::Unknown(_) | Fail::Cancelled(_))) => {
                    if let Fail::Unknown(msg) = &fail {
                        w.unexpected("UploadPart", msg);
                    }
                    up.stray_in_flight |= !right;
                    w.count("UploadPart", Outcome::Unknown);
                    w.uploads.lock().unwrap().push(up);
                    return;
                }
            }
        }
    }

    let parts: Vec<CompletedPart> = up
        .acked
        .iter()
        .map(|(&n, etag)| {
            CompletedPart::builder()
                .part_number(n)
                .e_tag(format!("\"{etag}\""))
                .build()
        })
        .collect();
    let cancel = cancel_after(rng);
    // Sometimes an abort of the same upload races the completion: exactly
    // one of them may win.
    let race = rng.gen_bool(0.15);
    let op = w.begin(up.slot, Effect::Body(up.body), "CompleteMultipartUpload");
    if let Some(began) = up.completion_began {
        w.backdate(op, began);
    }
    let complete = attempt(cancel, async {
        let out =
            c.s3.complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&up.id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(s3_fail)?;
        let want = multipart_etag(&bytes, &up.sizes);
        if out.e_tag().map(|e| e.trim_matches('"')) != Some(want.as_str()) {
            w.problem(format!(
                "CompleteMultipartUpload {bucket}/{key}: ETag {:?}, expected {want}",
                out.e_tag()
            ));
        }
        Ok(())
    });
    let abort = async {
        if !race {
            return None;
        }
        Some(
            timed(async {
                c.s3.abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&up.id)
                    .send()
                    .await
                    .map_err(s3_fail)
            })
            .await,
        )
    };
    let (result, aborted) = futures::join!(complete, abort);
    let lost_race = |code: &str| code == "NoSuchUpload" && (up.maybe_gone || race);
    match &aborted {
        Some(Ok(_)) if result.is_ok() => w.problem(format!(
            "both a CompleteMultipartUpload and an AbortMultipartUpload of {} ({bucket}/{key}) succeeded",
            up.id
        )),
        Some(Err(Fail::Definite(code))) if !lost_race(code) => w.problem(format!(
            "AbortMultipartUpload racing a completion of {bucket}/{key}: {code}"
        )),
        Some(Err(Fail::Unknown(msg))) => w.unexpected("AbortMultipartUpload", msg),
        _ => {}
    }
    let settled = matches!(aborted, Some(Ok(_)));
    match result {
        // A stray part landed late: upload every part again, then retry.
        Err(Fail::Definite(code)) if code == "InvalidPart" && up.stray_in_flight => {
            w.finish(op, Err(Fail::Definite(code)));
            if !settled {
                up.doubtful.extend(up.acked.keys().copied());
                w.uploads.lock().unwrap().push(up);
            }
        }
        Err(Fail::Definite(code)) if !lost_race(&code) => {
            w.problem(format!(
                "CompleteMultipartUpload {bucket}/{key} {}: {code}",
                up.id
            ));
            w.finish(op, Err(Fail::Definite(code)));
        }
        Err(fail @ (Fail::Unknown(_) | Fail::Cancelled(_))) => {
            up.completion_began.get_or_insert(w.start_of(op));
            w.finish(op, Err(fail));
            if !settled {
                up.maybe_gone = true;
                w.uploads.lock().unwrap().push(up);
            }
        }
        other => w.finish(op, other),
    }
}

/// A listing during the storm: only keys of ours.
async fn list(w: &World, c: &Clients, rng: &mut StdRng) {
    let bucket = BUCKETS[rng.gen_range(0..BUCKETS.len())];
    match timed(async {
        c.native
            .list_objects(bucket, &ListObjectsParams::default())
            .await
            .map_err(native_fail)
    })
    .await
    {
        Ok(page) => {
            for o in &page.objects {
                if !KEYS.contains(&o.key.as_str()) {
                    w.problem(format!("listing {bucket} shows a stranger: {o:?}"));
                }
            }
            w.count("native list", Outcome::Acked(0));
        }
        Err(Fail::Definite(code)) => w.problem(format!("listing {bucket}: {code}")),
        Err(Fail::Unknown(msg) | Fail::Cancelled(msg)) => w.unexpected("native list", &msg),
    }
}

async fn worker(w: Arc<World>, c: Clients, mut rng: StdRng, native: bool) {
    while !w.stop.load(Ordering::SeqCst) {
        let slot = rng.gen_range(0..SLOTS);
        match rng.gen_range(0..100) {
            0..30 if native => put_native(&w, &c, &mut rng, slot).await,
            0..30 => put_s3(&w, &c, &mut rng, slot).await,
            30..45 => read(&w, &c, &mut rng).await,
            45..50 => head(&w, &c, &mut rng).await,
            50..55 => read_range(&w, &c, &mut rng).await,
            55..63 if native => delete_native(&w, &c, &mut rng, slot).await,
            55..63 => delete_objects(&w, &c, &mut rng).await,
            63..75 => copy_object(&w, &c, &mut rng).await,
            75..85 => multipart(&w, &c, &mut rng, false).await,
            85..89 => multipart(&w, &c, &mut rng, true).await,
            _ => list(&w, &c, &mut rng).await,
        }
    }
}

// ---------------------------------------------------------------- checks

/// With nothing in flight: the listing, HEAD and GET of every key agree
/// with each other and with the history; the files on disk are exactly
/// the rows' blobs; unfinished uploads keep their acknowledged parts.
async fn check(w: &World, server: &TestServer, backend: Backend, c: &Clients, label: &str) {
    let tmp = objects_dir(server).join("tmp");
    let temporaries = files_under(&tmp);
    if !temporaries.is_empty() {
        w.problem(format!("{label}: temporaries remain: {temporaries:?}"));
    }

    let mut listed: HashMap<usize, (u64, String)> = HashMap::new();
    for (b, bucket) in BUCKETS.iter().enumerate() {
        let page = c
            .native
            .list_objects(bucket, &ListObjectsParams::default())
            .await
            .unwrap_or_else(|e| panic!("{label}: listing {bucket}: {e}"));
        for o in page.objects {
            match KEYS.iter().position(|k| *k == o.key) {
                Some(k) => {
                    listed.insert(b * KEYS.len() + k, (o.size_bytes, o.etag.clone()));
                }
                None => w.problem(format!("{label}: {bucket} lists a stranger {o:?}")),
            }
        }
    }
    let now = w.tick();
    for slot in 0..SLOTS {
        let (bucket, key) = key_of(slot);
        for native in [true, false] {
            let what = if native { "native GET" } else { "GetObject" };
            let got = match timed(get(c, slot, native)).await {
                Ok(got) => got,
                Err(Fail::Definite(e) | Fail::Unknown(e) | Fail::Cancelled(e)) => {
                    w.problem(format!("{label}: {what} {bucket}/{key}: {e}"));
                    continue;
                }
            };
            match (&got, listed.get(&slot)) {
                (Some((bytes, etag, _)), Some((size, listed_etag))) => {
                    if bytes.len() as u64 != *size || etag != listed_etag {
                        w.problem(format!(
                            "{label}: {what} {bucket}/{key} read {} bytes, ETag {etag}; listed {size}, {listed_etag}",
                            bytes.len()
                        ));
                    }
                }
                (None, None) => {}
                (got, listed) => w.problem(format!(
                    "{label}: {what} {bucket}/{key} found {} but the listing says {listed:?}",
                    got.is_some()
                )),
            }
            w.check_read(
                &format!("{label}: {what}"),
                slot,
                got.as_ref().map(|(b, e, l)| (b.as_slice(), e.as_str(), *l)),
                now,
                now,
            );
        }
        let head = c.s3.head_object().bucket(bucket).key(key).send().await;
        match (head, listed.get(&slot)) {
            (Ok(h), Some((size, etag))) => {
                if h.content_length() != Some(*size as i64) || h.e_tag() != Some(etag.as_str()) {
                    w.problem(format!(
                        "{label}: HEAD {bucket}/{key} says {:?} {:?}, the listing {size} {etag}",
                        h.content_length(),
                        h.e_tag()
                    ));
                }
            }
            (Err(e), None)
                if e.code() == Some("NotFound")
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
            (head, listed) => w.problem(format!(
                "{label}: HEAD {bucket}/{key} answered {head:?}, the listing {listed:?}"
            )),
        }
    }

    // Files and rows: one for one.
    let tmp = objects_dir(server).join("tmp");
    let files: BTreeSet<String> = files_under(&objects_dir(server))
        .into_iter()
        .filter(|p| !p.starts_with(&tmp))
        .filter_map(|p| blob_name(&p))
        .collect();
    let (objects, _, parts) = referenced_blobs(server, backend).await;
    if objects.len() != listed.len() {
        w.problem(format!(
            "{label}: {} object rows, {} listed",
            objects.len(),
            listed.len()
        ));
    }
    let rows: BTreeSet<String> = objects.into_iter().chain(parts).collect();
    let orphans: Vec<_> = files.difference(&rows).collect();
    let missing: Vec<_> = rows.difference(&files).collect();
    if !orphans.is_empty() {
        let log = server.log();
        let mentions: Vec<&str> = log
            .lines()
            .filter(|l| {
                orphans.iter().any(|o| {
                    let hyphenated = uuid::Uuid::parse_str(o).map(|u| u.to_string());
                    l.contains(o.as_str()) || hyphenated.is_ok_and(|h| l.contains(&h))
                })
            })
            .collect();
        let heads: Vec<String> = files_under(&objects_dir(server))
            .into_iter()
            .filter(|p| blob_name(p).is_some_and(|n| orphans.contains(&&n)))
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap_or_default();
                String::from_utf8_lossy(&bytes[..bytes.len().min(HEADER)]).into_owned()
            })
            .collect();
        let mut whence = String::new();
        {
            let h = w.history.lock().unwrap();
            for head in &heads {
                let id = head
                    .split(':')
                    .nth(1)
                    .and_then(|id| u64::from_str_radix(id, 16).ok());
                for slot in (0..SLOTS).filter(|&s| id.is_some_and(|id| h.ever[s].contains(&id))) {
                    let epoch = w.epoch.load(Ordering::SeqCst) as usize;
                    whence.push_str(&format!(
                        "\n  body {id:?} was sent to {:?}, which saw since the last start-up:{}",
                        key_of(slot),
                        h.describe_since(slot, epoch)
                    ));
                }
            }
        }
        w.problem(format!(
            "{label}: blob files no row points to: {orphans:?}, holding {heads:?}{whence}\nthe log mentions them in:\n{}",
            mentions.join("\n")
        ));
    }
    if !missing.is_empty() {
        w.problem(format!(
            "{label}: rows whose blob file is missing: {missing:?}"
        ));
    }

    // Unfinished uploads keep their acknowledged parts.
    let uploads = w.uploads.lock().unwrap().clone();
    for up in uploads {
        let (bucket, key) = key_of(up.slot);
        match c
            .s3
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(&up.id)
            .send()
            .await
        {
            Ok(out) => {
                let stored: BTreeMap<i32, String> = out
                    .parts()
                    .iter()
                    .map(|p| {
                        (
                            p.part_number().unwrap_or_default(),
                            p.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
                        )
                    })
                    .collect();
                for (n, etag) in &up.acked {
                    if !up.doubtful.contains(n) && stored.get(n) != Some(etag) {
                        w.problem(format!(
                            "{label}: upload {} of {bucket}/{key} lost acknowledged part {n} ({etag}); it lists {stored:?}",
                            up.id
                        ));
                    }
                }
            }
            Err(e) if up.maybe_gone && e.code() == Some("NoSuchUpload") => {}
            Err(e) => w.problem(format!(
                "{label}: ListParts of upload {} of {bucket}/{key}: {e:?}",
                up.id
            )),
        }
    }
}

/// Waits until the server is idle: a request its client gave up on may
/// still be finishing on the server (writes run in tasks of their own), so
/// the files and the listings must stay the same for a while.
async fn settle(server: &TestServer, c: &Clients) {
    let snapshot = || async {
        let files: BTreeSet<_> = files_under(&objects_dir(server)).into_iter().collect();
        let mut listed = Vec::new();
        for bucket in BUCKETS {
            let page = c
                .native
                .list_objects(bucket, &ListObjectsParams::default())
                .await
                .unwrap_or_else(|e| panic!("listing {bucket}: {e}"));
            listed.extend(page.objects.into_iter().map(|o| (o.key, o.etag)));
        }
        (files, listed)
    };
    let mut last = snapshot().await;
    let mut stable = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = snapshot().await;
        if now == last {
            stable += 1;
            if stable == 3 {
                return;
            }
        } else {
            stable = 0;
            last = now;
        }
    }
    panic!("the server never settled");
}

fn fail_if_problems(w: &World, server: &TestServer, backend: Backend) {
    let problems = w.problems.lock().unwrap();
    if problems.is_empty() {
        return;
    }
    let log = server.log();
    let tail: Vec<&str> = log.lines().rev().take(60).collect();
    panic!(
        "storage torture on {backend:?} with seed {} (rerun with MINIAWS_TORTURE_SEED={}) found {} problem(s):\n{}\n\nserver log, last lines:\n{}",
        w.seed,
        w.seed,
        problems.len(),
        problems.join("\n"),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}

async fn torture(backend: Backend) {
    let seed = torture_seed();
    eprintln!(
        "storage torture on {backend:?}: seed {seed} (rerun with MINIAWS_TORTURE_SEED={seed})"
    );
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (owner, key) = server.user("tortured").await;
    for bucket in BUCKETS {
        owner.create_bucket(bucket).await.expect("create a bucket");
    }
    let w = Arc::new(World {
        seed,
        seq: AtomicU64::new(1),
        next_body: AtomicU64::new(1),
        history: Mutex::new(History::default()),
        parts_of: Mutex::new(HashMap::new()),
        etags: Mutex::new(HashMap::new()),
        uploads: Mutex::new(Vec::new()),
        problems: Mutex::new(Vec::new()),
        killing: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        epoch: AtomicU64::new(0),
        stats: Mutex::new(BTreeMap::new()),
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let started = std::time::Instant::now();
    // Crashes that struck while a body was being written.
    let mut mid_body = 0;
    for epoch in 0..=CRASHES {
        let crash = epoch < CRASHES;
        w.epoch.store(epoch as u64, Ordering::SeqCst);
        w.stop.store(false, Ordering::SeqCst);
        w.killing.store(false, Ordering::SeqCst);
        let workers: Vec<_> = (0..WORKERS)
            .map(|i| {
                let rng = StdRng::seed_from_u64(
                    seed ^ ((epoch * WORKERS + i + 1) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                tokio::spawn(worker(
                    w.clone(),
                    Clients::new(&server, &key),
                    rng,
                    i % 2 == 0,
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(600..2500))).await;
        if crash {
            if rng.gen_bool(0.5) {
                // Half the crashes wait (up to a second) for a body being
                // written: a temporary with bytes in it.
                let tmp = objects_dir(&server).join("tmp");
                for _ in 0..100 {
                    if files_under(&tmp)
                        .iter()
                        .any(|p| p.metadata().is_ok_and(|m| m.len() > 0))
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            w.killing.store(true, Ordering::SeqCst);
            let tmp = objects_dir(&server).join("tmp");
            if files_under(&tmp)
                .iter()
                .any(|p| p.metadata().is_ok_and(|m| m.len() > 0))
            {
                mid_body += 1;
            }
            server.kill().await;
            // Everything in flight ended by now, applied or not.
            let dead = w.tick();
            w.history.lock().unwrap().kills.push(dead);
        }
        w.stop.store(true, Ordering::SeqCst);
        for handle in workers {
            tokio::time::timeout(Duration::from_secs(60), handle)
                .await
                .expect("a worker ends")
                .expect("a worker does not panic");
        }
        {
            // Requests sent once the server was dead never reached it.
            let mut h = w.history.lock().unwrap();
            let dead = h.kills.get(epoch).copied();
            for op in h.ops.iter_mut().filter(|o| o.epoch == epoch) {
                if op.outcome == Outcome::Unknown && dead.is_some_and(|d| op.start > d) {
                    op.outcome = Outcome::Failed;
                }
            }
            assert!(
                h.ops.iter().all(|o| o.outcome != Outcome::Pending),
                "an operation never finished"
            );
        }
        let clients = Clients::new(&server, &key);
        if crash {
            server.restart().await;
            let clients = Clients::new(&server, &key);
            check(
                &w,
                &server,
                backend,
                &clients,
                &format!("after crash {}", epoch + 1),
            )
            .await;
        } else {
            // Quiet: the running server, then once more after a restart.
            settle(&server, &clients).await;
            check(&w, &server, backend, &clients, "at the end").await;
            fail_if_problems(&w, &server, backend);
            server.stop().await;
            server.restart().await;
            let clients = Clients::new(&server, &key);
            check(&w, &server, backend, &clients, "after the final restart").await;
        }
        fail_if_problems(&w, &server, backend);
    }
    let h = w.history.lock().unwrap();
    eprintln!(
        "storage torture on {backend:?}, seed {seed}: {} writes and deletes, {} crashes ({mid_body} mid-body), {:.1} s; per operation [acked, refused, unknown]: {:?}",
        h.ops.len(),
        CRASHES,
        started.elapsed().as_secs_f64(),
        w.stats.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn torture_sqlite() {
    torture(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn torture_postgres() {
    torture(Backend::Postgres).await;
}
