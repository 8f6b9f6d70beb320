//! `cloud storage copy` and `cloud storage move`: objects copied on the
//! server (`x-amz-copy-source`), so no byte goes through `cloud`; a move
//! is a copy and then the source's deletion, so an interrupted move leaves
//! the source in place, never nothing.
//!
//! Arguments read as `aws s3 cp` reads `s3://` URLs: the source is
//! `BUCKET/KEY`; a destination that is only a bucket, or ends with `/`,
//! receives the key's last segment. With `--recursive` both are
//! `BUCKET[/PREFIX]` folders (see `storage_tree::split_target`) and each
//! key keeps its part after the source prefix.

use anyhow::Result;
use futures::StreamExt;
use miniaws_client::{Client, ObjectInfo};
use serde::Serialize;

use super::storage::not_found_hint;
use super::storage_tree::{Problem, listing, named, split_target, warn};
use crate::context::Ctx;
use crate::error::{describe, interrupted, user};
use crate::output::{human_bytes, printable};
use crate::transfer::{count_bar, next_unless_interrupted};

/// How many copies are in flight at once.
const COPY_CONCURRENCY: usize = 4;

/// What `copy`/`move` were asked.
pub struct CopyArgs {
    /// `BUCKET/KEY`, or with `recursive` `BUCKET[/PREFIX]`.
    pub source: String,
    /// `BUCKET[/KEY]` or `BUCKET/PREFIX/`, or with `recursive`
    /// `BUCKET[/PREFIX]`.
    pub dest: String,
    /// Every object under the source prefix.
    pub recursive: bool,
    /// Never replace an object at the destination.
    pub no_overwrite: bool,
    /// The version of the source to copy (single copies only).
    pub version_id: Option<String>,
    /// Delete each source once its copy is made.
    pub remove_source: bool,
}

/// One object to copy, from where to where.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    src_key: String,
    dst_key: String,
}

/// A source's `BUCKET/KEY`.
fn split_object(source: &str) -> Result<(&str, &str)> {
    match source.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok((bucket, key)),
        _ => Err(user(format!(
            "{source:?} names no object: give BUCKET/KEY (or --recursive for a prefix)"
        ))),
    }
}

/// The destination key of a single copy of `src_key` to `dest`: `BUCKET`
/// or `BUCKET/DIR/` keep the source's last key segment, `BUCKET/KEY`
/// names it.
fn single_destination<'a>(dest: &'a str, src_key: &str) -> Result<(&'a str, String)> {
    let (bucket, rest) = dest.split_once('/').unwrap_or((dest, ""));
    if bucket.is_empty() {
        return Err(user(format!(
            "{dest:?} names no bucket: give BUCKET, BUCKET/KEY or BUCKET/PREFIX/"
        )));
    }
    if !rest.is_empty() && !rest.ends_with('/') {
        return Ok((bucket, rest.to_owned()));
    }
    let last = src_key
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(src_key);
    Ok((bucket, format!("{rest}{last}")))
}

/// The keys under `src_prefix` with the destination key each gets under
/// `dst_prefix` (both folders: empty or ending with `/`).
fn tree_pairs(
    keys: impl IntoIterator<Item = String>,
    src_prefix: &str,
    dst_prefix: &str,
) -> Vec<Pair> {
    keys.into_iter()
        .filter_map(|src_key| {
            let rel = src_key.strip_prefix(src_prefix)?.to_owned();
            // The source folder's own marker (`p/` itself) copied to a
            // bucket's top would have an empty key: there is nothing to make.
            let dst_key = format!("{dst_prefix}{rel}");
            (!dst_key.is_empty()).then_some(Pair { dst_key, src_key })
        })
        .collect()
}

/// Runs `cloud storage copy` or `cloud storage move`.
pub async fn copy(ctx: &mut Ctx, args: CopyArgs) -> Result<()> {
    if args.recursive {
        copy_tree(ctx, &args).await
    } else {
        copy_one(ctx, &args).await
    }
}

/// The verb of messages.
fn verb(args: &CopyArgs) -> (&'static str, &'static str) {
    if args.remove_source {
        ("move", "Moved")
    } else {
        ("copy", "Copied")
    }
}

