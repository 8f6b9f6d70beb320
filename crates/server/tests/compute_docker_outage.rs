//! Docker goes away while the server runs and comes back: compute answers
//! 503 naming Docker, /health says so, identity and storage keep working,
//! and once Docker is back the event stream reconnects and the resync
//! catches up with what happened meanwhile.
//!
//! The server reaches Docker through a Unix-socket proxy that the test
//! controls, so "Docker is down" is exact and instantaneous: cutting the
//! proxy removes its socket and drops every open connection (the event
//! stream included), while the test still reaches the real daemon directly.
//! The proxy also holds a create or a start (or its answer) so that a
//! SIGKILL of the server lands at a precise point of a launch or start.

mod compute_support;

use compute_support::{
    ContainerGuard, Ec2Cli, SLEEP, api_err, containers_of, docker, launch, wait_for,
};
use miniaws_testkit::{AwsClients, Backend, TestServer, require_docker};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The real daemon's socket.
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// A Unix-socket proxy to the Docker daemon that can be cut and restored
/// on the same path.
struct DockerProxy {
    path: PathBuf,
    /// The accept loop and the sender whose drop ends every connection.
    running: Option<(JoinHandle<()>, watch::Sender<()>)>,
    /// When set, the next container create reaches Docker but its answer
    /// is lost: the connection closes instead.
    lose_create_answer: Arc<AtomicBool>,
    /// When set, the proxy's socket vanishes as the next image inspection
    /// passes (the launch's last call before its create): with
    /// `one_request_per_connection`, the create that follows finds no
    /// daemon to connect to.
    vanish_after_image_check: Arc<AtomicBool>,
    /// When set, every request asks the daemon to close its connection
    /// after answering, so that the client keeps no idle connection.
    one_request_per_connection: Arc<AtomicBool>,
    /// When set, the next container start is held: it never reaches
    /// Docker, and its client waits for an answer until it goes away.
    hold_start: Arc<AtomicBool>,
    /// When set, the next container start reaches Docker but its answer
    /// is held: its client waits until it goes away.
    hold_start_answer: Arc<AtomicBool>,
    /// How many starts the proxy has held (either way).
    starts_held: Arc<AtomicUsize>,
    /// When set, the next container create is held: it never reaches
    /// Docker, and its client waits for an answer until it goes away.
    hold_create: Arc<AtomicBool>,
    /// When set, the next container create reaches Docker but its answer
    /// is held: its client waits until it goes away.
    hold_create_answer: Arc<AtomicBool>,
    /// How many creates the proxy has held (either way).
    creates_held: Arc<AtomicUsize>,
}

