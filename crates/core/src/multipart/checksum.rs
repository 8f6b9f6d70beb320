//! S3's additional checksums of multipart uploads: the algorithm an upload
//! is created with, each part's checksum, and the object's composite
//! checksum (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>):
//! the checksum of the concatenated binary part checksums, in base64, then
//! `-<number of parts>`.
//!
//! The S3 layer computes and verifies a part's checksum while its body
//! streams; here are only the rules and the composite, plus the hashing of
//! parts copied from another object (UploadPartCopy), whose bytes never pass
//! through the S3 layer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::Digest as _;
use std::fmt;

use crate::error::{CoreError, CoreResult};

/// An S3 additional-checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// `CRC32` (ISO-HDLC).
    Crc32,
    /// `CRC32C` (Castagnoli).
    Crc32c,
    /// `CRC64NVME`: S3 offers it for full-object checksums only.
    Crc64Nvme,
    /// `SHA1`.
    Sha1,
    /// `SHA256`.
    Sha256,
}

const ALL: [ChecksumAlgorithm; 5] = [
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Crc32c,
    ChecksumAlgorithm::Crc64Nvme,
    ChecksumAlgorithm::Sha1,
    ChecksumAlgorithm::Sha256,
];

impl ChecksumAlgorithm {
    /// The S3 name: `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// Parses an S3 name, in any case.
    pub fn parse(name: &str) -> Option<Self> {
        ALL.into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether S3 computes a composite (checksum-of-checksums) object
    /// checksum with it: every algorithm but CRC64NVME.
    pub fn supports_composite(self) -> bool {
        self != Self::Crc64Nvme
    }

    /// Whether S3 offers a full-object checksum (of all the bytes) of a
    /// multipart upload with it: the CRCs, which S3 combines from the parts.
    pub fn supports_full_object(self) -> bool {
        matches!(self, Self::Crc32 | Self::Crc32c | Self::Crc64Nvme)
    }

    /// A streaming hasher.
    pub fn hasher(self) -> ChecksumHasher {
        ChecksumHasher(match self {
            Self::Crc32 => {
                Inner::Crc32(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32IsoHdlc))
            }
            Self::Crc32c => Inner::Crc32(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi)),
            Self::Crc64Nvme => {
                Inner::Crc64(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme))
            }
            Self::Sha1 => Inner::Sha1(sha1::Sha1::new()),
            Self::Sha256 => Inner::Sha256(sha2::Sha256::new()),
        })
    }

    /// The raw digest of `data`.
    fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finalize_raw()
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A checksum computed while streaming (see [`ChecksumAlgorithm::hasher`]).
pub struct ChecksumHasher(Inner);

enum Inner {
    Crc32(crc_fast::Digest),
    Crc64(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl ChecksumHasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Inner::Crc32(d) | Inner::Crc64(d) => d.update(data),
            Inner::Sha1(h) => h.update(data),
            Inner::Sha256(h) => h.update(data),
        }
    }

    fn finalize_raw(self) -> Vec<u8> {
        match self.0 {
            // CRCs travel big-endian, as S3 (and s3s) encode them.
            Inner::Crc32(d) => (d.finalize() as u32).to_be_bytes().to_vec(),
            Inner::Crc64(d) => d.finalize().to_be_bytes().to_vec(),
            Inner::Sha1(h) => h.finalize().to_vec(),
            Inner::Sha256(h) => h.finalize().to_vec(),
        }
    }

    /// The checksum, base64 (S3's wire form).
    pub fn finalize(self) -> String {
        BASE64.encode(self.finalize_raw())
    }
}

/// A part's checksum: its algorithm and base64 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartChecksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The base64 value.
    pub value: String,
}

/// The composite checksum of an object from its parts' checksums (base64,
/// in order): the checksum of their concatenated bytes, base64, then
/// `-<number of parts>`.
///
/// # Errors
/// `Internal` for a stored part checksum that is not base64 (never written
/// by this code: part checksums are computed by the server).
pub fn composite_checksum(algorithm: ChecksumAlgorithm, parts: &[&str]) -> CoreResult<String> {
    let mut concatenated = Vec::with_capacity(parts.len() * 32);
    for value in parts {
        let raw = BASE64.decode(value.trim()).map_err(|_| {
            CoreError::internal_msg(format!("a stored part checksum is not base64: {value:?}"))
        })?;
        concatenated.extend_from_slice(&raw);
    }
    Ok(format!(
        "{}-{}",
        BASE64.encode(algorithm.digest(&concatenated)),
        parts.len()
    ))
}

