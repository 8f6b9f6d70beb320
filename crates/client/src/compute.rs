//! `/instances`, `/instance-types` and `/images` calls.

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use uuid::Uuid;

use crate::{
    Client, ClientError, ExecCommand, ExecResult, Instance, InstancePage, InstanceStats,
    InstanceType, LaunchInstance,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use miniaws_wire::{ExecEvent, Image, ModifyInstance, TagPatch};

/// What a streamed exec reports, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecUpdate {
    /// Bytes the command wrote to standard output.
    Stdout(Bytes),
    /// Bytes the command wrote to standard error.
    Stderr(Bytes),
    /// The end: the exit code (`None` when unknown or timed out).
    Exit {
        /// The command's exit code.
        exit_code: Option<i64>,
        /// Whether the server stopped waiting at the timeout.
        timed_out: bool,
        /// Whether the server then killed the command (else it may still
        /// be running).
        killed: bool,
    },
}

/// Options of `GET /instances/{id}/logs`.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// Last N lines only.
    pub tail: Option<u32>,
    /// Only since this time (Unix seconds).
    pub since_unix: Option<i64>,
    /// Keep streaming.
    pub follow: bool,
    /// Prefix timestamps.
    pub timestamps: bool,
}

impl LogsOptions {
    fn query(&self) -> String {
        let mut q = Vec::new();
        if let Some(t) = self.tail {
            q.push(format!("tail={t}"));
        }
        if let Some(s) = self.since_unix {
            q.push(format!("since={s}"));
        }
        if self.follow {
            q.push("follow=true".into());
        }
        if self.timestamps {
            q.push("timestamps=true".into());
        }
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    }
}

/// How long a launch whose answer was lost is sent again: long enough for a
/// supervisor to restart a crashed server, short enough not to leave a user
/// staring at a silent terminal.
pub(crate) const LAUNCH_RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(15);
/// The pause before the first resend; doubled after each, up to the next.
const LAUNCH_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);
const LAUNCH_MAX_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

impl Client {
    /// Launches an instance; answers once it runs (or failed). The
    /// request carries a fresh `Idempotency-Key`, so a launch whose answer
    /// was lost on the way (the connection broke, or the server restarted)
    /// is sent again, for up to 15 s, without launching a second instance.
    ///
    /// # Errors
    /// `Api` 400 for invalid input, 404 for a missing image, 409 for a
    /// taken name (`CONFLICT`) or host port (`PORT_CONFLICT`), 503 without
    /// Docker.
    pub async fn launch_instance(&self, launch: &LaunchInstance) -> Result<Instance, ClientError> {
        self.launch_instance_with_key(launch, &Uuid::new_v4().to_string())
            .await
    }

