//! A bucket's lifecycle configuration: its rules, validated as S3 validates
//! PutBucketLifecycleConfiguration, and the rule that says when an object
//! expires or an incomplete multipart upload is aborted.
//!
//! What Mini AWS enforces
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html>):
//! `Expiration` with `Days` or `Date` deletes the objects a rule's filter
//! selects, and `AbortIncompleteMultipartUpload` aborts uploads. Days count
//! from the object's last write (its creation, in S3's words) and the sum
//! is rounded up to the next midnight UTC; a `Date` takes effect at that
//! midnight UTC.
//!
//! What it accepts with nothing to act on, exactly as S3 does for a bucket
//! that was never versioned (and Mini AWS buckets never are):
//! `NoncurrentVersionExpiration` (there are no noncurrent versions) and
//! `ExpiredObjectDeleteMarker` (there are no delete markers). S3 validates
//! them regardless of the bucket's versioning state, and so does this.
//!
//! What it refuses, once the rest of the document is valid: `Transition`
//! and `NoncurrentVersionTransition`, which move objects to archive storage
//! classes that Mini AWS does not have. Storing them and never acting
//! would be a wrong success; the answer is `NotImplemented`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Date, Duration, OffsetDateTime, Time};

use super::domain::{MAX_OBJECT_KEY_BYTES, ObjectMeta};
use super::tags::{MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, Tags};

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
    /// How many `Transition` elements the rule has.
    pub transitions: usize,
    /// How many `NoncurrentVersionTransition` elements the rule has.
    pub noncurrent_transitions: usize,
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
    /// `ExpiredObjectDeleteMarker`: acts on delete markers, which an
    /// unversioned bucket never has.
    ExpiredObjectDeleteMarker(bool),
}

