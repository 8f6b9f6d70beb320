//! [`FsBlobStore`]: blobs as files under `<data-dir>/objects/`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use miniaws_core::storage::{BlobId, BlobStore, ByteRange, ByteStream, WrittenBlob};
use miniaws_core::{CoreError, CoreResult, Resource};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::io::ReaderStream;

use crate::error::BlobError;

/// Size of the chunks a read streams: large reads keep a GET far above
/// 100 MiB/s, which small (8 KiB) reads would cap it near.
pub const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Bytes gathered from the body before they are handed on as one batch:
/// the network delivers small chunks, and one hand-off (and one `writev`)
/// per MiB keeps thread wake-ups and syscalls few. A body that ends within
/// the first batch is written by a single blocking call.
const BATCH_BYTES: usize = 1024 * 1024;

/// Batches queued for each of the hasher and writer threads: bounds what
/// one upload holds in memory (the two queues share the same buffers).
const QUEUE_BATCHES: usize = 4;

/// A large write asks the kernel to start writing back every this many
/// bytes, so that the final fsync finds little left to do.
const WRITEBACK_BYTES: u64 = 8 << 20;

const TMP_DIR: &str = "tmp";

/// The suffix of a composite blob's directory name (`<uuid>.parts`).
const COMPOSITE_SUFFIX: &str = ".parts";

/// Parts of a composite read opened before its stream is returned (their
/// files then stay readable even if the object is deleted meanwhile, as a
/// single-file blob does once open); parts beyond are opened as the stream
/// reaches them, keeping a GET of a 10,000-part object within its file
/// descriptors. Such a read registers with [`Readers`], so that a delete
/// meanwhile leaves the composite's files in place until it ends.
const OPEN_AHEAD_PARTS: usize = 128;

/// Blobs as files under one root directory (`<data-dir>/objects`).
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    readers: Arc<Mutex<Readers>>,
}

/// The composites being read past their [`OPEN_AHEAD_PARTS`] (those
/// readers still have part files to open), and the ones deleted meanwhile,
/// whose files go when their last reader ends. In memory only: a crash
/// leaves a deleted composite's directory behind with no row pointing to
/// it, which the start-up sweep removes.
#[derive(Debug, Default)]
struct Readers {
    open: HashMap<BlobId, usize>,
    doomed: HashSet<BlobId>,
}

/// One registered reader of a composite (see [`Readers`]); dropped with its
/// stream.
struct ReadGuard {
    readers: Arc<Mutex<Readers>>,
    id: BlobId,
    dir: PathBuf,
}

impl ReadGuard {
    fn register(readers: &Arc<Mutex<Readers>>, id: BlobId, dir: PathBuf) -> Self {
        *lock(readers).open.entry(id).or_insert(0) += 1;
        Self {
            readers: Arc::clone(readers),
            id,
            dir,
        }
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        let remove = {
            let mut book = lock(&self.readers);
            let left = book.open.get_mut(&self.id).map_or(0, |n| {
                *n -= 1;
                *n
            });
            if left == 0 {
                book.open.remove(&self.id);
            }
            left == 0 && book.doomed.remove(&self.id)
        };
        if remove {
            let dir = std::mem::take(&mut self.dir);
            let work = move || {
                if let Err(e) = remove_dir_if_present(&dir) {
                    tracing::warn!(error = %e, "a deleted composite blob outlived its last reader; the start-up sweep removes it");
                }
            };
            // Off the async thread when there is a runtime.
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(work)),
                Err(_) => work(),
            }
        }
    }
}

/// The reader book, whatever a panicking holder left in it (counts only).
fn lock(readers: &Mutex<Readers>) -> std::sync::MutexGuard<'_, Readers> {
    readers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether composite `id`'s removal must wait for a reader (noted, so that
/// its last reader removes it).
fn defer_removal(readers: &Mutex<Readers>, id: BlobId) -> bool {
    let mut book = lock(readers);
    if book.open.contains_key(&id) {
        book.doomed.insert(id);
        true
    } else {
        false
    }
}

/// Chunks of a body, in order, shared by the hasher and the writer.
type Batch = Arc<[Bytes]>;

