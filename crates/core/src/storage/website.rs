//! A bucket's static website configuration (S3's PutBucketWebsite),
//! validated as S3 validates it, and the routing decisions of the website
//! endpoint that follow from it (which key an address serves, which rule
//! redirects it and where).
//!
//! The rules (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketWebsite.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-page-redirect.html>):
//! either `RedirectAllRequestsTo` alone (a host name, and optionally a
//! protocol), or an `IndexDocument` whose `Suffix` is non-empty and has no
//! `/`, with an optional `ErrorDocument` and up to 50 `RoutingRules`. A
//! rule redirects when its `Condition` holds — a key prefix, an HTTP error
//! code the request would get, both, or no condition at all — to a host, a
//! protocol, a key (replaced whole or by prefix) and a 3XX code (not 300).
//! The first rule that holds wins.

use serde::{Deserialize, Serialize};

/// The most routing rules a website configuration may hold.
pub const MAX_ROUTING_RULES: usize = 50;

/// `RedirectAllRequestsTo`: every request of the website goes to this host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectAll {
    /// The host name (`example.com`, maybe with a port).
    pub host_name: String,
    /// `http` or `https`; `None`: the request's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// A routing rule's `Condition`: when both are given, both must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingCondition {
    /// The key starts with this (`docs/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix_equals: Option<String>,
    /// The request would be answered with this 4XX or 5XX code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_error_code_returned_equals: Option<String>,
}

/// A routing rule's `Redirect`: what is not given is the request's own
/// (host, protocol, key), and the code is 301.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// The host to redirect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// A 3XX code other than 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_redirect_code: Option<String>,
    /// Replaces the condition's `KeyPrefixEquals` (or is put in front of a
    /// key, without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_key_prefix_with: Option<String>,
    /// Replaces the whole key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_key_with: Option<String>,
}

/// One of `RoutingRules`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    /// When it applies (`None`: to every request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<RoutingCondition>,
    /// Where it sends the request.
    pub redirect: Redirect,
}

/// A website that serves the bucket's objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// `IndexDocument` `Suffix`: what `/` and `/dir/` serve (`index.html`).
    pub index_suffix: String,
    /// `ErrorDocument` `Key`: what a 4XX answer serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_key: Option<String>,
    /// The routing rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_rules: Vec<RoutingRule>,
}

/// What a website does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebsiteTarget {
    /// Redirects every request.
    RedirectAll(RedirectAll),
    /// Serves objects.
    Site(Site),
}

/// PutBucketWebsite's document, as sent (before validation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebsiteInput {
    /// `IndexDocument` `Suffix` (`None`: no `IndexDocument`).
    pub index_suffix: Option<String>,
    /// `ErrorDocument` `Key` (`None`: no `ErrorDocument`).
    pub error_key: Option<String>,
    /// `RedirectAllRequestsTo`.
    pub redirect_all: Option<RedirectAll>,
    /// `RoutingRules` (`None`: the element is absent).
    pub routing_rules: Option<Vec<RoutingRule>>,
}

/// Which S3 error a refused website configuration is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebsiteFault {
    /// `InvalidArgument`, naming the argument and its value.
    InvalidArgument {
        /// `ArgumentName`.
        name: &'static str,
        /// `ArgumentValue`.
        value: String,
    },
    /// `InvalidRequest`.
    InvalidRequest,
    /// `MalformedXML`.
    MalformedXml,
}

/// A website configuration S3 would refuse: its error and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidWebsite {
    /// The S3 error.
    pub fault: WebsiteFault,
    /// What was wrong.
    pub message: String,
}

fn malformed(what: &str) -> InvalidWebsite {
    InvalidWebsite {
        fault: WebsiteFault::MalformedXml,
        message: format!(
            "The XML you provided was not well-formed or did not validate against our published schema: {what}"
        ),
    }
}

fn invalid_request(message: impl Into<String>) -> InvalidWebsite {
    InvalidWebsite {
        fault: WebsiteFault::InvalidRequest,
        message: message.into(),
    }
}

