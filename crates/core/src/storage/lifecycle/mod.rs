//! A bucket's lifecycle configuration: its rules, validated as S3 validates
//! PutBucketLifecycleConfiguration, and the rule that says when an object
//! expires or an incomplete multipart upload is aborted.
//!
//! What Mini AWS enforces
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html>):
//! `Expiration` with `Days` or `Date` expires the objects a rule's filter
//! selects (deletes them in a bucket never versioned, gives the current
//! version a delete marker in a versioned one), and
//! `AbortIncompleteMultipartUpload` aborts uploads. Days count from the
//! object's last write (its creation, in S3's words) and the sum is
//! rounded up to the next midnight UTC; a `Date` takes effect at that
//! midnight UTC. In a versioned bucket, `NoncurrentVersionExpiration`
//! removes noncurrent versions ([`LifecycleConfiguration::noncurrent_expiry`])
//! and `ExpiredObjectDeleteMarker` (or `Days`) removes a delete marker left
//! alone ([`LifecycleConfiguration::removes_marker`]); in a bucket never
//! versioned they have nothing to act on, exactly as on S3, which
//! validates them regardless of the bucket's versioning state, as this
//! does.
//!
//! What it refuses, once the rest of the document is valid (transitions
//! included: their `Days`, `Date` and `StorageClass` are checked as S3
//! checks them): `Transition` and `NoncurrentVersionTransition`, which
//! move objects to archive storage classes that Mini AWS does not have.
//! Storing them and never acting would be a wrong success; the answer is
//! `NotImplemented`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Date, Duration, OffsetDateTime, Time};

use super::domain::{ObjectMeta, ObjectSummary};
use super::tags::Tags;

mod validate;
use validate::{check_rule, generated_id, overlapping};

/// The most rules one configuration may hold (not adjustable on S3).
pub const MAX_LIFECYCLE_RULES: usize = 1000;

/// The longest rule ID, in characters.
pub const MAX_LIFECYCLE_RULE_ID_CHARS: usize = 255;

/// The largest object size a filter may name: 1,000 × 2^40 bytes (S3's
/// bound for `ObjectSizeGreaterThan` / `ObjectSizeLessThan`).
pub const MAX_FILTER_SIZE_BYTES: i64 = 1_099_511_627_776_000;

/// Which of S3's error kinds a refusal is (the API names the S3 code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleFault {
    /// The document does not follow the schema (`MalformedXML`).
    Malformed,
    /// A value is out of its range (`InvalidArgument`).
    Argument,
    /// The rules contradict one another or a limit (`InvalidRequest`).
    Request,
    /// A valid rule Mini AWS cannot honour (`NotImplemented`, 501).
    Unsupported,
}

/// Why a lifecycle configuration was refused: S3's kind and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidLifecycle {
    /// The kind of refusal.
    pub fault: LifecycleFault,
    /// What was wrong, in S3's words where S3 has some.
    pub message: String,
}

fn refuse(fault: LifecycleFault, message: impl Into<String>) -> InvalidLifecycle {
    InvalidLifecycle {
        fault,
        message: message.into(),
    }
}

fn malformed(what: &str) -> InvalidLifecycle {
    refuse(
        LifecycleFault::Malformed,
        format!(
            "The XML you provided was not well-formed or did not validate against our published schema: {what}"
        ),
    )
}

/// A rule as the request gives it, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleRuleInput {
    /// `ID` (optional; S3 makes one up when missing).
    pub id: Option<String>,
    /// `Status`: `Enabled` or `Disabled`.
    pub status: String,
    /// The rule's own `Prefix` (the form before filters).
    pub prefix: Option<String>,
    /// `Filter`.
    pub filter: Option<FilterInput>,
    /// `Expiration`.
    pub expiration: Option<ExpirationInput>,
    /// `NoncurrentVersionExpiration`.
    pub noncurrent_expiration: Option<NoncurrentInput>,
    /// `AbortIncompleteMultipartUpload`, with its `DaysAfterInitiation`
    /// when given.
    pub abort_incomplete_multipart_upload: Option<Option<i32>>,
    /// `Transition` elements.
    pub transitions: Vec<TransitionInput>,
    /// `NoncurrentVersionTransition` elements.
    pub noncurrent_transitions: Vec<NoncurrentTransitionInput>,
}

/// A `Transition` as given: validated as S3 validates it, then refused
/// (Mini AWS has no archive storage classes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransitionInput {
    /// `Days`.
    pub days: Option<i32>,
    /// `Date`.
    pub date: Option<OffsetDateTime>,
    /// `StorageClass`.
    pub storage_class: Option<String>,
}

