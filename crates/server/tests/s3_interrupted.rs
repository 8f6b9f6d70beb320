//! S3 uploads cut off by their client mid-body, on SQLite and Postgres:
//! PutObject and UploadPart through presigned URLs over a raw socket that
//! is closed after part of the declared body. Nothing may be committed or
//! left on disk, and the previous version stays.

mod common;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use common::{files_under, objects_dir, s3_client, server_and_user};
use miniaws_testkit::{Backend, TestServer};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Sends the head of a PUT to the presigned `uri` declaring `declared`
/// bytes, then `sent` of them, waits until the server holds a temporary
/// file for it, and closes the connection.
async fn cut_off_put(server: &TestServer, uri: &str, declared: usize, sent: usize) {
    let addr = server.aws_url().trim_start_matches("http://").to_owned();
    let path = uri
        .split_once(&addr)
        .map(|(_, rest)| rest.to_owned())
        .expect("the presigned URL points at the server");
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!("PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {declared}\r\n\r\n");
    conn.write_all(head.as_bytes()).await.expect("head");
    conn.write_all(&vec![0x61u8; sent]).await.expect("body");
    conn.flush().await.expect("flush");
    let tmp = objects_dir(server).join("tmp");
    for _ in 0..100 {
        if !files_under(&tmp).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !files_under(&tmp).is_empty(),
        "the server streams the body to a temporary file"
    );
    drop(conn);
}

/// Waits for the temporaries to go; returns what is left.
async fn temporaries_after_cleanup(server: &TestServer) -> Vec<PathBuf> {
    let tmp = objects_dir(server).join("tmp");
    for _ in 0..100 {
        if files_under(&tmp).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    files_under(&tmp)
}

async fn interrupted_uploads_commit_nothing(backend: Backend) {
    let Some((server, key)) = server_and_user(backend, "alice").await else {
        return;
    };
    let s3 = s3_client(&server, &key);
    let bucket = "cut";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    s3.put_object()
        .bucket(bucket)
        .key("k")
        .body(ByteStream::from_static(b"version one"))
        .send()
        .await
        .expect("first version");
    let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).expect("config");

    // PutObject over an existing key, cut off after 1 of 8 MiB.
    let put = s3
        .put_object()
        .bucket(bucket)
        .key("k")
        .presigned(cfg.clone())
        .await
        .expect("presign PUT");
    cut_off_put(&server, put.uri(), 8 << 20, 1 << 20).await;
    assert_eq!(
        temporaries_after_cleanup(&server).await,
        Vec::<PathBuf>::new()
    );
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect("GET")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&got[..], b"version one", "the previous version stays");

    // UploadPart, cut off the same way: no part is recorded.
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("mp")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = upload.upload_id().expect("upload id");
    let part = s3
        .upload_part()
        .bucket(bucket)
        .key("mp")
        .upload_id(upload_id)
        .part_number(1)
        .presigned(cfg)
        .await
        .expect("presign UploadPart");
    cut_off_put(&server, part.uri(), 6 << 20, 1 << 20).await;
    assert_eq!(
        temporaries_after_cleanup(&server).await,
        Vec::<PathBuf>::new()
    );
    let parts = s3
        .list_parts()
        .bucket(bucket)
        .key("mp")
        .upload_id(upload_id)
        .send()
        .await
        .expect("ListParts");
    assert!(parts.parts().is_empty(), "no part recorded: {parts:?}");

    // On disk: the one blob of "k", nothing else.
    let tmp = objects_dir(&server).join("tmp");
    let blobs: Vec<PathBuf> = files_under(&objects_dir(&server))
        .into_iter()
        .filter(|p| !p.starts_with(&tmp))
        .collect();
    assert_eq!(blobs.len(), 1, "only the first version's blob: {blobs:?}");
    assert!(!server.log().contains("panicked"), "no panic in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interrupted_uploads_commit_nothing_sqlite() {
    interrupted_uploads_commit_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interrupted_uploads_commit_nothing_postgres() {
    interrupted_uploads_commit_nothing(Backend::Postgres).await;
}
