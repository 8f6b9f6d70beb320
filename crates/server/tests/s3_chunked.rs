//! `aws-chunked` request bodies, written by hand so that both forms are
//! exercised whatever the SDKs of the day choose: signed streaming
//! (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, each chunk signed) and unsigned
//! with a trailing checksum (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`); and a
//! signed payload whose bytes do not match `x-amz-content-sha256`.
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use common::{crc32_ieee, s3_client};
use hmac::{Hmac, Mac};
use miniaws_testkit::{Backend, TestServer};
use sha2::{Digest, Sha256};

const REGION: &str = "us-east-1";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

struct Signer {
    access_key_id: String,
    signing_key: Vec<u8>,
    amz_date: String,
    scope: String,
}

impl Signer {
    fn new(access_key_id: &str, secret: &str) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let (date, amz_date) = common::amz_dates(now);
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), &date);
        let k_region = hmac(&k_date, REGION);
        let k_service = hmac(&k_region, "s3");
        let signing_key = hmac(&k_service, "aws4_request");
        Self {
            access_key_id: access_key_id.to_owned(),
            signing_key,
            amz_date,
            scope: format!("{date}/{REGION}/s3/aws4_request"),
        }
    }

    /// The seed signature of a PUT with the given signed headers (sorted,
    /// lowercase) and payload hash.
    fn seed(&self, path: &str, headers: &[(&str, String)], payload: &str) -> String {
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let canonical = format!(
            "PUT\n{path}\n\n{canonical_headers}\n{}\n{payload}",
            signed.join(";")
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            sha256_hex(canonical.as_bytes())
        );
        hex::encode(hmac(&self.signing_key, &sts))
    }

    fn authorization(&self, headers: &[(&str, String)], signature: &str) -> String {
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={signature}",
            self.access_key_id,
            self.scope,
            signed.join(";")
        )
    }

    fn chunk_signature(&self, previous: &str, chunk: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{previous}\n{}\n{}",
            self.amz_date,
            self.scope,
            sha256_hex(b""),
            sha256_hex(chunk)
        );
        hex::encode(hmac(&self.signing_key, &sts))
    }
}

/// PUTs `data` with a signed-streaming body of `chunk`-byte chunks; when
/// `tamper` is set, the second chunk's bytes are altered after signing.
async fn put_signed_streaming(
    endpoint: &str,
    host: &str,
    signer: &Signer,
    path: &str,
    data: &[u8],
    chunk: usize,
    tamper: bool,
) -> reqwest::Response {
    const PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    let headers = vec![
        ("content-encoding", "aws-chunked".to_owned()),
        ("host", host.to_owned()),
        ("x-amz-content-sha256", PAYLOAD.to_owned()),
        ("x-amz-date", signer.amz_date.clone()),
        ("x-amz-decoded-content-length", data.len().to_string()),
    ];
    let seed = signer.seed(path, &headers, PAYLOAD);
    let mut body = Vec::new();
    let mut previous = seed.clone();
    let mut pieces: Vec<&[u8]> = data.chunks(chunk).collect();
    pieces.push(b"");
    for (i, piece) in pieces.into_iter().enumerate() {
        let sig = signer.chunk_signature(&previous, piece);
        body.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", piece.len()).as_bytes());
        let start = body.len();
        body.extend_from_slice(piece);
        if tamper && i == 1 {
            body[start] ^= 0xff;
        }
        body.extend_from_slice(b"\r\n");
        previous = sig;
    }
    let mut req = reqwest::Client::new()
        .put(format!("{endpoint}{path}"))
        .header("authorization", signer.authorization(&headers, &seed))
        .body(body);
    for (k, v) in &headers {
        if *k != "host" {
            req = req.header(*k, v);
        }
    }
    req.send().await.expect("the server answers")
}

