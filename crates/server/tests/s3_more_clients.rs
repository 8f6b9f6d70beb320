//! S3 clients that implement the protocol independently of botocore and the
//! Rust SDK, against the real server: minio-py (its own SigV4 and XML; on
//! SQLite and Postgres), s3fs/fsspec (aiobotocore, what pandas uses for
//! `s3://` URLs), the AWS SDK for JavaScript v3 (its default CRC32 checksums
//! in aws-chunked trailers, lib-storage's multipart `Upload`, presigned
//! URLs) and s3cmd (`mb`, `put` single and multipart, `get`, `ls`, `la`,
//! `info`, `ws-info`, `accesslog`, `getnotification`, `payer`, `sync`,
//! `del`, `rb`). Each asserts what came back (bytes, keys,
//! ETags) and that the server answered no request with a 5xx. The bucket
//! settings these clients ask about and Mini AWS has none of (request
//! payment, website, logging, notifications, replication, acceleration)
//! and ListBuckets' paging (which the JavaScript SDK's paginator uses) are
//! checked with `aws-sdk-s3` too.
//!
//! The scripts are under `tests/s3_more_clients/`. The clients come from
//! `scripts/provision`: minio, s3fs and s3cmd in the virtualenv
//! `target/pyenv` (`MINIAWS_TEST_PYTHON`, `MINIAWS_TEST_S3CMD`), the
//! JavaScript SDK from `tests/s3_js/package-lock.json` into `target/jsenv`
//! (`MINIAWS_TEST_NODE`, `MINIAWS_TEST_NODE_PATH`); without them a test
//! fails when services are required and is skipped loudly otherwise.

mod common;

use common::{code_of, s3_client};
use miniaws_testkit::{AwsClients, Backend, TestServer, services_required};
use rand::RngCore;
use std::path::{Path, PathBuf};

/// `var`'s path, or `None` (skipped loudly) when it is unset and services
/// are not required.
fn tool(var: &str) -> Option<PathBuf> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() && Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ if services_required() => panic!(
            "{var} is not set or does not exist, but services are required: run ./scripts/test (scripts/provision installs the S3 clients)"
        ),
        _ => {
            eprintln!("SKIPPED: {var} not set (run ./scripts/test to provision the S3 clients)");
            None
        }
    }
}

/// The script `name` under `tests/s3_more_clients/`.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/s3_more_clients")
        .join(name)
}

/// A signed-up user's key and a private home for a client.
struct Run {
    server: TestServer,
    clients: AwsClients,
}

impl Run {
    async fn start(backend: Backend) -> Option<Self> {
        let server = TestServer::start(backend).await?;
        let (_, key) = server.user("client-user").await;
        let clients = AwsClients::new(&server, &key);
        Some(Self { server, clients })
    }

    /// `program` with a clean environment (see [`AwsClients::command`]),
    /// `ENDPOINT` set to `endpoint`, in the client's home.
    fn command(&self, program: &Path, endpoint: &str) -> tokio::process::Command {
        let mut cmd = self.clients.command(program);
        cmd.env("ENDPOINT", endpoint)
            .current_dir(self.clients.home());
        cmd
    }