/// What the request task sends the writer thread.
enum Msg {
    Data(Batch),
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
/// crash. Returns whether `dir` was created.
fn ensure_dir(dir: &Path) -> Result<bool, BlobError> {
    if dir.is_dir() {
        return Ok(false);
    }
    if let Some(parent) = dir.parent() {
        ensure_dir(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
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
    Ok(true)
}

/// The 256 fan-out directory names, `00` to `ff`.
fn fan_out_names() -> impl Iterator<Item = String> {
    (0..=255u8).map(|b| format!("{b:02x}"))
}

impl FsBlobStore {
    /// A store rooted at `root` (created if missing, with its `tmp/` and
    /// its 256 fan-out directories).
    ///
    /// # Errors
    /// [`BlobError::Dir`] when the directories cannot be created.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        ensure_dir(&root.join(TMP_DIR))?;
        // Every user's bytes are in here: the server's account alone may
        // reach into it, whatever the directory around it allows.
        fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
            BlobError::Dir {
                path: root.clone(),
                source,
            }
        })?;
        // Creating the fan-out directories up front keeps a mkdir and the
        // fsync of its parent off every write path.
        let mut created = false;
        for name in fan_out_names() {
            let dir = root.join(name);
            if !dir.is_dir() {
                match fs::create_dir(&dir) {
                    Ok(()) => created = true,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(source) => return Err(BlobError::Dir { path: dir, source }),
                }
            }
        }
        if created {
            sync_dir(&root)?;
        }
        Ok(Self {
            root,
            readers: Arc::default(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where temporaries of writes in flight live.
    pub fn temp_dir(&self) -> PathBuf {
        self.root.join(TMP_DIR)
    }

    /// The path of blob `id`: `<root>/ab/<uuid>`, from the id alone. The
    /// 256 directories exist from [`open`](Self::open) on, and hold about
    /// 4,000 blobs each per million (directory indexes keep that fast).
    pub fn blob_path(&self, id: BlobId) -> PathBuf {
        let name = id.as_uuid().simple().to_string();
        self.root.join(&name[0..2]).join(name)
    }

    /// Where blob `id` lived in the first layout, `<root>/ab/cd/<uuid>`:
    /// still read, deleted and swept, so that existing data directories
    /// keep working.
    fn legacy_blob_path(&self, id: BlobId) -> PathBuf {
        let name = id.as_uuid().simple().to_string();
        self.root.join(&name[0..2]).join(&name[2..4]).join(name)
    }

    /// Where composite blob `id` lives, `<root>/ab/<uuid>.parts/`: a
    /// directory of hard links to its parts' files, named `00001.<n>`,
    /// `00002.<n>`, … in order, `<n>` their number (see
    /// [`BlobStore::compose`]). A name of its own,
    /// so that reading or removing a single-file blob never meets it.
    pub fn composite_path(&self, id: BlobId) -> PathBuf {
        let name = id.as_uuid().simple().to_string();
        self.root
            .join(&name[0..2])
            .join(format!("{name}{COMPOSITE_SUFFIX}"))
    }

    /// The path of an existing single-file blob `id` (either layout),
    /// `None` when there is none.
    fn existing_file(&self, id: BlobId) -> Option<PathBuf> {
        [self.blob_path(id), self.legacy_blob_path(id)]
            .into_iter()
            .find(|p| p.is_file())
    }

    fn temp_path(&self, id: BlobId) -> PathBuf {
        // A fresh suffix: two writes can never share a temporary.
        let nonce = uuid::Uuid::new_v4().simple();
        self.temp_dir()
            .join(format!("{}.{nonce}.tmp", id.as_uuid().simple()))
    }
}

/// Writes every byte of `chunks` with as few `writev(2)` calls as the
/// kernel allows.
fn write_chunks(file: &mut File, chunks: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = chunks
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| IoSlice::new(c))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Asks the kernel to start writing `len` bytes at `offset` back to disk
/// without waiting: the data of a large write then reaches the disk while
/// the rest of the body is still arriving, and the final fsync (which is
/// what makes it durable, and reports any error) finds little left to do.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: `file` is an open file, so its descriptor is valid for the
    // duration of the call; sync_file_range reads no memory of ours. Its
    // result is only advice, so errors are ignored: fsync reports them.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Makes the temporary `file` durable as blob `dest`: fsync, rename, fsync
/// of the directory.
fn commit_file(file: File, temp: &Path, dest: &Path) -> Result<(), BlobError> {
    // fsync before rename, or a crash could expose a renamed but
    // half-written blob.
    file.sync_all().map_err(|source| BlobError::Sync {
        path: temp.to_owned(),
        source,
    })?;
    drop(file);
    publish(temp, dest)
}

/// Renames the durable temporary `temp` (a file, or a composite's
/// directory) into place as `dest` and fsyncs `dest`'s directory.
fn publish(temp: &Path, dest: &Path) -> Result<(), BlobError> {
    let dir = dest.parent().unwrap_or(dest);
    // Normally present since `open`; recreated if someone removed it.
    ensure_dir(dir)?;
    fs::rename(temp, dest).map_err(|source| BlobError::Rename {
        from: temp.to_owned(),
        to: dest.to_owned(),
        source,
    })?;
    // fsync the directory, or the rename itself may be lost in a crash.
    sync_dir(dir)
}

fn create_temp(temp: &Path) -> Result<File, BlobError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|source| BlobError::Write {
            path: temp.to_owned(),
            source,
        })
}

/// A body that arrived whole within one batch (small objects): hash, write
/// and commit it in one blocking call. On failure nothing is left behind.
fn write_whole(temp: &Path, dest: &Path, chunks: &[Bytes]) -> Result<WrittenBlob, BlobError> {
    let mut md5 = Md5::new();
    let mut size_bytes = 0u64;
    for c in chunks {
        md5.update(c);
        size_bytes += c.len() as u64;
    }
    let result = create_temp(temp).and_then(|mut file| {
        write_chunks(&mut file, chunks).map_err(|source| BlobError::Write {
            path: temp.to_owned(),
            source,
        })?;
        commit_file(file, temp, dest)
    });
    if let Err(e) = result {
        let _ = remove_if_present(temp);
        let _ = remove_if_present(dest);
        return Err(e);
    }
    Ok(WrittenBlob {
        size_bytes,
        md5: md5.finalize().into(),
    })
}

/// The hasher thread of a large write: MD5 of every batch, in order. It
/// runs beside the writer thread, so hashing (about 600 MiB/s on one core)
/// and disk writes overlap instead of adding up.
fn hash_batches(mut rx: mpsc::Receiver<Batch>) -> [u8; 16] {
    let mut md5 = Md5::new();
    while let Some(batch) = rx.blocking_recv() {
        for chunk in batch.iter() {
            md5.update(chunk);
        }
    }
    md5.finalize().into()
}

/// The writer thread of a large write: drains `rx` into `temp`, then (on
/// [`Msg::Finish`]) fsyncs, renames to `dest` and fsyncs `dest`'s
/// directory; returns the bytes written. If the channel closes without
/// `Finish`, the upload was abandoned: the temporary is removed and `None`
/// returned.
fn write_batches(
    temp: &Path,
    dest: &Path,
    mut rx: mpsc::Receiver<Msg>,
) -> Result<Option<u64>, BlobError> {
    let write_err = |source| BlobError::Write {
        path: temp.to_owned(),
        source,
    };
    let mut file = create_temp(temp)?;
    let mut written = 0u64;
    let mut flushed_to = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Msg::Data(batch)) => {
                write_chunks(&mut file, &batch).map_err(write_err)?;
                written += batch.iter().map(|c| c.len() as u64).sum::<u64>();
                if written - flushed_to >= WRITEBACK_BYTES {
                    start_writeback(&file, flushed_to, written - flushed_to);
                    flushed_to = written;
                }
            }
            Some(Msg::Finish) => break,
            None => {
                // Abandoned (body error, size limit, or the request future
                // was dropped): clean up here, as nobody else may.
                drop(file);
                remove_if_present(temp)?;
                return Ok(None);
            }
        }
    }
    commit_file(file, temp, dest)?;
    Ok(Some(written))
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

