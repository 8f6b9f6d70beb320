//! The ports compute needs: instance storage and a container runtime.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

use super::domain::{
    Ec2InstanceId, ImageSummary, Instance, InstanceId, InstancePosition, PortMapping, PublishedPort,
};
use super::exec::{ExecRun, ExecSpec, TerminalSize, TtyRun};
use super::tags::Labels;
use crate::error::CoreResult;
use crate::identity::UserId;

/// Which page of an owner's instances to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Include terminated instances.
    pub include_terminated: bool,
    /// Most rows to return.
    pub limit: u32,
    /// Return only instances after this place in (created_at, id) order.
    pub after: Option<InstancePosition>,
}

/// Storage of instances.
///
/// Rows are soft-deleted: a terminated instance keeps its row with
/// `deleted_at` set. Lists are ordered by `(created_at, id)`.
///
/// # Errors
///
/// Adapters return [`CoreError::Unavailable`](crate::CoreError::Unavailable)
/// with [`Dependency::Database`](crate::error::Dependency::Database) when the
/// database cannot be reached, and the specific errors listed per method.
#[async_trait]
pub trait InstanceRepo: Send + Sync {
    /// Inserts a new instance and, in the same transaction, reserves its
    /// fixed host ports (each `HOST:CONTAINER` mapping's host port and
    /// protocol) for it: a fixed host port belongs to at most one
    /// non-terminated instance, whatever its state or owner, so that a
    /// stopped instance finds its port free when it starts again.
    /// Auto-assigned host ports are not reserved.
    ///
    /// # Errors
    /// `Conflict(AlreadyExists)` naming the name when the owner already has
    /// a non-terminated instance of that name (nothing is written then).
    /// The row also records the instance's [`Ec2InstanceId`], which is
    /// unique: an insert whose EC2 id is taken is `Conflict(AlreadyExists)`
    /// naming the EC2 id. `Conflict(PortInUse)` naming the port (and
    /// nothing about the instance that holds it) when another
    /// non-terminated instance has reserved one of its fixed host ports;
    /// nothing is written then either. Of two concurrent inserts naming
    /// one port, exactly one succeeds.
    async fn insert(&self, instance: &Instance) -> CoreResult<()>;

    /// Makes sure the non-terminated instance `instance` holds the
    /// reservations of its fixed host ports (see [`insert`](Self::insert)),
    /// claiming those that are free. An instance inserted before ports were
    /// reserved may lack some (a database where two instances recorded one
    /// port keeps it for one of them); one that holds them all changes
    /// nothing.
    ///
    /// # Errors
    /// `Conflict(PortInUse)` naming the port when another instance holds
    /// one (nothing is claimed then); `NotFound(Instance)` when the row is
    /// gone or terminated.
    async fn reserve_host_ports(&self, instance: &Instance) -> CoreResult<()>;

    /// Fetches one of `owner`'s instances, terminated ones included.
    ///
    /// # Errors
    /// `NotFound(Instance)` when there is none (also for other owners').
    async fn get(&self, owner: UserId, id: InstanceId) -> CoreResult<Instance>;

    /// Fetches one of `owner`'s instances by its EC2 id (terminated ones
    /// included).
    ///
    /// # Errors
    /// `NotFound(Instance)` naming the EC2 id when there is none (also for
    /// other owners').
    async fn get_by_ec2_id(&self, owner: UserId, id: &Ec2InstanceId) -> CoreResult<Instance>;

    /// The instances `owner` launched with a client token (terminated
    /// ones included), in launch order; empty when there are none.
    async fn find_by_client_token(&self, owner: UserId, token: &str) -> CoreResult<Vec<Instance>>;

    /// Fetches an instance whoever owns it (for the reconciler).
    async fn find(&self, id: InstanceId) -> CoreResult<Option<Instance>>;

    /// One page of `owner`'s instances in `(created_at, id)` order.
    /// An `after` id that is unknown yields an empty page.
    async fn list(&self, owner: UserId, query: &ListQuery) -> CoreResult<Vec<Instance>>;

    /// Every non-terminated instance of every owner (for the reconciler).
    async fn list_live(&self) -> CoreResult<Vec<Instance>>;

    /// Writes the mutable fields: instance_type, state, state_reason,
    /// exit_code, container_id, published_ports, private_ip, updated_at
    /// and deleted_at. Setting `deleted_at` (terminating) releases the
    /// instance's host port reservations in the same transaction.
    ///
    /// # Errors
    /// `NotFound(Instance)` when the row does not exist.
    async fn update(&self, instance: &Instance) -> CoreResult<()>;

