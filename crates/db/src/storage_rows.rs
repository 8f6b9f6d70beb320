//! Encodings shared by both storage repositories.

use miniaws_core::identity::UserId;
use miniaws_core::multipart::{ChecksumAlgorithm, PartChecksum};
use miniaws_core::storage::{
    BucketName, CorsConfiguration, ETag, LifecycleConfiguration, LockMode, ObjectKey, ObjectLock,
    ObjectMeta, ObjectPart, PublicAccessBlock, Retention, Tags, WebsiteConfiguration,
    WriteCondition, object_arn,
};
use miniaws_core::{CoreError, CoreResult, Resource};
use std::collections::BTreeMap;

/// The columns every object query selects, in this order.
pub(crate) const OBJECT_COLUMNS: &str = "id, bucket, key, blob_id, size_bytes, etag, content_type, user_metadata, headers, created_at, parts, tags, versioned, lock_mode, lock_until, legal_hold";

/// `lookup_bucket`'s select list over `buckets b`: the bucket's columns
/// renamed `b_*` (`created_at` is in `objects` too, which `lookup_object`
/// joins).
pub(crate) const BUCKET_LOOKUP_COLUMNS: &str = "b.name AS b_name, b.owner_id AS b_owner_id, b.created_at AS b_created_at, \
     b.policy AS b_policy, b.lifecycle AS b_lifecycle, b.versioning AS b_versioning, \
     b.object_lock AS b_object_lock";

/// `lookup_object`'s select list: [`BUCKET_LOOKUP_COLUMNS`] and
/// [`OBJECT_COLUMNS`] of the joined object `o`, which keep their names.
pub(crate) const BUCKET_AND_OBJECT_COLUMNS: &str = "b.name AS b_name, b.owner_id AS b_owner_id, b.created_at AS b_created_at, \
     b.policy AS b_policy, b.lifecycle AS b_lifecycle, b.versioning AS b_versioning, \
     b.object_lock AS b_object_lock, \
     o.id, o.bucket, o.key, o.blob_id, o.size_bytes, o.etag, o.content_type, o.user_metadata, o.headers, o.created_at, o.parts, o.tags, o.versioned, \
     o.lock_mode, o.lock_until, o.legal_hold";

/// The seed's `arn` column, stored injectively: Postgres TEXT cannot hold
/// NUL, so `%` and NUL are percent-escaped (the domain's
/// [`object_arn`] stays the real one).
pub(crate) fn stored_arn(owner: UserId, bucket: &BucketName, key: &ObjectKey) -> String {
    object_arn(owner, bucket, key)
        .replace('%', "%25")
        .replace('\0', "%00")
}

/// The error of a write that wrote nothing, from what the database holds
/// now: whether `owner` owns the bucket, and the key's current ETag.
pub(crate) fn refusal_error(
    owned: bool,
    current: Option<String>,
    meta: &ObjectMeta,
    condition: &WriteCondition,
) -> CoreError {
    // An unconditional write is refused only for the bucket.
    if !owned || *condition == WriteCondition::Always {
        return CoreError::not_found(Resource::Bucket, meta.bucket.as_str());
    }
    let current = current.map(ETag::from_stored);
    match condition.check(meta.bucket.as_str(), meta.key.as_str(), current.as_ref()) {
        Err(refused) => refused,
        // The key changed again since the write was refused.
        Ok(()) => CoreError::PreconditionFailed(format!(
            "At least one of the pre-conditions you specified did not hold: {}/{} changed while the write committed",
            meta.bucket, meta.key
        )),
    }
}

/// A version's lock from its stored columns (`lock_mode`, `lock_until`,
/// `legal_hold`, NULL when no hold was ever put on the version). A mode
/// without a date (or the reverse) cannot be written; read, it is no
/// retention. An unknown mode reads as COMPLIANCE: never less protection
/// than was stored.
pub(crate) fn stored_lock(
    mode: Option<&str>,
    until: Option<time::OffsetDateTime>,
    legal_hold: Option<bool>,
) -> ObjectLock {
    let retention = match (mode, until) {
        (Some(mode), Some(retain_until)) => Some(Retention {
            mode: LockMode::parse(mode).unwrap_or(LockMode::Compliance),
            retain_until,
        }),
        _ => None,
    };
    ObjectLock {
        retention,
        legal_hold,
    }
}

/// A string map as a JSON object.
pub(crate) fn map_to_json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
}

