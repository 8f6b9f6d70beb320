//! `cloud storage …`: buckets and objects, streamed from and to disk.

use anyhow::{Context, Result};
use comfy_table::{Cell, CellAlignment};
use futures::StreamExt;
use miniaws_client::{Client, ClientError, ListObjectsParams, ObjectInfo, VersionInfo};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

use super::storage_copy::{CopyArgs, copy};
use super::storage_sync::{SyncOptions, sync};
use super::storage_tree::{delete_tree, download_tree};
use crate::cli::{StorageCommand, VersioningState, order_filters};
use crate::context::Ctx;
use crate::error::{Interrupted, interrupted, user};
use crate::output::{Output, human_bytes, printable, relative_time};
use crate::transfer::{download_to, file_stream, progress_bar};

/// Runs one `cloud storage` command.
pub async fn run(ctx: &mut Ctx, cmd: StorageCommand) -> Result<()> {
    match cmd {
        StorageCommand::Mb { bucket } => make_bucket(ctx, &bucket).await,
        StorageCommand::Rb { bucket } => remove_bucket(ctx, &bucket).await,
        StorageCommand::Ls {
            target: Some(target),
            versions: true,
        } => list_versions(ctx, &target).await,
        StorageCommand::Ls { target, .. } => list(ctx, target.as_deref()).await,
        StorageCommand::Versioning { bucket, state } => versioning(ctx, &bucket, state).await,
        StorageCommand::Stat {
            bucket,
            key,
            version_id,
        } => {
            let source = Source {
                bucket: &bucket,
                key: &key,
                version_id: version_id.as_deref(),
            };
            stat(ctx, &source).await
        }
        StorageCommand::Upload {
            bucket,
            path,
            key,
            recursive,
            content_type,
            limit_rate,
            no_overwrite,
        } => {
            let opts = UploadOptions {
                content_type,
                limit_rate,
                no_overwrite,
            };
            if recursive {
                upload_tree(ctx, &bucket, &path, key.as_deref(), &opts).await
            } else {
                upload_one(ctx, &bucket, &path, key.as_deref(), &opts).await
            }
        }
        StorageCommand::Download {
            bucket,
            key,
            dest,
            recursive,
            no_overwrite,
            limit_rate,
            version_id,
        } => {
            if recursive {
                // `download BUCKET[/PREFIX] DIR --recursive`.
                download_tree(ctx, &bucket, Path::new(&key), no_overwrite, limit_rate).await
            } else {
                let source = Source {
                    bucket: &bucket,
                    key: &key,
                    version_id: version_id.as_deref(),
                };
                download(ctx, &source, dest, limit_rate, no_overwrite).await
            }
        }
        StorageCommand::Delete {
            bucket,
            key,
            recursive,
            yes,
            version_id,
            all_versions,
        } => match key {
            Some(key) if !recursive => {
                let source = Source {
                    bucket: &bucket,
                    key: &key,
                    version_id: version_id.as_deref(),
                };
                delete(ctx, &source).await
            }
            _ => delete_tree(ctx, &bucket, yes, all_versions).await,
        },
        StorageCommand::Sync {
            source,
            dest,
            delete,
            dry_run,
            exclude,
            include,
            filters,
            limit_rate,
        } => {
            let filters = if filters.is_empty() {
                order_filters(&exclude, &[], &include, &[])
            } else {
                filters
            };
            let opts = SyncOptions {
                delete,
                dry_run,
                filters,
                limit_rate,
            };
            sync(ctx, &source, &dest, &opts).await
        }
        StorageCommand::Copy {
            source,
            dest,
            recursive,
            no_overwrite,
            version_id,
        } => {
            let args = CopyArgs {
                source,
                dest,
                recursive,
                no_overwrite,
                version_id,
                remove_source: false,
            };
            copy(ctx, args).await
        }
        StorageCommand::Move {
            source,
            dest,
            recursive,
            no_overwrite,
        } => {
            let args = CopyArgs {
                source,
                dest,
                recursive,
                no_overwrite,
                version_id: None,
                remove_source: true,
            };
            copy(ctx, args).await
        }
    }
}

async fn make_bucket(ctx: &mut Ctx, name: &str) -> Result<()> {
    let bucket = ctx.client()?.create_bucket(name).await?;
    if ctx.out.json {
        return ctx.out.print_json(&bucket);
    }
    ctx.out
        .success(&format!("Bucket {} is ready.", bucket.name));
    Ok(())
}

