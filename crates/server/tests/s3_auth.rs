//! SigV4 on the AWS listener: good and bad credentials, anonymous requests,
//! clock skew, revocation, and the shape of S3 error XML. SigV2 requests
//! for a bucket alone as botocore signs them (over `/bucket/`, sent to
//! `/bucket`) and as others sign them (over the path as sent), through
//! boto3 and by hand, with bad signatures, unknown and revoked keys (SQLite
//! and Postgres).

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
    s3_client(&server, &alice)
        .create_bucket()
        .bucket("some-bucket")
        .send()
        .await
        .expect("a bucket for the anonymous read");
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

/// Shared by the SigV2 scripts: a boto3 client signing with SigV2
/// (`signature_version="s3"`), a hand signer, and the answer's code.
const SIGV2_PRELUDE: &str = r#"
import os, sys, re, hmac, hashlib, base64, email.utils, http.client, urllib.parse, urllib.request, urllib.error
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["ENDPOINT"]
HOSTPORT = urllib.parse.urlparse(ENDPOINT).netloc
PORT = int(HOSTPORT.rsplit(":", 1)[1])
AK, SK = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
B = sys.argv[1]

def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")

def client(ak=AK, sk=SK, sigv2=True):
    cfg = Config(signature_version="s3", retries={"total_max_attempts": 1}) if sigv2 else None
    return boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=ak,
                        aws_secret_access_key=sk, region_name="us-east-1", config=cfg)

def error_of(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None

def code(body):
    m = re.search(r"<Code>(.*?)</Code>", body)
    return m.group(1) if m else None

def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def signed(method, path, resource, ak=AK, sk=SK, host=None, date=None, amz_date=None):
    """Sends `method path` with a SigV2 header signed over `resource`, its
    time the `Date` (now unless given) or, when given, `x-amz-date`."""
    date = date or email.utils.formatdate(usegmt=True)
    if amz_date:
        sts = f"{method}\n\n\n\nx-amz-date:{amz_date}\n{resource}"
    else:
        sts = f"{method}\n\n\n{date}\n{resource}"
    sig = base64.b64encode(hmac.new(sk.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Date": date, "Authorization": f"AWS {ak}:{sig}"}
    if amz_date:
        headers["x-amz-date"] = amz_date
    if host:
        headers["Host"] = host
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, body
"#;

/// boto3's SigV2 bucket calls, its default presigned listing, and hand-signed
/// requests in both forms.
const SIGV2_BUCKET: &str = r#"
v2 = client()
# Bucket-level writes and reads, botocore signing `/B/` and sending `/B`.
v2.create_bucket(Bucket=B)
v2.put_object(Bucket=B, Key="k1", Body=b"one")
v2.put_object(Bucket=B, Key="gone", Body=b"two")
listed = v2.list_objects(Bucket=B)
check([o["Key"] for o in listed.get("Contents", [])] == ["gone", "k1"], f"list_objects: {listed}")
listed = v2.list_objects_v2(Bucket=B, Prefix="k")
check(listed["KeyCount"] == 1 and listed["Contents"][0]["Key"] == "k1", f"list_objects_v2: {listed}")
check(v2.head_bucket(Bucket=B)["ResponseMetadata"]["HTTPStatusCode"] == 200, "head_bucket")
check(v2.get_bucket_location(Bucket=B).get("LocationConstraint") is None, "get_bucket_location")
# `versioning` is a sub-resource SigV2 signs (botocore over `/B/?versioning`).
check("Status" not in v2.get_bucket_versioning(Bucket=B), "get_bucket_versioning")
v2.put_bucket_tagging(Bucket=B, Tagging={"TagSet": [{"Key": "team", "Value": "blue"}]})
check(v2.get_bucket_tagging(Bucket=B)["TagSet"] == [{"Key": "team", "Value": "blue"}], "tags")
deleted = v2.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "gone"}]})
check([d["Key"] for d in deleted.get("Deleted", [])] == ["gone"], f"delete_objects: {deleted}")
check(v2.get_object(Bucket=B, Key="k1")["Body"].read() == b"one", "the object is there")
# Past the signature to the operation's own answer.
check(error_of(v2.list_objects, Bucket=B + "-missing") == ("NoSuchBucket", 404), "a missing bucket")

# boto3's default presigned URL for a listing is SigV2, to `/B?…`.
url = client(sigv2=False).generate_presigned_url("list_objects_v2", Params={"Bucket": B})
check("Signature=" in url and f"/{B}?" in url, f"a SigV2 URL to the bare bucket: {url}")
status, body = fetch(url)
check(status == 200 and "<Key>k1</Key>" in body and "<KeyCount>1</KeyCount>" in body, f"presigned listing: {status} {body}")
url = client(sigv2=False).generate_presigned_url("head_bucket", Params={"Bucket": B})
status, _ = fetch(urllib.request.Request(url, method="HEAD"))
check(status == 200, f"presigned head_bucket: {status}")
# A presigned URL with a wrong signature, or tampered with.
bad = client(sk="not-the-secret", sigv2=False).generate_presigned_url("list_objects_v2", Params={"Bucket": B})
status, body = fetch(bad)
check((status, code(body)) == (403, "SignatureDoesNotMatch"), f"bad presigned: {status} {body}")
status, body = fetch(url.replace(f"/{B}?", f"/{B}?acl&", 1))
check((status, code(body)) == (403, "SignatureDoesNotMatch"), f"tampered presigned: {status} {body}")

