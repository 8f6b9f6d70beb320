//! DescribeInstanceStatus: for each running instance (every instance EC2
//! still shows with `IncludeAllInstances`), its state and status checks.
//! A container has no separate host to check, so both checks say `ok`
//! while it runs (`not-applicable` otherwise), as EC2 reports a healthy
//! instance, except that the instance check of one whose container is
//! paused behind Mini AWS's back is `impaired`, its reachability
//! `failed` (it answers nothing), as EC2 reports an instance that stopped
//! responding. `InstanceId.N` selects; filters and paging are refused.

use miniaws_core::compute::InstanceState;

use super::describe_instances::named_or_all;
use super::error::Ec2Error;
use super::instances::write_state;
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// Handles DescribeInstanceStatus.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| matches!(k, "DryRun" | "IncludeAllInstances") || numbered(k, "InstanceId", None))?;
    let include_all = p.bool("IncludeAllInstances")?;
    let ids = p.list("InstanceId")?;
    let candidates = named_or_all(&ctx, &ids).await?;
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let mut w = XmlWriter::response("DescribeInstanceStatus", &ctx.request_id);
    w.element("instanceStatusSet", |w| {
        for inst in candidates
            .iter()
            .filter(|i| include_all || i.state == InstanceState::Running)
        {
            let system = if inst.state == InstanceState::Running {
                ("ok", "passed")
            } else {
                ("not-applicable", "not-applicable")
            };
            let instance = if inst.is_paused() {
                ("impaired", "failed")
            } else {
                system
            };
            w.element("item", |w| {
                w.leaf("instanceId", inst.ec2_id().as_str());
                w.leaf("availabilityZone", &format!("{}a", ctx.region));
                write_state(w, "instanceState", inst.state);
                for (check, (status, reachability)) in
                    [("systemStatus", system), ("instanceStatus", instance)]
                {
                    w.element(check, |w| {
                        w.leaf("status", status);
                        w.element("details", |w| {
                            w.element("item", |w| {
                                w.leaf("name", "reachability");
                                w.leaf("status", reachability);
                            });
                        });
                    });
                }
            });
        }
    });
    Ok(w.finish("DescribeInstanceStatus"))
}
