//! S3 bucket tagging, driven by the official AWS SDK for Rust against the
//! real server on SQLite and Postgres: PutBucketTagging (204),
//! GetBucketTagging (stored order; `NoSuchTagSet` without tags),
//! DeleteBucketTagging (204); an empty `TagSet` removing the tags; every
//! tag rule's refusal with S3's code and message (50 tags allowed, 51
//! `BadRequest`); another owner's bucket (`AccessDenied`) and a missing one
//! (`NoSuchBucket`) on all three; tags given to CreateBucket in its
//! configuration (kept, or refused with nothing created); tags surviving a
//! restart and going with a deleted bucket. Then the real aws CLI (`s3api put-bucket-tagging`,
//! `get-bucket-tagging`, `delete-bucket-tagging`), from the virtualenv
//! `scripts/provision` builds (`MINIAWS_TEST_AWS_CLI`).

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, ProvideErrorMetadata};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};
use common::{code_of, s3_client, s3_client_with};
use miniaws_client::CreatedKey;
use miniaws_testkit::{AwsClients, Backend, TestServer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn tagging(pairs: &[(String, String)]) -> Tagging {
    let set = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().expect("a tag"))
        .collect();
    Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .expect("a tagging")
}

async fn put_tags(s3: &Client, bucket: &str, pairs: &[(String, String)]) {
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging(pairs))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketTagging {bucket}: {e:?}"));
}

async fn tags_of(s3: &Client, bucket: &str) -> Vec<(String, String)> {
    s3.get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetBucketTagging {bucket}: {e:?}"))
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

/// GetBucketTagging of a bucket without tags: 404 `NoSuchTagSet`.
async fn assert_no_tag_set(s3: &Client, bucket: &str, what: &str) {
    let err = s3
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .expect_err(what);
    assert_eq!(code_of(&err), ("NoSuchTagSet".into(), 404), "{what}");
    assert_eq!(err.message(), Some("The TagSet does not exist"), "{what}");
}

/// Put, get (in order), replace, remove with an empty set, delete.
async fn round_trip(s3: &Client, bucket: &str) {
    assert_no_tag_set(s3, bucket, "a new bucket has no tag set").await;
    let set = owned(&[
        ("zeta", "last ü"),
        ("alpha", ""),
        ("aws-cdk:path", "a/b=c+d@e:f_g.h-i"),
    ]);
    put_tags(s3, bucket, &set).await;
    assert_eq!(
        tags_of(s3, bucket).await,
        set,
        "the tag set comes back in the order given"
    );
    let other = owned(&[("team", "blue")]);
    put_tags(s3, bucket, &other).await;
    assert_eq!(tags_of(s3, bucket).await, other, "a put replaces the set");

    // An empty TagSet is accepted and removes the tags.
    put_tags(s3, bucket, &[]).await;
    assert_no_tag_set(s3, bucket, "after an empty put").await;

    put_tags(s3, bucket, &other).await;
    s3.delete_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketTagging");
    assert_no_tag_set(s3, bucket, "after DeleteBucketTagging").await;
    s3.delete_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketTagging without tags is fine too");
}

/// Records the HTTP status of every response the client receives.
#[derive(Debug, Default)]
struct Statuses(Arc<Mutex<Vec<u16>>>);

impl Intercept for Statuses {
    fn name(&self) -> &'static str {
        "Statuses"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .lock()
            .expect("statuses lock")
            .push(context.response().status().as_u16());
        Ok(())
    }
}

/// The statuses on the wire: 204 for Put (S3's documented answer) and
/// Delete, 200 for Get.
async fn statuses(server: &TestServer, key: &CreatedKey, bucket: &str) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Statuses(seen.clone());
    let s3 = s3_client_with(
        &server.aws_url(),
        &key.access_key_id,
        &key.secret_access_key,
        |b| b.interceptor(recorder),
    );
    put_tags(&s3, bucket, &owned(&[("wire", "1")])).await;
    assert_eq!(tags_of(&s3, bucket).await, owned(&[("wire", "1")]));
    s3.delete_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketTagging");
    assert_eq!(
        *seen.lock().expect("statuses lock"),
        [204, 200, 204],
        "Put, Get, Delete"
    );
}

