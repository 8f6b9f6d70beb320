//! Storage domain types: bucket names, object keys, ETags, object metadata.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use time::OffsetDateTime;

use super::ports::BlobId;
use super::range::ByteRange;
use super::tags::Tags;
use crate::error::{CoreError, CoreResult};
use crate::identity::UserId;

uuid_newtype!(
    /// The id of one stored version of an object (a new one per write).
    ObjectId
);

/// The longest object key S3 allows, in bytes of UTF-8.
pub const MAX_OBJECT_KEY_BYTES: usize = 1024;

/// The most user metadata (names plus values, in bytes) an object may carry,
/// as in S3.
pub const MAX_USER_METADATA_BYTES: usize = 2048;

/// A bucket name, valid under the S3 naming rules.
///
/// Rules (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>):
/// 3–63 characters; lowercase letters, digits, dots and hyphens; begins and
/// ends with a letter or digit; no two adjacent dots; not shaped like an
/// IPv4 address; not one of the reserved prefixes or suffixes. A bucket
/// being created must also have no hyphen next to a dot
/// ([`BucketName::parse_new`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketName(String);

impl BucketName {
    /// Validates `name` as the name of a bucket to create: the rules of
    /// [`Self::parse`], and no hyphen next to a dot (`a-.b`, `a.-b`; each
    /// dot-separated label begins and ends with a letter or digit, as in
    /// a DNS name), which S3 refuses too. That rule came after buckets
    /// could be made without it, so it holds for new names only: a bucket
    /// made before keeps being read, listed and deleted (S3 likewise keeps
    /// its legacy names reachable).
    ///
    /// # Errors
    /// `InvalidInput` naming the broken rule.
    pub fn parse_new(name: &str) -> CoreResult<Self> {
        let parsed = Self::parse(name)?;
        if name.contains(".-") || name.contains("-.") {
            return Err(CoreError::invalid(format!(
                "invalid bucket name {name:?}: bucket names must not have a hyphen next to a dot"
            )));
        }
        Ok(parsed)
    }

    /// Validates `name` as the name of an existing bucket (see
    /// [`Self::parse_new`] for one being created); the error names the
    /// rule it breaks.
    ///
    /// # Errors
    /// `InvalidInput` naming the broken rule.
    pub fn parse(name: &str) -> CoreResult<Self> {
        let bad = |rule: &str| {
            Err(CoreError::invalid(format!(
                "invalid bucket name {name:?}: {rule}"
            )))
        };
        if name.len() < 3 || name.len() > 63 {
            return bad("bucket names must be 3 to 63 characters long");
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')))
        {
            return bad(&format!(
                "bucket names may contain only lowercase letters, digits, '.' and '-' (found {c:?})"
            ));
        }
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
            return bad("bucket names must begin and end with a letter or digit");
        }
        if name.contains("..") {
            return bad("bucket names must not contain two adjacent dots");
        }
        if name.parse::<Ipv4Addr>().is_ok() {
            return bad("bucket names must not be formatted as an IP address");
        }
        for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
            if name.starts_with(prefix) {
                return bad(&format!("bucket names must not start with `{prefix}`"));
            }
        }
        for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
            if name.ends_with(suffix) {
                return bad(&format!("bucket names must not end with `{suffix}`"));
            }
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object key: 1 to 1,024 bytes of UTF-8, anything else allowed.
///
/// Keys are opaque to the engine: `../../etc/passwd`, NUL bytes and every
/// other unicode character are stored and returned exactly. They never
/// reach the file system (bytes live at paths derived from a [`BlobId`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates `key`.
    ///
    /// # Errors
    /// `InvalidInput` for an empty key or one longer than 1,024 bytes.
    pub fn parse(key: &str) -> CoreResult<Self> {
        Self::check(key)?;
        Ok(Self(key.to_owned()))
    }

