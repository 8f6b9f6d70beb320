//! `POST /auth/keys`: sign up (no key) or create another key (with a key).

use axum::extract::State;
use axum::http::StatusCode;
use miniaws_wire::{CreateKeyRequest, CreatedKey};

use crate::auth::MaybeAuth;
use crate::error::ApiError;
use crate::json::{Data, Json};
use crate::state::AppState;
use crate::views;

pub(crate) async fn create_key(
    State(state): State<AppState>,
    MaybeAuth(caller): MaybeAuth,
    Json(body): Json<CreateKeyRequest>,
) -> Result<(StatusCode, Data<CreatedKey>), ApiError> {
    let created = match caller {
        Some(caller) => state.identity.create_key(caller, &body.name).await?,
        None => state.identity.sign_up(&body.name).await?,
    };
    Ok((StatusCode::CREATED, Data(views::created_key(created))))
}
