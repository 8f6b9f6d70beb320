//! `POST /instances/{id}/exec`: run a command in a running instance, as
//! `docker exec` does (no TTY; input given whole with the request, as
//! `docker exec -i` with a redirected stdin).
//!
//! The answer is JSON ([`ExecResult`]) once the command has ended, its
//! output capped at [`MAX_OUTPUT_BYTES`] per stream; with `Accept:
//! application/x-ndjson` the output streams instead, one [`ExecEvent`] per
//! line, so a long command shows its progress. Either way the wait ends at
//! the request's `timeout_secs`, and a command that outlives it is killed
//! with the processes it started, as `timeout(1)` would, when the runtime
//! can (the answer says `timed_out`, and `killed` when it was; see the
//! Docker adapter's `exec_kill` for how and when it cannot). A client that
//! leaves before the command ends (Ctrl-C, a client-side timeout) has it
//! killed the same way as soon as hyper sees the connection closed, unlike
//! `docker exec`, which leaves it running unseen. A streamed answer whose
//! command is silent sends an empty line every [`KEEPALIVE_EVERY`], so that
//! a client that stopped reading without closing its connection (a dropped
//! reqwest stream keeps it open until the next byte comes) or a connection
//! that died unseen is found out by the write, not only by a read of hyper's
//! that may never come.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use miniaws_core::compute::{ExecChunk, ExecRun, ExecSpec, split_command};
use miniaws_core::{CoreError, CoreResult};
use miniaws_wire::{Command, ExecCommand, ExecEvent, ExecResult};
use std::time::Duration;
use tokio::time::Instant;

use super::parse_id;
use crate::auth::Auth;
use crate::error::{ApiError, public_message, wire_code};
use crate::json::{Data, Json};
use crate::middleware::REQUEST_ID_HEADER;
use crate::path::Path;
use crate::state::AppState;

/// The most output kept per stream in a JSON answer.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// The wait when the request names none.
const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// The longest wait a request may ask for.
const MAX_TIMEOUT_SECS: u64 = 3600;
/// The media type of the streamed answer.
const NDJSON: &str = "application/x-ndjson";
/// How long a streamed answer stays silent before it sends an empty line
/// (as Twitter's streaming API did): often enough that a client gone
/// unseen has its command killed within seconds, rarely enough to cost
/// nothing.
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(3);

pub(crate) async fn exec_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ExecCommand>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let timeout = timeout_of(body.timeout_secs)?;
    let spec = spec_of(body)?;
    let run = state.compute.exec(caller, id, &spec).await?;
    // The program only: arguments and variables may hold secrets.
    tracing::info!(instance_id = %id, program = %spec.command[0], "command started in an instance");
    let ends = Ends {
        deadline: Instant::now() + timeout,
        shutdown: Box::pin(state.shutting_down()),
    };
    if wants_stream(&headers) {
        // An error line, after the 200 went, names the request as an
        // error answer's header does (the header went with the 200, where
        // a client reading lines may not look).
        let request_id = headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(streamed(run, ends, KEEPALIVE_EVERY, request_id))
    } else {
        Ok(Data(collected(run, ends).await?).into_response())
    }
}

/// What ends the wait before the command does.
struct Ends {
    /// The request's timeout.
    deadline: Instant,
    /// The server shutting down (which waits for every answer in flight).
    shutdown: BoxFuture<'static, ()>,
}

/// What a client is told when the server shuts down mid-wait.
const SHUTTING_DOWN: &str =
    "the server is shutting down: the command was started and may still be running in the instance";

/// The run's kill, armed while the command may still run: dropped armed
/// (the answer was abandoned because its client left, and axum dropped the
/// handler or the streamed body), it kills the command in the background,
/// as a timeout would. Every other end disarms it.
pub(super) struct KillOnLeave(pub(super) Option<BoxFuture<'static, bool>>);

impl KillOnLeave {
    /// Kills now (the wait timed out): whether the command is gone.
    pub(super) async fn kill(&mut self) -> bool {
        match self.0.take() {
            Some(kill) => kill.await,
            None => false,
        }
    }

    /// The command ended, or the server is shutting down (which stops the
    /// wait, not the command): nothing to kill.
    pub(super) fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for KillOnLeave {
    fn drop(&mut self) {
        let Some(kill) = self.0.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let killed = kill.await;
                    tracing::info!(
                        killed,
                        "the client left before its command ended: killed it"
                    );
                });
            }
            Err(_) => tracing::warn!(
                "the client left before its command ended, and it cannot be killed now"
            ),
        }
    }
}

