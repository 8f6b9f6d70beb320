//! `GET /auth/whoami`: the caller's user and the key in use.

use axum::extract::State;
use miniaws_core::identity::{ApiKeyId, User};
use serde::Serialize;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;

/// Who the caller is.
#[derive(Debug, Serialize)]
pub struct WhoAmI {
    /// The user.
    pub user: User,
    /// The key that authenticated this request.
    pub key_id: ApiKeyId,
}

pub(crate) async fn whoami(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Data<WhoAmI>, ApiError> {
    let user = state.identity.whoami(caller).await?;
    Ok(Data(WhoAmI {
        user,
        key_id: caller.key_id,
    }))
}
