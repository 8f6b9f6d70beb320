//! DescribeInstances: the caller's instances (terminated ones for an hour,
//! as EC2), by `InstanceId.N` or filtered by `Filter.N`, paged with
//! `MaxResults`/`NextToken`. The instances one RunInstances launched are
//! one reservation; any other instance is a reservation of its own. (A
//! page cut by `MaxResults` may end in the middle of a reservation: its
//! other instances come on the next page, as a reservation item again.)

use miniaws_core::compute::{Instance, InstancePosition, MAX_PAGE_SIZE};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use time::OffsetDateTime;

use super::error::{Ec2Error, from_core};
use super::instances::{resolve, state, tags, visible, write_instance};
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};
use crate::page_token::{decode_place, encode_place};

/// The tag of this list's `NextToken` (see `page_token`).
const TOKEN_TAG: &str = "e1.";

fn accepted(k: &str) -> bool {
    matches!(k, "MaxResults" | "NextToken" | "DryRun")
        || numbered(k, "InstanceId", None)
        || numbered(
            k,
            "Filter",
            Some(&|rest: &str| rest == "Name" || numbered(rest, "Value", None)),
        )
}

/// One filter: a name and the values any of which matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The filter's name (`instance-id`, `tag:Name`, …).
    pub name: String,
    /// The values, EC2 wildcards allowed; any one matching is a match.
    pub values: Vec<String>,
}

/// One element of a filter pattern.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    /// `*`: any run of characters.
    Star,
    /// `?`: any one character.
    One,
    /// A character to match as it is (`\` escapes the next one).
    Char(char),
}

/// EC2's filter wildcards: `*` any run, `?` one character, `\` escapes.
///
/// The greedy match with one remembered `*`: on a mismatch only the last
/// `*` takes one more character, which is enough (an earlier star never
/// needs to take more once a later one matched), so the time is at most
/// the pattern's length times the text's. The obvious recursion tries every
/// split at every `*`: `*********#` took minutes on a 30-character value,
/// with a request thread held the while.
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let mut p = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and where in the text it began to match.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Token::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(Token::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Token::Char(c)) if *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Token::Star)
}

impl Filter {
    /// Whether any of the values matches `field`.
    pub(super) fn any(&self, field: &str) -> bool {
        self.values.iter().any(|v| glob(v, field))
    }

    /// Whether `inst` passes.
    fn matches(&self, inst: &Instance) -> bool {
        let any = |field: &str| self.any(field);
        let tags = tags(inst);
        match self.name.as_str() {
            "instance-id" => any(inst.ec2_id().as_str()),
            "instance-state-name" => any(state(inst.state).1),
            "instance-state-code" => any(&state(inst.state).0.to_string()),
            "instance-type" => any(&inst.instance_type),
            "image-id" => any(&inst.image),
            "private-ip-address" => inst.private_ip.as_deref().is_some_and(any),
            "reservation-id" => any(&inst.reservation_id()),
            "client-token" => inst.client_token().is_some_and(any),
            "launch-index" => any(&inst.launch_index().to_string()),
            "tag-key" => tags.iter().any(|(k, _)| any(k)),
            "tag-value" => tags.iter().any(|(_, v)| any(v)),
            name => match name.strip_prefix("tag:") {
                Some(key) => tags.iter().any(|(k, v)| k == key && any(v)),
                None => false,
            },
        }
    }
}

/// The filter names DescribeInstances knows, for its error message.
const FILTER_NAMES: &str = "instance-id, instance-state-name, instance-state-code, \
     instance-type, image-id, private-ip-address, reservation-id, client-token, launch-index, \
     tag:<key>, tag-key and tag-value";

/// Whether DescribeInstances knows the filter `name`.
fn known_filter(name: &str) -> bool {
    matches!(
        name,
        "instance-id"
            | "instance-state-name"
            | "instance-state-code"
            | "instance-type"
            | "image-id"
            | "private-ip-address"
            | "reservation-id"
            | "client-token"
            | "launch-index"
            | "tag-key"
            | "tag-value"
    ) || name.strip_prefix("tag:").is_some_and(|k| !k.is_empty())
}

/// The `Filter.N` of the request, checked: each name must be one that
/// `known` admits (`names` lists them for the error).
///
/// # Errors
/// `InvalidParameterValue` for a filter name not known (EC2's "The
/// filter '…' is invalid"), `MissingParameter` for a filter without a name.
pub(super) fn read_filters(
    ctx: &Ec2Context<'_>,
    known: impl Fn(&str) -> bool,
    names: &str,
) -> Result<Vec<Filter>, Ec2Error> {
    let mut out = Vec::new();
    for f in ctx.params.indexes("Filter")? {
        let name = ctx.params.required(&format!("{f}.Name"))?.to_owned();
        if !known(&name) {
            return Err(Ec2Error::invalid_value(format!(
                "The filter '{name}' is invalid (Mini AWS filters on {names})"
            )));
        }
        let values = ctx
            .params
            .list(&format!("{f}.Value"))?
            .into_iter()
            .map(str::to_owned)
            .collect();
        out.push(Filter { name, values });
    }
    Ok(out)
}

/// The `MaxResults` of a paged Describe call: 5 to 1000, when given.
///
/// # Errors
/// `InvalidParameterValue` outside that range.
pub(super) fn max_results(ctx: &Ec2Context<'_>) -> Result<Option<i64>, Ec2Error> {
    let max_results = ctx.params.int("MaxResults")?;
    if let Some(n) = max_results
        && !(5..=1000).contains(&n)
    {
        return Err(Ec2Error::invalid_value(format!(
            "Value ({n}) for parameter maxResults is invalid. Expect a number from 5 to 1000."
        )));
    }
    Ok(max_results)
}

