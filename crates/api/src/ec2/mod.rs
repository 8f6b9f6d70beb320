//! The EC2-compatible endpoint: EC2's Query API (API version 2016-11-15)
//! for the operations compute has, on the AWS listener beside S3, over the
//! same [`ComputeService`](miniaws_core::compute::ComputeService) as
//! `/instances`.
//!
//! A request is EC2's when its SigV4 credential scope names the service
//! `ec2` (as LocalStack routes), or, unsigned, when it is a form POST to
//! `/` or a GET of `/` with an `Action` (so that it gets EC2's
//! `MissingAuthenticationToken` rather than S3's answer). A request signed
//! for `sts` goes to [`crate::sts`], which shares [`authenticate`]; one
//! signed for another service is refused there; everything else goes to S3
//! unchanged. The protocol is small and no crate serves it, so
//! it is written here: the form ([`params`]), SigV4 ([`sigv4`]), the XML
//! ([`xml`]), the errors ([`error`]), and one module per operation.

pub mod error;
pub mod params;
pub mod sigv4;
pub mod xml;

mod credit_specifications;
mod describe_images;
mod describe_instance_status;
mod describe_instance_types;
mod describe_instances;
mod get_console_output;
mod instance_attribute;
mod instances;
mod reboot_instances;
mod regions;
mod run_instances;
mod start_instances;
mod stop_instances;
mod tags;
mod terminate_instances;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use miniaws_core::CoreError;
use miniaws_core::identity::{Caller, UNKNOWN_ACCESS_KEY};

use crate::middleware::REQUEST_ID_HEADER;
use crate::state::AppState;
use error::Ec2Error;
use params::Params;

/// The largest form accepted, in bytes. EC2 forms are small (the largest
/// legitimate one here is a RunInstances with 50 tags); a bigger body is
/// refused before it is read whole.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// EC2's refusal of an unknown (or revoked) access key id.
const UNKNOWN_ACCESS_KEY_ID: &str = "AWS was not able to validate the provided access credentials (unknown or revoked access key id)";

/// How EC2's refusal of a key for another reason begins (the reason
/// follows).
pub(crate) const CREDENTIALS_REFUSED: &str =
    "AWS was not able to validate the provided access credentials: ";

/// What every operation receives.
pub struct Ec2Context<'a> {
    /// The services.
    pub state: &'a AppState,
    /// The authenticated caller.
    pub caller: Caller,
    /// The request's parameters.
    pub params: Params,
    /// The request id (also in every answer).
    pub request_id: String,
    /// The region of the signature's scope (availability zones derive
    /// from it).
    pub region: String,
    /// The host (and port) the request was sent to, as its `Host` header
    /// names it: the endpoint DescribeRegions reports.
    pub endpoint: String,
}

/// Whether `req` is an EC2 Query request (see the module docs), given the
/// service its `Authorization` header was signed for, if it is SigV4
/// ([`CredentialScope::header_service`](crate::credential_scope::CredentialScope::header_service)).
pub fn is_ec2_request(req: &Request, signed_for: Option<&str>) -> bool {
    if let Some(service) = signed_for {
        return service == "ec2";
    }
    if req.headers().contains_key(header::AUTHORIZATION) || req.uri().path() != "/" {
        return false;
    }
    let form = req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let action_query = req.method() == Method::GET
        && req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("Action=")));
    form || action_query
}

/// Answers one EC2 request.
pub async fn handle(state: AppState, req: Request) -> Response {
    let request_id = request_id(&req);
    let (status, body) = match serve(&state, req, &request_id).await {
        Ok(xml) => (StatusCode::OK, xml),
        Err(e) => {
            tracing::info!(
                code = e.code,
                status = e.status.as_u16(),
                "EC2 request refused"
            );
            (e.status, e.to_xml(&request_id))
        }
    };
    xml_response(status, body)
}

/// The request's id (set by the middleware), which answers carry.
pub fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// An XML answer of the Query APIs.
pub fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    response
}

fn too_large() -> Ec2Error {
    Ec2Error::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        format!("The request body is larger than {MAX_FORM_BYTES} bytes"),
    )
}

