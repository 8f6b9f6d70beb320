//! Compute through the HTTP API against the real Docker daemon (SQLite).
//! Every test removes its containers through a guard, also on failure.

mod compute_support;

use compute_support::{
    ContainerGuard, SLEEP, api_err, container_exists, containers_of, docker, free_port, launch,
    server, wait_for,
};
use futures::StreamExt;
use miniaws_client::{Command, LaunchInstance, LogsOptions};
use miniaws_testkit::{Backend, TestServer};
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

#[tokio::test]
async fn lifecycle_on_sqlite() {
    compute_support::core_lifecycle(Backend::Sqlite).await;
}

#[tokio::test]
async fn httpd_serves_through_the_published_port_with_env_and_limits() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, owner) = guard.user(&server, "web").await;
    let port = free_port();
    let mut env = BTreeMap::new();
    env.insert("GREETING".to_owned(), "hello from env".to_owned());
    let inst = client
        .launch_instance(&LaunchInstance {
            name: "web".into(),
            image: image.clone(),
            ports: vec![format!("{port}:80"), "81".into()],
            env,
            instance_type: Some("t3.nano".into()),
            command: Some(Command::Args(vec![
                "sh".into(),
                "-c".into(),
                "mkdir -p /www && echo \"$GREETING\" > /www/index.html && exec httpd -f -p 80 -h /www".into(),
            ])),
            tags: Default::default(),
        })
        .await
        .expect("launch");
    assert_eq!(inst.state, "RUNNING");
    assert_eq!(inst.instance_type, "t3.nano");
    let url = format!("http://127.0.0.1:{port}");
    assert!(inst.urls.contains(&url), "{:?}", inst.urls);
    let auto = inst
        .ports
        .iter()
        .find(|p| p.container_port == 81)
        .and_then(|p| p.host_port)
        .expect("the auto-assigned host port is reported");
    assert_ne!(auto, 0);

    // httpd may need a moment to bind inside the container.
    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(res) = reqwest::get(format!("{url}/index.html")).await {
            body = res.text().await.unwrap_or_default();
            if !body.is_empty() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body.trim(), "hello from env");

    let cid = inst.container_id.clone().expect("container");
    let inspected = docker(&[
        "inspect",
        "-f",
        "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.Init}} {{index .Config.Labels \"miniaws.owner\"}} {{index .Config.Labels \"miniaws.instance-id\"}} {{(index (index .HostConfig.PortBindings \"80/tcp\") 0).HostIp}}",
        &cid,
    ]);
    assert_eq!(
        inspected,
        format!(
            "2000000000 536870912 4096 true {owner} {} 127.0.0.1",
            inst.id
        )
    );
    assert!(docker(&["inspect", "-f", "{{.Name}}", &cid]).starts_with("/miniaws-web-"));

    let types = client.instance_types().await.expect("types");
    assert_eq!(types.len(), 14);
    assert!(types.iter().any(|t| t.name == "t3.micro" && t.default));
    assert!(types.iter().any(|t| t.name == "t2.micro" && !t.default));
}

#[tokio::test]
async fn logs_tail_and_follow_show_what_the_container_printed() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "logs").await;
    let inst = client
        .launch_instance(&launch(
            "talker",
            &image,
            &[
                "sh",
                "-c",
                "echo one; echo two; echo three >&2; sleep 2; echo four; exec sleep 3600",
            ],
        ))
        .await
        .expect("launch");

    let mut follow = Box::pin(
        client
            .instance_logs_stream(
                inst.id,
                &LogsOptions {
                    follow: true,
                    ..LogsOptions::default()
                },
            )
            .await
            .expect("follow"),
    );
    let mut seen = String::new();
    let waited = tokio::time::timeout(Duration::from_secs(15), async {
        while !seen.contains("four") {
            match follow.next().await {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk.expect("chunk"))),
                None => break,
            }
        }
    })
    .await;
    assert!(
        waited.is_ok() && seen.contains("four"),
        "followed: {seen:?}"
    );
    for line in ["one", "two", "three"] {
        assert!(
            seen.contains(line),
            "stdout and stderr both stream: {seen:?}"
        );
    }

    let all = client
        .instance_logs(inst.id, &LogsOptions::default())
        .await
        .expect("logs");
    assert_eq!(all.lines().count(), 4, "{all:?}");
    let last = client
        .instance_logs(
            inst.id,
            &LogsOptions {
                tail: Some(1),
                ..LogsOptions::default()
            },
        )
        .await
        .expect("tail");
    assert_eq!(last, "four\n");
    // `since` a time to come, past Docker's 32-bit seconds too: nothing yet.
    for since in [
        OffsetDateTime::now_utc().unix_timestamp() + 3600,
        4_070_908_800, // 2099-01-01
    ] {
        let none = client
            .instance_logs(
                inst.id,
                &LogsOptions {
                    since_unix: Some(since),
                    ..LogsOptions::default()
                },
            )
            .await
            .expect("logs since");
        assert_eq!(none, "", "since {since}");
    }

    // The followed stream ends when the container stops.
    client.stop_instance(inst.id).await.expect("stop");
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = follow.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the follow stream ends after stop");
    client.terminate_instance(inst.id).await.expect("terminate");
    assert_eq!(
        api_err(client.instance_logs(inst.id, &LogsOptions::default()).await).0,
        409
    );
}

