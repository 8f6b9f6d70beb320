//! `/storage` calls: buckets, streaming uploads and downloads, listings.

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, IF_NONE_MATCH};
use reqwest::{Body, Method, StatusCode};
use std::path::Path;
use tokio::io::AsyncWriteExt;

use crate::{
    BucketInfo, BucketPage, BucketVersioning, Client, ClientError, ObjectInfo, ObjectPage,
    VersionPage,
};

/// Everything but RFC 3986 unreserved characters is escaped, `/` included:
/// URL libraries resolve `.` and `..` segments (even as `%2e`), so a key
/// such as `a/../b` must not reach the URL with its slashes intact.
const KEY_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// The longest object key S3 (and the server) takes, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;

/// A key or bucket name as one escaped path segment. Dots are escaped too,
/// so that `.` and `..` are never a path segment.
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_ESCAPES).to_string()
}

/// Parameters of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListObjectsParams {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Roll keys up into common prefixes at this delimiter.
    pub delimiter: Option<String>,
    /// Page size (1–1,000; the server's default is 1,000).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A download in progress: the response headers and the body as a stream.
pub struct ObjectDownload {
    /// 200, 206 (range) or 304 (not modified).
    pub status: StatusCode,
    /// The response headers (Content-Type, ETag, Last-Modified, …).
    pub headers: HeaderMap,
    /// The body; empty for 304.
    pub body: futures::stream::BoxStream<'static, Result<Bytes, ClientError>>,
}

impl std::fmt::Debug for ObjectDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectDownload")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl ObjectDownload {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Collects the whole body in memory (small objects and tests only).
    ///
    /// # Errors
    /// A transport error mid-body.
    pub async fn bytes(self) -> Result<Vec<u8>, ClientError> {
        self.body
            .try_fold(Vec::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
            .await
    }
}

