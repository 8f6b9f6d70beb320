//! The lifecycle part of the `StorageRepo` contract (`get_bucket_lifecycle`,
//! `set_bucket_lifecycle`, `lifecycle_buckets`, the lifecycle `lookup_bucket`
//! and `get_bucket_with_lifecycle` carry, and `delete_object_if`, the
//! conditional delete the lifecycle sweep uses), run against SQLite and
//! Postgres.

mod common;

use common::{Fresh, Repos};
use miniaws_core::CoreError;
use miniaws_db::Database;

use miniaws_core::storage::{
    BlobId, Bucket, BucketName, ETag, ExpirationInput, FilterInput, LifecycleConfiguration,
    LifecycleRuleInput, ObjectId, ObjectKey, ObjectMeta, Tags, TransitionMinimumSize,
};

fn config(prefix: &str) -> LifecycleConfiguration {
    LifecycleConfiguration::new(
        vec![LifecycleRuleInput {
            id: Some("expire".into()),
            status: "Enabled".into(),
            filter: Some(FilterInput {
                prefix: Some(prefix.into()),
                ..Default::default()
            }),
            expiration: Some(ExpirationInput {
                days: Some(7),
                ..Default::default()
            }),
            abort_incomplete_multipart_upload: Some(Some(2)),
            ..Default::default()
        }],
        TransitionMinimumSize::VariesByStorageClass,
    )
    .expect("valid configuration")
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    Tags::new(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
    .expect("valid tags")
}

fn object(bucket: &BucketName, key: &str, tags: Tags) -> ObjectMeta {
    ObjectMeta {
        size_bytes: 3,
        etag: ETag::from_stored("0123456789abcdef0123456789abcdef"),
        last_modified: common::at(0),
        tags,
        ..common::object_meta(bucket, key)
    }
}

async fn settings(repos: &Repos) {
    let alice = repos.user("alice").await;
    let bob = repos.user("bob").await;
    let suffix = format!("-{}", uuid::Uuid::new_v4().simple());
    let photos = repos.bucket(alice, &format!("a-photos{suffix}")).await;
    let videos = repos.bucket(bob, &format!("b-videos{suffix}")).await;
    let plain = repos.bucket(bob, &format!("c-plain{suffix}")).await;
    let missing = BucketName::parse(&format!("missing{suffix}")).expect("name");
    let s = &repos.storage;
    // (what, result of the step, expected)
    // Every read also asks the lookup each request makes (`lookup_bucket`),
    // which must carry the same configuration with the bucket's row.
    let read = |b: &BucketName| {
        let b = b.clone();
        async move {
            let direct = s.get_bucket_lifecycle(&b).await.expect("read");
            let looked_up = s.lookup_bucket(&b).await.expect("lookup").map(|found| {
                assert_eq!(found.bucket.name, b, "the lookup's bucket");
                found.lifecycle
            });
            assert_eq!(looked_up, direct, "the lookup carries {b}'s lifecycle");
            let key = ObjectKey::parse("no-such-key").expect("key");
            let with_object =
                s.lookup_object(&b, &key)
                    .await
                    .expect("lookup")
                    .map(|(found, meta)| {
                        assert_eq!(found.bucket.name, b, "the joined lookup's bucket");
                        assert_eq!(meta, None, "no object under that key");
                        found.lifecycle
                    });
            assert_eq!(
                with_object, direct,
                "the joined lookup carries {b}'s lifecycle"
            );
            let public = s.get_bucket_with_lifecycle(&b).await.expect("lookup").map(
                |(bucket, lifecycle)| {
                    assert_eq!(bucket.name, b, "the public read's bucket");
                    lifecycle
                },
            );
            assert_eq!(public, direct, "the public read's lookup of {b}");
            direct
        }
    };
    assert_eq!(read(&photos).await, Some(None), "a new bucket has none");
    assert_eq!(read(&missing).await, None, "a missing bucket is None");
    let cases: Vec<(&str, bool, bool)> = vec![
        (
            "alice sets hers",
            s.set_bucket_lifecycle(alice, &photos, Some(&config("logs/")))
                .await
                .expect("set"),
            true,
        ),
        (
            "alice replaces hers",
            s.set_bucket_lifecycle(alice, &photos, Some(&config("tmp/")))
                .await
                .expect("set"),
            true,
        ),
        (
            "bob cannot set alice's",
            s.set_bucket_lifecycle(bob, &photos, Some(&config("x/")))
                .await
                .expect("set"),
            false,
        ),
        (
            "bob cannot remove alice's",
            s.set_bucket_lifecycle(bob, &photos, None)
                .await
                .expect("set"),
            false,
        ),
        (
            "a missing bucket writes nothing",
            s.set_bucket_lifecycle(alice, &missing, Some(&config("x/")))
                .await
                .expect("set"),
            false,
        ),
        (
            "bob sets his",
            s.set_bucket_lifecycle(bob, &videos, Some(&config("v/")))
                .await
                .expect("set"),
            true,
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, want, "{what}");
    }
    assert_eq!(read(&photos).await, Some(Some(config("tmp/"))), "read back");
    assert_eq!(read(&videos).await, Some(Some(config("v/"))));
    assert_eq!(read(&plain).await, Some(None));

    // The sweep's listing: only buckets with one, by name, paged, each
    // with its owner.
    let ours = |page: Vec<(Bucket, Option<LifecycleConfiguration>)>| -> Vec<BucketName> {
        page.into_iter()
            .map(|(b, _)| b.name)
            .filter(|b| b.as_str().ends_with(&suffix))
            .collect()
    };
    let all = s.lifecycle_buckets(None, 1000).await.expect("listed");
    let listed = |name: &BucketName| {
        all.iter()
            .find(|(b, _)| b.name == *name)
            .map(|(b, c)| (b.owner, c.clone()))
    };
    assert_eq!(listed(&photos), Some((alice, Some(config("tmp/")))));
    assert_eq!(listed(&videos), Some((bob, Some(config("v/")))));
    assert_eq!(ours(all), vec![photos.clone(), videos.clone()]);
    let after = s
        .lifecycle_buckets(Some(&photos), 1000)
        .await
        .expect("listed");
    assert_eq!(ours(after), vec![videos.clone()], "after a name");
    assert_eq!(
        s.lifecycle_buckets(None, 1).await.expect("listed").len(),
        1,
        "the limit"
    );

    // Removed: gone from both.
    assert!(
        s.set_bucket_lifecycle(alice, &photos, None)
            .await
            .expect("removed")
    );
    assert_eq!(read(&photos).await, Some(None));
    let all = s.lifecycle_buckets(None, 1000).await.expect("listed");
    assert_eq!(ours(all), vec![videos.clone()]);

    // Deleting the bucket drops it: a bucket of the same name starts clean.
    s.set_bucket_lifecycle(bob, &plain, Some(&config("p/")))
        .await
        .expect("set");
    s.delete_bucket(bob, &plain).await.expect("deleted");
    assert_eq!(read(&plain).await, None);
    repos.bucket(alice, plain.as_str()).await;
    assert_eq!(
        read(&plain).await,
        Some(None),
        "a recreated bucket has none"
    );
}

async fn conditional_delete(repos: &Repos) {
    let alice = repos.user("carol").await;
    let dave = repos.user("dave").await;
    let suffix = format!("-{}", uuid::Uuid::new_v4().simple());
    let bucket = repos.bucket(alice, &format!("d-objects{suffix}")).await;
    let s = &repos.storage;
    // The sweep deletes only in a bucket that has a configuration.
    assert!(
        s.set_bucket_lifecycle(alice, &bucket, Some(&config("")))
            .await
            .expect("set")
    );
    let put = |meta: ObjectMeta| async move {
        s.put_object(alice, &meta).await.expect("written");
        meta
    };
    let key = |k: &str| ObjectKey::parse(k).expect("key");
    let tmp = tags(&[("tmp", "yes"), ("team", "a")]);

    let v1 = put(object(&bucket, "rewritten", Tags::default())).await;
    let v2 = put(object(&bucket, "rewritten", Tags::default())).await;
    let plain = put(object(&bucket, "plain", Tags::default())).await;
    let tagged = put(object(&bucket, "tagged", tmp.clone())).await;
    let retagged = put(object(&bucket, "retagged", tmp.clone())).await;
    s.set_object_tags(alice, &bucket, &key("retagged"), &tags(&[("tmp", "no")]))
        .await
        .expect("retagged");

    // (what, owner asked for, key, id, tags, blob expected back)
    let cases: Vec<(&str, _, &str, ObjectId, Tags, Option<BlobId>)> = vec![
        (
            "another owner's (the bucket was created again since it was listed): it stays",
            dave,
            "plain",
            plain.id,
            Tags::default(),
            None,
        ),
        (
            "a version since replaced stays",
            alice,
            "rewritten",
            v1.id,
            Tags::default(),
            None,
        ),
        (
            "a missing key is nothing",
            alice,
            "missing",
            v1.id,
            Tags::default(),
            None,
        ),
        (
            "tags that changed since keep it",
            alice,
            "retagged",
            retagged.id,
            tmp.clone(),
            None,
        ),
        (
            "tags in another order are other tags",
            alice,
            "tagged",
            tagged.id,
            tags(&[("team", "a"), ("tmp", "yes")]),
            None,
        ),
        (
            "the current version goes",
            alice,
            "rewritten",
            v2.id,
            Tags::default(),
            Some(v2.blob_id),
        ),
        (
            "with its tags, it goes",
            alice,
            "tagged",
            tagged.id,
            tmp.clone(),
            Some(tagged.blob_id),
        ),
        ("only once", alice, "tagged", tagged.id, tmp.clone(), None),
    ];
    for (what, owner, k, id, t, want) in cases {
        let got = s
            .delete_object_if(owner, &bucket, &key(k), id, &t)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got, want, "{what}");
    }
    let left: Vec<String> = s
        .list_objects(
            &bucket,
            &miniaws_core::storage::KeyRange {
                start: Vec::new(),
                end: None,
            },
            100,
        )
        .await
        .expect("listed")
        .into_iter()
        .map(|m| m.key.as_str().to_owned())
        .collect();
    assert_eq!(left, ["plain", "retagged"]);
    assert_eq!(
        s.get_object(&bucket, &key("plain"))
            .await
            .expect("read")
            .map(|m| m.id),
        Some(plain.id)
    );

    // The configuration removed since the sweep listed the bucket: the
    // object stays.
    assert!(
        s.set_bucket_lifecycle(alice, &bucket, None)
            .await
            .expect("removed")
    );
    assert_eq!(
        s.delete_object_if(alice, &bucket, &key("plain"), plain.id, &Tags::default())
            .await
            .expect("asked"),
        None,
        "no configuration: it stays"
    );
    assert!(
        s.get_object(&bucket, &key("plain"))
            .await
            .expect("read")
            .is_some()
    );
}

