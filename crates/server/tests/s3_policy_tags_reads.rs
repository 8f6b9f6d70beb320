//! Two bucket-policy rules against the real server on SQLite and Postgres
//! (the AWS SDK, raw sockets, unsigned requests sent raw):
//!
//! - A write that gives the object tags needs `s3:PutObjectTagging` as
//!   well as `s3:PutObject`: with a `Deny` of `s3:PutObjectTagging` on a
//!   prefix (applying to the owner too), PutObject with `x-amz-tagging`
//!   (small and large bodies), CreateMultipartUpload with it, CopyObject
//!   with the tagging directive `REPLACE` and tags, and a form upload
//!   (PostObject) with a `tagging` field are 403 `AccessDenied` naming the
//!   action, and write nothing (the old version, its tags and the blob
//!   files are unchanged); the same writes without tags, and tagged writes
//!   elsewhere, succeed; a copy keeping its source's tags (`COPY`) gives
//!   none of its own and succeeds. A tagged PUT sent with
//!   `Expect: 100-continue` is refused without `100 Continue`, i.e. before
//!   its body is read, while an untagged one is asked for its body.
//! - ListObjectVersions (`s3:ListBucketVersions`), GetObjectTagging
//!   (`s3:GetObjectTagging`) and GetBucketAcl (`s3:GetBucketAcl`) are
//!   grantable like the other reads: to a user named by the policy (with
//!   Block Public Access on) and to everyone (anonymous and other users);
//!   not granted (no policy, another user, a key outside the `Resource`, a
//!   `Deny`, `RestrictPublicBuckets` on, `BlockPublicPolicy` refusing the
//!   public policy) they are `AccessDenied`; the answers are the owner's.
//!   GetObject and HeadObject tell a reader the object's tag count
//!   (`x-amz-tagging-count`) only when it may read the tags.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{PublicAccessBlockConfiguration, TaggingDirective};
use common::{code_of, files_under, form_fields, objects_dir, owner_id, post_form, s3_client};
use miniaws_testkit::{Backend, TestServer};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TAGGED: &str = "tag-writes";
const READS: &str = "granted-reads";

type Outcome = Result<(), (String, u16)>;

fn outcome<T, E: aws_sdk_s3::error::ProvideErrorMetadata>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> Outcome {
    result.map(drop).map_err(|e| code_of(&e))
}

fn denied() -> Outcome {
    Err(("AccessDenied".to_owned(), 403))
}

async fn put_policy(s3: &Client, bucket: &str, statements: &[String]) -> Outcome {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    outcome(
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await,
    )
}

async fn body_of(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject {key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

async fn tags_of(s3: &Client, bucket: &str, key: &str) -> Result<Vec<String>, (String, u16)> {
    s3.get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map(|o| {
            o.tag_set()
                .iter()
                .map(|t| format!("{}={}", t.key(), t.value()))
                .collect()
        })
        .map_err(|e| code_of(&e))
}

/// The message of a failed SDK call.
fn message<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String {
    err.as_service_error()
        .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::message(e).map(str::to_owned))
        .unwrap_or_default()
}

/// Reads one response head from `conn`: its status.
async fn read_status(conn: &mut tokio::net::tcp::OwnedReadHalf) -> u16 {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut byte))
            .await
            .expect("an answer within 10 s (not waiting for the body)")
            .expect("read");
        assert!(n > 0, "closed before an answer: {buf:?}");
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"))
}

