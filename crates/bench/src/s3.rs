//! `miniaws-bench s3`: the S3 path beside the native path, on one server.
//!
//! Both paths write and read through the same storage service and engine;
//! the difference is the protocol. Figures: one 256 MiB PUT and GET (MiB/s),
//! and 4 KiB PUT and GET at concurrency 16 (ops/s, p50/p99).
//!
//! The S3 client is `aws-sdk-s3` with its defaults (`when_supported`
//! request checksums), which send a body in one of two ways depending on
//! where it comes from, so both are measured:
//! - from memory (`ByteStream::from(Bytes)`): a signed payload — the
//!   SDK hashes the body with SHA-256 into `x-amz-content-sha256` and sends
//!   `x-amz-checksum-crc32` as a header; the server recomputes both (plus
//!   the MD5 ETag);
//! - from a file (`ByteStream::from_path`): `aws-chunked`, and over plain
//!   `http://` the SDK signs every chunk
//!   (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`) with a CRC32 trailer;
//!   the server verifies each chunk signature and the trailer.
//!
//! Over https the file case would be the unsigned `STREAMING-UNSIGNED-
//! PAYLOAD-TRAILER` form instead; Mini AWS listens on http only. A fourth
//! row turns payload signing off (`disable_payload_signing`, what the SDK
//! does for https by default with streaming bodies) to show what the
//! SHA-256 of the payload costs on each side, and a fifth keeps the signed
//! payload but has the SDK compute and validate checksums only when an
//! operation requires them (no CRC32 on either side), to show what those
//! cost the client.
//!
//! Two more rows take the SDK out: the same requests from the lean client
//! of [`crate::lean_s3`] (the native rows' `reqwest` settings, each request
//! signed with `aws-sigv4`), once with `UNSIGNED-PAYLOAD` and once with a
//! signed payload (the client hashes the body with SHA-256). Beside the
//! native row they show the protocol's own cost.

use anyhow::Context;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures::StreamExt;
use miniaws_testkit::{Backend, TestServer};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::lean_s3::{LeanS3, Payload};
use crate::payload::{self, BodyKind};
use crate::stats::{ms, percentile};

/// Options of the suite.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run on Postgres (MINIAWS_TEST_DATABASE_URL) instead of SQLite.
    #[arg(long)]
    postgres: bool,
    /// Size of the large object, MiB.
    #[arg(long, default_value_t = 256)]
    large_mib: usize,
    /// Small-object operations per measurement.
    #[arg(long, default_value_t = 2000)]
    ops: usize,
    /// 4 KiB PUTs per measurement, when not `--ops` (at least 1,000: the
    /// GETs read the 1,000 keys the PUTs wrote). A long GET run after a
    /// short PUT run gives a profiler the read path alone.
    #[arg(long)]
    write_ops: Option<usize>,
    /// Concurrent clients for the small-object runs.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Run only these paths (comma-separated short names: native,
    /// lean-unsigned, lean-signed, sdk, sdk-file, sdk-unsigned, sdk-lean),
    /// e.g. to profile one path's server alone. The first one listed is the
    /// base of the percentages. Default: all, native first.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The server's log filter (`--log-level`): by default the product's
    /// own, `info`, which logs one line per request.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// What the large object is made of.
    #[arg(long, value_enum, default_value_t = BodyKind::Random)]
    body: BodyKind,
}

/// CPU time (user + system) the process `pid` (the server, or this client
/// with all its threads) has used so far, from
/// `/proc/<pid>/stat` (Linux; ticks of 10 ms, summed over thousands of
/// operations).
fn process_cpu(pid: Option<u32>) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The 1, 5 and 15 minute load averages (Linux), for the record.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn mib_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

