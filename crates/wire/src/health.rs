//! `GET /health`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The body of `GET /health` (not in an envelope; 503 when the database is
/// down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `UP` when the database answers and takes writes, `DOWN` otherwise.
    pub status: String,
    /// `CONNECTED`, `DISCONNECTED`, or `READ_ONLY` when it answers but
    /// refuses every change.
    pub database: String,
    /// `CONNECTED`, `DISCONNECTED` or `DISABLED`.
    pub docker: String,
    /// Why a dependency is down; left out when none is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The server version.
    pub version: String,
    /// The server's current time.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}
