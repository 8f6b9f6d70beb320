//! `GET /instances/{id}/exec/tty`: run a command in a running instance with
//! a terminal, over a WebSocket, as `docker exec -it` does.
//!
//! The upgrade request names the command and its options in its query:
//! `command` once per argument (`?command=sh&command=-l`), `env` as `K=V`
//! (repeatable), `working_dir`, `user`, and the terminal's first size as
//! `rows` and `cols` (24 by 80 when left out). Everything is checked, and
//! the command started, before the upgrade: a refusal is the usual JSON
//! error (401, 400, 404 for another owner's instance, 409 naming the state
//! unless it is RUNNING, 503), and only a command that runs gets a `101`.
//!
//! Then, on the WebSocket: the client's binary frames are what is typed
//! (Ctrl-C is the byte 0x03, which the terminal turns into SIGINT); its text
//! frames are control messages, [`TtyControl`] (`{"resize":{"rows":R,
//! "cols":C}}`). The server's binary frames are what the terminal shows
//! (at most [`MAX_FRAME_BYTES`] each); at the end it sends one text frame,
//! [`TtyEnd`] (`{"exit":{"exit_code":N}}`, or `{"error":{…}}` when the
//! session ended first), then a close frame. A client message larger than
//! [`MAX_FRAME_BYTES`] fails the connection.
//!
//! The command does not outlive its session: when the client closes the
//! WebSocket, its connection drops, it sends a bad control message, it
//! answers no ping for [`SILENT_LIMIT`], or the server shuts down, the
//! command is killed with what it started, as a command of `POST
//! /instances/{id}/exec` whose client left is (see `exec_instance`'s
//! `KillOnLeave`, and the Docker adapter's `exec_kill` for how).

use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade, close_code};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Sink, SinkExt, Stream, StreamExt};
use miniaws_core::CoreError;
use miniaws_core::compute::{ExecSpec, TerminalSize, TtyRun};
use miniaws_wire::{TtyControl, TtyEnd};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

use super::exec_instance::KillOnLeave;
use super::parse_id;
use crate::auth::Auth;
use crate::error::{ApiError, public_message, wire_code};
use crate::middleware::REQUEST_ID_HEADER;
use crate::path::Path;
use crate::state::AppState;

/// The largest frame either side sends: output is cut to it, and a client
/// message above it fails the connection (typing and pasting come in far
/// smaller pieces).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How often the server pings a client, so that a connection that died
/// unseen (a laptop closed, a cable pulled) is found out.
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// How long a client may send nothing at all, not even the pong its
/// WebSocket library answers every ping with, before it counts as gone.
pub const SILENT_LIMIT: Duration = Duration::from_secs(30);
/// How many typed chunks may wait for the command's terminal to take them
/// (a command that reads nothing holds them): past that the WebSocket is
/// not read until there is room, and TCP slows the client down.
const INPUT_QUEUE: usize = 64;

pub(crate) async fn exec_tty(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (spec, size) = session_spec(query.as_deref())?;
    spec.validate()?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::bad_request(format!(
            "GET /instances/{{id}}/exec/tty opens a WebSocket ({e}): connect with a WebSocket \
             client, such as `cloud compute exec -it`"
        ))
    })?;
    let run = state.compute.exec_tty(caller, id, &spec, size).await?;
    // The program only: arguments and variables may hold secrets.
    tracing::info!(instance_id = %id, program = %spec.command[0], "terminal session started in an instance");
    let request_id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let shutdown: BoxFuture<'static, ()> = Box::pin(state.shutting_down());
    let sessions = state.sessions.clone();
    // Until the upgrade completes the command is held by this closure: a
    // client that never completes it drops the closure, and the command's
    // `KillOnLeave` with it, which kills the command.
    let mut run = run;
    let kill = KillOnLeave(Some(std::mem::replace(
        &mut run.kill,
        Box::pin(async { false }),
    )));
    Ok(upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_failed_upgrade(|e| {
            tracing::info!(error = %e, "a terminal session's WebSocket upgrade failed: its command is killed");
        })
        .on_upgrade(move |socket| {
            let (tx, rx) = socket.split();
            let timing = Timing {
                ping_every: PING_EVERY,
                silent_limit: SILENT_LIMIT,
            };
            sessions.track_future(session(
                tx, rx, run, kill, shutdown, timing, request_id,
            ))
        }))
}

