//! Integrity checks on what is not object data, against the real server on
//! SQLite and Postgres, with `aws-sdk-s3` and hand-signed requests (the
//! SDKs always send right digests, so wrong ones are written by hand):
//!
//! - the `Content-MD5` and `x-amz-checksum-*` of XML documents: a wrong one
//!   on DeleteObjects, PutObjectTagging or PutBucketCors is 400
//!   `BadDigest` and nothing is deleted or changed; a malformed one is
//!   `InvalidDigest` / `InvalidRequest`; DeleteObjects without either is
//!   refused; right ones (the SDK's own, and hand-made) work; an
//!   `aws-chunked` document is refused clearly; PutBucketTagging and
//!   PutBucketLifecycleConfiguration (written after the check) are covered
//!   by it too;
//! - request options in a presigned URL's query (`x-amz-storage-class`,
//!   `x-amz-server-side-encryption`, `x-amz-acl`, metadata, tags): refused
//!   or honoured as the same headers, a checksum there ignored as S3 does;
//! - form uploads (boto3's `generate_presigned_post`) with `Content-MD5`,
//!   `x-amz-checksum-algorithm` and `x-amz-checksum-*` fields: verified and
//!   the checksum stored, or refused (wrong, malformed, an algorithm without
//!   or unlike its checksum) with nothing stored.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule, MetadataDirective, Tag, Tagging};
use base64::Engine;
use common::{code_of, crc32_ieee, crc64_nvme, s3_client};
use hmac::{Hmac, Mac};
use md5::Md5;
use miniaws_client::CreatedKey;
use miniaws_testkit::{Backend, TestServer, isolated_command};
use sha2::{Digest, Sha256};

const REGION: &str = "us-east-1";
const BUCKET: &str = "integrity";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn md5_b64(data: &[u8]) -> String {
    b64(&Md5::digest(data))
}

fn crc32_b64(data: &[u8]) -> String {
    b64(&crc32_ieee(data).to_be_bytes())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// SigV4's URI encoding (unreserved characters kept, the rest `%XX`).
fn uri_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A SigV4 signer for hand-made requests: header-signed with the body's
/// SHA-256, or presigned URLs.
struct Signer {
    endpoint: String,
    host: String,
    access_key_id: String,
    signing_key: Vec<u8>,
    amz_date: String,
    scope: String,
}

impl Signer {
    fn new(server: &TestServer, key: &CreatedKey) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let (date, amz_date) = common::amz_dates(now);
        let k_date = hmac(format!("AWS4{}", key.secret_access_key).as_bytes(), &date);
        let k_region = hmac(&k_date, REGION);
        let k_service = hmac(&k_region, "s3");
        let endpoint = server.aws_url();
        Self {
            host: endpoint.trim_start_matches("http://").to_owned(),
            endpoint,
            access_key_id: key.access_key_id.clone(),
            signing_key: hmac(&k_service, "aws4_request"),
            amz_date,
            scope: format!("{date}/{REGION}/s3/aws4_request"),
        }
    }

    fn signature(&self, canonical: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            sha256_hex(canonical.as_bytes())
        );
        hex::encode(hmac(&self.signing_key, &sts))
    }

    /// Sends `method path?query` with `headers` (besides host, date and
    /// payload hash, all signed) and `body`; `query` is given as
    /// (name, value) pairs.
    async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, String)],
        body: Vec<u8>,
    ) -> (u16, String) {
        self.send_with_payload(method, path, query, extra, body, None)
            .await
    }

    async fn send_with_payload(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, String)],
        body: Vec<u8>,
        payload: Option<&str>,
    ) -> (u16, String) {
        let payload = payload.map_or_else(|| sha256_hex(&body), str::to_owned);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.host.clone()),
            ("x-amz-content-sha256".into(), payload.clone()),
            ("x-amz-date".into(), self.amz_date.clone()),
        ];
        headers.extend(
            extra
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
        );
        headers.sort();
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let canonical_query = canonical_query(query);
        let canonical = format!(
            "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload}"
        );
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed}, Signature={}",
            self.access_key_id,
            self.scope,
            self.signature(&canonical)
        );
        let url = if canonical_query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{canonical_query}", self.endpoint)
        };
        let mut req = reqwest::Client::new()
            .request(method.parse().expect("a method"), url)
            .header("authorization", authorization)
            .body(body);
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let res = req.send().await.expect("the server answers");
        let status = res.status().as_u16();
        (status, res.text().await.unwrap_or_default())
    }
}