    /// Validates `key`, keeping the string (no copy).
    ///
    /// # Errors
    /// As [`ObjectKey::parse`].
    pub fn from_string(key: String) -> CoreResult<Self> {
        Self::check(&key)?;
        Ok(Self(key))
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    fn check(key: &str) -> CoreResult<()> {
        if key.is_empty() {
            return Err(CoreError::invalid("the object key must not be empty"));
        }
        if key.len() > MAX_OBJECT_KEY_BYTES {
            return Err(CoreError::invalid(format!(
                "the object key is {} bytes long; keys may be at most {MAX_OBJECT_KEY_BYTES} bytes of UTF-8",
                key.len()
            )));
        }
        Ok(())
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An entity tag: the hex MD5 of the body for single-part objects,
/// `<md5-of-md5s>-<parts>` for multipart ones. Held without quotes; the wire
/// form is [`ETag::quoted`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

impl ETag {
    /// The ETag of a body whose MD5 digest is `md5`.
    pub fn from_md5(md5: &[u8; 16]) -> Self {
        Self(hex::encode(md5))
    }

    /// An ETag read back from storage (unquoted), or a multipart one.
    pub fn from_stored(value: impl Into<String>) -> Self {
        let value = value.into();
        if value.starts_with('"') || value.ends_with('"') {
            Self(value.trim_matches('"').to_owned())
        } else {
            Self(value)
        }
    }

    /// The value without quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The wire form, in double quotes.
    pub fn quoted(&self) -> String {
        let mut quoted = String::with_capacity(self.0.len() + 2);
        quoted.push('"');
        quoted.push_str(&self.0);
        quoted.push('"');
        quoted
    }
}

/// What must hold of a key's current version for a write to commit
/// (`If-None-Match: *` / `If-Match` on a PUT). The repository checks it in
/// the same statement that writes, so no other write can land between the
/// check and the commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteCondition {
    /// Write whatever is there.
    #[default]
    Always,
    /// `If-None-Match: *`: only if the key does not exist.
    Absent,
    /// `If-Match: *`: only if the key exists.
    Exists,
    /// `If-Match: "<etag>"`: only if the key exists with this ETag.
    ETagIs(ETag),
}

impl WriteCondition {
    /// Whether a key whose current ETag is `current` (`None`: no such key)
    /// satisfies the condition; the refusal is `PreconditionFailed`, or
    /// `NotFound(Object)` when `If-Match` meets a missing key (as S3
    /// answers).
    ///
    /// # Errors
    /// As described.
    pub fn check(&self, bucket: &str, key: &str, current: Option<&ETag>) -> CoreResult<()> {
        match (self, current) {
            (Self::Always, _) | (Self::Absent, None) | (Self::Exists, Some(_)) => Ok(()),
            (Self::ETagIs(want), Some(have)) if want == have => Ok(()),
            (Self::Absent, Some(_)) => Err(CoreError::PreconditionFailed(format!(
                "At least one of the pre-conditions you specified did not hold: If-None-Match: * and {bucket}/{key} exists"
            ))),
            (Self::Exists | Self::ETagIs(_), None) => {
                Err(CoreError::not_found(crate::error::Resource::Object, key))
            }
            (Self::ETagIs(want), Some(have)) => Err(CoreError::PreconditionFailed(format!(
                "At least one of the pre-conditions you specified did not hold: If-Match {} but {bucket}/{key} has ETag {}",
                want.quoted(),
                have.quoted()
            ))),
        }
    }
}

/// How many times a repository tries a conditional delete whose refusal it
/// could not explain (the key was rewritten between the delete and the
/// read that explains it) before it gives up with
/// [`WriteCondition::kept_changing`].
pub const CONDITIONAL_DELETE_ATTEMPTS: usize = 3;

impl WriteCondition {
    /// The refusal of a conditional delete whose key changed under it at
    /// every attempt: nothing was deleted.
    #[must_use]
    pub fn kept_changing(&self, bucket: &str, key: &str) -> CoreError {
        CoreError::PreconditionFailed(format!(
            "{bucket}/{key} kept changing while it was being deleted; nothing was deleted, try again"
        ))
    }
}

/// User metadata (`x-amz-meta-*`): lowercase names to values.
pub type UserMetadata = BTreeMap<String, String>;

/// Checks a user metadata name (what follows `x-amz-meta-`): not empty,
/// and a header name's characters.
///
/// # Errors
/// `InvalidInput` naming it.
pub fn check_user_metadata_name(name: &str) -> CoreResult<()> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b))
    {
        return Err(CoreError::invalid(format!(
            "invalid metadata name {name:?}: use letters, digits and '-'"
        )));
    }
    Ok(())
}