async fn remove_bucket(ctx: &mut Ctx, name: &str) -> Result<()> {
    let client = ctx.client()?;
    if let Err(e) = client.delete_bucket(name).await {
        return Err(not_empty_hint(&client, e, name).await);
    }
    if ctx.out.json {
        return ctx
            .out
            .print_json(&serde_json::json!({ "bucket": name, "deleted": true }));
    }
    ctx.out.success(&format!("Removed bucket {name}."));
    Ok(())
}

/// A bucket that is not empty, said with the command that empties it: a
/// versioned one may list no object and still hold versions.
async fn not_empty_hint(client: &Client, err: ClientError, bucket: &str) -> anyhow::Error {
    if err.status() != Some(miniaws_client::StatusCode::CONFLICT) {
        return not_found_hint(err, bucket, "");
    }
    match client.bucket_versioning(bucket).await {
        Ok(v) if v.status != "unversioned" => user(format!(
            "bucket {bucket} is not empty: it holds object versions or delete markers (`cloud storage ls {bucket} --versions`); `cloud storage delete {bucket} -r --all-versions` deletes them all"
        )),
        _ => user(format!(
            "bucket {bucket} is not empty: `cloud storage delete {bucket} -r` deletes its objects"
        )),
    }
}

/// Every object of `bucket` under `prefix`, page after page.
pub(crate) async fn all_objects(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ObjectInfo>, ClientError> {
    let mut objects = Vec::new();
    let mut params = ListObjectsParams {
        prefix: Some(prefix.to_owned()).filter(|p| !p.is_empty()),
        ..ListObjectsParams::default()
    };
    loop {
        let page = client.list_objects(bucket, &params).await?;
        objects.extend(page.objects);
        match page.next_cursor {
            Some(cursor) => params.cursor = Some(cursor),
            None => return Ok(objects),
        }
    }
}

async fn list(ctx: &mut Ctx, target: Option<&str>) -> Result<()> {
    let client = ctx.client()?;
    let now = OffsetDateTime::now_utc();
    let Some(target) = target.filter(|t| !t.is_empty()) else {
        let buckets = client.list_buckets().await?;
        if ctx.out.json {
            return ctx.out.print_json(&buckets);
        }
        let mut table = ctx.out.table(&["NAME", "CREATED"]);
        for b in &buckets {
            table.add_row(vec![
                Cell::new(&b.name),
                Cell::new(relative_time(b.created_at, now)),
            ]);
        }
        ctx.out.print_table(&table);
        return Ok(());
    };
    let (bucket, prefix) = target.split_once('/').unwrap_or((target, ""));
    let objects = all_objects(&client, bucket, prefix)
        .await
        .map_err(|e| not_found_hint(e, bucket, ""))?;
    if ctx.out.json {
        return ctx.out.print_json(&objects);
    }
    let mut table = ctx.out.table(&["KEY", "SIZE", "MODIFIED", "CONTENT TYPE"]);
    if let Some(size) = table.column_mut(1) {
        size.set_cell_alignment(CellAlignment::Right);
    }
    for o in &objects {
        table.add_row(vec![
            Cell::new(printable(&o.key)),
            Cell::new(human_bytes(o.size_bytes)),
            Cell::new(relative_time(o.last_modified, now)),
            Cell::new(printable(&o.content_type)),
        ]);
    }
    ctx.out.print_table(&table);
    Ok(())
}

/// Every version and delete marker of `bucket` under `prefix`, page after
/// page.
pub(crate) async fn all_versions(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<VersionInfo>, ClientError> {
    let mut versions = Vec::new();
    let mut params = ListObjectsParams {
        prefix: Some(prefix.to_owned()).filter(|p| !p.is_empty()),
        ..ListObjectsParams::default()
    };
    loop {
        let page = client.list_versions(bucket, &params).await?;
        versions.extend(page.versions);
        match page.next_cursor {
            Some(cursor) => params.cursor = Some(cursor),
            None => return Ok(versions),
        }
    }
}

/// `cloud storage ls BUCKET[/PREFIX] --versions`.
async fn list_versions(ctx: &mut Ctx, target: &str) -> Result<()> {
    let client = ctx.client()?;
    let now = OffsetDateTime::now_utc();
    let (bucket, prefix) = target.split_once('/').unwrap_or((target, ""));
    let versions = all_versions(&client, bucket, prefix).await?;
    if ctx.out.json {
        return ctx.out.print_json(&versions);
    }
    let mut table = ctx
        .out
        .table(&["KEY", "VERSION ID", "LATEST", "SIZE", "MODIFIED"]);
    if let Some(size) = table.column_mut(3) {
        size.set_cell_alignment(CellAlignment::Right);
    }
    for v in &versions {
        let size = if v.delete_marker {
            "(delete marker)".to_owned()
        } else {
            human_bytes(v.size_bytes)
        };
        table.add_row(vec![
            Cell::new(printable(&v.key)),
            Cell::new(&v.version_id),
            Cell::new(if v.is_latest { "yes" } else { "" }),
            Cell::new(size),
            Cell::new(relative_time(v.last_modified, now)),
        ]);
    }
    ctx.out.print_table(&table);
    Ok(())
}

/// `cloud storage versioning BUCKET [enable|suspend]`.
async fn versioning(ctx: &mut Ctx, bucket: &str, state: Option<VersioningState>) -> Result<()> {
    let client = ctx.client()?;
    let answer = match state {
        None => client.bucket_versioning(bucket).await,
        Some(VersioningState::Enable) => client.set_bucket_versioning(bucket, "enabled").await,
        Some(VersioningState::Suspend) => client.set_bucket_versioning(bucket, "suspended").await,
    }
    .map_err(|e| not_found_hint(e, bucket, ""))?;
    if ctx.out.json {
        return ctx.out.print_json(&answer);
    }
    let text = match (state, answer.status.as_str()) {
        (None, "unversioned") => format!(
            "Bucket {bucket} is not versioned (each key holds one object): `cloud storage versioning {bucket} enable` keeps every version."
        ),
        (None, status) => format!("Bucket {bucket}: versioning {status}."),
        (Some(_), status) => format!("Bucket {bucket}: versioning is now {status}."),
    };
    ctx.out.success(&text);
    Ok(())
}

/// Settings shared by every file of an upload.
pub(super) struct UploadOptions {
    pub(super) content_type: Option<String>,
    pub(super) limit_rate: Option<u64>,
    /// Skip keys that exist (`--no-overwrite`).
    pub(super) no_overwrite: bool,
}

impl UploadOptions {
    /// How many files upload at once ([`crate::transfer::concurrency`]).
    pub(super) fn concurrency(&self) -> usize {
        crate::transfer::concurrency(self.limit_rate)
    }
}

/// Opens `path` for reading, with a message that names it; its length
/// when it is a regular file (`None` for a pipe or a device, whose bytes
/// are streamed until they end: `upload <(cmd)`, a FIFO).
pub(super) async fn open(path: &Path) -> Result<(tokio::fs::File, Option<u64>)> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            user(format!("no such file: {}", path.display()))
        } else {
            user(format!("cannot read {}: {e}", path.display()))
        }
    })?;
    let meta = file
        .metadata()
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        return Err(user(format!(
            "{} is a directory: pass --recursive to upload the files under it",
            path.display()
        )));
    }
    Ok((file, meta.is_file().then_some(meta.len())))
}

