//! CreateTags, DeleteTags and DescribeTags, for instances (the only
//! resources Mini AWS has).
//!
//! An instance's tags are its stored tags plus three its fields make
//! ([`Instance::all_tags`]): `Name` is the instance's name, so tagging
//! `Name` renames the instance (names stay unique among the owner's live
//! instances) and deleting it names the instance after its EC2 id again,
//! which is what "no Name tag" means here. `miniaws:ports` and
//! `miniaws:command` are fixed at launch: setting them to the value they
//! have is accepted (tools re-apply their whole tag set), any other
//! change is refused, and DeleteTags without keys (all tags) keeps them.
//!
//! Each instance's change is one compare-and-set
//! ([`ComputeService::relabel`](miniaws_core::compute::ComputeService::relabel)),
//! so concurrent edits of one instance all land. A request naming several
//! instances checks them all first (ids, keys, values), then changes them
//! one by one; a failure on one (a name taken meanwhile, the tag limit
//! reached by a concurrent edit) gives the ones before it their tags back
//! ([`ComputeService::relabel_all`](miniaws_core::compute::ComputeService::relabel_all)),
//! so the request changes all or nothing.

use std::collections::BTreeSet;

use miniaws_core::compute::{
    COMMAND_TAG, Instance, Labels, NAME_TAG, PORTS_TAG, PortMapping, split_command, validate_tag,
};
use miniaws_core::{CoreError, CoreResult, Resource};

use super::describe_instances::{Filter, all_instances, max_results, read_filters};
use super::error::{Ec2Error, from_core};
use super::instances::{change_error, resolve, tags};
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};
use crate::page_token::{decode_key, encode_key};

/// The tag of DescribeTags' `NextToken` (see `page_token`).
const TOKEN_TAG: &str = "t1.";

/// The page DescribeTags answers when `MaxResults` is not given.
const DEFAULT_PAGE: usize = 1000;

/// One `Tag.N` of a request: its key and, when given, its value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TagArg {
    key: String,
    value: Option<String>,
}

fn accepted_edit(k: &str) -> bool {
    k == "DryRun"
        || numbered(k, "ResourceId", None)
        || numbered(
            k,
            "Tag",
            Some(&|rest: &str| rest == "Key" || rest == "Value"),
        )
}

/// The `Tag.N` of the request, each checked by EC2's rules, no key twice.
fn tag_args(ctx: &Ec2Context<'_>) -> Result<Vec<TagArg>, Ec2Error> {
    let p = &ctx.params;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for tag in p.indexes("Tag")? {
        let key = p.required(&format!("{tag}.Key"))?;
        let value = p.get(&format!("{tag}.Value"));
        validate_tag(key, value.unwrap_or("")).map_err(from_core)?;
        if !seen.insert(key) {
            return Err(Ec2Error::invalid_value(format!(
                "The tag {key} is given more than once"
            )));
        }
        out.push(TagArg {
            key: key.to_owned(),
            value: value.map(str::to_owned),
        });
    }
    Ok(out)
}

/// The instances `ResourceId.N` name (required). An id of another kind of
/// resource is `InvalidID`: Mini AWS has instances only.
async fn resources(ctx: &Ec2Context<'_>) -> Result<Vec<Instance>, Ec2Error> {
    let raw = ctx.params.list("ResourceId")?;
    if raw.is_empty() {
        return Err(Ec2Error::missing("ResourceId"));
    }
    if let Some(other) = raw.iter().find(|id| !id.starts_with("i-")) {
        return Err(Ec2Error::new(
            http::StatusCode::BAD_REQUEST,
            "InvalidID",
            format!(
                "The ID '{other}' is not valid: Mini AWS tags instances only (ids i-…); it has \
                 no volumes, images, security groups or other resources"
            ),
        ));
    }
    resolve(ctx, &raw).await
}

