//! `GET /instance-types`: the catalogue of instance types.

use axum::extract::State;
use miniaws_wire::InstanceType;

use crate::auth::Auth;
use crate::json::Data;
use crate::state::AppState;
use crate::views;

pub(crate) async fn instance_types(
    State(state): State<AppState>,
    Auth(_caller): Auth,
) -> Data<Vec<InstanceType>> {
    let default = state.compute.default_instance_type();
    Data(
        state
            .compute
            .instance_types()
            .iter()
            .map(|t| views::instance_type(t, t.name == default))
            .collect(),
    )
}
