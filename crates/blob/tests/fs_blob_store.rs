//! `FsBlobStore` on real files in a temporary directory.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use miniaws_blob::FsBlobStore;
use miniaws_core::CoreError;
use miniaws_core::storage::{BlobId, BlobStore, ByteRange, ByteStream, body_error};
use std::path::Path;
use std::time::Duration;

fn store() -> (tempfile::TempDir, FsBlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path().join("objects")).unwrap();
    (dir, store)
}

/// Deterministic pseudo-random bytes.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn body(bytes: &[u8], chunk: usize) -> ByteStream {
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks).boxed()
}

async fn read(store: &FsBlobStore, id: BlobId, range: Option<ByteRange>) -> Vec<u8> {
    let chunks: Vec<Bytes> = store
        .read(id, None, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

/// Every regular file under `dir`.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn writes_are_complete_hashed_and_under_id_derived_paths() {
    let (_dir, store) = store();
    // Known MD5s pin the digest; random sizes around the chunk sizes.
    let known: &[(&[u8], &str)] = &[
        (b"", "d41d8cd98f00b204e9800998ecf8427e"),
        (b"a", "0cc175b9c0f1b6a831c399e269772661"),
        (b"hello", "5d41402abc4b2a76b9719d911017c592"),
    ];
    for (bytes, md5) in known {
        let id = BlobId::new();
        let w = store.write(id, body(bytes, 2), 1 << 20).await.unwrap();
        assert_eq!(hex(&w.md5), *md5);
        assert_eq!(w.size_bytes, bytes.len() as u64);
        assert_eq!(read(&store, id, None).await, *bytes);
    }
    for (len, chunk) in [
        (1usize, 1usize),
        (256 * 1024 + 3, 16 * 1024),
        (3 << 20, 1 << 20),
    ] {
        let bytes = data(len, len as u64);
        let id = BlobId::new();
        let w = store.write(id, body(&bytes, chunk), 1 << 30).await.unwrap();
        assert_eq!(w.size_bytes, len as u64);
        assert_eq!(read(&store, id, None).await, bytes, "{len} bytes");
        let path = store.blob_path(id);
        assert!(path.starts_with(store.root()));
        let name = id.as_uuid().simple().to_string();
        assert!(path.ends_with(format!("{}/{name}", &name[..2])));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len as u64);
    }
    assert!(files(&store.temp_dir()).is_empty(), "no temporaries remain");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn ranged_reads_return_exactly_the_range() {
    let (_dir, store) = store();
    let bytes = data(1_000_000, 7);
    let id = BlobId::new();
    store.write(id, body(&bytes, 65536), 1 << 30).await.unwrap();
    for (start, end) in [
        (0u64, 0u64),
        (0, 999_999),
        (10, 20),
        (999_999, 999_999),
        (300_000, 700_000),
    ] {
        let got = read(&store, id, Some(ByteRange { start, end })).await;
        assert_eq!(
            got,
            bytes[start as usize..=end as usize],
            "range {start}-{end}"
        );
    }
}

#[tokio::test]
async fn failed_writes_leave_nothing() {
    let (_dir, store) = store();
    // (description, body, size limit, expected error)
    type Case = (&'static str, ByteStream, u64, fn(&CoreError) -> bool);
    let cases: Vec<Case> = vec![
        ("over the limit", body(&data(5000, 1), 1000), 4096, |e| {
            matches!(e, CoreError::TooLarge(_))
        }),
        (
            "over the limit after several batches",
            body(&data(6 << 20, 4), 100_000),
            5 << 20,
            |e| matches!(e, CoreError::TooLarge(_)),
        ),
        (
            "client gone",
            stream::iter([
                Ok(Bytes::from(data(3000, 2))),
                Err(std::io::Error::other("reset")),
            ])
            .boxed(),
            4096,
            |e| matches!(e, CoreError::InvalidInput(_)),
        ),
        (
            "client gone after several batches",
            stream::iter([
                Ok(Bytes::from(data(2 << 20, 5))),
                Ok(Bytes::from(data(100, 6))),
                Err(std::io::Error::other("reset")),
            ])
            .boxed(),
            5 << 20,
            |e| matches!(e, CoreError::InvalidInput(_)),
        ),
        (
            "a domain error carried by the body",
            stream::iter([
                Ok(Bytes::from_static(b"abc")),
                Err(body_error(CoreError::BadDigest("crc".into()))),
            ])
            .boxed(),
            4096,
            |e| matches!(e, CoreError::BadDigest(_)),
        ),
        (
            "a domain error carried by a large body",
            stream::iter([
                Ok(Bytes::from(data(3 << 20, 7))),
                Err(body_error(CoreError::BadDigest("crc".into()))),
            ])
            .boxed(),
            5 << 20,
            |e| matches!(e, CoreError::BadDigest(_)),
        ),
    ];
    for (desc, body, limit, expected) in cases {
        let id = BlobId::new();
        let err = store.write(id, body, limit).await.unwrap_err();
        assert!(expected(&err), "case {desc}: {err:?}");
        assert!(!store.blob_path(id).exists(), "case {desc}");
        assert!(
            files(store.root()).is_empty(),
            "case {desc}: {:?}",
            files(store.root())
        );
    }
}

#[tokio::test]
async fn a_dropped_write_removes_its_temporary() {
    let (_dir, store) = store();
    // Bodies that send some bytes (less than one batch, then several) and
    // then never end, like a stalled client.
    for sent in [7usize, 3 << 20] {
        let id = BlobId::new();
        let stalled = stream::iter([Ok(Bytes::from(data(sent, 9)))])
            .chain(stream::pending())
            .boxed();
        let write = store.write(id, stalled, 1 << 30);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), write)
                .await
                .is_err()
        );
        // The future is dropped: the writer thread sees the channel close.
        for _ in 0..100 {
            if files(store.root()).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            files(store.root()).is_empty(),
            "{sent} bytes sent: {:?}",
            files(store.root())
        );
    }
}

