//! The server raises its soft open-file limit to the hard one at start-up,
//! so a few hundred concurrent connections do not run it out of file
//! descriptors when it was started with a low soft limit (1,024 on many
//! systems; 256 here). One test per file: it changes this test process's
//! own limit, which the server inherits.

use miniaws_testkit::{Backend, TestServer};
use rlimit::Resource;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// More connections than the low soft limit allows descriptors.
const CONNECTIONS: usize = 600;
const LOW_SOFT_LIMIT: u64 = 256;

/// The soft and hard "Max open files" of process `pid`.
fn limits_of(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("/proc limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut numbers = line
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok());
    (numbers.next().expect("soft"), numbers.next().expect("hard"))
}

/// Sends one keep-alive `GET /health` on `conn` and reads its answer.
async fn health(conn: &mut tokio::net::TcpStream) -> String {
    conn.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .expect("request");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf))
        .await
        .expect("an answer within 20 s")
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn a_low_soft_open_file_limit_is_raised_and_hundreds_of_connections_are_served() {
    let (soft, hard) = Resource::NOFILE.get().expect("getrlimit");
    assert!(
        hard >= (CONNECTIONS as u64) * 2,
        "the hard open-file limit ({hard}) is too low for this test"
    );
    Resource::NOFILE
        .set(LOW_SOFT_LIMIT, hard)
        .expect("lowering the soft limit");
    let server = TestServer::start(Backend::Sqlite).await.expect("server");
    // Back up for this process, which opens the client ends.
    Resource::NOFILE
        .set(soft, hard)
        .expect("restoring the limit");
    let pid = server.pid().expect("running");
    assert_eq!(
        limits_of(pid),
        (hard, hard),
        "the server raised its soft limit to the hard one"
    );

    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        conns.push(
            tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect"),
        );
    }
    // Every connection is accepted and answered while all are open.
    let answers = futures::future::join_all(conns.iter_mut().map(health)).await;
    let ok = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 200"))
        .count();
    assert_eq!(
        ok,
        CONNECTIONS,
        "{:?}",
        answers.iter().find(|a| !a.starts_with("HTTP/1.1 200"))
    );
    assert!(
        !server.log().contains("accepting a connection failed"),
        "the server ran out of descriptors"
    );
}
