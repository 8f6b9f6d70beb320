//! S3 static website configuration against the real server on SQLite and
//! Postgres, through the official AWS SDK (round trip of a site and of a
//! redirect of everything, S3's validation refusals, another owner, a
//! policy's `Deny`, delete, gone with its bucket) and the real aws CLI's
//! `s3 website` and `s3api get-bucket-website`.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    Condition, ErrorDocument, IndexDocument, Protocol, Redirect, RedirectAllRequestsTo,
    RoutingRule, WebsiteConfiguration,
};
use common::{code_of, s3_client};
use miniaws_testkit::{Backend, TestServer, services_required};
use std::path::{Path, PathBuf};

fn index(suffix: &str) -> IndexDocument {
    IndexDocument::builder()
        .suffix(suffix)
        .build()
        .expect("index document")
}

fn error_doc(key: &str) -> ErrorDocument {
    ErrorDocument::builder()
        .key(key)
        .build()
        .expect("error document")
}

/// The site the serving tests run against: index and error documents, a
/// prefix rule (`old/` → `new/`, 302) and a 404 rule for `gone/`.
fn site_config() -> WebsiteConfiguration {
    WebsiteConfiguration::builder()
        .index_document(index("index.html"))
        .error_document(error_doc("error.html"))
        .routing_rules(
            RoutingRule::builder()
                .condition(Condition::builder().key_prefix_equals("old/").build())
                .redirect(
                    Redirect::builder()
                        .replace_key_prefix_with("new/")
                        .http_redirect_code("302")
                        .build(),
                )
                .build(),
        )
        .routing_rules(
            RoutingRule::builder()
                .condition(
                    Condition::builder()
                        .key_prefix_equals("gone/")
                        .http_error_code_returned_equals("404")
                        .build(),
                )
                .redirect(
                    Redirect::builder()
                        .host_name("archive.example.com")
                        .protocol(Protocol::Https)
                        .replace_key_with("moved.html")
                        .build(),
                )
                .build(),
        )
        .build()
}

async fn put_website(s3: &Client, bucket: &str, config: WebsiteConfiguration) {
    s3.put_bucket_website()
        .bucket(bucket)
        .website_configuration(config)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketWebsite {bucket}: {e:?}"));
}

async fn refused(s3: &Client, bucket: &str, config: WebsiteConfiguration) -> (String, u16, String) {
    let err = s3
        .put_bucket_website()
        .bucket(bucket)
        .website_configuration(config)
        .send()
        .await
        .expect_err("refused");
    let (code, status) = code_of(&err);
    let message = aws_sdk_s3::error::ProvideErrorMetadata::message(&err)
        .unwrap_or_default()
        .to_owned();
    (code, status, message)
}

/// Put, read back, replace, delete; S3's refusals.
async fn configuration(s3: &Client, bucket: &str) {
    let err = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("no configuration yet");
    assert_eq!(
        code_of(&err),
        ("NoSuchWebsiteConfiguration".to_owned(), 404)
    );

    put_website(s3, bucket, site_config()).await;
    let got = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketWebsite");
    let want = site_config();
    assert_eq!(got.index_document(), want.index_document());
    assert_eq!(got.error_document(), want.error_document());
    assert_eq!(got.routing_rules(), want.routing_rules());
    assert_eq!(got.redirect_all_requests_to(), None);

    // Put replaces the whole configuration.
    let all = WebsiteConfiguration::builder()
        .redirect_all_requests_to(
            RedirectAllRequestsTo::builder()
                .host_name("example.com")
                .protocol(Protocol::Https)
                .build()
                .expect("redirect"),
        )
        .build();
    put_website(s3, bucket, all.clone()).await;
    let got = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketWebsite");
    assert_eq!(
        got.redirect_all_requests_to(),
        all.redirect_all_requests_to()
    );
    assert_eq!(got.index_document(), None);
    assert!(got.routing_rules().is_empty());

    // S3's refusals, each naming what is wrong; nothing is stored.
    let rule = |redirect: Redirect| {
        WebsiteConfiguration::builder()
            .index_document(index("index.html"))
            .routing_rules(
                RoutingRule::builder()
                    .condition(Condition::builder().key_prefix_equals("a/").build())
                    .redirect(redirect)
                    .build(),
            )
            .build()
    };
    let cases: Vec<(&str, WebsiteConfiguration, &str, &str)> = vec![
        (
            "no index document",
            WebsiteConfiguration::builder()
                .error_document(error_doc("e.html"))
                .build(),
            "InvalidArgument",
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
        ),
        (
            "an empty suffix",
            WebsiteConfiguration::builder()
                .index_document(index(""))
                .build(),
            "InvalidArgument",
            "The IndexDocument Suffix is not well formed",
        ),
        (
            "a suffix with a slash",
            WebsiteConfiguration::builder()
                .index_document(index("a/index.html"))
                .build(),
            "InvalidArgument",
            "The IndexDocument Suffix is not well formed",
        ),
        (
            "redirect-all beside an index document",
            WebsiteConfiguration::builder()
                .index_document(index("index.html"))
                .redirect_all_requests_to(
                    RedirectAllRequestsTo::builder()
                        .host_name("example.com")
                        .build()
                        .expect("redirect"),
                )
                .build(),
            "InvalidArgument",
            "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
        ),
        (
            "an empty error document key",
            WebsiteConfiguration::builder()
                .index_document(index("index.html"))
                .error_document(error_doc(""))
                .build(),
            "MalformedXML",
            "the ErrorDocument Key is empty",
        ),
        (
            "redirect code 300",
            rule(Redirect::builder().http_redirect_code("300").build()),
            "InvalidRequest",
            "The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300.",
        ),
        (
            "both key replacements",
            rule(
                Redirect::builder()
                    .replace_key_with("x")
                    .replace_key_prefix_with("y/")
                    .build(),
            ),
            "InvalidRequest",
            "You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
        ),
    ];
    for (description, config, code, message) in cases {
        let (got_code, status, got_message) = refused(s3, bucket, config).await;
        assert_eq!(
            (got_code.as_str(), status),
            (code, 400),
            "{description}: {got_message}"
        );
        assert!(
            got_message.contains(message),
            "{description}: {got_message}"
        );
    }
    let got = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketWebsite");
    assert_eq!(
        got.redirect_all_requests_to(),
        all.redirect_all_requests_to(),
        "a refused configuration changed nothing"
    );

    s3.delete_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketWebsite");
    let err = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        code_of(&err),
        ("NoSuchWebsiteConfiguration".to_owned(), 404)
    );
    // Deleting again is still 204.
    s3.delete_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketWebsite again");
}

