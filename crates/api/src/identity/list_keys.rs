//! `GET /auth/keys[?limit=N&next_token=T]`: one page of the caller's keys,
//! oldest first, never their secrets; in the shape of `GET /instances`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use miniaws_core::identity::{ApiKeyId, KeyPosition, MAX_LIST_API_KEYS};
use miniaws_wire::ApiKeyPage;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListKeysQuery {
    /// Page size, 1 to 1,000 (default 1,000).
    pub limit: Option<u32>,
    /// `next_token` of the previous page.
    pub next_token: Option<String>,
}

/// Tokens are opaque to clients: a version tag and the hex of the last
/// key's place, `<created_at as Unix nanoseconds>/<id>`. The place is kept
/// whole rather than looked up by id, so that a key revoked between two
/// pages does not lose the rest of the list. A token is only a position:
/// the owner is always the caller, so one made up, or taken from another
/// user's page, lists the caller's own keys after that place and nobody
/// else's.
const TOKEN_TAG: &str = "k1.";

fn encode_token(after: &KeyPosition) -> String {
    let place = format!(
        "{}/{}",
        after.created_at.unix_timestamp_nanos(),
        after.id.as_uuid()
    );
    format!("{TOKEN_TAG}{}", hex::encode(place))
}

fn decode_token(token: &str) -> Result<KeyPosition, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "next_token `{token}` is not valid: pass the next_token of a previous page of GET /auth/keys"
        ))
    };
    let hex_part = token.strip_prefix(TOKEN_TAG).ok_or_else(invalid)?;
    let place =
        String::from_utf8(hex::decode(hex_part).map_err(|_| invalid())?).map_err(|_| invalid())?;
    let (nanos, id) = place.split_once('/').ok_or_else(invalid)?;
    let nanos: i128 = nanos.parse().map_err(|_| invalid())?;
    let created_at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| invalid())?;
    let id = Uuid::try_parse(id).map_err(|_| invalid())?;
    Ok(KeyPosition {
        created_at,
        id: ApiKeyId::from_uuid(id),
    })
}

pub(crate) async fn list_keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
    query: Result<Query<ListKeysQuery>, QueryRejection>,
) -> Result<Json<ApiKeyPage>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let after = query.next_token.as_deref().map(decode_token).transpose()?;
    let limit = query.limit.unwrap_or(MAX_LIST_API_KEYS);
    let page = state.identity.list_keys(caller, limit, after).await?;
    Ok(Json(ApiKeyPage {
        data: page.keys.into_iter().map(views::api_key).collect(),
        next_token: page.next.as_ref().map(encode_token),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let place = KeyPosition {
            created_at: datetime!(2026-11-29 09:45:52.123456 UTC),
            id: ApiKeyId::from_uuid(Uuid::new_v4()),
        };
        assert_eq!(decode_token(&encode_token(&place)).unwrap(), place);
        let hexed = |s: &str| format!("{TOKEN_TAG}{}", hex::encode(s));
        for bad in [
            "".to_owned(),
            "k1.".to_owned(),
            "k1.zz".to_owned(),
            "b1.616263".to_owned(),
            hexed("123"),
            hexed("abc/00000000-0000-0000-0000-000000000000"),
            hexed("1/not-a-uuid"),
            hexed("99999999999999999999999999999999/00000000-0000-0000-0000-000000000000"),
        ] {
            assert!(decode_token(&bad).is_err(), "{bad:?}");
        }
    }
}
