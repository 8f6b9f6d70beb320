//! Repositories on embedded SQLite.
//!
//! SQLite has no UUID or timestamp types: ids are stored as hyphenated
//! lowercase TEXT and times as RFC 3339 UTC TEXT with six fractional digits,
//! so that text order is time order.

mod identity;
mod instance;
mod multipart;
mod storage;
mod versions;

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
    if let Some(t) = parse_fmt_time(s) {
        return Ok(t);
    }
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The exact shape [`fmt_time`] writes, parsed by hand: listings decode a
/// time per row, and the general RFC 3339 parser costs several times more.
/// `None` for anything else (the general parser then decides).
fn parse_fmt_time(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 27
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[26] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms_micro(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
        num(20..26)?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc())
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
        // Column defaults write milliseconds; the general parser reads them.
        assert_eq!(
            parse_time("2026-01-02T03:04:05.123Z").unwrap(),
            time::macros::datetime!(2026-01-02 03:04:05.123 UTC)
        );
        for bad in [
            "2026-13-02T03:04:05.000007Z",
            "2026-01-02T03:04:05.00000xZ",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
