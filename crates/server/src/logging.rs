//! Log set-up: tracing to stderr, pretty or JSON.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The most verbose level s3s may log at.
const S3S_CAP: &str = "s3s=info";

/// Installs the global subscriber. Logs go to stderr so that stdout carries
/// only the banner and command output.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter)
        .unwrap_or_else(|e| {
            eprintln!("miniaws: invalid --log-level `{filter}` ({e}); using `info`");
            EnvFilter::new("info")
        })
        // s3s logs whole requests (headers: Authorization, presigned query
        // strings) at debug level; it never goes below info, whatever the
        // filter says.
        .add_directive(S3S_CAP.parse().expect("a valid directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.compact().init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
