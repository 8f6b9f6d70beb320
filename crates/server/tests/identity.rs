//! Identity through the real server: sign-up, keys, 401s, ownership and
//! the error envelope, on SQLite and Postgres.

mod common;

use futures::StreamExt;
use miniaws_client::ClientError;
use miniaws_testkit::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

fn api_status(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    match result {
        Err(ClientError::Api { status, kind, .. }) => (status.as_u16(), kind),
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn key_lifecycle(server: &TestServer) {
    let anon = server.client();
    let created = anon.create_key("alice").await.expect("sign-up");
    assert!(created.key.starts_with("mk_"));
    assert_eq!(created.access_key_id.len(), 20);
    assert_eq!(created.secret_access_key.len(), 40);
    let alice = server.client().with_api_key(created.key.clone());

    // The first key is listed without its secret.
    let keys = alice.list_keys().await.expect("list");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, created.id);
    assert!(created.key.starts_with(&keys[0].prefix));
    assert!(
        keys[0].last_used.is_some(),
        "the list request itself used the key"
    );

    // A taken name is a conflict; a bad name says what is wrong.
    assert_eq!(
        api_status(anon.create_key("alice").await),
        (409, "CONFLICT".into())
    );
    // Names are unique regardless of case, as IAM's are: a look-alike is
    // taken as well, with the same answer.
    for lookalike in ["ALICE", "Alice"] {
        match anon.create_key(lookalike).await {
            Err(ClientError::Api {
                status,
                kind,
                message,
                ..
            }) => {
                assert_eq!((status.as_u16(), kind.as_str()), (409, "CONFLICT"));
                assert!(
                    message.contains(lookalike) && message.contains("regardless of case"),
                    "{message}"
                );
            }
            other => panic!("{lookalike}: expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(api_status(anon.create_key("no spaces").await).0, 400);

    // With a key, POST /auth/keys makes another key for the same user.
    let ci = alice.create_key("ci").await.expect("second key");
    assert_eq!(ci.user_id, created.user_id);
    let ci_client = server.client().with_api_key(ci.key.clone());
    assert_eq!(ci_client.whoami().await.expect("whoami").user.name, "alice");
    assert_eq!(alice.list_keys().await.expect("list").len(), 2);

    // Bob cannot see or revoke Alice's keys.
    let (bob, bob_key) = server.user("bob").await;
    let bob_keys = bob.list_keys().await.expect("bob lists");
    assert_eq!(bob_keys.len(), 1);
    assert_eq!(bob_keys[0].id, bob_key.id);
    assert_eq!(
        api_status(bob.revoke_key(ci.id, true).await),
        (404, "NOT_FOUND".into())
    );
    assert_eq!(alice.list_keys().await.expect("list").len(), 2);

    // Revoking works at once; the last key needs force.
    alice.revoke_key(ci.id, false).await.expect("revoke ci");
    assert_eq!(
        api_status(ci_client.list_keys().await),
        (401, "UNAUTHORIZED".into())
    );
    assert_eq!(
        api_status(alice.revoke_key(created.id, false).await),
        (409, "CONFLICT".into())
    );
    alice.revoke_key(created.id, true).await.expect("forced");
    assert_eq!(api_status(alice.list_keys().await).0, 401);
}

#[tokio::test]
async fn key_lifecycle_on_sqlite() {
    let server = TestServer::start(Backend::Sqlite)
        .await
        .expect("sqlite server");
    key_lifecycle(&server).await;
}

#[tokio::test]
async fn key_lifecycle_on_postgres() {
    let Some(server) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    key_lifecycle(&server).await;
}

/// Every key of `client`, `limit` at a time, starting from `token`;
/// checks each page's size and that only the last has no token.
async fn walk_keys(
    client: &miniaws_client::Client,
    limit: u32,
    token: Option<String>,
) -> Vec<miniaws_client::ApiKey> {
    let mut keys = Vec::new();
    let mut token = token;
    loop {
        let page = client
            .list_keys_page(Some(limit), token.as_deref())
            .await
            .expect("a page");
        let full = page.data.len() == limit as usize;
        keys.extend(page.data);
        match page.next_token {
            Some(t) => {
                assert!(full, "only the last page is short");
                token = Some(t);
            }
            None => return keys,
        }
    }
}

async fn key_lists_page_oldest_first(server: &TestServer) {
    let (alice, first) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    // Bob's keys (29) made in between Alice's (200).
    let names: Vec<(bool, String)> = (0..200)
        .flat_map(|i| {
            let bobs = (i % 7 == 0).then(|| (false, format!("b{i}")));
            std::iter::once((true, format!("a{i}"))).chain(bobs)
        })
        .collect();
    futures::stream::iter(names)
        .for_each_concurrent(8, |(mine, name)| {
            let who = if mine { &alice } else { &bob };
            async move {
                who.create_key(&name).await.expect("key created");
            }
        })
        .await;

    // Seven at a time: every key once, oldest first (ties by id), none of
    // Bob's.
    let all = walk_keys(&alice, 7, None).await;
    assert_eq!(all.len(), 201);
    assert_eq!(all[0].id, first.id, "the first key comes first");
    let mut sorted = all.clone();
    sorted.sort_by_key(|k| (k.created_at, k.id));
    assert_eq!(all, sorted, "oldest first, ties broken by id");
    assert!(all.iter().all(|k| k.user_id == first.user_id));
    let ids: std::collections::HashSet<_> = all.iter().map(|k| k.id).collect();
    assert_eq!(ids.len(), 201, "no key twice");
    let same = |a: &[miniaws_client::ApiKey], b: &[miniaws_client::ApiKey]| {
        a.iter().map(|k| k.id).eq(b.iter().map(|k| k.id))
    };
    assert!(
        same(&alice.list_keys().await.expect("all"), &all),
        "the client follows pages"
    );
    assert!(
        same(&walk_keys(&alice, 201, None).await, &all),
        "one full page"
    );

    // A key revoked between two pages does not cut the list short.
    let page = alice.list_keys_page(Some(50), None).await.expect("a page");
    let token = page.next_token.expect("more than 50");
    let last = page.data.last().expect("a full page");
    alice.revoke_key(last.id, false).await.expect("revoked");
    let rest = walk_keys(&alice, 7, Some(token.clone())).await;
    assert!(same(&rest, &all[50..]), "the rest after a revoked key");

    // Alice's token in Bob's hands lists Bob's keys after that place.
    let bobs = walk_keys(&bob, 7, None).await;
    assert_eq!(bobs.len(), 30);
    let from_alice = walk_keys(&bob, 7, Some(token)).await;
    assert!(from_alice.iter().all(|k| k.user_id == bobs[0].user_id));
    let want: Vec<_> = bobs
        .iter()
        .filter(|k| (k.created_at, k.id) > (last.created_at, last.id))
        .cloned()
        .collect();
    assert!(
        !want.is_empty() && want.len() < bobs.len(),
        "{}",
        want.len()
    );
    assert!(same(&from_alice, &want));
}

#[tokio::test]
async fn key_lists_page_oldest_first_on_sqlite() {
    let server = TestServer::start(Backend::Sqlite)
        .await
        .expect("sqlite server");
    key_lists_page_oldest_first(&server).await;
}

#[tokio::test]
async fn key_lists_page_oldest_first_on_postgres() {
    let Some(server) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    key_lists_page_oldest_first(&server).await;
}

async fn raw(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn unauthenticated_and_malformed_requests_get_clear_errors() {
    let server = TestServer::start(Backend::Sqlite).await.expect("server");
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.url());
    let json_post = |body: String| {
        http.post(url("/auth/keys"))
            .header("content-type", "application/json")
            .body(body)
    };

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str, &str)> = vec![
        (
            "no key",
            http.get(url("/auth/keys")),
            401,
            "UNAUTHORIZED",
            "missing API key",
        ),
        (
            "unknown key",
            http.get(url("/auth/keys")).header("x-api-key", "mk_nope"),
            401,
            "UNAUTHORIZED",
            "invalid or revoked",
        ),
        (
            "unknown bearer",
            http.get(url("/auth/keys")).bearer_auth("mk_nope"),
            401,
            "UNAUTHORIZED",
            "invalid or revoked",
        ),
        (
            "basic auth is not a scheme we take",
            http.get(url("/auth/keys")).basic_auth("a", Some("b")),
            401,
            "UNAUTHORIZED",
            "Bearer",
        ),
        (
            "malformed JSON",
            json_post("{\"name\":".into()),
            400,
            "INVALID_INPUT",
            "malformed JSON",
        ),
        (
            "wrong content type",
            http.post(url("/auth/keys"))
                .header("content-type", "text/plain")
                .body("{\"name\":\"x\"}"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "application/json",
        ),
        (
            "unknown field",
            json_post("{\"name\":\"x\",\"admin\":true}".into()),
            400,
            "INVALID_INPUT",
            "unknown field `admin`",
        ),
        (
            "missing field",
            json_post("{}".into()),
            400,
            "INVALID_INPUT",
            "missing field `name`",
        ),
        (
            "oversized body",
            json_post(format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024))),
            413,
            "TOO_LARGE",
            "larger than",
        ),
        (
            "unknown route",
            http.get(url("/nope")),
            404,
            "NOT_FOUND",
            "/nope",
        ),
        (
            "wrong method",
            http.put(url("/auth/keys")),
            405,
            "METHOD_NOT_ALLOWED",
            "PUT",
        ),
    ];
    for (description, req, status, kind, needle) in cases {
        let (got_status, body) = raw(req).await;
        assert_eq!(got_status.as_u16(), status, "{description}: {body}");
        assert_eq!(body["error"]["type"], kind, "{description}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{description}: message {message:?} lacks {needle:?}"
        );
    }

    // A valid key with a malformed id names the problem.
    let (alice, _) = server.user("alice").await;
    let err = alice
        .send(alice.request(reqwest::Method::DELETE, "/auth/keys/not-a-uuid"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert!(err.to_string().contains("not a valid id"), "{err}");
}

#[tokio::test]
async fn secrets_never_reach_the_log_and_request_ids_are_echoed() {
    let server = TestServer::start(Backend::Sqlite).await.expect("server");
    let (alice, key) = server.user("alice").await;
    alice.list_keys().await.expect("list");
    let _ = server
        .client()
        .with_api_key("mk_wrong_secret_value")
        .list_keys()
        .await;

    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/health", server.url()))
        .header("x-request-id", "req-123")
        .send()
        .await
        .expect("health");
    assert_eq!(res.headers()["x-request-id"], "req-123");
    let res = http
        .get(format!("{}/health", server.url()))
        .send()
        .await
        .expect("health");
    assert!(
        res.headers().contains_key("x-request-id"),
        "an id is generated"
    );

    let log = server.log();
    assert!(log.contains("req-123"), "the request id is in the span");
    for secret in [
        key.key.as_str(),
        key.secret_access_key.as_str(),
        "mk_wrong_secret_value",
    ] {
        assert!(!log.contains(secret), "a secret leaked into the log");
    }
}

#[tokio::test]
async fn closed_signup_refuses_anonymous_key_creation() {
    let server = TestServer::start_with(Backend::Sqlite, &["--open-signup=false"], &[])
        .await
        .expect("server");
    let (status, kind) = api_status(server.client().create_key("alice").await);
    assert_eq!((status, kind.as_str()), (403, "FORBIDDEN"));
}

/// With sign-up closed, the operator creates users with `miniaws users
/// create` on the server's database, while the server runs: the key it
/// prints works at once on both listeners; a taken or invalid name fails
/// with a message that says so, and creates nothing.
async fn operator_creates_users(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, &["--open-signup=false"], &[]).await else {
        return;
    };
    let users = |args: &[&str]| {
        std::process::Command::new(miniaws_testkit::miniaws_bin())
            .args(["users", "create"])
            .args(args)
            .arg("--data-dir")
            .arg(server.data_dir().join("data"))
            .arg("--database-url")
            .arg(server.database_url())
            .env_remove("DATABASE_URL")
            .output()
            .expect("miniaws runs")
    };
    let out = users(&["carol", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let key = created["key"].as_str().expect("a key");
    let carol = server.client().with_api_key(key);
    let keys = carol.list_keys().await.expect("the printed key works");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(created["user_id"], keys[0].user_id.to_string().as_str());
    let aws = reqwest::Client::new()
        .get(server.aws_url())
        .send()
        .await
        .expect("the AWS listener answers");
    assert_eq!(aws.status(), 403, "anonymous ListBuckets is refused");
    let s3 = common::s3_client_with(
        &server.aws_url(),
        created["access_key_id"].as_str().expect("an access key id"),
        created["secret_access_key"].as_str().expect("a secret"),
        |config| config,
    );
    s3.create_bucket()
        .bucket("carols")
        .send()
        .await
        .expect("the printed S3 credentials work");

    // The same name again, in any case, and a bad one: refused, nothing
    // created.
    for taken in ["carol", "CAROL"] {
        let out = users(&[taken]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("already taken"),
            "{taken}: {err}"
        );
    }
    let out = users(&["no spaces"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("may contain only"),
        "{err}"
    );
    // The human form names the user and prints the secrets once.
    let out = users(&["dave"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("created user dave"),
        "{text}"
    );
    assert!(
        text.contains("mk_") && text.contains("secret access key"),
        "{text}"
    );
    // The API still refuses anonymous sign-up.
    let (status, _) = api_status(server.client().create_key("eve").await);
    assert_eq!(status, 403);
}

#[tokio::test]
async fn operator_creates_users_on_sqlite() {
    operator_creates_users(Backend::Sqlite).await;
}

#[tokio::test]
async fn operator_creates_users_on_postgres() {
    operator_creates_users(Backend::Postgres).await;
}

/// A database of before user names were unique regardless of case may
/// hold look-alikes (`dana` and `DANA`): the upgrade keeps both, and every
/// start names the later one in a warning; both keep working.
async fn lookalikes_from_before_are_named_at_start(backend: Backend) {
    use miniaws_db::{Database, MigrationState, PoolSettings};
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (dana, _) = server.user("dana").await;
    server.stop().await;
    // Back to before migration 0026, and a look-alike made as then.
    let db = Database::connect(server.database_url(), &PoolSettings::default())
        .await
        .expect("the database opens");
    let newer = db
        .migration_status()
        .await
        .expect("status")
        .iter()
        .filter(|m| m.version >= 26 && m.state == MigrationState::Applied)
        .count();
    assert!(newer >= 1, "0026 is applied");
    db.migrate_down(newer).await.expect("downs run");
    let insert = "INSERT INTO users (id, name, created_at) VALUES ($1, 'DANA', $2)";
    let id = uuid::Uuid::new_v4();
    match &db {
        Database::Postgres(pool, _) => sqlx::query(insert)
            .bind(id)
            .bind(time::OffsetDateTime::now_utc())
            .execute(pool)
            .await
            .map(drop),
        Database::Sqlite(pool, _) => sqlx::query(insert)
            .bind(id.to_string())
            .bind("2099-01-01T00:00:00.000000Z")
            .execute(pool)
            .await
            .map(drop),
    }
    .expect("a look-alike, as before 0026");
    db.close().await;

    server.restart_on_same_ports().await;
    let log = server.log();
    let warning = log
        .lines()
        .find(|l| l.contains("differ only by case"))
        .unwrap_or_else(|| panic!("no warning: {log}"));
    assert!(
        warning.contains(&format!("DANA ({id})")) && !warning.contains("dana ("),
        "{warning}"
    );
    assert_eq!(
        dana.whoami()
            .await
            .expect("dana's key still works")
            .user
            .name,
        "dana"
    );
    assert_eq!(
        api_status(server.client().create_key("Dana").await),
        (409, "CONFLICT".into())
    );
}

#[tokio::test]
async fn lookalikes_from_before_are_named_at_start_on_sqlite() {
    lookalikes_from_before_are_named_at_start(Backend::Sqlite).await;
}

#[tokio::test]
async fn lookalikes_from_before_are_named_at_start_on_postgres() {
    lookalikes_from_before_are_named_at_start(Backend::Postgres).await;
}

#[tokio::test]
async fn health_reports_its_dependencies() {
    let server = TestServer::start(Backend::Sqlite).await.expect("server");
    let health = server.client().health().await.expect("health");
    assert_eq!(health.status, "UP");
    assert_eq!(health.database, "CONNECTED");
    assert!(["CONNECTED", "DISCONNECTED", "DISABLED"].contains(&health.docker.as_str()));
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
}
