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
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
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
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("miniaws-full-")
            .tempdir()
            .expect("a temporary directory");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount a {size} tmpfs on {:?}", dir.path());
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
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

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Blob files under the server's object store (temporaries excluded).
fn blob_files(server: &TestServer) -> usize {
    let objects = objects_dir(server);
    files_under(&objects).len() - files_under(&objects.join("tmp")).len()
}

#[tokio::test]
async fn acknowledged_writes_survive_a_full_database_disk() {
    let Some(fs) = Tmpfs::mount("2m") else {
        return;
    };
    let url = format!("sqlite://{}", fs.path().join("miniaws.db").display());
    let server = TestServer::start_with_database(url, None, &[], &[]).await;
    let (client, _) = server.user("full").await;
    client.create_bucket("full-disk").await.expect("bucket");
    let filler = fs.fill();

    let (mut acknowledged, mut refused) = (Vec::new(), 0);
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
                assert_eq!(status.as_u16(), 503, "{key}: {message}");
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
        blob_files(&server),
        acknowledged.len(),
        "a refused write left no blob"
    );

    // Once there is room again, writes succeed.
    std::fs::remove_file(filler).expect("free the disk");
    client
        .put_object("full-disk", "after", "room again", None)
        .await
        .expect("a write after space is freed");
}
