//! The `IdentityRepo` contract, run against SQLite and Postgres.
//!
//! One table of cases drives both backends: each case states what it does
//! and what every adapter must return.

mod common;

use miniaws_core::error::ConflictKind;
use miniaws_core::identity::{
    ApiKey, ApiKeyId, IdentityRepo, KeyName, KeyPosition, NewApiKey, User, UserId, hash_api_key,
};
use miniaws_core::{CoreError, Resource};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

fn t(offset_secs: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 00:00:00.123456 UTC) + Duration::seconds(offset_secs)
}

fn user(name: &str, at: i64) -> User {
    User {
        id: UserId::new(),
        name: name.into(),
        created_at: t(at),
    }
}

fn key(user: UserId, name: &str, secret: &str, at: i64) -> NewApiKey {
    NewApiKey {
        id: ApiKeyId::new(),
        user_id: user,
        name: KeyName::parse(name).expect("valid key name"),
        key_hash: hash_api_key(secret),
        prefix: secret.chars().take(9).collect(),
        access_key_id: format!("AKIA{}", secret.to_uppercase()),
        stored_secret: format!("secret-of-{secret}"),
        created_at: t(at),
    }
}

/// Every key of `user` in one read.
async fn all_keys(
    repo: &Arc<dyn IdentityRepo>,
    user: UserId,
) -> miniaws_core::CoreResult<Vec<miniaws_core::identity::ApiKey>> {
    repo.list_keys(user, None, 10_000).await
}

/// Every key of `user`, read `limit` at a time from the position of the
/// last key of each page.
async fn walk_keys(repo: &Arc<dyn IdentityRepo>, user: UserId, limit: u32) -> Vec<ApiKey> {
    let mut out: Vec<ApiKey> = Vec::new();
    loop {
        let after = out.last().map(KeyPosition::of);
        let page = repo.list_keys(user, after.as_ref(), limit).await.unwrap();
        assert!(
            page.len() <= limit as usize,
            "a page holds at most the limit"
        );
        let done = page.len() < limit as usize;
        out.extend(page);
        if done {
            return out;
        }
    }
}

fn is_conflict(e: &CoreError, want: ConflictKind) -> bool {
    matches!(e, CoreError::Conflict { kind, .. } if *kind == want)
}

fn is_not_found(e: &CoreError, want: Resource) -> bool {
    matches!(e, CoreError::NotFound { resource, .. } if *resource == want)
}

/// Every case runs on a fresh repository so cases cannot lean on each other.
type Case = (
    &'static str,
    fn(Arc<dyn IdentityRepo>) -> futures::future::BoxFuture<'static, ()>,
);

