//! `POST /instances/{id}/exec` against the real Docker daemon: commands run
//! in a running instance, their output (JSON or streamed), exit codes,
//! timeouts, refusals and ownership.

mod compute_support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use compute_support::{ContainerGuard, SLEEP, api_err, launch, server};
use futures::StreamExt;
use miniaws_client::{Command, ExecCommand, ExecUpdate};
use miniaws_testkit::Backend;
use std::time::Duration;

fn args(command: &[&str]) -> ExecCommand {
    ExecCommand {
        command: Command::Args(command.iter().map(|s| (*s).to_owned()).collect()),
        ..ExecCommand::default()
    }
}

#[tokio::test]
async fn exec_runs_commands_in_a_running_instance() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "exec").await;
    let inst = client
        .launch_instance(&launch("box", &image, SLEEP))
        .await
        .expect("launch");

    // Output, exit code, env, working directory and user.
    let r = client
        .exec_instance(
            inst.id,
            &ExecCommand {
                env: [("GREETING".to_owned(), "hello".to_owned())].into(),
                working_dir: Some("/tmp".into()),
                user: Some("1000:1000".into()),
                ..args(&[
                    "sh",
                    "-c",
                    "echo $GREETING; pwd; id -u; echo oops >&2; exit 7",
                ])
            },
        )
        .await
        .expect("exec");
    assert_eq!(r.exit_code, Some(7), "{r:?}");
    assert_eq!(r.stdout, "hello\n/tmp\n1000\n");
    assert_eq!(r.stderr, "oops\n");
    assert_eq!(r.encoding, "utf-8");
    assert!(!r.timed_out && !r.stdout_truncated && !r.stderr_truncated);

    // Standard input: given whole, then closed (the command sees its end);
    // binary and large input arrive intact; none at all by default.
    let r = client
        .exec_instance(
            inst.id,
            &ExecCommand {
                stdin: Some(BASE64.encode("line one\nline two\n")),
                ..args(&["cat"])
            },
        )
        .await
        .expect("exec");
    assert_eq!(
        (r.exit_code, r.stdout.as_str()),
        (Some(0), "line one\nline two\n")
    );
    let input: Vec<u8> = (0..miniaws_client::wire::MAX_EXEC_STDIN_BYTES)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let r = client
        .exec_instance(
            inst.id,
            &ExecCommand {
                stdin: Some(BASE64.encode(&input)),
                ..args(&["cat"])
            },
        )
        .await
        .expect("exec");
    assert_eq!((r.exit_code, r.encoding.as_str()), (Some(0), "base64"));
    assert!(
        BASE64.decode(&r.stdout).expect("base64") == input,
        "the input comes back byte for byte"
    );
    // A command that exits without reading its input ends as it would.
    let r = client
        .exec_instance(
            inst.id,
            &ExecCommand {
                stdin: Some(BASE64.encode(&input)),
                timeout_secs: Some(20),
                ..args(&["sh", "-c", "exit 3"])
            },
        )
        .await
        .expect("exec");
    assert_eq!((r.exit_code, r.timed_out), (Some(3), false), "{r:?}");
    let r = client
        .exec_instance(inst.id, &args(&["cat"]))
        .await
        .expect("exec");
    assert_eq!((r.exit_code, r.stdout.as_str()), (Some(0), ""));
    let script: Vec<ExecUpdate> = client
        .exec_instance_stream(
            inst.id,
            &ExecCommand {
                stdin: Some(BASE64.encode("echo from-script\nexit 5\n")),
                ..args(&["sh"])
            },
        )
        .await
        .expect("exec")
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("no errors");
    assert_eq!(
        script,
        vec![
            ExecUpdate::Stdout("from-script\n".into()),
            ExecUpdate::Exit {
                exit_code: Some(5),
                timed_out: false,
                killed: false,
            }
        ]
    );

    // One line, split like a shell.
    let line = ExecCommand {
        command: Command::Line("echo 'two words' three".into()),
        ..ExecCommand::default()
    };
    let r = client.exec_instance(inst.id, &line).await.expect("exec");
    assert_eq!(r.stdout, "two words three\n");

    // Bytes that are not text come back in base64, exactly.
    let r = client
        .exec_instance(inst.id, &args(&["printf", "a\\377\\000b"]))
        .await
        .expect("exec");
    assert_eq!(r.encoding, "base64");
    assert_eq!(BASE64.decode(&r.stdout).expect("base64"), b"a\xff\0b");

    // More than a MiB: the first MiB, flagged.
    let r = client
        .exec_instance(
            inst.id,
            &args(&["sh", "-c", "head -c 1500000 /dev/zero | tr '\\0' x"]),
        )
        .await
        .expect("exec");
    assert_eq!(r.exit_code, Some(0));
    assert!(r.stdout_truncated && !r.stderr_truncated, "truncated");
    assert_eq!(r.stdout.len(), 1024 * 1024);
    assert!(r.stdout.bytes().all(|b| b == b'x'));

    // A program that does not exist: 400 with the runtime's words (see
    // `commands_that_cannot_start_are_bad_input` for the rest).
    let message = refused(
        client
            .exec_instance(inst.id, &args(&["no-such-program"]))
            .await,
    );
    assert!(message.contains("\"no-such-program\""), "{message}");

    // A command that closes its output and runs on: its exit code comes
    // once it has ended.
    let r = client
        .exec_instance(
            inst.id,
            &args(&["sh", "-c", "echo bye; exec >&- 2>&-; sleep 3; exit 5"]),
        )
        .await
        .expect("exec");
    assert_eq!((r.exit_code, r.timed_out), (Some(5), false), "{r:?}");
    assert_eq!(r.stdout, "bye\n");
    // Past the timeout it is killed like any other.
    let r = client
        .exec_instance(
            inst.id,
            &ExecCommand {
                timeout_secs: Some(1),
                ..args(&["sh", "-c", "exec >&- 2>&-; exec sleep 307"])
            },
        )
        .await
        .expect("exec");
    assert!(r.timed_out && r.killed && r.exit_code.is_none(), "{r:?}");
    let ps = client
        .exec_instance(inst.id, &args(&["ps"]))
        .await
        .expect("ps");
    assert!(!ps.stdout.contains("sleep 307"), "{}", ps.stdout);

    // The wait ends at the timeout; the command and what it started are
    // killed, and the answer says both. Streamed, the same.
    let r = client
        .exec_instance(
            inst.id,
            &ExecCommand {
                timeout_secs: Some(1),
                ..args(&["sh", "-c", "echo started; sleep 300 & sleep 301"])
            },
        )
        .await
        .expect("exec");
    assert!(r.timed_out && r.killed, "{r:?}");
    assert_eq!(r.exit_code, None);
    assert_eq!(r.stdout, "started\n");
    let streamed: Vec<ExecUpdate> = client
        .exec_instance_stream(
            inst.id,
            &ExecCommand {
                timeout_secs: Some(1),
                ..args(&["sh", "-c", "sleep 302 & sleep 303"])
            },
        )
        .await
        .expect("exec")
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("no errors");
    assert_eq!(
        streamed,
        vec![ExecUpdate::Exit {
            exit_code: None,
            timed_out: true,
            killed: true,
        }]
    );
    let ps = client
        .exec_instance(inst.id, &args(&["ps"]))
        .await
        .expect("ps");
    assert!(
        !ps.stdout.contains("sleep 30"),
        "nothing of theirs is left: {}",
        ps.stdout
    );
}

