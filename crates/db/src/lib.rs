//! Database adapters of Mini AWS: the repository ports of `miniaws-core`
//! implemented on PostgreSQL and on embedded SQLite with `sqlx`.
//!
//! [`Database`] opens either backend from a URL, runs the embedded
//! migrations (`migrations/postgres`, `migrations/sqlite`: the same numbered,
//! reversible list) and hands out the repositories as trait objects, so the
//! server never names a backend type.

mod complete;
mod conditional_delete;
mod connect;
mod error;
mod hot;
mod identity_row;
mod instance_row;
mod migrate;
mod postgres;
mod serving;
mod sqlite;
mod storage_rows;
mod user_names;

pub use connect::{Backend, Database, DbError, PoolSettings, redact_url};
pub use hot::{HotConnections, Lease};
pub use identity_row::IdentityBeforeMigrating;
pub use migrate::{MigrationState, MigrationStatus};
pub use serving::{ServingLock, lock_file};
pub use user_names::CaseDuplicateUser;