/// A `NoncurrentVersionTransition` as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoncurrentTransitionInput {
    /// `NoncurrentDays`.
    pub noncurrent_days: Option<i32>,
    /// `NewerNoncurrentVersions`.
    pub newer_noncurrent_versions: Option<i32>,
    /// `StorageClass`.
    pub storage_class: Option<String>,
}

/// A `Filter` as given: S3 wants exactly one of its elements (or none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput {
    /// `Prefix`.
    pub prefix: Option<String>,
    /// `Tag` (key, value).
    pub tag: Option<(String, String)>,
    /// `ObjectSizeGreaterThan`.
    pub object_size_greater_than: Option<i64>,
    /// `ObjectSizeLessThan`.
    pub object_size_less_than: Option<i64>,
    /// `And`.
    pub and: Option<AndInput>,
}

/// An `And` as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AndInput {
    /// `Prefix`.
    pub prefix: Option<String>,
    /// `Tag` elements (key, value).
    pub tags: Vec<(String, String)>,
    /// `ObjectSizeGreaterThan`.
    pub object_size_greater_than: Option<i64>,
    /// `ObjectSizeLessThan`.
    pub object_size_less_than: Option<i64>,
}

/// An `Expiration` as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpirationInput {
    /// `Days`.
    pub days: Option<i32>,
    /// `Date`.
    pub date: Option<OffsetDateTime>,
    /// `ExpiredObjectDeleteMarker`.
    pub expired_object_delete_marker: Option<bool>,
}

/// A `NoncurrentVersionExpiration` as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoncurrentInput {
    /// `NoncurrentDays`.
    pub noncurrent_days: Option<i32>,
    /// `NewerNoncurrentVersions`.
    pub newer_noncurrent_versions: Option<i32>,
}

/// S3's `x-amz-transition-default-minimum-object-size`: the smallest
/// object a transition moves. Mini AWS refuses transitions, so it decides
/// nothing here; it is kept so that a configuration reads back as set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransitionMinimumSize {
    /// `all_storage_classes_128K`, S3's default.
    #[default]
    AllStorageClasses128K,
    /// `varies_by_storage_class`.
    VariesByStorageClass,
}

impl TransitionMinimumSize {
    /// The setting a request names (absent: the default).
    ///
    /// # Errors
    /// `Request` for any other value.
    pub fn parse(value: Option<&str>) -> Result<Self, InvalidLifecycle> {
        match value {
            None | Some("all_storage_classes_128K") => Ok(Self::AllStorageClasses128K),
            Some("varies_by_storage_class") => Ok(Self::VariesByStorageClass),
            Some(_) => Err(refuse(
                LifecycleFault::Request,
                "Invalid TransitionDefaultMinimumObjectSize found",
            )),
        }
    }

    /// Its S3 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllStorageClasses128K => "all_storage_classes_128K",
            Self::VariesByStorageClass => "varies_by_storage_class",
        }
    }
}

/// Which objects a rule applies to, in the form it was given (a
/// configuration reads back as it was written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleScope {
    /// The rule's own `Prefix` (the form before filters).
    Prefix(String),
    /// A `Filter`.
    Filter(LifecycleFilter),
}

/// A `Filter`: empty (every object) or exactly one predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LifecycleFilter {
    /// `<Filter/>`: every object.
    All,
    /// Keys starting with this.
    Prefix(String),
    /// Objects carrying this tag (key, value).
    Tag(String, String),
    /// Objects larger than this many bytes.
    SizeGreaterThan(u64),
    /// Objects smaller than this many bytes.
    SizeLessThan(u64),
    /// Objects meeting every predicate.
    And(AndFilter),
}

/// The predicates of an `And`, every one of which an object must meet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AndFilter {
    /// Keys starting with this.
    pub prefix: Option<String>,
    /// Tags the object must carry, each key once.
    pub tags: Vec<(String, String)>,
    /// Objects larger than this many bytes.
    pub size_greater_than: Option<u64>,
    /// Objects smaller than this many bytes.
    pub size_less_than: Option<u64>,
}

/// A rule's `Expiration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    /// This many days after the object was written, rounded up to the next
    /// midnight UTC.
    Days(u32),
    /// From this day's midnight UTC on.
    Date(Date),
    /// `ExpiredObjectDeleteMarker`: removes a delete marker left as its
    /// key's only version (a bucket never versioned has none).
    ExpiredObjectDeleteMarker(bool),
}

