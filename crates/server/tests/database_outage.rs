//! The database goes away after start-up (or refuses writes) and comes
//! back: /health and authenticated requests answer 503 with a clear error,
//! nothing panics, and service resumes by itself.
//!
//! The test routes the server's Postgres connections through a TCP proxy it
//! controls, so "the database is unreachable" is exact and instantaneous:
//! cutting the proxy kills every open connection and refuses new ones.

mod common;

use miniaws_testkit::{TestDatabase, TestServer, require_postgres};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy that can be switched off (dropping every connection) and on.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client); // refused: the database is "down"
                    continue;
                }
                let mut cut_rx = cut2.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Self { addr, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Replaces host:port in a postgres URL.
fn via(url: &str, addr: std::net::SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let (userinfo, hostpath) = rest.rsplit_once('@').expect("URL has credentials");
    let path = &hostpath[hostpath.find('/').expect("URL has a database")..];
    format!("{scheme}://{userinfo}@{addr}{path}")
}

/// Whether `client`'s requests succeed again within five seconds.
async fn recovers(client: &miniaws_client::Client) -> bool {
    for _ in 0..50 {
        if client.list_keys().await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn database_outage_answers_503_and_recovers() {
    let Some(admin) = require_postgres() else {
        return;
    };
    let db = TestDatabase::create(&admin).await;
    let upstream = {
        let rest = db.url.split_once('@').expect("credentials").1;
        rest[..rest.find('/').expect("path")].to_owned()
    };
    let proxy = Proxy::start(upstream).await;
    let url = via(&db.url, proxy.addr);
    let (direct, name) = (db.url.clone(), db.name().to_owned());
    let server = TestServer::start_with_database(url, Some(db), &[], &[]).await;
    let (alice, _) = server.user("alice").await;
    assert_eq!(alice.list_keys().await.expect("works").len(), 1);

    proxy.down();
    let health = server.client().health().await.expect("health answers");
    assert_eq!(health.status, "DOWN");
    assert_eq!(health.database, "DISCONNECTED");
    let res = reqwest::get(format!("{}/health", server.url()))
        .await
        .expect("health");
    assert_eq!(res.status().as_u16(), 503);

    let err = alice.list_keys().await.expect_err("no database, no keys");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");
    assert_eq!(err.kind(), Some("UNAVAILABLE"));
    assert!(err.to_string().contains("database"), "{err}");
    let err = server
        .client()
        .create_key("bob")
        .await
        .expect_err("no sign-up either");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");

    proxy.up();
    assert!(
        recovers(&alice).await,
        "service resumes once the database is back"
    );
    assert_eq!(server.client().health().await.expect("health").status, "UP");
    server
        .client()
        .create_key("bob")
        .await
        .expect("sign-up works again");

    // The server holds its database again (its connection holding it was
    // cut with the others): a second server on it is still refused.
    assert!(
        held_within(&admin, &name, Duration::from_secs(20)).await,
        "the hold is taken again once the database is back"
    );
    let second = tempfile::tempdir().expect("temp dir");
    let out = tokio::process::Command::new(miniaws_testkit::miniaws_bin())
        .args(["--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(second.path())
        .arg("--database-url")
        .arg(&direct)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("a refused server stops at once")
        .expect("miniaws runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("in use by another Mini AWS server"),
        "{stderr}"
    );

    let log = server.log();
    assert!(!log.contains("panicked"), "no panic in the server log");
}

/// Whether a session holds an advisory lock on database `name` (a server
/// holds its database so) within `limit`.
async fn held_within(admin: &str, name: &str, limit: Duration) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("admin connects");
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1",
        )
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("pg_locks reads");
        if held > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// A server on a Postgres database of its own, with user alice signed up;
/// the database's name, and a connection of the admin (its owner).
async fn server_on_own_database(
    admin: &str,
) -> (
    TestServer,
    miniaws_client::Client,
    String,
    sqlx::PgConnection,
) {
    use sqlx::Connection;
    let db = TestDatabase::create(admin).await;
    let name = db.name().to_owned();
    let url = db.url.clone();
    let server = TestServer::start_with_database(url, Some(db), &[], &[]).await;
    let (alice, _) = server.user("alice").await;
    let conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("admin connects");
    (server, alice, name, conn)
}

/// Ends the server's sessions on database `name`: its pooled connections
/// fail once, and the next ones are opened afresh.
async fn end_sessions(conn: &mut sqlx::PgConnection, name: &str) {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .execute(conn)
    .await
    .expect("the server's sessions are ended");
}

/// Postgres is up but refuses the server's database (here `ALLOW_CONNECTIONS
/// false`, as during maintenance; Postgres answers a FATAL 55000 at
/// connect): that is the database being unavailable, 503, not a server
/// fault, and service resumes once it accepts connections again.
#[tokio::test]
async fn a_database_refusing_connections_answers_503() {
    let Some(admin) = require_postgres() else {
        return;
    };
    let (server, alice, name, mut conn) = server_on_own_database(&admin).await;
    assert_eq!(alice.list_keys().await.expect("works").len(), 1);

    let refuse = |allow: bool| format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}");
    sqlx::query(&refuse(false))
        .execute(&mut conn)
        .await
        .expect("the owner may refuse connections to its database");
    end_sessions(&mut conn, &name).await;

    // The first request may meet a connection that was just ended (503
    // too, outcome unknown); every later one meets the refusal at connect.
    for attempt in 0..6 {
        let err = alice
            .list_keys()
            .await
            .expect_err("the database refuses connections");
        assert_eq!(
            err.status().map(|s| s.as_u16()),
            Some(503),
            "attempt {attempt}: {err}"
        );
        assert_eq!(err.kind(), Some("UNAVAILABLE"), "attempt {attempt}: {err}");
        assert!(err.to_string().contains("database"), "{err}");
    }
    let res = reqwest::get(format!("{}/health", server.url()))
        .await
        .expect("health");
    assert_eq!(res.status().as_u16(), 503);

    sqlx::query(&refuse(true))
        .execute(&mut conn)
        .await
        .expect("connections allowed again");
    assert!(
        recovers(&alice).await,
        "service resumes once the database accepts connections"
    );
    let log = server.log();
    assert!(!log.contains("panicked"), "no panic in the server log");
    assert!(
        !log.contains("status=500"),
        "no request was answered as a server fault:\n{log}"
    );
}

/// Postgres answers but refuses every write (`default_transaction_read_only`,
/// as on a standby): /health says READ_ONLY with 503, a write answers 503
/// saying the database is read-only and leaves no blob behind, reads still
/// work, and writes resume once the database takes them again.
#[tokio::test]
async fn a_read_only_database_answers_503_and_reads_still_work() {
    let Some(admin) = require_postgres() else {
        return;
    };
    let (server, alice, name, mut conn) = server_on_own_database(&admin).await;
    alice
        .put_object("notes", "kept.txt", "kept", None)
        .await
        .expect("a write while the database takes them");
    let objects = common::objects_dir(&server);
    let blobs_before = common::files_under(&objects).len();

    let set = |on: bool| {
        format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = {}",
            if on { "on" } else { "off" }
        )
    };
    sqlx::query(&set(true))
        .execute(&mut conn)
        .await
        .expect("the database made read-only");
    end_sessions(&mut conn, &name).await;

    // The first writes may meet sessions that were just ended (503 too,
    // outcome unknown: each such pooled connection is dropped as it fails);
    // the later ones meet the read-only database.
    let mut last = String::new();
    for attempt in 0..40 {
        if last.contains("read-only") {
            break;
        }
        let err = alice
            .put_object("notes", "refused.txt", "refused", None)
            .await
            .expect_err("a read-only database takes no write");
        assert_eq!(
            err.status().map(|s| s.as_u16()),
            Some(503),
            "attempt {attempt}: {err}"
        );
        assert_eq!(err.kind(), Some("UNAVAILABLE"), "attempt {attempt}: {err}");
        last = err.to_string();
    }
    assert!(last.contains("read-only"), "{last}\n{}", server.log());
    assert_eq!(
        common::files_under(&objects).len(),
        blobs_before,
        "a refused write leaves no blob"
    );
    let kept = alice
        .get_object("notes", "kept.txt", None, None)
        .await
        .expect("reads still work")
        .bytes()
        .await
        .expect("the body");
    assert_eq!(&kept[..], b"kept");

    let res = reqwest::get(format!("{}/health", server.url()))
        .await
        .expect("health");
    assert_eq!(res.status().as_u16(), 503);
    let health: miniaws_client::wire::Health = res.json().await.expect("health JSON");
    assert_eq!(
        (health.status.as_str(), health.database.as_str()),
        ("DOWN", "READ_ONLY")
    );
    assert!(
        health.problems.iter().any(|p| p.contains("read-only")),
        "{:?}",
        health.problems
    );

    sqlx::query(&set(false))
        .execute(&mut conn)
        .await
        .expect("the database writable again");
    end_sessions(&mut conn, &name).await;
    let mut written = false;
    for _ in 0..50 {
        if alice
            .put_object("notes", "later.txt", "later", None)
            .await
            .is_ok()
        {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written, "writes resume once the database takes them");
    assert_eq!(server.client().health().await.expect("health").status, "UP");
    let log = server.log();
    assert!(!log.contains("panicked"), "no panic in the server log");
    assert!(
        !log.contains("status=500"),
        "no request was answered as a server fault:\n{log}"
    );
}
