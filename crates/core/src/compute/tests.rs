//! Service tests against in-memory fakes of the repository and the runtime.

use async_trait::async_trait;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::Resource;
use crate::error::{ConflictKind, CoreError, CoreResult, Dependency};
use crate::identity::{ApiKeyId, Caller, UserId};

#[derive(Default)]
struct FakeRepo {
    rows: Mutex<Vec<Instance>>,
    /// Deletes fail (as when the database goes away mid-request).
    failing_deletes: AtomicBool,
    /// Fixed host ports and the live instance each is reserved for.
    reserved: Mutex<HashMap<(u16, Protocol), InstanceId>>,
}

impl FakeRepo {
    /// `instance`'s fixed host ports.
    fn fixed(instance: &Instance) -> Vec<(u16, Protocol)> {
        instance
            .ports
            .iter()
            .filter_map(|p| Some((p.host_port?, p.protocol)))
            .collect()
    }

    /// Claims `instance`'s free fixed ports, all or none.
    fn claim(&self, instance: &Instance) -> CoreResult<()> {
        let mut reserved = self.reserved.lock().unwrap();
        let wanted = Self::fixed(instance);
        if let Some((port, proto)) = wanted
            .iter()
            .find(|k| reserved.get(k).is_some_and(|holder| *holder != instance.id))
        {
            return Err(CoreError::conflict(
                ConflictKind::PortInUse,
                format!(
                    "host port {port}/{} is reserved by another instance",
                    proto.as_str()
                ),
            ));
        }
        for k in wanted {
            reserved.insert(k, instance.id);
        }
        Ok(())
    }
}

#[async_trait]
impl InstanceRepo for FakeRepo {
    async fn insert(&self, instance: &Instance) -> CoreResult<()> {
        let mut rows = self.rows.lock().unwrap();
        if rows
            .iter()
            .any(|r| r.owner == instance.owner && r.name == instance.name && r.deleted_at.is_none())
        {
            return Err(CoreError::conflict(
                ConflictKind::AlreadyExists,
                format!("an instance named `{}` already exists", instance.name),
            ));
        }
        self.claim(instance)?;
        rows.push(instance.clone());
        Ok(())
    }
    async fn reserve_host_ports(&self, instance: &Instance) -> CoreResult<()> {
        self.claim(instance)
    }
    async fn get(&self, owner: UserId, id: InstanceId) -> CoreResult<Instance> {
        self.rows
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.id == id && r.owner == owner)
            .cloned()
            .ok_or_else(|| CoreError::not_found(Resource::Instance, id.to_string()))
    }
    async fn get_by_ec2_id(&self, owner: UserId, id: &Ec2InstanceId) -> CoreResult<Instance> {
        self.rows
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.ec2_id() == *id && r.owner == owner)
            .cloned()
            .ok_or_else(|| CoreError::not_found(Resource::Instance, id.to_string()))
    }
    async fn find_by_client_token(&self, owner: UserId, token: &str) -> CoreResult<Vec<Instance>> {
        let mut out: Vec<Instance> = self
            .rows
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.owner == owner && r.client_token() == Some(token))
            .cloned()
            .collect();
        out.sort_by_key(Instance::launch_index);
        Ok(out)
    }
    async fn find(&self, id: InstanceId) -> CoreResult<Option<Instance>> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .cloned())
    }
    async fn list(&self, owner: UserId, query: &ListQuery) -> CoreResult<Vec<Instance>> {
        let rows = self.rows.lock().unwrap();
        let mut out: Vec<Instance> = rows
            .iter()
            .filter(|r| r.owner == owner && (query.include_terminated || r.deleted_at.is_none()))
            .cloned()
            .collect();
        out.sort_by_key(|r| (r.created_at, r.id));
        if let Some(a) = query.after {
            out.retain(|r| (r.created_at, r.id) > (a.created_at, a.id));
        }
        out.truncate(query.limit as usize);
        Ok(out)
    }
    async fn list_live(&self) -> CoreResult<Vec<Instance>> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.deleted_at.is_none())
            .cloned()
            .collect())
    }
    async fn update(&self, instance: &Instance) -> CoreResult<()> {
        let mut rows = self.rows.lock().unwrap();
        let row = rows
            .iter_mut()
            .find(|r| r.id == instance.id)
            .ok_or_else(|| CoreError::not_found(Resource::Instance, instance.id.to_string()))?;
        // As the adapters: the name and tags are `relabel`'s alone.
        let labels = row.labels();
        *row = instance.clone();
        row.name = labels.name;
        row.tags = labels.tags;
        if instance.deleted_at.is_some() {
            self.reserved
                .lock()
                .unwrap()
                .retain(|_, holder| *holder != instance.id);
        }
        Ok(())
    }
    async fn relabel(
        &self,
        id: InstanceId,
        expected: &Labels,
        new: &Labels,
        updated_at: time::OffsetDateTime,
    ) -> CoreResult<bool> {
        let mut rows = self.rows.lock().unwrap();
        let Some(at) = rows.iter().position(|r| r.id == id) else {
            return Ok(false);
        };
        if rows[at].labels() != *expected {
            return Ok(false);
        }
        let (owner, live) = (rows[at].owner, rows[at].deleted_at.is_none());
        if live
            && new.name != expected.name
            && rows
                .iter()
                .any(|r| r.owner == owner && r.name == new.name && r.deleted_at.is_none())
        {
            return Err(CoreError::conflict(
                ConflictKind::AlreadyExists,
                format!("an instance named `{}` already exists", new.name),
            ));
        }
        let row = &mut rows[at];
        row.name = new.name.clone();
        row.tags = new.tags.clone();
        row.updated_at = updated_at;
        Ok(true)
    }
    async fn delete(&self, id: InstanceId) -> CoreResult<()> {
        if self.failing_deletes.load(Ordering::SeqCst) {
            return Err(CoreError::unavailable(
                crate::error::Dependency::Database,
                "the database went away",
            ));
        }
        self.rows.lock().unwrap().retain(|r| r.id != id);
        self.reserved
            .lock()
            .unwrap()
            .retain(|_, holder| *holder != id);
        Ok(())
    }
}

#[derive(Clone)]
struct FakeContainer {
    spec: ContainerSpec,
    running: bool,
    exit_code: Option<i64>,
    oom: bool,
    ports: Vec<PublishedPort>,
    started_at: Option<time::OffsetDateTime>,
}

#[derive(Default)]
struct FakeDriver {
    images: Mutex<HashSet<String>>,
    containers: Mutex<HashMap<String, FakeContainer>>,
    taken_ports: Mutex<HashSet<u16>>,
    down: AtomicBool,
    next: AtomicU32,
    inspections: AtomicU32,
    /// Removals fail (as when Docker goes away mid-request).
    failing_removes: AtomicBool,
    /// The next create makes its container, but its answer is lost.
    lose_create_answer: AtomicBool,
    /// The next create never reaches Docker (the connection is refused).
    refuse_create: AtomicBool,
    /// Creates of an image not in `images` fail, as Docker's do.
    refuse_image_on_create: AtomicBool,
    /// A terminate that lands while the next logs call is on its way:
    /// the row to record as terminated, in this repository.
    terminate_during_logs: Mutex<Option<(Arc<FakeRepo>, Instance)>>,
    /// The sizes of terminals: each session's first, then its resizes.
    tty_sizes: Arc<Mutex<Vec<TerminalSize>>>,
}

/// The fake's terminal: records every size it is given.
struct FakeResizer(Arc<Mutex<Vec<TerminalSize>>>);

#[async_trait]
impl TerminalResizer for FakeResizer {
    async fn resize(&self, size: TerminalSize) -> CoreResult<()> {
        self.0.lock().unwrap().push(size);
        Ok(())
    }
}

impl FakeDriver {
    fn with_image(image: &str) -> Arc<Self> {
        let d = Self::default();
        d.images.lock().unwrap().insert(image.to_owned());
        d.next.store(40000, Ordering::SeqCst);
        Arc::new(d)
    }
    fn check(&self) -> CoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(CoreError::unavailable(Dependency::Docker, "Docker is down"))
        } else {
            Ok(())
        }
    }
    fn info(cid: &str, c: &FakeContainer) -> ContainerInfo {
        ContainerInfo {
            container_id: cid.to_owned(),
            status: if c.running {
                ContainerStatus::Running
            } else {
                ContainerStatus::Exited
            },
            exit_code: c.exit_code,
            oom_killed: c.oom,
            error: None,
            ports: if c.running {
                c.ports.clone()
            } else {
                Vec::new()
            },
            ip_address: c.running.then(|| "172.17.0.9".to_owned()),
            started_at: c.started_at,
            paused: false,
        }
    }
    /// What an exec into `cid` first checks: Docker up, the container
    /// there and running.
    fn check_running(&self, cid: &str) -> CoreResult<()> {
        self.check()?;
        let map = self.containers.lock().unwrap();
        let c = map.get(cid).ok_or_else(|| Self::gone(cid))?;
        if !c.running {
            return Err(CoreError::conflict(
                ConflictKind::InvalidState,
                format!("container {cid} is not running"),
            ));
        }
        Ok(())
    }
    fn gone(cid: &str) -> CoreError {
        CoreError::not_found(Resource::Instance, cid)
    }
    fn count(&self) -> usize {
        self.containers.lock().unwrap().len()
    }
    fn set(&self, cid: &str, f: impl FnOnce(&mut FakeContainer)) {
        f(self.containers.lock().unwrap().get_mut(cid).unwrap());
    }
}

