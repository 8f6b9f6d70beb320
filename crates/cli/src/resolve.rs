//! Finding one resource by id, unique id prefix or name, the way `docker`
//! and `gh` let users type as little as is unambiguous.

use crate::error::user;

/// How a resource is named in messages and listed.
pub struct Kind {
    /// `"instance"`, `"API key"`, …
    pub singular: &'static str,
    /// The command that lists them, for the hint.
    pub list_command: &'static str,
}

/// The item whose id is `wanted`, else whose name is `wanted`, else whose id
/// starts with `wanted` (if exactly one does).
///
/// # Errors
/// A one-line message when nothing or more than one item matches.
pub fn resolve<'a, T>(
    items: &'a [T],
    wanted: &str,
    kind: &Kind,
    id: impl Fn(&T) -> String,
    name: impl Fn(&T) -> Option<&str>,
) -> anyhow::Result<&'a T> {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return Err(user(format!(
            "give the {}'s id, id prefix or name",
            kind.singular
        )));
    }
    let lower = wanted.to_ascii_lowercase();
    if let Some(item) = items.iter().find(|i| id(i) == lower) {
        return Ok(item);
    }
    let by_name: Vec<&T> = items.iter().filter(|i| name(i) == Some(wanted)).collect();
    if let [one] = by_name.as_slice() {
        return Ok(one);
    }
    let by_prefix: Vec<&T> = items.iter().filter(|i| id(i).starts_with(&lower)).collect();
    match (by_name.len(), by_prefix.as_slice()) {
        (0, [one]) => Ok(one),
        (0, []) => Err(user(format!(
            "no {} with id, id prefix or name {wanted:?}: see `{}`",
            kind.singular, kind.list_command
        ))),
        (n, many) => Err(user(format!(
            "{wanted:?} matches {} {}s: give more characters of the id",
            n.max(many.len()),
            kind.singular
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = Kind {
        singular: "instance",
        list_command: "cloud compute list",
    };

    #[test]
    fn by_id_name_or_unique_prefix() {
        let items = [
            ("aaaa1111", Some("web")),
            ("aaaa2222", Some("db")),
            ("bbbb3333", Some("aaaa")),
            ("cccc4444", None),
        ];
        let cases: &[(&str, Option<&str>)] = &[
            ("aaaa1111", Some("aaaa1111")),
            ("web", Some("aaaa1111")),
            ("aaaa2", Some("aaaa2222")),
            ("AAAA2", Some("aaaa2222")),
            ("aaaa", Some("bbbb3333")), // a name beats an id prefix
            ("aa", None),               // ambiguous prefix
            ("c", Some("cccc4444")),
            ("zzz", None),
            ("", None),
        ];
        for (wanted, want) in cases {
            let got = resolve(&items, wanted, &KIND, |i| i.0.to_owned(), |i| i.1)
                .ok()
                .map(|i| i.0);
            assert_eq!(got, *want, "case {wanted:?}");
        }
        let err = resolve(&items, "aa", &KIND, |i| i.0.to_owned(), |i| i.1)
            .expect_err("ambiguous")
            .to_string();
        assert!(err.contains("matches 2 instances"), "{err}");
        let err = resolve(&items, "zzz", &KIND, |i| i.0.to_owned(), |i| i.1)
            .expect_err("missing")
            .to_string();
        assert!(err.contains("cloud compute list"), "{err}");
    }
}