    /// [`launch_instance`](Self::launch_instance) with the caller's
    /// idempotency key (1–64 printable ASCII characters): the same key and
    /// launch, sent again (by another process, after a restart), answer the
    /// instance the first one made.
    ///
    /// # Errors
    /// As [`launch_instance`](Self::launch_instance); `Api` 422
    /// `IDEMPOTENCY_KEY_REUSED` for a key used before with another launch;
    /// [`ClientError::LaunchUnconfirmed`] when the launch was sent, its
    /// answer lost, and the server did not answer again within 15 s.
    pub async fn launch_instance_with_key(
        &self,
        launch: &LaunchInstance,
        key: &str,
    ) -> Result<Instance, ClientError> {
        let started = std::time::Instant::now();
        let mut pause = LAUNCH_FIRST_PAUSE;
        // Set once an attempt's connection broke after the request went out:
        // from then on the launch may exist, and a refused connection means
        // the server is restarting, not that the launch was never sent.
        let mut lost: Option<String> = None;
        loop {
            let request = self
                .request_unbounded(Method::POST, "/instances")
                .header("Idempotency-Key", key)
                .json(launch);
            match self.send_json(request).await {
                Err(ClientError::Transport(message)) => {
                    lost.get_or_insert(message);
                }
                Err(ClientError::Connect { .. }) if lost.is_some() => {}
                answer => return answer,
            }
            if started.elapsed() + pause > self.launch_retry_window {
                return Err(ClientError::LaunchUnconfirmed {
                    key: key.to_owned(),
                    message: lost.unwrap_or_default(),
                    secs: started.elapsed().as_secs().max(1),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LAUNCH_MAX_PAUSE);
        }
    }

    /// One page of the caller's instances (`all`: terminated ones too).
    ///
    /// # Errors
    /// `Api` 400 for a bad limit or token.
    pub async fn list_instances_page(
        &self,
        all: bool,
        limit: Option<u32>,
        next_token: Option<&str>,
    ) -> Result<InstancePage, ClientError> {
        let mut q = vec![format!("all={all}")];
        if let Some(l) = limit {
            q.push(format!("limit={l}"));
        }
        if let Some(t) = next_token {
            q.push(format!("next_token={t}"));
        }
        let res = self
            .send(self.request(Method::GET, &format!("/instances?{}", q.join("&"))))
            .await?;
        let bytes = res.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Every instance of the caller, following pages.
    ///
    /// # Errors
    /// As [`Client::list_instances_page`].
    pub async fn list_instances(&self, all: bool) -> Result<Vec<Instance>, ClientError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .list_instances_page(all, Some(1000), token.as_deref())
                .await?;
            out.extend(page.data);
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Describes one instance.
    ///
    /// # Errors
    /// `Api` 404 for unknown (or other owners') instances.
    pub async fn get_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.send_json(self.request(Method::GET, &format!("/instances/{id}")))
            .await
    }

    async fn instance_action(&self, id: Uuid, action: &str) -> Result<Instance, ClientError> {
        self.send_json(self.request_unbounded(Method::POST, &format!("/instances/{id}/{action}")))
            .await
    }

    /// Stops a running instance.
    ///
    /// # Errors
    /// `Api` 409 naming the state when it does not run; 404; 503.
    pub async fn stop_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.instance_action(id, "stop").await
    }

    /// Starts a stopped instance.
    ///
    /// # Errors
    /// `Api` 409 naming the state when it is not stopped; 404; 503.
    pub async fn start_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.instance_action(id, "start").await
    }

