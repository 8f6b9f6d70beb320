//! Public-read buckets against the real server on SQLite and Postgres:
//! Put/Get/DeleteBucketPolicy and Get/Put/DeletePublicAccessBlock through
//! the official AWS SDK (S3's defaults for a new bucket, `NoSuchBucketPolicy`,
//! `NoSuchPublicAccessBlockConfiguration`, `MalformedPolicy` for what Mini
//! AWS cannot enforce, a resource naming another bucket, a public policy
//! blocked by `BlockPublicPolicy`, another owner's bucket, a missing one);
//! unsigned requests sent raw with reqwest (no policy, a public policy
//! behind the default block, lifted: GET with the exact bytes, HEAD, both
//! list versions; a Deny on a prefix, a key outside the Resource, anonymous
//! writes, `RestrictPublicBuckets` back on, the policy deleted, another
//! bucket of the same owner); signed requests by another account through
//! the SDK (GET, HEAD, both listings, response-* overrides, NoSuchKey or
//! AccessDenied for a missing key, the expected owner, copies and part
//! copies out of the public bucket; refused: a Deny'd prefix, a key outside
//! the Resource, every write and setting, RestrictPublicBuckets on, the
//! policy deleted; ListBuckets unchanged); the policy and settings
//! surviving a restart; and the real aws CLI's `s3api put-bucket-policy` /
//! `get-bucket-policy` / `delete-public-access-block`, `s3 cp` and `s3 ls`
//! of a public bucket unsigned (`--no-sign-request`) and with another
//! user's keys, and their refusal without the policy; a bucket that does
//! not exist, `NoSuchBucket` to unsigned requests (the CLI's unsigned
//! `s3 ls`, a raw PUT), while an unsigned CreateBucket stays refused.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use common::{code_of, s3_client};
use miniaws_testkit::{AwsClients, Backend, TestServer};
use std::path::PathBuf;

