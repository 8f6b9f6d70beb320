//! Helpers shared by the S3 integration tests: SDK clients pointed at a
//! test server, and error inspection.
#![allow(dead_code)]

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use miniaws_client::CreatedKey;
use miniaws_testkit::TestServer;

/// Uploads `body` as the one part of multipart upload `upload_id` and
/// completes the upload: what follows a CreateMultipartUpload whose own
/// options are what a test is about.
pub async fn complete_with_one_part(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    body: &[u8],
) -> aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let part = s3
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(1)
        .body(body.to_vec().into())
        .send()
        .await
        .expect("UploadPart");
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .set_e_tag(part.e_tag().map(str::to_owned))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload")
}

/// The SigV4 dates of `now`: the scope's `yyyymmdd` and the
/// `x-amz-date` value `yyyymmddThhmmssZ`.
pub fn amz_dates(now: time::OffsetDateTime) -> (String, String) {
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let amz_date = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    (date, amz_date)
}

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

/// The blobs under the object store `dir`, temporaries aside, one path
/// each: a blob's file, or a composite blob's directory (`<uuid>.parts/`,
/// a completed multipart object's links to its parts' files), which is
/// one blob.
pub fn blobs_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, top: bool, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for p in entries.flatten().map(|e| e.path()) {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !p.is_dir() || name.ends_with(".parts") {
                out.push(p);
            } else if !(top && name == "tmp") {
                walk(&p, false, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, true, &mut out);
    out.sort();
    out
}

/// The bytes of the blob at `path` (see [`blobs_under`]): a composite's
/// are its part files', in order.
pub fn blob_bytes(path: &std::path::Path) -> Vec<u8> {
    if !path.is_dir() {
        return std::fs::read(path).expect("a blob file reads");
    }
    let mut parts = files_under(path);
    parts.sort();
    parts
        .iter()
        .flat_map(|p| std::fs::read(p).expect("a part file reads"))
        .collect()
}

/// The object store of `server`: `<data-dir>/objects`.
pub fn objects_dir(server: &TestServer) -> std::path::PathBuf {
    server.data_dir().join("data").join("objects")
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut m =
        <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key).expect("any key length");
    hmac::Mac::update(&mut m, data.as_bytes());
    hmac::Mac::finalize(m).into_bytes().to_vec()
}

/// The fields of a SigV4 form upload of `key` into `bucket`, with `extra`
/// fields (each covered by the policy).
pub fn form_fields(
    key: &miniaws_client::CreatedKey,
    bucket: &str,
    object: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc();
    let (date, amz_date) = amz_dates(now);
    let credential = format!("{}/{date}/us-east-1/s3/aws4_request", key.access_key_id);
    let expires = (now + time::Duration::hours(1))
        .replace_nanosecond(0)
        .expect("zero nanoseconds")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let mut conditions = vec![
        serde_json::json!({"bucket": bucket}),
        serde_json::json!({"key": object}),
        serde_json::json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
        serde_json::json!({"x-amz-credential": credential}),
        serde_json::json!({"x-amz-date": amz_date}),
    ];
    for (name, value) in extra {
        conditions.push(serde_json::json!({ *name: *value }));
    }
    let policy = serde_json::json!({"expiration": expires, "conditions": conditions});
    let policy = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        policy.to_string(),
    );
    let k = hmac_sha256(format!("AWS4{}", key.secret_access_key).as_bytes(), &date);
    let k = hmac_sha256(&k, "us-east-1");
    let k = hmac_sha256(&k, "s3");
    let k = hmac_sha256(&k, "aws4_request");
    let signature = hex::encode(hmac_sha256(&k, &policy));
    let mut fields: Vec<(String, String)> = [
        ("key", object.to_owned()),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential", credential),
        ("x-amz-date", amz_date),
        ("policy", policy),
        ("x-amz-signature", signature),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    fields.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    fields
}

