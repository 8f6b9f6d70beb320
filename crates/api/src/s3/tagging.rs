//! Tags on the wire: the `x-amz-tagging` header of PutObject,
//! CreateMultipartUpload and CopyObject, the `<Tagging>` document of
//! PutObjectTagging and PutBucketTagging, and the `TagSet` and
//! `x-amz-tagging-count` answers.
//! The rules themselves are the core's ([`Tags::new`]).

use miniaws_core::storage::Tags;
use percent_encoding::percent_decode_str;
use s3s::dto::{Tag, TagSet, Tagging, TaggingDirective};
use s3s::{S3Result, s3_error};

use super::object_error;

/// S3's answer to a header it cannot read as a query string of distinct
/// keys.
const BAD_HEADER: &str = "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.";

/// The tags of an `x-amz-tagging` header: `k1=v1&k2=v2`, URL-encoded as a
/// form (`+` is a space), a key without `=` holding the empty value, as
/// S3 reads it (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>).
/// Absent or empty: no tags.
///
/// Hand-written rather than `form_urlencoded`: S3 refuses what a lenient
/// form parser accepts (a second raw `=` in a pair, bytes that are not
/// UTF-8, a repeated key), and those refusals need S3's code and message.
///
/// # Errors
/// `InvalidArgument` for a header S3 cannot read; `InvalidTag` /
/// `BadRequest` for tags that break the rules.
pub fn header_tags(header: Option<&str>) -> S3Result<Tags> {
    let Some(header) = header else {
        return Ok(Tags::default());
    };
    let decode = |s: &str| -> S3Result<String> {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| s3_error!(InvalidArgument, "{BAD_HEADER}"))
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in header.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if value.contains('=') {
            return Err(s3_error!(InvalidArgument, "{BAD_HEADER}"));
        }
        let (key, value) = (decode(key)?, decode(value)?);
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(s3_error!(InvalidArgument, "{BAD_HEADER}"));
        }
        pairs.push((key, value));
    }
    Tags::new(pairs).map_err(object_error)
}

/// The tags of a PutObjectTagging document, in its order. An empty
/// `TagSet` removes the object's tags, as in S3.
///
/// # Errors
/// `MalformedXML` for a `Tag` without `Key` or `Value` (both required by
/// S3's schema); `InvalidTag` / `BadRequest` for tags that break the rules.
pub fn document_tags(tagging: Tagging) -> S3Result<Tags> {
    Tags::new(tag_pairs(tagging.tag_set)?).map_err(object_error)
}

/// The tags of a PutBucketTagging document (or of CreateBucket's
/// `<Tags>`), in its order, under the bucket rules (at most 50). An empty
/// `TagSet` removes the bucket's tags.
///
/// # Errors
/// As [`document_tags`].
pub fn document_bucket_tags(tag_set: TagSet) -> S3Result<Tags> {
    Tags::for_bucket(tag_pairs(tag_set)?).map_err(object_error)
}

/// The (key, value) pairs of a `TagSet`.
fn tag_pairs(tag_set: TagSet) -> S3Result<Vec<(String, String)>> {
    tag_set
        .into_iter()
        .map(|tag| match (tag.key, tag.value) {
            (Some(key), Some(value)) => Ok((key, value)),
            _ => Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: every Tag needs a Key and a Value"
            )),
        })
        .collect()
}

/// The `TagSet` of a GetObjectTagging or GetBucketTagging answer, in
/// stored order.
pub fn tag_set(tags: &Tags) -> TagSet {
    tags.iter()
        .map(|(key, value)| Tag {
            key: Some(key.to_owned()),
            value: Some(value.to_owned()),
        })
        .collect()
}

/// `x-amz-tagging-count`: sent only when the object has tags, as S3 does.
pub fn tag_count(tags: &Tags) -> Option<i32> {
    (!tags.is_empty()).then(|| i32::try_from(tags.len()).unwrap_or(i32::MAX))
}

