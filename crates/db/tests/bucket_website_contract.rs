//! The bucket-website part of the `StorageRepo` contract
//! (`get_bucket_website`, `set_bucket_website`), run against SQLite and
//! Postgres.

mod common;

use common::Repos;

use miniaws_core::storage::{
    BucketName, Redirect, RedirectAll, RoutingCondition, RoutingRule, WebsiteConfiguration,
    WebsiteInput,
};

/// A configuration per name: a site with an error document and two
/// routing rules, or a redirect of every request.
fn config(name: &str) -> WebsiteConfiguration {
    let input = match name {
        "all" => WebsiteInput {
            redirect_all: Some(RedirectAll {
                host_name: "example.com:8443".into(),
                protocol: Some("https".into()),
            }),
            ..WebsiteInput::default()
        },
        suffix => WebsiteInput {
            index_suffix: Some(suffix.into()),
            error_key: Some("errors/404.html".into()),
            redirect_all: None,
            routing_rules: Some(vec![
                RoutingRule {
                    condition: Some(RoutingCondition {
                        key_prefix_equals: Some("docs/".into()),
                        http_error_code_returned_equals: None,
                    }),
                    redirect: Redirect {
                        replace_key_prefix_with: Some("documents/".into()),
                        http_redirect_code: Some("302".into()),
                        ..Redirect::default()
                    },
                },
                RoutingRule {
                    condition: Some(RoutingCondition {
                        key_prefix_equals: None,
                        http_error_code_returned_equals: Some("404".into()),
                    }),
                    redirect: Redirect {
                        host_name: Some("example.com".into()),
                        protocol: Some("http".into()),
                        replace_key_with: Some("missing.html".into()),
                        ..Redirect::default()
                    },
                },
            ]),
        },
    };
    WebsiteConfiguration::new(input).expect("valid configuration")
}

/// One step of a case: set (`Some(Some)`), remove (`Some(None)`) or
/// nothing (`None`), as `who`, on `bucket`; then what the write returned
/// and what a read of `bucket` gives.
struct Step {
    who: &'static str,
    bucket: &'static str,
    set: Option<Option<&'static str>>,
    set_returns: bool,
    read: Option<Option<&'static str>>,
}

fn cases() -> Vec<(&'static str, Vec<Step>)> {
    let step = |who, bucket, set, set_returns, read| Step {
        who,
        bucket,
        set,
        set_returns,
        read,
    };
    vec![
        (
            "a new bucket has none; a missing bucket is None",
            vec![
                step("alice", "site", None, false, Some(None)),
                step("alice", "missing", None, false, None),
            ],
        ),
        (
            "set, read back, replace with a redirect of everything, remove",
            vec![
                step(
                    "alice",
                    "site",
                    Some(Some("index.html")),
                    true,
                    Some(Some("index.html")),
                ),
                step("alice", "site", Some(Some("all")), true, Some(Some("all"))),
                step("alice", "site", Some(None), true, Some(None)),
                step("alice", "site", Some(None), true, Some(None)),
            ],
        ),
        (
            "another owner writes nothing",
            vec![
                step(
                    "alice",
                    "site",
                    Some(Some("index.html")),
                    true,
                    Some(Some("index.html")),
                ),
                step(
                    "bob",
                    "site",
                    Some(Some("all")),
                    false,
                    Some(Some("index.html")),
                ),
                step("bob", "site", Some(None), false, Some(Some("index.html"))),
            ],
        ),
        (
            "a missing bucket writes nothing",
            vec![step(
                "alice",
                "missing",
                Some(Some("index.html")),
                false,
                None,
            )],
        ),
        (
            "buckets are separate",
            vec![
                step(
                    "alice",
                    "site",
                    Some(Some("index.html")),
                    true,
                    Some(Some("index.html")),
                ),
                step("bob", "blog", None, false, Some(None)),
                step(
                    "bob",
                    "blog",
                    Some(Some("default.htm")),
                    true,
                    Some(Some("default.htm")),
                ),
                step("alice", "site", None, false, Some(Some("index.html"))),
            ],
        ),
    ]
}

async fn run(repos: Repos) {
    for (n, (description, steps)) in cases().into_iter().enumerate() {
        let alice = repos.user(&format!("alice{n}")).await;
        let bob = repos.user(&format!("bob{n}")).await;
        // Fresh buckets per case (names are global).
        let suffix = format!("-{}", uuid::Uuid::new_v4().simple());
        let site = repos.bucket(alice, &format!("site{suffix}")).await;
        let blog = repos.bucket(bob, &format!("blog{suffix}")).await;
        let missing = BucketName::parse(&format!("missing{suffix}")).expect("name");
        for (i, s) in steps.iter().enumerate() {
            let who = if s.who == "alice" { alice } else { bob };
            let bucket = match s.bucket {
                "site" => &site,
                "blog" => &blog,
                _ => &missing,
            };
            if let Some(set) = s.set {
                let website = set.map(config);
                let got = repos
                    .storage
                    .set_bucket_website(who, bucket, website.as_ref())
                    .await
                    .unwrap_or_else(|e| panic!("{description} step {i}: set failed: {e}"));
                assert_eq!(got, s.set_returns, "{description} step {i}: set returned");
            }
            let got = repos
                .storage
                .get_bucket_website(bucket)
                .await
                .unwrap_or_else(|e| panic!("{description} step {i}: read failed: {e}"));
            assert_eq!(
                got,
                s.read.map(|r| r.map(config)),
                "{description} step {i}: read back"
            );
        }
    }
    // Deleting the bucket drops its configuration: a bucket of the same
    // name starts without one.
    let carol = repos.user("carol").await;
    let name = repos.bucket(carol, "recycled").await;
    assert!(
        repos
            .storage
            .set_bucket_website(carol, &name, Some(&config("index.html")))
            .await
            .expect("set")
    );
    repos
        .storage
        .delete_bucket(carol, &name)
        .await
        .expect("deleted");
    assert_eq!(
        repos.storage.get_bucket_website(&name).await.expect("read"),
        None
    );
    repos.bucket(carol, "recycled").await;
    assert_eq!(
        repos.storage.get_bucket_website(&name).await.expect("read"),
        Some(None),
        "a recreated bucket has no configuration"
    );
}

#[tokio::test]
async fn bucket_website_contract_on_sqlite() {
    let fresh = common::sqlite(true).await;
    run(Repos::of(&fresh)).await;
}

#[tokio::test]
async fn bucket_website_contract_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    run(Repos::of(&fresh)).await;
}
