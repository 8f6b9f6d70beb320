//! `GET /instance-types`: the catalogue of instance types.

use axum::extract::State;
use serde::Serialize;

use crate::auth::Auth;
use crate::json::Data;
use crate::state::AppState;

/// One instance type on the wire.
#[derive(Debug, Serialize)]
pub struct InstanceTypeView {
    /// AWS name, e.g. `t3.micro`.
    pub name: &'static str,
    /// vCPUs (host CPU shares, capped at the host's CPU count).
    pub vcpus: u32,
    /// Memory limit in MiB.
    pub memory_mib: u64,
    /// Whether launches without `instance_type` get this one.
    pub default: bool,
}

pub(crate) async fn instance_types(
    State(state): State<AppState>,
    Auth(_caller): Auth,
) -> Data<Vec<InstanceTypeView>> {
    let default = state.compute.default_instance_type();
    Data(
        state
            .compute
            .instance_types()
            .iter()
            .map(|t| InstanceTypeView {
                name: t.name,
                vcpus: t.vcpus,
                memory_mib: t.memory_mib,
                default: t.name == default,
            })
            .collect(),
    )
}
