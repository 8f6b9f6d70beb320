//! Instance tags: free key–value labels, EC2's rules.
//!
//! An instance's `Name` is its name field, not a stored tag, and the keys
//! under `miniaws:` are reserved for what Mini AWS derives from an
//! instance's fields (the EC2 API's `miniaws:ports` and
//! `miniaws:command`), so neither may be stored as a tag. `aws:` is
//! reserved as on AWS, in any case.

use std::collections::BTreeMap;

use super::domain::{Ec2InstanceId, Instance, InstanceId, PortMapping, join_command};
use crate::error::{CoreError, CoreResult, TagProblem};

/// Most tags an instance may carry, everything counted (EC2's limit).
pub const MAX_TAGS: usize = 50;
/// Longest tag key, in characters (EC2's limit).
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Longest tag value, in characters (EC2's limit).
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// The key of the tag that is an instance's name.
pub const NAME_TAG: &str = "Name";
/// The prefix of the tag keys Mini AWS derives from an instance's fields.
pub const MINIAWS_PREFIX: &str = "miniaws:";
/// The tag whose value is the instance's port mappings (`miniaws:ports`).
pub const PORTS_TAG: &str = "miniaws:ports";
/// The tag whose value is the instance's command, split like a shell does.
pub const COMMAND_TAG: &str = "miniaws:command";

impl Instance {
    /// Every tag of the instance, as the EC2 API shows them: `Name`
    /// (unless it is named after its EC2 id, as an instance launched
    /// without a `Name` tag is), `miniaws:ports` and `miniaws:command`
    /// when set, then the stored tags.
    pub fn all_tags(&self) -> Vec<(String, String)> {
        let mut out = field_tags(self.id, &self.name, &self.ports, self.command.as_deref());
        out.extend(self.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// Checks that the instance carries at most [`MAX_TAGS`] tags, those
    /// its fields make counted (EC2 counts `Name` too).
    ///
    /// # Errors
    /// `InvalidTag(TooMany)`.
    pub fn check_tag_count(&self) -> CoreResult<()> {
        check_tag_count(self.all_tags().len())
    }
}

/// The tags instance `id`'s fields make, as the EC2 API shows them:
/// `Name` (unless it is named after its EC2 id, as an instance launched
/// without a `Name` tag is), `miniaws:ports` and `miniaws:command` when
/// set. A launch counts them before the instance exists.
pub(crate) fn field_tags(
    id: InstanceId,
    name: &str,
    ports: &[PortMapping],
    command: Option<&[String]>,
) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(3);
    if name != Ec2InstanceId::of(id).as_str() {
        out.push((NAME_TAG.to_owned(), name.to_owned()));
    }
    if !ports.is_empty() {
        out.push((PORTS_TAG.to_owned(), PortMapping::format_list(ports)));
    }
    if let Some(cmd) = command {
        out.push((COMMAND_TAG.to_owned(), join_command(cmd)));
    }
    out
}

/// Refuses `count` tags, everything counted, when it is over [`MAX_TAGS`].
///
/// # Errors
/// `InvalidTag(TooMany)`.
pub(crate) fn check_tag_count(count: usize) -> CoreResult<()> {
    if count > MAX_TAGS {
        return Err(CoreError::InvalidTag {
            problem: TagProblem::TooMany,
            message: format!(
                "an instance carries at most {MAX_TAGS} tags, its name, ports and command \
                 counted; this change would give it {count}"
            ),
        });
    }
    Ok(())
}

/// Whether `key` starts with `aws:`, in any case (AWS's own keys).
fn aws_reserved(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// Whether a tag may not hold `c`: a control character, or one of the
/// noncharacters U+FFFE and U+FFFF, which XML 1.0 cannot carry either (an
/// EC2 answer holding one is not XML, and every client fails to read it).
fn unfit_for_xml(c: char) -> bool {
    c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Checks one tag's key and value against EC2's rules: a key of 1 to 128
/// characters not starting with `aws:`, a value of at most 256, neither
/// with control characters or U+FFFE/U+FFFF (an XML answer could not
/// carry them).
///
/// # Errors
/// `InvalidInput` naming the tag and the rule.
pub fn validate_tag(key: &str, value: &str) -> CoreResult<()> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_TAG_KEY_CHARS {
        return Err(CoreError::invalid(format!(
            "a tag key must be 1 to {MAX_TAG_KEY_CHARS} characters long (got {chars}: {key:?})"
        )));
    }
    if aws_reserved(key) {
        return Err(CoreError::invalid(format!(
            "the tag key {key:?} starts with `aws:`, which is reserved for AWS's own tags"
        )));
    }
    if value.chars().count() > MAX_TAG_VALUE_CHARS {
        return Err(CoreError::invalid(format!(
            "the value of tag {key:?} is longer than {MAX_TAG_VALUE_CHARS} characters"
        )));
    }
    if key.chars().chain(value.chars()).any(unfit_for_xml) {
        return Err(CoreError::invalid(format!(
            "the tag {key:?} contains a control character or U+FFFE/U+FFFF, which tags may not \
             hold"
        )));
    }
    Ok(())
}

/// Checks the tags an instance stores: each by [`validate_tag`], none of
/// them `Name` or under `miniaws:` (those are the instance's fields), at
/// most [`MAX_TAGS`].
///
/// # Errors
/// `InvalidInput` naming the tag and the rule.
pub fn validate_tags(tags: &BTreeMap<String, String>) -> CoreResult<()> {
    if tags.len() > MAX_TAGS {
        return Err(CoreError::invalid(format!(
            "an instance carries at most {MAX_TAGS} tags (got {})",
            tags.len()
        )));
    }
    for (key, value) in tags {
        validate_tag(key, value)?;
        if key == NAME_TAG {
            return Err(CoreError::invalid(
                "the Name tag is the instance's name: set the name instead",
            ));
        }
        if key.starts_with(MINIAWS_PREFIX) {
            return Err(CoreError::invalid(format!(
                "the tag key {key:?} is under `{MINIAWS_PREFIX}`, which is reserved for what Mini \
                 AWS derives from an instance's fields"
            )));
        }
    }
    Ok(())
}

/// An instance's editable labels: its name and its stored tags, what a
/// tag edit reads and writes as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// The instance's name.
    pub name: String,
    /// Its stored tags (neither `Name` nor `miniaws:` keys).
    pub tags: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tags_follow_ec2s_rules() {
        for (k, v) in [
            ("env", "prod"),
            ("k", ""),
            ("café ☕", "naïve"),
            (&"k".repeat(128)[..], &"v".repeat(256)[..]),
            ("awsome", "x"),
            ("a:aws:", "x"),
            ("k", "\u{FFFD}\u{10FFFF}"),
        ] {
            assert!(validate_tag(k, v).is_ok(), "{k:?}={v:?}");
        }
        for (k, v, says) in [
            ("", "x", "1 to 128"),
            (&"é".repeat(129)[..], "x", "1 to 128"),
            ("aws:x", "x", "reserved"),
            ("AWS:x", "x", "reserved"),
            ("Aws:", "x", "reserved"),
            ("k", &"é".repeat(257)[..], "longer than 256"),
            ("a\nb", "x", "control"),
            ("k", "a\u{0}b", "control"),
            ("k", "a\u{FFFF}", "U+FFFF"),
            ("\u{FFFE}", "x", "U+FFFE"),
        ] {
            let err = validate_tag(k, v).expect_err(k).to_string();
            assert!(err.contains(says), "{k:?}: {err}");
        }
    }

    #[test]
    fn stored_tags_leave_the_name_and_miniaws_keys_to_the_fields() {
        assert!(validate_tags(&tags(&[("env", "prod"), ("team", "")])).is_ok());
        let err = validate_tags(&tags(&[("Name", "web")])).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        let err = validate_tags(&tags(&[("miniaws:ports", "80")])).unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
        // `name` (lowercase) is an ordinary key: keys are case-sensitive.
        assert!(validate_tags(&tags(&[("name", "x")])).is_ok());
        let many: BTreeMap<String, String> = (0..=MAX_TAGS)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        let err = validate_tags(&many).unwrap_err();
        assert!(err.to_string().contains("at most 50"), "{err}");
        let enough: BTreeMap<String, String> = (0..MAX_TAGS)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        assert!(validate_tags(&enough).is_ok());
    }
}
