//! Streaming transfers between disk and the server: a progress bar (bytes,
//! rate, ETA) on a terminal and none otherwise, an optional rate limit, and
//! downloads that land under their final name only when complete.

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

use crate::output::Output;

/// The next result of a batch of concurrent requests (`results`), unless
/// Ctrl-C (`stop`, from [`crate::error::interrupted`]) comes first: then
/// the bar is abandoned and the error is [`crate::error::Interrupted`]
/// with `progress()`'s account of what was done.
///
/// # Errors
/// Only the interruption.
pub async fn next_unless_interrupted<S, F>(
    results: &mut S,
    stop: &mut std::pin::Pin<&mut F>,
    bar: &ProgressBar,
    progress: impl FnOnce() -> String,
) -> Result<Option<S::Item>>
where
    S: Stream + Unpin,
    F: std::future::Future<Output = ()>,
{
    tokio::select! {
        next = results.next() => Ok(next),
        () = stop.as_mut() => {
            bar.abandon();
            Err(crate::error::Interrupted(progress()).into())
        }
    }
}

/// How many files of a tree transfer at once (the aws CLI sends 10):
/// enough to hide each request's round trips on a tree of small files.
const TRANSFER_CONCURRENCY: usize = 4;

/// How many files of a tree (`upload`/`download --recursive`, `sync`)
/// transfer at once: one under `--limit-rate` (`limit_rate`), whose rate
/// applies to each file, so that the total stays at it.
pub fn concurrency(limit_rate: Option<u64>) -> usize {
    if limit_rate.is_some() {
        1
    } else {
        TRANSFER_CONCURRENCY
    }
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub fn progress_bar(out: &Output, total_bytes: Option<u64>, label: &str) -> ProgressBar {
    if !out.stderr_tty {
        return ProgressBar::hidden();
    }
    let bar = match total_bytes {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total_bytes.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
    } else {
        "{msg} {bytes} {binary_bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}

/// A progress bar counting items (objects deleted) on stderr when it is a
/// terminal; hidden otherwise.
pub fn count_bar(out: &Output, total: u64, label: &str) -> ProgressBar {
    if !out.stderr_tty {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ETA {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}

/// Parses a rate such as `512K`, `10M` or `1048576` (bytes per second,
/// binary multiples).
///
/// # Errors
/// A message clap shows as a usage error.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, multiplier) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1024),
        Some((i, 'm' | 'M')) => (&s[..i], 1024 * 1024),
        Some((i, 'g' | 'G')) => (&s[..i], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n.saturating_mul(multiplier)),
        _ => Err(format!(
            "invalid rate {s:?}: use bytes per second such as 512K, 10M or 1048576"
        )),
    }
}

/// Paces a transfer to at most `bytes_per_sec`.
#[derive(Debug, Clone)]
pub struct RateLimit {
    bytes_per_sec: u64,
    started: Instant,
    sent: u64,
}

impl RateLimit {
    /// A limiter starting now.
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            bytes_per_sec: bytes_per_sec.max(1),
            started: Instant::now(),
            sent: 0,
        }
    }

    /// Records `n` more bytes; returns how long to wait before the next.
    pub fn delay_after(&mut self, n: usize) -> Option<Duration> {
        self.sent += n as u64;
        let due = Duration::from_secs_f64(self.sent as f64 / self.bytes_per_sec as f64);
        due.checked_sub(self.started.elapsed())
            .filter(|d| !d.is_zero())
    }
}

/// What [`file_stream`] found wrong with the file's length, if anything:
/// read after the request fails, since an HTTP client reports a body's
/// error only as a failed request.
#[derive(Clone, Debug, Default)]
pub struct LengthCheck(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl LengthCheck {
    /// The problem, once the stream met one.
    pub fn problem(&self) -> Option<String> {
        self.0.lock().ok().and_then(|p| p.clone())
    }

    fn report(&self, problem: String) -> std::io::Error {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(problem.clone());
        }
        std::io::Error::other(problem)
    }
}

/// The bytes of `file`, chunk by chunk, counted on `bar` and paced by
/// `limit`. With `len` (the length the request announces), exactly that
/// many: a file that grew since it was measured is sent as it was then
/// long, and one that shrank ends the stream with an error (recorded in
/// the [`LengthCheck`]), so that the server, short of bytes, keeps nothing.
pub fn file_stream(
    file: tokio::fs::File,
    bar: ProgressBar,
    limit: Option<u64>,
    len: Option<u64>,
) -> (
    impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    LengthCheck,
) {
    use tokio::io::AsyncReadExt;
    let check = LengthCheck::default();
    let mut limiter = limit.map(RateLimit::new);
    let reader = file.take(len.unwrap_or(u64::MAX));
    let mut sent = 0u64;
    let chunks = tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024);
    let ended_early = {
        let check = check.clone();
        move |sent: u64| {
            let len = len?;
            (sent < len).then(|| {
                check.report(format!(
                    "the file shrank while it was being uploaded ({sent} of the {len} bytes \
                     it had when the upload began): nothing was stored"
                ))
            })
        }
    };
    let stream = chunks
        .map(Some)
        .chain(futures::stream::once(async { None }))
        .filter_map(move |chunk| {
            let item = match chunk {
                Some(Ok(bytes)) => {
                    sent += bytes.len() as u64;
                    Some(Ok(bytes))
                }
                Some(Err(e)) => Some(Err(e)),
                None => ended_early(sent).map(Err),
            };
            std::future::ready(item)
        })
        .then(move |chunk| {
            let delay = match &chunk {
                Ok(bytes) => {
                    bar.inc(bytes.len() as u64);
                    limiter.as_mut().and_then(|l| l.delay_after(bytes.len()))
                }
                Err(_) => None,
            };
            async move {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                chunk
            }
        });
    (stream, check)
}

