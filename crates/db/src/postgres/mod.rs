//! Repositories on PostgreSQL: native `UUID` and `TIMESTAMPTZ` columns.

mod identity;

pub(crate) use identity::PgIdentityRepo;