fn invalid_argument(name: &'static str, value: &str, message: &str) -> InvalidWebsite {
    InvalidWebsite {
        fault: WebsiteFault::InvalidArgument {
            name,
            value: value.to_owned(),
        },
        message: message.to_owned(),
    }
}

const BAD_PROTOCOL: &str = "Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.";

fn check_protocol(protocol: Option<&str>) -> Result<(), InvalidWebsite> {
    match protocol {
        None | Some("http" | "https") => Ok(()),
        Some(_) => Err(invalid_request(BAD_PROTOCOL)),
    }
}

/// Refuses a redirect's `HostName` holding whitespace or a control
/// character (`a b.com`, `a\nb.com`): no host has one, and every request
/// of the website would then be answered with a `Location` that is no
/// header value or no URL.
fn check_host_name(host_name: &str, message: &str) -> Result<(), InvalidWebsite> {
    if host_name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid_argument("HostName", host_name, message));
    }
    Ok(())
}

const BAD_REDIRECT_ALL_HOST: &str = "The HostName of RedirectAllRequestsTo is not a valid host name: it must not hold whitespace or control characters.";

const BAD_RULE_HOST: &str = "The HostName of a routing rule's Redirect is not a valid host name: it must not hold whitespace or control characters.";

/// A bucket's validated website configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebsiteConfiguration {
    target: WebsiteTarget,
}

impl WebsiteConfiguration {
    /// Validates `input` as S3 validates PutBucketWebsite, in S3's order.
    ///
    /// # Errors
    /// [`InvalidWebsite`] with S3's code and message: `InvalidArgument`
    /// for `RedirectAllRequestsTo` beside anything else, a missing
    /// `IndexDocument`, a `Suffix` that is empty or holds a `/`, or a
    /// redirect's `HostName` holding whitespace or a control character;
    /// `MalformedXML` for an empty `HostName`, `ErrorDocument` `Key` or
    /// `RoutingRules`, or a code that is not a number; `InvalidRequest`
    /// for a protocol other than `http`/`https`, an empty `Condition`, both
    /// key replacements in one `Redirect`, a redirect code that is not 3XX
    /// (or is 300), an error code that is not 4XX/5XX, or more than
    /// [`MAX_ROUTING_RULES`] rules.
    pub fn new(input: WebsiteInput) -> Result<Self, InvalidWebsite> {
        if let Some(all) = input.redirect_all {
            if input.index_suffix.is_some()
                || input.error_key.is_some()
                || input.routing_rules.is_some()
            {
                return Err(invalid_argument(
                    "RedirectAllRequestsTo",
                    "not null",
                    "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
                ));
            }
            if all.host_name.is_empty() {
                return Err(malformed("RedirectAllRequestsTo needs a HostName"));
            }
            check_host_name(&all.host_name, BAD_REDIRECT_ALL_HOST)?;
            check_protocol(all.protocol.as_deref())?;
            return Ok(Self {
                target: WebsiteTarget::RedirectAll(all),
            });
        }
        let Some(index_suffix) = input.index_suffix else {
            return Err(invalid_argument(
                "IndexDocument",
                "null",
                "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
            ));
        };
        if index_suffix.is_empty() || index_suffix.contains('/') {
            return Err(invalid_argument(
                "IndexDocument",
                &index_suffix,
                "The IndexDocument Suffix is not well formed",
            ));
        }
        if input.error_key.as_deref() == Some("") {
            return Err(malformed("the ErrorDocument Key is empty"));
        }
        let routing_rules = match input.routing_rules {
            None => Vec::new(),
            Some(rules) if rules.is_empty() => {
                return Err(malformed("RoutingRules needs at least one RoutingRule"));
            }
            Some(rules) if rules.len() > MAX_ROUTING_RULES => {
                return Err(invalid_request(format!(
                    "The number of routing rules must not exceed the allowed limit of {MAX_ROUTING_RULES} rules ({} were given).",
                    rules.len()
                )));
            }
            Some(rules) => rules,
        };
        for rule in &routing_rules {
            check_rule(rule)?;
        }
        Ok(Self {
            target: WebsiteTarget::Site(Site {
                index_suffix,
                error_key: input.error_key,
                routing_rules,
            }),
        })
    }

