//! SigV4 secret access keys sealed at rest, through the real server on
//! SQLite and Postgres: the database holds no clear secret, the AWS SDK
//! still signs with it, a secret stored in clear by an older version is
//! sealed at the next start-up, another key file refuses the S3
//! credentials (with a message that says why) but not the API key, and a
//! broken key file stops start-up naming the file.

mod common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use common::{code_of, s3_client};
use miniaws_client::CreatedKey;
use miniaws_testkit::{Backend, TestServer, miniaws_bin};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

/// The server's key file, at its default place in the data directory.
fn key_file(server: &TestServer) -> PathBuf {
    server.data_dir().join("data").join("sigv4-secrets.key")
}

/// The database of `server`, opened beside it.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn open(server: &TestServer) -> Self {
        let url = server.database_url();
        if url.starts_with("sqlite:") {
            Self::Sqlite(sqlx::SqlitePool::connect(url).await.expect("SQLite opens"))
        } else {
            Self::Postgres(sqlx::PgPool::connect(url).await.expect("Postgres connects"))
        }
    }

    /// `api_keys.secret_access_key` of the key with `access_key_id`.
    async fn stored_secret(&self, access_key_id: &str) -> String {
        let found = match self {
            Self::Sqlite(pool) => {
                sqlx::query_scalar("SELECT secret_access_key FROM api_keys WHERE access_key_id = ?")
                    .bind(access_key_id)
                    .fetch_one(pool)
                    .await
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT secret_access_key FROM api_keys WHERE access_key_id = $1",
                )
                .bind(access_key_id)
                .fetch_one(pool)
                .await
            }
        };
        found.expect("the key's row")
    }

    /// Whether any column of any row of `api_keys` contains `needle`.
    async fn any_row_contains(&self, needle: &str) -> bool {
        let pattern = format!("%{needle}%");
        let found = match self {
            Self::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM api_keys
                      WHERE id || user_id || key || coalesce(name, '') || coalesce(prefix, '')
                            || coalesce(access_key_id, '') || coalesce(secret_access_key, '')
                            LIKE ?)",
                )
                .bind(pattern)
                .fetch_one(pool)
                .await
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_keys t WHERE t::text LIKE $1)")
                    .bind(pattern)
                    .fetch_one(pool)
                    .await
            }
        };
        found.expect("the search runs")
    }

    /// Stores `secret` in clear for `access_key_id`, as versions before
    /// sealing did.
    async fn plant_clear_secret(&self, access_key_id: &str, secret: &str) {
        let done = match self {
            Self::Sqlite(pool) => {
                sqlx::query("UPDATE api_keys SET secret_access_key = ? WHERE access_key_id = ?")
                    .bind(secret)
                    .bind(access_key_id)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            }
            Self::Postgres(pool) => {
                sqlx::query("UPDATE api_keys SET secret_access_key = $1 WHERE access_key_id = $2")
                    .bind(secret)
                    .bind(access_key_id)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            }
        };
        assert_eq!(done.expect("planted"), 1);
    }

    async fn close(self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// A bucket made, an object written and read back with `key`'s S3
/// credentials.
async fn s3_round_trip(server: &TestServer, key: &CreatedKey, bucket: &str) {
    let s3 = s3_client(server, key);
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket with {}: {e:?}", key.access_key_id));
    s3.put_object()
        .bucket(bucket)
        .key("hello.txt")
        .body(ByteStream::from_static(b"sealed"))
        .send()
        .await
        .expect("PutObject");
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("hello.txt")
        .send()
        .await
        .expect("GetObject");
    let body = got.body.collect().await.expect("the body").into_bytes();
    assert_eq!(&body[..], b"sealed");
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn sealed_at_rest(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, key) = server.user("alice").await;
    let second = alice.create_key("ci").await.expect("a second key");

    let file = key_file(&server);
    assert_eq!(mode_of(&file), 0o600, "the key file is the owner's alone");
    assert_eq!(std::fs::read(&file).expect("readable").len(), 32);
    // So are the data directory, the object store and the database files:
    // no other account of the machine reads users' bytes or rows.
    let data = file.parent().expect("the data directory");
    assert_eq!(mode_of(data), 0o700, "the data directory");
    assert_eq!(mode_of(&data.join("objects")), 0o700, "the object store");
    if backend == Backend::Sqlite {
        // (The test server's database is beside its data directory.)
        for name in ["miniaws.db", "miniaws.db-wal"] {
            let path = server.data_dir().join(name);
            assert_eq!(mode_of(&path), 0o600, "{name}");
        }
    }

    let db = Db::open(&server).await;
    for k in [&key, &second] {
        let stored = db.stored_secret(&k.access_key_id).await;
        assert!(stored.starts_with("sealed1:"), "stored sealed: {stored}");
        assert!(
            !db.any_row_contains(&k.secret_access_key).await,
            "no row holds the clear secret"
        );
    }
    db.close().await;
    if backend == Backend::Sqlite {
        // The whole file (and its write-ahead log), as a copy would take it.
        for name in ["miniaws.db", "miniaws.db-wal"] {
            let bytes = std::fs::read(server.data_dir().join(name)).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for k in [&key, &second] {
                assert!(
                    !text.contains(&k.secret_access_key),
                    "{name} holds a secret"
                );
            }
        }
    }

    s3_round_trip(&server, &key, "sealed-one").await;
    s3_round_trip(&server, &second, "sealed-two").await;
    let log = server.log();
    for k in [&key, &second] {
        assert!(!log.contains(&k.secret_access_key), "no secret in the log");
    }
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_on_sqlite() {
    sealed_at_rest(Backend::Sqlite).await;
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_on_postgres() {
    sealed_at_rest(Backend::Postgres).await;
}

async fn clear_secret_sealed_at_start_up(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, key) = server.user("alice").await;
    let old = alice.create_key("old").await.expect("a second key");
    server.stop().await;
    // The row as a version before sealing wrote it.
    let db = Db::open(&server).await;
    db.plant_clear_secret(&old.access_key_id, &old.secret_access_key)
        .await;
    assert_eq!(
        db.stored_secret(&old.access_key_id).await,
        old.secret_access_key
    );

    server.restart().await;
    let stored = db.stored_secret(&old.access_key_id).await;
    assert!(
        stored.starts_with("sealed1:") && !stored.contains(&old.secret_access_key),
        "sealed in place at start-up: {stored}"
    );
    let log = server.log();
    assert!(
        log.contains("sealed the secret access keys that were stored in clear")
            && log.contains("sealed=1"),
        "the count is logged:\n{log}"
    );
    assert!(!log.contains(&old.secret_access_key), "never the secret");
    s3_round_trip(&server, &old, "planted").await;
    s3_round_trip(&server, &key, "sealed-before").await;

    // Once sealed, a restart has nothing more to seal.
    server.restart().await;
    assert_eq!(db.stored_secret(&old.access_key_id).await, stored);

    // migrate down and up keep working over sealed secrets.
    server.stop().await;
    for args in [&["migrate", "down", "--steps", "1"][..], &["migrate", "up"]] {
        let out = tokio::process::Command::new(miniaws_bin())
            .args(args)
            .arg("--data-dir")
            .arg(server.data_dir().join("data"))
            .arg("--database-url")
            .arg(server.database_url())
            .output()
            .await
            .expect("miniaws runs");
        assert!(
            out.status.success(),
            "miniaws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(db.stored_secret(&old.access_key_id).await, stored);
    server.restart().await;
    s3_round_trip(&server, &old, "after-migrations").await;
    db.close().await;
}

#[tokio::test]
async fn a_clear_secret_is_sealed_at_start_up_on_sqlite() {
    clear_secret_sealed_at_start_up(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_clear_secret_is_sealed_at_start_up_on_postgres() {
    clear_secret_sealed_at_start_up(Backend::Postgres).await;
}

async fn another_key_file(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("alice").await;
    s3_round_trip(&server, &key, "before").await;
    server.stop().await;
    // The file lost and made anew, or replaced: another key either way.
    let file = key_file(&server);
    std::fs::remove_file(&file).expect("removed");
    server.restart().await;
    assert_eq!(mode_of(&file), 0o600, "a new key file, 0600 too");

    let s3 = s3_client(&server, &key);
    let err = s3.list_buckets().send().await.expect_err("refused");
    assert_eq!(code_of(&err), ("InvalidAccessKeyId".to_owned(), 403));
    let message = err.message().unwrap_or_default().to_owned();
    assert!(
        message.contains("cannot be opened with this server's secrets key")
            && message.contains("new API key"),
        "the message says why and what to do: {message}"
    );
    assert!(!message.contains(&key.secret_access_key));
    // Still refused, not cached as anything else.
    let err = s3.list_buckets().send().await.expect_err("refused again");
    assert_eq!(code_of(&err).0, "InvalidAccessKeyId");
    // EC2 and STS say the same reason in their own codes, not "unknown or
    // revoked", which would send the user looking for a revoked key.
    if let Some(cli) = miniaws_testkit::require_tool("MINIAWS_TEST_AWS_CLI") {
        let aws = miniaws_testkit::AwsClients::new(&server, &key);
        for (args, code) in [
            (&["ec2", "describe-instances"][..], "(AuthFailure)"),
            (
                &["sts", "get-caller-identity"][..],
                "(InvalidClientTokenId)",
            ),
        ] {
            let stderr = aws.aws_fails(&cli, args).await;
            assert!(
                stderr.contains(code)
                    && stderr.contains("cannot be opened with this server's secrets key")
                    && !stderr.contains("unknown or revoked"),
                "{args:?}: {stderr}"
            );
        }
    }

    // The API key works, and a new key's S3 credentials do (a new client:
    // the restart moved the port).
    let alice = server.client().with_api_key(key.key.clone());
    assert_eq!(
        alice.whoami().await.expect("the API key works").user.name,
        "alice"
    );
    let fresh = alice.create_key("fresh").await.expect("a new key");
    s3_round_trip(&server, &fresh, "after").await;

    let log = server.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("do not open with this secrets key file"))
        .collect();
    assert_eq!(warnings.len(), 1, "warned once at start-up:\n{log}");
    assert!(warnings[0].contains("keys=1"), "{}", warnings[0]);
}

#[tokio::test]
async fn another_key_file_refuses_s3_but_not_the_api_key_on_sqlite() {
    another_key_file(Backend::Sqlite).await;
}

#[tokio::test]
async fn another_key_file_refuses_s3_but_not_the_api_key_on_postgres() {
    another_key_file(Backend::Postgres).await;
}

async fn broken_key_file(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("alice").await;
    server.stop().await;
    let file = key_file(&server);
    for bytes in [&b"short"[..], &[7u8; 33][..], &[][..]] {
        std::fs::write(&file, bytes).expect("written");
        let run = tokio::process::Command::new(miniaws_bin())
            .args(["--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(server.data_dir().join("data"))
            .arg("--database-url")
            .arg(server.database_url())
            .env("MINIAWS_LOG_FORMAT", "pretty")
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("start-up stops at once")
            .expect("miniaws runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "refused to start:\n{stderr}");
        assert!(
            stderr.contains(&file.display().to_string())
                && stderr.contains(&format!("this one is {}", bytes.len())),
            "the error names the file and what is wrong with it:\n{stderr}"
        );
        assert_eq!(
            std::fs::read(&file).expect("kept"),
            bytes,
            "never replaced by a new key"
        );
    }
    assert!(!server.log().contains(&key.secret_access_key));
}

#[tokio::test]
async fn a_broken_key_file_stops_start_up_on_sqlite() {
    broken_key_file(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_broken_key_file_stops_start_up_on_postgres() {
    broken_key_file(Backend::Postgres).await;
}

/// `MINIAWS_SECRETS_KEY_FILE` puts the key elsewhere (here outside the data
/// directory), made there with mode 0600, and the server uses it.
#[tokio::test]
async fn the_key_file_can_live_elsewhere() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("miniaws.key");
    let path_str = path.display().to_string();
    let Some(server) = TestServer::start_with(
        Backend::Sqlite,
        &[],
        &[("MINIAWS_SECRETS_KEY_FILE", path_str.as_str())],
    )
    .await
    else {
        return;
    };
    assert_eq!(mode_of(&path), 0o600);
    assert!(!key_file(&server).exists(), "none in the data directory");
    let (_, key) = server.user("alice").await;
    s3_round_trip(&server, &key, "elsewhere").await;
}