/// Runs one side (hasher or writer) of a large upload on a thread of its
/// own, answering through the returned channel.
///
/// Not tokio's blocking pool: these threads wait for the client's bytes
/// for as long as the upload lasts, and the pool's threads (512) are what
/// every file read and small write needs. Two pool threads per upload let
/// 256 stalled uploads stop every GET of the server; a thread of its own
/// costs only its (mostly untouched) stack while it waits.
fn upload_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> CoreResult<oneshot::Receiver<T>> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| {
            CoreError::unavailable(
                miniaws_core::error::Dependency::Storage,
                format!("cannot start a thread for an upload: {e}"),
            )
        })?;
    Ok(rx)
}

/// Up to [`BATCH_BYTES`] of a body, and whether the body ended.
struct Gathered {
    chunks: Vec<Bytes>,
    ended: bool,
}

/// Reads the next batch of `body`, counting into `size` and enforcing
/// `max_size_bytes`.
async fn gather(
    body: &mut ByteStream,
    size: &mut u64,
    max_size_bytes: u64,
) -> CoreResult<Gathered> {
    let mut chunks = Vec::new();
    let mut len = 0usize;
    while len < BATCH_BYTES {
        match body.next().await {
            None => {
                return Ok(Gathered {
                    chunks,
                    ended: true,
                });
            }
            Some(Ok(chunk)) => {
                *size += chunk.len() as u64;
                if *size > max_size_bytes {
                    return Err(CoreError::TooLarge(format!(
                        "the body exceeds {max_size_bytes} bytes"
                    )));
                }
                len += chunk.len();
                chunks.push(chunk);
            }
            Some(Err(e)) => return Err(body_failure(e)),
        }
    }
    Ok(Gathered {
        chunks,
        ended: false,
    })
}