/// A rule's `NoncurrentVersionExpiration` (nothing to act on: buckets here
/// are never versioned).
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
            .any(|r| r.transitions > 0 || r.noncurrent_transitions > 0)
        {
            return Err(refuse(
                LifecycleFault::Unsupported,
                "Transition and NoncurrentVersionTransition actions are not implemented: Mini AWS keeps every object in the STANDARD storage class and has no archive classes to move objects to. Remove the transitions (Expiration and AbortIncompleteMultipartUpload are enforced)",
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

    /// When the object `meta` expires under the enabled rules that apply
    /// to it: the earliest of their `Expiration` times (S3: when rules
    /// overlap, the shorter expiration wins). `None`: never.
    pub fn expiry_of(&self, meta: &ObjectMeta) -> Option<OffsetDateTime> {
        let key = meta.key.as_str();
        self.rules
            .iter()
            .filter(|r| r.enabled && r.scope.matches(key, &meta.tags, meta.size_bytes))
            .filter_map(|r| match r.expiration? {
                Expiration::Days(days) => days_after(meta.last_modified, days),
                Expiration::Date(date) => Some(date.with_time(Time::MIDNIGHT).assume_utc()),
                Expiration::ExpiredObjectDeleteMarker(_) => None,
            })
            .min()
    }

    /// Whether the object `meta` has expired at `now`.
    pub fn is_expired(&self, meta: &ObjectMeta, now: OffsetDateTime) -> bool {
        self.expiry_of(meta).is_some_and(|at| at <= now)
    }

    /// When an incomplete multipart upload of `key`, initiated at
    /// `initiated`, is aborted under the enabled rules whose prefix `key`
    /// has (validation admits no tag or size predicate beside an abort).
    pub fn abort_of(&self, key: &str, initiated: OffsetDateTime) -> Option<OffsetDateTime> {
        self.rules
            .iter()
            .filter(|r| r.enabled && key.starts_with(r.scope.prefix()))
            .filter_map(|r| days_after(initiated, r.abort_after_days?))
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

/// In the form before filters, no two rules whose prefixes overlap (one
/// starts with the other) may take the same kind of action: S3 answers
/// `InvalidRequest` "Found overlapping prefixes 'a' and 'ab' for same
/// action type 'Expiration'".
fn overlapping(rules: &[LifecycleRuleInput]) -> Result<(), InvalidLifecycle> {
    type Takes = fn(&LifecycleRuleInput) -> bool;
    let kinds: [(&str, Takes); 5] = [
        ("Expiration", |r| r.expiration.is_some()),
        ("Transition", |r| r.transitions > 0),
        ("NoncurrentVersionTransition", |r| {
            r.noncurrent_transitions > 0
        }),
        ("NoncurrentVersionExpiration", |r| {
            r.noncurrent_expiration.is_some()
        }),
        ("AbortIncompleteMultipartUpload", |r| {
            r.abort_incomplete_multipart_upload.is_some()
        }),
    ];
    for (kind, takes) in kinds {
        let mut prefixes: Vec<&str> = rules
            .iter()
            .filter(|r| takes(r))
            .filter_map(|r| r.prefix.as_deref())
            .collect();
        prefixes.sort_unstable();
        // Sorted, a prefix that starts another comes right before it (or
        // before one that it also starts).
        if let Some(pair) = prefixes.windows(2).find(|w| w[1].starts_with(w[0])) {
            return Err(refuse(
                LifecycleFault::Request,
                format!(
                    "Found overlapping prefixes '{}' and '{}' for same action type '{kind}'",
                    pair[0], pair[1]
                ),
            ));
        }
    }
    Ok(())
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

/// An ID for a rule given none: S3 makes up a random one too (the base64
/// of a UUID's text, 48 characters).
fn generated_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().to_string())
}

fn check_rule(rule: &LifecycleRuleInput) -> Result<LifecycleRule, InvalidLifecycle> {
    let enabled = match rule.status.as_str() {
        "Enabled" => true,
        "Disabled" => false,
        _ => return Err(malformed("a rule's Status is Enabled or Disabled")),
    };
    let scope = match (&rule.prefix, &rule.filter) {
        (None, None) => return Err(malformed("a rule needs a Filter (or a Prefix)")),
        (Some(_), Some(_)) => {
            return Err(refuse(
                LifecycleFault::Request,
                "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.",
            ));
        }
        (Some(prefix), None) => {
            check_prefix(prefix)?;
            RuleScope::Prefix(prefix.clone())
        }
        (None, Some(filter)) => RuleScope::Filter(check_filter(filter)?),
    };
    if rule.expiration.is_none()
        && rule.noncurrent_expiration.is_none()
        && rule.abort_incomplete_multipart_upload.is_none()
        && rule.transitions == 0
        && rule.noncurrent_transitions == 0
    {
        return Err(refuse(
            LifecycleFault::Request,
            "At least one action needs to be specified in a rule",
        ));
    }
    let expiration = rule.expiration.as_ref().map(check_expiration).transpose()?;
    if let Some(Expiration::ExpiredObjectDeleteMarker(_)) = expiration {
        if scope.uses_tags() {
            return Err(refuse(
                LifecycleFault::Request,
                "ExpiredObjectDeleteMarker cannot be specified with Tags.",
            ));
        }
        if scope.uses_sizes() {
            return Err(refuse(
                LifecycleFault::Request,
                "ExpiredObjectDeleteMarker cannot be specified with Object Size.",
            ));
        }
    }
    let noncurrent_expiration = rule
        .noncurrent_expiration
        .as_ref()
        .map(check_noncurrent)
        .transpose()?;
    let abort_after_days = match rule.abort_incomplete_multipart_upload {
        None => None,
        Some(None) => {
            return Err(malformed(
                "AbortIncompleteMultipartUpload needs DaysAfterInitiation",
            ));
        }
        Some(Some(days)) => Some(positive(days).ok_or_else(|| {
            refuse(
                LifecycleFault::Argument,
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
            )
        })?),
    };
    if abort_after_days.is_some() {
        if scope.uses_tags() {
            return Err(refuse(
                LifecycleFault::Request,
                "AbortIncompleteMultipartUpload cannot be specified with Tags.",
            ));
        }
        if scope.uses_sizes() {
            return Err(refuse(
                LifecycleFault::Request,
                "AbortIncompleteMultipartUpload cannot be specified with Object Size.",
            ));
        }
    }
    Ok(LifecycleRule {
        id: rule.id.clone().unwrap_or_default(),
        enabled,
        scope,
        expiration,
        noncurrent_expiration,
        abort_after_days,
    })
}

fn positive(n: i32) -> Option<u32> {
    u32::try_from(n).ok().filter(|n| *n > 0)
}

fn check_prefix(prefix: &str) -> Result<(), InvalidLifecycle> {
    if prefix.len() > MAX_OBJECT_KEY_BYTES {
        return Err(refuse(
            LifecycleFault::Request,
            format!("The maximum size of a prefix is {MAX_OBJECT_KEY_BYTES}"),
        ));
    }
    Ok(())
}

fn check_tags(tags: &[(String, String)]) -> Result<(), InvalidLifecycle> {
    let mut keys = BTreeSet::new();
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > MAX_TAG_KEY_LEN {
            return Err(refuse(
                LifecycleFault::Request,
                format!("A Tag's Key must be a length between 1 and {MAX_TAG_KEY_LEN}"),
            ));
        }
        if v.chars().count() > MAX_TAG_VALUE_LEN {
            return Err(refuse(
                LifecycleFault::Request,
                format!("A Tag's Value must be a length between 0 and {MAX_TAG_VALUE_LEN}"),
            ));
        }
        if !keys.insert(k) {
            return Err(refuse(
                LifecycleFault::Request,
                "Duplicate Tag Keys are not allowed.",
            ));
        }
    }
    Ok(())
}

fn size_greater(n: i64) -> Result<u64, InvalidLifecycle> {
    u64::try_from(n)
        .ok()
        .filter(|_| n <= MAX_FILTER_SIZE_BYTES)
        .ok_or_else(|| {
            refuse(
                LifecycleFault::Request,
                format!("'ObjectSizeGreaterThan' should be between 0 and {MAX_FILTER_SIZE_BYTES}."),
            )
        })
}

fn size_less(n: i64) -> Result<u64, InvalidLifecycle> {
    u64::try_from(n)
        .ok()
        .filter(|n| *n >= 1 && *n as i64 <= MAX_FILTER_SIZE_BYTES)
        .ok_or_else(|| {
            refuse(
                LifecycleFault::Request,
                format!("'ObjectSizeLessThan' should be between 1 and {MAX_FILTER_SIZE_BYTES}."),
            )
        })
}

fn check_filter(f: &FilterInput) -> Result<LifecycleFilter, InvalidLifecycle> {
    let given = usize::from(f.prefix.is_some())
        + usize::from(f.tag.is_some())
        + usize::from(f.object_size_greater_than.is_some())
        + usize::from(f.object_size_less_than.is_some())
        + usize::from(f.and.is_some());
    if given > 1 {
        return Err(malformed(
            "a Filter holds exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan and And (combine them with And)",
        ));
    }
    if let Some(p) = &f.prefix {
        check_prefix(p)?;
        return Ok(LifecycleFilter::Prefix(p.clone()));
    }
    if let Some((k, v)) = &f.tag {
        check_tags(std::slice::from_ref(&(k.clone(), v.clone())))?;
        return Ok(LifecycleFilter::Tag(k.clone(), v.clone()));
    }
    if let Some(n) = f.object_size_greater_than {
        return Ok(LifecycleFilter::SizeGreaterThan(size_greater(n)?));
    }
    if let Some(n) = f.object_size_less_than {
        return Ok(LifecycleFilter::SizeLessThan(size_less(n)?));
    }
    let Some(and) = &f.and else {
        return Ok(LifecycleFilter::All);
    };
    if and.prefix.is_none()
        && and.tags.is_empty()
        && and.object_size_greater_than.is_none()
        && and.object_size_less_than.is_none()
    {
        return Err(malformed("an And needs at least one predicate"));
    }
    if let Some(p) = &and.prefix {
        check_prefix(p)?;
    }
    check_tags(&and.tags)?;
    let greater = and.object_size_greater_than.map(size_greater).transpose()?;
    let less = and.object_size_less_than.map(size_less).transpose()?;
    if let (Some(g), Some(l)) = (greater, less)
        && l <= g
    {
        return Err(refuse(
            LifecycleFault::Request,
            "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.",
        ));
    }
    Ok(LifecycleFilter::And(AndFilter {
        prefix: and.prefix.clone(),
        tags: and.tags.clone(),
        size_greater_than: greater,
        size_less_than: less,
    }))
}

fn check_expiration(e: &ExpirationInput) -> Result<Expiration, InvalidLifecycle> {
    match (e.days, e.date, e.expired_object_delete_marker) {
        (Some(days), None, None) => positive(days).map(Expiration::Days).ok_or_else(|| {
            refuse(
                LifecycleFault::Argument,
                "'Days' for Expiration action must be a positive integer",
            )
        }),
        (None, Some(date), None) => {
            let date = date.to_offset(time::UtcOffset::UTC);
            if date.time() != Time::MIDNIGHT {
                return Err(refuse(
                    LifecycleFault::Argument,
                    "'Date' must be at midnight GMT",
                ));
            }
            Ok(Expiration::Date(date.date()))
        }
        (None, None, Some(marker)) => Ok(Expiration::ExpiredObjectDeleteMarker(marker)),
        _ => Err(malformed(
            "an Expiration holds exactly one of Days, Date and ExpiredObjectDeleteMarker",
        )),
    }
}

fn check_noncurrent(n: &NoncurrentInput) -> Result<NoncurrentExpiration, InvalidLifecycle> {
    let Some(days) = n.noncurrent_days else {
        return Err(malformed(
            "NoncurrentVersionExpiration needs NoncurrentDays",
        ));
    };
    let days = positive(days).ok_or_else(|| {
        refuse(
            LifecycleFault::Argument,
            "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
        )
    })?;
    let newer_versions = n
        .newer_noncurrent_versions
        .map(|v| {
            positive(v).ok_or_else(|| {
                refuse(
                    LifecycleFault::Argument,
                    "'NewerNoncurrentVersions' must be a positive integer",
                )
            })
        })
        .transpose()?;
    Ok(NoncurrentExpiration {
        days,
        newer_versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{BlobId, BucketName, ETag, ObjectId, ObjectKey};
    use time::macros::datetime;

    fn rule(id: &str, filter: FilterInput) -> LifecycleRuleInput {
        LifecycleRuleInput {
            id: Some(id.into()),
            status: "Enabled".into(),
            filter: Some(filter),
            expiration: Some(ExpirationInput {
                days: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn prefix(p: &str) -> FilterInput {
        FilterInput {
            prefix: Some(p.into()),
            ..Default::default()
        }
    }

    fn days(r: LifecycleRuleInput, days: i32) -> LifecycleRuleInput {
        LifecycleRuleInput {
            expiration: Some(ExpirationInput {
                days: Some(days),
                ..Default::default()
            }),
            ..r
        }
    }

    fn tag(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    fn object(key: &str, tags: &[(&str, &str)], size: u64, at: OffsetDateTime) -> ObjectMeta {
        ObjectMeta {
            id: ObjectId::new(),
            bucket: BucketName::parse("bkt").expect("name"),
            key: ObjectKey::parse(key).expect("key"),
            blob_id: BlobId::new(),
            size_bytes: size,
            etag: ETag::from_stored("e".to_owned()),
            content_type: "text/plain".into(),
            user_metadata: Default::default(),
            headers: Default::default(),
            last_modified: at,
            parts: vec![],
            tags: Tags::new(tags.iter().map(|(k, v)| tag(k, v)).collect()).expect("tags"),
        }
    }

    fn config(rules: Vec<LifecycleRuleInput>) -> LifecycleConfiguration {
        LifecycleConfiguration::new(rules, TransitionMinimumSize::default()).expect("valid")
    }

    #[test]
    fn validation_follows_s3() {
        use LifecycleFault::*;
        let base = || rule("r", prefix("logs/"));
        let with = |f: &dyn Fn(&mut LifecycleRuleInput)| {
            let mut r = base();
            f(&mut r);
            vec![r]
        };
        let long_id = "x".repeat(256);
        type Case = (
            &'static str,
            Vec<LifecycleRuleInput>,
            Option<(LifecycleFault, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            ("a simple rule", vec![base()], None),
            ("no rules", vec![], Some((Malformed, "at least one Rule"))),
            (
                "1,001 rules",
                (0..1001)
                    .map(|i| rule(&format!("r{i}"), prefix("")))
                    .collect(),
                Some((Request, "allowed limit of 1000 rules")),
            ),
            (
                "1,000 rules",
                (0..1000)
                    .map(|i| rule(&format!("r{i}"), prefix("")))
                    .collect(),
                None,
            ),
            (
                "an ID of 256 characters",
                vec![rule(&long_id, prefix(""))],
                Some((Argument, "ID length should not exceed allowed limit of 255")),
            ),
            (
                "the same ID twice",
                vec![rule("a", prefix("x")), rule("a", prefix("y"))],
                Some((Argument, "Rule ID must be unique")),
            ),
            (
                "a Status that is neither",
                with(&|r| r.status = "enabled".into()),
                Some((Malformed, "Status")),
            ),
            (
                "neither Filter nor Prefix",
                with(&|r| r.filter = None),
                Some((Malformed, "Filter")),
            ),
            (
                "Filter and Prefix",
                with(&|r| r.prefix = Some("a".into())),
                Some((Request, "Base level prefix cannot be used in Lifecycle V2")),
            ),
            (
                "the old Prefix form alone",
                with(&|r| {
                    r.filter = None;
                    r.prefix = Some("logs/".into())
                }),
                None,
            ),
            (
                "rules mixing the two forms",
                vec![base(), {
                    let mut r = rule("old", prefix(""));
                    r.filter = None;
                    r.prefix = Some("tmp/".into());
                    r
                }],
                Some((Request, "Base level prefix cannot be used in Lifecycle V2")),
            ),
            (
                "the old form, then a Filter",
                vec![
                    {
                        let mut r = rule("old", prefix(""));
                        r.filter = None;
                        r.prefix = Some("tmp/".into());
                        r
                    },
                    base(),
                ],
                Some((Request, "Filter element can only be used in Lifecycle V2.")),
            ),
            (
                "the old form: overlapping prefixes for one action",
                ["logs/", "logs/app/"]
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let mut r = rule(&format!("r{i}"), prefix(""));
                        r.filter = None;
                        r.prefix = Some((*p).into());
                        r
                    })
                    .collect(),
                Some((
                    Request,
                    "Found overlapping prefixes 'logs/' and 'logs/app/' for same action type 'Expiration'",
                )),
            ),
            (
                "the old form: overlapping prefixes for different actions",
                vec![
                    {
                        let mut r = rule("a", prefix(""));
                        r.filter = None;
                        r.prefix = Some("logs/".into());
                        r
                    },
                    {
                        let mut r = rule("b", prefix(""));
                        r.filter = None;
                        r.prefix = Some("logs/app/".into());
                        r.expiration = None;
                        r.abort_incomplete_multipart_upload = Some(Some(1));
                        r
                    },
                ],
                None,
            ),
            (
                "overlapping prefixes in filters are fine",
                vec![rule("a", prefix("logs/")), rule("b", prefix("logs/app/"))],
                None,
            ),
            (
                "a Filter with two elements",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        prefix: Some("a".into()),
                        tag: Some(tag("k", "v")),
                        ..Default::default()
                    })
                }),
                Some((Malformed, "exactly one of Prefix, Tag")),
            ),
            (
                "an empty Filter",
                with(&|r| r.filter = Some(FilterInput::default())),
                None,
            ),
            (
                "an empty And",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        and: Some(AndInput::default()),
                        ..Default::default()
                    })
                }),
                Some((Malformed, "And")),
            ),
            (
                "And with a duplicate tag key",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        and: Some(AndInput {
                            tags: vec![tag("k", "1"), tag("k", "2")],
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                }),
                Some((Request, "Duplicate Tag Keys are not allowed.")),
            ),
            (
                "And with sizes the wrong way round",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        and: Some(AndInput {
                            object_size_greater_than: Some(100),
                            object_size_less_than: Some(100),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                }),
                Some((
                    Request,
                    "'ObjectSizeLessThan' has to be a value greater than",
                )),
            ),
            (
                "a negative ObjectSizeGreaterThan",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        object_size_greater_than: Some(-1),
                        ..Default::default()
                    })
                }),
                Some((Request, "'ObjectSizeGreaterThan' should be between 0 and")),
            ),
            (
                "ObjectSizeLessThan of 0",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        object_size_less_than: Some(0),
                        ..Default::default()
                    })
                }),
                Some((Request, "'ObjectSizeLessThan' should be between 1 and")),
            ),
            (
                "a tag with an empty key",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        tag: Some(tag("", "v")),
                        ..Default::default()
                    })
                }),
                Some((Request, "A Tag's Key must be a length between 1 and 128")),
            ),
            (
                "no action",
                with(&|r| r.expiration = None),
                Some((
                    Request,
                    "At least one action needs to be specified in a rule",
                )),
            ),
            (
                "Days 0",
                vec![days(base(), 0)],
                Some((
                    Argument,
                    "'Days' for Expiration action must be a positive integer",
                )),
            ),
            (
                "Days -1",
                vec![days(base(), -1)],
                Some((
                    Argument,
                    "'Days' for Expiration action must be a positive integer",
                )),
            ),
            (
                "Days and Date",
                with(&|r| {
                    r.expiration = Some(ExpirationInput {
                        days: Some(1),
                        date: Some(datetime!(2030-01-01 0:00 UTC)),
                        ..Default::default()
                    })
                }),
                Some((Malformed, "exactly one of Days, Date")),
            ),
            (
                "an empty Expiration",
                with(&|r| r.expiration = Some(ExpirationInput::default())),
                Some((Malformed, "exactly one of Days, Date")),
            ),
            (
                "a Date at midnight",
                with(&|r| {
                    r.expiration = Some(ExpirationInput {
                        date: Some(datetime!(2030-01-01 0:00 UTC)),
                        ..Default::default()
                    })
                }),
                None,
            ),
            (
                "a Date not at midnight",
                with(&|r| {
                    r.expiration = Some(ExpirationInput {
                        date: Some(datetime!(2030-01-01 0:00:01 UTC)),
                        ..Default::default()
                    })
                }),
                Some((Argument, "'Date' must be at midnight GMT")),
            ),
            (
                "a Date at midnight elsewhere",
                with(&|r| {
                    r.expiration = Some(ExpirationInput {
                        date: Some(datetime!(2030-01-01 0:00 +1)),
                        ..Default::default()
                    })
                }),
                Some((Argument, "'Date' must be at midnight GMT")),
            ),
            (
                "ExpiredObjectDeleteMarker (nothing to act on, valid)",
                with(&|r| {
                    r.expiration = Some(ExpirationInput {
                        expired_object_delete_marker: Some(true),
                        ..Default::default()
                    })
                }),
                None,
            ),
            (
                "ExpiredObjectDeleteMarker with a tag",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        tag: Some(tag("k", "v")),
                        ..Default::default()
                    });
                    r.expiration = Some(ExpirationInput {
                        expired_object_delete_marker: Some(true),
                        ..Default::default()
                    })
                }),
                Some((
                    Request,
                    "ExpiredObjectDeleteMarker cannot be specified with Tags.",
                )),
            ),
            (
                "NoncurrentVersionExpiration (nothing to act on, valid)",
                with(&|r| {
                    r.expiration = None;
                    r.noncurrent_expiration = Some(NoncurrentInput {
                        noncurrent_days: Some(30),
                        newer_noncurrent_versions: Some(2),
                    })
                }),
                None,
            ),
            (
                "NoncurrentDays 0",
                with(&|r| {
                    r.noncurrent_expiration = Some(NoncurrentInput {
                        noncurrent_days: Some(0),
                        ..Default::default()
                    })
                }),
                Some((Argument, "'NoncurrentDays' for NoncurrentVersionExpiration")),
            ),
            (
                "NoncurrentVersionExpiration without days",
                with(&|r| r.noncurrent_expiration = Some(NoncurrentInput::default())),
                Some((Malformed, "NoncurrentDays")),
            ),
            (
                "an abort rule",
                with(&|r| {
                    r.expiration = None;
                    r.abort_incomplete_multipart_upload = Some(Some(7))
                }),
                None,
            ),
            (
                "an abort without days",
                with(&|r| r.abort_incomplete_multipart_upload = Some(None)),
                Some((Malformed, "DaysAfterInitiation")),
            ),
            (
                "an abort after 0 days",
                with(&|r| r.abort_incomplete_multipart_upload = Some(Some(0))),
                Some((
                    Argument,
                    "'DaysAfterInitiation' for AbortIncompleteMultipartUpload",
                )),
            ),
            (
                "an abort with a tag filter",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        tag: Some(tag("k", "v")),
                        ..Default::default()
                    });
                    r.abort_incomplete_multipart_upload = Some(Some(1))
                }),
                Some((
                    Request,
                    "AbortIncompleteMultipartUpload cannot be specified with Tags.",
                )),
            ),
            (
                "an abort with a size filter",
                with(&|r| {
                    r.filter = Some(FilterInput {
                        object_size_greater_than: Some(10),
                        ..Default::default()
                    });
                    r.abort_incomplete_multipart_upload = Some(Some(1))
                }),
                Some((
                    Request,
                    "AbortIncompleteMultipartUpload cannot be specified with Object Size.",
                )),
            ),
            (
                "a transition",
                with(&|r| r.transitions = 1),
                Some((
                    Unsupported,
                    "Transition and NoncurrentVersionTransition actions are not implemented",
                )),
            ),
            (
                "a transition alone is an action, refused as not implemented",
                with(&|r| {
                    r.expiration = None;
                    r.noncurrent_transitions = 1
                }),
                Some((Unsupported, "not implemented")),
            ),
            (
                "a transition in an otherwise invalid rule: the invalid part first",
                vec![{
                    let mut r = days(base(), 0);
                    r.transitions = 1;
                    r
                }],
                Some((Argument, "'Days' for Expiration")),
            ),
        ];
        for (what, rules, want) in cases {
            match (
                LifecycleConfiguration::new(rules, TransitionMinimumSize::default()),
                want,
            ) {
                (Ok(_), None) => {}
                (Err(e), Some((fault, msg))) => {
                    assert_eq!(e.fault, fault, "{what}: {e}");
                    assert!(e.message.contains(msg), "{what}: got `{e}`");
                }
                (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
            }
        }
        assert!(TransitionMinimumSize::parse(Some("varies_by_storage_class")).is_ok());
        assert_eq!(
            TransitionMinimumSize::parse(Some("tiny"))
                .unwrap_err()
                .fault,
            LifecycleFault::Request
        );
    }

    #[test]
    fn a_rule_without_an_id_gets_one() {
        let mut r = rule("", prefix(""));
        r.id = None;
        let c = config(vec![r, rule("named", prefix("a"))]);
        assert_eq!(c.rules()[0].id.len(), 48, "{:?}", c.rules()[0].id);
        assert_eq!(c.rules()[1].id, "named");
    }

    #[test]
    fn days_count_from_the_write_rounded_up_to_midnight_utc() {
        // The user guide's example: written 2014-01-15 10:30 UTC, 3 days:
        // due 2014-01-19 00:00 UTC.
        assert_eq!(
            days_after(datetime!(2014-01-15 10:30 UTC), 3),
            Some(datetime!(2014-01-19 0:00 UTC))
        );
        // Written at midnight: that midnight plus the days exactly.
        assert_eq!(
            days_after(datetime!(2014-01-02 0:00 UTC), 1),
            Some(datetime!(2014-01-03 0:00 UTC))
        );
        // Five minutes past midnight, one day: the midnight after next.
        assert_eq!(
            days_after(datetime!(2014-01-02 0:05 UTC), 1),
            Some(datetime!(2014-01-04 0:00 UTC))
        );
        // A time in another offset counts in UTC.
        assert_eq!(
            days_after(datetime!(2014-01-02 23:30 -1), 1),
            Some(datetime!(2014-01-05 0:00 UTC))
        );
        // Beyond the calendar: never.
        assert_eq!(days_after(datetime!(2014-01-02 0:00 UTC), u32::MAX), None);
    }

    #[test]
    fn which_objects_expire_when() {
        let written = datetime!(2026-03-10 15:00 UTC);
        let c = config(vec![
            days(rule("logs", prefix("logs/")), 2),
            LifecycleRuleInput {
                expiration: Some(ExpirationInput {
                    date: Some(datetime!(2026-03-11 0:00 UTC)),
                    ..Default::default()
                }),
                ..rule(
                    "tmp-tagged",
                    FilterInput {
                        tag: Some(tag("tmp", "yes")),
                        ..Default::default()
                    },
                )
            },
            days(
                rule(
                    "big-cache",
                    FilterInput {
                        and: Some(AndInput {
                            prefix: Some("cache/".into()),
                            tags: vec![tag("kind", "cache")],
                            object_size_greater_than: Some(100),
                            object_size_less_than: Some(1000),
                        }),
                        ..Default::default()
                    },
                ),
                1,
            ),
            days(
                rule(
                    "small",
                    FilterInput {
                        object_size_less_than: Some(10),
                        ..Default::default()
                    },
                ),
                5,
            ),
            LifecycleRuleInput {
                status: "Disabled".into(),
                ..days(rule("off", prefix("keep/")), 1)
            },
        ]);
        let at = |key: &str, tags: &[(&str, &str)], size: u64| {
            c.expiry_of(&object(key, tags, size, written))
        };
        // (what, key, tags, size, expected expiry)
        type Case<'a> = (
            &'a str,
            &'a str,
            Vec<(&'a str, &'a str)>,
            u64,
            Option<OffsetDateTime>,
        );
        let cases: Vec<Case> = vec![
            (
                "prefix, 2 days",
                "logs/a",
                vec![],
                50,
                Some(datetime!(2026-03-13 0:00 UTC)),
            ),
            ("outside every rule", "data/a", vec![], 50, None),
            ("a prefix is not a substring", "x/logs/a", vec![], 50, None),
            (
                "tag and date",
                "data/t",
                vec![("tmp", "yes")],
                50,
                Some(datetime!(2026-03-11 0:00 UTC)),
            ),
            (
                "tag with another value",
                "data/t",
                vec![("tmp", "no")],
                50,
                None,
            ),
            (
                "two rules: the earlier wins",
                "logs/t",
                vec![("tmp", "yes")],
                50,
                Some(datetime!(2026-03-11 0:00 UTC)),
            ),
            (
                "And: all of it",
                "cache/a",
                vec![("kind", "cache")],
                500,
                Some(datetime!(2026-03-12 0:00 UTC)),
            ),
            (
                "And: too small",
                "cache/a",
                vec![("kind", "cache")],
                100,
                None,
            ),
            (
                "And: too large",
                "cache/a",
                vec![("kind", "cache")],
                1000,
                None,
            ),
            ("And: without the tag", "cache/a", vec![], 500, None),
            (
                "And: another prefix",
                "cachet/a",
                vec![("kind", "cache")],
                500,
                None,
            ),
            (
                "size less than",
                "data/s",
                vec![],
                9,
                Some(datetime!(2026-03-16 0:00 UTC)),
            ),
            ("disabled rule", "keep/a", vec![], 50, None),
        ];
        for (what, key, tags, size, want) in cases {
            assert_eq!(at(key, &tags, size), want, "{what}");
        }
        let log = object("logs/a", &[], 50, written);
        assert!(!c.is_expired(&log, datetime!(2026-03-12 23:59:59 UTC)));
        assert!(c.is_expired(&log, datetime!(2026-03-13 0:00 UTC)));
        assert_eq!(
            c.expiration_prefixes(),
            vec![String::new()],
            "rules without a prefix: the whole bucket"
        );
    }

    #[test]
    fn uploads_are_aborted_after_their_days() {
        let abort = |id: &str, p: &str, d: i32, enabled: bool| LifecycleRuleInput {
            expiration: None,
            abort_incomplete_multipart_upload: Some(Some(d)),
            status: if enabled { "Enabled" } else { "Disabled" }.into(),
            ..rule(id, prefix(p))
        };
        let c = config(vec![
            abort("a", "up/", 3, true),
            abort("b", "up/fast/", 1, true),
            abort("c", "off/", 1, false),
            days(rule("expire", prefix("exp/")), 1),
        ]);
        let started = datetime!(2026-03-10 8:00 UTC);
        assert_eq!(
            c.abort_of("up/x", started),
            Some(datetime!(2026-03-14 0:00 UTC))
        );
        assert_eq!(
            c.abort_of("up/fast/x", started),
            Some(datetime!(2026-03-12 0:00 UTC))
        );
        assert_eq!(c.abort_of("off/x", started), None);
        assert_eq!(
            c.abort_of("exp/x", started),
            None,
            "expiration is not abort"
        );
        assert_eq!(c.abort_prefixes(), vec!["up/".to_owned()]);
        assert_eq!(c.expiration_prefixes(), vec!["exp/".to_owned()]);
    }

    #[test]
    fn stored_form_round_trips() {
        let c = config(vec![rule("r", prefix("a/"))]);
        let json = serde_json::to_string(&c).expect("json");
        let back: LifecycleConfiguration = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, c);
    }
}
