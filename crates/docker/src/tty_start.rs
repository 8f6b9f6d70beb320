//! Starting an exec that has a terminal, and reading its output raw.
//!
//! bollard's `start_exec` reads the hijacked connection with a decoder
//! made for an exec without a terminal, whose output Docker multiplexes
//! in frames: it takes any read that begins with a byte 0, 1 or 2 for a
//! frame's header. A terminal's output is raw (Docker sends it as is), so
//! output such as `printf '\001…'` would be garbled, or stall while the
//! decoder buffers the "frame" it waits for (up to 4 GiB, in the server's
//! memory). So the start is made here: the request bollard makes (`POST
//! /exec/{id}/start` with `Upgrade: tcp`), on a connection of its own,
//! whose upgraded stream is read as it comes.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, UPGRADE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::pin::Pin;

/// A started exec's terminal: its output, raw, and its input.
pub(crate) struct Attached {
    pub output: BoxStream<'static, std::io::Result<Bytes>>,
    pub input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// Why a start failed.
#[derive(Debug)]
pub(crate) enum StartError {
    /// Docker could not be reached.
    Unreachable(String),
    /// The exchange broke once Docker was reached.
    Transport(String),
    /// Docker answered with an error status and message.
    Refused { status: u16, message: String },
}

/// Starts exec `exec_id` with its terminal attached, at API `version`, on
/// the daemon at `docker_host` (as `DOCKER_HOST` names it; the local
/// socket when `None`).
pub(crate) async fn start_tty(
    docker_host: Option<&str>,
    version: &bollard::ClientVersion,
    exec_id: &str,
) -> Result<Attached, StartError> {
    let transport = |e: &dyn std::fmt::Display| StartError::Transport(e.to_string());
    let host = docker_host.unwrap_or("unix:///var/run/docker.sock");
    let request = Request::post(format!(
        "/v{}.{}/exec/{exec_id}/start",
        version.major_version, version.minor_version
    ))
    .header(HOST, "docker")
    .header(CONTENT_TYPE, "application/json")
    .header(CONNECTION, "Upgrade")
    .header(UPGRADE, "tcp")
    .body(r#"{"Detach":false,"Tty":true}"#.to_owned())
    .map_err(|e| transport(&e))?;
    let answer = if let Some(path) = host.strip_prefix("unix://") {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|e| StartError::Unreachable(e.to_string()))?;
        send(stream, request).await?
    } else {
        let authority = host
            .split_once("://")
            .map_or(host, |(_, rest)| rest)
            .trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| StartError::Unreachable(e.to_string()))?;
        send(stream, request).await?
    };
    if answer.status() != StatusCode::SWITCHING_PROTOCOLS {
        let status = answer.status().as_u16();
        let body = http_body_util::BodyExt::collect(answer.into_body())
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(StartError::Refused { status, message });
    }
    let upgraded = hyper::upgrade::on(answer)
        .await
        .map_err(|e| transport(&e))?;
    let (read, write) = tokio::io::split(TokioIo::new(upgraded));
    Ok(Attached {
        output: tokio_util::io::ReaderStream::new(read).boxed(),
        input: Box::pin(write),
    })
}

/// Sends `request` on a new HTTP/1.1 connection over `stream`, which is
/// kept for the upgrade.
async fn send<S>(
    stream: S,
    request: Request<String>,
) -> Result<hyper::Response<hyper::body::Incoming>, StartError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| StartError::Transport(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "a terminal's connection to Docker ended with an error");
        }
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| StartError::Transport(e.to_string()))
}
