//! A full disk under the SQLite database: every write the server
//! acknowledges is there, every write it refuses left nothing behind.
//!
//! The database lives on a small tmpfs mounted for the test (the blobs stay
//! on the ordinary temporary directory), which is then filled, so that
//! SQLite's commits start failing with `SQLITE_FULL` while blobs still
//! write. Before the fix, a write committed by a statement with `RETURNING`
//! read through its first row only: SQLite never committed it, the error
//! was dropped, and the PUT was answered 200 for an object that did not
//! exist.
//!
//! Mounting needs root (CI and `./scripts/test` run as root); elsewhere the
//! test is skipped with a message unless services are required.

mod common;

use common::{files_under, objects_dir};
use futures::TryStreamExt;
use miniaws_client::ListObjectsParams;
use miniaws_testkit::{TestServer, services_required};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted for the test, unmounted (lazily) when dropped.
struct Tmpfs {
    path: PathBuf,
    /// The mount point, when the tmpfs made its own.
    _dir: Option<tempfile::TempDir>,
}

impl Tmpfs {
    /// A tmpfs of `size` on a new temporary directory.
    fn mount(size: &str) -> Option<Self> {
        if !can_mount() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("miniaws-full-")
            .tempdir()
            .expect("a temporary directory");
        Some(Self::mount_on(dir.path().to_owned(), size, Some(dir)))
    }

    /// A tmpfs of `size` on `path` (created if missing).
    fn mount_at(path: PathBuf, size: &str) -> Option<Self> {
        if !can_mount() {
            return None;
        }
        std::fs::create_dir_all(&path).expect("the mount point");
        Some(Self::mount_on(path, size, None))
    }

    fn mount_on(path: PathBuf, size: &str, dir: Option<tempfile::TempDir>) -> Self {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount a {size} tmpfs on {path:?}");
        Self { path, _dir: dir }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a file until the file system refuses more.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let block = vec![0u8; 4096];
        while f.write_all(&block).and_then(|()| f.sync_all()).is_ok() {}
        path
    }
}

/// Whether this process may mount (root); skips loudly, or fails when
/// services are required.
fn can_mount() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        assert!(
            !services_required(),
            "disk_full mounts a tmpfs and needs root (CI and ./scripts/test run as root)"
        );
        eprintln!("SKIPPED disk_full: mounting a tmpfs needs root");
    }
    root
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Blob files under the server's object store (temporaries excluded).
fn blob_files(server: &TestServer) -> usize {
    common::blobs_under(&objects_dir(server)).len()
}

#[tokio::test]
async fn acknowledged_writes_survive_a_full_database_disk() {
    let Some(fs) = Tmpfs::mount("2m") else {
        return;
    };
    let url = format!("sqlite://{}", fs.path().join("miniaws.db").display());
    let server = TestServer::start_with_database(url, None, &[], &[]).await;
    writes_on_a_full_database_disk(&server, &fs, false).await;
}

/// The same on Postgres: the test database lives in a tablespace on a
/// tmpfs, which is filled, so that its inserts fail with `disk_full`
/// (SQLSTATE 53100) — the server answers 507, keeps every write it
/// acknowledged, and writes again once there is room.
#[tokio::test]
async fn acknowledged_writes_survive_a_full_postgres_disk() {
    let Some(admin_url) = miniaws_testkit::require_postgres() else {
        return;
    };
    let Some(space) = PgTablespace::create(&admin_url, "32m") else {
        return;
    };
    let server = TestServer::start_with_database(space.url.clone(), None, &[], &[]).await;
    writes_on_a_full_database_disk(&server, &space.fs, true).await;
    // The server goes before its database (fields drop in order).
    drop(server);
}

/// A throw-away database whose tablespace is a tmpfs of its own; dropped
/// with it (database, tablespace, mount). Creating a tablespace needs a
/// superuser: the test runs `psql` as the `postgres` system user, which
/// the test machine's cluster trusts on its socket (as `./scripts/provision`
/// set it up).
struct PgTablespace {
    /// The database's URL, for the test role.
    url: String,
    name: String,
    port: String,
    fs: Tmpfs,
}

