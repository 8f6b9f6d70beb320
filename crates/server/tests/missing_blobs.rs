//! Object files removed behind the server's back (by hand, or by restoring
//! an older copy of the data directory): the start-up sweep counts the
//! objects that lost their bytes and names them in one warning, leaves
//! their rows for the operator to overwrite or delete, and every other
//! object is served as before; noncurrent versions that lost theirs are
//! counted in a warning of their own. Files cut short are refused at read.
//! On SQLite and Postgres.

mod common;

use common::{files_under, objects_dir, server_and_user};
use miniaws_testkit::Backend;

async fn missing_bytes_are_reported_at_start_up(backend: Backend) {
    let Some((mut server, key)) = server_and_user(backend, "careless").await else {
        return;
    };
    let client = server.client().with_api_key(key.key.clone());
    for name in ["kept", "lost/one", "lost/two"] {
        client
            .put_object("fragile", name, name.as_bytes().to_vec(), None)
            .await
            .expect("put");
    }
    server.stop().await;
    // Remove two of the three blob files: find them by content.
    let mut removed = 0;
    for file in files_under(&objects_dir(&server)) {
        let bytes = std::fs::read(&file).expect("read a blob");
        if bytes.starts_with(b"lost/") {
            std::fs::remove_file(&file).expect("remove a blob");
            removed += 1;
        }
    }
    assert_eq!(removed, 2);

    server.restart().await;
    let log = server.log();
    // A log that is not a terminal gets no colour sequences.
    assert!(!log.contains('\u{1b}'), "colours in a redirected log");
    let warning = log
        .lines()
        .find(|l| l.contains("objects whose bytes are missing"))
        .unwrap_or_else(|| panic!("no warning in the log:\n{log}"));
    assert!(warning.contains("missing=2"), "{warning}");
    assert!(
        warning.contains("fragile/lost/one") && warning.contains("fragile/lost/two"),
        "{warning}"
    );
    assert!(!warning.contains("fragile/kept"), "{warning}");

    // The rows stay (the operator decides); the intact object reads back,
    // and overwriting a lost one repairs it.
    let client = server.client().with_api_key(key.key.clone());
    let listed = client
        .list_objects("fragile", &Default::default())
        .await
        .expect("list");
    assert_eq!(listed.objects.len(), 3);
    let kept = client
        .get_object("fragile", "kept", None, None)
        .await
        .expect("get");
    assert_eq!(kept.status, 200);
    client
        .put_object("fragile", "lost/one", b"again".to_vec(), None)
        .await
        .expect("overwrite");
    client
        .delete_object("fragile", "lost/two")
        .await
        .expect("delete");
    server.restart().await;
    assert!(
        server
            .log()
            .matches("objects whose bytes are missing")
            .count()
            == 1,
        "the second start-up finds nothing missing"
    );

    // A versioned bucket: a noncurrent version whose file is removed is
    // counted in a warning of its own; the current one reads on.
    let client = server.client().with_api_key(key.key.clone());
    client
        .set_bucket_versioning("fragile", "enabled")
        .await
        .expect("enable");
    let old = client
        .put_object("fragile", "doc", b"old-version".to_vec(), None)
        .await
        .expect("put")
        .version_id
        .expect("versioned");
    client
        .put_object("fragile", "doc", b"new-version".to_vec(), None)
        .await
        .expect("put");
    server.stop().await;
    let mut removed = 0;
    for file in files_under(&objects_dir(&server)) {
        if std::fs::read(&file).expect("read a blob") == b"old-version" {
            std::fs::remove_file(&file).expect("remove a blob");
            removed += 1;
        }
    }
    assert_eq!(removed, 1);
    server.restart().await;
    let log = server.log();
    let warning = log
        .lines()
        .find(|l| l.contains("noncurrent object versions whose bytes are missing"))
        .unwrap_or_else(|| panic!("no warning about versions in the log:\n{log}"));
    assert!(warning.contains("missing_versions=1"), "{warning}");
    assert_eq!(
        log.matches("objects whose bytes are missing").count(),
        1,
        "no current object is missing"
    );
    let client = server.client().with_api_key(key.key.clone());
    let current = client
        .get_object("fragile", "doc", None, None)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    assert_eq!(current, b"new-version");
    let err = client
        .get_object_at("fragile", "doc", Some(&old), None, None)
        .await
        .expect_err("its bytes are gone");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    client
        .delete_object_at("fragile", "doc", Some(&old))
        .await
        .expect("the operator deletes it by id");
    server.restart().await;
    assert_eq!(
        server
            .log()
            .matches("noncurrent object versions whose bytes are missing")
            .count(),
        1,
        "the third start-up finds nothing missing"
    );
}

