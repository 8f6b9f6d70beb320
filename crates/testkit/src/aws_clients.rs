//! The environment the real AWS clients run in (the aws CLI, boto3,
//! rclone, s3cmd, minio-py, the JavaScript SDK …): isolated, so that
//! nothing of the developer's own AWS setup (`~/.aws`, `AWS_PROFILE`,
//! instance metadata) reaches them, and signed with one test key.

use miniaws_client::CreatedKey;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Output;

use crate::TestServer;

/// The region clients are configured for (Mini AWS's one).
pub const AWS_REGION: &str = "us-east-1";

/// `program` with nothing of the developer's AWS setup: an empty
/// environment but `PATH`, `HOME` set to `home`, the AWS config and
/// credentials files `home/config` and `home/credentials` (absent unless
/// a test writes them), and no instance-metadata lookups (which would
/// otherwise wait for a timeout when no credentials are given).
pub fn isolated_command(program: impl AsRef<OsStr>, home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Client programs run as one key's owner against one server's AWS
/// listener, each in the [`isolated_command`] environment of a private
/// temporary home.
pub struct AwsClients {
    home: tempfile::TempDir,
    access_key_id: String,
    secret_access_key: String,
    endpoint: String,
}

impl AwsClients {
    /// Clients signing with `key`, against `server`'s AWS listener.
    pub fn new(server: &TestServer, key: &CreatedKey) -> Self {
        Self::with_endpoint(server.aws_url(), &key.access_key_id, &key.secret_access_key)
    }

    /// Clients signing with the pair `access_key_id`, `secret_access_key`
    /// against `endpoint`.
    pub fn with_endpoint(
        endpoint: impl Into<String>,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Self {
        Self {
            home: tempfile::tempdir().expect("a temporary home for the clients"),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            endpoint: endpoint.into(),
        }
    }

    /// The clients' home (a temporary directory, removed on drop).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The AWS listener's base URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The access key id the clients sign with.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key the clients sign with.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// `program` as a blocking command: [`isolated_command`] with the
    /// key (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), the region
    /// (`AWS_DEFAULT_REGION`) and the listener's URL in `ENDPOINT` (which
    /// the test scripts read).
    pub fn std_command(&self, program: impl AsRef<OsStr>) -> std::process::Command {
        let mut cmd = isolated_command(program, self.home());
        cmd.env("AWS_ACCESS_KEY_ID", &self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_access_key)
            .env("AWS_DEFAULT_REGION", AWS_REGION)
            .env("ENDPOINT", &self.endpoint);
        cmd
    }

    /// `program` as [`std_command`](Self::std_command) makes it, for
    /// tokio, killed if the test drops it.
    pub fn command(&self, program: impl AsRef<OsStr>) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::from(self.std_command(program));
        cmd.kill_on_drop(true);
        cmd
    }

    /// The aws CLI `cli` with `--endpoint-url <the listener>` and `args`.
    pub fn aws_command<I, S>(&self, cli: &Path, args: I) -> tokio::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(cli);
        cmd.arg("--endpoint-url").arg(&self.endpoint).args(args);
        cmd
    }

    /// Runs the aws CLI `cli` with `args` (see
    /// [`aws_command`](Self::aws_command)) and returns what it did,
    /// success or not.
    pub async fn run_aws<I, S>(&self, cli: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.aws_command(cli, args)
            .output()
            .await
            .expect("the aws CLI runs")
    }

    /// Runs the aws CLI `cli` with `args`, which must succeed. Panics
    /// with the CLI's stdout and stderr otherwise.
    pub async fn aws<I, S>(&self, cli: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.aws_expecting(cli, args, true).await
    }

    /// Runs the aws CLI `cli` with `args`, which must fail; its stderr.
    /// Panics with the CLI's stdout otherwise.
    pub async fn aws_fails<I, S>(&self, cli: &Path, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.aws_expecting(cli, args, false).await;
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    async fn aws_expecting<I, S>(&self, cli: &Path, args: I, success: bool) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run_aws(cli, &args).await;
        assert_eq!(
            out.status.success(),
            success,
            "aws {args:?} {}: {}\n{}",
            if success { "failed" } else { "succeeded" },
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// Runs `cmd` (a client script), which must succeed and print `ok` (as
/// the test scripts do once all their assertions held); its stdout.
/// Panics with its stdout and stderr otherwise.
pub async fn script_ok(cmd: &mut tokio::process::Command, ok: &str) -> String {
    let out = cmd.output().await.expect("the script runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains(ok),
        "the script did not print {ok:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
