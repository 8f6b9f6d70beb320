//! `/instances`, `/instance-types` and `/images`: compute instances as
//! containers.

mod exec_instance;
mod exec_tty;
mod get_instance;
mod images;
mod instance_logs;
mod instance_stats;
mod instance_types;
mod launch_instance;
mod list_instances;
mod modify_instance;
mod reboot_instance;
mod start_instance;
mod stop_instance;
mod tag_instance;
mod terminate_instance;

use axum::Router;
use axum::routing::{get, patch, post};
use miniaws_core::compute::InstanceId;

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/instances",
            get(list_instances::list_instances).post(launch_instance::launch_instance),
        )
        .route(
            "/instances/{id}",
            get(get_instance::get_instance)
                .patch(modify_instance::modify_instance)
                .delete(terminate_instance::terminate_instance),
        )
        .route("/instances/{id}/stop", post(stop_instance::stop_instance))
        .route(
            "/instances/{id}/start",
            post(start_instance::start_instance),
        )
        .route(
            "/instances/{id}/reboot",
            post(reboot_instance::reboot_instance),
        )
        .route("/instances/{id}/logs", get(instance_logs::instance_logs))
        .route("/instances/{id}/stats", get(instance_stats::instance_stats))
        .route("/instances/{id}/exec", post(exec_instance::exec_instance))
        .route("/instances/{id}/exec/tty", get(exec_tty::exec_tty))
        .route("/instances/{id}/tags", patch(tag_instance::tag_instance))
        .route("/instance-types", get(instance_types::instance_types))
        .route("/images", get(images::images))
}

/// Parses an instance id from the path (400 naming it when malformed).
fn parse_id(id: &str) -> Result<InstanceId, ApiError> {
    Ok(id.parse::<InstanceId>()?)
}
