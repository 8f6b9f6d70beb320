//! One Docker network per owner, so that no owner's instance can reach
//! another owner's.
//!
//! On Docker's default `bridge` network every container reaches every other
//! by its private address (sequential, easy to guess), published port or
//! not. Each owner's instances are put on a bridge network of their own
//! (`miniaws-owner-<user id>`, labelled [`LABEL_NETWORK_OWNER`]): they
//! reach each other and the outside world, and Docker's isolation rules
//! keep other networks out. A network goes when no container of any state
//! uses it any more ([`prune`]): Docker draws each bridge network's subnet
//! from a small pool (about thirty by default), so unused ones must not
//! pile up. A server removes only its own networks (another server on the
//! same Docker may be about to use its own): the ones it made sure of
//! since it started, and those an earlier run of it left (labelled
//! [`LABEL_NETWORK_SERVER`] with the id of its data directory, see
//! [`made_by`]), which it adopts at its first resync; so a network left by
//! a crash, or by a restart before its owner's last instance went, goes at
//! the next resync once no container uses it. (Networks made by a version
//! before the label are left until their owner's next launch.)
//!
//! Hand-written over bollard's network calls: the Engine API has no
//! "create if missing", and Docker 20.10 (API 1.41) does not refuse a
//! second network of the same name unless asked to, so the driver makes
//! them one at a time (see `DockerComputeDriver::create`).

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::{
    InspectNetworkOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
};
use std::collections::HashMap;

/// The label naming the owner a network is for.
pub const LABEL_NETWORK_OWNER: &str = "miniaws.network-owner";
/// The label naming the server (its data directory's id) that made a network.
pub const LABEL_NETWORK_SERVER: &str = "miniaws.server";

/// The name of `owner`'s network.
#[must_use]
pub fn network_name(owner: &str) -> String {
    format!("miniaws-owner-{owner}")
}

fn is_status(err: &BollardError, status: u16) -> bool {
    matches!(err, BollardError::DockerResponseServerError { status_code, .. } if *status_code == status)
}

/// The id of `owner`'s network, made (labelled with `server`) if missing.
/// The caller makes sure no other call makes the same owner's network at
/// the same time.
///
/// # Errors
/// Docker's.
pub async fn ensure(docker: &Docker, owner: &str, server: &str) -> Result<String, BollardError> {
    let name = network_name(owner);
    match docker
        .inspect_network(&name, None::<InspectNetworkOptions>)
        .await
    {
        Ok(network) => return Ok(network.id.unwrap_or(name)),
        Err(e) if is_status(&e, 404) => {}
        Err(e) => return Err(e),
    }
    let created = docker
        .create_network(NetworkCreateRequest {
            name,
            driver: Some("bridge".to_owned()),
            labels: Some(HashMap::from([
                (LABEL_NETWORK_OWNER.to_owned(), owner.to_owned()),
                (LABEL_NETWORK_SERVER.to_owned(), server.to_owned()),
            ])),
            ..NetworkCreateRequest::default()
        })
        .await?;
    Ok(created.id)
}

/// The owners whose networks server `server` made (in this run or an
/// earlier one): one network listing.
///
/// # Errors
/// Docker's.
pub async fn made_by(docker: &Docker, server: &str) -> Result<Vec<String>, BollardError> {
    let label = format!("{LABEL_NETWORK_SERVER}={server}");
    let filters = HashMap::from([("label", vec![label.as_str()])]);
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await?;
    Ok(networks
        .into_iter()
        .filter_map(|n| n.labels?.remove(LABEL_NETWORK_OWNER))
        .collect())
}

/// Removes the networks of `owners` that no container (running, stopped
/// or only created) uses; returns the owners whose network went (or was
/// gone already). The caller makes sure none of its own containers is
/// being created meanwhile (a created container does not keep Docker from
/// removing its network, and could then never start). Only the networks
/// of owners this server made them for are looked at: another server on
/// the same Docker may be creating a container on one of its own.
///
/// # Errors
/// Docker's, for the listings; a network that cannot be removed is left
/// for the next time.
pub async fn prune(docker: &Docker, owners: &[String]) -> Result<Vec<String>, BollardError> {
    let mut gone = Vec::new();
    for owner in owners {
        let name = network_name(owner);
        let users = HashMap::from([("network", vec![name.as_str()])]);
        let containers = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&users)
                    .build(),
            ))
            .await?;
        if !containers.is_empty() {
            continue;
        }
        match docker.remove_network(&name).await {
            Ok(()) => gone.push(owner.clone()),
            Err(e) if is_status(&e, 404) => gone.push(owner.clone()),
            Err(e) => {
                tracing::debug!(network = %name, error = %e, "an unused network stays for now")
            }
        }
    }
    Ok(gone)
}