#[tokio::test]
async fn changes_behind_our_back_are_reflected() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "chaos").await;
    let killed = client
        .launch_instance(&launch("killed", &image, SLEEP))
        .await
        .expect("launch");
    let removed = client
        .launch_instance(&launch("removed", &image, SLEEP))
        .await
        .expect("launch");
    let exits = client
        .launch_instance(&launch("exits", &image, &["sh", "-c", "sleep 1; exit 3"]))
        .await
        .expect("launch");

    docker(&["kill", killed.container_id.as_deref().expect("cid")]);
    docker(&["rm", "-f", removed.container_id.as_deref().expect("cid")]);

    let k = wait_for(&client, killed.id, 10, "STOPPED", |i| i.state == "STOPPED").await;
    assert_eq!(k.exit_code, Some(137));
    let disappeared = |i: &miniaws_client::Instance| {
        i.state_reason
            .as_deref()
            .unwrap_or("")
            .contains("container disappeared")
    };
    let r = wait_for(&client, removed.id, 10, "ERROR", |i| i.state == "ERROR").await;
    assert!(disappeared(&r), "{r:?}");
    let e = wait_for(&client, exits.id, 10, "STOPPED", |i| i.state == "STOPPED").await;
    assert_eq!(e.exit_code, Some(3));
    assert!(
        e.state_reason.as_deref().unwrap_or("").contains("code 3"),
        "{e:?}"
    );

    // The ones that still have a container can be started again.
    assert_eq!(
        client.start_instance(killed.id).await.expect("start").state,
        "RUNNING"
    );
    let (status, _, message) = api_err(client.start_instance(removed.id).await);
    assert_eq!(status, 409, "{message}");
    // The failed start leaves the reason as it was, not "interrupted".
    let r = client.get_instance(removed.id).await.expect("get");
    assert_eq!(r.state, "ERROR");
    assert!(disappeared(&r), "{r:?}");
}

/// A stop waiting out its grace period holds its instance's lock that
/// long; the changes behind Mini AWS's back to other instances are still
/// reflected meanwhile (their events and the resyncs do not queue behind
/// it).
#[tokio::test]
async fn a_slow_stop_holds_up_no_other_instance() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let Some(server) = TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "8", "--resync-interval-secs", "1"],
        &[],
    )
    .await
    else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "slowstop").await;
    let stubborn = client
        .launch_instance(&launch(
            "stubborn",
            &image,
            &["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
        ))
        .await
        .expect("launch");
    let other = client
        .launch_instance(&launch("other", &image, SLEEP))
        .await
        .expect("launch");
    let stop = tokio::spawn({
        let client = client.clone();
        async move { client.stop_instance(stubborn.id).await }
    });
    // The stop is under way (SIGTERM sent, its grace running) once the
    // instance shows STOPPING.
    wait_for(&client, stubborn.id, 10, "STOPPING", |i| {
        i.state == "STOPPING"
    })
    .await;
    docker(&["kill", other.container_id.as_deref().expect("cid")]);
    let o = wait_for(&client, other.id, 10, "STOPPED", |i| i.state == "STOPPED").await;
    assert_eq!(o.exit_code, Some(137));
    assert!(
        !stop.is_finished(),
        "the other instance was settled while the stop still waited"
    );
    let stopped = stop.await.expect("join").expect("stop");
    assert_eq!(stopped.state, "STOPPED");
}

#[tokio::test]
async fn bad_launches_fail_cleanly_and_leave_nothing_behind() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, owner) = guard.user(&server, "careful").await;

    let missing = "miniaws-test/absent:latest";
    let (status, kind, message) = api_err(
        client
            .launch_instance(&launch("ghost", missing, SLEEP))
            .await,
    );
    assert_eq!((status, kind.as_str()), (404, "NOT_FOUND"));
    assert!(
        message.contains(missing) && message.contains("cannot be pulled"),
        "{message}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let (status, kind, message) = api_err(
        client
            .launch_instance(&LaunchInstance {
                ports: vec![format!("{port}:80")],
                ..launch("clash", &image, SLEEP)
            })
            .await,
    );
    assert_eq!((status, kind.as_str()), (409, "PORT_CONFLICT"), "{message}");
    assert!(
        message.contains(&port.to_string()),
        "names the port: {message}"
    );
    drop(taken);

    let invalid: Vec<(&str, LaunchInstance)> = vec![
        ("bad name", launch("no spaces", &image, SLEEP)),
        (
            "bad port",
            LaunchInstance {
                ports: vec!["99999:80".into()],
                ..launch("p", &image, SLEEP)
            },
        ),
        (
            "eleven ports",
            LaunchInstance {
                ports: (81..=91).map(|p| p.to_string()).collect(),
                ..launch("p", &image, SLEEP)
            },
        ),
        (
            "unknown type",
            LaunchInstance {
                instance_type: Some("m5.huge".into()),
                ..launch("p", &image, SLEEP)
            },
        ),
    ];
    for (desc, body) in invalid {
        let (status, kind, _) = api_err(client.launch_instance(&body).await);
        assert_eq!((status, kind.as_str()), (400, "INVALID_INPUT"), "{desc}");
    }

    assert!(client.list_instances(true).await.expect("list").is_empty());
    assert!(
        containers_of(&owner.to_string()).is_empty(),
        "no container left"
    );
}

