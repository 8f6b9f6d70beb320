//! A typed client of the Mini AWS native API.
//!
//! The `cloud` CLI never builds native API requests by hand: it goes through
//! this client, as do the integration tests and the benchmarks, except where
//! the exact bytes on the wire or a request's bare latency are what they
//! check. Responses are unwrapped from the `{"data": …}` envelope and
//! failures come back as [`ClientError::Api`] with the server's status,
//! `type` and message. The bodies are the types of `miniaws-wire`,
//! the same ones the server serialises, re-exported here.

mod compute;
mod error;
mod identity;
mod storage;
mod tty;

pub use compute::{ExecUpdate, LogsOptions};
pub use error::ClientError;
/// The wire types, for what is not re-exported below.
pub use miniaws_wire as wire;
pub use miniaws_wire::{
    ApiKey, ApiKeyPage, BucketInfo, BucketPage, BucketVersioning, Command, CreatedKey, ExecCommand,
    ExecResult, Health, Instance, InstancePage, InstancePort, InstanceStats, InstanceType,
    LaunchInstance, ModifyInstance, ObjectInfo, ObjectPage, TagPatch, User, VersionInfo,
    VersionPage, WhoAmI,
};
pub use reqwest::header::HeaderMap;
pub use reqwest::{StatusCode, Url};
pub use storage::{Deleted, ListObjectsParams, ObjectDownload, encode_key};
pub use tty::{TtyReader, TtyRequest, TtyUpdate, TtyWriter};

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Receives one line per traced HTTP event (see [`Client::with_trace`]).
pub type TraceHook = Arc<dyn Fn(&str) + Send + Sync>;

/// How long a quick call (a read, a listing, a key or bucket change) waits
/// for its whole answer by default: a server that accepted the connection
/// and never answers (stopped, wedged) is reported, not waited for forever.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to one Mini AWS server, optionally with an API key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    api_key: Option<String>,
    trace: Option<TraceHook>,
    answer_timeout: Duration,
    /// How long a launch whose answer was lost is sent again.
    launch_retry_window: Duration,
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
    /// [`ClientError::InvalidEndpoint`] when `endpoint` is not an http(s)
    /// URL, [`ClientError::Setup`] when the HTTP client cannot be built.
    pub fn new(endpoint: &str) -> Result<Self, ClientError> {
        let invalid = |why: &str| ClientError::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason: why.to_owned(),
        };
        let url = reqwest::Url::parse(endpoint).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.host_str().is_none() {
            return Err(invalid("it has no host"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            api_key: None,
            trace: None,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
            launch_retry_window: compute::LAUNCH_RETRY_WINDOW,
        })
    }

    /// The same client, waiting at most `timeout` for the whole answer to
    /// a quick call ([`DEFAULT_ANSWER_TIMEOUT`] by default). Calls whose
    /// answer takes as long as their work (launch, stop, start, reboot,
    /// terminate, exec, uploads, downloads, logs) are not bounded by it:
    /// the server bounds them (see [`Client::request_unbounded`]).
    #[must_use]
    pub fn with_answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout;
        self
    }

    /// The same client, sending a launch whose answer was lost again for
    /// at most `window` (15 s by default, long enough for a supervisor to
    /// restart a crashed server; zero: never sent again).
    #[must_use]
    pub fn with_launch_retry_window(mut self, window: Duration) -> Self {
        self.launch_retry_window = window;
        self
    }

    /// The same client, reporting every HTTP exchange (request line and
    /// headers, response status, headers and time) to `hook`, one line per
    /// call. Secrets are redacted before `hook` sees them: the API key
    /// header shows only the key's public prefix, and `Authorization` not
    /// at all. Bodies are never traced (they may hold secrets or be large).
    pub fn with_trace(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.trace = Some(Arc::new(hook));
        self
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

    /// A request to `path` (starting with `/`), with the key if one is set,
    /// whose whole answer must come within the answer timeout (see
    /// [`Client::with_answer_timeout`]).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_unbounded(method, path)
            .timeout(self.answer_timeout)
    }

    /// [`Client::request`] without the answer timeout, for a call whose
    /// answer takes as long as its work: a launch (which may pull an
    /// image), a stop (the grace period), exec, an upload or a download,
    /// a followed log. The server bounds those.
    pub fn request_unbounded(&self, method: Method, path: &str) -> RequestBuilder {
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
        let res = self.execute(req).await?;
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
        let res = self.send(req).await?;
        let bytes = res.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice::<miniaws_wire::Envelope<T>>(&bytes)
            .map(|e| e.data)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Sends `req` and decodes a page of a list: the whole body,
    /// `{"data": […], "next_token": …}`.
    ///
    /// # Errors
    /// As [`Client::send`], plus [`ClientError::Decode`] for an unexpected body.
    pub(crate) async fn send_page<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<T, ClientError> {
        let res = self.send(req).await?;
        let bytes = res.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Sends `req` whatever the answer's status, tracing the exchange.
    ///
    /// # Errors
    /// [`ClientError::Connect`] when the server cannot be reached,
    /// [`ClientError::Transport`] when the exchange fails.
    pub async fn execute(&self, req: RequestBuilder) -> Result<Response, ClientError> {
        let (http, req) = req.build_split();
        let req = req.map_err(|e| ClientError::Setup(unbuildable(&e)))?;
        if let Some(trace) = &self.trace {
            trace(&format!("> {} {}", req.method(), req.url()));
            trace_headers(trace, "> ", req.headers());
        }
        let started = Instant::now();
        let result = http.execute(req).await;
        match (&self.trace, &result) {
            (Some(trace), Ok(res)) => {
                trace(&format!(
                    "< {:?} {} ({} ms)",
                    res.version(),
                    res.status(),
                    started.elapsed().as_millis()
                ));
                trace_headers(trace, "< ", res.headers());
            }
            (Some(trace), Err(e)) => trace(&format!("! {e}")),
            _ => {}
        }
        result.map_err(|e| self.transport_error(e))
    }

    pub(crate) fn transport_error(&self, e: reqwest::Error) -> ClientError {
        if e.is_timeout() && !e.is_connect() {
            ClientError::TimedOut {
                endpoint: self.endpoint.clone(),
                secs: self.answer_timeout.as_secs(),
            }
        } else if e.is_connect() {
            ClientError::Connect {
                endpoint: self.endpoint.clone(),
                message: e.to_string(),
            }
        } else if e.is_builder() {
            // Refused before a byte was sent (a URL past what HTTP
            // libraries take): no retry helps, and the URL may be huge.
            ClientError::Setup(unbuildable(&e))
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
        let res = self.execute(self.request(Method::GET, "/health")).await?;
        res.json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))
    }
}

