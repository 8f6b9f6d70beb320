//! A bucket's CORS configuration (cross-origin resource sharing), validated
//! and matched as S3 does.
//!
//! The rules (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html>): at
//! most 100 rules; each names at least one origin and one method; methods
//! are GET, PUT, POST, DELETE and HEAD only; an allowed origin or allowed
//! header holds at most one `*` wildcard. A request is allowed by the
//! first rule whose origin pattern matches its `Origin` (exactly, with the
//! wildcard standing for any run of characters), whose methods include its
//! method and whose allowed headers cover each requested header (without
//! regard to ASCII case).

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

/// The most rules a bucket's CORS configuration may hold.
pub const MAX_CORS_RULES: usize = 100;

/// The methods a CORS rule may allow.
pub const CORS_METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// One rule of a [`CorsConfiguration`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    /// An optional name for the rule (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Origin patterns (`http://localhost:3000`, `https://*.example.com`, `*`).
    pub allowed_origins: Vec<String>,
    /// Methods, among [`CORS_METHODS`].
    pub allowed_methods: Vec<String>,
    /// Header-name patterns a preflight may ask for (`*` wildcards).
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Response headers a browser script may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache the preflight's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<i32>,
}

/// A bucket's CORS configuration: its rules, in order (the first match
/// wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsConfiguration {
    rules: Vec<CorsRule>,
}

impl CorsConfiguration {
    /// Validates `rules` as S3 does for PutBucketCors.
    ///
    /// # Errors
    /// `InvalidInput` (S3's `MalformedXML`) for no rules, or a rule without
    /// an origin or a method; `InvalidRequest` with S3's message for more
    /// than [`MAX_CORS_RULES`] rules, a method outside [`CORS_METHODS`],
    /// an origin or allowed header with more than one `*`, an expose
    /// header holding a control character or a negative `MaxAgeSeconds`.
    pub fn new(rules: Vec<CorsRule>) -> CoreResult<Self> {
        if rules.is_empty() {
            return Err(CoreError::invalid(
                "The XML you provided was not well-formed or did not validate against our published schema: a CORS configuration needs at least one CORSRule",
            ));
        }
        if rules.len() > MAX_CORS_RULES {
            return Err(CoreError::InvalidRequest(format!(
                "The number of CORS rules should not exceed allowed limit of {MAX_CORS_RULES} rules."
            )));
        }
        for rule in &rules {
            if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
                return Err(CoreError::invalid(
                    "The XML you provided was not well-formed or did not validate against our published schema: each CORSRule needs an AllowedOrigin and an AllowedMethod",
                ));
            }
            if let Some(m) = rule
                .allowed_methods
                .iter()
                .find(|m| !CORS_METHODS.contains(&m.as_str()))
            {
                return Err(CoreError::InvalidRequest(format!(
                    "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
                )));
            }
            if let Some(o) = rule
                .allowed_origins
                .iter()
                .find(|o| o.matches('*').count() > 1)
            {
                return Err(CoreError::InvalidRequest(format!(
                    "AllowedOrigin \"{o}\" can not have more than one wildcard."
                )));
            }
            if let Some(h) = rule
                .allowed_headers
                .iter()
                .find(|h| h.matches('*').count() > 1)
            {
                return Err(CoreError::InvalidRequest(format!(
                    "AllowedHeader \"{h}\" can not have more than one wildcard."
                )));
            }
            // Both go into the answers' headers: a value no header can
            // carry was silently left out of every answer.
            if rule
                .expose_headers
                .iter()
                .any(|h| h.chars().any(char::is_control))
            {
                return Err(CoreError::InvalidRequest(
                    "An ExposeHeader of a CORSRule must not hold control characters.".to_owned(),
                ));
            }
            if let Some(secs) = rule.max_age_seconds.filter(|s| *s < 0) {
                return Err(CoreError::InvalidRequest(format!(
                    "The MaxAgeSeconds of a CORSRule must not be negative ({secs} was given)."
                )));
            }
            if rule.id.as_ref().is_some_and(|id| id.chars().count() > 255) {
                return Err(CoreError::InvalidRequest(
                    "The ID of a CORSRule can be at most 255 characters long.".to_owned(),
                ));
            }
        }
        Ok(Self { rules })
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[CorsRule] {
        &self.rules
    }