/// Sends a presigned PUT with `Expect: 100-continue` and a declared body
/// of `body`: the statuses answered, sending the body only when asked for
/// it.
async fn put_expecting_continue(
    presigned: &aws_sdk_s3::presigning::PresignedRequest,
    body: &[u8],
) -> Vec<u16> {
    let url = reqwest::Url::parse(presigned.uri()).expect("a URL");
    let addr = format!(
        "{}:{}",
        url.host_str().expect("a host"),
        url.port().expect("a port")
    );
    let mut head = format!(
        "PUT {}?{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n",
        url.path(),
        url.query().unwrap_or_default(),
        body.len()
    );
    for (name, value) in presigned.headers() {
        if !name.eq_ignore_ascii_case("host") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.expect("head sent");
    let first = read_status(&mut read).await;
    if first != 100 {
        return vec![first];
    }
    write.write_all(body).await.expect("body sent");
    vec![first, read_status(&mut read).await]
}

/// Writes that set tags are refused under a Deny of s3:PutObjectTagging.
async fn tagged_writes(server: &TestServer, alice_key: &miniaws_client::CreatedKey) {
    // A client of its own for each request: a write refused before its
    // body is read ends its connection (the server cannot reuse it), and
    // these clients do not retry.
    let alice = || s3_client(server, alice_key);
    alice()
        .create_bucket()
        .bucket(TAGGED)
        .send()
        .await
        .expect("CreateBucket");
    let put = |key: &'static str, body: Vec<u8>, tagging: Option<&'static str>| {
        alice()
            .put_object()
            .bucket(TAGGED)
            .key(key)
            .set_tagging(tagging.map(str::to_owned))
            .body(ByteStream::from(body))
            .send()
    };
    put("locked/existing", b"old".to_vec(), None)
        .await
        .expect("an untagged object");
    put("open/src", b"source".to_vec(), Some("from=source"))
        .await
        .expect("a tagged source");
    // A Deny-only policy is not public: accepted behind the default block.
    put_policy(
        &alice(),
        TAGGED,
        &[format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:PutObjectTagging","Resource":"arn:aws:s3:::{TAGGED}/locked/*"}}"#
        )],
    )
    .await
    .expect("PutBucketPolicy");
    let blobs = files_under(&objects_dir(server)).len();

    // PutObject with tags: refused, small body or large, naming the action.
    let err = put("locked/existing", b"new".to_vec(), Some("a=1"))
        .await
        .expect_err("a tagged overwrite");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let msg = message(&err);
    assert!(
        msg.contains("s3:PutObjectTagging") && msg.contains("explicit deny"),
        "{msg}"
    );
    // CreateMultipartUpload with tags.
    assert_eq!(
        outcome(
            alice()
                .create_multipart_upload()
                .bucket(TAGGED)
                .key("locked/mp")
                .tagging("a=1")
                .send()
                .await
        ),
        denied(),
        "CreateMultipartUpload with x-amz-tagging"
    );
    // CopyObject with REPLACE and tags.
    assert_eq!(
        outcome(
            alice()
                .copy_object()
                .bucket(TAGGED)
                .key("locked/copy")
                .copy_source(format!("{TAGGED}/open/src"))
                .tagging_directive(TaggingDirective::Replace)
                .tagging("a=1")
                .send()
                .await
        ),
        denied(),
        "CopyObject REPLACE with tags"
    );
    // A form upload with a tagging document.
    let tagging = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>";
    let fields = form_fields(alice_key, TAGGED, "locked/form", &[("tagging", tagging)]);
    let (status, _, body) = post_form(server, TAGGED, &fields, b"form bytes").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>AccessDenied</Code>") && body.contains("s3:PutObjectTagging"),
        "{body}"
    );

    // Nothing was written: the old version and its (no) tags, no new key,
    // no upload, no blob file.
    assert_eq!(body_of(&alice(), TAGGED, "locked/existing").await, b"old");
    assert_eq!(
        tags_of(&alice(), TAGGED, "locked/existing").await,
        Ok(vec![])
    );
    for key in ["locked/new", "locked/copy", "locked/form"] {
        assert_eq!(
            outcome(alice().head_object().bucket(TAGGED).key(key).send().await),
            Err(("NotFound".to_owned(), 404)),
            "{key}"
        );
    }
    let uploads = alice()
        .list_multipart_uploads()
        .bucket(TAGGED)
        .send()
        .await
        .expect("ListMultipartUploads");
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
    assert_eq!(
        files_under(&objects_dir(server)).len(),
        blobs,
        "no blob file"
    );

    // Before the body: a tagged PUT asking `Expect: 100-continue` is refused
    // without being asked for its body; an untagged one is asked for it.
    let presign = |key: &'static str, tagging: Option<&'static str>| {
        alice()
            .put_object()
            .bucket(TAGGED)
            .key(key)
            .set_tagging(tagging.map(str::to_owned))
            .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).expect("config"))
    };
    let tagged = presign("locked/expect", Some("a=1"))
        .await
        .expect("presign");
    for size in [1000, 300 * 1024] {
        assert_eq!(
            put_expecting_continue(&tagged, &vec![1u8; size]).await,
            [403],
            "refused before a body of {size} bytes"
        );
    }
    let untagged = presign("locked/expect", None).await.expect("presign");
    assert_eq!(
        put_expecting_continue(&untagged, &[1u8; 1000]).await,
        [100, 200],
        "an allowed write is asked for its body"
    );
    assert_eq!(tags_of(&alice(), TAGGED, "locked/expect").await, Ok(vec![]));

    // Without tags, and with tags outside the Deny, writes go through.
    put("locked/new", b"plain".to_vec(), None)
        .await
        .expect("an untagged PutObject");
    put("open/t", b"tagged".to_vec(), Some("a=1"))
        .await
        .expect("a tagged PutObject outside the Deny");
    assert_eq!(
        tags_of(&alice(), TAGGED, "open/t").await,
        Ok(vec!["a=1".to_owned()])
    );
    let mp = alice()
        .create_multipart_upload()
        .bucket(TAGGED)
        .key("locked/mp")
        .send()
        .await
        .expect("an untagged CreateMultipartUpload");
    alice()
        .abort_multipart_upload()
        .bucket(TAGGED)
        .key("locked/mp")
        .upload_id(mp.upload_id().expect("an upload id"))
        .send()
        .await
        .expect("abort");
    alice()
        .copy_object()
        .bucket(TAGGED)
        .key("locked/copy")
        .copy_source(format!("{TAGGED}/open/src"))
        .send()
        .await
        .expect("a copy keeping its source's tags gives none of its own");
    assert_eq!(
        tags_of(&alice(), TAGGED, "locked/copy").await,
        Ok(vec!["from=source".to_owned()])
    );
    let fields = form_fields(alice_key, TAGGED, "locked/form", &[]);
    let (status, _, body) = post_form(server, TAGGED, &fields, b"form bytes").await;
    assert_eq!(status, 204, "an untagged form upload: {body}");
    let fields = form_fields(alice_key, TAGGED, "open/form", &[("tagging", tagging)]);
    let (status, _, body) = post_form(server, TAGGED, &fields, b"form bytes").await;
    assert_eq!(status, 204, "a tagged form upload outside the Deny: {body}");
    assert_eq!(
        tags_of(&alice(), TAGGED, "open/form").await,
        Ok(vec!["a=1".to_owned()])
    );
}

/// What the three reads answer a reader, comparable across readers.
async fn three_reads(s3: &Client) -> [Result<String, (String, u16)>; 3] {
    let versions = s3
        .list_object_versions()
        .bucket(READS)
        .send()
        .await
        .map(|o| {
            o.versions()
                .iter()
                .map(|v| format!("{:?}@{:?}", v.key(), v.version_id()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .map_err(|e| code_of(&e));
    let tags = tags_of(s3, READS, "pub/a.txt").await.map(|t| t.join(","));
    let acl = s3
        .get_bucket_acl()
        .bucket(READS)
        .send()
        .await
        .map(|o| {
            let grants: Vec<String> = o
                .grants()
                .iter()
                .map(|g| {
                    format!(
                        "{:?}:{:?}",
                        g.grantee().and_then(|g| g.id()),
                        g.permission()
                    )
                })
                .collect();
            format!("owner={:?} {grants:?}", o.owner().and_then(|o| o.id()))
        })
        .map_err(|e| code_of(&e));
    [versions, tags, acl]
}

fn all_denied() -> [Result<String, (String, u16)>; 3] {
    let d = || Err(("AccessDenied".to_owned(), 403));
    [d(), d(), d()]
}

/// The three reads unsigned: their statuses and bodies.
async fn anon_reads(server: &TestServer) -> Vec<(u16, String)> {
    let base = server.aws_url();
    let mut out = Vec::new();
    for url in [
        format!("{base}/{READS}?versions"),
        format!("{base}/{READS}/pub/a.txt?tagging"),
        format!("{base}/{READS}?acl"),
    ] {
        let resp = reqwest::get(&url).await.expect("request sent");
        let status = resp.status().as_u16();
        out.push((status, resp.text().await.expect("body")));
    }
    out
}

fn anon_statuses(reads: &[(u16, String)]) -> Vec<u16> {
    reads.iter().map(|(s, _)| *s).collect()
}

/// ListObjectVersions, GetObjectTagging and GetBucketAcl through a policy.
async fn granted_reads(server: &TestServer, alice: &Client, bob: &Client, carol: &Client) {
    let (alice_id, bob_id) = (owner_id(alice).await, owner_id(bob).await);
    alice
        .create_bucket()
        .bucket(READS)
        .send()
        .await
        .expect("CreateBucket");
    for (key, tagging) in [("pub/a.txt", Some("team=blue")), ("other.txt", None)] {
        alice
            .put_object()
            .bucket(READS)
            .key(key)
            .set_tagging(tagging.map(str::to_owned))
            .body(ByteStream::from_static(b"read me"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }
    let owners = three_reads(alice).await;
    assert!(owners.iter().all(Result::is_ok), "{owners:?}");
    assert!(
        owners[2]
            .as_ref()
            .is_ok_and(|acl| acl.contains(&alice_id) && acl.contains("FullControl")),
        "{owners:?}"
    );

    // No policy: nobody else.
    assert_eq!(three_reads(bob).await, all_denied(), "no policy");
    assert_eq!(anon_statuses(&anon_reads(server).await), [403, 403, 403]);

    // Granted to Bob by name: not public, so Block Public Access (all on)
    // lets it in.
    let action = |principal: &str, action: &str, resource: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":"arn:aws:s3:::{resource}"}}"#
        )
    };
    let bob_principal = format!(r#"{{"AWS":"arn:aws:iam::{bob_id}:root"}}"#);
    let to_bob = [
        action(&bob_principal, "s3:ListBucketVersions", READS),
        action(
            &bob_principal,
            "s3:GetObjectTagging",
            &format!("{READS}/pub/*"),
        ),
        action(&bob_principal, "s3:GetBucketAcl", READS),
    ];
    put_policy(alice, READS, &to_bob)
        .await
        .expect("a grant to Bob");
    assert_eq!(three_reads(bob).await, owners, "the owner's very answers");
    assert_eq!(three_reads(carol).await, all_denied(), "not Carol");
    assert_eq!(anon_statuses(&anon_reads(server).await), [403, 403, 403]);
    // A key outside the Resource; a missing key without s3:ListBucket.
    for key in ["other.txt", "pub/missing.txt"] {
        assert_eq!(
            tags_of(bob, READS, key).await,
            Err(("AccessDenied".to_owned(), 403)),
            "{key}"
        );
    }
    // Each grant opens its read alone.
    put_policy(alice, READS, &to_bob[1..2])
        .await
        .expect("tagging only");
    let [versions, tags, acl] = three_reads(bob).await;
    assert_eq!(
        (versions, tags, acl),
        (
            Err(("AccessDenied".to_owned(), 403)),
            owners[1].clone(),
            Err(("AccessDenied".to_owned(), 403))
        )
    );
    // A Deny naming Bob wins.
    let mut with_deny = to_bob.to_vec();
    with_deny.push(format!(
        r#"{{"Effect":"Deny","Principal":{{"AWS":"{bob_id}"}},"Action":["s3:ListBucketVersions","s3:GetObjectTagging","s3:GetBucketAcl"],"Resource":["arn:aws:s3:::{READS}","arn:aws:s3:::{READS}/*"]}}"#
    ));
    put_policy(alice, READS, &with_deny)
        .await
        .expect("with a Deny");
    assert_eq!(three_reads(bob).await, all_denied(), "a Deny wins");
    assert_eq!(three_reads(alice).await, owners, "a Deny naming Bob only");

    // Granted to everyone: public, refused while BlockPublicPolicy is on.
    let star = r#""*""#;
    let to_all = [
        action(star, "s3:ListBucketVersions", READS),
        action(star, "s3:GetObjectTagging", &format!("{READS}/pub/*")),
        action(star, "s3:GetBucketAcl", READS),
    ];
    assert_eq!(
        put_policy(alice, READS, &to_all).await,
        denied(),
        "BlockPublicPolicy"
    );
    let block = |restrict: bool| {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(false)
            .restrict_public_buckets(restrict)
            .build()
    };
    alice
        .put_public_access_block()
        .bucket(READS)
        .public_access_block_configuration(block(false))
        .send()
        .await
        .expect("PutPublicAccessBlock");
    put_policy(alice, READS, &to_all)
        .await
        .expect("a public policy");
    assert_eq!(three_reads(bob).await, owners, "Bob, as anyone");
    assert_eq!(three_reads(carol).await, owners, "Carol, as anyone");
    let anon = anon_reads(server).await;
    assert_eq!(anon_statuses(&anon), [200, 200, 200], "{anon:?}");
    assert!(
        anon[0].1.contains("<Key>pub/a.txt</Key>") && anon[0].1.contains("<Key>other.txt</Key>"),
        "{anon:?}"
    );
    assert!(
        anon[1].1.contains("<Key>team</Key>") && anon[1].1.contains("<Value>blue</Value>"),
        "{anon:?}"
    );
    assert!(anon[2].1.contains(&alice_id), "{anon:?}");
    // RestrictPublicBuckets on: the public policy grants nothing.
    alice
        .put_public_access_block()
        .bucket(READS)
        .public_access_block_configuration(block(true))
        .send()
        .await
        .expect("PutPublicAccessBlock");
    assert_eq!(
        three_reads(bob).await,
        all_denied(),
        "RestrictPublicBuckets"
    );
    assert_eq!(anon_statuses(&anon_reads(server).await), [403, 403, 403]);
    assert_eq!(three_reads(alice).await, owners, "the owner is unaffected");

    // An explicit Deny refuses the owner GetBucketAcl too.
    put_policy(
        alice,
        READS,
        &[format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::{READS}"}}"#
        )],
    )
    .await
    .expect("a Deny");
    let [versions, tags, acl] = three_reads(alice).await;
    assert_eq!(
        (versions, tags, acl),
        (
            owners[0].clone(),
            owners[1].clone(),
            Err(("AccessDenied".to_owned(), 403))
        )
    );

    // x-amz-tagging-count goes only to a reader who may read the tags.
    let get_only = [action(
        &bob_principal,
        "s3:GetObject",
        &format!("{READS}/pub/*"),
    )];
    put_policy(alice, READS, &get_only)
        .await
        .expect("GetObject only");
    assert_eq!(tag_counts(alice).await, (Some(1), Some(1)), "the owner");
    assert_eq!(tag_counts(bob).await, (None, None), "GetObject alone");
    put_policy(alice, READS, &[get_only[0].clone(), to_bob[1].clone()])
        .await
        .expect("GetObject and GetObjectTagging");
    assert_eq!(tag_counts(bob).await, (Some(1), Some(1)), "with the tags");

    // An explicit Deny of s3:GetObjectTagging hides the count from the
    // owner too, and keeps a copy from taking the tags along.
    put_policy(
        alice,
        READS,
        &[format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectTagging","Resource":"arn:aws:s3:::{READS}/pub/*"}}"#
        )],
    )
    .await
    .expect("a Deny of the tag read");
    assert_eq!(tag_counts(alice).await, (None, None), "the owner, denied");
    let copy = alice
        .copy_object()
        .bucket(READS)
        .key("copied.txt")
        .copy_source(format!("{READS}/pub/a.txt"))
        .send()
        .await;
    assert_eq!(outcome(copy), denied(), "a copy taking the tags along");
    alice
        .copy_object()
        .bucket(READS)
        .key("copied.txt")
        .copy_source(format!("{READS}/pub/a.txt"))
        .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
        .send()
        .await
        .expect("a copy replacing the tags");
    // A Deny of the version's tag read alone leaves the current read.
    put_policy(
        alice,
        READS,
        &[format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectVersionTagging","Resource":"arn:aws:s3:::{READS}/pub/*"}}"#
        )],
    )
    .await
    .expect("a Deny of the version tag read");
    assert_eq!(tag_counts(alice).await, (Some(1), Some(1)), "the owner");
}

/// The `x-amz-tagging-count` of `pub/a.txt` in GetObject's and
/// HeadObject's answers to `s3`.
async fn tag_counts(s3: &Client) -> (Option<i32>, Option<i32>) {
    let get = s3
        .get_object()
        .bucket(READS)
        .key("pub/a.txt")
        .send()
        .await
        .expect("GetObject");
    let head = s3
        .head_object()
        .bucket(READS)
        .key("pub/a.txt")
        .send()
        .await
        .expect("HeadObject");
    (get.tag_count(), head.tag_count())
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice_key) = server.user("alice-tags").await;
    let (_, bob_key) = server.user("bob-tags").await;
    let (_, carol_key) = server.user("carol-tags").await;
    let alice = s3_client(&server, &alice_key);
    let bob = s3_client(&server, &bob_key);
    let carol = s3_client(&server, &carol_key);
    tagged_writes(&server, &alice_key).await;
    granted_reads(&server, &alice, &bob, &carol).await;
    assert!(!server.log().contains("panicked"), "no panic in the log");
}

#[tokio::test]
async fn policy_tags_and_reads_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn policy_tags_and_reads_postgres() {
    run(Backend::Postgres).await;
}
