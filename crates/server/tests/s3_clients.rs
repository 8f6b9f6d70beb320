//! The real aws CLI and boto3 against the S3 endpoint: multipart `cp` up
//! and down of 30 MiB, `sync`, `ls`, `rm --recursive`, `s3api
//! head-object`, `s3api put-object-tagging` / `get-object-tagging`, and a
//! boto3 put/get/list/delete with default checksum settings; rclone `copy` up and down, `lsf`, `check`, `delete`, `rmdir`.
//! Objects written through S3 are read through `/storage`. `s3api
//! get-object --part-number` and `head-object --checksum-mode ENABLED` read
//! a part and the composite checksum of the CLI's multipart upload. boto3's
//! `bucket.object_versions.delete()` (paged and not) empties a bucket that
//! is then deleted (also a versioned one, of versions and delete markers,
//! which DeleteBucket refused before), and the CLI's `s3api get-bucket-versioning`,
//! `list-object-versions`, `delete-object --version-id null`,
//! `get-bucket-acl`, `get-object-attributes` and a refused `put-object
//! --acl public-read` answer as S3 does for an unversioned, ACL-disabled
//! bucket; a SigV4 URL presigned by the CLI for more than a week is
//! refused. On SQLite and on
//! Postgres. The CLI's `put-object --server-side-encryption aws:kms`,
//! `--sse-customer-key` and `--storage-class GLACIER` are refused with
//! `NotImplemented`, `AES256` and `STANDARD_IA` honoured (SQLite).
//!
//! The clients come from the virtualenv `scripts/provision` builds
//! (`MINIAWS_TEST_AWS_CLI`, `MINIAWS_TEST_PYTHON`) and rclone
//! (`MINIAWS_TEST_RCLONE`, Debian's package); without them the test
//! fails when services are required and is skipped loudly otherwise.

use miniaws_testkit::{AwsClients, Backend, TestServer, require_tool as tool, script_ok};
use rand::RngCore;
use std::path::{Path, PathBuf};

/// `var`, else `program` found on `PATH` (a test-env written before
/// provisioning learned of the tool), else as [`tool`] decides.
fn tool_or_path(var: &str, program: &str) -> Option<PathBuf> {
    if std::env::var(var).is_ok_and(|p| !p.is_empty()) {
        return tool(var);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| tool(var))
}

