//! The compute service: the instance lifecycle on top of an [`InstanceRepo`]
//! and a [`ComputeDriver`], plus the reconciliation that keeps the stored
//! state true to what the runtime says.

use futures::StreamExt;
use futures::lock::{Mutex as AsyncMutex, OwnedMutexGuard};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::domain::{
    ClientToken, DEFAULT_INSTANCE_TYPE, Ec2InstanceId, INSTANCE_TYPES, ImageSummary, Instance,
    InstanceId, InstanceName, InstancePosition, InstanceState, InstanceType, LaunchOrigin,
    LaunchRequest, PAUSED_REASON, PortMapping, Protocol, PublishedPort, RESUMED_START_FAILED,
    STOPPED_BY_REQUEST, instance_type, validate_command, validate_env, validate_image,
};
use super::exec::{ExecRun, ExecSpec, TerminalSize, TtyRun};
use super::ports::{
    ComputeDriver, ContainerEvent, ContainerInfo, ContainerSpec, ContainerStatus, ContainerSummary,
    EventStream, InstanceRepo, InstanceStats, ListQuery, LogOptions, LogStream,
};
use super::tags::{Labels, check_tag_count, field_tags, validate_tags};
use crate::clock::now_utc;
use crate::error::{ConflictKind, CoreError, CoreResult, Dependency};
use crate::identity::{Caller, UserId};

/// Default page size of instance lists.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size of instance lists.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Tunables of the compute service.
#[derive(Debug, Clone)]
pub struct ComputeSettings {
    /// How long `stop` waits after SIGTERM before SIGKILL.
    pub stop_grace: Duration,
}

impl Default for ComputeSettings {
    fn default() -> Self {
        Self {
            stop_grace: Duration::from_secs(10),
        }
    }
}

/// One page of instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstancePage {
    /// The instances, oldest first.
    pub instances: Vec<Instance>,
    /// The place to pass as `after` for the next page, when there is one.
    pub next: Option<InstancePosition>,
}

/// How many instances a resync settles at once: enough that a dozen
/// stops cut short by a crash cost one grace period, not twelve; few
/// enough not to flood Docker with calls.
const RESYNC_CONCURRENCY: usize = 16;

/// The reason of an instance whose launch stopped before its container was
/// recorded (a crash, or Docker's answer to the create lost).
const INTERRUPTED_LAUNCH: &str = "the launch was interrupted before its container was recorded; \
                                  terminate this instance and launch it again";

/// Instances: launch, list, describe, stop, start, reboot, terminate, logs,
/// stats and reconciliation.
///
/// Every operation on one instance holds that instance's lock, so that
/// concurrent requests (and the reconciler) see each other's results
/// whole: a stop racing a start ends in the state of whichever ran last.
pub struct ComputeService {
    repo: Arc<dyn InstanceRepo>,
    driver: Option<Arc<dyn ComputeDriver>>,
    settings: ComputeSettings,
    locks: LockMap<InstanceId>,
    /// Launches with a client token hold their owner's and token's lock
    /// throughout, so that concurrent retries launch once.
    token_locks: LockMap<(UserId, String)>,
    /// Host CPU count once known (0: not asked yet).
    host_cpus: AtomicU32,
    /// Rows of failed launches whose container is gone but whose delete
    /// failed (the database went away mid-launch): deleted at the next
    /// launch or resync, so that the failed launch's name and client token
    /// do not answer for it.
    undeleted: Mutex<HashSet<InstanceId>>,
}

/// Locks by key (an instance, a client token): one async mutex per key
/// while someone holds or awaits it.
type LockMap<K> = Mutex<HashMap<K, Arc<AsyncMutex<()>>>>;

/// Holds one key's lock; removes the map entry when nobody else wants it.
struct KeyLock<'a, K: Eq + Hash> {
    key: K,
    locks: &'a LockMap<K>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl<K: Eq + Hash> Drop for KeyLock<'_, K> {
    fn drop(&mut self) {
        let mut map = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // The map and our guard each hold one reference; more means waiters.
        if map
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) <= 2)
        {
            map.remove(&self.key);
        }
        self.guard.take();
    }
}

/// Takes `key`'s lock in `locks`, waiting for its holder.
async fn lock_key<K: Eq + Hash + Clone>(locks: &LockMap<K>, key: K) -> KeyLock<'_, K> {
    let mutex = {
        let mut map = locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key.clone()).or_default().clone()
    };
    let guard = mutex.lock_owned().await;
    KeyLock {
        key,
        locks,
        guard: Some(guard),
    }
}

/// Takes `key`'s lock in `locks` if nobody holds it (or waits for it).
fn try_lock_key<K: Eq + Hash + Clone>(locks: &LockMap<K>, key: K) -> Option<KeyLock<'_, K>> {
    let mutex = {
        let mut map = locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key.clone()).or_default().clone()
    };
    // On failure the holder's guard removes the entry when it is done.
    let guard = mutex.try_lock_owned()?;
    Some(KeyLock {
        key,
        locks,
        guard: Some(guard),
    })
}

fn docker_not_configured() -> CoreError {
    CoreError::unavailable(
        Dependency::Docker,
        "Docker is not configured on this server, so compute is unavailable; \
         start the server with a reachable DOCKER_HOST",
    )
}

/// Checks the launch of instance `id` on its own (its name, image
/// reference, ports, environment, command, tags, their number with the
/// name, ports and command counted, and type), as a launch does before it
/// looks at anything else: what EC2's `DryRun` answers for.
///
/// # Errors
/// `InvalidInput` naming the first value that is wrong;
/// `InvalidTag(TooMany)`.
pub fn check_launch_request(id: InstanceId, request: &LaunchRequest) -> CoreResult<()> {
    checked_request(id, request).map(|_| ())
}

/// [`check_launch_request`], with what it parsed.
fn checked_request(
    id: InstanceId,
    request: &LaunchRequest,
) -> CoreResult<(InstanceName, Vec<PortMapping>, InstanceType)> {
    let name = InstanceName::parse(&request.name)?;
    validate_image(&request.image)?;
    let ports = PortMapping::parse_list(&request.ports)?;
    validate_env(&request.env)?;
    if let Some(cmd) = &request.command {
        validate_command(cmd)?;
    }
    validate_tags(&request.tags)?;
    check_tag_count(
        field_tags(id, name.as_str(), &ports, request.command.as_deref()).len()
            + request.tags.len(),
    )?;
    let itype = instance_type(
        request
            .instance_type
            .as_deref()
            .unwrap_or(DEFAULT_INSTANCE_TYPE),
    )?;
    Ok((name, ports, itype))
}

/// Brings `inst` in line with what the runtime says about its container.
fn settle(inst: &mut Instance, info: Option<&ContainerInfo>) {
    match info {
        None => {
            inst.published_ports.clear();
            inst.private_ip = None;
            // Settled already: the first reason stays (the next resync
            // must not turn "interrupted" into "removed outside").
            if inst.state == InstanceState::Error {
                return;
            }
            // A launch that failed removes its container before its row:
            // a crash in between leaves a STARTING row without one, which
            // nobody outside removed.
            inst.state_reason = Some(
                if inst.state == InstanceState::Starting {
                    "the launch was interrupted and its container is gone; terminate this \
                     instance and launch it again"
                } else {
                    "container disappeared (removed outside Mini AWS); terminate this instance \
                     and launch a new one"
                }
                .into(),
            );
            inst.state = InstanceState::Error;
        }
        Some(info) => match info.status {
            ContainerStatus::Running => {
                inst.state = InstanceState::Running;
                // EC2 has no paused state: the instance runs, and says
                // why it does not answer.
                inst.state_reason = info.paused.then(|| PAUSED_REASON.to_owned());
                inst.exit_code = None;
                inst.published_ports = info.ports.clone();
                inst.private_ip = info.ip_address.clone();
            }
            ContainerStatus::Exited => {
                inst.published_ports.clear();
                inst.private_ip = None;
                if matches!(inst.state, InstanceState::Stopped | InstanceState::Error) {
                    return;
                }
                inst.exit_code = info.exit_code;
                if info.oom_killed {
                    inst.state = InstanceState::Error;
                    inst.state_reason = Some(format!(
                        "out of memory: the container was killed for exceeding the memory \
                         limit of its instance type ({})",
                        inst.instance_type
                    ));
                } else if let Some(err) = info.error.as_deref().filter(|e| !e.is_empty()) {
                    inst.state = InstanceState::Error;
                    inst.state_reason = Some(format!("the container failed: {err}"));
                } else {
                    inst.state = InstanceState::Stopped;
                    inst.state_reason = Some(match info.exit_code {
                        Some(code) => format!("the container exited with code {code}"),
                        None => "the container exited".to_owned(),
                    });
                }
            }
        },
    }
}

