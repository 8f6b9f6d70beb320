//! Cross-user read sharing through a bucket policy whose `Allow` names a
//! user, against the real server on SQLite and Postgres with real clients
//! (the AWS SDK, unsigned requests sent raw, boto3): Alice shares a prefix
//! of her bucket with Bob by name (an account ARN, a plain user id, a
//! canonical user), with every Block Public Access setting on. Bob reads,
//! heads, lists and copies out exactly what is granted; a key outside the
//! `Resource`, an action not granted and a `Deny` naming Bob are
//! `AccessDenied`, and so is every write; Carol and unsigned requests get
//! `AccessDenied`; the owner is unaffected. GetBucketPolicyStatus answers
//! `IsPublic` false for it; a policy naming everyone as well is public:
//! refused under `BlockPublicPolicy`, and once stored, blocked for Bob too
//! while `RestrictPublicBuckets` is on, as on S3.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use common::{boto3, code_of, owner_id, s3_client};
use miniaws_testkit::{Backend, TestServer};

const SHARED: &str = "grants-shared";
const BOBS: &str = "grants-bobs";
const BODY: &[u8] = b"shared with bob \x00\xff";

type Outcome = Result<(), (String, u16)>;

fn outcome<T, E: aws_sdk_s3::error::ProvideErrorMetadata>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> Outcome {
    result.map(drop).map_err(|e| code_of(&e))
}

fn denied() -> Outcome {
    Err(("AccessDenied".to_owned(), 403))
}

async fn put_policy(s3: &Client, statements: &[String]) -> Outcome {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    outcome(
        s3.put_bucket_policy()
            .bucket(SHARED)
            .policy(policy)
            .send()
            .await,
    )
}

async fn policy_status(s3: &Client) -> Result<Option<bool>, (String, u16)> {
    s3.get_bucket_policy_status()
        .bucket(SHARED)
        .send()
        .await
        .map(|out| out.policy_status().and_then(|s| s.is_public()))
        .map_err(|e| code_of(&e))
}