/// A JSON object column back to a map.
pub(crate) fn json_to_map(json: &str) -> Result<BTreeMap<String, String>, sqlx::Error> {
    // Most objects carry no metadata: skip the parser for them (a listing
    // decodes two maps per row).
    if json == "{}" {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The storage class in a `headers` column (the JSON of [`json_to_map`]),
/// read without building the map: a listing reads it for every object
/// whose headers name one.
pub(crate) fn stored_storage_class(headers: Option<&str>) -> Result<Option<String>, sqlx::Error> {
    /// The one header a listing shows; the others are skipped unread.
    #[derive(serde::Deserialize)]
    struct Class {
        // `STORAGE_CLASS_HEADER` (serde wants a literal).
        #[serde(rename = "x-amz-storage-class")]
        class: Option<String>,
    }
    match headers {
        None => Ok(None),
        Some(json) => serde_json::from_str::<Class>(json)
            .map(|c| c.class)
            .map_err(|e| sqlx::Error::Decode(Box::new(e))),
    }
}
const _: () = assert!(matches!(
    miniaws_core::storage::STORAGE_CLASS_HEADER.as_bytes(),
    b"x-amz-storage-class"
));

/// A key column (bytes) back to a key.
pub(crate) fn decode_key(bytes: Vec<u8>) -> Result<ObjectKey, sqlx::Error> {
    let s = String::from_utf8(bytes).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    ObjectKey::from_string(s).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// A bucket column back to a name.
pub(crate) fn decode_bucket(name: &str) -> Result<BucketName, sqlx::Error> {
    BucketName::parse(name).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// A multipart object's parts as the `parts` column (migration 0009)
/// stores them: a JSON array, or NULL for an object written in one piece.
pub(crate) fn parts_to_json(parts: &[ObjectPart]) -> Option<String> {
    if parts.is_empty() {
        return None;
    }
    serde_json::to_string(parts).ok()
}

/// The `parts` column back to parts.
pub(crate) fn json_to_parts(json: Option<&str>) -> Result<Vec<ObjectPart>, sqlx::Error> {
    match json {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e))),
    }
}

/// Tags as the `tags` column (migration 0010) stores them: a JSON array of
/// `[key, value]` pairs, in order.
pub(crate) fn tags_to_json(tags: &Tags) -> String {
    if tags.is_empty() {
        return "[]".to_owned();
    }
    serde_json::to_string(tags.as_pairs()).unwrap_or_else(|_| "[]".to_owned())
}

/// The `tags` column back to tags (validated again: a row that breaks the
/// rules is a decode error, not a tag set S3 would refuse).
pub(crate) fn json_to_tags(json: &str) -> Result<Tags, sqlx::Error> {
    // Most objects carry no tags: skip the parser for them.
    if json == "[]" {
        return Ok(Tags::default());
    }
    let pairs: Vec<(String, String)> =
        serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Tags::new(pairs).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// A bucket's tag set as the `buckets.tags` column (migration 0013)
/// stores it: the JSON of [`tags_to_json`], or NULL for none.
pub(crate) fn bucket_tags_to_json(tags: &Tags) -> Option<String> {
    (!tags.is_empty()).then(|| tags_to_json(tags))
}

/// The `buckets.tags` column back to tags (validated again under the
/// bucket rules: a row that breaks them is a decode error).
pub(crate) fn json_to_bucket_tags(json: Option<&str>) -> Result<Tags, sqlx::Error> {
    let Some(json) = json else {
        return Ok(Tags::default());
    };
    let pairs: Vec<(String, String)> =
        serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Tags::for_bucket(pairs).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// A checksum algorithm column (its S3 name) back to the algorithm.
pub(crate) fn decode_algorithm(
    name: Option<String>,
) -> Result<Option<ChecksumAlgorithm>, sqlx::Error> {
    name.map(|n| {
        ChecksumAlgorithm::parse(&n)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown checksum algorithm {n:?}").into()))
    })
    .transpose()
}

/// A part's checksum columns back to its checksum.
pub(crate) fn decode_part_checksum(
    algorithm: Option<String>,
    value: Option<String>,
) -> Result<Option<PartChecksum>, sqlx::Error> {
    Ok(match (decode_algorithm(algorithm)?, value) {
        (Some(algorithm), Some(value)) => Some(PartChecksum { algorithm, value }),
        _ => None,
    })
}

/// A CORS configuration as the `cors` column (migration 0011) stores it:
/// JSON, or NULL for none.
pub(crate) fn cors_to_json(cors: Option<&CorsConfiguration>) -> Option<String> {
    cors.and_then(|c| serde_json::to_string(c).ok())
}

/// The `cors` column back to a configuration (validated again: a row that
/// breaks the rules is a decode error).
pub(crate) fn json_to_cors(json: Option<&str>) -> Result<Option<CorsConfiguration>, sqlx::Error> {
    let Some(json) = json else {
        return Ok(None);
    };
    let stored: CorsConfiguration =
        serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    CorsConfiguration::new(stored.rules().to_vec())
        .map(Some)
        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// A website configuration as the `website` column (migration 0018)
/// stores it: JSON, or NULL for none.
pub(crate) fn website_to_json(website: Option<&WebsiteConfiguration>) -> Option<String> {
    website.and_then(|w| serde_json::to_string(w).ok())
}

/// The `website` column back to a configuration.
pub(crate) fn json_to_website(
    json: Option<&str>,
) -> Result<Option<WebsiteConfiguration>, sqlx::Error> {
    json.map(|j| serde_json::from_str(j).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// Block Public Access settings as the `public_access_block` column
/// (migration 0012) stores them: JSON, or NULL once deleted.
pub(crate) fn access_block_to_json(block: Option<&PublicAccessBlock>) -> Option<String> {
    block.and_then(|b| serde_json::to_string(b).ok())
}

/// The `public_access_block` column back to the settings.
pub(crate) fn json_to_access_block(
    json: Option<&str>,
) -> Result<Option<PublicAccessBlock>, sqlx::Error> {
    json.map(|j| serde_json::from_str(j).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// A lifecycle configuration as the `lifecycle` column (migration 0014)
/// stores it: JSON, or NULL for none.
pub(crate) fn lifecycle_to_json(lifecycle: Option<&LifecycleConfiguration>) -> Option<String> {
    lifecycle.and_then(|c| serde_json::to_string(c).ok())
}

/// The `lifecycle` column of bucket `bucket` for the lifecycle sweep:
/// `None` when it does not decode (a row damaged or written by another
/// version), so that the sweep skips that bucket alone. The log names the
/// bucket and where the text stops making sense, never the text itself.
pub(crate) fn stored_lifecycle(
    bucket: &BucketName,
    json: Option<&str>,
) -> Option<LifecycleConfiguration> {
    match serde_json::from_str(json?) {
        Ok(lifecycle) => Some(lifecycle),
        Err(e) => {
            tracing::debug!(
                bucket = %bucket,
                category = ?e.classify(),
                line = e.line(),
                column = e.column(),
                "a stored lifecycle configuration does not decode"
            );
            None
        }
    }
}

/// The `lifecycle` column of bucket `bucket` back to a configuration, for
/// GetBucketLifecycleConfiguration. One that no longer decodes is
/// `Damaged`: a 500 whose message names the bucket, where the decoding
/// failed and what to do — never what is stored (serde's own message may
/// quote it) — logged once where it is answered.
pub(crate) fn json_to_lifecycle(
    bucket: &BucketName,
    json: Option<&str>,
) -> CoreResult<Option<LifecycleConfiguration>> {
    let Some(json) = json else {
        return Ok(None);
    };
    serde_json::from_str(json).map(Some).map_err(|e| {
        CoreError::Damaged(format!(
            "The stored lifecycle configuration of bucket {bucket} cannot be read ({:?} error at line {}, column {}): it was edited by hand or written by another version of Mini AWS, and no rule of it is enforced. Put a new configuration, or delete it.",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// A bucket setting kept as one JSON (or text) column of `buckets`, read
/// with one `SELECT … WHERE name` and set by its owner with one `UPDATE …
/// WHERE name AND owner_id` on both backends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BucketSetting {
    Policy,
    PublicAccessBlock,
    Cors,
    Tags,
    Lifecycle,
    Versioning,
    Website,
}

impl BucketSetting {
    /// Its column (a constant of ours, so safe to put in the SQL text).
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::Policy => "policy",
            Self::PublicAccessBlock => "public_access_block",
            Self::Cors => "cors",
            Self::Tags => "tags",
            Self::Lifecycle => "lifecycle",
            Self::Versioning => "versioning",
            Self::Website => "website",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_joined_select_names_every_object_column() {
        let joined: Vec<&str> = BUCKET_AND_OBJECT_COLUMNS
            .split(',')
            .map(str::trim)
            .filter_map(|c| c.strip_prefix("o."))
            .collect();
        let plain: Vec<&str> = OBJECT_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(joined, plain);
        assert!(BUCKET_AND_OBJECT_COLUMNS.starts_with(BUCKET_LOOKUP_COLUMNS));
    }
}