/// Another owner is refused on all three; a policy's `Deny` refuses the
/// owner; the configuration goes with its bucket.
async fn ownership(server: &TestServer, owner: &Client, bucket: &str) {
    put_website(owner, bucket, site_config()).await;
    let (_, bob) = server.user("bob-website").await;
    let bob = s3_client(server, &bob);
    let err = bob
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("another owner");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let (code, status, _) = refused(&bob, bucket, site_config()).await;
    assert_eq!((code.as_str(), status), ("AccessDenied", 403));
    let err = bob
        .delete_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("another owner");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let err = owner
        .get_bucket_website()
        .bucket("no-such-website-bucket")
        .send()
        .await
        .expect_err("missing bucket");
    assert_eq!(code_of(&err), ("NoSuchBucket".to_owned(), 404));
    owner
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("still there after bob's tries");

    // A policy's Deny applies to the owner, each action on its own.
    for action in [
        "s3:GetBucketWebsite",
        "s3:PutBucketWebsite",
        "s3:DeleteBucketWebsite",
    ] {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"{action}","Resource":"arn:aws:s3:::{bucket}"}}]}}"#
        );
        owner
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .expect("PutBucketPolicy");
        let get = owner.get_bucket_website().bucket(bucket).send().await;
        let put = owner
            .put_bucket_website()
            .bucket(bucket)
            .website_configuration(site_config())
            .send()
            .await;
        let delete = owner.delete_bucket_website().bucket(bucket).send().await;
        let denied = |r: bool| if r { "denied" } else { "allowed" };
        let got = [
            denied(get.is_err()),
            denied(put.is_err()),
            denied(delete.is_err()),
        ];
        let want = match action {
            "s3:GetBucketWebsite" => ["denied", "allowed", "allowed"],
            "s3:PutBucketWebsite" => ["allowed", "denied", "allowed"],
            _ => ["allowed", "allowed", "denied"],
        };
        assert_eq!(got, want, "Deny of {action}");
        if let Err(e) = get {
            assert_eq!(code_of(&e), ("AccessDenied".to_owned(), 403));
        }
        owner
            .delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .expect("DeleteBucketPolicy");
        put_website(owner, bucket, site_config()).await;
    }

    // The configuration goes with the bucket.
    owner
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucket");
    owner
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket again");
    let err = owner
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("a new bucket has none");
    assert_eq!(
        code_of(&err),
        ("NoSuchWebsiteConfiguration".to_owned(), 404)
    );
}

/// The real aws CLI: `s3 website` then `s3api get-bucket-website`.
async fn aws_cli(server: &TestServer, key: &miniaws_client::CreatedKey, bucket: &str) {
    let Some(cli) = aws_cli_path() else {
        return;
    };
    let home = tempfile::tempdir().expect("temp home");
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(&cli);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("AWS_ACCESS_KEY_ID", &key.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &key.secret_access_key)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                home.path().join("credentials"),
            )
            .arg("--endpoint-url")
            .arg(server.aws_url())
            .args(args)
            .kill_on_drop(true);
        async move {
            let out = cmd.output().await.expect("the aws CLI runs");
            assert!(
                out.status.success(),
                "aws failed: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    run(&[
        "s3",
        "website",
        &format!("s3://{bucket}"),
        "--index-document",
        "index.html",
        "--error-document",
        "error.html",
    ])
    .await;
    let out = run(&["s3api", "get-bucket-website", "--bucket", bucket]).await;
    let got: serde_json::Value = serde_json::from_str(&out).expect("JSON from the CLI");
    assert_eq!(
        got,
        serde_json::json!({
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"}
        }),
        "{out}"
    );
}

fn aws_cli_path() -> Option<PathBuf> {
    match std::env::var("MINIAWS_TEST_AWS_CLI") {
        Ok(p) if !p.is_empty() && Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ if services_required() => panic!(
            "MINIAWS_TEST_AWS_CLI is not set or does not exist, but services are required: run ./scripts/test"
        ),
        _ => {
            eprintln!("SKIPPED: MINIAWS_TEST_AWS_CLI not set (run ./scripts/test)");
            None
        }
    }
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("alice-website").await;
    let s3 = s3_client(&server, &key);
    for bucket in ["website-sdk", "website-owned", "website-cli"] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    configuration(&s3, "website-sdk").await;
    ownership(&server, &s3, "website-owned").await;
    aws_cli(&server, &key, "website-cli").await;
}

#[tokio::test]
async fn s3_website_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn s3_website_postgres() {
    run(Backend::Postgres).await;
}