#[async_trait]
impl ComputeDriver for FakeDriver {
    async fn host_cpus(&self) -> CoreResult<u32> {
        self.check()?;
        Ok(2)
    }
    async fn ensure_image(&self, image: &str) -> CoreResult<()> {
        self.check()?;
        if self.images.lock().unwrap().contains(image) {
            Ok(())
        } else {
            Err(CoreError::not_found(
                Resource::Image,
                format!("{image} (not present and cannot be pulled)"),
            ))
        }
    }
    async fn create(&self, spec: &ContainerSpec) -> CoreResult<String> {
        self.check()?;
        if self.refuse_create.swap(false, Ordering::SeqCst) {
            return Err(CoreError::unavailable(
                Dependency::Docker,
                "Docker refused the connection",
            ));
        }
        if self.refuse_image_on_create.load(Ordering::SeqCst)
            && !self.images.lock().unwrap().contains(&spec.image)
        {
            return Err(CoreError::not_found(
                Resource::Instance,
                format!("container (No such image: {})", spec.image),
            ));
        }
        let cid = format!("c{}", self.next.fetch_add(1, Ordering::SeqCst));
        self.containers.lock().unwrap().insert(
            cid.clone(),
            FakeContainer {
                spec: spec.clone(),
                running: false,
                exit_code: None,
                oom: false,
                ports: Vec::new(),
                started_at: None,
            },
        );
        if self.lose_create_answer.swap(false, Ordering::SeqCst) {
            return Err(CoreError::unavailable_outcome_unknown(
                Dependency::Docker,
                "the connection to Docker broke",
            ));
        }
        Ok(cid)
    }
    async fn start(&self, cid: &str) -> CoreResult<ContainerInfo> {
        self.check()?;
        let mut map = self.containers.lock().unwrap();
        let c = map.get_mut(cid).ok_or_else(|| Self::gone(cid))?;
        let taken = self.taken_ports.lock().unwrap();
        if let Some(p) = c
            .spec
            .ports
            .iter()
            .find_map(|p| p.host_port.filter(|h| taken.contains(h)))
        {
            return Err(CoreError::conflict(
                ConflictKind::PortInUse,
                format!("host port {p} is already in use"),
            ));
        }
        c.ports = c
            .spec
            .ports
            .iter()
            .map(|p| PublishedPort {
                host_ip: "127.0.0.1".into(),
                host_port: p
                    .host_port
                    .unwrap_or_else(|| self.next.fetch_add(1, Ordering::SeqCst) as u16),
                container_port: p.container_port,
                protocol: p.protocol,
            })
            .collect();
        c.running = true;
        c.exit_code = None;
        c.started_at = Some(crate::clock::now_utc());
        Ok(Self::info(cid, c))
    }
    async fn resize(&self, cid: &str, nano_cpus: i64, memory_bytes: i64) -> CoreResult<()> {
        self.check()?;
        let mut map = self.containers.lock().unwrap();
        let c = map.get_mut(cid).ok_or_else(|| Self::gone(cid))?;
        (c.spec.nano_cpus, c.spec.memory_bytes) = (nano_cpus, memory_bytes);
        Ok(())
    }
    async fn stop(&self, cid: &str, _grace: Duration) -> CoreResult<ContainerInfo> {
        self.check()?;
        let mut map = self.containers.lock().unwrap();
        let c = map.get_mut(cid).ok_or_else(|| Self::gone(cid))?;
        if c.running {
            c.running = false;
            c.exit_code = Some(143);
        }
        Ok(Self::info(cid, c))
    }
    async fn restart(&self, cid: &str, grace: Duration) -> CoreResult<ContainerInfo> {
        self.stop(cid, grace).await?;
        self.start(cid).await
    }
    async fn remove(&self, cid: &str) -> CoreResult<()> {
        self.check()?;
        if self.failing_removes.load(Ordering::SeqCst) {
            return Err(CoreError::unavailable(
                Dependency::Docker,
                "Docker went away",
            ));
        }
        self.containers.lock().unwrap().remove(cid);
        Ok(())
    }
    async fn inspect(&self, cid: &str) -> CoreResult<Option<ContainerInfo>> {
        self.check()?;
        self.inspections.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .containers
            .lock()
            .unwrap()
            .get(cid)
            .map(|c| Self::info(cid, c)))
    }
    async fn list_containers(&self) -> CoreResult<Vec<ContainerSummary>> {
        self.check()?;
        Ok(self
            .containers
            .lock()
            .unwrap()
            .iter()
            .map(|(cid, c)| {
                let info = Self::info(cid, c);
                ContainerSummary {
                    container_id: cid.clone(),
                    instance_id: c.spec.instance_id,
                    status: info.status,
                    ports: info.ports,
                    ip_address: info.ip_address,
                    paused: info.paused,
                }
            })
            .collect())
    }
    async fn list_images(&self) -> CoreResult<Vec<ImageSummary>> {
        self.check()?;
        // In the set's (arbitrary) order: the service sorts.
        Ok(self
            .images
            .lock()
            .unwrap()
            .iter()
            .map(|name| ImageSummary {
                name: name.clone(),
                id: format!("sha256:{}", name.len()),
                created_at: time::OffsetDateTime::UNIX_EPOCH,
                size_bytes: 1024,
                architecture: Some("amd64".into()),
            })
            .collect())
    }
    async fn logs(&self, cid: &str, _options: &LogOptions) -> CoreResult<LogStream> {
        self.check()?;
        let racing = self.terminate_during_logs.lock().unwrap().take();
        if let Some((repo, mut row)) = racing {
            self.containers.lock().unwrap().remove(cid);
            row.state = InstanceState::Terminated;
            repo.update(&row).await?;
        }
        if !self.containers.lock().unwrap().contains_key(cid) {
            return Err(Self::gone(cid));
        }
        Ok(futures::stream::iter(vec![Ok(bytes::Bytes::from_static(b"hello\n"))]).boxed())
    }
    async fn stats(&self, cid: &str) -> CoreResult<InstanceStats> {
        self.check()?;
        let map = self.containers.lock().unwrap();
        let c = map.get(cid).ok_or_else(|| Self::gone(cid))?;
        Ok(InstanceStats {
            cpu_percent: 1.5,
            memory_usage_bytes: 1024,
            memory_limit_bytes: c.spec.memory_bytes as u64,
            network_rx_bytes: 1,
            network_tx_bytes: 2,
            read_at: crate::clock::now_utc(),
        })
    }
    async fn exec(&self, cid: &str, spec: &ExecSpec) -> CoreResult<ExecRun> {
        self.check_running(cid)?;
        // Echoes its arguments, as `echo` would.
        let line = bytes::Bytes::from(format!("{}\n", spec.command[1..].join(" ")));
        Ok(ExecRun {
            output: futures::stream::iter([Ok(ExecChunk::Stdout(line))]).boxed(),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill: Box::pin(async { true }),
        })
    }
    async fn exec_tty(
        &self,
        cid: &str,
        _spec: &ExecSpec,
        size: TerminalSize,
    ) -> CoreResult<TtyRun> {
        use futures::SinkExt;
        self.check_running(cid)?;
        self.tty_sizes.lock().unwrap().push(size);
        // A terminal that echoes what is typed, as a line discipline does.
        let (typed, shown) = futures::channel::mpsc::unbounded::<bytes::Bytes>();
        Ok(TtyRun {
            output: shown.map(Ok).boxed(),
            input: Box::pin(
                typed.sink_map_err(|e| CoreError::internal("the fake terminal closed", e)),
            ),
            resizer: Box::new(FakeResizer(self.tty_sizes.clone())),
            exit_code: Box::pin(async { Ok(Some(0)) }),
            kill: Box::pin(async { true }),
        })
    }
    async fn events(&self) -> CoreResult<EventStream> {
        self.check()?;
        Ok(futures::stream::empty().boxed())
    }
}

const IMAGE: &str = "busybox:latest";

fn caller() -> Caller {
    Caller {
        user_id: UserId::new(),
        key_id: ApiKeyId::new(),
    }
}

fn setup() -> (ComputeService, Arc<FakeRepo>, Arc<FakeDriver>) {
    let repo = Arc::new(FakeRepo::default());
    let driver = FakeDriver::with_image(IMAGE);
    let svc = ComputeService::new(
        repo.clone(),
        Some(driver.clone() as Arc<dyn ComputeDriver>),
        ComputeSettings::default(),
    );
    (svc, repo, driver)
}

fn req(name: &str) -> LaunchRequest {
    LaunchRequest {
        name: name.into(),
        image: IMAGE.into(),
        ..LaunchRequest::default()
    }
}