/// Gives a container `limits` (see [`ComputeService::recorded_limits`]),
/// then starts it: the type recorded is the truth, so a type changed
/// while stopped (or a change cut short before) takes effect here.
async fn resize_and_start(
    driver: &Arc<dyn ComputeDriver>,
    cid: &str,
    limits: Option<(i64, i64)>,
) -> CoreResult<ContainerInfo> {
    if let Some((nano_cpus, memory_bytes)) = limits {
        driver.resize(cid, nano_cpus, memory_bytes).await?;
    }
    driver.start(cid).await
}

/// Whether Docker started the container since `inst` was last saved:
/// a `STARTING` row is saved just before its start goes to Docker, so a
/// later start time says that start happened (and an exited container
/// then exited on its own since), an earlier one (or none: created,
/// never started) that it never did. Docker's clock is compared with
/// ours: a skew of a few seconds can only mistake a start that happened
/// within them.
fn started_since_saved(inst: &Instance, info: &ContainerInfo) -> bool {
    info.started_at.is_some_and(|t| t > inst.updated_at)
}

/// The container `inst` runs in, with `limits` (CPU billionths, memory
/// bytes): what its launch creates, and what a resync creates again for a
/// launch a crash cut before Docker made it.
fn container_spec(inst: &Instance, (nano_cpus, memory_bytes): (i64, i64)) -> ContainerSpec {
    ContainerSpec {
        instance_id: inst.id,
        owner: inst.owner,
        name: inst.name.clone(),
        image: inst.image.clone(),
        nano_cpus,
        memory_bytes,
        ports: inst.ports.clone(),
        env: inst.env.clone(),
        command: inst.command.clone(),
    }
}

/// The reason of an instance whose launch, cut by a crash, could not be
/// finished after the restart (Docker refused the container).
fn unfinished_launch(err: &CoreError) -> String {
    format!(
        "the launch was interrupted by a restart of the server and could not be finished: \
         {err}; terminate this instance and launch it again"
    )
}

/// Removes the containers labelled as instance `id`'s that its row does
/// not name (`recorded`, when it names one): an interrupted launch's that
/// Docker made after all (see [`ComputeService::reconcile_one`]).
async fn remove_unrecorded(
    driver: &Arc<dyn ComputeDriver>,
    id: InstanceId,
    recorded: Option<&str>,
) -> CoreResult<()> {
    for c in labelled_with(driver, id).await? {
        if Some(c.container_id.as_str()) != recorded {
            driver.remove(&c.container_id).await?;
            tracing::info!(instance_id = %id, container_id = %c.container_id, "removed a container its instance's row does not name");
        }
    }
    Ok(())
}

/// The containers labelled as instance `id`'s.
async fn labelled_with(
    driver: &Arc<dyn ComputeDriver>,
    id: InstanceId,
) -> CoreResult<Vec<ContainerSummary>> {
    let mut found = driver.list_containers().await?;
    found.retain(|c| c.instance_id == id);
    Ok(found)
}

/// Whether `earlier`, the instances launched with a client token, are what
/// is left of a launch a crash cut short rather than its answer: fewer of
/// them than the `requested` count (a successful launch keeps every row,
/// terminated ones too; a failed one keeps none), or one whose container
/// was never recorded (a launch records its container before starting it).
fn interrupted(earlier: &[Instance], requested: usize) -> bool {
    earlier.len() < requested
        || earlier.iter().any(|i| {
            i.container_id.is_none()
                && matches!(i.state, InstanceState::Starting | InstanceState::Error)
        })
}

/// Whether a container list entry confirms an instance's recorded state,
/// so that inspecting the container would change nothing.
///
/// A running container confirms a `RUNNING` row only with the host ports
/// and the address the row records: one restarted while the server was
/// down (a reboot cut by a crash, or someone behind our back) runs again
/// on new auto-assigned host ports, maybe at another address, and its
/// events may be long gone. (A list that names no address is not taken
/// to contradict the row.)
fn list_confirms(inst: &Instance, listed: Option<&ContainerSummary>) -> bool {
    match (inst.state, listed) {
        (InstanceState::Running, Some(c)) if c.status == ContainerStatus::Running => {
            c.paused == inst.is_paused()
                && same_host_ports(&inst.published_ports, &c.ports)
                && (c.ip_address.is_none() || c.ip_address == inst.private_ip)
        }
        (InstanceState::Stopped | InstanceState::Error, Some(c))
            if c.status == ContainerStatus::Exited =>
        {
            inst.published_ports.is_empty()
        }
        _ => false,
    }
}

/// Whether two lists publish the same container ports on the same host
/// ports (host addresses aside: a list may name a port's IPv4 and IPv6
/// bindings in either order).
fn same_host_ports(a: &[PublishedPort], b: &[PublishedPort]) -> bool {
    let key = |l: &[PublishedPort]| -> BTreeSet<(u16, Protocol, u16)> {
        l.iter()
            .map(|p| (p.container_port, p.protocol, p.host_port))
            .collect()
    };
    key(a) == key(b)
}

impl ComputeService {
    /// A service over `repo` and (when Docker is configured) `driver`.
    pub fn new(
        repo: Arc<dyn InstanceRepo>,
        driver: Option<Arc<dyn ComputeDriver>>,
        settings: ComputeSettings,
    ) -> Self {
        Self {
            repo,
            driver,
            settings,
            locks: Mutex::new(HashMap::new()),
            token_locks: Mutex::new(HashMap::new()),
            host_cpus: AtomicU32::new(0),
            undeleted: Mutex::new(HashSet::new()),
        }
    }

    /// Deletes the rows of failed launches left by a failed delete (see
    /// `undeleted`); those that still fail stay for the next time.
    async fn delete_undeleted(&self) {
        let pending: Vec<InstanceId> = {
            let set = self.undeleted.lock().unwrap_or_else(|p| p.into_inner());
            if set.is_empty() {
                return;
            }
            set.iter().copied().collect()
        };
        for id in pending {
            let _lock = self.lock(id).await;
            match self.repo.delete(id).await {
                Ok(()) => {
                    self.undeleted
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    tracing::info!(instance_id = %id, "deleted the row of a failed launch");
                }
                Err(e) => {
                    tracing::debug!(instance_id = %id, error = %e, "the row of a failed launch stays for now")
                }
            }
        }
    }

    /// Remembers that the row of failed launch `id` could not be deleted.
    fn delete_later(&self, id: InstanceId, err: &CoreError) {
        tracing::warn!(instance_id = %id, error = %err, "cannot delete the row of a failed launch; it goes at the next launch or resync");
        self.undeleted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
    }