/// `aws s3 presign <target> --expires-in <secs>`: the URL.
async fn presign(clients: &AwsClients, cli: &Path, target: &str, secs: &str) -> String {
    let out = clients
        .aws(cli, ["s3", "presign", target, "--expires-in", secs])
        .await;
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

#[tokio::test]
async fn aws_cli_boto3_and_rclone_work_unchanged_sqlite() {
    clients_work(Backend::Sqlite).await;
}

#[tokio::test]
async fn aws_cli_boto3_and_rclone_work_unchanged_postgres() {
    clients_work(Backend::Postgres).await;
}

async fn clients_work(backend: Backend) {
    let (Some(cli), Some(python), Some(rclone)) = (
        tool("MINIAWS_TEST_AWS_CLI"),
        tool("MINIAWS_TEST_PYTHON"),
        tool_or_path("MINIAWS_TEST_RCLONE", "rclone"),
    ) else {
        return;
    };
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (native, key) = server.user("cli-user").await;
    let clients = AwsClients::new(&server, &key);
    let work = tempfile::tempdir().expect("work dir");

    clients.aws(&cli, &["s3", "mb", "s3://cli-bucket"]).await;

    // 30 MiB: above the CLI's 8 MiB threshold, so a multipart upload.
    let big = random_bytes(30 * 1024 * 1024);
    let up = work.path().join("big.bin");
    std::fs::write(&up, &big).expect("write the upload file");
    clients
        .aws(
            &cli,
            &[
                "s3",
                "cp",
                up.to_str().expect("utf-8 path"),
                "s3://cli-bucket/big.bin",
            ],
        )
        .await;
    let down = work.path().join("down.bin");
    clients
        .aws(
            &cli,
            &[
                "s3",
                "cp",
                "s3://cli-bucket/big.bin",
                down.to_str().expect("utf-8 path"),
            ],
        )
        .await;
    assert!(
        std::fs::read(&down).expect("downloaded file") == big,
        "the 30 MiB object comes back byte for byte"
    );

    let head = clients
        .aws(
            &cli,
            &[
                "s3api",
                "head-object",
                "--bucket",
                "cli-bucket",
                "--key",
                "big.bin",
            ],
        )
        .await;
    let head: serde_json::Value =
        serde_json::from_slice(&head.stdout).expect("head-object prints JSON");
    assert_eq!(head["ContentLength"], 30 * 1024 * 1024, "{head}");
    let etag = head["ETag"].as_str().expect("an ETag");
    assert!(
        etag.starts_with('"') && etag.trim_matches('"').contains('-'),
        "a multipart ETag is \"<md5>-N\": {etag}"
    );

    // Object tagging: `s3api put-object-tagging` (botocore sends the
    // document with its checksum) and `get-object-tagging`, in order.
    clients
        .aws(
            &cli,
            &[
                "s3api",
                "put-object-tagging",
                "--bucket",
                "cli-bucket",
                "--key",
                "big.bin",
                "--tagging",
                r#"{"TagSet":[{"Key":"team","Value":"blue green"},{"Key":"env","Value":"dev"}]}"#,
            ],
        )
        .await;
    let tags = clients
        .aws(
            &cli,
            &[
                "s3api",
                "get-object-tagging",
                "--bucket",
                "cli-bucket",
                "--key",
                "big.bin",
            ],
        )
        .await;
    let tags: serde_json::Value =
        serde_json::from_slice(&tags.stdout).expect("get-object-tagging prints JSON");
    assert_eq!(
        tags["TagSet"],
        serde_json::json!([
            {"Key": "team", "Value": "blue green"},
            {"Key": "env", "Value": "dev"}
        ]),
        "{tags}"
    );

    // Part 2 by number (the CLI uploads 8 MiB parts), and the composite
    // checksum of the CRC32 parts the CLI sends by default.
    let part_file = work.path().join("part2.bin");
    let got = clients
        .aws(
            &cli,
            &[
                "s3api",
                "get-object",
                "--bucket",
                "cli-bucket",
                "--key",
                "big.bin",
                "--part-number",
                "2",
                part_file.to_str().expect("utf-8 path"),
            ],
        )
        .await;
    let got: serde_json::Value =
        serde_json::from_slice(&got.stdout).expect("get-object prints JSON");
    const PART: usize = 8 * 1024 * 1024;
    assert_eq!(got["PartsCount"], 4, "{got}");
    assert_eq!(got["ContentLength"], PART, "{got}");
    assert_eq!(
        got["ContentRange"],
        format!("bytes {PART}-{}/{}", 2 * PART - 1, big.len()),
        "{got}"
    );
    assert_eq!(got["ETag"].as_str(), Some(etag), "{got}");
    assert!(
        std::fs::read(&part_file).expect("part file") == big[PART..2 * PART],
        "part 2's bytes"
    );
    let sums = clients
        .aws(
            &cli,
            &[
                "s3api",
                "head-object",
                "--bucket",
                "cli-bucket",
                "--key",
                "big.bin",
                "--checksum-mode",
                "ENABLED",
            ],
        )
        .await;
    let sums: serde_json::Value =
        serde_json::from_slice(&sums.stdout).expect("head-object prints JSON");
    // The CLI creates its uploads with CRC32 (its default checksum
    // settings); the composite's value is checked in s3_parts.rs.
    assert!(
        sums["ChecksumCRC32"]
            .as_str()
            .is_some_and(|c| c.ends_with("-4")),
        "{sums}"
    );
    assert_eq!(sums["ChecksumType"], "COMPOSITE", "{sums}");

    // The same bytes through the native API.
    let res = native
        .send(native.request(reqwest::Method::GET, "/storage/cli-bucket/big.bin"))
        .await
        .expect("native GET of an S3-written object");
    let bytes = res.bytes().await.expect("native body");
    assert!(
        bytes.as_ref() == big.as_slice(),
        "native read of the S3 upload"
    );

    // sync, ls, rm --recursive.
    let site = work.path().join("site");
    std::fs::create_dir_all(site.join("css")).expect("site dirs");
    std::fs::write(site.join("index.html"), b"<h1>hi</h1>").expect("write");
    std::fs::write(site.join("css/main.css"), b"body{}").expect("write");
    std::fs::write(site.join("empty.txt"), b"").expect("write");
    // Edited a while before the sync, as files are: S3 keeps an object's
    // time in whole seconds, so a file changed in the very second of its
    // upload looks newer than its copy to `aws s3 sync` (on S3 too).
    let a_minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for name in ["index.html", "css/main.css", "empty.txt"] {
        std::fs::File::options()
            .write(true)
            .open(site.join(name))
            .and_then(|f| f.set_modified(a_minute_ago))
            .expect("mtime set");
    }
    clients
        .aws(
            &cli,
            &[
                "s3",
                "sync",
                site.to_str().expect("utf-8 path"),
                "s3://cli-bucket/site",
            ],
        )
        .await;
    let ls = clients
        .aws(&cli, &["s3", "ls", "--recursive", "s3://cli-bucket/site/"])
        .await;
    let ls = String::from_utf8_lossy(&ls.stdout);
    for name in ["site/index.html", "site/css/main.css", "site/empty.txt"] {
        assert!(ls.contains(name), "ls shows {name}:\n{ls}");
    }
    // A second sync uploads nothing.
    let again = clients
        .aws(
            &cli,
            &[
                "s3",
                "sync",
                site.to_str().expect("utf-8 path"),
                "s3://cli-bucket/site",
            ],
        )
        .await;
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("upload:"),
        "an unchanged tree syncs nothing: {}",
        String::from_utf8_lossy(&again.stdout)
    );
    let top = clients.aws(&cli, &["s3", "ls", "s3://cli-bucket/"]).await;
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(
        top.contains("PRE site/") && top.contains("big.bin"),
        "{top}"
    );
    clients
        .aws(&cli, &["s3", "rm", "--recursive", "s3://cli-bucket/site"])
        .await;
    let ls = clients
        .aws(&cli, &["s3", "ls", "--recursive", "s3://cli-bucket/"])
        .await;
    let ls = String::from_utf8_lossy(&ls.stdout);
    assert!(
        !ls.contains("site/"),
        "rm --recursive removed the tree:\n{ls}"
    );
    assert!(ls.contains("big.bin"), "and nothing else:\n{ls}");

    // An object written natively is read by the CLI.
    native
        .send(
            native
                .request(reqwest::Method::PUT, "/storage/cli-bucket/native.txt")
                .body("written natively"),
        )
        .await
        .expect("native PUT");
    let got = work.path().join("native.txt");
    clients
        .aws(
            &cli,
            &[
                "s3",
                "cp",
                "s3://cli-bucket/native.txt",
                got.to_str().expect("utf-8"),
            ],
        )
        .await;
    assert_eq!(std::fs::read(&got).expect("file"), b"written natively");

    // boto3 with its default checksum settings (CRC32 trailers on PUT).
    let script = r#"
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
s3.create_bucket(Bucket="boto-bucket")
body = os.urandom(1024 * 1024 + 7)
put = s3.put_object(Bucket="boto-bucket", Key="dir/obj.bin", Body=body, Metadata={"colour": "blue"})
got = s3.get_object(Bucket="boto-bucket", Key="dir/obj.bin")
assert got["Body"].read() == body, "round trip"
assert got["Metadata"] == {"colour": "blue"}, got["Metadata"]
assert got["ETag"] == put["ETag"], (got["ETag"], put["ETag"])
s3.put_object(Bucket="boto-bucket", Key="dir/two.txt", Body=b"two")
# Sent without a type, as botocore does: S3's type, not a guess from ".txt".
two_type = s3.head_object(Bucket="boto-bucket", Key="dir/two.txt")["ContentType"]
assert two_type == "binary/octet-stream", two_type
listed = s3.list_objects_v2(Bucket="boto-bucket", Prefix="dir/")
keys = [o["Key"] for o in listed["Contents"]]
assert keys == ["dir/obj.bin", "dir/two.txt"], keys
assert listed["KeyCount"] == 2
# A listing's time is the very instant HEAD's Last-Modified names (whole
# seconds, as S3 keeps them): "changed since I listed it?" compares equal.
head = s3.head_object(Bucket="boto-bucket", Key="dir/obj.bin")
assert listed["Contents"][0]["LastModified"] == head["LastModified"], (listed["Contents"][0]["LastModified"], head["LastModified"])
s3.delete_object(Bucket="boto-bucket", Key="dir/obj.bin")
s3.delete_object(Bucket="boto-bucket", Key="dir/two.txt")
assert s3.list_objects_v2(Bucket="boto-bucket").get("KeyCount") == 0
try:
    s3.get_object(Bucket="boto-bucket", Key="dir/obj.bin")
    sys.exit("a deleted key was found")
except s3.exceptions.NoSuchKey:
    pass
print("boto3 ok")
"#;
    script_ok(clients.command(&python).arg("-c").arg(script), "boto3 ok").await;

    rclone_works(&clients, &rclone, work.path()).await;
}