#[tokio::test]
async fn large_bodies_in_any_chunking_hash_and_store_exactly() {
    use md5::{Digest, Md5};
    let (_dir, store) = store();
    // Across the batch size (1 MiB) and the write-back interval (8 MiB),
    // with chunks that straddle both.
    for (len, chunk) in [
        ((1 << 20) - 1, 4096usize),
        (1 << 20, 1 << 20),
        ((1 << 20) + 1, 65_537),
        ((9 << 20) + 12_345, 333_333),
    ] {
        let bytes = data(len, len as u64 + 1);
        let id = BlobId::new();
        let w = store.write(id, body(&bytes, chunk), 1 << 30).await.unwrap();
        assert_eq!(w.size_bytes, len as u64, "{len} bytes");
        assert_eq!(w.md5, <[u8; 16]>::from(Md5::digest(&bytes)), "{len} bytes");
        assert_eq!(read(&store, id, None).await, bytes, "{len} bytes");
    }
    assert!(files(&store.temp_dir()).is_empty(), "no temporaries remain");
}

#[tokio::test]
async fn blobs_of_the_first_layout_are_still_read_listed_and_deleted() {
    let (_dir, store) = store();
    let id = BlobId::new();
    let name = id.as_uuid().simple().to_string();
    let legacy = store.root().join(&name[..2]).join(&name[2..4]).join(&name);
    std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
    std::fs::write(&legacy, b"old layout").unwrap();
    let current = BlobId::new();
    store.write(current, body(b"new", 1), 10).await.unwrap();

    assert_eq!(read(&store, id, None).await, b"old layout");
    let mut listed = store.list().await.unwrap();
    listed.sort();
    let mut expected = vec![id, current];
    expected.sort();
    assert_eq!(listed, expected);
    store.delete(id).await.unwrap();
    assert!(!legacy.exists());
    assert_eq!(store.list().await.unwrap(), vec![current]);
}

/// The listing reads each entry's type from the directory (no `stat` per
/// blob) but still follows a symbolic link to a directory, as it did.
#[cfg(unix)]
#[tokio::test]
async fn the_listing_follows_a_linked_directory() {
    let (dir, store) = store();
    let id = BlobId::new();
    let name = id.as_uuid().simple().to_string();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join(&name), b"linked").unwrap();
    std::os::unix::fs::symlink(&elsewhere, store.root().join(&name[..2]).join(&name[2..4]))
        .unwrap();
    let current = BlobId::new();
    store.write(current, body(b"new", 1), 10).await.unwrap();
    let mut listed = store.list().await.unwrap();
    listed.sort();
    let mut expected = vec![id, current];
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn list_delete_and_temporaries() {
    let (_dir, store) = store();
    let a = BlobId::new();
    let b = BlobId::new();
    store.write(a, body(b"a", 1), 10).await.unwrap();
    store.write(b, body(b"b", 1), 10).await.unwrap();
    let mut listed = store.list().await.unwrap();
    listed.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(listed, expected);
    std::fs::write(store.temp_dir().join("x.tmp"), b"junk").unwrap();
    std::fs::write(store.temp_dir().join("y.tmp"), b"junk").unwrap();
    assert_eq!(store.remove_temporaries().await.unwrap(), 2);
    assert!(files(&store.temp_dir()).is_empty());
    store.delete(a).await.unwrap();
    store
        .delete(a)
        .await
        .expect("deleting a missing blob is fine");
    assert_eq!(store.list().await.unwrap(), vec![b]);
    let err = store.read(a, None, None).await.err().unwrap();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn an_open_read_survives_the_blob_being_deleted() {
    let (_dir, store) = store();
    let id = BlobId::new();
    let bytes = data(2 << 20, 3);
    store
        .write(id, body(&bytes, 1 << 20), 1 << 30)
        .await
        .unwrap();
    let stream = store.read(id, None, None).await.unwrap();
    store.delete(id).await.unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), bytes);
}

