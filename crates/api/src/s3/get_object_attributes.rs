//! GetObjectAttributes: the attributes `x-amz-object-attributes` names
//! (`ETag`, `Checksum`, `ObjectParts`, `StorageClass`, `ObjectSize`) of an
//! object, without its bytes, answered as S3 answers them:
//!
//! - `ETag` without quotes (unlike every other answer; [`super::wire`]
//!   takes off the quotes s3s puts around every XML ETag);
//! - `Checksum`: the stored checksum and its type; a multipart object's
//!   `COMPOSITE` checksum without its `-N` suffix;
//! - `ObjectParts`, for a multipart object only: `PartsCount`, and when the
//!   object has a `COMPOSITE` checksum, or a `FULL_OBJECT` one (CRC32,
//!   CRC32C, CRC64NVME, asked for or S3's default) with one on every part,
//!   its parts (number, size, checksum) as ListParts pages them
//!   (`x-amz-max-parts`, default and at most 1,000;
//!   `x-amz-part-number-marker`);
//! - `StorageClass`: the object's (see [`super::request_options`]); `ObjectSize`.
//!
//! `Last-Modified` goes in a header; `versionId=null` names the current
//! object (see [`super::versions`]). Another account's signed request or an
//! unsigned one is answered the same when the bucket's policy grants
//! everyone `s3:GetObject` and `s3:GetObjectAttributes` on the key (see
//! [`super::auth::reader`]).
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html>.

use miniaws_core::storage::ObjectMeta;
use s3s::dto::{
    Checksum, ChecksumType, GetObjectAttributesInput, GetObjectAttributesOutput,
    GetObjectAttributesParts, ObjectAttributes, ObjectPart, StorageClass,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{StoredChecksums, etag, timestamp};
use super::request_options::{STORAGE_CLASS, listed_class};
use super::versions::{answer_version, version_param};
use super::{MiniS3, object_error, reader};

/// The most parts one answer lists (as ListParts).
const MAX_PARTS: i32 = 1000;

/// Which attributes were asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Wanted {
    etag: bool,
    checksum: bool,
    parts: bool,
    storage_class: bool,
    size: bool,
}

/// `x-amz-object-attributes`: one or more comma-separated names, in one
/// header or several (s3s hands each header value over whole).
fn wanted(list: &[ObjectAttributes]) -> S3Result<Wanted> {
    let mut w = Wanted::default();
    let names = list
        .iter()
        .flat_map(|a| a.as_str().split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mut any = false;
    for name in names {
        any = true;
        match name {
            ObjectAttributes::ETAG => w.etag = true,
            ObjectAttributes::CHECKSUM => w.checksum = true,
            ObjectAttributes::OBJECT_PARTS => w.parts = true,
            ObjectAttributes::STORAGE_CLASS => w.storage_class = true,
            ObjectAttributes::OBJECT_SIZE => w.size = true,
            _ => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid attribute name specified."
                ));
            }
        }
    }
    if !any {
        return Err(s3_error!(
            InvalidArgument,
            "x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty"
        ));
    }
    Ok(w)
}

/// A multipart object's composite checksum ends in `-<parts>`; this answer
/// gives the value alone.
fn without_parts_suffix(v: String) -> String {
    match v.rsplit_once('-') {
        Some((value, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            value.to_owned()
        }
        _ => v,
    }
}

fn checksum(meta: &ObjectMeta) -> Option<Checksum> {
    let c = StoredChecksums::from_meta(meta);
    let checksum_type = c.checksum_type?;
    Some(Checksum {
        checksum_crc32: c.crc32.map(without_parts_suffix),
        checksum_crc32c: c.crc32c.map(without_parts_suffix),
        checksum_crc64nvme: c.crc64nvme.map(without_parts_suffix),
        checksum_sha1: c.sha1.map(without_parts_suffix),
        checksum_sha256: c.sha256.map(without_parts_suffix),
        checksum_type: Some(checksum_type),
    })
}

/// How many parts an object has: its stored parts, or, for a multipart
/// object completed before they were kept (migration 0009), its ETag's
/// `-N`; `None` for an object written in one piece.
fn parts_count(meta: &ObjectMeta) -> Option<i32> {
    if let Some(n) = meta.parts_count() {
        return i32::try_from(n).ok();
    }
    meta.etag
        .as_str()
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse::<i32>().ok())
}

