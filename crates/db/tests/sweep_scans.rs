//! The two scans the start-up sweep merges against the blob files
//! (`StorageRepo::object_blobs_after` and `part_blobs_after`) and the
//! look-up of the names it warns about (`objects_of_blobs`): one body run on
//! SQLite and Postgres, plus a check that each scan is an index range scan
//! with no sort on both.

mod common;

use common::Repos;
use miniaws_core::identity::UserId;
use miniaws_core::multipart::{MultipartRepo, MultipartUpload, Part, UploadId};
use miniaws_core::storage::{BlobId, BucketName, ETag, ObjectKey, ObjectMeta, StorageRepo, Tags};
use miniaws_db::Database;
use std::collections::BTreeMap;
use std::sync::Arc;

fn object(bucket: &BucketName, key: &str) -> ObjectMeta {
    ObjectMeta {
        size_bytes: 1,
        etag: ETag::from_stored("0123456789abcdef0123456789abcdef"),
        last_modified: common::at(2),
        ..common::object_meta(bucket, key)
    }
}

fn upload(owner: UserId, bucket: &BucketName, key: &str) -> MultipartUpload {
    MultipartUpload {
        id: UploadId::new(),
        bucket: bucket.clone(),
        key: ObjectKey::parse(key).unwrap(),
        owner,
        content_type: None,
        user_metadata: BTreeMap::new(),
        headers: BTreeMap::new(),
        initiated_at: common::at(3),
        checksum_algorithm: None,
        tags: Tags::default(),
    }
}

fn part(upload: UploadId, n: u32, blob_id: BlobId) -> Part {
    Part {
        upload_id: upload,
        part_number: n,
        blob_id,
        size_bytes: 1,
        etag: ETag::from_stored(format!("{n:032x}")),
        last_modified: common::at(4),
        checksum: None,
        crc64nvme: None,
    }
}

/// Every page of `object_blobs_after` from `start`, `limit` at a time.
async fn object_scan(storage: &dyn StorageRepo, start: Option<BlobId>, limit: u32) -> Vec<BlobId> {
    let mut all = Vec::new();
    let mut after = start;
    loop {
        let page = storage.object_blobs_after(after, limit).await.unwrap();
        assert!(
            page.len() <= limit as usize,
            "a page holds at most its limit"
        );
        let Some(last) = page.last() else { break };
        after = Some(*last);
        all.extend(page);
    }
    all
}

/// Every page of `part_blobs_after` from `start`, `limit` at a time.
async fn part_scan(storage: &dyn StorageRepo, start: Option<BlobId>, limit: u32) -> Vec<BlobId> {
    let mut all = Vec::new();
    let mut after = start;
    loop {
        let page = storage.part_blobs_after(after, limit).await.unwrap();
        assert!(
            page.len() <= limit as usize,
            "a page holds at most its limit"
        );
        let Some(last) = page.last() else { break };
        after = Some(*last);
        all.extend(page);
    }
    all
}

async fn scans_page_every_referenced_blob_in_order(fresh: &common::Fresh) {
    let db = &fresh.db;
    let r = Repos::of(fresh);
    let multipart: Arc<dyn MultipartRepo> = db.multipart_repo();
    let storage = &*r.storage;
    assert!(object_scan(storage, None, 10).await.is_empty());
    assert!(part_scan(storage, None, 10).await.is_empty());

    let alice = r.user("alice").await;
    let b = r.bucket(alice, "sweep").await;
    let other = r.bucket(alice, "other").await;
    let mut objects = Vec::new();
    for (bucket, key) in [
        (&b, "a"),
        (&b, "b/ü"),
        (&b, "c"),
        (&other, "a"),
        (&b, "e"),
        (&b, "f"),
        (&other, "g"),
    ] {
        let o = object(bucket, key);
        storage.put_object(alice, &o).await.unwrap();
        objects.push((o.blob_id, bucket.to_string(), key.to_owned()));
    }
    // An overwritten object's old blob is no longer referenced.
    let replaced = object(&b, "c");
    let old = storage.put_object(alice, &replaced).await.unwrap().unwrap();
    objects.retain(|(blob, _, _)| *blob != old);
    objects.push((replaced.blob_id, "sweep".into(), "c".into()));
    objects.sort_by_key(|(blob, _, _)| blob.as_uuid());

    // Parts of two uploads; one blob held by two part rows comes once.
    let u1 = upload(alice, &b, "big");
    let u2 = upload(alice, &other, "big");
    multipart.create_upload(&u1, alice).await.unwrap();
    multipart.create_upload(&u2, alice).await.unwrap();
    let mut parts: Vec<BlobId> = (0..5).map(|_| BlobId::new()).collect();
    for (n, blob) in parts.iter().enumerate() {
        multipart
            .put_part(&part(u1.id, n as u32 + 1, *blob))
            .await
            .unwrap();
    }
    multipart.put_part(&part(u2.id, 1, parts[2])).await.unwrap();
    let lone = BlobId::new();
    multipart.put_part(&part(u2.id, 2, lone)).await.unwrap();
    parts.push(lone);
    parts.sort_by_key(BlobId::as_uuid);

    let object_blobs: Vec<BlobId> = objects.iter().map(|(blob, _, _)| *blob).collect();
    for limit in [1, 2, 3, 1000] {
        assert_eq!(
            object_scan(storage, None, limit).await,
            object_blobs,
            "every object once, in blob-id order, pages of {limit}"
        );
        assert_eq!(
            part_scan(storage, None, limit).await,
            parts,
            "every part blob once, in blob-id order, pages of {limit}"
        );
    }
    // From an id that no row holds: the ids above it.
    let probe = BlobId::new();
    let above = |id: &BlobId| id.as_uuid() > probe.as_uuid();
    assert_eq!(
        object_scan(storage, Some(probe), 2).await,
        object_blobs
            .iter()
            .filter(|id| above(id))
            .copied()
            .collect::<Vec<_>>()
    );
    // The names the sweep's warning gives: bucket and key of each blob's
    // object; a blob no object holds (a part's, the replaced one) has none.
    let mut named = storage
        .objects_of_blobs(&[objects[4].0, parts[0], old, objects[1].0])
        .await
        .unwrap();
    named.sort_by_key(|(blob, _, _)| blob.as_uuid());
    assert_eq!(named, [objects[1].clone(), objects[4].clone()]);
    assert_eq!(
        part_scan(storage, Some(probe), 2).await,
        parts
            .iter()
            .filter(|id| above(id))
            .copied()
            .collect::<Vec<_>>()
    );
    // The union is what the sweep keeps.
    let mut kept = object_blobs.clone();
    kept.extend(&parts);
    assert_eq!(
        common::referenced_blobs(storage, 2).await,
        kept.into_iter().collect()
    );
    assert!(!common::referenced_blobs(storage, 1000).await.contains(&old));
}