/// The CRC (`algorithm`: CRC32, CRC32C or CRC64NVME) of the concatenation
/// of parts whose own CRCs (base64, as S3 sends them) and lengths are
/// `parts`, in order, combined without their bytes (`crc_fast`'s
/// `checksum_combine`, as S3 computes a `FULL_OBJECT` checksum of a
/// multipart upload); base64.
///
/// # Errors
/// `Internal` for another algorithm, or a stored CRC that is not the
/// base64 of one (never written by this code).
pub fn combine_crcs(algorithm: ChecksumAlgorithm, parts: &[(&str, u64)]) -> CoreResult<String> {
    let (crc_algorithm, width) = match algorithm {
        ChecksumAlgorithm::Crc32 => (crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4),
        ChecksumAlgorithm::Crc32c => (crc_fast::CrcAlgorithm::Crc32Iscsi, 4),
        ChecksumAlgorithm::Crc64Nvme => (crc_fast::CrcAlgorithm::Crc64Nvme, 8),
        other => {
            return Err(CoreError::internal_msg(format!(
                "{other} checksums cannot be combined"
            )));
        }
    };
    let mut combined: Option<u64> = None;
    for (value, len) in parts {
        // An empty part adds nothing (and its CRC is the empty input's).
        if *len == 0 {
            continue;
        }
        let raw = BASE64
            .decode(value.trim())
            .ok()
            .filter(|r| r.len() == width);
        let Some(raw) = raw else {
            return Err(CoreError::internal_msg(format!(
                "a stored part {algorithm} is not the base64 of one: {value:?}"
            )));
        };
        let crc = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        combined = Some(match combined {
            None => crc,
            Some(acc) => crc_fast::checksum_combine(crc_algorithm, acc, crc, *len),
        });
    }
    let Some(crc) = combined else {
        return Ok(algorithm.hasher().finalize());
    };
    // Big-endian, the width of the CRC, as S3 encodes them.
    Ok(BASE64.encode(&crc.to_be_bytes()[8 - width..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_hash_like_s3() {
        // Known values of "hello world" (the same as s3s and the AWS SDKs).
        let cases = [
            (ChecksumAlgorithm::Crc64Nvme, "jSnVw/bqjr4="),
            (ChecksumAlgorithm::Crc32, "DUoRhQ=="),
            (ChecksumAlgorithm::Crc32c, "yZRlqg=="),
            (ChecksumAlgorithm::Sha1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
            (
                ChecksumAlgorithm::Sha256,
                "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
            ),
        ];
        for (algorithm, want) in cases {
            let mut h = algorithm.hasher();
            h.update(b"hello ");
            h.update(b"world");
            assert_eq!(h.finalize(), want, "{algorithm}");
        }
    }

    #[test]
    fn names_parse_in_any_case() {
        for a in ALL {
            assert_eq!(ChecksumAlgorithm::parse(a.name()), Some(a));
            assert_eq!(ChecksumAlgorithm::parse(&a.name().to_lowercase()), Some(a));
        }
        assert_eq!(ChecksumAlgorithm::parse("MD5"), None);
        assert!(!ChecksumAlgorithm::Crc64Nvme.supports_composite());
        assert!(ChecksumAlgorithm::Crc64Nvme.supports_full_object());
        assert!(!ChecksumAlgorithm::Sha256.supports_full_object());
    }

    #[test]
    fn composite_is_the_checksum_of_the_part_checksums() {
        let a = ChecksumAlgorithm::Sha256;
        let p1 = {
            let mut h = a.hasher();
            h.update(b"part one");
            h.finalize()
        };
        let p2 = {
            let mut h = a.hasher();
            h.update(b"part two");
            h.finalize()
        };
        let mut both = BASE64.decode(&p1).expect("base64");
        both.extend(BASE64.decode(&p2).expect("base64"));
        let want = format!("{}-2", BASE64.encode(a.digest(&both)));
        assert_eq!(composite_checksum(a, &[&p1, &p2]).expect("valid"), want);
        assert!(composite_checksum(a, &["not base64!"]).is_err());
    }

    #[test]
    fn combined_crcs_are_the_crc_of_the_concatenation() {
        let data = b"the quick brown fox jumps over the lazy dog, twice over";
        let sum = |a: ChecksumAlgorithm, bytes: &[u8]| {
            let mut h = a.hasher();
            h.update(bytes);
            h.finalize()
        };
        for a in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let (p1, rest) = data.split_at(10);
            let (p2, p3) = rest.split_at(0);
            let (s1, s2, s3) = (sum(a, p1), sum(a, p2), sum(a, p3));
            let parts = [
                (s1.as_str(), p1.len() as u64),
                (s2.as_str(), 0),
                (s3.as_str(), p3.len() as u64),
            ];
            assert_eq!(combine_crcs(a, &parts).expect("valid"), sum(a, data), "{a}");
            assert_eq!(
                combine_crcs(a, &[(s2.as_str(), 0)]).expect("valid"),
                sum(a, b"")
            );
        }
        assert!(combine_crcs(ChecksumAlgorithm::Sha256, &[]).is_err());
        assert!(combine_crcs(ChecksumAlgorithm::Crc32, &[("AAAAAAAAAAA=", 3)]).is_err());
    }
}
