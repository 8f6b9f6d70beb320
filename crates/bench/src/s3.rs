//! `miniaws-bench s3`: the S3 path beside the native path, on one server.
//!
//! Both paths write and read through the same storage service and engine;
//! the difference is the protocol: SigV4 verification, s3s's routing and
//! XML, and (for the SDK's default uploads) the CRC32 trailer checksum of
//! `aws-chunked` bodies. Figures: one 256 MiB PUT and GET (MiB/s), and 4 KiB
//! PUT and GET at concurrency 16 (ops/s, p50/p99).

use anyhow::Context;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures::StreamExt;
use miniaws_testkit::{Backend, TestServer};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Concurrent clients for the small-object runs.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

fn mib_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

/// A path under test: native `/storage` or S3.
#[derive(Clone)]
enum Path {
    Native(miniaws_client::Client),
    S3(aws_sdk_s3::Client),
}

impl Path {
    fn name(&self) -> &'static str {
        match self {
            Path::Native(_) => "native",
            Path::S3(_) => "S3 (SigV4)",
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
            Path::S3(s3) => {
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .context("S3 PutObject")?;
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
            Path::S3(s3) => {
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

/// Runs the suite and prints its table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let backend = if args.postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let server = TestServer::start(backend)
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
    let s3 = aws_sdk_s3::Client::from_conf(config);
    for b in ["bench-native", "bench-s3"] {
        s3.create_bucket()
            .bucket(b)
            .send()
            .await
            .context("create bucket")?;
    }
    let paths = [
        (Path::Native(native), "bench-native"),
        (Path::S3(s3), "bench-s3"),
    ];

    println!(
        "# s3 suite: {} backend, {} MiB object, 4 KiB x {} ops at concurrency {}",
        if args.postgres { "postgres" } else { "sqlite" },
        args.large_mib,
        args.ops,
        args.concurrency
    );
    let large = Bytes::from(vec![0x5au8; args.large_mib * 1024 * 1024]);
    println!(
        "| path | {0} MiB PUT MiB/s | {0} MiB GET MiB/s | 4 KiB PUT ops/s (p50 / p99) | 4 KiB GET ops/s (p50 / p99) |",
        args.large_mib
    );
    println!("|---|---|---|---|---|");
    for (path, bucket) in &paths {
        let t = Instant::now();
        path.put(bucket, "large.bin", large.clone()).await?;
        let put = mib_s(large.len(), t.elapsed());
        // One warm-up read, then the measured one.
        path.get(bucket, "large.bin").await?;
        let t = Instant::now();
        let n = path.get(bucket, "large.bin").await?;
        anyhow::ensure!(n == large.len(), "short large read");
        let get = mib_s(n, t.elapsed());
        let (wops, wp50, wp99) = small_ops(path, bucket, args.ops, args.concurrency, true).await?;
        let (rops, rp50, rp99) = small_ops(path, bucket, args.ops, args.concurrency, false).await?;
        println!(
            "| {} | {put:.0} | {get:.0} | {wops:.0} ({} / {}) | {rops:.0} ({} / {}) |",
            path.name(),
            ms(wp50),
            ms(wp99),
            ms(rp50),
            ms(rp99)
        );
    }
    Ok(())
}