/// Why a form body could not be read: over the limit (an undeclared
/// length), or the client's fault (it stopped sending, its chunks were
/// malformed), which is no 413.
fn unread_body(e: axum::Error) -> Ec2Error {
    // http-body-util's `LengthLimitError`, which axum does not re-export:
    // known by its text.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if c.to_string() == "length limit exceeded" {
            return too_large();
        }
        cause = c.source();
    }
    Ec2Error::new(
        StatusCode::BAD_REQUEST,
        "IncompleteBody",
        format!(
            "The request body could not be read whole ({e}): the client stopped sending it or sent it malformed"
        ),
    )
}

/// A Query API request (EC2's, STS's) once authenticated: who sent it,
/// its parameters and the region it was signed for.
pub struct QueryRequest {
    /// The authenticated caller.
    pub caller: Caller,
    /// The query's and a POST form's parameters.
    pub params: Params,
    /// The region of the signature's scope.
    pub region: String,
    /// The `Host` the request was sent to (`localhost` when it has none).
    pub host: String,
}

/// The host (and port) a request was sent to: its `Host` header (which
/// SigV4 signs), else the URI's authority (HTTP/2), else `localhost`.
fn request_host(parts: &axum::http::request::Parts) -> String {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Reads and authenticates a Query API request: POST (a form) or GET, at
/// most [`MAX_FORM_BYTES`], SigV4 in the `Authorization` header within the
/// allowed clock skew, by a live access key. The errors are EC2's codes,
/// which STS shares.
pub async fn authenticate(state: &AppState, req: Request) -> Result<QueryRequest, Ec2Error> {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST && parts.method != Method::GET {
        return Err(Ec2Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHttpVerb",
            format!(
                "Query API requests are POST (a form) or GET (a query), not {}",
                parts.method
            ),
        ));
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES as u64) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(Body::new(body), MAX_FORM_BYTES)
        .await
        .map_err(unread_body)?;
    let query = parts.uri.query().unwrap_or("");

    // Authentication: SigV4 in the Authorization header.
    let Some(auth_value) = parts.headers.get(header::AUTHORIZATION) else {
        if query.contains("X-Amz-Signature=") {
            return Err(Ec2Error::new(
                StatusCode::BAD_REQUEST,
                "AuthFailure",
                "Query-string (presigned) SigV4 is not supported by Mini AWS's Query APIs (EC2, \
                 STS); sign the request in the Authorization header",
            ));
        }
        return Err(Ec2Error::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "The request must contain a valid (registered) AWS access key ID: sign it with \
             SigV4 (the access_key_id and secret_access_key of an API key)",
        ));
    };
    let auth = auth_value
        .to_str()
        .ok()
        .and_then(sigv4::parse_authorization)
        .ok_or_else(|| {
            Ec2Error::new(
                StatusCode::BAD_REQUEST,
                "AuthFailure",
                "The Authorization header is malformed; expected AWS4-HMAC-SHA256 \
                 Credential=…/<date>/<region>/<service>/aws4_request, SignedHeaders=…, Signature=…",
            )
        })?;
    let at = sigv4::request_time(&parts.headers)?;
    let skew = (time::OffsetDateTime::now_utc() - at).whole_seconds().abs();
    if skew > sigv4::MAX_SKEW_SECS {
        return Err(Ec2Error::new(
            StatusCode::BAD_REQUEST,
            "RequestExpired",
            format!(
                "Request has expired: its X-Amz-Date is {skew} s away from the server's clock \
                 (at most {} s allowed); check the client's clock",
                sigv4::MAX_SKEW_SECS
            ),
        ));
    }
    let (caller, secret) = match state
        .identity
        .authenticate_access_key(auth.access_key)
        .await
    {
        Ok(found) => found,
        Err(CoreError::Unauthorized(m)) if m == UNKNOWN_ACCESS_KEY => {
            return Err(Ec2Error::new(
                StatusCode::UNAUTHORIZED,
                "AuthFailure",
                UNKNOWN_ACCESS_KEY_ID,
            ));
        }
        // A key whose secret cannot be opened (the secrets key file was
        // replaced): the reason, not "unknown", which would send the user
        // looking for a revoked key.
        Err(CoreError::Unauthorized(m)) => {
            return Err(Ec2Error::new(
                StatusCode::UNAUTHORIZED,
                "AuthFailure",
                format!("{CREDENTIALS_REFUSED}{m}"),
            ));
        }
        Err(other) => return Err(error::from_core(other)),
    };
    let amz_date = parts
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let signed = sigv4::SignedRequest {
        method: &parts.method,
        path: parts.uri.path(),
        query,
        headers: &parts.headers,
        body: &body,
    };
    sigv4::verify(&signed, &auth, amz_date, &secret)?;
    tracing::Span::current().record("owner", tracing::field::display(caller.user_id));

    // The parameters: the query, and a POST's form.
    let mut params = Params::parse(query)?;
    if parts.method == Method::POST && !body.is_empty() {
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(Ec2Error::malformed_form(
                "the body of a POST must be application/x-www-form-urlencoded",
            ));
        }
        let text = std::str::from_utf8(&body)
            .map_err(|_| Ec2Error::malformed_form("the body is not UTF-8"))?;
        params.merge(Params::parse(text)?)?;
    }
    Ok(QueryRequest {
        caller,
        params,
        region: auth.region.to_owned(),
        host: request_host(&parts),
    })
}