/// A rule's `NoncurrentVersionExpiration` (nothing to act on in a bucket
/// never versioned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    /// `NoncurrentDays`.
    pub days: u32,
    /// `NewerNoncurrentVersions`.
    pub newer_versions: Option<u32>,
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// Its ID (given, or made up).
    pub id: String,
    /// `Status` is `Enabled`: a disabled rule does nothing.
    pub enabled: bool,
    /// The objects it applies to.
    pub scope: RuleScope,
    /// `Expiration`.
    pub expiration: Option<Expiration>,
    /// `NoncurrentVersionExpiration`.
    pub noncurrent_expiration: Option<NoncurrentExpiration>,
    /// `AbortIncompleteMultipartUpload`'s `DaysAfterInitiation`.
    pub abort_after_days: Option<u32>,
}

/// A bucket's lifecycle configuration: validated rules, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConfiguration {
    rules: Vec<LifecycleRule>,
    #[serde(default)]
    minimum_object_size: TransitionMinimumSize,
}

impl LifecycleConfiguration {
    /// Validates `rules` as S3 does. The first fault found is the answer:
    /// the number of rules, their IDs, whether rules mix filters with
    /// their own prefixes, then each rule in order; transitions, valid or
    /// not, are refused last (`Unsupported`), so a document S3 would refuse
    /// is refused as S3 refuses it. Rules without an ID get one.
    ///
    /// # Errors
    /// An [`InvalidLifecycle`] with S3's kind and message.
    pub fn new(
        rules: Vec<LifecycleRuleInput>,
        minimum_object_size: TransitionMinimumSize,
    ) -> Result<Self, InvalidLifecycle> {
        if rules.is_empty() {
            return Err(malformed(
                "a lifecycle configuration needs at least one Rule",
            ));
        }
        if rules.len() > MAX_LIFECYCLE_RULES {
            return Err(refuse(
                LifecycleFault::Request,
                format!(
                    "The number of lifecycle rules must not exceed the allowed limit of {MAX_LIFECYCLE_RULES} rules."
                ),
            ));
        }
        let mut ids = BTreeSet::new();
        for id in rules
            .iter()
            .filter_map(|r| r.id.as_deref())
            .filter(|id| !id.is_empty())
        {
            if id.chars().count() > MAX_LIFECYCLE_RULE_ID_CHARS {
                return Err(refuse(
                    LifecycleFault::Argument,
                    format!(
                        "ID length should not exceed allowed limit of {MAX_LIFECYCLE_RULE_ID_CHARS}"
                    ),
                ));
            }
            if !ids.insert(id) {
                return Err(refuse(
                    LifecycleFault::Argument,
                    "Rule ID must be unique. Found same ID for more than one rule",
                ));
            }
        }
        // S3 reads a document whose first rule has a Filter as "Lifecycle
        // V2", where rule-level prefixes are refused, and one whose first
        // rule has a rule-level Prefix as the older form, where filters are.
        let v2 = rules[0].filter.is_some() || rules[0].prefix.is_none();
        if v2 && rules.iter().any(|r| r.prefix.is_some()) {
            return Err(refuse(
                LifecycleFault::Request,
                "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.",
            ));
        }
        if !v2 && rules.iter().any(|r| r.filter.is_some()) {
            return Err(refuse(
                LifecycleFault::Request,
                "Filter element can only be used in Lifecycle V2.",
            ));
        }
        let mut checked = Vec::with_capacity(rules.len());
        for rule in &rules {
            checked.push(check_rule(rule)?);
        }
        if !v2 {
            overlapping(&rules)?;
        }
        if rules
            .iter()
            .any(|r| !r.transitions.is_empty() || !r.noncurrent_transitions.is_empty())
        {
            return Err(refuse(
                LifecycleFault::Unsupported,
                "Transition and NoncurrentVersionTransition actions are not implemented: Mini AWS keeps every object in the STANDARD storage class and has no archive classes to move objects to. Remove the transitions (Expiration, NoncurrentVersionExpiration and AbortIncompleteMultipartUpload are enforced)",
            ));
        }
        for rule in &mut checked {
            if rule.id.is_empty() {
                rule.id = generated_id();
            }
        }
        Ok(Self {
            rules: checked,
            minimum_object_size,
        })
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[LifecycleRule] {
        &self.rules
    }

    /// The transition minimum size setting it was put with.
    pub fn minimum_object_size(&self) -> TransitionMinimumSize {
        self.minimum_object_size
    }

    /// When the object `meta` expires and under which rule: the earliest
    /// of the enabled `Expiration` rules that apply to it (S3: when rules
    /// overlap, the shorter expiration wins; S3 reports that one in
    /// `x-amz-expiration`), the first of them in order on a tie. `None`:
    /// never. The sweep deletes by this very answer, so what a client is
    /// told and what the sweep does cannot disagree.
    pub fn expiration<'a>(&self, meta: impl Into<ExpiryFacts<'a>>) -> Option<ObjectExpiry> {
        let facts = meta.into();
        self.rules
            .iter()
            .filter_map(|r| Some((r.expiry_of(facts)?, r)))
            .min_by_key(|(at, _)| *at)
            .map(|(at, r)| ObjectExpiry {
                at,
                rule_id: r.id.clone(),
            })
    }