/// Whether `bucket`/`key` exists (a missing bucket: no).
async fn object_exists(client: &Client, bucket: &str, key: &str) -> Result<bool> {
    match client.head_object(bucket, key).await {
        Ok(_) => Ok(true),
        Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Streams one file; the bar counts its bytes. `None`: skipped under
/// `--no-overwrite` because the key exists (looked up first, so that an
/// existing object costs no transfer, and checked again by the server).
pub(super) async fn put_file(
    client: &Client,
    bucket: &str,
    key: &str,
    file: tokio::fs::File,
    len: Option<u64>,
    opts: &UploadOptions,
    bar: &indicatif::ProgressBar,
) -> Result<Option<ObjectInfo>> {
    if opts.no_overwrite && object_exists(client, bucket, key).await? {
        bar.inc(len.unwrap_or(0));
        return Ok(None);
    }
    let (body, length) = file_stream(file, bar.clone(), opts.limit_rate, len);
    let content_type = opts.content_type.as_deref();
    let put = async {
        if opts.no_overwrite {
            client
                .put_object_stream_if_absent(bucket, key, body, len, content_type)
                .await
        } else {
            client
                .put_object_stream(bucket, key, body, len, content_type)
                .await
                .map(Some)
        }
    };
    tokio::select! {
        object = put => match (object, length.problem()) {
            (Err(_), Some(problem)) => {
                Err(user(format!("cannot upload {}: {problem}", printable(key))))
            }
            (object, _) => Ok(object?),
        },
        () = interrupted() => {
            bar.abandon();
            Err(Interrupted(format!(
                "interrupted: the upload of {key} was abandoned; the server keeps no partial object"
            )).into())
        }
    }
}

async fn upload_one(
    ctx: &mut Ctx,
    bucket: &str,
    path: &Path,
    key: Option<&str>,
    opts: &UploadOptions,
) -> Result<()> {
    let file_name = || {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                user(format!(
                    "cannot name an object after {}: pass --key",
                    path.display()
                ))
            })
    };
    let key = match key {
        // A folder (`dir/`): the file goes in it under its own name, as
        // `aws s3 cp file s3://bucket/dir/` and `cloud storage copy` do.
        Some(k) if k.ends_with('/') => format!("{k}{}", file_name()?),
        Some(k) => k.to_owned(),
        None => file_name()?,
    };
    let client = ctx.client()?;
    let (file, len) = open(path).await?;
    let bar = progress_bar(&ctx.out, len, &key);
    let object = put_file(&client, bucket, &key, file, len, opts, &bar).await?;
    bar.finish_and_clear();
    if ctx.out.json {
        return match &object {
            Some(object) => ctx.out.print_json(object),
            // Skipped under --no-overwrite.
            None => ctx.out.print_json(&serde_json::json!({
                "bucket": bucket,
                "key": key,
                "skipped": true,
                "reason": "exists",
            })),
        };
    }
    let Some(object) = object else {
        ctx.out.success(&format!(
            "Skipped {}: {bucket}/{} already exists (--no-overwrite).",
            printable(&path.to_string_lossy()),
            printable(&key)
        ));
        return Ok(());
    };
    ctx.out.success(&format!(
        "Uploaded {} to {}/{} ({}, ETag {}).",
        printable(&path.to_string_lossy()),
        object.bucket,
        printable(&object.key),
        human_bytes(object.size_bytes),
        object.etag
    ));
    Ok(())
}

