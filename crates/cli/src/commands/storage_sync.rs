//! `cloud storage sync SOURCE DEST`: makes a bucket prefix hold what a
//! local directory holds, or the other way round, or what another bucket
//! prefix holds (by server-side copies), transferring only what is new
//! or changed (and, with `--delete`, removing what the source no longer
//! has), as `aws s3 sync` and `rclone sync` do.
//!
//! The bucket side is written `s3://BUCKET[/PREFIX]`, the notation every
//! S3 user knows, so that the direction never depends on which names
//! happen to exist on disk. A prefix names a folder, as for the other
//! recursive commands.
//!
//! A file and an object are the same when their sizes are equal and the
//! file's MD5 is the object's ETag (every object written in one piece,
//! which is all that `cloud` writes). An object assembled from a multipart
//! upload has an ETag that no file's MD5 can be compared with; it counts
//! as the same when the destination's copy is at least as recent as the
//! source's (modification time against `last_modified`), as `aws s3 sync`
//! decides for every file.

use anyhow::{Context, Result};
use futures::StreamExt;
use globset::{Glob, GlobMatcher};
use indicatif::ProgressBar;
use md5::{Digest, Md5};
use miniaws_client::{Client, ObjectInfo};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::storage::{
    UploadOptions, Walked, all_objects, not_found_hint, open, put_file, walk, warn_passed_over,
    warn_unnamed,
};
use super::storage_tree::{
    DownloadReport, Problem, Tree, download_objects, listing, named, split_target, warn,
};
use crate::cli::PathFilter;
use crate::context::Ctx;
use crate::error::{Interrupted, describe, interrupted, user};
use crate::output::{Output, human_bytes, printable};
use crate::sandbox::{Place, Sandbox, place};
use crate::transfer::{count_bar, next_unless_interrupted, progress_bar};

/// How many deletions are in flight at once.
const DELETE_CONCURRENCY: usize = 8;
/// How many server-side copies are in flight at once.
const COPY_CONCURRENCY: usize = 8;

/// The verbs of the three directions, for the summary.
const UPLOAD: (&str, &str) = ("upload", "uploaded");
const DOWNLOAD: (&str, &str) = ("download", "downloaded");
const COPY: (&str, &str) = ("copy", "copied");

/// What `cloud storage sync` was asked, besides its two sides.
pub struct SyncOptions {
    /// Remove from the destination what the source does not hold.
    pub delete: bool,
    /// Say what would be done, and do nothing.
    pub dry_run: bool,
    /// `--exclude` and `--include`, in order: the paths (relative to the
    /// directory and the prefix) they leave out are never transferred,
    /// never deleted.
    pub filters: Vec<PathFilter>,
    /// Transfer rate limit, bytes per second.
    pub limit_rate: Option<u64>,
}

/// One side of a sync.
#[derive(Debug, PartialEq, Eq)]
enum Side<'a> {
    Local(&'a Path),
    Bucket { bucket: &'a str, prefix: String },
}

/// Reads `s3://BUCKET[/PREFIX]` as a bucket side, anything else as a path.
fn side(arg: &str) -> Result<Side<'_>> {
    match arg.strip_prefix("s3://") {
        Some(target) => {
            let (bucket, prefix) = split_target(target)?;
            Ok(Side::Bucket { bucket, prefix })
        }
        None => Ok(Side::Local(Path::new(arg))),
    }
}

/// `cloud storage sync SOURCE DEST [--delete] [--dry-run] [--exclude GLOB]…`.
pub async fn sync(ctx: &mut Ctx, source: &str, dest: &str, opts: &SyncOptions) -> Result<()> {
    let filter = Filter::new(&opts.filters)?;
    match (side(source)?, side(dest)?) {
        (Side::Local(dir), Side::Bucket { bucket, prefix }) => {
            sync_up(ctx, dir, bucket, &prefix, &filter, opts).await
        }
        (Side::Bucket { bucket, prefix }, Side::Local(dir)) => {
            sync_down(ctx, bucket, &prefix, dir, &filter, opts).await
        }
        (Side::Local(_), Side::Local(_)) => Err(user(format!(
            "neither {source:?} nor {dest:?} is a bucket: write the bucket side as \
             s3://BUCKET[/PREFIX], e.g. `cloud storage sync ./site s3://my-bucket/www`"
        ))),
        (
            Side::Bucket { bucket, prefix },
            Side::Bucket {
                bucket: to_bucket,
                prefix: to_prefix,
            },
        ) => {
            sync_across(
                ctx,
                (bucket, &prefix),
                (to_bucket, &to_prefix),
                &filter,
                opts,
            )
            .await
        }
    }
}

