//! `storage`: the object store against the machine's raw limits, measured in
//! the same run and on the same file system (the server's data directory):
//! 256 MiB PUT/GET throughput, 4 KiB PUT/GET latency at concurrency 1 and
//! 16, listing 10,000 keys, and server RSS, on SQLite and Postgres.

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use miniaws_client::ListObjectsParams;
use miniaws_testkit::{Backend, TestDatabase, TestServer, require_postgres};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::payload::{self, BodyKind};
use crate::stats::{ms, percentile, rss_kib};

/// Options of the suite.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of the large object, MiB.
    #[arg(long, default_value_t = 256)]
    big_mib: u64,
    /// 4 KiB operations per case.
    #[arg(long, default_value_t = 2000)]
    small_ops: usize,
    /// Keys in the listing case (listed in pages of 1,000).
    #[arg(long, default_value_t = 10_000)]
    list_keys: usize,
    /// Other keys in the same bucket around the listed prefix, to show the
    /// listing does not depend on them.
    #[arg(long, default_value_t = 10_000)]
    other_keys: usize,
    /// Skip Postgres even when it is configured.
    #[arg(long)]
    sqlite_only: bool,
    /// What the bodies are made of; the raw write and MD5 figures use the
    /// same bytes.
    #[arg(long, value_enum, default_value_t = BodyKind::Random)]
    body: BodyKind,
}

const CHUNK: usize = 1 << 20;

/// `data` as a stream of 1 MiB chunks, as a file would be sent.
fn body(data: Bytes) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut at = 0;
    stream::iter(std::iter::from_fn(move || {
        if at == data.len() {
            return None;
        }
        let end = data.len().min(at + CHUNK);
        let chunk = data.slice(at..end);
        at = end;
        Some(Ok(chunk))
    }))
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

fn hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Raw figures of the file system under `dir`, and of MD5 on this CPU.
struct Raw {
    write_mib_s: f64,
    small_file_p50: Duration,
    /// MD5 of `big_mib` MiB in memory, on one core: a PUT computes the ETag
    /// as it streams, and one MD5 cannot be spread over cores.
    md5_mib_s: f64,
}

/// MD5 throughput of one core over `data`, held in memory (the best of
/// three runs, so that a neighbour's burst does not count).
fn raw_md5(data: &[u8]) -> f64 {
    use md5::{Digest, Md5};
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let mut md5 = Md5::new();
        for chunk in data.chunks(CHUNK) {
            md5.update(chunk);
        }
        std::hint::black_box(md5.finalize());
        best = best.min(started.elapsed());
    }
    mib_s(data.len() as u64, best)
}

