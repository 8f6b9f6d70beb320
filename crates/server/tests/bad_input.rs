//! Bad input on every request path of the real server, native API and S3
//! listener alike, on SQLite and Postgres: malformed, truncated,
//! wrong-typed and huge bodies, missing, duplicated and unknown fields,
//! wrong content types, invalid UTF-8 and percent-encoding in paths and
//! queries, overlong names, out-of-range numbers, bad ranges and
//! conditions, wrong methods, garbage credentials, path traversal, ids that
//! are not UUIDs and another owner's ids.
//!
//! Each case states the status, the error code and a piece of the message
//! that says what was wrong. Requests go over a raw TCP connection so that
//! every byte is the test's (no client normalises a path or refuses a
//! header), and an answer that never comes (a dropped connection) fails the
//! case. Afterwards the log must hold no panic and no secret: API keys,
//! secret access keys and the signatures sent.

mod common;

use miniaws_testkit::{Backend, TestServer};
use sha2::Digest;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Records a failed check of a case (all cases run, then all failures
/// are reported at once).
macro_rules! check {
    ($failures:ident, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            $failures.push(format!($($msg)+));
        }
    };
}

// ---------------------------------------------------------------- raw HTTP

/// An answer: status, headers (names lowercased), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request exactly as given (`connection: close`, a
/// `content-length` unless the headers set one) and reads the whole answer.
/// The body is written while the answer is read, so a server that answers
/// early (413) is heard. Panics, naming `desc`, when no answer comes.
async fn send(
    desc: &str,
    addr: SocketAddr,
    method: &str,
    target: &[u8],
    headers: &[(String, Vec<u8>)],
    body: &[u8],
) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{desc}: connect: {e}"));
    let (mut read, mut write) = stream.into_split();
    let mut head = Vec::new();
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(target);
    head.extend_from_slice(
        format!(" HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n").as_bytes(),
    );
    for (name, value) in headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        && (!body.is_empty() || matches!(method, "PUT" | "POST"))
    {
        head.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let body = body.to_vec();
    let writer = tokio::spawn(async move {
        // The server may answer and close before it reads everything.
        if write.write_all(&head).await.is_ok() {
            let _ = write.write_all(&body).await;
        }
        write
    });
    let mut raw = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let read_all = async {
        loop {
            match read.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
                // A reset after the answer (the unread rest of a refused
                // body) still leaves the answer in `raw`.
                Err(_) => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read_all)
        .await
        .unwrap_or_else(|_| panic!("{desc}: no answer within 20 s"));
    drop(writer.await);
    parse_answer(desc, method, &raw)
}

fn parse_answer(desc: &str, method: &str, raw: &[u8]) -> Answer {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "{desc}: the connection closed without an answer (got {:?})",
                String::from_utf8_lossy(raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{desc}: bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if method == "HEAD" {
        body.clear();
    } else if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}

// ------------------------------------------------------------ native cases

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Nobody,
    Alice,
    Bob,
}

/// One request to the native API and what it must get.
struct Native {
    desc: String,
    method: &'static str,
    target: Vec<u8>,
    who: Who,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    status: u16,
    /// The envelope's `type` (None for a success).
    kind: Option<&'static str>,
    /// A piece of the message (or of a success's body).
    says: String,
    /// A header the answer must carry, and a piece of its value.
    header: Option<(&'static str, &'static str)>,
}

fn native(desc: impl Into<String>, method: &'static str, target: impl AsRef<[u8]>) -> Native {
    Native {
        desc: desc.into(),
        method,
        target: target.as_ref().to_vec(),
        who: Who::Alice,
        headers: Vec::new(),
        body: Vec::new(),
        status: 0,
        kind: None,
        says: String::new(),
        header: None,
    }
}

impl Native {
    fn by(mut self, who: Who) -> Self {
        self.who = who;
        self
    }

    fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self
    }

    fn json(self, body: impl AsRef<[u8]>) -> Self {
        self.header("content-type", "application/json").body(body)
    }

    fn fails(mut self, status: u16, kind: &'static str, says: impl Into<String>) -> Self {
        self.status = status;
        self.kind = Some(kind);
        self.says = says.into();
        self
    }

    fn works(mut self, status: u16, says: impl Into<String>) -> Self {
        self.status = status;
        self.says = says.into();
        self
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.header = Some((name, value));
        self
    }
}

const ZERO_ID: &str = "00000000-0000-0000-0000-000000000000";