/// Checks user metadata against the S3 limits.
pub(crate) fn validate_user_metadata(meta: &UserMetadata) -> CoreResult<()> {
    let mut total = 0;
    for (name, value) in meta {
        check_user_metadata_name(name)?;
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(CoreError::invalid(format!(
                "the value of metadata {name:?} contains control characters"
            )));
        }
        total += name.len() + value.len();
    }
    if total > MAX_USER_METADATA_BYTES {
        return Err(CoreError::MetadataTooLarge(format!(
            "user metadata is {total} bytes; at most {MAX_USER_METADATA_BYTES} bytes are allowed"
        )));
    }
    Ok(())
}

/// Checks a content type: printable ASCII, at most 255 bytes.
pub(crate) fn validate_content_type(value: &str) -> CoreResult<()> {
    if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(CoreError::invalid(
            "Content-Type must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(())
}

/// A bucket and its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The globally unique name.
    pub name: BucketName,
    /// The owner: everything in the bucket is theirs.
    pub owner: UserId,
    /// When the bucket was created.
    pub created_at: OffsetDateTime,
}

/// The metadata of one stored object (its current version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The id of this version (new for every write).
    pub id: ObjectId,
    /// The bucket.
    pub bucket: BucketName,
    /// The key.
    pub key: ObjectKey,
    /// Where the bytes are in the blob store.
    pub blob_id: BlobId,
    /// The body's length.
    pub size_bytes: u64,
    /// The entity tag (quoted on the wire).
    pub etag: ETag,
    /// The media type, as sent or guessed.
    pub content_type: String,
    /// `x-amz-meta-*` user metadata.
    pub user_metadata: UserMetadata,
    /// Other stored response headers (lowercase names), such as
    /// `content-encoding`, `cache-control`, `content-disposition` or
    /// `x-amz-checksum-crc32`: sent back on reads as they were given.
    pub headers: BTreeMap<String, String>,
    /// When this version was written.
    pub last_modified: OffsetDateTime,
    /// The parts, in order, of an object completed from a multipart upload;
    /// empty for an object written in one piece.
    pub parts: Vec<ObjectPart>,
    /// The object's tags (S3 object tagging). Changing them changes
    /// neither the version id, the ETag nor the last-modified time.
    pub tags: Tags,
    /// Whether this version was written while its bucket's versioning was
    /// Enabled: its version id is then its [`ObjectId`], else S3's `null`
    /// (see [`ObjectMeta::version_id`]).
    pub versioned: bool,
    /// Whether its bucket had been versioned (Enabled or Suspended) when
    /// the service read or wrote this version, as the bucket's row said:
    /// then an answer names a `null` version `null`, as S3 does, where a
    /// bucket never versioned names no version at all (see
    /// [`ObjectMeta::answered_version_id`]). Not stored with the object:
    /// repositories answer `false`, and the service sets it from the bucket
    /// state it read in the same lookup (no query of its own).
    pub in_versioned_bucket: bool,
    /// Its Object Lock retention and legal hold (none outside a bucket
    /// with Object Lock). A read for HeadObject or GetObject answers only
    /// what the reader may see of it ([`super::object_lock::LockView`]).
    pub lock: super::object_lock::ObjectLock,
}

/// The name of the stored header that holds an object's storage class
/// (S3's `x-amz-storage-class`, kept as it was given).
pub const STORAGE_CLASS_HEADER: &str = "x-amz-storage-class";

/// An object as a listing shows it: what the native listing and S3's
/// ListObjects answer, and what a lifecycle sweep decides by.
///
/// A listing reads only these columns, not the whole [`ObjectMeta`]: a
/// page of 1,000 rows spent about a tenth of its time reading and decoding
/// the blob id, the parts and the stored headers no listing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    /// The id of this version.
    pub id: ObjectId,
    /// The key.
    pub key: ObjectKey,
    /// The body's length.
    pub size_bytes: u64,
    /// The entity tag (quoted on the wire).
    pub etag: ETag,
    /// The media type, as sent or guessed.
    pub content_type: String,
    /// `x-amz-meta-*` user metadata.
    pub user_metadata: UserMetadata,
    /// When this version was written.
    pub last_modified: OffsetDateTime,
    /// The object's tags.
    pub tags: Tags,
    /// Its stored storage class ([`STORAGE_CLASS_HEADER`]), when one was
    /// given.
    pub storage_class: Option<String>,
}

