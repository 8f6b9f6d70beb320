//! S3's own wording for error codes that arrive without a message.
//!
//! s3s answers many refusals it raises itself (a signature that does not
//! match, a malformed document, an invalid bucket name…) with a `<Code>` and
//! no `<Message>`; S3 always sends one, and a client that prints it (the aws
//! CLI: "An error occurred (SignatureDoesNotMatch) when calling …: <Message>")
//! would print nothing. The messages are S3's, from its error-code reference.

/// S3's message for `code`, or a generic sentence naming it.
pub fn default_message(code: &str) -> String {
    known(code).map_or_else(
        || format!("The request was refused with the S3 error {code}."),
        str::to_owned,
    )
}

fn known(code: &str) -> Option<&'static str> {
    Some(match code {
        "AccessDenied" => "Access Denied",
        "AuthorizationHeaderMalformed" => {
            "The authorization header that you provided is not valid."
        }
        "AuthorizationQueryParametersError" => {
            "The query parameters of the presigned URL are not valid (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature)."
        }
        "BadDigest" => {
            "The Content-MD5 or checksum value that you specified did not match what the server received."
        }
        "EntityTooLarge" => "Your proposed upload exceeds the maximum allowed object size.",
        "EntityTooSmall" => "Your proposed upload is smaller than the minimum allowed object size.",
        "ExpiredToken" | "ExpiredPresignedRequest" => {
            "The provided token or presigned URL has expired."
        }
        "IncompleteBody" => {
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        }
        "InternalError" => "We encountered an internal error. Please try again.",
        "InvalidAccessKeyId" => {
            "The AWS access key ID that you provided does not exist in our records."
        }
        "InvalidArgument" => "Invalid Argument",
        "InvalidBucketName" => "The specified bucket is not valid.",
        "InvalidDigest" => "The Content-MD5 or checksum value that you specified is not valid.",
        "InvalidPart" => {
            "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified ETag might not have matched the uploaded part's ETag."
        }
        "InvalidPartOrder" => {
            "The list of parts was not in ascending order. The parts list must be specified in order by part number."
        }
        "InvalidRange" => "The requested range is not satisfiable.",
        "InvalidRequest" => "The request is not valid.",
        "InvalidStorageClass" => "The storage class that you specified is not valid.",
        // What S3 sends on the wire (its error-code table words it "The
        // specified URI couldn't be parsed."), as the website endpoint
        // says it too.
        "InvalidURI" => "Couldn't parse the specified URI.",
        "KeyTooLongError" => "Your key is too long.",
        "MalformedACLError" => {
            "The ACL that you provided was not well formed or did not validate against our published schema."
        }
        "MalformedPOSTRequest" => {
            "The body of your POST request is not well-formed multipart/form-data."
        }
        "MalformedXML" => {
            "The XML that you provided was not well formed or did not validate against our published schema."
        }
        "MaxMessageLengthExceeded" => "Your request was too large.",
        "MetadataTooLarge" => "Your metadata headers exceed the maximum allowed metadata size.",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "MissingRequestBodyError" => "Request body is empty.",
        "MissingSecurityHeader" => "Your request is missing a required header.",
        "NoSuchBucket" => "The specified bucket does not exist.",
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchUpload" => {
            "The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed."
        }
        "NoSuchVersion" => "The specified version does not exist.",
        "NotImplemented" => {
            "A header or query you provided implies functionality that is not implemented."
        }
        "PreconditionFailed" => {
            "At least one of the preconditions that you specified did not hold."
        }
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the server's time is too large."
        }
        "SignatureDoesNotMatch" => {
            "The request signature that the server calculated does not match the signature that you provided. Check your AWS secret access key and signing method."
        }
        "XAmzContentSHA256Mismatch" => {
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_get_s3_wording_and_others_a_sentence_naming_them() {
        assert!(default_message("SignatureDoesNotMatch").starts_with("The request signature"));
        assert_eq!(
            default_message("SomethingNew"),
            "The request was refused with the S3 error SomethingNew."
        );
    }
}