    /// The instance-type catalogue.
    pub fn instance_types(&self) -> &'static [InstanceType] {
        &INSTANCE_TYPES
    }

    /// The type used when a launch names none.
    pub fn default_instance_type(&self) -> &'static str {
        DEFAULT_INSTANCE_TYPE
    }

    /// The images present in the runtime, by name. They belong to the
    /// host, not to a user: every user may launch any of them (as any may
    /// name any image to pull), so every user sees the same list.
    ///
    /// # Errors
    /// `Unavailable(Docker)`.
    pub async fn images(&self) -> CoreResult<Vec<ImageSummary>> {
        let mut images = self.driver()?.list_images().await?;
        images.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(images)
    }

    fn driver(&self) -> CoreResult<&Arc<dyn ComputeDriver>> {
        self.driver.as_ref().ok_or_else(docker_not_configured)
    }

    async fn lock(&self, id: InstanceId) -> KeyLock<'_, InstanceId> {
        lock_key(&self.locks, id).await
    }

    async fn host_cpus(&self, driver: &Arc<dyn ComputeDriver>) -> CoreResult<u32> {
        match self.host_cpus.load(Ordering::Relaxed) {
            0 => {
                let n = driver.host_cpus().await?.max(1);
                self.host_cpus.store(n, Ordering::Relaxed);
                Ok(n)
            }
            n => Ok(n),
        }
    }

    /// The CPU (billionths) and memory (bytes) limits of `itype`, its
    /// vCPUs capped at the host's.
    async fn limits(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        itype: &InstanceType,
    ) -> CoreResult<(i64, i64)> {
        let cpus = itype.vcpus.min(self.host_cpus(driver).await?);
        Ok((
            i64::from(cpus) * 1_000_000_000,
            i64::try_from(itype.memory_bytes()).unwrap_or(i64::MAX),
        ))
    }

    /// The limits of `inst`'s recorded type, which every start gives its
    /// container; `None` for a type the catalogue no longer has (or a row
    /// from before types were recorded): the container keeps its own.
    async fn recorded_limits(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        inst: &Instance,
    ) -> CoreResult<Option<(i64, i64)>> {
        match instance_type(&inst.instance_type) {
            Ok(t) => Ok(Some(self.limits(driver, &t).await?)),
            Err(_) => Ok(None),
        }
    }

    async fn save(&self, inst: &mut Instance) -> CoreResult<()> {
        inst.updated_at = now_utc();
        self.repo.update(inst).await
    }

    /// Launches an instance: validates everything first, makes sure the
    /// image is present, records the instance, creates and starts its
    /// container. Answers with the instance `RUNNING` (or what it became).
    ///
    /// # Errors
    /// `InvalidInput` for a bad request; `NotFound(Image)` when the image is
    /// neither present nor pullable; `Conflict(AlreadyExists)` for a name in
    /// use; `Conflict(PortInUse)` for a fixed host port another
    /// non-terminated instance holds (stopped ones too: see
    /// [`InstanceRepo::insert`]) or something else listens on;
    /// `Unavailable(Docker)`.
    /// A launch that fails leaves no row and no container behind, except
    /// when the create reached Docker and its answer was lost: then the
    /// instance stays `ERROR` (interrupted), so that a container Docker made
    /// all the same is found by its label and removed by the resync or a
    /// terminate.
    pub async fn launch(&self, caller: Caller, request: LaunchRequest) -> CoreResult<Instance> {
        self.launch_as(caller, InstanceId::new(), request).await
    }

    /// [`launch`](Self::launch) with the id the instance gets chosen by
    /// the caller (a fresh one: EC2's RunInstances names an instance
    /// without a `Name` tag after its id, so it needs the id first).
    ///
    /// # Errors
    /// As [`launch`](Self::launch); an id in use is `Conflict(AlreadyExists)`.
    #[tracing::instrument(skip(self, request), fields(name = %request.name, image = %request.image))]
    pub async fn launch_as(
        &self,
        caller: Caller,
        id: InstanceId,
        request: LaunchRequest,
    ) -> CoreResult<Instance> {
        // A failed launch's leftover row would hold its name.
        self.delete_undeleted().await;
        self.launch_from(caller, id, request, None).await
    }

    /// [`launch_as`](Self::launch_as) recording the launch request the
    /// instance is part of.
    async fn launch_from(
        &self,
        caller: Caller,
        id: InstanceId,
        request: LaunchRequest,
        origin: Option<LaunchOrigin>,
    ) -> CoreResult<Instance> {
        let (name, ports, itype) = checked_request(id, &request)?;
        let driver = self.driver()?.clone();
        let (nano_cpus, memory_bytes) = self.limits(&driver, &itype).await?;
        driver.ensure_image(&request.image).await?;

        let now = now_utc();
        let mut inst = Instance {
            id,
            owner: caller.user_id,
            name: name.as_str().to_owned(),
            image: request.image,
            instance_type: itype.name.to_owned(),
            state: InstanceState::Starting,
            state_reason: None,
            exit_code: None,
            container_id: None,
            ports,
            published_ports: Vec::new(),
            private_ip: None,
            env: request.env,
            command: request.command,
            tags: request.tags,
            origin,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let _lock = self.lock(inst.id).await;
        self.repo.insert(&inst).await?;
        let spec = container_spec(&inst, (nano_cpus, memory_bytes));
        match self.create_and_start(&driver, &mut inst, &spec).await {
            Ok(()) => {
                tracing::info!(instance_id = %inst.id, state = %inst.state, "instance launched");
                Ok(inst)
            }
            Err(err) => {
                self.undo_launch(&driver, &mut inst, &err).await;
                Err(err)
            }
        }
    }

    /// Launches one instance per request (with the id it names), all or
    /// nothing: when one launch fails, the instances launched before it
    /// are discarded (container and row removed, as a failed launch leaves
    /// nothing) and its error is returned. The EC2 API's RunInstances.
    ///
    /// With a client token, the launch happens once: when `caller`
    /// launched with that token before (and it succeeded), the instances it
    /// launched are answered as they are now, in launch order, and nothing
    /// is launched. The token is stored with the instances, so this holds
    /// across restarts; a failed launch stores nothing, so its retry
    /// launches. A launch a crash cut short (fewer instances than asked
    /// for, or one that never got its container) is discarded by the retry
    /// and launched again, all or nothing, as the first try would have.
    ///
    /// # Errors
    /// As [`launch`](Self::launch); `Conflict(TokenReused)` when the token
    /// was used before with other parameters (another digest).
    #[tracing::instrument(skip(self, requests, token), fields(count = requests.len()))]
    pub async fn launch_all(
        &self,
        caller: Caller,
        requests: Vec<(InstanceId, LaunchRequest)>,
        token: Option<ClientToken>,
    ) -> CoreResult<Vec<Instance>> {
        // A failed launch's leftover row would hold its name and answer
        // for its client token.
        self.delete_undeleted().await;
        let Some(token) = token else {
            return self.launch_group(caller, requests, None).await;
        };
        let _lock = lock_key(&self.token_locks, (caller.user_id, token.value.clone())).await;
        let earlier = self
            .repo
            .find_by_client_token(caller.user_id, &token.value)
            .await?;
        if earlier.is_empty() {
            return self.launch_group(caller, requests, Some(token)).await;
        }
        let repeats = earlier.iter().all(|i| {
            i.origin
                .as_ref()
                .and_then(|o| o.token.as_ref())
                .is_some_and(|t| t.digest == token.digest)
        });
        if !repeats {
            return Err(CoreError::conflict(
                ConflictKind::TokenReused,
                format!(
                    "the client token `{}` was used before with other parameters; \
                     use a new token for a new launch",
                    token.value
                ),
            ));
        }
        if !interrupted(&earlier, requests.len()) {
            tracing::info!(
                count = earlier.len(),
                "launch repeated with its client token: nothing launched"
            );
            return Ok(earlier);
        }
        // The first try never answered (the server went down in the middle
        // of it): its all-or-nothing launch is done again, from scratch.
        tracing::info!(
            found = earlier.len(),
            requested = requests.len(),
            "the launch with this client token was interrupted: launching it again"
        );
        for inst in &earlier {
            self.discard(inst.id).await;
        }
        if !self
            .repo
            .find_by_client_token(caller.user_id, &token.value)
            .await?
            .is_empty()
        {
            return Err(CoreError::unavailable(
                Dependency::Docker,
                "the interrupted launch with this client token could not be cleared \
                 (its containers resist removal); try again",
            ));
        }
        self.launch_group(caller, requests, Some(token)).await
    }

    /// Launches the requests as one group (see [`launch_all`](Self::launch_all)).
    async fn launch_group(
        &self,
        caller: Caller,
        requests: Vec<(InstanceId, LaunchRequest)>,
        token: Option<ClientToken>,
    ) -> CoreResult<Vec<Instance>> {
        let first = requests.first().map(|(id, _)| *id);
        let grouped = requests.len() > 1 || token.is_some();
        let mut launched: Vec<Instance> = Vec::with_capacity(requests.len());
        for (index, (id, request)) in requests.into_iter().enumerate() {
            let origin = match first {
                Some(first) if grouped => Some(LaunchOrigin {
                    first,
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    token: token.clone(),
                }),
                _ => None,
            };
            match self.launch_from(caller, id, request, origin).await {
                Ok(inst) => launched.push(inst),
                Err(err) => {
                    for inst in launched {
                        self.discard(inst.id).await;
                    }
                    return Err(err);
                }
            }
        }
        Ok(launched)
    }

    /// Removes an instance that [`launch_all`](Self::launch_all) launched
    /// but must not keep: its container, then its row. Should the
    /// container resist, the instance is terminated instead (the row
    /// stays, `TERMINATED`, and the resync removes the container), so no
    /// container outlives a row naming it.
    async fn discard(&self, id: InstanceId) {
        let _lock = self.lock(id).await;
        let Ok(Some(mut inst)) = self.repo.find(id).await else {
            return;
        };
        let removed = match (&self.driver, &inst.container_id) {
            (Some(driver), Some(cid)) => driver.remove(cid).await,
            // An interrupted launch's: Docker may have made one all the
            // same, labelled with the instance.
            (Some(driver), None) => remove_unrecorded(driver, id, None).await,
            (None, _) => Ok(()),
        };
        match removed {
            Ok(()) => {
                if let Err(e) = self.repo.delete(id).await {
                    self.delete_later(id, &e);
                }
            }
            Err(e) => {
                tracing::warn!(instance_id = %id, error = %e, "cannot remove the container of a discarded launch; terminating it");
                inst.state = InstanceState::Terminated;
                inst.state_reason = None;
                inst.published_ports.clear();
                inst.private_ip = None;
                inst.deleted_at = Some(now_utc());
                if let Err(e) = self.save(&mut inst).await {
                    tracing::warn!(instance_id = %id, error = %e, "cannot record a discarded launch");
                }
            }
        }
    }

    async fn create_and_start(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        inst: &mut Instance,
        spec: &ContainerSpec,
    ) -> CoreResult<()> {
        let container_id = driver.create(spec).await?;
        inst.container_id = Some(container_id.clone());
        // Recorded before the start, so that a crash from here on leaves a
        // row pointing at its container for the reconciler to settle.
        self.save(inst).await?;
        let info = driver.start(&container_id).await?;
        settle(inst, Some(&info));
        self.save(inst).await
    }

    /// Removes what a failed launch created. When the container cannot be
    /// removed, the row stays in `ERROR` so that the container is not lost.
    async fn undo_launch(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        inst: &mut Instance,
        err: &CoreError,
    ) {
        // The create reached Docker but its answer did not come back (the
        // connection broke, or the call timed out): Docker may have made
        // the container all the same, or may still. The row stays, as an
        // interrupted launch, so that the resync (and terminate) find such
        // a container by its label and remove it; a container whose row is
        // gone would pass for another server's and be left running for
        // good. When the create never left (Docker refused the connection),
        // nothing was made and the row goes like any failed launch's.
        if inst.container_id.is_none()
            && matches!(
                err,
                CoreError::Unavailable {
                    dependency: Dependency::Docker,
                    outcome_unknown: true,
                    ..
                }
            )
        {
            inst.state = InstanceState::Error;
            inst.state_reason = Some(INTERRUPTED_LAUNCH.into());
            if let Err(e) = self.save(inst).await {
                tracing::warn!(instance_id = %inst.id, error = %e, "cannot record an interrupted launch");
            }
            return;
        }
        if let Some(cid) = inst.container_id.clone()
            && let Err(e) = driver.remove(&cid).await
        {
            tracing::warn!(instance_id = %inst.id, error = %e, "cannot remove the container of a failed launch");
            inst.state = InstanceState::Error;
            inst.state_reason = Some(format!("launch failed: {err}; terminate this instance"));
            if let Err(e) = self.save(inst).await {
                tracing::warn!(instance_id = %inst.id, error = %e, "cannot record a failed launch");
            }
            return;
        }
        if let Err(e) = self.repo.delete(inst.id).await {
            self.delete_later(inst.id, &e);
        }
    }

    /// One page of the caller's instances (terminated ones only with
    /// `include_terminated`), oldest first.
    ///
    /// # Errors
    /// `InvalidInput` for a limit outside 1..=1000.
    pub async fn list(
        &self,
        caller: Caller,
        include_terminated: bool,
        limit: Option<u32>,
        after: Option<InstancePosition>,
    ) -> CoreResult<InstancePage> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(CoreError::invalid(format!(
                "limit must be from 1 to {MAX_PAGE_SIZE} (got {limit})"
            )));
        }
        let query = ListQuery {
            include_terminated,
            limit: limit + 1,
            after,
        };
        let mut instances = self.repo.list(caller.user_id, &query).await?;
        let next = if instances.len() > limit as usize {
            instances.truncate(limit as usize);
            instances.last().map(InstancePosition::of)
        } else {
            None
        };
        Ok(InstancePage { instances, next })
    }

    /// Describes one of the caller's instances (terminated ones too).
    ///
    /// # Errors
    /// `NotFound(Instance)` for unknown ids and other owners' instances.
    pub async fn get(&self, caller: Caller, id: InstanceId) -> CoreResult<Instance> {
        self.repo.get(caller.user_id, id).await
    }

    /// Describes one of the caller's instances by its EC2 id (terminated
    /// ones too).
    ///
    /// # Errors
    /// `NotFound(Instance)` for unknown ids and other owners' instances.
    pub async fn get_by_ec2_id(&self, caller: Caller, id: &Ec2InstanceId) -> CoreResult<Instance> {
        self.repo.get_by_ec2_id(caller.user_id, id).await
    }

    /// Changes the name and tags of one of the caller's instances (any
    /// state, terminated included, as EC2 tags): `edit` gets the instance
    /// as stored and answers its new [`Labels`]. The change is a
    /// compare-and-set, retried with a fresh read when another edit came
    /// first, so concurrent edits of different tags all land. Answers the
    /// instance as changed (as it was when nothing changes).
    ///
    /// # Errors
    /// `NotFound(Instance)`; what `edit` returns; `InvalidInput` for a
    /// name or tag that breaks the rules; `Conflict(AlreadyExists)` for a
    /// name another live instance of the caller has.
    pub async fn relabel<F>(&self, caller: Caller, id: InstanceId, edit: F) -> CoreResult<Instance>
    where
        F: Fn(&Instance) -> CoreResult<Labels> + Send + Sync,
    {
        Ok(self.relabel_from(caller, id, edit).await?.1)
    }

    /// [`relabel`](Self::relabel), also answering the labels the change
    /// replaced (those its compare-and-set matched).
    async fn relabel_from<F>(
        &self,
        caller: Caller,
        id: InstanceId,
        edit: F,
    ) -> CoreResult<(Labels, Instance)>
    where
        F: Fn(&Instance) -> CoreResult<Labels> + Send + Sync,
    {
        // Each failed attempt means another edit landed, so this bound is
        // only reached under a storm of edits to one instance.
        const ATTEMPTS: usize = 64;
        for _ in 0..ATTEMPTS {
            let mut inst = self.repo.get(caller.user_id, id).await?;
            let old = inst.labels();
            let new = edit(&inst)?;
            if new == old {
                return Ok((old, inst));
            }
            if new.name != old.name {
                InstanceName::parse(&new.name)?;
            }
            validate_tags(&new.tags)?;
            let mut would_be = inst.clone();
            (would_be.name, would_be.tags) = (new.name.clone(), new.tags.clone());
            would_be.check_tag_count()?;
            let at = now_utc();
            if self.repo.relabel(id, &old, &new, at).await? {
                inst.name = new.name;
                inst.tags = new.tags;
                inst.updated_at = at;
                tracing::info!(instance_id = %id, "instance tags changed");
                return Ok((old, inst));
            }
        }
        Err(CoreError::conflict(
            ConflictKind::InvalidState,
            format!("the tags of instance {id} keep changing under this edit; try again"),
        ))
    }

    /// [`relabel`](Self::relabel) for several instances, all or nothing:
    /// when the change of one fails (a name taken meanwhile, the tag
    /// limit reached by a concurrent edit), the instances changed before
    /// it get their labels back, each with a compare-and-set, so an edit
    /// that landed on one of them since is kept, not undone. Answers the
    /// instances as changed, in order.
    ///
    /// # Errors
    /// The first failure, as [`relabel`](Self::relabel).
    pub async fn relabel_all<F>(
        &self,
        caller: Caller,
        ids: &[InstanceId],
        edit: F,
    ) -> CoreResult<Vec<Instance>>
    where
        F: Fn(&Instance) -> CoreResult<Labels> + Send + Sync,
    {
        let mut done: Vec<(Labels, Instance)> = Vec::with_capacity(ids.len());
        for id in ids {
            match self.relabel_from(caller, *id, &edit).await {
                Ok(changed) => done.push(changed),
                Err(err) => {
                    self.restore_labels(done).await;
                    return Err(err);
                }
            }
        }
        Ok(done.into_iter().map(|(_, inst)| inst).collect())
    }

    /// Gives each changed instance back its labels from before, unless
    /// they changed again since (then the later edit stays).
    async fn restore_labels(&self, done: Vec<(Labels, Instance)>) {
        for (before, inst) in done.into_iter().rev() {
            let after = inst.labels();
            if after == before {
                continue;
            }
            match self.repo.relabel(inst.id, &after, &before, now_utc()).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    instance_id = %inst.id,
                    "tags changed again before a failed edit could restore them; kept"
                ),
                Err(e) => tracing::warn!(
                    instance_id = %inst.id,
                    error = %e,
                    "cannot restore the tags of a failed edit"
                ),
            }
        }
    }

    /// Changes the type of a stopped instance (or one in `ERROR`, which
    /// can be started), as EC2 allows: only the record changes here, and
    /// the next start gives the container the new type's limits (every
    /// start applies the recorded type's). Answers the instance; the same
    /// type changes nothing.
    ///
    /// # Errors
    /// `InvalidInput` for a type not in the catalogue;
    /// `Conflict(InvalidState)` naming the state unless it is stopped;
    /// `NotFound`.
    #[tracing::instrument(skip(self))]
    pub async fn change_type(
        &self,
        caller: Caller,
        id: InstanceId,
        type_name: &str,
    ) -> CoreResult<Instance> {
        let itype = instance_type(type_name)?;
        let _lock = self.lock(id).await;
        let mut inst = self.repo.get(caller.user_id, id).await?;
        if !matches!(inst.state, InstanceState::Stopped | InstanceState::Error) {
            return Err(inst.illegal("change the type of"));
        }
        if inst.instance_type != itype.name {
            inst.instance_type = itype.name.to_owned();
            self.save(&mut inst).await?;
            tracing::info!(instance_id = %id, instance_type = itype.name, "instance type changed");
        }
        Ok(inst)
    }

    /// Stops a running instance: SIGTERM, then SIGKILL after the grace
    /// period.
    ///
    /// # Errors
    /// `Conflict(InvalidState)` naming the current state unless it is
    /// `RUNNING` (or stuck in `STARTING`/`STOPPING`); `NotFound`;
    /// `Unavailable(Docker)`.
    pub async fn stop(&self, caller: Caller, id: InstanceId) -> CoreResult<Instance> {
        self.stop_with(caller, id, false).await
    }

    /// [`stop`](Self::stop), or with `force` SIGKILL at once, without the
    /// grace period (EC2's `Force`).
    ///
    /// # Errors
    /// As [`stop`](Self::stop).
    #[tracing::instrument(skip(self))]
    pub async fn stop_with(
        &self,
        caller: Caller,
        id: InstanceId,
        force: bool,
    ) -> CoreResult<Instance> {
        let grace = if force {
            Duration::ZERO
        } else {
            self.settings.stop_grace
        };
        let driver = self.driver()?.clone();
        let _lock = self.lock(id).await;
        let mut inst = self.repo.get(caller.user_id, id).await?;
        let allowed = matches!(
            inst.state,
            InstanceState::Running | InstanceState::Starting | InstanceState::Stopping
        );
        let Some(cid) = inst.container_id.clone().filter(|_| allowed) else {
            return Err(inst.illegal("stop"));
        };
        let previous = inst.state;
        inst.state = InstanceState::Stopping;
        self.save(&mut inst).await?;
        match driver.stop(&cid, grace).await {
            Ok(info) => {
                settle(&mut inst, Some(&info));
                if inst.state == InstanceState::Stopped {
                    inst.state_reason = Some(STOPPED_BY_REQUEST.into());
                }
            }
            Err(CoreError::NotFound { .. }) => settle(&mut inst, None),
            Err(err) => {
                inst.state = previous;
                self.save(&mut inst).await?;
                return Err(err);
            }
        }
        self.save(&mut inst).await?;
        tracing::info!(instance_id = %id, state = %inst.state, "instance stopped");
        Ok(inst)
    }

    /// Starts a stopped (or failed) instance again.
    ///
    /// # Errors
    /// `Conflict(InvalidState)` unless it is `STOPPED` or `ERROR` with a
    /// container; `Conflict(PortInUse)` when another instance holds one
    /// of its fixed host ports (nothing changes then) or something else
    /// listens on one; `NotFound`; `Unavailable(Docker)`.
    #[tracing::instrument(skip(self))]
    pub async fn start(&self, caller: Caller, id: InstanceId) -> CoreResult<Instance> {
        let driver = self.driver()?.clone();
        let _lock = self.lock(id).await;
        let mut inst = self.repo.get(caller.user_id, id).await?;
        let allowed = matches!(inst.state, InstanceState::Stopped | InstanceState::Error);
        let Some(cid) = inst.container_id.clone().filter(|_| allowed) else {
            return Err(inst.illegal("start"));
        };
        // Its fixed host ports are reserved for it from its launch on; an
        // instance from before reservations may lack them (another one
        // recorded the same port), and starts only once it holds them.
        self.repo.reserve_host_ports(&inst).await?;
        let limits = self.recorded_limits(&driver, &inst).await?;
        let previous = (inst.state, inst.state_reason.clone());
        inst.state = InstanceState::Starting;
        inst.state_reason = None;
        self.save(&mut inst).await?;
        match resize_and_start(&driver, &cid, limits).await {
            Ok(info) => {
                // A container that exits at once settles from STARTING.
                settle(&mut inst, Some(&info));
            }
            Err(CoreError::NotFound { .. }) => {
                // Settled from what it was, not from STARTING: a STARTING
                // row without a container reads as an interrupted launch.
                (inst.state, inst.state_reason) = previous;
                settle(&mut inst, None);
                self.save(&mut inst).await?;
                return Err(CoreError::conflict(
                    ConflictKind::InvalidState,
                    format!(
                        "cannot start instance {} ({}): its container disappeared; \
                         terminate it and launch a new one",
                        inst.name, inst.id
                    ),
                ));
            }
            Err(err) => {
                (inst.state, inst.state_reason) = previous;
                self.save(&mut inst).await?;
                return Err(err);
            }
        }
        self.save(&mut inst).await?;
        tracing::info!(instance_id = %id, state = %inst.state, "instance started");
        Ok(inst)
    }

    /// Restarts a running instance's container.
    ///
    /// # Errors
    /// `Conflict(InvalidState)` unless it is `RUNNING`; `NotFound`;
    /// `Unavailable(Docker)`.
    #[tracing::instrument(skip(self))]
    pub async fn reboot(&self, caller: Caller, id: InstanceId) -> CoreResult<Instance> {
        let driver = self.driver()?.clone();
        let _lock = self.lock(id).await;
        let mut inst = self.repo.get(caller.user_id, id).await?;
        let allowed = inst.state == InstanceState::Running;
        let Some(cid) = inst.container_id.clone().filter(|_| allowed) else {
            return Err(inst.illegal("reboot"));
        };
        match driver.restart(&cid, self.settings.stop_grace).await {
            Ok(info) => settle(&mut inst, Some(&info)),
            Err(CoreError::NotFound { .. }) => settle(&mut inst, None),
            Err(err) => return Err(err),
        }
        self.save(&mut inst).await?;
        tracing::info!(instance_id = %id, state = %inst.state, "instance rebooted");
        Ok(inst)
    }

    /// Terminates an instance: marks it `TERMINATED` (the row stays,
    /// describable), then removes its container. Terminating a terminated
    /// instance changes nothing. Should the removal fail after the row is
    /// marked (Docker gone in between), the resync removes the container.
    ///
    /// # Errors
    /// `NotFound`; `Unavailable(Docker)` when Docker does not answer first
    /// (then nothing changes).
    #[tracing::instrument(skip(self))]
    pub async fn terminate(&self, caller: Caller, id: InstanceId) -> CoreResult<Instance> {
        let _lock = self.lock(id).await;
        let mut inst = self.repo.get(caller.user_id, id).await?;
        if inst.state == InstanceState::Terminated {
            return Ok(inst);
        }
        let driver = self.driver()?.clone();
        // The row is marked first and the container removed after, so
        // that a crash in between leaves a terminated row whose container
        // the resync removes (removing first left a live row whose
        // container had vanished: "removed outside Mini AWS", which was
        // not true). Docker must answer first, so that while it is down
        // nothing changes.
        let container = match &inst.container_id {
            Some(cid) => driver.inspect(cid).await?.map(|_| cid.clone()),
            None => {
                // An interrupted launch: a container Docker made after
                // all goes with the instance.
                remove_unrecorded(&driver, id, None).await?;
                None
            }
        };
        inst.state = InstanceState::Terminated;
        inst.state_reason = None;
        inst.published_ports.clear();
        inst.private_ip = None;
        inst.deleted_at = Some(now_utc());
        self.save(&mut inst).await?;
        if let Some(cid) = container
            && let Err(e) = driver.remove(&cid).await
        {
            tracing::warn!(instance_id = %id, error = %e, "cannot remove the container of a terminated instance yet; the resync will");
        }
        tracing::info!(instance_id = %id, "instance terminated");
        Ok(inst)
    }

    /// The log of an instance's container (stdout and stderr).
    ///
    /// # Errors
    /// `Conflict(InvalidState)` when the instance has no container (it was
    /// terminated or its launch did not get that far); `NotFound`;
    /// `Unavailable(Docker)`.
    pub async fn logs(
        &self,
        caller: Caller,
        id: InstanceId,
        options: &LogOptions,
    ) -> CoreResult<LogStream> {
        let driver = self.driver()?;
        let inst = self.repo.get(caller.user_id, id).await?;
        let Some(cid) = inst
            .container_id
            .as_deref()
            .filter(|_| inst.state != InstanceState::Terminated)
        else {
            return Err(inst.illegal("read the logs of"));
        };
        match driver.logs(cid, options).await {
            // Terminated while asked (the call reads no lock): say what
            // the instance is now, as `stats` does.
            Err(CoreError::NotFound { .. }) => {
                let now = self.repo.get(caller.user_id, id).await?;
                Err(now.illegal("read the logs of"))
            }
            other => other,
        }
    }

    /// Starts a command in a running instance (`docker exec`): its output
    /// streams back, then its exit code. Only the owner may; nothing is
    /// recorded about the run.
    ///
    /// # Errors
    /// `InvalidInput` for a bad spec (before anything else);
    /// `Conflict(InvalidState)` unless the instance is `RUNNING`;
    /// `NotFound`; `Unavailable(Docker)`.
    pub async fn exec(
        &self,
        caller: Caller,
        id: InstanceId,
        spec: &ExecSpec,
    ) -> CoreResult<ExecRun> {
        spec.validate()?;
        let driver = self.driver()?;
        let cid = self
            .running_container(caller, id, "run a command in")
            .await?;
        match driver.exec(&cid, spec).await {
            Err(e) => Err(self.exec_refused(caller, id, e).await),
            other => other,
        }
    }

    /// Starts a command in a running instance with a terminal of `size`
    /// (`docker exec -it`): what is typed goes to it as it comes, what it
    /// shows comes back, and the terminal can be resized. The same rules
    /// as [`exec`](Self::exec); the caller kills the command (`kill`) if
    /// the session ends first.
    ///
    /// # Errors
    /// `InvalidInput` for a bad spec, or one that gives input whole
    /// (before anything else); `Conflict(InvalidState)` unless the
    /// instance is `RUNNING`; `NotFound`; `Unavailable(Docker)`.
    pub async fn exec_tty(
        &self,
        caller: Caller,
        id: InstanceId,
        spec: &ExecSpec,
        size: TerminalSize,
    ) -> CoreResult<TtyRun> {
        if spec.stdin.is_some() {
            return Err(CoreError::invalid(
                "a command with a terminal takes its input as it is typed, not given whole: \
                 leave stdin out",
            ));
        }
        spec.validate()?;
        let driver = self.driver()?;
        let cid = self
            .running_container(caller, id, "run a command in")
            .await?;
        match driver.exec_tty(&cid, spec, size).await {
            Err(e) => Err(self.exec_refused(caller, id, e).await),
            other => other,
        }
    }

    /// What to say when the runtime refused to start a command: when it
    /// says the container is gone or not running, the instance was stopped
    /// or terminated while asked, so say what it is now (the runtime's own
    /// words while the record has not caught up).
    async fn exec_refused(&self, caller: Caller, id: InstanceId, e: CoreError) -> CoreError {
        if !matches!(e, CoreError::NotFound { .. } | CoreError::Conflict { .. }) {
            return e;
        }
        match self.repo.get(caller.user_id, id).await {
            Ok(now) if now.state == InstanceState::Running => e,
            Ok(now) => now.illegal("run a command in"),
            Err(read) => read,
        }
    }

    /// One resource-use sample of a running instance.
    ///
    /// # Errors
    /// `Conflict(InvalidState)` unless it is `RUNNING`; `NotFound`;
    /// `Unavailable(Docker)`.
    pub async fn stats(&self, caller: Caller, id: InstanceId) -> CoreResult<InstanceStats> {
        let driver = self.driver()?;
        let cid = self
            .running_container(caller, id, "read the stats of")
            .await?;
        match driver.stats(&cid).await {
            // Stopped or terminated while sampled (the sample takes about
            // a second, and reads no lock): say what the instance is now.
            Err(CoreError::NotFound { .. }) => {
                let now = self.repo.get(caller.user_id, id).await?;
                Err(now.illegal("read the stats of"))
            }
            // Docker answers a container that stopped during the sample
            // with a sample of zeros, not an error: no running container
            // has no memory limit at all.
            Ok(sample) if sample.memory_limit_bytes == 0 => {
                let now = self.repo.get(caller.user_id, id).await?;
                Err(if now.state == InstanceState::Running {
                    CoreError::conflict(
                        ConflictKind::InvalidState,
                        format!(
                            "cannot read the stats of instance {} ({}): its container stopped \
                             while it was sampled",
                            now.name, now.id
                        ),
                    )
                } else {
                    now.illegal("read the stats of")
                })
            }
            other => other,
        }
    }

    /// The container of the caller's instance `id` if it is `RUNNING`.
    ///
    /// # Errors
    /// `Conflict(InvalidState)` naming the state and `operation` when it
    /// is not; `NotFound`.
    async fn running_container(
        &self,
        caller: Caller,
        id: InstanceId,
        operation: &str,
    ) -> CoreResult<String> {
        let inst = self.repo.get(caller.user_id, id).await?;
        match inst.container_id.as_deref() {
            Some(cid) if inst.state == InstanceState::Running => Ok(cid.to_owned()),
            _ => Err(inst.illegal(operation)),
        }
    }

    /// Subscribes to the runtime's container events (for the reconciler).
    ///
    /// # Errors
    /// `Unavailable(Docker)`.
    pub async fn events(&self) -> CoreResult<EventStream> {
        self.driver()?.events().await
    }

    /// Settles every live instance from what the runtime says; returns how
    /// many changed.
    ///
    /// One container list answers for every instance whose recorded state
    /// it confirms (`RUNNING` with a running container, `STOPPED`/`ERROR`
    /// with an exited one); only the others are inspected and settled,
    /// [`RESYNC_CONCURRENCY`] at a time, each under its lock: a state the
    /// list contradicts, `STARTING`/`STOPPING` left by a crash, a container
    /// missing from the list (gone → `ERROR`), an instance without a
    /// container. Labelled containers of instances that
    /// are not live here are looked up too: a terminated instance's
    /// container that survived a crash is removed; another server's is
    /// left alone.
    ///
    /// # Errors
    /// `Unavailable` when Docker or the database cannot be reached (the
    /// next resync tries again).
    pub async fn reconcile_all(&self) -> CoreResult<usize> {
        let driver = self.driver()?.clone();
        self.delete_undeleted().await;
        // Listed before the rows are read: whatever the two disagree on is
        // settled under the instance's lock from a fresh inspect anyway.
        let containers = driver.list_containers().await?;
        let live = self.repo.list_live().await?;
        let by_container: HashMap<&str, &ContainerSummary> = containers
            .iter()
            .map(|c| (c.container_id.as_str(), c))
            .collect();
        let live_ids: HashSet<InstanceId> = live.iter().map(|i| i.id).collect();
        let labelled: HashSet<InstanceId> = containers.iter().map(|c| c.instance_id).collect();
        // Live instances with a labelled container their row does not
        // name: one a launch cut by a crash left (made after the resync
        // that made the instance another), removed under the lock.
        let unrecorded: HashSet<InstanceId> = live
            .iter()
            .filter(|inst| {
                containers.iter().any(|c| {
                    c.instance_id == inst.id
                        && inst
                            .container_id
                            .as_deref()
                            .is_some_and(|cid| cid != c.container_id)
                })
            })
            .map(|inst| inst.id)
            .collect();
        let mut suspects: Vec<InstanceId> = live
            .iter()
            .filter(|inst| {
                if unrecorded.contains(&inst.id) {
                    return true;
                }
                // An interrupted launch already settled (ERROR, no
                // container recorded) needs a look only when the list
                // shows a container labelled with it.
                if inst.container_id.is_none() && inst.state == InstanceState::Error {
                    return labelled.contains(&inst.id);
                }
                let listed = inst
                    .container_id
                    .as_deref()
                    .and_then(|cid| by_container.get(cid));
                !list_confirms(inst, listed.copied())
            })
            .map(|inst| inst.id)
            .collect();
        let mut strays: Vec<InstanceId> = labelled.difference(&live_ids).copied().collect();
        strays.sort_unstable();
        suspects.extend(strays);
        // Settled side by side (a stop cut short by a crash waits out its
        // grace period again: a dozen of them one after another held the
        // resync, and the events queued behind it, for two minutes), each
        // under its instance's lock, taken when its turn comes.
        let gave_up: Mutex<Option<CoreError>> = Mutex::new(None);
        let changed = futures::stream::iter(suspects)
            .map(|id| {
                let (driver, gave_up, unrecorded) = (&driver, &gave_up, &unrecorded);
                async move {
                    // Docker or the database went away: the next resync
                    // tries again.
                    if gave_up.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                        return false;
                    }
                    // An instance a request is changing (a stop waiting out
                    // its grace period holds the lock that long) is left to
                    // that request and to the next resync: waiting for it
                    // would hold up a slot of the others'.
                    let Some(lock) = try_lock_key(&self.locks, id) else {
                        tracing::debug!(instance_id = %id, "resync skips an instance being changed");
                        return false;
                    };
                    let strays = unrecorded.contains(&id);
                    match self.reconcile_locked(driver, id, lock, strays).await {
                        Ok(changed) => changed,
                        Err(e @ CoreError::Unavailable { .. }) => {
                            gave_up
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                            false
                        }
                        Err(e) => {
                            tracing::warn!(instance_id = %id, error = %e, "cannot reconcile instance");
                            false
                        }
                    }
                }
            })
            .buffer_unordered(RESYNC_CONCURRENCY)
            .filter(|changed| futures::future::ready(*changed))
            .count()
            .await;
        if let Some(e) = gave_up.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        // After the settling, which may have removed containers.
        if let Err(e) = driver.tidy().await {
            tracing::debug!(error = %e, "cannot tidy the runtime now");
        }
        Ok(changed)
    }

    /// Finishes a stop that a crash (or a lost database) cut short: a
    /// `STOPPING` row found unlocked belongs to no request in flight, and
    /// its container may still run (Docker may drop a stop whose client
    /// went away). EC2 never turns a stopping instance back to running, so
    /// the stop the user asked for is carried out, with the usual grace
    /// period, rather than the row settled on the running container.
    /// Returns what Docker says after it (`info` unchanged when the
    /// container no longer runs).
    async fn finish_stop(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        inst: &Instance,
        cid: &str,
        info: Option<ContainerInfo>,
    ) -> CoreResult<Option<ContainerInfo>> {
        if info
            .as_ref()
            .is_none_or(|i| i.status != ContainerStatus::Running)
        {
            return Ok(info);
        }
        tracing::info!(instance_id = %inst.id, "finishing a stop that was cut short");
        match driver.stop(cid, self.settings.stop_grace).await {
            Ok(after) => Ok(Some(after)),
            Err(CoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Finishes a start that a crash (or a lost database) cut short: a
    /// `STARTING` row found unlocked belongs to no request in flight, and
    /// its container may never have been started (created by a launch, or
    /// still exited from its last run). EC2 never turns a pending instance
    /// into a stopped one on its own, so the start the user asked for is
    /// carried out (with the recorded type's limits, as any start) rather
    /// than the row settled on the container's old exit. A container that
    /// runs, or that was started and exited on its own since (see
    /// [`started_since_saved`]), is left for the caller to settle. A start
    /// Docker refuses leaves the instance `STOPPED` with a reason that says
    /// so. Returns what Docker says after it.
    ///
    /// # Errors
    /// `Unavailable` when Docker or the database cannot be reached (the
    /// row stays `STARTING` for the next resync).
    async fn finish_start(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        inst: &mut Instance,
        cid: &str,
        info: Option<ContainerInfo>,
    ) -> CoreResult<Option<ContainerInfo>> {
        let Some(found) = info.as_ref() else {
            return Ok(info);
        };
        if found.status == ContainerStatus::Running || started_since_saved(inst, found) {
            return Ok(info);
        }
        tracing::info!(instance_id = %inst.id, "finishing a start that was cut short");
        let limits = self.recorded_limits(driver, inst).await?;
        match resize_and_start(driver, cid, limits).await {
            Ok(after) => Ok(Some(after)),
            Err(CoreError::NotFound { .. }) => Ok(None),
            Err(e @ CoreError::Unavailable { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(instance_id = %inst.id, error = %e, "cannot finish a start that was cut short");
                inst.state = InstanceState::Stopped;
                inst.state_reason = Some(format!("{RESUMED_START_FAILED}: {e}; start it again"));
                Ok(driver.inspect(cid).await?)
            }
        }
    }

    /// Finishes a launch that a crash cut before its container was
    /// recorded: a `STARTING` row without a container, found unlocked,
    /// belongs to no request in flight (a launch holds its instance's lock
    /// from its row's insert to its end). EC2 never drops a pending
    /// instance on its own, so the launch the user asked for is carried
    /// on: the container Docker made for it (found by its label; Docker
    /// may make it after the server died) is adopted, or when there is
    /// none, created again from the row. Either way it is recorded before
    /// anything else, so that a crash from here on leaves a row naming its
    /// container, which [`finish_start`](Self::finish_start) then starts.
    /// Should there be several (a create the crash left that Docker
    /// finished after the one made again), one is kept and the others
    /// removed. A create Docker refuses leaves the instance `ERROR`,
    /// saying why.
    ///
    /// # Errors
    /// `Unavailable` when Docker or the database cannot be reached, or
    /// Docker's answer to the create is lost: the row stays `STARTING`,
    /// and the next resync adopts what Docker made, or creates it then.
    async fn finish_launch(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        inst: &mut Instance,
    ) -> CoreResult<()> {
        let mut found = labelled_with(driver, inst.id).await?;
        if found.is_empty() {
            tracing::info!(instance_id = %inst.id, "creating the container of a launch that was cut short");
            let created = match instance_type(&inst.instance_type) {
                Ok(itype) => {
                    let limits = self.limits(driver, &itype).await?;
                    driver.create(&container_spec(inst, limits)).await
                }
                Err(e) => Err(e),
            };
            match created {
                Ok(cid) => {
                    inst.container_id = Some(cid);
                    return self.save(inst).await;
                }
                Err(e @ CoreError::Unavailable { .. }) => return Err(e),
                Err(e) => {
                    // Its name may be taken by the container the crashed
                    // launch asked for, which Docker has made meanwhile.
                    found = labelled_with(driver, inst.id).await?;
                    if found.is_empty() {
                        tracing::warn!(instance_id = %inst.id, error = %e, "cannot finish a launch that was cut short");
                        inst.state = InstanceState::Error;
                        inst.state_reason = Some(unfinished_launch(&e));
                        return Ok(());
                    }
                }
            }
        }
        // A launch starts its container only once it is recorded, so none
        // of these should run; one that does (started by hand) is kept.
        found.sort_by_key(|c| c.status != ContainerStatus::Running);
        let kept = found.remove(0);
        for extra in found {
            driver.remove(&extra.container_id).await?;
        }
        tracing::info!(instance_id = %inst.id, container_id = %kept.container_id, "adopted the container of a launch that was cut short");
        inst.container_id = Some(kept.container_id);
        self.save(inst).await
    }

    /// Whether `id` is the row of a failed launch waiting to be deleted
    /// (see `undeleted`).
    fn is_undeleted(&self, id: InstanceId) -> bool {
        self.undeleted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id)
    }

    /// Reacts to one container event by settling its instance.
    ///
    /// # Errors
    /// As [`reconcile_one`](Self::reconcile_one).
    pub async fn handle_event(&self, event: &ContainerEvent) -> CoreResult<bool> {
        if Self::settles_on(event) {
            self.reconcile_one(event.instance_id).await
        } else {
            Ok(false)
        }
    }

    /// Whether `event` may change its instance's state (and so calls for
    /// [`reconcile_one`](Self::reconcile_one)).
    #[must_use]
    pub fn settles_on(event: &ContainerEvent) -> bool {
        matches!(
            event.action.as_str(),
            "start" | "die" | "stop" | "kill" | "oom" | "destroy" | "pause" | "unpause" | "restart"
        )
    }

    /// Settles one instance from what the runtime says about its container;
    /// returns whether anything changed. A terminated instance whose
    /// container survived a crash has it removed.
    ///
    /// # Errors
    /// `Unavailable` when Docker or the database cannot be reached.
    pub async fn reconcile_one(&self, id: InstanceId) -> CoreResult<bool> {
        let driver = self.driver()?.clone();
        let lock = self.lock(id).await;
        self.reconcile_locked(&driver, id, lock, false).await
    }

    /// [`reconcile_one`](Self::reconcile_one) under the instance's `lock`;
    /// with `strays`, the containers labelled as the instance's that its
    /// row does not name are removed too.
    async fn reconcile_locked(
        &self,
        driver: &Arc<dyn ComputeDriver>,
        id: InstanceId,
        _lock: KeyLock<'_, InstanceId>,
        strays: bool,
    ) -> CoreResult<bool> {
        let Some(mut inst) = self.repo.find(id).await? else {
            return Ok(false);
        };
        if strays
            && inst.state != InstanceState::Terminated
            && let Some(cid) = inst.container_id.as_deref()
        {
            remove_unrecorded(driver, id, Some(cid)).await?;
        }
        if inst.state == InstanceState::Terminated {
            match &inst.container_id {
                Some(cid) => {
                    if driver.inspect(cid).await?.is_some() {
                        driver.remove(cid).await?;
                        tracing::info!(instance_id = %id, "removed the container of a terminated instance");
                    }
                }
                None => remove_unrecorded(driver, id, None).await?,
            }
            return Ok(false);
        }
        let before = inst.clone();
        if inst.container_id.is_none() {
            if inst.state == InstanceState::Starting {
                if self.is_undeleted(id) {
                    // A failed launch's row, going at the next chance.
                    return Ok(false);
                }
                self.finish_launch(driver, &mut inst).await?;
            } else {
                // The launch never recorded a container (its create's
                // answer was lost, or it could not be finished). Docker
                // may still have made one, for the create of a server
                // that died waiting for the answer (even after this
                // server started): found by its label, it is removed,
                // since the row cannot own a container it does not name.
                // A later resync finds a late one the same way.
                remove_unrecorded(driver, id, None).await?;
                if inst.state != InstanceState::Error {
                    inst.state = InstanceState::Error;
                    inst.state_reason = Some(INTERRUPTED_LAUNCH.into());
                }
            }
        }
        if let Some(cid) = inst.container_id.clone() {
            let mut info = driver.inspect(&cid).await?;
            match inst.state {
                InstanceState::Stopping => {
                    info = self.finish_stop(driver, &inst, &cid, info).await?;
                }
                InstanceState::Starting => {
                    info = self.finish_start(driver, &mut inst, &cid, info).await?;
                }
                _ => {}
            }
            settle(&mut inst, info.as_ref());
            if before.state == InstanceState::Stopping && inst.state == InstanceState::Stopped {
                inst.state_reason = Some(STOPPED_BY_REQUEST.into());
            }
        }
        if inst == before {
            return Ok(false);
        }
        self.save(&mut inst).await?;
        tracing::info!(
            instance_id = %id,
            from = %before.state,
            to = %inst.state,
            reason = inst.state_reason.as_deref().unwrap_or(""),
            "instance state reconciled"
        );
        Ok(true)
    }
}
