//! Terminal sessions: `GET /instances/{id}/exec/tty`, a WebSocket
//! (tokio-tungstenite, the WebSocket client of the tokio ecosystem, which
//! axum's server side is built on too).

use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use miniaws_wire::{TtyControl, TtyEnd};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::{Client, ClientError};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The command of a terminal session and its terminal's first size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtyRequest {
    /// The program and its arguments, run without a shell.
    pub command: Vec<String>,
    /// Variables added to the container's environment.
    pub env: BTreeMap<String, String>,
    /// The directory to run in (absolute); the image's when `None`.
    pub working_dir: Option<String>,
    /// `user`, `user:group`, `uid` or `uid:gid`; the image's when `None`.
    pub user: Option<String>,
    /// The terminal's height.
    pub rows: u16,
    /// The terminal's width.
    pub cols: u16,
}

/// What a terminal session gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtyUpdate {
    /// What the terminal shows.
    Output(Bytes),
    /// The command ended with this exit code (`None` when the runtime did
    /// not say); the session is over.
    Exit(Option<i64>),
}

/// The sending half of a session: what is typed, and resizes.
pub struct TtyWriter {
    sink: SplitSink<Socket, Message>,
}

/// The receiving half of a session.
pub struct TtyReader {
    stream: SplitStream<Socket>,
    request_id: Option<String>,
    /// When the server last sent anything (its pings included).
    heard: std::time::Instant,
}

impl Client {
    /// Opens a terminal session with `request`'s command in instance `id`
    /// (`docker exec -it`): the command runs once this returns.
    ///
    /// # Errors
    /// [`ClientError::Api`] for a refusal (400 bad input, 404, 409 not
    /// running, 503), [`ClientError::Connect`] when the server cannot be
    /// reached, [`ClientError::TimedOut`] when it does not answer.
    pub async fn exec_tty(
        &self,
        id: Uuid,
        request: &TtyRequest,
    ) -> Result<(TtyWriter, TtyReader), ClientError> {
        let mut url = reqwest::Url::parse(&format!("{}/instances/{id}/exec/tty", self.endpoint))
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| ClientError::Setup(format!("cannot speak WebSocket to {url}")))?;
        {
            let mut query = url.query_pairs_mut();
            for arg in &request.command {
                query.append_pair("command", arg);
            }
            for (k, v) in &request.env {
                query.append_pair("env", &format!("{k}={v}"));
            }
            if let Some(dir) = &request.working_dir {
                query.append_pair("working_dir", dir);
            }
            if let Some(user) = &request.user {
                query.append_pair("user", user);
            }
            query.append_pair("rows", &request.rows.to_string());
            query.append_pair("cols", &request.cols.to_string());
        }
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        if let Some(key) = &self.api_key {
            let value = key
                .parse()
                .map_err(|_| ClientError::Setup("the API key is not valid header text".into()))?;
            req.headers_mut().insert("x-api-key", value);
        }
        if let Some(trace) = &self.trace {
            trace(&format!("> GET {} (WebSocket)", url.path()));
        }
        let connected =
            tokio::time::timeout(self.answer_timeout, tokio_tungstenite::connect_async(req))
                .await
                .map_err(|_| ClientError::TimedOut {
                    endpoint: self.endpoint.clone(),
                    secs: self.answer_timeout.as_secs(),
                })?;
        let (socket, answer) = connected.map_err(|e| self.refusal(e))?;
        let request_id = answer
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (sink, stream) = socket.split();
        Ok((
            TtyWriter { sink },
            TtyReader {
                stream,
                request_id,
                heard: std::time::Instant::now(),
            },
        ))
    }

    /// A failed WebSocket handshake as a client error: the server's JSON
    /// refusal when it sent one.
    fn refusal(&self, e: tungstenite::Error) -> ClientError {
        match e {
            tungstenite::Error::Http(answer) => {
                let status = answer.status();
                ClientError::from_answer(
                    status,
                    crate::error::request_id_in(answer.headers()),
                    answer.body().as_deref().unwrap_or_default(),
                    |text| {
                        format!(
                            "the server did not open the terminal session (HTTP {status}): {text}"
                        )
                    },
                )
            }
            tungstenite::Error::Io(io) => ClientError::Connect {
                endpoint: self.endpoint.clone(),
                message: io.to_string(),
            },
            other => ClientError::Transport(other.to_string()),
        }
    }
}

