//! EC2's errors: a code, a message and an HTTP status, answered as
//! `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>
//! <RequestID>…</RequestID></Response>`
//! (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>),
//! and the table from [`CoreError`] to them.

use http::StatusCode;
use miniaws_core::error::{ConflictKind, TagProblem};
use miniaws_core::{CoreError, Resource};

use super::xml::escape;

/// One EC2 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    /// The HTTP status.
    pub status: StatusCode,
    /// EC2's code, such as `InvalidInstanceID.NotFound`.
    pub code: &'static str,
    /// What was wrong and what to do.
    pub message: String,
}

impl Ec2Error {
    /// An error of `code` with `status`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `MissingParameter` naming `name`.
    pub fn missing(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    /// `InvalidParameterValue`.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidParameterValue", message)
    }

    /// `InvalidParameterCombination`.
    pub fn combination(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterCombination",
            message,
        )
    }

    /// `UnsupportedOperation`: EC2 has it, Mini AWS cannot honour it.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UnsupportedOperation", message)
    }

    /// `MalformedQueryString`: the form itself cannot be read.
    pub fn malformed_form(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MalformedQueryString",
            format!(
                "The form is malformed: {}; send Action=…&Version=… as \
                 application/x-www-form-urlencoded",
                message.into()
            ),
        )
    }

    /// `InvalidInstanceID.Malformed` for `id`.
    pub fn malformed_id(id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidInstanceID.Malformed",
            format!("Invalid id: \"{id}\" (expecting \"i-...\" and 17 lowercase hex digits)"),
        )
    }

    /// `InvalidInstanceID.NotFound` for `ids`.
    pub fn ids_not_found(ids: &[String]) -> Self {
        let quoted: Vec<String> = ids.iter().map(|i| format!("'{i}'")).collect();
        let (noun, verb) = if ids.len() == 1 {
            ("ID", "does")
        } else {
            ("IDs", "do")
        };
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidInstanceID.NotFound",
            format!("The instance {noun} {} {verb} not exist", quoted.join(", ")),
        )
    }

    /// `IncorrectInstanceState`.
    pub fn incorrect_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "IncorrectInstanceState", message)
    }

    /// The error XML, with `request_id`.
    pub fn to_xml(&self, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code>\
             <Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
            self.code,
            escape(&self.message),
            escape(request_id)
        )
    }
}

