//! A real `miniaws` process for integration tests.

use miniaws_client::Client;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::postgres::{TestDatabase, require_postgres};

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the temporary data directory.
    Sqlite,
    /// A fresh database on the test Postgres server.
    Postgres,
}

/// The path of the `miniaws` binary: `MINIAWS_BIN`, else next to the test
/// executable's `deps/` directory (where `cargo test --workspace` puts it).
pub fn miniaws_bin() -> PathBuf {
    if let Ok(path) = std::env::var("MINIAWS_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // Test binaries live in target/<profile>/deps, bench binaries beside
    // miniaws in target/<profile>.
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("miniaws"))
        .collect();
    candidates.iter().find(|p| p.exists()).cloned().unwrap_or_else(|| {
        panic!(
            "no miniaws binary in {:?}: run `cargo build --bin miniaws` (or the whole `cargo test --workspace`)",
            candidates
        )
    })
}

/// A running `miniaws` with its own data directory and database.
pub struct TestServer {
    child: Option<Child>,
    data_dir: tempfile::TempDir,
    database_url: String,
    _database: Option<TestDatabase>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    /// The native API address.
    pub native: SocketAddr,
    /// The AWS-compatible endpoint address, when the server has one.
    pub aws: Option<SocketAddr>,
}

impl TestServer {
    /// Starts a server on `backend` with default options. Returns `None`
    /// (after a loud message) when Postgres is asked for but not configured
    /// and not required.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, &[], &[]).await
    }

    /// Starts a server with extra command-line arguments and environment.
    pub async fn start_with(
        backend: Backend,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Option<Self> {
        let data_dir = tempfile::Builder::new()
            .prefix("miniaws-test-")
            .tempdir()
            .expect("a temporary directory can be created");
        let (database_url, database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", data_dir.path().join("miniaws.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin = require_postgres()?;
                let db = TestDatabase::create(&admin).await;
                (db.url.clone(), Some(db))
            }
        };
        Some(Self::start_on(data_dir, database_url, database, args, envs).await)
    }

    /// Starts a server on an explicit database URL (for tests that route the
    /// database through a proxy, and the benches), with extra environment
    /// variables; `database` is dropped with the server.
    pub async fn start_with_database(
        database_url: String,
        database: Option<TestDatabase>,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("miniaws-test-")
            .tempdir()
            .expect("a temporary directory can be created");
        Self::start_on(data_dir, database_url, database, args, envs).await
    }

    /// Starts a server in `dir` (its data directory is `dir/data`, its log
    /// `dir/server.log`) on an explicit database URL: for tests that mount
    /// a small file system at `dir/data` first.
    pub async fn start_in(
        dir: tempfile::TempDir,
        database_url: String,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        Self::start_on(dir, database_url, None, args, envs).await
    }

    async fn start_on(
        data_dir: tempfile::TempDir,
        database_url: String,
        database: Option<TestDatabase>,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let mut server = Self {
            child: None,
            data_dir,
            database_url,
            _database: database,
            args: args.iter().map(|s| s.to_string()).collect(),
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            native: SocketAddr::from(([127, 0, 0, 1], 0)),
            aws: None,
        };
        server.spawn(false).await;
        server
    }

    /// The temporary data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The database URL the server uses.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The native API base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.native)
    }

    /// The AWS endpoint base URL. Panics if the server has none.
    pub fn aws_url(&self) -> String {
        format!(
            "http://{}",
            self.aws.expect("the server has an AWS endpoint")
        )
    }

    /// A client without a key.
    pub fn client(&self) -> Client {
        Client::new(&self.url()).expect("the client builds")
    }

    /// Signs up `name` and returns a client using its key, plus the key.
    pub async fn user(&self, name: &str) -> (Client, miniaws_client::CreatedKey) {
        let key = self
            .client()
            .create_key(name)
            .await
            .unwrap_or_else(|e| panic!("sign-up of {name} failed: {e}"));
        (self.client().with_api_key(key.key.clone()), key)
    }

    /// The server's log so far (stderr), with every line of what happened
    /// before the call: the server writes its log from a thread of its own,
    /// shortly after each event, so while it runs this first sends it a
    /// request (`GET /health` with a request id of its own) and waits, at
    /// most 5 s, for that request's access line.
    pub fn log(&self) -> String {
        if self.pid().is_some() {
            self.wait_for_log_sync();
        }
        self.log_file()
    }

    fn log_file(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    /// See [`Self::log`]. Blocking I/O on purpose (`log` is called from
    /// synchronous assertions); the server is another process.
    fn wait_for_log_sync(&self) {
        use std::io::{Read, Write};
        let marker = format!("log-sync-{}", uuid::Uuid::new_v4().simple());
        let Ok(mut stream) =
            std::net::TcpStream::connect_timeout(&self.native, Duration::from_secs(2))
        else {
            return; // not listening (any more): the log is what it is
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "GET /health HTTP/1.1\r\nHost: localhost\r\nx-request-id: {marker}\r\nConnection: close\r\n\r\n"
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return;
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !self.log_file().contains(&marker) {
            if std::time::Instant::now() >= deadline {
                eprintln!("testkit: the server's log did not show {marker} within 5 s");
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The OS process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Starts the process; `same_ports`: on the addresses the previous
    /// process listened on, else on ports the system picks.
    async fn spawn(&mut self, same_ports: bool) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.path().join("server.log"))
            .expect("the server log can be created");
        let mut cmd = Command::new(miniaws_bin());
        let (native, aws) = match (same_ports, self.aws) {
            (true, Some(aws)) => (self.native.to_string(), aws.to_string()),
            _ => ("127.0.0.1:0".to_owned(), "127.0.0.1:0".to_owned()),
        };
        cmd.arg("--listen")
            .arg(native)
            .arg("--aws-listen")
            .arg(aws)
            .arg("--data-dir")
            .arg(self.data_dir.path().join("data"))
            .arg("--database-url")
            .arg(&self.database_url)
            .args(&self.args)
            .env_remove("PORT")
            .env("MINIAWS_LOG", "info,miniaws=debug")
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("the miniaws binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut native = None;
        let mut aws = None;
        let read = async {
            while let Ok(Some(line)) = lines.next_line().await {
                let line = line.trim();
                if let Some(addr) = line.strip_prefix("native API") {
                    native = addr.trim().trim_start_matches("http://").parse().ok();
                } else if let Some(rest) = line.strip_prefix("AWS") {
                    // "AWS  http://ADDR  (S3, EC2)": the address is the
                    // first word after the label.
                    aws = rest
                        .split_whitespace()
                        .next()
                        .map(|w| w.trim_start_matches("http://"))
                        .and_then(|a| a.parse().ok());
                } else if line.starts_with("database") {
                    return true;
                }
            }
            false
        };
        let ok = tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .unwrap_or(false);
        assert!(
            ok && native.is_some(),
            "miniaws did not start; its log:\n{}",
            self.log_file()
        );
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.native = native.expect("checked above");
        self.aws = aws;
        self.child = Some(child);
    }

    /// Sends SIGKILL and waits for the process to die (a crash).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Sends SIGTERM and waits up to 30 s for a graceful exit; returns
    /// whether the process exited successfully.
    pub async fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(Ok(status)) => status.success(),
            _ => {
                let _ = child.kill().await;
                false
            }
        }
    }

    /// Starts the process again on the same data directory and database
    /// (after [`kill`](Self::kill) or [`stop`](Self::stop)). Ports change.
    pub async fn restart(&mut self) {
        if self.child.is_some() {
            self.stop().await;
        }
        self.spawn(false).await;
    }

    /// [`restart`](Self::restart) on the same ports, as a supervisor
    /// restarting a crashed server would: clients that were talking to the
    /// old process reach the new one.
    pub async fn restart_on_same_ports(&mut self) {
        if self.child.is_some() {
            self.stop().await;
        }
        self.spawn(true).await;
    }
}