async fn copy_one(ctx: &mut Ctx, args: &CopyArgs) -> Result<()> {
    let (src_bucket, src_key) = split_object(&args.source)?;
    let (dst_bucket, dst_key) = single_destination(&args.dest, src_key)?;
    let (verb, done) = verb(args);
    if (src_bucket, src_key) == (dst_bucket, dst_key.as_str()) && args.version_id.is_none() {
        return Err(user(format!(
            "the source and the destination are the same object ({src_bucket}/{}): nothing to {verb}",
            printable(src_key)
        )));
    }
    let client = ctx.client()?;
    let copied = client
        .copy_object(
            (src_bucket, src_key, args.version_id.as_deref()),
            dst_bucket,
            &dst_key,
            args.no_overwrite,
        )
        .await;
    let copied = match copied {
        Ok(copied) => copied,
        Err(e) => return Err(copy_hint(&client, e, (src_bucket, src_key), dst_bucket).await),
    };
    let Some(object) = copied else {
        return Err(user(format!(
            "{dst_bucket}/{} exists and --no-overwrite was given: nothing was {}",
            printable(&dst_key),
            verb_past(args)
        )));
    };
    if args.remove_source {
        client
            .delete_object(src_bucket, src_key)
            .await
            .map_err(|e| {
                user(format!(
                    "copied to {dst_bucket}/{}, but the source was not deleted: {}",
                    printable(&dst_key),
                    describe(&e.into(), false)
                ))
            })?;
    }
    if ctx.out.json {
        return ctx.out.print_json(&object);
    }
    let version = object
        .version_id
        .as_deref()
        .map(|v| format!(", version {v}"))
        .unwrap_or_default();
    ctx.out.success(&format!(
        "{done} {src_bucket}/{} to {dst_bucket}/{} ({}, ETag {}{version}).",
        printable(src_key),
        printable(&object.key),
        human_bytes(object.size_bytes),
        object.etag
    ));
    Ok(())
}

/// A failed copy said with what to look at: which side was missing.
async fn copy_hint(
    client: &Client,
    err: miniaws_client::ClientError,
    (src_bucket, src_key): (&str, &str),
    dst_bucket: &str,
) -> anyhow::Error {
    match err.kind() {
        Some("VERSION_NOT_FOUND") => user(format!(
            "there is no such version of {src_key:?} in bucket {src_bucket}: see `cloud storage ls {src_bucket} --versions`"
        )),
        Some("METHOD_NOT_ALLOWED") => user(format!(
            "that version of {src_key:?} is a delete marker: it has no bytes to copy (see `cloud storage ls {src_bucket} --versions`)"
        )),
        // Either bucket may be the missing one: ask about the destination.
        Some("BUCKET_NOT_FOUND")
            if src_bucket != dst_bucket
                && client
                    .bucket_versioning(dst_bucket)
                    .await
                    .is_err_and(|e| e.kind() == Some("BUCKET_NOT_FOUND")) =>
        {
            user(format!(
                "there is no bucket {dst_bucket} to copy into: make it with `cloud storage mb {dst_bucket}`"
            ))
        }
        _ => not_found_hint(err, src_bucket, src_key),
    }
}

/// What a recursive copy did.
#[derive(Debug, Serialize)]
struct TreeReport {
    source: String,
    destination: String,
    copied: Vec<ObjectInfo>,
    skipped: Vec<String>,
    failed: Vec<Problem>,
}

/// One copy of a tree, and the deletion of its source for a move:
/// `Ok(None)` when the destination existed under `--no-overwrite`.
async fn copy_pair(
    client: &Client,
    (src_bucket, dst_bucket): (&str, &str),
    pair: &Pair,
    args: &CopyArgs,
) -> Result<Option<ObjectInfo>> {
    let copied = client
        .copy_object(
            (src_bucket, &pair.src_key, None),
            dst_bucket,
            &pair.dst_key,
            args.no_overwrite,
        )
        .await?;
    if copied.is_some() && args.remove_source {
        match client.delete_object(src_bucket, &pair.src_key).await {
            Ok(()) => {}
            // Gone meanwhile: the move's end state all the same.
            Err(e) if e.kind() == Some("OBJECT_NOT_FOUND") => {}
            Err(e) => {
                return Err(user(format!(
                    "copied, but the source was not deleted: {}",
                    describe(&e.into(), false)
                )));
            }
        }
    }
    Ok(copied)
}

