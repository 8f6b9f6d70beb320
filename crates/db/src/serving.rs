//! One server per database.
//!
//! Two servers on one database (two data directories given the same
//! `DATABASE_URL`) would each settle the other's work as the debris of a
//! crash: a launch in flight on one is "finished" by the other's resync
//! with a second container, a stop in flight carried out twice, and each
//! reads rows whose object bytes sit in the other's data directory. The
//! data directory's own lock (the server's `data_dir::lock`) cannot see
//! this: the two directories differ. So `miniaws serve` holds the database
//! itself for as long as it runs, and a second server (or a `migrate up` /
//! `migrate down` under a running server) stops before it touches
//! anything, naming the holder.
//!
//! - Postgres: a session-level advisory lock, held by a connection of its
//!   own (outside the pool, whose connections come and go). Postgres drops
//!   it when that connection ends, however the process ends. Were the
//!   connection lost (Postgres restarted, the network cut), it is taken
//!   again as soon as the database answers.
//! - SQLite: an advisory `flock` on a file beside the database
//!   (`<file>-serve.lock`), which the kernel drops when the process ends.
//!   Not on the database file itself: closing a second descriptor on it
//!   would drop the process's POSIX locks, which SQLite's own locking is.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::connect::{Database, DbError, redact_url};

/// The advisory lock's two keys ("mini", "aws!"): positive, so that they
/// read back the same from `pg_locks` (whose key columns are unsigned).
const PG_KEYS: (i32, i32) = (0x6d69_6e69, 0x6177_7321);

/// How often the Postgres connection that holds the lock is checked (and,
/// when lost, taken again).
const KEEP_EVERY: Duration = Duration::from_secs(5);

/// The longest a check of that connection may take before it counts as
/// lost (a connection cut without a word would hang a ping for ever).
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The database held for this process, released when dropped (or when the
/// process ends, however it ends).
#[derive(Debug)]
pub struct ServingLock {
    _held: Held,
}

#[derive(Debug)]
enum Held {
    /// The task that keeps the holding connection (and takes the lock
    /// again after a loss); aborting it drops the connection.
    Postgres(tokio::task::JoinHandle<()>),
    /// The locked file, kept open: closing it releases the lock.
    Sqlite { _file: std::fs::File },
    /// An in-memory SQLite database: no other process can open it.
    Nothing,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::Postgres(task) = self {
            task.abort();
        }
    }
}

/// Who holds the database, for the messages: the process and its host.
fn this_process() -> String {
    let pid = std::process::id();
    match std::fs::read_to_string("/proc/sys/kernel/hostname") {
        Ok(host) if !host.trim().is_empty() => format!("miniaws pid {pid} on {}", host.trim()),
        _ => format!("miniaws pid {pid}"),
    }
}

impl Database {
    /// Holds this database for the server of this process (see the module
    /// documentation); `url` is the URL it was opened with, for messages
    /// (redacted here).
    ///
    /// # Errors
    /// [`DbError::InUse`] when another process holds it, naming that one
    /// as well as the database can tell; [`DbError::Query`] or an I/O
    /// error's [`DbError::Lock`] when the lock cannot be taken.
    pub async fn hold_for_serving(&self, url: &str) -> Result<ServingLock, DbError> {
        let held = match self {
            Database::Postgres(pool, _) => {
                let options = pool
                    .connect_options()
                    .as_ref()
                    .clone()
                    .application_name(&this_process());
                match take_postgres(&options).await? {
                    Ok(conn) => Held::Postgres(tokio::spawn(keep_postgres(options, conn))),
                    Err(holder) => {
                        return Err(DbError::InUse {
                            url: redact_url(url),
                            holder,
                        });
                    }
                }
            }
            Database::Sqlite(pool, _) => {
                let file = pool.connect_options().get_filename().to_owned();
                if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
                    Held::Nothing
                } else {
                    Held::Sqlite {
                        _file: lock_sqlite(&file, url)?,
                    }
                }
            }
        };
        Ok(ServingLock { _held: held })
    }
}

/// Connects with `options` and takes the advisory lock: the holding
/// connection, or (as the inner `Err`) who holds the lock instead.
async fn take_postgres(
    options: &PgConnectOptions,
) -> Result<Result<PgConnection, String>, sqlx::Error> {
    let mut conn = PgConnection::connect_with(options).await?;
    let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(PG_KEYS.0)
        .bind(PG_KEYS.1)
        .fetch_one(&mut conn)
        .await?;
    if taken {
        return Ok(Ok(conn));
    }
    let holder = postgres_holder(&mut conn).await;
    let _ = conn.close().await;
    Ok(Err(holder))
}