    /// Reboots a running instance.
    ///
    /// # Errors
    /// `Api` 409 naming the state when it does not run; 404; 503.
    pub async fn reboot_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.instance_action(id, "reboot").await
    }

    /// Terminates an instance (idempotent).
    ///
    /// # Errors
    /// `Api` 404; 503.
    pub async fn terminate_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.send_json(self.request_unbounded(Method::DELETE, &format!("/instances/{id}")))
            .await
    }

    /// Renames an instance or changes its type (it must be stopped then).
    ///
    /// # Errors
    /// `Api` 400 for a bad name or type or nothing to change, 409 for a
    /// taken name or an instance that is not stopped, 404.
    pub async fn modify_instance(
        &self,
        id: Uuid,
        modify: &ModifyInstance,
    ) -> Result<Instance, ClientError> {
        self.send_json(
            self.request(Method::PATCH, &format!("/instances/{id}"))
                .json(modify),
        )
        .await
    }

    /// Changes an instance's tags: a value sets its key, `None` removes it.
    ///
    /// # Errors
    /// `Api` 400 for a key or value that breaks the tag rules (or more
    /// than 50 tags), 404.
    pub async fn tag_instance(&self, id: Uuid, patch: &TagPatch) -> Result<Instance, ClientError> {
        self.send_json(
            self.request(Method::PATCH, &format!("/instances/{id}/tags"))
                .json(patch),
        )
        .await
    }

    /// One stats sample of a running instance.
    ///
    /// # Errors
    /// `Api` 409 when it does not run; 404; 503.
    pub async fn instance_stats(&self, id: Uuid) -> Result<InstanceStats, ClientError> {
        self.send_json(self.request(Method::GET, &format!("/instances/{id}/stats")))
            .await
    }

    /// The instance's log so far (without `follow`).
    ///
    /// # Errors
    /// `Api` 409 when it has no container; 404; 503.
    pub async fn instance_logs(
        &self,
        id: Uuid,
        options: &LogsOptions,
    ) -> Result<String, ClientError> {
        let options = LogsOptions {
            follow: false,
            ..options.clone()
        };
        let res = self
            .send(self.request_unbounded(
                Method::GET,
                &format!("/instances/{id}/logs{}", options.query()),
            ))
            .await?;
        res.text().await.map_err(|e| self.transport_error(e))
    }

    /// The instance's log as a stream of chunks; with `follow` it lasts
    /// until the container stops or the stream is dropped.
    ///
    /// # Errors
    /// As [`Client::instance_logs`].
    pub async fn instance_logs_stream(
        &self,
        id: Uuid,
        options: &LogsOptions,
    ) -> Result<impl Stream<Item = Result<Bytes, ClientError>> + use<>, ClientError> {
        let res = self
            .send(self.request_unbounded(
                Method::GET,
                &format!("/instances/{id}/logs{}", options.query()),
            ))
            .await?;
        Ok(res
            .bytes_stream()
            .map(|r| r.map_err(|e| ClientError::Transport(e.to_string()))))
    }

    /// Runs a command in a running instance and waits for it to end.
    ///
    /// # Errors
    /// `Api` 400 for a bad command, 409 naming the state when the instance
    /// does not run; 404; 503.
    pub async fn exec_instance(
        &self,
        id: Uuid,
        command: &ExecCommand,
    ) -> Result<ExecResult, ClientError> {
        self.send_json(
            self.request_unbounded(Method::POST, &format!("/instances/{id}/exec"))
                .json(command),
        )
        .await
    }

    /// Runs a command in a running instance, its output streamed as it
    /// comes; the stream ends with [`ExecUpdate::Exit`]. The server kills
    /// the command when the connection closes before then (a process that
    /// exits); dropping the stream stops the reading, and its connection
    /// stays open until the server's next line: the command's next output,
    /// or the empty line the server sends every 3 s while it is silent.
    ///
    /// # Errors
    /// As [`Client::exec_instance`]; a stream item is an error when the
    /// server reports one mid-way or a line cannot be read.
    pub async fn exec_instance_stream(
        &self,
        id: Uuid,
        command: &ExecCommand,
    ) -> Result<impl Stream<Item = Result<ExecUpdate, ClientError>> + use<>, ClientError> {
        let res = self
            .send(
                self.request_unbounded(Method::POST, &format!("/instances/{id}/exec"))
                    .header(reqwest::header::ACCEPT, "application/x-ndjson")
                    .json(command),
            )
            .await?;
        let request_id = crate::error::request_id_of(&res);
        let bytes = res
            .bytes_stream()
            .map(|r| r.map_err(|e| ClientError::Transport(e.to_string())));
        Ok(exec_updates(bytes, request_id))
    }

    /// The instance-type catalogue.
    ///
    /// # Errors
    /// `Api` 401 without a key.
    pub async fn instance_types(&self) -> Result<Vec<InstanceType>, ClientError> {
        self.send_json(self.request(Method::GET, "/instance-types"))
            .await
    }

    /// The images present in the server's container runtime (which a
    /// launch uses without pulling), by name.
    ///
    /// # Errors
    /// `Api` 401 without a key, 503 when Docker is unavailable.
    pub async fn images(&self) -> Result<Vec<Image>, ClientError> {
        self.send_json(self.request(Method::GET, "/images")).await
    }
}

/// Splits a byte stream into lines (without their `\n`); a last line
/// without one is a line too.
fn ndjson_lines(
    bytes: impl Stream<Item = Result<Bytes, ClientError>> + Send + 'static,
) -> impl Stream<Item = Result<Vec<u8>, ClientError>> {
    let bytes = Box::pin(bytes);
    futures::stream::unfold(
        (bytes, Vec::new(), false),
        |(mut bytes, mut buf, mut ended)| async move {
            loop {
                if let Some(at) = buf.iter().position(|b| *b == b'\n') {
                    let mut line: Vec<u8> = buf.drain(..=at).collect();
                    line.pop();
                    return Some((Ok(line), (bytes, buf, ended)));
                }
                if ended {
                    if buf.is_empty() {
                        return None;
                    }
                    let line = std::mem::take(&mut buf);
                    return Some((Ok(line), (bytes, buf, true)));
                }
                match bytes.next().await {
                    Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                    Some(Err(e)) => return Some((Err(e), (bytes, Vec::new(), true))),
                    None => ended = true,
                }
            }
        },
    )
}