    /// When the object `meta` expires: the time of
    /// [`Self::expiration`], from the same per-rule decision, without
    /// naming the rule (the sweep asks this of every object it pages
    /// through, and needs no copy of an ID).
    pub fn expiry_of<'a>(&self, meta: impl Into<ExpiryFacts<'a>>) -> Option<OffsetDateTime> {
        let facts = meta.into();
        self.rules.iter().filter_map(|r| r.expiry_of(facts)).min()
    }

    /// Whether the object `meta` has expired at `now`.
    pub fn is_expired<'a>(&self, meta: impl Into<ExpiryFacts<'a>>, now: OffsetDateTime) -> bool {
        self.expiry_of(meta).is_some_and(|at| at <= now)
    }

    /// When an incomplete multipart upload of `key`, initiated at
    /// `initiated`, is aborted and under which rule: the earliest of the
    /// enabled `AbortIncompleteMultipartUpload` rules whose prefix `key`
    /// has, the first in order on a tie (S3's `x-amz-abort-date` and
    /// `x-amz-abort-rule-id`). `None`: never.
    pub fn abort(&self, key: &str, initiated: OffsetDateTime) -> Option<UploadAbort> {
        self.rules
            .iter()
            .filter_map(|r| Some((r.abort_of(key, initiated)?, r)))
            .min_by_key(|(at, _)| *at)
            .map(|(at, r)| UploadAbort {
                at,
                rule_id: r.id.clone(),
            })
    }

    /// When an incomplete multipart upload of `key`, initiated at
    /// `initiated`, is aborted: the time of [`Self::abort`], without naming
    /// the rule (what the sweep asks).
    pub fn abort_of(&self, key: &str, initiated: OffsetDateTime) -> Option<OffsetDateTime> {
        self.rules
            .iter()
            .filter_map(|r| r.abort_of(key, initiated))
            .min()
    }

    /// The key prefixes a sweep must scan to find every object an enabled
    /// `Expiration` (Days or Date) may select, none inside another: `[""]`
    /// (the whole bucket) when a rule has no prefix. Empty: no rule expires
    /// objects.
    pub fn expiration_prefixes(&self) -> Vec<String> {
        outermost(self.rules.iter().filter(|r| {
            r.enabled
                && matches!(
                    r.expiration,
                    Some(Expiration::Days(_) | Expiration::Date(_))
                )
        }))
    }

    /// The key prefixes a sweep of a versioned bucket must scan, as
    /// [`expiration_prefixes`](Self::expiration_prefixes), for every
    /// enabled rule that acts on versions: an `Expiration` of any kind
    /// (Days and Date expire current versions, and with `Days` or
    /// `ExpiredObjectDeleteMarker` remove expired delete markers) or a
    /// `NoncurrentVersionExpiration`.
    pub fn version_prefixes(&self) -> Vec<String> {
        outermost(
            self.rules.iter().filter(|r| {
                r.enabled && (r.expiration.is_some() || r.noncurrent_expiration.is_some())
            }),
        )
    }

    /// Whether a noncurrent version (or noncurrent delete marker) of `key`
    /// with `tags` and `size_bytes`, noncurrent since `noncurrent_at` and
    /// with `newer` noncurrent versions of its key newer than it, is
    /// removed at `now`; if so, the `NewerNoncurrentVersions` of the rule
    /// that removes it (0 without), which the removal must still find
    /// true. An enabled `NoncurrentVersionExpiration` selects it when its
    /// filter does, `NoncurrentDays` after it became noncurrent (rounded
    /// up to the next midnight UTC, as S3 counts) have passed, and at
    /// least `NewerNoncurrentVersions` newer noncurrent versions are kept
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_NoncurrentVersionExpiration.html>).
    /// With several, the one keeping the fewest.
    pub fn noncurrent_expiry(
        &self,
        key: &str,
        tags: &Tags,
        size_bytes: u64,
        noncurrent_at: OffsetDateTime,
        newer: u32,
        now: OffsetDateTime,
    ) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| r.enabled && r.scope.matches(key, tags, size_bytes))
            .filter_map(|r| r.noncurrent_expiration)
            .filter(|n| days_after(noncurrent_at, n.days).is_some_and(|at| at <= now))
            .map(|n| n.newer_versions.unwrap_or(0))
            .filter(|keep| newer >= *keep)
            .min()
    }

    /// Whether a delete marker of `key`, inserted at `created` and now its
    /// key's only version (an expired object delete marker), is removed
    /// at `now`: an enabled rule selecting it (a marker has no tags and no
    /// size) with `ExpiredObjectDeleteMarker` true, or with an
    /// `Expiration` in `Days` once the marker is that old ("When you
    /// specify the Days tag, Amazon S3 automatically performs
    /// ExpiredObjectDeleteMarker cleanup when the delete markers are old
    /// enough to satisfy the age criteria").
    pub fn removes_marker(&self, key: &str, created: OffsetDateTime, now: OffsetDateTime) -> bool {
        let untagged = Tags::default();
        self.rules
            .iter()
            .filter(|r| r.enabled && r.scope.matches(key, &untagged, 0))
            .any(|r| match r.expiration {
                Some(Expiration::ExpiredObjectDeleteMarker(on)) => on,
                Some(Expiration::Days(days)) => {
                    days_after(created, days).is_some_and(|at| at <= now)
                }
                _ => false,
            })
    }

    /// The key prefixes a sweep must scan for uploads an enabled
    /// `AbortIncompleteMultipartUpload` may abort, as
    /// [`expiration_prefixes`](Self::expiration_prefixes).
    pub fn abort_prefixes(&self) -> Vec<String> {
        outermost(
            self.rules
                .iter()
                .filter(|r| r.enabled && r.abort_after_days.is_some()),
        )
    }
}
/// When an object expires, and the rule that says so: what S3 sends as
/// `x-amz-expiration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectExpiry {
    /// The midnight UTC the object expires at.
    pub at: OffsetDateTime,
    /// The ID of the rule that expires it.
    pub rule_id: String,
}

