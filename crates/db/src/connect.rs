//! Opening a database from a URL, and the repositories it hands out.

use async_trait::async_trait;
use miniaws_core::compute::InstanceRepo;
use miniaws_core::health::{HealthProbe, ProbeStatus};
use miniaws_core::identity::IdentityRepo;
use miniaws_core::multipart::MultipartRepo;
use miniaws_core::storage::StorageRepo;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Postgres, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::hot::HotConnections;
use crate::{postgres, sqlite};

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL over the network.
    Postgres,
    /// Embedded SQLite in a local file.
    Sqlite,
}

/// How long a pooled Postgres connection may sit idle before it is
/// pinged on acquire (or on a lease from the hot statements' cache).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Maximum open connections.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// Server-side limit on one statement (Postgres), busy timeout (SQLite).
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// Failures while opening a database at start-up.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is neither `postgres://…` nor `sqlite:…`.
    #[error("unsupported database URL `{0}`: use postgres://user:pass@host:port/db or sqlite:path")]
    UnsupportedUrl(String),
    /// The URL does not parse.
    #[error("invalid database URL `{url}`: {source}")]
    InvalidUrl {
        /// The redacted URL.
        url: String,
        /// The parse error.
        source: sqlx::Error,
    },
    /// The database did not answer.
    #[error("cannot connect to {backend} at {url}: {source}{hint}")]
    Connect {
        /// "postgres" or "sqlite".
        backend: &'static str,
        /// The redacted URL.
        url: String,
        /// What the driver said.
        source: sqlx::Error,
        /// What to do about it.
        hint: &'static str,
    },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query needed by a database-level operation failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// Another server holds the database (see [`Database::hold_for_serving`]).
    #[error(
        "the database {url} is in use by another Mini AWS server ({holder}): stop it first; \
         a second server needs a database of its own (two servers on one database would each \
         take the other's work in flight for a crash's debris)"
    )]
    InUse {
        /// The redacted URL.
        url: String,
        /// Who holds it, as well as the database can tell.
        holder: String,
    },
    /// The lock file beside a SQLite database cannot be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Replaces the passwords in a database URL with `***`, for logs and
/// banners: the one in the user info (`user:pass@`) and those libpq takes
/// as query parameters (`?password=`, `?sslpassword=`).
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = redact_user_info(base);
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_query(query));
    }
    out
}

/// `base` (a URL without its query) with the password of its user info
/// replaced.
fn redact_user_info(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return base.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => base.to_owned(),
    }
}

/// `query` with the values of its password parameters replaced.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if name.eq_ignore_ascii_case("password")
                    || name.eq_ignore_ascii_case("sslpassword") =>
            {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Makes the SQLite database `file` and its WAL files readable by their
/// owner only (SQLite makes them with the umask's mode, usually 0644; the
/// WAL and shared-memory files take the database file's mode when SQLite
/// makes them). They hold instance environments and bucket policies; the
/// data directory around them may be shared.
fn owner_only(file: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.permissions().mode() & 0o077 != 0
            && let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        {
            tracing::warn!(file = %path.display(), error = %e, "cannot make the database file 0600");
        }
    }
}

/// An open connection pool on one of the two backends, with the cache of
/// checked-out connections its hot statements use (see [`HotConnections`]:
/// they skip the ping sqlx pays on every connection returned to the pool).
#[derive(Clone, Debug)]
pub enum Database {
    /// A PostgreSQL pool.
    Postgres(PgPool, Arc<HotConnections<Postgres>>),
    /// A SQLite pool.
    Sqlite(SqlitePool, Arc<HotConnections<Sqlite>>),
}

/// The most idle connections the hot statements' cache keeps: half the
/// pool (rounded down: none for a pool of one), so that the statements on
/// the pool always have the other half.
fn hot_cap(settings: &PoolSettings) -> usize {
    usize::try_from(settings.max_connections / 2).unwrap_or(usize::MAX)
}

/// What to do when Postgres refused the connection with `err`: a server
/// that answered needs the URL's credentials or database name fixed, not
/// starting.
fn postgres_connect_hint(err: &sqlx::Error) -> &'static str {
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .unwrap_or_default();
    match code.as_ref() {
        // invalid_password, invalid_authorization_specification
        "28P01" | "28000" => {
            " — Postgres refused the user name or password: check them in DATABASE_URL \
             (and the server's pg_hba.conf)"
        }
        // invalid_catalog_name
        "3D000" => {
            " — the database does not exist on that server: create it (e.g. `createdb`), \
             or fix its name in DATABASE_URL"
        }
        _ => {
            " — start it (e.g. `pg_ctlcluster 15 miniaws start`, or run \
             ./scripts/provision), or unset DATABASE_URL to use embedded SQLite"
        }
    }
}

