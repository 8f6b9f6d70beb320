//! `/auth/*`: sign-up, API keys and whoami.

mod create_key;
mod list_keys;
mod revoke_key;
mod whoami;

use axum::Router;
use axum::routing::{delete, get};

use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/auth/keys",
            get(list_keys::list_keys).post(create_key::create_key),
        )
        .route("/auth/keys/{id}", delete(revoke_key::revoke_key))
        .route("/auth/whoami", get(whoami::whoami))
}