/// Whether a copy takes the tags of its `x-amz-tagging` header (`REPLACE`)
/// or its source's (`COPY`, the default).
///
/// # Errors
/// `InvalidArgument` for any other directive.
pub fn replaces_tags(directive: Option<&TaggingDirective>) -> S3Result<bool> {
    match directive.map(TaggingDirective::as_str) {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(other) => Err(s3_error!(
            InvalidArgument,
            "Unknown tagging directive {other:?}: use COPY or REPLACE"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(tags: &Tags) -> Vec<(&str, &str)> {
        tags.iter().collect()
    }

    #[test]
    fn the_tagging_header_reads_as_s3_reads_it() {
        /// (description, header, expected tags)
        type Case<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>);
        let ok: Vec<Case> = vec![
            ("absent", None, vec![]),
            ("empty", Some(""), vec![]),
            (
                "two pairs, in order",
                Some("b=2&a=1"),
                vec![("b", "2"), ("a", "1")],
            ),
            (
                "a key without =",
                Some("foo=bar&bar"),
                vec![("foo", "bar"), ("bar", "")],
            ),
            ("an empty value", Some("k="), vec![("k", "")]),
            (
                "percent-encoding and + for space",
                Some("team%20name=blue+green&path=a%2Fb%3Dc&u=%C3%BC"),
                vec![("team name", "blue green"), ("path", "a/b=c"), ("u", "ü")],
            ),
            (
                "empty segments are skipped",
                Some("&a=1&&"),
                vec![("a", "1")],
            ),
        ];
        for (what, header, want) in ok {
            let tags = header_tags(header).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!(pairs(&tags), want, "{what}");
        }
        let refused: Vec<(&str, &str, &str)> = vec![
            ("a repeated key", "a=1&a=2", "InvalidArgument"),
            (
                "a second raw =",
                "TagSet=[{Key=string,Value=string}]",
                "InvalidArgument",
            ),
            ("bytes that are not UTF-8", "k=%FF", "InvalidArgument"),
            ("a character outside the set", "a%2Cb=1", "InvalidTag"),
            ("an aws: key", "aws%3Ax=1", "InvalidTag"),
            (
                "eleven tags",
                "a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1",
                "BadRequest",
            ),
        ];
        for (what, header, code) in refused {
            let err = header_tags(Some(header)).expect_err(what);
            assert_eq!(err.code().as_str(), code, "{what}");
        }
    }

    #[test]
    fn the_tagging_document_needs_keys_and_values() {
        let tag = |k: Option<&str>, v: Option<&str>| Tag {
            key: k.map(str::to_owned),
            value: v.map(str::to_owned),
        };
        let doc = |tags: Vec<Tag>| Tagging { tag_set: tags };
        let tags = document_tags(doc(vec![
            tag(Some("z"), Some("")),
            tag(Some("a"), Some("1")),
        ]))
        .expect("valid");
        assert_eq!(pairs(&tags), [("z", ""), ("a", "1")]);
        assert!(document_tags(doc(vec![])).expect("empty").is_empty());
        for (what, bad, code) in [
            ("no key", tag(None, Some("v")), "MalformedXML"),
            ("no value", tag(Some("k"), None), "MalformedXML"),
            ("an empty key", tag(Some(""), Some("v")), "InvalidTag"),
        ] {
            let err = document_tags(doc(vec![bad])).expect_err(what);
            assert_eq!(err.code().as_str(), code, "{what}");
        }
        let fifty: Vec<Tag> = (0..50)
            .map(|i| tag(Some(&format!("k{i}")), Some("v")))
            .collect();
        assert!(
            document_tags(doc(fifty.clone())).is_err(),
            "50 on an object"
        );
        assert_eq!(document_bucket_tags(fifty.clone()).expect("50").len(), 50);
        let mut fifty_one = fifty;
        fifty_one.push(tag(Some("last"), Some("v")));
        let err = document_bucket_tags(fifty_one).expect_err("51 on a bucket");
        assert_eq!(err.code().as_str(), "BadRequest");
        let err = document_bucket_tags(vec![tag(Some("k"), None)]).expect_err("no value");
        assert_eq!(err.code().as_str(), "MalformedXML");
        assert_eq!(tag_count(&Tags::default()), None);
        assert_eq!(tag_count(&tags), Some(2));
        assert_eq!(tag_set(&tags).len(), 2);
    }
}