fn cases() -> Vec<Case> {
    vec![
        ("sign-up stores the user and its first key", |repo| {
            Box::pin(async move {
                let u = user("alice", 0);
                let k = key(u.id, "alice", "mk_alice", 1);
                let stored = repo.create_user_with_key(&u, &k).await.expect("created");
                assert_eq!(stored.id, k.id);
                assert_eq!(stored.user_id, u.id);
                assert_eq!(stored.name, "alice");
                assert_eq!(stored.prefix, "mk_alice");
                assert_eq!(stored.created_at, t(1));
                assert_eq!(stored.last_used, None);
                assert_eq!(repo.get_user(u.id).await.expect("user"), u);
            })
        }),
        (
            "a taken user name is a conflict and writes nothing",
            |repo| {
                Box::pin(async move {
                    let a = user("bob", 0);
                    repo.create_user_with_key(&a, &key(a.id, "bob", "mk_one", 0))
                        .await
                        .expect("first");
                    let b = user("bob", 1);
                    let k2 = key(b.id, "bob", "mk_two", 1);
                    let err = repo.create_user_with_key(&b, &k2).await.unwrap_err();
                    assert!(is_conflict(&err, ConflictKind::AlreadyExists), "{err:?}");
                    assert!(
                        err.to_string().contains("bob"),
                        "message names the user: {err}"
                    );
                    assert!(repo.find_key_by_hash(&k2.key_hash).await.unwrap().is_none());
                    assert!(is_not_found(
                        &repo.get_user(b.id).await.unwrap_err(),
                        Resource::User
                    ));
                })
            },
        ),
        (
            "a name that differs from a taken one only by case is a conflict",
            |repo| {
                Box::pin(async move {
                    let a = user("dora", 0);
                    repo.create_user_with_key(&a, &key(a.id, "dora", "mk_one", 0))
                        .await
                        .expect("first");
                    for (i, lookalike) in ["DORA", "Dora", "dorA"].into_iter().enumerate() {
                        let b = user(lookalike, 1);
                        let k = key(b.id, "k", &format!("mk_{i}"), 1);
                        let err = repo.create_user_with_key(&b, &k).await.unwrap_err();
                        assert!(
                            is_conflict(&err, ConflictKind::AlreadyExists),
                            "{lookalike}: {err:?}"
                        );
                        assert!(
                            err.to_string().contains(lookalike)
                                && err.to_string().contains("regardless of case"),
                            "the message names the user and the rule: {err}"
                        );
                        assert!(repo.find_key_by_hash(&k.key_hash).await.unwrap().is_none());
                    }
                    // The name stays as written.
                    assert_eq!(repo.get_user(a.id).await.expect("user").name, "dora");
                })
            },
        ),
        (
            "keys are found by hash and by access key id, with the secret",
            |repo| {
                Box::pin(async move {
                    let u = user("carol", 0);
                    let k = key(u.id, "carol", "mk_carol", 0);
                    repo.create_user_with_key(&u, &k).await.expect("created");
                    let found = repo
                        .find_key_by_hash(&hash_api_key("mk_carol"))
                        .await
                        .unwrap();
                    assert_eq!(found.map(|f| f.id), Some(k.id));
                    assert!(
                        repo.find_key_by_hash(&hash_api_key("mk_other"))
                            .await
                            .unwrap()
                            .is_none()
                    );
                    let (by_ak, secret) = repo
                        .find_by_access_key_id(&k.access_key_id)
                        .await
                        .unwrap()
                        .expect("found by access key id");
                    assert_eq!(by_ak.id, k.id);
                    assert_eq!(secret, "secret-of-mk_carol");
                    assert!(
                        repo.find_by_access_key_id("AKIANOPE")
                            .await
                            .unwrap()
                            .is_none()
                    );
                })
            },
        ),
        (
            "more keys list oldest first, scoped to their owner",
            |repo| {
                Box::pin(async move {
                    let a = user("dave", 0);
                    let b = user("erin", 0);
                    repo.create_user_with_key(&a, &key(a.id, "first", "mk_d1", 10))
                        .await
                        .unwrap();
                    repo.create_user_with_key(&b, &key(b.id, "other", "mk_e1", 5))
                        .await
                        .unwrap();
                    repo.insert_key(&key(a.id, "third", "mk_d3", 30))
                        .await
                        .unwrap();
                    repo.insert_key(&key(a.id, "second", "mk_d2", 20))
                        .await
                        .unwrap();
                    let names: Vec<String> = all_keys(&repo, a.id)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|k| k.name)
                        .collect();
                    assert_eq!(names, ["first", "second", "third"]);
                    assert_eq!(all_keys(&repo, b.id).await.unwrap().len(), 1);
                    assert!(all_keys(&repo, UserId::new()).await.unwrap().is_empty());
                })
            },
        ),
        (
            "keys page from a position by (created_at, id), ties included, owner-scoped",
            |repo| {
                Box::pin(async move {
                    let a = user("kate", 0);
                    let b = user("liam", 0);
                    repo.create_user_with_key(&a, &key(a.id, "a0", "mk_ka0", 3))
                        .await
                        .unwrap();
                    repo.create_user_with_key(&b, &key(b.id, "b0", "mk_lb0", 3))
                        .await
                        .unwrap();
                    // Four keys in each second (ties broken by id), inserted
                    // newest first; the other user's keys in between.
                    for i in (0..23).rev() {
                        repo.insert_key(&key(
                            a.id,
                            &format!("a{}", i + 1),
                            &format!("mk_ka{}", i + 1),
                            i / 4,
                        ))
                        .await
                        .unwrap();
                        repo.insert_key(&key(
                            b.id,
                            &format!("b{}", i + 1),
                            &format!("mk_lb{}", i + 1),
                            i / 4,
                        ))
                        .await
                        .unwrap();
                    }
                    let mut expected = all_keys(&repo, a.id).await.unwrap();
                    assert_eq!(expected.len(), 24);
                    assert!(expected.iter().all(|k| k.user_id == a.id));
                    let place = |k: &ApiKey| (k.created_at, k.id.as_uuid());
                    let mut sorted = expected.clone();
                    sorted.sort_by_key(place);
                    assert_eq!(expected, sorted, "oldest first, ties by id");
                    for limit in [1, 5, 7, 24, 25] {
                        assert_eq!(
                            walk_keys(&repo, a.id, limit).await,
                            expected,
                            "limit {limit}"
                        );
                    }
                    // A position past the end, or of a key revoked since:
                    // the list goes on from that place.
                    let last = KeyPosition::of(expected.last().unwrap());
                    assert!(
                        repo.list_keys(a.id, Some(&last), 5)
                            .await
                            .unwrap()
                            .is_empty()
                    );
                    let gone = expected.remove(9);
                    repo.delete_key(a.id, gone.id, false).await.unwrap();
                    let rest = repo
                        .list_keys(a.id, Some(&KeyPosition::of(&gone)), 100)
                        .await
                        .unwrap();
                    assert_eq!(rest, expected[9..], "resumes after a revoked key");
                    // Another user's position says where, never whose.
                    let bobs = all_keys(&repo, b.id).await.unwrap();
                    let from_b = repo
                        .list_keys(a.id, Some(&KeyPosition::of(&bobs[10])), 100)
                        .await
                        .unwrap();
                    assert!(from_b.iter().all(|k| k.user_id == a.id));
                    let want: Vec<ApiKey> = expected
                        .iter()
                        .filter(|k| place(k) > place(&bobs[10]))
                        .cloned()
                        .collect();
                    assert_eq!(from_b, want);
                    assert!(
                        repo.list_keys(UserId::new(), None, 5)
                            .await
                            .unwrap()
                            .is_empty()
                    );
                })
            },
        ),
        ("a key for an unknown user is not found", |repo| {
            Box::pin(async move {
                let err = repo
                    .insert_key(&key(UserId::new(), "x", "mk_x", 0))
                    .await
                    .unwrap_err();
                assert!(is_not_found(&err, Resource::User), "{err:?}");
            })
        }),
        (
            "revoking: own key goes, others' keys are not found, the last needs force",
            |repo| {
                Box::pin(async move {
                    let a = user("frank", 0);
                    let b = user("grace", 0);
                    let a1 = key(a.id, "a1", "mk_a1", 0);
                    let a2 = key(a.id, "a2", "mk_a2", 1);
                    let b1 = key(b.id, "b1", "mk_b1", 0);
                    repo.create_user_with_key(&a, &a1).await.unwrap();
                    repo.insert_key(&a2).await.unwrap();
                    repo.create_user_with_key(&b, &b1).await.unwrap();

                    let err = repo.delete_key(a.id, b1.id, true).await.unwrap_err();
                    assert!(
                        is_not_found(&err, Resource::ApiKey),
                        "other user's key: {err:?}"
                    );
                    assert_eq!(all_keys(&repo, b.id).await.unwrap().len(), 1);

                    repo.delete_key(a.id, a1.id, false)
                        .await
                        .expect("not the last");
                    assert!(repo.find_key_by_hash(&a1.key_hash).await.unwrap().is_none());
                    assert!(
                        repo.find_by_access_key_id(&a1.access_key_id)
                            .await
                            .unwrap()
                            .is_none()
                    );

                    let err = repo.delete_key(a.id, a2.id, false).await.unwrap_err();
                    assert!(is_conflict(&err, ConflictKind::LastKey), "{err:?}");
                    assert_eq!(all_keys(&repo, a.id).await.unwrap().len(), 1);
                    repo.delete_key(a.id, a2.id, true).await.expect("forced");
                    assert!(all_keys(&repo, a.id).await.unwrap().is_empty());

                    let err = repo.delete_key(a.id, a2.id, true).await.unwrap_err();
                    assert!(
                        is_not_found(&err, Resource::ApiKey),
                        "already gone: {err:?}"
                    );
                })
            },
        ),
        ("concurrent revocations never remove the last key", |repo| {
            Box::pin(async move {
                let u = user("heidi", 0);
                let k1 = key(u.id, "k1", "mk_h1", 0);
                let k2 = key(u.id, "k2", "mk_h2", 1);
                repo.create_user_with_key(&u, &k1).await.unwrap();
                repo.insert_key(&k2).await.unwrap();
                let (r1, r2) = tokio::join!(
                    repo.delete_key(u.id, k1.id, false),
                    repo.delete_key(u.id, k2.id, false)
                );
                assert_eq!(
                    [r1.is_ok(), r2.is_ok()].iter().filter(|ok| **ok).count(),
                    1,
                    "exactly one revocation wins: {r1:?} {r2:?}"
                );
                assert_eq!(all_keys(&repo, u.id).await.unwrap().len(), 1);
            })
        }),
        ("last_used is recorded and read back", |repo| {
            Box::pin(async move {
                let u = user("ivan", 0);
                let k = key(u.id, "ivan", "mk_ivan", 0);
                repo.create_user_with_key(&u, &k).await.unwrap();
                repo.record_last_used(k.id, t(99)).await.unwrap();
                repo.record_last_used(ApiKeyId::new(), t(99))
                    .await
                    .expect("unknown ids are ignored");
                let listed = all_keys(&repo, u.id).await.unwrap();
                assert_eq!(listed[0].last_used, Some(t(99)));
            })
        }),
        (
            "a sealed secret (100 characters) is stored and read back whole",
            |repo| {
                Box::pin(async move {
                    let u = user("judy", 0);
                    let mut k = key(u.id, "judy", "mk_judy", 0);
                    let sealed = format!("sealed1:{}", "A".repeat(92));
                    k.stored_secret = sealed.clone();
                    repo.create_user_with_key(&u, &k).await.expect("fits");
                    let (_, stored) = repo
                        .find_by_access_key_id(&k.access_key_id)
                        .await
                        .unwrap()
                        .expect("found");
                    assert_eq!(stored, sealed);
                })
            },
        ),
        (
            "stored secrets page in id order; a secret is replaced only while unchanged",
            |repo| {
                Box::pin(async move {
                    let u = user("kim", 0);
                    let first = key(u.id, "kim", "mk_kim0", 0);
                    repo.create_user_with_key(&u, &first).await.unwrap();
                    let mut keys = vec![first];
                    for i in 1..7 {
                        let k = key(u.id, &format!("k{i}"), &format!("mk_kim{i}"), i);
                        repo.insert_key(&k).await.unwrap();
                        keys.push(k);
                    }
                    keys.sort_by_key(|k| k.id.to_string());
                    // Three at a time, after the last of each page.
                    let mut seen = Vec::new();
                    let mut after = None;
                    loop {
                        let page = repo.stored_secrets(after, 3).await.unwrap();
                        assert!(page.len() <= 3);
                        seen.extend(page.iter().cloned());
                        if page.len() < 3 {
                            break;
                        }
                        after = page.last().map(|s| s.id);
                    }
                    let want: Vec<_> = keys
                        .iter()
                        .map(|k| (k.id, k.access_key_id.clone(), k.stored_secret.clone()))
                        .collect();
                    let got: Vec<_> = seen
                        .iter()
                        .map(|s| (s.id, s.access_key_id.clone(), s.stored.clone()))
                        .collect();
                    assert_eq!(got, want, "every key once, in id order");

                    let k = &keys[2];
                    assert!(
                        !repo
                            .replace_stored_secret(k.id, "not what is stored", "sealed1:x")
                            .await
                            .unwrap(),
                        "a changed value is left alone"
                    );
                    assert!(
                        repo.replace_stored_secret(k.id, &k.stored_secret, "sealed1:x")
                            .await
                            .unwrap()
                    );
                    let (_, now) = repo
                        .find_by_access_key_id(&k.access_key_id)
                        .await
                        .unwrap()
                        .expect("found");
                    assert_eq!(now, "sealed1:x");
                    assert!(
                        !repo
                            .replace_stored_secret(k.id, &k.stored_secret, "sealed1:y")
                            .await
                            .unwrap(),
                        "a second replacement of the old value does nothing"
                    );
                    assert!(
                        !repo
                            .replace_stored_secret(ApiKeyId::new(), "a", "b")
                            .await
                            .unwrap(),
                        "nor does one of a revoked key"
                    );
                    let others: Vec<_> = repo
                        .stored_secrets(None, 100)
                        .await
                        .unwrap()
                        .into_iter()
                        .filter(|s| s.id != k.id)
                        .map(|s| s.stored)
                        .collect();
                    assert!(
                        others.iter().all(|s| s.starts_with("secret-of-")),
                        "no other row changed: {others:?}"
                    );
                })
            },
        ),
    ]
}

#[tokio::test]
async fn identity_contract_on_sqlite() {
    for (description, case) in cases() {
        eprintln!("case: {description}");
        let fresh = common::sqlite(true).await;
        case(fresh.db.identity_repo()).await;
    }
}

#[tokio::test]
async fn identity_contract_on_postgres() {
    for (description, case) in cases() {
        eprintln!("case: {description}");
        let Some(fresh) = common::postgres(true).await else {
            return;
        };
        case(fresh.db.identity_repo()).await;
    }
}