impl Database {
    /// The file of the SQLite database at `url`; `None` for another
    /// backend or a URL that does not parse (which
    /// [`connect`](Self::connect) reports). Opening a SQLite database
    /// creates its file; this lets a caller look before that.
    #[must_use]
    pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
        if !url.starts_with("sqlite:") {
            return None;
        }
        let options = SqliteConnectOptions::from_str(url).ok()?;
        Some(options.get_filename().to_owned())
    }

    /// Opens the database at `url` (`postgres://…` or `sqlite:…`), checking
    /// that it answers. It does not run migrations.
    ///
    /// # Errors
    /// [`DbError`] naming the redacted URL and what to do.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, DbError> {
        let redacted = redact_url(url);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|source| DbError::InvalidUrl {
                    url: redacted.clone(),
                    source,
                })?
                .options([(
                    "statement_timeout",
                    format!("{}", settings.statement_timeout.as_millis()),
                )])
                .log_statements(tracing::log::LevelFilter::Trace);
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                // Ping a pooled connection only when it has sat idle (it may
                // have died with the server meanwhile), not on every acquire:
                // a ping is a round trip in front of every query. A connection
                // that fails in use is dropped by sqlx.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_IF_IDLE_FOR {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await
                .map_err(|source| DbError::Connect {
                    backend: "postgres",
                    url: redacted,
                    hint: postgres_connect_hint(&source),
                    source,
                })?;
            let hot = HotConnections::new(pool.clone(), hot_cap(settings), Some(PING_IF_IDLE_FOR));
            Ok(Database::Postgres(pool, Arc::new(hot)))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|source| DbError::InvalidUrl {
                    url: redacted.clone(),
                    source,
                })?
                .create_if_missing(true)
                // WAL lets readers run beside the single writer; FULL makes a
                // commit durable before it returns, which the storage engine's
                // crash-safety promise relies on.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(settings.statement_timeout)
                .log_statements(tracing::log::LevelFilter::Trace);
            let file = options.get_filename().to_owned();
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                // An in-process connection cannot go stale; pinging it on
                // every acquire costs two thread switches per query.
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(|source| DbError::Connect {
                    backend: "sqlite",
                    url: redacted,
                    source,
                    hint: " — check that the data directory exists and is writable",
                })?;
            owner_only(&file);
            let hot = HotConnections::new(pool.clone(), hot_cap(settings), None);
            Ok(Database::Sqlite(pool, Arc::new(hot)))
        } else {
            Err(DbError::UnsupportedUrl(redacted))
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Postgres(..) => Backend::Postgres,
            Database::Sqlite(..) => Backend::Sqlite,
        }
    }

    /// The identity repository on this database.
    pub fn identity_repo(&self) -> Arc<dyn IdentityRepo> {
        match self {
            Database::Postgres(pool, _) => Arc::new(postgres::PgIdentityRepo::new(pool.clone())),
            Database::Sqlite(pool, _) => Arc::new(sqlite::SqliteIdentityRepo::new(pool.clone())),
        }
    }

    /// The storage (buckets and object metadata) repository on this database.
    pub fn storage_repo(&self) -> Arc<dyn StorageRepo> {
        match self {
            Database::Postgres(pool, hot) => {
                Arc::new(postgres::PgStorageRepo::new(pool.clone(), hot.clone()))
            }
            Database::Sqlite(pool, hot) => {
                Arc::new(sqlite::SqliteStorageRepo::new(pool.clone(), hot.clone()))
            }
        }
    }

    /// The instance repository on this database.
    pub fn instance_repo(&self) -> Arc<dyn InstanceRepo> {
        match self {
            Database::Postgres(pool, _) => Arc::new(postgres::PgInstanceRepo::new(pool.clone())),
            Database::Sqlite(pool, _) => Arc::new(sqlite::SqliteInstanceRepo::new(pool.clone())),
        }
    }

    /// The multipart-upload repository on this database.
    pub fn multipart_repo(&self) -> Arc<dyn MultipartRepo> {
        match self {
            Database::Postgres(pool, _) => Arc::new(postgres::PgMultipartRepo::new(pool.clone())),
            Database::Sqlite(pool, _) => Arc::new(sqlite::SqliteMultipartRepo::new(pool.clone())),
        }
    }

    /// A health probe that asks, with a short timeout, whether the
    /// database answers and would take a write.
    pub fn health_probe(&self) -> Arc<dyn HealthProbe> {
        Arc::new(DbProbe { db: self.clone() })
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        match self {
            Database::Postgres(pool, _) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Database::Sqlite(pool, _) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        }
    }

    /// Closes the pool, waiting for checked-out connections to come back.
    /// The hot statements' cache is emptied (and closed) first: sqlx's
    /// close waits for every checked-out connection, cached ones included.
    pub async fn close(&self) {
        match self {
            Database::Postgres(pool, hot) => {
                hot.close();
                pool.close().await;
            }
            Database::Sqlite(pool, hot) => {
                hot.close();
                pool.close().await;
            }
        }
    }
}