impl From<ObjectMeta> for ObjectSummary {
    fn from(mut meta: ObjectMeta) -> Self {
        Self {
            storage_class: meta.headers.remove(STORAGE_CLASS_HEADER),
            id: meta.id,
            key: meta.key,
            size_bytes: meta.size_bytes,
            etag: meta.etag,
            content_type: meta.content_type,
            user_metadata: meta.user_metadata,
            last_modified: meta.last_modified,
            tags: meta.tags,
        }
    }
}

/// A bucket's versioning state (S3's `VersioningConfiguration` Status).
/// A bucket starts [`Versioning::Unversioned`] and, once versioning was
/// enabled, only moves between `Enabled` and `Suspended`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: every object is its one `null` version.
    #[default]
    Unversioned,
    /// Every write creates a new version; a delete inserts a delete marker.
    Enabled,
    /// Writes replace the `null` version; a delete inserts a `null` delete
    /// marker; the versions kept before stay.
    Suspended,
}

impl Versioning {
    /// The stored form (`None`: never versioned).
    pub fn as_stored(self) -> Option<&'static str> {
        match self {
            Self::Unversioned => None,
            Self::Enabled => Some("Enabled"),
            Self::Suspended => Some("Suspended"),
        }
    }

    /// Reads the stored form back; anything unknown reads as `Suspended`
    /// (versioned, but writing `null` versions: never destroys a version).
    pub fn from_stored(stored: Option<&str>) -> Self {
        match stored {
            None => Self::Unversioned,
            Some("Enabled") => Self::Enabled,
            Some(_) => Self::Suspended,
        }
    }

    /// Whether the bucket keeps versions (Enabled or Suspended).
    pub fn is_versioned(self) -> bool {
        self != Self::Unversioned
    }
}

/// A version id as S3 spells it: `null`, or the 32 lowercase hex digits of
/// the version's [`ObjectId`] (opaque and URL-safe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionId {
    /// The `null` version (written while versioning was never enabled or
    /// suspended).
    Null,
    /// A version written while versioning was Enabled.
    Id(ObjectId),
}

impl VersionId {
    /// The version id of a row with `id`, `versioned` or not.
    pub fn of(id: ObjectId, versioned: bool) -> Self {
        if versioned { Self::Id(id) } else { Self::Null }
    }

    /// Parses a request's version id.
    ///
    /// # Errors
    /// `InvalidInput` "Invalid version id specified" for anything but
    /// `null` and 32 lowercase hex digits.
    pub fn parse(s: &str) -> CoreResult<Self> {
        if s == "null" {
            return Ok(Self::Null);
        }
        if s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && let Ok(u) = uuid::Uuid::parse_str(s)
        {
            return Ok(Self::Id(ObjectId::from_uuid(u)));
        }
        Err(CoreError::invalid("Invalid version id specified"))
    }

    /// Whether a row with `id`, `versioned` or not, is this version.
    pub fn names(self, id: ObjectId, versioned: bool) -> bool {
        match self {
            Self::Null => !versioned,
            Self::Id(want) => versioned && want == id,
        }
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Id(id) => write!(f, "{}", id.as_uuid().simple()),
        }
    }
}

/// A delete marker: a version of a key that says it was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteMarker {
    /// Its id (its version id when `versioned`).
    pub id: ObjectId,
    /// The bucket.
    pub bucket: BucketName,
    /// The key.
    pub key: ObjectKey,
    /// Inserted while versioning was Enabled (else it is the `null` version).
    pub versioned: bool,
    /// When the delete happened.
    pub last_modified: OffsetDateTime,
}

impl DeleteMarker {
    /// Its version id.
    pub fn version_id(&self) -> VersionId {
        VersionId::of(self.id, self.versioned)
    }
}

/// One version of a key: an object version or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectVersion {
    /// A version with bytes.
    Object(ObjectMeta),
    /// A delete marker.
    DeleteMarker(DeleteMarker),
}