#[tokio::test]
async fn sweep_scans_on_sqlite() {
    let fresh = common::sqlite(true).await;
    scans_page_every_referenced_blob_in_order(&fresh).await;
}

#[tokio::test]
async fn sweep_scans_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    scans_page_every_referenced_blob_in_order(&fresh).await;
}

/// The plans of the sweep's two page queries after a first page (the
/// adapters' SQL), with sequential and bitmap scans off on Postgres so
/// that a missing index would show.
async fn sweep_plans(db: &Database) -> Vec<String> {
    let after = BlobId::new();
    match db {
        Database::Postgres(pool, _) => {
            let mut conn = pool.acquire().await.unwrap();
            // An empty table's estimates favour a bitmap scan and a sort
            // of the few rows; with both off, the index must serve the
            // range and the order (with 100,000 rows the planner picks
            // that plan by itself: BENCHMARKS.md, session 8).
            for setting in ["SET enable_seqscan = off", "SET enable_bitmapscan = off"] {
                sqlx::query(setting).execute(&mut *conn).await.unwrap();
            }
            let mut plans = Vec::new();
            for sql in [
                "EXPLAIN SELECT blob_id FROM objects
                 WHERE blob_id > $2 ORDER BY blob_id LIMIT $1",
                "EXPLAIN SELECT DISTINCT blob_id FROM multipart_parts
                 WHERE blob_id > $2 ORDER BY blob_id LIMIT $1",
            ] {
                let rows: Vec<String> = sqlx::query_scalar(sql)
                    .bind(1000_i64)
                    .bind(after.as_uuid())
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
                plans.push(rows.join("\n"));
            }
            plans
        }
        Database::Sqlite(pool, _) => {
            let mut plans = Vec::new();
            for sql in [
                "EXPLAIN QUERY PLAN SELECT json_group_array(blob_id) FROM (
                     SELECT blob_id FROM objects
                     WHERE blob_id > ? ORDER BY blob_id LIMIT ?)",
                "EXPLAIN QUERY PLAN SELECT json_group_array(blob_id) FROM (
                     SELECT DISTINCT blob_id FROM multipart_parts
                     WHERE blob_id > ? ORDER BY blob_id LIMIT ?)",
            ] {
                let rows = sqlx::query(sql)
                    .bind(after.to_string())
                    .bind(1000_i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                plans.push(
                    rows.iter()
                        .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            plans
        }
    }
}

#[tokio::test]
async fn sweep_scans_are_index_range_scans_on_sqlite() {
    let fresh = common::sqlite(true).await;
    let plans = sweep_plans(&fresh.db).await;
    for (plan, index) in plans
        .iter()
        .zip(["objects_blob_id_idx", "multipart_parts_blob_idx"])
    {
        // The index holds the ids: SQLite never reads the tables.
        assert!(
            plan.contains(&format!("USING COVERING INDEX {index} (blob_id>?)"))
                && !plan.contains("TEMP B-TREE"),
            "plan: {plan}"
        );
    }
}

#[tokio::test]
async fn sweep_scans_are_index_range_scans_on_postgres() {
    let Some(fresh) = common::postgres(true).await else {
        return;
    };
    let plans = sweep_plans(&fresh.db).await;
    for (plan, index) in plans
        .iter()
        .zip(["objects_blob_id_idx", "multipart_parts_blob_idx"])
    {
        assert!(
            plan.contains(&format!("Index Only Scan using {index}"))
                || plan.contains(&format!("Index Scan using {index}")),
            "plan: {plan}"
        );
        assert!(
            plan.contains("Index Cond: (blob_id >") && !plan.contains("Sort"),
            "plan: {plan}"
        );
    }
}
