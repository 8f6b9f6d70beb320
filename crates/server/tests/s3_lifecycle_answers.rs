//! What the lifecycle tells clients beyond `s3_lifecycle.rs`, against the
//! real server on SQLite and Postgres:
//!
//! - `x-amz-expiration` on a 304 (GetObject and HeadObject with
//!   `If-None-Match` or `If-Modified-Since`, through the AWS SDK), on the
//!   native API's PUT, GET, HEAD and 304, and on a form upload
//!   (PostObject) — the very value PutObject answers; none for a key no
//!   rule selects.
//! - A stored configuration that no longer decodes (written straight into
//!   the database, as a row edited by hand): GetBucketLifecycleConfiguration
//!   is 500 `InternalError` with a message that names the bucket and what
//!   to do, not what is stored, logged once; the bucket's objects are
//!   served as usual (without `x-amz-expiration`), and putting a new
//!   configuration repairs it.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter,
};
use common::{code_of, form_fields, post_form, s3_client};
use miniaws_testkit::{Backend, TestServer};

const BUCKET: &str = "lc-answers";
const DAMAGED: &str = "lc-damaged";
const EXPIRATION: &str = "x-amz-expiration";

fn config() -> BucketLifecycleConfiguration {
    let rule = LifecycleRule::builder()
        .id("expire tmp")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
        .expiration(LifecycleExpiration::builder().days(7).build())
        .build()
        .expect("a rule");
    BucketLifecycleConfiguration::builder()
        .rules(rule)
        .build()
        .expect("a configuration")
}

async fn put_config(s3: &Client, bucket: &str) {
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketLifecycleConfiguration {bucket}: {e:?}"));
}

/// PutObject: the ETag and the `x-amz-expiration` answered.
async fn put(s3: &Client, bucket: &str, key: &str) -> (String, Option<String>) {
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"answers"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    (
        out.e_tag().expect("an ETag").to_owned(),
        out.expiration().map(str::to_owned),
    )
}

/// The status and `x-amz-expiration` of a failed SDK call.
fn status_and_expiration<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> (u16, Option<String>) {
    let raw = err.raw_response().expect("an HTTP answer");
    (
        raw.status().as_u16(),
        raw.headers().get(EXPIRATION).map(str::to_owned),
    )
}

/// 304s through the SDK carry the expiration of a selected key.
async fn not_modified(s3: &Client, key: &str, want: Option<&str>) {
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.expiration(), want, "a 200 HEAD of {key}");
    let etag = head.e_tag().expect("an ETag").to_owned();
    let modified = *head.last_modified().expect("Last-Modified");
    let want = want.map(str::to_owned);
    let err = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .if_none_match(&etag)
        .send()
        .await
        .expect_err("304");
    assert_eq!(
        status_and_expiration(&err),
        (304, want.clone()),
        "GET If-None-Match {key}"
    );
    let err = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .if_modified_since(modified)
        .send()
        .await
        .expect_err("304");
    assert_eq!(
        status_and_expiration(&err),
        (304, want.clone()),
        "GET If-Modified-Since {key}"
    );
    let err = s3
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .if_none_match(&etag)
        .send()
        .await
        .expect_err("304");
    assert_eq!(
        status_and_expiration(&err),
        (304, want),
        "HEAD If-None-Match {key}"
    );
}

/// The native API's answers: status and `x-amz-expiration`.
async fn native(
    server: &TestServer,
    api_key: &str,
    method: reqwest::Method,
    key: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>) {
    let mut req = reqwest::Client::new()
        .request(
            method.clone(),
            format!("{}/storage/{BUCKET}/{key}", server.url()),
        )
        .header("x-api-key", api_key);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if method == reqwest::Method::PUT {
        req = req.body("native bytes");
    }
    let resp = req.send().await.expect("request sent");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (resp.status().as_u16(), header(EXPIRATION), header("etag"))
}