/// A path under test: native `/storage`, or S3 with bodies from memory or
/// from a file.
#[derive(Clone)]
enum Path {
    Native(miniaws_client::Client),
    S3(aws_sdk_s3::Client),
    S3File(aws_sdk_s3::Client, std::path::PathBuf),
    S3Unsigned(aws_sdk_s3::Client),
    /// A client that computes and validates checksums only when an
    /// operation requires them (no CRC32 on PUT or GET), signed payload.
    S3Lean(aws_sdk_s3::Client),
    /// `reqwest` + `aws-sigv4`, no SDK: the protocol without the SDK's
    /// client-side costs.
    S3Sigv4(LeanS3, Payload),
}

impl Path {
    const NATIVE: &'static str = "native (X-API-Key)";

    fn name(&self) -> &'static str {
        match self {
            Path::Native(_) => Self::NATIVE,
            Path::S3(_) => "S3, body from memory (SigV4 signed payload + CRC32 header)",
            Path::S3File(..) => "S3, body from a file (aws-chunked, signed chunks + CRC32 trailer)",
            Path::S3Unsigned(_) => {
                "S3, body from memory, UNSIGNED-PAYLOAD (disable_payload_signing) + CRC32 header"
            }
            Path::S3Lean(_) => {
                "S3, body from memory, signed payload, checksums only when required (no CRC32)"
            }
            Path::S3Sigv4(_, Payload::Unsigned) => {
                "S3, lean client (reqwest + aws-sigv4), UNSIGNED-PAYLOAD"
            }
            Path::S3Sigv4(_, Payload::Signed) => {
                "S3, lean client (reqwest + aws-sigv4), signed payload (client SHA-256)"
            }
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: Bytes) -> anyhow::Result<()> {
        match self {
            Path::Native(c) => {
                c.send(
                    c.request(reqwest::Method::PUT, &format!("/storage/{bucket}/{key}"))
                        .body(body),
                )
                .await
                .context("native PUT")?;
            }
            Path::S3(s3) | Path::S3Lean(s3) => {
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .context("S3 PutObject")?;
            }
            Path::S3Unsigned(s3) => {
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(body))
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
                    .context("S3 PutObject, unsigned payload")?;
            }
            Path::S3Sigv4(lean, _) => lean.put(bucket, key, body).await?,
            Path::S3File(s3, dir) => {
                // The file is written before the clock matters only for the
                // large object: small files come from the page cache.
                let file = dir.join(key.replace('/', "_"));
                if std::fs::metadata(&file).map(|m| m.len()).ok() != Some(body.len() as u64) {
                    std::fs::write(&file, &body).context("write the upload file")?;
                }
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from_path(&file).await.context("open file")?)
                    .send()
                    .await
                    .context("S3 PutObject from a file")?;
            }
        }
        Ok(())
    }

    /// Reads an object, counting its bytes without keeping them.
    async fn get(&self, bucket: &str, key: &str) -> anyhow::Result<usize> {
        let mut n = 0;
        match self {
            Path::Native(c) => {
                let res = c
                    .send(c.request(reqwest::Method::GET, &format!("/storage/{bucket}/{key}")))
                    .await
                    .context("native GET")?;
                let mut s = res.bytes_stream();
                while let Some(chunk) = s.next().await {
                    n += chunk?.len();
                }
            }
            Path::S3(s3) | Path::S3File(s3, _) | Path::S3Unsigned(s3) | Path::S3Lean(s3) => {
                let mut body = s3
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .context("S3 GetObject")?
                    .body;
                while let Some(chunk) = body.next().await {
                    n += chunk?.len();
                }
            }
            Path::S3Sigv4(lean, _) => n = lean.get(bucket, key).await?,
        }
        Ok(n)
    }
}

async fn small_ops(
    path: &Path,
    bucket: &str,
    ops: usize,
    concurrency: usize,
    write: bool,
) -> anyhow::Result<(f64, Duration, Duration)> {
    let body = Bytes::from(vec![7u8; 4096]);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let path = path.clone();
        let next = next.clone();
        let body = body.clone();
        let bucket = bucket.to_owned();
        async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= ops {
                    break;
                }
                let key = format!("small/{:05}", i % 1000);
                let t = Instant::now();
                if write {
                    path.put(&bucket, &key, body.clone()).await?;
                } else {
                    anyhow::ensure!(path.get(&bucket, &key).await? == 4096, "short read");
                }
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }
    });
    let mut all = Vec::new();
    for r in futures::future::join_all(workers).await {
        all.extend(r?);
    }
    let elapsed = start.elapsed();
    let p50 = percentile(&mut all, 50.0);
    let p99 = percentile(&mut all, 99.0);
    Ok((ops as f64 / elapsed.as_secs_f64(), p50, p99))
}

