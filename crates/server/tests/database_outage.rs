//! The database goes away after start-up and comes back: /health and
//! authenticated requests answer 503 with a clear error, nothing panics, and
//! service resumes by itself.
//!
//! The test routes the server's Postgres connections through a TCP proxy it
//! controls, so "the database is unreachable" is exact and instantaneous:
//! cutting the proxy kills every open connection and refuses new ones.

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
    let mut recovered = false;
    for _ in 0..50 {
        if alice.list_keys().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "service resumes once the database is back");
    assert_eq!(server.client().health().await.expect("health").status, "UP");
    server
        .client()
        .create_key("bob")
        .await
        .expect("sign-up works again");

    let log = server.log();
    assert!(!log.contains("panicked"), "no panic in the server log");
}
