//! Multipart objects after completion, driven by the official AWS SDK for
//! Rust against the real server on SQLite and Postgres: GetObject and
//! HeadObject by `partNumber` (byte-exact part ranges, `x-amz-mp-parts-count`,
//! the whole object's ETag, `InvalidPartNumber`, `partNumber` with `Range`),
//! and additional checksums of multipart uploads (per part in ListParts, the
//! composite `<checksum-of-checksums>-N` on Complete and on reads with
//! checksum mode, a wrong part checksum at Complete → `InvalidPart`;
//! full-object CRCs, checked against the one Complete names). And the
//! atomicity of CompleteMultipartUpload: of concurrent completes of one
//! upload (or a complete and an abort) exactly one succeeds, and nothing is
//! left behind on disk or in the upload listing; part files left by a crash
//! after the commit go at the next start-up; an upload begun before
//! migration 0015 completes after the upgrade. And page sizes of 0
//! (`max-parts`, `max-uploads`, `max-keys`): an empty page, not truncated.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    ObjectAttributes,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{code_of, crc32_ieee, crc64_nvme, files_under, objects_dir, s3_client};
use md5::{Digest, Md5};
use miniaws_testkit::{Backend, TestServer};
use rand::RngCore;
use sha2::Sha256;
use std::time::Duration;

const MIB: usize = 1024 * 1024;

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

fn sha256_b64(b: &[u8]) -> String {
    BASE64.encode(Sha256::digest(b))
}

/// S3's composite checksum: SHA-256 of the concatenated binary part
/// checksums, base64, then `-<parts>`.
fn composite_sha256(parts: &[&[u8]]) -> String {
    let mut concatenated = Vec::new();
    for p in parts {
        concatenated.extend_from_slice(&Sha256::digest(p));
    }
    format!(
        "{}-{}",
        BASE64.encode(Sha256::digest(&concatenated)),
        parts.len()
    )
}

async fn body_of(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body
        .collect()
        .await
        .expect("the body streams")
        .into_bytes()
        .to_vec()
}

/// The status and body of a presigned GET of `key` with `partNumber`.
async fn presigned_part(s3: &Client, bucket: &str, key: &str, n: i32) -> (u16, Vec<u8>) {
    let url = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .part_number(n)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).expect("config"))
        .await
        .expect("presign");
    let res = reqwest::get(url.uri()).await.expect("presigned GET");
    let status = res.status().as_u16();
    (status, res.bytes().await.expect("body").to_vec())
}