/// An unsigned GET: its status.
async fn anon_status(url: &str) -> u16 {
    reqwest::get(url)
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

/// GetObject: the bytes, or the refusal.
async fn get(s3: &Client, key: &str) -> Result<Vec<u8>, (String, u16)> {
    match s3.get_object().bucket(SHARED).key(key).send().await {
        Ok(out) => Ok(out
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec()),
        Err(e) => Err(code_of(&e)),
    }
}

/// HeadObject and HeadBucket answer no body: only their status counts.
async fn head_status(s3: &Client, key: Option<&str>) -> u16 {
    let result = match key {
        Some(key) => outcome(s3.head_object().bucket(SHARED).key(key).send().await),
        None => outcome(s3.head_bucket().bucket(SHARED).send().await),
    };
    result.map_or_else(|(_, status)| status, |()| 200)
}

async fn list_keys(s3: &Client) -> Result<Vec<String>, (String, u16)> {
    s3.list_objects_v2()
        .bucket(SHARED)
        .send()
        .await
        .map(|out| {
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect()
        })
        .map_err(|e| code_of(&e))
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice_key) = server.user("alice-grants").await;
    let (_, bob_key) = server.user("bob-grants").await;
    let (_, carol_key) = server.user("carol-grants").await;
    let alice = s3_client(&server, &alice_key);
    let bob = s3_client(&server, &bob_key);
    let carol = s3_client(&server, &carol_key);
    let (alice_id, bob_id, carol_id) = (
        owner_id(&alice).await,
        owner_id(&bob).await,
        owner_id(&carol).await,
    );
    alice
        .create_bucket()
        .bucket(SHARED)
        .send()
        .await
        .expect("Alice's bucket");
    bob.create_bucket()
        .bucket(BOBS)
        .send()
        .await
        .expect("Bob's bucket");
    for key in ["shared/a.txt", "shared/secret.txt", "other/o.txt"] {
        alice
            .put_object()
            .bucket(SHARED)
            .key(key)
            .content_type("text/plain")
            .body(ByteStream::from_static(BODY))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }
    let base = server.aws_url();

    // No policy: nothing for Bob; no policy status.
    assert_eq!(get(&bob, "shared/a.txt").await, Err(denied().unwrap_err()));
    assert_eq!(
        policy_status(&alice).await,
        Err(("NoSuchBucketPolicy".to_owned(), 404))
    );

    // Every Block Public Access setting stays on (a new bucket's default).
    let block = alice
        .get_public_access_block()
        .bucket(SHARED)
        .send()
        .await
        .expect("GetPublicAccessBlock");
    let c = block
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
    // The three ways to name a user, one per statement.
    let to_bob = [
        format!(
            r#"{{"Sid":"BobReads","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{bob_id}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{SHARED}/shared/*"}}"#
        ),
        format!(
            r#"{{"Sid":"BobLists","Effect":"Allow","Principal":{{"CanonicalUser":"{bob_id}"}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::{SHARED}"}}"#
        ),
    ];
    let deny_bob = format!(
        r#"{{"Sid":"NotTheSecret","Effect":"Deny","Principal":{{"AWS":"{bob_id}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{SHARED}/shared/secret.txt"}}"#
    );
    let shared_policy = [to_bob[0].clone(), to_bob[1].clone(), deny_bob.clone()];
    put_policy(&alice, &shared_policy)
        .await
        .expect("a grant to Bob is not public: BlockPublicPolicy lets it in");
    assert_eq!(policy_status(&alice).await, Ok(Some(false)));
    assert_eq!(policy_status(&bob).await, Err(denied().unwrap_err()));

    // Bob: what is granted.
    assert_eq!(get(&bob, "shared/a.txt").await.as_deref(), Ok(BODY));
    assert_eq!(head_status(&bob, Some("shared/a.txt")).await, 200);
    assert_eq!(head_status(&bob, None).await, 200, "HeadBucket");
    assert_eq!(
        list_keys(&bob).await,
        Ok(vec![
            "other/o.txt".to_owned(),
            "shared/a.txt".to_owned(),
            "shared/secret.txt".to_owned()
        ])
    );
    let v1 = bob
        .list_objects()
        .bucket(SHARED)
        .prefix("shared/")
        .send()
        .await
        .expect("Bob's ListObjects");
    assert_eq!(v1.contents().len(), 2);
    assert_eq!(
        get(&bob, "shared/none").await,
        Err(("NoSuchKey".to_owned(), 404)),
        "s3:ListBucket granted: a missing key is NoSuchKey"
    );
    assert_eq!(
        outcome(
            bob.get_object()
                .bucket(SHARED)
                .key("shared/a.txt")
                .expected_bucket_owner(&alice_id)
                .send()
                .await
        ),
        Ok(()),
        "the expected owner is the bucket's"
    );
    assert_eq!(
        outcome(
            bob.get_object()
                .bucket(SHARED)
                .key("shared/a.txt")
                .expected_bucket_owner(&bob_id)
                .send()
                .await
        ),
        denied()
    );
    // Copies out of the shared prefix into Bob's own bucket.
    bob.copy_object()
        .copy_source(format!("{SHARED}/shared/a.txt"))
        .bucket(BOBS)
        .key("copy.txt")
        .send()
        .await
        .expect("Bob copies a shared object out");
    let copied = bob
        .get_object()
        .bucket(BOBS)
        .key("copy.txt")
        .send()
        .await
        .expect("the copy");
    assert_eq!(
        copied
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .as_ref(),
        BODY
    );

    // Bob: what is not.
    assert_eq!(get(&bob, "other/o.txt").await, Err(denied().unwrap_err()));
    assert_eq!(
        get(&bob, "shared/secret.txt").await,
        Err(denied().unwrap_err()),
        "a Deny naming Bob wins over the Allow"
    );
    assert_eq!(head_status(&bob, Some("shared/secret.txt")).await, 403);
    let refused: Vec<(&str, Outcome)> = vec![
        (
            "GetObjectAcl (not granted)",
            outcome(
                bob.get_object_acl()
                    .bucket(SHARED)
                    .key("shared/a.txt")
                    .send()
                    .await,
            ),
        ),
        (
            "copy of the denied key",
            outcome(
                bob.copy_object()
                    .copy_source(format!("{SHARED}/shared/secret.txt"))
                    .bucket(BOBS)
                    .key("secret.txt")
                    .send()
                    .await,
            ),
        ),
        (
            "PutObject",
            outcome(
                bob.put_object()
                    .bucket(SHARED)
                    .key("shared/b.txt")
                    .body(ByteStream::from_static(b"x"))
                    .send()
                    .await,
            ),
        ),
        (
            "DeleteObject",
            outcome(
                bob.delete_object()
                    .bucket(SHARED)
                    .key("shared/a.txt")
                    .send()
                    .await,
            ),
        ),
        (
            "copy into the shared bucket",
            outcome(
                bob.copy_object()
                    .copy_source(format!("{BOBS}/copy.txt"))
                    .bucket(SHARED)
                    .key("shared/c.txt")
                    .send()
                    .await,
            ),
        ),
        (
            "GetBucketPolicy",
            outcome(bob.get_bucket_policy().bucket(SHARED).send().await),
        ),
    ];
    for (what, got) in refused {
        assert_eq!(got, denied(), "Bob: {what}");
    }
    let listed = bob.list_buckets().send().await.expect("Bob's ListBuckets");
    let names: Vec<_> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [BOBS], "ListBuckets: Bob's own buckets only");

    // Carol and unsigned requests: nothing.
    assert_eq!(
        get(&carol, "shared/a.txt").await,
        Err(denied().unwrap_err())
    );
    assert_eq!(list_keys(&carol).await, Err(denied().unwrap_err()));
    assert_eq!(head_status(&carol, None).await, 403);
    assert_eq!(head_status(&carol, Some("shared/a.txt")).await, 403);
    assert_eq!(
        anon_status(&format!("{base}/{SHARED}/shared/a.txt")).await,
        403
    );
    assert_eq!(
        anon_status(&format!("{base}/{SHARED}?list-type=2")).await,
        403
    );

    // The owner: unaffected by the Deny naming Bob, writes as ever.
    assert_eq!(get(&alice, "shared/secret.txt").await.as_deref(), Ok(BODY));
    assert_eq!(
        outcome(
            alice
                .put_object()
                .bucket(SHARED)
                .key("shared/new.txt")
                .body(ByteStream::from_static(b"new"))
                .send()
                .await
        ),
        Ok(())
    );
    assert_eq!(list_keys(&alice).await.map(|k| k.len()), Ok(4));

    // A list of users: Carol and Bob.
    let to_both = format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":["arn:aws:iam::{carol_id}:root","{bob_id}"]}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{SHARED}/shared/*"}}"#
    );
    put_policy(&alice, std::slice::from_ref(&to_both))
        .await
        .expect("a grant to two users");
    assert_eq!(get(&carol, "shared/a.txt").await.as_deref(), Ok(BODY));
    assert_eq!(get(&bob, "shared/secret.txt").await.as_deref(), Ok(BODY));
    assert_eq!(
        get(&carol, "shared/none").await,
        Err(denied().unwrap_err()),
        "no s3:ListBucket: a missing key is AccessDenied"
    );
    assert_eq!(
        anon_status(&format!("{base}/{SHARED}/shared/a.txt")).await,
        403
    );

    // Everyone and Bob in one policy is public: refused by
    // BlockPublicPolicy, whichever way everyone is named.
    for everyone in [
        r#""*""#.to_owned(),
        format!(r#"{{"AWS":["*","{bob_id}"]}}"#),
    ] {
        let mixed = format!(
            r#"{{"Effect":"Allow","Principal":{everyone},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{SHARED}/other/*"}}"#
        );
        let err = put_policy(&alice, &[to_bob[0].clone(), mixed])
            .await
            .expect_err("a public policy under BlockPublicPolicy");
        assert_eq!(err, denied().unwrap_err(), "{everyone}");
    }
    let stored = alice
        .get_bucket_policy()
        .bucket(SHARED)
        .send()
        .await
        .expect("GetBucketPolicy");
    assert!(
        stored.policy().is_some_and(|p| p.contains(&carol_id)),
        "the refused puts changed nothing"
    );

    // Stored once BlockPublicPolicy is off: then RestrictPublicBuckets
    // (still on) blocks every grant of the public policy, Bob's included.
    alice
        .put_public_access_block()
        .bucket(SHARED)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(false)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("PutPublicAccessBlock");
    let everyone = format!(
        r#"{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{SHARED}/other/*"}}"#
    );
    put_policy(&alice, &[to_bob[0].clone(), everyone])
        .await
        .expect("a public policy with BlockPublicPolicy off");
    assert_eq!(policy_status(&alice).await, Ok(Some(true)));
    assert_eq!(get(&bob, "shared/a.txt").await, Err(denied().unwrap_err()));
    assert_eq!(
        anon_status(&format!("{base}/{SHARED}/other/o.txt")).await,
        403
    );
    assert_eq!(get(&alice, "shared/a.txt").await.as_deref(), Ok(BODY));
    alice
        .delete_public_access_block()
        .bucket(SHARED)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    assert_eq!(get(&bob, "shared/a.txt").await.as_deref(), Ok(BODY));
    assert_eq!(get(&carol, "other/o.txt").await.as_deref(), Ok(BODY));
    assert_eq!(
        get(&carol, "shared/a.txt").await,
        Err(denied().unwrap_err())
    );
    assert_eq!(
        anon_status(&format!("{base}/{SHARED}/other/o.txt")).await,
        200
    );
    assert_eq!(
        anon_status(&format!("{base}/{SHARED}/shared/a.txt")).await,
        403
    );

    // boto3: Alice shares by name with every setting back on, Bob reads.
    alice
        .put_public_access_block()
        .bucket(SHARED)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("PutPublicAccessBlock");
    boto3(&server, &alice_key, BOTO3_SHARE, &[SHARED, &bob_id]).await;
    boto3(&server, &bob_key, BOTO3_READ, &[SHARED]).await;
    boto3(&server, &carol_key, BOTO3_REFUSED, &[SHARED]).await;
}

