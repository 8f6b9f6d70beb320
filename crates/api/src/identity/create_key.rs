//! `POST /auth/keys`: sign up (no key) or create another key (with a key).

use axum::extract::State;
use axum::http::StatusCode;
use miniaws_core::identity::CreatedKey;
use serde::Deserialize;

use crate::auth::MaybeAuth;
use crate::error::ApiError;
use crate::json::{Data, Json};
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// User name (sign-up) or key label (additional key).
    pub name: String,
}

pub(crate) async fn create_key(
    State(state): State<AppState>,
    MaybeAuth(caller): MaybeAuth,
    Json(body): Json<CreateKeyRequest>,
) -> Result<(StatusCode, Data<CreatedKey>), ApiError> {
    let created = match caller {
        Some(caller) => state.identity.create_key(caller, &body.name).await?,
        None => state.identity.sign_up(&body.name).await?,
    };
    Ok((StatusCode::CREATED, Data(created)))
}
