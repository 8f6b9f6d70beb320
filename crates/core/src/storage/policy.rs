//! A bucket's policy and its Block Public Access settings, parsed, validated
//! and evaluated: its `Allow`s for those they name but the owner — everyone
//! (anonymous callers and signed callers of other accounts alike), or
//! particular users' signed requests —, its explicit `Deny`s for those they
//! name, the owner included (but for managing the policy itself: see
//! [`BucketPolicy::denies_owner`]).
//!
//! The policy language is AWS IAM's
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html>).
//! Mini AWS supports the subset it can enforce exactly, and refuses the rest
//! with `MalformedPolicy` naming the element, so that a stored policy never
//! means less than it says:
//! - `Version` (`2012-10-17` or `2008-10-17`), `Id`, `Statement` (one object
//!   or a non-empty list);
//! - per statement `Sid`, `Effect` (`Allow` | `Deny`), `Principal` (`"*"`,
//!   `{"AWS": "*"}` or `{"AWS": ["*"]}` for everyone, or users: see
//!   [`Principals`]), `Action` (`s3:` names with `*`/`?`
//!   wildcards, or `*`), `Resource` (`arn:aws:s3:::<this bucket>` or
//!   `arn:aws:s3:::<this bucket>/<key pattern>` with `*`/`?` wildcards);
//! - `NotPrincipal`, `NotAction`, `NotResource`, `Condition` and any other
//!   principal are refused as not supported.
//!
//! Evaluation follows IAM: an explicit `Deny` wins, then an `Allow` grants,
//! otherwise the request is denied.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::identity::UserId;

/// The largest policy document S3 accepts (20 KB).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// Why a policy was refused: S3's `MalformedPolicy` (400) with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedPolicy(pub String);

fn malformed(message: impl Into<String>) -> MalformedPolicy {
    MalformedPolicy(message.into())
}

/// A statement's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyEffect {
    /// Grants the statement's actions.
    Allow,
    /// Refuses the statement's actions, whatever any `Allow` says.
    Deny,
}

/// Whom a statement names.
///
/// Everyone is `"*"`, `{"AWS": "*"}` or a list holding `"*"`. A user — an
/// account of Mini AWS, whose id is the canonical id S3 answers as an
/// `Owner` `ID` (ListBuckets, ACLs) — is named as S3 names an account
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-bucket-user-policy-specifying-principal-intro.html>):
/// `{"AWS": "arn:aws:iam::<id>:root"}`, `{"AWS": "<id>"}` or
/// `{"CanonicalUser": "<id>"}`, one or a list. An `Allow` naming users
/// grants their signed requests alone (S3's cross-account grant); a `Deny`
/// naming them refuses those alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// Every caller: anonymous, any account, the owner.
    Everyone,
    /// These users' signed requests (never an anonymous one).
    Users(Vec<UserId>),
}

impl Principals {
    /// Whether a request by `who` (`None`: anonymous) is named.
    fn names(&self, who: Option<UserId>) -> bool {
        match self {
            Self::Everyone => true,
            Self::Users(users) => who.is_some_and(|u| users.contains(&u)),
        }
    }
}

/// One validated statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStatement {
    /// The statement's optional name.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: PolicyEffect,
    /// Whom it names.
    pub principals: Principals,
    /// Action patterns, lower-cased (`s3:getobject`, `s3:get*`, `*`).
    pub actions: Vec<String>,
    /// Resource patterns after `arn:aws:s3:::` (`bucket`, `bucket/pub/*`).
    pub resources: Vec<String>,
}

/// A bucket policy: the document as the owner sent it (GetBucketPolicy
/// answers it unchanged) and its validated statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPolicy {
    document: String,
    statements: Vec<PolicyStatement>,
}

/// The S3 reads a bucket policy may open to someone other than the owner
/// (anonymous, or signed by another account), each with the IAM actions it
/// needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicAction {
    /// GetObject and HeadObject: `s3:GetObject` on `arn:aws:s3:::bucket/key`.
    GetObject,
    /// ListObjects, ListObjectsV2 and HeadBucket: `s3:ListBucket` on
    /// `arn:aws:s3:::bucket`.
    ListBucket,
    /// GetObjectAttributes: `s3:GetObject` *and* `s3:GetObjectAttributes`
    /// on `arn:aws:s3:::bucket/key`, as S3 requires of an unversioned
    /// bucket (every Mini AWS bucket): "If the bucket is not versioned, you
    /// need the s3:GetObject and s3:GetObjectAttributes permissions"
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html>).
    GetObjectAttributes,
    /// GetObjectAcl: `s3:GetObjectAcl` on `arn:aws:s3:::bucket/key`
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html>).
    GetObjectAcl,
    /// GetObjectTagging: `s3:GetObjectTagging` on `arn:aws:s3:::bucket/key`
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html>).
    GetObjectTagging,
    /// ListObjectVersions: `s3:ListBucketVersions` on `arn:aws:s3:::bucket`
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html>).
    ListBucketVersions,
    /// GetBucketAcl: `s3:GetBucketAcl` on `arn:aws:s3:::bucket`
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html>).
    GetBucketAcl,
    /// GetObject and HeadObject naming a `versionId`: `s3:GetObjectVersion`
    /// on `arn:aws:s3:::bucket/key`
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>).
    GetObjectVersion,
    /// GetObjectTagging naming a `versionId`: `s3:GetObjectVersionTagging`
    /// on `arn:aws:s3:::bucket/key`
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html>).
    GetObjectVersionTagging,
    /// GetObjectAcl naming a `versionId`: `s3:GetObjectVersionAcl` on
    /// `arn:aws:s3:::bucket/key`
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html>).
    GetObjectVersionAcl,
}

impl PublicAction {
    /// The operation's [`S3Action`].
    pub fn action(self) -> S3Action {
        match self {
            Self::GetObject => S3Action::GetObject,
            Self::ListBucket => S3Action::ListBucket,
            Self::GetObjectAttributes => S3Action::GetObjectAttributes,
            Self::GetObjectAcl => S3Action::GetObjectAcl,
            Self::GetObjectTagging => S3Action::GetObjectTagging,
            Self::ListBucketVersions => S3Action::ListBucketVersions,
            Self::GetBucketAcl => S3Action::GetBucketAcl,
            Self::GetObjectVersion => S3Action::GetObjectVersion,
            Self::GetObjectVersionTagging => S3Action::GetObjectVersionTagging,
            Self::GetObjectVersionAcl => S3Action::GetObjectVersionAcl,
        }
    }