/// Writes `body` to `dest`: into a temporary file beside it, flushed to
/// disk, then renamed over `dest`. If the transfer fails or this future is
/// dropped (Ctrl-C), the temporary file is removed and `dest` is untouched,
/// so a truncated download never appears under the final name. A body
/// shorter or longer than `expected_len` (the Content-Length) is an error.
///
/// With `no_overwrite`, `dest` is never replaced, not even by a file
/// created there during the transfer: the complete temporary is renamed
/// with `RENAME_NOREPLACE` (a hard link where the file system lacks it),
/// which the kernel refuses atomically when the name exists. That is the
/// race-free way: creating `dest` itself with `O_EXCL` would mean writing
/// the bytes straight into it (a failed download would leave a partial
/// file, and removing it afterwards could remove someone else's), or
/// reserving it empty and renaming the temporary over the reservation
/// later (which replaces whatever took its place meanwhile). The
/// temporary itself is created with `O_EXCL` (tempfile does).
///
/// # Errors
/// Local IO failures, the body's error, a length mismatch, or (with
/// `no_overwrite`) `dest` existing when the download is complete: then
/// nothing is written and the temporary is removed.
pub async fn download_to<S, E>(
    mut body: S,
    dest: &Path,
    expected_len: Option<u64>,
    bar: &ProgressBar,
    limit: Option<u64>,
    no_overwrite: bool,
) -> Result<u64>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<anyhow::Error>,
{
    // What `dest` is now (through links): a device or a pipe is written
    // into, as `curl -o /dev/null` does; renaming a file over it would
    // replace `/dev/null` itself.
    let existing = std::fs::metadata(dest).ok();
    if let Some(meta) = existing.as_ref().filter(|m| !m.is_file() && !m.is_dir())
        && !no_overwrite
    {
        let kind = meta.file_type();
        return write_into(body, dest, kind, expected_len, bar, limit).await;
    }
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    // A download is an ordinary file, made as the umask allows (tempfile
    // makes 0600 by default); one that replaces a file keeps its mode.
    let mode = existing
        .as_ref()
        .filter(|m| m.is_file())
        .map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mut file = tokio::fs::File::from_std(
        tmp.as_file()
            .try_clone()
            .context("cannot open the temporary file")?,
    );
    let written = stream_into(
        &mut body,
        &mut file,
        tmp.path(),
        dest,
        expected_len,
        bar,
        limit,
    )
    .await?;
    drop(file);
    if existing.as_ref().is_some_and(std::fs::Metadata::is_file) {
        // The umask applied at creation: a replaced file keeps its mode
        // exactly (a 0600 file stays 0600, a 0664 one 0664).
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    if no_overwrite {
        // On failure the temporary comes back in the error and is removed
        // when it is dropped.
        return match tmp.persist_noclobber(dest) {
            Ok(_) => Ok(written),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(crate::error::user(format!(
                    "{} was created during the download: not overwritten (--no-overwrite); \
                     the download was discarded",
                    dest.display()
                )))
            }
            Err(e) => Err(e.error)
                .with_context(|| format!("cannot rename the download to {}", dest.display())),
        };
    }
    tmp.persist(dest)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot rename the download to {}", dest.display()))?;
    Ok(written)
}

