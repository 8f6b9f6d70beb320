//! RunInstances: launches `MaxCount` instances of `ImageId` (a Docker
//! image), all or nothing.
//!
//! Tags of resource type `instance` are the instance's tags, and three of
//! them carry what EC2 has no parameter for: `Name` (the instance name),
//! `miniaws:ports` (port mappings, as the native `ports`,
//! comma-separated) and `miniaws:command` (the command, split like a
//! shell does). Any other resource type or parameter is refused, never
//! dropped.
//!
//! `ClientToken` (which the aws CLI and boto3 always send) makes the
//! launch idempotent as on EC2: a retry with the same token and
//! parameters answers the instances the first launch made (as they are
//! now, terminated ones included) instead of launching again; the same
//! token with other parameters is `IdempotentParameterMismatch`. The token
//! is stored with the instances (see `ComputeService::launch_all`), so
//! this holds across restarts, and DescribeInstances shows it.
//!
//! The instances of one request are one reservation, named after the
//! first of them, and carry their place in it (`amiLaunchIndex`).

use http::StatusCode;
use miniaws_core::compute::{
    COMMAND_TAG, ClientToken, Ec2InstanceId, Instance, InstanceId, LaunchRequest, PORTS_TAG,
    PortMapping, split_command, validate_image, validate_tag,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::error::{Ec2Error, from_core};
use super::instances::write_instance;
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// The most instances one RunInstances may launch.
pub const MAX_COUNT: i64 = 20;

fn accepted(k: &str) -> bool {
    matches!(
        k,
        "ImageId" | "InstanceType" | "MinCount" | "MaxCount" | "DryRun" | "ClientToken"
    ) || numbered(
        k,
        "TagSpecification",
        Some(&|rest: &str| {
            rest == "ResourceType"
                || numbered(rest, "Tag", Some(&|t: &str| t == "Key" || t == "Value"))
        }),
    )
}

/// What the instance tags ask for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tagged {
    name: Option<String>,
    ports: Vec<String>,
    command: Option<Vec<String>>,
    /// The other tags, stored as they are.
    tags: BTreeMap<String, String>,
}

fn read_tags(ctx: &Ec2Context<'_>) -> Result<Tagged, Ec2Error> {
    let p = &ctx.params;
    let mut out = Tagged::default();
    let mut seen = std::collections::BTreeSet::new();
    for spec in p.indexes("TagSpecification")? {
        let rtype = p.required(&format!("{spec}.ResourceType"))?;
        if rtype != "instance" {
            return Err(Ec2Error::invalid_value(format!(
                "Mini AWS tags only instances: {spec}.ResourceType must be `instance`, not \
                 `{rtype}` (there are no volumes, network interfaces or other resources to tag)"
            )));
        }
        for tag in p.indexes(&format!("{spec}.Tag"))? {
            let key = p.required(&format!("{tag}.Key"))?;
            let value = p.get(&format!("{tag}.Value")).unwrap_or("");
            validate_tag(key, value).map_err(from_core)?;
            if !seen.insert(key.to_owned()) {
                return Err(Ec2Error::invalid_value(format!(
                    "The tag {key} is given more than once"
                )));
            }
            match key {
                "Name" => out.name = Some(value.to_owned()),
                // As the native `ports` string: blanks around a spec
                // ignored, an empty entry refused, a blank value no ports.
                PORTS_TAG if value.trim().is_empty() => out.ports = Vec::new(),
                PORTS_TAG => {
                    out.ports = value.split(',').map(|s| s.trim().to_owned()).collect();
                    if out.ports.iter().any(String::is_empty) {
                        return Err(Ec2Error::invalid_value(format!(
                            "The tag {PORTS_TAG} value {value:?} has an empty entry (a comma \
                             too many?): give port specs separated by single commas, such as \
                             8080:80,53/udp"
                        )));
                    }
                }
                COMMAND_TAG => out.command = Some(split_command(value).map_err(from_core)?),
                other => {
                    out.tags.insert(other.to_owned(), value.to_owned());
                }
            }
        }
    }
    Ok(out)
}