    /// The action of the same read naming a version id, when a policy can
    /// grant it: GetObject/HeadObject's `s3:GetObjectVersion`,
    /// GetObjectTagging's `s3:GetObjectVersionTagging`, GetObjectAcl's
    /// `s3:GetObjectVersionAcl`; `None` for the
    /// other reads (by version id they are the owner's alone).
    pub fn of_version(self) -> Option<Self> {
        match self {
            Self::GetObject | Self::GetObjectVersion => Some(Self::GetObjectVersion),
            Self::GetObjectTagging | Self::GetObjectVersionTagging => {
                Some(Self::GetObjectVersionTagging)
            }
            Self::GetObjectAcl | Self::GetObjectVersionAcl => Some(Self::GetObjectVersionAcl),
            _ => None,
        }
    }

    /// Whether it acts on a key (`arn:aws:s3:::bucket/key`) rather than on
    /// the bucket itself.
    pub fn on_object(self) -> bool {
        !matches!(
            self,
            Self::ListBucket | Self::ListBucketVersions | Self::GetBucketAcl
        )
    }
}

/// What an S3 operation needs from a bucket policy, named for the IAM
/// action(s) S3 checks for it
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html>):
/// an explicit `Deny` matching any of them refuses the operation, to the
/// bucket's owner too (see [`BucketPolicy::denies_owner`]). Deleting a
/// configuration needs its `Put` action, as on S3 (DeleteBucketCors needs
/// `s3:PutBucketCORS`, and so on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is the IAM action of the same name
pub enum S3Action {
    // On the bucket (`arn:aws:s3:::bucket`).
    ListBucket,
    ListBucketVersions,
    ListBucketMultipartUploads,
    DeleteBucket,
    GetBucketLocation,
    GetBucketVersioning,
    PutBucketVersioning,
    GetBucketRequestPayment,
    PutBucketRequestPayment,
    GetBucketWebsite,
    PutBucketWebsite,
    DeleteBucketWebsite,
    GetBucketLogging,
    PutBucketLogging,
    GetBucketNotification,
    PutBucketNotification,
    GetReplicationConfiguration,
    GetAccelerateConfiguration,
    GetBucketPolicy,
    PutBucketPolicy,
    DeleteBucketPolicy,
    GetBucketPolicyStatus,
    GetBucketPublicAccessBlock,
    PutBucketPublicAccessBlock,
    GetBucketCors,
    PutBucketCors,
    GetBucketTagging,
    PutBucketTagging,
    GetLifecycleConfiguration,
    PutLifecycleConfiguration,
    GetEncryptionConfiguration,
    PutEncryptionConfiguration,
    GetBucketObjectLockConfiguration,
    PutBucketObjectLockConfiguration,
    GetBucketAcl,
    PutBucketAcl,
    GetBucketOwnershipControls,
    PutBucketOwnershipControls,
    // On a key (`arn:aws:s3:::bucket/key`).
    GetObject,
    /// `s3:GetObject` and `s3:GetObjectAttributes` (see
    /// [`PublicAction::GetObjectAttributes`]).
    GetObjectAttributes,
    GetObjectAcl,
    PutObjectAcl,
    /// A GetObjectAcl that names a version id.
    GetObjectVersionAcl,
    /// A PutObjectAcl that names a version id.
    PutObjectVersionAcl,
    /// Also every step of a multipart upload but abort and list parts.
    PutObject,
    /// A write that sets the new object's tags from the request (PutObject
    /// or CreateMultipartUpload with `x-amz-tagging`, CopyObject with the
    /// tagging directive `REPLACE` and tags, a form upload with a tagging
    /// field): `s3:PutObject` *and* `s3:PutObjectTagging`, as on S3 (see
    /// [`S3Action::object_write`]).
    PutObjectWithTags,
    DeleteObject,
    /// A read (GetObject, HeadObject …) that names a version id.
    GetObjectVersion,
    /// A DeleteObject that names a version id (removes it for good).
    DeleteObjectVersion,
    /// A GetObjectTagging that names a version id.
    GetObjectVersionTagging,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    /// A PutObjectTagging that names a version id.
    PutObjectVersionTagging,
    /// A DeleteObjectTagging that names a version id.
    DeleteObjectVersionTagging,
    AbortMultipartUpload,
    ListMultipartUploadParts,
    GetObjectRetention,
    PutObjectRetention,
    GetObjectLegalHold,
    PutObjectLegalHold,
    /// Shortening or removing a GOVERNANCE retention, or removing a
    /// version it protects (with `x-amz-bypass-governance-retention`).
    BypassGovernanceRetention,
    RestoreObject,
}

