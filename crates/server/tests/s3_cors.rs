//! Bucket CORS against the real server on SQLite and Postgres:
//! Put/Get/DeleteBucketCors through the official AWS SDK (replace, read
//! back, `NoSuchCORSConfiguration`, S3's validation refusals, another
//! owner's bucket, a missing one); browser preflights sent raw with reqwest
//! (allowed, wrong origin, wrong method, a header not allowed, a wildcard
//! origin, no configuration, a missing bucket, virtual-hosted, missing
//! `Origin` or `Access-Control-Request-Method`); the CORS headers on actual
//! requests with an `Origin` (a presigned GET and PUT, an error answer) and
//! none without; the configuration surviving a restart; and the real aws
//! CLI's `s3api put-bucket-cors` / `get-bucket-cors`.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use common::{code_of, s3_client};
use miniaws_testkit::{Backend, TestServer};
use reqwest::Method;
use std::path::PathBuf;
use std::time::Duration;

const APP: &str = "http://localhost:3000";

fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
    let mut b = CorsRule::builder();
    for o in origins {
        b = b.allowed_origins(*o);
    }
    for m in methods {
        b = b.allowed_methods(*m);
    }
    for h in headers {
        b = b.allowed_headers(*h);
    }
    b.build().expect("a CORS rule")
}

fn config(rules: Vec<CorsRule>) -> CorsConfiguration {
    CorsConfiguration::builder()
        .set_cors_rules(Some(rules))
        .build()
        .expect("a CORS configuration")
}

/// The configuration the browser tests run against.
fn app_config() -> CorsConfiguration {
    let uploads = CorsRule::builder()
        .id("uploads")
        .allowed_origins(APP)
        .allowed_methods("GET")
        .allowed_methods("PUT")
        .allowed_methods("POST")
        .allowed_headers("content-type")
        .allowed_headers("x-amz-*")
        .expose_headers("ETag")
        .expose_headers("x-amz-request-id")
        .max_age_seconds(3000)
        .build()
        .expect("rule");
    config(vec![
        uploads,
        rule(&["http://*.example.com"], &["GET", "HEAD"], &[]),
    ])
}

async fn put_cors(s3: &Client, bucket: &str, cors: CorsConfiguration) {
    s3.put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(cors)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketCors {bucket}: {e:?}"));
}