#[tokio::test]
async fn images_are_listed_by_name_and_need_the_runtime() {
    let (svc, _, driver) = setup();
    driver.images.lock().unwrap().insert("alpine:3".into());
    driver.images.lock().unwrap().insert("zeta:1".into());
    let names: Vec<String> = svc
        .images()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.contains(&"alpine:3".to_owned()) && names.contains(&"zeta:1".to_owned()));
    driver.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        svc.images().await,
        Err(CoreError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn launch_runs_the_container_with_limits_ports_and_env() {
    let (svc, _repo, driver) = setup();
    let me = caller();
    let mut env = BTreeMap::new();
    env.insert("MODE".to_owned(), "dev".to_owned());
    let inst = svc
        .launch(
            me,
            LaunchRequest {
                ports: vec!["8080:80".into(), "53/udp".into()],
                env: env.clone(),
                instance_type: Some("t3.xlarge".into()),
                command: Some(vec!["httpd".into(), "-f".into()]),
                ..req("web")
            },
        )
        .await
        .unwrap();
    assert_eq!(inst.state, InstanceState::Running);
    assert_eq!(inst.instance_type, "t3.xlarge");
    assert_eq!(inst.access_urls(), vec!["http://127.0.0.1:8080"]);
    assert_eq!(inst.published_ports.len(), 2);
    assert_ne!(inst.published_ports[1].host_port, 0);
    let cid = inst.container_id.clone().unwrap();
    let spec = driver.containers.lock().unwrap()[&cid].spec.clone();
    // 4 vCPUs capped at the host's 2.
    assert_eq!(spec.nano_cpus, 2_000_000_000);
    assert_eq!(spec.memory_bytes, 16 << 30);
    assert_eq!(spec.env, env);
    assert_eq!(spec.owner, me.user_id);
    assert_eq!(svc.get(me, inst.id).await.unwrap(), inst);
}

#[tokio::test]
async fn invalid_launches_are_rejected_before_anything_is_created() {
    let (svc, repo, driver) = setup();
    let cases: Vec<(&str, LaunchRequest)> = vec![
        ("bad name", req("no spaces")),
        (
            "empty image",
            LaunchRequest {
                image: String::new(),
                ..req("a")
            },
        ),
        (
            "bad port",
            LaunchRequest {
                ports: vec!["99999".into()],
                ..req("a")
            },
        ),
        (
            "eleven ports",
            LaunchRequest {
                ports: (1..=11).map(|p| p.to_string()).collect(),
                ..req("a")
            },
        ),
        (
            "unknown type",
            LaunchRequest {
                instance_type: Some("m5.huge".into()),
                ..req("a")
            },
        ),
        (
            "empty command",
            LaunchRequest {
                command: Some(vec![]),
                ..req("a")
            },
        ),
    ];
    for (desc, r) in cases {
        let err = svc.launch(caller(), r).await.expect_err(desc);
        assert!(matches!(err, CoreError::InvalidInput(_)), "{desc}: {err:?}");
    }
    assert!(repo.rows.lock().unwrap().is_empty());
    assert_eq!(driver.count(), 0);
}

#[tokio::test]
async fn a_missing_image_or_taken_port_leaves_nothing_behind() {
    let (svc, repo, driver) = setup();
    let err = svc
        .launch(
            caller(),
            LaunchRequest {
                image: "nope:1".into(),
                ..req("a")
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::NotFound {
                resource: Resource::Image,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope:1"));

    driver.taken_ports.lock().unwrap().insert(8080);
    let err = svc
        .launch(
            caller(),
            LaunchRequest {
                ports: vec!["8080:80".into()],
                ..req("a")
            },
        )
        .await
        .unwrap_err();
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
    assert!(repo.rows.lock().unwrap().is_empty());
    assert_eq!(driver.count(), 0);
}

/// A stopped instance keeps its fixed host port: another launch naming it
/// is refused before anything is made, its own start works, and a
/// terminate frees it. An instance without its reservation (from before
/// reservations, when two recorded one port) starts only once it gets it.
#[tokio::test]
async fn fixed_host_ports_stay_reserved_until_terminated() {
    let (svc, repo, driver) = setup();
    let (alice, bob) = (caller(), caller());
    let on_8080 = |name: &str| LaunchRequest {
        ports: vec!["8080:80".into(), "90".into()],
        ..req(name)
    };
    let a = svc.launch(alice, on_8080("a")).await.unwrap();
    svc.stop(alice, a.id).await.unwrap();
    let err = svc.launch(bob, on_8080("b")).await.unwrap_err();
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
    assert!(msg.contains("8080"), "names the port: {msg}");
    assert!(
        !msg.contains(&a.id.to_string()) && !msg.contains("`a`"),
        "says nothing of the holder: {msg}"
    );
    assert_eq!(
        repo.rows.lock().unwrap().len(),
        1,
        "no row for the refused launch"
    );
    assert_eq!(driver.count(), 1, "no container for it either");
    // The auto-assigned port is not reserved; the same fixed port over UDP
    // is another port.
    svc.launch(
        bob,
        LaunchRequest {
            ports: vec!["90".into(), "8080:80/udp".into()],
            ..req("b")
        },
    )
    .await
    .expect("another protocol, and an auto port");
    assert_eq!(
        svc.start(alice, a.id).await.unwrap().state,
        InstanceState::Running
    );
    svc.terminate(alice, a.id).await.unwrap();
    let c = svc
        .launch(bob, on_8080("c"))
        .await
        .expect("free once terminated");

    // An instance that recorded the port but does not hold it.
    let old = svc
        .launch(
            bob,
            LaunchRequest {
                ports: vec!["8081:80".into()],
                ..req("old")
            },
        )
        .await
        .unwrap();
    svc.stop(bob, old.id).await.unwrap();
    for row in repo.rows.lock().unwrap().iter_mut() {
        if row.id == old.id {
            row.ports = c.ports.clone();
        }
    }
    repo.reserved
        .lock()
        .unwrap()
        .retain(|_, holder| *holder != old.id);
    let err = svc.start(bob, old.id).await.unwrap_err();
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
    let now = svc.get(bob, old.id).await.unwrap();
    assert_eq!(now.state, InstanceState::Stopped, "nothing changed");
    svc.terminate(bob, c.id).await.unwrap();
    assert_eq!(
        svc.start(bob, old.id).await.unwrap().state,
        InstanceState::Running,
        "claimed once free"
    );
    assert_eq!(
        repo.reserved.lock().unwrap().get(&(8080, Protocol::Tcp)),
        Some(&old.id)
    );
}

fn token(value: &str, digest: &str) -> Option<ClientToken> {
    Some(ClientToken::new(value, digest).expect("a valid token"))
}

#[tokio::test]
async fn a_client_token_launches_once() {
    let (svc, repo, driver) = setup();
    let who = caller();
    let two = || vec![(InstanceId::new(), req("a")), (InstanceId::new(), req("b"))];
    let first = svc.launch_all(who, two(), token("t1", "d1")).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[1].client_token(), Some("t1"));
    // The retry answers the same instances, in launch order, and launches
    // nothing (the names are taken, so a launch would fail besides).
    let again = svc.launch_all(who, two(), token("t1", "d1")).await.unwrap();
    let ids = |v: &[Instance]| v.iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(driver.count(), 2);
    // The same token with other parameters.
    let err = svc
        .launch_all(who, two(), token("t1", "d2"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::Conflict {
                kind: ConflictKind::TokenReused,
                ..
            }
        ),
        "{err:?}"
    );
    // Tokens are the caller's: another owner's equal token launches.
    let other = caller();
    let theirs = svc
        .launch_all(other, two(), token("t1", "d2"))
        .await
        .unwrap();
    assert_eq!(theirs.len(), 2);
    assert_eq!(repo.rows.lock().unwrap().len(), 4);
    // A terminated instance is still the token's answer.
    svc.terminate(who, first[0].id).await.unwrap();
    let after = svc.launch_all(who, two(), token("t1", "d1")).await.unwrap();
    assert_eq!(ids(&after), ids(&first));
    assert_eq!(after[0].state, InstanceState::Terminated);
}

#[tokio::test]
async fn a_failed_launch_keeps_no_token() {
    let (svc, _repo, driver) = setup();
    let who = caller();
    driver.taken_ports.lock().unwrap().insert(8080);
    let taken = LaunchRequest {
        ports: vec!["8080:80".into()],
        ..req("a")
    };
    let err = svc
        .launch_all(who, vec![(InstanceId::new(), taken)], token("t", "d"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict { .. }), "{err:?}");
    // The retry launches (here after the port was freed).
    driver.taken_ports.lock().unwrap().clear();
    let taken = LaunchRequest {
        ports: vec!["8080:80".into()],
        ..req("a")
    };
    let ok = svc
        .launch_all(who, vec![(InstanceId::new(), taken)], token("t", "d"))
        .await
        .unwrap();
    assert_eq!(ok[0].client_token(), Some("t"));
    assert_eq!(
        ok[0].reservation_id(),
        ok[0].ec2_id().as_str().replacen("i-", "r-", 1)
    );
}

/// A failed launch whose row could not be deleted (the database went away
/// after the container was removed): the row goes at the next launch, so
/// the retry with the token launches, and the name is free, instead of the
/// failed launch's row answering for it.
#[tokio::test]
async fn a_failed_launchs_undeleted_row_goes_before_the_retry() {
    let (svc, repo, driver) = setup();
    let who = caller();
    driver.taken_ports.lock().unwrap().insert(8080);
    repo.failing_deletes.store(true, Ordering::SeqCst);
    let request = || LaunchRequest {
        ports: vec!["8080:80".into()],
        ..req("a")
    };
    let failed = InstanceId::new();
    svc.launch_all(who, vec![(failed, request())], token("t", "d"))
        .await
        .unwrap_err();
    assert_eq!(repo.rows.lock().unwrap().len(), 1, "the delete failed");
    repo.failing_deletes.store(false, Ordering::SeqCst);
    driver.taken_ports.lock().unwrap().clear();
    let retried = svc
        .launch_all(who, vec![(InstanceId::new(), request())], token("t", "d"))
        .await
        .unwrap();
    assert_ne!(retried[0].id, failed, "launched anew");
    assert_eq!(retried[0].state, InstanceState::Running);
    let rows = repo.rows.lock().unwrap();
    assert_eq!(rows.len(), 1, "only the new instance: {rows:?}");
}

/// A crash in the middle of a launch of three left two instances (the
/// third row never written): the retry with the token discards them and
/// launches all three again, instead of answering two as a success.
#[tokio::test]
async fn a_retry_relaunches_a_group_a_crash_cut_short() {
    let (svc, repo, driver) = setup();
    let who = caller();
    let three = || {
        ["a", "b", "c"]
            .into_iter()
            .map(|n| (InstanceId::new(), req(n)))
            .collect::<Vec<_>>()
    };
    let first = svc.launch_all(who, three(), token("t", "d")).await.unwrap();
    // The crash: the third instance's row and container never were.
    let cut = first[2].clone();
    repo.rows.lock().unwrap().retain(|r| r.id != cut.id);
    let cid = cut.container_id.clone().expect("a container");
    driver.containers.lock().unwrap().remove(&cid);
    assert_eq!(driver.count(), 2);

    let again = svc.launch_all(who, three(), token("t", "d")).await.unwrap();
    assert_eq!(again.len(), 3, "the whole group");
    assert!(again.iter().all(|i| i.state == InstanceState::Running));
    assert!(
        again.iter().all(|i| first.iter().all(|f| f.id != i.id)),
        "launched anew"
    );
    assert_eq!(driver.count(), 3, "the first try's containers are gone");
    assert_eq!(repo.rows.lock().unwrap().len(), 3, "and their rows");
    // A third try answers the complete group.
    let third = svc.launch_all(who, three(), token("t", "d")).await.unwrap();
    let ids = |v: &[Instance]| v.iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(&third), ids(&again));
}

/// A launch cut before its container was recorded (settled `ERROR`,
/// interrupted): the retry with its key launches it, rather than answering
/// the broken instance as the launch's result.
#[tokio::test]
async fn a_retry_relaunches_an_instance_whose_launch_was_interrupted() {
    let (svc, repo, driver) = setup();
    let who = caller();
    let first = svc
        .launch_all(who, vec![(InstanceId::new(), req("a"))], token("k", "d"))
        .await
        .unwrap();
    // As a crash between the row and the container's record leaves it,
    // once the reconciler has settled it, with a container Docker made.
    {
        let mut rows = repo.rows.lock().unwrap();
        let row = rows.iter_mut().find(|r| r.id == first[0].id).unwrap();
        row.container_id = None;
        row.state = InstanceState::Error;
        row.state_reason = Some("the launch was interrupted".into());
    }
    assert_eq!(driver.count(), 1);
    let again = svc
        .launch_all(who, vec![(InstanceId::new(), req("a"))], token("k", "d"))
        .await
        .unwrap();
    assert_ne!(again[0].id, first[0].id);
    assert_eq!(again[0].state, InstanceState::Running);
    assert_eq!(driver.count(), 1, "the unrecorded container was removed");
    assert_eq!(repo.rows.lock().unwrap().len(), 1);
    // Terminated after the fact, it stays the key's answer.
    svc.terminate(who, again[0].id).await.unwrap();
    let after = svc
        .launch_all(who, vec![(InstanceId::new(), req("a"))], token("k", "d"))
        .await
        .unwrap();
    assert_eq!(after[0].id, again[0].id);
}

#[tokio::test]
async fn concurrent_retries_of_one_token_launch_once() {
    let (svc, repo, _driver) = setup();
    let svc = Arc::new(svc);
    let who = caller();
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let svc = svc.clone();
            tokio::spawn(async move {
                // Each try names its instance differently: only the one
                // that launches may succeed with its own name.
                let r = vec![(InstanceId::new(), req(&format!("try{n}")))];
                svc.launch_all(who, r, token("same", "d")).await
            })
        })
        .collect();
    let mut answered = HashSet::new();
    for t in tasks {
        let got = t.await.unwrap().unwrap();
        answered.insert(got[0].id);
    }
    assert_eq!(answered.len(), 1);
    assert_eq!(repo.rows.lock().unwrap().len(), 1);
}