impl Signer {
    /// A SigV4 presigned URL for `method path`, with `extra` query
    /// parameters (signed with the rest of the query).
    fn presign(&self, method: &str, path: &str, extra: &[(&str, &str)]) -> String {
        let credential = format!("{}/{}", self.access_key_id, self.scope);
        let mut query: Vec<(&str, &str)> = vec![
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", &credential),
            ("X-Amz-Date", &self.amz_date),
            ("X-Amz-Expires", "300"),
            ("X-Amz-SignedHeaders", "host"),
        ];
        query.extend_from_slice(extra);
        let canonical_query = canonical_query(&query);
        let canonical = format!(
            "{method}\n{path}\n{canonical_query}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD",
            self.host
        );
        format!(
            "{}{path}?{canonical_query}&X-Amz-Signature={}",
            self.endpoint,
            self.signature(&canonical)
        )
    }
}

/// The canonical (and sent) query: names and values encoded, sorted.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `<Code>` and `<Message>` of an S3 error document.
fn code_and_message(xml: &str) -> (String, String) {
    let between = |open: &str, close: &str| {
        xml.split_once(open)
            .and_then(|(_, rest)| rest.split_once(close))
            .map_or_else(String::new, |(v, _)| v.to_owned())
    };
    (
        between("<Code>", "</Code>"),
        between("<Message>", "</Message>"),
    )
}

async fn put(s3: &Client, key: &str) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from_static(b"kept"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
}

async fn keys(s3: &Client) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .expect("ListObjectsV2")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

fn delete_document(keys: &[&str]) -> Vec<u8> {
    let objects: String = keys
        .iter()
        .map(|k| format!("<Object><Key>{k}</Key></Object>"))
        .collect();
    format!("<Delete><Quiet>true</Quiet>{objects}</Delete>").into_bytes()
}