fn object_parts(
    meta: &ObjectMeta,
    max_parts: i32,
    marker: i32,
) -> Option<GetObjectAttributesParts> {
    let total = parts_count(meta)?;
    let sums = StoredChecksums::from_meta(meta);
    let composite = sums
        .checksum_type
        .as_ref()
        .is_some_and(|t| t.as_str() == ChecksumType::COMPOSITE);
    // S3 leaves the parts out only when no additional checksum is applied
    // to the object (`GetObjectAttributesParts`'s `Parts`), so a
    // FULL_OBJECT one lists them too — CRC32, CRC32C, or CRC64NVME (asked
    // for, or S3's default of an upload created without an algorithm) —
    // each with its own checksum, as the `ObjectPart` reference says, when
    // every part has one (parts stored before parts got the default, or
    // sent with a client's own checksum of another algorithm, have none).
    // <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributesParts.html>
    let full_object =
        sums.checksum_type.is_some() && meta.parts.iter().all(|p| p.checksum.is_some());
    if !(composite || full_object) || meta.parts.is_empty() {
        // Without per-part checksums S3 answers the count alone.
        return Some(GetObjectAttributesParts {
            total_parts_count: Some(total),
            ..Default::default()
        });
    }
    let mut parts = Vec::new();
    let mut is_truncated = false;
    for (i, p) in meta.parts.iter().enumerate() {
        let Ok(number) = i32::try_from(i + 1) else {
            break;
        };
        if number <= marker {
            continue;
        }
        if parts.len() == usize::try_from(max_parts).unwrap_or(0) {
            is_truncated = true;
            break;
        }
        let sums = StoredChecksums::of_part(meta, number.unsigned_abs());
        parts.push(ObjectPart {
            part_number: Some(number),
            size: i64::try_from(p.size_bytes).ok(),
            checksum_crc32: sums.crc32,
            checksum_crc32c: sums.crc32c,
            checksum_crc64nvme: sums.crc64nvme,
            checksum_sha1: sums.sha1,
            checksum_sha256: sums.sha256,
        });
    }
    let next = parts.last().and_then(|p| p.part_number).unwrap_or(marker);
    Some(GetObjectAttributesParts {
        total_parts_count: Some(total),
        part_number_marker: Some(marker),
        next_part_number_marker: Some(next),
        max_parts: Some(max_parts),
        is_truncated: Some(is_truncated),
        parts: Some(parts),
    })
}

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let wanted = wanted(&input.object_attributes)?;
    let max_parts = match input.max_parts {
        None => MAX_PARTS,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "Argument max-parts must be an integer between 0 and 2147483647"
            ));
        }
        Some(n) => n.min(MAX_PARTS),
    };
    let marker = match input.part_number_marker {
        None => 0,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "Argument part-number-marker must be an integer between 0 and 2147483647"
            ));
        }
        Some(n) => n,
    };
    let meta = s3
        .storage()
        .get_object_attributes_at(reader, &input.bucket, &input.key, version)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(GetObjectAttributesOutput {
        last_modified: Some(timestamp(meta.last_modified)),
        version_id: answer_version(&meta, version),
        e_tag: wanted.etag.then(|| etag(&meta.etag)),
        checksum: wanted.checksum.then(|| checksum(&meta)).flatten(),
        object_parts: wanted
            .parts
            .then(|| object_parts(&meta, max_parts, marker))
            .flatten(),
        storage_class: wanted
            .storage_class
            .then(|| StorageClass::from(listed_class(meta.headers.get(STORAGE_CLASS)))),
        object_size: wanted
            .size
            .then(|| i64::try_from(meta.size_bytes).ok())
            .flatten(),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_may_come_comma_separated() {
        let one = |s: &str| vec![ObjectAttributes::from(s.to_owned())];
        assert_eq!(
            wanted(&one("ETag, ObjectSize")).expect("two names"),
            Wanted {
                etag: true,
                size: true,
                ..Default::default()
            }
        );
        let all = wanted(&[
            ObjectAttributes::from("Checksum,ObjectParts".to_owned()),
            ObjectAttributes::from("StorageClass".to_owned()),
        ])
        .expect("three names in two headers");
        assert!(all.checksum && all.parts && all.storage_class && !all.etag);
        assert!(wanted(&one("ETag,Colour")).is_err());
        assert!(wanted(&one("etag")).is_err(), "names are case-sensitive");
        assert!(wanted(&one(" , ")).is_err());
    }

    #[test]
    fn composite_checksums_lose_their_part_count() {
        assert_eq!(without_parts_suffix("abc=-3".into()), "abc=");
        assert_eq!(without_parts_suffix("abc=".into()), "abc=");
        assert_eq!(without_parts_suffix("a-b=".into()), "a-b=");
    }
}
