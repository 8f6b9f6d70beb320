//! `GET /instances/{id}/exec/tty` against the real Docker daemon: a shell
//! in a terminal over a WebSocket (typing, resizing, the exit code), the
//! refusals made before the upgrade, and the kill of a command whose
//! session ends first.

mod compute_support;

use compute_support::{ContainerGuard, SLEEP, containers_of, docker, launch, server};
use miniaws_client::{ClientError, TtyReader, TtyRequest, TtyUpdate, TtyWriter};
use miniaws_testkit::Backend;
use std::time::Duration;
use tokio_tungstenite::tungstenite;

/// The status, `type` and message of a refused session; `what` names the
/// case when it was not refused.
async fn refused(
    client: &miniaws_client::Client,
    id: uuid::Uuid,
    request: &TtyRequest,
    what: &str,
) -> (u16, String, String) {
    match client.exec_tty(id, request).await {
        Err(ClientError::Api {
            status,
            kind,
            message,
            ..
        }) => (status.as_u16(), kind, message),
        Err(other) => panic!("{what}: an API error, not {other:?}"),
        Ok(_) => panic!("{what}: refused, not opened"),
    }
}

fn shell(command: &[&str], rows: u16, cols: u16) -> TtyRequest {
    TtyRequest {
        command: command.iter().map(|s| (*s).to_owned()).collect(),
        env: Default::default(),
        working_dir: None,
        user: None,
        rows,
        cols,
    }
}

/// Reads the session's output until it holds `needle` (within 20 s); the
/// output read.
async fn read_until(reader: &mut TtyReader, seen: &mut String, needle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains(needle) {
        let next = tokio::time::timeout_at(deadline, reader.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within 20 s; the terminal showed {seen:?}"));
        match next {
            Some(Ok(TtyUpdate::Output(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
            other => panic!("waiting for {needle:?}: {other:?}; the terminal showed {seen:?}"),
        }
    }
}

/// Types `line` and a return.
async fn type_line(writer: &mut TtyWriter, line: &str) {
    writer
        .send(format!("{line}\r").into_bytes().into())
        .await
        .expect("typed");
}

#[tokio::test]
async fn a_shell_in_a_terminal_takes_typing_and_resizes_and_exits() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "tty").await;
    let inst = client
        .launch_instance(&launch("box", &image, SLEEP))
        .await
        .expect("launch");

    let (mut writer, mut reader) = client
        .exec_tty(inst.id, &shell(&["sh"], 30, 100))
        .await
        .expect("the session opens");
    let mut seen = String::new();
    // The size asked for at the start is the terminal's.
    type_line(&mut writer, "stty size").await;
    read_until(&mut reader, &mut seen, "30 100").await;
    // What is typed is run (the echo shows the line, the answer is 42).
    type_line(&mut writer, "echo $((6*7))").await;
    read_until(&mut reader, &mut seen, "\n42\r\n").await;
    // A resize reaches the terminal.
    writer.resize(40, 132).await.expect("resized");
    type_line(&mut writer, "stty size").await;
    read_until(&mut reader, &mut seen, "40 132").await;
    // It is a terminal: `test -t` says so, as `tty` does.
    type_line(&mut writer, "test -t 0 && echo on-a-tty").await;
    read_until(&mut reader, &mut seen, "on-a-tty\r\n").await;

    type_line(&mut writer, "exit 3").await;
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(20), reader.next())
            .await
            .expect("the session ends")
        {
            Some(Ok(TtyUpdate::Output(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
            other => break other,
        }
    };
    assert!(
        matches!(end, Some(Ok(TtyUpdate::Exit(Some(3))))),
        "{end:?}; the terminal showed {seen:?}"
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), reader.next())
        .await
        .expect("the close frame comes");
    assert!(closed.is_none(), "then the close frame: {closed:?}");
}

/// A terminal's output is raw: bytes that would begin a frame of the
/// multiplexed output of an exec without a terminal (a 0, 1 or 2, then a
/// length) come through as they are, and what follows them too.
#[tokio::test]
async fn raw_output_comes_through_byte_for_byte() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "raw").await;
    let inst = client
        .launch_instance(&launch("box", &image, SLEEP))
        .await
        .expect("launch");
    let script = r"printf '\001\000\000\000\377\377\377\377raw'; sleep 1; printf end";
    let (_writer, mut reader) = client
        .exec_tty(inst.id, &shell(&["sh", "-c", script], 24, 80))
        .await
        .expect("the session opens");
    let mut shown = Vec::new();
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(20), reader.next())
            .await
            .unwrap_or_else(|_| panic!("the output stalled after {shown:?}"))
        {
            Some(Ok(TtyUpdate::Output(b))) => shown.extend_from_slice(&b),
            other => break other,
        }
    };
    assert!(matches!(end, Some(Ok(TtyUpdate::Exit(Some(0))))), "{end:?}");
    assert_eq!(shown, b"\x01\x00\x00\x00\xff\xff\xff\xffrawend");
}