impl ObjectVersion {
    /// The key.
    pub fn key(&self) -> &ObjectKey {
        match self {
            Self::Object(m) => &m.key,
            Self::DeleteMarker(d) => &d.key,
        }
    }

    /// The version id.
    pub fn version_id(&self) -> VersionId {
        match self {
            Self::Object(m) => m.version_id(),
            Self::DeleteMarker(d) => d.version_id(),
        }
    }
}

/// A version as the repository lists it: where it stands among its key's
/// versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    /// The version.
    pub version: ObjectVersion,
    /// Its place among the key's noncurrent versions and delete markers
    /// (higher is newer); `None` for the current version (the row of
    /// `objects`), which is newer than all of them.
    pub seq: Option<i64>,
    /// When it became noncurrent (or, for a delete marker, when it was
    /// inserted); `None` for the current version. What a lifecycle rule's
    /// `NoncurrentDays` counts from.
    pub noncurrent_at: Option<OffsetDateTime>,
}

/// One part of an object completed from a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ObjectPart {
    /// Its length.
    pub size_bytes: u64,
    /// Its additional checksum (base64), in the algorithm of the object's
    /// checksum (the upload's, or S3's default CRC64NVME for an upload
    /// without one), when every part of the upload had one of it.
    #[serde(default)]
    pub checksum: Option<String>,
}

impl ObjectMeta {
    /// A version of `key` in bucket `bkt` for unit tests: `size` bytes
    /// with ETag `etag`, written `at`, one part, no tags or metadata.
    #[cfg(test)]
    pub(crate) fn for_test(key: &str, size_bytes: u64, etag: &str, at: OffsetDateTime) -> Self {
        Self {
            id: ObjectId::new(),
            bucket: BucketName::parse("bkt").expect("name"),
            key: ObjectKey::parse(key).expect("key"),
            blob_id: BlobId::new(),
            size_bytes,
            etag: ETag::from_stored(etag),
            content_type: "text/plain".into(),
            user_metadata: UserMetadata::new(),
            headers: BTreeMap::new(),
            last_modified: at,
            parts: vec![],
            tags: Tags::default(),
            versioned: false,
            in_versioned_bucket: false,
            lock: Default::default(),
        }
    }

    /// This version's id: its own id when it was written with versioning
    /// Enabled, else `null`.
    pub fn version_id(&self) -> VersionId {
        VersionId::of(self.id, self.versioned)
    }

    /// The version id an answer about this version names
    /// (`x-amz-version-id`, a copy's `x-amz-copy-source-version-id`): its
    /// own id when it was written with versioning Enabled, `null` in a
    /// bucket that was ever versioned, none in a bucket never versioned.
    pub fn answered_version_id(&self) -> Option<VersionId> {
        (self.versioned || self.in_versioned_bucket).then(|| self.version_id())
    }

    /// The object's ARN, `arn:miniaws:storage:local:<account>:object/<bucket>/<key>`.
    pub fn arn(&self, owner: UserId) -> String {
        object_arn(owner, &self.bucket, &self.key)
    }

    /// How many parts a multipart object has (`None` for one written in one
    /// piece), as S3's `x-amz-mp-parts-count`.
    pub fn parts_count(&self) -> Option<u32> {
        (!self.parts.is_empty()).then(|| u32::try_from(self.parts.len()).unwrap_or(u32::MAX))
    }

