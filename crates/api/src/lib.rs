//! The HTTP edge of the Mini AWS hexagon.
//!
//! Requests come in through axum routers, are authenticated by the
//! extractors in [`auth`], turned into calls on the services of
//! `miniaws-core`, and the results (or [`CoreError`](miniaws_core::CoreError)s)
//! go back out as JSON in the envelope of DESIGN.md, as the types of
//! `miniaws-wire` (built from domain values in `views`). This crate depends
//! on `miniaws-core` and `miniaws-wire` alone; the server binary hands it
//! ready-made services.

pub mod auth;
pub mod compute;
pub mod credential_scope;
mod detached;
pub mod ec2;
pub mod error;
mod expect_continue;
pub mod framing;
pub mod health;
pub mod host_check;
pub mod identity;
mod idle_body;
pub mod json;
mod linger;
pub mod middleware;
mod page_token;
pub mod path;
pub mod query;
pub mod query_params;
pub mod s3;
pub mod state;
pub mod storage;
pub mod sts;
mod views;

pub use error::ApiError;
pub use s3::aws_router;
pub use state::AppState;
pub use views::created_key;

use axum::Router;
use axum::extract::DefaultBodyLimit;

/// Largest JSON body the native API accepts.
pub const MAX_JSON_BODY_BYTES: usize = 1024 * 1024;

/// The native API router with its middleware (request ids, tracing, limits),
/// answering only requests whose `Host` `hosts` allows.
pub fn native_router(state: AppState, hosts: host_check::AllowedHosts) -> Router {
    let routes = Router::new()
        .merge(health::routes())
        .merge(identity::routes())
        .merge(compute::routes())
        .merge(storage::routes())
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .with_state(state.clone());
    // Inside the common layers: a refused Host's 403 carries its request
    // id and gets its access line, as every other answer.
    let routes = host_check::restrict(routes, hosts);
    middleware::wrap(routes, state.body_idle_timeout)
}
