//! `PATCH /instances/{id}`: rename an instance, change its type, or both.
//!
//! Both are checked before either is made (the name's rules, the type in
//! the catalogue); the type changes first (the instance must be stopped),
//! then the name, which can still be refused if another instance took it
//! meanwhile: the type change stays then, and the answer says why the
//! name did not.

use axum::extract::State;
use miniaws_core::compute::{InstanceName, instance_type};
use miniaws_wire::{Instance, ModifyInstance};

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{Data, Json};
use crate::path::Path;
use crate::state::AppState;
use crate::views;

pub(crate) async fn modify_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Json(body): Json<ModifyInstance>,
) -> Result<Data<Instance>, ApiError> {
    let id = parse_id(&id)?;
    if body.name.is_none() && body.instance_type.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: send `name`, `instance_type` or both",
        ));
    }
    if let Some(name) = &body.name {
        InstanceName::parse(name)?;
    }
    if let Some(t) = &body.instance_type {
        instance_type(t)?;
    }
    let mut instance = match &body.instance_type {
        Some(t) => state.compute.change_type(caller, id, t).await?,
        None => state.compute.get(caller, id).await?,
    };
    if let Some(name) = body.name {
        instance = state
            .compute
            .relabel(caller, id, |inst| {
                let mut labels = inst.labels();
                labels.name = name.clone();
                Ok(labels)
            })
            .await?;
    }
    Ok(Data(views::instance(instance)))
}