impl FsBlobStore {
    /// A body longer than one batch: the request task gathers batches and
    /// hands each to a hasher thread and a writer thread, which run side by
    /// side; full queues back-pressure the client.
    async fn write_pipelined(
        &self,
        id: BlobId,
        first: Gathered,
        mut body: ByteStream,
        mut size: u64,
        max_size_bytes: u64,
    ) -> CoreResult<WrittenBlob> {
        let temp = self.temp_path(id);
        let dest = self.blob_path(id);
        let (hash_tx, hash_rx) = mpsc::channel::<Batch>(QUEUE_BATCHES);
        let (write_tx, write_rx) = mpsc::channel::<Msg>(QUEUE_BATCHES);
        let hasher = upload_thread("blob-hash", move || hash_batches(hash_rx))?;
        let writer = {
            let temp = temp.clone();
            upload_thread("blob-write", move || write_batches(&temp, &dest, write_rx))?
        };
        let mut next = Some(first);
        let outcome: CoreResult<()> = async {
            loop {
                let batch = match next.take() {
                    Some(b) => b,
                    None => gather(&mut body, &mut size, max_size_bytes).await?,
                };
                let ended = batch.ended;
                if !batch.chunks.is_empty() {
                    let shared: Batch = batch.chunks.into();
                    if hash_tx.send(shared.clone()).await.is_err()
                        || write_tx.send(Msg::Data(shared)).await.is_err()
                    {
                        // A thread failed; its error is reported below.
                        return Ok(());
                    }
                }
                if ended {
                    return Ok(());
                }
            }
        }
        .await;
        if outcome.is_ok() {
            let _ = write_tx.send(Msg::Finish).await;
        }
        drop(write_tx);
        drop(hash_tx);
        let writer_err = |_: oneshot::error::RecvError| {
            CoreError::from(BlobError::Writer("an upload thread panicked".into()))
        };
        let written = writer.await.map_err(writer_err);
        let md5 = hasher.await.map_err(writer_err);
        match (outcome, written, md5) {
            (Ok(()), Ok(Ok(Some(size_bytes))), Ok(md5)) => Ok(WrittenBlob { size_bytes, md5 }),
            (outcome, written, md5) => {
                // Nothing may be left behind: remove the temporary and the
                // blob, should the rename have happened.
                let (temp2, dest2) = (temp.clone(), self.blob_path(id));
                let cleanup = blocking(move || {
                    remove_if_present(&temp2)?;
                    remove_if_present(&dest2)?;
                    Ok(())
                })
                .await;
                if let Err(e) = cleanup {
                    tracing::warn!(error = %e, "cannot remove an abandoned temporary; the start-up sweep will");
                }
                Err(match (outcome, written, md5) {
                    (Err(e), _, _) | (Ok(()), Err(e), _) | (Ok(()), _, Err(e)) => e,
                    (Ok(()), Ok(Err(e)), _) => e.into(),
                    (Ok(()), Ok(Ok(_)), Ok(_)) => CoreError::from(BlobError::Writer(
                        "the writer ended without finishing".into(),
                    )),
                })
            }
        }
    }
}

