//! A JSON extractor whose rejections speak the API's error envelope.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `axum::Json`, but a bad body answers 400/413/415 in the envelope,
/// with a message naming the problem; and the body must be a JSON object.
///
/// (serde lets a struct be written as an array of its fields in order, so
/// `["alice"]` would sign up alice and `["web", "nginx"]` launch an
/// instance: every body of the API is an object with named fields, and a
/// positional one is a client's mistake, refused before serde reads it.)
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Whether the request says its body is JSON: `application/json` or
/// `application/<something>+json`, parameters allowed (as `axum::Json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(unsupported_media_type());
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object with named fields, such as {\"name\": \"…\"}, not an array",
            ));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Json(value))
    }
}

/// The body of an action that has no options (`POST /instances/{id}/stop`,
/// `start`, `reboot`, and `DELETE /instances/{id}`): none, or an empty JSON
/// object. Anything else is 400
/// naming what was sent: a client that asks for an option there is not
/// (`{"force":true}`) must learn that it was not done, not get the plain
/// action silently. Read whatever the `Content-Type` says (`curl -d`
/// sends a form type), since no body is the usual shape.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

/// A request body read whole, whatever its type; a body over the limit is
/// 413 in the API's envelope, as [`Json`]'s.
#[derive(Debug)]
pub(crate) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| ApiError::from(JsonRejection::from(e)))
    }
}

/// Checks that `body` is empty (or blank) or `{}`, for `action`.
///
/// # Errors
/// 400 naming the unknown field, or what else the body is.
pub(crate) fn no_options(action: &str, body: &[u8]) -> Result<(), ApiError> {
    let refuse = |detail: String| {
        ApiError::bad_request(format!(
            "{action} takes no options: send no body (or {{}}); {detail}"
        ))
    };
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Ok(()),
        Some(b'{') => {}
        Some(_) => return Err(refuse("the body is not a JSON object".to_owned())),
    }
    serde_json::from_slice::<NoOptions>(body)
        .map(|_| ())
        .map_err(|e| refuse(e.to_string()))
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        "expected a JSON body: send `Content-Type: application/json`",
    )
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => unsupported_media_type(),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad_request(format!("malformed JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => {
                ApiError::bad_request(format!("invalid request body: {}", e.body_text()))
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "TOO_LARGE",
                    format!(
                        "request body is larger than {} bytes",
                        crate::MAX_JSON_BODY_BYTES
                    ),
                )
            }
            other => ApiError::bad_request(format!(
                "could not read request body: {}",
                other.body_text()
            )),
        }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// A success answer: serialises as `{"data": …}`.
#[derive(Debug)]
pub struct Data<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Data<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(miniaws_wire::Envelope { data: self.0 }).into_response()
    }
}

/// [`Data`] serialised into a buffer of `capacity_bytes` from the start: a
/// listing page of 1,000 objects is about 300 KB, and growing a buffer to
/// that from axum's 128 bytes copies it a dozen times.
pub struct SizedData<T> {
    /// The answer.
    pub data: T,
    /// The expected size of its JSON.
    pub capacity_bytes: usize,
}

impl<T: serde::Serialize> axum::response::IntoResponse for SizedData<T> {
    fn into_response(self) -> axum::response::Response {
        let mut buf = Vec::with_capacity(self.capacity_bytes);
        match serde_json::to_writer(&mut buf, &miniaws_wire::Envelope { data: self.data }) {
            Ok(()) => (
                [(
                    CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                buf,
            )
                .into_response(),
            // What `axum::Json` answers when a value cannot be serialised.
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
}
