//! Who sent a browser-form upload, and whether its policy allows it: the
//! form's SigV4 or SigV2 signature over its base64 policy, the policy's
//! expiry, and its conditions over the form's fields.
//!
//! The policy document is parsed by s3s ([`PostPolicy`]), but checked here:
//! s3s's checks (`validate_conditions_only`) are crate-private and take its
//! own fully buffered `Multipart`, which is exactly what this module exists
//! to avoid. See
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>
//! and, for SigV2,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html>.

use base64::Engine;
use hmac::{Hmac, Mac};
use miniaws_core::CoreError;
use miniaws_core::identity::{Caller, IdentityService};
use s3s::post_policy::{PostPolicy, PostPolicyCondition};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};
use sha1::Sha1;
use sha2::Sha256;
use time::OffsetDateTime;

/// The text fields of a form that came before its `file` field, names
/// lowercased (S3 form field names are case-insensitive).
#[derive(Debug, Default, Clone)]
pub struct FormFields {
    fields: Vec<(String, String)>,
}

impl FormFields {
    /// Adds a field.
    ///
    /// # Errors
    /// `InvalidArgument` when the field was already given: the policy and
    /// the upload must see one value.
    pub fn push(&mut self, name: &str, value: String) -> S3Result<()> {
        let name = name.to_ascii_lowercase();
        if self.get(&name).is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "The form field {name:?} is given more than once."
            ));
        }
        self.fields.push((name, value));
        Ok(())
    }

    /// The value of field `name` (lowercase).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every field, in form order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Fields no policy condition needs to cover: the signature itself, the
/// file, the policy, `x-ignore-*`, and SigV2's key id and signature.
fn exempt_from_policy(name: &str) -> bool {
    matches!(
        name,
        "x-amz-signature" | "file" | "policy" | "awsaccesskeyid" | "signature"
    ) || name.starts_with("x-ignore-")
}

/// An "Invalid according to Policy" refusal (403 `AccessDenied`, as S3).
fn policy_denied(reason: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!("Invalid according to Policy: {reason}"),
    )
}

/// The form's signature, by version.
enum FormSignature<'a> {
    V4 {
        access_key_id: &'a str,
        date: &'a str,
        region: &'a str,
        service: &'a str,
        signature: &'a str,
    },
    V2 {
        access_key_id: &'a str,
        signature: &'a str,
    },
}

fn required<'a>(form: &'a FormFields, name: &str) -> S3Result<&'a str> {
    form.get(name).ok_or_else(|| {
        s3_error!(
            InvalidArgument,
            "Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
        )
    })
}

fn signature_of(form: &FormFields) -> S3Result<FormSignature<'_>> {
    if form.get("x-amz-signature").is_some() {
        let algorithm = required(form, "x-amz-algorithm")?;
        if algorithm != "AWS4-HMAC-SHA256" {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-algorithm must be AWS4-HMAC-SHA256, not {algorithm:?}"
            ));
        }
        let credential = required(form, "x-amz-credential")?;
        required(form, "x-amz-date")?;
        // <access key id>/<yyyymmdd>/<region>/<service>/aws4_request
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, "aws4_request"] = parts[..] else {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-credential must be <access key id>/<yyyymmdd>/<region>/s3/aws4_request"
            ));
        };
        return Ok(FormSignature::V4 {
            access_key_id,
            date,
            region,
            service,
            signature: required(form, "x-amz-signature")?,
        });
    }
    if let Some(signature) = form.get("signature") {
        return Ok(FormSignature::V2 {
            access_key_id: required(form, "awsaccesskeyid")?,
            signature,
        });
    }
    // A form that names a key (or a V4 credential) but carries no
    // signature is a malformed signed form, 400 as on S3, not an
    // anonymous one.
    if form.get("awsaccesskeyid").is_some() {
        required(form, "signature")?;
    }
    if form.get("x-amz-credential").is_some() {
        required(form, "x-amz-signature")?;
    }
    Err(s3_error!(
        AccessDenied,
        "Anonymous uploads are not allowed: sign the form's policy with an API key's access key id and secret (e.g. boto3's generate_presigned_post)"
    ))
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 (HMAC takes keys of any length, so the empty answer of a
/// refused key never happens; it would only fail the comparison).
fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// True when `provided` is the signature of `policy` (compared in constant time).
fn signature_matches(sig: &FormSignature<'_>, secret: &str, policy: &str) -> bool {
    match sig {
        FormSignature::V4 {
            date,
            region,
            service,
            signature,
            ..
        } => {
            let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
            let k_region = hmac_sha256(&k_date, region.as_bytes());
            let k_service = hmac_sha256(&k_region, service.as_bytes());
            let signing_key = hmac_sha256(&k_service, b"aws4_request");
            let Ok(provided) = hex::decode(signature) else {
                return false;
            };
            let Ok(mut mac) = HmacSha256::new_from_slice(&signing_key) else {
                return false;
            };
            mac.update(policy.as_bytes());
            mac.verify_slice(&provided).is_ok()
        }
        FormSignature::V2 { signature, .. } => {
            let Ok(provided) = base64::engine::general_purpose::STANDARD.decode(signature) else {
                return false;
            };
            let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.as_bytes()) else {
                return false;
            };
            mac.update(policy.as_bytes());
            mac.verify_slice(&provided).is_ok()
        }
    }
}

