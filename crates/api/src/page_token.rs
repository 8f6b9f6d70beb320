//! The opaque `next_token` of the native lists ordered by `(created_at, id)`
//! (`GET /auth/keys`, `GET /instances`): a tag naming the list and the hex
//! of the last row's place, `<created_at as Unix nanoseconds>/<id>`. EC2's
//! DescribeTags, ordered by instance and key, keeps `<instance>\0<key>`;
//! DescribeImages, ordered by name, the name.
//!
//! The place is kept whole rather than looked up by id, so that a row
//! removed between two pages does not end the list there. A token is only
//! a position: the owner is always the caller, so one made up, or taken
//! from another user's page, lists the caller's own rows after that place
//! and nobody else's.

use time::OffsetDateTime;
use uuid::Uuid;

/// The token of the place `(created_at, id)` in the list tagged `tag`.
pub(crate) fn encode_place(tag: &str, created_at: OffsetDateTime, id: Uuid) -> String {
    let place = format!("{}/{}", created_at.unix_timestamp_nanos(), id);
    format!("{tag}{}", hex::encode(place))
}

/// The place a token of the list tagged `tag` holds; `None` for anything
/// else (another list's token, bad hex, not a time and an id).
pub(crate) fn decode_place(tag: &str, token: &str) -> Option<(OffsetDateTime, Uuid)> {
    let place = String::from_utf8(hex::decode(token.strip_prefix(tag)?).ok()?).ok()?;
    let (nanos, id) = place.split_once('/')?;
    let created_at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some((created_at, Uuid::try_parse(id).ok()?))
}

/// The token of the place `(resource, key)` in the list tagged `tag`
/// (EC2's DescribeTags, ordered by resource id then key). Neither part
/// holds a NUL (ids are `i-` and hex, tag keys have no control
/// characters), so NUL separates them.
pub(crate) fn encode_key(tag: &str, resource: &str, key: &str) -> String {
    format!("{tag}{}", hex::encode(format!("{resource}\0{key}")))
}

/// The token of the place `name` in the list tagged `tag` (EC2's
/// DescribeImages, ordered by name).
pub(crate) fn encode_name(tag: &str, name: &str) -> String {
    format!("{tag}{}", hex::encode(name))
}

/// The place a token of [`encode_name`] holds; `None` for anything else.
pub(crate) fn decode_name(tag: &str, token: &str) -> Option<String> {
    String::from_utf8(hex::decode(token.strip_prefix(tag)?).ok()?).ok()
}

/// The place a token of [`encode_key`] holds; `None` for anything else.
pub(crate) fn decode_key(tag: &str, token: &str) -> Option<(String, String)> {
    let place = String::from_utf8(hex::decode(token.strip_prefix(tag)?).ok()?).ok()?;
    let (resource, key) = place.split_once('\0')?;
    Some((resource.to_owned(), key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn places_round_trip_and_garbage_is_refused() {
        let at = datetime!(2026-11-29 09:45:52.123456 UTC);
        let id = Uuid::new_v4();
        assert_eq!(
            decode_place("k1.", &encode_place("k1.", at, id)),
            Some((at, id))
        );
        let hexed = |s: &str| format!("k1.{}", hex::encode(s));
        for bad in [
            String::new(),
            "k1.".to_owned(),
            "k1.zz".to_owned(),
            encode_place("i1.", at, id),
            "b1.616263".to_owned(),
            hexed("123"),
            hexed("abc/00000000-0000-0000-0000-000000000000"),
            hexed("1/not-a-uuid"),
            hexed("99999999999999999999999999999999/00000000-0000-0000-0000-000000000000"),
        ] {
            assert_eq!(decode_place("k1.", &bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_round_trip_and_garbage_is_refused() {
        let token = encode_key("t1.", "i-0123", "café ☕");
        assert_eq!(
            decode_key("t1.", &token),
            Some(("i-0123".to_owned(), "café ☕".to_owned()))
        );
        for bad in [
            "t1.zz".to_owned(),
            format!("t1.{}", hex::encode("no separator")),
            encode_key("k1.", "i-1", "k"),
        ] {
            assert_eq!(decode_key("t1.", &bad), None, "{bad:?}");
        }
    }
}