/// The instances `InstanceId.N` names (see [`resolve`]), or, when it names
/// none, every instance of the caller that EC2 would show.
///
/// # Errors
/// As [`resolve`] and [`all_instances`].
pub(super) async fn named_or_all(
    ctx: &Ec2Context<'_>,
    ids: &[&str],
) -> Result<Vec<Instance>, Ec2Error> {
    if ids.is_empty() {
        all_instances(ctx).await
    } else {
        resolve(ctx, ids).await
    }
}

/// Every instance of the caller that EC2 would show, oldest first.
pub(super) async fn all_instances(ctx: &Ec2Context<'_>) -> Result<Vec<Instance>, Ec2Error> {
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = ctx
            .state
            .compute
            .list(ctx.caller, true, Some(MAX_PAGE_SIZE), after)
            .await
            .map_err(from_core)?;
        out.extend(page.instances.into_iter().filter(|i| visible(i, now)));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// Handles DescribeInstances.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(accepted)?;
    let ids = p.list("InstanceId")?;
    let max_results = max_results(&ctx)?;
    if !ids.is_empty() && max_results.is_some() {
        return Err(Ec2Error::combination(
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    let after = match p.get("NextToken") {
        None | Some("") => None,
        Some(t) => Some(decode_place(TOKEN_TAG, t).ok_or_else(|| {
            Ec2Error::invalid_value("The NextToken is invalid: pass one this API returned")
        })?),
    };
    let filters = read_filters(&ctx, known_filter, FILTER_NAMES)?;
    let candidates = named_or_all(&ctx, &ids).await?;
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut selected: Vec<Instance> = candidates
        .into_iter()
        .filter(|i| filters.iter().all(|f| f.matches(i)))
        .filter(|i| after.is_none_or(|(at, id)| (i.created_at, i.id.as_uuid()) > (at, id)))
        .collect();
    let mut next = None;
    if let Some(n) = max_results.and_then(|n| usize::try_from(n).ok())
        && selected.len() > n
    {
        selected.truncate(n);
        next = selected.last().map(|i| {
            let place = InstancePosition::of(i);
            encode_place(TOKEN_TAG, place.created_at, place.id.as_uuid())
        });
    }
    let mut w = XmlWriter::response("DescribeInstances", &ctx.request_id);
    w.element("reservationSet", |w| {
        for group in reservations(&selected) {
            w.element("item", |w| {
                w.leaf("reservationId", &group[0].reservation_id());
                w.leaf("ownerId", &group[0].owner.to_string());
                w.element("groupSet", |_| {});
                w.element("instancesSet", |w| {
                    for inst in &group {
                        write_instance(w, inst, &ctx.region);
                    }
                });
            });
        }
    });
    if let Some(token) = next {
        w.leaf("nextToken", &token);
    }
    Ok(w.finish("DescribeInstances"))
}

/// The instances grouped by reservation, each group where its first
/// instance is in `instances` and in launch order within.
fn reservations(instances: &[Instance]) -> Vec<Vec<&Instance>> {
    let mut groups: Vec<Vec<&Instance>> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for inst in instances {
        match at.entry(inst.reservation_id()) {
            Entry::Occupied(e) => groups[*e.get()].push(inst),
            Entry::Vacant(e) => {
                e.insert(groups.len());
                groups.push(vec![inst]);
            }
        }
    }
    for g in &mut groups {
        g.sort_by_key(|i| i.launch_index());
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_ec2s() {
        for (p, t, want) in [
            ("web", "web", true),
            ("web", "web2", false),
            ("web*", "web-2", true),
            ("*", "", true),
            ("w?b", "wib", true),
            ("w?b", "wb", false),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("*b*d", "abcbd", true),
            ("*b*d", "abcbde", false),
            ("a*b?c", "aXbbYc", true),
            ("**", "x", true),
            ("*?", "", false),
            ("x\\", "x\\", true),
            ("\\?", "?", true),
            ("\\?", "a", false),
            ("é*", "été", true),
        ] {
            assert_eq!(glob(p, t), want, "{p} ~ {t}");
        }
    }

    /// Many stars against a long value that does not match: answered at
    /// once (the recursive match took exponential time, minutes here).
    #[test]
    fn many_stars_do_not_explode() {
        let text = "a".repeat(200);
        let pattern = format!("{}#", "*".repeat(60));
        assert!(!glob(&pattern, &text));
        assert!(glob(&format!("{}a", "*".repeat(60)), &text));
    }

    #[test]
    fn filters_read_tags_states_and_ids() {
        let inst = super::super::instances::tests::sample();
        let f = |name: &str, v: &str| Filter {
            name: name.into(),
            values: vec![v.into()],
        };
        assert!(f("instance-state-name", "running").matches(&inst));
        assert!(!f("instance-state-name", "stopped").matches(&inst));
        assert!(f("tag:Name", "we*").matches(&inst));
        assert!(!f("tag:Other", "*").matches(&inst));
        assert!(f("tag-key", "miniaws:ports").matches(&inst));
        assert!(f("instance-id", inst.ec2_id().as_str()).matches(&inst));
        assert!(f("image-id", "miniaws-test/*").matches(&inst));
        assert!(f("instance-type", "t3.nano").matches(&inst));
        assert!(!f("instance-type", "t3.micro").matches(&inst));
        assert!(f("private-ip-address", "172.17.0.*").matches(&inst));
        assert!(!f("private-ip-address", "10.*").matches(&inst));
        assert!(accepted("Filter.1.Value.2") && accepted("InstanceId.4"));
        assert!(!accepted("Filter.1.Values") && !accepted("IncludeAll"));
    }
}
