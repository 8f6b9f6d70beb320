//! `cloud storage download --recursive` and `cloud storage delete
//! --recursive`: every object under a prefix, the way back from `upload
//! --recursive`.
//!
//! The target is `BUCKET[/PREFIX]`, as `ls` takes it. A prefix names a
//! folder (`photos` means `photos/`, as `aws s3 cp --recursive` reads it),
//! so that `photos` never reaches `photos-old/…`. Keys are hostile input
//! for downloads: see [`crate::sandbox`] for what is refused and why.

use anyhow::Result;
use dialoguer::theme::ColorfulTheme;
use futures::StreamExt;
use indicatif::ProgressBar;
use miniaws_client::{Client, ClientError, ObjectInfo};
use rustix::fs::FileType;
use serde::Serialize;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::storage::{all_objects, not_found_hint};
use crate::context::Ctx;
use crate::error::{Interrupted, describe, interrupted, user};
use crate::output::{Output, human_bytes, printable};
use crate::sandbox::{FileId, Place, Sandbox, Target, Written, place};
use crate::transfer::{count_bar, next_unless_interrupted, progress_bar};

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

/// Downloads one object into `target`.
async fn fetch(
    client: &Client,
    bucket: &str,
    key: &str,
    target: &Target,
    bar: &ProgressBar,
    limit: Option<u64>,
    no_overwrite: bool,
) -> Result<Written> {
    let object = client.get_object(bucket, key, None, None).await?;
    let total = object
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    target
        .write(object.body, total, bar, limit, no_overwrite)
        .await
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
/// happened. Only an interruption (Ctrl-C) or an unusable `dest` is an
/// error: a key that cannot be written is reported and the rest go on.
pub(super) async fn download_objects(
    out: &Output,
    from: &Tree<'_>,
    objects: &[ObjectInfo],
    dest: &Path,
    no_overwrite: bool,
    limit: Option<u64>,
) -> Result<DownloadReport> {
    let Tree {
        client,
        bucket,
        prefix,
    } = *from;
    let out = *out;
    let sandbox = Sandbox::open(dest)?;
    let total: u64 = objects.iter().map(|o| o.size_bytes).sum();
    let bar = progress_bar(&out, Some(total), "downloading");
    let stop = interrupted();
    tokio::pin!(stop);
    let mut report = DownloadReport::default();
    let mut written = WrittenFiles::default();
    let mut done_bytes = 0u64;
    for object in objects {
        // Failed and skipped objects count as done, so the bar ends full.
        bar.set_position(done_bytes);
        done_bytes += object.size_bytes;
        let key = object.key.as_str();
        // Escaped: a hostile key must not drive the terminal.
        bar.set_message(printable(key));
        let mut refuse = |reason: String| {
            warn(&out, &bar, &format!("refused the key {key:?}: it {reason}"));
            report.refused.push(Problem {
                key: key.to_owned(),
                reason,
            });
        };
        let Some(rel) = key.strip_prefix(prefix) else {
            refuse(format!("is not under the prefix {prefix:?}"));
            continue;
        };
        let segments = match place(rel) {
            Ok(Place::File(segments)) => segments,
            Ok(Place::Dir(segments)) if object.size_bytes == 0 => {
                // A folder marker (`photos/`, as S3 consoles make): the
                // directory, no file.
                if let Err(reason) = sandbox.dir(&segments) {
                    warn(&out, &bar, &format!("{key:?} was not downloaded: {reason}"));
                    report.failed.push(Problem {
                        key: key.to_owned(),
                        reason,
                    });
                }
                continue;
            }
            Ok(Place::Dir(_)) => {
                refuse(format!(
                    "ends with `/` but holds {} bytes: no file can have that name",
                    object.size_bytes
                ));
                continue;
            }
            Err(reason) => {
                refuse(reason);
                continue;
            }
        };
        let mut fail = |reason: String| {
            warn(&out, &bar, &format!("{key:?} was not downloaded: {reason}"));
            report.failed.push(Problem {
                key: key.to_owned(),
                reason,
            });
        };
        // Keys that differ only in case (`README`, `readme`) are one file
        // on a case-insensitive file system (macOS, Windows): the second
        // would silently replace the first one's bytes. Refused on every
        // system (before its directories are made), so that a download
        // gives the same tree everywhere. And a file this run wrote is
        // never written again under another name (same device and inode:
        // a folding or Unicode normalization this rule does not predict).
        let folded = fold_case(&segments);
        if let Some((first, first_path)) = written.by_folded.get(&folded) {
            let mut path = dest.to_path_buf();
            path.extend(&segments);
            fail(format!(
                "{} differs only in case from {}, where {first:?} was downloaded: one file on a \
                 case-insensitive file system (macOS, Windows), so it was not overwritten",
                path.display(),
                first_path.display()
            ));
            continue;
        }
        let target = match sandbox.target(&segments) {
            Ok(t) => t,
            Err(reason) => {
                fail(reason);
                continue;
            }
        };
        if let Some(first) = target.identity().and_then(|id| written.by_id.get(&id)) {
            fail(format!(
                "{} is the file {first:?} was downloaded to (the file system folds case or \
                 normalizes names), so it was not overwritten",
                target.path.display()
            ));
            continue;
        }
        match target.existing() {
            Some(_) if no_overwrite => {
                report.skipped.push(key.to_owned());
                if !out.json && !out.stderr_tty {
                    out.line(&format!(
                        "{bucket}/{key} -> {} skipped: it exists",
                        target.path.display()
                    ));
                }
                continue;
            }
            Some(FileType::Directory) => {
                fail(format!(
                    "{} is a directory (another key's, or one already there)",
                    target.path.display()
                ));
                continue;
            }
            _ => {}
        }
        let fetched = tokio::select! {
            r = fetch(client, bucket, key, &target, &bar, limit, no_overwrite) => r,
            () = &mut stop => {
                bar.abandon();
                return Err(Interrupted(format!(
                    "interrupted: {} of {} files were downloaded; {} was not written",
                    report.downloaded.len(),
                    objects.len(),
                    target.path.display()
                ))
                .into());
            }
        };
        match fetched {
            Ok(Written::Saved(size_bytes)) => {
                if let Some(id) = target.identity() {
                    written.by_id.insert(id, key.to_owned());
                }
                written
                    .by_folded
                    .insert(folded, (key.to_owned(), target.path.clone()));
                if !out.json && !out.stderr_tty {
                    // Without a progress bar, say what happened file by file.
                    out.line(&format!(
                        "{bucket}/{key} -> {} ({})",
                        target.path.display(),
                        human_bytes(size_bytes)
                    ));
                }
                report.downloaded.push(Saved {
                    key: key.to_owned(),
                    path: target.path,
                    size_bytes,
                });
            }
            Ok(Written::Exists) => report.skipped.push(key.to_owned()),
            Err(e) => fail(fetch_failure(&e)),
        }
    }
    bar.finish_and_clear();
    Ok(report)
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
