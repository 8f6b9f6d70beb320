//! ModifyInstanceAttribute and DescribeInstanceAttribute, for the one
//! attribute an instance here has that EC2 lets change: its type.
//!
//! As on EC2 the instance must be stopped to change type
//! (`IncorrectInstanceState` otherwise); its next start gets the type's
//! CPU and memory limits ([`ComputeService::change_type`](miniaws_core::compute::ComputeService::change_type)).
//! The type comes as `InstanceType.Value` (the CLI's `--instance-type`)
//! or `Attribute=instanceType` with `Value` (`--attribute … --value …`).
//! Every other attribute cannot change (`UnsupportedOperation`: user
//! data, API termination protection, security groups and the rest have
//! nothing to act on). DescribeInstanceAttribute also answers the ones
//! whose value here is fixed and true of every instance, which tools such
//! as Terraform read after a launch: no API termination or stop
//! protection, a shutdown from inside that stops the instance (a
//! container that exits), no user data, not EBS-optimized, no security
//! groups.

use super::error::{Ec2Error, from_core};
use super::instances::{change_error, resolve};
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// The attribute name EC2 gives the type.
const INSTANCE_TYPE: &str = "instanceType";

fn unsupported_attribute(name: &str) -> Ec2Error {
    Ec2Error::unsupported(format!(
        "The attribute {name} is not supported by Mini AWS: instances here have only \
         {INSTANCE_TYPE} to change, and {INSTANCE_TYPE}, disableApiTermination, disableApiStop, \
         instanceInitiatedShutdownBehavior, userData, ebsOptimized and groupSet to describe"
    ))
}

/// The one instance `InstanceId` names.
async fn the_instance(ctx: &Ec2Context<'_>) -> Result<miniaws_core::compute::Instance, Ec2Error> {
    let raw = ctx.params.required("InstanceId")?;
    resolve(ctx, &[raw])
        .await?
        .pop()
        .ok_or_else(|| Ec2Error::ids_not_found(&[raw.to_owned()]))
}

/// Handles ModifyInstanceAttribute.
pub async fn modify(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| {
        matches!(
            k,
            "InstanceId" | "InstanceType.Value" | "Attribute" | "Value" | "DryRun"
        )
    })?;
    let wanted = match (
        p.get("InstanceType.Value"),
        p.get("Attribute"),
        p.get("Value"),
    ) {
        (Some(t), None, None) => t,
        (None, Some(INSTANCE_TYPE), Some(t)) => t,
        (None, Some(other), _) if other != INSTANCE_TYPE => {
            return Err(unsupported_attribute(other));
        }
        (None, None, _) | (None, Some(_), None) => {
            return Err(Ec2Error::missing("InstanceType.Value"));
        }
        _ => {
            return Err(Ec2Error::combination(
                "Give the type once: InstanceType.Value, or Attribute=instanceType with Value",
            ));
        }
    };
    miniaws_core::compute::instance_type(wanted).map_err(from_core)?;
    let inst = the_instance(&ctx).await?;
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    ctx.state
        .compute
        .change_type(ctx.caller, inst.id, wanted)
        .await
        .map_err(change_error(&inst))?;
    let mut w = XmlWriter::response("ModifyInstanceAttribute", &ctx.request_id);
    w.leaf("return", "true");
    Ok(w.finish("ModifyInstanceAttribute"))
}

/// The fixed value of an attribute other than the type, as its XML
/// element's content; `None` for one Mini AWS does not describe.
fn fixed_value(attribute: &str) -> Option<Option<&'static str>> {
    Some(match attribute {
        "disableApiTermination" | "disableApiStop" | "ebsOptimized" => Some("false"),
        "instanceInitiatedShutdownBehavior" => Some("stop"),
        // Empty elements: no user data, no security groups.
        "userData" | "groupSet" => None,
        _ => return None,
    })
}

/// Handles DescribeInstanceAttribute.
pub async fn describe(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| matches!(k, "InstanceId" | "Attribute" | "DryRun"))?;
    let attribute = p.required("Attribute")?;
    let fixed = fixed_value(attribute);
    if attribute != INSTANCE_TYPE && fixed.is_none() {
        return Err(unsupported_attribute(attribute));
    }
    let inst = the_instance(&ctx).await?;
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut w = XmlWriter::response("DescribeInstanceAttribute", &ctx.request_id);
    w.leaf("instanceId", inst.ec2_id().as_str());
    match fixed {
        Some(Some(value)) => {
            w.element(attribute, |w| {
                w.leaf("value", value);
            });
        }
        Some(None) => {
            w.element(attribute, |_| {});
        }
        None => {
            w.element(INSTANCE_TYPE, |w| {
                w.leaf("value", &inst.instance_type);
            });
        }
    }
    Ok(w.finish("DescribeInstanceAttribute"))
}
