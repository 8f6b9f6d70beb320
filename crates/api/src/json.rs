//! A JSON extractor whose rejections speak the API's error envelope.

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;

use crate::error::ApiError;

/// Like `axum::Json`, but a bad body answers 400/413/415 in the envelope,
/// with a message naming the problem.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "expected a JSON body: send `Content-Type: application/json`",
            ),
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