#[test]
fn free_bytes_reports_the_disk_of_the_store() {
    let (_dir, store) = store();
    let free = store.free_bytes().expect("statvfs works on a local disk");
    assert!(free > 0, "a writable temporary directory has room");
}

/// Writes `parts` as blobs; their ids.
async fn write_parts(store: &FsBlobStore, parts: &[&[u8]]) -> Vec<BlobId> {
    let mut ids = Vec::new();
    for p in parts {
        let id = BlobId::new();
        store.write(id, body(p, 65536), 1 << 30).await.unwrap();
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn a_composite_blob_reads_its_parts_in_order_without_a_copy() {
    let (_dir, store) = store();
    let (a, b, c) = (data(300_000, 1), data(0, 2), data(123_457, 3));
    let parts = write_parts(&store, &[&a, &b, &c]).await;
    let whole = [a.clone(), b.clone(), c.clone()].concat();
    let bytes_on_disk = |store: &FsBlobStore| -> u64 {
        use std::os::unix::fs::MetadataExt;
        let mut inodes = std::collections::HashSet::new();
        files(store.root())
            .iter()
            .map(|p| std::fs::metadata(p).unwrap())
            .filter(|m| inodes.insert(m.ino()))
            .map(|m| m.len())
            .sum()
    };
    let before = bytes_on_disk(&store);
    let id = BlobId::new();
    assert_eq!(store.compose(id, &parts).await.unwrap(), whole.len() as u64);
    assert_eq!(
        bytes_on_disk(&store),
        before,
        "composing links the parts' files: no byte is written"
    );
    assert!(store.composite_path(id).is_dir());
    assert!(files(&store.temp_dir()).is_empty(), "no temporary is left");
    assert_eq!(read(&store, id, None).await, whole);
    let len = whole.len() as u64;
    for (start, end) in [
        (0u64, 0u64),
        (0, len - 1),
        (299_999, 300_000),
        (300_000, 300_000),
        (10, 400_000),
        (len - 1, len - 1),
        (100, 200),
    ] {
        assert_eq!(
            read(&store, id, Some(ByteRange { start, end })).await,
            whole[start as usize..=end as usize],
            "range {start}-{end}"
        );
    }
    // The parts stay blobs of their own: removing them leaves the
    // composite whole; it is listed as one blob, and deleted as one.
    for p in &parts {
        store.delete(*p).await.unwrap();
    }
    assert_eq!(read(&store, id, None).await, whole);
    assert_eq!(store.list().await.unwrap(), vec![id]);
    store.delete(id).await.unwrap();
    assert!(store.list().await.unwrap().is_empty());
    assert!(files(store.root()).is_empty(), "no file is left");
    let err = store.read(id, None, None).await.err().unwrap();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_composite_of_a_missing_part_is_not_found_and_leaves_nothing() {
    let (_dir, store) = store();
    let mut parts = write_parts(&store, &[b"one", b"two"]).await;
    parts.insert(1, BlobId::new());
    let id = BlobId::new();
    let err = store.compose(id, &parts).await.unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    assert!(!store.composite_path(id).exists());
    assert!(files(&store.temp_dir()).is_empty());
    assert_eq!(store.list().await.unwrap().len(), 2, "the parts alone");
    // A composite that lacks one of its files (being removed) is not
    // found, never a shorter blob.
    let whole = BlobId::new();
    store.compose(whole, &[parts[0], parts[2]]).await.unwrap();
    assert_eq!(read(&store, whole, None).await, b"onetwo");
    let mut files_of = files(&store.composite_path(whole));
    files_of.sort();
    std::fs::remove_file(&files_of[1]).unwrap();
    let err = store.read(whole, None, None).await.err().unwrap();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    // Emptied (its removal half-way), it is not found either.
    std::fs::remove_file(&files_of[0]).unwrap();
    let err = store.read(whole, None, None).await.err().unwrap();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    store.delete(whole).await.unwrap();
    // A composite half-built by a crash is a temporary directory, which
    // start-up removes.
    let half = store.temp_dir().join("crashed.tmp");
    std::fs::create_dir(&half).unwrap();
    std::fs::write(half.join("00001"), b"x").unwrap();
    assert_eq!(store.remove_temporaries().await.unwrap(), 1);
    assert!(!half.exists());
}

/// A composite of more parts than a read opens ahead, deleted (and
/// deleted again) while a read is half-way: the read still gets every byte,
/// the files go when the read ends, and the blob is not found meanwhile
/// by a new read only once they are gone. With as few parts as a read
/// opens ahead, the delete removes the files at once.
#[tokio::test]
async fn a_long_composite_outlives_a_delete_until_its_reads_end() {
    let (_dir, store) = store();
    let parts: Vec<Vec<u8>> = (0..300).map(|i| data(1000 + i, i as u64)).collect();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let part_ids = write_parts(&store, &refs).await;
    let whole = parts.concat();
    let id = BlobId::new();
    store.compose(id, &part_ids).await.unwrap();
    for p in &part_ids {
        store.delete(*p).await.unwrap();
    }

    // Two readers; the object is deleted after each has read a little.
    let mut first = store.read(id, None, None).await.unwrap();
    let mut second = store.read(id, None, None).await.unwrap();
    let mut got_first = first.next().await.unwrap().unwrap().to_vec();
    let mut got_second = second.next().await.unwrap().unwrap().to_vec();
    store.delete(id).await.unwrap();
    store.delete(id).await.unwrap();
    assert!(
        store.composite_path(id).is_dir(),
        "kept while a read has parts left to open"
    );
    while let Some(chunk) = first.next().await {
        got_first.extend_from_slice(&chunk.expect("every part is still there"));
    }
    drop(first);
    assert_eq!(got_first, whole);
    assert!(store.composite_path(id).is_dir(), "the second read goes on");
    while let Some(chunk) = second.next().await {
        got_second.extend_from_slice(&chunk.expect("every part is still there"));
    }
    assert_eq!(got_second, whole);
    drop(second);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.composite_path(id).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the last reader's end removes the files"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(files(store.root()).is_empty(), "no file is left");
    assert!(store.list().await.unwrap().is_empty());

    // A read that stops early (dropped) ends its registration too.
    let id = BlobId::new();
    let part_ids = write_parts(&store, &refs).await;
    store.compose(id, &part_ids).await.unwrap();
    let mut early = store.read(id, None, None).await.unwrap();
    early.next().await.unwrap().unwrap();
    store.delete(id).await.unwrap();
    drop(early);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.composite_path(id).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "removed after the drop"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Few parts: every file is open before the stream is returned, so the
    // delete does not wait for the read.
    let few: Vec<&[u8]> = refs[..3].to_vec();
    let part_ids = write_parts(&store, &few).await;
    let id = BlobId::new();
    store.compose(id, &part_ids).await.unwrap();
    let stream = store.read(id, None, None).await.unwrap();
    store.delete(id).await.unwrap();
    assert!(!store.composite_path(id).exists(), "removed at once");
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), few.concat());
}

/// A read given the recorded size refuses a blob whose bytes on disk are
/// fewer or more, single file or composite, and reads one that matches.
#[tokio::test]
async fn a_read_checks_the_recorded_size() {
    let (_dir, store) = store();
    let bytes = data(10_000, 7);
    let id = BlobId::new();
    store.write(id, body(&bytes, 4096), 1 << 30).await.unwrap();
    let whole: Vec<Bytes> = store
        .read(id, Some(10_000), None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(whole.concat(), bytes);
    for recorded in [9_999, 10_001] {
        let err = store.read(id, Some(recorded), None).await.err().unwrap();
        assert!(matches!(err, CoreError::Internal { .. }), "{err:?}");
        assert!(format!("{err:?}").contains("stored: 10000"), "{err:?}");
        // A range does not skip the check on a single file.
        let range = ByteRange { start: 0, end: 9 };
        assert!(store.read(id, Some(recorded), Some(range)).await.is_err());
    }

    let parts = write_parts(&store, &[&bytes[..6_000], &bytes[6_000..]]).await;
    let composite = BlobId::new();
    store.compose(composite, &parts).await.unwrap();
    assert!(store.read(composite, Some(10_000), None).await.is_ok());
    let err = store
        .read(composite, Some(10_002), None)
        .await
        .err()
        .unwrap();
    assert!(format!("{err:?}").contains("stored: 10000"), "{err:?}");
}
