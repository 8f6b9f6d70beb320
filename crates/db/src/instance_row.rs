//! Encoding of instance fields that both backends store as TEXT.

use miniaws_core::compute::{
    ClientToken, Instance, InstanceId, InstanceState, LaunchOrigin, PortMapping, PublishedPort,
};
use miniaws_core::error::ConflictKind;
use miniaws_core::identity::UserId;
use miniaws_core::{CoreError, CoreResult};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns every instance query selects, in this order.
pub(crate) const INSTANCE_COLUMNS: &str = "id, owner_id, name, image, instance_type, status, \
     state_reason, exit_code, container_id, ports, published_ports, private_ip, env, command, \
     tags, created_at, updated_at, deleted_at, launch_first, launch_index, client_token, \
     launch_digest";

/// An instance row with its TEXT-encoded fields still encoded.
pub(crate) struct RawInstance {
    pub id: Uuid,
    pub owner: Option<Uuid>,
    pub name: String,
    pub image: String,
    pub instance_type: Option<String>,
    pub status: String,
    pub state_reason: Option<String>,
    pub exit_code: Option<i64>,
    pub container_id: Option<String>,
    pub ports: Option<String>,
    pub published_ports: Option<String>,
    pub private_ip: Option<String>,
    pub env: Option<String>,
    pub command: Option<String>,
    pub tags: String,
    pub created_at: Option<OffsetDateTime>,
    pub updated_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
    pub launch_first: Option<Uuid>,
    pub launch_index: i64,
    pub client_token: Option<String>,
    pub launch_digest: Option<String>,
}

fn corrupt(id: Uuid, what: &str, detail: impl std::fmt::Display) -> CoreError {
    CoreError::internal_msg(format!(
        "instance {id} has a malformed {what} column: {detail}"
    ))
}

impl RawInstance {
    /// Decodes the row; a malformed column is an internal error naming it.
    pub(crate) fn decode(self) -> CoreResult<Instance> {
        let id = self.id;
        let env: BTreeMap<String, String> = match self.env.as_deref() {
            None | Some("") => BTreeMap::new(),
            Some(s) => serde_json::from_str(s).map_err(|e| corrupt(id, "env", e))?,
        };
        let command: Option<Vec<String>> = match self.command.as_deref() {
            None | Some("") => None,
            Some(s) => Some(serde_json::from_str(s).map_err(|e| corrupt(id, "command", e))?),
        };
        let tags: BTreeMap<String, String> =
            serde_json::from_str(&self.tags).map_err(|e| corrupt(id, "tags", e))?;
        let origin = match (self.launch_first, self.client_token) {
            (None, None) => None,
            (first, token) => Some(LaunchOrigin {
                first: InstanceId::from_uuid(first.unwrap_or(id)),
                index: u32::try_from(self.launch_index)
                    .map_err(|e| corrupt(id, "launch_index", e))?,
                token: token.map(|value| ClientToken {
                    value,
                    digest: self.launch_digest.unwrap_or_default(),
                }),
            }),
        };
        Ok(Instance {
            id: InstanceId::from_uuid(id),
            owner: UserId::from_uuid(self.owner.unwrap_or(Uuid::nil())),
            name: self.name,
            image: self.image,
            instance_type: self.instance_type.unwrap_or_default(),
            state: self
                .status
                .parse::<InstanceState>()
                .map_err(|e| corrupt(id, "status", e))?,
            state_reason: self.state_reason,
            exit_code: self.exit_code,
            container_id: self.container_id,
            ports: PortMapping::parse_stored(self.ports.as_deref().unwrap_or(""))
                .map_err(|e| corrupt(id, "ports", e))?,
            published_ports: PublishedPort::parse_stored(
                self.published_ports.as_deref().unwrap_or(""),
            )
            .map_err(|e| corrupt(id, "published_ports", e))?,
            private_ip: self.private_ip,
            env,
            command,
            tags,
            origin,
            created_at: self.created_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            updated_at: self.updated_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            deleted_at: self.deleted_at,
        })
    }
}

