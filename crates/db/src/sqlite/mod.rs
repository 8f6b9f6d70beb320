//! Repositories on embedded SQLite.
//!
//! SQLite has no UUID or timestamp types: ids are stored as hyphenated
//! lowercase TEXT and times as RFC 3339 UTC TEXT with six fractional digits,
//! so that text order is time order.

mod identity;
mod instance;
mod multipart;
mod storage;

pub(crate) use identity::SqliteIdentityRepo;
pub(crate) use instance::SqliteInstanceRepo;
pub(crate) use multipart::SqliteMultipartRepo;
pub(crate) use storage::SqliteStorageRepo;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Formats a time for a TEXT column: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Parses a time written by [`fmt_time`] or by a column default.
pub(crate) fn parse_time(s: &str) -> Result<OffsetDateTime, sqlx::Error> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Parses an optional time column.
pub(crate) fn parse_opt_time(s: Option<String>) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    s.as_deref().map(parse_time).transpose()
}

/// Parses a UUID stored as TEXT.
pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a = time::macros::datetime!(2026-01-02 03:04:05.000007 UTC);
        let b = time::macros::datetime!(2026-01-02 03:04:05.1 UTC);
        assert_eq!(fmt_time(a), "2026-01-02T03:04:05.000007Z");
        assert_eq!(parse_time(&fmt_time(a)).unwrap(), a);
        assert!(fmt_time(a) < fmt_time(b));
    }
}
