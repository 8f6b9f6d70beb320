//! Ranged and conditional reads (RFC 9110 §13 and §14), shared by the
//! native API and S3.

use time::OffsetDateTime;

use super::domain::ObjectMeta;
use crate::error::{CoreError, CoreResult};

/// A resolved byte range: `start..=end`, within the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

impl ByteRange {
    /// How many bytes the range covers.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a resolved range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `Content-Range` value for an object of `size` bytes.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.start, self.end)
    }
}

/// A `Range: bytes=…` request before it meets the object's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=a-` or `bytes=a-b`.
    FromTo(u64, Option<u64>),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// Parses a `Range` header value. Returns `None` for anything that is not
    /// a single well-formed byte range (multiple ranges, other units, syntax
    /// errors): RFC 9110 lets a server ignore such a header and send the
    /// whole body, which is what S3 does too.
    pub fn parse(header: &str) -> Option<Self> {
        let spec = header.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let (first, last) = (first.trim(), last.trim());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if first.is_empty() {
            return digits(last).then(|| last.parse().ok().map(RangeSpec::Suffix))?;
        }
        if !digits(first) {
            return None;
        }
        let start: u64 = first.parse().ok()?;
        if last.is_empty() {
            return Some(RangeSpec::FromTo(start, None));
        }
        if !digits(last) {
            return None;
        }
        let end: u64 = last.parse().ok()?;
        (end >= start).then_some(RangeSpec::FromTo(start, Some(end)))
    }

    /// The range within an object of `size` bytes.
    ///
    /// # Errors
    /// `RangeNotSatisfiable` when it selects no byte of the object.
    pub fn resolve(self, size: u64) -> CoreResult<ByteRange> {
        let unsatisfiable = || CoreError::RangeNotSatisfiable { size_bytes: size };
        match self {
            RangeSpec::FromTo(start, end) => {
                if start >= size {
                    return Err(unsatisfiable());
                }
                let end = end.map_or(size - 1, |e| e.min(size - 1));
                Ok(ByteRange { start, end })
            }
            RangeSpec::Suffix(n) => {
                if n == 0 || size == 0 {
                    return Err(unsatisfiable());
                }
                Ok(ByteRange {
                    start: size - n.min(size),
                    end: size - 1,
                })
            }
        }
    }
}

/// `If-Range` (RFC 9110 §13.1.5): a `Range` that applies only while the
/// object is the one the client holds part of; otherwise the whole object
/// is sent (200), so that a resumed download never splices two objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfRange {
    /// A strong entity tag (without its quotes).
    ETag(String),
    /// An HTTP date, which must be the object's `Last-Modified` exactly.
    Date(OffsetDateTime),
    /// A weak entity tag or a value that is neither: never holds (the RFC
    /// asks for a strong comparison).
    Never,
}

impl IfRange {
    /// Reads a header value; `date` parses an HTTP date.
    pub fn parse(value: &str, date: impl Fn(&str) -> Option<OffsetDateTime>) -> Self {
        let value = value.trim();
        if let Some(tag) = value
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
        {
            return Self::ETag(tag.to_owned());
        }
        if value.starts_with("W/") {
            return Self::Never;
        }
        date(value).map_or(Self::Never, Self::Date)
    }

    /// Whether the object with `etag` and `last_modified` is the one named.
    pub fn holds(&self, etag: &str, last_modified: OffsetDateTime) -> bool {
        match self {
            Self::ETag(tag) => tag == etag,
            Self::Date(at) => secs(*at) == secs(last_modified),
            Self::Never => false,
        }
    }
}

/// The conditional request headers of a read (or a copy source).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `If-Match`: a list of ETags or `*`.
    pub if_match: Option<String>,
    /// `If-None-Match`: a list of ETags or `*`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<OffsetDateTime>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<OffsetDateTime>,
}

/// What evaluating [`Conditions`] against an object decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evaluation {
    /// Send the object.
    Proceed,
    /// Answer 304 Not Modified.
    NotModified,
}

/// Whether `list` (an `If-Match`/`If-None-Match` value) names `etag`.
/// Weak comparison: `W/` prefixes and quotes are ignored, as S3 does.
fn etag_listed(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.trim_start_matches("W/").trim_matches('"') == etag
    })
}