/// A three-part upload created with SHA-256 checksums: parts and their
/// checksums in ListParts, Complete refusing a wrong or missing part
/// checksum, the composite checksum; then reads by part number.
async fn checksummed_parts(s3: &Client, bucket: &str) {
    let key = "three.bin";
    let pieces = [
        random_bytes(5 * MIB),
        random_bytes(5 * MIB),
        random_bytes(1500),
    ];
    let create = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .expect("CreateMultipartUpload");
    assert_eq!(
        create.checksum_algorithm(),
        Some(&ChecksumAlgorithm::Sha256)
    );
    assert_eq!(create.checksum_type(), Some(&ChecksumType::Composite));
    let upload_id = create.upload_id().expect("upload id").to_owned();

    // A part with another algorithm's checksum is refused.
    let err = s3
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .part_number(1)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from_static(b"wrong algorithm"))
        .send()
        .await
        .expect_err("a CRC32 part of a SHA256 upload");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400), "{err:?}");

    let mut parts = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let n = i as i32 + 1;
        let out = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(piece.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("UploadPart {n}: {e:?}"));
        assert_eq!(
            out.checksum_sha256(),
            Some(sha256_b64(piece).as_str()),
            "part {n}'s checksum is echoed"
        );
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .checksum_sha256(sha256_b64(piece))
                .build(),
        );
    }

    let listed = s3
        .list_parts()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .expect("ListParts");
    assert_eq!(
        listed.checksum_algorithm(),
        Some(&ChecksumAlgorithm::Sha256)
    );
    assert_eq!(listed.checksum_type(), Some(&ChecksumType::Composite));
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .expect("ListMultipartUploads");
    let listed_upload = &uploads.uploads()[0];
    assert_eq!(
        (
            listed_upload.checksum_algorithm(),
            listed_upload.checksum_type()
        ),
        (
            Some(&ChecksumAlgorithm::Sha256),
            Some(&ChecksumType::Composite)
        ),
        "ListMultipartUploads names the upload's checksum"
    );
    let listed_sums: Vec<Option<&str>> =
        listed.parts().iter().map(|p| p.checksum_sha256()).collect();
    let want_sums: Vec<String> = pieces.iter().map(|p| sha256_b64(p)).collect();
    assert_eq!(
        listed_sums,
        want_sums
            .iter()
            .map(|s| Some(s.as_str()))
            .collect::<Vec<_>>(),
        "ListParts returns each part's checksum"
    );

    let complete = |ps: Vec<CompletedPart>| {
        s3.complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(ps))
                    .build(),
            )
    };
    // A part checksum that is not the stored one: InvalidPart.
    let mut wrong = parts.clone();
    wrong[1] = CompletedPart::builder()
        .part_number(2)
        .e_tag(parts[1].e_tag().expect("etag"))
        .checksum_sha256(sha256_b64(b"something else"))
        .build();
    let err = complete(wrong)
        .send()
        .await
        .expect_err("wrong part checksum");
    assert_eq!(code_of(&err), ("InvalidPart".into(), 400));
    // An upload with an algorithm needs every part's checksum.
    let mut missing = parts.clone();
    missing[2] = CompletedPart::builder()
        .part_number(3)
        .e_tag(parts[2].e_tag().expect("etag"))
        .build();
    let err = complete(missing)
        .send()
        .await
        .expect_err("missing part checksum");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400), "{err:?}");

    let done = complete(parts.clone())
        .send()
        .await
        .expect("CompleteMultipartUpload");
    let composite = composite_sha256(&[&pieces[0], &pieces[1], &pieces[2]]);
    assert_eq!(done.checksum_sha256(), Some(composite.as_str()));
    assert_eq!(done.checksum_type(), Some(&ChecksumType::Composite));
    let etag = done.e_tag().expect("etag").to_owned();
    let mut md5s = Vec::new();
    for p in &pieces {
        md5s.extend_from_slice(&Md5::digest(p));
    }
    assert_eq!(etag, format!("\"{}-3\"", hex::encode(Md5::digest(&md5s))));
    let whole = pieces.concat();
    let size = whole.len() as i64;

    // The composite checksum on reads with checksum mode; no parts count
    // without a partNumber (as S3).
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.checksum_sha256(), Some(composite.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::Composite));
    assert_eq!(head.parts_count(), None);
    let got = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("GetObject");
    assert_eq!(got.checksum_sha256(), Some(composite.as_str()));
    assert_eq!(got.checksum_type(), Some(&ChecksumType::Composite));
    assert_eq!(got.parts_count(), None);
    assert!(body_of(got).await == whole, "the whole object reads back");
    // Without checksum mode, no checksum.
    let plain = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(plain.checksum_sha256(), None);

    // Each part by number: its bytes, its range, the object's ETag, the
    // parts count, and (with checksum mode) the part's checksum.
    let mut start = 0i64;
    for (i, piece) in pieces.iter().enumerate() {
        let n = i as i32 + 1;
        let end = start + piece.len() as i64 - 1;
        let range = format!("bytes {start}-{end}/{size}");
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .part_number(n)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetObject part {n}: {e:?}"));
        assert_eq!(got.content_range(), Some(range.as_str()), "part {n}");
        assert_eq!(got.content_length(), Some(piece.len() as i64), "part {n}");
        assert_eq!(got.parts_count(), Some(3), "part {n}");
        assert_eq!(got.e_tag(), Some(etag.as_str()), "part {n}");
        assert_eq!(
            got.checksum_sha256(),
            Some(sha256_b64(piece).as_str()),
            "part {n}'s own checksum"
        );
        assert!(body_of(got).await == *piece, "part {n}'s bytes");
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .part_number(n)
            .send()
            .await
            .unwrap_or_else(|e| panic!("HeadObject part {n}: {e:?}"));
        assert_eq!(head.content_range(), Some(range.as_str()), "HEAD part {n}");
        assert_eq!(head.content_length(), Some(piece.len() as i64));
        assert_eq!(head.parts_count(), Some(3));
        assert_eq!(head.e_tag(), Some(etag.as_str()));
        start = end + 1;
    }
    let (status, bytes) = presigned_part(s3, bucket, key, 3).await;
    assert_eq!(status, 206, "a part read is a ranged read");
    assert!(bytes == pieces[2]);

    // A part the object does not have, a bad number, and partNumber with
    // a Range.
    let err = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .part_number(4)
        .send()
        .await
        .expect_err("part 4 of 3");
    assert_eq!(code_of(&err), ("InvalidPartNumber".into(), 416));
    let err = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .part_number(4)
        .send()
        .await
        .expect_err("HEAD part 4 of 3");
    assert_eq!(code_of(&err).1, 416);
    let err = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .part_number(0)
        .send()
        .await
        .expect_err("part 0");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    let err = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .part_number(1)
        .range("bytes=0-9")
        .send()
        .await
        .expect_err("partNumber and Range");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400));

    // A copy is one piece: the composite checksum does not follow it, and
    // it has no part 2.
    s3.copy_object()
        .bucket(bucket)
        .key("copy.bin")
        .copy_source(format!("{bucket}/{key}"))
        .send()
        .await
        .expect("CopyObject");
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("copy.bin")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("HeadObject copy");
    assert_eq!(head.checksum_sha256(), None);
    assert_eq!(head.content_length(), Some(size));
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("copy.bin")
        .part_number(2)
        .send()
        .await
        .expect_err("a copy has one part");
    assert_eq!(code_of(&err).1, 416);
}

/// UploadPartCopy into an upload with a checksum algorithm: the copied
/// part gets its checksum computed, answered, listed and used in the
/// composite.
async fn copied_parts(s3: &Client, bucket: &str) {
    let src = random_bytes(5 * MIB + 3);
    s3.put_object()
        .bucket(bucket)
        .key("copy-src.bin")
        .body(ByteStream::from(src.clone()))
        .send()
        .await
        .expect("PutObject source");
    let key = "copied.bin";
    let upload_id = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .expect("create")
        .upload_id()
        .expect("id")
        .to_owned();
    let first = &src[..5 * MIB];
    let copied = s3
        .upload_part_copy()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .part_number(1)
        .copy_source(format!("{bucket}/copy-src.bin"))
        .copy_source_range(format!("bytes=0-{}", 5 * MIB - 1))
        .send()
        .await
        .expect("UploadPartCopy");
    let result = copied.copy_part_result().expect("CopyPartResult");
    assert_eq!(
        result.checksum_sha256(),
        Some(sha256_b64(first).as_str()),
        "the copied part's checksum is computed"
    );
    let tail = b"and a tail".to_vec();
    let out = s3
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .part_number(2)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(tail.clone()))
        .send()
        .await
        .expect("UploadPart");
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(result.e_tag().expect("etag"))
                        .checksum_sha256(sha256_b64(first))
                        .build(),
                )
                .parts(
                    CompletedPart::builder()
                        .part_number(2)
                        .e_tag(out.e_tag().expect("etag"))
                        .checksum_sha256(sha256_b64(&tail))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("Complete");
    assert_eq!(
        done.checksum_sha256(),
        Some(composite_sha256(&[first, &tail]).as_str())
    );
}