/// Authenticates a form from its fields alone (before a byte of its file
/// is read): the signature over the policy, with the secret the identity
/// service holds for the access key (its cache drops a revoked key at
/// once). Then parses the policy.
///
/// # Errors
/// `AccessDenied` without a signature (anonymous), `InvalidAccessKeyId`,
/// `SignatureDoesNotMatch`, `InvalidArgument` for missing fields,
/// `InvalidPolicyDocument` for a policy that does not parse.
pub async fn authenticate(
    identity: &IdentityService,
    form: &FormFields,
) -> S3Result<(Caller, PostPolicy)> {
    let sig = signature_of(form)?;
    let Some(policy_b64) = form.get("policy") else {
        return Err(s3_error!(
            AccessDenied,
            "A signed form upload needs a policy field; without one it is anonymous, which is not allowed"
        ));
    };
    let access_key_id = match &sig {
        FormSignature::V4 { access_key_id, .. } | FormSignature::V2 { access_key_id, .. } => {
            *access_key_id
        }
    };
    let (caller, secret) = match identity.authenticate_access_key(access_key_id).await {
        Ok(found) => found,
        // Unknown or revoked, or a secret that does not open: the identity
        // service's message says which.
        Err(CoreError::Unauthorized(message)) => {
            return Err(s3_error!(InvalidAccessKeyId, "{message}"));
        }
        Err(other) => return Err(super::error::s3_error(other)),
    };
    if !signature_matches(&sig, &secret, policy_b64) {
        return Err(s3_error!(
            SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        ));
    }
    let policy = PostPolicy::from_base64(policy_b64).map_err(|e| {
        s3_error!(
            InvalidPolicyDocument,
            "Invalid Policy: the policy is not base64 JSON with an expiration and conditions ({e})"
        )
    })?;
    check_expiration_format(policy_b64)?;
    Ok((caller, policy))
}

/// S3 reads a policy's `expiration` only in ISO 8601's UTC form
/// (`2030-01-02T00:00:00Z`, or with a fraction of a second:
/// `2030-01-02T00:00:00.000Z`); s3s's reader takes more (a space for the
/// `T`, a numeric offset), so the value as written is checked too: S3
/// answers the others 400 "Invalid 'expiration' value". Called on a
/// policy s3s has read, so the document is base64 JSON with a string
/// `expiration`.
fn check_expiration_format(policy_b64: &str) -> S3Result<()> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(policy_b64.trim())
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok());
    let Some(expiration) = raw
        .as_ref()
        .and_then(|doc| doc.get("expiration"))
        .and_then(|v| v.as_str())
    else {
        return Ok(());
    };
    let utc = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]Z"
    );
    if time::PrimitiveDateTime::parse(expiration, utc).is_err() {
        return Err(s3_error!(
            InvalidPolicyDocument,
            "Invalid Policy: Invalid 'expiration' value: '{expiration}' (ISO 8601 in UTC, such as 2030-01-02T00:00:00.000Z)"
        ));
    }
    Ok(())
}

/// The policy's content-length-range, if it has one.
pub type LengthRange = Option<(u64, u64)>;