/// The `--exclude` and `--include` patterns in order, matched against
/// `/`-separated paths relative to the directory and the prefix (`*`
/// matches across `/`): a path is left out when the last pattern that
/// matches it is an `--exclude`, as in `aws s3 sync`.
struct Filter(Vec<(bool, GlobMatcher)>);

impl Filter {
    fn new(filters: &[PathFilter]) -> Result<Self> {
        let mut out = Vec::with_capacity(filters.len());
        for filter in filters {
            let (include, flag, pattern) = match filter {
                PathFilter::Exclude(p) => (false, "--exclude", p),
                PathFilter::Include(p) => (true, "--include", p),
            };
            let glob = Glob::new(pattern)
                .map_err(|e| user(format!("{flag} {pattern:?} is not a valid pattern: {e}")))?;
            out.push((include, glob.compile_matcher()));
        }
        Ok(Self(out))
    }

    fn excludes(&self, rel: &str) -> bool {
        self.0
            .iter()
            .rev()
            .find(|(_, m)| m.is_match(rel))
            .is_some_and(|(include, _)| !include)
    }
}

/// Which way the bytes go: the destination's copy is the one that must be
/// at least as recent as the source's.
#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

/// The hex MD5 inside a single-part ETag; `None` for a multipart one
/// (`"…-N"`) or anything else.
fn plain_md5(etag: &str) -> Option<&str> {
    let hex = etag.trim_matches('"');
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// The MD5 of everything `file` holds, in lowercase hex.
fn md5_of(mut file: std::fs::File) -> std::io::Result<String> {
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(hex::encode(hasher.finalize())),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether the local `file` holds the object's bytes (see the module's
/// documentation for the rule).
async fn same(object: &ObjectInfo, file: std::fs::File, direction: Direction) -> Result<bool> {
    let meta = file.metadata()?;
    if meta.len() != object.size_bytes {
        return Ok(false);
    }
    if let Some(md5) = plain_md5(&object.etag) {
        let md5 = md5.to_ascii_lowercase();
        let local = tokio::task::spawn_blocking(move || md5_of(file)).await??;
        return Ok(local == md5);
    }
    let local = time::OffsetDateTime::from(meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
    Ok(match direction {
        Direction::Up => local <= object.last_modified,
        Direction::Down => local >= object.last_modified,
    })
}

/// Why a file or an object is transferred.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Why {
    /// The destination has nothing there.
    New,
    /// The destination's copy differs.
    Changed,
}

impl Why {
    fn word(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Changed => "changed",
        }
    }
}

/// A file to upload.
struct Upload {
    path: PathBuf,
    key: String,
    size_bytes: u64,
    why: Why,
}

/// One transferred or deleted item, for `--json`.
#[derive(Debug, Serialize)]
struct Done {
    /// The key (uploads, downloads, deleted objects) or the path (deleted
    /// files).
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<Why>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_bytes: Option<u64>,
}

/// What a sync did (or, dry, would do).
#[derive(Default)]
struct Summary {
    transferred: Vec<Done>,
    deleted: Vec<Done>,
    unchanged: usize,
    problems: Vec<Problem>,
}

impl Summary {
    /// Prints the summary; `verb` is the transfer's verb and its past
    /// (`("upload", "uploaded")`).
    fn print(
        &self,
        out: &Output,
        from: &str,
        to: &str,
        (verb, past): (&str, &str),
        dry_run: bool,
    ) -> Result<()> {
        if out.json {
            let mut answer = serde_json::json!({
                "source": from,
                "destination": to,
                "dry_run": dry_run,
                "deleted": self.deleted,
                "unchanged": self.unchanged,
                "failed": self.problems,
            });
            answer[past] = serde_json::to_value(&self.transferred)?;
            return out.print_json(&answer);
        }
        let bytes: u64 = self.transferred.iter().filter_map(|d| d.size_bytes).sum();
        let count = self.transferred.len();
        let files = if count == 1 { "file" } else { "files" };
        let mut text = if dry_run {
            let mut text = format!(
                "Dry run, nothing changed: {from} -> {to} would {verb} {count} {files} ({})",
                human_bytes(bytes)
            );
            if !self.deleted.is_empty() {
                text.push_str(&format!(" and delete {}", self.deleted.len()));
            }
            text
        } else {
            let mut text = format!(
                "Synced {from} -> {to}: {past} {count} {files} ({})",
                human_bytes(bytes)
            );
            if !self.deleted.is_empty() {
                text.push_str(&format!(", deleted {}", self.deleted.len()));
            }
            text
        };
        text.push_str(&format!("; {} unchanged", self.unchanged));
        if !self.problems.is_empty() {
            text.push_str(&format!("; {} failed", self.problems.len()));
        }
        text.push('.');
        if self.problems.is_empty() {
            out.success(&text);
        } else {
            out.line(&text);
        }
        Ok(())
    }

    /// The command's outcome: an error naming what failed, if anything did.
    fn outcome(&self) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let problems: Vec<&Problem> = self.problems.iter().collect();
        let count = problems.len();
        let items = if count == 1 { "item was" } else { "items were" };
        Err(user(format!(
            "{count} {items} not synced: {}",
            named(&problems)
        )))
    }
}

