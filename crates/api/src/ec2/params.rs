//! The parameters of an EC2 Query request: `application/x-www-form-urlencoded`
//! pairs from the body of a POST (or the query of a GET), with EC2's
//! numbered lists (`InstanceId.1`, `Filter.1.Value.2`).

use std::collections::{BTreeMap, BTreeSet};

use super::error::Ec2Error;

/// Decodes one form component strictly: `+` is a space, `%XX` a byte, and
/// the result must be UTF-8. `form_urlencoded` (url's) would pass a stray
/// `%` or invalid UTF-8 through lossily; a malformed form gets a clear
/// refusal instead.
fn decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(b) = hex else {
                    return Err(format!(
                        "`{raw}` has a `%` that is not followed by two hex digits"
                    ));
                };
                out.push(b);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("`{raw}` does not decode to UTF-8"))
}

/// A request's parameters, by name (EC2's names are case-sensitive).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    /// Parses a form (or a query string). A name given twice, or a
    /// malformed escape, is refused.
    ///
    /// # Errors
    /// `MalformedQueryString` naming the problem.
    pub fn parse(form: &str) -> Result<Self, Ec2Error> {
        let mut map = BTreeMap::new();
        for pair in form.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k).map_err(Ec2Error::malformed_form)?;
            let v = decode(v).map_err(Ec2Error::malformed_form)?;
            if map.insert(k.clone(), v).is_some() {
                return Err(Ec2Error::malformed_form(format!(
                    "the parameter {k} is given more than once"
                )));
            }
        }
        Ok(Self { map })
    }

    /// Adds the pairs of `other` (the query of a POST); a name in both is
    /// refused.
    ///
    /// # Errors
    /// `MalformedQueryString`.
    pub fn merge(&mut self, other: Params) -> Result<(), Ec2Error> {
        for (k, v) in other.map {
            if self.map.insert(k.clone(), v).is_some() {
                return Err(Ec2Error::malformed_form(format!(
                    "the parameter {k} is given more than once"
                )));
            }
        }
        Ok(())
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The value of `name`.
    ///
    /// # Errors
    /// `MissingParameter` naming it.
    pub fn required(&self, name: &str) -> Result<&str, Ec2Error> {
        self.get(name).ok_or_else(|| Ec2Error::missing(name))
    }

    /// An integer parameter.
    ///
    /// # Errors
    /// `InvalidParameterValue` when it is not one.
    pub fn int(&self, name: &str) -> Result<Option<i64>, Ec2Error> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    Ec2Error::invalid_value(format!(
                        "Value ({v}) for parameter {name} is invalid. Expected an integer."
                    ))
                })
            })
            .transpose()
    }

    /// A boolean parameter (`true`/`false`).
    ///
    /// # Errors
    /// `InvalidParameterValue` when it is neither.
    pub fn bool(&self, name: &str) -> Result<bool, Ec2Error> {
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(Ec2Error::invalid_value(format!(
                "Value ({v}) for parameter {name} is invalid. Expected true or false."
            ))),
        }
    }

    /// The members of a list `prefix.1`, `prefix.2`, … in index order.
    ///
    /// # Errors
    /// `InvalidParameterValue` for an index that is not a positive number.
    pub fn list(&self, prefix: &str) -> Result<Vec<&str>, Ec2Error> {
        let mut out: BTreeMap<u32, &str> = BTreeMap::new();
        let dotted = format!("{prefix}.");
        for (k, v) in self.map.range(dotted.clone()..) {
            let Some(rest) = k.strip_prefix(&dotted) else {
                break;
            };
            if rest.contains('.') {
                continue;
            }
            out.insert(index(k, rest)?, v);
        }
        Ok(out.into_values().collect())
    }

    /// The indexes `n` of the entries `prefix.n.…` (structured lists such
    /// as `Filter.1.Name`), in order.
    ///
    /// # Errors
    /// `InvalidParameterValue` for an index that is not a positive number.
    pub fn indexes(&self, prefix: &str) -> Result<Vec<String>, Ec2Error> {
        let mut out = BTreeSet::new();
        let dotted = format!("{prefix}.");
        for k in self.map.keys() {
            if let Some(rest) = k.strip_prefix(&dotted)
                && let Some((n, _)) = rest.split_once('.')
            {
                out.insert((index(k, n)?, format!("{dotted}{n}")));
            }
        }
        Ok(out.into_iter().map(|(_, p)| p).collect())
    }

    /// The parameters but `name`, as one canonical string (to compare
    /// two requests).
    pub fn without(&self, name: &str) -> String {
        self.map
            .iter()
            .filter(|(k, _)| *k != name)
            .map(|(k, v)| format!("{}={}", k.len(), k) + &format!("{}:{v}", v.len()))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Refuses any parameter that `accepted` does not admit: one EC2 has
    /// but Mini AWS cannot honour would otherwise be ignored silently.
    ///
    /// # Errors
    /// `UnsupportedOperation` naming the first such parameter.
    pub fn only(&self, accepted: impl Fn(&str) -> bool) -> Result<(), Ec2Error> {
        match self
            .map
            .keys()
            .find(|k| !matches!(k.as_str(), "Action" | "Version") && !accepted(k))
        {
            Some(k) => Err(Ec2Error::unsupported(format!(
                "The parameter {k} is not supported by Mini AWS's EC2 API; leave it out (see \
                 the README's EC2-compatible endpoint section for what is supported)"
            ))),
            None => Ok(()),
        }
    }
}

