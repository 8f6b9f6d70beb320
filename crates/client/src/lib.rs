//! A typed client of the Mini AWS native API.
//!
//! The `cloud` CLI and the integration tests use it; nothing else builds
//! native API requests by hand. Responses are unwrapped from the `{"data": …}`
//! envelope and failures come back as [`ClientError::Api`] with the server's
//! status, `type` and message.

mod error;
mod identity;
mod types;

pub use error::ClientError;
pub use types::*;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A connection to one Mini AWS server, optionally with an API key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    api_key: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Client {
    /// A client of the server at `endpoint` (e.g. `http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// [`ClientError::Setup`] when the HTTP client cannot be built.
    pub fn new(endpoint: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            api_key: None,
        })
    }

    /// The same client, authenticating with `api_key`.
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The server's base URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A request to `path` (starting with `/`), with the key if one is set.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.endpoint, path));
        if let Some(key) = &self.api_key {
            req = req.header("x-api-key", key);
        }
        req
    }

    /// Sends `req` and returns the response if its status is a success.
    ///
    /// # Errors
    /// [`ClientError::Connect`] when the server cannot be reached,
    /// [`ClientError::Api`] for an error answer.
    pub async fn send(&self, req: RequestBuilder) -> Result<Response, ClientError> {
        let res = req.send().await.map_err(|e| self.transport_error(e))?;
        if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
            Ok(res)
        } else {
            Err(ClientError::from_response(res).await)
        }
    }

    /// Sends `req` and decodes the `data` of a JSON envelope.
    ///
    /// # Errors
    /// As [`Client::send`], plus [`ClientError::Decode`] for an unexpected body.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<T, ClientError> {
        #[derive(serde::Deserialize)]
        struct Envelope<T> {
            data: T,
        }
        let res = self.send(req).await?;
        let bytes = res.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice::<Envelope<T>>(&bytes)
            .map(|e| e.data)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub(crate) fn transport_error(&self, e: reqwest::Error) -> ClientError {
        if e.is_connect() {
            ClientError::Connect {
                endpoint: self.endpoint.clone(),
                message: e.to_string(),
            }
        } else {
            ClientError::Transport(e.to_string())
        }
    }

    /// `GET /health` (works without a key).
    ///
    /// # Errors
    /// [`ClientError::Connect`] when the server is down. A 503 (database
    /// down) is still returned as a [`Health`].
    pub async fn health(&self) -> Result<Health, ClientError> {
        let res = self
            .request(Method::GET, "/health")
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        res.json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))
    }
}