/// Refuses a `--delete` that would empty the destination because the
/// source holds nothing at all: far more often a mistyped prefix or
/// directory than a wish (`how` says what empties it on purpose).
fn refuse_emptying(
    source_empty: bool,
    doomed: usize,
    from: &str,
    to: &str,
    how: &str,
) -> Result<()> {
    if source_empty && doomed > 0 {
        return Err(user(format!(
            "{from} holds nothing: refusing to delete all {doomed} files of {to} (--delete); \
             check the source, or empty the destination with `{how}`"
        )));
    }
    Ok(())
}

/// The objects `--delete` removes (none without it): the destination's
/// `keys` under `prefix` that the source lacks, except excluded paths and
/// folder markers (`photos/`, which stand for a directory, not a file).
fn doomed_objects<'a>(
    keys: impl Iterator<Item = &'a str>,
    prefix: &str,
    filter: &Filter,
    delete: bool,
) -> Vec<&'a str> {
    if !delete {
        return Vec::new();
    }
    keys.filter(|key| !key.ends_with('/'))
        .filter(|key| {
            key.strip_prefix(prefix)
                .is_some_and(|rel| !filter.excludes(rel))
        })
        .collect()
}

/// Says one line per action when there is no progress bar to show it.
fn say(out: &Output, text: &str) {
    if !out.json && !out.stderr_tty {
        out.line(text);
    }
}