impl DockerProxy {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            running: None,
            lose_create_answer: Arc::new(AtomicBool::new(false)),
            vanish_after_image_check: Arc::new(AtomicBool::new(false)),
            one_request_per_connection: Arc::new(AtomicBool::new(false)),
            hold_start: Arc::new(AtomicBool::new(false)),
            hold_start_answer: Arc::new(AtomicBool::new(false)),
            starts_held: Arc::new(AtomicUsize::new(0)),
            hold_create: Arc::new(AtomicBool::new(false)),
            hold_create_answer: Arc::new(AtomicBool::new(false)),
            creates_held: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn restore(&mut self) {
        assert!(self.running.is_none(), "the proxy is already up");
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).expect("the proxy socket binds");
        let (alive, _) = watch::channel(());
        let connections = alive.clone();
        let faults = Faults {
            lose_create_answer: self.lose_create_answer.clone(),
            vanish_after_image_check: self.vanish_after_image_check.clone(),
            one_request_per_connection: self.one_request_per_connection.clone(),
            hold_start: self.hold_start.clone(),
            hold_start_answer: self.hold_start_answer.clone(),
            starts_held: self.starts_held.clone(),
            hold_create: self.hold_create.clone(),
            hold_create_answer: self.hold_create_answer.clone(),
            creates_held: self.creates_held.clone(),
            socket: self.path.clone(),
        };
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut cut = connections.subscribe();
                let faults = faults.clone();
                tokio::spawn(async move {
                    let Ok(daemon) = UnixStream::connect(DOCKER_SOCKET).await else {
                        return;
                    };
                    tokio::select! {
                        _ = forward(client, daemon, faults) => {}
                        // Resolves when the sender is dropped: the cut.
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        self.running = Some((accept, alive));
    }

    fn cut(&mut self) {
        if let Some((accept, alive)) = self.running.take() {
            accept.abort(); // drops the listener
            drop(alive); // ends every forwarded connection
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The faults a proxied connection may inject (see [`DockerProxy`]).
#[derive(Clone)]
struct Faults {
    lose_create_answer: Arc<AtomicBool>,
    vanish_after_image_check: Arc<AtomicBool>,
    one_request_per_connection: Arc<AtomicBool>,
    hold_start: Arc<AtomicBool>,
    hold_start_answer: Arc<AtomicBool>,
    starts_held: Arc<AtomicUsize>,
    hold_create: Arc<AtomicBool>,
    hold_create_answer: Arc<AtomicBool>,
    creates_held: Arc<AtomicUsize>,
    socket: PathBuf,
}

/// Copies both ways until either side closes; drops the connection
/// instead of passing on the answer to a create when `lose_create_answer`
/// is set (one create only); removes the proxy's socket as an image
/// inspection passes when `vanish_after_image_check` is set; adds
/// `Connection: close` to each request when `one_request_per_connection`
/// is set; holds a container start (`hold_start`) or its answer
/// (`hold_start_answer`), and a create (`hold_create`) or its answer
/// (`hold_create_answer`), until the client goes away. HTTP/1.1 without
/// pipelining: what the daemon sends after a request is its answer, and a
/// request's head comes in one read.
async fn forward(client: UnixStream, daemon: UnixStream, faults: Faults) {
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut daemon_rx, mut daemon_tx) = daemon.into_split();
    let swallow = AtomicBool::new(false);
    let hold_answer = AtomicBool::new(false);
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut held = false;
        while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
            let mut chunk = buf[..n].to_vec();
            let request_line = chunk.split(|b| *b == b'\n').next().unwrap_or_default();
            if chunk.starts_with(b"POST ")
                && request_line
                    .windows(7)
                    .any(|w| w == b"/start " || w == b"/start?")
            {
                if faults.hold_start.swap(false, Ordering::SeqCst) {
                    held = true;
                    faults.starts_held.fetch_add(1, Ordering::SeqCst);
                } else if faults.hold_start_answer.swap(false, Ordering::SeqCst) {
                    hold_answer.store(true, Ordering::SeqCst);
                    faults.starts_held.fetch_add(1, Ordering::SeqCst);
                }
            }
            if chunk.starts_with(b"POST ")
                && request_line.windows(18).any(|w| w == b"/containers/create")
            {
                if faults.hold_create.swap(false, Ordering::SeqCst) {
                    held = true;
                    faults.creates_held.fetch_add(1, Ordering::SeqCst);
                } else if faults.hold_create_answer.swap(false, Ordering::SeqCst) {
                    hold_answer.store(true, Ordering::SeqCst);
                    faults.creates_held.fetch_add(1, Ordering::SeqCst);
                }
            }
            if held {
                continue; // Docker never hears of it
            }
            if chunk.starts_with(b"POST ")
                && chunk.windows(18).any(|w| w == b"/containers/create")
                && faults.lose_create_answer.swap(false, Ordering::SeqCst)
            {
                swallow.store(true, Ordering::SeqCst);
            }
            if chunk.starts_with(b"GET ")
                && chunk.windows(8).any(|w| w == b"/images/")
                && faults
                    .vanish_after_image_check
                    .swap(false, Ordering::SeqCst)
            {
                // No new connection can reach the daemon from now on.
                let _ = std::fs::remove_file(&faults.socket);
            }
            let is_head = [&b"GET "[..], b"POST ", b"DELETE ", b"HEAD "]
                .iter()
                .any(|m| chunk.starts_with(m));
            if is_head && faults.one_request_per_connection.load(Ordering::SeqCst) {
                let line_end = chunk
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .expect("a request line");
                chunk.splice(line_end + 2..line_end + 2, *b"Connection: close\r\n");
            }
            if daemon_tx.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = daemon_rx.read(&mut buf).await {
            if swallow.load(Ordering::SeqCst) {
                return; // the answer is lost: both ends close
            }
            if hold_answer.load(Ordering::SeqCst) {
                continue; // the answer never comes
            }
            if client_tx.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

#[tokio::test]
async fn docker_outage_answers_503_and_state_resyncs_when_it_is_back() {
    let Some(image) = require_docker() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("docker.sock");
    let mut proxy = DockerProxy::new(socket.clone());
    proxy.restore();
    // A long periodic resync: only the resync on reconnect can catch up.
    let server = TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "2", "--resync-interval-secs", "600"],
        &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
    )
    .await
    .expect("a SQLite server starts");
    let mut guard = ContainerGuard::new();
    let (alice, _) = guard.user(&server, "alice").await;
    let victim = alice
        .launch_instance(&launch("victim", &image, SLEEP))
        .await
        .expect("launch through the proxy");
    let bystander = alice
        .launch_instance(&launch("bystander", &image, SLEEP))
        .await
        .expect("launch through the proxy");
    assert_eq!(
        (victim.state.as_str(), bystander.state.as_str()),
        ("RUNNING", "RUNNING")
    );

    proxy.cut();
    // Behind the server's back, while it cannot see Docker.
    docker(&["kill", victim.container_id.as_deref().expect("cid")]);
    let killed_at = Instant::now();

    let (status, kind, message) =
        api_err(alice.launch_instance(&launch("new", &image, SLEEP)).await);
    assert_eq!((status, kind.as_str()), (503, "UNAVAILABLE"), "{message}");
    assert!(message.contains("Docker"), "{message}");
    let (status, _, message) = api_err(alice.stop_instance(bystander.id).await);
    assert_eq!(status, 503, "{message}");
    assert!(message.contains("Docker"), "{message}");
    let (status, _, message) = api_err(alice.images().await);
    assert_eq!(status, 503, "{message}");
    assert!(message.contains("Docker"), "{message}");
    let health = server.client().health().await.expect("health answers");
    assert_eq!(
        (health.status.as_str(), health.docker.as_str()),
        ("UP", "DISCONNECTED")
    );
    assert!(
        health.problems.iter().any(|p| p.contains("Docker")),
        "{:?}",
        health.problems
    );
    // Identity and storage do not need Docker.
    assert!(alice.whoami().await.is_ok(), "identity keeps working");
    server
        .client()
        .create_key("bob")
        .await
        .expect("sign-up keeps working");
    alice.create_bucket("outage").await.expect("bucket");
    alice
        .put_object("outage", "note.txt", &b"docker is down"[..], None)
        .await
        .expect("put");
    let got = alice
        .get_object("outage", "note.txt", None, None)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    assert_eq!(got, b"docker is down");

    // The event subscription replays from a second or two before it is
    // made: restoring later than that leaves the kill to the resync.
    tokio::time::sleep(Duration::from_millis(3500).saturating_sub(killed_at.elapsed())).await;
    assert_eq!(
        alice.get_instance(victim.id).await.expect("get").state,
        "RUNNING",
        "nothing can be seen while Docker is unreachable"
    );

    proxy.restore();
    let back = Instant::now();
    let v = wait_for(&alice, victim.id, 8, "STOPPED after Docker is back", |i| {
        i.state == "STOPPED"
    })
    .await;
    assert_eq!(v.exit_code, Some(137), "{v:?}");
    eprintln!("resynced {:?} after Docker came back", back.elapsed());
    assert_eq!(
        alice
            .stop_instance(bystander.id)
            .await
            .expect("compute works again")
            .state,
        "STOPPED"
    );
    assert_eq!(
        server.client().health().await.expect("health").docker,
        "CONNECTED"
    );

    // The event stream is followed again: a kill now shows up at once
    // (the periodic resync is 10 minutes away).
    let again = alice
        .launch_instance(&launch("again", &image, SLEEP))
        .await
        .expect("launch after the outage");
    docker(&["kill", again.container_id.as_deref().expect("cid")]);
    let a = wait_for(&alice, again.id, 5, "STOPPED via events", |i| {
        i.state == "STOPPED"
    })
    .await;
    assert_eq!(a.exit_code, Some(137));
    let log = server.log();
    assert!(!log.contains("panicked"), "no panic in the log");
    // The outage is logged once as a warning, not at every retry, and its end.
    assert_eq!(
        log.matches("cannot resync instance state").count(),
        1,
        "{log}"
    );
    assert!(log.contains("resynced with Docker again"), "{log}");
    // The stream broke at the cut only: after it the subscription held (a
    // stream that kept failing would be resubscribed, and resynced, every
    // two seconds, which would also catch the last kill).
    assert_eq!(
        log.matches("the Docker event stream broke").count()
            + log.matches("the Docker event stream ended").count(),
        1,
        "{log}"
    );
}

/// Docker refuses the connection of the create (the daemon went away
/// between the launch's image check and its create): nothing was made, so
/// the launch answers 503 and leaves no row and no container, and the
/// name is free again once Docker is back.
#[tokio::test]
async fn a_launch_whose_create_cannot_reach_docker_leaves_nothing() {
    let Some(image) = require_docker() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("docker.sock");
    let mut proxy = DockerProxy::new(socket.clone());
    proxy
        .one_request_per_connection
        .store(true, Ordering::SeqCst);
    proxy.restore();
    let server = TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "1", "--resync-interval-secs", "600"],
        &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
    )
    .await
    .expect("a SQLite server starts");
    let mut guard = ContainerGuard::new();
    let (alice, owner) = guard.user(&server, "alice").await;

    proxy.vanish_after_image_check.store(true, Ordering::SeqCst);
    let (status, kind, message) = api_err(
        alice
            .launch_instance(&launch("refused", &image, SLEEP))
            .await,
    );
    assert_eq!((status, kind.as_str()), (503, "UNAVAILABLE"), "{message}");
    assert!(
        !proxy.vanish_after_image_check.load(Ordering::SeqCst),
        "the image check went through the proxy"
    );
    assert!(
        message.contains("unreachable"),
        "the answer says Docker could not be reached: {message}"
    );
    assert!(containers_of(&owner.to_string()).is_empty());
    assert!(
        alice.list_instances(true).await.expect("list").is_empty(),
        "a launch that made nothing leaves no row"
    );

    proxy.cut();
    proxy.restore();
    let again = alice
        .launch_instance(&launch("refused", &image, SLEEP))
        .await
        .expect("the name is free");
    assert_eq!(again.state, "RUNNING");
}

/// Docker makes the container but its answer to the create is lost (the
/// connection to the daemon breaks): the launch answers 503, and no
/// container may outlive it without a row that names it. The instance
/// stays `ERROR` ("interrupted") rather than vanishing, so that the
/// resync can find the container by its label and remove it; terminating
/// the instance frees the name.
#[tokio::test]
async fn a_launch_whose_create_answer_is_lost_leaves_no_orphan_container() {
    let Some(image) = require_docker() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("docker.sock");
    let mut proxy = DockerProxy::new(socket.clone());
    proxy.restore();
    let server = TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "1", "--resync-interval-secs", "2"],
        &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
    )
    .await
    .expect("a SQLite server starts");
    let mut guard = ContainerGuard::new();
    let (alice, owner) = guard.user(&server, "alice").await;