    /// What the website does.
    pub fn target(&self) -> &WebsiteTarget {
        &self.target
    }
}

fn check_rule(rule: &RoutingRule) -> Result<(), InvalidWebsite> {
    let r = &rule.redirect;
    if r.replace_key_prefix_with.is_some() && r.replace_key_with.is_some() {
        return Err(invalid_request(
            "You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
        ));
    }
    if let Some(c) = &rule.condition
        && c.key_prefix_equals.is_none()
        && c.http_error_code_returned_equals.is_none()
    {
        return Err(invalid_request(
            "Condition cannot be empty. To redirect all requests without a condition, the condition element shouldn't be present.",
        ));
    }
    if let Some(host_name) = &r.host_name {
        check_host_name(host_name, BAD_RULE_HOST)?;
    }
    check_protocol(r.protocol.as_deref())?;
    if let Some(code) = &r.http_redirect_code {
        let n = parse_code(code, "HttpRedirectCode")?;
        if !(301..=399).contains(&n) {
            return Err(invalid_request(format!(
                "The provided HTTP redirect code ({n}) is not valid. Valid codes are 3XX except 300."
            )));
        }
    }
    if let Some(code) = rule
        .condition
        .as_ref()
        .and_then(|c| c.http_error_code_returned_equals.as_ref())
    {
        let n = parse_code(code, "HttpErrorCodeReturnedEquals")?;
        if !(400..=599).contains(&n) {
            return Err(invalid_request(format!(
                "The provided HTTP error code ({n}) is not valid. Valid codes are 4XX or 5XX."
            )));
        }
    }
    Ok(())
}

fn parse_code(code: &str, element: &str) -> Result<u16, InvalidWebsite> {
    code.trim()
        .parse::<u16>()
        .map_err(|_| malformed(&format!("{element} must be a number, not {code:?}")))
}

impl Site {
    /// The key an address's key serves: the index document under a
    /// "directory" (the empty key, or one ending in `/`), else the key.
    pub fn served_key(&self, key: &str) -> String {
        if key.is_empty() || key.ends_with('/') {
            format!("{key}{}", self.index_suffix)
        } else {
            key.to_owned()
        }
    }

    /// The first rule that redirects `key` before any object is looked
    /// up: one without a condition, or whose condition is a key prefix
    /// alone that `key` starts with. (A rule with an error code waits for
    /// the answer: [`Self::rule_on_error`].)
    pub fn rule_before(&self, key: &str) -> Option<&RoutingRule> {
        self.routing_rules
            .iter()
            .find(|rule| match &rule.condition {
                None => true,
                Some(c) => {
                    c.http_error_code_returned_equals.is_none()
                        && c.key_prefix_equals
                            .as_deref()
                            .is_some_and(|p| key.starts_with(p))
                }
            })
    }

    /// The first rule that redirects `key` once its answer is the error
    /// `status`: its condition names that code, and its prefix (if any)
    /// starts `key`.
    pub fn rule_on_error(&self, key: &str, status: u16) -> Option<&RoutingRule> {
        self.routing_rules.iter().find(|rule| {
            rule.condition.as_ref().is_some_and(|c| {
                c.http_error_code_returned_equals
                    .as_deref()
                    .and_then(|code| code.trim().parse::<u16>().ok())
                    == Some(status)
                    && c.key_prefix_equals
                        .as_deref()
                        .is_none_or(|p| key.starts_with(p))
            })
        })
    }
}

