//! S3 static website hosting against the real server on SQLite and
//! Postgres. The configuration through the official AWS SDK (round trip
//! of a site and of a redirect of everything, S3's validation refusals,
//! another owner, a policy's `Deny`, delete, gone with its bucket); the
//! website endpoint through reqwest on `<bucket>.s3-website.localhost:<port>`
//! (index documents at the root and in a directory, the 302 for a
//! directory without its slash, the error document and S3's own page, a
//! private bucket, redirect-all, routing rules on a prefix and on a 404,
//! an object's own redirect, HEAD, a range, conditional GETs, POST) and
//! over raw TCP (1,000 hostile paths that must never serve anything but
//! the site's own objects); and the real aws CLI's `s3 website` and
//! `s3api get-bucket-website`.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    Condition, ErrorDocument, IndexDocument, Protocol, Redirect, RedirectAllRequestsTo,
    RoutingRule, WebsiteConfiguration,
};
use common::{code_of, s3_client};
use miniaws_testkit::{AwsClients, Backend, TestServer};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn index(suffix: &str) -> IndexDocument {
    IndexDocument::builder()
        .suffix(suffix)
        .build()
        .expect("index document")
}

fn error_doc(key: &str) -> ErrorDocument {
    ErrorDocument::builder()
        .key(key)
        .build()
        .expect("error document")
}

/// The site the serving tests run against: index and error documents, a
/// prefix rule (`old/` → `new/`, 302) and a 404 rule for `gone/`.
fn site_config() -> WebsiteConfiguration {
    WebsiteConfiguration::builder()
        .index_document(index("index.html"))
        .error_document(error_doc("error.html"))
        .routing_rules(
            RoutingRule::builder()
                .condition(Condition::builder().key_prefix_equals("old/").build())
                .redirect(
                    Redirect::builder()
                        .replace_key_prefix_with("new/")
                        .http_redirect_code("302")
                        .build(),
                )
                .build(),
        )
        .routing_rules(
            RoutingRule::builder()
                .condition(
                    Condition::builder()
                        .key_prefix_equals("gone/")
                        .http_error_code_returned_equals("404")
                        .build(),
                )
                .redirect(
                    Redirect::builder()
                        .host_name("archive.example.com")
                        .protocol(Protocol::Https)
                        .replace_key_with("moved.html")
                        .build(),
                )
                .build(),
        )
        .build()
}

async fn put_website(s3: &Client, bucket: &str, config: WebsiteConfiguration) {
    s3.put_bucket_website()
        .bucket(bucket)
        .website_configuration(config)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketWebsite {bucket}: {e:?}"));
}

async fn refused(s3: &Client, bucket: &str, config: WebsiteConfiguration) -> (String, u16, String) {
    let err = s3
        .put_bucket_website()
        .bucket(bucket)
        .website_configuration(config)
        .send()
        .await
        .expect_err("refused");
    let (code, status) = code_of(&err);
    let message = aws_sdk_s3::error::ProvideErrorMetadata::message(&err)
        .unwrap_or_default()
        .to_owned();
    (code, status, message)
}