#[tokio::test]
async fn missing_bytes_are_reported_at_start_up_on_sqlite() {
    missing_bytes_are_reported_at_start_up(Backend::Sqlite).await;
}

#[tokio::test]
async fn missing_bytes_are_reported_at_start_up_on_postgres() {
    missing_bytes_are_reported_at_start_up(Backend::Postgres).await;
}

/// A blob file cut short behind the server's back (a restored backup, a
/// failing disk, a careless hand): a GET of its object answers 500 before
/// sending a byte, and the log says which file is damaged, instead of a
/// 200 promising the recorded length and a connection that drops midway.
/// A multipart object (a directory of part files) is checked as a whole.
async fn damaged_bytes_are_refused(backend: Backend) {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let Some((server, key)) = server_and_user(backend, "careless").await else {
        return;
    };
    let client = server.client().with_api_key(key.key.clone());
    let body: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
    for name in ["kept", "cut"] {
        client
            .put_object("fragile", name, body.clone(), None)
            .await
            .expect("put");
    }
    let s3 = common::s3_client(&server, &key);
    let upload = s3
        .create_multipart_upload()
        .bucket("fragile")
        .key("parts")
        .send()
        .await
        .expect("create")
        .upload_id()
        .expect("id")
        .to_owned();
    let mut done = CompletedMultipartUpload::builder();
    for (number, part) in [vec![7u8; 5 << 20], b"tail".to_vec()]
        .into_iter()
        .enumerate()
    {
        let number = number as i32 + 1;
        let out = s3
            .upload_part()
            .bucket("fragile")
            .key("parts")
            .upload_id(&upload)
            .part_number(number)
            .body(ByteStream::from(part))
            .send()
            .await
            .expect("part");
        done = done.parts(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket("fragile")
        .key("parts")
        .upload_id(&upload)
        .multipart_upload(done.build())
        .send()
        .await
        .expect("complete");

    // Cut one of the two single-file blobs with these bytes and the
    // multipart object's last part to half their length.
    let (mut cut, mut single_cut) = (0, false);
    for file in files_under(&objects_dir(&server)) {
        let bytes = std::fs::read(&file).expect("read a blob");
        let is_part = file
            .parent()
            .is_some_and(|d| d.to_string_lossy().ends_with(".parts"));
        let single = bytes == body && !std::mem::replace(&mut single_cut, true);
        if single || (is_part && bytes == b"tail") {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&file)
                .expect("open a blob");
            f.set_len(bytes.len() as u64 / 2).expect("cut");
            cut += 1;
        }
    }
    assert_eq!(cut, 2, "one single-file blob and one part were cut");

    // Which of "kept" and "cut" lost half its bytes is the file system's
    // order: find out by asking for both.
    let mut refused = 0;
    for name in ["kept", "cut"] {
        match client.get_object("fragile", name, None, None).await {
            Ok(got) => {
                assert_eq!(got.status, 200);
                assert_eq!(got.bytes().await.expect("whole body"), body, "{name}");
            }
            Err(err) => {
                assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{name}: {err}");
                assert_eq!(err.kind(), Some("INTERNAL"), "{err}");
                // A range of it too: the check is the file's, not the range's.
                let err = client
                    .get_object("fragile", name, Some("bytes=0-9"), None)
                    .await
                    .expect_err("a range of a damaged blob");
                assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 1, "exactly the cut object is refused");
    let err = s3
        .get_object()
        .bucket("fragile")
        .key("parts")
        .send()
        .await
        .expect_err("a multipart object with a cut part");
    let (code, status) = common::code_of(&err);
    assert_eq!((code.as_str(), status), ("InternalError", 500));
    let log = server.log();
    assert!(
        log.contains("Damaged { path:") && log.contains("stored: 32768, recorded: 65536"),
        "the log names the damage:\n{log}"
    );
    assert!(
        log.contains(".parts\", stored: 5242882, recorded: 5242884"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn damaged_bytes_are_refused_on_sqlite() {
    damaged_bytes_are_refused(Backend::Sqlite).await;
}

#[tokio::test]
async fn damaged_bytes_are_refused_on_postgres() {
    damaged_bytes_are_refused(Backend::Postgres).await;
}
