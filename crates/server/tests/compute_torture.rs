//! A seeded torture test of compute against the real server and the real
//! Docker daemon, on SQLite and on Postgres.
//!
//! Two users run a random mix of launches (a workload that stays up, one
//! that exits at once, auto-assigned or fixed host ports on 127.0.0.1),
//! stops, starts, reboots, terminates, describes, lists, logs and stats,
//! plus conflicting pairs on one instance at the same moment
//! (stop+terminate, two terminates, start while stopping…), two launches
//! of one name, and pokes at the other user's instances. The server is
//! SIGKILLed at random moments while requests are in flight (a burst of
//! launches, stops, reboots and terminates just before), sometimes again
//! during the start-up resync, and once stays down past the window of
//! Docker events a restarted server replays while Docker finishes a reboot
//! the crash cut (a running container restarted, so its auto-assigned
//! host ports move). After each restart
//! (within a bounded time for reconciliation) and at the end, the rows are
//! checked against Docker itself, through the labels on the containers of
//! this test's two users only:
//!
//! - every labelled container belongs to exactly one live row of its owner,
//!   and that row names it;
//! - no row claims a container that does not exist, except a terminated
//!   one, and no terminated instance keeps a container;
//! - each row's state agrees with its container's (running or not), a
//!   running one's host ports with those Docker publishes, and no row is
//!   left `STARTING`/`STOPPING`;
//! - each user lists only their own instances, every instance a launch
//!   answered for is still listed, live names are unique per owner;
//! - every request gets a defined answer in bounded time: no 500, no 400
//!   for these valid requests, 404 exactly for other owners' instances,
//!   transport errors only while the server is down.
//!
//! The mix is reproducible from the seed printed at the start
//! (`MINIAWS_TORTURE_SEED=<n>` replays it; the timing of Docker and the
//! scheduler still varies). Every container is removed at the end, by
//! terminating through the API and, whatever happens, by the guard.

mod compute_support;

use compute_support::{ContainerGuard, free_port};
use miniaws_client::{Client, ClientError, Command, Instance, LaunchInstance, LogsOptions};
use miniaws_testkit::{Backend, TestServer, require_docker};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Rounds of concurrent operations; the first `KILLS` end in a SIGKILL.
const ROUNDS: u32 = 4;
/// How many rounds end with the server killed while requests are in flight.
const KILLS: u32 = 3;
/// How long a longer outage lasts: beyond the event replay window.
const OUTAGE: Duration = Duration::from_millis(2500);
/// Concurrent request loops per user.
const WORKERS_PER_USER: usize = 2;
/// How long the round that is not cut by a kill runs.
const CALM_ROUND: Duration = Duration::from_secs(4);
/// Most live instances a user keeps (a launch beyond terminates instead).
const MAX_LIVE_PER_USER: usize = 5;
/// Longest acceptable answer to one request: more is a hang. Above the
/// server's own limits (20 s a Docker call, then 503) with room for a
/// queue of requests on one instance and a loaded CI machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long reconciliation may take to bring rows and Docker in line
/// (it takes well under a second on a quiet machine).
const SETTLE_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test]
async fn torture_on_sqlite() {
    torture(Backend::Sqlite).await;
}

#[tokio::test]
async fn torture_on_postgres() {
    torture(Backend::Postgres).await;
}

/// The seed: `MINIAWS_TORTURE_SEED`, else a fresh one.
fn seed() -> u64 {
    match std::env::var("MINIAWS_TORTURE_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .expect("MINIAWS_TORTURE_SEED is an unsigned integer"),
        Err(_) => rand::random(),
    }
}

/// One user of the test: identity plus what the test knows of its
/// instances.
struct User {
    name: &'static str,
    id: Uuid,
    key: String,
    /// Instances believed live (targets of operations).
    live: Mutex<Vec<Uuid>>,
    /// Every instance a launch answered for: its row must never vanish.
    launched: Mutex<HashSet<Uuid>>,
}

/// What lasts across rounds.
struct Shared {
    seed: u64,
    backend: Backend,
    image: String,
    fixed_ports: [u16; 2],
    users: [User; 2],
    /// Broken promises seen by the request loops.
    problems: Mutex<Vec<String>>,
    /// Outcomes per operation, for the summary.
    tally: Mutex<BTreeMap<String, u32>>,
    names: AtomicU32,
}

