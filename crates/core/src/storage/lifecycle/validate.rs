//! The checks of [`LifecycleConfiguration::new`](super::LifecycleConfiguration::new):
//! one rule at a time, and the older form's overlapping prefixes, with
//! S3's kinds and messages.

use base64::Engine;
use std::collections::BTreeSet;
use time::{OffsetDateTime, Time};

use super::{
    AndFilter, Expiration, ExpirationInput, FilterInput, InvalidLifecycle, LifecycleFault,
    LifecycleFilter, LifecycleRule, LifecycleRuleInput, MAX_FILTER_SIZE_BYTES,
    NoncurrentExpiration, NoncurrentInput, NoncurrentTransitionInput, RuleScope, TransitionInput,
    malformed, refuse,
};
use crate::storage::domain::MAX_OBJECT_KEY_BYTES;
use crate::storage::tags::{MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN};

/// In the form before filters, no two rules whose prefixes overlap (one
/// starts with the other) may take the same kind of action: S3 answers
/// `InvalidRequest` "Found overlapping prefixes 'a' and 'ab' for same
/// action type 'Expiration'".
pub(super) fn overlapping(rules: &[LifecycleRuleInput]) -> Result<(), InvalidLifecycle> {
    type Takes = fn(&LifecycleRuleInput) -> bool;
    let kinds: [(&str, Takes); 5] = [
        ("Expiration", |r| r.expiration.is_some()),
        ("Transition", |r| !r.transitions.is_empty()),
        ("NoncurrentVersionTransition", |r| {
            !r.noncurrent_transitions.is_empty()
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

/// An ID for a rule given none: S3 makes up a random one too (the base64
/// of a UUID's text, 48 characters).
pub(super) fn generated_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().to_string())
}

pub(super) fn check_rule(rule: &LifecycleRuleInput) -> Result<LifecycleRule, InvalidLifecycle> {
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
        && rule.transitions.is_empty()
        && rule.noncurrent_transitions.is_empty()
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
    for t in &rule.transitions {
        check_transition(t)?;
    }
    for t in &rule.noncurrent_transitions {
        check_noncurrent_transition(t)?;
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

/// The most noncurrent versions a rule may keep: S3 documents "up to 100"
/// for `NewerNoncurrentVersions`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_NoncurrentVersionExpiration.html>)
/// and refuses more.
const MAX_NEWER_NONCURRENT_VERSIONS: u32 = 100;

/// `NewerNoncurrentVersions`, in both noncurrent actions: 1 to 100.
fn newer_versions(v: i32) -> Result<u32, InvalidLifecycle> {
    let v = positive(v).ok_or_else(|| {
        refuse(
            LifecycleFault::Argument,
            "'NewerNoncurrentVersions' must be a positive integer",
        )
    })?;
    if v > MAX_NEWER_NONCURRENT_VERSIONS {
        return Err(refuse(
            LifecycleFault::Argument,
            format!(
                "'NewerNoncurrentVersions' must be less than or equal to {MAX_NEWER_NONCURRENT_VERSIONS}"
            ),
        ));
    }
    Ok(v)
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

/// The storage classes a transition may name (S3's
/// `TransitionStorageClass`).
const TRANSITION_CLASSES: [&str; 6] = [
    "GLACIER",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
];

/// The classes an object must stay 30 days in STANDARD before moving to:
/// S3 refuses a transition to them sooner when the configuration is put
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html>).
const THIRTY_DAY_CLASSES: [&str; 2] = ["STANDARD_IA", "ONEZONE_IA"];

/// The transition's `StorageClass`, one of [`TRANSITION_CLASSES`]: a
/// missing or unknown one does not validate against S3's schema.
fn transition_class<'a>(class: Option<&'a str>, action: &str) -> Result<&'a str, InvalidLifecycle> {
    class
        .filter(|c| TRANSITION_CLASSES.contains(c))
        .ok_or_else(|| {
            malformed(&format!(
                "a {action}'s StorageClass is one of {}",
                TRANSITION_CLASSES.join(", ")
            ))
        })
}

/// `Date` at midnight UTC, as for `Expiration`.
fn midnight(date: OffsetDateTime) -> Result<(), InvalidLifecycle> {
    if date.to_offset(time::UtcOffset::UTC).time() != Time::MIDNIGHT {
        return Err(refuse(
            LifecycleFault::Argument,
            "'Date' must be at midnight GMT",
        ));
    }
    Ok(())
}

fn check_transition(t: &TransitionInput) -> Result<(), InvalidLifecycle> {
    let class = transition_class(t.storage_class.as_deref(), "Transition")?;
    match (t.days, t.date) {
        (Some(days), None) => {
            if days < 0 {
                return Err(refuse(
                    LifecycleFault::Argument,
                    "'Days' in Transition action must be nonnegative",
                ));
            }
            if days < 30 && THIRTY_DAY_CLASSES.contains(&class) {
                return Err(refuse(
                    LifecycleFault::Argument,
                    format!(
                        "'Days' in Transition action must be greater than or equal to 30 for storageClass '{class}'"
                    ),
                ));
            }
            Ok(())
        }
        (None, Some(date)) => midnight(date),
        _ => Err(malformed("a Transition holds exactly one of Days and Date")),
    }
}

fn check_noncurrent_transition(t: &NoncurrentTransitionInput) -> Result<(), InvalidLifecycle> {
    let class = transition_class(t.storage_class.as_deref(), "NoncurrentVersionTransition")?;
    let Some(days) = t.noncurrent_days else {
        return Err(malformed(
            "NoncurrentVersionTransition needs NoncurrentDays",
        ));
    };
    if days < 0 {
        return Err(refuse(
            LifecycleFault::Argument,
            "'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative",
        ));
    }
    if days < 30 && THIRTY_DAY_CLASSES.contains(&class) {
        return Err(refuse(
            LifecycleFault::Argument,
            format!(
                "'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for storageClass '{class}'"
            ),
        ));
    }
    if let Some(v) = t.newer_noncurrent_versions {
        newer_versions(v)?;
    }
    Ok(())
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
            midnight(date)?;
            Ok(Expiration::Date(
                date.to_offset(time::UtcOffset::UTC).date(),
            ))
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
        .map(newer_versions)
        .transpose()?;
    Ok(NoncurrentExpiration {
        days,
        newer_versions,
    })
}