/// The files under a directory, as [`walk`] finds them.
#[derive(Debug, Default)]
pub(super) struct Walked {
    /// Each regular file's path and its path relative to the root in `/`
    /// form (the key it uploads to, below the prefix), sorted by the
    /// latter.
    pub(super) files: Vec<(PathBuf, String)>,
    /// Files whose relative path is not UTF-8, which a key must be: never
    /// named after a lossy version of it (two such names could become one
    /// key).
    pub(super) unnamed: Vec<PathBuf>,
    /// Entries that are not uploaded because they hold no file's bytes:
    /// FIFOs, sockets and devices, links to nothing and links to
    /// directories (not followed, they could loop), each with its path
    /// relative to the root in `/` form (lossy) and why.
    pub(super) passed_over: Vec<(String, &'static str)>,
}

/// The regular files under `root`. Symbolic links to directories are not
/// followed (they could loop); links to files are taken as the file. What
/// is neither (see [`Walked::passed_over`]) is listed so that it can be
/// reported rather than left out in silence.
pub(super) fn walk(root: &Path) -> Result<Walked> {
    let mut walked = Walked::default();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let rel_path = rel.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(rel_path);
            } else if kind.is_file() || (kind.is_symlink() && entry.path().is_file()) {
                let key: Option<Vec<&str>> = rel_path
                    .components()
                    .map(|c| c.as_os_str().to_str())
                    .collect();
                match key {
                    Some(segments) => walked.files.push((entry.path(), segments.join("/"))),
                    None => walked.unnamed.push(entry.path()),
                }
            } else {
                let why = if !kind.is_symlink() {
                    "not a regular file (a FIFO, socket or device)"
                } else if entry.path().is_dir() {
                    "a symbolic link to a directory, which is not followed"
                } else if entry.path().exists() {
                    "a symbolic link to something that is not a regular file"
                } else {
                    "a symbolic link to nothing"
                };
                let rel = rel_path
                    .to_string_lossy()
                    .replace(std::path::MAIN_SEPARATOR, "/");
                walked.passed_over.push((rel, why));
            }
        }
    }
    walked.files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(walked)
}