async fn copy_tree(ctx: &mut Ctx, args: &CopyArgs) -> Result<()> {
    let (src_bucket, src_prefix) = split_target(&args.source)?;
    let (dst_bucket, dst_prefix) = split_target(&args.dest)?;
    let (verb, done) = verb(args);
    if src_bucket == dst_bucket && src_prefix == dst_prefix {
        return Err(user(format!(
            "the source and the destination are the same folder ({src_bucket}/{src_prefix}): nothing to {verb}"
        )));
    }
    let client = ctx.client()?;
    // A missing destination would fail every copy the same way: say it once.
    if let Err(e) = client.bucket_versioning(dst_bucket).await {
        return Err(match e.kind() {
            Some("BUCKET_NOT_FOUND") => user(format!(
                "there is no bucket {dst_bucket} to {verb} into: make it with `cloud storage mb {dst_bucket}`"
            )),
            _ => e.into(),
        });
    }
    let keys = listing(&client, src_bucket, &src_prefix)
        .await?
        .into_iter()
        .map(|o| o.key);
    let pairs = tree_pairs(keys, &src_prefix, &dst_prefix);
    let out = ctx.out;
    let count = pairs.len();
    let bar = count_bar(
        &out,
        count as u64,
        if args.remove_source {
            "moving"
        } else {
            "copying"
        },
    );
    let stop = interrupted();
    tokio::pin!(stop);
    let client = &client;
    let mut results = futures::stream::iter(&pairs)
        .map(|pair| async move {
            let result = copy_pair(client, (src_bucket, dst_bucket), pair, args).await;
            (pair, result)
        })
        .buffered(COPY_CONCURRENCY);
    let mut report = TreeReport {
        source: format!("{src_bucket}/{src_prefix}"),
        destination: format!("{dst_bucket}/{dst_prefix}"),
        copied: Vec::with_capacity(count),
        skipped: Vec::new(),
        failed: Vec::new(),
    };
    loop {
        let next = next_unless_interrupted(&mut results, &mut stop, &bar, || {
            format!(
                "interrupted: {} of {count} objects were {} (the sources not yet done are untouched)",
                report.copied.len(),
                verb_past(args)
            )
        })
        .await?;
        let Some((pair, result)) = next else {
            break;
        };
        bar.inc(1);
        let line = format!(
            "{src_bucket}/{} -> {dst_bucket}/{}",
            printable(&pair.src_key),
            printable(&pair.dst_key)
        );
        match result {
            Ok(Some(object)) => {
                if !out.json && !out.stderr_tty {
                    out.line(&format!("{line} ({})", human_bytes(object.size_bytes)));
                }
                report.copied.push(object);
            }
            Ok(None) => {
                if !out.json && !out.stderr_tty {
                    out.line(&format!("{line} skipped: it exists"));
                }
                report.skipped.push(pair.src_key.clone());
            }
            Err(e) => {
                let reason = describe(&e, false);
                warn(
                    &out,
                    &bar,
                    &format!("{:?} was not {}: {reason}", pair.src_key, verb_past(args)),
                );
                report.failed.push(Problem {
                    key: pair.src_key.clone(),
                    reason,
                });
            }
        }
    }
    bar.finish_and_clear();
    if out.json {
        out.print_json(&report)?;
    } else if count == 0 {
        out.success(&format!(
            "No objects under {src_bucket}/{src_prefix}: nothing to {verb}."
        ));
    } else {
        let skipped = if report.skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped {} that already existed", report.skipped.len())
        };
        let text = format!(
            "{done} {} objects ({}) from {src_bucket}/{src_prefix} to {dst_bucket}/{dst_prefix}{skipped}.",
            report.copied.len(),
            human_bytes(report.copied.iter().map(|o| o.size_bytes).sum())
        );
        if report.failed.is_empty() {
            out.success(&text);
        } else {
            out.line(&text);
        }
    }
    if report.failed.is_empty() {
        return Ok(());
    }
    Err(user(format!(
        "{} of {count} objects were not {}: {}",
        report.failed.len(),
        verb_past(args),
        named(&report.failed.iter().collect::<Vec<_>>())
    )))
}

/// "copied" or "moved".
fn verb_past(args: &CopyArgs) -> &'static str {
    if args.remove_source {
        "moved"
    } else {
        "copied"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_destinations_read_as_aws_s3_cp_reads_them() {
        let cases = [
            ("dst", "a/b/c.txt", Some(("dst", "c.txt"))),
            ("dst/", "a/b/c.txt", Some(("dst", "c.txt"))),
            ("dst/new.txt", "a/b/c.txt", Some(("dst", "new.txt"))),
            ("dst/dir/", "c.txt", Some(("dst", "dir/c.txt"))),
            ("dst/x/y", "c", Some(("dst", "x/y"))),
            ("dst", "folder/", Some(("dst", "folder"))),
            ("/x", "c", None),
            ("", "c", None),
        ];
        for (dest, key, want) in cases {
            let got = single_destination(dest, key).ok();
            let got = got.as_ref().map(|(b, k)| (*b, k.as_str()));
            assert_eq!(got, want, "{dest:?} {key:?}");
        }
    }

    #[test]
    fn sources_name_an_object() {
        assert_eq!(split_object("b/k").ok(), Some(("b", "k")));
        assert_eq!(split_object("b/a/b/").ok(), Some(("b", "a/b/")));
        for bad in ["b", "b/", "/k", ""] {
            assert!(split_object(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_tree_keeps_each_key_below_the_prefix() {
        let keys = ["p/a", "p/b/c", "p/"].map(str::to_owned);
        let pairs = tree_pairs(keys.clone(), "p/", "q/");
        let dst: Vec<&str> = pairs.iter().map(|p| p.dst_key.as_str()).collect();
        assert_eq!(dst, ["q/a", "q/b/c", "q/"]);
        let pairs = tree_pairs(keys, "p/", "");
        let dst: Vec<&str> = pairs.iter().map(|p| p.dst_key.as_str()).collect();
        assert_eq!(dst, ["a", "b/c"], "no empty key");
    }
}