/// The JSON text of an environment.
pub(crate) fn env_text(instance: &Instance) -> String {
    serde_json::to_string(&instance.env).unwrap_or_else(|_| "{}".into())
}

/// The JSON text of a set of tags (a `BTreeMap`'s, so one set has one
/// text, which `relabel` compares).
pub(crate) fn tags_text(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

/// The JSON text of a command override, if any.
pub(crate) fn command_text(instance: &Instance) -> Option<String> {
    instance
        .command
        .as_ref()
        .map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()))
}

/// The parts of an instance's launch origin as stored: `launch_first`,
/// `launch_index`, `client_token`, `launch_digest`.
pub(crate) fn origin_columns(
    instance: &Instance,
) -> (Option<Uuid>, i32, Option<&str>, Option<&str>) {
    match &instance.origin {
        None => (None, 0, None, None),
        Some(o) => (
            Some(o.first.as_uuid()),
            i32::try_from(o.index).unwrap_or(i32::MAX),
            o.token.as_ref().map(|t| t.value.as_str()),
            o.token.as_ref().map(|t| t.digest.as_str()),
        ),
    }
}

/// The conflict of an insert refused by a unique index: the instance's
/// EC2 id taken (index `instances_ec2_id_idx`, whose column Postgres
/// names as the constraint and SQLite in its message), its client token
/// and launch index taken (`instances_client_token_idx`), else its name.
pub(crate) fn insert_conflict(err: &sqlx::Error, instance: &Instance) -> CoreError {
    let on = |index: &str, column: &str| match err {
        sqlx::Error::Database(db) => {
            db.constraint() == Some(index) || db.message().contains(column)
        }
        _ => false,
    };
    if on("instances_client_token_idx", "client_token") {
        return CoreError::conflict(
            ConflictKind::AlreadyExists,
            format!(
                "a launch with the client token `{}` is already recorded",
                instance.client_token().unwrap_or_default()
            ),
        );
    }
    if on("instances_ec2_id_idx", "ec2_id") {
        CoreError::conflict(
            ConflictKind::AlreadyExists,
            format!(
                "another instance already has the EC2 id {}; launch again",
                instance.ec2_id()
            ),
        )
    } else {
        name_taken(&instance.name)
    }
}

/// The conflict for a name that a live instance of the owner already has.
pub(crate) fn name_taken(name: &str) -> CoreError {
    CoreError::conflict(
        ConflictKind::AlreadyExists,
        format!(
            "you already have an instance named `{name}`; choose another name or terminate that one first"
        ),
    )
}

/// The host ports `instance` reserves: its fixed ones (`HOST:CONTAINER`),
/// as `(host_port, protocol)` rows of `instance_host_ports` (migration
/// 0027). Auto-assigned ones change at every start and are not reserved.
/// Sorted, so that two transactions claiming some of the same ports take
/// their rows' locks in one order (Postgres would otherwise find a
/// deadlock and fail one of them).
pub(crate) fn fixed_host_ports(instance: &Instance) -> Vec<(i32, &'static str)> {
    let mut ports: Vec<(i32, &'static str)> = instance
        .ports
        .iter()
        .filter_map(|p| Some((i32::from(p.host_port?), p.protocol.as_str())))
        .collect();
    ports.sort_unstable();
    ports
}

/// The conflict for a fixed host port another live instance has reserved.
/// It names the port only: the holder may be another owner's instance,
/// whose id, name and owner are none of the caller's business.
pub(crate) fn port_reserved(host_port: i32, protocol: &str) -> CoreError {
    CoreError::conflict(
        ConflictKind::PortInUse,
        format!(
            "host port {host_port}/{protocol} is reserved by another instance (an instance keeps \
             its fixed host ports while it is stopped, until it is terminated); choose another \
             host port, or give only the container port to get a free one"
        ),
    )
}
