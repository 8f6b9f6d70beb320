//! [`ComputeDriver`] on the Docker Engine API.

use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum,
    ContainerStatsResponse, ContainerSummary as ContainerSummaryModel, ContainerSummaryStateEnum,
    ContainerUpdateBody, EndpointSettings, ExecConfig, HostConfig, NetworkSettings, PortBinding,
    PortTypeEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, EventsOptionsBuilder,
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder, StatsOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt, TryStreamExt};
use miniaws_core::compute::{
    ComputeDriver, ContainerEvent, ContainerInfo, ContainerSpec, ContainerStatus, ContainerSummary,
    EventStream, ExecChunk, ExecRun, ExecSpec, ImageSummary, InstanceId, InstanceStats, LogOptions,
    LogStream, Protocol, PublishedPort, TerminalResizer, TerminalSize, TtyRun,
};
use miniaws_core::error::{ConflictKind, Dependency};
use miniaws_core::{CoreError, CoreResult, Resource};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::probe::DockerConnection;

/// The label that ties a container to its instance.
pub const LABEL_INSTANCE_ID: &str = "miniaws.instance-id";
/// The label naming the owner of a container's instance.
pub const LABEL_OWNER: &str = "miniaws.owner";
/// The label carrying the instance name (for humans running `docker ps`).
pub const LABEL_NAME: &str = "miniaws.name";

/// Time limit of a quick Docker call (inspect, create, start, remove…).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Time limit of an image pull.
const PULL_TIMEOUT: Duration = Duration::from_secs(300);
/// Time limit of a stats sample (Docker waits about a second for the
/// previous CPU reading).
const STATS_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of the Docker compute driver.
#[derive(Debug, Clone)]
pub struct DockerSettings {
    /// The host address published ports bind to.
    pub publish_host: String,
    /// This server's id (its data directory's), which the networks it
    /// makes carry, so that a later run finds the ones an earlier run left.
    pub server_id: String,
    /// The most processes (and threads) one instance's container may have
    /// at once, so that a fork bomb in one instance cannot take the
    /// shared host's process table from the others and the server.
    pub pids_limit: i64,
}

/// Instances as Docker containers.
pub struct DockerComputeDriver {
    conn: Arc<DockerConnection>,
    settings: DockerSettings,
    /// Held (shared) from the moment a container's network is made sure of
    /// until the container exists, and (exclusively) while unused networks
    /// are removed: a network is never removed under a container being
    /// created on it (see [`crate::networks`]).
    networks: tokio::sync::RwLock<()>,
    /// Held while an owner's network is looked up or made, so that two
    /// launches do not make two networks of one name; holds the owners
    /// whose networks this driver made sure of and has not removed.
    network_owners: tokio::sync::Mutex<std::collections::HashSet<String>>,
    /// Whether the networks an earlier run of this server left have been
    /// added to `network_owners` (once, at the first tidy Docker answers).
    adopted: std::sync::atomic::AtomicBool,
}