/// One round: the clients of the current server process and whether it has
/// been killed.
struct Round {
    number: u32,
    clients: [Client; 2],
    killed: AtomicBool,
    until: Instant,
}

/// The operations on one instance.
#[derive(Debug, Clone, Copy)]
enum Op {
    Get,
    Stop,
    Start,
    Reboot,
    Terminate,
    Logs,
    Stats,
}

impl Shared {
    fn problem(&self, what: String) {
        eprintln!("[torture {:?}] PROBLEM: {what}", self.backend);
        self.problems.lock().expect("lock").push(what);
    }

    fn count(&self, what: String) {
        *self.tally.lock().expect("lock").entry(what).or_default() += 1;
    }

    /// Judges one answer: returns the value when there is one, records a
    /// problem when the answer breaks a promise. `foreign` says the
    /// instance is another user's, so that 404 is the only right answer.
    fn judge<T>(
        &self,
        round: &Round,
        what: &str,
        answer: Result<Result<T, ClientError>, tokio::time::error::Elapsed>,
        foreign: bool,
    ) -> Option<T> {
        let killed = round.killed.load(Ordering::SeqCst);
        match answer {
            Err(_) if killed => {
                self.count(format!("{what} cut by the kill"));
                None
            }
            Err(_) => {
                self.problem(format!(
                    "round {}: {what} got no answer within {} s",
                    round.number,
                    REQUEST_TIMEOUT.as_secs()
                ));
                None
            }
            Ok(Ok(v)) => {
                if foreign {
                    self.problem(format!(
                        "round {}: {what} on another user's instance succeeded",
                        round.number
                    ));
                } else {
                    self.count(format!("{what} ok"));
                }
                Some(v)
            }
            Ok(Err(ClientError::Api {
                status,
                kind,
                message,
                ..
            })) => {
                let code = status.as_u16();
                let fine = match code {
                    404 => foreign,
                    // Illegal transitions, names in use, ports taken.
                    409 => !foreign,
                    // A documented dependency failure (Docker slow or gone).
                    503 => kind == "UNAVAILABLE",
                    _ => false,
                };
                if fine {
                    self.count(format!("{what} {code}"));
                    if code == 503 {
                        eprintln!("[torture {:?}] {what}: 503 {message}", self.backend);
                    }
                } else {
                    self.problem(format!(
                        "round {}: {what}{} answered {code} {kind}: {message}",
                        round.number,
                        if foreign { " (another user's)" } else { "" }
                    ));
                }
                None
            }
            Ok(Err(
                e @ (ClientError::Connect { .. }
                | ClientError::Transport(_)
                | ClientError::LaunchUnconfirmed { .. }),
            )) => {
                if killed {
                    self.count(format!("{what} cut by the kill"));
                } else {
                    self.problem(format!(
                        "round {}: {what} failed while the server was up: {e}",
                        round.number
                    ));
                }
                None
            }
            Ok(Err(e)) => {
                self.problem(format!("round {}: {what}: {e}", round.number));
                None
            }
        }
    }

    /// Checks what a successful answer says about the instance.
    fn check_answer(&self, round: &Round, user: usize, op: Op, id: Uuid, inst: &Instance) {
        let owner = self.users[user].id.to_string();
        if inst.id != id || !inst.arn.contains(&owner) {
            self.problem(format!(
                "round {}: {op:?} of {id} by {} answered with {} ({})",
                round.number, self.users[user].name, inst.id, inst.arn
            ));
        }
        let ok = match op {
            Op::Stop => matches!(inst.state.as_str(), "STOPPED" | "ERROR"),
            Op::Terminate => inst.state == "TERMINATED",
            Op::Start | Op::Reboot => {
                matches!(inst.state.as_str(), "RUNNING" | "STOPPED" | "ERROR")
            }
            Op::Get | Op::Logs | Op::Stats => true,
        };
        if !ok {
            self.problem(format!(
                "round {}: a successful {op:?} of {id} left it {}",
                round.number, inst.state
            ));
        }
    }
}

/// Runs `fut` with the request time limit.
async fn bounded<T>(
    fut: impl Future<Output = Result<T, ClientError>>,
) -> Result<Result<T, ClientError>, tokio::time::error::Elapsed> {
    tokio::time::timeout(REQUEST_TIMEOUT, fut).await
}

