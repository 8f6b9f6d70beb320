//! Log set-up: tracing to stderr, pretty or JSON, written in batches by a
//! thread of its own (see [`crate::log_writer`]).

use std::ffi::OsString;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::config::LogFormat;
use crate::log_writer::{LogGuard, batched};

/// The most verbose level s3s may log at, when the filter names it.
const S3S_CAP: &str = "s3s=info";

/// s3s's logs when the filter does not name it: none. s3s logs every error
/// answer at ERROR — a HEAD of a missing key, a client's malformed XML
/// (with the document's bytes) — and Mini AWS already logs each S3 error
/// answer once, with its code and message (client errors at INFO, server
/// errors at ERROR, see `miniaws_api::s3::wire`).
const S3S_DEFAULT: &str = "s3s=off";

/// The most verbose level bollard (the Docker client) may log at: at
/// debug it logs every request body to Docker (a launch's environment, an
/// exec's command and environment) and at trace the raw bytes, which carry
/// the secrets users pass to their instances.
const BOLLARD_CAP: &str = "bollard=info";

/// Postgres's notices, unless the filter names sqlx: warnings and up. At
/// info every start logged sqlx's migrator's "relation _sqlx_migrations
/// already exists, skipping", which says nothing.
const PG_NOTICES: &str = "sqlx::postgres::notice=warn";

/// Installs the global subscriber; keep the returned guard until the process
/// ends (dropping it writes out what is still waiting).
///
/// Logs go to stderr so that stdout carries only the banner and command
/// output. Colours only on a terminal (and not with `NO_COLOR` set): a log
/// redirected to a file or a collector gets plain text it can grep.
///
/// Lines are formatted where they happen and written to stderr in batches
/// by a thread of its own ([`crate::log_writer`]): a runtime thread never
/// blocks on a pipe or terminal that stopped reading. Should that thread
/// not start, lines are written where they happen, as before.
pub fn init(format: LogFormat, filter: &str) -> Option<LogGuard> {
    let filter = with_library_caps(filter);
    let (writer, guard) = match batched(std::io::stderr()) {
        Ok((writer, guard)) => (BoxMakeWriter::new(writer), Some(guard)),
        Err(e) => {
            eprintln!("miniaws: cannot start the log thread ({e}); writing the log directly");
            (BoxMakeWriter::new(std::io::stderr), None)
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(writer);
    match format {
        LogFormat::Pretty => builder.compact().fmt_fields(escaped_fields()).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}

/// The text log's field formatter: tracing-subscriber's own layout
/// (`name=value`, the message bare) with every control character of a value
/// escaped. Values carry what clients sent (an unknown JSON field's name, an
/// id, a key, in error messages); a raw newline in one would start a line
/// of the client's making, which a reader of the log (or a tool) would take
/// for the server's. tracing-subscriber escapes only terminal sequences, and
/// only in the message; the JSON format escapes everything already.
fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let raw = format!("{value:?}");
        let text = escape_controls(&raw);
        match field.name() {
            "message" => write!(writer, "{text}"),
            name => write!(writer, "{}={text}", name.trim_start_matches("r#")),
        }
    })
    .delimited(" ")
}

/// `text` with each control character (C0, DEL, C1) written as an escape:
/// `\n`, `\r`, `\t`, else `\u{…}`.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.into()
}

/// Whether to colour the log: on a terminal, unless `NO_COLOR` is set to
/// anything non-empty (<https://no-color.org>).
fn colours(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// `filter` (or `info` when it does not parse) with s3s's directive: off
/// unless `filter` names s3s, and never below info — s3s logs whole
/// requests (headers: Authorization, presigned query strings) at debug.
fn with_library_caps(filter: &str) -> EnvFilter {
    let (parsed, named) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, filter.contains("s3s")),
        Err(e) => {
            eprintln!("miniaws: invalid --log-level `{filter}` ({e}); using `info`");
            (EnvFilter::new("info"), false)
        }
    };
    let directive = if named { S3S_CAP } else { S3S_DEFAULT };
    let filter_names_sqlx = filter.contains("sqlx");
    let parsed = parsed
        .add_directive(directive.parse().expect("a valid directive"))
        .add_directive(BOLLARD_CAP.parse().expect("a valid directive"));
    if filter_names_sqlx {
        parsed
    } else {
        parsed.add_directive(PG_NOTICES.parse().expect("a valid directive"))
    }
}

#[cfg(test)]
mod tests {
    use super::colours;

    #[test]
    fn control_characters_of_values_are_escaped() {
        use super::escape_controls;
        assert_eq!(escape_controls("plain é"), "plain é");
        assert_eq!(
            escape_controls("a\n2026-11-30T00:00:00Z ERROR forged\r\0\x1b[31m\u{85}"),
            "a\\n2026-11-30T00:00:00Z ERROR forged\\r\\u{0}\\u{1b}[31m\\u{85}"
        );
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some("".into())));
        assert!(!colours(true, Some("1".into())));
        assert!(!colours(false, None));
    }
}