async fn expiration_answers(server: &TestServer, key: &miniaws_client::CreatedKey, s3: &Client) {
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("CreateBucket");
    put_config(s3, BUCKET).await;
    let (_, want) = put(s3, BUCKET, "tmp/a").await;
    let want = want.expect("PutObject answers the expiration");
    assert!(
        want.starts_with("expiry-date=\"") && want.ends_with("rule-id=\"expire%20tmp\""),
        "{want}"
    );
    let (_, none) = put(s3, BUCKET, "keep/b").await;
    assert_eq!(none, None, "no rule selects keep/");

    // 304s.
    not_modified(s3, "tmp/a", Some(&want)).await;
    not_modified(s3, "keep/b", None).await;

    // The native API: PUT, GET, HEAD and a 304, with the same value (the
    // objects were written the same day, so the same midnight).
    let api_key = key.key.as_str();
    let (status, expiration, etag) =
        native(server, api_key, reqwest::Method::PUT, "tmp/n", &[]).await;
    assert_eq!(
        (status, expiration.as_deref()),
        (200, Some(want.as_str())),
        "native PUT"
    );
    let etag = etag.expect("an ETag");
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        let (status, expiration, _) = native(server, api_key, method.clone(), "tmp/n", &[]).await;
        assert_eq!(
            (status, expiration.as_deref()),
            (200, Some(want.as_str())),
            "native {method}"
        );
        let (status, expiration, _) = native(
            server,
            api_key,
            method.clone(),
            "tmp/n",
            &[("if-none-match", &etag)],
        )
        .await;
        assert_eq!(
            (status, expiration.as_deref()),
            (304, Some(want.as_str())),
            "native {method} 304"
        );
        let (status, expiration, _) = native(server, api_key, method.clone(), "keep/b", &[]).await;
        assert_eq!((status, expiration), (200, None), "native {method} keep/b");
    }
    let (status, expiration, _) =
        native(server, api_key, reqwest::Method::PUT, "keep/n", &[]).await;
    assert_eq!((status, expiration), (200, None), "native PUT keep/n");

    // A form upload.
    for (object, want) in [("tmp/form", Some(want.as_str())), ("keep/form", None)] {
        let fields = form_fields(key, BUCKET, object, &[]);
        let (status, headers, body) = post_form(server, BUCKET, &fields, b"form bytes").await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(
            headers.get(EXPIRATION).and_then(|v| v.to_str().ok()),
            want,
            "PostObject {object}"
        );
    }
}

/// Runs `sql` on the server's database.
async fn execute(server: &TestServer, backend: Backend, sql: &str) -> u64 {
    let url = server.database_url();
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .expect("update")
                .rows_affected();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .expect("update")
                .rows_affected();
            pool.close().await;
            n
        }
    }
}

async fn damaged_configuration(server: &TestServer, backend: Backend, s3: &Client) {
    s3.create_bucket()
        .bucket(DAMAGED)
        .send()
        .await
        .expect("CreateBucket");
    put_config(s3, DAMAGED).await;
    let updated = execute(
        server,
        backend,
        &format!(
            "UPDATE buckets SET lifecycle = '{{\"rules\": \"secret-ish' WHERE name = '{DAMAGED}'"
        ),
    )
    .await;
    assert_eq!(updated, 1);

    let err = s3
        .get_bucket_lifecycle_configuration()
        .bucket(DAMAGED)
        .send()
        .await
        .expect_err("a damaged configuration");
    assert_eq!(code_of(&err), ("InternalError".to_owned(), 500));
    let message = err
        .as_service_error()
        .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::message(e).map(str::to_owned))
        .unwrap_or_default();
    assert!(
        message.contains(&format!(
            "The stored lifecycle configuration of bucket {DAMAGED} cannot be read"
        )) && message.contains("Put a new configuration, or delete it."),
        "{message}"
    );
    assert!(
        !message.contains("secret-ish"),
        "not what is stored: {message}"
    );
    let log = server.log();
    let logged = log
        .lines()
        .filter(|l| l.contains("cannot be read") && l.contains(DAMAGED))
        .count();
    assert_eq!(logged, 1, "logged once:\n{log}");
    // Once in all: one line with the code and the message, not a second
    // one at the edge with the code alone.
    let faults: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("S3 request failed") || l.contains("S3 error answer"))
        .collect();
    assert_eq!(faults.len(), 1, "one line for the 500:\n{log}");
    assert!(
        faults[0].contains("InternalError") && faults[0].contains("cannot be read"),
        "{}",
        faults[0]
    );
    assert!(!log.contains("secret-ish"), "not what is stored");

    // The bucket's objects are served, told of no expiration.
    let (_, expiration) = put(s3, DAMAGED, "tmp/x").await;
    assert_eq!(expiration, None);
    let head = s3
        .head_object()
        .bucket(DAMAGED)
        .key("tmp/x")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.expiration(), None);

    // Putting a configuration repairs it; deleting one too.
    put_config(s3, DAMAGED).await;
    let got = s3
        .get_bucket_lifecycle_configuration()
        .bucket(DAMAGED)
        .send()
        .await
        .expect("repaired");
    assert_eq!(got.rules().len(), 1);
    execute(
        server,
        backend,
        &format!("UPDATE buckets SET lifecycle = 'nope' WHERE name = '{DAMAGED}'"),
    )
    .await;
    s3.delete_bucket_lifecycle()
        .bucket(DAMAGED)
        .send()
        .await
        .expect("DeleteBucketLifecycle of a damaged configuration");
    let err = s3
        .get_bucket_lifecycle_configuration()
        .bucket(DAMAGED)
        .send()
        .await
        .expect_err("none");
    assert_eq!(
        code_of(&err),
        ("NoSuchLifecycleConfiguration".to_owned(), 404)
    );
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("alice-lc-answers").await;
    let s3 = s3_client(&server, &key);
    expiration_answers(&server, &key, &s3).await;
    damaged_configuration(&server, backend, &s3).await;
    assert!(!server.log().contains("panicked"), "no panic in the log");
}

#[tokio::test]
async fn lifecycle_answers_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn lifecycle_answers_postgres() {
    run(Backend::Postgres).await;
}
