//! Object files removed behind the server's back (by hand, or by restoring
//! an older copy of the data directory): the start-up sweep counts the
//! objects that lost their bytes and names them in one warning, leaves
//! their rows for the operator to overwrite or delete, and every other
//! object is served as before. On SQLite and Postgres.

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
}

#[tokio::test]
async fn missing_bytes_are_reported_at_start_up_on_sqlite() {
    missing_bytes_are_reported_at_start_up(Backend::Sqlite).await;
}

#[tokio::test]
async fn missing_bytes_are_reported_at_start_up_on_postgres() {
    missing_bytes_are_reported_at_start_up(Backend::Postgres).await;
}
