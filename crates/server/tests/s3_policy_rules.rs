//! Bucket-policy rules beyond the public GET/HEAD/list reads of
//! `s3_policy.rs`, against the real server on SQLite and Postgres with
//! real clients (the AWS SDK, unsigned requests sent raw, boto3):
//! GetObjectAttributes (`s3:GetObject` and `s3:GetObjectAttributes`) and
//! GetObjectAcl (`s3:GetObjectAcl`) for another user's signed requests and
//! unsigned ones: granted → the owner's very answer; not granted (no
//! policy, one of the two attribute permissions only, a key outside the
//! `Resource`, a `Deny`, `RestrictPublicBuckets` on) → `AccessDenied`; a
//! missing key → `AccessDenied` without `s3:ListBucket`. And an explicit
//! `Deny` applies to the bucket's owner too (SDK, boto3 and the native
//! API): GetObject, HeadObject, GetObjectAttributes, writes, deletes,
//! listings and bucket settings it matches are `AccessDenied`, what it does
//! not match is served, and the owner can always get, replace and delete
//! the policy, then read again. A `Deny` naming another user (ARN or
//! canonical id) refuses that user alone; one naming the owner's id
//! refuses the owner; an `Allow` naming a user grants that user alone
//! (more in `s3_policy_grants.rs`).

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectAttributes, PublicAccessBlockConfiguration};
use common::{boto3, code_of, s3_client};
use miniaws_testkit::{Backend, TestServer};

const BUCKET: &str = "rules-shared";
const PRIVATE: &str = "rules-private";
const DENIED: &str = "rules-deny";

async fn put_policy(s3: &Client, bucket: &str, statements: &str) {
    let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketPolicy {statements}: {e:?}"));
}

fn allow(actions: &str, resource: &str) -> String {
    format!(
        r#"{{"Effect":"Allow","Principal":"*","Action":{actions},"Resource":"arn:aws:s3:::{resource}"}}"#
    )
}

fn deny(actions: &str, resource: &str) -> String {
    format!(
        r#"{{"Effect":"Deny","Principal":"*","Action":{actions},"Resource":"arn:aws:s3:::{resource}"}}"#
    )
}

/// What GetObjectAttributes answers, comparable across callers.
async fn attributes(s3: &Client, bucket: &str, key: &str) -> Result<String, (String, u16)> {
    s3.get_object_attributes()
        .bucket(bucket)
        .key(key)
        .object_attributes(ObjectAttributes::Etag)
        .object_attributes(ObjectAttributes::ObjectSize)
        .object_attributes(ObjectAttributes::StorageClass)
        .object_attributes(ObjectAttributes::Checksum)
        .send()
        .await
        .map(|o| {
            format!(
                "etag={:?} size={:?} class={:?} crc32={:?} modified={:?}",
                o.e_tag(),
                o.object_size(),
                o.storage_class(),
                o.checksum().and_then(|c| c.checksum_crc32()),
                o.last_modified()
            )
        })
        .map_err(|e| code_of(&e))
}