/// Runs rclone against a remote `mini:` configured from the environment.
async fn run_rclone(clients: &AwsClients, rclone: &Path, args: &[&str]) -> String {
    let out = clients
        .command(rclone)
        .env("RCLONE_CONFIG", clients.home().join("rclone.conf"))
        .env("RCLONE_CONFIG_MINI_TYPE", "s3")
        .env("RCLONE_CONFIG_MINI_PROVIDER", "Other")
        .env("RCLONE_CONFIG_MINI_ACCESS_KEY_ID", clients.access_key_id())
        .env(
            "RCLONE_CONFIG_MINI_SECRET_ACCESS_KEY",
            clients.secret_access_key(),
        )
        .env("RCLONE_CONFIG_MINI_ENDPOINT", clients.endpoint())
        .env("RCLONE_CONFIG_MINI_REGION", miniaws_testkit::AWS_REGION)
        .env("RCLONE_CONFIG_MINI_FORCE_PATH_STYLE", "true")
        .args(args)
        .output()
        .await
        .expect("rclone runs");
    assert!(
        out.status.success(),
        "rclone {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// rclone: copy a tree up and down, list it, check its hashes, delete it.
async fn rclone_works(clients: &AwsClients, rclone: &Path, work: &Path) {
    let src = work.join("rclone-src");
    std::fs::create_dir_all(src.join("sub")).expect("src dir");
    std::fs::write(src.join("a.txt"), b"hello rclone\n").expect("a.txt");
    let b = random_bytes(1024 * 1024 + 7);
    std::fs::write(src.join("sub").join("b.bin"), &b).expect("b.bin");
    let src_s = src.to_str().expect("utf-8 path");

    run_rclone(clients, rclone, &["mkdir", "mini:rclone-bucket"]).await;
    run_rclone(clients, rclone, &["copy", src_s, "mini:rclone-bucket/tree"]).await;
    let listed = run_rclone(
        clients,
        rclone,
        &["lsf", "-R", "--files-only", "mini:rclone-bucket"],
    )
    .await;
    let mut names: Vec<&str> = listed.lines().collect();
    names.sort();
    assert_eq!(names, ["tree/a.txt", "tree/sub/b.bin"], "rclone lsf");
    // Sizes and MD5s (from our ETags) match the local files.
    run_rclone(
        clients,
        rclone,
        &["check", src_s, "mini:rclone-bucket/tree"],
    )
    .await;
    let down = work.join("rclone-down");
    run_rclone(
        clients,
        rclone,
        &[
            "copy",
            "mini:rclone-bucket/tree",
            down.to_str().expect("utf-8 path"),
        ],
    )
    .await;
    assert_eq!(
        std::fs::read(down.join("sub").join("b.bin")).expect("downloaded b.bin"),
        b
    );
    assert_eq!(
        std::fs::read(down.join("a.txt")).expect("downloaded a.txt"),
        b"hello rclone\n"
    );
    run_rclone(clients, rclone, &["delete", "mini:rclone-bucket"]).await;
    let left = run_rclone(clients, rclone, &["lsf", "-R", "mini:rclone-bucket"]).await;
    assert_eq!(left.trim(), "", "rclone delete removed every object");
    run_rclone(clients, rclone, &["rmdir", "mini:rclone-bucket"]).await;
    let buckets = run_rclone(clients, rclone, &["lsd", "mini:"]).await;
    assert!(
        !buckets.contains("rclone-bucket"),
        "rclone rmdir removed the bucket: {buckets}"
    );
}

#[tokio::test]
async fn versions_and_acls_with_boto3_and_the_aws_cli_sqlite() {
    versions_and_acls(Backend::Sqlite).await;
}

#[tokio::test]
async fn versions_and_acls_with_boto3_and_the_aws_cli_postgres() {
    versions_and_acls(Backend::Postgres).await;
}

/// boto3's empty-a-bucket idiom (`bucket.object_versions.delete()`, paged
/// and not) and the CLI's versioning and ACL questions, on a bucket that is
/// never versioned and whose ACLs are disabled.
async fn versions_and_acls(backend: Backend) {
    let (Some(cli), Some(python)) = (tool("MINIAWS_TEST_AWS_CLI"), tool("MINIAWS_TEST_PYTHON"))
    else {
        return;
    };
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("versions-user").await;
    let clients = AwsClients::new(&server, &key);

    let script = r#"
import os, sys, boto3
s3 = boto3.resource("s3", endpoint_url=os.environ["ENDPOINT"])
client = s3.meta.client
bucket = s3.create_bucket(Bucket="boto-versions")
assert "Status" not in client.get_bucket_versioning(Bucket="boto-versions")
keys = ["k%03d" % i for i in range(120)] + ["dir/a b+c", "dir/sub/x"]
for k in keys:
    bucket.put_object(Key=k, Body=k.encode())
# boto3 asks with encoding-type=url and decodes the keys.
listed = client.list_object_versions(Bucket="boto-versions", Prefix="dir/")
assert [v["Key"] for v in listed["Versions"]] == ["dir/a b+c", "dir/sub/x"], listed
assert all(v["VersionId"] == "null" and v["IsLatest"] for v in listed["Versions"])
assert "DeleteMarkers" not in listed, listed
versions = list(bucket.object_versions.all())
assert sorted(v.object_key for v in versions) == sorted(keys), len(versions)
assert {v.id for v in versions} == {"null"}
# Paged: listing 50 at a time, one DeleteObjects per page.
bucket.object_versions.filter(Prefix="k").page_size(50).delete()
left = [o.key for o in bucket.objects.all()]
assert left == ["dir/a b+c", "dir/sub/x"], left
got = client.get_object(Bucket="boto-versions", Key="dir/sub/x", VersionId="null")
assert got["Body"].read() == b"dir/sub/x" and got["VersionId"] == "null"
try:
    client.get_object(Bucket="boto-versions", Key="dir/sub/x", VersionId="abc")
    sys.exit("another version id was accepted")
except client.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidArgument", e.response
    assert e.response["Error"]["ArgumentName"] == "versionId", e.response
    assert e.response["Error"]["ArgumentValue"] == "abc", e.response
try:
    bucket.put_object(Key="public", Body=b"x", ACL="public-read")
    sys.exit("a public-read object was accepted")
except client.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "AccessControlListNotSupported", e.response
bucket.put_object(Key="owned", Body=b"x", ACL="bucket-owner-full-control")
acl = s3.BucketAcl("boto-versions")
assert [g["Permission"] for g in acl.grants] == ["FULL_CONTROL"], acl.grants
# The common idiom, then the bucket goes.
bucket.object_versions.delete()
assert list(bucket.object_versions.all()) == []
bucket.delete()
assert "boto-versions" not in [b.name for b in s3.buckets.all()]
# A versioned bucket: versions and delete markers, emptied by the same
# idiom, after which the bucket can go.
vb = s3.create_bucket(Bucket="boto-versioned")
vb.Versioning().enable()
assert client.get_bucket_versioning(Bucket="boto-versioned")["Status"] == "Enabled"
ids = [vb.put_object(Key="k", Body=b"v%d" % i).version_id for i in range(3)]
assert len(set(ids)) == 3 and "null" not in ids, ids
assert client.get_object(Bucket="boto-versioned", Key="k", VersionId=ids[0])["Body"].read() == b"v0"
vb.put_object(Key="gone", Body=b"x")
marker = client.delete_object(Bucket="boto-versioned", Key="gone")
assert marker["DeleteMarker"] is True, marker
listed = client.list_object_versions(Bucket="boto-versioned")
assert [v["VersionId"] for v in listed["Versions"] if v["Key"] == "k"] == ids[::-1], listed
assert [d["Key"] for d in listed["DeleteMarkers"]] == ["gone"], listed
# No current object left, only versions and delete markers: not empty.
client.delete_object(Bucket="boto-versioned", Key="k")
assert [o.key for o in vb.objects.all()] == []
try:
    vb.delete()
    sys.exit("a bucket with versions was deleted")
except client.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "BucketNotEmpty", e.response
assert len(list(vb.object_versions.all())) == 6
vb.object_versions.delete()
assert list(vb.object_versions.all()) == []
vb.delete()
# The `null` version of a bucket once versioned is named "null" in every
# answer, as S3 names it; never versioned, no answer names a version.
sb = s3.create_bucket(Bucket="boto-suspended")
sb.put_object(Key="n", Body=b"before")
assert "VersionId" not in client.head_object(Bucket="boto-suspended", Key="n")
sb.Versioning().enable()
assert client.head_object(Bucket="boto-suspended", Key="n")["VersionId"] == "null"
sb.Versioning().suspend()
put = client.put_object(Bucket="boto-suspended", Key="s", Body=b"x")
assert put["VersionId"] == "null", put
got = client.get_object(Bucket="boto-suspended", Key="s")
assert got["VersionId"] == "null" and got["Body"].read() == b"x", got
assert sb.Object("s").version_id == "null"
copied = client.copy_object(Bucket="boto-suspended", Key="c",
                            CopySource={"Bucket": "boto-suspended", "Key": "n"})
assert copied["VersionId"] == "null" and copied["CopySourceVersionId"] == "null", copied
tagged = client.put_object_tagging(Bucket="boto-suspended", Key="c",
                                   Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
assert tagged["VersionId"] == "null", tagged
deleted = client.delete_object(Bucket="boto-suspended", Key="s")
assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null", deleted
sb.object_versions.delete()
sb.delete()
print("boto3 versions ok")
"#;
    script_ok(
        clients.command(&python).arg("-c").arg(script),
        "boto3 versions ok",
    )
    .await;

    // The aws CLI.
    clients.aws(&cli, &["s3", "mb", "s3://cli-versions"]).await;
    let work = tempfile::tempdir().expect("work dir");
    let file = work.path().join("f.txt");
    std::fs::write(&file, b"hello").expect("write");
    let file = file.to_str().expect("utf-8 path");
    for key in ["a.txt", "b/c.txt"] {
        clients
            .aws(
                &cli,
                &["s3", "cp", file, &format!("s3://cli-versions/{key}")],
            )
            .await;
    }
    let v = clients
        .aws(
            &cli,
            &["s3api", "get-bucket-versioning", "--bucket", "cli-versions"],
        )
        .await;
    let v = String::from_utf8_lossy(&v.stdout);
    assert!(!v.contains("Status"), "never enabled: {v}");
    let err = clients
        .aws_fails(
            &cli,
            &[
                "s3api",
                "put-bucket-versioning",
                "--bucket",
                "cli-versions",
                "--versioning-configuration",
                "Status=Bogus",
            ],
        )
        .await;
    assert!(err.contains("MalformedXML"), "{err}");
    let listed = clients
        .aws(
            &cli,
            &["s3api", "list-object-versions", "--bucket", "cli-versions"],
        )
        .await;
    let listed: serde_json::Value =
        serde_json::from_slice(&listed.stdout).expect("list-object-versions prints JSON");
    let versions = listed["Versions"].as_array().expect("Versions");
    let keys: Vec<&str> = versions.iter().filter_map(|v| v["Key"].as_str()).collect();
    assert_eq!(keys, ["a.txt", "b/c.txt"], "{listed}");
    for v in versions {
        assert_eq!(v["VersionId"], "null", "{v}");
        assert_eq!(v["IsLatest"], true, "{v}");
        assert_eq!(v["Size"], 5, "{v}");
    }
    let deleted = clients
        .aws(
            &cli,
            &[
                "s3api",
                "delete-object",
                "--bucket",
                "cli-versions",
                "--key",
                "a.txt",
                "--version-id",
                "null",
            ],
        )
        .await;
    let deleted: serde_json::Value =
        serde_json::from_slice(&deleted.stdout).expect("delete-object prints JSON");
    assert_eq!(deleted["VersionId"], "null", "{deleted}");
    let acl = clients
        .aws(
            &cli,
            &["s3api", "get-bucket-acl", "--bucket", "cli-versions"],
        )
        .await;
    let acl: serde_json::Value = serde_json::from_slice(&acl.stdout).expect("JSON");
    assert_eq!(acl["Grants"][0]["Permission"], "FULL_CONTROL", "{acl}");
    assert_eq!(
        acl["Grants"][0]["Grantee"]["ID"], acl["Owner"]["ID"],
        "{acl}"
    );
    let err = clients
        .aws_fails(
            &cli,
            &[
                "s3api",
                "put-object",
                "--bucket",
                "cli-versions",
                "--key",
                "public.txt",
                "--acl",
                "public-read",
            ],
        )
        .await;
    assert!(err.contains("AccessControlListNotSupported"), "{err}");
    let attrs = clients
        .aws(
            &cli,
            &[
                "s3api",
                "get-object-attributes",
                "--bucket",
                "cli-versions",
                "--key",
                "b/c.txt",
                "--object-attributes",
                "ETag",
                "ObjectSize",
                "StorageClass",
            ],
        )
        .await;
    let attrs: serde_json::Value = serde_json::from_slice(&attrs.stdout).expect("JSON");
    // MD5("hello"), without quotes, as S3 answers it here.
    assert_eq!(attrs["ETag"], "5d41402abc4b2a76b9719d911017c592", "{attrs}");
    assert_eq!(attrs["ObjectSize"], 5, "{attrs}");
    assert_eq!(attrs["StorageClass"], "STANDARD", "{attrs}");
    let left = clients
        .aws(&cli, &["s3", "ls", "--recursive", "s3://cli-versions/"])
        .await;
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(
        left.contains("b/c.txt") && !left.contains("a.txt"),
        "{left}"
    );

    // By default the CLI presigns with SigV2 against a custom endpoint;
    // that URL works. With SigV4 it presigns for any duration, and S3 (and
    // we) refuse a URL valid for more than a week but take one of a week.
    let v2 = presign(&clients, &cli, "s3://cli-versions/b/c.txt", "60").await;
    assert!(v2.contains("Signature="), "a SigV2 URL: {v2}");
    let res = reqwest::get(&v2).await.expect("presigned GET");
    assert_eq!(res.text().await.expect("body"), "hello");
    std::fs::write(
        clients.home().join("config"),
        "[default]\ns3 =\n    signature_version = s3v4\n",
    )
    .expect("aws config");
    for (secs, status) in [("604800", 200u16), ("604801", 400)] {
        let url = presign(&clients, &cli, "s3://cli-versions/b/c.txt", secs).await;
        assert!(url.contains("X-Amz-Expires="), "a SigV4 URL: {url}");
        let res = reqwest::get(&url).await.expect("presigned GET");
        assert_eq!(res.status().as_u16(), status, "--expires-in {secs}");
        let body = res.text().await.expect("body");
        if status == 400 {
            assert!(body.contains("AuthorizationQueryParametersError"), "{body}");
            // The name written with an escape (which the signature, over
            // decoded names, still covers) is refused as well.
            let escaped = url.replace("X-Amz-Expires=", "X-Amz-Expire%73=");
            let res = reqwest::get(&escaped).await.expect("presigned GET");
            let status = res.status().as_u16();
            let body = res.text().await.expect("body");
            assert_eq!(status, 400, "{escaped}: {body}");
            assert!(body.contains("AuthorizationQueryParametersError"), "{body}");
        } else {
            assert_eq!(body, "hello");
        }
    }
}

/// The aws CLI's encryption and storage-class options: refused with
/// `NotImplemented` where Mini AWS cannot honour them (SSE-KMS, SSE-C,
/// GLACIER), honoured and answered as S3 does otherwise (SSE-S3,
/// STANDARD_IA). The server's answers do not depend on the database, so
/// SQLite alone.
#[tokio::test]
async fn aws_cli_encryption_and_storage_class_options() {
    let Some(cli) = tool("MINIAWS_TEST_AWS_CLI") else {
        return;
    };
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("options-user").await;
    let clients = AwsClients::new(&server, &key);
    let work = tempfile::tempdir().expect("work dir");
    let file = work.path().join("body.txt");
    std::fs::write(&file, b"option bytes").expect("write the body");
    let body = file.to_str().expect("utf-8 path");
    clients
        .aws(&cli, &["s3api", "create-bucket", "--bucket", "opts"])
        .await;
    let put = |extra: &'static [&'static str]| {
        let mut args = vec![
            "s3api",
            "put-object",
            "--bucket",
            "opts",
            "--key",
            "k",
            "--body",
            body,
        ];
        args.extend_from_slice(extra);
        args
    };

    for extra in [
        &[
            "--server-side-encryption",
            "aws:kms",
            "--ssekms-key-id",
            "alias/foo",
        ][..],
        &[
            "--sse-customer-algorithm",
            "AES256",
            "--sse-customer-key",
            "0123456789abcdef0123456789abcdef",
        ][..],
        &["--storage-class", "GLACIER"][..],
    ] {
        let stderr = clients.aws_fails(&cli, &put(extra)).await;
        assert!(
            stderr.contains("NotImplemented"),
            "put-object {extra:?}: {stderr}"
        );
    }
    let listed = clients
        .aws(&cli, &["s3api", "list-objects-v2", "--bucket", "opts"])
        .await;
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains("\"Key\""),
        "nothing stored: {}",
        String::from_utf8_lossy(&listed.stdout)
    );

    let out = clients
        .aws(
            &cli,
            &put(&[
                "--server-side-encryption",
                "AES256",
                "--storage-class",
                "STANDARD_IA",
            ]),
        )
        .await;
    let answer: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("put-object answers JSON");
    assert_eq!(answer["ServerSideEncryption"], "AES256", "{answer}");
    let out = clients
        .aws(
            &cli,
            &["s3api", "head-object", "--bucket", "opts", "--key", "k"],
        )
        .await;
    let head: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("head-object answers JSON");
    assert_eq!(head["StorageClass"], "STANDARD_IA", "{head}");
    assert_eq!(head["ServerSideEncryption"], "AES256", "{head}");
    assert_eq!(head["ContentLength"], 12, "{head}");
}

/// Every XML answer's root is in S3's namespace, as S3 writes it, read
/// namespace-aware (Python's ElementTree) from what boto3 received:
/// CopyObject's, UploadPartCopy's, GetBucketEncryption's,
/// GetBucketOwnershipControls', GetPublicAccessBlock's,
/// GetObjectRetention's, GetObjectLegalHold's, GetObjectLockConfiguration's
/// and GetBucketPolicyStatus's (which s3s writes without one) as
/// ListObjectsV2's. SQLite alone: the XML does not
/// depend on the database.
#[tokio::test]
async fn xml_answers_carry_the_s3_namespace() {
    let Some(python) = tool("MINIAWS_TEST_PYTHON") else {
        return;
    };
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("namespace-user").await;
    let clients = AwsClients::new(&server, &key);
    let script = r#"
import datetime
import json
import os
import xml.etree.ElementTree as ET
import boto3
from botocore.config import Config

s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
roots = {}
def keep(http_response, model, **kwargs):
    roots[model.name] = ET.fromstring(http_response.content).tag if http_response.content else None
s3.meta.events.register("after-call.s3", keep)

b = "xmlns-bucket"
s3.create_bucket(Bucket=b)
s3.put_object(Bucket=b, Key="src", Body=b"source bytes")
s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"})
up = s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
s3.upload_part_copy(Bucket=b, Key="mp", UploadId=up, PartNumber=1,
                    CopySource={"Bucket": b, "Key": "src"})
s3.abort_multipart_upload(Bucket=b, Key="mp", UploadId=up)
s3.get_bucket_encryption(Bucket=b)
s3.put_bucket_ownership_controls(
    Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
s3.get_bucket_ownership_controls(Bucket=b)
s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
    "BlockPublicAcls": True, "IgnorePublicAcls": True,
    "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
s3.get_public_access_block(Bucket=b)
s3.list_objects_v2(Bucket=b)
locked = "xmlns-locked"
s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
s3.put_object(Bucket=locked, Key="k", Body=b"kept")
s3.put_object_retention(Bucket=locked, Key="k", Retention={
    "Mode": "GOVERNANCE", "RetainUntilDate": datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)})
s3.get_object_retention(Bucket=locked, Key="k")
s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "OFF"})
s3.get_object_legal_hold(Bucket=locked, Key="k")
s3.get_object_lock_configuration(Bucket=locked)
s3.put_bucket_policy(Bucket=locked, Policy=json.dumps({"Statement": [{
    "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{locked}/nothing/*"}]}))
s3.get_bucket_policy_status(Bucket=locked)
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
for op, root in [("CopyObject", "CopyObjectResult"), ("UploadPartCopy", "CopyPartResult"),
                 ("GetBucketEncryption", "ServerSideEncryptionConfiguration"),
                 ("GetBucketOwnershipControls", "OwnershipControls"),
                 ("GetPublicAccessBlock", "PublicAccessBlockConfiguration"),
                 ("ListObjectsV2", "ListBucketResult"),
                 ("GetObjectRetention", "Retention"), ("GetObjectLegalHold", "LegalHold"),
                 ("GetObjectLockConfiguration", "ObjectLockConfiguration"),
                 ("GetBucketPolicyStatus", "PolicyStatus")]:
    assert roots.get(op) == ns + root, (op, roots.get(op))
print("boto3 ok")
"#;
    script_ok(clients.command(&python).arg("-c").arg(script), "boto3 ok").await;
}
