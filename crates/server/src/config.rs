//! The one typed configuration of `miniaws`, from flags and environment.

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The embedded SQLite database's file in the data directory, used when no
/// `DATABASE_URL` is given.
pub const EMBEDDED_DATABASE_FILE: &str = "miniaws.db";

/// The most any `…-secs` setting takes: 2147483647 s, about 68 years,
/// Docker's own bound on a stop timeout (an i32). Larger values overflowed
/// the clock arithmetic they feed (an `Instant` plus the interval, now minus
/// the expiry, the grace plus a call's timeout) and panicked the server.
pub const MAX_SECS: u64 = i32::MAX as u64;

/// Mini AWS: compute instances, S3-compatible storage and API keys on one machine.
#[derive(Debug, Parser)]
#[command(name = "miniaws", version, long_about = None)]
pub struct Config {
    /// Address of the native JSON API.
    #[arg(global = true, long, env = "MINIAWS_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Port of the native API on 127.0.0.1, when --listen is not given.
    #[arg(global = true, long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address of the AWS-compatible (S3) endpoint.
    #[arg(
        global = true,
        long,
        env = "MINIAWS_AWS_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:4566"
    )]
    pub aws_listen: SocketAddr,

    /// Directory for the SQLite database (when no URL is set) and object bytes.
    #[arg(
        global = true,
        long,
        env = "MINIAWS_DATA_DIR",
        default_value = "./miniaws-data"
    )]
    pub data_dir: PathBuf,

    /// File holding the key that seals the S3 secret access keys in the
    /// database (32 random bytes, made with mode 0600 at the first start).
    /// Unset: sigv4-secrets.key in the data directory. Back it up apart
    /// from the database: without it, the stored S3 credentials no longer
    /// work (API keys still do).
    #[arg(
        global = true,
        long,
        env = "MINIAWS_SECRETS_KEY_FILE",
        value_name = "PATH"
    )]
    pub secrets_key_file: Option<PathBuf>,

    /// Database URL: postgres://user:pass@host:port/db, or sqlite:path.
    /// Unset: a SQLite file in the data directory.
    // `hide_env_values`: `--help` would print the URL, password included.
    #[arg(
        global = true,
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<DatabaseUrl>,

    /// Largest object accepted by a single upload, in bytes or with a unit
    /// (`5GiB`, `100MiB`, `64KiB`, `1GB`); larger uploads get 413.
    #[arg(global = true, long, env = "MINIAWS_MAX_OBJECT_SIZE", default_value = "5GiB", value_parser = parse_byte_size, value_name = "SIZE")]
    pub max_object_size: u64,

    /// Free space kept on the data directory's disk, in bytes or with a
    /// unit: an upload that would leave less is refused with 507 before its
    /// body is read, so that a disk filled by uploads still has room to
    /// record deletes. 0 turns the check off.
    #[arg(global = true, long, env = "MINIAWS_MIN_FREE_SPACE", default_value = "64MiB", value_parser = parse_free_space, value_name = "SIZE")]
    pub min_free_space: u64,

    /// Multipart uploads not completed or aborted within this many seconds
    /// are removed with their parts (S3's abandoned uploads).
    #[arg(
        global = true,
        long,
        env = "MINIAWS_MULTIPART_EXPIRY_SECS",
        default_value_t = 7 * 24 * 3600,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SECS),
        value_name = "SECS"
    )]
    pub multipart_expiry_secs: u64,

    /// How often the lifecycle sweep enforces the buckets' lifecycle rules
    /// (S3 Expiration and AbortIncompleteMultipartUpload), in seconds; the
    /// first sweep runs at start-up.
    #[arg(
        global = true,
        long,
        env = "MINIAWS_LIFECYCLE_INTERVAL_SECS",
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SECS),
        value_name = "SECS"
    )]
    pub lifecycle_interval_secs: u64,

    /// A request body that sends nothing for this many seconds is abandoned
    /// (the upload is discarded, as if the client had disconnected).
    #[arg(
        global = true,
        long,
        env = "MINIAWS_BODY_IDLE_TIMEOUT_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SECS),
        value_name = "SECS"
    )]
    pub body_idle_timeout_secs: u64,

    /// How long a client may take to send a request's headers, from its
    /// first byte (or, on a kept-alive connection, from the end of the
    /// previous request); a connection that takes longer is closed, so
    /// stalled or idle clients cannot hold connections forever.
    #[arg(
        global = true,
        long,
        env = "MINIAWS_HEADER_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SECS),
        value_name = "SECS"
    )]
    pub header_timeout_secs: u64,

    /// Maximum database connections in the pool (at least 1).
    // `range(1..)`: a pool of 0 connections panics inside sqlx at start-up.
    #[arg(
        global = true,
        long,
        env = "MINIAWS_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub db_max_connections: u32,

    /// Host names the native API answers to beside the loopback ones
    /// (comma-separated), when it listens on a loopback address: a request
    /// naming another Host is refused, so that a web page cannot reach the
    /// API through a name of its own pointed at 127.0.0.1 (DNS rebinding).
    #[arg(
        global = true,
        long,
        env = "MINIAWS_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOSTS"
    )]
    pub allowed_hosts: Vec<String>,

    /// Let anyone create a user with POST /auth/keys (no key needed).
    #[arg(global = true, long, env = "MINIAWS_OPEN_SIGNUP", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub open_signup: bool,

    /// Docker daemon address (unix:///var/run/docker.sock, tcp://host:port).
    /// Unset: the local socket.
    #[arg(global = true, long, env = "DOCKER_HOST", value_name = "URL")]
    pub docker_host: Option<String>,

    /// Host address that instances' published ports bind to. Keep the
    /// default to expose instances to this machine only.
    #[arg(
        global = true,
        long,
        env = "MINIAWS_PUBLISH_HOST",
        default_value = "127.0.0.1",
        value_name = "IP"
    )]
    pub publish_host: std::net::IpAddr,

    /// Seconds `stop` (and `reboot`) wait after SIGTERM before SIGKILL.
    #[arg(
        global = true,
        long,
        env = "MINIAWS_STOP_GRACE_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(..=MAX_SECS),
        value_name = "SECS"
    )]
    pub stop_grace_secs: u64,

    /// Most processes (threads included) one instance's container may run
    /// at once (Docker's pids limit), set at launch and at every start.
    #[arg(global = true, long, env = "MINIAWS_INSTANCE_PIDS_LIMIT", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(8..=4_194_304), value_name = "N")]
    pub instance_pids_limit: u32,

    /// Seconds between full resyncs of instance state with Docker (events
    /// are followed in between).
    #[arg(global = true, long, env = "MINIAWS_RESYNC_INTERVAL_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS), value_name = "SECS")]
    pub resync_interval_secs: u64,

    /// Log format.
    #[arg(global = true, long, env = "MINIAWS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `miniaws_api=debug`).
    #[arg(global = true, long, env = "MINIAWS_LOG", default_value = "info")]
    pub log_level: String,

    /// Run pending migrations and exit.
    #[arg(long, global = true)]
    pub migrate_only: bool,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the APIs (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        /// Which migration action to take.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage users from the server's side, whatever `--open-signup` says.
    Users {
        /// Which user action to take.
        #[command(subcommand)]
        action: UsersAction,
    },
}

