//! `GET /health`: is the server and what it depends on answering?

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use miniaws_core::health::ProbeStatus;
use serde::Serialize;
use time::OffsetDateTime;

use crate::state::AppState;

/// The body of `GET /health`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `UP` when the database answers, `DOWN` otherwise.
    pub status: &'static str,
    /// `CONNECTED` or `DISCONNECTED`.
    pub database: &'static str,
    /// `CONNECTED`, `DISCONNECTED` or `DISABLED`.
    pub docker: &'static str,
    /// Why a dependency is down, when one is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The server version.
    pub version: &'static str,
    /// The server's current time.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

fn word(status: &ProbeStatus) -> &'static str {
    match status {
        ProbeStatus::Up => "CONNECTED",
        ProbeStatus::Down(_) => "DISCONNECTED",
        ProbeStatus::Disabled => "DISABLED",
    }
}

/// Checks the database and Docker concurrently. 503 when the database is
/// down (nothing works without it); Docker down only degrades compute.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (db, docker) = tokio::join!(state.database_probe.check(), state.docker_probe.check());
    let mut problems = Vec::new();
    if let ProbeStatus::Down(why) = &db {
        problems.push(format!("database: {why}"));
    }
    if let ProbeStatus::Down(why) = &docker {
        problems.push(format!("docker: {why}"));
    }
    let db_up = db == ProbeStatus::Up;
    let status = if db_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if db_up { "UP" } else { "DOWN" },
        database: word(&db),
        docker: word(&docker),
        problems,
        version: env!("CARGO_PKG_VERSION"),
        time: OffsetDateTime::now_utc(),
    };
    (status, Json(body))
}
