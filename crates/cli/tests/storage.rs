//! `cloud storage …` against a real server: every command in human and JSON
//! form, the seed's upload verbatim, a 50 MiB round trip, interrupted
//! downloads.

mod common;

use common::{Env, interrupt, noise, tree};
use futures::StreamExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

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
    // The `aws s3` spelling of a bucket works too.
    assert_eq!(env.ok(&["storage", "ls", "s3://photos"]), out);
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
    assert!(
        err.contains("bucket photos is not empty: `cloud storage delete photos -r`"),
        "{err}"
    );
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
    let err = env.fails(&["storage", "ls", "nobucket/some/"], 1);
    assert!(
        err.contains("there is no bucket nobucket: see `cloud storage ls`"),
        "{err}"
    );
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
    // `.` and `..` never reach the server: the URL would resolve them to
    // another endpoint (`delete . bkt1` was `DELETE /storage/bkt1`).
    for args in [
        &["storage", "delete", ".", "bkt1"][..],
        &["storage", "rb", ".."],
        &["storage", "upload", ".", "Cargo.toml"],
    ] {
        let err = env.fails(args, 1);
        assert!(err.contains("is not a bucket name"), "{args:?}: {err}");
    }
    // They name the S3 way to do it, never a delete for a read: a refused
    // download or stat once suggested `aws s3api delete-object`.
    let dest = work.path().join("dot.bin");
    let dest = dest.to_string_lossy();
    for key in [".", ".."] {
        for (args, s3api) in [
            (&["storage", "stat", "bkt1", key][..], "aws s3api "),
            (
                &["storage", "download", "bkt1", key, &dest],
                "aws s3api get-object",
            ),
            (
                &["storage", "delete", "bkt1", key],
                "aws s3api delete-object",
            ),
        ] {
            let err = env.fails(args, 1);
            assert!(
                err.contains("use an S3 client")
                    && err.contains(s3api)
                    && (args[1] == "delete") == err.contains("delete-object"),
                "{args:?}: {err}"
            );
        }
    }
    let listed = env.json(&["storage", "ls"]);
    assert!(
        listed
            .as_array()
            .expect("buckets")
            .iter()
            .any(|b| b["name"] == "bkt1"),
        "bkt1 is still there: {listed}"
    );
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

