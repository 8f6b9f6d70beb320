//! Object and bucket tags: S3's key-value labels on an object or a
//! bucket, validated as S3 does.
//!
//! The rules (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-managing.html>): at most
//! 10 tags on an object; keys unique, 1 to 128 characters, not starting
//! with `aws:`; values 0 to 256 characters; Unicode letters, digits, white
//! space and `+ - = . _ : / @` only. S3 counts lengths in UTF-16 code
//! units ("object tags are internally represented in UTF-16"), and so do
//! we.
//!
//! A bucket follows the same rules for its keys and values, with at most
//! 50 tags ("A tag set can contain as many as 50 tags, or it can be
//! empty", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/CostAllocTagging.html>).

use crate::error::{CoreError, CoreResult, TagProblem};

/// The most tags an object may carry.
pub const MAX_TAGS: usize = 10;

/// The most tags a bucket may carry.
pub const MAX_BUCKET_TAGS: usize = 50;

/// The longest tag key, in UTF-16 code units.
pub const MAX_TAG_KEY_LEN: usize = 128;

/// The longest tag value, in UTF-16 code units.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// The reserved key prefix (compared without regard to ASCII case).
const RESERVED_PREFIX: &str = "aws:";

/// An object's or a bucket's tag set: valid under S3's rules, in the order
/// it was given (GetObjectTagging and GetBucketTagging answer it in that
/// order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    /// Validates `pairs` (key, value) as a tag set.
    ///
    /// # Errors
    /// `InvalidTag` naming the broken rule, with S3's message: more than
    /// [`MAX_TAGS`] tags is [`TagProblem::TooMany`], anything else
    /// [`TagProblem::Invalid`].
    pub fn new(pairs: Vec<(String, String)>) -> CoreResult<Self> {
        if pairs.len() > MAX_TAGS {
            return Err(CoreError::InvalidTag {
                problem: TagProblem::TooMany,
                message: format!("Object tags cannot be greater than {MAX_TAGS}"),
            });
        }
        Self::checked(pairs)
    }

    /// Validates `pairs` (key, value) as a bucket's tag set: the rules of
    /// [`Tags::new`], with at most [`MAX_BUCKET_TAGS`] tags.
    ///
    /// # Errors
    /// As [`Tags::new`]; more than [`MAX_BUCKET_TAGS`] is
    /// [`TagProblem::TooMany`] with S3's bucket message ("Bucket tag count
    /// cannot be greater than 50", code `BadRequest`: AWS documents the
    /// limit but not the answer; this is the answer observed on S3 and
    /// reproduced by S3-compatible servers that test against it, e.g.
    /// versitygw's `ErrBucketTaggingLimited` and Scality CloudServer's
    /// `bucketPutTagging`).
    ///
    /// The count is checked first, as for objects: S3 reportedly checks
    /// each tag first and the count last (Scality's tests against AWS,
    /// scality/cloudserver#4451), so 51 tags of which one is invalid are
    /// `BadRequest` here and `InvalidTag` there. Kept: checking the count
    /// first bounds the work on a huge set (the duplicate check is
    /// quadratic).
    pub fn for_bucket(pairs: Vec<(String, String)>) -> CoreResult<Self> {
        if pairs.len() > MAX_BUCKET_TAGS {
            return Err(CoreError::InvalidTag {
                problem: TagProblem::TooMany,
                message: format!("Bucket tag count cannot be greater than {MAX_BUCKET_TAGS}"),
            });
        }
        Self::checked(pairs)
    }

    /// The rules of both kinds but the count.
    fn checked(pairs: Vec<(String, String)>) -> CoreResult<Self> {
        for (i, (key, value)) in pairs.iter().enumerate() {
            if key.is_empty() || !key.chars().all(allowed) {
                return Err(invalid("The TagKey you have provided is invalid"));
            }
            if utf16_len(key) > MAX_TAG_KEY_LEN {
                return Err(invalid(format!(
                    "The TagKey you have provided is too long, max {MAX_TAG_KEY_LEN}"
                )));
            }
            if key
                .get(..RESERVED_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_PREFIX))
            {
                return Err(invalid(format!(
                    "Your TagKey cannot be prefixed with {RESERVED_PREFIX}"
                )));
            }
            if !value.chars().all(allowed) {
                return Err(invalid("The TagValue you have provided is invalid"));
            }
            if utf16_len(value) > MAX_TAG_VALUE_LEN {
                return Err(invalid(format!(
                    "The TagValue you have provided is too long, max {MAX_TAG_VALUE_LEN}"
                )));
            }
            if pairs[..i].iter().any(|(k, _)| k == key) {
                return Err(invalid("Cannot provide multiple Tags with the same key"));
            }
        }
        Ok(Self(pairs))
    }

    /// The tags, (key, value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many tags there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, (key, value), in order.
    pub fn as_pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::InvalidTag {
        problem: TagProblem::Invalid,
        message: message.into(),
    }
}