/// An object written in one piece is its own part 1 (206 over all of it,
/// no parts count); it has no part 2.
async fn single_part_objects(s3: &Client, bucket: &str) {
    let body = random_bytes(1000);
    s3.put_object()
        .bucket(bucket)
        .key("one.bin")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("PutObject");
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("one.bin")
        .part_number(1)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("part 1 of a single-part object");
    assert_eq!(got.content_range(), Some("bytes 0-999/1000"));
    assert_eq!(got.parts_count(), None);
    assert_eq!(
        got.e_tag(),
        Some(format!("\"{}\"", hex::encode(Md5::digest(&body))).as_str())
    );
    assert_eq!(got.checksum_sha256(), Some(sha256_b64(&body).as_str()));
    assert_eq!(got.checksum_type(), Some(&ChecksumType::FullObject));
    assert!(body_of(got).await == body);
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("one.bin")
        .part_number(1)
        .send()
        .await
        .expect("HEAD part 1");
    assert_eq!(head.content_length(), Some(1000));
    assert_eq!(head.parts_count(), None);
    let (status, bytes) = presigned_part(s3, bucket, "one.bin", 1).await;
    assert_eq!(status, 206);
    assert!(bytes == body);
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("one.bin")
        .part_number(2)
        .send()
        .await
        .expect_err("part 2 of one");
    assert_eq!(code_of(&err), ("InvalidPartNumber".into(), 416));
}

/// The aws CLI's way: an upload created with CRC32, parts with CRC32 (the
/// SDK's default), Complete naming them.
async fn crc32_uploads(s3: &Client, bucket: &str) {
    let key = "crc.bin";
    let piece = random_bytes(2048);
    let upload_id = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .expect("create")
        .upload_id()
        .expect("id")
        .to_owned();
    let out = s3
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .part_number(1)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from(piece.clone()))
        .send()
        .await
        .expect("UploadPart");
    let part_crc = out.checksum_crc32().expect("part CRC32").to_owned();
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(out.e_tag().expect("etag"))
                        .checksum_crc32(&part_crc)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("Complete");
    // The composite of one part: CRC32 of the part's 4-byte CRC32.
    let raw = BASE64.decode(&part_crc).expect("base64");
    let want = format!("{}-1", BASE64.encode(crc32_ieee(&raw).to_be_bytes()));
    assert_eq!(done.checksum_crc32(), Some(want.as_str()));
}

/// Full-object checksums: CRC64NVME (FULL_OBJECT by default) and CRC32
/// asked for as FULL_OBJECT; the object's checksum is the CRC of all its
/// bytes, checked against the one Complete names; SHA256 has no full-object
/// form.
async fn full_object_uploads(s3: &Client, bucket: &str) {
    assert_eq!(
        BASE64.encode(crc64_nvme(b"hello world").to_be_bytes()),
        "jSnVw/bqjr4=",
        "the test's own CRC64NVME"
    );
    let pieces = [random_bytes(5 * MIB), random_bytes(777)];
    let whole = pieces.concat();
    let cases = [
        (
            "nvme.bin",
            ChecksumAlgorithm::Crc64Nvme,
            None,
            BASE64.encode(crc64_nvme(&whole).to_be_bytes()),
        ),
        (
            "crc32-full.bin",
            ChecksumAlgorithm::Crc32,
            Some(ChecksumType::FullObject),
            BASE64.encode(crc32_ieee(&whole).to_be_bytes()),
        ),
    ];
    for (key, algorithm, checksum_type, want) in cases {
        let create = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .checksum_algorithm(algorithm.clone())
            .set_checksum_type(checksum_type)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create {key}: {e:?}"));
        assert_eq!(
            create.checksum_type(),
            Some(&ChecksumType::FullObject),
            "{key}"
        );
        let upload_id = create.upload_id().expect("id").to_owned();
        let mut parts = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let n = i as i32 + 1;
            let out = s3
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(n)
                .checksum_algorithm(algorithm.clone())
                .body(ByteStream::from(piece.clone()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("UploadPart {key} {n}: {e:?}"));
            // Part checksums are optional in a full-object Complete.
            parts.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(out.e_tag().expect("etag"))
                    .build(),
            );
        }
        let complete = |named: &str| {
            let c = s3
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts.clone()))
                        .build(),
                );
            if algorithm == ChecksumAlgorithm::Crc64Nvme {
                c.checksum_crc64_nvme(named)
            } else {
                c.checksum_crc32(named)
            }
        };
        let zero_len = if algorithm == ChecksumAlgorithm::Crc32 {
            4
        } else {
            8
        };
        let err = complete(&BASE64.encode(&[0u8; 8][..zero_len]))
            .send()
            .await
            .expect_err("a wrong object checksum");
        assert_eq!(code_of(&err), ("BadDigest".into(), 400), "{key}");
        let done = complete(&want)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Complete {key}: {e:?}"));
        assert_eq!(
            done.checksum_type(),
            Some(&ChecksumType::FullObject),
            "{key}"
        );
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetObject {key}: {e:?}"));
        let sum = if algorithm == ChecksumAlgorithm::Crc64Nvme {
            got.checksum_crc64_nvme().map(str::to_owned)
        } else {
            got.checksum_crc32().map(str::to_owned)
        };
        assert_eq!(sum.as_deref(), Some(want.as_str()), "{key}");
        assert_eq!(got.checksum_type(), Some(&ChecksumType::FullObject));
        // The SDK validates a full-object checksum as the body streams.
        assert!(body_of(got).await == whole, "{key}");
        // GetObjectAttributes lists the parts of an object with an
        // additional checksum, a full-object one too, each with its own
        // checksum (S3's GetObjectAttributesParts: the parts are left out
        // only when no additional checksum is applied to the object).
        let attrs = s3
            .get_object_attributes()
            .bucket(bucket)
            .key(key)
            .object_attributes(ObjectAttributes::Checksum)
            .object_attributes(ObjectAttributes::ObjectParts)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetObjectAttributes {key}: {e:?}"));
        let sum = attrs.checksum().expect("the object's checksum");
        assert_eq!(sum.checksum_type(), Some(&ChecksumType::FullObject));
        let parts = attrs.object_parts().expect("ObjectParts");
        assert_eq!(parts.total_parts_count(), Some(2), "{key}");
        let part_sum = |piece: &[u8]| {
            if algorithm == ChecksumAlgorithm::Crc64Nvme {
                BASE64.encode(crc64_nvme(piece).to_be_bytes())
            } else {
                BASE64.encode(crc32_ieee(piece).to_be_bytes())
            }
        };
        let listed: Vec<(Option<i32>, Option<i64>, Option<String>)> = parts
            .parts()
            .iter()
            .map(|p| {
                let sum = if algorithm == ChecksumAlgorithm::Crc64Nvme {
                    p.checksum_crc64_nvme()
                } else {
                    p.checksum_crc32()
                };
                (p.part_number(), p.size(), sum.map(str::to_owned))
            })
            .collect();
        let expected: Vec<(Option<i32>, Option<i64>, Option<String>)> = pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                (
                    Some(i as i32 + 1),
                    Some(piece.len() as i64),
                    Some(part_sum(piece)),
                )
            })
            .collect();
        assert_eq!(listed, expected, "{key}: the parts listed");
        assert_eq!(parts.is_truncated(), Some(false), "{key}");
    }
    let err = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("sha-full.bin")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .expect_err("SHA256 FULL_OBJECT");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400));
}

