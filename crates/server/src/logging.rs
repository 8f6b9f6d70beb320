//! Log set-up: tracing to stderr, pretty or JSON.

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

/// Installs the global subscriber. Logs go to stderr so that stdout carries
/// only the banner and command output.
pub fn init(format: LogFormat, filter: &str) {
    let filter = with_s3s_directive(filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.compact().init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
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
