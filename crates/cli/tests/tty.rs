//! Behaviour on a terminal: colour (and `NO_COLOR`) and the interactive
//! menu. `script(1)` from util-linux gives `cloud` a real pseudo-terminal.

mod common;

use common::Env;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `script -qec "<cloud> args" /dev/null` with the test's environment.
fn on_a_terminal(env: &Env, args: &str) -> Command {
    let cloud = assert_cmd::cargo::cargo_bin("cloud");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", cloud.display()), "/dev/null"])
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

/// Output collected from a child in the background.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<String>>);

impl Screen {
    fn text(&self) -> String {
        self.0.lock().expect("not poisoned").clone()
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_runs_a_command_and_quits() {
    let env = Env::start().await;
    env.sign_up("frank");

    let mut child = on_a_terminal(&env, "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    let screen = Screen::default();
    let mut stdout = child.stdout.take().expect("piped");
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
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut keys = child.stdin.take().expect("piped");
    let mut press = |bytes: &[u8]| {
        keys.write_all(bytes).expect("the terminal takes keys");
        keys.flush().expect("flushes");
    };

    screen.wait_for("what do you want to work on?", 1);
    // Up wraps around: the last entry is "quit", the one above it "auth".
    press(b"k");
    press(b"k");
    press(b"\r");
    screen.wait_for("who am I", 1);
    press(b"\r"); // who am I
    screen.wait_for("what do you want to work on?", 3);
    press(b"q"); // quit

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the menu did not quit; screen:\n{}", screen.text());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    reader.join().expect("reader ends");
    let text = screen.text();
    assert!(status.success(), "{text}");
    assert!(
        text.contains("$ cloud auth whoami"),
        "the menu shows the command: {text}"
    );
    assert!(text.contains("frank"), "and runs it: {text}");
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
        let mut child = on_a_terminal(&env, "storage delete asked/p --recursive")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script runs");
        let screen = Screen::default();
        let mut stdout = child.stdout.take().expect("piped");
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
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        screen.wait_for("Delete 2 objects (3 B) under asked/p/?", 1);
        let mut keys = child.stdin.take().expect("piped");
        keys.write_all(answer).expect("the terminal takes keys");
        keys.flush().expect("flushes");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waits") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the prompt did not end; screen:\n{}", screen.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        reader.join().expect("reader ends");
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
