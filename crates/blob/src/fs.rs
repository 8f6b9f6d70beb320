//! [`FsBlobStore`]: blobs as files under `<data-dir>/objects/`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};
use miniaws_core::storage::{BlobId, BlobStore, ByteRange, ByteStream, WrittenBlob};
use miniaws_core::{CoreError, CoreResult, Resource};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

use crate::error::BlobError;

/// Size of the chunks a read streams: large reads keep a GET far above
/// 100 MiB/s, which small (8 KiB) reads would cap it near.
pub const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Buffer in front of the temporary file, so that small network chunks
/// become large `write(2)` calls.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// Chunks in flight between the request task and the writer thread: bounds
/// the memory one upload holds.
const WRITE_QUEUE_CHUNKS: usize = 8;

const TMP_DIR: &str = "tmp";

/// Blobs as files under one root directory (`<data-dir>/objects`).
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

/// What the request task sends the writer thread.
enum Msg {
    Data(Bytes),
    /// The body ended: make the blob durable.
    Finish,
}

/// fsyncs a directory, so that entries created or renamed in it survive a
/// crash.
fn sync_dir(path: &Path) -> Result<(), BlobError> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|source| BlobError::Sync {
            path: path.to_owned(),
            source,
        })
}

/// Creates `dir` (and its parents) if missing, fsyncing each parent whose
/// entries changed, so that a blob renamed into `dir` is reachable after a
/// crash.
fn ensure_dir(dir: &Path) -> Result<(), BlobError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        ensure_dir(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(source) => {
            return Err(BlobError::Dir {
                path: dir.to_owned(),
                source,
            });
        }
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

impl FsBlobStore {
    /// A store rooted at `root` (created if missing, with its `tmp/`).
    ///
    /// # Errors
    /// [`BlobError::Dir`] when the directories cannot be created.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        ensure_dir(&root.join(TMP_DIR))?;
        Ok(Self { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where temporaries of writes in flight live.
    pub fn temp_dir(&self) -> PathBuf {
        self.root.join(TMP_DIR)
    }

    /// The path of blob `id`: `<root>/ab/cd/<uuid>`, from the id alone. Two
    /// levels of 256 directories keep each directory small for millions of
    /// blobs.
    pub fn blob_path(&self, id: BlobId) -> PathBuf {
        let name = id.as_uuid().simple().to_string();
        self.root.join(&name[0..2]).join(&name[2..4]).join(name)
    }

    fn temp_path(&self, id: BlobId) -> PathBuf {
        // A fresh suffix: two writes can never share a temporary.
        let nonce = uuid::Uuid::new_v4().simple();
        self.temp_dir()
            .join(format!("{}.{nonce}.tmp", id.as_uuid().simple()))
    }
}

/// The writer thread: drains `rx` into `temp` while hashing, then (on
/// [`Msg::Finish`]) fsyncs, renames to `dest` and fsyncs `dest`'s directory.
/// If the channel closes without `Finish`, the upload was abandoned: the
/// temporary is removed.
fn write_blob(
    temp: &Path,
    dest: &Path,
    mut rx: mpsc::Receiver<Msg>,
) -> Result<Option<WrittenBlob>, BlobError> {
    let write_err = |source| BlobError::Write {
        path: temp.to_owned(),
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(write_err)?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
    let mut md5 = Md5::new();
    let mut size_bytes = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Msg::Data(chunk)) => {
                md5.update(&chunk);
                size_bytes += chunk.len() as u64;
                out.write_all(&chunk).map_err(write_err)?;
            }
            Some(Msg::Finish) => break,
            None => {
                // Abandoned (body error, size limit, or the request future
                // was dropped): clean up here, as nobody else may.
                drop(out);
                remove_if_present(temp)?;
                return Ok(None);
            }
        }
    }
    let file = out.into_inner().map_err(|e| write_err(e.into_error()))?;
    // fsync before rename, or a crash could expose a renamed but
    // half-written blob.
    file.sync_all().map_err(|source| BlobError::Sync {
        path: temp.to_owned(),
        source,
    })?;
    drop(file);
    let dir = dest.parent().unwrap_or(dest);
    ensure_dir(dir)?;
    fs::rename(temp, dest).map_err(|source| BlobError::Rename {
        from: temp.to_owned(),
        to: dest.to_owned(),
        source,
    })?;
    // fsync the directory, or the rename itself may be lost in a crash.
    sync_dir(dir)?;
    Ok(Some(WrittenBlob {
        size_bytes,
        md5: md5.finalize().into(),
    }))
}

fn remove_if_present(path: &Path) -> Result<bool, BlobError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(BlobError::Remove {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Maps a body stream's error: a carried domain error as is, else an
/// interrupted upload.
fn body_failure(err: io::Error) -> CoreError {
    match err.downcast::<CoreError>() {
        Ok(core) => core,
        Err(err) => CoreError::invalid(format!("the upload was interrupted: {err}")),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> CoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::from(BlobError::Writer(e.to_string())))?
        .map_err(CoreError::from)
}

#[async_trait]
impl BlobStore for FsBlobStore {
    #[tracing::instrument(skip(self, body))]
    async fn write(
        &self,
        id: BlobId,
        mut body: ByteStream,
        max_size_bytes: u64,
    ) -> CoreResult<WrittenBlob> {
        let temp = self.temp_path(id);
        let dest = self.blob_path(id);
        let (tx, rx) = mpsc::channel(WRITE_QUEUE_CHUNKS);
        // Disk writes and MD5 run on a blocking thread; this task only moves
        // chunks, so a slow disk back-pressures the client through `tx`.
        let writer = {
            let temp = temp.clone();
            tokio::task::spawn_blocking(move || write_blob(&temp, &dest, rx))
        };
        let mut size = 0u64;
        let outcome: CoreResult<()> = loop {
            match body.next().await {
                None => break Ok(()),
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > max_size_bytes {
                        break Err(CoreError::TooLarge(format!(
                            "the body exceeds {max_size_bytes} bytes"
                        )));
                    }
                    if tx.send(Msg::Data(chunk)).await.is_err() {
                        // The writer failed; its error is reported below.
                        break Ok(());
                    }
                }
                Some(Err(e)) => break Err(body_failure(e)),
            }
        };
        if outcome.is_ok() {
            let _ = tx.send(Msg::Finish).await;
        }
        drop(tx);
        let written = writer
            .await
            .map_err(|e| CoreError::from(BlobError::Writer(e.to_string())));
        match (outcome, written) {
            (Ok(()), Ok(Ok(Some(w)))) => Ok(w),
            (outcome, written) => {
                // Nothing may be left behind: remove the temporary (and the
                // blob, should the rename have happened).
                let temp2 = temp.clone();
                let dest2 = self.blob_path(id);
                let failed_before_finish = outcome.is_err();
                let cleanup = blocking(move || {
                    remove_if_present(&temp2)?;
                    if failed_before_finish {
                        remove_if_present(&dest2)?;
                    }
                    Ok(())
                })
                .await;
                if let Err(e) = cleanup {
                    tracing::warn!(error = %e, "cannot remove an abandoned temporary; the start-up sweep will");
                }
                match (outcome, written) {
                    (Err(e), _) => Err(e),
                    (Ok(()), Err(e)) => Err(e),
                    (Ok(()), Ok(Err(e))) => Err(e.into()),
                    (Ok(()), Ok(Ok(_))) => Err(CoreError::from(BlobError::Writer(
                        "the writer ended without finishing".into(),
                    ))),
                }
            }
        }
    }

    async fn read(&self, id: BlobId, range: Option<ByteRange>) -> CoreResult<ByteStream> {
        let path = self.blob_path(id);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(CoreError::not_found(Resource::Object, id.to_string()));
            }
            Err(source) => return Err(BlobError::Read { path, source }.into()),
        };
        // Once open, the file stays readable even if a newer write replaces
        // and unlinks it: readers always see one complete version.
        let stream = match range {
            None => ReaderStream::with_capacity(file, READ_CHUNK_BYTES).boxed(),
            Some(r) => {
                file.seek(io::SeekFrom::Start(r.start))
                    .await
                    .map_err(|source| BlobError::Read { path, source })?;
                ReaderStream::with_capacity(file.take(r.len()), READ_CHUNK_BYTES).boxed()
            }
        };
        Ok(stream)
    }

    async fn delete(&self, id: BlobId) -> CoreResult<()> {
        let path = self.blob_path(id);
        blocking(move || remove_if_present(&path).map(drop)).await
    }

    async fn list(&self) -> CoreResult<Vec<BlobId>> {
        let root = self.root.clone();
        blocking(move || {
            let read = |path: &Path| {
                fs::read_dir(path).map_err(|source| BlobError::Read {
                    path: path.to_owned(),
                    source,
                })
            };
            let mut ids = Vec::new();
            for level1 in read(&root)? {
                let level1 = level1.map_err(|source| BlobError::Read {
                    path: root.clone(),
                    source,
                })?;
                if level1.file_name() == TMP_DIR || !level1.path().is_dir() {
                    continue;
                }
                for level2 in read(&level1.path())? {
                    let level2 = level2.map_err(|source| BlobError::Read {
                        path: level1.path(),
                        source,
                    })?;
                    if !level2.path().is_dir() {
                        continue;
                    }
                    for blob in read(&level2.path())? {
                        let blob = blob.map_err(|source| BlobError::Read {
                            path: level2.path(),
                            source,
                        })?;
                        match blob.file_name().to_str().map(uuid::Uuid::parse_str) {
                            Some(Ok(id)) => ids.push(BlobId::from_uuid(id)),
                            _ => tracing::warn!(path = %blob.path().display(), "unexpected file in the object store; left alone"),
                        }
                    }
                }
            }
            Ok(ids)
        })
        .await
    }

    async fn remove_temporaries(&self) -> CoreResult<usize> {
        let tmp = self.temp_dir();
        blocking(move || {
            let mut removed = 0;
            let entries = fs::read_dir(&tmp).map_err(|source| BlobError::Read {
                path: tmp.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| BlobError::Read {
                    path: tmp.clone(),
                    source,
                })?;
                if remove_if_present(&entry.path())? {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }
}
