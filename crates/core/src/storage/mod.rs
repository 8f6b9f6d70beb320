//! Object storage: buckets with owners, objects with metadata, and the
//! engine port that holds their bytes.
//!
//! [`StorageService`] is the one place where the rules live (ownership,
//! naming, conditional and ranged reads, listing semantics, the write
//! protocol "blob first, metadata second"). The native `/storage` API and the
//! S3-compatible endpoint both call it; the bytes go through a [`BlobStore`]
//! and the metadata through a [`StorageRepo`].

mod commit;
mod cors;
mod domain;
mod lifecycle;
mod listing;
mod object_lock;
mod policy;
mod ports;
mod range;
mod service;
mod tags;
mod website;

#[cfg(test)]
pub(crate) mod mem_blobs;
#[cfg(test)]
pub(crate) mod mem_repo;
#[cfg(test)]
mod tests;

pub use commit::MAX_COMMIT_BATCH;
pub use cors::{CORS_METHODS, CorsConfiguration, CorsMatch, CorsRule, MAX_CORS_RULES};
pub use domain::{
    Bucket, BucketName, CONDITIONAL_DELETE_ATTEMPTS, DeleteMarker, ETag, ListedVersion,
    MAX_OBJECT_KEY_BYTES, MAX_USER_METADATA_BYTES, ObjectId, ObjectKey, ObjectMeta, ObjectPart,
    ObjectSummary, ObjectVersion, STORAGE_CLASS_HEADER, UserMetadata, VersionId, Versioning,
    WriteCondition, check_user_metadata_name, guess_content_type, object_arn,
};
pub use lifecycle::{
    AndFilter, AndInput, Expiration, ExpirationInput, ExpiryFacts, FilterInput, InvalidLifecycle,
    LifecycleConfiguration, LifecycleFault, LifecycleFilter, LifecycleRule, LifecycleRuleInput,
    MAX_FILTER_SIZE_BYTES, MAX_LIFECYCLE_RULE_ID_CHARS, MAX_LIFECYCLE_RULES, NoncurrentExpiration,
    NoncurrentInput, NoncurrentTransitionInput, ObjectExpiry, RuleScope, TransitionInput,
    TransitionMinimumSize, UploadAbort, days_after,
};
pub use listing::{
    BucketPage, KeyRange, ListBucketsInput, ListObjectsInput, ListObjectsPage, MAX_LIST_BUCKETS,
    MAX_LIST_KEYS, NameRange, bucket_range, key_successor, name_successor,
};
pub use object_lock::{
    DefaultRetention, LEGAL_HOLD_HEADER, LockChange, LockHeaders, LockMode, LockView,
    MAX_RETENTION_DAYS, MODE_HEADER, ObjectLock, ObjectLockConfig, RETAIN_UNTIL_HEADER, Retention,
    RetentionPeriod, VersionLock, lock_needs_checksum,
};
pub use policy::{
    Access, BucketAccess, BucketPolicy, MAX_POLICY_BYTES, MalformedPolicy, PolicyEffect,
    PolicyStatement, PublicAccessBlock, PublicAction, PublicGrant, Reader, S3Action,
};
pub use ports::{
    BlobId, BlobStore, BucketLockSet, BucketLookup, ByteStream, ObjectWrite, StorageRepo,
    VersionTags, WrittenBlob, body_error,
};
pub use range::{ByteRange, Conditions, IfRange, RangeSpec};
pub use service::{
    BucketCors, BucketWebsite, CommitObject, DeleteOutcome, DeleteTarget, GetObjectOptions,
    GetObjectOutput, HeadObjectOutput, ListVersionsInput, MetadataDirective, PutObjectInput,
    StorageService, SweepReport, TaggingDirective, VersionEntry, VersionsPage,
    bucket_access_denied,
};
pub(crate) use service::{commit_error, copy_source_error, object_write, validate_object_fields};
pub use tags::{MAX_BUCKET_TAGS, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, MAX_TAGS, Tags};
pub use website::{
    InvalidWebsite, MAX_ROUTING_RULES, Redirect, RedirectAll, RoutingCondition, RoutingRule, Site,
    WebsiteConfiguration, WebsiteFault, WebsiteInput, WebsiteTarget,
};
