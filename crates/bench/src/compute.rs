//! `compute`: launch-to-RUNNING latency against `docker run -d` of the same
//! image, `GET /instances` latency with 1,000 instances in the database,
//! and the server's RSS.

use miniaws_client::LaunchInstance;
use miniaws_testkit::{Backend, TestServer, require_docker};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::stats::{ms, percentile, rss_kib};

/// Options of the suite.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Launches (and `docker run -d`s) to time.
    #[arg(long, default_value_t = 20)]
    launches: usize,
    /// Instances in the database for the list benchmark.
    #[arg(long, default_value_t = 1000)]
    instances: usize,
    /// `GET /instances` requests per case.
    #[arg(long, default_value_t = 300)]
    requests: usize,
}

const LABEL: &str = "miniaws.bench=compute";

fn docker_run(image: &str) -> (Duration, String) {
    let started = Instant::now();
    let out = Command::new("docker")
        .args([
            "run", "-d", "--init", "--label", LABEL, image, "sleep", "3600",
        ])
        .output()
        .expect("docker run starts");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "docker run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        elapsed,
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

fn docker_rm(id: &str) {
    let _ = Command::new("docker").args(["rm", "-f", id]).output();
}

fn summary(name: &str, samples: &mut [Duration]) -> (Duration, Duration) {
    let p50 = percentile(samples, 50.0);
    let p95 = percentile(samples, 95.0);
    println!(
        "{name:<44} p50 {:>11}  p95 {:>11}  (n={})",
        ms(p50),
        ms(p95),
        samples.len()
    );
    (p50, p95)
}

/// Inserts `n` stopped instances of `owner` straight into the server's
/// SQLite database (launching 1,000 real containers would measure Docker).
async fn seed_instances(database_url: &str, owner: &str, n: usize) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(database_url)
        .await
        .expect("the server's SQLite database opens");
    let mut tx = conn.begin().await.expect("begin");
    for i in 0..n {
        let at = format!("2026-01-01T00:{:02}:{:02}.{:06}Z", (i / 60) % 60, i % 60, i);
        sqlx::query(
            "INSERT INTO instances (id, owner_id, name, image, instance_type, status,
                state_reason, exit_code, container_id, ports, published_ports, env, command,
                created_at, updated_at)
             VALUES (?, ?, ?, 'miniaws-test/busybox:latest', 't3.micro', 'STOPPED',
                'stopped by request', 143, NULL, '8080:80/tcp', '', '{\"MODE\":\"bench\"}',
                '[\"sleep\",\"3600\"]', ?, ?)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(owner)
        .bind(format!("seeded-{i}"))
        .bind(&at)
        .bind(&at)
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
}

/// Runs the suite.
pub async fn run(args: Args) {
    let Some(image) = require_docker() else {
        println!("compute: Docker is not configured; nothing measured");
        return;
    };
    println!("== compute (SQLite, image {image}) ==");
    let server = TestServer::start_with(
        Backend::Sqlite,
        &["--stop-grace-secs", "1", "--resync-interval-secs", "3600"],
        &[("MINIAWS_LOG", "warn")],
    )
    .await
    .expect("a SQLite server starts");
    let (client, key) = server.user("bench").await;

    // Warm both paths once (image cache, connection, negotiation).
    let (_, id) = docker_run(&image);
    docker_rm(&id);
    let warm = client
        .launch_instance(&LaunchInstance {
            name: "warm".into(),
            image: image.clone(),
            command: Some(miniaws_client::Command::Args(vec![
                "sleep".into(),
                "3600".into(),
            ])),
            ..LaunchInstance::default()
        })
        .await
        .expect("launch");
    client.terminate_instance(warm.id).await.expect("terminate");

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..args.launches {
        let started = Instant::now();
        let inst = client
            .launch_instance(&LaunchInstance {
                name: format!("bench-{i}"),
                image: image.clone(),
                command: Some(miniaws_client::Command::Args(vec![
                    "sleep".into(),
                    "3600".into(),
                ])),
                ..LaunchInstance::default()
            })
            .await
            .expect("launch");
        assert_eq!(inst.state, "RUNNING", "launch answers once running");
        ours.push(started.elapsed());
        let (t, id) = docker_run(&image);
        theirs.push(t);
        client.terminate_instance(inst.id).await.expect("terminate");
        docker_rm(&id);
    }
    let (p50, p95) = summary("POST /instances -> RUNNING", &mut ours);
    let (d50, d95) = summary("docker run -d (same image, CLI)", &mut theirs);
    println!(
        "{:<44} p50 {:.2}x  p95 {:.2}x",
        "ratio (ours / docker run)",
        p50.as_secs_f64() / d50.as_secs_f64(),
        p95.as_secs_f64() / d95.as_secs_f64()
    );

    seed_instances(
        server.database_url(),
        &key.user_id.to_string(),
        args.instances,
    )
    .await;
    let listed = client.list_instances(false).await.expect("list");
    assert!(
        listed.len() >= args.instances,
        "seeded {} rows",
        listed.len()
    );
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client");
    for (label, query) in [
        ("GET /instances (default page of 100)", ""),
        ("GET /instances?limit=1000", "?limit=1000"),
    ] {
        let url = format!("{}/instances{query}", server.url());
        let mut samples = Vec::with_capacity(args.requests);
        for _ in 0..args.requests {
            let started = Instant::now();
            let res = http
                .get(&url)
                .header("x-api-key", &key.key)
                .send()
                .await
                .expect("request");
            assert!(res.status().is_success());
            let _ = res.bytes().await.expect("body");
            samples.push(started.elapsed());
        }
        summary(&format!("{label}, {} rows", args.instances), &mut samples);
    }
    let rss = server.pid().and_then(rss_kib).unwrap_or(0);
    println!(
        "{:<44} {:.1} MiB",
        "server RSS after the suite",
        rss as f64 / 1024.0
    );
}