/// What, the digest headers, the code and message expected.
type Refusal<'a> = (&'a str, Vec<(&'a str, String)>, &'a str, &'a str);

/// DeleteObjects: wrong, malformed and missing digests refused with nothing
/// deleted; right ones (by hand and the SDK's) delete.
async fn delete_objects(s3: &Client, signer: &Signer) {
    for k in ["a", "b", "c", "d"] {
        put(s3, k).await;
    }
    let path = format!("/{BUCKET}");
    let doc = delete_document(&["a", "b"]);
    let refusals: Vec<Refusal> = vec![
        (
            "a wrong Content-MD5",
            vec![("content-md5", md5_b64(b"another document"))],
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ),
        (
            "a wrong CRC32",
            vec![("x-amz-checksum-crc32", crc32_b64(b"another document"))],
            "BadDigest",
            "The CRC32 you specified did not match the calculated checksum.",
        ),
        (
            "a right Content-MD5 and a wrong CRC32",
            vec![
                ("content-md5", md5_b64(&doc)),
                ("x-amz-sdk-checksum-algorithm", "CRC32".into()),
                ("x-amz-checksum-crc32", crc32_b64(b"another document")),
            ],
            "BadDigest",
            "The CRC32 you specified did not match the calculated checksum.",
        ),
        (
            "a wrong SHA256",
            vec![("x-amz-checksum-sha256", b64(&Sha256::digest(b"other")))],
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum.",
        ),
        (
            "a Content-MD5 that is not one",
            vec![("content-md5", "bm90IGFuIE1ENQ==".into())],
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        ),
        (
            "a malformed CRC32",
            vec![("x-amz-checksum-crc32", "AAAAAAAA".into())],
            "InvalidRequest",
            "Value for x-amz-checksum-crc32 header is invalid.",
        ),
        (
            "no digest at all",
            vec![],
            "InvalidRequest",
            "Missing required header for this request: Content-MD5",
        ),
    ];
    for (what, headers, code, message) in refusals {
        let (status, body) = signer
            .send("POST", &path, &[("delete", "")], &headers, doc.clone())
            .await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(
            code_and_message(&body),
            (code.to_owned(), message.to_owned()),
            "{what}: {body}"
        );
        assert_eq!(
            keys(s3).await,
            ["a", "b", "c", "d"],
            "{what}: nothing deleted"
        );
    }

    // aws-chunked documents are refused clearly (before any byte is read).
    let chunked = format!(
        "{:x}\r\n{}\r\n0\r\nx-amz-checksum-crc32:{}\r\n\r\n",
        doc.len(),
        String::from_utf8_lossy(&doc),
        crc32_b64(&doc)
    );
    let (status, body) = signer
        .send_with_payload(
            "POST",
            &path,
            &[("delete", "")],
            &[
                ("content-encoding", "aws-chunked".into()),
                ("x-amz-decoded-content-length", doc.len().to_string()),
                ("x-amz-trailer", "x-amz-checksum-crc32".into()),
            ],
            chunked.into_bytes(),
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        )
        .await;
    assert_eq!(status, 501, "aws-chunked DeleteObjects: {body}");
    assert_eq!(code_and_message(&body).0, "NotImplemented", "{body}");
    assert!(body.contains("aws-chunked"), "{body}");
    assert_eq!(
        keys(s3).await,
        ["a", "b", "c", "d"],
        "aws-chunked: nothing deleted"
    );

    // Right digests delete.
    let (status, body) = signer
        .send(
            "POST",
            &path,
            &[("delete", "")],
            &[("content-md5", md5_b64(&doc))],
            doc.clone(),
        )
        .await;
    assert_eq!(status, 200, "a right Content-MD5: {body}");
    assert_eq!(keys(s3).await, ["c", "d"]);
    let doc = delete_document(&["c"]);
    let (status, body) = signer
        .send(
            "POST",
            &path,
            &[("delete", "")],
            &[("x-amz-checksum-crc32", crc32_b64(&doc))],
            doc.clone(),
        )
        .await;
    assert_eq!(status, 200, "a right CRC32: {body}");
    assert_eq!(keys(s3).await, ["d"]);
    // The SDK's own request (a CRC32 it computes).
    s3.delete_objects()
        .bucket(BUCKET)
        .delete(
            aws_sdk_s3::types::Delete::builder()
                .objects(
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key("d")
                        .build()
                        .expect("an object"),
                )
                .build()
                .expect("a delete"),
        )
        .send()
        .await
        .expect("the SDK's DeleteObjects");
    assert!(keys(s3).await.is_empty());
}

fn tag_set(s3: &[(&str, &str)]) -> Tagging {
    let tags = s3
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("a tag"))
        .collect();
    Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .expect("a tag set")
}

async fn tags(s3: &Client, key: &str) -> Vec<(String, String)> {
    s3.get_object_tagging()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .expect("GetObjectTagging")
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

/// A document PUT by hand to `path?{sub}` with one digest header: the
/// status and body of the answer.
async fn put_document(
    signer: &Signer,
    path: &str,
    sub: &str,
    digest: (&str, String),
    doc: &[u8],
) -> (u16, String) {
    signer
        .send("PUT", path, &[(sub, "")], &[digest], doc.to_vec())
        .await
}

/// S3's 400 `BadDigest` for a checksum of `algorithm` (`CRC32C`,
/// `SHA256`…) that does not match the document.
fn assert_bad_checksum((status, body): (u16, String), algorithm: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        code_and_message(&body),
        (
            "BadDigest".to_owned(),
            format!("The {algorithm} you specified did not match the calculated checksum.")
        )
    );
}