#[tokio::test]
async fn owners_are_isolated_and_names_are_unique() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (alice, _) = guard.user(&server, "alice").await;
    let (bob, _) = guard.user(&server, "bob").await;

    let twin = launch("twin", &image, SLEEP);
    let (a, b) = tokio::join!(alice.launch_instance(&twin), alice.launch_instance(&twin));
    let (winner, loser) = match (a, b) {
        (Ok(i), Err(e)) | (Err(e), Ok(i)) => (i, e),
        other => panic!("exactly one launch wins: {other:?}"),
    };
    assert_eq!(loser.status().map(|s| s.as_u16()), Some(409));
    assert_eq!(alice.list_instances(false).await.expect("list").len(), 1);

    let id = winner.id;
    assert_eq!(api_err(bob.get_instance(id).await).0, 404);
    assert_eq!(api_err(bob.stop_instance(id).await).0, 404);
    assert_eq!(api_err(bob.terminate_instance(id).await).0, 404);
    assert_eq!(
        api_err(bob.instance_logs(id, &LogsOptions::default()).await).0,
        404
    );
    assert!(bob.list_instances(true).await.expect("list").is_empty());
    // Bob may use the same name.
    bob.launch_instance(&launch("twin", &image, SLEEP))
        .await
        .expect("bob's own twin");
    assert_eq!(alice.get_instance(id).await.expect("get").state, "RUNNING");
}

/// Each owner's instances share a network of their own: they reach each
/// other by their private addresses, another owner's instances do not
/// (on Docker's shared bridge they did, published port or not). The
/// network goes with its owner's last container.
#[tokio::test]
async fn owners_networks_are_apart() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (alice, alice_id) = guard.user(&server, "net-alice").await;
    let (mallory, _) = guard.user(&server, "net-mallory").await;
    let web = alice
        .launch_instance(&launch(
            "web",
            &image,
            &["httpd", "-f", "-p", "80", "-h", "/"],
        ))
        .await
        .expect("launch web");
    let ip = web.private_ip.clone().expect("a private address");
    let fetch = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} 80"),
    ];
    let sibling = alice
        .launch_instance(&launch("sibling", &image, SLEEP))
        .await
        .expect("launch sibling");
    let outsider = mallory
        .launch_instance(&launch("outsider", &image, SLEEP))
        .await
        .expect("launch outsider");
    let exec = |command: Vec<String>| miniaws_client::ExecCommand {
        command: Command::Args(command),
        ..miniaws_client::ExecCommand::default()
    };
    let own = alice
        .exec_instance(sibling.id, &exec(fetch.clone()))
        .await
        .expect("exec");
    assert!(
        own.stdout.starts_with("HTTP/1."),
        "the owner's own instance: {own:?}"
    );
    let other = mallory
        .exec_instance(outsider.id, &exec(fetch))
        .await
        .expect("exec");
    assert!(
        !other.stdout.contains("HTTP/1."),
        "another owner's instance reached it: {other:?}"
    );
    let network = miniaws_docker::network_name(&alice_id.to_string());
    let networks = || {
        docker(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{network}$"),
        ])
    };
    assert!(!networks().trim().is_empty(), "alice's network exists");
    for id in [web.id, sibling.id] {
        alice.terminate_instance(id).await.expect("terminate");
    }
    assert!(
        networks().trim().is_empty(),
        "alice's network went with her last instance"
    );
}

/// Whether `owner`'s network exists.
fn has_network(owner: uuid::Uuid) -> bool {
    let network = miniaws_docker::network_name(&owner.to_string());
    let filter = format!("name=^{network}$");
    !docker(&["network", "ls", "-q", "--filter", &filter])
        .trim()
        .is_empty()
}