impl S3Action {
    /// The IAM actions the operation needs, all of them, as IAM spells
    /// them.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Self::ListBucket => &["s3:ListBucket"],
            Self::ListBucketVersions => &["s3:ListBucketVersions"],
            Self::ListBucketMultipartUploads => &["s3:ListBucketMultipartUploads"],
            Self::DeleteBucket => &["s3:DeleteBucket"],
            Self::GetBucketLocation => &["s3:GetBucketLocation"],
            Self::GetBucketVersioning => &["s3:GetBucketVersioning"],
            Self::PutBucketVersioning => &["s3:PutBucketVersioning"],
            Self::GetBucketRequestPayment => &["s3:GetBucketRequestPayment"],
            Self::PutBucketRequestPayment => &["s3:PutBucketRequestPayment"],
            Self::GetBucketWebsite => &["s3:GetBucketWebsite"],
            Self::PutBucketWebsite => &["s3:PutBucketWebsite"],
            Self::DeleteBucketWebsite => &["s3:DeleteBucketWebsite"],
            Self::GetBucketLogging => &["s3:GetBucketLogging"],
            Self::PutBucketLogging => &["s3:PutBucketLogging"],
            Self::GetBucketNotification => &["s3:GetBucketNotification"],
            Self::PutBucketNotification => &["s3:PutBucketNotification"],
            Self::GetReplicationConfiguration => &["s3:GetReplicationConfiguration"],
            Self::GetAccelerateConfiguration => &["s3:GetAccelerateConfiguration"],
            Self::GetBucketPolicy => &["s3:GetBucketPolicy"],
            Self::PutBucketPolicy => &["s3:PutBucketPolicy"],
            Self::DeleteBucketPolicy => &["s3:DeleteBucketPolicy"],
            Self::GetBucketPolicyStatus => &["s3:GetBucketPolicyStatus"],
            Self::GetBucketPublicAccessBlock => &["s3:GetBucketPublicAccessBlock"],
            Self::PutBucketPublicAccessBlock => &["s3:PutBucketPublicAccessBlock"],
            Self::GetBucketCors => &["s3:GetBucketCORS"],
            Self::PutBucketCors => &["s3:PutBucketCORS"],
            Self::GetBucketTagging => &["s3:GetBucketTagging"],
            Self::PutBucketTagging => &["s3:PutBucketTagging"],
            Self::GetLifecycleConfiguration => &["s3:GetLifecycleConfiguration"],
            Self::PutLifecycleConfiguration => &["s3:PutLifecycleConfiguration"],
            Self::GetEncryptionConfiguration => &["s3:GetEncryptionConfiguration"],
            Self::PutEncryptionConfiguration => &["s3:PutEncryptionConfiguration"],
            Self::GetBucketObjectLockConfiguration => &["s3:GetBucketObjectLockConfiguration"],
            Self::PutBucketObjectLockConfiguration => &["s3:PutBucketObjectLockConfiguration"],
            Self::GetBucketAcl => &["s3:GetBucketAcl"],
            Self::PutBucketAcl => &["s3:PutBucketAcl"],
            Self::GetBucketOwnershipControls => &["s3:GetBucketOwnershipControls"],
            Self::PutBucketOwnershipControls => &["s3:PutBucketOwnershipControls"],
            Self::GetObject => &["s3:GetObject"],
            Self::GetObjectAttributes => &["s3:GetObject", "s3:GetObjectAttributes"],
            Self::GetObjectAcl => &["s3:GetObjectAcl"],
            Self::PutObjectAcl => &["s3:PutObjectAcl"],
            Self::GetObjectVersionAcl => &["s3:GetObjectVersionAcl"],
            Self::PutObjectVersionAcl => &["s3:PutObjectVersionAcl"],
            Self::PutObject => &["s3:PutObject"],
            Self::PutObjectWithTags => &["s3:PutObject", "s3:PutObjectTagging"],
            Self::DeleteObject => &["s3:DeleteObject"],
            Self::GetObjectVersion => &["s3:GetObjectVersion"],
            Self::DeleteObjectVersion => &["s3:DeleteObjectVersion"],
            Self::GetObjectVersionTagging => &["s3:GetObjectVersionTagging"],
            Self::GetObjectTagging => &["s3:GetObjectTagging"],
            Self::PutObjectTagging => &["s3:PutObjectTagging"],
            Self::DeleteObjectTagging => &["s3:DeleteObjectTagging"],
            Self::PutObjectVersionTagging => &["s3:PutObjectVersionTagging"],
            Self::DeleteObjectVersionTagging => &["s3:DeleteObjectVersionTagging"],
            Self::AbortMultipartUpload => &["s3:AbortMultipartUpload"],
            Self::ListMultipartUploadParts => &["s3:ListMultipartUploadParts"],
            Self::GetObjectRetention => &["s3:GetObjectRetention"],
            Self::PutObjectRetention => &["s3:PutObjectRetention"],
            Self::GetObjectLegalHold => &["s3:GetObjectLegalHold"],
            Self::PutObjectLegalHold => &["s3:PutObjectLegalHold"],
            Self::BypassGovernanceRetention => &["s3:BypassGovernanceRetention"],
            Self::RestoreObject => &["s3:RestoreObject"],
        }
    }

    /// The action of a write of an object (PutObject, CopyObject,
    /// CreateMultipartUpload, a form upload): [`Self::PutObjectWithTags`]
    /// when the request itself gives the object tags, which S3 authorizes
    /// as `s3:PutObjectTagging` besides `s3:PutObject` (its tagging
    /// condition keys apply to "PutObjectTagging and PutObject, and POST
    /// object requests" alike:
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html>),
    /// else [`Self::PutObject`]. A copy that keeps its source's tags
    /// (directive `COPY`) gives none of its own.
    pub fn object_write(sets_tags: bool) -> Self {
        if sets_tags {
            Self::PutObjectWithTags
        } else {
            Self::PutObject
        }
    }

    /// Whether the action manages the bucket policy itself, which the
    /// owner may always do, whatever the policy denies: S3's escape from a
    /// policy that locks its owner out ("the root principal in a bucket
    /// owner's AWS account can perform the GetBucketPolicy,
    /// PutBucketPolicy, and DeleteBucketPolicy API actions, even if their
    /// bucket policy explicitly denies the root principal's access",
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketPolicy.html>).
    fn manages_policy(self) -> bool {
        matches!(
            self,
            Self::GetBucketPolicy | Self::PutBucketPolicy | Self::DeleteBucketPolicy
        )
    }
}

/// One operation on a bucket, or on one key of it: what a bucket policy is
/// matched against for the owner's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    action: S3Action,
    key: Option<&'a str>,
}

impl<'a> Access<'a> {
    /// `action` on the bucket itself (`arn:aws:s3:::bucket`).
    pub fn bucket(action: S3Action) -> Self {
        Self { action, key: None }
    }

    /// `action` on `key` (`arn:aws:s3:::bucket/key`).
    pub fn object(action: S3Action, key: &'a str) -> Self {
        Self {
            action,
            key: Some(key),
        }
    }

    /// The operation.
    pub fn action(&self) -> S3Action {
        self.action
    }

    /// The resource after `arn:aws:s3:::`.
    pub(crate) fn resource(&self, bucket: &str) -> String {
        match self.key {
            Some(key) => format!("{bucket}/{key}"),
            None => bucket.to_owned(),
        }
    }
}

const RESOURCE_PREFIX: &str = "arn:aws:s3:::";