/// PutObjectTagging, PutBucketCors, PutBucketTagging and
/// PutBucketLifecycleConfiguration with wrong digests change nothing; with
/// right ones they apply.
async fn configurations(s3: &Client, signer: &Signer) {
    put(s3, "tagged").await;
    s3.put_object_tagging()
        .bucket(BUCKET)
        .key("tagged")
        .tagging(tag_set(&[("colour", "blue")]))
        .send()
        .await
        .expect("the SDK's PutObjectTagging");
    let blue = vec![("colour".to_owned(), "blue".to_owned())];
    assert_eq!(tags(s3, "tagged").await, blue);

    // Through the SDK: a Content-MD5 of the wrong bytes (its own CRC32 is
    // right).
    let err = s3
        .put_object_tagging()
        .bucket(BUCKET)
        .key("tagged")
        .tagging(tag_set(&[("colour", "red")]))
        .content_md5(md5_b64(b"not this document"))
        .send()
        .await
        .expect_err("a wrong Content-MD5");
    assert_eq!(code_of(&err), ("BadDigest".into(), 400), "{err:?}");
    assert_eq!(tags(s3, "tagged").await, blue, "the tags are unchanged");

    let doc = b"<Tagging><TagSet><Tag><Key>colour</Key><Value>red</Value></Tag></TagSet></Tagging>";
    let path = format!("/{BUCKET}/tagged");
    assert_bad_checksum(
        put_document(
            signer,
            &path,
            "tagging",
            ("x-amz-checksum-crc32c", b64(&[0, 0, 0, 0])),
            doc,
        )
        .await,
        "CRC32C",
    );
    assert_eq!(tags(s3, "tagged").await, blue, "the tags are unchanged");
    let (status, body) = put_document(
        signer,
        &path,
        "tagging",
        ("x-amz-checksum-crc32", crc32_b64(doc)),
        doc,
    )
    .await;
    assert_eq!(status, 200, "a right CRC32: {body}");
    assert_eq!(
        tags(s3, "tagged").await,
        [("colour".to_owned(), "red".to_owned())]
    );

    // PutBucketCors: a wrong CRC32 leaves the bucket without CORS.
    let doc = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
    let path = format!("/{BUCKET}");
    assert_bad_checksum(
        put_document(
            signer,
            &path,
            "cors",
            ("x-amz-checksum-crc32", crc32_b64(b"another")),
            doc,
        )
        .await,
        "CRC32",
    );
    let err = s3
        .get_bucket_cors()
        .bucket(BUCKET)
        .send()
        .await
        .expect_err("no CORS configuration");
    assert_eq!(
        code_of(&err),
        ("NoSuchCORSConfiguration".into(), 404),
        "nothing was applied"
    );
    // The SDK's own PutBucketCors works.
    s3.put_bucket_cors()
        .bucket(BUCKET)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(
                    CorsRule::builder()
                        .allowed_origins("*")
                        .allowed_methods("GET")
                        .build()
                        .expect("a rule"),
                )
                .build()
                .expect("a configuration"),
        )
        .send()
        .await
        .expect("the SDK's PutBucketCors");
    let rules = s3
        .get_bucket_cors()
        .bucket(BUCKET)
        .send()
        .await
        .expect("GetBucketCors");
    assert_eq!(rules.cors_rules().len(), 1);

    // A malformed checksum on an object body: InvalidRequest, as S3.
    let err = s3
        .put_object()
        .bucket(BUCKET)
        .key("malformed")
        .body(ByteStream::from_static(b"abc"))
        .checksum_crc32("AAAA")
        .send()
        .await
        .expect_err("a malformed CRC32");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400), "{err:?}");

    // PutBucketTagging (added after the check, covered by it unchanged).
    let doc =
        b"<Tagging><TagSet><Tag><Key>team</Key><Value>storage</Value></Tag></TagSet></Tagging>";
    let (status, body) = put_document(
        signer,
        &path,
        "tagging",
        ("content-md5", md5_b64(b"another")),
        doc,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        code_and_message(&body),
        (
            "BadDigest".to_owned(),
            "The Content-MD5 you specified did not match what we received.".to_owned()
        )
    );
    let err = s3
        .get_bucket_tagging()
        .bucket(BUCKET)
        .send()
        .await
        .expect_err("no bucket tags");
    assert_eq!(
        code_of(&err),
        ("NoSuchTagSet".into(), 404),
        "nothing applied"
    );
    let (status, body) =
        put_document(signer, &path, "tagging", ("content-md5", md5_b64(doc)), doc).await;
    assert_eq!(status, 204, "a right Content-MD5: {body}");
    let got = s3
        .get_bucket_tagging()
        .bucket(BUCKET)
        .send()
        .await
        .expect("the tags were applied");
    let got: Vec<(&str, &str)> = got.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(got, [("team", "storage")]);

    // PutBucketLifecycleConfiguration (added after the check too): a wrong
    // SHA256 stores no configuration, a right one stores it.
    let doc = b"<LifecycleConfiguration><Rule><ID>tmp</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>";
    assert_bad_checksum(
        put_document(
            signer,
            &path,
            "lifecycle",
            ("x-amz-checksum-sha256", b64(&Sha256::digest(b"another"))),
            doc,
        )
        .await,
        "SHA256",
    );
    let err = s3
        .get_bucket_lifecycle_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .expect_err("no lifecycle configuration");
    assert_eq!(
        code_of(&err),
        ("NoSuchLifecycleConfiguration".into(), 404),
        "nothing applied"
    );
    let (status, body) = put_document(
        signer,
        &path,
        "lifecycle",
        ("x-amz-checksum-sha256", b64(&Sha256::digest(doc))),
        doc,
    )
    .await;
    assert_eq!(status, 200, "a right SHA256: {body}");
    let got = s3
        .get_bucket_lifecycle_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .expect("the configuration was applied");
    let ids: Vec<Option<&str>> = got.rules().iter().map(|r| r.id()).collect();
    assert_eq!(ids, [Some("tmp")]);
    s3.delete_bucket_lifecycle()
        .bucket(BUCKET)
        .send()
        .await
        .expect("DeleteBucketLifecycle: the rule must not expire this test's objects");
}