    /// The bytes of part `number` (1-based), as S3's `partNumber` reads
    /// them: a multipart object's part, or the whole of an object written in
    /// one piece as its part 1. `None` for an empty object's part 1 (there
    /// is no byte to range over: the whole, empty, object is sent).
    ///
    /// # Errors
    /// `RangeNotSatisfiable` for a part the object does not have;
    /// `InvalidInput` for a multipart object completed before part
    /// boundaries were kept (migration 0009), whose parts are unknown.
    pub fn part_range(&self, number: u32) -> CoreResult<Option<ByteRange>> {
        let unsatisfiable = || CoreError::RangeNotSatisfiable {
            size_bytes: self.size_bytes,
        };
        if number == 0 {
            return Err(unsatisfiable());
        }
        if self.parts.is_empty() {
            // A multipart ETag ("<md5>-<n>") without stored parts: completed
            // by a version that did not keep them.
            if self.etag.as_str().contains('-') {
                return Err(CoreError::invalid(
                    "the part boundaries of this object are unknown (it was completed before \
                     they were kept); read it with a Range instead of a partNumber",
                ));
            }
            return match (number, self.size_bytes) {
                (1, 0) => Ok(None),
                (1, size) => Ok(Some(ByteRange {
                    start: 0,
                    end: size - 1,
                })),
                _ => Err(unsatisfiable()),
            };
        }
        let index = usize::try_from(number - 1).map_err(|_| unsatisfiable())?;
        let part = self.parts.get(index).ok_or_else(unsatisfiable)?;
        let start: u64 = self.parts[..index].iter().map(|p| p.size_bytes).sum();
        if part.size_bytes == 0 {
            // Only the single part of an empty upload can be empty.
            return Ok(None);
        }
        Ok(Some(ByteRange {
            start,
            end: start + part.size_bytes - 1,
        }))
    }
}

