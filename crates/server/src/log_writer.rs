//! The log's writer: lines are appended to a buffer where they happen and
//! written to stderr in batches by a thread of its own.
//!
//! Why not write where they happen (`tracing_subscriber`'s default): a
//! stderr that stops reading (a pipe whose reader stalled, a terminal
//! paused with Ctrl-S) blocks the `write(2)`, and with it the runtime
//! thread that logged; once every runtime thread was blocked so, every
//! request hung (`tests/log_writer.rs`).
//!
//! Why not `tracing-appender`'s non-blocking writer, which solves that: its
//! thread waits on a channel and is woken for every line, and on this kind
//! of machine the wake-up costs more than the write it saves (4 KiB GET at
//! concurrency 1: about 60 µs more server CPU per request, p50 0.36 →
//! 0.41 ms; BENCHMARKS.md, session 9). Here the thread is woken only when
//! the buffer goes from empty to not empty, then waits [`BATCH_DELAY`] for
//! more lines and writes them all at once: under load one wake-up and one
//! `write(2)` serve dozens of requests.
//!
//! Nothing is dropped: when [`MAX_PENDING_BYTES`] are waiting (stderr has
//! stopped reading for that long), a thread that logs waits for room.
//! Dropping the [`LogGuard`] writes out what is left; a process killed
//! with SIGKILL can lose the last [`BATCH_DELAY`] of lines.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread gathers lines before it writes them.
const BATCH_DELAY: Duration = Duration::from_millis(5);

/// How many bytes may wait for stderr before logging waits for room.
const MAX_PENDING_BYTES: usize = 32 << 20;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when the buffer gets its first bytes, or on close.
    lines: Condvar,
    /// Signalled when the writer thread has taken the buffer.
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Plain bytes: a panic elsewhere cannot leave them inconsistent.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` for `tracing_subscriber`: every handle appends to the
/// shared buffer.
#[derive(Clone)]
pub struct BatchWriter(Arc<Shared>);

/// Keeps the writer thread; dropping it writes out the buffer and ends the
/// thread.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer of batches to `out`, with the guard of its thread.
///
/// # Errors
/// When the thread cannot be started.
pub fn batched(out: impl Write + Send + 'static) -> std::io::Result<(BatchWriter, LogGuard)> {
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("miniaws-log".into())
            .spawn(move || write_batches(&shared, out))?
    };
    Ok((
        BatchWriter(shared.clone()),
        LogGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

/// The writer thread: waits for lines, gathers for [`BATCH_DELAY`], writes.
fn write_batches(shared: &Shared, mut out: impl Write) {
    loop {
        let closed = {
            let mut pending = shared.lock();
            while pending.bytes.is_empty() && !pending.closed {
                pending = shared
                    .lines
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.closed
        };
        if !closed {
            std::thread::sleep(BATCH_DELAY);
        }
        let batch = std::mem::take(&mut shared.lock().bytes);
        shared.room.notify_all();
        // A log that cannot be written has nowhere to report it.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        if closed && shared.lock().bytes.is_empty() {
            return;
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.0.lock();
        while pending.bytes.len() >= MAX_PENDING_BYTES && !pending.closed {
            pending = self
                .0
                .room
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let first = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(buf);
        drop(pending);
        if first {
            self.0.lines.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.lines.notify_one();
        self.shared.room.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `out` whose bytes the test can read, counting the writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut c = self.0.lock().unwrap();
            c.0.extend_from_slice(buf);
            c.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_in_few_writes_and_all_on_drop() {
        let out = Captured::default();
        let (writer, guard) = batched(out.clone()).unwrap();
        let mut w = writer.make_writer();
        for i in 0..1000 {
            w.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(guard);
        let (bytes, writes) = out.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected, "every line, in order, once");
        assert!(writes < 100, "batched: {writes} writes for 1,000 lines");
    }

    #[test]
    fn a_line_reaches_the_output_soon_without_a_drop() {
        let out = Captured::default();
        let (writer, _guard) = batched(out.clone()).unwrap();
        writer.make_writer().write_all(b"soon\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while out.0.lock().unwrap().0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(out.0.lock().unwrap().0, b"soon\n");
    }
}