/// Put, read back, replace, delete; S3's refusals of bad configurations.
async fn sdk_round_trip(s3: &Client, bucket: &str) {
    let err = s3
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect_err("no configuration yet");
    assert_eq!(code_of(&err), ("NoSuchCORSConfiguration".to_owned(), 404));

    put_cors(s3, bucket, app_config()).await;
    let got = s3
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketCors");
    assert_eq!(
        got.cors_rules(),
        app_config().cors_rules(),
        "read back as put"
    );

    // Put replaces the whole configuration.
    put_cors(s3, bucket, config(vec![rule(&["*"], &["GET"], &[])])).await;
    let got = s3
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketCors");
    assert_eq!(got.cors_rules(), &[rule(&["*"], &["GET"], &[])]);

    s3.delete_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketCors");
    let err = s3
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code_of(&err), ("NoSuchCORSConfiguration".to_owned(), 404));
    // Deleting again is fine (204 both times).
    s3.delete_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketCors again");

    let refusals: Vec<(&str, CorsConfiguration, &str, &str)> = vec![
        (
            "an unsupported method",
            config(vec![rule(&["*"], &["GET", "PATCH"], &[])]),
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH",
        ),
        (
            "two wildcards in an origin",
            config(vec![rule(&["http://*.*.example.com"], &["GET"], &[])]),
            "InvalidRequest",
            "AllowedOrigin \"http://*.*.example.com\" can not have more than one wildcard.",
        ),
        (
            "two wildcards in a header",
            config(vec![rule(&["*"], &["GET"], &["x-*-*"])]),
            "InvalidRequest",
            "AllowedHeader \"x-*-*\" can not have more than one wildcard.",
        ),
        (
            "101 rules",
            config(vec![rule(&["*"], &["GET"], &[]); 101]),
            "InvalidRequest",
            "limit of 100 rules",
        ),
        ("no rules", config(vec![]), "MalformedXML", ""),
        // Both go into every answer's headers: the first could not (and
        // was left out), the second means nothing.
        (
            "a control character in an ExposeHeader",
            config(vec![
                CorsRule::builder()
                    .allowed_origins("*")
                    .allowed_methods("GET")
                    .expose_headers("ETag")
                    .expose_headers("x-a\nb")
                    .build()
                    .expect("a CORS rule"),
            ]),
            "InvalidRequest",
            "An ExposeHeader of a CORSRule must not hold control characters.",
        ),
        (
            "a negative MaxAgeSeconds",
            config(vec![
                CorsRule::builder()
                    .allowed_origins("*")
                    .allowed_methods("GET")
                    .max_age_seconds(-5)
                    .build()
                    .expect("a CORS rule"),
            ]),
            "InvalidRequest",
            "The MaxAgeSeconds of a CORSRule must not be negative (-5 was given).",
        ),
        // XML 1.0 has no such character: S3 refuses the document, and
        // stored it was answered back in XML no SDK could read.
        (
            "a control character in an ID",
            config(vec![
                CorsRule::builder()
                    .id("a\u{1}b")
                    .allowed_origins("*")
                    .allowed_methods("GET")
                    .build()
                    .expect("a CORS rule"),
            ]),
            "MalformedXML",
            "XML 1.0",
        ),
    ];
    for (what, cors, code, message) in refusals {
        let err = s3
            .put_bucket_cors()
            .bucket(bucket)
            .cors_configuration(cors)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.to_owned(), 400), "{what}");
        let got = aws_sdk_s3::error::ProvideErrorMetadata::message(&err).unwrap_or_default();
        assert!(got.contains(message), "{what}: message {got:?}");
    }
    // A refused configuration changes nothing.
    assert_eq!(
        code_of(
            &s3.get_bucket_cors()
                .bucket(bucket)
                .send()
                .await
                .expect_err("still none")
        ),
        ("NoSuchCORSConfiguration".to_owned(), 404)
    );
}

/// Another owner's bucket is AccessDenied; a missing one NoSuchBucket.
async fn ownership(server: &TestServer, owner: &Client, bucket: &str) {
    let (_, bob) = server.user("bob-cors").await;
    let bob = s3_client(server, &bob);
    put_cors(owner, bucket, app_config()).await;
    let put = bob
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(config(vec![rule(&["*"], &["GET"], &[])]))
        .send()
        .await
        .expect_err("not bob's");
    assert_eq!(code_of(&put), ("AccessDenied".to_owned(), 403));
    let get = bob
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect_err("not bob's");
    assert_eq!(code_of(&get), ("AccessDenied".to_owned(), 403));
    let delete = bob
        .delete_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect_err("not bob's");
    assert_eq!(code_of(&delete), ("AccessDenied".to_owned(), 403));
    let got = owner
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .expect("the owner's configuration is untouched");
    assert_eq!(got.cors_rules(), app_config().cors_rules());

    for (what, err) in [
        (
            "put",
            owner
                .put_bucket_cors()
                .bucket("no-such-cors-bucket")
                .cors_configuration(app_config())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| code_of(&e)),
        ),
        (
            "get",
            owner
                .get_bucket_cors()
                .bucket("no-such-cors-bucket")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| code_of(&e)),
        ),
        (
            "delete",
            owner
                .delete_bucket_cors()
                .bucket("no-such-cors-bucket")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| code_of(&e)),
        ),
    ] {
        assert_eq!(err, Err(("NoSuchBucket".to_owned(), 404)), "{what}");
    }
}