#[test]
fn client_tokens_follow_ec2s_rule() {
    assert!(ClientToken::new("a", "d").is_ok());
    assert!(ClientToken::new(&"x".repeat(64), "d").is_ok());
    assert!(ClientToken::new("", "d").is_err());
    assert!(ClientToken::new(&"x".repeat(65), "d").is_err());
    assert!(ClientToken::new("é", "d").is_err());
    assert!(ClientToken::new("a\nb", "d").is_err());
}

#[tokio::test]
async fn launch_all_keeps_nothing_when_one_launch_fails() {
    let (svc, repo, driver) = setup();
    let who = caller();
    // The third launch asks for a host port that is taken.
    let requests = vec![
        req("a"),
        req("b"),
        LaunchRequest {
            ports: vec!["8080:80".into()],
            ..req("c")
        },
    ];
    driver.taken_ports.lock().unwrap().insert(8080);
    let requests = requests
        .into_iter()
        .map(|r| (InstanceId::new(), r))
        .collect();
    let err = svc.launch_all(who, requests, None).await.unwrap_err();
    assert!(matches!(err, CoreError::Conflict { .. }), "{err:?}");
    assert!(repo.rows.lock().unwrap().is_empty());
    assert_eq!(driver.count(), 0);

    let ok = svc
        .launch_all(
            who,
            vec![(InstanceId::new(), req("a")), (InstanceId::new(), req("b"))],
            None,
        )
        .await
        .expect("launched");
    assert_eq!(ok.len(), 2);
    // One request, one reservation: the first instance's.
    assert_eq!(ok[0].reservation_id(), ok[1].reservation_id());
    assert_eq!(
        ok[0].reservation_id(),
        ok[0].ec2_id().as_str().replacen("i-", "r-", 1)
    );
    assert_eq!((ok[0].launch_index(), ok[1].launch_index()), (0, 1));
    assert_eq!(ok[0].client_token(), None);
    assert_eq!(repo.rows.lock().unwrap().len(), 2);
    assert_eq!(driver.count(), 2);
    let by_ec2 = svc.get_by_ec2_id(who, &ok[1].ec2_id()).await.unwrap();
    assert_eq!(by_ec2.id, ok[1].id);
    assert!(svc.get_by_ec2_id(caller(), &ok[1].ec2_id()).await.is_err());
}

#[tokio::test]
async fn names_are_unique_per_owner_among_live_instances() {
    let (svc, _repo, _driver) = setup();
    let (a, b) = (caller(), caller());
    let first = svc.launch(a, req("web")).await.unwrap();
    let err = svc.launch(a, req("web")).await.unwrap_err();
    assert!(matches!(
        err,
        CoreError::Conflict {
            kind: ConflictKind::AlreadyExists,
            ..
        }
    ));
    svc.launch(b, req("web"))
        .await
        .expect("another owner may reuse the name");
    svc.terminate(a, first.id).await.unwrap();
    svc.launch(a, req("web"))
        .await
        .expect("a terminated name is free again");
}

#[tokio::test]
async fn concurrent_launches_with_one_name_make_one_instance() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let (x, y) = tokio::join!(svc.launch(me, req("twin")), svc.launch(me, req("twin")));
    assert_eq!(u8::from(x.is_ok()) + u8::from(y.is_ok()), 1);
    assert_eq!(repo.rows.lock().unwrap().len(), 1);
    assert_eq!(driver.count(), 1);
}

#[tokio::test]
async fn the_state_machine_allows_only_legal_transitions() {
    let (svc, _repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("sm")).await.unwrap();
    let id = inst.id;
    let illegal = |r: CoreResult<Instance>, desc: &str, state: &str| {
        let err = r.expect_err(desc);
        assert!(
            matches!(
                err,
                CoreError::Conflict {
                    kind: ConflictKind::InvalidState,
                    ..
                }
            ),
            "{desc}: {err:?}"
        );
        assert!(err.to_string().contains(state), "{desc}: {err}");
    };
    illegal(svc.start(me, id).await, "start running", "RUNNING");
    let stopped = svc.stop(me, id).await.unwrap();
    assert_eq!(stopped.state, InstanceState::Stopped);
    assert_eq!(stopped.state_reason.as_deref(), Some("stopped by request"));
    assert!(stopped.published_ports.is_empty());
    illegal(svc.stop(me, id).await, "stop stopped", "STOPPED");
    illegal(svc.reboot(me, id).await, "reboot stopped", "STOPPED");
    assert_eq!(
        svc.start(me, id).await.unwrap().state,
        InstanceState::Running
    );
    assert_eq!(
        svc.reboot(me, id).await.unwrap().state,
        InstanceState::Running
    );
    let gone = svc.terminate(me, id).await.unwrap();
    assert_eq!(gone.state, InstanceState::Terminated);
    assert!(gone.deleted_at.is_some());
    assert_eq!(driver.count(), 0);
    illegal(svc.stop(me, id).await, "stop terminated", "TERMINATED");
    illegal(svc.start(me, id).await, "start terminated", "TERMINATED");
    assert!(svc.logs(me, id, &LogOptions::default()).await.is_err());
    // Terminate is idempotent; the instance stays describable, hidden from lists.
    assert_eq!(
        svc.terminate(me, id).await.unwrap().state,
        InstanceState::Terminated
    );
    assert_eq!(
        svc.get(me, id).await.unwrap().state,
        InstanceState::Terminated
    );
    assert!(
        svc.list(me, false, None, None)
            .await
            .unwrap()
            .instances
            .is_empty()
    );
    assert_eq!(
        svc.list(me, true, None, None)
            .await
            .unwrap()
            .instances
            .len(),
        1
    );
}

