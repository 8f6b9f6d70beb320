//! A SQLite pool that must open a connection while the process has no file
//! descriptor to spare: the statement is `Unavailable(Database)` saying
//! the file cannot be opened (a 503 at the edge), not an internal error,
//! and works again once descriptors are free. Alone in its file: it lowers
//! this test process's own open-file limit.

mod common;

use miniaws_core::CoreError;
use miniaws_core::error::Dependency;
use miniaws_core::storage::BucketName;
use miniaws_db::Database;
use rlimit::Resource;

/// How many descriptors this process has open.
fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count() as u64
}

#[tokio::test]
async fn a_connection_that_cannot_open_its_file_is_unavailable() {
    let fresh = common::sqlite(true).await;
    let Database::Sqlite(pool, _) = &fresh.db else {
        unreachable!("a SQLite database")
    };
    let repo = fresh.db.storage_repo();
    let name = BucketName::parse("any").expect("name");
    // Every connection the pool has is taken, so the next statement needs
    // a new one, which must open the database's files.
    let mut held = Vec::new();
    while pool.num_idle() > 0 || held.is_empty() {
        held.push(pool.acquire().await.expect("a connection"));
    }

    let (soft, hard) = Resource::NOFILE.get().expect("the limit");
    Resource::NOFILE
        .set(open_descriptors() + 16, hard)
        .expect("the soft limit lowered");
    // Every descriptor under the limit taken, gaps included.
    let mut fillers = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        fillers.push(file);
    }
    let outcome = repo.get_bucket(&name).await;
    drop(fillers);
    Resource::NOFILE
        .set(soft, hard)
        .expect("the limit restored");

    let err = outcome.expect_err("no descriptor for a new connection");
    assert!(
        matches!(
            err,
            CoreError::Unavailable {
                dependency: Dependency::Database,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("cannot be opened"), "{err}");
    drop(held);
    assert!(
        repo.get_bucket(&name).await.expect("works again").is_none(),
        "the bucket does not exist"
    );
}