/// Parts of an upload created without an algorithm and sent without a
/// checksum (`plain`: the SDK asked to send none) get S3's default, a
/// CRC64NVME of their bytes: answered by UploadPart and UploadPartCopy,
/// listed by ListParts, named on Complete or not, and kept for
/// GetObjectAttributes and part reads; the object's checksum is the
/// FULL_OBJECT CRC64NVME of all its bytes. All values are computed here
/// with an independent CRC.
async fn default_part_checksums(plain: &Client, bucket: &str) {
    let nvme = |b: &[u8]| BASE64.encode(crc64_nvme(b).to_be_bytes());
    let (a, b) = (random_bytes(5 * MIB), b"the default's last part".to_vec());
    let whole = [a.clone(), b.clone()].concat();
    for (key, named) in [("default-named.bin", true), ("default-bare.bin", false)] {
        let upload_id = plain
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("create without an algorithm")
            .upload_id()
            .expect("id")
            .to_owned();
        // The first part is sent, or (the second time) copied from the
        // first object.
        let first_etag = if named {
            let out = plain
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(1)
                .body(ByteStream::from(a.clone()))
                .send()
                .await
                .expect("UploadPart without a checksum");
            assert_eq!(out.checksum_crc64_nvme(), Some(nvme(&a).as_str()), "{key}");
            assert_eq!(out.checksum_crc32(), None);
            out.e_tag().expect("etag").to_owned()
        } else {
            let copied = plain
                .upload_part_copy()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(1)
                .copy_source(format!("{bucket}/default-named.bin"))
                .copy_source_range(format!("bytes=0-{}", 5 * MIB - 1))
                .send()
                .await
                .expect("UploadPartCopy");
            let result = copied.copy_part_result().expect("CopyPartResult");
            assert_eq!(result.checksum_crc64_nvme(), Some(nvme(&a).as_str()));
            result.e_tag().expect("etag").to_owned()
        };
        let out = plain
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(2)
            .body(ByteStream::from(b.clone()))
            .send()
            .await
            .expect("UploadPart without a checksum");
        assert_eq!(out.checksum_crc64_nvme(), Some(nvme(&b).as_str()));
        let listed = plain
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .send()
            .await
            .expect("ListParts");
        let sums: Vec<Option<&str>> = listed
            .parts()
            .iter()
            .map(|p| p.checksum_crc64_nvme())
            .collect();
        assert_eq!(sums, [Some(nvme(&a).as_str()), Some(nvme(&b).as_str())]);
        assert_eq!(listed.checksum_algorithm(), None, "the upload has none");
        let part = |n: i32, etag: &str, data: &[u8]| {
            CompletedPart::builder()
                .part_number(n)
                .e_tag(etag)
                .set_checksum_crc64_nvme(named.then(|| nvme(data)))
                .build()
        };
        // The first time, the object's default CRC64NVME is named as well.
        let done = plain
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .set_checksum_crc64_nvme(named.then(|| nvme(&whole)))
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(part(1, &first_etag, &a))
                    .parts(part(2, out.e_tag().expect("etag"), &b))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("Complete ({key}): {e:?}"));
        assert_eq!(done.checksum_crc64_nvme(), Some(nvme(&whole).as_str()));
        assert_eq!(done.checksum_type(), Some(&ChecksumType::FullObject));

        let attrs = plain
            .get_object_attributes()
            .bucket(bucket)
            .key(key)
            .object_attributes(ObjectAttributes::Checksum)
            .object_attributes(ObjectAttributes::ObjectParts)
            .send()
            .await
            .expect("GetObjectAttributes");
        let sum = attrs.checksum().expect("the object's checksum");
        assert_eq!(sum.checksum_crc64_nvme(), Some(nvme(&whole).as_str()));
        assert_eq!(sum.checksum_type(), Some(&ChecksumType::FullObject));
        let parts = attrs.object_parts().expect("ObjectParts");
        assert_eq!(parts.total_parts_count(), Some(2));
        let listed: Vec<(Option<i32>, Option<i64>, Option<&str>)> = parts
            .parts()
            .iter()
            .map(|p| (p.part_number(), p.size(), p.checksum_crc64_nvme()))
            .collect();
        assert_eq!(
            listed,
            [
                (Some(1), Some(a.len() as i64), Some(nvme(&a).as_str())),
                (Some(2), Some(b.len() as i64), Some(nvme(&b).as_str())),
            ]
        );
        // A part read with checksum mode answers the part's own (which
        // the SDK validates); the whole object's is validated too.
        let got = plain
            .get_object()
            .bucket(bucket)
            .key(key)
            .part_number(2)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("GetObject part 2");
        assert_eq!(got.checksum_crc64_nvme(), Some(nvme(&b).as_str()));
        assert!(body_of(got).await == b);
        let got = plain
            .get_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("GetObject");
        assert!(body_of(got).await == whole, "{key}");
    }
}