/// What, the query options, the status and code expected.
type QueryRefusal<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

/// Presigned PUTs with request options in their query: refused or
/// honoured as the same headers would be.
async fn presigned_query_options(s3: &Client, signer: &Signer) {
    let client = reqwest::Client::new();
    let put = |url: String| {
        let client = client.clone();
        async move {
            let res = client
                .put(url)
                .body(&b"presigned bytes"[..])
                .send()
                .await
                .expect("the server answers");
            let status = res.status().as_u16();
            (status, res.text().await.unwrap_or_default())
        }
    };
    let refusals: [QueryRefusal; 4] = [
        (
            "GLACIER",
            &[("x-amz-storage-class", "GLACIER")],
            501,
            "NotImplemented",
        ),
        (
            "SSE-KMS",
            &[("x-amz-server-side-encryption", "aws:kms")],
            501,
            "NotImplemented",
        ),
        (
            "an unknown storage class",
            &[("x-amz-storage-class", "EXPRESS_ONEZONE")],
            400,
            "InvalidStorageClass",
        ),
        (
            "a public ACL",
            &[("x-amz-acl", "public-read")],
            400,
            "AccessControlListNotSupported",
        ),
    ];
    let path = format!("/{BUCKET}/presigned");
    for (what, query, status, code) in refusals {
        let (got, body) = put(signer.presign("PUT", &path, query)).await;
        assert_eq!(
            (got, code_and_message(&body).0.as_str()),
            (status, code),
            "{what}: {body}"
        );
        let err = s3
            .head_object()
            .bucket(BUCKET)
            .key("presigned")
            .send()
            .await
            .expect_err("nothing stored");
        assert_eq!(code_of(&err).1, 404, "{what}: nothing stored");
    }

    // Honoured: a readable class, metadata, tags; a checksum an SDK put in
    // the URL (computed before the body existed) is ignored, as S3 does.
    let (status, body) = put(signer.presign(
        "PUT",
        &path,
        &[
            ("x-amz-storage-class", "STANDARD_IA"),
            ("x-amz-server-side-encryption", "AES256"),
            ("x-amz-meta-colour", "blue green"),
            ("x-amz-tagging", "team=storage"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ("x-amz-checksum-crc32", "AAAAAA=="),
        ],
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key("presigned")
        .send()
        .await
        .expect("stored");
    assert_eq!(
        head.storage_class(),
        Some(&aws_sdk_s3::types::StorageClass::StandardIa)
    );
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("colour"))
            .map(String::as_str),
        Some("blue green")
    );
    assert_eq!(
        tags(s3, "presigned").await,
        [("team".to_owned(), "storage".to_owned())]
    );
}

/// boto3 from the virtualenv `scripts/provision` builds; required when
/// services are.
fn python() -> Option<std::path::PathBuf> {
    miniaws_testkit::require_tool("MINIAWS_TEST_PYTHON")
}

/// Form uploads prepared by boto3's `generate_presigned_post` (SigV4) with
/// `Content-MD5` / `x-amz-checksum-*` fields, sent as real multipart forms.
const FORMS: &str = r#"
import os, sys, uuid, http.client, urllib.parse, base64, hashlib, re, zlib
import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=os.environ["AK"],
                  aws_secret_access_key=os.environ["SK"], region_name="us-east-1",
                  config=Config(signature_version="s3v4"))