/// Runs `op` on instance `id` as `user`.
async fn run_op(shared: &Shared, round: &Round, user: usize, op: Op, id: Uuid, foreign: bool) {
    let client = &round.clients[user];
    let what = format!("{op:?}").to_lowercase();
    let answer = match op {
        Op::Get => bounded(client.get_instance(id)).await,
        Op::Stop => bounded(client.stop_instance(id)).await,
        Op::Start => bounded(client.start_instance(id)).await,
        Op::Reboot => bounded(client.reboot_instance(id)).await,
        Op::Terminate => bounded(client.terminate_instance(id)).await,
        Op::Logs => {
            let options = LogsOptions {
                tail: Some(5),
                ..LogsOptions::default()
            };
            let answer = bounded(client.instance_logs(id, &options)).await;
            shared.judge(round, &what, answer, foreign);
            return;
        }
        Op::Stats => {
            let answer = bounded(client.instance_stats(id)).await;
            shared.judge(round, &what, answer, foreign);
            return;
        }
    };
    if let Some(inst) = shared.judge(round, &what, answer, foreign) {
        shared.check_answer(round, user, op, id, &inst);
        if inst.state == "TERMINATED" {
            shared.users[user]
                .live
                .lock()
                .expect("lock")
                .retain(|i| *i != id);
        }
    }
}

/// A random launch request named `name`.
fn launch_request(shared: &Shared, rng: &mut StdRng, name: String) -> LaunchInstance {
    let command: &[&str] = if rng.gen_bool(0.2) {
        &["sh", "-c", "exit 3"]
    } else {
        &["sleep", "3600"]
    };
    let ports = match rng.gen_range(0..10) {
        0..=2 => vec!["80".to_owned()],
        3 => vec![format!(
            "{}:80",
            shared.fixed_ports[rng.gen_range(0..shared.fixed_ports.len())]
        )],
        _ => Vec::new(),
    };
    LaunchInstance {
        name,
        image: shared.image.clone(),
        ports,
        command: Some(Command::Args(
            command.iter().map(|s| (*s).to_owned()).collect(),
        )),
        ..LaunchInstance::default()
    }
}

async fn launch(shared: &Shared, round: &Round, user: usize, request: LaunchInstance) -> bool {
    let answer = bounded(round.clients[user].launch_instance(&request)).await;
    let Some(inst) = shared.judge(round, "launch", answer, false) else {
        return false;
    };
    let u = &shared.users[user];
    if !inst.arn.contains(&u.id.to_string()) || inst.name != request.name {
        shared.problem(format!(
            "round {}: the launch of {} by {} answered {} ({})",
            round.number, request.name, u.name, inst.name, inst.arn
        ));
    }
    u.launched.lock().expect("lock").insert(inst.id);
    if inst.state != "TERMINATED" {
        u.live.lock().expect("lock").push(inst.id);
    }
    true
}

fn pick(list: &Mutex<Vec<Uuid>>, rng: &mut StdRng) -> Option<Uuid> {
    list.lock().expect("lock").choose(rng).copied()
}

