//! Every instance's container has a process limit (`--instance-pids-limit`,
//! Docker's pids limit), set at launch and again at every start, so that
//! a fork storm in one instance fails to fork instead of filling the
//! shared host's process table (against the real Docker daemon; a small
//! limit and a bounded loop, never a real fork bomb).

mod compute_support;

use compute_support::{ContainerGuard, docker, launch, wait_for};
use miniaws_client::{LogsOptions, ModifyInstance};
use miniaws_testkit::{Backend, TestServer, require_docker};
use std::time::{Duration, Instant};

/// The limit the test server runs with.
const LIMIT: usize = 40;

#[tokio::test]
async fn an_instance_cannot_fork_past_its_pids_limit() {
    let Some(image) = require_docker() else {
        return;
    };
    let limit = LIMIT.to_string();
    let Some(server) = TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "2", "--instance-pids-limit", &limit],
        &[],
    )
    .await
    else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "forker").await;

    // 100 background sleeps, more than twice the limit, from a subshell:
    // busybox sh reports the first fork that fails and gives up, and the
    // outer shell then says so and becomes a sleep (`exec`: no fork).
    let storm = "(n=0; while [ $n -lt 100 ]; do sleep 600 & n=$((n+1)); done); \
                 echo spawned; exec sleep 3600";
    let inst = client
        .launch_instance(&launch("storm", &image, &["sh", "-c", storm]))
        .await
        .expect("launch");
    let cid = inst.container_id.clone().expect("a container");
    assert_eq!(
        docker(&["inspect", "-f", "{{.HostConfig.PidsLimit}}", &cid]),
        limit
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let logs = loop {
        let logs = client
            .instance_logs(inst.id, &LogsOptions::default())
            .await
            .expect("logs");
        if logs.contains("spawned") {
            break logs;
        }
        assert!(Instant::now() < deadline, "the loop never ended: {logs}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        logs.contains("can't fork"),
        "forks past the limit fail: {logs}"
    );
    // `docker top` lists the container's processes from the host (a
    // header line, then one per process: init, sh and the sleeps).
    let processes = docker(&["top", &cid]).lines().count() - 1;
    assert!(
        (LIMIT - 5..=LIMIT).contains(&processes),
        "{processes} processes for a limit of {LIMIT}"
    );
    assert_eq!(
        client.get_instance(inst.id).await.expect("describe").state,
        "RUNNING",
        "the instance itself lives on"
    );

    // A container with another limit (one made before the limit existed,
    // or under another setting) gets the server's at its next start, with
    // its new type's memory.
    client.stop_instance(inst.id).await.expect("stop");
    docker(&["update", "--pids-limit", "1000", &cid]);
    client
        .modify_instance(
            inst.id,
            &ModifyInstance {
                instance_type: Some("t3.small".into()),
                ..ModifyInstance::default()
            },
        )
        .await
        .expect("type changed");
    client.start_instance(inst.id).await.expect("start");
    wait_for(&client, inst.id, 10, "RUNNING", |i| i.state == "RUNNING").await;
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}}",
            &cid
        ]),
        format!("{limit} {}", 2u64 << 30)
    );
    client.terminate_instance(inst.id).await.expect("terminate");
}
