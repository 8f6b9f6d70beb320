//! The contract between the Mini AWS native API and its clients.
//!
//! Every JSON body the native API sends or accepts is one of these types,
//! written once: `miniaws-api` builds them from the domain types of
//! `miniaws-core` and serialises them, `miniaws-client` (and through it the
//! `cloud` CLI, the tests and the benchmarks) deserialises them. The crate
//! sits outside the hexagon's core on purpose: it holds plain data (strings,
//! numbers, UUIDs, RFC 3339 times) and depends on nothing but serde, `time`
//! and `uuid`, so the wire format can neither leak domain rules nor change
//! when a domain type does.
//!
//! A renamed or reordered field is a breaking change for every client: the
//! API's unit tests pin the exact bytes of each type.

mod compute;
mod health;
mod identity;
mod storage;

pub use compute::{
    Command, ExecCommand, ExecEvent, ExecResult, Image, Instance, InstancePage, InstancePort,
    InstanceStats, InstanceType, LaunchInstance, MAX_EXEC_STDIN_BYTES, ModifyInstance, TagPatch,
    TtyControl, TtyEnd, UniqueKeys,
};
pub use health::Health;
pub use identity::{ApiKey, ApiKeyPage, CreateKeyRequest, CreatedKey, User, WhoAmI};
pub use storage::{
    BucketInfo, BucketPage, BucketVersioning, ObjectInfo, ObjectPage, ObjectTag, VersionInfo,
    VersionPage,
};

use serde::{Deserialize, Serialize};

/// A success answer: `{"data": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The answer.
    pub data: T,
}

/// A failure answer: `{"error": {"message": "…", "type": "…"}}`, sent with
/// the matching HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The inside of an [`ErrorEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What was wrong and what to do about it. (Before `type`: the body used
    /// to be a `serde_json` map, which orders keys alphabetically, and the
    /// bytes stay as they were.)
    pub message: String,
    /// The machine-readable kind, e.g. `NOT_FOUND` or `INVALID_INPUT`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_lists_may_be_absent_and_empty_problems_are_left_out() {
        let health: Health = serde_json::from_str(
            r#"{"status":"UP","database":"CONNECTED","docker":"DISABLED","version":"0.1.0","time":"2026-03-04T05:06:07Z"}"#,
        )
        .expect("health without problems");
        assert!(health.problems.is_empty());
        assert!(
            !serde_json::to_string(&health)
                .expect("serialises")
                .contains("problems")
        );

        let page: ObjectPage = serde_json::from_str(
            r#"{"objects":[{"bucket":"b","key":"k","arn":"a","size_bytes":1,"etag":"\"e\"","content_type":"text/plain","last_modified":"2026-03-04T05:06:07Z"}],"next_cursor":null}"#,
        )
        .expect("a page without prefixes, an object without metadata");
        assert!(page.common_prefixes.is_empty());
        assert!(page.objects[0].metadata.is_empty());
    }

    #[test]
    fn envelopes_and_secrets() {
        let error: ErrorEnvelope =
            serde_json::from_str(r#"{"error":{"type":"NOT_FOUND","message":"no such thing"}}"#)
                .expect("either key order");
        assert_eq!(error.error.kind, "NOT_FOUND");
        assert_eq!(
            serde_json::to_string(&error).expect("serialises"),
            r#"{"error":{"message":"no such thing","type":"NOT_FOUND"}}"#
        );
        let data: Envelope<Vec<u8>> = serde_json::from_str(r#"{"data":[1]}"#).expect("data");
        assert_eq!(data.data, [1]);

        let key = CreatedKey {
            id: uuid::Uuid::nil(),
            user_id: uuid::Uuid::nil(),
            name: "laptop".into(),
            key: "mk_secret".into(),
            access_key_id: "AKIA".into(),
            secret_access_key: "shh".into(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("mk_secret") && !shown.contains("shh"),
            "{shown}"
        );
    }
}