/// One raw preflight: status, the headers of interest, and the body.
async fn preflight(
    http: &reqwest::Client,
    url: &str,
    origin: Option<&str>,
    method: Option<&str>,
    headers: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = http.request(Method::OPTIONS, url);
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    if let Some(m) = method {
        req = req.header("Access-Control-Request-Method", m);
    }
    if let Some(h) = headers {
        req = req.header("Access-Control-Request-Headers", h);
    }
    let res = req.send().await.expect("OPTIONS");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("body"))
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// Preflights, path style and virtual-hosted.
async fn preflights(server: &TestServer, owner: &Client, bucket: &str, bare: &str) {
    put_cors(owner, bucket, app_config()).await;
    let http = reqwest::Client::new();
    let base = server.aws_url();
    let url = format!("{base}/{bucket}/uploads/photo.jpg");

    // Allowed: origin, method and headers (case-insensitively, wildcard).
    let (status, h, body) = preflight(
        &http,
        &url,
        Some(APP),
        Some("PUT"),
        Some("Content-Type, X-Amz-Date, x-amz-content-sha256"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&h, "access-control-allow-methods"),
        Some("GET, PUT, POST")
    );
    assert_eq!(
        header(&h, "access-control-allow-headers"),
        Some("Content-Type, X-Amz-Date, x-amz-content-sha256")
    );
    assert_eq!(
        header(&h, "access-control-expose-headers"),
        Some("ETag, x-amz-request-id")
    );
    assert_eq!(header(&h, "access-control-max-age"), Some("3000"));
    assert_eq!(header(&h, "access-control-allow-credentials"), Some("true"));
    assert_eq!(header(&h, "vary"), Some(VARY));
    assert!(body.is_empty(), "{body}");

    // On the bucket itself (a form POST's preflight) too.
    let (status, _, body) = preflight(
        &http,
        &format!("{base}/{bucket}"),
        Some(APP),
        Some("POST"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let not_allowed = "CORSResponse: This CORS request is not allowed";
    // (what, Origin, Access-Control-Request-Method, -Headers)
    let refused: [(&str, &str, &str, Option<&str>); 4] = [
        ("a wrong origin", "http://evil.test", "PUT", None),
        ("a method not allowed", APP, "DELETE", None),
        (
            "a header not allowed",
            APP,
            "PUT",
            Some("content-type, authorization"),
        ),
        (
            "a wildcard origin needs its suffix",
            "http://app.example.org",
            "GET",
            None,
        ),
    ];
    for (what, origin, method, headers) in refused {
        let (status, h, body) = preflight(&http, &url, Some(origin), Some(method), headers).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert!(
            body.contains("<Code>AccessForbidden</Code>"),
            "{what}: {body}"
        );
        assert!(body.contains(not_allowed), "{what}: {body}");
        assert_eq!(header(&h, "access-control-allow-origin"), None, "{what}");
    }

    // The wildcard origin `http://*.example.com`.
    let (status, h, body) = preflight(
        &http,
        &url,
        Some("http://app.example.com"),
        Some("HEAD"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://app.example.com")
    );
    assert_eq!(
        header(&h, "access-control-allow-methods"),
        Some("GET, HEAD")
    );
    assert_eq!(header(&h, "access-control-expose-headers"), None);

    // No configuration; a missing bucket.
    let (status, _, body) = preflight(
        &http,
        &format!("{base}/{bare}/k"),
        Some(APP),
        Some("GET"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>AccessForbidden</Code>")
            && body.contains("CORSResponse: CORS is not enabled for this bucket."),
        "{body}"
    );
    let (status, _, body) = preflight(
        &http,
        &format!("{base}/no-such-cors-bucket/k"),
        Some(APP),
        Some("GET"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>AccessForbidden</Code>") && body.contains("CORSResponse"),
        "{body}"
    );

    // A preflight without Origin or without the requested method is 400.
    let (status, _, body) = preflight(&http, &url, None, Some("PUT"), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<Code>BadRequest</Code>")
            && body.contains("Insufficient information. Origin request header needed."),
        "{body}"
    );
    let (status, _, body) = preflight(&http, &url, Some(APP), None, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<Code>BadRequest</Code>")
            && body.contains("Invalid Access-Control-Request-Method: null"),
        "{body}"
    );
    let (status, _, body) = preflight(&http, &url, Some(APP), Some("PATCH"), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Invalid Access-Control-Request-Method: PATCH"),
        "{body}"
    );

    // Virtual-hosted: `<bucket>.localhost`, told where it is.
    let addr = server.aws.expect("aws listener");
    let host = format!("{bucket}.localhost");
    let vh = reqwest::Client::builder()
        .resolve(&host, addr)
        .build()
        .expect("http client");
    let (status, h, body) = preflight(
        &vh,
        &format!("http://{host}:{}/uploads/photo.jpg", addr.port()),
        Some(APP),
        Some("PUT"),
        Some("content-type"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(APP));
    let (status, _, body) = preflight(
        &vh,
        &format!("http://{host}:{}/uploads/photo.jpg", addr.port()),
        Some("http://evil.test"),
        Some("PUT"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // A rule whose origin is `*` answers `*`, without credentials.
    put_cors(owner, bare, config(vec![rule(&["*"], &["GET"], &["*"])])).await;
    let (status, h, body) = preflight(
        &http,
        &format!("{base}/{bare}/k"),
        Some("http://anywhere.test"),
        Some("GET"),
        Some("x-custom"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&h, "access-control-allow-credentials"), None);
    assert_eq!(header(&h, "access-control-allow-headers"), Some("x-custom"));
    assert_eq!(header(&h, "vary"), Some(VARY));
    // An empty Origin names no origin, even for `*`: the 400 of a
    // preflight without one; an actual request with it gets no CORS
    // headers.
    let (status, h, body) = preflight(
        &http,
        &format!("{base}/{bare}/k"),
        Some(""),
        Some("GET"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<Code>BadRequest</Code>")
            && body.contains("Insufficient information. Origin request header needed."),
        "{body}"
    );
    assert_eq!(header(&h, "access-control-allow-origin"), None);
    let res = http
        .get(format!("{base}/{bare}/k"))
        .header("Origin", "")
        .send()
        .await
        .expect("GET with an empty Origin");
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        None,
        "an empty Origin is allowed nothing"
    );
    let res = http
        .get(format!("{base}/{bare}/k"))
        .header("Origin", "http://anywhere.test")
        .send()
        .await
        .expect("GET with an Origin");
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        Some("*"),
        "the same request with an origin is allowed"
    );
}

/// Actual requests: a presigned PUT and GET with `Origin` get the rule's
/// headers (errors too); without `Origin`, none.
async fn actual_requests(server: &TestServer, owner: &Client, bucket: &str) {
    put_cors(owner, bucket, app_config()).await;
    let http = reqwest::Client::new();
    let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).expect("presigning");
    let put = owner
        .put_object()
        .bucket(bucket)
        .key("browser.txt")
        .presigned(cfg.clone())
        .await
        .expect("presign PUT");
    let res = http
        .put(put.uri())
        .header("Origin", APP)
        .body("from the browser")
        .send()
        .await
        .expect("PUT");
    assert_eq!(res.status().as_u16(), 200);
    let h = res.headers();
    assert_eq!(header(h, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(h, "access-control-expose-headers"),
        Some("ETag, x-amz-request-id")
    );
    assert_eq!(header(h, "access-control-allow-credentials"), Some("true"));
    assert_eq!(header(h, "vary"), Some(VARY));
    assert!(header(h, "etag").is_some());

    let get = owner
        .get_object()
        .bucket(bucket)
        .key("browser.txt")
        .presigned(cfg.clone())
        .await
        .expect("presign GET");
    let res = http
        .get(get.uri())
        .header("Origin", APP)
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        Some(APP)
    );
    assert_eq!(res.text().await.expect("body"), "from the browser");

    // The wildcard-origin rule allows GET, and sends no credentials header
    // only when its origin is `*`: here it names a pattern.
    let res = http
        .get(get.uri())
        .header("Origin", "http://docs.example.com")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        Some("http://docs.example.com")
    );

    // Without Origin: no CORS headers.
    let res = http.get(get.uri()).send().await.expect("GET");
    assert_eq!(res.status().as_u16(), 200);
    for name in [
        "access-control-allow-origin",
        "access-control-expose-headers",
        "access-control-allow-credentials",
        "vary",
    ] {
        assert_eq!(header(res.headers(), name), None, "{name} without Origin");
    }

    // An origin no rule names, or a method its rule does not allow: no
    // headers (the browser refuses the answer).
    let res = http
        .get(get.uri())
        .header("Origin", "http://evil.test")
        .send()
        .await
        .expect("GET");
    assert_eq!(header(res.headers(), "access-control-allow-origin"), None);
    let delete = owner
        .delete_object()
        .bucket(bucket)
        .key("browser.txt")
        .presigned(cfg)
        .await
        .expect("presign DELETE");
    let res = http
        .delete(delete.uri())
        .header("Origin", APP)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(header(res.headers(), "access-control-allow-origin"), None);

    // An error answer carries them too (an anonymous GET is refused).
    let res = http
        .get(format!("{}/{bucket}/browser.txt", server.aws_url()))
        .header("Origin", APP)
        .send()
        .await
        .expect("anonymous GET");
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        Some(APP)
    );

    // So does a browser form POST's (here refused: it is not signed).
    let form = "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nform.txt\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nbody\r\n--XyZ--\r\n";
    let res = http
        .post(format!("{}/{bucket}", server.aws_url()))
        .header("Origin", APP)
        .header("Content-Type", "multipart/form-data; boundary=XyZ")
        .body(form)
        .send()
        .await
        .expect("form POST");
    let status = res.status().as_u16();
    let h = res.headers().clone();
    let body = res.text().await.unwrap_or_default();
    assert_eq!(status, 403, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&h, "access-control-allow-methods"),
        Some("GET, PUT, POST")
    );
}

/// The real aws CLI: `s3api put-bucket-cors --cors-configuration file://…`
/// then `get-bucket-cors`.
async fn aws_cli(server: &TestServer, key: &miniaws_client::CreatedKey, bucket: &str) {
    let Some(cli) = aws_cli_path() else {
        return;
    };
    let clients = miniaws_testkit::AwsClients::new(server, key);
    let file = clients.home().join("cors.json");
    std::fs::write(
        &file,
        r#"{"CORSRules":[{"AllowedOrigins":["http://localhost:3000"],"AllowedMethods":["GET","PUT","POST"],"AllowedHeaders":["*"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":3000}]}"#,
    )
    .expect("write cors.json");
    let cors_file = format!("file://{}", file.display());
    clients
        .aws(
            &cli,
            [
                "s3api",
                "put-bucket-cors",
                "--bucket",
                bucket,
                "--cors-configuration",
                &cors_file,
            ],
        )
        .await;
    let out = clients
        .aws(&cli, ["s3api", "get-bucket-cors", "--bucket", bucket])
        .await;
    let out = String::from_utf8_lossy(&out.stdout);
    let got: serde_json::Value = serde_json::from_str(&out).expect("JSON from the CLI");
    assert_eq!(
        got,
        serde_json::json!({"CORSRules": [{
            "AllowedOrigins": ["http://localhost:3000"],
            "AllowedMethods": ["GET", "PUT", "POST"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 3000
        }]}),
        "{out}"
    );
}

fn aws_cli_path() -> Option<PathBuf> {
    miniaws_testkit::require_tool("MINIAWS_TEST_AWS_CLI")
}

async fn run(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("alice-cors").await;
    let s3 = s3_client(&server, &key);
    for bucket in [
        "cors-sdk",
        "cors-owned",
        "cors-app",
        "cors-bare",
        "cors-cli",
    ] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    sdk_round_trip(&s3, "cors-sdk").await;
    ownership(&server, &s3, "cors-owned").await;
    preflights(&server, &s3, "cors-app", "cors-bare").await;
    actual_requests(&server, &s3, "cors-app").await;
    aws_cli(&server, &key, "cors-cli").await;

    // The configuration survives a restart.
    server.restart().await;
    let s3 = s3_client(&server, &key);
    let got = s3
        .get_bucket_cors()
        .bucket("cors-app")
        .send()
        .await
        .expect("GetBucketCors after a restart");
    assert_eq!(got.cors_rules(), app_config().cors_rules());
    let (status, h, body) = preflight(
        &reqwest::Client::new(),
        &format!("{}/cors-app/k", server.aws_url()),
        Some(APP),
        Some("PUT"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn bucket_cors_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn bucket_cors_postgres() {
    run(Backend::Postgres).await;
}
