//! `cloud storage download --recursive` and `cloud storage delete
//! --recursive`: every object under a prefix, the way back from `upload
//! --recursive`.
//!
//! The target is `BUCKET[/PREFIX]`, as `ls` takes it. A prefix names a
//! folder (`photos` means `photos/`, as `aws s3 cp --recursive` reads it),
//! so that `photos` never reaches `photos-old/…`. Keys are hostile input
//! for downloads: see [`crate::sandbox`] for what is refused and why.

use anyhow::{Context, Result};
use dialoguer::theme::ColorfulTheme;
use futures::StreamExt;
use indicatif::ProgressBar;
use miniaws_client::{Client, ClientError, ObjectInfo};
use rustix::fs::FileType;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use tokio::sync::Notify;

use super::storage::{all_objects, not_found_hint};
use crate::context::Ctx;
use crate::error::{Interrupted, describe, interrupted, user};
use crate::output::{Output, human_bytes, printable};
use crate::sandbox::{FileId, Place, Sandbox, Target, Written, place};
use crate::transfer::{concurrency, count_bar, next_unless_interrupted, progress_bar};

/// How many deletions are in flight at once.
const DELETE_CONCURRENCY: usize = 8;

/// `BUCKET[/PREFIX]` as the bucket and the prefix as a folder (empty, or
/// ending in `/`).
pub(super) fn split_target(target: &str) -> Result<(&str, String)> {
    let (bucket, prefix) = target.split_once('/').unwrap_or((target, ""));
    if bucket.is_empty() {
        return Err(user(format!(
            "{target:?} names no bucket: give BUCKET or BUCKET/PREFIX"
        )));
    }
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket, prefix))
}

