//! A query-string extractor whose rejections speak the API's error
//! envelope in the API's words.
//!
//! axum's own `Query` refuses a query that does not decode into what an
//! endpoint takes with "Failed to deserialize query string: …"; every
//! native endpoint that takes parameters reads them through this one, so
//! the refusal is the same everywhere: 400 `INVALID_INPUT`, "invalid query
//! string: limit: invalid digit found in string".

use axum::extract::FromRequestParts;
use axum::extract::rejection::QueryRejection;

use crate::error::ApiError;

/// Like `axum::extract::Query`, but a query that does not decode answers
/// 400 `INVALID_INPUT` in the envelope, naming the parameter and why.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let why = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        ApiError::bad_request(format!("invalid query string: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Params {
        limit: Option<u32>,
    }

    async fn extract(uri: &str) -> Result<Query<Params>, ApiError> {
        let (mut parts, ()) = Request::builder().uri(uri).body(()).unwrap().into_parts();
        Query::<Params>::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn a_query_that_does_not_decode_is_named_in_our_words() {
        let err = extract("/x?limit=ten").await.unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(err.kind, "INVALID_INPUT");
        assert_eq!(
            err.message,
            "invalid query string: limit: invalid digit found in string"
        );
        assert_eq!(extract("/x?limit=7").await.unwrap().0.limit, Some(7));
    }
}