/// Whether `value` says what the instance's field already is, for the
/// fixed tags `miniaws:ports` and `miniaws:command`.
fn same_fixed(inst: &Instance, key: &str, value: &str) -> bool {
    match key {
        PORTS_TAG => {
            let specs: Vec<&str> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            PortMapping::parse_list(&specs).is_ok_and(|p| p == inst.ports)
        }
        COMMAND_TAG => split_command(value).ok() == inst.command,
        _ => false,
    }
}

/// The refusal to change a fixed tag.
fn fixed(key: &str) -> miniaws_core::CoreError {
    miniaws_core::CoreError::invalid(format!(
        "The tag {key} is fixed at launch (the container's ports and command cannot change): \
         launch a new instance to change it"
    ))
}

/// The labels of `inst` once `tags` are set.
fn with_tags(inst: &Instance, tags: &[TagArg]) -> CoreResult<Labels> {
    let mut labels = inst.labels();
    for TagArg { key, value } in tags {
        let value = value.clone().unwrap_or_default();
        match key.as_str() {
            NAME_TAG => labels.name = value,
            PORTS_TAG | COMMAND_TAG if same_fixed(inst, key, &value) => {}
            PORTS_TAG | COMMAND_TAG => return Err(fixed(key)),
            _ => {
                labels.tags.insert(key.clone(), value);
            }
        }
    }
    Ok(labels)
}

/// The labels of `inst` once `tags` are deleted (each only when its value
/// matches, if one is given); all its tags but the fixed ones when `tags`
/// is empty.
fn without_tags(inst: &Instance, tags: &[TagArg]) -> CoreResult<Labels> {
    let mut labels = inst.labels();
    let unnamed = inst.ec2_id().to_string();
    if tags.is_empty() {
        labels.name = unnamed;
        labels.tags.clear();
        return Ok(labels);
    }
    let current = self::tags(inst);
    for TagArg { key, value } in tags {
        let Some((_, now)) = current.iter().find(|(k, _)| k == key) else {
            continue;
        };
        if value.as_ref().is_some_and(|v| v != now) {
            continue;
        }
        match key.as_str() {
            NAME_TAG => labels.name = unnamed.clone(),
            PORTS_TAG | COMMAND_TAG => return Err(fixed(key)),
            _ => {
                labels.tags.remove(key);
            }
        }
    }
    Ok(labels)
}

/// Applies `edit` to each instance, all or nothing.
async fn relabel_all(
    ctx: &Ec2Context<'_>,
    found: &[Instance],
    tags: &[TagArg],
    edit: fn(&Instance, &[TagArg]) -> CoreResult<Labels>,
) -> Result<(), Ec2Error> {
    let ids: Vec<_> = found.iter().map(|i| i.id).collect();
    ctx.state
        .compute
        .relabel_all(ctx.caller, &ids, |now| edit(now, tags))
        .await
        .map_err(|e| {
            // An instance gone meanwhile is named by its EC2 id.
            let gone = match &e {
                CoreError::NotFound {
                    resource: Resource::Instance,
                    name,
                } => found.iter().find(|i| i.id.to_string() == *name),
                _ => None,
            };
            match gone {
                Some(inst) => change_error(inst)(e),
                None => from_core(e),
            }
        })?;
    Ok(())
}

/// The answer of CreateTags and DeleteTags.
fn done(ctx: &Ec2Context<'_>, action: &str) -> String {
    let mut w = XmlWriter::response(action, &ctx.request_id);
    w.leaf("return", "true");
    w.finish(action)
}

/// Handles CreateTags: sets (adds or overwrites) the tags on every
/// instance named.
pub async fn create(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    ctx.params.only(accepted_edit)?;
    let tags = tag_args(&ctx)?;
    if tags.is_empty() {
        return Err(Ec2Error::missing("Tag"));
    }
    let found = resources(&ctx).await?;
    if found.len() > 1 && tags.iter().any(|t| t.key == NAME_TAG) {
        return Err(Ec2Error::combination(
            "A Name tag names one instance (names are unique among your instances in Mini \
             AWS); tag the instances one at a time",
        ));
    }
    // Everything that does not depend on the other tags of the moment
    // is checked on every instance before any changes.
    for inst in &found {
        let labels = with_tags(inst, &tags).map_err(from_core)?;
        if labels.name != inst.name {
            miniaws_core::compute::InstanceName::parse(&labels.name).map_err(from_core)?;
        }
    }
    if ctx.params.bool("DryRun")? {
        return Err(dry_run());
    }
    relabel_all(&ctx, &found, &tags, with_tags).await?;
    Ok(done(&ctx, "CreateTags"))
}