/// Every object under the prefix, with the bucket's absence said plainly.
pub(super) async fn listing(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ObjectInfo>> {
    all_objects(client, bucket, prefix)
        .await
        .map_err(|e| not_found_hint(e, bucket, prefix))
}

/// A key that was not handled, and why.
#[derive(Debug, Serialize)]
pub(super) struct Problem {
    pub(super) key: String,
    pub(super) reason: String,
}

/// A downloaded object.
#[derive(Debug, Serialize)]
pub(super) struct Saved {
    pub(super) key: String,
    pub(super) path: PathBuf,
    pub(super) size_bytes: u64,
}

/// Prints `warning: text` on stderr without breaking the progress bar.
pub(super) fn warn(out: &Output, bar: &ProgressBar, text: &str) {
    let prefix = if out.stderr_tty {
        console::style("warning:")
            .yellow()
            .bold()
            .for_stderr()
            .to_string()
    } else {
        "warning:".to_owned()
    };
    bar.suspend(|| eprintln!("{prefix} {text}"));
}

/// The first few keys of `problems`, quoted, for a one-line error.
pub(super) fn named(problems: &[&Problem]) -> String {
    const SHOWN: usize = 5;
    let mut text = problems
        .iter()
        .take(SHOWN)
        .map(|p| format!("{:?}", p.key))
        .collect::<Vec<_>>()
        .join(", ");
    if problems.len() > SHOWN {
        text.push_str(&format!(" and {} more", problems.len() - SHOWN));
    }
    text
}

/// What a recursive download did, key by key.
#[derive(Default)]
pub(super) struct DownloadReport {
    pub(super) downloaded: Vec<Saved>,
    /// Existing files left alone (`--no-overwrite`).
    pub(super) skipped: Vec<String>,
    /// Keys that are not safe relative paths: never written.
    pub(super) refused: Vec<Problem>,
    /// Conflicts (a file where a directory is needed, …) and transfer errors.
    pub(super) failed: Vec<Problem>,
}

impl DownloadReport {
    /// The bytes of the files written.
    pub(super) fn downloaded_bytes(&self) -> u64 {
        self.downloaded.iter().map(|s| s.size_bytes).sum()
    }
}

/// The files a recursive download wrote, to recognize a later key that
/// would land on one of them.
#[derive(Default)]
struct WrittenFiles {
    /// By case-folded relative path ([`fold_case`]): the key and the path.
    by_folded: HashMap<String, (String, PathBuf)>,
    /// By identity: the key.
    by_id: HashMap<FileId, String>,
}

/// A relative path with case folded, character by character, as
/// case-insensitive file systems compare names (approximately: upper then
/// lower case, so that `ß` and `ss`, `ς` and `σ`, `K` (KELVIN SIGN) and `k`
/// meet, as with full case folding); it may merge more names than a
/// particular system does, never fewer.
fn fold_case(segments: &[&str]) -> String {
    segments
        .join("/")
        .chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Why a fetch failed, in words.
fn fetch_failure(err: &anyhow::Error) -> String {
    match err
        .downcast_ref::<ClientError>()
        .and_then(ClientError::kind)
    {
        Some("OBJECT_NOT_FOUND") => "it was deleted after the listing".into(),
        _ => describe(err, false),
    }
}

/// `cloud storage download BUCKET[/PREFIX] DIR --recursive`.
pub async fn download_tree(
    ctx: &mut Ctx,
    target: &str,
    dest: &Path,
    no_overwrite: bool,
    limit: Option<u64>,
) -> Result<()> {
    let (bucket, prefix) = split_target(target)?;
    let client = ctx.client()?;
    let objects = listing(&client, bucket, &prefix).await?;
    if objects.is_empty() {
        return Err(user(format!(
            "there are no objects under {bucket}/{prefix}: see `cloud storage ls {bucket}`"
        )));
    }
    let out = ctx.out;
    let from = Tree {
        client: &client,
        bucket,
        prefix: &prefix,
    };
    let report = download_objects(&out, &from, &objects, dest, no_overwrite, limit).await?;
    let problems: Vec<&Problem> = report.refused.iter().chain(&report.failed).collect();
    if out.json {
        out.print_json(&serde_json::json!({
            "bucket": bucket,
            "prefix": prefix,
            "directory": dest,
            "downloaded": report.downloaded,
            "skipped": report.skipped,
            "refused": report.refused,
            "failed": report.failed,
        }))?;
    } else {
        let mut summary = format!(
            "Downloaded {} files ({}) from {bucket}/{prefix} to {}",
            report.downloaded.len(),
            human_bytes(report.downloaded_bytes()),
            dest.display()
        );
        if !report.skipped.is_empty() {
            summary.push_str(&format!(
                "; skipped {} that already existed",
                report.skipped.len()
            ));
        }
        if !report.refused.is_empty() {
            summary.push_str(&format!("; refused {} unsafe keys", report.refused.len()));
        }
        if !report.failed.is_empty() {
            summary.push_str(&format!("; {} failed", report.failed.len()));
        }
        summary.push('.');
        if problems.is_empty() {
            out.success(&summary);
        } else {
            out.line(&summary);
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(user(format!(
        "{} of {} objects were not downloaded: {}",
        problems.len(),
        objects.len(),
        named(&problems)
    )))
}

/// Where a recursive download reads from: a bucket and a prefix that is a
/// folder (empty, or ending in `/`).
pub(super) struct Tree<'a> {
    pub(super) client: &'a Client,
    pub(super) bucket: &'a str,
    pub(super) prefix: &'a str,
}

/// Downloads `objects` (keys under `from.prefix`) into `dest`, each key's
/// part below the prefix a path under it, and says key by key what
/// happened, in the listing's order. Only an interruption (Ctrl-C) or an
/// unusable `dest` is an error: a key that cannot be written is reported
/// and the rest go on.
///
/// Several objects are fetched at once ([`concurrency`]: one under
/// `--limit-rate`), and the result is the one of fetching them one at a
/// time: each object is placed (checked against what this run wrote, its
/// directories made) in the listing's order, and not before every earlier
/// object still in flight that could name its file or one of its
/// directories ([`may_be_one_name`]) has landed or failed. So `a` is a
/// file before `a/b` asks for a directory there, and `readme` is checked
/// against `README` once that is written. Ctrl-C abandons the transfers
/// in flight (each removes its temporary) and reports those that landed.
pub(super) async fn download_objects(
    out: &Output,
    from: &Tree<'_>,
    objects: &[ObjectInfo],
    dest: &Path,
    no_overwrite: bool,
    limit: Option<u64>,
) -> Result<DownloadReport> {
    let out = *out;
    let total: u64 = objects.iter().map(|o| o.size_bytes).sum();
    let run = Run {
        from,
        sandbox: Sandbox::open(dest)?,
        dest,
        bar: progress_bar(&out, Some(total), "downloading"),
        no_overwrite,
        limit,
        ledger: RefCell::new(Ledger::default()),
        changed: Notify::new(),
    };
    let stop = interrupted();
    tokio::pin!(stop);
    let mut report = DownloadReport::default();
    let mut results = futures::stream::iter(objects.iter().enumerate())
        .map(|(index, object)| run.one(index, object))
        .buffered(concurrency(limit));
    let interrupted = loop {
        tokio::select! {
            next = results.next() => {
                let Some(index) = next else { break false };
                let outcome = run.ledger.borrow_mut().finished.remove(&index);
                let outcome = outcome.context("a finished download left no outcome")?;
                report.take(&out, &run, &objects[index], outcome);
            }
            () = &mut stop => break true,
        }
    };
    drop(results);
    if !interrupted {
        run.bar.finish_and_clear();
        return Ok(report);
    }
    // The transfers in flight were dropped with `results`, each removing
    // its temporary; those that had landed are reported all the same.
    run.bar.abandon();
    let ledger = run.ledger.take();
    for (index, outcome) in ledger.finished {
        report.take(&out, &run, &objects[index], outcome);
    }
    let unwritten: Vec<String> = ledger
        .fetching
        .values()
        .map(|(_, path)| path.display().to_string())
        .collect();
    let mut text = format!(
        "interrupted: {} of {} files were downloaded",
        report.downloaded.len(),
        objects.len()
    );
    match unwritten.len() {
        0 => {}
        1 => text.push_str(&format!("; {} was not written", unwritten[0])),
        _ => text.push_str(&format!("; {} were not written", unwritten.join(", "))),
    }
    Err(Interrupted(text).into())
}

/// What became of one object of a recursive download.
enum Outcome {
    /// Written at this path, this many bytes.
    Saved(PathBuf, u64),
    /// Left alone under `--no-overwrite`: the file existed before the
    /// transfer (at this path) or appeared during it (`None`).
    Skipped(Option<PathBuf>),
    /// A folder marker's directory, made (or already there).
    Made,
    /// A key that is not a safe relative path: never written.
    Refused(String),
    /// A conflict or a transfer error.
    Failed(String),
}

impl DownloadReport {
    /// Takes in what became of `object`, saying it as the sequential
    /// download did: a line per file when there is no progress bar, a
    /// warning per problem.
    fn take(&mut self, out: &Output, run: &Run<'_>, object: &ObjectInfo, outcome: Outcome) {
        let key = object.key.as_str();
        let bucket = run.from.bucket;
        let problem = |reason: String| Problem {
            key: key.to_owned(),
            reason,
        };
        match outcome {
            Outcome::Saved(path, size_bytes) => {
                if !out.json && !out.stderr_tty {
                    // Without a progress bar, say what happened file by file.
                    out.line(&format!(
                        "{bucket}/{key} -> {} ({})",
                        path.display(),
                        human_bytes(size_bytes)
                    ));
                }
                self.downloaded.push(Saved {
                    key: key.to_owned(),
                    path,
                    size_bytes,
                });
            }
            Outcome::Skipped(path) => {
                if let Some(path) = path
                    && !out.json
                    && !out.stderr_tty
                {
                    out.line(&format!(
                        "{bucket}/{key} -> {} skipped: it exists",
                        path.display()
                    ));
                }
                self.skipped.push(key.to_owned());
            }
            Outcome::Made => {}
            Outcome::Refused(reason) => {
                warn(
                    out,
                    &run.bar,
                    &format!("refused the key {key:?}: it {reason}"),
                );
                self.refused.push(problem(reason));
            }
            Outcome::Failed(reason) => {
                warn(
                    out,
                    &run.bar,
                    &format!("{key:?} was not downloaded: {reason}"),
                );
                self.failed.push(problem(reason));
            }
        }
    }
}

/// How a file system might spell a path's segments, to tell whether two
/// keys could name one file: each segment with ASCII case folded and
/// trailing dots and spaces dropped (as FAT and Windows drop them), or
/// `None`, "could be anything", for a segment holding a non-ASCII
/// character (Unicode normalization, full case folding, compatibility
/// forms) or a `~` (FAT's short names): aliases this does not predict.
fn spelling(segments: &[&str]) -> Vec<Option<String>> {
    segments
        .iter()
        .map(|s| {
            (s.is_ascii() && !s.contains('~'))
                .then(|| s.trim_end_matches(['.', ' ']).to_ascii_lowercase())
        })
        .collect()
}

/// Whether two paths, as [`spelling`] gives them, may be one name.
fn may_be_one_name(a: &[Option<String>], b: &[Option<String>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        })
}

/// Where a key goes, read once.
enum Parsed<'a> {
    /// A file at these segments.
    File(Vec<&'a str>),
    /// A folder marker's directory at these segments.
    Dir(Vec<&'a str>),
    /// Never written, for this reason.
    Refused(String),
}

impl Parsed<'_> {
    /// The names placing this key may touch: its file's or directory's
    /// path and each directory above it, as [`spelling`] gives them.
    fn claims(&self) -> Vec<Vec<Option<String>>> {
        let segments = match self {
            Self::File(s) | Self::Dir(s) => s,
            Self::Refused(_) => return Vec::new(),
        };
        let spelt = spelling(segments);
        (1..=spelt.len()).map(|n| spelt[..n].to_vec()).collect()
    }
}

/// What the objects of one recursive download share while several are in
/// flight (all in one task: the `RefCell` is never borrowed across an
/// `.await`).
#[derive(Default)]
struct Ledger {
    written: WrittenFiles,
    /// The index of the next object to be placed: placements go in the
    /// listing's order.
    next: usize,
    /// Objects placed and being fetched, by index: their file's path as
    /// [`spelling`] gives it, and as a path for messages.
    fetching: BTreeMap<usize, (Vec<Option<String>>, PathBuf)>,
    /// Finished objects the report has not taken yet, by index.
    finished: BTreeMap<usize, Outcome>,
}

/// One recursive download.
struct Run<'a> {
    from: &'a Tree<'a>,
    sandbox: Sandbox,
    dest: &'a Path,
    bar: ProgressBar,
    no_overwrite: bool,
    limit: Option<u64>,
    ledger: RefCell<Ledger>,
    /// Told whenever an object is placed or finishes.
    changed: Notify,
}

/// What placing an object decided.
enum Placed {
    /// Nothing to fetch.
    Done(Outcome),
    /// Fetch into this target; the path case-folded ([`fold_case`]).
    Fetch(Target, String),
}

impl Run<'_> {
    /// Handles the object at `index` of the listing: waits for its turn,
    /// places it, fetches it; leaves the outcome in the ledger's
    /// `finished` and returns the index.
    async fn one(&self, index: usize, object: &ObjectInfo) -> usize {
        let parsed = self.parse(object);
        let claims = parsed.claims();
        // A file's own name is the last of its claims.
        let spelt = claims.last().cloned().unwrap_or_default();
        loop {
            // Made before the check, so that no change between the two is
            // missed.
            let changed = self.changed.notified();
            {
                let ledger = self.ledger.borrow();
                let clear = !ledger
                    .fetching
                    .values()
                    .any(|(file, _)| claims.iter().any(|claim| may_be_one_name(claim, file)));
                if ledger.next == index && clear {
                    break;
                }
            }
            changed.await;
        }
        let placed = self.place(parsed);
        {
            let mut ledger = self.ledger.borrow_mut();
            ledger.next += 1;
            if let Placed::Fetch(target, _) = &placed {
                ledger.fetching.insert(index, (spelt, target.path.clone()));
            }
        }
        self.changed.notify_waiters();
        let outcome = match placed {
            Placed::Done(outcome) => {
                // Not fetched: counted as done, so the bar ends full.
                self.bar.inc(object.size_bytes);
                outcome
            }
            Placed::Fetch(target, folded) => self.fetch(object, target, folded).await,
        };
        // No `.await` since the transfer ended: a file that landed is in
        // `finished` before the future can be dropped (Ctrl-C).
        {
            let mut ledger = self.ledger.borrow_mut();
            ledger.fetching.remove(&index);
            ledger.finished.insert(index, outcome);
        }
        self.changed.notify_waiters();
        index
    }

    /// Where `object`'s key goes, or why it may not.
    fn parse<'k>(&self, object: &'k ObjectInfo) -> Parsed<'k> {
        let prefix = self.from.prefix;
        let Some(rel) = object.key.strip_prefix(prefix) else {
            return Parsed::Refused(format!("is not under the prefix {prefix:?}"));
        };
        match place(rel) {
            Ok(Place::File(segments)) => Parsed::File(segments),
            // A folder marker (`photos/`, as S3 consoles make): the
            // directory, no file.
            Ok(Place::Dir(segments)) if object.size_bytes == 0 => Parsed::Dir(segments),
            Ok(Place::Dir(_)) => Parsed::Refused(format!(
                "ends with `/` but holds {} bytes: no file can have that name",
                object.size_bytes
            )),
            Err(reason) => Parsed::Refused(reason),
        }
    }

    /// Checks a key against the destination and what this run wrote, and
    /// makes its directories: what the sequential download did before
    /// fetching.
    fn place(&self, parsed: Parsed<'_>) -> Placed {
        let segments = match parsed {
            Parsed::Refused(reason) => return Placed::Done(Outcome::Refused(reason)),
            Parsed::Dir(segments) => {
                return Placed::Done(match self.sandbox.dir(&segments) {
                    Ok(_) => Outcome::Made,
                    Err(reason) => Outcome::Failed(reason),
                });
            }
            Parsed::File(segments) => segments,
        };
        let failed = |reason: String| Placed::Done(Outcome::Failed(reason));
        let ledger = self.ledger.borrow();
        let written = &ledger.written;
        // Keys that differ only in case (`README`, `readme`) are one file
        // on a case-insensitive file system (macOS, Windows): the second
        // would silently replace the first one's bytes. Refused on every
        // system (before its directories are made), so that a download
        // gives the same tree everywhere. And a file this run wrote is
        // never written again under another name (same device and inode:
        // a folding or Unicode normalization this rule does not predict).
        let folded = fold_case(&segments);
        if let Some((first, first_path)) = written.by_folded.get(&folded) {
            let mut path = self.dest.to_path_buf();
            path.extend(&segments);
            return failed(format!(
                "{} differs only in case from {}, where {first:?} was downloaded: one file on a \
                 case-insensitive file system (macOS, Windows), so it was not overwritten",
                path.display(),
                first_path.display()
            ));
        }
        let target = match self.sandbox.target(&segments) {
            Ok(t) => t,
            Err(reason) => return failed(reason),
        };
        if let Some(first) = target.identity().and_then(|id| written.by_id.get(&id)) {
            return failed(format!(
                "{} is the file {first:?} was downloaded to (the file system folds case or \
                 normalizes names), so it was not overwritten",
                target.path.display()
            ));
        }
        match target.existing() {
            Some(_) if self.no_overwrite => Placed::Done(Outcome::Skipped(Some(target.path))),
            Some(FileType::Directory) => failed(format!(
                "{} is a directory (another key's, or one already there)",
                target.path.display()
            )),
            _ => Placed::Fetch(target, folded),
        }
    }

    /// Fetches `object` into `target` and, when it lands, records it as
    /// written.
    async fn fetch(&self, object: &ObjectInfo, target: Target, folded: String) -> Outcome {
        let Tree { client, bucket, .. } = *self.from;
        let key = object.key.as_str();
        // Escaped: a hostile key must not drive the terminal.
        self.bar.set_message(printable(key));
        let received = Cell::new(0u64);
        let fetched = async {
            let got = client.get_object(bucket, key, None, None).await?;
            let total = got
                .header("content-length")
                .and_then(|v| v.parse::<u64>().ok());
            let body = got.body.inspect(|chunk| {
                if let Ok(bytes) = chunk {
                    received.set(received.get() + bytes.len() as u64);
                }
            });
            target
                .write(body, total, &self.bar, self.limit, self.no_overwrite)
                .await
        }
        .await;
        match fetched {
            Ok(Written::Saved(size_bytes)) => {
                let mut ledger = self.ledger.borrow_mut();
                if let Some(id) = target.identity() {
                    ledger.written.by_id.insert(id, key.to_owned());
                }
                ledger
                    .written
                    .by_folded
                    .insert(folded, (key.to_owned(), target.path.clone()));
                Outcome::Saved(target.path, size_bytes)
            }
            Ok(Written::Exists) => Outcome::Skipped(None),
            Err(e) => {
                // What did not arrive counts as done, so the bar ends full.
                self.bar
                    .inc(object.size_bytes.saturating_sub(received.get()));
                Outcome::Failed(fetch_failure(&e))
            }
        }
    }
}