/// Sends a form upload of `file` with `fields`: status, headers, body.
pub async fn post_form(
    server: &TestServer,
    bucket: &str,
    fields: &[(String, String)],
    file: &[u8],
) -> (u16, reqwest::header::HeaderMap, String) {
    const BOUNDARY: &str = "----miniawsTagsBoundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("{}/{bucket}", server.aws_url()))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("form sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

/// Runs `sql` on the database of `server` (on `backend`) from outside,
/// as a test that moves a row's time back does (the server's clock is
/// real); how many rows it changed.
pub async fn execute(server: &TestServer, backend: miniaws_testkit::Backend, sql: &str) -> u64 {
    let url = server.database_url();
    match backend {
        miniaws_testkit::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .expect("update")
                .rows_affected();
            pool.close().await;
            n
        }
        miniaws_testkit::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .expect("update")
                .rows_affected();
            pool.close().await;
            n
        }
    }
}

/// Runs a boto3 `script` (`python -c`) with `key`'s credentials, the
/// server's AWS listener in `ENDPOINT`, and `args`; it prints "boto3 ok"
/// when all its assertions held. Skipped (or failed) as
/// [`miniaws_testkit::require_tool`] decides without Python.
pub async fn boto3(server: &TestServer, key: &CreatedKey, script: &str, args: &[&str]) {
    let Some(python) = miniaws_testkit::require_tool("MINIAWS_TEST_PYTHON") else {
        return;
    };
    let clients = miniaws_testkit::AwsClients::new(server, key);
    miniaws_testkit::script_ok(
        clients.command(&python).arg("-c").arg(script).args(args),
        "boto3 ok",
    )
    .await;
}

/// The owner id ListBuckets answers for the client's user (the id bucket
/// policies name as a principal).
pub async fn owner_id(s3: &aws_sdk_s3::Client) -> String {
    s3.list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned()
}

/// The blob ids (simple UUIDs, as the files are named) the database's rows
/// of `server` point to: current object rows, noncurrent version rows and
/// multipart parts, in that order.
pub async fn referenced_blobs(
    server: &TestServer,
    backend: miniaws_testkit::Backend,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let queries = [
        "SELECT CAST(blob_id AS TEXT) FROM objects WHERE blob_id IS NOT NULL",
        "SELECT CAST(blob_id AS TEXT) FROM object_versions WHERE blob_id IS NOT NULL",
        "SELECT CAST(blob_id AS TEXT) FROM multipart_parts",
    ];
    let mut found: Vec<Vec<String>> = Vec::new();
    match backend {
        miniaws_testkit::Backend::Sqlite => {
            let url = format!("{}?mode=ro", server.database_url());
            let pool = sqlx::SqlitePool::connect(&url)
                .await
                .expect("open the test SQLite database");
            for q in queries {
                found.push(sqlx::query_scalar(q).fetch_all(&pool).await.expect(q));
            }
            pool.close().await;
        }
        miniaws_testkit::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(server.database_url())
                .await
                .expect("open the test Postgres database");
            for q in queries {
                found.push(sqlx::query_scalar(q).fetch_all(&pool).await.expect(q));
            }
            pool.close().await;
        }
    }
    let mut norm = found.into_iter().map(|ids| {
        ids.iter()
            .map(|s| {
                uuid::Uuid::parse_str(s)
                    .expect("a stored blob id is a UUID")
                    .simple()
                    .to_string()
            })
            .collect::<Vec<_>>()
    });
    let mut next = || norm.next().expect("three queries");
    (next(), next(), next())
}

/// The blob a file under the object store belongs to: its own name, or,
/// for a part file of a completed multipart object's composite blob
/// (`ab/<uuid>.parts/00001`), its directory's without the suffix: every
/// file of a composite is live while its object's row points to it.
pub fn blob_name(path: &std::path::Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let dir = path.parent()?.file_name()?.to_str()?;
    match dir.strip_suffix(".parts") {
        Some(composite) => Some(composite.to_owned()),
        None => Some(name.to_owned()),
    }
}

/// A torture test's random seed: `MINIAWS_TORTURE_SEED` when set (to
/// replay a failed run), else a fresh one, which the test prints.
pub fn torture_seed() -> u64 {
    match std::env::var("MINIAWS_TORTURE_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("MINIAWS_TORTURE_SEED={s:?} is not a u64")),
        Err(_) => rand::random(),
    }
}