/// When an incomplete multipart upload is aborted, and the rule that says
/// so: what S3 sends as `x-amz-abort-date` and `x-amz-abort-rule-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadAbort {
    /// The midnight UTC the upload is aborted at.
    pub at: OffsetDateTime,
    /// The ID of the rule that aborts it.
    pub rule_id: String,
}

impl LifecycleRule {
    /// When this rule expires the object `meta`: `None` when the rule is
    /// disabled, has no `Expiration` with `Days` or `Date`, or its filter
    /// does not select the object (prefix, tags, size, `And`). With `Days`,
    /// the object's creation (its last write) plus the days, rounded up to
    /// the next midnight UTC; with `Date`, that day's midnight UTC. The one
    /// decision behind both the sweep and the `x-amz-expiration` header.
    pub fn expiry_of<'a>(&self, meta: impl Into<ExpiryFacts<'a>>) -> Option<OffsetDateTime> {
        let meta = meta.into();
        if !self.enabled || !self.scope.matches(meta.key, meta.tags, meta.size_bytes) {
            return None;
        }
        match self.expiration? {
            Expiration::Days(days) => days_after(meta.last_modified, days),
            Expiration::Date(date) => Some(date.with_time(Time::MIDNIGHT).assume_utc()),
            Expiration::ExpiredObjectDeleteMarker(_) => None,
        }
    }

    /// When this rule aborts an incomplete multipart upload of `key`
    /// initiated at `initiated`: `None` when the rule is disabled, has no
    /// `AbortIncompleteMultipartUpload`, or `key` lacks its prefix
    /// (validation admits no tag or size predicate beside an abort).
    /// `DaysAfterInitiation` is rounded up to the next midnight UTC, as
    /// expirations are.
    pub fn abort_of(&self, key: &str, initiated: OffsetDateTime) -> Option<OffsetDateTime> {
        if !self.enabled || !key.starts_with(self.scope.prefix()) {
            return None;
        }
        days_after(initiated, self.abort_after_days?)
    }
}