/// Traces `headers`, redacting credentials.
fn trace_headers(trace: &TraceHook, prefix: &str, headers: &HeaderMap) {
    for (name, value) in headers {
        let value = value.to_str().unwrap_or("<binary>");
        let shown = match name.as_str() {
            "x-api-key" => redact_key(value),
            "authorization" | "cookie" | "set-cookie" => "<redacted>".to_owned(),
            _ => value.to_owned(),
        };
        trace(&format!("{prefix}{name}: {shown}"));
    }
}

/// The public prefix of an API key (what `GET /auth/keys` shows), never
/// enough to use it.
pub fn redact_key(key: &str) -> String {
    let prefix: String = key.chars().take(9).collect();
    if key.chars().count() > 9 {
        format!("{prefix}…")
    } else {
        "<redacted>".to_owned()
    }
}

/// What is wrong with a request reqwest refused to build, without the
/// request's URL (it can be long: a key of a million bytes).
fn unbuildable(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let detail = causes.join(": ");
    if detail.to_ascii_lowercase().contains("header") {
        format!(
            "cannot build the request: a header value holds a character HTTP cannot carry \
             (a control character or a line break?): check the content type, the API key, \
             the idempotency key and the metadata given ({detail})"
        )
    } else if e.url().is_some_and(|u| u.as_str().len() > 8192) || detail.is_empty() {
        "cannot build the request: its URL is too long or invalid (an object key is at most \
         1,024 bytes)"
            .to_owned()
    } else {
        format!("cannot build the request: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn endpoints_must_be_http_urls() {
        for (endpoint, ok) in [
            ("http://127.0.0.1:8080", true),
            ("https://cloud.example", true),
            ("127.0.0.1:8080", false),
            ("ftp://host", false),
            ("not a url", false),
        ] {
            assert_eq!(Client::new(endpoint).is_ok(), ok, "endpoint {endpoint}");
        }
    }

    /// A value HTTP cannot carry is refused before anything is sent, with
    /// a message that says what kind of value, not "builder error".
    #[tokio::test]
    async fn an_unsendable_header_value_is_named() {
        let client = Client::new("http://127.0.0.1:9")
            .expect("a valid endpoint")
            .with_api_key("mk_\u{1}bad");
        let err = client.whoami().await.expect_err("not sendable");
        assert!(matches!(err, ClientError::Setup(_)), "{err:?}");
        assert!(err.to_string().contains("header value"), "{err}");
    }

    #[test]
    fn redaction_keeps_only_the_public_prefix() {
        assert_eq!(redact_key("mk_abcdefghijklmnop"), "mk_abcdef…");
        assert_eq!(redact_key("short"), "<redacted>");
    }

    #[tokio::test]
    async fn trace_never_shows_the_key() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        // Port 9 (discard) on loopback: nothing listens, the connect fails.
        let client = Client::new("http://127.0.0.1:9")
            .expect("valid endpoint")
            .with_api_key("mk_secretsecretsecretsecret")
            .with_trace(move |l| sink.lock().expect("not poisoned").push(l.to_owned()));
        let err = client
            .whoami()
            .await
            .expect_err("nothing listens on port 9");
        assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
        let lines = lines.lock().expect("not poisoned");
        assert!(lines[0].starts_with("> GET http://127.0.0.1:9/auth/whoami"));
        assert!(
            lines.iter().any(|l| l == "> x-api-key: mk_secret…"),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.contains("mk_secretsecretsecret")));
    }
}
