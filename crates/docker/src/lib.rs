//! Compute adapter of the Mini AWS hexagon: the ports compute needs,
//! implemented on the Docker Engine API with `bollard`.

mod probe;

pub use probe::{DockerProbe, connect};
