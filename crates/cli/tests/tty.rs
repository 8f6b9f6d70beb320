//! Behaviour on a terminal: colour (and `NO_COLOR`) and the interactive
//! menu. `script(1)` from util-linux gives `cloud` a real pseudo-terminal.

mod common;

use common::{Containers, Env, user_id};
use std::io::{Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `script -qec "<cloud> args" /dev/null` with the test's environment.
fn on_a_terminal(env: &Env, args: &str) -> Command {
    let cloud = assert_cmd::cargo::cargo_bin("cloud");
    on_a_terminal_running(env, &format!("{} {args}", cloud.display()))
}

/// `script -qec "<shell command>" /dev/null` with the test's environment.
fn on_a_terminal_running(env: &Env, shell_command: &str) -> Command {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", shell_command, "/dev/null"])
        .env("XDG_CONFIG_HOME", env.home.path())
        .env("HOME", env.home.path())
        .env("MINIAWS_ENDPOINT", env.server.url())
        .env("TERM", "xterm-256color")
        .env_remove("MINIAWS_API_KEY")
        .env_remove("MINIAWS_PROFILE")
        .env_remove("NO_COLOR");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_only_on_a_terminal_and_never_with_no_color() {
    let env = Env::start().await;
    env.sign_up("erin");

    let tty = on_a_terminal(&env, "auth keys list")
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{text}");
    assert!(text.contains("erin (this one)"), "{text}");
    assert!(
        text.contains("\u{1b}["),
        "a terminal gets styling: {text:?}"
    );

    let plain = on_a_terminal(&env, "auth keys list")
        .env("NO_COLOR", "1")
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(text.contains("erin (this one)"), "{text}");
    assert!(!text.contains("\u{1b}["), "NO_COLOR is respected: {text:?}");

    let piped = env.ok(&["auth", "keys", "list"]);
    assert!(
        !piped.contains('\u{1b}'),
        "no colour into a pipe: {piped:?}"
    );
}

/// A child that is killed and reaped if the test ends before it does: a
/// failed assertion must not leave `script` and `cloud` waiting for keys.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Output collected from a child in the background, as bytes (a read may
/// end inside a multi-byte character such as `›`).
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Screen {
    /// Collects `stdout` on a thread until it closes.
    fn collect(mut stdout: impl Read + Send + 'static) -> (Self, std::thread::JoinHandle<()>) {
        let screen = Self::default();
        let sink = screen.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0
                    .lock()
                    .expect("not poisoned")
                    .extend_from_slice(&buf[..n]);
            }
        });
        (screen, reader)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }

    /// Waits until `needle` has appeared `count` times.
    fn wait_for(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.text().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `needle` appears at or after byte `from`; returns the
    /// offset just past it.
    fn wait_after(&self, from: usize, needle: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let bytes = self.0.lock().expect("not poisoned");
                if let Some(at) = bytes.get(from..).and_then(|tail| {
                    tail.windows(needle.len())
                        .position(|w| w == needle.as_bytes())
                }) {
                    return from + at + needle.len();
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen since then:\n{}",
                String::from_utf8_lossy(&self.0.lock().expect("not poisoned")[from..])
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts `cmd` (a [`on_a_terminal`] command) with its output collected
/// on a [`Screen`]: the child, its screen, the thread reading it, and the
/// terminal's keyboard (see [`press`]).
fn start_on_a_terminal(
    cmd: &mut Command,
) -> (Reaped, Screen, std::thread::JoinHandle<()>, ChildStdin) {
    let mut child = Reaped(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script runs"),
    );
    let (screen, reader) = Screen::collect(child.0.stdout.take().expect("piped"));
    let keys = child.0.stdin.take().expect("piped");
    (child, screen, reader, keys)
}

/// Waits up to 20 s for `child` to end (`what` names it in a failure,
/// with the screen), then for the rest of its screen.
fn wait_for_end(
    child: &mut Reaped,
    screen: &Screen,
    reader: std::thread::JoinHandle<()>,
    what: &str,
) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("waits") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not end; screen:\n{}",
            screen.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    reader.join().expect("reader ends");
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_runs_a_command_and_quits() {
    let env = Env::start().await;
    env.sign_up("frank");

    let (mut child, screen, reader, mut keys) = start_on_a_terminal(&mut on_a_terminal(&env, ""));
    let mut press = |bytes: &[u8]| press(&mut keys, bytes);

    screen.wait_for("what do you want to work on?", 1);
    // Up wraps around: the last entry is "quit", the one above it "auth".
    press(b"k");
    press(b"k");
    press(b"\r");
    screen.wait_for("who am I", 1);
    press(b"\r"); // who am I
    screen.wait_for("what do you want to work on?", 3);
    // The last auth entry, above "back" (up wraps around again): the AWS
    // variables.
    // (Colour is on: the prompts' `›` follow escape codes.)
    let mut seen = screen.wait_after(0, "$ cloud auth whoami");
    seen = screen.wait_after(seen, "what do you want to work on?");
    press(b"k");
    press(b"k");
    press(b"\r");
    seen = screen.wait_after(seen, "log in with an existing key");
    press(b"k"); // back
    press(b"k");
    press(b"\r");
    seen = screen.wait_after(seen, "$ cloud auth aws-env");
    seen = screen.wait_after(seen, "export AWS_ENDPOINT_URL=");
    screen.wait_after(seen, "what do you want to work on?");
    press(b"q"); // quit

    let status = wait_for_end(&mut child, &screen, reader, "the menu");
    let text = screen.text();
    assert!(status.success(), "{text}");
    assert!(
        text.contains("$ cloud auth whoami"),
        "the menu shows the command: {text}"
    );
    assert!(text.contains("frank"), "and runs it: {text}");
}

/// Ctrl-C in the menu ends it with the terminal's cursor shown again:
/// dialoguer hides it while it waits for a key and does not show it when
/// Ctrl-C ends the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_the_menu_leaves_the_cursor_shown() {
    const HIDE: &str = "\u{1b}[?25l";
    const SHOW: &str = "\u{1b}[?25h";
    let env = Env::start().await;
    env.sign_up("hana");
    for depth in [0, 1] {
        let (mut child, screen, reader, mut keys) =
            start_on_a_terminal(&mut on_a_terminal(&env, ""));
        screen.wait_for("what do you want to work on?", 1);
        if depth == 1 {
            press(&mut keys, b"\r");
            screen.wait_for("Action", 1);
        }
        // In raw mode Ctrl-C is the byte 0x03, not a signal.
        press(&mut keys, b"\x03");
        let status = wait_for_end(&mut child, &screen, reader, "the menu");
        let text = screen.text();
        assert_eq!(status.code(), Some(130), "{text:?}");
        assert!(!text.contains("error"), "a quiet end: {text:?}");
        let hidden = text.rfind(HIDE).expect("the menu hides the cursor");
        assert!(
            text[hidden..].contains(SHOW),
            "the cursor is shown again after Ctrl-C (depth {depth}): {text:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_bars_only_on_a_terminal() {
    let env = Env::start().await;
    env.sign_up("gina");
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("blob.bin");
    std::fs::write(&file, vec![7u8; 1536 * 1024]).expect("writes");
    let args = format!("storage upload bars {} --limit-rate 1M", file.display());

    let tty = on_a_terminal(&env, &args).output().expect("script runs");
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{text}");
    assert!(
        text.contains("ETA"),
        "a terminal shows a progress bar: {text:?}"
    );
    assert!(text.contains("Uploaded"), "{text}");

    let out = env
        .cloud()
        .args(args.split(' '))
        .output()
        .expect("cloud runs");
    common::assert_success(&["storage", "upload"], &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ETA"),
        "no progress bar off a terminal: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_delete_asks_first_on_a_terminal() {
    let env = Env::start().await;
    env.sign_up("hank");
    let work = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(work.path().join("sub")).expect("mkdir");
    std::fs::write(work.path().join("one"), "1").expect("writes");
    std::fs::write(work.path().join("sub/two"), "22").expect("writes");
    let dir = work.path().to_string_lossy().into_owned();
    env.ok(&["storage", "upload", "asked", &dir, "-r", "--key", "p"]);
    env.ok(&["storage", "upload", "asked", &dir, "-r", "--key", "keep"]);
    let count = || {
        env.json(&["storage", "ls", "asked"])
            .as_array()
            .map(Vec::len)
            .expect("array")
    };

    // "n" deletes nothing (exit 1), "y" deletes the prefix only.
    for (answer, code, left) in [(b"n", 1, 4), (b"y", 0, 2)] {
        let (mut child, screen, reader, mut keys) = start_on_a_terminal(&mut on_a_terminal(
            &env,
            "storage delete asked/p --recursive",
        ));
        screen.wait_for("Delete 2 objects (3 B) under asked/p/?", 1);
        press(&mut keys, answer);
        let status = wait_for_end(&mut child, &screen, reader, "the prompt");
        let text = screen.text();
        assert_eq!(status.code(), Some(code), "{text}");
        assert_eq!(count(), left, "{text}");
        if code == 0 {
            assert!(text.contains("Deleted 2 objects"), "{text}");
        } else {
            assert!(text.contains("nothing was deleted"), "{text}");
        }
    }
}

/// The menu's storage entries driven as a user would, with keys on a
/// pseudo-terminal (dialoguer reads keys from a terminal only, and `cloud`
/// opens the menu only when stdin is one: lines on a pipe cannot drive
/// it), each result checked on the server and on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_drives_the_storage_commands() {
    let env = Env::start().await;
    env.sign_up("mina");
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("hello.txt");
    std::fs::write(&file, "hello from the menu\n").expect("writes");
    let file_arg = file.to_string_lossy().into_owned();
    // The menu's downloads land in its current directory.
    let cwd = work.path().join("cwd");
    std::fs::create_dir(&cwd).expect("mkdir");
    let keys_on_server = |bucket: &str| -> Vec<String> {
        env.json(&["storage", "ls", bucket])
            .as_array()
            .expect("array")
            .iter()
            .map(|o| o["key"].as_str().expect("key").to_owned())
            .collect()
    };

    let (mut child, screen, reader, mut keys) = start_on_a_terminal(
        on_a_terminal(&env, "")
            .current_dir(&cwd)
            // Plain text to match; the menu works the same in colour.
            .env("NO_COLOR", "1"),
    );
    // Where the screen has been read up to.
    let mut seen = 0;
    // Picks "storage", then the action `index` places down the list, then
    // answers each prompt once it shows; returns when the menu has printed
    // the command, with `seen` just after it.
    let storage_action = |keys: &mut std::process::ChildStdin,
                          seen: &mut usize,
                          index: usize,
                          answers: &[(&str, &str)]| {
        *seen = screen.wait_after(*seen, "what do you want to work on? ›");
        press(keys, b"j\r"); // compute, storage, auth, quit
        *seen = screen.wait_after(*seen, "· storage  buckets and objects");
        *seen = screen.wait_after(*seen, "Action ›");
        let mut down = b"j".repeat(index);
        down.push(b'\r');
        press(keys, &down);
        *seen = screen.wait_after(*seen, "✔ Action · ");
        for (label, answer) in answers {
            *seen = screen.wait_after(*seen, &format!("{label} ›"));
            press(keys, format!("{answer}\r").as_bytes());
            *seen = screen.wait_after(*seen, &format!("{label} · {answer}"));
        }
        *seen = screen.wait_after(*seen, "$ cloud storage ");
    };

    // Make a bucket (the 8th storage action), then list buckets (1st).
    storage_action(&mut keys, &mut seen, 7, &[("bucket", "menu-bkt")]);
    seen = screen.wait_after(seen, "mb menu-bkt");
    seen = screen.wait_after(seen, "Bucket menu-bkt is ready");
    storage_action(&mut keys, &mut seen, 0, &[]);
    seen = screen.wait_after(seen, "ls");
    seen = screen.wait_after(seen, "NAME");
    seen = screen.wait_after(seen, "menu-bkt");
    assert_eq!(keys_on_server("menu-bkt"), Vec::<String>::new());

    // Upload a file (3rd), list objects (2nd).
    storage_action(
        &mut keys,
        &mut seen,
        2,
        &[("bucket", "menu-bkt"), ("file", file_arg.as_str())],
    );
    seen = screen.wait_after(seen, &format!("upload menu-bkt {file_arg}"));
    seen = screen.wait_after(seen, "Uploaded");
    assert_eq!(keys_on_server("menu-bkt"), ["hello.txt"]);
    storage_action(
        &mut keys,
        &mut seen,
        1,
        &[("bucket (optionally bucket/prefix)", "menu-bkt")],
    );
    seen = screen.wait_after(seen, "ls menu-bkt");
    seen = screen.wait_after(seen, "KEY");
    seen = screen.wait_after(seen, "hello.txt");
    seen = screen.wait_after(seen, "20 B");

    // Download it (4th) into the current directory; a missing key is an
    // error that ends the command, not the menu.
    storage_action(
        &mut keys,
        &mut seen,
        3,
        &[("bucket", "menu-bkt"), ("key", "hello.txt")],
    );
    seen = screen.wait_after(seen, "Downloaded menu-bkt/hello.txt to hello.txt");
    assert_eq!(
        std::fs::read_to_string(cwd.join("hello.txt")).expect("downloaded"),
        "hello from the menu\n"
    );
    storage_action(
        &mut keys,
        &mut seen,
        3,
        &[("bucket", "menu-bkt"), ("key", "nope.txt")],
    );
    seen = screen.wait_after(
        seen,
        "error: there is no object \"nope.txt\" in bucket menu-bkt",
    );
    // Every object under a prefix (5th) into a directory.
    storage_action(
        &mut keys,
        &mut seen,
        4,
        &[
            ("bucket (optionally bucket/prefix)", "menu-bkt"),
            ("directory", "tree"),
        ],
    );
    seen = screen.wait_after(seen, "download --recursive menu-bkt tree");
    seen = screen.wait_after(seen, "Downloaded 1 files");
    assert_eq!(
        std::fs::read_to_string(cwd.join("tree/hello.txt")).expect("downloaded"),
        "hello from the menu\n"
    );

    // Delete it (6th).
    storage_action(
        &mut keys,
        &mut seen,
        5,
        &[("bucket", "menu-bkt"), ("key", "hello.txt")],
    );
    seen = screen.wait_after(seen, "Deleted menu-bkt/hello.txt.");
    assert_eq!(keys_on_server("menu-bkt"), Vec::<String>::new());

    // Upload again, then delete everything under a prefix (7th): it asks.
    storage_action(
        &mut keys,
        &mut seen,
        2,
        &[("bucket", "menu-bkt"), ("file", file_arg.as_str())],
    );
    seen = screen.wait_after(seen, "Uploaded");
    // Copy it (12th) and move the copy (13th), on the server.
    let destination = "destination (bucket, bucket/key or bucket/prefix/)";
    storage_action(
        &mut keys,
        &mut seen,
        11,
        &[
            ("source (bucket/key)", "menu-bkt/hello.txt"),
            (destination, "menu-bkt/copy.txt"),
        ],
    );
    seen = screen.wait_after(seen, "Copied menu-bkt/hello.txt to menu-bkt/copy.txt");
    storage_action(
        &mut keys,
        &mut seen,
        12,
        &[
            ("source (bucket/key)", "menu-bkt/copy.txt"),
            (destination, "menu-bkt/moved/"),
        ],
    );
    seen = screen.wait_after(seen, "Moved menu-bkt/copy.txt to menu-bkt/moved/copy.txt");
    assert_eq!(keys_on_server("menu-bkt"), ["hello.txt", "moved/copy.txt"]);
    // Sync a prefix down into a directory (15th).
    storage_action(
        &mut keys,
        &mut seen,
        14,
        &[
            (
                "source (s3://bucket or s3://bucket/prefix)",
                "s3://menu-bkt/moved",
            ),
            ("directory", "synced"),
        ],
    );
    seen = screen.wait_after(seen, "sync s3://menu-bkt/moved synced");
    seen = screen.wait_after(seen, "downloaded 1 file");
    assert_eq!(
        std::fs::read_to_string(cwd.join("synced/copy.txt")).expect("synced"),
        "hello from the menu\n"
    );
    storage_action(
        &mut keys,
        &mut seen,
        6,
        &[("bucket (optionally bucket/prefix)", "menu-bkt")],
    );
    seen = screen.wait_after(
        seen,
        "Delete 2 objects (40 B) in bucket menu-bkt (all of its objects)?",
    );
    press(&mut keys, b"y");
    seen = screen.wait_after(seen, "Deleted 2 objects (40 B) in bucket menu-bkt");
    assert_eq!(keys_on_server("menu-bkt"), Vec::<String>::new());

    // Its versioning (10th), and its versions (11th): none, it is empty.
    storage_action(&mut keys, &mut seen, 9, &[("bucket", "menu-bkt")]);
    seen = screen.wait_after(seen, "versioning menu-bkt");
    seen = screen.wait_after(seen, "Bucket menu-bkt is not versioned");
    storage_action(
        &mut keys,
        &mut seen,
        10,
        &[("bucket (optionally bucket/prefix)", "menu-bkt")],
    );
    seen = screen.wait_after(seen, "ls --versions menu-bkt");
    seen = screen.wait_after(seen, "VERSION ID");

    // Remove the bucket (9th), then quit.
    storage_action(&mut keys, &mut seen, 8, &[("bucket", "menu-bkt")]);
    seen = screen.wait_after(seen, "Removed bucket menu-bkt");
    screen.wait_after(seen, "what do you want to work on? ›");
    press(&mut keys, b"q");
    let status = wait_for_end(&mut child, &screen, reader, "the menu");
    assert!(status.success(), "{}", screen.text());
    let buckets = env.json(&["storage", "ls"]);
    assert_eq!(buckets.as_array().map(Vec::len), Some(0), "{buckets}");
}

/// Types `bytes` on the terminal.
fn press(keys: &mut impl Write, bytes: &[u8]) {
    keys.write_all(bytes).expect("the terminal takes keys");
    keys.flush().expect("flushes");
}

/// Signs `user` up and launches `box` (`sleep 3600` in `image`) for it;
/// the guard removes the user's containers.
fn launch_box(env: &Env, user: &str, image: &str) -> Containers {
    env.sign_up(user);
    let cleanup = Containers {
        owner: user_id(env),
    };
    env.ok(&[
        "compute", "launch", "--name", "box", "--image", image, "--", "sleep", "3600",
    ]);
    cleanup
}

/// `cloud compute exec -it` on a real terminal: a shell that takes what is
/// typed (Ctrl-C included, as a byte for it), sees the terminal's size,
/// and whose exit code `cloud` exits with; the terminal is given back as
/// it was (`stty` after `cloud` shows line editing and echo on again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_it_runs_an_interactive_shell_and_restores_the_terminal() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let env = Env::start().await;
    let _cleanup = launch_box(&env, "gina", &image);
    let pts_file = env.home.path().join("pts");

    // On script's terminal, sized 33 by 99 (its name kept to resize it
    // later): the shell, then the exit code cloud left with and the
    // terminal's settings after it.
    let (mut child, screen, reader, mut keys) = start_on_a_terminal(&mut on_a_terminal_running(
        &env,
        &format!(
            "stty rows 33 cols 99; tty > {pts}; {cloud} compute exec -it box -- sh; \
             echo \"cloud-exit=$?\"; stty -a; echo all-done",
            pts = pts_file.display(),
            cloud = assert_cmd::cargo::cargo_bin("cloud").display(),
        ),
    ));
    let mut press = |bytes: &[u8]| press(&mut keys, bytes);

    // The shell's prompt, then typing: each key goes as it is pressed.
    let mut seen = screen.wait_after(0, "# ");
    press(b"echo $((6*7))\r");
    seen = screen.wait_after(seen, "\n42\r\n");
    // The command's terminal has the size of cloud's, and follows it
    // (SIGWINCH): the kernel signals cloud when its terminal is resized.
    press(b"stty size\r");
    seen = screen.wait_after(seen, "\n33 99\r\n");
    let pts = std::fs::read_to_string(&pts_file).expect("the pty's name");
    let resized = Command::new("stty")
        .args(["-F", pts.trim(), "rows", "50", "cols", "150"])
        .status()
        .expect("stty runs");
    assert!(resized.success());
    std::thread::sleep(Duration::from_millis(300));
    press(b"stty size\r");
    seen = screen.wait_after(seen, "\n50 150\r\n");
    // Ctrl-C is a byte for the command's terminal: it stops the `sleep`,
    // not cloud.
    press(b"sleep 600\r");
    std::thread::sleep(Duration::from_millis(500));
    press(b"\x03");
    press(b"echo after-interrupt\r");
    seen = screen.wait_after(seen, "\nafter-interrupt\r\n");
    press(b"exit 3\r");
    seen = screen.wait_after(seen, "cloud-exit=3");
    screen.wait_after(seen, "all-done");

    wait_for_end(&mut child, &screen, reader, "script");
    let text = screen.text();
    let after = &text[seen..];
    // Raw mode is off again: canonical input, echo, signals from keys,
    // output processing.
    let settings: Vec<&str> = after.split_whitespace().collect();
    for setting in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(
            settings.contains(&setting),
            "the terminal is restored ({setting} is on again): {after}"
        );
    }
}

/// `-it` without a terminal on stdin is refused as docker refuses it;
/// `-t` alone runs the command in a terminal without taking input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_it_needs_a_terminal_and_t_alone_shows_one() {
    let Some(image) = miniaws_testkit::require_docker() else {
        return;
    };
    let env = Env::start().await;
    let _cleanup = launch_box(&env, "hal", &image);
    let err = env.fails(&["compute", "exec", "-it", "box", "--", "sh"], 1);
    assert!(err.contains("the input device is not a TTY"), "{err}");

    let out = env
        .cloud()
        .args([
            "compute",
            "exec",
            "-t",
            "box",
            "--",
            "sh",
            "-c",
            "test -t 1 && echo tty; exit 4",
        ])
        .output()
        .expect("cloud runs");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "tty\r\n", "a terminal's output, \\r\\n and all");
}