fn native_cases(alice_key_id: &str) -> Vec<Native> {
    let long = |n: usize| "a".repeat(n);
    let launch = |fields: &str| {
        format!(r#"{{"name":"web","image":"miniaws-test/busybox:latest",{fields}}}"#)
    };
    let mut cases =
        vec![
        // --- identity: bodies
        native("truncated JSON", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":"#)
            .fails(400, "INVALID_INPUT", "malformed JSON"),
        native("empty JSON body", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json("")
            .fails(400, "INVALID_INPUT", "EOF while parsing"),
        native("trailing garbage", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":"x1"} trailing"#)
            .fails(400, "INVALID_INPUT", "trailing characters"),
        native("wrong-typed field", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":5}"#)
            .fails(
                400,
                "INVALID_INPUT",
                "name: invalid type: integer `5`, expected a string",
            ),
        native("duplicated field", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":"a1","name":"b1"}"#)
            .fails(400, "INVALID_INPUT", "duplicate field `name`"),
        native("unknown field", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":"x1","admin":true}"#)
            .fails(400, "INVALID_INPUT", "unknown field `admin`"),
        native("missing field", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json("{}")
            .fails(400, "INVALID_INPUT", "missing field `name`"),
        native("null body", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json("null")
            .fails(400, "INVALID_INPUT", "expected struct CreateKeyRequest"),
        // serde reads a struct from an array of its fields: refused.
        native("a positional array for an object", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"  ["mallory"]"#)
            .fails(400, "INVALID_INPUT", "must be a JSON object"),
        native("an empty array for an object", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json("[]")
            .fails(400, "INVALID_INPUT", "must be a JSON object"),
        // ...and so no user was made: the name is still free.
        native("the array made no user", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":"mallory"}"#)
            .works(201, r#""name":"mallory""#),
        native("invalid UTF-8 in JSON", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(b"{\"name\":\"\xff\xfe\"}")
            .fails(400, "INVALID_INPUT", "malformed JSON"),
        native("deeply nested JSON", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(format!(r#"{{"name":{}"#, "[".repeat(500)))
            .fails(
                400,
                "INVALID_INPUT",
                "name: invalid type: sequence, expected a string",
            ),
        native("JSON over the body limit", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(format!(r#"{{"name":"{}"}}"#, long(2 * 1024 * 1024)))
            .fails(413, "TOO_LARGE", "larger than 1048576 bytes"),
        native("text/plain body", "POST", "/auth/keys")
            .by(Who::Nobody)
            .header("content-type", "text/plain")
            .body(r#"{"name":"x1"}"#)
            .fails(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type: application/json",
            ),
        native("no content type", "POST", "/auth/keys")
            .by(Who::Nobody)
            .body(r#"{"name":"x1"}"#)
            .fails(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type: application/json",
            ),
        native("a +json content type is JSON", "POST", "/auth/keys")
            .by(Who::Nobody)
            .header(
                "content-type",
                "application/vnd.miniaws+json; charset=utf-8",
            )
            .body(r#"{"name":"plusjson"}"#)
            .works(201, r#""name":"plusjson""#),
        native("empty user name", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":""}"#)
            .fails(400, "INVALID_INPUT", "1 to 63 characters long (got 0)"),
        native("overlong user name", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(format!(r#"{{"name":"{}"}}"#, long(5000)))
            .fails(400, "INVALID_INPUT", "1 to 63 characters long (got 5000)"),
        native("path traversal as a user name", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(r#"{"name":"../../etc"}"#)
            .fails(400, "INVALID_INPUT", "may contain only letters, digits"),
        native("an API key pasted as a user name", "POST", "/auth/keys")
            .by(Who::Nobody)
            .json(format!(r#"{{"name":"mk_{}"}}"#, "a1B2c3D4e5".repeat(4)))
            .fails(400, "INVALID_INPUT", "user name looks like an API key (mk_…)"),
        native("an API key pasted as a key label", "POST", "/auth/keys")
            .json(format!(r#"{{"name":"mk_{}"}}"#, "Z9y8X7w6V5".repeat(4)))
            .fails(400, "INVALID_INPUT", "key name looks like an API key"),
        native("NUL in a key label", "POST", "/auth/keys")
            .json(r#"{"name":"lab\u0000el"}"#)
            .fails(400, "INVALID_INPUT", "key name may contain only"),
        // --- identity: credentials
        native("garbage X-API-Key", "GET", "/auth/keys")
            .by(Who::Nobody)
            .header("x-api-key", "garbage")
            .fails(401, "UNAUTHORIZED", "invalid or revoked API key"),
        native("X-API-Key not text", "GET", "/auth/keys")
            .by(Who::Nobody)
            .header("x-api-key", b"\xff\xfe")
            .fails(401, "UNAUTHORIZED", "X-API-Key header is not valid text"),
        native("overlong X-API-Key", "GET", "/auth/keys")
            .by(Who::Nobody)
            .header("x-api-key", long(9000))
            .fails(401, "UNAUTHORIZED", "invalid or revoked API key"),
        native("Basic authorization", "GET", "/auth/keys")
            .by(Who::Nobody)
            .header("authorization", "Basic Zm9vOmJhcg==")
            .fails(401, "UNAUTHORIZED", "unsupported Authorization scheme"),
        native("a SigV4 header on the native API", "GET", "/auth/whoami")
            .by(Who::Nobody)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIA/x, SignedHeaders=host, Signature=00",
            )
            .fails(401, "UNAUTHORIZED", "unsupported Authorization scheme"),
        native("Bearer without a key", "GET", "/auth/whoami")
            .by(Who::Nobody)
            .header("authorization", "Bearer")
            .fails(401, "UNAUTHORIZED", "`Authorization: Bearer` carries no key"),
        native("Bearer with blanks for a key", "GET", "/auth/whoami")
            .by(Who::Nobody)
            .header("authorization", "bearer    ")
            .fails(401, "UNAUTHORIZED", "`Authorization: Bearer` carries no key"),
        native("empty X-API-Key", "GET", "/auth/whoami")
            .by(Who::Nobody)
            .header("x-api-key", "")
            .fails(401, "UNAUTHORIZED", "the X-API-Key header is empty"),
        native("no key", "GET", "/auth/whoami")
            .by(Who::Nobody)
            .fails(401, "UNAUTHORIZED", "missing API key"),
        native("X-API-Key twice", "GET", "/auth/whoami")
            .header("x-api-key", "mk_anotherkeyanotherkeyanother")
            .fails(400, "INVALID_INPUT", "X-API-Key header more than once"),
        native("X-API-Key and another Bearer key", "GET", "/auth/whoami")
            .header("authorization", "Bearer mk_anotherkeyanotherkeyanother")
            .fails(400, "INVALID_INPUT", "two different keys"),
        // --- identity: paths and queries
        native("/auth/keys: zero limit", "GET", "/auth/keys?limit=0").fails(
            400,
            "INVALID_INPUT",
            "limit must be from 1 to 1000 (got 0)",
        ),
        native("/auth/keys: limit too high", "GET", "/auth/keys?limit=1001").fails(
            400,
            "INVALID_INPUT",
            "limit must be from 1 to 1000 (got 1001)",
        ),
        native("/auth/keys: negative limit", "GET", "/auth/keys?limit=-1").fails(
            400,
            "INVALID_INPUT",
            "limit: invalid digit",
        ),
        native("/auth/keys: limit not a number", "GET", "/auth/keys?limit=abc").fails(
            400,
            "INVALID_INPUT",
            "invalid query string: limit: invalid digit found in string",
        ),
        native("/auth/keys: unknown query parameter", "GET", "/auth/keys?cursor=x").fails(
            400,
            "INVALID_INPUT",
            "unknown field `cursor`, expected `limit` or `next_token`",
        ),
        native("/auth/keys: duplicated limit", "GET", "/auth/keys?limit=1&limit=2").fails(
            400,
            "INVALID_INPUT",
            "duplicate field `limit`",
        ),
        native("/auth/keys: garbage next_token", "GET", "/auth/keys?next_token=garbage").fails(
            400,
            "INVALID_INPUT",
            "next_token `garbage` is not valid: pass the next_token of a previous page of GET /auth/keys",
        ),
        native("/auth/keys: NUL next_token", "GET", "/auth/keys?next_token=%00").fails(
            400,
            "INVALID_INPUT",
            "is not valid: pass the next_token",
        ),
        native("/auth/keys: bad hex in next_token", "GET", "/auth/keys?next_token=k1.zz").fails(
            400,
            "INVALID_INPUT",
            "next_token `k1.zz` is not valid",
        ),
        native("/auth/keys: the other list's next_token", "GET", "/auth/keys?next_token=b1.616263").fails(
            400,
            "INVALID_INPUT",
            "next_token `b1.616263` is not valid",
        ),
        native("/auth/keys: forged next_token (not a key's place)", "GET", "/auth/keys?next_token=k1.312f6e6f742d612d75756964").fails(
            400,
            "INVALID_INPUT",
            "next_token `k1.312f6e6f742d612d75756964` is not valid",
        ),
        native("/auth/keys: a full page", "GET", "/auth/keys?limit=1000").works(200, r#""next_token":null"#),
        native("key id not a UUID", "DELETE", "/auth/keys/not-a-uuid").fails(
            400,
            "INVALID_INPUT",
            "`not-a-uuid` is not a valid id (expected a UUID)",
        ),
        native("key id not UTF-8", "DELETE", "/auth/keys/%FF").fails(
            400,
            "INVALID_INPUT",
            "path parameter `id` is not valid UTF-8",
        ),
        native(
            "key id with traversal",
            "DELETE",
            "/auth/keys/..%2F..%2Fetc",
        )
        .fails(400, "INVALID_INPUT", "`../../etc` is not a valid id"),
        native(
            "force not a boolean",
            "DELETE",
            format!("/auth/keys/{ZERO_ID}?force=maybe"),
        )
        .fails(
            400,
            "INVALID_INPUT",
            "invalid query string: force: provided string was not `true` or `false`",
        ),
        // A misspelt flag would otherwise be ignored, and the revocation
        // run without it.
        native("misspelt revoke parameter", "DELETE", format!("/auth/keys/{ZERO_ID}?forse=true"))
            .fails(400, "INVALID_INPUT", "unknown field `forse`, expected `force`"),
        native("unknown key id", "DELETE", format!("/auth/keys/{ZERO_ID}")).fails(
            404,
            "NOT_FOUND",
            "API key not found",
        ),
        native(
            "another owner's key",
            "DELETE",
            format!("/auth/keys/{alice_key_id}"),
        )
        .by(Who::Bob)
        .fails(404, "NOT_FOUND", "API key not found"),
        native("a body on a GET is ignored", "GET", "/auth/whoami")
            .body("ignored")
            .works(200, r#""name":"alice""#),
        native("wrong method", "PUT", "/auth/keys")
            .fails(
                405,
                "METHOD_NOT_ALLOWED",
                "PUT is not supported on /auth/keys",
            )
            .with_header("allow", "GET"),
        native(
            "wrong method on a key",
            "GET",
            format!("/auth/keys/{ZERO_ID}"),
        )
        .fails(405, "METHOD_NOT_ALLOWED", "GET is not supported")
        .with_header("allow", "DELETE"),
        native("made-up method", "BREW", "/health").fails(
            405,
            "METHOD_NOT_ALLOWED",
            "BREW is not supported on /health",
        ),
        native("unknown route", "GET", "/nope").fails(404, "NOT_FOUND", "no such endpoint: /nope"),
        native("unknown route, not UTF-8", "GET", "/%FF%FE").fails(
            404,
            "NOT_FOUND",
            "no such endpoint",
        ),
        native("POST /health", "POST", "/health").fails(
            405,
            "METHOD_NOT_ALLOWED",
            "POST is not supported on /health",
        ),
        native("POST /instance-types", "POST", "/instance-types").fails(
            405,
            "METHOD_NOT_ALLOWED",
            "POST is not supported",
        ),
        // --- compute: launch bodies (all refused before Docker is asked)
        native("launch without an image", "POST", "/instances")
            .json(r#"{"name":"web"}"#)
            .fails(400, "INVALID_INPUT", "missing field `image`"),
        native("launch, image a number", "POST", "/instances")
            .json(r#"{"name":"web","image":5}"#)
            .fails(400, "INVALID_INPUT", "image: invalid type: integer `5`"),
        native("launch, positional array", "POST", "/instances")
            // (An image that is not there: were the array taken, Docker
            // would refuse it and no container would be left behind.)
            .json(r#"["web","miniaws-test/not-there:never"]"#)
            .fails(400, "INVALID_INPUT", "must be a JSON object"),
        native("launch, unknown field", "POST", "/instances")
            .json(launch(r#""privileged":true"#))
            .fails(400, "INVALID_INPUT", "unknown field `privileged`"),
        native("launch, port out of range", "POST", "/instances")
            .json(launch(r#""ports":["99999"]"#))
            .fails(
                400,
                "INVALID_INPUT",
                "container port `99999` must be a number from 1 to 65535",
            ),
        native("launch, negative port", "POST", "/instances")
            .json(launch(r#""ports":[-1]"#))
            .fails(
                400,
                "INVALID_INPUT",
                "ports[0]: invalid type: integer `-1`, expected a port spec such as \"8080:80\"",
            ),
        native("launch, port past u16", "POST", "/instances")
            .json(launch(r#""ports":70000"#))
            .fails(
                400,
                "INVALID_INPUT",
                "ports: invalid value: integer `70000`, expected a port spec",
            ),
        native("launch, port past i64", "POST", "/instances")
            .json(launch(r#""ports":[99999999999999999999999]"#))
            .fails(400, "INVALID_INPUT", "invalid type: floating point"),
        native("launch, fractional port", "POST", "/instances")
            .json(launch(r#""ports":[1.5]"#))
            .fails(
                400,
                "INVALID_INPUT",
                "invalid type: floating point `1.5`, expected a port spec",
            ),
        native("launch, port spec not a number", "POST", "/instances")
            .json(launch(r#""ports":"abc:def""#))
            .fails(
                400,
                "INVALID_INPUT",
                "host port `abc` must be a number from 1 to 65535",
            ),
        native("launch, unknown protocol", "POST", "/instances")
            .json(launch(r#""ports":"80/sctp""#))
            .fails(400, "INVALID_INPUT", "protocol `sctp` must be tcp or udp"),
        native("launch, env value a number", "POST", "/instances")
            .json(launch(r#""env":{"A":5}"#))
            .fails(400, "INVALID_INPUT", "env.A: invalid type: integer `5`"),
        native("launch, env key given twice", "POST", "/instances")
            .json(launch(r#""env":{"A":"1","A":"2"}"#))
            .fails(400, "INVALID_INPUT", "duplicate key `A`"),
        native("launch, tag key given twice", "POST", "/instances")
            .json(launch(r#""tags":{"t":"1","t":"2"}"#))
            .fails(400, "INVALID_INPUT", "duplicate key `t`"),
        native("launch, env name with =", "POST", "/instances")
            .json(launch(r#""env":{"A=B":"x"}"#))
            .fails(400, "INVALID_INPUT", "environment variable name \"A=B\""),
        native("launch, env value with NUL", "POST", "/instances")
            .json(launch(r#""env":{"A":"x\u0000y"}"#))
            .fails(
                400,
                "INVALID_INPUT",
                "environment variable A contains a NUL",
            ),
        native("launch, unknown instance type", "POST", "/instances")
            .json(launch(r#""instance_type":"t9.huge""#))
            .fails(400, "INVALID_INPUT", "unknown instance type `t9.huge`"),
        native("launch, command a number", "POST", "/instances")
            .json(launch(r#""command":5"#))
            .fails(
                400,
                "INVALID_INPUT",
                "command: invalid type: integer `5`, expected a command: one line",
            ),
        native("launch, unclosed quote", "POST", "/instances")
            .json(launch(r#""command":"sh -c \"unterminated""#))
            .fails(400, "INVALID_INPUT", "command has an unclosed \" quote"),
        native("launch, empty command", "POST", "/instances")
            .json(launch(r#""command":[]"#))
            .fails(400, "INVALID_INPUT", "command is empty"),
        native("launch, an argument over the size limit", "POST", "/instances")
            .json(launch(&format!(r#""command":["echo","{}"]"#, long(40_000))))
            .fails(
                400,
                "INVALID_INPUT",
                "command[1] is 40000 bytes; a command may hold at most 32768 bytes",
            ),
        native("launch, arguments over the size limit", "POST", "/instances")
            .json(launch(&format!(
                r#""command":"echo {} {}""#,
                long(20_000),
                long(20_000)
            )))
            .fails(
                400,
                "INVALID_INPUT",
                "the command's arguments up to command[2] are 40004 bytes",
            ),
        native("launch, an empty program", "POST", "/instances")
            .json(launch(r#""command":[""]"#))
            .fails(400, "INVALID_INPUT", "command is empty"),
        native("launch, an empty program in a line", "POST", "/instances")
            .json(launch(r#""command":"'' x""#))
            .fails(400, "INVALID_INPUT", "command is empty"),
        native("launch, ports only a comma", "POST", "/instances")
            .json(launch(r#""ports":",""#))
            .fails(
                400,
                "INVALID_INPUT",
                "ports: the list \",\" has an empty entry",
            ),
        native("launch, ports with a trailing comma", "POST", "/instances")
            .json(launch(r#""ports":"80,""#))
            .fails(400, "INVALID_INPUT", "ports: the list \"80,\" has an empty entry"),
        native("launch, a blank port spec", "POST", "/instances")
            .json(launch(r#""ports":["80"," "]"#))
            .fails(400, "INVALID_INPUT", "ports[1]: an empty port spec"),
        native("launch, image with traversal", "POST", "/instances")
            .json(r#"{"name":"web","image":"../../etc/passwd"}"#)
            .fails(
                400,
                "INVALID_INPUT",
                "image `../../etc/passwd` is not a valid image reference",
            ),
        // Docker answered the first two with a redirect (it cleans the
        // path of its image inspect), which was a 500; all break its
        // reference grammar and are refused before Docker is asked.
        native("launch, image with //", "POST", "/instances")
            .json(r#"{"name":"web","image":"a//b"}"#)
            .fails(
                400,
                "INVALID_INPUT",
                "image `a//b` is not a valid image reference: it has an empty path component",
            ),
        native("launch, image ending in /", "POST", "/instances")
            .json(r#"{"name":"web","image":"a/b/"}"#)
            .fails(
                400,
                "INVALID_INPUT",
                "image `a/b/` is not a valid image reference: it has an empty path component",
            ),
        native("launch, image with a . component", "POST", "/instances")
            .json(r#"{"name":"web","image":"a/./b"}"#)
            .fails(
                400,
                "INVALID_INPUT",
                "image `a/./b` is not a valid image reference: each repository path component",
            ),
        native("launch, image not lowercase", "POST", "/instances")
            .json(r#"{"name":"web","image":"Busybox"}"#)
            .fails(400, "INVALID_INPUT", "must be lowercase"),
        native("launch, empty image", "POST", "/instances")
            .json(r#"{"name":"web","image":""}"#)
            .fails(400, "INVALID_INPUT", "image must be 1 to 255 characters"),
        native("launch, overlong name", "POST", "/instances")
            .json(format!(
                r#"{{"name":"{}","image":"miniaws-test/busybox:latest"}}"#,
                long(300)
            ))
            .fails(400, "INVALID_INPUT", "instance name must be"),
        native("launch, name with traversal", "POST", "/instances")
            .json(r#"{"name":"../x","image":"miniaws-test/busybox:latest"}"#)
            .fails(400, "INVALID_INPUT", "instance name may contain only"),
        native("launch without a key", "POST", "/instances")
            .by(Who::Nobody)
            .json(launch(r#""ports":[]"#))
            .fails(401, "UNAUTHORIZED", "missing API key"),
        // --- compute: queries
        native("negative limit", "GET", "/instances?limit=-1").fails(
            400,
            "INVALID_INPUT",
            "limit: invalid digit",
        ),
        native("zero limit", "GET", "/instances?limit=0").fails(
            400,
            "INVALID_INPUT",
            "limit must be from 1 to 1000 (got 0)",
        ),
        native(
            "limit past u32",
            "GET",
            "/instances?limit=99999999999999999999",
        )
        .fails(400, "INVALID_INPUT", "limit: number too large"),
        native("fractional limit", "GET", "/instances?limit=1.5").fails(
            400,
            "INVALID_INPUT",
            "invalid query string: limit: invalid digit",
        ),
        native("limit too high", "GET", "/instances?limit=5000").fails(
            400,
            "INVALID_INPUT",
            "limit must be from 1 to 1000 (got 5000)",
        ),
        native("garbage next_token", "GET", "/instances?next_token=garbage").fails(
            400,
            "INVALID_INPUT",
            "next_token `garbage` is not valid: pass the next_token of a previous page of GET /instances",
        ),
        // The plain instance id the tokens used to be.
        native(
            "an instance id as next_token",
            "GET",
            "/instances?next_token=00000000-0000-0000-0000-000000000000",
        )
        .fails(400, "INVALID_INPUT", "is not valid: pass the next_token"),
        native(
            "the key list's next_token",
            "GET",
            "/instances?next_token=k1.312f30303030303030302d303030302d303030302d303030302d303030303030303030303030",
        )
        .fails(400, "INVALID_INPUT", "is not valid: pass the next_token"),
        native("all not a boolean", "GET", "/instances?all=yes").fails(
            400,
            "INVALID_INPUT",
            "all: provided string was not `true` or `false`",
        ),
        native("unknown query parameter", "GET", "/instances?bogus=1").fails(
            400,
            "INVALID_INPUT",
            "unknown field `bogus`",
        ),
        native(
            "duplicated query parameter",
            "GET",
            "/instances?limit=1&limit=2",
        )
        .fails(400, "INVALID_INPUT", "duplicate field `limit`"),
        native("garbage next_token", "GET", "/instances?next_token=abc").fails(
            400,
            "INVALID_INPUT",
            "next_token `abc` is not valid",
        ),
        native(
            "bad percent-encoding in a query",
            "GET",
            "/instances?next_token=%FF%",
        )
        .fails(400, "INVALID_INPUT", "next_token"),
        // --- compute: ids
        native("instance id not a UUID", "GET", "/instances/not-a-uuid").fails(
            400,
            "INVALID_INPUT",
            "`not-a-uuid` is not a valid id (expected a UUID)",
        ),
        native("instance id not UTF-8", "GET", "/instances/%FF").fails(
            400,
            "INVALID_INPUT",
            "path parameter `id` is not valid UTF-8",
        ),
        native(
            "instance id not UTF-8, stop",
            "POST",
            "/instances/%C0%AF/stop",
        )
        .fails(
            400,
            "INVALID_INPUT",
            "path parameter `id` is not valid UTF-8",
        ),
        native("instance id not UTF-8, logs", "GET", "/instances/%FF/logs").fails(
            400,
            "INVALID_INPUT",
            "path parameter `id` is not valid UTF-8",
        ),
        native(
            "instance id with traversal",
            "GET",
            "/instances/..%2F..%2Fetc%2Fpasswd",
        )
        .fails(400, "INVALID_INPUT", "`../../etc/passwd` is not a valid id"),
        native("unknown instance", "GET", format!("/instances/{ZERO_ID}")).fails(
            404,
            "NOT_FOUND",
            "instance not found",
        ),
        native(
            "unknown instance, terminate",
            "DELETE",
            format!("/instances/{ZERO_ID}"),
        )
        .fails(404, "NOT_FOUND", "instance not found"),
        // Terminate takes no options either, checked before the lookup.
        native(
            "terminate with an option",
            "DELETE",
            format!("/instances/{ZERO_ID}"),
        )
        .json(r#"{"force":true}"#)
        .fails(400, "INVALID_INPUT", "terminate takes no options: send no body (or {}); unknown field `force`"),
        native(
            "terminate with a junk body",
            "DELETE",
            format!("/instances/{ZERO_ID}"),
        )
        .body("junk")
        .fails(400, "INVALID_INPUT", "terminate takes no options: send no body (or {}); the body is not a JSON object"),
        native(
            "unknown instance, terminate with {}",
            "DELETE",
            format!("/instances/{ZERO_ID}"),
        )
        .json("{}")
        .fails(404, "NOT_FOUND", "instance not found"),
        // The lifecycle actions take no options: a body is refused before
        // the instance is looked up, unless it is blank or `{}`.
        native(
            "stop with a junk body",
            "POST",
            format!("/instances/{ZERO_ID}/stop"),
        )
        .body("junk")
        .fails(
            400,
            "INVALID_INPUT",
            "stop takes no options: send no body (or {}); the body is not a JSON object",
        ),
        native(
            "stop with an option",
            "POST",
            format!("/instances/{ZERO_ID}/stop"),
        )
        .json(r#"{"force":true}"#)
        .fails(400, "INVALID_INPUT", "stop takes no options: send no body (or {}); unknown field `force`"),
        native(
            "stop with an option, form-typed (curl -d)",
            "POST",
            format!("/instances/{ZERO_ID}/stop"),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"force":true}"#)
        .fails(400, "INVALID_INPUT", "unknown field `force`"),
        native(
            "start with an option",
            "POST",
            format!("/instances/{ZERO_ID}/start"),
        )
        .json(r#"{"wait":false}"#)
        .fails(400, "INVALID_INPUT", "start takes no options: send no body (or {}); unknown field `wait`"),
        native(
            "reboot with an array",
            "POST",
            format!("/instances/{ZERO_ID}/reboot"),
        )
        .json("[]")
        .fails(400, "INVALID_INPUT", "reboot takes no options"),
        native(
            "unknown instance, stop with {}",
            "POST",
            format!("/instances/{ZERO_ID}/stop"),
        )
        .json("{}")
        .fails(404, "NOT_FOUND", "instance not found"),
        native(
            "unknown instance, reboot without a body",
            "POST",
            format!("/instances/{ZERO_ID}/reboot"),
        )
        .fails(404, "NOT_FOUND", "instance not found"),
        native(
            "unknown instance, stats",
            "GET",
            format!("/instances/{ZERO_ID}/stats"),
        )
        .fails(404, "NOT_FOUND", "instance not found"),
        native(
            "negative tail",
            "GET",
            format!("/instances/{ZERO_ID}/logs?tail=-5"),
        )
        .fails(
            400,
            "INVALID_INPUT",
            "tail must be a number of lines or `all` (got `-5`)",
        ),
        native(
            "since past i64",
            "GET",
            format!("/instances/{ZERO_ID}/logs?since=99999999999999999999"),
        )
        .fails(
            400,
            "INVALID_INPUT",
            "since must be Unix seconds or an RFC 3339 time",
        ),
        native(
            "since out of range",
            "GET",
            format!("/instances/{ZERO_ID}/logs?since=-99999999999999"),
        )
        .fails(
            400,
            "INVALID_INPUT",
            "since `-99999999999999` is out of range",
        ),
        native(
            "follow not a boolean",
            "GET",
            format!("/instances/{ZERO_ID}/logs?follow=2"),
        )
        .fails(
            400,
            "INVALID_INPUT",
            "follow: provided string was not `true` or `false`",
        ),
        native("stop with GET", "GET", format!("/instances/{ZERO_ID}/stop"))
            .fails(405, "METHOD_NOT_ALLOWED", "GET is not supported")
            .with_header("allow", "POST"),
        // --- storage: names
        native("bucket name with capitals", "PUT", "/storage/Bad_Bucket").fails(
            400,
            "INVALID_INPUT",
            "invalid bucket name \"Bad_Bucket\"",
        ),
        native("bucket name too short", "PUT", "/storage/ab").fails(
            400,
            "INVALID_INPUT",
            "bucket names must be 3 to 63 characters long",
        ),
        native(
            "bucket name too long",
            "PUT",
            format!("/storage/{}", long(300)),
        )
        .fails(
            400,
            "INVALID_INPUT",
            "bucket names must be 3 to 63 characters long",
        ),
        native("bucket name an IP address", "PUT", "/storage/192.168.1.1").fails(
            400,
            "INVALID_INPUT",
            "formatted as an IP address",
        ),
        native("bucket name not UTF-8", "PUT", "/storage/%FF").fails(
            400,
            "INVALID_INPUT",
            "path parameter `bucket` is not valid UTF-8",
        ),
        native("bucket name not UTF-8, list", "GET", "/storage/%FF").fails(
            400,
            "INVALID_INPUT",
            "path parameter `bucket` is not valid UTF-8",
        ),
        native("bucket name not UTF-8, delete", "DELETE", "/storage/%FF").fails(
            400,
            "INVALID_INPUT",
            "path parameter `bucket` is not valid UTF-8",
        ),
        native("bucket name with an encoded slash", "PUT", "/storage/a%2Fb").fails(
            400,
            "INVALID_INPUT",
            "invalid bucket name \"a/b\"",
        ),
        native("bucket name not UTF-8, object", "DELETE", "/storage/%FF/x").fails(
            400,
            "INVALID_INPUT",
            "the bucket name is not valid UTF-8",
        ),
        native("the test bucket", "PUT", "/storage/bad-input").works(201, r#""name":"bad-input""#),
        native("an object", "PUT", "/storage/bad-input/obj")
            .body("hello")
            .works(200, r#""size_bytes":5"#),
        native("key not UTF-8", "PUT", "/storage/bad-input/%FF")
            .body("x")
            .fails(400, "INVALID_INPUT", "the object key is not valid UTF-8"),
        native(
            "key too long",
            "PUT",
            format!("/storage/bad-input/{}", long(1100)),
        )
        .body("x")
        .fails(
            400,
            "INVALID_INPUT",
            "the object key is 1100 bytes long; keys may be at most 1024",
        ),
        // Traversal in a key is a key: bytes live at paths from ids.
        native(
            "key with encoded traversal",
            "PUT",
            "/storage/bad-input/..%2F..%2F..%2Fescape",
        )
        .body("inside")
        .works(200, r#""key":"../../../escape""#),
        native(
            "key with literal traversal",
            "PUT",
            "/storage/bad-input/a/../../../escape2",
        )
        .body("inside")
        .works(200, r#""key":"a/../../../escape2""#),
        native("key with a NUL", "PUT", "/storage/bad-input/nul%00key")
            .body("x")
            .works(200, r#""key":"nul\u0000key""#),
        native(
            "read back the NUL key",
            "GET",
            "/storage/bad-input/nul%00key",
        )
        .works(200, "x"),
        native("empty key", "PUT", "/storage/bad-input/")
            .body("x")
            .fails(400, "INVALID_INPUT", "the object key is empty"),
        native("empty key, GET", "GET", "/storage/bad-input/")
            .fails(400, "INVALID_INPUT", "GET /storage/{bucket} lists a bucket"),
        native("empty key, DELETE", "DELETE", "/storage/bad-input/")
            .fails(400, "INVALID_INPUT", "the object key is empty"),
        // --- storage: headers
        native("Content-MD5 not base64", "PUT", "/storage/bad-input/m")
            .header("content-md5", "garbage")
            .body("x")
            .fails(
                400,
                "INVALID_INPUT",
                "Content-MD5 must be the base64 of a 16-byte MD5 digest",
            ),
        native("Content-MD5 wrong", "PUT", "/storage/bad-input/m")
            .header("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")
            .body("x")
            .fails(400, "BAD_DIGEST", "did not match"),
        native("metadata too large", "PUT", "/storage/bad-input/m")
            .header("x-amz-meta-big", long(3000))
            .body("x")
            .fails(400, "INVALID_INPUT", "at most 2048 bytes"),
        native("metadata not ASCII", "PUT", "/storage/bad-input/m")
            .header("x-amz-meta-u", b"caf\xe9")
            .body("x")
            .fails(
                400,
                "INVALID_INPUT",
                "header x-amz-meta-u must be printable ASCII",
            ),
        native("Content-Type not ASCII", "PUT", "/storage/bad-input/m")
            .header("content-type", b"text/\xe9")
            .body("x")
            .fails(400, "INVALID_INPUT", "Content-Type must be printable ASCII"),
        native("If-Match garbage on PUT", "PUT", "/storage/bad-input/m")
            .header("if-match", "garbage")
            .body("x")
            .fails(
                400,
                "INVALID_INPUT",
                "If-Match on a PUT takes `*` or one quoted ETag",
            ),
        native("If-None-Match not * on PUT", "PUT", "/storage/bad-input/m")
            .header("if-none-match", "\"abc\"")
            .body("x")
            .fails(
                400,
                "INVALID_INPUT",
                "If-None-Match on a PUT accepts only `*`",
            ),
        native("both conditions on PUT", "PUT", "/storage/bad-input/m")
            .header("if-match", "*")
            .header("if-none-match", "*")
            .body("x")
            .fails(400, "INVALID_INPUT", "not both"),
        // An unparseable range or date is ignored (RFC 9110): the whole object.
        native("garbage Range", "GET", "/storage/bad-input/obj")
            .header("range", "garbage")
            .works(200, "hello"),
        native("reversed Range", "GET", "/storage/bad-input/obj")
            .header("range", "bytes=10-5")
            .works(200, "hello"),
        native("Range past u64", "GET", "/storage/bad-input/obj")
            .header("range", "bytes=0-99999999999999999999999")
            .works(200, "hello"),
        native("unsatisfiable Range", "GET", "/storage/bad-input/obj")
            .header("range", "bytes=100-")
            .fails(416, "RANGE_NOT_SATISFIABLE", "the object has 5 bytes"),
        native("garbage If-Modified-Since", "GET", "/storage/bad-input/obj")
            .header("if-modified-since", "garbage")
            .works(200, "hello"),
        native("If-Match that fails", "GET", "/storage/bad-input/obj")
            .header("if-match", "\"nope\"")
            .fails(412, "PRECONDITION_FAILED", "If-Match"),
        native("missing object", "GET", "/storage/bad-input/missing").fails(
            404,
            "OBJECT_NOT_FOUND",
            "object not found: missing",
        ),
        native("missing bucket", "GET", "/storage/no-such-bucket/x").fails(
            404,
            "BUCKET_NOT_FOUND",
            "bucket not found: no-such-bucket",
        ),
        // --- storage: queries
        native("/storage: zero limit", "GET", "/storage?limit=0").fails(
            400,
            "INVALID_INPUT",
            "limit must be from 1 to 1000 (got 0)",
        ),
        native("/storage: limit too high", "GET", "/storage?limit=1001").fails(
            400,
            "INVALID_INPUT",
            "limit must be from 1 to 1000 (got 1001)",
        ),
        native("/storage: negative limit", "GET", "/storage?limit=-1").fails(
            400,
            "INVALID_INPUT",
            "limit: invalid digit",
        ),
        native("/storage: limit not a number", "GET", "/storage?limit=abc").fails(
            400,
            "INVALID_INPUT",
            "limit: invalid digit",
        ),
        native("/storage: unknown query parameter", "GET", "/storage?cursor=x").fails(
            400,
            "INVALID_INPUT",
            "unknown field `cursor`, expected `limit` or `next_token`",
        ),
        native("/storage: duplicated limit", "GET", "/storage?limit=1&limit=2").fails(
            400,
            "INVALID_INPUT",
            "duplicate field `limit`",
        ),
        native("/storage: garbage next_token", "GET", "/storage?next_token=garbage").fails(
            400,
            "INVALID_INPUT",
            "next_token `garbage` is not valid: pass the next_token of a previous page of GET /storage",
        ),
        native("/storage: NUL next_token", "GET", "/storage?next_token=%00").fails(
            400,
            "INVALID_INPUT",
            "is not valid: pass the next_token",
        ),
        native("/storage: bad hex in next_token", "GET", "/storage?next_token=b1.zz").fails(
            400,
            "INVALID_INPUT",
            "next_token `b1.zz` is not valid",
        ),
        native("/storage: the other list's next_token", "GET", "/storage?next_token=k1.616263").fails(
            400,
            "INVALID_INPUT",
            "next_token `k1.616263` is not valid",
        ),
        native("/storage: forged next_token (not a bucket name)", "GET", "/storage?next_token=b1.5550504552").fails(
            400,
            "INVALID_INPUT",
            "next_token `b1.5550504552` is not valid",
        ),
        native("/storage: a full page", "GET", "/storage?limit=1000").works(200, r#""next_token":null"#),
        native("negative list limit", "GET", "/storage/bad-input?limit=-1").fails(
            400,
            "INVALID_INPUT",
            "limit: invalid digit",
        ),
        native(
            "unknown list parameter",
            "GET",
            "/storage/bad-input?max_keys=5",
        )
        .fails(400, "INVALID_INPUT", "unknown field `max_keys`"),
        native("garbage cursor", "GET", "/storage/bad-input?cursor=garbage").fails(
            400,
            "INVALID_INPUT",
            "invalid cursor",
        ),
        native("NUL cursor", "GET", "/storage/bad-input?cursor=%00").fails(
            400,
            "INVALID_INPUT",
            "invalid cursor",
        ),
        native("NUL prefix", "GET", "/storage/bad-input?prefix=nul%00")
            .works(200, r#""key":"nul\u0000key""#),
        native("NUL delimiter", "GET", "/storage/bad-input?delimiter=%00")
            .works(200, r#""common_prefixes":["nul\u0000"]"#),
        // --- storage: methods and owners
        native("POST on a bucket", "POST", "/storage/bad-input")
            .fails(405, "METHOD_NOT_ALLOWED", "POST is not supported")
            .with_header("allow", "PUT"),
        native("PATCH on an object", "PATCH", "/storage/bad-input/obj").fails(
            405,
            "METHOD_NOT_ALLOWED",
            "PATCH is not supported",
        ),
        native("another owner's bucket", "GET", "/storage/bad-input")
            .by(Who::Bob)
            .fails(403, "FORBIDDEN", "belongs to another account"),
        native("another owner's object", "GET", "/storage/bad-input/obj")
            .by(Who::Bob)
            .fails(403, "FORBIDDEN", "belongs to another account"),
        native(
            "overwrite another owner's object",
            "PUT",
            "/storage/bad-input/obj",
        )
        .by(Who::Bob)
        .body("mine now")
        .fails(403, "FORBIDDEN", "belongs to another account"),
        native(
            "delete another owner's object",
            "DELETE",
            "/storage/bad-input/obj",
        )
        .by(Who::Bob)
        .fails(403, "FORBIDDEN", "belongs to another account"),
        native(
            "take another owner's bucket name",
            "PUT",
            "/storage/bad-input",
        )
        .by(Who::Bob)
        .fails(409, "CONFLICT", "taken by another account"),
        native(
            "delete a bucket that is not empty",
            "DELETE",
            "/storage/bad-input",
        )
        .fails(409, "CONFLICT", "is not empty"),
        native("the object is unchanged", "GET", "/storage/bad-input/obj").works(200, "hello"),
    ];
    // A request with an X-Request-Id far longer than any id.
    cases.push(
        native("overlong x-request-id", "GET", "/health")
            .header("x-request-id", long(5000))
            .works(200, r#""status":"UP""#),
    );
    cases
}

/// Runs the native cases; returns the failed checks.
async fn run_native(server: &TestServer, keys: &Keys, cases: Vec<Native>) -> Vec<String> {
    let mut failures: Vec<String> = Vec::new();
    for case in cases {
        let mut headers = case.headers.clone();
        match case.who {
            Who::Nobody => {}
            Who::Alice => headers.push(("x-api-key".into(), keys.alice.key.clone().into_bytes())),
            Who::Bob => headers.push(("x-api-key".into(), keys.bob.key.clone().into_bytes())),
        }
        let desc = format!("native: {}", case.desc);
        let answer = send(
            &desc,
            server.native,
            case.method,
            &case.target,
            &headers,
            &case.body,
        )
        .await;
        let text = answer.text();
        check!(
            failures,
            answer.status == case.status,
            "{desc}: status {} (want {}); body {text}",
            answer.status,
            case.status
        );
        if let Some(kind) = case.kind {
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                failures.push(format!("{desc}: the error is not JSON: {text}"));
                continue;
            };
            check!(
                failures,
                json["error"]["type"].as_str() == Some(kind),
                "{desc}: error type (want {kind}); body {text}"
            );
            let message = json["error"]["message"].as_str().unwrap_or_default();
            check!(
                failures,
                message.contains(&case.says),
                "{desc}: the message should say {:?}; it says {message:?}",
                case.says
            );
            check!(
                failures,
                answer.header("content-type") == Some("application/json"),
                "{desc}: content type"
            );
        } else {
            check!(
                failures,
                text.contains(&case.says),
                "{desc}: the body should contain {:?}: {text}",
                case.says
            );
        }
        if let Some((name, piece)) = case.header {
            let value = answer.header(name).unwrap_or_default();
            check!(
                failures,
                value.contains(piece),
                "{desc}: header {name} should contain {piece:?}, got {value:?}"
            );
        }
        keys.assert_no_secret(&desc, &text);
    }
    failures
}

// ---------------------------------------------------------------- S3 cases

/// How an S3 request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sig {
    /// SigV4 in the Authorization header, with alice's or bob's key.
    Alice,
    Bob,
    /// No credentials at all.
    Anonymous,
    /// Headers as given (the case supplies its own Authorization).
    AsGiven,
}

/// One request to the S3 listener and what it must get.
struct S3 {
    desc: String,
    method: &'static str,
    /// Path and query, as sent (and signed).
    target: String,
    sig: Sig,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    status: u16,
    /// The XML `<Code>` (None for a success).
    code: Option<&'static str>,
    /// A piece of the `<Message>` (or of a success's body).
    says: String,
    header: Option<(&'static str, &'static str)>,
    /// XML elements an error answer must hold, as `<name>value</name>`.
    elements: Vec<(&'static str, String)>,
}

fn s3(desc: impl Into<String>, method: &'static str, target: impl Into<String>) -> S3 {
    S3 {
        desc: desc.into(),
        method,
        target: target.into(),
        sig: Sig::Alice,
        headers: Vec::new(),
        body: Vec::new(),
        status: 0,
        code: None,
        says: String::new(),
        header: None,
        elements: Vec::new(),
    }
}

impl S3 {
    fn sig(mut self, sig: Sig) -> Self {
        self.sig = sig;
        self
    }

    fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self
    }

    fn fails(mut self, status: u16, code: &'static str, says: impl Into<String>) -> Self {
        self.status = status;
        self.code = Some(code);
        self.says = says.into();
        self
    }

    fn works(mut self, status: u16, says: impl Into<String>) -> Self {
        self.status = status;
        self.says = says.into();
        self
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.header = Some((name, value));
        self
    }

    fn with_element(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.elements.push((name, value.into()));
        self
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m =
        <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key).expect("any key length");
    hmac::Mac::update(&mut m, data);
    hmac::Mac::finalize(m).into_bytes().to_vec()
}

/// SigV4 headers for a request (UNSIGNED-PAYLOAD; host, x-amz-content-sha256
/// and x-amz-date signed). The target's path and query must already be in
/// canonical form (percent-encoded, upper-case hex).
fn sign(
    method: &str,
    target: &str,
    host: &str,
    access_key_id: &str,
    secret: &str,
) -> Vec<(String, Vec<u8>)> {
    sign_with(method, target, host, access_key_id, secret, &[])
}

/// [`sign`], also signing the `x-amz-*` headers among `extra` (a SigV4
/// request must sign every `x-amz-*` header it sends), their values as
/// bytes (some cases send values that are not UTF-8).
fn sign_with(
    method: &str,
    target: &str,
    host: &str,
    access_key_id: &str,
    secret: &str,
    extra: &[(String, Vec<u8>)],
) -> Vec<(String, Vec<u8>)> {
    let now = time::OffsetDateTime::now_utc();
    let (date, amz_date) = common::amz_dates(now);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.contains('=') {
                p.to_owned()
            } else {
                format!("{p}=")
            }
        })
        .collect();
    pairs.sort();
    let mut headers: Vec<(String, Vec<u8>)> = vec![
        ("host".into(), host.as_bytes().to_vec()),
        ("x-amz-content-sha256".into(), b"UNSIGNED-PAYLOAD".to_vec()),
        ("x-amz-date".into(), amz_date.clone().into_bytes()),
    ];
    for (name, value) in extra {
        let name = name.to_ascii_lowercase();
        if name.starts_with("x-amz-") && !headers.iter().any(|(n, _)| *n == name) {
            headers.push((name, value.trim_ascii().to_vec()));
        }
    }
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut canonical = format!("{method}\n{path}\n{}\n", pairs.join("&")).into_bytes();
    for (name, value) in &headers {
        canonical.extend_from_slice(name.as_bytes());
        canonical.push(b':');
        canonical.extend_from_slice(value);
        canonical.push(b'\n');
    }
    canonical.extend_from_slice(format!("\n{signed_headers}\nUNSIGNED-PAYLOAD").as_bytes());
    let scope = format!("{date}/us-east-1/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(sha2::Sha256::digest(&canonical))
    );
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, b"us-east-1");
    let k = hmac(&k, b"s3");
    let k = hmac(&k, b"aws4_request");
    let signature = hex::encode(hmac(&k, to_sign.as_bytes()));
    vec![
        (
            "authorization".into(),
            format!("AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}")
                .into_bytes(),
        ),
        ("x-amz-content-sha256".into(), b"UNSIGNED-PAYLOAD".to_vec()),
        ("x-amz-date".into(), amz_date.into_bytes()),
    ]
}

/// A SigV4 Authorization header that is well formed and current but whose
/// signature is `signature`.
fn forged(access_key_id: &str, signature: &str) -> Vec<(String, Vec<u8>)> {
    let now = time::OffsetDateTime::now_utc();
    let (date, amz_date) = common::amz_dates(now);
    vec![
        (
            "authorization".into(),
            format!("AWS4-HMAC-SHA256 Credential={access_key_id}/{date}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}")
                .into_bytes(),
        ),
        ("x-amz-content-sha256".into(), b"UNSIGNED-PAYLOAD".to_vec()),
        ("x-amz-date".into(), amz_date.into_bytes()),
    ]
}

fn md5_header(body: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(<md5::Md5 as md5::Digest>::digest(body))
}

const FORGED_SIGNATURE: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

fn s3_cases(keys: &Keys) -> Vec<S3> {
    let long = |n: usize| "a".repeat(n);
    let form = |parts: &[(&str, &str)]| {
        let mut body = String::new();
        for (name, value) in parts {
            if *name == "file" {
                body.push_str(&format!("--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n{value}\r\n"));
            } else {
                body.push_str(&format!(
                    "--zz\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                ));
            }
        }
        body.push_str("--zz--\r\n");
        body
    };
    let delete_doc = "<Delete><Object><Key>k</Key></Object></Delete>";
    vec![
        s3("the test bucket", "PUT", "/bad-s3").works(200, ""),
        s3("an object", "PUT", "/bad-s3/k").body("hello").works(200, ""),
        // --- names
        s3("bucket name with capitals", "PUT", "/Bad_Bucket")
            .fails(400, "InvalidBucketName", "bucket"),
        s3("bucket name too short", "PUT", "/ab").fails(400, "InvalidBucketName", "bucket"),
        s3("bucket name too long", "PUT", format!("/{}", long(300)))
            .fails(400, "InvalidBucketName", "bucket"),
        s3("bucket located in us-east-1 by name", "PUT", "/bad-s3-located")
            .body("<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>")
            .fails(400, "InvalidLocationConstraint", "The specified location-constraint is not valid.")
            .with_element("LocationConstraint", "us-east-1"),
        s3("no bucket was created", "GET", "/bad-s3-located")
            .fails(404, "NoSuchBucket", "The specified bucket does not exist."),
        // S3's wire wording, not its error-code table's.
        s3("bucket name not UTF-8", "PUT", "/%FF").fails(
            400,
            "InvalidURI",
            "Couldn't parse the specified URI.",
        ),
        s3("key not UTF-8", "PUT", "/bad-s3/%FF").body("x").fails(
            400,
            "InvalidURI",
            "Couldn't parse the specified URI.",
        ),
        s3("key too long", "PUT", format!("/bad-s3/{}", long(1100)))
            .body("x")
            .fails(400, "KeyTooLongError", "too long"),
        s3("key with traversal", "PUT", "/bad-s3/../../escape")
            .body("inside")
            .works(200, ""),
        s3("read it back", "GET", "/bad-s3/../../escape").works(200, "inside"),
        s3("missing object", "GET", "/bad-s3/missing")
            .fails(404, "NoSuchKey", "The specified key does not exist.")
            .with_element("Key", "missing"),
        // Beyond ASCII: written as character references, read back whole.
        s3("missing unicode object", "GET", "/bad-s3/caf%C3%A9-%F0%9F%98%80")
            .fails(404, "NoSuchKey", "The specified key does not exist.")
            .with_element("Key", "caf&#xE9;-&#x1F600;"),
        s3("missing bucket", "GET", "/no-such-bucket-x/k")
            .fails(404, "NoSuchBucket", "The specified bucket does not exist.")
            .with_element("BucketName", "no-such-bucket-x"),
        // --- ranges and conditions
        s3("unsatisfiable Range", "GET", "/bad-s3/k")
            .header("range", "bytes=100-")
            .fails(416, "InvalidRange", "the object has 5 bytes"),
        s3("garbage Range", "GET", "/bad-s3/k")
            .header("range", "garbage")
            .fails(400, "InvalidArgument", "range"),
        s3("If-Match that fails", "GET", "/bad-s3/k")
            .header("if-match", "\"nope\"")
            .fails(412, "PreconditionFailed", "If-Match"),
        s3("garbage If-Modified-Since", "GET", "/bad-s3/k")
            .header("if-modified-since", "garbage")
            .fails(400, "InvalidArgument", "if-modified-since"),
        // --- numbers in queries
        s3("partNumber not a number", "GET", "/bad-s3/k?partNumber=abc")
            .fails(400, "InvalidArgument", "partNumber"),
        s3("negative partNumber", "GET", "/bad-s3/k?partNumber=-1")
            .fails(400, "InvalidArgument", "Part number must be an integer between 1 and 10000"),
        s3("partNumber past i32", "GET", "/bad-s3/k?partNumber=99999999999")
            .fails(400, "InvalidArgument", "partNumber"),
        s3("negative max-keys", "GET", "/bad-s3?max-keys=-1")
            .fails(400, "InvalidArgument", "max-keys must be a non-negative integer"),
        s3("max-keys past i32", "GET", "/bad-s3?max-keys=99999999999999999999")
            .fails(400, "InvalidArgument", "max-keys"),
        s3("negative max-keys, v2", "GET", "/bad-s3?list-type=2&max-keys=-1")
            .fails(400, "InvalidArgument", "max-keys must be a non-negative integer"),
        s3("negative max-keys, versions", "GET", "/bad-s3?versions&max-keys=-1")
            .fails(400, "InvalidArgument", "max-keys must be a non-negative integer"),
        s3("negative max-uploads", "GET", "/bad-s3?uploads&max-uploads=-1")
            .fails(400, "InvalidArgument", "max-uploads must be an integer between 0 and 2147483647"),
        s3("garbage upload-id-marker", "GET", "/bad-s3?key-marker=a&upload-id-marker=zz&uploads")
            .fails(400, "InvalidArgument", "Invalid uploadId marker"),
        s3("garbage continuation token", "GET", "/bad-s3?continuation-token=garbage&list-type=2")
            .fails(400, "InvalidArgument", "continuation token"),
        s3("unknown encoding-type", "GET", "/bad-s3?encoding-type=bogus")
            .fails(400, "InvalidArgument", "Invalid Encoding Method specified in Request"),
        s3("unknown encoding-type, v2", "GET", "/bad-s3?encoding-type=base64&list-type=2")
            .fails(400, "InvalidArgument", "Invalid Encoding Method"),
        s3("unknown encoding-type, versions", "GET", "/bad-s3?encoding-type=URL&versions")
            .fails(400, "InvalidArgument", "Invalid Encoding Method"),
        s3("unknown encoding-type, uploads", "GET", "/bad-s3?encoding-type=x&uploads")
            .fails(400, "InvalidArgument", "Invalid Encoding Method"),
        s3("encoding-type=url", "GET", "/bad-s3?encoding-type=url&list-type=2")
            .works(200, "<EncodingType>url</EncodingType>"),
        s3("NUL prefix", "GET", "/bad-s3?prefix=%00").works(200, "<ListBucketResult"),
        s3("NUL start-after", "GET", "/bad-s3?list-type=2&start-after=%00")
            .works(200, "<ListBucketResult"),
        // --- multipart
        s3("garbage upload id", "GET", "/bad-s3/k?uploadId=garbage")
            .fails(404, "NoSuchUpload", "The specified multipart upload does not exist.")
            .with_element("UploadId", "garbage"),
        s3("negative max-parts", "GET", "/bad-s3/k?max-parts=-1&uploadId=garbage")
            .fails(400, "InvalidArgument", "max-parts must be an integer between 0 and 2147483647"),
        s3("negative part-number-marker", "GET", "/bad-s3/k?part-number-marker=-1&uploadId=garbage")
            .fails(400, "InvalidArgument", "part-number-marker must be a non-negative integer"),
        s3("part number 0", "PUT", "/bad-s3/k?partNumber=0&uploadId=garbage")
            .body("x")
            .fails(400, "InvalidArgument", "between 1 and 10000, inclusive (got 0)"),
        s3("part number 10001", "PUT", "/bad-s3/k?partNumber=10001&uploadId=garbage")
            .body("x")
            .fails(400, "InvalidArgument", "(got 10001)"),
        s3("part of a garbage upload", "PUT", "/bad-s3/k?partNumber=1&uploadId=garbage")
            .body("x")
            .fails(404, "NoSuchUpload", "The specified multipart upload does not exist.")
            .with_element("UploadId", "garbage"),
        s3("malformed completion", "POST", "/bad-s3/k?uploadId=garbage")
            .body("<garbage")
            .fails(400, "MalformedXML", "not well formed"),
        s3("abort a garbage upload", "DELETE", "/bad-s3/k?uploadId=garbage")
            .fails(404, "NoSuchUpload", "The specified multipart upload does not exist.")
            .with_element("UploadId", "garbage"),
        // --- documents
        s3("DeleteObjects without Content-MD5", "POST", "/bad-s3?delete")
            .body(delete_doc)
            .fails(400, "InvalidRequest", "Content-MD5"),
        s3("DeleteObjects with a wrong Content-MD5", "POST", "/bad-s3?delete")
            .header("content-md5", md5_header(b"other"))
            .body(delete_doc)
            .fails(400, "BadDigest", "Content-MD5"),
        s3("tagging not XML", "PUT", "/bad-s3/k?tagging")
            .body("not xml")
            .fails(400, "MalformedXML", "not well formed"),
        s3("CORS truncated", "PUT", "/bad-s3?cors")
            .header("content-md5", md5_header(b"<CORSConfiguration><CORSRule>"))
            .body("<CORSConfiguration><CORSRule>")
            .fails(400, "MalformedXML", "not well formed"),
        s3("tagging with an empty body", "PUT", "/bad-s3/k?tagging")
            .fails(400, "MissingRequestBodyError", "Request body is empty"),
        s3("tagging with an internal entity", "PUT", "/bad-s3/k?tagging")
            .body(r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Tagging><TagSet><Tag><Key>k</Key><Value>&b;</Value></Tag></TagSet></Tagging>"#)
            .fails(400, "MalformedXML", "not well formed"),
        s3("tagging with an external entity", "PUT", "/bad-s3/k?tagging")
            .body(r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Tagging><TagSet><Tag><Key>k</Key><Value>&e;</Value></Tag></TagSet></Tagging>"#)
            .fails(400, "MalformedXML", "not well formed"),
        s3("tagging not UTF-8", "PUT", "/bad-s3/k?tagging")
            .body(b"<Tagging><TagSet><Tag><Key>\xff</Key><Value>v</Value></Tag></TagSet></Tagging>")
            .fails(400, "MalformedXML", "not well formed"),
        s3("the tags are unchanged", "GET", "/bad-s3/k?tagging")
            .works(200, "<TagSet></TagSet>"),
        s3("DeleteObjects with an empty body", "POST", "/bad-s3?delete")
            .header("content-md5", md5_header(b""))
            .fails(400, "MissingRequestBodyError", "Request body is empty"),
        s3("policy not JSON", "PUT", "/bad-s3?policy")
            .body("{not json")
            .fails(400, "MalformedPolicy", "valid JSON"),
        s3("policy too large", "PUT", "/bad-s3?policy")
            .body(format!(r#"{{"a":"{}"}}"#, long(30_000)))
            .fails(400, "MalformedPolicy", "20480 bytes"),
        // --- headers
        s3("copy source not UTF-8", "PUT", "/bad-s3/c")
            .header("x-amz-copy-source", "%FF")
            .fails(400, "InvalidArgument", "x-amz-copy-source"),
        // A missing source is named (its key, its bucket), as S3 names it.
        s3("copy source with traversal", "PUT", "/bad-s3/c")
            .header("x-amz-copy-source", "/bad-s3/../../etc/passwd")
            .fails(404, "NoSuchKey", "The specified key does not exist.")
            .with_element("Key", "../../etc/passwd"),
        s3("copy from a missing bucket", "PUT", "/bad-s3/c")
            .header("x-amz-copy-source", "/no-such-bucket-x/k")
            .fails(404, "NoSuchBucket", "The specified bucket does not exist.")
            .with_element("BucketName", "no-such-bucket-x"),
        s3("copy from another owner's bucket", "PUT", "/bad-s3/c")
            .sig(Sig::Bob)
            .header("x-amz-copy-source", "/bad-s3/k")
            .fails(403, "AccessDenied", ""),
        s3("tagging header not UTF-8", "PUT", "/bad-s3/t")
            .header("x-amz-tagging", "a=%FF")
            .body("x")
            .fails(400, "InvalidArgument", "x-amz-tagging"),
        s3("a tag value with a NUL", "PUT", "/bad-s3/t")
            .header("x-amz-tagging", "a=%00")
            .body("x")
            .fails(400, "InvalidTag", "TagValue"),
        s3("a tag key with a NUL", "PUT", "/bad-s3/t")
            .header("x-amz-tagging", "%00=v")
            .body("x")
            .fails(400, "InvalidTag", "TagKey"),
        s3("a policy with NUL escapes", "PUT", "/bad-s3?policy")
            .body(r#"{"Version":"2012-10-17","Statement":[{"Sid":"a\u0000b","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::bad-s3/x\u0000y"}]}"#)
            .works(204, ""),
        s3("the policy reads back", "GET", "/bad-s3?policy").works(200, r#""Sid":"a\u0000b""#),
        s3("Content-MD5 not base64", "PUT", "/bad-s3/t")
            .header("content-md5", "garbage")
            .body("x")
            .fails(400, "InvalidDigest", "Content-MD5"),
        s3("checksum not base64", "PUT", "/bad-s3/t")
            .header("x-amz-checksum-crc32", "garbage")
            .body("x")
            .fails(400, "InvalidRequest", "x-amz-checksum-crc32"),
        s3("unknown storage class", "PUT", "/bad-s3/t")
            .header("x-amz-storage-class", "BOGUS")
            .body("x")
            .fails(400, "InvalidStorageClass", "storage class"),
        s3("metadata too large", "PUT", "/bad-s3/t")
            .header("x-amz-meta-big", long(3000))
            .body("x")
            .fails(400, "MetadataTooLarge", "2048"),
        // --- methods
        s3("PATCH", "PATCH", "/bad-s3/k")
            .fails(405, "MethodNotAllowed", "not allowed against this resource: PATCH")
            .with_header("allow", "GET, HEAD, PUT, POST, DELETE"),
        s3("made-up method", "BREW", "/bad-s3")
            .sig(Sig::Anonymous)
            .fails(405, "MethodNotAllowed", "BREW"),
        // --- credentials
        s3("garbage Authorization", "GET", "/bad-s3")
            .sig(Sig::AsGiven)
            .header("authorization", "garbage")
            .fails(400, "AuthorizationHeaderMalformed", "expected `AWS4-HMAC-SHA256 Credential="),
        s3("SigV4 without fields", "GET", "/bad-s3")
            .sig(Sig::AsGiven)
            .header("authorization", "AWS4-HMAC-SHA256")
            .fails(400, "AuthorizationHeaderMalformed", "SignedHeaders="),
        s3("SigV4 with garbage fields", "GET", "/bad-s3")
            .sig(Sig::AsGiven)
            .header("authorization", "AWS4-HMAC-SHA256 Credential=x, SignedHeaders=y, Signature=z")
            .fails(400, "AuthorizationHeaderMalformed", "Signature="),
        s3("Authorization not ASCII", "GET", "/bad-s3")
            .sig(Sig::AsGiven)
            .header("authorization", b"AWS4-HMAC-SHA256 Credential=\xe9")
            .fails(400, "AuthorizationHeaderMalformed", "expected `AWS4-HMAC-SHA256 Credential="),
        {
            let mut case = s3("x-amz-content-sha256 garbage", "GET", "/bad-s3")
                .sig(Sig::AsGiven)
                .fails(403, "SignatureDoesNotMatch", "x-amz-content-sha256 header is malformed");
            case.headers = forged(&keys.alice.access_key_id, FORGED_SIGNATURE);
            case.headers[1].1 = b"garbage".to_vec();
            case
        },
        {
            let mut case = s3("x-amz-decoded-content-length garbage", "PUT", "/bad-s3/chunked")
                .sig(Sig::AsGiven)
                .header("content-encoding", "aws-chunked")
                .header("x-amz-decoded-content-length", "abc")
                .body("5\r\nhello\r\n0\r\n\r\n")
                .fails(400, "InvalidRequest", "x-amz-decoded-content-length header is malformed");
            let mut headers = forged(&keys.alice.access_key_id, FORGED_SIGNATURE);
            headers[1].1 = b"STREAMING-UNSIGNED-PAYLOAD-TRAILER".to_vec();
            case.headers.extend(headers);
            case
        },
        s3("x-amz-date garbage", "GET", "/bad-s3")
            .sig(Sig::AsGiven)
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential={}/20261129/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={FORGED_SIGNATURE}", keys.alice.access_key_id))
            .header("x-amz-date", "garbage")
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .fails(400, "InvalidRequest", "x-amz-date header is malformed"),
        {
            let mut case = s3("a forged signature", "GET", "/bad-s3")
                .sig(Sig::AsGiven)
                .fails(403, "SignatureDoesNotMatch", "signature");
            case.headers = forged(&keys.alice.access_key_id, FORGED_SIGNATURE);
            case
        },
        {
            // The secret itself as the signature: it must not be echoed.
            let mut case = s3("the secret as the signature", "GET", "/bad-s3")
                .sig(Sig::AsGiven)
                .fails(403, "SignatureDoesNotMatch", "signature");
            case.headers = forged(&keys.alice.access_key_id, &keys.alice.secret_access_key);
            case
        },
        {
            let mut case = s3("an unknown access key", "GET", "/bad-s3")
                .sig(Sig::AsGiven)
                .fails(403, "InvalidAccessKeyId", "does not exist");
            case.headers = forged("AKIAUNKNOWNUNKNOWN00", FORGED_SIGNATURE);
            case
        },
        s3("presigned URL with garbage fields", "GET", "/bad-s3/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=garbage&X-Amz-Signature=zz")
            .sig(Sig::Anonymous)
            .fails(400, "AuthorizationQueryParametersError", "X-Amz-Credential=<access key id>"),
        s3("presigned URL with a negative expiry", "GET", format!("/bad-s3/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T000000Z&X-Amz-Expires=-5&X-Amz-SignedHeaders=host&X-Amz-Signature={FORGED_SIGNATURE}", keys.alice.access_key_id))
            .sig(Sig::Anonymous)
            .fails(400, "AuthorizationQueryParametersError", "X-Amz-Expires"),
        s3("presigned URL not UTF-8", "GET", "/bad-s3/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%FF&X-Amz-Signature=%FF")
            .sig(Sig::Anonymous)
            .fails(400, "AuthorizationQueryParametersError", "X-Amz-Signature"),
        s3("presigned URL without its signature", "GET", format!("/bad-s3/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}%2F20261129%2Fus-east-1%2Fs3%2Faws4_request", keys.alice.access_key_id))
            .sig(Sig::Anonymous)
            .fails(400, "AuthorizationQueryParametersError", "X-Amz-Signature"),
        s3("anonymous read", "GET", "/bad-s3/k")
            .sig(Sig::Anonymous)
            .fails(403, "AccessDenied", "Anonymous access is not allowed"),
        s3("another owner's object", "GET", "/bad-s3/k")
            .sig(Sig::Bob)
            .fails(403, "AccessDenied", ""),
        s3("another owner's bucket listing", "GET", "/bad-s3")
            .sig(Sig::Bob)
            .fails(403, "AccessDenied", ""),
        s3("delete another owner's bucket", "DELETE", "/bad-s3")
            .sig(Sig::Bob)
            .fails(403, "AccessDenied", ""),
        // --- CORS preflight
        s3("preflight without Origin", "OPTIONS", "/bad-s3/k")
            .sig(Sig::Anonymous)
            .fails(400, "BadRequest", "Origin request header needed"),
        s3("preflight without a method", "OPTIONS", "/bad-s3/k")
            .sig(Sig::Anonymous)
            .header("origin", "http://x.example")
            .fails(400, "BadRequest", "Invalid Access-Control-Request-Method"),
        s3("preflight with a garbage method", "OPTIONS", "/bad-s3/k")
            .sig(Sig::Anonymous)
            .header("origin", "http://x.example")
            .header("access-control-request-method", "B@D")
            .fails(400, "BadRequest", "Invalid Access-Control-Request-Method"),
        s3("preflight on a bucket not UTF-8", "OPTIONS", "/%FF/k")
            .sig(Sig::Anonymous)
            .header("origin", "http://x.example")
            .header("access-control-request-method", "GET")
            .fails(403, "AccessForbidden", "Bucket not found"),
        // --- PostObject
        s3("form without a boundary", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data")
            .body("xx")
            .fails(400, "MalformedPOSTRequest", "no boundary"),
        s3("form of garbage", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body("garbage")
            .fails(400, "MalformedPOSTRequest", "not well-formed"),
        s3("truncated form", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body("--zz\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk")
            .fails(400, "MalformedPOSTRequest", "incomplete"),
        s3("form without a file", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body(form(&[("key", "k")]))
            .fails(400, "IncorrectNumberOfFilesInPostRequest", "exactly one file"),
        s3("form with a duplicated field", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body(form(&[("key", "k"), ("key", "k2"), ("file", "hello")]))
            .fails(400, "InvalidArgument", "given more than once"),
        s3("form field not UTF-8", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body(b"--zz\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n\xff\xfe\r\n--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nhello\r\n--zz--\r\n")
            .fails(400, "InvalidArgument", "not UTF-8 text"),
        s3("anonymous form", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body(form(&[("key", "k"), ("file", "hello")]))
            .fails(403, "AccessDenied", "Anonymous uploads are not allowed"),
        s3("form with a garbage policy", "POST", "/bad-s3")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body(form(&[
                ("key", "k"),
                ("policy", "%%%"),
                ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
                ("x-amz-credential", &format!("{}/20261129/us-east-1/s3/aws4_request", keys.alice.access_key_id)),
                ("x-amz-date", "20261129T000000Z"),
                ("x-amz-signature", FORGED_SIGNATURE),
                ("file", "hello"),
            ]))
            .fails(403, "SignatureDoesNotMatch", "signature"),
        s3("form to an object's URL", "POST", "/bad-s3/somekey")
            .sig(Sig::Anonymous)
            .header("content-type", "multipart/form-data; boundary=zz")
            .body("--zz--\r\n")
            .fails(405, "MethodNotAllowed", "goes to the bucket's URL"),
        s3("the object is unchanged", "GET", "/bad-s3/k").works(200, "hello"),
    ]
}

/// Runs the S3 cases; returns the failed checks.
async fn run_s3(server: &TestServer, keys: &Keys, cases: Vec<S3>) -> Vec<String> {
    let addr = server.aws.expect("the server has an AWS endpoint");
    let host = addr.to_string();
    let mut signatures = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for case in cases {
        let mut headers = case.headers.clone();
        let signer = match case.sig {
            Sig::Alice => Some(&keys.alice),
            Sig::Bob => Some(&keys.bob),
            Sig::Anonymous | Sig::AsGiven => None,
        };
        if let Some(key) = signer {
            let signed = sign_with(
                case.method,
                &case.target,
                &host,
                &key.access_key_id,
                &key.secret_access_key,
                &case.headers,
            );
            let auth = String::from_utf8_lossy(&signed[0].1).into_owned();
            if let Some((_, sig)) = auth.split_once("Signature=") {
                signatures.push(sig.to_owned());
            }
            headers.extend(signed);
        }
        let desc = format!("s3: {}", case.desc);
        let answer = send(
            &desc,
            addr,
            case.method,
            case.target.as_bytes(),
            &headers,
            &case.body,
        )
        .await;
        let text = answer.text();
        check!(
            failures,
            answer.status == case.status,
            "{desc}: status {} (want {}); body {text}",
            answer.status,
            case.status
        );
        // S3's extended request id, on every answer (the SDKs read it).
        let host_id = answer.header("x-amz-id-2").unwrap_or_default();
        check!(failures, !host_id.is_empty(), "{desc}: no x-amz-id-2");
        if let Some(code) = case.code {
            check!(
                failures,
                text.contains(&format!("<Code>{code}</Code>")),
                "{desc}: code {code}; body {text}"
            );
            let message = text
                .split_once("<Message>")
                .and_then(|(_, rest)| rest.split_once("</Message>"))
                .map(|(m, _)| {
                    m.replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&apos;", "'")
                        .replace("&amp;", "&")
                })
                .unwrap_or_default();
            check!(
                failures,
                !message.is_empty(),
                "{desc}: a message; body {text}"
            );
            check!(
                failures,
                message.contains(&case.says),
                "{desc}: the message should say {:?}; it says {message:?}",
                case.says
            );
            check!(
                failures,
                text.contains("<RequestId>"),
                "{desc}: request id; body {text}"
            );
            check!(
                failures,
                text.contains("<Resource>"),
                "{desc}: resource; body {text}"
            );
            check!(
                failures,
                text.contains(&format!("<HostId>{host_id}</HostId>")),
                "{desc}: the x-amz-id-2 {host_id:?} as <HostId>; body {text}"
            );
            for (name, value) in &case.elements {
                check!(
                    failures,
                    text.contains(&format!("</Message><{name}>{value}</{name}>")),
                    "{desc}: <{name}>{value}</{name}> after the message; body {text}"
                );
            }
        } else {
            check!(
                failures,
                text.contains(&case.says),
                "{desc}: the body should contain {:?}: {text}",
                case.says
            );
        }
        if let Some((name, piece)) = case.header {
            let value = answer.header(name).unwrap_or_default();
            check!(
                failures,
                value.contains(piece),
                "{desc}: header {name} should contain {piece:?}, got {value:?}"
            );
        }
        keys.assert_no_secret(&desc, &text);
        for sig in &signatures {
            check!(
                failures,
                !text.contains(sig.as_str()),
                "{desc}: a signature is echoed"
            );
        }
    }
    let log = server.log();
    for sig in signatures
        .iter()
        .map(String::as_str)
        .chain([FORGED_SIGNATURE])
    {
        check!(
            failures,
            !log.contains(sig),
            "the log holds a signature that was sent"
        );
    }
    failures
}

/// A signed S3 request as `key`; the answer.
async fn signed(
    server: &TestServer,
    key: &miniaws_client::CreatedKey,
    method: &'static str,
    target: &str,
    body: &[u8],
) -> Answer {
    let addr = server.aws.expect("the server has an AWS endpoint");
    let headers = sign(
        method,
        target,
        &addr.to_string(),
        &key.access_key_id,
        &key.secret_access_key,
    );
    send(target, addr, method, target.as_bytes(), &headers, body).await
}

async fn another_owners_upload(server: &TestServer, keys: &Keys) -> Vec<String> {
    let mut failures = Vec::new();
    let created = signed(server, &keys.alice, "POST", "/bad-s3/mp?uploads", b"").await;
    let text = created.text();
    let Some(upload) = text
        .split_once("<UploadId>")
        .and_then(|(_, rest)| rest.split_once("</UploadId>"))
        .map(|(id, _)| id.to_owned())
    else {
        return vec![format!("alice's upload was not created: {text}")];
    };
    let bob_bucket = signed(server, &keys.bob, "PUT", "/bobs-bucket", b"").await;
    check!(
        failures,
        bob_bucket.status == 200,
        "bob's bucket: {}",
        bob_bucket.text()
    );
    let cases = [
        (
            "PUT",
            format!("/bobs-bucket/mp?partNumber=1&uploadId={upload}"),
            404,
            "NoSuchUpload",
        ),
        (
            "GET",
            format!("/bobs-bucket/mp?uploadId={upload}"),
            404,
            "NoSuchUpload",
        ),
        (
            "DELETE",
            format!("/bobs-bucket/mp?uploadId={upload}"),
            404,
            "NoSuchUpload",
        ),
        (
            "PUT",
            format!("/bad-s3/mp?partNumber=1&uploadId={upload}"),
            403,
            "AccessDenied",
        ),
        (
            "GET",
            format!("/bad-s3/mp?uploadId={upload}"),
            403,
            "AccessDenied",
        ),
        (
            "DELETE",
            format!("/bad-s3/mp?uploadId={upload}"),
            403,
            "AccessDenied",
        ),
    ];
    for (method, target, status, code) in cases {
        let answer = signed(server, &keys.bob, method, &target, b"part").await;
        let text = answer.text();
        check!(
            failures,
            answer.status == status && text.contains(&format!("<Code>{code}</Code>")),
            "s3: bob {method} {target}: want {status} {code}, got {} {text}",
            answer.status
        );
    }
    // Alice's upload is untouched: she can still list and abort it.
    let listed = signed(
        server,
        &keys.alice,
        "GET",
        &format!("/bad-s3/mp?uploadId={upload}"),
        b"",
    )
    .await;
    check!(
        failures,
        listed.status == 200,
        "alice lists her upload: {}",
        listed.text()
    );
    let aborted = signed(
        server,
        &keys.alice,
        "DELETE",
        &format!("/bad-s3/mp?uploadId={upload}"),
        b"",
    )
    .await;
    check!(
        failures,
        aborted.status == 204,
        "alice aborts her upload: {}",
        aborted.text()
    );
    failures
}

// ------------------------------------------------------------------- suite

struct Keys {
    alice: miniaws_client::CreatedKey,
    bob: miniaws_client::CreatedKey,
}

impl Keys {
    fn secrets(&self) -> [&str; 4] {
        [
            &self.alice.key,
            &self.alice.secret_access_key,
            &self.bob.key,
            &self.bob.secret_access_key,
        ]
    }

    fn assert_no_secret(&self, desc: &str, text: &str) {
        for secret in self.secrets() {
            assert!(!text.contains(secret), "{desc}: the answer holds a secret");
        }
    }
}

async fn bad_input(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("alice").await;
    let (_, bob) = server.user("bob").await;
    let keys = Keys { alice, bob };
    let mut failures = run_native(&server, &keys, native_cases(&keys.alice.id.to_string())).await;
    failures.extend(run_s3(&server, &keys, s3_cases(&keys)).await);
    // Another owner's upload id: alice's upload, used by bob on his own
    // bucket, is no upload of his (and on alice's bucket, access denied).
    failures.extend(another_owners_upload(&server, &keys).await);
    assert!(
        failures.is_empty(),
        "{backend:?}: {} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // A client's request id that would forge log fields, or bloat every
    // line, is replaced by a generated one, on both listeners; a plain one
    // is kept.
    let aws = server.aws.expect("the server has an AWS endpoint");
    let long_id = "forged-field-".repeat(20);
    for (addr, path) in [(server.native, "/health"), (aws, "/")] {
        for sent in ["x method=DELETE path=/forged-field", long_id.as_str()] {
            let answer = send(
                "a request id to replace",
                addr,
                "GET",
                path.as_bytes(),
                &[("x-request-id".into(), sent.as_bytes().to_vec())],
                b"",
            )
            .await;
            let id = answer.header("x-request-id").unwrap_or_default();
            assert!(
                id.len() == 36 && id != sent,
                "{addr} {sent:?}: a generated id, got {id:?}"
            );
        }
        let answer = send(
            "a plain request id",
            addr,
            "GET",
            path.as_bytes(),
            &[("x-request-id".into(), b"plain-id-42".to_vec())],
            b"",
        )
        .await;
        assert_eq!(answer.header("x-request-id"), Some("plain-id-42"));
    }

    // The server is still up and answers.
    let health = send("health", server.native, "GET", b"/health", &[], b"").await;
    assert_eq!(health.status, 200, "the server still answers");
    // Nothing escaped the data directory.
    assert!(
        !server.data_dir().join("escape").exists()
            && !server.data_dir().join("escape2").exists()
            && !server.data_dir().join("data").join("escape").exists(),
        "a key with .. wrote outside the object store"
    );
    let log = server.log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    assert!(
        !log.contains("forged-field"),
        "a client's request id forged log fields"
    );
    for secret in keys.secrets() {
        assert!(!log.contains(secret), "the log holds a secret");
    }
    // Client errors are not logged as server errors.
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "client errors logged as ERROR: {errors:#?}"
    );
}

#[tokio::test]
async fn bad_input_sqlite() {
    bad_input(Backend::Sqlite).await;
}

#[tokio::test]
async fn bad_input_postgres() {
    bad_input(Backend::Postgres).await;
}

/// What a client sends cannot start a line of the server's log: a newline
/// (or another control character) in an unknown JSON field's name, an id
/// or a bucket name, each quoted back in an error message that is logged,
/// comes out escaped, so no line of the log is the client's.
#[tokio::test]
async fn clients_cannot_forge_log_lines() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("log-forger").await;
    const FORGED: &str = "2026-11-30T21:59:04.000000Z ERROR forged::line";
    let http = reqwest::Client::new();
    let base = server.url();
    // Without a key: an unknown field named with a newline.
    let answer = http
        .post(format!("{base}/auth/keys"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"x","\n{FORGED}\u0000":1}}"#))
        .send()
        .await
        .expect("sign-up answers");
    assert_eq!(answer.status().as_u16(), 400);
    // With a key: an id and a bucket name holding an encoded newline.
    let encoded = FORGED.replace(' ', "%20");
    for path in [
        format!("/instances/x%0A{encoded}"),
        format!("/storage/bad%0A{encoded}"),
    ] {
        let answer = http
            .get(format!("{base}{path}"))
            .header("x-api-key", &key.key)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(answer.status().as_u16(), 400, "{path}");
    }
    let log = server.log();
    assert!(
        log.contains(r"\nERROR") || log.contains(r"\n2026-11-30T21:59:04"),
        "the forged text is logged, escaped: {log}"
    );
    for line in log.lines() {
        assert!(
            !line.starts_with(FORGED) && !line.contains('\0'),
            "a line of the client's making: {line:?}"
        );
    }
}

/// A web page cannot reach the native API through a name of its own
/// pointed at 127.0.0.1 (DNS rebinding): a request naming a Host that is
/// not a loopback name (nor one `--allowed-hosts` lists) is refused before
/// it does anything, here an open sign-up.
#[tokio::test]
async fn requests_for_other_host_names_are_refused() {
    let Some(server) = TestServer::start_with(
        Backend::Sqlite,
        &["--allowed-hosts", "dev.example,other.example:9"],
        &[],
    )
    .await
    else {
        return;
    };
    let http = reqwest::Client::new();
    let base = server.url();
    let port = base.rsplit(':').next().expect("a port").to_owned();
    let sign_up = |host: String, name: &'static str| {
        http.post(format!("{base}/auth/keys"))
            .header("host", host)
            .header("content-type", "application/json")
            .body(format!(r#"{{"name":"{name}"}}"#))
            .send()
    };
    let answer = sign_up(format!("rebound.example:{port}"), "rebound")
        .await
        .expect("answered");
    assert_eq!(answer.status().as_u16(), 403);
    // Like every answer, it carries a request id.
    assert!(answer.headers().contains_key("x-request-id"));
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["error"]["type"], "FORBIDDEN", "{body}");
    // It names the hosts that are allowed, and the advice adds to them
    // (`--allowed-hosts rebound.example` alone would drop dev.example).
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Host `rebound.example:")
            && message.contains("*.localhost")
            && message.contains("dev.example, other.example")
            && message.contains("add rebound.example to --allowed-hosts"),
        "{body}"
    );
    // The refused sign-up made no user: the name is free.
    for (host, name) in [
        (format!("localhost:{port}"), "rebound"),
        (format!("dev.example:{port}"), "via-allowed"),
        (format!("other.example:{port}"), "via-allowed-too"),
        (format!("127.0.0.1:{port}"), "via-ip"),
    ] {
        let answer = sign_up(host.clone(), name).await.expect("answered");
        assert_eq!(answer.status().as_u16(), 201, "{host}");
    }
}

/// An EC2 (Query API) form body that cannot be read whole is the client's
/// fault, 400 `IncompleteBody`; one over the limit without a declared
/// length is still 413.
#[tokio::test]
async fn an_unreadable_ec2_form_body_is_400_not_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let aws = server.aws.expect("the AWS endpoint");
    let send = |body: Vec<u8>| async move {
        let mut conn = tokio::net::TcpStream::connect(aws).await.expect("connect");
        let head = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        conn.write_all(head.as_bytes()).await.expect("head");
        conn.write_all(&body).await.expect("body");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            conn.read_to_end(&mut answer),
        )
        .await
        .expect("answered");
        String::from_utf8_lossy(&answer).into_owned()
    };
    let answer = send(b"6\r\nAction\r\nZZ\r\nnot a chunk\r\n".to_vec()).await;
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("<Code>IncompleteBody</Code>"),
        "{answer}"
    );
    let mut big = format!("{:x}\r\n", 70_000).into_bytes();
    big.extend(std::iter::repeat_n(b'x', 70_000));
    big.extend_from_slice(b"\r\n0\r\n\r\n");
    let answer = send(big).await;
    assert!(
        answer.starts_with("HTTP/1.1 413") && answer.contains("RequestEntityTooLarge"),
        "{answer}"
    );
}

/// HTTP/1.1's framing rules hyper leaves to the server, on both listeners:
/// a transfer coding other than chunked is 501 (its bytes would be stored
/// still coded), and two Host headers, or none in HTTP/1.1, are 400.
#[tokio::test]
async fn requests_that_break_http_framing_are_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("framer").await;
    let aws = server.aws.expect("the AWS endpoint");
    let send = |addr: SocketAddr, raw: String| async move {
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        conn.write_all(raw.as_bytes()).await.expect("sent");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut answer))
            .await
            .expect("answered");
        String::from_utf8_lossy(&answer).into_owned()
    };
    let k = &key.key;
    for (addr, path) in [(server.native, "/storage/framing/k"), (aws, "/framing/k")] {
        let coded = send(
            addr,
            format!("PUT {path} HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {k}\r\nConnection: close\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        )
        .await;
        assert!(coded.starts_with("HTTP/1.1 501"), "{addr}: {coded}");
        let two_hosts = send(
            addr,
            "GET /health HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
                .to_owned(),
        )
        .await;
        assert!(two_hosts.starts_with("HTTP/1.1 400"), "{addr}: {two_hosts}");
        let no_host = send(
            addr,
            "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n".to_owned(),
        )
        .await;
        assert!(no_host.starts_with("HTTP/1.1 400"), "{addr}: {no_host}");
    }
    // Nothing was stored from the coded body.
    let client = server.client().with_api_key(key.key.clone());
    assert!(client.list_buckets().await.expect("lists").is_empty());
}

/// Sends one request with exactly the framing headers given (no
/// `Content-Length` is added, as [`send`] adds one for a PUT) and `raw`
/// after the head as it is; without a framing header the body is empty
/// by HTTP.
async fn send_unframed(
    desc: &str,
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, Vec<u8>)],
    raw: &[u8],
) -> Answer {
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n").into_bytes();
    for (name, value) in headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(raw);
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{desc}: connect: {e}"));
    conn.write_all(&head)
        .await
        .unwrap_or_else(|e| panic!("{desc}: send: {e}"));
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut raw))
        .await
        .unwrap_or_else(|_| panic!("{desc}: no answer within 20 s"))
        .unwrap_or_else(|e| panic!("{desc}: read: {e}"));
    parse_answer(desc, method, &raw)
}

/// A PutObject or UploadPart with neither `Content-Length` nor
/// `Transfer-Encoding` is S3's 411 `MissingContentLength` and stores
/// nothing (it stored an empty object); an explicit `Content-Length: 0`
/// is still an empty object: the headers decide, not the body's size.
#[tokio::test]
async fn object_writes_without_a_length_are_refused() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("lengthless").await;
    let addr = server.aws.expect("the server has an AWS endpoint");
    let host = addr.to_string();
    let unframed = |desc: &'static str, target: String| {
        let headers = sign(
            "PUT",
            &target,
            &host,
            &key.access_key_id,
            &key.secret_access_key,
        );
        async move { send_unframed(desc, addr, "PUT", &target, &headers, b"").await }
    };
    let refused = |desc: &str, answer: &Answer| {
        let text = answer.text();
        assert_eq!(answer.status, 411, "{desc}: {text}");
        assert!(
            text.contains("<Code>MissingContentLength</Code>")
                && text.contains(
                    "<Message>You must provide the Content-Length HTTP header.</Message>"
                ),
            "{desc}: {text}"
        );
    };
    let created = signed(&server, &key, "PUT", "/lengthless", b"").await;
    assert_eq!(created.status, 200, "bucket: {}", created.text());

    let put = unframed("PutObject", "/lengthless/none".to_owned()).await;
    refused("PutObject", &put);
    let get = signed(&server, &key, "GET", "/lengthless/none", b"").await;
    assert_eq!(get.status, 404, "nothing stored: {}", get.text());
    assert!(
        get.text().contains("<Code>NoSuchKey</Code>"),
        "{}",
        get.text()
    );

    // Chunked, signed in headers: s3s wants a length (MinIO's answer), in
    // S3's words too.
    let mut headers = sign(
        "PUT",
        "/lengthless/chunked",
        &host,
        &key.access_key_id,
        &key.secret_access_key,
    );
    headers.push(("transfer-encoding".into(), b"chunked".to_vec()));
    let put = send_unframed(
        "chunked PutObject",
        addr,
        "PUT",
        "/lengthless/chunked",
        &headers,
        b"5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    refused("chunked PutObject", &put);
    let get = signed(&server, &key, "GET", "/lengthless/chunked", b"").await;
    assert_eq!(get.status, 404, "nothing stored: {}", get.text());

    // Declared empty: an empty object, as before.
    let put = signed(&server, &key, "PUT", "/lengthless/empty", b"").await;
    assert_eq!(put.status, 200, "Content-Length: 0: {}", put.text());
    let get = signed(&server, &key, "GET", "/lengthless/empty", b"").await;
    assert_eq!((get.status, get.body.len()), (200, 0), "{}", get.text());

    let created = signed(&server, &key, "POST", "/lengthless/mp?uploads", b"").await;
    let text = created.text();
    let upload = text
        .split_once("<UploadId>")
        .and_then(|(_, rest)| rest.split_once("</UploadId>"))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("an upload: {text}"));
    let part = unframed(
        "UploadPart",
        format!("/lengthless/mp?partNumber=1&uploadId={upload}"),
    )
    .await;
    refused("UploadPart", &part);
    let parts = signed(
        &server,
        &key,
        "GET",
        &format!("/lengthless/mp?uploadId={upload}"),
        b"",
    )
    .await;
    assert_eq!(parts.status, 200, "{}", parts.text());
    assert!(
        !parts.text().contains("<Part>"),
        "no part stored: {}",
        parts.text()
    );
}