#[tokio::test]
async fn other_owners_get_not_found() {
    let (svc, _repo, _driver) = setup();
    let (a, b) = (caller(), caller());
    let inst = svc.launch(a, req("mine")).await.unwrap();
    let not_found = |r: CoreResult<Instance>| {
        assert!(matches!(
            r,
            Err(CoreError::NotFound {
                resource: Resource::Instance,
                ..
            })
        ));
    };
    not_found(svc.get(b, inst.id).await);
    not_found(svc.stop(b, inst.id).await);
    not_found(svc.terminate(b, inst.id).await);
    assert!(svc.stats(b, inst.id).await.is_err());
    assert!(
        svc.list(b, true, None, None)
            .await
            .unwrap()
            .instances
            .is_empty()
    );
    assert_eq!(
        svc.get(a, inst.id).await.unwrap().state,
        InstanceState::Running
    );
}

#[tokio::test]
async fn concurrent_stop_and_start_end_consistent() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("race")).await.unwrap();
    for _ in 0..20 {
        let _ = tokio::join!(svc.stop(me, inst.id), svc.start(me, inst.id));
        let row = repo.find(inst.id).await.unwrap().unwrap();
        let running =
            driver.containers.lock().unwrap()[row.container_id.as_deref().unwrap()].running;
        match row.state {
            InstanceState::Running => assert!(running),
            InstanceState::Stopped => assert!(!running),
            other => panic!("left in {other}"),
        }
    }
}

#[tokio::test]
async fn reconcile_reflects_what_happened_behind_our_back() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let exits = svc.launch(me, req("exits")).await.unwrap();
    let oom = svc.launch(me, req("oom")).await.unwrap();
    let removed = svc.launch(me, req("removed")).await.unwrap();
    let fine = svc.launch(me, req("fine")).await.unwrap();
    driver.set(exits.container_id.as_deref().unwrap(), |c| {
        c.running = false;
        c.exit_code = Some(3);
    });
    driver.set(oom.container_id.as_deref().unwrap(), |c| {
        c.running = false;
        c.exit_code = Some(137);
        c.oom = true;
    });
    driver
        .containers
        .lock()
        .unwrap()
        .remove(removed.container_id.as_deref().unwrap());
    // A crash during a launch left a STARTING row without a container:
    // its launch is finished (see `a_launch_cut_before_its_create_…`).
    let mut orphan = fine.clone();
    orphan.id = InstanceId::new();
    orphan.name = "orphan".into();
    orphan.state = InstanceState::Starting;
    orphan.container_id = None;
    repo.insert(&orphan).await.unwrap();

    assert_eq!(svc.reconcile_all().await.unwrap(), 4);
    let get = |id| svc.get(me, id);
    let e = get(exits.id).await.unwrap();
    assert_eq!((e.state, e.exit_code), (InstanceState::Stopped, Some(3)));
    assert!(e.state_reason.unwrap().contains("code 3"));
    let o = get(oom.id).await.unwrap();
    assert_eq!(o.state, InstanceState::Error);
    assert!(o.state_reason.unwrap().contains("out of memory"));
    let r = get(removed.id).await.unwrap();
    assert_eq!(r.state, InstanceState::Error);
    assert!(r.state_reason.unwrap().contains("container disappeared"));
    assert_eq!(get(orphan.id).await.unwrap().state, InstanceState::Running);
    assert_eq!(get(fine.id).await.unwrap().state, InstanceState::Running);
    // A second pass changes nothing; events for unrelated actions are ignored.
    assert_eq!(svc.reconcile_all().await.unwrap(), 0);
    let ev = ContainerEvent {
        instance_id: fine.id,
        container_id: fine.container_id.clone().unwrap(),
        action: "exec_create".into(),
    };
    assert!(!svc.handle_event(&ev).await.unwrap());
    // The exited one can be started again.
    assert_eq!(
        svc.start(me, exits.id).await.unwrap().state,
        InstanceState::Running
    );
}

#[tokio::test]
async fn resync_inspects_only_what_the_container_list_contradicts() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let mut running = Vec::new();
    for i in 0..5 {
        running.push(svc.launch(me, req(&format!("r{i}"))).await.unwrap());
    }
    let stopped = svc.launch(me, req("stopped")).await.unwrap();
    svc.stop(me, stopped.id).await.unwrap();
    let killed = svc.launch(me, req("killed")).await.unwrap();
    driver.set(killed.container_id.as_deref().unwrap(), |c| {
        c.running = false;
        c.exit_code = Some(137);
    });
    // A crash while stopping left a STOPPING row whose container runs.
    let mut stuck = repo.find(running[0].id).await.unwrap().unwrap();
    stuck.state = InstanceState::Stopping;
    repo.update(&stuck).await.unwrap();
    // ... and another whose stop Docker finished (SIGKILL at the end of
    // the grace period) while the server was down.
    let mut halted = repo.find(running[2].id).await.unwrap().unwrap();
    halted.state = InstanceState::Stopping;
    repo.update(&halted).await.unwrap();
    driver.set(halted.container_id.as_deref().unwrap(), |c| {
        c.running = false;
        c.exit_code = Some(137);
    });
    // A terminated instance whose container survived (a crash between
    // the row and the removal), and another server's container.
    let survivor = svc.launch(me, req("survivor")).await.unwrap();
    let mut gone = repo.find(survivor.id).await.unwrap().unwrap();
    gone.state = InstanceState::Terminated;
    gone.deleted_at = Some(crate::clock::now_utc());
    repo.update(&gone).await.unwrap();
    let mut foreign =
        driver.containers.lock().unwrap()[running[1].container_id.as_deref().unwrap()].clone();
    foreign.spec.instance_id = InstanceId::new();
    driver
        .containers
        .lock()
        .unwrap()
        .insert("foreign".into(), foreign);

    driver.inspections.store(0, Ordering::SeqCst);
    assert_eq!(
        svc.reconcile_all().await.unwrap(),
        3,
        "killed, stuck and halted"
    );
    // killed, stuck, halted, survivor: the three confirmed running
    // instances, the stopped one and the foreign container are not
    // inspected.
    assert_eq!(driver.inspections.load(Ordering::SeqCst), 4);
    let k = svc.get(me, killed.id).await.unwrap();
    assert_eq!((k.state, k.exit_code), (InstanceState::Stopped, Some(137)));
    // The stop the crash cut short is finished, not undone.
    let s = svc.get(me, stuck.id).await.unwrap();
    assert_eq!(
        (s.state, s.state_reason.as_deref()),
        (InstanceState::Stopped, Some("stopped by request"))
    );
    assert!(
        !driver.containers.lock().unwrap()[stuck.container_id.as_deref().unwrap()].running,
        "the stuck instance's container is stopped"
    );
    let h = svc.get(me, halted.id).await.unwrap();
    assert_eq!(
        (h.state, h.state_reason.as_deref(), h.exit_code),
        (
            InstanceState::Stopped,
            Some("stopped by request"),
            Some(137)
        )
    );
    assert!(
        !driver
            .containers
            .lock()
            .unwrap()
            .contains_key(survivor.container_id.as_deref().unwrap()),
        "the terminated instance's container is removed"
    );
    assert!(
        driver.containers.lock().unwrap().contains_key("foreign"),
        "another server's container is left alone"
    );
    driver.inspections.store(0, Ordering::SeqCst);
    assert_eq!(svc.reconcile_all().await.unwrap(), 0);
    assert_eq!(
        driver.inspections.load(Ordering::SeqCst),
        0,
        "all confirmed"
    );
}

/// A container restarted while the server was down (a reboot cut by a
/// crash, whose events are long gone) runs again on a new auto-assigned
/// host port: listed as running like its row says, it must still be
/// inspected, or the row keeps the old port for good.
#[tokio::test]
async fn resync_sees_host_ports_a_restart_moved() {
    let (svc, _repo, driver) = setup();
    let me = caller();
    let inst = svc
        .launch(
            me,
            LaunchRequest {
                ports: vec!["80".into()],
                ..req("moved")
            },
        )
        .await
        .unwrap();
    let before = inst.published_ports[0].host_port;
    driver.set(inst.container_id.as_deref().unwrap(), |c| {
        c.ports[0].host_port = before + 1;
    });

    driver.inspections.store(0, Ordering::SeqCst);
    assert_eq!(svc.reconcile_all().await.unwrap(), 1);
    assert_eq!(driver.inspections.load(Ordering::SeqCst), 1);
    let after = svc.get(me, inst.id).await.unwrap();
    assert_eq!(after.state, InstanceState::Running);
    assert_eq!(after.published_ports[0].host_port, before + 1);
    driver.inspections.store(0, Ordering::SeqCst);
    assert_eq!(svc.reconcile_all().await.unwrap(), 0);
    assert_eq!(
        driver.inspections.load(Ordering::SeqCst),
        0,
        "the new port is confirmed by the list"
    );
}

