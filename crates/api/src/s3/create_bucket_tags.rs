//! The tags CreateBucket may carry in its body
//! (`<CreateBucketConfiguration><Tags><Tag>…`, which current SDKs can
//! send: <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucketConfiguration.html>).
//!
//! Hand-written because s3s 0.14's `CreateBucketConfiguration` has no
//! `Tags` field and its XML reader skips unknown elements: the tags would
//! be dropped without a word. So the body of a request shaped like
//! CreateBucket (a `PUT` of a bucket, without a query) is copied as s3s
//! reads it ([`capture`], a few hundred bytes at most: s3s refuses an XML
//! body over its limit), and CreateBucket reads the `<Tags>` from the copy
//! ([`requested_tags`]) with s3s's own XML reader, so that a body s3s
//! accepts is read the same way here.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use http::{Extensions, HeaderMap, Method, header};
use http_body::{Frame, SizeHint};
use miniaws_core::storage::Tags;
use s3s::dto::Tag;
use s3s::xml::{DeResult, DeserializeContent, Deserializer};
use s3s::{S3Result, s3_error};

use super::host::bucket_alone;
use super::tagging::document_bucket_tags;
use super::xml_limit::XML_MAX_BODY_BYTES;

/// The copy of a CreateBucket body, in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct CapturedBody(Arc<Mutex<Vec<u8>>>);

/// Whether `req` is shaped like CreateBucket: a `PUT` without a query of a
/// bucket alone, path style (`/bucket`) or virtual-hosted (`/` on
/// `bucket.localhost`). Never an object's path: object bodies are not
/// copied.
fn is_create_bucket(req: &Request) -> bool {
    req.method() == Method::PUT
        && req.uri().query().is_none_or(str::is_empty)
        && bucket_alone(req).is_some()
}

/// `req`, with its body copied into a [`CapturedBody`] in its extensions
/// as it is read, when it is shaped like CreateBucket; else unchanged.
pub fn capture(req: Request) -> Request {
    if !is_create_bucket(&req) {
        return req;
    }
    let captured = CapturedBody::default();
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(captured.clone());
    Request::from_parts(
        parts,
        Body::new(Tee {
            inner: body,
            copy: captured,
        }),
    )
}

/// A body that copies what is read from it (up to just over the XML limit:
/// s3s refuses a longer one).
struct Tee {
    inner: Body,
    copy: CapturedBody,
}

impl http_body::Body for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
            && let Ok(mut copy) = self.copy.0.lock()
            && copy.len() <= XML_MAX_BODY_BYTES
        {
            copy.extend_from_slice(data);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    // The exact size is kept: s3s reads it.
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The `<Tags>` of a `CreateBucketConfiguration`; other elements skipped.
struct ConfigurationTags(Option<Vec<Tag>>);

impl<'xml> DeserializeContent<'xml> for ConfigurationTags {
    fn deserialize_content(d: &mut Deserializer<'xml>) -> DeResult<Self> {
        let mut tags = None;
        d.for_each_element(|d, name| {
            if name == b"Tags" {
                if tags.is_some() {
                    return Err(s3s::xml::DeError::DuplicateField);
                }
                tags = Some(d.list_content("Tag")?);
            } else {
                d.content::<Skip>()?;
            }
            Ok(())
        })?;
        Ok(Self(tags))
    }
}

/// Any element's content, read and dropped (s3s's own skipping is
/// private to it).
struct Skip;

impl<'xml> DeserializeContent<'xml> for Skip {
    fn deserialize_content(d: &mut Deserializer<'xml>) -> DeResult<Self> {
        d.for_each_element(|d, _| d.content::<Skip>().map(|_| ()))?;
        Ok(Self)
    }
}

/// Whether the body is sent `aws-chunked` (s3s decodes it; the copy holds
/// the framed bytes).
fn is_aws_chunked(headers: &HeaderMap) -> bool {
    let has = |name: &str, f: &dyn Fn(&str) -> bool| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(f)
    };
    has(header::CONTENT_ENCODING.as_str(), &|v| {
        v.split(',')
            .any(|c| c.trim().eq_ignore_ascii_case("aws-chunked"))
    }) || has("x-amz-content-sha256", &|v| v.starts_with("STREAMING-"))
}