/// One request loop of `user` until the round ends or the server dies.
async fn worker(shared: Arc<Shared>, round: Arc<Round>, user: usize, mut rng: StdRng) {
    let me = &shared.users[user];
    let other = &shared.users[1 - user];
    while !round.killed.load(Ordering::SeqCst) && Instant::now() < round.until {
        let roll = rng.gen_range(0..100);
        let target = pick(&me.live, &mut rng);
        let full = me.live.lock().expect("lock").len() >= MAX_LIVE_PER_USER;
        match (roll, target) {
            (0..=21, _) | (_, None) if !full => {
                let n = shared.names.fetch_add(1, Ordering::SeqCst);
                let request = launch_request(&shared, &mut rng, format!("t{n}"));
                launch(&shared, &round, user, request).await;
            }
            (0..=21, Some(id)) => run_op(&shared, &round, user, Op::Terminate, id, false).await,
            (22..=33, Some(id)) => run_op(&shared, &round, user, Op::Stop, id, false).await,
            (34..=45, Some(id)) => run_op(&shared, &round, user, Op::Start, id, false).await,
            (46..=53, Some(id)) => run_op(&shared, &round, user, Op::Reboot, id, false).await,
            (54..=63, Some(id)) => run_op(&shared, &round, user, Op::Terminate, id, false).await,
            (64..=69, Some(id)) => run_op(&shared, &round, user, Op::Get, id, false).await,
            (70, Some(id)) => {
                let op = if rng.gen_bool(0.25) {
                    Op::Stats
                } else {
                    Op::Logs
                };
                run_op(&shared, &round, user, op, id, false).await;
            }
            (71, Some(id)) => run_op(&shared, &round, user, Op::Logs, id, false).await,
            (72..=77, _) => {
                let answer = bounded(round.clients[user].list_instances(rng.gen_bool(0.5))).await;
                if let Some(rows) = shared.judge(&round, "list", answer, false) {
                    let owner = me.id.to_string();
                    for row in rows.iter().filter(|r| !r.arn.contains(&owner)) {
                        shared.problem(format!(
                            "round {}: {} lists {} ({}), not theirs",
                            round.number, me.name, row.id, row.arn
                        ));
                    }
                }
            }
            (78..=91, Some(id)) => {
                // Two conflicting requests on one instance at once.
                const PAIRS: [(Op, Op); 7] = [
                    (Op::Stop, Op::Terminate),
                    (Op::Terminate, Op::Terminate),
                    (Op::Start, Op::Stop),
                    (Op::Stop, Op::Stop),
                    (Op::Reboot, Op::Terminate),
                    (Op::Start, Op::Terminate),
                    (Op::Reboot, Op::Stop),
                ];
                let (a, b) = PAIRS[rng.gen_range(0..PAIRS.len())];
                tokio::join!(
                    run_op(&shared, &round, user, a, id, false),
                    run_op(&shared, &round, user, b, id, false)
                );
            }
            (92..=95, _) if !full => {
                // Two launches of one name at once: one may win.
                let n = shared.names.fetch_add(1, Ordering::SeqCst);
                let first = launch_request(&shared, &mut rng, format!("t{n}"));
                let second = launch_request(&shared, &mut rng, format!("t{n}"));
                let (a, b) = tokio::join!(
                    launch(&shared, &round, user, first),
                    launch(&shared, &round, user, second)
                );
                if a && b {
                    shared.problem(format!(
                        "round {}: two concurrent launches of t{n} both succeeded",
                        round.number
                    ));
                }
            }
            _ => {
                // Another user's instance: only ever 404.
                if let Some(id) = pick(&other.live, &mut rng) {
                    const POKES: [Op; 7] = [
                        Op::Get,
                        Op::Stop,
                        Op::Start,
                        Op::Reboot,
                        Op::Terminate,
                        Op::Logs,
                        Op::Stats,
                    ];
                    let op = POKES[rng.gen_range(0..POKES.len())];
                    run_op(&shared, &round, user, op, id, true).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..60))).await;
    }
}

/// A labelled container as Docker lists it.
#[derive(Debug)]
struct Container {
    id: String,
    instance: String,
    state: String,
    /// Published ports as `(host port, container port, protocol)`.
    ports: BTreeSet<(u16, u16, String)>,
}

/// Docker's `{{.Ports}}`, e.g. `127.0.0.1:32768->80/tcp, 81/tcp`: the
/// published ones.
fn published(ports: &str) -> BTreeSet<(u16, u16, String)> {
    ports
        .split(", ")
        .filter_map(|p| {
            let (host, inner) = p.split_once("->")?;
            let host_port = host.rsplit_once(':')?.1.parse().ok()?;
            let (port, proto) = inner.split_once('/')?;
            Some((host_port, port.parse().ok()?, proto.to_owned()))
        })
        .collect()
}

/// Every container labelled with `owner`, straight from Docker.
async fn containers_of(owner: Uuid) -> Vec<Container> {
    let out = tokio::process::Command::new("docker")
        .args(["ps", "-a", "--no-trunc", "--filter"])
        .arg(format!("label=miniaws.owner={owner}"))
        .args([
            "--format",
            "{{.ID}}|{{.Label \"miniaws.instance-id\"}}|{{.State}}|{{.Ports}}",
        ])
        .output()
        .await
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker ps failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('|');
            Some(Container {
                id: parts.next()?.to_owned(),
                instance: parts.next()?.to_owned(),
                state: parts.next()?.to_owned(),
                ports: published(parts.next().unwrap_or("")),
            })
        })
        .collect()
}

