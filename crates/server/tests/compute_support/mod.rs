//! Helpers of the compute integration tests: servers tuned for tests,
//! a guard that removes every container of the test's users (also when the
//! test fails), and polling.
#![allow(dead_code)]

use miniaws_client::{Client, ClientError, CreatedKey, Instance, LaunchInstance};
use miniaws_testkit::{AwsClients, Backend, TestServer, require_docker};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A test server with short stop grace and resync interval, plus the test
/// image; `None` when Docker (or Postgres) tests are skipped.
pub async fn server(backend: Backend) -> Option<(TestServer, String)> {
    let image = require_docker()?;
    let server = TestServer::start_with(
        backend,
        &["--stop-grace-secs", "2", "--resync-interval-secs", "2"],
        &[],
    )
    .await?;
    Some((server, image))
}

/// Removes every container labelled with one of its owners when dropped.
pub struct ContainerGuard {
    owners: Vec<String>,
}

impl ContainerGuard {
    /// A guard with no owners yet.
    pub fn new() -> Self {
        Self { owners: Vec::new() }
    }

    /// Guards the containers of `owner`.
    pub fn watch(&mut self, owner: uuid::Uuid) {
        self.owners.push(owner.to_string());
    }

    /// Signs up `name` on `server`, guarding its containers; its native
    /// client, its key and the aws CLI / boto3 environment of that key.
    pub async fn aws_user(
        &mut self,
        server: &TestServer,
        name: &str,
    ) -> (Client, CreatedKey, AwsClients) {
        let (client, key) = server.user(name).await;
        self.owners.push(key.user_id.to_string());
        let clients = AwsClients::new(server, &key);
        (client, key, clients)
    }

    /// Signs up `name` on `server`, guarding its containers.
    pub async fn user(&mut self, server: &TestServer, name: &str) -> (Client, uuid::Uuid) {
        let (client, key) = server.user(name).await;
        self.owners.push(key.user_id.to_string());
        (client, key.user_id)
    }
}

/// The ids of every container (running or not) labelled with `owner`.
pub fn containers_of(owner: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--no-trunc", "--filter"])
        .arg(format!("label=miniaws.owner={owner}"))
        .output()
        .expect("the docker CLI runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        for owner in &self.owners {
            let ids = containers_of(owner);
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .arg("rm")
                    .arg("-f")
                    .args(&ids)
                    .output();
            }
            // And the owner's network, which the server removes only with
            // the containers it removes itself: Docker's pool of network
            // address ranges is small.
            let _ = Command::new("docker")
                .args(["network", "rm", &miniaws_docker::network_name(owner)])
                .output();
        }
    }
}

/// Runs the docker CLI and returns its trimmed stdout.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether a container still exists.
pub fn container_exists(id: &str) -> bool {
    Command::new("docker")
        .args(["inspect", id])
        .output()
        .expect("the docker CLI runs")
        .status
        .success()
}

/// A host port that is free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port can be bound")
        .port()
}

/// A launch of `image` running `command`.
pub fn launch(name: &str, image: &str, command: &[&str]) -> LaunchInstance {
    LaunchInstance {
        name: name.into(),
        image: image.into(),
        command: Some(miniaws_client::Command::Args(
            command.iter().map(|s| s.to_string()).collect(),
        )),
        ..LaunchInstance::default()
    }
}

/// A long-running, quiet workload.
pub const SLEEP: &[&str] = &["sleep", "3600"];

