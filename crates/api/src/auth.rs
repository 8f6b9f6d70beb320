//! Authentication of native API requests.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use miniaws_core::CoreError;
use miniaws_core::identity::Caller;

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying an API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The authenticated caller of a request. Extracting it fails with 401 when
/// the request carries no key, or an unknown or revoked one.
#[derive(Debug, Clone, Copy)]
pub struct Auth(pub Caller);

/// The caller if the request carries a key; `None` when it carries none.
/// A key that is present but invalid is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuth(pub Option<Caller>);

/// The API key presented by a request: `X-API-Key`, else `Authorization:
/// Bearer`. Two keys (the header twice, or both headers naming different
/// keys) are refused rather than one picked: which caller is meant is not
/// the server's guess.
fn presented_key(parts: &Parts) -> Result<Option<&str>, ApiError> {
    if parts
        .headers
        .get_all(API_KEY_HEADER)
        .iter()
        .nth(1)
        .is_some()
    {
        return Err(ApiError::bad_request(
            "the request carries the X-API-Key header more than once: send one key",
        ));
    }
    let api_key = api_key_header(parts)?;
    let bearer = bearer_token(parts);
    match (api_key, bearer) {
        (Some(key), Some(Ok(token))) if key != token => Err(ApiError::bad_request(
            "the request carries two different keys (X-API-Key and Authorization: Bearer): \
             send one",
        )),
        (Some(key), _) => Ok(Some(key)),
        (None, Some(token)) => token.map(Some),
        (None, None) => Ok(None),
    }
}

/// The key of the `X-API-Key` header, if there is one.
fn api_key_header(parts: &Parts) -> Result<Option<&str>, ApiError> {
    if let Some(value) = parts.headers.get(API_KEY_HEADER) {
        let key = value
            .to_str()
            .map(str::trim)
            .map_err(|_| unauthorized("the X-API-Key header is not valid text"))?;
        if key.is_empty() {
            return Err(unauthorized(
                "the X-API-Key header is empty: send `X-API-Key: <key>`",
            ));
        }
        return Ok(Some(key));
    }
    Ok(None)
}

/// The key of the `Authorization: Bearer` header, if there is one (an
/// error when the header is there but no bearer key).
fn bearer_token(parts: &Parts) -> Option<Result<&str, ApiError>> {
    let value = parts.headers.get(AUTHORIZATION)?;
    let Ok(value) = value.to_str().map(str::trim) else {
        return Some(Err(unauthorized(
            "the Authorization header is not valid text",
        )));
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Some(Err(unauthorized(
            "unsupported Authorization scheme: use `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        )));
    }
    let token = token.trim();
    if token.is_empty() {
        return Some(Err(unauthorized(
            "`Authorization: Bearer` carries no key: send `Authorization: Bearer <key>`",
        )));
    }
    Some(Ok(token))
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::from(CoreError::Unauthorized(message.to_owned()))
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let Some(key) = presented_key(parts)? else {
        return Ok(None);
    };
    let caller = state.identity.authenticate(key).await?;
    tracing::Span::current().record("owner", tracing::field::display(caller.user_id));
    Ok(Some(caller))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state).await?.map(Auth).ok_or_else(|| {
            unauthorized(
                "missing API key: send `X-API-Key: <key>` (get one with `cloud auth create-demo <name>` or POST /auth/keys)",
            )
        })
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state).await.map(MaybeAuth)
    }
}