/// Put, read back, replace, delete; S3's refusals.
async fn configuration(s3: &Client, bucket: &str) {
    let err = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("no configuration yet");
    assert_eq!(
        code_of(&err),
        ("NoSuchWebsiteConfiguration".to_owned(), 404)
    );

    put_website(s3, bucket, site_config()).await;
    let got = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketWebsite");
    let want = site_config();
    assert_eq!(got.index_document(), want.index_document());
    assert_eq!(got.error_document(), want.error_document());
    assert_eq!(got.routing_rules(), want.routing_rules());
    assert_eq!(got.redirect_all_requests_to(), None);

    // Put replaces the whole configuration.
    let all = WebsiteConfiguration::builder()
        .redirect_all_requests_to(
            RedirectAllRequestsTo::builder()
                .host_name("example.com")
                .protocol(Protocol::Https)
                .build()
                .expect("redirect"),
        )
        .build();
    put_website(s3, bucket, all.clone()).await;
    let got = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketWebsite");
    assert_eq!(
        got.redirect_all_requests_to(),
        all.redirect_all_requests_to()
    );
    assert_eq!(got.index_document(), None);
    assert!(got.routing_rules().is_empty());

    // S3's refusals, each naming what is wrong; nothing is stored.
    let rule = |redirect: Redirect| {
        WebsiteConfiguration::builder()
            .index_document(index("index.html"))
            .routing_rules(
                RoutingRule::builder()
                    .condition(Condition::builder().key_prefix_equals("a/").build())
                    .redirect(redirect)
                    .build(),
            )
            .build()
    };
    let cases: Vec<(&str, WebsiteConfiguration, &str, &str)> = vec![
        (
            "no index document",
            WebsiteConfiguration::builder()
                .error_document(error_doc("e.html"))
                .build(),
            "InvalidArgument",
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
        ),
        (
            "an empty suffix",
            WebsiteConfiguration::builder()
                .index_document(index(""))
                .build(),
            "InvalidArgument",
            "The IndexDocument Suffix is not well formed",
        ),
        (
            "a suffix with a slash",
            WebsiteConfiguration::builder()
                .index_document(index("a/index.html"))
                .build(),
            "InvalidArgument",
            "The IndexDocument Suffix is not well formed",
        ),
        (
            "redirect-all beside an index document",
            WebsiteConfiguration::builder()
                .index_document(index("index.html"))
                .redirect_all_requests_to(
                    RedirectAllRequestsTo::builder()
                        .host_name("example.com")
                        .build()
                        .expect("redirect"),
                )
                .build(),
            "InvalidArgument",
            "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
        ),
        (
            "an empty error document key",
            WebsiteConfiguration::builder()
                .index_document(index("index.html"))
                .error_document(error_doc(""))
                .build(),
            "MalformedXML",
            "the ErrorDocument Key is empty",
        ),
        (
            "redirect code 300",
            rule(Redirect::builder().http_redirect_code("300").build()),
            "InvalidRequest",
            "The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300.",
        ),
        (
            "both key replacements",
            rule(
                Redirect::builder()
                    .replace_key_with("x")
                    .replace_key_prefix_with("y/")
                    .build(),
            ),
            "InvalidRequest",
            "You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
        ),
    ];
    // A host name with whitespace or a control character, which every
    // website request would then be redirected to; a protocol that is
    // neither http nor https.
    let redirect_all = |host: &str, protocol: Option<Protocol>| {
        WebsiteConfiguration::builder()
            .redirect_all_requests_to(
                RedirectAllRequestsTo::builder()
                    .host_name(host)
                    .set_protocol(protocol)
                    .build()
                    .expect("redirect"),
            )
            .build()
    };
    let all_host = "The HostName of RedirectAllRequestsTo is not a valid host name: it must not hold whitespace or control characters.";
    let rule_host = "The HostName of a routing rule's Redirect is not a valid host name: it must not hold whitespace or control characters.";
    let bad_protocol = "Invalid protocol, protocol can be http or https.";
    let cases = cases.into_iter().chain(vec![
        (
            "redirect-all to a host with a space",
            redirect_all("a b.com", None),
            "InvalidArgument",
            all_host,
        ),
        (
            "redirect-all to a host with a line break",
            redirect_all("a\nb.com", None),
            "InvalidArgument",
            all_host,
        ),
        (
            "redirect-all to ftp",
            redirect_all("example.com", Some(Protocol::from("ftp"))),
            "InvalidRequest",
            bad_protocol,
        ),
        (
            "a rule to a host with a space",
            rule(Redirect::builder().host_name("a b.com").build()),
            "InvalidArgument",
            rule_host,
        ),
        (
            "a rule to a host with a carriage return",
            rule(Redirect::builder().host_name("a\rb.com").build()),
            "InvalidArgument",
            rule_host,
        ),
        (
            "a rule to gopher",
            rule(
                Redirect::builder()
                    .host_name("example.com")
                    .protocol(Protocol::from("gopher"))
                    .build(),
            ),
            "InvalidRequest",
            bad_protocol,
        ),
    ]);
    for (description, config, code, message) in cases {
        let (got_code, status, got_message) = refused(s3, bucket, config).await;
        assert_eq!(
            (got_code.as_str(), status),
            (code, 400),
            "{description}: {got_message}"
        );
        assert!(
            got_message.contains(message),
            "{description}: {got_message}"
        );
    }
    let got = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketWebsite");
    assert_eq!(
        got.redirect_all_requests_to(),
        all.redirect_all_requests_to(),
        "a refused configuration changed nothing"
    );

    s3.delete_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketWebsite");
    let err = s3
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        code_of(&err),
        ("NoSuchWebsiteConfiguration".to_owned(), 404)
    );
    // Deleting again is still 204.
    s3.delete_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketWebsite again");
}