async fn run(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("parts-user").await;
    let s3 = s3_client(&server, &key);
    let bucket = "parts-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    checksummed_parts(&s3, bucket).await;
    copied_parts(&s3, bucket).await;
    single_part_objects(&s3, bucket).await;
    crc32_uploads(&s3, bucket).await;
    full_object_uploads(&s3, bucket).await;
    let plain = common::s3_client_with(
        &server.aws_url(),
        &key.access_key_id,
        &key.secret_access_key,
        |b| {
            b.request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
        },
    );
    default_part_checksums(&plain, bucket).await;
}

#[tokio::test]
async fn parts_and_checksums_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn parts_and_checksums_postgres() {
    run(Backend::Postgres).await;
}

/// A page size of 0 (`max-parts`, `max-uploads`, `max-keys`) asks for
/// nothing: an empty page that echoes 0 and is not truncated, as S3
/// answers `max-keys=0` (s3-tests' `test_bucket_list_maxkeys_zero`),
/// never a page of one. A negative one is `InvalidArgument`.
async fn zero_page_sizes(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("zero-pages").await;
    let s3 = s3_client(&server, &key);
    let bucket = "zero-pages";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    for k in ["a", "b"] {
        s3.put_object()
            .bucket(bucket)
            .key(k)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("PutObject");
    }
    let mut ids = Vec::new();
    for k in ["up1", "up2"] {
        let id = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(k)
            .send()
            .await
            .expect("CreateMultipartUpload")
            .upload_id()
            .expect("upload id")
            .to_owned();
        ids.push(id);
    }
    for n in 1..=2 {
        s3.upload_part()
            .bucket(bucket)
            .key("up1")
            .upload_id(&ids[0])
            .part_number(n)
            .body(ByteStream::from_static(b"part"))
            .send()
            .await
            .expect("UploadPart");
    }
    let parts = |max: i32| {
        s3.list_parts()
            .bucket(bucket)
            .key("up1")
            .upload_id(&ids[0])
            .max_parts(max)
            .send()
    };
    let zero = parts(0).await.expect("ListParts max-parts=0");
    assert!(zero.parts().is_empty(), "{zero:?}");
    assert_eq!(zero.max_parts(), Some(0));
    assert_eq!(zero.is_truncated(), Some(false));
    assert_eq!(zero.next_part_number_marker(), None);
    let one = parts(1).await.expect("ListParts max-parts=1");
    assert_eq!(one.parts().len(), 1);
    assert_eq!(one.is_truncated(), Some(true));
    let err = parts(-1).await.expect_err("max-parts=-1");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400), "{err:?}");

    let uploads = |max: i32| {
        s3.list_multipart_uploads()
            .bucket(bucket)
            .max_uploads(max)
            .send()
    };
    let zero = uploads(0)
        .await
        .expect("ListMultipartUploads max-uploads=0");
    assert!(zero.uploads().is_empty(), "{zero:?}");
    assert!(zero.common_prefixes().is_empty(), "{zero:?}");
    assert_eq!(zero.max_uploads(), Some(0));
    assert_eq!(zero.is_truncated(), Some(false));
    assert_eq!(zero.next_key_marker(), None);
    let one = uploads(1)
        .await
        .expect("ListMultipartUploads max-uploads=1");
    assert_eq!(one.uploads().len(), 1);
    assert_eq!(one.is_truncated(), Some(true));

    let v2 = s3
        .list_objects_v2()
        .bucket(bucket)
        .max_keys(0)
        .send()
        .await
        .expect("ListObjectsV2 max-keys=0");
    assert!(v2.contents().is_empty(), "{v2:?}");
    assert_eq!(v2.key_count(), Some(0));
    assert_eq!(v2.max_keys(), Some(0));
    assert_eq!(v2.is_truncated(), Some(false));
    assert_eq!(v2.next_continuation_token(), None);
    let v1 = s3
        .list_objects()
        .bucket(bucket)
        .max_keys(0)
        .send()
        .await
        .expect("ListObjects max-keys=0");
    assert!(v1.contents().is_empty(), "{v1:?}");
    assert_eq!(v1.is_truncated(), Some(false));
    let versions = s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(0)
        .send()
        .await
        .expect("ListObjectVersions max-keys=0");
    assert!(versions.versions().is_empty(), "{versions:?}");
    assert_eq!(versions.is_truncated(), Some(false));
}

