//! Object files removed behind the server's back (by hand, or by restoring
//! an older copy of the data directory): the start-up sweep counts the
//! objects that lost their bytes and names them in one warning, leaves
//! their rows for the operator to overwrite or delete, and every other
//! object is served as before; noncurrent versions that lost theirs are
//! counted in a warning of their own. On SQLite and Postgres.

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
