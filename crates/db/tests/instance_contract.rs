//! The `InstanceRepo` contract, run against SQLite and Postgres.
//!
//! One table of cases drives both backends; each case gets a fresh,
//! migrated database with two users and states what every adapter must do.

mod common;

use miniaws_core::compute::{
    ClientToken, Ec2InstanceId, Instance, InstanceId, InstancePosition, InstanceRepo,
    InstanceState, LaunchOrigin, ListQuery, PortMapping, Protocol, PublishedPort,
};
use miniaws_core::error::ConflictKind;
use miniaws_core::identity::{ApiKeyId, KeyName, NewApiKey, User, UserId};
use miniaws_core::{CoreError, Resource};
use miniaws_db::{Database, MigrationState};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use time::{Duration, OffsetDateTime};

fn t(offset_secs: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 00:00:00.123456 UTC) + Duration::seconds(offset_secs)
}

/// What every case receives.
struct Ctx {
    repo: Arc<dyn InstanceRepo>,
    alice: UserId,
    bob: UserId,
}

/// The next fixed host port of a test instance: each gets its own, since
/// a fixed host port is reserved for one live instance.
fn next_host_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(20000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn instance(owner: UserId, name: &str, at: i64) -> Instance {
    let mut env = BTreeMap::new();
    env.insert("MODE".to_owned(), "dev".to_owned());
    env.insert("QUOTE".to_owned(), "a \"b\" = c".to_owned());
    Instance {
        id: InstanceId::new(),
        owner,
        name: name.into(),
        image: "miniaws-test/busybox:latest".into(),
        instance_type: "t3.micro".into(),
        state: InstanceState::Starting,
        state_reason: None,
        exit_code: None,
        container_id: None,
        ports: PortMapping::parse_list(&[format!("{}:80", next_host_port()), "53/udp".into()])
            .expect("valid ports"),
        published_ports: Vec::new(),
        private_ip: Some("172.17.0.3".into()),
        env,
        command: Some(vec!["sh".into(), "-c".into(), "echo 'hi'".into()]),
        tags: BTreeMap::from([
            ("env".to_owned(), "prod".to_owned()),
            ("café ☕".to_owned(), "\"quoted\" = {json}".to_owned()),
            ("empty".to_owned(), String::new()),
        ]),
        origin: None,
        created_at: t(at),
        updated_at: t(at),
        deleted_at: None,
    }
}

fn all(limit: u32) -> ListQuery {
    ListQuery {
        include_terminated: true,
        limit,
        after: None,
    }
}

fn live(limit: u32) -> ListQuery {
    ListQuery {
        include_terminated: false,
        ..all(limit)
    }
}

/// The ids of Alice's rows that `query` lists, in order.
async fn ids_listed(c: &Ctx, query: &ListQuery) -> Vec<InstanceId> {
    let listed = c.repo.list(c.alice, query).await.expect("listed");
    listed.iter().map(|i| i.id).collect()
}

type Case = (
    &'static str,
    fn(Ctx) -> futures::future::BoxFuture<'static, ()>,
);

fn cases() -> Vec<Case> {
    vec![
        ("an inserted instance reads back field for field", |c| {
            Box::pin(async move {
                let i = instance(c.alice, "web", 0);
                c.repo.insert(&i).await.expect("inserted");
                assert_eq!(c.repo.get(c.alice, i.id).await.expect("get"), i);
                assert_eq!(c.repo.find(i.id).await.expect("find"), Some(i.clone()));
                let mut bare = instance(c.alice, "bare", 1);
                bare.env.clear();
                bare.command = None;
                bare.ports.clear();
                bare.tags.clear();
                bare.private_ip = None;
                c.repo.insert(&bare).await.expect("inserted");
                assert_eq!(c.repo.get(c.alice, bare.id).await.unwrap(), bare);
            })
        }),
        (
            "an EC2 id finds its owner's instance only, and is unique",
            |c| {
                Box::pin(async move {
                    let i = instance(c.alice, "web", 0);
                    c.repo.insert(&i).await.unwrap();
                    let got = c.repo.get_by_ec2_id(c.alice, &i.ec2_id()).await;
                    assert_eq!(got.expect("found by EC2 id"), i);
                    for (owner, id) in [
                        (c.bob, i.ec2_id()),
                        (c.alice, Ec2InstanceId::of(InstanceId::new())),
                    ] {
                        let err = c.repo.get_by_ec2_id(owner, &id).await.unwrap_err();
                        assert!(
                            matches!(
                                err,
                                CoreError::NotFound {
                                    resource: Resource::Instance,
                                    ..
                                }
                            ),
                            "{err:?}"
                        );
                    }
                    // Another UUID with the same 17 digits (only the
                    // version digit differs): the insert is refused.
                    let mut hex = i.id.as_uuid().simple().to_string();
                    hex.replace_range(12..13, "7");
                    let mut twin = instance(c.bob, "twin", 1);
                    twin.id = InstanceId::from_uuid(uuid::Uuid::parse_str(&hex).unwrap());
                    assert_eq!(twin.ec2_id(), i.ec2_id());
                    let err = c.repo.insert(&twin).await.unwrap_err();
                    assert!(
                        matches!(
                            &err,
                            CoreError::Conflict {
                                kind: ConflictKind::AlreadyExists,
                                ..
                            }
                        ) && err.to_string().contains(i.ec2_id().as_str()),
                        "{err:?}"
                    );
                    assert_eq!(c.repo.find(twin.id).await.unwrap(), None);
                })
            },
        ),
        (
            "another owner's instance and unknown ids are not found",
            |c| {
                Box::pin(async move {
                    let i = instance(c.alice, "web", 0);
                    c.repo.insert(&i).await.unwrap();
                    let err = c.repo.get(c.bob, i.id).await.unwrap_err();
                    assert!(
                        matches!(
                            err,
                            CoreError::NotFound {
                                resource: Resource::Instance,
                                ..
                            }
                        ),
                        "{err:?}"
                    );
                    assert!(c.repo.get(c.alice, InstanceId::new()).await.is_err());
                    assert_eq!(c.repo.find(InstanceId::new()).await.unwrap(), None);
                    assert!(c.repo.list(c.bob, &all(10)).await.unwrap().is_empty());
                })
            },
        ),
        (
            "a live name is unique per owner; terminated names and other owners are free",
            |c| {
                Box::pin(async move {
                    let mut first = instance(c.alice, "web", 0);
                    c.repo.insert(&first).await.unwrap();
                    let err = c
                        .repo
                        .insert(&instance(c.alice, "web", 1))
                        .await
                        .unwrap_err();
                    assert!(
                        matches!(
                            err,
                            CoreError::Conflict {
                                kind: ConflictKind::AlreadyExists,
                                ..
                            }
                        ),
                        "{err:?}"
                    );
                    assert!(err.to_string().contains("web"), "{err}");
                    c.repo
                        .insert(&instance(c.bob, "web", 1))
                        .await
                        .expect("bob's own");
                    first.state = InstanceState::Terminated;
                    first.deleted_at = Some(t(2));
                    c.repo.update(&first).await.unwrap();
                    c.repo
                        .insert(&instance(c.alice, "web", 3))
                        .await
                        .expect("name free again");
                })
            },
        ),
        ("concurrent inserts of one name make exactly one row", |c| {
            Box::pin(async move {
                let (a, b) = (instance(c.alice, "twin", 0), instance(c.alice, "twin", 0));
                let (ra, rb) = tokio::join!(c.repo.insert(&a), c.repo.insert(&b));
                assert_eq!(
                    u8::from(ra.is_ok()) + u8::from(rb.is_ok()),
                    1,
                    "{ra:?} {rb:?}"
                );
                assert_eq!(c.repo.list(c.alice, &all(10)).await.unwrap().len(), 1);
            })
        }),
        ("update writes the mutable fields", |c| {
            Box::pin(async move {
                let mut i = instance(c.alice, "web", 0);
                c.repo.insert(&i).await.unwrap();
                i.state = InstanceState::Error;
                i.state_reason = Some("out of memory".into());
                i.exit_code = Some(137);
                i.container_id = Some("abc123".into());
                i.published_ports = vec![PublishedPort {
                    host_ip: "127.0.0.1".into(),
                    host_port: 32768,
                    container_port: 80,
                    protocol: Protocol::Tcp,
                }];
                i.updated_at = t(5);
                c.repo.update(&i).await.expect("updated");
                assert_eq!(c.repo.get(c.alice, i.id).await.unwrap(), i);
                let ghost = instance(c.alice, "ghost", 0);
                let err = c.repo.update(&ghost).await.unwrap_err();
                assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
            })
        }),
        (
            "lists are owner-scoped, ordered, paged, and hide terminated ones unless asked",
            |c| {
                Box::pin(async move {
                    let mut ids = Vec::new();
                    for n in 0..5 {
                        let i = instance(c.alice, &format!("i{n}"), 10 - n);
                        c.repo.insert(&i).await.unwrap();
                        ids.push(i.id);
                    }
                    ids.reverse(); // created_at runs backwards with n
                    c.repo.insert(&instance(c.bob, "other", 0)).await.unwrap();
                    let mut gone = c.repo.get(c.alice, ids[0]).await.unwrap();
                    gone.state = InstanceState::Terminated;
                    gone.deleted_at = Some(t(20));
                    c.repo.update(&gone).await.unwrap();

                    let listed = ids_listed(&c, &all(10)).await;
                    assert_eq!(listed, ids);
                    let live_ids = ids_listed(&c, &live(10)).await;
                    assert_eq!(live_ids, ids[1..]);
                    let page = c.repo.list(c.alice, &all(2)).await.unwrap();
                    assert_eq!(page.len(), 2);
                    let next = ListQuery {
                        after: Some(InstancePosition::of(&page[1])),
                        ..all(2)
                    };
                    let page2 = ids_listed(&c, &next).await;
                    assert_eq!(page2, ids[2..4]);
                    // The last row of a page removed before the next page is
                    // asked for (a failed launch): the list goes on after its
                    // place.
                    c.repo.delete(page[1].id).await.unwrap();
                    let page2_again = ids_listed(&c, &next).await;
                    assert_eq!(page2_again, ids[2..4], "after a deleted row");
                    // A place between two rows, with an id no row has.
                    let between = ListQuery {
                        after: Some(InstancePosition {
                            created_at: t(7) + Duration::milliseconds(500),
                            id: InstanceId::new(),
                        }),
                        ..all(10)
                    };
                    let rest = ids_listed(&c, &between).await;
                    assert_eq!(rest, ids[2..], "created at t(8), t(9), t(10)");
                    // Bob's rows are never on Alice's pages, wherever they
                    // start.
                    let from_start = ListQuery {
                        after: Some(InstancePosition {
                            created_at: t(-100),
                            id: InstanceId::new(),
                        }),
                        ..all(10)
                    };
                    let listed = c.repo.list(c.alice, &from_start).await.unwrap();
                    assert!(listed.iter().all(|i| i.owner == c.alice), "{listed:?}");
                    assert_eq!(listed.len(), 4, "alice's rows but the deleted one");
                    let live_all = c.repo.list_live().await.unwrap();
                    assert_eq!(
                        live_all.len(),
                        4,
                        "3 of alice's (one terminated, one deleted) and bob's"
                    );
                })
            },
        ),
        (
            "relabel sets the name and tags only while they are as expected",
            |c| {
                Box::pin(async move {
                    let i = instance(c.alice, "web", 0);
                    c.repo.insert(&i).await.unwrap();
                    let old = i.labels();
                    let mut new = old.clone();
                    new.name = "web-2".into();
                    new.tags.insert("team".into(), "ops".into());
                    new.tags.remove("env");
                    assert!(c.repo.relabel(i.id, &old, &new, t(5)).await.unwrap());
                    let got = c.repo.get(c.alice, i.id).await.unwrap();
                    assert_eq!((got.labels(), got.updated_at), (new.clone(), t(5)));
                    assert_eq!(got.env, i.env, "nothing else changes");
                    // A stale expectation writes nothing.
                    let mut other = old.clone();
                    other.tags.insert("x".into(), "y".into());
                    assert!(!c.repo.relabel(i.id, &old, &other, t(6)).await.unwrap());
                    assert_eq!(c.repo.get(c.alice, i.id).await.unwrap().labels(), new);
                    // A state update leaves the labels alone.
                    let mut moved = got.clone();
                    moved.state = InstanceState::Running;
                    moved.instance_type = "t3.large".into();
                    moved.name = "ignored".into();
                    moved.tags.clear();
                    c.repo.update(&moved).await.unwrap();
                    let got = c.repo.get(c.alice, i.id).await.unwrap();
                    assert_eq!(
                        (got.state, got.labels()),
                        (InstanceState::Running, new.clone())
                    );
                    assert_eq!(got.instance_type, "t3.large", "the type is updated");
                    // A name another live instance has is refused.
                    let db = instance(c.alice, "db", 1);
                    c.repo.insert(&db).await.unwrap();
                    let mut clash = db.labels();
                    clash.name = "web-2".into();
                    let err = c.repo.relabel(db.id, &db.labels(), &clash, t(7)).await;
                    assert!(
                        matches!(
                            err,
                            Err(CoreError::Conflict {
                                kind: ConflictKind::AlreadyExists,
                                ..
                            })
                        ),
                        "{err:?}"
                    );
                    assert_eq!(c.repo.get(c.alice, db.id).await.unwrap().name, "db");
                    // Unknown rows: nothing to set.
                    assert!(
                        !c.repo
                            .relabel(InstanceId::new(), &old, &new, t(8))
                            .await
                            .unwrap()
                    );
                })
            },
        ),
        (
            "a launch origin reads back, and a client token finds its launch in order",
            |c| {
                Box::pin(async move {
                    let token = |value: &str| {
                        Some(ClientToken {
                            value: value.into(),
                            digest: "digest".into(),
                        })
                    };
                    let mut first = instance(c.alice, "a", 0);
                    let mut second = instance(c.alice, "b", 0);
                    let origin = |index| {
                        Some(LaunchOrigin {
                            first: first.id,
                            index,
                            token: token("Tok-1"),
                        })
                    };
                    // Inserted out of launch order: the answer is in it.
                    second.origin = origin(1);
                    first.origin = origin(0);
                    c.repo.insert(&second).await.unwrap();
                    c.repo.insert(&first).await.unwrap();
                    let found = c.repo.find_by_client_token(c.alice, "Tok-1").await;
                    assert_eq!(found.unwrap(), vec![first.clone(), second.clone()]);
                    // Case-sensitive, and the owner's only.
                    assert!(
                        c.repo
                            .find_by_client_token(c.alice, "tok-1")
                            .await
                            .unwrap()
                            .is_empty()
                    );
                    assert!(
                        c.repo
                            .find_by_client_token(c.bob, "Tok-1")
                            .await
                            .unwrap()
                            .is_empty()
                    );
                    // A group without a token reads back too.
                    let mut grouped = instance(c.alice, "c", 1);
                    grouped.origin = Some(LaunchOrigin {
                        first: first.id,
                        index: 7,
                        token: None,
                    });
                    c.repo.insert(&grouped).await.unwrap();
                    assert_eq!(c.repo.get(c.alice, grouped.id).await.unwrap(), grouped);
                    // One token, one launch: a second instance at a taken
                    // place is refused, whatever its name.
                    let mut again = instance(c.alice, "d", 2);
                    again.origin = first.origin.clone();
                    let err = c.repo.insert(&again).await.unwrap_err();
                    assert!(
                        matches!(
                            &err,
                            CoreError::Conflict {
                                kind: ConflictKind::AlreadyExists,
                                message,
                            } if message.contains("client token")
                        ),
                        "{err:?}"
                    );
                    // Bob may use the same token.
                    let mut bobs = instance(c.bob, "a", 3);
                    bobs.origin = first.origin.clone();
                    c.repo.insert(&bobs).await.expect("another owner's token");
                })
            },
        ),
        (
            "a fixed host port is reserved for one live instance, whatever its state, until it is terminated or deleted",
            |c| {
                Box::pin(async move {
                    let mut a = instance(c.alice, "web", 0);
                    a.ports = PortMapping::parse_list(&["18091:80", "81"]).unwrap();
                    a.state = InstanceState::Stopped;
                    c.repo.insert(&a).await.unwrap();
                    let mut b = instance(c.bob, "squat", 1);
                    b.ports = PortMapping::parse_list(&["18091:8080"]).unwrap();
                    let err = c.repo.insert(&b).await.unwrap_err();
                    assert!(
                        matches!(
                            err,
                            CoreError::Conflict {
                                kind: ConflictKind::PortInUse,
                                ..
                            }
                        ),
                        "{err:?}"
                    );
                    let msg = err.to_string();
                    assert!(msg.contains("18091/tcp"), "names the port: {msg}");
                    assert!(
                        !msg.contains(&a.id.to_string())
                            && !msg.contains("web")
                            && !msg.contains(&c.alice.to_string()),
                        "says nothing of the holder: {msg}"
                    );
                    assert_eq!(c.repo.find(b.id).await.unwrap(), None, "nothing written");
                    // Alice's own second instance is refused the same way.
                    let mut a2 = instance(c.alice, "web-2", 1);
                    a2.ports = a.ports.clone();
                    assert!(c.repo.insert(&a2).await.is_err());
                    // The same port over UDP is another port; auto ports
                    // (81 here) are not reserved.
                    let mut udp = instance(c.bob, "udp", 1);
                    udp.ports = PortMapping::parse_list(&["18091:53/udp", "81"]).unwrap();
                    c.repo.insert(&udp).await.expect("another protocol");
                    // Its holder claims it again at no cost.
                    c.repo.reserve_host_ports(&a).await.expect("its own");
                    // Terminated: free.
                    a.state = InstanceState::Terminated;
                    a.deleted_at = Some(t(2));
                    c.repo.update(&a).await.unwrap();
                    c.repo.insert(&b).await.expect("free once terminated");
                    let err = c.repo.reserve_host_ports(&a).await.unwrap_err();
                    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
                    // Deleted (a failed launch): free.
                    c.repo.delete(b.id).await.unwrap();
                    let mut b2 = instance(c.bob, "squat-2", 3);
                    b2.ports = b.ports.clone();
                    c.repo.insert(&b2).await.expect("free once deleted");
                    // A row inserted terminated reserves nothing.
                    let mut gone = instance(c.alice, "gone", 4);
                    gone.ports = PortMapping::parse_list(&["18092:80"]).unwrap();
                    gone.state = InstanceState::Terminated;
                    gone.deleted_at = Some(t(4));
                    c.repo.insert(&gone).await.unwrap();
                    let mut next = instance(c.bob, "next", 5);
                    next.ports = gone.ports.clone();
                    c.repo.insert(&next).await.expect("not reserved");
                })
            },
        ),
        ("reserve_host_ports claims free ports, all or none", |c| {
            Box::pin(async move {
                let mut a = instance(c.alice, "a", 0);
                a.ports = PortMapping::parse_list(&["18200:80"]).unwrap();
                c.repo.insert(&a).await.unwrap();
                let mut b = instance(c.bob, "b", 1);
                b.ports = PortMapping::parse_list(&["18300:80"]).unwrap();
                c.repo.insert(&b).await.unwrap();
                // As if b had recorded 18100 (free) and 18200 (a's)
                // too, as a row from before reservations may.
                let mut wants = b.clone();
                wants.ports =
                    PortMapping::parse_list(&["18300:80", "18100:81", "18200:82"]).unwrap();
                let err = c.repo.reserve_host_ports(&wants).await.unwrap_err();
                assert!(
                    matches!(
                        err,
                        CoreError::Conflict {
                            kind: ConflictKind::PortInUse,
                            ..
                        }
                    ) && err.to_string().contains("18200/tcp"),
                    "{err:?}"
                );
                // 18100 was not kept.
                let mut other = instance(c.alice, "other", 2);
                other.ports = PortMapping::parse_list(&["18100:80"]).unwrap();
                c.repo.insert(&other).await.expect("18100 stayed free");
                c.repo.delete(other.id).await.unwrap();
                a.state = InstanceState::Terminated;
                a.deleted_at = Some(t(3));
                c.repo.update(&a).await.unwrap();
                c.repo
                    .reserve_host_ports(&wants)
                    .await
                    .expect("all free now");
                for port in ["18100:80", "18200:80", "18300:80"] {
                    let mut late = instance(c.alice, "late", 4);
                    late.ports = PortMapping::parse_list(&[port]).unwrap();
                    assert!(c.repo.insert(&late).await.is_err(), "{port} is b's");
                }
            })
        }),
        (
            "concurrent inserts of one host port make exactly one row",
            |c| {
                Box::pin(async move {
                    let mut a = instance(c.alice, "a", 0);
                    let mut b = instance(c.bob, "b", 0);
                    // Two ports each, in opposite orders: neither waits for the
                    // other forever.
                    a.ports = PortMapping::parse_list(&["18401:80", "18402:81"]).unwrap();
                    b.ports = PortMapping::parse_list(&["18402:80", "18401:81"]).unwrap();
                    let (ra, rb) = tokio::join!(c.repo.insert(&a), c.repo.insert(&b));
                    assert_eq!(
                        u8::from(ra.is_ok()) + u8::from(rb.is_ok()),
                        1,
                        "{ra:?} {rb:?}"
                    );
                    let lost = ra.err().or(rb.err()).unwrap();
                    assert!(
                        matches!(
                            lost,
                            CoreError::Conflict {
                                kind: ConflictKind::PortInUse,
                                ..
                            }
                        ),
                        "{lost:?}"
                    );
                    assert_eq!(c.repo.list_live().await.unwrap().len(), 1);
                })
            },
        ),
        ("delete removes the row; unknown ids are ignored", |c| {
            Box::pin(async move {
                let i = instance(c.alice, "web", 0);
                c.repo.insert(&i).await.unwrap();
                c.repo.delete(i.id).await.expect("deleted");
                assert_eq!(c.repo.find(i.id).await.unwrap(), None);
                c.repo
                    .delete(InstanceId::new())
                    .await
                    .expect("unknown is fine");
                c.repo
                    .insert(&instance(c.alice, "web", 1))
                    .await
                    .expect("name free");
            })
        }),
    ]
}

async fn ctx(db: &Database) -> Ctx {
    let identity = db.identity_repo();
    let mut owners = Vec::new();
    for name in ["alice", "bob"] {
        let user = User {
            id: UserId::new(),
            name: name.into(),
            created_at: t(0),
        };
        let key = NewApiKey {
            id: ApiKeyId::new(),
            user_id: user.id,
            name: KeyName::parse(name).expect("valid"),
            key_hash: format!("hash-{name}"),
            prefix: "mk_".into(),
            access_key_id: format!("AKIA{}", name.to_uppercase()),
            stored_secret: "s".into(),
            created_at: t(0),
        };
        identity
            .create_user_with_key(&user, &key)
            .await
            .expect("user");
        owners.push(user.id);
    }
    Ctx {
        repo: db.instance_repo(),
        alice: owners[0],
        bob: owners[1],
    }
}

#[tokio::test]
async fn instance_contract_on_sqlite() {
    for (description, case) in cases() {
        eprintln!("case: {description}");
        let fresh = common::sqlite(true).await;
        case(ctx(&fresh.db).await).await;
    }
}

#[tokio::test]
async fn instance_contract_on_postgres() {
    for (description, case) in cases() {
        eprintln!("case: {description}");
        let Some(fresh) = common::postgres(true).await else {
            return;
        };
        case(ctx(&fresh.db).await).await;
    }
}

/// Runs `sql` (no parameters: it must read the same on both backends).
async fn execute(db: &Database, sql: &str) {
    match db {
        Database::Postgres(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Database::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The reserved host ports as `(host port, protocol, instance id)`.
async fn reservations(db: &Database) -> Vec<(i64, String, String)> {
    let sql = "SELECT CAST(host_port AS BIGINT), protocol, CAST(instance_id AS TEXT)
                 FROM instance_host_ports ORDER BY 1, 2";
    match db {
        Database::Postgres(pool, _) => sqlx::query_as(sql).fetch_all(pool).await,
        Database::Sqlite(pool, _) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .expect("reservations read")
}

/// Migration 0027 on a database whose instances recorded one fixed host
/// port twice (the server let a launch take a stopped instance's port):
/// it must not fail; each port goes to a running instance, else the
/// oldest; the others claim it at their start, refused while the holder
/// lives. Terminated rows, ownerless seed rows, auto ports and malformed
/// entries reserve nothing.
async fn duplicates_survive_the_migration(db: &Database) {
    let c = ctx(db).await;
    let mut rows = Vec::new();
    for (name, at, state, gone) in [
        ("a", 0, InstanceState::Stopped, false),
        ("b", 1, InstanceState::Error, false),
        ("c", 2, InstanceState::Stopped, false),
        ("d", 3, InstanceState::Running, false),
        ("e", 4, InstanceState::Terminated, true),
        ("f", 5, InstanceState::Stopped, false),
    ] {
        let mut i = instance(c.alice, name, at);
        i.state = state;
        i.deleted_at = gone.then(|| t(at));
        c.repo.insert(&i).await.unwrap();
        rows.push(i);
    }
    // Down to 0026: 0027 and whatever was added after it.
    let newer = db
        .migration_status()
        .await
        .expect("status")
        .iter()
        .filter(|m| m.version >= 27 && m.state == MigrationState::Applied)
        .count();
    assert!(newer >= 1, "0027 is applied");
    db.migrate_down(newer).await.expect("down to 0026");
    for sql in [
        "UPDATE instances SET ports = '18091:80/tcp,53/udp' WHERE name IN ('a', 'b', 'e')",
        "UPDATE instances SET ports = '18092:80/tcp' WHERE name IN ('c', 'd')",
        "UPDATE instances SET ports = '18093:80/UDP,81/tcp,x:80,123456:80,:80,18094:y' \
         WHERE name = 'f'",
        "INSERT INTO instances (id, name, image, status, ports) \
         VALUES ('0b7a2a52-8f65-4d0e-9d0a-3c8f6c1d2e3f', 'seed', 'img', 'STOPPED', '18095:80')",
    ] {
        execute(db, sql).await;
    }
    db.migrate_up().await.expect("0027 applies over duplicates");
    let id = |n: usize| rows[n].id.to_string();
    assert_eq!(
        reservations(db).await,
        vec![
            (18091, "tcp".to_owned(), id(0)),
            (18092, "tcp".to_owned(), id(3)),
            (18093, "udp".to_owned(), id(5)),
        ],
        "the oldest of a and b, the running d, f's one good entry"
    );
    // b recorded 18091 but does not hold it: its start cannot claim it
    // while a lives, and can once a is terminated.
    let b = c.repo.get(c.alice, rows[1].id).await.unwrap();
    let err = c.repo.reserve_host_ports(&b).await.unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::Conflict {
                kind: ConflictKind::PortInUse,
                ..
            }
        ),
        "{err:?}"
    );
    let mut a = c.repo.get(c.alice, rows[0].id).await.unwrap();
    c.repo
        .reserve_host_ports(&a)
        .await
        .expect("a holds its port");
    a.state = InstanceState::Terminated;
    a.deleted_at = Some(t(9));
    c.repo.update(&a).await.unwrap();
    c.repo.reserve_host_ports(&b).await.expect("free now");
    assert_eq!(reservations(db).await[0], (18091, "tcp".to_owned(), id(1)));
}

#[tokio::test]
async fn duplicate_ports_survive_the_migration_on_sqlite() {
    let fresh = common::sqlite(true).await;
    duplicates_survive_the_migration(&fresh.db).await;
}

#[tokio::test]
async fn duplicate_ports_survive_the_migration_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    duplicates_survive_the_migration(&fresh.db).await;
}