/// Another owner is refused on all three; a policy's `Deny` refuses the
/// owner; the configuration goes with its bucket.
async fn ownership(server: &TestServer, owner: &Client, bucket: &str) {
    put_website(owner, bucket, site_config()).await;
    let (_, bob) = server.user("bob-website").await;
    let bob = s3_client(server, &bob);
    let err = bob
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("another owner");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let (code, status, _) = refused(&bob, bucket, site_config()).await;
    assert_eq!((code.as_str(), status), ("AccessDenied", 403));
    let err = bob
        .delete_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("another owner");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403));
    let err = owner
        .get_bucket_website()
        .bucket("no-such-website-bucket")
        .send()
        .await
        .expect_err("missing bucket");
    assert_eq!(code_of(&err), ("NoSuchBucket".to_owned(), 404));
    owner
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect("still there after bob's tries");

    // A policy's Deny applies to the owner, each action on its own.
    for action in [
        "s3:GetBucketWebsite",
        "s3:PutBucketWebsite",
        "s3:DeleteBucketWebsite",
    ] {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"{action}","Resource":"arn:aws:s3:::{bucket}"}}]}}"#
        );
        owner
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .expect("PutBucketPolicy");
        let get = owner.get_bucket_website().bucket(bucket).send().await;
        let put = owner
            .put_bucket_website()
            .bucket(bucket)
            .website_configuration(site_config())
            .send()
            .await;
        let delete = owner.delete_bucket_website().bucket(bucket).send().await;
        let denied = |r: bool| if r { "denied" } else { "allowed" };
        let got = [
            denied(get.is_err()),
            denied(put.is_err()),
            denied(delete.is_err()),
        ];
        let want = match action {
            "s3:GetBucketWebsite" => ["denied", "allowed", "allowed"],
            "s3:PutBucketWebsite" => ["allowed", "denied", "allowed"],
            _ => ["allowed", "allowed", "denied"],
        };
        assert_eq!(got, want, "Deny of {action}");
        if let Err(e) = get {
            assert_eq!(code_of(&e), ("AccessDenied".to_owned(), 403));
        }
        owner
            .delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .expect("DeleteBucketPolicy");
        put_website(owner, bucket, site_config()).await;
    }

    // The configuration goes with the bucket.
    owner
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucket");
    owner
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket again");
    let err = owner
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .expect_err("a new bucket has none");
    assert_eq!(
        code_of(&err),
        ("NoSuchWebsiteConfiguration".to_owned(), 404)
    );
}

async fn put(s3: &Client, bucket: &str, key: &str, body: &str, content_type: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"));
}

/// Opens `bucket` to anonymous reads, as a website must be.
async fn make_public(s3: &Client, bucket: &str) {
    s3.delete_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        ))
        .send()
        .await
        .expect("PutBucketPolicy");
}