/// What GetObjectAcl answers, comparable across callers.
async fn acl(s3: &Client, bucket: &str, key: &str) -> Result<String, (String, u16)> {
    s3.get_object_acl()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map(|o| {
            let grants: Vec<String> = o
                .grants()
                .iter()
                .map(|g| {
                    format!(
                        "{:?}:{:?}:{:?}",
                        g.grantee().and_then(|g| g.id()),
                        g.grantee().map(|g| g.r#type()),
                        g.permission()
                    )
                })
                .collect();
            format!(
                "owner={:?} grants={grants:?}",
                o.owner().and_then(|o| o.id())
            )
        })
        .map_err(|e| code_of(&e))
}

/// An unsigned request: status and body.
async fn anon(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

fn denied() -> Result<String, (String, u16)> {
    Err(("AccessDenied".to_owned(), 403))
}

/// GetObjectAttributes and GetObjectAcl by Bob (signed) and unsigned.
async fn attributes_and_acl(server: &TestServer, alice: &Client, bob: &Client, alice_id: &str) {
    let base = server.aws_url();
    let body = b"attributes bytes".to_vec();
    for (bucket, key) in [
        (BUCKET, "pub/a.txt"),
        (BUCKET, "outside.txt"),
        (PRIVATE, "pub/a.txt"),
    ] {
        alice
            .put_object()
            .bucket(bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"));
    }
    let own_attributes = attributes(alice, BUCKET, "pub/a.txt")
        .await
        .expect("the owner's GetObjectAttributes");
    assert!(
        own_attributes.contains(&format!("size=Some({})", body.len())),
        "{own_attributes}"
    );
    let own_acl = acl(alice, BUCKET, "pub/a.txt")
        .await
        .expect("the owner's GetObjectAcl");
    assert!(own_acl.contains(alice_id), "{own_acl}");
    let attrs_url = format!("{base}/{BUCKET}/pub/a.txt?attributes");
    let acl_url = format!("{base}/{BUCKET}/pub/a.txt?acl");
    let wanted = [("x-amz-object-attributes", "ETag,ObjectSize")];

    // No policy: refused, signed or not.
    assert_eq!(attributes(bob, BUCKET, "pub/a.txt").await, denied());
    assert_eq!(acl(bob, BUCKET, "pub/a.txt").await, denied());
    assert_eq!(anon(&attrs_url, &wanted).await.0, 403);
    assert_eq!(anon(&acl_url, &[]).await.0, 403);

    alice
        .delete_public_access_block()
        .bucket(BUCKET)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    // s3:GetObject alone is not enough for GetObjectAttributes, nor is
    // s3:GetObjectAttributes alone: S3 needs both.
    for actions in [r#""s3:GetObject""#, r#""s3:GetObjectAttributes""#] {
        put_policy(alice, BUCKET, &allow(actions, &format!("{BUCKET}/pub/*"))).await;
        assert_eq!(
            attributes(bob, BUCKET, "pub/a.txt").await,
            denied(),
            "{actions} alone"
        );
        assert_eq!(anon(&attrs_url, &wanted).await.0, 403, "{actions} alone");
        assert_eq!(acl(bob, BUCKET, "pub/a.txt").await, denied(), "{actions}");
    }

    // Granted, with a Deny on part of the prefix.
    put_policy(
        alice,
        BUCKET,
        &[
            allow(
                r#"["s3:GetObject","s3:GetObjectAttributes","s3:GetObjectAcl"]"#,
                &format!("{BUCKET}/pub/*"),
            ),
            deny(
                r#"["s3:GetObjectAttributes","s3:GetObjectAcl"]"#,
                &format!("{BUCKET}/pub/closed/*"),
            ),
        ]
        .join(","),
    )
    .await;
    assert_eq!(
        attributes(bob, BUCKET, "pub/a.txt").await.as_deref(),
        Ok(own_attributes.as_str()),
        "Bob gets the owner's answer"
    );
    assert_eq!(
        acl(bob, BUCKET, "pub/a.txt").await.as_deref(),
        Ok(own_acl.as_str()),
        "Bob gets the owner's ACL"
    );
    let (status, xml) = anon(&attrs_url, &wanted).await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains(&format!("<ObjectSize>{}</ObjectSize>", body.len())),
        "{xml}"
    );
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&body));
    assert!(xml.contains(&format!("<ETag>{md5}</ETag>")), "{xml}");
    assert!(!xml.contains("StorageClass"), "only what was asked: {xml}");
    let (status, xml) = anon(&acl_url, &[]).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains(&format!("<ID>{alice_id}</ID>")), "{xml}");
    assert!(xml.contains("FULL_CONTROL"), "{xml}");
    assert_eq!(xml.matches("<Grant>").count(), 1, "{xml}");
    // x-amz-expected-bucket-owner must name the bucket's owner.
    let (status, _) = anon(&acl_url, &[("x-amz-expected-bucket-owner", alice_id)]).await;
    assert_eq!(status, 200, "the expected owner named");
    let (status, _) = anon(&acl_url, &[("x-amz-expected-bucket-owner", "someone")]).await;
    assert_eq!(status, 403, "another expected owner");

    // Refused: the Deny'd prefix, a key outside the Resource, another
    // bucket of the same owner without a policy.
    alice
        .put_object()
        .bucket(BUCKET)
        .key("pub/closed/c.txt")
        .body(ByteStream::from_static(b"closed"))
        .send()
        .await
        .expect("PutObject");
    for key in ["pub/closed/c.txt", "outside.txt"] {
        assert_eq!(attributes(bob, BUCKET, key).await, denied(), "{key}");
        assert_eq!(acl(bob, BUCKET, key).await, denied(), "{key}");
        let url = format!("{base}/{BUCKET}/{key}");
        assert_eq!(anon(&format!("{url}?attributes"), &wanted).await.0, 403);
        assert_eq!(anon(&format!("{url}?acl"), &[]).await.0, 403, "{key}");
    }
    assert_eq!(attributes(bob, PRIVATE, "pub/a.txt").await, denied());
    assert_eq!(acl(bob, PRIVATE, "pub/a.txt").await, denied());
    // A missing key: AccessDenied without s3:ListBucket, NoSuchKey with it.
    assert_eq!(attributes(bob, BUCKET, "pub/none").await, denied());
    assert_eq!(acl(bob, BUCKET, "pub/none").await, denied());
    put_policy(
        alice,
        BUCKET,
        &[
            allow(
                r#"["s3:GetObject","s3:GetObjectAttributes","s3:GetObjectAcl"]"#,
                &format!("{BUCKET}/pub/*"),
            ),
            allow(r#""s3:ListBucket""#, BUCKET),
        ]
        .join(","),
    )
    .await;
    assert_eq!(
        attributes(bob, BUCKET, "pub/none").await,
        Err(("NoSuchKey".to_owned(), 404))
    );
    assert_eq!(
        acl(bob, BUCKET, "pub/none").await,
        Err(("NoSuchKey".to_owned(), 404))
    );
    // Bob's own bucket is his; Alice's answers are unchanged by the grant.
    assert_eq!(
        attributes(alice, BUCKET, "pub/a.txt").await.as_deref(),
        Ok(own_attributes.as_str())
    );

    // RestrictPublicBuckets on: nothing for others, though the policy stays.
    alice
        .put_public_access_block()
        .bucket(BUCKET)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("PutPublicAccessBlock");
    assert_eq!(attributes(bob, BUCKET, "pub/a.txt").await, denied());
    assert_eq!(acl(bob, BUCKET, "pub/a.txt").await, denied());
    assert_eq!(anon(&attrs_url, &wanted).await.0, 403);
    assert_eq!(anon(&acl_url, &[]).await.0, 403);
    alice
        .delete_public_access_block()
        .bucket(BUCKET)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
}