/// The wait the request asks for, within bounds.
fn timeout_of(secs: Option<u64>) -> Result<Duration, ApiError> {
    match secs.unwrap_or(DEFAULT_TIMEOUT_SECS) {
        s @ 1..=MAX_TIMEOUT_SECS => Ok(Duration::from_secs(s)),
        s => Err(ApiError::bad_request(format!(
            "timeout_secs must be from 1 to {MAX_TIMEOUT_SECS} (got {s})"
        ))),
    }
}

/// The core's spec from the body (a one-line command split like a shell,
/// the input decoded from base64).
fn spec_of(body: ExecCommand) -> Result<ExecSpec, ApiError> {
    let command = match body.command {
        Command::Args(args) => args,
        Command::Line(line) => split_command(&line)?,
    };
    // Whitespace is skipped: `base64` wraps its output at 76 columns.
    let stdin = body
        .stdin
        .map(|b64| {
            let compact: Vec<u8> = b64.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            BASE64
                .decode(compact)
                .map(bytes::Bytes::from)
                .map_err(|e| ApiError::bad_request(format!("stdin must be base64: {e}")))
        })
        .transpose()?;
    Ok(ExecSpec {
        command,
        env: body.env,
        working_dir: body.working_dir,
        user: body.user,
        stdin,
    })
}

/// Whether the client asked for the streamed answer.
fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(NDJSON))
        })
}

/// One step of reading a run.
enum Step {
    Chunk(ExecChunk),
    Failed(miniaws_core::CoreError),
    Ended(CoreResult<Option<i64>>),
    TimedOut,
    ShuttingDown,
    /// Nothing happened for `quiet` (only when the caller names one).
    Quiet,
}

/// A run being read: its output until it ends, then its exit code.
struct Reading {
    /// `None` once the output has ended.
    output: Option<BoxStream<'static, CoreResult<ExecChunk>>>,
    /// `None` once it has been read.
    exit_code: Option<BoxFuture<'static, CoreResult<Option<i64>>>>,
}

/// What [`Reading::next`] gives.
enum Next {
    Chunk(CoreResult<ExecChunk>),
    Ended(CoreResult<Option<i64>>),
}

impl Reading {
    fn new(
        output: BoxStream<'static, CoreResult<ExecChunk>>,
        exit_code: BoxFuture<'static, CoreResult<Option<i64>>>,
    ) -> Self {
        Self {
            output: Some(output),
            exit_code: Some(exit_code),
        }
    }

    /// The next chunk of output; once the output has ended, how the
    /// command ended (a command may close its output and run on: the wait
    /// for its end is bounded by the caller's deadline like the rest).
    /// Cancel-safe: a chunk or an end not yet come stays to be read.
    async fn next(&mut self) -> Next {
        if let Some(output) = &mut self.output {
            match output.next().await {
                Some(chunk) => return Next::Chunk(chunk),
                None => self.output = None,
            }
        }
        let Some(code) = &mut self.exit_code else {
            return Next::Ended(Ok(None));
        };
        let code = code.await;
        self.exit_code = None;
        Next::Ended(code)
    }
}