    proxy.lose_create_answer.store(true, Ordering::SeqCst);
    let (status, kind, message) =
        api_err(alice.launch_instance(&launch("lost", &image, SLEEP)).await);
    assert_eq!((status, kind.as_str()), (503, "UNAVAILABLE"), "{message}");
    assert!(
        !proxy.lose_create_answer.load(Ordering::SeqCst),
        "the create went through the proxy"
    );

    // Docker made the container all the same; within a resync or two it
    // is gone, and whatever row is left says what happened.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !containers_of(&owner.to_string()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "a container outlived its failed launch: {:?}; rows: {:?}",
            containers_of(&owner.to_string()),
            alice.list_instances(true).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = alice.list_instances(false).await.expect("list");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.state, "ERROR", "{row:?}");
    assert!(
        row.state_reason
            .as_deref()
            .is_some_and(|r| r.contains("interrupted")),
        "{row:?}"
    );
    assert_eq!(
        alice
            .terminate_instance(row.id)
            .await
            .expect("terminate")
            .state,
        "TERMINATED"
    );
    let again = alice
        .launch_instance(&launch("lost", &image, SLEEP))
        .await
        .expect("the name is free again");
    assert_eq!(again.state, "RUNNING");
}

/// Waits until the proxy has held `n` starts in all.
async fn starts_held(proxy: &DockerProxy, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while proxy.starts_held.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "start {n} never reached the proxy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server killed in the middle of a start comes back and finishes it
/// (EC2 never turns a pending instance into a stopped one on its own):
/// - a start of a stopped instance cut before it reached Docker (the row
///   `STARTING`, the container still exited from its last run, exit 137)
///   and a launch cut between recording its container and starting it
///   (created, never started) both end `RUNNING`;
/// - a launch whose start reached Docker, whose command then exited on
///   its own before the restart, is not run again: it is `STOPPED` with
///   that run's exit code;
/// - a resumed start that Docker refuses (its host port taken meanwhile)
///   leaves the instance `STOPPED` with a reason that says so, and a
///   start once the port is free runs it.
#[tokio::test]
async fn starts_cut_by_a_crash_are_resumed_after_the_restart() {
    let Some(image) = require_docker() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("docker.sock");
    let mut proxy = DockerProxy::new(socket.clone());
    proxy.restore();
    let mut server = TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "1", "--resync-interval-secs", "600"],
        &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
    )
    .await
    .expect("a SQLite server starts");
    let mut guard = ContainerGuard::new();
    let (alice, key) = server.user("alice").await;
    guard.watch(key.user_id);

    let stopped = alice
        .launch_instance(&launch("stopped", &image, SLEEP))
        .await
        .expect("launch");
    assert_eq!(
        alice.stop_instance(stopped.id).await.expect("stop").state,
        "STOPPED"
    );
    let port = compute_support::free_port();
    let mut request = launch("ported", &image, SLEEP);
    request.ports = vec![format!("{port}:80")];
    let ported = alice.launch_instance(&request).await.expect("launch");
    assert_eq!(
        alice.stop_instance(ported.id).await.expect("stop").state,
        "STOPPED"
    );

    // Each start held in turn at the proxy, its request never answered.
    let mut n = 0;
    for id in [stopped.id, ported.id] {
        proxy.hold_start.store(true, Ordering::SeqCst);
        tokio::spawn({
            let alice = alice.clone();
            async move { alice.start_instance(id).await }
        });
        n += 1;
        starts_held(&proxy, n).await;
        wait_for(&alice, id, 10, "STARTING", |i| i.state == "STARTING").await;
    }
    proxy.hold_start.store(true, Ordering::SeqCst);
    tokio::spawn({
        let alice = alice.clone();
        let request = launch("fresh", &image, SLEEP);
        async move { alice.launch_instance(&request).await }
    });
    n += 1;
    starts_held(&proxy, n).await;
    proxy.hold_start_answer.store(true, Ordering::SeqCst);
    tokio::spawn({
        let alice = alice.clone();
        let request = launch("quick", &image, &["sh", "-c", "echo ran; exit 3"]);
        async move { alice.launch_instance(&request).await }
    });
    n += 1;
    starts_held(&proxy, n).await;
    let rows = alice.list_instances(false).await.expect("list");
    let row = |name: &str| {
        rows.iter()
            .find(|i| i.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} has a row: {rows:?}"))
    };
    let (fresh, quick) = (row("fresh"), row("quick"));
    for inst in [&fresh, &quick] {
        assert_eq!(inst.state, "STARTING", "{inst:?}");
    }
    let quick_cid = quick
        .container_id
        .clone()
        .expect("recorded before its start");
    let deadline = Instant::now() + Duration::from_secs(10);
    while docker(&["inspect", "-f", "{{.State.Status}}", &quick_cid]).trim() != "exited" {
        assert!(
            Instant::now() < deadline,
            "the quick command runs and exits"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh_cid = fresh
        .container_id
        .clone()
        .expect("recorded before its start");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &fresh_cid]).trim(),
        "created"
    );
    // (The launches' clients retry against the dead address for a while,
    // refused: the restarted server listens elsewhere.)
    server.kill().await;
    // The port is taken while the server is down.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");

    server.restart().await;
    let alice = server.client().with_api_key(key.key.clone());
    for inst in [&stopped, &fresh] {
        let done = wait_for(&alice, inst.id, 15, "RUNNING", |i| i.state != "STARTING").await;
        assert_eq!(
            (done.state.as_str(), done.state_reason.as_deref()),
            ("RUNNING", None),
            "{}",
            inst.name
        );
        let cid = done.container_id.expect("cid");
        assert_eq!(
            docker(&["inspect", "-f", "{{.State.Running}}", &cid]).trim(),
            "true",
            "{}",
            inst.name
        );
    }
    let q = wait_for(&alice, quick.id, 15, "STOPPED", |i| i.state != "STARTING").await;
    assert_eq!(
        (q.state.as_str(), q.exit_code, q.state_reason.as_deref()),
        ("STOPPED", Some(3), Some("the container exited with code 3")),
    );
    assert_eq!(
        docker(&["logs", &quick_cid]).trim(),
        "ran",
        "a start that happened is not run again"
    );
    let p = wait_for(&alice, ported.id, 15, "STOPPED", |i| i.state != "STARTING").await;
    assert_eq!(p.state, "STOPPED", "{p:?}");
    let reason = p.state_reason.unwrap_or_default();
    assert!(
        reason.contains("the start was cut short") && reason.contains("failed"),
        "{reason}"
    );
    // Through EC2, the refused start is the platform's failure, not the
    // instance's own shutdown (which the quick command's exit is).
    if let Some(cli) = miniaws_testkit::require_tool("MINIAWS_TEST_AWS_CLI") {
        let aws = AwsClients::new(&server, &key);
        for (inst, want) in [
            (&ported, "stopped\tServer.InternalError"),
            (&quick, "stopped\tClient.InstanceInitiatedShutdown"),
        ] {
            let got = aws
                .ec2_text(
                    &cli,
                    &[
                        "describe-instances",
                        "--instance-ids",
                        &inst.ec2_instance_id,
                        "--query",
                        "Reservations[0].Instances[0].[State.Name,StateReason.Code]",
                    ],
                )
                .await;
            assert_eq!(got, want, "{}", inst.name);
        }
    }
    drop(squatter);
    assert_eq!(
        alice.start_instance(ported.id).await.expect("start").state,
        "RUNNING"
    );
}