impl TtyWriter {
    /// Sends what is typed.
    ///
    /// # Errors
    /// [`ClientError::Transport`] when the session's connection broke.
    pub async fn send(&mut self, typed: Bytes) -> Result<(), ClientError> {
        self.sink
            .send(Message::Binary(typed))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    /// Tells the server the terminal's new size.
    ///
    /// # Errors
    /// [`ClientError::Transport`] when the session's connection broke.
    pub async fn resize(&mut self, rows: u16, cols: u16) -> Result<(), ClientError> {
        let control = TtyControl::Resize {
            rows: u32::from(rows),
            cols: u32::from(cols),
        };
        let text =
            serde_json::to_string(&control).map_err(|e| ClientError::Setup(e.to_string()))?;
        self.sink
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    /// Ends the session (the server kills the command if it still runs).
    ///
    /// # Errors
    /// [`ClientError::Transport`] when the session's connection broke.
    pub async fn close(&mut self) -> Result<(), ClientError> {
        self.sink
            .close()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }
}

impl TtyReader {
    /// The next thing the session gives; `None` once it is over (after
    /// [`TtyUpdate::Exit`]). The server's error frame is an error
    /// ([`ClientError::Api`] with status 101, the upgrade's, and the
    /// error's code and message); so is a session that ends without
    /// saying how.
    pub async fn next(&mut self) -> Option<Result<TtyUpdate, ClientError>> {
        loop {
            let message = match self.stream.next().await? {
                Ok(m) => m,
                Err(e) => return Some(Err(ClientError::Transport(e.to_string()))),
            };
            self.heard = std::time::Instant::now();
            match message {
                Message::Binary(b) => return Some(Ok(TtyUpdate::Output(b))),
                Message::Text(t) => return Some(self.end(t.as_str())),
                Message::Close(_) => return None,
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// How long the server has sent nothing, not even a ping (it pings
    /// every 10 s): a connection that died unseen shows as a silence that
    /// only grows.
    pub fn silent_for(&self) -> std::time::Duration {
        self.heard.elapsed()
    }

    fn end(&self, text: &str) -> Result<TtyUpdate, ClientError> {
        match serde_json::from_str::<TtyEnd>(text) {
            Ok(TtyEnd::Exit { exit_code }) => Ok(TtyUpdate::Exit(exit_code)),
            Ok(TtyEnd::Error {
                code,
                message,
                request_id,
            }) => Err(ClientError::Api {
                status: StatusCode::SWITCHING_PROTOCOLS,
                kind: code,
                message,
                request_id: request_id.or_else(|| self.request_id.clone()),
            }),
            Err(e) => Err(ClientError::Decode(format!(
                "a terminal session's text frame: {e}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn request() -> TtyRequest {
        TtyRequest {
            command: vec!["sh".into()],
            env: BTreeMap::new(),
            working_dir: None,
            user: None,
            rows: 24,
            cols: 80,
        }
    }

    /// A session read from a WebSocket server: output, the exit, the close;
    /// the silence grows while the server says nothing and ends with any
    /// frame.
    #[tokio::test]
    async fn a_session_reads_output_then_the_exit_and_tracks_silence() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
            tokio::time::sleep(Duration::from_millis(300)).await;
            ws.send(Message::Ping(Bytes::new())).await.expect("ping");
            ws.send(Message::Binary(Bytes::from_static(b"hi")))
                .await
                .expect("output");
            ws.send(Message::Text(r#"{"exit":{"exit_code":7}}"#.into()))
                .await
                .expect("exit");
            let _ = ws.close(None).await;
        });
        let client = Client::new(&format!("http://{addr}"))
            .expect("client")
            .with_api_key("mk_test");
        let (_writer, mut reader) = client
            .exec_tty(Uuid::nil(), &request())
            .await
            .expect("opens");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(reader.silent_for() >= Duration::from_millis(200));
        let first = reader.next().await.expect("a frame").expect("output");
        assert_eq!(first, TtyUpdate::Output(Bytes::from_static(b"hi")));
        assert!(reader.silent_for() < Duration::from_millis(100));
        let end = reader.next().await.expect("a frame").expect("the exit");
        assert_eq!(end, TtyUpdate::Exit(Some(7)));
        assert!(reader.next().await.is_none(), "then the close");
    }

    /// A refused upgrade is the server's JSON error, its status and its
    /// request id.
    #[tokio::test]
    async fn a_refusal_is_the_servers_json_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 8192];
            let _ = tcp.read(&mut buf).await;
            let body = r#"{"error":{"message":"cannot run a command in instance box: it is STOPPED","type":"CONFLICT"}}"#;
            let answer = format!(
                "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nX-Request-Id: req-9\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            tcp.write_all(answer.as_bytes()).await.expect("answer");
        });
        let client = Client::new(&format!("http://{addr}")).expect("client");
        match client.exec_tty(Uuid::nil(), &request()).await {
            Err(ClientError::Api {
                status,
                kind,
                message,
                request_id,
            }) => {
                assert_eq!((status.as_u16(), kind.as_str()), (409, "CONFLICT"));
                assert!(message.contains("STOPPED"), "{message}");
                assert_eq!(request_id.as_deref(), Some("req-9"));
            }
            Err(other) => panic!("an API error, not {other:?}"),
            Ok(_) => panic!("refused, not opened"),
        }
    }
}
