//! The start-up banner and other command output.
//!
//! This is the program's user interface, not logging: it goes to stdout,
//! while logs go through `tracing` to stderr. Tests read the listen
//! addresses from the banner (the `native API` line).

use std::io::Write;

/// Writes one line to stdout; a closed stdout is not worth failing over.
pub fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// What the banner reports.
pub struct Banner<'a> {
    pub native: std::net::SocketAddr,
    pub aws: Option<std::net::SocketAddr>,
    pub database: String,
    pub data_dir: &'a std::path::Path,
    pub docker: String,
    pub open_signup: bool,
}

/// Prints the start-up banner.
pub fn print(b: &Banner<'_>) {
    let mut text = format!(
        "miniaws {version}\n  native API  http://{native}\n",
        version = env!("CARGO_PKG_VERSION"),
        native = b.native
    );
    if let Some(aws) = b.aws {
        text.push_str(&format!("  AWS         http://{aws}  (S3, EC2, STS)\n"));
    }
    text.push_str(&format!(
        "  database    {}\n  data dir    {}\n  docker      {}\n",
        b.database,
        b.data_dir.display(),
        b.docker
    ));
    if b.open_signup {
        text.push_str(&format!(
            "  first key   cloud --endpoint http://{} auth create-demo <name>\n",
            b.native
        ));
    } else {
        text.push_str("  sign-up     closed (--open-signup=false)\n");
    }
    line(text.trim_end());
}
