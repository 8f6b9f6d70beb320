//! `cloud storage sync` against a real server (SQLite, real files): only
//! new and changed files move, `--delete` removes exactly what the source
//! lacks, `--dry-run` changes nothing, and a download never leaves its
//! directory.

mod common;

use common::{Env, tree};
use std::path::Path;

/// The bucket's objects under `prefix` with their bytes.
async fn objects(c: &miniaws_client::Client, bucket: &str, prefix: &str) -> Vec<(String, String)> {
    let params = miniaws_client::ListObjectsParams {
        prefix: Some(prefix.to_owned()),
        ..Default::default()
    };
    let page = c.list_objects(bucket, &params).await.expect("lists");
    let mut out = Vec::new();
    for o in page.objects {
        let body = c
            .get_object(bucket, &o.key, None, None)
            .await
            .expect("reads")
            .bytes()
            .await
            .expect("reads");
        out.push((o.key, String::from_utf8(body).expect("utf-8")));
    }
    out
}

/// Runs `cloud args…`, asserts exit 1 (warnings may precede the error),
/// returns stderr.
fn fails_with_warnings(env: &Env, args: &[&str]) -> String {
    let out = env.cloud().args(args).output().expect("cloud runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{stderr}");
    stderr
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
    std::fs::write(path, text).expect("writes");
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// What [`tree`] shows of these files and directories (`dir/`, no bytes).
fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = list
        .iter()
        .map(|(a, b)| ((*a).to_owned(), b.as_bytes().to_vec()))
        .collect();
    out.sort();
    out
}