#[tokio::test]
async fn zero_page_sizes_sqlite() {
    zero_page_sizes(Backend::Sqlite).await;
}

#[tokio::test]
async fn zero_page_sizes_postgres() {
    zero_page_sizes(Backend::Postgres).await;
}

/// An upload of `key` with a 5 MiB part and a small last part; returns its
/// id, the parts to name on Complete, and the object's bytes.
async fn two_part_upload(
    s3: &Client,
    bucket: &str,
    key: &str,
) -> (String, CompletedMultipartUpload, Vec<u8>) {
    let upload_id = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("CreateMultipartUpload")
        .upload_id()
        .expect("an upload id")
        .to_owned();
    let pieces = [random_bytes(5 * MIB), random_bytes(1000)];
    let mut done = CompletedMultipartUpload::builder();
    for (i, piece) in pieces.iter().enumerate() {
        let n = i as i32 + 1;
        let out = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(piece.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("UploadPart {n}: {e:?}"));
        done = done.parts(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("an ETag"))
                .build(),
        );
    }
    (upload_id, done.build(), pieces.concat())
}

async fn complete(
    s3: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &CompletedMultipartUpload,
) -> Result<(), (String, u16)> {
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(parts.clone())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code_of(&e))
}

async fn uploads_in_progress(s3: &Client, bucket: &str) -> usize {
    s3.list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads")
        .uploads()
        .len()
}

/// The bytes of every blob file under the server's object store
/// (temporaries included: none may be left either).
fn blob_files(server: &TestServer) -> Vec<Vec<u8>> {
    common::blobs_under(&objects_dir(server))
        .iter()
        .map(|p| common::blob_bytes(p))
        .collect()
}

async fn read_back(s3: &Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => Some(body_of(out).await),
        Err(e) => {
            assert_eq!(code_of(&e), ("NoSuchKey".into(), 404), "{e:?}");
            None
        }
    }
}

async fn racing_completions(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("race-user").await;
    let s3 = s3_client(&server, &key);
    let bucket = "race-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");

    // Four completes of one upload at once (an SDK's retries, say): one
    // commits, and all four answer its 200, as S3 answers a completion
    // sent again with the same parts.
    let (upload_id, parts, data) = two_part_upload(&s3, bucket, "one").await;
    let results =
        futures::future::join_all((0..4).map(|_| complete(&s3, bucket, "one", &upload_id, &parts)))
            .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // Sent again later, the same; with other parts, the upload is gone.
    complete(&s3, bucket, "one", &upload_id, &parts)
        .await
        .expect("the same answer");
    let mut fewer = parts.clone();
    fewer.parts.as_mut().expect("parts").pop();
    assert_eq!(
        complete(&s3, bucket, "one", &upload_id, &fewer).await,
        Err(("NoSuchUpload".to_owned(), 404))
    );
    assert_eq!(read_back(&s3, bucket, "one").await, Some(data.clone()));
    assert_eq!(uploads_in_progress(&s3, bucket).await, 0);
    assert_eq!(
        blob_files(&server),
        vec![data.clone()],
        "one blob file remains, the object's: no part or assembled blob is left"
    );

    // What the client says of the object it expects must hold, else the
    // completion is refused and the upload stays: its size
    // (x-amz-mp-object-size) and its checksum type (this upload, created
    // without an algorithm, gets S3's FULL_OBJECT CRC64NVME).
    let (guarded_id, guarded_parts, guarded) = two_part_upload(&s3, bucket, "guarded").await;
    let size = guarded.len() as i64;
    let guarded_complete = |mpu_size: i64, kind: ChecksumType| {
        s3.complete_multipart_upload()
            .bucket(bucket)
            .key("guarded")
            .upload_id(&guarded_id)
            .multipart_upload(guarded_parts.clone())
            .mpu_object_size(mpu_size)
            .checksum_type(kind)
            .send()
    };
    for (mpu_size, kind) in [
        (size + 1, ChecksumType::FullObject),
        (size, ChecksumType::Composite),
    ] {
        let err = guarded_complete(mpu_size, kind.clone())
            .await
            .expect_err("refused");
        assert_eq!(
            code_of(&err),
            ("InvalidRequest".to_owned(), 400),
            "{kind:?}"
        );
    }
    guarded_complete(size, ChecksumType::FullObject)
        .await
        .expect("as expected: completes");
    assert_eq!(
        read_back(&s3, bucket, "guarded").await,
        Some(guarded.clone())
    );

    // A complete racing an abort: exactly one succeeds, and the world
    // agrees with the one that did.
    let mut object_files = vec![data, guarded];
    for round in 0..3 {
        let key = format!("vs-abort-{round}");
        let (upload_id, parts, data) = two_part_upload(&s3, bucket, &key).await;
        let abort = async {
            s3.abort_multipart_upload()
                .bucket(bucket)
                .key(&key)
                .upload_id(&upload_id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| code_of(&e))
        };
        let (completed, aborted) =
            tokio::join!(complete(&s3, bucket, &key, &upload_id, &parts), abort);
        let object = read_back(&s3, bucket, &key).await;
        match (&completed, &aborted) {
            (Ok(()), Err(e)) => {
                assert_eq!(e, &("NoSuchUpload".to_owned(), 404), "round {round}");
                assert_eq!(
                    object,
                    Some(data.clone()),
                    "round {round}: the object is whole"
                );
                object_files.push(data);
            }
            (Err(e), Ok(())) => {
                assert_eq!(e, &("NoSuchUpload".to_owned(), 404), "round {round}");
                assert_eq!(object, None, "round {round}: no object was committed");
            }
            _ => panic!(
                "round {round}: exactly one of complete and abort must succeed: {completed:?}, {aborted:?}"
            ),
        }
        assert_eq!(uploads_in_progress(&s3, bucket).await, 0, "round {round}");
        let mut files = blob_files(&server);
        files.sort();
        object_files.sort();
        assert_eq!(
            files, object_files,
            "round {round}: only the objects' blob files remain"
        );
    }
}

