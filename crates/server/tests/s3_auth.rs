//! SigV4 on the AWS listener: good and bad credentials, anonymous requests,
//! clock skew, revocation, and the shape of S3 error XML.

mod common;

use common::{code_of, s3_client, s3_client_with};
use miniaws_testkit::{Backend, TestServer};
use std::time::{Duration, SystemTime};

#[derive(Debug)]
struct FixedClock(SystemTime);

impl aws_smithy_async::time::TimeSource for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// Whether a ListBuckets call got past authentication (its answer may still
/// be an operation error, but not an auth one).
fn passed_auth(
    result: &Result<
        aws_sdk_s3::operation::list_buckets::ListBucketsOutput,
        aws_sdk_s3::error::SdkError<
            aws_sdk_s3::operation::list_buckets::ListBucketsError,
            aws_sdk_s3::config::http::HttpResponse,
        >,
    >,
) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => {
            let (code, status) = code_of(e);
            status != 403 && status != 0 && !code.contains("Signature")
        }
    }
}

async fn auth_cases(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    assert!(server.aws.is_some(), "the banner names the AWS endpoint");
    let (alice_client, alice) = server.user("alice").await;
    let endpoint = server.aws_url();

    // A correctly signed request reaches the operation.
    let ok = s3_client(&server, &alice).list_buckets().send().await;
    assert!(passed_auth(&ok), "signed ListBuckets: {ok:?}");

    // Wrong secret → SignatureDoesNotMatch.
    let bad = s3_client_with(&endpoint, &alice.access_key_id, "not-the-secret", |b| b);
    let err = bad.list_buckets().send().await.expect_err("bad secret");
    assert_eq!(code_of(&err), ("SignatureDoesNotMatch".into(), 403));
    // s3s raises it without a message; S3 always sends one.
    let message = aws_sdk_s3::error::ProvideErrorMetadata::message(&err).unwrap_or_default();
    assert!(
        message.starts_with("The request signature"),
        "S3's message: {message:?}"
    );

    // Unknown access key → InvalidAccessKeyId.
    let unknown = s3_client_with(&endpoint, "AKIAUNKNOWNUNKNOWN00", "x", |b| b);
    let err = unknown
        .list_buckets()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(code_of(&err), ("InvalidAccessKeyId".into(), 403));

    // A clock 20 minutes off → RequestTimeTooSkewed (both directions).
    for offset in [
        SystemTime::now() - Duration::from_secs(20 * 60),
        SystemTime::now() + Duration::from_secs(20 * 60),
    ] {
        let skewed = s3_client_with(
            &endpoint,
            &alice.access_key_id,
            &alice.secret_access_key,
            |b| b.time_source(FixedClock(offset)),
        );
        let err = skewed
            .list_buckets()
            .send()
            .await
            .expect_err("skewed clock");
        assert_eq!(code_of(&err), ("RequestTimeTooSkewed".into(), 403));
    }
    // 10 minutes off is within S3's 15-minute window.
    let near = s3_client_with(
        &endpoint,
        &alice.access_key_id,
        &alice.secret_access_key,
        |b| b.time_source(FixedClock(SystemTime::now() - Duration::from_secs(10 * 60))),
    );
    assert!(
        passed_auth(&near.list_buckets().send().await),
        "10 min skew is accepted"
    );

    // Anonymous → AccessDenied, as S3 XML with resource and request id.
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{endpoint}/some-bucket/some/key"))
        .header("x-request-id", "test-rid-42")
        .send()
        .await
        .expect("anonymous request is answered");
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(
        res.headers()
            .get("x-amz-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("test-rid-42")
    );
    let body = res.text().await.expect("error body");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        body.contains("<Resource>/some-bucket/some/key</Resource>"),
        "{body}"
    );
    assert!(
        body.contains("<RequestId>test-rid-42</RequestId>"),
        "{body}"
    );

    // A second key works at once; revoking it stops it at once.
    let second = alice_client
        .create_key("second")
        .await
        .expect("second key is created");
    let s2 = s3_client(&server, &second);
    assert!(
        passed_auth(&s2.list_buckets().send().await),
        "second key works"
    );
    alice_client
        .revoke_key(second.id, false)
        .await
        .expect("the second key is revoked");
    let err = s2.list_buckets().send().await.expect_err("revoked key");
    assert_eq!(code_of(&err), ("InvalidAccessKeyId".into(), 403));
    // The first key is unaffected.
    assert!(passed_auth(
        &s3_client(&server, &alice).list_buckets().send().await
    ));
}

#[tokio::test]
async fn s3_auth_sqlite() {
    auth_cases(Backend::Sqlite).await;
}

#[tokio::test]
async fn s3_auth_postgres() {
    auth_cases(Backend::Postgres).await;
}

#[tokio::test]
async fn signed_requests_stay_out_of_debug_logs() {
    // s3s logs whole requests at debug: capped at info even when the
    // filter asks s3s for more.
    for filter in ["debug", "debug,s3s=trace"] {
        signed_requests_stay_out_of_the_log_at(filter).await;
    }
}

async fn signed_requests_stay_out_of_the_log_at(filter: &str) {
    let Some(server) =
        TestServer::start_with(Backend::Sqlite, &[], &[("MINIAWS_LOG", filter)]).await
    else {
        return;
    };
    let (_, key) = server.user("quiet").await;
    let s3 = s3_client(&server, &key);
    assert!(passed_auth(&s3.list_buckets().send().await));
    let presigned = s3
        .get_object()
        .bucket("any-bucket")
        .key("any-key")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(60))
                .expect("config"),
        )
        .await
        .expect("presign");
    let _ = reqwest::get(presigned.uri()).await.expect("answered");
    let log = server.log();
    assert!(log.contains("request"), "the server did log at debug level");
    for secret in [
        "AWS4-HMAC-SHA256 Credential",
        "X-Amz-Signature",
        &key.secret_access_key,
    ] {
        assert!(
            !log.contains(secret),
            "{filter}: the log must not contain {secret:?}"
        );
    }
}

#[tokio::test]
async fn client_errors_are_logged_once_at_info() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("errors").await;
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("quiet-errors")
        .send()
        .await
        .expect("bucket");
    let err = s3
        .get_object()
        .bucket("quiet-errors")
        .key("missing")
        .send()
        .await
        .expect_err("no such key");
    assert_eq!(code_of(&err).0, "NoSuchKey");
    // SSE-KMS (Mini AWS has no KMS).
    let err = s3
        .put_object()
        .bucket("quiet-errors")
        .key("kms")
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("not implemented");
    assert_eq!(code_of(&err), ("NotImplemented".to_owned(), 501));
    let log = server.log();
    let rejected: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("S3 request rejected"))
        .collect();
    assert!(
        rejected.iter().any(|l| l.contains("NoSuchKey"))
            && rejected.iter().any(|l| l.contains("NotImplemented")),
        "each refusal is logged with its code: {rejected:?}"
    );
    // Neither is a server fault, and s3s's own copies (at ERROR) are off.
    assert!(
        !log.contains("ERROR"),
        "no ERROR line for a client's mistake or an unimplemented feature:\n{log}"
    );
}
