//! `cloud storage …` against a real server: every command in human and JSON
//! form, the seed's upload verbatim, a 50 MiB round trip, interrupted
//! downloads.

mod common;

use common::Env;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
fn noise(len: usize, seed: u64) -> Vec<u8> {
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

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("lists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_commands_in_human_and_json_form() {
    let env = Env::start().await;
    env.sign_up("alice");
    let work = tempfile::tempdir().expect("temp dir");
    let readme = "# Hello\n\nA small file.\n";
    std::fs::write(work.path().join("README.md"), readme).expect("writes");

    // The seed's command, exactly as written (the bucket is created).
    let out = env
        .cloud()
        .current_dir(work.path())
        .args(["storage", "upload", "my-bucket", "README.md"])
        .output()
        .expect("runs");
    common::assert_success(&["storage", "upload", "my-bucket", "README.md"], &out);
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!(
        "Uploaded README.md to my-bucket/README.md ({} B",
        readme.len()
    );
    assert!(text.contains(&want), "{text}");

    // mb / ls (buckets).
    let out = env.ok(&["storage", "mb", "photos"]);
    assert!(out.contains("Bucket photos is ready"), "{out}");
    let made = env.json(&["storage", "mb", "logs"]);
    assert_eq!(made["name"], "logs");
    let out = env.ok(&["storage", "ls"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "CREATED"]
    );
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1].starts_with("logs") && lines[3].starts_with("photos"),
        "{out}"
    );
    let buckets = env.json(&["storage", "ls"]);
    let names: Vec<&str> = buckets
        .as_array()
        .expect("array")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["logs", "my-bucket", "photos"]);

    // upload with --key and JSON; a directory tree with --recursive.
    let obj = env.json(&[
        "storage",
        "upload",
        "photos",
        &work.path().join("README.md").to_string_lossy(),
        "--key",
        "docs/readme.txt",
    ]);
    assert_eq!(obj["key"], "docs/readme.txt");
    assert_eq!(obj["size_bytes"], readme.len());
    let site = work.path().join("site");
    std::fs::create_dir_all(site.join("css")).expect("dirs");
    std::fs::write(site.join("index.html"), "<h1>hi</h1>").expect("writes");
    std::fs::write(site.join("css/main.css"), "h1{}").expect("writes");
    let out = env.ok(&[
        "storage",
        "upload",
        "photos",
        &site.to_string_lossy(),
        "--recursive",
    ]);
    assert!(out.contains("Uploaded 2 files"), "{out}");
    let tree = env.json(&[
        "storage",
        "upload",
        "photos",
        &site.to_string_lossy(),
        "-r",
        "--key",
        "www",
    ]);
    let keys: Vec<&str> = tree
        .as_array()
        .expect("array")
        .iter()
        .map(|o| o["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["www/css/main.css", "www/index.html"]);

    // ls (objects), whole bucket and by prefix.
    let out = env.ok(&["storage", "ls", "photos"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "header + 5 objects:\n{out}");
    assert!(lines[0].starts_with("KEY"), "{out}");
    assert!(
        out.contains("site/index.html") && out.contains("11 B"),
        "{out}"
    );
    // `list` is `ls` (as `compute list` is `compute ls`).
    let listed = env.json(&["storage", "list", "photos/www/"]);
    let keys: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|o| o["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["www/css/main.css", "www/index.html"]);

    // download: default name in the cwd, into a directory, to stdout, JSON.
    let out = env
        .cloud()
        .current_dir(work.path())
        .args(["storage", "download", "photos", "www/index.html"])
        .output()
        .expect("runs");
    common::assert_success(&["storage", "download"], &out);
    assert_eq!(
        std::fs::read_to_string(work.path().join("index.html")).expect("downloaded"),
        "<h1>hi</h1>"
    );
    let into = tempfile::tempdir().expect("temp dir");
    let got = env.json(&[
        "storage",
        "download",
        "photos",
        "docs/readme.txt",
        &into.path().to_string_lossy(),
    ]);
    assert_eq!(got["size_bytes"], readme.len());
    assert_eq!(
        std::fs::read_to_string(into.path().join("readme.txt")).expect("downloaded"),
        readme
    );
    let out = env.ok(&["storage", "download", "photos", "www/css/main.css", "-"]);
    assert_eq!(out, "h1{}");

    // delete and rb, human and JSON, and their errors.
    let err = env.fails(&["storage", "rb", "photos"], 1);
    assert!(err.contains("not empty"), "{err}");
    let out = env.ok(&["storage", "delete", "photos", "www/index.html"]);
    assert!(out.contains("Deleted photos/www/index.html"), "{out}");
    let gone = env.json(&["storage", "delete", "photos", "www/css/main.css"]);
    assert_eq!(gone["deleted"], true);
    let err = env.fails(&["storage", "delete", "photos", "www/css/main.css"], 1);
    assert!(
        err.contains("no object \"www/css/main.css\" in bucket photos"),
        "{err}"
    );
    assert!(err.contains("cloud storage ls photos"), "{err}");
    let out = env.ok(&["storage", "rb", "logs"]);
    assert!(out.contains("Removed bucket logs"), "{out}");
    env.ok(&["storage", "delete", "my-bucket", "README.md"]);
    let removed = env.json(&["storage", "rb", "my-bucket"]);
    assert_eq!(removed["deleted"], true);
    let left = env.json(&["storage", "ls"]);
    assert_eq!(
        left.as_array().map(Vec::len),
        Some(1),
        "only photos is left: {left}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_error_paths() {
    let env = Env::start().await;
    env.sign_up("bob");
    let work = tempfile::tempdir().expect("temp dir");

    let err = env.fails(&["storage", "upload", "bkt1", "/nonexistent/file.txt"], 1);
    assert_eq!(err.trim(), "error: no such file: /nonexistent/file.txt");
    let err = env.fails(
        &["storage", "upload", "bkt1", &work.path().to_string_lossy()],
        1,
    );
    assert!(err.contains("is a directory: pass --recursive"), "{err}");
    let err = env.fails(&["storage", "download", "nobucket", "k"], 1);
    assert!(err.contains("there is no bucket nobucket"), "{err}");
    env.ok(&["storage", "mb", "bkt1"]);
    let err = env.fails(&["storage", "download", "bkt1", "missing.txt"], 1);
    assert!(
        err.contains("no object \"missing.txt\" in bucket bkt1"),
        "{err}"
    );
    assert!(
        names(work.path()).is_empty(),
        "a failed download writes nothing"
    );
    let err = env.fails(&["storage", "mb", "Bad_Name"], 1);
    assert!(err.contains("bucket name"), "{err}");
    env.fails(&["storage", "upload", "bkt1"], 2);
    env.fails(
        &["storage", "upload", "bkt1", "x", "--limit-rate", "fast"],
        2,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mib_round_trip_is_byte_for_byte() {
    let env = Env::start().await;
    env.sign_up("carol");
    let work = tempfile::tempdir().expect("temp dir");
    let data = noise(50 * 1024 * 1024, 0x5eed);
    let src = work.path().join("big.bin");
    std::fs::write(&src, &data).expect("writes");

    let up = env.json(&["storage", "upload", "big", &src.to_string_lossy()]);
    assert_eq!(up["size_bytes"], data.len());
    let dest = work.path().join("back.bin");
    let down = env.json(&[
        "storage",
        "download",
        "big",
        "big.bin",
        &dest.to_string_lossy(),
    ]);
    assert_eq!(down["size_bytes"], data.len());
    let back = std::fs::read(&dest).expect("downloaded");
    assert!(
        back == data,
        "the downloaded bytes differ from the uploaded ones"
    );
    assert_eq!(
        names(work.path()),
        ["back.bin", "big.bin"],
        "no temporary files"
    );
}

/// Waits for a `.NAME.*.part` file with bytes in it to appear in `dir`.
fn wait_for_partial(dir: &Path, name: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let partial = std::fs::read_dir(dir).expect("lists").any(|e| {
            let e = e.expect("entry");
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&format!(".{name}."))
                && e.metadata().map(|m| m.len() > 0).unwrap_or(false)
        });
        if partial {
            return;
        }
        if let Some(status) = child.try_wait().expect("waits") {
            panic!("the download ended ({status}) before it could be interrupted");
        }
        assert!(Instant::now() < deadline, "no partial download appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_downloads_leave_no_partial_file() {
    let mut env = Env::start().await;
    env.sign_up("dave");
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src.bin");
    // Larger than what the kernel's socket buffers can hold (tcp_wmem +
    // tcp_rmem maxima, 36 MiB on Debian): a smaller body can sit entirely
    // in them, and killing the server then no longer interrupts anything.
    std::fs::write(&src, noise(64 * 1024 * 1024, 7)).expect("writes");
    env.ok(&[
        "storage",
        "upload",
        "slow",
        &src.to_string_lossy(),
        "--key",
        "file.bin",
    ]);
    let out_dir = tempfile::tempdir().expect("temp dir");
    let dest = out_dir.path().join("file.bin");
    let spawn = |env: &Env| {
        let mut cmd = env.cloud_std();
        cmd.args(["storage", "download", "slow", "file.bin"])
            .arg(&dest)
            .args(["--limit-rate", "512K"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cloud starts")
    };

    // Ctrl-C: exit 130, nothing under the final name, the temporary removed.
    let mut child = spawn(&env);
    wait_for_partial(out_dir.path(), "file.bin", &mut child);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("cloud exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("was not written"),
        "{stderr}"
    );
    assert!(
        names(out_dir.path()).is_empty(),
        "left behind: {:?}",
        names(out_dir.path())
    );

    // The server dies mid-download: exit 1, nothing under the final name.
    let mut child = spawn(&env);
    wait_for_partial(out_dir.path(), "file.bin", &mut child);
    env.server.kill().await;
    let out = child.wait_with_output().expect("cloud exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !dest.exists(),
        "a truncated file was left under the final name"
    );
    assert!(
        names(out_dir.path()).is_empty(),
        "left behind: {:?}",
        names(out_dir.path())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_overwrite_skips_existing_objects() {
    let env = Env::start().await;
    env.sign_up("carol");
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("a.txt");
    let file_arg = file.to_string_lossy().into_owned();
    std::fs::write(&file, "one").expect("writes");
    env.ok(&["storage", "upload", "keep", &file_arg]);

    // The key exists: skipped, and the stored object is untouched.
    std::fs::write(&file, "two").expect("writes");
    let out = env.ok(&["storage", "upload", "keep", &file_arg, "--no-overwrite"]);
    assert!(
        out.contains("Skipped") && out.contains("already exists"),
        "{out}"
    );
    let json = env.json(&["storage", "upload", "keep", &file_arg, "--no-overwrite"]);
    assert!(json.is_null(), "a skipped upload prints null: {json}");
    let back = work.path().join("back.txt");
    let stored = |key: &str| {
        env.ok(&["storage", "download", "keep", key, &back.to_string_lossy()]);
        std::fs::read_to_string(&back).expect("reads")
    };
    assert_eq!(stored("a.txt"), "one");

    // A tree: existing keys are skipped, new ones uploaded.
    let tree = work.path().join("tree");
    std::fs::create_dir(&tree).expect("mkdir");
    std::fs::write(tree.join("a.txt"), "three").expect("writes");
    std::fs::write(tree.join("b.txt"), "new").expect("writes");
    let tree_arg = tree.to_string_lossy().into_owned();
    let out = env.ok(&[
        "storage",
        "upload",
        "keep",
        &tree_arg,
        "--recursive",
        "--key",
        "",
        "--no-overwrite",
    ]);
    assert!(
        out.contains("Uploaded 1 files") && out.contains("skipped 1 that already existed"),
        "{out}"
    );
    assert_eq!(stored("a.txt"), "one");
    assert_eq!(stored("b.txt"), "new");

    // Without the flag the object is replaced.
    env.ok(&["storage", "upload", "keep", &file_arg]);
    assert_eq!(stored("a.txt"), "two");
}