impl BucketPolicy {
    /// Parses and validates `document` as the policy of `bucket`.
    ///
    /// # Errors
    /// [`MalformedPolicy`] with a message naming the offending element: not
    /// JSON, too large, a missing or unknown element, an unsupported element
    /// (`Condition`, `NotPrincipal`, `NotAction`, `NotResource`, a principal
    /// other than `*` or a user), an invalid action, or a resource outside `bucket`
    /// ("Policy has invalid resource", as S3 answers).
    pub fn parse(bucket: &str, document: &str) -> Result<Self, MalformedPolicy> {
        if document.len() > MAX_POLICY_BYTES {
            return Err(malformed(format!(
                "Policies must not exceed {MAX_POLICY_BYTES} bytes"
            )));
        }
        let Strict(value) = serde_json::from_str(document).map_err(|e| {
            if e.to_string().contains(DUPLICATE) {
                malformed(format!("Policy has a {e}"))
            } else {
                malformed("Policies must be valid JSON and the first byte must be '{'")
            }
        })?;
        let Value::Object(top) = value else {
            return Err(malformed(
                "Policies must be valid JSON and the first byte must be '{'",
            ));
        };
        let mut statements_value = None;
        for (key, value) in &top {
            match key.as_str() {
                "Version" => match value.as_str() {
                    Some("2012-10-17" | "2008-10-17") => {}
                    _ => return Err(malformed("The policy must contain a valid version string")),
                },
                "Id" => {
                    if !value.is_string() {
                        return Err(malformed("Policy Id must be a string"));
                    }
                }
                "Statement" => statements_value = Some(value),
                other => {
                    return Err(malformed(format!(
                        "Unknown field {other}: Mini AWS supports Version, Id and Statement"
                    )));
                }
            }
        }
        let raw = match statements_value {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => return Err(malformed("Missing required field Statement")),
        };
        let statements = raw
            .into_iter()
            .map(|s| match s {
                Value::Object(map) => parse_statement(bucket, map),
                _ => Err(malformed("Each Statement must be a JSON object")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            document: document.to_owned(),
            statements,
        })
    }

    /// Rebuilds a policy stored earlier (it was validated when it was put).
    ///
    /// # Errors
    /// [`MalformedPolicy`] if the stored document no longer validates.
    pub fn from_stored(bucket: &str, document: &str) -> Result<Self, MalformedPolicy> {
        Self::parse(bucket, document)
    }

    /// The document as the owner sent it.
    pub fn document(&self) -> &str {
        &self.document
    }

    /// The validated statements, in order.
    pub fn statements(&self) -> &[PolicyStatement] {
        &self.statements
    }

    /// Whether the policy is S3's "public" policy — the one
    /// `BlockPublicPolicy` refuses, `RestrictPublicBuckets` neutralises and
    /// GetBucketPolicyStatus reports as `IsPublic`. S3 assumes a policy is
    /// public unless it grants access only to fixed values (values without
    /// a wildcard), such as a fixed AWS principal, account or canonical
    /// user ("The meaning of "public"",
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status>).
    /// Of what Mini AWS accepts — no `Condition`, principals that are `*`
    /// or user ids — that makes an `Allow` naming everyone (`"*"`, alone or
    /// in a list) public and one naming only users not; a `Deny` grants
    /// nothing, so it never makes a policy public.
    pub fn is_public(&self) -> bool {
        self.statements
            .iter()
            .any(|s| s.effect == PolicyEffect::Allow && s.principals == Principals::Everyone)
    }

    /// Whether `who` — an anonymous caller (`None`), or a signed caller of
    /// another account — may perform `action` on `key` of `bucket` (`key`
    /// is ignored for the actions on the bucket itself, such as
    /// [`PublicAction::ListBucket`]: see [`PublicAction::on_object`]): for each IAM action it needs, no `Deny` naming `who`
    /// matches, and some `Allow` naming `who` (everyone, or that user) does.
    /// Block Public Access is the caller's business (see
    /// `StorageService::public_grant`).
    pub fn grants(
        &self,
        who: Option<UserId>,
        action: PublicAction,
        bucket: &str,
        key: &str,
    ) -> bool {
        let resource = if action.on_object() {
            format!("{bucket}/{key}")
        } else {
            bucket.to_owned()
        };
        action
            .action()
            .names()
            .iter()
            .all(|a| self.allows(who, &a.to_ascii_lowercase(), &resource))
    }

    /// Whether `who` (as for [`Self::grants`]) holds `action` on `key` of
    /// `bucket`: every IAM action it names allowed, none denied. Not an
    /// access check of its own: what a granted read answers depends on it
    /// (HeadObject's Object Lock headers need `s3:GetObjectRetention` and
    /// `s3:GetObjectLegalHold`).
    pub fn grants_on_object(
        &self,
        who: Option<UserId>,
        action: S3Action,
        bucket: &str,
        key: &str,
    ) -> bool {
        let resource = format!("{bucket}/{key}");
        action
            .names()
            .iter()
            .all(|a| self.allows(who, &a.to_ascii_lowercase(), &resource))
    }

    /// The IAM action an explicit `Deny` of this policy refuses to the
    /// bucket's owner for `access` of `bucket`, if any. On S3 an explicit
    /// `Deny` applies to every principal it names, the owning account
    /// included ("an explicit deny in any of these policies overrides the
    /// allow",
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html>),
    /// so a matching `Deny` naming everyone (`"*"`) or `owner` applies to
    /// the owner's requests, one naming other users does not; except that the owner can always read,
    /// replace and delete the policy itself (see
    /// [`S3Action`]'s `manages_policy`), or a policy could lock them out
    /// for good.
    pub fn denies_owner(
        &self,
        bucket: &str,
        owner: UserId,
        access: &Access<'_>,
    ) -> Option<&'static str> {
        if access.action.manages_policy() {
            return None;
        }
        let resource = access.resource(bucket);
        access
            .action
            .names()
            .iter()
            .find(|a| self.denies(Some(owner), &a.to_ascii_lowercase(), &resource))
            .copied()
    }

    /// IAM's evaluation of `action` (lower-cased) on `resource` (after
    /// `arn:aws:s3:::`) for `who` (`None`: anonymous) — someone other than
    /// the owner: no `Deny` naming `who` matches, an `Allow` naming `who`
    /// does.
    fn allows(&self, who: Option<UserId>, action: &str, resource: &str) -> bool {
        !self.denies(who, action, resource)
            && self.statements.iter().any(|s| {
                s.effect == PolicyEffect::Allow
                    && s.principals.names(who)
                    && s.matches(action, resource)
            })
    }

    /// Whether a `Deny` naming `who` matches `action` (lower-cased) on
    /// `resource`.
    fn denies(&self, who: Option<UserId>, action: &str, resource: &str) -> bool {
        self.statements.iter().any(|s| {
            s.effect == PolicyEffect::Deny && s.principals.names(who) && s.matches(action, resource)
        })
    }
}

impl PolicyStatement {
    /// Whether the statement names `action` (lower-cased) and `resource`.
    fn matches(&self, action: &str, resource: &str) -> bool {
        self.actions.iter().any(|a| wildcard_match(a, action))
            && self.resources.iter().any(|r| wildcard_match(r, resource))
    }
}