/// Polls until `owner`'s network is gone (up to ten seconds).
async fn network_goes(owner: uuid::Uuid, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while has_network(owner) {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An owner's network outlives the server run that made it. After a
/// restart, terminating the owner's last instance still removes it; a
/// network whose last container went while the server was down (by hand,
/// or a crash between a removal and its prune) goes at the restarted
/// server's first resync; and another server's network, empty too, is not
/// touched until that server itself comes back.
#[tokio::test]
async fn networks_left_by_an_earlier_run_are_tidied() {
    let Some((mut server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let Some((mut other, _)) = compute_support::server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (alice, alice_key) = server.user("tidy-alice").await;
    let (dave, dave_key) = server.user("tidy-dave").await;
    let (carol, carol_key) = other.user("tidy-carol").await;
    for key in [&alice_key, &dave_key, &carol_key] {
        guard.watch(key.user_id);
    }
    let web = alice
        .launch_instance(&launch("web", &image, SLEEP))
        .await
        .expect("launch web");
    let mut removed_by_hand = Vec::new();
    for (client, name) in [(&dave, "job"), (&carol, "hers")] {
        let inst = client
            .launch_instance(&launch(name, &image, SLEEP))
            .await
            .expect("launch");
        removed_by_hand.push(inst.container_id.expect("a container"));
    }
    server.stop().await;
    other.stop().await;
    for container in &removed_by_hand {
        docker(&["rm", "-f", container]);
    }
    for owner in [alice_key.user_id, dave_key.user_id, carol_key.user_id] {
        assert!(
            has_network(owner),
            "every network outlives its server's run"
        );
    }

    server.restart().await;
    network_goes(
        dave_key.user_id,
        "an empty network the server left goes at its first resync",
    )
    .await;
    assert!(has_network(alice_key.user_id), "a network in use stays");
    assert!(
        has_network(carol_key.user_id),
        "another server's network is not this server's to remove"
    );
    let alice = server.client().with_api_key(alice_key.key.clone());
    alice.terminate_instance(web.id).await.expect("terminate");
    assert!(
        !has_network(alice_key.user_id),
        "the network went with the last instance, made by the earlier run"
    );

    other.restart().await;
    network_goes(
        carol_key.user_id,
        "the other server tidies its own network when it comes back",
    )
    .await;
}

#[tokio::test]
async fn a_restarted_server_keeps_and_reconciles_state() {
    let Some((mut server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("survivor").await;
    guard.watch(key.user_id);
    let steady = client
        .launch_instance(&launch("steady", &image, SLEEP))
        .await
        .expect("launch");
    let victim = client
        .launch_instance(&launch("victim", &image, SLEEP))
        .await
        .expect("launch");

    server.kill().await;
    docker(&["kill", victim.container_id.as_deref().expect("cid")]);
    server.restart().await;

    // The restarted server listens on a new port: same key, new address.
    let client = server.client().with_api_key(key.key.clone());
    let v = wait_for(&client, victim.id, 10, "STOPPED", |i| i.state == "STOPPED").await;
    assert_eq!(v.exit_code, Some(137));
    let s = client.get_instance(steady.id).await.expect("get");
    assert_eq!(s.state, "RUNNING");
    assert!(container_exists(s.container_id.as_deref().expect("cid")));
    assert_eq!(
        client.stop_instance(steady.id).await.expect("stop").state,
        "STOPPED"
    );
}

/// A server killed while stops wait out their grace period comes back
/// and finishes them: the rows end STOPPED "stopped by request", not
/// RUNNING (EC2 never turns a stopping instance back to running) nor
/// "exited with code 137". One container Docker stopped meanwhile (its
/// own stop ran to the SIGKILL); the other was started again behind our
/// back, as a stop Docker dropped would leave it.
#[tokio::test]
async fn stops_cut_by_a_crash_are_finished_after_the_restart() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let Some(mut server) =
        TestServer::start_with(Backend::Sqlite, &["--stop-grace-secs", "2"], &[]).await
    else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("cutstop").await;
    guard.watch(key.user_id);
    let stubborn = ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"];
    let mut stopping = Vec::new();
    for name in ["halted", "restarted"] {
        let inst = client
            .launch_instance(&launch(name, &image, &stubborn))
            .await
            .expect("launch");
        tokio::spawn({
            let client = client.clone();
            async move { client.stop_instance(inst.id).await }
        });
        wait_for(&client, inst.id, 10, "STOPPING", |i| i.state == "STOPPING").await;
        stopping.push(inst);
    }
    server.kill().await;
    let cids: Vec<&str> = stopping
        .iter()
        .map(|i| i.container_id.as_deref().expect("cid"))
        .collect();
    for cid in &cids {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while docker(&["inspect", "-f", "{{.State.Running}}", cid]).trim() == "true" {
            assert!(
                std::time::Instant::now() < deadline,
                "Docker finishes its stop"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    docker(&["start", cids[1]]);
    server.restart().await;

    let client = server.client().with_api_key(key.key.clone());
    for inst in &stopping {
        let done = wait_for(&client, inst.id, 15, "STOPPED", |i| i.state != "STOPPING").await;
        assert_eq!(
            (done.state.as_str(), done.state_reason.as_deref()),
            ("STOPPED", Some("stopped by request")),
            "{}",
            inst.name
        );
    }
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", cids[1]]).trim(),
        "false",
        "the container started behind our back is stopped again"
    );
}

/// Stops cut short by a crash are finished side by side: six stubborn
/// containers (SIGTERM ignored, so each stop waits out its whole grace
/// period) left running behind `STOPPING` rows cost the start-up resync
/// about one grace period, not six one after another.
#[tokio::test]
async fn the_resync_finishes_stops_cut_by_a_crash_side_by_side() {
    const STUCK: u64 = 6;
    const GRACE_SECS: u64 = 4;
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let grace = GRACE_SECS.to_string();
    let Some(mut server) =
        TestServer::start_with(Backend::Sqlite, &["--stop-grace-secs", &grace], &[]).await
    else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("manystops").await;
    guard.watch(key.user_id);
    let stubborn = ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"];
    let mut stopping = Vec::new();
    for n in 0..STUCK {
        let inst = client
            .launch_instance(&launch(&format!("stuck{n}"), &image, &stubborn))
            .await
            .expect("launch");
        stopping.push(inst);
    }
    for inst in &stopping {
        tokio::spawn({
            let (client, id) = (client.clone(), inst.id);
            async move { client.stop_instance(id).await }
        });
    }
    for inst in &stopping {
        wait_for(&client, inst.id, 10, "STOPPING", |i| i.state == "STOPPING").await;
    }
    server.kill().await;
    let cids: Vec<&str> = stopping
        .iter()
        .map(|i| i.container_id.as_deref().expect("cid"))
        .collect();
    // Docker carries on with the stops the dead server asked for; once
    // they are done, the containers are started again, as stops Docker
    // dropped would have left them.
    let deadline = std::time::Instant::now() + Duration::from_secs(GRACE_SECS + 15);
    while cids
        .iter()
        .any(|cid| docker(&["inspect", "-f", "{{.State.Running}}", cid]).trim() == "true")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "Docker finishes its stops"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut start = vec!["start"];
    start.extend(&cids);
    docker(&start);

    let began = std::time::Instant::now();
    server.restart().await;
    let client = server.client().with_api_key(key.key.clone());
    // One after another they would take STUCK × GRACE_SECS (24 s).
    let bound = STUCK * GRACE_SECS / 2;
    for inst in &stopping {
        let done = wait_for(&client, inst.id, bound, "STOPPED", |i| {
            i.state != "STOPPING"
        })
        .await;
        assert_eq!(
            (done.state.as_str(), done.state_reason.as_deref()),
            ("STOPPED", Some("stopped by request")),
            "{}",
            inst.name
        );
    }
    let took = began.elapsed();
    assert!(
        took < Duration::from_secs(bound),
        "{STUCK} stops of {GRACE_SECS} s took {took:?}: not side by side"
    );
    for cid in &cids {
        assert_eq!(
            docker(&["inspect", "-f", "{{.State.Running}}", cid]).trim(),
            "false",
            "every container is stopped again"
        );
    }
}

/// A container paused behind Mini AWS's back (`docker pause`) keeps its
/// instance `RUNNING` (EC2 has no paused state) but the instance says so
/// in its reason, from the pause event and from a resync after a restart
/// too; unpaused, the reason goes.
#[tokio::test]
async fn a_container_paused_behind_our_back_is_reported() {
    let Some((mut server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("pauser").await;
    guard.watch(key.user_id);
    let inst = client
        .launch_instance(&launch("frozen", &image, SLEEP))
        .await
        .expect("launch");
    let cid = inst.container_id.clone().expect("cid");
    let paused = |i: &miniaws_client::Instance| {
        i.state == "RUNNING"
            && i.state_reason
                .as_deref()
                .is_some_and(|r| r.contains("paused"))
    };
    docker(&["pause", &cid]);
    wait_for(&client, inst.id, 10, "RUNNING and paused", paused).await;
    docker(&["unpause", &cid]);
    let i = wait_for(&client, inst.id, 10, "unpaused", |i| {
        i.state_reason.is_none()
    })
    .await;
    assert_eq!(i.state, "RUNNING");

    // Paused while the server is down, long enough ago that the event
    // replay misses it: the resync finds it.
    server.kill().await;
    docker(&["pause", &cid]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.restart().await;
    let client = server.client().with_api_key(key.key.clone());
    wait_for(&client, inst.id, 10, "RUNNING and paused", paused).await;
    docker(&["unpause", &cid]);
    wait_for(&client, inst.id, 10, "unpaused", |i| {
        i.state_reason.is_none()
    })
    .await;
}

/// Docker gives a restarted container a new auto-assigned host port. One
/// restarted while the server was down (a reboot the crash cut, or someone
/// behind our back), long enough ago that the event replay misses it, is
/// still listed as running like its row says: the resync must still see
/// that the port moved, or the row keeps advertising a dead URL.
#[tokio::test]
async fn a_host_port_reassigned_while_the_server_was_down_is_reported() {
    let Some((mut server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("moved").await;
    guard.watch(key.user_id);
    let mut request = launch("moved", &image, SLEEP);
    request.ports = vec!["80".into()];
    let inst = client.launch_instance(&request).await.expect("launch");
    let cid = inst.container_id.clone().expect("cid");
    let host_port = |cid: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}",
            cid,
        ])
        .parse::<u16>()
        .expect("a published host port")
    };
    let before = host_port(&cid);
    assert_eq!(inst.ports[0].host_port, Some(before));

    server.kill().await;
    docker(&["restart", "-t", "1", &cid]);
    let after = host_port(&cid);
    assert_ne!(
        after, before,
        "Docker reassigns an auto host port on restart"
    );
    // Out of the window of events the restarted server replays (it asks
    // for those since a second before it subscribed, in whole seconds).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.restart().await;

    let client = server.client().with_api_key(key.key.clone());
    let i = wait_for(&client, inst.id, 10, "the new host port", |i| {
        i.ports[0].host_port == Some(after)
    })
    .await;
    assert_eq!(i.state, "RUNNING");
    assert_eq!(i.urls, vec![format!("http://127.0.0.1:{after}")]);
}

/// A crash between Docker's create and the row recording the container
/// (staged here by clearing the recorded id while the server is down):
/// at start-up the live instance's launch is finished in that container,
/// found by its label and adopted (`RUNNING`), and the terminated one's
/// is removed.
#[tokio::test]
async fn a_crashed_launchs_unrecorded_container_is_adopted_at_start_up() {
    let Some((mut server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("crasher").await;
    guard.watch(key.user_id);
    let live = client
        .launch_instance(&launch("interrupted", &image, SLEEP))
        .await
        .expect("launch");
    let ended = client
        .launch_instance(&launch("ended", &image, SLEEP))
        .await
        .expect("launch");
    server.kill().await;
    let pool = sqlx::SqlitePool::connect(server.database_url())
        .await
        .expect("sqlite");
    for (id, state, deleted) in [
        (live.id, "STARTING", None),
        (ended.id, "TERMINATED", Some("2026-01-01T00:00:00Z")),
    ] {
        let n = sqlx::query(
            "UPDATE instances SET status = ?, container_id = NULL, deleted_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(deleted)
        .bind(id.to_string())
        .execute(&pool)
        .await
        .expect("update")
        .rows_affected();
        assert_eq!(n, 1);
    }
    pool.close().await;
    let cids = [&live, &ended].map(|i| i.container_id.clone().expect("cid"));
    assert!(cids.iter().all(|c| container_exists(c)));

    server.restart().await;
    let client = server.client().with_api_key(key.key.clone());
    // The start-up resync runs beside the first requests.
    let i = wait_for(&client, live.id, 10, "RUNNING", |i| i.state == "RUNNING").await;
    assert_eq!(
        i.container_id.as_deref(),
        Some(cids[0].as_str()),
        "adopted: {i:?}"
    );
    assert_eq!(
        client.get_instance(ended.id).await.expect("get").state,
        "TERMINATED"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while container_exists(&cids[1]) {
        assert!(
            std::time::Instant::now() < deadline,
            "containers left behind: {:?}",
            containers_of(&key.user_id.to_string())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        containers_of(&key.user_id.to_string()),
        vec![cids[0].clone()]
    );
    assert_eq!(
        client
            .terminate_instance(live.id)
            .await
            .expect("terminate")
            .state,
        "TERMINATED"
    );
    assert!(containers_of(&key.user_id.to_string()).is_empty());
}

#[tokio::test]
async fn without_docker_compute_answers_503_and_the_rest_works() {
    if miniaws_testkit::require_docker().is_none() {
        return;
    }
    let server = TestServer::start_with(
        Backend::Sqlite,
        &[],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    )
    .await
    .expect("a SQLite server starts");
    let (client, _) = server.user("offline").await;
    let (status, kind, message) =
        api_err(client.launch_instance(&launch("x", "busybox", SLEEP)).await);
    assert_eq!((status, kind.as_str()), (503, "UNAVAILABLE"));
    assert!(message.contains("Docker"), "{message}");
    assert!(
        client
            .list_instances(false)
            .await
            .expect("list works")
            .is_empty()
    );
    let health = client.health().await.expect("health");
    assert_eq!(
        (health.status.as_str(), health.docker.as_str()),
        ("UP", "DISCONNECTED")
    );
    assert!(client.whoami().await.is_ok(), "identity keeps working");
}

/// A stats sample takes Docker about a second; an instance terminated (or
/// stopped) meanwhile loses its container mid-sample, and Docker ends the
/// stream without one, or (a stop) answers a sample of zeros. Either is
/// the instance no longer running: 409 naming what it is now, never a 500
/// nor a sample with no memory limit.
#[tokio::test]
async fn stats_racing_a_terminate_or_a_stop_answer_409() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "racer").await;
    for round in 0..6 {
        let inst = client
            .launch_instance(&launch(&format!("racer{round}"), &image, SLEEP))
            .await
            .expect("launch");
        let stop = round % 2 == 1;
        let (stats, changed) = tokio::join!(client.instance_stats(inst.id), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stop {
                client.stop_instance(inst.id).await
            } else {
                client.terminate_instance(inst.id).await
            }
        });
        let state = changed.expect("stop or terminate").state;
        assert_eq!(state, if stop { "STOPPED" } else { "TERMINATED" });
        match stats {
            Ok(sample) => assert!(sample.memory_limit_bytes > 0, "{sample:?}"),
            Err(e) => {
                let (status, kind, message) = api_err::<()>(Err(e));
                assert_eq!((status, kind.as_str()), (409, "CONFLICT"), "{message}");
                assert!(
                    message.contains("TERMINATED") || message.contains("STOPP"),
                    "{message}"
                );
            }
        }
        if stop {
            client.terminate_instance(inst.id).await.expect("terminate");
        }
    }
}

#[tokio::test]
async fn stats_measure_cpu_memory_and_network() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "stats").await;
    let port = free_port();
    let web = client
        .launch_instance(&LaunchInstance {
            ports: vec![format!("{port}:80")],
            instance_type: Some("t3.nano".into()),
            ..launch(
                "web",
                &image,
                &[
                    "sh",
                    "-c",
                    "mkdir -p /www && head -c 102400 /dev/zero > /www/big && exec httpd -f -p 80 -h /www",
                ],
            )
        })
        .await
        .expect("launch web");
    // Two busy loops: even on a loaded host they get a clear share of it.
    let burner = client
        .launch_instance(&launch(
            "burner",
            &image,
            &["sh", "-c", "while :; do :; done & while :; do :; done"],
        ))
        .await
        .expect("launch burner");
    let idle = client
        .launch_instance(&launch("idle", &image, SLEEP))
        .await
        .expect("launch idle");

    let page = format!("http://127.0.0.1:{port}/big");
    let fetch = || async {
        match reqwest::get(&page).await {
            Ok(res) if res.status().is_success() => res.bytes().await.map(|b| b.len()).ok(),
            _ => None,
        }
    };
    // httpd may need a moment to bind inside the container.
    let mut first = None;
    for _ in 0..50 {
        first = fetch().await;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(first, Some(102_400), "httpd serves the page");

    let (before, hot, cold) = tokio::join!(
        client.instance_stats(web.id),
        client.instance_stats(burner.id),
        client.instance_stats(idle.id),
    );
    let (before, hot, cold) = (
        before.expect("web stats"),
        hot.expect("burner stats"),
        cold.expect("idle stats"),
    );
    eprintln!(
        "cpu: burner {} %, idle {} %",
        hot.cpu_percent, cold.cpu_percent
    );
    assert!(hot.cpu_percent > 25.0, "two busy loops use CPU: {hot:?}");
    assert!(cold.cpu_percent < 5.0, "sleep uses none: {cold:?}");
    assert_eq!(before.memory_limit_bytes, 512 * 1024 * 1024);
    assert!(before.memory_usage_bytes > 0, "{before:?}");
    assert!(
        before.network_rx_bytes > 0 && before.network_tx_bytes >= 102_400,
        "one page was fetched: {before:?}"
    );

    for _ in 0..5 {
        assert_eq!(fetch().await, Some(102_400));
    }
    let after = client.instance_stats(web.id).await.expect("web stats");
    assert!(
        after.network_tx_bytes >= before.network_tx_bytes + 5 * 102_400,
        "five more pages went out: {before:?} then {after:?}"
    );
    assert!(
        after.network_rx_bytes > before.network_rx_bytes,
        "five more requests came in: {before:?} then {after:?}"
    );
}

#[tokio::test]
async fn an_instance_over_its_memory_limit_ends_in_error_out_of_memory() {
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "hungry").await;
    // `dd` with a 700 MiB block allocates and fills one 700 MiB buffer: it
    // passes t3.nano's 512 MiB within a second, even on a busy machine (a
    // `head | tail` pipeline took over 15 s beside the stats test's busy
    // loops). The second of sleep lets the launch answer RUNNING first, so
    // only the reconciler can record the OOM.
    let inst = client
        .launch_instance(&LaunchInstance {
            instance_type: Some("t3.nano".into()),
            ..launch(
                "hungry",
                &image,
                &[
                    "sh",
                    "-c",
                    "sleep 1; dd if=/dev/zero of=/dev/null bs=700M count=1",
                ],
            )
        })
        .await
        .expect("launch");
    assert_eq!(inst.state, "RUNNING");
    let cid = inst.container_id.clone().expect("container");
    // No swap beyond the limit (as on AWS), or the kernel would page out
    // instead of killing.
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}",
            &cid
        ]),
        "536870912 536870912"
    );

    let failed = wait_for(&client, inst.id, 30, "ERROR (out of memory)", |i| {
        i.state != "RUNNING"
    })
    .await;
    assert_eq!(failed.state, "ERROR", "{failed:?}");
    let reason = failed.state_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("out of memory") && reason.contains("t3.nano"),
        "{reason}"
    );
    assert_eq!(failed.exit_code, Some(137), "{failed:?}");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.OOMKilled}}", &cid]),
        "true"
    );
    // An instance in ERROR with its container can be started again.
    assert_eq!(
        client.start_instance(inst.id).await.expect("start").state,
        "RUNNING"
    );
}