/// `miniaws users …`: the operator's way to add users, also when sign-up
/// is closed (`--open-signup=false`). It works on the database directly,
/// so it needs the same `--data-dir` / `--database-url` as the server, and
/// may run while the server does.
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Create a user and its first API key (with its S3 credentials), as
    /// `POST /auth/keys` without a key does, and print them.
    Create {
        /// The user's name (1-63 characters: letters, digits, `-`, `_`, `.`).
        name: String,
        /// Print the new key as the JSON `POST /auth/keys` answers (its
        /// `data` object), for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// `miniaws migrate …`.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the newest migrations.
    Down {
        /// How many to revert.
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// A database URL whose `Debug` hides the password.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The full URL, password included: only for the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("postgres://")
            || s.starts_with("postgresql://")
            || s.starts_with("sqlite:")
        {
            Ok(Self(s.to_owned()))
        } else {
            Err("expected postgres://user:pass@host:port/db or sqlite:path".into())
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&miniaws_db::redact_url(&self.0))
    }
}

/// Parses `1234`, `64KiB`, `100MiB`, `5GiB`, `1TiB` (or KB/MB/GB/TB, powers
/// of 1000) into bytes.
pub fn parse_byte_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size: use e.g. 5GiB, 100MiB or 1048576"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit `{other}`: use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    n.checked_mul(multiplier)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("`{s}` is not a usable size (zero or too large)"))
}

/// A free-space reserve: a size as [`parse_byte_size`] takes it, or `0`
/// (no reserve).
pub fn parse_free_space(s: &str) -> Result<u64, String> {
    if s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic()) == "0" {
        return Ok(0);
    }
    parse_byte_size(s)
}

