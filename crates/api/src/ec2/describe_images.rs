//! DescribeImages: the images present in the Docker host (`GET /images`),
//! as AMIs. The image id is the Docker name RunInstances takes as
//! `ImageId` (`nginx:alpine`), not an `ami-` id.
//!
//! The images belong to the host, not to a user, and every user may launch
//! any of them: each caller sees them all as their own (`imageOwnerId` is
//! the caller's account, `Owner=self` selects them, and `amazon`,
//! `aws-marketplace` or another account select none), and launchable by
//! anyone (`ExecutableBy` selects them all). `ImageId.N` names images,
//! one not present is `InvalidAMIID.NotFound`; filters, `MaxResults` and
//! `NextToken` page through them in name order.

use miniaws_core::compute::ImageSummary;

use super::describe_instances::{Filter, max_results, read_filters};
use super::error::{Ec2Error, from_core};
use super::instances::ec2_time;
use super::params::numbered;
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};
use crate::page_token::{decode_name, encode_name};
use http::StatusCode;

/// The tag of this list's `NextToken` (see `page_token`).
const TOKEN_TAG: &str = "m1.";

fn accepted(k: &str) -> bool {
    matches!(
        k,
        "MaxResults" | "NextToken" | "DryRun" | "IncludeDeprecated" | "IncludeDisabled"
    ) || numbered(k, "ImageId", None)
        || numbered(k, "Owner", None)
        || numbered(k, "ExecutableBy", None)
        || numbered(
            k,
            "Filter",
            Some(&|rest: &str| rest == "Name" || numbered(rest, "Value", None)),
        )
}

/// The filter names DescribeImages knows, for its error message.
const FILTER_NAMES: &str = "image-id, name, architecture, state, image-type, owner-id, \
     is-public, root-device-type, virtualization-type, hypervisor, tag:<key>, tag-key and \
     tag-value";

fn known_filter(name: &str) -> bool {
    matches!(
        name,
        "image-id"
            | "name"
            | "architecture"
            | "state"
            | "image-type"
            | "owner-id"
            | "is-public"
            | "root-device-type"
            | "virtualization-type"
            | "hypervisor"
            | "tag-key"
            | "tag-value"
    ) || name.strip_prefix("tag:").is_some_and(|k| !k.is_empty())
}

/// EC2's name of a Docker architecture (`amd64` is `x86_64`).
fn architecture(image: &ImageSummary) -> &str {
    match image.architecture.as_deref() {
        Some("amd64") | None => "x86_64",
        Some("386") => "i386",
        Some(other) => other,
    }
}

/// Whether `image` passes `filter` for a caller whose account is `owner`.
fn matches(filter: &Filter, image: &ImageSummary, owner: &str) -> bool {
    let any = |field: &str| filter.any(field);
    match filter.name.as_str() {
        "image-id" | "name" => any(&image.name),
        "architecture" => any(architecture(image)),
        "state" => any("available"),
        "image-type" => any("machine"),
        "owner-id" => any(owner),
        "is-public" => any("false"),
        "root-device-type" => any("ebs"),
        "virtualization-type" => any("hvm"),
        "hypervisor" => any("xen"),
        // Images carry no tags.
        _ => false,
    }
}

/// The name Docker resolves `wanted` to: without a tag or digest, `:latest`.
fn with_tag(wanted: &str) -> String {
    let last = wanted.rsplit('/').next().unwrap_or(wanted);
    if last.contains(':') || last.contains('@') {
        wanted.to_owned()
    } else {
        format!("{wanted}:latest")
    }
}

/// Whether the `Owner.N` values select the host's images for a caller
/// whose account is `owner` (none given: every image).
fn owned(owners: &[&str], owner: &str) -> bool {
    owners.is_empty() || owners.iter().any(|o| *o == "self" || *o == owner)
}