impl PgTablespace {
    fn create(admin_url: &str, size: &str) -> Option<Self> {
        let fs = Tmpfs::mount(size)?;
        let dir = fs.path().join("pg");
        std::fs::create_dir(&dir).expect("the tablespace directory");
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown the tablespace directory");
        // postgres://user:password@host:port/db
        let (user, port) = {
            let rest = admin_url.split_once("://").expect("a URL").1;
            let (credentials, host) = rest.split_once('@').expect("credentials in the URL");
            let user = credentials.split(':').next().expect("a user").to_owned();
            let host_port = host.split('/').next().expect("a host");
            let port = host_port.rsplit_once(':').map_or("5432", |(_, p)| p);
            (user, port.to_owned())
        };
        let name = format!("miniaws_full_{}", uuid::Uuid::new_v4().simple());
        let space = Self {
            url: format!("{}/{name}", admin_url.rsplit_once('/').expect("a path").0),
            name,
            port,
            fs,
        };
        space.psql(&format!(
            "CREATE TABLESPACE {0} LOCATION '{1}'",
            space.name,
            dir.display()
        ));
        space.psql(&format!(
            "CREATE DATABASE {0} OWNER {user} TABLESPACE {0}",
            space.name
        ));
        Some(space)
    }

    /// Runs `sql` as the `postgres` superuser; panics when it fails.
    fn psql(&self, sql: &str) {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--", "psql", "-X", "-q"])
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-p",
                &self.port,
                "-d",
                "postgres",
                "-c",
            ])
            .arg(sql)
            .current_dir("/")
            .output()
            .expect("runuser runs");
        assert!(
            out.status.success(),
            "psql as postgres: {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PgTablespace {
    fn drop(&mut self) {
        for sql in [
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            format!("DROP TABLESPACE IF EXISTS {}", self.name),
        ] {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--", "psql", "-X", "-q", "-p", &self.port])
                .args(["-d", "postgres", "-c", &sql])
                .current_dir("/")
                .status();
        }
    }
}

/// Fills the disk of `server`'s database (`fs`) and checks that writes are
/// refused with 507 and leave nothing behind, that what was acknowledged
/// reads back, that a delete works on the full disk when the database logs
/// it elsewhere (`delete_needs_no_room`) and is refused cleanly otherwise,
/// and that writes succeed again once there is room.
async fn writes_on_a_full_database_disk(
    server: &TestServer,
    fs: &Tmpfs,
    delete_needs_no_room: bool,
) {
    let (client, _) = server.user("full").await;
    client.create_bucket("full-disk").await.expect("bucket");
    // Objects written while there was room, which must outlive the full
    // disk (and one of which is deleted on it).
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let (key, body) = (format!("before{i}"), format!("written with room {i}"));
        client
            .put_object("full-disk", &key, body.clone(), None)
            .await
            .expect("a write with room");
        acknowledged.push((key, body));
    }
    let filler = fs.fill();

    let mut refused = 0;
    for i in 0..300 {
        let key = format!("k{i:03}");
        let body = format!("body of {key}").repeat(300);
        match client
            .put_object("full-disk", &key, body.clone(), None)
            .await
        {
            Ok(_) => acknowledged.push((key, body)),
            Err(miniaws_client::ClientError::Api {
                status, message, ..
            }) => {
                assert_eq!(status.as_u16(), 507, "{key}: {message}");
                assert!(message.contains("disk is full"), "{key}: {message}");
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
            Err(other) => panic!("{key}: {other}"),
        }
    }
    assert!(
        refused > 0,
        "the database's disk never filled up: the test did not test anything"
    );

    // Every acknowledged write reads back; nothing else is listed or kept.
    for (key, body) in &acknowledged {
        let got = client
            .get_object("full-disk", key, None, None)
            .await
            .unwrap_or_else(|e| panic!("{key} was acknowledged but cannot be read: {e}"));
        let bytes: Vec<u8> = got
            .body
            .try_fold(Vec::new(), |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            })
            .await
            .expect("the body streams");
        assert_eq!(bytes, body.as_bytes(), "{key}");
    }
    let listed = client
        .list_objects(
            "full-disk",
            &ListObjectsParams {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        listed.objects.len(),
        acknowledged.len(),
        "exactly the acknowledged writes are listed"
    );
    assert_eq!(
        blob_files(server),
        acknowledged.len(),
        "a refused write left no blob"
    );

    // A delete on the full disk: Postgres records it in its WAL, which is
    // not on this disk, so it succeeds; SQLite's WAL is, and with not a
    // byte left (the filler is not the server's, so no reserve of its own
    // can cover it) the delete is refused as cleanly as a write, and the
    // object stays whole until there is room.
    let deleted = client.delete_object("full-disk", "before0").await;
    if delete_needs_no_room {
        deleted.expect("a delete on a full disk");
    } else {
        let (status, kind, message) = refusal(deleted);
        assert_eq!(
            (status, kind.as_str()),
            (507, "INSUFFICIENT_STORAGE"),
            "{message}"
        );
        client
            .get_object("full-disk", "before0", None, None)
            .await
            .expect("a refused delete changed nothing");
    }

    // Once there is room again, writes and deletes succeed.
    std::fs::remove_file(filler).expect("free the disk");
    client
        .put_object("full-disk", "after", "room again", None)
        .await
        .expect("a write after space is freed");
    if !delete_needs_no_room {
        client
            .delete_object("full-disk", "before0")
            .await
            .expect("a delete after space is freed");
    }
    assert!(
        client
            .get_object("full-disk", "before0", None, None)
            .await
            .is_err(),
        "the deleted object is gone"
    );
}