    /// Sets an instance's name and tags to `new` if they still are
    /// `expected` (compare-and-set, so that two concurrent edits never
    /// lose one another's change), with `updated_at`. `false` when they
    /// changed meanwhile or the row is gone: nothing is written then.
    ///
    /// # Errors
    /// `Conflict(AlreadyExists)` naming the name when another live
    /// instance of the owner has it (nothing is written then).
    async fn relabel(
        &self,
        id: InstanceId,
        expected: &Labels,
        new: &Labels,
        updated_at: OffsetDateTime,
    ) -> CoreResult<bool>;

    /// Removes a row for good: only for a launch that failed, once the
    /// container it may have created is removed (a container that cannot be
    /// removed keeps its row, in `ERROR`), so that nothing misleading is
    /// left behind. Its host port reservations go with it. Unknown ids are
    /// ignored.
    async fn delete(&self, id: InstanceId) -> CoreResult<()>;
}

/// Everything the runtime needs to create an instance's container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// The instance (becomes the `miniaws.instance-id` label).
    pub instance_id: InstanceId,
    /// The owner (becomes the `miniaws.owner` label).
    pub owner: UserId,
    /// The instance name (part of the container name).
    pub name: String,
    /// The image, present locally (see [`ComputeDriver::ensure_image`]).
    pub image: String,
    /// CPU limit in billionths of a CPU.
    pub nano_cpus: i64,
    /// Memory limit in bytes.
    pub memory_bytes: i64,
    /// Ports to publish.
    pub ports: Vec<PortMapping>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Command override.
    pub command: Option<Vec<String>>,
}

/// The runtime's view of a container, simplified for the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerStatus {
    /// Running (or paused/restarting: a process exists; a pause is told
    /// apart by `paused`).
    Running,
    /// Created but never started, or exited.
    Exited,
}

/// What the runtime says about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The container id.
    pub container_id: String,
    /// Running or not.
    pub status: ContainerStatus,
    /// The exit code of the last run, when it exited.
    pub exit_code: Option<i64>,
    /// Whether the kernel killed it for using too much memory.
    pub oom_killed: bool,
    /// The runtime's error for a failed start, if any.
    pub error: Option<String>,
    /// The ports as published.
    pub ports: Vec<PublishedPort>,
    /// The container's address on Docker's network, while it runs.
    pub ip_address: Option<String>,
    /// When it was last started; `None` when it never was (created only).
    pub started_at: Option<OffsetDateTime>,
    /// Whether it is paused (`docker pause`: running, its processes
    /// frozen).
    pub paused: bool,
}

/// One labelled container as the runtime lists it: enough to tell whether
/// its instance's recorded state can still be right, without inspecting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    /// The container id.
    pub container_id: String,
    /// The instance named by the container's label.
    pub instance_id: InstanceId,
    /// Running or not.
    pub status: ContainerStatus,
    /// The ports as published (none unless it runs). Each start of a
    /// container, a restart too, may give its auto-assigned ports new host
    /// ports, so a running container confirms its row only with these.
    pub ports: Vec<PublishedPort>,
    /// Its address on Docker's network while it runs, when the list says
    /// (a restart may give it another).
    pub ip_address: Option<String>,
    /// Whether it is paused.
    pub paused: bool,
}

/// What to read from a container's log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// Only the last `tail` lines (`None`: all).
    pub tail: Option<u32>,
    /// Only lines since this time.
    pub since: Option<OffsetDateTime>,
    /// Keep streaming until the container stops or the reader leaves.
    pub follow: bool,
    /// Prefix each line with its RFC 3339 timestamp.
    pub timestamps: bool,
}

/// A log stream: chunks of stdout and stderr in the order written.
pub type LogStream = BoxStream<'static, CoreResult<Bytes>>;

/// One sample of an instance's resource use.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceStats {
    /// CPU use in percent of one CPU (200 = two CPUs busy).
    pub cpu_percent: f64,
    /// Memory in use, in bytes (page cache excluded, as `docker stats`).
    pub memory_usage_bytes: u64,
    /// The memory limit, in bytes.
    pub memory_limit_bytes: u64,
    /// Bytes received over all interfaces.
    pub network_rx_bytes: u64,
    /// Bytes sent over all interfaces.
    pub network_tx_bytes: u64,
    /// When the sample was taken.
    pub read_at: OffsetDateTime,
}

/// Something happened to a labelled container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The instance named by the container's label.
    pub instance_id: InstanceId,
    /// The container.
    pub container_id: String,
    /// Docker's action (`start`, `die`, `oom`, `destroy`, …).
    pub action: String,
}

/// A stream of container events; it ends (or yields an error) when the
/// runtime goes away.
pub type EventStream = BoxStream<'static, CoreResult<ContainerEvent>>;

/// A container runtime. Services never see its types.
///
/// # Errors
///
/// Every method bounds its time. Adapters return
/// [`CoreError::Unavailable`](crate::CoreError::Unavailable) with
/// [`Dependency::Docker`](crate::error::Dependency::Docker) when the runtime
/// cannot be reached or does not answer in time, and the errors listed per
/// method.
#[async_trait]
pub trait ComputeDriver: Send + Sync {
    /// How many CPUs the host has (to cap CPU limits).
    async fn host_cpus(&self) -> CoreResult<u32>;