/// Waits until the proxy has held `n` creates in all.
async fn creates_held(proxy: &DockerProxy, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while proxy.creates_held.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "create {n} never reached the proxy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The containers labelled with instance `id`.
fn containers_of_instance(id: uuid::Uuid) -> Vec<String> {
    let listed = docker(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        &format!("label=miniaws.instance-id={id}"),
    ]);
    listed.lines().map(str::to_owned).collect()
}

/// Waits until Docker has `n` containers labelled with instance `id`.
async fn wait_for_containers(id: uuid::Uuid, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = containers_of_instance(id);
        if found.len() == n {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "instance {id} never had {n} containers: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Launches `request` in the background (its client waits for an answer
/// the crash swallows) and waits until the proxy has held `n` creates;
/// answers the instance's row, `STARTING` without a container.
async fn launch_held(
    alice: &miniaws_client::Client,
    proxy: &DockerProxy,
    request: miniaws_client::LaunchInstance,
    n: usize,
) -> miniaws_client::Instance {
    let name = request.name.clone();
    tokio::spawn({
        let alice = alice.clone();
        async move { alice.launch_instance(&request).await }
    });
    creates_held(proxy, n).await;
    let rows = alice.list_instances(false).await.expect("list");
    let row = rows
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{name} has a row"));
    assert_eq!(
        (row.state.as_str(), row.container_id.as_deref()),
        ("STARTING", None),
        "{row:?}"
    );
    row
}

/// A server killed in the middle of a launch, before its container was
/// recorded, finishes the launch after the restart (a pending instance
/// becomes running, as on EC2), and no container is left that its row does
/// not name:
/// - a launch cut before its create reached Docker: the container is
///   created from the row and started, `RUNNING`;
/// - a launch whose create reached Docker (the container made, the answer
///   never back): that container, found by its label, is adopted and
///   started, `RUNNING`, and no second one is made;
/// - a launch cut before its create whose image is gone by the restart:
///   Docker refuses the container, so the instance ends `ERROR` saying the
///   launch could not be finished, with no container;
/// - crashes again and again while the resync finishes a launch (its
///   create held, then its create's answer held) end the same way, with
///   one container.
async fn launches_cut_by_a_crash_are_finished_after_the_restart(backend: Backend) {
    let Some(image) = require_docker() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("docker.sock");
    let mut proxy = DockerProxy::new(socket.clone());
    proxy.restore();
    let Some(mut server) = TestServer::start_with(
        backend,
        &["--stop-grace-secs", "1", "--resync-interval-secs", "600"],
        &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
    )
    .await
    else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (alice, key) = server.user("alice").await;
    guard.watch(key.user_id);
    // An image of this test's own, removed while the server is down.
    let doomed = format!(
        "miniaws-test/launch-cut-{}:latest",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    docker(&["tag", &image, &doomed]);

    let port = compute_support::free_port();
    let mut request = launch("before", &image, SLEEP);
    request.ports = vec![format!("{port}:80")];
    request.instance_type = Some("t3.small".into());
    proxy.hold_create.store(true, Ordering::SeqCst);
    let before = launch_held(&alice, &proxy, request, 1).await;
    proxy.hold_create_answer.store(true, Ordering::SeqCst);
    let after = launch_held(&alice, &proxy, launch("after", &image, SLEEP), 2).await;
    let made = wait_for_containers(after.id, 1).await.remove(0);
    proxy.hold_create.store(true, Ordering::SeqCst);
    let gone = launch_held(&alice, &proxy, launch("gone", &doomed, SLEEP), 3).await;
    assert!(containers_of_instance(before.id).is_empty());
    assert!(containers_of_instance(gone.id).is_empty());

    server.kill().await;
    docker(&["rmi", &doomed]);
    server.restart().await;
    let alice = server.client().with_api_key(key.key.clone());

    let b = wait_for(&alice, before.id, 20, "RUNNING", |i| i.state != "STARTING").await;
    assert_eq!(
        (b.state.as_str(), b.state_reason.as_deref()),
        ("RUNNING", None),
        "{b:?}"
    );
    let b_cid = b.container_id.clone().expect("recorded");
    assert_eq!(containers_of_instance(before.id), vec![b_cid.clone()]);
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{.State.Running}} {{.HostConfig.Memory}}",
            &b_cid
        ]),
        format!("true {}", 2u64 << 30),
        "made from the row: running, with its type's memory"
    );
    assert!(
        b.ports
            .iter()
            .any(|p| p.host_port == Some(port) && p.container_port == 80),
        "on its fixed host port: {b:?}"
    );

    let a = wait_for(&alice, after.id, 20, "RUNNING", |i| i.state != "STARTING").await;
    assert_eq!(a.state, "RUNNING", "{a:?}");
    assert_eq!(
        a.container_id.as_deref(),
        Some(made.as_str()),
        "the container Docker made is adopted"
    );
    assert_eq!(containers_of_instance(after.id), vec![made.clone()]);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &made]),
        "true"
    );

    let g = wait_for(&alice, gone.id, 20, "ERROR", |i| i.state != "STARTING").await;
    assert_eq!(
        (g.state.as_str(), g.container_id.as_deref()),
        ("ERROR", None)
    );
    let reason = g.state_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("interrupted") && reason.contains("could not be finished"),
        "{reason}"
    );
    assert!(containers_of_instance(gone.id).is_empty());

    // Crashes while the resync finishes a launch: its create held (never
    // reaching Docker), then its create's answer held (Docker makes it).
    proxy.hold_create.store(true, Ordering::SeqCst);
    let again = launch_held(&alice, &proxy, launch("again", &image, SLEEP), 4).await;
    server.kill().await;
    proxy.hold_create.store(true, Ordering::SeqCst);
    server.restart().await;
    creates_held(&proxy, 5).await;
    server.kill().await;
    assert!(containers_of_instance(again.id).is_empty());
    proxy.hold_create_answer.store(true, Ordering::SeqCst);
    server.restart().await;
    creates_held(&proxy, 6).await;
    let made_again = wait_for_containers(again.id, 1).await.remove(0);
    server.kill().await;
    server.restart().await;
    let alice = server.client().with_api_key(key.key.clone());
    let r = wait_for(&alice, again.id, 20, "RUNNING", |i| i.state != "STARTING").await;
    assert_eq!(
        (r.state.as_str(), r.container_id.as_deref()),
        ("RUNNING", Some(made_again.as_str())),
        "{r:?}"
    );
    assert_eq!(containers_of_instance(again.id), vec![made_again]);

    // Every container of the user is one its row names.
    let rows = alice.list_instances(true).await.expect("list");
    for cid in compute_support::containers_of(&key.user_id.to_string()) {
        assert!(
            rows.iter()
                .any(|r| r.container_id.as_deref() == Some(cid.as_str())),
            "container {cid} belongs to no row: {rows:?}"
        );
    }
    let log = server.log();
    assert!(!log.contains("panicked"), "no panic in the log");
}

#[tokio::test]
async fn launches_cut_by_a_crash_are_finished_after_the_restart_on_sqlite() {
    launches_cut_by_a_crash_are_finished_after_the_restart(Backend::Sqlite).await;
}

#[tokio::test]
async fn launches_cut_by_a_crash_are_finished_after_the_restart_on_postgres() {
    launches_cut_by_a_crash_are_finished_after_the_restart(Backend::Postgres).await;
}