/// The command and terminal size a session's query names.
fn session_spec(query: Option<&str>) -> Result<(ExecSpec, TerminalSize), ApiError> {
    fn once(slot: &mut Option<String>, name: &str, value: String) -> Result<(), ApiError> {
        if slot.replace(value).is_some() {
            return Err(ApiError::bad_request(format!(
                "{name} is given more than once: give it once"
            )));
        }
        Ok(())
    }
    let mut command = Vec::new();
    let mut env = BTreeMap::new();
    let (mut working_dir, mut user, mut rows, mut cols) = (None, None, None, None);
    for (name, value) in crate::query::pairs(query) {
        let value = value.into_owned();
        match &*name {
            "command" => command.push(value),
            "env" => {
                let Some((k, v)) = value.split_once('=') else {
                    return Err(ApiError::bad_request(
                        "env must be K=V (a variable's name, `=`, its value)",
                    ));
                };
                if env.insert(k.to_owned(), v.to_owned()).is_some() {
                    return Err(ApiError::bad_request(format!(
                        "env names the variable {k:?} more than once: give it once"
                    )));
                }
            }
            "working_dir" => once(&mut working_dir, "working_dir", value)?,
            "user" => once(&mut user, "user", value)?,
            "rows" => once(&mut rows, "rows", value)?,
            "cols" => once(&mut cols, "cols", value)?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}: a terminal session takes command (once per \
                     argument), env (K=V, repeatable), working_dir, user, rows and cols"
                )));
            }
        }
    }
    // Checked here as well as by the spec's own validation, whose message
    // shows a JSON list: this endpoint takes the command in its query.
    if command.first().is_none_or(String::is_empty) {
        return Err(ApiError::bad_request(
            "command is empty: give the program and each of its arguments as a `command` \
             parameter of its own, e.g. ?command=ls&command=-l&command=/",
        ));
    }
    let cells = |value: Option<String>, name: &str, default: u16| match value {
        None => Ok(u32::from(default)),
        Some(v) => v.parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!("{name} must be a whole number (got {v:?})"))
        }),
    };
    let default = TerminalSize::default();
    let size = TerminalSize::new(
        cells(rows, "rows", default.rows())?,
        cells(cols, "cols", default.cols())?,
    )?;
    let spec = ExecSpec {
        command,
        env,
        working_dir,
        user,
        stdin: None,
    };
    Ok((spec, size))
}

/// How often a session pings, and how long it waits to hear anything.
#[derive(Debug, Clone, Copy)]
struct Timing {
    ping_every: Duration,
    silent_limit: Duration,
}

