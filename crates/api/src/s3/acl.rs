//! ACLs, as S3 answers them on a bucket with Object Ownership
//! "BucketOwnerEnforced" (the setting of every S3 bucket created since April
//! 2023, and of every Mini AWS bucket): ACLs are disabled.
//!
//! - Reading an ACL (GetBucketAcl, GetObjectAcl) always answers the owner
//!   with `FULL_CONTROL`.
//! - A write may name no ACL, or one that leaves the owner alone with full
//!   control (`private`, `bucket-owner-full-control`, or the same as
//!   explicit grants); anything else is 400 `AccessControlListNotSupported`
//!   "The bucket does not allow ACLs" — on CreateBucket,
//!   `InvalidBucketAclWithObjectOwnership`.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html>.

use http::StatusCode;
use miniaws_core::identity::{Caller, UserId};
use miniaws_core::storage::{Access, S3Action, StorageService};
use s3s::dto::{AccessControlPolicy, Grant, Grantee, Owner, Permission, Type};
use s3s::{S3Error, S3ErrorCode, S3Result};

use super::bucket_error;
use super::convert::owner_of;

/// The Object Ownership setting of every bucket.
pub const BUCKET_OWNER_ENFORCED: &str = "BucketOwnerEnforced";

/// S3's refusal of an ACL on a bucket whose ACLs are disabled.
pub fn acl_not_supported() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("AccessControlListNotSupported".into()),
        "The bucket does not allow ACLs",
    );
    e.set_status_code(StatusCode::BAD_REQUEST);
    e
}

/// S3's refusal of a CreateBucket whose ACL is more than the owner's
/// full control.
pub fn bucket_acl_with_ownership() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidBucketAclWithObjectOwnership".into()),
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    );
    e.set_status_code(StatusCode::BAD_REQUEST);
    e
}

/// The ACL headers of a write: `x-amz-acl` and `x-amz-grant-*`.
#[derive(Debug, Default)]
pub struct AclHeaders<'a> {
    /// `x-amz-acl`.
    pub canned: Option<&'a str>,
    /// `x-amz-grant-full-control`.
    pub full_control: Option<&'a str>,
    /// `x-amz-grant-read`, `-write`, `-read-acp`, `-write-acp` (those the
    /// operation has).
    pub others: Vec<Option<&'a str>>,
}

/// The [`AclHeaders`] of an s3s input: its `acl`, `grant_full_control` and
/// the other `grant_*` fields named (object writes have no `grant_write`).
macro_rules! acl_headers {
    ($input:expr $(, $grant:ident)* $(,)?) => {
        $crate::s3::acl::AclHeaders {
            canned: $input.acl.as_ref().map(|a| a.as_str()),
            full_control: $input.grant_full_control.as_deref(),
            others: vec![$($input.$grant.as_deref()),*],
        }
    };
}
pub(crate) use acl_headers;

/// Canned ACLs that give nobody but the owner any access.
fn owner_only_canned(acl: &str) -> bool {
    matches!(acl, "private" | "bucket-owner-full-control")
}

/// Whether a grant header (`id="…", id="…"`) names the owner alone.
fn grants_owner_only(header: &str, owner_id: &str) -> bool {
    header.split(',').all(|grantee| {
        grantee.trim().split_once('=').is_some_and(|(kind, id)| {
            kind.trim().eq_ignore_ascii_case("id") && id.trim().trim_matches('"') == owner_id
        })
    })
}

impl AclHeaders<'_> {
    /// Whether these headers leave the owner `owner_id` alone with full
    /// control (no headers at all do).
    pub fn owner_only(&self, owner_id: &str) -> bool {
        self.canned.is_none_or(owner_only_canned)
            && self
                .full_control
                .is_none_or(|h| grants_owner_only(h, owner_id))
            && self.others.iter().all(Option::is_none)
    }

    /// Whether any ACL header is present.
    pub fn any(&self) -> bool {
        self.canned.is_some() || self.grants()
    }

    /// Whether any `x-amz-grant-*` header is present.
    fn grants(&self) -> bool {
        self.full_control.is_some() || self.others.iter().any(Option::is_some)
    }

    /// Refuses a canned ACL beside grant headers, as S3 does whatever the
    /// two say: a request names its ACL one way or the other.
    ///
    /// # Errors
    /// 400 `InvalidRequest` "Specifying both Canned ACLs and Header Grants
    /// is not allowed", S3's answer.
    pub fn check_one_form(&self) -> S3Result<()> {
        if self.canned.is_some() && self.grants() {
            return Err(s3s::s3_error!(
                InvalidRequest,
                "Specifying both Canned ACLs and Header Grants is not allowed"
            ));
        }
        Ok(())
    }
}

/// Checks the ACL headers of a write of `key` into `bucket`. A refused ACL
/// on a bucket that is missing, someone else's or whose policy denies the
/// write is answered as that (`NoSuchBucket`, `AccessDenied`), as S3 does.
///
/// # Errors
/// `InvalidRequest` for a canned ACL beside grant headers (see
/// [`AclHeaders::check_one_form`]), `AccessControlListNotSupported`, or the
/// bucket's error.
pub async fn check_write_acl(
    storage: &StorageService,
    caller: Caller,
    bucket: &str,
    key: &str,
    headers: &AclHeaders<'_>,
) -> S3Result<()> {
    headers.check_one_form()?;
    if headers.owner_only(&caller.user_id.to_string()) {
        return Ok(());
    }
    storage
        .bucket(caller, bucket, Access::object(S3Action::PutObject, key))
        .await
        .map_err(bucket_error)?;
    Err(acl_not_supported())
}

