//! `foundation`: start-up time, idle memory and authenticated request
//! latency/throughput of `GET /auth/keys`, on SQLite and Postgres.

use miniaws_testkit::{Backend, TestDatabase, TestServer, miniaws_bin, require_postgres};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::stats::{ms, percentile, rss_kib};

/// Options of the suite.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start-up runs per case.
    #[arg(long, default_value_t = 10)]
    starts: usize,
    /// Requests per latency case.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Spawns miniaws on `data_dir` and returns the time until /health answers
/// 200, plus the idle RSS half a second later.
async fn cold_start(data_dir: &std::path::Path, http: &reqwest::Client) -> (Duration, u64) {
    let port = free_port();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(miniaws_bin())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--aws-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("MINIAWS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("miniaws starts");
    let url = format!("http://127.0.0.1:{port}/health");
    let elapsed = loop {
        if let Ok(res) = http.get(&url).send().await
            && res.status().is_success()
        {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "miniaws did not come up"
        );
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = child.id().and_then(rss_kib).unwrap_or(0);
    let _ = child.kill().await;
    (elapsed, rss)
}

async fn startup(args: &Args) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut fresh = Vec::new();
    let mut existing = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..args.starts {
        let dir = tempfile::tempdir().expect("temp dir");
        let (t, _) = cold_start(dir.path(), &http).await;
        fresh.push(t);
        let (t, r) = cold_start(dir.path(), &http).await;
        existing.push(t);
        rss.push(r);
    }
    println!(
        "cold start to first /health 200 (SQLite, {} runs)",
        args.starts
    );
    println!(
        "  fresh data dir     p50 {}  max {}",
        ms(percentile(&mut fresh, 50.0)),
        ms(percentile(&mut fresh, 100.0))
    );
    println!(
        "  existing data dir  p50 {}  max {}",
        ms(percentile(&mut existing, 50.0)),
        ms(percentile(&mut existing, 100.0))
    );
    rss.sort_unstable();
    println!(
        "  idle RSS           {:.1} MiB (median)",
        rss[rss.len() / 2] as f64 / 1024.0
    );
}

async fn latency(server: &TestServer, label: &str, args: &Args) {
    let (client, _) = server.user("bench").await;
    let client = Arc::new(client);
    for _ in 0..200 {
        client.list_keys().await.expect("warm-up");
    }
    for concurrency in [1usize, 32] {
        let per_task = args.requests / concurrency;
        let started = Instant::now();
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move {
                    let mut samples = Vec::with_capacity(per_task);
                    for _ in 0..per_task {
                        let t = Instant::now();
                        client.list_keys().await.expect("GET /auth/keys");
                        samples.push(t.elapsed());
                    }
                    samples
                })
            })
            .collect();
        let mut samples = Vec::new();
        for t in tasks {
            samples.extend(t.await.expect("task"));
        }
        let wall = started.elapsed();
        println!(
            "  {label:<8} c={concurrency:<3} p50 {}  p99 {}  {:.0} req/s",
            ms(percentile(&mut samples, 50.0)),
            ms(percentile(&mut samples, 99.0)),
            samples.len() as f64 / wall.as_secs_f64()
        );
    }
    if let Some(rss) = server.pid().and_then(rss_kib) {
        println!("  {label:<8} RSS after load {:.1} MiB", rss as f64 / 1024.0);
    }
}

/// Runs the suite.
pub async fn run(args: Args) {
    startup(&args).await;
    println!(
        "GET /auth/keys, authenticated ({} requests per case)",
        args.requests
    );
    let sqlite = TestServer::start_with(Backend::Sqlite, &[], &[("MINIAWS_LOG", "warn")])
        .await
        .expect("sqlite server");
    latency(&sqlite, "sqlite", &args).await;
    drop(sqlite);
    match require_postgres() {
        Some(admin) => {
            let db = TestDatabase::create(&admin).await;
            let url = db.url.clone();
            let pg =
                TestServer::start_with_database(url, Some(db), &[], &[("MINIAWS_LOG", "warn")])
                    .await;
            latency(&pg, "postgres", &args).await;
        }
        None => println!("  postgres skipped: set MINIAWS_TEST_DATABASE_URL"),
    }
}
