//! Time helpers shared by the domain.

use time::OffsetDateTime;

/// The current time in UTC, truncated to microseconds.
///
/// Both databases store microsecond precision; truncating here means a value
/// read back compares equal to the value written.
pub fn now_utc() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    let micros = now.microsecond();
    now.replace_microsecond(micros)
        .expect("a microsecond read from a valid time is valid")
}