fn parse_statement(
    bucket: &str,
    map: &Map<String, Value>,
) -> Result<PolicyStatement, MalformedPolicy> {
    let mut sid = None;
    let mut effect = None;
    let mut principals = None;
    let mut actions = None;
    let mut resources = None;
    for (key, value) in map {
        match key.as_str() {
            "Sid" => {
                let Some(s) = value.as_str() else {
                    return Err(malformed("Statement Sid must be a string"));
                };
                sid = Some(s.to_owned());
            }
            "Effect" => {
                effect = Some(match value.as_str() {
                    Some("Allow") => PolicyEffect::Allow,
                    Some("Deny") => PolicyEffect::Deny,
                    _ => return Err(malformed("Invalid effect: Effect must be Allow or Deny")),
                });
            }
            "Principal" => principals = Some(parse_principal(value)?),
            "Action" => actions = Some(parse_actions(value)?),
            "Resource" => resources = Some(parse_resources(bucket, value)?),
            "NotPrincipal" | "NotAction" | "NotResource" | "Condition" => {
                return Err(malformed(format!(
                    "Policy element {key} is not supported by Mini AWS"
                )));
            }
            other => {
                return Err(malformed(format!("Unknown field {other} in Statement")));
            }
        }
    }
    let Some(effect) = effect else {
        return Err(malformed("Missing required field Effect"));
    };
    let Some(principals) = principals else {
        return Err(malformed("Missing required field Principal"));
    };
    let Some(actions) = actions else {
        return Err(malformed("Missing required field Action"));
    };
    let Some(resources) = resources else {
        return Err(malformed("Missing required field Resource"));
    };
    Ok(PolicyStatement {
        sid,
        effect,
        principals,
        actions,
        resources,
    })
}

fn unsupported_principal() -> MalformedPolicy {
    malformed(
        "Invalid principal in policy: Mini AWS supports as a Principal \"*\" (everyone) and users named {\"AWS\": \"arn:aws:iam::<user id>:root\"}, {\"AWS\": \"<user id>\"} or {\"CanonicalUser\": \"<user id>\"}",
    )
}

/// The user a principal string names: `<id>` or `arn:aws:iam::<id>:root`.
fn principal_user(value: &str) -> Option<UserId> {
    let id = value
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"))
        .unwrap_or(value);
    id.parse().ok()
}

fn parse_principal(value: &Value) -> Result<Principals, MalformedPolicy> {
    let map = match value {
        Value::String(s) if s == "*" => return Ok(Principals::Everyone),
        Value::Object(map) if !map.is_empty() => map,
        _ => return Err(unsupported_principal()),
    };
    let mut users = Vec::new();
    let mut everyone = false;
    for (kind, names) in map {
        let names = match names {
            Value::String(s) => vec![s.as_str()],
            Value::Array(list) if !list.is_empty() => list
                .iter()
                .map(|v| v.as_str().ok_or_else(unsupported_principal))
                .collect::<Result<_, _>>()?,
            _ => return Err(unsupported_principal()),
        };
        for name in names {
            match (kind.as_str(), name) {
                ("AWS", "*") => everyone = true,
                ("AWS", name) => {
                    users.push(principal_user(name).ok_or_else(unsupported_principal)?)
                }
                ("CanonicalUser", name) => {
                    users.push(name.parse().map_err(|_| unsupported_principal())?);
                }
                _ => return Err(unsupported_principal()),
            }
        }
    }
    Ok(if everyone {
        Principals::Everyone
    } else {
        Principals::Users(users)
    })
}

fn string_or_list<'a>(value: &'a Value, element: &str) -> Result<Vec<&'a str>, MalformedPolicy> {
    let list: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str().ok_or_else(|| {
                    malformed(format!("{element} must be a string or a list of strings"))
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(malformed(format!(
                "{element} must be a string or a non-empty list of strings"
            )));
        }
    };
    Ok(list)
}

fn parse_actions(value: &Value) -> Result<Vec<String>, MalformedPolicy> {
    string_or_list(value, "Action")?
        .into_iter()
        .map(|a| {
            let lower = a.to_ascii_lowercase();
            let valid = lower == "*"
                || lower.strip_prefix("s3:").is_some_and(|name| {
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
                });
            if valid {
                Ok(lower)
            } else {
                Err(malformed("Policy has invalid action"))
            }
        })
        .collect()
}

fn parse_resources(bucket: &str, value: &Value) -> Result<Vec<String>, MalformedPolicy> {
    string_or_list(value, "Resource")?
        .into_iter()
        .map(|r| {
            let rest = r
                .strip_prefix(RESOURCE_PREFIX)
                .ok_or_else(|| malformed("Policy has invalid resource"))?;
            let bucket_part = rest.split_once('/').map_or(rest, |(b, _)| b);
            // A wildcard in the bucket part could reach other buckets; S3
            // refuses any resource that is not this bucket.
            if bucket_part != bucket {
                return Err(malformed("Policy has invalid resource"));
            }
            Ok(rest.to_owned())
        })
        .collect()
}

const DUPLICATE: &str = "duplicate element";

/// A JSON value read with every object's keys unique. `serde_json::Value`
/// keeps the last of duplicated keys, so `{"Effect":"Deny","Effect":"Allow"}`
/// would be stored and answered with a `Deny` that is silently ignored;
/// refusing duplicates keeps the stored document meaning what it says.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE} {key}")));
            }
            let Strict(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Matches IAM wildcards: `*` any run of characters (also empty), `?` exactly
/// one. Case-sensitive; callers lower-case both sides where IAM ignores case.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A bucket's Block Public Access settings
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html>).
/// Every bucket starts with all four on, as S3 does for buckets created
/// since April 2023.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// Refuse requests that set public ACLs (Mini AWS accepts only private
    /// ACLs anyway).
    pub block_public_acls: bool,
    /// Ignore public ACLs (Mini AWS grants nothing through ACLs anyway).
    pub ignore_public_acls: bool,
    /// Refuse PutBucketPolicy with a public policy.
    pub block_public_policy: bool,
    /// While the policy is public ([`BucketPolicy::is_public`]), grant
    /// nothing to anyone but the owner — anonymous callers and other
    /// users, even those an `Allow` names — whatever the policy says; a
    /// policy that is not public keeps granting the users it names.
    pub restrict_public_buckets: bool,
}

