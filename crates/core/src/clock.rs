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

/// Where services that act on age read the time (a port: the server uses
/// [`SystemClock`], unit tests a clock they move by hand).
pub trait Clock: Send + Sync {
    /// The current time in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, through [`now_utc`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        now_utc()
    }
}