/// Handles DeleteTags: removes the tags named (only where the value
/// matches, when one is given), or all of them but the fixed ones.
pub async fn delete(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    ctx.params.only(accepted_edit)?;
    let tags = tag_args(&ctx)?;
    let found = resources(&ctx).await?;
    for inst in &found {
        without_tags(inst, &tags).map_err(from_core)?;
    }
    if ctx.params.bool("DryRun")? {
        return Err(dry_run());
    }
    relabel_all(&ctx, &found, &tags, without_tags).await?;
    Ok(done(&ctx, "DeleteTags"))
}

fn accepted_describe(k: &str) -> bool {
    matches!(k, "MaxResults" | "NextToken" | "DryRun")
        || numbered(
            k,
            "Filter",
            Some(&|rest: &str| rest == "Name" || numbered(rest, "Value", None)),
        )
}

/// The filter names DescribeTags knows, for its error message.
const FILTER_NAMES: &str = "key, value, resource-id, resource-type and tag:<key>";

fn known_filter(name: &str) -> bool {
    matches!(name, "key" | "value" | "resource-id" | "resource-type")
        || name.strip_prefix("tag:").is_some_and(|k| !k.is_empty())
}

/// One row of DescribeTags: an instance's EC2 id, a key and its value.
type TagRow = (String, String, String);

/// Whether `row` passes `f`; `all` is the row's instance's every tag
/// (for `tag:<key>`).
fn passes(f: &Filter, all: &[(String, String)], (id, key, value): &TagRow) -> bool {
    match f.name.as_str() {
        "key" => f.any(key),
        "value" => f.any(value),
        "resource-id" => f.any(id),
        "resource-type" => f.any("instance"),
        name => name
            .strip_prefix("tag:")
            .is_some_and(|k| all.iter().any(|(tk, tv)| tk == k && f.any(tv))),
    }
}

/// Handles DescribeTags: the caller's instances' tags, ordered by
/// instance id then key, filtered, paged with `MaxResults`/`NextToken`.
pub async fn describe(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    ctx.params.only(accepted_describe)?;
    let page = max_results(&ctx)?
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_PAGE);
    let after = match ctx.params.get("NextToken") {
        None | Some("") => None,
        Some(t) => Some(decode_key(TOKEN_TAG, t).ok_or_else(|| {
            Ec2Error::invalid_value("The NextToken is invalid: pass one this API returned")
        })?),
    };
    let filters = read_filters(&ctx, known_filter, FILTER_NAMES)?;
    let instances = all_instances(&ctx).await?;
    if ctx.params.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut rows: Vec<TagRow> = Vec::new();
    for inst in &instances {
        let id = inst.ec2_id().to_string();
        let all = tags(inst);
        for (key, value) in &all {
            let row = (id.clone(), key.clone(), value.clone());
            if filters.iter().all(|f| passes(f, &all, &row)) {
                rows.push(row);
            }
        }
    }
    rows.sort();
    if let Some((id, key)) = &after {
        rows.retain(|(i, k, _)| (i, k) > (id, key));
    }
    let next = (rows.len() > page).then(|| {
        let (id, key, _) = &rows[page - 1];
        encode_key(TOKEN_TAG, id, key)
    });
    rows.truncate(page);
    let mut w = XmlWriter::response("DescribeTags", &ctx.request_id);
    w.element("tagSet", |w| {
        for (id, key, value) in &rows {
            w.element("item", |w| {
                w.leaf("resourceId", id);
                w.leaf("resourceType", "instance");
                w.leaf("key", key);
                w.leaf("value", value);
            });
        }
    });
    if let Some(token) = next {
        w.leaf("nextToken", &token);
    }
    Ok(w.finish("DescribeTags"))
}