/// Docker made the container but its answer was lost: the launch fails
/// with 503, and its row stays (interrupted) so that the resync can find
/// the container by its label and remove it; without the row it would
/// pass for another server's.
#[tokio::test]
async fn a_launch_whose_create_answer_is_lost_keeps_its_row_for_the_resync() {
    let (svc, repo, driver) = setup();
    let me = caller();
    driver.lose_create_answer.store(true, Ordering::SeqCst);
    let err = svc.launch(me, req("lost")).await.unwrap_err();
    assert!(matches!(err, CoreError::Unavailable { .. }), "{err:?}");
    assert_eq!(driver.count(), 1, "Docker made the container");
    let live = repo.list_live().await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].state, InstanceState::Error);
    assert!(live[0].container_id.is_none());
    assert!(
        live[0]
            .state_reason
            .as_deref()
            .is_some_and(|r| r.contains("interrupted")),
        "{:?}",
        live[0]
    );
    svc.reconcile_all().await.unwrap();
    assert_eq!(driver.count(), 0, "the resync removed the container");
    assert_eq!(
        svc.terminate(me, live[0].id).await.unwrap().state,
        InstanceState::Terminated
    );
}

/// The create never reached Docker (it refused the connection): nothing
/// was made, so the launch fails with 503 and leaves no row, and the name
/// is free at once.
#[tokio::test]
async fn a_launch_whose_create_never_reaches_docker_leaves_no_row() {
    let (svc, repo, driver) = setup();
    let me = caller();
    driver.refuse_create.store(true, Ordering::SeqCst);
    let err = svc.launch(me, req("refused")).await.unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::Unavailable {
                outcome_unknown: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(driver.count(), 0);
    assert!(repo.list_live().await.unwrap().is_empty());
    assert_eq!(
        svc.launch(me, req("refused")).await.unwrap().state,
        InstanceState::Running
    );
}

#[tokio::test]
async fn containers_an_interrupted_launch_never_recorded_are_removed() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let template = svc.launch(me, req("template")).await.unwrap();
    // A crash between Docker's create and the row's update: the row has no
    // container id, Docker has a container labelled with the instance.
    let plant = |name: &str, state: InstanceState| {
        let mut row = template.clone();
        row.id = InstanceId::new();
        row.name = name.into();
        row.state = state;
        row.container_id = None;
        let mut c =
            driver.containers.lock().unwrap()[template.container_id.as_deref().unwrap()].clone();
        c.spec.instance_id = row.id;
        c.running = false;
        driver
            .containers
            .lock()
            .unwrap()
            .insert(format!("late-{name}"), c);
        row
    };
    let starting = plant("starting", InstanceState::Starting);
    repo.insert(&starting).await.unwrap();
    let mut ended = plant("ended", InstanceState::Terminated);
    ended.deleted_at = Some(crate::clock::now_utc());
    repo.insert(&ended).await.unwrap();
    let errored = plant("errored", InstanceState::Error);
    repo.insert(&errored).await.unwrap();

    svc.reconcile_all().await.unwrap();
    let left: Vec<String> = driver.containers.lock().unwrap().keys().cloned().collect();
    assert!(
        !left.iter().any(|cid| cid.starts_with("late-ended")),
        "an unrecorded container of a terminated instance is removed: {left:?}"
    );
    // The STARTING one's launch is finished in the container Docker made.
    let s = svc.get(me, starting.id).await.unwrap();
    assert_eq!(
        (s.state, s.container_id.as_deref()),
        (InstanceState::Running, Some("late-starting"))
    );
    assert!(driver.containers.lock().unwrap()["late-starting"].running);
    // Terminating removes one directly too (here the resync got it first:
    // the errored row is reconciled on every pass, as the list cannot
    // confirm it).
    assert!(!left.contains(&"late-errored".to_owned()));
    let c = driver.containers.lock().unwrap()[template.container_id.as_deref().unwrap()].clone();
    let mut late = c;
    late.spec.instance_id = errored.id;
    driver
        .containers
        .lock()
        .unwrap()
        .insert("later-errored".into(), late);
    svc.terminate(me, errored.id).await.unwrap();
    assert!(
        !driver
            .containers
            .lock()
            .unwrap()
            .contains_key("later-errored")
    );
    assert!(
        driver
            .containers
            .lock()
            .unwrap()
            .contains_key(template.container_id.as_deref().unwrap()),
        "the recorded container is left alone"
    );
}

/// The row of a launch a crash cut between its insert and the record of
/// its container: `STARTING`, no container id.
async fn cut_launch(
    svc: &ComputeService,
    repo: &FakeRepo,
    driver: &FakeDriver,
    me: Caller,
    name: &str,
) -> Instance {
    let mut request = req(name);
    request.ports = vec!["8080".into()];
    request.instance_type = Some("t3.small".into());
    let inst = svc.launch(me, request).await.unwrap();
    driver
        .containers
        .lock()
        .unwrap()
        .remove(inst.container_id.as_deref().unwrap());
    let mut row = repo.find(inst.id).await.unwrap().unwrap();
    (row.state, row.container_id) = (InstanceState::Starting, None);
    row.published_ports.clear();
    row.private_ip = None;
    repo.update(&row).await.unwrap();
    row
}

/// A launch cut by a crash before Docker made its container is finished
/// by the resync: the container is made from the row (its type's limits,
/// its ports) and started; again and again resyncs change nothing more.
#[tokio::test]
async fn a_launch_cut_before_its_create_is_finished_by_the_resync() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let cut = cut_launch(&svc, &repo, &driver, me, "cut").await;
    assert_eq!(driver.count(), 0);
    svc.reconcile_all().await.unwrap();
    let done = svc.get(me, cut.id).await.unwrap();
    assert_eq!(
        (done.state, done.state_reason.as_deref()),
        (InstanceState::Running, None)
    );
    let cid = done.container_id.clone().expect("recorded");
    let c = driver.containers.lock().unwrap()[&cid].clone();
    assert!(c.running);
    assert_eq!((c.spec.instance_id, c.spec.owner), (cut.id, me.user_id));
    assert_eq!(
        c.spec.memory_bytes,
        2 * 1024 * 1024 * 1024,
        "t3.small's limit"
    );
    assert_eq!(done.published_ports.len(), 1);
    for _ in 0..2 {
        assert_eq!(svc.reconcile_all().await.unwrap(), 0);
    }
    assert_eq!(driver.count(), 1);
}

/// The container the cut launch asked for, made by Docker (before or
/// after the crash), is adopted and started, not made again; should there
/// be two (one made late, after the resync made another), one is kept.
#[tokio::test]
async fn a_launch_cut_after_its_create_adopts_the_container_docker_made() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let cut = cut_launch(&svc, &repo, &driver, me, "cut").await;
    let spec = ContainerSpec {
        instance_id: cut.id,
        owner: cut.owner,
        name: cut.name.clone(),
        image: cut.image.clone(),
        nano_cpus: 1,
        memory_bytes: 1,
        ports: cut.ports.clone(),
        env: cut.env.clone(),
        command: cut.command.clone(),
    };
    for cid in ["made", "made-late"] {
        driver.containers.lock().unwrap().insert(
            cid.into(),
            FakeContainer {
                spec: spec.clone(),
                running: false,
                exit_code: None,
                oom: false,
                ports: Vec::new(),
                started_at: None,
            },
        );
    }
    svc.reconcile_all().await.unwrap();
    let done = svc.get(me, cut.id).await.unwrap();
    assert_eq!(done.state, InstanceState::Running, "{done:?}");
    let kept = done.container_id.clone().expect("recorded");
    assert_eq!(driver.count(), 1, "one of the two is removed");
    let c = driver.containers.lock().unwrap()[&kept].clone();
    assert!(c.running);
    assert_eq!(
        c.spec.memory_bytes,
        2 * 1024 * 1024 * 1024,
        "started with its type's limits"
    );

    // One made later still (a create Docker finished after the resync):
    // the row names another, so it goes.
    let mut late = c.clone();
    late.running = false;
    driver
        .containers
        .lock()
        .unwrap()
        .insert("later".into(), late);
    svc.reconcile_all().await.unwrap();
    assert_eq!(
        driver
            .containers
            .lock()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec![kept.clone()]
    );
    assert_eq!(
        svc.get(me, cut.id).await.unwrap().container_id.as_deref(),
        Some(kept.as_str())
    );
}

/// Docker down at the resync: the row stays `STARTING` and nothing is
/// made; a create Docker refuses leaves the instance `ERROR`, saying so.
#[tokio::test]
async fn a_cut_launch_waits_for_docker_and_ends_error_when_refused() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let waiting = cut_launch(&svc, &repo, &driver, me, "waiting").await;
    driver.down.store(true, Ordering::SeqCst);
    assert!(svc.reconcile_all().await.is_err());
    assert!(svc.reconcile_one(waiting.id).await.is_err());
    assert_eq!(
        svc.get(me, waiting.id).await.unwrap().state,
        InstanceState::Starting
    );
    driver.down.store(false, Ordering::SeqCst);
    // The create's answer lost: the next resync adopts what Docker made.
    driver.lose_create_answer.store(true, Ordering::SeqCst);
    assert!(svc.reconcile_one(waiting.id).await.is_err());
    assert_eq!(
        svc.get(me, waiting.id).await.unwrap().state,
        InstanceState::Starting
    );
    assert_eq!(driver.count(), 1);
    svc.reconcile_all().await.unwrap();
    let w = svc.get(me, waiting.id).await.unwrap();
    assert_eq!(w.state, InstanceState::Running);
    assert_eq!(driver.count(), 1);

    let refused = cut_launch(&svc, &repo, &driver, me, "refused").await;
    driver.images.lock().unwrap().clear();
    driver.refuse_image_on_create.store(true, Ordering::SeqCst);
    svc.reconcile_all().await.unwrap();
    let r = svc.get(me, refused.id).await.unwrap();
    assert_eq!(
        (r.state, r.container_id.as_deref()),
        (InstanceState::Error, None)
    );
    let reason = r.state_reason.unwrap();
    assert!(
        reason.contains("interrupted") && reason.contains("could not be finished"),
        "{reason}"
    );
    assert_eq!(driver.count(), 1, "nothing made for it");
}

