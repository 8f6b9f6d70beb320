//! STS on the AWS listener: `GetCallerIdentity`, the call the aws CLI
//! (`aws sts get-caller-identity`), Terraform and many scripts make to
//! check which credentials they hold. Mini AWS has no roles or sessions,
//! so that is the one STS action; the others are refused by name.
//!
//! A request is STS's when its SigV4 scope names the service `sts`. It is
//! read and authenticated as EC2's Query requests are
//! ([`crate::ec2::authenticate`]); answers and errors use STS's XML
//! (namespace 2011-06-15, `<ErrorResponse>`).
//!
//! Requests signed for a service Mini AWS does not have at all (`iam`,
//! `dynamodb` …) get an error in their protocol's shape naming what the
//! listener serves ([`other_service`]), instead of an S3 answer their
//! client cannot read.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::ec2::error::Ec2Error;
use crate::ec2::xml::escape;
use crate::ec2::{QueryRequest, authenticate, request_id, xml_response};
use crate::state::AppState;

/// STS's XML namespace.
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The services the AWS listener answers.
const SERVED: &str = "S3, EC2 and STS (GetCallerIdentity)";

/// Answers one STS request.
pub async fn handle(state: AppState, req: Request) -> Response {
    let request_id = request_id(&req);
    let (status, body) = match serve(&state, req, &request_id).await {
        Ok(xml) => (StatusCode::OK, xml),
        Err(e) => {
            tracing::info!(
                code = e.code,
                status = e.status.as_u16(),
                "STS request refused"
            );
            (e.status, error_xml(&e, &request_id))
        }
    };
    xml_response(status, body)
}

async fn serve(state: &AppState, req: Request, request_id: &str) -> Result<String, Ec2Error> {
    let QueryRequest { caller, params, .. } =
        authenticate(state, req).await.map_err(sts_auth_error)?;
    match params.required("Action")? {
        "GetCallerIdentity" => Ok(caller_identity(&caller.user_id.to_string(), request_id)),
        other => Err(Ec2Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!(
                "Could not find operation {other} for version 2011-06-15: Mini AWS's STS has \
                 GetCallerIdentity only (no roles or session credentials)"
            ),
        )),
    }
}

/// STS's own answer where EC2's differs: an unknown or revoked access key
/// is EC2's 401 `AuthFailure` but STS's 403 `InvalidClientTokenId` (what
/// scripts check `aws sts get-caller-identity` for); a key refused for
/// another reason (its secret cannot be opened) keeps that reason.
fn sts_auth_error(e: Ec2Error) -> Ec2Error {
    if e.code != "AuthFailure" || e.status != StatusCode::UNAUTHORIZED {
        return e;
    }
    let why = match e.message.strip_prefix(crate::ec2::CREDENTIALS_REFUSED) {
        Some(reason) => format!(": {reason}"),
        None => " (unknown or revoked access key id)".to_owned(),
    };
    Ec2Error::new(
        StatusCode::FORBIDDEN,
        "InvalidClientTokenId",
        format!("The security token included in the request is invalid{why}"),
    )
}

/// GetCallerIdentity's answer. A Mini AWS user is what an AWS account is
/// elsewhere (the owner of its buckets and instances), so its id is the
/// account, as in S3's owner ids, EC2's `ownerId` and bucket policies'
/// `arn:aws:iam::<id>:root` principals.
fn caller_identity(user_id: &str, request_id: &str) -> String {
    let id = escape(user_id);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\">\
         <GetCallerIdentityResult><Arn>arn:aws:iam::{id}:root</Arn><UserId>{id}</UserId>\
         <Account>{id}</Account></GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        escape(request_id)
    )
}

/// STS's error document.
fn error_xml(e: &Ec2Error, request_id: &str) -> String {
    let kind = if e.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{NAMESPACE}\"><Error>\
         <Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error>\
         <RequestId>{}</RequestId></ErrorResponse>",
        e.code,
        escape(&e.message),
        escape(request_id)
    )
}

/// The refusal of a request signed for `service`, which the listener does
/// not serve: JSON for the JSON protocols (their clients send
/// `X-Amz-Target` or a JSON body), else Query-style XML. 400, since
/// retrying cannot help.
pub fn other_service(service: &str, req: &Request) -> Response {
    let request_id = request_id(req);
    let message =
        format!("Mini AWS does not have the {service} API: this endpoint serves {SERVED}");
    tracing::info!(service, "request for a service Mini AWS does not have");
    let json = req.headers().contains_key("x-amz-target")
        || req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
    if json {
        let body = serde_json::json!({
            "__type": "UnknownOperationException",
            "message": message,
        });
        let mut response = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        headers.insert(
            "x-amzn-errortype",
            HeaderValue::from_static("UnknownOperationException"),
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        return response;
    }
    let e = Ec2Error::new(StatusCode::BAD_REQUEST, "InvalidAction", message);
    xml_response(e.status, error_xml(&e, &request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_names_the_user_as_the_account() {
        let xml = caller_identity("4f1c", "rid");
        assert!(xml.contains("<Arn>arn:aws:iam::4f1c:root</Arn>"), "{xml}");
        assert!(xml.contains("<Account>4f1c</Account>"), "{xml}");
        assert!(xml.contains("<RequestId>rid</RequestId>"), "{xml}");
    }

    #[test]
    fn errors_use_sts_shape() {
        let e = Ec2Error::new(StatusCode::FORBIDDEN, "MissingAuthenticationToken", "a < b");
        let xml = error_xml(&e, "rid");
        assert!(
            xml.contains("<Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>a &lt; b</Message></Error>"),
            "{xml}"
        );
    }

    #[tokio::test]
    async fn other_services_are_refused_in_their_shape() {
        let json = Request::builder()
            .header("x-amz-target", "DynamoDB_20120810.ListTables")
            .body(axum::body::Body::empty())
            .expect("request");
        let r = other_service("dynamodb", &json);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(r.into_body(), 4096)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("UnknownOperationException") && text.contains("dynamodb"),
            "{text}"
        );

        let query = Request::builder()
            .body(axum::body::Body::empty())
            .expect("request");
        let r = other_service("iam", &query);
        let body = axum::body::to_bytes(r.into_body(), 4096)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("<Code>InvalidAction</Code>") && text.contains("iam API"),
            "{text}"
        );
    }
}