/// The paths named in `only` (in that order), or all of them.
fn select_paths<const N: usize>(
    all: [(&'static str, Path, &'static str); N],
    only: &[String],
) -> anyhow::Result<Vec<(Path, &'static str)>> {
    if only.is_empty() {
        return Ok(all.into_iter().map(|(_, p, b)| (p, b)).collect());
    }
    let names: Vec<&str> = all.iter().map(|(n, ..)| *n).collect();
    let mut slots: Vec<Option<(Path, &'static str)>> =
        all.into_iter().map(|(_, p, b)| Some((p, b))).collect();
    only.iter()
        .map(|want| {
            let i = names
                .iter()
                .position(|n| n == want)
                .with_context(|| format!("unknown path {want:?}; known: {}", names.join(", ")))?;
            slots[i]
                .take()
                .with_context(|| format!("path {want:?} named twice"))
        })
        .collect()
}

/// Runs the suite and prints its table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let backend = if args.postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let server = TestServer::start_with(backend, &[], &[("MINIAWS_LOG", &args.log_level)])
        .await
        .context("Postgres is not configured: set MINIAWS_TEST_DATABASE_URL")?;
    let (native, key) = server.user("bench").await;
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.aws_url())
        .credentials_provider(Credentials::new(
            &key.access_key_id,
            &key.secret_access_key,
            None,
            None,
            "bench",
        ))
        .force_path_style(true)
        .build();
    let lean = aws_sdk_s3::Client::from_conf(
        config
            .to_builder()
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build(),
    );
    let s3 = aws_sdk_s3::Client::from_conf(config);
    let sigv4 = |payload| {
        LeanS3::new(
            &server.aws_url(),
            &key.access_key_id,
            &key.secret_access_key,
            payload,
        )
        .map(|c| Path::S3Sigv4(c, payload))
    };
    for b in [
        "bench-native",
        "bench-s3-sigv4-unsigned",
        "bench-s3-sigv4-signed",
        "bench-s3",
        "bench-s3-file",
        "bench-s3-unsigned",
        "bench-s3-lean",
    ] {
        s3.create_bucket()
            .bucket(b)
            .send()
            .await
            .context("create bucket")?;
    }
    let files = tempfile::tempdir().context("temp dir for upload files")?;
    // The lean rows run right after the native one, so that the closest
    // comparison is also the closest in time.
    let all = [
        ("native", Path::Native(native), "bench-native"),
        (
            "lean-unsigned",
            sigv4(Payload::Unsigned)?,
            "bench-s3-sigv4-unsigned",
        ),
        (
            "lean-signed",
            sigv4(Payload::Signed)?,
            "bench-s3-sigv4-signed",
        ),
        ("sdk", Path::S3(s3.clone()), "bench-s3"),
        (
            "sdk-file",
            Path::S3File(s3.clone(), files.path().to_path_buf()),
            "bench-s3-file",
        ),
        ("sdk-unsigned", Path::S3Unsigned(s3), "bench-s3-unsigned"),
        ("sdk-lean", Path::S3Lean(lean), "bench-s3-lean"),
    ];
    let paths = select_paths(all, &args.only)?;

    println!(
        "# s3 suite: {} backend, {} MiB object of {:?} bytes, 4 KiB x {} ops at concurrency {}; load average {}",
        if args.postgres { "postgres" } else { "sqlite" },
        args.large_mib,
        args.body,
        args.ops,
        args.concurrency,
        load_average()
    );
    let write_ops = args.write_ops.unwrap_or(args.ops);
    anyhow::ensure!(
        write_ops >= 1000,
        "--write-ops must be at least 1000: the GETs read the 1,000 keys the PUTs write"
    );
    let large = payload::bytes(args.body, args.large_mib * 1024 * 1024);
    let mut rows = Vec::new();
    let mut cpu_rows = Vec::new();
    let pid = server.pid();
    for (path, bucket) in &paths {
        if let Path::S3File(_, dir) = path {
            // Written (and cached) before the timed upload.
            std::fs::write(dir.join("large.bin"), &large).context("write the large file")?;
        }
        let t = Instant::now();
        path.put(bucket, "large.bin", large.clone()).await?;
        let put = mib_s(large.len(), t.elapsed());
        // One warm-up read, then the measured one.
        path.get(bucket, "large.bin").await?;
        let t = Instant::now();
        let n = path.get(bucket, "large.bin").await?;
        anyhow::ensure!(n == large.len(), "short large read");
        let get = mib_s(n, t.elapsed());
        // The client's CPU (this process) beside the server's: the two
        // share the machine's cores, so a heavier client costs throughput.
        let me = Some(std::process::id());
        let (cpu0, me0) = (process_cpu(pid), process_cpu(me));
        let (wops, wp50, wp99) = small_ops(path, bucket, write_ops, args.concurrency, true).await?;
        let (cpu1, me1) = (process_cpu(pid), process_cpu(me));
        let (rops, rp50, rp99) = small_ops(path, bucket, args.ops, args.concurrency, false).await?;
        let (cpu2, me2) = (process_cpu(pid), process_cpu(me));
        let per_op = |a: Option<Duration>, b: Option<Duration>, n: usize| match (a, b) {
            (Some(a), Some(b)) => {
                format!("{:.0} µs", (b - a).as_secs_f64() * 1e6 / n as f64)
            }
            _ => "?".to_owned(),
        };
        cpu_rows.push((
            path.name(),
            [
                per_op(cpu0, cpu1, write_ops),
                per_op(cpu1, cpu2, args.ops),
                per_op(me0, me1, write_ops),
                per_op(me1, me2, args.ops),
            ],
        ));
        rows.push((
            path.name(),
            [put, get, wops, rops],
            [ms(wp50), ms(wp99), ms(rp50), ms(rp99)],
        ));
    }
    println!(
        "| path | {0} MiB PUT MiB/s | {0} MiB GET MiB/s | 4 KiB PUT ops/s (p50 / p99) | 4 KiB GET ops/s (p50 / p99) |",
        args.large_mib
    );
    println!("|---|---|---|---|---|");
    let native = rows[0].1;
    let base = if rows[0].0 == Path::NATIVE {
        "native"
    } else {
        "the first row"
    };
    for (name, [put, get, wops, rops], [wp50, wp99, rp50, rp99]) in &rows {
        let pct = |v: f64, base: f64| format!("{:.0}%", 100.0 * v / base);
        let ratio = |i: usize, v: f64| {
            if *name == rows[0].0 {
                String::new()
            } else {
                format!(" ({} of {base})", pct(v, native[i]))
            }
        };
        println!(
            "| {name} | {put:.0}{} | {get:.0}{} | {wops:.0}{} ({wp50} / {wp99}) | {rops:.0}{} ({rp50} / {rp99}) |",
            ratio(0, *put),
            ratio(1, *get),
            ratio(2, *wops),
            ratio(3, *rops),
        );
    }
    println!();
    println!(
        "CPU time (user + system) per 4 KiB operation: the server's, the client excluded, and the client's (this process)"
    );
    println!();
    println!("| path | server PUT | server GET | client PUT | client GET |");
    println!("|---|---|---|---|---|");
    for (name, [put, get, client_put, client_get]) in &cpu_rows {
        println!("| {name} | {put} | {get} | {client_put} | {client_get} |");
    }
    println!("# load average after the run: {}", load_average());
    Ok(())
}