#[tokio::test]
async fn a_failed_launch_cut_before_its_row_went_keeps_its_first_reason() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("cut")).await.unwrap();
    // A failed launch removed its container, then could not delete its
    // row (the database went away): a STARTING row whose container is gone.
    let mut row = repo.find(inst.id).await.unwrap().unwrap();
    row.state = InstanceState::Starting;
    repo.update(&row).await.unwrap();
    driver
        .containers
        .lock()
        .unwrap()
        .remove(inst.container_id.as_deref().unwrap());
    for _ in 0..2 {
        svc.reconcile_all().await.unwrap();
        let r = svc.get(me, inst.id).await.unwrap();
        assert_eq!(r.state, InstanceState::Error);
        let reason = r.state_reason.unwrap();
        assert!(reason.contains("launch was interrupted"), "{reason}");
    }
}

#[tokio::test]
async fn terminate_marks_the_row_before_removing_the_container() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("doomed")).await.unwrap();
    let cid = inst.container_id.clone().unwrap();
    // Docker answers the inspection, then fails the removal: the row is
    // terminated all the same, and the resync removes the container.
    driver.failing_removes.store(true, Ordering::SeqCst);
    let t = svc.terminate(me, inst.id).await.unwrap();
    assert_eq!(t.state, InstanceState::Terminated);
    assert_eq!(
        repo.find(inst.id).await.unwrap().unwrap().state,
        InstanceState::Terminated
    );
    assert!(driver.containers.lock().unwrap().contains_key(&cid));
    driver.failing_removes.store(false, Ordering::SeqCst);
    svc.reconcile_all().await.unwrap();
    assert!(!driver.containers.lock().unwrap().contains_key(&cid));
    // Docker down before anything: nothing changes.
    let other = svc.launch(me, req("kept")).await.unwrap();
    driver.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        svc.terminate(me, other.id).await,
        Err(CoreError::Unavailable { .. })
    ));
    driver.down.store(false, Ordering::SeqCst);
    assert_eq!(
        svc.get(me, other.id).await.unwrap().state,
        InstanceState::Running
    );
}

#[tokio::test]
async fn docker_down_is_unavailable_but_reads_still_work() {
    let (svc, _repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("up")).await.unwrap();
    driver.down.store(true, Ordering::SeqCst);
    let unavailable = |r: CoreResult<Instance>| {
        assert!(matches!(
            r,
            Err(CoreError::Unavailable {
                dependency: Dependency::Docker,
                ..
            })
        ));
    };
    unavailable(svc.launch(me, req("down")).await);
    unavailable(svc.stop(me, inst.id).await);
    unavailable(svc.terminate(me, inst.id).await);
    assert!(svc.reconcile_all().await.is_err());
    // The failed stop left the recorded state as it was.
    assert_eq!(
        svc.get(me, inst.id).await.unwrap().state,
        InstanceState::Running
    );
    assert_eq!(
        svc.list(me, false, None, None)
            .await
            .unwrap()
            .instances
            .len(),
        1
    );

    let none = ComputeService::new(
        Arc::new(FakeRepo::default()),
        None,
        ComputeSettings::default(),
    );
    let err = none.launch(me, req("x")).await.unwrap_err();
    assert!(err.to_string().contains("Docker"), "{err}");
}

#[tokio::test]
async fn lists_paginate_in_creation_order() {
    let (svc, _repo, _driver) = setup();
    let me = caller();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(svc.launch(me, req(&format!("i{i}"))).await.unwrap().id);
    }
    let p1 = svc.list(me, false, Some(2), None).await.unwrap();
    assert_eq!(
        p1.instances.iter().map(|i| i.id).collect::<Vec<_>>(),
        ids[..2]
    );
    let p2 = svc.list(me, false, Some(2), p1.next).await.unwrap();
    assert_eq!(
        p2.instances.iter().map(|i| i.id).collect::<Vec<_>>(),
        ids[2..4]
    );
    let p3 = svc.list(me, false, Some(2), p2.next).await.unwrap();
    assert_eq!(p3.instances.len(), 1);
    assert_eq!(p3.next, None);
    assert!(svc.list(me, false, Some(0), None).await.is_err());
    assert!(svc.list(me, false, Some(1001), None).await.is_err());
}

#[tokio::test]
async fn logs_and_stats_need_a_live_container() {
    let (svc, _repo, _driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("io")).await.unwrap();
    let mut logs = svc.logs(me, inst.id, &LogOptions::default()).await.unwrap();
    assert_eq!(&logs.next().await.unwrap().unwrap()[..], b"hello\n");
    let stats = svc.stats(me, inst.id).await.unwrap();
    assert_eq!(stats.memory_limit_bytes, 1 << 30);
    svc.stop(me, inst.id).await.unwrap();
    assert!(svc.stats(me, inst.id).await.is_err());
    assert!(svc.logs(me, inst.id, &LogOptions::default()).await.is_ok());
}

#[tokio::test]
async fn exec_runs_in_a_running_instance_of_its_owner_only() {
    let (svc, _repo, _driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("box")).await.unwrap();
    let echo = ExecSpec {
        command: vec!["echo".into(), "hi".into(), "there".into()],
        ..ExecSpec::default()
    };
    let mut run = svc.exec(me, inst.id, &echo).await.unwrap();
    let chunk = run.output.next().await.unwrap().unwrap();
    assert_eq!(
        chunk,
        ExecChunk::Stdout(bytes::Bytes::from_static(b"hi there\n"))
    );
    assert!(run.output.next().await.is_none());
    assert_eq!(run.exit_code.await.unwrap(), Some(0));

    // Another owner learns nothing.
    let err = svc
        .exec(caller(), inst.id, &echo)
        .await
        .expect_err("not theirs");
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    // A bad spec is refused first, whatever the state.
    let err = svc
        .exec(me, inst.id, &ExecSpec::default())
        .await
        .expect_err("empty");
    assert!(matches!(err, CoreError::InvalidInput(_)), "{err:?}");
    // Stopped: the refusal names the state.
    svc.stop(me, inst.id).await.unwrap();
    let err = svc.exec(me, inst.id, &echo).await.expect_err("stopped");
    assert!(
        matches!(&err, CoreError::Conflict { message, .. } if message.contains("STOPPED")),
        "{err:?}"
    );
}

/// A terminal session: what is typed reaches the command and what it shows
/// comes back, the size given at the start and each resize reach the
/// runtime; the rules of exec hold (owner only, a valid spec first, input
/// never given whole, RUNNING only, naming the state).
#[tokio::test]
async fn exec_tty_runs_in_a_running_instance_of_its_owner_only() {
    use futures::SinkExt;
    let (svc, _repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("box")).await.unwrap();
    let shell = ExecSpec {
        command: vec!["sh".into()],
        ..ExecSpec::default()
    };
    let size = TerminalSize::new(40, 120).unwrap();
    let mut run = svc.exec_tty(me, inst.id, &shell, size).await.unwrap();
    run.input
        .send(bytes::Bytes::from_static(b"echo hi\r"))
        .await
        .unwrap();
    let shown = run.output.next().await.unwrap().unwrap();
    assert_eq!(&shown[..], b"echo hi\r");
    let bigger = TerminalSize::new(50, 200).unwrap();
    run.resizer.resize(bigger).await.unwrap();
    assert_eq!(*driver.tty_sizes.lock().unwrap(), [size, bigger]);

    // Another owner learns nothing.
    let err = svc
        .exec_tty(caller(), inst.id, &shell, size)
        .await
        .expect_err("not theirs");
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    // A bad spec, or input given whole, is refused first.
    for (what, bad) in [
        ("empty", ExecSpec::default()),
        (
            "stdin",
            ExecSpec {
                stdin: Some(bytes::Bytes::from_static(b"ls\n")),
                ..shell.clone()
            },
        ),
        (
            "user",
            ExecSpec {
                user: Some("root;rm".into()),
                ..shell.clone()
            },
        ),
    ] {
        let err = svc.exec_tty(me, inst.id, &bad, size).await.expect_err(what);
        assert!(matches!(err, CoreError::InvalidInput(_)), "{what}: {err:?}");
    }
    // Stopped: the refusal names the state, and the runtime is not asked.
    svc.stop(me, inst.id).await.unwrap();
    let err = svc
        .exec_tty(me, inst.id, &shell, size)
        .await
        .expect_err("stopped");
    assert!(
        matches!(&err, CoreError::Conflict { message, .. } if message.contains("STOPPED")),
        "{err:?}"
    );
    assert_eq!(driver.tty_sizes.lock().unwrap().len(), 2);
}

/// A terminate that lands while logs are asked for: the refusal names the
/// state the instance is in now, not the one read before the call.
#[tokio::test]
async fn logs_racing_a_terminate_name_the_state_now() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("racing")).await.unwrap();
    *driver.terminate_during_logs.lock().unwrap() = Some((repo.clone(), inst.clone()));
    let err = svc
        .logs(me, inst.id, &LogOptions::default())
        .await
        .err()
        .expect("the container is gone");
    assert!(
        matches!(
            &err,
            CoreError::Conflict { message, .. } if message.contains("TERMINATED")
        ),
        "{err:?}"
    );
}