def send(post, data):
    boundary = uuid.uuid4().hex
    out = b""
    for k, v in post["fields"].items():
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    url = urllib.parse.urlparse(post["url"])
    conn = http.client.HTTPConnection(url.netloc, timeout=30)
    conn.request("POST", url.path, body=out,
                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    m = re.search(r"<Code>(.*?)</Code>", body)
    return r.status, (m.group(1) if m else None), body

b64 = lambda b: base64.b64encode(b).decode()
DATA = b"form bytes, checked"
crc = b64(zlib.crc32(DATA).to_bytes(4, "big"))
sha = b64(hashlib.sha256(DATA).digest())
md5 = b64(hashlib.md5(DATA).digest())
cases = [
    ("a right CRC32 with its algorithm", "crc-ok",
     {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": crc}, 204, None),
    ("a right SHA256 alone", "sha-ok", {"x-amz-checksum-sha256": sha}, 204, None),
    ("a right Content-MD5", "md5-ok", {"Content-MD5": md5}, 204, None),
    ("a wrong CRC32", "crc-bad",
     {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": b64(zlib.crc32(b"x").to_bytes(4, "big"))},
     400, "BadDigest"),
    ("a wrong Content-MD5", "md5-bad", {"Content-MD5": b64(hashlib.md5(b"x").digest())}, 400, "BadDigest"),
    ("a right Content-MD5 and a wrong SHA256", "both-bad",
     {"Content-MD5": md5, "x-amz-checksum-sha256": b64(hashlib.sha256(b"x").digest())}, 400, "BadDigest"),
    ("a malformed CRC32", "crc-malformed", {"x-amz-checksum-crc32": "AAAA"}, 400, "InvalidRequest"),
    ("an algorithm without its checksum", "algo-only", {"x-amz-checksum-algorithm": "SHA256"}, 400, "InvalidRequest"),
    ("an algorithm that is not the checksum's", "algo-other",
     {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-crc32": crc}, 400, "InvalidRequest"),
    ("an unknown algorithm", "algo-unknown", {"x-amz-checksum-algorithm": "MD4"}, 400, "InvalidRequest"),
    ("a Content-MD5 that is not one", "md5-malformed", {"Content-MD5": "bm90"}, 400, "InvalidDigest"),
]
for what, key, fields, want_status, want_code in cases:
    post = s3.generate_presigned_post("integrity", key, Fields=fields,
                                      Conditions=[{k: v} for k, v in fields.items()], ExpiresIn=300)
    status, code, body = send(post, DATA)
    if (status, code) != (want_status, want_code):
        sys.exit(f"FAILED: {what}: {status} {body}")
got = s3.head_object(Bucket="integrity", Key="crc-ok", ChecksumMode="ENABLED")
if got.get("ChecksumCRC32") != crc:
    sys.exit(f"FAILED: the form's CRC32 is stored: {got}")
got = s3.head_object(Bucket="integrity", Key="sha-ok", ChecksumMode="ENABLED")
if got.get("ChecksumSHA256") != sha:
    sys.exit(f"FAILED: the form's SHA256 is stored: {got}")
print("forms ok")
"#;

/// Form uploads with digests: verified, stored, refused with nothing
/// stored.
async fn form_checksums(server: &TestServer, key: &CreatedKey, s3: &Client) {
    let Some(python) = python() else { return };
    // The keys come in AK and SK: no default ones.
    let home = tempfile::tempdir().expect("temp home");
    let out = tokio::process::Command::from(isolated_command(python, home.path()))
        .env("ENDPOINT", server.aws_url())
        .env("AK", &key.access_key_id)
        .env("SK", &key.secret_access_key)
        .arg("-c")
        .arg(FORMS)
        .kill_on_drop(true)
        .output()
        .await
        .expect("python runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("forms ok"),
        "the boto3 form script failed: {}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let stored: Vec<String> = keys(s3)
        .await
        .into_iter()
        .filter(|k| !k.starts_with("presigned") && k != "tagged")
        .collect();
    assert_eq!(
        stored,
        ["crc-ok", "md5-ok", "sha-ok"],
        "exactly the accepted forms, nothing from the refused ones"
    );
}

/// PutObject whose `x-amz-sdk-checksum-algorithm` names another algorithm
/// than its value header: S3's `InvalidRequest`, nothing stored; agreeing
/// headers store the object.
async fn sdk_algorithm_mismatch(s3: &Client, signer: &Signer) {
    let body = b"checksummed".to_vec();
    let path = format!("/{BUCKET}/sdk-mismatch");
    let (status, xml) = signer
        .send(
            "PUT",
            &path,
            &[],
            &[
                ("x-amz-sdk-checksum-algorithm", "CRC32C".into()),
                ("x-amz-checksum-crc32", crc32_b64(&body)),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 400, "{xml}");
    assert_eq!(
        code_and_message(&xml),
        (
            "InvalidRequest".to_owned(),
            "Value for x-amz-sdk-checksum-algorithm header is invalid.".to_owned()
        )
    );
    assert!(
        !keys(s3).await.contains(&"sdk-mismatch".to_owned()),
        "nothing stored"
    );
    let (status, xml) = signer
        .send(
            "PUT",
            &path,
            &[],
            &[
                ("x-amz-sdk-checksum-algorithm", "CRC32".into()),
                ("x-amz-checksum-crc32", crc32_b64(&body)),
            ],
            body,
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    assert!(keys(s3).await.contains(&"sdk-mismatch".to_owned()));
}

/// An object uploaded without a checksum gets S3's default, a full-object
/// CRC64NVME: answered by PutObject, stored, returned by HeadObject and
/// GetObject with `x-amz-checksum-mode: ENABLED` (which the SDK then
/// validates) and by GetObjectAttributes; one uploaded with its own
/// checksum keeps that one alone.
async fn default_checksum(server: &TestServer, key: &CreatedKey) {
    use aws_sdk_s3::config::RequestChecksumCalculation;
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType, ObjectAttributes};
    let plain = common::s3_client_with(
        &server.aws_url(),
        &key.access_key_id,
        &key.secret_access_key,
        |b| b.request_checksum_calculation(RequestChecksumCalculation::WhenRequired),
    );
    let body = b"bytes sent without any checksum".repeat(1000);
    let want = b64(&crc64_nvme(&body).to_be_bytes());
    let put = plain
        .put_object()
        .bucket(BUCKET)
        .key("default-checksum")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("PutObject without a checksum");
    assert_eq!(
        put.checksum_crc64_nvme(),
        Some(want.as_str()),
        "PutObject answers it"
    );
    assert_eq!(put.checksum_crc32(), None);
    assert_eq!(put.checksum_type(), Some(&ChecksumType::FullObject));
    let head = plain
        .head_object()
        .bucket(BUCKET)
        .key("default-checksum")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.checksum_crc64_nvme(), Some(want.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
    let got = plain
        .get_object()
        .bucket(BUCKET)
        .key("default-checksum")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("GetObject");
    assert_eq!(got.checksum_crc64_nvme(), Some(want.as_str()));
    let bytes = got
        .body
        .collect()
        .await
        .expect("the SDK validates the CRC64NVME");
    assert_eq!(bytes.into_bytes().as_ref(), body.as_slice());
    let attrs = plain
        .get_object_attributes()
        .bucket(BUCKET)
        .key("default-checksum")
        .object_attributes(ObjectAttributes::Checksum)
        .send()
        .await
        .expect("GetObjectAttributes");
    let sum = attrs.checksum().expect("a checksum");
    assert_eq!(sum.checksum_crc64_nvme(), Some(want.as_str()));

    // An object written through the native API gets it too.
    let native = server.client().with_api_key(key.key.clone());
    native
        .put_object(BUCKET, "native-default", body.clone(), None)
        .await
        .expect("native PUT");
    let head = plain
        .head_object()
        .bucket(BUCKET)
        .key("native-default")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("HeadObject of the native object");
    assert_eq!(head.checksum_crc64_nvme(), Some(want.as_str()));

    // The client's own checksum is the object's; no default is added.
    let own = plain
        .put_object()
        .bucket(BUCKET)
        .key("own-checksum")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("PutObject with SHA256");
    assert!(own.checksum_sha256().is_some());
    assert_eq!(own.checksum_crc64_nvme(), None, "no default beside it");
    let head = plain
        .head_object()
        .bucket(BUCKET)
        .key("own-checksum")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.checksum_crc64_nvme(), None);
    assert_eq!(head.checksum_sha256(), own.checksum_sha256());

    // A copy keeps the source's checksum, and says it; a copy asking for
    // another algorithm gets that one, of its bytes, instead (how S3 adds
    // or changes an object's checksum).
    let kept = plain
        .copy_object()
        .bucket(BUCKET)
        .key("copy-kept")
        .copy_source(format!("{BUCKET}/own-checksum"))
        .send()
        .await
        .expect("CopyObject");
    let result = kept.copy_object_result().expect("a result");
    assert_eq!(result.checksum_sha256(), own.checksum_sha256());
    let changed = plain
        .copy_object()
        .bucket(BUCKET)
        .key("copy-crc32")
        .copy_source(format!("{BUCKET}/own-checksum"))
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .expect("CopyObject with CRC32");
    let want_crc32 = b64(&crc32_ieee(&body).to_be_bytes());
    let result = changed.copy_object_result().expect("a result");
    assert_eq!(result.checksum_crc32(), Some(want_crc32.as_str()));
    assert_eq!(result.checksum_sha256(), None);
    let head = plain
        .head_object()
        .bucket(BUCKET)
        .key("copy-crc32")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("HeadObject of the copy");
    assert_eq!(head.checksum_crc32(), Some(want_crc32.as_str()));
    assert_eq!(head.checksum_sha256(), None, "the source's is gone");

    // The checksum is not metadata: a copy with the REPLACE directive keeps
    // it too, elsewhere and in place (how a client changes an object's
    // Content-Type), as S3 does.
    for key in ["copy-replaced", "own-checksum"] {
        let replaced = plain
            .copy_object()
            .bucket(BUCKET)
            .key(key)
            .copy_source(format!("{BUCKET}/own-checksum"))
            .metadata_directive(MetadataDirective::Replace)
            .content_type("text/plain")
            .send()
            .await
            .expect("CopyObject with REPLACE");
        let result = replaced.copy_object_result().expect("a result");
        assert_eq!(result.checksum_sha256(), own.checksum_sha256(), "{key}");
        let head = plain
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("HeadObject of the replaced copy");
        assert_eq!(head.checksum_sha256(), own.checksum_sha256(), "{key}");
        assert_eq!(
            head.checksum_crc64_nvme(),
            None,
            "{key}: no default instead"
        );
        assert_eq!(head.content_type(), Some("text/plain"), "{key}");
    }
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("integrity").await;
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("CreateBucket");
    let signer = Signer::new(&server, &key);
    delete_objects(&s3, &signer).await;
    configurations(&s3, &signer).await;
    presigned_query_options(&s3, &signer).await;
    form_checksums(&server, &key, &s3).await;
    sdk_algorithm_mismatch(&s3, &signer).await;
    default_checksum(&server, &key).await;
    assert!(!server.log().contains("panicked"), "no panic in the log");
}

#[tokio::test]
async fn integrity_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn integrity_postgres() {
    run(Backend::Postgres).await;
}