impl DockerComputeDriver {
    /// A driver on `conn` (see [`connect`](crate::connect)).
    pub fn new(conn: Arc<DockerConnection>, settings: DockerSettings) -> Self {
        Self {
            conn,
            settings,
            networks: tokio::sync::RwLock::default(),
            network_owners: tokio::sync::Mutex::default(),
            adopted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Adds the owners whose networks an earlier run of this server left to
    /// the ones it prunes (once per run).
    async fn adopt_networks(&self, docker: &Docker) -> CoreResult<()> {
        use std::sync::atomic::Ordering;
        if self.adopted.load(Ordering::Acquire) {
            return Ok(());
        }
        let owners = self
            .call(
                "list this server's networks",
                CALL_TIMEOUT,
                crate::networks::made_by(docker, &self.settings.server_id),
            )
            .await?;
        self.network_owners.lock().await.extend(owners);
        self.adopted.store(true, Ordering::Release);
        Ok(())
    }

    /// Removes the owners' networks no container uses any more (best
    /// effort: what stays goes next time).
    async fn prune_networks(&self, docker: &Docker) {
        let _exclusive = self.networks.write().await;
        let mut owners = self.network_owners.lock().await;
        let candidates: Vec<String> = owners.iter().cloned().collect();
        match self
            .call(
                "remove unused networks",
                CALL_TIMEOUT,
                crate::networks::prune(docker, &candidates),
            )
            .await
        {
            Ok(gone) => {
                for owner in &gone {
                    owners.remove(owner);
                }
                if !gone.is_empty() {
                    tracing::debug!(removed = gone.len(), "unused owner networks removed");
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot remove unused owner networks now"),
        }
    }

    /// Creates `spec`'s container on `network`.
    async fn create_on(
        &self,
        docker: &Docker,
        spec: &ContainerSpec,
        network: String,
    ) -> CoreResult<String> {
        let mut exposed = HashMap::new();
        let mut bindings = HashMap::new();
        for p in &spec.ports {
            let key = port_key(p.container_port, p.protocol);
            exposed.insert(key.clone(), HashMap::new());
            bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some(self.settings.publish_host.clone()),
                    host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
                }]),
            );
        }
        let labels = HashMap::from([
            (LABEL_INSTANCE_ID.to_owned(), spec.instance_id.to_string()),
            (LABEL_OWNER.to_owned(), spec.owner.to_string()),
            (LABEL_NAME.to_owned(), spec.name.clone()),
        ]);
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: spec.command.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            exposed_ports: Some(exposed),
            host_config: Some(HostConfig {
                // Docker's init (tini) as PID 1 forwards signals and reaps
                // zombies, so SIGTERM reaches the workload and stop is prompt.
                init: Some(true),
                nano_cpus: Some(spec.nano_cpus),
                memory: Some(spec.memory_bytes),
                // No swap beyond the limit: an instance type's memory is real.
                memory_swap: Some(spec.memory_bytes),
                pids_limit: Some(self.settings.pids_limit),
                port_bindings: Some(bindings),
                // The owner's network, not Docker's shared `bridge`.
                network_mode: Some(network),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let short = spec.instance_id.to_string();
        let name = format!("miniaws-{}-{}", spec.name, &short[..8]);
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = self
            .call(
                "create the container",
                CALL_TIMEOUT,
                docker.create_container(Some(options), body),
            )
            .await?;
        Ok(created.id)
    }

    fn unreachable(&self, detail: impl std::fmt::Display) -> CoreError {
        let detail = detail.to_string();
        let advice = unreachable_advice(&detail);
        CoreError::unavailable(
            Dependency::Docker,
            format!(
                "the Docker daemon at {} is unreachable ({detail}); {advice}",
                self.conn.host()
            ),
        )
    }

    /// The client at the negotiated API version.
    async fn docker(&self) -> CoreResult<&Docker> {
        self.conn.client().await.map_err(|e| self.unreachable(e))
    }

    /// Docker did not answer a call that reached it (the connection broke,
    /// or the time limit passed): the call may have taken effect, or may
    /// still, so its outcome is unknown (see
    /// [`CoreError::outcome_unknown`]).
    fn answer_lost(&self, detail: impl std::fmt::Display) -> CoreError {
        CoreError::unavailable_outcome_unknown(
            Dependency::Docker,
            format!(
                "the Docker daemon at {} did not answer ({detail}); compute needs Docker: \
                 check that it is running, or point DOCKER_HOST at it",
                self.conn.host()
            ),
        )
    }

    /// Runs one Docker call with a time limit, translating its errors.
    async fn call<T>(
        &self,
        op: &'static str,
        limit: Duration,
        fut: impl Future<Output = Result<T, BollardError>>,
    ) -> CoreResult<T> {
        match tokio::time::timeout(limit, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.translate(op, e)),
            Err(_) => {
                Err(self.answer_lost(format!("{op} did not finish within {} s", limit.as_secs())))
            }
        }
    }

    fn translate(&self, op: &'static str, err: BollardError) -> CoreError {
        match err {
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => match status_code {
                404 => CoreError::not_found(Resource::Instance, format!("container ({message})")),
                400 => CoreError::invalid(format!("Docker rejected the request: {message}")),
                409 => CoreError::conflict(
                    ConflictKind::InvalidState,
                    format!("Docker refused to {op}: {message}"),
                ),
                // Docker's HTTP router answers a path it would clean (an
                // image name with `//`, a trailing `/` or a `.` component)
                // with a redirect rather than an error. The names in our
                // paths are image references (container and exec ids are
                // Docker's own), so it is a bad reference: the caller's
                // mistake, not ours.
                300..=399 => CoreError::invalid(format!(
                    "Docker could not {op}: it answered {status_code} (a redirect), which it \
                     does for a name that is not in its reference format, such as an image \
                     with an empty path component (`a//b`) or a trailing `/`"
                )),
                _ if is_port_conflict(&message) => port_conflict(&message),
                _ => CoreError::internal_msg(format!(
                    "Docker {op} failed ({status_code}): {message}"
                )),
            },
            e @ (BollardError::JsonDataError { .. } | BollardError::JsonSerdeError { .. }) => {
                CoreError::internal(format!("cannot decode Docker's answer to {op}"), e)
            }
            // Nothing left: the connection could not be made, or the
            // request could not even be built.
            e @ (BollardError::SocketNotFoundError(_)
            | BollardError::UnsupportedURISchemeError { .. }
            | BollardError::HttpClientError { .. }
            | BollardError::InvalidURIError { .. }
            | BollardError::InvalidURIPartsError { .. }
            | BollardError::URLParseError { .. }
            | BollardError::URLEncodedError { .. }) => self.unreachable(e),
            BollardError::HyperLegacyError { err } if err.is_connect() => self.unreachable(err),
            // The request may have reached the daemon.
            other => self.answer_lost(other),
        }
    }

    async fn inspect_raw(
        &self,
        container_id: &str,
    ) -> CoreResult<Option<ContainerInspectResponse>> {
        let docker = self.docker().await?;
        match self
            .call(
                "inspect the container",
                CALL_TIMEOUT,
                docker.inspect_container(
                    container_id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                ),
            )
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(CoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn describe(&self, container_id: &str) -> CoreResult<ContainerInfo> {
        self.inspect_raw(container_id)
            .await?
            .map(|c| info_from(container_id, &c))
            .ok_or_else(|| {
                CoreError::not_found(Resource::Instance, format!("container {container_id}"))
            })
    }
}

/// Writes a command's whole input to its attached stdin, then closes it.
/// A command that exits without reading it all makes the write fail:
/// that is its choice, not an error of the run (logged at debug).
async fn feed_stdin(
    mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    stdin: impl AsRef<[u8]> + Send,
) {
    use tokio::io::AsyncWriteExt;
    let fed = async {
        input.write_all(stdin.as_ref()).await?;
        input.shutdown().await
    }
    .await;
    if let Err(e) = fed {
        tracing::debug!(error = %e, "a command's stdin was not read to its end");
    }
}

/// The kill of a started command: its session and descendants (see
/// [`crate::exec_kill`]), for a wait that timed out or a client that left.
fn kill_of(docker: &Docker, exec_id: &str, container_id: &str) -> BoxFuture<'static, bool> {
    let (docker, exec_id, cid) = (docker.clone(), exec_id.to_owned(), container_id.to_owned());
    Box::pin(async move { crate::exec_kill::kill_exec(&docker, &exec_id, &cid).await })
}

/// Resizes an exec's terminal.
struct DockerTerminalResizer {
    docker: Docker,
    exec_id: String,
}

#[async_trait]
impl TerminalResizer for DockerTerminalResizer {
    async fn resize(&self, size: TerminalSize) -> CoreResult<()> {
        let options = ResizeExecOptions {
            height: size.rows(),
            width: size.cols(),
        };
        match tokio::time::timeout(
            CALL_TIMEOUT,
            self.docker.resize_exec(&self.exec_id, options),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CoreError::unavailable(
                Dependency::Docker,
                format!("Docker could not resize the terminal: {e}"),
            )),
            Err(_) => Err(CoreError::unavailable(
                Dependency::Docker,
                "Docker did not resize the terminal in time",
            )),
        }
    }
}

/// Whether `ExecInspect` says the command has ended: not running, with an
/// exit code. Right after a start Docker says not running and no exit code
/// (not started yet), which is no end.
pub(crate) fn exec_ended(running: Option<bool>, exit_code: Option<i64>) -> bool {
    running != Some(true) && exit_code.is_some()
}

/// The exit code of a command whose output has ended (or that was just
/// started: see [`exec_ended`]). Docker records it a
/// moment after closing the output, and a command may close its output
/// and run on, so this asks again while the command shows as running:
/// every 20 ms at first, then less often, up to every 500 ms. It waits
/// as long as the command runs; the caller bounds the wait.
pub(crate) async fn exec_exit_code(docker: &Docker, exec_id: &str) -> CoreResult<Option<i64>> {
    let mut pause = Duration::from_millis(20);
    loop {
        let inspected = tokio::time::timeout(CALL_TIMEOUT, docker.inspect_exec(exec_id))
            .await
            .map_err(|_| {
                CoreError::unavailable(
                    Dependency::Docker,
                    "Docker did not say how the command ended",
                )
            })?
            .map_err(|e| {
                CoreError::unavailable(
                    Dependency::Docker,
                    format!("Docker did not say how the command ended: {e}"),
                )
            })?;
        if exec_ended(inspected.running, inspected.exit_code) {
            return Ok(inspected.exit_code);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// The bytes of a chunk of standard output (where Docker writes why it
/// could not start a command, see [`crate::exec_start`]).
fn stdout_bytes(chunk: &ExecChunk) -> Option<&[u8]> {
    match chunk {
        ExecChunk::Stdout(bytes) => Some(bytes),
        ExecChunk::Stderr(_) => None,
    }
}

/// Whether Docker's message says a host port is taken.
fn is_port_conflict(message: &str) -> bool {
    message.contains("port is already allocated")
        || message.contains("address already in use")
        || message.contains("Bind for")
}

/// The host port named in a Docker port-conflict message, e.g.
/// `Bind for 127.0.0.1:8080 failed: port is already allocated` or
/// `listen tcp4 127.0.0.1:8080: bind: address already in use`.
fn conflicting_port(message: &str) -> Option<u16> {
    let end = message
        .find(" failed: port is already allocated")
        .or_else(|| message.find(": bind: address already in use"))?;
    let head = &message[..end];
    let digits: String = head
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

fn port_conflict(message: &str) -> CoreError {
    let what = match conflicting_port(message) {
        Some(p) => format!("host port {p} is already in use"),
        None => "a requested host port is already in use".to_owned(),
    };
    CoreError::conflict(
        ConflictKind::PortInUse,
        format!(
            "{what}; choose another host port, or give only the container port to get a free one"
        ),
    )
}

fn port_key(container_port: u16, protocol: Protocol) -> String {
    format!("{container_port}/{}", protocol.as_str())
}

fn info_from(container_id: &str, c: &ContainerInspectResponse) -> ContainerInfo {
    let state = c.state.clone().unwrap_or_default();
    let status = match state.status {
        Some(
            ContainerStateStatusEnum::RUNNING
            | ContainerStateStatusEnum::PAUSED
            | ContainerStateStatusEnum::RESTARTING,
        ) => ContainerStatus::Running,
        _ => ContainerStatus::Exited,
    };
    let mut ports: Vec<PublishedPort> = Vec::new();
    if let Some(map) = c.network_settings.as_ref().and_then(|n| n.ports.as_ref()) {
        for (key, bindings) in map {
            let Some((port, proto)) = key.split_once('/') else {
                continue;
            };
            let (Ok(container_port), protocol) = (
                port.parse::<u16>(),
                if proto == "udp" {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                },
            ) else {
                continue;
            };
            // With 0.0.0.0 Docker also lists an IPv6 binding: keep the first.
            if let Some(b) = bindings.iter().flatten().find_map(|b| {
                let host_port = b.host_port.as_deref()?.parse::<u16>().ok()?;
                Some((b.host_ip.clone().unwrap_or_default(), host_port))
            }) {
                ports.push(PublishedPort {
                    host_ip: b.0,
                    host_port: b.1,
                    container_port,
                    protocol,
                });
            }
        }
    }
    ports.sort_by_key(|p| (p.container_port, p.protocol));
    let ip_address = match status {
        ContainerStatus::Running => c.network_settings.as_ref().and_then(ip_of),
        ContainerStatus::Exited => None,
    };
    ContainerInfo {
        container_id: container_id.to_owned(),
        started_at: state.started_at.as_deref().and_then(started_at),
        paused: state.status == Some(ContainerStateStatusEnum::PAUSED),
        status,
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error.filter(|e| !e.is_empty()),
        ports,
        ip_address,
    }
}

/// When a container was last started, from Docker's `StartedAt`; `None`
/// for one never started (Docker says the zero time, year 1) or a time
/// that does not parse.
fn started_at(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .filter(|t| t.year() > 1)
}

/// A container's IPv4 address: on the `bridge` network (where instances
/// are), else the first network by name that gives one, else the
/// deprecated top-level field older daemons fill.
fn ip_of(settings: &NetworkSettings) -> Option<String> {
    settings
        .networks
        .as_ref()
        .and_then(network_ip)
        .or_else(|| settings.ip_address.clone().filter(|ip| !ip.is_empty()))
}

/// The IPv4 address among a container's networks: the `bridge` one, else
/// the first by name that gives one (inspections and lists alike).
fn network_ip(networks: &HashMap<String, EndpointSettings>) -> Option<String> {
    let mut networks: Vec<_> = networks.iter().collect();
    networks.sort_by_key(|(name, _)| (name.as_str() != "bridge", name.as_str()));
    networks
        .into_iter()
        .find_map(|(_, e)| e.ip_address.clone().filter(|ip| !ip.is_empty()))
}

/// A failure to make an owner's network, with what to do when Docker has
/// run out of address ranges for networks (its default pools hold about
/// thirty).
fn network_refusal(err: CoreError) -> CoreError {
    if err.to_string().contains("address pool") {
        return CoreError::unavailable(
            Dependency::Docker,
            format!(
                "Docker has no address range left for another owner's network ({err}); \
                 each owner with instances has one: terminate other owners' instances, or \
                 give Docker more (`default-address-pools` in daemon.json)"
            ),
        );
    }
    err
}

/// `repo` → `repo:latest`: pulling a reference without a tag would pull
/// every tag.
fn with_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || image.contains('@') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// One [`ImageSummary`] per name of a listed image; none for an untagged
/// one (Docker lists it as `<none>:<none>`, or with no tags at all).
fn named_images(
    image: &bollard::models::ImageSummary,
    architecture: Option<String>,
) -> Vec<ImageSummary> {
    let created_at = time::OffsetDateTime::from_unix_timestamp(image.created)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    image
        .repo_tags
        .iter()
        .filter(|tag| !tag.starts_with("<none>"))
        .map(|tag| ImageSummary {
            name: tag.clone(),
            id: image.id.clone(),
            created_at,
            size_bytes: u64::try_from(image.size).unwrap_or(0),
            architecture: architecture.clone(),
        })
        .collect()
}

/// A labelled container of a list; `None` without a usable label.
fn summary_from(c: &ContainerSummaryModel) -> Option<ContainerSummary> {
    let instance_id = c
        .labels
        .as_ref()?
        .get(LABEL_INSTANCE_ID)?
        .parse::<InstanceId>()
        .ok()?;
    let status = match c.state {
        Some(
            ContainerSummaryStateEnum::RUNNING
            | ContainerSummaryStateEnum::PAUSED
            | ContainerSummaryStateEnum::RESTARTING,
        ) => ContainerStatus::Running,
        _ => ContainerStatus::Exited,
    };
    let (ports, ip_address) = match status {
        ContainerStatus::Running => (
            listed_ports(c),
            c.network_settings
                .as_ref()
                .and_then(|n| n.networks.as_ref())
                .and_then(network_ip),
        ),
        ContainerStatus::Exited => (Vec::new(), None),
    };
    Some(ContainerSummary {
        paused: c.state == Some(ContainerSummaryStateEnum::PAUSED),
        container_id: c.id.clone()?,
        instance_id,
        status,
        ports,
        ip_address,
    })
}

/// The published ports of a container list entry, read as [`info_from`]
/// reads an inspection's: the first binding of each container port.
fn listed_ports(c: &ContainerSummaryModel) -> Vec<PublishedPort> {
    let mut ports: Vec<PublishedPort> = Vec::new();
    for p in c.ports.iter().flatten() {
        let Some(host_port) = p.public_port else {
            continue;
        };
        let protocol = if p.typ == Some(PortTypeEnum::UDP) {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        if ports
            .iter()
            .any(|q| q.container_port == p.private_port && q.protocol == protocol)
        {
            continue;
        }
        ports.push(PublishedPort {
            host_ip: p.ip.clone().unwrap_or_default(),
            host_port,
            container_port: p.private_port,
            protocol,
        });
    }
    ports.sort_by_key(|p| (p.container_port, p.protocol));
    ports
}

/// CPU use in percent of one CPU, from the two readings of one sample.
///
/// Docker's stats carry the current reading (`cpu_stats`) and the one it
/// took about a second earlier (`precpu_stats`); the use is the container's
/// share of the host's CPU time between the two, times the host's CPUs, as
/// `docker stats` computes it. Without an earlier reading (a first sample)
/// there is no interval to measure, and the answer is 0 rather than the
/// average since the container started.
fn cpu_percent(s: &ContainerStatsResponse) -> f64 {
    let (Some(cpu), Some(pre)) = (s.cpu_stats.as_ref(), s.precpu_stats.as_ref()) else {
        return 0.0;
    };
    let total =
        |c: &bollard::models::ContainerCpuStats| c.cpu_usage.as_ref().and_then(|u| u.total_usage);
    let (Some(now_total), Some(pre_total), Some(now_sys), Some(pre_sys)) = (
        total(cpu),
        total(pre),
        cpu.system_cpu_usage,
        pre.system_cpu_usage,
    ) else {
        return 0.0;
    };
    if pre_sys == 0 || now_sys <= pre_sys {
        return 0.0;
    }
    let cpu_delta = now_total.saturating_sub(pre_total) as f64;
    let sys_delta = (now_sys - pre_sys) as f64;
    // Old daemons leave online_cpus out: count the per-CPU readings.
    let online = cpu
        .online_cpus
        .filter(|n| *n > 0)
        .map(f64::from)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len().max(1) as f64)
        })
        .unwrap_or(1.0);
    let percent = cpu_delta / sys_delta * online * 100.0;
    (percent * 100.0).round() / 100.0
}

fn stats_from(s: &ContainerStatsResponse) -> InstanceStats {
    let mem = s.memory_stats.clone().unwrap_or_default();
    let inactive = mem.stats.as_ref().and_then(|st| {
        st.get("total_inactive_file")
            .or_else(|| st.get("inactive_file"))
            .copied()
    });
    let usage = mem.usage.unwrap_or(0).saturating_sub(inactive.unwrap_or(0));
    let (rx, tx) = s
        .networks
        .as_ref()
        .map(|n| {
            n.values().fold((0u64, 0u64), |(rx, tx), v| {
                (rx + v.rx_bytes.unwrap_or(0), tx + v.tx_bytes.unwrap_or(0))
            })
        })
        .unwrap_or((0, 0));
    InstanceStats {
        cpu_percent: cpu_percent(s),
        memory_usage_bytes: usage,
        memory_limit_bytes: mem.limit.unwrap_or(0),
        network_rx_bytes: rx,
        network_tx_bytes: tx,
        read_at: miniaws_core::clock::now_utc(),
    }
}

#[async_trait]
impl ComputeDriver for DockerComputeDriver {
    async fn host_cpus(&self) -> CoreResult<u32> {
        let docker = self.docker().await?;
        let info = self
            .call("read the host info", CALL_TIMEOUT, docker.info())
            .await?;
        Ok(info.ncpu.and_then(|n| u32::try_from(n).ok()).unwrap_or(1))
    }

    #[tracing::instrument(skip(self))]
    async fn ensure_image(&self, image: &str) -> CoreResult<()> {
        let docker = self.docker().await?;
        match self
            .call(
                "inspect the image",
                CALL_TIMEOUT,
                docker.inspect_image(image),
            )
            .await
        {
            Ok(_) => return Ok(()),
            Err(CoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        tracing::info!(image, "image not present locally: pulling it");
        let options = CreateImageOptionsBuilder::new()
            .from_image(&with_tag(image))
            .build();
        let pull = docker
            .create_image(Some(options), None, None)
            .try_for_each(|_| async { Ok(()) });
        let cannot = |why: String| {
            CoreError::not_found(
                Resource::Image,
                format!(
                    "{image} (not present locally and cannot be pulled: {why}); build or load \
                     it first (docker build / docker load), or check the name"
                ),
            )
        };
        match tokio::time::timeout(PULL_TIMEOUT, pull).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(BollardError::DockerResponseServerError { message, .. })) => {
                Err(cannot(message))
            }
            Ok(Err(BollardError::DockerStreamError { error })) => Err(cannot(error)),
            Ok(Err(other)) => Err(self.translate("pull the image", other)),
            Err(_) => Err(cannot(format!(
                "the pull did not finish within {} s",
                PULL_TIMEOUT.as_secs()
            ))),
        }
    }

    #[tracing::instrument(skip(self, spec), fields(instance_id = %spec.instance_id))]
    async fn create(&self, spec: &ContainerSpec) -> CoreResult<String> {
        let docker = self.docker().await?;
        // The owner's network removed between our making sure of it and
        // the create (by hand, say; this server's own removals wait, see
        // `networks`): made again, once or twice.
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Until the container exists, its network is not removed.
            let _network_in_use = self.networks.read().await;
            let network = {
                let mut owners = self.network_owners.lock().await;
                let owner = spec.owner.to_string();
                let network = self
                    .call(
                        "make the owner's network",
                        CALL_TIMEOUT,
                        crate::networks::ensure(docker, &owner, &self.settings.server_id),
                    )
                    .await
                    .map_err(network_refusal)?;
                owners.insert(owner);
                network
            };
            match self.create_on(docker, spec, network).await {
                Err(CoreError::NotFound { name, .. })
                    if name.contains("network") && attempt < 3 => {}
                Err(CoreError::NotFound { .. }) => {
                    return Err(CoreError::not_found(
                        Resource::Image,
                        format!(
                            "{} (it vanished before the container was created)",
                            spec.image
                        ),
                    ));
                }
                other => return other,
            }
        }
    }

    #[tracing::instrument(skip(self))]
    async fn start(&self, container_id: &str) -> CoreResult<ContainerInfo> {
        let docker = self.docker().await?;
        self.call(
            "start the container",
            CALL_TIMEOUT,
            docker.start_container(
                container_id,
                None::<bollard::query_parameters::StartContainerOptions>,
            ),
        )
        .await?;
        self.describe(container_id).await
    }

    #[tracing::instrument(skip(self))]
    async fn stop(&self, container_id: &str, grace: Duration) -> CoreResult<ContainerInfo> {
        let docker = self.docker().await?;
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(secs).build();
        self.call(
            "stop the container",
            grace + CALL_TIMEOUT,
            docker.stop_container(container_id, Some(options)),
        )
        .await?;
        self.describe(container_id).await
    }

    #[tracing::instrument(skip(self))]
    async fn resize(
        &self,
        container_id: &str,
        nano_cpus: i64,
        memory_bytes: i64,
    ) -> CoreResult<()> {
        let docker = self.docker().await?;
        let body = ContainerUpdateBody {
            nano_cpus: Some(nano_cpus),
            memory: Some(memory_bytes),
            // As at create: no swap beyond the limit.
            memory_swap: Some(memory_bytes),
            // And the process limit, which a container created before it
            // existed (or under another setting) gets at its next start.
            pids_limit: Some(self.settings.pids_limit),
            ..ContainerUpdateBody::default()
        };
        self.call(
            "set the container's limits",
            CALL_TIMEOUT,
            docker.update_container(container_id, body),
        )
        .await
    }

    #[tracing::instrument(skip(self))]
    async fn restart(&self, container_id: &str, grace: Duration) -> CoreResult<ContainerInfo> {
        let docker = self.docker().await?;
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = RestartContainerOptionsBuilder::new().t(secs).build();
        self.call(
            "restart the container",
            grace + CALL_TIMEOUT,
            docker.restart_container(container_id, Some(options)),
        )
        .await?;
        self.describe(container_id).await
    }

    #[tracing::instrument(skip(self))]
    async fn remove(&self, container_id: &str) -> CoreResult<()> {
        let docker = self.docker().await?;
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self
            .call(
                "remove the container",
                CALL_TIMEOUT,
                docker.remove_container(container_id, Some(options)),
            )
            .await
        {
            Ok(()) | Err(CoreError::NotFound { .. }) => {}
            // 409: removal already in progress (e.g. `docker rm -f` racing us).
            Err(CoreError::Conflict { message, .. }) if message.contains("in progress") => {}
            Err(e) => return Err(e),
        }
        self.prune_networks(docker).await;
        Ok(())
    }

    async fn inspect(&self, container_id: &str) -> CoreResult<Option<ContainerInfo>> {
        Ok(self
            .inspect_raw(container_id)
            .await?
            .map(|c| info_from(container_id, &c)))
    }

    async fn tidy(&self) -> CoreResult<()> {
        let docker = self.docker().await?;
        self.adopt_networks(docker).await?;
        self.prune_networks(docker).await;
        Ok(())
    }

    async fn list_containers(&self) -> CoreResult<Vec<ContainerSummary>> {
        let docker = self.docker().await?;
        let filters = HashMap::from([("label".to_owned(), vec![LABEL_INSTANCE_ID.to_owned()])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let listed = self
            .call(
                "list the containers",
                CALL_TIMEOUT,
                docker.list_containers(Some(options)),
            )
            .await?;
        Ok(listed.iter().filter_map(summary_from).collect())
    }

    async fn list_images(&self) -> CoreResult<Vec<ImageSummary>> {
        let docker = self.docker().await?;
        let options = ListImagesOptionsBuilder::new().all(false).build();
        let listed = self
            .call(
                "list the images",
                CALL_TIMEOUT,
                docker.list_images(Some(options)),
            )
            .await?;
        // The list does not say an image's architecture; one inspect per
        // image does (a laptop holds tens of images, not thousands). An
        // image removed in between is left out.
        let inspected = futures::future::join_all(listed.iter().map(|image| {
            self.call(
                "inspect the image",
                CALL_TIMEOUT,
                docker.inspect_image(&image.id),
            )
        }))
        .await;
        let mut images = Vec::new();
        for (image, inspect) in listed.iter().zip(inspected) {
            let architecture = match inspect {
                Ok(i) => i.architecture,
                Err(CoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            images.extend(named_images(image, architecture));
        }
        Ok(images)
    }

    async fn logs(&self, container_id: &str, options: &LogOptions) -> CoreResult<LogStream> {
        let docker = self.docker().await?;
        // Fail early (404, daemon down) rather than in the middle of a body.
        self.describe(container_id).await?;
        let tail = options
            .tail
            .map_or_else(|| "all".to_owned(), |t| t.to_string());
        let since = options
            .since
            // Docker takes 32-bit seconds: a time past 2038 is clamped to
            // the last one it can say (still "nothing yet"), one before
            // 1970 to 0 (everything), never wrapped to 0.
            .map_or(0, |t| {
                i32::try_from(t.unix_timestamp().max(0)).unwrap_or(i32::MAX)
            });
        let opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(options.follow)
            .timestamps(options.timestamps)
            .tail(&tail)
            .since(since)
            .build();
        let host = self.conn.host().to_owned();
        let stream = docker
            .logs(container_id, Some(opts))
            .map(move |item| match item {
                Ok(
                    LogOutput::StdOut { message }
                    | LogOutput::StdErr { message }
                    | LogOutput::Console { message }
                    | LogOutput::StdIn { message },
                ) => Ok(message),
                Err(e) => Err(CoreError::unavailable(
                    Dependency::Docker,
                    format!("the log stream from Docker at {host} broke: {e}"),
                )),
            });
        Ok(stream.boxed())
    }

    async fn exec(&self, container_id: &str, spec: &ExecSpec) -> CoreResult<ExecRun> {
        let docker = self.docker().await?.clone();
        let options = CreateExecOptions {
            attach_stdin: Some(spec.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(spec.command.clone()),
            env: (!spec.env.is_empty())
                .then(|| spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: spec.working_dir.clone(),
            user: spec.user.clone(),
            ..CreateExecOptions::default()
        };
        let created = self
            .call(
                "run a command in the container",
                CALL_TIMEOUT,
                docker.create_exec(container_id, options),
            )
            .await?;
        let started = self
            .call(
                "start the command",
                CALL_TIMEOUT,
                docker.start_exec(&created.id, None::<StartExecOptions>),
            )
            .await?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(CoreError::internal_msg(
                "Docker started the command detached, without its output",
            ));
        };
        if let Some(stdin) = spec.stdin.clone() {
            // Written beside the reading of the output (a command may write
            // before it reads, and a full pipe would stop both), then
            // closed: Docker closes the command's stdin when the attached
            // connection's write side is shut.
            tokio::spawn(feed_stdin(input, stdin));
        }
        let host = self.conn.host().to_owned();
        let output = output
            .filter_map(move |item| {
                let chunk = match item {
                    Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                        Some(Ok(ExecChunk::Stdout(message)))
                    }
                    Ok(LogOutput::StdErr { message }) => Some(Ok(ExecChunk::Stderr(message))),
                    Ok(LogOutput::StdIn { .. }) => None,
                    Err(e) => Some(Err(CoreError::unavailable(
                        Dependency::Docker,
                        format!("the command's output from Docker at {host} broke: {e}"),
                    ))),
                };
                futures::future::ready(chunk)
            })
            .boxed();
        let exec_id = created.id;
        let never_started = Box::pin(crate::exec_start::never_started(
            docker.clone(),
            exec_id.clone(),
        ));
        let output = crate::exec_start::report_start_failure(output, stdout_bytes, never_started);
        let kill = kill_of(&docker, &exec_id, container_id);
        let exit_code = Box::pin(async move { exec_exit_code(&docker, &exec_id).await });
        Ok(ExecRun {
            output,
            exit_code,
            kill,
        })
    }

    async fn exec_tty(
        &self,
        container_id: &str,
        spec: &ExecSpec,
        size: TerminalSize,
    ) -> CoreResult<TtyRun> {
        let docker = self.docker().await?.clone();
        let config = ExecConfig {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(true),
            // Set before the command starts (API 1.42+), so that its first
            // prompt is drawn at the right width; resized again below for
            // a daemon that ignores it.
            console_size: Some(vec![usize::from(size.rows()), usize::from(size.cols())]),
            cmd: Some(spec.command.clone()),
            env: (!spec.env.is_empty())
                .then(|| spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: spec.working_dir.clone(),
            user: spec.user.clone(),
            ..ExecConfig::default()
        };
        let created = self
            .call(
                "run a command in the container",
                CALL_TIMEOUT,
                docker.create_exec(container_id, config),
            )
            .await?;
        // Not bollard's `start_exec`: its decoder is for multiplexed output
        // (see `tty_start`).
        let started = tokio::time::timeout(
            CALL_TIMEOUT,
            crate::tty_start::start_tty(
                self.conn.docker_host(),
                &docker.client_version(),
                &created.id,
            ),
        )
        .await;
        let crate::tty_start::Attached { output, input } = match started {
            Ok(Ok(attached)) => attached,
            Ok(Err(crate::tty_start::StartError::Refused { status, message })) => {
                return Err(self.translate(
                    "start the command",
                    BollardError::DockerResponseServerError {
                        status_code: status,
                        message,
                    },
                ));
            }
            Ok(Err(crate::tty_start::StartError::Unreachable(e))) => {
                return Err(self.unreachable(e));
            }
            Ok(Err(crate::tty_start::StartError::Transport(e))) => {
                return Err(self.answer_lost(format!("starting the command failed: {e}")));
            }
            Err(_) => {
                return Err(self.answer_lost(format!(
                    "starting the command did not finish within {} s",
                    CALL_TIMEOUT.as_secs()
                )));
            }
        };
        let exec_id = created.id;
        let kill = kill_of(&docker, &exec_id, container_id);
        let resizer = DockerTerminalResizer {
            docker: docker.clone(),
            exec_id: exec_id.clone(),
        };
        // Best effort: a command that ended at once has no terminal left
        // to size, and its output and exit code say so.
        if let Err(e) = resizer.resize(size).await {
            tracing::debug!(error = %e, "the first resize of a terminal failed");
        }
        let host = self.conn.host().to_owned();
        let output = output
            .map(move |read| {
                read.map_err(|e| {
                    CoreError::unavailable(
                        Dependency::Docker,
                        format!("the terminal's output from Docker at {host} broke: {e}"),
                    )
                })
            })
            .boxed();
        let never_started = Box::pin(crate::exec_start::never_started(
            docker.clone(),
            exec_id.clone(),
        ));
        let output = crate::exec_start::report_start_failure(
            output,
            |b: &bytes::Bytes| Some(b.as_ref()),
            never_started,
        );
        let input = futures::sink::unfold(input, |mut input, typed: bytes::Bytes| async move {
            use tokio::io::AsyncWriteExt;
            input.write_all(&typed).await.map_err(|e| {
                CoreError::unavailable(
                    Dependency::Docker,
                    format!("the terminal's input to Docker broke: {e}"),
                )
            })?;
            input.flush().await.map_err(|e| {
                CoreError::unavailable(
                    Dependency::Docker,
                    format!("the terminal's input to Docker broke: {e}"),
                )
            })?;
            Ok::<_, CoreError>(input)
        });
        let exit_code = Box::pin(async move { exec_exit_code(&docker, &exec_id).await });
        Ok(TtyRun {
            output,
            input: Box::pin(input),
            resizer: Box::new(resizer),
            exit_code,
            kill,
        })
    }

    async fn stats(&self, container_id: &str) -> CoreResult<InstanceStats> {
        let docker = self.docker().await?;
        let options = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(false)
            .build();
        let mut stream = docker.stats(container_id, Some(options));
        let sample = self
            .call("sample the container's stats", STATS_TIMEOUT, async {
                stream.next().await.transpose()
            })
            .await?
            // Docker ends the stream without a sample when the container
            // stops or is removed while it waits for the second reading.
            .ok_or_else(|| {
                CoreError::not_found(
                    Resource::Instance,
                    format!("container {container_id} stopped before a stats sample was taken"),
                )
            })?;
        Ok(stats_from(&sample))
    }

    async fn events(&self) -> CoreResult<EventStream> {
        let docker = self.docker().await?;
        let filters = HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            ("label".to_owned(), vec![LABEL_INSTANCE_ID.to_owned()]),
        ]);
        // bollard sends the request only when the stream is first polled;
        // `since` makes Docker replay what happened from now on, so that
        // nothing is lost in between (a second earlier, in case the
        // daemon's clock is a little behind ours: replays are harmless).
        let since = (miniaws_core::clock::now_utc().unix_timestamp() - 1).to_string();
        let options = EventsOptionsBuilder::new()
            .filters(&filters)
            .since(&since)
            .build();
        let host = self.conn.host().to_owned();
        let stream = docker.events(Some(options)).filter_map(move |item| {
            let out = match item {
                Ok(msg) => {
                    let actor = msg.actor.unwrap_or_default();
                    let instance = actor
                        .attributes
                        .as_ref()
                        .and_then(|a| a.get(LABEL_INSTANCE_ID))
                        .and_then(|id| id.parse::<InstanceId>().ok());
                    match (instance, actor.id, msg.action) {
                        (Some(instance_id), Some(container_id), Some(action)) => {
                            // Docker appends details to some actions
                            // (`exec_start: sh`, `health_status: healthy`).
                            let action = action.split(':').next().unwrap_or("").to_owned();
                            Some(Ok(ContainerEvent {
                                instance_id,
                                container_id,
                                action,
                            }))
                        }
                        _ => None,
                    }
                }
                Err(e) => Some(Err(CoreError::unavailable(
                    Dependency::Docker,
                    format!("the event stream from Docker at {host} broke: {e}"),
                ))),
            };
            futures::future::ready(out)
        });
        Ok(boxed(stream))
    }
}

fn boxed<S>(s: S) -> EventStream
where
    S: Stream<Item = CoreResult<ContainerEvent>> + Send + 'static,
{
    s.boxed()
}

/// What to do about a Docker daemon that could not be reached, by what the
/// connection said: out of file descriptors (EMFILE), the server is short,
/// not Docker, which "start it" would send the operator looking at.
fn unreachable_advice(detail: &str) -> &'static str {
    if detail.contains("Too many open files") {
        "the server has run out of file descriptors (too many connections at once); \
         retry once fewer are open"
    } else {
        "compute needs Docker: start it or point DOCKER_HOST at it"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real daemon answers an image path it would clean (`a//b`,
    /// `a/b/`) with a redirect: a bad reference, 400, not a 500 (which AWS
    /// clients retry). Core refuses these before a launch asks Docker;
    /// this is the driver's own answer should another one pass. (`a/./b`
    /// reaches Docker as `a/b`, cleaned on the way, and is not found.)
    #[tokio::test]
    async fn a_redirect_from_docker_is_a_bad_reference() {
        if miniaws_testkit::require_docker().is_none() {
            return;
        }
        let docker_host = std::env::var("DOCKER_HOST").ok();
        let conn = crate::connect(docker_host.as_deref()).expect("a usable DOCKER_HOST");
        let driver = DockerComputeDriver::new(
            conn,
            DockerSettings {
                publish_host: "127.0.0.1".into(),
                server_id: "driver-test".into(),
                pids_limit: 4096,
            },
        );
        for image in ["a//b", "a/b/"] {
            match driver.ensure_image(image).await {
                Err(CoreError::InvalidInput(message)) => assert!(
                    message.contains("inspect the image") && message.contains("redirect"),
                    "{image}: {message}"
                ),
                other => panic!("{image}: expected InvalidInput, got {other:?}"),
            }
        }
    }

    #[test]
    fn out_of_descriptors_is_not_blamed_on_docker() {
        assert!(
            unreachable_advice("error trying to connect: Too many open files (os error 24)")
                .contains("file descriptors")
        );
        assert!(unreachable_advice("connection refused").contains("start it"));
    }
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage};

    #[test]
    fn port_conflicts_name_the_port() {
        let cases = [
            (
                "driver failed programming external connectivity on endpoint x (abc): Bind for 127.0.0.1:8080 failed: port is already allocated",
                Some(8080),
            ),
            (
                "driver failed programming external connectivity on endpoint x: Error starting userland proxy: listen tcp4 127.0.0.1:18081: bind: address already in use",
                Some(18081),
            ),
            ("something else", None),
        ];
        for (msg, want) in cases {
            assert_eq!(conflicting_port(msg), want, "{msg}");
        }
        assert!(port_conflict(cases[0].0).to_string().contains("8080"));
    }

    fn cpu(total_ns: u64, system_ns: u64, online: Option<u32>) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total_ns),
                percpu_usage: Some(vec![0, 0]),
                ..ContainerCpuUsage::default()
            }),
            system_cpu_usage: Some(system_ns),
            online_cpus: online,
            ..ContainerCpuStats::default()
        }
    }

