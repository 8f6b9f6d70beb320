//! An S3 client as lean as the native one, for the `s3` suite.
//!
//! The native rows use a bare `reqwest` client; `aws-sdk-s3` adds its own
//! client-side costs (interceptors, checksums, response parsing) that share
//! the two cores with the server. This client sends the same requests over
//! a `reqwest` client built with the native client's settings, and signs
//! each one with SigV4 in the `Authorization` header using `aws-sigv4`, the
//! signer inside the SDK: what remains is the protocol's cost (the
//! signature, and a SHA-256 of the body when the payload is signed), not a
//! hand-written signer's.
//!
//! Every answer is checked (status, and the byte count of a GET) so that a
//! failing request cannot count as a fast one.

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use futures::StreamExt;
use std::time::{Duration, SystemTime};

/// How the client signs a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD`, what SDKs send over https.
    Unsigned,
    /// `x-amz-content-sha256` is the body's SHA-256, which the client
    /// computes before sending (as every SigV4 client must).
    Signed,
}

/// A SigV4 client of the AWS endpoint over plain `reqwest`.
#[derive(Clone)]
pub struct LeanS3 {
    http: reqwest::Client,
    endpoint: String,
    identity: Identity,
    settings: SigningSettings,
    payload: Payload,
}

impl LeanS3 {
    /// A client of the AWS endpoint at `endpoint` (`http://host:port`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        endpoint: &str,
        access_key_id: &str,
        secret_access_key: &str,
        payload: Payload,
    ) -> anyhow::Result<Self> {
        // The native client's settings (miniaws-client `Client::new`).
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .context("build the HTTP client")?;
        // S3's flavour of SigV4: the path is encoded once and not
        // normalised, and `x-amz-content-sha256` is sent and signed.
        // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            identity: Credentials::new(access_key_id, secret_access_key, None, None, "bench")
                .into(),
            settings,
            payload,
        })
    }

    /// A request for `/{bucket}/{key}` (path style) signed over `body`.
    /// Keys are the suite's own (`[a-z0-9./]`), so the path needs no
    /// percent-encoding.
    fn signed(
        &self,
        method: reqwest::Method,
        bucket: &str,
        key: &str,
        body: &[u8],
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        let url = format!("{}/{bucket}/{key}", self.endpoint);
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region("us-east-1")
            .name("s3")
            .time(SystemTime::now())
            .settings(self.settings.clone())
            .build()
            .context("signing parameters")?
            .into();
        let signable_body = match self.payload {
            Payload::Unsigned => SignableBody::UnsignedPayload,
            // The signer hashes the body here, before the request leaves.
            Payload::Signed => SignableBody::Bytes(body),
        };
        let signable = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            std::iter::empty(),
            signable_body,
        )
        .context("signable request")?;
        let (instructions, _signature) = sign(signable, &params)
            .context("SigV4 signing")?
            .into_parts();
        let mut req = self.http.request(method, url.as_str());
        for (name, value) in instructions.headers() {
            req = req.header(name, value);
        }
        Ok(req)
    }

    /// PutObject; fails unless the answer is 200.
    pub async fn put(&self, bucket: &str, key: &str, body: Bytes) -> anyhow::Result<()> {
        let req = self.signed(reqwest::Method::PUT, bucket, key, &body)?;
        let res = req.body(body).send().await.context("lean S3 PUT")?;
        let status = res.status();
        // Read the answer to its end, as any client that keeps the
        // connection must.
        let answer = res.bytes().await.context("lean S3 PUT answer")?;
        anyhow::ensure!(
            status == reqwest::StatusCode::OK,
            "lean S3 PUT {bucket}/{key}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
        Ok(())
    }

    /// GetObject, counting the bytes without keeping them; fails unless
    /// the answer is 200 and the count matches its `Content-Length`.
    pub async fn get(&self, bucket: &str, key: &str) -> anyhow::Result<usize> {
        let req = self.signed(reqwest::Method::GET, bucket, key, &[])?;
        let res = req.send().await.context("lean S3 GET")?;
        let status = res.status();
        if status != reqwest::StatusCode::OK {
            let answer = res.bytes().await.unwrap_or_default();
            anyhow::bail!(
                "lean S3 GET {bucket}/{key}: {status} {}",
                String::from_utf8_lossy(&answer)
            );
        }
        anyhow::ensure!(
            res.headers().contains_key(reqwest::header::ETAG),
            "lean S3 GET {bucket}/{key}: no ETag"
        );
        let expected = res.content_length();
        let mut n = 0;
        let mut body = res.bytes_stream();
        while let Some(chunk) = body.next().await {
            n += chunk.context("lean S3 GET body")?.len();
        }
        anyhow::ensure!(
            expected == Some(n as u64),
            "lean S3 GET {bucket}/{key}: {n} bytes, Content-Length {expected:?}"
        );
        Ok(n)
    }
}
