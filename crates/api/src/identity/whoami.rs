//! `GET /auth/whoami`: the caller's user and the key in use.

use axum::extract::State;
use miniaws_wire::WhoAmI;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;
use crate::views;

pub(crate) async fn whoami(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Data<WhoAmI>, ApiError> {
    let user = state.identity.whoami(caller).await?;
    Ok(Data(WhoAmI {
        user: views::user(user),
        key_id: caller.key_id.as_uuid(),
    }))
}
