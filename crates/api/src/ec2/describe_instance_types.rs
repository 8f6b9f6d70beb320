//! DescribeInstanceTypes: the catalogue (`GET /instance-types`), with
//! `vCpuInfo` and `memoryInfo`; `InstanceType.N` selects, an unknown
//! type is `InvalidInstanceType`. Filters are refused (none is honoured).

use http::StatusCode;
use miniaws_core::compute::InstanceType;

use super::error::Ec2Error;
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// Handles DescribeInstanceTypes.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| {
        matches!(k, "DryRun" | "MaxResults" | "NextToken") || numbered(k, "InstanceType", None)
    })?;
    let catalogue = ctx.state.compute.instance_types();
    let wanted = p.list("InstanceType")?;
    let mut selected: Vec<&InstanceType> = Vec::new();
    for w in &wanted {
        match catalogue.iter().find(|t| t.name == *w) {
            // A type named twice is listed once, as EC2 lists it.
            Some(t) if selected.iter().any(|s| s.name == t.name) => {}
            Some(t) => selected.push(t),
            None => {
                let names: Vec<&str> = catalogue.iter().map(|t| t.name).collect();
                return Err(Ec2Error::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidInstanceType",
                    format!(
                        "The following supplied instance types do not exist: [{w}] (Mini AWS \
                         has {})",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    if wanted.is_empty() {
        selected = catalogue.iter().collect();
    }
    // Paging over a catalogue this small: the token is the next index.
    let max = p.int("MaxResults")?;
    if let Some(n) = max
        && !(5..=100).contains(&n)
    {
        return Err(Ec2Error::invalid_value(format!(
            "Value ({n}) for parameter maxResults is invalid. Expect a number from 5 to 100."
        )));
    }
    let start = match p.get("NextToken") {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("t")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= selected.len())
            .ok_or_else(|| Ec2Error::invalid_value("The NextToken is invalid"))?,
    };
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let end = max
        .and_then(|n| usize::try_from(n).ok())
        .map_or(selected.len(), |n| (start + n).min(selected.len()));
    let mut w = XmlWriter::response("DescribeInstanceTypes", &ctx.request_id);
    w.element("instanceTypeSet", |w| {
        for t in &selected[start..end] {
            w.element("item", |w| {
                w.leaf("instanceType", t.name);
                w.leaf("currentGeneration", "true");
                w.leaf("freeTierEligible", "false");
                w.element("vCpuInfo", |w| {
                    w.leaf("defaultVCpus", &t.vcpus.to_string());
                });
                w.element("memoryInfo", |w| {
                    w.leaf("sizeInMiB", &t.memory_mib.to_string());
                });
                w.leaf("hypervisor", "xen");
            });
        }
    });
    if end < selected.len() {
        w.leaf("nextToken", &format!("t{end}"));
    }
    Ok(w.finish("DescribeInstanceTypes"))
}