/// The next thing that happens to the run, by `deadline`; `Quiet` after
/// `quiet` without one.
async fn step(reading: &mut Reading, ends: &mut Ends, quiet: Option<Duration>) -> Step {
    let silence = async {
        match quiet {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let next = tokio::select! {
        next = tokio::time::timeout_at(ends.deadline, reading.next()) => next,
        () = &mut ends.shutdown => return Step::ShuttingDown,
        () = silence => return Step::Quiet,
    };
    match next {
        Err(_) => Step::TimedOut,
        Ok(Next::Chunk(Ok(chunk))) => Step::Chunk(chunk),
        Ok(Next::Chunk(Err(e))) => Step::Failed(e),
        Ok(Next::Ended(code)) => Step::Ended(code),
    }
}

/// Waits for the run to end (or the deadline) and gathers its output.
///
/// # Errors
/// 503 when the server shuts down first.
async fn collected(run: ExecRun, mut ends: Ends) -> Result<ExecResult, ApiError> {
    let ExecRun {
        output,
        exit_code,
        kill,
    } = run;
    let mut reading = Reading::new(output, exit_code);
    let mut kill = KillOnLeave(Some(kill));
    let (mut stdout, mut stderr) = (Capped::default(), Capped::default());
    let (code, timed_out, killed) = loop {
        match step(&mut reading, &mut ends, None).await {
            Step::Quiet => {}
            Step::Chunk(ExecChunk::Stdout(b)) => stdout.push(&b),
            Step::Chunk(ExecChunk::Stderr(b)) => stderr.push(&b),
            Step::TimedOut => break (None, true, kill.kill().await),
            Step::ShuttingDown => {
                kill.disarm();
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "UNAVAILABLE",
                    SHUTTING_DOWN,
                ));
            }
            // Docker could not start the command: bad input, said so.
            Step::Failed(e @ CoreError::InvalidInput(_)) => {
                kill.disarm();
                tracing::info!(error = %e, "a command could not be started in an instance");
                return Err(e.into());
            }
            // The output broke or the end went unrecorded: what was read
            // is still the command's, so it is given with no exit code.
            Step::Failed(e) | Step::Ended(Err(e)) => {
                tracing::warn!(error = %e, "the output of a command in an instance ended early");
                break (None, false, false);
            }
            Step::Ended(Ok(code)) => break (code, false, false),
        }
    };
    kill.disarm();
    let text =
        std::str::from_utf8(&stdout.bytes).is_ok() && std::str::from_utf8(&stderr.bytes).is_ok();
    let encode = |b: &[u8]| {
        if text {
            String::from_utf8_lossy(b).into_owned()
        } else {
            BASE64.encode(b)
        }
    };
    Ok(ExecResult {
        exit_code: code,
        timed_out,
        killed,
        encoding: if text { "utf-8" } else { "base64" }.to_owned(),
        stdout: encode(&stdout.bytes),
        stderr: encode(&stderr.bytes),
        stdout_truncated: stdout.truncated,
        stderr_truncated: stderr.truncated,
    })
}

