//! The bucket-tagging part of the `StorageRepo` contract
//! (`get_bucket_tags`, `set_bucket_tags`), run against SQLite and Postgres.

mod common;

use common::Repos;

use miniaws_core::storage::{Bucket, BucketName, MAX_BUCKET_TAGS, Tags};

/// A tag set from (key, value) pairs, under the bucket rules.
fn tags(pairs: &[(&str, &str)]) -> Tags {
    Tags::for_bucket(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
    .expect("valid bucket tags")
}

/// The most a bucket may carry, with characters both backends must keep
/// (non-ASCII, astral, the allowed symbols, an empty value).
fn full() -> Tags {
    let mut pairs: Vec<(String, String)> = (0..MAX_BUCKET_TAGS - 3)
        .map(|i| (format!("k{i:02}"), format!("v{i}")))
        .collect();
    pairs.push(("zz last first".into(), "ü日本 𝒜".into()));
    pairs.push(("a+-=._:/@".into(), String::new()));
    pairs.push(("Key".into(), "v".repeat(256)));
    Tags::for_bucket(pairs).expect("fifty valid tags")
}

/// One step of a case: `who` sets `set` (if any) on `bucket`; then what
/// the write returned and what a read of `bucket` gives (`None`: no such
/// bucket).
struct Step {
    who: &'static str,
    bucket: &'static str,
    set: Option<Tags>,
    set_returns: bool,
    read: Option<Tags>,
}

fn step(
    who: &'static str,
    bucket: &'static str,
    set: Option<Tags>,
    set_returns: bool,
    read: Option<Tags>,
) -> Step {
    Step {
        who,
        bucket,
        set,
        set_returns,
        read,
    }
}

fn cases() -> Vec<(&'static str, Vec<Step>)> {
    let none = Tags::default;
    let ab = || tags(&[("b", "2"), ("a", "1")]);
    vec![
        (
            "a new bucket has none; a missing bucket is None",
            vec![
                step("alice", "photos", None, false, Some(none())),
                step("alice", "missing", None, false, None),
            ],
        ),
        (
            "set keeps the given order, replace, remove with an empty set",
            vec![
                step("alice", "photos", Some(ab()), true, Some(ab())),
                step(
                    "alice",
                    "photos",
                    Some(tags(&[("x", "")])),
                    true,
                    Some(tags(&[("x", "")])),
                ),
                step("alice", "photos", Some(none()), true, Some(none())),
                step("alice", "photos", Some(none()), true, Some(none())),
            ],
        ),
        (
            "fifty tags and unusual characters survive",
            vec![step("alice", "photos", Some(full()), true, Some(full()))],
        ),
        (
            "another owner writes nothing",
            vec![
                step("alice", "photos", Some(ab()), true, Some(ab())),
                step(
                    "bob",
                    "photos",
                    Some(tags(&[("evil", "1")])),
                    false,
                    Some(ab()),
                ),
                step("bob", "photos", Some(none()), false, Some(ab())),
            ],
        ),
        (
            "a missing bucket writes nothing",
            vec![step("alice", "missing", Some(ab()), false, None)],
        ),
        (
            "buckets are separate",
            vec![
                step("alice", "photos", Some(ab()), true, Some(ab())),
                step("bob", "videos", None, false, Some(none())),
                step(
                    "bob",
                    "videos",
                    Some(tags(&[("v", "1")])),
                    true,
                    Some(tags(&[("v", "1")])),
                ),
                step("alice", "photos", None, false, Some(ab())),
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
            if let Some(set) = &s.set {
                let got = repos
                    .storage
                    .set_bucket_tags(who, bucket, set)
                    .await
                    .unwrap_or_else(|e| panic!("{description} step {i}: set failed: {e}"));
                assert_eq!(got, s.set_returns, "{description} step {i}: set returned");
            }
            let got = repos
                .storage
                .get_bucket_tags(bucket)
                .await
                .unwrap_or_else(|e| panic!("{description} step {i}: read failed: {e}"));
            assert_eq!(got, s.read, "{description} step {i}: read back");
        }
    }
    // Deleting the bucket drops its tags: a bucket of the same name starts
    // without any.
    let carol = repos.user("carol").await;
    let name = repos.bucket(carol, "recycled").await;
    assert!(
        repos
            .storage
            .set_bucket_tags(carol, &name, &tags(&[("c", "1")]))
            .await
            .expect("set")
    );
    repos
        .storage
        .delete_bucket(carol, &name)
        .await
        .expect("deleted");
    assert_eq!(
        repos.storage.get_bucket_tags(&name).await.expect("read"),
        None
    );
    repos.bucket(carol, "recycled").await;
    assert_eq!(
        repos.storage.get_bucket_tags(&name).await.expect("read"),
        Some(Tags::default()),
        "a recreated bucket has no tags"
    );
    // A bucket created with tags has them from its first read on (one
    // statement: there is no moment without them).
    let tagged = Bucket {
        name: BucketName::parse(&format!("born-tagged-{}", uuid::Uuid::new_v4().simple()))
            .expect("name"),
        owner: carol,
        created_at: time::OffsetDateTime::now_utc(),
    };
    repos
        .storage
        .create_bucket(&tagged, &full(), None)
        .await
        .expect("created with tags");
    assert_eq!(
        repos
            .storage
            .get_bucket_tags(&tagged.name)
            .await
            .expect("read"),
        Some(full()),
        "created with its tags"
    );
}

#[tokio::test]
async fn bucket_tags_contract_on_sqlite() {
    let fresh = common::sqlite(true).await;
    run(Repos::of(&fresh)).await;
}

#[tokio::test]
async fn bucket_tags_contract_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    run(Repos::of(&fresh)).await;
}