impl Default for PublicAccessBlock {
    fn default() -> Self {
        Self {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }
    }
}

/// What a bucket's row says about public access, whoever asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketAccess {
    /// The bucket's owner.
    pub owner: UserId,
    /// The policy document as the owner put it, if any.
    pub policy: Option<String>,
    /// The Block Public Access settings; `None` once the owner deleted them
    /// (a new bucket has [`PublicAccessBlock::default`]).
    pub public_access_block: Option<PublicAccessBlock>,
}

/// Permission for one read by someone other than the bucket's owner
/// (anonymous, or signed by another account), granted by a bucket's policy
/// to everyone or to that account (see `StorageService::public_grant`). It is a distinct type from the
/// owner's [`crate::identity::Caller`], its fields are private and only the
/// policy check builds one, so no code path can mistake such a request for
/// the owner: a grant reads exactly the bucket (and, for
/// an object read, the key) it was granted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicGrant {
    pub(crate) bucket: String,
    pub(crate) owner: UserId,
    pub(crate) action: PublicAction,
    /// The key, for an object read ([`PublicAction::on_object`]).
    pub(crate) key: Option<String>,
    /// Whether the policy also lets the reader list the bucket: without it,
    /// a missing key is `AccessDenied`, not `NoSuchKey`, as on S3.
    pub(crate) may_list: bool,
    /// Whether the policy also lets the reader read the key's tags
    /// (`s3:GetObjectTagging`, or `s3:GetObjectVersionTagging` for a
    /// version named): a copy of the object takes its tags along only
    /// then.
    pub(crate) may_read_tags: bool,
    /// What of the key's Object Lock the reader may see in HeadObject's
    /// and GetObject's answer (`s3:GetObjectRetention`,
    /// `s3:GetObjectLegalHold`).
    pub(crate) lock_view: crate::storage::object_lock::LockView,
}

impl PublicGrant {
    /// The owner of the bucket the grant reads (S3's answers name it, as
    /// in a listing's `Owner`).
    pub fn owner(&self) -> UserId {
        self.owner
    }

    /// The action granted.
    pub fn action(&self) -> PublicAction {
        self.action
    }
}

/// Who reads: the authenticated owner, a signed caller who may also read
/// what a bucket's policy opens to everyone or to them, or an anonymous
/// caller holding a [`PublicGrant`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    /// A signed request; the ownership rule applies.
    Owner(crate::identity::Caller),
    /// A signed request on the S3 endpoint: the caller's own bucket as for
    /// [`Reader::Owner`]; another account's bucket only through the
    /// [`PublicGrant`] its policy gives everyone (`"Principal": "*"`) or
    /// this caller (a `Principal` naming their user id), checked as for an
    /// anonymous caller, never as its owner.
    Signed(crate::identity::Caller),
    /// An anonymous request the bucket's policy allows.
    Public(PublicGrant),
}

