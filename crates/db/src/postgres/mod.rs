//! Repositories on PostgreSQL: native `UUID` and `TIMESTAMPTZ` columns.

mod identity;
mod storage;

pub(crate) use identity::PgIdentityRepo;
pub(crate) use storage::PgStorageRepo;