/// The EC2 answer to a domain error: the one table from [`CoreError`] to
/// EC2 codes (beside `error.rs`'s JSON one and `s3/error.rs`'s S3 one).
/// Internal details go to the log, never to the client.
pub fn from_core(err: CoreError) -> Ec2Error {
    use StatusCode as S;
    let msg = err.to_string();
    match err {
        CoreError::NotFound {
            resource: Resource::Instance,
            name,
        } => Ec2Error::ids_not_found(&[name]),
        CoreError::NotFound {
            resource: Resource::Image,
            ..
        } => Ec2Error::new(
            S::BAD_REQUEST,
            "InvalidAMIID.NotFound",
            format!("The image id does not exist: {msg}"),
        ),
        CoreError::Conflict {
            kind: ConflictKind::InvalidState,
            message,
        } => Ec2Error::incorrect_state(message),
        CoreError::Conflict {
            kind: ConflictKind::TokenReused,
            message,
        } => Ec2Error::new(S::BAD_REQUEST, "IdempotentParameterMismatch", message),
        CoreError::Unauthorized(m) => Ec2Error::new(S::UNAUTHORIZED, "AuthFailure", m),
        CoreError::Forbidden(m) => Ec2Error::new(S::FORBIDDEN, "UnauthorizedOperation", m),
        CoreError::Unavailable { .. } | CoreError::InsufficientStorage { .. } => {
            Ec2Error::new(S::SERVICE_UNAVAILABLE, "Unavailable", msg)
        }
        CoreError::Damaged(m) => Ec2Error::new(S::INTERNAL_SERVER_ERROR, "InternalError", m),
        e @ CoreError::Internal { .. } => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "EC2 request failed");
            Ec2Error::new(
                S::INTERNAL_SERVER_ERROR,
                "InternalError",
                "An internal error has occurred; the server log has the details",
            )
        }
        CoreError::InvalidRequest(m) => Ec2Error::new(S::BAD_REQUEST, "InvalidRequest", m),
        CoreError::InvalidTag {
            problem: TagProblem::TooMany,
            message,
        } => Ec2Error::new(S::BAD_REQUEST, "TagLimitExceeded", message),
        // Bad input, a taken name or host port, and the storage-only
        // variants (unreachable from compute): the message says which.
        CoreError::InvalidInput(_)
        | CoreError::NotFound { .. }
        | CoreError::VersionNotFound { .. }
        | CoreError::Conflict { .. }
        | CoreError::TooLarge(_)
        | CoreError::BadDigest(_)
        | CoreError::MetadataTooLarge(_)
        | CoreError::InvalidTag { .. }
        | CoreError::PreconditionFailed(_)
        | CoreError::InvalidPart { .. }
        | CoreError::DeleteMarker { .. }
        | CoreError::RangeNotSatisfiable { .. } => Ec2Error::invalid_value(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniaws_core::error::Dependency;

    #[test]
    fn every_core_error_has_an_ec2_answer() {
        let cases: Vec<(CoreError, u16, &str)> = vec![
            (CoreError::invalid("bad"), 400, "InvalidParameterValue"),
            (CoreError::InvalidRequest("x".into()), 400, "InvalidRequest"),
            (
                CoreError::InvalidTag {
                    problem: TagProblem::TooMany,
                    message: "x".into(),
                },
                400,
                "TagLimitExceeded",
            ),
            (CoreError::Unauthorized("x".into()), 401, "AuthFailure"),
            (
                CoreError::Forbidden("x".into()),
                403,
                "UnauthorizedOperation",
            ),
            (
                CoreError::not_found(Resource::Instance, "i-0123456789abcdef0"),
                400,
                "InvalidInstanceID.NotFound",
            ),
            (
                CoreError::not_found(Resource::Image, "nope:1"),
                400,
                "InvalidAMIID.NotFound",
            ),
            (
                CoreError::not_found(Resource::Bucket, "b"),
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::conflict(ConflictKind::InvalidState, "it is STOPPED"),
                400,
                "IncorrectInstanceState",
            ),
            (
                CoreError::conflict(ConflictKind::AlreadyExists, "name taken"),
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::conflict(ConflictKind::PortInUse, "port 80"),
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::TooLarge("x".into()),
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::BadDigest("x".into()),
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::MetadataTooLarge("x".into()),
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::PreconditionFailed("x".into()),
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::RangeNotSatisfiable { size_bytes: 1 },
                400,
                "InvalidParameterValue",
            ),
            (
                CoreError::unavailable(Dependency::Docker, "docker down"),
                503,
                "Unavailable",
            ),
            (
                CoreError::insufficient_storage(Dependency::Database, "full"),
                503,
                "Unavailable",
            ),
            (CoreError::Damaged("x".into()), 500, "InternalError"),
            (
                CoreError::internal_msg("secret detail"),
                500,
                "InternalError",
            ),
        ];
        for (err, status, code) in cases {
            let described = format!("{err:?}");
            let e = from_core(err);
            assert_eq!((e.status.as_u16(), e.code), (status, code), "{described}");
            assert!(!e.message.contains("secret detail"), "{described}");
        }
        let e = from_core(CoreError::not_found(Resource::Image, "nope:1"));
        assert!(e.message.contains("nope:1"), "{}", e.message);
    }

    #[test]
    fn error_xml_has_code_message_and_request_id() {
        let e = Ec2Error::ids_not_found(&["i-0123456789abcdef0".into(), "i-1<2".into()]);
        assert_eq!(
            e.to_xml("req-1"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
             <Code>InvalidInstanceID.NotFound</Code><Message>The instance IDs \
             &apos;i-0123456789abcdef0&apos;, &apos;i-1&lt;2&apos; do not exist</Message>\
             </Error></Errors><RequestID>req-1</RequestID></Response>"
        );
    }
}