struct DbProbe {
    db: Database,
}

impl DbProbe {
    /// Asks the database whether it answers, and whether it would take a
    /// write: a database that answers reads but refuses every write (a
    /// Postgres standby or `default_transaction_read_only`, a SQLite file
    /// on a file system remounted read-only) fails every request that
    /// changes anything, so it is down too.
    async fn ask(&self) -> Result<Option<String>, sqlx::Error> {
        match &self.db {
            Database::Postgres(pool, _) => {
                let read_only: String =
                    sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
                        .fetch_one(pool)
                        .await?;
                Ok((read_only == "on").then(|| {
                    "the database is read-only (transaction_read_only is on: a standby, or \
                     default_transaction_read_only)"
                        .to_owned()
                }))
            }
            Database::Sqlite(pool, _) => {
                sqlx::query("SELECT 1").execute(pool).await?;
                let options = pool.connect_options();
                Ok(sqlite_file_unwritable(options.get_filename()))
            }
        }
    }
}

/// Why the SQLite file at `path` cannot be written, if it cannot: a file
/// system mounted read-only, an immutable file, missing permissions.
/// `access(2)` rather than opening the file: closing a second descriptor
/// on a SQLite database would drop the process's POSIX locks on it.
fn sqlite_file_unwritable(path: &std::path::Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c_path` is a valid NUL-terminated string for the call's
    // duration; access reads nothing else of ours.
    let result = unsafe { libc::access(c_path.as_ptr(), libc::W_OK) };
    if result == 0 {
        return None;
    }
    // Only the answers that mean "no write will succeed": a file that is
    // missing (an in-memory database's name) is SQLite's business.
    let why = std::io::Error::last_os_error();
    matches!(
        why.raw_os_error(),
        Some(libc::EROFS | libc::EACCES | libc::EPERM)
    )
    .then(|| {
        format!(
            "the database file {} cannot be written ({why}): every change would fail",
            path.display()
        )
    })
}

#[async_trait]
impl HealthProbe for DbProbe {
    async fn check(&self) -> ProbeStatus {
        match tokio::time::timeout(Duration::from_secs(2), self.ask()).await {
            Ok(Ok(None)) => ProbeStatus::Up,
            Ok(Ok(Some(read_only))) => ProbeStatus::ReadOnly(read_only),
            Ok(Err(e)) => ProbeStatus::Down(e.to_string()),
            Err(_) => ProbeStatus::Down("no answer within 2 s".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_url, sqlite_file_unwritable};

    /// A file on a file system mounted read-only (a tmpfs remounted so,
    /// when the test runs as root; a 0444 file otherwise, which root could
    /// write) is unwritable, with the reason; a writable one is not.
    #[test]
    fn a_sqlite_file_on_a_read_only_file_system_is_unwritable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("db.sqlite");
        std::fs::write(&file, b"").expect("file");
        assert_eq!(sqlite_file_unwritable(&file), None);
        // SAFETY: geteuid reads the process's credentials and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            let mount = |args: &[&str]| {
                let ok = std::process::Command::new("mount")
                    .args(args)
                    .arg(dir.path())
                    .status()
                    .expect("mount runs")
                    .success();
                assert!(ok, "mount {args:?}");
            };
            mount(&["-t", "tmpfs", "-o", "size=1m", "tmpfs"]);
            std::fs::write(&file, b"").expect("file on the tmpfs");
            mount(&["-o", "remount,ro"]);
            let why = sqlite_file_unwritable(&file);
            std::process::Command::new("umount")
                .arg(dir.path())
                .status()
                .expect("umount runs");
            let why = why.expect("a read-only file system is unwritable");
            assert!(why.contains("Read-only file system"), "{why}");
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).expect("chmod");
            let why = sqlite_file_unwritable(&file).expect("a 0444 file is unwritable");
            assert!(why.contains("db.sqlite"), "{why}");
        }
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://cloud:cloud@localhost:5433/miniaws"),
            "postgres://cloud:***@localhost:5433/miniaws"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite:./x.db"), "sqlite:./x.db");
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=disable&password=s3cret&PASSWORD=x"),
            "postgres://u@h/db?sslmode=disable&password=***&PASSWORD=***"
        );
        assert_eq!(
            redact_url("postgres://u:p@h/db?sslpassword=k&application_name=a@b"),
            "postgres://u:***@h/db?sslpassword=***&application_name=a@b"
        );
        assert_eq!(
            redact_url("sqlite:./x.db?mode=rwc"),
            "sqlite:./x.db?mode=rwc"
        );
    }
}