/// The index `n` of list member `name`: digits only, from 1, without
/// leading zeros (`InstanceId.01` beside `InstanceId.1` would be one
/// member given twice, and one of them dropped).
fn index(name: &str, n: &str) -> Result<u32, Ec2Error> {
    Some(n)
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or_else(|| {
            Ec2Error::invalid_value(format!(
                "The parameter {name} has an invalid index: list indexes are numbers from 1, without leading zeros"
            ))
        })
}

/// Whether `name` is `prefix.N` or `prefix.N.<rest>` for a numeric `N`
/// and a `rest` that `tail` admits (`None`: no rest allowed).
pub fn numbered(name: &str, prefix: &str, tail: Option<&dyn Fn(&str) -> bool>) -> bool {
    let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let (n, rest) = match rest.split_once('.') {
        Some((n, rest)) => (n, Some(rest)),
        None => (rest, None),
    };
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match (rest, tail) {
        (None, None) => true,
        (Some(rest), Some(tail)) => tail(rest),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_strictly() {
        let p = Params::parse(
            "Action=RunInstances&ImageId=miniaws-test%2Fbusybox%3Alatest&Tag=a+b&Empty=&Bare",
        )
        .unwrap();
        assert_eq!(p.get("ImageId"), Some("miniaws-test/busybox:latest"));
        assert_eq!(p.get("Tag"), Some("a b"));
        assert_eq!(p.get("Empty"), Some(""));
        assert_eq!(p.get("Bare"), Some(""));
        for bad in ["A=%zz", "A=%4", "A=%ff%fe", "A=1&A=2"] {
            let err = Params::parse(bad).unwrap_err();
            assert_eq!(err.code, "MalformedQueryString", "{bad}");
        }
    }

    #[test]
    fn numbered_lists_come_in_index_order() {
        let p = Params::parse(
            "InstanceId.10=c&InstanceId.2=b&InstanceId.1=a&Filter.2.Name=x&Filter.1.Name=y&Filter.1.Value.1=v",
        )
        .unwrap();
        assert_eq!(p.list("InstanceId").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(p.list("Filter.1.Value").unwrap(), vec!["v"]);
        assert_eq!(p.indexes("Filter").unwrap(), vec!["Filter.1", "Filter.2"]);
        assert!(
            Params::parse("InstanceId.x=a")
                .unwrap()
                .list("InstanceId")
                .is_err()
        );
        for bad in [
            "InstanceId.0=a",
            "InstanceId.1=a&InstanceId.01=b",
            "InstanceId.+1=a",
        ] {
            assert!(
                Params::parse(bad).unwrap().list("InstanceId").is_err(),
                "{bad}"
            );
        }
        assert!(
            Params::parse("Filter.1.Name=a&Filter.01.Name=b")
                .unwrap()
                .indexes("Filter")
                .is_err()
        );
        assert!(numbered("InstanceId.3", "InstanceId", None));
        assert!(!numbered("InstanceId.3.X", "InstanceId", None));
        assert!(!numbered("InstanceIdX.3", "InstanceId", None));
        assert!(numbered(
            "Filter.1.Value.2",
            "Filter",
            Some(&|r: &str| numbered(r, "Value", None))
        ));
    }

    #[test]
    fn unknown_parameters_are_named() {
        let p = Params::parse("Action=X&Version=1&ImageId=a&UserData=eA==").unwrap();
        let err = p.only(|k| k == "ImageId").unwrap_err();
        assert_eq!(err.code, "UnsupportedOperation");
        assert!(err.message.contains("UserData"), "{}", err.message);
        assert!(p.only(|k| k == "ImageId" || k == "UserData").is_ok());
        assert_eq!(
            Params::parse("A=1")
                .unwrap()
                .required("B")
                .unwrap_err()
                .code,
            "MissingParameter"
        );
    }
}