/// How a session ended.
#[derive(Debug)]
enum End {
    /// The command exited.
    Exited(Option<i64>),
    /// The client closed the WebSocket, its connection dropped, or it
    /// went silent.
    ClientLeft(&'static str),
    /// The server is shutting down.
    ShuttingDown,
    /// The client sent a control message that is not one.
    BadControl(String),
    /// The terminal's output or the exit code could not be read.
    Failed(CoreError),
}

/// Runs a session from the upgrade to the close frame: output out, input
/// and control messages in, pings, and the kill of a command whose
/// session ended first.
async fn session<Tx, Rx, E>(
    mut tx: Tx,
    mut rx: Rx,
    run: TtyRun,
    mut kill: KillOnLeave,
    mut shutdown: BoxFuture<'static, ()>,
    timing: Timing,
    request_id: Option<String>,
) where
    Tx: Sink<Message> + Unpin,
    Rx: Stream<Item = Result<Message, E>> + Unpin,
{
    let TtyRun {
        output,
        input,
        resizer,
        exit_code,
        kill: _,
    } = run;
    // Typed input is written by a task of its own, so that a command that
    // does not read stalls neither its output nor the pings.
    let (typed, mut to_write) = tokio::sync::mpsc::channel::<Bytes>(INPUT_QUEUE);
    let writer = tokio::spawn(async move {
        let mut input = input;
        while let Some(chunk) = to_write.recv().await {
            if let Err(e) = input.send(chunk).await {
                tracing::debug!(error = %e, "a terminal's input closed");
                return;
            }
        }
    });
    let mut output = Some(output);
    let mut exit_code = Some(exit_code);
    let mut ping = tokio::time::interval_at(Instant::now() + timing.ping_every, timing.ping_every);
    let mut heard = Instant::now();
    let end = loop {
        tokio::select! {
            chunk = async { output.as_mut().expect("guarded").next().await }, if output.is_some() => {
                match chunk {
                    Some(Ok(bytes)) => {
                        if send_output(&mut tx, bytes).await.is_err() {
                            break End::ClientLeft("a write to the client failed");
                        }
                    }
                    Some(Err(e)) => break End::Failed(e),
                    None => output = None,
                }
            }
            code = async { exit_code.as_mut().expect("guarded").await }, if output.is_none() => {
                break match code {
                    Ok(code) => End::Exited(code),
                    Err(e) => End::Failed(e),
                };
            }
            // Read only while the input queue has room, so that a command
            // that reads nothing slows the client (TCP) without stopping
            // this loop: its output and the pings go on.
            message = rx.next(), if typed.capacity() > 0 => {
                heard = Instant::now();
                match message {
                    Some(Ok(Message::Binary(bytes))) => {
                        // Room was checked. A command whose terminal closed
                        // takes no more: what is typed then is dropped, as a
                        // terminal would.
                        let _ = typed.try_send(bytes);
                    }
                    Some(Ok(Message::Text(text))) => match control(text.as_str()) {
                        Ok(size) => {
                            if let Err(e) = resizer.resize(size).await {
                                tracing::debug!(error = %e, "a terminal could not be resized");
                            }
                        }
                        Err(why) => break End::BadControl(why),
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) => break End::ClientLeft("the client closed the session"),
                    Some(Err(_)) | None => break End::ClientLeft("the client's connection dropped"),
                }
            }
            // The queue has room again: read on.
            _ = typed.reserve(), if typed.capacity() == 0 => {}
            _ = ping.tick() => {
                if typed.capacity() == 0 {
                    // Not read meanwhile: no silence to judge.
                    heard = Instant::now();
                }
                if heard.elapsed() >= timing.silent_limit {
                    break End::ClientLeft("the client answered no ping");
                }
                if tx.send(Message::Ping(Bytes::new())).await.is_err() {
                    break End::ClientLeft("a write to the client failed");
                }
            }
            () = &mut shutdown => break End::ShuttingDown,
        }
    };
    writer.abort();
    let error = |code: &str, message: String| TtyEnd::Error {
        code: code.to_owned(),
        message,
        request_id: request_id.clone(),
    };
    let (last, close) = match end {
        End::Exited(exit_code) => {
            kill.disarm();
            tracing::info!(?exit_code, "terminal session ended: its command exited");
            (Some(TtyEnd::Exit { exit_code }), close_code::NORMAL)
        }
        End::ClientLeft(why) => {
            let killed = kill.kill().await;
            tracing::info!(
                killed,
                "terminal session ended before its command ({why}): killed it"
            );
            (None, close_code::NORMAL)
        }
        End::ShuttingDown => {
            let killed = kill.kill().await;
            tracing::info!(
                killed,
                "terminal session ended by the shutdown: killed its command"
            );
            let message = if killed {
                "the server is shutting down: the session ended and its command was killed"
            } else {
                "the server is shutting down: the session ended, and its command could not be \
                 killed (it may still be running in the instance)"
            };
            (
                Some(error("UNAVAILABLE", message.to_owned())),
                close_code::AWAY,
            )
        }
        End::BadControl(why) => {
            let killed = kill.kill().await;
            tracing::info!(
                killed,
                "terminal session ended by a bad control message: killed its command"
            );
            (Some(error("INVALID_INPUT", why)), close_code::POLICY)
        }
        End::Failed(e @ CoreError::InvalidInput(_)) => {
            kill.disarm();
            tracing::info!(error = %e, "a terminal session's command could not be started");
            let (_, code) = wire_code(&e);
            (Some(error(code, public_message(&e))), close_code::ERROR)
        }
        End::Failed(e) => {
            let killed = kill.kill().await;
            tracing::warn!(error = %e, killed, "a terminal session's output ended early");
            let (_, code) = wire_code(&e);
            (Some(error(code, public_message(&e))), close_code::ERROR)
        }
    };
    if let Some(last) = last {
        let text = serde_json::to_string(&last).unwrap_or_default();
        let _ = tx.send(Message::Text(text.into())).await;
    }
    let _ = tx
        .send(Message::Close(Some(CloseFrame {
            code: close,
            reason: "".into(),
        })))
        .await;
}

/// Sends a chunk of output, cut into frames of at most [`MAX_FRAME_BYTES`].
async fn send_output<Tx: Sink<Message> + Unpin>(
    tx: &mut Tx,
    bytes: Bytes,
) -> Result<(), Tx::Error> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let piece = rest.split_to(rest.len().min(MAX_FRAME_BYTES));
        tx.send(Message::Binary(piece)).await?;
    }
    Ok(())
}

