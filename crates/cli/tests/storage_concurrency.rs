//! Trees transferred several files at once against a real server (SQLite,
//! real files): `download --recursive` and `sync` down report in the
//! listing's order, keys that could name one file end as they would one
//! at a time, and a failure leaves nothing unreported and no temporary
//! behind, nor does a failed `upload --recursive` leave a stored file
//! unreported.

mod common;

use common::{Env, noise, tree};
use std::path::Path;

/// The keys of the `BUCKET/KEY -> PATH (SIZE)` lines `cloud` prints per
/// downloaded file, in the order printed.
fn downloaded_keys(stdout: &str, bucket: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(" -> "))
        .filter_map(|(from, to)| {
            let key = from.strip_prefix(&format!("{bucket}/"))?;
            (!to.ends_with("skipped: it exists")).then(|| key.to_owned())
        })
        .collect()
}

/// The keys of a JSON list of `{key, …}` (or `{name, …}`), in order.
fn json_keys(v: &serde_json::Value, field: &str) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|d| d[field].as_str().expect("a string").to_owned())
        .collect()
}

/// Asserts that two [`tree`]s are equal, naming the entries (with their
/// sizes) rather than printing megabytes when they are not.
fn assert_same_tree(got: &[(String, Vec<u8>)], want: &[(String, Vec<u8>)], context: &str) {
    let sizes = |t: &[(String, Vec<u8>)]| -> Vec<(String, usize)> {
        t.iter().map(|(n, b)| (n.clone(), b.len())).collect()
    };
    assert_eq!(sizes(got), sizes(want), "{context}");
    assert!(got == want, "same names and sizes, other bytes\n{context}");
}

/// Every name under `root` that looks like a download's temporary.
fn temporaries(root: &Path) -> Vec<String> {
    tree(root)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.ends_with(".part"))
        .collect()
}