/// Handles DescribeImages.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(accepted)?;
    let ids = p.list("ImageId")?;
    let owners = p.list("Owner")?;
    p.list("ExecutableBy")?;
    p.bool("IncludeDeprecated")?;
    p.bool("IncludeDisabled")?;
    let max_results = max_results(&ctx)?;
    if !ids.is_empty() && max_results.is_some() {
        return Err(Ec2Error::combination(
            "The parameter ImageIds cannot be used with the parameter MaxResults",
        ));
    }
    let after = match p.get("NextToken") {
        None | Some("") => None,
        Some(t) => Some(decode_name(TOKEN_TAG, t).ok_or_else(|| {
            Ec2Error::invalid_value("The NextToken is invalid: pass one this API returned")
        })?),
    };
    let filters = read_filters(&ctx, known_filter, FILTER_NAMES)?;
    let owner = ctx.caller.user_id.to_string();
    let images = ctx.state.compute.images().await.map_err(from_core)?;
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !images.iter().any(|i| i.name == with_tag(id)))
        .collect();
    if !missing.is_empty() {
        return Err(Ec2Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidAMIID.NotFound",
            format!(
                "The image id '[{}]' does not exist (the Docker host has no such image: \
                 `cloud compute images` lists those it has)",
                missing.join(", ")
            ),
        ));
    }
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let wanted: Vec<String> = ids.iter().map(|id| with_tag(id)).collect();
    let mut selected: Vec<&ImageSummary> = images
        .iter()
        .filter(|i| wanted.is_empty() || wanted.contains(&i.name))
        .filter(|_| owned(&owners, &owner))
        .filter(|i| filters.iter().all(|f| matches(f, i, &owner)))
        .filter(|i| after.as_ref().is_none_or(|a| i.name > *a))
        .collect();
    let mut next = None;
    if let Some(n) = max_results.and_then(|n| usize::try_from(n).ok())
        && selected.len() > n
    {
        selected.truncate(n);
        next = selected.last().map(|i| encode_name(TOKEN_TAG, &i.name));
    }
    let mut w = XmlWriter::response("DescribeImages", &ctx.request_id);
    w.element("imagesSet", |w| {
        for image in &selected {
            write_image(w, image, &owner);
        }
    });
    if let Some(token) = next {
        w.leaf("nextToken", &token);
    }
    Ok(w.finish("DescribeImages"))
}

/// One `<item>` of `imagesSet`.
fn write_image(w: &mut XmlWriter, image: &ImageSummary, owner: &str) {
    w.element("item", |w| {
        w.leaf("imageId", &image.name);
        w.leaf("imageLocation", &image.name);
        w.leaf("imageState", "available");
        w.leaf("imageOwnerId", owner);
        w.leaf("creationDate", &ec2_time(image.created_at));
        w.leaf("isPublic", "false");
        w.leaf("architecture", architecture(image));
        w.leaf("imageType", "machine");
        w.leaf("name", &image.name);
        w.leaf(
            "description",
            &format!("Docker image {} ({})", image.name, image.id),
        );
        w.leaf("rootDeviceType", "ebs");
        w.leaf("rootDeviceName", "/dev/xvda");
        w.element("blockDeviceMapping", |_| {});
        w.leaf("virtualizationType", "hvm");
        w.leaf("hypervisor", "xen");
        w.leaf("platformDetails", "Linux/UNIX");
        w.leaf("usageOperation", "RunInstances");
        w.leaf("enaSupport", "true");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, arch: Option<&str>) -> ImageSummary {
        ImageSummary {
            name: name.into(),
            id: "sha256:abc".into(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            size_bytes: 1,
            architecture: arch.map(str::to_owned),
        }
    }

    fn f(name: &str, value: &str) -> Filter {
        Filter {
            name: name.into(),
            values: vec![value.into()],
        }
    }

    #[test]
    fn names_resolve_as_docker_does() {
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(with_tag("busybox:1"), "busybox:1");
        assert_eq!(with_tag("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(with_tag("app@sha256:00"), "app@sha256:00");
    }

    #[test]
    fn filters_and_owners_select() {
        let arm = image("app:arm", Some("arm64"));
        let x86 = image("web:1", Some("amd64"));
        assert!(matches(&f("architecture", "x86_64"), &x86, "u"));
        assert!(!matches(&f("architecture", "x86_64"), &arm, "u"));
        assert!(matches(&f("name", "web*"), &x86, "u"));
        assert!(matches(&f("owner-id", "u"), &x86, "u"));
        assert!(!matches(&f("owner-id", "other"), &x86, "u"));
        assert!(!matches(&f("tag:Name", "*"), &x86, "u"));
        assert!(owned(&[], "u") && owned(&["self"], "u") && owned(&["amazon", "u"], "u"));
        assert!(!owned(&["amazon"], "u"));
    }
}
