//! Uploads whose client stops sending mid-body but keeps the connection
//! open, on SQLite and Postgres: after `--body-idle-timeout-secs` the server
//! abandons the body, answers with an error, and leaves nothing behind (no
//! temporary file, no row), on the native API and on S3 alike.

mod common;

use aws_sdk_s3::presigning::PresigningConfig;
use common::{files_under, objects_dir, s3_client, server_and_user_with};
use miniaws_testkit::{Backend, TestServer};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The idle timeout the servers here run with.
const IDLE_SECS: u64 = 1;

fn temporaries(server: &TestServer) -> Vec<PathBuf> {
    files_under(&objects_dir(server).join("tmp"))
}

/// Sends `head` and 1 MiB of a declared 8 MiB body, then nothing while
/// keeping the connection open; returns the server's answer, its status
/// line and how long after the last byte sent it came.
async fn stall(addr: &str, head: &str) -> (String, Duration) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(head.as_bytes()).await.expect("head");
    conn.write_all(&vec![0x61u8; 1 << 20]).await.expect("body");
    conn.flush().await.expect("flush");
    let stalled_at = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // The answer comes once the timeout fires; the connection is then
    // closed (the rest of the declared body will never be read).
    let read = tokio::time::timeout(Duration::from_secs(IDLE_SECS + 10), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answered a stalled upload");
    (
        String::from_utf8_lossy(&answer).into_owned(),
        stalled_at.elapsed(),
    )
}

async fn stalled_uploads_are_abandoned(backend: Backend) {
    let args = ["--body-idle-timeout-secs", "1"];
    let Some((server, key)) = server_and_user_with(backend, "alice", &args).await else {
        return;
    };
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("stall")
        .send()
        .await
        .expect("bucket");

    // Native PUT.
    let native = server.native.to_string();
    let head = format!(
        "PUT /storage/stall/native HTTP/1.1\r\nHost: {native}\r\nX-API-Key: {}\r\nContent-Length: {}\r\n\r\n",
        key.key,
        8 << 20
    );
    let (answer, after) = stall(&native, &head).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("timed out") || answer.contains("timeout"),
        "{answer}"
    );
    assert!(
        after >= Duration::from_millis(900),
        "not before the timeout: {after:?}"
    );

    // S3 PutObject through a presigned URL.
    let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).expect("config");
    let put = s3
        .put_object()
        .bucket("stall")
        .key("s3")
        .presigned(cfg)
        .await
        .expect("presign PUT");
    let aws = server.aws_url().trim_start_matches("http://").to_owned();
    let path = put
        .uri()
        .split_once(&aws)
        .map(|(_, rest)| rest.to_owned())
        .expect("the presigned URL points at the server");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {aws}\r\nContent-Length: {}\r\n\r\n",
        8 << 20
    );
    let (answer, after) = stall(&aws, &head).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Error>"), "S3 XML: {answer}");
    assert!(
        after >= Duration::from_millis(900),
        "not before the timeout: {after:?}"
    );

    // Nothing was kept: no temporary, no object.
    for _ in 0..100 {
        if temporaries(&server).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(temporaries(&server), Vec::<PathBuf>::new());
    let listed = s3
        .list_objects_v2()
        .bucket("stall")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(0));

    // An upload that merely pauses for less than the timeout is fine.
    let mut conn = tokio::net::TcpStream::connect(&native)
        .await
        .expect("connect");
    let head = format!(
        "PUT /storage/stall/slow HTTP/1.1\r\nHost: {native}\r\nX-API-Key: {}\r\nContent-Length: 6\r\n\r\nabc",
        key.key
    );
    conn.write_all(head.as_bytes()).await.expect("head");
    tokio::time::sleep(Duration::from_millis(500)).await;
    conn.write_all(b"def").await.expect("rest");
    let mut answer = vec![0u8; 4096];
    let n = conn.read(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_uploads_are_abandoned_sqlite() {
    stalled_uploads_are_abandoned(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_uploads_are_abandoned_postgres() {
    stalled_uploads_are_abandoned(Backend::Postgres).await;
}

/// Reads from `conn` until the server closes it; how long that took (the
/// test fails if it takes more than 10 s).
async fn closed_within(conn: &mut tokio::net::TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server closed the connection");
    started.elapsed()
}

/// A client that sends half a request's headers, or keeps a connection
/// open without a next request, is disconnected after
/// `--header-timeout-secs`, on both listeners; a prompt request still
/// works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_or_idle_clients_are_disconnected() {
    let Some(server) =
        TestServer::start_with(Backend::Sqlite, &["--header-timeout-secs", "1"], &[]).await
    else {
        return;
    };
    let aws = server.aws.expect("the AWS endpoint");
    for addr in [server.native, aws] {
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("half the headers");
        let waited = closed_within(&mut conn).await;
        assert!(
            waited >= Duration::from_millis(900),
            "{addr}: not before the timeout ({waited:?})"
        );
        // One that sends nothing at all, or only the start of HTTP/2's
        // preface (which once made the server wait, with no deadline, to
        // learn the protocol), is closed all the same.
        for opening in [
            &b""[..],
            b"PRI * HTTP/2.0\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
            conn.write_all(opening).await.expect("sent");
            closed_within(&mut conn).await;
        }

        // A whole request is answered; the kept-alive connection is then
        // closed once it has been idle for the timeout.
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("a request");
        let mut answer = vec![0u8; 4096];
        let n = conn.read(&mut answer).await.expect("an answer");
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 "), "{addr}: {answer}");
        closed_within(&mut conn).await;
    }
}

/// A client that asks for an object and then reads nothing of it, keeping
/// the connection open, is cut once the server's writes have been blocked
/// for the idle timeout (the connection, its task and its buffers would
/// otherwise stay, and a graceful shutdown would wait for it); a reader
/// that comes back later finds the answer cut short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_of_an_answer_is_cut() {
    let idle = IDLE_SECS.to_string();
    let Some((server, key)) = server_and_user_with(
        Backend::Sqlite,
        "reader",
        &["--body-idle-timeout-secs", &idle],
    )
    .await
    else {
        return;
    };
    let client = server.client().with_api_key(key.key.clone());
    const SIZE: usize = 32 << 20;
    client
        .put_object("unread", "big.bin", vec![0x62u8; SIZE], None)
        .await
        .expect("stored");
    // A small receive buffer, so that the server's writes block soon.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let mut conn = socket.connect(server.native).await.expect("connect");
    conn.write_all(
        format!(
            "GET /storage/unread/big.bin HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {}\r\n\r\n",
            key.key
        )
        .as_bytes(),
    )
    .await
    .expect("request");
    tokio::time::sleep(Duration::from_secs(IDLE_SECS + 3)).await;
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let read_all = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    assert!(read_all.is_ok(), "the connection ends");
    assert!(
        got < SIZE,
        "the answer was cut short: {got} of {SIZE} bytes"
    );
}