/// One durable 4 KiB file the way a blob is written: create a temporary in
/// `dir`, write, fsync, rename into `dest_dir`, fsync `dest_dir`.
fn raw_small_file(dir: &Path, dest_dir: &Path, name: &str) -> Duration {
    let small = [0x5au8; 4096];
    let t = Instant::now();
    let tmp = dir.join(format!("raw-{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).expect("tmp");
    f.write_all(&small).expect("write");
    f.sync_all().expect("fsync");
    drop(f);
    std::fs::rename(&tmp, dest_dir.join(name)).expect("rename");
    std::fs::File::open(dest_dir)
        .and_then(|d| d.sync_all())
        .expect("dir fsync");
    t.elapsed()
}

/// The raw figures, writing and hashing `data` (the large object's bytes).
fn raw_disk(dir: &Path, data: &[u8]) -> Raw {
    let path = dir.join("raw-seq.bin");
    let started = Instant::now();
    {
        let mut f = std::fs::File::create(&path).expect("raw file");
        for chunk in data.chunks(CHUNK) {
            f.write_all(chunk).expect("raw write");
        }
        f.sync_all().expect("raw fsync");
    }
    let write = started.elapsed();
    std::fs::remove_file(&path).ok();

    let dest_dir = dir.join("raw-small");
    std::fs::create_dir_all(&dest_dir).expect("raw dir");
    let mut samples: Vec<Duration> = (0..200)
        .map(|i| raw_small_file(dir, &dest_dir, &format!("a{i}")))
        .collect();
    std::fs::remove_dir_all(&dest_dir).ok();
    Raw {
        write_mib_s: mib_s(data.len() as u64, write),
        small_file_p50: percentile(&mut samples, 50.0),
        md5_mib_s: raw_md5(data),
    }
}

/// A connection of its own to the server's database, for single-row
/// INSERT commits (the metadata part of the floor).
enum RawCommitter {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl RawCommitter {
    async fn open(url: &str) -> Self {
        use sqlx::Connection;
        let create = "CREATE TABLE IF NOT EXISTS bench_commit (id BIGINT PRIMARY KEY, v TEXT)";
        if url.starts_with("postgres") {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("pg connects");
            sqlx::query(create).execute(&mut conn).await.expect("table");
            Self::Postgres(conn)
        } else {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            use std::str::FromStr;
            let options = SqliteConnectOptions::from_str(url)
                .expect("sqlite url")
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("sqlite connects");
            sqlx::query(create).execute(&mut conn).await.expect("table");
            Self::Sqlite(conn)
        }
    }

    /// The time of one committed single-row INSERT with key `id`.
    async fn commit(&mut self, id: i64) -> Duration {
        let t = Instant::now();
        match self {
            Self::Postgres(conn) => sqlx::query("INSERT INTO bench_commit VALUES ($1, 'x')")
                .bind(id)
                .execute(conn)
                .await
                .map(drop),
            Self::Sqlite(conn) => sqlx::query("INSERT INTO bench_commit VALUES (?, 'x')")
                .bind(id)
                .execute(conn)
                .await
                .map(drop),
        }
        .expect("insert");
        t.elapsed()
    }

    async fn close(self) {
        let drop_table = "DROP TABLE bench_commit";
        let _ = match self {
            Self::Postgres(mut conn) => sqlx::query(drop_table).execute(&mut conn).await.map(drop),
            Self::Sqlite(mut conn) => sqlx::query(drop_table).execute(&mut conn).await.map(drop),
        };
    }
}

/// p50 of one single-row INSERT commit on the server's database.
async fn raw_commit(url: &str) -> Duration {
    let mut committer = RawCommitter::open(url).await;
    let mut samples = Vec::new();
    for i in 0..300i64 {
        samples.push(committer.commit(i).await);
    }
    committer.close().await;
    percentile(&mut samples, 50.0)
}

/// How many operations of each kind one block of
/// [`interleaved_small_puts`] runs.
const INTERLEAVE_BLOCK: usize = 25;

/// 4 KiB PUTs at concurrency 1 in blocks alternating with blocks of floor
/// measurements (raw small files, then raw commits), so that the PUTs and
/// the floor they are compared with see the same disk within seconds of
/// each other: a small fsync's latency drifts by a factor of two over a
/// minute on this kind of machine. Blocks rather than single operations,
/// because a raw commit right before a PUT shares the server's SQLite WAL
/// and would slow the PUT's own commit. Returns the p50s of the PUTs and
/// of the floor (small file p50 + commit p50), and the small file p50.
///
/// The phase runs on a thread of its own with a single-threaded runtime
/// and a client of its own, as a plain sequential client (curl, a script)
/// would: on the suite's multi-threaded runtime every PUT also paid for
/// waking the worker thread that drives the client's connection and back,
/// which is the client's cost, not the server's.
async fn interleaved_small_puts(
    endpoint: String,
    api_key: String,
    data_dir: std::path::PathBuf,
    url: String,
    ops: usize,
) -> (Duration, Duration, Duration) {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the c=1 phase");
        runtime.block_on(async {
            let client = miniaws_client::Client::new(&endpoint)
                .expect("client")
                .with_api_key(api_key);
            interleave(&client, &data_dir, &url, ops).await
        })
    })
    .await
    .expect("the c=1 phase")
}

/// The blocks of [`interleaved_small_puts`], on its runtime.
async fn interleave(
    client: &miniaws_client::Client,
    data_dir: &Path,
    url: &str,
    ops: usize,
) -> (Duration, Duration, Duration) {
    let dest_dir = data_dir.join("raw-interleaved");
    std::fs::create_dir_all(&dest_dir).expect("raw dir");
    let mut committer = RawCommitter::open(url).await;
    let small = Bytes::from(vec![0x5au8; 4096]);
    let (mut puts, mut files, mut commits) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while puts.len() < ops {
        for _ in 0..INTERLEAVE_BLOCK {
            files.push(raw_small_file(data_dir, &dest_dir, &format!("i{i}")));
            commits.push(committer.commit(i as i64).await);
            i += 1;
        }
        for _ in 0..INTERLEAVE_BLOCK {
            let t = Instant::now();
            client
                .put_object(
                    "bench",
                    &format!("interleaved/{}", puts.len()),
                    small.clone(),
                    None,
                )
                .await
                .expect("small PUT");
            puts.push(t.elapsed());
        }
    }
    committer.close().await;
    std::fs::remove_dir_all(&dest_dir).ok();
    let file = percentile(&mut files, 50.0);
    (
        percentile(&mut puts, 50.0),
        file + percentile(&mut commits, 50.0),
        file,
    )
}

/// Runs `ops` calls of `op(i)` at `concurrency`; returns ops/s and samples.
async fn load<F, Fut>(ops: usize, concurrency: usize, op: F) -> (f64, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = op.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= ops {
                        break;
                    }
                    let t = Instant::now();
                    op(i).await;
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.expect("load task"));
    }
    (
        samples.len() as f64 / started.elapsed().as_secs_f64(),
        samples,
    )
}

