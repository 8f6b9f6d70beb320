//! The S3-compatible endpoint (the AWS listener, `--aws-listen`).
//!
//! The protocol — routing, XML, SigV4 in headers and presigned URLs,
//! `aws-chunked` bodies with signed chunks or unsigned trailers — is the
//! `s3s` crate's. This module implements its traits over our services:
//! [`MiniS3`] (`s3s::S3`) dispatches each operation to a module of its own,
//! [`auth::IdentityAuth`] (`s3s::auth::S3Auth`) finds secrets through the
//! identity service, [`host::LocalhostHost`] reads virtual-hosted bucket
//! names, and [`wire`] adds request ids and resources to error XML.
//! Operations we do not implement fall through to s3s's defaults, which
//! answer `NotImplemented` (501).

pub mod auth;
pub mod error;
pub mod host;
pub mod wire;

use axum::Router;
use axum::extract::Request;
use s3s::config::{S3Config, StaticConfigProvider};
use s3s::service::{S3Service, S3ServiceBuilder};
use std::sync::Arc;

use crate::state::AppState;

/// Largest clock skew SigV4 accepts, header-signed or presigned (S3's own
/// limit): beyond it a request fails with `RequestTimeTooSkewed`.
pub const MAX_CLOCK_SKEW_SECS: u32 = 15 * 60;

/// Our implementation of the S3 operations, over the core services.
#[derive(Clone)]
pub struct MiniS3 {
    #[allow(dead_code)]
    state: AppState,
}

#[async_trait::async_trait]
impl s3s::S3 for MiniS3 {}

/// The s3s service with our auth, access check, host parsing and limits.
pub fn s3_service(state: AppState) -> S3Service {
    let mut config = S3Config::default();
    config.presigned_url_max_skew_time_secs = MAX_CLOCK_SKEW_SECS;
    let mut builder = S3ServiceBuilder::new(MiniS3 {
        state: state.clone(),
    });
    builder.set_config(Arc::new(StaticConfigProvider::new(Arc::new(config))));
    builder.set_auth(auth::IdentityAuth::new(state.identity.clone()));
    builder.set_access(auth::CallerAccess);
    builder.set_host(host::LocalhostHost);
    builder.build()
}

/// The AWS listener's router: every request goes to s3s, inside the same
/// request-id and tracing middleware as the native API.
pub fn aws_router(state: AppState) -> Router {
    let service = s3_service(state);
    let routes = Router::new().fallback(move |req: Request| {
        let service = service.clone();
        async move { wire::serve(service, req).await }
    });
    crate::middleware::wrap(routes)
}