/// The new size a control message asks for; what is wrong with it.
fn control(text: &str) -> Result<TerminalSize, String> {
    match serde_json::from_str::<TtyControl>(text) {
        Ok(TtyControl::Resize { rows, cols }) => {
            TerminalSize::new(rows, cols).map_err(|e| e.to_string())
        }
        Err(e) => Err(format!(
            "a text frame must be a control message such as {{\"resize\":{{\"rows\":24,\"cols\":80}}}} \
             ({e}); what is typed goes in binary frames"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use miniaws_core::compute::TerminalResizer;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    struct Recorded(Arc<Mutex<Vec<TerminalSize>>>);

    #[async_trait::async_trait]
    impl TerminalResizer for Recorded {
        async fn resize(&self, size: TerminalSize) -> miniaws_core::CoreResult<()> {
            self.0.lock().unwrap().push(size);
            Ok(())
        }
    }

    /// A terminal that echoes what is typed until it reads `exit`, then
    /// ends with `code`; the sizes it was given, and whether it was killed.
    struct Fake {
        run: TtyRun,
        sizes: Arc<Mutex<Vec<TerminalSize>>>,
        killed: Arc<AtomicBool>,
    }

    fn fake(code: i64) -> Fake {
        let (shown_tx, shown_rx) = mpsc::unbounded::<Bytes>();
        let input = futures::sink::unfold(shown_tx, |tx, typed: Bytes| async move {
            if &typed[..] == b"exit" {
                // The terminal closes: the output ends.
                tx.close_channel();
            } else {
                let _ = tx.unbounded_send(typed);
            }
            Ok::<_, CoreError>(tx)
        });
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let killed = Arc::new(AtomicBool::new(false));
        let flag = killed.clone();
        Fake {
            run: TtyRun {
                output: shown_rx.map(Ok).boxed(),
                input: Box::pin(input),
                resizer: Box::new(Recorded(sizes.clone())),
                exit_code: Box::pin(async move { Ok(Some(code)) }),
                kill: Box::pin(async move {
                    flag.store(true, Ordering::SeqCst);
                    true
                }),
            },
            sizes,
            killed,
        }
    }

    /// A session over channels: what the test sends as the client, and
    /// what the server sent.
    struct Client {
        to_server: mpsc::UnboundedSender<Result<Message, std::io::Error>>,
        from_server: mpsc::UnboundedReceiver<Message>,
        done: tokio::task::JoinHandle<()>,
    }

    fn start(mut fake: Fake, shutdown: BoxFuture<'static, ()>, timing: Timing) -> Client {
        let (to_server, rx) = mpsc::unbounded();
        let (tx, from_server) = mpsc::unbounded();
        let kill = KillOnLeave(Some(std::mem::replace(
            &mut fake.run.kill,
            Box::pin(async { false }),
        )));
        let done = tokio::spawn(session(
            tx,
            rx,
            fake.run,
            kill,
            shutdown,
            timing,
            Some("req-1".into()),
        ));
        Client {
            to_server,
            from_server,
            done,
        }
    }

    const SLOW: Timing = Timing {
        ping_every: Duration::from_secs(60),
        silent_limit: Duration::from_secs(180),
    };

    fn text(m: &Message) -> &str {
        match m {
            Message::Text(t) => t.as_str(),
            other => panic!("a text frame, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn typed_input_comes_back_then_the_exit_and_a_close() {
        let fake = fake(3);
        let (sizes, killed) = (fake.sizes.clone(), fake.killed.clone());
        let mut c = start(fake, Box::pin(std::future::pending()), SLOW);
        c.to_server
            .unbounded_send(Ok(Message::Binary(Bytes::from_static(b"ls\r"))))
            .unwrap();
        let echoed = c.from_server.next().await.expect("output");
        assert_eq!(echoed, Message::Binary(Bytes::from_static(b"ls\r")));
        c.to_server
            .unbounded_send(Ok(Message::Text(
                r#"{"resize":{"rows":50,"cols":132}}"#.into(),
            )))
            .unwrap();
        c.to_server
            .unbounded_send(Ok(Message::Binary(Bytes::from_static(b"exit"))))
            .unwrap();
        let last = c.from_server.next().await.expect("the end");
        assert_eq!(text(&last), r#"{"exit":{"exit_code":3}}"#);
        let close = c.from_server.next().await.expect("a close frame");
        assert!(
            matches!(&close, Message::Close(Some(f)) if f.code == close_code::NORMAL),
            "{close:?}"
        );
        c.done.await.unwrap();
        assert_eq!(
            *sizes.lock().unwrap(),
            [TerminalSize::new(50, 132).unwrap()]
        );
        assert!(
            !killed.load(Ordering::SeqCst),
            "a command that exited is not killed"
        );
    }

    #[tokio::test]
    async fn a_client_that_leaves_has_the_command_killed() {
        for how in ["close frame", "dropped"] {
            let fake = fake(0);
            let killed = fake.killed.clone();
            let c = start(fake, Box::pin(std::future::pending()), SLOW);
            if how == "close frame" {
                c.to_server
                    .unbounded_send(Ok(Message::Close(None)))
                    .unwrap();
            }
            drop(c.to_server);
            tokio::time::timeout(Duration::from_secs(5), c.done)
                .await
                .expect("the session ends")
                .unwrap();
            assert!(killed.load(Ordering::SeqCst), "{how}: killed");
        }
    }

    #[tokio::test]
    async fn a_silent_client_is_pinged_then_dropped() {
        let fake = fake(0);
        let killed = fake.killed.clone();
        let timing = Timing {
            ping_every: Duration::from_millis(30),
            silent_limit: Duration::from_millis(100),
        };
        let mut c = start(fake, Box::pin(std::future::pending()), timing);
        let first = c.from_server.next().await.expect("a ping");
        assert!(matches!(first, Message::Ping(_)), "{first:?}");
        tokio::time::timeout(Duration::from_secs(5), c.done)
            .await
            .expect("a client that answers nothing is dropped")
            .unwrap();
        assert!(killed.load(Ordering::SeqCst));
        drop(c.to_server);
    }

    #[tokio::test]
    async fn a_shutdown_or_a_bad_control_ends_the_session_with_an_error() {
        let fake1 = fake(0);
        let killed = fake1.killed.clone();
        let mut c = start(fake1, Box::pin(async {}), SLOW);
        let last = c.from_server.next().await.expect("the end");
        assert!(
            text(&last).starts_with(
                r#"{"error":{"code":"UNAVAILABLE","message":"the server is shutting down"#
            ),
            "{last:?}"
        );
        assert!(
            text(&last).ends_with(r#""request_id":"req-1"}}"#),
            "{last:?}"
        );
        assert!(
            matches!(c.from_server.next().await, Some(Message::Close(Some(f))) if f.code == close_code::AWAY)
        );
        assert!(killed.load(Ordering::SeqCst));

        for bad in [
            r#"{"resize":{"rows":0,"cols":80}}"#,
            "ls -l",
            r#"{"paste":"x"}"#,
        ] {
            let fake2 = fake(0);
            let killed = fake2.killed.clone();
            let mut c = start(fake2, Box::pin(std::future::pending()), SLOW);
            c.to_server
                .unbounded_send(Ok(Message::Text(bad.into())))
                .unwrap();
            let last = c.from_server.next().await.expect("the end");
            assert!(
                text(&last).starts_with(r#"{"error":{"code":"INVALID_INPUT""#),
                "{bad}: {last:?}"
            );
            assert!(killed.load(Ordering::SeqCst), "{bad}");
        }
    }

    /// A command that reads none of its input: typing fills the queue,
    /// and the output and the pings go on meanwhile, without the client
    /// being taken for gone.
    #[tokio::test]
    async fn a_command_that_reads_nothing_stops_neither_output_nor_pings() {
        let (shown_tx, shown_rx) = mpsc::unbounded::<Bytes>();
        let killed = Arc::new(AtomicBool::new(false));
        let flag = killed.clone();
        let run = TtyRun {
            output: shown_rx.map(Ok).boxed(),
            // Takes nothing, ever.
            input: Box::pin(futures::sink::unfold((), |(), _typed: Bytes| {
                std::future::pending::<Result<(), CoreError>>()
            })),
            resizer: Box::new(Recorded(Arc::default())),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill: Box::pin(async move {
                flag.store(true, Ordering::SeqCst);
                true
            }),
        };
        let timing = Timing {
            ping_every: Duration::from_millis(20),
            silent_limit: Duration::from_millis(200),
        };
        let mut c = start(
            Fake {
                run,
                sizes: Arc::default(),
                killed: killed.clone(),
            },
            Box::pin(std::future::pending()),
            timing,
        );
        for _ in 0..(INPUT_QUEUE * 2) {
            c.to_server
                .unbounded_send(Ok(Message::Binary(Bytes::from_static(b"x"))))
                .unwrap();
        }
        // Longer than the silence limit: the client is not read meanwhile.
        tokio::time::sleep(Duration::from_millis(500)).await;
        shown_tx
            .unbounded_send(Bytes::from_static(b"still here"))
            .unwrap();
        let mut pings = 0;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), c.from_server.next())
                .await
                .expect("the session goes on")
                .expect("a frame")
            {
                Message::Ping(_) => pings += 1,
                Message::Binary(b) => {
                    assert_eq!(&b[..], b"still here");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(pings >= 5, "pings while input waits: {pings}");
        assert!(
            !killed.load(Ordering::SeqCst),
            "the client is not taken for gone"
        );
        drop(shown_tx);
        c.done.abort();
    }

    #[tokio::test]
    async fn long_output_is_cut_into_bounded_frames() {
        let (mut tx, mut rx) = mpsc::unbounded::<Message>();
        send_output(&mut tx, Bytes::from(vec![b'x'; MAX_FRAME_BYTES * 2 + 5]))
            .await
            .unwrap();
        drop(tx);
        let sizes: Vec<usize> = rx
            .by_ref()
            .map(|m| match m {
                Message::Binary(b) => b.len(),
                other => panic!("{other:?}"),
            })
            .collect()
            .await;
        assert_eq!(sizes, [MAX_FRAME_BYTES, MAX_FRAME_BYTES, 5]);
    }

    #[test]
    fn the_query_names_the_command_and_the_size() {
        let (spec, size) = session_spec(Some(
            "command=sh&command=-c&command=echo+%24HOME&env=A%3D1&env=B%3Dx%3Dy&working_dir=%2Ftmp&user=1000&rows=40&cols=120",
        ))
        .expect("valid");
        assert_eq!(spec.command, ["sh", "-c", "echo $HOME"]);
        assert_eq!(spec.env.get("B").map(String::as_str), Some("x=y"));
        assert_eq!(
            (spec.working_dir.as_deref(), spec.user.as_deref()),
            (Some("/tmp"), Some("1000"))
        );
        assert_eq!((size.rows(), size.cols()), (40, 120));
        let (_, size) = session_spec(Some("command=sh")).expect("valid");
        assert_eq!(size, TerminalSize::default());
        for bad in [
            "command=sh&rows=0",
            "command=sh&cols=99999",
            "command=sh&rows=x",
            "command=sh&env=NOEQUALS",
            "command=sh&env=A%3D1&env=A%3D2",
            "command=sh&user=a&user=b",
            "command=sh&tty=1",
        ] {
            assert!(session_spec(Some(bad)).is_err(), "{bad}");
        }
    }
}