/// The directory → bucket sync.
async fn sync_up(
    ctx: &mut Ctx,
    root: &Path,
    bucket: &str,
    prefix: &str,
    filter: &Filter,
    opts: &SyncOptions,
) -> Result<()> {
    if !root.is_dir() {
        return Err(user(format!("no such directory: {}", root.display())));
    }
    let Walked {
        files,
        unnamed,
        passed_over,
    } = walk(root)?;
    let out = ctx.out;
    warn_unnamed(&out, &unnamed);
    warn_passed_over(&out, root, &passed_over, |rel| !filter.excludes(rel));
    let client = ctx.client()?;
    // A bucket that does not exist yet is empty: the first upload creates
    // it, as `upload` does.
    let remote = match all_objects(&client, bucket, prefix).await {
        Ok(objects) => objects,
        Err(e) if e.kind() == Some("BUCKET_NOT_FOUND") => Vec::new(),
        Err(e) => return Err(not_found_hint(e, bucket, prefix)),
    };
    let mut remote: BTreeMap<&str, &ObjectInfo> =
        remote.iter().map(|o| (o.key.as_str(), o)).collect();
    let mut summary = Summary::default();
    let mut uploads = Vec::new();
    for (path, rel) in &files {
        if filter.excludes(rel) {
            continue;
        }
        let key = format!("{prefix}{rel}");
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let size_bytes = file.metadata()?.len();
        let why = match remote.remove(key.as_str()) {
            None => Why::New,
            Some(object) if same(object, file, Direction::Up).await? => {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => Why::Changed,
        };
        uploads.push(Upload {
            path: path.clone(),
            key,
            size_bytes,
            why,
        });
    }
    // What is left of the listing has no file.
    let doomed = doomed_objects(remote.into_keys(), prefix, filter, opts.delete);
    let from = root.display().to_string();
    let to = format!("{bucket}/{prefix}");
    refuse_emptying(
        files.is_empty(),
        doomed.len(),
        &from,
        &to,
        &format!("cloud storage delete {bucket}/{prefix} --recursive"),
    )?;
    if opts.dry_run {
        for u in &uploads {
            say(
                &out,
                &format!(
                    "would upload {} -> {bucket}/{} ({})",
                    u.path.display(),
                    printable(&u.key),
                    u.why.word()
                ),
            );
        }
        for key in &doomed {
            say(&out, &format!("would delete {bucket}/{}", printable(key)));
        }
        summary.transferred = uploads
            .iter()
            .map(|u| Done {
                name: u.key.clone(),
                why: Some(u.why),
                size_bytes: Some(u.size_bytes),
            })
            .collect();
        summary.deleted = doomed
            .iter()
            .map(|k| Done {
                name: (*k).to_owned(),
                why: None,
                size_bytes: None,
            })
            .collect();
        return summary.print(&out, &from, &to, UPLOAD, true);
    }
    upload_all(
        &out,
        &client,
        bucket,
        &uploads,
        opts.limit_rate,
        &mut summary,
    )
    .await?;
    delete_objects(&out, &client, bucket, &doomed, &mut summary).await?;
    summary.print(&out, &from, &to, UPLOAD, false)?;
    summary.outcome()
}

/// Uploads the files, several at once ([`UploadOptions::concurrency`]),
/// under one progress bar, reporting them in order. A file that fails is
/// reported and the rest go on; an interruption (Ctrl-C) starts no other
/// file, and those already started end (each stored one reported) before
/// it is returned.
async fn upload_all(
    out: &Output,
    client: &Client,
    bucket: &str,
    uploads: &[Upload],
    limit_rate: Option<u64>,
    summary: &mut Summary,
) -> Result<()> {
    let total = uploads.iter().map(|u| u.size_bytes).sum();
    let bar = progress_bar(out, Some(total), "uploading");
    let opts = UploadOptions {
        content_type: None,
        limit_rate,
        no_overwrite: false,
    };
    let (bar_ref, opts_ref) = (&bar, &opts);
    let stopped = std::cell::Cell::new(false);
    let stopped = &stopped;
    let mut puts = futures::stream::iter(uploads)
        .take_while(|_| std::future::ready(!stopped.get()))
        .map(|upload| async move {
            bar_ref.set_message(printable(&upload.key));
            let put = async {
                let (file, len) = open(&upload.path).await?;
                put_file(client, bucket, &upload.key, file, len, opts_ref, bar_ref).await
            };
            let put = put.await;
            if put.as_ref().is_err_and(|e| e.is::<Interrupted>()) {
                stopped.set(true);
            }
            (upload, put)
        })
        .buffered(opts.concurrency());
    let mut interruption = None;
    while let Some((upload, put)) = puts.next().await {
        match put {
            Ok(Some(object)) => {
                say(
                    out,
                    &format!(
                        "{} -> {bucket}/{} ({})",
                        upload.path.display(),
                        printable(&upload.key),
                        human_bytes(object.size_bytes)
                    ),
                );
                summary.transferred.push(Done {
                    name: upload.key.clone(),
                    why: Some(upload.why),
                    size_bytes: Some(object.size_bytes),
                });
            }
            Ok(None) => {}
            Err(e) if e.is::<Interrupted>() => {
                interruption.get_or_insert(e);
            }
            Err(e) => {
                let reason = describe(&e, false);
                warn(
                    out,
                    &bar,
                    &format!("{} was not uploaded: {reason}", upload.path.display()),
                );
                summary.problems.push(Problem {
                    key: upload.key.clone(),
                    reason,
                });
            }
        }
    }
    if let Some(e) = interruption {
        return Err(e);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Deletes the objects, a few at a time.
async fn delete_objects(
    out: &Output,
    client: &Client,
    bucket: &str,
    keys: &[&str],
    summary: &mut Summary,
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let bar = count_bar(out, keys.len() as u64, "deleting");
    let stop = interrupted();
    tokio::pin!(stop);
    let mut results = futures::stream::iter(keys)
        .map(|key| async move { (*key, client.delete_object_at(bucket, key, None).await) })
        .buffer_unordered(DELETE_CONCURRENCY);
    loop {
        let next = next_unless_interrupted(&mut results, &mut stop, &bar, || {
            format!(
                "interrupted after deleting {} of {} objects",
                summary.deleted.len(),
                keys.len()
            )
        })
        .await?;
        let Some((key, result)) = next else {
            break;
        };
        bar.inc(1);
        match result {
            Ok(_) => {}
            // Deleted by someone else meanwhile: gone all the same.
            Err(e) if e.kind() == Some("OBJECT_NOT_FOUND") => {}
            Err(e) => {
                let reason = describe(&e.into(), false);
                warn(
                    out,
                    &bar,
                    &format!("{bucket}/{} was not deleted: {reason}", printable(key)),
                );
                summary.problems.push(Problem {
                    key: key.to_owned(),
                    reason,
                });
                continue;
            }
        }
        say(out, &format!("deleted {bucket}/{}", printable(key)));
        summary.deleted.push(Done {
            name: key.to_owned(),
            why: None,
            size_bytes: None,
        });
    }
    bar.finish_and_clear();
    summary.deleted.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(())
}

/// Whether two objects hold the same bytes, for a bucket → bucket sync:
/// the same size and ETag; when the ETags differ and either is a
/// multipart one (not an MD5, so unequal ETags prove nothing), the same
/// when the destination's copy is at least as recent.
fn same_object(source: &ObjectInfo, dest: &ObjectInfo) -> bool {
    if source.size_bytes != dest.size_bytes {
        return false;
    }
    if source.etag == dest.etag {
        return true;
    }
    match (plain_md5(&source.etag), plain_md5(&dest.etag)) {
        (Some(_), Some(_)) => false,
        _ => dest.last_modified >= source.last_modified,
    }
}

/// Refuses a sync of a folder into itself or into one inside it (or the
/// other way round): each pass would copy or delete what it syncs.
fn refuse_overlap(from: (&str, &str), to: (&str, &str)) -> Result<()> {
    let ((a, p), (b, q)) = (from, to);
    if a == b && (p.starts_with(q) || q.starts_with(p)) {
        return Err(user(format!(
            "{a}/{p} and {b}/{q} overlap (one holds the other): sync between folders that do \
             not contain each other"
        )));
    }
    Ok(())
}

/// The bucket → bucket sync: server-side copies (no bytes pass through
/// `cloud`) of what is new or changed, then `--delete`.
async fn sync_across(
    ctx: &mut Ctx,
    (bucket, prefix): (&str, &str),
    (to_bucket, to_prefix): (&str, &str),
    filter: &Filter,
    opts: &SyncOptions,
) -> Result<()> {
    refuse_overlap((bucket, prefix), (to_bucket, to_prefix))?;
    let out = ctx.out;
    let client = ctx.client()?;
    let source = all_objects(&client, bucket, prefix)
        .await
        .map_err(|e| not_found_hint(e, bucket, prefix))?;
    let dest = match all_objects(&client, to_bucket, to_prefix).await {
        Ok(objects) => objects,
        Err(e) if e.kind() == Some("BUCKET_NOT_FOUND") => {
            return Err(user(format!(
                "there is no bucket {to_bucket} to sync into: make it with `cloud storage mb \
                 {to_bucket}`"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut dest: BTreeMap<&str, &ObjectInfo> = dest.iter().map(|o| (o.key.as_str(), o)).collect();
    let mut summary = Summary::default();
    let mut copies: Vec<(&ObjectInfo, String, Why)> = Vec::new();
    for object in &source {
        let Some(rel) = object.key.strip_prefix(prefix) else {
            continue;
        };
        if filter.excludes(rel) {
            continue;
        }
        let key = format!("{to_prefix}{rel}");
        let why = match dest.remove(key.as_str()) {
            None => Why::New,
            Some(there) if same_object(object, there) => {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => Why::Changed,
        };
        copies.push((object, key, why));
    }
    // What is left of the destination has no source.
    let doomed = doomed_objects(dest.into_keys(), to_prefix, filter, opts.delete);
    let from = format!("{bucket}/{prefix}");
    let to = format!("{to_bucket}/{to_prefix}");
    refuse_emptying(
        source.is_empty(),
        doomed.len(),
        &from,
        &to,
        &format!("cloud storage delete {to_bucket}/{to_prefix} --recursive"),
    )?;
    let planned = |object: &ObjectInfo, key: &str, why: Why| Done {
        name: key.to_owned(),
        why: Some(why),
        size_bytes: Some(object.size_bytes),
    };
    if opts.dry_run {
        for (object, key, why) in &copies {
            say(
                &out,
                &format!(
                    "would copy {bucket}/{} -> {to_bucket}/{} ({})",
                    printable(&object.key),
                    printable(key),
                    why.word()
                ),
            );
            summary.transferred.push(planned(object, key, *why));
        }
        for key in &doomed {
            say(
                &out,
                &format!("would delete {to_bucket}/{}", printable(key)),
            );
            summary.deleted.push(Done {
                name: (*key).to_owned(),
                why: None,
                size_bytes: None,
            });
        }
        return summary.print(&out, &from, &to, COPY, true);
    }
    let bar = count_bar(&out, copies.len() as u64, "copying");
    let stop = interrupted();
    tokio::pin!(stop);
    let client_ref = &client;
    let mut results = futures::stream::iter(&copies)
        .map(|(object, key, why)| async move {
            let copied = client_ref
                .copy_object((bucket, &object.key, None), to_bucket, key, false)
                .await;
            (*object, key, *why, copied)
        })
        .buffered(COPY_CONCURRENCY);
    loop {
        let next = next_unless_interrupted(&mut results, &mut stop, &bar, || {
            format!(
                "interrupted after copying {} of {} objects",
                summary.transferred.len(),
                copies.len()
            )
        })
        .await?;
        let Some((object, key, why, copied)) = next else {
            break;
        };
        bar.inc(1);
        match copied {
            Ok(_) => {
                say(
                    &out,
                    &format!(
                        "{bucket}/{} -> {to_bucket}/{} ({})",
                        printable(&object.key),
                        printable(key),
                        human_bytes(object.size_bytes)
                    ),
                );
                summary.transferred.push(planned(object, key, why));
            }
            Err(e) => {
                let reason = describe(&e.into(), false);
                warn(
                    &out,
                    &bar,
                    &format!(
                        "{bucket}/{} was not copied: {reason}",
                        printable(&object.key)
                    ),
                );
                summary.problems.push(Problem {
                    key: object.key.clone(),
                    reason,
                });
            }
        }
    }
    bar.finish_and_clear();
    delete_objects(&out, &client, to_bucket, &doomed, &mut summary).await?;
    summary.print(&out, &from, &to, COPY, false)?;
    summary.outcome()
}

/// The bucket → directory sync.
async fn sync_down(
    ctx: &mut Ctx,
    bucket: &str,
    prefix: &str,
    dest: &Path,
    filter: &Filter,
    opts: &SyncOptions,
) -> Result<()> {
    let client = ctx.client()?;
    let out = ctx.out;
    let objects = listing(&client, bucket, prefix).await?;
    let sandbox = Sandbox::open_existing(dest)?;
    let mut summary = Summary::default();
    // Every path the listing names, excluded or not: a file there is the
    // source's, never deleted.
    let mut named_paths: HashSet<&str> = HashSet::new();
    let mut fetch: Vec<ObjectInfo> = Vec::new();
    let mut why = BTreeMap::new();
    for object in &objects {
        let Some(rel) = object.key.strip_prefix(prefix) else {
            // Not under the prefix: the download refuses and reports it.
            fetch.push(object.clone());
            continue;
        };
        named_paths.insert(rel.trim_end_matches('/'));
        if filter.excludes(rel) {
            continue;
        }
        if let Ok(Place::File(segments)) = place(rel) {
            let existing = sandbox
                .as_ref()
                .and_then(|s| s.find(&segments))
                .and_then(|t| t.open_file());
            let verdict = match existing {
                Some(file) => (!same(object, file, Direction::Down).await?).then_some(Why::Changed),
                None => Some(Why::New),
            };
            let Some(verdict) = verdict else {
                summary.unchanged += 1;
                continue;
            };
            why.insert(object.key.as_str(), verdict);
        }
        // Folder markers and unsafe keys go too: the download makes the
        // directory, or refuses and reports the key.
        fetch.push(object.clone());
    }
    let doomed = match (&sandbox, opts.delete) {
        (Some(_), true) => {
            // What is not a file here is neither deleted nor worth a word.
            let Walked { files, unnamed, .. } = walk(dest)?;
            warn_unnamed(&out, &unnamed);
            files
                .into_iter()
                .filter(|(_, rel)| !named_paths.contains(rel.as_str()) && !filter.excludes(rel))
                .collect()
        }
        _ => Vec::new(),
    };
    let from = format!("{bucket}/{prefix}");
    let to = dest.display().to_string();
    refuse_emptying(objects.is_empty(), doomed.len(), &from, &to, "rm -r")?;
    if opts.dry_run {
        for object in &fetch {
            if let Some(w) = why.get(object.key.as_str()) {
                say(
                    &out,
                    &format!(
                        "would download {bucket}/{} ({})",
                        printable(&object.key),
                        w.word()
                    ),
                );
                summary.transferred.push(Done {
                    name: object.key.clone(),
                    why: Some(*w),
                    size_bytes: Some(object.size_bytes),
                });
            }
        }
        for (path, _) in &doomed {
            say(
                &out,
                &format!("would delete {}", printable(&path.to_string_lossy())),
            );
            summary.deleted.push(Done {
                name: path.display().to_string(),
                why: None,
                size_bytes: None,
            });
        }
        return summary.print(&out, &from, &to, DOWNLOAD, true);
    }
    if !fetch.is_empty() {
        let tree = Tree {
            client: &client,
            bucket,
            prefix,
        };
        let report = download_objects(&out, &tree, &fetch, dest, false, opts.limit_rate).await?;
        absorb(&mut summary, report, &why);
    }
    remove_files(&out, dest, &doomed, &mut summary)?;
    summary.print(&out, &from, &to, DOWNLOAD, false)?;
    summary.outcome()
}

/// Takes a download's report into the sync's summary.
fn absorb(summary: &mut Summary, report: DownloadReport, why: &BTreeMap<&str, Why>) {
    for saved in report.downloaded {
        let reason = why.get(saved.key.as_str()).copied();
        summary.transferred.push(Done {
            name: saved.key,
            why: reason,
            size_bytes: Some(saved.size_bytes),
        });
    }
    summary.problems.extend(report.refused);
    summary.problems.extend(report.failed);
}

/// Removes the local files the bucket does not hold, never following a
/// link on the way (the walk saw paths; the removal walks descriptors).
fn remove_files(
    out: &Output,
    dest: &Path,
    doomed: &[(PathBuf, String)],
    summary: &mut Summary,
) -> Result<()> {
    if doomed.is_empty() {
        return Ok(());
    }
    let sandbox = Sandbox::open(dest)?;
    let bar = ProgressBar::hidden();
    for (path, rel) in doomed {
        let segments: Vec<&str> = rel.split('/').collect();
        let removed = match sandbox.find(&segments) {
            Some(target) => target.remove().map_err(|e| e.to_string()),
            None => Err("a directory on its path is gone or is not a directory".to_owned()),
        };
        match removed {
            Ok(()) => {
                say(
                    out,
                    &format!("deleted {}", printable(&path.to_string_lossy())),
                );
                summary.deleted.push(Done {
                    name: path.display().to_string(),
                    why: None,
                    size_bytes: None,
                });
            }
            Err(reason) => {
                warn(
                    out,
                    &bar,
                    &format!("{} was not deleted: {reason}", path.display()),
                );
                summary.problems.push(Problem {
                    key: path.display().to_string(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_side_is_written_as_an_s3_url() {
        assert_eq!(
            side("s3://b/www").expect("reads"),
            Side::Bucket {
                bucket: "b",
                prefix: "www/".into()
            }
        );
        assert_eq!(
            side("s3://b").expect("reads"),
            Side::Bucket {
                bucket: "b",
                prefix: String::new()
            }
        );
        assert_eq!(side("./b").expect("reads"), Side::Local(Path::new("./b")));
        assert_eq!(
            side("b/www").expect("reads"),
            Side::Local(Path::new("b/www"))
        );
        assert!(side("s3:///x").is_err());
    }

    #[test]
    fn only_single_part_etags_hold_an_md5() {
        assert_eq!(
            plain_md5("\"5d41402abc4b2a76b9719d911017c592\""),
            Some("5d41402abc4b2a76b9719d911017c592")
        );
        assert_eq!(plain_md5("\"cad48c419eadc571f5c10981943a87be-4\""), None);
        assert_eq!(plain_md5("\"\""), None);
        assert_eq!(plain_md5("\"zz41402abc4b2a76b9719d911017c592\""), None);
    }

    fn object(etag: &str, size_bytes: u64, last_modified: time::OffsetDateTime) -> ObjectInfo {
        ObjectInfo {
            bucket: "b".into(),
            key: "k".into(),
            arn: String::new(),
            size_bytes,
            etag: etag.into(),
            content_type: "text/plain".into(),
            metadata: BTreeMap::new(),
            last_modified,
            tags: Vec::new(),
            version_id: None,
        }
    }

    #[test]
    fn objects_compare_by_size_then_etag_or_time() {
        let t0 = time::macros::datetime!(2026-11-30 05:00 UTC);
        let t1 = t0 + time::Duration::minutes(1);
        let md5a = "\"0123456789abcdef0123456789abcdef\"";
        let md5b = "\"fedcba9876543210fedcba9876543210\"";
        let multi = "\"0123456789abcdef0123456789abcdef-3\"";
        for (src, dst, want) in [
            (object(md5a, 5, t1), object(md5a, 5, t0), true),
            (object(md5a, 5, t0), object(md5b, 5, t1), false),
            (object(md5a, 5, t0), object(md5a, 6, t1), false),
            // A multipart ETag proves nothing: the newer copy is the same.
            (object(multi, 5, t0), object(md5a, 5, t1), true),
            (object(multi, 5, t1), object(md5a, 5, t0), false),
            (object(multi, 5, t0), object(multi, 5, t0), true),
        ] {
            assert_eq!(
                same_object(&src, &dst),
                want,
                "{} -> {}",
                src.etag,
                dst.etag
            );
        }
    }

    #[test]
    fn folders_that_contain_each_other_are_refused() {
        assert!(refuse_overlap(("a", "x/"), ("a", "x/y/")).is_err());
        assert!(refuse_overlap(("a", "x/y/"), ("a", "x/")).is_err());
        assert!(refuse_overlap(("a", ""), ("a", "x/")).is_err());
        assert!(refuse_overlap(("a", "x/"), ("a", "x/")).is_err());
        assert!(refuse_overlap(("a", "x/"), ("a", "y/")).is_ok());
        assert!(refuse_overlap(("a", ""), ("b", "")).is_ok());
    }

    #[tokio::test]
    async fn files_and_objects_compare_by_size_then_md5_or_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, "hello").expect("writes");
        let file = || std::fs::File::open(&path).expect("opens");
        let modified = time::OffsetDateTime::from(
            std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime"),
        );
        let hour = time::Duration::hours(1);
        let hello = "\"5d41402abc4b2a76b9719d911017c592\"";
        let jello = "\"7aa6991a62353dd2761280cf592542dc\"";
        let multipart = "\"cad48c419eadc571f5c10981943a87be-4\"";
        let cases = [
            // Single-part: the MD5 decides, whatever the times.
            (hello, 5, modified - hour, Direction::Up, true),
            (hello, 5, modified + hour, Direction::Down, true),
            (jello, 5, modified - hour, Direction::Up, false),
            (hello, 6, modified, Direction::Up, false),
            // Multipart: the destination's copy must be at least as recent.
            (multipart, 5, modified + hour, Direction::Up, true),
            (multipart, 5, modified - hour, Direction::Up, false),
            (multipart, 5, modified - hour, Direction::Down, true),
            (multipart, 5, modified + hour, Direction::Down, false),
            (multipart, 4, modified + hour, Direction::Up, false),
        ];
        for (i, (etag, size, at, direction, want)) in cases.into_iter().enumerate() {
            let got = same(&object(etag, size, at), file(), direction)
                .await
                .expect("compares");
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn excludes_match_across_folders_like_aws() {
        let ex = |p: &str| PathFilter::Exclude(p.into());
        let inc = |p: &str| PathFilter::Include(p.into());
        let f = Filter::new(&[ex("*.tmp"), ex("cache/*")]).expect("valid");
        assert!(f.excludes("a.tmp") && f.excludes("deep/er/b.tmp"));
        assert!(f.excludes("cache/x") && f.excludes("cache/x/y"));
        assert!(!f.excludes("a.txt") && !f.excludes("notcache/x"));
        assert!(Filter::new(&[ex("[")]).is_err());
        let err = Filter::new(&[inc("[")]).err().expect("invalid").to_string();
        assert!(err.contains("--include"), "{err}");
        // The last matching pattern decides, as in aws s3 sync.
        let only_html = Filter::new(&[ex("*"), inc("*.html")]).expect("valid");
        assert!(!only_html.excludes("index.html") && !only_html.excludes("a/b.html"));
        assert!(only_html.excludes("style.css"));
        let nothing = Filter::new(&[inc("*.html"), ex("*")]).expect("valid");
        assert!(nothing.excludes("index.html"));
        let back_out = Filter::new(&[ex("*"), inc("*.html"), ex("drafts/*")]).expect("valid");
        assert!(back_out.excludes("drafts/x.html") && !back_out.excludes("x.html"));
    }
}