/// Whether `entry` is a directory, following a symbolic link as
/// `Path::is_dir` does, but from the type `read_dir` already read where the
/// file system gives it: no `stat` per blob (a tenth of a second over
/// 100,000 blobs at start-up).
fn is_dir(entry: &fs::DirEntry) -> bool {
    match entry.file_type() {
        Ok(t) if !t.is_symlink() => t.is_dir(),
        _ => entry.path().is_dir(),
    }
}

/// Builds composite blob `dest` from the files `parts` (in order): hard
/// links (made by `link_fn`, [`fs::hard_link`] but in tests) in a temporary
/// directory `temp`, fsynced, renamed into place, and the parent fsynced,
/// so that a crash leaves either no composite or a whole one (the links
/// need no data fsync: the parts' files are durable already). On a file
/// system that refuses hard links (FAT, exFAT, some network mounts) or a
/// part's file that has too many, the part is copied instead
/// ([`copy_part`]). `Ok(Err(i))` when part `i` does not exist. On any
/// error nothing is left behind.
fn compose_dir(
    temp: &Path,
    dest: &Path,
    parts: &[Option<PathBuf>],
    link_fn: impl Fn(&Path, &Path) -> io::Result<()>,
) -> Result<Result<u64, usize>, BlobError> {
    let built = (|| {
        fs::create_dir(temp).map_err(|source| BlobError::Dir {
            path: temp.to_owned(),
            source,
        })?;
        let mut size = 0u64;
        let mut copied = 0usize;
        for (i, part) in parts.iter().enumerate() {
            let Some(part) = part else { return Ok(Err(i)) };
            let link = temp.join(format!("{:05}.{:05}", i + 1, parts.len()));
            match link_or_copy(&link_fn, part, &link) {
                Ok(copy) => copied += usize::from(copy),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Err(i)),
                Err(source) => {
                    return Err(BlobError::Write {
                        path: link.to_owned(),
                        source,
                    });
                }
            }
            size += fs::metadata(&link)
                .map_err(|source| BlobError::Read {
                    path: link.clone(),
                    source,
                })?
                .len();
        }
        if copied > 0 {
            tracing::warn!(
                copied,
                parts = parts.len(),
                "the data directory's file system refused hard links: parts of a multipart completion were copied (their size again on disk)"
            );
        }
        sync_dir(temp)?;
        publish(temp, dest)?;
        Ok(Ok(size))
    })();
    if !matches!(built, Ok(Ok(_))) {
        let _ = remove_dir_if_present(temp);
        let _ = remove_dir_if_present(dest);
    }
    built
}

/// Whether a failed `link(2)` says the file system cannot link this file
/// (rather than that something is wrong): `EPERM` (FAT and exFAT answer
/// that), `EOPNOTSUPP`, `EMLINK` (the file has the most links it can).
fn links_refused(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
        || e.kind() == io::ErrorKind::Unsupported
        || e.raw_os_error() == Some(libc::EMLINK)
}

/// Links `part` as `link`, or copies it there (data fsynced: unlike a
/// link, a copy's bytes are new) when the file system refuses the link;
/// whether it copied.
fn link_or_copy(
    link_fn: &impl Fn(&Path, &Path) -> io::Result<()>,
    part: &Path,
    link: &Path,
) -> io::Result<bool> {
    match link_fn(part, link) {
        Ok(()) => Ok(false),
        Err(e) if links_refused(&e) => copy_part(part, link).map(|()| true),
        Err(e) => Err(e),
    }
}

/// Copies a part's file to `to` and makes the copy durable.
fn copy_part(from: &Path, to: &Path) -> io::Result<()> {
    fs::copy(from, to)?;
    File::open(to)?.sync_all()
}

fn remove_dir_if_present(path: &Path) -> Result<bool, BlobError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(BlobError::Remove {
            path: path.to_owned(),
            source,
        }),
    }
}