/// Asks `question` on the terminal; refuses without one.
fn confirm(out: &Output, question: &str, refusal: String) -> Result<()> {
    if !(std::io::stdin().is_terminal() && out.stderr_tty) {
        return Err(user(refusal));
    }
    let answer = dialoguer::Confirm::with_theme(&ColorfulTheme::default())
        .with_prompt(question)
        .default(false)
        .interact_opt();
    match answer {
        Ok(Some(true)) => Ok(()),
        Ok(_) => Err(user("cancelled: nothing was deleted")),
        Err(e) if crate::menu::cancelled(&e) => {
            Err(Interrupted("interrupted: nothing was deleted".into()).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One thing `delete --recursive` removes: an object, or (with
/// `--all-versions`) one version or delete marker of it.
struct Doomed {
    key: String,
    version_id: Option<String>,
    size_bytes: u64,
}

impl Doomed {
    /// The key, with the version when there is one, for messages.
    fn label(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{} (version {v})", printable(&self.key)),
            None => printable(&self.key),
        }
    }
}

/// What `delete --recursive` lists: the current objects, or every version
/// and delete marker.
async fn doomed(
    client: &Client,
    bucket: &str,
    prefix: &str,
    all_versions: bool,
) -> Result<Vec<Doomed>> {
    if !all_versions {
        return Ok(listing(client, bucket, prefix)
            .await?
            .into_iter()
            .map(|o| Doomed {
                key: o.key,
                version_id: None,
                size_bytes: o.size_bytes,
            })
            .collect());
    }
    Ok(super::storage::all_versions(client, bucket, prefix)
        .await
        .map_err(|e| not_found_hint(e, bucket, prefix))?
        .into_iter()
        .map(|v| Doomed {
            key: v.key,
            version_id: Some(v.version_id),
            size_bytes: v.size_bytes,
        })
        .collect())
}

/// `cloud storage delete BUCKET[/PREFIX] --recursive [--yes]
/// [--all-versions]`.
pub async fn delete_tree(ctx: &mut Ctx, target: &str, yes: bool, all_versions: bool) -> Result<()> {
    let (bucket, prefix) = split_target(target)?;
    let client = ctx.client()?;
    let doomed = doomed(&client, bucket, &prefix, all_versions).await?;
    let out = ctx.out;
    let what = if all_versions {
        "versions and delete markers"
    } else {
        "objects"
    };
    let scope = match (prefix.is_empty(), all_versions) {
        (true, false) => format!("in bucket {bucket} (all of its objects)"),
        (true, true) => format!("in bucket {bucket} (all of them)"),
        (false, _) => format!("under {bucket}/{prefix}"),
    };
    let count = doomed.len();
    let size = human_bytes(doomed.iter().map(|o| o.size_bytes).sum());
    if count > 0 && !yes {
        confirm(
            &out,
            &format!("Delete {count} {what} ({size}) {scope}?"),
            format!(
                "refusing to delete {count} {what} ({size}) {scope} without confirmation: pass --yes"
            ),
        )?;
    }
    let bar = count_bar(&out, count as u64, "deleting");
    let stop = interrupted();
    tokio::pin!(stop);
    let client = &client;
    let mut results = futures::stream::iter(&doomed)
        .map(|o| async move {
            let result = client
                .delete_object_at(bucket, &o.key, o.version_id.as_deref())
                .await;
            (o, result)
        })
        .buffer_unordered(DELETE_CONCURRENCY);
    let mut deleted: Vec<&Doomed> = Vec::with_capacity(count);
    let mut failed: Vec<Problem> = Vec::new();
    loop {
        let next = next_unless_interrupted(&mut results, &mut stop, &bar, || {
            format!(
                "interrupted after deleting {} of {count} {what} {scope}",
                deleted.len()
            )
        })
        .await?;
        let Some((object, result)) = next else {
            break;
        };
        bar.inc(1);
        match result {
            // Gone already (deleted by someone else meanwhile): so much the
            // better, the prefix is emptied all the same.
            Ok(_) => {}
            Err(e) if matches!(e.kind(), Some("OBJECT_NOT_FOUND" | "VERSION_NOT_FOUND")) => {}
            Err(e) => {
                let reason = describe(&e.into(), false);
                warn(
                    &out,
                    &bar,
                    &format!("{:?} was not deleted: {reason}", object.label()),
                );
                failed.push(Problem {
                    key: object.key.clone(),
                    reason,
                });
                continue;
            }
        }
        if !out.json && !out.stderr_tty {
            out.line(&format!("deleted {bucket}/{}", object.label()));
        }
        deleted.push(object);
    }
    bar.finish_and_clear();
    deleted.sort_by(|a, b| (&a.key, &a.version_id).cmp(&(&b.key, &b.version_id)));
    failed.sort_by(|a, b| a.key.cmp(&b.key));
    if out.json {
        let mut answer = serde_json::json!({
            "bucket": bucket,
            "prefix": prefix,
            "deleted": deleted.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
            "failed": failed,
        });
        if all_versions {
            answer["deleted_versions"] = deleted
                .iter()
                .map(|d| serde_json::json!({ "key": d.key, "version_id": d.version_id }))
                .collect();
        }
        out.print_json(&answer)?;
    } else if count == 0 {
        out.success(&format!("No {what} {scope}: nothing to delete."));
    } else if failed.is_empty() {
        out.success(&format!("Deleted {count} {what} ({size}) {scope}."));
    } else {
        out.line(&format!(
            "Deleted {} of {count} {what} {scope}; {} failed.",
            deleted.len(),
            failed.len()
        ));
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(user(format!(
        "{} of {count} {what} were not deleted: {}",
        failed.len(),
        named(&failed.iter().collect::<Vec<_>>())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_folding_merges_names_that_differ_only_in_case() {
        let same = [
            (&["README"][..], &["readme"][..]),
            (&["Photos", "A.JPG"], &["photos", "a.jpg"]),
            (&["straße"], &["STRASSE"]),
            (&["ΟΔΟΣ"], &["οδοσ"]),
            (&["\u{212A}elvin"], &["kelvin"]),
        ];
        for (a, b) in same {
            assert_eq!(fold_case(a), fold_case(b), "{a:?} {b:?}");
        }
        let different = [
            (&["a"][..], &["b"][..]),
            (&["a", "b"], &["ab"]),
            (&["e\u{301}"], &["é"]),
        ];
        for (a, b) in different {
            assert_ne!(fold_case(a), fold_case(b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn keys_that_a_file_system_could_merge_may_be_one_name() {
        let split = |p: &'static str| p.split('/').collect::<Vec<_>>();
        let cases = [
            ("README", "readme", true),
            ("Docs/Guide.md", "docs/guide.md", true),
            ("a.", "a", true),
            ("a ", "a", true),
            // FAT's short names, Unicode normalization and folding, and
            // compatibility forms (`ﬁle`, `file`) are not predicted:
            // a segment with `~` or a non-ASCII character may be anything.
            ("PROGRA~1", "program files", true),
            ("e\u{301}", "\u{e9}", true),
            ("\u{fb01}le", "file", true),
            ("x/\u{65e5}", "x/y", true),
            ("a.txt", "b.txt", false),
            ("a", "a/b", false),
            ("a/x", "b/x", false),
            ("\u{65e5}/a", "\u{65e5}/b", false),
        ];
        for (a, b, want) in cases {
            let got = may_be_one_name(&spelling(&split(a)), &spelling(&split(b)));
            assert_eq!(got, want, "case {a:?} {b:?}");
        }
        // A key claims its file's name and every directory above it.
        let claims = Parsed::File(vec!["A", "b"]).claims();
        assert_eq!(
            claims,
            [
                vec![Some("a".to_owned())],
                vec![Some("a".to_owned()), Some("b".to_owned())]
            ]
        );
        assert!(Parsed::Refused("no".into()).claims().is_empty());
    }

    #[test]
    fn targets_name_a_bucket_and_a_folder() {
        let cases = [
            ("b", Some(("b", ""))),
            ("b/", Some(("b", ""))),
            ("b/photos", Some(("b", "photos/"))),
            ("b/photos/", Some(("b", "photos/"))),
            ("b/a/b", Some(("b", "a/b/"))),
            ("/x", None),
            ("", None),
        ];
        for (target, want) in cases {
            let got = split_target(target).ok();
            let got = got.as_ref().map(|(b, p)| (*b, p.as_str()));
            assert_eq!(got, want, "case {target:?}");
        }
    }
}