/// An HTTP client of the website host of `bucket`, which never follows
/// redirects; and the base URL.
fn website(server: &TestServer, bucket: &str) -> (reqwest::Client, String) {
    let addr = server.aws.expect("aws listener");
    let host = format!("{bucket}.s3-website.localhost");
    let client = reqwest::Client::builder()
        .resolve(&host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    (client, format!("http://{host}:{}", addr.port()))
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let res = req.send().await.expect("the website answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.expect("body");
    Answer {
        status,
        headers,
        body,
    }
}

/// The website endpoint.
async fn serving(server: &TestServer, s3: &Client) {
    let bucket = "site";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    for (key, body) in [
        ("index.html", "<h1>home</h1>"),
        ("error.html", "<h1>custom error</h1>"),
        ("about.html", "<h1>about</h1>"),
        ("docs/index.html", "<h1>docs</h1>"),
        ("new/page.html", "<h1>new page</h1>"),
        ("space dir/index.html", "<h1>spaced</h1>"),
    ] {
        put(s3, bucket, key, body, "text/html").await;
    }
    put(s3, bucket, "data.txt", "0123456789", "text/plain").await;
    s3.put_object()
        .bucket(bucket)
        .key("promo")
        .website_redirect_location("/about.html")
        .body(ByteStream::from_static(b"not served"))
        .send()
        .await
        .expect("PutObject with a website redirect");
    // S3 never copies an object's redirect: a copy has the one its request
    // names, or none (with either metadata directive); naming one makes a
    // copy onto itself legal.
    for (copy, named) in [
        ("promo-copy", None),
        ("promo-moved", Some("/new/page.html")),
    ] {
        let mut request = s3
            .copy_object()
            .bucket(bucket)
            .key(copy)
            .copy_source(format!("{bucket}/promo"));
        if let Some(location) = named {
            request = request.website_redirect_location(location);
        }
        request.send().await.expect("CopyObject");
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(copy)
            .send()
            .await
            .expect("HeadObject of the copy");
        assert_eq!(head.website_redirect_location(), named, "{copy}");
    }
    s3.copy_object()
        .bucket(bucket)
        .key("promo-moved")
        .copy_source(format!("{bucket}/promo-moved"))
        .website_redirect_location("/about.html")
        .send()
        .await
        .expect("a copy onto itself that changes the redirect");
    for key in ["promo-copy", "promo-moved"] {
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("DeleteObject");
    }
    // S3 stores only a path on the site or an http(s) URL there.
    for bad in ["about.html", "ftp://example.com/x"] {
        let err = s3
            .put_object()
            .bucket(bucket)
            .key("bad-promo")
            .website_redirect_location(bad)
            .body(ByteStream::from_static(b"never stored"))
            .send()
            .await
            .expect_err("an invalid redirect location");
        assert_eq!(
            code_of(&err),
            ("InvalidRedirectLocation".into(), 400),
            "{bad:?}"
        );
        let err = s3
            .head_object()
            .bucket(bucket)
            .key("bad-promo")
            .send()
            .await
            .expect_err("nothing was stored");
        assert_eq!(code_of(&err).1, 404);
    }
    let (http, base) = website(server, bucket);

    // Without a configuration, S3's page says so; a missing bucket too.
    let a = send(http.get(format!("{base}/"))).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(
        a.body.contains("<li>Code: NoSuchWebsiteConfiguration</li>"),
        "{}",
        a.body
    );
    assert!(a.body.contains("<li>BucketName: site</li>"), "{}", a.body);
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    let (nobody, nobody_base) = website(server, "no-such-site");
    let a = send(nobody.get(format!("{nobody_base}/"))).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("<li>Code: NoSuchBucket</li>"), "{}", a.body);

    // Configured but private: 403, S3's AccessDenied (the error document
    // is not readable either, and the page says so).
    put_website(s3, bucket, site_config()).await;
    let a = send(http.get(format!("{base}/"))).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(
        a.body
            .starts_with("<html>\n<head><title>403 Forbidden</title></head>"),
        "{}",
        a.body
    );
    assert!(a.body.contains("<li>Code: AccessDenied</li>"), "{}", a.body);
    assert!(
        a.body.contains("<li>Message: Access Denied</li>"),
        "{}",
        a.body
    );
    assert!(a.body.contains("<li>RequestId: "), "{}", a.body);
    // S3's extended request id, as a header and on the page.
    let host_id = a.header("x-amz-id-2").expect("x-amz-id-2").to_owned();
    assert!(
        a.body.contains(&format!("<li>HostId: {host_id}</li>")),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains("An Error Occurred While Attempting to Retrieve a Custom Error Document"),
        "{}",
        a.body
    );
    assert!(!a.body.contains("home"), "{}", a.body);

    make_public(s3, bucket).await;

    // Index documents at the root and in a directory.
    let a = send(http.get(format!("{base}/"))).await;
    assert_eq!((a.status, a.body.as_str()), (200, "<h1>home</h1>"));
    assert_eq!(a.header("content-type"), Some("text/html"));
    assert_eq!(a.header("content-length"), Some("13"));
    let etag = a.header("etag").expect("an ETag").to_owned();
    assert!(a.header("last-modified").is_some());
    let a = send(http.get(format!("{base}/docs/"))).await;
    assert_eq!((a.status, a.body.as_str()), (200, "<h1>docs</h1>"));
    let a = send(http.get(format!("{base}/space%20dir/"))).await;
    assert_eq!((a.status, a.body.as_str()), (200, "<h1>spaced</h1>"));
    let a = send(http.get(format!("{base}/about.html"))).await;
    assert_eq!((a.status, a.body.as_str()), (200, "<h1>about</h1>"));

    // A directory without its slash: 302 to it.
    let a = send(http.get(format!("{base}/docs"))).await;
    assert_eq!(a.status, 302, "{}", a.body);
    assert_eq!(a.header("location"), Some("/docs/"));

    // A missing key: the error document, with 404.
    let a = send(http.get(format!("{base}/nope.html"))).await;
    assert_eq!((a.status, a.body.as_str()), (404, "<h1>custom error</h1>"));
    assert_eq!(a.header("content-type"), Some("text/html"));

    // Routing rules: a prefix (before any lookup), and a 404 under `gone/`.
    let a = send(http.get(format!("{base}/old/page.html"))).await;
    assert_eq!(a.status, 302, "{}", a.body);
    let host = base.trim_start_matches("http://");
    assert_eq!(
        a.header("location"),
        Some(format!("http://{host}/new/page.html").as_str())
    );
    let a = send(http.get(format!("{base}/gone/anything.html"))).await;
    assert_eq!(a.status, 301, "{}", a.body);
    assert_eq!(
        a.header("location"),
        Some("https://archive.example.com/moved.html")
    );

    // An object's own redirect.
    let a = send(http.get(format!("{base}/promo"))).await;
    assert_eq!(a.status, 301, "{}", a.body);
    assert_eq!(a.header("location"), Some("/about.html"));
    assert!(!a.body.contains("not served"));

    // HEAD: the headers, no body.
    let a = send(http.head(format!("{base}/data.txt"))).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-length"), Some("10"));
    assert_eq!(a.header("content-type"), Some("text/plain"));
    assert_eq!(a.body, "");
    let a = send(http.head(format!("{base}/nope.html"))).await;
    assert_eq!((a.status, a.body.as_str()), (404, ""));

    // A range, and conditional reads.
    let a = send(
        http.get(format!("{base}/data.txt"))
            .header("range", "bytes=2-5"),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (206, "2345"));
    assert_eq!(a.header("content-range"), Some("bytes 2-5/10"));
    let a = send(
        http.get(format!("{base}/data.txt"))
            .header("range", "bytes=20-"),
    )
    .await;
    assert_eq!(a.status, 416, "{}", a.body);
    let a = send(http.get(format!("{base}/")).header("if-none-match", &etag)).await;
    assert_eq!((a.status, a.body.as_str()), (304, ""));
    let a = send(http.get(format!("{base}/")).header("if-match", "\"other\"")).await;
    assert_eq!(a.status, 412, "{}", a.body);

    // Only GET and HEAD.
    let a = send(http.post(format!("{base}/index.html")).body("x")).await;
    assert_eq!(a.status, 405, "{}", a.body);
    assert!(
        a.body.contains("<li>Code: MethodNotAllowed</li>"),
        "{}",
        a.body
    );
    assert!(a.body.contains("<li>Method: POST</li>"), "{}", a.body);
    let a = send(http.put(format!("{base}/index.html")).body("x")).await;
    assert_eq!(a.status, 405, "{}", a.body);
    let a = send(http.get(format!("{base}/"))).await;
    assert_eq!(a.body, "<h1>home</h1>", "the PUT changed nothing");

    // Without the error document: S3's own 404 page.
    s3.delete_object()
        .bucket(bucket)
        .key("error.html")
        .send()
        .await
        .expect("DeleteObject");
    let a = send(http.get(format!("{base}/nope.html"))).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(
        a.body
            .starts_with("<html>\n<head><title>404 Not Found</title></head>"),
        "{}",
        a.body
    );
    assert!(a.body.contains("<li>Code: NoSuchKey</li>"), "{}", a.body);
    assert!(a.body.contains("<li>Key: nope.html</li>"), "{}", a.body);
    assert_eq!(a.header("x-amz-error-code"), Some("NoSuchKey"));

    // The regional host forms are website hosts too.
    let addr = server.aws.expect("aws listener");
    for host in [
        "site.s3-website-us-east-1.localhost",
        "site.s3-website.us-east-1.localhost",
    ] {
        let client = reqwest::Client::builder()
            .resolve(host, addr)
            .build()
            .expect("client");
        let a = send(client.get(format!("http://{host}:{}/about.html", addr.port()))).await;
        assert_eq!(
            (a.status, a.body.as_str()),
            (200, "<h1>about</h1>"),
            "{host}"
        );
    }

    // Redirect everything.
    s3.create_bucket()
        .bucket("old-site")
        .send()
        .await
        .expect("CreateBucket");
    put_website(
        s3,
        "old-site",
        WebsiteConfiguration::builder()
            .redirect_all_requests_to(
                RedirectAllRequestsTo::builder()
                    .host_name("new.example.com")
                    .protocol(Protocol::Https)
                    .build()
                    .expect("redirect"),
            )
            .build(),
    )
    .await;
    let (old, old_base) = website(server, "old-site");
    let a = send(old.get(format!("{old_base}/a/b.html"))).await;
    assert_eq!(a.status, 301, "{}", a.body);
    assert_eq!(
        a.header("location"),
        Some("https://new.example.com/a/b.html")
    );

    hostile_paths(server, bucket).await;
}

/// Sends `GET <path>` for `host` over raw TCP (nothing normalises the
/// path); the status and the whole answer.
async fn raw_get(addr: SocketAddr, host: &str, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {path:?}: {text:?}"));
    (status, text)
}

/// 1,000 hostile paths on the website host: dot segments raw and
/// encoded, NULs, encoded slashes and backslashes, double encodings and
/// long keys. Nothing outside `site` is ever served (another bucket's
/// secret, with its own public website, never shows), no answer is a
/// server error or a dropped connection, and a 200 is one of the site's
/// own bodies.
async fn hostile_paths(server: &TestServer, site: &str) {
    let addr = server.aws.expect("aws listener");
    let host = format!("{site}.s3-website.localhost:{}", addr.port());
    let pieces = [
        "..",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "%252e%252e",
        ".",
        "%2e",
        "%00",
        "a%00b",
        "%2f",
        "%2F",
        "%5c",
        "..%5c",
        "%c0%ae%c0%ae",
        "%ff",
        "secret",
        "secret.txt",
        "secret-site",
        "index.html",
        "docs",
        "",
        "%20",
        "~",
        "%25",
        "..;",
        "%3f",
        "etc",
        "passwd",
        "miniaws.db",
    ];
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    let own_bodies = [
        "<h1>home</h1>",
        "<h1>about</h1>",
        "<h1>docs</h1>",
        "<h1>new page</h1>",
        "<h1>spaced</h1>",
        "0123456789",
    ];
    // Climbs towards the other bucket first (every form of `..`, one to
    // three levels, `/` or an encoded one between), then random mixes.
    let ups = [
        "..",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "%252e%252e",
        "..%5c",
        "%c0%ae%c0%ae",
        "..;",
        "%2e%2e%00",
        ".",
    ];
    let targets = [
        "secret-site/secret.txt",
        "secret-site/",
        "secret-site/index.html",
        "secret-site%2fsecret.txt",
        "s3-website/secret-site/secret.txt",
    ];
    let mut paths = Vec::new();
    for up in ups {
        for depth in 1..=3 {
            for target in targets {
                for sep in ["/", "%2f"] {
                    paths.push(format!("/{}{target}", format!("{up}{sep}").repeat(depth)));
                }
            }
        }
    }
    assert!(paths.len() < 1000);
    for i in paths.len()..1000 {
        let path = if i % 100 == 99 {
            // Long keys, around S3's 1,024-byte limit and past it.
            format!("/{}", "a".repeat(900 + next(400)))
        } else {
            let segments = 1 + next(6);
            let mut path = String::new();
            for _ in 0..segments {
                path.push('/');
                path.push_str(pieces[next(pieces.len())]);
            }
            if next(4) == 0 {
                path.push('/');
            }
            path
        };
        paths.push(path);
    }
    for path in paths {
        let (status, text) = raw_get(addr, &host, &path).await;
        assert!(
            !text.contains("TOP SECRET"),
            "{path:?} served another bucket's object: {text}"
        );
        assert!(
            matches!(status, 200 | 301 | 302 | 400 | 403 | 404),
            "{path:?}: {status}\n{text}"
        );
        if status == 200 {
            let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
            assert!(
                own_bodies.contains(&body),
                "{path:?} served something that is not one of the site's objects: {text}"
            );
        }
    }
    let log = server.log();
    assert!(!log.contains("panicked"), "a panic:\n{log}");
}

/// The real aws CLI: `s3 website` then `s3api get-bucket-website`.
async fn aws_cli(server: &TestServer, key: &miniaws_client::CreatedKey, bucket: &str) {
    let Some(cli) = aws_cli_path() else {
        return;
    };
    let clients = AwsClients::new(server, key);
    let site = format!("s3://{bucket}");
    clients
        .aws(
            &cli,
            [
                "s3",
                "website",
                &site,
                "--index-document",
                "index.html",
                "--error-document",
                "error.html",
            ],
        )
        .await;
    let out = clients
        .aws(&cli, ["s3api", "get-bucket-website", "--bucket", bucket])
        .await;
    let out = String::from_utf8_lossy(&out.stdout);
    let got: serde_json::Value = serde_json::from_str(&out).expect("JSON from the CLI");
    assert_eq!(
        got,
        serde_json::json!({
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"}
        }),
        "{out}"
    );
}

fn aws_cli_path() -> Option<PathBuf> {
    miniaws_testkit::require_tool("MINIAWS_TEST_AWS_CLI")
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("alice-website").await;
    let s3 = s3_client(&server, &key);
    for bucket in ["website-sdk", "website-owned", "website-cli", "secret-site"] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    configuration(&s3, "website-sdk").await;
    ownership(&server, &s3, "website-owned").await;
    // A public website whose objects the hostile paths must never reach.
    put(&s3, "secret-site", "secret.txt", "TOP SECRET", "text/plain").await;
    put(
        &s3,
        "secret-site",
        "index.html",
        "TOP SECRET index",
        "text/html",
    )
    .await;
    make_public(&s3, "secret-site").await;
    put_website(&s3, "secret-site", site_config()).await;
    serving(&server, &s3).await;
    aws_cli(&server, &key, "website-cli").await;
}

#[tokio::test]
async fn s3_website_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn s3_website_postgres() {
    run(Backend::Postgres).await;
}