/// One part file of a composite read: its path, the file when opened
/// ahead, and the bytes of it to send.
struct Piece {
    path: PathBuf,
    file: Option<File>,
    offset: u64,
    len: u64,
}

/// The part files of composite blob `dir` that `range` covers (all of them
/// when `None`), in order, the first [`OPEN_AHEAD_PARTS`] opened. `None`
/// when there is no such composite, or not a whole one: a composite being
/// removed (its object replaced or deleted since its row was read) loses
/// files one by one, so a listing that lacks one of the `n` its names
/// count (or all of them), or a file gone before it was opened, is "not
/// found", which the reader meets as a blob removed under it (and reads
/// the row again), never as a shorter body. A whole read (no `range`)
/// checks the parts' total against the recorded `size`; a ranged one stats
/// only the parts up to its end, so it does not.
fn composite_pieces(
    dir: &Path,
    size: Option<u64>,
    range: Option<ByteRange>,
) -> Result<Option<Vec<Piece>>, BlobError> {
    let read_err = |source| BlobError::Read {
        path: dir.to_owned(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_err(source)),
    };
    let mut names = Vec::new();
    for entry in entries {
        names.push(entry.map_err(read_err)?.file_name());
    }
    // `00001.00003`, `00002.00003`, …: the names sort in part order and
    // say how many there are. (Emptied, it is being removed: a composite
    // has at least one part.)
    names.sort();
    let whole = !names.is_empty()
        && names.iter().enumerate().all(|(i, name)| {
            name.to_str()
                .and_then(|n| n.split_once('.'))
                .and_then(|(i_of, n_of)| {
                    Some((i_of.parse::<usize>().ok()?, n_of.parse::<usize>().ok()?))
                })
                == Some((i + 1, names.len()))
        });
    if !whole {
        return Ok(None);
    }
    let (mut from, to) = match range {
        Some(r) => (r.start, r.end.saturating_add(1)),
        None => (0, u64::MAX),
    };
    let mut pieces = Vec::new();
    let mut at = 0u64;
    for name in names {
        if at >= to {
            break;
        }
        let path = dir.join(name);
        let gone = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
        let len = match fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if gone(&e) => return Ok(None),
            Err(source) => return Err(BlobError::Read { path, source }),
        };
        let end = at + len;
        if end > from && len > 0 {
            let offset = from - at;
            let take = end.min(to) - from;
            let file = if pieces.len() < OPEN_AHEAD_PARTS {
                match File::open(&path) {
                    Ok(f) => Some(f),
                    Err(e) if gone(&e) => return Ok(None),
                    Err(source) => return Err(BlobError::Read { path, source }),
                }
            } else {
                None
            };
            pieces.push(Piece {
                path,
                file,
                offset,
                len: take,
            });
            from = end.min(to);
        }
        at = end;
    }
    if let Some(recorded) = size.filter(|s| range.is_none() && *s != at) {
        return Err(BlobError::Damaged {
            path: dir.to_owned(),
            stored: at,
            recorded,
        });
    }
    Ok(Some(pieces))
}

/// Opens the first of `paths` that exists (the blob's path, then its
/// legacy one) and checks its length against the recorded `size`. `None`
/// when neither exists.
fn open_single(
    paths: [PathBuf; 2],
    size: Option<u64>,
) -> Result<Option<(File, PathBuf)>, BlobError> {
    for path in paths {
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(BlobError::Read { path, source }),
        };
        if let Some(recorded) = size {
            let stored = match file.metadata() {
                Ok(m) => m.len(),
                Err(source) => return Err(BlobError::Read { path, source }),
            };
            if stored != recorded {
                return Err(BlobError::Damaged {
                    path,
                    stored,
                    recorded,
                });
            }
        }
        return Ok(Some((file, path)));
    }
    Ok(None)
}