/// Writes `text` into the `lifecycle` column of bucket `name` directly, as
/// a damaged row or another version of the server would leave it.
async fn write_raw_lifecycle(fresh: &Fresh, name: &BucketName, text: &str) {
    let written = match &fresh.db {
        Database::Sqlite(pool, _) => sqlx::query("UPDATE buckets SET lifecycle = ? WHERE name = ?")
            .bind(text)
            .bind(name.as_str())
            .execute(pool)
            .await
            .expect("written")
            .rows_affected(),
        Database::Postgres(pool, _) => {
            sqlx::query("UPDATE buckets SET lifecycle = $1 WHERE name = $2")
                .bind(text)
                .bind(name.as_str())
                .execute(pool)
                .await
                .expect("written")
                .rows_affected()
        }
    };
    assert_eq!(written, 1, "the bucket exists");
}

/// A stored configuration that does not decode: the sweep's listing gives
/// its bucket without one, in its place, and goes on with the others,
/// page by page; a direct read of it is an error; putting a configuration
/// again repairs it.
async fn undecodable(fresh: &Fresh) {
    let repos = Repos::of(fresh);
    let s = &repos.storage;
    let erin = repos.user("erin").await;
    let suffix = format!("-{}", uuid::Uuid::new_v4().simple());
    let first = repos.bucket(erin, &format!("e1-first{suffix}")).await;
    let broken = repos.bucket(erin, &format!("e2-broken{suffix}")).await;
    let wrong_shape = repos.bucket(erin, &format!("e3-shape{suffix}")).await;
    let last = repos.bucket(erin, &format!("e4-last{suffix}")).await;
    for b in [&first, &broken, &wrong_shape, &last] {
        assert!(
            s.set_bucket_lifecycle(erin, b, Some(&config("x/")))
                .await
                .expect("set")
        );
    }
    // (description, the column's text)
    let damage = [
        (&broken, "not json at all {"),
        (
            &wrong_shape,
            r#"{"rules": "a string where a list belongs"}"#,
        ),
    ];
    for (b, text) in damage {
        write_raw_lifecycle(fresh, b, text).await;
    }

    let ours = |page: Vec<(Bucket, Option<LifecycleConfiguration>)>| {
        page.into_iter()
            .filter(|(b, _)| b.name.as_str().ends_with(&suffix))
            .map(|(b, c)| (b.name, b.owner, c))
            .collect::<Vec<_>>()
    };
    let want = vec![
        (first.clone(), erin, Some(config("x/"))),
        (broken.clone(), erin, None),
        (wrong_shape.clone(), erin, None),
        (last.clone(), erin, Some(config("x/"))),
    ];
    // One page, then one bucket per page: the bad rows never stop the
    // listing nor hide the buckets after them.
    let all = s.lifecycle_buckets(None, 1000).await.expect("listed");
    assert_eq!(ours(all), want, "in one page");
    let mut paged = Vec::new();
    let mut after = Some(BucketName::parse(&format!("e0{suffix}")).expect("name"));
    loop {
        let page = s
            .lifecycle_buckets(after.as_ref(), 1)
            .await
            .expect("a page with a bad row is still a page");
        let Some((b, _)) = page.first() else { break };
        if !b.name.as_str().ends_with(&suffix) {
            break;
        }
        after = Some(b.name.clone());
        paged.extend(ours(page));
    }
    assert_eq!(paged, want, "a bucket per page");

    let read = s.get_bucket_lifecycle(&broken).await;
    assert!(
        matches!(&read, Err(CoreError::Damaged(m))
            if m.contains(broken.as_str()) && m.contains("cannot be read")),
        "a direct read of a damaged configuration is an error naming the bucket: {read:?}"
    );
    // The lookup every request makes still finds the bucket: a damaged
    // configuration reads as none there, never as an error.
    for (b, want) in [
        (&broken, None),
        (&wrong_shape, None),
        (&first, Some(config("x/"))),
    ] {
        let found = s
            .lookup_bucket(b)
            .await
            .expect("the lookup of a bucket with a damaged configuration")
            .expect("the bucket");
        assert_eq!(
            (found.bucket.owner, found.lifecycle),
            (erin, want.clone()),
            "lookup of {b}"
        );
        let (bucket, lifecycle) = s
            .get_bucket_with_lifecycle(b)
            .await
            .expect("the public read's lookup")
            .expect("the bucket");
        assert_eq!(
            (bucket.owner, lifecycle),
            (erin, want),
            "public lookup of {b}"
        );
    }
    assert!(
        s.set_bucket_lifecycle(erin, &broken, Some(&config("y/")))
            .await
            .expect("set")
    );
    let all = s.lifecycle_buckets(None, 1000).await.expect("listed");
    assert_eq!(
        ours(all)[1],
        (broken.clone(), erin, Some(config("y/"))),
        "repaired by its owner"
    );
}

async fn run(fresh: &Fresh) {
    let repos = Repos::of(fresh);
    settings(&repos).await;
    conditional_delete(&repos).await;
    undecodable(fresh).await;
}

#[tokio::test]
async fn bucket_lifecycle_contract_on_sqlite() {
    let fresh = common::sqlite(true).await;
    run(&fresh).await;
}

#[tokio::test]
async fn bucket_lifecycle_contract_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    run(&fresh).await;
}