impl RoutingRule {
    /// The key a request for `key` is redirected to: `ReplaceKeyWith`, or
    /// `key` with the condition's prefix replaced by `ReplaceKeyPrefixWith`
    /// (put in front of `key` without a prefix), or `key` itself.
    pub fn target_key(&self, key: &str) -> String {
        let r = &self.redirect;
        if let Some(whole) = &r.replace_key_with {
            return whole.clone();
        }
        if let Some(with) = &r.replace_key_prefix_with {
            let prefix = self
                .condition
                .as_ref()
                .and_then(|c| c.key_prefix_equals.as_deref())
                .unwrap_or("");
            let rest = key.strip_prefix(prefix).unwrap_or(key);
            return format!("{with}{rest}");
        }
        key.to_owned()
    }

    /// The redirect's status code (301 unless it names one).
    pub fn status(&self) -> u16 {
        self.redirect
            .http_redirect_code
            .as_deref()
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(301)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(rules: Vec<RoutingRule>) -> WebsiteInput {
        WebsiteInput {
            index_suffix: Some("index.html".into()),
            routing_rules: Some(rules),
            ..WebsiteInput::default()
        }
    }

    fn rule(prefix: Option<&str>, code: Option<&str>, redirect: Redirect) -> RoutingRule {
        RoutingRule {
            condition: (prefix.is_some() || code.is_some()).then(|| RoutingCondition {
                key_prefix_equals: prefix.map(Into::into),
                http_error_code_returned_equals: code.map(Into::into),
            }),
            redirect,
        }
    }

    fn refused(input: WebsiteInput) -> (WebsiteFault, String) {
        let e = WebsiteConfiguration::new(input).expect_err("refused");
        (e.fault, e.message)
    }

    #[test]
    fn refusals_are_s3s() {
        let arg = |name, value: &str| WebsiteFault::InvalidArgument {
            name,
            value: value.into(),
        };
        let cases: Vec<(&str, WebsiteInput, WebsiteFault, &str)> = vec![
            (
                "nothing",
                WebsiteInput::default(),
                arg("IndexDocument", "null"),
                "A value for IndexDocument Suffix must be provided",
            ),
            (
                "empty suffix",
                WebsiteInput {
                    index_suffix: Some(String::new()),
                    ..WebsiteInput::default()
                },
                arg("IndexDocument", ""),
                "The IndexDocument Suffix is not well formed",
            ),
            (
                "suffix with a slash",
                WebsiteInput {
                    index_suffix: Some("a/index.html".into()),
                    ..WebsiteInput::default()
                },
                arg("IndexDocument", "a/index.html"),
                "not well formed",
            ),
            (
                "redirect-all with an index",
                WebsiteInput {
                    index_suffix: Some("index.html".into()),
                    redirect_all: Some(RedirectAll {
                        host_name: "example.com".into(),
                        protocol: None,
                    }),
                    ..WebsiteInput::default()
                },
                arg("RedirectAllRequestsTo", "not null"),
                "RedirectAllRequestsTo cannot be provided in conjunction",
            ),
            (
                "redirect-all without a host",
                WebsiteInput {
                    redirect_all: Some(RedirectAll::default()),
                    ..WebsiteInput::default()
                },
                WebsiteFault::MalformedXml,
                "HostName",
            ),
            (
                "redirect-all to ftp",
                WebsiteInput {
                    redirect_all: Some(RedirectAll {
                        host_name: "example.com".into(),
                        protocol: Some("ftp".into()),
                    }),
                    ..WebsiteInput::default()
                },
                WebsiteFault::InvalidRequest,
                "Invalid protocol",
            ),
            (
                "empty error key",
                WebsiteInput {
                    index_suffix: Some("index.html".into()),
                    error_key: Some(String::new()),
                    ..WebsiteInput::default()
                },
                WebsiteFault::MalformedXml,
                "ErrorDocument Key",
            ),
            (
                "no rules in RoutingRules",
                site(vec![]),
                WebsiteFault::MalformedXml,
                "at least one RoutingRule",
            ),
            (
                "51 rules",
                site(vec![rule(Some("a"), None, Redirect::default()); 51]),
                WebsiteFault::InvalidRequest,
                "must not exceed",
            ),
            (
                "both key replacements",
                site(vec![rule(
                    Some("a"),
                    None,
                    Redirect {
                        replace_key_with: Some("x".into()),
                        replace_key_prefix_with: Some("y".into()),
                        ..Redirect::default()
                    },
                )]),
                WebsiteFault::InvalidRequest,
                "ReplaceKeyPrefix or ReplaceKey but not both",
            ),
            (
                "empty condition",
                site(vec![RoutingRule {
                    condition: Some(RoutingCondition::default()),
                    redirect: Redirect::default(),
                }]),
                WebsiteFault::InvalidRequest,
                "Condition cannot be empty",
            ),
            (
                "redirect code 300",
                site(vec![rule(
                    Some("a"),
                    None,
                    Redirect {
                        http_redirect_code: Some("300".into()),
                        ..Redirect::default()
                    },
                )]),
                WebsiteFault::InvalidRequest,
                "The provided HTTP redirect code (300) is not valid",
            ),
            (
                "redirect code not a number",
                site(vec![rule(
                    Some("a"),
                    None,
                    Redirect {
                        http_redirect_code: Some("x".into()),
                        ..Redirect::default()
                    },
                )]),
                WebsiteFault::MalformedXml,
                "HttpRedirectCode",
            ),
            (
                "error code 200",
                site(vec![rule(None, Some("200"), Redirect::default())]),
                WebsiteFault::InvalidRequest,
                "The provided HTTP error code (200) is not valid",
            ),
            (
                "a rule to gopher",
                site(vec![rule(
                    Some("a"),
                    None,
                    Redirect {
                        protocol: Some("gopher".into()),
                        ..Redirect::default()
                    },
                )]),
                WebsiteFault::InvalidRequest,
                "Invalid protocol",
            ),
            (
                "redirect-all to a host with a space",
                WebsiteInput {
                    redirect_all: Some(RedirectAll {
                        host_name: "a b.com".into(),
                        protocol: None,
                    }),
                    ..WebsiteInput::default()
                },
                arg("HostName", "a b.com"),
                "The HostName of RedirectAllRequestsTo is not a valid host name",
            ),
            (
                "a rule to a host with a line break",
                site(vec![rule(
                    Some("a"),
                    None,
                    Redirect {
                        host_name: Some("a\nb.com".into()),
                        ..Redirect::default()
                    },
                )]),
                arg("HostName", "a\nb.com"),
                "The HostName of a routing rule's Redirect is not a valid host name",
            ),
        ];
        for (description, input, fault, message) in cases {
            let (got_fault, got_message) = refused(input);
            assert_eq!(got_fault, fault, "{description}");
            assert!(
                got_message.contains(message),
                "{description}: {got_message}"
            );
        }
    }

    #[test]
    fn routing_follows_the_rules_in_order() {
        let config = WebsiteConfiguration::new(site(vec![
            rule(
                None,
                Some("404"),
                Redirect {
                    host_name: Some("example.com".into()),
                    replace_key_with: Some("missing.html".into()),
                    ..Redirect::default()
                },
            ),
            rule(
                Some("docs/"),
                None,
                Redirect {
                    replace_key_prefix_with: Some("documents/".into()),
                    http_redirect_code: Some("302".into()),
                    ..Redirect::default()
                },
            ),
        ]))
        .expect("valid");
        let WebsiteTarget::Site(site) = config.target() else {
            panic!("a site");
        };
        assert_eq!(site.served_key(""), "index.html");
        assert_eq!(site.served_key("a/"), "a/index.html");
        assert_eq!(site.served_key("a"), "a");
        let before = site.rule_before("docs/x.html").expect("the prefix rule");
        assert_eq!(before.target_key("docs/x.html"), "documents/x.html");
        assert_eq!(before.status(), 302);
        assert!(site.rule_before("doc").is_none());
        let on_404 = site.rule_on_error("anything", 404).expect("the 404 rule");
        assert_eq!(on_404.target_key("anything"), "missing.html");
        assert_eq!(on_404.status(), 301);
        assert!(site.rule_on_error("anything", 403).is_none());
    }
}
