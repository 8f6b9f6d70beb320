//! `GET /health`: is the server and what it depends on answering?

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use miniaws_core::health::ProbeStatus;
use miniaws_wire::Health;
use time::OffsetDateTime;

use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

fn word(status: &ProbeStatus) -> &'static str {
    match status {
        ProbeStatus::Up => "CONNECTED",
        ProbeStatus::Down(_) => "DISCONNECTED",
        ProbeStatus::ReadOnly(_) => "READ_ONLY",
        ProbeStatus::Disabled => "DISABLED",
    }
}

/// Checks the database and Docker concurrently. 503 when the database is
/// down (nothing works without it) or read-only (every change fails);
/// Docker down only degrades compute.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (db, docker) = tokio::join!(state.database_probe.check(), state.docker_probe.check());
    let mut problems = Vec::new();
    if let ProbeStatus::Down(why) | ProbeStatus::ReadOnly(why) = &db {
        problems.push(format!("database: {why}"));
    }
    if let ProbeStatus::Down(why) | ProbeStatus::ReadOnly(why) = &docker {
        problems.push(format!("docker: {why}"));
    }
    let db_up = db == ProbeStatus::Up;
    let status = if db_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if db_up { "UP" } else { "DOWN" }.to_owned(),
        database: word(&db).to_owned(),
        docker: word(&docker).to_owned(),
        problems,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        time: OffsetDateTime::now_utc(),
    };
    (status, Json(body))
}