/// Everything about the rows of both users that disagrees with Docker or
/// with ownership; empty when the world and the rows agree.
async fn violations(shared: &Shared, clients: &[Client; 2]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rows_of: [Vec<Instance>; 2] = [Vec::new(), Vec::new()];
    for (u, user) in shared.users.iter().enumerate() {
        match bounded(clients[u].list_instances(true)).await {
            Ok(Ok(rows)) => rows_of[u] = rows,
            other => {
                out.push(format!(
                    "{}'s list failed: {:?}",
                    user.name,
                    other.map(|r| r.map(|v| v.len()))
                ));
                return out;
            }
        }
    }
    for (u, user) in shared.users.iter().enumerate() {
        let rows = &rows_of[u];
        let owner = user.id.to_string();
        let ids: HashSet<Uuid> = rows.iter().map(|r| r.id).collect();
        for row in rows.iter().filter(|r| !r.arn.contains(&owner)) {
            out.push(format!(
                "{} lists {} ({}), not theirs",
                user.name, row.id, row.arn
            ));
        }
        for row in rows_of[1 - u].iter().filter(|r| ids.contains(&r.id)) {
            out.push(format!("{} is listed for both users", row.id));
        }
        for id in user.launched.lock().expect("lock").iter() {
            if !ids.contains(id) {
                out.push(format!("{}'s launched instance {id} vanished", user.name));
            }
        }
        let mut names = HashSet::new();
        for row in rows.iter().filter(|r| r.state != "TERMINATED") {
            if !names.insert(row.name.as_str()) {
                out.push(format!(
                    "{} has two live instances named {}",
                    user.name, row.name
                ));
            }
        }

        let containers = containers_of(user.id).await;
        let by_id: HashMap<&str, &Container> =
            containers.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut per_instance: HashMap<&str, u32> = HashMap::new();
        for c in &containers {
            *per_instance.entry(c.instance.as_str()).or_default() += 1;
            let row = rows.iter().find(|r| r.id.to_string() == c.instance);
            match row {
                None => out.push(format!(
                    "orphan: container {} ({}) of {} belongs to no row of its owner",
                    &c.id[..12],
                    c.state,
                    c.instance
                )),
                Some(r) if r.state == "TERMINATED" => out.push(format!(
                    "terminated instance {} still has container {} ({})",
                    r.id,
                    &c.id[..12],
                    c.state
                )),
                Some(r) if r.container_id.as_deref() != Some(c.id.as_str()) => out.push(format!(
                    "container {} ({}) is labelled {} but the row ({}) names {:?}",
                    &c.id[..12],
                    c.state,
                    r.id,
                    r.state,
                    r.container_id
                )),
                Some(_) => {}
            }
        }
        for (instance, n) in per_instance.iter().filter(|(_, n)| **n > 1) {
            out.push(format!("instance {instance} has {n} containers"));
        }
        for row in rows {
            let container = row.container_id.as_deref().and_then(|c| by_id.get(c));
            if let Some(c) = container.filter(|c| row.state == "RUNNING" && c.state == "running") {
                let claimed: BTreeSet<(u16, u16, String)> = row
                    .ports
                    .iter()
                    .filter_map(|p| Some((p.host_port?, p.container_port, p.protocol.clone())))
                    .collect();
                if claimed != c.ports {
                    out.push(format!(
                        "row {} of {} says its ports are {claimed:?} but Docker publishes {:?}",
                        row.id, user.name, c.ports
                    ));
                }
            }
            let running = container.map(|c| matches!(c.state.as_str(), "running" | "restarting"));
            let fine = match (row.state.as_str(), running) {
                ("TERMINATED", _) => true,
                ("RUNNING", Some(true)) => true,
                ("STOPPED", Some(false)) => true,
                // A launch cut before its container was recorded, or
                // whose container went with it.
                ("ERROR", None) => row
                    .state_reason
                    .as_deref()
                    .is_some_and(|r| r.contains("interrupted")),
                ("ERROR", Some(false)) => true,
                _ => false,
            };
            if !fine {
                out.push(format!(
                    "row {} of {} says {} ({:?}) but its container {:?} is {}",
                    row.id,
                    user.name,
                    row.state,
                    row.state_reason,
                    row.container_id.as_deref().map(|c| &c[..12]),
                    match (container, running) {
                        (None, _) => "missing".to_owned(),
                        (Some(c), _) => c.state.clone(),
                    }
                ));
            }
        }
    }
    out
}