/// What a `ClientToken` retry is compared by: the launch the request asks
/// for, not its text, so a retry that spells the same launch otherwise (the
/// default type given explicitly, the tags in another order or another
/// `TagSpecification`) is a retry, as on EC2, and not
/// `IdempotentParameterMismatch`.
fn launch_digest(
    image: &str,
    min: i64,
    max: i64,
    instance_type: Option<&str>,
    tagged: &Tagged,
) -> String {
    // The ports by meaning, in their full form (`8080:80` is
    // `8080:80/tcp`, as DescribeInstances shows it); a list that does not
    // parse fails the launch, which stores no token.
    let ports: Vec<String> = PortMapping::parse_list(&tagged.ports).map_or_else(
        |_| tagged.ports.clone(),
        |ports| ports.iter().map(ToString::to_string).collect(),
    );
    let canonical = serde_json::json!({
        "image": image,
        "min": min,
        "max": max,
        "type": instance_type.unwrap_or(miniaws_core::compute::DEFAULT_INSTANCE_TYPE),
        "name": tagged.name,
        "ports": ports,
        "command": tagged.command,
        "tags": tagged.tags,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Launches the requests, all or nothing; the image's absence in EC2's
/// words.
async fn launch(
    ctx: &Ec2Context<'_>,
    requests: Vec<(InstanceId, LaunchRequest)>,
    image: &str,
    token: Option<ClientToken>,
) -> Result<Vec<Instance>, Ec2Error> {
    ctx.state
        .compute
        .launch_all(ctx.caller, requests, token)
        .await
        .map_err(|e| match e {
            // The image is the AMI: EC2 names it in its own words.
            miniaws_core::CoreError::NotFound {
                resource: miniaws_core::Resource::Image,
                ..
            } => Ec2Error::new(
                StatusCode::BAD_REQUEST,
                "InvalidAMIID.NotFound",
                format!(
                    "The image id '[{image}]' does not exist: it is not present locally and \
                     cannot be pulled"
                ),
            ),
            other => from_core(other),
        })
}

/// Handles RunInstances.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(accepted)?;
    let image = p.required("ImageId")?.to_owned();
    // EC2's code for an image id that is not one, before anything else is
    // read: the reference breaks Docker's grammar.
    validate_image(&image).map_err(|e| {
        Ec2Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidAMIID.Malformed",
            format!("The image id '[{image}]' is malformed: {e}"),
        )
    })?;
    let min = p
        .int("MinCount")?
        .ok_or_else(|| Ec2Error::missing("MinCount"))?;
    let max = p
        .int("MaxCount")?
        .ok_or_else(|| Ec2Error::missing("MaxCount"))?;
    if min < 1 || max < min {
        return Err(Ec2Error::invalid_value(format!(
            "MinCount ({min}) must be at least 1 and MaxCount ({max}) at least MinCount"
        )));
    }
    if max > MAX_COUNT {
        return Err(Ec2Error::invalid_value(format!(
            "MaxCount ({max}) is above Mini AWS's limit of {MAX_COUNT} instances per request"
        )));
    }
    let tagged = read_tags(&ctx)?;
    if max > 1 && tagged.name.is_some() {
        return Err(Ec2Error::combination(
            "A Name tag names one instance (names are unique among your instances in Mini \
             AWS); launch several without one (each is named after its id) or one at a time",
        ));
    }
    let instance_type = p.get("InstanceType").map(str::to_owned);
    if let Some(t) = &instance_type {
        miniaws_core::compute::instance_type(t).map_err(from_core)?;
    }
    let requests: Vec<(InstanceId, LaunchRequest)> = (0..max)
        .map(|_| {
            let id = InstanceId::new();
            let name = tagged
                .name
                .clone()
                .unwrap_or_else(|| Ec2InstanceId::of(id).to_string());
            let request = LaunchRequest {
                name,
                image: image.clone(),
                ports: tagged.ports.clone(),
                env: Default::default(),
                instance_type: instance_type.clone(),
                command: tagged.command.clone(),
                tags: tagged.tags.clone(),
            };
            (id, request)
        })
        .collect();
    // An empty token is refused as a malformed one is: taking it for no
    // token would make a launch the client meant to be idempotent not so.
    let token = match p.get("ClientToken") {
        None => None,
        Some(token) => {
            let digest = launch_digest(&image, min, max, instance_type.as_deref(), &tagged);
            Some(
                ClientToken::new(token, digest)
                    .map_err(|e| Ec2Error::invalid_value(e.to_string()))?,
            )
        }
    };
    // DryRun answers for a request a launch would take up (its values
    // checked as a launch checks them first); whether the image is here
    // and the name free is for the launch to find.
    if p.bool("DryRun")? {
        for (id, request) in &requests {
            miniaws_core::compute::check_launch_request(*id, request).map_err(from_core)?;
        }
        return Err(dry_run());
    }
    let launched = launch(&ctx, requests, &image, token).await?;
    let mut w = XmlWriter::response("RunInstances", &ctx.request_id);
    let reservation = launched
        .first()
        .map(Instance::reservation_id)
        .unwrap_or_default();
    w.leaf("reservationId", &reservation);
    w.leaf("ownerId", &ctx.caller.user_id.to_string());
    w.element("groupSet", |_| {});
    w.element("instancesSet", |w| {
        for inst in &launched {
            write_instance(w, inst, &ctx.region);
        }
    });
    Ok(w.finish("RunInstances"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_can_be_honoured_is_accepted() {
        for ok in [
            "ImageId",
            "MaxCount",
            "TagSpecification.1.ResourceType",
            "TagSpecification.2.Tag.3.Key",
            "TagSpecification.2.Tag.3.Value",
        ] {
            assert!(accepted(ok), "{ok}");
        }
        for refused in [
            "UserData",
            "KeyName",
            "SecurityGroupId.1",
            "TagSpecification.1.Tag.1.Other",
            "BlockDeviceMapping.1.DeviceName",
        ] {
            assert!(!accepted(refused), "{refused}");
        }
    }
}