/// A server whose whole data directory (SQLite and blobs) is a tmpfs of
/// `size`, started with `args`; the tmpfs goes with the returned guard
/// (dropped after the server: fields drop in order).
struct OnTmpfs {
    server: TestServer,
    fs: Tmpfs,
}

/// [`server_on_tmpfs`], with a user who owns `bucket` there.
async fn bucket_on_tmpfs(
    size: &str,
    args: &[&str],
    bucket: &str,
) -> Option<(OnTmpfs, miniaws_client::Client, miniaws_client::CreatedKey)> {
    let on = server_on_tmpfs(size, args).await?;
    let (client, key) = on.server.user("filler").await;
    client.create_bucket(bucket).await.expect("bucket");
    Some((on, client, key))
}

async fn server_on_tmpfs(size: &str, args: &[&str]) -> Option<OnTmpfs> {
    let dir = tempfile::Builder::new()
        .prefix("miniaws-test-")
        .tempdir()
        .expect("a temporary directory");
    let fs = Tmpfs::mount_at(dir.path().join("data"), size)?;
    let url = format!("sqlite://{}", fs.path().join("miniaws.db").display());
    let server = TestServer::start_in(dir, url, args, &[]).await;
    Some(OnTmpfs { server, fs })
}

/// The `(status, type, message)` of a refused native call.
fn refusal<T: std::fmt::Debug>(
    result: Result<T, miniaws_client::ClientError>,
) -> (u16, String, String) {
    match result {
        Err(miniaws_client::ClientError::Api {
            status,
            kind,
            message,
            ..
        }) => (status.as_u16(), kind, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Temporaries left in the object store.
fn temporaries(server: &TestServer) -> usize {
    files_under(&objects_dir(server).join("tmp")).len()
}

/// Sends the head of a PUT declaring `length` bytes and no body, and
/// returns the status line of the answer: a refusal made before the body
/// is read arrives although no byte of it was sent.
async fn status_without_body(server: &TestServer, key: &str, path: &str, length: u64) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {key}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer before any byte of the body")
        .expect("read");
    String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_reserve_keeps_room_to_delete_on_a_full_disk() {
    let Some((OnTmpfs { server, fs: _fs }, client, key)) =
        bucket_on_tmpfs("48m", &["--min-free-space", "8MiB"], "reserve").await
    else {
        return;
    };
    let body = vec![7u8; 4 << 20];

    // 4 MiB uploads until the admission check refuses one.
    let mut stored = Vec::new();
    let (status, kind, message) = loop {
        let name = format!("o{}", stored.len());
        match client
            .put_object("reserve", &name, body.clone(), None)
            .await
        {
            Ok(_) => stored.push(name),
            refused => break refusal(refused),
        }
        assert!(stored.len() < 20, "a 48 MiB disk took 80 MiB");
    };
    assert_eq!(
        (status, kind.as_str()),
        (507, "INSUFFICIENT_STORAGE"),
        "{message}"
    );
    assert!(message.contains("--min-free-space"), "{message}");
    assert!(stored.len() >= 5, "only {} objects fitted", stored.len());
    assert_eq!(temporaries(&server), 0, "a refused upload left a temporary");
    // A refused upload into a bucket it would create makes no bucket.
    let refused = client
        .put_object("reserve-new", "o", body.clone(), None)
        .await;
    assert_eq!(refusal(refused).0, 507);
    let buckets = client.list_buckets().await.expect("lists");
    assert!(
        buckets.iter().all(|b| b.name != "reserve-new"),
        "{buckets:?}"
    );

    // The S3 endpoint answers the same refusal with a code of its own,
    // every time: the body it refused unread is drained first, so the SDK
    // (no Expect: 100-continue, no retries here) reads the answer rather
    // than a reset connection.
    let s3 = common::s3_client(&server, &key);
    for attempt in 0..5 {
        let err = s3
            .put_object()
            .bucket("reserve")
            .key("by-s3")
            .body(vec![3u8; 16 << 20].into())
            .send()
            .await
            .expect_err("no room for another 16 MiB");
        assert_eq!(
            common::code_of(&err),
            ("InsufficientStorage".into(), 507),
            "attempt {attempt}: {err:?}"
        );
    }
    let upload = s3
        .create_multipart_upload()
        .bucket("reserve")
        .key("parts")
        .send()
        .await
        .expect("creating an upload writes no blob");
    let err = s3
        .upload_part()
        .bucket("reserve")
        .key("parts")
        .upload_id(upload.upload_id().expect("an upload id"))
        .part_number(1)
        .body(vec![4u8; 5 << 20].into())
        .send()
        .await
        .expect_err("no room for a 5 MiB part");
    assert_eq!(
        common::code_of(&err),
        ("InsufficientStorage".into(), 507),
        "{err:?}"
    );

    // A declared size that cannot fit is refused before its body is read.
    let line = status_without_body(&server, &key.key, "/storage/reserve/huge", 1 << 30).await;
    assert!(line.starts_with("HTTP/1.1 507"), "{line}");

    // Deletes still work (the database has its room), and give space back.
    client
        .delete_object("reserve", &stored[0])
        .await
        .expect("a delete on a full disk");
    client
        .put_object("reserve", "after-delete", body.clone(), None)
        .await
        .expect("an upload after a delete made room");
    assert_eq!(temporaries(&server), 0);
}

#[tokio::test]
async fn an_upload_that_fills_the_disk_is_refused_and_leaves_nothing() {
    // No reserve: the disk itself refuses the write half-way.
    let Some((OnTmpfs { server, fs: _fs }, client, _)) =
        bucket_on_tmpfs("48m", &["--min-free-space", "0"], "nospace").await
    else {
        return;
    };
    let first: Vec<u8> = (0..30u32 << 20).map(|i| (i % 251) as u8).collect();
    client
        .put_object("nospace", "first", first.clone(), None)
        .await
        .expect("30 MiB fit on a 48 MiB disk");

    let (status, kind, message) = refusal(
        client
            .put_object("nospace", "second", vec![1u8; 30 << 20], None)
            .await,
    );
    assert_eq!(
        (status, kind.as_str()),
        (507, "INSUFFICIENT_STORAGE"),
        "{message}"
    );
    assert!(message.contains("object store is full"), "{message}");
    assert!(!message.contains('/'), "no server path is sent: {message}");
    assert_eq!(
        temporaries(&server),
        0,
        "the refused upload left a temporary"
    );
    assert_eq!(
        blob_files(&server),
        1,
        "only the first object's blob is kept"
    );

    // The first object is intact, the second absent; space is usable again.
    let got = client
        .get_object("nospace", "first", None, None)
        .await
        .expect("the first object");
    let bytes: Vec<u8> = got
        .body
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .expect("the body streams");
    assert!(bytes == first, "the first object changed");
    let (status, _, _) = refusal(client.get_object("nospace", "second", None, None).await);
    assert_eq!(status, 404);
    client
        .put_object("nospace", "small", "fits", None)
        .await
        .expect("a small upload still fits");
}

#[tokio::test]
async fn a_multipart_completion_needs_room_for_its_copy_not_the_reserve() {
    // 20 MiB of parts on a 48 MiB disk keeping 16 MiB: the completion's
    // copy fits (about 27 MiB free), the copy plus the reserve would not.
    let Some((OnTmpfs { server, fs: _fs }, _, key)) =
        bucket_on_tmpfs("48m", &["--min-free-space", "16MiB"], "parts").await
    else {
        return;
    };
    let s3 = common::s3_client(&server, &key);
    let upload = s3
        .create_multipart_upload()
        .bucket("parts")
        .key("big")
        .send()
        .await
        .expect("create");
    let id = upload.upload_id().expect("an upload id");
    let mut parts = aws_sdk_s3::types::CompletedMultipartUpload::builder();
    for n in 1..=4 {
        let part = s3
            .upload_part()
            .bucket("parts")
            .key("big")
            .upload_id(id)
            .part_number(n)
            .body(vec![n as u8; 5 << 20].into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("part {n}: {e:?}"));
        parts = parts.parts(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().expect("an etag"))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket("parts")
        .key("big")
        .upload_id(id)
        .multipart_upload(parts.build())
        .send()
        .await
        .expect("the completion's copy fits although copy + reserve would not");
    let head = s3
        .head_object()
        .bucket("parts")
        .key("big")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(20 << 20));
    assert_eq!(temporaries(&server), 0);
    assert_eq!(blob_files(&server), 1, "the parts' blobs are gone");
}

/// One upload of undeclared size (chunked) larger than the room above the
/// reserve is refused once it eats into the reserve, not when the disk is
/// full: what is left is enough to record deletes.
#[tokio::test]
async fn a_chunked_upload_does_not_eat_the_reserve() {
    let Some((OnTmpfs { server, fs }, client, _)) =
        bucket_on_tmpfs("48m", &["--min-free-space", "8MiB"], "chunked").await
    else {
        return;
    };
    // 64 MiB offered, in 1 MiB chunks, without a length.
    let chunks = futures::stream::iter(
        (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![9u8; 1 << 20]))),
    );
    let refused = client
        .put_object_stream("chunked", "big", chunks, None, None)
        .await;
    let (status, kind, message) = refusal(refused);
    assert_eq!(
        (status, kind.as_str()),
        (507, "INSUFFICIENT_STORAGE"),
        "{message}"
    );
    assert!(message.contains("during this upload"), "{message}");
    assert_eq!(temporaries(&server), 0, "the partial upload is gone");
    let free = nix_free_bytes(fs.path());
    assert!(
        free >= 6 << 20,
        "the reserve is (almost all) left: {free} bytes free"
    );
    // And the disk still takes the records of deletes (and small writes).
    client
        .put_object("chunked", "small", "fits", None)
        .await
        .expect("a small write fits");
    client
        .delete_object("chunked", "small")
        .await
        .expect("deleted");
}

/// Free bytes for an unprivileged writer on the file system of `path`.
fn nix_free_bytes(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .expect("df runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("a number")
}