/// Whether an ACL document (PutBucketAcl/PutObjectAcl body) grants the
/// owner full control and nothing else.
pub fn policy_owner_only(policy: &AccessControlPolicy, owner_id: &str) -> bool {
    let owner_ok = policy
        .owner
        .as_ref()
        .is_none_or(|o| o.id.as_deref().is_none_or(|id| id == owner_id));
    let grants = policy.grants.as_deref().unwrap_or_default();
    owner_ok
        && !grants.is_empty()
        && grants.iter().all(|g| {
            g.permission
                .as_ref()
                .is_some_and(|p| p.as_str() == Permission::FULL_CONTROL)
                && g.grantee.as_ref().is_some_and(|e| {
                    e.type_.as_str() == Type::CANONICAL_USER && e.id.as_deref() == Some(owner_id)
                })
        })
}

/// Checks a PutBucketAcl or PutObjectAcl request: its ACL headers or its
/// ACL document (one of the two, as S3 requires) must leave the owner alone
/// with full control.
///
/// # Errors
/// `MissingSecurityHeader` with neither, `UnexpectedContent` with both,
/// `InvalidRequest` for a canned ACL beside grant headers,
/// `AccessControlListNotSupported` for any other ACL.
pub fn check_acl_request(
    headers: &AclHeaders<'_>,
    policy: Option<&AccessControlPolicy>,
    owner_id: &str,
) -> S3Result<()> {
    headers.check_one_form()?;
    let ok = match (headers.any(), policy) {
        (false, None) => {
            return Err(s3s::s3_error!(
                MissingSecurityHeader,
                "Your request was missing a required header: x-amz-acl, an x-amz-grant-* header, or an AccessControlPolicy body"
            ));
        }
        (true, Some(_)) => {
            return Err(s3s::s3_error!(
                UnexpectedContent,
                "This request does not support content: send either ACL headers or an AccessControlPolicy body"
            ));
        }
        (true, None) => headers.owner_only(owner_id),
        (false, Some(policy)) => policy_owner_only(policy, owner_id),
    };
    if ok { Ok(()) } else { Err(acl_not_supported()) }
}

/// The only ACL a bucket or object has: its owner's full control.
pub fn owner_full_control(owner_id: UserId) -> (Owner, Vec<Grant>) {
    let owner = owner_of(owner_id);
    let grant = Grant {
        grantee: Some(Grantee {
            display_name: owner.display_name.clone(),
            email_address: None,
            id: owner.id.clone(),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    };
    (owner, vec![grant])
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "6f1c1c4e-0000-4000-8000-000000000001";

    #[test]
    fn only_the_owners_full_control_passes() {
        let none = AclHeaders::default();
        assert!(none.owner_only(OWNER) && !none.any());
        for (canned, ok) in [
            ("private", true),
            ("bucket-owner-full-control", true),
            ("public-read", false),
            ("public-read-write", false),
            ("authenticated-read", false),
            ("bucket-owner-read", false),
            ("PRIVATE", false),
        ] {
            let h = AclHeaders {
                canned: Some(canned),
                ..Default::default()
            };
            assert_eq!(h.owner_only(OWNER), ok, "{canned}");
        }
        let own = format!("id=\"{OWNER}\"");
        let h = AclHeaders {
            full_control: Some(&own),
            ..Default::default()
        };
        assert!(h.owner_only(OWNER));
        let other = format!("id=\"{OWNER}\", id=\"someone-else\"");
        let h = AclHeaders {
            full_control: Some(&other),
            ..Default::default()
        };
        assert!(!h.owner_only(OWNER));
        let h = AclHeaders {
            others: vec![
                Some("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""),
                None,
            ],
            ..Default::default()
        };
        assert!(!h.owner_only(OWNER) && h.any());
    }

    #[test]
    fn an_acl_document_may_only_repeat_the_owners_full_control() {
        let caller = Caller {
            user_id: OWNER.parse().expect("a user id"),
            key_id: miniaws_core::identity::ApiKeyId::new(),
        };
        let (owner, grants) = owner_full_control(caller.user_id);
        let mut policy = AccessControlPolicy {
            owner: Some(owner),
            grants: Some(grants),
        };
        assert!(policy_owner_only(&policy, OWNER));
        assert!(!policy_owner_only(&policy, "someone-else"));
        if let Some(g) = policy.grants.as_mut() {
            g.push(Grant {
                grantee: Some(Grantee {
                    display_name: None,
                    email_address: None,
                    id: None,
                    type_: Type::from_static(Type::GROUP),
                    uri: Some("http://acs.amazonaws.com/groups/global/AllUsers".into()),
                }),
                permission: Some(Permission::from_static(Permission::READ)),
            });
        }
        assert!(!policy_owner_only(&policy, OWNER));
        policy.grants = Some(Vec::new());
        assert!(!policy_owner_only(&policy, OWNER), "no grant at all");
    }
}