/// `POST /instances` with an `Idempotency-Key`: a retry answers the same
/// instance (also after a restart, and for concurrent tries), another
/// launch with the key is 422, another user's equal key is their own.
#[tokio::test]
async fn an_idempotency_key_launches_once() {
    let Some((mut server, image)) = server(Backend::Postgres).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, key) = server.user("idem").await;
    guard.watch(key.user_id);
    let web = launch("idem-web", &image, SLEEP);
    let first = client
        .launch_instance_with_key(&web, "launch-1")
        .await
        .expect("launched");
    let tries = futures::future::join_all(
        (0..5).map(|_| client.launch_instance_with_key(&web, "launch-1")),
    )
    .await;
    for t in tries {
        assert_eq!(t.expect("answered").id, first.id);
    }
    assert_eq!(containers_of(&key.user_id.to_string()).len(), 1);
    // The same key with another launch.
    let other = launch("idem-other", &image, SLEEP);
    let (status, kind, message) =
        api_err(client.launch_instance_with_key(&other, "launch-1").await);
    assert_eq!(
        (status, kind.as_str()),
        (422, "IDEMPOTENCY_KEY_REUSED"),
        "{message}"
    );
    // Keys are 1 to 64 printable ASCII characters.
    let (status, _, message) = api_err(
        client
            .launch_instance_with_key(&other, &"k".repeat(65))
            .await,
    );
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("1 to 64 characters"), "{message}");
    // Another user's equal key is another launch.
    let (bob, bob_key) = server.user("idem-bob").await;
    guard.watch(bob_key.user_id);
    let bobs = bob
        .launch_instance_with_key(&web, "launch-1")
        .await
        .expect("bob's own");
    assert_ne!(bobs.id, first.id);

    server.restart().await;
    let client = server.client().with_api_key(key.key.clone());
    let again = client
        .launch_instance_with_key(&web, "launch-1")
        .await
        .expect("answered after a restart");
    assert_eq!(again.id, first.id);
    assert_eq!(again.state, "RUNNING");
    assert_eq!(client.list_instances(true).await.expect("list").len(), 1);
    // Without a key, each launch is new (the client sends a fresh key).
    client
        .terminate_instance(first.id)
        .await
        .expect("terminated");
    let fresh = client.launch_instance(&web).await.expect("a new launch");
    assert_ne!(fresh.id, first.id);
}