/// As the owner: a policy granting Bob by name goes in with every Block
/// Public Access setting on, and is not public; one naming everyone too
/// is refused.
const BOTO3_SHARE: &str = r#"
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

bucket, bob = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
grant = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{bob}:root"},
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/shared/*"]}
deny = {"Effect": "Deny", "Principal": {"AWS": [bob]}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/shared/secret.txt"}
s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant, deny]}))
assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
public = dict(grant, Principal="*")
try:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant, public]}))
    sys.exit("a public policy went in under BlockPublicPolicy")
except ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response
print("boto3 ok")
"#;

/// As Bob: the granted reads; the Deny, writes and unsigned reads refused.
const BOTO3_READ: &str = r#"
import os, sys
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

bucket = sys.argv[1]
common = dict(endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **common)
unsigned = boto3.client("s3", config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}), **common)
assert s3.get_object(Bucket=bucket, Key="shared/a.txt")["Body"].read() == b"shared with bob \x00\xff"
assert s3.head_object(Bucket=bucket, Key="shared/a.txt")["ContentLength"] == 18
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="shared/")["Contents"]]
assert keys == ["shared/a.txt", "shared/new.txt", "shared/secret.txt"], keys
for who, call in (
    ("denied key", lambda: s3.get_object(Bucket=bucket, Key="shared/secret.txt")),
    ("write", lambda: s3.put_object(Bucket=bucket, Key="shared/x.txt", Body=b"x")),
    ("unsigned read", lambda: unsigned.get_object(Bucket=bucket, Key="shared/a.txt")),
    ("unsigned list", lambda: unsigned.list_objects_v2(Bucket=bucket)),
):
    try:
        call()
        sys.exit(f"{who} was answered")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied", (who, e.response)
print("boto3 ok")
"#;

/// As Carol, whom the policy does not name: nothing.
const BOTO3_REFUSED: &str = r#"
import os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

bucket = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
for who, call in (
    ("read", lambda: s3.get_object(Bucket=bucket, Key="shared/a.txt")),
    ("list", lambda: s3.list_objects_v2(Bucket=bucket)),
):
    try:
        call()
        sys.exit(f"{who} was answered")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied", (who, e.response)
print("boto3 ok")
"#;

#[tokio::test]
async fn policy_grants_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn policy_grants_postgres() {
    run(Backend::Postgres).await;
}
