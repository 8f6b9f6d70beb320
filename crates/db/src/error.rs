//! Translation of `sqlx` errors into the domain's error.

use miniaws_core::CoreError;
use miniaws_core::error::{ConflictKind, Dependency};

/// Maps a `sqlx` error to a [`CoreError`]: connection trouble, a database
/// that refuses writes, a SQLite file that cannot be opened or whose disk
/// fails, become `Unavailable(Database)` (with an unknown outcome when the
/// connection broke or the disk failed under a statement in flight), a
/// unique violation `Conflict(AlreadyExists)`
/// (callers that expect one replace the message with a precise one),
/// anything else `Internal`. Repositories use `fetch_optional` and build
/// their own `NotFound`, so a stray `RowNotFound` is a bug: `Internal`.
pub(crate) fn db_err(err: sqlx::Error) -> CoreError {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => unreachable_db(&err),
        // The connection broke while the statement was in flight: the
        // database may have committed it before its answer was lost.
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => {
            CoreError::unavailable_outcome_unknown(
                Dependency::Database,
                format!(
                    "the connection to the database broke ({err}); check that it is running. \
                     The request may or may not have taken effect"
                ),
            )
        }
        sqlx::Error::Database(ref db) if db.is_unique_violation() => {
            CoreError::conflict(ConflictKind::AlreadyExists, "the resource already exists")
        }
        sqlx::Error::Database(ref db)
            if is_connection_loss(db.code().as_deref()) || ends_the_session(&**db) =>
        {
            unreachable_db(&err)
        }
        sqlx::Error::Database(ref db) if is_read_only(&**db) => {
            tracing::warn!(error = %err, "the database refuses writes");
            CoreError::unavailable_saying(
                Dependency::Database,
                format!(
                    "the database is read-only ({err}); nothing was changed: make it writable \
                     again (a file system remounted read-only, a Postgres standby or \
                     default_transaction_read_only)"
                ),
                "the database is read-only: nothing was changed (reads still work; the \
                 server log has details)",
                false,
            )
        }
        sqlx::Error::Database(ref db) if sqlite_primary_code(&**db) == Some(SQLITE_CANTOPEN) => {
            tracing::warn!(error = %err, "the database file cannot be opened");
            CoreError::unavailable_saying(
                Dependency::Database,
                format!(
                    "the database file cannot be opened ({err}); nothing was changed: check \
                     that it exists and is readable, and that the server has file \
                     descriptors to spare"
                ),
                "the database's file cannot be opened: nothing was changed (the server log \
                 has details)",
                false,
            )
        }
        sqlx::Error::Database(ref db) if sqlite_primary_code(&**db) == Some(SQLITE_IOERR) => {
            tracing::warn!(error = %err, "the database's disk failed a read or a write");
            CoreError::unavailable_saying(
                Dependency::Database,
                format!(
                    "the database's disk failed a read or a write ({err}); check the disk. \
                     The request may or may not have taken effect"
                ),
                "the database's disk failed: the request may or may not have taken effect \
                 (the server log has details)",
                true,
            )
        }
        sqlx::Error::Database(ref db) if is_disk_full(db.code().as_deref()) => {
            tracing::warn!(error = %err, "the database's disk is full");
            CoreError::insufficient_storage(
                Dependency::Database,
                "the database's disk is full; nothing was changed: free space on the server",
            )
        }
        other => CoreError::internal("database query failed", other),
    }
}

fn unreachable_db(err: &sqlx::Error) -> CoreError {
    CoreError::unavailable(
        Dependency::Database,
        format!("the database is unreachable ({err}); check that it is running"),
    )
}

/// Whether the error is a unique-constraint violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Postgres SQLSTATE classes 08 (connection exception) and 57P (operator
/// intervention, e.g. the server shutting down) mean the database went away.
fn is_connection_loss(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
}

/// A Postgres FATAL or PANIC ends the session: the database refused or
/// dropped the connection (it does not accept connections to this database,
/// 55000; it has too many, 53300; the role or database is gone), so no
/// statement ran and none will until that changes. (Connection classes 08
/// and 57P are caught by their codes; these come with other codes.)
fn ends_the_session(db: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::postgres::{PgDatabaseError, PgSeverity};
    db.try_downcast_ref::<PgDatabaseError>()
        .is_some_and(|pg| matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic))
}

/// SQLite's `SQLITE_READONLY` and its extended codes (8 in the low byte:
/// a file or file system that cannot be written, a database moved or
/// removed under the server) and Postgres's `read_only_sql_transaction`
/// (25006: a standby, or `default_transaction_read_only`). Nothing was
/// written, and nothing will be until an operator changes that: the
/// database is unavailable for writes, not failing at random.
fn is_read_only(db: &dyn sqlx::error::DatabaseError) -> bool {
    match sqlite_primary_code(db) {
        Some(code) => code == SQLITE_READONLY,
        None => db.code().as_deref() == Some("25006"),
    }
}

/// SQLite's primary result codes this module tells apart.
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_CANTOPEN: i32 = 14;

/// A SQLite error's primary result code (the low byte of the extended one
/// sqlx reports), `None` for a Postgres error.
fn sqlite_primary_code(db: &dyn sqlx::error::DatabaseError) -> Option<i32> {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    db.code()?.parse::<i32>().ok().map(|c| c & 0xff)
}

/// SQLite's `SQLITE_FULL` (13) and Postgres's `disk_full` (53100): nothing
/// was written, and nothing will be until space is freed.
fn is_disk_full(code: Option<&str>) -> bool {
    matches!(code, Some("13" | "53100"))
}