    #[test]
    fn cpu_percent_comes_from_the_two_readings_of_a_sample() {
        let sample =
            |now: ContainerCpuStats, pre: Option<ContainerCpuStats>| ContainerStatsResponse {
                cpu_stats: Some(now),
                precpu_stats: pre,
                ..ContainerStatsResponse::default()
            };
        // Host: 2 CPUs, so 2 s of system time pass per second.
        let cases = [
            (
                "one CPU busy over the interval",
                sample(
                    cpu(11_000_000_000, 102_000_000_000, Some(2)),
                    Some(cpu(10_000_000_000, 100_000_000_000, Some(2))),
                ),
                100.0,
            ),
            (
                "a quarter CPU, online_cpus missing (counted per CPU)",
                sample(
                    cpu(10_250_000_000, 102_000_000_000, None),
                    Some(cpu(10_000_000_000, 100_000_000_000, None)),
                ),
                25.0,
            ),
            (
                "both CPUs busy",
                sample(
                    cpu(12_000_000_000, 102_000_000_000, Some(2)),
                    Some(cpu(10_000_000_000, 100_000_000_000, Some(2))),
                ),
                200.0,
            ),
            (
                "no earlier reading: not the lifetime average",
                sample(cpu(50_000_000_000, 102_000_000_000, Some(2)), None),
                0.0,
            ),
            (
                "an empty earlier reading (first sample of a stream)",
                sample(
                    cpu(50_000_000_000, 102_000_000_000, Some(2)),
                    Some(ContainerCpuStats::default()),
                ),
                0.0,
            ),
        ];
        for (desc, stats, want) in cases {
            assert_eq!(cpu_percent(&stats), want, "{desc}");
            assert_eq!(stats_from(&stats).cpu_percent, want, "{desc}");
        }
    }