/// The size of the `i`th of 40 files: four of several MiB, each first in
/// its folder (so that, fetched four at a time, the small ones after it
/// finish first), some empty, the rest up to 70 kB.
fn size_of(i: usize) -> usize {
    match i % 10 {
        0 => (3 << 20) + i * 1024,
        7 => 0,
        _ => (i * 7919) % 70_000 + 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_download_fetches_several_at_once_and_reports_in_order() {
    let env = Env::start().await;
    env.sign_up("olga");
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src");
    let mut keys = Vec::new();
    for i in 0..40 {
        let rel = format!("{}/f{i:02}.bin", i / 10);
        let path = src.join(&rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(&path, noise(size_of(i), i as u64)).expect("writes");
        keys.push(format!("t/{rel}"));
    }
    env.ok(&[
        "storage",
        "upload",
        "dltree",
        &src.to_string_lossy(),
        "-r",
        "--key",
        "t",
    ]);

    let dest = work.path().join("out");
    let out = env.ok(&[
        "storage",
        "download",
        "dltree/t",
        &dest.to_string_lossy(),
        "-r",
    ]);
    assert_eq!(
        downloaded_keys(&out, "dltree"),
        keys,
        "in the listing's order"
    );
    assert!(out.contains("Downloaded 40 files"), "{out}");
    assert_same_tree(&tree(&dest), &tree(&src), "byte for byte, nothing more");

    let again = work.path().join("json");
    let got = env.json(&[
        "storage",
        "download",
        "dltree/t",
        &again.to_string_lossy(),
        "-r",
    ]);
    assert_eq!(json_keys(&got["downloaded"], "key"), keys, "{got}");
    let sizes: Vec<u64> = got["downloaded"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["size_bytes"].as_u64().expect("a size"))
        .collect();
    assert_eq!(
        sizes,
        (0..40).map(|i| size_of(i) as u64).collect::<Vec<_>>()
    );
    assert_same_tree(&tree(&again), &tree(&src), "JSON");

    // One at a time under --limit-rate: the same files, the same report.
    let paced = work.path().join("paced");
    let out = env.ok(&[
        "storage",
        "download",
        "dltree/t/1",
        &paced.to_string_lossy(),
        "-r",
        "--limit-rate",
        "1G",
    ]);
    assert_eq!(downloaded_keys(&out, "dltree"), keys[10..20], "{out}");
    assert_same_tree(&tree(&paced), &tree(&src.join("1")), "paced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_could_name_one_file_end_as_one_at_a_time() {
    let env = Env::start().await;
    let api_key = env.sign_up("pia");
    env.ok(&["storage", "mb", "clash"]);
    let c = env.client(&api_key);
    // In the listing's (byte) order. `B.bin` and `a` are large, so that
    // `b.bin` and `a/b` are ready to go while they are still in flight:
    // fetched as they come, `a/b` would make `a` a directory first and
    // `b.bin` would be written beside `B.bin`.
    let big_b = noise(4 << 20, 1);
    let big_a = noise(4 << 20, 2);
    let mut objects: Vec<(String, Vec<u8>)> = vec![
        ("B.bin".into(), big_b.clone()),
        ("a".into(), big_a.clone()),
        ("a/b".into(), b"child".to_vec()),
        ("b.bin".into(), b"lower".to_vec()),
        ("c/blocked.txt".into(), b"blocked".to_vec()),
    ];
    for i in 1..=9 {
        objects.push((format!("d/{i}.txt"), format!("d{i}").into_bytes()));
    }
    for (key, bytes) in &objects {
        c.put_object("clash", key, bytes.clone(), None)
            .await
            .expect("puts");
    }

    for json in [false, true] {
        let dest = tempfile::tempdir().expect("temp dir");
        let d = dest.path();
        // A directory (not empty) where `c/blocked.txt` must go.
        std::fs::create_dir_all(d.join("c/blocked.txt")).expect("dirs");
        std::fs::write(d.join("c/blocked.txt/mine"), "mine").expect("writes");
        let mut cmd = env.cloud();
        if json {
            cmd.arg("--json");
        }
        let out = cmd
            .args(["storage", "download", "clash"])
            .arg(d)
            .arg("-r")
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");

        let mut want: Vec<(String, Vec<u8>)> = vec![
            ("B.bin".into(), big_b.clone()),
            ("a".into(), big_a.clone()),
            ("c/".into(), Vec::new()),
            ("c/blocked.txt/".into(), Vec::new()),
            ("c/blocked.txt/mine".into(), b"mine".to_vec()),
            ("d/".into(), Vec::new()),
        ];
        for i in 1..=9 {
            want.push((format!("d/{i}.txt"), format!("d{i}").into_bytes()));
        }
        want.sort();
        assert_same_tree(&tree(d), &want, &stderr);
        assert!(temporaries(d).is_empty(), "{:?}", temporaries(d));

        let written: Vec<String> = ["B.bin", "a"]
            .into_iter()
            .map(str::to_owned)
            .chain((1..=9).map(|i| format!("d/{i}.txt")))
            .collect();
        let failed = ["a/b", "b.bin", "c/blocked.txt"];
        if json {
            let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            assert_eq!(json_keys(&got["downloaded"], "key"), written, "{got}");
            assert_eq!(json_keys(&got["failed"], "key"), failed, "{got}");
        } else {
            assert_eq!(downloaded_keys(&stdout, "clash"), written, "{stdout}");
            assert!(
                stdout.contains("Downloaded 11 files") && stdout.contains("; 3 failed"),
                "{stdout}"
            );
        }
        for (key, why) in [
            ("a/b", "is a file"),
            ("b.bin", "differs only in case"),
            ("c/blocked.txt", "is a directory"),
        ] {
            let line = stderr
                .lines()
                .find(|l| l.contains(&format!("{key:?} was not downloaded")))
                .unwrap_or_else(|| panic!("{key} is reported:\n{stderr}"));
            assert!(line.contains(why), "{line}");
        }
        let last = stderr.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            "error: 3 of 14 objects were not downloaded: \"a/b\", \"b.bin\", \"c/blocked.txt\"",
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_down_fetches_several_at_once_and_reports_in_order() {
    let env = Env::start().await;
    let api_key = env.sign_up("sven");
    env.ok(&["storage", "mb", "mirror"]);
    let c = env.client(&api_key);
    let objects: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            (
                format!("m/{}/f{i:02}.bin", i / 10),
                noise(size_of(i), i as u64),
            )
        })
        .collect();
    for (key, bytes) in &objects {
        c.put_object("mirror", key, bytes.clone(), None)
            .await
            .expect("puts");
    }
    let work = tempfile::tempdir().expect("temp dir");
    let dest = work.path().join("m");
    // Five files already right, five changed (same size, other bytes),
    // three the bucket lacks.
    for (key, bytes) in objects.iter().skip(1).step_by(8) {
        let path = dest.join(key.strip_prefix("m/").expect("under m/"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(&path, bytes).expect("writes");
    }
    for (key, bytes) in objects.iter().skip(2).step_by(8) {
        let path = dest.join(key.strip_prefix("m/").expect("under m/"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        let mut other = bytes.clone();
        if let Some(b) = other.first_mut() {
            *b ^= 0xff;
        }
        std::fs::write(&path, other).expect("writes");
    }
    for extra in ["0/extra.txt", "2/extra.txt", "zz.txt"] {
        std::fs::write(dest.join(extra), "extra").expect("writes");
    }
    let unchanged: Vec<&str> = objects
        .iter()
        .skip(1)
        .step_by(8)
        .map(|(k, _)| k.as_str())
        .collect();
    let changed: Vec<&str> = objects
        .iter()
        .skip(2)
        .step_by(8)
        .map(|(k, _)| k.as_str())
        .collect();
    let fetched: Vec<String> = objects
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| !unchanged.contains(&k.as_str()))
        .collect();
    let want: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<(String, Vec<u8>)> = (0..4).map(|d| (format!("{d}/"), Vec::new())).collect();
        v.extend(objects.iter().map(|(k, b)| {
            (
                k.strip_prefix("m/").expect("under m/").to_owned(),
                b.clone(),
            )
        }));
        v.sort();
        v
    };

    let dest_arg = dest.to_string_lossy().into_owned();
    let json_dest = work.path().join("json");
    std::fs::create_dir_all(&json_dest).expect("mkdir");
    // The JSON run starts from a copy of the same local state.
    for (name, bytes) in tree(&dest) {
        let path = json_dest.join(&name);
        if name.ends_with('/') {
            std::fs::create_dir_all(&path).expect("dirs");
        } else {
            std::fs::write(&path, bytes).expect("writes");
        }
    }

    let out = env.ok(&["storage", "sync", "s3://mirror/m", &dest_arg, "--delete"]);
    assert_eq!(downloaded_keys(&out, "mirror"), fetched, "{out}");
    let deleted: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("deleted "))
        .collect();
    let mut want_deleted: Vec<String> = ["0/extra.txt", "2/extra.txt", "zz.txt"]
        .iter()
        .map(|e| dest.join(e).display().to_string())
        .collect();
    want_deleted.sort();
    assert_eq!(deleted, want_deleted, "{out}");
    assert!(
        out.contains("downloaded 35 files") && out.contains("deleted 3; 5 unchanged"),
        "{out}"
    );
    assert_same_tree(&tree(&dest), &want, "byte for byte, nothing more");

    let got = env.json(&[
        "storage",
        "sync",
        "s3://mirror/m",
        &json_dest.to_string_lossy(),
        "--delete",
    ]);
    assert_eq!(json_keys(&got["downloaded"], "name"), fetched, "{got}");
    let whys: Vec<&str> = got["downloaded"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["why"].as_str().expect("a why"))
        .collect();
    let want_whys: Vec<&str> = fetched
        .iter()
        .map(|k| {
            if changed.contains(&k.as_str()) {
                "changed"
            } else {
                "new"
            }
        })
        .collect();
    assert_eq!(whys, want_whys, "{got}");
    assert_eq!(got["deleted"].as_array().map(Vec::len), Some(3), "{got}");
    assert_eq!(got["unchanged"], 5, "{got}");
    assert_same_tree(&tree(&json_dest), &want, "JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_recursive_upload_reports_every_file_it_stored() {
    let env = Env::start().await;
    let api_key = env.sign_up("uwe");
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src");
    std::fs::create_dir_all(&src).expect("dirs");
    // A large file first, then one whose key the server refuses (over
    // 1,024 bytes), then small ones: uploaded four at a time, the refusal
    // and the small ones after it finish while the large one is still
    // being sent.
    std::fs::write(src.join("a-big.bin"), noise(8 << 20, 5)).expect("writes");
    let mut long = src.join("b-long");
    for i in 0..5 {
        long.push(format!("{i}{}", "x".repeat(240)));
    }
    std::fs::create_dir_all(&long).expect("dirs");
    std::fs::write(long.join("refused.txt"), "too long a key").expect("writes");
    for i in 0..20 {
        std::fs::write(src.join(format!("c{i:02}.txt")), format!("small {i}")).expect("writes");
    }

    let args = [
        "storage",
        "upload",
        "uptree",
        &src.to_string_lossy(),
        "-r",
        "--key",
        "t",
    ];
    let out = env.cloud().args(args).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line of error: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("1024 bytes"),
        "{stderr}"
    );
    // Every object stored is reported, in order, and none after the
    // failure was started once it was known.
    let reported: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.split_once(" -> uptree/"))
        .map(|(_, to)| to.rsplit_once(" (").map_or(to, |(k, _)| k).to_owned())
        .collect();
    let c = env.client(&api_key);
    let params = miniaws_client::ListObjectsParams::default();
    let stored: Vec<String> = c
        .list_objects("uptree", &params)
        .await
        .expect("lists")
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(reported, stored, "{stdout}");
    assert_eq!(stored.first().map(String::as_str), Some("t/a-big.bin"));
    assert!(
        stored.len() <= 4,
        "at most three after the failing one: {stored:?}"
    );
}
