//! Client-side errors.

use reqwest::{Response, StatusCode};

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server is not reachable at all.
    #[error("cannot reach miniaws at {endpoint} — is `miniaws serve` running? ({message})")]
    Connect {
        /// The endpoint tried.
        endpoint: String,
        /// The transport error.
        message: String,
    },
    /// The server answered with an error.
    #[error("{message} ({status} {kind})")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The error `type` (e.g. `NOT_FOUND`).
        kind: String,
        /// The server's message.
        message: String,
        /// The `X-Request-Id` of the answer, which names the request in
        /// the server's log (`None` if the answer had none).
        request_id: Option<String>,
    },
    /// The server took the request and did not answer in time.
    #[error("miniaws at {endpoint} did not answer within {secs} s — is it stopped or overloaded?")]
    TimedOut {
        /// The endpoint asked.
        endpoint: String,
        /// The answer timeout, in seconds.
        secs: u64,
    },
    /// A launch went out, the connection broke before its answer, and the
    /// server did not answer again within the retry window: the instance
    /// may or may not exist. Sending the launch again with `key` tells.
    #[error(
        "the launch's answer was lost ({message}) and miniaws did not answer again within {secs} s; \
         it may or may not have launched: send it again with idempotency key {key}"
    )]
    LaunchUnconfirmed {
        /// The launch's idempotency key.
        key: String,
        /// The transport error that cut the first answer.
        message: String,
        /// How long the launch was retried, in seconds.
        secs: u64,
    },
    /// A name the request cannot carry (checked before anything is sent).
    #[error("{0}")]
    InvalidName(String),
    /// The connection failed mid-exchange.
    #[error("transport error: {0}")]
    Transport(String),
    /// The body was not what the API promises.
    #[error("unexpected response from the server: {0}")]
    Decode(String),
    /// Local IO (files being uploaded or downloaded).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The endpoint is not a usable URL.
    #[error("invalid endpoint {endpoint:?}: {reason} (expected a URL like http://127.0.0.1:8080)")]
    InvalidEndpoint {
        /// The endpoint given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client could not be constructed.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// The request id the server gave an answer (its `X-Request-Id`).
pub(crate) fn request_id_of(res: &Response) -> Option<String> {
    request_id_in(res.headers())
}

/// The `X-Request-Id` among an answer's `headers`.
pub(crate) fn request_id_in(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl ClientError {
    pub(crate) async fn from_response(res: Response) -> Self {
        let status = res.status();
        let request_id = request_id_of(&res);
        let text = res.text().await.unwrap_or_default();
        Self::from_answer(status, request_id, text.as_bytes(), |text| {
            if text.is_empty() {
                format!("HTTP {status}")
            } else {
                text.to_owned()
            }
        })
    }

    /// The error an answer with `status` and `body` stands for: the API's
    /// envelope when the body is one, else `message` of the body's text
    /// (a proxy's page, an empty body), with the status's reason as its kind.
    pub(crate) fn from_answer(
        status: reqwest::StatusCode,
        request_id: Option<String>,
        body: &[u8],
        message: impl FnOnce(&str) -> String,
    ) -> Self {
        match serde_json::from_slice::<miniaws_wire::ErrorEnvelope>(body) {
            Ok(b) => ClientError::Api {
                status,
                kind: b.error.kind,
                message: b.error.message,
                request_id,
            },
            Err(_) => ClientError::Api {
                status,
                kind: status.canonical_reason().unwrap_or("ERROR").to_uppercase(),
                message: message(&String::from_utf8_lossy(body)),
                request_id,
            },
        }
    }

    /// The `X-Request-Id` the server answered an API error with: the id
    /// its log names the request by.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ClientError::Api { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error `type` of an API error.
    pub fn kind(&self) -> Option<&str> {
        match self {
            ClientError::Api { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// The server's message of an API error.
    pub fn message(&self) -> Option<&str> {
        match self {
            ClientError::Api { message, .. } => Some(message),
            _ => None,
        }
    }
}