/// Checks `policy` against the form: not expired, every `eq` and
/// `starts-with` condition holds (the `bucket` condition against the
/// bucket the form was posted to), and the bucket and every field but the
/// exempt ones are named by a condition. Returns the content-length-range,
/// checked while the file streams.
///
/// # Errors
/// `AccessDenied` "Invalid according to Policy: …".
pub fn check_policy(
    policy: &PostPolicy,
    form: &FormFields,
    bucket: &str,
    now: OffsetDateTime,
) -> S3Result<LengthRange> {
    let expiration: OffsetDateTime = policy.expiration.clone().into();
    if now >= expiration {
        return Err(policy_denied("Policy expired."));
    }
    if let Some(form_bucket) = form.get("bucket")
        && form_bucket != bucket
    {
        return Err(policy_denied(&format!(
            "the form's bucket field {form_bucket:?} is not the bucket it was posted to ({bucket:?})"
        )));
    }
    let value = |field: &str| -> String {
        if field == "bucket" {
            bucket.to_owned()
        } else {
            form.get(field).unwrap_or_default().to_owned()
        }
    };
    let mut range = None;
    for condition in &policy.conditions {
        match condition {
            PostPolicyCondition::Eq { field, value: want } => {
                if value(field) != *want {
                    return Err(policy_denied(&format!(
                        "Policy Condition failed: [\"eq\", \"${field}\", {want:?}]"
                    )));
                }
            }
            PostPolicyCondition::StartsWith { field, prefix } => {
                if !value(field).starts_with(prefix.as_str()) {
                    return Err(policy_denied(&format!(
                        "Policy Condition failed: [\"starts-with\", \"${field}\", {prefix:?}]"
                    )));
                }
            }
            PostPolicyCondition::ContentLengthRange { min, max } => {
                // Several ranges: the file must satisfy all of them.
                let (lo, hi) = range.unwrap_or((0, u64::MAX));
                range = Some((lo.max(*min), hi.min(*max)));
            }
        }
    }
    let covered = |name: &str| {
        policy.conditions.iter().any(|c| match c {
            PostPolicyCondition::Eq { field, .. }
            | PostPolicyCondition::StartsWith { field, .. } => field == name,
            PostPolicyCondition::ContentLengthRange { .. } => false,
        })
    };
    // S3 counts the bucket posted to as a field of every form, named in
    // the URL or not: a policy without a `bucket` condition is refused
    // ("Extra input fields: bucket"), so a signed form cannot be replayed
    // against another bucket of the signer's.
    if !covered("bucket") {
        return Err(policy_denied("Extra input fields: bucket"));
    }
    for (name, _) in form.iter() {
        if !exempt_from_policy(name) && !covered(name) {
            return Err(policy_denied(&format!("Extra input fields: {name}")));
        }
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> FormFields {
        let mut f = FormFields::default();
        for (n, v) in fields {
            f.push(n, (*v).to_owned()).expect("distinct fields");
        }
        f
    }

    /// Only ISO 8601's UTC form of the expiration passes, as on S3.
    #[test]
    fn the_expiration_is_read_as_s3_writes_it() {
        let b64 = |expiration: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!(
                r#"{{"expiration":"{expiration}","conditions":[["eq","$bucket","b"]]}}"#
            ))
        };
        for good in [
            "2030-01-02T00:00:00Z",
            "2030-01-02T00:00:00.000Z",
            "2030-01-02T00:00:00.123456Z",
        ] {
            assert!(check_expiration_format(&b64(good)).is_ok(), "{good}");
        }
        for bad in [
            "2030-01-02 00:00:00.123456+00:00",
            "2030-01-02T00:00:00+00:00",
            "2030-01-02",
            "tomorrow",
        ] {
            let err = check_expiration_format(&b64(bad)).expect_err(bad);
            assert_eq!(*err.code(), S3ErrorCode::InvalidPolicyDocument, "{bad}");
            assert!(err.message().unwrap_or_default().contains(bad), "{bad}");
        }
    }

    fn policy(json: &str) -> PostPolicy {
        PostPolicy::from_json(json).expect("a valid policy")
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2030-01-01 00:00 UTC);

    #[test]
    fn conditions_are_checked_and_every_field_must_be_covered() {
        let p = policy(
            r#"{"expiration":"2030-01-02T00:00:00Z","conditions":[
                {"bucket":"b"},["starts-with","$key","up/"],
                ["eq","$Content-Type","text/plain"],["content-length-range",1,10]]}"#,
        );
        let ok = form(&[
            ("key", "up/a"),
            ("Content-Type", "text/plain"),
            ("AWSAccessKeyId", "AK"),
            ("policy", "p"),
            ("signature", "s"),
            ("x-ignore-me", "1"),
        ]);
        assert_eq!(
            check_policy(&p, &ok, "b", NOW).expect("allowed"),
            Some((1, 10))
        );

        // (what, form fields, bucket posted to, part of the message)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (
                "other bucket",
                &[("key", "up/a"), ("content-type", "text/plain")],
                "c",
                "\"$bucket\"",
            ),
            (
                "key outside the prefix",
                &[("key", "down/a"), ("content-type", "text/plain")],
                "b",
                "starts-with",
            ),
            (
                "wrong content type",
                &[("key", "up/a"), ("content-type", "text/html")],
                "b",
                "$content-type",
            ),
            (
                "missing content type",
                &[("key", "up/a")],
                "b",
                "$content-type",
            ),
            (
                "uncovered field",
                &[
                    ("key", "up/a"),
                    ("content-type", "text/plain"),
                    ("x-amz-meta-a", "1"),
                ],
                "b",
                "Extra input fields: x-amz-meta-a",
            ),
            (
                "form bucket differs",
                &[
                    ("key", "up/a"),
                    ("content-type", "text/plain"),
                    ("bucket", "c"),
                ],
                "b",
                "not the bucket",
            ),
        ];
        for (what, fields, bucket, needle) in cases {
            let err = check_policy(&p, &form(fields), bucket, NOW).expect_err(what);
            assert_eq!(*err.code(), S3ErrorCode::AccessDenied, "{what}");
            let msg = err.message().unwrap_or_default();
            assert!(
                msg.starts_with("Invalid according to Policy"),
                "{what}: {msg}"
            );
            assert!(msg.contains(needle), "{what}: {msg}");
        }

        // A policy that names no bucket is refused, whatever the form.
        let no_bucket = policy(
            r#"{"expiration":"2030-01-02T00:00:00Z","conditions":[
                ["starts-with","$key","up/"],["eq","$Content-Type","text/plain"]]}"#,
        );
        let err = check_policy(&no_bucket, &ok, "b", NOW).expect_err("no bucket condition");
        assert_eq!(*err.code(), S3ErrorCode::AccessDenied);
        assert_eq!(
            err.message(),
            Some("Invalid according to Policy: Extra input fields: bucket")
        );

        let late = time::macros::datetime!(2030-01-02 00:00 UTC);
        let err = check_policy(&p, &ok, "b", late).expect_err("expired");
        assert_eq!(
            err.message(),
            Some("Invalid according to Policy: Policy expired.")
        );
    }

    #[test]
    fn signatures_v4_and_v2() {
        let policy_b64 = "eyJleHBpcmF0aW9uIjoiMjAzMC0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbXX0=";
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        // Independently: the signing key chain over the policy.
        let k = hmac_sha256(b"AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", b"20300101");
        let k = hmac_sha256(&k, b"us-east-1");
        let k = hmac_sha256(&k, b"s3");
        let k = hmac_sha256(&k, b"aws4_request");
        let good = hex::encode(hmac_sha256(&k, policy_b64.as_bytes()));
        let v4 = |signature: &str| {
            let form = form(&[
                ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
                ("x-amz-credential", "AK/20300101/us-east-1/s3/aws4_request"),
                ("x-amz-date", "20300101T000000Z"),
                ("x-amz-signature", signature),
            ]);
            let sig = signature_of(&form).expect("a V4 form");
            signature_matches(&sig, secret, policy_b64)
        };
        assert!(v4(&good));
        assert!(!v4(&good.replace('a', "b")));
        assert!(!v4("not hex"));

        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(policy_b64.as_bytes());
        let good = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let v2 = |signature: &str| {
            let form = form(&[("AWSAccessKeyId", "AK"), ("signature", signature)]);
            let sig = signature_of(&form).expect("a V2 form");
            signature_matches(&sig, secret, policy_b64)
        };
        assert!(v2(&good));
        assert!(!v2("AAAA"));

        let anonymous_form = form(&[("key", "k")]);
        let anonymous = signature_of(&anonymous_form);
        assert_eq!(
            *anonymous.err().expect("anonymous").code(),
            S3ErrorCode::AccessDenied
        );
        // A key id or credential without its signature: 400 naming the field.
        for (fields, missing) in [
            (
                &[("AWSAccessKeyId", "AK"), ("policy", "p")][..],
                "'signature'",
            ),
            (
                &[("x-amz-credential", "AK/20300101/us-east-1/s3/aws4_request")][..],
                "'x-amz-signature'",
            ),
        ] {
            let unsigned = form(fields);
            let err = signature_of(&unsigned).err().expect("no signature");
            assert_eq!(*err.code(), S3ErrorCode::InvalidArgument, "{missing}");
            assert!(
                err.message().unwrap_or_default().contains(missing),
                "{missing}: {err:?}"
            );
        }
        let bad_credential = form(&[
            ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
            ("x-amz-credential", "AK/20300101"),
            ("x-amz-date", "20300101T000000Z"),
            ("x-amz-signature", "00"),
        ]);
        assert!(signature_of(&bad_credential).is_err());
    }
}