/// Warns about each file [`walk`] could not name.
pub(super) fn warn_unnamed(out: &Output, unnamed: &[PathBuf]) {
    let bar = indicatif::ProgressBar::hidden();
    for path in unnamed {
        let text = format!(
            "skipped {}: its name is not UTF-8, which a key must be",
            printable(&path.to_string_lossy())
        );
        super::storage_tree::warn(out, &bar, &text);
    }
}

/// Warns about each entry [`walk`] passed over (below `root`) for which
/// `reported` holds (a sync leaves out the excluded ones).
pub(super) fn warn_passed_over(
    out: &Output,
    root: &Path,
    passed_over: &[(String, &'static str)],
    reported: impl Fn(&str) -> bool,
) {
    let bar = indicatif::ProgressBar::hidden();
    for (rel, why) in passed_over.iter().filter(|(rel, _)| reported(rel)) {
        let text = format!(
            "skipped {}: {why}",
            printable(&root.join(rel).to_string_lossy())
        );
        super::storage_tree::warn(out, &bar, &text);
    }
}

async fn upload_tree(
    ctx: &mut Ctx,
    bucket: &str,
    root: &Path,
    prefix: Option<&str>,
    opts: &UploadOptions,
) -> Result<()> {
    if !root.is_dir() {
        if root.exists() {
            return upload_one(ctx, bucket, root, prefix, opts).await;
        }
        return Err(user(format!("no such directory: {}", root.display())));
    }
    let prefix = match prefix {
        Some(p) => p.to_owned(),
        None => std::fs::canonicalize(root)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
    };
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix
    } else {
        format!("{prefix}/")
    };
    let Walked {
        files,
        unnamed,
        passed_over,
    } = walk(root)?;
    warn_unnamed(&ctx.out, &unnamed);
    warn_passed_over(&ctx.out, root, &passed_over, |_| true);
    if files.is_empty() {
        return Err(user(format!("{} holds no files to upload", root.display())));
    }
    let client = ctx.client()?;
    let mut total = 0;
    for (path, _) in &files {
        total += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    let bar = progress_bar(&ctx.out, Some(total), "uploading");
    let mut uploaded = Vec::with_capacity(files.len());
    let mut skipped = 0usize;
    // Several at once, answered in the files' order. The first error
    // ends the upload: no file is started after it, and those already
    // started finish and are reported (each one stored is said) before
    // the error is.
    let (client, bar, prefix) = (&client, &bar, &prefix);
    let failed = std::cell::Cell::new(false);
    let failed = &failed;
    let mut puts = futures::stream::iter(&files)
        .take_while(|_| std::future::ready(!failed.get()))
        .map(|(path, rel)| async move {
            let key = format!("{prefix}{rel}");
            bar.set_message(key.clone());
            let put = async {
                let (file, len) = open(path).await?;
                put_file(client, bucket, &key, file, len, opts, bar).await
            };
            let put = put.await;
            failed.set(failed.get() || put.is_err());
            (path, key, put)
        })
        .buffered(opts.concurrency());
    let mut first_error = None;
    while let Some((path, key, put)) = puts.next().await {
        let put = match put {
            Ok(put) => put,
            Err(e) => {
                // The first is the command's error; a later one (started
                // before the first was known) stored nothing.
                first_error.get_or_insert(e);
                continue;
            }
        };
        let Some(object) = put else {
            skipped += 1;
            if !ctx.out.json && !ctx.out.stderr_tty {
                ctx.out.line(&format!(
                    "{} -> {bucket}/{key} skipped: it exists",
                    path.display()
                ));
            }
            continue;
        };
        if !ctx.out.json && !ctx.out.stderr_tty {
            // Without a progress bar, say what happened file by file.
            ctx.out.line(&format!(
                "{} -> {bucket}/{key} ({})",
                path.display(),
                human_bytes(object.size_bytes)
            ));
        }
        uploaded.push(object);
    }
    bar.finish_and_clear();
    if let Some(e) = first_error {
        return Err(e);
    }
    if ctx.out.json {
        return ctx.out.print_json(&uploaded);
    }
    let skipped = if skipped > 0 {
        format!("; skipped {skipped} that already existed")
    } else {
        String::new()
    };
    ctx.out.success(&format!(
        "Uploaded {} files ({}) to {bucket}/{prefix}{skipped}.",
        uploaded.len(),
        human_bytes(uploaded.iter().map(|o| o.size_bytes).sum())
    ));
    Ok(())
}

/// A missing object or bucket, said with the command that shows what exists.
pub(crate) fn not_found_hint(err: ClientError, bucket: &str, key: &str) -> anyhow::Error {
    match err.kind() {
        // The native API names a key whose latest version is a delete
        // marker so (with the same 404 and type as a key never written).
        Some("OBJECT_NOT_FOUND")
            if err
                .message()
                .is_some_and(|m| m.starts_with(&format!("{key} was deleted: "))) =>
        {
            user(format!(
                "{key:?} in bucket {bucket} was deleted: its latest version is a delete marker; \
                 its earlier versions stay: see `cloud storage ls {bucket} --versions`"
            ))
        }
        Some("OBJECT_NOT_FOUND") => user(format!(
            "there is no object {key:?} in bucket {bucket}: see `cloud storage ls {bucket}`"
        )),
        Some("BUCKET_NOT_FOUND") => user(format!(
            "there is no bucket {bucket}: see `cloud storage ls`"
        )),
        _ => err.into(),
    }
}

/// Where a download goes: `dest`, or inside it when it is a directory, or
/// the key's last segment in the current directory. `None` means stdout.
fn download_path(dest: Option<PathBuf>, key: &str) -> Result<Option<PathBuf>> {
    let base = key
        .rsplit('/')
        .find(|s| !s.is_empty() && *s != "." && *s != "..");
    let from_key = || {
        base.map(PathBuf::from).ok_or_else(|| {
            user(format!(
                "cannot name a file after the key {key:?}: give a destination path"
            ))
        })
    };
    match dest {
        Some(d) if d.as_os_str() == "-" => Ok(None),
        Some(d) if d.is_dir() => Ok(Some(d.join(from_key()?))),
        Some(d) => Ok(Some(d)),
        None => Ok(Some(from_key()?)),
    }
}

/// One object, or one version of it.
struct Source<'a> {
    bucket: &'a str,
    key: &'a str,
    version_id: Option<&'a str>,
}

impl Source<'_> {
    /// `bucket/key`, with the version when one is named.
    fn describe(&self) -> String {
        match self.version_id {
            Some(v) => format!("{}/{} (version {v})", self.bucket, printable(self.key)),
            None => format!("{}/{}", self.bucket, printable(self.key)),
        }
    }
}

