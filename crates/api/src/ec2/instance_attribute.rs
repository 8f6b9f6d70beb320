//! ModifyInstanceAttribute and DescribeInstanceAttribute, for the one
//! attribute an instance here has that EC2 lets change: its type.
//!
//! As on EC2 the instance must be stopped to change type
//! (`IncorrectInstanceState` otherwise); its next start gets the type's
//! CPU and memory limits ([`ComputeService::change_type`](miniaws_core::compute::ComputeService::change_type)).
//! The type comes as `InstanceType.Value` (the CLI's `--instance-type`)
//! or `Attribute=instanceType` with `Value` (`--attribute … --value …`).
//! Every other attribute is `UnsupportedOperation`: user data, API
//! termination protection, security groups and the rest have nothing to
//! act on.

use super::error::{Ec2Error, from_core};
use super::instances::{change_error, resolve};
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// The attribute name EC2 gives the type.
const INSTANCE_TYPE: &str = "instanceType";

fn unsupported_attribute(name: &str) -> Ec2Error {
    Ec2Error::unsupported(format!(
        "The attribute {name} is not supported by Mini AWS: instances here have only \
         {INSTANCE_TYPE} to describe or change"
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

/// Handles DescribeInstanceAttribute.
pub async fn describe(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| matches!(k, "InstanceId" | "Attribute" | "DryRun"))?;
    let attribute = p.required("Attribute")?;
    if attribute != INSTANCE_TYPE {
        return Err(unsupported_attribute(attribute));
    }
    let inst = the_instance(&ctx).await?;
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut w = XmlWriter::response("DescribeInstanceAttribute", &ctx.request_id);
    w.leaf("instanceId", inst.ec2_id().as_str());
    w.element(INSTANCE_TYPE, |w| {
        w.leaf("value", &inst.instance_type);
    });
    Ok(w.finish("DescribeInstanceAttribute"))
}