/// A command of 32 KiB of arguments, the limit, runs (well below the
/// 128 KiB Linux takes per argument); one byte more is refused naming the
/// argument. Blanks around a port spec are ignored. The lifecycle actions
/// take no options: a body naming one (`{"force":true}`) is 400 naming it,
/// with the answer's request id kept by the client, and changes nothing;
/// no body and `{}` act. The same for terminate (`DELETE`).
#[tokio::test]
async fn commands_are_bounded_and_actions_take_no_options() {
    use miniaws_client::ClientError;
    let Some((server, image)) = server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "bounded").await;
    let script = "echo ${#1}; exec sleep 3600";
    let filler_len = 32 * 1024 - "sh".len() * 2 - "-c".len() - script.len();
    let command = |filler: usize| {
        let mut l = launch("big", &image, &["sh", "-c", script, "sh"]);
        if let Some(Command::Args(args)) = &mut l.command {
            args.push("x".repeat(filler));
        }
        l.ports = vec![" 81".into()];
        l
    };
    let (status, kind, message) = api_err(client.launch_instance(&command(filler_len + 1)).await);
    assert_eq!((status, kind.as_str()), (400, "INVALID_INPUT"), "{message}");
    assert!(
        message.contains("command[4]") && message.contains("32768 bytes"),
        "{message}"
    );
    let inst = client
        .launch_instance(&command(filler_len))
        .await
        .expect("a command at the limit launches");
    assert_eq!(inst.state, "RUNNING");
    assert_eq!(inst.ports[0].container_port, 81, "{:?}", inst.ports);
    let cid = inst.container_id.clone().expect("container");
    let mut logs = String::new();
    for _ in 0..100 {
        logs = docker(&["logs", &cid]);
        if !logs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        logs,
        filler_len.to_string(),
        "the shell got the whole argument"
    );

    let action = |what: &str, body: Option<&'static str>| {
        let mut req = client.request_unbounded(
            reqwest::Method::POST,
            &format!("/instances/{}/{what}", inst.id),
        );
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        client.send(req)
    };
    for what in ["stop", "start", "reboot"] {
        let err = action(what, Some(r#"{"force":true}"#))
            .await
            .expect_err("an option is refused");
        let ClientError::Api {
            status, message, ..
        } = &err
        else {
            panic!("{what}: {err:?}");
        };
        assert_eq!(status.as_u16(), 400, "{what}: {message}");
        assert!(
            message.contains(&format!("{what} takes no options"))
                && message.contains("unknown field `force`"),
            "{what}: {message}"
        );
        assert!(
            err.request_id().is_some_and(|id| id.len() == 36),
            "{what}: the client keeps the answer's request id: {err:?}"
        );
    }
    assert_eq!(
        client.get_instance(inst.id).await.expect("get").state,
        "RUNNING",
        "a refused stop changed nothing"
    );
    action("stop", Some("{}")).await.expect("stop with {}");
    assert_eq!(
        client.get_instance(inst.id).await.expect("get").state,
        "STOPPED"
    );
    action("start", None).await.expect("start without a body");
    action("reboot", Some(" {} "))
        .await
        .expect("reboot with {}");
    assert_eq!(
        client.get_instance(inst.id).await.expect("get").state,
        "RUNNING"
    );
    // Terminate (DELETE) takes no options either.
    let terminate = |body: &'static str| {
        client.send(
            client
                .request_unbounded(reqwest::Method::DELETE, &format!("/instances/{}", inst.id))
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let (status, _, message) = api_err(terminate(r#"{"force":true}"#).await);
    assert_eq!(status, 400, "{message}");
    assert!(
        message.contains("terminate takes no options") && message.contains("unknown field `force`"),
        "{message}"
    );
    assert_eq!(
        client.get_instance(inst.id).await.expect("get").state,
        "RUNNING",
        "a refused terminate changed nothing"
    );
    terminate("{}").await.expect("terminate with {}");
    assert_eq!(
        client.get_instance(inst.id).await.expect("get").state,
        "TERMINATED"
    );
}
