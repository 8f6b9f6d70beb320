//! Repositories on PostgreSQL: native `UUID` and `TIMESTAMPTZ` columns.

mod identity;
mod instance;
mod multipart;
mod storage;
mod versions;

pub(crate) use identity::PgIdentityRepo;
pub(crate) use instance::PgInstanceRepo;
pub(crate) use multipart::PgMultipartRepo;
pub(crate) use storage::PgStorageRepo;