/// Writes `body` straight into `dest`, which is not a regular file (a
/// character device such as `/dev/null`, a FIFO, a socket's link): opened
/// for writing as it is, never replaced. A short body is still an error,
/// though the bytes before it have gone out.
async fn write_into<S, E>(
    mut body: S,
    dest: &Path,
    kind: std::fs::FileType,
    expected_len: Option<u64>,
    bar: &ProgressBar,
    limit: Option<u64>,
) -> Result<u64>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<anyhow::Error>,
{
    use std::os::unix::fs::FileTypeExt;
    if kind.is_block_device() {
        // Writing over a disk is not what a download is for.
        return Err(crate::error::user(format!(
            "{} is a block device: not written; download to a file",
            dest.display()
        )));
    }
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(dest)
        .await
        .with_context(|| format!("cannot open {} for writing", dest.display()))?;
    let written = copy_body(&mut body, &mut file, dest, bar, limit).await?;
    file.flush().await?;
    if let Some(expected) = expected_len
        && expected != written
    {
        anyhow::bail!(
            "the server sent {written} of {expected} bytes to {}: retry",
            dest.display()
        );
    }
    Ok(written)
}

/// Copies `body` into `file` (`path`, for messages), counted on `bar` and
/// paced by `limit`; the bytes written.
async fn copy_body<S, E>(
    body: &mut S,
    file: &mut tokio::fs::File,
    path: &Path,
    bar: &ProgressBar,
    limit: Option<u64>,
) -> Result<u64>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<anyhow::Error>,
{
    let mut limiter = limit.map(RateLimit::new);
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(Into::into)?;
        file.write_all(&chunk)
            .await
            .with_context(|| format!("cannot write to {}", path.display()))?;
        written += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
        if let Some(d) = limiter.as_mut().and_then(|l| l.delay_after(chunk.len())) {
            tokio::time::sleep(d).await;
        }
    }
    Ok(written)
}

