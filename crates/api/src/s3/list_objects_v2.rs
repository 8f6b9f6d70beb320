//! ListObjectsV2: prefix, delimiter, max-keys, continuation-token,
//! start-after, fetch-owner, encoding-type=url; keys in byte order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::{ListObjectsV2Input, ListObjectsV2Output};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::list_objects::{Lister, Listing, list};
use super::{MiniS3, reader};

/// The continuation token of a page: the opaque form of its last entry.
pub(super) fn token(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(after.as_bytes())
}

pub(super) fn untoken(token: &str) -> S3Result<String> {
    URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let reader = reader(&req)?;
    let input = req.input;
    let start_after = match &input.continuation_token {
        Some(t) => Some(untoken(t)?),
        None => input.start_after.clone().filter(|s| !s.is_empty()),
    };
    let url = super::convert::url_encoding(input.encoding_type.as_ref())?;
    let Listing {
        contents,
        common_prefixes,
        is_truncated,
        next_start_after,
        max_keys,
        enc,
    } = list(
        s3,
        Lister::Objects(reader),
        &input.bucket,
        input.prefix.clone(),
        input.delimiter.clone(),
        start_after,
        input.max_keys,
        input.fetch_owner.unwrap_or(false),
        url,
    )
    .await?;
    let key_count = i32::try_from(contents.len() + common_prefixes.len()).unwrap_or(i32::MAX);
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(enc(input.prefix.unwrap_or_default())),
        // An empty delimiter is none: S3 leaves the element out.
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(&enc),
        start_after: input.start_after.map(&enc),
        max_keys: Some(max_keys),
        key_count: Some(key_count),
        continuation_token: input.continuation_token,
        next_continuation_token: next_start_after.as_deref().map(token),
        is_truncated: Some(is_truncated),
        contents: Some(contents),
        common_prefixes: Some(common_prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_tokens_round_trip() {
        for key in ["a", "dir/sub/", "ünï cødé", "a+b=c/"] {
            assert_eq!(untoken(&token(key)).expect("round trip"), key);
        }
        assert!(untoken("!!!").is_err());
    }
}