/// A command Docker cannot start ends the session with an
/// `INVALID_INPUT` error naming why, and nothing on the terminal (Docker
/// would show its message there and exit 126).
#[tokio::test]
async fn a_command_that_cannot_start_ends_the_session_with_an_error() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "nostart").await;
    let inst = client
        .launch_instance(&launch("box", &image, SLEEP))
        .await
        .expect("launch");
    let (_writer, mut reader) = client
        .exec_tty(inst.id, &shell(&["no-such-program"], 24, 80))
        .await
        .expect("the session opens");
    let end = tokio::time::timeout(Duration::from_secs(20), reader.next())
        .await
        .expect("the session ends");
    match end {
        Some(Err(ClientError::Api { kind, message, .. })) => {
            assert_eq!(kind, "INVALID_INPUT", "{message}");
            assert!(
                message.contains(
                    "could not be started in the instance: exec: \"no-such-program\": executable file not found"
                ),
                "{message}"
            );
        }
        other => panic!("an error, not {other:?}"),
    }
}

/// Every refusal is the usual JSON error, before any upgrade.
#[tokio::test]
async fn refusals_come_before_the_upgrade() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, created) = server.user("owner").await;
    guard.watch(created.user_id);
    let key = created.key;
    let (other, _) = guard.user(&server, "other").await;
    let inst = client
        .launch_instance(&launch("box", &image, SLEEP))
        .await
        .expect("launch");
    let sh = shell(&["sh"], 24, 80);

    let (status, kind, _) = refused(&other, inst.id, &sh, "another owner's").await;
    assert_eq!((status, kind.as_str()), (404, "NOT_FOUND"));
    let (status, _, _) = refused(&server.client(), inst.id, &sh, "no key").await;
    assert_eq!(status, 401);

    // Bad input: the same checks as exec, and the terminal's size.
    let bad = [
        // Told in the query's terms, not exec's JSON list.
        (
            "no command",
            shell(&[], 24, 80),
            "command is empty: give the program and each of its arguments as a `command` parameter",
        ),
        (
            "empty program",
            shell(&[""], 24, 80),
            "?command=ls&command=-l",
        ),
        ("no rows", shell(&["sh"], 0, 80), "rows and columns"),
        ("too wide", shell(&["sh"], 24, 5000), "rows and columns"),
        (
            "bad user",
            TtyRequest {
                user: Some("root;rm".into()),
                ..sh.clone()
            },
            "user must be",
        ),
        (
            "relative dir",
            TtyRequest {
                working_dir: Some("tmp".into()),
                ..sh.clone()
            },
            "absolute path",
        ),
        (
            "bad variable",
            TtyRequest {
                env: [("A".to_owned(), "x\0y".to_owned())].into(),
                ..sh.clone()
            },
            "NUL",
        ),
    ];
    for (what, request, says) in bad {
        let (status, kind, message) = refused(&client, inst.id, &request, what).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "INVALID_INPUT"),
            "{what}: {message}"
        );
        assert!(message.contains(says), "{what}: {message}");
    }

    // Seen by a bare WebSocket client: a 400 with the JSON body, no 101;
    // an unknown parameter is refused too.
    for query in ["command=sh&rows=0", "command=sh&tty=yes"] {
        let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
            "{}/instances/{}/exec/tty?{query}",
            server.url().replacen("http", "ws", 1),
            inst.id
        ))
        .expect("request");
        req.headers_mut()
            .insert("x-api-key", key.parse().expect("header"));
        match tokio_tungstenite::connect_async(req).await {
            Err(tungstenite::Error::Http(answer)) => {
                assert_eq!(answer.status(), 400, "{query}");
                let body = String::from_utf8_lossy(answer.body().as_deref().unwrap_or_default())
                    .into_owned();
                assert!(
                    body.starts_with(r#"{"error":{"message":"#) && body.contains("INVALID_INPUT"),
                    "{query}: {body}"
                );
            }
            other => panic!(
                "{query}: refused before the upgrade, not {:?}",
                other.map(|_| ())
            ),
        }
    }
    // A request that is no WebSocket upgrade is told what to do.
    let plain = reqwest::Client::new()
        .get(format!(
            "{}/instances/{}/exec/tty?command=sh",
            server.url(),
            inst.id
        ))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("answered");
    assert_eq!(plain.status(), 400);
    let body = plain.text().await.expect("body");
    assert!(body.contains("opens a WebSocket"), "{body}");

    // Not running: 409 naming the state.
    client.stop_instance(inst.id).await.expect("stop");
    let (status, kind, message) = refused(&client, inst.id, &sh, "stopped").await;
    assert_eq!((status, kind.as_str()), (409, "CONFLICT"), "{message}");
    assert!(message.contains("STOPPED"), "{message}");
}