/// Writes `body` into `file` (the temporary `tmp` standing for `dest`),
/// counted on `bar` and paced by `limit`, then flushes it to disk. A body
/// shorter or longer than `expected_len` is an error. Shared by the
/// single download and the recursive one (`crate::sandbox`).
///
/// # Errors
/// Local IO failures, the body's error, or a length mismatch.
pub async fn stream_into<S, E>(
    body: &mut S,
    file: &mut tokio::fs::File,
    tmp: &Path,
    dest: &Path,
    expected_len: Option<u64>,
    bar: &ProgressBar,
    limit: Option<u64>,
) -> Result<u64>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<anyhow::Error>,
{
    let written = copy_body(body, file, tmp, bar, limit).await?;
    if let Some(expected) = expected_len
        && expected != written
    {
        anyhow::bail!(
            "the server sent {written} of {expected} bytes; nothing was saved to {}: retry",
            dest.display()
        );
    }
    file.flush().await?;
    // Durable before it becomes visible: a crash after the rename must not
    // expose a file whose bytes never reached the disk.
    file.sync_all()
        .await
        .with_context(|| format!("cannot flush {}", tmp.display()))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn streamed(
        content: &[u8],
        len: Option<u64>,
    ) -> (Vec<std::io::Result<Bytes>>, LengthCheck) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, content).expect("writes");
        let file = tokio::fs::File::open(&path).await.expect("opens");
        let (stream, check) = file_stream(file, ProgressBar::hidden(), None, len);
        (stream.collect().await, check)
    }

    fn joined(items: Vec<std::io::Result<Bytes>>) -> Vec<u8> {
        items
            .into_iter()
            .flat_map(|b| b.expect("no error").to_vec())
            .collect()
    }

    #[tokio::test]
    async fn a_file_stream_sends_the_announced_length() {
        let (items, check) = streamed(b"0123456789", None).await;
        assert_eq!(joined(items), b"0123456789");
        assert!(check.problem().is_none());
        let (items, check) = streamed(b"0123456789", Some(10)).await;
        assert_eq!(joined(items), b"0123456789");
        assert!(check.problem().is_none());
        // Grown since it was measured: sent as it was then long.
        let (items, check) = streamed(b"0123456789", Some(4)).await;
        assert_eq!(joined(items), b"0123");
        assert!(check.problem().is_none());
    }

    #[tokio::test]
    async fn a_file_that_shrank_ends_its_stream_with_an_error() {
        let (items, check) = streamed(b"01234", Some(8)).await;
        let (last, before) = items.split_last().expect("items");
        assert!(before.iter().all(Result::is_ok));
        assert!(last.is_err(), "{items:?}");
        let problem = check.problem().expect("recorded");
        assert!(
            problem.contains("shrank") && problem.contains("5 of the 8 bytes"),
            "{problem}"
        );
    }

    #[test]
    fn rates_parse() {
        for (s, want) in [
            ("1", Some(1)),
            ("512K", Some(512 * 1024)),
            ("10m", Some(10 * 1024 * 1024)),
            ("1G", Some(1 << 30)),
            ("0", None),
            ("K", None),
            ("fast", None),
            ("-1M", None),
        ] {
            assert_eq!(parse_rate(s).ok(), want, "case {s:?}");
        }
    }

    #[test]
    fn the_limiter_asks_for_the_right_wait() {
        let mut l = RateLimit::new(1000);
        let d = l.delay_after(500).expect("half a second of budget used");
        assert!(
            d > Duration::from_millis(400) && d <= Duration::from_millis(500),
            "{d:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_download_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("out.bin");
        std::fs::write(&dest, b"old").expect("writes");
        let body = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"new bytes")),
            Err(anyhow::anyhow!("connection reset")),
        ]);
        let err = download_to(body, &dest, None, &ProgressBar::hidden(), None, false)
            .await
            .expect_err("the body fails");
        assert!(err.to_string().contains("connection reset"));
        assert_eq!(std::fs::read(&dest).expect("still there"), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["out.bin"], "no temporary file is left");

        let body = futures::stream::iter(vec![
            Ok::<_, anyhow::Error>(Bytes::from_static(b"new ")),
            Ok(Bytes::from_static(b"bytes")),
        ]);
        let short = futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"new"))]);
        let err = download_to(short, &dest, Some(9), &ProgressBar::hidden(), None, false)
            .await
            .expect_err("a short body is refused");
        assert!(err.to_string().contains("3 of 9 bytes"), "{err}");
        assert_eq!(std::fs::read(&dest).expect("still there"), b"old");
        let n = download_to(body, &dest, Some(9), &ProgressBar::hidden(), None, false)
            .await
            .expect("downloads");
        assert_eq!(n, 9);
        assert_eq!(std::fs::read(&dest).expect("replaced"), b"new bytes");
        let mode = std::fs::metadata(&dest)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    fn two_chunks() -> impl Stream<Item = Result<Bytes, anyhow::Error>> + Unpin {
        futures::stream::iter(vec![
            Ok::<_, anyhow::Error>(Bytes::from_static(b"new ")),
            Ok(Bytes::from_static(b"bytes")),
        ])
    }

    /// A device or a FIFO at the destination is written into, never
    /// replaced by a file (a download to `/dev/null` once replaced it).
    #[tokio::test]
    async fn a_device_or_fifo_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        // Read on a thread of its own, answered through a channel: were
        // the FIFO replaced, the reader would wait for a writer forever.
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let fifo = fifo.clone();
            std::thread::spawn(move || tx.send(std::fs::read(fifo).expect("the reader reads")));
        }
        download_to(
            two_chunks(),
            &fifo,
            Some(9),
            &ProgressBar::hidden(),
            None,
            false,
        )
        .await
        .expect("downloads into the FIFO");
        let read = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the FIFO's reader got the download");
        assert_eq!(read, b"new bytes");
        let kind = std::fs::symlink_metadata(&fifo)
            .expect("exists")
            .file_type();
        assert!(kind.is_fifo(), "the FIFO is still a FIFO");
        // Then /dev/null (after the FIFO: a regression fails there first,
        // before it could replace the machine's /dev/null).
        let n = download_to(
            two_chunks(),
            Path::new("/dev/null"),
            Some(9),
            &ProgressBar::hidden(),
            None,
            false,
        )
        .await
        .expect("downloads into /dev/null");
        assert_eq!(n, 9);
        let kind = std::fs::metadata("/dev/null").expect("exists").file_type();
        assert!(kind.is_char_device(), "/dev/null is still a device");
    }

    /// A download that replaces a file keeps that file's mode, narrow or
    /// wide, rather than making it 0644.
    #[tokio::test]
    async fn a_replaced_file_keeps_its_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        for mode in [0o600, 0o664] {
            let dest = dir.path().join(format!("f{mode:o}"));
            std::fs::write(&dest, b"old").expect("writes");
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).expect("chmod");
            download_to(
                two_chunks(),
                &dest,
                Some(9),
                &ProgressBar::hidden(),
                None,
                false,
            )
            .await
            .expect("downloads");
            let now = std::fs::metadata(&dest)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(now & 0o777, mode, "{}", dest.display());
        }
    }

    #[tokio::test]
    async fn no_overwrite_never_replaces_a_file_that_appears_meanwhile() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("out.bin");
        // Someone else creates the file while the body is streaming.
        let theirs = dest.clone();
        let body = futures::stream::iter(vec![
            Ok::<_, anyhow::Error>(Bytes::from_static(b"mine ")),
            Ok(Bytes::from_static(b"too")),
        ])
        .inspect(move |_| {
            if !theirs.exists() {
                std::fs::write(&theirs, b"theirs").expect("writes");
            }
        });
        let err = download_to(body, &dest, Some(8), &ProgressBar::hidden(), None, true)
            .await
            .expect_err("the name is taken");
        assert!(
            err.to_string().contains("was created during the download")
                && err.to_string().contains("out.bin"),
            "{err}"
        );
        assert_eq!(std::fs::read(&dest).expect("theirs"), b"theirs");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["out.bin"], "no temporary file is left");

        // A free name: written, as without the flag; a dangling link at
        // the name counts as taken (and is not written through).
        let free = dir.path().join("free.bin");
        let body = futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"ok"))]);
        let n = download_to(body, &free, Some(2), &ProgressBar::hidden(), None, true)
            .await
            .expect("downloads");
        assert_eq!(n, 2);
        assert_eq!(std::fs::read(&free).expect("written"), b"ok");
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).expect("symlink");
        let body = futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"no"))]);
        download_to(body, &link, Some(2), &ProgressBar::hidden(), None, true)
            .await
            .expect_err("the link's name is taken");
        assert!(!dir.path().join("nowhere").exists());
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("still a link")
                .is_symlink()
        );
    }
}
