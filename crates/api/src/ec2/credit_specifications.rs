//! DescribeInstanceCreditSpecifications: the CPU credit option of each
//! instance, which Terraform's `aws_instance` reads after launching a
//! burstable (T2/T3) type — every type Mini AWS has.
//!
//! Every instance is `unlimited`, because that is what a container does:
//! it may use its type's vCPUs all the time (Docker's CPU quota), and is
//! never throttled down to a baseline when credits run out, as a
//! `standard` instance would be. `InstanceId.N` selects (unknown ids are
//! `InvalidInstanceID.NotFound`); without it, every instance EC2 still
//! shows. Filters and paging are refused (`UnsupportedOperation`), as the
//! other calls do with what they cannot honour.

use super::describe_instances::named_or_all;
use super::error::Ec2Error;
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// The credit option every instance has here (see the module's docs).
pub const CPU_CREDITS: &str = "unlimited";

/// Handles DescribeInstanceCreditSpecifications.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| k == "DryRun" || numbered(k, "InstanceId", None))?;
    let ids = p.list("InstanceId")?;
    let instances = named_or_all(&ctx, &ids).await?;
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut w = XmlWriter::response("DescribeInstanceCreditSpecifications", &ctx.request_id);
    w.element("instanceCreditSpecificationSet", |w| {
        for inst in &instances {
            w.element("item", |w| {
                w.leaf("instanceId", inst.ec2_id().as_str());
                w.leaf("cpuCredits", CPU_CREDITS);
            });
        }
    });
    Ok(w.finish("DescribeInstanceCreditSpecifications"))
}
