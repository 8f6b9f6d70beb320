//! Log set-up: tracing to stderr, pretty or JSON, written by a thread of
//! its own.

use std::ffi::OsString;
use std::io::{BufWriter, IsTerminal};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The most verbose level s3s may log at, when the filter names it.
const S3S_CAP: &str = "s3s=info";

/// s3s's logs when the filter does not name it: none. s3s logs every error
/// answer at ERROR — a HEAD of a missing key, a client's malformed XML
/// (with the document's bytes) — and Mini AWS already logs each S3 error
/// answer once, with its code and message (client errors at INFO, server
/// errors at ERROR, see `miniaws_api::s3::wire`).
const S3S_DEFAULT: &str = "s3s=off";

/// How many formatted lines may wait for the log thread before a request
/// that logs waits for it in turn (a reader of the log that stopped reading,
/// a terminal paused with Ctrl-S: the server goes on for this many lines).
const BUFFERED_LINES: usize = 128_000;

/// Installs the global subscriber; keep the returned guard until the process
/// ends (dropping it writes out what is still queued).
///
/// Logs go to stderr so that stdout carries only the banner and command
/// output. Colours only on a terminal (and not with `NO_COLOR` set): a log
/// redirected to a file or a collector gets plain text it can grep.
///
/// Lines are formatted where they happen and written by a thread of their
/// own (`tracing-appender`'s non-blocking writer), which writes whatever
/// has queued up in one `write(2)` and then flushes: a request no longer
/// waits for the write of its access line (about 20 µs on an appended ext4
/// file, a fifth of a small GET's CPU; see BENCHMARKS.md, session 9), nor
/// does a runtime thread block on a pipe or terminal that stopped reading.
/// Not lossy: when [`BUFFERED_LINES`] are waiting, the next line waits too,
/// rather than being dropped. A line reaches stderr shortly after its
/// request's answer rather than before it; a process killed with SIGKILL
/// can lose the last lines queued.
pub fn init(format: LogFormat, filter: &str) -> WorkerGuard {
    let filter = with_s3s_directive(filter);
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("miniaws-log")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(writer);
    match format {
        LogFormat::Pretty => builder.compact().init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}

/// Whether to colour the log: on a terminal, unless `NO_COLOR` is set to
/// anything non-empty (<https://no-color.org>).
fn colours(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// `filter` (or `info` when it does not parse) with s3s's directive: off
/// unless `filter` names s3s, and never below info — s3s logs whole
/// requests (headers: Authorization, presigned query strings) at debug.
fn with_s3s_directive(filter: &str) -> EnvFilter {
    let (parsed, named) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, filter.contains("s3s")),
        Err(e) => {
            eprintln!("miniaws: invalid --log-level `{filter}` ({e}); using `info`");
            (EnvFilter::new("info"), false)
        }
    };
    let directive = if named { S3S_CAP } else { S3S_DEFAULT };
    parsed.add_directive(directive.parse().expect("a valid directive"))
}

#[cfg(test)]
mod tests {
    use super::colours;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some("".into())));
        assert!(!colours(true, Some("1".into())));
        assert!(!colours(false, None));
    }
}