/// Output kept up to [`MAX_OUTPUT_BYTES`]; the rest is read and dropped,
/// so the command is never held up by a full pipe.
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Capped {
    fn push(&mut self, chunk: &[u8]) {
        let room = MAX_OUTPUT_BYTES - self.bytes.len();
        if chunk.len() > room {
            self.truncated = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// The streamed answer: one JSON line per output chunk, then one for the
/// end (an error line carrying `request_id`), and an empty line after
/// each `keepalive` of silence. A
/// client that leaves has the command killed (see [`KillOnLeave`]): hyper
/// drops the body when it sees the connection closed, or when a write to it
/// fails.
fn streamed(run: ExecRun, ends: Ends, keepalive: Duration, request_id: Option<String>) -> Response {
    let ExecRun {
        output,
        exit_code,
        kill,
    } = run;
    let state = (
        Reading::new(output, exit_code),
        KillOnLeave(Some(kill)),
        ends,
        false,
    );
    let lines = futures::stream::unfold(state, move |(mut reading, mut kill, mut ends, done)| {
        let request_id = request_id.clone();
        async move {
            if done {
                return None;
            }
            let step = step(&mut reading, &mut ends, Some(keepalive)).await;
            let (event, done) = match step {
                Step::Quiet => {
                    return Some((
                        Ok(bytes::Bytes::from_static(b"\n")),
                        (reading, kill, ends, false),
                    ));
                }
                Step::Chunk(ExecChunk::Stdout(b)) => (ExecEvent::Stdout(BASE64.encode(&b)), false),
                Step::Chunk(ExecChunk::Stderr(b)) => (ExecEvent::Stderr(BASE64.encode(&b)), false),
                Step::TimedOut => (
                    ExecEvent::Exit {
                        exit_code: None,
                        timed_out: true,
                        killed: kill.kill().await,
                    },
                    true,
                ),
                Step::ShuttingDown => (
                    ExecEvent::Error {
                        code: "UNAVAILABLE".to_owned(),
                        message: SHUTTING_DOWN.to_owned(),
                        request_id: request_id.clone(),
                    },
                    true,
                ),
                Step::Ended(Ok(code)) => (
                    ExecEvent::Exit {
                        exit_code: code,
                        timed_out: false,
                        killed: false,
                    },
                    true,
                ),
                Step::Failed(e) | Step::Ended(Err(e)) => {
                    if matches!(e, CoreError::InvalidInput(_)) {
                        tracing::info!(error = %e, "a command could not be started in an instance");
                    } else {
                        tracing::warn!(error = %e, "the output of a command in an instance ended early");
                    }
                    let (_, code) = wire_code(&e);
                    (
                        ExecEvent::Error {
                            code: code.to_owned(),
                            message: public_message(&e),
                            request_id: request_id.clone(),
                        },
                        true,
                    )
                }
            };
            if done {
                kill.disarm();
            }
            let mut line = serde_json::to_vec(&event).unwrap_or_default();
            line.push(b'\n');
            Some((
                Ok::<_, std::convert::Infallible>(bytes::Bytes::from(line)),
                (reading, kill, ends, done),
            ))
        }
    });
    let mut response = Body::from_stream(lines).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: Vec<ExecChunk>, code: Option<i64>) -> ExecRun {
        ExecRun {
            output: futures::stream::iter(chunks.into_iter().map(Ok)).boxed(),
            exit_code: Box::pin(async move { Ok(code) }),
            kill: Box::pin(async { panic!("a command that ended is not killed") }),
        }
    }

    /// A keep-alive that never comes within a test.
    const SLOW: Duration = Duration::from_secs(60);

    fn later() -> Ends {
        ends_in(Duration::from_secs(5))
    }

    fn ends_in(d: Duration) -> Ends {
        Ends {
            deadline: Instant::now() + d,
            shutdown: Box::pin(std::future::pending()),
        }
    }

    #[tokio::test]
    async fn text_output_is_given_as_is_with_the_exit_code() {
        let r = collected(
            run(
                vec![
                    ExecChunk::Stdout("hé\n".into()),
                    ExecChunk::Stderr("warn\n".into()),
                ],
                Some(3),
            ),
            later(),
        )
        .await
        .expect("ends");
        assert_eq!(r.exit_code, Some(3));
        assert_eq!((r.encoding.as_str(), r.stdout.as_str()), ("utf-8", "hé\n"));
        assert_eq!(r.stderr, "warn\n");
        assert!(!r.timed_out && !r.stdout_truncated);
    }

    #[tokio::test]
    async fn binary_output_is_base64_and_long_output_is_capped() {
        let big = vec![b'x'; MAX_OUTPUT_BYTES + 10];
        let r = collected(
            run(
                vec![
                    ExecChunk::Stdout(big.into()),
                    ExecChunk::Stderr(vec![0xff, 0xfe].into()),
                ],
                Some(0),
            ),
            later(),
        )
        .await
        .expect("ends");
        assert_eq!(r.encoding, "base64");
        assert_eq!(BASE64.decode(&r.stderr).expect("base64"), vec![0xff, 0xfe]);
        assert_eq!(
            BASE64.decode(&r.stdout).expect("base64").len(),
            MAX_OUTPUT_BYTES
        );
        assert!(r.stdout_truncated && !r.stderr_truncated);
    }

    #[tokio::test]
    async fn the_wait_ends_at_the_deadline() {
        let stuck = |killed: bool| ExecRun {
            output: futures::stream::pending().boxed(),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill: Box::pin(async move { killed }),
        };
        for killed in [true, false] {
            let r = collected(stuck(killed), ends_in(Duration::from_millis(50)))
                .await
                .expect("ends");
            assert!(r.timed_out);
            assert_eq!((r.exit_code, r.killed), (None, killed));
            let body = axum::body::to_bytes(
                streamed(
                    stuck(killed),
                    ends_in(Duration::from_millis(50)),
                    SLOW,
                    None,
                )
                .into_body(),
                1 << 16,
            )
            .await
            .expect("the stream ends");
            let exit =
                format!(r#"{{"exit":{{"exit_code":null,"timed_out":true,"killed":{killed}}}}}"#);
            assert_eq!(String::from_utf8_lossy(&body).trim(), exit);
        }
    }

    /// Output that comes once, after `delay`.
    fn stdout_after(
        delay: Duration,
        text: &'static str,
    ) -> BoxStream<'static, CoreResult<ExecChunk>> {
        futures::stream::once(async move {
            tokio::time::sleep(delay).await;
            Ok(ExecChunk::Stdout(text.into()))
        })
        .boxed()
    }

    /// A silent command's stream sends empty lines until its output comes,
    /// and the output and the end are given whole around them.
    #[tokio::test]
    async fn a_silent_stream_sends_empty_lines() {
        let slow = ExecRun {
            output: stdout_after(Duration::from_millis(250), "late\n"),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill: Box::pin(async { panic!("a command that ended is not killed") }),
        };
        let body = axum::body::to_bytes(
            streamed(slow, later(), Duration::from_millis(40), None).into_body(),
            1 << 16,
        )
        .await
        .expect("the stream ends");
        let text = String::from_utf8_lossy(&body);
        let lines: Vec<&str> = text.lines().collect();
        let (blank, events): (Vec<&str>, Vec<&str>) = lines.iter().partition(|l| l.is_empty());
        assert!(blank.len() >= 3, "keep-alive lines while silent: {text:?}");
        assert_eq!(
            events,
            [
                r#"{"stdout":"bGF0ZQo="}"#,
                r#"{"exit":{"exit_code":0,"timed_out":false,"killed":false}}"#
            ],
            "{text:?}"
        );
        assert!(lines[0].is_empty(), "the silence comes first: {text:?}");
        // A collected answer has no keep-alive to give.
        let quiet = ExecRun {
            output: stdout_after(Duration::from_millis(100), "x"),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill: Box::pin(async { panic!("a command that ended is not killed") }),
        };
        let r = collected(quiet, later()).await.expect("ends");
        assert_eq!((r.stdout.as_str(), r.exit_code), ("x", Some(0)));
    }

    /// A command that closes its output and runs on: its exit code is
    /// waited for within the deadline (keep-alives meanwhile when
    /// streamed), and past the deadline it is killed as any other.
    #[tokio::test]
    async fn the_exit_is_waited_for_after_the_output_ends() {
        let late = || ExecRun {
            output: futures::stream::iter([Ok(ExecChunk::Stdout("bye\n".into()))]).boxed(),
            exit_code: Box::pin(async {
                tokio::time::sleep(Duration::from_millis(250)).await;
                Ok(Some(5))
            }),
            kill: Box::pin(async { panic!("a command that ended is not killed") }),
        };
        let r = collected(late(), later()).await.expect("ends");
        assert_eq!(
            (r.exit_code, r.timed_out, r.stdout.as_str()),
            (Some(5), false, "bye\n")
        );
        let body = axum::body::to_bytes(
            streamed(late(), later(), Duration::from_millis(40), None).into_body(),
            1 << 16,
        )
        .await
        .expect("the stream ends");
        let text = String::from_utf8_lossy(&body);
        let events: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            events,
            [
                r#"{"stdout":"YnllCg=="}"#,
                r#"{"exit":{"exit_code":5,"timed_out":false,"killed":false}}"#
            ],
            "{text:?}"
        );
        assert!(
            text.contains("\n\n"),
            "keep-alives while it runs on: {text:?}"
        );

        let (kill, ran) = watched_kill();
        let endless = ExecRun {
            output: futures::stream::empty().boxed(),
            exit_code: Box::pin(std::future::pending()),
            kill,
        };
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            collected(endless, ends_in(Duration::from_millis(100))),
        )
        .await
        .expect("the deadline bounds the wait for the exit")
        .expect("ends");
        assert_eq!((r.exit_code, r.timed_out, r.killed), (None, true, true));
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_shutdown_ends_the_wait() {
        let stuck = || ExecRun {
            output: futures::stream::pending().boxed(),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill: Box::pin(async { panic!("a shutdown does not kill the command") }),
        };
        let stopping = || Ends {
            deadline: Instant::now() + Duration::from_secs(60),
            shutdown: Box::pin(async {}),
        };
        let err = collected(stuck(), stopping()).await.expect_err("503");
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(
            streamed(stuck(), stopping(), SLOW, Some("req-7".to_owned())).into_body(),
            1 << 16,
        )
        .await
        .expect("the stream ends");
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.starts_with(r#"{"error":{"code":"UNAVAILABLE""#),
            "{text}"
        );
        assert!(
            text.trim_end().ends_with(r#","request_id":"req-7"}}"#),
            "the error line names the request: {text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    /// A kill that records that it ran.
    fn watched_kill() -> (
        BoxFuture<'static, bool>,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let kill = Box::pin(async move {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            true
        });
        (kill, ran)
    }

    /// Whether `ran` is set within a second (the kill runs in a task).
    async fn soon(ran: &std::sync::atomic::AtomicBool) -> bool {
        for _ in 0..100 {
            if ran.load(std::sync::atomic::Ordering::SeqCst) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_client_that_leaves_has_the_command_killed() {
        // Output, then nothing: the command still runs when the client
        // leaves.
        let running = |kill| ExecRun {
            output: futures::stream::iter([Ok(ExecChunk::Stdout("tick\n".into()))])
                .chain(futures::stream::pending())
                .boxed(),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill,
        };
        let (kill, ran) = watched_kill();
        let mut body = streamed(running(kill), later(), SLOW, None)
            .into_body()
            .into_data_stream();
        let first = body.next().await.expect("a line").expect("no error");
        assert!(first.starts_with(br#"{"stdout""#));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        drop(body);
        assert!(soon(&ran).await, "the streamed command is killed");

        let (kill, ran) = watched_kill();
        let waiting = tokio::spawn(collected(running(kill), later()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        waiting.abort();
        assert!(soon(&ran).await, "the collected command is killed");
    }

    #[tokio::test]
    async fn a_command_that_ended_or_a_shutdown_is_not_killed() {
        let ended = |kill| ExecRun {
            output: futures::stream::iter([Ok(ExecChunk::Stdout("done\n".into()))]).boxed(),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill,
        };
        let (kill, ran) = watched_kill();
        collected(ended(kill), later()).await.expect("ends");
        let (kill2, ran2) = watched_kill();
        axum::body::to_bytes(
            streamed(ended(kill2), later(), SLOW, None).into_body(),
            1 << 16,
        )
        .await
        .expect("the stream ends");
        let stopping = || Ends {
            deadline: Instant::now() + Duration::from_secs(60),
            shutdown: Box::pin(async {}),
        };
        let stuck = |kill| ExecRun {
            output: futures::stream::pending().boxed(),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill,
        };
        let (kill3, ran3) = watched_kill();
        collected(stuck(kill3), stopping()).await.expect_err("503");
        let (kill4, ran4) = watched_kill();
        axum::body::to_bytes(
            streamed(stuck(kill4), stopping(), SLOW, None).into_body(),
            1 << 16,
        )
        .await
        .expect("the stream ends");
        for (what, ran) in [
            ("collected", ran),
            ("streamed", ran2),
            ("collected at shutdown", ran3),
            ("streamed at shutdown", ran4),
        ] {
            assert!(!soon(&ran).await, "{what}: not killed");
        }
    }

    #[test]
    fn the_input_limit_is_the_same_on_both_sides_of_the_wire() {
        assert_eq!(
            miniaws_wire::MAX_EXEC_STDIN_BYTES,
            miniaws_core::compute::MAX_EXEC_STDIN_BYTES
        );
        let body = |stdin: &str| ExecCommand {
            command: Command::Args(vec!["cat".into()]),
            stdin: Some(stdin.into()),
            ..ExecCommand::default()
        };
        let spec = spec_of(body("aGk=\n")).expect("base64, a trailing newline allowed");
        assert_eq!(spec.stdin.as_deref(), Some(&b"hi"[..]));
        let wrapped = spec_of(body("aGVs\nbG8g\r\nd29y bGQ=")).expect("wrapped base64");
        assert_eq!(wrapped.stdin.as_deref(), Some(&b"hello world"[..]));
        assert!(spec_of(body("h!")).is_err());
    }

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(timeout_of(None).expect("default"), Duration::from_secs(60));
        assert!(timeout_of(Some(0)).is_err());
        assert!(timeout_of(Some(3601)).is_err());
        assert!(timeout_of(Some(3600)).is_ok());
    }

    #[test]
    fn the_stream_is_asked_for_by_accept() {
        let mut h = HeaderMap::new();
        assert!(!wants_stream(&h));
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, application/x-ndjson;q=0.9"),
        );
        assert!(wants_stream(&h));
    }
}