impl From<crate::identity::Caller> for Reader {
    fn from(caller: crate::identity::Caller) -> Self {
        Self::Owner(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "site";

    fn public_read() -> String {
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#.to_owned()
    }

    #[test]
    fn public_read_policy_grants_get_and_not_list() {
        let p = BucketPolicy::parse(B, &public_read()).expect("valid policy");
        assert!(p.is_public());
        assert_eq!(p.document(), public_read());
        assert!(p.grants(None, PublicAction::GetObject, B, "a/b.png"));
        assert!(!p.grants(None, PublicAction::ListBucket, B, ""));
        assert!(!p.grants(None, PublicAction::GetObject, "other", "a"));
    }

    #[test]
    fn object_attributes_need_get_object_and_get_object_attributes() {
        let policy = |actions: &str| {
            let doc = format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":{actions},"Resource":"arn:aws:s3:::site/*"}},
                {{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectAcl","Resource":"arn:aws:s3:::site/private/*"}}]}}"#
            );
            BucketPolicy::parse(B, &doc).expect("valid policy")
        };
        let attributes = PublicAction::GetObjectAttributes;
        let acl = PublicAction::GetObjectAcl;
        for (actions, attributes_ok, acl_ok) in [
            (r#""s3:GetObject""#, false, false),
            (r#""s3:GetObjectAttributes""#, false, false),
            (r#"["s3:GetObject","s3:GetObjectAttributes"]"#, true, false),
            (r#""s3:GetObjectAcl""#, false, true),
            (r#""s3:GetObject*""#, true, true),
        ] {
            let p = policy(actions);
            assert_eq!(
                p.grants(None, attributes, B, "a"),
                attributes_ok,
                "{actions}"
            );
            assert_eq!(p.grants(None, acl, B, "a"), acl_ok, "{actions}");
            assert!(!p.grants(None, acl, B, "private/a"), "{actions}: denied");
        }
    }

    #[test]
    fn a_deny_names_the_owner_too_but_not_for_the_policy_itself() {
        let doc = r#"{"Statement":[
            {"Effect":"Deny","Principal":"*","Action":["s3:Get*","s3:*Policy"],"Resource":["arn:aws:s3:::site","arn:aws:s3:::site/locked/*"]},
            {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#;
        let p = BucketPolicy::parse(B, doc).expect("valid policy");
        let owner = UserId::new();
        let cases = [
            (
                Access::object(S3Action::GetObject, "locked/a"),
                Some("s3:GetObject"),
            ),
            (Access::object(S3Action::GetObject, "open/a"), None),
            (Access::object(S3Action::PutObject, "locked/a"), None),
            (
                Access::object(S3Action::GetObjectAttributes, "locked/a"),
                Some("s3:GetObject"),
            ),
            (
                Access::bucket(S3Action::GetBucketTagging),
                Some("s3:GetBucketTagging"),
            ),
            (Access::bucket(S3Action::ListBucket), None),
            (Access::bucket(S3Action::GetBucketPolicy), None),
            (Access::bucket(S3Action::PutBucketPolicy), None),
            (Access::bucket(S3Action::DeleteBucketPolicy), None),
        ];
        for (access, denied) in cases {
            assert_eq!(p.denies_owner(B, owner, &access), denied, "{access:?}");
        }
        // An Allow grants the owner nothing more: only a Deny counts.
        let allow_only = BucketPolicy::parse(B, &public_read()).expect("valid policy");
        let any = Access::object(S3Action::DeleteObject, "x");
        assert_eq!(allow_only.denies_owner(B, owner, &any), None);
    }

    #[test]
    fn a_write_that_sets_tags_needs_put_object_tagging_too() {
        let doc = r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:PutObjectTagging","Resource":"arn:aws:s3:::site/locked/*"}}"#;
        let p = BucketPolicy::parse(B, doc).expect("valid policy");
        let owner = UserId::new();
        let write = |tagged: bool, key| Access::object(S3Action::object_write(tagged), key);
        assert_eq!(
            p.denies_owner(B, owner, &write(true, "locked/a")),
            Some("s3:PutObjectTagging")
        );
        assert_eq!(p.denies_owner(B, owner, &write(false, "locked/a")), None);
        assert_eq!(p.denies_owner(B, owner, &write(true, "open/a")), None);
        // A Deny of s3:PutObject refuses tagged writes too.
        let doc = r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::site/*"}}"#;
        let p = BucketPolicy::parse(B, doc).expect("valid policy");
        assert_eq!(
            p.denies_owner(B, owner, &write(true, "a")),
            Some("s3:PutObject")
        );
    }

    #[test]
    fn version_listings_object_tags_and_the_bucket_acl_are_grantable() {
        let bob = UserId::new();
        let doc = format!(
            r#"{{"Statement":[
            {{"Effect":"Allow","Principal":{{"AWS":"{bob}"}},"Action":["s3:ListBucketVersions","s3:GetBucketAcl"],"Resource":"arn:aws:s3:::site"}},
            {{"Effect":"Allow","Principal":"*","Action":"s3:GetObjectTagging","Resource":"arn:aws:s3:::site/pub/*"}},
            {{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectTagging","Resource":"arn:aws:s3:::site/pub/secret"}}]}}"#
        );
        let p = BucketPolicy::parse(B, &doc).expect("valid policy");
        for action in [PublicAction::ListBucketVersions, PublicAction::GetBucketAcl] {
            assert!(!action.on_object(), "{action:?}");
            assert!(p.grants(Some(bob), action, B, ""), "{action:?} to Bob");
            assert!(!p.grants(None, action, B, ""), "{action:?} to anyone");
        }
        let tags = PublicAction::GetObjectTagging;
        assert!(tags.on_object());
        assert!(p.grants(None, tags, B, "pub/a"));
        assert!(p.grants(Some(bob), tags, B, "pub/a"));
        assert!(!p.grants(None, tags, B, "other"), "outside the Resource");
        assert!(!p.grants(None, tags, B, "pub/secret"), "a Deny wins");
        assert!(
            !p.grants(None, PublicAction::ListBucket, B, ""),
            "not listed"
        );
    }

    #[test]
    fn a_deny_may_name_users_and_applies_to_them_alone() {
        let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
        let doc = |principal: &str| {
            format!(
                r#"{{"Statement":[
                {{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}},
                {{"Effect":"Deny","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}}]}}"#
            )
        };
        let get = PublicAction::GetObject;
        let read = Access::object(S3Action::GetObject, "a");
        for principal in [
            format!(r#"{{"AWS":"arn:aws:iam::{bob}:root"}}"#),
            format!(r#"{{"AWS":"{bob}"}}"#),
            format!(r#"{{"CanonicalUser":"{bob}"}}"#),
            format!(r#"{{"AWS":["{carol}","arn:aws:iam::{bob}:root"]}}"#),
        ] {
            let p = BucketPolicy::parse(B, &doc(&principal)).expect("valid policy");
            assert!(!p.grants(Some(bob), get, B, "a"), "{principal}: Bob denied");
            assert!(
                p.grants(None, get, B, "a"),
                "{principal}: anonymous allowed"
            );
            assert_eq!(
                p.denies_owner(B, alice, &read),
                None,
                "{principal}: the owner is not named"
            );
        }
        let p = BucketPolicy::parse(B, &doc(&format!(r#"{{"AWS":"{alice}"}}"#))).expect("valid");
        assert_eq!(p.denies_owner(B, alice, &read), Some("s3:GetObject"));
        assert!(p.grants(Some(bob), get, B, "a"), "Bob is not named");
        let p =
            BucketPolicy::parse(B, &doc(&format!(r#"{{"AWS":["*","{carol}"]}}"#))).expect("valid");
        assert_eq!(
            p.denies_owner(B, alice, &read),
            Some("s3:GetObject"),
            "* is everyone"
        );
        // Anything that is not everyone or a user is refused.
        for (what, document) in [
            (
                "an AWS account id",
                doc(r#"{"AWS":"arn:aws:iam::123456789012:root"}"#),
            ),
            (
                "an IAM user",
                doc(&format!(r#"{{"AWS":"arn:aws:iam::{bob}:user/x"}}"#)),
            ),
            (
                "a service",
                doc(r#"{"Service":"logging.s3.amazonaws.com"}"#),
            ),
            ("an empty list", doc(r#"{"AWS":[]}"#)),
            ("an empty object", doc("{}")),
        ] {
            let err = BucketPolicy::parse(B, &document).expect_err(what);
            assert!(err.0.contains("Principal"), "{what}: {}", err.0);
        }
    }

    #[test]
    fn an_allow_may_name_users_and_grants_them_alone() {
        let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
        let doc = |principal: &str, extra: &str| {
            format!(
                r#"{{"Statement":[
                {{"Effect":"Allow","Principal":{principal},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::site","arn:aws:s3:::site/shared/*"]}}{extra}]}}"#
            )
        };
        let (get, list) = (PublicAction::GetObject, PublicAction::ListBucket);
        for principal in [
            format!(r#"{{"AWS":"arn:aws:iam::{bob}:root"}}"#),
            format!(r#"{{"AWS":"{bob}"}}"#),
            format!(r#"{{"CanonicalUser":"{bob}"}}"#),
            format!(r#"{{"AWS":["{carol}","arn:aws:iam::{bob}:root"]}}"#),
            format!(r#"{{"AWS":"{carol}","CanonicalUser":["{bob}"]}}"#),
        ] {
            let p = BucketPolicy::parse(B, &doc(&principal, "")).expect("valid policy");
            assert!(!p.is_public(), "{principal}: names users only");
            assert!(p.grants(Some(bob), get, B, "shared/a"), "{principal}");
            assert!(p.grants(Some(bob), list, B, ""), "{principal}");
            assert!(
                !p.grants(Some(bob), get, B, "other/a"),
                "{principal}: outside the Resource"
            );
            assert!(
                !p.grants(Some(bob), PublicAction::GetObjectAcl, B, "shared/a"),
                "{principal}: an action not granted"
            );
            assert!(
                !p.grants(None, get, B, "shared/a"),
                "{principal}: anonymous"
            );
            assert!(!p.grants(Some(alice), get, B, "shared/a"), "{principal}");
            assert!(
                !p.grants(Some(bob), PublicAction::GetObjectTagging, B, "shared/a"),
                "{principal}: no s3:GetObjectTagging"
            );
        }
        let p = BucketPolicy::parse(B, &doc(&format!(r#"{{"AWS":"{bob}"}}"#), "")).expect("valid");
        assert!(
            !p.grants(Some(carol), get, B, "shared/a"),
            "Carol is not named"
        );
        // A Deny naming Bob (or everyone) wins over the Allow naming him.
        for deny in [format!(r#"{{"AWS":"{bob}"}}"#), r#""*""#.to_owned()] {
            let extra = format!(
                r#",{{"Effect":"Deny","Principal":{deny},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/shared/secret/*"}}"#
            );
            let p = BucketPolicy::parse(B, &doc(&format!(r#"{{"AWS":"{bob}"}}"#), &extra))
                .expect("valid");
            assert!(!p.is_public(), "{deny}: a Deny makes nothing public");
            assert!(!p.grants(Some(bob), get, B, "shared/secret/x"), "{deny}");
            assert!(p.grants(Some(bob), get, B, "shared/a"), "{deny}");
        }
        // Everyone and Bob in one policy: public (one Allow names everyone).
        for principal in [format!(r#"{{"AWS":["*","{bob}"]}}"#), r#""*""#.to_owned()] {
            let extra = format!(
                r#",{{"Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/pub/*"}}"#
            );
            let p = BucketPolicy::parse(B, &doc(&format!(r#"{{"AWS":"{bob}"}}"#), &extra))
                .expect("valid");
            assert!(p.is_public(), "{principal}");
            assert!(p.grants(None, get, B, "pub/a"), "{principal}");
            assert!(!p.grants(None, get, B, "shared/a"), "{principal}");
        }
    }

    #[test]
    fn deny_wins_over_allow() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:Get*","s3:ListBucket"],"Resource":["arn:aws:s3:::site","arn:aws:s3:::site/*"]},
            {"Effect":"Deny","Principal":{"AWS":["*"]},"Action":"s3:*","Resource":"arn:aws:s3:::site/private/*"}]}"#;
        let p = BucketPolicy::parse(B, doc).expect("valid policy");
        assert!(p.grants(None, PublicAction::GetObject, B, "public/x"));
        assert!(!p.grants(None, PublicAction::GetObject, B, "private/x"));
        assert!(p.grants(None, PublicAction::ListBucket, B, ""));
    }

    #[test]
    fn single_statement_object_and_question_mark() {
        let doc = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"S3:GETOBJECT","Resource":"arn:aws:s3:::site/img?.png"}}"#;
        let p = BucketPolicy::parse(B, doc).expect("valid policy");
        assert!(p.grants(None, PublicAction::GetObject, B, "img1.png"));
        assert!(!p.grants(None, PublicAction::GetObject, B, "img12.png"));
    }

    #[test]
    fn deny_only_policy_is_not_public() {
        let doc = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::site/*"}]}"#;
        let p = BucketPolicy::parse(B, doc).expect("valid policy");
        assert!(!p.is_public());
        assert!(!p.grants(None, PublicAction::GetObject, B, "x"));
    }

    #[test]
    fn refusals_name_the_element() {
        let stmt = |extra: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"{extra}}}]}}"#
            )
        };
        let cases: Vec<(&str, String, &str)> = vec![
            ("not json", "nope".into(), "valid JSON"),
            ("not an object", "[]".into(), "valid JSON"),
            ("no statement", r#"{"Version":"2012-10-17"}"#.into(), "Statement"),
            ("empty statement list", r#"{"Statement":[]}"#.into(), "Statement"),
            ("bad version", r#"{"Version":"2020","Statement":[]}"#.into(), "version"),
            ("unknown top field", r#"{"Foo":1}"#.into(), "Foo"),
            ("condition", stmt(r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#), "Condition"),
            ("not action", stmt(r#","NotAction":"s3:PutObject""#), "NotAction"),
            ("not resource", stmt(r#","NotResource":"arn:aws:s3:::site/x""#), "NotResource"),
            ("not principal", stmt(r#","NotPrincipal":"*""#), "NotPrincipal"),
            ("unknown statement field", stmt(r#","Foo":"x""#), "Foo"),
            (
                "other bucket",
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#.into(),
                "Policy has invalid resource",
            ),
            (
                "wildcard bucket",
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::*"}]}"#.into(),
                "Policy has invalid resource",
            ),
            (
                "not an s3 arn",
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"site/*"}]}"#.into(),
                "Policy has invalid resource",
            ),
            (
                "account principal",
                r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#.into(),
                "Principal",
            ),
            (
                "service principal",
                r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#.into(),
                "Principal",
            ),
            (
                "bad action",
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:RunInstances","Resource":"arn:aws:s3:::site/*"}]}"#.into(),
                "Policy has invalid action",
            ),
            (
                "bad effect",
                r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#.into(),
                "Effect",
            ),
            (
                "no principal",
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#.into(),
                "Principal",
            ),
            (
                "duplicated Effect",
                r#"{"Statement":[{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#.into(),
                "duplicate element Effect",
            ),
            (
                "duplicated Statement",
                r#"{"Statement":[],"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}}"#.into(),
                "duplicate element Statement",
            ),
            ("too large", format!(r#"{{"Id":"{}"}}"#, "x".repeat(MAX_POLICY_BYTES)), "exceed"),
        ];
        for (description, doc, needle) in cases {
            let err = BucketPolicy::parse(B, &doc).expect_err(description);
            assert!(err.0.contains(needle), "{description}: {}", err.0);
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("site/*", "site/"));
        assert!(wildcard_match("site/*", "site/a/b"));
        assert!(!wildcard_match("site/*", "site"));
        assert!(wildcard_match("s3:get*", "s3:getobject"));
        assert!(!wildcard_match("s3:get*", "s3:listbucket"));
        assert!(wildcard_match("*", "s3:listbucket"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
    }

    #[test]
    fn public_access_block_defaults_to_all_on() {
        let d = PublicAccessBlock::default();
        assert!(
            d.block_public_acls
                && d.ignore_public_acls
                && d.block_public_policy
                && d.restrict_public_buckets
        );
    }
}