    /// The first rule allowing a request from `origin` with `method` that
    /// asks for `headers` (a preflight's `Access-Control-Request-Headers`;
    /// none for an actual request).
    pub fn find_rule<H: AsRef<str>>(
        &self,
        origin: &str,
        method: &str,
        headers: &[H],
    ) -> Option<CorsMatch<'_>> {
        self.rules.iter().find_map(|rule| {
            let pattern = rule
                .allowed_origins
                .iter()
                .find(|p| wildcard_match(p, origin, false))?;
            let allowed = rule.allowed_methods.iter().any(|m| m == method)
                && headers.iter().all(|h| {
                    rule.allowed_headers
                        .iter()
                        .any(|p| wildcard_match(p, h.as_ref(), true))
                });
            allowed.then_some(CorsMatch {
                rule,
                any_origin: pattern == "*",
            })
        })
    }
}

/// The rule that allows a request, and how it allowed the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorsMatch<'a> {
    /// The rule.
    pub rule: &'a CorsRule,
    /// Whether the rule's first origin pattern that matched is the bare
    /// `*` (every origin), which S3 answers as
    /// `Access-Control-Allow-Origin: *` (without credentials).
    pub any_origin: bool,
}

/// Whether `value` matches `pattern`, in which one `*` stands for any run
/// of characters (patterns with more are refused by
/// [`CorsConfiguration::new`]; a second `*` here is literal).
fn wildcard_match(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let eq = |a: &str, b: &str| {
        if ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match pattern.split_once('*') {
        None => eq(pattern, value),
        Some((prefix, suffix)) => {
            value.len() >= prefix.len() + suffix.len()
                && value.is_char_boundary(prefix.len())
                && value.is_char_boundary(value.len() - suffix.len())
                && eq(&value[..prefix.len()], prefix)
                && eq(&value[value.len() - suffix.len()..], suffix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            allowed_methods: methods.iter().map(|s| (*s).to_owned()).collect(),
            allowed_headers: headers.iter().map(|s| (*s).to_owned()).collect(),
            ..CorsRule::default()
        }
    }

    #[test]
    fn validation_follows_s3() {
        let cases: Vec<(&str, Vec<CorsRule>, Option<&str>)> = vec![
            ("one simple rule", vec![rule(&["*"], &["GET"], &[])], None),
            (
                "all five methods, wildcards once each",
                vec![rule(
                    &["http://*.example.com"],
                    &["GET", "PUT", "POST", "DELETE", "HEAD"],
                    &["x-amz-*"],
                )],
                None,
            ),
            ("no rules", vec![], Some("at least one CORSRule")),
            (
                "too many rules",
                vec![rule(&["*"], &["GET"], &[]); 101],
                Some("should not exceed allowed limit of 100 rules"),
            ),
            (
                "an unsupported method",
                vec![rule(&["*"], &["GET", "PATCH"], &[])],
                Some("Found unsupported HTTP method in CORS config. Unsupported method is PATCH"),
            ),
            (
                "lowercase methods are not the methods",
                vec![rule(&["*"], &["get"], &[])],
                Some("Unsupported method is get"),
            ),
            (
                "two wildcards in an origin",
                vec![rule(&["http://*.*.com"], &["GET"], &[])],
                Some("AllowedOrigin \"http://*.*.com\" can not have more than one wildcard."),
            ),
            (
                "two wildcards in a header",
                vec![rule(&["*"], &["GET"], &["**"])],
                Some("AllowedHeader \"**\" can not have more than one wildcard."),
            ),
            (
                "an expose header with a line break",
                vec![CorsRule {
                    expose_headers: vec!["ETag".into(), "x-a\nb".into()],
                    ..rule(&["*"], &["GET"], &[])
                }],
                Some("An ExposeHeader of a CORSRule must not hold control characters."),
            ),
            (
                "a negative MaxAgeSeconds",
                vec![CorsRule {
                    max_age_seconds: Some(-5),
                    ..rule(&["*"], &["GET"], &[])
                }],
                Some("The MaxAgeSeconds of a CORSRule must not be negative (-5 was given)."),
            ),
            (
                "MaxAgeSeconds 0",
                vec![CorsRule {
                    max_age_seconds: Some(0),
                    ..rule(&["*"], &["GET"], &[])
                }],
                None,
            ),
            (
                "no origin",
                vec![rule(&[], &["GET"], &[])],
                Some("AllowedOrigin"),
            ),
            (
                "no method",
                vec![rule(&["*"], &[], &[])],
                Some("AllowedMethod"),
            ),
        ];
        for (what, rules, want) in cases {
            match (CorsConfiguration::new(rules), want) {
                (Ok(_), None) => {}
                (Err(e), Some(msg)) => {
                    assert!(e.to_string().contains(msg), "{what}: got `{e}`")
                }
                (got, want) => panic!("{what}: got {got:?}, want error {want:?}"),
            }
        }
        let e = CorsConfiguration::new(vec![rule(&["*"], &["TRACE"], &[])]).unwrap_err();
        assert!(matches!(e, CoreError::InvalidRequest(_)), "{e:?}");
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let config = CorsConfiguration::new(vec![
            rule(
                &["http://localhost:3000"],
                &["PUT", "POST"],
                &["content-type", "x-amz-*"],
            ),
            rule(&["http://*.example.com"], &["GET"], &[]),
            rule(&["*"], &["HEAD"], &["*"]),
        ])
        .expect("valid configuration");
        let none: [&str; 0] = [];
        // (what, origin, method, requested headers, index of the rule)
        type Case<'a> = (&'a str, &'a str, &'a str, Vec<&'a str>, Option<usize>);
        let cases: Vec<Case> = vec![
            (
                "exact origin and method",
                "http://localhost:3000",
                "PUT",
                vec![],
                Some(0),
            ),
            (
                "headers, case-insensitively, wildcard too",
                "http://localhost:3000",
                "PUT",
                vec!["Content-Type", "X-Amz-Date"],
                Some(0),
            ),
            (
                "a header not allowed",
                "http://localhost:3000",
                "PUT",
                vec!["authorization"],
                None,
            ),
            (
                "a method not allowed",
                "http://localhost:3000",
                "DELETE",
                vec![],
                None,
            ),
            (
                "origin compared exactly",
                "http://localhost:3001",
                "PUT",
                vec![],
                None,
            ),
            (
                "wildcard origin",
                "http://app.example.com",
                "GET",
                vec![],
                Some(1),
            ),
            (
                "wildcard needs its prefix",
                "https://app.example.com",
                "GET",
                vec![],
                None,
            ),
            (
                "wildcard needs its suffix",
                "http://app.example.org",
                "GET",
                vec![],
                None,
            ),
            (
                "no headers asked: any rule",
                "http://app.example.com",
                "HEAD",
                vec![],
                Some(2),
            ),
            (
                "star allows any header",
                "http://x",
                "HEAD",
                vec!["X-Anything"],
                Some(2),
            ),
        ];
        for (what, origin, method, headers, want) in cases {
            let got = config.find_rule(origin, method, &headers).map(|m| {
                config
                    .rules()
                    .iter()
                    .position(|x| x == m.rule)
                    .unwrap_or(99)
            });
            assert_eq!(got, want, "{what}");
        }
        let any = |origin: &str, method: &str| {
            config
                .find_rule(origin, method, &none)
                .map(|m| m.any_origin)
        };
        assert_eq!(any("http://x", "HEAD"), Some(true), "matched by `*`");
        assert_eq!(any("http://a.example.com", "GET"), Some(false));
        // A rule naming the origin before `*` answers the origin.
        let config =
            CorsConfiguration::new(vec![rule(&["http://a", "*"], &["GET"], &[])]).expect("valid");
        let m = config.find_rule("http://a", "GET", &none).expect("a match");
        assert!(!m.any_origin);
        let m = config.find_rule("http://b", "GET", &none).expect("a match");
        assert!(m.any_origin);
    }

    #[test]
    fn wildcards_do_not_split_characters() {
        assert!(wildcard_match("é*é", "éé", false));
        assert!(!wildcard_match("é*é", "é", false));
        assert!(wildcard_match("a*", "a", false));
        assert!(wildcard_match("*", "", false));
        assert!(!wildcard_match("ab", "AB", false));
        assert!(wildcard_match("ab", "AB", true));
    }
}