/// Whether `marker` runs in the instance's container, asked of Docker
/// directly (the server may be gone).
fn runs_in(container: &str, marker: &str) -> bool {
    docker(&["exec", container, "ps"]).contains(marker)
}

/// Waits up to 30 s for `marker` to be gone from `container`.
async fn assert_gone(container: &str, marker: &str, what: &str) {
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while runs_in(container, marker) {
        assert!(
            tokio::time::Instant::now() < until,
            "{what}: `{marker}` still runs after 30 s:\n{}",
            docker(&["exec", container, "ps"])
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits up to 20 s for `marker` to run in `container`.
async fn assert_runs(container: &str, marker: &str) {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while !runs_in(container, marker) {
        assert!(tokio::time::Instant::now() < until, "`{marker}` never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A command does not outlive its session: a client that drops its
/// socket, and a server that shuts down, have it killed with what it
/// started.
#[tokio::test]
async fn a_session_that_ends_first_has_its_command_killed() {
    let Some((mut server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, owner) = guard.user(&server, "leaver").await;
    let inst = client
        .launch_instance(&launch("box", &image, SLEEP))
        .await
        .expect("launch");
    let container = containers_of(&owner.to_string())
        .pop()
        .expect("the instance's container");

    // The client drops its socket while a child of the shell runs.
    let (mut writer, reader) = client
        .exec_tty(inst.id, &shell(&["sh"], 24, 80))
        .await
        .expect("the session opens");
    type_line(&mut writer, "sleep 1000").await;
    assert_runs(&container, "sleep 1000").await;
    drop((writer, reader));
    assert_gone(&container, "sleep 1000", "a client that left").await;

    // The server shuts down: the session ends with an error frame, and
    // its command is killed before the server exits.
    let (mut writer, mut reader) = client
        .exec_tty(inst.id, &shell(&["sh", "-c", "sleep 1001"], 24, 80))
        .await
        .expect("the session opens");
    assert_runs(&container, "sleep 1001").await;
    let stopping = tokio::spawn(async move { server.stop().await });
    let end = tokio::time::timeout(Duration::from_secs(20), reader.next())
        .await
        .expect("the session ends");
    match end {
        Some(Err(ClientError::Api { kind, message, .. })) => {
            assert_eq!(kind, "UNAVAILABLE", "{message}");
            assert!(message.contains("shutting down"), "{message}");
        }
        other => panic!("an error frame, not {other:?}"),
    }
    assert!(stopping.await.expect("stopped"), "a graceful exit");
    assert!(
        !runs_in(&container, "sleep 1001"),
        "killed before the server exited:\n{}",
        docker(&["exec", &container, "ps"])
    );
    let _ = writer.close().await;
}