/// S3's tag alphabet: Unicode letters and numbers, white space (not control
/// characters such as tab or newline), and `+ - = . _ : / @`.
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "+-=._:/@".contains(c)
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// (description, input, expected refusal)
    type Case = (
        &'static str,
        Vec<(String, String)>,
        Option<(TagProblem, &'static str)>,
    );

    #[test]
    fn tags_follow_the_s3_rules() {
        let k128 = "k".repeat(128);
        let k129 = "k".repeat(129);
        let v256 = "v".repeat(256);
        let v257 = "v".repeat(257);
        // 64 characters outside the BMP are 128 UTF-16 code units; 65 are 130.
        let wide64 = "𝒜".repeat(64);
        let wide65 = "𝒜".repeat(65);
        let ten: Vec<(String, String)> = (0..10).map(|i| (format!("k{i}"), "v".into())).collect();
        let eleven: Vec<(String, String)> =
            (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
        let cases: Vec<Case> = vec![
            ("no tags", vec![], None),
            (
                "every allowed character",
                pairs(&[("Ab9 +-=._:/@", "xY0 +-=._:/@"), ("ü日本", "")]),
                None,
            ),
            ("ten tags", ten, None),
            ("longest key and value", vec![(k128, v256.clone())], None),
            (
                "key of 64 astral characters",
                vec![(wide64, "v".into())],
                None,
            ),
            (
                "eleven tags",
                eleven,
                Some((TagProblem::TooMany, "Object tags cannot be greater than 10")),
            ),
            (
                "empty key",
                pairs(&[("", "v")]),
                Some((
                    TagProblem::Invalid,
                    "The TagKey you have provided is invalid",
                )),
            ),
            (
                "key too long",
                vec![(k129, "v".into())],
                Some((
                    TagProblem::Invalid,
                    "The TagKey you have provided is too long, max 128",
                )),
            ),
            (
                "key too long in UTF-16",
                vec![(wide65, "v".into())],
                Some((
                    TagProblem::Invalid,
                    "The TagKey you have provided is too long, max 128",
                )),
            ),
            (
                "value too long",
                vec![("k".into(), v257)],
                Some((
                    TagProblem::Invalid,
                    "The TagValue you have provided is too long, max 256",
                )),
            ),
            (
                "aws: prefix",
                pairs(&[("aws:created-by", "me")]),
                Some((
                    TagProblem::Invalid,
                    "Your TagKey cannot be prefixed with aws:",
                )),
            ),
            (
                "AWS: prefix in capitals",
                pairs(&[("AWS:x", "me")]),
                Some((
                    TagProblem::Invalid,
                    "Your TagKey cannot be prefixed with aws:",
                )),
            ),
            ("aws without colon is fine", pairs(&[("awsome", "v")]), None),
            (
                "key with a character outside the set",
                pairs(&[("a,b", "v")]),
                Some((
                    TagProblem::Invalid,
                    "The TagKey you have provided is invalid",
                )),
            ),
            (
                "key with a tab",
                pairs(&[("a\tb", "v")]),
                Some((
                    TagProblem::Invalid,
                    "The TagKey you have provided is invalid",
                )),
            ),
            (
                "value with a character outside the set",
                pairs(&[("k", "a&b")]),
                Some((
                    TagProblem::Invalid,
                    "The TagValue you have provided is invalid",
                )),
            ),
            (
                "duplicate keys",
                pairs(&[("k", "1"), ("j", "2"), ("k", "3")]),
                Some((
                    TagProblem::Invalid,
                    "Cannot provide multiple Tags with the same key",
                )),
            ),
            (
                "keys differing in case are distinct",
                pairs(&[("k", "1"), ("K", "2")]),
                None,
            ),
        ];
        for (what, input, want) in cases {
            let got = Tags::new(input.clone());
            match want {
                None => {
                    let tags = got.unwrap_or_else(|e| panic!("{what}: refused: {e}"));
                    assert_eq!(tags.as_pairs(), input.as_slice(), "{what}: kept in order");
                }
                Some((problem, message)) => match got {
                    Err(CoreError::InvalidTag {
                        problem: p,
                        message: m,
                    }) => assert_eq!((p, m.as_str()), (problem, message), "{what}"),
                    other => panic!("{what}: expected InvalidTag, got {other:?}"),
                },
            }
        }
        assert!(Tags::default().is_empty());
        assert_eq!(Tags::new(vec![]).unwrap(), Tags::default());
        let two = Tags::new(pairs(&[("b", "2"), ("a", "1")])).unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(
            two.iter().collect::<Vec<_>>(),
            [("b", "2"), ("a", "1")],
            "given order, not sorted"
        );
    }

    #[test]
    fn bucket_tags_allow_fifty_and_keep_the_other_rules() {
        let many = |n: usize| -> Vec<(String, String)> {
            (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).collect()
        };
        let fifty = Tags::for_bucket(many(50)).expect("fifty tags on a bucket");
        assert_eq!(fifty.as_pairs(), many(50).as_slice(), "kept in order");
        assert!(Tags::for_bucket(vec![]).expect("empty").is_empty());
        match Tags::for_bucket(many(51)) {
            Err(CoreError::InvalidTag { problem, message }) => assert_eq!(
                (problem, message.as_str()),
                (
                    TagProblem::TooMany,
                    "Bucket tag count cannot be greater than 50"
                )
            ),
            other => panic!("51 tags: expected TooMany, got {other:?}"),
        }
        // The per-tag rules are the objects' (one case each is enough:
        // they are the same code).
        for (what, input, message) in [
            (
                "aws: prefix",
                pairs(&[("aws:cloudformation:stack-name", "s")]),
                "Your TagKey cannot be prefixed with aws:",
            ),
            (
                "duplicate keys",
                pairs(&[("k", "1"), ("k", "2")]),
                "Cannot provide multiple Tags with the same key",
            ),
            (
                "key too long",
                vec![("k".repeat(129), "v".into())],
                "The TagKey you have provided is too long, max 128",
            ),
        ] {
            match Tags::for_bucket(input) {
                Err(CoreError::InvalidTag {
                    problem,
                    message: m,
                }) => {
                    assert_eq!(
                        (problem, m.as_str()),
                        (TagProblem::Invalid, message),
                        "{what}"
                    );
                }
                other => panic!("{what}: expected InvalidTag, got {other:?}"),
            }
        }
        // Eleven tags: too many for an object, fine for a bucket.
        assert!(Tags::new(many(11)).is_err());
        assert_eq!(Tags::for_bucket(many(11)).expect("eleven").len(), 11);
    }
}