    /// Runs `cmd`, asserting it succeeds, prints `ok_line` and leaves no 5xx.
    async fn expect_ok(&self, what: &str, mut cmd: tokio::process::Command, ok_line: &str) {
        let out = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{what} did not finish in 120 s"))
            .unwrap_or_else(|e| panic!("{what} does not run: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.lines().any(|l| l == ok_line),
            "{what} failed ({}): {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        self.no_server_errors(what);
    }

    /// The server answered no request with a 5xx (the log's response lines).
    fn no_server_errors(&self, what: &str) {
        let log = self.server.log();
        // The responses are logged as `status=NNN`: without any, this check
        // would pass on a log format it no longer reads.
        assert!(
            log.contains("status=200"),
            "{what}: no response lines in the server log"
        );
        let bad: Vec<&str> = log.lines().filter(|l| l.contains("status=5")).collect();
        assert!(
            bad.is_empty(),
            "{what}: the server answered 5xx:\n{}",
            bad.join("\n")
        );
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

#[tokio::test]
async fn minio_py_works_unchanged_sqlite() {
    minio_py(Backend::Sqlite).await;
}

#[tokio::test]
async fn minio_py_works_unchanged_postgres() {
    minio_py(Backend::Postgres).await;
}

/// minio-py: buckets, small and multipart puts, fput/fget, stat, listings,
/// presigned GET/PUT through urllib, copy, tags, DeleteObjects
/// (`minio_client.py` asserts each).
async fn minio_py(backend: Backend) {
    let Some(python) = tool("MINIAWS_TEST_PYTHON") else {
        return;
    };
    let Some(run) = Run::start(backend).await else {
        return;
    };
    // minio wants host:port, and a scheme through `secure`.
    let url = run.server.aws_url();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut cmd = run.command(&python, host);
    cmd.arg(script("minio_client.py"));
    run.expect_ok("minio_client.py", cmd, "minio ok").await;
}

/// s3fs / fsspec: open/write/read (a two-part upload), ranged reads, ls,
/// glob, cat, find, copy, `fsspec.open("s3://…")`, rm recursive, rmdir.
#[tokio::test]
async fn s3fs_works_unchanged() {
    let Some(python) = tool("MINIAWS_TEST_PYTHON") else {
        return;
    };
    let Some(run) = Run::start(Backend::Sqlite).await else {
        return;
    };
    let mut cmd = run.command(&python, &run.server.aws_url());
    cmd.arg(script("s3fs_client.py"));
    run.expect_ok("s3fs_client.py", cmd, "s3fs ok").await;
}

/// The AWS SDK for JavaScript v3 with its default checksum settings:
/// put/get (a stream body goes aws-chunked with a CRC32 trailer), list,
/// a 12 MiB lib-storage `Upload`, presigned GET/PUT, DeleteObjects.
#[tokio::test]
async fn aws_sdk_for_javascript_v3_works_unchanged() {
    let (Some(node), Some(modules)) = (tool("MINIAWS_TEST_NODE"), tool("MINIAWS_TEST_NODE_PATH"))
    else {
        return;
    };
    let Some(run) = Run::start(Backend::Sqlite).await else {
        return;
    };
    let mut cmd = run.command(&node, &run.server.aws_url());
    cmd.env("NODE_PATH", modules)
        // The SDK warns on stderr that Node 20 support ends in 2027.
        .env("NODE_NO_WARNINGS", "1")
        .arg(script("sdk_v3.js"));
    run.expect_ok("sdk_v3.js", cmd, "sdk v3 ok").await;
}

impl Run {
    /// Runs s3cmd with the config in `cfg`; asserts success, returns stdout.
    async fn s3cmd(&self, s3cmd: &Path, cfg: &Path, args: &[&str]) -> String {
        let out = self
            .command(s3cmd, "")
            .arg("--config")
            .arg(cfg)
            .args(args)
            .output()
            .await
            .expect("s3cmd runs");
        assert!(
            out.status.success(),
            "s3cmd {args:?} failed ({}): {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// s3cmd: path-style (`host_bucket` without `%(bucket)s`), SigV4 (and
/// SigV2 headers with `--signature-v2`), plain HTTP; `info` asks a bucket for its location, request payment,
/// versioning, ownership controls, public access block, lifecycle, policy,
/// CORS and ACL, each of which must answer as S3 does.
#[tokio::test]
async fn s3cmd_works_unchanged() {
    let Some(s3cmd) = tool("MINIAWS_TEST_S3CMD") else {
        return;
    };
    let Some(run) = Run::start(Backend::Sqlite).await else {
        return;
    };
    let url = run.server.aws_url();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let cfg = run.clients.home().join("s3cfg");
    std::fs::write(
        &cfg,
        format!(
            "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = {host}\nhost_bucket = {host}\nuse_https = False\nbucket_location = us-east-1\n",
            run.clients.access_key_id(),
            run.clients.secret_access_key()
        ),
    )
    .expect("s3cmd config");
    let work = tempfile::tempdir().expect("work dir");
    let path = |name: &str| work.path().join(name).to_str().expect("utf-8").to_owned();
    let small = b"hello s3cmd\n".to_vec();
    std::fs::write(path("small.txt"), &small).expect("write");
    let big = random_bytes(12 * 1024 * 1024);
    std::fs::write(path("big.bin"), &big).expect("write");
    let s = |args: &'static [&'static str]| args;

    run.s3cmd(&s3cmd, &cfg, s(&["mb", "s3://cmd-bucket"])).await;
    run.s3cmd(
        &s3cmd,
        &cfg,
        &["put", &path("small.txt"), "s3://cmd-bucket/small.txt"],
    )
    .await;
    // 12 MiB in 5 MiB chunks: a three-part upload.
    run.s3cmd(
        &s3cmd,
        &cfg,
        &[
            "put",
            "--multipart-chunk-size-mb=5",
            &path("big.bin"),
            "s3://cmd-bucket/big.bin",
        ],
    )
    .await;
    run.s3cmd(
        &s3cmd,
        &cfg,
        &["get", "s3://cmd-bucket/big.bin", &path("big.down")],
    )
    .await;
    assert!(
        std::fs::read(path("big.down")).expect("downloaded") == big,
        "the multipart object comes back byte for byte"
    );
    run.s3cmd(
        &s3cmd,
        &cfg,
        &["get", "s3://cmd-bucket/small.txt", &path("small.down")],
    )
    .await;
    assert_eq!(
        std::fs::read(path("small.down")).expect("downloaded"),
        small
    );

    // SigV2 in the Authorization header (`--signature-v2`), up and down.
    run.s3cmd(
        &s3cmd,
        &cfg,
        &[
            "--signature-v2",
            "put",
            &path("small.txt"),
            "s3://cmd-bucket/v2.txt",
        ],
    )
    .await;
    run.s3cmd(
        &s3cmd,
        &cfg,
        &[
            "--signature-v2",
            "get",
            "s3://cmd-bucket/v2.txt",
            &path("v2.down"),
        ],
    )
    .await;
    assert_eq!(std::fs::read(path("v2.down")).expect("downloaded"), small);
    run.s3cmd(
        &s3cmd,
        &cfg,
        s(&["--signature-v2", "del", "s3://cmd-bucket/v2.txt"]),
    )
    .await;

    let ls = run.s3cmd(&s3cmd, &cfg, s(&["ls", "s3://cmd-bucket"])).await;
    assert!(
        ls.contains("s3://cmd-bucket/small.txt") && ls.contains("s3://cmd-bucket/big.bin"),
        "{ls}"
    );
    let la = run.s3cmd(&s3cmd, &cfg, s(&["la"])).await;
    assert!(
        la.contains(&format!("{}  s3://cmd-bucket/big.bin", big.len())),
        "{la}"
    );

    let info = run
        .s3cmd(&s3cmd, &cfg, s(&["info", "s3://cmd-bucket"]))
        .await;
    for line in [
        "Location:  us-east-1",
        "Payer:     BucketOwner",
        "Ownership: BucketOwnerEnforced",
        "Versioning:none",
        "Expiration rule: none",
        "Policy:    none",
        "CORS:      none",
    ] {
        assert!(info.contains(line), "info shows {line:?}:\n{info}");
    }
    // The settings Mini AWS has none of, asked one by one.
    let website = run
        .s3cmd(&s3cmd, &cfg, s(&["ws-info", "s3://cmd-bucket"]))
        .await;
    assert!(
        website.contains("No website configuration found"),
        "{website}"
    );
    let logging = run
        .s3cmd(&s3cmd, &cfg, s(&["accesslog", "s3://cmd-bucket"]))
        .await;
    assert!(logging.contains("Logging Enabled: False"), "{logging}");
    let notification = run
        .s3cmd(&s3cmd, &cfg, s(&["getnotification", "s3://cmd-bucket"]))
        .await;
    assert!(
        notification.contains("<NotificationConfiguration")
            && !notification.contains("Configuration>"),
        "an empty configuration: {notification}"
    );
    let payer = run
        .s3cmd(&s3cmd, &cfg, s(&["payer", "s3://cmd-bucket"]))
        .await;
    assert!(payer.contains("Payer updated"), "{payer}");

    let info = run
        .s3cmd(&s3cmd, &cfg, s(&["info", "s3://cmd-bucket/small.txt"]))
        .await;
    let md5 = {
        use md5::Digest;
        hex::encode(md5::Md5::digest(&small))
    };
    assert!(info.contains(&format!("MD5 sum:   {md5}")), "{info}");
    assert!(info.contains("File size: 12"), "{info}");

    // sync a tree up; a second sync uploads nothing.
    let tree = work.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).expect("tree");
    std::fs::write(tree.join("a.txt"), b"a").expect("write");
    std::fs::write(tree.join("sub/b.bin"), random_bytes(100_000)).expect("write");
    let tree_s = format!("{}/", tree.to_str().expect("utf-8"));
    run.s3cmd(&s3cmd, &cfg, &["sync", &tree_s, "s3://cmd-bucket/tree/"])
        .await;
    let again = run
        .s3cmd(&s3cmd, &cfg, &["sync", &tree_s, "s3://cmd-bucket/tree/"])
        .await;
    assert!(!again.contains("upload:"), "nothing changed: {again}");
    let listed = run
        .s3cmd(
            &s3cmd,
            &cfg,
            s(&["ls", "--recursive", "s3://cmd-bucket/tree/"]),
        )
        .await;
    assert!(
        listed.contains("s3://cmd-bucket/tree/a.txt")
            && listed.contains("s3://cmd-bucket/tree/sub/b.bin"),
        "{listed}"
    );

    run.s3cmd(&s3cmd, &cfg, s(&["del", "s3://cmd-bucket/small.txt"]))
        .await;
    // s3cmd itself insists on --force for a recursive delete of a bucket's
    // whole contents.
    run.s3cmd(
        &s3cmd,
        &cfg,
        s(&["del", "--recursive", "--force", "s3://cmd-bucket/"]),
    )
    .await;
    let left = run
        .s3cmd(&s3cmd, &cfg, s(&["ls", "--recursive", "s3://cmd-bucket"]))
        .await;
    assert_eq!(left.trim(), "", "everything deleted");
    run.s3cmd(&s3cmd, &cfg, s(&["rb", "s3://cmd-bucket"])).await;
    let buckets = run.s3cmd(&s3cmd, &cfg, s(&["ls"])).await;
    assert!(!buckets.contains("cmd-bucket"), "{buckets}");

    // s3cmd's own default `bucket_location` is `US`, which it puts in the
    // credential scope of a ListBuckets; S3 answers
    // `AuthorizationHeaderMalformed` naming the right region in `<Region>`,
    // and s3cmd signs again with it.
    let default_cfg = run.clients.home().join("s3cfg-default");
    std::fs::write(
        &default_cfg,
        format!(
            "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = {host}\nhost_bucket = {host}\nuse_https = False\n",
            run.clients.access_key_id(),
            run.clients.secret_access_key()
        ),
    )
    .expect("s3cmd config");
    run.s3cmd(&s3cmd, &default_cfg, s(&["mb", "s3://cmd-us"]))
        .await;
    run.s3cmd(
        &s3cmd,
        &default_cfg,
        &["put", &path("small.txt"), "s3://cmd-us/small.txt"],
    )
    .await;
    let buckets = run.s3cmd(&s3cmd, &default_cfg, s(&["ls"])).await;
    assert!(buckets.contains("s3://cmd-us"), "{buckets}");
    let listed = run
        .s3cmd(&s3cmd, &default_cfg, s(&["ls", "s3://cmd-us"]))
        .await;
    assert!(listed.contains("s3://cmd-us/small.txt"), "{listed}");
    run.no_server_errors("s3cmd");
}

/// The bucket settings Mini AWS has none of, which s3cmd and minio ask
/// about, answer as S3 answers for a bucket without them:
/// GetBucketRequestPayment `BucketOwner` (PutBucketRequestPayment accepts
/// that and refuses `Requester`), GetBucketWebsite
/// `NoSuchWebsiteConfiguration` (DeleteBucketWebsite 204), GetBucketLogging,
/// GetBucketNotificationConfiguration and GetBucketAccelerateConfiguration
/// empty (PutBucketLogging and PutBucketNotificationConfiguration accept
/// an empty status / configuration and refuse a target / destination),
/// GetBucketReplication
/// `ReplicationConfigurationNotFoundError`; `NoSuchBucket` and
/// `AccessDenied` as for the other bucket settings.
#[tokio::test]
async fn bucket_settings_mini_aws_lacks_answer_as_s3() {
    use aws_sdk_s3::types::{Payer, RequestPaymentConfiguration};
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("payer").await;
    let (_, other_key) = server.user("other-payer").await;
    let s3 = s3_client(&server, &key);
    let other = s3_client(&server, &other_key);
    s3.create_bucket()
        .bucket("pays")
        .send()
        .await
        .expect("CreateBucket");
    let payment = |payer: Payer| {
        RequestPaymentConfiguration::builder()
            .payer(payer)
            .build()
            .expect("payment configuration")
    };

    let got = s3
        .get_bucket_request_payment()
        .bucket("pays")
        .send()
        .await
        .expect("GetBucketRequestPayment");
    assert_eq!(got.payer(), Some(&Payer::BucketOwner), "{got:?}");
    s3.put_bucket_request_payment()
        .bucket("pays")
        .request_payment_configuration(payment(Payer::BucketOwner))
        .send()
        .await
        .expect("PutBucketRequestPayment BucketOwner");
    let err = s3
        .put_bucket_request_payment()
        .bucket("pays")
        .request_payment_configuration(payment(Payer::Requester))
        .send()
        .await
        .expect_err("Requester Pays");
    assert_eq!(code_of(&err), ("NotImplemented".into(), 501));
    let got = s3
        .get_bucket_request_payment()
        .bucket("pays")
        .send()
        .await
        .expect("GetBucketRequestPayment");
    assert_eq!(got.payer(), Some(&Payer::BucketOwner), "unchanged");

    let err = s3
        .get_bucket_website()
        .bucket("pays")
        .send()
        .await
        .expect_err("no website");
    assert_eq!(code_of(&err), ("NoSuchWebsiteConfiguration".into(), 404));
    s3.delete_bucket_website()
        .bucket("pays")
        .send()
        .await
        .expect("DeleteBucketWebsite");
    let logging = s3
        .get_bucket_logging()
        .bucket("pays")
        .send()
        .await
        .expect("GetBucketLogging");
    assert!(logging.logging_enabled().is_none(), "{logging:?}");
    // Turning logging off (an empty status) is honoured; a target is not.
    s3.put_bucket_logging()
        .bucket("pays")
        .bucket_logging_status(aws_sdk_s3::types::BucketLoggingStatus::builder().build())
        .send()
        .await
        .expect("PutBucketLogging, empty");
    let enabled = aws_sdk_s3::types::LoggingEnabled::builder()
        .target_bucket("pays")
        .target_prefix("logs/")
        .build()
        .expect("a logging target");
    let err = s3
        .put_bucket_logging()
        .bucket("pays")
        .bucket_logging_status(
            aws_sdk_s3::types::BucketLoggingStatus::builder()
                .logging_enabled(enabled)
                .build(),
        )
        .send()
        .await
        .expect_err("a logging target");
    assert_eq!(code_of(&err), ("NotImplemented".into(), 501), "{err:?}");
    let logging = s3
        .get_bucket_logging()
        .bucket("pays")
        .send()
        .await
        .expect("GetBucketLogging");
    assert!(
        logging.logging_enabled().is_none(),
        "unchanged: {logging:?}"
    );
    let notification = s3
        .get_bucket_notification_configuration()
        .bucket("pays")
        .send()
        .await
        .expect("GetBucketNotificationConfiguration");
    assert!(
        notification.topic_configurations().is_empty()
            && notification.queue_configurations().is_empty()
            && notification.lambda_function_configurations().is_empty()
            && notification.event_bridge_configuration().is_none(),
        "{notification:?}"
    );
    // Turning notifications off (an empty configuration) is honoured; a
    // destination is not.
    s3.put_bucket_notification_configuration()
        .bucket("pays")
        .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().build())
        .send()
        .await
        .expect("PutBucketNotificationConfiguration, empty");
    let queue = aws_sdk_s3::types::QueueConfiguration::builder()
        .queue_arn("arn:aws:sqs:us-east-1:000000000000:events")
        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
        .build()
        .expect("a queue configuration");
    let err = s3
        .put_bucket_notification_configuration()
        .bucket("pays")
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .expect_err("a queue destination");
    assert_eq!(code_of(&err), ("NotImplemented".into(), 501), "{err:?}");
    let notification = s3
        .get_bucket_notification_configuration()
        .bucket("pays")
        .send()
        .await
        .expect("GetBucketNotificationConfiguration");
    assert!(
        notification.queue_configurations().is_empty(),
        "unchanged: {notification:?}"
    );
    let accelerate = s3
        .get_bucket_accelerate_configuration()
        .bucket("pays")
        .send()
        .await
        .expect("GetBucketAccelerateConfiguration");
    assert!(accelerate.status().is_none(), "{accelerate:?}");
    let err = s3
        .get_bucket_replication()
        .bucket("pays")
        .send()
        .await
        .expect_err("no replication");
    assert_eq!(
        code_of(&err),
        ("ReplicationConfigurationNotFoundError".into(), 404)
    );

    // A missing bucket, then another owner's, for each.
    for (bucket, expected) in [
        ("no-such-pays", ("NoSuchBucket".to_owned(), 404)),
        ("pays", ("AccessDenied".to_owned(), 403)),
    ] {
        let client = if bucket == "pays" { &other } else { &s3 };
        macro_rules! refused {
            ($what:literal, $call:expr) => {
                let err = $call.send().await.expect_err($what);
                assert_eq!(code_of(&err), expected, "{} on {bucket}", $what);
            };
        }
        refused!(
            "GetBucketRequestPayment",
            client.get_bucket_request_payment().bucket(bucket)
        );
        refused!(
            "PutBucketRequestPayment",
            client
                .put_bucket_request_payment()
                .bucket(bucket)
                .request_payment_configuration(payment(Payer::BucketOwner))
        );
        refused!(
            "GetBucketWebsite",
            client.get_bucket_website().bucket(bucket)
        );
        refused!(
            "DeleteBucketWebsite",
            client.delete_bucket_website().bucket(bucket)
        );
        refused!(
            "GetBucketLogging",
            client.get_bucket_logging().bucket(bucket)
        );
        refused!(
            "PutBucketLogging",
            client
                .put_bucket_logging()
                .bucket(bucket)
                .bucket_logging_status(aws_sdk_s3::types::BucketLoggingStatus::builder().build())
        );
        refused!(
            "GetBucketNotificationConfiguration",
            client
                .get_bucket_notification_configuration()
                .bucket(bucket)
        );
        refused!(
            "PutBucketNotificationConfiguration",
            client
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(
                    aws_sdk_s3::types::NotificationConfiguration::builder().build()
                )
        );
        refused!(
            "GetBucketReplication",
            client.get_bucket_replication().bucket(bucket)
        );
        refused!(
            "GetBucketAccelerateConfiguration",
            client.get_bucket_accelerate_configuration().bucket(bucket)
        );
    }
}

/// ListBuckets pages as S3 does: `max-buckets` (1 to 10000) and an opaque
/// `continuation-token`, with `prefix`, in name order; out-of-range sizes
/// and foreign tokens are `InvalidArgument`.
#[tokio::test]
async fn list_buckets_pages_with_max_buckets_and_continuation_tokens() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("lister").await;
    let (_, other_key) = server.user("other-lister").await;
    let s3 = s3_client(&server, &key);
    for name in ["page-c", "page-a", "page-b", "zzz-not-a-page"] {
        s3.create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("CreateBucket");
    }
    s3_client(&server, &other_key)
        .create_bucket()
        .bucket("page-others")
        .send()
        .await
        .expect("CreateBucket (another owner)");

    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_buckets()
            .prefix("page-")
            .max_buckets(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("ListBuckets page");
        assert_eq!(page.prefix(), Some("page-"));
        pages.push(
            page.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned))
                .collect::<Vec<_>>(),
        );
        token = page.continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
        assert!(pages.len() < 5, "the pages end");
    }
    assert_eq!(pages, [vec!["page-a", "page-b"], vec!["page-c"]]);
    let all = s3.list_buckets().send().await.expect("ListBuckets");
    let names: Vec<_> = all.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["page-a", "page-b", "page-c", "zzz-not-a-page"]);
    assert!(all.continuation_token().is_none());
    let exact = s3
        .list_buckets()
        .max_buckets(4)
        .send()
        .await
        .expect("ListBuckets");
    assert_eq!(exact.buckets().len(), 4);
    assert!(exact.continuation_token().is_none(), "nothing more");

    for n in [0, 10_001] {
        let err = s3
            .list_buckets()
            .max_buckets(n)
            .send()
            .await
            .expect_err("max-buckets out of range");
        assert_eq!(code_of(&err), ("InvalidArgument".into(), 400), "{n}");
    }
    let err = s3
        .list_buckets()
        .continuation_token("not a token!")
        .send()
        .await
        .expect_err("a foreign token");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
}