/// HTTP dates have one-second resolution: compare whole seconds.
fn secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl Conditions {
    /// Whether no condition is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Evaluates the conditions in the order of RFC 9110 §13.2.2: a failed
    /// `If-Match` (or, without it, `If-Unmodified-Since`) is 412; a matching
    /// `If-None-Match` (or, without it, an unmet `If-Modified-Since`) is 304.
    ///
    /// # Errors
    /// `PreconditionFailed` naming the condition.
    pub(crate) fn evaluate(&self, meta: &ObjectMeta) -> CoreResult<Evaluation> {
        let etag = meta.etag.as_str();
        let modified = secs(meta.last_modified);
        if let Some(list) = &self.if_match {
            if !etag_listed(list, etag) {
                return Err(CoreError::PreconditionFailed(format!(
                    "If-Match: the object's ETag is {}",
                    meta.etag.quoted()
                )));
            }
        } else if let Some(since) = self.if_unmodified_since
            && modified > secs(since)
        {
            return Err(CoreError::PreconditionFailed(
                "If-Unmodified-Since: the object was modified after that time".into(),
            ));
        }
        if let Some(list) = &self.if_none_match {
            if etag_listed(list, etag) {
                return Ok(Evaluation::NotModified);
            }
        } else if let Some(since) = self.if_modified_since
            && modified <= secs(since)
            && secs(since) <= secs(OffsetDateTime::now_utc())
        {
            // A date later than now is invalid and ignored (RFC 7232
            // §3.3), as S3 ignores it: nothing can be "not modified" since
            // a time that has not come, and a client whose clock runs
            // ahead must not be served 304s for objects it never had.
            return Ok(Evaluation::NotModified);
        }
        Ok(Evaluation::Proceed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_modified_since_a_time_not_yet_come_is_ignored() {
        let now = OffsetDateTime::now_utc();
        let meta = ObjectMeta::for_test("k", 1, "e", now - time::Duration::minutes(10));
        let since = |at| Conditions {
            if_modified_since: Some(at),
            ..Default::default()
        };
        let minute = time::Duration::minutes(1);
        assert_eq!(
            since(now - minute).evaluate(&meta).expect("evaluates"),
            Evaluation::NotModified
        );
        assert_eq!(
            since(now - time::Duration::minutes(20))
                .evaluate(&meta)
                .expect("evaluates"),
            Evaluation::Proceed
        );
        assert_eq!(
            since(now + time::Duration::hours(1))
                .evaluate(&meta)
                .expect("evaluates"),
            Evaluation::Proceed
        );
    }

    #[test]
    fn if_range_holds_for_the_strong_etag_or_the_exact_date() {
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let date = |v: &str| (v == "then").then_some(at);
        assert!(IfRange::parse("\"abc\"", date).holds("abc", at));
        assert!(!IfRange::parse("\"abc\"", date).holds("abd", at));
        assert!(!IfRange::parse("W/\"abc\"", date).holds("abc", at));
        assert!(IfRange::parse("then", date).holds("x", at));
        let later = at + time::Duration::seconds(1);
        assert!(!IfRange::parse("then", date).holds("x", later));
        assert_eq!(IfRange::parse("junk", date), IfRange::Never);
    }

    /// `None`: header ignored; `Some(Err(()))`: 416; `Some(Ok(range))`.
    type Expected = Option<Result<(u64, u64), ()>>;

    #[test]
    fn range_headers_parse_and_resolve() {
        let cases: &[(&str, u64, Expected)] = &[
            ("bytes=0-9", 100, Some(Ok((0, 9)))),
            ("bytes=90-", 100, Some(Ok((90, 99)))),
            ("bytes=90-200", 100, Some(Ok((90, 99)))),
            ("bytes=-10", 100, Some(Ok((90, 99)))),
            ("bytes=-200", 100, Some(Ok((0, 99)))),
            ("bytes=100-", 100, Some(Err(()))),
            ("bytes=-0", 100, Some(Err(()))),
            ("bytes=0-0", 0, Some(Err(()))),
            ("bytes=5-1", 100, None),
            ("bytes=0-1,5-6", 100, None),
            ("items=0-1", 100, None),
            ("bytes=a-b", 100, None),
            ("bytes=-", 100, None),
        ];
        for (header, size, expected) in cases {
            let got = RangeSpec::parse(header).map(|spec| {
                spec.resolve(*size)
                    .map(|r| (r.start, r.end))
                    .map_err(|e| assert!(matches!(e, CoreError::RangeNotSatisfiable { .. })))
            });
            assert_eq!(&got, expected, "case {header} on {size} bytes");
        }
    }
}