async fn serve(state: &AppState, req: Request, request_id: &str) -> Result<String, Ec2Error> {
    let QueryRequest {
        caller,
        params,
        region,
        host,
    } = authenticate(state, req).await?;
    let action = params.required("Action")?.to_owned();
    params.required("Version")?;
    let ctx = Ec2Context {
        state,
        caller,
        params,
        request_id: request_id.to_owned(),
        region,
        endpoint: host,
    };
    tracing::debug!(action = %action, "EC2 request");
    match action.as_str() {
        "RunInstances" => run_instances::handle(ctx).await,
        "DescribeInstances" => describe_instances::handle(ctx).await,
        "StartInstances" => start_instances::handle(ctx).await,
        "StopInstances" => stop_instances::handle(ctx).await,
        "RebootInstances" => reboot_instances::handle(ctx).await,
        "TerminateInstances" => terminate_instances::handle(ctx).await,
        "DescribeInstanceTypes" => describe_instance_types::handle(ctx).await,
        "DescribeImages" => describe_images::handle(ctx).await,
        "DescribeInstanceStatus" => describe_instance_status::handle(ctx).await,
        "DescribeInstanceCreditSpecifications" => credit_specifications::handle(ctx).await,
        "GetConsoleOutput" => get_console_output::handle(ctx).await,
        "ModifyInstanceAttribute" => instance_attribute::modify(ctx).await,
        "DescribeInstanceAttribute" => instance_attribute::describe(ctx).await,
        "DescribeRegions" => regions::describe_regions(ctx).await,
        "DescribeAvailabilityZones" => regions::describe_availability_zones(ctx).await,
        "CreateTags" => tags::create(ctx).await,
        "DeleteTags" => tags::delete(ctx).await,
        "DescribeTags" => tags::describe(ctx).await,
        other => Err(Ec2Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!(
                "The action {other} is not valid for this web service (Mini AWS's EC2 API has \
                 RunInstances, DescribeInstances, StartInstances, StopInstances, \
                 RebootInstances, TerminateInstances, DescribeInstanceTypes, \
                 DescribeImages, DescribeInstanceStatus, DescribeInstanceCreditSpecifications, \
                 GetConsoleOutput, ModifyInstanceAttribute, \
                 DescribeInstanceAttribute, CreateTags, DeleteTags, \
                 DescribeTags, DescribeRegions and DescribeAvailabilityZones)"
            ),
        )),
    }
}

/// `DryRunOperation` (412): the request was valid and would have run.
pub fn dry_run() -> Ec2Error {
    Ec2Error::new(
        StatusCode::PRECONDITION_FAILED,
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    )
}
