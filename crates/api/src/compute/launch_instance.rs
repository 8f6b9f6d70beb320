//! `POST /instances`: launch an instance.
//!
//! An `Idempotency-Key` header (1–64 printable ASCII characters; the
//! IETF draft's header, as Stripe and others use it) makes the launch
//! idempotent: a retry with the same key and the same body answers the
//! instance the first launch made, as it is now, and launches nothing,
//! also after a restart (the key is stored with the instance, as EC2's
//! `ClientToken`, in the same namespace); the same key with another body is
//! 422 `IDEMPOTENCY_KEY_REUSED`. Concurrent tries of one key wait for the
//! first.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use miniaws_core::CoreError;
use miniaws_core::compute::{ClientToken, InstanceId, LaunchRequest, split_command};
use miniaws_wire::{Command, Instance, LaunchInstance};
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{Data, Json};
use crate::state::AppState;
use crate::views;

/// The header that makes a launch idempotent.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub(crate) async fn launch_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Json(body): Json<LaunchInstance>,
) -> Result<(StatusCode, Data<Instance>), ApiError> {
    let token = idempotency_key(&headers, &body)?;
    let command = match body.command {
        None => None,
        Some(Command::Args(args)) => Some(args),
        Some(Command::Line(line)) => Some(split_command(&line)?),
    };
    let request = LaunchRequest {
        name: body.name,
        image: body.image,
        ports: body.ports,
        env: body.env,
        instance_type: body.instance_type,
        command,
        tags: body.tags,
    };
    let instance = match token {
        None => state.compute.launch(caller, request).await?,
        Some(token) => state
            .compute
            .launch_all(caller, vec![(InstanceId::new(), request)], Some(token))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::internal_msg("a launch answered no instance"))?,
    };
    Ok((StatusCode::CREATED, Data(views::instance(instance))))
}

/// The request's `Idempotency-Key`, with a digest of the body it must
/// come with again (the body as parsed, re-encoded: the same request
/// whatever its spacing or field order).
fn idempotency_key(
    headers: &HeaderMap,
    body: &LaunchInstance,
) -> Result<Option<ClientToken>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        CoreError::invalid("the Idempotency-Key header must be printable ASCII characters")
    })?;
    let canonical = serde_json::to_string(body)
        .map_err(|e| CoreError::internal_msg(format!("cannot encode a launch request: {e}")))?;
    let digest = hex::encode(Sha256::digest(format!("native:{canonical}").as_bytes()));
    Ok(Some(ClientToken::new(key, digest)?))
}
