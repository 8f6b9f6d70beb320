//! A path-parameter extractor whose rejections speak the API's error
//! envelope.
//!
//! axum's own `Path` answers a parameter it cannot decode (`/instances/%FF`:
//! not UTF-8 once percent-decoded) with a plain-text 400; every other
//! refusal of the native API is `{"error": {...}}` JSON, and clients parse
//! it as such.

use axum::extract::FromRequestParts;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;

use crate::error::ApiError;

/// Like `axum::extract::Path`, but a bad parameter answers 400
/// `INVALID_INPUT` in the envelope, naming the parameter.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => ApiError::bad_request(format!(
                    "the path parameter `{key}` is not valid UTF-8 once percent-decoded"
                )),
                _ => ApiError::bad_request(format!("invalid path: {}", e.body_text())),
            },
            other => ApiError::bad_request(format!("invalid path: {}", other.body_text())),
        }
    }
}