/// Waits until the rows and Docker agree; fails the test with what still
/// disagrees after `SETTLE_WITHIN`. Returns the time it took.
async fn settle(shared: &Shared, clients: &[Client; 2], when: &str) -> Duration {
    let started = Instant::now();
    loop {
        let v = violations(shared, clients).await;
        if v.is_empty() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < SETTLE_WITHIN,
            "seed {} on {:?}, {when}: the rows and Docker still disagree after {} s:\n  {}",
            shared.seed,
            shared.backend,
            SETTLE_WITHIN.as_secs(),
            v.join("\n  ")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Fails the test when the request loops saw a broken promise.
fn assert_no_problems(shared: &Shared, server: &TestServer, when: &str) {
    let problems = shared.problems.lock().expect("lock");
    assert!(
        problems.is_empty(),
        "seed {} on {:?}, {when}:\n  {}\nserver log (tail):\n{}",
        shared.seed,
        shared.backend,
        problems.join("\n  "),
        tail(&server.log(), 60)
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn clients(server: &TestServer, shared: &Shared) -> [Client; 2] {
    // The server comes back on other ports here, so a cut launch's resends
    // (15 s by default, for a restart on the same port) cannot reach it:
    // a short window keeps the rounds short.
    [0, 1].map(|u| {
        server
            .client()
            .with_api_key(shared.users[u].key.clone())
            .with_launch_retry_window(Duration::from_secs(1))
    })
}

async fn torture(backend: Backend) {
    let Some(image) = require_docker() else {
        return;
    };
    let seed = seed();
    eprintln!(
        "[torture {backend:?}] seed {seed} (MINIAWS_TORTURE_SEED={seed} replays this mix of operations)"
    );
    // Made before the server, so dropped after it: on a failure the server
    // is killed first, and nothing creates a container behind the cleanup.
    let mut guard = ContainerGuard::new();
    let Some(mut server) = TestServer::start_with(
        backend,
        &["--stop-grace-secs", "1", "--resync-interval-secs", "2"],
        &[],
    )
    .await
    else {
        return;
    };
    let mut users = Vec::new();
    for name in ["alice", "bob"] {
        let (_, key) = server.user(name).await;
        guard.watch(key.user_id);
        users.push(User {
            name,
            id: key.user_id,
            key: key.key,
            live: Mutex::new(Vec::new()),
            launched: Mutex::new(HashSet::new()),
        });
    }
    let [alice, bob]: [User; 2] = users.try_into().ok().expect("two users");
    let shared = Arc::new(Shared {
        seed,
        backend,
        image,
        fixed_ports: [free_port(), free_port()],
        users: [alice, bob],
        problems: Mutex::new(Vec::new()),
        tally: Mutex::new(BTreeMap::new()),
        names: AtomicU32::new(0),
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut kills = 0;
    // One kill round is followed by a longer outage.
    let outage_round = rng.gen_range(0..KILLS);

    for number in 0..ROUNDS {
        let kill_after = (number < KILLS).then(|| Duration::from_millis(rng.gen_range(1000..3500)));
        let round = Arc::new(Round {
            number,
            clients: clients(&server, &shared),
            killed: AtomicBool::new(false),
            until: Instant::now() + kill_after.map_or(CALM_ROUND, |k| k * 3),
        });
        let workers: Vec<_> = (0..WORKERS_PER_USER * 2)
            .map(|w| {
                let worker_rng = StdRng::seed_from_u64(rng.r#gen());
                tokio::spawn(worker(shared.clone(), round.clone(), w % 2, worker_rng))
            })
            .collect();
        let mut burst = Vec::new();
        if let Some(after) = kill_after {
            tokio::time::sleep(after).await;
            // A burst of launches, stops, reboots and terminates, so that the kill
            // lands inside them (between Docker's create and the row
            // recording it, between a terminate's row and its removal…).
            for _ in 0..rng.gen_range(2..6) {
                let (shared, round) = (shared.clone(), round.clone());
                let user = rng.gen_range(0..2);
                let mut op_rng = StdRng::seed_from_u64(rng.r#gen());
                burst.push(tokio::spawn(async move {
                    let target = pick(&shared.users[user].live, &mut op_rng);
                    match (op_rng.gen_range(0..4), target) {
                        (1, Some(id)) => run_op(&shared, &round, user, Op::Stop, id, false).await,
                        (3, Some(id)) => {
                            run_op(&shared, &round, user, Op::Reboot, id, false).await;
                        }
                        (2, Some(id)) => {
                            run_op(&shared, &round, user, Op::Terminate, id, false).await;
                        }
                        _ => {
                            let n = shared.names.fetch_add(1, Ordering::SeqCst);
                            let request = launch_request(&shared, &mut op_rng, format!("t{n}"));
                            launch(&shared, &round, user, request).await;
                        }
                    }
                }));
            }
            let delay = Duration::from_millis(rng.gen_range(0..300));
            tokio::time::sleep(delay).await;
            round.killed.store(true, Ordering::SeqCst);
            server.kill().await;
            kills += 1;
            eprintln!(
                "[torture {backend:?}] round {number}: SIGKILL after {:?}",
                after + delay
            );
        }
        for w in workers.into_iter().chain(burst) {
            w.await.expect("a request loop panicked");
        }
        assert_no_problems(&shared, &server, &format!("round {number}"));
        if kill_after.is_some() {
            if number == outage_round {
                // A longer outage: what Docker finishes meanwhile (a cut
                // reboot's restart, a late create) falls out of the window
                // of events the next server replays; only its resync sees it.
                // Meanwhile Docker finishes a reboot the crash cut (played
                // here by restarting a running container): it comes back on
                // new auto-assigned host ports.
                let mut running = Vec::new();
                for user in &shared.users {
                    running.extend(
                        containers_of(user.id)
                            .await
                            .into_iter()
                            .filter(|c| c.state == "running"),
                    );
                }
                // Preferably one with published ports.
                running.sort_by_key(|c| (c.ports.is_empty(), c.id.clone()));
                let published = running.iter().filter(|c| !c.ports.is_empty()).count();
                let running: Vec<String> = running
                    .into_iter()
                    .take(published.max(1))
                    .map(|c| c.id)
                    .collect();
                if let Some(cid) = running.choose(&mut rng) {
                    let out = tokio::process::Command::new("docker")
                        .args(["restart", "-t", "1", cid])
                        .output()
                        .await
                        .expect("the docker CLI runs");
                    // It may be going: a terminate the kill cut can have
                    // left its removal to Docker. The rows must follow
                    // whatever the world became.
                    eprintln!(
                        "[torture {backend:?}] round {number}: docker restart {}: {}",
                        &cid[..12],
                        if out.status.success() {
                            "done".into()
                        } else {
                            String::from_utf8_lossy(&out.stderr).trim().to_owned()
                        }
                    );
                }
                tokio::time::sleep(OUTAGE).await;
                eprintln!("[torture {backend:?}] round {number}: down for {OUTAGE:?}");
            }
            server.restart().await;
            if rng.gen_bool(0.5) {
                // Once more while the start-up resync settles the crash.
                let during = Duration::from_millis(rng.gen_range(0..400));
                tokio::time::sleep(during).await;
                server.kill().await;
                kills += 1;
                eprintln!(
                    "[torture {backend:?}] round {number}: SIGKILL {during:?} into the start-up resync"
                );
                server.restart().await;
            }
        }
        let clients = clients(&server, &shared);
        let took = settle(&shared, &clients, &format!("after round {number}")).await;
        eprintln!("[torture {backend:?}] round {number}: rows and Docker agree after {took:?}");
        // Rows whose launch answer the kill swallowed become targets too.
        for (u, user) in shared.users.iter().enumerate() {
            let rows = clients[u].list_instances(false).await.expect("list");
            *user.live.lock().expect("lock") = rows.iter().map(|r| r.id).collect();
        }
    }

    // The end: terminate everything through the API; no container is left.
    let clients = clients(&server, &shared);
    for (u, user) in shared.users.iter().enumerate() {
        let live: Vec<Uuid> = user.live.lock().expect("lock").clone();
        for id in live {
            let inst = clients[u]
                .terminate_instance(id)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: terminating {id} failed: {e}"));
            assert_eq!(inst.state, "TERMINATED", "seed {seed}: {inst:?}");
        }
    }
    settle(&shared, &clients, "after terminating everything").await;
    for user in &shared.users {
        let left = containers_of(user.id).await;
        assert!(
            left.is_empty(),
            "seed {seed}: containers left after terminating everything: {left:?}"
        );
    }
    let tally = shared.tally.lock().expect("lock");
    let launched: usize = shared
        .users
        .iter()
        .map(|u| u.launched.lock().expect("lock").len())
        .sum();
    eprintln!(
        "[torture {backend:?}] seed {seed}: {launched} instances launched, {kills} kills, {:?}; outcomes: {:?}",
        started.elapsed(),
        *tally
    );
    drop(server);
    drop(guard);
}