/// The streamed answer gives output while the command still runs: the
/// command waits for a file that a second exec creates only after the
/// first line has arrived.
#[tokio::test]
async fn streamed_output_arrives_while_the_command_runs() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "streamer").await;
    let inst = client
        .launch_instance(&launch("live", &image, SLEEP))
        .await
        .expect("launch");
    let waiter = args(&[
        "sh",
        "-c",
        "echo first; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo second >&2; exit 4",
    ]);
    let (stream, first) = first_update(&client, inst.id, &waiter).await;
    assert_eq!(first, ExecUpdate::Stdout("first\n".into()));
    let go = client
        .exec_instance(inst.id, &args(&["touch", "/tmp/go"]))
        .await
        .expect("exec");
    assert_eq!(go.exit_code, Some(0));
    let rest: Vec<ExecUpdate> =
        tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
            .await
            .expect("the command ends")
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("no errors");
    assert_eq!(
        rest,
        vec![
            ExecUpdate::Stderr("second\n".into()),
            ExecUpdate::Exit {
                exit_code: Some(4),
                timed_out: false,
                killed: false,
            }
        ]
    );
}

/// Starts a streamed exec of `command` and waits (up to 20 s) for its
/// first update: the rest of the stream, and that update.
async fn first_update(
    client: &miniaws_client::Client,
    id: uuid::Uuid,
    command: &ExecCommand,
) -> (
    futures::stream::BoxStream<'static, Result<ExecUpdate, miniaws_client::ClientError>>,
    ExecUpdate,
) {
    let mut stream = client
        .exec_instance_stream(id, command)
        .await
        .expect("exec")
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("the first update comes before the command ends")
        .expect("an update")
        .expect("not an error");
    (stream, first)
}

