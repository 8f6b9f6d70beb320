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

/// HMAC-SHA1 of `string_to_sign` under `secret`, base64: a SigV2 signature.
fn sigv2(secret: &str, string_to_sign: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac =
        hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// One answer, as compared: status, `Content-Type`, body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

async fn answer_of(req: reqwest::RequestBuilder) -> Answer {
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.text().await.expect("a body");
    Answer {
        status,
        content_type,
        body,
    }
}

/// S3's XML error with the request id `rid` (also its `HostId`, base64).
fn s3_error_xml(code: &str, message: &str, resource: &str, rid: &str) -> String {
    use base64::Engine as _;
    let host_id = base64::engine::general_purpose::STANDARD.encode(rid);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><Resource>{resource}</Resource><RequestId>{rid}</RequestId><HostId>{host_id}</HostId></Error>"
    )
}

const SIGNATURE_DOES_NOT_MATCH: &str = "The request signature that the server calculated does not match the signature that you provided. Check your AWS secret access key and signing method.";

/// SigV2 signatures are checked by Mini AWS in constant time, in front of
/// s3s's own (variable-time) comparison; a wrong one, in the header or in
/// a presigned URL, gets the answer s3s gave (status, XML, message, log
/// line), and every answer s3s gives before the signature (unknown key,
/// expired URL, bad bucket name, no date) is unchanged. Right signatures
/// pass, in both forms, path-style and virtual-hosted, with the headers
/// and sub-resources the string to sign covers.
async fn sigv2_checks(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("alice").await;
    let (ak, sk) = (
        alice.access_key_id.as_str(),
        alice.secret_access_key.as_str(),
    );
    let endpoint = server.aws_url();
    let port = server.aws.expect("an AWS endpoint").port();
    let b = "sigv2-ct";
    let s3 = s3_client(&server, &alice);
    s3.create_bucket()
        .bucket(b)
        .send()
        .await
        .expect("the bucket");
    s3.put_object()
        .bucket(b)
        .key("k")
        .body(b"one".to_vec().into())
        .send()
        .await
        .expect("the object");
    let http = reqwest::Client::new();
    let date = httpdate::fmt_http_date(SystemTime::now());
    // A header-signed request: `sts_tail` is what follows the date line.
    let header = |method: reqwest::Method, path: &str, secret: &str, sts_tail: &str, rid: &str| {
        let sts = format!("{method}\n\n\n{date}\n{sts_tail}");
        http.request(method, format!("{endpoint}{path}"))
            .header("date", &date)
            .header("authorization", format!("AWS {ak}:{}", sigv2(secret, &sts)))
            .header("x-request-id", rid)
    };
    let expires = (SystemTime::now() + Duration::from_secs(600))
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let presigned = |path: &str, key: &str, secret: &str, expires: u64, rid: &str| {
        let sig = sigv2(secret, &format!("GET\n\n\n{expires}\n{path}"));
        let sig: String = form_urlencoded_byte_serialize(&sig);
        http.get(format!(
            "{endpoint}{path}?AWSAccessKeyId={key}&Expires={expires}&Signature={sig}"
        ))
        .header("x-request-id", rid)
    };
    let ok = |body: &str| Answer {
        status: 200,
        content_type: "application/octet-stream".into(),
        body: body.into(),
    };

    // Right signatures pass.
    let got = answer_of(header(
        reqwest::Method::GET,
        &format!("/{b}/k"),
        sk,
        &format!("/{b}/k"),
        "v2-ok-header",
    ))
    .await;
    assert_eq!(got, ok("one"), "header-signed GET");
    let got = answer_of(presigned(&format!("/{b}/k"), ak, sk, expires, "v2-ok-url")).await;
    assert_eq!(got, ok("one"), "presigned GET");
    // Virtual-hosted: the bucket from the Host comes first in the resource.
    let got = answer_of(
        header(
            reqwest::Method::GET,
            "/k",
            sk,
            &format!("/{b}/k"),
            "v2-ok-vhost",
        )
        .header("host", format!("{b}.localhost:{port}")),
    )
    .await;
    assert_eq!(got, ok("one"), "virtual-hosted GET");
    // Content-MD5, Content-Type and x-amz-* headers are signed.
    let md5 = {
        use base64::Engine as _;
        use md5::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(b"two"))
    };
    let sts = format!("PUT\n{md5}\ntext/plain\n{date}\nx-amz-meta-colour:blue\n/{b}/k2");
    let res = http
        .put(format!("{endpoint}/{b}/k2"))
        .header("date", &date)
        .header("content-md5", &md5)
        .header("content-type", "text/plain")
        .header("x-amz-meta-colour", "blue")
        .header("authorization", format!("AWS {ak}:{}", sigv2(sk, &sts)))
        .body("two")
        .send()
        .await
        .expect("PUT answered");
    assert_eq!(res.status().as_u16(), 200, "signed PUT");
    // Sub-resources are signed, `versioning` among them, over `/b/` as
    // botocore signs a bucket alone, or as sent.
    for (path, resource) in [
        (format!("/{b}?versioning"), format!("/{b}/?versioning")),
        (format!("/{b}/?versioning"), format!("/{b}/?versioning")),
        (format!("/{b}?versioning"), format!("/{b}?versioning")),
    ] {
        let got = answer_of(header(
            reqwest::Method::GET,
            &path,
            sk,
            &resource,
            "v2-ok-versioning",
        ))
        .await;
        assert_eq!(got.status, 200, "{path} signed over {resource}: {got:?}");
        assert!(
            got.body.contains("<VersioningConfiguration"),
            "{path}: {got:?}"
        );
    }

    // A wrong signature, in either form: s3s's answer, as before.
    let wrong = |resource: &str, rid: &str| Answer {
        status: 403,
        content_type: "application/xml".into(),
        body: s3_error_xml(
            "SignatureDoesNotMatch",
            SIGNATURE_DOES_NOT_MATCH,
            resource,
            rid,
        ),
    };
    let resource = format!("/{b}/k");
    let got = answer_of(header(
        reqwest::Method::GET,
        &resource,
        "not-the-secret",
        &resource,
        "v2-wrong-header",
    ))
    .await;
    assert_eq!(
        got,
        wrong(&resource, "v2-wrong-header"),
        "header, wrong secret"
    );
    let got = answer_of(header(
        reqwest::Method::GET,
        &resource,
        sk,
        &format!("/{b}/other"),
        "v2-wrong-resource",
    ))
    .await;
    assert_eq!(
        got,
        wrong(&resource, "v2-wrong-resource"),
        "header, another resource"
    );
    let got = answer_of(presigned(
        &resource,
        ak,
        "not-the-secret",
        expires,
        "v2-wrong-url",
    ))
    .await;
    assert_eq!(
        got,
        wrong(&resource, "v2-wrong-url"),
        "presigned, wrong secret"
    );
    // The right signature with one character changed; and not base64.
    let right = sigv2(sk, &format!("GET\n\n\n{date}\n{resource}"));
    let first = if right.starts_with('A') { "B" } else { "A" };
    let flipped = format!("{first}{}", &right[1..]);
    for (what, sig) in [
        ("one character off", flipped.as_str()),
        ("not base64", "%%%"),
        ("empty", ""),
    ] {
        let got = answer_of(
            http.get(format!("{endpoint}{resource}"))
                .header("date", &date)
                .header("authorization", format!("AWS {ak}:{sig}"))
                .header("x-request-id", "v2-wrong-sig"),
        )
        .await;
        assert_eq!(got, wrong(&resource, "v2-wrong-sig"), "header, {what}");
    }
    // Virtual-hosted, signed without the bucket.
    let got = answer_of(
        header(reqwest::Method::GET, "/k", sk, "/k", "v2-wrong-vhost")
            .header("host", format!("{b}.localhost:{port}")),
    )
    .await;
    assert_eq!(
        got,
        wrong("/k", "v2-wrong-vhost"),
        "virtual-hosted, no bucket"
    );

    // s3s's answers before the signature stay, whatever the signature.
    let got = answer_of(presigned(
        &resource,
        "AKIAUNKNOWNUNKNOWN00",
        "not-the-secret",
        expires,
        "v2-unknown",
    ))
    .await;
    assert_eq!(
        (got.status, code_in(&got.body)),
        (403, "InvalidAccessKeyId"),
        "{got:?}"
    );
    let got = answer_of(presigned(
        &resource,
        ak,
        "not-the-secret",
        1_000_000,
        "v2-expired",
    ))
    .await;
    assert_eq!(
        got,
        Answer {
            status: 403,
            content_type: "application/xml".into(),
            body: s3_error_xml(
                "AccessDenied",
                "Request has expired",
                &resource,
                "v2-expired"
            ),
        },
        "an expired URL"
    );
    // An Expires that is no time: S3's AccessDenied, saying what Expires
    // must be (s3s's answer was 400 "missing presigned url v2 fields").
    for bad in ["abc", "-1", "999999999999", "1.5"] {
        let sig = sigv2(sk, &format!("GET\n\n\n{bad}\n{resource}"));
        let sig: String = form_urlencoded_byte_serialize(&sig);
        let got = answer_of(
            http.get(format!(
                "{endpoint}{resource}?AWSAccessKeyId={ak}&Expires={bad}&Signature={sig}"
            ))
            .header("x-request-id", "v2-bad-expires"),
        )
        .await;
        assert_eq!(
            got,
            Answer {
                status: 403,
                content_type: "application/xml".into(),
                body: s3_error_xml(
                    "AccessDenied",
                    "Invalid date (should be seconds since epoch): the Expires of a presigned URL must be a whole number of seconds since 1970-01-01T00:00:00Z, no later than the year 9999",
                    &resource,
                    "v2-bad-expires"
                ),
            },
            "Expires={bad}"
        );
    }
    let got = answer_of(header(
        reqwest::Method::GET,
        "/Not_A_Bucket/k",
        "not-the-secret",
        "/Not_A_Bucket/k",
        "v2-bad-name",
    ))
    .await;
    assert_eq!(
        (got.status, code_in(&got.body)),
        (400, "InvalidBucketName"),
        "{got:?}"
    );
    let got = answer_of(
        http.get(format!("{endpoint}{resource}"))
            .header("authorization", format!("AWS {ak}:{flipped}"))
            .header("x-request-id", "v2-no-date"),
    )
    .await;
    assert_eq!(
        (got.status, code_in(&got.body)),
        (400, "InvalidRequest"),
        "no date: {got:?}"
    );

    // Logged once, as every S3 refusal: at INFO, with its code.
    let log = server.log();
    for rid in ["v2-wrong-header", "v2-wrong-url"] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(rid) && l.contains("S3 request rejected"))
            .collect();
        assert_eq!(lines.len(), 1, "{rid}: {lines:#?}");
        assert!(
            lines[0].contains(" INFO ") && lines[0].contains("code=\"SignatureDoesNotMatch\""),
            "{rid}: {lines:#?}"
        );
    }
    assert!(!log.contains(sk), "the log holds the secret");
    assert!(
        !log.contains(&right),
        "the log holds the expected signature"
    );
}