/// What a failed SDK call says; `Ok` as `None`.
fn refusal<T, E: aws_sdk_s3::error::ProvideErrorMetadata>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> Option<(String, u16)> {
    result.err().map(|e| code_of(&e))
}

fn access_denied() -> Option<(String, u16)> {
    Some(("AccessDenied".to_owned(), 403))
}

/// An explicit Deny refuses the owner what it matches, and nothing else;
/// the policy stays the owner's to manage.
async fn owner_denied(alice: &Client, bob: &Client, native: &miniaws_client::Client) {
    let body = b"locked bytes".to_vec();
    for key in ["locked/a.txt", "open/b.txt"] {
        alice
            .put_object()
            .bucket(DENIED)
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }
    // A Deny-only policy is not public: accepted behind the default block.
    put_policy(
        alice,
        DENIED,
        &deny(r#""s3:GetObject""#, &format!("{DENIED}/locked/*")),
    )
    .await;
    let get = |key: &'static str| alice.get_object().bucket(DENIED).key(key).send();
    let err = get("locked/a.txt").await.expect_err("denied to the owner");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let message = err
        .as_service_error()
        .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::message(e).map(str::to_owned))
        .unwrap_or_default();
    assert!(
        message.contains("s3:GetObject") && message.contains("explicit deny"),
        "{message}"
    );
    assert_eq!(
        alice
            .head_object()
            .bucket(DENIED)
            .key("locked/a.txt")
            .send()
            .await
            .expect_err("HeadObject denied")
            .raw_response()
            .map(|r| r.status().as_u16()),
        Some(403)
    );
    assert_eq!(
        attributes(alice, DENIED, "locked/a.txt").await,
        denied(),
        "GetObjectAttributes needs s3:GetObject too"
    );
    // Through the native API too: the policy is the bucket's.
    let native_err = native
        .get_object(DENIED, "locked/a.txt", None, None)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        native_err.as_deref().is_some_and(|e| e.contains("403")),
        "{native_err:?}"
    );
    // What the Deny does not match is served: another prefix, other
    // actions on the denied prefix.
    let got = get("open/b.txt").await.expect("another prefix");
    assert_eq!(
        got.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec(),
        body
    );
    alice
        .put_object()
        .bucket(DENIED)
        .key("locked/a.txt")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("PutObject is not denied");
    alice
        .get_object_tagging()
        .bucket(DENIED)
        .key("locked/a.txt")
        .send()
        .await
        .expect("GetObjectTagging is not denied");
    alice
        .put_object_acl()
        .bucket(DENIED)
        .key("locked/a.txt")
        .acl(aws_sdk_s3::types::ObjectCannedAcl::Private)
        .send()
        .await
        .expect("PutObjectAcl is not denied");
    alice
        .list_object_versions()
        .bucket(DENIED)
        .send()
        .await
        .expect("ListObjectVersions is not denied");
    // Other accounts: still nothing without an Allow.
    assert_eq!(
        refusal(
            bob.get_object()
                .bucket(DENIED)
                .key("open/b.txt")
                .send()
                .await
        ),
        access_denied()
    );

    // Everything denied, on the bucket and its keys.
    put_policy(
        alice,
        DENIED,
        &format!(
            r#"{{"Effect":"Deny","Principal":{{"AWS":"*"}},"Action":"s3:*","Resource":["arn:aws:s3:::{DENIED}","arn:aws:s3:::{DENIED}/*"]}}"#
        ),
    )
    .await;
    let results = [
        ("GetObject", refusal(get("open/b.txt").await)),
        (
            "PutObject",
            refusal(
                alice
                    .put_object()
                    .bucket(DENIED)
                    .key("open/new.txt")
                    .body(ByteStream::from_static(b"x"))
                    .send()
                    .await,
            ),
        ),
        (
            "DeleteObject",
            refusal(
                alice
                    .delete_object()
                    .bucket(DENIED)
                    .key("open/b.txt")
                    .send()
                    .await,
            ),
        ),
        (
            "ListObjectsV2",
            refusal(alice.list_objects_v2().bucket(DENIED).send().await),
        ),
        (
            "GetBucketTagging",
            refusal(alice.get_bucket_tagging().bucket(DENIED).send().await),
        ),
        (
            "GetPublicAccessBlock",
            refusal(alice.get_public_access_block().bucket(DENIED).send().await),
        ),
        (
            "CreateMultipartUpload",
            refusal(
                alice
                    .create_multipart_upload()
                    .bucket(DENIED)
                    .key("open/parts.bin")
                    .send()
                    .await,
            ),
        ),
        (
            "DeleteBucket",
            refusal(alice.delete_bucket().bucket(DENIED).send().await),
        ),
        (
            "ListObjectVersions",
            refusal(alice.list_object_versions().bucket(DENIED).send().await),
        ),
        (
            "PutObjectAcl",
            refusal(
                alice
                    .put_object_acl()
                    .bucket(DENIED)
                    .key("open/b.txt")
                    .acl(aws_sdk_s3::types::ObjectCannedAcl::Private)
                    .send()
                    .await,
            ),
        ),
        (
            "GetObjectAcl",
            refusal(
                alice
                    .get_object_acl()
                    .bucket(DENIED)
                    .key("open/b.txt")
                    .send()
                    .await,
            ),
        ),
    ];
    for (what, result) in results {
        assert_eq!(result, access_denied(), "{what}");
    }
    let status = alice
        .head_bucket()
        .bucket(DENIED)
        .send()
        .await
        .expect_err("HeadBucket denied")
        .raw_response()
        .map(|r| r.status().as_u16());
    assert_eq!(status, Some(403), "HeadBucket");
    // The lock-out escape: the owner reads, replaces and deletes the policy.
    let got = alice
        .get_bucket_policy()
        .bucket(DENIED)
        .send()
        .await
        .expect("GetBucketPolicy is never denied to the owner");
    let policy = got.policy().expect("a policy").to_owned();
    alice
        .put_bucket_policy()
        .bucket(DENIED)
        .policy(&policy)
        .send()
        .await
        .expect("PutBucketPolicy is never denied to the owner");
    assert_eq!(refusal(get("locked/a.txt").await), access_denied());
    alice
        .delete_bucket_policy()
        .bucket(DENIED)
        .send()
        .await
        .expect("DeleteBucketPolicy is never denied to the owner");
    let got = get("locked/a.txt").await.expect("readable again");
    assert_eq!(
        got.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec(),
        body
    );
    server_still_lists(alice).await;
}