/// Asserts that no process whose command line holds `marker` runs in the
/// instance within 30 s (asked every 200 ms); the failure shows the last
/// `ps` and what the server logged about clients that left.
async fn assert_gone(
    server: &miniaws_testkit::TestServer,
    client: &miniaws_client::Client,
    id: uuid::Uuid,
    marker: &str,
    what: &str,
) {
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ps = client.exec_instance(id, &args(&["ps"])).await.expect("ps");
        if !ps.stdout.contains(marker) {
            return;
        }
        if tokio::time::Instant::now() > until {
            let log = server.log();
            let kills: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("client left") || l.contains("kill"))
                .collect();
            panic!(
                "{what}: `{marker}` still runs after 30 s\nps:\n{}\nthe server on leavers:\n{}",
                ps.stdout,
                kills.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client that leaves before its command ends (Ctrl-C of `cloud compute
/// exec`) has the command killed, with what it started, in both forms of
/// the answer; `docker exec` would leave it running.
#[tokio::test]
async fn a_client_that_leaves_has_its_command_killed() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("leaver").await;
    guard.watch(key.user_id);
    let inst = client
        .launch_instance(&launch("left", &image, SLEEP))
        .await
        .expect("launch");

    // Streamed: the client reads a line and goes.
    let ticking = args(&[
        "sh",
        "-c",
        "sleep 401 & while true; do echo streamed-marker; sleep 0.2; done",
    ]);
    let (stream, first) = first_update(&client, inst.id, &ticking).await;
    assert!(matches!(first, ExecUpdate::Stdout(_)), "{first:?}");
    drop(stream);
    assert_gone(
        &server,
        &client,
        inst.id,
        "streamed-marker",
        "the streamed command is killed",
    )
    .await;
    let ps = client
        .exec_instance(inst.id, &args(&["ps"]))
        .await
        .expect("ps");
    assert!(
        !ps.stdout.contains("sleep 401"),
        "and what it started: {}",
        ps.stdout
    );

    // The same stream dropped while the command is silent: reqwest closes
    // the connection at once or, at the latest, when the server's next
    // keep-alive line reaches it.
    let silent = args(&["sh", "-c", "echo started; exec sleep 405"]);
    let (stream, first) = first_update(&client, inst.id, &silent).await;
    assert_eq!(first, ExecUpdate::Stdout("started\n".into()));
    drop(stream);
    assert_gone(
        &server,
        &client,
        inst.id,
        "sleep 405",
        "a silent command whose stream is dropped is killed",
    )
    .await;

    // A client that closes its connection only when the next byte comes
    // (a dropped reqwest stream): the keep-alive line is that byte.
    let url = server.url();
    let silent = serde_json::json!({ "command": ["sh", "-c", "echo started; exec sleep 406"] });
    exec_and_leave(&url, &key.key, inst.id, &silent, Leave::AtNextByte).await;
    assert_gone(
        &server,
        &client,
        inst.id,
        "sleep 406",
        "a silent command is killed at the keep-alive after its client left",
    )
    .await;

    // A client whose connection closes (a process that exits), the command
    // silent since its first line: streamed, and JSON.
    let silent = serde_json::json!({ "command": ["sh", "-c", "echo started; exec sleep 403"] });
    exec_and_leave(&url, &key.key, inst.id, &silent, Leave::AtFirstLine).await;
    assert_gone(
        &server,
        &client,
        inst.id,
        "sleep 403",
        "a silent streamed command is killed",
    )
    .await;
    let waiting = serde_json::json!({
        "command": ["sh", "-c", "sleep 402 & exec sleep 404"],
        "timeout_secs": 600,
    });
    exec_and_leave(&url, &key.key, inst.id, &waiting, Leave::Json).await;
    assert_gone(
        &server,
        &client,
        inst.id,
        "sleep 404",
        "the command of a JSON exec is killed too",
    )
    .await;
    let ps = client
        .exec_instance(inst.id, &args(&["ps"]))
        .await
        .expect("ps");
    assert!(
        !ps.stdout.contains("sleep 402"),
        "and what it started: {}",
        ps.stdout
    );
}

/// When [`exec_and_leave`]'s client closes its connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Leave {
    /// Streamed, once the first output line has come.
    AtFirstLine,
    /// Streamed, at the first byte after the first output line (the
    /// server's keep-alive while the command is silent), as a reqwest
    /// stream dropped meanwhile does.
    AtNextByte,
    /// The JSON answer, a second after the request.
    Json,
}

