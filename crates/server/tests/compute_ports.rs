//! Fixed host ports are reserved for their instance until it is
//! terminated, stopped or not (against the real Docker daemon, on SQLite
//! and Postgres): another launch naming one is 409 `PORT_CONFLICT`
//! (natively and through EC2's RunInstances), the owner's start works and
//! serves the owner's container, a terminate frees the port, and of
//! concurrent launches on one port exactly one wins.

mod compute_support;

use compute_support::{
    ContainerGuard, Ec2Cli, api_err, containers_of, docker, free_port, launch, server,
};
use miniaws_client::{Client, Instance, LaunchInstance};
use miniaws_testkit::{Backend, require_tool};
use std::time::Duration;

/// A busybox httpd on container port 80, published on host `port`,
/// serving a page that says `says`.
fn web(name: &str, image: &str, port: u16, says: &str) -> LaunchInstance {
    let script = format!("mkdir -p /w && echo {says} > /w/index.html && httpd -f -p 80 -h /w");
    LaunchInstance {
        ports: vec![format!("{port}:80")],
        ..launch(name, image, &["sh", "-c", &script])
    }
}

/// What `http://127.0.0.1:port/` serves, retried for a few seconds while
/// the httpd comes up.
async fn page(port: u16) -> String {
    let url = format!("http://127.0.0.1:{port}/");
    let mut last = String::new();
    for _ in 0..50 {
        match reqwest::get(&url).await {
            Ok(r) if r.status().is_success() => return r.text().await.expect("a body"),
            Ok(r) => last = r.status().to_string(),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered: {last}");
}

/// Checks a refusal for host port `port` that says nothing of `holder`
/// or its `owner`.
fn assert_reserved(message: &str, port: u16, holder: &Instance, owner: uuid::Uuid) {
    assert!(
        message.contains(&port.to_string()),
        "names the port: {message}"
    );
    assert!(message.contains("reserved"), "{message}");
    for secret in [
        holder.id.to_string(),
        holder.ec2_instance_id.clone(),
        owner.to_string(),
    ] {
        assert!(!message.contains(&secret), "leaks {secret}: {message}");
    }
    assert!(
        !message.contains(&holder.name),
        "leaks the holder's name: {message}"
    );
}

/// The probe's reproduction (F1): Alice stops her instance on a fixed
/// port; Bob's launch on it (natively, and with EC2's `miniaws:ports`)
/// is refused and leaves nothing; Alice's start works and her URL serves
/// her page. Then a terminate frees the port for Bob.
async fn a_stopped_instance_keeps_its_port(backend: Backend) {
    let Some((server, image)) = server(backend).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (alice, alice_id) = guard.user(&server, "alice").await;
    let (bob, bob_key, bob_aws) = guard.aws_user(&server, "bob").await;
    let port = free_port();

    let a = alice
        .launch_instance(&web("a-web", &image, port, "ALICE"))
        .await
        .expect("alice's launch");
    assert_eq!(page(port).await.trim(), "ALICE");
    let a = alice.stop_instance(a.id).await.expect("stop");
    assert_eq!(a.state, "STOPPED");
    assert_eq!(a.ports[0].host_port, Some(port), "the mapping stays");

    let (status, kind, message) = api_err(
        bob.launch_instance(&web("squat", &image, port, "BOB-IMPOSTOR"))
            .await,
    );
    assert_eq!((status, kind.as_str()), (409, "PORT_CONFLICT"), "{message}");
    assert_reserved(&message, port, &a, alice_id);
    // Alice's own second instance too: the port is the stopped one's.
    let (status, kind, _) = api_err(
        alice
            .launch_instance(&web("a-two", &image, port, "ALICE-2"))
            .await,
    );
    assert_eq!((status, kind.as_str()), (409, "PORT_CONFLICT"));
    if let Some(cli) = require_tool("MINIAWS_TEST_AWS_CLI") {
        let tags = format!(
            "ResourceType=instance,Tags=[{{Key=Name,Value=squat-ec2}},\
             {{Key=miniaws:ports,Value={port}:80}}]"
        );
        let err = bob_aws
            .ec2_fails(
                &cli,
                "InvalidParameterValue",
                &[
                    "run-instances",
                    "--image-id",
                    &image,
                    "--tag-specifications",
                    &tags,
                ],
            )
            .await;
        assert_reserved(&err, port, &a, alice_id);
    }
    assert!(
        bob.list_instances(true).await.expect("list").is_empty(),
        "no row for bob's refused launches"
    );
    assert!(
        containers_of(&bob_key.user_id.to_string()).is_empty(),
        "no container for them either"
    );

    let a = alice.start_instance(a.id).await.expect("alice's start");
    assert_eq!(a.state, "RUNNING");
    assert_eq!(page(port).await.trim(), "ALICE", "her URL serves her page");

    // Terminated (from running): the port is free, for anyone.
    alice.terminate_instance(a.id).await.expect("terminate");
    let b = bob
        .launch_instance(&web("squat", &image, port, "BOB"))
        .await
        .expect("free once terminated");
    assert_eq!(page(port).await.trim(), "BOB");
    bob.terminate_instance(b.id).await.expect("terminate");
}

#[tokio::test]
async fn a_stopped_instance_keeps_its_port_on_sqlite() {
    a_stopped_instance_keeps_its_port(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_stopped_instance_keeps_its_port_on_postgres() {
    a_stopped_instance_keeps_its_port(Backend::Postgres).await;
}

/// Six launches by two users on one host port at once: exactly one wins,
/// the others are 409 `PORT_CONFLICT` and leave no row or container, and
/// the winner holds the port while stopped (the losers left no claim:
/// once it is terminated, the port is free).
async fn concurrent_launches_on_one_port(backend: Backend) {
    let Some((server, image)) = server(backend).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (alice, alice_id) = guard.user(&server, "alice").await;
    let (bob, bob_id) = guard.user(&server, "bob").await;
    let port = free_port();
    let try_launch = |client: Client, name: String| {
        let image = image.clone();
        async move {
            client
                .launch_instance(&web(&name, &image, port, &name))
                .await
        }
    };
    let mut tasks = Vec::new();
    for n in 0..6 {
        let client = if n % 2 == 0 {
            alice.clone()
        } else {
            bob.clone()
        };
        tasks.push(tokio::spawn(try_launch(client, format!("racer-{n}"))));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("the task ran") {
            Ok(inst) => winners.push(inst),
            Err(e) => {
                let (status, kind, message) = api_err::<()>(Err(e));
                assert_eq!((status, kind.as_str()), (409, "PORT_CONFLICT"), "{message}");
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one launch wins: {winners:?}");
    let winner = winners.remove(0);
    let mut rows = alice.list_instances(true).await.expect("list");
    rows.extend(bob.list_instances(true).await.expect("list"));
    assert_eq!(rows.len(), 1, "no row for a lost launch: {rows:?}");
    let containers = [
        containers_of(&alice_id.to_string()),
        containers_of(&bob_id.to_string()),
    ]
    .concat();
    assert_eq!(containers.len(), 1, "no container for a lost launch");
    assert_eq!(page(port).await.trim(), winner.name);

    let owner = if alice.get_instance(winner.id).await.is_ok() {
        &alice
    } else {
        &bob
    };
    owner.stop_instance(winner.id).await.expect("stop");
    let (status, kind, _) = api_err(
        alice
            .launch_instance(&web("late", &image, port, "LATE"))
            .await,
    );
    assert_eq!((status, kind.as_str()), (409, "PORT_CONFLICT"));
    owner
        .terminate_instance(winner.id)
        .await
        .expect("terminate");
    let late = alice
        .launch_instance(&web("late", &image, port, "LATE"))
        .await
        .expect("free once the winner is terminated");
    assert_eq!(
        docker(&[
            "port",
            late.container_id.as_deref().expect("a container"),
            "80/tcp"
        ]),
        format!("127.0.0.1:{port}")
    );
    alice.terminate_instance(late.id).await.expect("terminate");
}

#[tokio::test]
async fn concurrent_launches_on_one_port_on_sqlite() {
    concurrent_launches_on_one_port(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_launches_on_one_port_on_postgres() {
    concurrent_launches_on_one_port(Backend::Postgres).await;
}