/// PUTs `data` as `STREAMING-UNSIGNED-PAYLOAD-TRAILER` with a CRC32 trailer
/// of `trailer_crc`.
async fn put_unsigned_trailer(
    endpoint: &str,
    host: &str,
    signer: &Signer,
    path: &str,
    data: &[u8],
    trailer_crc: u32,
) -> reqwest::Response {
    const PAYLOAD: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
    let headers = vec![
        ("content-encoding", "aws-chunked".to_owned()),
        ("host", host.to_owned()),
        ("x-amz-content-sha256", PAYLOAD.to_owned()),
        ("x-amz-date", signer.amz_date.clone()),
        ("x-amz-decoded-content-length", data.len().to_string()),
        ("x-amz-trailer", "x-amz-checksum-crc32".to_owned()),
    ];
    let seed = signer.seed(path, &headers, PAYLOAD);
    let crc = base64::engine::general_purpose::STANDARD.encode(trailer_crc.to_be_bytes());
    let mut body = Vec::new();
    for piece in data.chunks(64 * 1024) {
        body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n").as_bytes());
    let mut req = reqwest::Client::new()
        .put(format!("{endpoint}{path}"))
        .header("authorization", signer.authorization(&headers, &seed))
        .body(body);
    for (k, v) in &headers {
        if *k != "host" {
            req = req.header(*k, v);
        }
    }
    req.send().await.expect("the server answers")
}

/// PUTs `data` in one piece with `x-amz-content-sha256: <claimed>` signed.
async fn put_signed_payload(
    endpoint: &str,
    host: &str,
    signer: &Signer,
    path: &str,
    data: &[u8],
    claimed: &str,
) -> reqwest::Response {
    put_signed_with(endpoint, host, signer, path, data, claimed, &[]).await
}

/// [`put_signed_payload`] with `unsigned` headers added after signing.
async fn put_signed_with(
    endpoint: &str,
    host: &str,
    signer: &Signer,
    path: &str,
    data: &[u8],
    claimed: &str,
    unsigned: &[(&str, &str)],
) -> reqwest::Response {
    let headers = vec![
        ("host", host.to_owned()),
        ("x-amz-content-sha256", claimed.to_owned()),
        ("x-amz-date", signer.amz_date.clone()),
    ];
    let seed = signer.seed(path, &headers, claimed);
    let mut req = reqwest::Client::new()
        .put(format!("{endpoint}{path}"))
        .header("authorization", signer.authorization(&headers, &seed))
        .body(data.to_vec());
    for (k, v) in &headers {
        if *k != "host" {
            req = req.header(*k, v);
        }
    }
    for (k, v) in unsigned {
        req = req.header(*k, *v);
    }
    req.send().await.expect("the server answers")
}

/// Asserts that `res` was refused with `status` and the S3 error `code`,
/// and that nothing was stored at `key` of the `chunked` bucket.
async fn assert_refused_and_absent(
    s3: &aws_sdk_s3::Client,
    res: reqwest::Response,
    status: u16,
    code: &str,
    key: &str,
) {
    assert_eq!(res.status().as_u16(), status, "{key}");
    let text = res.text().await.expect("error body");
    assert!(
        text.contains(&format!("<Code>{code}</Code>")),
        "{key}: {text}"
    );
    let err = s3
        .head_object()
        .bucket("chunked")
        .key(key)
        .send()
        .await
        .expect_err("a refused upload leaves nothing");
    assert_eq!(common::code_of(&err).1, 404, "{key}");
}

#[tokio::test]
async fn aws_chunked_bodies_signed_and_with_trailers() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("chunky").await;
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("chunked")
        .send()
        .await
        .expect("bucket");
    let endpoint = server.aws_url();
    let host = endpoint.trim_start_matches("http://").to_owned();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();

    // Signed streaming: 64 KiB chunks, every chunk signature checked.
    let signer = Signer::new(&key.access_key_id, &key.secret_access_key);
    let res = put_signed_streaming(
        &endpoint,
        &host,
        &signer,
        "/chunked/signed.bin",
        &data,
        65536,
        false,
    )
    .await;
    assert_eq!(
        res.status().as_u16(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let got = s3
        .get_object()
        .bucket("chunked")
        .key("signed.bin")
        .send()
        .await
        .expect("read back");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert!(
        body.as_ref() == data.as_slice(),
        "the de-chunked bytes are stored"
    );

    // A chunk altered after signing: refused, and nothing is stored.
    let res = put_signed_streaming(
        &endpoint,
        &host,
        &signer,
        "/chunked/tampered.bin",
        &data,
        65536,
        true,
    )
    .await;
    assert_refused_and_absent(&s3, res, 403, "SignatureDoesNotMatch", "tampered.bin").await;

    // Unsigned payload with a CRC32 trailer: verified, stored, returned.
    let res = put_unsigned_trailer(
        &endpoint,
        &host,
        &signer,
        "/chunked/trailer.bin",
        &data,
        crc32_ieee(&data),
    )
    .await;
    assert_eq!(
        res.status().as_u16(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let want = base64::engine::general_purpose::STANDARD.encode(crc32_ieee(&data).to_be_bytes());
    assert_eq!(
        res.headers()
            .get("x-amz-checksum-crc32")
            .and_then(|v| v.to_str().ok()),
        Some(want.as_str()),
        "the verified checksum is returned"
    );
    let head = s3
        .head_object()
        .bucket("chunked")
        .key("trailer.bin")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_crc32(), Some(want.as_str()));
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert!(
        head.content_encoding().is_none(),
        "aws-chunked is not the object's encoding"
    );

    // A wrong trailer checksum: BadDigest, nothing stored.
    let res = put_unsigned_trailer(
        &endpoint,
        &host,
        &signer,
        "/chunked/bad-trailer.bin",
        &data,
        crc32_ieee(&data) ^ 1,
    )
    .await;
    assert_refused_and_absent(&s3, res, 400, "BadDigest", "bad-trailer.bin").await;

    // A signed payload whose bytes are not the ones signed (the SHA-256
    // of other bytes): S3's `XAmzContentSHA256Mismatch`, nothing stored;
    // the right hash is stored.
    let res = put_signed_payload(
        &endpoint,
        &host,
        &signer,
        "/chunked/sha.bin",
        &data,
        &sha256_hex(b"other bytes"),
    )
    .await;
    assert_refused_and_absent(&s3, res, 400, "XAmzContentSHA256Mismatch", "sha.bin").await;
    let res = put_signed_payload(
        &endpoint,
        &host,
        &signer,
        "/chunked/sha.bin",
        &data,
        &sha256_hex(&data),
    )
    .await;
    assert_eq!(res.status().as_u16(), 200, "the body's own SHA-256");

    // Sanity: an ordinary SDK upload still works beside them.
    s3.put_object()
        .bucket("chunked")
        .key("plain")
        .body(ByteStream::from_static(b"plain"))
        .send()
        .await
        .expect("plain put");
}

/// An `x-amz-*` header the signature does not cover is refused, as S3
/// refuses it (403 `AccessDenied`, `<HeadersNotSigned>`): otherwise the
/// holder of a presigned PUT could turn it into a copy of any object the
/// signer can read, or a retention the signer can never lift.
#[tokio::test]
async fn headers_added_after_signing_are_refused() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("signer").await;
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("chunked")
        .send()
        .await
        .expect("bucket");
    s3.put_object()
        .bucket("chunked")
        .key("private")
        .body(ByteStream::from_static(b"the signer's secret"))
        .send()
        .await
        .expect("put");
    let endpoint = server.aws_url();
    let host = endpoint.trim_start_matches("http://").to_owned();
    let signer = Signer::new(&key.access_key_id, &key.secret_access_key);
    let data = b"upload";

    // Header-signed: the copy source was not signed.
    let res = put_signed_with(
        &endpoint,
        &host,
        &signer,
        "/chunked/slot",
        data,
        &sha256_hex(data),
        &[
            ("x-amz-copy-source", "chunked/private"),
            ("x-amz-meta-a", "1"),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 403);
    let text = res.text().await.expect("body");
    assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
    assert!(
        text.contains("<HeadersNotSigned>x-amz-copy-source, x-amz-meta-a</HeadersNotSigned>"),
        "{text}"
    );
    let err = s3
        .head_object()
        .bucket("chunked")
        .key("slot")
        .send()
        .await
        .expect_err("nothing copied");
    assert_eq!(common::code_of(&err).1, 404);

    // Presigned: the URL signs the host only; a tag header added by its
    // holder is refused, the plain upload goes ahead.
    let url = s3
        .put_object()
        .bucket("chunked")
        .key("slot")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(
                300,
            ))
            .expect("config"),
        )
        .await
        .expect("presign")
        .uri()
        .to_owned();
    let http = reqwest::Client::new();
    let res = http
        .put(&url)
        .header("x-amz-object-lock-legal-hold", "ON")
        .body(&data[..])
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status().as_u16(), 403);
    let text = res.text().await.expect("body");
    assert!(
        text.contains("<HeadersNotSigned>x-amz-object-lock-legal-hold</HeadersNotSigned>"),
        "{text}"
    );
    let res = http.put(&url).body(&data[..]).send().await.expect("answer");
    assert_eq!(res.status().as_u16(), 200, "the URL as signed");
    let got = s3
        .get_object()
        .bucket("chunked")
        .key("slot")
        .send()
        .await
        .expect("get");
    assert_eq!(
        got.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .as_ref(),
        data
    );
}