fn public_read(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
  {{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::{bucket}/*","arn:aws:s3:::{bucket}"]}},
  {{"Sid":"NotPrivate","Effect":"Deny","Principal":{{"AWS":"*"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/private/*"}}]}}"#
    )
}

fn block(restrict: bool, block_policy: bool) -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(block_policy)
        .restrict_public_buckets(restrict)
        .build()
}

async fn put_policy(s3: &Client, bucket: &str, policy: &str) -> Result<(), (String, u16)> {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .map(drop)
        .map_err(|e| code_of(&e))
}

/// An unsigned request: status and body.
async fn anon(method: reqwest::Method, url: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::Client::new()
        .request(method, url)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

async fn anon_get(url: &str) -> (u16, Vec<u8>) {
    anon(reqwest::Method::GET, url).await
}

/// The operations and S3's refusals, through the SDK.
async fn operations(server: &TestServer, s3: &Client, bucket: &str) {
    // A new bucket: all four settings on, no policy.
    let got = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("GetPublicAccessBlock on a new bucket");
    let c = got
        .public_access_block_configuration()
        .expect("a configuration");
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let err = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect_err("no policy yet");
    assert_eq!(code_of(&err), ("NoSuchBucketPolicy".to_owned(), 404));

    // A public policy is blocked by default.
    let err = put_policy(s3, bucket, &public_read(bucket))
        .await
        .expect_err("blocked");
    assert_eq!(err, ("AccessDenied".to_owned(), 403));
    let raw = s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(public_read(bucket))
        .send()
        .await
        .expect_err("blocked");
    let message = raw
        .as_service_error()
        .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::message(e).map(str::to_owned));
    assert!(
        message.as_deref().is_some_and(|m| m.contains(
            "because public policies are blocked by the BlockPublicPolicy block public access setting."
        )),
        "{message:?}"
    );
    // A Deny-only policy is not public: accepted behind the block.
    let deny_only = format!(
        r#"{{"Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    put_policy(s3, bucket, &deny_only)
        .await
        .expect("a Deny-only policy");
    let got = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketPolicy");
    assert_eq!(got.policy(), Some(deny_only.as_str()), "answered as put");

    // What Mini AWS cannot enforce exactly is refused, naming the element.
    let stmt = |extra: &str, principal: &str, resource: &str| {
        format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"{resource}"{extra}}}]}}"#
        )
    };
    let own = format!("arn:aws:s3:::{bucket}/*");
    for (what, policy, needle) in [
        ("not JSON", "{nope".to_owned(), "JSON"),
        (
            "Condition",
            stmt(
                r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
                r#""*""#,
                &own,
            ),
            "Condition",
        ),
        (
            "NotAction",
            stmt(r#","NotAction":"s3:PutObject""#, r#""*""#, &own),
            "NotAction",
        ),
        (
            "NotResource",
            stmt(r#","NotResource":"arn:aws:s3:::x/*""#, r#""*""#, &own),
            "NotResource",
        ),
        (
            "an account principal",
            stmt("", r#"{"AWS":"arn:aws:iam::123456789012:root"}"#, &own),
            "Principal",
        ),
        (
            "another bucket",
            stmt("", r#""*""#, "arn:aws:s3:::someone-elses/*"),
            "Policy has invalid resource",
        ),
    ] {
        let err = s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), ("MalformedPolicy".to_owned(), 400), "{what}");
        let message = err
            .as_service_error()
            .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::message(e).map(str::to_owned))
            .unwrap_or_default();
        assert!(message.contains(needle), "{what}: {message}");
    }
    // The refused puts changed nothing.
    let got = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketPolicy");
    assert_eq!(got.policy(), Some(deny_only.as_str()));

    // Settings: put (a setting left out is off), read back, delete.
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .build(),
        )
        .send()
        .await
        .expect("PutPublicAccessBlock");
    let got = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("GetPublicAccessBlock");
    let c = got.public_access_block_configuration().expect("config");
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(false), Some(false), Some(false))
    );
    s3.delete_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    let err = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        code_of(&err),
        ("NoSuchPublicAccessBlockConfiguration".to_owned(), 404)
    );
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy again (204)");
    let err = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code_of(&err), ("NoSuchBucketPolicy".to_owned(), 404));

    // Another owner: AccessDenied for every operation, nothing changed.
    let (_, bob) = server.user("bob-policy").await;
    let bob = s3_client(server, &bob);
    put_policy(s3, bucket, &deny_only).await.expect("put");
    let results = [
        ("put policy", put_policy(&bob, bucket, &deny_only).await),
        (
            "get policy",
            bob.get_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e)),
        ),
        (
            "delete policy",
            bob.delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e)),
        ),
        (
            "get block",
            bob.get_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e)),
        ),
        (
            "put block",
            bob.put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(block(false, false))
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e)),
        ),
        (
            "delete block",
            bob.delete_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e)),
        ),
    ];
    for (what, result) in results {
        assert_eq!(result, Err(("AccessDenied".to_owned(), 403)), "{what}");
    }
    let got = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("the owner's policy is untouched");
    assert_eq!(got.policy(), Some(deny_only.as_str()));
    assert!(
        s3.get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .is_err(),
        "still deleted: bob's put wrote nothing"
    );
    // A missing bucket.
    let err = put_policy(s3, "no-such-policy-bucket", &deny_only)
        .await
        .expect_err("missing");
    assert_eq!(err, ("NoSuchBucket".to_owned(), 404));
    let err = s3
        .get_public_access_block()
        .bucket("no-such-policy-bucket")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(code_of(&err), ("NoSuchBucket".to_owned(), 404));
}

/// Unsigned reads and writes against a bucket as its owner opens it up.
async fn anonymous(server: &TestServer, s3: &Client, bucket: &str, other: &str) {
    let base = server.aws_url();
    let body = b"avatar bytes \x00\x01\xff".to_vec();
    for (b, key) in [
        (bucket, "avatars/a.png"),
        (bucket, "private/p.txt"),
        (bucket, "outside.txt"),
        (other, "avatars/a.png"),
    ] {
        s3.put_object()
            .bucket(b)
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {b}/{key}: {e:?}"));
    }
    let url = format!("{base}/{bucket}/avatars/a.png");
    // No policy: 403.
    assert_eq!(anon_get(&url).await.0, 403);
    // A public policy is refused behind the default block; still 403.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
  {{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/avatars/*"}},
  {{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/private/*"}},
  {{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}},
  {{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::{bucket}/private/*"}}]}}"#
    );
    assert_eq!(
        put_policy(s3, bucket, &policy).await,
        Err(("AccessDenied".to_owned(), 403))
    );
    assert_eq!(anon_get(&url).await.0, 403);
    // Lifted: the two commands a user runs.
    s3.delete_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    put_policy(s3, bucket, &policy)
        .await
        .expect("a public policy once the block is lifted");
    let (status, got) = anon_get(&url).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&got));
    assert_eq!(got, body, "the exact bytes");
    let head = reqwest::Client::new()
        .head(&url)
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(
        head.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(body.len().to_string().as_str())
    );
    // S3 refuses response-header overrides on anonymous GETs (a public
    // object could otherwise be served as HTML from the bucket's origin).
    // Also with a name written with an escape, which s3s decodes.
    for query in [
        "response-content-type=text/html",
        "respons%65-content-type=text/html",
        "response%2Dcontent-type=text/html",
        "%72esponse-content-disposition=inline",
    ] {
        let (status, xml) = anon_get(&format!("{url}?{query}")).await;
        let xml = String::from_utf8_lossy(&xml).into_owned();
        assert_eq!(status, 400, "{query}: {xml}");
        assert!(xml.contains("InvalidRequest"), "{query}: {xml}");
    }
    // Listing, both versions.
    let (status, xml) = anon_get(&format!("{base}/{bucket}?list-type=2")).await;
    let xml = String::from_utf8_lossy(&xml).into_owned();
    assert_eq!(status, 200, "{xml}");
    for key in ["avatars/a.png", "private/p.txt", "outside.txt"] {
        assert!(xml.contains(&format!("<Key>{key}</Key>")), "{xml}");
    }
    let (status, xml) = anon_get(&format!("{base}/{bucket}?prefix=avatars/")).await;
    let xml = String::from_utf8_lossy(&xml).into_owned();
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<Key>avatars/a.png</Key>"), "{xml}");
    assert!(!xml.contains("outside.txt"), "{xml}");
    // HeadBucket needs s3:ListBucket: granted here; not on the other bucket.
    let (status, _) = anon(reqwest::Method::HEAD, &format!("{base}/{bucket}")).await;
    assert_eq!(status, 200, "anonymous HeadBucket");
    let (status, _) = anon(reqwest::Method::HEAD, &format!("{base}/{other}")).await;
    assert_eq!(status, 403, "anonymous HeadBucket without a policy");
    // A missing key under the public prefix: S3 answers 404 when the
    // caller may list the bucket.
    assert_eq!(
        anon_get(&format!("{base}/{bucket}/avatars/none.png"))
            .await
            .0,
        404
    );
    // The Deny on a prefix wins over its Allow; a key outside every
    // Resource is refused.
    assert_eq!(
        anon_get(&format!("{base}/{bucket}/private/p.txt")).await.0,
        403
    );
    assert_eq!(
        anon_get(&format!("{base}/{bucket}/outside.txt")).await.0,
        403
    );
    // Anonymous writes: refused, nothing changed.
    let (status, _) = anon(reqwest::Method::PUT, &url).await;
    assert_eq!(status, 403, "anonymous PUT");
    let (status, _) = anon(reqwest::Method::DELETE, &url).await;
    assert_eq!(status, 403, "anonymous DELETE");
    let (status, _) = anon(
        reqwest::Method::DELETE,
        &format!("{base}/{bucket}/outside.txt"),
    )
    .await;
    assert_eq!(status, 403, "anonymous DELETE");
    assert_eq!(
        anon(reqwest::Method::GET, &format!("{base}/{bucket}?policy"))
            .await
            .0,
        403,
        "anonymous GetBucketPolicy"
    );
    assert_eq!(
        anon(reqwest::Method::DELETE, &format!("{base}/{bucket}?policy"))
            .await
            .0,
        403,
        "anonymous DeleteBucketPolicy"
    );
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("avatars/a.png")
        .send()
        .await
        .expect("still there");
    assert_eq!(
        got.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec(),
        body
    );
    s3.head_object()
        .bucket(bucket)
        .key("outside.txt")
        .send()
        .await
        .expect("still there");
    // Another bucket of the same owner, without a policy.
    assert_eq!(
        anon_get(&format!("{base}/{other}/avatars/a.png")).await.0,
        403
    );
    assert_eq!(
        anon_get(&format!("{base}/{other}?list-type=2")).await.0,
        403
    );
    // RestrictPublicBuckets back on: nothing, though the policy stays.
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block(true, false))
        .send()
        .await
        .expect("PutPublicAccessBlock");
    assert_eq!(anon_get(&url).await.0, 403);
    assert_eq!(
        anon_get(&format!("{base}/{bucket}?list-type=2")).await.0,
        403
    );
    let (status, _) = anon(reqwest::Method::HEAD, &format!("{base}/{bucket}")).await;
    assert_eq!(status, 403, "anonymous HeadBucket, restricted");
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block(false, true))
        .send()
        .await
        .expect("PutPublicAccessBlock");
    assert_eq!(anon_get(&url).await.0, 200);
    // Policy deleted: 403 again.
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    assert_eq!(anon_get(&url).await.0, 403);
    // Back on for the restart check.
    s3.delete_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    put_policy(s3, bucket, &policy).await.expect("policy again");
}

/// A signed request by another account (Bob, with his own keys) gets what
/// the policy grants everyone, exactly as an unsigned one would, and
/// nothing else.
/// On a bucket of Alice's that grants Bob nothing, the expected-owner
/// headers cannot tell Bob who owns it: naming Alice and naming anyone
/// else get one and the same refusal (code and message), for a read and
/// for a copy's source.
async fn owner_is_not_confirmed(
    s3: &Client,
    bob: &Client,
    bobs: &str,
    alice_id: &str,
    bob_id: &str,
) {
    let private = "policy-alice-private";
    s3.create_bucket()
        .bucket(private)
        .send()
        .await
        .expect("Alice's private bucket");
    s3.put_object()
        .bucket(private)
        .key("secret.txt")
        .body(ByteStream::from_static(b"secret"))
        .send()
        .await
        .expect("Alice's private object");
    let mut reads = Vec::new();
    let mut copies = Vec::new();
    for owner in [alice_id, bob_id, "0123456789abcdef"] {
        let err = bob
            .get_object()
            .bucket(private)
            .key("secret.txt")
            .expected_bucket_owner(owner)
            .send()
            .await
            .expect_err("Bob has no access");
        reads.push((code_of(&err), err.message().map(str::to_owned)));
        let err = bob
            .copy_object()
            .bucket(bobs)
            .key("stolen.txt")
            .copy_source(format!("{private}/secret.txt"))
            .expected_source_bucket_owner(owner)
            .send()
            .await
            .expect_err("Bob has no access to the source");
        copies.push((code_of(&err), err.message().map(str::to_owned)));
    }
    assert_eq!(reads[0].0, ("AccessDenied".to_owned(), 403));
    assert!(reads.iter().all(|r| *r == reads[0]), "{reads:?}");
    assert_eq!(copies[0].0, ("AccessDenied".to_owned(), 403));
    assert!(copies.iter().all(|c| *c == copies[0]), "{copies:?}");
}

async fn other_account(server: &TestServer, s3: &Client, bucket: &str) {
    let (_, bob_key) = server.user("bob-reader").await;
    let bob = s3_client(server, &bob_key);
    let bobs = "policy-bobs";
    bob.create_bucket()
        .bucket(bobs)
        .send()
        .await
        .expect("Bob's own bucket");
    let alice_id = s3
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();
    let bob_id = bob
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();
    let body = b"shared bytes \x00\xfe".to_vec();
    for key in ["pub/a.txt", "private/p.txt", "outside.txt"] {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .content_type("text/plain")
            .tagging("team=web")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }
    let get = |key: &'static str| bob.get_object().bucket(bucket).key(key).send();
    // No policy: AccessDenied, as before.
    let err = get("pub/a.txt").await.expect_err("no policy");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
  {{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::{bucket}/pub/*","arn:aws:s3:::{bucket}/private/*"]}},
  {{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}},
  {{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/private/*"}}]}}"#
    );
    s3.delete_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    put_policy(s3, bucket, &policy)
        .await
        .expect("public policy");

    // Reads: GET with the exact bytes, HEAD, both listings.
    let got = get("pub/a.txt").await.expect("Bob's GetObject");
    assert_eq!(got.content_type(), Some("text/plain"));
    let bytes = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.to_vec(), body, "the exact bytes");
    let head = bob
        .head_object()
        .bucket(bucket)
        .key("pub/a.txt")
        .send()
        .await
        .expect("Bob's HeadObject");
    assert_eq!(head.content_length(), Some(body.len() as i64));
    let listed = bob
        .list_objects_v2()
        .bucket(bucket)
        .fetch_owner(true)
        .send()
        .await
        .expect("Bob's ListObjectsV2");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["outside.txt", "private/p.txt", "pub/a.txt"]);
    assert!(
        listed
            .contents()
            .iter()
            .all(|o| o.owner().and_then(|o| o.id()) == Some(alice_id.as_str())),
        "a listing names the bucket's owner, whoever reads it"
    );
    let v1 = bob
        .list_objects()
        .bucket(bucket)
        .prefix("pub/")
        .send()
        .await
        .expect("Bob's ListObjects");
    assert_eq!(v1.contents().len(), 1);
    // Signed requests may override response headers (only anonymous
    // ones may not, as on S3).
    let got = bob
        .get_object()
        .bucket(bucket)
        .key("pub/a.txt")
        .response_content_type("text/html")
        .send()
        .await
        .expect("Bob's GetObject with response-content-type");
    assert_eq!(got.content_type(), Some("text/html"));
    // A missing key: 404 NoSuchKey, since the policy grants s3:ListBucket.
    let err = get("pub/none.txt").await.expect_err("missing");
    assert_eq!(code_of(&err), ("NoSuchKey".to_owned(), 404));
    // The Deny'd prefix, a key outside every Resource: 403.
    for key in ["private/p.txt", "outside.txt"] {
        let err = get(key).await.expect_err(key);
        assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403), "{key}");
        let err = bob
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect_err(key);
        assert_eq!(code_of(&err).1, 403, "HEAD {key}");
    }
    // The Deny names everyone ("*"): the owner too, as on S3 (see
    // s3_policy_rules.rs for the owner's side).
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("private/p.txt")
        .send()
        .await
        .expect_err("Alice's Deny'd prefix");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    // x-amz-expected-bucket-owner names the bucket's real owner.
    bob.get_object()
        .bucket(bucket)
        .key("pub/a.txt")
        .expected_bucket_owner(&alice_id)
        .send()
        .await
        .expect("the expected owner is Alice");
    let err = bob
        .get_object()
        .bucket(bucket)
        .key("pub/a.txt")
        .expected_bucket_owner(&bob_id)
        .send()
        .await
        .expect_err("Bob does not own it");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    owner_is_not_confirmed(s3, &bob, bobs, &alice_id, &bob_id).await;

    // Everything else stays refused, and changes nothing.
    let denied = |r: Result<(), (String, u16)>, what: &str| {
        assert_eq!(r, Err(("AccessDenied".to_owned(), 403)), "{what}");
    };
    denied(
        bob.put_object()
            .bucket(bucket)
            .key("pub/a.txt")
            .body(ByteStream::from_static(b"overwritten"))
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "PutObject",
    );
    denied(
        bob.delete_object()
            .bucket(bucket)
            .key("pub/a.txt")
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "DeleteObject",
    );
    denied(
        bob.put_object_tagging()
            .bucket(bucket)
            .key("pub/a.txt")
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(vec![]))
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "PutObjectTagging",
    );
    denied(
        bob.get_object_tagging()
            .bucket(bucket)
            .key("pub/a.txt")
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "GetObjectTagging",
    );
    denied(
        bob.get_object_acl()
            .bucket(bucket)
            .key("pub/a.txt")
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "GetObjectAcl",
    );
    denied(
        bob.get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "GetBucketPolicy",
    );
    denied(
        bob.create_multipart_upload()
            .bucket(bucket)
            .key("mp")
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "CreateMultipartUpload",
    );
    denied(
        bob.copy_object()
            .bucket(bucket)
            .key("copied-in")
            .copy_source(format!("{bobs}/none"))
            .send()
            .await
            .map(drop)
            .map_err(|x| code_of(&x)),
        "CopyObject into Alice's bucket",
    );
    // HeadBucket needs s3:ListBucket, which the policy grants everyone.
    let head = bob
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("Bob's HeadBucket under the policy's s3:ListBucket");
    assert_eq!(head.bucket_region(), Some("us-east-1"));
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("pub/a.txt")
        .send()
        .await
        .expect("still there");
    let bytes = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.to_vec(), body, "unchanged");
    let tags = s3
        .get_object_tagging()
        .bucket(bucket)
        .key("pub/a.txt")
        .send()
        .await
        .expect("tags");
    assert_eq!(tags.tag_set().len(), 1, "tags unchanged");
    // ListBuckets: Bob's own buckets only.
    let names: Vec<_> = bob
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, [bobs]);

    // Copies out of the public bucket into Bob's own: the source's tags
    // need s3:GetObjectTagging, which this policy does not grant.
    let err = bob
        .copy_object()
        .bucket(bobs)
        .key("copy.txt")
        .copy_source(format!("{bucket}/pub/a.txt"))
        .send()
        .await
        .expect_err("the tags may not be read");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    bob.copy_object()
        .bucket(bobs)
        .key("copy.txt")
        .copy_source(format!("{bucket}/pub/a.txt"))
        .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
        .send()
        .await
        .expect("CopyObject from a public source");
    // x-amz-source-expected-bucket-owner names the source bucket's real
    // owner, as x-amz-expected-bucket-owner does for reads.
    bob.copy_object()
        .bucket(bobs)
        .key("copy-owned.txt")
        .copy_source(format!("{bucket}/pub/a.txt"))
        .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
        .expected_source_bucket_owner(&alice_id)
        .send()
        .await
        .expect("the source's expected owner is Alice");
    let err = bob
        .copy_object()
        .bucket(bobs)
        .key("copy-not-owned.txt")
        .copy_source(format!("{bucket}/pub/a.txt"))
        .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
        .expected_source_bucket_owner(&bob_id)
        .send()
        .await
        .expect_err("Bob does not own the source bucket");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let err = bob
        .head_object()
        .bucket(bobs)
        .key("copy-not-owned.txt")
        .send()
        .await
        .expect_err("the refused copy wrote nothing");
    assert_eq!(code_of(&err).1, 404);
    // A URL Bob presigns for Alice's public object is a signed read by Bob.
    let presigned = bob
        .get_object()
        .bucket(bucket)
        .key("pub/a.txt")
        .presigned(
            PresigningConfig::expires_in(std::time::Duration::from_secs(300)).expect("config"),
        )
        .await
        .expect("presign");
    let fetched = reqwest::get(presigned.uri()).await.expect("presigned GET");
    assert_eq!(fetched.status().as_u16(), 200, "Bob's presigned read");
    assert_eq!(fetched.bytes().await.expect("body").to_vec(), body);
    let presigned = bob
        .get_object()
        .bucket(bucket)
        .key("private/p.txt")
        .presigned(
            PresigningConfig::expires_in(std::time::Duration::from_secs(300)).expect("config"),
        )
        .await
        .expect("presign");
    let fetched = reqwest::get(presigned.uri()).await.expect("presigned GET");
    assert_eq!(
        fetched.status().as_u16(),
        403,
        "Bob's presigned read of a Deny'd key"
    );
    let got = bob
        .get_object()
        .bucket(bobs)
        .key("copy.txt")
        .send()
        .await
        .expect("Bob's copy");
    let bytes = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.to_vec(), body);
    let err = bob
        .copy_object()
        .bucket(bobs)
        .key("copy2.txt")
        .copy_source(format!("{bucket}/private/p.txt"))
        .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
        .send()
        .await
        .expect_err("a Deny'd source");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let upload = bob
        .create_multipart_upload()
        .bucket(bobs)
        .key("parts.txt")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = upload.upload_id().expect("upload id");
    let part = bob
        .upload_part_copy()
        .bucket(bobs)
        .key("parts.txt")
        .upload_id(upload_id)
        .part_number(1)
        .copy_source(format!("{bucket}/pub/a.txt"))
        .send()
        .await
        .expect("UploadPartCopy from a public source");
    let etag = part
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("part ETag")
        .to_owned();
    let err = bob
        .upload_part_copy()
        .bucket(bobs)
        .key("parts.txt")
        .upload_id(upload_id)
        .part_number(2)
        .copy_source(format!("{bucket}/outside.txt"))
        .send()
        .await
        .expect_err("a source outside the Resource");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    bob.complete_multipart_upload()
        .bucket(bobs)
        .key("parts.txt")
        .upload_id(upload_id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .parts(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(1)
                        .e_tag(etag)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    let got = bob
        .get_object()
        .bucket(bobs)
        .key("parts.txt")
        .send()
        .await
        .expect("Bob's assembled copy");
    let bytes = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.to_vec(), body);

    // Without s3:ListBucket: a missing key is 403, the listing too.
    let get_only = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/pub/*"}}]}}"#
    );
    put_policy(s3, bucket, &get_only).await.expect("policy");
    get("pub/a.txt").await.expect("still readable");
    let err = get("pub/none.txt").await.expect_err("missing");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let err = bob
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect_err("no s3:ListBucket");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let err = bob
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect_err("HeadBucket without s3:ListBucket");
    assert_eq!(code_of(&err).1, 403, "HeadBucket without s3:ListBucket");
    // RestrictPublicBuckets on: nothing for Bob, the owner unaffected.
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block(true, false))
        .send()
        .await
        .expect("PutPublicAccessBlock");
    let err = get("pub/a.txt").await.expect_err("restricted");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    s3.get_object()
        .bucket(bucket)
        .key("pub/a.txt")
        .send()
        .await
        .expect("Alice still reads");
    // Lifted again, then the policy deleted: nothing for Bob.
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block(false, false))
        .send()
        .await
        .expect("PutPublicAccessBlock");
    get("pub/a.txt").await.expect("readable again");
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    let err = get("pub/a.txt").await.expect_err("no policy");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
}

fn aws_cli_path() -> Option<PathBuf> {
    miniaws_testkit::require_tool("MINIAWS_TEST_AWS_CLI")
}

async fn aws_cli(server: &TestServer, key: &miniaws_client::CreatedKey, bucket: &str) {
    let Some(cli) = aws_cli_path() else {
        return;
    };
    let alice = AwsClients::new(server, key);
    let file = alice.home().join("policy.json");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    std::fs::write(&file, &policy).expect("write policy.json");
    let (_, bob) = server.user("bob-cli").await;
    let bob = AwsClients::new(server, &bob);
    let run_as = |clients: &AwsClients, args: Vec<String>| {
        let mut cmd = clients.aws_command(&cli, args);
        async move {
            let out = cmd.output().await.expect("the aws CLI runs");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let run = |args: Vec<String>| run_as(&alice, args);
    let put = vec![
        "s3api".into(),
        "put-bucket-policy".into(),
        "--bucket".into(),
        bucket.into(),
        "--policy".into(),
        format!("file://{}", file.display()),
    ];
    let (ok, _, stderr) = run(put.clone()).await;
    assert!(!ok, "blocked by default");
    assert!(stderr.contains("AccessDenied"), "{stderr}");
    let (ok, out, stderr) = run(vec![
        "s3api".into(),
        "delete-public-access-block".into(),
        "--bucket".into(),
        bucket.into(),
    ])
    .await;
    assert!(ok, "{out}{stderr}");
    let (ok, out, stderr) = run(put).await;
    assert!(ok, "{out}{stderr}");
    let (ok, out, stderr) = run(vec![
        "s3api".into(),
        "get-bucket-policy".into(),
        "--bucket".into(),
        bucket.into(),
    ])
    .await;
    assert!(ok, "{stderr}");
    let got: serde_json::Value = serde_json::from_str(&out).expect("JSON from the CLI");
    assert_eq!(got["Policy"].as_str(), Some(policy.as_str()), "{out}");
    let (ok, out, stderr) = run(vec![
        "s3".into(),
        "cp".into(),
        format!("{}", file.display()),
        format!("s3://{bucket}/site/index.json"),
    ])
    .await;
    assert!(ok, "{out}{stderr}");
    let (status, body) = anon_get(&format!("{}/{bucket}/site/index.json", server.aws_url())).await;
    assert_eq!(status, 200);
    assert_eq!(body, policy.as_bytes());
    // Without s3:ListBucket a missing key is AccessDenied, not NoSuchKey,
    // as on S3; and the listing itself is refused.
    let (status, body) = anon_get(&format!("{}/{bucket}/site/none.json", server.aws_url())).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        anon_get(&format!("{}/{bucket}?list-type=2", server.aws_url()))
            .await
            .0,
        403
    );
    // The CLI unsigned, and signed by another account (Bob's keys).
    let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let object = format!("s3://{bucket}/site/index.json");
    let listing = format!("s3://{bucket}/");
    let cp_anon = args(&["s3", "cp", "--no-sign-request", &object, "-"]);
    let ls_anon = args(&["s3", "ls", "--no-sign-request", &listing]);
    let cp_bob = args(&["s3", "cp", &object, "-"]);
    let ls_bob = args(&["s3", "ls", &listing]);
    let (ok, out, stderr) = run(cp_anon.clone()).await;
    assert!(ok, "{stderr}");
    assert_eq!(out, policy, "the object's bytes, unsigned");
    let (ok, out, stderr) = run_as(&bob, cp_bob.clone()).await;
    assert!(ok, "{stderr}");
    assert_eq!(out, policy, "the object's bytes, signed by Bob");
    for (who, ls) in [
        ("unsigned", run(ls_anon.clone())),
        ("Bob", run_as(&bob, ls_bob.clone())),
    ] {
        let (ok, _, stderr) = ls.await;
        assert!(!ok, "{who}: no s3:ListBucket");
        assert!(stderr.contains("AccessDenied"), "{who}: {stderr}");
    }
    // With s3:ListBucket granted too, `s3 ls` works for both.
    let with_list = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}},{{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}}]}}"#
    );
    std::fs::write(&file, &with_list).expect("write policy.json");
    let (ok, out, stderr) = run(args(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        bucket,
        "--policy",
        &format!("file://{}", file.display()),
    ]))
    .await;
    assert!(ok, "{out}{stderr}");
    for (who, ls) in [
        ("unsigned", run(ls_anon.clone())),
        ("Bob", run_as(&bob, ls_bob.clone())),
    ] {
        let (ok, out, stderr) = ls.await;
        assert!(ok, "{who}: {stderr}");
        assert!(out.contains("PRE site/"), "{who}: {out}");
    }
    // No policy: refused again, both ways.
    let (ok, out, stderr) = run(args(&["s3api", "delete-bucket-policy", "--bucket", bucket])).await;
    assert!(ok, "{out}{stderr}");
    for (who, cmd) in [
        ("unsigned cp", run(cp_anon)),
        ("unsigned ls", run(ls_anon)),
        ("Bob's cp", run_as(&bob, cp_bob)),
        ("Bob's ls", run_as(&bob, ls_bob)),
    ] {
        let (ok, out, stderr) = cmd.await;
        assert!(!ok, "{who}: {out}");
        assert!(
            stderr.contains("AccessDenied") || stderr.contains("403"),
            "{who}: {stderr}"
        );
    }
    // A bucket that does not exist: NoSuchBucket, unsigned too, as S3
    // answers (not the AccessDenied of a bucket that exists).
    let (ok, out, stderr) = run(args(&[
        "s3",
        "ls",
        "--no-sign-request",
        "s3://policy-no-such-bucket/",
    ]))
    .await;
    assert!(!ok, "{out}");
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");
    let (status, body) = anon(
        reqwest::Method::PUT,
        &format!("{}/policy-no-such-bucket/k", server.aws_url()),
    )
    .await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("<Code>NoSuchBucket</Code>"));
    // Creating a bucket unsigned stays AccessDenied, and creates nothing.
    let (status, _) = anon(
        reqwest::Method::PUT,
        &format!("{}/policy-no-such-bucket", server.aws_url()),
    )
    .await;
    assert_eq!(status, 403, "anonymous CreateBucket");
}

async fn run(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("alice-policy").await;
    let s3 = s3_client(&server, &key);
    for bucket in [
        "policy-ops",
        "policy-site",
        "policy-other",
        "policy-cli",
        "policy-shared",
    ] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    operations(&server, &s3, "policy-ops").await;
    anonymous(&server, &s3, "policy-site", "policy-other").await;
    other_account(&server, &s3, "policy-shared").await;
    aws_cli(&server, &key, "policy-cli").await;

    // The policy and the settings survive a restart.
    server.restart().await;
    let s3 = s3_client(&server, &key);
    let got = s3
        .get_bucket_policy()
        .bucket("policy-site")
        .send()
        .await
        .expect("GetBucketPolicy after a restart");
    assert!(got.policy().is_some_and(|p| p.contains("avatars")));
    assert!(
        s3.get_public_access_block()
            .bucket("policy-site")
            .send()
            .await
            .is_err(),
        "still deleted after a restart"
    );
    let got = s3
        .get_public_access_block()
        .bucket("policy-other")
        .send()
        .await
        .expect("the default after a restart");
    assert_eq!(
        got.public_access_block_configuration()
            .and_then(|c| c.restrict_public_buckets()),
        Some(true)
    );
    let base = server.aws_url();
    let (status, body) = anon_get(&format!("{base}/policy-site/avatars/a.png")).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"avatar bytes \x00\x01\xff");
    assert_eq!(
        anon_get(&format!("{base}/policy-site/private/p.txt"))
            .await
            .0,
        403
    );
    assert_eq!(
        anon_get(&format!("{base}/policy-other/avatars/a.png"))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn bucket_policy_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn bucket_policy_postgres() {
    run(Backend::Postgres).await;
}