/// `/storage/{bucket}/{key}`. `s3api` is the aws CLI command that does the
/// same through S3 and what it takes beyond the bucket and key (`get-object`
/// and ` FILE`): a key `.` or `..` is refused naming it, since only S3 can
/// reach such a key, and a refused download must not suggest a delete.
fn object_path(bucket: &str, key: &str, s3api: (&str, &str)) -> Result<String, ClientError> {
    if key.len() > MAX_KEY_BYTES {
        // The server says the same; a URL this long may not even be sent.
        return Err(ClientError::InvalidName(format!(
            "the object key is {} bytes long; keys may be at most {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    if matches!(key, "." | "..") {
        return Err(ClientError::InvalidName(format!(
            "the key {key:?} cannot be sent in a URL path (URL libraries resolve `.` and `..` \
             segments, even escaped), so the native API cannot reach it; use an S3 client, \
             e.g. `aws s3api {} --bucket {bucket} --key {key}{}`",
            s3api.0, s3api.1
        )));
    }
    Ok(format!("{}/{}", bucket_path(bucket)?, encode_key(key)))
}

/// `/storage/{bucket}`. A bucket named `.` or `..` is refused here: the
/// URL would resolve it to another endpoint (`DELETE /storage/./b` is
/// `DELETE /storage/b`, the bucket `b`).
fn bucket_path(bucket: &str) -> Result<String, ClientError> {
    if matches!(bucket, "." | "..") {
        return Err(ClientError::InvalidName(format!(
            "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)"
        )));
    }
    Ok(format!("/storage/{}", encode_key(bucket)))
}

impl Client {
    /// One page of the caller's buckets, by name: `limit` 1 to 1,000 (the
    /// server's default is 1,000), `next_token` from the previous page.
    ///
    /// # Errors
    /// `Api` 401 without a valid key, 400 for a bad limit or token.
    pub async fn list_buckets_page(
        &self,
        limit: Option<u32>,
        next_token: Option<&str>,
    ) -> Result<BucketPage, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(t) = next_token {
            query.push(("next_token", t.to_owned()));
        }
        self.send_page(self.request(Method::GET, "/storage").query(&query))
            .await
    }

    /// Every bucket of the caller, by name, following pages.
    ///
    /// # Errors
    /// As [`Client::list_buckets_page`].
    pub async fn list_buckets(&self) -> Result<Vec<BucketInfo>, ClientError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list_buckets_page(None, token.as_deref()).await?;
            out.extend(page.data);
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Creates a bucket (succeeds too when the caller already owns it).
    ///
    /// # Errors
    /// `Api` 400 for a name that breaks the S3 rules, 409 when another
    /// account has it.
    pub async fn create_bucket(&self, name: &str) -> Result<BucketInfo, ClientError> {
        let path = bucket_path(name)?;
        self.send_json(self.request(Method::PUT, &path)).await
    }

    /// Deletes an empty bucket.
    ///
    /// # Errors
    /// `Api` 404 `BUCKET_NOT_FOUND`, 403 for another account's, 409 when
    /// not empty.
    pub async fn delete_bucket(&self, name: &str) -> Result<(), ClientError> {
        let path = bucket_path(name)?;
        self.send(self.request(Method::DELETE, &path))
            .await
            .map(drop)
    }

    /// Uploads a body from a stream (never held in memory). The bucket is
    /// created for the caller if it does not exist. `content_length`, when
    /// known, lets the server refuse an oversized body before it is sent.
    ///
    /// # Errors
    /// `Api` 403 (another account's bucket), 413 (over the server's limit),
    /// 400 (bad name or key).
    pub async fn put_object_stream<S>(
        &self,
        bucket: &str,
        key: &str,
        body: S,
        content_length: Option<u64>,
        content_type: Option<&str>,
    ) -> Result<ObjectInfo, ClientError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let req = self.put_request(
            bucket,
            key,
            Body::wrap_stream(body),
            content_length,
            content_type,
        )?;
        self.send_json(req).await
    }

    /// As [`Client::put_object_stream`], but only if the key does not exist
    /// yet (`If-None-Match: *`, checked by the server atomically with the
    /// write): `Ok(None)` when it does, and nothing is replaced.
    ///
    /// # Errors
    /// As [`Client::put_object_stream`].
    pub async fn put_object_stream_if_absent<S>(
        &self,
        bucket: &str,
        key: &str,
        body: S,
        content_length: Option<u64>,
        content_type: Option<&str>,
    ) -> Result<Option<ObjectInfo>, ClientError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let req = self
            .put_request(
                bucket,
                key,
                Body::wrap_stream(body),
                content_length,
                content_type,
            )?
            .header(IF_NONE_MATCH, "*");
        match self.send_json(req).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.status() == Some(StatusCode::PRECONDITION_FAILED) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PUT /storage/{bucket}/{key}` with `body` and the optional headers.
    fn put_request(
        &self,
        bucket: &str,
        key: &str,
        body: Body,
        content_length: Option<u64>,
        content_type: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let mut req = self
            .request_unbounded(
                Method::PUT,
                &object_path(bucket, key, ("put-object", " --body FILE"))?,
            )
            .body(body);
        if let Some(len) = content_length {
            req = req.header(CONTENT_LENGTH, len);
        }
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        Ok(req)
    }

    /// Copies `src_bucket`/`src_key` (its `src_version`, else the current
    /// object) to `bucket`/`key` on the server, bytes, content type,
    /// metadata and tags. With `if_absent`, only if the destination key
    /// does not exist yet (`Ok(None)` when it does; nothing is replaced).
    /// The destination bucket must exist.
    ///
    /// # Errors
    /// `Api` 404 (no such source object, version or bucket, or no
    /// destination bucket), 403, 400 (a copy onto itself, bad names).
    pub async fn copy_object(
        &self,
        (src_bucket, src_key, src_version): (&str, &str, Option<&str>),
        bucket: &str,
        key: &str,
        if_absent: bool,
    ) -> Result<Option<ObjectInfo>, ClientError> {
        let mut source = format!("{}/{}", encode_key(src_bucket), encode_key(src_key));
        if let Some(v) = src_version {
            source.push_str("?versionId=");
            source.push_str(&encode_key(v));
        }
        let mut req = self
            .request_unbounded(
                Method::PUT,
                &object_path(bucket, key, ("copy-object", " --copy-source SOURCE"))?,
            )
            .header("x-amz-copy-source", source)
            .header(CONTENT_LENGTH, 0);
        if if_absent {
            req = req.header(IF_NONE_MATCH, "*");
        }
        match self.send_json(req).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if if_absent && e.status() == Some(StatusCode::PRECONDITION_FAILED) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Uploads bytes held in memory.
    ///
    /// # Errors
    /// As [`Client::put_object_stream`].
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Bytes>,
        content_type: Option<&str>,
    ) -> Result<ObjectInfo, ClientError> {
        // reqwest sets Content-Length for a body held in memory.
        let req = self.put_request(bucket, key, Body::from(body.into()), None, content_type)?;
        self.send_json(req).await
    }

    /// Uploads a file, streaming it from disk.
    ///
    /// # Errors
    /// `Io` when the file cannot be read, else as
    /// [`Client::put_object_stream`].
    pub async fn upload_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: Option<&str>,
    ) -> Result<ObjectInfo, ClientError> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        self.put_object_stream(bucket, key, stream, Some(len), content_type)
            .await
    }

    /// Starts a download; `range` is a `Range` header value such as
    /// `bytes=0-99`, `if_none_match` an ETag for a conditional GET (a 304
    /// comes back as a download with an empty body).
    ///
    /// # Errors
    /// `Api` 404 `BUCKET_NOT_FOUND`/`OBJECT_NOT_FOUND`, 403, 416.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<ObjectDownload, ClientError> {
        self.get_object_at(bucket, key, None, range, if_none_match)
            .await
    }

    /// As [`Client::get_object`], of the version `version_id` when given
    /// (an id from [`Client::list_versions`], or `null`).
    ///
    /// # Errors
    /// As [`Client::get_object`]; 404 for a version that does not exist,
    /// 405 `METHOD_NOT_ALLOWED` for a delete marker, 400 for a malformed id.
    pub async fn get_object_at(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        range: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<ObjectDownload, ClientError> {
        let mut req = self
            .request_unbounded(
                Method::GET,
                &object_path(bucket, key, ("get-object", " FILE"))?,
            )
            .query(&version_query(version_id));
        if let Some(r) = range {
            req = req.header("range", r);
        }
        if let Some(etag) = if_none_match {
            req = req.header("if-none-match", etag);
        }
        let res = self.send(req).await?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .bytes_stream()
            .map_err(|e| ClientError::Transport(e.to_string()))
            .boxed();
        Ok(ObjectDownload {
            status,
            headers,
            body,
        })
    }

    /// Downloads an object into a file, streaming; returns the bytes written.
    ///
    /// # Errors
    /// As [`Client::get_object`], plus `Io` for the file.
    pub async fn download_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
    ) -> Result<u64, ClientError> {
        let mut download = self.get_object(bucket, key, None, None).await?;
        let mut file = tokio::fs::File::create(path).await?;
        let mut written = 0u64;
        while let Some(chunk) = download.body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        file.flush().await?;
        Ok(written)
    }

    /// An object's headers (`HEAD`).
    ///
    /// # Errors
    /// `Api` 404 (no body comes back on HEAD, so the kind is the status
    /// name), 403.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<HeaderMap, ClientError> {
        self.head_object_at(bucket, key, None).await
    }

    /// As [`Client::head_object`], of the version `version_id` when given.
    ///
    /// # Errors
    /// As [`Client::head_object`]; 405 for a delete marker, 400 for a
    /// malformed id.
    pub async fn head_object_at(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<HeaderMap, ClientError> {
        let req = self
            .request(
                Method::HEAD,
                &object_path(bucket, key, ("head-object", ""))?,
            )
            .query(&version_query(version_id));
        let res = self.send(req).await?;
        Ok(res.headers().clone())
    }

    /// Deletes an object.
    ///
    /// # Errors
    /// `Api` 404 `OBJECT_NOT_FOUND` / `BUCKET_NOT_FOUND`, 403.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ClientError> {
        self.delete_object_at(bucket, key, None).await.map(drop)
    }

    /// Deletes an object, or with `version_id` that version for good; in a
    /// versioned bucket, a delete without a version inserts a delete marker.
    /// The answer names the marker inserted or the version removed.
    ///
    /// # Errors
    /// `Api` 404 (no such object or version), 403, 400 for a malformed id.
    pub async fn delete_object_at(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Deleted, ClientError> {
        let req = self
            .request(
                Method::DELETE,
                &object_path(bucket, key, ("delete-object", ""))?,
            )
            .query(&version_query(version_id));
        let res = self.send(req).await?;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Deleted {
            version_id: header("x-amz-version-id"),
            delete_marker: header("x-amz-delete-marker").as_deref() == Some("true"),
        })
    }

    /// A bucket's versioning state: `unversioned`, `enabled` or `suspended`.
    ///
    /// # Errors
    /// `Api` 404, 403.
    pub async fn bucket_versioning(&self, bucket: &str) -> Result<BucketVersioning, ClientError> {
        let path = bucket_path(bucket)?;
        self.send_json(
            self.request(Method::GET, &path)
                .query(&[("versioning", "")]),
        )
        .await
    }

    /// Sets a bucket's versioning: `enabled` or `suspended` (a bucket
    /// never goes back to unversioned).
    ///
    /// # Errors
    /// `Api` 400 for another status, 404, 403.
    pub async fn set_bucket_versioning(
        &self,
        bucket: &str,
        status: &str,
    ) -> Result<BucketVersioning, ClientError> {
        let path = bucket_path(bucket)?;
        self.send_json(
            self.request(Method::PUT, &path)
                .query(&[("versioning", status)]),
        )
        .await
    }

    /// One page of a bucket's versions and delete markers (by key, newest
    /// first within a key).
    ///
    /// # Errors
    /// `Api` 404, 403, 400 (bad limit or cursor).
    pub async fn list_versions(
        &self,
        bucket: &str,
        params: &ListObjectsParams,
    ) -> Result<VersionPage, ClientError> {
        let mut query = list_query(params);
        query.insert(0, ("versions", String::new()));
        let path = bucket_path(bucket)?;
        self.send_json(self.request(Method::GET, &path).query(&query))
            .await
    }

    /// One page of a bucket's objects.
    ///
    /// # Errors
    /// `Api` 404, 403, 400 (bad limit or cursor).
    pub async fn list_objects(
        &self,
        bucket: &str,
        params: &ListObjectsParams,
    ) -> Result<ObjectPage, ClientError> {
        let path = bucket_path(bucket)?;
        self.send_json(self.request(Method::GET, &path).query(&list_query(params)))
            .await
    }
}

/// What a delete did: the delete marker it inserted, or the version it
/// removed (`None` in a bucket never versioned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// `x-amz-version-id` of the answer.
    pub version_id: Option<String>,
    /// Whether that version is a delete marker.
    pub delete_marker: bool,
}

/// `version_id=…` when a version is named.
fn version_query(version_id: Option<&str>) -> Vec<(&'static str, &str)> {
    version_id.map(|v| ("version_id", v)).into_iter().collect()
}

/// A listing's query parameters.
fn list_query(params: &ListObjectsParams) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(p) = &params.prefix {
        query.push(("prefix", p.clone()));
    }
    if let Some(d) = &params.delimiter {
        query.push(("delimiter", d.clone()));
    }
    if let Some(l) = params.limit {
        query.push(("limit", l.to_string()));
    }
    if let Some(c) = &params.cursor {
        query.push(("cursor", c.clone()));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::{bucket_path, encode_key, object_path};

    const HEAD: (&str, &str) = ("head-object", "");

    #[test]
    fn dot_segments_are_refused_before_anything_is_sent() {
        for name in [".", ".."] {
            assert!(bucket_path(name).is_err(), "{name}");
            assert!(object_path("b", name, HEAD).is_err(), "{name}");
        }
        assert_eq!(
            object_path("b", "a/../c", HEAD).unwrap(),
            "/storage/b/a%2F%2E%2E%2Fc"
        );
        assert_eq!(
            object_path("b", "...", HEAD).unwrap(),
            "/storage/b/%2E%2E%2E"
        );
        assert!(object_path("b", &"k".repeat(1024), HEAD).is_ok());
        let err = object_path("b", &"k".repeat(1025), HEAD)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1025 bytes long"), "{err}");
    }

    #[test]
    fn keys_become_one_opaque_segment() {
        assert_eq!(encode_key("a/../b"), "a%2F%2E%2E%2Fb");
        assert_eq!(encode_key("ok-_~"), "ok-_~");
        assert_eq!(encode_key("nul\0"), "nul%00");
        assert_eq!(encode_key("日"), "%E6%97%A5");
    }
}