/// A pipe is not a file of known length: uploaded from a FIFO (as from
/// `<(cmd)`), its bytes are streamed until they end, not taken as the
/// 0 bytes its size reads; and a download into a FIFO feeds its reader
/// instead of replacing it with a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_downloads_through_pipes() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::start().await;
    env.sign_up("piper");
    let work = tempfile::tempdir().expect("temp dir");
    let fifo = work.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let data = noise(3 * 1024 * 1024 + 7, 0xf1f0);
    let writer = {
        let (fifo, data) = (fifo.clone(), data.clone());
        std::thread::spawn(move || std::fs::write(fifo, data).expect("the writer writes"))
    };
    let up = env.json(&[
        "storage",
        "upload",
        "pipes",
        &fifo.to_string_lossy(),
        "--key",
        "piped.bin",
    ]);
    writer.join().expect("joins");
    assert_eq!(up["size_bytes"], data.len(), "{up}");

    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || tx.send(std::fs::read(fifo).expect("the reader reads")));
    }
    env.ok(&[
        "storage",
        "download",
        "pipes",
        "piped.bin",
        &fifo.to_string_lossy(),
    ]);
    let read = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the FIFO's reader got the download");
    assert!(read == data, "the bytes through the pipes differ");
    let kind = std::fs::symlink_metadata(&fifo)
        .expect("exists")
        .file_type();
    assert!(kind.is_fifo(), "the FIFO is still a FIFO");
    assert_eq!(names(work.path()), ["pipe"], "no temporary files");

    // A recursive upload takes a tree's files and says what it passes over
    // (a FIFO, a link to nothing), rather than leaving it out in silence.
    std::fs::write(work.path().join("file.txt"), "a file").expect("writes");
    std::os::unix::fs::symlink("nowhere", work.path().join("dangling")).expect("symlink");
    let args = [
        "storage",
        "upload",
        "pipes",
        &work.path().to_string_lossy(),
        "--recursive",
        "--key",
        "tree",
    ];
    let out = env.cloud().args(args).output().expect("cloud runs");
    common::assert_success(&args, &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pipe: not a regular file")
            && stderr.contains("dangling: a symbolic link to nothing"),
        "{stderr}"
    );
    let listed = env.json(&["storage", "ls", "pipes/tree/"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    std::fs::remove_file(work.path().join("file.txt")).expect("removes");
    std::fs::remove_file(work.path().join("dangling")).expect("removes");

    // To stdout, read by a reader that stops early (`| head -c 10`): the
    // download ends quietly, as `cat` would, not with "Broken pipe".
    let mut child = env
        .cloud_std()
        .args(["storage", "download", "pipes", "piped.bin", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cloud starts");
    let mut head = [0u8; 10];
    let mut stdout = child.stdout.take().expect("piped");
    std::io::Read::read_exact(&mut stdout, &mut head).expect("the first bytes");
    assert_eq!(&head[..], &data[..10]);
    drop(stdout);
    let out = child.wait_with_output().expect("cloud ends");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
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
    let stderr = interrupt(child);
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
    assert_eq!(json["skipped"], true, "a skipped upload says so: {json}");
    assert_eq!(json["bucket"], "keep", "{json}");
    // `--key` ending in `/` names a folder: the file goes in it under its
    // own name, as with `aws s3 cp f s3://b/dir/` (and `cloud storage copy`).
    let into = env.json(&["storage", "upload", "keep", &file_arg, "--key", "dir/"]);
    assert_eq!(
        into["key"],
        format!("dir/{}", file.file_name().unwrap().to_string_lossy()),
        "{into}"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_download_round_trips_a_tree() {
    let env = Env::start().await;
    let api_key = env.sign_up("rita");
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src");
    std::fs::create_dir_all(src.join("nested/deep/er")).expect("dirs");
    std::fs::create_dir_all(src.join("ünï")).expect("dirs");
    std::fs::write(src.join("a.txt"), "alpha\n").expect("writes");
    std::fs::write(src.join("empty"), "").expect("writes");
    std::fs::write(src.join(".hidden"), "h").expect("writes");
    std::fs::write(src.join("nested/deep/er/file.bin"), noise(300_000, 3)).expect("writes");
    std::fs::write(src.join("ünï/日本語 😀.txt"), "unicode").expect("writes");
    env.ok(&[
        "storage",
        "upload",
        "rtrip",
        &src.to_string_lossy(),
        "-r",
        "--key",
        "tree",
    ]);
    // Neighbours the prefix must not reach: `tree` is the folder `tree/`.
    let c = env.client(&api_key);
    c.put_object("rtrip", "tree-old/x.txt", "no", None)
        .await
        .expect("puts");
    c.put_object("rtrip", "other.txt", "no", None)
        .await
        .expect("puts");

    let dest = work.path().join("out/new/dir");
    let out = env.ok(&[
        "storage",
        "download",
        "rtrip/tree",
        &dest.to_string_lossy(),
        "--recursive",
    ]);
    assert!(
        out.contains("Downloaded 5 files") && out.contains("from rtrip/tree/"),
        "{out}"
    );
    assert!(out.contains("rtrip/tree/empty ->"), "file by file: {out}");
    assert_eq!(tree(&dest), tree(&src), "byte for byte, nothing more");

    // JSON, the whole bucket, through `rt/` into an existing directory.
    let all = work.path().join("all");
    let got = env.json(&[
        "storage",
        "download",
        "rtrip/",
        &all.to_string_lossy(),
        "-r",
    ]);
    assert_eq!(got["downloaded"].as_array().map(Vec::len), Some(7), "{got}");
    assert_eq!(got["failed"].as_array().map(Vec::len), Some(0), "{got}");
    assert_eq!(tree(&all.join("tree")), tree(&src));
    assert_eq!(
        std::fs::read_to_string(all.join("tree-old/x.txt")).expect("reads"),
        "no"
    );

    // --no-overwrite leaves changed files alone; without it they are replaced.
    std::fs::write(dest.join("a.txt"), "mine").expect("writes");
    let args = [
        "storage",
        "download",
        "rtrip/tree/",
        &dest.to_string_lossy(),
        "-r",
        "--no-overwrite",
    ];
    let out = env.ok(&args);
    assert!(
        out.contains("Downloaded 0 files") && out.contains("skipped 5 that already existed"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("a.txt")).expect("reads"),
        "mine"
    );
    env.ok(&args[..5]);
    assert_eq!(tree(&dest), tree(&src));

    // Usage: no third positional with -r; errors.
    env.fails(&["storage", "download", "rtrip", "tree/", "x", "-r"], 2);
    let err = env.fails(&["storage", "download", "rtrip/nothing", "x", "-r"], 1);
    assert!(err.contains("no objects under rtrip/nothing/"), "{err}");
    let err = env.fails(&["storage", "download", "nobucket", "x", "-r"], 1);
    assert!(err.contains("there is no bucket nobucket"), "{err}");
    assert!(!work.path().join("x").exists() && !Path::new("x").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_download_never_leaves_the_destination() {
    let env = Env::start().await;
    let api_key = env.sign_up("mallory");
    env.ok(&["storage", "mb", "evil"]);
    let c = env.client(&api_key);
    let hostile = [
        "../escape",
        "a/../../escape2",
        "/abs",
        "dir/./x",
        "x\\y",
        "nul\0byte",
        "a//b",
        "a/..",
        "term\u{1b}]0;pwned\u{7}",
        // Shown as "invoiceexe.pdf", and a listing reordered after it.
        "invoice\u{202E}fdp.exe",
        "x\u{2066}isolate\u{2069}",
        "zero\u{200B}width",
    ];
    for key in hostile {
        c.put_object("evil", key, "bad", None).await.expect("puts");
    }
    for key in [
        "fine.txt",
        "ok/good.txt",
        "flink",
        "link/through",
        "clash",
        "clash/child",
    ] {
        c.put_object("evil", key, key.to_owned(), None)
            .await
            .expect("puts");
    }

    let parent = tempfile::tempdir().expect("temp dir");
    let dest = parent.path().join("dest");
    let outside = parent.path().join("outside");
    std::fs::create_dir_all(&dest).expect("dirs");
    std::fs::create_dir_all(&outside).expect("dirs");
    std::fs::write(outside.join("target.txt"), "original").expect("writes");
    // Links already inside the destination that point out of it.
    std::os::unix::fs::symlink(&outside, dest.join("link")).expect("symlink");
    std::os::unix::fs::symlink(outside.join("target.txt"), dest.join("flink")).expect("symlink");

    let out = env
        .cloud()
        .args(["storage", "download", "evil"])
        .arg(&dest)
        .arg("--recursive")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // Nothing beside the destination, nothing new outside, nothing through
    // a link; the safe keys are there.
    assert_eq!(names(parent.path()), ["dest", "outside"]);
    assert_eq!(names(&outside), ["target.txt"]);
    assert_eq!(
        std::fs::read_to_string(outside.join("target.txt")).expect("reads"),
        "original"
    );
    let link = format!("link -> {}", outside.display());
    let want: Vec<(String, Vec<u8>)> = vec![
        ("clash".into(), b"clash".to_vec()),
        ("fine.txt".into(), b"fine.txt".to_vec()),
        ("flink".into(), b"flink".to_vec()),
        (link, Vec::new()),
        ("ok/".into(), Vec::new()),
        ("ok/good.txt".into(), b"ok/good.txt".to_vec()),
    ];
    assert_eq!(tree(&dest), want);

    for key in hostile {
        assert!(
            stderr.contains(&format!("refused the key {key:?}")),
            "{key:?} is reported:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("refused the key \"invoice\\u{202e}fdp.exe\": it contains U+202E"),
        "{stderr}"
    );
    let invisible = ['\u{1b}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200B}'];
    assert!(
        !stderr.contains(invisible),
        "no escape nor bidirectional control reaches the terminal"
    );
    // Nor through a listing.
    let listed = env.ok(&["storage", "ls", "evil"]);
    assert!(!listed.contains(invisible), "{listed:?}");
    assert!(listed.contains("term\\u{1b}]0;pwned\\u{7}"), "{listed}");
    assert!(
        listed.contains("invoice\\u{202e}fdp.exe")
            && listed.contains("x\\u{2066}isolate\\u{2069}")
            && listed.contains("zero\\u{200b}width"),
        "{listed}"
    );
    assert!(
        stderr.contains("\"link/through\" was not downloaded")
            && stderr.contains("is a symbolic link"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"clash/child\" was not downloaded") && stderr.contains("is a file"),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: 14 of 18 objects were not downloaded: "),
        "{stderr}"
    );
    assert!(
        stdout.contains("Downloaded 4 files")
            && stdout.contains("refused 12 unsafe keys; 2 failed"),
        "{stdout}"
    );

    // The same in JSON: each refused key with its reason.
    let out = env
        .cloud()
        .args(["--json", "storage", "download", "evil"])
        .arg(parent.path().join("again"))
        .arg("-r")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let refused: Vec<&str> = got["refused"]
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["key"].as_str().expect("key"))
        .collect();
    let mut want: Vec<&str> = hostile.to_vec();
    want.sort();
    assert_eq!(refused, want);
    // No links there: only the clash remains.
    assert_eq!(got["downloaded"].as_array().map(Vec::len), Some(5), "{got}");
    assert_eq!(got["failed"][0]["key"], "clash/child", "{got}");
    assert_eq!(got["failed"].as_array().map(Vec::len), Some(1), "{got}");
    assert_eq!(names(parent.path()), ["again", "dest", "outside"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_delete_removes_exactly_the_prefix() {
    let env = Env::start().await;
    let api_key = env.sign_up("dora");
    env.ok(&["storage", "mb", "bin"]);
    let c = env.client(&api_key);
    for key in [
        "logs/a",
        "logs/b/c",
        "logs/",
        "logs-old/x",
        "keep.txt",
        "other/logs/z",
        "logs/esc\u{1b}[2J",
    ] {
        c.put_object("bin", key, "x", None).await.expect("puts");
    }
    let keys = || -> Vec<String> {
        env.json(&["storage", "ls", "bin"])
            .as_array()
            .expect("array")
            .iter()
            .map(|o| o["key"].as_str().expect("key").to_owned())
            .collect()
    };

    // Not a terminal and no --yes: refused, nothing deleted.
    let err = env.fails(&["storage", "delete", "bin/logs", "--recursive"], 1);
    assert!(
        err.contains("refusing to delete 4 objects (4 B) under bin/logs/")
            && err.contains("pass --yes"),
        "{err}"
    );
    assert_eq!(keys().len(), 7);

    let out = env.ok(&["storage", "rm", "bin/logs", "-r", "--yes"]);
    assert!(
        out.contains("Deleted 4 objects (4 B) under bin/logs/."),
        "{out}"
    );
    assert!(
        out.contains("deleted bin/logs/b/c"),
        "object by object: {out}"
    );
    assert!(
        out.contains("deleted bin/logs/esc\\u{1b}[2J") && !out.contains('\u{1b}'),
        "a key cannot drive the terminal: {out:?}"
    );
    assert_eq!(keys(), ["keep.txt", "logs-old/x", "other/logs/z"]);
    let out = env.ok(&["storage", "delete", "bin/logs/", "-r", "-y"]);
    assert!(out.contains("No objects under bin/logs/"), "{out}");

    // The whole bucket needs the same confirmation.
    let err = env.fails(&["storage", "delete", "bin", "-r"], 1);
    assert!(
        err.contains("in bucket bin (all of its objects)") && err.contains("pass --yes"),
        "{err}"
    );
    assert_eq!(keys().len(), 3);
    let gone = env.json(&["storage", "delete", "bin", "-r", "--yes"]);
    assert_eq!(
        gone["deleted"],
        serde_json::json!(["keep.txt", "logs-old/x", "other/logs/z"])
    );
    assert!(keys().is_empty());
    env.ok(&["storage", "rb", "bin"]);

    // Usage: a key with -r, no key without -r.
    env.fails(&["storage", "delete", "bin", "k", "-r"], 2);
    env.fails(&["storage", "delete", "bin"], 2);
    let err = env.fails(&["storage", "delete", "nobucket", "-r", "--yes"], 1);
    assert!(err.contains("there is no bucket nobucket"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_commands_page_through_long_listings() {
    let env = Env::start().await;
    let api_key = env.sign_up("paula");
    env.ok(&["storage", "mb", "pages"]);
    let c = env.client(&api_key);
    // One more than the server's page (1,000 keys).
    let keys: Vec<String> = (0..1001).map(|i| format!("many/k{i:04}")).collect();
    futures::stream::iter(&keys)
        .for_each_concurrent(16, |key| {
            let c = c.clone();
            async move {
                c.put_object("pages", key, key.clone(), None)
                    .await
                    .expect("puts");
            }
        })
        .await;
    c.put_object("pages", "zz-other", "x", None)
        .await
        .expect("puts");

    let dest = tempfile::tempdir().expect("temp dir");
    let got = env.json(&[
        "storage",
        "download",
        "pages/many",
        &dest.path().to_string_lossy(),
        "-r",
    ]);
    assert_eq!(got["downloaded"].as_array().map(Vec::len), Some(1001));
    assert_eq!(names(dest.path()).len(), 1001);
    assert_eq!(
        std::fs::read_to_string(dest.path().join("k1000")).expect("the last page too"),
        "many/k1000"
    );

    let out = env.ok(&["storage", "delete", "pages/many", "-r", "--yes"]);
    assert!(out.contains("Deleted 1001 objects"), "{out}");
    let left = env.json(&["storage", "ls", "pages"]);
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
    assert_eq!(left[0]["key"], "zz-other");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_shows_every_page_of_buckets() {
    let env = Env::start().await;
    let api_key = env.sign_up("rita");
    let c = env.client(&api_key);
    // One more than the server's page of buckets (1,000).
    let mut buckets: Vec<String> = (0..1001).map(|i| format!("rb-{i:04}")).collect();
    futures::stream::iter(&buckets)
        .for_each_concurrent(16, |name| {
            let c = c.clone();
            async move {
                c.create_bucket(name).await.expect("bucket created");
            }
        })
        .await;
    buckets.sort();
    let page = c.list_buckets_page(None, None).await.expect("one page");
    assert_eq!(page.data.len(), 1000, "the server's page is shorter");
    assert!(page.next_token.is_some());

    let listed = env.json(&["storage", "ls"]);
    let names: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|b| b["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, buckets, "every bucket once, by name");
    let table = env.ok(&["storage", "ls"]);
    assert!(table.contains("rb-1000"), "the second page too: {table}");
    assert_eq!(table.lines().count(), 1002, "a header and 1,001 rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_recursive_download_leaves_no_partial_file() {
    let env = Env::start().await;
    env.sign_up("ivan");
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src");
    std::fs::create_dir_all(src.join("b")).expect("dirs");
    std::fs::write(src.join("a.txt"), "small").expect("writes");
    std::fs::write(src.join("b/big.bin"), noise(4 * 1024 * 1024, 9)).expect("writes");
    env.ok(&[
        "storage",
        "upload",
        "halt",
        &src.to_string_lossy(),
        "-r",
        "--key",
        "",
    ]);

    let dest = work.path().join("dest");
    let mut child = env
        .cloud_std()
        .args(["storage", "download", "halt"])
        .arg(&dest)
        .args(["-r", "--limit-rate", "512K"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cloud starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dest.join("b").is_dir() || !names(&dest.join("b")).iter().any(|n| n.ends_with(".part")) {
        assert!(child.try_wait().expect("waits").is_none(), "ended too soon");
        assert!(Instant::now() < deadline, "no partial download appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    let stderr = interrupt(child);
    assert!(
        stderr.contains("interrupted: 1 of 2 files were downloaded") && stderr.contains("big.bin"),
        "{stderr}"
    );
    // The finished file stays; the interrupted one left nothing.
    assert_eq!(
        tree(&dest),
        [
            ("a.txt".into(), b"small".to_vec()),
            ("b/".into(), Vec::new())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_download_with_no_overwrite_never_replaces_a_file() {
    let env = Env::start().await;
    env.sign_up("nora");
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("report.txt");
    std::fs::write(&src, "from the server").expect("writes");
    env.ok(&["storage", "upload", "keep", &src.to_string_lossy()]);
    let dir = work.path().join("dl");
    std::fs::create_dir(&dir).expect("mkdir");

    // A free name: downloaded as without the flag, human and JSON.
    let fresh = dir.join("fresh.txt");
    let out = env.ok(&[
        "storage",
        "download",
        "keep",
        "report.txt",
        &fresh.to_string_lossy(),
        "--no-overwrite",
    ]);
    assert!(out.contains("Downloaded keep/report.txt to"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&fresh).expect("reads"),
        "from the server"
    );
    let other = dir.join("other.txt");
    let got = env.json(&[
        "storage",
        "download",
        "keep",
        "report.txt",
        &other.to_string_lossy(),
        "--no-overwrite",
    ]);
    assert_eq!(got["size_bytes"], 15);

    // An existing file, named or found in a directory or in the current
    // directory, and a (dangling) link: refused, exit 1, untouched.
    std::fs::write(&fresh, "mine").expect("writes");
    std::fs::write(dir.join("report.txt"), "mine too").expect("writes");
    std::os::unix::fs::symlink(work.path().join("nowhere"), dir.join("link.txt")).expect("symlink");
    let before = tree(work.path());
    for dest in [
        Some(fresh.to_string_lossy().into_owned()),
        Some(dir.to_string_lossy().into_owned()),
        Some(dir.join("link.txt").to_string_lossy().into_owned()),
        None,
    ] {
        let mut args = vec!["storage", "download", "keep", "report.txt"];
        args.extend(dest.as_deref());
        args.push("--no-overwrite");
        let out = env
            .cloud()
            .current_dir(&dir)
            .args(&args)
            .output()
            .expect("runs");
        let err = common::assert_failure(&args, &out, 1);
        assert!(
            err.contains("exists: not overwritten (--no-overwrite)"),
            "{err}"
        );
        let named = dest.map_or_else(
            || "report.txt".to_owned(),
            |d| {
                if Path::new(&d).is_dir() {
                    format!("{d}/report.txt")
                } else {
                    d
                }
            },
        );
        assert!(err.contains(&named), "names {named}: {err}");
        assert!(out.stdout.is_empty(), "nothing on stdout");
        assert_eq!(tree(work.path()), before, "nothing written, nothing left");
    }
    assert!(
        !work.path().join("nowhere").exists(),
        "not through the link"
    );

    // To stdout the flag has nothing to protect.
    let out = env.ok(&[
        "storage",
        "download",
        "keep",
        "report.txt",
        "-",
        "--no-overwrite",
    ]);
    assert_eq!(out, "from the server");
    // A missing object is still said as such, and leaves nothing.
    let gone = dir.join("gone.txt");
    let err = env.fails(
        &[
            "storage",
            "download",
            "keep",
            "missing.txt",
            &gone.to_string_lossy(),
            "--no-overwrite",
        ],
        1,
    );
    assert!(err.contains("no object \"missing.txt\""), "{err}");
    assert_eq!(tree(work.path()), before);
    // --yes still needs --recursive.
    let err = env.fails(&["storage", "delete", "keep", "report.txt", "--yes"], 2);
    assert!(err.contains("--yes applies only with --recursive"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_differ_only_in_case_never_share_a_file() {
    let env = Env::start().await;
    let api_key = env.sign_up("casey");
    env.ok(&["storage", "mb", "cases"]);
    let c = env.client(&api_key);
    // Listed in byte order: upper case first.
    for key in [
        "Docs/Guide.md",
        "README",
        "docs/guide.md",
        "docs/other.md",
        "readme",
        "straße",
        "STRASSE",
    ] {
        c.put_object("cases", key, key.to_owned(), None)
            .await
            .expect("puts");
    }
    let work = tempfile::tempdir().expect("temp dir");
    for no_overwrite in [false, true] {
        let dest = work.path().join(format!("dest-{no_overwrite}"));
        let mut args = vec!["storage", "download", "cases"];
        let dest_arg = dest.to_string_lossy().into_owned();
        args.extend([dest_arg.as_str(), "-r"]);
        if no_overwrite {
            args.push("--no-overwrite");
        }
        let out = env.cloud().args(&args).output().expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        // Each key's own bytes, the first of each case-folded name only;
        // `docs/` is not even made for the refused key.
        let want: Vec<(String, Vec<u8>)> = vec![
            ("Docs/".into(), Vec::new()),
            ("Docs/Guide.md".into(), b"Docs/Guide.md".to_vec()),
            ("README".into(), b"README".to_vec()),
            ("STRASSE".into(), b"STRASSE".to_vec()),
            ("docs/".into(), Vec::new()),
            ("docs/other.md".into(), b"docs/other.md".to_vec()),
        ];
        assert_eq!(tree(&dest), want, "{stderr}");
        for (key, first) in [
            ("docs/guide.md", "Docs/Guide.md"),
            ("readme", "README"),
            ("straße", "STRASSE"),
        ] {
            let line = format!(
                "{key:?} was not downloaded: {} differs only in case from {}, where {first:?} \
                 was downloaded",
                dest.join(key).display(),
                dest.join(first).display()
            );
            assert!(stderr.contains(&line), "{line}\n{stderr}");
        }
        assert!(stderr.contains("case-insensitive file system"), "{stderr}");
        assert!(
            stdout.contains("Downloaded 4 files") && stdout.contains("; 3 failed"),
            "{stdout}"
        );
    }

    // JSON says which keys failed and why.
    let again = work.path().join("json");
    let out = env
        .cloud()
        .args(["--json", "storage", "download", "cases"])
        .arg(&again)
        .arg("-r")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let failed: Vec<&str> = got["failed"]
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["key"].as_str().expect("key"))
        .collect();
    assert_eq!(failed, ["docs/guide.md", "readme", "straße"], "{got}");
    assert!(
        got["failed"][1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("differs only in case")),
        "{got}"
    );
    // A prefix without a clash downloads cleanly.
    let docs = work.path().join("docs-only");
    let got = env.json(&[
        "storage",
        "download",
        "cases/docs",
        &docs.to_string_lossy(),
        "-r",
    ]);
    assert_eq!(got["downloaded"].as_array().map(Vec::len), Some(2), "{got}");
}

/// Versioning from the CLI: the state shown and set, versions listed,
/// downloaded and deleted by id, delete markers, and a versioned bucket
/// emptied with `delete --recursive --all-versions` so that `rb` works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_buckets_from_the_cli() {
    let env = Env::start().await;
    env.sign_up("vera");
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("notes.txt");
    let path = file.to_str().expect("UTF-8 path");
    env.ok(&["storage", "mb", "vers"]);
    let out = env.ok(&["storage", "versioning", "vers"]);
    assert!(out.contains("Bucket vers is not versioned"), "{out}");
    let out = env.ok(&["storage", "versioning", "vers", "enable"]);
    assert!(
        out.contains("Bucket vers: versioning is now enabled."),
        "{out}"
    );
    assert_eq!(
        env.json(&["storage", "versioning", "vers"])["status"],
        "enabled"
    );

    // Two versions of one key.
    std::fs::write(&file, "old notes\n").expect("writes");
    env.ok(&["storage", "upload", "vers", path]);
    std::fs::write(&file, "new notes, longer\n").expect("writes");
    env.ok(&["storage", "upload", "vers", path]);
    let versions = env.json(&["storage", "ls", "vers", "--versions"]);
    let versions = versions.as_array().expect("array");
    assert_eq!(versions.len(), 2, "{versions:?}");
    let (new, old) = (
        versions[0]["version_id"].as_str().expect("id").to_owned(),
        versions[1]["version_id"].as_str().expect("id").to_owned(),
    );
    assert_eq!(versions[0]["is_latest"], true);
    assert_eq!(versions[1]["is_latest"], false);
    let out = env.ok(&["storage", "ls", "vers", "--versions"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["KEY", "VERSION", "ID", "LATEST", "SIZE", "MODIFIED"]
    );
    assert!(lines[1].contains(&new) && lines[1].contains("yes"), "{out}");
    assert!(
        lines[2].contains(&old) && !lines[2].contains("yes"),
        "{out}"
    );

    // The old version downloads by its id.
    let dest = work.path().join("old.txt");
    let dest_s = dest.to_str().expect("UTF-8");
    let out = env.ok(&[
        "storage",
        "download",
        "vers",
        "notes.txt",
        dest_s,
        "--version-id",
        &old,
    ]);
    assert!(out.contains(&format!("(version {old})")), "{out}");
    assert_eq!(
        std::fs::read_to_string(&dest).expect("reads"),
        "old notes\n"
    );
    let got = env.json(&[
        "storage",
        "download",
        "vers",
        "notes.txt",
        dest_s,
        "--version-id",
        &new,
    ]);
    assert_eq!(got["version_id"], new.as_str());
    assert_eq!(
        std::fs::read_to_string(&dest).expect("reads"),
        "new notes, longer\n"
    );

    // A delete leaves a marker; the versions stay.
    let out = env.ok(&["storage", "delete", "vers", "notes.txt"]);
    assert!(
        out.contains("a delete marker") && out.contains("its versions are kept"),
        "{out}"
    );
    assert_eq!(env.json(&["storage", "ls", "vers"]), serde_json::json!([]));
    let out = env.ok(&["storage", "ls", "vers", "--versions"]);
    assert!(out.contains("(delete marker)"), "{out}");
    let marker = env.json(&["storage", "ls", "vers", "--versions"])[0]["version_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let err = env.fails(&["storage", "download", "vers", "notes.txt", dest_s], 1);
    assert!(
        err.contains("\"notes.txt\" in bucket vers was deleted")
            && err.contains("`cloud storage ls vers --versions`"),
        "{err}"
    );
    let err = env.fails(&["storage", "stat", "vers", "notes.txt"], 1);
    assert!(
        err.contains("was deleted: its latest version is a delete marker"),
        "{err}"
    );
    let err = env.fails(
        &[
            "storage",
            "download",
            "vers",
            "notes.txt",
            dest_s,
            "--version-id",
            &marker,
        ],
        1,
    );
    assert!(err.contains("is a delete marker"), "{err}");
    let err = env.fails(
        &[
            "storage",
            "download",
            "vers",
            "notes.txt",
            dest_s,
            "--version-id",
            "nope",
        ],
        1,
    );
    assert!(err.contains("invalid version_id"), "{err}");

    // A version deleted by id is gone for good.
    let out = env.ok(&[
        "storage",
        "delete",
        "vers",
        "notes.txt",
        "--version-id",
        &old,
    ]);
    assert!(out.contains("for good"), "{out}");
    let err = env.fails(
        &[
            "storage",
            "download",
            "vers",
            "notes.txt",
            dest_s,
            "--version-id",
            &old,
        ],
        1,
    );
    assert!(err.contains(&format!("there is no version {old}")), "{err}");
    assert_eq!(
        env.json(&["storage", "ls", "vers", "--versions"])
            .as_array()
            .expect("array")
            .len(),
        2
    );

    // A bucket holding versions cannot be removed until they are deleted.
    let err = env.fails(&["storage", "rb", "vers"], 1);
    assert!(
        err.contains("holds object versions or delete markers")
            && err.contains("cloud storage delete vers -r --all-versions"),
        "{err}"
    );
    let err = env.fails(&["storage", "delete", "vers", "-r", "--all-versions"], 1);
    assert!(
        err.contains("refusing to delete 2 versions and delete markers"),
        "{err}"
    );
    let out = env.ok(&["storage", "delete", "vers", "-r", "--all-versions", "--yes"]);
    assert!(
        out.contains("Deleted 2 versions and delete markers") && out.contains("(version "),
        "{out}"
    );
    env.ok(&["storage", "rb", "vers"]);

    // Usage errors.
    env.fails(&["storage", "delete", "vers", "k", "--all-versions"], 2);
    env.fails(
        &["storage", "delete", "vers", "-r", "--version-id", "null"],
        2,
    );
    env.fails(&["storage", "ls", "--versions"], 2);
    env.fails(&["storage", "versioning", "vers", "off"], 2);
}

/// `cloud storage stat`: what a HEAD says of an object (size, type, ETag,
/// metadata, stored headers, version), in human and JSON form, and what
/// is missing said precisely (the object, the bucket, the version).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_shows_what_the_server_keeps_of_an_object() {
    let env = Env::start().await;
    let api_key = env.sign_up("stan");
    // Metadata and stored headers come from a raw PUT (the CLI's upload
    // sets neither).
    let res = reqwest::Client::new()
        .put(format!("{}/storage/stats/report.csv", env.server.url()))
        .header("x-api-key", &api_key)
        .header("content-type", "text/csv")
        .header("x-amz-meta-colour", "blue")
        .header("cache-control", "max-age=60")
        .body("a,b\n1,2\n")
        .send()
        .await
        .expect("PUT");
    assert!(res.status().is_success(), "{}", res.status());

    let out = env.ok(&["storage", "stat", "stats", "report.csv"]);
    for want in [
        "object",
        "stats/report.csv",
        "8 B (8 bytes)",
        "text/csv",
        "\"",
        "meta colour",
        "blue",
        "cache-control",
        "max-age=60",
    ] {
        assert!(out.contains(want), "{want:?} in:\n{out}");
    }
    assert!(!out.contains("version id"), "never versioned:\n{out}");
    let json = env.json(&["storage", "info", "stats", "report.csv"]);
    assert_eq!(json["size_bytes"], 8);
    assert_eq!(json["content_type"], "text/csv");
    assert_eq!(json["metadata"]["colour"], "blue");
    assert_eq!(json["headers"]["cache-control"], "max-age=60");
    assert_eq!(json["version_id"], serde_json::Value::Null);
    let etag = json["etag"].as_str().expect("an ETag").to_owned();
    let listed = env.json(&["storage", "ls", "stats"]);
    assert_eq!(listed[0]["etag"], etag.as_str());

    // A version, by its id.
    env.ok(&["storage", "versioning", "stats", "enable"]);
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("report.csv");
    std::fs::write(&file, "a,b\n3,4\n5,6\n").expect("writes");
    env.ok(&["storage", "upload", "stats", file.to_str().expect("UTF-8")]);
    let current = env.json(&["storage", "stat", "stats", "report.csv"]);
    assert_eq!(current["size_bytes"], 12);
    let v = current["version_id"]
        .as_str()
        .expect("a version id")
        .to_owned();
    let old = env.json(&[
        "storage",
        "stat",
        "stats",
        "report.csv",
        "--version-id",
        "null",
    ]);
    assert_eq!(old["size_bytes"], 8);
    assert_eq!(old["etag"], etag.as_str());
    let out = env.ok(&["storage", "stat", "stats", "report.csv", "--version-id", &v]);
    assert!(out.contains(&v) && out.contains("12 B"), "{out}");

    // Missing things, said precisely.
    let err = env.fails(&["storage", "stat", "stats", "nope.csv"], 1);
    assert!(err.contains("there is no object \"nope.csv\""), "{err}");
    let err = env.fails(&["storage", "stat", "nobucket", "x"], 1);
    assert!(err.contains("there is no bucket nobucket"), "{err}");
    let err = env.fails(
        &[
            "storage",
            "stat",
            "stats",
            "report.csv",
            "--version-id",
            "0123456789abcdef0123456789abcdef",
        ],
        1,
    );
    assert!(err.contains("there is no version 0123"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_and_move_on_the_server() {
    let env = Env::start().await;
    let api_key = env.sign_up("coco");
    env.ok(&["storage", "mb", "cp-src"]);
    env.ok(&["storage", "mb", "cp-dst"]);
    let c = env.client(&api_key);
    let body = noise(3 << 20, 5);
    c.put_object(
        "cp-src",
        "docs/big.bin",
        body.clone(),
        Some("application/x-big"),
    )
    .await
    .expect("puts");
    for key in ["docs/a.txt", "docs/sub/b.txt", "docs-old/x", "top.txt"] {
        c.put_object("cp-src", key, key.as_bytes().to_vec(), None)
            .await
            .expect("puts");
    }
    let keys = |bucket: &str| -> Vec<String> {
        env.json(&["storage", "ls", bucket])
            .as_array()
            .expect("array")
            .iter()
            .map(|o| o["key"].as_str().expect("key").to_owned())
            .collect()
    };
    let read = |bucket: &'static str, key: &'static str| {
        let c = c.clone();
        async move {
            c.get_object(bucket, key, None, None)
                .await
                .unwrap_or_else(|e| panic!("GET {bucket}/{key}: {e}"))
                .bytes()
                .await
                .expect("body")
        }
    };

    // One object: to a bucket (the key's last segment), a folder, a key.
    let out = env.ok(&["storage", "copy", "cp-src/docs/big.bin", "cp-dst"]);
    assert!(
        out.contains("Copied cp-src/docs/big.bin to cp-dst/big.bin (3.0 MiB"),
        "{out}"
    );
    assert_eq!(read("cp-dst", "big.bin").await, body);
    let head = c.head_object("cp-dst", "big.bin").await.expect("HEAD");
    assert_eq!(head["content-type"], "application/x-big");
    env.ok(&["storage", "cp", "cp-src/top.txt", "cp-dst/in/"]);
    let copied = env.json(&["storage", "cp", "cp-src/top.txt", "cp-dst/renamed.txt"]);
    assert_eq!(copied["key"], "renamed.txt");
    assert_eq!(copied["size_bytes"], 7);
    assert_eq!(keys("cp-dst"), ["big.bin", "in/top.txt", "renamed.txt"]);

    // --no-overwrite refuses a single copy and skips in a tree.
    let err = env.fails(
        &[
            "storage",
            "copy",
            "cp-src/docs/a.txt",
            "cp-dst/renamed.txt",
            "--no-overwrite",
        ],
        1,
    );
    assert!(err.contains("exists and --no-overwrite was given"), "{err}");
    assert_eq!(read("cp-dst", "renamed.txt").await, b"top.txt");

    // A tree: exactly the prefix (not docs-old/), each key below it kept.
    let out = env.ok(&["storage", "copy", "cp-src/docs", "cp-dst/backup", "-r"]);
    assert!(
        out.contains("Copied 3 objects") && out.contains("from cp-src/docs/ to cp-dst/backup/"),
        "{out}"
    );
    assert_eq!(
        keys("cp-dst"),
        [
            "backup/a.txt",
            "backup/big.bin",
            "backup/sub/b.txt",
            "big.bin",
            "in/top.txt",
            "renamed.txt"
        ]
    );
    c.put_object("cp-dst", "backup/a.txt", "changed", None)
        .await
        .expect("puts");
    let report = env.json(&[
        "storage",
        "copy",
        "cp-src/docs/",
        "cp-dst/backup/",
        "-r",
        "--no-overwrite",
    ]);
    assert_eq!(report["copied"], serde_json::json!([]));
    assert_eq!(report["skipped"].as_array().expect("array").len(), 3);
    assert_eq!(read("cp-dst", "backup/a.txt").await, b"changed");

    // Move: the copies are made and the sources go; a skipped source stays.
    let out = env.ok(&["storage", "move", "cp-src/top.txt", "cp-src/moved/"]);
    assert!(
        out.contains("Moved cp-src/top.txt to cp-src/moved/top.txt"),
        "{out}"
    );
    let out = env.ok(&[
        "storage",
        "mv",
        "cp-src/docs",
        "cp-dst/backup",
        "-r",
        "--no-overwrite",
    ]);
    assert!(
        out.contains("Moved 0 objects") && out.contains("skipped 3"),
        "{out}"
    );
    assert_eq!(
        keys("cp-src"),
        [
            "docs-old/x",
            "docs/a.txt",
            "docs/big.bin",
            "docs/sub/b.txt",
            "moved/top.txt"
        ]
    );
    let out = env.ok(&["storage", "mv", "cp-src/docs", "cp-src/archive", "-r"]);
    assert!(out.contains("Moved 3 objects"), "{out}");
    assert_eq!(
        keys("cp-src"),
        [
            "archive/a.txt",
            "archive/big.bin",
            "archive/sub/b.txt",
            "docs-old/x",
            "moved/top.txt"
        ]
    );
    assert_eq!(read("cp-src", "archive/big.bin").await, body);

    // A version copied onto its own key restores it.
    env.ok(&["storage", "versioning", "cp-src", "enable"]);
    let v1 = c
        .put_object("cp-src", "v.txt", "first", None)
        .await
        .expect("puts")
        .version_id
        .expect("id");
    c.put_object("cp-src", "v.txt", "second", None)
        .await
        .expect("puts");
    let out = env.ok(&[
        "storage",
        "copy",
        "cp-src/v.txt",
        "cp-src/v.txt",
        "--version-id",
        &v1,
    ]);
    assert!(out.contains("Copied cp-src/v.txt to cp-src/v.txt"), "{out}");
    assert_eq!(read("cp-src", "v.txt").await, b"first");

    // Mistakes are said plainly and change nothing.
    let err = env.fails(&["storage", "copy", "cp-src/nothing", "cp-dst"], 1);
    assert!(
        err.contains("there is no object \"nothing\" in bucket cp-src"),
        "{err}"
    );
    let err = env.fails(
        &["storage", "copy", "cp-src/archive/a.txt", "no-such-bucket/"],
        1,
    );
    assert!(
        err.contains("there is no bucket no-such-bucket to copy into"),
        "{err}"
    );
    let err = env.fails(
        &["storage", "copy", "cp-src/archive", "no-such-bucket", "-r"],
        1,
    );
    assert!(
        err.contains("there is no bucket no-such-bucket to copy into"),
        "{err}"
    );
    let err = env.fails(
        &["storage", "copy", "cp-src/archive/a.txt", "cp-src/archive/"],
        1,
    );
    assert!(err.contains("the same object"), "{err}");
    let err = env.fails(&["storage", "copy", "cp-src", "cp-dst"], 1);
    assert!(err.contains("names no object"), "{err}");
    let err = env.fails(&["storage", "copy", "cp-src/x/", "cp-src/x", "-r"], 1);
    assert!(err.contains("the same folder"), "{err}");
    env.fails(
        &[
            "storage",
            "copy",
            "cp-src/a",
            "cp-dst",
            "-r",
            "--version-id",
            "null",
        ],
        2,
    );
    env.fails(&["storage", "move", "cp-src/a"], 2);
    assert_eq!(keys("cp-dst").len(), 6);
}

/// A key with control characters (an escape sequence that would recolour
/// or rewrite the terminal) is shown escaped in the single upload's and
/// download's lines, as `ls` shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_keys_are_shown_escaped() {
    let env = Env::start().await;
    env.sign_up("escaper");
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("plain.txt");
    std::fs::write(&file, "x").expect("writes");
    let key = "esc\u{1b}[31mred";
    let out = env.ok(&[
        "storage",
        "upload",
        "esc",
        &file.to_string_lossy(),
        "--key",
        key,
    ]);
    assert!(
        !out.contains('\u{1b}') && out.contains("esc\\u{1b}[31mred"),
        "{out:?}"
    );
    let dest = work.path().join("back.txt");
    let out = env.ok(&["storage", "download", "esc", key, &dest.to_string_lossy()]);
    assert!(
        !out.contains('\u{1b}') && out.contains("\\u{1b}"),
        "{out:?}"
    );
}

/// A file cut short while `cloud` uploads it (a log rotated under it) is
/// an error that says so, and the server keeps nothing: the request ends
/// short of its announced length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_shrinks_during_its_upload_is_refused() {
    let env = Env::start().await;
    env.sign_up("shrinker");
    env.ok(&["storage", "mb", "shrinks"]);
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("rotated.log");
    std::fs::write(&file, noise(2 * 1024 * 1024, 0x5151)).expect("writes");
    let child = env
        .cloud_std()
        .args(["storage", "upload", "shrinks", &file.to_string_lossy()])
        .args(["--limit-rate", "512K"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cloud starts");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("opens")
        .set_len(100_000)
        .expect("truncates");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joins")
        .expect("cloud ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot upload rotated.log: the file shrank"),
        "{stderr}"
    );
    let listed = env.json(&["storage", "ls", "shrinks"]);
    assert_eq!(listed, serde_json::json!([]), "nothing kept");
}
