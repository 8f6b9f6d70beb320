//! Helpers shared by the S3 integration tests: SDK clients pointed at a
//! test server, and error inspection.
#![allow(dead_code)]

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use miniaws_client::CreatedKey;
use miniaws_testkit::TestServer;

/// An S3 client (path style, no retries) for `key` on `server`.
pub fn s3_client(server: &TestServer, key: &CreatedKey) -> aws_sdk_s3::Client {
    s3_client_with(
        &server.aws_url(),
        &key.access_key_id,
        &key.secret_access_key,
        |b| b,
    )
}

/// An S3 client with explicit credentials and a hook to adjust its config.
pub fn s3_client_with(
    endpoint: &str,
    access_key_id: &str,
    secret: &str,
    adjust: impl FnOnce(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder,
) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(access_key_id, secret, None, None, "test"))
        .force_path_style(true)
        .retry_config(RetryConfig::disabled());
    aws_sdk_s3::Client::from_conf(adjust(config).build())
}

/// The S3 error code and HTTP status of a failed SDK call.
pub fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> (String, u16) {
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    (err.code().unwrap_or("-").to_owned(), status)
}

/// Starts a server on `backend` and signs up `name`.
pub async fn server_and_user(
    backend: miniaws_testkit::Backend,
    name: &str,
) -> Option<(TestServer, CreatedKey)> {
    server_and_user_with(backend, name, &[]).await
}

/// [`server_and_user`] with extra command-line arguments for the server.
pub async fn server_and_user_with(
    backend: miniaws_testkit::Backend,
    name: &str,
    args: &[&str],
) -> Option<(TestServer, CreatedKey)> {
    let server = TestServer::start_with(backend, args, &[]).await?;
    let (_, key) = server.user(name).await;
    Some((server, key))
}

/// CRC-32 (IEEE), bitwise: slow, but small and independent of the
/// server's implementation.
pub fn crc32_ieee(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5), bitwise.
pub fn crc64_nvme(data: &[u8]) -> u64 {
    let mut crc = u64::MAX;
    for &b in data {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x9a6c_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Every regular file under `dir` (none if it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() { files_under(&p) } else { vec![p] }
        })
        .collect()
}

/// The object store of `server`: `<data-dir>/objects`.
pub fn objects_dir(server: &TestServer) -> std::path::PathBuf {
    server.data_dir().join("data").join("objects")
}