/// The refusal of a wrong SigV2 signature is Mini AWS's constant-time
/// check's (its debug line says so), in both forms, and a right one passes
/// it: s3s's own comparison never sees a wrong one. Nothing sent is logged.
#[tokio::test]
async fn sigv2_refusals_come_from_the_constant_time_check() {
    let Some(server) =
        TestServer::start_with(Backend::Sqlite, &[], &[("MINIAWS_LOG", "debug")]).await
    else {
        return;
    };
    let (_, key) = server.user("v2").await;
    let (ak, sk) = (key.access_key_id.as_str(), key.secret_access_key.as_str());
    let endpoint = server.aws_url();
    let http = reqwest::Client::new();
    let date = httpdate::fmt_http_date(SystemTime::now());
    let expires = (SystemTime::now() + Duration::from_secs(600))
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let header_sig = |secret: &str| sigv2(secret, &format!("GET\n\n\n{date}\n/"));
    let url_sig = |secret: &str| {
        form_urlencoded_byte_serialize(&sigv2(secret, &format!("GET\n\n\n{expires}\n/")))
    };
    let header = |secret: &str| {
        http.get(format!("{endpoint}/"))
            .header("date", &date)
            .header("authorization", format!("AWS {ak}:{}", header_sig(secret)))
    };
    let presigned = |secret: &str| {
        http.get(format!(
            "{endpoint}/?AWSAccessKeyId={ak}&Expires={expires}&Signature={}",
            url_sig(secret)
        ))
    };
    const REFUSED: &str = "SigV2 signature refused by the constant-time check";
    let refusals = || server.log().matches(REFUSED).count();
    assert_eq!(answer_of(header(sk)).await.status, 200, "header, right");
    assert_eq!(
        answer_of(presigned(sk)).await.status,
        200,
        "presigned, right"
    );
    assert_eq!(refusals(), 0, "a right signature passes the check");
    for (what, req) in [
        ("header", header("not-the-secret")),
        ("presigned", presigned("not-the-secret")),
    ] {
        let before = refusals();
        let got = answer_of(req).await;
        assert_eq!(
            (got.status, code_in(&got.body)),
            (403, "SignatureDoesNotMatch"),
            "{what}: {got:?}"
        );
        assert_eq!(refusals(), before + 1, "{what}: refused by the check");
    }
    let log = server.log();
    for sent in [
        header_sig("not-the-secret"),
        header_sig(sk),
        sigv2("not-the-secret", &format!("GET\n\n\n{expires}\n/")),
        sk.to_owned(),
    ] {
        assert!(!log.contains(&sent), "the log holds {sent:?}");
    }
}

fn form_urlencoded_byte_serialize(value: &str) -> String {
    value
        .bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect()
}

fn code_in(body: &str) -> &str {
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map_or("", |(code, _)| code)
}

#[tokio::test]
async fn sigv2_signature_checks_sqlite() {
    sigv2_checks(Backend::Sqlite).await;
}

#[tokio::test]
async fn sigv2_signature_checks_postgres() {
    sigv2_checks(Backend::Postgres).await;
}