impl Config {
    /// The native API address: --listen, else 127.0.0.1:$PORT.
    pub fn native_addr(&self) -> SocketAddr {
        self.listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], self.port)))
    }

    /// The secrets key file to use: the configured one, else
    /// `sigv4-secrets.key` in the data directory.
    pub fn effective_secrets_key_file(&self) -> PathBuf {
        self.secrets_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(crate::secrets_key::DEFAULT_FILE_NAME))
    }

    /// The database URL to use: the configured one, else SQLite in the data dir.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join(EMBEDDED_DATABASE_FILE).display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn help_never_shows_the_database_url() {
        let command = Config::command();
        let url = command
            .get_arguments()
            .find(|a| a.get_id() == "database_url")
            .expect("the argument");
        assert!(url.is_hide_env_values_set(), "its password would show");
    }

    #[test]
    fn defaults_match_design() {
        // The defaults are only observable when the environment sets nothing.
        let vars = [
            "PORT",
            "DATABASE_URL",
            "MINIAWS_LISTEN",
            "MINIAWS_AWS_LISTEN",
            "MINIAWS_DATA_DIR",
            "MINIAWS_OPEN_SIGNUP",
            "MINIAWS_SECRETS_KEY_FILE",
        ];
        let overridden = vars
            .iter()
            .filter(|v| std::env::var_os(v).is_some())
            .collect::<Vec<_>>();
        if !overridden.is_empty() {
            eprintln!("SKIPPED: the environment overrides defaults: {overridden:?}");
            return;
        }
        let c = Config::try_parse_from(["miniaws"]).unwrap();
        assert_eq!(c.native_addr().to_string(), "127.0.0.1:8080");
        assert_eq!(c.aws_listen.to_string(), "127.0.0.1:4566");
        assert!(c.open_signup);
        assert_eq!(c.publish_host.to_string(), "127.0.0.1");
        assert_eq!(c.stop_grace_secs, 10);
        assert_eq!(c.instance_pids_limit, 4096);
        assert!(
            c.effective_database_url()
                .ends_with("miniaws-data/miniaws.db")
        );
        assert_eq!(
            c.effective_secrets_key_file(),
            PathBuf::from("./miniaws-data/sigv4-secrets.key")
        );
        let c = Config::try_parse_from(["miniaws", "--secrets-key-file", "/etc/k"]).unwrap();
        assert_eq!(c.effective_secrets_key_file(), PathBuf::from("/etc/k"));
    }

    #[test]
    fn object_sizes_parse_with_units() {
        assert_eq!(parse_byte_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_byte_size("5GiB"), Ok(5 << 30));
        assert_eq!(parse_byte_size("100 MiB"), Ok(100 << 20));
        assert_eq!(parse_byte_size("1GB"), Ok(1_000_000_000));
        assert!(parse_byte_size("0").is_err());
        assert!(parse_byte_size("ten").is_err());
        assert!(parse_byte_size("5PB").is_err());
        let c = Config::try_parse_from(["miniaws"]).unwrap();
        assert_eq!(c.max_object_size, 5 << 30);
    }

    #[test]
    fn the_free_space_reserve_takes_zero_and_units() {
        assert_eq!(parse_free_space("0"), Ok(0));
        assert_eq!(parse_free_space("0MiB"), Ok(0));
        assert_eq!(parse_free_space("256MiB"), Ok(256 << 20));
        assert!(parse_free_space("-1").is_err());
        assert!(parse_free_space("lots").is_err());
        let c = Config::try_parse_from(["miniaws"]).unwrap();
        assert_eq!(c.min_free_space, 64 << 20);
        let c = Config::try_parse_from(["miniaws", "--min-free-space", "0"]).unwrap();
        assert_eq!(c.min_free_space, 0);
    }

    #[test]
    fn options_go_before_or_after_the_subcommand() {
        let c = Config::try_parse_from(["miniaws", "serve", "--port", "9000"]).unwrap();
        assert!(matches!(c.command, Some(Command::Serve)));
        assert_eq!(c.native_addr().to_string(), "127.0.0.1:9000");
        let c = Config::try_parse_from([
            "miniaws",
            "migrate",
            "down",
            "--steps",
            "2",
            "--data-dir",
            "/tmp/elsewhere",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Migrate {
                action: MigrateAction::Down { steps: 2 }
            })
        ));
        assert_eq!(c.data_dir, PathBuf::from("/tmp/elsewhere"));
        let c = Config::try_parse_from(["miniaws", "--data-dir", "/tmp/before", "migrate", "up"])
            .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/tmp/before"));
    }

    #[test]
    fn help_describes_the_program_not_the_crate() {
        let help = Config::command().render_help().to_string();
        assert!(help.starts_with("Mini AWS: compute instances"), "{help}");
    }

    #[test]
    fn open_signup_can_be_turned_off() {
        let c = Config::try_parse_from(["miniaws", "--open-signup=false"]).unwrap();
        assert!(!c.open_signup);
    }

    #[test]
    fn database_url_debug_is_redacted() {
        let url: DatabaseUrl = "postgres://cloud:hunter2@localhost:5433/miniaws"
            .parse()
            .unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
