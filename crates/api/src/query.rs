//! A request's query parameters, decoded as s3s decodes them
//! (`application/x-www-form-urlencoded`: percent escapes, and `+` as a
//! space).
//!
//! Every check made before s3s sees a request reads the query through
//! here: a check that compared the raw text would miss a name or value
//! written with an escape (`respons%65-content-type`, `X-Amz-Expire%73`)
//! that s3s decodes and honours.

use std::borrow::Cow;

/// The query's pairs, names and values decoded, in the order written.
pub fn pairs(query: Option<&str>) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
}

/// The query's parameter names, decoded.
pub fn names(query: Option<&str>) -> impl Iterator<Item = Cow<'_, str>> {
    pairs(query).map(|(name, _)| name)
}

/// Whether the query has a parameter `name` (with or without a value).
pub fn has(query: Option<&str>, name: &str) -> bool {
    names(query).any(|n| n == name)
}

/// The values of every parameter `name`, decoded, in the order written.
pub fn values<'a>(query: Option<&'a str>, name: &'a str) -> impl Iterator<Item = Cow<'a, str>> {
    pairs(query).filter(move |(n, _)| n == name).map(|(_, v)| v)
}

/// Whether `raw`, a name as written in a query, decodes to `name`;
/// allocates only for a name written with an escape or a `+`.
pub fn raw_name_is(raw: &str, name: &str) -> bool {
    if raw.contains(['%', '+']) {
        names(Some(raw))
            .next()
            .is_some_and(|decoded| decoded == name)
    } else {
        raw == name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_decoded_as_s3s_decodes_them() {
        let q = Some("respons%65-content-type=text%2Fhtml&X-Amz-Expire%73=%36%30&a+b=c+d&flag");
        assert!(has(q, "response-content-type"));
        assert!(has(q, "flag"));
        assert!(!has(q, "respons%65-content-type"));
        assert_eq!(values(q, "X-Amz-Expires").collect::<Vec<_>>(), ["60"]);
        assert_eq!(values(q, "a b").collect::<Vec<_>>(), ["c d"]);
        assert_eq!(
            values(q, "response-content-type").collect::<Vec<_>>(),
            ["text/html"]
        );
        assert_eq!(names(None).count(), 0);
        assert!(raw_name_is("X-Amz-Credentia%6C", "X-Amz-Credential"));
        assert!(raw_name_is("X-Amz-Credential", "X-Amz-Credential"));
        assert!(raw_name_is("a+b", "a b"));
        assert!(!raw_name_is("X-Amz-Credentials", "X-Amz-Credential"));
    }
}
