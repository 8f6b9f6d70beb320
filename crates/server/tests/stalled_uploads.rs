//! Hundreds of uploads whose clients stall mid-body must not starve the
//! rest of the server. A large upload's hasher and writer wait for the
//! client's bytes; when they were threads of tokio's blocking pool (512
//! threads, which file reads and small writes need too), 300 stalled
//! clients stopped every GET until they gave up.

mod common;

use common::{files_under, objects_dir, server_and_user};
use futures::StreamExt;
use miniaws_testkit::Backend;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Enough stalled uploads to have exhausted the blocking pool at two
/// threads each.
const STALLED: usize = 300;

/// Opens an upload of a declared 8 MiB and sends a little more than the
/// first 1 MiB batch, then leaves the connection open and silent.
async fn stall(addr: &str, key: &str, i: usize) -> tokio::net::TcpStream {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PUT /storage/stalls/stalled-{i} HTTP/1.1\r\nhost: localhost\r\nx-api-key: {key}\r\ncontent-length: {}\r\n\r\n",
        8 << 20
    );
    conn.write_all(head.as_bytes()).await.expect("head");
    conn.write_all(&vec![b's'; (1 << 20) + 65_536])
        .await
        .expect("body");
    conn.flush().await.expect("flush");
    conn
}

#[tokio::test]
async fn stalled_uploads_do_not_starve_reads_and_writes() {
    let Some((server, key)) = server_and_user(Backend::Sqlite, "staller").await else {
        return;
    };
    let client = server.client().with_api_key(key.key.clone());
    client
        .put_object("stalls", "small", b"still here".to_vec(), None)
        .await
        .expect("put");
    let addr = server.url().trim_start_matches("http://").to_owned();
    let stalled = futures::future::join_all((0..STALLED).map(|i| stall(&addr, &key.key, i))).await;
    // Let the server take in what was sent.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let started = Instant::now();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_object("stalls", "small", None, None),
    )
    .await
    .expect("a GET is answered while uploads stall")
    .expect("get");
    let body: Vec<u8> = read
        .body
        .map(|c| c.expect("body chunk").to_vec())
        .concat()
        .await;
    assert_eq!(body, b"still here");
    tokio::time::timeout(
        Duration::from_secs(10),
        client.put_object("stalls", "another", b"x".repeat(2 << 20), None),
    )
    .await
    .expect("a 2 MiB PUT is answered while uploads stall")
    .expect("put");
    eprintln!(
        "GET and PUT beside {STALLED} stalled uploads: {:?}",
        started.elapsed()
    );

    // The clients give up: nothing of theirs stays.
    drop(stalled);
    let tmp = objects_dir(&server).join("tmp");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !files_under(&tmp).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} temporaries left",
            files_under(&tmp).len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = client
        .list_objects("stalls", &Default::default())
        .await
        .expect("list");
    let keys: Vec<&str> = listed.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["another", "small"]);
}