async fn suite(server: &TestServer, label: &str, args: &Args) {
    let pid = server.pid().expect("server runs");
    let data_dir = server.data_dir().join("data");
    let big_body = payload::bytes(args.body, (args.big_mib << 20) as usize);
    let raw = raw_disk(&data_dir, &big_body);
    let commit = raw_commit(server.database_url()).await;
    let floor = raw.small_file_p50 + commit;
    println!(
        "[{label}] raw limits of {} ({:?} bytes):",
        data_dir.display(),
        args.body
    );
    println!(
        "  sequential write {} MiB + fsync      {:.0} MiB/s",
        args.big_mib, raw.write_mib_s
    );
    println!(
        "  MD5 of {} MiB in memory, one core    {:.0} MiB/s",
        args.big_mib, raw.md5_mib_s
    );
    println!(
        "  4 KiB create+write+fsync+rename+dir fsync  p50 {}",
        ms(raw.small_file_p50)
    );
    println!("  one metadata commit (INSERT)        p50 {}", ms(commit));
    println!(
        "  floor of a durable 4 KiB PUT        {} = {:.0} ops/s",
        ms(floor),
        1.0 / floor.as_secs_f64()
    );

    let (client, key) = server.user("bench").await;
    client.create_bucket("bench").await.expect("bucket");
    let rss_before = rss_kib(pid).unwrap_or(0);
    let hwm_before = hwm_kib(pid);

    let big = args.big_mib << 20;
    let t = Instant::now();
    client
        .put_object_stream("bench", "big", body(big_body.clone()), Some(big), None)
        .await
        .expect("big PUT");
    let put = t.elapsed();
    let hwm_put = hwm_kib(pid);
    let mut get_cold = Duration::ZERO;
    for round in 0..2 {
        let t = Instant::now();
        let mut dl = client
            .get_object("bench", "big", None, None)
            .await
            .expect("big GET");
        let mut n = 0u64;
        while let Some(chunk) = dl.body.next().await {
            n += chunk.expect("chunk").len() as u64;
        }
        assert_eq!(n, big);
        if round == 0 {
            get_cold = t.elapsed();
        } else {
            let put_mib_s = mib_s(big, put);
            println!(
                "  {} MiB PUT {:.0} MiB/s ({:.0}% of raw write, {:.0}% of min(raw write, raw MD5))   GET {:.0} MiB/s, warm {:.0} MiB/s",
                args.big_mib,
                put_mib_s,
                100.0 * put_mib_s / raw.write_mib_s,
                100.0 * put_mib_s / raw.write_mib_s.min(raw.md5_mib_s),
                mib_s(big, get_cold),
                mib_s(big, t.elapsed())
            );
        }
    }
    let hwm_get = hwm_kib(pid);
    println!(
        "  RSS before {:.1} MiB; peak during PUT +{:.1} MiB, during GET +{:.1} MiB",
        rss_before as f64 / 1024.0,
        hwm_put.saturating_sub(hwm_before) as f64 / 1024.0,
        hwm_get.saturating_sub(hwm_before) as f64 / 1024.0
    );
    client.delete_object("bench", "big").await.expect("delete");

    let (put_p50, floor_p50, file_p50) = interleaved_small_puts(
        server.url(),
        key.key.clone(),
        data_dir.clone(),
        server.database_url().to_owned(),
        args.small_ops / 4,
    )
    .await;
    println!(
        "  4 KiB PUT c=1 in blocks alternating with the floor's: PUT p50 {}, floor p50 {} ({:.0}% of the floor)",
        ms(put_p50),
        ms(floor_p50),
        100.0 * floor_p50.as_secs_f64() / put_p50.as_secs_f64()
    );

    let small = Bytes::from(vec![0x5au8; 4096]);
    let client = Arc::new(client);
    for concurrency in [1usize, 16] {
        let ops = if concurrency == 1 {
            args.small_ops / 4
        } else {
            args.small_ops
        };
        let (c, s) = (client.clone(), small.clone());
        let (rate, mut samples) = load(ops, concurrency, move |i| {
            let (c, s) = (c.clone(), s.clone());
            async move {
                c.put_object("bench", &format!("small/{concurrency}/{i}"), s, None)
                    .await
                    .expect("small PUT");
            }
        })
        .await;
        let p50 = percentile(&mut samples, 50.0);
        let p99 = percentile(&mut samples, 99.0);
        let vs_floor = if concurrency == 1 {
            // Against the floor measured beside the PUTs, not the one at
            // the start: the disk is slower once the suite has written.
            format!(
                " ({:.0}% of the floor)",
                100.0 * rate * floor_p50.as_secs_f64()
            )
        } else {
            // Grouped commits: the pace of serial file fsyncs alone (as
            // measured beside the c=1 PUTs).
            format!(
                " ({:.0}% of serial file fsyncs, {:.0} ops/s)",
                100.0 * rate * file_p50.as_secs_f64(),
                1.0 / file_p50.as_secs_f64()
            )
        };
        println!(
            "  4 KiB PUT c={concurrency:<2} {rate:>6.0} ops/s  p50 {}  p99 {}{vs_floor}",
            ms(p50),
            ms(p99)
        );
        let c = client.clone();
        let (rate, mut samples) = load(ops, concurrency, move |i| {
            let c = c.clone();
            async move {
                let dl = c
                    .get_object("bench", &format!("small/{concurrency}/{i}"), None, None)
                    .await
                    .expect("small GET");
                assert_eq!(dl.bytes().await.expect("body").len(), 4096);
            }
        })
        .await;
        println!(
            "  4 KiB GET c={concurrency:<2} {rate:>6.0} ops/s  p50 {}  p99 {}",
            ms(percentile(&mut samples, 50.0)),
            ms(percentile(&mut samples, 99.0))
        );
    }

    // Listing: the listed prefix sits between other keys of the same bucket.
    let total = args.list_keys + args.other_keys;
    let c = client.clone();
    let list_keys = args.list_keys;
    load(total, 16, move |i| {
        let c = c.clone();
        async move {
            let key = if i < list_keys {
                format!("m/{i:06}")
            } else if (i - list_keys).is_multiple_of(2) {
                format!("a/{i:06}")
            } else {
                format!("z/{i:06}")
            };
            c.put_object("bench", &key, Bytes::new(), None)
                .await
                .expect("listing PUT");
        }
    })
    .await;
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut params = ListObjectsParams {
            prefix: Some("m/".into()),
            limit: Some(1000),
            ..Default::default()
        };
        let mut listed = 0;
        loop {
            let page = client.list_objects("bench", &params).await.expect("list");
            listed += page.objects.len();
            match page.next_cursor {
                Some(c) => params.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(listed, args.list_keys);
        rounds.push(t.elapsed());
    }
    println!(
        "  list {} keys (pages of 1,000, {} other keys in the bucket)  median {}",
        args.list_keys,
        args.other_keys,
        ms(percentile(&mut rounds, 50.0))
    );
    if let Some(rss) = rss_kib(pid) {
        println!("  RSS at the end {:.1} MiB", rss as f64 / 1024.0);
    }
}

/// Runs the suite.
pub async fn run(args: Args) {
    let sqlite = TestServer::start_with(Backend::Sqlite, &[], &[("MINIAWS_LOG", "warn")])
        .await
        .expect("sqlite server");
    suite(&sqlite, "sqlite", &args).await;
    drop(sqlite);
    if args.sqlite_only {
        return;
    }
    match require_postgres() {
        Some(admin) => {
            let db = TestDatabase::create(&admin).await;
            let url = db.url.clone();
            let pg =
                TestServer::start_with_database(url, Some(db), &[], &[("MINIAWS_LOG", "warn")])
                    .await;
            suite(&pg, "postgres", &args).await;
        }
        None => println!("[postgres] skipped: set MINIAWS_TEST_DATABASE_URL"),
    }
}