#[tokio::test]
async fn racing_completions_sqlite() {
    racing_completions(Backend::Sqlite).await;
}

#[tokio::test]
async fn racing_completions_postgres() {
    racing_completions(Backend::Postgres).await;
}

/// CreateMultipartUpload racing DeleteBucket: either the upload is made
/// (and the delete removes it with the bucket, or is refused) or it is
/// refused with `NoSuchBucket`; never an upload that outlives its bucket
/// and turns up in the next bucket of that name, another account's too.
async fn uploads_never_outlive_their_bucket(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("cmu-alice").await;
    let (_, bob) = server.user("cmu-bob").await;
    let (a, b) = (s3_client(&server, &alice), s3_client(&server, &bob));
    let bucket = "cmu-race";
    for round in 0..40 {
        a.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("CreateBucket");
        let (created, deleted) = tokio::join!(
            a.create_multipart_upload()
                .bucket(bucket)
                .key(format!("k{round}"))
                .send(),
            a.delete_bucket().bucket(bucket).send()
        );
        if let Err(e) = &created {
            assert_eq!(code_of(e), ("NoSuchBucket".into(), 404), "{e:?}");
        }
        if deleted.is_err() {
            // Refused (the upload came first and the bucket is not
            // empty, or the delete lost): clean up for the next round.
            let _ = a.delete_bucket().bucket(bucket).send().await;
        }
        // Bob (or Alice, every other round) makes the name again: it
        // holds no upload.
        let next = if round % 2 == 0 { &b } else { &a };
        next.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("the name is free again");
        assert_eq!(
            uploads_in_progress(next, bucket).await,
            0,
            "round {round}: an upload outlived its bucket"
        );
        next.delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("DeleteBucket");
    }
}

#[tokio::test]
async fn uploads_never_outlive_their_bucket_sqlite() {
    uploads_never_outlive_their_bucket(Backend::Sqlite).await;
}

#[tokio::test]
async fn uploads_never_outlive_their_bucket_postgres() {
    uploads_never_outlive_their_bucket(Backend::Postgres).await;
}

/// A crash after a completion's commit and before its part files are
/// removed leaves those files with no row pointing to them; the start-up
/// sweep removes them. The crash window cannot be hit on purpose, so the
/// test puts the part files back after a completion (the state such a
/// crash leaves), kills the server and starts it again.
async fn part_files_of_a_crashed_completion(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("crash-user").await;
    let s3 = s3_client(&server, &key);
    let bucket = "crash-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    let (upload_id, parts, data) = two_part_upload(&s3, bucket, "k").await;
    let part_files: Vec<(std::path::PathBuf, Vec<u8>)> = files_under(&objects_dir(&server))
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("a part file reads");
            (p, bytes)
        })
        .collect();
    assert_eq!(part_files.len(), 2, "one file per part");
    complete(&s3, bucket, "k", &upload_id, &parts)
        .await
        .expect("the upload completes");
    for (path, bytes) in &part_files {
        assert!(!path.exists(), "a completion removes its part files");
        std::fs::write(path, bytes).expect("the part file is put back");
    }
    server.kill().await;
    server.restart().await;
    let s3 = s3_client(&server, &key);
    assert_eq!(read_back(&s3, bucket, "k").await, Some(data.clone()));
    assert_eq!(uploads_in_progress(&s3, bucket).await, 0);
    for (path, _) in &part_files {
        assert!(
            !path.exists(),
            "the start-up sweep removes a part file no row points to: {}",
            path.display()
        );
    }
    assert_eq!(
        blob_files(&server),
        vec![data],
        "only the object's file remains"
    );
}

#[tokio::test]
async fn part_files_of_a_crashed_completion_go_at_start_up_sqlite() {
    part_files_of_a_crashed_completion(Backend::Sqlite).await;
}

#[tokio::test]
async fn part_files_of_a_crashed_completion_go_at_start_up_postgres() {
    part_files_of_a_crashed_completion(Backend::Postgres).await;
}

