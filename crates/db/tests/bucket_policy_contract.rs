//! The bucket-policy part of the `StorageRepo` contract
//! (`get_bucket_access`, `lookup_bucket`, `set_bucket_policy`,
//! `set_public_access_block`), run against SQLite and Postgres.

mod common;

use common::Repos;

use miniaws_core::storage::{BucketName, ObjectKey, PublicAccessBlock};

const POLICY_A: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"}]}"#;
const POLICY_B: &str = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#;

fn open_block() -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: false,
        block_public_policy: false,
        restrict_public_buckets: false,
    }
}

/// What one step writes.
#[derive(Clone, Copy)]
enum Write {
    Nothing,
    Policy(Option<&'static str>),
    Block(Option<PublicAccessBlock>),
}

/// One step: `who` writes to `bucket`; what the write returned, then what
/// a read of `bucket` gives (`None`: no such bucket; else the policy and
/// the settings).
struct Step {
    who: &'static str,
    bucket: &'static str,
    write: Write,
    write_returns: bool,
    read: Option<(Option<&'static str>, Option<PublicAccessBlock>)>,
}

fn cases() -> Vec<(&'static str, Vec<Step>)> {
    let step = |who, bucket, write, write_returns, read| Step {
        who,
        bucket,
        write,
        write_returns,
        read,
    };
    let on = Some(PublicAccessBlock::default());
    let open = Some(open_block());
    vec![
        (
            "a new bucket: no policy, all four settings on; a missing bucket is None",
            vec![
                step("alice", "photos", Write::Nothing, false, Some((None, on))),
                step("alice", "missing", Write::Nothing, false, None),
            ],
        ),
        (
            "policy set, replaced, removed; the settings untouched",
            vec![
                step(
                    "alice",
                    "photos",
                    Write::Policy(Some(POLICY_A)),
                    true,
                    Some((Some(POLICY_A), on)),
                ),
                step(
                    "alice",
                    "photos",
                    Write::Policy(Some(POLICY_B)),
                    true,
                    Some((Some(POLICY_B), on)),
                ),
                step(
                    "alice",
                    "photos",
                    Write::Policy(None),
                    true,
                    Some((None, on)),
                ),
                step(
                    "alice",
                    "photos",
                    Write::Policy(None),
                    true,
                    Some((None, on)),
                ),
            ],
        ),
        (
            "settings replaced, deleted, put back; the policy untouched",
            vec![
                step(
                    "alice",
                    "photos",
                    Write::Policy(Some(POLICY_A)),
                    true,
                    Some((Some(POLICY_A), on)),
                ),
                step(
                    "alice",
                    "photos",
                    Write::Block(open),
                    true,
                    Some((Some(POLICY_A), open)),
                ),
                step(
                    "alice",
                    "photos",
                    Write::Block(None),
                    true,
                    Some((Some(POLICY_A), None)),
                ),
                step(
                    "alice",
                    "photos",
                    Write::Block(on),
                    true,
                    Some((Some(POLICY_A), on)),
                ),
            ],
        ),
        (
            "another owner writes nothing",
            vec![
                step(
                    "bob",
                    "photos",
                    Write::Policy(Some(POLICY_B)),
                    false,
                    Some((None, on)),
                ),
                step("bob", "photos", Write::Block(None), false, Some((None, on))),
                step("bob", "photos", Write::Block(open), false, Some((None, on))),
            ],
        ),
        (
            "a missing bucket writes nothing",
            vec![
                step(
                    "alice",
                    "missing",
                    Write::Policy(Some(POLICY_A)),
                    false,
                    None,
                ),
                step("alice", "missing", Write::Block(open), false, None),
            ],
        ),
        (
            "buckets are separate",
            vec![
                step(
                    "bob",
                    "videos",
                    Write::Policy(Some(POLICY_B)),
                    true,
                    Some((Some(POLICY_B), on)),
                ),
                step(
                    "bob",
                    "videos",
                    Write::Block(None),
                    true,
                    Some((Some(POLICY_B), None)),
                ),
                step("alice", "photos", Write::Nothing, false, Some((None, on))),
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
            let (bucket, owner) = match s.bucket {
                "photos" => (&photos, alice),
                "videos" => (&videos, bob),
                _ => (&missing, alice),
            };
            let wrote = match s.write {
                Write::Nothing => None,
                Write::Policy(p) => Some(repos.storage.set_bucket_policy(who, bucket, p).await),
                Write::Block(b) => Some(
                    repos
                        .storage
                        .set_public_access_block(who, bucket, b.as_ref())
                        .await,
                ),
            };
            if let Some(wrote) = wrote {
                let wrote =
                    wrote.unwrap_or_else(|e| panic!("{description} step {i}: write failed: {e}"));
                assert_eq!(
                    wrote, s.write_returns,
                    "{description} step {i}: write returned"
                );
            }
            let got = repos
                .storage
                .get_bucket_access(bucket)
                .await
                .unwrap_or_else(|e| panic!("{description} step {i}: read failed: {e}"));
            let got = got.map(|a| {
                assert_eq!(a.owner, owner, "{description} step {i}: owner");
                (a.policy, a.public_access_block)
            });
            assert_eq!(
                got,
                s.read.map(|(p, b)| (p.map(str::to_owned), b)),
                "{description} step {i}: read back"
            );
            // The owner's lookup reads the same policy with the bucket.
            let with_policy = repos
                .storage
                .lookup_bucket(bucket)
                .await
                .unwrap_or_else(|e| panic!("{description} step {i}: lookup failed: {e}"))
                .map(|found| (found.bucket.name, found.bucket.owner, found.policy));
            assert_eq!(
                with_policy,
                s.read
                    .map(|(p, _)| (bucket.clone(), owner, p.map(str::to_owned))),
                "{description} step {i}: bucket with its policy"
            );
            // And so does the lookup joined to an object (an owner's GET).
            let key = ObjectKey::parse("any-key").expect("key");
            let joined = repos
                .storage
                .lookup_object(bucket, &key)
                .await
                .unwrap_or_else(|e| panic!("{description} step {i}: joined lookup failed: {e}"))
                .map(|(found, _)| (found.bucket.name, found.bucket.owner, found.policy));
            assert_eq!(
                joined, with_policy,
                "{description} step {i}: the joined lookup's bucket and policy"
            );
        }
    }
    // Deleting the bucket drops its policy and settings: a bucket of the
    // same name starts with none and all four settings on.
    let carol = repos.user("carol").await;
    let name = repos.bucket(carol, "recycled").await;
    assert!(
        repos
            .storage
            .set_bucket_policy(carol, &name, Some(POLICY_A))
            .await
            .expect("set")
    );
    assert!(
        repos
            .storage
            .set_public_access_block(carol, &name, None)
            .await
            .expect("set")
    );
    repos
        .storage
        .delete_bucket(carol, &name)
        .await
        .expect("deleted");
    assert_eq!(
        repos.storage.get_bucket_access(&name).await.expect("read"),
        None
    );
    assert_eq!(
        repos.storage.lookup_bucket(&name).await.expect("read"),
        None
    );
    repos.bucket(carol, "recycled").await;
    let again = repos
        .storage
        .get_bucket_access(&name)
        .await
        .expect("read")
        .expect("bucket");
    assert_eq!(
        (again.policy, again.public_access_block),
        (None, Some(PublicAccessBlock::default())),
        "a recreated bucket starts closed"
    );
    let found = repos
        .storage
        .lookup_bucket(&name)
        .await
        .expect("read")
        .expect("bucket");
    assert_eq!(
        (found.bucket.owner, found.policy),
        (carol, None),
        "and without a policy"
    );
}

#[tokio::test]
async fn bucket_policy_contract_on_sqlite() {
    let fresh = common::sqlite(true).await;
    run(Repos::of(&fresh)).await;
}

#[tokio::test]
async fn bucket_policy_contract_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    run(Repos::of(&fresh)).await;
}