/// The tags a CreateBucket request asks for (empty: none), validated
/// under the bucket rules, from the body [`capture`] copied.
///
/// # Errors
/// `InvalidTag` / `BadRequest` / `MalformedXML` for tags S3 would refuse
/// (as PutBucketTagging), `MalformedXML` for a configuration with two
/// `<Tags>`; `NotImplemented` for `<Tags>` in an `aws-chunked` body.
pub fn requested_tags(extensions: &Extensions, headers: &HeaderMap) -> S3Result<Tags> {
    let Some(CapturedBody(copy)) = extensions.get::<CapturedBody>() else {
        return Ok(Tags::default());
    };
    let bytes = copy.lock().map(|b| b.clone()).unwrap_or_default();
    if is_aws_chunked(headers) {
        return if bytes.windows(5).any(|w| w == b"<Tags") {
            Err(s3_error!(
                NotImplemented,
                "Tags in an aws-chunked CreateBucket body are not implemented: create the bucket, then put its tags with PutBucketTagging"
            ))
        } else {
            Ok(Tags::default())
        };
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Tags::default());
    }
    let mut d = Deserializer::new(&bytes);
    let parsed = d
        .named_element("CreateBucketConfiguration", Deserializer::content)
        .and_then(|tags: ConfigurationTags| d.expect_eof().map(|()| tags));
    match parsed {
        Ok(ConfigurationTags(Some(tags))) => document_bucket_tags(tags),
        Ok(ConfigurationTags(None)) => Ok(Tags::default()),
        // s3s read the rest of this body already (and answers MalformedXML
        // for one it cannot read): only the tags can be wrong here.
        Err(_) => Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: CreateBucketConfiguration may hold one Tags, of Tag elements"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, host: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, host)
            .body(Body::empty())
            .expect("request")
    }

    #[test]
    fn only_bucket_puts_without_a_query_are_captured() {
        let cases = [
            (Method::PUT, "/photos", "127.0.0.1:4566", true),
            (Method::PUT, "/photos/", "127.0.0.1:4566", true),
            (Method::PUT, "/", "photos.localhost:4566", true),
            (Method::PUT, "/photos?tagging", "127.0.0.1:4566", false),
            (Method::PUT, "/photos/key", "127.0.0.1:4566", false),
            (Method::PUT, "/key", "photos.localhost:4566", false),
            (Method::PUT, "/", "127.0.0.1:4566", false),
            (Method::GET, "/photos", "127.0.0.1:4566", false),
        ];
        for (method, uri, host, want) in cases {
            let req = request(method.clone(), uri, host);
            assert_eq!(is_create_bucket(&req), want, "{method} {uri} on {host}");
            let captured = capture(req).extensions().get::<CapturedBody>().is_some();
            assert_eq!(captured, want, "{method} {uri} on {host}: captured");
        }
    }

    fn tags_of_body(body: &str) -> S3Result<Vec<(String, String)>> {
        tags_with(body, &HeaderMap::new())
    }

    fn tags_with(body: &str, headers: &HeaderMap) -> S3Result<Vec<(String, String)>> {
        let mut extensions = Extensions::new();
        extensions.insert(CapturedBody(Arc::new(Mutex::new(body.as_bytes().to_vec()))));
        requested_tags(&extensions, headers).map(|t| {
            t.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
    }

    #[test]
    fn tags_are_read_from_the_configuration() {
        let ok = [
            ("", vec![]),
            ("  \n", vec![]),
            (
                "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
                vec![],
            ),
            (
                r#"<?xml version="1.0" encoding="UTF-8"?>
                <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
                  <LocationConstraint>us-east-1</LocationConstraint>
                  <Bucket><Type>Directory</Type><DataRedundancy>SingleAvailabilityZone</DataRedundancy></Bucket>
                  <Tags><Tag><Key>b</Key><Value>2</Value></Tag><Tag><Key>a</Key><Value></Value></Tag></Tags>
                </CreateBucketConfiguration>"#,
                vec![("b".into(), "2".into()), ("a".into(), String::new())],
            ),
            (
                "<CreateBucketConfiguration><Tags></Tags></CreateBucketConfiguration>",
                vec![],
            ),
        ];
        for (body, want) in ok {
            assert_eq!(tags_of_body(body).expect(body), want, "{body}");
        }
        let refused = [
            (
                "<CreateBucketConfiguration><Tags><Tag><Key>aws:x</Key><Value>1</Value></Tag></Tags></CreateBucketConfiguration>",
                "InvalidTag",
            ),
            (
                "<CreateBucketConfiguration><Tags><Tag><Key>k</Key></Tag></Tags></CreateBucketConfiguration>",
                "MalformedXML",
            ),
            (
                "<CreateBucketConfiguration><Tags><Tag><Key>k</Key><Value>1</Value></Tag></Tags><Tags></Tags></CreateBucketConfiguration>",
                "MalformedXML",
            ),
        ];
        for (body, code) in refused {
            let err = tags_of_body(body).expect_err(body);
            assert_eq!(err.code().as_str(), code, "{body}");
        }
        let fifty_one: String = (0..51)
            .map(|i| format!("<Tag><Key>k{i}</Key><Value>v</Value></Tag>"))
            .collect();
        let err = tags_of_body(&format!(
            "<CreateBucketConfiguration><Tags>{fifty_one}</Tags></CreateBucketConfiguration>"
        ))
        .expect_err("51 tags");
        assert_eq!(err.code().as_str(), "BadRequest");
        // An aws-chunked body: tags refused, anything else left to s3s.
        let mut chunked = HeaderMap::new();
        chunked.insert(header::CONTENT_ENCODING, "aws-chunked".parse().unwrap());
        let framed = "9a;chunk-signature=0\r\n<CreateBucketConfiguration><Tags><Tag><Key>k</Key><Value>1</Value></Tag></Tags></CreateBucketConfiguration>\r\n0\r\n";
        let err = tags_with(framed, &chunked).expect_err("chunked tags");
        assert_eq!(err.code().as_str(), "NotImplemented");
        let mut streaming = HeaderMap::new();
        streaming.insert(
            "x-amz-content-sha256",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER".parse().unwrap(),
        );
        let err = tags_with(framed, &streaming).expect_err("streaming tags");
        assert_eq!(err.code().as_str(), "NotImplemented");
        assert!(
            tags_with("5\r\n<Cre\r\n0\r\n", &chunked)
                .expect("no tags")
                .is_empty()
        );
        // No copy (not a CreateBucket-shaped request): no tags.
        assert!(
            requested_tags(&Extensions::new(), &HeaderMap::new())
                .expect("none")
                .is_empty()
        );
    }
}
