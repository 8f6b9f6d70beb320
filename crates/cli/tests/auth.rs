//! `cloud auth …`, `cloud completion`, help, the menu and the error paths,
//! against a real server.

mod common;

use common::{Env, assert_failure, cloud_bare, dead_endpoint};
use std::os::unix::fs::PermissionsExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_commands_in_human_and_json_form() {
    let env = Env::start().await;

    // create-demo: prints the secrets once, saves the profile with mode 0600.
    let out = env.ok(&["auth", "create-demo", "alice"]);
    assert!(out.contains("Created user alice"), "{out}");
    let key = out
        .split_whitespace()
        .find(|w| w.starts_with("mk_"))
        .expect("the key is shown at creation")
        .to_owned();
    assert_eq!(key.len(), 43, "the whole key is shown once: {out}");
    assert!(out.contains("AKIA"), "{out}");
    let config = env.config_file();
    let mode = std::fs::metadata(&config)
        .expect("config written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&config)
            .expect("readable")
            .contains(&key)
    );

    // A second create-demo would overwrite the saved key: refused.
    let err = env.fails(&["auth", "create-demo", "bob"], 1);
    assert!(err.contains("already holds a key (user alice)"), "{err}");
    assert!(err.contains("--profile"), "{err}");

    // whoami: the key is never printed in full again.
    let out = env.ok(&["auth", "whoami"]);
    assert!(out.contains("alice"), "{out}");
    assert!(out.contains(&format!("{}…", &key[..9])), "{out}");
    assert!(!out.contains(&key), "whoami must not print the key: {out}");
    let me = env.json(&["auth", "whoami"]);
    assert_eq!(me["user"]["name"], "alice");
    let alice_key_id = me["key_id"].as_str().expect("key id").to_owned();

    // keys create: JSON carries the new secrets; list shows both keys.
    let laptop = env.json(&["auth", "keys", "create", "laptop"]);
    assert_eq!(laptop["name"], "laptop");
    let laptop_key = laptop["key"].as_str().expect("key").to_owned();
    let laptop_id = laptop["id"].as_str().expect("id").to_owned();
    let out = env.ok(&["auth", "keys", "create", "ci"]);
    assert!(out.contains("Created API key ci"), "{out}");
    assert!(out.contains("cloud auth login mk_"), "{out}");

    let table = env.ok(&["auth", "keys", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "header + 3 keys:\n{table}");
    assert!(lines[0].starts_with("ID"), "{table}");
    assert!(lines[1].contains("alice (this one)"), "{table}");
    assert!(table.contains("laptop") && table.contains("ci"), "{table}");
    assert!(
        !table.contains(&key) && !table.contains(&laptop_key),
        "{table}"
    );
    // Columns are aligned: NAME starts at the same offset on every line.
    let col = lines[0].find("NAME").expect("NAME column");
    assert!(
        lines[1..].iter().all(|l| l[..col].ends_with("  ")),
        "{table}"
    );
    let listed = env.json(&["auth", "keys", "list"]);
    let listed = listed.as_array().expect("a JSON array");
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().all(|k| k.get("key").is_none()),
        "no secrets listed"
    );

    // login with the laptop key into its own profile.
    let out = env.ok(&["auth", "login", &laptop_key, "--profile", "laptop"]);
    assert!(out.contains("Logged in") && out.contains("alice"), "{out}");
    assert!(!out.contains(&laptop_key), "{out}");
    let me = env.json(&["--profile", "laptop", "auth", "whoami"]);
    assert_eq!(me["key_id"], laptop_id.as_str());
    // login made "laptop" the active profile.
    assert_eq!(env.json(&["auth", "whoami"])["key_id"], laptop_id.as_str());
    // login from stdin keeps the key out of argv.
    let out = env
        .cloud()
        .args(["--json", "auth", "login", "-", "--profile", "default"])
        .write_stdin(format!("{key}\n"))
        .output()
        .expect("runs");
    common::assert_success(&["auth", "login", "-"], &out);
    assert_eq!(
        env.json(&["auth", "whoami"])["key_id"],
        alice_key_id.as_str()
    );

    // revoke by unique id prefix (human), then by name (JSON).
    // The revoked key leaves every profile that holds it ("laptop", not
    // the one in use), and the active profile stays the active one.
    let out = env.ok(&["auth", "keys", "revoke", &laptop_id[..8]]);
    assert!(out.contains("Revoked API key laptop"), "{out}");
    assert!(out.contains("profile \"laptop\"; removed it"), "{out}");
    let err = env.fails(&["--profile", "laptop", "auth", "whoami"], 1);
    assert!(err.contains("no API key"), "{err}");
    assert_eq!(
        env.json(&["auth", "whoami"])["key_id"],
        alice_key_id.as_str(),
        "still the active profile's key"
    );
    // Revoking a profile's own key through `--profile` does not make that
    // profile the active one.
    let spare = env.json(&["auth", "keys", "create", "spare", "--save-as", "spare"]);
    let spare_id = spare["id"].as_str().expect("id").to_owned();
    let spare_secret = spare["secret_access_key"]
        .as_str()
        .expect("secret")
        .to_owned();
    env.ok(&["--profile", "spare", "auth", "aws-env"]);
    env.ok(&["--profile", "spare", "auth", "keys", "revoke", &spare_id]);
    // Its AWS pair went with it: not handed out, not kept on disk.
    env.fails(&["--profile", "spare", "auth", "aws-env"], 1);
    let file = std::fs::read_to_string(env.config_file()).expect("reads");
    assert!(!file.contains(&spare_secret), "{file}");
    assert_eq!(
        env.json(&["auth", "whoami"])["key_id"],
        alice_key_id.as_str(),
        "the active profile did not change"
    );
    let revoked = env.json(&["auth", "keys", "revoke", "ci"]); // by name
    assert_eq!(revoked["revoked"], true);
    let err = env.fails(&["auth", "keys", "revoke", "ffffffff"], 1);
    assert!(
        err.contains("no API key with id, id prefix or name"),
        "{err}"
    );

    // The last key needs --force; afterwards the profile forgets it.
    let err = env.fails(&["auth", "keys", "revoke", &alice_key_id], 1);
    assert!(
        err.contains("last API key") && err.contains("--force"),
        "{err}"
    );
    let out = env.ok(&["auth", "keys", "revoke", &alice_key_id, "--force"]);
    assert!(out.contains("removed it from"), "{out}");
    assert!(
        !std::fs::read_to_string(&config)
            .expect("readable")
            .contains(&key)
    );
    let err = env.fails(&["auth", "whoami"], 1);
    assert_eq!(
        err.trim(),
        "error: no API key: run `cloud auth create-demo <name>` or pass --api-key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_list_and_revoke_see_every_page() {
    use futures::StreamExt;
    let env = Env::start().await;
    let api_key = env.sign_up("sam");
    let c = miniaws_client::Client::new(&env.server.url())
        .expect("client")
        .with_api_key(api_key);
    // With the first key, one more than the server's page (1,000).
    futures::stream::iter(1..1001)
        .for_each_concurrent(16, |i| {
            let c = c.clone();
            async move {
                c.create_key(&format!("k{i:04}"))
                    .await
                    .expect("key created");
            }
        })
        .await;
    let page = c.list_keys_page(None, None).await.expect("one page");
    assert_eq!(page.data.len(), 1000, "the server's page is shorter");
    assert!(page.next_token.is_some());
    let last = c.list_keys().await.expect("all").pop().expect("keys");

    let listed = env.json(&["auth", "keys", "list"]);
    let keys = listed.as_array().expect("an array");
    assert_eq!(keys.len(), 1001, "every key");
    assert_eq!(keys[1000]["id"], last.id.to_string(), "the second page too");
    let table = env.ok(&["auth", "keys", "list"]);
    assert!(table.contains(&last.name), "{table}");
    // A key on the second page is found by name, and revoked.
    env.ok(&["auth", "keys", "revoke", &last.name]);
    assert_eq!(
        env.json(&["auth", "keys", "list"]).as_array().map(Vec::len),
        Some(1000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_paths_say_what_to_do() {
    let env = Env::start().await;

    // Server down.
    let dead = dead_endpoint();
    let out = cloud_bare(env.home.path())
        .args(["--endpoint", &dead, "-k", "mk_whatever", "auth", "whoami"])
        .output()
        .expect("runs");
    let err = assert_failure(&["auth", "whoami"], &out, 1);
    assert_eq!(
        err.trim(),
        format!("error: cannot reach miniaws at {dead} — is `miniaws serve` running?")
    );

    // A server that takes the connection and never answers: reported
    // once the answer timeout passes, not waited for forever.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let silent_url = format!("http://{}", silent.local_addr().expect("address"));
    let started = std::time::Instant::now();
    let out = cloud_bare(env.home.path())
        .args([
            "--endpoint",
            &silent_url,
            "-k",
            "mk_whatever",
            "--timeout",
            "1",
        ])
        .args(["compute", "list"])
        .output()
        .expect("runs");
    let err = assert_failure(&["compute", "list"], &out, 1);
    assert!(
        err.contains(&format!(
            "miniaws at {silent_url} did not answer within 1 s"
        )),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "gave up after {:?}",
        started.elapsed()
    );
    drop(silent);

    // No key at all, then a bad key.
    let err = env.fails(&["auth", "keys", "list"], 1);
    assert!(
        err.contains("no API key: run `cloud auth create-demo <name>`"),
        "{err}"
    );
    let err = env.fails(&["-k", "mk_notakeynotakeynotakey", "auth", "whoami"], 1);
    assert!(err.contains("invalid or revoked API key"), "{err}");
    assert!(err.contains("cloud auth login"), "{err}");
    // The key from the environment works like --api-key.
    let key = env.sign_up("carol");
    std::fs::remove_file(env.config_file()).expect("config removed");
    let out = env
        .cloud()
        .env("MINIAWS_API_KEY", &key)
        .args(["--json", "auth", "whoami"])
        .output()
        .expect("runs");
    common::assert_success(&["auth", "whoami"], &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("carol"));

    // Server-side validation is passed on verbatim.
    let err = env.fails(&["auth", "create-demo", "bad name!"], 1);
    assert!(err.contains("user name"), "{err}");

    // Bad endpoint, broken config, usage errors.
    let err = env.fails(
        &[
            "--endpoint",
            "localhost:8080",
            "-k",
            "mk_x",
            "auth",
            "whoami",
        ],
        1,
    );
    assert!(
        err.contains("invalid endpoint") && err.contains("http://"),
        "{err}"
    );
    std::fs::write(env.config_file(), "profiles = 3\n").expect("writes");
    let err = env.fails(&["auth", "whoami"], 1);
    assert!(
        err.contains("config.toml is not a valid cloud configuration"),
        "{err}"
    );
    let err = env.fails(&["auth", "frobnicate"], 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
    env.fails(&["auth", "keys", "create"], 2);
}

/// A new key whose profile cannot be saved is shown anyway: it exists on
/// the server, and its secrets are never shown again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_cannot_be_saved_is_still_shown() {
    let env = Env::start().await;
    // A config directory under /proc: nothing to read there, and no
    // directory can be made in it, whoever runs the test.
    let unwritable = || {
        let mut cloud = env.cloud();
        cloud.env("XDG_CONFIG_HOME", "/proc");
        cloud
    };
    let out = unwritable()
        .args(["auth", "create-demo", "erin"])
        .output()
        .expect("runs");
    let err = assert_failure(&["auth", "create-demo"], &out, 1);
    assert!(
        err.contains("the key was created and is shown above"),
        "{err}"
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    let key = shown
        .split_whitespace()
        .find(|w| w.starts_with("mk_"))
        .unwrap_or_else(|| panic!("the key is printed: {shown}"));
    assert!(shown.contains("AWS secret access key"), "{shown}");
    let me = env.client(key).whoami().await.expect("the shown key works");
    assert_eq!(me.user.name, "erin");

    // The same for `keys create --save-as`, in JSON.
    let out = unwritable()
        .args([
            "-k",
            key,
            "--json",
            "auth",
            "keys",
            "create",
            "second",
            "--save-as",
            "other",
        ])
        .output()
        .expect("runs");
    assert_failure(&["auth", "keys", "create"], &out, 1);
    let created: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the key as JSON on stdout");
    let second = created["key"].as_str().expect("key");
    let me = env
        .client(second)
        .whoami()
        .await
        .expect("the second key works");
    assert_eq!(me.user.name, "erin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_shows_the_exchange_without_secrets() {
    let env = Env::start().await;
    let key = env.sign_up("dave");
    let out = env
        .cloud()
        .args(["--verbose", "auth", "whoami"])
        .output()
        .expect("runs");
    common::assert_success(&["--verbose", "auth", "whoami"], &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("> GET http://"), "{stderr}");
    assert!(stderr.contains("/auth/whoami"), "{stderr}");
    assert!(stderr.contains("< HTTP/1.1 200 OK"), "{stderr}");
    assert!(
        stderr.contains(&format!("> x-api-key: {}…", &key[..9])),
        "{stderr}"
    );
    assert!(!stderr.contains(&key), "the key leaked: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("dave"));
}

#[test]
fn completion_scripts_for_three_shells() {
    let home = tempfile::tempdir().expect("temp dir");
    for (shell, marker) in [
        ("bash", "_cloud()"),
        ("zsh", "#compdef cloud"),
        ("fish", "complete -c cloud"),
    ] {
        let out = cloud_bare(home.path())
            .args(["completion", shell])
            .output()
            .expect("runs");
        common::assert_success(&["completion", shell], &out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {marker} missing");
        assert!(
            text.contains("create-demo"),
            "{shell} completes subcommands"
        );
    }
    let out = cloud_bare(home.path())
        .args(["completion", "tcsh"])
        .output()
        .expect("runs");
    assert_failure(&["completion", "tcsh"], &out, 2);
    // A reader that stops early (`| head -1`) is no error (it panicked).
    let mut child = common::cloud_std(home.path())
        .args(["completion", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_arguments_off_a_terminal_prints_help() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = cloud_bare(home.path()).output().expect("runs");
    common::assert_success(&[], &out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: cloud"), "{text}");
    assert!(
        text.contains("auth") && text.contains("--endpoint"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour off a terminal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_env_points_the_aws_cli_at_the_server() {
    let env = Env::start().await;
    env.sign_up("ava");
    env.ok(&["storage", "mb", "from-cloud"]);
    let aws_url = env.server.aws_url();

    // The variables, in JSON and as shell lines.
    let vars = env.json(&["auth", "aws-env", "--aws-endpoint", &aws_url]);
    assert_eq!(vars["AWS_ENDPOINT_URL"], aws_url.trim_end_matches('/'));
    assert_eq!(vars["AWS_REGION"], "us-east-1");
    let id = vars["AWS_ACCESS_KEY_ID"].as_str().expect("id").to_owned();
    assert!(id.starts_with("AKIA"), "{id}");
    let config = std::fs::read_to_string(env.config_file()).expect("config");
    assert!(config.contains(&id), "create-demo kept the pair");
    let mode = std::fs::metadata(env.config_file())
        .expect("config")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the file holding the secret is private"
    );
    let out = env.ok(&["auth", "aws-env"]);
    assert!(
        out.contains("export AWS_ENDPOINT_URL='http://127.0.0.1:4566'"),
        "the default is the AWS listener's default port: {out}"
    );

    // `eval` in a shell, then the real aws CLI with nothing else set: it
    // lists the bucket made with `cloud` and writes into it.
    if let Some(cli) = miniaws_testkit::require_tool("MINIAWS_TEST_AWS_CLI") {
        let cloud = assert_cmd::cargo::cargo_bin("cloud");
        let script = format!(
            "eval \"$('{}' auth aws-env --aws-endpoint '{aws_url}')\" && '{}' s3 ls && echo hi | '{}' s3 cp - s3://from-cloud/hello.txt",
            cloud.display(),
            cli.display(),
            cli.display()
        );
        let out = miniaws_testkit::isolated_command("sh", env.home.path())
            .arg("-c")
            .arg(&script)
            .env("XDG_CONFIG_HOME", env.home.path())
            .env("MINIAWS_ENDPOINT", env.server.url())
            .output()
            .expect("sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("from-cloud"), "{stdout}");
        let listed = env.json(&["storage", "ls", "from-cloud"]);
        assert_eq!(listed[0]["key"], "hello.txt", "{listed}");
    }

    // A key created with --save-as keeps its pair in that profile; a login
    // cannot, and aws-env says how to get one.
    let created = env.json(&["auth", "keys", "create", "laptop", "--save-as", "laptop"]);
    let laptop = env.json(&["--profile", "laptop", "auth", "aws-env"]);
    assert_eq!(laptop["AWS_ACCESS_KEY_ID"], created["access_key_id"]);
    assert_eq!(
        laptop["AWS_SECRET_ACCESS_KEY"],
        created["secret_access_key"]
    );
    assert_eq!(
        env.json(&["--profile", "laptop", "auth", "whoami"])["user"]["name"],
        "ava"
    );
    let err = env.fails(
        &["auth", "keys", "create", "again", "--save-as", "laptop"],
        1,
    );
    assert!(err.contains("already holds a key"), "{err}");
    let key = created["key"].as_str().expect("key");
    env.ok(&["--profile", "plain", "auth", "login", key]);
    let err = env.fails(&["--profile", "plain", "auth", "aws-env"], 1);
    assert!(
        err.contains("keeps no AWS secret access key") && err.contains("--save-as"),
        "{err}"
    );
}

/// Without HOME or XDG_CONFIG_HOME (a CI job, a service), the flags and
/// MINIAWS_* variables are enough for a command that saves nothing; one
/// that would save says why it cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_configuration_directory_is_needed_to_use_a_key() {
    let env = Env::start().await;
    let key = env.sign_up("homeless");
    let bare = || {
        let mut cmd = common::cloud_std(env.home.path());
        cmd.env_remove("HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env("MINIAWS_ENDPOINT", env.server.url());
        cmd
    };
    let out = bare()
        .env("MINIAWS_API_KEY", &key)
        .args(["--json", "auth", "whoami"])
        .output()
        .expect("cloud runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bare()
        .args(["auth", "create-demo", "another"])
        .output()
        .expect("cloud runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("XDG_CONFIG_HOME or HOME") && err.contains("nothing can be saved"),
        "{err}"
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("Created user another and its first API key"),
        "it says what was made: {shown}"
    );
}

/// A profile that is not in the file is named as such, not reported as a
/// missing key; an empty profile name cannot be saved (it could never be
/// selected).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_that_cannot_be_used_are_named() {
    let env = Env::start().await;
    env.sign_up("profiled");
    let err = env.fails(&["--profile", "nope", "auth", "whoami"], 1);
    assert!(
        err.contains("no profile \"nope\"") && err.contains("default"),
        "{err}"
    );
    let err = env.fails(&["auth", "keys", "create", "k", "--save-as", ""], 1);
    assert!(err.contains("--save-as needs a profile name"), "{err}");
    let keys = env.json(&["auth", "keys", "list"]);
    assert_eq!(
        keys.as_array().map(Vec::len),
        Some(1),
        "nothing was created"
    );
}
