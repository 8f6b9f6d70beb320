//! Write statements with `RETURNING`, read to the end.
//!
//! sqlx's `fetch_optional` and `fetch_one` stop reading at the first row.
//! For a write that is its own transaction that loses the commit's outcome:
//! - SQLite commits an autocommit statement when it runs to completion;
//!   stopped at its first row, the statement is finished by sqlx's reset,
//!   whose result sqlx ignores. A commit that fails there (a full disk, an
//!   I/O error) is silent, and the row that came back describes a write
//!   that never happened (found by filling a small tmpfs: a PUT answered
//!   200 whose object did not exist; `server/tests/disk_full.rs`).
//! - Postgres commits the implicit transaction at `Sync`, after the rows
//!   were sent; a failure there is only seen by reading on to
//!   `ReadyForQuery`.
//!
//! So every write with `RETURNING` is read with `fetch_all` (which reads to
//! the end on both backends) and its row taken with [`first`]. Inside an
//! explicit transaction the early stop is harmless (the commit is its own
//! statement), but the same call keeps one rule for every write.

/// The first (for these statements: the only) row of a write's `RETURNING`.
pub(crate) fn first<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}