/// A `Deny` naming users applies to them alone: one naming Bob leaves the
/// owner and anonymous readers alone; one naming the owner refuses the
/// owner. An `Allow` naming a user grants that user alone.
async fn deny_principals(
    server: &TestServer,
    alice: &Client,
    bob: &Client,
    alice_id: &str,
    bob_id: &str,
) {
    let url = format!("{}/{DENIED}/open/b.txt", server.aws_url());
    alice
        .delete_public_access_block()
        .bucket(DENIED)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    let public_read = allow(r#""s3:GetObject""#, &format!("{DENIED}/open/*"));
    let deny_to = |principal: String| {
        format!(
            r#"{{"Effect":"Deny","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{DENIED}/*"}}"#
        )
    };
    let get = |s3: &Client, key: &'static str| {
        let request = s3.get_object().bucket(DENIED).key(key).send();
        async move { refusal(request.await) }
    };
    // Denied to Bob (an account's ARN, as S3 names one): Bob is refused,
    // the owner and anonymous readers are not.
    for principal in [
        format!(r#"{{"AWS":"arn:aws:iam::{bob_id}:root"}}"#),
        format!(r#"{{"CanonicalUser":["{bob_id}"]}}"#),
    ] {
        put_policy(
            alice,
            DENIED,
            &[public_read.clone(), deny_to(principal.clone())].join(","),
        )
        .await;
        assert_eq!(get(bob, "open/b.txt").await, access_denied(), "{principal}");
        assert_eq!(
            get(alice, "open/b.txt").await,
            None,
            "{principal}: the owner"
        );
        assert_eq!(
            get(alice, "locked/a.txt").await,
            None,
            "{principal}: the owner"
        );
        assert_eq!(anon(&url, &[]).await.0, 200, "{principal}: anonymous");
    }
    // Denied to the owner by their own id: the owner is refused, Bob is not.
    put_policy(
        alice,
        DENIED,
        &[
            public_read.clone(),
            deny_to(format!(r#"{{"AWS":"{alice_id}"}}"#)),
        ]
        .join(","),
    )
    .await;
    assert_eq!(get(alice, "open/b.txt").await, access_denied());
    assert_eq!(get(bob, "open/b.txt").await, None, "Bob is not named");
    assert_eq!(anon(&url, &[]).await.0, 200, "anonymous");
    // An Allow naming Bob grants Bob, not anonymous readers.
    put_policy(
        alice,
        DENIED,
        &format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{bob_id}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{DENIED}/*"}}"#
        ),
    )
    .await;
    assert_eq!(get(bob, "locked/a.txt").await, None, "Bob is named");
    assert_eq!(anon(&url, &[]).await.0, 403, "anonymous");
    alice
        .delete_bucket_policy()
        .bucket(DENIED)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    assert_eq!(get(alice, "open/b.txt").await, None);
    assert_eq!(get(bob, "open/b.txt").await, access_denied(), "no policy");
}

/// ListBuckets is not a bucket's action: no policy refuses it.
async fn server_still_lists(alice: &Client) {
    let listed = alice.list_buckets().send().await.expect("ListBuckets");
    assert!(listed.buckets().iter().any(|b| b.name() == Some(DENIED)));
}

/// boto3 as the owner: a Deny on s3:GetObject refuses the read; the owner
/// deletes the policy and reads.
async fn boto3_owner_denied(server: &TestServer, alice: &miniaws_client::CreatedKey) {
    let script = r#"
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

bucket = sys.argv[1]
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["ENDPOINT"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}),
)
s3.put_object(Bucket=bucket, Key="boto/a.txt", Body=b"boto bytes")
s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"arn:aws:s3:::{bucket}/boto/*"}],
}))
try:
    s3.get_object(Bucket=bucket, Key="boto/a.txt")
    sys.exit("the owner read a denied key")
except ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response
s3.delete_bucket_policy(Bucket=bucket)
assert s3.get_object(Bucket=bucket, Key="boto/a.txt")["Body"].read() == b"boto bytes"
print("boto3 ok")
"#;
    boto3(server, alice, script, &[DENIED]).await;
}

/// boto3 as Bob and unsigned: granted reads answered, others AccessDenied.
async fn boto3_reads(server: &TestServer, bob: &miniaws_client::CreatedKey, alice_id: &str) {
    let script = r#"
import os, sys
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

bucket, private, owner = sys.argv[1], sys.argv[2], sys.argv[3]
common = dict(endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
signed = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **common)
unsigned = boto3.client(
    "s3", config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}), **common
)
for who, s3 in (("bob", signed), ("unsigned", unsigned)):
    got = s3.get_object_attributes(Bucket=bucket, Key="pub/a.txt", ObjectAttributes=["ObjectSize", "ETag"])
    assert got["ObjectSize"] == 16, (who, got)
    acl = s3.get_object_acl(Bucket=bucket, Key="pub/a.txt")
    assert acl["Owner"]["ID"] == owner, (who, acl)
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [(owner, "FULL_CONTROL")], (who, acl)
    for b, key in ((bucket, "outside.txt"), (private, "pub/a.txt")):
        for call in (
            lambda: s3.get_object_attributes(Bucket=b, Key=key, ObjectAttributes=["ObjectSize"]),
            lambda: s3.get_object_acl(Bucket=b, Key=key),
        ):
            try:
                call()
                sys.exit(f"{who}: {b}/{key} was answered")
            except ClientError as e:
                assert e.response["Error"]["Code"] == "AccessDenied", (who, b, key, e.response)
print("boto3 ok")
"#;
    boto3(server, bob, script, &[BUCKET, PRIVATE, alice_id]).await;
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (native, alice_key) = server.user("alice-rules").await;
    let (_, bob_key) = server.user("bob-rules").await;
    let alice = s3_client(&server, &alice_key);
    let bob = s3_client(&server, &bob_key);
    for bucket in [BUCKET, PRIVATE, DENIED] {
        alice
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    let alice_id = alice
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();
    attributes_and_acl(&server, &alice, &bob, &alice_id).await;
    // The last policy of the above grants the three reads on pub/*.
    boto3_reads(&server, &bob_key, &alice_id).await;
    owner_denied(&alice, &bob, &native).await;
    boto3_owner_denied(&server, &alice_key).await;
    let bob_id = bob
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();
    deny_principals(&server, &alice, &bob, &alice_id, &bob_id).await;
}

#[tokio::test]
async fn policy_rules_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn policy_rules_postgres() {
    run(Backend::Postgres).await;
}