# By hand: signed over the path as sent (rclone, hand-written signers),
# over `/B/` and sent to `/B` (botocore), sent to `/B/` (s3cmd).
for path, resource in [(f"/{B}", f"/{B}"), (f"/{B}", f"/{B}/"), (f"/{B}/", f"/{B}/")]:
    status, body = signed("GET", path, resource)
    check(status == 200 and "<Key>k1</Key>" in body, f"{path} signed over {resource}: {status} {body}")
status, body = signed("GET", f"/{B}?location", f"/{B}/?location")
check(status == 200 and "LocationConstraint" in body, f"?location signed over /{B}/: {status} {body}")
# A wrong signature, in either form; a signature over another bucket.
for path, resource in [(f"/{B}", f"/{B}"), (f"/{B}", f"/{B}/"), (f"/{B}/", f"/{B}/")]:
    status, body = signed("GET", path, resource, sk="not-the-secret")
    check((status, code(body)) == (403, "SignatureDoesNotMatch"), f"bad secret, {path} over {resource}: {status} {body}")
status, body = signed("GET", f"/{B}", f"/{B}-other/")
check((status, code(body)) == (403, "SignatureDoesNotMatch"), f"another bucket's signature: {status} {body}")
status, body = signed("GET", f"/{B}", f"/{B}/k1")
check((status, code(body)) == (403, "SignatureDoesNotMatch"), f"an object's signature: {status} {body}")
# An unknown key, in either form.
for resource in [f"/{B}", f"/{B}/"]:
    status, body = signed("GET", f"/{B}", resource, ak="AKIAUNKNOWNUNKNOWN00")
    check((status, code(body)) == (403, "InvalidAccessKeyId"), f"unknown key over {resource}: {status} {body}")
check(error_of(client(sk="not-the-secret").list_objects, Bucket=B) == ("SignatureDoesNotMatch", 403), "boto3, bad secret")
check(error_of(client(ak="AKIAUNKNOWNUNKNOWN00").list_objects, Bucket=B) == ("InvalidAccessKeyId", 403), "boto3, unknown key")

# The signed time is checked against the server's clock, 15 minutes either
# way, as S3 does: a captured request cannot be replayed later.
import time as _time
def at(offset):
    return email.utils.formatdate(_time.time() + offset, usegmt=True)
for offset in (-20 * 60, 20 * 60):
    status, body = signed("GET", f"/{B}/k1", f"/{B}/k1", date=at(offset))
    check((status, code(body)) == (403, "RequestTimeTooSkewed"), f"Date {offset} s off: {status} {body}")
    status, body = signed("GET", f"/{B}/k1", f"/{B}/k1", amz_date=at(offset))
    check((status, code(body)) == (403, "RequestTimeTooSkewed"), f"x-amz-date {offset} s off: {status} {body}")
status, body = signed("GET", f"/{B}/k1", f"/{B}/k1", date=at(-10 * 60))
check((status, body) == (200, "one"), f"Date 10 minutes old: {status} {body}")
# x-amz-date is the time signed: an old Date beside it does not matter.
status, body = signed("GET", f"/{B}/k1", f"/{B}/k1", date=at(-3600), amz_date=at(0))
check((status, body) == (200, "one"), f"x-amz-date now, Date old: {status} {body}")
status, body = signed("GET", f"/{B}/k1", f"/{B}/k1", date="yesterday")
check((status, code(body)) == (403, "AccessDenied"), f"a Date that is no date: {status} {body}")

# Virtual-hosted: `/` is the bucket and `/k1` an object, as before.
vhost = f"{B}.localhost:{PORT}"
status, body = signed("GET", "/", f"/{B}/", host=vhost)
check(status == 200 and "<Key>k1</Key>" in body, f"virtual-hosted listing: {status} {body}")
status, body = signed("GET", "/k1", f"/{B}/k1", host=vhost)
check((status, body) == (200, "one"), f"virtual-hosted object: {status} {body}")
print("boto3 ok")
"#;

/// boto3's SigV2 listing with a key that works (`works`) or was revoked.
const SIGV2_REVOKED: &str = r#"
outcome = error_of(client().list_objects, Bucket=B)
if sys.argv[2] == "works":
    check(outcome is None, f"the key works: {outcome}")
else:
    check(outcome == ("InvalidAccessKeyId", 403), f"the revoked key: {outcome}")
    status, body = signed("GET", f"/{B}", f"/{B}/")
    check((status, code(body)) == (403, "InvalidAccessKeyId"), f"revoked, by hand: {status} {body}")
print("boto3 ok")
"#;

async fn sigv2_bucket_cases(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice_client, alice) = server.user("alice").await;
    let script = |body: &str| format!("{SIGV2_PRELUDE}{body}");
    common::boto3(&server, &alice, &script(SIGV2_BUCKET), &["sigv2-bucket"]).await;
    // Revoking a key stops its SigV2 bucket requests at once.
    let second = alice_client
        .create_key("second")
        .await
        .expect("second key is created");
    let revoked = script(SIGV2_REVOKED);
    common::boto3(&server, &second, &revoked, &["sigv2-bucket", "works"]).await;
    alice_client
        .revoke_key(second.id, false)
        .await
        .expect("the second key is revoked");
    common::boto3(&server, &second, &revoked, &["sigv2-bucket", "revoked"]).await;
}

#[tokio::test]
async fn sigv2_bucket_requests_sqlite() {
    sigv2_bucket_cases(Backend::Sqlite).await;
}

#[tokio::test]
async fn sigv2_bucket_requests_postgres() {
    sigv2_bucket_cases(Backend::Postgres).await;
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