/// The names in a JSON list of `{name, …}`.
fn names(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|d| d["name"].as_str().expect("a name"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_up_moves_only_what_changed_and_deletes_only_what_is_gone() {
    let env = Env::start().await;
    let key = env.sign_up("sid");
    let c = env.client(&key);
    let work = tempfile::tempdir().expect("temp dir");
    let site = work.path().join("site");
    write(&site, "index.html", "aaaa");
    write(&site, "css/a.css", "body{}");
    write(&site, "deep/er/x.txt", "x");
    write(&site, "scratch.tmp", "tmp");
    let site_arg = site.to_string_lossy().into_owned();

    // First run: everything is new; the bucket is created by the upload.
    let got = env.json(&["storage", "sync", &site_arg, "s3://web/www"]);
    assert_eq!(
        names(&got["uploaded"]),
        [
            "www/css/a.css",
            "www/deep/er/x.txt",
            "www/index.html",
            "www/scratch.tmp"
        ],
        "{got}"
    );
    assert_eq!(got["uploaded"][0]["why"], "new", "{got}");
    assert_eq!(got["unchanged"], 0);

    // Second run: nothing moves.
    let out = env.ok(&["storage", "sync", &site_arg, "s3://web/www"]);
    assert!(
        out.contains("uploaded 0 files") && out.contains("4 unchanged"),
        "{out}"
    );

    // A same-size edit is found by its MD5, not its size; a neighbour
    // prefix and a folder marker are left alone; excluded files are
    // neither uploaded nor deleted.
    write(&site, "index.html", "bbbb");
    std::fs::remove_file(site.join("css/a.css")).expect("removes");
    write(&site, "new.txt", "n");
    c.put_object("web", "www-old/keep.txt", "neighbour", None)
        .await
        .expect("puts");
    c.put_object("web", "www/folder/", "", None)
        .await
        .expect("puts");
    c.put_object("web", "www/remote-only.txt", "r", None)
        .await
        .expect("puts");
    c.put_object("web", "www/logs/today.tmp", "remote tmp", None)
        .await
        .expect("puts");
    let before = objects(&c, "web", "").await;

    // Dry run: says it all, changes nothing.
    let args = [
        "storage",
        "sync",
        &site_arg,
        "s3://web/www/",
        "--delete",
        "--exclude",
        "*.tmp",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let plan = env.json(&dry);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        names(&plan["uploaded"]),
        ["www/index.html", "www/new.txt"],
        "{plan}"
    );
    assert_eq!(plan["uploaded"][0]["why"], "changed");
    assert_eq!(plan["uploaded"][1]["why"], "new");
    assert_eq!(
        names(&plan["deleted"]),
        ["www/css/a.css", "www/remote-only.txt"],
        "{plan}"
    );
    assert_eq!(
        objects(&c, "web", "").await,
        before,
        "a dry run changes nothing"
    );
    let text = env.ok(&dry);
    assert!(
        text.contains("would upload") && text.contains("Dry run"),
        "{text}"
    );

    let got = env.json(&args);
    assert_eq!(got["dry_run"], false);
    assert_eq!(names(&got["uploaded"]), names(&plan["uploaded"]), "{got}");
    assert_eq!(names(&got["deleted"]), names(&plan["deleted"]), "{got}");
    assert_eq!(got["unchanged"], 1, "deep/er/x.txt: {got}");
    assert_eq!(
        objects(&c, "web", "").await,
        pairs(&[
            ("www-old/keep.txt", "neighbour"),
            ("www/deep/er/x.txt", "x"),
            ("www/folder/", ""),
            ("www/index.html", "bbbb"),
            ("www/logs/today.tmp", "remote tmp"),
            ("www/new.txt", "n"),
            ("www/scratch.tmp", "tmp"),
        ])
    );

    // Without --delete nothing is removed.
    std::fs::remove_file(site.join("new.txt")).expect("removes");
    env.ok(&["storage", "sync", &site_arg, "s3://web/www"]);
    assert!(objects(&c, "web", "www/new.txt").await.len() == 1);

    // An empty source never empties the destination by --delete.
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let err = env.fails(
        &[
            "storage",
            "sync",
            &empty.to_string_lossy(),
            "s3://web/www",
            "--delete",
        ],
        1,
    );
    assert!(
        err.contains("holds nothing") && err.contains("refusing to delete"),
        "{err}"
    );
    assert_eq!(objects(&c, "web", "www/").await.len(), 6);

    // --exclude and --include in order: the last match decides.
    let got = env.json(&[
        "storage",
        "sync",
        &site_arg,
        "s3://web/html",
        "--exclude",
        "*",
        "--include",
        "*.html",
        "--include",
        "deep/*",
        "--exclude",
        "*.txt",
    ]);
    assert_eq!(names(&got["uploaded"]), ["html/index.html"], "{got}");
    let got = env.json(&[
        "storage",
        "sync",
        &site_arg,
        "s3://web/html",
        "--include",
        "*.tmp",
        "--exclude",
        "*",
    ]);
    assert_eq!(names(&got["uploaded"]), Vec::<&str>::new(), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_down_moves_only_what_changed_and_never_leaves_the_directory() {
    let env = Env::start().await;
    let key = env.sign_up("dora");
    let c = env.client(&key);
    for (k, v) in [
        ("docs/a.txt", "aaaa"),
        ("docs/sub/b.txt", "b"),
        ("docs/skip.tmp", "t"),
        ("docs-old/no.txt", "no"),
    ] {
        c.put_object("lib", k, v.to_owned(), None)
            .await
            .expect("puts");
    }
    let work = tempfile::tempdir().expect("temp dir");
    let dest = work.path().join("mirror/docs");
    let dest_arg = dest.to_string_lossy().into_owned();

    let got = env.json(&["storage", "sync", "s3://lib/docs", &dest_arg]);
    assert_eq!(
        names(&got["downloaded"]),
        ["docs/a.txt", "docs/skip.tmp", "docs/sub/b.txt"],
        "{got}"
    );
    assert_eq!(
        tree(&dest),
        files(&[
            ("a.txt", "aaaa"),
            ("skip.tmp", "t"),
            ("sub/", ""),
            ("sub/b.txt", "b")
        ])
    );
    let out = env.ok(&["storage", "sync", "s3://lib/docs", &dest_arg]);
    assert!(
        out.contains("downloaded 0 files") && out.contains("3 unchanged"),
        "{out}"
    );

    // A same-size local edit is found by its MD5 and replaced; local
    // extras go with --delete, except excluded ones; a link is removed
    // itself, never what it points to.
    let outside = work.path().join("outside.txt");
    std::fs::write(&outside, "precious").expect("writes");
    write(&dest, "a.txt", "zzzz");
    write(&dest, "extra.txt", "e");
    write(&dest, "sub/local.tmp", "keep me");
    std::os::unix::fs::symlink(&outside, dest.join("link")).expect("symlink");
    let args = [
        "storage",
        "sync",
        "s3://lib/docs/",
        &dest_arg,
        "--delete",
        "--exclude",
        "*.tmp",
    ];
    let mut dry = args.to_vec();
    dry.push("-n");
    let before = tree(&dest);
    let plan = env.json(&dry);
    assert_eq!(names(&plan["downloaded"]), ["docs/a.txt"], "{plan}");
    assert_eq!(plan["deleted"].as_array().map(Vec::len), Some(2), "{plan}");
    assert_eq!(tree(&dest), before, "a dry run changes nothing");

    let got = env.json(&args);
    assert_eq!(names(&got["downloaded"]), ["docs/a.txt"], "{got}");
    assert_eq!(got["downloaded"][0]["why"], "changed");
    assert_eq!(got["unchanged"], 1, "sub/b.txt: {got}");
    assert_eq!(
        tree(&dest),
        files(&[
            ("a.txt", "aaaa"),
            ("skip.tmp", "t"),
            ("sub/", ""),
            ("sub/b.txt", "b"),
            ("sub/local.tmp", "keep me"),
        ])
    );
    assert_eq!(
        std::fs::read_to_string(&outside).expect("reads"),
        "precious"
    );

    // A directory swapped for a link to elsewhere is never written through.
    let elsewhere = work.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    std::fs::remove_dir_all(dest.join("sub")).expect("removes");
    std::os::unix::fs::symlink(&elsewhere, dest.join("sub")).expect("symlink");
    let err = fails_with_warnings(&env, &["storage", "sync", "s3://lib/docs", &dest_arg]);
    assert!(
        err.contains("\"docs/sub/b.txt\" was not downloaded") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(err.contains("error: 1 item was not synced"), "{err}");
    assert_eq!(
        tree(&elsewhere),
        files(&[]),
        "nothing written through the link"
    );

    // Hostile keys are refused and reported, as by download --recursive.
    c.put_object("lib", "docs/../escape.txt", "x".to_owned(), None)
        .await
        .expect("puts");
    std::fs::remove_file(dest.join("sub")).expect("removes link");
    let err = fails_with_warnings(&env, &["storage", "sync", "s3://lib/docs", &dest_arg]);
    assert!(
        err.contains("refused the key \"docs/../escape.txt\""),
        "{err}"
    );
    assert!(!work.path().join("mirror/escape.txt").exists());
    assert_eq!(
        std::fs::read_to_string(dest.join("sub/b.txt")).expect("reads"),
        "b"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_what_it_cannot_do() {
    let env = Env::start().await;
    env.sign_up("rex");
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().to_string_lossy().into_owned();

    let err = env.fails(&["storage", "sync", &dir, "other-dir"], 1);
    assert!(err.contains("s3://BUCKET"), "{err}");
    let err = env.fails(&["storage", "sync", "s3://a-b", "s3://c-d"], 1);
    assert!(err.contains("there is no bucket a-b"), "{err}");
    let err = env.fails(&["storage", "sync", "/no/such/dir", "s3://a-b"], 1);
    assert!(err.contains("no such directory"), "{err}");
    let err = env.fails(&["storage", "sync", "s3://nobucket", &dir], 1);
    assert!(err.contains("there is no bucket nobucket"), "{err}");
    let err = env.fails(&["storage", "sync", &dir, "s3://a-b", "--exclude", "["], 1);
    assert!(err.contains("--exclude \"[\""), "{err}");
    let err = env.fails(&["storage", "sync", &dir, "s3://a-b", "--include", "[a"], 1);
    assert!(err.contains("--include \"[a\""), "{err}");
    // A file where the directory should be.
    let file = work.path().join("f");
    std::fs::write(&file, "x").expect("writes");
    env.ok(&["storage", "mb", "full"]);
    let err = env.fails(
        &["storage", "sync", "s3://full", &file.to_string_lossy()],
        1,
    );
    assert!(err.contains("is not a directory"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_between_buckets_copies_only_what_changed() {
    let env = Env::start().await;
    let key = env.sign_up("bea");
    let c = env.client(&key);
    for b in ["src-bkt", "dst-bkt"] {
        c.create_bucket(b).await.expect("creates");
    }
    for (k, v) in [("a.txt", "aaaa"), ("dir/b.txt", "b"), ("dir/c.tmp", "tmp")] {
        c.put_object("src-bkt", k, v, None).await.expect("puts");
    }
    for (k, v) in [
        ("mirror/a.txt", "zzzz"),
        ("mirror/stale.txt", "old"),
        ("other/keep.txt", "k"),
    ] {
        c.put_object("dst-bkt", k, v, None).await.expect("puts");
    }

    // New and changed objects are copied on the server; the rest stays.
    let got = env.json(&[
        "storage",
        "sync",
        "s3://src-bkt",
        "s3://dst-bkt/mirror",
        "--exclude",
        "*.tmp",
    ]);
    assert_eq!(
        names(&got["copied"]),
        ["mirror/a.txt", "mirror/dir/b.txt"],
        "{got}"
    );
    assert_eq!(got["copied"][0]["why"], "changed", "{got}");
    assert_eq!(got["copied"][1]["why"], "new", "{got}");
    assert_eq!(
        objects(&c, "dst-bkt", "").await,
        pairs(&[
            ("mirror/a.txt", "aaaa"),
            ("mirror/dir/b.txt", "b"),
            ("mirror/stale.txt", "old"),
            ("other/keep.txt", "k"),
        ])
    );

    // Again: nothing moves. Dry run of --delete: says, changes nothing.
    let out = env.ok(&[
        "storage",
        "sync",
        "s3://src-bkt",
        "s3://dst-bkt/mirror",
        "--exclude",
        "*.tmp",
    ]);
    assert!(
        out.contains("copied 0 files") && out.contains("2 unchanged"),
        "{out}"
    );
    let plan = env.json(&[
        "storage",
        "sync",
        "s3://src-bkt",
        "s3://dst-bkt/mirror",
        "--exclude",
        "*.tmp",
        "--delete",
        "--dry-run",
    ]);
    assert_eq!(names(&plan["deleted"]), ["mirror/stale.txt"], "{plan}");
    assert_eq!(objects(&c, "dst-bkt", "mirror/").await.len(), 3);
    let got = env.json(&[
        "storage",
        "sync",
        "s3://src-bkt",
        "s3://dst-bkt/mirror",
        "--exclude",
        "*.tmp",
        "--delete",
    ]);
    assert_eq!(names(&got["deleted"]), ["mirror/stale.txt"], "{got}");
    assert_eq!(objects(&c, "dst-bkt", "mirror/").await.len(), 2);
    assert_eq!(
        objects(&c, "dst-bkt", "other/").await.len(),
        1,
        "outside the prefix"
    );

    // A same-size change is found by its ETag.
    c.put_object("src-bkt", "a.txt", "bbbb", None)
        .await
        .expect("puts");
    let got = env.json(&["storage", "sync", "s3://src-bkt", "s3://dst-bkt/mirror"]);
    assert_eq!(
        names(&got["copied"]),
        ["mirror/a.txt", "mirror/dir/c.tmp"],
        "{got}"
    );
    assert_eq!(
        objects(&c, "dst-bkt", "mirror/a.txt").await,
        pairs(&[("mirror/a.txt", "bbbb")])
    );

    // Refusals: folders inside each other; no destination bucket.
    let err = env.fails(
        &[
            "storage",
            "sync",
            "s3://src-bkt/dir",
            "s3://src-bkt/dir/copy",
        ],
        1,
    );
    assert!(err.contains("overlap"), "{err}");
    let err = env.fails(&["storage", "sync", "s3://src-bkt", "s3://no-such-bkt"], 1);
    assert!(
        err.contains("there is no bucket no-such-bkt") && err.contains("mb"),
        "{err}"
    );
}
