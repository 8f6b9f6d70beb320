//! DescribeRegions and DescribeAvailabilityZones, which tools call to
//! check their configuration before anything else.
//!
//! Mini AWS has one place, and a request may be signed for any region
//! (instances land in `<region>a`, see `placement`), so the answer is the
//! region the request was signed for (or the ones `RegionName.N` names),
//! each served by this listener (its endpoint is the host and port the
//! request was sent to), and its one zone `<region>a`. Filters
//! are refused rather than ignored.

use super::error::Ec2Error;
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// Whether `name` looks like a region name (`us-east-1`, `eu-central-2`,
/// `local`): lowercase letters, digits and dashes.
fn region_like(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Handles DescribeRegions.
pub async fn describe_regions(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| matches!(k, "AllRegions" | "DryRun") || numbered(k, "RegionName", None))?;
    p.bool("AllRegions")?;
    let named = p.list("RegionName")?;
    if let Some(bad) = named.iter().find(|r| !region_like(r)) {
        return Err(Ec2Error::invalid_value(format!(
            "Invalid region name: '{bad}' (lowercase letters, digits and dashes, such as \
             us-east-1)"
        )));
    }
    let regions: Vec<&str> = if named.is_empty() {
        vec![ctx.region.as_str()]
    } else {
        named
    };
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut w = XmlWriter::response("DescribeRegions", &ctx.request_id);
    w.element("regionInfo", |w| {
        for r in &regions {
            w.element("item", |w| {
                w.leaf("regionName", r);
                w.leaf("regionEndpoint", &ctx.endpoint);
                w.leaf("optInStatus", "opt-in-not-required");
            });
        }
    });
    Ok(w.finish("DescribeRegions"))
}

/// Handles DescribeAvailabilityZones.
pub async fn describe_availability_zones(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| {
        matches!(k, "AllAvailabilityZones" | "DryRun")
            || numbered(k, "ZoneName", None)
            || numbered(k, "ZoneId", None)
    })?;
    p.bool("AllAvailabilityZones")?;
    let region = ctx.region.as_str();
    let zone = format!("{region}a");
    let zone_id = format!("{region}-az1");
    let names = p.list("ZoneName")?;
    let ids = p.list("ZoneId")?;
    if let Some(other) = names
        .iter()
        .find(|n| **n != zone)
        .or_else(|| ids.iter().find(|i| **i != zone_id))
    {
        return Err(Ec2Error::invalid_value(format!(
            "The zone '{other}' does not exist: requests signed for {region} have the one zone \
             {zone} ({zone_id})"
        )));
    }
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut w = XmlWriter::response("DescribeAvailabilityZones", &ctx.request_id);
    w.element("availabilityZoneInfo", |w| {
        w.element("item", |w| {
            w.leaf("zoneName", &zone);
            w.leaf("zoneState", "available");
            w.leaf("regionName", region);
            w.leaf("zoneId", &zone_id);
            w.leaf("zoneType", "availability-zone");
            w.leaf("optInStatus", "opt-in-not-required");
            w.leaf("groupName", region);
            w.leaf("networkBorderGroup", region);
            w.element("messageSet", |_| {});
        });
    });
    Ok(w.finish("DescribeAvailabilityZones"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_checked_for_shape() {
        for ok in ["us-east-1", "eu-central-2", "local"] {
            assert!(region_like(ok), "{ok}");
        }
        for bad in ["", "US-EAST-1", "us east", "a/b", &"a".repeat(65)] {
            assert!(!region_like(bad), "{bad}");
        }
    }
}