/// Streams `pieces` one after the other, in large chunks; `guard` (the
/// read's registration, when it has parts left to open) lives as long as
/// the stream.
fn stream_pieces(pieces: Vec<Piece>, guard: Option<ReadGuard>) -> ByteStream {
    futures::stream::iter(pieces)
        .then(move |piece| {
            let _registered = &guard;
            async move {
                let mut file = match piece.file {
                    Some(f) => tokio::fs::File::from_std(f),
                    None => tokio::fs::File::open(&piece.path).await?,
                };
                if piece.offset > 0 {
                    file.seek(io::SeekFrom::Start(piece.offset)).await?;
                }
                Ok::<_, io::Error>(ReaderStream::with_capacity(
                    file.take(piece.len),
                    READ_CHUNK_BYTES,
                ))
            }
        })
        .try_flatten()
        .boxed()
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
        let mut size = 0u64;
        // Nothing is on disk until the first batch is in hand, so an error
        // here leaves nothing to clean up.
        let first = gather(&mut body, &mut size, max_size_bytes).await?;
        if first.ended {
            let (temp, dest) = (self.temp_path(id), self.blob_path(id));
            return blocking(move || write_whole(&temp, &dest, &first.chunks)).await;
        }
        self.write_pipelined(id, first, body, size, max_size_bytes)
            .await
    }

    async fn read(
        &self,
        id: BlobId,
        size: Option<u64>,
        range: Option<ByteRange>,
    ) -> CoreResult<ByteStream> {
        let paths = [self.blob_path(id), self.legacy_blob_path(id)];
        // One trip to the blocking pool opens the file and reads its size.
        let opened = blocking(move || open_single(paths, size)).await?;
        let Some((file, path)) = opened else {
            // Not a single file: a composite blob, or none. (Looked for
            // last, so single-file blobs pay nothing for composites.)
            let dir = self.composite_path(id);
            // Registered before a file is opened: a delete that finds
            // no reader registered may be removing files already, which
            // `composite_pieces` then meets as "not found".
            let guard = ReadGuard::register(&self.readers, id, dir.clone());
            return match blocking(move || composite_pieces(&dir, size, range)).await? {
                // Every part open: the files outlive a delete anyway.
                Some(pieces) if pieces.len() <= OPEN_AHEAD_PARTS => {
                    drop(guard);
                    Ok(stream_pieces(pieces, None))
                }
                Some(pieces) => Ok(stream_pieces(pieces, Some(guard))),
                None => Err(CoreError::not_found(Resource::Object, id.to_string())),
            };
        };
        // Once open, the file stays readable even if a newer write replaces
        // and unlinks it: readers always see one complete version.
        let mut file = tokio::fs::File::from_std(file);
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
        let legacy = self.legacy_blob_path(id);
        let composite = self.composite_path(id);
        let readers = Arc::clone(&self.readers);
        blocking(move || {
            // A composite removed half-way (a crash) is still listed under
            // its id, an orphan for the start-up sweep to finish. One that
            // a reader is still going through is removed by that reader's
            // end (see `Readers`).
            if !remove_if_present(&path)?
                && !remove_if_present(&legacy)?
                && !defer_removal(&readers, id)
            {
                remove_dir_if_present(&composite)?;
            }
            Ok(())
        })
        .await
    }

    async fn compose(&self, id: BlobId, parts: &[BlobId]) -> CoreResult<u64> {
        let temp = self.temp_path(id);
        let dest = self.composite_path(id);
        let store = self.clone();
        let parts = parts.to_vec();
        let built = blocking(move || {
            let files: Vec<Option<PathBuf>> =
                parts.iter().map(|p| store.existing_file(*p)).collect();
            Ok(compose_dir(&temp, &dest, &files, |a: &Path, b: &Path| {
                fs::hard_link(a, b)
            })?
            .map_err(|i| parts[i]))
        })
        .await?;
        built.map_err(|missing| CoreError::not_found(Resource::Object, missing.to_string()))
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
            let mut blob = |path: &Path| match path
                .file_name()
                .and_then(|n| n.to_str())
                .map(uuid::Uuid::parse_str)
            {
                Some(Ok(id)) => ids.push(BlobId::from_uuid(id)),
                _ => tracing::warn!(path = %path.display(), "unexpected file in the object store; left alone"),
            };
            for level1 in read(&root)? {
                let level1 = level1.map_err(|source| BlobError::Read {
                    path: root.clone(),
                    source,
                })?;
                if level1.file_name() == TMP_DIR || !is_dir(&level1) {
                    continue;
                }
                // `ab/<uuid>` blobs, and `ab/cd/` directories of the first
                // layout.
                for level2 in read(&level1.path())? {
                    let level2 = level2.map_err(|source| BlobError::Read {
                        path: level1.path(),
                        source,
                    })?;
                    if !is_dir(&level2) {
                        blob(&level2.path());
                        continue;
                    }
                    // A composite blob (`ab/<uuid>.parts/`) is one blob;
                    // its part files are not looked at.
                    let name = level2.file_name();
                    if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(COMPOSITE_SUFFIX)) {
                        blob(Path::new(stem));
                        continue;
                    }
                    for entry in read(&level2.path())? {
                        let entry = entry.map_err(|source| BlobError::Read {
                            path: level2.path(),
                            source,
                        })?;
                        blob(&entry.path());
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
                // A directory is a composite blob being built.
                let gone = if is_dir(&entry) {
                    remove_dir_if_present(&entry.path())?
                } else {
                    remove_if_present(&entry.path())?
                };
                if gone {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }

    fn free_bytes(&self) -> Option<u64> {
        free_bytes(&self.root)
    }
}

/// The bytes an unprivileged writer may still use on `path`'s file system
/// (`f_bavail`: root's reserved blocks do not count, as the server should
/// not rely on them). One `statvfs`, cheap enough for every write; `None`
/// if it fails (the write then meets the disk as it is).
#[cfg(unix)]
fn free_bytes(path: &Path) -> Option<u64> {
    match rustix::fs::statvfs(path) {
        Ok(st) => Some(st.f_bavail.saturating_mul(st.f_frsize)),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "statvfs failed; free space unknown");
            None
        }
    }
}