/// Who holds the advisory lock, as `pg_stat_activity` tells it: the
/// holder's `application_name` (which names its process and host) and
/// since when. Postgres shows another role's sessions only in part.
async fn postgres_holder(conn: &mut PgConnection) -> String {
    let row = sqlx::query(
        "SELECT a.application_name, a.pid, to_char(a.backend_start AT TIME ZONE 'UTC', \
                'YYYY-MM-DD HH24:MI:SS') || ' UTC' AS since \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid::int8 = $1 AND l.objid::int8 = $2 AND l.objsubid = 2",
    )
    .bind(i64::from(PG_KEYS.0))
    .bind(i64::from(PG_KEYS.1))
    .fetch_optional(conn)
    .await;
    match row {
        Ok(Some(row)) => {
            let name: Option<String> = row.try_get("application_name").ok();
            let backend: Option<i32> = row.try_get("pid").ok();
            let since: Option<String> = row.try_get("since").ok();
            let who = match name.filter(|n| !n.is_empty()) {
                Some(name) => name,
                None => "another process".to_owned(),
            };
            match (backend, since) {
                (Some(pid), Some(since)) => {
                    format!("{who} (Postgres backend pid {pid}, connected since {since})")
                }
                _ => who,
            }
        }
        // Released in between, or not visible to this role.
        Ok(None) | Err(_) => "another process".to_owned(),
    }
}

/// Keeps `conn`, the connection holding the lock, and takes the lock again
/// on a new one when it is lost, until aborted.
async fn keep_postgres(options: PgConnectOptions, conn: PgConnection) {
    let mut conn = Some(conn);
    // What was last said about a loss, so that a long outage is said once.
    let mut said: Option<String> = None;
    loop {
        tokio::time::sleep(KEEP_EVERY).await;
        if let Some(c) = conn.as_mut() {
            if matches!(
                tokio::time::timeout(PING_TIMEOUT, c.ping()).await,
                Ok(Ok(()))
            ) {
                continue;
            }
            conn = None;
            tracing::warn!(
                "lost the database connection that holds the database for this server: \
                 taking the hold again when the database answers"
            );
        }
        match take_postgres(&options).await {
            Ok(Ok(c)) => {
                conn = Some(c);
                said = None;
                tracing::info!("the database is held for this server again");
            }
            Ok(Err(holder)) => {
                let now = format!(
                    "while this server was cut off from the database, {holder} took it: \
                     two servers now share one database; stop one of them"
                );
                if said.as_deref() != Some(&now) {
                    tracing::error!("{now}");
                    said = Some(now);
                }
            }
            // Still unreachable: the next round tries again.
            Err(e) => tracing::debug!(error = %e, "cannot take the database hold yet"),
        }
    }
}

/// The lock file of the SQLite database `file`.
fn sqlite_lock_file(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push("-serve.lock");
    PathBuf::from(name)
}

/// Takes the `flock` beside the SQLite database `file`.
fn lock_sqlite(file: &Path, url: &str) -> Result<std::fs::File, DbError> {
    let path = sqlite_lock_file(file);
    match lock_file(&path) {
        Ok(Ok(lock)) => Ok(lock),
        Ok(Err(holder)) => Err(DbError::InUse {
            url: redact_url(url),
            holder,
        }),
        Err(source) => Err(DbError::Lock { path, source }),
    }
}

/// Takes an advisory `flock` on `path` (made 0600 if missing) for this
/// process, and writes who this process is into it (`miniaws pid N on
/// HOST`), for another process's message. The lock lasts as long as the
/// returned file is open, or the process runs.
///
/// Returns, as the inner `Err`, who holds it instead (what the holder
/// wrote, or "another process").
///
/// # Errors
/// When the file cannot be opened, locked or written.
pub fn lock_file(path: &Path) -> std::io::Result<Result<std::fs::File, String>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(path).unwrap_or_default();
            let holder = holder.trim();
            return Ok(Err(if holder.is_empty() {
                "another process".to_owned()
            } else {
                holder.to_owned()
            }));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    lock.set_len(0)?;
    writeln!(lock, "{}", this_process())?;
    Ok(Ok(lock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_database() {
        assert_eq!(
            sqlite_lock_file(Path::new("/data/miniaws.db")),
            PathBuf::from("/data/miniaws.db-serve.lock")
        );
    }

    #[tokio::test]
    async fn a_second_hold_on_one_sqlite_file_names_the_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let settings = crate::PoolSettings::default();
        let first = Database::connect(&url, &settings).await.expect("opens");
        let held = first.hold_for_serving(&url).await.expect("first hold");
        let second = Database::connect(&url, &settings).await.expect("opens");
        match second.hold_for_serving(&url).await {
            Err(DbError::InUse { holder, .. }) => assert!(
                holder.contains(&format!("miniaws pid {}", std::process::id())),
                "{holder}"
            ),
            other => panic!("a second hold must be refused: {other:?}"),
        }
        drop(held);
        // A process another test of this binary spawns at that moment
        // (connect.rs's `mount`) shares the lock file's open description
        // between its fork and its exec, which closes it: the lock is
        // free again within moments, not necessarily at once.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match second.hold_for_serving(&url).await {
                Ok(_) => break,
                Err(DbError::InUse { .. }) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("taken once the first is released: {e:?}"),
            }
        }
    }
}