fn with_tag(key: &str, value: &str) -> impl Fn(&Instance) -> CoreResult<Labels> + Send + Sync {
    let (key, value) = (key.to_owned(), value.to_owned());
    move |inst: &Instance| {
        let mut labels = inst.labels();
        labels.tags.insert(key.clone(), value.clone());
        Ok(labels)
    }
}

#[tokio::test]
async fn launch_keeps_valid_tags_and_refuses_bad_ones() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let mut request = req("tagged");
    request.tags.insert("env".into(), "prod".into());
    let inst = svc.launch(me, request).await.unwrap();
    assert_eq!(inst.tags.get("env").map(String::as_str), Some("prod"));
    assert_eq!(repo.get(me.user_id, inst.id).await.unwrap().tags, inst.tags);

    let mut bad = req("bad");
    bad.tags.insert("aws:owner".into(), "me".into());
    let err = svc.launch(me, bad).await.unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
    // Refused before anything was made.
    assert_eq!(repo.rows.lock().unwrap().len(), 1);
    assert_eq!(driver.containers.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn relabel_renames_and_tags_and_concurrent_edits_all_land() {
    let (svc, _repo, _driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("web")).await.unwrap();
    let edits = (0..20).map(|i| {
        let svc = &svc;
        async move {
            svc.relabel(me, inst.id, with_tag(&format!("k{i}"), "v"))
                .await
                .unwrap()
        }
    });
    futures::future::join_all(edits).await;
    let now = svc.get(me, inst.id).await.unwrap();
    assert_eq!(now.tags.len(), 20, "{:?}", now.tags);

    let renamed = svc
        .relabel(me, inst.id, |i: &Instance| {
            Ok(Labels {
                name: "web-2".into(),
                tags: i.tags.clone(),
            })
        })
        .await
        .unwrap();
    assert_eq!(renamed.name, "web-2");
    assert_eq!(svc.get(me, inst.id).await.unwrap().name, "web-2");

    // The same labels again: nothing to write, the instance as it is.
    let same = svc
        .relabel(me, inst.id, |i: &Instance| Ok(i.labels()))
        .await;
    assert_eq!(same.unwrap().updated_at, renamed.updated_at);
}

#[tokio::test]
async fn relabel_refuses_bad_names_taken_names_and_bad_tags() {
    let (svc, _repo, _driver) = setup();
    let me = caller();
    let a = svc.launch(me, req("a")).await.unwrap();
    svc.launch(me, req("b")).await.unwrap();
    let rename = |name: &'static str| {
        move |i: &Instance| {
            Ok(Labels {
                name: name.into(),
                tags: i.tags.clone(),
            })
        }
    };
    let err = svc.relabel(me, a.id, rename("b")).await.unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::Conflict {
                kind: ConflictKind::AlreadyExists,
                ..
            }
        ),
        "{err}"
    );
    let err = svc
        .relabel(me, a.id, rename("has space"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::InvalidInput(_)), "{err}");
    let err = svc
        .relabel(me, a.id, with_tag("aws:x", "1"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::InvalidInput(_)), "{err}");
    let unchanged = svc.get(me, a.id).await.unwrap();
    assert_eq!((unchanged.name.as_str(), unchanged.tags.len()), ("a", 0));

    // Another owner's instance is not found.
    let err = svc
        .relabel(caller(), a.id, with_tag("k", "v"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn a_stopped_instance_changes_type_and_starts_with_its_limits() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("grow")).await.unwrap();
    let cid = inst.container_id.clone().unwrap();
    let err = svc.change_type(me, inst.id, "t3.large").await.unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::Conflict {
                kind: ConflictKind::InvalidState,
                ..
            }
        ),
        "{err}"
    );
    svc.stop(me, inst.id).await.unwrap();
    let err = svc.change_type(me, inst.id, "m5.large").await.unwrap_err();
    assert!(matches!(err, CoreError::InvalidInput(_)), "{err}");
    let changed = svc.change_type(me, inst.id, "t3.large").await.unwrap();
    assert_eq!(changed.instance_type, "t3.large");
    assert_eq!(
        repo.get(me.user_id, inst.id).await.unwrap().instance_type,
        "t3.large"
    );
    let spec = |d: &FakeDriver| {
        let c = d.containers.lock().unwrap();
        (c[&cid].spec.nano_cpus, c[&cid].spec.memory_bytes)
    };
    let before = spec(&driver);
    svc.start(me, inst.id).await.unwrap();
    let large = instance_type("t3.large").unwrap();
    assert_ne!(spec(&driver), before);
    assert_eq!(spec(&driver).1, large.memory_bytes() as i64);
    // Another owner's instance is not found.
    let err = svc
        .change_type(caller(), inst.id, "t3.nano")
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn an_instance_of_a_type_no_longer_known_still_starts() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("old")).await.unwrap();
    svc.stop(me, inst.id).await.unwrap();
    let before = driver.containers.lock().unwrap()[inst.container_id.as_deref().unwrap()]
        .spec
        .memory_bytes;
    let mut row = repo.get(me.user_id, inst.id).await.unwrap();
    row.instance_type = "x9.retired".into();
    repo.update(&row).await.unwrap();
    let started = svc.start(me, inst.id).await.unwrap();
    assert_eq!(started.state, InstanceState::Running);
    let after = driver.containers.lock().unwrap()[inst.container_id.as_deref().unwrap()]
        .spec
        .memory_bytes;
    assert_eq!(after, before, "the container keeps its limits");
}

#[tokio::test]
async fn the_resync_records_a_running_container_s_new_address() {
    let (svc, repo, _driver) = setup();
    let me = caller();
    let inst = svc.launch(me, req("moved")).await.unwrap();
    assert_eq!(inst.private_ip.as_deref(), Some("172.17.0.9"));
    assert_eq!(
        svc.reconcile_all().await.unwrap(),
        0,
        "the list confirms the row"
    );
    // As if the container restarted behind our back at another address.
    let mut row = repo.get(me.user_id, inst.id).await.unwrap();
    row.private_ip = Some("172.17.0.250".into());
    repo.update(&row).await.unwrap();
    svc.reconcile_all().await.unwrap();
    let now = repo.get(me.user_id, inst.id).await.unwrap();
    assert_eq!(now.private_ip.as_deref(), Some("172.17.0.9"));
    assert_eq!(now.state, InstanceState::Running);
}

#[tokio::test]
async fn relabel_all_changes_all_or_nothing() {
    let (svc, _repo, _driver) = setup();
    let me = caller();
    let a = svc.launch(me, req("a")).await.unwrap();
    let b = svc.launch(me, req("b")).await.unwrap();
    // Fill b up to the tag limit.
    for n in 0.. {
        let key = format!("k{n}");
        if svc.relabel(me, b.id, with_tag(&key, "v")).await.is_err() {
            break;
        }
    }
    let err = svc
        .relabel_all(me, &[a.id, b.id], with_tag("x", "1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::InvalidTag {
                problem: crate::error::TagProblem::TooMany,
                ..
            }
        ),
        "{err:?}"
    );
    let a_now = svc.get(me, a.id).await.unwrap();
    assert!(!a_now.tags.contains_key("x"), "a got its tags back");
    // A rename that fails on the second instance undoes the first's.
    let c = svc.launch(me, req("c")).await.unwrap();
    let err = svc
        .relabel_all(me, &[a.id, c.id], |i| {
            let mut labels = i.labels();
            labels.name = if i.id == a.id { "renamed" } else { "b" }.into();
            Ok(labels)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict { .. }), "{err:?}");
    assert_eq!(svc.get(me, a.id).await.unwrap().name, "a");
    // All succeed: all changed.
    let changed = svc
        .relabel_all(me, &[a.id, c.id], with_tag("y", "2"))
        .await
        .unwrap();
    assert!(changed.iter().all(|i| i.tags["y"] == "2"));
    assert!(svc.get(me, c.id).await.unwrap().tags.contains_key("y"));
}

/// A `STARTING` row no request holds (a crash cut its start) has its
/// start finished when Docker never started the container since the row
/// was saved (created only, or exited from its last run); one started
/// since, whose command then ended, is settled on that run, not run again.
#[tokio::test]
async fn starts_cut_short_are_finished_unless_docker_started_them() {
    let (svc, repo, driver) = setup();
    let me = caller();
    let mut cut = Vec::new();
    for (name, started) in [("created", None), ("exited", Some(-60)), ("ran", Some(1))] {
        let mut inst = svc.launch(me, req(name)).await.unwrap();
        let saved = crate::clock::now_utc();
        driver.set(inst.container_id.as_deref().unwrap(), |c| {
            c.running = false;
            c.exit_code = Some(if started == Some(1) { 3 } else { 137 });
            c.started_at = started.map(|s| saved + time::Duration::seconds(s));
        });
        inst.state = InstanceState::Starting;
        inst.updated_at = saved;
        repo.update(&inst).await.unwrap();
        cut.push(inst);
    }
    assert_eq!(svc.reconcile_all().await.unwrap(), 3);
    for inst in &cut[..2] {
        let now = svc.get(me, inst.id).await.unwrap();
        assert_eq!(
            (now.state, now.state_reason),
            (InstanceState::Running, None),
            "{}",
            inst.name
        );
    }
    let ran = svc.get(me, cut[2].id).await.unwrap();
    assert_eq!(
        (ran.state, ran.exit_code),
        (InstanceState::Stopped, Some(3))
    );
    let c = driver.containers.lock().unwrap()[cut[2].container_id.as_deref().unwrap()].clone();
    assert!(!c.running, "a start that happened is not made again");
}