/// Sends `POST /instances/{id}/exec` with `body` on a connection of its
/// own and closes it as `leave` says, as a client process that exits does:
/// the server sees it close.
async fn exec_and_leave(
    url: &str,
    key: &str,
    id: uuid::Uuid,
    body: &serde_json::Value,
    leave: Leave,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let body = body.to_string();
    let accept = if leave == Leave::Json {
        "application/json"
    } else {
        "application/x-ndjson"
    };
    let request = format!(
        "POST /instances/{id}/exec HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nAccept: {accept}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.expect("sends");
    if leave == Leave::Json {
        tokio::time::sleep(Duration::from_secs(1)).await;
        return;
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let mut read = async |seen: &mut Vec<u8>| {
        let n = tokio::time::timeout(Duration::from_secs(20), tcp.read(&mut buf))
            .await
            .expect("the server writes within 20 s")
            .expect("reads");
        assert!(
            n > 0,
            "the server closed first: {}",
            String::from_utf8_lossy(seen)
        );
        seen.extend_from_slice(&buf[..n]);
    };
    while !String::from_utf8_lossy(&seen).contains("\"stdout\"") {
        read(&mut seen).await;
    }
    if leave == Leave::AtNextByte {
        let had = seen.len();
        while seen.len() < had + 6 {
            read(&mut seen).await;
        }
        // Chunked framing around it: the chunk's size, the line, CRLF.
        let next = String::from_utf8_lossy(&seen[had..]).into_owned();
        assert_eq!(next, "1\r\n\n\r\n", "a keep-alive line comes next");
    }
}

/// The message of a 400.
fn refused<T: std::fmt::Debug>(r: Result<T, miniaws_client::ClientError>) -> String {
    let (status, _, message) = api_err(r);
    assert_eq!(status, 400, "{message}");
    message
}

#[tokio::test]
async fn bad_execs_are_refused_and_others_cannot_exec() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (alice, _) = guard.user(&server, "alice").await;
    let (bob, _) = guard.user(&server, "bob").await;
    let inst = alice
        .launch_instance(&launch("mine", &image, SLEEP))
        .await
        .expect("launch");
    let id = inst.id;

    // Bob learns nothing about Alice's instance.
    let (status, kind, _) = api_err(bob.exec_instance(id, &args(&["ls"])).await);
    assert_eq!((status, kind.as_str()), (404, "NOT_FOUND"));

    assert!(refused(alice.exec_instance(id, &args(&[])).await).contains("command is empty"));
    let relative = ExecCommand {
        working_dir: Some("tmp".into()),
        ..args(&["ls"])
    };
    assert!(refused(alice.exec_instance(id, &relative).await).contains("absolute path"));
    let bad_user = ExecCommand {
        user: Some("root;reboot".into()),
        ..args(&["ls"])
    };
    assert!(refused(alice.exec_instance(id, &bad_user).await).contains("user must be"));
    let forever = ExecCommand {
        timeout_secs: Some(0),
        ..args(&["ls"])
    };
    assert!(refused(alice.exec_instance(id, &forever).await).contains("timeout_secs"));
    let garbled = ExecCommand {
        stdin: Some("not base64!".into()),
        ..args(&["cat"])
    };
    assert!(refused(alice.exec_instance(id, &garbled).await).contains("stdin must be base64"));
    let flood = ExecCommand {
        stdin: Some(BASE64.encode(vec![b'x'; miniaws_client::wire::MAX_EXEC_STDIN_BYTES + 1])),
        ..args(&["cat"])
    };
    assert!(refused(alice.exec_instance(id, &flood).await).contains("at most 524288 bytes"));
    let bad_env = ExecCommand {
        env: [("A=B".to_owned(), "x".to_owned())].into(),
        ..args(&["ls"])
    };
    assert!(refused(alice.exec_instance(id, &bad_env).await).contains("environment variable"));
    let unclosed = ExecCommand {
        command: Command::Line("echo 'open".into()),
        ..ExecCommand::default()
    };
    refused(alice.exec_instance(id, &unclosed).await);
    // Fields the API does not have, and a body that is not JSON.
    let raw = |body: &'static str| {
        alice.send(
            alice
                .request(reqwest::Method::POST, &format!("/instances/{id}/exec"))
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let message = refused(raw(r#"{"command":["ls"],"tty":true}"#).await);
    assert!(message.contains("tty"), "{message}");
    refused(raw(r#"{"command":"#).await);
    refused(raw(r#"{"env":{}}"#).await);

    // Not running: 409 naming the state.
    alice.stop_instance(id).await.expect("stop");
    let (status, _, message) = api_err(alice.exec_instance(id, &args(&["ls"])).await);
    assert_eq!(status, 409, "{message}");
    assert!(message.contains("STOPPED"), "{message}");
    alice.terminate_instance(id).await.expect("terminate");
    let (status, _, message) = api_err(alice.exec_instance(id, &args(&["ls"])).await);
    assert_eq!(status, 409, "{message}");
    assert!(message.contains("TERMINATED"), "{message}");
}

/// A command Docker cannot start (no such program, not executable, a
/// missing working directory, an unknown user) is bad input: 400 naming
/// why, in both forms of the answer, where Docker itself answers as if
/// the command had printed its message and exited 126. A command that
/// prints the same words itself and exits 126 ran, and is answered so.
#[tokio::test]
async fn commands_that_cannot_start_are_bad_input() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "nostart").await;
    let id = client
        .launch_instance(&launch("box", &image, SLEEP))
        .await
        .expect("launch")
        .id;
    let cases: &[(&str, ExecCommand, &str)] = &[
        (
            "no such program",
            args(&["no-such-program", "x"]),
            "could not be started in the instance: exec: \"no-such-program\": executable file not found in $PATH",
        ),
        (
            "not executable",
            args(&["/etc/passwd"]),
            "could not be started in the instance: exec: \"/etc/passwd\": permission denied",
        ),
        (
            "a missing working directory",
            ExecCommand {
                working_dir: Some("/no/such/dir".into()),
                ..args(&["true"])
            },
            "/no/such/dir",
        ),
        (
            "an unknown user",
            ExecCommand {
                user: Some("nobody9".into()),
                ..args(&["true"])
            },
            "could not be started in the instance: unable to find user nobody9",
        ),
    ];
    for (what, command, expected) in cases {
        let message = refused(client.exec_instance(id, command).await);
        assert!(message.contains(expected), "{what}: {message}");
        assert!(!message.contains("OCI runtime"), "{what}: {message}");
        // Streamed: no output, an error line with the same words.
        let mut stream = std::pin::pin!(
            client
                .exec_instance_stream(id, command)
                .await
                .expect("the stream starts")
        );
        let first = stream.next().await.expect("an update");
        let err = first.expect_err(&format!("{what}: an error line, not output"));
        let text = err.to_string();
        assert!(text.contains(expected), "{what}: {text}");
    }
    // The same words from a command that ran: its output and exit code.
    let oci = "OCI runtime exec failed: exec failed: unable to start container process: exec: \"x\": executable file not found in $PATH: unknown";
    let r = client
        .exec_instance(id, &args(&["sh", "-c", &format!("echo '{oci}'; exit 126")]))
        .await
        .expect("a command that ran");
    assert_eq!(r.exit_code, Some(126), "{r:?}");
    assert_eq!(r.stdout, format!("{oci}\n"));
}

/// A graceful shutdown waits for every answer in flight; a followed log
/// and a streamed exec, which would last as long as their client likes,
/// end at once instead, so the server exits promptly. The streamed exec's
/// error line names its request, as every error answer does (its
/// `X-Request-Id` went with the 200, long before).
#[tokio::test]
async fn a_shutdown_ends_followed_logs_and_streamed_execs() {
    let Some((mut server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("stopper").await;
    guard.watch(key.user_id);
    let inst = client
        .launch_instance(&launch("long", &image, SLEEP))
        .await
        .expect("launch");
    let follow = client
        .instance_logs_stream(
            inst.id,
            &miniaws_client::LogsOptions {
                follow: true,
                ..miniaws_client::LogsOptions::default()
            },
        )
        .await
        .expect("follow");
    let exec = client
        .exec_instance_stream(
            inst.id,
            &ExecCommand {
                timeout_secs: Some(3600),
                ..args(&["sh", "-c", "echo started; sleep 600"])
            },
        )
        .await
        .expect("exec");
    let mut exec = Box::pin(exec);
    let first = tokio::time::timeout(Duration::from_secs(20), exec.next())
        .await
        .expect("the command starts")
        .expect("an update")
        .expect("not an error");
    assert_eq!(first, ExecUpdate::Stdout("started\n".into()));
    // The same through a bare HTTP client, naming its request.
    let raw = reqwest::Client::new()
        .post(format!("{}/instances/{}/exec", server.url(), inst.id))
        .header("x-api-key", &key.key)
        .header("accept", "application/x-ndjson")
        .header("x-request-id", "exec-cut-1")
        .json(&serde_json::json!({"command": ["sh", "-c", "echo started; sleep 600"]}))
        .send()
        .await
        .expect("raw exec");
    assert_eq!(raw.status(), 200);
    let mut raw_lines = Box::pin(raw.bytes_stream());
    let started = tokio::time::timeout(Duration::from_secs(20), raw_lines.next())
        .await
        .expect("the raw command starts");
    assert!(started.is_some_and(|b| b.is_ok()));

    assert!(
        server.stop().await,
        "SIGTERM exits with success, without waiting for the streams"
    );
    let last = tokio::time::timeout(Duration::from_secs(5), exec.next())
        .await
        .expect("the exec stream ends");
    let err = last.expect("a last line").expect_err("an error line");
    assert!(err.to_string().contains("shutting down"), "{err}");
    assert!(
        err.request_id().is_some_and(|id| !id.is_empty()),
        "the error names its request: {err:?}"
    );
    let mut rest_raw = Vec::new();
    while let Ok(Some(Ok(chunk))) =
        tokio::time::timeout(Duration::from_secs(5), raw_lines.next()).await
    {
        rest_raw.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&rest_raw);
    let last_line = text.lines().rfind(|l| !l.is_empty()).unwrap_or_default();
    let event: serde_json::Value = serde_json::from_str(last_line).expect("a JSON line");
    assert_eq!(event["error"]["code"], "UNAVAILABLE", "{text}");
    assert_eq!(event["error"]["request_id"], "exec-cut-1", "{text}");
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), follow.collect::<Vec<_>>())
        .await
        .expect("the followed log ends");
    // The log is cut (an error), not finished as if the container had
    // stopped: a client can tell the two apart.
    let (last, before) = rest.split_last().expect("the cut ends the stream");
    assert!(before.iter().all(Result::is_ok), "{rest:?}");
    assert!(last.is_err(), "{rest:?}");
}

/// What users give their instances (a launch's environment, an exec's
/// command and environment) stays out of the log even at trace level:
/// bollard logs every request body to Docker at debug, so it is capped.
#[tokio::test]
async fn instance_secrets_stay_out_of_a_trace_log() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let Some(server) = miniaws_testkit::TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "2"],
        &[("MINIAWS_LOG", "trace")],
    )
    .await
    else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "secrets").await;
    let inst = client
        .launch_instance(&miniaws_client::LaunchInstance {
            env: [("DB_PASSWORD".to_owned(), "launch-secret-4711".to_owned())].into(),
            ..launch("vault", &image, SLEEP)
        })
        .await
        .expect("launch");
    let r = client
        .exec_instance(
            inst.id,
            &ExecCommand {
                env: [("TOKEN".to_owned(), "exec-secret-4712".to_owned())].into(),
                ..args(&[
                    "sh",
                    "-c",
                    "test -n \"$TOKEN\" && echo arg-secret-4713 >/dev/null",
                ])
            },
        )
        .await
        .expect("exec");
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    client.terminate_instance(inst.id).await.expect("terminate");
    let log = server.log();
    assert!(log.contains("TRACE"), "the server logged at trace level");
    for secret in ["launch-secret-4711", "exec-secret-4712", "arg-secret-4713"] {
        assert!(!log.contains(secret), "the log holds {secret}");
    }
}