    #[test]
    fn started_at_is_none_for_a_container_never_started() {
        assert_eq!(started_at("0001-01-01T00:00:00Z"), None);
        assert_eq!(started_at("not a time"), None);
        let t = started_at("2026-03-04T05:06:07.123456789Z").expect("Docker's format");
        assert_eq!(
            (t.year(), t.second(), t.nanosecond()),
            (2026, 7, 123_456_789)
        );
    }

    #[test]
    fn a_running_list_entry_carries_its_published_ports() {
        let port = |ip: &str, private: u16, public: Option<u16>, typ| bollard::models::Port {
            ip: Some(ip.to_owned()),
            private_port: private,
            public_port: public,
            typ: Some(typ),
        };
        let mut c = ContainerSummaryModel {
            id: Some("c1".into()),
            labels: Some(HashMap::from([(
                LABEL_INSTANCE_ID.to_owned(),
                "6f1c3f4e-58a4-4a4e-9d7a-2b0c8f1e2d3a".to_owned(),
            )])),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            ports: Some(vec![
                port("::", 80, Some(32769), PortTypeEnum::TCP),
                port("0.0.0.0", 80, Some(32769), PortTypeEnum::TCP),
                port("127.0.0.1", 53, Some(5353), PortTypeEnum::UDP),
                // Exposed, not published.
                port("", 81, None, PortTypeEnum::TCP),
            ]),
            ..ContainerSummaryModel::default()
        };
        let listed = summary_from(&c).expect("a labelled container");
        let got: Vec<_> = listed
            .ports
            .iter()
            .map(|p| (p.container_port, p.protocol, p.host_port))
            .collect();
        assert_eq!(
            got,
            [(53, Protocol::Udp, 5353), (80, Protocol::Tcp, 32769)],
            "one entry per container port, in order"
        );
        c.state = Some(ContainerSummaryStateEnum::EXITED);
        assert!(summary_from(&c).expect("labelled").ports.is_empty());
    }

    #[test]
    fn untagged_images_pull_latest() {
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(
            with_tag("localhost:5000/busybox"),
            "localhost:5000/busybox:latest"
        );
        assert_eq!(with_tag("nginx:alpine"), "nginx:alpine");
        assert_eq!(with_tag("a@sha256:00"), "a@sha256:00");
    }
}