#[cfg(not(unix))]
fn free_bytes(_path: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Three part files in `dir`, and their bytes in order.
    fn parts(dir: &Path) -> (Vec<Option<PathBuf>>, Vec<u8>) {
        let mut paths = Vec::new();
        let mut whole = Vec::new();
        for (i, body) in [&b"first part "[..], b"", b"and the last"]
            .iter()
            .enumerate()
        {
            let path = dir.join(format!("part{i}"));
            fs::write(&path, body).unwrap();
            paths.push(Some(path));
            whole.extend_from_slice(body);
        }
        (paths, whole)
    }

    fn read_composite(dest: &Path) -> Vec<u8> {
        let mut names: Vec<PathBuf> = fs::read_dir(dest)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names.iter().flat_map(|p| fs::read(p).unwrap()).collect()
    }

    #[test]
    fn a_file_system_that_refuses_links_gets_copies() {
        for errno in [libc::EPERM, libc::EOPNOTSUPP, libc::EMLINK] {
            let dir = tempfile::tempdir().unwrap();
            let (paths, whole) = parts(dir.path());
            let (temp, dest) = (dir.path().join("t"), dir.path().join("d.parts"));
            let refuse = |_: &Path, _: &Path| Err(io::Error::from_raw_os_error(errno));
            let size = compose_dir(&temp, &dest, &paths, refuse).unwrap().unwrap();
            assert_eq!(size, whole.len() as u64, "errno {errno}");
            assert_eq!(read_composite(&dest), whole, "errno {errno}");
            assert!(!temp.exists());
            // Copies, not links: the parts can go and the composite stays.
            for p in paths.iter().flatten() {
                assert_eq!(fs::metadata(p).unwrap().nlink(), 1);
                fs::remove_file(p).unwrap();
            }
            assert_eq!(read_composite(&dest), whole);
        }
    }

    #[test]
    fn links_are_made_where_the_file_system_allows_and_other_errors_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (paths, whole) = parts(dir.path());
        let (temp, dest) = (dir.path().join("t"), dir.path().join("d.parts"));
        let link = |a: &Path, b: &Path| fs::hard_link(a, b);
        compose_dir(&temp, &dest, &paths, link).unwrap().unwrap();
        assert_eq!(read_composite(&dest), whole);
        assert_eq!(fs::metadata(paths[0].as_ref().unwrap()).unwrap().nlink(), 2);

        let dest2 = dir.path().join("e.parts");
        let broken = |_: &Path, _: &Path| Err(io::Error::from_raw_os_error(libc::EIO));
        let err = compose_dir(&temp, &dest2, &paths, broken).unwrap_err();
        assert!(matches!(err, BlobError::Write { .. }), "{err:?}");
        assert!(!temp.exists() && !dest2.exists(), "nothing is left behind");
    }
}