/// Every rule's refusal, with S3's code and message; refused sets change
/// nothing.
async fn refusals(s3: &Client, bucket: &str) {
    let (k128, k129) = ("k".repeat(128), "k".repeat(129));
    let (v256, v257) = ("v".repeat(256), "v".repeat(257));
    let fifty: Vec<(String, String)> = (0..50)
        .map(|i| (format!("{i:02}{}", &k128[2..]), v256.clone()))
        .collect();
    let fifty_one: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
    /// (description, tag set, expected code and message)
    type Case<'a> = (&'a str, Vec<(String, String)>, Option<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "fifty tags of the longest keys and values",
            fifty.clone(),
            None,
        ),
        (
            "fifty-one tags",
            fifty_one,
            Some(("BadRequest", "Bucket tag count cannot be greater than 50")),
        ),
        (
            "a key of 129 characters",
            owned(&[(k129.as_str(), "v")]),
            Some((
                "InvalidTag",
                "The TagKey you have provided is too long, max 128",
            )),
        ),
        (
            "a value of 257 characters",
            owned(&[("k", v257.as_str())]),
            Some((
                "InvalidTag",
                "The TagValue you have provided is too long, max 256",
            )),
        ),
        (
            "an empty key",
            owned(&[("", "v")]),
            Some(("InvalidTag", "The TagKey you have provided is invalid")),
        ),
        (
            "a key with a comma",
            owned(&[("a,b", "v")]),
            Some(("InvalidTag", "The TagKey you have provided is invalid")),
        ),
        (
            "a value with an ampersand",
            owned(&[("k", "a&b")]),
            Some(("InvalidTag", "The TagValue you have provided is invalid")),
        ),
        (
            "an aws: key",
            owned(&[("aws:cloudformation:stack-name", "v")]),
            Some(("InvalidTag", "Your TagKey cannot be prefixed with aws:")),
        ),
        (
            "a repeated key",
            owned(&[("k", "1"), ("j", "2"), ("k", "3")]),
            Some((
                "InvalidTag",
                "Cannot provide multiple Tags with the same key",
            )),
        ),
    ];
    for (what, set, want) in cases {
        let result = s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging(&set))
            .send()
            .await;
        match want {
            None => {
                result.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                assert_eq!(tags_of(s3, bucket).await, set, "{what}");
            }
            Some((code, message)) => {
                let err = result.expect_err(what);
                assert_eq!(code_of(&err), (code.to_owned(), 400), "{what}");
                assert_eq!(err.message(), Some(message), "{what}");
            }
        }
    }
    assert_eq!(
        tags_of(s3, bucket).await,
        fifty,
        "refused sets change nothing"
    );
}

/// Another owner's bucket is `AccessDenied`, a missing one `NoSuchBucket`,
/// on all three operations; neither changes anything.
async fn access(alice: &Client, bob: &Client, bucket: &str) {
    let set = owned(&[("owner", "alice")]);
    put_tags(alice, bucket, &set).await;
    for (client, target, code, status) in [
        (bob, bucket, "AccessDenied", 403),
        (alice, "no-such-bucket-here", "NoSuchBucket", 404),
    ] {
        let err = client
            .put_bucket_tagging()
            .bucket(target)
            .tagging(tagging(&owned(&[("owner", "bob")])))
            .send()
            .await
            .expect_err("put");
        assert_eq!(code_of(&err), (code.into(), status), "put on {target}");
        // The bucket's refusal comes before the document's.
        let err = client
            .put_bucket_tagging()
            .bucket(target)
            .tagging(tagging(&owned(&[("aws:x", "1")])))
            .send()
            .await
            .expect_err("put of a bad set");
        assert_eq!(code_of(&err), (code.into(), status), "bad put on {target}");
        let err = client
            .get_bucket_tagging()
            .bucket(target)
            .send()
            .await
            .expect_err("get");
        assert_eq!(code_of(&err), (code.into(), status), "get on {target}");
        let err = client
            .delete_bucket_tagging()
            .bucket(target)
            .send()
            .await
            .expect_err("delete");
        assert_eq!(code_of(&err), (code.into(), status), "delete on {target}");
    }
    assert_eq!(tags_of(alice, bucket).await, set, "Bob changed nothing");
    // Nor can Bob tell a bucket without tags from one with: the same
    // AccessDenied, never NoSuchTagSet.
    alice
        .delete_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketTagging");
    let err = bob
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .expect_err("get of an untagged bucket");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403), "no tags");
    assert_no_tag_set(alice, bucket, "Alice's own bucket has none").await;
    put_tags(alice, bucket, &set).await;
}