async fn download(
    ctx: &mut Ctx,
    source: &Source<'_>,
    dest: Option<PathBuf>,
    limit: Option<u64>,
    no_overwrite: bool,
) -> Result<()> {
    let Source {
        bucket,
        key,
        version_id,
    } = *source;
    let dest = download_path(dest, key)?;
    if no_overwrite
        && let Some(dest) = &dest
        && std::fs::symlink_metadata(dest).is_ok()
    {
        // Said before any byte is fetched; a file created during the
        // transfer is caught when it is renamed into place.
        return Err(user(format!(
            "{} exists: not overwritten (--no-overwrite)",
            dest.display()
        )));
    }
    let client = ctx.client()?;
    let object = client
        .get_object_at(bucket, key, version_id, None, None)
        .await
        .map_err(|e| version_hint(e, source))?;
    let total = object
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    let Some(dest) = dest else {
        // To stdout: no temporary file and no progress bar in the way.
        let mut body = object.body;
        let mut stdout = std::io::stdout().lock();
        let mut written = Ok(());
        while let Some(chunk) = body.next().await {
            written = stdout.write_all(&chunk?);
            if written.is_err() {
                break;
            }
        }
        return match written.and_then(|()| stdout.flush()) {
            // A reader that stopped early (`| head`) ends the download
            // quietly, as `cat` would.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        };
    };
    let version = object.header("x-amz-version-id").map(str::to_owned);
    let bar = progress_bar(&ctx.out, total, key);
    let written = tokio::select! {
        written = download_to(object.body, &dest, total, &bar, limit, no_overwrite) => written?,
        () = interrupted() => {
            bar.abandon();
            return Err(Interrupted(format!(
                "interrupted: {} was not written", dest.display()
            )).into());
        }
    };
    bar.finish_and_clear();
    if ctx.out.json {
        let mut answer = serde_json::json!({
            "bucket": bucket,
            "key": key,
            "path": dest,
            "size_bytes": written,
        });
        if let Some(v) = version {
            answer["version_id"] = v.into();
        }
        return ctx.out.print_json(&answer);
    }
    ctx.out.success(&format!(
        "Downloaded {} to {} ({}).",
        source.describe(),
        printable(&dest.to_string_lossy()),
        human_bytes(written)
    ));
    Ok(())
}

/// What `stat` shows of an object, from its HEAD answer.
#[derive(Debug, serde::Serialize)]
struct Stat {
    bucket: String,
    key: String,
    size_bytes: Option<u64>,
    content_type: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    version_id: Option<String>,
    /// `x-amz-meta-*`, without the prefix.
    metadata: std::collections::BTreeMap<String, String>,
    /// Other headers stored with the object or said about it (caching,
    /// encoding, checksum, storage class, expiration).
    headers: std::collections::BTreeMap<String, String>,
}

/// Headers `stat` shows under their own names or not at all.
const STAT_SKIPPED: &[&str] = &[
    "content-length",
    "content-type",
    "etag",
    "last-modified",
    "x-amz-version-id",
    "accept-ranges",
    "date",
    "x-request-id",
    "connection",
];

impl Stat {
    fn from_headers(source: &Source<'_>, headers: &miniaws_client::HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut metadata = std::collections::BTreeMap::new();
        let mut stored = std::collections::BTreeMap::new();
        for (name, value) in headers {
            let Ok(value) = value.to_str() else { continue };
            if let Some(short) = name.as_str().strip_prefix("x-amz-meta-") {
                metadata.insert(short.to_owned(), value.to_owned());
            } else if !STAT_SKIPPED.contains(&name.as_str()) {
                stored.insert(name.as_str().to_owned(), value.to_owned());
            }
        }
        Self {
            bucket: source.bucket.to_owned(),
            key: source.key.to_owned(),
            size_bytes: text("content-length").and_then(|v| v.parse().ok()),
            content_type: text("content-type"),
            etag: text("etag"),
            last_modified: text("last-modified"),
            version_id: text("x-amz-version-id"),
            metadata,
            headers: stored,
        }
    }
}

/// `cloud storage stat BUCKET KEY [--version-id ID]`.
async fn stat(ctx: &mut Ctx, source: &Source<'_>) -> Result<()> {
    let client = ctx.client()?;
    let headers = match client
        .head_object_at(source.bucket, source.key, source.version_id)
        .await
    {
        Ok(h) => h,
        // A HEAD's error has no body to say what is missing (the bucket,
        // the object, the version): a GET of it says, and its body is
        // dropped unread.
        Err(head_err) => {
            return Err(
                match client
                    .get_object_at(source.bucket, source.key, source.version_id, None, None)
                    .await
                {
                    Err(e) => version_hint(e, source),
                    Ok(_) => head_err.into(),
                },
            );
        }
    };
    let stat = Stat::from_headers(source, &headers);
    if ctx.out.json {
        return ctx.out.print_json(&stat);
    }
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut fields = vec![
        (
            "object",
            format!("{}/{}", stat.bucket, printable(&stat.key)),
        ),
        (
            "size",
            stat.size_bytes.map_or_else(
                || "-".to_owned(),
                |n| format!("{} ({n} bytes)", human_bytes(n)),
            ),
        ),
        ("content type", or_dash(&stat.content_type)),
        ("ETag", or_dash(&stat.etag)),
        ("modified", or_dash(&stat.last_modified)),
    ];
    if let Some(v) = &stat.version_id {
        fields.push(("version id", v.clone()));
    }
    let meta: Vec<(String, String)> = stat
        .metadata
        .iter()
        .map(|(k, v)| (format!("meta {k}"), printable(v)))
        .chain(stat.headers.iter().map(|(k, v)| (k.clone(), printable(v))))
        .collect();
    fields.extend(meta.iter().map(|(k, v)| (k.as_str(), v.clone())));
    ctx.out.fields(&fields);
    Ok(())
}

/// [`not_found_hint`], and what a version id named that cannot be read.
fn version_hint(err: ClientError, source: &Source<'_>) -> anyhow::Error {
    let Source {
        bucket,
        key,
        version_id,
    } = *source;
    match (version_id, err.kind()) {
        (Some(v), Some("VERSION_NOT_FOUND" | "OBJECT_NOT_FOUND")) => user(format!(
            "there is no version {v} of {key:?} in bucket {bucket}: see `cloud storage ls {bucket} --versions`"
        )),
        (Some(v), Some("METHOD_NOT_ALLOWED")) => user(format!(
            "version {v} of {key:?} is a delete marker: it has no bytes (see `cloud storage ls {bucket} --versions`)"
        )),
        _ => not_found_hint(err, bucket, key),
    }
}

async fn delete(ctx: &mut Ctx, source: &Source<'_>) -> Result<()> {
    let Source {
        bucket,
        key,
        version_id,
    } = *source;
    let deleted = ctx
        .client()?
        .delete_object_at(bucket, key, version_id)
        .await
        .map_err(|e| version_hint(e, source))?;
    if ctx.out.json {
        return ctx.out.print_json(&serde_json::json!({
            "bucket": bucket,
            "key": key,
            "deleted": true,
            "version_id": deleted.version_id,
            "delete_marker": deleted.delete_marker,
        }));
    }
    let text = match (version_id, deleted.version_id) {
        (Some(_), _) => format!("Deleted {} for good.", source.describe()),
        (None, Some(marker)) if deleted.delete_marker => format!(
            "Deleted {bucket}/{key}: a delete marker ({marker}) hides it; its versions are kept (`cloud storage ls {bucket} --versions`)."
        ),
        _ => format!("Deleted {bucket}/{key}."),
    };
    ctx.out.success(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_destinations() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().to_path_buf();
        // (dest, key, Some(where) or None for an error; where None = stdout)
        type Case<'a> = (Option<PathBuf>, &'a str, Option<Option<PathBuf>>);
        let cases: Vec<Case> = vec![
            (None, "a/b/c.txt", Some(Some(PathBuf::from("c.txt")))),
            (None, "top", Some(Some(PathBuf::from("top")))),
            (Some(d.clone()), "x/y.bin", Some(Some(d.join("y.bin")))),
            (Some(d.join("new.bin")), "y", Some(Some(d.join("new.bin")))),
            (Some(PathBuf::from("-")), "y", Some(None)),
            (None, "a/..", Some(Some(PathBuf::from("a")))),
            (None, "/", None),
        ];
        for (dest, key, want) in cases {
            let got = download_path(dest.clone(), key).ok();
            assert_eq!(got, want, "case {dest:?} {key:?}");
        }
    }

    #[test]
    fn walk_finds_files_in_key_order() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).expect("dirs");
        std::fs::create_dir_all(root.join("empty")).expect("dirs");
        for f in ["z.txt", "b/one", "b/c/two", ".hidden"] {
            std::fs::write(root.join(f), f).expect("writes");
        }
        std::os::unix::fs::symlink(root, root.join("b/loop")).expect("symlink");
        // Not UTF-8: no key can name it, and a lossy one must not.
        let odd = root.join(std::ffi::OsStr::from_bytes(b"b/caf\xe9"));
        std::fs::write(&odd, "latin-1").expect("writes");
        let walked = walk(root).expect("walks");
        let keys: Vec<&str> = walked.files.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(keys, [".hidden", "b/c/two", "b/one", "z.txt"]);
        assert_eq!(walked.unnamed, [odd]);
        assert_eq!(
            walked.passed_over,
            [(
                "b/loop".to_owned(),
                "a symbolic link to a directory, which is not followed"
            )]
        );
    }

    #[test]
    fn walk_lists_what_it_passes_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::write(root.join("file"), "x").expect("writes");
        let status = std::process::Command::new("mkfifo")
            .arg(root.join("fifo"))
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        std::os::unix::fs::symlink(root.join("gone"), root.join("dangling")).expect("symlink");
        std::os::unix::fs::symlink("/dev/null", root.join("device")).expect("symlink");
        let walked = walk(root).expect("walks");
        assert_eq!(walked.files.len(), 1);
        let passed: Vec<(&str, &str)> = walked
            .passed_over
            .iter()
            .map(|(rel, why)| (rel.as_str(), *why))
            .collect();
        assert_eq!(
            passed,
            [
                ("dangling", "a symbolic link to nothing"),
                (
                    "device",
                    "a symbolic link to something that is not a regular file"
                ),
                ("fifo", "not a regular file (a FIFO, socket or device)"),
            ]
        );
    }
}
