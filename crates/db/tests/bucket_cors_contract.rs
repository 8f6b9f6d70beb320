//! The bucket-CORS part of the `StorageRepo` contract
//! (`get_bucket_cors`, `set_bucket_cors`), run against SQLite and Postgres.

mod common;

use common::Repos;

use miniaws_core::storage::{BucketName, CorsConfiguration, CorsRule};

fn config(origin: &str) -> CorsConfiguration {
    CorsConfiguration::new(vec![
        CorsRule {
            id: Some("uploads".into()),
            allowed_origins: vec![origin.into(), "https://*.example.com".into()],
            allowed_methods: vec!["PUT".into(), "POST".into()],
            allowed_headers: vec!["*".into()],
            expose_headers: vec!["ETag".into(), "x-amz-version-id".into()],
            max_age_seconds: Some(3000),
        },
        CorsRule {
            allowed_origins: vec!["*".into()],
            allowed_methods: vec!["GET".into()],
            ..CorsRule::default()
        },
    ])
    .expect("valid configuration")
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
                step("alice", "photos", None, false, Some(None)),
                step("alice", "missing", None, false, None),
            ],
        ),
        (
            "set, read back, replace, remove",
            vec![
                step(
                    "alice",
                    "photos",
                    Some(Some("http://a")),
                    true,
                    Some(Some("http://a")),
                ),
                step(
                    "alice",
                    "photos",
                    Some(Some("http://b")),
                    true,
                    Some(Some("http://b")),
                ),
                step("alice", "photos", Some(None), true, Some(None)),
                step("alice", "photos", Some(None), true, Some(None)),
            ],
        ),
        (
            "another owner writes nothing",
            vec![
                step(
                    "alice",
                    "photos",
                    Some(Some("http://a")),
                    true,
                    Some(Some("http://a")),
                ),
                step(
                    "bob",
                    "photos",
                    Some(Some("http://evil")),
                    false,
                    Some(Some("http://a")),
                ),
                step("bob", "photos", Some(None), false, Some(Some("http://a"))),
            ],
        ),
        (
            "a missing bucket writes nothing",
            vec![step(
                "alice",
                "missing",
                Some(Some("http://a")),
                false,
                None,
            )],
        ),
        (
            "buckets are separate",
            vec![
                step(
                    "alice",
                    "photos",
                    Some(Some("http://a")),
                    true,
                    Some(Some("http://a")),
                ),
                step("bob", "videos", None, false, Some(None)),
                step(
                    "bob",
                    "videos",
                    Some(Some("http://v")),
                    true,
                    Some(Some("http://v")),
                ),
                step("alice", "photos", None, false, Some(Some("http://a"))),
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
        let photos = repos.bucket(alice, &format!("photos{suffix}")).await;
        let videos = repos.bucket(bob, &format!("videos{suffix}")).await;
        let missing = BucketName::parse(&format!("missing{suffix}")).expect("name");
        for (i, s) in steps.iter().enumerate() {
            let who = if s.who == "alice" { alice } else { bob };
            let bucket = match s.bucket {
                "photos" => &photos,
                "videos" => &videos,
                _ => &missing,
            };
            if let Some(set) = s.set {
                let cors = set.map(config);
                let got = repos
                    .storage
                    .set_bucket_cors(who, bucket, cors.as_ref())
                    .await
                    .unwrap_or_else(|e| panic!("{description} step {i}: set failed: {e}"));
                assert_eq!(got, s.set_returns, "{description} step {i}: set returned");
            }
            let got = repos
                .storage
                .get_bucket_cors(bucket)
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
            .set_bucket_cors(carol, &name, Some(&config("http://c")))
            .await
            .expect("set")
    );
    repos
        .storage
        .delete_bucket(carol, &name)
        .await
        .expect("deleted");
    assert_eq!(
        repos.storage.get_bucket_cors(&name).await.expect("read"),
        None
    );
    repos.bucket(carol, "recycled").await;
    assert_eq!(
        repos.storage.get_bucket_cors(&name).await.expect("read"),
        Some(None),
        "a recreated bucket has no configuration"
    );
}

#[tokio::test]
async fn bucket_cors_contract_on_sqlite() {
    let fresh = common::sqlite(true).await;
    run(Repos::of(&fresh)).await;
}

#[tokio::test]
async fn bucket_cors_contract_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    run(Repos::of(&fresh)).await;
}