/// CreateBucket with tags in its configuration (as current SDKs send
/// them): they are the new bucket's; a set S3 refuses creates nothing.
async fn create_with_tags(s3: &Client) {
    let config = |pairs: &[(String, String)]| {
        let mut b = CreateBucketConfiguration::builder();
        for (k, v) in pairs {
            b = b.tags(Tag::builder().key(k).value(v).build().expect("a tag"));
        }
        b.build()
    };
    let set = owned(&[("stack", "dev"), ("app", "photos")]);
    s3.create_bucket()
        .bucket("btag-created")
        .create_bucket_configuration(config(&set))
        .send()
        .await
        .expect("CreateBucket with tags");
    assert_eq!(tags_of(s3, "btag-created").await, set, "the tags given");

    for (what, pairs, code, message) in [
        (
            "an aws: key",
            owned(&[("aws:cloudformation:stack-id", "x")]),
            "InvalidTag",
            "Your TagKey cannot be prefixed with aws:",
        ),
        (
            "fifty-one tags",
            (0..51).map(|i| (format!("k{i}"), "v".into())).collect(),
            "BadRequest",
            "Bucket tag count cannot be greater than 50",
        ),
    ] {
        let err = s3
            .create_bucket()
            .bucket("btag-refused")
            .create_bucket_configuration(config(&pairs))
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.into(), 400), "{what}");
        assert_eq!(err.message(), Some(message), "{what}");
        let err = s3
            .head_bucket()
            .bucket("btag-refused")
            .send()
            .await
            .expect_err("no bucket was created");
        assert_eq!(code_of(&err).1, 404, "{what}: no bucket was created");
    }
    // A configuration without tags, as before.
    s3.create_bucket()
        .bucket("btag-plain")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from("eu-west-1"))
                .build(),
        )
        .send()
        .await
        .expect("CreateBucket with a location");
    assert_no_tag_set(s3, "btag-plain", "a bucket created without tags").await;
}

async fn run(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("btag-alice").await;
    let (_, bob) = server.user("btag-bob").await;
    let s3 = s3_client(&server, &alice);
    let bucket = "btag-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    round_trip(&s3, bucket).await;
    statuses(&server, &alice, bucket).await;
    refusals(&s3, bucket).await;
    access(&s3, &s3_client(&server, &bob), bucket).await;
    create_with_tags(&s3).await;

    server.restart().await;
    let s3 = s3_client(&server, &alice);
    assert_eq!(
        tags_of(&s3, bucket).await,
        owned(&[("owner", "alice")]),
        "tags survive a restart"
    );

    // Deleting the bucket drops its tags: created again, it has none.
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucket");
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket again");
    assert_no_tag_set(&s3, bucket, "a recreated bucket").await;
}

#[tokio::test]
async fn bucket_tagging_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn bucket_tagging_postgres() {
    run(Backend::Postgres).await;
}

/// The aws CLI from the provisioned virtualenv; without it the test fails
/// when services are required and is skipped loudly otherwise.
fn aws_cli() -> Option<PathBuf> {
    miniaws_testkit::require_tool("MINIAWS_TEST_AWS_CLI")
}

/// Runs `aws --endpoint-url … args` as `clients`; returns (success,
/// stdout, stderr).
async fn aws(cli: &Path, clients: &AwsClients, args: &[&str]) -> (bool, String, String) {
    let out = clients.run_aws(cli, args).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `aws s3api put-bucket-tagging` / `get-bucket-tagging` /
/// `delete-bucket-tagging`, as a user types them (SQLite: the CLI's path
/// through the server does not depend on the database).
#[tokio::test]
async fn aws_cli_bucket_tagging() {
    let Some(cli) = aws_cli() else {
        return;
    };
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("btag-cli").await;
    let clients = AwsClients::new(&server, &key);
    let run = |args: &'static [&'static str]| aws(&cli, &clients, args);

    let (ok, _, err) = run(&["s3", "mb", "s3://cli-tags"]).await;
    assert!(ok, "mb: {err}");
    let (ok, _, err) = run(&[
        "s3api",
        "put-bucket-tagging",
        "--bucket",
        "cli-tags",
        "--tagging",
        "TagSet=[{Key=a,Value=b},{Key=project,Value=Trinity}]",
    ])
    .await;
    assert!(ok, "put-bucket-tagging: {err}");
    let (ok, out, err) = run(&["s3api", "get-bucket-tagging", "--bucket", "cli-tags"]).await;
    assert!(ok, "get-bucket-tagging: {err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON from the CLI");
    assert_eq!(
        json["TagSet"],
        serde_json::json!([
            {"Key": "a", "Value": "b"},
            {"Key": "project", "Value": "Trinity"}
        ]),
        "get-bucket-tagging: {out}"
    );
    let (ok, _, err) = run(&["s3api", "delete-bucket-tagging", "--bucket", "cli-tags"]).await;
    assert!(ok, "delete-bucket-tagging: {err}");
    let (ok, _, err) = run(&["s3api", "get-bucket-tagging", "--bucket", "cli-tags"]).await;
    assert!(!ok, "get-bucket-tagging after delete succeeded");
    assert!(
        err.contains("NoSuchTagSet") && err.contains("The TagSet does not exist"),
        "get-bucket-tagging after delete: {err}"
    );
    let (ok, _, err) = run(&[
        "s3api",
        "put-bucket-tagging",
        "--bucket",
        "cli-tags",
        "--tagging",
        "TagSet=[{Key=aws:x,Value=b}]",
    ])
    .await;
    assert!(!ok, "an aws: key was accepted");
    assert!(
        err.contains("InvalidTag") && err.contains("Your TagKey cannot be prefixed with aws:"),
        "put-bucket-tagging of an aws: key: {err}"
    );
}