    /// Makes sure `image` is present: used as is when it is, pulled when not.
    ///
    /// # Errors
    /// `NotFound(Image)` with a message naming the image when it is neither
    /// present nor pullable.
    async fn ensure_image(&self, image: &str) -> CoreResult<()>;

    /// Creates (does not start) the container; returns its id.
    ///
    /// # Errors
    /// `InvalidInput` when the runtime rejects the spec.
    async fn create(&self, spec: &ContainerSpec) -> CoreResult<String>;

    /// Starts a container and describes it once it runs.
    ///
    /// # Errors
    /// `Conflict(PortInUse)` naming the host port when one is taken;
    /// `NotFound(Instance)` when the container is gone.
    async fn start(&self, container_id: &str) -> CoreResult<ContainerInfo>;

    /// Sets a container's CPU (billionths of a CPU) and memory (bytes,
    /// swap none) limits, running or not: a started instance gets the
    /// limits of its type as recorded, whatever it was created with. A
    /// runtime's own limits that no type sets (the Docker driver's process
    /// limit) are set again here too, as at [`create`](Self::create).
    ///
    /// # Errors
    /// `NotFound(Instance)` when the container is gone.
    async fn resize(&self, container_id: &str, nano_cpus: i64, memory_bytes: i64)
    -> CoreResult<()>;

    /// Sends SIGTERM, waits up to `grace`, then SIGKILL; describes the
    /// stopped container.
    ///
    /// # Errors
    /// `NotFound(Instance)` when the container is gone.
    async fn stop(&self, container_id: &str, grace: Duration) -> CoreResult<ContainerInfo>;

    /// Restarts the container (stop with `grace`, then start).
    ///
    /// # Errors
    /// As [`stop`](Self::stop) and [`start`](Self::start).
    async fn restart(&self, container_id: &str, grace: Duration) -> CoreResult<ContainerInfo>;

    /// Removes a container, killing it if it runs. A missing container is
    /// not an error.
    async fn remove(&self, container_id: &str) -> CoreResult<()>;

    /// Describes a container; `None` when it no longer exists.
    async fn inspect(&self, container_id: &str) -> CoreResult<Option<ContainerInfo>>;

    /// Lists every container labelled as an instance's (running or not, of
    /// any server sharing the runtime) in one call.
    async fn list_containers(&self) -> CoreResult<Vec<ContainerSummary>>;

    /// The images present in the runtime, which a launch uses without
    /// pulling: one entry per name (an image tagged twice is listed
    /// twice), untagged images left out (a launch names its image).
    async fn list_images(&self) -> CoreResult<Vec<ImageSummary>>;

    /// Reads the log of a container.
    ///
    /// # Errors
    /// `NotFound(Instance)` when the container is gone.
    async fn logs(&self, container_id: &str, options: &LogOptions) -> CoreResult<LogStream>;

    /// Starts `spec`'s command in a running container, its output
    /// attached (no stdin, no TTY).
    ///
    /// # Errors
    /// `NotFound(Instance)` when the container is gone;
    /// `Conflict(InvalidState)` when it is not running.
    async fn exec(&self, container_id: &str, spec: &ExecSpec) -> CoreResult<ExecRun>;

    /// Starts `spec`'s command in a running container with a terminal of
    /// `size` (`docker exec -it`): its stdin, stdout and stderr are the
    /// terminal's (`spec.stdin` is not used). The command leads a session
    /// of its own, as [`exec`](Self::exec)'s does, so that `kill` ends it
    /// with what it started.
    ///
    /// # Errors
    /// As [`exec`](Self::exec).
    async fn exec_tty(
        &self,
        container_id: &str,
        spec: &ExecSpec,
        size: TerminalSize,
    ) -> CoreResult<TtyRun>;

    /// Takes one resource-use sample of a running container.
    ///
    /// # Errors
    /// `NotFound(Instance)` when the container is gone, or stops (or goes)
    /// before the sample is taken.
    async fn stats(&self, container_id: &str) -> CoreResult<InstanceStats>;

    /// Removes what the runtime keeps for this server's instances and no
    /// longer needs (the Docker driver: owners' networks no container
    /// uses, including those an earlier run left). Best effort, called at
    /// each resync; the default does nothing.
    ///
    /// # Errors
    /// `Unavailable` when the runtime cannot be reached.
    async fn tidy(&self) -> CoreResult<()> {
        Ok(())
    }

    /// Subscribes to the events of Mini AWS's (labelled) containers. The
    /// subscription covers everything from the moment of the call, even
    /// when the runtime is first asked later (the stream is lazy), so that
    /// a resync run right after subscribing misses nothing.
    async fn events(&self) -> CoreResult<EventStream>;
}
