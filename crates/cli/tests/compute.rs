//! `cloud compute …` against a real server and the real Docker daemon, with
//! the busybox test image. Every container the server creates for this test
//! carries the `miniaws.owner` label of the test's user and is removed at
//! the end, even when an assertion fails.

mod common;

use common::{Containers, Env, interrupt, user_id};
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

/// One HTTP/1.0 request to `url` (`http://127.0.0.1:PORT`); the status line.
/// The first line of the answer to `GET /` at `url`, retried for a few
/// seconds: RUNNING means the container runs, not that its workload has
/// bound its port yet (Docker's proxy accepts and then drops the
/// connection until it has).
fn http_status_line(url: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let line = try_status_line(addr);
        if !line.is_empty() || std::time::Instant::now() >= deadline {
            return line;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn try_status_line(addr: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("sets a timeout");
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .is_err()
    {
        return String::new();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compute_commands_against_real_docker() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let env = Env::start().await;
    env.sign_up("alice");
    let owner = user_id(&env);
    let _cleanup = Containers { owner };

    // The seed's command, exactly as written: nginx:alpine is not on this
    // machine and no registry is reachable, so the server's image error
    // comes through as one line.
    let err = env.fails(
        &[
            "compute",
            "launch",
            "--name",
            "my-server",
            "--image",
            "nginx:alpine",
            "--port",
            "8080:80",
        ],
        1,
    );
    assert!(err.contains("image not found: nginx:alpine"), "{err}");
    assert!(err.contains("docker build / docker load"), "{err}");

    // images: what a launch uses without a pull, as a table and as JSON.
    let table = env.ok(&["compute", "images"]);
    assert!(
        table
            .lines()
            .any(|l| l.contains(&image) && l.contains("amd64")),
        "{table}"
    );
    let images = env.json(&["compute", "images"]);
    let listed = images
        .as_array()
        .expect("a list")
        .iter()
        .find(|i| i["name"] == image.as_str())
        .unwrap_or_else(|| panic!("{image} in {images}"));
    assert!(
        listed["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("sha256:")),
        "{listed}"
    );

    // launch: JSON, with a port on any free host port, env and a command.
    let web = env.json(&[
        "compute",
        "launch",
        "--name",
        "web",
        "--image",
        &image,
        "--port",
        "80",
        "--env",
        "MODE=dev",
        "--tag",
        "team=web ops",
        "--",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/",
    ]);
    assert_eq!(web["state"], "RUNNING", "{web}");
    assert_eq!(web["env"]["MODE"], "dev");
    assert_eq!(web["tags"]["team"], "web ops");
    let err = env.fails(
        &[
            "compute", "launch", "--name", "bad-tag", "--image", &image, "--tag", "aws:x=1",
        ],
        1,
    );
    assert!(err.contains("reserved for AWS"), "{err}");
    assert_eq!(web["command"][0], "httpd");
    let web_id = web["id"].as_str().expect("id").to_owned();
    let host_port = web["ports"][0]["host_port"].as_u64().expect("published");
    let access = format!("127.0.0.1:{host_port}->80");
    let url = web["urls"][0].as_str().expect("a URL").to_owned();
    assert!(
        http_status_line(&url).starts_with("HTTP/1."),
        "httpd answers at {url}"
    );

    // launch: human, with a command after `--`.
    let out = env.ok(&[
        "compute",
        "launch",
        "--name",
        "job",
        "--image",
        &image,
        "--type",
        "t3.nano",
        "--",
        "sh",
        "-c",
        "echo hello from job; echo second line; sleep 300",
    ]);
    assert!(
        out.contains("Launched job") && out.contains("running"),
        "{out}"
    );

    // list: the access URL in the table; JSON is the API's data.
    let table = env.ok(&["compute", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "header + 2 instances:\n{table}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("PORTS"),
        "{table}"
    );
    assert!(
        table.contains(&access),
        "access URL {access} missing:\n{table}"
    );
    assert!(table.contains("t3.nano"), "{table}");
    let listed = env.json(&["compute", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));

    // show: by name (human), by unique id prefix (JSON).
    let out = env.ok(&["compute", "show", "web"]);
    assert!(out.contains(&web_id) && out.contains(&access), "{out}");
    assert!(out.contains("MODE=dev"), "{out}");
    assert!(out.contains("team=web ops"), "{out}");
    let out = env.ok(&["compute", "tag", "web", "env=prod", "--remove", "team"]);
    assert_eq!(out.trim(), "web: env=prod");
    let tagged = env.json(&["compute", "tag", "web", "--remove", "env"]);
    assert_eq!(tagged["tags"], serde_json::json!({}));
    let err = env.fails(&["compute", "tag", "web"], 1);
    assert!(err.contains("name the tags"), "{err}");
    let shown = env.json(&["compute", "show", &web_id[..8]]);
    assert_eq!(shown["name"], "web");
    // And by its EC2 id, as `aws ec2 describe-instances` shows it.
    let ec2_id = shown["ec2_instance_id"].as_str().expect("an EC2 id");
    assert!(ec2_id.starts_with("i-") && ec2_id.len() == 19, "{ec2_id}");
    let by_ec2 = env.json(&[
        "compute",
        "show",
        &ec2_id.to_uppercase().replacen("I-", "i-", 1),
    ]);
    assert_eq!(by_ec2["id"], shown["id"]);
    let out = env.ok(&["compute", "show", ec2_id]);
    assert!(out.contains(ec2_id), "{out}");

    // logs: all, --tail, JSON; --follow ends when the container stops.
    let mut logs = String::new();
    for _ in 0..50 {
        logs = env.ok(&["compute", "logs", "job"]);
        if logs.contains("second line") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(logs, "hello from job\nsecond line\n");
    assert_eq!(
        env.ok(&["compute", "logs", "job", "--tail", "1"]),
        "second line\n"
    );
    let json_logs = env.json(&["compute", "logs", "job"]);
    assert_eq!(json_logs["logs"], "hello from job\nsecond line\n");
    env.fails(&["compute", "logs", "job", "--json", "--follow"], 1);
    let short = env.json(&[
        "compute",
        "launch",
        "--name",
        "short",
        "--image",
        &image,
        "--",
        "sh",
        "-c",
        "echo one; sleep 1; echo two",
    ]);
    let mut follow = env
        .cloud_std()
        .args(["compute", "logs", "short", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("cloud starts");
    let mut followed = String::new();
    follow
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut followed)
        .expect("reads");
    let status = follow.wait().expect("exits");
    assert!(status.success());
    assert_eq!(
        followed, "one\ntwo\n",
        "--follow streams until the container stops"
    );

    // stats: human and JSON.
    let out = env.ok(&["compute", "stats", "web"]);
    assert!(
        out.contains("cpu") && out.contains("memory") && out.contains("/ 1.0 GiB"),
        "{out}"
    );
    let stats = env.json(&["compute", "stats", "job"]);
    assert_eq!(
        stats["memory_limit_bytes"],
        512u64 * 1024 * 1024,
        "t3.nano has 512 MiB"
    );

    // exec: output on stdout and stderr, the command's exit code, env,
    // working directory and user; JSON; a timeout is 124; refusals.
    let out = env.ok(&[
        "compute",
        "exec",
        "job",
        "-e",
        "GREETING=hi",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        "--",
        "sh",
        "-c",
        "echo $GREETING; pwd; id -u",
    ]);
    assert_eq!(out, "hi\n/tmp\n1000\n");
    let exec = env
        .cloud()
        .args([
            "compute",
            "exec",
            "job",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ])
        .output()
        .expect("cloud runs");
    assert_eq!(exec.status.code(), Some(3), "the command's exit code");
    // MINIAWS_TIMEOUT bounds quick calls, not an exec (clap once read it
    // as `exec --timeout`, killing this command after 1 s).
    let slow = env
        .cloud()
        .env("MINIAWS_TIMEOUT", "1")
        .args([
            "compute",
            "exec",
            "job",
            "--",
            "sh",
            "-c",
            "sleep 2; echo done",
        ])
        .output()
        .expect("cloud runs");
    assert_eq!(
        (
            slow.status.code(),
            String::from_utf8_lossy(&slow.stdout).as_ref()
        ),
        (Some(0), "done\n"),
        "{}",
        String::from_utf8_lossy(&slow.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&exec.stdout), "out\n");
    assert_eq!(
        String::from_utf8_lossy(&exec.stderr),
        "err\n",
        "the command's stderr, and nothing from cloud"
    );
    let result = env.json(&["compute", "exec", "job", "--", "printf", "a\\377b"]);
    assert_eq!(result["exit_code"], 0, "{result}");
    assert_eq!(
        (&result["encoding"], &result["stdout"]),
        (&serde_json::json!("base64"), &serde_json::json!("Yf9i")),
        "{result}"
    );
    let err = env.fails(
        &[
            "compute",
            "exec",
            "job",
            "--timeout",
            "1",
            "--",
            "sleep",
            "5",
        ],
        124,
    );
    assert!(
        err.contains("did not end within 1 s and was killed"),
        "{err}"
    );
    // --stdin: cloud's input goes to the command, whole; too much is
    // refused before anything is sent.
    let piped = |input: Vec<u8>, args: &[&str]| {
        let mut child = env
            .cloud_std()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cloud starts");
        let mut stdin = child.stdin.take().expect("stdin");
        let feeder = std::thread::spawn(move || {
            // cloud may stop reading (too much input): not an error here.
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("cloud exits");
        feeder.join().expect("fed");
        out
    };
    let out = piped(
        b"echo from-stdin\nexit 6\n".to_vec(),
        &["compute", "exec", "job", "-i", "--", "sh"],
    );
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-stdin\n");
    let out = piped(
        vec![b'x'; 512 * 1024 + 1],
        &["compute", "exec", "job", "--stdin", "--", "wc", "-c"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("more than 512 KiB"),
        "{out:?}"
    );

    // Ctrl-C: exit 130, and the server kills the command (and what it
    // started) when it sees the connection close.
    let mut child = env
        .cloud_std()
        .args([
            "compute",
            "exec",
            "job",
            "--",
            "sh",
            "-c",
            "sleep 501 & while true; do echo ctrl-c-marker; sleep 0.2; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cloud starts");
    let mut first = [0u8; 14];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("the command's first line");
    assert_eq!(&first, b"ctrl-c-marker\n");
    let stderr = interrupt(child);
    assert!(stderr.contains("the server kills the command"), "{stderr}");
    let mut left = String::new();
    for _ in 0..75 {
        left = env.ok(&["compute", "exec", "job", "--", "ps"]);
        if !left.contains("ctrl-c-marker") && !left.contains("sleep 501") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !left.contains("ctrl-c-marker") && !left.contains("sleep 501"),
        "the interrupted command is gone: {left}"
    );
    let err = env.fails(&["compute", "exec", "job", "-w", "tmp", "--", "ls"], 1);
    assert!(err.contains("absolute path"), "{err}");
    // A program the image lacks: why, on stderr, in both forms.
    for json in [false, true] {
        let mut args = vec!["compute", "exec", "job", "--", "no-such-program"];
        if json {
            args.insert(0, "--json");
        }
        let err = env.fails(&args, 1);
        assert!(
            err.contains("could not be started in the instance: exec: \"no-such-program\""),
            "{err}"
        );
    }
    env.fails(&["compute", "exec", "job"], 2);

    // stop / start / reboot, human and JSON, and a state error.
    let out = env.ok(&["compute", "stop", "web"]);
    assert!(
        out.contains("Stopped web") && out.contains("stopped"),
        "{out}"
    );
    let err = env.fails(&["compute", "stop", "web"], 1);
    assert!(err.contains("STOPPED") || err.contains("stopped"), "{err}");
    let err = env.fails(&["compute", "exec", "web", "--", "ls"], 1);
    assert!(
        err.contains("STOPPED"),
        "exec needs a running instance: {err}"
    );
    let out = env.ok(&["compute", "modify", "web", "--type", "t3.small"]);
    assert!(
        out.contains("web (") && out.contains("t3.small, stopped"),
        "{out}"
    );
    let err = env.fails(&["compute", "modify", "web"], 1);
    assert!(err.contains("--type TYPE, --name NAME"), "{err}");
    let started = env.json(&["compute", "start", "web"]);
    assert_eq!(started["state"], "RUNNING");
    assert_eq!(started["instance_type"], "t3.small");
    let err = env.fails(&["compute", "modify", "web", "--type", "t3.nano"], 1);
    assert!(err.contains("RUNNING"), "only a stopped instance: {err}");
    let out = env.ok(&["compute", "reboot", &web_id]);
    assert!(
        out.contains("Rebooted web") && out.contains("reachable at http://127.0.0.1:"),
        "{out}"
    );

    // Errors: unknown instance, duplicate name, bad --env (usage).
    let err = env.fails(&["compute", "show", "nosuch"], 1);
    assert!(
        err.contains("no instance with id, id prefix or name \"nosuch\""),
        "{err}"
    );
    assert!(err.contains("cloud compute list"), "{err}");
    let err = env.fails(
        &["compute", "launch", "--name", "web", "--image", &image],
        1,
    );
    assert!(err.contains("web"), "{err}");
    env.fails(
        &[
            "compute", "launch", "--name", "x", "--image", &image, "--env", "NOVALUE",
        ],
        2,
    );

    // terminate: by prefix (JSON) and by name (human); list --all keeps them.
    let gone = env.json(&["compute", "terminate", &web_id[..8]]);
    assert_eq!(gone["state"], "TERMINATED");
    let out = env.ok(&["compute", "terminate", "job"]);
    assert!(out.contains("Terminated job"), "{out}");
    env.ok(&["compute", "terminate", short["id"].as_str().expect("id")]);
    let live = env.json(&["compute", "list"]);
    assert_eq!(live.as_array().map(Vec::len), Some(0), "{live}");
    let out = env.ok(&["compute", "list", "--all"]);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.contains("terminated"), "{out}");
    // A terminated instance can still be shown by name; acting on it says
    // it is terminated, not that there is no such instance.
    let out = env.ok(&["compute", "show", "web"]);
    assert!(out.contains("terminated"), "{out}");
    for action in ["start", "terminate"] {
        let err = env.fails(&["compute", action, "web"], 1);
        assert!(
            err.contains("instance web") && err.contains("is terminated"),
            "{err}"
        );
    }
}

/// The id of the user whose key `env`'s profile holds (the containers'
/// `miniaws.owner` label).
/// How many containers of `owner` Docker has, in any state.
fn containers_of(owner: &str) -> usize {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=miniaws.owner={owner}"),
        ])
        .output()
        .expect("docker ps runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .count()
}

/// Starts `cloud compute launch --name <name>` and kills the server once the
/// launch's container exists (the server is then inside the launch). Returns
/// the still-waiting CLI, or `None` (after restarting the server) when the
/// answer came before the kill.
async fn launch_and_crash(
    env: &mut Env,
    owner: &str,
    image: &str,
    name: &str,
) -> Option<std::process::Child> {
    let before = containers_of(owner);
    let mut child = env
        .cloud_std()
        .args(["compute", "launch", "--name", name, "--image", image])
        .args(["--", "sleep", "600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cloud starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while containers_of(owner) == before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    env.server.kill().await;
    if child.try_wait().expect("cloud is waited on").is_none() {
        return Some(child);
    }
    env.server.restart_on_same_ports().await;
    None
}

/// Waits for `child` off the runtime's threads; its stdout and stderr.
async fn finish(child: std::process::Child) -> (bool, String, String) {
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("the wait joins")
        .expect("cloud ends");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// How many live instances are called `name`.
fn instances_named(env: &Env, name: &str) -> usize {
    let listed = env.json(&["compute", "list"]);
    listed
        .as_array()
        .expect("a list")
        .iter()
        .filter(|i| i["name"] == name)
        .count()
}

/// The server crashes while `cloud compute launch` waits for its answer.
/// Restarted on the same port two seconds later (as a supervisor would),
/// the CLI's resends under its idempotency key reach it and the CLI shows
/// the one instance, rather than giving up with "cannot reach miniaws"
/// while the launch it sent may have gone through. Not restarted within the
/// CLI's 15 s, the CLI says the launch may or may not exist and names the
/// key; the same command with `--idempotency-key` then answers the instance
/// the first launch made (or makes it), once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_outlives_a_server_restart_under_it() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let mut env = Env::start().await;
    env.sign_up("alice");
    let owner = user_id(&env);
    let _cleanup = Containers {
        owner: owner.clone(),
    };
    // A round where the answer beat the kill is tried again.
    let mut restarted = None;
    for round in 0..5 {
        let name = format!("crash{round}");
        if let Some(child) = launch_and_crash(&mut env, &owner, &image, &name).await {
            // Longer than the two quick resends the CLI used to make.
            tokio::time::sleep(Duration::from_secs(2)).await;
            env.server.restart_on_same_ports().await;
            restarted = Some((name, finish(child).await));
            break;
        }
    }
    let (name, (ok, stdout, stderr)) = restarted.expect("a kill landed inside a launch");
    assert!(ok, "answered once the server is back:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("Launched {name}")), "{stdout}");
    assert_eq!(instances_named(&env, &name), 1, "one instance, not two");

    let mut unconfirmed = None;
    for round in 0..5 {
        let name = format!("gone{round}");
        if let Some(child) = launch_and_crash(&mut env, &owner, &image, &name).await {
            unconfirmed = Some((name, finish(child).await));
            break;
        }
    }
    let (name, (ok, stdout, stderr)) = unconfirmed.expect("a kill landed inside a launch");
    assert!(!ok, "no answer, no success:\n{stdout}");
    assert!(stderr.contains("may or may not exist"), "{stderr}");
    assert!(!stderr.contains("is `miniaws serve` running"), "{stderr}");
    let key = stderr
        .split("--idempotency-key ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("the key is named: {stderr}"))
        .to_owned();
    env.server.restart_on_same_ports().await;
    for _ in 0..2 {
        let out = env.ok(&[
            "compute",
            "launch",
            "--name",
            &name,
            "--image",
            &image,
            "--idempotency-key",
            &key,
            "--",
            "sleep",
            "600",
        ]);
        assert!(out.contains(&format!("Launched {name}")), "{out}");
    }
    assert_eq!(instances_named(&env, &name), 1, "the key made one instance");
}

/// `logs --follow` whose server shuts down under it says that the log was
/// cut short and fails, rather than ending with 0 as when the container
/// stops: the server cuts the body instead of finishing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_log_cut_by_a_shutdown_is_an_error() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let mut env = Env::start().await;
    env.sign_up("alice");
    let owner = user_id(&env);
    let _cleanup = Containers { owner };
    env.ok(&[
        "compute",
        "launch",
        "--name",
        "talker",
        "--image",
        &image,
        "--",
        "sh",
        "-c",
        "echo up; sleep 600",
    ]);
    let mut follow = env
        .cloud_std()
        .args(["compute", "logs", "talker", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cloud starts");
    let mut stdout = std::io::BufReader::new(follow.stdout.take().expect("piped"));
    let mut first = String::new();
    tokio::task::block_in_place(|| {
        std::io::BufRead::read_line(&mut stdout, &mut first).expect("reads")
    });
    assert_eq!(first, "up\n");
    assert!(env.server.stop().await, "the server stops gracefully");
    let (ok, _, stderr) = finish(follow).await;
    assert!(!ok, "a cut log is not a success");
    assert!(stderr.contains("the log stream was cut short"), "{stderr}");
}

/// A server fault (here 503: the server's Docker cannot be reached) is
/// shown with the request id the server answered with, the id its log
/// names the request by, so that the user can find it there.
#[tokio::test]
async fn a_server_error_shows_its_request_id() {
    let server = miniaws_testkit::TestServer::start_with(
        miniaws_testkit::Backend::Sqlite,
        &[],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    )
    .await
    .expect("a SQLite server starts");
    let env = Env {
        server,
        home: tempfile::tempdir().expect("temp dir"),
    };
    env.sign_up("offline");
    let stderr = env.fails(
        &[
            "compute", "launch", "--name", "x", "--image", "busybox", "--", "true",
        ],
        1,
    );
    assert!(stderr.contains("Docker"), "{stderr}");
    let id = stderr
        .split("(request id: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no request id shown: {stderr}"));
    assert_eq!(id.len(), 36, "a generated id: {stderr}");
    let log = env.server.log();
    assert!(
        log.lines()
            .any(|l| l.contains(id) && l.contains("status=503")),
        "the log names the request by the id shown ({id}):\n{log}"
    );
}