/// What an `Expiration` rule decides by: an object's key, tags, size and
/// last write, borrowed from a read object or a listed one.
#[derive(Debug, Clone, Copy)]
pub struct ExpiryFacts<'a> {
    /// The key.
    pub key: &'a str,
    /// Its tags.
    pub tags: &'a Tags,
    /// Its length.
    pub size_bytes: u64,
    /// When it was written.
    pub last_modified: OffsetDateTime,
}

impl<'a> From<&'a ObjectMeta> for ExpiryFacts<'a> {
    fn from(meta: &'a ObjectMeta) -> Self {
        Self {
            key: meta.key.as_str(),
            tags: &meta.tags,
            size_bytes: meta.size_bytes,
            last_modified: meta.last_modified,
        }
    }
}

impl<'a> From<&'a ObjectSummary> for ExpiryFacts<'a> {
    fn from(object: &'a ObjectSummary) -> Self {
        Self {
            key: object.key.as_str(),
            tags: &object.tags,
            size_bytes: object.size_bytes,
            last_modified: object.last_modified,
        }
    }
}

/// The prefixes of `rules`, sorted, without those another one covers.
fn outermost<'a>(rules: impl Iterator<Item = &'a LifecycleRule>) -> Vec<String> {
    let prefixes: BTreeSet<&str> = rules.map(|r| r.scope.prefix()).collect();
    let mut kept: Vec<String> = Vec::new();
    // Sorted, a prefix that covers others comes right before them.
    for p in prefixes {
        if kept.last().is_some_and(|k| p.starts_with(k.as_str())) {
            continue;
        }
        kept.push(p.to_owned());
    }
    kept
}

/// `days` after `from`, rounded up to the next midnight UTC (a time at
/// midnight is its own ceiling): "Amazon S3 calculates the time by adding
/// the number of days specified in the rule to the object creation time
/// and rounding the resulting time to the next day midnight UTC"
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html>).
/// `None` past the calendar's end: never.
pub fn days_after(from: OffsetDateTime, days: u32) -> Option<OffsetDateTime> {
    let at = from
        .to_offset(time::UtcOffset::UTC)
        .checked_add(Duration::days(i64::from(days)))?;
    if at.time() == Time::MIDNIGHT {
        return Some(at);
    }
    at.date()
        .next_day()
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
}

impl RuleScope {
    /// The prefix every key the rule applies to starts with (`""`: any).
    pub fn prefix(&self) -> &str {
        match self {
            Self::Prefix(p) | Self::Filter(LifecycleFilter::Prefix(p)) => p,
            Self::Filter(LifecycleFilter::And(and)) => and.prefix.as_deref().unwrap_or(""),
            Self::Filter(_) => "",
        }
    }

    /// Whether an object with `key`, `tags` and `size_bytes` is one the
    /// rule applies to.
    pub fn matches(&self, key: &str, tags: &Tags, size_bytes: u64) -> bool {
        let has = |k: &str, v: &str| tags.iter().any(|(tk, tv)| tk == k && tv == v);
        match self {
            Self::Prefix(p) => key.starts_with(p.as_str()),
            Self::Filter(f) => match f {
                LifecycleFilter::All => true,
                LifecycleFilter::Prefix(p) => key.starts_with(p.as_str()),
                LifecycleFilter::Tag(k, v) => has(k, v),
                LifecycleFilter::SizeGreaterThan(n) => size_bytes > *n,
                LifecycleFilter::SizeLessThan(n) => size_bytes < *n,
                LifecycleFilter::And(and) => {
                    and.prefix.as_deref().is_none_or(|p| key.starts_with(p))
                        && and.tags.iter().all(|(k, v)| has(k, v))
                        && and.size_greater_than.is_none_or(|n| size_bytes > n)
                        && and.size_less_than.is_none_or(|n| size_bytes < n)
                }
            },
        }
    }

    fn uses_tags(&self) -> bool {
        match self {
            Self::Filter(LifecycleFilter::Tag(..)) => true,
            Self::Filter(LifecycleFilter::And(and)) => !and.tags.is_empty(),
            _ => false,
        }
    }

    fn uses_sizes(&self) -> bool {
        match self {
            Self::Filter(
                LifecycleFilter::SizeGreaterThan(_) | LifecycleFilter::SizeLessThan(_),
            ) => true,
            Self::Filter(LifecycleFilter::And(and)) => {
                and.size_greater_than.is_some() || and.size_less_than.is_some()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