#[cfg(test)]
mod tests {
    use super::super::instances::tests::sample;
    use super::*;

    fn arg(key: &str, value: Option<&str>) -> TagArg {
        TagArg {
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn setting_tags_renames_overwrites_and_keeps_fixed_ones_fixed() {
        let inst = sample();
        let labels = with_tags(
            &inst,
            &[
                arg("Name", Some("web-2")),
                arg("env", Some("dev")),
                arg("team", None),
                arg("miniaws:ports", Some(" 8080:80/tcp ")),
                arg("miniaws:command", Some("sleep '1 000' \"it's\"")),
            ],
        )
        .unwrap();
        assert_eq!(labels.name, "web-2");
        assert_eq!(labels.tags.get("env").map(String::as_str), Some("dev"));
        assert_eq!(labels.tags.get("team").map(String::as_str), Some(""));
        for (key, value) in [("miniaws:ports", "9090:80"), ("miniaws:command", "sleep 1")] {
            let err = with_tags(&inst, &[arg(key, Some(value))]).unwrap_err();
            assert!(err.to_string().contains("fixed at launch"), "{err}");
        }
    }

    #[test]
    fn deleting_tags_honours_values_and_never_drops_fixed_ones() {
        let inst = sample();
        let unnamed = inst.ec2_id().to_string();
        let l = without_tags(&inst, &[arg("env", Some("other")), arg("Name", None)]).unwrap();
        assert_eq!(l.name, unnamed, "Name deleted: named after the id");
        assert!(l.tags.contains_key("env"), "value differs: kept");
        let l = without_tags(&inst, &[arg("env", Some("prod & <dev>"))]).unwrap();
        assert!(l.tags.is_empty());
        let l = without_tags(&inst, &[arg("Name", Some("not-web")), arg("nope", None)]).unwrap();
        assert_eq!(l, inst.labels(), "nothing matched");
        let err = without_tags(&inst, &[arg("miniaws:ports", None)]).unwrap_err();
        assert!(err.to_string().contains("fixed at launch"), "{err}");
        // A value that does not match a fixed tag deletes nothing.
        assert!(without_tags(&inst, &[arg("miniaws:ports", Some("1:1"))]).is_ok());
        let all = without_tags(&inst, &[]).unwrap();
        assert_eq!((all.name.as_str(), all.tags.len()), (unnamed.as_str(), 0));
    }

    #[test]
    fn describe_filters_read_rows() {
        let inst = sample();
        let all = tags(&inst);
        let passes_on = |f: &Filter, _: &Instance, row: &TagRow| passes(f, &all, row);
        let row = (
            inst.ec2_id().to_string(),
            "env".to_owned(),
            "prod & <dev>".to_owned(),
        );
        let f = |name: &str, v: &str| Filter {
            name: name.into(),
            values: vec![v.into()],
        };
        assert!(passes_on(&f("key", "e*"), &inst, &row));
        assert!(!passes_on(&f("key", "Name"), &inst, &row));
        assert!(passes_on(&f("value", "prod*"), &inst, &row));
        assert!(passes_on(&f("resource-type", "instance"), &inst, &row));
        assert!(!passes_on(&f("resource-type", "volume"), &inst, &row));
        assert!(passes_on(&f("resource-id", &row.0), &inst, &row));
        assert!(passes_on(&f("tag:Name", "web"), &inst, &row));
        assert!(!passes_on(&f("tag:Name", "db"), &inst, &row));
        assert!(known_filter("tag:x") && !known_filter("tag:") && !known_filter("owner-id"));
        assert!(accepted_edit("ResourceId.3") && accepted_edit("Tag.2.Value"));
        assert!(!accepted_edit("Tags.1.Key") && !accepted_edit("Tag.1.Other"));
    }
}
