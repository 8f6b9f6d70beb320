//! `PATCH /instances/{id}/tags`: changes an instance's tags with a JSON
//! merge patch (RFC 7396): `{"env": "dev", "team": null}` sets `env` and
//! removes `team`; keys not named keep their value. The change is one
//! compare-and-set ([`ComputeService::relabel`](miniaws_core::compute::ComputeService::relabel)),
//! so concurrent patches of other keys are never lost.

use axum::extract::State;
use miniaws_core::compute::Labels;
use miniaws_wire::{Instance, UniqueKeys};

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{Data, Json};
use crate::path::Path;
use crate::state::AppState;
use crate::views;

pub(crate) async fn tag_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Json(UniqueKeys(patch)): Json<UniqueKeys<Option<String>>>,
) -> Result<Data<Instance>, ApiError> {
    let id = parse_id(&id)?;
    let instance = state
        .compute
        .relabel(caller, id, |inst| {
            let mut labels: Labels = inst.labels();
            for (key, value) in &patch {
                match value {
                    Some(v) => labels.tags.insert(key.clone(), v.clone()),
                    None => labels.tags.remove(key),
                };
            }
            Ok(labels)
        })
        .await?;
    Ok(Data(views::instance(instance)))
}