/// The start-up sweep keeps the files of an upload in progress (its part
/// rows point to them, as object rows do to theirs) and removes an orphan
/// lying among them; the upload then completes with the parts sent before
/// the restart.
async fn parts_of_an_upload_in_progress_survive_a_restart(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("restart-user").await;
    let s3 = s3_client(&server, &key);
    let bucket = "restart-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    s3.put_object()
        .bucket(bucket)
        .key("plain")
        .body(ByteStream::from_static(b"plain"))
        .send()
        .await
        .expect("PutObject");
    let (upload_id, parts, data) = two_part_upload(&s3, bucket, "k").await;
    assert_eq!(blob_files(&server).len(), 3, "one object and two parts");
    // An orphan between them, as a crash between a blob's rename and its
    // commit leaves: named like a blob, no row points to it.
    let name = uuid::Uuid::new_v4().simple().to_string();
    let orphan = objects_dir(&server).join(&name[..2]).join(&name);
    std::fs::write(&orphan, b"orphan").expect("an orphan");
    server.stop().await;
    server.restart().await;
    assert!(!orphan.exists(), "the start-up sweep removes the orphan");
    assert_eq!(blob_files(&server).len(), 3, "the parts' files are kept");
    let s3 = s3_client(&server, &key);
    complete(&s3, bucket, "k", &upload_id, &parts)
        .await
        .expect("the upload completes after the restart");
    assert_eq!(read_back(&s3, bucket, "k").await, Some(data));
    assert_eq!(
        read_back(&s3, bucket, "plain").await,
        Some(b"plain".to_vec())
    );
}

#[tokio::test]
async fn parts_of_an_upload_in_progress_survive_a_restart_sqlite() {
    parts_of_an_upload_in_progress_survive_a_restart(Backend::Sqlite).await;
}

#[tokio::test]
async fn parts_of_an_upload_in_progress_survive_a_restart_postgres() {
    parts_of_an_upload_in_progress_survive_a_restart(Backend::Postgres).await;
}

/// DeleteBucket takes the uploads in progress in it along, as S3 does:
/// their part files go, and a bucket of the same name made later (here by
/// another user) lists none of them and cannot reach them.
async fn deleting_a_bucket_removes_its_uploads(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("upload-alice").await;
    let (_, bob) = server.user("upload-bob").await;
    let (alice, bob) = (s3_client(&server, &alice), s3_client(&server, &bob));
    let bucket = "reused-name";
    alice
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    let (upload_id, parts, _) = two_part_upload(&alice, bucket, "private/report").await;
    assert_eq!(blob_files(&server).len(), 2, "two parts on disk");
    alice
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("a bucket with only uploads in progress is deleted");
    assert!(blob_files(&server).is_empty(), "the part files are removed");
    bob.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("another user takes the name");
    let listed = bob
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads");
    assert!(
        listed.uploads().is_empty(),
        "no upload of the old bucket: {listed:?}"
    );
    let err = complete(&bob, bucket, "private/report", &upload_id, &parts)
        .await
        .expect_err("the old upload is gone");
    assert_eq!(err, ("NoSuchUpload".into(), 404));
}

#[tokio::test]
async fn deleting_a_bucket_removes_its_uploads_sqlite() {
    deleting_a_bucket_removes_its_uploads(Backend::Sqlite).await;
}

#[tokio::test]
async fn deleting_a_bucket_removes_its_uploads_postgres() {
    deleting_a_bucket_removes_its_uploads(Backend::Postgres).await;
}

/// Runs `miniaws <args>` on the server's data directory and database (the
/// server stopped) and returns its standard output; panics when it fails.
fn miniaws_on(server: &TestServer, args: &[&str]) -> String {
    let out = std::process::Command::new(miniaws_testkit::miniaws_bin())
        .arg("--data-dir")
        .arg(server.data_dir().join("data"))
        .arg("--database-url")
        .arg(server.database_url())
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("miniaws runs");
    assert!(
        out.status.success(),
        "miniaws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The applied migrations newer than `version`, from `migrate status`.
fn applied_after(server: &TestServer, version: u32) -> usize {
    miniaws_on(server, &["migrate", "status"])
        .lines()
        .filter(|l| l.contains("applied"))
        .filter_map(|l| l.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|v| *v > version)
        .count()
}

/// An upload whose parts were stored before migration 0015 (which keeps
/// each part's CRC64NVME as it streams in) completes after the upgrade
/// with S3's default full-object CRC64NVME right: the parts have no stored
/// CRC, so completion reads their bytes once. The database is taken back
/// to 0014 with `miniaws migrate down` (which drops the column and every
/// part's CRC with it) and the restarted server migrates it up again.
async fn an_upload_from_before_0015_completes_after_the_upgrade(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("upgrade-user").await;
    let s3 = s3_client(&server, &key);
    let bucket = "upgrade-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    let (upload_id, parts, data) = two_part_upload(&s3, bucket, "k").await;
    server.stop().await;

    let newer = applied_after(&server, 14);
    assert!(newer >= 2, "0015 and 0016 at least are applied");
    miniaws_on(&server, &["migrate", "down", "--steps", &newer.to_string()]);
    assert_eq!(applied_after(&server, 14), 0, "back at 0014");
    server.restart().await;
    assert!(
        applied_after(&server, 14) >= 2,
        "start-up migrated up again"
    );

    let s3 = s3_client(&server, &key);
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key("k")
        .upload_id(&upload_id)
        .multipart_upload(parts)
        .send()
        .await
        .expect("the upload completes after the upgrade");
    let nvme = BASE64.encode(crc64_nvme(&data).to_be_bytes());
    assert_eq!(done.checksum_crc64_nvme(), Some(nvme.as_str()));
    assert_eq!(done.checksum_type(), Some(&ChecksumType::FullObject));
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("GetObject");
    assert_eq!(got.checksum_crc64_nvme(), Some(nvme.as_str()));
    assert_eq!(body_of(got).await, data);
}

#[tokio::test]
async fn an_upload_from_before_0015_completes_after_the_upgrade_sqlite() {
    an_upload_from_before_0015_completes_after_the_upgrade(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_upload_from_before_0015_completes_after_the_upgrade_postgres() {
    an_upload_from_before_0015_completes_after_the_upgrade(Backend::Postgres).await;
}