/// The ARN of an object (the seed's form).
pub fn object_arn(owner: UserId, bucket: &BucketName, key: &ObjectKey) -> String {
    // Built by hand: a listing makes one per object, and `format!` with a
    // `Display`ed UUID cost a tenth of a listing's view.
    const PREFIX: &str = "arn:miniaws:storage:local:";
    let mut arn = String::with_capacity(
        PREFIX.len()
            + uuid::fmt::Hyphenated::LENGTH
            + 9
            + bucket.as_str().len()
            + key.as_str().len(),
    );
    arn.push_str(PREFIX);
    arn.push_str(
        owner
            .as_uuid()
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    arn.push_str(":object/");
    arn.push_str(bucket.as_str());
    arn.push('/');
    arn.push_str(key.as_str());
    arn
}

/// The media type for a key from its extension, else
/// `application/octet-stream`.
pub fn guess_content_type(key: &str) -> &'static str {
    let ext = match key.rsplit_once('.') {
        Some((_, ext)) if !ext.contains('/') => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match ext.as_str() {
        "txt" | "text" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "yaml" | "yml" => "application/yaml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "ico" => "image/vnd.microsoft.icon",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_the_s3_rules() {
        let (a63, a64) = ("a".repeat(63), "a".repeat(64));
        let cases: &[(&str, Option<&str>)] = &[
            ("abc", None),
            ("my-bucket.v2", None),
            (a63.as_str(), None),
            ("ab", Some("3 to 63")),
            (a64.as_str(), Some("3 to 63")),
            ("My-Bucket", Some("lowercase")),
            ("under_score", Some("lowercase")),
            ("-abc", Some("begin and end")),
            ("abc.", Some("begin and end")),
            ("a..b", Some("adjacent dots")),
            ("foo.-bar", Some("hyphen next to a dot")),
            ("foo-.bar", Some("hyphen next to a dot")),
            ("foo--bar.b-z", None),
            ("192.168.1.1", Some("IP address")),
            ("xn--abc", Some("xn--")),
            ("abc-s3alias", Some("-s3alias")),
        ];
        for (name, expected) in cases {
            let got = BucketName::parse_new(name);
            match expected {
                None => assert!(got.is_ok(), "{name:?} should be valid: {got:?}"),
                Some(rule) => {
                    let msg = got.expect_err(name).to_string();
                    assert!(msg.contains(rule), "{name:?}: {msg:?} should name {rule:?}");
                }
            }
        }
        // A rule for new names only: a bucket made before it still parses.
        for legacy in ["foo.-bar", "foo-.bar"] {
            assert!(BucketName::parse(legacy).is_ok(), "{legacy:?}");
        }
    }

    #[test]
    fn keys_are_opaque_but_bounded() {
        for key in [
            "../../etc/passwd",
            "a/../../b",
            "nul\0byte",
            "ü/日本/😀",
            "%2e%2e/x",
        ] {
            assert_eq!(ObjectKey::parse(key).unwrap().as_str(), key);
        }
        assert!(ObjectKey::parse(&"k".repeat(1024)).is_ok());
        assert!(ObjectKey::parse(&"k".repeat(1025)).is_err());
        assert!(ObjectKey::parse("").is_err());
        // The owned form keeps the same rules.
        assert_eq!(
            ObjectKey::from_string("a/b".into()).unwrap().into_string(),
            "a/b"
        );
        assert!(ObjectKey::from_string("k".repeat(1025)).is_err());
        assert!(ObjectKey::from_string(String::new()).is_err());
    }

    #[test]
    fn object_arns_name_owner_bucket_and_key() {
        let owner = UserId::from_uuid(uuid::Uuid::from_u128(
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        ));
        let arn = object_arn(
            owner,
            &BucketName::parse("photos").unwrap(),
            &ObjectKey::parse("2026/cat ü.jpg").unwrap(),
        );
        assert_eq!(
            arn,
            "arn:miniaws:storage:local:01234567-89ab-cdef-0123-456789abcdef:object/photos/2026/cat ü.jpg"
        );
    }

    #[test]
    fn etags_are_quoted_md5_hex() {
        let e = ETag::from_md5(&[
            0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42,
            0x7e,
        ]);
        assert_eq!(e.quoted(), "\"d41d8cd98f00b204e9800998ecf8427e\"");
        assert_eq!(ETag::from_stored("\"abc-2\"").as_str(), "abc-2");
        assert_eq!(ETag::from_stored("abc-2").as_str(), "abc-2");
        assert_eq!(ETag::from_stored("abc-2").quoted(), "\"abc-2\"");
    }

    #[test]
    fn part_ranges_follow_the_stored_parts() {
        let meta = |size: u64, etag: &str, parts: &[u64]| ObjectMeta {
            parts: parts
                .iter()
                .map(|&size_bytes| ObjectPart {
                    size_bytes,
                    checksum: None,
                })
                .collect(),
            ..ObjectMeta::for_test("k", size, etag, OffsetDateTime::UNIX_EPOCH)
        };
        let r = |start, end| Ok(Some(ByteRange { start, end }));
        let unsatisfiable = |size_bytes| Err(CoreError::RangeNotSatisfiable { size_bytes });
        let mp = meta(13, "abc-3", &[5, 5, 3]);
        let single = meta(10, "abc", &[]);
        let cases: Vec<(&str, &ObjectMeta, u32, CoreResult<Option<ByteRange>>)> = vec![
            ("first part", &mp, 1, r(0, 4)),
            ("middle part", &mp, 2, r(5, 9)),
            ("last part", &mp, 3, r(10, 12)),
            ("beyond the count", &mp, 4, unsatisfiable(13)),
            ("part zero", &mp, 0, unsatisfiable(13)),
            ("one piece is its own part 1", &single, 1, r(0, 9)),
            ("one piece has no part 2", &single, 2, unsatisfiable(10)),
        ];
        for (what, m, n, want) in cases {
            // CoreError has no PartialEq: compare the debug forms.
            assert_eq!(
                format!("{:?}", m.part_range(n)),
                format!("{want:?}"),
                "{what}"
            );
        }
        assert_eq!(mp.parts_count(), Some(3));
        assert_eq!(single.parts_count(), None);
        assert!(
            matches!(meta(0, "abc", &[]).part_range(1), Ok(None)),
            "empty object"
        );
        assert!(
            matches!(
                meta(10, "abc-2", &[]).part_range(1),
                Err(CoreError::InvalidInput(_))
            ),
            "a multipart object without stored parts"
        );
    }

    #[test]
    fn content_types_are_guessed_from_the_extension() {
        assert_eq!(guess_content_type("site/index.HTML"), "text/html");
        assert_eq!(guess_content_type("a.b/noext"), "application/octet-stream");
        assert_eq!(guess_content_type("data"), "application/octet-stream");
        assert_eq!(guess_content_type("x.png"), "image/png");
    }

    #[test]
    fn user_metadata_is_limited() {
        let mut m = UserMetadata::new();
        m.insert("color".into(), "blue".into());
        assert!(validate_user_metadata(&m).is_ok());
        m.insert("big".into(), "x".repeat(2048));
        assert!(validate_user_metadata(&m).is_err());
        let mut bad = UserMetadata::new();
        bad.insert("with space".into(), "v".into());
        assert!(validate_user_metadata(&bad).is_err());
    }
}
