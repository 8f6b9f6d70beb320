//! Compute adapter of the Mini AWS hexagon: the ports compute needs,
//! implemented on the Docker Engine API with `bollard`.

mod driver;
mod exec_kill;
mod exec_start;
mod networks;
mod probe;
mod tty_start;

pub use driver::{DockerComputeDriver, DockerSettings, LABEL_INSTANCE_ID, LABEL_NAME, LABEL_OWNER};
pub use networks::{LABEL_NETWORK_OWNER, network_name};

pub use probe::{DockerConnection, DockerProbe, connect};