/// A streamed exec's answer as updates. Empty lines are the server's
/// keep-alive while the command is silent: nothing to give.
/// `request_id` is the answer's `X-Request-Id`.
fn exec_updates(
    bytes: impl Stream<Item = Result<Bytes, ClientError>> + Send + 'static,
    request_id: Option<String>,
) -> impl Stream<Item = Result<ExecUpdate, ClientError>> {
    ndjson_lines(bytes)
        .try_filter(|line| futures::future::ready(!line.is_empty()))
        .map(move |line| line.and_then(|l| decode_event(&l, request_id.as_deref())))
}

/// One line of a streamed exec, decoded; the server's error line is an
/// error, naming the request by the line's id, else by the answer's
/// (`request_id`: a server that put none in the line).
fn decode_event(line: &[u8], request_id: Option<&str>) -> Result<ExecUpdate, ClientError> {
    let event: ExecEvent =
        serde_json::from_slice(line).map_err(|e| ClientError::Decode(e.to_string()))?;
    let decode = |text: &str| {
        BASE64
            .decode(text)
            .map(Bytes::from)
            .map_err(|e| ClientError::Decode(format!("output that is not base64: {e}")))
    };
    Ok(match event {
        ExecEvent::Stdout(b) => ExecUpdate::Stdout(decode(&b)?),
        ExecEvent::Stderr(b) => ExecUpdate::Stderr(decode(&b)?),
        ExecEvent::Exit {
            exit_code,
            timed_out,
            killed,
        } => ExecUpdate::Exit {
            exit_code,
            timed_out,
            killed,
        },
        ExecEvent::Error {
            code,
            message,
            request_id: in_line,
        } => {
            return Err(ClientError::Api {
                status: reqwest::StatusCode::OK,
                kind: code,
                message,
                request_id: in_line.or_else(|| request_id.map(str::to_owned)),
            });
        }
    })
}

#[cfg(test)]
mod exec_tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_split_across_chunks_and_keepalives_skipped() {
        let chunks = vec![
            Ok(Bytes::from_static(b"\n\n{\"stdout\":\"aGk=\"}\n\n{\"exi")),
            Ok(Bytes::from_static(
                b"t\":{\"exit_code\":2,\"timed_out\":false}}",
            )),
        ];
        let updates: Vec<_> = exec_updates(futures::stream::iter(chunks), None)
            .collect()
            .await;
        assert_eq!(updates.len(), 2, "{updates:?}");
        assert_eq!(
            updates[0].as_ref().expect("stdout"),
            &ExecUpdate::Stdout(Bytes::from_static(b"hi"))
        );
        assert_eq!(
            updates[1].as_ref().expect("exit"),
            &ExecUpdate::Exit {
                exit_code: Some(2),
                timed_out: false,
                killed: false,
            }
        );
        let err = decode_event(
            br#"{"error":{"code":"UNAVAILABLE","message":"gone"}}"#,
            None,
        )
        .expect_err("an error line");
        assert!(err.to_string().contains("gone"), "{err}");
        // The line's id, else the answer's.
        let line = br#"{"error":{"code":"UNAVAILABLE","message":"gone","request_id":"in-line"}}"#;
        for (answer, expected) in [(None, "in-line"), (Some("in-header"), "in-line")] {
            let err = decode_event(line, answer).expect_err("an error line");
            assert_eq!(err.request_id(), Some(expected));
        }
        let err = decode_event(
            br#"{"error":{"code":"UNAVAILABLE","message":"gone"}}"#,
            Some("in-header"),
        )
        .expect_err("an error line");
        assert_eq!(err.request_id(), Some("in-header"));
    }
}
