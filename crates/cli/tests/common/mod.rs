//! Shared set-up of the CLI tests: a real `miniaws` (testkit), a temporary
//! config directory, and the real `cloud` binary run as a user would.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use assert_cmd::Command;
use miniaws_testkit::{Backend, TestServer};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A server plus a private config directory for `cloud`.
pub struct Env {
    /// The running server.
    pub server: TestServer,
    /// `$XDG_CONFIG_HOME` (and `$HOME`) for `cloud`.
    pub home: tempfile::TempDir,
}

impl Env {
    /// Starts a server on SQLite with an empty config directory.
    pub async fn start() -> Self {
        let server = TestServer::start(Backend::Sqlite)
            .await
            .expect("SQLite servers always start");
        Self {
            server,
            home: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `cloud` pointed at this server and config directory, with nothing
    /// inherited from the developer's environment.
    pub fn cloud(&self) -> Command {
        let mut cmd = cloud_bare(self.home.path());
        cmd.env("MINIAWS_ENDPOINT", self.server.url());
        cmd
    }

    /// [`Env::cloud`] as a plain `std::process::Command`.
    pub fn cloud_std(&self) -> std::process::Command {
        let mut cmd = cloud_std(self.home.path());
        cmd.env("MINIAWS_ENDPOINT", self.server.url());
        cmd
    }

    /// Runs `cloud args…`, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cloud().args(args).output().expect("cloud runs");
        assert_success(args, &out);
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    }

    /// Runs `cloud --json args…`, asserts success, parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "`cloud {}` printed invalid JSON ({e}):\n{text}",
                all.join(" ")
            )
        })
    }

    /// Runs `cloud args…`, asserts it fails with `code`, returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.cloud().args(args).output().expect("cloud runs");
        assert_failure(args, &out, code)
    }

    /// The config file `cloud` writes.
    pub fn config_file(&self) -> PathBuf {
        self.home.path().join("miniaws").join("config.toml")
    }

    /// A client of this server holding `api_key`, to set up what `cloud`
    /// would never write and to check what it did.
    pub fn client(&self, api_key: &str) -> miniaws_client::Client {
        miniaws_client::Client::new(&self.server.url())
            .expect("client")
            .with_api_key(api_key)
    }

    /// Creates user `name` with `cloud auth create-demo` and returns its key.
    pub fn sign_up(&self, name: &str) -> String {
        let created = self.json(&["auth", "create-demo", name]);
        created["key"].as_str().expect("key in JSON").to_owned()
    }
}

/// `cloud` with a clean environment and `home` as config/home directory.
pub fn cloud_bare(home: &Path) -> Command {
    Command::from_std(cloud_std(home))
}

/// [`cloud_bare`] as a plain `std::process::Command` (to spawn and signal).
pub fn cloud_std(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cloud"));
    for var in [
        "MINIAWS_ENDPOINT",
        "MINIAWS_API_KEY",
        "MINIAWS_PROFILE",
        "NO_COLOR",
        "CLICOLOR_FORCE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", home).env("HOME", home);
    cmd
}

/// Asserts `out` is a success.
pub fn assert_success(args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "`cloud {}` failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts `out` failed with exit `code` and a one-line `error:` message
/// (usage errors, code 2, are clap's multi-line text); returns stderr.
pub fn assert_failure(args: &[&str], out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "`cloud {}`: exit code\nstdout:\n{}\nstderr:\n{stderr}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
    );
    if code == 1 {
        assert_eq!(stderr.lines().count(), 1, "one line of error: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    stderr
}

/// Sends `child` (a running `cloud`) SIGINT, as Ctrl-C does, and waits for
/// it: asserts it exits 130 and returns its standard error.
pub fn interrupt(child: std::process::Child) -> String {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("cloud exits");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    stderr
}

/// A loopback URL where nothing listens.
pub fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = listener.local_addr().expect("has an address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Every file under `root` (links as `-> target`), relative, with its bytes.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("lists") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let kind = entry.file_type().expect("type");
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).expect("reads link");
                out.push((format!("{rel} -> {}", target.display()), Vec::new()));
            } else if kind.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                dirs.push(path);
            } else {
                out.push((rel, std::fs::read(&path).expect("reads")));
            }
        }
    }
    out.sort();
    out
}

/// Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Removes every container of `owner` when dropped.
pub struct Containers {
    /// The user id the containers are labelled with.
    pub owner: String,
}

impl Drop for Containers {
    fn drop(&mut self) {
        let filter = format!("label=miniaws.owner={}", self.owner);
        let Ok(out) = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output()
        else {
            return;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !ids.is_empty() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f"])
                .args(&ids)
                .output();
        }
        // And the owner's network, which the server removes only with the
        // containers it removes itself.
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &format!("miniaws-owner-{}", self.owner)])
            .output();
    }
}

/// The id of the user `env`'s active profile belongs to.
pub fn user_id(env: &Env) -> String {
    env.json(&["auth", "whoami"])["user"]["id"]
        .as_str()
        .expect("user id")
        .to_owned()
}
