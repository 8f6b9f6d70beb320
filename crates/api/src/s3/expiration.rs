//! What S3 tells a client about a bucket's lifecycle in object answers:
//! `x-amz-expiration` on GetObject and HeadObject (their 304 too),
//! PutObject, CopyObject, CompleteMultipartUpload and PostObject, and on
//! the native API's object answers, `x-amz-abort-date` and `x-amz-abort-rule-id` on
//! CreateMultipartUpload and ListParts. The core decides when (see
//! [`miniaws_core::storage::LifecycleConfiguration::expiration`]); this is
//! the wire form.

use miniaws_core::storage::{ObjectExpiry, UploadAbort};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::dto::Timestamp;

use super::convert::timestamp;

/// What a URL-encoded rule ID keeps as is: RFC 3986's unreserved
/// characters. Everything else, the `"` that would end the quoted value
/// included, is percent-encoded.
const RULE_ID: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The header that carries [`expiration_header`], where s3s does not
/// write it (a 304, a form upload, the native API).
pub const X_AMZ_EXPIRATION: http::HeaderName = http::HeaderName::from_static("x-amz-expiration");

/// `x-amz-expiration`: `expiry-date="<HTTP date>", rule-id="<id>"`, the
/// rule ID URL-encoded, as S3 documents
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html#API_HeadObject_ResponseSyntax>).
pub fn expiration_header(expiry: Option<&ObjectExpiry>) -> Option<String> {
    let e = expiry?;
    let date = httpdate::fmt_http_date(std::time::SystemTime::from(e.at));
    let rule = utf8_percent_encode(&e.rule_id, RULE_ID);
    Some(format!(r#"expiry-date="{date}", rule-id="{rule}""#))
}

/// `x-amz-abort-date` (s3s writes it as an HTTP date).
pub fn abort_date(abort: Option<&UploadAbort>) -> Option<Timestamp> {
    abort.map(|a| timestamp(a.at))
}

/// `x-amz-abort-rule-id`: the rule ID as it is, but for control and
/// non-ASCII characters, which a header cannot carry and are
/// percent-encoded (S3 documents no encoding for this header).
pub fn abort_rule_id(abort: Option<&UploadAbort>) -> Option<String> {
    abort.map(|a| utf8_percent_encode(&a.rule_id, CONTROLS).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expiration_header_has_s3_form_with_the_rule_id_url_encoded() {
        let cases = [
            (
                "plain id",
                "expire-logs",
                r#"expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="expire-logs""#,
            ),
            (
                "spaces, quotes and non-ASCII are encoded",
                "a \"b\"/é",
                r#"expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="a%20%22b%22%2F%C3%A9""#,
            ),
        ];
        for (what, id, want) in cases {
            let e = ObjectExpiry {
                at: datetime!(2012-12-23 00:00 UTC),
                rule_id: id.to_owned(),
            };
            assert_eq!(expiration_header(Some(&e)).as_deref(), Some(want), "{what}");
        }
        assert_eq!(expiration_header(None), None, "no rule: no header");
    }

    #[test]
    fn abort_rule_id_keeps_printable_ascii() {
        let a = |id: &str| UploadAbort {
            at: datetime!(2030-01-02 00:00 UTC),
            rule_id: id.to_owned(),
        };
        assert_eq!(
            abort_rule_id(Some(&a("abort after 7 days"))).as_deref(),
            Some("abort after 7 days")
        );
        assert_eq!(
            abort_rule_id(Some(&a("tab\there é"))).as_deref(),
            Some("tab%09here %C3%A9")
        );
        assert_eq!(abort_rule_id(None), None);
    }
}