/// Polls `id` until `done` holds (up to `secs`), returning the last view.
pub async fn wait_for(
    client: &Client,
    id: uuid::Uuid,
    secs: u64,
    what: &str,
    done: impl Fn(&Instance) -> bool,
) -> Instance {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let inst = client.get_instance(id).await.expect("describe");
        if done(&inst) {
            return inst;
        }
        assert!(
            Instant::now() < deadline,
            "instance never reached {what} within {secs} s; last seen: {inst:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status and `type` of an API error.
pub fn api_err<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, String, String) {
    match r {
        Err(ClientError::Api {
            status,
            kind,
            message,
            ..
        }) => (status.as_u16(), kind, message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The core lifecycle on `backend`: launch, illegal transitions, stop,
/// start, reboot, a kill behind our back, terminate.
pub async fn core_lifecycle(backend: Backend) {
    let Some((server, image)) = server(backend).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (client, _) = guard.user(&server, "lifecycle").await;

    let inst = client
        .launch_instance(&launch("life", &image, SLEEP))
        .await
        .expect("launch");
    assert_eq!(inst.state, "RUNNING");
    let cid = inst.container_id.clone().expect("a container");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &cid]),
        "true"
    );

    let (status, kind, message) = api_err(client.start_instance(inst.id).await);
    assert_eq!((status, kind.as_str()), (409, "CONFLICT"));
    assert!(message.contains("RUNNING"), "{message}");

    let started = Instant::now();
    let stopped = client.stop_instance(inst.id).await.expect("stop");
    assert_eq!(stopped.state, "STOPPED");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "with an init process SIGTERM stops sleep at once, took {:?}",
        started.elapsed()
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &cid]),
        "false"
    );
    let (status, _, message) = api_err(client.stop_instance(inst.id).await);
    assert_eq!(status, 409);
    assert!(message.contains("STOPPED"), "{message}");
    assert_eq!(api_err(client.reboot_instance(inst.id).await).0, 409);

    assert_eq!(
        client.start_instance(inst.id).await.expect("start").state,
        "RUNNING"
    );
    let pid_before = docker(&["inspect", "-f", "{{.State.StartedAt}}", &cid]);
    assert_eq!(
        client.reboot_instance(inst.id).await.expect("reboot").state,
        "RUNNING"
    );
    assert_ne!(
        docker(&["inspect", "-f", "{{.State.StartedAt}}", &cid]),
        pid_before
    );

    docker(&["kill", &cid]);
    let killed = wait_for(&client, inst.id, 10, "STOPPED after docker kill", |i| {
        i.state == "STOPPED"
    })
    .await;
    assert_eq!(killed.exit_code, Some(137));

    let gone = client.terminate_instance(inst.id).await.expect("terminate");
    assert_eq!(gone.state, "TERMINATED");
    assert!(gone.terminated_at.is_some());
    assert!(!container_exists(&cid), "the container is removed");
    assert_eq!(
        client
            .get_instance(inst.id)
            .await
            .expect("still describable")
            .state,
        "TERMINATED"
    );
    assert!(client.list_instances(false).await.expect("list").is_empty());
    assert_eq!(
        client.list_instances(true).await.expect("list all").len(),
        1
    );
    let (status, _, message) = api_err(client.stop_instance(inst.id).await);
    assert_eq!(status, 409);
    assert!(message.contains("TERMINATED"), "{message}");
    // The name is free again.
    let again = client
        .launch_instance(&launch("life", &image, SLEEP))
        .await
        .expect("relaunch under the same name");
    client
        .terminate_instance(again.id)
        .await
        .expect("terminate");
}

/// `aws ec2 …` with the shared clients' environment.
// Only these tests call it, never across threads: no `Send` bound needed.
#[allow(async_fn_in_trait)]
pub trait Ec2Cli {
    /// `aws ec2 …`, which must succeed; its trimmed stdout.
    async fn ec2(&self, cli: &Path, args: &[&str]) -> String;
    /// `aws ec2 … --output text`, which must succeed; its trimmed stdout.
    async fn ec2_text(&self, cli: &Path, args: &[&str]) -> String;
    /// `aws ec2 …`, which must fail with `code`; its stderr.
    async fn ec2_fails(&self, cli: &Path, code: &str, args: &[&str]) -> String;
}

impl Ec2Cli for AwsClients {
    async fn ec2(&self, cli: &Path, args: &[&str]) -> String {
        let out = self.aws(cli, ["ec2"].iter().chain(args)).await;
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    async fn ec2_text(&self, cli: &Path, args: &[&str]) -> String {
        self.ec2(cli, &[args, &["--output", "text"][..]].concat())
            .await
    }

    async fn ec2_fails(&self, cli: &Path, code: &str, args: &[&str]) -> String {
        let stderr = self.aws_fails(cli, ["ec2"].iter().chain(args)).await;
        assert!(
            stderr.contains(&format!("({code})")),
            "aws ec2 {args:?} should fail with {code}: {stderr}"
        );
        stderr
    }
}
